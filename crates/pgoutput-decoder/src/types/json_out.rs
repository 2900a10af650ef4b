//! The hot path: one column value, as pgoutput sends it in text format, written straight into
//! an output buffer as the JSON Debezium's Kafka `JsonConverter` (schemas disabled) produces.

use super::{
    array::{parse_array, ArrayFailure, ArrayVisitor},
    binary::{
        bits_to_le_bytes, decode_bytea_into, push_base64, push_base64_url_safe, write_binary_json,
    },
    descriptor::{ColumnType, JsonRule, TypeKind},
    geometric::{parse_hex_ewkb, parse_pg_float, parse_point, parse_vector, point_wkb},
    hstore::parse_hstore,
    invalid_value,
    numeric::{minimal_twos_complement, parse_money, parse_numeric, NumericText, Rounding},
    options::{
        BinaryHandlingMode, ConvertOptions, DecimalHandlingMode, HstoreHandlingMode,
        IntervalHandlingMode, MultidimensionalArrayMode,
    },
    temporal::{
        debezium_epoch_micros, epoch_millis, parse_date, parse_interval, parse_time,
        parse_timestamp, parse_timestamptz, parse_timetz, write_clock, write_datetime,
        write_utc_timestamp_text, DateValue, Fraction, TimestampValue,
        DEBEZIUM_DATE_NEGATIVE_INFINITY, DEBEZIUM_DATE_POSITIVE_INFINITY,
        DEBEZIUM_TIMESTAMP_NEGATIVE_INFINITY_MICROS, DEBEZIUM_TIMESTAMP_NEGATIVE_INFINITY_MILLIS,
        DEBEZIUM_TIMESTAMP_POSITIVE_INFINITY_MICROS, DEBEZIUM_TIMESTAMP_POSITIVE_INFINITY_MILLIS,
    },
    within,
};
use crate::{Error, Result};

/// Writes the Debezium JSON for one non-NULL column value.
///
/// `text` is the column's value exactly as pgoutput sent it in text format (the type's output
/// function under the walsender's settings: DateStyle ISO, any IntervalStyle, any TimeZone).
/// On error nothing is left in `out`, and the error (kind [`crate::ErrorKind::Decoding`]) names
/// the type and shows the start of the bad value. See the [module documentation](super) for
/// where the output deliberately differs from Debezium.
pub fn write_debezium_json(
    out: &mut Vec<u8>,
    ty: &ColumnType,
    text: &[u8],
    opts: &ConvertOptions,
) -> Result<()> {
    let start = out.len();
    let r = write_value(out, ty, text, opts);
    if r.is_err() {
        out.truncate(start);
    }
    r
}

const ESC_UNICODE: u8 = b'u';

/// For each byte: 0 when it is written as is, otherwise the character after the backslash
/// (`u` for a `\u00XX` escape). Same choices as `serde_json` (and Jackson).
static ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = ESC_UNICODE;
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0A] = b'n';
    t[0x0C] = b'f';
    t[0x0D] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

/// Writes `s` as a quoted, escaped JSON string (non-ASCII stays UTF-8).
pub fn write_json_string(out: &mut Vec<u8>, s: &str) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    write_escaped(out, s.as_bytes(), false);
    out.push(b'"');
}

/// Appends `bytes` with JSON escapes, without quotes. With `ascii_only` it stops at the first
/// byte >= 0x80 and returns its offset (the caller validates from there); otherwise `bytes`
/// must be valid UTF-8 and it returns `bytes.len()`.
fn write_escaped(out: &mut Vec<u8>, bytes: &[u8], ascii_only: bool) -> usize {
    let mut start = 0;
    loop {
        // Runs without anything to escape are copied whole.
        let i = start + clean_prefix_len(&bytes[start..], ascii_only);
        out.extend_from_slice(&bytes[start..i]);
        let Some(&b) = bytes.get(i) else {
            return i;
        };
        if b >= 0x80 {
            return i;
        }
        out.push(b'\\');
        let esc = ESCAPE[usize::from(b)];
        if esc == ESC_UNICODE {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 15)]);
        } else {
            out.push(esc);
        }
        start = i + 1;
    }
}

/// The length of the longest prefix of `bytes` that needs no escaping in a JSON string
/// (no control character, quote or backslash, nor, with `ascii_only`, any byte >= 0x80),
/// eight bytes at a time.
#[inline]
fn clean_prefix_len(bytes: &[u8], ascii_only: bool) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let high = if ascii_only { HIGH } else { 0 };
    let mut chunks = bytes.chunks_exact(8);
    let mut done = 0;
    for chunk in &mut chunks {
        let w = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        // Per byte, the high bit is set where the byte is < 0x20, '"' or '\\' (the classic
        // "has zero byte" test on w, w ^ '"' and w ^ '\\'), or >= 0x80 when asked. A borrow
        // can only mark bytes above a true match, so the lowest mark is exact.
        let quote = w ^ (ONES * u64::from(b'"'));
        let backslash = w ^ (ONES * u64::from(b'\\'));
        let special = ((w.wrapping_sub(ONES * 0x20)
            | quote.wrapping_sub(ONES)
            | backslash.wrapping_sub(ONES))
            & !w
            & HIGH)
            | (w & high);
        if special != 0 {
            return done + (special.trailing_zeros() / 8) as usize;
        }
        done += 8;
    }
    done + chunks
        .remainder()
        .iter()
        .position(|&b| ESCAPE[usize::from(b)] != 0 || (ascii_only && b >= 0x80))
        .unwrap_or(chunks.remainder().len())
}

