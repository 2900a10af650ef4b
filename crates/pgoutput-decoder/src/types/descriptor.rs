//! One description per kind of PostgreSQL type, from which every view derives.
//!
//! [`DESCRIPTORS`] has one row per [`Kind`]: the built-in type OIDs and extension type names
//! that resolve to it (with how the column's type modifier is read), how its values are
//! written as Debezium JSON ([`JsonRule`]), its Kafka Connect schema ([`ConnectRule`]) and its
//! typed value, which is what the Python binding hands out ([`ValueRule`]). The registry
//! resolves a column through this table (once per relation column); the JSON writer, the
//! Connect schema writer and the typed-value parser each implement the rules and dispatch on
//! the rule of the column's kind ([`TypeKind::descriptor`]: a `match` and an array index, no
//! lookup by OID or name on the hot path).
//!
//! A new type that behaves like an existing kind is one more entry in that row's `types`; a
//! new kind is a [`TypeKind`] variant, its [`Kind`] and its row, with a new rule only where no
//! existing rule fits. Two Debezium lists stay with the code they concern, because Debezium
//! keys them on particular types rather than on how values are written: the placeholder for
//! unchanged TOAST values in arrays (`json_out.rs`) and the column defaults it parses
//! (`connect_schema.rs`).

use std::{fmt, sync::Arc};

use super::oid;

/// A composite attribute with its resolved type.
#[derive(Debug, Clone, PartialEq)]
pub struct CompositeField {
    /// The attribute name.
    pub name: Arc<str>,
    /// Its type.
    pub ty: ColumnType,
}

/// A resolved column type: the declared type (which may be a domain), the effective modifier,
/// and the conversion to apply. Cheap to clone; resolve once per relation column.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnType {
    /// The declared type OID (a domain's own OID for domain columns).
    pub oid: u32,
    /// The effective type modifier after domain resolution (-1 when none).
    pub typmod: i32,
    /// The declared type's name, e.g. `int4`, `_text`, `mood`, `us_postal_code`.
    pub name: Arc<str>,
    /// How values are converted.
    pub kind: TypeKind,
}

