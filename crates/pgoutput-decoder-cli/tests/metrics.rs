//! `stream --metrics-addr`: a real Prometheus scrapes the CLI while it streams. The event
//! counters it scraped equal the events written; the lag rises while the consumer is stalled
//! and comes back down once it catches up; `/health` turns 503 while PostgreSQL is down and
//! 200 once the stream reconnected.

mod monitoring;

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use monitoring::{free_port, http, prometheus::Prometheus};
use pgoutput_decoder::monitor::prometheus::{is_snapshot_metric, METRICS};
use throwaway_postgres::{Cluster, ClusterBuilder, StopMode};

const BIN: &str = env!("CARGO_BIN_EXE_pgoutput-decoder");

/// The CLI streaming to a pipe that the test reads, or stops reading to stall the consumer.
struct Streaming {
    child: Child,
    lines: Arc<AtomicU64>,
    paused: Arc<AtomicBool>,
    metrics: String,
}

impl Streaming {
    /// Streams with the properties `extra` added (e.g. `snapshot.mode=...`; the default is
    /// no_data).
    fn start(pg: &Cluster, dir: &std::path::Path, extra: &str) -> Streaming {
        let config = dir.join("connector.properties");
        std::fs::write(
            &config,
            format!(
                "database.hostname={}\ndatabase.port={}\ndatabase.user=postgres\n\
                 database.dbname=db\ntopic.prefix=m\nslot.name=metrics_slot\n\
                 publication.name=metrics_pub\n\
                 status.update.interval.ms=500\nreconnect.max.delay.ms=1000\n{}",
                pg.host(),
                pg.port(),
                if extra.is_empty() {
                    "snapshot.mode=no_data\n"
                } else {
                    extra
                }
            ),
        )
        .unwrap();
        let metrics = format!("127.0.0.1:{}", free_port());
        let mut child = Command::new(BIN)
            .args([
                "stream",
                "--config",
                config.to_str().unwrap(),
                "--create-slot",
            ])
            .args(["--format", "value", "--metrics-addr", &metrics])
            .args(["--slot-status-interval", "0.5"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let lines = Arc::new(AtomicU64::new(0));
        let paused = Arc::new(AtomicBool::new(false));
        let out = BufReader::new(child.stdout.take().unwrap());
        {
            let (lines, paused) = (lines.clone(), paused.clone());
            std::thread::spawn(move || {
                let mut out = out.lines();
                loop {
                    while paused.load(Ordering::SeqCst) {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    match out.next() {
                        Some(Ok(_)) => lines.fetch_add(1, Ordering::SeqCst),
                        _ => break,
                    };
                }
            });
        }
        let streaming = Streaming {
            child,
            lines,
            paused,
            metrics,
        };
        streaming.wait_for_health(200, Duration::from_secs(30));
        streaming
    }

    fn health(&self) -> Option<http::Answer> {
        http::get(&self.metrics, "/health").ok()
    }

    /// Waits until `/health` answers `status`; returns the body.
    fn wait_for_health(&self, status: u16, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let answer = self.health();
            if let Some(a) = answer.as_ref().filter(|a| a.status == status) {
                return a.body.clone();
            }
            assert!(
                Instant::now() < deadline,
                "/health never answered {status} (last: {answer:?})"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the test has read `n` lines.
    fn wait_for_lines(&self, n: u64) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.lines.load(Ordering::SeqCst) < n {
            assert!(
                Instant::now() < deadline,
                "{} of {n} lines",
                self.lines.load(Ordering::SeqCst)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Streaming {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn prometheus_scrapes_counts_lag_and_health() {
    // A limit on the WAL kept for slots, so that the slot has a safe_wal_size to serve. Both,
    // and the slot's wal_status, exist from PostgreSQL 13.
    let builder = ClusterBuilder::new();
    let slot_status = builder.major_version().unwrap() >= 13;
    let builder = if slot_status {
        builder.setting("max_slot_wal_keep_size", "1GB")
    } else {
        builder
    };
    let pg = builder.start().unwrap();
    pg.create_database("db").unwrap();
    pg.psql(
        "db",
        "create table items (id serial primary key, note text);
         create publication metrics_pub for table items;",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cli = Streaming::start(&pg, dir.path(), "");
    let Some(prometheus) = Prometheus::start(std::slice::from_ref(&cli.metrics)) else {
        return;
    };
    prometheus.wait_for("up", Duration::from_secs(30), |v| v == 1.0);

    // The counters Prometheus scraped equal the events written.
    pg.psql(
        "db",
        "insert into items (note) select 'row ' || i from generate_series(1, 50) i;
         update items set note = 'changed' where id <= 10;
         delete from items where id > 45;",
    )
    .unwrap();
    cli.wait_for_lines(65);
    let total = prometheus.wait_for(
        "sum(pgoutput_decoder_events_total)",
        Duration::from_secs(30),
        |v| v == 65.0,
    );
    assert_eq!(total as u64, cli.lines.load(Ordering::SeqCst));
    for (op, n) in [("c", 50.0), ("u", 10.0), ("d", 5.0)] {
        let query =
            format!("pgoutput_decoder_table_events_total{{table=\"public.items\",op=\"{op}\"}}");
        prometheus.wait_for(&query, Duration::from_secs(10), |v| v == n);
    }
    prometheus.wait_for(
        "pgoutput_decoder_transactions_total",
        Duration::from_secs(10),
        |v| v >= 3.0,
    );
    prometheus.wait_for(
        "pgoutput_decoder_slot_active",
        Duration::from_secs(10),
        |v| v == 1.0,
    );
    prometheus.wait_for("pgoutput_decoder_lag_bytes", Duration::from_secs(30), |v| {
        v == 0.0
    });
    // The README's SQL for the same question (PostgreSQL 13+) runs and finds the slot.
    if slot_status {
        let answer = pg.psql("db", &monitoring::faq_sql()).unwrap();
        assert!(answer.contains("metrics_slot|t|reserved|"), "{answer}");
    }

    // The consumer stalls (nothing reads its output, so its writes block): the lag in bytes
    // and in time rises, and falls back once it reads again. More rows than one batch
    // (max.batch.size, 2048) so that some wait in the queue behind the blocked writer
    // whatever the batches' sizes: waiting events are what the time lag counts from now.
    cli.paused.store(true, Ordering::SeqCst);
    let before = cli.lines.load(Ordering::SeqCst);
    const STALLED: u64 = 5000;
    pg.psql(
        "db",
        &format!(
            "insert into items (note) select repeat('x', 2000) from generate_series(1, {STALLED});"
        ),
    )
    .unwrap();
    prometheus.wait_for("pgoutput_decoder_lag_bytes", Duration::from_secs(30), |v| {
        v > 1_000_000.0
    });
    prometheus.wait_for(
        "pgoutput_decoder_lag_milliseconds",
        Duration::from_secs(30),
        |v| v >= 2000.0,
    );
    prometheus.wait_for(
        "pgoutput_decoder_queue_events",
        Duration::from_secs(10),
        |v| v > 0.0,
    );
    cli.paused.store(false, Ordering::SeqCst);
    cli.wait_for_lines(before + STALLED);
    prometheus.wait_for("pgoutput_decoder_lag_bytes", Duration::from_secs(60), |v| {
        v == 0.0
    });
    // The time lag is that of the last event taken: a fresh change brings it near zero.
    pg.psql("db", "insert into items (note) values ('fresh')")
        .unwrap();
    cli.wait_for_lines(before + STALLED + 1);
    prometheus.wait_for(
        "pgoutput_decoder_lag_milliseconds",
        Duration::from_secs(30),
        |v| v < 1000.0,
    );
    prometheus.wait_for(
        "sum(pgoutput_decoder_events_total)",
        Duration::from_secs(30),
        |v| v as u64 == before + STALLED + 1,
    );

    // PostgreSQL stops: /health answers 503 with the reason, and 200 once reconnected.
    assert_eq!(cli.wait_for_health(200, Duration::from_secs(10)), "ok\n");
    pg.stop(StopMode::Fast).unwrap();
    let body = cli.wait_for_health(503, Duration::from_secs(30));
    assert!(
        body.starts_with("unhealthy: not connected to PostgreSQL"),
        "{body}"
    );
    prometheus.wait_for("pgoutput_decoder_connected", Duration::from_secs(30), |v| {
        v == 0.0
    });
    pg.start().unwrap();
    cli.wait_for_health(200, Duration::from_secs(60));
    prometheus.wait_for("pgoutput_decoder_connected", Duration::from_secs(30), |v| {
        v == 1.0
    });
    prometheus.wait_for(
        "pgoutput_decoder_reconnects_total",
        Duration::from_secs(30),
        |v| v >= 1.0,
    );
    prometheus.wait_for(
        "pgoutput_decoder_errors_total",
        Duration::from_secs(30),
        |v| v >= 1.0,
    );

    // The status page and its numbers (the page itself runs in Chromium in the Python suite,
    // tests/test_status_page.py).
    let page = http::get(&cli.metrics, "/").unwrap();
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("<canvas id=\"throughput\""),
        "{}",
        page.body
    );
    let status: serde_json::Value =
        serde_json::from_str(&http::get(&cli.metrics, "/status.json").unwrap().body).unwrap();
    assert_eq!(status["events"]["total"], before + STALLED + 1);
    assert_eq!(status["healthy"], true);
    if slot_status {
        assert_eq!(status["slot"]["wal_status"], "reserved");
    } else {
        assert!(status["slot"]["wal_status"].is_null(), "{status}");
    }
    assert_eq!(http::get(&cli.metrics, "/nothing").unwrap().status, 404);

    // Every metric is served by now, among them all that the dashboard and the alert rules
    // use.
    let served = http::get(&cli.metrics, "/metrics").unwrap().body;
    let served = monitoring::metric_names(&served);
    // (The snapshot's come only with a snapshot: see the test below.)
    // (Before PostgreSQL 13 the slot has no wal_status or safe_wal_size to serve.)
    let by_version = |name: &str| {
        slot_status
            || !matches!(
                name,
                "pgoutput_decoder_slot_wal_status" | "pgoutput_decoder_slot_safe_wal_size_bytes"
            )
    };
    for metric in METRICS
        .iter()
        .filter(|m| !is_snapshot_metric(m.name) && by_version(m.name))
    {
        assert!(
            served.iter().any(|s| s == metric.name),
            "{} is not served",
            metric.name
        );
    }
    for name in monitoring::shipped_metric_names()
        .into_iter()
        .filter(|n| !is_snapshot_metric(n) && by_version(n))
    {
        assert!(
            served.contains(&name),
            "deploy/monitoring uses {name}, which is not served"
        );
    }
}

/// The value of a sample line `name` (with its labels) in a /metrics text.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.parse().ok())
}

#[test]
fn the_snapshot_progress_is_served() {
    let pg = ClusterBuilder::new().start().unwrap();
    pg.create_database("db").unwrap();
    pg.psql(
        "db",
        "create table big (id int primary key); create table small (id int primary key);
         insert into big select generate_series(1, 1000); insert into small values (1), (2);
         analyze big; analyze small;
         create publication metrics_pub for table big, small;",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cli = Streaming::start(&pg, dir.path(), "snapshot.mode=initial\n");
    cli.wait_for_lines(1002);
    let deadline = Instant::now() + Duration::from_secs(30);
    let text = loop {
        let text = http::get(&cli.metrics, "/metrics").unwrap().body;
        if sample(&text, "pgoutput_decoder_snapshot_completed") == Some(1.0) {
            break text;
        }
        assert!(Instant::now() < deadline, "{text}");
        std::thread::sleep(Duration::from_millis(100));
    };
    for (name, value) in [
        ("pgoutput_decoder_snapshot_running", 0.0),
        ("pgoutput_decoder_snapshot_tables_total", 2.0),
        ("pgoutput_decoder_snapshot_tables_remaining", 0.0),
        (
            "pgoutput_decoder_snapshot_table_rows_estimated{table=\"public.big\"}",
            1000.0,
        ),
        (
            "pgoutput_decoder_snapshot_table_rows_read{table=\"public.big\"}",
            1000.0,
        ),
        (
            "pgoutput_decoder_snapshot_table_rows_read{table=\"public.small\"}",
            2.0,
        ),
        (
            "pgoutput_decoder_table_events_total{table=\"public.big\",op=\"r\"}",
            1000.0,
        ),
        ("pgoutput_decoder_events_total{op=\"r\"}", 1002.0),
    ] {
        assert_eq!(sample(&text, name), Some(value), "{name} in:\n{text}");
    }
    let served = monitoring::metric_names(&text);
    for metric in METRICS.iter().filter(|m| is_snapshot_metric(m.name)) {
        assert!(
            served.iter().any(|s| s == metric.name),
            "{} is not served",
            metric.name
        );
    }
    let status: serde_json::Value =
        serde_json::from_str(&http::get(&cli.metrics, "/status.json").unwrap().body).unwrap();
    assert_eq!(status["snapshot"]["completed"], true);
    assert_eq!(status["snapshot"]["tables"][0]["table"], "public.big");
}
