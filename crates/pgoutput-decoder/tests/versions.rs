//! What each PostgreSQL version can do, against the server binaries under test (`PG_BIN`, as
//! `make test-matrix` and CI's smoke runs on PostgreSQL 12 and 18 choose them): the basics on
//! every version, and each newer feature where the server has it and refused with a clear
//! error where it does not. The smoke tests (CI runs this file on PostgreSQL 12 and 18): connect,
//! stream, acknowledge, restart and resume; an initial snapshot.
//!
//! | feature | from |
//! |---|---|
//! | logical decoding messages, streaming of in-progress transactions | 14 |
//! | two-phase decoding, row filters and column lists in publications | 15 |
//! | failover slots | 17 |
//! | generated columns published (`publish_generated_columns`) | 18 |
//! | a missing publication is a warning, not an error (the stream still stops) | 18 |

mod support;

use std::time::Duration;

use pgoutput_decoder::{
    config::{NameFilter, SnapshotMode},
    conn::ConnectParams,
    ChangeStream, ErrorKind, Event, EventKind, JsonEncoder, PublicationAutocreate,
    ReplicationConfig,
};
use serde_json::{json, Value as Json};
use throwaway_postgres::{Cluster, ClusterBuilder};

fn cluster() -> Cluster {
    let pg = ClusterBuilder::new()
        .setting("max_prepared_transactions", "10")
        .start()
        .expect("start a throwaway PostgreSQL");
    pg.create_database("db").unwrap();
    pg
}

fn config(pg: &Cluster, slot: &str) -> ReplicationConfig {
    let mut c = ReplicationConfig::new(ConnectParams::from_dsn(&pg.dsn("db")).unwrap());
    c.slot_name = slot.into();
    c.publication_name = "versions_pub".into();
    c.publication_autocreate = PublicationAutocreate::AllTables;
    c.create_slot = true;
    c.topic_prefix = "v".into();
    c.status_interval = Duration::from_millis(200);
    c
}

