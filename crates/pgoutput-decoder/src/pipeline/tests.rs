//! The stats counters, the file sink and delivery tracking against the acknowledgement
//! bookkeeping, without a server.

use std::{io::Write, sync::Arc};

use bytes::Bytes;
use pgoutput::{ColumnData, Lsn, ReplicaIdentity, TupleData};

use super::*;
use crate::{
    debezium::{JsonEncoder, RecordFormat},
    event::{ChangeEvent, EventKind, MessageEvent, Op, Row, Source as EventSource},
    relation::{ColumnSchema, TableSchema},
    types::{ConvertOptions, TypeRegistry},
};

fn table(relation_id: u32, name: &str) -> Arc<TableSchema> {
    let registry = TypeRegistry::new();
    let columns = vec![ColumnSchema::new("id", registry.resolve(23, -1), 23, -1)];
    Arc::new(TableSchema::new(
        relation_id,
        "public".into(),
        name.into(),
        columns,
        &["id".into()],
        ReplicaIdentity::Default,
        "dbz",
    ))
}

fn source() -> EventSource {
    EventSource {
        lsn: Lsn(1000),
        tx_id: Some(7),
        commit_time_us: 1_700_000_000_000_000,
        last_commit_lsn: None,
        snapshot: "false",
    }
}

fn change(seq: u64, op: Op, table: &Arc<TableSchema>) -> Event {
    let row = Row::new(TupleData::from_columns([ColumnData::Text(b"1")]));
    let (before, after) = match op {
        Op::Delete => (Some(row), None),
        _ => (None, Some(row)),
    };
    Event {
        kind: EventKind::Change(ChangeEvent {
            op,
            table: table.clone(),
            before,
            after,
            source: source(),
            transaction: None,
            ts_us: 1_700_000_000_000_001,
            pk_update_other_row: None,
        }),
        seq,
    }
}

fn message(seq: u64) -> Event {
    Event {
        kind: EventKind::Message(MessageEvent {
            prefix: "p".into(),
            content: Bytes::from_static(b"hi"),
            transactional: false,
            source: source(),
            transaction: None,
            ts_us: 1_700_000_000_000_001,
        }),
        seq,
    }
}

fn stats() -> Stats {
    Stats::new(AckTracker::new(Lsn(100)), 8192, 0)
}

#[test]
fn events_are_counted_by_kind_and_by_table() {
    let stats = stats();
    let mut counter = EventCounter::new(stats.clone());
    let orders = table(16384, "orders");
    let items = table(16385, "items");
    counter.count(&[
        change(1, Op::Create, &orders),
        change(2, Op::Create, &orders),
        change(3, Op::Update, &items),
        change(4, Op::Delete, &orders),
        message(5),
    ]);
    // A schema change: a new TableSchema under the same relation id counts for the same table.
    let orders_v2 = table(16384, "orders");
    counter.count(&[change(6, Op::Truncate, &orders_v2)]);
    // A rename: the same relation id, a table of its own.
    let renamed = table(16384, "orders_old");
    counter.count(&[change(7, Op::Create, &renamed)]);
    let s = stats.snapshot();
    assert_eq!(
        s.events,
        EventCounts {
            create: 3,
            update: 1,
            delete: 1,
            truncate: 1,
            message: 1,
            ..EventCounts::default()
        }
    );
    assert_eq!(s.events.total(), 7);
    assert_eq!(stats.events_total(), 7);
    let tables: Vec<(&str, u64)> = s
        .tables
        .iter()
        .map(|t| (t.table.as_str(), t.events))
        .collect();
    assert_eq!(
        tables,
        [
            ("public.orders", 4),
            ("public.items", 1),
            ("public.orders_old", 1)
        ]
    );
}

#[test]
fn queue_connection_and_positions_are_in_the_snapshot() {
    let acks = AckTracker::new(Lsn(100));
    let stats = Stats::new(acks.clone(), 8192, 1 << 20);
    let fresh = stats.snapshot();
    assert!(!fresh.connected);
    assert_eq!(
        fresh.queue,
        QueueStats {
            events: 0,
            event_capacity: 8192,
            bytes: 0,
            byte_capacity: 1 << 20,
        }
    );
    assert_eq!(fresh.positions.received, Lsn(100));

    stats.connected();
    stats.received_bytes(300);
    stats.received_bytes(200);
    stats.queued(10, 3);
    stats.queued(5, 1);
    stats.dequeued(10, 3);
    acks.produced(1);
    acks.committed(1, Lsn(400));
    stats.server_confirmed(Lsn(250));
    let s = stats.snapshot();
    assert!(s.connected);
    assert_eq!(s.bytes_received, 500);
    assert_eq!((s.queue.events, s.queue.bytes), (5, 1024));
    assert_eq!(s.positions.received, Lsn(400));
    assert_eq!(s.server_confirmed, Lsn(250));
    assert_eq!(s.transactions, 1);
    assert_eq!((s.reconnects, s.last_error.as_deref()), (0, None));

    stats.failed(&"connection reset by peer");
    let s = stats.snapshot();
    assert!(!s.connected);
    assert_eq!(s.last_error.as_deref(), Some("connection reset by peer"));
    stats.reconnected();
    let s = stats.snapshot();
    assert!(s.connected);
    assert_eq!(s.reconnects, 1);
    assert_eq!(
        s.last_error.as_deref(),
        Some("connection reset by peer"),
        "the last error stays after reconnecting"
    );
    stats.closed();
    assert!(!stats.snapshot().connected);
}