/// Writes text bytes as a JSON string; invalid UTF-8 is replaced by U+FFFD (as Java's
/// decoder does) so the output is always valid JSON.
pub fn write_json_text(out: &mut Vec<u8>, bytes: &[u8]) {
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    // ASCII (uuids, labels, most JSON documents) needs no UTF-8 check: escape it in one pass
    // and validate only from the first non-ASCII byte on.
    let ascii = write_escaped(out, bytes, true);
    if ascii < bytes.len() {
        let rest = &bytes[ascii..];
        match std::str::from_utf8(rest) {
            Ok(s) => write_escaped(out, s.as_bytes(), false),
            Err(_) => write_escaped(out, String::from_utf8_lossy(rest).as_bytes(), false),
        };
    }
    out.push(b'"');
}

/// Writes a double like Jackson: `NaN`/`Infinity`/`-Infinity` as strings, otherwise the
/// shortest representation that reads back exactly.
pub(crate) fn write_f64(out: &mut Vec<u8>, v: f64) {
    if v.is_finite() {
        let mut buf = ryu::Buffer::new();
        out.extend_from_slice(buf.format_finite(v).as_bytes());
    } else {
        write_non_finite(out, v.is_nan(), v > 0.0);
    }
}

/// Writes a float (FLOAT32) like Java's `Float.toString`: the shortest digits that read back
/// to the same `f32`.
pub(crate) fn write_f32(out: &mut Vec<u8>, v: f32) {
    if v.is_finite() {
        let mut buf = ryu::Buffer::new();
        out.extend_from_slice(buf.format_finite(v).as_bytes());
    } else {
        write_non_finite(out, v.is_nan(), v > 0.0);
    }
}

fn write_non_finite(out: &mut Vec<u8>, nan: bool, positive: bool) {
    out.extend_from_slice(if nan {
        b"\"NaN\""
    } else if positive {
        b"\"Infinity\""
    } else {
        b"\"-Infinity\""
    });
}

/// `-?[0-9]+\.[0-9]+` with at most 17 significant digits and no leading zero before other
/// digits: a double as both PostgreSQL and ryu print it in plain decimal form.
fn is_plain_decimal(text: &[u8]) -> bool {
    let digits = text.strip_prefix(b"-").unwrap_or(text);
    let Some(point) = digits.iter().position(|&b| b == b'.') else {
        return false;
    };
    let (int, frac) = (&digits[..point], &digits[point + 1..]);
    let significant = if int == b"0" {
        frac.iter().skip_while(|&&d| d == b'0').count()
    } else {
        int.len() + frac.len()
    };
    !int.is_empty()
        && !frac.is_empty()
        && (int == b"0" || int[0] != b'0')
        && significant <= 17
        && int.iter().chain(frac).all(u8::is_ascii_digit)
}

/// Integer text that is its own JSON form: PostgreSQL's output (`-?(0|[1-9][0-9]*)`, no
/// `-0`, no sign for an oid) with too few digits to leave the type's range. Anything else is
/// parsed, checked and printed again.
fn is_short_canonical_integer(ty: &ColumnType, text: &[u8]) -> bool {
    let max_digits = match ty.kind {
        TypeKind::Int2 => 4,
        TypeKind::Int4 | TypeKind::Oid => 9,
        _ => 18,
    };
    let digits = match text.strip_prefix(b"-") {
        // An oid is unsigned.
        Some(_) if ty.kind == TypeKind::Oid => return false,
        Some(digits) => digits,
        None => text,
    };
    match digits {
        [] => false,
        [b'0'] => text == b"0",
        [first, ..] => {
            *first != b'0' && digits.len() <= max_digits && digits.iter().all(u8::is_ascii_digit)
        }
    }
}

fn write_i64(out: &mut Vec<u8>, v: i64) {
    let mut buf = itoa::Buffer::new();
    out.extend_from_slice(buf.format(v).as_bytes());
}

