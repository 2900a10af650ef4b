//! A sans-IO, zero-copy decoder for PostgreSQL's `pgoutput` logical replication protocol
//! (protocol versions 1–4), plus the streaming-replication framing that carries it.
//!
//! Bytes in, typed messages out: this crate does no I/O and depends only on `bytes`. Strings
//! are `Bytes` slices of the input buffer and column values are ranges of it, never copies.
//! Malformed input yields a [`DecodeError`] naming the field and byte offset; no input makes
//! it panic or allocate more than the input could describe, and a message with leftover bytes
//! is rejected rather than half-understood.
//!
//! The message formats are those of PostgreSQL's "Logical Replication Message Formats"
//! documentation; field names follow it.
//!
//! # Layout
//!
//! - [`replication`]: the CopyData payloads of `START_REPLICATION` (XLogData, primary
//!   keepalive) and the standby status update encoder.
//! - [`Decoder`] / [`decode_message`]: one pgoutput message to a [`Message`]. The decoder
//!   tracks whether a streamed-transaction block is open, which decides whether data messages
//!   start with an xid.
//! - Message families, one module each: transaction boundaries ([`Begin`], [`Commit`],
//!   [`Origin`]); schema ([`Relation`], [`Type`]); row changes ([`Insert`], [`Update`],
//!   [`Delete`], [`Truncate`]) with their [`TupleData`]; [`LogicalMessage`]; streaming
//!   ([`StreamStart`], [`StreamCommit`], [`StreamAbort`]); two-phase commit
//!   ([`BeginPrepare`], [`Prepare`], [`CommitPrepared`], [`RollbackPrepared`]).
//! - Value types: [`Lsn`], [`PgStr`], and timestamp helpers ([`pg_to_unix_micros`], ...).
//!   Timestamps stay raw `i64` microseconds since 2000-01-01 UTC, as on the wire.
//!
//! # Example
//!
//! ```
//! use bytes::Bytes;
//! use pgoutput::replication::{parse_copy_data, ReplicationMessage};
//! use pgoutput::{ColumnData, Decoder, Message};
//!
//! // CopyData payload: XLogData header (start, end, send time) + a pgoutput Insert into
//! // relation 16535 of the row (1, 'one').
//! let mut frame = b"w".to_vec();
//! frame.extend_from_slice(&0x42E_7C68u64.to_be_bytes());
//! frame.extend_from_slice(&0x42E_7C68u64.to_be_bytes());
//! frame.extend_from_slice(&0i64.to_be_bytes());
//! frame.extend_from_slice(b"I\0\0\x40\x97N\0\x02t\0\0\0\x011t\0\0\0\x03one");
//!
//! let ReplicationMessage::XLogData(xlog) = parse_copy_data(Bytes::from(frame))? else {
//!     panic!("expected XLogData");
//! };
//! assert_eq!(xlog.wal_start.to_string(), "0/42E7C68");
//!
//! let mut decoder = Decoder::new(1);
//! match decoder.decode(xlog.data)? {
//!     Message::Insert(insert) => {
//!         assert_eq!(insert.relation_id, 16535);
//!         assert_eq!(insert.new.get(0), Some(ColumnData::Text(b"1")));
//!         assert_eq!(insert.new.get(1).and_then(|c| c.as_text()), Some("one"));
//!     }
//!     other => panic!("unexpected {other:?}"),
//! }
//! # Ok::<(), pgoutput::DecodeError>(())
//! ```
#![warn(missing_docs)]

mod change;
mod decoder;
mod error;
mod logical_message;
mod lsn;
mod message;
mod pg_str;
mod reader;
mod relation;
pub mod replication;
mod stream;
mod timestamp;
mod transaction;
mod tuple;
mod two_phase;

pub use change::{Delete, Insert, OldTuple, OldTupleKind, Truncate, TruncateOptions, Update};
pub use decoder::Decoder;
pub use error::DecodeError;
pub use logical_message::LogicalMessage;
pub use lsn::{Lsn, ParseLsnError};
pub use message::{decode_message, Message};
pub use pg_str::PgStr;
pub use relation::{Relation, RelationColumn, ReplicaIdentity, Type};
pub use stream::{StreamAbort, StreamCommit, StreamStart};
pub use timestamp::{
    pg_micros_to_system_time, pg_to_unix_micros, system_time_to_pg_micros, unix_to_pg_micros,
    PG_EPOCH_OFFSET_MICROS,
};
pub use transaction::{Begin, Commit, Origin};
pub use tuple::{ColumnData, Columns, TupleData};
pub use two_phase::{BeginPrepare, CommitPrepared, Prepare, RollbackPrepared, StreamPrepare};
