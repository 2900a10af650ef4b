//! Kafka Connect schemas of the records, as Kafka's `JsonConverter` writes them with
//! `schemas.enable=true`: `{"schema": {...}, "payload": ...}` for keys and values.
//!
//! The schemas are Debezium 3.6's: struct names (`<topic>.Key`, `<topic>.Value`,
//! `<topic>.Envelope`, `io.debezium.connector.postgresql.Source`, ...), field order,
//! `optional`, `version`, logical type names and parameters per column type and mode, and the
//! column defaults Debezium derives from the catalog. The JSON object members are written in
//! `JsonConverter`'s order (`type`, `fields`/`items`/`keys`+`values`, `optional`, `name`,
//! `version`, `doc`, `parameters`, `default`, `field`).
//!
//! A table's key and value schemas are built once per relation (the first time a record of it
//! is written, kept in the encoder's per-relation cache) and copied in front of each payload
//! afterwards; the schemas of sources, transaction metadata and logical messages are
//! constants.

use std::sync::OnceLock;

use crate::{
    relation::{ColumnSchema, TableSchema},
    types::{
        write_debezium_json, write_json_string, BinaryHandlingMode, ColumnType, ConnectRule,
        ConvertOptions, DecimalHandlingMode, HstoreHandlingMode, IntervalHandlingMode,
        TimePrecisionMode, TypeKind,
    },
};

/// A table's record schemas, each as the head of a `{"schema":...,"payload":` wrapper.
#[derive(Debug, Clone)]
pub(crate) struct TableConnectSchemas {
    /// `{"schema":<Key struct>,"payload":`; `None` without key columns (the key is null).
    pub(crate) key_head: Option<Box<[u8]>>,
    /// `{"schema":<Envelope struct>,"payload":`.
    pub(crate) value_head: Box<[u8]>,
}

impl TableConnectSchemas {
    pub(crate) fn build(table: &TableSchema, opts: &ConvertOptions) -> Self {
        let key_head = (!table.key_columns.is_empty()).then(|| {
            let mut out = b"{\"schema\":".to_vec();
            write_key_schema(&mut out, table, opts);
            out.extend_from_slice(b",\"payload\":");
            out.into_boxed_slice()
        });
        let mut value = b"{\"schema\":".to_vec();
        write_envelope_schema(&mut value, table, opts);
        value.extend_from_slice(b",\"payload\":");
        TableConnectSchemas {
            key_head,
            value_head: value.into_boxed_slice(),
        }
    }
}

/// The key schema of a table's records (a struct of the key columns).
pub(crate) fn write_key_schema(out: &mut Vec<u8>, table: &TableSchema, opts: &ConvertOptions) {
    out.extend_from_slice(b"{\"type\":\"struct\",\"fields\":[");
    for (n, &i) in table.key_columns.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        write_column_field(out, &table.columns[i], opts);
    }
    out.extend_from_slice(b"],\"optional\":false,\"name\":");
    write_json_string(out, &format!("{}.Key", table.topic));
    out.push(b'}');
}

/// The value schema of a table's change events (Debezium's envelope).
pub(crate) fn write_envelope_schema(out: &mut Vec<u8>, table: &TableSchema, opts: &ConvertOptions) {
    let mut row = b"{\"type\":\"struct\",\"fields\":[".to_vec();
    for (n, &i) in table.value_columns.iter().enumerate() {
        if n > 0 {
            row.push(b',');
        }
        write_column_field(&mut row, &table.columns[i], opts);
    }
    row.extend_from_slice(b"],\"optional\":true,\"name\":");
    write_json_string(&mut row, &format!("{}.Value", table.topic));
    out.extend_from_slice(b"{\"type\":\"struct\",\"fields\":[");
    out.extend_from_slice(&row);
    out.extend_from_slice(b",\"field\":\"before\"},");
    out.extend_from_slice(&row);
    out.extend_from_slice(b",\"field\":\"after\"},");
    out.extend_from_slice(SOURCE_FIELD.as_bytes());
    out.push(b',');
    out.extend_from_slice(TRANSACTION_BLOCK_FIELD.as_bytes());
    out.extend_from_slice(
        b",{\"type\":\"string\",\"optional\":false,\"field\":\"op\"},\
          {\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ms\"},\
          {\"type\":\"int64\",\"optional\":true,\"field\":\"ts_us\"},\
          {\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ns\"}],\
          \"optional\":false,\"name\":",
    );
    write_json_string(out, &format!("{}.Envelope", table.topic));
    out.extend_from_slice(b",\"version\":2}");
}