/// Parses PostgreSQL integer output (`-32768`, `9223372036854775807`) without allocating.
fn parse_i64(text: &[u8]) -> Option<i64> {
    let (neg, digits) = match text.first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u64::from(d - b'0');
    }
    if neg {
        if v > 1u64 << 63 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

/// Parses an `int2`/`int4`/`int8`/`oid` value, checking the type's range.
pub(crate) fn parse_integer(ty: &ColumnType, text: &[u8]) -> Result<i64> {
    let v = parse_i64(text).ok_or_else(|| invalid_value(ty, text, "not an integer"))?;
    let in_range = match ty.kind {
        TypeKind::Int2 => i16::try_from(v).is_ok(),
        TypeKind::Int4 => i32::try_from(v).is_ok(),
        TypeKind::Oid => u32::try_from(v).is_ok(),
        _ => true,
    };
    if in_range {
        Ok(v)
    } else {
        Err(invalid_value(ty, text, "integer out of range"))
    }
}

pub(crate) fn parse_bool(text: &[u8]) -> Option<bool> {
    match text {
        b"t" | b"true" | b"TRUE" | b"True" | b"1" | b"y" | b"yes" | b"on" => Some(true),
        b"f" | b"false" | b"FALSE" | b"False" | b"0" | b"n" | b"no" | b"off" => Some(false),
        _ => None,
    }
}

fn write_value(
    out: &mut Vec<u8>,
    ty: &ColumnType,
    text: &[u8],
    opts: &ConvertOptions,
) -> Result<()> {
    let bad = |why: &str| invalid_value(ty, text, why);
    match ty.kind.descriptor().json {
        JsonRule::Bool => {
            let v = parse_bool(text).ok_or_else(|| bad("expected t or f"))?;
            out.extend_from_slice(if v { b"true" } else { b"false" });
        }
        JsonRule::Integer => {
            if is_short_canonical_integer(ty, text) {
                out.extend_from_slice(text);
            } else {
                write_i64(out, parse_integer(ty, text)?);
            }
        }
        JsonRule::Float32 => {
            let s = std::str::from_utf8(text).map_err(|_| bad("not a number"))?;
            let v = parse_pg_float::<f32>(s).ok_or_else(|| bad("not a number"))?;
            write_f32(out, v);
        }
        JsonRule::Float64 if is_plain_decimal(text) => {
            // PostgreSQL 12+ prints the shortest digits that read back exactly, as ryu does,
            // and in plain decimal form for exponents -4 to 14, where ryu does too: the text
            // is already the output. (Older servers print 15 digits, or 17 with
            // extra_float_digits=3: the same double either way, maybe not ryu's digits.)
            out.extend_from_slice(text);
        }
        JsonRule::Float64 => {
            let s = std::str::from_utf8(text).map_err(|_| bad("not a number"))?;
            let v = parse_pg_float::<f64>(s).ok_or_else(|| bad("not a number"))?;
            write_f64(out, v);
        }
        JsonRule::Decimal => write_numeric(out, ty, text, numeric_scale(ty), opts)?,
        JsonRule::Money => write_money(out, ty, text, opts)?,
        JsonRule::Text => write_json_text(out, text),
        JsonRule::Binary => {
            let start = out.len();
            // Decode into the tail of `out`, then encode from a copy of it.
            decode_bytea_into(text, out).ok_or_else(|| bad("malformed bytea"))?;
            let bytes = out.split_off(start);
            write_binary_json(out, &bytes, opts.binary_handling_mode);
        }
        JsonRule::EpochDay => {
            let days = match parse_date(text).ok_or_else(|| bad("malformed date"))? {
                DateValue::Days(d) => d,
                DateValue::PositiveInfinity => DEBEZIUM_DATE_POSITIVE_INFINITY,
                DateValue::NegativeInfinity => DEBEZIUM_DATE_NEGATIVE_INFINITY,
            };
            // Debezium casts the epoch day to a Java int.
            write_i64(out, i64::from(days as i32));
        }
        JsonRule::Time => {
            let micros = parse_time(text).ok_or_else(|| bad("malformed time"))?;
            let millis = opts
                .time_precision_mode
                .time_in_millis(ty.kind.time_precision());
            write_i64(out, if millis { micros / 1000 } else { micros });
        }
        JsonRule::ZonedTime => {
            let t = parse_timetz(text).ok_or_else(|| bad("malformed time with time zone"))?;
            out.push(b'"');
            write_clock(out, t.utc_micros(), Fraction::Stripped);
            out.extend_from_slice(b"Z\"");
        }
        JsonRule::Timestamp => {
            let v = parse_timestamp(text).ok_or_else(|| bad("malformed timestamp"))?;
            let millis = opts
                .time_precision_mode
                .timestamp_in_millis(ty.kind.time_precision());
            let n = match (v, millis) {
                (TimestampValue::Micros(m), false) => debezium_epoch_micros(m),
                (TimestampValue::Micros(m), true) => epoch_millis(m),
                (TimestampValue::PositiveInfinity, false) => {
                    DEBEZIUM_TIMESTAMP_POSITIVE_INFINITY_MICROS
                }
                (TimestampValue::NegativeInfinity, false) => {
                    DEBEZIUM_TIMESTAMP_NEGATIVE_INFINITY_MICROS
                }
                (TimestampValue::PositiveInfinity, true) => {
                    DEBEZIUM_TIMESTAMP_POSITIVE_INFINITY_MILLIS
                }
                (TimestampValue::NegativeInfinity, true) => {
                    DEBEZIUM_TIMESTAMP_NEGATIVE_INFINITY_MILLIS
                }
            };
            write_i64(out, n);
        }
        JsonRule::ZonedTimestamp => {
            let fraction = match ty.kind.time_precision().unwrap_or(6) {
                0 => Fraction::Stripped,
                p => Fraction::Fixed(p),
            };
            // Under a UTC session time zone the text is nearly the output already; any other
            // offset, BC dates and infinities take the full path.
            let start = out.len();
            out.push(b'"');
            if write_utc_timestamp_text(out, text, fraction) {
                out.extend_from_slice(b"Z\"");
                return Ok(());
            }
            out.truncate(start);
            let (v, _) =
                parse_timestamptz(text).ok_or_else(|| bad("malformed timestamp with time zone"))?;
            match v {
                TimestampValue::PositiveInfinity => out.extend_from_slice(b"\"infinity\""),
                TimestampValue::NegativeInfinity => out.extend_from_slice(b"\"-infinity\""),
                TimestampValue::Micros(m) => {
                    out.push(b'"');
                    write_datetime(out, m, fraction);
                    out.extend_from_slice(b"Z\"");
                }
            }
        }
        JsonRule::Interval => {
            let iv = parse_interval(text).ok_or_else(|| bad("malformed interval"))?;
            match opts.interval_handling_mode {
                IntervalHandlingMode::Numeric => write_i64(out, iv.debezium_micros()),
                IntervalHandlingMode::String => {
                    out.push(b'"');
                    iv.write_debezium_iso(out);
                    out.push(b'"');
                }
            }
        }
        JsonRule::Bits => {
            let single = match ty.kind {
                TypeKind::Bit { length: Some(n) } | TypeKind::VarBit { length: Some(n) } => n == 1,
                // An unbounded varbit is Debezium's Bits(2147483647).
                TypeKind::VarBit { length: None } => false,
                _ => text.len() <= 1,
            };
            if single {
                if !text.iter().all(|b| *b == b'0' || *b == b'1') || text.is_empty() {
                    return Err(bad("malformed bit string"));
                }
                let set = text.contains(&b'1');
                out.extend_from_slice(if set { b"true" } else { b"false" });
            } else {
                let start = out.len();
                bits_to_le_bytes(text, out).ok_or_else(|| bad("malformed bit string"))?;
                let bytes = out.split_off(start);
                out.push(b'"');
                push_base64(out, &bytes);
                out.push(b'"');
            }
        }
        JsonRule::Map => write_hstore(out, ty, text, opts)?,
        JsonRule::Point => {
            let (x, y) = parse_point(text).ok_or_else(|| bad("malformed point"))?;
            out.extend_from_slice(b"{\"x\":");
            write_f64(out, x);
            out.extend_from_slice(b",\"y\":");
            write_f64(out, y);
            out.extend_from_slice(b",\"wkb\":\"");
            push_base64(out, &point_wkb(x, y));
            out.extend_from_slice(b"\",\"srid\":null}");
        }
        JsonRule::Spatial => {
            let (wkb, srid) = parse_hex_ewkb(text).ok_or_else(|| bad("malformed hex EWKB"))?;
            out.extend_from_slice(b"{\"wkb\":\"");
            push_base64(out, &wkb);
            out.extend_from_slice(b"\",\"srid\":");
            match srid {
                Some(s) => write_i64(out, i64::from(s)),
                None => out.extend_from_slice(b"null"),
            }
            out.push(b'}');
        }
        JsonRule::Vector64 | JsonRule::Vector32 => {
            let parts = parse_vector(text).ok_or_else(|| bad("malformed vector"))?;
            out.push(b'[');
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                if ty.kind.descriptor().json == JsonRule::Vector32 {
                    write_f32(out, parse_pg_float::<f32>(p).unwrap_or(f32::NAN));
                } else {
                    write_f64(out, parse_pg_float(p).unwrap_or(f64::NAN));
                }
            }
            out.push(b']');
        }
        JsonRule::Array => {
            let TypeKind::Array { element, delimiter } = &ty.kind else {
                // Only arrays have this rule.
                return Err(bad("not an array type"));
            };
            let mut w = JsonArrayWriter {
                out,
                element,
                opts,
                first: true,
                depth: 0,
            };
            match parse_array(text, *delimiter, &mut w) {
                Ok(()) => {}
                Err(ArrayFailure::Syntax(why)) => return Err(bad(why)),
                Err(ArrayFailure::Visitor(e)) => return Err(within(ty, e)),
            }
        }
    }
    Ok(())
}

