//! The connection task: owns the replication connection, reads WAL and feeds it to the
//! [`ReplicationCore`] (which turns it into events and says what to do: look up a table, answer
//! the server), hands batches to the consumer through a bounded channel, keeps the server
//! informed, and reconnects.
//!
//! Status updates run on their own timer and are sent while the task waits for queue space, so
//! a slow consumer slows reading (the server buffers, then pauses decoding) but never starves
//! the feedback that keeps `wal_sender_timeout` from firing.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use bytes::BytesMut;
use pgoutput::{
    replication::{encode_standby_status_update, parse_copy_data, ReplicationMessage},
    Lsn,
};
use tokio::sync::{mpsc, watch};

use crate::{
    ack::AckTracker,
    catalog,
    clock::now_us,
    config::ReplicationConfig,
    conn::{
        sqlstate::{self, Phase},
        PgConnection, ReplicationReader, ReplicationWriter,
    },
    event::Event,
    pipeline::{Batch, ByteBudget, QueuedBatch, Stats},
    replication::{self, Action, ReplicationCore},
    snapshot::{incremental::Incremental, signal::SignalInbox},
    stream::{
        linger::{Linger, GATHER_BYTES},
        setup,
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
            Some(sqlstate::UNDEFINED_OBJECT) => return,
            // Still held by the walsender that is shutting down.
            Some(sqlstate::OBJECT_IN_USE) if Instant::now() < deadline => {
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
    /// Sequence number of the last event before streaming (a snapshot's last read; 0 without).
    pub seq_start: u64,
    /// Incremental snapshots asked for while streaming.
    pub incremental: Incremental,
    /// Snapshot requests from the APIs.
    pub signals: SignalInbox,
}

struct State {
    /// The replication protocol's state; this task feeds it and runs its actions.
    core: ReplicationCore,
    last_status: Instant,
    last_heartbeat: Instant,
    /// When the server last sent something (or since when we have been able to read).
    last_received: Instant,
    /// Whether we asked the server for a keepalive since `last_received`.
    pinged: bool,
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
            core: ReplicationCore::new(&self.config, self.acks.clone(), self.proto_version)
                .continuing_after(self.seq_start),
            last_status: Instant::now(),
            last_heartbeat: Instant::now(),
            last_received: Instant::now(),
            pinged: false,
            status_buf: BytesMut::with_capacity(64),
            pending: Vec::with_capacity(self.config.max_batch_size),
        };
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
                Err(e) => {
                    setup::classify(e, &self.config, Phase::Streaming, &mut self.catalog).await
                }
            };
            self.stats.failed(&error);
            if !error.is_retryable() || !self.config.reconnect.enabled {
                tracing::warn!(error = %error, "replication stream failed");
                let _ = self.tx.send(Err(error)).await;
                return;
            }
            tracing::warn!(error = %error, "replication connection lost; reconnecting");
            state.core.disconnected();
            // A chunk window's watermarks may be lost with the connection: read it again.
            state.core.drop_window();
            self.incremental.reconnected();
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
    #[tracing::instrument(name = "reconnect", skip_all, fields(slot = %self.config.slot_name))]
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
            // Whatever snapshot there was is behind us.
            config.snapshot_mode = crate::config::SnapshotMode::NoData;
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
                    state.core.reconnected(setup::protocol_version(
                        &self.config,
                        started.server.version_num,
                    ));
                    state.last_status = Instant::now();
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
            if self.signals.has_news() {
                while let Some(signal) = self.signals.try_take() {
                    self.incremental.signal(signal);
                }
            }
            if self.incremental.has_checkpoints() {
                self.incremental.persist(self.acks.acked_seq());
            }
            if !state.core.replaying() && self.incremental.wants_window(&state.core) {
                self.incremental
                    .open_window(&self.config, &mut state.core)
                    .await;
            }
            let full = pending.len() >= max_batch;
            if full || state.core.replaying() {
                // Not reading now: silence from the server means nothing.
                state.last_received = Instant::now();
                state.pinged = false;
            }
            if state.core.replaying() && !full {
                if state.last_status.elapsed() >= interval {
                    self.send_status(state, false).await?;
                }
                let action = state.core.replay_slice(max_batch, now_us(), pending)?;
                self.run_action(state, action).await?;
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
            let in_chunk = state.core.in_stream_chunk() && pending.is_empty();
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
                        self.stats.queued(&events, kib);
                        p.send(Ok(QueuedBatch { events, kib }));
                        Step::Sent
                    }
                    Err(_) => Step::Stop, // the consumer is gone
                },
            };
            match step {
                Step::Stop => return self.finish_transaction(state, pending).await,
                Step::StatusDue => self.send_status(state, false).await?,
                Step::HeartbeatDue => self.heartbeat(state, pending).await?,
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
                    let now = now_us();
                    self.handle_burst(state, frame, now, pending, max_batch)
                        .await?;
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
        now: i64,
        pending: &mut Vec<Event>,
        max_batch: usize,
    ) -> Result<()> {
        self.handle_frame(state, frame, now, pending).await?;
        while pending.len() < max_batch && !state.core.replaying() {
            let Some(frame) = self.reader.try_recv_buffered()? else {
                break;
            };
            let action = self.feed_frame(state, frame, now, pending)?;
            if !matches!(action, Action::Continue) {
                self.follow_up(state, action, now, pending).await?;
            }
        }
        state.core.publish_received();
        Ok(())
    }

    /// Feeds one frame to the core and runs what it asks for.
    async fn handle_frame(
        &mut self,
        state: &mut State,
        frame: bytes::Bytes,
        now: i64,
        pending: &mut Vec<Event>,
    ) -> Result<()> {
        match self.feed_frame(state, frame, now, pending)? {
            // The common case: no future to build.
            Action::Continue => Ok(()),
            other => self.follow_up(state, other, now, pending).await,
        }
    }

    /// Feeds one frame to the core (without waiting for anything): what the core asks for
    /// next.
    fn feed_frame(
        &mut self,
        state: &mut State,
        frame: bytes::Bytes,
        now: i64,
        pending: &mut Vec<Event>,
    ) -> Result<Action> {
        self.stats.received_bytes(frame.len());
        let start = pending.len();
        let action = match parse_copy_data(frame)? {
            ReplicationMessage::XLogData(x) => {
                state
                    .core
                    .handle_xlog(x.wal_start, x.wal_end, x.data, now, pending)?
            }
            ReplicationMessage::PrimaryKeepalive(k) => {
                state
                    .core
                    .handle_keepalive(k.wal_end, k.reply_requested, pending.is_empty())
            }
        };
        if self.config.signal_table.is_some() {
            self.incremental.scan(&self.config, &pending[start..]);
        }
        if self.incremental.active() {
            self.incremental.note_transactions(&pending[start..]);
        }
        Ok(action)
    }

    /// Runs what the core asked for after a frame (anything but `Continue`).
    async fn follow_up(
        &mut self,
        state: &mut State,
        action: Action,
        now: i64,
        pending: &mut Vec<Event>,
    ) -> Result<()> {
        match action {
            Action::WindowOpened => {
                self.incremental
                    .read_chunk(&self.config, &mut state.core)
                    .await;
                Ok(())
            }
            Action::WindowClosed(lsn) => {
                self.incremental
                    .close_window(&mut state.core, lsn, now, pending);
                Ok(())
            }
            other => self.run_action(state, other).await,
        }
    }

    /// Runs what the core asked for.
    async fn run_action(&mut self, state: &mut State, action: Action) -> Result<()> {
        match action {
            Action::Continue => Ok(()),
            Action::NeedTableSchema(rel) => {
                let oids: Vec<u32> = rel.columns.iter().map(|c| c.type_oid).collect();
                catalog::load_types(&mut self.catalog, &mut self.registry, &oids).await?;
                let details = catalog::table_details(&mut self.catalog, rel.id).await?;
                let schema = replication::table_schema(&self.config, &self.registry, &rel, details);
                state.core.provide_table_schema(schema);
                Ok(())
            }
            // The server asked for an answer; the update itself does not ask for one.
            Action::SendStatus => self.send_status(state, false).await,
            // Only XLogData opens or closes a window (handle_frame).
            Action::WindowOpened | Action::WindowClosed(_) => Ok(()),
        }
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
        while state.core.in_transaction() && !state.core.replaying() {
            match tokio::time::timeout_at(deadline, self.reader.recv()).await {
                Ok(Ok(Some(frame))) => self.handle_frame(state, frame, now_us(), pending).await?,
                _ => break,
            }
        }
        state.core.publish_received();
        Ok(())
    }

    /// A heartbeat: runs `heartbeat.action.query` (a write in the captured database gives an
    /// otherwise idle slot something to confirm) and hands out a heartbeat event, Debezium's
    /// record on the heartbeat topic. Inside a transaction it waits for the transaction's end.
    async fn heartbeat(&mut self, state: &mut State, pending: &mut Vec<Event>) -> Result<()> {
        if !state.core.heartbeat(now_us(), pending) {
            // Try again shortly: the transaction's end is near or the replay is moving.
            let every = self.config.heartbeat_interval.unwrap_or_default();
            let now = Instant::now();
            state.last_heartbeat = now
                .checked_sub(every.saturating_sub(std::time::Duration::from_millis(50)))
                .unwrap_or(now);
            return Ok(());
        }
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

    async fn send_status(&mut self, state: &mut State, reply_requested: bool) -> Result<()> {
        let status = state.core.status_update(reply_requested);
        state.status_buf.clear();
        encode_standby_status_update(
            &mut state.status_buf,
            status.write,
            status.flush,
            status.apply,
            pgoutput::unix_to_pg_micros(now_us()),
            status.reply,
        );
        self.writer.send_copy_data(&state.status_buf).await?;
        // (0 while a prepared transaction holds the position: nothing new was confirmed.)
        if status.flush != Lsn::ZERO {
            self.stats.server_confirmed(status.flush);
        }
        state.last_status = Instant::now();
        Ok(())
    }
}

fn sleep_until(deadline: Instant) -> tokio::time::Sleep {
    tokio::time::sleep_until(tokio::time::Instant::from_std(deadline))
}
