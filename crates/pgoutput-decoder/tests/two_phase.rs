//! Two-phase commit (`two_phase`, PostgreSQL 15+) against a real server: a prepared
//! transaction is delivered once, as an ordinary transaction, at COMMIT PREPARED and never at
//! ROLLBACK PREPARED; while one is pending the slot's confirmed position never passes its
//! PREPARE, so connection losses, server restarts and consumer restarts lose nothing.

mod support;

use std::{
    collections::BTreeMap,
    sync::{atomic::Ordering, Arc},
    time::{Duration, Instant, SystemTime},
};

use pgoutput_decoder::{
    config::ReconnectPolicy, conn::ConnectParams, event::TransactionStatus, ChangeStream,
    ErrorKind, Event, EventKind, PublicationAutocreate, ReplicationConfig,
};
use support::CuttingProxy;
use throwaway_postgres::{Cluster, ClusterBuilder, StopMode};

const SLOT: &str = "tp";

fn config(host: &str, port: u16) -> ReplicationConfig {
    let mut c = ReplicationConfig::new(
        ConnectParams::from_dsn(&format!("host={host} port={port} user=postgres dbname=db"))
            .unwrap(),
    );
    c.slot_name = SLOT.into();
    c.publication_name = "tp_pub".into();
    c.publication_autocreate = PublicationAutocreate::AllTables;
    c.create_slot = true;
    c.two_phase = true;
    c.status_interval = Duration::from_millis(100);
    c.reconnect = ReconnectPolicy {
        initial_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(1),
        ..ReconnectPolicy::default()
    };
    c
}

fn cluster(settings: &[(&str, &str)]) -> Arc<Cluster> {
    let mut b = ClusterBuilder::new().setting("max_prepared_transactions", "10");
    for (k, v) in settings {
        b = b.setting(*k, *v);
    }
    let pg = b.start().unwrap();
    pg.create_database("db").unwrap();
    pg.psql(
        "db",
        "create table t (id bigserial primary key, batch int not null, pad text)",
    )
    .unwrap();
    Arc::new(pg)
}