/// The declared scale of a `numeric` column (`None` without a modifier).
fn numeric_scale(ty: &ColumnType) -> Option<u16> {
    match ty.kind {
        TypeKind::Numeric { scale, .. } => scale,
        _ => None,
    }
}

struct JsonArrayWriter<'a> {
    out: &'a mut Vec<u8>,
    element: &'a ColumnType,
    opts: &'a ConvertOptions,
    first: bool,
    /// Sub-arrays open, the outermost counting 1.
    depth: usize,
}

impl JsonArrayWriter<'_> {
    /// Sub-arrays are written as one `null` each (`null_subarrays`).
    fn nulls_for_subarrays(&self) -> bool {
        self.opts.multidimensional_array_mode == MultidimensionalArrayMode::NullSubarrays
    }
}

impl ArrayVisitor for JsonArrayWriter<'_> {
    fn begin_array(&mut self) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > 2 && self.nulls_for_subarrays() {
            return Ok(());
        }
        if !self.first {
            self.out.push(b',');
        }
        if self.depth == 2 && self.nulls_for_subarrays() {
            self.out.extend_from_slice(b"null");
            self.first = false;
        } else {
            self.out.push(b'[');
            self.first = true;
        }
        Ok(())
    }

    fn end_array(&mut self) -> Result<(), Error> {
        if self.depth == 1 || !self.nulls_for_subarrays() {
            self.out.push(b']');
        }
        self.depth -= 1;
        self.first = false;
        Ok(())
    }

    fn element(&mut self, value: Option<&[u8]>) -> Result<(), Error> {
        if self.depth > 1 && self.nulls_for_subarrays() {
            return Ok(());
        }
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        match value {
            None => {
                self.out.extend_from_slice(b"null");
                Ok(())
            }
            Some(v) => write_value(self.out, self.element, v, self.opts),
        }
    }
}

/// Base64 of a minimal two's-complement `i128` (Java's `BigInteger.toByteArray()`), without
/// allocating.
fn push_i128_base64(out: &mut Vec<u8>, v: i128) {
    push_base64(out, minimal_twos_complement(&v.to_be_bytes()));
}

