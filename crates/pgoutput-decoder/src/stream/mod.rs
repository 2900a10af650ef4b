//! [`ChangeStream`]: the consumer's side of a replication slot.

mod handle;
mod linger;
mod session;
mod setup;

use std::{
    collections::VecDeque,
    pin::Pin,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    task::Poll,
};

use futures_core::Stream;
use pgoutput::Lsn;
use tokio::{
    sync::{mpsc, watch},
    task::JoinHandle,
};

pub use crate::ack::Positions;
use crate::{
    ack::AckTracker,
    config::ReplicationConfig,
    event::Event,
    pipeline::{
        Batch, ByteBudget, Delivery, EventCounter, Source, Stats, StatsHandle, StatsSnapshot,
    },
    snapshot::{
        self,
        signal::{SignalInbox, SignalSender, SnapshotSignal},
        Decision, Outcome,
    },
    types::TypeRegistry,
    Error, ErrorKind, Result,
};
pub use handle::AckHandle;

use session::Session;

/// A live replication stream of Debezium-style change events.
///
/// Events are decoded on a background task and handed out in order, one at a time
/// ([`next_event`](Self::next_event)) or in batches ([`next_batch`](Self::next_batch)); the
/// type is also a [`Stream`] of events. Nothing is confirmed to the server until the consumer
/// acknowledges it with [`ack`](Self::ack) (or [`ack_lsn`](Self::ack_lsn)); a restart with the
/// same slot resumes after the last acknowledged transaction.
///
/// ```no_run
/// use pgoutput_decoder::{conn::ConnectParams, ChangeStream, JsonEncoder, ReplicationConfig};
///
/// # async fn run() -> pgoutput_decoder::Result<()> {
/// let mut config = ReplicationConfig::new(ConnectParams::from_dsn(
///     "host=localhost user=postgres dbname=shop",
/// )?);
/// config.slot_name = "shop_slot".into();
/// config.publication_name = "shop_pub".into();
/// config.create_slot = true;
/// let encoder = JsonEncoder::new(&config);
/// let mut stream = ChangeStream::connect(config).await?;
/// while let Some(event) = stream.next_event().await? {
///     let mut line = Vec::new();
///     encoder.write_value(&event, &mut line)?;
///     println!("{}", String::from_utf8_lossy(&line));
///     stream.ack(&event); // confirmed to the server at the next status update
/// }
/// # Ok(()) }
/// ```
pub struct ChangeStream {
    rx: mpsc::Receiver<Batch>,
    buffered: VecDeque<Event>,
    acks: AckTracker,
    stop: watch::Sender<bool>,
    /// Set by an explicit stop (not by dropping the stream): only such a stop drops the slot
    /// under `slot_drop_on_stop`.
    stopped: Arc<AtomicBool>,
    task: Option<JoinHandle<()>>,
    done: bool,
    start_lsn: Lsn,
    server_version: u32,
    budget: ByteBudget,
    /// Counts what is taken from the queue into the pipeline's stats.
    counter: EventCounter,
    /// Incremental snapshot requests for the connection task.
    signals: SignalSender,
}

