//! Compares change events with what the real Debezium connector emitted.
//!
//! Both inputs hold one `{"topic", "key", "value"}` object per line (the envelope the CLI
//! writes); values are Debezium JSON with schemas disabled. What is compared:
//!
//! - order and count of events (tombstones only with [`Options::tombstones`]); snapshot
//!   reads (op `r`) in any order, as a multiset, with Debezium's first/last markers;
//! - the topic without its prefix (`<prefix>.<schema>.<table>` -> `<schema>.<table>`);
//! - key, op, before, after, message, truncate events, exactly (numbers by value, so `1`
//!   equals `1.0`, but a boolean never equals a number);
//! - source: db, schema, table, snapshot exactly; lsn and txId must be integers; events
//!   that share a txId in the expected file share one in the actual file;
//! - transaction metadata events: status, event_count, data_collections (in any order);
//!   the transaction block of data events: total_order, data_collection_order. Transaction
//!   ids are not compared (Debezium puts a per-event LSN in them); grouping is checked
//!   through source.txId;
//! - ignored: ts_ms/ts_us/ts_ns, source.version/connector/name/sequence/xmin/origin*;
//! - with schemas (`JsonConverter`'s `schemas.enable=true`: a key or value that is
//!   `{"schema": ..., "payload": ...}`): the schema exactly (field order included, numbers by
//!   value), then the payload by the rules above.
//!
//! One deviation is accepted: in `before` of a delete or update, Debezium invents type
//! defaults (`""`, `0`, `false`, the epoch, ...) for NOT NULL columns that the WAL did not
//! carry (REPLICA IDENTITY DEFAULT or INDEX); `null` is accepted there too.
//! [`Options::ignore`] leaves the named columns out of before/after on both sides.
//!
//! The result is a list of human-readable differences; empty means "matches Debezium".

use std::cmp::Ordering;
use std::path::Path;

use serde_json::{Map, Number, Value};

/// Values Debezium invents for NOT NULL columns missing from the old row of an update or
/// delete; in `before`, `null` is accepted instead of one of these.
const STRING_DEFAULTS: [&str; 5] = [
    "",
    "AA==",
    "1970-01-01T00:00:00Z",
    "1970-01-01T00:00:00.000000Z",
    "00:00:00Z",
];

/// Snapshot markers Debezium uses in `source.snapshot` of read events.
const SNAPSHOT_MARKERS: [&str; 5] = [
    "first",
    "true",
    "first_in_data_collection",
    "last_in_data_collection",
    "last",
];

/// How much of a long value is quoted in a difference.
const QUOTE_LIMIT: usize = 200;

/// Comparison options.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Compare tombstones (events whose value is null) too; by default they are skipped on
    /// both sides.
    pub tombstones: bool,
    /// Columns left out of `before` and `after` on both sides.
    pub ignore: Vec<String>,
}

/// Compares two JSON-lines files. A file that cannot be read or holds a line that is not a
/// JSON object yields a single difference saying so.
pub fn compare_files(expected: &Path, actual: &Path, options: &Options) -> Vec<String> {
    let read = |path: &Path| -> Result<Vec<Value>, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        load(
            &path.display().to_string(),
            &String::from_utf8_lossy(&bytes),
            options.tombstones,
        )
    };
    match (read(expected), read(actual)) {
        (Ok(exp), Ok(act)) => compare_events(&exp, &act, options),
        (Err(e), _) | (_, Err(e)) => vec![e],
    }
}

/// Compares two JSON-lines texts (`name`s are only used in messages).
#[cfg(test)]
pub fn compare_texts(expected: &str, actual: &str, options: &Options) -> Vec<String> {
    match (
        load("expected", expected, options.tombstones),
        load("actual", actual, options.tombstones),
    ) {
        (Ok(exp), Ok(act)) => compare_events(&exp, &act, options),
        (Err(e), _) | (_, Err(e)) => vec![e],
    }
}

/// Parses one event per non-blank line; drops tombstones unless `tombstones`.
pub fn load(name: &str, text: &str, tombstones: bool) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let event: Value =
            serde_json::from_str(line).map_err(|e| format!("{name}:{}: not JSON: {e}", n + 1))?;
        let Value::Object(fields) = &event else {
            return Err(format!(
                "{name}:{}: not a JSON object: {}",
                n + 1,
                quote(&event)
            ));
        };
        if !tombstones && fields.get("value").is_none_or(Value::is_null) {
            continue;
        }
        out.push(event);
    }
    Ok(out)
}

/// Compares loaded events (see the module documentation).
pub fn compare_events(expected: &[Value], actual: &[Value], options: &Options) -> Vec<String> {
    let mut errs = Vec::new();
    let (exp, act) = check_snapshot(expected, actual, &mut errs);
    if exp.len() != act.len() {
        errs.push(format!(
            "event count: expected {}, got {}",
            exp.len(),
            act.len()
        ));
    }
    // Expected txId -> actual txId, in order of first appearance.
    let mut tx_map: Vec<(Value, Value)> = Vec::new();
    for (i, (e, a)) in exp.iter().zip(&act).enumerate() {
        compare_event(
            &format!("event {}", i + 1),
            e,
            a,
            options,
            &mut tx_map,
            &mut errs,
        );
    }
    errs
}

/// Whether a key or value is a `JsonConverter` wrapper with its schema.
fn is_wrapped(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|m| m.len() == 2 && m.contains_key("schema") && m.contains_key("payload"))
}

/// Compares the schemas of an expected key or value written with its schema and unwraps
/// both sides to their payloads.
fn unwrap_schema(w: &str, what: &str, e: &mut Value, a: &mut Value, errs: &mut Vec<String>) {
    if !is_wrapped(e) {
        if is_wrapped(a) {
            errs.push(format!("{w}: {what} has a schema, Debezium's has none"));
            *a = field(a, "payload").clone();
        }
        return;
    }
    if !is_wrapped(a) {
        errs.push(format!(
            "{w}: {what} expected {{\"schema\", \"payload\"}}, got {}",
            quote(a)
        ));
        *e = field(e, "payload").clone();
        return;
    }
    schema_diff(
        &format!("{w}: {what}.schema"),
        field(e, "schema"),
        field(a, "schema"),
        errs,
    );
    *e = field(e, "payload").clone();
    *a = field(a, "payload").clone();
}

