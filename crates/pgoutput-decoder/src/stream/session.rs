//! The connection task: owns the replication connection, reads WAL, decodes it into events,
//! hands batches to the consumer through a bounded channel, and keeps the server informed.
//!
//! Status updates run on their own timer and are sent while the task waits for queue space, so
//! a slow consumer slows reading (the server buffers, then pauses decoding) but never starves
//! the feedback that keeps `wal_sender_timeout` from firing.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

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
    pipeline::Stats,
    relation::{json_key, ColumnSchema, RelationCache, TableSchema},
    stream::{
        assemble::{now_us, Assembler},
        budget::ByteBudget,
        linger::{Linger, GATHER_BYTES},
        setup,
        spool::{Replay, Spool},
    },
    types::TypeRegistry,
    Error, Result,
};

/// Drops the slot after a graceful, explicit stop when `slot_drop_on_stop` asks for it.
/// The walsender we just left may hold the slot for a moment: that is waited out.
async fn drop_slot_if_asked(
    config: &ReplicationConfig,
    catalog: &mut PgConnection,
    stopped: &AtomicBool,
) {
    if !config.slot_drop_on_stop || !stopped.load(Ordering::SeqCst) {
        return;
    }
    let slot = config.slot_name.clone();
    let sql = format!(
        "SELECT pg_catalog.pg_drop_replication_slot({})",
        crate::conn::quote_literal(&slot)
    );
    let deadline = Instant::now() + setup::SLOT_BUSY_WAIT;
    let mut reconnected = false;
    loop {
        let error = match catalog.simple_query(&sql).await {
            Ok(_) => {
                tracing::warn!(
                    slot = %slot,
                    "dropped the replication slot (slot.drop.on.stop): its position is lost, \
                 and changes made before a new slot is created will not be streamed"
                );
                return;
            }
            Err(e) => e,
        };
        match error.code() {
            // Someone else dropped it already.
            Some("42704") => return,
            // Still held by the walsender that is shutting down.
            Some("55006") if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            // The catalog connection may have died meanwhile (idle timeouts): once, try a
            // new one.
            None if !reconnected => {
                reconnected = true;
                match PgConnection::connect(&config.connection, false).await {
                    Ok(c) => *catalog = c,
                    Err(e) => {
                        tracing::warn!(slot = %slot, error = %e, "could not drop the replication slot (slot.drop.on.stop)");
                        return;
                    }
                }
            }
            _ => {
                tracing::warn!(slot = %slot, error = %error, "could not drop the replication slot (slot.drop.on.stop)");
                return;
            }
        }
    }
}

/// A batch on its way to the consumer, with the byte budget it holds.
pub(crate) struct QueuedBatch {
    pub events: Vec<Event>,
    pub kib: u32,
}

pub(crate) type Batch = Result<QueuedBatch>;

enum Step {
    Stop,
    StatusDue,
    HeartbeatDue,
    ReceiveDue,
    Frame(Option<bytes::Bytes>),
    Sent,
    Linger(std::time::Duration),
}

pub(crate) struct Session {
    pub config: ReplicationConfig,
    pub catalog: PgConnection,
    pub reader: ReplicationReader,
    pub writer: ReplicationWriter,
    pub acks: AckTracker,
    pub stats: Stats,
    pub tx: mpsc::Sender<Batch>,
    pub registry: TypeRegistry,
    pub proto_version: u32,
    pub budget: ByteBudget,
    /// Nothing received for this long means the connection is dead (see
    /// `ReplicationConfig::receive_timeout`); `None`: no limit.
    pub receive_timeout: Option<std::time::Duration>,
    /// Whether the consumer stopped the stream explicitly (see `ChangeStream::stop`), rather
    /// than dropping it.
    pub stopped: Arc<AtomicBool>,
}

