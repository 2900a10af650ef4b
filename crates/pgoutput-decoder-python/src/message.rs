//! `ReplicationMessage`: one event, with a lazily built Python view and its Debezium JSON.

use std::sync::Arc;

use pgoutput_decoder::{
    event::{TransactionBlock, TransactionStatus},
    pipeline::{Delivery, DurableReporter},
    relation::TableSchema,
    AckHandle, ChangeEvent, Event, EventKind, JsonEncoder, Op, Source, SOURCE_VERSION,
};
use pyo3::{
    intern,
    prelude::*,
    sync::PyOnceLock,
    types::{PyBytes, PyDict, PyList, PyString},
};

use crate::{convert::Converter, errors::to_py_err};

/// What every message of one stream shares.
pub(crate) struct StreamContext {
    pub encoder: JsonEncoder,
    pub converter: Converter,
    pub prefix: String,
    pub db: String,
    pub acks: AckHandle,
    /// The Python consumer as a sink of the stream: its acknowledgements are what it made
    /// durable.
    pub consumer: DurableReporter,
    /// Registers each received batch for the consumer's delivery tracking.
    pub delivery: Delivery,
    /// `source` fields that are the same for every event, in Debezium's order.
    pub source_template: PyOnceLock<Py<PyDict>>,
}

/// One change event (insert, update, delete, truncate), logical decoding message, or (with
/// `provide_transaction_metadata=True`) transaction boundary.
///
/// Immutable. `before`, `after`, `source` and `key` are built on first access and then the
/// same dict is returned each time (copy it before modifying it).
#[pyclass(frozen, module = "pgoutput_decoder", name = "ReplicationMessage")]
pub struct ReplicationMessage {
    pub(crate) event: Arc<Event>,
    ctx: Arc<StreamContext>,
    before: PyOnceLock<Py<PyAny>>,
    after: PyOnceLock<Py<PyAny>>,
    source: PyOnceLock<Py<PyAny>>,
    key: PyOnceLock<Py<PyAny>>,
}

impl ReplicationMessage {
    pub(crate) fn new(event: Arc<Event>, ctx: Arc<StreamContext>) -> Self {
        ReplicationMessage {
            event,
            ctx,
            before: PyOnceLock::new(),
            after: PyOnceLock::new(),
            source: PyOnceLock::new(),
            key: PyOnceLock::new(),
        }
    }

    fn change(&self) -> Option<&ChangeEvent> {
        self.event.as_change()
    }

    /// Processing time of the event in microseconds (commit time for transaction events).
    fn ts_us_value(&self) -> i64 {
        match &self.event.kind {
            EventKind::Change(c) => c.ts_us,
            EventKind::Message(m) => m.ts_us,
            EventKind::Transaction(t) => t.commit_time_us,
            EventKind::Heartbeat(h) => h.ts_us,
        }
    }

    fn row<'py>(
        &self,
        py: Python<'py>,
        cell: &PyOnceLock<Py<PyAny>>,
        pick: impl Fn(&ChangeEvent) -> Option<&pgoutput_decoder::Row>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let value = cell.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
            Ok(match self.change() {
                Some(c) => match pick(c) {
                    Some(row) => self
                        .ctx
                        .converter
                        .row(py, &c.table, row)?
                        .into_any()
                        .unbind(),
                    None => py.None(),
                },
                None => py.None(),
            })
        })?;
        Ok(value.bind(py).clone())
    }

    /// The Debezium value as compact JSON.
    pub(crate) fn json_bytes(&self, py: Python<'_>) -> PyResult<Vec<u8>> {
        let mut out = Vec::with_capacity(512);
        self.ctx
            .encoder
            .write_value(&self.event, &mut out)
            .map_err(|e| to_py_err(py, &e))?;
        Ok(out)
    }
}

