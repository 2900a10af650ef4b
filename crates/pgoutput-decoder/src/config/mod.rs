//! What a replication stream needs to know: where to connect, which slot and publication to
//! read, and how to shape the Debezium events.
//!
//! [`ReplicationConfig`] is the Rust-facing form. Debezium's connector property names map onto it
//! in [`crate::properties`], so a Debezium user can reuse an existing `connector.properties`.
//! Every key, its default, allowed values and documentation line is described once, in
//! [`keys::OPTIONS`]; the properties loader, the Python keywords and the command-line flags
//! follow that table.

pub mod kafka;
pub mod keys;

use std::{collections::BTreeSet, time::Duration};

use pgoutput::Lsn;
use regex::Regex;

use crate::{conn::ConnectParams, types::ConvertOptions, Error, Result};

/// Debezium's `publication.autocreate.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PublicationAutocreate {
    /// `CREATE PUBLICATION ... FOR ALL TABLES` when missing (Debezium's default).
    #[default]
    AllTables,
    /// `CREATE PUBLICATION ... FOR TABLE <tables matching table.include.list>` when missing.
    Filtered,
    /// `CREATE PUBLICATION ...` with no tables (logical messages only).
    NoTables,
    /// The publication must exist.
    Disabled,
}

impl std::str::FromStr for PublicationAutocreate {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "all_tables" => Ok(Self::AllTables),
            "filtered" => Ok(Self::Filtered),
            "no_tables" => Ok(Self::NoTables),
            "disabled" => Ok(Self::Disabled),
            other => Err(Error::config(format!(
                "publication.autocreate.mode: unknown value {other:?}; \
                 allowed: all_tables, filtered, no_tables, disabled"
            ))),
        }
    }
}

/// A change operation as Debezium names it in `skipped.operations`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operation {
    /// `c`: insert.
    Create,
    /// `u`: update.
    Update,
    /// `d`: delete.
    Delete,
    /// `t`: truncate.
    Truncate,
}

/// Parses Debezium's `skipped.operations` (`c,u,d,t` or `none`).
pub fn parse_skipped_operations(s: &str) -> Result<BTreeSet<Operation>> {
    let mut out = BTreeSet::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part {
            "none" => {}
            "c" => {
                out.insert(Operation::Create);
            }
            "u" => {
                out.insert(Operation::Update);
            }
            "d" => {
                out.insert(Operation::Delete);
            }
            "t" => {
                out.insert(Operation::Truncate);
            }
            other => {
                return Err(Error::config(format!(
                    "skipped.operations: unknown operation {other:?}; \
                     allowed: a comma-separated list of c, u, d, t, or none"
                )))
            }
        }
    }
    Ok(out)
}

/// Debezium-style include/exclude lists of anchored regular expressions.
#[derive(Debug, Clone, Default)]
pub struct NameFilter {
    include: Vec<Regex>,
    exclude: Vec<Regex>,
}

impl NameFilter {
    /// Builds a filter; include and exclude lists are mutually exclusive, as in Debezium.
    pub fn new(include: &[String], exclude: &[String], what: &str) -> Result<Self> {
        if !include.is_empty() && !exclude.is_empty() {
            return Err(Error::config(format!(
                "{what}.include.list and {what}.exclude.list cannot both be set; use one of them"
            )));
        }
        let compile = |list: &[String]| -> Result<Vec<Regex>> {
            list.iter()
                .map(|p| {
                    // Debezium matches the whole name, so anchor every pattern.
                    Regex::new(&format!("^(?:{})$", p.trim())).map_err(|e| {
                        Error::config(format!("{what} list: invalid regular expression {p:?}"))
                            .with_source(e)
                    })
                })
                .collect()
        };
        Ok(NameFilter {
            include: compile(include)?,
            exclude: compile(exclude)?,
        })
    }

    /// Whether `name` passes the filter.
    pub fn matches(&self, name: &str) -> bool {
        if !self.include.is_empty() {
            return self.include.iter().any(|r| r.is_match(name));
        }
        !self.exclude.iter().any(|r| r.is_match(name))
    }

