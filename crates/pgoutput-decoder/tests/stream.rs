//! Integration tests: real changes through the real replication protocol, against throwaway
//! PostgreSQL clusters.

use std::time::Duration;

use pgoutput_decoder::{
    conn::ConnectParams, ChangeStream, ErrorKind, Event, EventKind, JsonEncoder, Op,
    PublicationAutocreate, RecordFormat, ReplicationConfig,
};
use serde_json::Value as Json;
use throwaway_postgres::{Cluster, ClusterBuilder};

fn cluster() -> Cluster {
    ClusterBuilder::new()
        .start()
        .expect("start a throwaway PostgreSQL")
}

fn config(cluster: &Cluster, db: &str, slot: &str) -> ReplicationConfig {
    let mut c = ReplicationConfig::new(ConnectParams::from_dsn(&cluster.dsn(db)).unwrap());
    c.slot_name = slot.into();
    c.publication_name = "test_pub".into();
    c.publication_autocreate = PublicationAutocreate::AllTables;
    c.create_slot = true;
    c.topic_prefix = "t".into();
    c.status_interval = Duration::from_millis(200);
    c
}

fn setup(cluster: &Cluster, db: &str, sql: &str) {
    cluster.create_database(db).unwrap();
    cluster.psql(db, sql).unwrap();
}