/// `source`: `io.debezium.connector.postgresql.Source`.
const SOURCE_FIELD: &str = concat!(
    r#"{"type":"struct","fields":["#,
    r#"{"type":"string","optional":false,"field":"version"},"#,
    r#"{"type":"string","optional":false,"field":"connector"},"#,
    r#"{"type":"string","optional":false,"field":"name"},"#,
    r#"{"type":"int64","optional":false,"field":"ts_ms"},"#,
    r#"{"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"#,
    r#""parameters":{"allowed":"true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},"#,
    r#""default":"false","field":"snapshot"},"#,
    r#"{"type":"string","optional":false,"field":"db"},"#,
    r#"{"type":"string","optional":true,"field":"sequence"},"#,
    r#"{"type":"int64","optional":true,"field":"ts_us"},"#,
    r#"{"type":"int64","optional":true,"field":"ts_ns"},"#,
    r#"{"type":"string","optional":false,"field":"schema"},"#,
    r#"{"type":"string","optional":false,"field":"table"},"#,
    r#"{"type":"int64","optional":true,"field":"txId"},"#,
    r#"{"type":"int64","optional":true,"field":"lsn"},"#,
    r#"{"type":"int64","optional":true,"field":"xmin"},"#,
    r#"{"type":"string","optional":true,"field":"origin"},"#,
    r#"{"type":"int64","optional":true,"field":"origin_lsn"}],"#,
    r#""optional":false,"name":"io.debezium.connector.postgresql.Source","version":1,"field":"source"}"#
);

/// `transaction`: the `event.block` of data events.
const TRANSACTION_BLOCK_FIELD: &str = concat!(
    r#"{"type":"struct","fields":["#,
    r#"{"type":"string","optional":false,"field":"id"},"#,
    r#"{"type":"int64","optional":false,"field":"total_order"},"#,
    r#"{"type":"int64","optional":false,"field":"data_collection_order"}],"#,
    r#""optional":true,"name":"event.block","version":1,"field":"transaction"}"#
);

/// Debezium's heartbeat key (`io.debezium.connector.common.ServerNameKey`) with its schema.
pub(crate) const HEARTBEAT_KEY_HEAD: &str = concat!(
    r#"{"schema":{"type":"struct","fields":["#,
    r#"{"type":"string","optional":false,"field":"serverName"}],"#,
    r#""optional":false,"name":"io.debezium.connector.common.ServerNameKey","version":1},"#,
    r#""payload":"#
);

/// Debezium's heartbeat value (`io.debezium.connector.common.Heartbeat`) with its schema.
pub(crate) const HEARTBEAT_VALUE_HEAD: &str = concat!(
    r#"{"schema":{"type":"struct","fields":["#,
    r#"{"type":"int64","optional":false,"field":"ts_ms"}],"#,
    r#""optional":false,"name":"io.debezium.connector.common.Heartbeat","version":1},"#,
    r#""payload":"#
);

/// The key of transaction metadata records, as a wrapper head.
pub(crate) const TRANSACTION_KEY_HEAD: &str = concat!(
    r#"{"schema":{"type":"struct","fields":["#,
    r#"{"type":"string","optional":false,"field":"id"}],"#,
    r#""optional":false,"name":"io.debezium.connector.common.TransactionMetadataKey","version":1},"#,
    r#""payload":"#
);

/// The value of transaction metadata records (BEGIN/END), as a wrapper head.
pub(crate) const TRANSACTION_VALUE_HEAD: &str = concat!(
    r#"{"schema":{"type":"struct","fields":["#,
    r#"{"type":"string","optional":false,"field":"status"},"#,
    r#"{"type":"string","optional":false,"field":"id"},"#,
    r#"{"type":"int64","optional":true,"field":"event_count"},"#,
    r#"{"type":"array","items":{"type":"struct","fields":["#,
    r#"{"type":"string","optional":false,"field":"data_collection"},"#,
    r#"{"type":"int64","optional":false,"field":"event_count"}],"#,
    r#""optional":true,"name":"event.collection","version":1},"#,
    r#""optional":true,"field":"data_collections"},"#,
    r#"{"type":"int64","optional":false,"field":"ts_ms"}],"#,
    r#""optional":false,"name":"io.debezium.connector.common.TransactionMetadataValue","version":1},"#,
    r#""payload":"#
);

/// The key of logical decoding message records, as a wrapper head.
pub(crate) const MESSAGE_KEY_HEAD: &str = concat!(
    r#"{"schema":{"type":"struct","fields":["#,
    r#"{"type":"string","optional":true,"field":"prefix"}],"#,
    r#""optional":false,"name":"io.debezium.connector.postgresql.MessageKey","version":1},"#,
    r#""payload":"#
);

