//! Debezium's `io.debezium.transforms.ExtractNewRecordState` ("unwrap"): a change event's
//! value becomes its row (`after`; `before` for a rewritten delete), with chosen envelope
//! fields added to the value (`add.fields`) or as headers (`add.headers`).
//!
//! Added fields follow the row's columns, `__deleted` (rewrite modes) first, then `add.fields`
//! in their order; each is named `<prefix><name with . as _>`. With value schemas the value's
//! schema is the row's struct (`<prefix>.<schema>.<table>.Value`, not optional) with the
//! added fields appended as optional `string`/`int64` fields. Headers (`add.headers`) are
//! written as Kafka's JsonConverter writes them: `{"schema":{"type":..,"optional":true},
//! "payload":..}`, or bare with `header.converter.schemas.enable=false`.
//!
//! `drop.fields.header.name` removes the fields listed in that header (a list of strings,
//! e.g. from Kafka's InsertHeader) from the value, and from the key with
//! `drop.fields.from.key`; with `drop.fields.keep.schema.compatible` (the default) only the
//! optional (nullable) ones, as the table's Connect schema says.
//!
//! What it does to the other records, as Debezium 3 does:
//! - values that are not a change event envelope (logical decoding messages, transaction
//!   metadata) pass unchanged;
//! - truncate events (neither `before` nor `after`) are dropped;
//! - deletes and tombstones follow `delete.tombstone.handling.mode`, as recorded from
//!   Debezium 3.6 (`tests/conformance/transform-cases`): `tombstone` (the default) and
//!   `delete-to-tombstone` turn the delete into a tombstone (with `route.by.field` routed by
//!   its `before` row) and drop the connector's own tombstone, so that there is exactly one
//!   tombstone per delete whether `tombstones.on.delete` is on or not; `drop` drops both;
//!   `rewrite` keeps the delete as its `before` row with `__deleted: "true"` (`"false"` on
//!   every other row) and drops the tombstone; `rewrite-with-tombstone` does the same but
//!   keeps the connector's tombstone (none with `tombstones.on.delete=false`).

use super::{
    json::{self, Object},
    Options, Record,
};
use crate::{Error, Result};

pub(crate) const OPTIONS: &[&str] = &[
    "add.fields",
    "add.fields.prefix",
    "add.headers",
    "add.headers.prefix",
    "delete.tombstone.handling.mode",
    "route.by.field",
    "replace.null.with.default",
    "drop.fields.header.name",
    "drop.fields.from.key",
    "drop.fields.keep.schema.compatible",
];

/// Fields of the change event envelope itself; any other plain name is a `source` field.
const ENVELOPE_FIELDS: &[&str] = &["op", "ts_ms", "ts_us", "ts_ns"];
/// Fields of `source` in PostgreSQL change events.
const SOURCE_FIELDS: &[&str] = &[
    "version",
    "connector",
    "name",
    "ts_ms",
    "ts_us",
    "ts_ns",
    "snapshot",
    "db",
    "sequence",
    "schema",
    "table",
    "txId",
    "lsn",
    "xmin",
    "origin",
    "origin_lsn",
];
/// Fields of the `transaction` block.
const TRANSACTION_FIELDS: &[&str] = &["id", "total_order", "data_collection_order"];

/// `delete.tombstone.handling.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeleteTombstoneHandling {
    /// `tombstone` (Debezium 3's default): deletes become tombstones, the connector's
    /// tombstones are dropped (one tombstone per delete either way).
    #[default]
    Tombstone,
    /// `drop`: deletes and tombstones dropped.
    Drop,
    /// `rewrite`: deletes kept with `__deleted`, tombstones dropped.
    Rewrite,
    /// `rewrite-with-tombstone`: deletes kept with `__deleted`, tombstones kept.
    RewriteWithTombstone,
    /// `delete-to-tombstone`: deletes become tombstones; the connector's tombstones dropped.
    DeleteToTombstone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Envelope,
    Source,
    Transaction,
}

/// One name of `add.fields` / `add.headers`: where it is read, the name it is added as and
/// its Connect type.
#[derive(Debug, Clone)]
struct FieldRef {
    origin: Origin,
    field: String,
    name: String,
    ty: &'static str,
}

/// The Connect type of an envelope, `source` or `transaction` field.
fn field_type(origin: Origin, field: &str) -> &'static str {
    match (origin, field) {
        (Origin::Envelope, "op") | (Origin::Transaction, "id") => "string",
        (Origin::Envelope, _) | (Origin::Transaction, _) => "int64",
        (Origin::Source, "ts_ms" | "ts_us" | "ts_ns" | "txId" | "lsn" | "xmin" | "origin_lsn") => {
            "int64"
        }
        (Origin::Source, _) => "string",
    }
}