fn sql(pg: &Cluster, sql: &str) -> String {
    pg.psql("db", sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Collects exactly `n` events, failing after a generous timeout.
async fn take(stream: &mut ChangeStream, n: usize) -> Vec<Event> {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while out.len() < n {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        assert!(
            !left.is_zero(),
            "timed out with {} of {n} events",
            out.len()
        );
        match tokio::time::timeout(left, stream.next_event()).await {
            Ok(Ok(Some(e))) => out.push(e),
            Ok(Ok(None)) => panic!("stream ended after {} events", out.len()),
            Ok(Err(e)) => panic!("stream failed: {e}"),
            Err(_) => {}
        }
    }
    out
}

/// Asserts that nothing more arrives within a second.
async fn assert_quiet(stream: &mut ChangeStream) {
    let batch = stream
        .next_batch_timeout(Duration::from_secs(1))
        .await
        .unwrap()
        .unwrap();
    assert!(batch.is_empty(), "unexpected events: {batch:?}");
}

/// `(op, after)` (`before` for deletes) of each change, as Debezium JSON.
fn changes(encoder: &JsonEncoder, events: &[Event]) -> Vec<(String, Json)> {
    events
        .iter()
        .map(|e| {
            let mut buf = Vec::new();
            encoder.write_value(e, &mut buf).unwrap();
            let value: Json = serde_json::from_slice(&buf).unwrap();
            let row = if value["op"] == "d" {
                &value["before"]
            } else {
                &value["after"]
            };
            (value["op"].as_str().unwrap().to_owned(), row.clone())
        })
        .collect()
}

fn change(op: &str, row: Json) -> (String, Json) {
    (op.to_owned(), row)
}

fn major(pg: &Cluster) -> u32 {
    pg.major_version()
}

#[tokio::test(flavor = "multi_thread")]
async fn smoke_connect_stream_acknowledge_restart_and_resume() {
    let pg = cluster();
    sql(&pg, "create table t (id int primary key, note text)");
    let cfg = config(&pg, "smoke");
    let encoder = JsonEncoder::new(&cfg);
    let mut stream = ChangeStream::connect(cfg.clone()).await.unwrap();
    assert_eq!(stream.server_version() / 10000, major(&pg));
    sql(
        &pg,
        "insert into t values (1, 'one'); insert into t values (2, 'two');
         update t set note = 'uno' where id = 1; delete from t where id = 2;",
    );
    let events = take(&mut stream, 4).await;
    assert_eq!(
        changes(&encoder, &events),
        [
            change("c", json!({"id": 1, "note": "one"})),
            change("c", json!({"id": 2, "note": "two"})),
            change("u", json!({"id": 1, "note": "uno"})),
            change("d", json!({"id": 2, "note": null})),
        ]
    );
    // Acknowledge the first two transactions, then stop: the server hears of it.
    stream.ack(&events[1]);
    stream.stop().await.unwrap();
    let confirmed = sql(
        &pg,
        "select confirmed_flush_lsn >= pg_current_wal_lsn() from pg_replication_slots \
         where slot_name = 'smoke'",
    );
    assert_eq!(confirmed, "f", "only part of the changes was acknowledged");

    // A restart delivers what was not acknowledged, then what came meanwhile, and no more.
    sql(&pg, "insert into t values (3, 'three')");
    let mut stream = ChangeStream::connect(cfg.clone()).await.unwrap();
    let again = take(&mut stream, 3).await;
    assert_eq!(
        changes(&encoder, &again),
        [
            change("u", json!({"id": 1, "note": "uno"})),
            change("d", json!({"id": 2, "note": null})),
            change("c", json!({"id": 3, "note": "three"})),
        ]
    );
    stream.ack(&again[2]);
    assert_quiet(&mut stream).await;
    stream.stop().await.unwrap();
    let mut stream = ChangeStream::connect(cfg).await.unwrap();
    assert_quiet(&mut stream).await;
    stream.stop().await.unwrap();
}

/// The initial snapshot on every version: the rows that exist when the slot is created come
/// first, as reads (`op` "r", `source.snapshot` set), then the changes made since.
#[tokio::test(flavor = "multi_thread")]
async fn smoke_initial_snapshot_reads_existing_rows_then_streams() {
    let pg = cluster();
    sql(
        &pg,
        "create table t (id int primary key, note text);
         insert into t values (1, 'one'), (2, 'two');",
    );
    let progress = tempfile::tempdir().unwrap();
    let mut cfg = config(&pg, "snap");
    cfg.snapshot_mode = SnapshotMode::Initial;
    cfg.offset_file = Some(progress.path().join("offsets"));
    let encoder = JsonEncoder::new(&cfg);
    let mut stream = ChangeStream::connect(cfg).await.unwrap();
    let reads = take(&mut stream, 2).await;
    let mut rows = changes(&encoder, &reads);
    rows.sort_by_key(|(_, row)| row["id"].as_i64());
    assert_eq!(
        rows,
        [
            change("r", json!({"id": 1, "note": "one"})),
            change("r", json!({"id": 2, "note": "two"})),
        ]
    );
    for read in &reads {
        let mut buf = Vec::new();
        encoder.write_value(read, &mut buf).unwrap();
        let value: Json = serde_json::from_slice(&buf).unwrap();
        assert_ne!(value["source"]["snapshot"], "false", "{value}");
    }
    sql(&pg, "insert into t values (3, 'three')");
    let streamed = take(&mut stream, 1).await;
    assert_eq!(
        changes(&encoder, &streamed),
        [change("c", json!({"id": 3, "note": "three"}))]
    );
    stream.ack(&streamed[0]);
    stream.stop().await.unwrap();
}

/// Up to 17 the server stops the stream with an error when the publication is gone; 18 only
/// warns that it skipped the publication and would go on without its changes. Either way the
/// stream ends with `PublicationNotFound`, never streaming on without the rows.
#[tokio::test(flavor = "multi_thread")]
async fn a_publication_dropped_while_streaming_stops_the_stream() {
    let pg = cluster();
    sql(&pg, "create table t (id int primary key)");
    let mut stream = ChangeStream::connect(config(&pg, "dropped")).await.unwrap();
    sql(
        &pg,
        "drop publication versions_pub; insert into t values (1)",
    );
    let err = match tokio::time::timeout(Duration::from_secs(30), stream.next_event())
        .await
        .expect("no error within 30 s")
    {
        Ok(Some(event)) => panic!("an event without a publication: {event:?}"),
        Ok(None) => panic!("the stream ended without an error"),
        Err(e) => e,
    };
    assert_eq!(err.kind(), ErrorKind::PublicationNotFound, "{err}");
    let server_code = if major(&pg) >= 18 { "55000" } else { "42704" };
    assert_eq!(err.code(), Some(server_code), "{err}");
    assert!(err.to_string().contains("versions_pub"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn logical_messages_from_14_and_a_clear_error_before() {
    let pg = cluster();
    sql(&pg, "create table t (id int primary key)");
    let mut cfg = config(&pg, "messages");
    cfg.message_prefixes = NameFilter::new(&["audit".into()], &[], "message.prefix").unwrap();
    if major(&pg) < 14 {
        let err = ChangeStream::connect(cfg.clone()).await.err().unwrap();
        assert_eq!(err.kind(), ErrorKind::ServerConfiguration, "{err}");
        let text = err.to_string();
        assert!(text.contains("message.prefix.include.list"), "{text}");
        assert!(text.contains("from PostgreSQL 14 on"), "{text}");
        assert!(
            text.contains(&format!("server is {}.", major(&pg))),
            "{text}"
        );
        // Without asking for messages, changes stream; messages just do not come.
        cfg.message_prefixes = NameFilter::default();
        let mut stream = ChangeStream::connect(cfg).await.unwrap();
        sql(
            &pg,
            "begin; select pg_logical_emit_message(true, 'audit', 'hello');
             insert into t values (1); commit;",
        );
        let events = take(&mut stream, 1).await;
        assert!(events[0].as_change().is_some());
        assert_quiet(&mut stream).await;
        stream.stop().await.unwrap();
        return;
    }
    let mut stream = ChangeStream::connect(cfg).await.unwrap();
    sql(
        &pg,
        "begin; select pg_logical_emit_message(true, 'audit', 'hello');
         select pg_logical_emit_message(true, 'other', 'left out');
         insert into t values (1); commit;
         select pg_logical_emit_message(false, 'audit', 'at once');",
    );
    let events = take(&mut stream, 3).await;
    let seen: Vec<String> = events
        .iter()
        .map(|e| match &e.kind {
            EventKind::Message(m) => format!(
                "{}:{}:{}",
                m.prefix,
                String::from_utf8_lossy(&m.content),
                m.transactional
            ),
            EventKind::Change(c) => c.op.code().to_string(),
            EventKind::Transaction(_) => "tx".into(),
            EventKind::Heartbeat(_) => "heartbeat".into(),
        })
        .collect();
    assert_eq!(seen, ["audit:hello:true", "c", "audit:at once:false"]);
    stream.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn large_transactions_are_streamed_from_14_and_decoded_at_commit_before() {
    let mut builder = ClusterBuilder::new();
    // logical_decoding_work_mem is new in 13; below it a transaction is streamed (14+) or
    // spilled to disk (13).
    if builder.major_version().unwrap() >= 13 {
        builder = builder.setting("logical_decoding_work_mem", "64kB");
    }
    let pg = builder.start().unwrap();
    pg.create_database("db").unwrap();
    sql(&pg, "create table t (id int primary key, pad text)");
    let cfg = config(&pg, "large");
    let mut stream = ChangeStream::connect(cfg).await.unwrap();
    let rows = 5_000;
    sql(
        &pg,
        &format!("insert into t select i, repeat('x', 100) from generate_series(1, {rows}) i"),
    );
    let events = take(&mut stream, rows).await;
    let last = events.last().unwrap().as_change().unwrap();
    assert_eq!(last.after.as_ref().unwrap().text(0), Some(&b"5000"[..]));
    stream.ack(events.last().unwrap());
    assert_quiet(&mut stream).await;
    if major(&pg) >= 14 {
        let streamed = sql(
            &pg,
            "select stream_txns > 0 from pg_stat_replication_slots where slot_name = 'large'",
        );
        assert_eq!(streamed, "t", "the server did not stream the transaction");
    } else {
        eprintln!(
            "PostgreSQL {}: the transaction was decoded at commit (no streaming before 14)",
            major(&pg)
        );
    }
    stream.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn two_phase_from_15_and_a_clear_error_before() {
    let pg = cluster();
    sql(&pg, "create table t (id int primary key)");
    let mut cfg = config(&pg, "two_phase");
    cfg.two_phase = true;
    if major(&pg) < 15 {
        let err = ChangeStream::connect(cfg).await.err().unwrap();
        assert_eq!(err.kind(), ErrorKind::ServerConfiguration, "{err}");
        let text = err.to_string();
        assert!(text.contains("needs PostgreSQL 15 or later"), "{text}");
        assert!(
            text.contains(&format!("server is {}.", major(&pg))),
            "{text}"
        );
        let slots = sql(&pg, "select count(*) from pg_replication_slots");
        assert_eq!(slots, "0", "nothing is created before the refusal");
        return;
    }
    let mut stream = ChangeStream::connect(cfg).await.unwrap();
    sql(
        &pg,
        "begin; insert into t values (1); prepare transaction 'p'; insert into t values (2);",
    );
    let first = take(&mut stream, 1).await;
    assert_eq!(
        first[0]
            .as_change()
            .unwrap()
            .after
            .as_ref()
            .unwrap()
            .text(0),
        Some(&b"2"[..])
    );
    sql(&pg, "commit prepared 'p'");
    let second = take(&mut stream, 1).await;
    assert_eq!(
        second[0]
            .as_change()
            .unwrap()
            .after
            .as_ref()
            .unwrap()
            .text(0),
        Some(&b"1"[..])
    );
    stream.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn row_filters_and_column_lists_from_15() {
    if !support::server_has(15, "a publication's row filter and column list") {
        return;
    }
    let pg = cluster();
    sql(
        &pg,
        "create table t (id int primary key, a int not null, secret text);
         create publication versions_pub for table t (id, a) where (id > 10);",
    );
    let mut cfg = config(&pg, "filters");
    cfg.publication_autocreate = PublicationAutocreate::Disabled;
    let encoder = JsonEncoder::new(&cfg);
    let mut stream = ChangeStream::connect(cfg).await.unwrap();
    sql(
        &pg,
        "insert into t values (5, 1, 's'), (11, 1, 's');
         update t set a = 2 where id = 11;
         update t set id = 12 where id = 5;
         update t set id = 3 where id = 12;",
    );
    // Rows outside the filter are left out; an update that moves a row into it arrives as an
    // insert, one that moves it out as a delete. `secret` is never published.
    let events = take(&mut stream, 4).await;
    assert_eq!(
        changes(&encoder, &events),
        [
            change("c", json!({"id": 11, "a": 1})),
            change("u", json!({"id": 11, "a": 2})),
            change("c", json!({"id": 12, "a": 1})),
            change("d", json!({"id": 12, "a": 0})),
        ]
    );
    assert_quiet(&mut stream).await;
    stream.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn failover_slots_from_17_and_a_clear_error_before() {
    let pg = cluster();
    sql(&pg, "create table t (id int primary key)");
    let mut cfg = config(&pg, "failover");
    cfg.slot_failover = true;
    if major(&pg) < 17 {
        let err = ChangeStream::connect(cfg).await.err().unwrap();
        assert_eq!(err.kind(), ErrorKind::ServerConfiguration, "{err}");
        let text = err.to_string();
        assert!(text.contains("PostgreSQL 17 or later"), "{text}");
        assert!(
            text.contains(&format!("server is {}.", major(&pg))),
            "{text}"
        );
        let slots = sql(&pg, "select count(*) from pg_replication_slots");
        assert_eq!(slots, "0", "nothing is created before the refusal");
        return;
    }
    let stream = ChangeStream::connect(cfg).await.unwrap();
    let failover = sql(
        &pg,
        "select failover from pg_replication_slots where slot_name = 'failover'",
    );
    assert_eq!(failover, "t");
    stream.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn generated_columns_are_left_out_by_default() {
    let pg = cluster();
    sql(
        &pg,
        "create table g (id int primary key, a int not null,
                         twice int generated always as (a * 2) stored)",
    );
    let cfg = config(&pg, "generated");
    let encoder = JsonEncoder::new(&cfg);
    let mut stream = ChangeStream::connect(cfg).await.unwrap();
    sql(&pg, "insert into g (id, a) values (1, 21)");
    let events = take(&mut stream, 1).await;
    assert_eq!(
        changes(&encoder, &events),
        [change("c", json!({"id": 1, "a": 21}))]
    );
    stream.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn generated_columns_are_published_with_publish_generated_columns_from_18() {
    if !support::server_has(
        18,
        "publishing generated columns (publish_generated_columns)",
    ) {
        return;
    }
    let pg = cluster();
    sql(
        &pg,
        "create table g (id int primary key, a int not null,
                         twice int generated always as (a * 2) stored);
         create publication versions_pub for table g with (publish_generated_columns = stored);",
    );
    let mut cfg = config(&pg, "generated18");
    cfg.publication_autocreate = PublicationAutocreate::Disabled;
    let encoder = JsonEncoder::new(&cfg);
    let mut stream = ChangeStream::connect(cfg).await.unwrap();
    sql(
        &pg,
        "insert into g (id, a) values (1, 21); update g set a = 5 where id = 1",
    );
    let events = take(&mut stream, 2).await;
    assert_eq!(
        changes(&encoder, &events),
        [
            change("c", json!({"id": 1, "a": 21, "twice": 42})),
            change("u", json!({"id": 1, "a": 5, "twice": 10}))
        ]
    );
    stream.stop().await.unwrap();
}