/// Reports where two schemas differ (struct fields named by their `field`).
fn schema_diff(w: &str, e: &Value, a: &Value, errs: &mut Vec<String>) {
    if json_eq(e, a) {
        return;
    }
    match (e, a) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                match (x.get(k), y.get(k)) {
                    (Some(ev), Some(av)) => schema_diff(&format!("{w}.{k}"), ev, av, errs),
                    (Some(ev), None) => {
                        errs.push(format!("{w}.{k}: missing (expected {})", quote(ev)))
                    }
                    (None, Some(av)) => {
                        errs.push(format!("{w}.{k}: unexpected (value {})", quote(av)))
                    }
                    (None, None) => {}
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (ev, av)) in x.iter().zip(y).enumerate() {
                let name = match field(ev, "field") {
                    Value::String(f) => format!("[{i}:{f}]"),
                    _ => format!("[{i}]"),
                };
                schema_diff(&format!("{w}{name}"), ev, av, errs);
            }
        }
        _ => errs.push(format!("{w}: expected {}, got {}", quote(e), quote(a))),
    }
}

fn compare_event(
    w: &str,
    e: &Value,
    a: &Value,
    options: &Options,
    tx_map: &mut Vec<(Value, Value)>,
    errs: &mut Vec<String>,
) {
    let (mut e, mut a) = (e.clone(), a.clone());
    for what in ["key", "value"] {
        let (mut ev, mut av) = (field(&e, what).clone(), field(&a, what).clone());
        unwrap_schema(w, what, &mut ev, &mut av, errs);
        if let Some(m) = e.as_object_mut() {
            m.insert(what.to_string(), ev);
        }
        if let Some(m) = a.as_object_mut() {
            m.insert(what.to_string(), av);
        }
    }
    let (e, a) = (&e, &a);
    let (e_topic, a_topic) = (field(e, "topic"), field(a, "topic"));
    if !json_eq(&topic_tail(e_topic), &topic_tail(a_topic)) {
        errs.push(format!(
            "{w}: topic expected *.{}, got {}",
            plain(&topic_tail(e_topic)),
            plain(a_topic)
        ));
    }
    let (ev, av) = (field(e, "value"), field(a, "value"));
    let is_tx = ev.as_object().is_some_and(|v| v.contains_key("status"));
    if !is_tx && !json_eq(field(e, "key"), field(a, "key")) {
        errs.push(format!(
            "{w}: key expected {}, got {}",
            quote(field(e, "key")),
            quote(field(a, "key"))
        ));
    }
    if ev.is_null() || av.is_null() {
        if !json_eq(ev, av) {
            errs.push(format!(
                "{w}: value expected {}, got {}",
                quote(ev),
                quote(av)
            ));
        }
        return;
    }
    let (Some(evo), Some(avo)) = (ev.as_object(), av.as_object()) else {
        errs.push(format!(
            "{w}: value expected {}, got {} (not an object)",
            quote(ev),
            quote(av)
        ));
        return;
    };

    if is_tx {
        // Transaction metadata event (BEGIN/END).
        for f in ["status", "event_count"] {
            if !json_eq(field(ev, f), field(av, f)) {
                errs.push(format!(
                    "{w}: {f} expected {}, got {}",
                    plain(field(ev, f)),
                    plain(field(av, f))
                ));
            }
        }
        let collections = |v: &Value| -> Vec<String> {
            let mut out: Vec<String> = match field(v, "data_collections") {
                Value::Array(items) => items.iter().map(canonical).collect(),
                other if truthy(other) => vec![canonical(other)],
                _ => Vec::new(),
            };
            out.sort();
            out
        };
        if collections(ev) != collections(av) {
            errs.push(format!(
                "{w}: data_collections expected {}, got {}",
                quote(field(ev, "data_collections")),
                quote(field(av, "data_collections"))
            ));
        }
        return;
    }

    let op = field(ev, "op");
    if !json_eq(op, field(av, "op")) {
        errs.push(format!(
            "{w}: op expected {}, got {}",
            plain(op),
            plain(field(av, "op"))
        ));
        return;
    }
    let empty = Map::new();
    let source = |v: &Map<String, Value>, side: &str, errs: &mut Vec<String>| match v.get("source")
    {
        Some(Value::Object(s)) => s.clone(),
        Some(other) if truthy(other) => {
            errs.push(format!(
                "{w}: {side} source is not an object: {}",
                quote(other)
            ));
            empty.clone()
        }
        _ => empty.clone(),
    };
    let es = source(evo, "expected", errs);
    let as_ = source(avo, "actual", errs);
    if op.as_str() == Some("m") {
        if !json_eq(field(ev, "message"), field(av, "message")) {
            errs.push(format!(
                "{w}: message expected {}, got {}",
                quote(field(ev, "message")),
                quote(field(av, "message"))
            ));
        }
    } else {
        for f in ["db", "schema", "table", "snapshot"] {
            let (x, y) = (
                es.get(f).unwrap_or(&Value::Null),
                as_.get(f).unwrap_or(&Value::Null),
            );
            if !json_eq(x, y) {
                errs.push(format!(
                    "{w}: source.{f} expected {}, got {}",
                    quote(x),
                    quote(y)
                ));
            }
        }
        let lsn = as_.get("lsn").unwrap_or(&Value::Null);
        if !is_integer(lsn) {
            errs.push(format!(
                "{w}: source.lsn must be an integer, got {}",
                quote(lsn)
            ));
        }
        let etx = es.get("txId").unwrap_or(&Value::Null);
        let atx = as_.get("txId").unwrap_or(&Value::Null);
        if !etx.is_null() {
            if !is_integer(atx) {
                errs.push(format!(
                    "{w}: source.txId must be an integer, got {}",
                    quote(atx)
                ));
            } else {
                match tx_map.iter().find(|(k, _)| json_eq(k, etx)) {
                    Some((_, mapped)) => {
                        if !json_eq(mapped, atx) {
                            errs.push(format!(
                                "{w}: source.txId groups events differently from Debezium \
                                 (expected txId {} was mapped to {} before, got {})",
                                plain(etx),
                                plain(mapped),
                                plain(atx)
                            ));
                        }
                    }
                    None => tx_map.push((etx.clone(), atx.clone())),
                }
            }
        }
        let lenient = matches!(op.as_str(), Some("d" | "u"));
        cmp_row(
            &format!("{w}.after"),
            field(ev, "after"),
            field(av, "after"),
            false,
            &options.ignore,
            errs,
        );
        cmp_row(
            &format!("{w}.before"),
            field(ev, "before"),
            field(av, "before"),
            lenient,
            &options.ignore,
            errs,
        );
    }

    let (et, at) = (field(ev, "transaction"), field(av, "transaction"));
    if et.is_null() != at.is_null() {
        errs.push(format!(
            "{w}: transaction expected {}, got {}",
            quote(et),
            quote(at)
        ));
    } else if truthy(et) {
        match (et.as_object(), at.as_object()) {
            (Some(_), Some(_)) => {
                for f in ["total_order", "data_collection_order"] {
                    if !json_eq(field(et, f), field(at, f)) {
                        errs.push(format!(
                            "{w}: transaction.{f} expected {}, got {}",
                            plain(field(et, f)),
                            plain(field(at, f))
                        ));
                    }
                }
            }
            _ => errs.push(format!(
                "{w}: transaction expected {}, got {} (not an object)",
                quote(et),
                quote(at)
            )),
        }
    }
}