struct State {
    decoder: Decoder,
    assembler: Assembler,
    relations: RelationCache,
    last_status: Instant,
    last_heartbeat: Instant,
    /// When the server last sent something (or since when we have been able to read).
    last_received: Instant,
    /// Whether we asked the server for a keepalive since `last_received`.
    pinged: bool,
    last_sent_flush: Lsn,
    /// The end of the WAL received so far, published to the acknowledgement state once per
    /// burst rather than once per message (each publication takes its lock).
    wal_received: Lsn,
    status_buf: BytesMut,
    /// Events produced but not yet handed to the queue; kept across reconnects (they were
    /// counted as produced, so the replay after a reconnect skips them).
    pending: Vec<Event>,
    /// pgoutput protocol version of the current connection.
    proto_version: u32,
    /// The streamed transaction whose chunk is being received (between Stream Start/Stop).
    stream_xid: Option<u32>,
    /// Chunks of streamed transactions awaiting their commit.
    spool: Spool,
    /// A committed streamed or prepared transaction being turned into events, a slice at a
    /// time.
    replay: Option<Replaying>,
    /// The prepared transaction whose messages are arriving (between BEGIN PREPARE and
    /// PREPARE).
    preparing: Option<u32>,
    /// Prepared transactions received on this connection and not yet resolved, by xid: where
    /// their BEGIN PREPARE arrived (`None` for a streamed one), for the BEGIN event's id.
    prepared: HashMap<u32, Option<Lsn>>,
}

/// A transaction being replayed from the spool.
struct Replaying {
    replay: Replay,
    commit: pgoutput::StreamCommit,
    /// It was prepared: its hold on the confirmed position goes once it is acknowledged.
    prepared: bool,
}

/// Messages replayed per step, so status updates and queue hand-offs keep flowing during the
/// replay of a very large transaction.
const REPLAY_SLICE: usize = 256;

