//! Integration tests: these start real PostgreSQL servers (set `PG_BIN` to pick a version).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use throwaway_postgres::{
    BaseBackupMethod, Cluster, ClusterBuilder, ClusterError, StandbyOptions, StopMode,
};

fn start(builder: ClusterBuilder) -> Cluster {
    builder
        .start()
        .unwrap_or_else(|e| panic!("cluster did not start: {e}"))
}

fn sql(cluster: &Cluster, db: &str, sql: &str) -> String {
    cluster
        .psql(db, sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z')),
        Err(_) => false,
    }
}

fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs psql over TCP with an explicit password (or none), outside the crate's helpers.
fn psql_with_password(cluster: &Cluster, password: Option<&str>) -> std::process::Output {
    let mut cmd = Command::new("psql");
    cmd.args(["-X", "-At", "-w", "-c", "select 1", "-d"])
        .arg(format!(
            "host={} port={} user=postgres dbname=postgres sslmode=disable",
            cluster.host(),
            cluster.port()
        ));
    cmd.env_remove("PGPASSWORD")
        .env("PGPASSFILE", "/nonexistent");
    if let Some(password) = password {
        cmd.env("PGPASSWORD", password);
    }
    cmd.output().expect("run psql")
}

#[test]
fn runs_sql_on_a_logical_replication_ready_cluster() {
    let cluster = start(ClusterBuilder::new());
    assert_eq!(cluster.host(), "127.0.0.1");
    assert_eq!(cluster.superuser(), "postgres");
    assert_eq!(cluster.password(), None);
    assert!(cluster.data_dir().join("PG_VERSION").exists());
    assert!(cluster.log_file().starts_with(cluster.data_dir()));

    assert_eq!(sql(&cluster, "postgres", "SHOW wal_level"), "logical");
    assert_eq!(
        sql(&cluster, "postgres", "SHOW max_replication_slots"),
        "20"
    );
    assert_eq!(sql(&cluster, "postgres", "SHOW max_wal_senders"), "20");
    assert_eq!(
        sql(&cluster, "postgres", "SHOW max_prepared_transactions"),
        "10"
    );
    assert_eq!(sql(&cluster, "postgres", "SHOW fsync"), "off");
    assert_eq!(sql(&cluster, "postgres", "SHOW server_encoding"), "UTF8");
    assert_eq!(
        sql(&cluster, "postgres", "SHOW port"),
        cluster.port().to_string()
    );

    if let Some(pg_bin) = std::env::var_os("PG_BIN").filter(|v| !v.is_empty()) {
        assert_eq!(cluster.bin_dir(), Path::new(&pg_bin));
    }
    let (major, full) = cluster.version();
    eprintln!("PostgreSQL {full} from {}", cluster.bin_dir().display());
    assert!(full.starts_with(&major.to_string()), "{full}");
    let num: u32 = sql(&cluster, "postgres", "SHOW server_version_num")
        .parse()
        .unwrap();
    assert_eq!(num / 10000, major);
    assert_eq!(cluster.major_version(), major);

    // Several statements, run one by one; unaligned tuples-only output.
    let out = sql(
        &cluster,
        "postgres",
        "CREATE TABLE t (id int PRIMARY KEY, name text);
         INSERT INTO t VALUES (1, 'a'), (2, 'ü€');
         SELECT * FROM t ORDER BY id;",
    );
    assert_eq!(out, "1|a\n2|ü€");

    // CREATE DATABASE cannot run inside a transaction block: works through psql().
    cluster.create_database("Other DB").unwrap();
    sql(&cluster, "Other DB", "CREATE TABLE only_here (x int)");
    assert_eq!(
        sql(&cluster, "Other DB", "SELECT current_database()"),
        "Other DB"
    );
    assert_eq!(
        sql(
            &cluster,
            "postgres",
            "SELECT to_regclass('only_here') IS NULL"
        ),
        "t"
    );

    let file = cluster.data_dir().parent().unwrap().join("script.sql");
    std::fs::write(&file, "SELECT 40 + 2;\n").unwrap();
    assert_eq!(cluster.psql_file("postgres", &file).unwrap(), "42");

    let err = cluster
        .psql(
            "postgres",
            "SELECT 1; SELECT * FROM missing_table; SELECT 3",
        )
        .unwrap_err();
    assert!(matches!(err, ClusterError::Psql { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("missing_table") && msg.contains("does not exist"),
        "{msg}"
    );

    assert_eq!(
        cluster.dsn("my db"),
        format!(
            "host=127.0.0.1 port={} user=postgres dbname='my db'",
            cluster.port()
        )
    );
    assert!(cluster.is_running());
    let pid = cluster.server_pid().expect("server pid");
    assert!(process_alive(pid));
    // Logical replication works end to end.
    assert_eq!(
        sql(
            &cluster,
            "postgres",
            "SELECT count(*) FROM pg_create_logical_replication_slot('s', 'pgoutput')"
        ),
        "1"
    );
}

#[test]
fn restarts_keep_port_and_data() {
    let cluster = start(ClusterBuilder::new());
    let port = cluster.port();
    let dsn = cluster.dsn("postgres");
    sql(
        &cluster,
        "postgres",
        "CREATE TABLE t (id int); INSERT INTO t VALUES (1)",
    );
    let pid = cluster.server_pid().unwrap();

    cluster.restart(StopMode::Fast).unwrap();
    assert_eq!(cluster.port(), port);
    assert_eq!(cluster.dsn("postgres"), dsn);
    assert_eq!(sql(&cluster, "postgres", "SHOW port"), port.to_string());
    assert_eq!(sql(&cluster, "postgres", "SELECT count(*) FROM t"), "1");
    let pid2 = cluster.server_pid().unwrap();
    assert_ne!(pid, pid2);

    // With synchronous_commit=off (the default), a commit right before an immediate stop
    // may be lost: make this one synchronous.
    sql(
        &cluster,
        "postgres",
        "SET synchronous_commit = on; INSERT INTO t VALUES (2)",
    );
    cluster.restart(StopMode::Immediate).unwrap();
    assert_eq!(sql(&cluster, "postgres", "SHOW port"), port.to_string());
    assert_eq!(sql(&cluster, "postgres", "SELECT count(*) FROM t"), "2");
    assert_ne!(cluster.server_pid().unwrap(), pid2);
    let log = std::fs::read_to_string(cluster.log_file()).unwrap();
    assert!(
        log.contains("not properly shut down"),
        "expected crash recovery in the log"
    );

    cluster.stop(StopMode::Fast).unwrap();
    assert!(!cluster.is_running());
    assert_eq!(cluster.server_pid(), None);
    cluster.stop(StopMode::Fast).unwrap(); // already stopped: no error
    assert!(cluster.psql("postgres", "SELECT 1").is_err());

    cluster.start().unwrap();
    cluster.start().unwrap(); // already running: no error
    assert_eq!(cluster.port(), port);
    assert_eq!(sql(&cluster, "postgres", "SELECT count(*) FROM t"), "2");

    cluster.stop(StopMode::Smart).unwrap();
    assert!(!cluster.is_running());
    cluster.start().unwrap();

    // SIGKILL leaves a stale postmaster.pid behind: stop() is a no-op, start() recovers.
    let pid = cluster.server_pid().unwrap();
    Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    wait_until("the postmaster died", Duration::from_secs(10), || {
        !process_alive(pid)
    });
    assert!(cluster.data_dir().join("postmaster.pid").exists());
    assert!(!cluster.is_running());
    cluster.stop(StopMode::Fast).unwrap();
    // Orphaned backends may linger for a moment after the postmaster died.
    wait_until("the cluster restarted", Duration::from_secs(30), || {
        cluster.start().is_ok()
    });
    assert_eq!(sql(&cluster, "postgres", "SELECT count(*) FROM t"), "2");

    // Restart of a stopped server starts it.
    cluster.stop(StopMode::Immediate).unwrap();
    cluster.restart(StopMode::Fast).unwrap();
    assert!(cluster.is_running());
    assert_eq!(sql(&cluster, "postgres", "SELECT count(*) FROM t"), "2");
}

#[test]
fn scram_password_authentication() {
    let password = "s3cret pass'word\\";
    let cluster = start(ClusterBuilder::new().superuser_password(password));
    assert_eq!(cluster.password(), Some(password));
    assert!(cluster
        .dsn("postgres")
        .ends_with(r" password='s3cret pass\'word\\'"));

    // psql() sends the password.
    assert_eq!(
        sql(
            &cluster,
            "postgres",
            "SELECT left(rolpassword, 14) FROM pg_authid WHERE rolname = 'postgres'"
        ),
        "SCRAM-SHA-256$"
    );
    assert_eq!(
        sql(
            &cluster,
            "postgres",
            "SELECT DISTINCT auth_method FROM pg_hba_file_rules WHERE type = 'host'"
        ),
        "scram-sha-256"
    );

    let ok = psql_with_password(&cluster, Some(password));
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );

    let wrong = psql_with_password(&cluster, Some("wrong"));
    assert!(!wrong.status.success());
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(
        stderr.contains("password authentication failed"),
        "{stderr}"
    );

    let none = psql_with_password(&cluster, None);
    assert!(!none.status.success());
}

#[test]
fn md5_password_authentication() {
    let cluster = start(
        ClusterBuilder::new()
            .superuser_password("md5pw")
            .host_auth("md5"),
    );
    assert_eq!(
        sql(
            &cluster,
            "postgres",
            "SELECT left(rolpassword, 3) FROM pg_authid WHERE rolname = 'postgres'"
        ),
        "md5"
    );
    assert!(psql_with_password(&cluster, Some("md5pw")).status.success());
    let wrong = psql_with_password(&cluster, Some("nope"));
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("password authentication failed"));
}