/// Compares a row image (`before` or `after`) column by column.
fn cmp_row(
    w: &str,
    exp: &Value,
    act: &Value,
    lenient: bool,
    ignore: &[String],
    errs: &mut Vec<String>,
) {
    let without_ignored = |v: &Value| -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter()
                    .filter(|(k, _)| !ignore.iter().any(|i| i == *k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
            other => other.clone(),
        }
    };
    let (exp, act) = (without_ignored(exp), without_ignored(act));
    if exp.is_null() || act.is_null() {
        if !json_eq(&exp, &act) {
            errs.push(format!(
                "{w}: expected {}, got {}",
                quote(&exp),
                quote(&act)
            ));
        }
        return;
    }
    let Some(act) = act.as_object() else {
        errs.push(format!("{w}: expected an object, got {}", quote(&act)));
        return;
    };
    let Some(exp) = exp.as_object() else {
        errs.push(format!(
            "{w}: expected {}, got {}",
            quote(&exp),
            quote(&Value::Object(act.clone()))
        ));
        return;
    };
    let mut columns: Vec<&String> = exp.keys().chain(act.keys()).collect();
    columns.sort();
    columns.dedup();
    for col in columns {
        let (e, a) = match (exp.get(col), act.get(col)) {
            (Some(e), None) => {
                errs.push(format!("{w}.{col}: missing (expected {})", quote(e)));
                continue;
            }
            (None, Some(a)) => {
                errs.push(format!("{w}.{col}: unexpected column (value {})", quote(a)));
                continue;
            }
            (Some(e), Some(a)) => (e, a),
            (None, None) => unreachable!("the column comes from one of the rows"),
        };
        if json_eq(e, a) {
            continue;
        }
        if lenient && a.is_null() && is_invented_default(e) {
            continue;
        }
        errs.push(format!(
            "{w}.{col}: expected {}, got {}",
            quote(e),
            quote(a)
        ));
    }
}

/// Whether `v` is one of the defaults Debezium invents for missing NOT NULL columns. Like
/// Python's `v in ("", 0, 0.0, False, ...)`: any zero number and `false` count.
fn is_invented_default(v: &Value) -> bool {
    match v {
        Value::String(s) => STRING_DEFAULTS.contains(&s.as_str()),
        Value::Number(n) => num_eq(n, &Number::from(0)),
        Value::Bool(b) => !b,
        _ => false,
    }
}

fn is_read(e: &Value) -> bool {
    field(e, "value")
        .as_object()
        .is_some_and(|v| v.get("op").and_then(Value::as_str) == Some("r"))
}

/// Snapshot reads may come in any order: they are compared as a multiset (source.snapshot
/// aside), then the markers are checked: "first" on the first read (Debezium gives
/// "first_in_data_collection" when its first table was empty), "last" on the last, and
/// only Debezium's marker values in between. Returns the events that remain to be compared
/// in order.
fn check_snapshot<'a>(
    exp: &'a [Value],
    act: &'a [Value],
    errs: &mut Vec<String>,
) -> (Vec<&'a Value>, Vec<&'a Value>) {
    let er: Vec<&Value> = exp.iter().filter(|e| is_read(e)).collect();
    let ar: Vec<&Value> = act.iter().filter(|e| is_read(e)).collect();
    let rest = |events: &'a [Value]| events.iter().filter(|e| !is_read(e)).collect::<Vec<_>>();
    if er.is_empty() && ar.is_empty() {
        return (exp.iter().collect(), act.iter().collect());
    }
    let canon = |e: &Value| -> String {
        let v = field(e, "value");
        let src = field(v, "source");
        let keep: Map<String, Value> = ["db", "schema", "table"]
            .iter()
            .map(|k| (k.to_string(), field(src, k).clone()))
            .collect();
        let mut value = Map::new();
        value.insert("after".into(), field(v, "after").clone());
        value.insert("before".into(), field(v, "before").clone());
        value.insert("op".into(), field(v, "op").clone());
        value.insert("source".into(), Value::Object(keep));
        canonical(&Value::Array(vec![
            topic_tail(field(e, "topic")),
            field(e, "key").clone(),
            Value::Object(value),
        ]))
    };
    let mut es: Vec<String> = er.iter().map(|e| canon(e)).collect();
    let mut as_: Vec<String> = ar.iter().map(|e| canon(e)).collect();
    es.sort();
    as_.sort();
    if es != as_ {
        let absent = distinct_difference(&es, &as_);
        let unexpected = distinct_difference(&as_, &es);
        errs.push(format!(
            "snapshot reads: expected {}, got {} ({} expected rows absent, {} unexpected)",
            es.len(),
            as_.len(),
            absent.len(),
            unexpected.len()
        ));
        for row in absent.iter().take(3) {
            errs.push(format!("  absent: {}", truncate(row, 300)));
        }
        for row in unexpected.iter().take(3) {
            errs.push(format!("  unexpected: {}", truncate(row, 300)));
        }
    }
    let marks: Vec<&Value> = ar
        .iter()
        .map(|a| field(field(field(a, "value"), "source"), "snapshot"))
        .collect();
    if let (Some(first), Some(last)) = (marks.first(), marks.last()) {
        let is = |m: &Value, names: &[&str]| m.as_str().is_some_and(|s| names.contains(&s));
        if !is(first, &["first", "first_in_data_collection"]) && marks.len() > 1 {
            errs.push(format!(
                "snapshot: first read is marked {}, expected 'first'",
                plain(first)
            ));
        }
        if !is(last, &["last"]) {
            errs.push(format!(
                "snapshot: last read is marked {}, expected 'last'",
                plain(last)
            ));
        }
        let mut bad: Vec<String> = marks
            .iter()
            .filter(|m| !is(m, &SNAPSHOT_MARKERS))
            .map(|m| plain(m))
            .collect();
        bad.sort();
        bad.dedup();
        if !bad.is_empty() {
            errs.push(format!(
                "snapshot: marker values {bad:?} are not Debezium's"
            ));
        }
    }
    (rest(exp), rest(act))
}

/// The distinct elements of sorted `a` that are not in sorted `b`.
fn distinct_difference(a: &[String], b: &[String]) -> Vec<String> {
    let mut out: Vec<String> = a
        .iter()
        .filter(|x| b.binary_search(x).is_err())
        .cloned()
        .collect();
    out.dedup();
    out
}

/// `<prefix>.<schema>.<table>` -> `<schema>.<table>`; anything else unchanged.
fn topic_tail(t: &Value) -> Value {
    match t {
        Value::String(s) => match s.split_once('.') {
            Some((_, tail)) => Value::String(tail.to_owned()),
            None => t.clone(),
        },
        other => other.clone(),
    }
}

