//! Debezium connector properties → [`ReplicationConfig`].
//!
//! A Debezium PostgreSQL connector's `.properties` file works as it is: the keys are Debezium's
//! (`database.hostname`, `slot.name`, `table.include.list`, ...). Every key is accounted for:
//! supported keys are applied; Kafka Connect and engine keys that have no meaning here are
//! ignored with a note; Debezium keys we do not implement yet and that would change the output
//! are errors (silently ignoring `column.mask.*` could leak data); anything else is an
//! error that names the key.

use std::{fmt::Display, str::FromStr, time::Duration};

use pgoutput::Lsn;

use crate::{
    config::{
        keys::{self, KeyClass},
        parse_message_key_columns, parse_skipped_operations, NameFilter, ReplicationConfig,
    },
    conn::{ConnectParams, Password},
    transforms::Transforms,
    Error, Result,
};

/// Parses the Java `.properties` format: `key=value`, `key: value` or `key value`, `#` and `!`
/// comments, backslash line continuations and escapes (`\t`, `\n`, `\uXXXX`, `\\`).
pub fn parse_properties(text: &str) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut logical = String::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim_start();
        if logical.is_empty() && (line.is_empty() || line.starts_with('#') || line.starts_with('!'))
        {
            continue;
        }
        // An odd number of trailing backslashes continues the line.
        let trailing = line.chars().rev().take_while(|&c| c == '\\').count();
        if trailing % 2 == 1 {
            logical.push_str(&line[..line.len() - 1]);
            continue;
        }
        logical.push_str(line);
        let entry = std::mem::take(&mut logical);
        out.push(split_entry(&entry).map_err(|e| Error::config(format!("line {}: {e}", n + 1)))?);
    }
    if !logical.is_empty() {
        out.push(split_entry(&logical).map_err(Error::config)?);
    }
    Ok(out)
}

/// Parses a connector configuration in either form users keep it in: a Java `.properties`
/// file ([`parse_properties`]) or Kafka Connect's JSON, as posted to the Connect REST API
/// (`{"name": "...", "config": {"connector.class": ..., "database.hostname": ...}}`) or as a
/// flat object of the configuration keys. The form is told by the content: JSON starts with
/// `{`.
///
/// JSON values may be strings, numbers or booleans (taken as their text: `5432`, `true`);
/// `null`, arrays and nested objects (other than the top `config`) are errors naming the key.
pub fn parse_connector_config(text: &str) -> Result<Vec<(String, String)>> {
    // A byte order mark is not part of the content.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim_start().starts_with('{') {
        parse_json_config(text)
    } else {
        parse_properties(text)
    }
}

/// Kafka Connect's JSON connector configuration (see [`parse_connector_config`]).
pub fn parse_json_config(text: &str) -> Result<Vec<(String, String)>> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| Error::config(format!("the configuration is not valid JSON: {e}")))?;
    let serde_json::Value::Object(top) = value else {
        return Err(Error::config(
            "a JSON configuration must be an object: {\"name\": ..., \"config\": {...}} or \
             {\"database.hostname\": ..., ...}",
        ));
    };
    let config = match top.get("config") {
        // The Connect REST API's form: the connector's name beside its configuration.
        Some(serde_json::Value::Object(config)) => {
            if let Some(other) = top
                .keys()
                .find(|k| !matches!(k.as_str(), "name" | "config"))
            {
                return Err(Error::config(format!(
                    "unexpected key {other:?} next to \"config\" in the JSON configuration: \
                     the connector's settings belong inside \"config\""
                )));
            }
            config
        }
        _ => &top,
    };
    config
        .iter()
        .map(|(key, value)| {
            let text = match value {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                serde_json::Value::Null => {
                    return Err(Error::config(format!(
                        "{key}: null is not a value; give a string, number or boolean, or \
                         leave the key out"
                    )))
                }
                serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
                    return Err(Error::config(format!(
                        "{key}: a JSON configuration value must be a string, number or \
                         boolean, not an {}; lists are comma-separated strings, as in \
                         Debezium (\"a,b\")",
                        if value.is_array() { "array" } else { "object" }
                    )))
                }
            };
            Ok((key.clone(), text))
        })
        .collect()
}