#[test]
fn clusters_start_in_parallel() {
    let clusters: Vec<Cluster> = (0..3)
        .map(|i| {
            std::thread::spawn(move || {
                let cluster = start(ClusterBuilder::new());
                sql(
                    &cluster,
                    "postgres",
                    &format!("CREATE TABLE mine_{i} (x int)"),
                );
                cluster
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    let mut ports: Vec<u16> = clusters.iter().map(Cluster::port).collect();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), 3);
    let mut dirs: Vec<&Path> = clusters.iter().map(Cluster::data_dir).collect();
    dirs.sort();
    dirs.dedup();
    assert_eq!(dirs.len(), 3);
    for (i, cluster) in clusters.iter().enumerate() {
        let tables = sql(
            cluster,
            "postgres",
            "SELECT string_agg(relname, ',') FROM pg_class WHERE relname LIKE 'mine\\_%'",
        );
        assert_eq!(tables, format!("mine_{i}"));
    }
}

#[test]
fn drop_stops_the_server_and_removes_the_directory() {
    let cluster = start(ClusterBuilder::new());
    let root = cluster.socket_dir().to_path_buf();
    let pid = cluster.server_pid().unwrap();
    assert!(root.is_dir());
    drop(cluster);
    assert!(!root.exists(), "{} still exists", root.display());
    wait_until("the postmaster exited", Duration::from_secs(10), || {
        !process_alive(pid)
    });

    // Also when the owner panics.
    let (tx, rx) = std::sync::mpsc::channel::<(PathBuf, u32)>();
    let result = std::panic::catch_unwind(move || {
        let cluster = start(ClusterBuilder::new());
        tx.send((
            cluster.socket_dir().to_path_buf(),
            cluster.server_pid().unwrap(),
        ))
        .unwrap();
        panic!("test failure while the cluster is alive");
    });
    assert!(result.is_err());
    let (root, pid) = rx.recv().unwrap();
    assert!(
        !root.exists(),
        "{} still exists after a panic",
        root.display()
    );
    wait_until("the postmaster exited", Duration::from_secs(10), || {
        !process_alive(pid)
    });
}

#[test]
fn start_failure_reports_the_server_log() {
    let err = ClusterBuilder::new()
        .setting("shared_buffers", "lots")
        .start()
        .unwrap_err();
    let msg = err.to_string();
    eprintln!("{msg}");
    assert!(msg.contains("failed to start"), "{msg}");
    assert!(
        msg.contains("invalid value for parameter \"shared_buffers\""),
        "{msg}"
    );
    assert!(err.log_tail().is_some());
    // Nothing is left behind.
    let ClusterError::Server { log_file, .. } = &err else {
        panic!("{err:?}")
    };
    let root = log_file.parent().unwrap().parent().unwrap();
    assert!(!root.exists(), "{} was not removed", root.display());
}

#[test]
fn taken_fixed_port_is_reported() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let err = ClusterBuilder::new()
        .setting("port", port.to_string())
        .start()
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("Address already in use"), "{msg}");
}

