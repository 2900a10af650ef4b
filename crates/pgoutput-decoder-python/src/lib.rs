//! Python binding of pgoutput-decoder: the `pgoutput_decoder._native` extension module.
//!
//! A thin layer over the Rust crate: decoding, value conversion and Debezium JSON stay in
//! Rust, and every wait happens in a Rust future on a tokio runtime, so the asyncio event loop
//! never blocks on I/O. The Python package (`python/pgoutput_decoder`) adds the iteration
//! protocol and a few pure-Python helpers; `_native.pyi` documents the API.
//!
//! - [`reader`]: `LogicalReplicationReader` (connect, batches, acknowledgements, stop).
//! - [`message`]: `ReplicationMessage` and `message_to_debezium_json`.
//! - [`convert`]: column values → Python objects.
//! - [`options`]: keyword arguments → a validated `ReplicationConfig`.
//! - [`errors`]: the exception hierarchy and the one mapping from Rust errors.
//! - [`logging`]: `tracing` → Python `logging`.
//! - [`runtime`]: the tokio runtime, futures as awaitables, and the thread that calls Python
//!   for background work.
//! - [`testing`]: throwaway PostgreSQL clusters (`pgoutput_decoder.testing`);
//!   [`kafka_broker`]: throwaway Kafka-protocol brokers there too.

mod convert;
mod errors;
mod kafka_broker;
mod logging;
mod message;
mod options;
mod reader;
mod records;
mod runtime;
mod testing;

use pyo3::prelude::*;

/// Native part of pgoutput_decoder. Import from `pgoutput_decoder` instead.
#[pymodule]
mod _native {
    use pyo3::prelude::*;

    #[pymodule_export]
    use crate::kafka_broker::KafkaBroker;
    #[pymodule_export]
    use crate::message::{message_to_debezium_json, ReplicationMessage};
    #[pymodule_export]
    use crate::reader::LogicalReplicationReader;
    #[pymodule_export]
    use crate::records::debezium_records;
    #[pymodule_export]
    use crate::runtime::_shutdown;
    #[pymodule_export]
    use crate::testing::PostgresCluster;

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        super::init_module(m)
    }
}

fn init_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all().thread_name("pgoutput-decoder");
    pyo3_async_runtimes::tokio::init(builder);
    errors::register(m)?;
    logging::install(m.py())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("SOURCE_VERSION", pgoutput_decoder::SOURCE_VERSION)?;
    m.add("LOGGER_NAME", logging::LOGGER_NAME)?;
    // Drain the work queued for Python before the interpreter finalizes (see runtime.rs).
    m.py()
        .import("atexit")?
        .call_method1("register", (m.getattr("_shutdown")?,))?;
    Ok(())
}
