//! Per-event cost of the hot path: decoding a pgoutput Insert and writing its Debezium JSON,
//! for the benchmark's 10-column mixed-type row, and the typed-value conversion used by the
//! Python binding.

use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use pgoutput::{Decoder, Lsn, Message, ReplicaIdentity};
use pgoutput_decoder::{
    relation::{ColumnSchema, TableSchema},
    types::{ConvertOptions, TypeRegistry},
    ChangeEvent, Event, EventKind, JsonEncoder, Op, Row, Source,
};

/// (name, type OID, typmod, text value) of the benchmark table's columns.
const COLUMNS: &[(&str, u32, i32, &str)] = &[
    ("id", 23, -1, "123456"),
    ("account", 20, -1, "9876543210"),
    ("name", 25, -1, "customer name 123456"),
    ("amount", 1700, (12 << 16) + 2 + 4, "12345.67"),
    ("created_at", 1184, -1, "2024-01-15 10:30:00.123456+00"),
    ("active", 16, -1, "t"),
    ("payload", 3802, -1, r#"{"k": 1, "tags": ["a", "b"]}"#),
    ("ref", 2950, -1, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
    ("qty", 21, -1, "42"),
    ("note", 1043, 260, "short note"),
];

/// A real-format pgoutput Insert message (tag 'I', relation id, 'N', tuple data).
fn insert_message() -> Bytes {
    let mut b = BytesMut::new();
    b.put_u8(b'I');
    b.put_u32(16384);
    b.put_u8(b'N');
    b.put_u16(COLUMNS.len() as u16);
    for (_, _, _, text) in COLUMNS {
        b.put_u8(b't');
        b.put_u32(text.len() as u32);
        b.put_slice(text.as_bytes());
    }
    b.freeze()
}

fn table() -> Arc<TableSchema> {
    let registry = TypeRegistry::new();
    let columns = COLUMNS
        .iter()
        .map(|(name, oid, typmod, _)| {
            ColumnSchema::new(*name, registry.resolve(*oid, *typmod), *oid, *typmod)
        })
        .collect();
    Arc::new(TableSchema::new(
        16384,
        "public".into(),
        "bench".into(),
        columns,
        &["id".into()],
        ReplicaIdentity::Default,
        "bench",
    ))
}

fn event(table: &Arc<TableSchema>, data: Bytes) -> Event {
    let Ok(Message::Insert(insert)) = Decoder::new(1).decode(data) else {
        panic!("an insert")
    };
    Event {
        kind: EventKind::Change(ChangeEvent {
            op: Op::Create,
            table: table.clone(),
            before: None,
            after: Some(Row::new(insert.new)),
            source: Source {
                lsn: Lsn(0x1_0000_0000),
                tx_id: Some(1234),
                commit_time_us: 1_705_314_600_123_456,
                last_commit_lsn: None,
                snapshot: "false",
            },
            transaction: None,
            ts_us: 1_705_314_600_223_456,
            pk_update_other_row: None,
        }),
        seq: 1,
    }
}

fn benches(c: &mut Criterion) {
    let table = table();
    let data = insert_message();
    let encoder = JsonEncoder::with_options("bench", "db", ConvertOptions::default(), true);
    let mut group = c.benchmark_group("per_event");
    group.throughput(Throughput::Elements(1));
    group.bench_function("decode_insert", |b| {
        let mut decoder = Decoder::new(1);
        b.iter(|| decoder.decode(data.clone()).unwrap())
    });
    let e = event(&table, data.clone());
    let mut out = Vec::with_capacity(4096);
    group.bench_function("debezium_json_record", |b| {
        b.iter(|| {
            out.clear();
            encoder
                .write_record(&e, pgoutput_decoder::RecordFormat::Envelope, &mut out)
                .unwrap();
        })
    });
    // Events of one transaction in a row, as the CLI writes them.
    let mut records = encoder.record_writer();
    group.bench_function("debezium_json_record_writer", |b| {
        b.iter(|| {
            out.clear();
            records
                .write_record(&e, pgoutput_decoder::RecordFormat::Envelope, &mut out)
                .unwrap();
        })
    });
    group.bench_function("decode_and_encode", |b| {
        b.iter(|| {
            let e = event(&table, data.clone());
            out.clear();
            encoder
                .write_record(&e, pgoutput_decoder::RecordFormat::Envelope, &mut out)
                .unwrap();
        })
    });
    let opts = ConvertOptions::default();
    group.bench_function("typed_values", |b| {
        let EventKind::Change(change) = &e.kind else {
            unreachable!()
        };
        b.iter(|| {
            table
                .row_values(change.after.as_ref().unwrap(), &opts)
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(per_event, benches);
criterion_main!(per_event);