#[test]
fn fixed_port_is_used() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let cluster = start(ClusterBuilder::new().setting("port", port.to_string()));
    assert_eq!(cluster.port(), port);
    assert_eq!(sql(&cluster, "postgres", "SHOW port"), port.to_string());
}

#[test]
fn bad_configuration_is_reported() {
    let err = ClusterBuilder::new()
        .bin_dir("/nonexistent/pg/bin")
        .start()
        .unwrap_err();
    assert!(matches!(err, ClusterError::Binaries(_)), "{err:?}");
    assert!(err.to_string().contains("/nonexistent/pg/bin"), "{err}");

    let empty = tempfile::tempdir().unwrap();
    let err = ClusterBuilder::new()
        .bin_dir(empty.path())
        .start()
        .unwrap_err();
    assert!(
        err.to_string().contains("initdb, pg_ctl, postgres"),
        "{err}"
    );

    let err = ClusterBuilder::new()
        .setting("port", "http")
        .start()
        .unwrap_err();
    assert!(matches!(err, ClusterError::Config(_)), "{err:?}");
}

#[test]
fn settings_and_hba_lines_are_applied() {
    let cluster = start(
        ClusterBuilder::new()
            .setting("work_mem", "8MB")
            .setting("application_name", "it's me")
            .setting("wal_sender_timeout", "'5s'")
            .hba_line("host all nobody 127.0.0.1/32 reject"),
    );
    assert_eq!(sql(&cluster, "postgres", "SHOW work_mem"), "8MB");
    assert_eq!(
        sql(
            &cluster,
            "postgres",
            "SELECT current_setting('application_name')"
        ),
        "throwaway-postgres"
    );
    assert_eq!(
        sql(
            &cluster,
            "postgres",
            "SELECT setting FROM pg_settings WHERE name = 'application_name'"
        ),
        "throwaway-postgres"
    );
    assert_eq!(
        sql(
            &cluster,
            "postgres",
            "SELECT boot_val <> reset_val FROM pg_settings WHERE name = 'application_name'"
        ),
        "t"
    );
    assert_eq!(sql(&cluster, "postgres", "SHOW wal_sender_timeout"), "5s");
    assert_eq!(
        sql(&cluster, "postgres", "SELECT user_name[1] || ' ' || auth_method FROM pg_hba_file_rules ORDER BY line_number LIMIT 1"),
        "nobody reject"
    );
}

