//! `pgoutput_decoder.testing.PostgresCluster`: throwaway PostgreSQL clusters for tests and
//! examples (the `throwaway-postgres` crate).

use std::sync::{Arc, RwLock};

use pyo3::{exceptions::PyValueError, prelude::*, types::PyDict};
use throwaway_postgres::{Cluster, ClusterBuilder, StopMode};

use crate::errors::{cluster_error, replication_error};

fn stop_mode(mode: &str) -> PyResult<StopMode> {
    match mode {
        "smart" => Ok(StopMode::Smart),
        "fast" => Ok(StopMode::Fast),
        "immediate" => Ok(StopMode::Immediate),
        other => Err(PyValueError::new_err(format!(
            "invalid stop mode {other:?}; allowed values are: smart, fast, immediate"
        ))),
    }
}

/// A disposable PostgreSQL cluster, started when created: `initdb` in a temporary directory,
/// `wal_level=logical`, a free port on 127.0.0.1, an unprivileged server user when running
/// as root. `close()` (or leaving the `with` block, or garbage collection) stops the server
/// and deletes the directory. A testing helper: no Docker needed, only the PostgreSQL server
/// binaries (`PG_BIN`, `/usr/lib/postgresql/<major>/bin` or `pg_config --bindir`).
#[pyclass(frozen, module = "pgoutput_decoder.testing", name = "PostgresCluster")]
pub struct PostgresCluster {
    cluster: RwLock<Option<Arc<Cluster>>>,
}

impl PostgresCluster {
    fn get(&self, py: Python<'_>) -> PyResult<Arc<Cluster>> {
        self.cluster
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| replication_error(py, "the cluster was closed"))
    }

    fn run<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&Cluster) -> Result<T, throwaway_postgres::ClusterError> + Send,
    ) -> PyResult<T> {
        let cluster = self.get(py)?;
        py.detach(move || f(&cluster))
            .map_err(|e| cluster_error(py, &e))
    }
}

#[pymethods]
impl PostgresCluster {
    #[new]
    #[pyo3(signature = (settings = None, password = None, bin_dir = None))]
    fn new(
        py: Python<'_>,
        settings: Option<Bound<'_, PyDict>>,
        password: Option<String>,
        bin_dir: Option<std::path::PathBuf>,
    ) -> PyResult<Self> {
        let mut builder = ClusterBuilder::new();
        if let Some(settings) = settings {
            for (k, v) in settings.iter() {
                let key: String = k.extract()?;
                let value: String = match v.extract::<bool>() {
                    Ok(b) => (if b { "on" } else { "off" }).to_owned(),
                    Err(_) => v.str()?.to_string(),
                };
                builder = builder.setting(key, value);
            }
        }
        if let Some(password) = password {
            builder = builder.superuser_password(password);
        }
        if let Some(dir) = bin_dir {
            builder = builder.bin_dir(dir);
        }
        let cluster = py
            .detach(move || builder.start())
            .map_err(|e| cluster_error(py, &e))?;
        Ok(PostgresCluster {
            cluster: RwLock::new(Some(Arc::new(cluster))),
        })
    }

    /// Always "127.0.0.1".
    #[getter]
    fn host(&self, py: Python<'_>) -> PyResult<String> {
        Ok(self.get(py)?.host().to_owned())
    }

    /// The TCP port (the same across restarts).
    #[getter]
    fn port(&self, py: Python<'_>) -> PyResult<u16> {
        Ok(self.get(py)?.port())
    }

    /// The superuser: always "postgres".
    #[getter]
    fn user(&self, py: Python<'_>) -> PyResult<String> {
        Ok(self.get(py)?.superuser().to_owned())
    }

    /// The superuser's password, or None (then TCP connections use trust authentication).
    #[getter]
    fn password(&self, py: Python<'_>) -> PyResult<Option<String>> {
        Ok(self.get(py)?.password().map(str::to_owned))
    }

    /// The server version, e.g. "16.4".
    #[getter]
    fn version(&self, py: Python<'_>) -> PyResult<String> {
        Ok(self.get(py)?.version().1)
    }

    /// The server's major version, e.g. 16.
    #[getter]
    fn major_version(&self, py: Python<'_>) -> PyResult<u32> {
        Ok(self.get(py)?.major_version())
    }

    /// The data directory.
    #[getter]
    fn data_dir(&self, py: Python<'_>) -> PyResult<std::path::PathBuf> {
        Ok(self.get(py)?.data_dir().to_path_buf())
    }

    /// The server log file.
    #[getter]
    fn log_file(&self, py: Python<'_>) -> PyResult<std::path::PathBuf> {
        Ok(self.get(py)?.log_file().to_path_buf())
    }

    /// Whether the server is running.
    #[getter]
    fn is_running(&self) -> bool {
        match self
            .cluster
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            Some(c) => c.is_running(),
            None => false,
        }
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.cluster
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .is_none()
    }

    /// A libpq key=value connection string for the superuser (with the password, if set).
    #[pyo3(signature = (dbname = "postgres".to_owned()))]
    fn dsn(&self, py: Python<'_>, dbname: String) -> PyResult<String> {
        Ok(self.get(py)?.dsn(&dbname))
    }

    /// Runs SQL with psql as the superuser and returns its trimmed output (one row per line,
    /// columns separated by "|"). Raises ClusterError on the first SQL error.
    fn psql(&self, py: Python<'_>, dbname: String, sql: String) -> PyResult<String> {
        self.run(py, move |c| c.psql(&dbname, &sql))
    }

    /// Creates a database.
    fn create_database(&self, py: Python<'_>, name: String) -> PyResult<()> {
        self.run(py, move |c| c.create_database(&name))
    }

    /// Restarts the server on the same port ("smart", "fast" or "immediate" — a simulated
    /// crash).
    #[pyo3(signature = (mode = "fast".to_owned()))]
    fn restart(&self, py: Python<'_>, mode: String) -> PyResult<()> {
        let mode = stop_mode(&mode)?;
        self.run(py, move |c| c.restart(mode))
    }

    /// Stops the server (it can be started again with `start()`).
    #[pyo3(signature = (mode = "fast".to_owned()))]
    fn stop(&self, py: Python<'_>, mode: String) -> PyResult<()> {
        let mode = stop_mode(&mode)?;
        self.run(py, move |c| c.stop(mode))
    }

    /// Starts the stopped server again on the same port.
    fn start(&self, py: Python<'_>) -> PyResult<()> {
        self.run(py, |c| c.start())
    }

    /// Stops the server and deletes its directory. Calling it again does nothing.
    fn close(&self, py: Python<'_>) {
        let taken = self
            .cluster
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(cluster) = taken {
            // Dropping stops the server (blocking): without the GIL.
            py.detach(move || drop(cluster));
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
            .cluster
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            Some(c) => format!(
                "<PostgresCluster host={} port={} version={}>",
                c.host(),
                c.port(),
                c.version().1
            ),
            None => "<PostgresCluster closed>".to_owned(),
        }
    }
}
