//! The connection task: owns the replication connection, reads WAL, decodes it into events,
//! hands batches to the consumer through a bounded channel, and keeps the server informed.
//!
//! Status updates run on their own timer and are sent while the task waits for queue space, so
//! a slow consumer slows reading (the server buffers, then pauses decoding) but never starves
//! the feedback that keeps `wal_sender_timeout` from firing.

use std::time::Instant;

use bytes::BytesMut;
use pgoutput::{
    replication::{encode_standby_status_update, parse_copy_data, ReplicationMessage},
    Decoder, Lsn, Message,
};
use tokio::sync::{mpsc, watch};

use crate::{
    ack::AckTracker,
    catalog,
    config::ReplicationConfig,
    conn::{PgConnection, ReplicationReader, ReplicationWriter},
    event::Event,
    relation::{json_key, ColumnSchema, RelationCache, TableSchema},
    stream::{
        assemble::{now_us, Assembler},
        setup,
    },
    types::TypeRegistry,
    Error, Result,
};

pub(crate) type Batch = Result<Vec<Event>>;

enum Step {
    Stop,
    StatusDue,
    Frame(Option<bytes::Bytes>),
    Sent,
}

pub(crate) struct Session {
    pub config: ReplicationConfig,
    pub catalog: PgConnection,
    pub reader: ReplicationReader,
    pub writer: ReplicationWriter,
    pub acks: AckTracker,
    pub tx: mpsc::Sender<Batch>,
    pub registry: TypeRegistry,
}

struct State {
    decoder: Decoder,
    assembler: Assembler,
    relations: RelationCache,
    last_status: Instant,
    last_sent_flush: Lsn,
    status_buf: BytesMut,
}

impl Session {
    /// Runs until stopped, until the consumer goes away, or until an error (which is delivered
    /// to the consumer before the task ends).
    pub(crate) async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let mut state = State {
            decoder: Decoder::new(1),
            assembler: Assembler::new(&self.config, self.acks.clone()),
            relations: RelationCache::default(),
            last_status: Instant::now(),
            last_sent_flush: Lsn::ZERO,
            status_buf: BytesMut::with_capacity(64),
        };
        let result = self.stream(&mut state, &mut stop).await;
        match result {
            Ok(()) => {
                // Graceful: tell the server what was acknowledged, then leave so the slot is
                // free at once.
                let _ = self.send_status(&mut state, false).await;
                self.writer.close().await;
            }
            Err(e) => {
                let e = setup::classify(e, &self.config);
                tracing::warn!(error = %e, "replication stream failed");
                let _ = self.tx.send(Err(e)).await;
            }
        }
    }

    async fn stream(&mut self, state: &mut State, stop: &mut watch::Receiver<bool>) -> Result<()> {
        let interval = self.config.status_interval;
        let max_batch = self.config.max_batch_size;
        let tx = self.tx.clone();
        let mut pending: Vec<Event> = Vec::with_capacity(max_batch);
        loop {
            if *stop.borrow() {
                return Ok(());
            }
            let status_due = sleep_until(state.last_status + interval);
            let full = pending.len() >= max_batch;
            // When the batch is full, only queue space, the status timer or a stop can make
            // progress: reading more would grow memory without bound.
            let step = tokio::select! {
                biased;
                _ = stop.changed() => Step::Stop,
                _ = status_due => Step::StatusDue,
                frame = self.reader.recv(), if !full => Step::Frame(frame?),
                // Reached only when no frame is ready (or the batch is full): hand out what we
                // have.
                permit = tx.reserve(), if !pending.is_empty() => match permit {
                    Ok(p) => {
                        p.send(Ok(std::mem::replace(&mut pending, Vec::with_capacity(max_batch))));
                        Step::Sent
                    }
                    Err(_) => Step::Stop, // the consumer is gone
                },
            };
            match step {
                Step::Stop => return Ok(()),
                Step::StatusDue => self.send_status(state, false).await?,
                Step::Frame(Some(frame)) => self.handle_frame(state, frame, &mut pending).await?,
                Step::Frame(None) => {
                    return Err(Error::new(
                        crate::ErrorKind::Connection,
                        "the server ended the replication stream",
                    ))
                }
                Step::Sent => {}
            }
        }
    }

    async fn handle_frame(
        &mut self,
        state: &mut State,
        frame: bytes::Bytes,
        pending: &mut Vec<Event>,
    ) -> Result<()> {
        match parse_copy_data(frame)? {
            ReplicationMessage::XLogData(x) => {
                self.acks.received(x.wal_end);
                let message = state.decoder.decode(x.data)?;
                if let Message::Relation(rel) = &message {
                    let schema = self.table_schema(rel).await?;
                    state.relations.insert(schema);
                }
                state
                    .assembler
                    .handle(x.wal_start, message, &state.relations, pending)?;
            }
            ReplicationMessage::PrimaryKeepalive(k) => {
                self.acks.received(k.wal_end);
                let idle = pending.is_empty() && !state.assembler.in_transaction();
                if idle && self.acks.advance_if_idle(k.wal_end) {
                    tracing::trace!(lsn = %k.wal_end, "idle: confirming the server's WAL end");
                }
                if k.reply_requested {
                    self.send_status(state, false).await?;
                }
            }
        }
        Ok(())
    }

    async fn table_schema(&mut self, rel: &pgoutput::Relation) -> Result<TableSchema> {
        let oids: Vec<u32> = rel.columns.iter().map(|c| c.type_oid).collect();
        catalog::load_types(&mut self.catalog, &mut self.registry, &oids).await?;
        let details = catalog::table_details(&mut self.catalog, rel.id).await?;
        let columns = rel
            .columns
            .iter()
            .map(|c| {
                let name = c.name.as_str().to_string();
                let (not_null, default) = details
                    .columns
                    .iter()
                    .find(|(n, _, _)| *n == name)
                    .map(|(_, nn, d)| (*nn, d.clone().map(bytes::Bytes::from)))
                    .unwrap_or((false, None));
                ColumnSchema {
                    not_null,
                    default,
                    ty: self.registry.resolve(c.type_oid, c.type_modifier),
                    type_oid: c.type_oid,
                    type_modifier: c.type_modifier,
                    in_replica_identity: c.is_key(),
                    json_key: json_key(&name),
                    name,
                }
            })
            .collect();
        let mut schema = TableSchema::new(
            rel.id,
            rel.namespace.as_str().to_string(),
            rel.name.as_str().to_string(),
            columns,
            &details.primary_key,
            rel.replica_identity,
            &self.config.topic_prefix,
        );
        schema.captured = self.config.tables.matches(&schema.data_collection);
        Ok(schema)
    }

    async fn send_status(&mut self, state: &mut State, reply_requested: bool) -> Result<()> {
        let positions = self.acks.positions();
        let flush = self.acks.confirmed();
        state.status_buf.clear();
        encode_standby_status_update(
            &mut state.status_buf,
            positions.received.max(flush),
            flush,
            flush,
            pgoutput::unix_to_pg_micros(now_us()),
            reply_requested,
        );
        self.writer.send_copy_data(&state.status_buf).await?;
        if flush != state.last_sent_flush {
            tracing::debug!(flush = %flush, "confirmed position sent to the server");
            state.last_sent_flush = flush;
        }
        state.last_status = Instant::now();
        Ok(())
    }
}

fn sleep_until(deadline: Instant) -> tokio::time::Sleep {
    tokio::time::sleep_until(tokio::time::Instant::from_std(deadline))
}
