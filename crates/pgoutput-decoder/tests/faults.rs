//! Fault injection against a real server: the stream reconnects by itself and every committed
//! row arrives exactly once (nothing acknowledged is delivered again, nothing is lost).

mod support;

use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use pgoutput_decoder::{
    config::ReconnectPolicy, conn::ConnectParams, ChangeStream, PublicationAutocreate,
    ReplicationConfig,
};
use support::{spawn_workload, CuttingProxy};
use throwaway_postgres::{Cluster, ClusterBuilder, StopMode};
use tokio::{
    io::copy_bidirectional,
    net::{TcpListener, TcpStream},
};

fn config(host: &str, port: u16, db: &str) -> ReplicationConfig {
    let mut c = ReplicationConfig::new(
        ConnectParams::from_dsn(&format!(
            "host={host} port={port} user=postgres dbname={db}"
        ))
        .unwrap(),
    );
    c.slot_name = "faults".into();
    c.publication_name = "faults_pub".into();
    c.publication_autocreate = PublicationAutocreate::AllTables;
    c.create_slot = true;
    c.status_interval = Duration::from_millis(200);
    c.reconnect = ReconnectPolicy {
        initial_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(1),
        ..ReconnectPolicy::default()
    };
    c
}

fn prepare(pg: &Cluster) {
    pg.create_database("db").unwrap();
    pg.psql(
        "db",
        "create table t (id bigserial primary key, batch int not null, pad text)",
    )
    .unwrap();
}

/// Consumes and acknowledges events until every row of `t` was seen; returns ids → count.
async fn drain_until_complete(
    stream: &mut ChangeStream,
    pg: &Cluster,
    seen: &mut BTreeMap<i64, u32>,
) {
    let deadline = Instant::now() + Duration::from_secs(90);
    let count = || -> usize {
        pg.psql("db", "select count(*) from t")
            .unwrap()
            .parse()
            .unwrap()
    };
    // Counted again only when it seems reached: a psql per batch of a small-batch stream
    // took most of the time on a loaded machine.
    let mut expected = count();
    loop {
        if seen.len() >= expected {
            expected = count();
        }
        if seen.len() >= expected {
            // Give a late duplicate the chance to show up.
            let extra = stream
                .next_batch_timeout(Duration::from_millis(500))
                .await
                .unwrap()
                .unwrap();
            record_and_ack(stream, &extra, seen);
            if extra.is_empty() {
                return;
            }
            continue;
        }
        assert!(
            Instant::now() < deadline,
            "only {} of {expected} rows arrived",
            seen.len()
        );
        let batch = stream
            .next_batch_timeout(Duration::from_millis(500))
            .await
            .expect("stream failed")
            .expect("stream ended");
        record_and_ack(stream, &batch, seen);
    }
}

fn record(batch: &[pgoutput_decoder::Event], seen: &mut BTreeMap<i64, u32>) {
    for e in batch {
        let change = e.as_change().expect("only row changes here");
        let id: i64 = std::str::from_utf8(change.after.as_ref().unwrap().text(0).unwrap())
            .unwrap()
            .parse()
            .unwrap();
        *seen.entry(id).or_default() += 1;
    }
}

/// Records a batch's rows and acknowledges it.
fn record_and_ack(
    stream: &ChangeStream,
    batch: &[pgoutput_decoder::Event],
    seen: &mut BTreeMap<i64, u32>,
) {
    record(batch, seen);
    if let Some(last) = batch.last() {
        stream.ack(last);
    }
}

/// Takes, records and acknowledges batches until `rows` distinct rows were seen.
async fn consume_until(stream: &mut ChangeStream, seen: &mut BTreeMap<i64, u32>, rows: usize) {
    while seen.len() < rows {
        let batch = stream.next_batch().await.unwrap().unwrap();
        record_and_ack(stream, &batch, seen);
    }
}

fn assert_exactly_once(pg: &Cluster, seen: &BTreeMap<i64, u32>) {
    let ids: Vec<i64> = pg
        .psql("db", "select id from t order by id")
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    let missing: Vec<&i64> = ids.iter().filter(|id| !seen.contains_key(id)).collect();
    assert!(
        missing.is_empty(),
        "{} committed rows never arrived, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    let dups: Vec<(&i64, &u32)> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        dups.is_empty(),
        "{} rows arrived more than once, e.g. {:?}",
        dups.len(),
        &dups[..dups.len().min(5)]
    );
    assert_eq!(
        seen.len(),
        ids.len(),
        "rows arrived that are not in the table"
    );
}

