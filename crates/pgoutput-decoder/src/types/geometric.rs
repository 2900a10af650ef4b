//! Geometry: the built-in `point` (Debezium's `io.debezium.data.geometry.Point`), PostGIS
//! `geometry`/`geography` (hex EWKB), and pgvector's `vector`/`halfvec` text.

use super::numeric::trim_ascii;

/// Parses `point` output `(x,y)`.
pub(crate) fn parse_point(text: &[u8]) -> Option<(f64, f64)> {
    let text = trim_ascii(text);
    let inner = text.strip_prefix(b"(")?.strip_suffix(b")")?;
    let comma = inner.iter().position(|b| *b == b',')?;
    let x = parse_f64(&inner[..comma])?;
    let y = parse_f64(&inner[comma + 1..])?;
    Some((x, y))
}

/// Parses a float as PostgreSQL prints it (`1.5`, `-2e-05`, `NaN`, `Infinity`, `-Infinity`).
pub(crate) fn parse_f64(text: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(trim_ascii(text)).ok()?;
    parse_pg_float(s)
}

/// A float type PostgreSQL prints (`real`, `double precision`).
pub(crate) trait PgFloat: std::str::FromStr {
    const NAN: Self;
    const INFINITY: Self;
    const NEG_INFINITY: Self;
}

impl PgFloat for f64 {
    const NAN: Self = f64::NAN;
    const INFINITY: Self = f64::INFINITY;
    const NEG_INFINITY: Self = f64::NEG_INFINITY;
}

impl PgFloat for f32 {
    const NAN: Self = f32::NAN;
    const INFINITY: Self = f32::INFINITY;
    const NEG_INFINITY: Self = f32::NEG_INFINITY;
}

/// Rust's float parser plus PostgreSQL's spellings of the special values; rejects anything
/// Rust accepts that PostgreSQL would not print (`inf`, `nan` in other cases are tolerated).
/// For `f64` (`double precision`) and `f32` (`real`).
pub(crate) fn parse_pg_float<F: PgFloat>(s: &str) -> Option<F> {
    match s {
        "NaN" => return Some(F::NAN),
        "Infinity" | "+Infinity" => return Some(F::INFINITY),
        "-Infinity" => return Some(F::NEG_INFINITY),
        _ => {}
    }
    if s.is_empty()
        || !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+'))
    {
        return None;
    }
    s.parse().ok()
}

/// The OGC WKB of a 2-D point as Debezium builds it: byte-order mark 1 (little endian),
/// type 1, then x and y as little-endian doubles.
pub(crate) fn point_wkb(x: f64, y: f64) -> [u8; 21] {
    let mut wkb = [0u8; 21];
    wkb[0] = 1;
    wkb[1..5].copy_from_slice(&1u32.to_le_bytes());
    wkb[5..13].copy_from_slice(&x.to_le_bytes());
    wkb[13..21].copy_from_slice(&y.to_le_bytes());
    wkb
}

/// Decodes PostGIS's hex EWKB output; returns the bytes (kept whole, as Debezium does) and
/// the SRID when the EWKB carries one.
pub(crate) fn parse_hex_ewkb(text: &[u8]) -> Option<(Vec<u8>, Option<i32>)> {
    let text = trim_ascii(text);
    if text.len() % 2 != 0 {
        return None;
    }
    let mut bytes = Vec::with_capacity(text.len() / 2);
    for pair in text.chunks_exact(2) {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        bytes.push((hi * 16 + lo) as u8);
    }
    if bytes.len() < 9 {
        return None;
    }
    let little = bytes[0] != 0;
    let read_u32 = |b: &[u8]| -> u32 {
        let arr = [b[0], b[1], b[2], b[3]];
        if little {
            u32::from_le_bytes(arr)
        } else {
            u32::from_be_bytes(arr)
        }
    };
    let geom_type = read_u32(&bytes[1..5]);
    const EWKB_SRID_FLAG: u32 = 0x2000_0000;
    let srid = if geom_type & EWKB_SRID_FLAG != 0 {
        Some(read_u32(&bytes[5..9]) as i32)
    } else {
        None
    };
    Some((bytes, srid))
}

/// Parses pgvector's `[1,2.5,3]` into its components.
pub(crate) fn parse_vector(text: &[u8]) -> Option<Vec<&str>> {
    let text = std::str::from_utf8(trim_ascii(text)).ok()?;
    let inner = text.strip_prefix('[')?.strip_suffix(']')?;
    if inner.trim().is_empty() {
        return Some(Vec::new());
    }
    inner
        .split(',')
        .map(|p| {
            let p = p.trim();
            parse_pg_float::<f64>(p).map(|_| p)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pg_floats_in_both_widths() {
        for (text, want) in [
            ("1.5", 1.5),
            ("-2e-05", -2e-05),
            ("Infinity", f64::INFINITY),
        ] {
            assert_eq!(parse_pg_float::<f64>(text), Some(want), "{text}");
            assert_eq!(parse_pg_float::<f32>(text), Some(want as f32), "{text}");
        }
        assert_eq!(parse_pg_float::<f32>("-Infinity"), Some(f32::NEG_INFINITY));
        assert_eq!(parse_pg_float::<f32>("+Infinity"), Some(f32::INFINITY));
        assert!(parse_pg_float::<f32>("NaN").is_some_and(f32::is_nan));
        assert!(parse_pg_float::<f64>("NaN").is_some_and(f64::is_nan));
        for bad in ["", " 1", "1,5", "0x10"] {
            assert_eq!(parse_pg_float::<f64>(bad), None, "{bad:?}");
            assert_eq!(parse_pg_float::<f32>(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn points() {
        assert_eq!(parse_point(b"(1,2)"), Some((1.0, 2.0)));
        assert_eq!(parse_point(b"(-1.5,2e-05)"), Some((-1.5, 2e-5)));
        assert!(parse_point(b"(NaN,Infinity)").unwrap().0.is_nan());
        assert_eq!(parse_point(b"(1 2)"), None);
        assert_eq!(parse_point(b"1,2"), None);
        assert_eq!(parse_point(b"(inf,2)"), Some((f64::INFINITY, 2.0)));
        assert_eq!(parse_point(b"(1,2_0)"), None);
        let wkb = point_wkb(1.0, 2.0);
        assert_eq!(wkb[..5], [1, 1, 0, 0, 0]);
    }

    #[test]
    fn ewkb() {
        // SRID=4326;POINT(1 2)
        let (bytes, srid) =
            parse_hex_ewkb(b"0101000020E6100000000000000000F03F0000000000000040").unwrap();
        assert_eq!(srid, Some(4326));
        assert_eq!(bytes.len(), 25);
        let (_, srid) = parse_hex_ewkb(b"0101000000000000000000F03F0000000000000040").unwrap();
        assert_eq!(srid, None);
        assert!(parse_hex_ewkb(b"01").is_none());
        assert!(parse_hex_ewkb(b"0101000020E61000000G").is_none());
    }

    #[test]
    fn vectors() {
        assert_eq!(parse_vector(b"[1,2.5,-3]").unwrap(), vec!["1", "2.5", "-3"]);
        assert_eq!(parse_vector(b"[]").unwrap(), Vec::<&str>::new());
        assert!(parse_vector(b"[1,x]").is_none());
        assert!(parse_vector(b"1,2").is_none());
    }
}
