//! Every configuration key, described once.
//!
//! [`OPTIONS`] is the one list of the settings this library takes by their Debezium property
//! names: the value's kind, the default, the allowed values, a documentation line, and the
//! Python keyword and command-line flag that set the same thing. [`IGNORED`] and
//! [`UNSUPPORTED`] account for the other keys a Debezium connector configuration holds, and
//! [`classify`] sorts any key into one of these classes. The properties loader
//! ([`crate::properties`]) applies the keys of [`OPTIONS`] and nothing else; the Python
//! binding and the command-line tool name their keywords and flags after this table, and the
//! tests below keep the table, the loader and the README's configuration table in agreement.

use crate::{
    transforms,
    types::{
        BinaryHandlingMode, DecimalHandlingMode, HstoreHandlingMode, IntervalHandlingMode,
        MultidimensionalArrayMode, TimePrecisionMode,
    },
};

/// What kind of value a key takes (as text in a properties file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `true` or `false` (any case).
    Bool,
    /// A whole number.
    Integer,
    /// A whole number of milliseconds.
    Millis,
    /// A number of bytes.
    Bytes,
    /// Free text.
    Text,
    /// A secret (never shown).
    Secret,
    /// A comma-separated list.
    List,
    /// One of [`OptionSpec::allowed`].
    Choice,
    /// A WAL position, `X/Y`.
    Lsn,
}

/// One configuration key.
#[derive(Debug, Clone, Copy)]
pub struct OptionSpec {
    /// The Debezium property name.
    pub key: &'static str,
    /// The kind of value.
    pub kind: Kind,
    /// The default as property text; `None` when there is none (required, or derived from
    /// something else: see [`doc`](Self::doc)).
    pub default: Option<&'static str>,
    /// The allowed values of a [`Kind::Choice`] (empty otherwise).
    pub allowed: &'static [&'static str],
    /// One line of documentation (the README's configuration table has the long form).
    pub doc: &'static str,
    /// The field of [`super::ReplicationConfig`] it sets (empty when it sets none).
    pub field: &'static str,
    /// The keyword of the Python reader that sets the same field, if any.
    pub python: Option<&'static str>,
    /// The command-line flag of `pgoutput-decoder stream` that sets the same field, if any.
    pub cli: Option<&'static str>,
}

const fn opt(key: &'static str, kind: Kind, default: Option<&'static str>) -> OptionSpec {
    OptionSpec {
        key,
        kind,
        default,
        allowed: &[],
        doc: "",
        field: "",
        python: None,
        cli: None,
    }
}

impl OptionSpec {
    const fn allowed(mut self, values: &'static [&'static str]) -> Self {
        self.allowed = values;
        self
    }
    const fn doc(mut self, doc: &'static str) -> Self {
        self.doc = doc;
        self
    }
    const fn field(mut self, field: &'static str) -> Self {
        self.field = field;
        self
    }
    const fn python(mut self, keyword: &'static str) -> Self {
        self.python = Some(keyword);
        self
    }
    const fn cli(mut self, flag: &'static str) -> Self {
        self.cli = Some(flag);
        self
    }
}

use Kind::*;

/// Every supported key, in the README's order.
pub static OPTIONS: [OptionSpec; TABLE.len()] = TABLE;

