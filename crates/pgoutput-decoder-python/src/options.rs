//! Keyword arguments of `LogicalReplicationReader` → a validated [`ReplicationConfig`].
//!
//! Everything is checked when the reader is created, so a typo fails at once with a
//! `ValueError` (bad value, listing the allowed values) or `TypeError` (wrong type, unknown
//! keyword), not at the first `await`.

use std::{path::PathBuf, str::FromStr, time::Duration};

use pgoutput_decoder::{
    config::{parse_skipped_operations, NameFilter, ReconnectPolicy},
    conn::{ConnectParams, Password, SslMode},
    properties::apply_properties,
    types::{
        BinaryHandlingMode, DecimalHandlingMode, HstoreHandlingMode, IntervalHandlingMode,
        MultidimensionalArrayMode, TimePrecisionMode,
    },
    Lsn, PublicationAutocreate, ReplicationConfig,
};
use pyo3::{
    exceptions::{PyTypeError, PyValueError},
    prelude::*,
    types::{PyBool, PyDict, PyString},
};

use crate::errors::value_error;

/// The connection keywords (positional-or-keyword in the reader's signature).
pub(crate) struct ConnectionArgs {
    pub host: String,
    pub database: String,
    pub port: i64,
    pub user: String,
    pub password: String,
    pub dsn: Option<String>,
    pub sslmode: Option<String>,
    pub sslrootcert: Option<PathBuf>,
    pub connect_timeout: Option<f64>,
}

/// Everything else.
pub(crate) struct StreamArgs<'py> {
    pub publication_name: String,
    pub slot_name: String,
    pub start_lsn: Option<Bound<'py, PyAny>>,
    pub create_slot: bool,
    pub slot_failover: bool,
    pub create_publication: bool,
    pub tables: Option<Bound<'py, PyAny>>,
    pub reconnect: Option<Bound<'py, PyAny>>,
    pub reconnect_max_attempts: Option<i64>,
    pub reconnect_initial_delay: Option<f64>,
    pub reconnect_max_delay: Option<f64>,
    pub decimal_handling_mode: String,
    pub time_precision_mode: String,
    pub binary_handling_mode: String,
    pub interval_handling_mode: String,
    pub hstore_handling_mode: String,
    pub money_fraction_digits: i64,
    pub unavailable_value_placeholder: String,
    pub provide_transaction_metadata: bool,
    pub skipped_operations: Option<Bound<'py, PyAny>>,
    pub topic_prefix: String,
    pub tombstones_on_delete: bool,
    pub status_interval: f64,
    pub receive_timeout: Option<f64>,
    pub batch_linger: f64,
    pub max_batch_size: i64,
    pub max_queue_size: i64,
    pub two_phase: bool,
    pub multidimensional_array_mode: String,
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

/// Builds the connection parameters.
///
/// Precedence, highest first: what `dsn` sets; the keyword arguments (their defaults
/// included); for settings neither gives — the password, `sslmode`, `sslrootcert`,
/// `connect_timeout` — the `PG*` environment variables and, for the password, the password
/// file (`PGPASSFILE` or `~/.pgpass`), matched against the final host, port, database and
/// user, as libpq does.
pub(crate) fn connect_params(args: ConnectionArgs) -> PyResult<ConnectParams> {
    let port = u16::try_from(args.port)
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| bad(format!("port must be from 1 to 65535, not {}", args.port)))?;
    let mut params = ConnectParams {
        host: args.host,
        port,
        user: args.user,
        password: (!args.password.is_empty()).then(|| Password::new(args.password)),
        dbname: args.database,
        ..ConnectParams::default()
    };
    let mut given_timeout = None;
    if let Some(mode) = &args.sslmode {
        params.sslmode = SslMode::from_str(mode).map_err(|e| value_error(&e))?;
    }
    if let Some(path) = args.sslrootcert {
        params.sslrootcert = Some(path);
    }
    if let Some(t) = args.connect_timeout {
        let t = seconds("connect_timeout", t, true)?;
        params.connect_timeout = t;
        given_timeout = Some(t);
    }
    if let Some(dsn) = &args.dsn {
        let before = params.connect_timeout;
        params = params.override_with_dsn(dsn).map_err(|e| value_error(&e))?;
        if params.connect_timeout != before {
            given_timeout = Some(params.connect_timeout);
        }
    }
    for (what, value) in [
        ("host", &params.host),
        ("user", &params.user),
        ("database", &params.dbname),
    ] {
        if value.is_empty() {
            return Err(bad(format!("{what} must not be empty")));
        }
    }
    // Let the environment fill only what nobody set: rebuild the parameters as a key=value
    // string naming every set field, so `from_dsn` treats them as given.
    let defaults = ConnectParams::default();
    // Several hosts (from a DSN) are kept as lists.
    let hosts = params.hosts();
    let host_list: Vec<&str> = hosts.iter().map(|(h, _)| h.as_str()).collect();
    let port_list: Vec<String> = hosts.iter().map(|(_, p)| p.to_string()).collect();
    let mut dsn = format!(
        "host={} port={} user={} dbname={} keepalives={}",
        quote(&host_list.join(",")),
        port_list.join(","),
        quote(&params.user),
        quote(&params.dbname),
        u8::from(params.keepalives),
    );
    if let Some(p) = &params.password {
        dsn.push_str(&format!(" password={}", quote(p.expose())));
    }
    if args.sslmode.is_some() || params.sslmode != defaults.sslmode {
        dsn.push_str(&format!(" sslmode={}", params.sslmode));
    }
    if let Some(path) = &params.sslrootcert {
        dsn.push_str(&format!(" sslrootcert={}", quote(&path.to_string_lossy())));
    }
    if given_timeout.is_some() {
        // Whole seconds here; the exact value is put back below.
        dsn.push_str(&format!(
            " connect_timeout={}",
            params.connect_timeout.as_secs()
        ));
    }
    if params.target_session_attrs != defaults.target_session_attrs {
        dsn.push_str(&format!(
            " target_session_attrs={}",
            params.target_session_attrs
        ));
    }
    if params.application_name != defaults.application_name {
        dsn.push_str(&format!(
            " application_name={}",
            quote(&params.application_name)
        ));
    }
    let mut resolved = ConnectParams::from_dsn(&dsn).map_err(|e| value_error(&e))?;
    if let Some(t) = given_timeout {
        resolved.connect_timeout = t;
    }
    Ok(resolved)
}