impl ChangeStream {
    /// Connects, checks the server, makes sure the publication and slot exist (creating them
    /// when the configuration says so) and starts streaming.
    ///
    /// # Errors
    /// Configuration, connection, authentication and TLS errors; a missing slot or publication;
    /// a server whose `wal_level` is not `logical`. Each says what to fix.
    pub async fn connect(config: ReplicationConfig) -> Result<Self> {
        let prepared = setup::prepare(&config).await?;
        let decision = prepared.decision.clone();
        // Opened here, before the replication connection does anything else (which would end
        // the exported snapshot), and so that its errors (SELECT not granted, say) come from
        // connect.
        let initial = match &decision {
            Decision::Read { exported, done } => {
                let (host, port) = prepared.catalog.server();
                let export = prepared
                    .exported
                    .as_ref()
                    .filter(|_| *exported)
                    .map(|(name, lsn)| (name.as_str(), *lsn));
                Some(
                    snapshot::open(
                        &config,
                        host,
                        port,
                        export,
                        done.clone(),
                        &prepared.system_id,
                    )
                    .await?,
                )
            }
            Decision::Stream | Decision::Finished => None,
        };
        let start_lsn = config.start_lsn.unwrap_or(Lsn::ZERO);
        let server_version = prepared.server.version_num;
        // The server starts at the slot's confirmed position or the requested start, whichever
        // is later: the positions start there too (not at 0 before the first keepalive).
        let acks = AckTracker::new(
            prepared
                .slot_confirmed
                .map_or(start_lsn, |c| c.max(start_lsn)),
        );
        if let Some(lsn) = prepared.slot_confirmed {
            acks.set_floor(lsn);
        }
        // The queue is counted in batches; max_queue_size/max_batch_size of them hold at most
        // max_queue_size events.
        let depth = (config.max_queue_size / config.max_batch_size).max(1);
        let (tx, rx) = mpsc::channel(depth);
        let (stop, mut stop_rx) = watch::channel(false);
        let budget = ByteBudget::new(config.max_queue_bytes);
        let stopped = Arc::new(AtomicBool::new(false));
        let stats = Stats::new(acks.clone(), config.max_queue_size, config.max_queue_bytes);
        stats.connected();
        let (signals, signals_rx) = snapshot::signal::signal_channel();
        let parts = SessionParts {
            system_id: prepared.system_id.clone(),
            signals: signals_rx,
            config,
            acks: acks.clone(),
            stats: stats.clone(),
            tx,
            budget: budget.clone(),
            stopped: stopped.clone(),
        };
        let task = match (decision, initial) {
            (Decision::Finished, _) => {
                tracing::info!(
                    slot = %parts.config.slot_name,
                    "snapshot.mode=initial_only: the slot exists and its snapshot is complete; nothing to read"
                );
                tokio::spawn(async move { drop(parts) })
            }
            (_, Some(initial)) => tokio::spawn(async move {
                let follow = tokio::spawn(snapshot::progress::follow(
                    initial.tracker.clone(),
                    parts.acks.clone(),
                    stop_rx.clone(),
                ));
                let queue = snapshot::Queue {
                    tx: &parts.tx,
                    budget: &parts.budget,
                    stats: &parts.stats,
                    acks: &parts.acks,
                };
                let last_seq = match initial.run(queue, &mut stop_rx).await {
                    Ok(Outcome::Read { last_seq }) => last_seq,
                    Ok(Outcome::Stopped) => return,
                    Err(e) => return parts.fail(e).await,
                };
                if parts.config.snapshot_mode == crate::config::SnapshotMode::InitialOnly {
                    // The stream ends once the consumer has taken the reads; the progress
                    // file is complete once it acknowledged them (or at the stop).
                    drop(parts);
                    let _ = follow.await;
                    return;
                }
                match setup::start_streaming(&parts.config, prepared).await {
                    Ok(started) => parts.session(started, last_seq).run(stop_rx).await,
                    Err(e) => parts.fail(e).await,
                }
            }),
            (_, None) => {
                let started = setup::start_streaming(&parts.config, prepared).await?;
                tokio::spawn(parts.session(started, 0).run(stop_rx))
            }
        };
        Ok(ChangeStream {
            signals,
            budget,
            rx,
            buffered: VecDeque::new(),
            acks,
            stop,
            stopped,
            task: Some(task),
            done: false,
            start_lsn,
            server_version,
            counter: EventCounter::new(stats),
        })
    }

    /// The next event, waiting for one if needed; `None` once the stream was stopped.
    pub async fn next_event(&mut self) -> Result<Option<Event>> {
        if self.buffered.is_empty() && !self.fill().await? {
            return Ok(None);
        }
        let event = self.buffered.pop_front();
        if let Some(e) = &event {
            self.acks.handed_out(e.seq);
        }
        Ok(event)
    }

