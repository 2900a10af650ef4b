//! The change events handed to consumers.
//!
//! Events keep the column values as pgoutput sent them (zero-copy `Bytes`); they are turned
//! into typed [`Value`]s or Debezium JSON only when asked, so a consumer that only writes JSON
//! never builds intermediate values.

use std::sync::Arc;

use bytes::Bytes;
use pgoutput::Lsn;

pub use crate::row::Row;
use crate::{
    relation::TableSchema,
    row::column_value,
    types::{ConvertOptions, Value},
    Result,
};

/// Debezium's operation codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `c`: a row was inserted.
    Create,
    /// `u`: a row was updated.
    Update,
    /// `d`: a row was deleted.
    Delete,
    /// `r`: a row was read by a snapshot.
    Read,
    /// `t`: a table was truncated.
    Truncate,
    /// `m`: a logical decoding message (`pg_logical_emit_message`).
    Message,
}

impl Op {
    /// The one-letter code Debezium writes in `op`.
    pub fn code(self) -> &'static str {
        match self {
            Op::Create => "c",
            Op::Update => "u",
            Op::Delete => "d",
            Op::Read => "r",
            Op::Truncate => "t",
            Op::Message => "m",
        }
    }
}

/// The `source` block of an event: where in the database's history it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// LSN of the change (Debezium `source.lsn`).
    pub lsn: Lsn,
    /// Transaction id (`source.txId`); `None` for non-transactional messages.
    pub tx_id: Option<u32>,
    /// Commit time of the transaction in microseconds since the Unix epoch (`source.ts_us`).
    pub commit_time_us: i64,
    /// LSN of the last commit seen before this event (first element of `source.sequence`).
    pub last_commit_lsn: Option<Lsn>,
    /// `source.snapshot`: `"false"` while streaming.
    pub snapshot: &'static str,
}

/// The `transaction` block of a data event (`provide.transaction.metadata=true`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionBlock {
    /// `"<txId>:<lsn>"`, Debezium's format.
    pub id: String,
    /// Position of the event in its transaction, from 1.
    pub total_order: u64,
    /// Position of the event among its table's events in the transaction, from 1.
    pub data_collection_order: u64,
}

/// An insert, update, delete, truncate or snapshot read of one table.
#[derive(Debug, Clone)]
pub struct ChangeEvent {
    /// What happened.
    pub op: Op,
    /// The table's schema at the time of the change.
    pub table: Arc<TableSchema>,
    /// The row before the change (deletes; updates under REPLICA IDENTITY FULL or a key change).
    pub before: Option<Row>,
    /// The row after the change (inserts, updates, reads).
    pub after: Option<Row>,
    /// Where it happened.
    pub source: Source,
    /// Transaction block, when transaction metadata is enabled.
    pub transaction: Option<TransactionBlock>,
    /// When this library processed the change, in microseconds since the Unix epoch.
    pub ts_us: i64,
    /// A primary-key change is emitted as a delete of the old key and a create of the new
    /// one, as Debezium does: on those two events, the other one's row (the new row on the
    /// delete, the old row on the create), whose key Debezium writes in the
    /// `__debezium.newkey` / `__debezium.oldkey` header. `None` on every other event.
    pub pk_update_other_row: Option<Row>,
}

impl ChangeEvent {
    /// The row the key is taken from: `after`, or `before` for deletes.
    pub fn key_row(&self) -> Option<&Row> {
        match self.op {
            Op::Delete => self.before.as_ref(),
            _ => self.after.as_ref().or(self.before.as_ref()),
        }
    }

    /// Typed values of a row image as `(column name, value)` pairs.
    pub fn row_values(&self, row: &Row, opts: &ConvertOptions) -> Result<Vec<(String, Value)>> {
        self.table.row_values(row, opts)
    }

