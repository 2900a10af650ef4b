//! PostgreSQL type resolution and value conversion.
//!
//! pgoutput sends column values in the text format of each type's output function. This module
//!
//! - resolves a column's type OID and modifier to a [`ColumnType`] ([`TypeRegistry`], with every
//!   built-in type known and user/extension types loaded from the catalog through
//!   [`catalog_query`] and [`TypeRegistry::load_catalog_rows`]);
//! - writes a value as the JSON Debezium 3.6 produces with Kafka's `JsonConverter` and schemas
//!   disabled ([`write_debezium_json`], the hot path, straight into a byte buffer), including
//!   the placeholder for unchanged TOAST values ([`write_unavailable_placeholder`]);
//! - converts a value to a typed [`Value`] for the Rust API and the Python binding
//!   ([`parse_value`]).
//!
//! Each kind of type is described once, in `descriptor.rs`: the built-in OIDs and extension
//! type names that resolve to it, and its rule in every view (Debezium JSON, Kafka Connect
//! schema, typed value and so the Python object). The registry, the JSON writer, the Connect
//! schema writer and the value parser follow that table; adding a type that behaves like an
//! existing kind is one entry there.
//!
//! Conversion settings ([`ConvertOptions`]) carry Debezium's names, spellings and defaults.
//!
//! # Where the output differs from Debezium
//!
//! Each of these is a case where Debezium fails, loses the value, or emits something no
//! consumer can use; everywhere else the output is meant to be identical.
//!
//! - **NaN / ±Infinity in `numeric` with `decimal.handling.mode=precise`**: Debezium stops the
//!   connector with an error. We write `null`. (`double` mode gives `"NaN"`, `"Infinity"`,
//!   `"-Infinity"`; `string` mode `"NAN"`, `"POSITIVE_INFINITY"`, `"NEGATIVE_INFINITY"`, both
//!   as Debezium does.)
//! - **Multi-dimensional arrays**: by default one `null` per sub-array (`{{1,2},{3,4}}` →
//!   `[null,null]`), as Debezium writes for numbers, because Debezium's schema for any array
//!   column is a one-level array; for text arrays Debezium writes Java object names
//!   (`"[Ljava.lang.String;@7ee91dfd"`), we write `null` there too.
//!   `multidimensional.array.mode=nested` writes `[[1,2],[3,4]]`.
//! - **Types Debezium drops** (it leaves the column out of the event): composite types,
//!   `tsquery`, multiranges, the geometric types other than `point` (`line`, `lseg`, `box`,
//!   `path`, `polygon`, `circle`), `xid`, `pg_lsn`, `jsonpath`, pgvector's `sparsevec`,
//!   unknown extension types, and arrays of `money`, `interval`, `varbit`, `xml`, `point`,
//!   `name` and of domains. We keep the column: the first group as its PostgreSQL text in a
//!   JSON string, the arrays with their element conversion.
//! - **`name` columns**: Debezium declares a string but always writes `null`; we write the name.
//! - **`time[]`**: Debezium reads array elements through JDBC and loses the microseconds; we
//!   keep them.
//! - **`hstore` key order**: Debezium's order is that of a Java `HashMap`; we keep
//!   PostgreSQL's (sorted by key length, then bytes). The JSON object is the same.
//! - **Unchanged TOAST values** in `bytea` columns with `binary.handling.mode` `base64` or
//!   `base64-url-safe`: Debezium writes `null`; we write the placeholder bytes in that
//!   encoding. In arrays other than those Debezium handles (text, varchar, bpchar, json,
//!   jsonb, bytea, int4, int8, date, uuid), where Debezium fails, we write
//!   `["__debezium_unavailable_value"]` (`int2[]` gets the byte values like `int4[]`).
//! - **`timetz` at 24:00** with an offset other than `+00`: wraps around the day
//!   (`24:00:00-05` → `"05:00:00Z"`), where Debezium 3.6 fails. (`24:00:00+00` is
//!   `"00:00:00Z"`, as Debezium writes it.)
//! - **`timestamp` after year 294247** (microseconds beyond `i64`): saturates at
//!   `9223372036854775807`; Debezium's arithmetic wraps around to a negative number.
//! - **Negative `numeric` scales** (`numeric(3,-2)`): written with scale 0, exactly.
//! - **Server settings other than the defaults**: `bytea` in escape format, `money` in any
//!   `lc_monetary`, and every IntervalStyle are read, where Debezium supports only the
//!   defaults. DateStyle must be `ISO` (the default), as for Debezium.