/// The value of logical decoding message records, as a wrapper head; the content's type
/// follows `binary.handling.mode`.
pub(crate) fn message_value_head(binary: BinaryHandlingMode) -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    static STRING: OnceLock<Vec<u8>> = OnceLock::new();
    let (cell, content) = match binary {
        BinaryHandlingMode::Bytes => (&BYTES, "bytes"),
        _ => (&STRING, "string"),
    };
    cell.get_or_init(|| {
        format!(
            concat!(
                r#"{{"schema":{{"type":"struct","fields":["#,
                r#"{{"type":"string","optional":false,"field":"op"}},"#,
                r#"{{"type":"int64","optional":true,"field":"ts_ms"}},"#,
                "{source},{transaction},",
                r#"{{"type":"struct","fields":["#,
                r#"{{"type":"string","optional":true,"field":"prefix"}},"#,
                r#"{{"type":"{content}","optional":true,"field":"content"}}],"#,
                r#""optional":false,"name":"io.debezium.connector.postgresql.Message","version":1,"field":"message"}}],"#,
                r#""optional":false,"name":"io.debezium.connector.postgresql.MessageValue","version":1}},"#,
                r#""payload":"#
            ),
            source = SOURCE_FIELD,
            transaction = TRANSACTION_BLOCK_FIELD,
            content = content
        )
        .into_bytes()
    })
}

/// One column as a struct field: its type's schema, its default, its name.
fn write_column_field(out: &mut Vec<u8>, col: &ColumnSchema, opts: &ConvertOptions) {
    write_type_schema(out, &col.ty, !col.not_null, opts);
    if let Some(default) = column_default(col, opts) {
        out.extend_from_slice(b",\"default\":");
        out.extend_from_slice(&default);
    }
    out.extend_from_slice(b",\"field\":");
    write_json_string(out, &col.name);
    out.push(b'}');
}

/// Writes a type's schema without its closing brace (the caller may add `default` and
/// `field`).
fn write_type_schema(out: &mut Vec<u8>, ty: &ColumnType, optional: bool, opts: &ConvertOptions) {
    let mut s = Schema::new(optional);
    match ty.kind.descriptor().connect {
        ConnectRule::Type(t) => s.ty = t,
        ConnectRule::Logical(t, name) => s.logical(t, name),
        ConnectRule::Decimal => match opts.decimal_handling_mode {
            DecimalHandlingMode::Precise => match ty.kind {
                TypeKind::Numeric {
                    precision,
                    scale: Some(scale),
                } => {
                    s.logical("bytes", "org.apache.kafka.connect.data.Decimal");
                    s.params.push(("scale", scale.to_string()));
                    if let Some(p) = precision {
                        s.params.push(("connect.decimal.precision", p.to_string()));
                    }
                }
                _ => {
                    s.logical("struct", "io.debezium.data.VariableScaleDecimal");
                    s.doc = Some("Variable scaled decimal");
                    s.body = Body::Raw(concat!(
                        r#","fields":[{"type":"int32","optional":false,"field":"scale"},"#,
                        r#"{"type":"bytes","optional":false,"field":"value"}]"#
                    ));
                }
            },
            DecimalHandlingMode::Double => s.ty = "double",
            DecimalHandlingMode::String => s.ty = "string",
        },
        ConnectRule::Money => match opts.decimal_handling_mode {
            DecimalHandlingMode::Precise => {
                s.logical("bytes", "org.apache.kafka.connect.data.Decimal");
                s.params
                    .push(("scale", opts.money_fraction_digits.to_string()));
            }
            DecimalHandlingMode::Double => s.ty = "double",
            DecimalHandlingMode::String => s.ty = "string",
        },
        ConnectRule::Binary => {
            s.ty = match opts.binary_handling_mode {
                BinaryHandlingMode::Bytes => "bytes",
                _ => "string",
            }
        }
        ConnectRule::Date => match opts.time_precision_mode {
            TimePrecisionMode::Connect => s.logical("int32", "org.apache.kafka.connect.data.Date"),
            _ => s.logical("int32", "io.debezium.time.Date"),
        },
        ConnectRule::Time => match opts.time_precision_mode {
            TimePrecisionMode::Connect => s.logical("int32", "org.apache.kafka.connect.data.Time"),
            m if m.time_in_millis(ty.kind.time_precision()) => {
                s.logical("int32", "io.debezium.time.Time")
            }
            _ => s.logical("int64", "io.debezium.time.MicroTime"),
        },
        ConnectRule::Timestamp => match opts.time_precision_mode {
            TimePrecisionMode::Connect => {
                s.logical("int64", "org.apache.kafka.connect.data.Timestamp")
            }
            m if m.timestamp_in_millis(ty.kind.time_precision()) => {
                s.logical("int64", "io.debezium.time.Timestamp")
            }
            _ => s.logical("int64", "io.debezium.time.MicroTimestamp"),
        },
        ConnectRule::Interval => match opts.interval_handling_mode {
            IntervalHandlingMode::Numeric => s.logical("int64", "io.debezium.time.MicroDuration"),
            IntervalHandlingMode::String => s.logical("string", "io.debezium.time.Interval"),
        },
        ConnectRule::Bits => {
            let length = match ty.kind {
                TypeKind::Bit { length: Some(n) } | TypeKind::VarBit { length: Some(n) } => n,
                TypeKind::VarBit { length: None } => i32::MAX as u32,
                _ => 1,
            };
            if length == 1 {
                s.ty = "boolean";
            } else {
                s.logical("bytes", "io.debezium.data.Bits");
                s.params.push(("length", length.to_string()));
            }
        }
        ConnectRule::Enum => {
            s.logical("string", "io.debezium.data.Enum");
            if let TypeKind::Enum { labels } = &ty.kind {
                s.params.push(("allowed", labels.join(",")));
            }
        }
        ConnectRule::Hstore => match opts.hstore_handling_mode {
            HstoreHandlingMode::Json => s.logical("string", "io.debezium.data.Json"),
            HstoreHandlingMode::Map => {
                s.ty = "map";
                s.body = Body::Raw(concat!(
                    r#","keys":{"type":"string","optional":false},"#,
                    r#""values":{"type":"string","optional":true}"#
                ));
            }
        },
        ConnectRule::Point => {
            s.logical("struct", "io.debezium.data.geometry.Point");
            s.doc = Some("Geometry (POINT)");
            s.body = Body::Raw(concat!(
                r#","fields":[{"type":"double","optional":false,"field":"x"},"#,
                r#"{"type":"double","optional":false,"field":"y"},"#,
                r#"{"type":"bytes","optional":true,"field":"wkb"},"#,
                r#"{"type":"int32","optional":true,"field":"srid"}]"#
            ));
        }
        ConnectRule::Spatial { name, doc } => {
            s.logical("struct", name);
            s.doc = Some(doc);
            s.body = Body::Raw(concat!(
                r#","fields":[{"type":"bytes","optional":false,"field":"wkb"},"#,
                r#"{"type":"int32","optional":true,"field":"srid"}]"#
            ));
        }
        ConnectRule::Vector { name, item } => {
            s.logical("array", name);
            s.body = Body::Items(item);
        }
        ConnectRule::Array => match &ty.kind {
            TypeKind::Array { element, .. } => {
                s.ty = "array";
                s.body = Body::Element(element);
            }
            _ => s.ty = "string",
        },
    }
    s.write(out, opts);
}

