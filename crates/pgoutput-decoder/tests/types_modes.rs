//! Conversion modes, edge values and malformed input. Inputs are the text PostgreSQL 15 prints
//! for each value; expected outputs follow Debezium 3.6's converters except where the module
//! documents a deviation.

use pgoutput_decoder::{
    types::{
        oid, parse_value, write_debezium_fallback, write_debezium_json,
        write_unavailable_placeholder, BinaryHandlingMode, ColumnType, ConvertOptions,
        DecimalHandlingMode, HstoreHandlingMode, IntervalHandlingMode, MultidimensionalArrayMode,
        TimePrecisionMode, TypeKind, TypeRegistry, Value,
    },
    ErrorKind,
};
use serde_json::{json, Value as Json};

fn raw_with(oid: u32, typmod: i32, text: &str, opts: &ConvertOptions) -> String {
    let mut out = Vec::new();
    write_debezium_json(
        &mut out,
        &ColumnType::builtin(oid, typmod),
        text.as_bytes(),
        opts,
    )
    .unwrap_or_else(|e| panic!("{oid} {text:?}: {e}"));
    String::from_utf8(out).unwrap()
}

fn raw(oid: u32, typmod: i32, text: &str) -> String {
    raw_with(oid, typmod, text, &ConvertOptions::default())
}