impl ColumnType {
    /// The element type when this is an array.
    pub fn element(&self) -> Option<&ColumnType> {
        match &self.kind {
            TypeKind::Array { element, .. } => Some(element),
            _ => None,
        }
    }
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// How values of a column are converted; the result of
/// [`TypeRegistry::resolve`](super::TypeRegistry::resolve).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum TypeKind {
    /// `bool`.
    Bool,
    /// `int2`.
    Int2,
    /// `int4`.
    Int4,
    /// `int8`.
    Int8,
    /// `oid` (Debezium: INT64).
    Oid,
    /// `float4`.
    Float4,
    /// `float8`.
    Float8,
    /// `numeric`; `None` when the column has no type modifier (Debezium's
    /// `VariableScaleDecimal` in precise mode). A negative declared scale (PostgreSQL 15's
    /// `numeric(3,-2)`) is reported as scale 0, which represents the same values exactly.
    Numeric {
        /// Declared precision.
        precision: Option<u16>,
        /// Declared scale (never negative).
        scale: Option<u16>,
    },
    /// `money`.
    Money,
    /// `text`, `varchar`, `bpchar` (padding kept), `name`, `"char"`, `citext`.
    Text,
    /// `bytea`.
    Bytea,
    /// `json`.
    Json,
    /// `jsonb`.
    Jsonb,
    /// `xml`.
    Xml,
    /// `uuid`.
    Uuid,
    /// `date`.
    Date,
    /// `time(p)`; `None` when unspecified (6).
    Time {
        /// Fractional-second digits.
        precision: Option<u8>,
    },
    /// `timetz(p)`.
    TimeTz {
        /// Fractional-second digits.
        precision: Option<u8>,
    },
    /// `timestamp(p)`.
    Timestamp {
        /// Fractional-second digits.
        precision: Option<u8>,
    },
    /// `timestamptz(p)`.
    TimestampTz {
        /// Fractional-second digits.
        precision: Option<u8>,
    },
    /// `interval`.
    Interval,
    /// `inet`.
    Inet,
    /// `cidr`.
    Cidr,
    /// `macaddr`.
    MacAddr,
    /// `macaddr8`.
    MacAddr8,
    /// `bit(n)`; `length` is `None` when the modifier is missing.
    Bit {
        /// Declared length in bits.
        length: Option<u32>,
    },
    /// `varbit(n)`; `None` when unbounded (Debezium: length 2147483647).
    VarBit {
        /// Declared maximum length in bits.
        length: Option<u32>,
    },
    /// An enum type with its labels in sort order.
    Enum {
        /// Labels in `enumsortorder`.
        labels: Arc<[String]>,
    },
    /// A range type (built-in or user-defined); written as its text.
    Range,
    /// A multirange type; written as its text.
    Multirange,
    /// The `hstore` extension type.
    Hstore,
    /// The `ltree` extension type.
    Ltree,
    /// `tsvector`.
    TsVector,
    /// `tsquery` (Debezium drops it; written as text).
    TsQuery,
    /// `point`.
    Point,
    /// `line`, `lseg`, `box`, `path`, `polygon`, `circle` (Debezium 3.6 drops them; written as
    /// text).
    Geometric,
    /// PostGIS `geometry`.
    Geometry,
    /// PostGIS `geography`.
    Geography,
    /// pgvector `vector` (Debezium `DoubleVector`).
    Vector,
    /// pgvector `halfvec` (Debezium `FloatVector`).
    HalfVec,
    /// An array of `element`.
    Array {
        /// The element type.
        element: Box<ColumnType>,
        /// The element separator (`,`, or `;` for `box`).
        delimiter: u8,
    },
    /// A composite (row) type.
    Composite {
        /// Attributes in column order.
        fields: Arc<[CompositeField]>,
    },
    /// A known type with no dedicated conversion (e.g. `xid`, `pg_lsn`, `tid`, `jsonpath`,
    /// `sparsevec`, other extension types): written as its text.
    Other,
    /// An OID the registry does not know: written as its text.
    Unknown,
}

/// [`TypeKind`] without its parameters: the index of its row in [`DESCRIPTORS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Bool,
    Int2,
    Int4,
    Int8,
    Oid,
    Float4,
    Float8,
    Numeric,
    Money,
    Text,
    Bytea,
    Json,
    Jsonb,
    Xml,
    Uuid,
    Date,
    Time,
    TimeTz,
    Timestamp,
    TimestampTz,
    Interval,
    Inet,
    Cidr,
    MacAddr,
    MacAddr8,
    Bit,
    VarBit,
    Enum,
    Range,
    Multirange,
    Hstore,
    Ltree,
    TsVector,
    TsQuery,
    Point,
    Geometric,
    Geometry,
    Geography,
    Vector,
    HalfVec,
    Array,
    Composite,
    Other,
    Unknown,
}

impl Kind {
    const COUNT: usize = Kind::Unknown as usize + 1;
}