/// Collects exactly `n` events (acknowledging nothing), failing after a generous timeout.
async fn take(stream: &mut ChangeStream, n: usize) -> Vec<Event> {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while out.len() < n {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        assert!(
            !left.is_zero(),
            "timed out with {} of {n} events: {:?}",
            out.len(),
            summary(&out)
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

/// Asserts that no further event arrives within `wait`.
async fn assert_quiet(stream: &mut ChangeStream, wait: Duration) {
    let batch = stream.next_batch_timeout(wait).await.unwrap().unwrap();
    assert!(batch.is_empty(), "unexpected events: {:?}", summary(&batch));
}

fn summary(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .map(|e| match &e.kind {
            EventKind::Change(c) => format!("{}:{}", c.op.code(), c.table.data_collection),
            EventKind::Message(m) => format!("m:{}", m.prefix),
            EventKind::Transaction(t) => format!("tx:{:?}", t.status),
            EventKind::Heartbeat(_) => "heartbeat".into(),
        })
        .collect()
}

fn value_json(encoder: &JsonEncoder, e: &Event) -> Json {
    let mut buf = Vec::new();
    encoder.write_value(e, &mut buf).unwrap();
    serde_json::from_slice(&buf).unwrap()
}

fn key_json(encoder: &JsonEncoder, e: &Event) -> Json {
    let mut buf = Vec::new();
    encoder.write_key(e, &mut buf).unwrap();
    serde_json::from_slice(&buf).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn streams_changes_of_several_tables_and_transactions() {
    let pg = cluster();
    setup(
        &pg,
        "shop",
        "create table customers (id serial primary key, name text not null, vip boolean not null default false);
         create table orders (id bigserial primary key, customer_id int not null, total numeric(10,2));",
    );
    let cfg = config(&pg, "shop", "s1");
    let encoder = JsonEncoder::new(&cfg);
    let mut stream = ChangeStream::connect(cfg).await.unwrap();
    pg.psql(
        "shop",
        "insert into customers(name) values ('ann');
         begin;
         insert into customers(name, vip) values ('ben', true);
         insert into orders(customer_id, total) values (2, 12.50), (2, 7.00);
         update customers set name = 'ann b' where id = 1;
         commit;
         delete from orders where id = 2;",
    )
    .unwrap();
    let events = take(&mut stream, 6).await;
    assert_eq!(
        summary(&events),
        [
            "c:public.customers",
            "c:public.customers",
            "c:public.orders",
            "c:public.orders",
            "u:public.customers",
            "d:public.orders"
        ]
    );
    let first = value_json(&encoder, &events[0]);
    assert_eq!(
        first["after"],
        serde_json::json!({"id": 1, "name": "ann", "vip": false})
    );
    assert_eq!(first["before"], Json::Null);
    assert_eq!(first["op"], "c");
    assert_eq!(first["source"]["db"], "shop");
    assert_eq!(first["source"]["table"], "customers");
    assert_eq!(first["source"]["snapshot"], "false");
    assert!(first["source"]["lsn"].is_u64() && first["source"]["txId"].is_u64());
    assert_eq!(key_json(&encoder, &events[0]), serde_json::json!({"id": 1}));

    // One transaction: one txId and one commit time for all four events.
    let tx: Vec<Json> = events[1..5]
        .iter()
        .map(|e| value_json(&encoder, e)["source"]["txId"].clone())
        .collect();
    assert!(tx.windows(2).all(|w| w[0] == w[1]), "{tx:?}");
    assert_ne!(tx[0], value_json(&encoder, &events[0])["source"]["txId"]);

    // numeric(10,2) is Debezium's Decimal: base64 of the unscaled value (1250 -> "BOI=").
    assert_eq!(value_json(&encoder, &events[2])["after"]["total"], "BOI=");
    // REPLICA IDENTITY DEFAULT: an update has no before image; a delete has the key.
    assert_eq!(value_json(&encoder, &events[4])["before"], Json::Null);
    let delete = value_json(&encoder, &events[5]);
    assert_eq!(delete["before"]["id"], 2);
    assert_eq!(delete["after"], Json::Null);

    // Kafka-style record with a tombstone after the delete.
    let mut line = Vec::new();
    encoder
        .write_record(&events[5], RecordFormat::Envelope, &mut line)
        .unwrap();
    let lines: Vec<Json> = line
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["topic"], "t.public.orders");
    assert_eq!(lines[1]["value"], Json::Null);
    assert_eq!(lines[1]["key"], serde_json::json!({"id": 2}));
    stream.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn schema_change_mid_stream_is_used_for_later_rows() {
    let pg = cluster();
    setup(
        &pg,
        "db",
        "create table items (id int primary key, name text not null);",
    );
    let cfg = config(&pg, "db", "s1");
    let encoder = JsonEncoder::new(&cfg);
    let mut stream = ChangeStream::connect(cfg).await.unwrap();
    pg.psql(
        "db",
        "insert into items values (1, 'one');
         alter table items add column price numeric(8,2) default 1.00;
         insert into items values (2, 'two', 2.50);
         alter table items rename column name to label;
         insert into items values (3, 'three', 3.00);
         alter table items drop column price;
         alter table items alter column id type bigint;
         insert into items values (4, 'four');",
    )
    .unwrap();
    let events = take(&mut stream, 4).await;
    let after: Vec<Json> = events
        .iter()
        .map(|e| value_json(&encoder, e)["after"].clone())
        .collect();
    assert_eq!(after[0], serde_json::json!({"id": 1, "name": "one"}));
    assert_eq!(
        after[1],
        serde_json::json!({"id": 2, "name": "two", "price": "APo="})
    );
    assert_eq!(
        after[2],
        serde_json::json!({"id": 3, "label": "three", "price": "ASw="})
    );
    assert_eq!(after[3], serde_json::json!({"id": 4, "label": "four"}));
    stream.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn restart_resumes_after_the_last_acknowledged_transaction() {
    let pg = cluster();
    setup(&pg, "db", "create table t (id int primary key);");
    let mut stream = ChangeStream::connect(config(&pg, "db", "s1"))
        .await
        .unwrap();
    for i in 1..=5 {
        pg.psql("db", &format!("insert into t values ({i})"))
            .unwrap();
    }
    let events = take(&mut stream, 5).await;
    // Acknowledge the first three transactions only, then stop gracefully.
    stream.ack(&events[2]);
    stream.stop().await.unwrap();
    let confirmed = pg
        .psql(
            "postgres",
            "select confirmed_flush_lsn > '0/0' from pg_replication_slots where slot_name = 's1'",
        )
        .unwrap();
    assert_eq!(confirmed, "t");

    // Unacknowledged events come again; acknowledged ones never do.
    let mut stream = ChangeStream::connect(config(&pg, "db", "s1"))
        .await
        .unwrap();
    let again = take(&mut stream, 2).await;
    let ids: Vec<String> = again
        .iter()
        .map(|e| {
            String::from_utf8_lossy(
                e.as_change()
                    .unwrap()
                    .after
                    .as_ref()
                    .unwrap()
                    .text(0)
                    .unwrap(),
            )
            .into_owned()
        })
        .collect();
    assert_eq!(ids, ["4", "5"]);
    stream.ack(&again[1]);
    pg.psql("db", "insert into t values (6)").unwrap();
    let next = take(&mut stream, 1).await;
    assert_eq!(
        next[0].as_change().unwrap().after.as_ref().unwrap().text(0),
        Some(&b"6"[..])
    );
    stream.ack(&next[0]);
    stream.stop().await.unwrap();

    let mut stream = ChangeStream::connect(config(&pg, "db", "s1"))
        .await
        .unwrap();
    assert_quiet(&mut stream, Duration::from_secs(2)).await;
    stream.stop().await.unwrap();
}

/// A non-transactional message written just before COMMIT is sent first, and its LSN (the end
/// of its record) is where the transaction's commit record starts. The transaction is
/// delivered; with only the message acknowledged, a restart delivers the transaction again and
/// not the message.
#[tokio::test(flavor = "multi_thread")]
async fn a_transaction_committed_right_after_a_message_is_never_lost() {
    let pg = cluster();
    if pg.major_version() < 14 {
        eprintln!(
            "SKIPPED a_transaction_committed_right_after_a_message_is_never_lost: needs \
             PostgreSQL 14+ (pgoutput sends logical decoding messages from 14 on)"
        );
        return;
    }
    setup(&pg, "db", "create table t (id int primary key);");
    let mut stream = ChangeStream::connect(config(&pg, "db", "s1"))
        .await
        .unwrap();
    pg.psql(
        "db",
        "begin; insert into t values (1); \
         select pg_logical_emit_message(false, 'audit', 'just before the commit'); commit",
    )
    .unwrap();
    let events = take(&mut stream, 2).await;
    assert_eq!(summary(&events), ["m:audit", "c:public.t"]);
    stream.ack(&events[0]);
    stream.stop().await.unwrap();

    let mut stream = ChangeStream::connect(config(&pg, "db", "s1"))
        .await
        .unwrap();
    let again = take(&mut stream, 1).await;
    assert_eq!(summary(&again), ["c:public.t"]);
    stream.ack(&again[0]);
    stream.stop().await.unwrap();

    let mut stream = ChangeStream::connect(config(&pg, "db", "s1"))
        .await
        .unwrap();
    assert_quiet(&mut stream, Duration::from_secs(2)).await;
    stream.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_position_reaches_the_server_while_streaming() {
    let pg = cluster();
    setup(&pg, "db", "create table t (id int primary key);");
    let mut stream = ChangeStream::connect(config(&pg, "db", "s1"))
        .await
        .unwrap();
    pg.psql("db", "insert into t values (1)").unwrap();
    let events = take(&mut stream, 1).await;
    let before = pg
        .psql(
            "postgres",
            "select confirmed_flush_lsn from pg_replication_slots",
        )
        .unwrap();
    stream.ack(&events[0]);
    let mut advanced = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = pg
            .psql(
                "postgres",
                "select confirmed_flush_lsn from pg_replication_slots",
            )
            .unwrap();
        if now != before {
            advanced = true;
            break;
        }
    }
    assert!(
        advanced,
        "confirmed_flush_lsn did not move after the acknowledgement"
    );
    stream.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn clear_errors_for_common_mistakes() {
    let pg = ClusterBuilder::new()
        .superuser_password("right-pw")
        .start()
        .unwrap();
    pg.create_database("db").unwrap();
    pg.psql("db", "create table t (id int primary key)")
        .unwrap();
    let base = |password: &str| {
        let mut p = ConnectParams::from_dsn(&format!(
            "host={} port={} user=postgres dbname=db password={password}",
            pg.host(),
            pg.port()
        ))
        .unwrap();
        p.connect_timeout = Duration::from_secs(3);
        let mut c = ReplicationConfig::new(p);
        c.slot_name = "s".into();
        c.publication_name = "p".into();
        c
    };

    let err = ChangeStream::connect(base("wrong-pw"))
        .await
        .err()
        .expect("wrong password must fail");
    assert_eq!(err.kind(), ErrorKind::Authentication, "{err}");
    assert!(
        !err.to_string().contains("wrong-pw"),
        "the password leaked: {err}"
    );

    let mut c = base("right-pw");
    c.publication_autocreate = PublicationAutocreate::Disabled;
    let err = ChangeStream::connect(c)
        .await
        .err()
        .expect("missing publication");
    assert_eq!(err.kind(), ErrorKind::PublicationNotFound, "{err}");
    assert!(err.to_string().contains("CREATE PUBLICATION"), "{err}");

    let mut c = base("right-pw");
    c.publication_autocreate = PublicationAutocreate::AllTables;
    let err = ChangeStream::connect(c).await.err().expect("missing slot");
    assert_eq!(err.kind(), ErrorKind::SlotNotFound, "{err}");
    assert!(
        err.to_string()
            .contains("pg_create_logical_replication_slot"),
        "{err}"
    );

    let mut c = base("right-pw");
    c.connection.port = free_port();
    let started = std::time::Instant::now();
    let err = ChangeStream::connect(c)
        .await
        .err()
        .expect("unreachable host");
    assert_eq!(err.kind(), ErrorKind::Connection, "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread")]
async fn wal_level_replica_is_reported_with_the_fix() {
    let pg = ClusterBuilder::new()
        .setting("wal_level", "replica")
        .start()
        .unwrap();
    let mut c = ReplicationConfig::new(ConnectParams::from_dsn(&pg.dsn("postgres")).unwrap());
    c.create_slot = true;
    let err = ChangeStream::connect(c)
        .await
        .err()
        .expect("wal_level=replica must fail");
    assert_eq!(err.kind(), ErrorKind::ServerConfiguration, "{err}");
    assert!(err.to_string().contains("wal_level = logical"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn replica_identity_full_and_primary_key_changes() {
    let pg = cluster();
    setup(
        &pg,
        "db",
        "create table p (id int primary key, v text); alter table p replica identity full;
         create table q (a int, b int, primary key (a, b));",
    );
    let cfg = config(&pg, "db", "s1");
    let encoder = JsonEncoder::new(&cfg);
    let mut stream = ChangeStream::connect(cfg).await.unwrap();
    pg.psql(
        "db",
        "insert into p values (1, 'x'); update p set v = 'y' where id = 1; update p set id = 2 where id = 1;
         insert into q values (1, 1); update q set b = 2;",
    )
    .unwrap();
    let events = take(&mut stream, 7).await;
    let ops: Vec<Op> = events.iter().map(|e| e.as_change().unwrap().op).collect();
    assert_eq!(
        ops,
        [
            Op::Create,
            Op::Update,
            Op::Delete,
            Op::Create,
            Op::Create,
            Op::Delete,
            Op::Create
        ]
    );
    let update = value_json(&encoder, &events[1]);
    assert_eq!(update["before"], serde_json::json!({"id": 1, "v": "x"}));
    assert_eq!(update["after"], serde_json::json!({"id": 1, "v": "y"}));
    assert_eq!(key_json(&encoder, &events[2]), serde_json::json!({"id": 1}));
    assert_eq!(key_json(&encoder, &events[3]), serde_json::json!({"id": 2}));
    assert_eq!(
        key_json(&encoder, &events[5]),
        serde_json::json!({"a": 1, "b": 1})
    );
    assert_eq!(
        key_json(&encoder, &events[6]),
        serde_json::json!({"a": 1, "b": 2})
    );
    // Debezium's headers on a key change: the other key, with its schema (JsonConverter's
    // default for headers).
    let header = |event: &pgoutput_decoder::Event| {
        let records = encoder.records(event).unwrap();
        let (name, value) = records[0].headers[0].clone();
        let value: serde_json::Value = serde_json::from_str(&value).unwrap();
        (name, value["payload"].clone())
    };
    assert_eq!(
        header(&events[5]),
        (
            "__debezium.newkey".into(),
            serde_json::json!({"a": 1, "b": 2})
        )
    );
    assert_eq!(
        header(&events[6]),
        (
            "__debezium.oldkey".into(),
            serde_json::json!({"a": 1, "b": 1})
        )
    );
    assert!(encoder.records(&events[1]).unwrap()[0].headers.is_empty());
    stream.stop().await.unwrap();
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread")]
async fn least_privilege_role_can_stream() {
    let pg = ClusterBuilder::new()
        .superuser_password("admin-pw")
        .start()
        .unwrap();
    pg.create_database("app").unwrap();
    // What the README asks of an administrator: a publication created by the tables' owner,
    // and a role with LOGIN and REPLICATION; no superuser, no ownership, no SELECT (pgoutput
    // decodes in the walsender; the catalog queries read only pg_catalog).
    pg.psql(
        "app",
        "create table orders (id int primary key, total numeric(10,2));
         create publication app_pub for table orders;
         create role cdc with login replication password 'cdc-pw';",
    )
    .unwrap();
    assert_eq!(
        pg.psql(
            "app",
            "select has_table_privilege('cdc', 'orders', 'select')"
        )
        .unwrap(),
        "f"
    );
    let mut c = ReplicationConfig::new(
        ConnectParams::from_dsn(&format!(
            "host={} port={} user=cdc password=cdc-pw dbname=app",
            pg.host(),
            pg.port()
        ))
        .unwrap(),
    );
    c.slot_name = "cdc_slot".into();
    c.publication_name = "app_pub".into();
    c.publication_autocreate = PublicationAutocreate::Disabled;
    c.create_slot = true;
    let mut stream = ChangeStream::connect(c).await.unwrap();
    pg.psql("app", "insert into orders values (1, 9.99)")
        .unwrap();
    let events = take(&mut stream, 1).await;
    assert_eq!(
        events[0].as_change().unwrap().table.data_collection,
        "public.orders"
    );
    // The primary key, read from pg_index without SELECT on the table.
    assert_eq!(events[0].as_change().unwrap().table.key_columns, vec![0]);
    stream.stop().await.unwrap();
    let superuser = pg
        .psql("app", "select rolsuper from pg_roles where rolname = 'cdc'")
        .unwrap();
    assert_eq!(superuser, "f");
}

/// Each heartbeat runs `heartbeat.action.query` and hands out a heartbeat event, Debezium's
/// record on `__debezium-heartbeat.<prefix>`, between transactions.
#[tokio::test(flavor = "multi_thread")]
async fn heartbeats_run_the_action_query_and_are_events_on_the_heartbeat_topic() {
    let pg = cluster();
    setup(
        &pg,
        "db",
        "create table heartbeat (id int primary key, ts timestamptz not null);",
    );
    let mut cfg = config(&pg, "db", "s1");
    cfg.heartbeat_interval = Some(Duration::from_millis(300));
    cfg.heartbeat_action_query = Some(
        "insert into heartbeat values (1, now()) on conflict (id) do update set ts = excluded.ts"
            .into(),
    );
    let encoder = JsonEncoder::new(&cfg);
    let mut stream = ChangeStream::connect(cfg).await.unwrap();
    // Nothing else writes: the action query's upserts are the changes.
    let events = take(&mut stream, 8).await;
    let kinds = summary(&events);
    assert!(
        kinds
            .iter()
            .all(|k| k == "heartbeat" || k == "c:public.heartbeat" || k == "u:public.heartbeat"),
        "{kinds:?}"
    );
    assert!(
        kinds.iter().filter(|k| *k == "heartbeat").count() >= 2,
        "{kinds:?}"
    );
    assert!(kinds.iter().any(|k| k.starts_with("u:")), "{kinds:?}");
    let beats: Vec<&Event> = events.iter().filter(|e| e.is_heartbeat()).collect();
    let records = encoder.records(beats[1]).unwrap();
    assert_eq!(records[0].topic, "__debezium-heartbeat.t");
    assert_eq!(records[0].key.as_deref(), Some(r#"{"serverName":"t"}"#));
    let value: Json = serde_json::from_str(records[0].value.as_deref().unwrap()).unwrap();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert!(
        (now_ms - value["ts_ms"].as_i64().unwrap()).abs() < 60_000,
        "{value}"
    );
    // A heartbeat after a change carries the position of that change's transaction.
    let first_change = events.iter().position(|e| !e.is_heartbeat()).unwrap();
    for beat in events[first_change..].iter().filter(|e| e.is_heartbeat()) {
        assert!(beat.lsn() >= events[first_change].lsn(), "{beat:?}");
    }
    stream.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn column_filters_key_override_and_table_filters() {
    let pg = cluster();
    setup(
        &pg,
        "db",
        "create table users (id int primary key, email text not null, password_hash text);
         create table audit (id int primary key, note text);",
    );
    let mut cfg = config(&pg, "db", "s1");
    cfg.columns = pgoutput_decoder::config::NameFilter::new(
        &[],
        &["public\\.users\\.password_hash".into()],
        "column",
    )
    .unwrap();
    cfg.message_key_columns =
        pgoutput_decoder::config::parse_message_key_columns("public\\.users:email").unwrap();
    cfg.tables =
        pgoutput_decoder::config::NameFilter::new(&["public\\.users".into()], &[], "table")
            .unwrap();
    let encoder = JsonEncoder::new(&cfg);
    let mut stream = ChangeStream::connect(cfg).await.unwrap();
    pg.psql(
        "db",
        "insert into audit values (1, 'not captured'); insert into users values (1, 'a@example.com', 'secret');",
    )
    .unwrap();
    let events = take(&mut stream, 1).await;
    assert_eq!(
        value_json(&encoder, &events[0])["after"],
        serde_json::json!({"id": 1, "email": "a@example.com"})
    );
    assert_eq!(
        key_json(&encoder, &events[0]),
        serde_json::json!({"email": "a@example.com"})
    );
    assert_quiet(&mut stream, Duration::from_secs(1)).await;
    stream.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn stopping_right_after_acknowledging_a_transaction_confirms_it() {
    let pg = cluster();
    setup(&pg, "db", "create table t (id int primary key);");
    for round in 0..5 {
        let mut stream = ChangeStream::connect(config(&pg, "db", "s1"))
            .await
            .unwrap();
        pg.psql(
            "db",
            &format!(
                "insert into t select g from generate_series({0} * 100 + 1, {0} * 100 + 100) g",
                round
            ),
        )
        .unwrap();
        // Take the transaction's events and stop at once: its commit may not have been read.
        let events = take(&mut stream, 100).await;
        stream.ack(events.last().unwrap());
        stream.stop().await.unwrap();
    }
    let mut stream = ChangeStream::connect(config(&pg, "db", "s1"))
        .await
        .unwrap();
    assert_quiet(&mut stream, Duration::from_secs(1)).await;
    stream.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn batch_linger_holds_a_steady_stream_but_never_a_change_after_a_quiet_spell() {
    let pg = cluster();
    setup(&pg, "db", "create table t (id int primary key, v text);");
    let mut cfg = config(&pg, "db", "s1");
    // Far longer than anything else here, so a held change would show.
    cfg.batch_linger = Duration::from_secs(3);
    let encoder = JsonEncoder::new(&cfg);
    let mut stream = ChangeStream::connect(cfg).await.unwrap();
    let ids = |events: &[Event]| -> Vec<i64> {
        events
            .iter()
            .map(|e| value_json(&encoder, e)["after"]["id"].as_i64().unwrap())
            .collect()
    };

    for id in 1..=2 {
        pg.psql("db", &format!("insert into t values ({id}, 'alone')"))
            .unwrap();
        let inserted = std::time::Instant::now();
        let events = take(&mut stream, 1).await;
        let waited = inserted.elapsed();
        assert!(
            waited < Duration::from_millis(1500),
            "a change after a quiet spell was held for {waited:?}"
        );
        assert_eq!(ids(&events), [id]);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A burst: every change arrives, in order, whatever the batching.
    pg.psql(
        "db",
        "insert into t select g, repeat('x', 50) from generate_series(3, 20002) g",
    )
    .unwrap();
    let events = take(&mut stream, 20_000).await;
    let expected: Vec<i64> = (3..=20_002).collect();
    assert!(
        ids(&events) == expected,
        "the burst arrived incomplete or out of order"
    );
    stream.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn batch_linger_is_off_over_a_unix_socket() {
    // A Unix-domain socket holds only a few hundred small messages: a reader that paused
    // would stall the server. With a 2 s linger, 20,000 changes would take minutes.
    let pg = cluster();
    setup(&pg, "db", "create table t (id int primary key);");
    let dsn = format!(
        "host={} port={} user=postgres dbname=db",
        pg.socket_dir().display(),
        pg.port()
    );
    let mut cfg = config(&pg, "db", "s1");
    cfg.connection = ConnectParams::from_dsn(&dsn).unwrap();
    cfg.batch_linger = Duration::from_secs(2);
    let mut stream = ChangeStream::connect(cfg).await.unwrap();
    pg.psql("db", "insert into t values (0)").unwrap();
    take(&mut stream, 1).await;
    let started = std::time::Instant::now();
    pg.psql(
        "db",
        "do $$ begin for i in 1..200 loop \
           insert into t select g from generate_series(i * 100 + 1, i * 100 + 100) g; \
           commit; end loop; end $$",
    )
    .unwrap();
    take(&mut stream, 20_000).await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(20),
        "20,000 changes over a Unix socket took {took:?}"
    );
    stream.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slot_drop_on_stop_drops_the_slot_at_stop_but_not_when_dropped() {
    let pg = cluster();
    setup(&pg, "db", "create table t (id int primary key)");
    let slots = || {
        pg.psql(
            "postgres",
            "select count(*) from pg_replication_slots where slot_name = 'drop_slot'",
        )
        .unwrap()
    };
    let mut c = config(&pg, "db", "drop_slot");
    c.slot_drop_on_stop = true;

    // Dropping the stream is not a stop: the slot stays.
    let stream = ChangeStream::connect(c.clone()).await.unwrap();
    drop(stream);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(slots(), "1");

    // stop() drops it once the connection is closed.
    let mut stream = ChangeStream::connect(c.clone()).await.unwrap();
    pg.psql("db", "insert into t values (1)").unwrap();
    let events = take(&mut stream, 1).await;
    stream.ack(&events[0]);
    stream.stop().await.unwrap();
    assert_eq!(slots(), "0");

    // So does a stop through a StopHandle.
    let mut stream = ChangeStream::connect(c).await.unwrap();
    stream.stop_handle().stop();
    assert!(stream.next_event().await.unwrap().is_none());
    stream.stop().await.unwrap();
    assert_eq!(slots(), "0");
}

#[tokio::test(flavor = "multi_thread")]
async fn stats_and_delivery_over_two_sinks() {
    let pg = cluster();
    setup(
        &pg,
        "db",
        "create table a (id int primary key, v int); create table b (id int primary key);",
    );
    let config = config(&pg, "db", "s1");
    let capacity = config.max_queue_size as u64;
    let mut stream = ChangeStream::connect(config).await.unwrap();
    let fresh = stream.stats();
    assert!(fresh.connected);
    assert_eq!(fresh.events.total(), 0);
    assert_eq!(fresh.queue.event_capacity, capacity);
    assert_eq!(fresh.positions, stream.positions());

    // Three transactions: two inserts, one insert, an update and a delete.
    for sql in [
        "insert into a values (1), (2)",
        "insert into b values (1)",
        "begin; update a set v = 3 where id = 2; delete from b; commit;",
    ] {
        pg.psql("db", sql).unwrap();
    }
    let events = take(&mut stream, 5).await;
    let stats = stream.stats();
    assert_eq!(
        (
            stats.events.create,
            stats.events.update,
            stats.events.delete,
            stats.events.total()
        ),
        (3, 1, 1, 5)
    );
    let tables: Vec<(&str, u64)> = stats
        .tables
        .iter()
        .map(|t| (t.table.as_str(), t.events))
        .collect();
    assert_eq!(tables, [("public.a", 3), ("public.b", 2)]);
    assert!(stats.bytes_received > 0);
    assert_eq!(stats.transactions, 3);
    assert_eq!(stats.reconnects, 0);
    assert_eq!(stats.last_error, None);
    assert_eq!(stream.events_taken(), 5);

    // Two sinks: one writes in order, the other confirms out of order. Only what both hold
    // is acknowledged, and only at transaction ends.
    let delivery = stream.delivery(2);
    delivery.register(&events);
    let (in_order, out_of_order) = (delivery.reporter(0), delivery.reporter(1));
    in_order.durable_through(&events[4]);
    out_of_order.durable(&events[4]);
    out_of_order.durable(&events[3]);
    out_of_order.durable(&events[0]);
    assert_eq!(delivery.confirmable(), events[0].seq);
    let start = fresh.positions.acknowledged;
    assert_eq!(
        stream.positions().acknowledged,
        start,
        "half of the first transaction confirms nothing"
    );
    out_of_order.durable(&events[1]);
    let first_tx = stream.positions().acknowledged;
    assert!(
        first_tx > start,
        "the first insert's transaction is confirmable"
    );
    out_of_order.durable(&events[2]);
    assert_eq!(delivery.confirmable(), events[4].seq);
    let all = stream.positions().acknowledged;
    assert!(all > first_tx);
    // The acknowledged position reaches the server at the next status update.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while stream.stats().server_confirmed < all {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not confirmed to the server: {:?}",
            stream.stats()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stream.stop().await.unwrap();
}
