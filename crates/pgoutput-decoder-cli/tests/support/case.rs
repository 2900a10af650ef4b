//! Runs one conformance case through the real CLI, the way the reference kit's runner does:
//!
//! 1. a fresh database `case_<name>` (leftover slots of it dropped first), `setup.sql`;
//! 2. a Debezium-style `connector.properties`: database.hostname/port/user/password/dbname,
//!    `slot.name=pgd_<name>`, `publication.name=pgd_pub`,
//!    `publication.autocreate.mode=all_tables`, `snapshot.mode=no_data`, `topic.prefix=dbz`,
//!    then the case's own `connector.properties` (which may override these);
//! 3. `pgoutput-decoder stream --config {config} --output {output} --exit-when-idle 3`,
//!    stdout and stderr going to a log file;
//! 4. once the slot is active in `pg_replication_slots` (and, unlike the kit's runner,
//!    consistent: see [`Case::execute`]), `workload.sql`;
//! 5. the command must exit by itself, successfully, within [`EXIT_TIMEOUT`]; when the slot
//!    still holds changes then (it went idle before the server sent them, on a loaded
//!    machine), it runs again, resuming from the slot, at most twice;
//! 6. its output is compared with `expected/<name>.jsonl` (tombstones not compared, no
//!    ignored columns).
//!
//! On failure the working directory (config, output, CLI log, a copy of the server log) is
//! kept and its path is part of the panic message.

use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use throwaway_postgres::Cluster;

use super::cluster;
use super::compare::{
    compare_events, compare_flat, compare_routing, is_flat, load, Options, VOLATILE_ADDED,
};
use super::deviations;

/// How long the slot may take to become active after the command started.
const SLOT_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the command may run after the workload finished.
const EXIT_TIMEOUT: Duration = Duration::from_secs(60);
/// How many differences the failure message lists.
const SHOWN_DIFFERENCES: usize = 50;
/// How much of the CLI log the failure message quotes.
const LOG_TAIL_LINES: usize = 60;
const LOG_TAIL_BYTES: usize = 16 * 1024;

/// The reference kit's cases and Debezium's recorded output.
pub fn conformance_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance");
    dir.canonicalize().unwrap_or(dir)
}

/// The cases with single message transforms (`transform-cases/{cases,expected}`).
pub fn transform_cases_dir() -> PathBuf {
    conformance_dir().join("transform-cases")
}

/// The cases with snapshots (`snapshot-cases/{cases,expected}`).
pub fn snapshot_cases_dir() -> PathBuf {
    conformance_dir().join("snapshot-cases")
}

/// Runs snapshot case `name`: its setup's rows are read by the snapshot before the workload
/// streams.
pub fn run_snapshot(name: &str) {
    run_in(&snapshot_cases_dir(), name, false)
}

/// Runs case `name`; panics with a report when the CLI's output does not match Debezium's.
pub fn run(name: &str) {
    run_in(&conformance_dir(), name, false)
}

/// Runs transform case `name` (records compared as flattened records where Debezium
/// flattened them, topics in full, tombstones included).
pub fn run_transform(name: &str) {
    run_in(&transform_cases_dir(), name, true)
}

fn run_in(root: &Path, name: &str, transforms: bool) {
    let cluster = cluster::lease();
    let dir = root.join("cases").join(name);
    if let Some((major, why)) = min_server_version(&dir) {
        if cluster.major_version() < major {
            eprintln!(
                "SKIPPED conformance case {name}: it needs PostgreSQL {major}+ ({why}), the \
                 server is {}",
                cluster.major_version()
            );
            return;
        }
    }
    let workdir = tempfile::Builder::new()
        .prefix(&format!("conformance-{name}-"))
        .tempdir()
        .expect("could not create a temporary directory");
    let case = Case {
        name: name.to_owned(),
        db: format!("case_{name}"),
        slot: format!("pgd_{name}"),
        dir,
        transforms,
        expected: root.join("expected").join(format!("{name}.jsonl")),
        config: workdir.path().join(format!("{name}.properties")),
        output: workdir.path().join(format!("{name}.jsonl")),
        log: workdir.path().join(format!("{name}.log")),
    };
    let mut timeline = Timeline::new();
    let result = case.execute(&cluster, &mut timeline);
    if result.is_err() {
        // The server log is shared by the cases running at the same time; copy it before
        // the cluster goes away with the last test.
        let _ = std::fs::copy(cluster.log_file(), workdir.path().join("postgres.log"));
    }
    case.cleanup(&cluster);
    if let Err(failure) = result {
        let kept = workdir.keep();
        panic!("{}", case.report(&failure, &timeline, &kept));
    }
}

