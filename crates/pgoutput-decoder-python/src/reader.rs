//! The native half of `LogicalReplicationReader`.
//!
//! The Python class (in `pgoutput_decoder/__init__.py`) subclasses this one and adds the
//! iteration protocol: `__anext__` calls [`_pop`](LogicalReplicationReader::_pop), which hands
//! out an already received event without any `await`, and only when nothing is buffered awaits
//! [`_fill`](LogicalReplicationReader::_fill), a Rust future on the tokio runtime that
//! receives the next batch. One `await` thus serves a whole batch.
//!
//! Acknowledgements: the Python consumer is the stream's one sink, and what it acknowledges is
//! what it made durable (reported through the stream's delivery tracking, as the CLI's file
//! sink reports what it flushed). With `auto_acknowledge`, `_pop` first acknowledges the
//! message it handed out last time (its loop body has finished, since the next one is
//! requested). Events that were received but not handed out are never acknowledged.

use std::{
    collections::VecDeque,
    future::Future,
    sync::{
        atomic::{AtomicBool, AtomicU8, Ordering},
        Arc, Mutex, MutexGuard,
    },
    time::Duration,
};

use pgoutput_decoder::{
    config::kafka::KafkaSinkConfig,
    pipeline::{KafkaSink, Sink},
    ChangeStream, Event, JsonEncoder, Lsn, ReplicationConfig, SnapshotHandle, SnapshotSignal,
    StopHandle,
};
use pyo3::{prelude::*, types::PyDict};

use crate::{
    convert::Converter,
    errors::{replication_error, to_py_err},
    logging,
    message::{ReplicationMessage, StreamContext},
    monitoring::{Monitoring, MonitoringOptions},
    options::{self, ConnectionArgs, StreamArgs},
    runtime::{self, into_awaitable, ErrorMaker},
    stats::ReaderStats,
};

/// A library error, raised once the GIL is held.
fn core_error(e: pgoutput_decoder::Error) -> ErrorMaker {
    Box::new(move |py| to_py_err(py, &e))
}

/// An error of the reader itself (`ReplicationError`).
fn reader_error(message: &'static str) -> ErrorMaker {
    Box::new(move |py| replication_error(py, message))
}

type Outcome<T> = Result<T, ErrorMaker>;

const IDLE: u8 = 0;
const CONNECTED: u8 = 1;
const STOPPED: u8 = 2;

/// How often a blocking call wakes up to let Python handle signals (Ctrl-C).
const SIGNAL_POLL: Duration = Duration::from_millis(100);

enum Conn {
    Idle,
    /// Connecting in a task of its own, so that a step cancelled meanwhile (e.g. by
    /// `asyncio.wait_for`) does not throw the progress away: the next step awaits the same task.
    Connecting(tokio::task::JoinHandle<pgoutput_decoder::Result<ChangeStream>>),
    Connected(ChangeStream),
    Stopped,
}

#[derive(Default)]
struct State {
    /// Received, not yet handed out.
    queue: VecDeque<Arc<Event>>,
    /// The message handed out last (what `acknowledge()` confirms).
    last: Option<Arc<Event>>,
    /// Auto-acknowledge: handed out, to be acknowledged when the next one is requested.
    unacked: Option<Arc<Event>>,
    stop: Option<StopHandle>,
    ctx: Option<Arc<StreamContext>>,
    /// Sends snapshot requests to the stream once connected.
    snapshots: Option<SnapshotHandle>,
    /// Snapshot requests made before connecting: sent once connected.
    waiting_snapshots: Vec<SnapshotSignal>,
    /// The numbers of `stats()`, the metrics endpoint and the progress log, while connected.
    monitoring: Option<Monitoring>,
    /// The numbers when the reader stopped.
    final_stats: Option<pgoutput_decoder::monitor::Reading>,
}

struct Shared {
    config: ReplicationConfig,
    monitoring: MonitoringOptions,
    auto_ack: bool,
    conn: tokio::sync::Mutex<Conn>,
    state: Mutex<State>,
    stopping: AtomicBool,
    phase: AtomicU8,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends `signal` to the stream, or keeps it until the reader connects.
    fn request_snapshot(&self, signal: SnapshotSignal) -> Outcome<()> {
        if self.stopping.load(Ordering::SeqCst) {
            return Err(reader_error(
                "the reader was stopped; a snapshot needs a running reader",
            ));
        }
        let mut st = self.state();
        match &st.snapshots {
            Some(handle) => handle.signal(signal).map_err(core_error),
            None => {
                st.waiting_snapshots.push(signal);
                Ok(())
            }
        }
    }

