//! The replication core, without I/O: a state machine that takes what the server sends (the
//! payloads of XLogData messages, keepalives) and the answers to the questions it asks, and
//! returns change events and [`Action`]s for the I/O task to run.
//!
//! ```text
//!   XLogData payload ──► ReplicationCore ──► events (appended to the caller's batch)
//!   keepalive        ──►       │        ──► Action::NeedTableSchema ─► catalog ─► provide_table_schema
//!   time (`now_us`)  ──►       │        ──► Action::SendStatus ─► status_update ─► server
//!                              ▼
//!          Assembler (assemble.rs): transactions → events, skip after a reconnect
//!          Spool (spool.rs): streamed and prepared transactions until they commit
//!          AckTracker (ack.rs): what may be confirmed (prepared transactions hold it back)
//! ```
//!
//! The connection task (`stream/session.rs`) reads frames, feeds them here, and runs the
//! actions: catalog queries, status updates, hand-offs to the consumer, timers, reconnects.

mod assemble;
mod core;
mod schema;
mod spool;
#[cfg(test)]
mod tests;
mod window;

pub(crate) use self::core::{Action, ReplicationCore};
pub(crate) use schema::table_schema;
pub(crate) use window::{Window, WATERMARK_PREFIX};