impl TypeKind {
    /// This kind without its parameters.
    pub(crate) const fn kind(&self) -> Kind {
        match self {
            TypeKind::Bool => Kind::Bool,
            TypeKind::Int2 => Kind::Int2,
            TypeKind::Int4 => Kind::Int4,
            TypeKind::Int8 => Kind::Int8,
            TypeKind::Oid => Kind::Oid,
            TypeKind::Float4 => Kind::Float4,
            TypeKind::Float8 => Kind::Float8,
            TypeKind::Numeric { .. } => Kind::Numeric,
            TypeKind::Money => Kind::Money,
            TypeKind::Text => Kind::Text,
            TypeKind::Bytea => Kind::Bytea,
            TypeKind::Json => Kind::Json,
            TypeKind::Jsonb => Kind::Jsonb,
            TypeKind::Xml => Kind::Xml,
            TypeKind::Uuid => Kind::Uuid,
            TypeKind::Date => Kind::Date,
            TypeKind::Time { .. } => Kind::Time,
            TypeKind::TimeTz { .. } => Kind::TimeTz,
            TypeKind::Timestamp { .. } => Kind::Timestamp,
            TypeKind::TimestampTz { .. } => Kind::TimestampTz,
            TypeKind::Interval => Kind::Interval,
            TypeKind::Inet => Kind::Inet,
            TypeKind::Cidr => Kind::Cidr,
            TypeKind::MacAddr => Kind::MacAddr,
            TypeKind::MacAddr8 => Kind::MacAddr8,
            TypeKind::Bit { .. } => Kind::Bit,
            TypeKind::VarBit { .. } => Kind::VarBit,
            TypeKind::Enum { .. } => Kind::Enum,
            TypeKind::Range => Kind::Range,
            TypeKind::Multirange => Kind::Multirange,
            TypeKind::Hstore => Kind::Hstore,
            TypeKind::Ltree => Kind::Ltree,
            TypeKind::TsVector => Kind::TsVector,
            TypeKind::TsQuery => Kind::TsQuery,
            TypeKind::Point => Kind::Point,
            TypeKind::Geometric => Kind::Geometric,
            TypeKind::Geometry => Kind::Geometry,
            TypeKind::Geography => Kind::Geography,
            TypeKind::Vector => Kind::Vector,
            TypeKind::HalfVec => Kind::HalfVec,
            TypeKind::Array { .. } => Kind::Array,
            TypeKind::Composite { .. } => Kind::Composite,
            TypeKind::Other => Kind::Other,
            TypeKind::Unknown => Kind::Unknown,
        }
    }

    /// The description of this kind: how each view treats its values.
    #[inline]
    pub(crate) fn descriptor(&self) -> &'static TypeDescriptor {
        &DESCRIPTORS[self.kind() as usize]
    }

    /// The declared fractional-second digits of a time or timestamp kind.
    pub(crate) fn time_precision(&self) -> Option<u8> {
        match self {
            TypeKind::Time { precision }
            | TypeKind::TimeTz { precision }
            | TypeKind::Timestamp { precision }
            | TypeKind::TimestampTz { precision } => *precision,
            _ => None,
        }
    }
}

/// Where a type comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TypeName {
    /// A built-in type, by its fixed OID (its name is in [`oid::BUILTIN_TYPES`]).
    Builtin(u32),
    /// An extension type, by `pg_type.typname` (its OID differs per database; Debezium
    /// recognises these by name too).
    Extension(&'static str),
}

/// How a value is written as the JSON Debezium's `JsonConverter` produces (`json_out.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JsonRule {
    /// `true` / `false`.
    Bool,
    /// A JSON integer, range-checked for the type.
    Integer,
    /// A `float` (FLOAT32) as Java prints it; non-finite values as strings.
    Float32,
    /// A `double` (FLOAT64) as Jackson prints it; non-finite values as strings.
    Float64,
    /// `decimal.handling.mode`: base64 of the unscaled value (a struct without a declared
    /// scale), a double, or a string.
    Decimal,
    /// `money`: like [`JsonRule::Decimal`] at `money.fraction.digits`.
    Money,
    /// The server's text as a JSON string.
    Text,
    /// `binary.handling.mode`: base64, base64 URL-safe or hex of the decoded bytes.
    Binary,
    /// Days since the epoch.
    EpochDay,
    /// Microseconds (or milliseconds, by `time.precision.mode`) since midnight.
    Time,
    /// `HH:MM:SS[.fff]Z` in UTC.
    ZonedTime,
    /// Microseconds (or milliseconds) since the epoch.
    Timestamp,
    /// ISO 8601 in UTC, with the declared fractional digits.
    ZonedTimestamp,
    /// `interval.handling.mode`: microseconds or an ISO 8601 duration.
    Interval,
    /// `true`/`false` for one bit, otherwise base64 of the bits, little-endian.
    Bits,
    /// `hstore.handling.mode`: a JSON object or its text.
    Map,
    /// `{"x","y","wkb","srid"}`.
    Point,
    /// PostGIS `{"wkb","srid"}` from hex EWKB.
    Spatial,
    /// A list of doubles.
    Vector64,
    /// A list of floats.
    Vector32,
    /// A list of the element type's values (`multidimensional.array.mode`).
    Array,
}