    /// Connects if not connected yet; `Ok(false)` if the reader was stopped.
    async fn ensure_connected(&self, conn: &mut Conn) -> Outcome<bool> {
        let handle = match conn {
            Conn::Connected(_) => return Ok(true),
            Conn::Stopped => return Ok(false),
            Conn::Connecting(handle) => handle,
            Conn::Idle => {
                if self.stopping.load(Ordering::SeqCst) {
                    return Ok(false);
                }
                let config = self.config.clone();
                *conn = Conn::Connecting(tokio::spawn(ChangeStream::connect(config)));
                let Conn::Connecting(handle) = conn else {
                    unreachable!("just set")
                };
                handle
            }
        };
        let joined = handle.await;
        *conn = Conn::Idle;
        let stream = match joined {
            Ok(connected) => connected.map_err(core_error)?,
            Err(_) => return Err(reader_error("connecting was interrupted; try again")),
        };
        let monitoring = match self.monitoring.start(&self.config, &stream).await {
            Ok(m) => m,
            Err(e) => {
                let _ = stream.stop().await;
                return Err(core_error(e));
            }
        };
        // Events wait in this reader's queue after `next_batch`: `positions()["handed_out"]`
        // follows what `_pop` hands to Python, not what the stream returned.
        stream.ack_handle().track_hand_out();
        let delivery = stream.delivery(1);
        let ctx = Arc::new(StreamContext {
            consumer: delivery.reporter(0),
            delivery,
            encoder: JsonEncoder::new(&self.config),
            converter: Converter::new(self.config.convert.clone()),
            prefix: self.config.topic_prefix.clone(),
            db: self.config.connection.dbname.clone(),
            acks: stream.ack_handle(),
            source_template: pyo3::sync::PyOnceLock::new(),
        });
        let stop = stream.stop_handle();
        {
            let mut st = self.state();
            st.stop = Some(stop.clone());
            st.ctx = Some(ctx);
            let handle = stream.snapshot_handle();
            for signal in std::mem::take(&mut st.waiting_snapshots) {
                let _ = handle.signal(signal);
            }
            st.snapshots = Some(handle);
            st.monitoring = Some(monitoring);
        }
        *conn = Conn::Connected(stream);
        self.phase.store(CONNECTED, Ordering::SeqCst);
        // stop() may have run between the check above and storing the handle.
        if self.stopping.load(Ordering::SeqCst) {
            stop.stop();
        }
        Ok(true)
    }

    /// Receives the next batch into the queue: `Ok(false)` once the stream has ended.
    async fn fill(&self) -> Outcome<bool> {
        let mut conn = self.conn.lock().await;
        if !self.ensure_connected(&mut conn).await? {
            return Ok(false);
        }
        if self.stopping.load(Ordering::SeqCst) {
            return Ok(false);
        }
        if !self.state().queue.is_empty() {
            // Another task filled it while this one waited for the stream.
            return Ok(true);
        }
        let Conn::Connected(stream) = &mut *conn else {
            return Ok(false);
        };
        match stream.next_batch().await {
            Ok(Some(batch)) => {
                let mut st = self.state();
                if let Some(ctx) = &st.ctx {
                    ctx.delivery.register(&batch);
                }
                st.queue.extend(batch.into_iter().map(Arc::new));
                Ok(true)
            }
            Ok(None) => Ok(false),
            Err(e) => Err(core_error(e)),
        }
    }