/// The unscaled value at `scale` of a plain `-?d+(.d+)?` numeric of at most 18 digits with
/// no more fraction digits than `scale` (the common case, and exact in an i64); `None` for
/// anything else, which the general path handles.
fn small_unscaled(text: &[u8], scale: u16) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix(b"-") {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, frac) = match digits.iter().position(|&b| b == b'.') {
        Some(p) if p + 1 < digits.len() => (&digits[..p], &digits[p + 1..]),
        Some(_) => return None,
        None => (digits, &digits[digits.len()..]),
    };
    let pad = usize::from(scale).checked_sub(frac.len())?;
    if int.is_empty() || int.len() + frac.len() + pad > 18 {
        return None;
    }
    let mut v: i64 = 0;
    for &d in int.iter().chain(frac) {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(d - b'0');
    }
    v *= 10i64.pow(pad as u32);
    Some(if negative { -v } else { v })
}

fn write_numeric(
    out: &mut Vec<u8>,
    ty: &ColumnType,
    text: &[u8],
    scale: Option<u16>,
    opts: &ConvertOptions,
) -> Result<()> {
    if let (DecimalHandlingMode::Precise, Some(s)) = (opts.decimal_handling_mode, scale) {
        if let Some(v) = small_unscaled(text, s) {
            out.push(b'"');
            push_i128_base64(out, i128::from(v));
            out.push(b'"');
            return Ok(());
        }
    }
    let parsed = parse_numeric(text).ok_or_else(|| invalid_value(ty, text, "malformed numeric"))?;
    let d = match parsed {
        NumericText::Finite(d) => d,
        special => {
            let (double, string): (&[u8], &[u8]) = match special {
                NumericText::NaN => (b"\"NaN\"", b"\"NAN\""),
                NumericText::PositiveInfinity => (b"\"Infinity\"", b"\"POSITIVE_INFINITY\""),
                _ => (b"\"-Infinity\"", b"\"NEGATIVE_INFINITY\""),
            };
            out.extend_from_slice(match opts.decimal_handling_mode {
                // Debezium stops with an error here; we write null instead (see module docs).
                DecimalHandlingMode::Precise => b"null",
                DecimalHandlingMode::Double => double,
                DecimalHandlingMode::String => string,
            });
            return Ok(());
        }
    };
    match opts.decimal_handling_mode {
        DecimalHandlingMode::Precise => match scale {
            Some(s) => {
                out.push(b'"');
                match d.unscaled_i128_at(i64::from(s)) {
                    Some(v) => push_i128_base64(out, v),
                    None => {
                        let mut dec = d.to_decimal();
                        dec.rescale(i64::from(s), Rounding::HalfUp);
                        let mut bytes = Vec::new();
                        dec.write_twos_complement(&mut bytes);
                        push_base64(out, &bytes);
                    }
                }
                out.push(b'"');
            }
            None => {
                let mut dec = d.to_decimal();
                dec.strip_trailing_zeros_min_scale_zero();
                out.extend_from_slice(b"{\"scale\":");
                write_i64(out, dec.scale);
                out.extend_from_slice(b",\"value\":\"");
                let mut bytes = Vec::new();
                dec.write_twos_complement(&mut bytes);
                push_base64(out, &bytes);
                out.extend_from_slice(b"\"}");
            }
        },
        DecimalHandlingMode::Double => {
            let v = d.to_decimal().to_f64();
            write_f64(out, v);
        }
        DecimalHandlingMode::String => {
            let mut dec = d.to_decimal();
            if let Some(s) = scale {
                dec.rescale(i64::from(s), Rounding::HalfUp);
            }
            out.push(b'"');
            dec.write_plain(out);
            out.push(b'"');
        }
    }
    Ok(())
}

fn write_money(
    out: &mut Vec<u8>,
    ty: &ColumnType,
    text: &[u8],
    opts: &ConvertOptions,
) -> Result<()> {
    let mut dec = parse_money(text).ok_or_else(|| invalid_value(ty, text, "malformed money"))?;
    match opts.decimal_handling_mode {
        DecimalHandlingMode::Precise => {
            dec.rescale(i64::from(opts.money_fraction_digits), Rounding::HalfUp);
            let mut bytes = Vec::new();
            dec.write_twos_complement(&mut bytes);
            out.push(b'"');
            push_base64(out, &bytes);
            out.push(b'"');
        }
        DecimalHandlingMode::Double => write_f64(out, dec.to_f64()),
        DecimalHandlingMode::String => {
            out.push(b'"');
            dec.write_plain(out);
            out.push(b'"');
        }
    }
    Ok(())
}

fn write_hstore(
    out: &mut Vec<u8>,
    ty: &ColumnType,
    text: &[u8],
    opts: &ConvertOptions,
) -> Result<()> {
    let pairs = parse_hstore(text).ok_or_else(|| invalid_value(ty, text, "malformed hstore"))?;
    let mut object = Vec::with_capacity(text.len() + 2);
    object.push(b'{');
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            object.push(b',');
        }
        write_json_text(&mut object, k);
        object.push(b':');
        match v {
            Some(v) => write_json_text(&mut object, v),
            None => object.extend_from_slice(b"null"),
        }
    }
    object.push(b'}');
    match opts.hstore_handling_mode {
        HstoreHandlingMode::Map => out.extend_from_slice(&object),
        // `object` is valid UTF-8: it was built from escaped UTF-8 strings.
        HstoreHandlingMode::Json => write_json_text(out, &object),
    }
    Ok(())
}