/// The Kafka Connect schema of a column (`connect_schema.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConnectRule {
    /// A Connect type without a semantic name.
    Type(&'static str),
    /// A Connect type with a semantic name (version 1).
    Logical(&'static str, &'static str),
    /// `Decimal` with scale and precision, `VariableScaleDecimal`, `double` or `string`, by
    /// `decimal.handling.mode` and the modifier.
    Decimal,
    /// `Decimal` at `money.fraction.digits`, `double` or `string`.
    Money,
    /// `bytes` or `string`, by `binary.handling.mode`.
    Binary,
    /// Debezium's or Connect's `Date`, by `time.precision.mode`.
    Date,
    /// `Time`, `MicroTime` or Connect's `Time`, by `time.precision.mode` and precision.
    Time,
    /// `Timestamp`, `MicroTimestamp` or Connect's `Timestamp`, likewise.
    Timestamp,
    /// `MicroDuration` or `Interval`, by `interval.handling.mode`.
    Interval,
    /// `boolean` for one bit, otherwise `Bits` with its length.
    Bits,
    /// `Enum` with its allowed labels.
    Enum,
    /// `Json` or a map of strings, by `hstore.handling.mode`.
    Hstore,
    /// Debezium's `Point` struct.
    Point,
    /// A PostGIS struct (`wkb`, `srid`) with this name and doc.
    Spatial {
        /// The schema name.
        name: &'static str,
        /// The schema doc.
        doc: &'static str,
    },
    /// An array of `item` with this name.
    Vector {
        /// The schema name.
        name: &'static str,
        /// The Connect type of the items.
        item: &'static str,
    },
    /// An array of the element type's schema.
    Array,
}

/// The typed value ([`Value`](super::Value), `value.rs`), which the Python binding turns into a
/// Python object by its variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueRule {
    /// `Value::Bool` (Python `bool`).
    Bool,
    /// `Value::Int`, range-checked (Python `int`).
    Int,
    /// `Value::Float` (Python `float`).
    Float,
    /// `Value::Numeric` (Python `decimal.Decimal`, by `decimal_handling_mode`).
    Numeric,
    /// `Value::Numeric` of a `money` value.
    Money,
    /// `Value::Text`, the server's text (Python `str`).
    Text,
    /// `Value::Text` of a checked bit string.
    Bits,
    /// `Value::Text` of a checked point.
    Point,
    /// `Value::Text` of checked hex EWKB.
    Ewkb,
    /// `Value::Bytes` (Python `bytes`).
    Bytes,
    /// `Value::Json` (Python: the parsed document).
    Json,
    /// `Value::Uuid` (Python `str`).
    Uuid,
    /// `Value::Date`, ISO 8601 (Python `str`).
    Date,
    /// `Value::Time`.
    Time,
    /// `Value::TimeTz`.
    TimeTz,
    /// `Value::Timestamp`.
    Timestamp,
    /// `Value::TimestampTz`, in UTC.
    TimestampTz,
    /// `Value::Interval`, an ISO 8601 duration.
    Interval,
    /// `Value::Map` (Python `dict`).
    Map,
    /// `Value::Array` of floats (Python `list`).
    Vector,
    /// `Value::Array` of the element type's values (Python `list`).
    Array,
    /// `Value::Composite` (Python `dict`).
    Composite,
}

/// How every view treats one kind of type.
#[derive(Debug)]
pub(crate) struct TypeDescriptor {
    /// Its row's [`Kind`]: the tests check the table's order with it.
    #[allow(dead_code)]
    pub kind: Kind,
    /// The types that resolve to this kind; empty for the kinds `pg_type.typtype` decides
    /// (enums, ranges, multirange, arrays, composites) and the fallbacks.
    pub types: &'static [TypeName],
    /// The kind of a column of one of `types`, from its type modifier.
    pub with_modifier: fn(i32) -> TypeKind,
    pub json: JsonRule,
    pub connect: ConnectRule,
    pub value: ValueRule,
}

use ConnectRule as C;
use JsonRule as J;
use TypeName::{Builtin as B, Extension as X};
use ValueRule as V;