const TABLE: [OptionSpec; 65] = [
    opt("database.hostname", List, Some("localhost"))
        .doc("host(s) to connect to; a list names several, tried in order")
        .field("connection.host")
        .python("host"),
    opt("database.port", List, Some("5432"))
        .doc("port, or one per host")
        .field("connection.port")
        .python("port"),
    opt("database.user", Text, Some("postgres"))
        .doc("user name")
        .field("connection.user")
        .python("user"),
    opt("database.password", Secret, None)
        .doc("password (else PGPASSWORD or ~/.pgpass)")
        .field("connection.password")
        .python("password"),
    opt("database.dbname", Text, Some("postgres"))
        .doc("database to capture")
        .field("connection.dbname")
        .python("database"),
    opt("database.target.session.attrs", Choice, Some("any"))
        .allowed(&["any", "read-write", "read-only", "primary", "standby"])
        .doc("which server to accept when several hosts are given")
        .field("connection.target_session_attrs"),
    opt("database.sslmode", Choice, Some("prefer"))
        .allowed(&["disable", "prefer", "require", "verify-ca", "verify-full"])
        .doc("TLS mode")
        .field("connection.sslmode")
        .python("sslmode"),
    opt("database.sslrootcert", Text, None)
        .doc("CA certificate file for verify-ca/verify-full (default: the system roots)")
        .field("connection.sslrootcert")
        .python("sslrootcert"),
    opt("database.connect.timeout.ms", Millis, Some("10000"))
        .doc("connection timeout")
        .field("connection.connect_timeout")
        .python("connect_timeout"),
    opt("topic.prefix", Text, None)
        .doc("first part of topic names and source.name (required in a properties file)")
        .field("topic_prefix")
        .python("topic_prefix")
        .cli("--topic-prefix"),
    opt("slot.name", Text, Some("debezium"))
        .doc("replication slot")
        .field("slot_name")
        .python("slot_name")
        .cli("--slot"),
    opt("slot.create", Bool, Some("true"))
        .doc("create the slot when missing")
        .field("create_slot")
        .python("create_slot")
        .cli("--create-slot"),
    opt("slot.failover", Bool, Some("false"))
        .doc("create the slot as a failover slot (PostgreSQL 17+)")
        .field("slot_failover")
        .python("slot_failover")
        .cli("--slot-failover"),
    opt("slot.drop.on.stop", Bool, Some("false"))
        .doc("drop the slot when the stream stops gracefully")
        .field("slot_drop_on_stop"),
    opt("start.lsn", Lsn, None)
        .doc("start from this position instead of the slot's")
        .field("start_lsn")
        .python("start_lsn"),
    opt("publication.name", Text, Some("dbz_publication"))
        .doc("publication")
        .field("publication_name")
        .python("publication_name")
        .cli("--publication"),
    opt("publication.autocreate.mode", Choice, Some("all_tables"))
        .allowed(&["all_tables", "filtered", "no_tables", "disabled"])
        .doc("what to do when the publication does not exist")
        .field("publication_autocreate")
        .python("create_publication")
        .cli("--create-publication"),
    opt("table.include.list", List, None)
        .doc("regular expressions over schema.table to capture (default: all)")
        .field("tables")
        .python("tables"),
    opt("table.exclude.list", List, None)
        .doc("regular expressions over schema.table to leave out")
        .field("tables"),
    opt("schema.include.list", List, None)
        .doc("regular expressions over schema names to capture")
        .field("tables"),
    opt("schema.exclude.list", List, None)
        .doc("regular expressions over schema names to leave out")
        .field("tables"),
    opt("column.include.list", List, None)
        .doc("regular expressions over schema.table.column to keep")
        .field("columns"),
    opt("column.exclude.list", List, None)
        .doc("regular expressions over schema.table.column to drop")
        .field("columns"),
    opt("message.key.columns", Text, None)
        .doc("record key override per table: schema.table:col1,col2;...")
        .field("message_key_columns"),
    opt("message.prefix.include.list", List, None)
        .doc("logical decoding message prefixes to emit")
        .field("message_prefixes"),
    opt("message.prefix.exclude.list", List, None)
        .doc("logical decoding message prefixes to drop")
        .field("message_prefixes"),
    opt("skipped.operations", List, Some("t"))
        .allowed(&["c", "u", "d", "t", "none"])
        .doc("operations not emitted")
        .field("skipped_operations")
        .python("skipped_operations"),
    opt("tombstones.on.delete", Bool, Some("true"))
        .doc("a tombstone after each delete")
        .field("tombstones_on_delete")
        .python("tombstones_on_delete"),
    opt("provide.transaction.metadata", Bool, Some("false"))
        .doc("BEGIN/END events and a transaction block in each event")
        .field("provide_transaction_metadata")
        .python("provide_transaction_metadata"),
    opt("key.converter.schemas.enable", Bool, Some("false"))
        .doc("record keys with their Kafka Connect schema")
        .field("key_schemas_enable")
        .cli("--schemas"),
    opt("value.converter.schemas.enable", Bool, Some("false"))
        .doc("record values with their Kafka Connect schema")
        .field("value_schemas_enable")
        .cli("--schemas"),
    opt(
        DecimalHandlingMode::PROPERTY,
        Choice,
        Some(DecimalHandlingMode::DEFAULT.as_str()),
    )
    .allowed(DecimalHandlingMode::SPELLINGS)
    .doc("numeric and money values")
    .field("convert.decimal_handling_mode")
    .python("decimal_handling_mode"),
    opt(
        TimePrecisionMode::PROPERTY,
        Choice,
        Some(TimePrecisionMode::DEFAULT.as_str()),
    )
    .allowed(TimePrecisionMode::SPELLINGS)
    .doc("date, time and timestamp values")
    .field("convert.time_precision_mode")
    .python("time_precision_mode"),
    opt(
        BinaryHandlingMode::PROPERTY,
        Choice,
        Some(BinaryHandlingMode::DEFAULT.as_str()),
    )
    .allowed(BinaryHandlingMode::SPELLINGS)
    .doc("bytea values")
    .field("convert.binary_handling_mode")
    .python("binary_handling_mode"),
    opt(
        IntervalHandlingMode::PROPERTY,
        Choice,
        Some(IntervalHandlingMode::DEFAULT.as_str()),
    )
    .allowed(IntervalHandlingMode::SPELLINGS)
    .doc("interval values")
    .field("convert.interval_handling_mode")
    .python("interval_handling_mode"),
    opt(
        HstoreHandlingMode::PROPERTY,
        Choice,
        Some(HstoreHandlingMode::DEFAULT.as_str()),
    )
    .allowed(HstoreHandlingMode::SPELLINGS)
    .doc("hstore values")
    .field("convert.hstore_handling_mode")
    .python("hstore_handling_mode"),
    opt(
        MultidimensionalArrayMode::PROPERTY,
        Choice,
        Some(MultidimensionalArrayMode::DEFAULT.as_str()),
    )
    .allowed(MultidimensionalArrayMode::SPELLINGS)
    .doc("arrays of more than one dimension (ours)")
    .field("convert.multidimensional_array_mode")
    .python("multidimensional_array_mode"),
    opt("money.fraction.digits", Integer, Some("2"))
        .doc("scale of money values")
        .field("convert.money_fraction_digits")
        .python("money_fraction_digits"),
    opt(
        "unavailable.value.placeholder",
        Text,
        Some(crate::types::DEFAULT_UNAVAILABLE_VALUE_PLACEHOLDER),
    )
    .doc("value of unchanged TOASTed columns")
    .field("convert.unavailable_value_placeholder")
    .python("unavailable_value_placeholder"),
    opt("status.update.interval.ms", Millis, Some("10000"))
        .doc("how often the server hears our position")
        .field("status_interval")
        .python("status_interval"),
    opt("max.queue.size", Integer, Some("8192"))
        .doc("events buffered between the connection and the consumer")
        .field("max_queue_size")
        .python("max_queue_size"),
    opt("max.batch.size", Integer, Some("2048"))
        .doc("most events per batch")
        .field("max_batch_size")
        .python("max_batch_size"),
    opt("max.queue.size.in.bytes", Bytes, Some("16777216"))
        .doc("bound on the queue by the events' approximate size; 0 = count only")
        .field("max_queue_bytes"),
    opt("batch.linger.ms", Millis, Some("10"))
        .doc("under load, wait this long to fill a batch; 0 = off (ours)")
        .field("batch_linger")
        .python("batch_linger")
        .cli("--batch-linger"),
    opt("errors.max.retries", Integer, Some("-1"))
        .doc("reconnect attempts after a lost connection: -1 forever, 0 never")
        .field("reconnect.max_attempts")
        .python("reconnect_max_attempts"),
    opt("retriable.restart.connector.wait.ms", Millis, Some("500"))
        .doc("first reconnect delay, doubling per attempt")
        .field("reconnect.initial_delay")
        .python("reconnect_initial_delay"),
    opt("reconnect.max.delay.ms", Millis, Some("30000"))
        .doc("longest delay between reconnect attempts")
        .field("reconnect.max_delay")
        .python("reconnect_max_delay"),
    opt("receive.timeout.ms", Millis, Some("-1"))
        .doc("silence from the server for this long means a dead connection; -1 = twice wal_sender_timeout, 0 = off")
        .field("receive_timeout")
        .python("receive_timeout")
        .cli("--receive-timeout"),
    opt("heartbeat.interval.ms", Millis, Some("0"))
        .doc("how often to emit a heartbeat record (and run heartbeat.action.query); 0 = off")
        .field("heartbeat_interval"),
    opt("topic.heartbeat.prefix", Text, Some("__debezium-heartbeat"))
        .doc("heartbeat records go to <topic.heartbeat.prefix>.<topic.prefix>")
        .field("heartbeat_topic"),
    opt("topic.heartbeat.name", Text, None)
        .doc("the heartbeat topic's full name, instead of the prefix rule")
        .field("heartbeat_topic"),
    opt("heartbeat.action.query", Text, None)
        .doc("SQL run in the captured database on each heartbeat")
        .field("heartbeat_action_query"),
    opt("streaming.enabled", Bool, Some("true"))
        .doc("stream large transactions before they commit (PostgreSQL 14+)")
        .field("streaming"),
    opt("streaming.buffer.bytes", Bytes, Some("16777216"))
        .doc("memory for streamed transactions awaiting their commit")
        .field("stream_buffer_bytes"),
    opt("two.phase.enabled", Bool, Some("false"))
        .doc("decode prepared transactions at PREPARE TRANSACTION (PostgreSQL 15+)")
        .field("two_phase")
        .python("two_phase")
        .cli("--two-phase"),
    opt("snapshot.mode", Choice, Some("initial"))
        .allowed(&["initial", "initial_only", "no_data", "never", "always", "when_needed"])
        .doc("read the existing rows first: initial (new slot), initial_only, always, when_needed; no_data (never) streams only (the Rust and Python default)")
        .field("snapshot_mode")
        .python("snapshot_mode")
        .cli("--snapshot-mode"),
    opt("snapshot.include.collection.list", List, None)
        .doc("regular expressions over schema.table: the published tables a snapshot reads (default all)")
        .field("snapshot_include"),
    opt("snapshot.select.statement.overrides", List, None)
        .doc("tables read with their own SELECT, given in snapshot.select.statement.overrides.<schema.table>")
        .field("snapshot_select_overrides"),
    opt("snapshot.fetch.size", Integer, Some("10240"))
        .doc("most snapshot rows per batch handed out")
        .field("snapshot_fetch_size"),
    opt("offset.storage.file.filename", Text, None)
        .doc("where a snapshot's progress is kept (default under $XDG_STATE_HOME/pgoutput-decoder)")
        .field("offset_file")
        .python("offset_file"),
    opt("snapshot.max.threads", Integer, Some("1"))
        .doc("connections reading an initial snapshot in parallel, under the same snapshot")
        .field("snapshot_max_threads")
        .cli("--snapshot-max-threads"),
    opt("signal.data.collection", Text, None)
        .doc("the signal table (schema.table, in the publication) whose rows ask for incremental snapshots")
        .field("signal_table"),
    opt("signal.enabled.channels", List, Some("source"))
        .doc("signal channels: source (the signal table) only")
        .field(""),
    opt("incremental.snapshot.chunk.size", Integer, Some("1024"))
        .doc("rows per chunk of an incremental snapshot")
        .field("incremental_chunk_size"),
    opt("plugin.name", Choice, Some("pgoutput"))
        .allowed(&["pgoutput"])
        .doc("the logical decoding plugin: must be pgoutput")
        .field(""),
];