/// The configured transform.
#[derive(Debug, Clone)]
pub struct ExtractNewRecordState {
    add_fields: Vec<FieldRef>,
    add_headers: Vec<FieldRef>,
    mode: DeleteTombstoneHandling,
    route_by_field: Option<String>,
    /// Headers as `{"schema":...,"payload":...}` (`header.converter.schemas.enable`, true by
    /// default as in Kafka's JsonConverter).
    header_schemas: bool,
    drop_fields: Option<DropFields>,
}

/// `drop.fields.header.name` and its options: the fields named in that header (a list of
/// strings, e.g. set by Kafka's InsertHeader) are removed from the value (and the key with
/// `drop.fields.from.key`); with `drop.fields.keep.schema.compatible` (the default) only
/// optional (nullable) fields are.
#[derive(Debug, Clone)]
struct DropFields {
    header: String,
    from_key: bool,
    keep_compatible: bool,
}

impl ExtractNewRecordState {
    pub(crate) fn from_options(
        opts: &mut Options<'_>,
        header_schemas: bool,
    ) -> Result<ExtractNewRecordState> {
        for (old, why) in [
            (
                "delete.handling.mode",
                "it was removed in Debezium 3; use delete.tombstone.handling.mode",
            ),
            (
                "drop.tombstones",
                "it was removed in Debezium 3; use delete.tombstone.handling.mode",
            ),
        ] {
            if opts.take(old).is_some() {
                return Err(Error::config(format!(
                    "{} is not supported: {why}",
                    opts.key(old)
                )));
            }
        }
        let fields_prefix = opts
            .take("add.fields.prefix")
            .unwrap_or_else(|| "__".into());
        let headers_prefix = opts
            .take("add.headers.prefix")
            .unwrap_or_else(|| "__".into());
        let add_fields = opts
            .take_list("add.fields")
            .iter()
            .map(|f| field_ref(&opts.key("add.fields"), f, &fields_prefix))
            .collect::<Result<_>>()?;
        let add_headers = opts
            .take_list("add.headers")
            .iter()
            .map(|f| field_ref(&opts.key("add.headers"), f, &headers_prefix))
            .collect::<Result<_>>()?;
        let mode = match opts.take("delete.tombstone.handling.mode").as_deref() {
            None | Some("tombstone") => DeleteTombstoneHandling::Tombstone,
            Some("drop") => DeleteTombstoneHandling::Drop,
            Some("rewrite") => DeleteTombstoneHandling::Rewrite,
            Some("rewrite-with-tombstone") => DeleteTombstoneHandling::RewriteWithTombstone,
            Some("delete-to-tombstone") => DeleteTombstoneHandling::DeleteToTombstone,
            Some(other) => {
                return Err(Error::config(format!(
                    "{}={other}: expected tombstone, drop, rewrite, rewrite-with-tombstone or \
                     delete-to-tombstone",
                    opts.key("delete.tombstone.handling.mode")
                )))
            }
        };
        // Debezium replaces an explicit NULL with the column's DEFAULT (so does Kafka's
        // JsonConverter on its own); this library writes null either way, as it does without
        // transforms (README, "Known differences"), so both settings give the same records.
        opts.take_bool("replace.null.with.default")?;
        let drop_fields = match (
            opts.take("drop.fields.header.name"),
            opts.take_bool("drop.fields.from.key")?,
            opts.take_bool("drop.fields.keep.schema.compatible")?,
        ) {
            (Some(header), from_key, keep) => Some(DropFields {
                header,
                from_key: from_key.unwrap_or(false),
                keep_compatible: keep.unwrap_or(true),
            }),
            (None, None, None) => None,
            (None, _, _) => {
                return Err(Error::config(format!(
                    "{} and {} only apply with {}",
                    opts.key("drop.fields.from.key"),
                    opts.key("drop.fields.keep.schema.compatible"),
                    opts.key("drop.fields.header.name")
                )))
            }
        };
        Ok(ExtractNewRecordState {
            drop_fields,
            add_fields,
            add_headers,
            mode,
            route_by_field: opts.take("route.by.field"),
            header_schemas,
        })
    }

    /// Whether [`Record::value_schema`] is needed (to tell optional fields).
    pub(crate) fn needs_value_schema(&self) -> bool {
        self.drop_fields.as_ref().is_some_and(|d| d.keep_compatible)
    }

