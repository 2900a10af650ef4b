//! `pgoutput-decoder stream --sink kafka` end to end, against a tansu broker and a throwaway
//! PostgreSQL: a Debezium Server `application.properties` works as it is, the records read
//! back equal what the file sink writes for the same changes, and an unreachable broker is
//! one clear error.

use std::{
    collections::BTreeMap,
    path::Path,
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

use rdkafka::{
    consumer::{BaseConsumer, Consumer},
    message::Message,
    ClientConfig, Offset, TopicPartitionList,
};
use serde_json::Value as Json;
use throwaway_kafka::{tansu_binary, Broker};
use throwaway_postgres::{Cluster, ClusterBuilder};

const BIN: &str = env!("CARGO_BIN_EXE_pgoutput-decoder");

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run the CLI")
}

/// A Debezium Server configuration for `slot`, writing to the broker at `bootstrap`.
fn application_properties(dir: &Path, pg: &Cluster, slot: &str, bootstrap: &str) -> String {
    let path = dir.join(format!("{slot}.properties"));
    std::fs::write(
        &path,
        format!(
            "debezium.sink.type=kafka\n\
             debezium.sink.kafka.producer.bootstrap.servers={bootstrap}\n\
             debezium.sink.kafka.producer.key.serializer=org.apache.kafka.common.serialization.StringSerializer\n\
             debezium.sink.kafka.producer.value.serializer=org.apache.kafka.common.serialization.StringSerializer\n\
             debezium.source.connector.class=io.debezium.connector.postgresql.PostgresConnector\n\
             debezium.source.offset.storage.file.filename=data/offsets.dat\n\
             debezium.source.offset.flush.interval.ms=0\n\
             debezium.source.database.hostname={}\n\
             debezium.source.database.port={}\n\
             debezium.source.database.user=postgres\n\
             debezium.source.database.dbname=db\n\
             debezium.source.topic.prefix=srv\n\
             debezium.source.plugin.name=pgoutput\n\
             debezium.source.slot.name={slot}\n\
             debezium.source.publication.name=all_pub\n\
             debezium.format.key.schemas.enable=false\n\
             debezium.format.value.schemas.enable=false\n\
             debezium.source.topic.creation.default.partitions=2\n\
             debezium.source.topic.creation.default.replication.factor=1\n\
             quarkus.log.console.json=false\n",
            pg.host(),
            pg.port()
        ),
    )
    .unwrap();
    path.to_string_lossy().into_owned()
}