fn source_dict<'py>(
    py: Python<'py>,
    ctx: &StreamContext,
    table: Option<&Arc<TableSchema>>,
    s: &Source,
) -> PyResult<Bound<'py, PyDict>> {
    // Same fields, order and values as the Debezium JSON. The fields that are the same for
    // every event of the stream come from a template dict; copying it keeps the key order.
    let template = ctx
        .source_template
        .get_or_try_init(py, || -> PyResult<Py<PyDict>> {
            let d = PyDict::new(py);
            let none = py.None();
            d.set_item(intern!(py, "version"), SOURCE_VERSION)?;
            d.set_item(intern!(py, "connector"), intern!(py, "postgresql"))?;
            d.set_item(intern!(py, "name"), &ctx.prefix)?;
            for key in ["ts_ms", "snapshot"] {
                d.set_item(key, &none)?;
            }
            d.set_item(intern!(py, "db"), &ctx.db)?;
            for key in [
                "sequence",
                "ts_us",
                "ts_ns",
                "schema",
                "table",
                "txId",
                "lsn",
                "xmin",
                "origin",
                "origin_lsn",
            ] {
                d.set_item(key, &none)?;
            }
            Ok(d.unbind())
        })?;
    let d = template.bind(py).copy()?;
    let ts_us = s.commit_time_us;
    d.set_item(intern!(py, "ts_ms"), ts_us.div_euclid(1000))?;
    d.set_item(intern!(py, "snapshot"), s.snapshot)?;
    let last = match s.last_commit_lsn {
        Some(l) => format!("\"{}\"", l.0),
        None => "null".to_owned(),
    };
    d.set_item(intern!(py, "sequence"), format!("[{last},\"{}\"]", s.lsn.0))?;
    d.set_item(intern!(py, "ts_us"), ts_us)?;
    d.set_item(intern!(py, "ts_ns"), ts_us.saturating_mul(1000))?;
    match table {
        Some(t) => {
            let names = ctx.converter.names(py, t);
            d.set_item(intern!(py, "schema"), names.schema.bind(py))?;
            d.set_item(intern!(py, "table"), names.name.bind(py))?;
        }
        None => {
            d.set_item(intern!(py, "schema"), intern!(py, ""))?;
            d.set_item(intern!(py, "table"), intern!(py, ""))?;
        }
    }
    d.set_item(intern!(py, "txId"), s.tx_id)?;
    d.set_item(intern!(py, "lsn"), s.lsn.0)?;
    Ok(d)
}

fn block_dict<'py>(
    py: Python<'py>,
    block: Option<&TransactionBlock>,
) -> PyResult<Bound<'py, PyAny>> {
    let Some(t) = block else {
        return Ok(py.None().into_bound(py));
    };
    let d = PyDict::new(py);
    d.set_item("id", &t.id)?;
    d.set_item("total_order", t.total_order)?;
    d.set_item("data_collection_order", t.data_collection_order)?;
    Ok(d.into_any())
}

#[pymethods]
impl ReplicationMessage {
    /// Debezium's operation code: "c", "u", "d", "r", "t" or "m"; None for transaction
    /// boundary events (see `kind`).
    #[getter]
    fn op<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyString>> {
        let op = self.event.op()?;
        Some(
            match op {
                Op::Create => intern!(py, "c"),
                Op::Update => intern!(py, "u"),
                Op::Delete => intern!(py, "d"),
                Op::Read => intern!(py, "r"),
                Op::Truncate => intern!(py, "t"),
                Op::Message => intern!(py, "m"),
            }
            .clone(),
        )
    }