    /// Whether the filter lets everything through.
    pub fn is_empty(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }

    /// The include patterns as given (used to build a `filtered` publication).
    pub fn include_patterns(&self) -> impl Iterator<Item = &str> {
        self.include.iter().map(|r| {
            let s = r.as_str();
            &s[4..s.len() - 2]
        })
    }
}

/// Parses Debezium's `message.key.columns`: `schema.table:col1,col2;other\\.t.*:id`.
pub fn parse_message_key_columns(s: &str) -> Result<Vec<(Regex, Vec<String>)>> {
    let mut out = Vec::new();
    for entry in s.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let (table, cols) = entry.rsplit_once(':').ok_or_else(|| {
            Error::config(format!(
                "message.key.columns: {entry:?} is not <schema.table>:<column>[,<column>...]"
            ))
        })?;
        let re = Regex::new(&format!("^(?:{})$", table.trim())).map_err(|e| {
            Error::config(format!(
                "message.key.columns: invalid table pattern {table:?}"
            ))
            .with_source(e)
        })?;
        let cols: Vec<String> = cols
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect();
        if cols.is_empty() {
            return Err(Error::config(format!(
                "message.key.columns: no columns for {table:?}"
            )));
        }
        out.push((re, cols));
    }
    Ok(out)
}

/// Whether the rows that already exist are read before streaming (`snapshot.mode`).
///
/// Debezium's values; `never` is read as `no_data` (its old name). `configuration_based` and
/// `custom` are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SnapshotMode {
    /// Read the tables when the slot is new (or an earlier snapshot did not finish), then
    /// stream. Debezium's default, and the default of properties files and the CLI.
    Initial,
    /// Like `initial`, then stop instead of streaming.
    InitialOnly,
    /// Stream changes only, from the slot's confirmed position. The default of the Rust and
    /// Python APIs.
    #[default]
    NoData,
    /// Read the tables at every start, then stream.
    Always,
    /// Read the tables when the slot had to be created (or an earlier snapshot did not
    /// finish): the same as `initial` here, since the slot is where the position lives.
    WhenNeeded,
}

impl SnapshotMode {
    /// Every mode, in Debezium's spelling.
    pub const ALL: &'static [SnapshotMode] = &[
        SnapshotMode::Initial,
        SnapshotMode::InitialOnly,
        SnapshotMode::NoData,
        SnapshotMode::Always,
        SnapshotMode::WhenNeeded,
    ];

    /// Debezium's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SnapshotMode::Initial => "initial",
            SnapshotMode::InitialOnly => "initial_only",
            SnapshotMode::NoData => "no_data",
            SnapshotMode::Always => "always",
            SnapshotMode::WhenNeeded => "when_needed",
        }
    }

    /// Whether this mode reads tables at all.
    pub fn reads_tables(self) -> bool {
        self != SnapshotMode::NoData
    }
}

impl std::fmt::Display for SnapshotMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for SnapshotMode {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let wanted = s.trim().to_ascii_lowercase();
        if wanted == "never" {
            return Ok(SnapshotMode::NoData);
        }
        if let Some(mode) = Self::ALL.iter().find(|m| m.as_str() == wanted) {
            return Ok(*mode);
        }
        let hint = match wanted.as_str() {
            "configuration_based" | "custom" => {
                " (snapshot.mode=configuration_based and custom, with their snapshotter \
                 classes, are not supported)"
            }
            _ => "",
        };
        Err(Error::config(format!(
            "invalid value {s:?} for snapshot.mode{hint}; allowed values are: initial, \
             initial_only, no_data (or never), always, when_needed"
        )))
    }
}