    /// The next batch of events (everything ready, at least one), waiting if none is;
    /// `None` once the stream was stopped.
    pub async fn next_batch(&mut self) -> Result<Option<Vec<Event>>> {
        let batch = if self.buffered.is_empty() {
            // The usual case: hand the queued batch over as it is, without moving its events.
            match self.receive().await? {
                Some(events) => events,
                None => return Ok(None),
            }
        } else {
            self.buffered.drain(..).collect()
        };
        if let Some(e) = batch.last() {
            self.acks.handed_out(e.seq);
        }
        Ok(Some(batch))
    }

    /// Like [`next_batch`](Self::next_batch) but gives up after `timeout`, returning an empty
    /// batch; useful for consumers that must do periodic work.
    pub async fn next_batch_timeout(
        &mut self,
        timeout: std::time::Duration,
    ) -> Result<Option<Vec<Event>>> {
        match tokio::time::timeout(timeout, self.next_batch()).await {
            Ok(r) => r,
            Err(_) => Ok(Some(Vec::new())),
        }
    }

    async fn fill(&mut self) -> Result<bool> {
        match self.receive().await? {
            Some(events) => {
                self.buffered.extend(events);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// The next queued batch (never empty); `None` once the stream ended.
    async fn receive(&mut self) -> Result<Option<Vec<Event>>> {
        if self.done {
            return Ok(None);
        }
        match self.rx.recv().await {
            Some(Ok(batch)) => {
                self.budget.release(batch.kib);
                self.counter.stats().dequeued(batch.events.len(), batch.kib);
                self.counter.count(&batch.events);
                Ok(Some(batch.events))
            }
            Some(Err(e)) => {
                self.done = true;
                Err(e)
            }
            None => {
                self.done = true;
                Ok(None)
            }
        }
    }

    /// Acknowledges `event` and every event before it. Transactions whose events are all
    /// acknowledged are confirmed to the server at the next status update.
    pub fn ack(&self, event: &Event) {
        self.acks.ack_seq(event.seq);
    }

    /// Acknowledges every transaction whose commit ended at or before `lsn`.
    pub fn ack_lsn(&self, lsn: Lsn) {
        self.acks.ack_lsn(lsn);
    }

    /// Received, handed-out and acknowledged positions (see [`Positions`]): all three start at
    /// the position streaming started from, and `acknowledged <= handed_out <= received`,
    /// except after [`ack_lsn`](Self::ack_lsn) past what was handed out.
    pub fn positions(&self) -> Positions {
        self.acks.positions()
    }

    /// The pipeline's counters now: events by kind and by table, bytes received, the
    /// positions (received, handed out, acknowledged, and the one last sent to the server),
    /// transactions, the queue's depth and capacity, the connection's state, reconnects and
    /// the last error. Updating them costs a few relaxed atomic additions per batch and per
    /// event; taking a snapshot takes two short locks.
    ///
    /// ```no_run
    /// # async fn run(stream: pgoutput_decoder::ChangeStream) {
    /// let stats = stream.stats();
    /// println!(
    ///     "{} events ({} inserts), {} bytes received, {} of {} events queued, lag {} bytes",
    ///     stats.events.total(),
    ///     stats.events.create,
    ///     stats.bytes_received,
    ///     stats.queue.events,
    ///     stats.queue.event_capacity,
    ///     stats.positions.received.0 - stats.positions.acknowledged.0,
    /// );
    /// for table in &stats.tables {
    ///     println!("{}: {} events", table.table, table.events);
    /// }
    /// # }
    /// ```
    pub fn stats(&self) -> StatsSnapshot {
        self.counter.stats().snapshot()
    }

    /// A handle on the same counters for other tasks and threads (a metrics endpoint, a
    /// progress logger): [`StatsHandle::snapshot`] reads them while this stream is busy.
    pub fn stats_handle(&self) -> StatsHandle {
        StatsHandle::new(self.counter.stats().clone())
    }

    /// How many events were taken from the queue so far (the total of
    /// [`stats`](Self::stats)' event counts, without copying the rest).
    pub fn events_taken(&self) -> u64 {
        self.counter.stats().events_total()
    }

    /// Delivery tracking for `sinks` sinks (see [`Delivery`]): each sink reports what it made
    /// durable, in any order, and what all of them did is acknowledged, as
    /// [`ack`](Self::ack) would. Register each batch with [`Delivery::register`] before
    /// handing it to the sinks.
    ///
    /// # Panics
    /// With no sink or more than [`MAX_SINKS`](crate::pipeline::MAX_SINKS).
    pub fn delivery(&self, sinks: usize) -> Delivery {
        Delivery::new(sinks, self.acks.clone())
    }

    /// The position streaming started from (`0/0`: the slot's confirmed position).
    pub fn start_lsn(&self) -> Lsn {
        self.start_lsn
    }

    /// The server's `server_version_num`.
    pub fn server_version(&self) -> u32 {
        self.server_version
    }

    /// A handle that stops the stream from elsewhere (a signal handler, another task).
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle {
            stop: self.stop.clone(),
            stopped: self.stopped.clone(),
        }
    }

    /// Asks for an incremental snapshot of `tables` (`schema.table`) while streaming, as a
    /// Debezium `execute-snapshot` signal does: the tables are read in chunks by key
    /// (`incremental_chunk_size` rows) between watermarks, and their rows come as reads
    /// (`op: "r"`, `source.snapshot: "incremental"`) among the changes, never after a later
    /// change of the same row. Problems with a table (not published, no key) are logged and
    /// that table is skipped.
    ///
    /// # Errors
    /// [`ErrorKind::Closed`] once the stream has ended.
    pub fn snapshot<I, S>(&self, tables: I) -> Result<()>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.snapshot_handle().snapshot(tables)
    }

    /// A handle that asks for snapshots from elsewhere (another task) while this stream is
    /// being read.
    pub fn snapshot_handle(&self) -> SnapshotHandle {
        SnapshotHandle(self.signals.clone())
    }

    /// Stops gracefully: the server is told what was acknowledged and the connection is closed,
    /// so the slot is free at once. Events not yet acknowledged are delivered again next time.
    /// With [`slot_drop_on_stop`](ReplicationConfig::slot_drop_on_stop) the slot is then
    /// dropped.
    pub async fn stop(mut self) -> Result<()> {
        self.stopped.store(true, Ordering::SeqCst);
        self.shutdown().await
    }

    async fn shutdown(&mut self) -> Result<()> {
        let _ = self.stop.send(true);
        self.done = true;
        if let Some(task) = self.task.take() {
            task.await.map_err(|e| {
                Error::new(
                    ErrorKind::Closed,
                    "the replication task failed while stopping",
                )
                .with_source(e)
            })?;
        }
        Ok(())
    }
}

/// What the connection task is built from, before it knows its connection (a snapshot may
/// come first).
struct SessionParts {
    /// The server's system identifier (names the incremental snapshot progress file).
    system_id: String,
    signals: SignalInbox,
    config: ReplicationConfig,
    acks: AckTracker,
    stats: Stats,
    tx: mpsc::Sender<Batch>,
    budget: ByteBudget,
    stopped: Arc<AtomicBool>,
}

impl SessionParts {
    /// The streaming task on `started`, numbering events after `last_seq` (the snapshot's).
    fn session(self, started: setup::Started, last_seq: u64) -> Session {
        let (reader, writer) = started.stream.split();
        let proto_version = setup::protocol_version(&self.config, started.server.version_num);
        let incremental = match snapshot::progress::incremental_path(&self.config, &self.system_id)
        {
            Ok(file) => snapshot::incremental::Incremental::resume_from(file),
            Err(e) => {
                tracing::info!(error = %e, "incremental snapshots will not survive a restart");
                Default::default()
            }
        };
        Session {
            stats: self.stats,
            stopped: self.stopped,
            receive_timeout: started.receive_timeout,
            proto_version,
            budget: self.budget,
            config: self.config,
            catalog: started.catalog,
            reader,
            writer,
            acks: self.acks,
            tx: self.tx,
            registry: TypeRegistry::new(),
            seq_start: last_seq,
            incremental,
            signals: self.signals,
        }
    }