async fn restart_mid_stream(mode: StopMode) {
    let pg = Arc::new(ClusterBuilder::new().start().unwrap());
    prepare(&pg);
    let mut stream = ChangeStream::connect(config(pg.host(), pg.port(), "db"))
        .await
        .unwrap();
    let workload = spawn_workload(pg.clone(), 1, 400, Duration::from_millis(2));
    let mut seen = BTreeMap::new();
    // Let some changes through, then restart the server under the running workload.
    consume_until(&mut stream, &mut seen, 100).await;
    let started = Instant::now();
    // The consumer keeps consuming while the server restarts: a fast shutdown waits until the
    // walsender's client confirmed everything it was sent.
    let restart = {
        let pg = pg.clone();
        tokio::task::spawn_blocking(move || pg.restart(mode))
    };
    while !restart.is_finished() {
        let batch = stream
            .next_batch_timeout(Duration::from_millis(100))
            .await
            .unwrap()
            .unwrap();
        record_and_ack(&stream, &batch, &mut seen);
    }
    restart.await.unwrap().unwrap();
    workload.join().unwrap();
    // More committed work after the restart: the stream must pick it up by itself.
    spawn_workload(pg.clone(), 2, 50, Duration::from_millis(2))
        .join()
        .unwrap();
    drain_until_complete(&mut stream, &pg, &mut seen).await;
    eprintln!(
        "{mode:?} restart: caught up {:.1}s after the restart began, {} rows",
        started.elapsed().as_secs_f64(),
        seen.len()
    );
    assert_exactly_once(&pg, &seen);
    stream.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn server_restart_fast_mid_stream_loses_and_duplicates_nothing() {
    restart_mid_stream(StopMode::Fast).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn server_restart_immediate_mid_stream_loses_and_duplicates_nothing() {
    restart_mid_stream(StopMode::Immediate).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn connection_cut_mid_transaction_is_resumed_without_gaps_or_duplicates() {
    let pg = Arc::new(ClusterBuilder::new().start().unwrap());
    prepare(&pg);
    let proxy = CuttingProxy::start(pg.port()).await;
    let mut stream = ChangeStream::connect(config("127.0.0.1", proxy.port, "db"))
        .await
        .unwrap();
    // One large transaction, then small ones.
    pg.psql(
        "db",
        "insert into t (batch, pad) select 1, repeat('y', 200) from generate_series(1, 20000)",
    )
    .unwrap();
    pg.psql(
        "db",
        "insert into t (batch) select 2 from generate_series(1, 10)",
    )
    .unwrap();
    let mut seen = BTreeMap::new();
    // Cut while the big transaction is half delivered (and half acknowledged).
    consume_until(&mut stream, &mut seen, 5000).await;
    let before = proxy.connections.load(Ordering::SeqCst);
    let started = Instant::now();
    proxy.cut_all();
    drain_until_complete(&mut stream, &pg, &mut seen).await;
    assert!(
        proxy.connections.load(Ordering::SeqCst) > before,
        "the stream never reconnected"
    );
    eprintln!(
        "proxy cut: caught up {:.1}s after the cut, {} rows",
        started.elapsed().as_secs_f64(),
        seen.len()
    );
    assert_exactly_once(&pg, &seen);
    stream.stop().await.unwrap();
}

/// A TCP proxy that can turn its open connections into a black hole: they stay open, but
/// nothing is forwarded in either direction any more, as when a network path dies without
/// anyone closing the connection. New connections are forwarded normally.
struct BlackHoleProxy {
    port: u16,
    /// Connections accepted before the latest `swallow_all` are black holes.
    generation: tokio::sync::watch::Sender<usize>,
    connections: Arc<AtomicUsize>,
}

impl BlackHoleProxy {
    async fn start(target_port: u16) -> BlackHoleProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (generation, _) = tokio::sync::watch::channel(0usize);
        let connections = Arc::new(AtomicUsize::new(0));
        let (gen_tx, conns) = (generation.clone(), connections.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                conns.fetch_add(1, Ordering::SeqCst);
                let mut gen_rx = gen_tx.subscribe();
                let born = *gen_rx.borrow();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", target_port)).await
                    else {
                        return;
                    };
                    tokio::select! {
                        _ = copy_bidirectional(&mut inbound, &mut outbound) => return,
                        _ = gen_rx.wait_for(|g| *g > born) => {}
                    }
                    // Keep both sockets open and never touch them again: whatever either
                    // side sends is swallowed, and neither sees the other close.
                    std::future::pending::<()>().await;
                    drop((inbound, outbound));
                });
            }
        });
        BlackHoleProxy {
            port,
            generation,
            connections,
        }
    }

    fn swallow_all(&self) {
        self.generation.send_modify(|g| *g += 1);
    }
}