fn split_entry(entry: &str) -> std::result::Result<(String, String), String> {
    let mut key = String::new();
    let mut chars = entry.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => key.push(unescape(&mut chars)?),
            '=' | ':' => break,
            c if c.is_whitespace() => {
                while matches!(chars.peek(), Some(c) if c.is_whitespace()) {
                    chars.next();
                }
                if matches!(chars.peek(), Some('=') | Some(':')) {
                    chars.next();
                }
                break;
            }
            c => key.push(c),
        }
    }
    while matches!(chars.peek(), Some(c) if c.is_whitespace()) {
        chars.next();
    }
    // Unescaped trailing whitespace is dropped (Kafka trims values too); escaped stays.
    let mut value: Vec<(char, bool)> = Vec::new();
    while let Some(c) = chars.next() {
        if c == '\\' {
            value.push((unescape(&mut chars)?, true));
        } else {
            value.push((c, false));
        }
    }
    while matches!(value.last(), Some((c, false)) if c.is_whitespace()) {
        value.pop();
    }
    let value: String = value.into_iter().map(|(c, _)| c).collect();
    Ok((key, value))
}

fn unescape(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
) -> std::result::Result<char, String> {
    match chars.next() {
        Some('t') => Ok('\t'),
        Some('n') => Ok('\n'),
        Some('r') => Ok('\r'),
        Some('f') => Ok('\u{c}'),
        Some('u') => {
            let hex: String = chars.by_ref().take(4).collect();
            u32::from_str_radix(&hex, 16)
                .ok()
                .and_then(char::from_u32)
                .ok_or_else(|| format!("bad \\u escape \\u{hex}"))
        }
        Some(c) => Ok(c),
        None => Ok('\\'),
    }
}

/// Supported keys, for "did you mean" suggestions and the docs: the keys of
/// [`keys::OPTIONS`].
pub use crate::config::keys::SUPPORTED_KEYS;

/// The result of reading a properties file: the configuration and notes about keys that were
/// ignored (to be shown to the user).
#[derive(Debug)]
pub struct Loaded {
    /// The configuration.
    pub config: ReplicationConfig,
    /// Notes to show the user: one line listing the keys that were ignored, if any.
    pub notes: Vec<String>,
}

fn parse<T: FromStr>(key: &str, value: &str) -> Result<T>
where
    T::Err: Display,
{
    value
        .trim()
        .parse()
        .map_err(|e| Error::config(format!("{key}: {e}")))
}

/// A `snapshot.include.collection.list` entry: a regular expression matching the whole
/// `schema.table`, as Debezium's lists do.
fn anchored_regex(key: &str, pattern: &str) -> Result<regex::Regex> {
    regex::Regex::new(&format!("^(?:{pattern})$")).map_err(|e| {
        Error::config(format!(
            "{key}: invalid regular expression {pattern:?}: {e}"
        ))
    })
}

/// Pairs `snapshot.select.statement.overrides=a.b,c.d` with the
/// `snapshot.select.statement.overrides.a.b=SELECT ...` keys: each listed table needs its
/// statement, and a statement for a table not listed would be silently unused.
fn snapshot_overrides(
    tables: Vec<String>,
    mut statements: Vec<(String, String)>,
) -> Result<Vec<(String, String)>> {
    let mut out = Vec::with_capacity(tables.len());
    for table in tables {
        match statements.iter().position(|(t, _)| *t == table) {
            Some(i) => out.push(statements.swap_remove(i)),
            None => {
                return Err(Error::config(format!(
                    "snapshot.select.statement.overrides lists {table} but there is no \
                     snapshot.select.statement.overrides.{table}=SELECT ... key with its statement"
                )))
            }
        }
    }
    if let Some((table, _)) = statements.first() {
        return Err(Error::config(format!(
            "snapshot.select.statement.overrides.{table} is set but {table} is not listed in \
             snapshot.select.statement.overrides: add it there"
        )));
    }
    Ok(out)
}

fn parse_bool(key: &str, value: &str) -> Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(Error::config(format!(
            "{key}: expected true or false, got {other:?}"
        ))),
    }
}

fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Builds a configuration from Debezium properties. Connection settings missing from the
/// properties come from the libpq environment (`PGHOST`, `PGPASSWORD`, `~/.pgpass`, ...).
pub fn config_from_properties(props: &[(String, String)]) -> Result<Loaded> {
    let mut config = ReplicationConfig::new(ConnectParams::default());
    // Debezium creates a missing slot and reads the existing rows first; so does this loader.
    config.create_slot = true;
    config.snapshot_mode = crate::config::SnapshotMode::Initial;
    load(config, props, false)
}

/// Applies Debezium properties on top of a configuration built another way (the Python
/// binding's keywords): only the settings named in `props` change. Connection properties
/// (`database.*`) change the connection's fields.
pub fn apply_properties(config: ReplicationConfig, props: &[(String, String)]) -> Result<Loaded> {
    load(config, props, true)
}

