//! The tokio runtime, Rust futures as asyncio awaitables, and the one thread that calls into
//! Python on behalf of background work.
//!
//! Why not `pyo3_async_runtimes::tokio::future_into_py`: it completes the asyncio future from
//! a blocking-pool thread with `loop.call_soon_threadsafe(...)`, which releases the GIL inside
//! (the self-pipe write). If the main thread finishes meanwhile and the interpreter starts
//! finalizing, CPython (3.13 and older) ends that thread with `pthread_exit` when it tries to
//! take the GIL back, unwinding through Rust frames that then release Python objects without
//! the GIL: a segmentation fault at exit, typically in scripts that end right after
//! `await reader.stop()`.
//!
//! Instead, everything that background work needs done in Python — completing futures,
//! emitting log records, converting errors — is queued to one dispatcher thread. An `atexit`
//! handler (which runs before finalization starts) waits, without holding the GIL, until the
//! queue is drained and then closes it; later jobs are dropped. Tokio threads never touch
//! Python. The runtime itself is pyo3-async-runtimes' (a lazily built multi-thread runtime).

use std::{
    future::Future,
    sync::{mpsc, Condvar, Mutex, MutexGuard, OnceLock},
    time::{Duration, Instant},
};

use pyo3::{prelude::*, sync::PyOnceLock, types::PyCFunction};
use tokio::task::AbortHandle;

/// Work to do with the GIL.
pub(crate) type Job = Box<dyn for<'py> FnOnce(Python<'py>) + Send>;

/// How long the exit handler waits for queued work (a stuck log handler must not hang exit).
const EXIT_DRAIN_LIMIT: Duration = Duration::from_secs(10);

#[derive(Default)]
struct QueueState {
    closed: bool,
    /// Jobs queued or running.
    pending: usize,
}

struct Dispatcher {
    tx: Mutex<mpsc::Sender<Job>>,
    state: Mutex<QueueState>,
    idle: Condvar,
}

static DISPATCHER: OnceLock<Dispatcher> = OnceLock::new();

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn dispatcher() -> &'static Dispatcher {
    DISPATCHER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        let spawned = std::thread::Builder::new()
            .name("pgoutput-decoder-py".into())
            .spawn(move || {
                for job in rx {
                    // Not attachable only while the interpreter is finalizing; the job (and
                    // the Python references it holds) is then dropped without calling Python.
                    let _ = Python::try_attach(job);
                    let d = dispatcher();
                    let mut state = lock(&d.state);
                    state.pending = state.pending.saturating_sub(1);
                    d.idle.notify_all();
                }
            });
        if spawned.is_err() {
            // No thread: behave as closed, so work is dropped instead of piling up.
            let d = Dispatcher {
                tx: Mutex::new(mpsc::channel().0),
                state: Mutex::new(QueueState::default()),
                idle: Condvar::new(),
            };
            lock(&d.state).closed = true;
            return d;
        }
        Dispatcher {
            tx: Mutex::new(tx),
            state: Mutex::new(QueueState::default()),
            idle: Condvar::new(),
        }
    })
}

/// Runs `job` with the GIL on the dispatcher thread, in submission order. Dropped after exit
/// began.
pub(crate) fn dispatch(job: Job) {
    let d = dispatcher();
    {
        let mut state = lock(&d.state);
        if state.closed {
            return;
        }
        state.pending += 1;
    }
    if lock(&d.tx).send(job).is_err() {
        let mut state = lock(&d.state);
        state.pending = state.pending.saturating_sub(1);
    }
}

/// The `atexit` handler: waits (without the GIL) until queued work is done, then refuses new
/// work, so no thread calls into Python once the interpreter finalizes.
#[pyfunction]
pub(crate) fn _shutdown(py: Python<'_>) {
    py.detach(|| {
        let d = dispatcher();
        let deadline = Instant::now() + EXIT_DRAIN_LIMIT;
        let mut state = lock(&d.state);
        while state.pending > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            state = d
                .idle
                .wait_timeout(state, left)
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        state.closed = true;
    });
}