    /// The fields to drop: those listed in the header (its last occurrence), only the
    /// optional ones with `keep.schema.compatible` (none when no schema says which).
    fn fields_to_drop(&self, record: &Record, schema: Option<&str>) -> Vec<String> {
        let Some(d) = &self.drop_fields else {
            return Vec::new();
        };
        let Some((_, text)) = record.headers.iter().rev().find(|(n, _)| *n == d.header) else {
            return Vec::new();
        };
        let wrapped = Object::parse(text).and_then(|o| o.as_wrapped().map(|(_, p)| p));
        let Ok(mut names) = serde_json::from_str::<Vec<String>>(wrapped.unwrap_or(text)) else {
            return Vec::new();
        };
        if d.keep_compatible {
            let optional: Vec<String> = schema
                .and_then(after_schema)
                .and_then(|after| after.get("fields").and_then(json::array))
                .unwrap_or_default()
                .into_iter()
                .filter_map(|f| Object::parse(f.get()))
                .filter(|f| f.get("optional") == Some("true"))
                .filter_map(|f| f.get("field").and_then(json::as_str))
                .collect();
            names.retain(|n| optional.contains(n));
        }
        names
    }

    pub(crate) fn apply(&self, mut record: Record) -> Option<Record> {
        use DeleteTombstoneHandling as M;
        let Some(value) = record.value.as_deref() else {
            return (self.mode == M::RewriteWithTombstone).then_some(record);
        };
        let outer = Object::parse(value)?;
        // With value schemas: the envelope is the payload.
        let (schema, envelope) = match outer.as_wrapped() {
            Some((schema, payload)) => (Some(schema), Object::parse(payload)?),
            None => (None, outer),
        };
        if ["before", "after", "source", "op"]
            .iter()
            .any(|f| envelope.get(f).is_none())
        {
            return Some(record);
        }
        let image = |f| envelope.get(f).filter(|v| *v != "null");
        let (before, after) = (image("before"), image("after"));
        let (row, is_delete) = match (before, after) {
            (_, Some(after)) => (after, false),
            (Some(before), None) => (before, true),
            // A truncate: Debezium drops it.
            (None, None) => return None,
        };
        if let Some(field) = &self.route_by_field {
            if let Some(topic) = Object::parse(row)
                .and_then(|r| r.get(field))
                .and_then(json::as_str)
            {
                record.topic = topic;
            }
        }
        let drop = self.fields_to_drop(&record, schema.or(record.value_schema.as_deref()));
        let row_text;
        let row = if drop.is_empty() {
            row
        } else {
            let mut r = Object::parse(row)?;
            r.0.retain(|(k, _)| !drop.contains(k));
            row_text = r.render();
            if self.drop_fields.as_ref().is_some_and(|d| d.from_key) {
                record.key = record.key.as_deref().map(|k| without_fields(k, &drop));
            }
            &row_text
        };
        for h in &self.add_headers {
            let value = field_value(&envelope, h);
            let value = if self.header_schemas {
                format!(
                    "{{\"schema\":{{\"type\":\"{}\",\"optional\":true}},\"payload\":{value}}}",
                    h.ty
                )
            } else {
                value
            };
            record.headers.push((h.name.clone(), value));
        }
        let rewrite = matches!(self.mode, M::Rewrite | M::RewriteWithTombstone);
        if is_delete && !rewrite {
            if matches!(self.mode, M::Tombstone | M::DeleteToTombstone) {
                record.value = None;
                return Some(record);
            }
            return None;
        }
        // Debezium's order: `__deleted` first, then add.fields.
        let mut added: Vec<(String, String, &str)> = Vec::new();
        if rewrite {
            let deleted = if is_delete { "\"true\"" } else { "\"false\"" };
            added.push(("__deleted".into(), deleted.into(), "string"));
        }
        for f in &self.add_fields {
            added.push((f.name.clone(), field_value(&envelope, f), f.ty));
        }
        let members: Vec<(String, String)> = added
            .iter()
            .map(|(k, v, _)| (k.clone(), v.clone()))
            .collect();
        let payload = if members.is_empty() {
            row.to_string()
        } else {
            json::append_members(row, &members)
        };
        record.value = Some(match schema {
            None => payload,
            Some(schema) => {
                let types: Vec<(&str, &str)> =
                    added.iter().map(|(k, _, t)| (k.as_str(), *t)).collect();
                let schema = row_schema(schema, &types, &drop)?;
                format!("{{\"schema\":{schema},\"payload\":{payload}}}")
            }
        });
        Some(record)
    }
}

