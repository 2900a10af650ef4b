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
    /// Events produced but not yet handed to the queue; kept across reconnects (they were
    /// counted as produced, so the replay after a reconnect skips them).
    pending: Vec<Event>,
}

impl Session {
    /// Runs until stopped, until the consumer goes away, or until an error that reconnecting
    /// cannot fix (delivered to the consumer before the task ends).
    pub(crate) async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let mut state = State {
            decoder: Decoder::new(1),
            assembler: Assembler::new(&self.config, self.acks.clone()),
            relations: RelationCache::default(),
            last_status: Instant::now(),
            last_sent_flush: Lsn::ZERO,
            status_buf: BytesMut::with_capacity(64),
            pending: Vec::with_capacity(self.config.max_batch_size),
        };
        loop {
            let error = match self.stream(&mut state, &mut stop).await {
                Ok(()) => {
                    // Graceful: tell the server what was acknowledged, then leave so the slot
                    // is free at once.
                    let _ = self.send_status(&mut state, false).await;
                    self.writer.close().await;
                    return;
                }
                Err(e) => setup::classify(e, &self.config),
            };
            if !error.is_retryable() || !self.config.reconnect.enabled {
                tracing::warn!(error = %error, "replication stream failed");
                let _ = self.tx.send(Err(error)).await;
                return;
            }
            tracing::warn!(error = %error, "replication connection lost; reconnecting");
            state.assembler.disconnected();
            match self.reconnect(&mut state, &mut stop).await {
                Ok(true) => {}
                Ok(false) => return, // stopped while reconnecting
                Err(e) => {
                    tracing::warn!(error = %e, "giving up reconnecting");
                    let _ = self.tx.send(Err(e)).await;
                    return;
                }
            }
        }
    }

    /// Reconnects with backoff and resumes after the last acknowledged transaction. Returns
    /// `Ok(false)` when a stop was requested meanwhile.
    async fn reconnect(
        &mut self,
        state: &mut State,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<bool> {
        let policy = self.config.reconnect;
        let lost_at = Instant::now();
        let mut attempt = 0u32;
        loop {
            let delay = policy.delay(attempt);
            tokio::select! {
                _ = stop.changed() => return Ok(false),
                _ = tokio::time::sleep(delay) => {}
            }
            attempt += 1;
            // Resume where the consumer's acknowledgements say; what was produced after that
            // and comes again is skipped by the assembler.
            let mut config = self.config.clone();
            config.create_slot = false;
            let confirmed = self.acks.confirmed();
            if confirmed > Lsn::ZERO {
                config.start_lsn = Some(confirmed);
            }
            match setup::start(&config).await {
                Ok(started) => {
                    let (reader, writer) = started.stream.split();
                    self.reader = reader;
                    self.writer = writer;
                    self.catalog = started.catalog;
                    state.decoder = Decoder::new(1);
                    state.last_status = Instant::now();
                    tracing::info!(
                        attempts = attempt,
                        seconds = lost_at.elapsed().as_secs_f64(),
                        resume = %confirmed,
                        "reconnected"
                    );
                    return Ok(true);
                }
                Err(e) if e.is_retryable() && policy.allows(attempt) => {
                    tracing::info!(error = %e, attempt, "reconnect attempt failed; retrying");
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn stream(&mut self, state: &mut State, stop: &mut watch::Receiver<bool>) -> Result<()> {
        let mut pending = std::mem::take(&mut state.pending);
        let result = self.stream_into(state, stop, &mut pending).await;
        state.pending = pending;
        result
    }

    async fn stream_into(
        &mut self,
        state: &mut State,
        stop: &mut watch::Receiver<bool>,
        pending: &mut Vec<Event>,
    ) -> Result<()> {
        let interval = self.config.status_interval;
        let max_batch = self.config.max_batch_size;
        let tx = self.tx.clone();
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
                        p.send(Ok(std::mem::replace(pending, Vec::with_capacity(max_batch))));
                        Step::Sent
                    }
                    Err(_) => Step::Stop, // the consumer is gone
                },
            };
            match step {
                Step::Stop => return Ok(()),
                Step::StatusDue => self.send_status(state, false).await?,
                Step::Frame(Some(frame)) => self.handle_frame(state, frame, pending).await?,
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