    /// "change", "message" or "transaction".
    #[getter]
    fn kind<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        match &self.event.kind {
            EventKind::Change(_) => intern!(py, "change"),
            EventKind::Message(_) => intern!(py, "message"),
            // Never handed to Python (the reader skips heartbeats).
            EventKind::Transaction(_) | EventKind::Heartbeat(_) => intern!(py, "transaction"),
        }
        .clone()
    }

    /// The row before the change, or None.
    #[getter]
    fn before<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.row(py, &self.before, |c| c.before.as_ref())
    }

    /// The row after the change, or None.
    #[getter]
    fn after<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.row(py, &self.after, |c| c.after.as_ref())
    }

    /// Debezium's `source` block (None for transaction boundary events).
    #[getter]
    fn source<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let value = self.source.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
            Ok(match &self.event.kind {
                EventKind::Change(c) => source_dict(py, &self.ctx, Some(&c.table), &c.source)?
                    .into_any()
                    .unbind(),
                EventKind::Message(m) => source_dict(py, &self.ctx, None, &m.source)?
                    .into_any()
                    .unbind(),
                EventKind::Transaction(_) | EventKind::Heartbeat(_) => py.None(),
            })
        })?;
        Ok(value.bind(py).clone())
    }

    /// The record key: the primary-key columns (None for tables without a key and for
    /// truncates); `{"prefix": ...}` for logical decoding messages; `{"id": ...}` for
    /// transaction boundary events.
    #[getter]
    fn key<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let value = self.key.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
            Ok(match &self.event.kind {
                EventKind::Change(c) => match (c.op, c.key_row()) {
                    (Op::Truncate, _) | (_, None) => py.None(),
                    _ if c.table.key_columns.is_empty() => py.None(),
                    (_, Some(row)) => self
                        .ctx
                        .converter
                        .key(py, &c.table, row)?
                        .into_any()
                        .unbind(),
                },
                EventKind::Message(m) => {
                    let d = PyDict::new(py);
                    d.set_item("prefix", &m.prefix)?;
                    d.into_any().unbind()
                }
                EventKind::Transaction(t) => {
                    let d = PyDict::new(py);
                    d.set_item("id", &t.id)?;
                    d.into_any().unbind()
                }
                EventKind::Heartbeat(_) => py.None(),
            })
        })?;
        Ok(value.bind(py).clone())
    }

    /// Processing time in milliseconds since the Unix epoch (Debezium `ts_ms`).
    #[getter]
    fn ts_ms(&self) -> i64 {
        self.ts_us_value().div_euclid(1000)
    }

    /// Processing time in microseconds since the Unix epoch.
    #[getter]
    fn ts_us(&self) -> i64 {
        self.ts_us_value()
    }

    /// Processing time in nanoseconds since the Unix epoch.
    #[getter]
    fn ts_ns(&self) -> i64 {
        self.ts_us_value().saturating_mul(1000)
    }

    /// "schema.table", or None for messages and transaction events.
    #[getter]
    fn table(&self) -> Option<&str> {
        self.change().map(|c| c.table.data_collection.as_str())
    }

    /// The topic Debezium would write the event to.
    #[getter]
    fn topic(&self) -> String {
        self.ctx.encoder.topic(&self.event)
    }

    /// The event's LSN as an int (`source["lsn"]`).
    #[getter]
    fn lsn(&self) -> u64 {
        self.event.lsn().0
    }

    /// The `transaction` block (`provide_transaction_metadata=True`), or None. For
    /// transaction boundary events: the whole event (status, id, event_count,
    /// data_collections, ts_ms).
    #[getter]
    fn transaction<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match &self.event.kind {
            EventKind::Change(c) => block_dict(py, c.transaction.as_ref()),
            EventKind::Message(m) => block_dict(py, m.transaction.as_ref()),
            EventKind::Heartbeat(_) => Ok(py.None().into_bound(py)),
            EventKind::Transaction(t) => {
                let d = PyDict::new(py);
                d.set_item(
                    "status",
                    match t.status {
                        TransactionStatus::Begin => "BEGIN",
                        TransactionStatus::End => "END",
                    },
                )?;
                d.set_item("id", &t.id)?;
                d.set_item("event_count", t.event_count)?;
                if t.status == TransactionStatus::Begin {
                    d.set_item("data_collections", py.None())?;
                } else {
                    let list = PyList::empty(py);
                    for (name, count) in &t.data_collections {
                        let item = PyDict::new(py);
                        item.set_item("data_collection", name)?;
                        item.set_item("event_count", count)?;
                        list.append(item)?;
                    }
                    d.set_item("data_collections", list)?;
                }
                d.set_item("ts_ms", t.commit_time_us.div_euclid(1000))?;
                Ok(d.into_any())
            }
        }
    }

    /// For logical decoding messages (op "m"): `{"prefix": str, "content": bytes,
    /// "transactional": bool}`; else None.
    #[getter]
    fn message<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match &self.event.kind {
            EventKind::Message(m) => {
                let d = PyDict::new(py);
                d.set_item("prefix", &m.prefix)?;
                d.set_item("content", PyBytes::new(py, &m.content))?;
                d.set_item("transactional", m.transactional)?;
                Ok(d.into_any())
            }
            _ => Ok(py.None().into_bound(py)),
        }
    }

    /// The event as Debezium JSON (the Kafka record value, schemas disabled): compact with
    /// `indent=None`, else pretty-printed like `json.dumps(..., indent=indent)`.
    #[pyo3(signature = (indent = None))]
    fn json(&self, py: Python<'_>, indent: Option<i64>) -> PyResult<String> {
        let compact = self.json_bytes(py)?;
        Ok(render(&compact, indent))
    }

    /// Acknowledges this message and every message handed out before it (the same as
    /// `reader.acknowledge(message.lsn)` but exact to the message). Synchronous and cheap.
    fn acknowledge(&self) {
        self.ctx.consumer.durable_through(&self.event);
    }

    fn __repr__(&self) -> String {
        let what = match &self.event.kind {
            EventKind::Change(c) => format!(
                "op='{}' table='{}'",
                c.op.code(),
                c.table.data_collection.replace('\'', "\\'")
            ),
            EventKind::Message(m) => {
                format!("op='m' prefix='{}'", m.prefix.replace('\'', "\\'"))
            }
            EventKind::Transaction(t) => format!(
                "transaction={} id='{}'",
                match t.status {
                    TransactionStatus::Begin => "BEGIN",
                    TransactionStatus::End => "END",
                },
                t.id
            ),
            EventKind::Heartbeat(h) => format!("heartbeat after={}", h.lsn),
        };
        format!("<ReplicationMessage {what} lsn={}>", self.event.lsn())
    }
}

