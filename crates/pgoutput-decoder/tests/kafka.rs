//! The Kafka sink against a real Kafka-protocol broker (tansu, started by `throwaway-kafka`)
//! and a throwaway PostgreSQL: what is read back from the topics is what the file sink writes
//! for the same events, keys land where the Java client puts them, and nothing is confirmed
//! to PostgreSQL before the broker acknowledged it (broker away at start, stopped and
//! restarted mid-stream, a record too large).

use std::{
    collections::{BTreeMap, HashMap},
    time::{Duration, Instant},
};

use pgoutput_decoder::{
    config::kafka::KafkaSinkConfig,
    conn::ConnectParams,
    partition::partition_for_key,
    pipeline::{FileSink, KafkaSink, Sink},
    ChangeStream, ErrorKind, JsonEncoder, Lsn, PublicationAutocreate, RecordFormat,
    ReplicationConfig,
};
use rdkafka::{
    consumer::{BaseConsumer, Consumer},
    message::{Headers, Message},
    ClientConfig, Offset, TopicPartitionList,
};
use serde_json::Value as Json;
use throwaway_kafka::{tansu_binary, Broker};
use throwaway_postgres::{Cluster, ClusterBuilder};

/// Skips the test (with a note) where tansu is not installed (`make setup` installs it).
macro_rules! need_tansu {
    () => {
        if tansu_binary().is_none() {
            eprintln!("skipped: no tansu binary (run `make setup`)");
            return;
        }
    };
}

fn cluster() -> Cluster {
    ClusterBuilder::new()
        .start()
        .expect("start a throwaway PostgreSQL")
}

fn config(pg: &Cluster, db: &str) -> ReplicationConfig {
    let mut c = ReplicationConfig::new(ConnectParams::from_dsn(&pg.dsn(db)).unwrap());
    c.slot_name = "kafka_slot".into();
    c.publication_name = "kafka_pub".into();
    c.publication_autocreate = PublicationAutocreate::AllTables;
    c.create_slot = true;
    c.topic_prefix = "kt".into();
    c.status_interval = Duration::from_millis(100);
    c
}

fn sink_config(broker: &Broker, partitions: i32) -> KafkaSinkConfig {
    let mut c = KafkaSinkConfig::new(broker.bootstrap_servers());
    c.topic_partitions = partitions;
    c.topic_replication_factor = 1;
    c.connect_timeout = Duration::from_secs(10);
    c
}

