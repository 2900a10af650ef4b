//! Kafka Connect's `org.apache.kafka.connect.transforms.InsertHeader`: adds header `header`
//! with the value `value.literal` to every record.
//!
//! The literal is read as Kafka's `Values.parseString` reads it, as far as JSON goes: a JSON
//! array, object, number, boolean or string is that value (`["qty","item"]` is a list of two
//! strings); anything else (`[qty,item]`, `abc`) is the literal text as a string. Written
//! with `header.converter.schemas.enable=true` (the default) the header carries its schema,
//! which is inferred here for strings and lists of strings only; other literals are refused
//! then (set `header.converter.schemas.enable=false`).

use serde_json::Value;

use super::{json, Options, Record};
use crate::{Error, Result};

pub(crate) const OPTIONS: &[&str] = &["header", "value.literal"];

/// The configured transform.
#[derive(Debug, Clone)]
pub struct InsertHeader {
    name: String,
    /// The header's value as written (JSON text, with its schema when header schemas are on).
    value: String,
}

impl InsertHeader {
    pub(crate) fn from_options(opts: &mut Options<'_>, header_schemas: bool) -> Result<Self> {
        let name = opts.required("header")?;
        let literal = opts.required("value.literal")?;
        let parsed: Value =
            serde_json::from_str(&literal).unwrap_or(Value::String(literal.clone()));
        let payload = match &parsed {
            Value::String(s) => json::string(s),
            _ => literal.trim().to_string(),
        };
        let value = if !header_schemas {
            payload
        } else {
            let schema = match &parsed {
                Value::String(_) => r#"{"type":"string","optional":false}"#,
                Value::Array(items) if items.iter().all(Value::is_string) => {
                    r#"{"type":"array","items":{"type":"string","optional":false},"optional":false}"#
                }
                _ => {
                    return Err(Error::config(format!(
                        "{}={literal}: with header.converter.schemas.enable=true only a string \
                         or a list of strings is supported; set \
                         header.converter.schemas.enable=false for other values",
                        opts.key("value.literal")
                    )))
                }
            };
            format!(r#"{{"schema":{schema},"payload":{payload}}}"#)
        };
        Ok(InsertHeader { name, value })
    }

    pub(crate) fn apply(&self, mut record: Record) -> Record {
        record.headers.push((self.name.clone(), self.value.clone()));
        record
    }
}
