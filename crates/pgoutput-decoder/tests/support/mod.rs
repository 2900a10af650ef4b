//! Pieces shared by the integration test files. Each test binary uses some of them.
#![allow(dead_code)]

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use pgoutput_decoder::{
    conn::{publication_names, ConnectParams, CreateSlotOptions, PgConnection},
    ErrorKind,
};
use throwaway_postgres::Cluster;
use tokio::{
    io::copy_bidirectional,
    net::{TcpListener, TcpStream},
    sync::Notify,
};

/// Inserts rows into `t` in `txs` small committed transactions of 5 rows, pausing between
/// them, until done or the server goes away (which ends the session with an error: expected).
pub fn spawn_workload(
    pg: Arc<Cluster>,
    batch: i32,
    txs: i32,
    pause: Duration,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let sql = format!(
            "do $$ begin for i in 1..{txs} loop \
               insert into t (batch, pad) select {batch}, repeat('x', 50) from generate_series(1, 5); \
               commit; perform pg_sleep({}); end loop; end $$;",
            pause.as_secs_f64()
        );
        let _ = pg.psql("db", &sql);
    })
}

/// A TCP proxy whose connections can all be cut at once (new ones are still accepted).
pub struct CuttingProxy {
    pub port: u16,
    cut: Arc<Notify>,
    /// Connections accepted so far.
    pub connections: Arc<AtomicUsize>,
}

impl CuttingProxy {
    pub async fn start(target_port: u16) -> CuttingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(Notify::new());
        let connections = Arc::new(AtomicUsize::new(0));
        let (cut2, conns) = (cut.clone(), connections.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                conns.fetch_add(1, Ordering::SeqCst);
                let cut = cut2.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", target_port)).await
                    else {
                        return;
                    };
                    tokio::select! {
                        _ = copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.notified() => {} // dropping both sockets cuts the connection
                    }
                });
            }
        });
        CuttingProxy {
            port,
            cut,
            connections,
        }
    }

    /// Cuts every open connection.
    pub fn cut_all(&self) {
        self.cut.notify_waiters();
    }
}

/// Whether the server binaries under test (`PG_BIN`, else the default ones) are PostgreSQL
/// `major` or newer. If not, the calling test says on stderr that it is skipped and why
/// (`make test-matrix` counts a test that printed `SKIPPED` as skipped) and should return.
pub fn server_has(major: u32, feature: &str) -> bool {
    let found = throwaway_postgres::ClusterBuilder::new()
        .major_version()
        .unwrap_or_else(|e| panic!("cannot tell the server version: {e}"));
    if found >= major {
        return true;
    }
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("test");
    eprintln!("SKIPPED {test}: {feature} needs PostgreSQL {major}+, the server is {found}");
    false
}

/// The options of a pgoutput stream (protocol 1) of one publication.
pub fn pgoutput_options(publication: &str) -> Vec<(&'static str, String)> {
    vec![
        ("proto_version", "1".to_owned()),
        ("publication_names", publication_names(&[publication])),
    ]
}

/// Creates the logical slot `slot` (pgoutput) over a replication connection; returns its
/// consistent point, where streaming it starts.
pub async fn create_slot(params: &ConnectParams, slot: &str) -> u64 {
    let mut repl = PgConnection::connect(params, true).await.unwrap();
    let info = repl
        .create_logical_slot(slot, &CreateSlotOptions::default())
        .await
        .unwrap();
    repl.close().await;
    info.consistent_point
}

/// Streams `slot` from `start`, then asserts that a second consumer of the slot is refused
/// with `SlotInUse` (SQLSTATE 55006, worth retrying).
pub async fn assert_a_second_consumer_gets_slot_in_use(
    params: &ConnectParams,
    slot: &str,
    start: u64,
    publication: &str,
) {
    let first = PgConnection::connect(params, true)
        .await
        .unwrap()
        .start_logical_replication(slot, start, &pgoutput_options(publication))
        .await
        .unwrap();
    let err = PgConnection::connect(params, true)
        .await
        .unwrap()
        .start_logical_replication(slot, start, &pgoutput_options(publication))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SlotInUse, "{err}");
    assert_eq!(err.code(), Some("55006"));
    assert!(err.is_retryable());
    first.close().await;
}