/// Two transactions: events 1..=2 end at 200, event 3 at 300.
fn two_transactions() -> AckTracker {
    let acks = AckTracker::new(Lsn(100));
    acks.produced(3);
    acks.committed(2, Lsn(200));
    acks.committed(3, Lsn(300));
    acks
}

fn encoder() -> JsonEncoder {
    JsonEncoder::with_options("dbz", "shop", ConvertOptions::default(), true)
}

#[test]
fn the_file_sink_writes_flushes_and_reports_durable() {
    let acks = two_transactions();
    let delivery = Delivery::new(1, acks.clone());
    let encoder = encoder();
    let orders = table(16384, "orders");
    let mut out = Vec::new();
    {
        let mut sink = FileSink::new(
            &mut out,
            encoder.record_writer(),
            RecordFormat::Value,
            delivery.reporter(0),
            "-",
        );
        let first = [change(1, Op::Create, &orders)];
        delivery.register(&first);
        sink.write_batch(&first).unwrap();
        assert_eq!(acks.confirmed(), Lsn(100), "half a transaction");
        assert_eq!(delivery.confirmable(), 1);
        let rest = [
            change(2, Op::Update, &orders),
            change(3, Op::Delete, &orders),
        ];
        delivery.register(&rest);
        sink.write_batch(&rest).unwrap();
        sink.write_batch(&[]).unwrap();
        sink.flush().unwrap();
    }
    assert_eq!(acks.confirmed(), Lsn(300));
    let text = String::from_utf8(out).unwrap();
    // The same records the encoder writes, one line each.
    let mut expected = Vec::new();
    let mut records = encoder.record_writer();
    for event in [
        change(1, Op::Create, &orders),
        change(2, Op::Update, &orders),
        change(3, Op::Delete, &orders),
    ] {
        records
            .write_record(&event, RecordFormat::Value, &mut expected)
            .unwrap();
    }
    assert_eq!(text, String::from_utf8(expected).unwrap());
    assert_eq!(text.lines().count(), 3);
}

#[test]
fn a_large_batch_is_written_in_pieces() {
    #[derive(Default)]
    struct Writes(Vec<usize>);
    impl Write for Writes {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.push(buf.len());
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let acks = AckTracker::new(Lsn(100));
    let delivery = Delivery::new(1, acks);
    let encoder = encoder();
    let orders = table(16384, "orders");
    let batch: Vec<Event> = (1..=5000)
        .map(|seq| change(seq, Op::Create, &orders))
        .collect();
    delivery.register(&batch);
    let mut writes = Writes::default();
    let mut sink = FileSink::new(
        &mut writes,
        encoder.record_writer(),
        RecordFormat::Envelope,
        delivery.reporter(0),
        "-",
    );
    sink.write_batch(&batch).unwrap();
    assert!(writes.0.len() > 1, "{:?}", writes.0);
    assert!(
        writes.0.iter().all(|&n| n < 2 * 256 * 1024),
        "{:?}",
        writes.0
    );
    assert_eq!(delivery.confirmable(), 5000);
}

#[test]
fn a_failed_write_makes_nothing_durable() {
    struct Full;
    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("No space left on device"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let acks = two_transactions();
    let delivery = Delivery::new(1, acks.clone());
    let encoder = encoder();
    let orders = table(16384, "orders");
    let batch = [
        change(1, Op::Create, &orders),
        change(2, Op::Create, &orders),
    ];
    delivery.register(&batch);
    let mut sink = FileSink::new(
        Full,
        encoder.record_writer(),
        RecordFormat::Value,
        delivery.reporter(0),
        "out.jsonl",
    );
    let e = sink.write_batch(&batch).unwrap_err();
    assert_eq!(
        e.to_string(),
        "could not write events to out.jsonl: No space left on device"
    );
    assert_eq!(e.kind(), crate::ErrorKind::Io);
    assert_eq!(delivery.confirmable(), 0);
    assert_eq!(acks.confirmed(), Lsn(100));
}

#[test]
fn delivery_acknowledges_what_every_sink_made_durable() {
    // A file sink (in order) and an out-of-order sink reporting from another thread.
    let acks = two_transactions();
    let delivery = Delivery::new(2, acks.clone());
    let orders = table(16384, "orders");
    let batch: Vec<Event> = (1..=3)
        .map(|seq| change(seq, Op::Create, &orders))
        .collect();
    delivery.register(&batch);
    delivery.register(&batch[..1]); // handed out again: ignored
    let (file, other) = (delivery.reporter(0), delivery.reporter(1));
    file.durable_through(&batch[2]);
    assert_eq!(acks.confirmed(), Lsn(100));
    std::thread::scope(|s| {
        s.spawn(|| {
            other.durable(&batch[2]);
            other.durable(&batch[0]);
        });
    });
    assert_eq!(delivery.confirmable(), 1);
    assert_eq!(
        acks.confirmed(),
        Lsn(100),
        "event 2 completes the first transaction"
    );
    other.durable_seq(2);
    assert_eq!(delivery.confirmable(), 3);
    assert_eq!(acks.confirmed(), Lsn(300));
    assert_eq!(acks.positions().acknowledged, Lsn(300));
}

#[test]
#[should_panic(expected = "sink 1 of a delivery for 1 sinks")]
fn a_reporter_for_an_unknown_sink_is_a_bug() {
    Delivery::new(1, AckTracker::new(Lsn(0))).reporter(1);
}