/// How the stream reconnects after losing its connection (server restart, network cut,
/// `wal_sender_timeout`): exponential backoff with jitter, resuming after the last
/// acknowledged transaction without delivering again what was already handed out.
/// Authentication errors and a missing slot or publication are not retried.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReconnectPolicy {
    /// Reconnect at all (default true).
    pub enabled: bool,
    /// Delay before the first attempt (default 0.5 s).
    pub initial_delay: Duration,
    /// Longest delay between attempts (default 30 s).
    pub max_delay: Duration,
    /// Attempts before giving up; `None` retries forever (the default, like Debezium's
    /// `errors.max.retries=-1`).
    pub max_attempts: Option<u32>,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            enabled: true,
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_attempts: None,
        }
    }
}

impl ReconnectPolicy {
    /// The delay before attempt `attempt` (0-based): doubling from `initial_delay`, capped at
    /// `max_delay`, with up to 25% random jitter so that many consumers do not reconnect in
    /// lockstep.
    pub fn delay(&self, attempt: u32) -> Duration {
        let base = self
            .initial_delay
            .saturating_mul(1u32 << attempt.min(20))
            .min(self.max_delay);
        let jitter = base.mul_f64(rand::random::<f64>() * 0.25);
        base.saturating_sub(jitter)
    }

    /// Whether another attempt is allowed after `attempts` failed ones.
    pub fn allows(&self, attempts: u32) -> bool {
        self.enabled && self.max_attempts.is_none_or(|max| attempts < max)
    }
}