fn load(
    mut config: ReplicationConfig,
    props: &[(String, String)],
    mut topic_prefix_set: bool,
) -> Result<Loaded> {
    let mut connection = std::mem::take(&mut config.connection);
    let mut notes = Vec::new();
    let mut ignored = Vec::new();
    let mut sink_keys = Vec::new();
    let mut unknown = Vec::new();
    let mut unsupported = Vec::new();
    let (mut t_inc, mut t_exc, mut s_inc, mut s_exc) = (vec![], vec![], vec![], vec![]);
    let (mut c_inc, mut c_exc, mut m_inc, mut m_exc) = (vec![], vec![], vec![], vec![]);
    let (mut hostname, mut port) = (None::<String>, None::<String>);
    let mut transform_props = Vec::new();
    let (mut heartbeat_prefix, mut heartbeat_name) = (None::<String>, None::<String>);

    let mut override_tables = Vec::new();
    let mut override_statements = Vec::new();

    for (key, value) in props {
        let k = key.as_str();
        let v = value.as_str();
        // One key per table, named after it: not a fixed key of keys::OPTIONS.
        if let Some(table) = k.strip_prefix("snapshot.select.statement.overrides.") {
            override_statements.push((table.to_string(), v.trim().to_string()));
            continue;
        }
        match keys::classify(k) {
            KeyClass::Supported(_) => {}
            KeyClass::Transform => {
                transform_props.push((key.clone(), value.clone()));
                continue;
            }
            KeyClass::Renamed(new) => {
                return Err(Error::config(format!(
                    "{k} was replaced by {new} in Debezium 2.0: rename the key ({k}={v} becomes \
                     {new}={v})",
                    v = v.trim()
                )))
            }
            KeyClass::Unsupported => {
                unsupported.push(k.to_string());
                continue;
            }
            KeyClass::Ignored => {
                ignored.push(k);
                continue;
            }
            KeyClass::KafkaSink => {
                sink_keys.push(k);
                continue;
            }
            KeyClass::Unknown => {
                unknown.push(k.to_string());
                continue;
            }
        }
        // The keys of keys::OPTIONS, and only those.
        match k {
            // Lists (`a,b` and `5432,5433`) name several hosts, matched up after the loop.
            "database.hostname" => hostname = Some(v.trim().to_string()),
            "database.port" => port = Some(v.trim().to_string()),
            "database.target.session.attrs" => connection.target_session_attrs = parse(k, v)?,
            "database.user" => connection.user = v.trim().to_string(),
            "database.password" => {
                connection.password = Some(Password::new(v.to_string()));
            }
            "database.dbname" => connection.dbname = v.trim().to_string(),
            "database.sslmode" => connection.sslmode = parse(k, v)?,
            "database.sslrootcert" => connection.sslrootcert = Some(v.trim().into()),
            "database.connect.timeout.ms" => {
                connection.connect_timeout = Duration::from_millis(parse(k, v)?)
            }
            "topic.prefix" => {
                config.topic_prefix = v.trim().to_string();
                topic_prefix_set = true;
            }
            "slot.name" => config.slot_name = v.trim().to_string(),
            "topic.heartbeat.prefix" => heartbeat_prefix = Some(v.trim().to_string()),
            "topic.heartbeat.name" => heartbeat_name = Some(v.trim().to_string()),
            "slot.create" => config.create_slot = parse_bool(k, v)?,
            "slot.failover" => config.slot_failover = parse_bool(k, v)?,
            "slot.drop.on.stop" => config.slot_drop_on_stop = parse_bool(k, v)?,
            "start.lsn" => config.start_lsn = Some(parse::<Lsn>(k, v)?),
            "publication.name" => config.publication_name = v.trim().to_string(),
            "publication.autocreate.mode" => config.publication_autocreate = parse(k, v)?,
            "table.include.list" => t_inc = list(v),
            "table.exclude.list" => t_exc = list(v),
            "schema.include.list" => s_inc = list(v),
            "schema.exclude.list" => s_exc = list(v),
            "column.include.list" => c_inc = list(v),
            "column.exclude.list" => c_exc = list(v),
            "message.prefix.include.list" => m_inc = list(v),
            "message.prefix.exclude.list" => m_exc = list(v),
            "message.key.columns" => config.message_key_columns = parse_message_key_columns(v)?,
            "snapshot.mode" => config.snapshot_mode = parse(k, v)?,
            "snapshot.include.collection.list" => {
                config.snapshot_include = Some(
                    list(v)
                        .iter()
                        .map(|p| anchored_regex(k, p))
                        .collect::<Result<_>>()?,
                )
            }
            "snapshot.select.statement.overrides" => override_tables = list(v),
            "snapshot.fetch.size" => {
                config.snapshot_fetch_size = parse(k, v)?;
                if config.snapshot_fetch_size == 0 {
                    return Err(Error::config("snapshot.fetch.size must be positive"));
                }
            }
            "offset.storage.file.filename" => config.offset_file = Some(v.trim().into()),
            "snapshot.max.threads" => {
                config.snapshot_max_threads = parse(k, v)?;
                if config.snapshot_max_threads == 0 || config.snapshot_max_threads > 64 {
                    return Err(Error::config("snapshot.max.threads must be from 1 to 64"));
                }
            }
            "signal.data.collection" => {
                let table = v.trim();
                if !table.is_empty() && table.split('.').count() != 2 {
                    return Err(Error::config(format!(
                        "signal.data.collection must be schema.table (e.g. public.debezium_signal), not {table:?}"
                    )));
                }
                config.signal_table = Some(table.to_string()).filter(|t| !t.is_empty());
            }
            "signal.enabled.channels" => {
                for channel in list(v) {
                    if channel != "source" {
                        return Err(Error::config(format!(
                            "signal.enabled.channels: only the source channel (the signal table) \
                             is supported, not {channel:?}; the Rust and Python APIs ask for \
                             snapshots directly"
                        )));
                    }
                }
            }
            "incremental.snapshot.chunk.size" => {
                config.incremental_chunk_size = parse(k, v)?;
                if config.incremental_chunk_size == 0 {
                    return Err(Error::config(
                        "incremental.snapshot.chunk.size must be positive",
                    ));
                }
            }
            "tombstones.on.delete" => config.tombstones_on_delete = parse_bool(k, v)?,
            "key.converter.schemas.enable" => config.key_schemas_enable = parse_bool(k, v)?,
            "value.converter.schemas.enable" => config.value_schemas_enable = parse_bool(k, v)?,
            "skipped.operations" => config.skipped_operations = parse_skipped_operations(v)?,
            "provide.transaction.metadata" => {
                config.provide_transaction_metadata = parse_bool(k, v)?
            }
            "decimal.handling.mode" => config.convert.decimal_handling_mode = parse(k, v)?,
            "time.precision.mode" => config.convert.time_precision_mode = parse(k, v)?,
            "binary.handling.mode" => config.convert.binary_handling_mode = parse(k, v)?,
            "interval.handling.mode" => config.convert.interval_handling_mode = parse(k, v)?,
            "hstore.handling.mode" => config.convert.hstore_handling_mode = parse(k, v)?,
            "multidimensional.array.mode" => {
                config.convert.multidimensional_array_mode = parse(k, v)?
            }
            "money.fraction.digits" => config.convert.money_fraction_digits = parse(k, v)?,
            "unavailable.value.placeholder" => {
                config.convert.unavailable_value_placeholder = v.to_string()
            }
            "status.update.interval.ms" => {
                config.status_interval = Duration::from_millis(parse(k, v)?)
            }
            "max.queue.size" => config.max_queue_size = parse(k, v)?,
            "max.batch.size" => config.max_batch_size = parse(k, v)?,
            "max.queue.size.in.bytes" => config.max_queue_bytes = parse(k, v)?,
            "batch.linger.ms" => config.batch_linger = Duration::from_millis(parse(k, v)?),
            "heartbeat.interval.ms" => {
                let ms: u64 = parse(k, v)?;
                config.heartbeat_interval = (ms > 0).then(|| Duration::from_millis(ms));
            }
            "heartbeat.action.query" => config.heartbeat_action_query = Some(v.trim().to_string()),
            "errors.max.retries" => {
                // Debezium: -1 retries forever, 0 never.
                let n: i64 = parse(k, v)?;
                config.reconnect.enabled = n != 0;
                config.reconnect.max_attempts = u32::try_from(n).ok();
            }
            "retriable.restart.connector.wait.ms" => {
                config.reconnect.initial_delay = Duration::from_millis(parse(k, v)?)
            }
            "receive.timeout.ms" => {
                // -1: twice the server's wal_sender_timeout (the default); 0: off.
                let ms: i64 = parse(k, v)?;
                config.receive_timeout = u64::try_from(ms).ok().map(Duration::from_millis);
            }
            "reconnect.max.delay.ms" => {
                config.reconnect.max_delay = Duration::from_millis(parse(k, v)?)
            }
            "streaming.enabled" => config.streaming = parse_bool(k, v)?,
            "streaming.buffer.bytes" => config.stream_buffer_bytes = parse(k, v)?,
            "two.phase.enabled" => config.two_phase = parse_bool(k, v)?,
            // Checked after the loop.
            "plugin.name" => {}
            _ => {
                return Err(Error::config(format!(
                    "{k} is listed in config::keys::OPTIONS but the properties loader does not \
                     apply it"
                )))
            }
        }
    }
    config.snapshot_select_overrides = snapshot_overrides(override_tables, override_statements)?;
    if !ignored.is_empty() {
        notes.push(format!(
            "ignoring keys that have no meaning outside Kafka Connect or are not needed here: {}",
            ignored.join(", ")
        ));
    }
    if !sink_keys.is_empty() {
        notes.push(format!(
            "ignoring the Kafka sink's settings, which this sink does not use: {}",
            sink_keys.join(", ")
        ));
    }
    if let Some((_, v)) = props.iter().find(|(k, _)| k == "plugin.name") {
        if v.trim() != "pgoutput" {
            return Err(Error::config(format!(
                "plugin.name={} is not supported: this library reads the built-in pgoutput plugin; \
                 set plugin.name=pgoutput",
                v.trim()
            )));
        }
    }
    if !unknown.is_empty() {
        let detail: Vec<String> = unknown
            .iter()
            .map(|k| match suggest(k) {
                Some(s) => format!("{k} (did you mean {s}?)"),
                None => k.clone(),
            })
            .collect();
        return Err(Error::config(format!(
            "unknown configuration key(s): {}; supported keys are listed in the README's \
             configuration table",
            detail.join(", ")
        )));
    }
    if !unsupported.is_empty() {
        return Err(Error::config(format!(
            "these Debezium settings are not supported yet and would change the events: {}; \
             remove them (see the README's configuration table)",
            unsupported.join(", ")
        )));
    }
    if !transform_props.is_empty() {
        config.transforms = Transforms::from_properties(&transform_props)?;
    }
    if let Some(name) = heartbeat_name {
        config.heartbeat_topic = Some(name);
    } else if let Some(prefix) = heartbeat_prefix.filter(|p| p != "__debezium-heartbeat") {
        config.heartbeat_topic = Some(format!("{prefix}.{}", config.topic_prefix));
    }
    if !topic_prefix_set {
        return Err(Error::config("topic.prefix is required (as in Debezium): it names the topics, e.g. topic.prefix=dbserver1"));
    }
    let given = |lists: &[&Vec<String>]| lists.iter().any(|l| !l.is_empty());
    if given(&[&t_inc, &t_exc, &s_inc, &s_exc]) {
        config.tables = combined_filter(&t_inc, &t_exc, &s_inc, &s_exc)?;
    }
    if given(&[&c_inc, &c_exc]) {
        config.columns = NameFilter::new(&c_inc, &c_exc, "column")?;
    }
    config.convert.validate()?;
    if given(&[&m_inc, &m_exc]) {
        config.message_prefixes = NameFilter::new(&m_inc, &m_exc, "message.prefix")?;
    }
    connection
        .set_host_lists(hostname.as_deref(), port.as_deref())
        .map_err(|e| Error::config(format!("database.hostname/database.port: {}", e.message())))?;
    connection.apply_env_and_passfile()?;
    config.connection = connection;
    config.validate()?;
    Ok(Loaded { config, notes })
}