fn lsn(pg: &Cluster, sql: &str) -> u64 {
    pg.psql("db", &format!("select ({sql}) - '0/0'"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn confirmed_flush(pg: &Cluster) -> u64 {
    lsn(
        pg,
        &format!("select confirmed_flush_lsn from pg_replication_slots where slot_name = '{SLOT}'"),
    )
}

/// Prepares a transaction inserting `rows` rows of `batch`; returns the WAL insert positions
/// just before and just after its PREPARE record (the record starts at or after the first).
fn prepare(pg: &Cluster, gid: &str, batch: i32, rows: i32) -> (u64, u64) {
    let out = pg
        .psql(
            "db",
            &format!(
                "begin; insert into t (batch, pad) select {batch}, repeat('p', 20) from \
                 generate_series(1, {rows}); select pg_current_wal_insert_lsn() - '0/0'; \
                 prepare transaction '{gid}'; select pg_current_wal_insert_lsn() - '0/0';"
            ),
        )
        .unwrap();
    let nums: Vec<u64> = out.lines().filter_map(|l| l.trim().parse().ok()).collect();
    assert_eq!(nums.len(), 2, "{out}");
    (nums[0], nums[1])
}

fn insert(pg: &Cluster, batch: i32, rows: i32) {
    pg.psql(
        "db",
        &format!("insert into t (batch) select {batch} from generate_series(1, {rows})"),
    )
    .unwrap();
}

fn row_id(e: &Event) -> i64 {
    let c = e.as_change().expect("a row change");
    std::str::from_utf8(c.after.as_ref().unwrap().text(0).unwrap())
        .unwrap()
        .parse()
        .unwrap()
}

/// Receives (and acknowledges) events until none came for `quiet`.
async fn drain(stream: &mut ChangeStream, quiet: Duration) -> Vec<Event> {
    let mut out = Vec::new();
    loop {
        let batch = stream
            .next_batch_timeout(quiet)
            .await
            .expect("stream failed")
            .expect("stream ended");
        let Some(last) = batch.last() else {
            return out;
        };
        stream.ack(last);
        out.extend(batch);
    }
}

/// Receives (and acknowledges) row events until `n` arrived, then a little longer for
/// duplicates.
async fn receive_rows(stream: &mut ChangeStream, n: usize) -> Vec<Event> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut out: Vec<Event> = Vec::new();
    while out.iter().filter(|e| e.as_change().is_some()).count() < n {
        assert!(
            Instant::now() < deadline,
            "only {} of {n} rows arrived",
            out.len()
        );
        out.extend(drain(stream, Duration::from_millis(300)).await);
    }
    out.extend(drain(stream, Duration::from_millis(500)).await);
    out
}

fn count_by_id(events: &[Event], seen: &mut BTreeMap<i64, u32>) {
    for e in events.iter().filter(|e| e.as_change().is_some()) {
        *seen.entry(row_id(e)).or_default() += 1;
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
    assert!(missing.is_empty(), "rows never arrived: {missing:?}");
    let dups: Vec<(&i64, &u32)> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(dups.is_empty(), "rows arrived more than once: {dups:?}");
    assert_eq!(
        seen.len(),
        ids.len(),
        "rows arrived that are not in the table"
    );
}

fn unix_us_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64
}

#[tokio::test(flavor = "multi_thread")]
async fn prepared_transaction_is_delivered_at_commit_prepared_and_dropped_at_rollback() {
    if !support::server_has(15, "two-phase decoding") {
        return;
    }
    let pg = cluster(&[]);
    let mut cfg = config(pg.host(), pg.port());
    cfg.provide_transaction_metadata = true;
    let mut stream = ChangeStream::connect(cfg).await.unwrap();
    assert_eq!(
        pg.psql(
            "db",
            &format!("select two_phase from pg_replication_slots where slot_name = '{SLOT}'")
        )
        .unwrap(),
        "t",
        "the slot was not created with two-phase decoding"
    );
    prepare(&pg, "keep", 1, 3);
    prepare(&pg, "drop", 2, 4);
    let xid: u32 = pg
        .psql(
            "db",
            "select transaction from pg_prepared_xacts where gid = 'keep'",
        )
        .unwrap()
        .parse()
        .unwrap();
    // Prepared is not committed: nothing arrives.
    let early = drain(&mut stream, Duration::from_secs(1)).await;
    assert!(early.is_empty(), "events before COMMIT PREPARED: {early:?}");

    let before_commit = unix_us_now();
    pg.psql("db", "commit prepared 'keep'; rollback prepared 'drop'")
        .unwrap();
    let events = receive_rows(&mut stream, 3).await;
    // Exactly one ordinary transaction: BEGIN, three inserts, END.
    let kinds: Vec<String> = events
        .iter()
        .map(|e| match &e.kind {
            EventKind::Transaction(t) => format!("{:?}", t.status),
            EventKind::Change(c) => c.op.code().to_string(),
            EventKind::Message(_) => "message".into(),
            EventKind::Heartbeat(_) => "heartbeat".into(),
        })
        .collect();
    assert_eq!(kinds, ["Begin", "c", "c", "c", "End"], "{events:?}");
    let EventKind::Transaction(begin) = &events[0].kind else {
        unreachable!()
    };
    let EventKind::Transaction(end) = &events[4].kind else {
        unreachable!()
    };
    assert_eq!(
        (begin.status, end.status),
        (TransactionStatus::Begin, TransactionStatus::End)
    );
    assert_eq!((begin.tx_id, end.tx_id), (xid, xid));
    assert_eq!(end.event_count, Some(3));
    assert_eq!(end.data_collections, [("public.t".to_string(), 3)]);
    for e in &events[1..4] {
        let c = e.as_change().unwrap();
        assert_eq!(c.source.tx_id, Some(xid));
        // The commit time is COMMIT PREPARED's, not PREPARE's.
        assert!(
            c.source.commit_time_us >= before_commit - 1_000_000,
            "commit time {} is before COMMIT PREPARED ({before_commit})",
            c.source.commit_time_us
        );
        assert_eq!(c.source.commit_time_us, begin.commit_time_us);
        let tx = c.transaction.as_ref().unwrap();
        assert!(tx.id.starts_with(&format!("{xid}:")));
        assert!(c.source.lsn.0 > 0);
    }
    let ids: Vec<i64> = events[1..4].iter().map(row_id).collect();
    assert_eq!(ids, [1, 2, 3]);
    // The rolled-back transaction never shows up; an ordinary one after it does.
    insert(&pg, 3, 1);
    let later = receive_rows(&mut stream, 1).await;
    let changes: Vec<&Event> = later.iter().filter(|e| e.as_change().is_some()).collect();
    assert_eq!(changes.len(), 1, "{later:?}");
    assert_eq!(row_id(changes[0]), 8, "ids 4-7 were rolled back");
    stream.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn pending_prepare_holds_the_slot_while_ordinary_commits_flow() {
    if !support::server_has(15, "two-phase decoding") {
        return;
    }
    let pg = cluster(&[]);
    let mut stream = ChangeStream::connect(config(pg.host(), pg.port()))
        .await
        .unwrap();
    insert(&pg, 0, 2);
    let mut seen = BTreeMap::new();
    count_by_id(&receive_rows(&mut stream, 2).await, &mut seen);
    let (lo, hi) = prepare(&pg, "pending", 1, 5);
    // Ordinary transactions committed after the PREPARE flow and are acknowledged...
    for _ in 0..5 {
        insert(&pg, 2, 3);
    }
    let ordinary = receive_rows(&mut stream, 15).await;
    count_by_id(&ordinary, &mut seen);
    assert_eq!(seen.len(), 17, "only ordinary rows before COMMIT PREPARED");
    // ...and the idle advance runs on keepalives, yet the slot stays at the PREPARE.
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut held = 0;
    while Instant::now() < deadline {
        held = confirmed_flush(&pg);
        assert!(
            held < hi,
            "confirmed_flush_lsn {held} passed the pending PREPARE (record at {lo}..{hi})"
        );
        let _ = drain(&mut stream, Duration::from_millis(100)).await;
    }
    assert!(
        held >= lo,
        "confirmed_flush_lsn {held} stayed behind the acknowledged work before the PREPARE \
         at {lo}"
    );
    assert_eq!(stream.positions().acknowledged.0, held);
    eprintln!(
        "pending PREPARE record at [{lo}, {hi}); confirmed_flush_lsn held at {held}; WAL now at {}",
        lsn(&pg, "select pg_current_wal_lsn()")
    );
    pg.psql("db", "commit prepared 'pending'").unwrap();
    count_by_id(&receive_rows(&mut stream, 5).await, &mut seen);
    assert_exactly_once(&pg, &seen);
    // Resolved and acknowledged: the slot moves past it.
    let commit_end = lsn(&pg, "select pg_current_wal_lsn()");
    let deadline = Instant::now() + Duration::from_secs(5);
    while confirmed_flush(&pg) < commit_end {
        assert!(
            Instant::now() < deadline,
            "the slot stayed at {} after COMMIT PREPARED was acknowledged",
            confirmed_flush(&pg)
        );
        let _ = drain(&mut stream, Duration::from_millis(100)).await;
    }
    stream.stop().await.unwrap();
}

/// Consumes until the proxy saw a new connection (the stream reconnected), checking the
/// slot never passes `hi` meanwhile.
async fn until_reconnected(
    stream: &mut ChangeStream,
    proxy: &CuttingProxy,
    before: usize,
    pg: &Cluster,
    hi: u64,
    seen: &mut BTreeMap<i64, u32>,
) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while proxy.connections.load(Ordering::SeqCst) <= before {
        assert!(Instant::now() < deadline, "the stream never reconnected");
        count_by_id(&drain(stream, Duration::from_millis(200)).await, seen);
        if pg.is_running() {
            if let Ok(out) = pg.psql(
                "db",
                &format!(
                    "select confirmed_flush_lsn - '0/0' from pg_replication_slots \
                     where slot_name = '{SLOT}'"
                ),
            ) {
                let c: u64 = out.trim().parse().unwrap();
                assert!(c < hi, "confirmed_flush_lsn {c} passed the pending PREPARE");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn pending_prepare_survives_connection_cut_and_server_restart() {
    if !support::server_has(15, "two-phase decoding") {
        return;
    }
    let pg = cluster(&[]);
    let proxy = CuttingProxy::start(pg.port()).await;
    let mut stream = ChangeStream::connect(config("127.0.0.1", proxy.port))
        .await
        .unwrap();
    let mut seen = BTreeMap::new();
    insert(&pg, 0, 3);
    count_by_id(&receive_rows(&mut stream, 3).await, &mut seen);
    let (_, hi) = prepare(&pg, "across", 1, 50);
    insert(&pg, 2, 4);
    count_by_id(&receive_rows(&mut stream, 4).await, &mut seen);

    // Connection cut: the server sends the PREPARE again; it must not be held twice.
    let before = proxy.connections.load(Ordering::SeqCst);
    proxy.cut_all();
    until_reconnected(&mut stream, &proxy, before, &pg, hi, &mut seen).await;
    insert(&pg, 3, 4);
    count_by_id(&receive_rows(&mut stream, 4).await, &mut seen);

    // Server restart: the prepared transaction survives it, and so does what we held.
    let before = proxy.connections.load(Ordering::SeqCst);
    pg.restart(StopMode::Fast).unwrap();
    until_reconnected(&mut stream, &proxy, before, &pg, hi, &mut seen).await;
    assert!(confirmed_flush(&pg) < hi);
    assert_eq!(seen.len(), 11, "only ordinary rows so far");

    pg.psql("db", "commit prepared 'across'").unwrap();
    insert(&pg, 4, 2);
    count_by_id(&receive_rows(&mut stream, 52).await, &mut seen);
    assert_exactly_once(&pg, &seen);
    assert!(
        proxy.connections.load(Ordering::SeqCst) >= 3,
        "expected two reconnects"
    );
    stream.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn pending_prepare_survives_a_consumer_restart() {
    if !support::server_has(15, "two-phase decoding") {
        return;
    }
    let pg = cluster(&[]);
    let mut stream = ChangeStream::connect(config(pg.host(), pg.port()))
        .await
        .unwrap();
    let mut seen = BTreeMap::new();
    insert(&pg, 0, 3);
    count_by_id(&receive_rows(&mut stream, 3).await, &mut seen);
    let (lo, hi) = prepare(&pg, "restart", 1, 20);
    insert(&pg, 2, 2);
    let after_prepare = receive_rows(&mut stream, 2).await;
    let after_ids: Vec<i64> = after_prepare
        .iter()
        .filter(|e| e.as_change().is_some())
        .map(row_id)
        .collect();
    count_by_id(&after_prepare, &mut seen);
    stream.stop().await.unwrap();
    let held = confirmed_flush(&pg);
    assert!(
        (lo..hi).contains(&held),
        "after a graceful stop the slot is at {held}, not at the PREPARE ({lo}..{hi})"
    );

    // A new consumer (nothing carried over) gets the prepared transaction at COMMIT PREPARED.
    pg.psql("db", "commit prepared 'restart'").unwrap();
    let mut stream = ChangeStream::connect(config(pg.host(), pg.port()))
        .await
        .unwrap();
    let events = receive_rows(&mut stream, 22).await;
    let mut again = BTreeMap::new();
    count_by_id(&events, &mut again);
    // The ordinary transaction committed after the PREPARE comes again (at least once, as
    // everything not confirmed to the server); the prepared one and everything before it
    // exactly once.
    for id in &after_ids {
        assert_eq!(again.get(id), Some(&1), "row {id} of the later commit");
        *seen.get_mut(id).unwrap() -= 1;
    }
    for (id, n) in again {
        *seen.entry(id).or_default() += n;
    }
    assert_exactly_once(&pg, &seen);
    eprintln!(
        "consumer restart: slot held at {held} (PREPARE record at [{lo}, {hi})); {} rows \
         committed after the PREPARE came again",
        after_ids.len()
    );
    stream.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn large_prepared_transaction_is_streamed_spooled_and_delivered_once() {
    if !support::server_has(15, "two-phase decoding") {
        return;
    }
    // A small logical_decoding_work_mem makes the server stream the transaction before its
    // PREPARE (STREAM PREPARE); a small buffer sends it to a temporary file here.
    let pg = cluster(&[("logical_decoding_work_mem", "64kB")]);
    let mut cfg = config(pg.host(), pg.port());
    cfg.stream_buffer_bytes = 256 << 10;
    let mut stream = ChangeStream::connect(cfg).await.unwrap();
    let mut seen = BTreeMap::new();
    prepare(&pg, "big", 1, 20_000);
    prepare(&pg, "big_rolled_back", 2, 20_000);
    insert(&pg, 3, 5);
    count_by_id(&receive_rows(&mut stream, 5).await, &mut seen);
    pg.psql(
        "db",
        "rollback prepared 'big_rolled_back'; commit prepared 'big'",
    )
    .unwrap();
    count_by_id(&receive_rows(&mut stream, 20_000).await, &mut seen);
    assert_exactly_once(&pg, &seen);
    assert_eq!(seen.len(), 20_005);
    let streamed = pg
        .psql(
            "db",
            "select stream_txns from pg_stat_replication_slots where slot_name = 'tp'",
        )
        .unwrap();
    assert_ne!(streamed, "0", "the server did not stream the transactions");
    stream.stop().await.unwrap();
}

/// Also: a slot without two-phase is refused (and left as it was), and a two-phase slot is
/// handled when the option is off.
#[tokio::test(flavor = "multi_thread")]
async fn transaction_prepared_before_two_phase_began_is_delivered_whole() {
    if !support::server_has(15, "two-phase decoding") {
        return;
    }
    let pg = cluster(&[]);
    // A slot without two-phase decoding...
    let mut plain = config(pg.host(), pg.port());
    plain.two_phase = false;
    let stream = ChangeStream::connect(plain.clone()).await.unwrap();
    stream.stop().await.unwrap();
    // ...is refused with two-phase on, and left as it was.
    let e = match ChangeStream::connect(config(pg.host(), pg.port())).await {
        Ok(_) => panic!("a slot without two-phase was accepted"),
        Err(e) => e,
    };
    assert_eq!(e.kind(), ErrorKind::Config);
    let msg = e.to_string();
    assert!(
        msg.contains("created without two-phase") && msg.contains("pg_drop_replication_slot"),
        "{msg}"
    );
    let two_phase = || {
        pg.psql(
            "db",
            &format!("select two_phase from pg_replication_slots where slot_name = '{SLOT}'"),
        )
        .unwrap()
    };
    assert_eq!(two_phase(), "f");

    // A transaction is prepared while the slot decodes without two-phase, and the slot moves
    // past its PREPARE (the consumer sees only the later ordinary commit).
    let mut stream = ChangeStream::connect(plain.clone()).await.unwrap();
    prepare(&pg, "old", 1, 4);
    insert(&pg, 2, 1);
    let mut seen = BTreeMap::new();
    count_by_id(&receive_rows(&mut stream, 1).await, &mut seen);
    tokio::time::sleep(Duration::from_millis(300)).await; // a status update
    stream.stop().await.unwrap();
    // Two-phase decoding is switched on for the slot from here (the server does so when a
    // client asks for it), so the PREPARE lies before the slot's two_phase_at.
    pg.psql(
        "db",
        &format!(
            "select count(*) from pg_logical_slot_peek_binary_changes('{SLOT}', null, null, \
             'proto_version', '3', 'publication_names', 'tp_pub', 'two_phase', 'on')"
        ),
    )
    .unwrap();
    assert_eq!(two_phase(), "t");
    let mut stream = ChangeStream::connect(config(pg.host(), pg.port()))
        .await
        .unwrap();
    assert!(drain(&mut stream, Duration::from_millis(500))
        .await
        .is_empty());
    // The server sends it whole at COMMIT PREPARED.
    pg.psql("db", "commit prepared 'old'").unwrap();
    count_by_id(&receive_rows(&mut stream, 4).await, &mut seen);
    assert_exactly_once(&pg, &seen);
    // And nothing held it: the slot moves on.
    let end = lsn(&pg, "select pg_current_wal_lsn()");
    let deadline = Instant::now() + Duration::from_secs(5);
    while confirmed_flush(&pg) < end {
        assert!(Instant::now() < deadline, "the slot did not move on");
        let _ = drain(&mut stream, Duration::from_millis(100)).await;
    }
    stream.stop().await.unwrap();

    // The server sends prepared transactions at PREPARE for a two-phase slot even to a client
    // that did not ask for it: they are held all the same.
    let mut stream = ChangeStream::connect(plain).await.unwrap();
    prepare(&pg, "asked_for_nothing", 3, 2);
    assert!(drain(&mut stream, Duration::from_millis(500))
        .await
        .is_empty());
    pg.psql("db", "commit prepared 'asked_for_nothing'")
        .unwrap();
    count_by_id(&receive_rows(&mut stream, 2).await, &mut seen);
    assert_exactly_once(&pg, &seen);
    stream.stop().await.unwrap();
}
