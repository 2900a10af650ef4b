//! Disposable PostgreSQL clusters for tests and demos.
//!
//! [`ClusterBuilder::start`] runs `initdb` in a fresh temporary directory, configures the
//! cluster for logical replication (`wal_level=logical`, replication slots and WAL senders,
//! durability switched off for speed), picks a free port on `127.0.0.1`, starts the server
//! with `pg_ctl` and waits until it accepts connections. The returned [`Cluster`] offers the
//! connection parameters ([`Cluster::dsn`]), runs SQL through `psql` ([`Cluster::psql`]), can
//! be stopped, started and restarted — including an immediate (crash-like) restart for
//! fault-injection tests — and, when dropped, stops the server and deletes the directory.
//!
//! ```no_run
//! use throwaway_postgres::{ClusterBuilder, StopMode};
//!
//! let cluster = ClusterBuilder::new().superuser_password("secret").start()?;
//! cluster.psql("postgres", "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1);")?;
//! assert_eq!(cluster.psql("postgres", "SHOW wal_level")?, "logical");
//!
//! // host=127.0.0.1 port=NNNNN user=postgres dbname=postgres password=secret
//! println!("connect with: {}", cluster.dsn("postgres"));
//!
//! cluster.restart(StopMode::Fast)?; // same port, same data
//! assert_eq!(cluster.psql("postgres", "SELECT count(*) FROM t")?, "1");
//!
//! // Simulated crash: committed transactions survive it.
//! cluster.restart(StopMode::Immediate)?;
//! # Ok::<(), throwaway_postgres::ClusterError>(())
//! ```
//!
//! # Standbys
//!
//! [`Cluster::create_standby`] makes a hot standby of a running cluster (a base backup with
//! `pg_basebackup`, or with `pg_backup_start`/`pg_backup_stop` and a file copy where the bin
//! directory has no `pg_basebackup`; see [`BaseBackupMethod`]), streaming from it, optionally
//! through a physical replication slot; [`Cluster::promote`] makes it a primary, e.g. to test
//! a failover.
//!
//! # Binaries
//!
//! The server binaries (`initdb`, `pg_ctl`, `postgres`) come from
//! [`ClusterBuilder::bin_dir`], else the `PG_BIN` environment variable, else the newest
//! `/usr/lib/postgresql/<major>/bin`, else `pg_config --bindir`. `psql` is taken from the
//! same directory if present, else from `PATH`. Any PostgreSQL version from 12 on works.
//!
//! # Running as root
//!
//! PostgreSQL refuses to run as root. When the process runs as root (typical in containers
//! and CI), the server-side programs run as an unprivileged user instead: the
//! `THROWAWAY_PG_USER` environment variable or [`ClusterBuilder::server_user`] if given,
//! else `postgres` if that user exists, else `pgoutput-test`, which is created with
//! `useradd --system` on first use. Commands are run through `runuser` (falling back to
//! `setpriv` or `su`; `THROWAWAY_PG_RUNAS=runuser|setpriv|su` forces one), and the
//! temporary directory is owned by that user. That user must be
//! able to read and execute the binaries. `psql` always runs as the calling user.
//!
//! # Cleanup
//!
//! Dropping a [`Cluster`] stops the server with `pg_ctl stop -m immediate` (falling back to
//! `SIGKILL`) and removes its temporary directory; this also happens when a test panics.
//!
//! `pg_ctl` starts the server in its own session, so it does not die with the process that
//! started it. To avoid leaking servers and directories when the process ends without
//! dropping the cluster (killed by a signal, `std::process::exit`, a cluster kept in a
//! `static`, `panic = "abort"`), every cluster has a small watchdog shell process that waits
//! on a pipe held by this process and performs the same cleanup once the pipe closes, i.e.
//! when this process is gone. The watchdog ignores `SIGINT`, `SIGTERM`, `SIGHUP` and
//! `SIGQUIT`, so Ctrl-C and group-wide termination signals do not defeat it. It cannot
//! help if it is itself killed with `SIGKILL` (for example when a whole container or
//! cgroup is torn down, which also takes the servers with it).
//!
//! # Parallel use
//!
//! Clusters are independent (own directory, own port), so tests can start them in parallel
//! from many threads or processes. Free ports are found by binding `127.0.0.1:0`; if the
//! port is taken by someone else before the server binds it, the start is retried on
//! another port.
#![warn(missing_docs)]

mod builder;
mod cluster;
mod error;
mod exec;
mod standby;

pub use builder::ClusterBuilder;
pub use cluster::{Cluster, StopMode};
pub use error::ClusterError;
pub use standby::{BaseBackupMethod, StandbyOptions};