    /// Ends the stream with `error`, delivered to the consumer.
    async fn fail(self, error: Error) {
        self.stats.failed(&error);
        tracing::warn!(error = %error, "snapshot failed");
        let _ = self.tx.send(Err(error)).await;
    }
}

impl Drop for ChangeStream {
    fn drop(&mut self) {
        // Ask the task to leave; it sends a final status update and closes the connection.
        let _ = self.stop.send(true);
    }
}

/// Stops a [`ChangeStream`] from another task.
#[derive(Debug, Clone)]
pub struct StopHandle {
    stop: watch::Sender<bool>,
    stopped: Arc<AtomicBool>,
}

impl StopHandle {
    /// Requests a graceful stop; the stream then ends (`next_event` returns `None`). As with
    /// [`ChangeStream::stop`], the slot is dropped under
    /// [`slot_drop_on_stop`](ReplicationConfig::slot_drop_on_stop).
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        let _ = self.stop.send(true);
    }
}

impl Stream for ChangeStream {
    type Item = Result<Event>;

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(e) = this.buffered.pop_front() {
                this.acks.handed_out(e.seq);
                return Poll::Ready(Some(Ok(e)));
            }
            if this.done {
                return Poll::Ready(None);
            }
            match this.rx.poll_recv(cx) {
                Poll::Ready(Some(Ok(batch))) => {
                    this.budget.release(batch.kib);
                    this.counter.stats().dequeued(batch.events.len(), batch.kib);
                    this.counter.count(&batch.events);
                    this.buffered.extend(batch.events);
                }
                Poll::Ready(Some(Err(e))) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(None) => {
                    this.done = true;
                    return Poll::Ready(None);
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl Source for ChangeStream {
    fn next_batch(
        &mut self,
        timeout: std::time::Duration,
    ) -> impl std::future::Future<Output = Result<Option<Vec<Event>>>> + Send {
        self.next_batch_timeout(timeout)
    }

    fn delivery(&self, sinks: usize) -> Delivery {
        ChangeStream::delivery(self, sinks)
    }

    fn stats(&self) -> StatsSnapshot {
        ChangeStream::stats(self)
    }
}

/// Sends snapshot signals to a running [`ChangeStream`] (see [`ChangeStream::snapshot`]).
#[derive(Debug, Clone)]
pub struct SnapshotHandle(SignalSender);

impl SnapshotHandle {
    /// As [`ChangeStream::snapshot`].
    ///
    /// # Errors
    /// [`ErrorKind::Closed`] once the stream has ended.
    pub fn snapshot<I, S>(&self, tables: I) -> Result<()>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.signal(SnapshotSignal::Execute {
            id: SnapshotSignal::fresh_id("api"),
            tables: tables.into_iter().map(Into::into).collect(),
            conditions: Vec::new(),
            surrogate_key: None,
        })
    }

    /// Sends a snapshot signal (execute, stop, pause, resume), as a row of the signal table
    /// would.
    ///
    /// # Errors
    /// [`ErrorKind::Closed`] once the stream has ended.
    pub fn signal(&self, signal: SnapshotSignal) -> Result<()> {
        if self.0.send(signal) {
            Ok(())
        } else {
            Err(Error::new(ErrorKind::Closed, "the stream has ended"))
        }
    }
}
