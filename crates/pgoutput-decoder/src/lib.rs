//! Stream a PostgreSQL logical replication slot (the built-in `pgoutput` plugin) as
//! Debezium-compatible change events.
//!
//! # Layout
//! One pipeline: a source feeds one bounded queue, sinks take what it hands out and report what
//! they made durable, and only the end of a transaction every sink made durable is confirmed
//! to PostgreSQL ([`pipeline`]). One stats object counts along the way
//! ([`ChangeStream::stats`]).
//!
//! ```text
//!  PostgreSQL: replication slot, publication
//!     ^ status updates: flush = confirmed position    | pgoutput messages (CopyBoth)
//!  +--|------------------ crates/pgoutput-decoder ----|----------------------------------+
//!  |  |                                               v                                  |
//!  |  |  Source: the replication stream (stream/): conn/ (TLS, SCRAM, CopyBoth) ->       |
//!  |  |    crates/pgoutput (sans-IO decoder) -> transactions assembled, relation cache,  |
//!  |  |    events numbered in commit order (next: a snapshot reader, same queue)         |
//!  |  |        | batches                                                                 |
//!  |  |        v                                             +-------------------------+ |
//!  |  |  bounded queue (max_queue_size, max_queue_bytes) --> | Stats (atomics): events | |
//!  |  |        | ChangeStream::next_batch: hand-out          | by op and table, bytes, | |
//!  |  |        v                                             | queue depth, capacity,  | |
//!  |  |  Sinks: FileSink (CLI), the Python consumer, yours   | positions, connected,   | |
//!  |  |        | durable, in order or out of order (Kafka)   | reconnects, last error  | |
//!  |  |        v                                             +-------------------------+ |
//!  |  |  Delivery: the longest prefix every sink made durable                            |
//!  |  |        v                                                                         |
//!  |  +-- ack.rs: ends of transactions whose events are all durable (held at a PREPARE)  |
//!  |                                                                                     |
//!  |  Debezium encoding (JsonEncoder, transforms, Connect schemas), types, configuration |
//!  +-------------------------------------------------------------------------------------+
//!       ^ Rust API                       ^                                    ^
//!  crates/pgoutput-decoder-cli      crates/pgoutput-decoder-python (PyO3)    your program
//!  `pgoutput-decoder stream`:       `- python/pgoutput_decoder: the
//!  a FileSink to a file or stdout,     LogicalReplicationReader (async and sync iteration,
//!  the status line from the stats      typed stubs); acknowledge() is its sink's "durable"
//!
//!  crates/throwaway-postgres: disposable clusters for the tests and the demo
//! ```
//!
//! - [`conn`]: our own async wire-protocol client (TLS, SCRAM, replication commands, CopyBoth).
//! - [`config`] and [`properties`]: what to stream and how, in Rust or with Debezium's
//!   connector property names.
//! - [`ChangeStream`]: connects, checks the server, manages the publication and slot, and hands
//!   out [`Event`]s decoded on a background task; acknowledgements decide what is confirmed.
//! - [`pipeline`]: the named parts around the queue: [`pipeline::Source`], [`pipeline::Sink`]
//!   with its delivery contract ([`pipeline::Delivery`], [`pipeline::DeliveryTracker`]),
//!   [`pipeline::FileSink`], and the [`StatsSnapshot`].
//! - [`relation`], [`types`]: table schemas and value conversion (typed [`types::Value`]s or
//!   Debezium JSON).
//! - [`JsonEncoder`]: Debezium JSON (Kafka `JsonConverter`, schemas disabled, or enabled with
//!   [`JsonEncoder::with_schemas`]).
//! - [`monitor`]: the stats and the slot's status (read on a side connection) served over
//!   HTTP: Prometheus metrics, a health check, a live status page.
//!
//! Decoding of the pgoutput protocol itself lives in the sans-IO crate `pgoutput`.
//!
//! ## Module order
//!
//! A module uses only modules below it. The domain (what PostgreSQL said: rows, the relation
//! cache, events) knows nothing of Debezium; the encoder keeps what it renders from the domain
//! (topics, the `source` block, Kafka Connect schemas) in its own per-relation cache.
//!
//! ```text
//!  stream (ChangeStream; ack, catalog)      debezium (JsonEncoder)
//!        |                                   |         |           \
//!        |                                   |   connect_schema   transforms
//!        |                                   |         |               |
//!        +-------------> event <-------------+         |               |
//!                          |                           |               |
//!                       relation  <--------------------+               |
//!                          |                                           |
//!                         row                                          |
//!                          |                                           |
//!                        types  <--------------------------------------+
//!                          |
//!                        error
//!
//!  config, properties (read by stream and debezium) ---> conn, transforms, types
//! ```
//!
//! # Example
//! ```no_run
//! use pgoutput_decoder::{conn::ConnectParams, ChangeStream, ReplicationConfig};
//!
//! # async fn run() -> pgoutput_decoder::Result<()> {
//! let mut config = ReplicationConfig::new(ConnectParams::from_dsn("postgresql://postgres@localhost/shop")?);
//! config.slot_name = "shop_slot".into();
//! config.create_slot = true;
//! let mut stream = ChangeStream::connect(config).await?;
//! while let Some(event) = stream.next_event().await? {
//!     if let Some(change) = event.as_change() {
//!         println!("{} on {}", change.op.code(), change.table.data_collection);
//!     }
//!     stream.ack(&event);
//! }
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod ack;
mod catalog;
mod clock;
pub mod config;
mod config_enum;
pub mod conn;
mod connect_schema;
mod debezium;
pub mod debezium_server;
pub mod error;
pub mod event;
pub mod monitor;
pub mod partition;
pub mod pipeline;
pub mod properties;
pub mod relation;
mod replication;
mod row;
mod snapshot;
mod stream;
#[cfg(test)]
mod test_tables;
pub mod topic;
pub mod transforms;
pub mod types;

pub use config::{Operation, PublicationAutocreate, ReplicationConfig};
pub use debezium::{JsonEncoder, RecordFormat, RecordWriter, SOURCE_VERSION};
pub use error::{DbError, Error, ErrorKind, Result};
pub use event::{
    ChangeEvent, Event, EventKind, HeartbeatEvent, MessageEvent, Op, Row, Source, TransactionEvent,
};
pub use pgoutput::Lsn;
pub use pipeline::StatsSnapshot;
pub use snapshot::signal::SnapshotSignal;
pub use stream::AckHandle;
pub use stream::{ChangeStream, Positions, SnapshotHandle, StopHandle};