const fn keys<const N: usize>(options: &[OptionSpec; N]) -> [&'static str; N] {
    let mut out = [""; N];
    let mut i = 0;
    while i < N {
        out[i] = options[i].key;
        i += 1;
    }
    out
}

const SUPPORTED: [&str; TABLE.len()] = keys(&TABLE);

/// The keys of [`OPTIONS`].
pub const SUPPORTED_KEYS: &[&str] = &SUPPORTED;

/// The Kafka sink's own settings (`pgoutput-decoder stream --sink kafka`,
/// `pipeline::KafkaSink`), by Kafka Connect's names where it has them. With
/// [`KAFKA_PASS_THROUGH`] they are the keys of [`KeyClass::KafkaSink`]; the field is one of
/// [`super::kafka::KafkaSinkConfig`].
pub static KAFKA_OPTIONS: [OptionSpec; 6] = [
    opt("bootstrap.servers", List, None)
        .doc("the Kafka brokers to reach first, host:port,... (required)")
        .field("bootstrap_servers")
        .python("bootstrap_servers")
        .cli("--bootstrap-servers"),
    opt("topic.creation.enable", Bool, Some("true"))
        .doc("create missing topics (the broker may not)")
        .field("topic_creation"),
    opt("topic.creation.default.partitions", Integer, Some("-1"))
        .doc("partitions of a topic created here; -1 = the broker's default")
        .field("topic_partitions")
        .python("topic_partitions"),
    opt(
        "topic.creation.default.replication.factor",
        Integer,
        Some("-1"),
    )
    .doc("replication factor of a topic created here; -1 = the broker's default")
    .field("topic_replication_factor")
    .python("topic_replication_factor"),
    opt("kafka.connect.timeout.ms", Millis, Some("30000"))
        .doc("at start, how long to keep trying to reach the brokers (ours)")
        .field("connect_timeout"),
    opt("exactly.once.support", Choice, Some("requested"))
        .allowed(&["requested"])
        .doc("at least once, as Debezium; required (Kafka transactions) is not supported")
        .field(""),
];

