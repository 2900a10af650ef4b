//! The typed form of a column value, for the Rust API and the Python binding.

use super::{
    array::{parse_array, ArrayFailure, ArrayVisitor},
    binary::decode_bytea,
    composite::parse_record,
    descriptor::{ColumnType, TypeKind, ValueRule},
    geometric::{parse_hex_ewkb, parse_pg_float, parse_point, parse_vector},
    hstore::parse_hstore,
    invalid_value,
    json_out::{parse_bool, parse_integer},
    numeric::{parse_money, parse_numeric, NumericText},
    options::ConvertOptions,
    temporal::{
        parse_date, parse_interval, parse_time, parse_timestamp, parse_timestamptz, parse_timetz,
        write_clock, write_date, write_datetime, write_offset, DateValue, Fraction, TimestampValue,
    },
    within,
};
use crate::{Error, Result};

/// A column value converted to a Rust value.
///
/// Temporal values are ISO-8601 strings in the forms Python's `fromisoformat` reads (a
/// fraction, when present, has six digits): date `2024-02-29`, time `13:45:30.123456`, time
/// with zone `13:45:30.500000+05:30` (offset as written by the server), timestamp
/// `2024-01-15T10:30:00.123456`, timestamp with zone in UTC `2024-01-15T08:30:00.654321+00:00`.
/// Years outside 1–9999 are written like Java does (`+10000-01-01`, `0000-01-01` for 1 BC,
/// `-0043-03-15` for 44 BC); the infinities are `infinity` / `-infinity`. Intervals are
/// ISO-8601 durations (`P1Y2M3DT4H5M6.789S`, `PT0S`, with negative parts as `-`).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL (inside arrays and composites; top-level NULLs are the caller's business).
    Null,
    /// An unchanged TOAST value that pgoutput did not send.
    Unavailable,
    /// `bool` (bit strings, including `bit(1)`, are [`Value::Text`] of `0`s and `1`s).
    Bool(bool),
    /// `int2`, `int4`, `int8`, `oid`.
    Int(i64),
    /// `float4`, `float8` (NaN and the infinities included).
    Float(f64),
    /// `numeric` and `money` as canonical decimal text (`-12.50`), or `NaN`, `Infinity`,
    /// `-Infinity`, all of which Python's `decimal.Decimal` accepts.
    Numeric(String),
    /// Text-like types and every other type (enums, bit strings, network addresses, ranges,
    /// `point` and the other geometric types, PostGIS hex EWKB, ...), as the server printed it.
    Text(String),
    /// `bytea`.
    Bytes(Vec<u8>),
    /// `json` / `jsonb` text as received.
    Json(String),
    /// `uuid`.
    Uuid(String),
    /// `date`.
    Date(String),
    /// `time`.
    Time(String),
    /// `timetz`.
    TimeTz(String),
    /// `timestamp`.
    Timestamp(String),
    /// `timestamptz`, in UTC.
    TimestampTz(String),
    /// `interval`.
    Interval(String),
    /// Arrays (nested for more than one dimension) and pgvector vectors.
    Array(Vec<Value>),
    /// A composite value: attribute names and values in column order.
    Composite(Vec<(String, Value)>),
    /// `hstore`.
    Map(Vec<(String, Option<String>)>),
}

/// Converts one non-NULL column value, given as the text pgoutput sent, to a [`Value`].
///
/// The result does not depend on `opts` today (the typed value is always exact); it is taken
/// so that mode-dependent conversions can be added without an API change.
pub fn parse_value(ty: &ColumnType, text: &[u8], opts: &ConvertOptions) -> Result<Value> {
    parse_at(ty, text, opts, 0)
}

fn lossy(text: &[u8]) -> String {
    String::from_utf8_lossy(text).into_owned()
}

fn ascii_string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_default()
}

const MAX_DEPTH: usize = 32;

