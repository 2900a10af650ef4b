//! The `pgoutput-decoder` binary end to end: options, output formats, exit conditions, and the
//! one-line errors for common mistakes.

use std::{
    path::Path,
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

use throwaway_postgres::{Cluster, ClusterBuilder};

const BIN: &str = env!("CARGO_BIN_EXE_pgoutput-decoder");

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run the CLI")
}

fn write_config(dir: &Path, pg: &Cluster, extra: &str) -> String {
    let path = dir.join("connector.properties");
    std::fs::write(
        &path,
        format!(
            "database.hostname={}\ndatabase.port={}\ndatabase.user=postgres\ndatabase.dbname=db\n\
             topic.prefix=cli\nslot.name=cli_slot\npublication.name=cli_pub\n{extra}",
            pg.host(),
            pg.port()
        ),
    )
    .unwrap();
    path.to_string_lossy().into_owned()
}

/// Asserts the failure is a single `error: ...` line on stderr containing `needle`.
fn assert_one_line_error(out: &Output, needle: &str) {
    assert!(!out.status.success(), "expected a failure");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one error line, got:\n{stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(
        lines[0].contains(needle),
        "expected {needle:?} in:\n{stderr}"
    );
}

fn slot_active(pg: &Cluster) -> bool {
    pg.psql("postgres", "select coalesce(bool_or(active), false) from pg_replication_slots where slot_name = 'cli_slot'")
        .map(|s| s == "t")
        .unwrap_or(false)
}

/// Starts `stream --config CONFIG --output OUTPUT EXTRA...` in the background and waits until
/// its slot is active, so that what the test writes next is streamed.
fn spawn_streaming(
    pg: &Cluster,
    config: &str,
    output: &Path,
    extra: &[&str],
) -> std::process::Child {
    spawn_until_active(pg, &mut stream_command(config, output, extra))
}

fn stream_command(config: &str, output: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args([
            "stream",
            "--config",
            config,
            "--output",
            output.to_str().unwrap(),
        ])
        .args(extra);
    command
}

fn spawn_until_active(pg: &Cluster, command: &mut Command) -> std::process::Child {
    let child = command.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !slot_active(pg) {
        assert!(Instant::now() < deadline, "the slot never became active");
        std::thread::sleep(Duration::from_millis(100));
    }
    child
}

/// Streams what `sql` writes: starts `stream --config CONFIG --output OUTPUT EXTRA...`, runs
/// `sql` in database `db` once the slot is active, and waits for the CLI to stop by itself
/// (EXTRA has `--exit-when-idle`) and succeed. Returns its stderr.
fn stream_while(pg: &Cluster, config: &str, output: &Path, extra: &[&str], sql: &str) -> String {
    let mut command = stream_command(config, output, extra);
    let child = spawn_until_active(pg, command.stderr(Stdio::piped()));
    pg.psql("db", sql).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    stderr
}

/// The output file, one JSON value per line.
fn json_lines(output: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(output)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Runs the CLI once more on the same slot and asserts it finds nothing: everything written
/// before was acknowledged and confirmed to the server.
fn assert_nothing_left(dir: &Path, config: &str) {
    let again = dir.join("again.jsonl");
    let out = run(&[
        "stream",
        "--config",
        config,
        "--output",
        again.to_str().unwrap(),
        "--exit-when-idle",
        "1",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&again).unwrap(),
        "",
        "acknowledged events came again"
    );
}

#[test]
fn streams_value_format_and_exits_at_end_lsn() {
    let pg = ClusterBuilder::new().start().unwrap();
    pg.create_database("db").unwrap();
    pg.psql("db", "create table t (id int primary key, v text)")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &pg, "");
    let output = dir.path().join("out.jsonl");
    // Create the slot first, so that the workload below is after its start.
    let first = run(&[
        "stream",
        "--config",
        &config,
        "--output",
        output.to_str().unwrap(),
        "--exit-when-idle",
        "0.5",
    ]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    pg.psql(
        "db",
        "insert into t values (1, 'a'), (2, 'b'); delete from t where id = 1;",
    )
    .unwrap();
    let end = pg.psql("db", "select pg_current_wal_lsn()").unwrap();
    let started = Instant::now();
    let out = run(&[
        "stream",
        "--config",
        &config,
        "--format",
        "value",
        "--end-lsn",
        &end,
        "--output",
        output.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    let text = std::fs::read_to_string(&output).unwrap();
    let ops: Vec<String> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["op"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    // Value format: no envelope and no tombstone lines.
    assert_eq!(ops, ["c", "c", "d"]);
    // Everything was acknowledged: a third run sees nothing.
    assert_nothing_left(dir.path(), &config);
}

#[test]
fn envelope_format_has_topic_key_and_tombstones() {
    let pg = ClusterBuilder::new().start().unwrap();
    pg.create_database("db").unwrap();
    pg.psql("db", "create table t (id int primary key)")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &pg, "");
    let output = dir.path().join("out.jsonl");
    stream_while(
        &pg,
        &config,
        &output,
        &["--exit-when-idle", "2"],
        "insert into t values (7); delete from t;",
    );
    let records = json_lines(&output);
    assert_eq!(records.len(), 3, "{records:?}");
    assert_eq!(records[0]["topic"], "cli.public.t");
    assert_eq!(records[0]["key"], serde_json::json!({"id": 7}));
    assert_eq!(records[1]["value"]["op"], "d");
    assert_eq!(records[2]["key"], serde_json::json!({"id": 7}));
    assert_eq!(records[2]["value"], serde_json::Value::Null);
}

#[test]
fn progress_lines_go_to_a_stderr_that_is_not_a_terminal() {
    let pg = ClusterBuilder::new().start().unwrap();
    pg.create_database("db").unwrap();
    pg.psql("db", "create table t (id int primary key)")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &pg, "snapshot.mode=no_data\n");
    let output = dir.path().join("out.jsonl");
    let stderr = stream_while(
        &pg,
        &config,
        &output,
        &["--exit-when-idle", "1.5", "--progress-interval", "0.2"],
        "insert into t select generate_series(1, 5)",
    );
    let progress: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("progress: "))
        .collect();
    assert!(progress.len() >= 3, "{stderr}");
    // The last one, written at the end, has every event.
    let last = progress.last().unwrap();
    assert!(last.starts_with("progress: 5 events, "), "{stderr}");
    assert!(last.contains(" ms behind, last LSN "), "{stderr}");
    assert!(!stderr.contains('\x1b'), "no terminal codes: {stderr:?}");
}

#[test]
fn log_format_json_writes_one_object_a_line() {
    let pg = ClusterBuilder::new().start().unwrap();
    pg.create_database("db").unwrap();
    pg.psql("db", "create table t (id int primary key)")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &pg, "snapshot.mode=no_data\n");
    let output = dir.path().join("out.jsonl");
    let mut command = stream_command(
        &config,
        &output,
        &["--log-format", "json", "--exit-when-idle", "1"],
    );
    command
        .env("PGOUTPUT_DECODER_LOG", "info")
        .stderr(Stdio::piped());
    let child = spawn_until_active(&pg, &mut command);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let logs: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    let started = logs
        .iter()
        .find(|l| l["fields"]["message"] == "streaming started")
        .unwrap_or_else(|| panic!("{stderr}"));
    assert_eq!(started["level"], "INFO");
    assert_eq!(started["fields"]["slot"], "cli_slot");
    // Slot creation is logged in the connect span (once the create_slot span has ended).
    let created = logs
        .iter()
        .find(|l| l["fields"]["message"] == "created replication slot")
        .unwrap_or_else(|| panic!("{stderr}"));
    let spans: Vec<&str> = created["spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(spans, ["connect"], "{created}");
}

#[test]
fn a_metrics_address_that_cannot_be_used_fails_before_connecting() {
    // Nothing listens on port 1: an attempt to connect would fail differently.
    let dsn = "postgresql://postgres@127.0.0.1:1/db";
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    for (metrics, needle) in [
        (
            addr.as_str(),
            format!("could not listen for metrics on {addr}"),
        ),
        (
            "nonsense",
            "could not listen for metrics on nonsense".to_owned(),
        ),
    ] {
        let out = run(&[
            "stream",
            "--dsn",
            dsn,
            "--slot",
            "s",
            "--publication",
            "p",
            "--metrics-addr",
            metrics,
        ]);
        assert_one_line_error(&out, &needle);
    }
}

#[test]
fn transforms_apply_to_value_format_and_schemas() {
    let pg = ClusterBuilder::new().start().unwrap();
    pg.create_database("db").unwrap();
    pg.psql("db", "create table t (id int primary key, v text)")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &pg,
        "transforms=unwrap,route\n\
         transforms.unwrap.type=io.debezium.transforms.ExtractNewRecordState\n\
         transforms.unwrap.add.fields=op\n\
         transforms.unwrap.delete.tombstone.handling.mode=rewrite\n\
         transforms.route.type=org.apache.kafka.connect.transforms.RegexRouter\n\
         transforms.route.regex=cli\\\\.public\\\\.(.*)\n\
         transforms.route.replacement=$1_changes\n",
    );
    let output = dir.path().join("out.jsonl");
    stream_while(
        &pg,
        &config,
        &output,
        &["--exit-when-idle", "2", "--format", "value", "--schemas"],
        "insert into t values (1, 'a'); delete from t;",
    );
    let values = json_lines(&output);
    // Values only (no tombstones): the rows, with the row's Connect schema.
    assert_eq!(values.len(), 2, "{values:?}");
    assert_eq!(
        values[0]["payload"],
        serde_json::json!({"id": 1, "v": "a", "__deleted": "false", "__op": "c"})
    );
    assert_eq!(values[1]["payload"]["__deleted"], "true");
    assert_eq!(values[0]["schema"]["name"], "cli.public.t.Value");

    // A transform that cannot be written with schemas is refused before connecting.
    let config = write_config(
        dir.path(),
        &pg,
        "transforms=r\ntransforms.r.type=io.debezium.transforms.ByLogicalTableRouter\n\
         transforms.r.topic.regex=x\ntransforms.r.topic.replacement=y\n",
    );
    let out = run(&["stream", "--config", &config, "--schemas", "--output", "-"]);
    assert_one_line_error(&out, "ByLogicalTableRouter with schemas");
    let config = write_config(
        dir.path(),
        &pg,
        "transforms=f\ntransforms.f.type=org.apache.kafka.connect.transforms.Filter\n",
    );
    let out = run(&["stream", "--config", &config, "--output", "-"]);
    assert_one_line_error(
        &out,
        "transforms.f.type=org.apache.kafka.connect.transforms.Filter is not supported; supported:",
    );
}

#[test]
fn common_mistakes_give_one_clear_error_line() {
    let pg = ClusterBuilder::new()
        .superuser_password("s3cret-pw")
        .start()
        .unwrap();
    pg.create_database("db").unwrap();
    let dir = tempfile::tempdir().unwrap();

    let config = write_config(dir.path(), &pg, "database.password=wrong-pw\n");
    let out = run(&["stream", "--config", &config, "--exit-when-idle", "1"]);
    assert_one_line_error(&out, "password authentication failed");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("wrong-pw"));

    let config = write_config(
        dir.path(),
        &pg,
        "database.password=s3cret-pw\npublication.autocreate.mode=disabled\n",
    );
    assert_one_line_error(&run(&["stream", "--config", &config]), "CREATE PUBLICATION");

    let dsn = format!(
        "host={} port={} user=postgres dbname=db password=s3cret-pw",
        pg.host(),
        pg.port()
    );
    pg.psql("db", "create publication p for all tables")
        .unwrap();
    assert_one_line_error(
        &run(&[
            "stream",
            "--dsn",
            &dsn,
            "--slot",
            "nope",
            "--publication",
            "p",
        ]),
        "pg_create_logical_replication_slot",
    );

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dsn = format!("host=127.0.0.1 port={port} user=postgres dbname=db connect_timeout=3");
    assert_one_line_error(
        &run(&["stream", "--dsn", &dsn, "--slot", "s", "--publication", "p"]),
        "could not connect",
    );

    let config = write_config(dir.path(), &pg, "slot.nmae=x\n");
    assert_one_line_error(
        &run(&["stream", "--config", &config]),
        "did you mean slot.name?",
    );

    let replica = ClusterBuilder::new()
        .setting("wal_level", "replica")
        .start()
        .unwrap();
    let dsn = format!(
        "host={} port={} user=postgres dbname=postgres",
        replica.host(),
        replica.port()
    );
    assert_one_line_error(
        &run(&[
            "stream",
            "--dsn",
            &dsn,
            "--slot",
            "s",
            "--publication",
            "p",
            "--create-slot",
            "--create-publication",
        ]),
        "wal_level",
    );
}

