//! Keyword arguments of `LogicalReplicationReader` → a validated [`ReplicationConfig`].
//!
//! Everything is checked when the reader is created, so a typo fails at once with a
//! `ValueError` (bad value, listing the allowed values) or `TypeError` (wrong type, unknown
//! keyword), not at the first `await`. Every `TypeError` names the keyword, the type it takes
//! and what it got: `port must be an int, got str '5432'`.

use std::{path::PathBuf, str::FromStr, time::Duration};

use pgoutput_decoder::{
    config::{keys, parse_skipped_operations, NameFilter, ReconnectPolicy, SnapshotMode},
    conn::{ConnectParams, SslMode},
    properties::apply_properties,
    types::{
        BinaryHandlingMode, DecimalHandlingMode, HstoreHandlingMode, IntervalHandlingMode,
        MultidimensionalArrayMode, TimePrecisionMode,
    },
    Lsn, PublicationAutocreate, ReplicationConfig, SnapshotSignal,
};
use pyo3::{
    exceptions::{PyTypeError, PyValueError},
    prelude::*,
    types::{PyBool, PyDict, PyFloat, PyInt, PyString},
};

use crate::errors::value_error;

/// The connection keywords (positional-or-keyword in the reader's signature); `None` when not
/// given, so that libpq's environment and password file supply them.
pub(crate) struct ConnectionArgs {
    pub host: Option<String>,
    pub database: Option<String>,
    pub port: Option<i64>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub dsn: Option<String>,
    pub sslmode: Option<String>,
    pub sslrootcert: Option<PathBuf>,
    pub connect_timeout: Option<f64>,
}

/// Everything else. `None` is a keyword left out: the setting keeps the default of
/// [`ReplicationConfig::new`], which is the default of its key in
/// [`pgoutput_decoder::config::keys::OPTIONS`].
pub(crate) struct StreamArgs<'py> {
    pub publication_name: String,
    pub slot_name: String,
    pub start_lsn: Option<Bound<'py, PyAny>>,
    pub create_slot: Option<bool>,
    pub slot_failover: Option<bool>,
    pub create_publication: bool,
    pub tables: Option<Bound<'py, PyAny>>,
    pub reconnect: Option<Bound<'py, PyAny>>,
    pub reconnect_max_attempts: Option<i64>,
    pub reconnect_initial_delay: Option<f64>,
    pub reconnect_max_delay: Option<f64>,
    pub decimal_handling_mode: Option<String>,
    pub time_precision_mode: Option<String>,
    pub binary_handling_mode: Option<String>,
    pub interval_handling_mode: Option<String>,
    pub hstore_handling_mode: Option<String>,
    pub money_fraction_digits: Option<i64>,
    pub unavailable_value_placeholder: Option<String>,
    pub provide_transaction_metadata: Option<bool>,
    pub skipped_operations: Option<Bound<'py, PyAny>>,
    pub topic_prefix: Option<String>,
    pub tombstones_on_delete: Option<bool>,
    pub status_interval: Option<f64>,
    pub receive_timeout: Option<f64>,
    pub batch_linger: Option<f64>,
    pub max_batch_size: Option<i64>,
    pub max_queue_size: Option<i64>,
    pub two_phase: Option<bool>,
    pub multidimensional_array_mode: Option<String>,
    pub snapshot_mode: Option<String>,
    pub offset_file: Option<PathBuf>,
    pub properties: Option<Bound<'py, PyAny>>,
}

fn bad(message: impl Into<String>) -> PyErr {
    PyValueError::new_err(message.into())
}

/// Seconds as a `Duration`; `what` names the keyword in errors.
pub(crate) fn seconds(what: &str, value: f64, allow_zero: bool) -> PyResult<Duration> {
    if !value.is_finite() || value < 0.0 || (!allow_zero && value == 0.0) {
        let wanted = if allow_zero {
            "zero or a positive number of seconds"
        } else {
            "a positive number of seconds"
        };
        return Err(bad(format!("{what} must be {wanted}, not {value}")));
    }
    Duration::try_from_secs_f64(value).map_err(|_| bad(format!("{what} is too large: {value}")))
}