fn parse_at(ty: &ColumnType, text: &[u8], opts: &ConvertOptions, depth: usize) -> Result<Value> {
    let bad = |why: &str| invalid_value(ty, text, why);
    if depth > MAX_DEPTH {
        return Err(bad("nested too deeply"));
    }
    Ok(match ty.kind.descriptor().value {
        ValueRule::Bool => Value::Bool(parse_bool(text).ok_or_else(|| bad("expected t or f"))?),
        ValueRule::Int => Value::Int(parse_integer(ty, text)?),
        ValueRule::Float => {
            let s = std::str::from_utf8(text).map_err(|_| bad("not a number"))?;
            Value::Float(parse_pg_float(s.trim()).ok_or_else(|| bad("not a number"))?)
        }
        ValueRule::Numeric => match parse_numeric(text).ok_or_else(|| bad("malformed numeric"))? {
            NumericText::NaN => Value::Numeric("NaN".to_owned()),
            NumericText::PositiveInfinity => Value::Numeric("Infinity".to_owned()),
            NumericText::NegativeInfinity => Value::Numeric("-Infinity".to_owned()),
            NumericText::Finite(d) => Value::Numeric(d.to_decimal().to_plain_string()),
        },
        ValueRule::Money => Value::Numeric(
            parse_money(text)
                .ok_or_else(|| bad("malformed money"))?
                .to_plain_string(),
        ),
        ValueRule::Json => Value::Json(lossy(text)),
        ValueRule::Uuid => Value::Uuid(lossy(text)),
        ValueRule::Bytes => Value::Bytes(decode_bytea(text).ok_or_else(|| bad("malformed bytea"))?),
        ValueRule::Date => Value::Date(
            match parse_date(text).ok_or_else(|| bad("malformed date"))? {
                DateValue::Days(d) => {
                    let mut out = Vec::with_capacity(10);
                    write_date(&mut out, d);
                    ascii_string(out)
                }
                DateValue::PositiveInfinity => "infinity".to_owned(),
                DateValue::NegativeInfinity => "-infinity".to_owned(),
            },
        ),
        ValueRule::Time => {
            let micros = parse_time(text).ok_or_else(|| bad("malformed time"))?;
            let mut out = Vec::with_capacity(15);
            write_clock(&mut out, micros, Fraction::SixIfAny);
            Value::Time(ascii_string(out))
        }
        ValueRule::TimeTz => {
            let t = parse_timetz(text).ok_or_else(|| bad("malformed time with time zone"))?;
            let mut out = Vec::with_capacity(21);
            write_clock(&mut out, t.micros, Fraction::SixIfAny);
            write_offset(&mut out, t.offset_seconds);
            Value::TimeTz(ascii_string(out))
        }
        ValueRule::Timestamp => Value::Timestamp(
            match parse_timestamp(text).ok_or_else(|| bad("malformed timestamp"))? {
                TimestampValue::Micros(m) => {
                    let mut out = Vec::with_capacity(26);
                    write_datetime(&mut out, m, Fraction::SixIfAny);
                    ascii_string(out)
                }
                TimestampValue::PositiveInfinity => "infinity".to_owned(),
                TimestampValue::NegativeInfinity => "-infinity".to_owned(),
            },
        ),
        ValueRule::TimestampTz => {
            let (v, _) =
                parse_timestamptz(text).ok_or_else(|| bad("malformed timestamp with time zone"))?;
            Value::TimestampTz(match v {
                TimestampValue::Micros(m) => {
                    let mut out = Vec::with_capacity(32);
                    write_datetime(&mut out, m, Fraction::SixIfAny);
                    out.extend_from_slice(b"+00:00");
                    ascii_string(out)
                }
                TimestampValue::PositiveInfinity => "infinity".to_owned(),
                TimestampValue::NegativeInfinity => "-infinity".to_owned(),
            })
        }
        ValueRule::Interval => Value::Interval(
            parse_interval(text)
                .ok_or_else(|| bad("malformed interval"))?
                .to_iso_string(),
        ),
        ValueRule::Map => {
            let pairs = parse_hstore(text).ok_or_else(|| bad("malformed hstore"))?;
            Value::Map(
                pairs
                    .into_iter()
                    .map(|(k, v)| (lossy(&k), v.map(|v| lossy(&v))))
                    .collect(),
            )
        }
        ValueRule::Vector => {
            let parts = parse_vector(text).ok_or_else(|| bad("malformed vector"))?;
            Value::Array(
                parts
                    .into_iter()
                    .map(|p| Value::Float(parse_pg_float(p).unwrap_or(f64::NAN)))
                    .collect(),
            )
        }
        ValueRule::Array => {
            let TypeKind::Array { element, delimiter } = &ty.kind else {
                // Only arrays have this rule.
                return Err(bad("not an array type"));
            };
            let mut b = ArrayBuilder {
                stack: Vec::new(),
                result: None,
                element,
                opts,
                depth,
            };
            match parse_array(text, *delimiter, &mut b) {
                Ok(()) => {}
                Err(ArrayFailure::Syntax(why)) => return Err(bad(why)),
                Err(ArrayFailure::Visitor(e)) => return Err(within(ty, e)),
            }
            Value::Array(b.result.unwrap_or_default())
        }
        ValueRule::Composite => {
            let TypeKind::Composite { fields } = &ty.kind else {
                // Only composite types have this rule.
                return Err(bad("not a composite type"));
            };
            let raw = parse_record(text).ok_or_else(|| bad("malformed composite value"))?;
            if fields.is_empty() && raw.len() == 1 && raw[0].is_none() {
                return Ok(Value::Composite(Vec::new()));
            }
            if raw.len() != fields.len() {
                return Err(bad(&format!(
                    "composite value has {} fields, the type has {}",
                    raw.len(),
                    fields.len()
                )));
            }
            let mut out = Vec::with_capacity(fields.len());
            for (field, v) in fields.iter().zip(raw) {
                let value = match v {
                    None => Value::Null,
                    Some(v) => {
                        parse_at(&field.ty, &v, opts, depth + 1).map_err(|e| within(ty, e))?
                    }
                };
                out.push((field.name.to_string(), value));
            }
            Value::Composite(out)
        }
        ValueRule::Bits => {
            if !text.iter().all(|b| *b == b'0' || *b == b'1') {
                return Err(bad("malformed bit string"));
            }
            Value::Text(lossy(text))
        }
        ValueRule::Point => {
            parse_point(text).ok_or_else(|| bad("malformed point"))?;
            Value::Text(lossy(text))
        }
        ValueRule::Ewkb => {
            parse_hex_ewkb(text).ok_or_else(|| bad("malformed hex EWKB"))?;
            Value::Text(lossy(text))
        }
        ValueRule::Text => Value::Text(lossy(text)),
    })
}

