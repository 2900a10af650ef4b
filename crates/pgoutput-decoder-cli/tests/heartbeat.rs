//! `heartbeat.interval.ms` with the file sink: Debezium's heartbeat records are written between
//! the changes, and they do not keep `--exit-when-idle` from ending the run.

mod cli_run;

use std::{sync::Arc, time::Instant};

use throwaway_postgres::ClusterBuilder;

#[test]
fn heartbeats_are_written_and_do_not_count_as_activity() {
    let pg = Arc::new(ClusterBuilder::new().start().unwrap());
    pg.create_database("db").unwrap();
    pg.psql("db", "create table t (id int primary key)")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = cli_run::write_config(
        dir.path(),
        &pg,
        "publication.autocreate.mode=all_tables\nsnapshot.mode=no_data\n\
             heartbeat.interval.ms=200\n",
    );
    let out = dir.path().join("out.jsonl");
    let started = Instant::now();
    let mut cli = cli_run::spawn_stream(&config, &out, "3", std::process::Stdio::inherit());
    cli_run::wait_until_streaming(&pg);
    pg.psql("db", "insert into t values (1)").unwrap();
    let status = cli.wait().unwrap();
    assert!(status.success(), "{status}");
    // Heartbeats every 200 ms did not keep the run going past its idle limit.
    assert!(
        started.elapsed().as_secs() < 30,
        "ran for {:?}",
        started.elapsed()
    );
    let records: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let beats: Vec<&serde_json::Value> = records
        .iter()
        .filter(|r| r["topic"] == "__debezium-heartbeat.k")
        .collect();
    assert!(beats.len() >= 5, "{records:?}");
    for beat in &beats {
        assert_eq!(beat["key"], serde_json::json!({"serverName": "k"}));
        assert!(beat["value"]["ts_ms"].as_i64().unwrap() > 1_700_000_000_000);
    }
    let inserts = records
        .iter()
        .filter(|r| r["topic"] == "k.public.t")
        .count();
    assert_eq!(inserts, 1, "{records:?}");
}