/// Quotes a value for a libpq `key=value` string.
fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// Builds the connection parameters, the way the command-line tool does.
///
/// Precedence, highest first: what `dsn` sets; the keyword arguments that were given; then
/// libpq's environment (`PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE`, `PGPASSWORD`,
/// `PGSSLMODE`, ...) and password file (`PGPASSFILE` or `~/.pgpass`, matched on the final
/// host, port, database and user); then the library's defaults (`localhost:5432`, user and
/// database `postgres`). The keywords become a `key=value` string below the DSN, and
/// [`ConnectParams::from_dsns`] — the code behind `ConnectParams::from_dsn` — does the rest.
pub(crate) fn connect_params(args: ConnectionArgs) -> PyResult<ConnectParams> {
    let mut keywords = String::new();
    let mut push = |key: &str, value: &str| {
        keywords.push_str(&format!("{key}={} ", quote(value)));
    };
    for (what, key, value) in [
        ("host", "host", &args.host),
        ("user", "user", &args.user),
        ("database", "dbname", &args.database),
    ] {
        if let Some(value) = value {
            if value.is_empty() {
                return Err(bad(format!(
                    "{what} must not be empty (leave it out to use the environment)"
                )));
            }
            push(key, value);
        }
    }
    if let Some(port) = args.port {
        let port = u16::try_from(port)
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| bad(format!("port must be from 1 to 65535, not {port}")))?;
        push("port", &port.to_string());
    }
    // libpq treats an empty password as none given.
    if let Some(password) = args.password.as_deref().filter(|p| !p.is_empty()) {
        push("password", password);
    }
    if let Some(mode) = &args.sslmode {
        SslMode::from_str(mode).map_err(|e| value_error(&e))?;
        push("sslmode", mode);
    }
    if let Some(path) = &args.sslrootcert {
        push("sslrootcert", &path.to_string_lossy());
    }
    let dsn = args.dsn.as_deref().unwrap_or("");
    let mut params = ConnectParams::from_dsns(&[&keywords, dsn]).map_err(|e| value_error(&e))?;
    if let Some(t) = args.connect_timeout {
        // Fractions of a second are kept (a DSN takes whole seconds); the DSN still wins.
        let t = seconds("connect_timeout", t, true)?;
        if !dsn.contains("connect_timeout") {
            params.connect_timeout = t;
        }
    }
    Ok(params)
}

/// `TypeError`: `<name> must be <wanted>, got <type> <repr>`.
pub(crate) fn type_error(name: &str, wanted: &str, value: &Bound<'_, PyAny>) -> PyErr {
    let mut repr = value
        .repr()
        .map(|r| r.to_string())
        .unwrap_or_else(|_| "?".to_owned());
    if repr.chars().count() > 60 {
        repr = repr.chars().take(57).collect::<String>() + "...";
    }
    PyTypeError::new_err(format!(
        "{name} must be {wanted}, got {} {repr}",
        type_name(value)
    ))
}

/// A keyword argument: `None` when left out or given as `None`.
pub(crate) fn given<'a, 'py>(
    value: &'a Option<Bound<'py, PyAny>>,
) -> Option<&'a Bound<'py, PyAny>> {
    value.as_ref().filter(|v| !v.is_none())
}