/// A case's `min_server_version` file: the first line is the oldest PostgreSQL major version
/// that can run it, the rest says why.
fn min_server_version(case_dir: &Path) -> Option<(u32, String)> {
    let text = std::fs::read_to_string(case_dir.join("min_server_version")).ok()?;
    let (first, why) = text.split_once('\n').unwrap_or((&text, ""));
    let major = first.trim().parse().unwrap_or_else(|_| {
        panic!(
            "{}/min_server_version: the first line must be a major version, got {first:?}",
            case_dir.display()
        )
    });
    Some((major, why.split_whitespace().collect::<Vec<_>>().join(" ")))
}

struct Case {
    name: String,
    db: String,
    slot: String,
    dir: PathBuf,
    /// A transform case: compared record by record, tombstones and topics included.
    transforms: bool,
    expected: PathBuf,
    config: PathBuf,
    output: PathBuf,
    log: PathBuf,
}

/// Why a case failed.
struct Failure {
    reason: String,
    differences: Vec<String>,
}

impl Failure {
    fn new(reason: impl Into<String>) -> Failure {
        Failure {
            reason: reason.into(),
            differences: Vec::new(),
        }
    }
}

/// What happened when, for failure reports.
struct Timeline {
    start: Instant,
    events: Vec<String>,
}

impl Timeline {
    fn new() -> Timeline {
        Timeline {
            start: Instant::now(),
            events: Vec::new(),
        }
    }

    fn note(&mut self, what: impl Into<String>) {
        let at = self.start.elapsed().as_secs_f64();
        self.events.push(format!("{at:7.3} s  {}", what.into()));
    }
}

/// Kills the command if it is still running when dropped (timeouts, early returns, panics).
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

impl Running {
    /// Waits until the command exits or `timeout` passes (`None`).
    fn wait_timeout(&mut self, timeout: Duration) -> Result<Option<ExitStatus>, Failure> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.0.try_wait() {
                Ok(Some(status)) => return Ok(Some(status)),
                Ok(None) if Instant::now() >= deadline => return Ok(None),
                Ok(None) => std::thread::sleep(Duration::from_millis(50)),
                Err(e) => return Err(Failure::new(format!("could not wait for the command: {e}"))),
            }
        }
    }
}

impl Case {
    fn psql(&self, cluster: &Cluster, db: &str, sql: &str) -> Result<String, Failure> {
        cluster
            .psql(db, sql)
            .map_err(|e| Failure::new(format!("psql failed in database {db}: {e}")))
    }

    fn psql_file(&self, cluster: &Cluster, file: &Path) -> Result<(), Failure> {
        cluster
            .psql_file(&self.db, file)
            .map(drop)
            .map_err(|e| Failure::new(format!("psql -f {} failed: {e}", file.display())))
    }