/// Writes the value Debezium puts in place of an unchanged TOAST column (pgoutput's `u`
/// marker), which depends on the column type:
///
/// - `bytea`: the placeholder's bytes (base64 in `bytes`, `base64` and `base64-url-safe`
///   modes, the placeholder text in `hex` mode);
/// - `text[]`, `varchar[]`, `bpchar[]`, `json[]`, `jsonb[]`: `["__debezium_unavailable_value"]`;
/// - `bytea[]`: `[<base64 of the placeholder bytes>]`;
/// - `int4[]`, `int8[]`, `date[]`: the placeholder's byte values as numbers;
/// - `uuid[]`: `[<name-based UUID of the placeholder bytes>]`;
/// - `hstore`: `{"__debezium_unavailable_value":"__debezium_unavailable_value"}` (as a JSON
///   string in `json` mode, an object in `map` mode);
/// - every other array: `["__debezium_unavailable_value"]` (Debezium fails here);
/// - everything else: the placeholder text as a string.
pub fn write_unavailable_placeholder(out: &mut Vec<u8>, ty: &ColumnType, opts: &ConvertOptions) {
    let ph_bytes = opts.placeholder_bytes();
    let ph_text = opts.placeholder_text();
    match &ty.kind {
        TypeKind::Bytea => match opts.binary_handling_mode {
            BinaryHandlingMode::Hex => write_json_string(out, &ph_text),
            BinaryHandlingMode::Base64UrlSafe => {
                out.push(b'"');
                push_base64_url_safe(out, &ph_bytes);
                out.push(b'"');
            }
            BinaryHandlingMode::Bytes | BinaryHandlingMode::Base64 => {
                out.push(b'"');
                push_base64(out, &ph_bytes);
                out.push(b'"');
            }
        },
        TypeKind::Hstore => {
            let mut object = Vec::with_capacity(ph_text.len() * 2 + 8);
            object.push(b'{');
            write_json_string(&mut object, &ph_text);
            object.push(b':');
            write_json_string(&mut object, &ph_text);
            object.push(b'}');
            match opts.hstore_handling_mode {
                HstoreHandlingMode::Map => out.extend_from_slice(&object),
                HstoreHandlingMode::Json => write_json_text(out, &object),
            }
        }
        TypeKind::Array { element, .. } => {
            out.push(b'[');
            match element.kind {
                TypeKind::Int2 | TypeKind::Int4 | TypeKind::Int8 | TypeKind::Date => {
                    for (i, b) in ph_bytes.iter().enumerate() {
                        if i > 0 {
                            out.push(b',');
                        }
                        // Java bytes are signed.
                        write_i64(out, i64::from(*b as i8));
                    }
                }
                TypeKind::Bytea => {
                    out.push(b'"');
                    push_base64(out, &ph_bytes);
                    out.push(b'"');
                }
                TypeKind::Uuid => {
                    out.push(b'"');
                    out.extend_from_slice(super::placeholder_uuid(&ph_bytes).as_bytes());
                    out.push(b'"');
                }
                _ => write_json_string(out, &ph_text),
            }
            out.push(b']');
        }
        _ => write_json_string(out, &ph_text),
    }
}