/// Converts an optional keyword with `convert` (`None` stays `None`).
pub(crate) fn optional<T>(
    name: &str,
    value: &Option<Bound<'_, PyAny>>,
    convert: fn(&str, &Bound<'_, PyAny>) -> PyResult<T>,
) -> PyResult<Option<T>> {
    given(value).map(|v| convert(name, v)).transpose()
}

/// A `str`.
pub(crate) fn string(name: &str, value: &Bound<'_, PyAny>) -> PyResult<String> {
    match value.cast::<PyString>() {
        Ok(s) => Ok(s.to_cow()?.into_owned()),
        Err(_) => Err(type_error(name, "a str", value)),
    }
}

/// An `int` (not a `bool`).
pub(crate) fn int(name: &str, value: &Bound<'_, PyAny>) -> PyResult<i64> {
    if value.is_instance_of::<PyBool>() || !value.is_instance_of::<PyInt>() {
        return Err(type_error(name, "an int", value));
    }
    value
        .extract::<i64>()
        .map_err(|_| bad(format!("{name} is out of range: {value}")))
}

/// A number of seconds or a count: an `int` or a `float` (not a `bool`).
/// A positive number of seconds.
pub(crate) fn positive_seconds(name: &str, value: &Bound<'_, PyAny>) -> PyResult<Duration> {
    seconds(name, number(name, value)?, false)
}

pub(crate) fn number(name: &str, value: &Bound<'_, PyAny>) -> PyResult<f64> {
    if value.is_instance_of::<PyBool>()
        || !(value.is_instance_of::<PyInt>() || value.is_instance_of::<PyFloat>())
    {
        return Err(type_error(name, "a number (int or float)", value));
    }
    value
        .extract::<f64>()
        .map_err(|_| bad(format!("{name} is out of range: {value}")))
}

/// A `bool`.
pub(crate) fn boolean(name: &str, value: &Bound<'_, PyAny>) -> PyResult<bool> {
    match value.cast::<PyBool>() {
        Ok(b) => Ok(b.is_true()),
        Err(_) => Err(type_error(name, "a bool", value)),
    }
}

/// A file path: a `str` or an `os.PathLike`.
pub(crate) fn path(name: &str, value: &Bound<'_, PyAny>) -> PyResult<PathBuf> {
    if value.is_instance_of::<PyString>() || value.hasattr("__fspath__")? {
        if let Ok(p) = value.extract::<PathBuf>() {
            return Ok(p);
        }
    }
    Err(type_error(name, "a str or os.PathLike", value))
}

/// `properties={"table.include.list": "public.orders", ...}`: Debezium property names with
/// string, number, bool or list-of-strings values, as `(key, value)` text pairs.
pub(crate) fn property_pairs(value: &Bound<'_, PyAny>) -> PyResult<Vec<(String, String)>> {
    let dict = value.cast::<PyDict>().map_err(|_| {
        type_error(
            "properties",
            "a dict of Debezium property names to values",
            value,
        )
    })?;
    let mut pairs = Vec::with_capacity(dict.len());
    for (k, v) in dict.iter() {
        let key = string("properties keys", &k)
            .map_err(|_| type_error("properties keys", "strings", &k))?;
        let text = if let Ok(b) = v.cast::<PyBool>() {
            if b.is_true() { "true" } else { "false" }.to_owned()
        } else if v.is_instance_of::<PyString>()
            || v.is_instance_of::<PyInt>()
            || v.is_instance_of::<PyFloat>()
        {
            v.str()?.to_cow()?.into_owned()
        } else if v.try_iter().is_err() {
            return Err(type_error(
                &format!("properties[{key:?}]"),
                "a str, int, float, bool or list of str",
                &v,
            ));
        } else {
            strings(&format!("properties[{key:?}]"), &v)?.join(",")
        };
        pairs.push((key, text));
    }
    Ok(pairs)
}

fn strings(what: &str, value: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if let Ok(s) = value.cast::<PyString>() {
        return Ok(s
            .to_cow()?
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect());
    }
    let mut out = Vec::new();
    for item in value
        .try_iter()
        .map_err(|_| type_error(what, "a str or an iterable of str", value))?
    {
        let item = item?;
        let s: String = item
            .extract()
            .map_err(|_| type_error(&format!("{what} elements"), "str", &item))?;
        out.push(s.trim().to_owned());
    }
    Ok(out)
}

fn type_name(value: &Bound<'_, PyAny>) -> String {
    value
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".to_owned())
}

/// `start_lsn`: an int, a `"X/Y"` string or None (resume from the slot's position).
pub(crate) fn parse_lsn(what: &str, value: &Bound<'_, PyAny>) -> PyResult<Lsn> {
    if value.is_instance_of::<PyBool>() {
        return Err(type_error(what, "an int or an \"X/Y\" str", value));
    }
    if let Ok(s) = value.cast::<PyString>() {
        return Lsn::from_str(s.to_cow()?.trim()).map_err(|e| bad(format!("{what}: {e}")));
    }
    match value.extract::<i128>() {
        Ok(n) => u64::try_from(n)
            .map(Lsn)
            .map_err(|_| bad(format!("{what} must be from 0 to 2**64-1, not {n}"))),
        Err(_) => Err(type_error(what, "an int or an \"X/Y\" str", value)),
    }
}

/// Replaces the Debezium property name in a core error by the Python keyword.
fn keyword_error(e: &pgoutput_decoder::Error, property: &str, keyword: &str) -> PyErr {
    bad(e
        .to_string()
        .replacen(property, &format!("{keyword} ({property})"), 1))
}

/// The Python keyword that sets a property (from [`keys::OPTIONS`]).
fn keyword(property: &str) -> &'static str {
    keys::spec(property)
        .and_then(|o| o.python)
        .unwrap_or_else(|| panic!("{property} has no Python keyword in config::keys::OPTIONS"))
}

