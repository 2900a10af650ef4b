//! An incremental snapshot asked for through the signal table while the table is being
//! written to: the state rebuilt from the stream equals the table, and no read of a row comes
//! after a later change of that row (a read never brings back an older version). Bad signals
//! (broken JSON, a table that is not published, a table without a key) are logged and the
//! stream goes on.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
    process::{Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use throwaway_postgres::ClusterBuilder;

mod cli_run;

use cli_run::BIN;

/// The server's major version.
fn major(pg: &throwaway_postgres::Cluster) -> u32 {
    pg.psql(
        "postgres",
        "select current_setting('server_version_num')::int / 10000",
    )
    .unwrap()
    .parse()
    .unwrap()
}
const ROWS: u32 = 20_000;

/// (op, id, n) of every `items` event, in order.
fn items_events(path: &Path) -> Vec<(String, i64, Option<i64>, String)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|r| !r["value"].is_null() && r["value"]["source"]["table"] == "items")
        .map(|r| {
            let v = &r["value"];
            let row = if v["after"].is_null() {
                &v["before"]
            } else {
                &v["after"]
            };
            (
                v["op"].as_str().unwrap().to_string(),
                row["id"].as_i64().unwrap(),
                row["n"].as_i64(),
                v["source"]["snapshot"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

/// `index:op:n` of each of `events` that is of row `id`, for a failure message.
fn history(events: &[(String, i64, Option<i64>, String)], id: i64) -> Vec<String> {
    events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.1 == id)
        .map(|(j, e)| format!("{j}:{}:{:?}", e.0, e.2))
        .collect()
}

#[test]
fn incremental_snapshot_under_concurrent_writes_keeps_every_rows_history_in_order() {
    let pg = Arc::new(ClusterBuilder::new().start().unwrap());
    if major(&pg) < 14 {
        eprintln!("SKIPPED incremental_snapshot_under_concurrent_writes_keeps_every_rows_history_in_order: needs PostgreSQL 14+ (logical decoding messages)");
        return;
    }
    pg.create_database("db").unwrap();
    pg.psql(
        "db",
        &format!(
            "create table items (id int primary key, n int not null); \
             insert into items select g, 0 from generate_series(1, {ROWS}) g; \
             create table nokey (x int); insert into nokey values (1); \
             create table debezium_signal (id varchar(64) primary key, type varchar(32) not null, \
             data varchar(2048))"
        ),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = cli_run::write_config(
        dir.path(),
        &pg,
        "publication.autocreate.mode=all_tables\nsnapshot.mode=no_data\n\
             signal.data.collection=public.debezium_signal\nincremental.snapshot.chunk.size=500\n\
             status.update.interval.ms=200\n",
    );
    let output = dir.path().join("out.jsonl");
    let log = dir.path().join("log.txt");
    let mut cli =
        cli_run::spawn_stream(&config, &output, "3", std::fs::File::create(&log).unwrap());
    cli_run::wait_until_streaming(&pg);
    // Updates, deletes and inserts all over the key range while the chunks are read.
    let workload = {
        let pg = pg.clone();
        std::thread::spawn(move || {
            pg.psql(
                "db",
                &format!(
                    "do $$ begin for i in 1..200 loop \
                     update items set n = n + 1 where id % 200 = i % 200; \
                     delete from items where id = (i * 97) % {ROWS} + 1; \
                     insert into items values ({ROWS} + i, i); \
                     commit; perform pg_sleep(0.01); end loop; end $$;"
                ),
            )
            .unwrap();
        })
    };
    pg.psql(
        "db",
        "insert into debezium_signal values ('bad-json', 'execute-snapshot', '{not json'); \
         insert into debezium_signal values ('bad-table', 'execute-snapshot', \
           '{\"data-collections\": [\"public.missing\"]}'); \
         insert into debezium_signal values ('no-key', 'execute-snapshot', \
           '{\"data-collections\": [\"public.nokey\"]}'); \
         insert into debezium_signal values ('ad-hoc-1', 'execute-snapshot', \
           '{\"data-collections\": [\"public.items\"], \"type\": \"incremental\"}')",
    )
    .unwrap();
    workload.join().unwrap();
    let status = cli.wait().unwrap();
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "{stderr}");

    let events = items_events(&output);
    let reads = events.iter().filter(|e| e.0 == "r").count();
    assert!(
        events
            .iter()
            .filter(|e| e.0 == "r")
            .all(|e| e.3 == "incremental"),
        "reads must be marked incremental"
    );
    // Replay in order. A read of a row the stream already showed must carry that same
    // version (never an older one), and no read may follow the row's delete.
    let mut state: BTreeMap<i64, i64> = BTreeMap::new();
    let mut seen: BTreeMap<i64, Option<i64>> = BTreeMap::new();
    for (i, (op, id, n, _)) in events.iter().enumerate() {
        match op.as_str() {
            "r" => {
                if let Some(last) = seen.get(id) {
                    if *last != *n {
                        eprintln!("history of {id}: {:?}", history(&events, *id));
                    }
                    assert_eq!(
                        *last, *n,
                        "event {i}: the read of row {id} is older than a change streamed before it"
                    );
                }
                state.insert(*id, n.unwrap());
            }
            "c" | "u" => {
                seen.insert(*id, *n);
                state.insert(*id, n.unwrap());
            }
            "d" => {
                seen.insert(*id, None);
                state.remove(id);
            }
            other => panic!("unexpected op {other}"),
        }
    }
    let table: BTreeMap<i64, i64> = pg
        .psql("db", "select id, n from items")
        .unwrap()
        .lines()
        .map(|l| {
            let (id, n) = l.split_once('|').unwrap();
            (id.parse().unwrap(), n.parse().unwrap())
        })
        .collect();
    // Each differing row once (a row on both sides would otherwise be counted twice).
    let wrong: BTreeSet<i64> = table
        .keys()
        .chain(state.keys())
        .filter(|id| table.get(id) != state.get(id))
        .copied()
        .collect();
    if let Some(first) = wrong.first() {
        panic!(
            "{} rows differ from the table, e.g. {:?}; row {first}: table {:?}, stream {:?}, \
             its events (index:op:n) {:?} of {} events, {reads} reads",
            wrong.len(),
            wrong.iter().take(5).collect::<Vec<_>>(),
            table.get(first),
            state.get(first),
            history(&events, *first),
            events.len(),
        );
    }
    // Each bad signal says what is wrong, and the stream went on.
    for needle in [
        "its data is not JSON",
        "public.missing is not a captured table",
        "public.nokey has no primary key",
    ] {
        assert!(
            stderr.contains(needle),
            "no log line with {needle:?}:\n{stderr}"
        );
    }
    eprintln!("{} items events, {reads} incremental reads", events.len());
}

#[test]
fn the_snapshot_command_asks_a_running_stream_for_a_table() {
    let pg = ClusterBuilder::new().start().unwrap();
    pg.create_database("db").unwrap();
    pg.psql(
        "db",
        "create table items (id int primary key, n int not null); \
         insert into items select g, g from generate_series(1, 30) g; \
         create table debezium_signal (id varchar(64) primary key, type varchar(32) not null, \
         data varchar(2048))",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let base = cli_run::properties(
        &pg,
        "publication.autocreate.mode=all_tables\nsnapshot.mode=no_data\n",
    );
    // Without a signal table the command says what to add.
    let plain = dir.path().join("plain.properties");
    std::fs::write(&plain, &base).unwrap();
    let out = Command::new(BIN)
        .args([
            "snapshot",
            "--config",
            plain.to_str().unwrap(),
            "public.items",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("signal.data.collection"), "{stderr}");

    let config = dir.path().join("c.properties");
    std::fs::write(
        &config,
        format!("{base}signal.data.collection=public.debezium_signal\nincremental.snapshot.chunk.size=7\n"),
    )
    .unwrap();
    let output = dir.path().join("out.jsonl");
    let log = dir.path().join("log.txt");
    let mut cli =
        cli_run::spawn_stream(&config, &output, "2", std::fs::File::create(&log).unwrap());
    cli_run::wait_until_streaming(&pg);
    let asked = Command::new(BIN)
        .args([
            "snapshot",
            "--config",
            config.to_str().unwrap(),
            "public.items",
        ])
        .output()
        .unwrap();
    assert!(
        asked.status.success(),
        "{}",
        String::from_utf8_lossy(&asked.stderr)
    );
    assert!(cli.wait().unwrap().success());
    let reads: Vec<i64> = items_events(&output)
        .into_iter()
        .filter(|e| e.0 == "r" && e.3 == "incremental")
        .map(|e| e.1)
        .collect();
    if major(&pg) < 14 {
        // No watermarks before 14: a clear error, and the stream goes on.
        let stderr = std::fs::read_to_string(&log).unwrap();
        assert!(
            stderr.contains("incremental snapshots need PostgreSQL 14 or later"),
            "{stderr}"
        );
        assert!(reads.is_empty());
        return;
    }
    assert_eq!(reads, (1..=30).collect::<Vec<i64>>());
}

#[test]
fn an_incremental_snapshot_killed_mid_way_resumes_at_the_next_chunk() {
    let pg = ClusterBuilder::new().start().unwrap();
    if major(&pg) < 14 {
        eprintln!("SKIPPED an_incremental_snapshot_killed_mid_way_resumes_at_the_next_chunk: needs PostgreSQL 14+ (logical decoding messages)");
        return;
    }
    pg.create_database("db").unwrap();
    pg.psql(
        "db",
        "create table items (id int primary key, n int not null); \
         insert into items select g, g from generate_series(1, 20000) g; \
         create table debezium_signal (id varchar(64) primary key, type varchar(32) not null, \
         data varchar(2048))",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = cli_run::write_config(
        dir.path(),
        &pg,
        &format!(
            "publication.autocreate.mode=all_tables\nsnapshot.mode=no_data\n\
                 signal.data.collection=public.debezium_signal\n\
                 incremental.snapshot.chunk.size=100\n\
                 offset.storage.file.filename={}\nstatus.update.interval.ms=200\n",
            dir.path().join("progress.json").display()
        ),
    );
    let progress = dir.path().join("progress.incremental.json");
    let (out1, out2) = (dir.path().join("run1.jsonl"), dir.path().join("run2.jsonl"));
    let spawn =
        |out: &Path, idle: &str| cli_run::spawn_stream(&config, out, idle, Stdio::inherit());
    let mut first = spawn(&out1, "600");
    cli_run::wait_until_streaming(&pg);
    let deadline = Instant::now() + Duration::from_secs(60);
    pg.psql(
        "db",
        "insert into debezium_signal values ('ad-hoc-1', 'execute-snapshot', \
         '{\"data-collections\": [\"public.items\"]}')",
    )
    .unwrap();
    // Kill once the progress file records a chunk part-way through the table.
    let last_at_kill = loop {
        let recorded = std::fs::read_to_string(&progress)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v["tables"][0]["last"][0].as_str().map(str::to_string));
        if let Some(last) = recorded {
            break last.parse::<i64>().unwrap();
        }
        assert!(Instant::now() < deadline, "no chunk was recorded");
        std::thread::sleep(Duration::from_millis(5));
    };
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    assert!(spawn(&out2, "3").wait().unwrap().success());
    let reads = |path: &Path| -> Vec<i64> {
        items_events(path)
            .into_iter()
            .filter(|e| e.0 == "r")
            .map(|e| e.1)
            .collect()
    };
    let (run1, run2) = (reads(&out1), reads(&out2));
    assert!(
        last_at_kill < 20_000,
        "the snapshot finished before the kill"
    );
    // The second run goes on after what the file recorded, not from the start.
    let first_again = *run2.first().expect("the second run read nothing");
    assert!(
        first_again > last_at_kill.min(*run1.iter().max().unwrap()) - 1,
        "the second run started at {first_again}, the file recorded {last_at_kill}"
    );
    assert!(
        first_again > 1,
        "the second run read the table from the start"
    );
    let all: BTreeSet<i64> = run1.iter().chain(&run2).copied().collect();
    assert_eq!(all.len(), 20_000, "rows were never read");
    eprintln!(
        "killed with {} reads written, file at key {last_at_kill}; second run read {} rows from key {first_again}",
        run1.len(),
        run2.len()
    );
}
