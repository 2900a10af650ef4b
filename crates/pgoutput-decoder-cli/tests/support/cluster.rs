//! One throwaway PostgreSQL cluster shared by the tests that run at the same time.
//!
//! [`lease`] hands out an `Arc` to the cluster; the cluster lives as long as some test
//! holds a lease. The first lease starts it, and when the last running test drops its lease
//! (normally or while panicking) the cluster is dropped, which stops the server and deletes
//! its directory. With the default parallel test harness the tests overlap, so one cluster
//! serves the whole run; with `--test-threads=1` each test gets a fresh cluster (a start
//! takes a second or two). Nothing is kept in a `static` that would outlive the tests, and
//! should the process die without unwinding, the throwaway-postgres watchdog still stops
//! the server.
//!
//! Each case uses its own database (`case_<name>`) and replication slot (`pgd_<name>`), so
//! cases can run concurrently in the same cluster.

use std::sync::{Arc, Mutex, Weak};

use throwaway_postgres::{Cluster, ClusterBuilder};

/// The superuser's password: the CLI authenticates like a real deployment would.
pub const PASSWORD: &str = "conformance";

static SHARED: Mutex<Weak<Cluster>> = Mutex::new(Weak::new());

/// The running shared cluster, started if no test holds it now.
pub fn lease() -> Arc<Cluster> {
    // A test that panicked while holding the lock leaves nothing half-done: the Weak is
    // either set or not.
    let mut shared = SHARED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(cluster) = shared.upgrade() {
        return cluster;
    }
    let cluster = ClusterBuilder::new()
        .superuser_password(PASSWORD)
        .start()
        .unwrap_or_else(|e| panic!("could not start a throwaway PostgreSQL cluster: {e}"));
    let cluster = Arc::new(cluster);
    *shared = Arc::downgrade(&cluster);
    cluster
}
