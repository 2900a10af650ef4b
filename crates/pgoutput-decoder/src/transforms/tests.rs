//! The transforms on records written by the real encoder, and their configuration errors.

use std::sync::Arc;

use bytes::Bytes;
use pgoutput::{ColumnData, Lsn, ReplicaIdentity, TupleData};

use super::*;
use crate::{
    event::{ChangeEvent, Event, EventKind, MessageEvent, Op, Row, Source},
    relation::{ColumnSchema, TableSchema},
    test_tables::{id_text_row, id_text_table},
    types::{ConvertOptions, TypeRegistry},
    JsonEncoder, RecordFormat,
};

fn table(name: &str) -> Arc<TableSchema> {
    id_text_table(name, "target", ReplicaIdentity::Full, "dbz")
}

fn row(id: &str, target: &str) -> Row {
    id_text_row(id, target)
}

fn source() -> Source {
    Source {
        lsn: Lsn(1000),
        tx_id: Some(77),
        commit_time_us: 1_700_000_000_123_456,
        last_commit_lsn: None,
        snapshot: "false",
    }
}

fn change(op: Op, before: Option<Row>, after: Option<Row>) -> Event {
    Event {
        kind: EventKind::Change(ChangeEvent {
            op,
            table: table("orders"),
            before,
            after,
            source: source(),
            transaction: None,
            ts_us: 1_700_000_000_200_000,
            pk_update_other_row: None,
        }),
        seq: 1,
    }
}

fn create() -> Event {
    change(Op::Create, None, Some(row("1", "audit")))
}

fn delete() -> Event {
    change(Op::Delete, Some(row("1", "billing")), None)
}

fn message() -> Event {
    Event {
        kind: EventKind::Message(MessageEvent {
            prefix: "p".into(),
            content: Bytes::from_static(b"hi"),
            transactional: false,
            source: source(),
            transaction: None,
            ts_us: 1_700_000_000_200_000,
        }),
        seq: 2,
    }
}

fn chain(text: &str) -> Transforms {
    let props: Vec<(String, String)> = crate::properties::parse_properties(text).unwrap();
    Transforms::from_properties(&props).unwrap()
}

fn error(text: &str) -> String {
    let props: Vec<(String, String)> = crate::properties::parse_properties(text).unwrap();
    Transforms::from_properties(&props).unwrap_err().to_string()
}

fn encoder(transforms: &str, tombstones: bool) -> JsonEncoder {
    JsonEncoder::with_options("dbz", "shop", ConvertOptions::default(), tombstones)
        .with_transforms(chain(transforms))
}

