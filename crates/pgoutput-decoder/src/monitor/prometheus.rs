//! The counters in Prometheus' text exposition format (version 0.0.4), every name prefixed
//! `pgoutput_decoder_`. [`METRICS`] lists the names with what each corresponds to in
//! Debezium's JMX metrics; the README's table and the shipped dashboard and alerts are held
//! to it by tests.

use std::fmt::Write;

use crate::pipeline::{EventCounts, StatsSnapshot};

use super::slot::SlotReading;

/// A metric served at `/metrics`.
#[derive(Debug, Clone, Copy)]
pub struct MetricInfo {
    /// The full name (with `_total` for counters).
    pub name: &'static str,
    /// `counter` or `gauge`.
    pub kind: &'static str,
    /// What it measures.
    pub help: &'static str,
    /// Debezium's attribute (streaming MBean) it corresponds to, or "" when Debezium has none.
    pub debezium: &'static str,
}

macro_rules! metrics {
    ($($id:ident: $name:literal, $kind:literal, $debezium:literal, $help:literal;)*) => {
        $(const $id: &str = $name;)*
        /// Every metric `/metrics` serves, in the order it serves them.
        pub const METRICS: &[MetricInfo] = &[
            $(MetricInfo { name: $name, kind: $kind, help: $help, debezium: $debezium },)*
        ];
    };
}

metrics! {
    EVENTS: "pgoutput_decoder_events_total", "counter", "TotalNumberOfEventsSeen (TotalNumberOf{Create,Update,Delete}EventsSeen by op)",
        "Events handed to the consumer, by op: c, u, d, r (snapshot read), t, m, and tx (BEGIN/END with provide.transaction.metadata).";
    TABLE_EVENTS: "pgoutput_decoder_table_events_total", "counter", "RowsScanned (snapshot, by table)",
        "Change events handed to the consumer, by table and op.";
    BYTES: "pgoutput_decoder_received_bytes_total", "counter", "",
        "Bytes of replication messages received from the server.";
    TRANSACTIONS: "pgoutput_decoder_transactions_total", "counter", "NumberOfCommittedTransactions",
        "Transactions (and non-transactional messages) whose end was received.";
    BEHIND: "pgoutput_decoder_lag_milliseconds", "gauge", "MilliSecondsBehindSource",
        "Milliseconds between the commit of the last event handed out and now while events wait in the queue, or when it was handed out otherwise.";
    SINCE_LAST: "pgoutput_decoder_milliseconds_since_last_event", "gauge", "MilliSecondsSinceLastEvent",
        "Milliseconds since the last event was handed to the consumer (absent before the first).";
    LAG_BYTES: "pgoutput_decoder_lag_bytes", "gauge", "",
        "The server's WAL end minus the slot's confirmed position (read from the server).";
    RECEIVED: "pgoutput_decoder_received_lsn", "gauge", "SourceEventPosition",
        "The highest WAL position received from the server.";
    HANDED_OUT: "pgoutput_decoder_handed_out_lsn", "gauge", "",
        "The position of the last event handed to the consumer.";
    ACKNOWLEDGED: "pgoutput_decoder_acknowledged_lsn", "gauge", "",
        "The position up to which everything was made durable by every sink.";
    CONFIRMED: "pgoutput_decoder_confirmed_lsn", "gauge", "",
        "The flush position last sent to the server.";
    QUEUE_EVENTS: "pgoutput_decoder_queue_events", "gauge", "QueueTotalCapacity minus QueueRemainingCapacity",
        "Events waiting in the queue.";
    QUEUE_CAPACITY: "pgoutput_decoder_queue_capacity_events", "gauge", "QueueTotalCapacity",
        "The most events the queue holds (max.queue.size).";
    QUEUE_BYTES: "pgoutput_decoder_queue_bytes", "gauge", "CurrentQueueSizeInBytes",
        "Approximate bytes of the events waiting (0 without max.queue.size.in.bytes).";
    QUEUE_BYTE_CAPACITY: "pgoutput_decoder_queue_capacity_bytes", "gauge", "MaxQueueSizeInBytes",
        "The queue's byte bound (max.queue.size.in.bytes; 0: none).";
    CONNECTED: "pgoutput_decoder_connected", "gauge", "Connected",
        "1 while the replication connection is up.";
    RECONNECTS: "pgoutput_decoder_reconnects_total", "counter", "",
        "Successful reconnects after a lost connection.";
    ERRORS: "pgoutput_decoder_errors_total", "counter", "",
        "Errors of the replication connection (lost connections, failed reconnect attempts).";
    SLOT_UP: "pgoutput_decoder_slot_status_up", "gauge", "",
        "1 when the last read of the slot's status on the side connection succeeded.";
    SLOT_READ_AT: "pgoutput_decoder_slot_status_timestamp_seconds", "gauge", "",
        "When the slot's status was last read (Unix time).";
    SLOT_ACTIVE: "pgoutput_decoder_slot_active", "gauge", "",
        "1 while a connection streams from the slot (pg_replication_slots.active; 0 also when the slot is missing).";
    SLOT_WAL_STATUS: "pgoutput_decoder_slot_wal_status", "gauge", "",
        "1 for the slot's wal_status (reserved, extended, unreserved, lost), 0 for the others.";
    SLOT_SAFE_WAL: "pgoutput_decoder_slot_safe_wal_size_bytes", "gauge", "",
        "Bytes of WAL that can be written before the slot risks losing what it needs (absent without max_slot_wal_keep_size).";
    SLOT_RETAINED: "pgoutput_decoder_slot_retained_wal_bytes", "gauge", "",
        "Bytes of WAL the server keeps for the slot (WAL end minus restart_lsn).";
    SERVER_WAL: "pgoutput_decoder_server_wal_lsn", "gauge", "",
        "The server's current WAL position.";
    SLOT_CONFIRMED: "pgoutput_decoder_slot_confirmed_flush_lsn", "gauge", "",
        "The slot's confirmed_flush_lsn as the server reports it.";
    SNAPSHOT_RUNNING: "pgoutput_decoder_snapshot_running", "gauge", "SnapshotRunning",
        "1 while an initial snapshot reads tables (absent without a snapshot in this run).";
    SNAPSHOT_COMPLETED: "pgoutput_decoder_snapshot_completed", "gauge", "SnapshotCompleted",
        "1 once the snapshot read every table.";
    SNAPSHOT_TABLES: "pgoutput_decoder_snapshot_tables_total", "gauge", "TotalTableCount",
        "Tables the snapshot reads.";
    SNAPSHOT_REMAINING: "pgoutput_decoder_snapshot_tables_remaining", "gauge", "RemainingTableCount",
        "Tables the snapshot has not read whole yet.";
    SNAPSHOT_ESTIMATED: "pgoutput_decoder_snapshot_table_rows_estimated", "gauge", "",
        "The planner's estimate of a table's rows (pg_class.reltuples; absent when never analyzed), by table.";
    SNAPSHOT_ROWS: "pgoutput_decoder_snapshot_table_rows_read", "gauge", "",
        "Rows the snapshot read of a table, once read whole, by table (live counts: table_events_total with op r).";
}