/// Everything a [`crate::ChangeStream`] needs.
///
/// Build it with [`ReplicationConfig::new`] and set fields directly; the defaults are
/// Debezium's where Debezium has one.
#[derive(Debug, Clone)]
pub struct ReplicationConfig {
    /// How to reach the server (host, port, user, password, database, TLS).
    pub connection: ConnectParams,
    /// Replication slot name (`slot.name`, default `debezium`).
    pub slot_name: String,
    /// Create the slot when it does not exist. Debezium always does; the Python API defaults
    /// to `False` so that a typo in the slot name fails instead of silently starting anew.
    pub create_slot: bool,
    /// `slot.failover`: create the slot as a failover slot (PostgreSQL 17+, default false), so
    /// that a physical standby with `sync_replication_slots = on` keeps it in sync and the
    /// stream can go on from that standby once it is promoted. Applies only when the slot is
    /// created here.
    pub slot_failover: bool,
    /// `slot.drop.on.stop`: drop the replication slot when the stream is stopped gracefully
    /// (default false), as Debezium does: [`crate::ChangeStream::stop`] or a
    /// [`crate::StopHandle`]; in the CLI `SIGINT`/`SIGTERM`, `--exit-when-idle` and `--end-lsn`;
    /// in Python `stop()` and leaving the reader's `with` block. Not when the stream ends with
    /// an error, is dropped without being stopped, or the process dies. Dropping the slot
    /// loses its position: a new slot starts from the moment it is created, so changes made
    /// in between are never delivered. For tests and short-lived captures; leave it off for a
    /// consumer that must resume where it left off.
    pub slot_drop_on_stop: bool,
    /// Publication name (`publication.name`, default `dbz_publication`).
    pub publication_name: String,
    /// What to do when the publication does not exist (`publication.autocreate.mode`).
    pub publication_autocreate: PublicationAutocreate,
    /// Start position; `None` resumes from the slot's confirmed flush position.
    pub start_lsn: Option<Lsn>,
    /// `topic.prefix`: first part of topic names and `source.name`.
    pub topic_prefix: String,
    /// `table.include.list` / `table.exclude.list` over `schema.table`.
    pub tables: NameFilter,
    /// `column.include.list` / `column.exclude.list` over `schema.table.column`; key columns
    /// stay in the record key even when excluded from the value, as in Debezium.
    pub columns: NameFilter,
    /// `message.key.columns`: per table (regular expression over `schema.table`), the columns
    /// that make the record key instead of the primary key.
    pub message_key_columns: Vec<(Regex, Vec<String>)>,
    /// `message.prefix.include.list` / `message.prefix.exclude.list` over logical decoding
    /// message prefixes.
    pub message_prefixes: NameFilter,
    /// `skipped.operations` (default: `t`, truncates are not emitted).
    pub skipped_operations: BTreeSet<Operation>,
    /// `tombstones.on.delete` (default true): sinks write a null-valued record after deletes.
    pub tombstones_on_delete: bool,
    /// `key.converter.schemas.enable` (default false here; Kafka's `JsonConverter` defaults to
    /// true): record keys as `{"schema": ..., "payload": ...}` with their Kafka Connect schema.
    pub key_schemas_enable: bool,
    /// `value.converter.schemas.enable` (default false here): record values with their Kafka
    /// Connect schema.
    pub value_schemas_enable: bool,
    /// `provide.transaction.metadata` (default false): BEGIN/END events and `transaction` blocks.
    pub provide_transaction_metadata: bool,
    /// `snapshot.mode`: whether the rows that already exist are read first (see
    /// [`SnapshotMode`]; default `no_data` here, `initial` in properties files).
    pub snapshot_mode: SnapshotMode,
    /// `snapshot.include.collection.list`: regular expressions over `schema.table`; only the
    /// matching published tables are read by a snapshot (`None`: all of them).
    pub snapshot_include: Option<Vec<Regex>>,
    /// `snapshot.select.statement.overrides`: per table (`schema.table`), the `SELECT` that
    /// reads it in a snapshot instead of the whole table. It must return the table's
    /// published columns in table order.
    pub snapshot_select_overrides: Vec<(String, String)>,
    /// `snapshot.fetch.size`: most rows of a snapshot per batch handed out (default 10240;
    /// the batch is also bounded by `max_batch_size`).
    pub snapshot_fetch_size: usize,
    /// `offset.storage.file.filename`: where a snapshot's progress is kept, so that a snapshot
    /// cut short resumes without reading finished tables again. `None`: a file named after the
    /// database and slot under `$XDG_STATE_HOME/pgoutput-decoder` (or
    /// `~/.local/state/pgoutput-decoder`).
    pub offset_file: Option<std::path::PathBuf>,
    /// `snapshot.max.threads`: connections reading an initial snapshot in parallel, all under
    /// the same snapshot (default 1). Tables are shared out, and with PostgreSQL 14+ large
    /// tables are split into block ranges.
    pub snapshot_max_threads: usize,
    /// `signal.data.collection`: the signal table (`schema.table`) whose inserted rows ask for
    /// incremental snapshots (`execute-snapshot`, `stop-snapshot`, `pause-snapshot`,
    /// `resume-snapshot`), as in Debezium. It must be in the publication. `None`: no signal
    /// table (incremental snapshots can still be asked for through the APIs).
    pub signal_table: Option<String>,
    /// `incremental.snapshot.chunk.size`: rows per chunk of an incremental snapshot (1024).
    pub incremental_chunk_size: usize,
    /// Value conversion modes (decimal, time, binary, interval, hstore handling).
    pub convert: ConvertOptions,
    /// `status.update.interval.ms`: how often the server hears our position even when idle or
    /// when the consumer is slow. Keep it well inside the server's `wal_sender_timeout`.
    pub status_interval: Duration,
    /// `max.queue.size`: events buffered between the connection and the consumer.
    pub max_queue_size: usize,
    /// `max.batch.size`: most events handed out per batch.
    pub max_batch_size: usize,
    /// `max.queue.size.in.bytes`: bound on the queue by the events' approximate size (their
    /// values and column lists). Default 16 MiB, which only binds for wide rows: 8192 events of
    /// a hundred columns would otherwise hold some 60 MB. 0 bounds by count only (Debezium's
    /// default).
    pub max_queue_bytes: usize,
    /// `batch.linger.ms`: while changes arrive back to back (the previous batch went out less
    /// than a millisecond earlier), wait this long before handing over a batch that is not
    /// full, so that one read and one hand-over carry many changes instead of a few. A change
    /// after a quiet spell is handed over at once. While a large transaction arrives streamed
    /// before its commit (nothing is handed over until the commit), the reader pauses this
    /// long between reads instead. Costs at most this much latency under load and saves about
    /// two thirds of the client's CPU at full speed. Default 10 ms; zero turns it off. Not used
    /// over a Unix-domain socket, which buffers only a few hundred small messages: pausing
    /// there stalls the server (8.6 times the wall time, measured).
    pub batch_linger: Duration,
    /// Reconnection after a lost connection.
    pub reconnect: ReconnectPolicy,
    /// `receive.timeout.ms`: when nothing arrives from the server for this long, the
    /// connection is taken for dead and the stream reconnects. This catches connections that
    /// die without being closed (a crashed host, a network that drops packets, a firewall that
    /// forgot the connection), which TCP may take many minutes to notice. Half-way through,
    /// the stream asks the server for a keepalive, so an idle but healthy server always
    /// answers in time.
    ///
    /// `None` (the default): twice the server's `wal_sender_timeout` (read when connecting),
    /// or off when that is 0. A server that hears nothing from us for `wal_sender_timeout`
    /// drops the connection itself, so by then the old connection is gone on its side too.
    /// `Some(Duration::ZERO)` turns the check off.
    pub receive_timeout: Option<Duration>,
    /// Ask the server to stream large transactions before they commit (pgoutput protocol 2,
    /// PostgreSQL 14+), so they never spill to the server's disk. Default true.
    pub streaming: bool,
    /// Memory for streamed transactions awaiting their commit; past it they go to a temporary
    /// file. Default 16 MiB (the heap bytes of the held messages).
    pub stream_buffer_bytes: usize,
    /// Decode prepared transactions at `PREPARE TRANSACTION` time (`two_phase`, PostgreSQL
    /// 15+): the slot is created with two-phase enabled and replication starts with
    /// `two_phase 'on'`. A prepared transaction is not a committed one: its changes are held
    /// (in memory up to [`stream_buffer_bytes`](Self::stream_buffer_bytes), then in a temporary
    /// file) and emitted as an ordinary transaction at `COMMIT PREPARED`, or dropped at
    /// `ROLLBACK PREPARED`. While one is pending, the position confirmed to the server stays at
    /// or before its PREPARE so that a restart decodes it again. Default false.
    pub two_phase: bool,
    /// `heartbeat.interval.ms`: how often to run [`heartbeat_action_query`](Self::heartbeat_action_query)
    /// (off by default).
    pub heartbeat_interval: Option<Duration>,
    /// `heartbeat.action.query`: SQL run on each heartbeat in the captured database, e.g. an
    /// upsert into a heartbeat table, so that its slot advances even when nothing else there
    /// changes.
    pub heartbeat_action_query: Option<String>,
    /// The heartbeat records' topic (`topic.heartbeat.name`, or `topic.heartbeat.prefix` and
    /// `topic.prefix`); `None`: `__debezium-heartbeat.<topic.prefix>`.
    pub heartbeat_topic: Option<String>,
    /// `transforms=...` and `predicates=...`: single message transforms applied to every
    /// record the encoder writes (none by default).
    pub transforms: crate::transforms::Transforms,
}