#[test]
fn sigterm_stops_gracefully_and_frees_the_slot() {
    let pg = ClusterBuilder::new().start().unwrap();
    pg.create_database("db").unwrap();
    pg.psql("db", "create table t (id int primary key)")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &pg, "");
    let output = dir.path().join("out.jsonl");
    let mut child = spawn_streaming(&pg, &config, &output, &[]);
    let deadline = Instant::now() + Duration::from_secs(30);
    pg.psql("db", "insert into t select generate_series(1, 100)")
        .unwrap();
    while std::fs::read_to_string(&output)
        .unwrap_or_default()
        .lines()
        .count()
        < 100
    {
        assert!(Instant::now() < deadline, "events never arrived");
        std::thread::sleep(Duration::from_millis(50));
    }
    let sent = Instant::now();
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "SIGTERM should exit 0, got {status}");
    assert!(sent.elapsed() < Duration::from_secs(5));
    // The slot is free at once, and the server was told that everything written was
    // acknowledged: a new run sees nothing again.
    assert!(!slot_active(&pg), "the slot is still held after exit");
    assert_nothing_left(dir.path(), &config);
}

#[test]
fn two_phase_writes_a_prepared_transaction_at_commit_prepared() {
    let pg = ClusterBuilder::new()
        .setting("max_prepared_transactions", "10")
        .start()
        .unwrap();
    pg.create_database("db").unwrap();
    pg.psql("db", "create table t (id int primary key)")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &pg, "");
    let output = dir.path().join("out.jsonl");
    let stream = |extra: &[&str]| {
        let mut args = vec![
            "stream",
            "--config",
            &config,
            "--format",
            "value",
            "--output",
            output.to_str().unwrap(),
            "--exit-when-idle",
            "1",
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    let slot_two_phase = || {
        pg.psql(
            "db",
            "select two_phase from pg_replication_slots where slot_name = 'cli_slot'",
        )
        .unwrap()
    };
    if pg.major_version() < 15 {
        // pgoutput's two_phase option is new in 15: refused up front, with the version.
        let refused = stream(&["--two-phase"]);
        assert_one_line_error(&refused, "needs PostgreSQL 15 or later");
        let version = format!("the server is {}.", pg.major_version());
        assert!(String::from_utf8_lossy(&refused.stderr).contains(&version));
        return;
    }
    // A slot created without two-phase is refused, and left as it was.
    assert!(stream(&[]).status.success());
    assert_one_line_error(&stream(&["--two-phase"]), "created without two-phase");
    assert_eq!(slot_two_phase(), "f");
    pg.psql("db", "select pg_drop_replication_slot('cli_slot')")
        .unwrap();

    let first = stream(&["--two-phase"]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert_eq!(slot_two_phase(), "t");
    pg.psql(
        "db",
        "begin; insert into t values (1), (2); prepare transaction 'cli';",
    )
    .unwrap();
    assert!(stream(&["--two-phase"]).status.success());
    assert_eq!(
        std::fs::read_to_string(&output).unwrap(),
        "",
        "a prepared transaction was written before COMMIT PREPARED"
    );
    pg.psql("db", "commit prepared 'cli'").unwrap();
    assert!(stream(&["--two-phase"]).status.success());
    let ids: Vec<i64> = std::fs::read_to_string(&output)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["after"]["id"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(ids, [1, 2]);
}

#[test]
fn output_file_is_appended_to_across_runs() {
    let pg = ClusterBuilder::new().start().unwrap();
    pg.create_database("db").unwrap();
    pg.psql("db", "create table t (id int primary key)")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &pg, "");
    let output = dir.path().join("out.jsonl");
    let value_until_idle = ["--format", "value", "--exit-when-idle", "2"];
    stream_while(
        &pg,
        &config,
        &output,
        &value_until_idle,
        "insert into t values (1)",
    );
    let ids: Vec<_> = json_lines(&output)
        .iter()
        .map(|v| v["after"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [1]);
    // A killed run may have left half a line: the next record still starts a line of its own.
    let mut text = std::fs::read_to_string(&output).unwrap();
    text.push_str("{\"before\":null,\"af");
    std::fs::write(&output, &text).unwrap();
    stream_while(
        &pg,
        &config,
        &output,
        &value_until_idle,
        "insert into t values (2)",
    );
    let text = std::fs::read_to_string(&output).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(lines[1], "{\"before\":null,\"af");
    for (line, id) in [(lines[0], 1), (lines[2], 2)] {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["after"]["id"], id);
    }
}

#[test]
fn logs_to_a_pipe_have_no_colour_codes_and_no_meaningless_positions() {
    let pg = ClusterBuilder::new().start().unwrap();
    pg.create_database("db").unwrap();
    pg.psql("db", "create table t (id int primary key)")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &pg, "");
    let output = dir.path().join("out.jsonl");
    // Twice: once creating the slot, once streaming from an existing one.
    for _ in 0..2 {
        let out = Command::new(BIN)
            .args(["stream", "--config", &config, "--exit-when-idle", "0.5"])
            .args(["--output", output.to_str().unwrap()])
            .env("PGOUTPUT_DECODER_LOG", "info")
            .env_remove("NO_COLOR")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(stderr.contains("streaming started"), "{stderr}");
        assert!(
            !stderr.contains('\x1b'),
            "colour codes in a pipe:\n{stderr}"
        );
        assert!(!stderr.contains("0/0"), "a meaningless position:\n{stderr}");
    }
}

#[test]
fn streams_with_a_kafka_connect_json_config() {
    let pg = ClusterBuilder::new().start().unwrap();
    pg.create_database("db").unwrap();
    pg.psql("db", "create table t (id int primary key)")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // As posted to the Connect REST API; the extension does not matter.
    let config = dir.path().join("connector.conf");
    std::fs::write(
        &config,
        format!(
            r#"{{
  "name": "cli-connector",
  "config": {{
    "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
    "tasks.max": 1,
    "key.converter": "org.apache.kafka.connect.json.JsonConverter",
    "database.hostname": "{}",
    "database.port": {},
    "database.user": "postgres",
    "database.dbname": "db",
    "topic.prefix": "cli",
    "slot.name": "cli_slot",
    "publication.name": "cli_pub",
    "tombstones.on.delete": false
  }}
}}"#,
            pg.host(),
            pg.port()
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let output = dir.path().join("out.jsonl");
    let stderr = stream_while(
        &pg,
        config,
        &output,
        &["--exit-when-idle", "2"],
        "insert into t values (7); delete from t;",
    );
    // The Kafka Connect keys are named in one note.
    assert_eq!(
        stderr.lines().collect::<Vec<_>>(),
        [
            "note: ignoring keys that have no meaning outside Kafka Connect or are not needed \
          here: connector.class, key.converter, tasks.max"
        ],
    );
    let records = json_lines(&output);
    // tombstones.on.delete=false, a JSON boolean, was applied: no tombstone after the delete.
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(records[0]["topic"], "cli.public.t");
    assert_eq!(records[1]["value"]["op"], "d");
}

#[test]
fn slot_drop_on_stop_drops_the_slot_on_a_graceful_stop_only() {
    let pg = ClusterBuilder::new().start().unwrap();
    pg.create_database("db").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out.jsonl");
    let slots = || {
        pg.psql(
            "postgres",
            "select count(*) from pg_replication_slots where slot_name = 'cli_slot'",
        )
        .unwrap()
    };
    let idle_run = |config: &str| {
        let out = Command::new(BIN)
            .args(["stream", "--config", config, "--exit-when-idle", "0.5"])
            .args(["--output", output.to_str().unwrap()])
            .env("PGOUTPUT_DECODER_LOG", "info")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stderr}");
        stderr
    };

    // Without the setting the slot stays.
    let keep = write_config(dir.path(), &pg, "");
    assert!(!idle_run(&keep).contains("dropped the replication slot"));
    assert_eq!(slots(), "1");

    // With it, --exit-when-idle drops it, and says so.
    let drop_dir = tempfile::tempdir().unwrap();
    let drop = write_config(drop_dir.path(), &pg, "slot.drop.on.stop=true\n");
    let stderr = idle_run(&drop);
    assert!(stderr.contains("dropped the replication slot"), "{stderr}");
    assert_eq!(slots(), "0");

    // So does SIGTERM.
    let mut child = spawn_streaming(&pg, &drop, &output, &[]);
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    assert!(child.wait().unwrap().success());
    assert_eq!(slots(), "0");

    // A crash does not (the slot is created first: a slot whose creation is cut short is
    // gone anyway).
    idle_run(&keep);
    assert_eq!(slots(), "1");
    let mut child = spawn_streaming(&pg, &drop, &output, &[]);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(slots(), "1");
}
