//! Pieces shared by the fault-injection test files. Each test binary uses some of them.
#![allow(dead_code)]

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
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
