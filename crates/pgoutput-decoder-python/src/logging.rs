//! The core's `tracing` events → Python's `logging` (logger `pgoutput_decoder`).
//!
//! A [`tracing_subscriber::Layer`] installed once, as the global default subscriber, when the
//! module is imported. INFO, WARN and ERROR events are always handed to the Python logger
//! (which applies its own level and handlers); DEBUG events only while the logger is enabled
//! for DEBUG. That check is cached in an atomic and refreshed whenever Python calls into the
//! reader (connect, each batch), so a disabled DEBUG event costs one atomic load. TRACE events
//! are never forwarded.
//!
//! Records are handed to the dispatcher thread (runtime.rs), which attaches to the
//! interpreter and calls the logger — in order with the completion of the futures Python
//! awaits, so a record logged while connecting is seen before `connect()` returns. The thread
//! that produced the event never waits for the GIL: no deadlock when it already holds it,
//! no tokio worker stalled by Python, and nothing calls Python once the interpreter exits
//! (records still queued at exit are flushed by the `atexit` handler).

use std::{
    fmt::Write as _,
    sync::atomic::{AtomicBool, Ordering},
};

use pyo3::{prelude::*, sync::PyOnceLock, types::PyDict};

use crate::runtime::dispatch;
use tracing::{
    field::{Field, Visit},
    level_filters::LevelFilter,
    subscriber::Interest,
    Event, Level, Metadata, Subscriber,
};
use tracing_subscriber::{
    layer::{Context, Layer},
    prelude::*,
    registry::Registry,
};

/// The Python logger's name.
pub(crate) const LOGGER_NAME: &str = "pgoutput_decoder";

static LOGGER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static DEBUG_ENABLED: AtomicBool = AtomicBool::new(false);

const PY_DEBUG: u8 = 10;
const PY_INFO: u8 = 20;
const PY_WARNING: u8 = 30;
const PY_ERROR: u8 = 40;

/// Creates the logger and installs the subscriber (once per process; if the process already
/// has a global subscriber, e.g. when embedded in a Rust program, that one is kept).
pub(crate) fn install(py: Python<'_>) -> PyResult<()> {
    let logger = py
        .import("logging")?
        .call_method1("getLogger", (LOGGER_NAME,))?;
    LOGGER.get_or_init(py, || logger.unbind());
    refresh(py);
    let _ = tracing::subscriber::set_global_default(Registry::default().with(PyLogLayer));
    Ok(())
}

/// Re-reads whether the Python logger wants DEBUG records.
pub(crate) fn refresh(py: Python<'_>) {
    if let Some(logger) = LOGGER.get(py) {
        let enabled = logger
            .bind(py)
            .call_method1("isEnabledFor", (PY_DEBUG,))
            .and_then(|r| r.is_truthy())
            .unwrap_or(false);
        DEBUG_ENABLED.store(enabled, Ordering::Relaxed);
    }
}

struct PyLogLayer;

impl<S: Subscriber> Layer<S> for PyLogLayer {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        match *metadata.level() {
            Level::TRACE => Interest::never(),
            // Decided per event: the Python logger's level may change.
            Level::DEBUG => Interest::sometimes(),
            _ => Interest::always(),
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        match *metadata.level() {
            Level::TRACE => false,
            Level::DEBUG => DEBUG_ENABLED.load(Ordering::Relaxed),
            _ => true,
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::DEBUG)
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let metadata = event.metadata();
        let level = match *metadata.level() {
            Level::ERROR => PY_ERROR,
            Level::WARN => PY_WARNING,
            Level::INFO => PY_INFO,
            Level::DEBUG => PY_DEBUG,
            Level::TRACE => return,
        };
        let mut text = FieldText::default();
        event.record(&mut text);
        let message = text.finish();
        let target = metadata.target();
        // Emitted by the dispatcher thread, in order with the completion of futures; never
        // from the thread that produced the event (see runtime.rs).
        dispatch(Box::new(move |py| emit(py, level, &message, target)));
    }
}

fn emit(py: Python<'_>, level: u8, message: &str, target: &str) {
    let Some(logger) = LOGGER.get(py) else {
        return;
    };
    let result = (|| -> PyResult<()> {
        let extra = PyDict::new(py);
        extra.set_item("rust_target", target)?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("extra", extra)?;
        // The message is passed as the format argument, so '%' in it is never interpreted.
        logger
            .bind(py)
            .call_method("log", (level, "%s", message), Some(&kwargs))?;
        Ok(())
    })();
    if let Err(e) = result {
        // A failing handler must not take the replication task down.
        e.write_unraisable(py, None);
    }
}

/// `message key=value key=value`, like the CLI's log lines.
#[derive(Default)]
struct FieldText {
    message: String,
    fields: String,
}

impl FieldText {
    fn finish(self) -> String {
        if self.fields.is_empty() {
            self.message
        } else if self.message.is_empty() {
            self.fields.trim_start().to_owned()
        } else {
            self.message + &self.fields
        }
    }
}

impl Visit for FieldText {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={}", field.name(), value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={:?}", field.name(), value);
        }
    }
}