/// Prefixes of Kafka client settings handed to the producer (librdkafka) with the prefix
/// removed: Kafka Connect's worker (`producer.acks`) and per-connector
/// (`producer.override.acks`) names, and `kafka.` for librdkafka's own names
/// (`kafka.statistics.interval.ms`). Longer prefixes first.
pub const KAFKA_PASS_THROUGH: &[&str] = &["producer.override.", "producer.", "kafka."];

/// Whether a key configures the Kafka sink ([`KAFKA_OPTIONS`] or under a
/// [`KAFKA_PASS_THROUGH`] prefix).
pub fn is_kafka_sink_key(key: &str) -> bool {
    KAFKA_OPTIONS.iter().any(|o| o.key == key)
        || KAFKA_PASS_THROUGH
            .iter()
            .any(|p| key.len() > p.len() && key.starts_with(p))
}

/// Debezium Server's `application.properties` names and the names they have here. An entry
/// ending in `.` renames every key below it (the rest of the key is kept): the connector's
/// properties come under `debezium.source.`, the producer's under
/// `debezium.sink.kafka.producer.`. Any other `debezium.*` key is refused, except
/// [`DEBEZIUM_SERVER_IGNORED`].
pub const DEBEZIUM_SERVER_NAMES: &[(&str, &str)] = &[
    ("debezium.source.", ""),
    ("debezium.sink.kafka.producer.", "producer."),
    // Debezium Server waits this long for a batch's acknowledgements (0: forever); here the
    // producer's delivery timeout does the same per record.
    (
        "debezium.sink.kafka.wait.message.delivery.timeout.ms",
        "producer.delivery.timeout.ms",
    ),
    // The formats' converter settings (`debezium.format.value.schemas.enable`); a generic
    // `debezium.format.schemas.enable` applies to all three unless a specific one is given.
    ("debezium.format.key.", "key.converter."),
    ("debezium.format.value.", "value.converter."),
    ("debezium.format.header.", "header.converter."),
    ("debezium.transforms", "transforms"),
    ("debezium.transforms.", "transforms."),
    ("debezium.predicates", "predicates"),
    ("debezium.predicates.", "predicates."),
];

