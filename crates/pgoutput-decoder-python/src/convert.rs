//! Column values → Python objects.
//!
//! | PostgreSQL | Python |
//! |---|---|
//! | `bool` | `bool` |
//! | integers, `oid` | `int` |
//! | `float4`, `float8` | `float` |
//! | `numeric`, `money` | `decimal.Decimal` (`float` with `decimal_handling_mode="double"`, `str` with `"string"`) |
//! | `bytea` | `bytes` |
//! | `json`, `jsonb` | parsed (`dict`, `list`, `str`, `int`, `float`, `bool`, `None`) |
//! | `uuid`, `date`, `time`, `timetz`, `timestamp`, `timestamptz`, `interval` | ISO 8601 `str` |
//! | arrays, `vector` | `list` (nested for several dimensions) |
//! | composite types, `hstore` | `dict` |
//! | anything else | `str`, as the server printed it |
//! | unchanged TOAST value | the `unavailable_value_placeholder` string |

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use pgoutput::ColumnData;
use pgoutput_decoder::{
    relation::TableSchema,
    types::{parse_value, ConvertOptions, DecimalHandlingMode, Value},
    Error, ErrorKind, Row,
};
use pyo3::{
    prelude::*,
    sync::PyOnceLock,
    types::{PyBytes, PyDict, PyList, PyString},
    IntoPyObjectExt,
};

use crate::errors::to_py_err;

static DECIMAL: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static JSON_LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static JSON_SCAN: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Parses JSON text like `json.loads`, with the same scanner but without `loads`'s Python
/// frames and whitespace regexes around it (a third of a jsonb column's cost). Text the
/// scanner alone does not cover (leading or trailing whitespace, which a `json` column may
/// keep) and invalid text go through `json.loads`, so results and errors are the same.
fn parse_json<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    let starts_clean = text
        .as_bytes()
        .first()
        .is_some_and(|b| !b.is_ascii_whitespace());
    if starts_clean {
        let scan = JSON_SCAN.get_or_try_init(py, || {
            py.import("json")?
                .getattr("decoder")?
                .getattr("JSONDecoder")?
                .call0()?
                .getattr("scan_once")
                .map(Bound::unbind)
        })?;
        let s = PyString::new(py, text);
        if let Ok(found) = scan.bind(py).call1((&s, 0)) {
            let (value, end): (Bound<'py, PyAny>, usize) = found.extract()?;
            if end == s.len()? {
                return Ok(value);
            }
        }
    }
    JSON_LOADS
        .get_or_try_init(py, || {
            py.import("json")?.getattr("loads").map(Bound::unbind)
        })?
        .bind(py)
        .call1((text,))
}

/// Python strings of a table's names, made once per table schema: every row dict reuses
/// the same key objects instead of allocating them again.
pub(crate) struct TableNames {
    table: Arc<TableSchema>,
    pub columns: Vec<Py<PyString>>,
    pub schema: Py<PyString>,
    pub name: Py<PyString>,
}

/// What the conversion depends on, fixed per reader.
pub(crate) struct Converter {
    pub opts: ConvertOptions,
    placeholder: String,
    /// By relation id; replaced when the table's schema changes (a new `TableSchema`).
    names: Mutex<HashMap<u32, Arc<TableNames>>>,
}

impl Converter {
    pub(crate) fn new(opts: ConvertOptions) -> Self {
        let placeholder = opts.placeholder_text().into_owned();
        Converter {
            opts,
            placeholder,
            names: Mutex::new(HashMap::new()),
        }
    }

    /// The table's names as Python strings (cached).
    pub(crate) fn names(&self, py: Python<'_>, table: &Arc<TableSchema>) -> Arc<TableNames> {
        let mut cache = self.names.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(names) = cache.get(&table.relation_id) {
            if Arc::ptr_eq(&names.table, table) {
                return names.clone();
            }
        }
        let names = Arc::new(TableNames {
            table: table.clone(),
            columns: table
                .columns
                .iter()
                .map(|c| PyString::new(py, &c.name).unbind())
                .collect(),
            schema: PyString::new(py, &table.schema).unbind(),
            name: PyString::new(py, &table.table).unbind(),
        });
        cache.insert(table.relation_id, names.clone());
        names
    }

