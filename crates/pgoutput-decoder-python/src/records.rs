//! `debezium_records`: a message's Kafka records after the single message transforms
//! (`transforms=...`, `predicates=...`, Debezium's and Kafka Connect's property names).

use pgoutput_decoder::transforms::{is_transform_key, Transforms};
use pyo3::{
    exceptions::PyTypeError,
    prelude::*,
    types::{PyDict, PyList, PyTuple},
};

use crate::{errors::to_py_err, message::ReplicationMessage};

/// The Kafka records of a message as `(topic, key, value, headers)` tuples, after the
/// transforms: `key` and `value` compact Debezium JSON (`None` for a null key or a
/// tombstone), `headers` a list of `(name, JSON value)` pairs. A delete is followed by its
/// tombstone when `tombstones.on.delete` is on (the default). An empty list when the
/// transforms dropped the record.
///
/// `transforms` is a dict of `transforms*` / `predicates*` properties; without it, the
/// transforms of the reader's `properties` apply. `schemas=True` writes keys and values with
/// their Kafka Connect schema, as `JsonConverter` does with `schemas.enable=true`; by default
/// the reader's `key/value.converter.schemas.enable` properties decide.
#[pyfunction]
#[pyo3(signature = (message, *, transforms = None, schemas = false))]
pub fn debezium_records<'py>(
    py: Python<'py>,
    message: &Bound<'py, ReplicationMessage>,
    transforms: Option<&Bound<'py, PyAny>>,
    schemas: bool,
) -> PyResult<Bound<'py, PyList>> {
    let message = message.get();
    let mut encoder = message.encoder().clone();
    if let Some(props) = transforms {
        encoder = encoder.with_transforms(transforms_from_dict(py, props)?);
    }
    if schemas {
        encoder = encoder.with_schemas(true, true);
        encoder
            .transforms()
            .check_schemas(true, true)
            .map_err(|e| to_py_err(py, &e))?;
    }
    let records = encoder
        .records(&message.event)
        .map_err(|e| to_py_err(py, &e))?;
    let list = PyList::empty(py);
    for r in records {
        let headers = PyList::empty(py);
        for (name, value) in &r.headers {
            headers.append((name, value))?;
        }
        list.append(PyTuple::new(
            py,
            [
                r.topic.into_pyobject(py)?.into_any(),
                r.key.into_pyobject(py)?.into_any(),
                r.value.into_pyobject(py)?.into_any(),
                headers.into_any(),
            ],
        )?)?;
    }
    Ok(list)
}

/// `{"transforms": "unwrap", "transforms.unwrap.type": ..., ...}` -> the chain.
fn transforms_from_dict(py: Python<'_>, props: &Bound<'_, PyAny>) -> PyResult<Transforms> {
    let dict =
        props.cast::<PyDict>().map_err(|_| {
            PyTypeError::new_err(format!(
            "transforms must be a dict of transforms.*/predicates.* property names to strings, \
             not {}",
            props.get_type().name().map(|n| n.to_string()).unwrap_or_default()
        ))
        })?;
    let mut pairs = Vec::with_capacity(dict.len());
    for (k, v) in dict.iter() {
        let key: String = k.extract().map_err(|_| {
            PyTypeError::new_err(format!("transforms keys must be strings, not {k:?}"))
        })?;
        if !is_transform_key(&key) {
            return Err(PyTypeError::new_err(format!(
                "transforms[{key:?}]: only transforms, transforms.*, predicates, predicates.* and \
                 header.converter.schemas.enable belong here; pass other settings in the \
                 reader's properties"
            )));
        }
        let value: String = v.extract().map_err(|_| {
            PyTypeError::new_err(format!("transforms[{key:?}] must be a string, not {v:?}"))
        })?;
        pairs.push((key, value));
    }
    Transforms::from_properties(&pairs).map_err(|e| to_py_err(py, &e))
}