const fn d(
    kind: Kind,
    types: &'static [TypeName],
    with_modifier: fn(i32) -> TypeKind,
    json: JsonRule,
    connect: ConnectRule,
    value: ValueRule,
) -> TypeDescriptor {
    TypeDescriptor {
        kind,
        types,
        with_modifier,
        json,
        connect,
        value,
    }
}

/// Every kind, in [`Kind`] order.
#[rustfmt::skip]
pub(crate) static DESCRIPTORS: [TypeDescriptor; Kind::COUNT] = [
    d(Kind::Bool, &[B(oid::BOOL)], |_| TypeKind::Bool, J::Bool, C::Type("boolean"), V::Bool),
    d(Kind::Int2, &[B(oid::INT2)], |_| TypeKind::Int2, J::Integer, C::Type("int16"), V::Int),
    d(Kind::Int4, &[B(oid::INT4)], |_| TypeKind::Int4, J::Integer, C::Type("int32"), V::Int),
    d(Kind::Int8, &[B(oid::INT8)], |_| TypeKind::Int8, J::Integer, C::Type("int64"), V::Int),
    d(Kind::Oid, &[B(oid::OID)], |_| TypeKind::Oid, J::Integer, C::Type("int64"), V::Int),
    d(Kind::Float4, &[B(oid::FLOAT4)], |_| TypeKind::Float4, J::Float32, C::Type("float"), V::Float),
    d(Kind::Float8, &[B(oid::FLOAT8)], |_| TypeKind::Float8, J::Float64, C::Type("double"), V::Float),
    d(Kind::Numeric, &[B(oid::NUMERIC)], numeric, J::Decimal, C::Decimal, V::Numeric),
    d(Kind::Money, &[B(oid::MONEY)], |_| TypeKind::Money, J::Money, C::Money, V::Money),
    d(
        Kind::Text,
        &[B(oid::TEXT), B(oid::VARCHAR), B(oid::BPCHAR), B(oid::NAME), B(oid::CHAR), X("citext")],
        |_| TypeKind::Text, J::Text, C::Type("string"), V::Text,
    ),
    d(Kind::Bytea, &[B(oid::BYTEA)], |_| TypeKind::Bytea, J::Binary, C::Binary, V::Bytes),
    d(Kind::Json, &[B(oid::JSON)], |_| TypeKind::Json, J::Text, C::Logical("string", "io.debezium.data.Json"), V::Json),
    d(Kind::Jsonb, &[B(oid::JSONB)], |_| TypeKind::Jsonb, J::Text, C::Logical("string", "io.debezium.data.Json"), V::Json),
    d(Kind::Xml, &[B(oid::XML)], |_| TypeKind::Xml, J::Text, C::Logical("string", "io.debezium.data.Xml"), V::Text),
    d(Kind::Uuid, &[B(oid::UUID)], |_| TypeKind::Uuid, J::Text, C::Logical("string", "io.debezium.data.Uuid"), V::Uuid),
    d(Kind::Date, &[B(oid::DATE)], |_| TypeKind::Date, J::EpochDay, C::Date, V::Date),
    d(Kind::Time, &[B(oid::TIME)], |m| TypeKind::Time { precision: time_precision(m) }, J::Time, C::Time, V::Time),
    d(
        Kind::TimeTz, &[B(oid::TIMETZ)], |m| TypeKind::TimeTz { precision: time_precision(m) },
        J::ZonedTime, C::Logical("string", "io.debezium.time.ZonedTime"), V::TimeTz,
    ),
    d(
        Kind::Timestamp, &[B(oid::TIMESTAMP)], |m| TypeKind::Timestamp { precision: time_precision(m) },
        J::Timestamp, C::Timestamp, V::Timestamp,
    ),
    d(
        Kind::TimestampTz, &[B(oid::TIMESTAMPTZ)], |m| TypeKind::TimestampTz { precision: time_precision(m) },
        J::ZonedTimestamp, C::Logical("string", "io.debezium.time.ZonedTimestamp"), V::TimestampTz,
    ),
    d(Kind::Interval, &[B(oid::INTERVAL)], |_| TypeKind::Interval, J::Interval, C::Interval, V::Interval),
    d(Kind::Inet, &[B(oid::INET)], |_| TypeKind::Inet, J::Text, C::Type("string"), V::Text),
    d(Kind::Cidr, &[B(oid::CIDR)], |_| TypeKind::Cidr, J::Text, C::Type("string"), V::Text),
    d(Kind::MacAddr, &[B(oid::MACADDR)], |_| TypeKind::MacAddr, J::Text, C::Type("string"), V::Text),
    d(Kind::MacAddr8, &[B(oid::MACADDR8)], |_| TypeKind::MacAddr8, J::Text, C::Type("string"), V::Text),
    d(Kind::Bit, &[B(oid::BIT)], |m| TypeKind::Bit { length: bit_length(m) }, J::Bits, C::Bits, V::Bits),
    d(Kind::VarBit, &[B(oid::VARBIT)], |m| TypeKind::VarBit { length: bit_length(m) }, J::Bits, C::Bits, V::Bits),
    d(Kind::Enum, &[], decided_elsewhere, J::Text, C::Enum, V::Text),
    d(Kind::Range, &[], decided_elsewhere, J::Text, C::Type("string"), V::Text),
    d(Kind::Multirange, &[], decided_elsewhere, J::Text, C::Type("string"), V::Text),
    d(Kind::Hstore, &[X("hstore")], |_| TypeKind::Hstore, J::Map, C::Hstore, V::Map),
    d(Kind::Ltree, &[X("ltree")], |_| TypeKind::Ltree, J::Text, C::Logical("string", "io.debezium.data.Ltree"), V::Text),
    d(
        Kind::TsVector, &[B(oid::TSVECTOR)], |_| TypeKind::TsVector,
        J::Text, C::Logical("string", "io.debezium.data.Tsvector"), V::Text,
    ),
    d(Kind::TsQuery, &[B(oid::TSQUERY)], |_| TypeKind::TsQuery, J::Text, C::Type("string"), V::Text),
    d(Kind::Point, &[B(oid::POINT)], |_| TypeKind::Point, J::Point, C::Point, V::Point),
    d(
        Kind::Geometric,
        &[B(oid::LINE), B(oid::LSEG), B(oid::BOX), B(oid::PATH), B(oid::POLYGON), B(oid::CIRCLE)],
        |_| TypeKind::Geometric, J::Text, C::Type("string"), V::Text,
    ),
    d(
        Kind::Geometry, &[X("geometry")], |_| TypeKind::Geometry, J::Spatial,
        C::Spatial { name: "io.debezium.data.geometry.Geometry", doc: "Geometry" }, V::Ewkb,
    ),
    d(
        Kind::Geography, &[X("geography")], |_| TypeKind::Geography, J::Spatial,
        C::Spatial { name: "io.debezium.data.geometry.Geography", doc: "Geography" }, V::Ewkb,
    ),
    d(
        Kind::Vector, &[X("vector")], |_| TypeKind::Vector, J::Vector64,
        C::Vector { name: "io.debezium.data.DoubleVector", item: "double" }, V::Vector,
    ),
    d(
        Kind::HalfVec, &[X("halfvec")], |_| TypeKind::HalfVec, J::Vector32,
        C::Vector { name: "io.debezium.data.FloatVector", item: "float" }, V::Vector,
    ),
    d(Kind::Array, &[], decided_elsewhere, J::Array, C::Array, V::Array),
    d(Kind::Composite, &[], decided_elsewhere, J::Text, C::Type("string"), V::Composite),
    d(Kind::Other, &[], decided_elsewhere, J::Text, C::Type("string"), V::Text),
    d(Kind::Unknown, &[], decided_elsewhere, J::Text, C::Type("string"), V::Text),
];