/// Parses a mode keyword into `target` when it was given.
fn parse_mode<T: FromStr<Err = pgoutput_decoder::Error>>(
    target: &mut T,
    value: &Option<String>,
    property: &str,
) -> PyResult<()> {
    if let Some(value) = value {
        *target = T::from_str(value).map_err(|e| keyword_error(&e, property, keyword(property)))?;
    }
    Ok(())
}

/// The reconnect settings: `reconnect=True|False|{...}` plus the separate keywords.
fn reconnect_policy(args: &StreamArgs<'_>) -> PyResult<ReconnectPolicy> {
    let mut policy = ReconnectPolicy::default();
    let mut max_attempts = args.reconnect_max_attempts;
    let mut initial = args.reconnect_initial_delay;
    let mut max_delay = args.reconnect_max_delay;
    if let Some(value) = &args.reconnect {
        if let Ok(b) = value.cast::<PyBool>() {
            policy.enabled = b.is_true();
        } else if let Ok(d) = value.cast::<PyDict>() {
            for (k, v) in d.iter() {
                let key = string("reconnect keys", &k)
                    .map_err(|_| type_error("reconnect keys", "strings", &k))?;
                let twice = |what: &str| {
                    bad(format!(
                        "reconnect: {what} is given both in the reconnect dict and as \
                         reconnect_{what}=; give it once"
                    ))
                };
                match key.as_str() {
                    "enabled" => policy.enabled = boolean("reconnect[\"enabled\"]", &v)?,
                    "max_attempts" => {
                        if max_attempts.is_some() {
                            return Err(twice("max_attempts"));
                        }
                        max_attempts = if v.is_none() {
                            Some(-1)
                        } else {
                            Some(int("reconnect[\"max_attempts\"]", &v)?)
                        };
                    }
                    "initial_delay" => {
                        if initial.is_some() {
                            return Err(twice("initial_delay"));
                        }
                        initial = Some(number("reconnect[\"initial_delay\"]", &v)?);
                    }
                    "max_delay" => {
                        if max_delay.is_some() {
                            return Err(twice("max_delay"));
                        }
                        max_delay = Some(number("reconnect[\"max_delay\"]", &v)?);
                    }
                    other => {
                        return Err(bad(format!(
                            "reconnect: unknown setting {other:?}; allowed keys are: enabled, \
                             max_attempts, initial_delay, max_delay"
                        )))
                    }
                }
            }
        } else {
            return Err(type_error("reconnect", "a bool, a dict or None", value));
        }
    }
    if let Some(n) = max_attempts {
        policy.max_attempts = match n {
            n if n < 0 => None,
            n => Some(
                u32::try_from(n)
                    .map_err(|_| bad(format!("reconnect_max_attempts is too large: {n}")))?,
            ),
        };
    }
    if let Some(s) = initial {
        policy.initial_delay = seconds("reconnect_initial_delay", s, true)?;
    }
    if let Some(s) = max_delay {
        policy.max_delay = seconds("reconnect_max_delay", s, true)?;
    }
    if policy.max_delay < policy.initial_delay {
        return Err(bad(format!(
            "reconnect_max_delay ({} s) must not be below reconnect_initial_delay ({} s)",
            policy.max_delay.as_secs_f64(),
            policy.initial_delay.as_secs_f64()
        )));
    }
    Ok(policy)
}