/// `properties={"table.include.list": "public.orders", ...}`: Debezium property names with
/// string, number, bool or list-of-strings values, as `(key, value)` text pairs.
fn property_pairs(value: &Bound<'_, PyAny>) -> PyResult<Vec<(String, String)>> {
    let dict = value.cast::<PyDict>().map_err(|_| {
        PyTypeError::new_err(format!(
            "properties must be a dict of Debezium property names to values, not {}",
            type_name(value)
        ))
    })?;
    let mut pairs = Vec::with_capacity(dict.len());
    for (k, v) in dict.iter() {
        let key: String = k.extract().map_err(|_| {
            PyTypeError::new_err(format!(
                "properties keys must be strings, not {}",
                type_name(&k)
            ))
        })?;
        let text = if let Ok(b) = v.cast::<PyBool>() {
            if b.is_true() { "true" } else { "false" }.to_owned()
        } else if v.cast::<PyString>().is_ok() || v.extract::<f64>().is_ok() {
            v.str()?.to_cow()?.into_owned()
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
    for item in value.try_iter().map_err(|_| {
        PyTypeError::new_err(format!(
            "{what} must be a string or an iterable of strings, not {}",
            type_name(value)
        ))
    })? {
        let item = item?;
        let s: String = item.extract().map_err(|_| {
            PyTypeError::new_err(format!(
                "{what} must contain strings, not {}",
                type_name(&item)
            ))
        })?;
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
        return Err(PyTypeError::new_err(format!(
            "{what} must be an int or an \"X/Y\" string, not bool"
        )));
    }
    if let Ok(s) = value.cast::<PyString>() {
        return Lsn::from_str(s.to_cow()?.trim()).map_err(|e| bad(format!("{what}: {e}")));
    }
    match value.extract::<i128>() {
        Ok(n) => u64::try_from(n)
            .map(Lsn)
            .map_err(|_| bad(format!("{what} must be from 0 to 2**64-1, not {n}"))),
        Err(_) => Err(PyTypeError::new_err(format!(
            "{what} must be an int or an \"X/Y\" string, not {}",
            type_name(value)
        ))),
    }
}

/// Replaces the Debezium property name in a core error by the Python keyword.
fn keyword_error(e: &pgoutput_decoder::Error, property: &str, keyword: &str) -> PyErr {
    bad(e
        .to_string()
        .replacen(property, &format!("{keyword} ({property})"), 1))
}

fn parse_mode<T: FromStr<Err = pgoutput_decoder::Error>>(
    value: &str,
    property: &str,
    keyword: &str,
) -> PyResult<T> {
    T::from_str(value).map_err(|e| keyword_error(&e, property, keyword))
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
                let key: String = k
                    .extract()
                    .map_err(|_| PyTypeError::new_err("reconnect keys must be strings"))?;
                let twice = |what: &str| {
                    bad(format!(
                        "reconnect: {what} is given both in the reconnect dict and as \
                         reconnect_{what}=; give it once"
                    ))
                };
                match key.as_str() {
                    "enabled" => policy.enabled = v.extract()?,
                    "max_attempts" => {
                        if max_attempts.is_some() {
                            return Err(twice("max_attempts"));
                        }
                        max_attempts = v.extract::<Option<i64>>()?.or(Some(-1));
                    }
                    "initial_delay" => {
                        if initial.is_some() {
                            return Err(twice("initial_delay"));
                        }
                        initial = Some(v.extract()?);
                    }
                    "max_delay" => {
                        if max_delay.is_some() {
                            return Err(twice("max_delay"));
                        }
                        max_delay = Some(v.extract()?);
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
            return Err(PyTypeError::new_err(format!(
                "reconnect must be a bool or a dict, not {}",
                type_name(value)
            )));
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
    config.create_slot = args.create_slot;
    config.two_phase = args.two_phase;
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
    c.decimal_handling_mode = parse_mode::<DecimalHandlingMode>(
        &args.decimal_handling_mode,
        DecimalHandlingMode::PROPERTY,
        "decimal_handling_mode",
    )?;
    c.time_precision_mode = parse_mode::<TimePrecisionMode>(
        &args.time_precision_mode,
        TimePrecisionMode::PROPERTY,
        "time_precision_mode",
    )?;
    c.binary_handling_mode = parse_mode::<BinaryHandlingMode>(
        &args.binary_handling_mode,
        BinaryHandlingMode::PROPERTY,
        "binary_handling_mode",
    )?;
    c.interval_handling_mode = parse_mode::<IntervalHandlingMode>(
        &args.interval_handling_mode,
        IntervalHandlingMode::PROPERTY,
        "interval_handling_mode",
    )?;
    c.hstore_handling_mode = parse_mode::<HstoreHandlingMode>(
        &args.hstore_handling_mode,
        HstoreHandlingMode::PROPERTY,
        "hstore_handling_mode",
    )?;
    c.multidimensional_array_mode = parse_mode::<MultidimensionalArrayMode>(
        &args.multidimensional_array_mode,
        MultidimensionalArrayMode::PROPERTY,
        "multidimensional_array_mode",
    )?;
    c.money_fraction_digits = u8::try_from(args.money_fraction_digits).map_err(|_| {
        bad(format!(
            "money_fraction_digits must be a whole number from 0 to 255, not {}",
            args.money_fraction_digits
        ))
    })?;
    c.set(
        "unavailable.value.placeholder",
        &args.unavailable_value_placeholder,
    )
    .map_err(|e| {
        keyword_error(
            &e,
            "unavailable.value.placeholder",
            "unavailable_value_placeholder",
        )
    })?;

    config.provide_transaction_metadata = args.provide_transaction_metadata;
    config.skipped_operations = match &args.skipped_operations {
        None => parse_skipped_operations("t"),
        Some(v) => parse_skipped_operations(&strings("skipped_operations", v)?.join(",")),
    }
    .map_err(|e| keyword_error(&e, "skipped.operations", "skipped_operations"))?;
    config.topic_prefix = args.topic_prefix.clone();
    config.tombstones_on_delete = args.tombstones_on_delete;
    config.status_interval = seconds("status_interval", args.status_interval, false)?;
    // None: twice the server's wal_sender_timeout; 0: off.
    config.receive_timeout = match args.receive_timeout {
        Some(t) => Some(seconds("receive_timeout", t, true)?),
        None => None,
    };
    config.batch_linger = seconds("batch_linger", args.batch_linger, true)?;
    config.slot_failover = args.slot_failover;
    let size = |what: &str, n: i64| -> PyResult<usize> {
        usize::try_from(n)
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| bad(format!("{what} must be a positive integer, not {n}")))
    };
    config.max_batch_size = size("max_batch_size", args.max_batch_size)?;
    config.max_queue_size = size("max_queue_size", args.max_queue_size)?;
    if let Some(props) = &args.properties {
        let pairs = property_pairs(props)?;
        config = apply_properties(config, &pairs)
            .map_err(|e| value_error(&e))?
            .config;
    }
    config.validate().map_err(|e| {
        let text = e
            .to_string()
            .replace("slot.name", "slot_name")
            .replace("publication.name", "publication_name")
            .replace("topic.prefix", "topic_prefix")
            .replace("max.batch.size", "max_batch_size")
            .replace("max.queue.size", "max_queue_size")
            .replace("status.update.interval.ms", "status_interval");
        bad(text)
    })?;
    config.convert.validate().map_err(|e| value_error(&e))?;
    Ok(config)
}