    /// Starts `pgoutput-decoder stream` on the case's configuration; its output is appended
    /// to, so a second run adds what the first did not acknowledge.
    fn start_command(&self) -> Result<Running, Failure> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|e| Failure::new(format!("could not open {}: {e}", self.log.display())))?;
        let log_err = log
            .try_clone()
            .map_err(|e| Failure::new(format!("could not duplicate the log file: {e}")))?;
        let child = Command::new(env!("CARGO_BIN_EXE_pgoutput-decoder"))
            .arg("stream")
            .arg("--config")
            .arg(&self.config)
            .arg("--output")
            .arg(&self.output)
            .args(["--exit-when-idle", "3"])
            // The schemas_* cases turn schemas on in their properties too (as Debezium reads
            // them); the flag is the CLI's own way.
            .args(self.name.starts_with("schemas_").then_some("--schemas"))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|e| Failure::new(format!("could not start pgoutput-decoder: {e}")))?;
        Ok(Running(child))
    }

    fn execute(&self, cluster: &Cluster, timeline: &mut Timeline) -> Result<(), Failure> {
        timeline.note("case started");
        if !self.dir.join("workload.sql").is_file() {
            return Err(Failure::new(format!(
                "{} has no workload.sql",
                self.dir.display()
            )));
        }
        // A fresh database, without slots left over from an earlier run.
        let leftovers = self.psql(
            cluster,
            "postgres",
            &format!(
                "select slot_name from pg_replication_slots where database = '{}'",
                self.db
            ),
        )?;
        for slot in leftovers.split_whitespace() {
            self.psql(
                cluster,
                "postgres",
                &format!("select pg_drop_replication_slot('{slot}')"),
            )?;
        }
        self.psql(
            cluster,
            "postgres",
            &format!("drop database if exists \"{}\"", self.db),
        )?;
        self.psql(
            cluster,
            "postgres",
            &format!("create database \"{}\"", self.db),
        )?;
        let setup = self.dir.join("setup.sql");
        if setup.exists() {
            self.psql_file(cluster, &setup)?;
        }
        self.write_config(cluster)?;
        timeline.note("database created, setup.sql done");

        let mut running = self.start_command()?;
        timeline.note(format!("command started (pid {})", running.0.id()));

        // Wait until the command streams from its slot. `active` alone is not enough: a
        // logical slot is already active while CREATE_REPLICATION_SLOT waits for the
        // transactions running at that moment to end (here: other cases' CREATE DATABASE),
        // and a workload committed before the slot's consistent point is rightly not
        // streamed. confirmed_flush_lsn stays null until the slot is consistent.
        let deadline = Instant::now() + SLOT_TIMEOUT;
        loop {
            let active = self.psql(
                cluster,
                "postgres",
                &format!(
                    "select active and confirmed_flush_lsn is not null from pg_replication_slots \
                     where slot_name = '{}'",
                    self.slot
                ),
            )?;
            if active == "t" {
                timeline.note("slot active");
                break;
            }
            if let Some(status) = running.wait_timeout(Duration::ZERO)? {
                return Err(Failure::new(format!(
                    "the command exited early ({status}) before its slot {} was active",
                    self.slot
                )));
            }
            if Instant::now() >= deadline {
                return Err(Failure::new(format!(
                    "slot {} never became active within {} s (the command was killed)",
                    self.slot,
                    SLOT_TIMEOUT.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(200));
        }

        self.psql_file(cluster, &self.dir.join("workload.sql"))?;
        timeline.note("workload.sql done");
        let exit = running.wait_timeout(EXIT_TIMEOUT)?;
        if let Some(status) = exit {
            timeline.note(format!("command exited ({status})"));
        }
        match exit {
            None => {
                return Err(Failure::new(format!(
                    "the command did not exit within {} s after the workload (it was killed)",
                    EXIT_TIMEOUT.as_secs()
                )))
            }
            Some(status) if !status.success() => {
                return Err(Failure::new(format!("the command failed ({status})")))
            }
            Some(_) => {}
        }
        // `--exit-when-idle` is a guess: on a loaded machine the server may take longer than
        // that to send the last transactions. What the slot still holds tells; a second run
        // resumes from the slot and appends.
        for _ in 0..2 {
            let left = self.changes_left(cluster)?;
            if left == 0 {
                break;
            }
            timeline.note(format!(
                "the command went idle with {left} changes still in the slot; running it again"
            ));
            let mut again = self.start_command()?;
            match again.wait_timeout(EXIT_TIMEOUT)? {
                Some(status) if status.success() => timeline.note("command exited again"),
                Some(status) => {
                    return Err(Failure::new(format!(
                        "the command failed when run again ({status})"
                    )))
                }
                None => {
                    return Err(Failure::new(format!(
                        "the command, run again, did not exit within {} s (it was killed)",
                        EXIT_TIMEOUT.as_secs()
                    )))
                }
            }
        }

        let options = Options::default();
        let read_all = |path: &Path, tombstones: bool| -> Result<Vec<serde_json::Value>, String> {
            let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            load(
                &path.display().to_string(),
                &String::from_utf8_lossy(&bytes),
                tombstones,
            )
        };
        let read = |path: &Path| read_all(path, options.tombstones);
        let differences = if self.transforms {
            match (read_all(&self.expected, true), read_all(&self.output, true)) {
                (Ok(mut expected), Ok(actual)) if expected.iter().any(is_flat) => {
                    match deviations::apply_transform(&self.name, &mut expected) {
                        Ok(()) => compare_flat(&expected, &actual, &self.volatile_fields()?),
                        Err(e) => vec![e],
                    }
                }
                (Ok(expected), Ok(actual)) => {
                    let mut d = compare_routing(&expected, &actual);
                    let values = |v: Vec<serde_json::Value>| -> Vec<serde_json::Value> {
                        v.into_iter().filter(|e| !e["value"].is_null()).collect()
                    };
                    d.extend(compare_events(&values(expected), &values(actual), &options));
                    d
                }
                (Err(e), _) | (_, Err(e)) => vec![e],
            }
        } else {
            match (read(&self.expected), read(&self.output)) {
                (Ok(mut expected), Ok(actual)) => {
                    match deviations::apply(&self.name, &mut expected) {
                        Ok(()) => compare_events(&expected, &actual, &options),
                        Err(e) => vec![e],
                    }
                }
                (Err(e), _) | (_, Err(e)) => vec![e],
            }
        };
        if differences.is_empty() {
            Ok(())
        } else {
            Err(Failure {
                reason: format!(
                    "the output differs from Debezium's ({} differences)",
                    differences.len()
                ),
                differences,
            })
        }
    }

    /// The added fields left out of the comparison: [`VOLATILE_ADDED`] with the default
    /// prefix `__` and with each `add.fields.prefix` / `add.headers.prefix` of the case.
    fn volatile_fields(&self) -> Result<Vec<String>, Failure> {
        let mut prefixes = vec!["__".to_owned()];
        let props = self.dir.join("connector.properties");
        let text = std::fs::read_to_string(&props).unwrap_or_default();
        for line in text.lines() {
            if let Some((key, value)) = line.split_once('=') {
                if key.trim().ends_with(".add.fields.prefix")
                    || key.trim().ends_with(".add.headers.prefix")
                {
                    prefixes.push(value.trim().to_owned());
                }
            }
        }
        Ok(prefixes
            .iter()
            .flat_map(|p| VOLATILE_ADDED.iter().map(move |f| format!("{p}{f}")))
            .collect())
    }

    /// Writes the Debezium connector properties: the defaults, then the case's own.
    /// How many inserts, updates, deletes and truncates the case's slot holds past its
    /// confirmed position (peeked, not consumed; pgoutput protocol 1). 0 when the slot cannot
    /// be peeked: it was dropped (`slot.drop.on.stop`), or the publication is gone.
    fn changes_left(&self, cluster: &Cluster) -> Result<u64, Failure> {
        let config = std::fs::read_to_string(&self.config)
            .map_err(|e| Failure::new(format!("could not read {}: {e}", self.config.display())))?;
        let publication = config
            .lines()
            .rev()
            .find_map(|line| line.strip_prefix("publication.name="))
            .unwrap_or("pgd_pub")
            .trim()
            .to_owned();
        // The walsender lets go of the slot just after the command exits.
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.psql(
            cluster,
            "postgres",
            &format!(
                "select active from pg_replication_slots where slot_name = '{}'",
                self.slot
            ),
        )? == "t"
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(50));
        }
        let peek = format!(
            "select count(*) from pg_logical_slot_peek_binary_changes('{}', NULL, NULL, \
             'proto_version', '1', 'publication_names', '{}') \
             where get_byte(data, 0) in (73, 85, 68, 84)",
            self.slot,
            publication.replace('\'', "''")
        );
        Ok(cluster
            .psql(&self.db, &peek)
            .ok()
            .and_then(|count| count.trim().parse().ok())
            .unwrap_or(0))
    }

    fn write_config(&self, cluster: &Cluster) -> Result<(), Failure> {
        let mut props: Vec<(String, String)> = [
            ("database.hostname", cluster.host().to_owned()),
            ("database.port", cluster.port().to_string()),
            ("database.user", cluster.superuser().to_owned()),
            (
                "database.password",
                cluster.password().unwrap_or_default().to_owned(),
            ),
            ("database.dbname", self.db.clone()),
            ("slot.name", self.slot.clone()),
            ("publication.name", "pgd_pub".to_owned()),
            ("publication.autocreate.mode", "all_tables".to_owned()),
            ("snapshot.mode", "no_data".to_owned()),
            ("topic.prefix", "dbz".to_owned()),
            // A snapshot's progress stays with the case.
            (
                "offset.storage.file.filename",
                self.config
                    .with_extension("snapshot.json")
                    .display()
                    .to_string(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let extra = self.dir.join("connector.properties");
        if extra.exists() {
            let text = std::fs::read_to_string(&extra)
                .map_err(|e| Failure::new(format!("could not read {}: {e}", extra.display())))?;
            for line in text.lines().map(str::trim) {
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let (key, value) = line.split_once('=').unwrap_or((line, ""));
                let (key, value) = (key.trim().to_owned(), value.trim().to_owned());
                match props.iter_mut().find(|(k, _)| *k == key) {
                    Some(slot) => slot.1 = value,
                    None => props.push((key, value)),
                }
            }
        }
        let text: String = props.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        std::fs::write(&self.config, text)
            .map_err(|e| Failure::new(format!("could not write {}: {e}", self.config.display())))
    }

    /// Drops the case's slot and database (best effort: the cluster goes away anyway). The
    /// slot stays active for a moment after the command exited.
    fn cleanup(&self, cluster: &Cluster) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let left = cluster.psql(
                "postgres",
                &format!(
                    "select pg_drop_replication_slot(slot_name) from pg_replication_slots \
                     where slot_name = '{0}' and not active; \
                     select count(*) from pg_replication_slots where slot_name = '{0}'",
                    self.slot
                ),
            );
            match left {
                Ok(count) if count.ends_with('0') => break,
                Ok(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100))
                }
                _ => break,
            }
        }
        let _ = cluster.psql(
            "postgres",
            &format!("drop database if exists \"{}\"", self.db),
        );
    }

    fn report(&self, failure: &Failure, timeline: &Timeline, kept: &Path) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "conformance case {} failed: {}",
            self.name, failure.reason
        );
        let _ = writeln!(
            out,
            "files kept in {} (config, output, CLI log, server log)",
            kept.display()
        );
        let _ = writeln!(out, "expected: {}", self.expected.display());
        let _ = writeln!(out, "timeline:");
        for event in &timeline.events {
            let _ = writeln!(out, "  {event}");
        }
        if !failure.differences.is_empty() {
            let shown = failure.differences.len().min(SHOWN_DIFFERENCES);
            let _ = writeln!(
                out,
                "differences ({shown} of {}):",
                failure.differences.len()
            );
            for line in &failure.differences[..shown] {
                let _ = writeln!(out, "  {line}");
            }
        }
        let log = kept.join(self.log.file_name().expect("the log has a file name"));
        let text = std::fs::read(&log)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default();
        if text.trim().is_empty() {
            let _ = writeln!(out, "the CLI wrote nothing to stdout/stderr");
        } else {
            let _ = writeln!(out, "CLI stdout/stderr ({}), last lines:", log.display());
            for line in tail(&text) {
                let _ = writeln!(out, "  | {line}");
            }
        }
        out
    }
}

/// The last lines of `text`, at most [`LOG_TAIL_LINES`] and about [`LOG_TAIL_BYTES`].
fn tail(text: &str) -> Vec<&str> {
    let mut start = text.len().saturating_sub(LOG_TAIL_BYTES);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    let lines: Vec<&str> = text[start..].trim_end().lines().collect();
    lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].to_vec()
}