/// The server drops a connection that stopped answering (wal_sender_timeout), but nothing
/// tells our side: the network path is a black hole. The receive timeout (by default twice
/// the server's wal_sender_timeout) notices, and the stream reconnects and goes on.
#[tokio::test(flavor = "multi_thread")]
async fn black_hole_after_wal_sender_timeout_is_noticed_and_resumed() {
    let pg = Arc::new(
        ClusterBuilder::new()
            .setting("wal_sender_timeout", "2s")
            .start()
            .unwrap(),
    );
    prepare(&pg);
    let proxy = BlackHoleProxy::start(pg.port()).await;
    // receive_timeout left at its default: 2 x wal_sender_timeout = 4 s.
    let mut stream = ChangeStream::connect(config("127.0.0.1", proxy.port, "db"))
        .await
        .unwrap();
    let workload = spawn_workload(pg.clone(), 1, 600, Duration::from_millis(2));
    let mut seen = BTreeMap::new();
    consume_until(&mut stream, &mut seen, 200).await;
    let log_offset = std::fs::metadata(pg.log_file()).unwrap().len();
    let before = proxy.connections.load(Ordering::SeqCst);
    let started = Instant::now();
    proxy.swallow_all();
    // Keep consuming (what was already queued) while the connection is a black hole.
    let mut reconnected_after = None;
    while reconnected_after.is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the stream never noticed the dead connection"
        );
        let batch = stream
            .next_batch_timeout(Duration::from_millis(100))
            .await
            .expect("the stream failed instead of reconnecting")
            .unwrap();
        record_and_ack(&stream, &batch, &mut seen);
        if proxy.connections.load(Ordering::SeqCst) > before {
            reconnected_after = Some(started.elapsed());
        }
    }
    workload.join().unwrap();
    spawn_workload(pg.clone(), 2, 50, Duration::from_millis(2))
        .join()
        .unwrap();
    drain_until_complete(&mut stream, &pg, &mut seen).await;
    let log = std::fs::read_to_string(pg.log_file()).unwrap();
    assert!(
        log[log_offset as usize..]
            .contains("terminating walsender process due to replication timeout"),
        "the server did not drop the connection for wal_sender_timeout"
    );
    eprintln!(
        "black hole with wal_sender_timeout=2s: reconnected {:.1}s after the path died, \
         caught up {:.1}s after it, {} rows",
        reconnected_after.unwrap().as_secs_f64(),
        started.elapsed().as_secs_f64(),
        seen.len()
    );
    assert_exactly_once(&pg, &seen);
    stream.stop().await.unwrap();
}

