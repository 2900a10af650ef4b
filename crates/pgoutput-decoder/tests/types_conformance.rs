//! Every column value of the recorded conformance cases, as PostgreSQL 15's pgoutput really
//! sends it (captured under several server time zones), converted with the default options and
//! compared with what Debezium 3.6 recorded for the same workload
//! (`tests/conformance/expected/*.jsonl`).

use std::collections::BTreeMap;

use pgoutput_decoder::types::{
    parse_value, write_debezium_json, write_unavailable_placeholder, ConvertOptions, TypeRegistry,
    Value,
};
use serde_json::Value as Json;

/// A column value as pgoutput sent it.
enum Sent {
    Null,
    UnchangedToast,
    Text(&'static str),
    /// A long value: prefix followed by `unit` repeated `count` times.
    Repeat(&'static str, &'static str, usize),
}
use Sent::*;

struct CapturedEvent {
    case: &'static str,
    time_zone: &'static str,
    columns: &'static [(&'static str, u32, i32, Sent)],
}

/// The `after` images of the recorded creates and updates of a case, in order.
fn recorded_after_images(case: &str) -> Vec<BTreeMap<String, Json>> {
    let path = format!(
        "{}/../../tests/conformance/expected/{case}.jsonl",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str::<Json>(l).unwrap())
        .filter(|r| matches!(r["value"]["op"].as_str(), Some("c" | "u")))
        .map(|r| {
            r["value"]["after"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .collect()
}

fn registry_for(case: &str, time_zone: &str) -> TypeRegistry {
    let mut registry = TypeRegistry::new();
    let rows: Vec<&[Option<&str>; 15]> = CATALOG_ROWS
        .iter()
        .filter(|(c, tz, _)| *c == case && *tz == time_zone)
        .map(|(_, _, row)| row)
        .collect();
    registry.load_catalog_rows(rows).unwrap();
    registry
}

#[test]
fn every_recorded_value_matches() {
    let opts = ConvertOptions::default();
    let mut compared = 0;
    let mut groups: Vec<(&str, &str)> = CAPTURES.iter().map(|e| (e.case, e.time_zone)).collect();
    groups.dedup();
    for (case, time_zone) in groups {
        let registry = registry_for(case, time_zone);
        let recorded = recorded_after_images(case);
        let events: Vec<&CapturedEvent> = CAPTURES
            .iter()
            .filter(|e| e.case == case && e.time_zone == time_zone)
            .collect();
        assert_eq!(
            events.len(),
            recorded.len(),
            "{case}: number of creates and updates"
        );
        for (i, (event, after)) in events.iter().zip(&recorded).enumerate() {
            let columns: Vec<&str> = event.columns.iter().map(|c| c.0).collect();
            let mut recorded_columns: Vec<&str> = after.keys().map(String::as_str).collect();
            let mut sorted = columns.clone();
            sorted.sort_unstable();
            recorded_columns.sort_unstable();
            assert_eq!(sorted, recorded_columns, "{case} event {i}: columns");
            for (column, oid, typmod, sent) in event.columns {
                let ty = registry.resolve(*oid, *typmod);
                let mut out = Vec::new();
                let owned;
                match sent {
                    Null => out.extend_from_slice(b"null"),
                    UnchangedToast => write_unavailable_placeholder(&mut out, &ty, &opts),
                    Text(t) => write_debezium_json(&mut out, &ty, t.as_bytes(), &opts).unwrap(),
                    Repeat(prefix, unit, n) => {
                        owned = format!("{prefix}{}", unit.repeat(*n));
                        write_debezium_json(&mut out, &ty, owned.as_bytes(), &opts).unwrap()
                    }
                }
                let ours: Json = serde_json::from_slice(&out).unwrap_or_else(|e| {
                    panic!(
                        "{case}/{time_zone} event {i} {column}: invalid JSON {:?}: {e}",
                        String::from_utf8_lossy(&out)
                    )
                });
                let want = &after[*column];
                assert_eq!(
                    &ours,
                    want,
                    "{case}/{time_zone} event {i} column {column} (type {}, sent {:?})",
                    ty.name,
                    match sent {
                        Text(t) => *t,
                        _ => "…",
                    }
                );
                // Numbers must agree in kind too (integer vs float).
                assert_eq!(
                    ours.is_i64() || ours.is_u64(),
                    want.is_i64() || want.is_u64(),
                    "{case} {column}"
                );
                compared += 1;
            }
        }
    }
    assert!(compared > 300, "compared only {compared} values");
}

#[test]
fn every_recorded_value_has_a_typed_form() {
    let opts = ConvertOptions::default();
    for event in CAPTURES {
        let registry = registry_for(event.case, event.time_zone);
        for (column, oid, typmod, sent) in event.columns {
            let ty = registry.resolve(*oid, *typmod);
            let text = match sent {
                Text(t) => t.to_string(),
                Repeat(prefix, unit, n) => format!("{prefix}{}", unit.repeat(*n)),
                Null | UnchangedToast => continue,
            };
            let v = parse_value(&ty, text.as_bytes(), &opts)
                .unwrap_or_else(|e| panic!("{} {column}: {e}", event.case));
            if event.case == "types_scalar" && *column == "c_tstz" && text.starts_with("2024") {
                assert_eq!(
                    v,
                    Value::TimestampTz("2024-01-15T08:30:00.654321+00:00".into())
                );
            }
            if event.case == "types_scalar" && *column == "c_mood" && text == "happy" {
                assert_eq!(v, Value::Text("happy".into()));
            }
            if event.case == "types_array" && *column == "matrix" && text == "{{1,2},{3,4}}" {
                assert_eq!(
                    v,
                    Value::Array(vec![
                        Value::Array(vec![Value::Int(1), Value::Int(2)]),
                        Value::Array(vec![Value::Int(3), Value::Int(4)]),
                    ])
                );
            }
        }
    }
}

// Generated from a PostgreSQL 15 server: pgoutput (proto_version 1) new-tuple data of every
// INSERT and UPDATE of the conformance cases, captured with pg_logical_slot_get_binary_changes
// under each TimeZone: (column, type OID, type modifier, value as sent).
const CAPTURES: &[CapturedEvent] = &[
    CapturedEvent {
        case: "types_scalar",
        time_zone: "UTC",
        columns: &[
            ("id", 23, -1, Text("1")),
            ("c_bool", 16, -1, Text("t")),
            ("c_int2", 21, -1, Text("-32768")),
            ("c_int4", 23, -1, Text("2147483647")),
            ("c_int8", 20, -1, Text("-9223372036854775808")),
            ("c_float4", 700, -1, Text("3.5")),
            ("c_float8", 701, -1, Text("-1.25e-10")),
            ("c_num", 1700, 655366, Text("12345678.91")),
            ("c_num_free", 1700, -1, Text("3.14159265358979323846")),
            ("c_text", 25, -1, Text("hello ☃")),
            ("c_varchar", 1043, 24, Text("varchar")),
            ("c_char", 1042, 9, Text("ab   ")),
            ("c_bytea", 17, -1, Text("\\xdeadbeef00")),
            ("c_json", 114, -1, Text("{\"a\": [1, 2, {\"b\": null}]}")),
            ("c_jsonb", 3802, -1, Text("{\"a\": \"x\", \"z\": 1}")),
            (
                "c_uuid",
                2950,
                -1,
                Text("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
            ),
            ("c_date", 1082, -1, Text("2024-02-29")),
            ("c_time", 1083, -1, Text("13:45:30.123456")),
            ("c_timetz", 1266, -1, Text("13:45:30.5+05:30")),
            ("c_ts", 1114, -1, Text("2024-01-15 10:30:00.123456")),
            ("c_tstz", 1184, -1, Text("2024-01-15 08:30:00.654321+00")),
            (
                "c_interval",
                1186,
                -1,
                Text("1 year 2 mons 3 days 04:05:06.789"),
            ),
            ("c_inet", 869, -1, Text("192.168.1.10")),
            ("c_cidr", 650, -1, Text("10.0.0.0/8")),
            ("c_macaddr", 829, -1, Text("08:00:2b:01:02:03")),
            ("c_money", 790, -1, Text("$1,234.56")),
            ("c_xml", 142, -1, Text("<a>x</a>")),
            ("c_mood", 17173, -1, Text("happy")),
        ],
    },
    CapturedEvent {
        case: "types_scalar",
        time_zone: "UTC",
        columns: &[
            ("id", 23, -1, Text("2")),
            ("c_bool", 16, -1, Null),
            ("c_int2", 21, -1, Null),
            ("c_int4", 23, -1, Null),
            ("c_int8", 20, -1, Null),
            ("c_float4", 700, -1, Null),
            ("c_float8", 701, -1, Null),
            ("c_num", 1700, 655366, Null),
            ("c_num_free", 1700, -1, Null),
            ("c_text", 25, -1, Null),
            ("c_varchar", 1043, 24, Null),
            ("c_char", 1042, 9, Null),
            ("c_bytea", 17, -1, Null),
            ("c_json", 114, -1, Null),
            ("c_jsonb", 3802, -1, Null),
            ("c_uuid", 2950, -1, Null),
            ("c_date", 1082, -1, Null),
            ("c_time", 1083, -1, Null),
            ("c_timetz", 1266, -1, Null),
            ("c_ts", 1114, -1, Null),
            ("c_tstz", 1184, -1, Null),
            ("c_interval", 1186, -1, Null),
            ("c_inet", 869, -1, Null),
            ("c_cidr", 650, -1, Null),
            ("c_macaddr", 829, -1, Null),
            ("c_money", 790, -1, Null),
            ("c_xml", 142, -1, Null),
            ("c_mood", 17173, -1, Null),
        ],
    },
    CapturedEvent {
        case: "types_scalar",
        time_zone: "UTC",
        columns: &[
            ("id", 23, -1, Text("3")),
            ("c_bool", 16, -1, Text("f")),
            ("c_int2", 21, -1, Text("0")),
            ("c_int4", 23, -1, Text("0")),
            ("c_int8", 20, -1, Text("0")),
            ("c_float4", 700, -1, Text("0")),
            ("c_float8", 701, -1, Text("0")),
            ("c_num", 1700, 655366, Text("0.00")),
            ("c_num_free", 1700, -1, Text("0")),
            ("c_text", 25, -1, Text("")),
            ("c_varchar", 1043, 24, Text("")),
            ("c_char", 1042, 9, Text("     ")),
            ("c_bytea", 17, -1, Text("\\x")),
            ("c_json", 114, -1, Text("[]")),
            ("c_jsonb", 3802, -1, Text("{}")),
            (
                "c_uuid",
                2950,
                -1,
                Text("00000000-0000-0000-0000-000000000000"),
            ),
            ("c_date", 1082, -1, Text("1970-01-01")),
            ("c_time", 1083, -1, Text("00:00:00")),
            ("c_timetz", 1266, -1, Text("00:00:00+00")),
            ("c_ts", 1114, -1, Text("1970-01-01 00:00:00")),
            ("c_tstz", 1184, -1, Text("1970-01-01 00:00:00+00")),
            ("c_interval", 1186, -1, Text("00:00:00")),
            ("c_inet", 869, -1, Text("::1")),
            ("c_cidr", 650, -1, Text("::/0")),
            ("c_macaddr", 829, -1, Text("00:00:00:00:00:00")),
            ("c_money", 790, -1, Text("$0.00")),
            ("c_xml", 142, -1, Text("<r/>")),
            ("c_mood", 17173, -1, Text("sad")),
        ],
    },
    CapturedEvent {
        case: "types_scalar",
        time_zone: "Asia/Kolkata",
        columns: &[
            ("id", 23, -1, Text("1")),
            ("c_bool", 16, -1, Text("t")),
            ("c_int2", 21, -1, Text("-32768")),
            ("c_int4", 23, -1, Text("2147483647")),
            ("c_int8", 20, -1, Text("-9223372036854775808")),
            ("c_float4", 700, -1, Text("3.5")),
            ("c_float8", 701, -1, Text("-1.25e-10")),
            ("c_num", 1700, 655366, Text("12345678.91")),
            ("c_num_free", 1700, -1, Text("3.14159265358979323846")),
            ("c_text", 25, -1, Text("hello ☃")),
            ("c_varchar", 1043, 24, Text("varchar")),
            ("c_char", 1042, 9, Text("ab   ")),
            ("c_bytea", 17, -1, Text("\\xdeadbeef00")),
            ("c_json", 114, -1, Text("{\"a\": [1, 2, {\"b\": null}]}")),
            ("c_jsonb", 3802, -1, Text("{\"a\": \"x\", \"z\": 1}")),
            (
                "c_uuid",
                2950,
                -1,
                Text("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
            ),
            ("c_date", 1082, -1, Text("2024-02-29")),
            ("c_time", 1083, -1, Text("13:45:30.123456")),
            ("c_timetz", 1266, -1, Text("13:45:30.5+05:30")),
            ("c_ts", 1114, -1, Text("2024-01-15 10:30:00.123456")),
            ("c_tstz", 1184, -1, Text("2024-01-15 14:00:00.654321+05:30")),
            (
                "c_interval",
                1186,
                -1,
                Text("1 year 2 mons 3 days 04:05:06.789"),
            ),
            ("c_inet", 869, -1, Text("192.168.1.10")),
            ("c_cidr", 650, -1, Text("10.0.0.0/8")),
            ("c_macaddr", 829, -1, Text("08:00:2b:01:02:03")),
            ("c_money", 790, -1, Text("$1,234.56")),
            ("c_xml", 142, -1, Text("<a>x</a>")),
            ("c_mood", 17189, -1, Text("happy")),
        ],
    },
    CapturedEvent {
        case: "types_scalar",
        time_zone: "Asia/Kolkata",
        columns: &[
            ("id", 23, -1, Text("2")),
            ("c_bool", 16, -1, Null),
            ("c_int2", 21, -1, Null),
            ("c_int4", 23, -1, Null),
            ("c_int8", 20, -1, Null),
            ("c_float4", 700, -1, Null),
            ("c_float8", 701, -1, Null),
            ("c_num", 1700, 655366, Null),
            ("c_num_free", 1700, -1, Null),
            ("c_text", 25, -1, Null),
            ("c_varchar", 1043, 24, Null),
            ("c_char", 1042, 9, Null),
            ("c_bytea", 17, -1, Null),
            ("c_json", 114, -1, Null),
            ("c_jsonb", 3802, -1, Null),
            ("c_uuid", 2950, -1, Null),
            ("c_date", 1082, -1, Null),
            ("c_time", 1083, -1, Null),
            ("c_timetz", 1266, -1, Null),
            ("c_ts", 1114, -1, Null),
            ("c_tstz", 1184, -1, Null),
            ("c_interval", 1186, -1, Null),
            ("c_inet", 869, -1, Null),
            ("c_cidr", 650, -1, Null),
            ("c_macaddr", 829, -1, Null),
            ("c_money", 790, -1, Null),
            ("c_xml", 142, -1, Null),
            ("c_mood", 17189, -1, Null),
        ],
    },
    CapturedEvent {
        case: "types_scalar",
        time_zone: "Asia/Kolkata",
        columns: &[
            ("id", 23, -1, Text("3")),
            ("c_bool", 16, -1, Text("f")),
            ("c_int2", 21, -1, Text("0")),
            ("c_int4", 23, -1, Text("0")),
            ("c_int8", 20, -1, Text("0")),
            ("c_float4", 700, -1, Text("0")),
            ("c_float8", 701, -1, Text("0")),
            ("c_num", 1700, 655366, Text("0.00")),
            ("c_num_free", 1700, -1, Text("0")),
            ("c_text", 25, -1, Text("")),
            ("c_varchar", 1043, 24, Text("")),
            ("c_char", 1042, 9, Text("     ")),
            ("c_bytea", 17, -1, Text("\\x")),
            ("c_json", 114, -1, Text("[]")),
            ("c_jsonb", 3802, -1, Text("{}")),
            (
                "c_uuid",
                2950,
                -1,
                Text("00000000-0000-0000-0000-000000000000"),
            ),
            ("c_date", 1082, -1, Text("1970-01-01")),
            ("c_time", 1083, -1, Text("00:00:00")),
            ("c_timetz", 1266, -1, Text("00:00:00+00")),
            ("c_ts", 1114, -1, Text("1970-01-01 00:00:00")),
            ("c_tstz", 1184, -1, Text("1970-01-01 05:30:00+05:30")),
            ("c_interval", 1186, -1, Text("00:00:00")),
            ("c_inet", 869, -1, Text("::1")),
            ("c_cidr", 650, -1, Text("::/0")),
            ("c_macaddr", 829, -1, Text("00:00:00:00:00:00")),
            ("c_money", 790, -1, Text("$0.00")),
            ("c_xml", 142, -1, Text("<r/>")),
            ("c_mood", 17189, -1, Text("sad")),
        ],
    },
    CapturedEvent {
        case: "types_scalar",
        time_zone: "America/St_Johns",
        columns: &[
            ("id", 23, -1, Text("1")),
            ("c_bool", 16, -1, Text("t")),
            ("c_int2", 21, -1, Text("-32768")),
            ("c_int4", 23, -1, Text("2147483647")),
            ("c_int8", 20, -1, Text("-9223372036854775808")),
            ("c_float4", 700, -1, Text("3.5")),
            ("c_float8", 701, -1, Text("-1.25e-10")),
            ("c_num", 1700, 655366, Text("12345678.91")),
            ("c_num_free", 1700, -1, Text("3.14159265358979323846")),
            ("c_text", 25, -1, Text("hello ☃")),
            ("c_varchar", 1043, 24, Text("varchar")),
            ("c_char", 1042, 9, Text("ab   ")),
            ("c_bytea", 17, -1, Text("\\xdeadbeef00")),
            ("c_json", 114, -1, Text("{\"a\": [1, 2, {\"b\": null}]}")),
            ("c_jsonb", 3802, -1, Text("{\"a\": \"x\", \"z\": 1}")),
            (
                "c_uuid",
                2950,
                -1,
                Text("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
            ),
            ("c_date", 1082, -1, Text("2024-02-29")),
            ("c_time", 1083, -1, Text("13:45:30.123456")),
            ("c_timetz", 1266, -1, Text("13:45:30.5+05:30")),
            ("c_ts", 1114, -1, Text("2024-01-15 10:30:00.123456")),
            ("c_tstz", 1184, -1, Text("2024-01-15 05:00:00.654321-03:30")),
            (
                "c_interval",
                1186,
                -1,
                Text("1 year 2 mons 3 days 04:05:06.789"),
            ),
            ("c_inet", 869, -1, Text("192.168.1.10")),
            ("c_cidr", 650, -1, Text("10.0.0.0/8")),
            ("c_macaddr", 829, -1, Text("08:00:2b:01:02:03")),
            ("c_money", 790, -1, Text("$1,234.56")),
            ("c_xml", 142, -1, Text("<a>x</a>")),
            ("c_mood", 17205, -1, Text("happy")),
        ],
    },
    CapturedEvent {
        case: "types_scalar",
        time_zone: "America/St_Johns",
        columns: &[
            ("id", 23, -1, Text("2")),
            ("c_bool", 16, -1, Null),
            ("c_int2", 21, -1, Null),
            ("c_int4", 23, -1, Null),
            ("c_int8", 20, -1, Null),
            ("c_float4", 700, -1, Null),
            ("c_float8", 701, -1, Null),
            ("c_num", 1700, 655366, Null),
            ("c_num_free", 1700, -1, Null),
            ("c_text", 25, -1, Null),
            ("c_varchar", 1043, 24, Null),
            ("c_char", 1042, 9, Null),
            ("c_bytea", 17, -1, Null),
            ("c_json", 114, -1, Null),
            ("c_jsonb", 3802, -1, Null),
            ("c_uuid", 2950, -1, Null),
            ("c_date", 1082, -1, Null),
            ("c_time", 1083, -1, Null),
            ("c_timetz", 1266, -1, Null),
            ("c_ts", 1114, -1, Null),
            ("c_tstz", 1184, -1, Null),
            ("c_interval", 1186, -1, Null),
            ("c_inet", 869, -1, Null),
            ("c_cidr", 650, -1, Null),
            ("c_macaddr", 829, -1, Null),
            ("c_money", 790, -1, Null),
            ("c_xml", 142, -1, Null),
            ("c_mood", 17205, -1, Null),
        ],
    },
    CapturedEvent {
        case: "types_scalar",
        time_zone: "America/St_Johns",
        columns: &[
            ("id", 23, -1, Text("3")),
            ("c_bool", 16, -1, Text("f")),
            ("c_int2", 21, -1, Text("0")),
            ("c_int4", 23, -1, Text("0")),
            ("c_int8", 20, -1, Text("0")),
            ("c_float4", 700, -1, Text("0")),
            ("c_float8", 701, -1, Text("0")),
            ("c_num", 1700, 655366, Text("0.00")),
            ("c_num_free", 1700, -1, Text("0")),
            ("c_text", 25, -1, Text("")),
            ("c_varchar", 1043, 24, Text("")),
            ("c_char", 1042, 9, Text("     ")),
            ("c_bytea", 17, -1, Text("\\x")),
            ("c_json", 114, -1, Text("[]")),
            ("c_jsonb", 3802, -1, Text("{}")),
            (
                "c_uuid",
                2950,
                -1,
                Text("00000000-0000-0000-0000-000000000000"),
            ),
            ("c_date", 1082, -1, Text("1970-01-01")),
            ("c_time", 1083, -1, Text("00:00:00")),
            ("c_timetz", 1266, -1, Text("00:00:00+00")),
            ("c_ts", 1114, -1, Text("1970-01-01 00:00:00")),
            ("c_tstz", 1184, -1, Text("1969-12-31 20:30:00-03:30")),
            ("c_interval", 1186, -1, Text("00:00:00")),
            ("c_inet", 869, -1, Text("::1")),
            ("c_cidr", 650, -1, Text("::/0")),
            ("c_macaddr", 829, -1, Text("00:00:00:00:00:00")),
            ("c_money", 790, -1, Text("$0.00")),
            ("c_xml", 142, -1, Text("<r/>")),
            ("c_mood", 17205, -1, Text("sad")),
        ],
    },
    CapturedEvent {
        case: "types_array",
        time_zone: "UTC",
        columns: &[
            ("id", 23, -1, Text("1")),
            ("ints", 1007, -1, Text("{1,2,3}")),
            ("bigints", 1016, -1, Text("{9007199254740993}")),
            ("texts", 1009, -1, Text("{a,\"b c\",\"\\\"q\\\"\",NULL}")),
            ("nums", 1231, 393222, Text("{1.50,2.25}")),
            ("bools", 1000, -1, Text("{t,f,NULL}")),
            (
                "uuids",
                2951,
                -1,
                Text("{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}"),
            ),
            ("dates", 1182, -1, Text("{2024-01-01,1999-12-31}")),
            ("matrix", 1007, -1, Text("{{1,2},{3,4}}")),
            ("jsons", 3807, -1, Text("{\"{\\\"k\\\": 1}\",[1]}")),
        ],
    },
    CapturedEvent {
        case: "types_array",
        time_zone: "UTC",
        columns: &[
            ("id", 23, -1, Text("2")),
            ("ints", 1007, -1, Text("{}")),
            ("bigints", 1016, -1, Text("{}")),
            ("texts", 1009, -1, Text("{}")),
            ("nums", 1231, 393222, Text("{}")),
            ("bools", 1000, -1, Text("{}")),
            ("uuids", 2951, -1, Text("{}")),
            ("dates", 1182, -1, Text("{}")),
            ("matrix", 1007, -1, Text("{}")),
            ("jsons", 3807, -1, Text("{}")),
        ],
    },
    CapturedEvent {
        case: "types_array",
        time_zone: "UTC",
        columns: &[
            ("id", 23, -1, Text("3")),
            ("ints", 1007, -1, Null),
            ("bigints", 1016, -1, Null),
            ("texts", 1009, -1, Null),
            ("nums", 1231, 393222, Null),
            ("bools", 1000, -1, Null),
            ("uuids", 2951, -1, Null),
            ("dates", 1182, -1, Null),
            ("matrix", 1007, -1, Null),
            ("jsons", 3807, -1, Null),
        ],
    },
    CapturedEvent {
        case: "types_array",
        time_zone: "UTC",
        columns: &[
            ("id", 23, -1, Text("1")),
            ("ints", 1007, -1, Text("{1,2,3,4}")),
            ("bigints", 1016, -1, Text("{9007199254740993}")),
            ("texts", 1009, -1, Text("{a,\"b c\",\"\\\"q\\\"\",NULL}")),
            ("nums", 1231, 393222, Text("{1.50,2.25}")),
            ("bools", 1000, -1, Text("{t,f,NULL}")),
            (
                "uuids",
                2951,
                -1,
                Text("{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}"),
            ),
            ("dates", 1182, -1, Text("{2024-01-01,1999-12-31}")),
            ("matrix", 1007, -1, Text("{{1,2},{3,4}}")),
            ("jsons", 3807, -1, Text("{\"{\\\"k\\\": 1}\",[1]}")),
        ],
    },
    CapturedEvent {
        case: "crud_basic",
        time_zone: "UTC",
        columns: &[
            ("id", 23, -1, Text("1")),
            ("name", 25, -1, Text("Alice")),
            ("email", 1043, 259, Text("alice@example.com")),
            ("balance", 1700, 786438, Text("100.50")),
            ("active", 16, -1, Text("t")),
            ("created_at", 1184, -1, Text("2024-01-15 10:30:00+00")),
        ],
    },
    CapturedEvent {
        case: "crud_basic",
        time_zone: "UTC",
        columns: &[
            ("id", 23, -1, Text("2")),
            ("name", 25, -1, Text("Bob")),
            ("email", 1043, 259, Text("bob@example.com")),
            ("balance", 1700, 786438, Text("0.00")),
            ("active", 16, -1, Text("f")),
            ("created_at", 1184, -1, Text("2024-01-15 10:30:00+00")),
        ],
    },
    CapturedEvent {
        case: "crud_basic",
        time_zone: "UTC",
        columns: &[
            ("id", 23, -1, Text("3")),
            ("name", 25, -1, Text("Carol")),
            ("email", 1043, 259, Null),
            ("balance", 1700, 786438, Text("42.00")),
            ("active", 16, -1, Text("t")),
            ("created_at", 1184, -1, Text("2024-01-15 10:30:00+00")),
        ],
    },
    CapturedEvent {
        case: "crud_basic",
        time_zone: "UTC",
        columns: &[
            ("id", 20, -1, Text("1")),
            ("customer_id", 23, -1, Text("1")),
            ("total", 1700, 786438, Text("19.99")),
            ("status", 25, -1, Text("new")),
            ("placed_at", 1114, -1, Text("2024-01-15 10:31:00")),
        ],
    },
    CapturedEvent {
        case: "crud_basic",
        time_zone: "UTC",
        columns: &[
            ("id", 20, -1, Text("2")),
            ("customer_id", 23, -1, Text("1")),
            ("total", 1700, 786438, Text("5.01")),
            ("status", 25, -1, Text("new")),
            ("placed_at", 1114, -1, Text("2024-01-15 10:31:00")),
        ],
    },
    CapturedEvent {
        case: "crud_basic",
        time_zone: "UTC",
        columns: &[
            ("id", 23, -1, Text("1")),
            ("name", 25, -1, Text("Alice")),
            ("email", 1043, 259, Text("alice@example.com")),
            ("balance", 1700, 786438, Text("75.50")),
            ("active", 16, -1, Text("t")),
            ("created_at", 1184, -1, Text("2024-01-15 10:30:00+00")),
        ],
    },
    CapturedEvent {
        case: "crud_basic",
        time_zone: "UTC",
        columns: &[
            ("id", 23, -1, Text("1")),
            ("name", 25, -1, Text("Alice Smith")),
            ("email", 1043, 259, Text("alice.smith@example.com")),
            ("balance", 1700, 786438, Text("75.50")),
            ("active", 16, -1, Text("t")),
            ("created_at", 1184, -1, Text("2024-01-15 10:30:00+00")),
        ],
    },
    CapturedEvent {
        case: "crud_basic",
        time_zone: "UTC",
        columns: &[
            ("id", 20, -1, Text("1")),
            ("customer_id", 23, -1, Text("1")),
            ("total", 1700, 786438, Text("19.99")),
            ("status", 25, -1, Text("shipped")),
            ("placed_at", 1114, -1, Text("2024-01-15 10:31:00")),
        ],
    },
    CapturedEvent {
        case: "crud_basic",
        time_zone: "UTC",
        columns: &[
            ("id", 20, -1, Text("2")),
            ("customer_id", 23, -1, Text("1")),
            ("total", 1700, 786438, Text("5.01")),
            ("status", 25, -1, Text("shipped")),
            ("placed_at", 1114, -1, Text("2024-01-15 10:31:00")),
        ],
    },
    CapturedEvent {
        case: "crud_basic",
        time_zone: "Europe/Berlin",
        columns: &[
            ("id", 23, -1, Text("1")),
            ("name", 25, -1, Text("Alice")),
            ("email", 1043, 259, Text("alice@example.com")),
            ("balance", 1700, 786438, Text("100.50")),
            ("active", 16, -1, Text("t")),
            ("created_at", 1184, -1, Text("2024-01-15 11:30:00+01")),
        ],
    },
    CapturedEvent {
        case: "crud_basic",
        time_zone: "Europe/Berlin",
        columns: &[
            ("id", 23, -1, Text("2")),
            ("name", 25, -1, Text("Bob")),
            ("email", 1043, 259, Text("bob@example.com")),
            ("balance", 1700, 786438, Text("0.00")),
            ("active", 16, -1, Text("f")),
            ("created_at", 1184, -1, Text("2024-01-15 11:30:00+01")),
        ],
    },
    CapturedEvent {
        case: "crud_basic",
        time_zone: "Europe/Berlin",
        columns: &[
            ("id", 23, -1, Text("3")),
            ("name", 25, -1, Text("Carol")),
            ("email", 1043, 259, Null),
            ("balance", 1700, 786438, Text("42.00")),
            ("active", 16, -1, Text("t")),
            ("created_at", 1184, -1, Text("2024-01-15 11:30:00+01")),
        ],
    },
    CapturedEvent {
        case: "crud_basic",
        time_zone: "Europe/Berlin",
        columns: &[
            ("id", 20, -1, Text("1")),
            ("customer_id", 23, -1, Text("1")),
            ("total", 1700, 786438, Text("19.99")),
            ("status", 25, -1, Text("new")),
            ("placed_at", 1114, -1, Text("2024-01-15 10:31:00")),
        ],
    },
    CapturedEvent {
        case: "crud_basic",
        time_zone: "Europe/Berlin",
        columns: &[
            ("id", 20, -1, Text("2")),
            ("customer_id", 23, -1, Text("1")),
            ("total", 1700, 786438, Text("5.01")),
            ("status", 25, -1, Text("new")),
            ("placed_at", 1114, -1, Text("2024-01-15 10:31:00")),
        ],
    },
    CapturedEvent {
        case: "crud_basic",
        time_zone: "Europe/Berlin",
        columns: &[
            ("id", 23, -1, Text("1")),
            ("name", 25, -1, Text("Alice")),
            ("email", 1043, 259, Text("alice@example.com")),
            ("balance", 1700, 786438, Text("75.50")),
            ("active", 16, -1, Text("t")),
            ("created_at", 1184, -1, Text("2024-01-15 11:30:00+01")),
        ],
    },
    CapturedEvent {
        case: "crud_basic",
        time_zone: "Europe/Berlin",
        columns: &[
            ("id", 23, -1, Text("1")),
            ("name", 25, -1, Text("Alice Smith")),
            ("email", 1043, 259, Text("alice.smith@example.com")),
            ("balance", 1700, 786438, Text("75.50")),
            ("active", 16, -1, Text("t")),
            ("created_at", 1184, -1, Text("2024-01-15 11:30:00+01")),
        ],
    },
    CapturedEvent {
        case: "crud_basic",
        time_zone: "Europe/Berlin",
        columns: &[
            ("id", 20, -1, Text("1")),
            ("customer_id", 23, -1, Text("1")),
            ("total", 1700, 786438, Text("19.99")),
            ("status", 25, -1, Text("shipped")),
            ("placed_at", 1114, -1, Text("2024-01-15 10:31:00")),
        ],
    },
    CapturedEvent {
        case: "crud_basic",
        time_zone: "Europe/Berlin",
        columns: &[
            ("id", 20, -1, Text("2")),
            ("customer_id", 23, -1, Text("1")),
            ("total", 1700, 786438, Text("5.01")),
            ("status", 25, -1, Text("shipped")),
            ("placed_at", 1114, -1, Text("2024-01-15 10:31:00")),
        ],
    },
    CapturedEvent {
        case: "identity_full",
        time_zone: "UTC",
        columns: &[
            ("sku", 25, -1, Text("C-3")),
            ("title", 25, -1, Text("Gizmo")),
            ("price", 1700, 655366, Text("5.00")),
            ("stock", 23, -1, Text("3")),
            ("description", 25, -1, Text("new")),
        ],
    },
    CapturedEvent {
        case: "identity_full",
        time_zone: "UTC",
        columns: &[
            ("sku", 25, -1, Text("A-1")),
            ("title", 25, -1, Text("Widget")),
            ("price", 1700, 655366, Text("9.99")),
            ("stock", 23, -1, Text("9")),
            ("description", 25, -1, Text("A small widget")),
        ],
    },
    CapturedEvent {
        case: "identity_full",
        time_zone: "UTC",
        columns: &[
            ("sku", 25, -1, Text("C-3")),
            ("title", 25, -1, Text("Gizmo")),
            ("price", 1700, 655366, Null),
            ("stock", 23, -1, Text("3")),
            ("description", 25, -1, Text("now free")),
        ],
    },
    CapturedEvent {
        case: "no_pk",
        time_zone: "UTC",
        columns: &[
            ("happened_at", 1114, -1, Text("2024-03-01 12:00:00")),
            ("kind", 25, -1, Text("login")),
            ("payload", 3802, -1, Text("{\"user\": 7}")),
        ],
    },
    CapturedEvent {
        case: "no_pk",
        time_zone: "UTC",
        columns: &[
            ("happened_at", 1114, -1, Text("2024-03-01 12:05:00")),
            ("kind", 25, -1, Text("logout")),
            ("payload", 3802, -1, Null),
        ],
    },
    CapturedEvent {
        case: "no_pk",
        time_zone: "UTC",
        columns: &[
            ("happened_at", 1114, -1, Text("2024-03-01 12:00:00")),
            ("kind", 25, -1, Text("signin")),
            ("payload", 3802, -1, Text("{\"user\": 7}")),
        ],
    },
    CapturedEvent {
        case: "toast_unchanged",
        time_zone: "UTC",
        columns: &[
            ("id", 23, -1, Text("1")),
            ("title", 25, -1, Text("first")),
            (
                "body",
                25,
                -1,
                Repeat("", "lorem ipsum dolor sit amet ", 400),
            ),
            ("blob", 17, -1, Repeat("\\x", "00ff", 3000)),
        ],
    },
    CapturedEvent {
        case: "toast_unchanged",
        time_zone: "UTC",
        columns: &[
            ("id", 23, -1, Text("1")),
            ("title", 25, -1, Text("first (edited)")),
            ("body", 25, -1, UnchangedToast),
            ("blob", 17, -1, UnchangedToast),
        ],
    },
    CapturedEvent {
        case: "toast_unchanged",
        time_zone: "UTC",
        columns: &[
            ("id", 23, -1, Text("1")),
            ("title", 25, -1, Text("first (edited)")),
            ("body", 25, -1, Text("short now")),
            ("blob", 17, -1, UnchangedToast),
        ],
    },
    CapturedEvent {
        case: "toast_unchanged",
        time_zone: "UTC",
        columns: &[
            ("id", 23, -1, Text("1")),
            ("title", 25, -1, Text("again")),
            ("body", 25, -1, Text("short now")),
            ("blob", 17, -1, UnchangedToast),
        ],
    },
];

/// Rows of the type catalog query for the user-defined types of each capture.
const CATALOG_ROWS: &[(&str, &str, [Option<&str>; 15])] = &[
    (
        "types_scalar",
        "UTC",
        [
            Some("17173"),
            Some("mood"),
            Some("public"),
            Some("e"),
            Some("E"),
            Some("0"),
            Some("17172"),
            Some(","),
            Some("0"),
            Some("-1"),
            Some("{sad,ok,happy}"),
            None,
            None,
            None,
            None,
        ],
    ),
    (
        "types_scalar",
        "Asia/Kolkata",
        [
            Some("17189"),
            Some("mood"),
            Some("public"),
            Some("e"),
            Some("E"),
            Some("0"),
            Some("17188"),
            Some(","),
            Some("0"),
            Some("-1"),
            Some("{sad,ok,happy}"),
            None,
            None,
            None,
            None,
        ],
    ),
    (
        "types_scalar",
        "America/St_Johns",
        [
            Some("17205"),
            Some("mood"),
            Some("public"),
            Some("e"),
            Some("E"),
            Some("0"),
            Some("17204"),
            Some(","),
            Some("0"),
            Some("-1"),
            Some("{sad,ok,happy}"),
            None,
            None,
            None,
            None,
        ],
    ),
];