/// The tokio runtime (multi-thread, built on first use).
pub(crate) fn runtime() -> &'static tokio::runtime::Runtime {
    pyo3_async_runtimes::tokio::get_runtime()
}

/// Converts a successful result into its Python value, with the GIL.
pub(crate) type Convert<T> = for<'py> fn(Python<'py>, T) -> PyResult<Bound<'py, PyAny>>;

/// An error that becomes a Python exception once the GIL is held.
pub(crate) type ErrorMaker = Box<dyn for<'py> FnOnce(Python<'py>) -> PyErr + Send>;

static SET_FUTURE: PyOnceLock<Py<PyCFunction>> = PyOnceLock::new();

/// `loop.call_soon_threadsafe` target: resolves the future unless it is already done
/// (cancelled meanwhile).
#[pyfunction]
fn set_future(future: &Bound<'_, PyAny>, ok: bool, value: &Bound<'_, PyAny>) -> PyResult<()> {
    if future.call_method0("done")?.is_truthy()? {
        return Ok(());
    }
    if ok {
        future.call_method1("set_result", (value,))?;
    } else {
        future.call_method1("set_exception", (value,))?;
    }
    Ok(())
}

/// Done-callback of the asyncio future: a cancelled await cancels the Rust future.
#[pyclass(frozen)]
struct AbortOnCancel {
    handle: AbortHandle,
}

#[pymethods]
impl AbortOnCancel {
    fn __call__(&self, future: &Bound<'_, PyAny>) -> PyResult<()> {
        if future.call_method0("cancelled")?.is_truthy()? {
            self.handle.abort();
        }
        Ok(())
    }
}

/// Runs `future` on the tokio runtime and returns an asyncio future of its result (for the
/// running event loop). Cancelling the asyncio future aborts the Rust future.
pub(crate) fn into_awaitable<'py, T, F>(
    py: Python<'py>,
    convert: Convert<T>,
    future: F,
) -> PyResult<Bound<'py, PyAny>>
where
    T: Send + 'static,
    F: Future<Output = Result<T, ErrorMaker>> + Send + 'static,
{
    let event_loop = py.import("asyncio")?.call_method0("get_running_loop")?;
    let py_future = event_loop.call_method0("create_future")?;
    let loop_ref = event_loop.unbind();
    let future_ref = py_future.clone().unbind();
    let task = runtime().spawn(async move {
        let result = future.await;
        dispatch(Box::new(move |py| {
            let future = future_ref.bind(py);
            if future
                .call_method0("done")
                .and_then(|d| d.is_truthy())
                .unwrap_or(true)
            {
                return;
            }
            let (ok, value) = match result {
                Ok(v) => match convert(py, v) {
                    Ok(value) => (true, value),
                    Err(e) => (false, e.into_value(py).into_bound(py).into_any()),
                },
                Err(make) => (false, make(py).into_value(py).into_bound(py).into_any()),
            };
            let setter = match SET_FUTURE
                .get_or_try_init(py, || wrap_pyfunction!(set_future, py).map(Bound::unbind))
            {
                Ok(s) => s.bind(py),
                Err(e) => return e.write_unraisable(py, None),
            };
            // Fails only when the loop was closed meanwhile: nobody is waiting any more.
            let _ = loop_ref
                .bind(py)
                .call_method1("call_soon_threadsafe", (setter, future, ok, value));
        }));
    });
    py_future.call_method1(
        "add_done_callback",
        (AbortOnCancel {
            handle: task.abort_handle(),
        },),
    )?;
    Ok(py_future)
}

/// Converts `()` to None.
pub(crate) fn none<'py>(py: Python<'py>, _: ()) -> PyResult<Bound<'py, PyAny>> {
    Ok(py.None().into_bound(py))
}

/// Converts a bool.
pub(crate) fn boolean<'py>(py: Python<'py>, b: bool) -> PyResult<Bound<'py, PyAny>> {
    Ok(pyo3::types::PyBool::new(py, b).to_owned().into_any())
}

/// Converts an event count.
pub(crate) fn integer<'py>(py: Python<'py>, n: u64) -> PyResult<Bound<'py, PyAny>> {
    Ok(pyo3::types::PyInt::new(py, n).into_any())
}