mod array;
mod binary;
mod composite;
mod descriptor;
mod geometric;
mod hstore;
mod json_out;
mod numeric;
pub mod oid;
mod options;
mod registry;
mod temporal;
mod value;

pub(crate) use descriptor::ConnectRule;
#[cfg(test)]
pub(crate) use descriptor::JsonRule;
pub use descriptor::{ColumnType, CompositeField, TypeKind};
pub use json_out::{
    write_debezium_fallback, write_debezium_json, write_json_string, write_json_text,
    write_unavailable_placeholder,
};
pub use options::{
    BinaryHandlingMode, ConvertOptions, DecimalHandlingMode, HstoreHandlingMode,
    IntervalHandlingMode, MultidimensionalArrayMode, TimePrecisionMode,
    DEFAULT_MONEY_FRACTION_DIGITS, DEFAULT_UNAVAILABLE_VALUE_PLACEHOLDER,
};
pub use registry::{
    catalog_query, CompositeAttribute, PgType, TypType, TypeCatalogRow, TypeRegistry,
    TYPE_CATALOG_COLUMNS, TYPE_CATALOG_QUERY,
};
pub use value::{parse_value, Value};

use crate::{Error, ErrorKind};

/// The error for a value that cannot be converted: names the type and shows the start of the
/// value.
pub(crate) fn invalid_value(ty: &ColumnType, text: &[u8], why: &str) -> Error {
    const MAX: usize = 48;
    let mut excerpt = String::from_utf8_lossy(&text[..text.len().min(MAX)]).into_owned();
    if text.len() > MAX {
        excerpt.push('…');
    }
    Error::new(
        ErrorKind::Decoding,
        format!(
            "cannot convert a value of type {} (OID {}): {why}; value {excerpt:?}",
            ty.name, ty.oid
        ),
    )
}

/// Adds the enclosing array or composite type to an element's conversion error.
pub(crate) fn within(ty: &ColumnType, e: Error) -> Error {
    Error::new(
        e.kind(),
        format!(
            "{} (inside a value of type {}, OID {})",
            e.message(),
            ty.name,
            ty.oid
        ),
    )
}

/// Java's `UUID.nameUUIDFromBytes`: an MD5-based (version 3) UUID, lowercase.
pub(crate) fn placeholder_uuid(bytes: &[u8]) -> String {
    use md5::{Digest, Md5};
    let digest = Md5::digest(bytes);
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x30;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut hex = Vec::with_capacity(32);
    binary::push_hex(&mut hex, &b);
    let hex = String::from_utf8(hex).unwrap_or_default();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholder_uuid_matches_java() {
        // Java: UUID.nameUUIDFromBytes("abc".getBytes()) = 90015098-3cd2-3fb0-9696-3f7d28e17f72
        assert_eq!(
            placeholder_uuid(b"abc"),
            "90015098-3cd2-3fb0-9696-3f7d28e17f72"
        );
    }

    #[test]
    fn invalid_value_message() {
        let ty = ColumnType::builtin(oid::DATE, -1);
        let e = invalid_value(&ty, "x".repeat(100).as_bytes(), "malformed date");
        assert_eq!(e.kind(), ErrorKind::Decoding);
        assert!(e
            .message()
            .starts_with("cannot convert a value of type date (OID 1082)"));
        assert!(e.message().contains('…'));
    }
}