/// Waits (10 s at most) until the slot's confirmed position reaches `lsn`; `what` says what
/// failed if it does not.
async fn wait_confirmed(pg: &Cluster, lsn: Lsn, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while confirmed_flush_lsn(pg, "db") < lsn {
        assert!(
            Instant::now() < deadline,
            "{what}: the slot is at {}, not {lsn}",
            confirmed_flush_lsn(pg, "db")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The slot's confirmed position.
fn confirmed_flush_lsn(pg: &Cluster, db: &str) -> Lsn {
    pg.psql(
        db,
        "select confirmed_flush_lsn from pg_replication_slots where slot_name = 'kafka_slot'",
    )
    .unwrap()
    .trim()
    .parse()
    .unwrap()
}

fn current_lsn(pg: &Cluster, db: &str) -> Lsn {
    pg.psql(db, "select pg_current_wal_lsn()")
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Batches from the stream until `done` says so or 60 s passed; each is registered and given
/// to every sink.
async fn pump(
    stream: &mut ChangeStream,
    delivery: &pgoutput_decoder::pipeline::Delivery,
    sinks: &mut [&mut dyn Sink],
    mut done: impl FnMut(usize) -> bool,
) -> usize {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut events = 0;
    while !done(events) {
        assert!(Instant::now() < deadline, "timed out after {events} events");
        let batch = stream
            .next_batch_timeout(Duration::from_millis(200))
            .await
            .unwrap()
            .expect("the stream ended");
        if batch.is_empty() {
            continue;
        }
        delivery.register(&batch);
        for sink in sinks.iter_mut() {
            sink.write_batch(&batch).unwrap();
        }
        events += batch.len();
    }
    events
}

/// A record read back from the broker.
#[derive(Debug, Clone)]
struct Consumed {
    topic: String,
    partition: i32,
    key: Option<String>,
    value: Option<String>,
    headers: Vec<(String, String)>,
}

/// Every record of the topics starting with `prefix`, waiting until there are `expected`
/// (at most 30 s), in partition and offset order.
fn read_back(bootstrap: &str, prefix: &str, expected: usize) -> Vec<Consumed> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "kafka-test-reader")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .create()
        .unwrap();
    let md = consumer
        .fetch_metadata(None, Duration::from_secs(10))
        .unwrap();
    let mut assignment = TopicPartitionList::new();
    for t in md.topics().iter().filter(|t| t.name().starts_with(prefix)) {
        for p in t.partitions() {
            assignment
                .add_partition_offset(t.name(), p.id(), Offset::Beginning)
                .unwrap();
        }
    }
    consumer.assign(&assignment).unwrap();
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while out.len() < expected && Instant::now() < deadline {
        let Some(message) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let m = message.unwrap();
        let text = |b: Option<&[u8]>| b.map(|b| String::from_utf8(b.to_vec()).unwrap());
        let headers = m
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| (h.key.to_string(), text(h.value).unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default();
        out.push((
            m.offset(),
            Consumed {
                topic: m.topic().to_string(),
                partition: m.partition(),
                key: text(m.key()),
                value: text(m.payload()),
                headers,
            },
        ));
    }
    // A short wait for anything beyond what was expected (a duplicate).
    let extra = Instant::now() + Duration::from_millis(500);
    while Instant::now() < extra {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
            out.push((
                m.offset(),
                Consumed {
                    topic: m.topic().to_string(),
                    partition: m.partition(),
                    key: m.key().map(|k| String::from_utf8_lossy(k).into_owned()),
                    value: m.payload().map(|v| String::from_utf8_lossy(v).into_owned()),
                    headers: Vec::new(),
                },
            ));
        }
    }
    out.sort_by(|(ao, a), (bo, b)| (&a.topic, a.partition, ao).cmp(&(&b.topic, b.partition, bo)));
    out.into_iter().map(|(_, c)| c).collect()
}

/// A record as topic, key, value and headers, parsed.
type ParsedRecord = (String, Option<Json>, Option<Json>, Vec<(String, Json)>);

/// The file sink's envelope lines as records (headers in order).
fn file_records(text: &str) -> Vec<ParsedRecord> {
    text.lines()
        .map(|line| {
            let v: Json = serde_json::from_str(line).unwrap();
            let opt = |j: &Json| (!j.is_null()).then(|| j.clone());
            let headers = v["headers"]
                .as_object()
                .map(|h| h.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default();
            (
                v["topic"].as_str().unwrap().to_string(),
                opt(&v["key"]),
                opt(&v["value"]),
                headers,
            )
        })
        .collect()
}

fn json(text: &Option<String>) -> Option<Json> {
    text.as_ref().map(|t| serde_json::from_str(t).unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn records_are_the_file_sinks_and_keys_land_where_java_puts_them() {
    need_tansu!();
    let broker = Broker::start().unwrap();
    let pg = cluster();
    pg.create_database("db").unwrap();
    pg.psql(
        "db",
        r#"create table orders (id int primary key, note text);
           create table "Tåble With Spaces" (id int primary key, "wert ü" text);
           create table nokey (v text);"#,
    )
    .unwrap();
    let mut cfg = config(&pg, "db");
    cfg.provide_transaction_metadata = true;
    let encoder = JsonEncoder::new(&cfg);
    let mut stream = ChangeStream::connect(cfg).await.unwrap();
    pg.psql(
        "db",
        r#"insert into orders select g, 'note ' || g from generate_series(1, 40) g;
           insert into "Tåble With Spaces" values (1, 'ä'), (2, '日本');
           insert into nokey values ('a'), ('b');
           update orders set note = 'changed' where id <= 5;
           update orders set id = 100 where id = 6;
           delete from orders where id between 7 and 9;
           select pg_logical_emit_message(true, 'audit', 'in a transaction');
           select pg_logical_emit_message(false, 'audit', 'on its own');
           alter table orders add column extra int default 7;
           insert into orders values (41, 'after the schema change', 8);"#,
    )
    .unwrap();

    let delivery = stream.delivery(2);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    let mut file = FileSink::new(
        std::fs::File::create(&path).unwrap(),
        encoder.record_writer(),
        RecordFormat::Envelope,
        delivery.reporter(0),
        path.display().to_string(),
    );
    let mut kafka = KafkaSink::connect(
        &sink_config(&broker, 3),
        encoder.clone(),
        delivery.reporter(1),
    )
    .unwrap();
    let end = current_lsn(&pg, "db");
    let mut quiet_since = Instant::now();
    let mut last = 0;
    pump(&mut stream, &delivery, &mut [&mut file, &mut kafka], |n| {
        if n != last {
            last = n;
            quiet_since = Instant::now();
        }
        stream_caught_up(n) && quiet_since.elapsed() > Duration::from_millis(1500)
    })
    .await;
    kafka.flush().unwrap();
    file.flush().unwrap();
    assert_eq!(kafka.in_flight(), 0);

    // Everything written is acknowledged by both sinks: it is confirmed to the server.
    wait_confirmed(&pg, end, "everything written was not confirmed").await;

    let written = std::fs::read_to_string(&path).unwrap();
    let expected = file_records(&written);
    assert!(expected.len() > 60, "{} records", expected.len());
    let consumed = read_back(&broker.bootstrap_servers(), "kt.", expected.len());
    assert_eq!(consumed.len(), expected.len(), "records read back");

    // Per topic and partition, the file's records in the file's order; a keyed record in the
    // partition the Java client chooses, murmur2(key) mod 3.
    let mut want: BTreeMap<(String, i32), Vec<_>> = BTreeMap::new();
    let mut unkeyed: HashMap<String, Vec<_>> = HashMap::new();
    for (topic, key, value, headers) in &expected {
        match key {
            Some(k) => {
                let p = partition_for_key(k.to_string().as_bytes(), 3) as i32;
                want.entry((topic.clone(), p)).or_default().push((
                    key.clone(),
                    value.clone(),
                    headers.clone(),
                ));
            }
            None => unkeyed
                .entry(topic.clone())
                .or_default()
                .push(value.clone()),
        }
    }
    let mut got: BTreeMap<(String, i32), Vec<_>> = BTreeMap::new();
    let mut got_unkeyed: HashMap<String, Vec<_>> = HashMap::new();
    for c in &consumed {
        if let Some(key) = &c.key {
            assert_eq!(
                c.partition as u32,
                partition_for_key(key.as_bytes(), 3),
                "partition of {key} in {}",
                c.topic
            );
        }
        let headers: Vec<(String, Json)> = c
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::from_str(v).unwrap()))
            .collect();
        match json(&c.key) {
            Some(k) => got
                .entry((c.topic.clone(), c.partition))
                .or_default()
                .push((Some(k), json(&c.value), headers)),
            None => got_unkeyed
                .entry(c.topic.clone())
                .or_default()
                .push(json(&c.value)),
        }
    }
    assert_eq!(got, want, "keyed records per topic and partition");
    let sort = |m: &mut HashMap<String, Vec<Option<Json>>>| {
        for v in m.values_mut() {
            v.sort_by_key(|j| j.as_ref().map(Json::to_string));
        }
    };
    sort(&mut unkeyed);
    sort(&mut got_unkeyed);
    assert_eq!(got_unkeyed, unkeyed, "records without a key per topic");

    // The topics: sanitised names, transaction and message topics (pgoutput sends logical
    // decoding messages from PostgreSQL 14 on).
    let topics: std::collections::BTreeSet<&str> =
        consumed.iter().map(|c| c.topic.as_str()).collect();
    let mut expected = vec![
        "kt.public.T_ble_With_Spaces",
        "kt.public.nokey",
        "kt.public.orders",
        "kt.transaction",
    ];
    if pg.major_version() >= 14 {
        expected.insert(0, "kt.message");
    }
    assert_eq!(topics.into_iter().collect::<Vec<_>>(), expected);
    // The key change carries Debezium's headers, the tombstones are there.
    let pk_change: Vec<&Consumed> = consumed
        .iter()
        .filter(|c| c.headers.iter().any(|(k, _)| k.starts_with("__debezium.")))
        .collect();
    assert_eq!(pk_change.len(), 3, "delete, its tombstone, create");
    let tombstones = consumed
        .iter()
        .filter(|c| c.topic == "kt.public.orders" && c.value.is_none())
        .count();
    assert_eq!(tombstones, 4, "three deletes and the key change's delete");
    // A table rebuilt from its topic (latest value per key, tombstones delete) equals it.
    let mut table: BTreeMap<i64, Json> = BTreeMap::new();
    for c in consumed.iter().filter(|c| c.topic == "kt.public.orders") {
        let id = json(&c.key).unwrap()["id"].as_i64().unwrap();
        match json(&c.value) {
            Some(v) if !v["after"].is_null() => {
                table.insert(id, v["after"].clone());
            }
            _ => {
                table.remove(&id);
            }
        }
    }
    let rows = pg
        .psql(
            "db",
            "select json_agg(row_to_json(o) order by id) from (select id, note from orders) o",
        )
        .unwrap();
    let rows: Vec<Json> = serde_json::from_str(&rows).unwrap();
    assert_eq!(table.len(), rows.len());
    for row in rows {
        let after = &table[&row["id"].as_i64().unwrap()];
        assert_eq!(after["note"], row["note"]);
    }
    drop(kafka);
    stream.stop().await.unwrap();
}

/// The workload above makes more than 60 events; the pump stops once it has them and the
/// stream went quiet.
fn stream_caught_up(events: usize) -> bool {
    events >= 60
}

#[test]
fn an_unreachable_broker_at_start_is_one_clear_error_after_retries() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = KafkaSinkConfig::new(format!("127.0.0.1:{port}"));
    config.connect_timeout = Duration::from_millis(1500);
    let encoder = JsonEncoder::with_options("kt", "db", Default::default(), true);
    let delivery = delivery_for_tests();
    let started = Instant::now();
    let e = KafkaSink::connect(&config, encoder, delivery.reporter(0)).unwrap_err();
    let waited = started.elapsed();
    assert_eq!(e.kind(), ErrorKind::Connection);
    let message = e.to_string();
    assert!(
        message.starts_with(&format!(
            "could not reach the Kafka brokers at 127.0.0.1:{port} within 1500 ms"
        )),
        "{message}"
    );
    assert!(message.contains("refused"), "{message}");
    assert!(
        waited >= Duration::from_millis(1000),
        "gave up too soon: {waited:?}"
    );
    assert!(waited < Duration::from_secs(10), "took {waited:?}");
}

/// A delivery outside a stream, for a sink that never gets events.
fn delivery_for_tests() -> pgoutput_decoder::pipeline::Delivery {
    pgoutput_decoder::pipeline::Delivery::detached(1)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broker_restart_mid_stream_loses_nothing_and_confirms_only_what_was_acknowledged() {
    need_tansu!();
    let mut broker = Broker::start().unwrap();
    let pg = cluster();
    pg.create_database("db").unwrap();
    pg.psql("db", "create table t (id int primary key, pad text)")
        .unwrap();
    let cfg = config(&pg, "db");
    let encoder = JsonEncoder::new(&cfg);
    let mut stream = ChangeStream::connect(cfg).await.unwrap();
    let delivery = stream.delivery(1);
    let mut sink_cfg = sink_config(&broker, 2);
    // Short reconnect backoff: the test should not wait for librdkafka's 10 s maximum.
    sink_cfg
        .producer
        .push(("reconnect.backoff.max.ms".into(), "500".into()));
    let mut kafka = KafkaSink::connect(&sink_cfg, encoder, delivery.reporter(0)).unwrap();

    pg.psql(
        "db",
        "insert into t select g, repeat('x', 100) from generate_series(1, 500) g",
    )
    .unwrap();
    pump(&mut stream, &delivery, &mut [&mut kafka], |n| n >= 500).await;
    kafka.flush().unwrap();
    let before_stop = current_lsn(&pg, "db");
    wait_confirmed(&pg, before_stop, "the first rows were not confirmed").await;

    broker.stop().unwrap();
    pg.psql(
        "db",
        "insert into t select g, repeat('y', 100) from generate_series(501, 1000) g;
         insert into t select g, repeat('z', 100) from generate_series(1001, 1500) g;",
    )
    .unwrap();
    pump(&mut stream, &delivery, &mut [&mut kafka], |n| n >= 1000).await;
    // The broker is away: nothing new may be confirmed.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let confirmed = confirmed_flush_lsn(&pg, "db");
    assert!(
        confirmed <= before_stop,
        "confirmed {confirmed} while the broker was down (acknowledged up to {before_stop})"
    );
    assert!(kafka.in_flight() > 0);

    broker.restart().unwrap();
    kafka.flush_within(Duration::from_secs(60)).unwrap();
    let end = current_lsn(&pg, "db");
    wait_confirmed(&pg, end, "not confirmed after the restart").await;
    let consumed = read_back(&broker.bootstrap_servers(), "kt.", 1500);
    let mut ids: Vec<i64> = consumed
        .iter()
        .map(|c| json(&c.key).unwrap()["id"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(
        ids.len(),
        1500,
        "every row once: nothing lost, nothing written twice"
    );
    ids.dedup();
    assert_eq!(ids.len(), 1500);
    drop(kafka);
    stream.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_record_too_large_is_a_clear_error_and_nothing_past_it_is_confirmed() {
    need_tansu!();
    let broker = Broker::start().unwrap();
    let pg = cluster();
    pg.create_database("db").unwrap();
    pg.psql("db", "create table big (id int primary key, body text)")
        .unwrap();
    let cfg = config(&pg, "db");
    let encoder = JsonEncoder::new(&cfg);
    let mut stream = ChangeStream::connect(cfg).await.unwrap();
    let delivery = stream.delivery(1);
    let mut sink_cfg = sink_config(&broker, 1);
    sink_cfg
        .producer
        .push(("message.max.bytes".into(), "20000".into()));
    let mut kafka = KafkaSink::connect(&sink_cfg, encoder, delivery.reporter(0)).unwrap();

    let before_small = current_lsn(&pg, "db");
    pg.psql("db", "insert into big values (1, 'small')")
        .unwrap();
    let after_small = current_lsn(&pg, "db");
    pg.psql(
        "db",
        "insert into big select 2, string_agg(md5(g::text), '') from generate_series(1, 2000) g;
         insert into big values (3, 'small again');",
    )
    .unwrap();
    let mut failure = None;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = 0;
    while failure.is_none() && seen < 3 {
        assert!(Instant::now() < deadline);
        let batch = stream
            .next_batch_timeout(Duration::from_millis(200))
            .await
            .unwrap()
            .unwrap();
        delivery.register(&batch);
        seen += batch.len();
        if let Err(e) = kafka.write_batch(&batch) {
            failure = Some(e);
        }
    }
    let e = failure.expect("the large record is refused");
    assert_eq!(e.kind(), ErrorKind::Sink);
    let message = e.to_string();
    assert!(
        message.starts_with("the record of table public.big at LSN "),
        "{message}"
    );
    assert!(message.contains("is too large for Kafka"), "{message}");
    assert!(message.contains("producer.message.max.bytes"), "{message}");
    // The small row before it is acknowledged and confirmed; nothing after.
    let _ = kafka.flush_within(Duration::from_secs(10));
    tokio::time::sleep(Duration::from_millis(800)).await;
    let confirmed = stream.positions().acknowledged;
    assert!(
        confirmed > before_small,
        "the small row was not confirmed: {confirmed}"
    );
    stream.stop().await.unwrap();
    let slot = confirmed_flush_lsn(&pg, "db");
    assert!(
        slot <= after_small,
        "the slot moved past the refused record: {slot} > {after_small}"
    );
}

/// With `heartbeat.interval.ms`, an idle stream writes Debezium's heartbeat records to
/// `__debezium-heartbeat.<prefix>`: key `{"serverName"}`, value `{"ts_ms"}`.
#[tokio::test(flavor = "multi_thread")]
async fn heartbeats_go_to_the_heartbeat_topic() {
    need_tansu!();
    let broker = Broker::start().unwrap();
    let pg = cluster();
    pg.create_database("db").unwrap();
    let mut cfg = config(&pg, "db");
    cfg.heartbeat_interval = Some(Duration::from_millis(200));
    let encoder = JsonEncoder::new(&cfg);
    let mut stream = ChangeStream::connect(cfg).await.unwrap();
    let delivery = stream.delivery(1);
    let mut kafka =
        KafkaSink::connect(&sink_config(&broker, 1), encoder, delivery.reporter(0)).unwrap();
    // Nothing is written to the database: only heartbeats come.
    pump(&mut stream, &delivery, &mut [&mut kafka], |n| n >= 3).await;
    kafka.flush().unwrap();
    let consumed = read_back(&broker.bootstrap_servers(), "__debezium-heartbeat", 3);
    assert!(consumed.len() >= 3, "{consumed:?}");
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    for c in &consumed {
        assert_eq!(c.topic, "__debezium-heartbeat.kt");
        assert_eq!(c.key.as_deref(), Some(r#"{"serverName":"kt"}"#));
        let value = json(&c.value).unwrap();
        let ts = value["ts_ms"].as_i64().unwrap();
        assert!((now_ms - ts).abs() < 60_000, "{value}");
    }
    drop(kafka);
    stream.stop().await.unwrap();
}

/// A record the broker never acknowledges (it is down for longer than
/// `delivery.timeout.ms`) fails the sink through the delivery report: the error names the
/// table and the LSN, and the slot does not move past the last acknowledged change.
#[tokio::test(flavor = "multi_thread")]
async fn a_record_never_acknowledged_is_a_clear_error_and_nothing_past_it_is_confirmed() {
    need_tansu!();
    let mut broker = Broker::start().unwrap();
    let pg = cluster();
    pg.create_database("db").unwrap();
    pg.psql("db", "create table t (id int primary key)")
        .unwrap();
    let cfg = config(&pg, "db");
    let encoder = JsonEncoder::new(&cfg);
    let mut stream = ChangeStream::connect(cfg).await.unwrap();
    let delivery = stream.delivery(1);
    let mut sink_cfg = sink_config(&broker, 1);
    sink_cfg
        .producer
        .push(("delivery.timeout.ms".into(), "2000".into()));
    let mut kafka = KafkaSink::connect(&sink_cfg, encoder, delivery.reporter(0)).unwrap();
    pg.psql("db", "insert into t values (1)").unwrap();
    pump(&mut stream, &delivery, &mut [&mut kafka], |n| n >= 1).await;
    kafka.flush().unwrap();
    let acknowledged = current_lsn(&pg, "db");
    wait_confirmed(&pg, acknowledged, "the first row was not confirmed").await;

    broker.stop().unwrap();
    pg.psql("db", "insert into t values (2)").unwrap();
    pump(&mut stream, &delivery, &mut [&mut kafka], |n| n >= 1).await;
    let e = kafka
        .flush_within(Duration::from_secs(20))
        .expect_err("the record cannot be acknowledged");
    let message = e.to_string();
    assert_eq!(e.kind(), ErrorKind::Sink);
    assert!(
        message.starts_with("Kafka did not take the record of table public.t at LSN "),
        "{message}"
    );
    assert!(message.contains("delivery.timeout.ms"), "{message}");
    // Later calls fail the same way; nothing from the refused change on is confirmed.
    assert!(kafka.write_batch(&[]).is_err());
    tokio::time::sleep(Duration::from_millis(500)).await;
    stream.stop().await.unwrap();
    let slot = confirmed_flush_lsn(&pg, "db");
    assert!(
        slot <= acknowledged,
        "the slot moved past the unacknowledged record: {slot} > {acknowledged}"
    );
}

/// TLS needs librdkafka built with OpenSSL (feature `kafka-tls`); without it the setting is
/// refused by name at start.
#[test]
fn tls_settings_pass_through_with_the_kafka_tls_feature() {
    let mut config = KafkaSinkConfig::new("127.0.0.1:1");
    config.connect_timeout = Duration::from_millis(300);
    config
        .producer
        .push(("security.protocol".into(), "SSL".into()));
    let encoder = JsonEncoder::with_options("kt", "db", Default::default(), true);
    let e = KafkaSink::connect(&config, encoder, delivery_for_tests().reporter(0)).unwrap_err();
    if cfg!(feature = "kafka-tls") {
        assert_eq!(e.kind(), ErrorKind::Connection, "{e}");
    } else {
        assert_eq!(e.kind(), ErrorKind::Config, "{e}");
        assert!(e.to_string().contains("security.protocol"), "{e}");
    }
}