/// What goes between `"type"` and `"optional"`.
enum Body<'a> {
    None,
    /// Written as is (`"fields"`, `"keys"`/`"values"`).
    Raw(&'static str),
    /// `"items"` of a primitive type, required.
    Items(&'static str),
    /// `"items"` of an array's element type.
    Element(&'a ColumnType),
}

struct Schema<'a> {
    ty: &'static str,
    body: Body<'a>,
    optional: bool,
    name: Option<&'static str>,
    doc: Option<&'static str>,
    params: Vec<(&'static str, String)>,
}

impl<'a> Schema<'a> {
    fn new(optional: bool) -> Self {
        Schema {
            ty: "string",
            body: Body::None,
            optional,
            name: None,
            doc: None,
            params: Vec::new(),
        }
    }

    /// A logical type: a Connect type with a schema name (and version 1).
    fn logical(&mut self, ty: &'static str, name: &'static str) {
        self.ty = ty;
        self.name = Some(name);
    }

    fn write(&self, out: &mut Vec<u8>, opts: &ConvertOptions) {
        out.extend_from_slice(b"{\"type\":\"");
        out.extend_from_slice(self.ty.as_bytes());
        out.push(b'"');
        match self.body {
            Body::None => {}
            Body::Raw(raw) => out.extend_from_slice(raw.as_bytes()),
            Body::Items(item) => {
                out.extend_from_slice(b",\"items\":{\"type\":\"");
                out.extend_from_slice(item.as_bytes());
                out.extend_from_slice(b"\",\"optional\":false}");
            }
            Body::Element(element) => {
                out.extend_from_slice(b",\"items\":");
                // Debezium's enum elements are required; every other element is optional.
                let optional = !matches!(element.kind, TypeKind::Enum { .. });
                write_type_schema(out, element, optional, opts);
                out.push(b'}');
            }
        }
        out.extend_from_slice(if self.optional {
            b",\"optional\":true"
        } else {
            b",\"optional\":false"
        });
        if let Some(name) = self.name {
            out.extend_from_slice(b",\"name\":");
            write_json_string(out, name);
            out.extend_from_slice(b",\"version\":1");
        }
        if let Some(doc) = self.doc {
            out.extend_from_slice(b",\"doc\":");
            write_json_string(out, doc);
        }
        if !self.params.is_empty() {
            out.extend_from_slice(b",\"parameters\":{");
            for (n, (k, v)) in self.params.iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                write_json_string(out, k);
                out.push(b':');
                write_json_string(out, v);
            }
            out.push(b'}');
        }
    }
}

/// The schema default Debezium derives from a column's `DEFAULT`, as JSON.
///
/// Debezium parses the defaults of a fixed set of types (by type name: `bool`, `bit`,
/// `varbit`, the integer, floating-point and `numeric` types, `bpchar`, `varchar`, `text`,
/// `json`, `jsonb`, `xml`, `uuid`, `date`, `time`, `timestamp`, `timestamptz`, `interval`,
/// and enums): the quoted literal (`''` read as a quote), or the whole expression when it has no quotes. A function
/// call (`nextval(...)`, `now()`, `gen_random_uuid()`) gives the type's zero (`0`, `""`,
/// `false`, the epoch, the nil UUID, `{}`) instead. `NULL` defaults, defaults that do not
/// parse, defaults of other types (domains, arrays, `bytea`, `money`, ...) and struct-valued
/// ones (`numeric` without a scale in precise mode) give no default.
fn column_default(col: &ColumnSchema, opts: &ConvertOptions) -> Option<Vec<u8>> {
    let expr = col.default_expression.as_deref()?.trim();
    if expr.starts_with("NULL::") || expr.eq_ignore_ascii_case("null") {
        return None;
    }
    let ty = &col.ty;
    let is_enum = matches!(ty.kind, TypeKind::Enum { .. });
    let placeholder = match &*ty.name {
        "bit" => "00",
        "varbit" => "0",
        "bool" => "false",
        "bpchar" | "varchar" | "text" | "xml" => "",
        "numeric" | "float4" | "float8" => "0.0",
        "int2" | "int4" | "int8" => "0",
        "json" | "jsonb" => "{}",
        "uuid" => "00000000-0000-0000-0000-000000000000",
        "date" => "1970-01-01",
        "time" => "00:00:00",
        "timestamp" => "1970-01-01 00:00:00",
        "timestamptz" => "1970-01-01 00:00:00+00",
        "interval" => "00:00:00",
        _ if is_enum => "",
        _ => return None,
    };
    let text = if is_function_call(expr) {
        if is_enum {
            return None;
        }
        placeholder.to_string()
    } else if !expr.contains('\'') {
        expr.to_string()
    } else {
        first_quoted(expr)?
    };
    let mut out = Vec::new();
    match &ty.kind {
        TypeKind::Bool => out.extend_from_slice(if text.eq_ignore_ascii_case("true") {
            b"true"
        } else {
            b"false"
        }),
        TypeKind::Text
        | TypeKind::Json
        | TypeKind::Jsonb
        | TypeKind::Xml
        | TypeKind::Enum { .. } => write_json_string(&mut out, &text),
        TypeKind::Int2 => out.extend_from_slice(text.parse::<i16>().ok()?.to_string().as_bytes()),
        TypeKind::Int4 => out.extend_from_slice(text.parse::<i32>().ok()?.to_string().as_bytes()),
        TypeKind::Int8 => out.extend_from_slice(text.parse::<i64>().ok()?.to_string().as_bytes()),
        TypeKind::Numeric { scale, .. } => {
            if !is_plain_decimal(&text) {
                return None;
            }
            match opts.decimal_handling_mode {
                // A struct default (VariableScaleDecimal) is not allowed (KAFKA-12694).
                DecimalHandlingMode::Precise if scale.is_none() => return None,
                DecimalHandlingMode::String => write_json_string(&mut out, &text),
                _ => write_debezium_json(&mut out, ty, text.as_bytes(), opts).ok()?,
            }
        }
        TypeKind::Bit { .. } | TypeKind::VarBit { .. } => {
            if text.len() == 1 {
                out.extend_from_slice(if text == "1" { b"true" } else { b"false" });
            } else {
                write_debezium_json(&mut out, ty, text.as_bytes(), opts).ok()?
            }
        }
        TypeKind::Uuid => {
            let valid = text.len() == 36
                && text
                    .bytes()
                    .enumerate()
                    .all(|(i, b)| matches!(i, 8 | 13 | 18 | 23) == (b == b'-'))
                && text.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit());
            if !valid {
                return None;
            }
            write_json_string(&mut out, &text.to_ascii_lowercase())
        }
        TypeKind::Float4
        | TypeKind::Float8
        | TypeKind::Date
        | TypeKind::Time { .. }
        | TypeKind::Timestamp { .. }
        | TypeKind::TimestampTz { .. }
        | TypeKind::Interval => {
            let text = match (&ty.kind, text.len()) {
                // `time` literals may omit the seconds.
                (TypeKind::Time { .. }, 5) => format!("{text}:00"),
                _ => text,
            };
            write_debezium_json(&mut out, ty, text.as_bytes(), opts).ok()?
        }
        _ => return None,
    }
    Some(out)
}

