//! A small async PostgreSQL wire-protocol client (tokio): connection setup with TLS and
//! password/SCRAM authentication, the simple query protocol, and logical replication
//! (`replication=database` connections, slot commands, and the CopyBoth stream).
//!
//! tokio-postgres has no replication support, hence this module. Message construction
//! and authentication hashing come from `postgres-protocol`; backend framing is parsed
//! here so the replication reader can hand out payloads without copying.
//!
//! ```no_run
//! # async fn demo() -> pgoutput_decoder::Result<()> {
//! use pgoutput_decoder::conn::{publication_names, ConnectParams, PgConnection};
//!
//! let params = ConnectParams::from_dsn("postgresql://repl@db/app?sslmode=verify-full")?;
//! let conn = PgConnection::connect(&params, true).await?;
//! let options = [
//!     ("proto_version", "1".to_owned()),
//!     ("publication_names", publication_names(&["my_pub"])),
//! ];
//! let (mut reader, mut writer) =
//!     conn.start_logical_replication("my_slot", 0, &options).await?.split();
//! while let Some(payload) = reader.recv().await? {
//!     // payload[0] is b'w' (XLogData) or b'k' (keepalive); decode it with the pgoutput
//!     // crate and answer with a standby status update ('r') when asked.
//!     # let status_update = [0u8; 34];
//!     writer.send_copy_data(&status_update).await?;
//! }
//! # Ok(())
//! # }
//! ```

mod auth;
mod client;
mod copy_both;
mod errors;
mod frame;
mod params;
mod replication;
mod rows;
mod socket;
pub(crate) mod sqlstate;
mod tls;
mod transport;
mod wake;

pub use auth::AuthMethod;
pub use client::{CopyOut, PgConnection};
pub use copy_both::{ReplicationReader, ReplicationStream, ReplicationWriter};
pub use params::{ConnectParams, Password, SslMode, TargetSessionAttrs};
pub use replication::{
    format_lsn, parse_lsn, publication_names, quote_ident, quote_literal, CreateSlotOptions,
    SlotInfo, SnapshotAction, SystemInfo,
};
pub use rows::{SimpleColumn, SimpleRow};