/// Builds and validates the replication configuration.
pub(crate) fn replication_config(
    connection: ConnectParams,
    args: StreamArgs<'_>,
) -> PyResult<ReplicationConfig> {
    let mut config = ReplicationConfig::new(connection);
    config.slot_name = args.slot_name.clone();
    config.publication_name = args.publication_name.clone();
    let set = |target: &mut bool, value: Option<bool>| {
        if let Some(value) = value {
            *target = value;
        }
    };
    set(&mut config.create_slot, args.create_slot);
    set(&mut config.two_phase, args.two_phase);
    config.start_lsn = match &args.start_lsn {
        None => None,
        Some(v) => Some(parse_lsn("start_lsn", v)?).filter(|l| l.0 != 0),
    };
    let tables = match &args.tables {
        Some(t) => strings("tables", t)?,
        None => Vec::new(),
    };
    config.tables = NameFilter::new(&tables, &[], "table").map_err(|e| value_error(&e))?;
    config.publication_autocreate = match (args.create_publication, tables.is_empty()) {
        (false, _) => PublicationAutocreate::Disabled,
        (true, true) => PublicationAutocreate::AllTables,
        (true, false) => PublicationAutocreate::Filtered,
    };
    config.reconnect = reconnect_policy(&args)?;

    let c = &mut config.convert;
    parse_mode::<DecimalHandlingMode>(
        &mut c.decimal_handling_mode,
        &args.decimal_handling_mode,
        DecimalHandlingMode::PROPERTY,
    )?;
    parse_mode::<TimePrecisionMode>(
        &mut c.time_precision_mode,
        &args.time_precision_mode,
        TimePrecisionMode::PROPERTY,
    )?;
    parse_mode::<BinaryHandlingMode>(
        &mut c.binary_handling_mode,
        &args.binary_handling_mode,
        BinaryHandlingMode::PROPERTY,
    )?;
    parse_mode::<IntervalHandlingMode>(
        &mut c.interval_handling_mode,
        &args.interval_handling_mode,
        IntervalHandlingMode::PROPERTY,
    )?;
    parse_mode::<HstoreHandlingMode>(
        &mut c.hstore_handling_mode,
        &args.hstore_handling_mode,
        HstoreHandlingMode::PROPERTY,
    )?;
    parse_mode::<MultidimensionalArrayMode>(
        &mut c.multidimensional_array_mode,
        &args.multidimensional_array_mode,
        MultidimensionalArrayMode::PROPERTY,
    )?;
    if let Some(n) = args.money_fraction_digits {
        c.money_fraction_digits = u8::try_from(n).map_err(|_| {
            bad(format!(
                "money_fraction_digits must be a whole number from 0 to 255, not {n}"
            ))
        })?;
    }
    if let Some(placeholder) = &args.unavailable_value_placeholder {
        const PLACEHOLDER: &str = "unavailable.value.placeholder";
        c.set(PLACEHOLDER, placeholder)
            .map_err(|e| keyword_error(&e, PLACEHOLDER, keyword(PLACEHOLDER)))?;
    }

    set(
        &mut config.provide_transaction_metadata,
        args.provide_transaction_metadata,
    );
    if let Some(v) = &args.skipped_operations {
        const SKIPPED: &str = "skipped.operations";
        config.skipped_operations =
            parse_skipped_operations(&strings("skipped_operations", v)?.join(","))
                .map_err(|e| keyword_error(&e, SKIPPED, keyword(SKIPPED)))?;
    }
    if let Some(prefix) = &args.topic_prefix {
        config.topic_prefix = prefix.clone();
    }
    set(&mut config.tombstones_on_delete, args.tombstones_on_delete);
    if let Some(s) = args.status_interval {
        config.status_interval = seconds("status_interval", s, false)?;
    }
    // None: twice the server's wal_sender_timeout; 0: off.
    if let Some(t) = args.receive_timeout {
        config.receive_timeout = Some(seconds("receive_timeout", t, true)?);
    }
    if let Some(s) = args.batch_linger {
        config.batch_linger = seconds("batch_linger", s, true)?;
    }
    set(&mut config.slot_failover, args.slot_failover);
    let size = |what: &str, n: i64| -> PyResult<usize> {
        usize::try_from(n)
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| bad(format!("{what} must be a positive integer, not {n}")))
    };
    if let Some(n) = args.max_batch_size {
        config.max_batch_size = size("max_batch_size", n)?;
    }
    if let Some(n) = args.max_queue_size {
        config.max_queue_size = size("max_queue_size", n)?;
    }
    if let Some(mode) = &args.snapshot_mode {
        const MODE: &str = "snapshot.mode";
        config.snapshot_mode = mode
            .parse::<SnapshotMode>()
            .map_err(|e| keyword_error(&e, MODE, keyword(MODE)))?;
    }
    if let Some(file) = &args.offset_file {
        config.offset_file = Some(file.clone());
    }
    if let Some(props) = &args.properties {
        let pairs = property_pairs(props)?;
        config = apply_properties(config, &pairs)
            .map_err(|e| value_error(&e))?
            .config;
    }
    config
        .validate()
        .map_err(|e| bad(keys::with_python_keywords(&e.to_string())))?;
    config.convert.validate().map_err(|e| value_error(&e))?;
    Ok(config)
}