/// The Connect schema of the flattened value: the envelope's `after` schema (the table's
/// `<prefix>.<schema>.<table>.Value` struct), no longer optional, with the added fields
/// appended as optional fields. `None` when the envelope schema has no `after` struct.
fn row_schema(envelope_schema: &str, added: &[(&str, &str)], drop: &[String]) -> Option<String> {
    let after = after_schema(envelope_schema)?;
    let mut out = String::from("{");
    let mut first = true;
    for (k, v) in &after.0 {
        let v = match k.as_str() {
            "field" => continue,
            "optional" => "false".to_string(),
            "fields" if !added.is_empty() || !drop.is_empty() => {
                let mut fields = String::from("[");
                for f in json::array(v.get())? {
                    let name =
                        Object::parse(f.get()).and_then(|o| o.get("field").and_then(json::as_str));
                    if name.is_some_and(|n| drop.contains(&n)) {
                        continue;
                    }
                    if fields.len() > 1 {
                        fields.push(',');
                    }
                    fields.push_str(f.get());
                }
                for (name, ty) in added {
                    if !fields.trim_end().ends_with('[') {
                        fields.push(',');
                    }
                    fields.push_str(&format!(
                        "{{\"type\":\"{ty}\",\"optional\":true,\"field\":{}}}",
                        json::string(name)
                    ));
                }
                fields.push(']');
                fields
            }
            _ => v.get().to_string(),
        };
        if !first {
            out.push(',');
        }
        first = false;
        json::push_member(&mut out, k, &v);
    }
    out.push('}');
    Some(out)
}

/// The `after` field's struct in an envelope schema.
fn after_schema(envelope_schema: &str) -> Option<Object<'_>> {
    let envelope = Object::parse(envelope_schema)?;
    json::array(envelope.get("fields")?)?
        .into_iter()
        .filter_map(|f| Object::parse(f.get()))
        .find(|f| f.get("field") == Some("\"after\""))
}

/// A key without the named fields (from its payload and its schema when it has one).
fn without_fields(key: &str, drop: &[String]) -> String {
    let Some(mut obj) = Object::parse(key) else {
        return key.to_string();
    };
    if let Some((schema, payload)) = obj.as_wrapped() {
        let payload = without_fields(payload, drop);
        let schema = match Object::parse(schema) {
            Some(mut s) => {
                let fields: Option<Vec<String>> = s.get("fields").and_then(json::array).map(|a| {
                    a.into_iter()
                        .filter(|f| {
                            Object::parse(f.get())
                                .and_then(|o| o.get("field").and_then(json::as_str))
                                .is_none_or(|n| !drop.contains(&n))
                        })
                        .map(|f| f.get().to_string())
                        .collect()
                });
                match fields {
                    Some(fields) => {
                        let fields = format!("[{}]", fields.join(","));
                        let mut out = String::from("{");
                        for (n, (k, v)) in s.0.drain(..).enumerate() {
                            if n > 0 {
                                out.push(',');
                            }
                            let v = if k == "fields" {
                                fields.as_str()
                            } else {
                                v.get()
                            };
                            json::push_member(&mut out, &k, v);
                        }
                        out.push('}');
                        out
                    }
                    None => schema.to_string(),
                }
            }
            None => schema.to_string(),
        };
        return format!("{{\"schema\":{schema},\"payload\":{payload}}}");
    }
    obj.0.retain(|(k, _)| !drop.contains(k));
    obj.render()
}

fn field_ref(key: &str, spec: &str, prefix: &str) -> Result<FieldRef> {
    let known = |list: &[&str], f: &str| list.contains(&f);
    let (origin, field) = if let Some(f) = spec.strip_prefix("source.") {
        (Origin::Source, f)
    } else if let Some(f) = spec.strip_prefix("transaction.") {
        (Origin::Transaction, f)
    } else if known(ENVELOPE_FIELDS, spec) {
        (Origin::Envelope, spec)
    } else {
        (Origin::Source, spec)
    };
    let ok = match origin {
        Origin::Envelope => true,
        Origin::Source => known(SOURCE_FIELDS, field),
        Origin::Transaction => known(TRANSACTION_FIELDS, field),
    };
    if !ok {
        return Err(Error::config(format!(
            "{key}: no field {spec:?} in PostgreSQL change events; fields are {}, \
             source.<field> or <field> for {}, transaction.<field> for {}",
            ENVELOPE_FIELDS.join(", "),
            SOURCE_FIELDS.join(", "),
            TRANSACTION_FIELDS.join(", ")
        )));
    }
    Ok(FieldRef {
        origin,
        ty: field_type(origin, field),
        field: field.to_string(),
        name: format!("{prefix}{}", spec.replace('.', "_")),
    })
}

/// The JSON text of a referenced field (`null` when the event does not have it).
fn field_value(envelope: &Object<'_>, f: &FieldRef) -> String {
    let inner = |name: &str| {
        envelope
            .get(name)
            .and_then(Object::parse)
            .and_then(|o| o.get(&f.field).map(str::to_string))
    };
    match f.origin {
        Origin::Envelope => envelope.get(&f.field).map(str::to_string),
        Origin::Source => inner("source"),
        Origin::Transaction => inner("transaction"),
    }
    .unwrap_or_else(|| "null".into())
}