/// Writes Debezium's fallback for a NULL in a NOT NULL column that has no default (what a
/// DELETE's `before` holds for non-key columns under REPLICA IDENTITY DEFAULT): `false`, `0`,
/// `0.0`, `""`, a zero decimal, the epoch, `[]`, `{}`, and so on, per type and mode.
pub fn write_debezium_fallback(out: &mut Vec<u8>, ty: &ColumnType, opts: &ConvertOptions) {
    match ty.kind.descriptor().json {
        JsonRule::Bool => out.extend_from_slice(b"false"),
        JsonRule::Integer | JsonRule::EpochDay | JsonRule::Time | JsonRule::Timestamp => {
            out.push(b'0')
        }
        JsonRule::Float32 | JsonRule::Float64 => out.extend_from_slice(b"0.0"),
        JsonRule::Decimal => {
            let scale = numeric_scale(ty);
            let zero = match scale {
                Some(s) => {
                    let mut z = b"0.".to_vec();
                    z.resize(2 + usize::from(s), b'0');
                    if s == 0 {
                        z.truncate(1);
                    }
                    z
                }
                None => b"0".to_vec(),
            };
            // Cannot fail: a well-formed zero.
            let _ = write_numeric(out, ty, &zero, scale, opts);
        }
        JsonRule::Money => match opts.decimal_handling_mode {
            DecimalHandlingMode::Precise => out.extend_from_slice(b"\"AA==\""),
            DecimalHandlingMode::Double => out.extend_from_slice(b"0.0"),
            DecimalHandlingMode::String => {
                out.push(b'"');
                out.push(b'0');
                if opts.money_fraction_digits > 0 {
                    out.push(b'.');
                    out.resize(out.len() + usize::from(opts.money_fraction_digits), b'0');
                }
                out.push(b'"');
            }
        },
        JsonRule::ZonedTime => out.extend_from_slice(b"\"00:00:00Z\""),
        JsonRule::ZonedTimestamp => out.extend_from_slice(b"\"1970-01-01T00:00:00Z\""),
        JsonRule::Interval => match opts.interval_handling_mode {
            IntervalHandlingMode::Numeric => out.push(b'0'),
            IntervalHandlingMode::String => out.extend_from_slice(b"\"P0Y0M0DT0H0M0S\""),
        },
        JsonRule::Bits
            if matches!(
                ty.kind,
                TypeKind::Bit { length: Some(1) } | TypeKind::VarBit { length: Some(1) }
            ) =>
        {
            out.extend_from_slice(b"false")
        }
        JsonRule::Map => match opts.hstore_handling_mode {
            HstoreHandlingMode::Json => out.extend_from_slice(b"\"{}\""),
            HstoreHandlingMode::Map => out.extend_from_slice(b"{}"),
        },
        JsonRule::Point => {
            out.extend_from_slice(b"{\"x\":0.0,\"y\":0.0,\"wkb\":\"");
            push_base64(out, &point_wkb(0.0, 0.0));
            out.extend_from_slice(b"\",\"srid\":null}");
        }
        JsonRule::Array | JsonRule::Vector64 | JsonRule::Vector32 => out.extend_from_slice(b"[]"),
        JsonRule::Text | JsonRule::Binary | JsonRule::Bits | JsonRule::Spatial => {
            out.extend_from_slice(b"\"\"")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::oid;

    /// The shortcut for small numerics writes what the general path writes.
    #[test]
    fn small_numerics_take_a_shortcut_to_the_same_output() {
        let texts = [
            "0",
            "1",
            "-1",
            "0.01",
            "9999.99",
            "-0.5",
            "12.3",
            "127",
            "128",
            "-128",
            "-129",
            "32767",
            "32768",
            "123456789012345678",
            "0.000001",
            "10",
            "100.1",
        ];
        for scale in [0u16, 1, 2, 6, 9] {
            for text in texts {
                let typmod = (12 << 16) + i32::from(scale) + 4;
                let slow = {
                    let mut out = Vec::new();
                    let d = match parse_numeric(text.as_bytes()).unwrap() {
                        NumericText::Finite(d) => d,
                        _ => unreachable!(),
                    };
                    let mut dec = d.to_decimal();
                    dec.rescale(i64::from(scale), Rounding::HalfUp);
                    let mut bytes = Vec::new();
                    dec.write_twos_complement(&mut bytes);
                    out.push(b'"');
                    push_base64(&mut out, &bytes);
                    out.push(b'"');
                    String::from_utf8(out).unwrap()
                };
                assert_eq!(json(1700, typmod, text), slow, "{text} at scale {scale}");
            }
        }
        for (text, scale) in [
            ("1.234", 2),
            ("1e5", 0),
            ("NaN", 2),
            ("1234567890123456789", 0),
            ("", 0),
            ("-", 0),
            ("1.", 2),
            ("+1", 0),
        ] {
            assert_eq!(small_unscaled(text.as_bytes(), scale), None, "{text}");
        }
    }

    /// Plain decimal doubles are copied; the copy is what parsing and printing would write.
    #[test]
    fn plain_decimal_doubles_are_copied_as_printing_would_write_them() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = f64::from_bits(x);
            if !v.is_finite() || v.abs() < 1e-4 || v.abs() >= 1e15 {
                continue;
            }
            let text = ryu::Buffer::new().format_finite(v).to_string();
            if text.contains('e') || text.ends_with(".0") {
                continue;
            }
            assert!(is_plain_decimal(text.as_bytes()), "{text}");
            let mut slow = Vec::new();
            write_f64(&mut slow, text.parse().unwrap());
            assert_eq!(String::from_utf8(slow).unwrap(), text);
        }
        for text in [
            "1", "-0", "1e-05", "1.5e+20", "00.5", ".5", "5.", "0.1.2", "NaN", "-", "1.x",
        ] {
            assert!(!is_plain_decimal(text.as_bytes()), "{text}");
        }
        for text in ["0.5", "-0.0001", "123456789012345.6", "0.14285714285714285"] {
            assert!(is_plain_decimal(text.as_bytes()), "{text}");
            assert_eq!(json(701, -1, text), text);
        }
    }

    /// Every escapable character at every offset of strings of up to 20 bytes, next to
    /// multi-byte characters: the same as serde_json's escaping.
    #[test]
    fn strings_escape_like_serde_json_wherever_the_special_character_is() {
        let specials = [
            '"', '\\', '\n', '\u{1}', '\u{1f}', '\t', 'é', '\u{7f}', ' ', '~',
        ];
        for len in 0..20 {
            for at in 0..=len {
                for &c in &specials {
                    for &d in &specials {
                        let mut s: String = "abcdefghijklmnopqrstu"[..len].to_string();
                        s.insert(at, c);
                        s.push(d);
                        let mut out = Vec::new();
                        write_json_string(&mut out, &s);
                        let expected = serde_json::to_string(&s).unwrap();
                        assert_eq!(String::from_utf8(out).unwrap(), expected, "{s:?}");
                        let mut out = Vec::new();
                        write_json_text(&mut out, s.as_bytes());
                        assert_eq!(String::from_utf8(out).unwrap(), expected, "{s:?}");
                    }
                }
            }
        }
    }

    /// Integers copied as they are give what parsing and printing them gives, and out of
    /// range or odd forms still go through the parser (and its errors).
    #[test]
    fn integer_text_shortcut_matches_parsing() {
        let texts = [
            "0",
            "-0",
            "00",
            "+1",
            "1",
            "-1",
            "9999",
            "-9999",
            "32767",
            "-32768",
            "32768",
            "99999",
            "123456789",
            "2147483647",
            "-2147483648",
            "2147483648",
            "4294967295",
            "999999999999999999",
            "9223372036854775807",
            "-9223372036854775808",
            "9223372036854775808",
            "1a",
            "",
            "-",
            "01",
            "1 ",
        ];
        for oid in [21, 23, 20, 26] {
            let ty = ColumnType::builtin(oid, -1);
            for text in texts {
                let mut out = Vec::new();
                let got =
                    write_debezium_json(&mut out, &ty, text.as_bytes(), &ConvertOptions::default())
                        .map(|()| String::from_utf8(out).unwrap());
                let expected = parse_integer(&ty, text.as_bytes()).map(|v| v.to_string());
                assert_eq!(got.is_ok(), expected.is_ok(), "{oid} {text:?}");
                if let (Ok(got), Ok(expected)) = (got, expected) {
                    assert_eq!(got, expected, "{oid} {text:?}");
                }
            }
        }
    }

    fn json(oid: u32, typmod: i32, text: &str) -> String {
        json_with(oid, typmod, text, &ConvertOptions::default())
    }

    fn json_with(oid: u32, typmod: i32, text: &str, opts: &ConvertOptions) -> String {
        let mut out = Vec::new();
        write_debezium_json(
            &mut out,
            &ColumnType::builtin(oid, typmod),
            text.as_bytes(),
            opts,
        )
        .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn escaping_matches_serde_json() {
        for s in [
            "plain",
            "quote\" back\\slash",
            "ctl\u{1}\u{8}\t\n\r\u{c}\u{1f}\u{7f}",
            "☃ é",
            "",
        ] {
            let mut out = Vec::new();
            write_json_string(&mut out, s);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(s).unwrap()
            );
        }
        let mut out = Vec::new();
        write_json_text(&mut out, b"bad \xff utf8");
        assert_eq!(String::from_utf8(out).unwrap(), "\"bad \u{fffd} utf8\"");
        // Escapes before the first non-ASCII byte, then invalid UTF-8 after it.
        let mut out = Vec::new();
        write_json_text(&mut out, b"q\"\n\xc3\xa9 \xff\\");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            serde_json::to_string("q\"\n\u{e9} \u{fffd}\\").unwrap()
        );
    }

    #[test]
    fn scalars() {
        assert_eq!(json(oid::BOOL, -1, "t"), "true");
        assert_eq!(
            json(oid::INT8, -1, "-9223372036854775808"),
            "-9223372036854775808"
        );
        assert_eq!(json(oid::FLOAT4, -1, "3.5"), "3.5");
        assert_eq!(json(oid::FLOAT8, -1, "-1.25e-10"), "-1.25e-10");
        assert_eq!(json(oid::FLOAT8, -1, "-0"), "-0.0");
        assert_eq!(json(oid::FLOAT8, -1, "NaN"), "\"NaN\"");
        assert_eq!(json(oid::FLOAT4, -1, "-Infinity"), "\"-Infinity\"");
        assert_eq!(json(oid::NUMERIC, 655_366, "12345678.91"), "\"SZYC0w==\"");
        assert_eq!(
            json(oid::NUMERIC, -1, "3.14159265358979323846"),
            "{\"scale\":20,\"value\":\"EQfV61tbpNfG\"}"
        );
        assert_eq!(
            json(oid::NUMERIC, -1, "0"),
            "{\"scale\":0,\"value\":\"AA==\"}"
        );
        assert_eq!(json(oid::MONEY, -1, "$1,234.56"), "\"AeJA\"");
        assert_eq!(json(oid::BYTEA, -1, "\\xdeadbeef00"), "\"3q2+7wA=\"");
        assert_eq!(json(oid::TIMETZ, -1, "13:45:30.5+05:30"), "\"08:15:30.5Z\"");
        assert_eq!(
            json(oid::TIMESTAMPTZ, -1, "2024-01-15 10:30:00.654321+02"),
            "\"2024-01-15T08:30:00.654321Z\""
        );
        assert_eq!(json(oid::TIME, -1, "24:00:00"), "86400000000");
        assert_eq!(
            json(oid::INTERVAL, -1, "1 year 2 mons 3 days 04:05:06.789"),
            "37091106789000"
        );
        assert_eq!(json(oid::BIT, 2, "11"), "\"Aw==\"");
        assert_eq!(json(oid::BIT, 1, "1"), "true");
        assert_eq!(json(oid::INT4_ARRAY, -1, "{{1,2},{3,NULL}}"), "[null,null]");
        assert_eq!(json(oid::INT4_ARRAY, -1, "{1,NULL}"), "[1,null]");
    }

    #[test]
    fn errors_leave_no_output() {
        let mut out = b"prefix".to_vec();
        let ty = ColumnType::builtin(oid::INT4_ARRAY, -1);
        let e =
            write_debezium_json(&mut out, &ty, b"{1,2,x}", &ConvertOptions::default()).unwrap_err();
        assert_eq!(out, b"prefix");
        assert_eq!(e.kind(), crate::ErrorKind::Decoding);
        assert!(e.message().contains("int4"), "{}", e.message());
    }

    #[test]
    fn fallbacks() {
        let o = ConvertOptions::default();
        let f = |oid: u32, typmod: i32| {
            let mut out = Vec::new();
            write_debezium_fallback(&mut out, &ColumnType::builtin(oid, typmod), &o);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(f(oid::NUMERIC, 786_438), "\"AA==\"");
        assert_eq!(f(oid::NUMERIC, -1), "{\"scale\":0,\"value\":\"AA==\"}");
        assert_eq!(f(oid::TEXT, -1), "\"\"");
        assert_eq!(f(oid::INT4, -1), "0");
        assert_eq!(f(oid::BOOL, -1), "false");
        assert_eq!(f(oid::INT4_ARRAY, -1), "[]");
    }
}