fn walsender_pids(pg: &Cluster) -> String {
    pg.psql(
        "postgres",
        "select string_agg(pid::text, ',') from pg_stat_replication",
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_consumer_outlives_wal_sender_timeout() {
    let pg = Arc::new(
        ClusterBuilder::new()
            .setting("wal_sender_timeout", "2s")
            .start()
            .unwrap(),
    );
    prepare(&pg);
    let mut cfg = config(pg.host(), pg.port(), "db");
    // A small queue, so the connection task is held back by the slow consumer.
    cfg.max_batch_size = 4;
    cfg.max_queue_size = 8;
    cfg.status_interval = Duration::from_millis(500);
    let mut stream = ChangeStream::connect(cfg).await.unwrap();
    pg.psql(
        "db",
        "insert into t (batch, pad) select 1, repeat('z', 2000) from generate_series(1, 2000)",
    )
    .unwrap();
    let pid = walsender_pids(&pg);
    let started = Instant::now();
    let mut seen = BTreeMap::new();
    // Sleep per event for well over wal_sender_timeout in total.
    while started.elapsed() < Duration::from_secs(6) {
        let event = stream.next_event().await.unwrap().unwrap();
        record(std::slice::from_ref(&event), &mut seen);
        stream.ack(&event);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        walsender_pids(&pg),
        pid,
        "the walsender was replaced: the connection timed out"
    );
    drain_until_complete(&mut stream, &pg, &mut seen).await;
    assert_exactly_once(&pg, &seen);
    stream.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_slot_advances_while_another_database_writes() {
    let pg = Arc::new(ClusterBuilder::new().start().unwrap());
    prepare(&pg);
    pg.create_database("busy").unwrap();
    pg.psql(
        "busy",
        "create table noise (id bigserial primary key, pad text)",
    )
    .unwrap();
    let mut stream = ChangeStream::connect(config(pg.host(), pg.port(), "db"))
        .await
        .unwrap();
    let confirmed = || {
        pg.psql("postgres", "select confirmed_flush_lsn - '0/0' from pg_replication_slots where slot_name = 'faults'")
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    let start = confirmed();
    let noise = {
        let pg = pg.clone();
        std::thread::spawn(move || {
            pg.psql(
                "busy",
                "do $$ begin for i in 1..60 loop insert into noise (pad) select repeat('n', 500) \
                 from generate_series(1, 100); commit; perform pg_sleep(0.05); end loop; end $$;",
            )
            .unwrap();
        })
    };
    // Nothing arrives for the captured database, yet its slot keeps up with the WAL.
    assert!(stream
        .next_batch_timeout(Duration::from_secs(3))
        .await
        .unwrap()
        .unwrap()
        .is_empty());
    noise.join().unwrap();
    let wal_now: u64 = pg
        .psql("postgres", "select pg_current_wal_lsn() - '0/0'")
        .unwrap()
        .parse()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let c = confirmed();
        if c > start && wal_now.saturating_sub(c) < 1 << 20 {
            eprintln!(
                "idle slot advanced by {} bytes (WAL written meanwhile: {})",
                c - start,
                wal_now - start
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "confirmed_flush_lsn stayed at {c} while WAL reached {wal_now}"
        );
        let _ = stream
            .next_batch_timeout(Duration::from_millis(200))
            .await
            .unwrap();
    }
    stream.stop().await.unwrap();
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

async fn large_transaction(rows: u64) {
    // A small logical_decoding_work_mem makes the server stream the transaction early.
    let pg = Arc::new(
        ClusterBuilder::new()
            .setting("logical_decoding_work_mem", "64kB")
            .start()
            .unwrap(),
    );
    prepare(&pg);
    let mut cfg = config(pg.host(), pg.port(), "db");
    cfg.stream_buffer_bytes = 8 << 20; // spill to a temporary file past 8 MiB
    cfg.max_batch_size = 1024;
    cfg.max_queue_size = 4096;
    let mut stream = ChangeStream::connect(cfg).await.unwrap();
    let baseline = rss_kib();
    let workload = {
        let pg = pg.clone();
        tokio::task::spawn_blocking(move || {
            pg.psql(
                "db",
                &format!(
                    "begin; insert into t (batch, pad) select 1, repeat('w', 100) from generate_series(1, {rows}); \
                     commit; insert into t (batch) values (2);"
                ),
            )
        })
    };
    let started = Instant::now();
    let (mut count, mut peak) = (0u64, baseline);
    let mut last_id = 0i64;
    while count < rows + 1 {
        let batch = stream
            .next_batch_timeout(Duration::from_secs(60))
            .await
            .unwrap()
            .unwrap();
        assert!(
            !batch.is_empty(),
            "stalled after {count} of {} events",
            rows + 1
        );
        for e in &batch {
            let id: i64 = std::str::from_utf8(
                e.as_change()
                    .unwrap()
                    .after
                    .as_ref()
                    .unwrap()
                    .text(0)
                    .unwrap(),
            )
            .unwrap()
            .parse()
            .unwrap();
            assert_eq!(id, last_id + 1, "events out of order or duplicated");
            last_id = id;
        }
        count += batch.len() as u64;
        stream.ack(batch.last().unwrap());
        peak = peak.max(rss_kib());
    }
    workload.await.unwrap().unwrap();
    let stats = pg
        .psql("postgres", "select spill_bytes, stream_bytes from pg_stat_replication_slots where slot_name = 'faults'")
        .unwrap();
    let (spill, streamed) = stats.split_once('|').unwrap();
    eprintln!(
        "{rows}-row transaction: {count} events in {:.1}s, client RSS grew {} MiB, server spill_bytes={spill} stream_bytes={streamed}",
        started.elapsed().as_secs_f64(),
        (peak - baseline) / 1024
    );
    assert_eq!(spill, "0", "the server spilled the transaction to disk");
    assert_ne!(streamed, "0", "the server did not stream the transaction");
    assert!(
        peak - baseline < 200 * 1024,
        "client memory grew by {} MiB",
        (peak - baseline) / 1024
    );
    stream.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn large_transaction_is_streamed_and_memory_stays_bounded() {
    if !support::server_has(14, "streaming of in-progress transactions") {
        return;
    }
    large_transaction(200_000).await;
}

/// The full-size version (make test-faults).
#[tokio::test(flavor = "multi_thread")]
#[ignore = "long: run with make test-faults"]
async fn million_row_transaction_is_streamed_and_memory_stays_bounded() {
    if !support::server_has(14, "streaming of in-progress transactions") {
        return;
    }
    large_transaction(1_000_000).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn streamed_transactions_drop_aborted_work() {
    if !support::server_has(14, "streaming of in-progress transactions") {
        return;
    }
    let pg = Arc::new(
        ClusterBuilder::new()
            .setting("logical_decoding_work_mem", "64kB")
            .start()
            .unwrap(),
    );
    prepare(&pg);
    let mut stream = ChangeStream::connect(config(pg.host(), pg.port(), "db"))
        .await
        .unwrap();
    // A large transaction that rolls back, then one whose large subtransaction rolls back.
    pg.psql(
        "db",
        "begin; insert into t (batch, pad) select 1, repeat('a', 100) from generate_series(1, 20000); rollback;
         begin;
         insert into t (batch) select 2 from generate_series(1, 3000);
         savepoint s;
         insert into t (batch) select 3 from generate_series(1, 20000);
         rollback to savepoint s;
         insert into t (batch) select 4 from generate_series(1, 3000);
         commit;",
    )
    .unwrap();
    let mut seen = BTreeMap::new();
    drain_until_complete(&mut stream, &pg, &mut seen).await;
    assert_exactly_once(&pg, &seen);
    assert_eq!(seen.len(), 6000);
    let stats = pg
        .psql(
            "postgres",
            "select stream_txns from pg_stat_replication_slots",
        )
        .unwrap();
    assert_ne!(stats, "0", "the transactions were not streamed");
    stream.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn byte_bounded_queue_holds_reading_back() {
    let pg = Arc::new(ClusterBuilder::new().start().unwrap());
    prepare(&pg);
    let mut cfg = config(pg.host(), pg.port(), "db");
    cfg.max_queue_size = 1_000_000; // the count bound would let everything in...
    cfg.max_batch_size = 64;
    cfg.max_queue_bytes = 256 * 1024; // ...the byte bound does not
    let mut stream = ChangeStream::connect(cfg).await.unwrap();
    let baseline = rss_kib();
    // 20,000 rows of ~2 KB of random text (TOAST compression cannot shrink them away): ~40 MB
    // of events if the queue let them all in.
    pg.psql(
        "db",
        "insert into t (batch, pad) select 1, (select string_agg(md5(random()::text || g || i), '') \
         from generate_series(1, 60) i) from generate_series(1, 20000) g",
    )
    .unwrap();
    // Not consuming: the connection task may only read a bounded amount ahead.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let grown = rss_kib().saturating_sub(baseline);
    eprintln!("memory grew by {} KiB while the consumer stalled", grown);
    assert!(
        grown < 16 << 10,
        "memory grew by {grown} KiB with a 256 KiB queue bound"
    );
    let mut seen = BTreeMap::new();
    drain_until_complete(&mut stream, &pg, &mut seen).await;
    assert_exactly_once(&pg, &seen);
    stream.stop().await.unwrap();
}