/// The envelope lines written for the events.
fn lines(enc: &JsonEncoder, events: &[Event], format: RecordFormat) -> Vec<String> {
    let mut out = Vec::new();
    let mut writer = enc.record_writer();
    for e in events {
        writer.write_record(e, format, &mut out).unwrap();
    }
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

const UNWRAP: &str = "transforms=unwrap\n\
    transforms.unwrap.type=io.debezium.transforms.ExtractNewRecordState\n";

#[test]
fn unwrap_flattens_and_adds_fields_in_order() {
    let enc = encoder(
        &format!(
            "{UNWRAP}transforms.unwrap.add.fields=op,table,lsn,source.ts_ms,source.db,txId,\
             transaction.id\ntransforms.unwrap.delete.tombstone.handling.mode=rewrite\n"
        ),
        true,
    );
    assert_eq!(
        lines(&enc, &[create(), delete()], RecordFormat::Envelope),
        [
            r#"{"topic":"dbz.public.orders","key":{"id":1},"value":{"id":1,"target":"audit","__deleted":"false","__op":"c","__table":"orders","__lsn":1000,"__source_ts_ms":1700000000123,"__source_db":"shop","__txId":77,"__transaction_id":null}}"#,
            // rewrite: the delete is its before row; the connector's tombstone is dropped.
            r#"{"topic":"dbz.public.orders","key":{"id":1},"value":{"id":1,"target":"billing","__deleted":"true","__op":"d","__table":"orders","__lsn":1000,"__source_ts_ms":1700000000123,"__source_db":"shop","__txId":77,"__transaction_id":null}}"#,
        ]
    );
    // Value format: the values only.
    assert_eq!(
        lines(&enc, &[create()], RecordFormat::Value),
        [
            r#"{"id":1,"target":"audit","__deleted":"false","__op":"c","__table":"orders","__lsn":1000,"__source_ts_ms":1700000000123,"__source_db":"shop","__txId":77,"__transaction_id":null}"#
        ]
    );
}

#[test]
fn unwrap_delete_modes() {
    let tomb = r#"{"topic":"dbz.public.orders","key":{"id":1},"value":null}"#;
    let rewritten = r#"{"topic":"dbz.public.orders","key":{"id":1},"value":{"id":1,"target":"billing","__deleted":"true"}}"#;
    for (mode, tombstones, expected) in [
        ("", true, vec![tomb]),
        ("tombstone", false, vec![tomb]),
        ("delete-to-tombstone", true, vec![tomb]),
        ("drop", true, vec![]),
        ("rewrite", true, vec![rewritten]),
        ("rewrite-with-tombstone", true, vec![rewritten, tomb]),
        ("rewrite-with-tombstone", false, vec![rewritten]),
    ] {
        let mode_line = if mode.is_empty() {
            String::new()
        } else {
            format!("transforms.unwrap.delete.tombstone.handling.mode={mode}\n")
        };
        let enc = encoder(&format!("{UNWRAP}{mode_line}"), tombstones);
        assert_eq!(
            lines(&enc, &[delete()], RecordFormat::Envelope),
            expected,
            "mode {mode:?}, tombstones.on.delete={tombstones}"
        );
        // Value format never shows tombstones.
        assert!(lines(&enc, &[delete()], RecordFormat::Value)
            .iter()
            .all(|l| l != "null"));
    }
}

#[test]
fn unwrap_passes_messages_and_drops_truncates() {
    let enc = encoder(UNWRAP, true);
    let plain = JsonEncoder::with_options("dbz", "shop", ConvertOptions::default(), true);
    assert_eq!(
        lines(&enc, &[message()], RecordFormat::Envelope),
        lines(&plain, &[message()], RecordFormat::Envelope)
    );
    let truncate = change(Op::Truncate, None, None);
    assert!(lines(&enc, &[truncate], RecordFormat::Envelope).is_empty());
}

#[test]
fn unwrap_with_schemas_and_header_schemas() {
    let enc = JsonEncoder::with_options("dbz", "shop", ConvertOptions::default(), true)
        .with_schemas(true, true)
        .with_transforms(chain(&format!(
            "{UNWRAP}transforms.unwrap.add.fields=op,lsn\ntransforms.unwrap.add.headers=op\n\
             transforms.unwrap.delete.tombstone.handling.mode=rewrite\n"
        )));
    let line = &lines(&enc, &[create()], RecordFormat::Envelope)[0];
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(
        v["value"]["payload"],
        serde_json::json!({"id": 1, "target": "audit", "__deleted": "false", "__op": "c", "__lsn": 1000})
    );
    let schema = &v["value"]["schema"];
    assert_eq!(schema["name"], "dbz.public.orders.Value");
    assert_eq!(schema["optional"], false);
    assert!(schema.get("field").is_none());
    let fields: Vec<(String, String, bool)> = schema["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["field"].as_str().unwrap().into(),
                f["type"].as_str().unwrap().into(),
                f["optional"].as_bool().unwrap(),
            )
        })
        .collect();
    let expect = |n: &str, t: &str, o: bool| (n.to_string(), t.to_string(), o);
    assert_eq!(
        fields,
        [
            // The test table declares no NOT NULL.
            expect("id", "int32", true),
            expect("target", "string", true),
            expect("__deleted", "string", true),
            expect("__op", "string", true),
            expect("__lsn", "int64", true),
        ]
    );
    // Headers with their schema by default (Kafka's JsonConverter).
    assert_eq!(
        v["headers"],
        serde_json::json!({"__op": {"schema": {"type": "string", "optional": true}, "payload": "c"}})
    );
    // The key keeps its schema.
    assert_eq!(v["key"]["payload"], serde_json::json!({"id": 1}));
}

#[test]
fn unwrap_headers_and_route_by_field() {
    let enc = encoder(
        &format!(
            "header.converter.schemas.enable=false\n{UNWRAP}transforms.unwrap.add.headers=op,source.table\n\
             transforms.unwrap.add.headers.prefix=h_\n\
             transforms.unwrap.route.by.field=target\n"
        ),
        true,
    );
    assert_eq!(
        lines(&enc, &[create(), delete()], RecordFormat::Envelope),
        [
            r#"{"topic":"audit","key":{"id":1},"value":{"id":1,"target":"audit"},"headers":{"h_op":"c","h_source_table":"orders"}}"#,
            // The delete becomes a tombstone routed by its before row.
            r#"{"topic":"billing","key":{"id":1},"value":null,"headers":{"h_op":"d","h_source_table":"orders"}}"#,
        ]
    );
}