fn j_with(oid: u32, typmod: i32, text: &str, opts: &ConvertOptions) -> Json {
    let s = raw_with(oid, typmod, text, opts);
    serde_json::from_str(&s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn j(oid: u32, typmod: i32, text: &str) -> Json {
    j_with(oid, typmod, text, &ConvertOptions::default())
}

fn opts(f: impl FnOnce(&mut ConvertOptions)) -> ConvertOptions {
    let mut o = ConvertOptions::default();
    f(&mut o);
    o
}

/// `numeric(p,s)`'s type modifier.
fn numeric_typmod(precision: i32, scale: i32) -> i32 {
    ((precision << 16) | (scale & 0x7ff)) + 4
}

#[test]
fn floats() {
    assert_eq!(raw(oid::FLOAT4, -1, "-0"), "-0.0");
    assert_eq!(raw(oid::FLOAT8, -1, "0"), "0.0");
    assert_eq!(j(oid::FLOAT4, -1, "NaN"), json!("NaN"));
    assert_eq!(j(oid::FLOAT4, -1, "Infinity"), json!("Infinity"));
    assert_eq!(j(oid::FLOAT8, -1, "-Infinity"), json!("-Infinity"));
    // As with Java's Float.toString: the digits of the float, which a reader takes as a double.
    assert_eq!(j(oid::FLOAT4, -1, "3.4028235e+38"), json!(3.4028235e38));
    assert_eq!(raw(oid::FLOAT4, -1, "3.4028235e+38"), "3.4028235e38");
    // Java's Float.toString prints the shortest digits of the float, not of the double.
    assert_eq!(raw(oid::FLOAT4, -1, "0.1"), "0.1");
    assert_eq!(j(oid::FLOAT8, -1, "5e-324"), json!(5e-324));
    assert_eq!(j(oid::FLOAT8, -1, "1e+308"), json!(1e308));
    assert_eq!(
        j(oid::FLOAT8_ARRAY, -1, "{NaN,-Infinity,1.5}"),
        json!(["NaN", "-Infinity", 1.5])
    );
}

#[test]
fn numeric_precise() {
    let n10_2 = numeric_typmod(10, 2);
    assert_eq!(j(oid::NUMERIC, n10_2, "12345678.91"), json!("SZYC0w=="));
    assert_eq!(j(oid::NUMERIC, n10_2, "-0.01"), json!("/w=="));
    assert_eq!(j(oid::NUMERIC, n10_2, "0.00"), json!("AA=="));
    // Values are rescaled to the column scale: 22.22 in numeric(6,4) is unscaled 222200.
    assert_eq!(
        j(oid::NUMERIC, numeric_typmod(6, 4), "22.22"),
        json!("A2P4")
    );
    assert_eq!(
        j(oid::NUMERIC, numeric_typmod(10, 0), "1000"),
        json!("A+g=")
    );
    // Unconstrained: VariableScaleDecimal, trailing zeros stripped, negative scale set to 0.
    assert_eq!(
        j(oid::NUMERIC, -1, "1.500"),
        json!({"scale": 1, "value": "Dw=="})
    );
    assert_eq!(
        j(oid::NUMERIC, -1, "10.1111"),
        json!({"scale": 4, "value": "AYr3"})
    );
    assert_eq!(
        j(oid::NUMERIC, -1, "100000000000000000000"),
        json!({"scale": 0, "value": "BWvHXi1jEAAA"})
    );
    assert_eq!(
        j(oid::NUMERIC, -1, "0.000"),
        json!({"scale": 0, "value": "AA=="})
    );
    assert_eq!(raw(oid::NUMERIC, -1, "0"), r#"{"scale":0,"value":"AA=="}"#);
    // PostgreSQL 15 negative scale: numeric(3,-2) prints 12300; written exactly with scale 0.
    assert_eq!(
        j(oid::NUMERIC, numeric_typmod(3, -2), "12300"),
        json!("MAw=")
    );
    // NaN and the infinities: Debezium fails; we write null.
    for special in ["NaN", "Infinity", "-Infinity"] {
        assert_eq!(j(oid::NUMERIC, n10_2, special), Json::Null);
        assert_eq!(j(oid::NUMERIC, -1, special), Json::Null);
    }
    assert_eq!(
        j(
            oid::NUMERIC_ARRAY,
            numeric_typmod(6, 2),
            "{1.50,NULL,-0.01}"
        ),
        json!(["AJY=", null, "/w=="])
    );
    assert_eq!(
        j(oid::NUMERIC_ARRAY, -1, "{1.5,NaN}"),
        json!([{"scale": 1, "value": "Dw=="}, null])
    );
}

#[test]
fn numeric_huge() {
    let nines = "9".repeat(1000);
    let got = j(oid::NUMERIC, -1, &nines);
    assert_eq!(got["scale"], json!(0));
    assert_eq!(got["value"], json!(NINES_1000_BASE64));
    // The negative is the two's complement of the positive.
    let neg = j(oid::NUMERIC, -1, &format!("-{nines}"));
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let pos = b64.decode(NINES_1000_BASE64).unwrap();
    let negb = b64.decode(neg["value"].as_str().unwrap()).unwrap();
    assert_eq!(pos.len(), negb.len());
    let mut twos: Vec<u8> = pos.iter().map(|b| !b).collect();
    for b in twos.iter_mut().rev() {
        let (v, carry) = b.overflowing_add(1);
        *b = v;
        if !carry {
            break;
        }
    }
    assert_eq!(twos, negb);
    // 1000 digits after the point, in a constrained column.
    let frac = format!("0.{}1", "0".repeat(998));
    let got = j(oid::NUMERIC, numeric_typmod(1000, 999), &frac);
    assert_eq!(got, json!("AQ=="));
    // A very long value stays fast enough and correct in size.
    let long = "7".repeat(20_000);
    let got = j(oid::NUMERIC, -1, &long);
    assert!(got["value"].as_str().unwrap().len() > 11_000);
}

const NINES_1000_BASE64: &str = "A842x+d09rAV40paVOby20q+h8qyrjLHo+js82RTtZqiFGsvESHV79fxXNN3VI6vYgNBBI9ZpyLxKoSK+0Q66MGPxuYr9hcpVVEK37hOa6oWagVoZBuehpSfmF2n0lM74JtnoOVCw7WVQCKNmOxOPZ1xDuD+d3KdfkaY8MCBYoCiguU7NOVgoBZdVVIq6nh9oLw+ta/31JCTy4g+9TzTnIKzlvlcraiML7ctzLJD02eLhcYhHsyGegANd5wiWZnM3Qb8GoKYv39uUTtJGYGrGF1K+P0HtRSpOtlbZw29d07Ghkoiw4dZGzvHnRbUzHahvKmpS3rRBYSkh3R4YS3baYBefDLFJ5DTm8sZSEtTjoAh9FW0JuXVj5rCl6dfRjznbiZg//////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////////8=";

#[test]
fn numeric_double_and_string_modes() {
    let double = opts(|o| o.decimal_handling_mode = DecimalHandlingMode::Double);
    let string = opts(|o| o.decimal_handling_mode = DecimalHandlingMode::String);
    let n10_2 = numeric_typmod(10, 2);
    assert_eq!(
        j_with(oid::NUMERIC, n10_2, "12345678.91", &double),
        json!(12345678.91)
    );
    assert_eq!(
        j_with(oid::NUMERIC, -1, "3.14159265358979323846", &double),
        json!(std::f64::consts::PI)
    );
    assert_eq!(j_with(oid::NUMERIC, -1, "NaN", &double), json!("NaN"));
    assert_eq!(
        j_with(oid::NUMERIC, -1, "Infinity", &double),
        json!("Infinity")
    );
    assert_eq!(
        j_with(oid::NUMERIC, -1, "-Infinity", &double),
        json!("-Infinity")
    );
    assert_eq!(
        j_with(oid::NUMERIC, n10_2, "12345678.91", &string),
        json!("12345678.91")
    );
    assert_eq!(
        j_with(oid::NUMERIC, numeric_typmod(6, 4), "22.22", &string),
        json!("22.2200")
    );
    assert_eq!(j_with(oid::NUMERIC, -1, "1.500", &string), json!("1.500"));
    assert_eq!(j_with(oid::NUMERIC, -1, "NaN", &string), json!("NAN"));
    assert_eq!(
        j_with(oid::NUMERIC, -1, "Infinity", &string),
        json!("POSITIVE_INFINITY")
    );
    assert_eq!(
        j_with(oid::NUMERIC, -1, "-Infinity", &string),
        json!("NEGATIVE_INFINITY")
    );
    assert_eq!(
        j_with(oid::NUMERIC, -1, "100000000000000000000", &string),
        json!("100000000000000000000")
    );
}

#[test]
fn money() {
    assert_eq!(j(oid::MONEY, -1, "$1,234.56"), json!("AeJA"));
    assert_eq!(j(oid::MONEY, -1, "-$1.00"), json!("nA=="));
    assert_eq!(j(oid::MONEY, -1, "-$1,234.11"), json!("/h3t"));
    assert_eq!(j(oid::MONEY, -1, "($1,234.11)"), json!("/h3t"));
    assert_eq!(j(oid::MONEY, -1, "$0.00"), json!("AA=="));
    // Other lc_monetary settings.
    assert_eq!(j(oid::MONEY, -1, "1.234,56 €"), json!("AeJA"));
    assert_eq!(
        j(oid::MONEY, -1, "-1 234,56 €"),
        j(oid::MONEY, -1, "-$1,234.56")
    );
    let three = opts(|o| o.money_fraction_digits = 3);
    assert_eq!(j_with(oid::MONEY, -1, "$1.25", &three), json!("BOI="));
    let double = opts(|o| o.decimal_handling_mode = DecimalHandlingMode::Double);
    assert_eq!(j_with(oid::MONEY, -1, "$1,234.56", &double), json!(1234.56));
    let string = opts(|o| o.decimal_handling_mode = DecimalHandlingMode::String);
    assert_eq!(
        j_with(oid::MONEY, -1, "-$1,234.56", &string),
        json!("-1234.56")
    );
    assert_eq!(j_with(oid::MONEY, -1, "$0.00", &string), json!("0.00"));
}

#[test]
fn binary_modes() {
    let text = "\\xfbff01";
    assert_eq!(j(oid::BYTEA, -1, text), json!("+/8B"));
    let m = |mode| opts(|o| o.binary_handling_mode = mode);
    assert_eq!(
        j_with(oid::BYTEA, -1, text, &m(BinaryHandlingMode::Base64)),
        json!("+/8B")
    );
    assert_eq!(
        j_with(oid::BYTEA, -1, text, &m(BinaryHandlingMode::Base64UrlSafe)),
        json!("-_8B")
    );
    assert_eq!(
        j_with(
            oid::BYTEA,
            -1,
            "\\xfbff",
            &m(BinaryHandlingMode::Base64UrlSafe)
        ),
        json!("-_8=")
    );
    assert_eq!(
        j_with(oid::BYTEA, -1, text, &m(BinaryHandlingMode::Hex)),
        json!("fbff01")
    );
    assert_eq!(j(oid::BYTEA, -1, "\\x"), json!(""));
    // The legacy escape output format.
    assert_eq!(j(oid::BYTEA, -1, "ab\\000\\\\"), json!("YWIAXA=="));
    assert_eq!(
        j(oid::BYTEA_ARRAY, -1, "{\"\\\\x0102\",NULL}"),
        json!(["AQI=", null])
    );
}

#[test]
fn dates() {
    assert_eq!(j(oid::DATE, -1, "2024-02-29"), json!(19782));
    assert_eq!(j(oid::DATE, -1, "1970-01-01"), json!(0));
    assert_eq!(j(oid::DATE, -1, "1969-12-31"), json!(-1));
    assert_eq!(j(oid::DATE, -1, "0044-03-15 BC"), json!(-735_160));
    assert_eq!(j(oid::DATE, -1, "5874897-12-31"), json!(2_145_042_905));
    // Debezium's (odd) constants: LocalDate -5877611-06-21 / -22 as epoch days.
    assert_eq!(j(oid::DATE, -1, "infinity"), json!(-2_147_472_692));
    assert_eq!(j(oid::DATE, -1, "-infinity"), json!(-2_147_472_691));
    let connect = opts(|o| o.time_precision_mode = TimePrecisionMode::Connect);
    assert_eq!(j_with(oid::DATE, -1, "2024-02-29", &connect), json!(19782));
    assert_eq!(
        j(oid::DATE_ARRAY, -1, "{2024-01-01,1999-12-31,NULL}"),
        json!([19723, 10956, null])
    );
}

#[test]
fn times() {
    let micro = opts(|o| o.time_precision_mode = TimePrecisionMode::AdaptiveTimeMicroseconds);
    let connect = opts(|o| o.time_precision_mode = TimePrecisionMode::Connect);
    // time(3) adaptive: milliseconds; time / time(6): microseconds.
    assert_eq!(j(oid::TIME, 3, "13:45:30.123"), json!(49_530_123));
    assert_eq!(j(oid::TIME, 0, "13:45:30"), json!(49_530_000));
    assert_eq!(j(oid::TIME, 4, "13:45:30.1235"), json!(49_530_123_500i64));
    assert_eq!(
        j(oid::TIME, -1, "13:45:30.123456"),
        json!(49_530_123_456i64)
    );
    assert_eq!(j(oid::TIME, -1, "24:00:00"), json!(86_400_000_000i64));
    assert_eq!(
        j_with(oid::TIME, 3, "13:45:30.123", &micro),
        json!(49_530_123_000i64)
    );
    assert_eq!(
        j_with(oid::TIME, -1, "13:45:30.123456", &connect),
        json!(49_530_123)
    );
    assert_eq!(
        j_with(oid::TIME, -1, "24:00:00", &connect),
        json!(86_400_000)
    );
    // timetz: converted to UTC, fraction not padded.
    assert_eq!(j(oid::TIMETZ, -1, "13:45:30.5+05:30"), json!("08:15:30.5Z"));
    assert_eq!(j(oid::TIMETZ, -1, "00:00:00+00"), json!("00:00:00Z"));
    assert_eq!(j(oid::TIMETZ, -1, "23:00:00-02"), json!("01:00:00Z"));
    assert_eq!(j(oid::TIMETZ, -1, "01:00:00+05"), json!("20:00:00Z"));
    assert_eq!(
        j(oid::TIMETZ, -1, "12:00:00.123456+05:30:15"),
        json!("06:29:45.123456Z")
    );
    assert_eq!(j(oid::TIMETZ, -1, "24:00:00+00"), json!("00:00:00Z"));
    assert_eq!(j(oid::TIMETZ, 3, "13:51:30.12+02"), json!("11:51:30.12Z"));
    assert_eq!(
        j(oid::TIMETZ_ARRAY, -1, "{13:45:30.5+05:30,NULL}"),
        json!(["08:15:30.5Z", null])
    );
    assert_eq!(
        j(oid::TIME_ARRAY, -1, "{13:45:30.123456}"),
        json!([49_530_123_456i64])
    );
}

#[test]
fn timestamps() {
    let connect = opts(|o| o.time_precision_mode = TimePrecisionMode::Connect);
    let micro = opts(|o| o.time_precision_mode = TimePrecisionMode::AdaptiveTimeMicroseconds);
    assert_eq!(
        j(oid::TIMESTAMP, -1, "2018-06-20 15:13:16.945104"),
        json!(1_529_507_596_945_104i64)
    );
    assert_eq!(
        j(oid::TIMESTAMP, 3, "2024-01-15 10:30:00.123"),
        json!(1_705_314_600_123i64)
    );
    assert_eq!(
        j_with(oid::TIMESTAMP, 3, "2024-01-15 10:30:00.123", &micro),
        json!(1_705_314_600_123i64)
    );
    assert_eq!(
        j_with(oid::TIMESTAMP, -1, "2024-01-15 10:30:00.123456", &connect),
        json!(1_705_314_600_123i64)
    );
    assert_eq!(
        j(oid::TIMESTAMP, -1, "1969-12-31 23:59:59.999999"),
        json!(-1)
    );
    assert_eq!(j(oid::TIMESTAMP, 3, "1969-12-31 23:59:59.999"), json!(-1));
    assert_eq!(
        j(oid::TIMESTAMP, -1, "0044-03-15 12:00:00 BC"),
        json!(-63_517_780_800_000_000i64)
    );
    assert_eq!(
        j(oid::TIMESTAMP, -1, "infinity"),
        json!(9_223_372_036_825_200_000i64)
    );
    assert_eq!(
        j(oid::TIMESTAMP, -1, "-infinity"),
        json!(-9_223_372_036_832_400_000i64)
    );
    assert_eq!(
        j(oid::TIMESTAMP, 3, "infinity"),
        json!(9_223_372_036_825_200i64)
    );
    assert_eq!(
        j_with(oid::TIMESTAMP, -1, "-infinity", &connect),
        json!(-9_223_372_036_832_400i64)
    );
    // Beyond i64 microseconds since 1970 (PostgreSQL allows up to 294276 AD): saturates.
    assert_eq!(
        j(oid::TIMESTAMP, -1, "294276-12-31 23:59:59.999999"),
        json!(i64::MAX)
    );
    assert_eq!(
        j(oid::TIMESTAMP, 3, "294276-12-31 23:59:59.999"),
        json!(9_224_318_015_999_999i64)
    );
    assert_eq!(
        j(
            oid::TIMESTAMP_ARRAY,
            -1,
            "{\"1970-01-01 00:00:01\",infinity}"
        ),
        json!([1_000_000, 9_223_372_036_825_200_000i64])
    );
}

#[test]
fn timestamps_with_zone() {
    assert_eq!(
        j(oid::TIMESTAMPTZ, -1, "2024-01-15 10:30:00.654321+02"),
        json!("2024-01-15T08:30:00.654321Z")
    );
    assert_eq!(
        j(oid::TIMESTAMPTZ, -1, "2024-01-15 05:00:00.654321-03:30"),
        json!("2024-01-15T08:30:00.654321Z")
    );
    assert_eq!(
        j(oid::TIMESTAMPTZ, -1, "1970-01-01 00:00:00+00"),
        json!("1970-01-01T00:00:00.000000Z")
    );
    assert_eq!(
        j(oid::TIMESTAMPTZ, 3, "2024-01-15 10:30:00.5+00"),
        json!("2024-01-15T10:30:00.500Z")
    );
    assert_eq!(
        j(oid::TIMESTAMPTZ, 0, "2024-01-15 10:30:00+00"),
        json!("2024-01-15T10:30:00Z")
    );
    assert_eq!(
        j(oid::TIMESTAMPTZ, -1, "21016-11-04 06:51:30.123456+00"),
        json!("+21016-11-04T06:51:30.123456Z")
    );
    assert_eq!(
        j(oid::TIMESTAMPTZ, -1, "0044-03-15 12:19:32+00:19:32 BC"),
        json!("-0043-03-15T12:00:00.000000Z")
    );
    assert_eq!(
        j(oid::TIMESTAMPTZ, -1, "0001-01-01 00:00:00+00 BC"),
        json!("0000-01-01T00:00:00.000000Z")
    );
    assert_eq!(
        j(oid::TIMESTAMPTZ, -1, "1799-12-31 20:29:08-03:30:52"),
        json!("1800-01-01T00:00:00.000000Z")
    );
    assert_eq!(j(oid::TIMESTAMPTZ, -1, "infinity"), json!("infinity"));
    assert_eq!(j(oid::TIMESTAMPTZ, -1, "-infinity"), json!("-infinity"));
    assert_eq!(
        j(
            oid::TIMESTAMPTZ_ARRAY,
            -1,
            "{\"2024-01-15 08:30:00+00\",infinity}"
        ),
        json!(["2024-01-15T08:30:00.000000Z", "infinity"])
    );
}

#[test]
fn intervals() {
    let string = opts(|o| o.interval_handling_mode = IntervalHandlingMode::String);
    let cases: &[(&str, i64, &str)] = &[
        (
            "1 year 2 mons 3 days 04:05:06.789",
            37_091_106_789_000,
            "P1Y2M3DT4H5M6.789S",
        ),
        ("-1 days +02:00:00", -79_200_000_000, "P0Y0M-1DT2H0M0S"),
        ("00:00:00", 0, "P0Y0M0DT0H0M0S"),
        ("1 mon", 2_629_800_000_000, "P0Y1M0DT0H0M0S"),
        ("-00:00:00.000001", -1, "P0Y0M0DT0H0M-0.000001S"),
        ("100:00:00", 360_000_000_000, "P0Y0M0DT100H0M0S"),
        (
            "-1 years -2 mons +3 days -04:05:06.5",
            -36_572_706_500_000,
            "P-1Y-2M3DT-4H-5M-6.5S",
        ),
        // Other IntervalStyles of the server.
        ("@ 1 day -2 hours ago", -79_200_000_000, "P0Y0M-1DT2H0M0S"),
        (
            "P1Y2M3DT4H5M6.789S",
            37_091_106_789_000,
            "P1Y2M3DT4H5M6.789S",
        ),
        (
            "+1-2 +3 +4:05:06.789",
            37_091_106_789_000,
            "P1Y2M3DT4H5M6.789S",
        ),
    ];
    for (text, micros, iso) in cases {
        assert_eq!(j(oid::INTERVAL, -1, text), json!(micros), "{text}");
        assert_eq!(
            j_with(oid::INTERVAL, -1, text, &string),
            json!(iso),
            "{text}"
        );
    }
    assert_eq!(
        j(oid::INTERVAL_ARRAY, -1, "{\"1 day\",NULL}"),
        json!([86_400_000_000i64, null])
    );
}

#[test]
fn bits() {
    assert_eq!(j(oid::BIT, 1, "1"), json!(true));
    assert_eq!(j(oid::BIT, 1, "0"), json!(false));
    assert_eq!(j(oid::VARBIT, 1, "1"), json!(true));
    assert_eq!(j(oid::BIT, 2, "11"), json!("Aw=="));
    assert_eq!(j(oid::BIT, 10, "1000000000"), json!("AAI="));
    assert_eq!(j(oid::BIT, 8, "00000000"), json!(""));
    assert_eq!(j(oid::VARBIT, -1, "101"), json!("BQ=="));
    assert_eq!(j(oid::VARBIT, -1, ""), json!(""));
    assert_eq!(j(oid::VARBIT, 16, "0000000100000000"), json!("AAE="));
}

#[test]
fn strings_and_other_text_types() {
    assert_eq!(j(oid::BPCHAR, 9, "ab   "), json!("ab   "));
    assert_eq!(
        j(oid::TEXT, -1, "tab\there \"q\" \\ ☃ \u{1}"),
        json!("tab\there \"q\" \\ ☃ \u{1}")
    );
    assert_eq!(
        j(oid::JSONB, -1, "{\"a\": \"x\", \"z\": 1}"),
        json!("{\"a\": \"x\", \"z\": 1}")
    );
    assert_eq!(
        j(oid::UUID, -1, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
        json!("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
    );
    assert_eq!(j(oid::INET, -1, "192.168.2.0/12"), json!("192.168.2.0/12"));
    assert_eq!(
        j(oid::TSVECTOR, -1, "'direct':6 'insert':8"),
        json!("'direct':6 'insert':8")
    );
    assert_eq!(j(oid::INT4RANGE, -1, "[1000,6000)"), json!("[1000,6000)"));
    assert_eq!(
        j(oid::TSQUERY, -1, "'fat' <-> 'cat'"),
        json!("'fat' <-> 'cat'")
    );
    assert_eq!(j(oid::BOX, -1, "(3,4),(1,2)"), json!("(3,4),(1,2)"));
    assert_eq!(j(oid::PG_LSN, -1, "0/16E9058"), json!("0/16E9058"));
    assert_eq!(j(oid::OID, -1, "4294967295"), json!(4_294_967_295u32));
    assert_eq!(j(99_999, -1, "whatever"), json!("whatever"));
}

#[test]
fn point() {
    assert_eq!(
        j(oid::POINT, -1, "(1,2)"),
        json!({"x": 1.0, "y": 2.0, "wkb": "AQEAAAAAAAAAAADwPwAAAAAAAABA", "srid": null})
    );
    assert_eq!(
        raw(oid::POINT, -1, "(1,2)"),
        r#"{"x":1.0,"y":2.0,"wkb":"AQEAAAAAAAAAAADwPwAAAAAAAABA","srid":null}"#
    );
}

#[test]
fn arrays() {
    let nested = opts(|o| o.multidimensional_array_mode = MultidimensionalArrayMode::Nested);
    assert_eq!(j(oid::INT4_ARRAY, -1, "{}"), json!([]));
    assert_eq!(
        j_with(oid::INT4_ARRAY, -1, "{{1,2},{3,4}}", &nested),
        json!([[1, 2], [3, 4]])
    );
    assert_eq!(
        j_with(oid::INT4_ARRAY, -1, "{{{1}}}", &nested),
        json!([[[1]]])
    );
    assert_eq!(j(oid::INT4_ARRAY, -1, "[2:3]={1,2}"), json!([1, 2]));
    assert_eq!(
        j_with(
            oid::TEXT_ARRAY,
            -1,
            r#"{{"a b",NULL},{"\"q\"","c\\d"}}"#,
            &nested
        ),
        json!([["a b", null], ["\"q\"", "c\\d"]])
    );
    // By default one null per sub-array, as Debezium (recorded: tests/conformance, case
    // array_multidim).
    assert_eq!(j(oid::INT4_ARRAY, -1, "{{1,2},{3,4}}"), json!([null, null]));
    assert_eq!(
        j(oid::INT4_ARRAY, -1, "{{{1},{2}},{{3},{4}}}"),
        json!([null, null])
    );
    assert_eq!(j(oid::INT4_ARRAY, -1, "{{1,2,3}}"), json!([null]));
    assert_eq!(
        j(oid::TEXT_ARRAY, -1, r#"{{"a","b"},{NULL,"d"}}"#),
        json!([null, null])
    );
    assert_eq!(
        j(oid::NUMERIC_ARRAY, -1, "{{1.5},{2.5}}"),
        json!([null, null])
    );
    assert_eq!(
        j(oid::TEXT_ARRAY, -1, r#"{"",NULL,"NULL"," x "}"#),
        json!(["", null, "NULL", " x "])
    );
    assert_eq!(
        j(oid::BOX_ARRAY, -1, "{(3,4),(1,2);(7,8),(5,6)}"),
        json!(["(3,4),(1,2)", "(7,8),(5,6)"])
    );
    assert_eq!(
        j(oid::BOOL_ARRAY, -1, "{t,f,NULL}"),
        json!([true, false, null])
    );
    assert_eq!(
        j(oid::JSONB_ARRAY, -1, r#"{"{\"k\": 1}","[1]"}"#),
        json!(["{\"k\": 1}", "[1]"])
    );
    assert_eq!(
        j(oid::BPCHAR_ARRAY, 9, r#"{"cone ","a    "}"#),
        json!(["cone ", "a    "])
    );
}

#[test]
fn hstore_modes() {
    let mut registry = TypeRegistry::new();
    let row: [Option<&str>; 15] = [
        Some("17339"),
        Some("hstore"),
        Some("public"),
        Some("b"),
        Some("U"),
        Some("0"),
        Some("17344"),
        Some(","),
        Some("0"),
        Some("-1"),
        None,
        None,
        None,
        None,
        None,
    ];
    registry.load_catalog_rows([&row]).unwrap();
    let ty = registry.resolve(17_339, -1);
    assert_eq!(ty.kind, TypeKind::Hstore);
    let text = br#""a"=>"1", "key2"=>NULL"#;
    let mut out = Vec::new();
    write_debezium_json(&mut out, &ty, text, &ConvertOptions::default()).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        r#""{\"a\":\"1\",\"key2\":null}""#
    );
    let map = opts(|o| o.hstore_handling_mode = HstoreHandlingMode::Map);
    let mut out = Vec::new();
    write_debezium_json(&mut out, &ty, text, &map).unwrap();
    assert_eq!(
        serde_json::from_slice::<Json>(&out).unwrap(),
        json!({"a": "1", "key2": null})
    );
    let mut out = Vec::new();
    write_unavailable_placeholder(&mut out, &ty, &ConvertOptions::default());
    assert_eq!(
        serde_json::from_slice::<Json>(&out).unwrap(),
        json!("{\"__debezium_unavailable_value\":\"__debezium_unavailable_value\"}")
    );
    let mut out = Vec::new();
    write_unavailable_placeholder(&mut out, &ty, &map);
    assert_eq!(
        serde_json::from_slice::<Json>(&out).unwrap(),
        json!({"__debezium_unavailable_value": "__debezium_unavailable_value"})
    );
}

fn placeholder(oid: u32, opts: &ConvertOptions) -> Json {
    let mut out = Vec::new();
    write_unavailable_placeholder(&mut out, &ColumnType::builtin(oid, -1), opts);
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn toast_placeholders() {
    let d = ConvertOptions::default();
    let ph = "__debezium_unavailable_value";
    let bytes: Vec<i64> = ph.bytes().map(i64::from).collect();
    for text_like in [
        oid::TEXT,
        oid::VARCHAR,
        oid::BPCHAR,
        oid::JSON,
        oid::JSONB,
        oid::XML,
        oid::NUMERIC,
        oid::TSVECTOR,
    ] {
        assert_eq!(placeholder(text_like, &d), json!(ph));
    }
    assert_eq!(
        placeholder(oid::BYTEA, &d),
        json!("X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==")
    );
    for text_array in [
        oid::TEXT_ARRAY,
        oid::VARCHAR_ARRAY,
        oid::BPCHAR_ARRAY,
        oid::JSON_ARRAY,
        oid::JSONB_ARRAY,
    ] {
        assert_eq!(placeholder(text_array, &d), json!([ph]));
    }
    for int_array in [oid::INT4_ARRAY, oid::INT8_ARRAY, oid::DATE_ARRAY] {
        assert_eq!(placeholder(int_array, &d), json!(bytes));
    }
    assert_eq!(
        placeholder(oid::BYTEA_ARRAY, &d),
        json!(["X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ=="])
    );
    // Java's UUID.nameUUIDFromBytes of the placeholder.
    assert_eq!(
        placeholder(oid::UUID_ARRAY, &d),
        json!(["b68a35a7-17ad-35b3-af2a-ae46edb4545a"])
    );
    assert_eq!(placeholder(oid::NUMERIC_ARRAY, &d), json!([ph]));
    let hex = opts(|o| o.binary_handling_mode = BinaryHandlingMode::Hex);
    assert_eq!(placeholder(oid::BYTEA, &hex), json!(ph));
    let url = opts(|o| o.binary_handling_mode = BinaryHandlingMode::Base64UrlSafe);
    assert_eq!(
        placeholder(oid::BYTEA, &url),
        json!("X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==")
    );
    // A custom placeholder given as raw bytes.
    let custom = opts(|o| {
        o.set("unavailable.value.placeholder", "hex:deadbeef")
            .unwrap();
    });
    assert_eq!(placeholder(oid::BYTEA, &custom), json!("3q2+7w=="));
    assert_eq!(
        placeholder(oid::INT4_ARRAY, &custom),
        json!([-34, -83, -66, -17])
    );
    assert_eq!(
        placeholder(oid::TEXT, &custom),
        json!("\u{7ad}\u{fffd}\u{fffd}")
    );
    let custom = opts(|o| o.unavailable_value_placeholder = "gone".into());
    assert_eq!(placeholder(oid::TEXT, &custom), json!("gone"));
    assert_eq!(placeholder(oid::BYTEA, &custom), json!("Z29uZQ=="));
}

#[test]
fn fallbacks_for_not_null_columns() {
    let d = ConvertOptions::default();
    let f = |oid: u32, typmod: i32, o: &ConvertOptions| {
        let mut out = Vec::new();
        write_debezium_fallback(&mut out, &ColumnType::builtin(oid, typmod), o);
        serde_json::from_slice::<Json>(&out).unwrap()
    };
    // As in crud_basic's and toast_unchanged's recorded deletes.
    assert_eq!(f(oid::INT4, -1, &d), json!(0));
    assert_eq!(f(oid::TEXT, -1, &d), json!(""));
    assert_eq!(f(oid::NUMERIC, numeric_typmod(12, 2), &d), json!("AA=="));
    assert_eq!(f(oid::TIMESTAMPTZ, -1, &d), json!("1970-01-01T00:00:00Z"));
    let string = opts(|o| o.decimal_handling_mode = DecimalHandlingMode::String);
    assert_eq!(
        f(oid::NUMERIC, numeric_typmod(12, 2), &string),
        json!("0.00")
    );
    assert_eq!(f(oid::MONEY, -1, &string), json!("0.00"));
    assert_eq!(
        f(oid::POINT, -1, &d)["wkb"],
        json!("AQEAAAAAAAAAAAAAAAAAAAAAAAAA")
    );
}

#[test]
fn typed_values() {
    let d = ConvertOptions::default();
    let v = |oid: u32, typmod: i32, text: &str| {
        parse_value(&ColumnType::builtin(oid, typmod), text.as_bytes(), &d).unwrap()
    };
    assert_eq!(v(oid::BOOL, -1, "f"), Value::Bool(false));
    assert_eq!(v(oid::FLOAT8, -1, "-1.25e-10"), Value::Float(-1.25e-10));
    assert!(matches!(v(oid::FLOAT4, -1, "NaN"), Value::Float(f) if f.is_nan()));
    assert_eq!(
        v(oid::NUMERIC, -1, "100000000000000000000"),
        Value::Numeric("100000000000000000000".into())
    );
    assert_eq!(
        v(oid::NUMERIC, -1, "-Infinity"),
        Value::Numeric("-Infinity".into())
    );
    assert_eq!(
        v(oid::BYTEA, -1, "\\xdeadbeef00"),
        Value::Bytes(vec![0xde, 0xad, 0xbe, 0xef, 0])
    );
    assert_eq!(v(oid::JSONB, -1, "{}"), Value::Json("{}".into()));
    assert_eq!(
        v(oid::UUID, -1, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
        Value::Uuid("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11".into())
    );
    assert_eq!(
        v(oid::DATE, -1, "2024-02-29"),
        Value::Date("2024-02-29".into())
    );
    assert_eq!(
        v(oid::DATE, -1, "0001-01-01 BC"),
        Value::Date("0000-01-01".into())
    );
    assert_eq!(v(oid::DATE, -1, "infinity"), Value::Date("infinity".into()));
    assert_eq!(
        v(oid::TIME, -1, "13:45:30.123456"),
        Value::Time("13:45:30.123456".into())
    );
    assert_eq!(v(oid::TIME, -1, "13:45:30"), Value::Time("13:45:30".into()));
    assert_eq!(
        v(oid::TIMETZ, -1, "00:00:00+00"),
        Value::TimeTz("00:00:00+00:00".into())
    );
    assert_eq!(
        v(oid::TIMESTAMP, -1, "2024-01-15 10:30:00.123456"),
        Value::Timestamp("2024-01-15T10:30:00.123456".into())
    );
    assert_eq!(
        v(oid::TIMESTAMP, -1, "-infinity"),
        Value::Timestamp("-infinity".into())
    );
    assert_eq!(
        v(oid::TIMESTAMPTZ, -1, "1970-01-01 05:30:00+05:30"),
        Value::TimestampTz("1970-01-01T00:00:00+00:00".into())
    );
    assert_eq!(
        v(oid::INTERVAL, -1, "1 year 2 mons 3 days 04:05:06.789"),
        Value::Interval("P1Y2M3DT4H5M6.789S".into())
    );
    assert_eq!(
        v(oid::INTERVAL, -1, "00:00:00"),
        Value::Interval("PT0S".into())
    );
    assert_eq!(
        v(oid::MONEY, -1, "$1,234.56"),
        Value::Numeric("1234.56".into())
    );
    assert_eq!(v(oid::BPCHAR, 9, "ab   "), Value::Text("ab   ".into()));
    assert_eq!(
        v(oid::TEXT_ARRAY, -1, r#"{{"a",NULL},{"b","c"}}"#),
        Value::Array(vec![
            Value::Array(vec![Value::Text("a".into()), Value::Null]),
            Value::Array(vec![Value::Text("b".into()), Value::Text("c".into())]),
        ])
    );
}

#[test]
fn malformed_values_are_decoding_errors() {
    let d = ConvertOptions::default();
    let bad: &[(u32, i32, &str)] = &[
        (oid::BOOL, -1, "maybe"),
        (oid::INT2, -1, "40000"),
        (oid::INT4, -1, "12a"),
        (oid::INT4, -1, ""),
        (oid::INT8, -1, "99999999999999999999"),
        (oid::OID, -1, "-1"),
        (oid::FLOAT8, -1, "1.2.3"),
        (oid::NUMERIC, -1, "1e"),
        (oid::NUMERIC, numeric_typmod(10, 2), "abc"),
        (oid::MONEY, -1, "$"),
        (oid::BYTEA, -1, "\\x0"),
        (oid::DATE, -1, "2023-02-29"),
        (oid::TIME, -1, "25:00:00"),
        (oid::TIMETZ, -1, "12:00:00"),
        (oid::TIMESTAMP, -1, "2024-01-15"),
        (oid::TIMESTAMPTZ, -1, "2024-01-15 10:00:00"),
        (oid::INTERVAL, -1, "1 fortnight"),
        (oid::BIT, 2, "12"),
        (oid::POINT, -1, "(1;2)"),
        (oid::INT4_ARRAY, -1, "{1,2"),
        (oid::INT4_ARRAY, -1, "{1,x}"),
        (oid::TEXT_ARRAY, -1, "{\"a}"),
    ];
    for (oid, typmod, text) in bad {
        let ty = ColumnType::builtin(*oid, *typmod);
        let mut out = b"[".to_vec();
        let e = write_debezium_json(&mut out, &ty, text.as_bytes(), &d)
            .expect_err(&format!("{} {text:?} should fail", ty.name));
        assert_eq!(e.kind(), ErrorKind::Decoding);
        assert!(e.message().contains(&*ty.name), "{}", e.message());
        assert_eq!(out, b"[", "nothing written on error");
        assert!(
            parse_value(&ty, text.as_bytes(), &d).is_err(),
            "{} {text:?}",
            ty.name
        );
    }
}

/// Every kind of type, including composites and hstore from catalog rows.
fn all_types() -> Vec<ColumnType> {
    let mut registry = TypeRegistry::new();
    let rows: Vec<[Option<&str>; 15]> = vec![
        [
            Some("17339"),
            Some("hstore"),
            Some("public"),
            Some("b"),
            Some("U"),
            Some("0"),
            Some("17344"),
            Some(","),
            Some("0"),
            Some("-1"),
            None,
            None,
            None,
            None,
            None,
        ],
        [
            Some("17344"),
            Some("_hstore"),
            Some("public"),
            Some("b"),
            Some("A"),
            Some("17339"),
            Some("0"),
            Some(","),
            Some("0"),
            Some("-1"),
            None,
            None,
            None,
            None,
            None,
        ],
        [
            Some("17757"),
            Some("mood"),
            Some("public"),
            Some("e"),
            Some("E"),
            Some("0"),
            Some("17756"),
            Some(","),
            Some("0"),
            Some("-1"),
            Some("{sad,ok}"),
            None,
            None,
            None,
            None,
        ],
        [
            Some("17769"),
            Some("pair"),
            Some("public"),
            Some("c"),
            Some("C"),
            Some("0"),
            Some("17768"),
            Some(","),
            Some("0"),
            Some("-1"),
            None,
            Some("{a,c,d}"),
            Some("{23,1700,1009}"),
            Some("{-1,393222,-1}"),
            None,
        ],
        [
            Some("17768"),
            Some("_pair"),
            Some("public"),
            Some("b"),
            Some("A"),
            Some("17769"),
            Some("0"),
            Some(","),
            Some("0"),
            Some("-1"),
            None,
            None,
            None,
            None,
            None,
        ],
        [
            Some("17800"),
            Some("geometry"),
            Some("public"),
            Some("b"),
            Some("U"),
            Some("0"),
            Some("0"),
            Some(":"),
            Some("0"),
            Some("-1"),
            None,
            None,
            None,
            None,
            None,
        ],
        [
            Some("17801"),
            Some("vector"),
            Some("public"),
            Some("b"),
            Some("U"),
            Some("0"),
            Some("0"),
            Some(","),
            Some("0"),
            Some("-1"),
            None,
            None,
            None,
            None,
            None,
        ],
    ];
    registry.load_catalog_rows(&rows).unwrap();
    let mut types: Vec<ColumnType> = oid::BUILTIN_TYPES
        .iter()
        .flat_map(|b| {
            [
                registry.resolve(b.oid, -1),
                registry.resolve(b.oid, 2),
                registry.resolve(b.oid, 393_222),
            ]
        })
        .collect();
    for o in [17_339, 17_344, 17_757, 17_769, 17_768, 17_800, 17_801] {
        types.push(registry.resolve(o, -1));
    }
    types
}

fn check_one(ty: &ColumnType, input: &[u8], opts: &ConvertOptions) {
    let mut out = Vec::new();
    if write_debezium_json(&mut out, ty, input, opts).is_ok() {
        if let Err(e) = serde_json::from_slice::<Json>(&out) {
            panic!(
                "{}: {:?} gave invalid JSON {:?}: {e}",
                ty.name,
                String::from_utf8_lossy(input),
                String::from_utf8_lossy(&out)
            );
        }
    } else {
        assert!(out.is_empty());
    }
    let _ = parse_value(ty, input, opts);
}

#[test]
fn random_input_never_panics_and_output_is_json() {
    // xorshift64*, fixed seed: reproducible.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    const ALPHABET: &[u8] = b"0123456789-+.:eE ,;{}()[]\"\\=>NULxtfaPYMDTHS$\x00\x01\xff\xc3\xa9";
    let types = all_types();
    let mode_sets = [
        ConvertOptions::default(),
        opts(|o| {
            o.decimal_handling_mode = DecimalHandlingMode::String;
            o.interval_handling_mode = IntervalHandlingMode::String;
            o.hstore_handling_mode = HstoreHandlingMode::Map;
            o.binary_handling_mode = BinaryHandlingMode::Hex;
            o.time_precision_mode = TimePrecisionMode::Connect;
        }),
    ];
    let seeds: &[&str] = &[
        "{1,2,3}",
        "{{1,2},{3,NULL}}",
        "(1,\"a b\",)",
        "\"a\"=>\"1\", \"b\"=>NULL",
        "2024-01-15 10:30:00.654321+02",
        "13:45:30.5+05:30",
        "1 year 2 mons 3 days 04:05:06.789",
        "12345678.91",
        "$1,234.56",
        "\\xdeadbeef",
        "(1,2)",
        "101",
        "[1,2,3]",
        "0101000020E6100000000000000000F03F0000000000000040",
        "infinity",
        "NaN",
    ];
    let mut inputs: Vec<Vec<u8>> = Vec::new();
    for _ in 0..300 {
        let len = (next() % 24) as usize;
        inputs.push(
            (0..len)
                .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
                .collect(),
        );
    }
    for seed in seeds {
        let s = seed.as_bytes();
        for _ in 0..12 {
            let mut m = s.to_vec();
            match next() % 3 {
                0 => m.truncate((next() % (s.len() as u64 + 1)) as usize),
                1 => {
                    let i = (next() % s.len() as u64) as usize;
                    m[i] = ALPHABET[(next() % ALPHABET.len() as u64) as usize];
                }
                _ => {
                    let i = (next() % (s.len() as u64 + 1)) as usize;
                    m.insert(i, ALPHABET[(next() % ALPHABET.len() as u64) as usize]);
                }
            }
            inputs.push(m);
        }
        inputs.push(s.to_vec());
    }
    for ty in &types {
        for o in &mode_sets {
            for input in &inputs {
                check_one(ty, input, o);
            }
            let mut out = Vec::new();
            write_unavailable_placeholder(&mut out, ty, o);
            serde_json::from_slice::<Json>(&out).unwrap();
            out.clear();
            write_debezium_fallback(&mut out, ty, o);
            serde_json::from_slice::<Json>(&out).unwrap();
        }
    }
}