/// `(topic, key, value)` of every record read back, per topic in offset order of each
/// partition, waiting for `expected` of them.
fn read_back(bootstrap: &str, expected: usize) -> Vec<(String, i32, Option<Json>, Option<Json>)> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "cli-test-reader")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let md = consumer
        .fetch_metadata(None, Duration::from_secs(10))
        .unwrap();
    let mut assignment = TopicPartitionList::new();
    for t in md.topics().iter().filter(|t| t.name().starts_with("srv.")) {
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
        if let Some(m) = consumer.poll(Duration::from_millis(200)) {
            let m = m.unwrap();
            let parse = |b: Option<&[u8]>| b.map(|b| serde_json::from_slice::<Json>(b).unwrap());
            out.push((
                (m.topic().to_string(), m.partition(), m.offset()),
                parse(m.key()),
                parse(m.payload()),
            ));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out.into_iter()
        .map(|((t, p, _), k, v)| (t, p, k, v))
        .collect()
}

#[test]
fn a_debezium_server_configuration_streams_to_kafka_what_the_file_sink_writes() {
    if tansu_binary().is_none() {
        eprintln!("skipped: no tansu binary (run `make setup`)");
        return;
    }
    let broker = Broker::start().unwrap();
    let pg = ClusterBuilder::new().start().unwrap();
    pg.create_database("db").unwrap();
    pg.psql(
        "db",
        "create table items (id int primary key, name text);
         create publication all_pub for all tables;
         select pg_create_logical_replication_slot('to_file', 'pgoutput');
         select pg_create_logical_replication_slot('to_kafka', 'pgoutput');
         insert into items select g, 'item ' || g from generate_series(1, 30) g;
         update items set name = 'renamed' where id < 4;
         update items set id = 31 where id = 30;
         delete from items where id = 10;",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bootstrap = broker.bootstrap_servers();

    // The same changes through the file sink (the connector part of the same file, read as
    // a Debezium Server configuration with --sink file) and through Kafka.
    let file_config = application_properties(dir.path(), &pg, "to_file", &bootstrap);
    let output = dir.path().join("events.jsonl");
    let out = run(&[
        "stream",
        "--config",
        &file_config,
        "--sink",
        "file",
        "--output",
        output.to_str().unwrap(),
        "--exit-when-idle",
        "2",
        "--quiet",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let kafka_config = application_properties(dir.path(), &pg, "to_kafka", &bootstrap);
    let out = run(&[
        "stream",
        "--config",
        &kafka_config,
        "--exit-when-idle",
        "2",
        "--quiet",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("producer.key.serializer"),
        "noted: {stderr}"
    );

    let lines: Vec<Json> = std::fs::read_to_string(&output)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines.len(),
        30 + 3 + 3 + 2,
        "inserts, updates, key change, delete"
    );
    let records = read_back(&bootstrap, lines.len());
    assert_eq!(records.len(), lines.len());
    // Per key, the same records in the same order (keys of one table keep their order in
    // their partition); values equal but for the processing time.
    let strip = |v: &Option<Json>| {
        v.clone().map(|mut v| {
            for f in ["ts_ms", "ts_us", "ts_ns"] {
                v.as_object_mut().unwrap().remove(f);
            }
            v
        })
    };
    let mut want: BTreeMap<String, Vec<Option<Json>>> = BTreeMap::new();
    for l in &lines {
        let (topic, key) = (l["topic"].as_str().unwrap(), l["key"].to_string());
        want.entry(format!("{topic} {key}"))
            .or_default()
            .push(strip(&(!l["value"].is_null()).then(|| l["value"].clone())));
    }
    let mut got: BTreeMap<String, Vec<Option<Json>>> = BTreeMap::new();
    for (topic, _, key, value) in &records {
        let key = key.clone().unwrap_or(Json::Null).to_string();
        got.entry(format!("{topic} {key}"))
            .or_default()
            .push(strip(value));
    }
    assert_eq!(got, want);
    // topic.creation.default.partitions from the source properties.
    assert!(records.iter().any(|(_, p, _, _)| *p == 1));
    assert!(records.iter().all(|(_, p, _, _)| *p < 2));
    // Everything is confirmed.
    let lag = pg
        .psql(
            "db",
            "select pg_current_wal_lsn() > confirmed_flush_lsn from pg_replication_slots \
             where slot_name = 'to_kafka'",
        )
        .unwrap();
    assert_eq!(lag, "f", "the slot is not confirmed up to the end");
}

#[test]
fn an_unreachable_broker_is_one_clear_error() {
    let pg = ClusterBuilder::new().start().unwrap();
    pg.create_database("db").unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("connector.properties");
    std::fs::write(
        &path,
        format!(
            "database.hostname={}\ndatabase.port={}\ndatabase.user=postgres\n\
             database.dbname=db\ntopic.prefix=cli\nslot.name=cli_slot\n\
             bootstrap.servers=127.0.0.1:{port}\nkafka.connect.timeout.ms=1000\n",
            pg.host(),
            pg.port()
        ),
    )
    .unwrap();
    let out = run(&[
        "stream",
        "--config",
        path.to_str().unwrap(),
        "--sink",
        "kafka",
        "--quiet",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one error line:\n{stderr}");
    assert!(
        lines[0].starts_with(&format!(
            "error: could not reach the Kafka brokers at 127.0.0.1:{port} within 1000 ms"
        )),
        "{stderr}"
    );
}
