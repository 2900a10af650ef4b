//! The exception hierarchy, and the one place where Rust errors become Python exceptions.
//!
//! ```text
//! Exception
//! └── ReplicationError                    kind, sqlstate, retryable attributes
//!     ├── ConnectionError                 also a builtins.ConnectionError (an OSError)
//!     ├── AuthenticationError
//!     ├── SlotNotFoundError
//!     ├── PublicationNotFoundError
//!     ├── ConfigurationError
//!     └── DecodingError
//! ```
//!
//! The classes are created at module initialisation with `type(...)` (so that
//! `ConnectionError` can have two bases, which `create_exception!` cannot express) and kept
//! in process-wide cells.

use pgoutput_decoder::{Error, ErrorKind};
use pyo3::{
    exceptions::{PyRuntimeError, PyValueError},
    prelude::*,
    sync::PyOnceLock,
    types::{PyDict, PyTuple, PyType},
};

static REPLICATION_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static CONNECTION_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static AUTHENTICATION_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static SLOT_NOT_FOUND_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static PUBLICATION_NOT_FOUND_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static CONFIGURATION_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static DECODING_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static CLUSTER_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// The module the exception classes say they belong to (where users import them from).
const PUBLIC_MODULE: &str = "pgoutput_decoder";

fn new_class<'py>(
    py: Python<'py>,
    name: &str,
    module: &str,
    bases: &[Bound<'py, PyAny>],
    doc: &str,
) -> PyResult<Bound<'py, PyType>> {
    let namespace = PyDict::new(py);
    namespace.set_item("__module__", module)?;
    namespace.set_item("__doc__", doc)?;
    let bases = PyTuple::new(py, bases)?;
    let builtins = py.import("builtins")?;
    let class = builtins.getattr("type")?.call1((name, bases, namespace))?;
    Ok(class.cast_into::<PyType>()?)
}

fn store<'py>(
    module: &Bound<'py, PyModule>,
    cell: &PyOnceLock<Py<PyType>>,
    class: Bound<'py, PyType>,
) -> PyResult<Bound<'py, PyType>> {
    let py = module.py();
    let name: String = class.getattr("__name__")?.extract()?;
    // A second initialisation (a sub-interpreter, a reload) keeps the first classes, so
    // `except` clauses written against either keep matching.
    let class = cell.get_or_init(py, || class.unbind()).bind(py).clone();
    module.add(name.as_str(), &class)?;
    Ok(class)
}

/// Creates the exception classes and adds them to the module.
pub(crate) fn register<'py>(module: &Bound<'py, PyModule>) -> PyResult<()> {
    let py = module.py();
    let builtins = py.import("builtins")?;
    let exception = builtins.getattr("Exception")?;
    let base = new_class(
        py,
        "ReplicationError",
        PUBLIC_MODULE,
        &[exception],
        "Base class of the errors raised by pgoutput_decoder.\n\n\
         Attributes: ``kind`` (what went wrong, e.g. ``\"authentication\"``), ``sqlstate`` \
         (the server's SQLSTATE when the server reported the error, else None) and \
         ``retryable`` (whether reconnecting can help).",
    )?;
    base.setattr("kind", "replication")?;
    base.setattr("sqlstate", py.None())?;
    base.setattr("retryable", false)?;
    let base = store(module, &REPLICATION_ERROR, base)?;
    let sub = |name: &str, extra: Option<Bound<'py, PyAny>>, doc: &str| {
        let mut bases = vec![base.clone().into_any()];
        bases.extend(extra);
        new_class(py, name, PUBLIC_MODULE, &bases, doc)
    };
    let c = sub(
        "ConnectionError",
        Some(builtins.getattr("ConnectionError")?),
        "The server could not be reached, TLS failed, the connection was lost (and reconnecting \
         gave up), or the slot is held by another connection. Also a builtins.ConnectionError.",
    )?;
    store(module, &CONNECTION_ERROR, c)?;
    let c = sub(
        "AuthenticationError",
        None,
        "The server rejected the credentials, or the role lacks a privilege it needs \
         (LOGIN, REPLICATION, or the right to create the publication).",
    )?;
    store(module, &AUTHENTICATION_ERROR, c)?;
    let c = sub(
        "SlotNotFoundError",
        None,
        "The replication slot does not exist and create_slot=False.",
    )?;
    store(module, &SLOT_NOT_FOUND_ERROR, c)?;
    let c = sub(
        "PublicationNotFoundError",
        None,
        "The publication does not exist and create_publication=False.",
    )?;
    store(module, &PUBLICATION_NOT_FOUND_ERROR, c)?;
    let c = sub(
        "ConfigurationError",
        None,
        "The server is not set up for logical replication (e.g. wal_level is not logical), \
         or a setting was rejected when connecting.",
    )?;
    store(module, &CONFIGURATION_ERROR, c)?;
    let c = sub(
        "DecodingError",
        None,
        "A replication message or a column value could not be decoded, or the server broke \
         the protocol.",
    )?;
    store(module, &DECODING_ERROR, c)?;
    let c = new_class(
        py,
        "ClusterError",
        "pgoutput_decoder.testing",
        &[builtins.getattr("RuntimeError")?],
        "A throwaway PostgreSQL cluster could not be started, stopped or queried.",
    )?;
    store(module, &CLUSTER_ERROR, c)?;
    Ok(())
}