/// The signal of `reader.snapshot(tables, conditions=..., surrogate_key=...)`.
pub(crate) fn snapshot_signal(
    tables: &Bound<'_, PyAny>,
    conditions: Option<&Bound<'_, PyAny>>,
    surrogate_key: Option<&Bound<'_, PyAny>>,
) -> PyResult<SnapshotSignal> {
    let tables = strings("tables", tables)?;
    if tables.is_empty() {
        return Err(bad(
            "snapshot(): name at least one table, e.g. [\"public.orders\"]",
        ));
    }
    for t in &tables {
        if t.split('.').count() != 2 {
            return Err(bad(format!(
                "snapshot(): tables are schema.table names, e.g. \"public.orders\", not {t:?}"
            )));
        }
    }
    let conditions = match conditions.filter(|c| !c.is_none()) {
        None => Vec::new(),
        Some(c) => {
            let dict = c.cast::<PyDict>().map_err(|_| {
                type_error("conditions", "a dict of table name to SQL condition", c)
            })?;
            let mut out = Vec::new();
            for (k, v) in dict.iter() {
                out.push((string("conditions", &k)?, string("conditions", &v)?));
            }
            out
        }
    };
    let surrogate_key = match surrogate_key.filter(|k| !k.is_none()) {
        None => None,
        Some(k) => Some(string("surrogate_key", k)?),
    };
    Ok(SnapshotSignal::Execute {
        id: SnapshotSignal::fresh_id("python"),
        tables,
        conditions,
        surrogate_key,
    })
}
