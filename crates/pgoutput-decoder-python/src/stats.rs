//! `ReaderStats`: what `reader.stats()` returns, a copy of the pipeline's counters and of the
//! slot's status as last read from the server.

use std::collections::HashMap;

use pgoutput_decoder::{
    monitor::{SlotReading, SlotStatus},
    pipeline::EventCounts,
    StatsSnapshot,
};
use pyo3::prelude::*;

/// The reader's numbers at one moment (see the stubs for each field).
#[pyclass(frozen, get_all, module = "pgoutput_decoder", name = "ReaderStats")]
#[derive(Debug, Clone)]
pub struct ReaderStats {
    events: u64,
    events_by_op: HashMap<String, u64>,
    tables: HashMap<String, HashMap<String, u64>>,
    bytes_received: u64,
    transactions: u64,
    received_lsn: u64,
    handed_out_lsn: u64,
    acknowledged_lsn: u64,
    confirmed_lsn: u64,
    lag_ms: u64,
    ms_since_last_event: Option<u64>,
    lag_bytes: Option<u64>,
    queue_events: u64,
    queue_capacity: u64,
    queue_bytes: u64,
    queue_byte_capacity: u64,
    connected: bool,
    reconnects: u64,
    errors: u64,
    last_error: Option<String>,
    slot_active: Option<bool>,
    slot_wal_status: Option<String>,
    slot_safe_wal_size: Option<i64>,
    slot_retained_wal_bytes: Option<u64>,
    slot_confirmed_flush_lsn: Option<u64>,
    server_wal_lsn: Option<u64>,
    health_problems: Vec<String>,
    snapshot_running: Option<bool>,
    snapshot_completed: Option<bool>,
    snapshot_tables_total: Option<usize>,
    snapshot_tables_remaining: Option<usize>,
}

fn by_op(counts: &EventCounts, with_non_table: bool) -> HashMap<String, u64> {
    let mut ops = vec![
        ("c", counts.create),
        ("u", counts.update),
        ("d", counts.delete),
        ("r", counts.read),
        ("t", counts.truncate),
    ];
    if with_non_table {
        ops.extend([("m", counts.message), ("tx", counts.transaction)]);
    }
    ops.into_iter().map(|(op, n)| (op.to_owned(), n)).collect()
}

impl ReaderStats {
    pub(crate) fn new(
        stats: &StatsSnapshot,
        slot: Option<&SlotReading>,
        now_us: i64,
        health_problems: Vec<String>,
    ) -> Self {
        let status = slot.and_then(|s| s.status.as_ref());
        ReaderStats {
            events: stats.events.total(),
            events_by_op: by_op(&stats.events, true),
            tables: stats
                .tables
                .iter()
                .map(|t| (t.table.clone(), by_op(&t.by_op, false)))
                .collect(),
            bytes_received: stats.bytes_received,
            transactions: stats.transactions,
            received_lsn: stats.positions.received.0,
            handed_out_lsn: stats.positions.handed_out.0,
            acknowledged_lsn: stats.positions.acknowledged.0,
            confirmed_lsn: stats.server_confirmed.0,
            lag_ms: stats.millis_behind_source(now_us),
            ms_since_last_event: stats.millis_since_last_event(now_us),
            lag_bytes: status.and_then(SlotStatus::lag_bytes),
            queue_events: stats.queue.events,
            queue_capacity: stats.queue.event_capacity,
            queue_bytes: stats.queue.bytes,
            queue_byte_capacity: stats.queue.byte_capacity,
            connected: stats.connected,
            reconnects: stats.reconnects,
            errors: stats.errors,
            last_error: stats.last_error.clone(),
            slot_active: status.map(|s| s.active),
            slot_wal_status: status.and_then(|s| s.wal_status.clone()),
            slot_safe_wal_size: status.and_then(|s| s.safe_wal_size),
            slot_retained_wal_bytes: status.and_then(SlotStatus::retained_bytes),
            slot_confirmed_flush_lsn: status.and_then(|s| s.confirmed_flush).map(|l| l.0),
            server_wal_lsn: status.map(|s| s.wal_end.0),
            health_problems,
            snapshot_running: stats.snapshot.as_ref().map(|s| s.running),
            snapshot_completed: stats.snapshot.as_ref().map(|s| s.completed),
            snapshot_tables_total: stats.snapshot.as_ref().map(|s| s.tables.len()),
            snapshot_tables_remaining: stats.snapshot.as_ref().map(|s| s.tables_remaining()),
        }
    }
}

#[pymethods]
impl ReaderStats {
    /// Whether the stream is healthy (connected, lag under the limits): no health problems.
    #[getter]
    fn healthy(&self) -> bool {
        self.health_problems.is_empty()
    }

    fn __repr__(&self) -> String {
        format!(
            "ReaderStats(events={}, transactions={}, lag_ms={}, lag_bytes={}, \
             queue_events={}, connected={}, reconnects={})",
            self.events,
            self.transactions,
            self.lag_ms,
            self.lag_bytes
                .map_or_else(|| "None".to_owned(), |b| b.to_string()),
            self.queue_events,
            if self.connected { "True" } else { "False" },
            self.reconnects
        )
    }
}