/// The kind of a base type (not an array, enum, range or composite): by built-in OID, then
/// by extension type name; [`TypeKind::Other`] for any other type.
pub(crate) fn base_kind(oid: u32, name: &str, typmod: i32) -> TypeKind {
    let by_oid = DESCRIPTORS
        .iter()
        .find(|d| d.types.contains(&TypeName::Builtin(oid)));
    let found = by_oid.or_else(|| {
        DESCRIPTORS.iter().find(|d| {
            d.types
                .iter()
                .any(|t| matches!(t, TypeName::Extension(n) if *n == name))
        })
    });
    found.map_or(TypeKind::Other, |d| (d.with_modifier)(typmod))
}

/// The kinds no type resolves to by OID or name: `pg_type.typtype` decides them (enum,
/// range, multirange, array, composite) or they are the registry's fallbacks.
fn decided_elsewhere(_: i32) -> TypeKind {
    TypeKind::Other
}

fn numeric(typmod: i32) -> TypeKind {
    if typmod >= 4 {
        let m = typmod - 4;
        let precision = ((m >> 16) & 0xFFFF) as u16;
        // PostgreSQL 15 stores the scale as a signed 11-bit field.
        let scale = (((m & 0x7FF) ^ 1024) - 1024).max(0) as u16;
        TypeKind::Numeric {
            precision: Some(precision),
            scale: Some(scale),
        }
    } else {
        TypeKind::Numeric {
            precision: None,
            scale: None,
        }
    }
}

