//! Where our output differs from the recorded Debezium output on purpose:
//! `tests/conformance/deviations.json` lists, per case, a record key (and optionally the
//! table, `schema.table`) and the `after` values we write instead of Debezium's. They replace the recorded values before the comparison, so
//! every other column, and these columns' own values, are still compared exactly.

use serde_json::Value;

use super::case::conformance_dir;

/// Replaces the recorded values named in `deviations.json` for `case`. An entry that matches
/// no recorded event is an error: the list must not go stale.
pub fn apply(case: &str, expected: &mut [Value]) -> Result<(), String> {
    let path = conformance_dir().join("deviations.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let all: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let Some(entries) = all["cases"][case].as_array() else {
        return Ok(());
    };
    for (i, entry) in entries.iter().enumerate() {
        let replacements = entry["after"]
            .as_object()
            .ok_or_else(|| format!("{case} deviation {i}: \"after\" must be an object"))?;
        let mut matched = false;
        for event in expected.iter_mut() {
            if let Some(table) = entry["table"].as_str() {
                let topic = event["topic"].as_str().unwrap_or_default();
                if !topic.ends_with(&format!(".{table}")) {
                    continue;
                }
            }
            if payload(&event["key"]) != &entry["key"] {
                continue;
            }
            let value = payload_mut(&mut event["value"]);
            if let Some(after) = value["after"].as_object_mut() {
                for (column, ours) in replacements {
                    after.insert(column.clone(), ours.clone());
                }
                matched = true;
            }
        }
        if !matched {
            return Err(format!(
                "{case} deviation {i}: no recorded event has key {} and an after image",
                entry["key"]
            ));
        }
    }
    Ok(())
}

/// A key or value without its Kafka Connect schema envelope (`{"schema", "payload"}`).
fn payload(part: &Value) -> &Value {
    match part.as_object() {
        Some(o) if o.len() == 2 && o.contains_key("schema") && o.contains_key("payload") => {
            &part["payload"]
        }
        _ => part,
    }
}

fn payload_mut(part: &mut Value) -> &mut Value {
    let wrapped = matches!(part.as_object(),
        Some(o) if o.len() == 2 && o.contains_key("schema") && o.contains_key("payload"));
    if wrapped {
        &mut part["payload"]
    } else {
        part
    }
}

/// The deviations of a transform case (`transform-cases/deviations.json`): per listed record
/// (1-based, tombstones counted), the value fields we write instead of Debezium's.
pub fn apply_transform(case: &str, expected: &mut [Value]) -> Result<(), String> {
    let path = super::case::transform_cases_dir().join("deviations.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let all: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let Some(entries) = all["cases"][case].as_array() else {
        return Ok(());
    };
    for (i, entry) in entries.iter().enumerate() {
        let n = entry["record"].as_u64().unwrap_or(0) as usize;
        let fields = entry["value"]
            .as_object()
            .ok_or_else(|| format!("{case} deviation {i}: \"value\" must be an object"))?;
        let value = expected
            .get_mut(n.wrapping_sub(1))
            .map(|e| payload_mut(&mut e["value"]))
            .and_then(Value::as_object_mut)
            .ok_or_else(|| format!("{case} deviation {i}: no record {n} with a value"))?;
        for (k, v) in fields {
            value.insert(k.clone(), v.clone());
        }
    }
    Ok(())
}