/// `v[name]` when `v` is an object holding it, else null.
fn field<'a>(v: &'a Value, name: &str) -> &'a Value {
    const NULL: &Value = &Value::Null;
    v.as_object().and_then(|m| m.get(name)).unwrap_or(NULL)
}

/// JSON equality where numbers compare by value, exactly (`1 == 1.0`, but
/// `9007199254740993 != 9007199254740992.0`), a boolean never equals a number, and objects
/// compare regardless of key order.
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => num_eq(x, y),
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_eq(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => false,
    }
}

fn int_value(n: &Number) -> Option<i128> {
    n.as_i64()
        .map(i128::from)
        .or_else(|| n.as_u64().map(i128::from))
}

/// Numeric equality with Python's semantics: int against float compares exactly.
fn num_eq(x: &Number, y: &Number) -> bool {
    fn float_int_eq(f: f64, i: i128) -> bool {
        // 2^127 as f64; integral floats below it convert to i128 exactly.
        f.is_finite() && f.fract() == 0.0 && f.abs() < 1.7014118346046923e38 && f as i128 == i
    }
    match (int_value(x), int_value(y)) {
        (Some(i), Some(j)) => i == j,
        (Some(i), None) => y.as_f64().is_some_and(|f| float_int_eq(f, i)),
        (None, Some(j)) => x.as_f64().is_some_and(|f| float_int_eq(f, j)),
        (None, None) => match (x.as_f64(), y.as_f64()) {
            (Some(f), Some(g)) => f.partial_cmp(&g) == Some(Ordering::Equal),
            _ => false,
        },
    }
}

fn is_integer(v: &Value) -> bool {
    matches!(v, Value::Number(n) if n.is_i64() || n.is_u64())
}

/// Python truthiness of a JSON value.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => !num_eq(n, &Number::from(0)),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
    }
}

/// A canonical text for exact (type-aware) multiset comparison: keys sorted, integers and
/// floats kept apart (`1` vs `1.0`), like Python's `json.dumps(v, sort_keys=True)`.
fn canonical(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push_str(": ");
                write_canonical(&m[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::Number(n) => match int_value(n) {
            Some(i) => out.push_str(&i.to_string()),
            // serde_json writes floats with a '.' or an exponent, never like an integer.
            None => out.push_str(&n.to_string()),
        },
        other => out.push_str(&other.to_string()),
    }
}

/// A value as compact JSON, cut to a readable length.
fn quote(v: &Value) -> String {
    truncate(&v.to_string(), QUOTE_LIMIT)
}

/// A string without its JSON quotes, anything else as JSON (null as `None`, like Python).
fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => truncate(s, QUOTE_LIMIT),
        Value::Null => "None".to_owned(),
        other => quote(other),
    }
}

fn truncate(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((at, _)) => format!("{}...", &s[..at]),
        None => s.to_owned(),
    }
}

/// The fields ExtractNewRecordState adds whose values change from run to run (timestamps,
/// LSNs, transaction ids), without their prefix.
pub const VOLATILE_ADDED: [&str; 10] = [
    "source_ts_ms",
    "ts_ms",
    "lsn",
    "source_lsn",
    "source_txId",
    "txId",
    "source_ts_us",
    "source_ts_ns",
    "ts_us",
    "ts_ns",
];

/// Whether a record was flattened by ExtractNewRecordState: an object value that is not a
/// change event (`op`, `source`) nor transaction metadata (`status`).
pub fn is_flat(e: &Value) -> bool {
    let value = field(e, "value");
    let value = if is_wrapped(value) {
        field(value, "payload")
    } else {
        value
    };
    value.as_object().is_some_and(|v| {
        !v.contains_key("op") && !v.contains_key("source") && !v.contains_key("status")
    })
}

/// Compares flattened records as the kit's compare.py does: topic in full, key and value
/// exactly, tombstones included, in order; the `volatile` added fields are left out of values
/// and headers (values written with their schema: from the payload, the schema is compared
/// exactly). Headers are compared when the expected record has them, except the connector's
/// context headers (`__debezium.context.*`), which are not written here; a primary-key
/// change's `__debezium.oldkey` / `__debezium.newkey` are compared.
pub fn compare_flat(expected: &[Value], actual: &[Value], volatile: &[String]) -> Vec<String> {
    let strip = |v: &Value| -> Value {
        if is_wrapped(v) {
            let mut payload = field(v, "payload").clone();
            if let Some(m) = payload.as_object_mut() {
                m.retain(|k, _| !volatile.contains(k));
            }
            return serde_json::json!({"schema": field(v, "schema"), "payload": payload});
        }
        match v.as_object() {
            Some(m) => Value::Object(
                m.iter()
                    .filter(|(k, _)| !volatile.contains(k))
                    .map(|(k, x)| (k.clone(), x.clone()))
                    .collect(),
            ),
            None => v.clone(),
        }
    };
    let mut errs = Vec::new();
    if expected.len() != actual.len() {
        errs.push(format!(
            "record count: expected {}, got {}",
            expected.len(),
            actual.len()
        ));
    }
    for (i, (e, a)) in expected.iter().zip(actual).enumerate() {
        let w = format!("record {}", i + 1);
        if !field(e, "value").is_null() && !is_flat(e) {
            // A record the transforms left whole (a predicate, a message, transaction
            // metadata): compared as a change event (transaction ids only by grouping), its
            // volatile parts left out, and its topic in full.
            if !json_eq(field(e, "topic"), field(a, "topic")) {
                errs.push(format!(
                    "{w}: topic expected {}, got {}",
                    quote(field(e, "topic")),
                    quote(field(a, "topic"))
                ));
            }
            let opts = Options::default();
            for d in compare_events(std::slice::from_ref(e), std::slice::from_ref(a), &opts) {
                errs.push(format!("{w}: {d}"));
            }
            continue;
        }
        for part in ["topic", "key"] {
            if !json_eq(field(e, part), field(a, part)) {
                errs.push(format!(
                    "{w}: {part} expected {}, got {}",
                    quote(field(e, part)),
                    quote(field(a, part))
                ));
            }
        }
        let (ev, av) = (strip(field(e, "value")), strip(field(a, "value")));
        if !json_eq(&ev, &av) {
            errs.push(format!(
                "{w}: value expected {}, got {}",
                quote(&ev),
                quote(&av)
            ));
        }
        if let Some(eh) = e.get("headers") {
            let ah = a
                .get("headers")
                .cloned()
                .unwrap_or_else(|| Value::Object(Map::new()));
            let mut eh = eh.clone();
            if let Some(m) = eh.as_object_mut() {
                m.retain(|k, _| !k.starts_with("__debezium.context."));
            }
            let (eh, ah) = (strip(&eh), strip(&ah));
            if !json_eq(&eh, &ah) {
                errs.push(format!(
                    "{w}: headers expected {}, got {}",
                    quote(&eh),
                    quote(&ah)
                ));
            }
        }
    }
    errs
}