fn class<'py>(py: Python<'py>, cell: &PyOnceLock<Py<PyType>>) -> Bound<'py, PyType> {
    match cell.get(py) {
        Some(c) => c.bind(py).clone(),
        // Only before module initialisation, which cannot happen for code reachable from
        // Python; fall back to the base class (or Exception) rather than panic.
        None => match REPLICATION_ERROR.get(py) {
            Some(c) => c.bind(py).clone(),
            None => py.get_type::<pyo3::exceptions::PyException>(),
        },
    }
}

/// The Python exception for a library error. This is the only place where [`ErrorKind`]s
/// are mapped to exception classes.
pub(crate) fn to_py_err(py: Python<'_>, error: &Error) -> PyErr {
    let (cell, kind) = match error.kind() {
        ErrorKind::Config => (&CONFIGURATION_ERROR, "config"),
        ErrorKind::ServerConfiguration => (&CONFIGURATION_ERROR, "server_configuration"),
        ErrorKind::Connection => (&CONNECTION_ERROR, "connection"),
        ErrorKind::Tls => (&CONNECTION_ERROR, "tls"),
        // Busy slots are retried by the core for a while; what is left is a connection-level
        // problem the caller may retry too.
        ErrorKind::SlotInUse => (&CONNECTION_ERROR, "slot_in_use"),
        ErrorKind::Authentication => (&AUTHENTICATION_ERROR, "authentication"),
        ErrorKind::Permission => (&AUTHENTICATION_ERROR, "permission"),
        ErrorKind::SlotNotFound => (&SLOT_NOT_FOUND_ERROR, "slot_not_found"),
        ErrorKind::PublicationNotFound => (&PUBLICATION_NOT_FOUND_ERROR, "publication_not_found"),
        ErrorKind::Decoding => (&DECODING_ERROR, "decoding"),
        ErrorKind::Protocol => (&DECODING_ERROR, "protocol"),
        ErrorKind::Server => (&REPLICATION_ERROR, "server"),
        ErrorKind::Closed => (&REPLICATION_ERROR, "closed"),
        ErrorKind::Io => (&REPLICATION_ERROR, "io"),
        ErrorKind::Sink => (&REPLICATION_ERROR, "sink"),
        _ => (&REPLICATION_ERROR, "other"),
    };
    let message = error.to_string();
    let build = || -> PyResult<PyErr> {
        let instance = class(py, cell).call1((message.as_str(),))?;
        instance.setattr("kind", kind)?;
        instance.setattr("sqlstate", error.code())?;
        instance.setattr("retryable", error.is_retryable())?;
        Ok(PyErr::from_value(instance))
    };
    build().unwrap_or_else(|e| e)
}

/// `ValueError` for a setting rejected before connecting.
pub(crate) fn value_error(error: &Error) -> PyErr {
    PyValueError::new_err(error.to_string())
}

/// The plain base class with a message (state errors of the reader itself).
pub(crate) fn replication_error(py: Python<'_>, message: &str) -> PyErr {
    match class(py, &REPLICATION_ERROR).call1((message,)) {
        Ok(instance) => PyErr::from_value(instance),
        Err(e) => e,
    }
}

/// `pgoutput_decoder.testing.ClusterError` for a throwaway broker that did not start or stop.
pub(crate) fn broker_error(py: Python<'_>, message: &str) -> PyErr {
    match CLUSTER_ERROR.get(py) {
        Some(c) => match c.bind(py).call1((message,)) {
            Ok(instance) => PyErr::from_value(instance),
            Err(e) => e,
        },
        None => PyRuntimeError::new_err(message.to_owned()),
    }
}

/// `pgoutput_decoder.testing.ClusterError`.
pub(crate) fn cluster_error(py: Python<'_>, error: &throwaway_postgres::ClusterError) -> PyErr {
    match CLUSTER_ERROR.get(py) {
        Some(c) => match c.bind(py).call1((error.to_string(),)) {
            Ok(instance) => PyErr::from_value(instance),
            Err(e) => e,
        },
        None => PyRuntimeError::new_err(error.to_string()),
    }
}