/// Table filters, with schema lists turned into table patterns (`schema\..*`).
pub fn combined_filter(
    t_inc: &[String],
    t_exc: &[String],
    s_inc: &[String],
    s_exc: &[String],
) -> Result<NameFilter> {
    if (!t_inc.is_empty() || !t_exc.is_empty()) && (!s_inc.is_empty() || !s_exc.is_empty()) {
        // Debezium applies both; our single filter cannot, so say so rather than guess.
        if !(t_exc.is_empty() && s_exc.is_empty()) {
            return Err(Error::config(
                "combining schema.*.list with table.*.list is only supported for include lists",
            ));
        }
    }
    if !s_inc.is_empty() && t_inc.is_empty() {
        let inc: Vec<String> = s_inc.iter().map(|s| format!("(?:{s})\\..*")).collect();
        return NameFilter::new(&inc, &[], "table");
    }
    if !s_exc.is_empty() {
        let exc: Vec<String> = s_exc.iter().map(|s| format!("(?:{s})\\..*")).collect();
        return NameFilter::new(&[], &exc, "table");
    }
    NameFilter::new(t_inc, t_exc, "table")
}

fn suggest(key: &str) -> Option<&'static str> {
    SUPPORTED_KEYS
        .iter()
        .map(|k| (edit_distance(key, k), *k))
        .filter(|(d, _)| *d <= 3)
        .min()
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(text: &str) -> Vec<(String, String)> {
        parse_properties(text).unwrap()
    }

    #[test]
    fn java_properties_syntax() {
        let p = props("# c\n! c\na=1\nb : 2\nc 3\nd=x\\\n  y\ne=\\u0041\\t\n");
        assert_eq!(
            p,
            [
                ("a", "1"),
                ("b", "2"),
                ("c", "3"),
                ("d", "xy"),
                ("e", "A\t")
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
        );
    }

    #[test]
    fn debezium_config_maps() {
        let loaded = config_from_properties(&props(
            "connector.class=io.debezium.connector.postgresql.PostgresConnector\n\
             database.hostname=db\ndatabase.port=5433\ndatabase.user=u\ndatabase.password=secret\n\
             database.dbname=shop\ntopic.prefix=dbz\nslot.name=s1\npublication.name=p1\n\
             skipped.operations=none\nplugin.name=pgoutput\n",
        ))
        .unwrap();
        let c = loaded.config;
        assert_eq!(
            (c.connection.host.as_str(), c.connection.port),
            ("db", 5433)
        );
        assert!(c.skipped_operations.is_empty());
        assert!(c.create_slot);
        assert_eq!(loaded.notes.len(), 1);
        assert!(
            !format!("{c:?}").contains("secret"),
            "password must not leak into Debug"
        );
    }

    #[test]
    fn two_phase_key_sets_the_option() {
        let c = |text: &str| config_from_properties(&props(text)).map(|l| l.config.two_phase);
        assert!(!c("topic.prefix=x\n").unwrap());
        assert!(c("topic.prefix=x\ntwo.phase.enabled=true\n").unwrap());
        let e = c("topic.prefix=x\ntwo.phase.enabled=yes\n").unwrap_err();
        assert!(e.to_string().contains("two.phase.enabled"), "{e}");
    }

    #[test]
    fn batch_linger_is_in_milliseconds_and_zero_turns_it_off() {
        let c = config_from_properties(&props("topic.prefix=x\n"))
            .unwrap()
            .config;
        assert_eq!(c.batch_linger, Duration::from_millis(10));
        let c = config_from_properties(&props("topic.prefix=x\nbatch.linger.ms=0\n"))
            .unwrap()
            .config;
        assert_eq!(c.batch_linger, Duration::ZERO);
        let c = config_from_properties(&props("topic.prefix=x\nbatch.linger.ms=250\n"))
            .unwrap()
            .config;
        assert_eq!(c.batch_linger, Duration::from_millis(250));
        assert!(config_from_properties(&props("topic.prefix=x\nbatch.linger.ms=-1\n")).is_err());
    }

    #[test]
    fn several_hosts_failover_slot_and_receive_timeout() {
        let c = config_from_properties(&props(
            "topic.prefix=x\ndatabase.port=5432,5433\ndatabase.hostname=db1,db2\n\
             database.target.session.attrs=read-write\nslot.failover=true\n\
             receive.timeout.ms=1500\n",
        ))
        .unwrap()
        .config;
        assert_eq!(
            c.connection.hosts(),
            [("db1".to_owned(), 5432), ("db2".to_owned(), 5433)]
        );
        assert_eq!(
            c.connection.target_session_attrs,
            crate::conn::TargetSessionAttrs::ReadWrite
        );
        assert!(c.slot_failover);
        assert_eq!(c.receive_timeout, Some(Duration::from_millis(1500)));
        let c = config_from_properties(&props("topic.prefix=x\nreceive.timeout.ms=-1\n"))
            .unwrap()
            .config;
        assert_eq!(c.receive_timeout, None);
        assert!(!c.slot_failover);
        let e = config_from_properties(&props(
            "topic.prefix=x\ndatabase.hostname=a,b,c\ndatabase.port=1,2\n",
        ))
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("could not match 2 port numbers to 3 hosts"),
            "{e}"
        );
    }

    #[test]
    fn unknown_keys_are_errors_with_suggestions() {
        let e = config_from_properties(&props("topic.prefix=x\nslot.nme=a\n")).unwrap_err();
        assert!(
            e.to_string().contains("slot.nme (did you mean slot.name?)"),
            "{e}"
        );
    }

    #[test]
    fn unsupported_keys_are_errors() {
        let e = config_from_properties(&props("topic.prefix=x\ncolumn.mask.with.5.chars=a.b.c\n"))
            .unwrap_err();
        assert!(e.to_string().contains("column.mask.with.5.chars"), "{e}");
    }

    #[test]
    fn slot_drop_on_stop_sets_the_option() {
        let c = |text: &str| config_from_properties(&props(text)).map(|l| l.config);
        assert!(!c("topic.prefix=x\n").unwrap().slot_drop_on_stop);
        assert!(
            c("topic.prefix=x\nslot.drop.on.stop=true\n")
                .unwrap()
                .slot_drop_on_stop
        );
        let e = c("topic.prefix=x\nslot.drop.on.stop=1\n").unwrap_err();
        assert!(e.to_string().contains("slot.drop.on.stop"), "{e}");
        assert!(SUPPORTED_KEYS.contains(&"slot.drop.on.stop"));
    }

    #[test]
    fn heartbeat_topic_settings() {
        let topic = |text: &str| {
            config_from_properties(&props(text))
                .unwrap()
                .config
                .heartbeat_topic
        };
        assert_eq!(
            topic("topic.prefix=shop\nheartbeat.interval.ms=1000\n"),
            None
        );
        assert_eq!(
            topic("topic.heartbeat.prefix=beats\ntopic.prefix=shop\n").as_deref(),
            Some("beats.shop")
        );
        assert_eq!(
            topic("topic.prefix=shop\ntopic.heartbeat.prefix=beats\ntopic.heartbeat.name=hb\n")
                .as_deref(),
            Some("hb")
        );
    }

    #[test]
    fn database_server_name_points_to_topic_prefix() {
        let e = config_from_properties(&props("database.server.name=shop\n")).unwrap_err();
        let e = e.to_string();
        assert!(
            e.contains("replaced by topic.prefix in Debezium 2.0"),
            "{e}"
        );
        assert!(e.contains("topic.prefix=shop"), "{e}");
    }

    #[test]
    fn ignored_keys_are_one_note() {
        let loaded = config_from_properties(&props(
            "topic.prefix=x\nconnector.class=io.debezium.connector.postgresql.PostgresConnector\n\
             tasks.max=1\nkey.converter=org.apache.kafka.connect.json.JsonConverter\n\
             value.converter=org.apache.kafka.connect.json.JsonConverter\n\
             offset.storage=org.apache.kafka.connect.storage.FileOffsetBackingStore\n",
        ))
        .unwrap();
        assert_eq!(
            loaded.notes,
            [
                "ignoring keys that have no meaning outside Kafka Connect or are not needed here: \
              connector.class, tasks.max, key.converter, value.converter, offset.storage"
            ]
        );
        assert!(config_from_properties(&props("topic.prefix=x\n"))
            .unwrap()
            .notes
            .is_empty());
    }

    #[test]
    fn kafka_connect_json_configs_are_read() {
        let rest = r#"
            {
              "name": "shop-connector",
              "config": {
                "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
                "database.hostname": "db",
                "database.port": 5433,
                "topic.prefix": "shop",
                "tombstones.on.delete": false,
                "table.include.list": "public.orders,public.customers"
              }
            }"#;
        let pairs = parse_connector_config(rest).unwrap();
        assert!(pairs.contains(&("database.port".into(), "5433".into())));
        assert!(pairs.contains(&("tombstones.on.delete".into(), "false".into())));
        assert!(!pairs.iter().any(|(k, _)| k == "name" || k == "config"));
        let c = config_from_properties(&pairs).unwrap().config;
        assert_eq!(
            (c.connection.host.as_str(), c.connection.port),
            ("db", 5433)
        );
        assert_eq!(c.topic_prefix, "shop");
        assert!(!c.tombstones_on_delete);
        // The flat form, as PUT /connectors/NAME/config takes it.
        let flat = "\n {\"topic.prefix\": \"x\", \"max.batch.size\": 10}";
        let c = config_from_properties(&parse_connector_config(flat).unwrap())
            .unwrap()
            .config;
        assert_eq!(c.max_batch_size, 10);
        // Properties stay properties.
        assert_eq!(
            parse_connector_config("topic.prefix=x\n").unwrap(),
            [("topic.prefix".to_string(), "x".to_string())]
        );
    }

    #[test]
    fn json_configs_with_nested_values_are_errors_naming_the_key() {
        let e = |text: &str| parse_connector_config(text).unwrap_err().to_string();
        let msg = e(r#"{"config": {"topic.prefix": "x", "table.include.list": ["a", "b"]}}"#);
        assert!(msg.starts_with("table.include.list: "), "{msg}");
        assert!(msg.contains("not an array"), "{msg}");
        let msg = e(r#"{"slot": {"name": "s"}}"#);
        assert!(msg.starts_with("slot: "), "{msg}");
        let msg = e(r#"{"database.password": null}"#);
        assert!(msg.starts_with("database.password: null"), "{msg}");
        let msg = e(r#"{"name": "c", "config": {}, "tasks": []}"#);
        assert!(msg.contains("\"tasks\""), "{msg}");
        let msg = e(r#"{"topic.prefix": "x",}"#);
        assert!(
            msg.starts_with("the configuration is not valid JSON"),
            "{msg}"
        );
    }

    /// Every key of the table is applied by the loader, and loading a key at its documented
    /// default changes nothing.
    #[test]
    fn every_option_is_applied_and_its_default_is_the_default() {
        let base = config_from_properties(&props("topic.prefix=x\n"))
            .unwrap()
            .config;
        for o in &keys::OPTIONS {
            let sample = match (o.key, o.default) {
                ("topic.prefix", _) => "x",
                (_, Some(default)) => default,
                ("start.lsn", None) => "0/16B3748",
                ("message.key.columns", None) => "public.a:id",
                ("database.sslrootcert", None) => "/nonexistent/ca.pem",
                ("signal.data.collection", None) => "public.debezium_signal",
                (_, None) => "a",
            };
            let mut pairs = vec![("topic.prefix".to_string(), "x".to_string())];
            if o.key == "heartbeat.action.query" {
                pairs.push(("heartbeat.interval.ms".into(), "1000".into()));
            }
            if o.key == "snapshot.select.statement.overrides" {
                pairs.push((format!("{}.{sample}", o.key), "SELECT 1".into()));
            }
            pairs.push((o.key.to_string(), sample.to_string()));
            let loaded = config_from_properties(&pairs)
                .unwrap_or_else(|e| panic!("{}={sample}: {e}", o.key));
            assert!(loaded.notes.is_empty(), "{}: {:?}", o.key, loaded.notes);
            // The connection's defaults yield to libpq's environment, which the test does
            // not control.
            if o.default.is_some() && !o.key.starts_with("database.") {
                assert_eq!(
                    format!("{:?}", loaded.config),
                    format!("{base:?}"),
                    "{}={sample} is documented as the default but changes the configuration",
                    o.key
                );
            }
        }
    }

    #[test]
    fn snapshot_modes_are_debeziums_with_initial_the_default() {
        use crate::config::SnapshotMode;
        let mode = |text: &str| {
            config_from_properties(&props(&format!("topic.prefix=x\n{text}")))
                .map(|l| l.config.snapshot_mode)
        };
        assert_eq!(mode("").unwrap(), SnapshotMode::Initial);
        assert_eq!(mode("snapshot.mode=never\n").unwrap(), SnapshotMode::NoData);
        assert_eq!(
            mode("snapshot.mode=no_data\n").unwrap(),
            SnapshotMode::NoData
        );
        assert_eq!(
            mode("snapshot.mode=INITIAL_ONLY\n").unwrap(),
            SnapshotMode::InitialOnly
        );
        assert_eq!(
            mode("snapshot.mode=always\n").unwrap(),
            SnapshotMode::Always
        );
        assert_eq!(
            mode("snapshot.mode=when_needed\n").unwrap(),
            SnapshotMode::WhenNeeded
        );
        for refused in ["configuration_based", "custom"] {
            let e = mode(&format!("snapshot.mode={refused}\n")).unwrap_err();
            assert!(e.to_string().contains("not supported"), "{e}");
        }
        let e = mode("snapshot.mode=initital\n").unwrap_err();
        assert!(e.to_string().contains("allowed values are: initial"), "{e}");
        // The Rust API keeps streaming only unless asked.
        let c = ReplicationConfig::new(ConnectParams::default());
        assert_eq!(c.snapshot_mode, SnapshotMode::NoData);
    }

    #[test]
    fn snapshot_select_overrides_pair_each_table_with_its_statement() {
        let loaded = config_from_properties(&props(
            "topic.prefix=x\nsnapshot.select.statement.overrides=public.a\n\
             snapshot.select.statement.overrides.public.a=SELECT * FROM public.a WHERE id > 5\n",
        ))
        .unwrap();
        assert_eq!(
            loaded.config.snapshot_select_overrides,
            [(
                "public.a".to_string(),
                "SELECT * FROM public.a WHERE id > 5".to_string()
            )]
        );
        let e = config_from_properties(&props(
            "topic.prefix=x\nsnapshot.select.statement.overrides=public.a\n",
        ))
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("snapshot.select.statement.overrides.public.a=SELECT"),
            "{e}"
        );
        let e = config_from_properties(&props(
            "topic.prefix=x\nsnapshot.select.statement.overrides.public.b=SELECT 1\n",
        ))
        .unwrap_err();
        assert!(e.to_string().contains("not listed"), "{e}");
    }
}