impl ReplicationConfig {
    /// A configuration with Debezium's defaults for the given connection.
    pub fn new(connection: ConnectParams) -> Self {
        ReplicationConfig {
            connection,
            slot_name: "debezium".into(),
            create_slot: false,
            slot_failover: false,
            slot_drop_on_stop: false,
            publication_name: "dbz_publication".into(),
            publication_autocreate: PublicationAutocreate::AllTables,
            start_lsn: None,
            topic_prefix: "pgoutput".into(),
            tables: NameFilter::default(),
            columns: NameFilter::default(),
            message_key_columns: Vec::new(),
            message_prefixes: NameFilter::default(),
            skipped_operations: [Operation::Truncate].into_iter().collect(),
            tombstones_on_delete: true,
            key_schemas_enable: false,
            value_schemas_enable: false,
            provide_transaction_metadata: false,
            snapshot_mode: SnapshotMode::NoData,
            snapshot_include: None,
            snapshot_select_overrides: Vec::new(),
            snapshot_fetch_size: 10240,
            offset_file: None,
            snapshot_max_threads: 1,
            signal_table: None,
            incremental_chunk_size: 1024,
            convert: ConvertOptions::default(),
            status_interval: Duration::from_secs(10),
            max_queue_size: 8192,
            max_batch_size: 2048,
            max_queue_bytes: 16 << 20,
            batch_linger: Duration::from_millis(10),
            reconnect: ReconnectPolicy::default(),
            receive_timeout: None,
            streaming: true,
            stream_buffer_bytes: 16 << 20,
            two_phase: false,
            heartbeat_interval: None,
            heartbeat_action_query: None,
            heartbeat_topic: None,
            transforms: crate::transforms::Transforms::default(),
        }
    }