/// Debezium Server keys that need nothing here: `debezium.sink.type` (checked: only `kafka`),
/// the formats (checked: only `json`), Quarkus' own settings and the logging. An entry ending
/// in `.` matches the keys below it.
pub const DEBEZIUM_SERVER_IGNORED: &[&str] = &[
    "debezium.sink.type",
    "debezium.format.key",
    "debezium.format.value",
    "debezium.format.header",
    "quarkus.",
];

/// Keys of Kafka Connect, the embedded engine or converters: meaningless here, ignored with a
/// note. An entry matches the key itself and the keys below it (`key.converter` matches
/// `key.converter.schemas.registry.url`; an entry ending in `.` matches only below it).
pub const IGNORED: &[&str] = &[
    "name",
    "connector.class",
    "tasks.max",
    "key.converter",
    "value.converter",
    "header.converter",
    "offset.",
    "errors.",
    "config.action.reload",
    "poll.interval.ms",
    "database.tcpKeepAlive",
    "snapshot.delay.ms",
    "streaming.delay.ms",
    "slot.max.retries",
    "slot.retry.delay.ms",
    "schema.refresh.mode",
    "query.fetch.size",
    "extended.headers.enabled",
    "notification.enabled.channels",
    "custom.metric.tags",
];

/// Debezium keys that would change the output and are not implemented yet: errors. An entry
/// ending in `.` matches the keys below it; any other matches the key itself.
pub const UNSUPPORTED: &[&str] = &[
    "column.mask.",
    "column.truncate.",
    "column.propagate.source.type",
    "datatype.propagate.source.type",
    "topic.delimiter",
    "topic.transaction",
    "topic.naming.strategy",
    "publish.via.partition.root",
    "slot.stream.params",
    "signal.kafka.",
    "signal.file",
    "incremental.snapshot.allow.schema.changes",
    "snapshot.isolation.mode",
    "snapshot.locking.mode",
    "xmin.fetch.interval.ms",
    "include.unknown.datatypes",
    "converters",
    "replica.identity.autoset.values",
    "skip.messages.without.change",
    "lsn.flush.mode",
    "offset.mismatch.strategy",
    "schema.name.adjustment.mode",
    "field.name.adjustment.mode",
    "event.processing.failure.handling.mode",
    "database.sslcert",
    "database.sslkey",
    "database.sslpassword",
    "database.sslfactory",
    "database.initial.statements",
    "post.processors",
];

