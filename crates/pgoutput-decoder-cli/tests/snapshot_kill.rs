//! The consumer is killed with SIGKILL in the middle of its initial snapshot, while the tables
//! are being written to, and started again: the state rebuilt from the reads and the changes of
//! both runs equals the tables, and the tables the progress file recorded as done are not read
//! a second time.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
    process::Stdio,
    sync::Arc,
    time::{Duration, Instant},
};

use throwaway_postgres::ClusterBuilder;

mod cli_run;
const TABLES: [&str; 4] = ["t1", "t2", "t3", "t4"];

/// Every line of a JSON-lines output file, in order: (table, op, id, n). Tombstones are left
/// out.
fn read_events(path: &Path) -> Vec<(String, String, i64, Option<i64>)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|r| !r["value"].is_null())
        .map(|r| {
            let v = &r["value"];
            let row = if v["after"].is_null() {
                &v["before"]
            } else {
                &v["after"]
            };
            (
                v["source"]["table"].as_str().unwrap().to_string(),
                v["op"].as_str().unwrap().to_string(),
                row["id"].as_i64().unwrap(),
                row["n"].as_i64(),
            )
        })
        .collect()
}

fn progress_done(path: &Path) -> Option<(Vec<String>, bool)> {
    let text = std::fs::read_to_string(path).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    let done = v["done"]
        .as_array()?
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    Some((done, v["complete"].as_bool()?))
}

#[test]
fn consumer_killed_mid_snapshot_resumes_with_the_exact_state() {
    killed_mid_snapshot(40_000, 1);
}

/// Three readers share the tables out (`snapshot.max.threads`).
#[test]
fn a_parallel_snapshot_killed_mid_way_resumes_with_the_exact_state() {
    killed_mid_snapshot(40_000, 3);
}

/// The same with 1,000,000 rows (`make test-faults`).
#[test]
#[ignore = "long: run with make test-faults"]
fn a_million_row_snapshot_killed_mid_way_resumes_with_the_exact_state() {
    // Four readers; each table (about 2,300 pages) is split into block ranges.
    killed_mid_snapshot(250_000, 4);
}

fn killed_mid_snapshot(rows_per_table: u32, threads: usize) {
    let pg = Arc::new(ClusterBuilder::new().start().unwrap());
    pg.create_database("db").unwrap();
    // The first table is small, so that it is done long before the others are: the kill then
    // lands between "one table done" and "snapshot complete" however fast the machine is.
    for (i, t) in TABLES.iter().enumerate() {
        let rows = if i == 0 {
            rows_per_table / 20
        } else {
            rows_per_table
        };
        pg.psql(
            "db",
            &format!(
                "create table {t} (id int primary key, n int not null, pad text); \
                 insert into {t} select g, g, repeat('x', 40) from generate_series(1, {rows}) g"
            ),
        )
        .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let progress = dir.path().join("progress.json");
    let config = cli_run::write_config(
        dir.path(),
        &pg,
        &format!(
            "publication.autocreate.mode=all_tables\nsnapshot.mode=initial\n\
                 offset.storage.file.filename={}\nstatus.update.interval.ms=200\n\
                 snapshot.max.threads={threads}\n",
            progress.display()
        ),
    );
    let (out1, out2) = (dir.path().join("run1.jsonl"), dir.path().join("run2.jsonl"));
    let spawn = |out: &Path, idle: &str| cli_run::spawn_stream(&config, out, idle, Stdio::null());
    let mut first = spawn(&out1, "600");
    // Writes to every table while the snapshot runs and after the kill: updates, deletes and
    // inserts, one small transaction at a time.
    let workload = {
        let pg = pg.clone();
        std::thread::spawn(move || {
            let mut body = String::new();
            for t in TABLES {
                body.push_str(&format!(
                    "update {t} set n = n + 1 where id % 400 = i % 400; \
                     delete from {t} where id = i * 7; \
                     insert into {t} values (1000000 + i, i, 'new'); "
                ));
            }
            pg.psql(
                "db",
                &format!(
                    "do $$ begin for i in 1..150 loop {body} commit; perform pg_sleep(0.005); \
                     end loop; end $$;"
                ),
            )
            .unwrap();
        })
    };
    // Kill once at least one table is recorded as done and the snapshot is not complete.
    let deadline = Instant::now() + Duration::from_secs(300);
    let done_at_kill = loop {
        match progress_done(&progress) {
            Some((done, false)) if !done.is_empty() => break done,
            Some((_, true)) => {
                panic!("the snapshot finished before the kill: make the tables larger")
            }
            _ => {}
        }
        assert!(Instant::now() < deadline, "the snapshot made no progress");
        std::thread::sleep(Duration::from_millis(10));
    };
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    let (done_after_kill, complete) = progress_done(&progress).unwrap();
    assert!(!complete, "the snapshot completed although killed");
    workload.join().unwrap();

    let second = spawn(&out2, "3").wait().unwrap();
    assert!(second.success());

    let (run1, run2) = (read_events(&out1), read_events(&out2));
    // Finished work is not redone: no table recorded as done is read again.
    let reads2: BTreeMap<&str, usize> =
        run2.iter()
            .filter(|e| e.1 == "r")
            .fold(BTreeMap::new(), |mut m, e| {
                *m.entry(e.0.as_str()).or_default() += 1;
                m
            });
    for t in &done_after_kill {
        let table = t.trim_start_matches("public.");
        assert_eq!(
            reads2.get(table),
            None,
            "{t} was recorded as done and read again"
        );
    }
    assert!(
        !reads2.is_empty(),
        "the second run read nothing: the unfinished tables were not resumed"
    );
    // The state rebuilt from both runs, in order, equals the tables.
    let mut state: BTreeMap<String, BTreeMap<i64, i64>> = BTreeMap::new();
    for (table, op, id, n) in run1.iter().chain(&run2) {
        let rows = state.entry(table.clone()).or_default();
        match op.as_str() {
            "r" | "c" | "u" => {
                rows.insert(*id, n.unwrap());
            }
            "d" => {
                rows.remove(id);
            }
            other => panic!("unexpected op {other}"),
        }
    }
    for t in TABLES {
        let expected: BTreeMap<i64, i64> = pg
            .psql("db", &format!("select id, n from {t}"))
            .unwrap()
            .lines()
            .map(|l| {
                let (id, n) = l.split_once('|').unwrap();
                (id.parse().unwrap(), n.parse().unwrap())
            })
            .collect();
        let got = state.remove(t).unwrap_or_default();
        let wrong: BTreeSet<i64> = expected
            .keys()
            .chain(got.keys())
            .filter(|id| expected.get(id) != got.get(id))
            .copied()
            .collect();
        assert!(
            wrong.is_empty(),
            "{t}: {} rows differ from the table, e.g. {:?}",
            wrong.len(),
            wrong
                .iter()
                .take(5)
                .map(|id| (id, expected.get(id), got.get(id)))
                .collect::<Vec<_>>()
        );
    }
    let reads1 = run1.iter().filter(|e| e.1 == "r").count();
    eprintln!(
        "killed with {done_at_kill:?} done ({done_after_kill:?} at the kill); first run: {reads1} \
         reads of {} events; second run reads by table: {reads2:?}, {} events",
        run1.len(),
        run2.len()
    );
}