/// Compact JSON as it is, or re-indented the way Python's `json.dumps(indent=n)` lays it out
/// (`": "` after keys, one member per line, `{}`/`[]` for empty containers). Works on the
/// bytes, so numbers and strings stay exactly as the encoder wrote them.
pub(crate) fn render(compact: &[u8], indent: Option<i64>) -> String {
    let Some(indent) = indent else {
        return String::from_utf8_lossy(compact).into_owned();
    };
    let width = usize::try_from(indent.max(0)).unwrap_or(0);
    let mut out = Vec::with_capacity(compact.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let newline = |out: &mut Vec<u8>, depth: usize| {
        out.push(b'\n');
        out.resize(out.len() + depth * width, b' ');
    };
    let mut i = 0;
    while i < compact.len() {
        let b = compact[i];
        i += 1;
        if in_string {
            out.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                out.push(b);
            }
            b'{' | b'[' => {
                let close = if b == b'{' { b'}' } else { b']' };
                let mut j = i;
                while j < compact.len() && compact[j].is_ascii_whitespace() {
                    j += 1;
                }
                if compact.get(j) == Some(&close) {
                    out.push(b);
                    out.push(close);
                    i = j + 1;
                } else {
                    out.push(b);
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(b);
            }
            b',' => {
                out.push(b',');
                newline(&mut out, depth);
            }
            b':' => out.extend_from_slice(b": "),
            b' ' | b'\n' | b'\r' | b'\t' => {}
            _ => out.push(b),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The Debezium JSON of a message (the Kafka record value). `indent=None` gives compact JSON.
/// `schemas=True` gives what `JsonConverter` writes with `schemas.enable=true`:
/// `{"schema": <the value's Kafka Connect schema>, "payload": <the value>}`.
#[pyfunction]
#[pyo3(signature = (message, indent = Some(2), *, schemas = false))]
pub fn message_to_debezium_json(
    py: Python<'_>,
    message: &Bound<'_, ReplicationMessage>,
    indent: Option<i64>,
    schemas: bool,
) -> PyResult<String> {
    let message = message.get();
    let compact = if schemas {
        let encoder = message.ctx.encoder.clone().with_schemas(false, true);
        let mut out = Vec::with_capacity(4096);
        encoder
            .write_value(&message.event, &mut out)
            .map_err(|e| to_py_err(py, &e))?;
        out
    } else {
        message.json_bytes(py)?
    };
    Ok(render(&compact, indent))
}

impl ReplicationMessage {
    /// The stream's encoder (its conversion options, schemas and transforms).
    pub(crate) fn encoder(&self) -> &JsonEncoder {
        &self.ctx.encoder
    }
}