#[test]
fn routers_and_predicates() {
    let regex = "transforms=route\n\
        transforms.route.type=org.apache.kafka.connect.transforms.RegexRouter\n\
        transforms.route.regex=dbz\\\\.public\\\\.(.*)\n\
        transforms.route.replacement=cdc_$1\n";
    let enc = encoder(regex, true);
    let out = lines(&enc, &[create(), delete()], RecordFormat::Envelope);
    assert_eq!(out.len(), 3);
    assert!(out
        .iter()
        .all(|l| l.starts_with(r#"{"topic":"cdc_orders","key":{"id":1}"#)));
    // Messages go to dbz.message, which the pattern does not match.
    assert!(lines(&enc, &[message()], RecordFormat::Envelope)[0]
        .starts_with(r#"{"topic":"dbz.message""#));

    let logical = "transforms=route\n\
        transforms.route.type=io.debezium.transforms.ByLogicalTableRouter\n\
        transforms.route.topic.regex=dbz\\\\.public\\\\.(.*)\n\
        transforms.route.topic.replacement=dbz.all\n";
    let out = lines(&encoder(logical, true), &[delete()], RecordFormat::Envelope);
    assert_eq!(out.len(), 2);
    for line in &out {
        assert!(
            line.starts_with(r#"{"topic":"dbz.all","key":{"id":1,"__dbz__physicalTableIdentifier":"dbz.public.orders"}"#),
            "{line}"
        );
    }
    let keyed = format!(
        "{logical}transforms.route.key.field.name=shard\n\
         transforms.route.key.field.regex=dbz\\\\.public\\\\.(.*)\n\
         transforms.route.key.field.replacement=$1\n"
    );
    assert!(
        lines(&encoder(&keyed, true), &[create()], RecordFormat::Envelope)[0]
            .starts_with(r#"{"topic":"dbz.all","key":{"id":1,"shard":"orders"}"#)
    );
    let plain = format!("{logical}transforms.route.key.enforce.uniqueness=false\n");
    assert!(
        lines(&encoder(&plain, true), &[create()], RecordFormat::Envelope)[0]
            .starts_with(r#"{"topic":"dbz.all","key":{"id":1},"value":{"before":null"#)
    );

    // The predicate gates the transform; negate inverts it.
    let gated = |negate: bool, ty: &str, option: &str| {
        format!(
            "{UNWRAP}transforms.unwrap.predicate=p\ntransforms.unwrap.negate={negate}\n\
             predicates=p\npredicates.p.type=org.apache.kafka.connect.transforms.predicates.{ty}\n\
             {option}"
        )
    };
    let topic_is = |negate| {
        gated(
            negate,
            "TopicNameMatches",
            "predicates.p.pattern=dbz\\\\.public\\\\.orders\n",
        )
    };
    let flat = r#"{"topic":"dbz.public.orders","key":{"id":1},"value":{"id":1,"target":"audit"}}"#;
    assert_eq!(
        lines(
            &encoder(&topic_is(false), true),
            &[create()],
            RecordFormat::Envelope
        ),
        [flat]
    );
    assert_ne!(
        lines(
            &encoder(&topic_is(true), true),
            &[create()],
            RecordFormat::Envelope
        ),
        [flat]
    );
    // A tombstone-only unwrap: the delete stays a full envelope, its tombstone is dropped.
    let tombstones = gated(false, "RecordIsTombstone", "");
    let out = lines(
        &encoder(&tombstones, true),
        &[delete()],
        RecordFormat::Envelope,
    );
    assert_eq!(out.len(), 1);
    assert!(out[0].contains(r#""op":"d""#));
    let header = gated(false, "HasHeaderKey", "predicates.p.name=x\n");
    assert_eq!(
        lines(&encoder(&header, true), &[create()], RecordFormat::Envelope),
        lines(
            &JsonEncoder::with_options("dbz", "shop", ConvertOptions::default(), true),
            &[create()],
            RecordFormat::Envelope
        )
    );
}

#[test]
fn configuration_errors_name_the_key() {
    for (text, expected) in [
        ("transforms=a\n", "transforms.a.type is required"),
        (
            "transforms=a\ntransforms.a.type=org.apache.kafka.connect.transforms.ReplaceField$Value\n",
            "transforms.a.type=org.apache.kafka.connect.transforms.ReplaceField$Value is not supported; supported: io.debezium.transforms.ExtractNewRecordState, org.apache.kafka.connect.transforms.RegexRouter, io.debezium.transforms.ByLogicalTableRouter, org.apache.kafka.connect.transforms.InsertHeader",
        ),
        (
            &format!("{UNWRAP}transforms.unwrap.add.feilds=op\n"),
            "transforms.unwrap.add.feilds is not a supported option; supported: transforms.unwrap.type",
        ),
        (
            &format!("{UNWRAP}transforms.unwrap.delete.tombstone.handling.mode=keep\n"),
            "transforms.unwrap.delete.tombstone.handling.mode=keep: expected tombstone, drop",
        ),
        (
            &format!("{UNWRAP}transforms.unwrap.add.fields=op,nope\n"),
            "transforms.unwrap.add.fields: no field \"nope\"",
        ),
        (
            &format!("{UNWRAP}transforms.unwrap.drop.tombstones=true\n"),
            "transforms.unwrap.drop.tombstones is not supported: it was removed in Debezium 3",
        ),
        (
            &format!("{UNWRAP}transforms.unwrap.drop.fields.from.key=true\n"),
            "only apply with transforms.unwrap.drop.fields.header.name",
        ),
        (
            "transforms=h\ntransforms.h.type=org.apache.kafka.connect.transforms.InsertHeader\n\
             transforms.h.header=x\ntransforms.h.value.literal=5\n",
            "transforms.h.value.literal=5: with header.converter.schemas.enable=true only a string",
        ),
        (
            "transforms=r\ntransforms.r.type=org.apache.kafka.connect.transforms.RegexRouter\ntransforms.r.regex=a\n",
            "transforms.r.replacement is required",
        ),
        (
            "transforms=r\ntransforms.r.type=org.apache.kafka.connect.transforms.RegexRouter\ntransforms.r.regex=(?<=a)b\ntransforms.r.replacement=x\n",
            "transforms.r.regex: not a supported regular expression",
        ),
        (
            "transforms=r\ntransforms.r.type=org.apache.kafka.connect.transforms.RegexRouter\ntransforms.r.regex=(a)\ntransforms.r.replacement=$2\n",
            "transforms.r.replacement=\"$2\": no group 2",
        ),
        (
            "transforms=r\ntransforms.r.type=io.debezium.transforms.ByLogicalTableRouter\ntransforms.r.topic.regex=a\ntransforms.r.topic.replacement=b\ntransforms.r.key.field.regex=a\n",
            "transforms.r.key.field.replacement is required when transforms.r.key.field.regex is set",
        ),
        (
            &format!("{UNWRAP}transforms.other.type=x\n"),
            "transforms.other.type: its alias is not listed in transforms=unwrap",
        ),
        (
            &format!("{UNWRAP}transforms.unwrap.negate=true\n"),
            "transforms.unwrap.negate is set without transforms.unwrap.predicate",
        ),
        (
            &format!("{UNWRAP}transforms.unwrap.predicate=p\n"),
            "transforms.unwrap.predicate=p: no such predicate",
        ),
        (
            "predicates=p\npredicates.p.type=org.apache.kafka.connect.transforms.predicates.TopicNameMatches\n",
            "predicates.p.pattern is required",
        ),
        (
            "predicates=p\npredicates.p.type=Nope\n",
            "predicates.p.type=Nope is not supported; supported: org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
        ),
        (
            "predicates=p\npredicates.p.type=org.apache.kafka.connect.transforms.predicates.RecordIsTombstone\npredicates.p.pattern=x\n",
            "predicates.p.pattern is not a supported option; supported: predicates.p.type",
        ),
    ] {
        let e = error(text);
        assert!(e.contains(expected), "{text}\n=> {e}\n(expected {expected:?})");
    }
}

#[test]
fn properties_load_the_chain_and_schemas_are_checked() {
    let props = |text: &str| crate::properties::parse_properties(text).unwrap();
    let loaded =
        crate::properties::config_from_properties(&props(&format!("topic.prefix=x\n{UNWRAP}")))
            .unwrap();
    assert!(!loaded.config.transforms.is_empty());
    assert!(loaded.notes.is_empty(), "{:?}", loaded.notes);
    // ByLogicalTableRouter changes the key schema and the schema names: refused with schemas.
    let e = crate::properties::config_from_properties(&props(
        "topic.prefix=x\nkey.converter.schemas.enable=true\ntransforms=r\n\
         transforms.r.type=io.debezium.transforms.ByLogicalTableRouter\n\
         transforms.r.topic.regex=x\ntransforms.r.topic.replacement=y\n",
    ))
    .unwrap_err();
    assert!(
        e.to_string().contains(
            "ByLogicalTableRouter with schemas (--schemas, key/value.converter.schemas.enable=true) is not supported yet"
        ),
        "{e}"
    );
    // ExtractNewRecordState with schemas: the value's schema is the row's.
    crate::properties::config_from_properties(&props(&format!(
        "topic.prefix=x\nvalue.converter.schemas.enable=true\n{UNWRAP}"
    )))
    .unwrap();
    // RegexRouter only changes the topic: fine with schemas.
    crate::properties::config_from_properties(&props(
        "topic.prefix=x\nvalue.converter.schemas.enable=true\ntransforms=r\n\
         transforms.r.type=org.apache.kafka.connect.transforms.RegexRouter\n\
         transforms.r.regex=x\\\\.(.*)\ntransforms.r.replacement=$1\n",
    ))
    .unwrap();
}

/// A table whose `target` column is NOT NULL: `keep.schema.compatible` keeps it.
fn strict_table() -> Arc<TableSchema> {
    let registry = TypeRegistry::new();
    let columns = [("id", 23, true), ("target", 25, true), ("note", 25, false)]
        .iter()
        .map(|&(n, oid, not_null)| {
            let mut c = ColumnSchema::new(n, registry.resolve(oid, -1), oid, -1);
            c.not_null = not_null;
            c
        })
        .collect();
    Arc::new(TableSchema::new(
        16384,
        "public".into(),
        "orders".into(),
        columns,
        &["id".into()],
        ReplicaIdentity::Full,
        "dbz",
    ))
}

#[test]
fn insert_header_and_drop_fields_from_header() {
    let event = Event {
        kind: EventKind::Change(ChangeEvent {
            op: Op::Create,
            table: strict_table(),
            before: None,
            after: Some(Row::new(TupleData::from_columns([
                ColumnData::Text(b"1"),
                ColumnData::Text(b"t"),
                ColumnData::Text(b"n"),
            ]))),
            source: source(),
            transaction: None,
            ts_us: 1,
            pk_update_other_row: None,
        }),
        seq: 1,
    };
    let config = |extra: &str| {
        format!(
            "header.converter.schemas.enable=false\ntransforms=hdr,unwrap\n\
             transforms.hdr.type=org.apache.kafka.connect.transforms.InsertHeader\n\
             transforms.hdr.header=drop_me\n\
             transforms.hdr.value.literal=[\"note\",\"target\",\"id\"]\n\
             transforms.unwrap.type=io.debezium.transforms.ExtractNewRecordState\n\
             transforms.unwrap.drop.fields.header.name=drop_me\n{extra}"
        )
    };
    let header = r#""headers":{"drop_me":["note","target","id"]}"#;
    // Schema compatible (the default): only the nullable column goes.
    assert_eq!(
        lines(
            &encoder(&config(""), true),
            std::slice::from_ref(&event),
            RecordFormat::Envelope
        ),
        [format!(
            r#"{{"topic":"dbz.public.orders","key":{{"id":1}},"value":{{"id":1,"target":"t"}},{header}}}"#
        )]
    );
    // Not compatible, from the key too: all three go.
    let all = config(
        "transforms.unwrap.drop.fields.keep.schema.compatible=false\n\
         transforms.unwrap.drop.fields.from.key=true\n",
    );
    assert_eq!(
        lines(
            &encoder(&all, true),
            std::slice::from_ref(&event),
            RecordFormat::Envelope
        ),
        [format!(
            r#"{{"topic":"dbz.public.orders","key":{{}},"value":{{}},{header}}}"#
        )]
    );
    // With schemas: the value's schema loses the dropped field too.
    let enc = JsonEncoder::with_options("dbz", "shop", ConvertOptions::default(), true)
        .with_schemas(false, true)
        .with_transforms(chain(&config("")));
    let line = &lines(&enc, std::slice::from_ref(&event), RecordFormat::Envelope)[0];
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    let names: Vec<&str> = v["value"]["schema"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["id", "target"]);
    assert_eq!(
        v["value"]["payload"],
        serde_json::json!({"id": 1, "target": "t"})
    );
    // With header schemas, the literal list gets an array schema.
    let with_schema = chain(
        "transforms=h\ntransforms.h.type=org.apache.kafka.connect.transforms.InsertHeader\n\
         transforms.h.header=x\ntransforms.h.value.literal=[a,b]\n",
    );
    let r = with_schema
        .apply(Record {
            topic: "t".into(),
            key: None,
            value: None,
            headers: vec![],
            value_schema: None,
        })
        .unwrap();
    // `[a,b]` is not JSON: a string, as Kafka's Values.parseString keeps it.
    assert_eq!(
        r.headers,
        [(
            "x".to_string(),
            r#"{"schema":{"type":"string","optional":false},"payload":"[a,b]"}"#.to_string()
        )]
    );
}
