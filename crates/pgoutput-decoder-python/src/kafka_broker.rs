//! `pgoutput_decoder.testing.KafkaBroker`: a throwaway Kafka-protocol broker (tansu) for tests
//! and examples (the `throwaway-kafka` crate).

use std::sync::Mutex;

use pyo3::{exceptions::PyRuntimeError, prelude::*};
use throwaway_kafka::Broker;

use crate::errors::broker_error;

/// A disposable Kafka-protocol broker (tansu), started when created: its storage in a
/// temporary directory, a free port on 127.0.0.1. `stop()` kills it (its storage stays),
/// `restart()` starts it again on the same port and storage; `close()` (or leaving the
/// `with` block, or garbage collection) kills it and deletes the directory. It does not
/// create topics on its own. Needs the `tansu` binary (`TANSU_BIN`, the cache that the
/// project's `make setup` fills, or `PATH`).
#[pyclass(frozen, module = "pgoutput_decoder.testing", name = "KafkaBroker")]
pub struct KafkaBroker {
    broker: Mutex<Option<Broker>>,
}

impl KafkaBroker {
    fn with<T>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut Broker) -> std::io::Result<T>,
    ) -> PyResult<T> {
        let mut guard = self.broker.lock().unwrap_or_else(|e| e.into_inner());
        let Some(broker) = guard.as_mut() else {
            return Err(PyRuntimeError::new_err("the broker was closed"));
        };
        f(broker).map_err(|e| broker_error(py, &e.to_string()))
    }
}

#[pymethods]
impl KafkaBroker {
    #[new]
    fn new(py: Python<'_>) -> PyResult<Self> {
        let broker = py
            .detach(Broker::start)
            .map_err(|e| broker_error(py, &e.to_string()))?;
        Ok(KafkaBroker {
            broker: Mutex::new(Some(broker)),
        })
    }

    /// `127.0.0.1:PORT`, for `bootstrap_servers`.
    #[getter]
    fn bootstrap_servers(&self, py: Python<'_>) -> PyResult<String> {
        self.with(py, |b| Ok(b.bootstrap_servers()))
    }

    /// The port (the same across restarts).
    #[getter]
    fn port(&self, py: Python<'_>) -> PyResult<u16> {
        self.with(py, |b| Ok(b.port()))
    }

    /// Whether the broker process is running.
    #[getter]
    fn is_running(&self) -> bool {
        let mut guard = self.broker.lock().unwrap_or_else(|e| e.into_inner());
        guard.as_mut().is_some_and(Broker::is_running)
    }

    /// Kills the broker (like a crash); its storage stays for `restart()`.
    fn stop(&self, py: Python<'_>) -> PyResult<()> {
        self.with(py, Broker::stop)
    }

    /// Starts the broker again on the same port and storage.
    fn restart(&self, py: Python<'_>) -> PyResult<()> {
        self.with(py, |b| py.detach(|| b.restart()))
    }

    /// Kills the broker and deletes its directory. Calling it again does nothing.
    fn close(&self, py: Python<'_>) {
        let taken = self.broker.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(broker) = taken {
            py.detach(move || drop(broker));
        }
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.close(py);
        false
    }

    fn __repr__(&self) -> String {
        match self
            .broker
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            Some(b) => format!("<KafkaBroker bootstrap_servers={}>", b.bootstrap_servers()),
            None => "<KafkaBroker closed>".to_owned(),
        }
    }
}