impl Session {
    /// Runs until stopped, until the consumer goes away, or until an error that reconnecting
    /// cannot fix (delivered to the consumer before the task ends).
    pub(crate) async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let mut state = State {
            decoder: Decoder::new(1),
            assembler: Assembler::new(&self.config, self.acks.clone()),
            relations: RelationCache::default(),
            last_status: Instant::now(),
            last_heartbeat: Instant::now(),
            last_received: Instant::now(),
            pinged: false,
            last_sent_flush: Lsn::ZERO,
            wal_received: Lsn::ZERO,
            status_buf: BytesMut::with_capacity(64),
            pending: Vec::with_capacity(self.config.max_batch_size),
            proto_version: self.proto_version,
            stream_xid: None,
            spool: Spool::new(self.config.stream_buffer_bytes),
            replay: None,
            preparing: None,
            prepared: HashMap::new(),
        };
        state.decoder = Decoder::new(state.proto_version);
        loop {
            let error = match self.stream(&mut state, &mut stop).await {
                Ok(()) => {
                    // Graceful: tell the server what was acknowledged, then leave so the slot
                    // is free at once.
                    let _ = self.send_status(&mut state, false).await;
                    // End the COPY properly (CopyDone, then Terminate) so the server sees a
                    // clean goodbye rather than a broken connection.
                    match crate::conn::ReplicationStream::unsplit(self.reader, self.writer) {
                        Ok(stream) => stream.close().await,
                        Err(e) => tracing::debug!(error = %e, "could not close the stream cleanly"),
                    }
                    self.stats.closed();
                    drop_slot_if_asked(&self.config, &mut self.catalog, &self.stopped).await;
                    return;
                }
                Err(e) => setup::classify(e, &self.config),
            };
            self.stats.failed(&error);
            if !error.is_retryable() || !self.config.reconnect.enabled {
                tracing::warn!(error = %error, "replication stream failed");
                let _ = self.tx.send(Err(error)).await;
                return;
            }
            tracing::warn!(error = %error, "replication connection lost; reconnecting");
            state.assembler.disconnected();
            match self.reconnect(&mut state, &mut stop).await {
                Ok(true) => self.stats.reconnected(),
                Ok(false) => {
                    // Stopped while reconnecting.
                    drop_slot_if_asked(&self.config, &mut self.catalog, &self.stopped).await;
                    return;
                }
                Err(e) => {
                    self.stats.failed(&e);
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
                    self.receive_timeout = started.receive_timeout;
                    state.last_received = Instant::now();
                    state.pinged = false;
                    // The server streams open transactions again from their start.
                    state.proto_version =
                        setup::protocol_version(&self.config, started.server.version_num);
                    state.decoder = Decoder::new(state.proto_version);
                    state.stream_xid = None;
                    state.spool.clear();
                    state.replay = None;
                    // Pending prepared transactions come again too: the confirmed position
                    // never passed their PREPARE (ack.rs), so what was held for them is
                    // dropped here and rebuilt from what the server sends.
                    state.preparing = None;
                    state.prepared.clear();
                    self.acks.set_in_transaction(false);
                    state.last_status = Instant::now();
                    // Tell the new connection the confirmed position at least once.
                    state.last_sent_flush = Lsn::ZERO;
                    tracing::info!(
                        attempts = attempt,
                        seconds = lost_at.elapsed().as_secs_f64(),
                        resume = %setup::describe_start(confirmed, None),
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
        let budget = self.budget.clone();
        // Bytes of the events in `pending`, counted once per event as they arrive.
        let (mut counted, mut pending_bytes) = (0usize, budget.bytes_of(pending));
        counted += pending.len();
        // A Unix-domain socket buffers only a few hundred small messages (the kernel counts
        // each one's overhead), so waiting would stall the server; its messages are cheap to
        // receive one by one anyway.
        let mut linger = Linger::new(if self.reader.is_unix_socket() {
            std::time::Duration::ZERO
        } else {
            self.config.batch_linger
        });
        loop {
            if *stop.borrow() {
                return Ok(());
            }
            let full = pending.len() >= max_batch;
            if full || state.replay.is_some() {
                // Not reading now: silence from the server means nothing.
                state.last_received = Instant::now();
                state.pinged = false;
            }
            if state.replay.is_some() && !full {
                if state.last_status.elapsed() >= interval {
                    self.send_status(state, false).await?;
                }
                self.replay_slice(state, pending).await?;
                continue;
            }
            let status_due = sleep_until(state.last_status + interval);
            if counted < pending.len() {
                pending_bytes += budget.bytes_of(&pending[counted..]);
                counted = pending.len();
            }
            let kib = budget.kib_for(pending_bytes);
            let hand_off = async {
                let bytes = budget.acquire(kib).await;
                (bytes, tx.reserve().await)
            };
            let heartbeat_due = async {
                match self.config.heartbeat_interval {
                    Some(every) => sleep_until(state.last_heartbeat + every).await,
                    None => std::future::pending().await,
                }
            };
            // Half-way through the receive timeout, ask the server for a keepalive; at its end,
            // give up on the connection.
            let receive_due = async {
                match self.receive_timeout {
                    Some(limit) if state.pinged => sleep_until(state.last_received + limit).await,
                    Some(limit) => sleep_until(state.last_received + limit / 2).await,
                    None => std::future::pending().await,
                }
            };
            // Inside a streamed transaction's chunk nothing is handed over until its commit:
            // the linger then spaces out the reads instead. Used only when no frame is ready
            // (see the branch).
            let in_chunk = state.stream_xid.is_some() && pending.is_empty();
            let linger_for = if full {
                None
            } else {
                linger.wait_for(Instant::now(), in_chunk)
            };
            // When the batch is full, only queue space, the status timer or a stop can make
            // progress: reading more would grow memory without bound.
            let step = tokio::select! {
                biased;
                _ = stop.changed() => Step::Stop,
                _ = status_due => Step::StatusDue,
                _ = heartbeat_due => Step::HeartbeatDue,
                frame = self.reader.recv(), if !full => Step::Frame(frame?),
                _ = receive_due, if !full => Step::ReceiveDue,
                // Reached only when no frame is ready (or the batch is full). Changes are
                // arriving back to back: let more gather before handing over (a `None` does
                // not match, which disables the branch).
                Some(wait) = std::future::ready(linger_for), if !pending.is_empty() || in_chunk => {
                    Step::Linger(wait)
                }
                // Otherwise hand out what we have. Waiting here holds reading back by events
                // (the channel) and by bytes (the budget); dropping this future when another
                // branch wins gives both back.
                (bytes, permit) = hand_off, if !pending.is_empty() && linger_for.is_none() => match permit {
                    Ok(p) => {
                        ByteBudget::spend(bytes);
                        (counted, pending_bytes) = (0, 0);
                        // Sized like this batch: a fresh max-size vector would be hundreds of
                        // kB per hand-over, mapped and unmapped each time.
                        let next = Vec::with_capacity(pending.len());
                        let events = std::mem::replace(pending, next);
                        self.stats.queued(events.len(), kib);
                        p.send(Ok(QueuedBatch { events, kib }));
                        Step::Sent
                    }
                    Err(_) => Step::Stop, // the consumer is gone
                },
            };
            match step {
                Step::Stop => return self.finish_transaction(state, pending).await,
                Step::StatusDue => self.send_status(state, false).await?,
                Step::HeartbeatDue => self.heartbeat(state).await?,
                Step::ReceiveDue if state.pinged => {
                    let limit = self.receive_timeout.unwrap_or_default();
                    return Err(Error::new(
                        crate::ErrorKind::Connection,
                        format!(
                            "nothing received from the server for {:.1}s, not even an answer \
                             to a keepalive request (receive timeout); taking the connection \
                             for dead",
                            limit.as_secs_f64()
                        ),
                    ));
                }
                Step::ReceiveDue => {
                    tracing::debug!("the server has been silent; asking it for a keepalive");
                    state.pinged = true;
                    self.send_status(state, true).await?;
                }
                Step::Frame(Some(frame)) => {
                    state.last_received = Instant::now();
                    state.pinged = false;
                    // One processing time for the burst: it is handled within a millisecond
                    // or so, and the clock read was a visible share of the cost per event.
                    state.assembler.clock = Some(now_us());
                    let burst = self.handle_burst(state, frame, pending, max_batch).await;
                    state.assembler.clock = None;
                    burst?;
                    if in_chunk {
                        linger.read_chunk();
                    }
                }
                Step::Frame(None) => {
                    return Err(Error::new(
                        crate::ErrorKind::Connection,
                        "the server ended the replication stream",
                    ))
                }
                Step::Sent => linger.handed_off(Instant::now()),
                Step::Linger(wait) => {
                    // Not reading meanwhile is the point; a stop waits at most this long.
                    let until = tokio::time::Instant::now() + wait;
                    if in_chunk {
                        // A streamed chunk comes as fast as the server can send it; reading
                        // it in 256 kB steps made the whole drain slower than letting it pile
                        // up for the full pause (measured: wall 1.21x on a streamed 300,000-row
                        // transaction).
                        tokio::time::sleep_until(until).await;
                    } else {
                        // The socket cuts the wait short once a batch's worth has gathered.
                        self.reader.gather(GATHER_BYTES, until).await?;
                    }
                    linger.waited();
                }
            }
        }
    }

    /// Handles `frame` and the rest of the burst that came with it, without setting up the
    /// timers of [`stream_into`](Self::stream_into) once per message.
    async fn handle_burst(
        &mut self,
        state: &mut State,
        frame: bytes::Bytes,
        pending: &mut Vec<Event>,
        max_batch: usize,
    ) -> Result<()> {
        self.handle_frame(state, frame, pending).await?;
        while pending.len() < max_batch && state.replay.is_none() {
            let Some(frame) = self.reader.try_recv_buffered()? else {
                break;
            };
            self.handle_frame(state, frame, pending).await?;
        }
        self.acks.received(state.wal_received);
        Ok(())
    }

    async fn handle_frame(
        &mut self,
        state: &mut State,
        frame: bytes::Bytes,
        pending: &mut Vec<Event>,
    ) -> Result<()> {
        self.stats.received_bytes(frame.len());
        match parse_copy_data(frame)? {
            ReplicationMessage::XLogData(x) => {
                state.wal_received = state.wal_received.max(x.wal_end);
                let in_stream = state.decoder.in_stream();
                // Only a change that waits for its commit (streamed or prepared) keeps its
                // raw bytes; elsewhere the decoded message takes them over, unshared.
                let raw = (in_stream || state.preparing.is_some()).then(|| x.data.clone());
                let message = state.decoder.decode(x.data)?;
                match message {
                    Message::StreamStart(s) => state.stream_xid = Some(s.xid),
                    Message::StreamStop => state.stream_xid = None,
                    Message::StreamAbort(a) => state.spool.abort(a.xid, a.subxid),
                    Message::StreamCommit(c) => {
                        let replay = state.spool.take(c.xid)?;
                        let begin = Message::Begin(pgoutput::Begin {
                            final_lsn: c.commit_lsn,
                            commit_time: c.commit_time,
                            xid: c.xid,
                        });
                        state
                            .assembler
                            .handle(c.commit_lsn, begin, &state.relations, pending)?;
                        state.replay = Some(Replaying {
                            replay,
                            commit: c,
                            prepared: false,
                        });
                    }
                    Message::BeginPrepare(b) => {
                        // Sent again after a reconnect: start over.
                        state.spool.begin_unstreamed(b.xid);
                        state.preparing = Some(b.xid);
                        state.prepared.insert(b.xid, Some(x.wal_start));
                        self.acks.set_in_transaction(true);
                        self.hold(b.xid, b.prepare_lsn);
                    }
                    Message::Prepare(p) => {
                        state.preparing = None;
                        self.acks.set_in_transaction(false);
                        tracing::debug!(xid = p.xid, gid = p.gid.as_str(), prepare_lsn = %p.prepare_lsn, "transaction prepared: held until COMMIT PREPARED");
                    }
                    Message::StreamPrepare(p) => {
                        state.prepared.insert(p.xid, None);
                        self.hold(p.xid, p.prepare_lsn);
                        tracing::debug!(xid = p.xid, gid = p.gid.as_str(), prepare_lsn = %p.prepare_lsn, "streamed transaction prepared: held until COMMIT PREPARED");
                    }
                    Message::CommitPrepared(c) => {
                        let Some(begin_lsn) = state.prepared.remove(&c.xid) else {
                            // Its PREPARE lies before where this connection started and the
                            // server decided not to send it again.
                            tracing::warn!(xid = c.xid, gid = c.gid.as_str(), commit_lsn = %c.commit_lsn, "COMMIT PREPARED of a transaction whose PREPARE was not received: its changes cannot be delivered");
                            state.spool.abort(c.xid, c.xid);
                            self.acks.resolved(c.xid, c.end_lsn);
                            return Ok(());
                        };
                        let replay = state.spool.take(c.xid)?;
                        if replay.is_empty() {
                            // Nothing published: like an empty transaction, no events.
                            self.acks.resolved(c.xid, c.end_lsn);
                            return Ok(());
                        }
                        let begin = Message::Begin(pgoutput::Begin {
                            final_lsn: c.commit_lsn,
                            commit_time: c.commit_time,
                            xid: c.xid,
                        });
                        state.assembler.handle(
                            begin_lsn.unwrap_or(c.commit_lsn),
                            begin,
                            &state.relations,
                            pending,
                        )?;
                        state.replay = Some(Replaying {
                            replay,
                            commit: pgoutput::StreamCommit {
                                xid: c.xid,
                                flags: c.flags,
                                commit_lsn: c.commit_lsn,
                                end_lsn: c.end_lsn,
                                commit_time: c.commit_time,
                            },
                            prepared: true,
                        });
                    }
                    Message::RollbackPrepared(r) => {
                        state.prepared.remove(&r.xid);
                        state.spool.abort(r.xid, r.xid);
                        self.acks.resolved(r.xid, r.rollback_end_lsn);
                        tracing::debug!(
                            xid = r.xid,
                            gid = r.gid.as_str(),
                            "prepared transaction rolled back: its changes are dropped"
                        );
                    }
                    Message::LogicalMessage(m) if in_stream && !m.transactional => {
                        state.assembler.handle(
                            x.wal_start,
                            Message::LogicalMessage(m),
                            &state.relations,
                            pending,
                        )?;
                    }
                    _ if in_stream => {
                        let xid = state.stream_xid.ok_or_else(|| {
                            Error::new(
                                crate::ErrorKind::Protocol,
                                "streamed change outside a stream block",
                            )
                        })?;
                        state
                            .spool
                            .push(xid, x.wal_start, raw.expect("kept in a stream"))?;
                    }
                    // Inside BEGIN PREPARE ... PREPARE: relations are needed by what follows
                    // in any transaction, so they take effect now; changes wait.
                    message if state.preparing.is_some() && held_until_commit(&message) => {
                        let xid = state.preparing.expect("checked");
                        state
                            .spool
                            .push(xid, x.wal_start, raw.expect("kept while preparing"))?;
                    }
                    message => self.apply(state, x.wal_start, message, pending).await?,
                }
            }
            ReplicationMessage::PrimaryKeepalive(k) => {
                self.acks.received(k.wal_end);
                let idle = pending.is_empty()
                    && !state.assembler.in_transaction()
                    && state.preparing.is_none();
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

    /// On a graceful stop in the middle of a transaction, reads on to its commit (briefly) so
    /// that a consumer that acknowledged the transaction's last event gets it confirmed, instead
    /// of receiving the whole transaction again next time.
    async fn finish_transaction(
        &mut self,
        state: &mut State,
        pending: &mut Vec<Event>,
    ) -> Result<()> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(2);
        while state.assembler.in_transaction() && state.replay.is_none() {
            match tokio::time::timeout_at(deadline, self.reader.recv()).await {
                Ok(Ok(Some(frame))) => self.handle_frame(state, frame, pending).await?,
                _ => break,
            }
        }
        self.acks.received(state.wal_received);
        Ok(())
    }

    /// Runs `heartbeat.action.query`: a write in the captured database gives an otherwise idle
    /// slot something to confirm.
    async fn heartbeat(&mut self, state: &mut State) -> Result<()> {
        state.last_heartbeat = Instant::now();
        if let Some(sql) = &self.config.heartbeat_action_query {
            if let Err(e) = self.catalog.execute(sql).await {
                // A failing heartbeat must not stop the stream; say so once per failure.
                tracing::warn!(error = %e, "heartbeat.action.query failed");
                if e.kind() == crate::ErrorKind::Connection {
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Feeds one decoded message to the relation cache and the assembler.
    async fn apply(
        &mut self,
        state: &mut State,
        lsn: Lsn,
        message: Message,
        pending: &mut Vec<Event>,
    ) -> Result<()> {
        if let Message::Relation(rel) = &message {
            let schema = self.table_schema(rel).await?;
            state.relations.insert(schema);
        }
        state
            .assembler
            .handle(lsn, message, &state.relations, pending)
    }

    /// Turns the next slice of a committed streamed transaction into events.
    async fn replay_slice(&mut self, state: &mut State, pending: &mut Vec<Event>) -> Result<()> {
        let max_batch = self.config.max_batch_size;
        for _ in 0..REPLAY_SLICE {
            let Some(Replaying { replay, commit, .. }) = state.replay.as_mut() else {
                return Ok(());
            };
            match replay.next_message()? {
                Some((lsn, raw)) => {
                    let message =
                        pgoutput::decode_message(raw, replay.streamed, state.proto_version)?;
                    if message
                        .xid()
                        .is_some_and(|x| replay.aborted_subxids.contains(&x))
                    {
                        continue;
                    }
                    self.apply(state, lsn, message, pending).await?;
                }
                None => {
                    let c = commit.clone();
                    let prepared = state.replay.take().is_some_and(|r| r.prepared);
                    let end = Message::Commit(pgoutput::Commit {
                        flags: c.flags,
                        commit_lsn: c.commit_lsn,
                        end_lsn: c.end_lsn,
                        commit_time: c.commit_time,
                    });
                    state
                        .assembler
                        .handle(c.commit_lsn, end, &state.relations, pending)?;
                    if prepared {
                        self.acks.resolved(c.xid, c.end_lsn);
                    }
                    return Ok(());
                }
            }
            if pending.len() >= max_batch {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Keeps the confirmed position at or before a pending prepared transaction's PREPARE.
    fn hold(&self, xid: u32, prepare_lsn: Lsn) {
        if !self.acks.hold(xid, prepare_lsn) {
            // Prepared before the slot's confirmed position (before two-phase decoding began
            // for it): the server sends it whole again at COMMIT PREPARED if we restart.
            tracing::debug!(xid, prepare_lsn = %prepare_lsn, "prepared transaction behind the confirmed position: no hold needed");
        }
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
                let column = details.columns.iter().find(|d| d.name == name);
                let not_null = column.is_some_and(|d| d.not_null);
                let default = column
                    .and_then(|d| d.literal_default.clone())
                    .map(bytes::Bytes::from);
                let default_expression = column.and_then(|d| d.default_expression.clone());
                let qualified = format!("{}.{}.{name}", rel.namespace.as_str(), rel.name.as_str());
                ColumnSchema {
                    included: self.config.columns.matches(&qualified),
                    not_null,
                    default,
                    default_expression,
                    ty: self.registry.resolve(c.type_oid, c.type_modifier),
                    type_oid: c.type_oid,
                    type_modifier: c.type_modifier,
                    in_replica_identity: c.is_key(),
                    json_key: json_key(&name),
                    name,
                }
            })
            .collect();
        let data_collection = format!("{}.{}", rel.namespace.as_str(), rel.name.as_str());
        let key = self
            .config
            .message_key_columns
            .iter()
            .find(|(table, _)| table.is_match(&data_collection))
            .map(|(_, cols)| cols.clone())
            .unwrap_or(details.primary_key);
        let mut schema = TableSchema::new(
            rel.id,
            rel.namespace.as_str().to_string(),
            rel.name.as_str().to_string(),
            columns,
            &key,
            rel.replica_identity,
            &self.config.topic_prefix,
        );
        schema.captured = self.config.tables.matches(&schema.data_collection);
        Ok(schema)
    }

    async fn send_status(&mut self, state: &mut State, reply_requested: bool) -> Result<()> {
        self.acks.received(state.wal_received);
        let positions = self.acks.positions();
        let flush = self.acks.confirmed();
        // While a pending prepared transaction holds the position back, the server has heard
        // the held position once; after that the update carries no flush position at all
        // (0, as pg_receivewal sends). The slot keeps what it had, and a walsender told to
        // shut down compares the write position with what it sent instead, so a fast
        // shutdown does not wait for a COMMIT PREPARED that may be hours away.
        let reported = if self.acks.is_held() && flush == state.last_sent_flush {
            Lsn::ZERO
        } else {
            flush
        };
        state.status_buf.clear();
        encode_standby_status_update(
            &mut state.status_buf,
            positions.received.max(flush),
            reported,
            reported,
            pgoutput::unix_to_pg_micros(now_us()),
            reply_requested,
        );
        self.writer.send_copy_data(&state.status_buf).await?;
        if flush != state.last_sent_flush {
            tracing::debug!(flush = %flush, "confirmed position sent to the server");
            state.last_sent_flush = flush;
            self.stats.server_confirmed(flush);
        }
        state.last_status = Instant::now();
        Ok(())
    }
}

/// The messages of a prepared transaction that wait for its COMMIT PREPARED.
fn held_until_commit(message: &Message) -> bool {
    match message {
        Message::Insert(_) | Message::Update(_) | Message::Delete(_) | Message::Truncate(_) => true,
        Message::LogicalMessage(m) => m.transactional,
        _ => false,
    }
}

fn sleep_until(deadline: Instant) -> tokio::time::Sleep {
    tokio::time::sleep_until(tokio::time::Instant::from_std(deadline))
}