    /// A converted value.
    pub(crate) fn value<'py>(&self, py: Python<'py>, value: Value) -> PyResult<Bound<'py, PyAny>> {
        Ok(match value {
            Value::Null => py.None().into_bound(py),
            Value::Unavailable => PyString::new(py, &self.placeholder).into_any(),
            Value::Bool(b) => b.into_bound_py_any(py)?,
            Value::Int(i) => i.into_bound_py_any(py)?,
            Value::Float(f) => f.into_bound_py_any(py)?,
            Value::Numeric(text) => match self.opts.decimal_handling_mode {
                DecimalHandlingMode::Precise => DECIMAL
                    .get_or_try_init(py, || {
                        py.import("decimal")?.getattr("Decimal").map(Bound::unbind)
                    })?
                    .bind(py)
                    .call1((text,))?,
                DecimalHandlingMode::Double => text
                    .parse::<f64>()
                    .unwrap_or(f64::NAN)
                    .into_bound_py_any(py)?,
                DecimalHandlingMode::String => PyString::new(py, &text).into_any(),
            },
            Value::Json(text) => parse_json(py, &text)?,
            Value::Bytes(b) => PyBytes::new(py, &b).into_any(),
            Value::Text(s)
            | Value::Uuid(s)
            | Value::Date(s)
            | Value::Time(s)
            | Value::TimeTz(s)
            | Value::Timestamp(s)
            | Value::TimestampTz(s)
            | Value::Interval(s) => PyString::new(py, &s).into_any(),
            Value::Array(items) => {
                let list = PyList::empty(py);
                for item in items {
                    list.append(self.value(py, item)?)?;
                }
                list.into_any()
            }
            Value::Composite(fields) => {
                let dict = PyDict::new(py);
                for (name, v) in fields {
                    dict.set_item(name, self.value(py, v)?)?;
                }
                dict.into_any()
            }
            Value::Map(pairs) => {
                let dict = PyDict::new(py);
                for (k, v) in pairs {
                    dict.set_item(k, v)?;
                }
                dict.into_any()
            }
        })
    }

    /// One column of a row image, as the Debezium encoder sees it: a key-only image fills
    /// NOT NULL columns it did not carry with their literal default, like Debezium.
    fn column<'py>(
        &self,
        py: Python<'py>,
        table: &TableSchema,
        row: &Row,
        i: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let col = &table.columns[i];
        let parsed = match row.raw(i) {
            None | Some(ColumnData::Null)
                if row.is_key_only() && col.not_null && col.default.is_some() =>
            {
                let default = col.default.as_deref().unwrap_or_default();
                parse_value(&col.ty, default, &self.opts)
            }
            None | Some(ColumnData::Null) => Ok(Value::Null),
            Some(ColumnData::UnchangedToast) => Ok(Value::Unavailable),
            Some(ColumnData::Text(text)) => parse_value(&col.ty, text, &self.opts),
            Some(ColumnData::Binary(_)) => Err(Error::new(
                ErrorKind::Decoding,
                "binary-format column values are not supported",
            )),
        };
        let value = parsed.map_err(|e| to_py_err(py, &e))?;
        self.value(py, value)
    }

    /// `before`/`after`: the columns Debezium puts in the value, in table order.
    pub(crate) fn row<'py>(
        &self,
        py: Python<'py>,
        table: &Arc<TableSchema>,
        row: &Row,
    ) -> PyResult<Bound<'py, PyDict>> {
        self.columns(py, table, row, &table.value_columns)
    }

    /// The record key: the key columns, in key order.
    pub(crate) fn key<'py>(
        &self,
        py: Python<'py>,
        table: &Arc<TableSchema>,
        row: &Row,
    ) -> PyResult<Bound<'py, PyDict>> {
        self.columns(py, table, row, &table.key_columns)
    }

    fn columns<'py>(
        &self,
        py: Python<'py>,
        table: &Arc<TableSchema>,
        row: &Row,
        which: &[usize],
    ) -> PyResult<Bound<'py, PyDict>> {
        let names = self.names(py, table);
        let dict = PyDict::new(py);
        for &i in which {
            dict.set_item(names.columns[i].bind(py), self.column(py, table, row, i)?)?;
        }
        Ok(dict)
    }
}