/// Topic, key and whether the value is a tombstone, record by record (tombstones included):
/// what the transforms change besides the value.
pub fn compare_routing(expected: &[Value], actual: &[Value]) -> Vec<String> {
    let mut errs = Vec::new();
    if expected.len() != actual.len() {
        errs.push(format!(
            "record count with tombstones: expected {}, got {}",
            expected.len(),
            actual.len()
        ));
    }
    for (i, (e, a)) in expected.iter().zip(actual).enumerate() {
        let w = format!("record {}", i + 1);
        let tomb = |v: &Value| field(v, "value").is_null();
        if field(e, "topic") != field(a, "topic") {
            errs.push(format!(
                "{w}: topic expected {}, got {}",
                quote(field(e, "topic")),
                quote(field(a, "topic"))
            ));
        }
        if !json_eq(field(e, "key"), field(a, "key")) {
            errs.push(format!(
                "{w}: key expected {}, got {}",
                quote(field(e, "key")),
                quote(field(a, "key"))
            ));
        }
        if tomb(e) != tomb(a) {
            errs.push(format!(
                "{w}: expected {}, got {}",
                if tomb(e) { "a tombstone" } else { "a value" },
                if tomb(a) { "a tombstone" } else { "a value" }
            ));
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn schemas_are_compared_exactly_and_payloads_by_the_rules() {
        let schema = json!({"type": "struct", "fields": [
            {"type": "int32", "optional": false, "field": "id"},
            {"type": "string", "optional": true, "field": "v"}
        ], "optional": false, "name": "dbz.public.t.Key"});
        let event = |schema: &Value, id: i64| {
            json!({"topic": "dbz.public.t",
                   "key": {"schema": schema, "payload": {"id": id}},
                   "value": {"schema": {"type": "struct", "fields": []},
                             "payload": {"op": "c", "before": null, "after": {"id": id},
                                         "source": {"lsn": 1}}}})
        };
        let opts = Options::default();
        assert!(compare_events(&[event(&schema, 1)], &[event(&schema, 1)], &opts).is_empty());
        // Field order matters.
        let mut swapped = schema.clone();
        swapped["fields"].as_array_mut().unwrap().reverse();
        let errs = compare_events(&[event(&schema, 1)], &[event(&swapped, 1)], &opts);
        assert!(
            errs.iter().any(|e| e.contains("key.schema.fields[0:id]")),
            "{errs:?}"
        );
        // Payloads are still compared.
        let errs = compare_events(&[event(&schema, 1)], &[event(&schema, 2)], &opts);
        assert!(errs.iter().any(|e| e.contains("key expected")), "{errs:?}");
        // A missing wrapper is a difference.
        let mut bare = event(&schema, 1);
        bare["key"] = json!({"id": 1});
        let errs = compare_events(&[event(&schema, 1)], &[bare], &opts);
        assert!(
            errs.iter().any(|e| e.contains("key expected {\"schema\"")),
            "{errs:?}"
        );
    }

    fn lines(events: &[Value]) -> String {
        events
            .iter()
            .map(|e| e.to_string() + "\n")
            .collect::<String>()
    }

    fn cmp(expected: &[Value], actual: &[Value]) -> Vec<String> {
        compare_texts(&lines(expected), &lines(actual), &Options::default())
    }

    fn source(table: &str, tx: u64, lsn: u64) -> Value {
        json!({"connector": "postgresql", "db": "case_x", "schema": "public", "table": table,
               "snapshot": "false", "lsn": lsn, "txId": tx, "version": "3.6.3.Final",
               "name": "dbz", "sequence": format!("[null,\"{lsn}\"]"), "ts_ms": 1, "xmin": null})
    }

    fn change(prefix: &str, op: &str, before: Value, after: Value, tx: u64, lsn: u64) -> Value {
        let id = if after.is_null() {
            before["id"].clone()
        } else {
            after["id"].clone()
        };
        json!({"topic": format!("{prefix}.public.t"), "key": {"id": id},
               "value": {"op": op, "before": before, "after": after,
                         "source": source("t", tx, lsn), "transaction": null, "ts_ms": 5}})
    }

    fn tombstone(prefix: &str, id: i64) -> Value {
        json!({"topic": format!("{prefix}.public.t"), "key": {"id": id}, "value": null})
    }

    fn read(id: i64, marker: &str) -> Value {
        let mut e = change("dbz", "r", Value::Null, json!({"id": id}), 7, 100);
        e["value"]["source"]["snapshot"] = json!(marker);
        e
    }

    #[test]
    fn identical_streams_match_and_ignored_fields_do_not_matter() {
        let exp = vec![
            change("dbz", "c", Value::Null, json!({"id": 1, "v": "a"}), 10, 100),
            change(
                "dbz",
                "u",
                json!({"id": 1, "v": "a"}),
                json!({"id": 1, "v": "b"}),
                11,
                200,
            ),
            change("dbz", "d", json!({"id": 1, "v": "b"}), Value::Null, 12, 300),
            tombstone("dbz", 1),
        ];
        assert_eq!(cmp(&exp, &exp), Vec::<String>::new());
        // Other prefix, other timestamps, versions, LSNs and txIds (consistently mapped).
        let mut act = exp.clone();
        for (i, e) in act.iter_mut().enumerate() {
            e["topic"] = json!("other.public.t");
            if e["value"].is_object() {
                e["value"]["ts_ms"] = json!(999);
                e["value"]["source"]["version"] = json!("0.1.0");
                e["value"]["source"]["sequence"] = json!("x");
                e["value"]["source"]["lsn"] = json!(5000 + i);
                e["value"]["source"]["txId"] = json!(700 + i);
            }
        }
        assert_eq!(cmp(&exp, &act), Vec::<String>::new());
    }

    #[test]
    fn value_differences_are_reported() {
        let exp = vec![change(
            "dbz",
            "c",
            Value::Null,
            json!({"id": 1, "v": "a", "n": 2}),
            1,
            1,
        )];
        let act = vec![change(
            "dbz",
            "c",
            Value::Null,
            json!({"id": 1, "v": "b", "x": 3}),
            1,
            1,
        )];
        let errs = cmp(&exp, &act);
        assert_eq!(
            errs,
            vec![
                "event 1.after.n: missing (expected 2)",
                "event 1.after.v: expected \"a\", got \"b\"",
                "event 1.after.x: unexpected column (value 3)",
            ]
        );
        let mut act = exp.clone();
        act[0]["value"]["op"] = json!("u");
        assert_eq!(cmp(&exp, &act), vec!["event 1: op expected c, got u"]);
        let mut act = exp.clone();
        act[0]["key"] = json!({"id": 2});
        assert_eq!(
            cmp(&exp, &act),
            vec!["event 1: key expected {\"id\":1}, got {\"id\":2}"]
        );
        let mut act = exp.clone();
        act[0]["topic"] = json!("dbz.public.u");
        assert_eq!(
            cmp(&exp, &act),
            vec!["event 1: topic expected *.public.t, got dbz.public.u"]
        );
        let mut act = exp.clone();
        act[0]["value"]["source"]["table"] = json!("u");
        act[0]["value"]["source"]["lsn"] = json!("0/16B3748");
        assert_eq!(
            cmp(&exp, &act),
            vec![
                "event 1: source.table expected \"t\", got \"u\"",
                "event 1: source.lsn must be an integer, got \"0/16B3748\"",
            ]
        );
        let mut act = exp.clone();
        act[0]["value"]["source"]["snapshot"] = json!(false);
        assert_eq!(
            cmp(&exp, &act),
            vec!["event 1: source.snapshot expected \"false\", got false"]
        );
        assert_eq!(cmp(&exp, &[]), vec!["event count: expected 1, got 0"]);
    }

    #[test]
    fn numbers_compare_by_value_but_booleans_are_not_numbers() {
        let row = |v: Value| {
            vec![change(
                "dbz",
                "c",
                Value::Null,
                json!({"id": 1, "v": v}),
                1,
                1,
            )]
        };
        let same = |e: Value, a: Value| cmp(&row(e), &row(a)).is_empty();
        assert!(same(json!(1), json!(1.0)));
        assert!(same(json!(1.5), json!(1.5)));
        assert!(same(json!([1, 2]), json!([1.0, 2])));
        assert!(same(
            json!({"scale": 2, "value": "AA=="}),
            json!({"value": "AA==", "scale": 2.0})
        ));
        assert!(same(
            json!(-9223372036854775808i64),
            json!(-9223372036854775808i64)
        ));
        assert!(!same(json!(1), json!(true)));
        assert!(!same(json!(true), json!(1)));
        assert!(!same(json!(0), json!(false)));
        assert!(!same(json!([1]), json!([true])));
        assert!(!same(json!(1), json!("1")));
        assert!(!same(json!(null), json!(0)));
        assert!(!same(json!([1, 2]), json!([2, 1])));
        // Exact, like Python: 2^53 + 1 is not the float 2^53.
        let errs = compare_texts(
            r#"{"topic":"a.b","key":1,"value":{"op":"c","after":{"v":9007199254740993},"source":{"lsn":1}}}"#,
            r#"{"topic":"a.b","key":1,"value":{"op":"c","after":{"v":9007199254740992.0},"source":{"lsn":1}}}"#,
            &Options::default(),
        );
        assert_eq!(errs.len(), 1, "{errs:?}");
        // Keys too.
        let errs = compare_texts(
            r#"{"topic":"a.b","key":{"id":2},"value":{"op":"c","after":{},"source":{"lsn":1}}}"#,
            r#"{"topic":"a.b","key":{"id":2.0},"value":{"op":"c","after":{},"source":{"lsn":1}}}"#,
            &Options::default(),
        );
        assert!(errs.is_empty(), "{errs:?}");
    }

    #[test]
    fn invented_defaults_in_before_of_updates_and_deletes_may_be_null() {
        let defaults = [
            json!(""),
            json!(0),
            json!(0.0),
            json!(false),
            json!("AA=="),
            json!("1970-01-01T00:00:00Z"),
            json!("1970-01-01T00:00:00.000000Z"),
            json!("00:00:00Z"),
        ];
        for d in &defaults {
            for op in ["u", "d"] {
                let after = if op == "d" {
                    Value::Null
                } else {
                    json!({"id": 1, "v": d})
                };
                let exp = vec![change(
                    "dbz",
                    op,
                    json!({"id": 1, "v": d}),
                    after.clone(),
                    1,
                    1,
                )];
                let act = vec![change("dbz", op, json!({"id": 1, "v": null}), after, 1, 1)];
                assert_eq!(cmp(&exp, &act), Vec::<String>::new(), "{op} {d}");
            }
            // Not in `after`.
            let exp = vec![change(
                "dbz",
                "c",
                Value::Null,
                json!({"id": 1, "v": d}),
                1,
                1,
            )];
            let act = vec![change(
                "dbz",
                "c",
                Value::Null,
                json!({"id": 1, "v": null}),
                1,
                1,
            )];
            assert_eq!(cmp(&exp, &act).len(), 1, "after {d}");
        }
        // Not for other values, and not the other way round.
        for (e, a) in [
            (json!("x"), json!(null)),
            (json!(1), json!(null)),
            (json!(true), json!(null)),
            (json!("1970-01-01"), json!(null)),
            (json!(null), json!(0)),
            (json!(0), json!("")),
        ] {
            let exp = vec![change(
                "dbz",
                "d",
                json!({"id": 1, "v": e}),
                Value::Null,
                1,
                1,
            )];
            let act = vec![change(
                "dbz",
                "d",
                json!({"id": 1, "v": a}),
                Value::Null,
                1,
                1,
            )];
            assert_eq!(cmp(&exp, &act).len(), 1, "{e} -> {a}");
        }
        // A missing before is not a null column.
        let exp = vec![change(
            "dbz",
            "d",
            json!({"id": 1, "v": 0}),
            Value::Null,
            1,
            1,
        )];
        let mut act = exp.clone();
        act[0]["value"]["before"] = Value::Null;
        assert_eq!(
            cmp(&exp, &act),
            vec!["event 1.before: expected {\"id\":1,\"v\":0}, got null"]
        );
    }

    #[test]
    fn ignored_columns_are_left_out_on_both_sides() {
        let exp = vec![change(
            "dbz",
            "u",
            json!({"id": 1, "t": "x"}),
            json!({"id": 1, "t": 1}),
            1,
            1,
        )];
        let act = vec![change(
            "dbz",
            "u",
            json!({"id": 1}),
            json!({"id": 1, "t": 2}),
            1,
            1,
        )];
        assert_eq!(cmp(&exp, &act).len(), 2);
        let options = Options {
            ignore: vec!["t".into()],
            ..Options::default()
        };
        assert_eq!(
            compare_texts(&lines(&exp), &lines(&act), &options),
            Vec::<String>::new()
        );
    }

    #[test]
    fn tx_ids_must_group_events_like_debezium() {
        let exp = vec![
            change("dbz", "c", Value::Null, json!({"id": 1}), 10, 1),
            change("dbz", "c", Value::Null, json!({"id": 2}), 10, 2),
            change("dbz", "c", Value::Null, json!({"id": 3}), 11, 3),
        ];
        let with_tx = |txs: [Value; 3]| {
            let mut act = exp.clone();
            for (e, tx) in act.iter_mut().zip(txs) {
                e["value"]["source"]["txId"] = tx;
            }
            act
        };
        assert!(cmp(&exp, &with_tx([json!(500), json!(500), json!(501)])).is_empty());
        let errs = cmp(&exp, &with_tx([json!(500), json!(501), json!(502)]));
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(
            errs[0].starts_with("event 2: source.txId groups events differently"),
            "{errs:?}"
        );
        let errs = cmp(&exp, &with_tx([json!(500), json!("500"), json!(null)]));
        assert_eq!(
            errs,
            vec![
                "event 2: source.txId must be an integer, got \"500\"",
                "event 3: source.txId must be an integer, got null",
            ]
        );
        let errs = cmp(&exp, &with_tx([json!(500), json!(500.0), json!(true)]));
        assert_eq!(errs.len(), 2, "{errs:?}");
    }

    #[test]
    fn tombstones_are_compared_only_when_asked() {
        let exp = vec![
            change("dbz", "d", json!({"id": 1}), Value::Null, 1, 1),
            tombstone("dbz", 1),
        ];
        let act = vec![change("dbz", "d", json!({"id": 1}), Value::Null, 1, 1)];
        assert!(cmp(&exp, &act).is_empty());
        assert!(cmp(&act, &exp).is_empty());
        let with = Options {
            tombstones: true,
            ..Options::default()
        };
        assert_eq!(
            compare_texts(&lines(&exp), &lines(&act), &with),
            vec!["event count: expected 2, got 1"]
        );
        assert!(compare_texts(&lines(&exp), &lines(&exp), &with).is_empty());
        // A tombstone where an event was expected, and a tombstone with the wrong key.
        let wrong = vec![tombstone("dbz", 1), tombstone("dbz", 2)];
        let errs = compare_texts(&lines(&exp), &lines(&wrong), &with);
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(errs[0].starts_with("event 1: value expected {"), "{errs:?}");
        assert!(errs[1].starts_with("event 2: key expected"), "{errs:?}");
        // A line without "value" counts as a tombstone.
        let bare = "{\"topic\":\"dbz.public.t\",\"key\":{\"id\":1}}\n";
        assert!(compare_texts(&lines(&act), &(lines(&act) + bare), &Options::default()).is_empty());
    }

    #[test]
    fn transaction_metadata() {
        let begin = |id: &str| {
            json!({"topic": "dbz.transaction", "key": {"id": id},
                   "value": {"status": "BEGIN", "id": id, "event_count": null,
                             "data_collections": null, "ts_ms": 1}})
        };
        let end = |id: &str, collections: Value, count: i64| {
            json!({"topic": "dbz.transaction", "key": {"id": id},
                   "value": {"status": "END", "id": id, "event_count": count,
                             "data_collections": collections, "ts_ms": 1}})
        };
        let event = |id: i64, total: i64, per_table: i64| {
            let mut e = change(
                "dbz",
                "c",
                Value::Null,
                json!({"id": id}),
                9,
                100 + id as u64,
            );
            e["value"]["transaction"] = json!({"id": format!("9:{}", 100 + id), "total_order": total,
                       "data_collection_order": per_table});
            e
        };
        let collections = json!([
            {"data_collection": "public.t", "event_count": 2},
            {"data_collection": "public.u", "event_count": 1}
        ]);
        let exp = vec![
            begin("9:100"),
            event(1, 1, 1),
            event(2, 2, 2),
            end("9:300", collections.clone(), 3),
        ];
        assert!(cmp(&exp, &exp).is_empty());
        // Ids and keys of metadata events are not compared; data_collections in any order.
        let reordered = json!([
            {"event_count": 1, "data_collection": "public.u"},
            {"data_collection": "public.t", "event_count": 2}
        ]);
        let act = vec![
            begin("9"),
            event(1, 1, 1),
            event(2, 2, 2),
            end("9", reordered, 3),
        ];
        assert!(cmp(&exp, &act).is_empty(), "{:?}", cmp(&exp, &act));
        // But their contents are.
        let act = vec![
            begin("9"),
            event(1, 1, 1),
            event(2, 2, 1),
            end(
                "9",
                json!([{"data_collection": "public.t", "event_count": 3}]),
                4,
            ),
        ];
        assert_eq!(
            cmp(&exp, &act),
            vec![
                "event 3: transaction.data_collection_order expected 2, got 1",
                "event 4: event_count expected 3, got 4",
                "event 4: data_collections expected [{\"data_collection\":\"public.t\",\
                 \"event_count\":2},{\"data_collection\":\"public.u\",\"event_count\":1}], got \
                 [{\"data_collection\":\"public.t\",\"event_count\":3}]",
            ]
        );
        let mut act = exp.clone();
        act[1]["value"]["transaction"] = Value::Null;
        act[0]["value"]["status"] = json!("END");
        let errs = cmp(&exp, &act);
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert_eq!(errs[0], "event 1: status expected BEGIN, got END");
        assert!(
            errs[1].starts_with("event 2: transaction expected {"),
            "{errs:?}"
        );
    }

    #[test]
    fn messages_and_truncates() {
        let message = |content: &str| {
            json!({"topic": "dbz.message", "key": {"prefix": "p"},
                   "value": {"op": "m", "message": {"prefix": "p", "content": content},
                             "source": {"lsn": 5, "txId": null}}})
        };
        assert!(cmp(&[message("AQI=")], &[message("AQI=")]).is_empty());
        assert_eq!(
            cmp(&[message("AQI=")], &[message("AQM=")]),
            vec![
                "event 1: message expected {\"content\":\"AQI=\",\"prefix\":\"p\"}, got \
                 {\"content\":\"AQM=\",\"prefix\":\"p\"}"
            ]
        );
        let trunc = change("dbz", "t", Value::Null, Value::Null, 3, 3);
        let same = [trunc.clone()];
        assert!(cmp(&same, &same).is_empty());
        let mut other = trunc.clone();
        other["value"]["after"] = json!({});
        assert_eq!(
            cmp(&[trunc], &[other]),
            vec!["event 1.after: expected null, got {}"]
        );
    }

    #[test]
    fn snapshot_reads_are_a_multiset_with_markers() {
        let tail = change("dbz", "c", Value::Null, json!({"id": 9}), 1, 1);
        let exp = vec![
            read(1, "first"),
            read(2, "true"),
            read(3, "last"),
            tail.clone(),
        ];
        let act = vec![
            read(3, "first"),
            read(1, "true"),
            read(2, "last"),
            tail.clone(),
        ];
        assert!(cmp(&exp, &act).is_empty(), "{:?}", cmp(&exp, &act));
        let act = vec![
            read(1, "first"),
            read(2, "true"),
            read(4, "last"),
            tail.clone(),
        ];
        let errs = cmp(&exp, &act);
        assert_eq!(errs.len(), 3, "{errs:?}");
        assert_eq!(
            errs[0],
            "snapshot reads: expected 3, got 3 (1 expected rows absent, 1 unexpected)"
        );
        assert!(
            errs[1].starts_with("  absent: [\"public.t\", {\"id\": 3}"),
            "{errs:?}"
        );
        assert!(
            errs[2].starts_with("  unexpected: [\"public.t\", {\"id\": 4}"),
            "{errs:?}"
        );
        // Duplicates count.
        let act = vec![
            read(1, "first"),
            read(1, "true"),
            read(2, "true"),
            read(3, "last"),
            tail.clone(),
        ];
        assert_eq!(cmp(&exp, &act).len(), 1);
        // Markers.
        let act = vec![
            read(1, "true"),
            read(2, "true"),
            read(3, "true"),
            tail.clone(),
        ];
        assert_eq!(
            cmp(&exp, &act),
            vec![
                "snapshot: first read is marked true, expected 'first'",
                "snapshot: last read is marked true, expected 'last'",
            ]
        );
        let act = vec![
            read(1, "first_in_data_collection"),
            read(2, "maybe"),
            read(3, "last"),
            tail,
        ];
        assert_eq!(
            cmp(&exp, &act),
            vec!["snapshot: marker values [\"maybe\"] are not Debezium's"]
        );
        // 1 vs 1.0 are different rows in a snapshot (compared like Debezium's JSON text).
        let mut one_float = read(1, "last");
        one_float["value"]["after"]["id"] = json!(1.0);
        assert_eq!(cmp(&[read(1, "last")], &[one_float]).len(), 3);
    }

    #[test]
    fn broken_input_is_a_difference() {
        let ok = lines(&[change("dbz", "c", Value::Null, json!({"id": 1}), 1, 1)]);
        let errs = compare_texts(&ok, "{\"topic\":", &Options::default());
        assert_eq!(errs.len(), 1);
        assert!(errs[0].starts_with("actual:1: not JSON"), "{errs:?}");
        let errs = compare_texts(&ok, "\n[1]\n", &Options::default());
        assert_eq!(errs, vec!["actual:2: not a JSON object: [1]"]);
        let errs = compare_texts(
            &ok,
            "{\"topic\":\"dbz.public.t\",\"key\":{\"id\":1},\"value\":\"x\"}",
            &Options::default(),
        );
        assert_eq!(errs.len(), 1, "{errs:?}");
    }

    #[test]
    fn expected_files_match_themselves() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance/expected");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).expect("expected dir") {
            let path = entry.expect("dir entry").path();
            if path.extension().is_some_and(|e| e == "jsonl") {
                for tombstones in [false, true] {
                    let options = Options {
                        tombstones,
                        ..Options::default()
                    };
                    let errs = compare_files(&path, &path, &options);
                    assert!(errs.is_empty(), "{}: {errs:?}", path.display());
                }
                seen += 1;
            }
        }
        assert!(seen > 0);
    }

    #[test]
    fn flattened_records_are_compared_like_the_kit() {
        let volatile: Vec<String> = VOLATILE_ADDED.iter().map(|f| format!("__{f}")).collect();
        let rec = |topic: &str, id: i64, value: Value| json!({"topic": topic, "key": {"id": id}, "value": value});
        let expected = vec![
            rec(
                "cdc_t",
                1,
                json!({"id": 1, "__op": "c", "__source_ts_ms": 5, "__lsn": 9}),
            ),
            rec("cdc_t", 1, Value::Null),
        ];
        // Volatile added fields are left out; numbers by value.
        let same = vec![
            rec(
                "cdc_t",
                1,
                json!({"id": 1.0, "__op": "c", "__source_ts_ms": 7, "__lsn": 1}),
            ),
            rec("cdc_t", 1, Value::Null),
        ];
        assert!(is_flat(&expected[0]) && !is_flat(&expected[1]));
        assert_eq!(
            compare_flat(&expected, &same, &volatile),
            Vec::<String>::new()
        );
        // The topic in full, the key, other fields and tombstones (in order) are compared.
        let other = vec![
            rec("dbz.public.t", 2, json!({"id": 1, "__op": "u"})),
            rec("cdc_t", 1, json!({"id": 1})),
        ];
        let errs = compare_flat(&expected, &other, &volatile);
        assert_eq!(errs.len(), 4, "{errs:?}");
        let missing = compare_flat(&expected, &same[..1], &volatile);
        assert_eq!(missing, vec!["record count: expected 2, got 1"]);
        // Headers when the recording has them, without Debezium's own.
        let with_headers = |h: Value| {
            let mut r = rec("t", 1, json!({"id": 1}));
            r["headers"] = h;
            r
        };
        let e = [with_headers(
            json!({"__op": "c", "__lsn": 5, "__debezium.context.taskId": "0"}),
        )];
        assert!(compare_flat(
            &e,
            &[with_headers(json!({"__op": "c", "__lsn": 6}))],
            &volatile
        )
        .is_empty());
        assert_eq!(
            compare_flat(&e, &[with_headers(json!({"__op": "u"}))], &volatile).len(),
            1
        );
        assert_eq!(
            compare_flat(&e, &[rec("t", 1, json!({"id": 1}))], &volatile).len(),
            1
        );
        // With schemas: the schema exactly, the payload without volatile fields.
        let wrapped = |ts: i64, ty: &str| {
            rec(
                "t",
                1,
                json!({"schema": {"type": "struct", "fields": [{"field": "__source_ts_ms", "type": ty}]}, "payload": {"id": 1, "__source_ts_ms": ts}}),
            )
        };
        assert!(is_flat(&wrapped(1, "int64")));
        assert!(compare_flat(&[wrapped(1, "int64")], &[wrapped(2, "int64")], &volatile).is_empty());
        assert_eq!(
            compare_flat(&[wrapped(1, "int64")], &[wrapped(1, "string")], &volatile).len(),
            1
        );
    }

    #[test]
    fn routing_compares_topics_keys_and_tombstones() {
        let rec = |topic: &str, id: i64, value: Value| json!({"topic": topic, "key": {"id": id}, "value": value});
        let e = [rec("a", 1, json!({"op": "c"})), rec("a", 1, Value::Null)];
        assert!(compare_routing(&e, &e).is_empty());
        let a = [
            rec("b", 2, json!({"op": "c"})),
            rec("a", 1, json!({"op": "c"})),
        ];
        assert_eq!(compare_routing(&e, &a).len(), 3);
    }
}