#[test]
fn ssl_connections() {
    if Command::new("openssl").arg("version").output().is_err() {
        eprintln!("openssl not found: skipping");
        return;
    }
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = (
        certs.path().join("server.pem"),
        certs.path().join("key.pem"),
    );
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());

    let cluster = start(
        ClusterBuilder::new()
            .superuser_password("pw")
            .ssl(&cert, &key, None)
            .hba_line("hostnossl all all 127.0.0.1/32 reject")
            .hba_line("hostssl all all 127.0.0.1/32 scram-sha-256"),
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(cluster.data_dir().join("server.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(sql(&cluster, "postgres", "SHOW ssl"), "on");
    // psql() connects with sslmode=prefer: TLS is used, plain connections are rejected.
    assert_eq!(
        sql(
            &cluster,
            "postgres",
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
        ),
        "t"
    );
    let plain = psql_with_password(&cluster, Some("pw"));
    assert!(!plain.status.success());
    // The server refuses for want of a pg_hba.conf line: PostgreSQL 14+ says "no
    // encryption", 12 and 13 "SSL off".
    let refused = String::from_utf8_lossy(&plain.stderr);
    assert!(
        refused.contains("no encryption") || refused.contains("SSL off"),
        "{refused}"
    );
}

/// The process that owns a cluster is killed with SIGKILL: the watchdog must stop the server
/// and delete the directory.
#[test]
fn killed_owner_does_not_leak_the_cluster() {
    const CHILD_ENV: &str = "THROWAWAY_PG_TEST_CHILD";
    if std::env::var_os(CHILD_ENV).is_some() {
        let cluster = start(ClusterBuilder::new());
        println!(
            "\nREADY {} {}",
            cluster.server_pid().unwrap(),
            cluster.socket_dir().display()
        );
        // Block until the parent goes away (it kills us first).
        let _ = std::io::stdin().read_line(&mut String::new());
        return;
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "killed_owner_does_not_leak_the_cluster",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = loop {
        let line = lines
            .next()
            .expect("child exited before starting a cluster")
            .unwrap();
        // libtest may print "test <name> ... " on the same line.
        if let Some((_, rest)) = line.split_once("READY ") {
            break rest.to_owned();
        }
    };
    let (pid, root) = ready.split_once(' ').unwrap();
    let (pid, root): (u32, PathBuf) = (pid.parse().unwrap(), root.into());
    assert!(process_alive(pid) && root.is_dir());

    child.kill().unwrap();
    child.wait().unwrap();
    wait_until("the postmaster exited", Duration::from_secs(30), || {
        !process_alive(pid)
    });
    wait_until("the directory was removed", Duration::from_secs(30), || {
        !root.exists()
    });
}

/// A standby follows its primary, and once promoted takes writes of its own.
fn standby_follows_and_promotes(method: BaseBackupMethod) {
    let primary = start(ClusterBuilder::new().superuser_password("pw"));
    sql(
        &primary,
        "postgres",
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1);",
    );
    let standby = primary
        .create_standby(&StandbyOptions {
            slot: Some("standby_slot".into()),
            settings: vec![("hot_standby_feedback".into(), "on".into())],
            method,
        })
        .unwrap_or_else(|e| panic!("standby did not start: {e}"));
    assert_ne!(standby.port(), primary.port());
    assert_eq!(standby.password(), Some("pw"));
    assert!(standby.is_in_recovery().unwrap());
    assert!(!primary.is_in_recovery().unwrap());
    assert_eq!(sql(&standby, "postgres", "SHOW hot_standby_feedback"), "on");
    assert_eq!(
        sql(
            &primary,
            "postgres",
            "SELECT slot_type FROM pg_replication_slots WHERE slot_name = 'standby_slot'"
        ),
        "physical"
    );
    sql(&primary, "postgres", "INSERT INTO t VALUES (2)");
    wait_until(
        "the standby has the new row",
        Duration::from_secs(30),
        || standby.psql("postgres", "SELECT count(*) FROM t").ok() == Some("2".into()),
    );
    assert!(standby
        .psql("postgres", "INSERT INTO t VALUES (3)")
        .is_err());
    primary.stop(StopMode::Immediate).unwrap();
    standby.promote().unwrap();
    assert!(!standby.is_in_recovery().unwrap());
    sql(&standby, "postgres", "INSERT INTO t VALUES (3)");
    assert_eq!(sql(&standby, "postgres", "SELECT count(*) FROM t"), "3");
}

#[test]
fn standby_from_pg_basebackup_or_default_method() {
    standby_follows_and_promotes(BaseBackupMethod::Auto);
}

#[test]
fn standby_from_the_low_level_backup_api() {
    standby_follows_and_promotes(BaseBackupMethod::LowLevelApi);
}