/// Precision of `time`, `timetz`, `timestamp`, `timestamptz` from the modifier.
fn time_precision(typmod: i32) -> Option<u8> {
    (0..=6).contains(&typmod).then_some(typmod as u8)
}

fn bit_length(typmod: i32) -> Option<u32> {
    (typmod > 0).then_some(typmod as u32)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn rows_are_in_kind_order_and_resolve_to_their_kind() {
        for (i, d) in DESCRIPTORS.iter().enumerate() {
            assert_eq!(d.kind as usize, i, "{:?} is out of place", d.kind);
            if !d.types.is_empty() {
                for typmod in [-1, 0, 1, 3, 8, 655_366] {
                    assert_eq!((d.with_modifier)(typmod).kind(), d.kind, "{:?}", d.kind);
                }
            }
        }
    }

    /// Every type named in the table is described once, every built-in one is a row of
    /// `oid::BUILTIN_TYPES` (which gives its name and catalog facts), and the registry
    /// resolves it to the row's kind, which has a rule in every view.
    #[test]
    fn every_listed_type_has_one_row_a_name_and_every_view() {
        let mut rows: BTreeMap<String, Kind> = BTreeMap::new();
        for d in &DESCRIPTORS {
            for t in d.types {
                let name = match t {
                    TypeName::Builtin(o) => {
                        let b = oid::BUILTIN_TYPES
                            .iter()
                            .find(|b| b.oid == *o)
                            .unwrap_or_else(|| panic!("OID {o} is not a built-in type"));
                        assert_eq!(
                            ColumnType::builtin(*o, -1).kind.kind(),
                            d.kind,
                            "{}",
                            b.name
                        );
                        b.name.to_owned()
                    }
                    TypeName::Extension(n) => {
                        assert!(
                            !oid::BUILTIN_TYPES.iter().any(|b| b.name == *n),
                            "{n} is built in"
                        );
                        (*n).to_owned()
                    }
                };
                assert_eq!(rows.insert(name.clone(), d.kind), None, "{name} twice");
                let kind = (d.with_modifier)(-1);
                let described = kind.descriptor();
                assert_eq!(described.kind, d.kind);
                // Each view's rule is the row's: nothing in a view keys on the type itself.
                assert_eq!(
                    (described.json, described.connect, described.value),
                    (d.json, d.connect, d.value)
                );
            }
        }
        // The built-in types the table does not list are written as their text.
        for b in oid::BUILTIN_TYPES {
            let kind = ColumnType::builtin(b.oid, -1).kind;
            if !rows.contains_key(b.name) {
                assert!(
                    matches!(
                        kind,
                        TypeKind::Array { .. }
                            | TypeKind::Range
                            | TypeKind::Multirange
                            | TypeKind::Other
                    ),
                    "{} resolves to {kind:?} without a row",
                    b.name
                );
            }
        }
    }
}
