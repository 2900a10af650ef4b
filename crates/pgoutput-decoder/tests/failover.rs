//! Failover to a promoted standby with PostgreSQL 17 failover slots: the primary dies under a
//! continuous insert workload, the standby (which kept a synchronized copy of the logical
//! slot) is promoted, and the stream, given both hosts and `target_session_attrs=read-write`,
//! goes on from the new primary by itself: every committed row arrives once.
//!
//! Needs PostgreSQL 17 or later: `PG17_BIN`, else `PG_BIN` if it is 17+, else
//! `/usr/lib/postgresql/{17,18}/bin`, else `postgres/17/bin` in the cache of
//! `scripts/fetch-postgres.sh` (run by `scripts/bootstrap.sh`). Without them the test is
//! skipped with a message, except under `CI=true`, where it fails. When `PG_BIN` chooses an
//! older server (as `make test-matrix` does) and `PG17_BIN` is not set, it is skipped: that
//! version has no failover slots.

mod support;

use std::{
    collections::BTreeMap,
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};

use pgoutput_decoder::{
    config::ReconnectPolicy, conn::ConnectParams, ChangeStream, Event, PublicationAutocreate,
    ReplicationConfig,
};
use support::spawn_workload;
use throwaway_postgres::{Cluster, ClusterBuilder, StandbyOptions, StopMode};

const SLOT: &str = "failover_slot";
const STANDBY_SLOT: &str = "standby_slot";

/// The major version of the server binaries in `dir`, if they are there.
fn major_of(dir: &Path) -> Option<u32> {
    let out = Command::new(dir.join("postgres"))
        .arg("--version")
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    // "postgres (PostgreSQL) 17.10"
    let version = text.split_whitespace().nth(2)?;
    version.split('.').next()?.parse().ok()
}

/// Where `scripts/fetch-postgres.sh` installs the server binaries (the same rules).
fn fetch_cache() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PGOUTPUT_DECODER_CACHE").filter(|v| !v.is_empty()) {
        return Some(dir.into());
    }
    // The owner of /proc/self is the process's user: root gets the system-wide cache.
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    if root {
        return Some("/var/cache/pgoutput-decoder".into());
    }
    match std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => Some(PathBuf::from(dir).join("pgoutput-decoder")),
        None => Some(PathBuf::from(std::env::var_os("HOME")?).join(".cache/pgoutput-decoder")),
    }
}

/// The major version `PG_BIN` chooses when it chooses one older than 17 and `PG17_BIN` is
/// not set: the server under test has no failover slots.
fn older_server_chosen() -> Option<u32> {
    if std::env::var_os("PG17_BIN").is_some_and(|v| !v.is_empty()) {
        return None;
    }
    let dir = std::env::var_os("PG_BIN").filter(|v| !v.is_empty())?;
    major_of(Path::new(&dir)).filter(|major| *major < 17)
}

fn pg17_bin() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    for var in ["PG17_BIN", "PG_BIN"] {
        if let Some(dir) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            candidates.push(dir.into());
        }
    }
    candidates.push("/usr/lib/postgresql/17/bin".into());
    candidates.push("/usr/lib/postgresql/18/bin".into());
    if let Some(cache) = fetch_cache() {
        candidates.push(cache.join("postgres/17/bin"));
    }
    candidates
        .into_iter()
        .filter(|dir| major_of(dir).is_some_and(|major| major >= 17))
        .find_map(|dir| dir.canonicalize().ok())
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