/// Whether a metric is served only in a run with an initial snapshot.
pub fn is_snapshot_metric(name: &str) -> bool {
    name.starts_with("pgoutput_decoder_snapshot_")
}

const WAL_STATUSES: [&str; 4] = ["reserved", "extended", "unreserved", "lost"];

struct Out {
    text: String,
}

impl Out {
    fn header(&mut self, name: &str) {
        let info = METRICS.iter().find(|m| m.name == name);
        if let Some(m) = info {
            let _ = writeln!(self.text, "# HELP {} {}", m.name, m.help);
            let _ = writeln!(self.text, "# TYPE {} {}", m.name, m.kind);
        }
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.text.push(',');
                }
                let _ = write!(self.text, "{k}=\"{}\"", escape(v));
            }
            self.text.push('}');
        }
        let _ = writeln!(self.text, " {value}");
    }

    /// A metric with one sample and no labels.
    fn one(&mut self, name: &str, value: impl std::fmt::Display) {
        self.header(name);
        self.sample(name, &[], value);
    }
}

/// A label value with `\`, `"` and newlines escaped.
fn escape(value: &str) -> std::borrow::Cow<'_, str> {
    if !value.contains(['\\', '"', '\n']) {
        return value.into();
    }
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
        .into()
}

fn by_op(counts: &EventCounts) -> [(&'static str, u64); 7] {
    [
        ("c", counts.create),
        ("u", counts.update),
        ("d", counts.delete),
        ("r", counts.read),
        ("t", counts.truncate),
        ("m", counts.message),
        ("tx", counts.transaction),
    ]
}

/// The text served at `/metrics` for these numbers, `now_us` being the time now.
pub fn render(stats: &StatsSnapshot, slot: Option<&SlotReading>, now_us: i64) -> String {
    let mut out = Out {
        text: String::with_capacity(4096),
    };
    out.header(EVENTS);
    for (op, n) in by_op(&stats.events) {
        out.sample(EVENTS, &[("op", op)], n);
    }
    out.header(TABLE_EVENTS);
    for table in &stats.tables {
        for (op, n) in by_op(&table.by_op).into_iter().take(5) {
            if n > 0 {
                out.sample(TABLE_EVENTS, &[("table", &table.table), ("op", op)], n);
            }
        }
    }
    out.one(BYTES, stats.bytes_received);
    out.one(TRANSACTIONS, stats.transactions);
    out.one(BEHIND, stats.millis_behind_source(now_us));
    if let Some(ms) = stats.millis_since_last_event(now_us) {
        out.one(SINCE_LAST, ms);
    }
    if let Some(lag) = slot
        .and_then(|s| s.status.as_ref())
        .and_then(|s| s.lag_bytes())
    {
        out.one(LAG_BYTES, lag);
    }
    let p = &stats.positions;
    out.one(RECEIVED, p.received.0);
    out.one(HANDED_OUT, p.handed_out.0);
    out.one(ACKNOWLEDGED, p.acknowledged.0);
    out.one(CONFIRMED, stats.server_confirmed.0);
    out.one(QUEUE_EVENTS, stats.queue.events);
    out.one(QUEUE_CAPACITY, stats.queue.event_capacity);
    out.one(QUEUE_BYTES, stats.queue.bytes);
    out.one(QUEUE_BYTE_CAPACITY, stats.queue.byte_capacity);
    out.one(CONNECTED, u8::from(stats.connected));
    out.one(RECONNECTS, stats.reconnects);
    out.one(ERRORS, stats.errors);
    if let Some(reading) = slot {
        out.one(SLOT_UP, u8::from(reading.error.is_none()));
        if let Some(s) = &reading.status {
            out.one(SLOT_READ_AT, s.read_at_us as f64 / 1e6);
            out.one(SLOT_ACTIVE, u8::from(s.active));
            if let Some(status) = &s.wal_status {
                out.header(SLOT_WAL_STATUS);
                for known in WAL_STATUSES {
                    out.sample(
                        SLOT_WAL_STATUS,
                        &[("status", known)],
                        u8::from(status == known),
                    );
                }
            }
            if let Some(safe) = s.safe_wal_size {
                out.one(SLOT_SAFE_WAL, safe);
            }
            if let Some(retained) = s.retained_bytes() {
                out.one(SLOT_RETAINED, retained);
            }
            out.one(SERVER_WAL, s.wal_end.0);
            if let Some(c) = s.confirmed_flush {
                out.one(SLOT_CONFIRMED, c.0);
            }
        }
    }
    if let Some(snapshot) = &stats.snapshot {
        out.one(SNAPSHOT_RUNNING, u8::from(snapshot.running));
        out.one(SNAPSHOT_COMPLETED, u8::from(snapshot.completed));
        out.one(SNAPSHOT_TABLES, snapshot.tables.len());
        out.one(SNAPSHOT_REMAINING, snapshot.tables_remaining());
        out.header(SNAPSHOT_ESTIMATED);
        for t in &snapshot.tables {
            if let Some(n) = t.estimated_rows {
                out.sample(SNAPSHOT_ESTIMATED, &[("table", &t.table)], n);
            }
        }
        out.header(SNAPSHOT_ROWS);
        for t in snapshot.tables.iter().filter(|t| t.done) {
            out.sample(SNAPSHOT_ROWS, &[("table", &t.table)], t.rows_read);
        }
    }
    out.text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        monitor::SlotStatus,
        pipeline::{EventCounts, TableCount},
    };
    use pgoutput::Lsn;

    #[test]
    fn the_text_format_has_help_type_labels_and_escapes() {
        let mut stats = StatsSnapshot::default();
        stats.events.create = 3;
        stats.events.delete = 1;
        stats.tables.push(TableCount {
            table: "public.\"odd\\name\"".into(),
            events: 4,
            by_op: EventCounts {
                create: 3,
                delete: 1,
                ..EventCounts::default()
            },
        });
        stats.connected = true;
        let slot = SlotReading {
            status: Some(SlotStatus {
                wal_end: Lsn(500),
                exists: true,
                active: true,
                confirmed_flush: Some(Lsn(200)),
                restart_lsn: Some(Lsn(100)),
                wal_status: Some("extended".into()),
                safe_wal_size: None,
                read_at_us: 1_500_000,
            }),
            error: None,
        };
        let text = render(&stats, Some(&slot), 2_000_000);
        for line in [
            "# TYPE pgoutput_decoder_events_total counter",
            "pgoutput_decoder_events_total{op=\"c\"} 3",
            "pgoutput_decoder_events_total{op=\"d\"} 1",
            "pgoutput_decoder_events_total{op=\"tx\"} 0",
            "pgoutput_decoder_table_events_total{table=\"public.\\\"odd\\\\name\\\"\",op=\"c\"} 3",
            "pgoutput_decoder_lag_bytes 300",
            "pgoutput_decoder_slot_retained_wal_bytes 400",
            "pgoutput_decoder_slot_wal_status{status=\"extended\"} 1",
            "pgoutput_decoder_slot_wal_status{status=\"lost\"} 0",
            "pgoutput_decoder_slot_status_timestamp_seconds 1.5",
            "pgoutput_decoder_connected 1",
            "pgoutput_decoder_slot_status_up 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing in:\n{text}"
            );
        }
        assert!(!text.contains("safe_wal_size_bytes "), "{text}");
        assert!(!text.contains("milliseconds_since_last_event "), "{text}");
        // Every sample's name is a served metric with HELP and TYPE before it.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap();
            assert!(METRICS.iter().any(|m| m.name == name), "{name}");
            assert!(text.contains(&format!("# TYPE {name} ")), "{name}");
        }
    }
}
