//! Running the CLI in the fault tests: the connector properties they share, a `stream`
//! process writing to a file, and waiting until it streams.

// Each test binary includes this module and uses part of it.
#![allow(dead_code)]

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use throwaway_postgres::Cluster;

/// The CLI under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_pgoutput-decoder");

/// The properties every fault test starts from: database `db` of `pg` as `postgres`, topic
/// prefix `k`, slot `k_slot`, publication `k_pub`; then the lines of `extra`.
pub fn properties(pg: &Cluster, extra: &str) -> String {
    format!(
        "database.hostname={}\ndatabase.port={}\ndatabase.user=postgres\ndatabase.dbname=db\n\
         topic.prefix=k\nslot.name=k_slot\npublication.name=k_pub\n{extra}",
        pg.host(),
        pg.port(),
    )
}

/// Writes [`properties`] with `extra` to `dir/c.properties` and returns its path.
pub fn write_config(dir: &Path, pg: &Cluster, extra: &str) -> PathBuf {
    let config = dir.join("c.properties");
    std::fs::write(&config, properties(pg, extra)).unwrap();
    config
}

/// `pgoutput-decoder stream --config CONFIG --output OUT --exit-when-idle IDLE`, with stdin
/// closed and standard error to `stderr`.
pub fn spawn_stream(config: &Path, out: &Path, idle: &str, stderr: impl Into<Stdio>) -> Child {
    Command::new(BIN)
        .args([
            "stream",
            "--config",
            config.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
            "--exit-when-idle",
            idle,
        ])
        .stdin(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap()
}

/// Waits (30 s at most) until a replication slot of `pg` is active: the CLI is streaming.
pub fn wait_until_streaming(pg: &Cluster) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while pg
        .psql(
            "postgres",
            "select count(*) from pg_replication_slots where active",
        )
        .unwrap()
        != "1"
    {
        assert!(Instant::now() < deadline, "the CLI never started streaming");
        std::thread::sleep(Duration::from_millis(100));
    }
}