fn sql(pg: &Cluster, db: &str, sql: &str) -> String {
    pg.psql(db, sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Records row ids (and their batch) → how often each arrived; acknowledges the batch.
fn consume(stream: &mut ChangeStream, batch: &[Event], seen: &mut BTreeMap<i64, (i32, u32)>) {
    for e in batch {
        let change = e.as_change().expect("only row changes here");
        let after = change.after.as_ref().unwrap();
        let text = |i| {
            std::str::from_utf8(after.text(i).unwrap())
                .unwrap()
                .to_owned()
        };
        let id: i64 = text(0).parse().unwrap();
        let batch_no: i32 = text(1).parse().unwrap();
        seen.entry(id).or_insert((batch_no, 0)).1 += 1;
    }
    if let Some(last) = batch.last() {
        stream.ack(last);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn failover_to_promoted_standby_loses_and_duplicates_nothing() {
    if let Some(major) = older_server_chosen() {
        eprintln!(
            "SKIPPED failover_to_promoted_standby_loses_and_duplicates_nothing: failover slots \
             need PostgreSQL 17+, PG_BIN chooses {major}"
        );
        return;
    }
    let Some(bin) = pg17_bin() else {
        if in_ci() {
            panic!(
                "CI=true, but no PostgreSQL 17+ server binaries were found (PG17_BIN, PG_BIN, \
                 /usr/lib/postgresql/17/bin, the fetch-postgres.sh cache): scripts/bootstrap.sh installs them \
                 with scripts/fetch-postgres.sh 17"
            );
        }
        eprintln!(
            "SKIPPED failover_to_promoted_standby_loses_and_duplicates_nothing: failover slots \
             need PostgreSQL 17+ and no such server binaries were found; run \
             scripts/fetch-postgres.sh 17 (or set PG17_BIN)"
        );
        return;
    };
    let primary = Arc::new(
        ClusterBuilder::new()
            .bin_dir(&bin)
            .start()
            .unwrap_or_else(|e| panic!("primary did not start: {e}")),
    );
    primary.create_database("db").unwrap();
    sql(
        &primary,
        "db",
        "create table t (id bigserial primary key, batch int not null, pad text)",
    );
    let standby = Arc::new(
        primary
            .create_standby(&StandbyOptions {
                slot: Some(STANDBY_SLOT.into()),
                settings: vec![
                    ("hot_standby_feedback".into(), "on".into()),
                    ("sync_replication_slots".into(), "on".into()),
                ],
                ..StandbyOptions::default()
            })
            .unwrap_or_else(|e| panic!("standby did not start: {e}")),
    );
    // The logical walsender never sends what the standby has not received, so whatever the
    // consumer saw survives the failover.
    sql(
        &primary,
        "postgres",
        &format!(
            "alter system set synchronized_standby_slots = '{STANDBY_SLOT}'; \
             select pg_reload_conf();"
        ),
    );

    let dsn = format!(
        "host=127.0.0.1,127.0.0.1 port={},{} user=postgres dbname=db \
         target_session_attrs=read-write",
        primary.port(),
        standby.port()
    );
    let mut config = ReplicationConfig::new(ConnectParams::from_dsn(&dsn).unwrap());
    config.slot_name = SLOT.into();
    config.publication_name = "failover_pub".into();
    config.publication_autocreate = PublicationAutocreate::AllTables;
    config.create_slot = true;
    config.slot_failover = true;
    config.status_interval = Duration::from_millis(200);
    config.reconnect = ReconnectPolicy {
        initial_delay: Duration::from_millis(100),
        max_delay: Duration::from_millis(500),
        ..ReconnectPolicy::default()
    };
    let mut stream = ChangeStream::connect(config).await.unwrap();
    assert_eq!(
        sql(
            &primary,
            "postgres",
            &format!("select failover from pg_replication_slots where slot_name = '{SLOT}'")
        ),
        "t",
        "the slot was not created as a failover slot"
    );

    let workload = spawn_workload(primary.clone(), 1, 100_000, Duration::from_millis(5));
    let mut seen = BTreeMap::new();
    // Stream for a while, until the standby holds a synchronized copy of the slot that has
    // seen some of our acknowledgements.
    let synced_query = format!(
        "select synced and not temporary and confirmed_flush_lsn is not null \
         from pg_replication_slots where slot_name = '{SLOT}'"
    );
    let sync_deadline = Instant::now() + Duration::from_secs(120);
    while seen.len() < 500 || standby.psql("postgres", &synced_query).ok().as_deref() != Some("t") {
        assert!(
            Instant::now() < sync_deadline,
            "the standby did not synchronize the failover slot: {:?}",
            standby.psql("postgres", "select * from pg_replication_slots")
        );
        let batch = stream
            .next_batch_timeout(Duration::from_millis(100))
            .await
            .unwrap()
            .unwrap();
        consume(&mut stream, &batch, &mut seen);
    }
    let before_failover = seen.len();

    // The primary dies; the standby is promoted while the consumer keeps consuming.
    let started = Instant::now();
    let failover = {
        let (primary, standby) = (primary.clone(), standby.clone());
        tokio::task::spawn_blocking(move || {
            primary.stop(StopMode::Immediate).unwrap();
            standby.promote().unwrap();
        })
    };
    while !failover.is_finished() {
        let batch = stream
            .next_batch_timeout(Duration::from_millis(100))
            .await
            .expect("the stream failed instead of reconnecting")
            .unwrap();
        consume(&mut stream, &batch, &mut seen);
    }
    failover.await.unwrap();
    let promoted_after = started.elapsed();
    workload.join().unwrap();
    assert!(!standby.is_in_recovery().unwrap());

    // New work on the new primary: the stream must find it there by itself.
    let workload = spawn_workload(standby.clone(), 2, 1_000_000, Duration::from_millis(5));
    let mut first_new_row = None;
    let deadline = Instant::now() + Duration::from_secs(120);
    while first_new_row.is_none() {
        assert!(
            Instant::now() < deadline,
            "no row from the new primary arrived"
        );
        let batch = stream
            .next_batch_timeout(Duration::from_millis(100))
            .await
            .expect("the stream failed instead of reconnecting")
            .unwrap();
        consume(&mut stream, &batch, &mut seen);
        if seen.values().any(|(b, _)| *b == 2) {
            first_new_row = Some(started.elapsed());
        }
    }
    // Let the workload run on for a moment, then stop it and drain.
    tokio::time::sleep(Duration::from_secs(2)).await;
    sql(
        &standby,
        "postgres",
        "select pg_terminate_backend(pid) from pg_stat_activity \
         where datname = 'db' and query like 'do $$%'",
    );
    workload.join().unwrap();
    let expected: usize = sql(&standby, "db", "select count(*) from t")
        .parse()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let batch = stream
            .next_batch_timeout(Duration::from_millis(500))
            .await
            .unwrap()
            .unwrap();
        let quiet = batch.is_empty();
        consume(&mut stream, &batch, &mut seen);
        if seen.len() >= expected && quiet {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {} of {expected} rows arrived",
            seen.len()
        );
    }

    let rows: Vec<i64> = sql(&standby, "db", "select id from t order by id")
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    let missing: Vec<&i64> = rows.iter().filter(|id| !seen.contains_key(id)).collect();
    assert!(
        missing.is_empty(),
        "{} committed rows never arrived, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    let dups: Vec<(&i64, &(i32, u32))> = seen.iter().filter(|(_, (_, n))| *n > 1).collect();
    assert!(
        dups.is_empty(),
        "{} rows arrived more than once, e.g. {:?}",
        dups.len(),
        &dups[..dups.len().min(5)]
    );
    assert_eq!(
        seen.len(),
        rows.len(),
        "rows arrived that the new primary does not have"
    );
    let old = seen.values().filter(|(b, _)| *b == 1).count();
    eprintln!(
        "failover: primary stopped (immediate) and standby promoted in {:.1}s; first row \
         from the new primary {:.1}s after the primary died; {} rows in all ({} from the old \
         primary, {} of them before the failover began, {} from the new one), each exactly once",
        promoted_after.as_secs_f64(),
        first_new_row.unwrap().as_secs_f64(),
        seen.len(),
        old,
        before_failover,
        seen.len() - old
    );
    stream.stop().await.unwrap();
}