/// The first quoted literal of an expression, `''` read as a quote.
fn first_quoted(expr: &str) -> Option<String> {
    let start = expr.find('\'')? + 1;
    let mut out = String::new();
    let mut chars = expr[start..].chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            if chars.peek() == Some(&'\'') {
                chars.next();
            } else {
                return Some(out);
            }
        }
        out.push(c);
    }
    None
}

/// Debezium's `^[(]?[A-Za-z0-9_]+\((?:.+(?:, ?.+)*)?\)`: a function call such as
/// `nextval('t_id_seq'::regclass)` or `now()`.
fn is_function_call(expr: &str) -> bool {
    let rest = expr.strip_prefix('(').unwrap_or(expr);
    let name_len = rest
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .count();
    name_len > 0 && rest[name_len..].starts_with('(') && rest[name_len + 1..].contains(')')
}

/// Whether Java's `new BigDecimal(text)` accepts the text (sign, digits, point, exponent).
fn is_plain_decimal(text: &str) -> bool {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], Some(&text[i + 1..])),
        None => (text, None),
    };
    let mantissa = mantissa.strip_prefix(['-', '+']).unwrap_or(mantissa);
    let digits = mantissa.bytes().filter(u8::is_ascii_digit).count();
    let points = mantissa.bytes().filter(|b| *b == b'.').count();
    let mantissa_ok = digits > 0 && points <= 1 && digits + points == mantissa.len();
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
    });
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::types::{oid, JsonRule, PgType, TypType, TypeRegistry};

    fn column(oid: u32, typmod: i32, not_null: bool, default: Option<&str>) -> ColumnSchema {
        let mut c = ColumnSchema::new("c", ColumnType::builtin(oid, typmod), oid, typmod);
        c.not_null = not_null;
        c.default_expression = default.map(str::to_string);
        c
    }

    fn field(c: &ColumnSchema, opts: &ConvertOptions) -> serde_json::Value {
        let mut out = Vec::new();
        write_column_field(&mut out, c, opts);
        serde_json::from_slice(&out).expect("valid JSON")
    }

    #[test]
    fn decimal_schema_has_scale_and_precision() {
        // numeric(10,2): typmod = ((10 << 16) | 2) + 4
        let c = column(oid::NUMERIC, (10 << 16 | 2) + 4, false, Some("1.5"));
        assert_eq!(
            field(&c, &ConvertOptions::default()),
            serde_json::json!({
                "type": "bytes", "optional": true,
                "name": "org.apache.kafka.connect.data.Decimal", "version": 1,
                "parameters": {"scale": "2", "connect.decimal.precision": "10"},
                "default": "AJY=", "field": "c"
            })
        );
    }

    #[test]
    fn defaults_follow_debezium() {
        let opts = ConvertOptions::default();
        let d = |c: ColumnSchema| field(&c, &opts).get("default").cloned();
        assert_eq!(
            d(column(oid::INT4, -1, true, Some("nextval('s'::regclass)"))),
            Some(serde_json::json!(0))
        );
        assert_eq!(
            d(column(oid::INT4, -1, false, Some("'-1'::integer"))),
            Some(serde_json::json!(-1))
        );
        assert_eq!(d(column(oid::INT4, -1, false, Some("NULL::integer"))), None);
        assert_eq!(
            d(column(oid::TEXT, -1, false, Some("'it''s'::text"))),
            Some(serde_json::json!("it's"))
        );
        assert_eq!(
            d(column(oid::BYTEA, -1, false, Some("'\\x01'::bytea"))),
            None
        );
        assert_eq!(
            d(column(oid::BOOL, -1, false, Some("true"))),
            Some(serde_json::json!(true))
        );
        assert_eq!(
            d(column(oid::TIMESTAMP, -1, true, Some("now()"))),
            Some(serde_json::json!(0))
        );
        assert_eq!(d(column(oid::NUMERIC, -1, false, Some("7"))), None);
    }

    #[test]
    fn function_calls_are_recognised() {
        assert!(is_function_call("nextval('t_id_seq'::regclass)"));
        assert!(is_function_call("now()"));
        assert!(is_function_call("(gen_random_uuid())"));
        assert!(!is_function_call("'now'::text"));
        assert!(!is_function_call("CURRENT_TIMESTAMP"));
    }

    /// The conformance cases recorded with Connect schemas (`tests/conformance`): each case's
    /// settings and first record.
    const RECORDED_SCHEMAS: [(&str, &str); 3] = [
        (
            include_str!("../../../tests/conformance/cases/schemas_scalar/connector.properties"),
            include_str!("../../../tests/conformance/expected/schemas_scalar.jsonl"),
        ),
        (
            include_str!("../../../tests/conformance/cases/schemas_modes/connector.properties"),
            include_str!("../../../tests/conformance/expected/schemas_modes.jsonl"),
        ),
        (
            include_str!(
                "../../../tests/conformance/cases/schemas_modes_double/connector.properties"
            ),
            include_str!("../../../tests/conformance/expected/schemas_modes_double.jsonl"),
        ),
    ];

    /// The columns of the recorded tables (`setup.sql` of the cases above), with their types
    /// as PostgreSQL 15 reports them; user and extension types get the OIDs below.
    const RECORDED_COLUMNS: &[(&str, u32, i32)] = &[
        ("id", oid::INT4, -1),
        ("c_bool", oid::BOOL, -1),
        ("c_int2", oid::INT2, -1),
        ("c_int4", oid::INT4, -1),
        ("c_int8", oid::INT8, -1),
        ("c_float4", oid::FLOAT4, -1),
        ("c_float8", oid::FLOAT8, -1),
        ("c_num", oid::NUMERIC, 655_366),
        ("c_num0", oid::NUMERIC, 327_684),
        ("c_num_free", oid::NUMERIC, -1),
        ("c_money", oid::MONEY, -1),
        ("c_text", oid::TEXT, -1),
        ("c_varchar", oid::VARCHAR, 24),
        ("c_char", oid::BPCHAR, 9),
        ("c_citext", CITEXT, -1),
        ("c_name", oid::NAME, -1),
        ("c_bytea", oid::BYTEA, -1),
        ("c_json", oid::JSON, -1),
        ("c_jsonb", oid::JSONB, -1),
        ("c_xml", oid::XML, -1),
        ("c_uuid", oid::UUID, -1),
        ("c_date", oid::DATE, -1),
        ("c_time", oid::TIME, -1),
        ("c_time3", oid::TIME, 3),
        ("c_timetz", oid::TIMETZ, -1),
        ("c_ts", oid::TIMESTAMP, -1),
        ("c_ts3", oid::TIMESTAMP, 3),
        ("c_ts0", oid::TIMESTAMP, 0),
        ("c_tstz", oid::TIMESTAMPTZ, -1),
        ("c_tstz3", oid::TIMESTAMPTZ, 3),
        ("c_interval", oid::INTERVAL, -1),
        ("c_inet", oid::INET, -1),
        ("c_cidr", oid::CIDR, -1),
        ("c_macaddr", oid::MACADDR, -1),
        ("c_macaddr8", oid::MACADDR8, -1),
        ("c_bit1", oid::BIT, 1),
        ("c_bit8", oid::BIT, 8),
        ("c_varbit", oid::VARBIT, 16),
        ("c_mood", MOOD, -1),
        ("c_dom", POSINT, -1),
        ("c_oid", oid::OID, -1),
        ("c_hstore", HSTORE, -1),
        ("c_ltree", LTREE, -1),
        ("c_point", oid::POINT, -1),
        ("c_int4range", oid::INT4RANGE, -1),
        ("c_tsrange", oid::TSRANGE, -1),
        ("c_ints", oid::INT4_ARRAY, -1),
        ("c_texts", oid::TEXT_ARRAY, -1),
        ("c_nums", oid::NUMERIC_ARRAY, 393_222),
        ("c_uuids", oid::UUID_ARRAY, -1),
        ("c_dates", oid::DATE_ARRAY, -1),
        ("c_moods", MOOD_ARRAY, -1),
        ("c_jsonbs", oid::JSONB_ARRAY, -1),
        ("c_byteas", oid::BYTEA_ARRAY, -1),
        ("c_times", oid::TIME_ARRAY, -1),
        ("c_serial", oid::INT4, -1),
    ];
    const HSTORE: u32 = 16_385;
    const LTREE: u32 = 16_513;
    const CITEXT: u32 = 16_698;
    const MOOD_ARRAY: u32 = 16_802;
    const MOOD: u32 = 16_803;
    const POSINT: u32 = 16_810;

    /// The built-in types, and the user and extension types of the recorded cases.
    fn recorded_registry() -> TypeRegistry {
        let mut registry = TypeRegistry::new();
        let base = |oid: u32, name: &str, typtype: TypType, category: u8| PgType {
            oid,
            name: name.to_owned(),
            namespace: "public".to_owned(),
            typtype,
            category,
            element: 0,
            array: 0,
            delimiter: b',',
            base_type: 0,
            base_typmod: -1,
            enum_labels: Arc::from(Vec::new()),
            attributes: Vec::new(),
            range_subtype: 0,
        };
        registry.insert(base(HSTORE, "hstore", TypType::Base, b'U'));
        registry.insert(base(LTREE, "ltree", TypType::Base, b'U'));
        registry.insert(base(CITEXT, "citext", TypType::Base, b'S'));
        registry.insert(PgType {
            enum_labels: Arc::from(vec!["sad".to_owned(), "ok".to_owned(), "happy".to_owned()]),
            array: MOOD_ARRAY,
            ..base(MOOD, "mood", TypType::Enum, b'E')
        });
        registry.insert(PgType {
            element: MOOD,
            ..base(MOOD_ARRAY, "_mood", TypType::Base, b'A')
        });
        registry.insert(PgType {
            base_type: oid::INT4,
            ..base(POSINT, "posint", TypType::Domain, b'N')
        });
        registry
    }

    fn recorded_options(properties: &str) -> ConvertOptions {
        let mut opts = ConvertOptions::default();
        for (key, value) in properties.lines().filter_map(|l| l.split_once('=')) {
            match key.trim() {
                "decimal.handling.mode" => opts.decimal_handling_mode = value.parse().unwrap(),
                "binary.handling.mode" => opts.binary_handling_mode = value.parse().unwrap(),
                "time.precision.mode" => opts.time_precision_mode = value.parse().unwrap(),
                "interval.handling.mode" => opts.interval_handling_mode = value.parse().unwrap(),
                "hstore.handling.mode" => opts.hstore_handling_mode = value.parse().unwrap(),
                _ => {}
            }
        }
        opts
    }

    /// Whether a value Debezium wrote has the JSON shape the rule writes.
    fn json_rule_allows(rule: JsonRule, opts: &ConvertOptions, value: &serde_json::Value) -> bool {
        use serde_json::Value as J;
        let numeric_mode = |precise: fn(&J) -> bool| match opts.decimal_handling_mode {
            DecimalHandlingMode::Precise => precise(value),
            DecimalHandlingMode::Double => value.is_f64(),
            DecimalHandlingMode::String => value.is_string(),
        };
        match rule {
            JsonRule::Bool => value.is_boolean(),
            JsonRule::Integer | JsonRule::EpochDay | JsonRule::Time | JsonRule::Timestamp => {
                value.is_i64()
            }
            JsonRule::Float32 | JsonRule::Float64 => value.is_number(),
            JsonRule::Decimal => numeric_mode(|v| v.is_string() || v.is_object()),
            JsonRule::Money => numeric_mode(J::is_string),
            JsonRule::Text | JsonRule::Binary | JsonRule::ZonedTime | JsonRule::ZonedTimestamp => {
                value.is_string()
            }
            JsonRule::Interval => match opts.interval_handling_mode {
                IntervalHandlingMode::Numeric => value.is_i64(),
                IntervalHandlingMode::String => value.is_string(),
            },
            JsonRule::Bits => value.is_boolean() || value.is_string(),
            JsonRule::Map => match opts.hstore_handling_mode {
                HstoreHandlingMode::Json => value.is_string(),
                HstoreHandlingMode::Map => value.is_object(),
            },
            JsonRule::Point | JsonRule::Spatial => value.is_object(),
            JsonRule::Array | JsonRule::Vector32 | JsonRule::Vector64 => value.is_array(),
        }
    }

    /// Each recorded column's Connect schema is the one its type's descriptor gives (as a
    /// whole, and by the rule's constant type and name where it has them), and each recorded
    /// value has the JSON shape of the descriptor's rule, in every recorded mode.
    #[test]
    fn descriptors_agree_with_the_recorded_schemas_and_values() {
        let registry = recorded_registry();
        let mut checked = std::collections::BTreeSet::new();
        for (properties, records) in RECORDED_SCHEMAS {
            let opts = recorded_options(properties);
            let first: serde_json::Value =
                serde_json::from_str(records.lines().next().unwrap()).unwrap();
            let value = &first["value"];
            let after = &value["payload"]["after"];
            let fields = value["schema"]["fields"][0]["fields"].as_array().unwrap();
            for recorded in fields {
                let column = recorded["field"].as_str().unwrap();
                let &(_, type_oid, typmod) = RECORDED_COLUMNS
                    .iter()
                    .find(|(name, _, _)| *name == column)
                    .unwrap_or_else(|| panic!("{column} is not in RECORDED_COLUMNS"));
                let ty = registry.resolve(type_oid, typmod);
                let descriptor = ty.kind.descriptor();

                let mut expected = recorded.clone();
                let object = expected.as_object_mut().unwrap();
                object.remove("default");
                object.remove("field");
                let optional = recorded["optional"].as_bool().unwrap();
                let mut out = Vec::new();
                write_type_schema(&mut out, &ty, optional, &opts);
                out.push(b'}');
                let written: serde_json::Value = serde_json::from_slice(&out).unwrap();
                assert_eq!(written, expected, "{column} ({})", ty.name);
                match descriptor.connect {
                    ConnectRule::Type(t) => {
                        assert_eq!(recorded["type"], t, "{column}");
                        assert!(recorded.get("name").is_none(), "{column}");
                    }
                    ConnectRule::Logical(t, name) => {
                        assert_eq!(recorded["type"], t, "{column}");
                        assert_eq!(recorded["name"], name, "{column}");
                    }
                    _ => {}
                }

                // Debezium writes null for `name` columns (a listed deviation).
                if !after[column].is_null() {
                    assert!(
                        json_rule_allows(descriptor.json, &opts, &after[column]),
                        "{column}: {:?} does not write {}",
                        descriptor.json,
                        after[column]
                    );
                }
                checked.insert(ty.kind.kind() as usize);
            }
        }
        // Every kind these recordings can show was checked.
        assert!(checked.len() >= 30, "{} kinds checked", checked.len());
    }

    #[test]
    fn constant_schemas_are_json() {
        for head in [
            TRANSACTION_KEY_HEAD,
            TRANSACTION_VALUE_HEAD,
            MESSAGE_KEY_HEAD,
        ] {
            let text = format!("{head}null}}");
            serde_json::from_str::<serde_json::Value>(&text).expect("valid JSON");
        }
        for mode in [BinaryHandlingMode::Bytes, BinaryHandlingMode::Hex] {
            let mut text = message_value_head(mode).to_vec();
            text.extend_from_slice(b"null}");
            serde_json::from_slice::<serde_json::Value>(&text).expect("valid JSON");
        }
    }
}