    /// Checks values that cannot be checked field by field.
    pub fn validate(&self) -> Result<()> {
        check_identifier("slot.name", &self.slot_name)?;
        if self
            .slot_name
            .bytes()
            .any(|b| !(b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'))
        {
            return Err(Error::config(format!(
                "slot.name {:?} is invalid: replication slot names may contain only lower-case \
                 letters, digits and underscores",
                self.slot_name
            )));
        }
        check_identifier("publication.name", &self.publication_name)?;
        if self.topic_prefix.is_empty() {
            return Err(Error::config("topic.prefix must not be empty"));
        }
        if self.max_batch_size == 0 || self.max_queue_size == 0 {
            return Err(Error::config(
                "max.batch.size and max.queue.size must be positive",
            ));
        }
        if self.max_queue_size < self.max_batch_size {
            return Err(Error::config(format!(
                "max.queue.size ({}) must be at least max.batch.size ({})",
                self.max_queue_size, self.max_batch_size
            )));
        }
        if self.heartbeat_action_query.is_some() && self.heartbeat_interval.is_none() {
            return Err(Error::config(
                "heartbeat.action.query needs heartbeat.interval.ms to say how often to run it",
            ));
        }
        if self.status_interval.is_zero() {
            return Err(Error::config("status.update.interval.ms must be positive"));
        }
        self.transforms
            .check_schemas(self.key_schemas_enable, self.value_schemas_enable)?;
        Ok(())
    }

    /// Whether events of this operation are emitted.
    pub fn emits(&self, op: Operation) -> bool {
        !self.skipped_operations.contains(&op)
    }
}

fn check_identifier(what: &str, name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 63 {
        return Err(Error::config(format!(
            "{what} {name:?} is invalid: it must be 1 to 63 bytes long"
        )));
    }
    if name.contains('\0') {
        return Err(Error::config(format!("{what} must not contain NUL bytes")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_is_anchored_like_debezium() {
        let f = NameFilter::new(&["public\\.orders".into()], &[], "table").unwrap();
        assert!(f.matches("public.orders"));
        assert!(!f.matches("public.orders_archive"));
        assert_eq!(
            f.include_patterns().collect::<Vec<_>>(),
            ["public\\.orders"]
        );
    }

    #[test]
    fn include_and_exclude_are_exclusive() {
        let e = NameFilter::new(&["a".into()], &["b".into()], "table").unwrap_err();
        assert!(e.to_string().contains("cannot both be set"), "{e}");
    }

    #[test]
    fn reconnect_backoff_grows_and_is_capped() {
        let p = ReconnectPolicy::default();
        assert!(p.delay(0) <= Duration::from_millis(500));
        assert!(p.delay(0) >= Duration::from_millis(375));
        assert!(p.delay(3) >= Duration::from_millis(3000));
        assert!(p.delay(30) <= Duration::from_secs(30));
        let limited = ReconnectPolicy {
            max_attempts: Some(2),
            ..p
        };
        assert!(limited.allows(1) && !limited.allows(2));
    }

    #[test]
    fn skipped_operations_parse() {
        assert!(parse_skipped_operations("none").unwrap().is_empty());
        assert_eq!(parse_skipped_operations("c, t").unwrap().len(), 2);
        assert!(parse_skipped_operations("x").is_err());
    }
}