    /// Typed values of the key columns, or `None` for tables without a primary key.
    pub fn key_values(&self, opts: &ConvertOptions) -> Result<Option<Vec<(String, Value)>>> {
        if self.table.key_columns.is_empty() || self.op == Op::Truncate {
            return Ok(None);
        }
        let Some(row) = self.key_row() else {
            return Ok(None);
        };
        let mut out = Vec::with_capacity(self.table.key_columns.len());
        for &i in &self.table.key_columns {
            let col = &self.table.columns[i];
            let value = match row.raw(i) {
                Some(c) => column_value(&col.ty, c, opts)?,
                None => Value::Null,
            };
            out.push((col.name.clone(), value));
        }
        Ok(Some(out))
    }
}

/// A logical decoding message (`pg_logical_emit_message`), Debezium op `m`.
#[derive(Debug, Clone)]
pub struct MessageEvent {
    /// The message prefix.
    pub prefix: String,
    /// The message content.
    pub content: Bytes,
    /// Whether it was emitted inside a transaction (delivered at commit) or not (at once).
    pub transactional: bool,
    /// Where it happened (`tx_id` is `None` for non-transactional messages).
    pub source: Source,
    /// Transaction block, when transaction metadata is enabled.
    pub transaction: Option<TransactionBlock>,
    /// Processing time, microseconds since the Unix epoch.
    pub ts_us: i64,
}

/// BEGIN or END of a transaction (`provide.transaction.metadata=true`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionEvent {
    /// `BEGIN` or `END`.
    pub status: TransactionStatus,
    /// `"<txId>:<lsn>"`.
    pub id: String,
    /// Transaction id.
    pub tx_id: u32,
    /// Number of data events (END only).
    pub event_count: Option<u64>,
    /// Events per table as `("schema.table", count)` (END only).
    pub data_collections: Vec<(String, u64)>,
    /// Commit time, microseconds since the Unix epoch.
    pub commit_time_us: i64,
}

/// Transaction boundary kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionStatus {
    /// The transaction began.
    Begin,
    /// The transaction committed.
    End,
}

/// Debezium's heartbeat (`heartbeat.interval.ms`): a record on the heartbeat topic saying the
/// stream is alive, also while the captured tables are idle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeartbeatEvent {
    /// When it was made, microseconds since the Unix epoch (written as `ts_ms`).
    pub ts_us: i64,
    /// The end of the last transaction handed out before it (zero if none yet).
    pub lsn: Lsn,
}

/// What an [`Event`] carries.
#[derive(Debug, Clone)]
pub enum EventKind {
    /// A row change or truncate.
    Change(ChangeEvent),
    /// A logical decoding message.
    Message(MessageEvent),
    /// A transaction boundary.
    Transaction(TransactionEvent),
    /// A heartbeat (only with `heartbeat.interval.ms`).
    Heartbeat(HeartbeatEvent),
}

/// One event of the stream, with the position that acknowledging it makes safe to confirm.
#[derive(Debug, Clone)]
pub struct Event {
    /// The event.
    pub kind: EventKind,
    /// Sequence number in this stream, increasing by one per event; acknowledgement is
    /// cumulative over it.
    pub seq: u64,
}

impl Event {
    /// The event's LSN (`source.lsn`; for transaction events, the BEGIN/commit position).
    pub fn lsn(&self) -> Lsn {
        match &self.kind {
            EventKind::Change(c) => c.source.lsn,
            EventKind::Message(m) => m.source.lsn,
            EventKind::Transaction(t) => {
                t.id.rsplit(':')
                    .next()
                    .and_then(|s| s.parse::<u64>().ok())
                    .map(Lsn)
                    .unwrap_or_default()
            }
            EventKind::Heartbeat(h) => h.lsn,
        }
    }

    /// Whether this is a heartbeat.
    pub fn is_heartbeat(&self) -> bool {
        matches!(self.kind, EventKind::Heartbeat(_))
    }

    /// Debezium's operation code, if this is a data or message event.
    pub fn op(&self) -> Option<Op> {
        match &self.kind {
            EventKind::Change(c) => Some(c.op),
            EventKind::Message(_) => Some(Op::Message),
            EventKind::Transaction(_) | EventKind::Heartbeat(_) => None,
        }
    }

    /// The change, if this is a row change or truncate.
    pub fn as_change(&self) -> Option<&ChangeEvent> {
        match &self.kind {
            EventKind::Change(c) => Some(c),
            _ => None,
        }
    }
}