    /// Streams into Kafka until the reader is stopped, `idle` passes without a change, or
    /// `max_events` were written; returns how many events were written. Events the reader
    /// received but did not hand to Python go first. Kafka's acknowledgements are what is
    /// confirmed to the server (the sink takes the place of the Python consumer).
    async fn to_kafka(
        &self,
        config: KafkaSinkConfig,
        idle: Option<Duration>,
        max_events: Option<u64>,
    ) -> Outcome<u64> {
        let mut conn = self.conn.lock().await;
        if !self.ensure_connected(&mut conn).await? {
            return Err(reader_error(
                "the reader was stopped; create a new LogicalReplicationReader",
            ));
        }
        let Some(ctx) = self.state().ctx.clone() else {
            return Err(reader_error("the reader is not connected"));
        };
        let (encoder, reporter) = (ctx.encoder.clone(), ctx.consumer.clone());
        // Connecting waits for the brokers (retrying): off the async threads.
        let mut sink =
            tokio::task::spawn_blocking(move || KafkaSink::connect(&config, encoder, reporter))
                .await
                .map_err(|_| reader_error("connecting to Kafka was interrupted"))?
                .map_err(core_error)?;
        let queued: Vec<Event> = {
            let mut st = self.state();
            st.unacked = None;
            st.last = None;
            st.queue.drain(..).map(Arc::unwrap_or_clone).collect()
        };
        let mut written = 0u64;
        let mut batch = queued;
        let mut last_change = std::time::Instant::now();
        loop {
            if !batch.is_empty() {
                // Registered with the delivery when received; written (which may block while
                // the producer's queue is full) off the async threads.
                let (back, result) = tokio::task::spawn_blocking(move || {
                    let result = sink.write_batch(&batch);
                    ((sink, batch), result)
                })
                .await
                .map_err(|_| reader_error("writing to Kafka was interrupted"))?;
                let (returned, events) = back;
                sink = returned;
                result.map_err(core_error)?;
                if let Some(last) = events.last() {
                    ctx.acks.handed_out(last);
                }
                // Heartbeats are written too, but they are not changes: neither counted nor
                // activity for `idle_timeout`.
                let changes = events.iter().filter(|e| !e.is_heartbeat()).count() as u64;
                if changes > 0 {
                    written += changes;
                    last_change = std::time::Instant::now();
                }
            }
            if self.stopping.load(Ordering::SeqCst) || max_events.is_some_and(|max| written >= max)
            {
                break;
            }
            let mut wait = Duration::from_millis(200);
            if let Some(idle) = idle {
                let left = idle.saturating_sub(last_change.elapsed());
                if left.is_zero() {
                    break;
                }
                wait = wait.min(left);
            }
            let Conn::Connected(stream) = &mut *conn else {
                break;
            };
            match stream.next_batch_timeout(wait).await {
                Ok(Some(next)) => {
                    ctx.delivery.register(&next);
                    batch = next;
                }
                Ok(None) => break,
                Err(e) => return Err(core_error(e)),
            }
        }
        tokio::task::spawn_blocking(move || sink.flush())
            .await
            .map_err(|_| reader_error("flushing to Kafka was interrupted"))?
            .map_err(core_error)?;
        Ok(written)
    }

    async fn connect(&self) -> Outcome<()> {
        let mut conn = self.conn.lock().await;
        if self.ensure_connected(&mut conn).await? {
            Ok(())
        } else {
            Err(reader_error(
                "the reader was stopped; create a new LogicalReplicationReader to connect again",
            ))
        }
    }

    /// Signals the stop (synchronously, so it takes effect even if the returned awaitable is
    /// never awaited).
    fn request_stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        if let Some(stop) = &self.state().stop {
            stop.stop();
        }
    }

    async fn stop(&self) -> Outcome<()> {
        let mut conn = self.conn.lock().await;
        let previous = std::mem::replace(&mut *conn, Conn::Stopped);
        self.phase.store(STOPPED, Ordering::SeqCst);
        {
            let mut st = self.state();
            st.queue.clear();
            st.unacked = None;
            // The endpoint and the progress log end with the stream; stats() keeps the
            // last numbers.
            st.final_stats = st.monitoring.take().map(|m| m.monitor.reading());
        }
        match previous {
            Conn::Connected(stream) => stream.stop().await.map_err(core_error)?,
            Conn::Connecting(handle) => handle.abort(),
            Conn::Idle | Conn::Stopped => {}
        }
        Ok(())
    }
}