struct ArrayBuilder<'a> {
    stack: Vec<Vec<Value>>,
    result: Option<Vec<Value>>,
    element: &'a ColumnType,
    opts: &'a ConvertOptions,
    depth: usize,
}

impl ArrayVisitor for ArrayBuilder<'_> {
    fn begin_array(&mut self) -> Result<(), Error> {
        self.stack.push(Vec::new());
        Ok(())
    }

    fn end_array(&mut self) -> Result<(), Error> {
        let done = self.stack.pop().unwrap_or_default();
        match self.stack.last_mut() {
            Some(parent) => parent.push(Value::Array(done)),
            None => self.result = Some(done),
        }
        Ok(())
    }

    fn element(&mut self, value: Option<&[u8]>) -> Result<(), Error> {
        let v = match value {
            None => Value::Null,
            Some(v) => parse_at(self.element, v, self.opts, self.depth + 1)?,
        };
        if let Some(level) = self.stack.last_mut() {
            level.push(v);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::oid;

    fn v(oid: u32, text: &str) -> Value {
        parse_value(
            &ColumnType::builtin(oid, -1),
            text.as_bytes(),
            &ConvertOptions::default(),
        )
        .unwrap()
    }

    #[test]
    fn typed_values() {
        assert_eq!(v(oid::INT4, "42"), Value::Int(42));
        assert_eq!(v(oid::NUMERIC, "-12.50"), Value::Numeric("-12.50".into()));
        assert_eq!(v(oid::NUMERIC, "NaN"), Value::Numeric("NaN".into()));
        assert_eq!(
            v(oid::MONEY, "-$1,234.50"),
            Value::Numeric("-1234.50".into())
        );
        assert_eq!(v(oid::DATE, "2024-02-29"), Value::Date("2024-02-29".into()));
        assert_eq!(
            v(oid::TIME, "13:45:30.5"),
            Value::Time("13:45:30.500000".into())
        );
        assert_eq!(
            v(oid::TIMETZ, "13:45:30.5+05:30"),
            Value::TimeTz("13:45:30.500000+05:30".into())
        );
        assert_eq!(
            v(oid::TIMESTAMPTZ, "2024-01-15 10:30:00.654321+02"),
            Value::TimestampTz("2024-01-15T08:30:00.654321+00:00".into())
        );
        assert_eq!(
            v(oid::TIMESTAMP, "1970-01-01 00:00:00"),
            Value::Timestamp("1970-01-01T00:00:00".into())
        );
        assert_eq!(
            v(oid::INTERVAL, "-1 days +02:00:00"),
            Value::Interval("P-1DT2H".into())
        );
        assert_eq!(
            v(oid::INT4_ARRAY, "{{1,NULL},{3,4}}"),
            Value::Array(vec![
                Value::Array(vec![Value::Int(1), Value::Null]),
                Value::Array(vec![Value::Int(3), Value::Int(4)]),
            ])
        );
        assert_eq!(v(oid::BYTEA, "\\x0102"), Value::Bytes(vec![1, 2]));
    }
}
