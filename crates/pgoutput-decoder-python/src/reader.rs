//! The native half of `LogicalReplicationReader`.
//!
//! The Python class (in `pgoutput_decoder/__init__.py`) subclasses this one and adds the
//! iteration protocol: `__anext__` calls [`_pop`](LogicalReplicationReader::_pop), which hands
//! out an already received event without any `await`, and only when nothing is buffered awaits
//! [`_fill`](LogicalReplicationReader::_fill), a Rust future on the tokio runtime that
//! receives the next batch. One `await` thus serves a whole batch.
//!
//! Acknowledgements: with `auto_acknowledge`, `_pop` first acknowledges the message it handed
//! out last time (its loop body has finished, since the next one is requested). Events that
//! were received but not handed out are never acknowledged.

use std::{
    collections::VecDeque,
    future::Future,
    sync::{
        atomic::{AtomicBool, AtomicU8, Ordering},
        Arc, Mutex, MutexGuard,
    },
    time::Duration,
};

use pgoutput_decoder::{ChangeStream, Event, JsonEncoder, Lsn, ReplicationConfig, StopHandle};
use pyo3::{prelude::*, types::PyDict};

use crate::{
    convert::Converter,
    errors::{replication_error, to_py_err},
    logging,
    message::{ReplicationMessage, StreamContext},
    options::{self, ConnectionArgs, StreamArgs},
    runtime::{self, into_awaitable, ErrorMaker},
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
}

struct Shared {
    config: ReplicationConfig,
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
        let ctx = Arc::new(StreamContext {
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
                self.state().queue.extend(batch.into_iter().map(Arc::new));
                Ok(true)
            }
            Ok(None) => Ok(false),
            Err(e) => Err(core_error(e)),
        }
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
    #[pyo3(signature = (
        publication_name = "test_pub".to_owned(),
        slot_name = "test_slot".to_owned(),
        host = "localhost".to_owned(),
        database = "mydb".to_owned(),
        port = 5432,
        user = "postgres".to_owned(),
        password = String::new(),
        start_lsn = None,
        auto_acknowledge = true,
        *,
        dsn = None,
        sslmode = None,
        sslrootcert = None,
        connect_timeout = None,
        create_slot = false,
        slot_failover = false,
        create_publication = false,
        tables = None,
        reconnect = None,
        reconnect_max_attempts = None,
        reconnect_initial_delay = None,
        reconnect_max_delay = None,
        decimal_handling_mode = "precise".to_owned(),
        time_precision_mode = "adaptive".to_owned(),
        binary_handling_mode = "bytes".to_owned(),
        interval_handling_mode = "numeric".to_owned(),
        hstore_handling_mode = "json".to_owned(),
        money_fraction_digits = 2,
        unavailable_value_placeholder = "__debezium_unavailable_value".to_owned(),
        provide_transaction_metadata = false,
        skipped_operations = None,
        topic_prefix = "pgoutput".to_owned(),
        tombstones_on_delete = true,
        status_interval = 10.0,
        receive_timeout = None,
        batch_linger = 0.01,
        max_batch_size = 2048,
        max_queue_size = 8192,
        two_phase = false,
        multidimensional_array_mode = "null_subarrays".to_owned(),
        properties = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new<'py>(
        publication_name: String,
        slot_name: String,
        host: String,
        database: String,
        port: i64,
        user: String,
        password: String,
        start_lsn: Option<Bound<'py, PyAny>>,
        auto_acknowledge: bool,
        dsn: Option<String>,
        sslmode: Option<String>,
        sslrootcert: Option<std::path::PathBuf>,
        connect_timeout: Option<f64>,
        create_slot: bool,
        slot_failover: bool,
        create_publication: bool,
        tables: Option<Bound<'py, PyAny>>,
        reconnect: Option<Bound<'py, PyAny>>,
        reconnect_max_attempts: Option<i64>,
        reconnect_initial_delay: Option<f64>,
        reconnect_max_delay: Option<f64>,
        decimal_handling_mode: String,
        time_precision_mode: String,
        binary_handling_mode: String,
        interval_handling_mode: String,
        hstore_handling_mode: String,
        money_fraction_digits: i64,
        unavailable_value_placeholder: String,
        provide_transaction_metadata: bool,
        skipped_operations: Option<Bound<'py, PyAny>>,
        topic_prefix: String,
        tombstones_on_delete: bool,
        status_interval: f64,
        receive_timeout: Option<f64>,
        batch_linger: f64,
        max_batch_size: i64,
        max_queue_size: i64,
        two_phase: bool,
        multidimensional_array_mode: String,
        properties: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Self> {
        let connection = options::connect_params(ConnectionArgs {
            host,
            database,
            port,
            user,
            password,
            dsn,
            sslmode,
            sslrootcert,
            connect_timeout,
        })?;
        let config = options::replication_config(
            connection,
            StreamArgs {
                publication_name,
                slot_name,
                start_lsn,
                create_slot,
                slot_failover,
                create_publication,
                tables,
                reconnect,
                reconnect_max_attempts,
                reconnect_initial_delay,
                reconnect_max_delay,
                decimal_handling_mode,
                time_precision_mode,
                binary_handling_mode,
                interval_handling_mode,
                hstore_handling_mode,
                money_fraction_digits,
                unavailable_value_placeholder,
                provide_transaction_metadata,
                skipped_operations,
                topic_prefix,
                tombstones_on_delete,
                status_interval,
                receive_timeout,
                batch_linger,
                max_batch_size,
                max_queue_size,
                two_phase,
                multidimensional_array_mode,
                properties,
            },
        )?;
        Ok(LogicalReplicationReader {
            shared: Arc::new(Shared {
                config,
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
                    ctx.acks.ack(&previous);
                }
            }
            if self.shared.stopping.load(Ordering::Relaxed) {
                return Ok(None);
            }
            let Some(event) = st.queue.pop_front() else {
                return Ok(None);
            };
            let Some(ctx) = st.ctx.clone() else {
                return Ok(None);
            };
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

    /// Awaitable: connects (checks the server, creates the publication and slot when asked,
    /// starts streaming). Does nothing when already connected.
    fn connect<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        logging::refresh(py);
        let shared = self.shared.clone();
        into_awaitable(py, runtime::none, async move { shared.connect().await })
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
                    ctx.acks.ack(&event);
                }
            }
        }
        Ok(())
    }

    /// Positions as ints: `received` (WAL received from the server), `handed_out` (last
    /// message received from the stream), `acknowledged` (confirmed, or to be confirmed at the
    /// next status update). None before connecting.
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