/// Runs a future on the tokio runtime from a synchronous call: the GIL is released while it
/// runs, and every `SIGNAL_POLL` Python gets to handle signals, so Ctrl-C interrupts (the
/// future is then dropped; every future used here can be dropped safely at any point).
pub(crate) fn block_on<T, F>(py: Python<'_>, future: F) -> PyResult<T>
where
    F: Future<Output = Outcome<T>> + Send,
    T: Send,
{
    let runtime = runtime::runtime();
    let mut future = Box::pin(future);
    loop {
        let polled = py.detach(|| {
            runtime.block_on(async { tokio::time::timeout(SIGNAL_POLL, &mut future).await })
        });
        match polled {
            Ok(result) => return result.map_err(|make| make(py)),
            Err(_) => py.check_signals()?,
        }
    }
}

/// Reads a PostgreSQL logical replication slot (pgoutput) as Debezium-style change events.
///
/// This is the native base class; use `pgoutput_decoder.LogicalReplicationReader`, which adds
/// async and sync iteration on top of it. See the type stubs for the full documentation.
#[pyclass(
    frozen,
    subclass,
    module = "pgoutput_decoder",
    name = "LogicalReplicationReader"
)]
pub struct LogicalReplicationReader {
    shared: Arc<Shared>,
}

#[pymethods]
impl LogicalReplicationReader {
    #[new]
    #[pyo3(
        text_signature = "(publication_name, slot_name, host=None, database=None, port=None, user=None, \
         password=None, start_lsn=None, auto_acknowledge=True, *, dsn=None, \
         sslmode=None, sslrootcert=None, connect_timeout=None, create_slot=False, \
         slot_failover=False, create_publication=False, tables=None, reconnect=None, \
         reconnect_max_attempts=None, reconnect_initial_delay=None, \
         reconnect_max_delay=None, decimal_handling_mode='precise', \
         time_precision_mode='adaptive', binary_handling_mode='bytes', \
         interval_handling_mode='numeric', hstore_handling_mode='json', \
         money_fraction_digits=2, \
         unavailable_value_placeholder='__debezium_unavailable_value', \
         provide_transaction_metadata=False, skipped_operations=None, \
         topic_prefix='pgoutput', tombstones_on_delete=True, status_interval=10.0, \
         receive_timeout=None, batch_linger=0.01, max_batch_size=2048, \
         max_queue_size=8192, two_phase=False, \
         multidimensional_array_mode='null_subarrays', snapshot_mode='no_data', \
         offset_file=None, properties=None, metrics_addr=None, \
         slot_status_interval=None, progress_interval=None, lag_warning_seconds=None)",
        signature = (
        publication_name = None,
        slot_name = None,
        host = None,
        database = None,
        port = None,
        user = None,
        password = None,
        start_lsn = None,
        auto_acknowledge = None,
        *,
        dsn = None,
        sslmode = None,
        sslrootcert = None,
        connect_timeout = None,
        create_slot = None,
        slot_failover = None,
        create_publication = None,
        tables = None,
        reconnect = None,
        reconnect_max_attempts = None,
        reconnect_initial_delay = None,
        reconnect_max_delay = None,
        decimal_handling_mode = None,
        time_precision_mode = None,
        binary_handling_mode = None,
        interval_handling_mode = None,
        hstore_handling_mode = None,
        money_fraction_digits = None,
        unavailable_value_placeholder = None,
        provide_transaction_metadata = None,
        skipped_operations = None,
        topic_prefix = None,
        tombstones_on_delete = None,
        status_interval = None,
        receive_timeout = None,
        batch_linger = None,
        max_batch_size = None,
        max_queue_size = None,
        two_phase = None,
        multidimensional_array_mode = None,
        snapshot_mode = None,
        offset_file = None,
        properties = None,
        metrics_addr = None,
        slot_status_interval = None,
        progress_interval = None,
        lag_warning_seconds = None,
        ),
    )]
    #[allow(clippy::too_many_arguments)]
    fn new<'py>(
        publication_name: Option<Bound<'py, PyAny>>,
        slot_name: Option<Bound<'py, PyAny>>,
        host: Option<Bound<'py, PyAny>>,
        database: Option<Bound<'py, PyAny>>,
        port: Option<Bound<'py, PyAny>>,
        user: Option<Bound<'py, PyAny>>,
        password: Option<Bound<'py, PyAny>>,
        start_lsn: Option<Bound<'py, PyAny>>,
        auto_acknowledge: Option<Bound<'py, PyAny>>,
        dsn: Option<Bound<'py, PyAny>>,
        sslmode: Option<Bound<'py, PyAny>>,
        sslrootcert: Option<Bound<'py, PyAny>>,
        connect_timeout: Option<Bound<'py, PyAny>>,
        create_slot: Option<Bound<'py, PyAny>>,
        slot_failover: Option<Bound<'py, PyAny>>,
        create_publication: Option<Bound<'py, PyAny>>,
        tables: Option<Bound<'py, PyAny>>,
        reconnect: Option<Bound<'py, PyAny>>,
        reconnect_max_attempts: Option<Bound<'py, PyAny>>,
        reconnect_initial_delay: Option<Bound<'py, PyAny>>,
        reconnect_max_delay: Option<Bound<'py, PyAny>>,
        decimal_handling_mode: Option<Bound<'py, PyAny>>,
        time_precision_mode: Option<Bound<'py, PyAny>>,
        binary_handling_mode: Option<Bound<'py, PyAny>>,
        interval_handling_mode: Option<Bound<'py, PyAny>>,
        hstore_handling_mode: Option<Bound<'py, PyAny>>,
        money_fraction_digits: Option<Bound<'py, PyAny>>,
        unavailable_value_placeholder: Option<Bound<'py, PyAny>>,
        provide_transaction_metadata: Option<Bound<'py, PyAny>>,
        skipped_operations: Option<Bound<'py, PyAny>>,
        topic_prefix: Option<Bound<'py, PyAny>>,
        tombstones_on_delete: Option<Bound<'py, PyAny>>,
        status_interval: Option<Bound<'py, PyAny>>,
        receive_timeout: Option<Bound<'py, PyAny>>,
        batch_linger: Option<Bound<'py, PyAny>>,
        max_batch_size: Option<Bound<'py, PyAny>>,
        max_queue_size: Option<Bound<'py, PyAny>>,
        two_phase: Option<Bound<'py, PyAny>>,
        multidimensional_array_mode: Option<Bound<'py, PyAny>>,
        snapshot_mode: Option<Bound<'py, PyAny>>,
        offset_file: Option<Bound<'py, PyAny>>,
        properties: Option<Bound<'py, PyAny>>,
        metrics_addr: Option<Bound<'py, PyAny>>,
        slot_status_interval: Option<Bound<'py, PyAny>>,
        progress_interval: Option<Bound<'py, PyAny>>,
        lag_warning_seconds: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Self> {
        use options::{boolean, int, number, optional, path, string};
        let required = |name: &str, value: &Option<Bound<'py, PyAny>>| {
            options::given(value).map(|v| string(name, v)).transpose()
        };
        let (publication_name, slot_name) = match (
            required("publication_name", &publication_name)?,
            required("slot_name", &slot_name)?,
        ) {
            (Some(p), Some(s)) => (p, s),
            (p, s) => {
                let missing: Vec<&str> = [
                    ("publication_name", p.is_none()),
                    ("slot_name", s.is_none()),
                ]
                .into_iter()
                .filter_map(|(name, missing)| missing.then_some(name))
                .collect();
                return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                    "LogicalReplicationReader() missing required argument{}: {} (there is no \
                     default: name the publication to stream and the replication slot to \
                     read, e.g. LogicalReplicationReader(publication_name=\"shop_pub\", \
                     slot_name=\"shop_slot\", ...))",
                    if missing.len() > 1 { "s" } else { "" },
                    missing.join(" and "),
                )));
            }
        };
        let connection = options::connect_params(ConnectionArgs {
            host: optional("host", &host, string)?,
            database: optional("database", &database, string)?,
            port: optional("port", &port, int)?,
            user: optional("user", &user, string)?,
            password: optional("password", &password, string)?,
            dsn: optional("dsn", &dsn, string)?,
            sslmode: optional("sslmode", &sslmode, string)?,
            sslrootcert: optional("sslrootcert", &sslrootcert, path)?,
            connect_timeout: optional("connect_timeout", &connect_timeout, number)?,
        })?;
        let flag = |name: &str, value: &Option<Bound<'py, PyAny>>, default: bool| {
            options::given(value)
                .map(|v| boolean(name, v))
                .transpose()
                .map(|b| b.unwrap_or(default))
        };
        let auto_acknowledge = flag("auto_acknowledge", &auto_acknowledge, true)?;
        let monitoring = MonitoringOptions {
            metrics_addr: optional("metrics_addr", &metrics_addr, string)?,
            slot_status_interval: optional(
                "slot_status_interval",
                &slot_status_interval,
                options::positive_seconds,
            )?,
            progress_interval: optional(
                "progress_interval",
                &progress_interval,
                options::positive_seconds,
            )?,
            lag_warning: optional(
                "lag_warning_seconds",
                &lag_warning_seconds,
                options::positive_seconds,
            )?,
        };
        let config = options::replication_config(
            connection,
            StreamArgs {
                publication_name,
                slot_name,
                start_lsn: options::given(&start_lsn).cloned(),
                create_slot: optional("create_slot", &create_slot, boolean)?,
                slot_failover: optional("slot_failover", &slot_failover, boolean)?,
                create_publication: flag("create_publication", &create_publication, false)?,
                tables: options::given(&tables).cloned(),
                reconnect: options::given(&reconnect).cloned(),
                reconnect_max_attempts: optional(
                    "reconnect_max_attempts",
                    &reconnect_max_attempts,
                    int,
                )?,
                reconnect_initial_delay: optional(
                    "reconnect_initial_delay",
                    &reconnect_initial_delay,
                    number,
                )?,
                reconnect_max_delay: optional("reconnect_max_delay", &reconnect_max_delay, number)?,
                decimal_handling_mode: optional(
                    "decimal_handling_mode",
                    &decimal_handling_mode,
                    string,
                )?,
                time_precision_mode: optional("time_precision_mode", &time_precision_mode, string)?,
                binary_handling_mode: optional(
                    "binary_handling_mode",
                    &binary_handling_mode,
                    string,
                )?,
                interval_handling_mode: optional(
                    "interval_handling_mode",
                    &interval_handling_mode,
                    string,
                )?,
                hstore_handling_mode: optional(
                    "hstore_handling_mode",
                    &hstore_handling_mode,
                    string,
                )?,
                money_fraction_digits: optional(
                    "money_fraction_digits",
                    &money_fraction_digits,
                    int,
                )?,
                unavailable_value_placeholder: optional(
                    "unavailable_value_placeholder",
                    &unavailable_value_placeholder,
                    string,
                )?,
                provide_transaction_metadata: optional(
                    "provide_transaction_metadata",
                    &provide_transaction_metadata,
                    boolean,
                )?,
                skipped_operations: options::given(&skipped_operations).cloned(),
                topic_prefix: optional("topic_prefix", &topic_prefix, string)?,
                tombstones_on_delete: optional(
                    "tombstones_on_delete",
                    &tombstones_on_delete,
                    boolean,
                )?,
                status_interval: optional("status_interval", &status_interval, number)?,
                receive_timeout: optional("receive_timeout", &receive_timeout, number)?,
                batch_linger: optional("batch_linger", &batch_linger, number)?,
                max_batch_size: optional("max_batch_size", &max_batch_size, int)?,
                max_queue_size: optional("max_queue_size", &max_queue_size, int)?,
                two_phase: optional("two_phase", &two_phase, boolean)?,
                multidimensional_array_mode: optional(
                    "multidimensional_array_mode",
                    &multidimensional_array_mode,
                    string,
                )?,
                snapshot_mode: optional("snapshot_mode", &snapshot_mode, string)?,
                offset_file: optional("offset_file", &offset_file, path)?,
                properties: options::given(&properties).cloned(),
            },
        )?;
        Ok(LogicalReplicationReader {
            shared: Arc::new(Shared {
                config,
                monitoring,
                auto_ack: auto_acknowledge,
                conn: tokio::sync::Mutex::new(Conn::Idle),
                state: Mutex::new(State::default()),
                stopping: AtomicBool::new(false),
                phase: AtomicU8::new(IDLE),
            }),
        })
    }

    /// Hands out the next received message, or None when none is buffered (then await
    /// `_fill()`). With auto-acknowledgement, first acknowledges the previous message.
    fn _pop(&self, py: Python<'_>) -> PyResult<Option<Py<ReplicationMessage>>> {
        let (event, ctx) = {
            let mut st = self.shared.state();
            if let Some(previous) = st.unacked.take() {
                if let Some(ctx) = &st.ctx {
                    ctx.consumer.durable_through(&previous);
                }
            }
            if self.shared.stopping.load(Ordering::Relaxed) {
                return Ok(None);
            }
            // Heartbeats (`heartbeat.interval.ms`) are records for Kafka; Python consumers
            // never see them. They carry no position, so skipping them confirms nothing.
            let Some(event) =
                std::iter::from_fn(|| st.queue.pop_front()).find(|e| !e.is_heartbeat())
            else {
                return Ok(None);
            };
            let Some(ctx) = st.ctx.clone() else {
                return Ok(None);
            };
            ctx.acks.handed_out(&event);
            if self.shared.auto_ack {
                st.unacked = Some(event.clone());
            }
            st.last = Some(event.clone());
            (event, ctx)
        };
        Py::new(py, ReplicationMessage::new(event, ctx)).map(Some)
    }

    /// Awaitable: connects if needed and receives the next batch; True if messages are
    /// buffered now, False once the stream has ended (stopped).
    fn _fill<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        logging::refresh(py);
        let shared = self.shared.clone();
        into_awaitable(py, runtime::boolean, async move { shared.fill().await })
    }

    /// Blocking `_fill` (releases the GIL; Ctrl-C interrupts it).
    fn _fill_sync(&self, py: Python<'_>) -> PyResult<bool> {
        logging::refresh(py);
        let shared = self.shared.clone();
        block_on(py, async move { shared.fill().await })
    }

    /// Awaitable: streams the changes into Kafka, running in Rust without the GIL, until
    /// `stop()` is called (from another task), `idle_timeout` seconds pass without a change,
    /// or `max_events` events were written; resolves to the number of events written. See
    /// the stubs.
    #[pyo3(signature = (bootstrap_servers = None, *, properties = None, idle_timeout = None, max_events = None))]
    fn to_kafka<'py>(
        &self,
        py: Python<'py>,
        bootstrap_servers: Option<String>,
        properties: Option<Bound<'py, PyAny>>,
        idle_timeout: Option<f64>,
        max_events: Option<u64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        logging::refresh(py);
        let mut pairs = match &properties {
            Some(p) => options::property_pairs(p)?,
            None => Vec::new(),
        };
        if let Some(servers) = bootstrap_servers {
            pairs.push(("bootstrap.servers".into(), servers));
        }
        let (config, notes) =
            KafkaSinkConfig::from_properties(&pairs).map_err(|e| to_py_err(py, &e))?;
        for note in notes {
            tracing::warn!("{note}");
        }
        let idle = idle_timeout
            .map(|secs| options::seconds("idle_timeout", secs, false))
            .transpose()?;
        let shared = self.shared.clone();
        into_awaitable(py, runtime::integer, async move {
            shared.to_kafka(config, idle, max_events).await
        })
    }

    /// Awaitable: connects (checks the server, creates the publication and slot when asked,
    /// starts streaming). Does nothing when already connected.
    fn connect<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        logging::refresh(py);
        let shared = self.shared.clone();
        into_awaitable(py, runtime::none, async move { shared.connect().await })
    }

    /// Awaitable: asks for an incremental snapshot of `tables` while streaming (see the stubs).
    #[pyo3(signature = (tables, *, conditions = None, surrogate_key = None))]
    fn snapshot<'py>(
        &self,
        py: Python<'py>,
        tables: Bound<'py, PyAny>,
        conditions: Option<Bound<'py, PyAny>>,
        surrogate_key: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let signal =
            options::snapshot_signal(&tables, conditions.as_ref(), surrogate_key.as_ref())?;
        let shared = self.shared.clone();
        into_awaitable(
            py,
            runtime::none,
            async move { shared.request_snapshot(signal) },
        )
    }

    /// Blocking `connect()`.
    fn connect_sync(&self, py: Python<'_>) -> PyResult<()> {
        logging::refresh(py);
        let shared = self.shared.clone();
        block_on(py, async move { shared.connect().await })
    }

    /// Awaitable: stops gracefully (tells the server what was acknowledged and closes the
    /// connection, so the slot is free at once). Iteration ends; calling it again is harmless.
    fn stop<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.shared.request_stop();
        let shared = self.shared.clone();
        into_awaitable(py, runtime::none, async move { shared.stop().await })
    }

    /// Blocking `stop()`.
    fn stop_sync(&self, py: Python<'_>) -> PyResult<()> {
        self.shared.request_stop();
        let shared = self.shared.clone();
        block_on(py, async move { shared.stop().await })
    }

    /// Acknowledges synchronously: with no argument every message handed out so far, with an
    /// LSN (int or "X/Y") every transaction that ended at or before it.
    #[pyo3(signature = (lsn = None))]
    fn _acknowledge(&self, py: Python<'_>, lsn: Option<Bound<'_, PyAny>>) -> PyResult<()> {
        let lsn = lsn.map(|v| options::parse_lsn("lsn", &v)).transpose()?;
        let (ctx, last) = {
            let st = self.shared.state();
            (st.ctx.clone(), st.last.clone())
        };
        if self.shared.stopping.load(Ordering::SeqCst) {
            return Err(replication_error(
                py,
                "acknowledge() after stop(): the final position was already sent to the \
                 server; acknowledge before stopping",
            ));
        }
        let Some(ctx) = ctx else {
            if lsn.is_some() {
                return Err(replication_error(
                    py,
                    "acknowledge(lsn) before the reader connected: nothing can be acknowledged yet",
                ));
            }
            return Ok(());
        };
        match lsn {
            Some(lsn) => ctx.acks.ack_lsn(lsn),
            None => {
                if let Some(event) = last {
                    ctx.consumer.durable_through(&event);
                }
            }
        }
        Ok(())
    }

    /// Positions as ints: `received` (WAL received from the server), `handed_out` (everything
    /// before it was handed to Python: the end of the last transaction whose messages were all
    /// handed out), `acknowledged` (confirmed, or to be confirmed at the next status update).
    /// All three start at the position streaming started from; `acknowledged <= handed_out <=
    /// received` except after `acknowledge(lsn)` past what was handed out. None before
    /// connecting.
    #[getter]
    fn positions<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(ctx) = self.shared.state().ctx.clone() else {
            return Ok(None);
        };
        let p = ctx.acks.positions();
        let d = PyDict::new(py);
        d.set_item("received", p.received.0)?;
        d.set_item("handed_out", p.handed_out.0)?;
        d.set_item("acknowledged", p.acknowledged.0)?;
        Ok(Some(d))
    }

    /// The reader's numbers now (see ReaderStats in the stubs); None before connecting.
    fn stats(&self) -> Option<ReaderStats> {
        let st = self.shared.state();
        let reading = match (&st.monitoring, &st.final_stats) {
            (Some(m), _) => m.monitor.reading(),
            (None, Some(last)) => last.clone(),
            (None, None) => return None,
        };
        Some(ReaderStats::new(
            &reading.stats,
            reading.slot.as_ref(),
            reading.now_us,
            reading.problems,
        ))
    }

    /// "idle" (not connected yet), "connected", or "stopped" (from the moment `stop()` was
    /// called).
    #[getter]
    fn state(&self) -> &'static str {
        if self.shared.stopping.load(Ordering::SeqCst) {
            return "stopped";
        }
        match self.shared.phase.load(Ordering::SeqCst) {
            IDLE => "idle",
            CONNECTED => "connected",
            _ => "stopped",
        }
    }

    #[getter]
    fn publication_name(&self) -> &str {
        &self.shared.config.publication_name
    }

    #[getter]
    fn slot_name(&self) -> &str {
        &self.shared.config.slot_name
    }

    #[getter]
    fn auto_acknowledge(&self) -> bool {
        self.shared.auto_ack
    }

    #[getter]
    fn host(&self) -> &str {
        &self.shared.config.connection.host
    }

    #[getter]
    fn port(&self) -> u16 {
        self.shared.config.connection.port
    }

    #[getter]
    fn database(&self) -> &str {
        &self.shared.config.connection.dbname
    }

    #[getter]
    fn user(&self) -> &str {
        &self.shared.config.connection.user
    }

    #[getter]
    fn topic_prefix(&self) -> &str {
        &self.shared.config.topic_prefix
    }

    /// The configured start position as an int, or None (the slot's confirmed position).
    #[getter]
    fn start_lsn(&self) -> Option<u64> {
        self.shared.config.start_lsn.map(|l: Lsn| l.0)
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let this = slf.get();
        let c = &this.shared.config;
        let p = &c.connection;
        let class = slf.get_type().name()?.to_string();
        // Never the password itself: only whether one is set.
        let password = if p.password.is_some() {
            "'***'"
        } else {
            "None"
        };
        Ok(format!(
            "{class}(publication_name={}, slot_name={}, host={}, port={}, \
             database={}, user={}, password={password}, sslmode='{}', \
             auto_acknowledge={}, state='{}')",
            py_str(&c.publication_name),
            py_str(&c.slot_name),
            py_str(&p.host),
            p.port,
            py_str(&p.dbname),
            py_str(&p.user),
            p.sslmode,
            if this.shared.auto_ack {
                "True"
            } else {
                "False"
            },
            this.state(),
        ))
    }
}

/// A string as Python's `repr` shows it (single quotes).
fn py_str(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}