/// Keys Debezium 2.0 renamed: the old name and the new one. Refused with a pointer to the new
/// name.
pub const RENAMED: &[(&str, &str)] = &[("database.server.name", "topic.prefix")];

/// What the properties loader does with a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyClass {
    /// A key of [`OPTIONS`]: applied.
    Supported(&'static OptionSpec),
    /// `transforms*`/`predicates*`: handed to [`crate::transforms`].
    Transform,
    /// A key Debezium renamed: refused with the new name.
    Renamed(&'static str),
    /// A Debezium key not implemented yet ([`UNSUPPORTED`]): refused.
    Unsupported,
    /// A setting of the Kafka sink ([`is_kafka_sink_key`]): read by the sink, not by the
    /// connector's loader (which notes it as unused).
    KafkaSink,
    /// A Kafka Connect or engine key ([`IGNORED`]): ignored with a note.
    Ignored,
    /// Anything else: refused with a "did you mean" hint.
    Unknown,
}

impl PartialEq for OptionSpec {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl Eq for OptionSpec {}

/// The description of a supported key.
pub fn spec(key: &str) -> Option<&'static OptionSpec> {
    OPTIONS.iter().find(|o| o.key == key)
}

fn unsupported(key: &str) -> bool {
    UNSUPPORTED
        .iter()
        .any(|p| key == *p || (p.ends_with('.') && key.starts_with(p)))
}

fn ignored(key: &str) -> bool {
    IGNORED.iter().any(|p| {
        key == *p
            || key.strip_prefix(p).is_some_and(|r| r.starts_with('.'))
            || (p.ends_with('.') && key.starts_with(p))
    })
}

/// Sorts a key into its class, in this order: supported, transform, renamed, unsupported,
/// Kafka sink, ignored, unknown.
pub fn classify(key: &str) -> KeyClass {
    if let Some(spec) = spec(key) {
        KeyClass::Supported(spec)
    } else if transforms::is_transform_key(key) {
        KeyClass::Transform
    } else if let Some((_, new)) = RENAMED.iter().find(|(old, _)| *old == key) {
        KeyClass::Renamed(new)
    } else if unsupported(key) {
        KeyClass::Unsupported
    } else if is_kafka_sink_key(key) {
        KeyClass::KafkaSink
    } else if ignored(key) {
        KeyClass::Ignored
    } else {
        KeyClass::Unknown
    }
}

/// Rewrites the property names in an error message to the Python keywords that set them
/// (`slot.name` → `slot_name`), for the errors of [`super::ReplicationConfig::validate`].
pub fn with_python_keywords(message: &str) -> String {
    let mut named: Vec<(&str, &str)> = OPTIONS
        .iter()
        .filter_map(|o| o.python.map(|k| (o.key, k)))
        .collect();
    // Longer keys first, so that a key is not rewritten inside a longer one.
    named.sort_by_key(|(key, _)| std::cmp::Reverse(key.len()));
    let mut out = message.to_owned();
    for (key, keyword) in named {
        out = out.replace(key, keyword);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A supported key may sit inside an ignored family (`key.converter.schemas.enable` under
    /// `key.converter`, `errors.max.retries` under `errors.`: the supported key wins), but no
    /// list may name it.
    #[test]
    fn no_supported_key_is_also_listed_as_ignored_unsupported_renamed_or_a_transform_key() {
        for o in &OPTIONS {
            assert!(
                !IGNORED.contains(&o.key),
                "{} is supported and listed as ignored",
                o.key
            );
            assert!(
                !unsupported(o.key),
                "{} is supported and listed as unsupported",
                o.key
            );
            assert!(
                !RENAMED.iter().any(|(old, _)| *old == o.key),
                "{} is supported and listed as renamed",
                o.key
            );
            assert!(
                !transforms::is_transform_key(o.key),
                "{} is supported and a transforms key",
                o.key
            );
        }
        // Likewise an unsupported key inside an ignored family (`offset.mismatch.strategy`
        // under `offset.`) is refused; only naming a key in both lists is a contradiction.
        for key in UNSUPPORTED {
            assert!(
                !IGNORED.contains(key),
                "{key} is listed as unsupported and ignored"
            );
        }
    }

    #[test]
    fn keys_are_unique_and_documented() {
        let mut seen = std::collections::BTreeSet::new();
        for o in &OPTIONS {
            assert!(seen.insert(o.key), "{} is listed twice", o.key);
            assert!(!o.doc.is_empty(), "{} has no documentation line", o.key);
            assert_eq!(
                o.kind == Kind::Choice,
                !o.allowed.is_empty() && o.key != "skipped.operations",
                "{}: a choice lists its allowed values, and only a choice does",
                o.key
            );
            if let (Some(default), Kind::Choice) = (o.default, o.kind) {
                assert!(
                    o.allowed.contains(&default),
                    "{}: default not allowed",
                    o.key
                );
            }
        }
        assert_eq!(SUPPORTED_KEYS.len(), OPTIONS.len());
    }

    #[test]
    fn every_key_is_in_the_readme_configuration_table() {
        let readme = include_str!("../../../../README.md");
        let start = readme
            .find("\n## Configuration\n")
            .expect("README has a Configuration section");
        let section = &readme[start..];
        let section = &section[..section[1..].find("\n## ").map_or(section.len(), |e| e + 1)];
        let table: Vec<&str> = section.lines().filter(|l| l.starts_with("| `")).collect();
        for o in &OPTIONS {
            let named = format!("`{}`", o.key);
            assert!(
                table
                    .iter()
                    .any(|row| row.split('|').nth(1).is_some_and(|c| c.contains(&named))),
                "{} is missing from the README's configuration table",
                o.key
            );
        }
    }

    #[test]
    fn every_kafka_key_is_in_the_readme_kafka_table() {
        let readme = include_str!("../../../../README.md");
        let start = readme
            .find("\n## Scaling out with Kafka\n")
            .expect("README has a Kafka section");
        let section = &readme[start..];
        let section = &section[..section[1..].find("\n## ").map_or(section.len(), |e| e + 1)];
        let first_cells: Vec<&str> = section
            .lines()
            .filter(|l| l.starts_with("| `"))
            .filter_map(|row| row.split('|').nth(1))
            .collect();
        for key in KAFKA_OPTIONS
            .iter()
            .map(|o| o.key)
            .chain(KAFKA_PASS_THROUGH.iter().copied())
        {
            let named = format!("`{}", key);
            assert!(
                first_cells.iter().any(|c| c.contains(&named)),
                "{key} is missing from the README's Kafka table"
            );
        }
    }

    #[test]
    fn kafka_sink_keys_are_their_own_class() {
        for key in [
            "bootstrap.servers",
            "topic.creation.default.partitions",
            "producer.acks",
            "producer.override.linger.ms",
            "kafka.statistics.interval.ms",
        ] {
            assert_eq!(classify(key), KeyClass::KafkaSink, "{key}");
        }
        assert_eq!(classify("producer."), KeyClass::Unknown);
    }

    #[test]
    fn classification() {
        assert!(matches!(classify("slot.name"), KeyClass::Supported(s) if s.key == "slot.name"));
        assert_eq!(
            classify("plugin.name"),
            KeyClass::Supported(spec("plugin.name").unwrap())
        );
        assert_eq!(classify("transforms.unwrap.type"), KeyClass::Transform);
        assert_eq!(
            classify("database.server.name"),
            KeyClass::Renamed("topic.prefix")
        );
        assert_eq!(classify("column.mask.with.5.chars"), KeyClass::Unsupported);
        assert_eq!(classify("key.converter"), KeyClass::Ignored);
        assert_eq!(
            classify("key.converter.schemas.enable"),
            KeyClass::Supported(spec("key.converter.schemas.enable").unwrap())
        );
        assert_eq!(classify("errors.tolerance"), KeyClass::Ignored);
        assert_eq!(
            classify("errors.max.retries"),
            KeyClass::Supported(spec("errors.max.retries").unwrap())
        );
        assert_eq!(classify("slot.nme"), KeyClass::Unknown);
    }

    #[test]
    fn python_keywords_replace_property_names() {
        assert_eq!(
            with_python_keywords("max.queue.size (1) must be at least max.batch.size (2)"),
            "max_queue_size (1) must be at least max_batch_size (2)"
        );
        assert_eq!(
            with_python_keywords("status.update.interval.ms must be positive"),
            "status_interval must be positive"
        );
    }
}
