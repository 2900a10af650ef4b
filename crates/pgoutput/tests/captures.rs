//! Decodes the real pgoutput bytes in tests/captures/ and checks field values.
//!
//! LSNs, xids and timestamps change whenever the fixtures are regenerated, so they are checked
//! against the slot function's `lsn`/`xid` columns and against each other rather than
//! hard-coded; names, values, flags and message order are asserted exactly.

mod common;

use std::collections::HashMap;

use bytes::Bytes;
use common::{decode_fixture, frames, messages, rows, tags, Row, FIXTURES};
use pgoutput::replication::{parse_copy_data, ReplicationMessage};
use pgoutput::{
    decode_message, pg_to_unix_micros, unix_to_pg_micros, ColumnData, DecodeError, Decoder, Lsn,
    Message, OldTupleKind, ReplicaIdentity, TupleData,
};

macro_rules! expect {
    ($msg:expr, $variant:ident) => {
        match $msg {
            Message::$variant(inner) => inner,
            other => panic!("expected {}, got {:?}", stringify!($variant), other),
        }
    };
}

/// Text columns as `Some(str)`, NULL as `None`; anything else fails the test.
fn texts(tuple: &TupleData) -> Vec<Option<&str>> {
    tuple
        .iter()
        .map(|c| match c {
            ColumnData::Null => None,
            ColumnData::Text(_) => Some(c.as_text().expect("UTF-8 text")),
            other => panic!("expected text or null, got {other:?}"),
        })
        .collect()
}

/// Between 2020 and 2100: catches byte-order and epoch mistakes in timestamp fields.
fn assert_plausible_time(pg_micros: i64) {
    let unix = pg_to_unix_micros(pg_micros);
    assert!(
        (1_577_836_800_000_000..4_102_444_800_000_000).contains(&unix),
        "{pg_micros}"
    );
}

/// Checks Begin/Commit pairs and the xid placement rules over a decoded fixture.
fn check_transactions(name: &str, decoded: &[(Row, Message, bool)]) {
    let mut open: Option<pgoutput::Begin> = None;
    for (row, message, in_stream) in decoded {
        match message {
            Message::Begin(begin) => {
                assert!(open.is_none(), "{name}: nested Begin");
                assert_eq!(begin.xid, row.xid, "{name}");
                assert_plausible_time(begin.commit_time);
                open = Some(begin.clone());
            }
            Message::Commit(commit) => {
                let begin = open.take().expect("Commit without Begin");
                assert_eq!(commit.flags, 0);
                assert_eq!(commit.commit_lsn, begin.final_lsn, "{name}");
                assert_eq!(commit.commit_time, begin.commit_time, "{name}");
                assert_eq!(commit.end_lsn, row.lsn, "{name}");
                assert!(commit.end_lsn > commit.commit_lsn, "{name}");
            }
            Message::StreamCommit(commit) => {
                assert_eq!(commit.xid, row.xid, "{name}");
                assert_eq!(commit.flags, 0);
                assert_eq!(commit.end_lsn, row.lsn, "{name}");
                assert!(commit.end_lsn > commit.commit_lsn, "{name}");
                assert_plausible_time(commit.commit_time);
            }
            _ => {}
        }
        // Data messages carry an xid exactly when inside a stream block.
        if matches!(
            message.tag(),
            b'R' | b'Y' | b'I' | b'U' | b'D' | b'T' | b'M'
        ) {
            assert_eq!(message.xid().is_some(), *in_stream, "{name}: {message:?}");
        }
    }
    assert!(open.is_none(), "{name}: unterminated transaction");
}

#[test]
fn every_fixture_decodes_consistently() {
    for &(name, proto) in FIXTURES {
        let decoded = decode_fixture(name, proto);
        check_transactions(name, &decoded);
        for (row, message, _) in &decoded {
            assert_eq!(message.tag(), row.data[0], "{name}");
        }
    }
}

#[test]
fn dml_default_identity() {
    let decoded = decode_fixture("dml_v1", 1);
    let m: Vec<Message> = decoded.iter().map(|(_, m, _)| m.clone()).collect();
    assert_eq!(tags(&m), "BRICBICBUUDC");

    let rel = expect!(&m[1], Relation);
    assert_eq!(rel.xid, None);
    assert_eq!(rel.namespace, "public");
    assert_eq!(rel.name, "users");
    assert_eq!(rel.replica_identity, ReplicaIdentity::Default);
    let names: Vec<&str> = rel.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["id", "name", "email", "score", "active"]);
    let oids: Vec<u32> = rel.columns.iter().map(|c| c.type_oid).collect();
    assert_eq!(oids, [23, 25, 25, 1700, 16]); // int4, text, text, numeric, bool
    let typmods: Vec<i32> = rel.columns.iter().map(|c| c.type_modifier).collect();
    assert_eq!(typmods, [-1, -1, -1, (6 << 16 | 2) + 4, -1]); // numeric(6,2)
    let keys: Vec<bool> = rel.columns.iter().map(|c| c.is_key()).collect();
    assert_eq!(keys, [true, false, false, false, false]);
    assert_eq!(rel.key_columns().map(|(i, _)| i).collect::<Vec<_>>(), [0]);

    let ins = expect!(&m[2], Insert);
    assert_eq!(ins.relation_id, rel.id);
    assert_eq!(
        texts(&ins.new),
        [
            Some("1"),
            Some("alice"),
            Some("alice@example.com"),
            Some("12.50"),
            Some("t")
        ]
    );

    let ins = expect!(&m[5], Insert);
    assert_eq!(
        texts(&ins.new),
        [Some("2"), Some("zoë ☃"), None, None, None]
    );

    let upd = expect!(&m[8], Update);
    assert_eq!(upd.relation_id, rel.id);
    assert_eq!(
        upd.old, None,
        "non-key update under DEFAULT sends no old tuple"
    );
    assert_eq!(
        texts(&upd.new),
        [
            Some("2"),
            Some("zoë ☃"),
            Some("zoe@example.com"),
            None,
            None
        ]
    );

    let upd = expect!(&m[9], Update);
    let old = upd
        .old
        .as_ref()
        .expect("primary key change sends the old key");
    assert_eq!(old.kind, OldTupleKind::Key);
    assert_eq!(texts(&old.tuple), [Some("2"), None, None, None, None]);
    assert_eq!(
        texts(&upd.new),
        [
            Some("3"),
            Some("zoë ☃"),
            Some("zoe@example.com"),
            None,
            None
        ]
    );

    let del = expect!(&m[10], Delete);
    assert_eq!(del.relation_id, rel.id);
    assert_eq!(del.old.kind, OldTupleKind::Key);
    assert_eq!(texts(&del.old.tuple), [Some("1"), None, None, None, None]);

    // The three updates/deletes were one transaction.
    let begin = expect!(&m[7], Begin);
    let commit = expect!(&m[11], Commit);
    assert_eq!(begin.final_lsn, commit.commit_lsn);
    assert!(decoded[7].0.xid > decoded[4].0.xid);
}

#[test]
fn replica_identity_full_index_nothing() {
    let m = messages("replica_identity_v1", 1);
    assert_eq!(tags(&m), "BRICBUCBDCBRICBUCBUCBDCBRIC");

    let full = expect!(&m[1], Relation);
    assert_eq!(full.name, "full_t");
    assert_eq!(full.replica_identity, ReplicaIdentity::Full);
    assert!(
        full.columns.iter().all(|c| c.is_key()),
        "FULL marks every column as key"
    );
    let upd = expect!(&m[5], Update);
    let old = upd.old.as_ref().expect("FULL always sends the old row");
    assert_eq!(old.kind, OldTupleKind::Old);
    assert_eq!(texts(&old.tuple), [Some("1"), Some("a")]);
    assert_eq!(texts(&upd.new), [Some("1"), Some("b")]);
    let del = expect!(&m[8], Delete);
    assert_eq!(del.old.kind, OldTupleKind::Old);
    assert_eq!(texts(&del.old.tuple), [Some("1"), Some("b")]);

    let idx = expect!(&m[11], Relation);
    assert_eq!(idx.name, "idx_t");
    assert_eq!(idx.replica_identity, ReplicaIdentity::Index);
    let keys: Vec<&str> = idx.key_columns().map(|(_, c)| c.name.as_str()).collect();
    assert_eq!(keys, ["code"]);
    assert_eq!(expect!(&m[15], Update).old, None);
    let upd = expect!(&m[18], Update);
    let old = upd
        .old
        .as_ref()
        .expect("index key change sends the old key");
    assert_eq!(old.kind, OldTupleKind::Key);
    assert_eq!(texts(&old.tuple), [None, Some("x"), None]);
    assert_eq!(texts(&upd.new), [Some("1"), Some("y"), Some("b")]);
    let del = expect!(&m[21], Delete);
    assert_eq!(del.relation_id, idx.id);
    assert_eq!(del.old.kind, OldTupleKind::Key);
    assert_eq!(texts(&del.old.tuple), [None, Some("y"), None]);

    let nothing = expect!(&m[24], Relation);
    assert_eq!(nothing.name, "nothing_t");
    assert_eq!(nothing.replica_identity, ReplicaIdentity::Nothing);
    assert_eq!(nothing.key_columns().count(), 0);
    assert_eq!(texts(&expect!(&m[25], Insert).new), [Some("1"), Some("a")]);
}

#[test]
fn schema_quoted_names_and_types() {
    let m = messages("schema_types_v1", 1);
    assert_eq!(tags(&m), "BYYYRIC");
    let rel = expect!(&m[4], Relation);
    assert_eq!(rel.namespace, "Sales Data");
    assert_eq!(rel.name, "Order Items");
    let cols: Vec<(&str, i32)> = rel
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.type_modifier))
        .collect();
    assert_eq!(
        cols,
        [
            ("Item ID", -1),
            ("Mood", -1),
            ("qty", -1),
            ("pos", -1),
            ("tags", -1),
            ("price", (10 << 16 | 2) + 4), // numeric(10,2)
            ("note", 20 + 4),              // varchar(20)
        ]
    );
    assert_eq!(rel.columns[4].type_oid, 1009); // text[]
    assert_eq!(rel.columns[6].type_oid, 1043); // varchar

    // Type messages precede the relation, one per non-built-in column type.
    let mood = expect!(&m[1], Type);
    assert_eq!(
        (mood.namespace.as_str(), mood.name.as_str()),
        ("Sales Data", "mood")
    );
    assert_eq!(mood.id, rel.columns[1].type_oid);
    // A domain is described by its base type; pg_catalog is sent as an empty namespace.
    let domain = expect!(&m[2], Type);
    assert_eq!(
        (domain.namespace.as_str(), domain.name.as_str()),
        ("", "int4")
    );
    assert_eq!(domain.id, rel.columns[2].type_oid);
    let composite = expect!(&m[3], Type);
    assert_eq!(
        (composite.namespace.as_str(), composite.name.as_str()),
        ("public", "point3")
    );
    assert_eq!(composite.id, rel.columns[3].type_oid);
    assert_eq!(mood.xid, None);

    let ins = expect!(&m[5], Insert);
    assert_eq!(
        texts(&ins.new),
        [
            Some("7"),
            Some("happy"),
            Some("3"),
            Some("(1.5,-2,0)"),
            Some(r#"{a,"b c"}"#),
            Some("1234.50"),
            Some("fragile")
        ]
    );
}

#[test]
fn truncate_options_and_relations() {
    let m = messages("truncate_v1", 1);
    assert_eq!(tags(&m), "BRRTCBRRTCBRTCBRRTC");
    let mut names = HashMap::new();
    let mut truncates = Vec::new();
    for message in &m {
        match message {
            Message::Relation(r) => {
                names.insert(r.id, r.name.to_string());
            }
            Message::Truncate(t) => {
                let rels: Vec<String> = t.relation_ids.iter().map(|id| names[id].clone()).collect();
                truncates.push((rels, t.cascade(), t.restart_identity(), t.options.0));
            }
            _ => {}
        }
    }
    assert_eq!(
        truncates,
        [
            (vec!["other".to_string(), "child".into()], false, false, 0),
            (vec!["parent".into(), "child".into()], true, false, 1),
            (vec!["other".into()], false, true, 2),
            (vec!["parent".into(), "child".into()], true, true, 3),
        ]
    );
}

#[test]
fn logical_messages() {
    let decoded = decode_fixture("messages_v1", 1);
    let m: Vec<Message> = decoded.iter().map(|(_, m, _)| m.clone()).collect();
    assert_eq!(tags(&m), "MBMRICBMC");

    let nontx = expect!(&m[0], LogicalMessage);
    assert!(!nontx.transactional);
    assert_eq!(nontx.flags, 0);
    assert_eq!(nontx.prefix, "nontx-prefix");
    assert_eq!(nontx.content, "hello, non-transactional");
    assert_eq!(nontx.lsn, decoded[0].0.lsn);
    assert_eq!(
        decoded[0].0.xid, 0,
        "non-transactional messages have no transaction"
    );

    let tx = expect!(&m[2], LogicalMessage);
    assert!(tx.transactional);
    assert_eq!(tx.flags, 1);
    assert_eq!(tx.xid, None);
    assert_eq!(tx.prefix, "tx-prefix");
    assert_eq!(tx.content, "inside a transaction");
    assert_eq!(tx.lsn, decoded[2].0.lsn);

    let bin = expect!(&m[7], LogicalMessage);
    assert!(bin.transactional);
    assert_eq!(bin.prefix, "bin");
    assert_eq!(bin.content, Bytes::from_static(&[0x00, 0xff, 0x10]));
}

#[test]
fn unchanged_toast_and_zero_copy() {
    let decoded = decode_fixture("toast_v1", 1);
    let m: Vec<Message> = decoded.iter().map(|(_, m, _)| m.clone()).collect();
    assert_eq!(tags(&m), "BRICBUC");
    let ins = expect!(&m[2], Insert);
    let body = ins.new.get(2).unwrap().value().expect("inserted body");
    assert_eq!(body.len(), 3000);
    assert!(body.iter().all(|&b| b == b'x'));
    // The value is a slice of the captured buffer, not a copy.
    let input = decoded[2].0.data.as_ptr_range();
    assert!(input.contains(&body.as_ptr()));
    let rel = expect!(&m[1], Relation);
    assert!(decoded[1]
        .0
        .data
        .as_ptr_range()
        .contains(&rel.name.as_bytes().as_ptr()));

    let upd = expect!(&m[5], Update);
    assert_eq!(upd.old, None);
    assert_eq!(upd.new.len(), 3);
    assert_eq!(upd.new.get(0).unwrap().as_text(), Some("1"));
    assert_eq!(upd.new.get(1).unwrap().as_text(), Some("renamed"));
    assert_eq!(upd.new.get(2).unwrap(), ColumnData::UnchangedToast);
    assert!(upd.new.get(2).unwrap().is_unchanged_toast());
    assert_eq!(upd.new.get(2).unwrap().kind(), b'u');
}

#[test]
fn binary_tuples() {
    let m = messages("binary_v1", 1);
    assert_eq!(tags(&m), "BRICBUC");
    let rel = expect!(&m[1], Relation);
    let oids: Vec<u32> = rel.columns.iter().map(|c| c.type_oid).collect();
    assert_eq!(oids, [23, 20, 16, 25, 1184, 17, 25]);
    let bin = ColumnData::Binary;
    // 2024-01-02 03:04:05.678901 UTC as a timestamptz: PG-epoch microseconds.
    let ts = unix_to_pg_micros(1_704_164_645_678_901).to_be_bytes();
    let (one, big) = (1i32.to_be_bytes(), 9_007_199_254_740_993i64.to_be_bytes());
    let expected = vec![
        bin(&one),
        bin(&big),
        bin(&[1]),
        bin("héllo".as_bytes()),
        bin(&ts),
        bin(&[0xde, 0xad, 0xbe, 0xef]),
        ColumnData::Null,
    ];
    assert_eq!(
        expect!(&m[2], Insert).new.iter().collect::<Vec<_>>(),
        expected
    );
    let upd = expect!(&m[5], Update);
    assert_eq!(upd.new.get(2).unwrap(), bin(&[0]));
    assert_eq!(upd.new.get(6).unwrap(), ColumnData::Null);
}

#[test]
fn origin() {
    let m = messages("origin_v1", 1);
    assert_eq!(tags(&m), "BORIC");
    let origin = expect!(&m[1], Origin);
    assert_eq!(origin.name, "upstream-a");
    assert_eq!(origin.commit_lsn, "0/DEADBEEF".parse::<Lsn>().unwrap());
    // pg_replication_origin_xact_setup also sets the commit timestamp.
    let jan_1_2024 = unix_to_pg_micros(1_704_067_200_000_000);
    assert_eq!(expect!(&m[0], Begin).commit_time, jan_1_2024);
    assert_eq!(expect!(&m[4], Commit).commit_time, jan_1_2024);
}

#[test]
fn streamed_transactions() {
    let decoded = decode_fixture("stream_v2", 2);
    let m: Vec<Message> = decoded.iter().map(|(_, m, _)| m.clone()).collect();

    // Run-length form of the tag sequence, e.g. "S M Y R I*481 E".
    let mut runs: Vec<String> = Vec::new();
    let mut iter = tags(&m).into_bytes().into_iter().peekable();
    while let Some(tag) = iter.next() {
        let mut count = 1;
        while iter.peek() == Some(&tag) {
            iter.next();
            count += 1;
        }
        runs.push(if count > 1 {
            format!("{}*", tag as char)
        } else {
            (tag as char).to_string()
        });
    }
    assert_eq!(
        runs.join(" "),
        // committed: two blocks; aborted: one block; subtransaction abort: two blocks
        "S M Y R I* E S I* U D R T E c S Y R E A S Y R I E A S Y R I E c"
    );

    let top = decoded[0].0.xid;
    let start = expect!(&m[0], StreamStart);
    assert_eq!(start.xid, top);
    assert!(start.first_segment);

    let msg = expect!(&m[1], LogicalMessage);
    assert_eq!(msg.xid, Some(top));
    assert!(msg.transactional);
    assert_eq!(msg.prefix, "stream-msg");
    assert_eq!(msg.content, "emitted inside a streamed transaction");
    assert_eq!(expect!(&m[2], Type).name, "mood");
    assert_eq!(expect!(&m[2], Type).xid, Some(top));
    let big = expect!(&m[3], Relation);
    assert_eq!((big.name.as_str(), big.xid), ("big", Some(top)));

    let first_block_end = m
        .iter()
        .position(|x| matches!(x, Message::StreamStop))
        .unwrap();
    let second_start = expect!(&m[first_block_end + 1], StreamStart);
    assert_eq!(second_start.xid, top);
    assert!(!second_start.first_segment);

    let inserts: Vec<&pgoutput::Insert> = decoded
        .iter()
        .filter(|(row, _, _)| row.xid == top)
        .filter_map(|(_, m, _)| match m {
            Message::Insert(i) => Some(i),
            _ => None,
        })
        .collect();
    assert_eq!(inserts.len(), 600);
    for (i, insert) in inserts.iter().enumerate() {
        assert_eq!(insert.xid, Some(top));
        assert_eq!(insert.relation_id, big.id);
        assert_eq!(
            texts(&insert.new),
            [Some((i + 1).to_string().as_str()), Some("ok")]
        );
    }
    let upd = m.iter().find_map(|x| match x {
        Message::Update(u) => Some(u),
        _ => None,
    });
    let upd = upd.expect("update in stream");
    assert_eq!((upd.xid, upd.old.as_ref()), (Some(top), None));
    assert_eq!(texts(&upd.new), [Some("1"), Some("happy")]);
    let del = m.iter().find_map(|x| match x {
        Message::Delete(d) => Some(d),
        _ => None,
    });
    let del = del.expect("delete in stream");
    assert_eq!(del.xid, Some(top));
    assert_eq!(texts(&del.old.tuple), [Some("2"), None]);
    let trunc = m.iter().find_map(|x| match x {
        Message::Truncate(t) => Some(t),
        _ => None,
    });
    let trunc = trunc.expect("truncate in stream");
    assert_eq!(trunc.xid, Some(top));
    assert_eq!(trunc.relation_ids.len(), 1);

    // Stream Commit / Abort resolve the transactions outside any block.
    let resolutions: Vec<(&Row, &Message, bool)> = decoded
        .iter()
        .filter(|(_, m, _)| matches!(m, Message::StreamCommit(_) | Message::StreamAbort(_)))
        .map(|(r, m, s)| (r, m, *s))
        .collect();
    assert_eq!(resolutions.len(), 4);
    assert!(resolutions.iter().all(|(_, _, in_stream)| !in_stream));
    assert_eq!(expect!(resolutions[0].1, StreamCommit).xid, top);
    let abort = expect!(resolutions[1].1, StreamAbort);
    assert!(abort.is_top_level());
    assert_eq!(abort.xid, resolutions[1].0.xid);
    assert_eq!((abort.abort_lsn, abort.abort_time), (None, None));
    let sub_abort = expect!(resolutions[2].1, StreamAbort);
    assert!(!sub_abort.is_top_level());
    assert_eq!(sub_abort.subxid, resolutions[2].0.xid);
    let last = expect!(resolutions[3].1, StreamCommit);
    assert_eq!(last.xid, sub_abort.xid);

    // Inside a block, changes carry the xid of the (sub)transaction that made them: the row
    // inserted after ROLLBACK TO SAVEPOINT belongs to a new subtransaction.
    let after_savepoint = decoded
        .iter()
        .rev()
        .find_map(|(_, m, _)| match m {
            Message::Insert(i) => Some(i),
            _ => None,
        })
        .unwrap();
    assert_eq!(texts(&after_savepoint.new), [Some("2999"), Some("happy")]);
    assert!(after_savepoint.xid.unwrap() > sub_abort.subxid);
}

#[test]
fn stream_state_matters() {
    // The same bytes mean something else (or nothing) without the stream-block xid.
    let rows = rows("stream_v2");
    let insert = rows.iter().find(|r| r.data[0] == b'I').unwrap();
    assert!(decode_message(insert.data.clone(), true, 2).is_ok());
    assert!(matches!(
        decode_message(insert.data.clone(), false, 2),
        Err(DecodeError::ExpectedNewTuple { at: 5, .. })
    ));
    // Protocol v1 never has stream xids, whatever the caller says.
    let v1_insert = &rows_of("dml_v1")[2];
    assert!(decode_message(v1_insert.clone(), true, 1).is_ok());

    let mut decoder = Decoder::new(2);
    decoder.decode(rows[0].data.clone()).unwrap();
    assert!(decoder.in_stream());
    // A failed decode leaves the state alone.
    assert!(decoder.decode(Bytes::from_static(b"E!")).is_err());
    assert!(decoder.in_stream());
    decoder.reset();
    assert!(!decoder.in_stream());
    assert_eq!(decoder.proto_version(), 2);
}

fn rows_of(name: &str) -> Vec<Bytes> {
    rows(name).into_iter().map(|r| r.data).collect()
}

#[test]
fn two_phase_commit() {
    let decoded = decode_fixture("two_phase_v3", 3);
    let m: Vec<Message> = decoded.iter().map(|(_, m, _)| m.clone()).collect();
    let t = tags(&m);
    assert!(t.starts_with("bRIPKbIPrSR"), "{t}");
    assert!(t.ends_with("EpK"), "{t}");

    let begin = expect!(&m[0], BeginPrepare);
    assert_eq!(begin.gid, "gid-commit");
    assert_eq!(begin.xid, decoded[0].0.xid);
    assert_plausible_time(begin.prepare_time);
    let prepare = expect!(&m[3], Prepare);
    assert_eq!(prepare.flags, 0);
    assert_eq!(prepare.gid, "gid-commit");
    assert_eq!(prepare.xid, begin.xid);
    assert_eq!(prepare.prepare_lsn, begin.prepare_lsn);
    assert_eq!(prepare.end_lsn, begin.end_lsn);
    assert_eq!(prepare.end_lsn, decoded[3].0.lsn);
    assert_eq!(prepare.prepare_time, begin.prepare_time);
    let commit = expect!(&m[4], CommitPrepared);
    assert_eq!(commit.gid, "gid-commit");
    assert_eq!(commit.xid, begin.xid);
    assert_eq!(commit.end_lsn, decoded[4].0.lsn);
    assert!(commit.commit_lsn >= prepare.end_lsn);
    assert!(commit.end_lsn > commit.commit_lsn);
    assert!(commit.commit_time >= prepare.prepare_time);

    let begin = expect!(&m[5], BeginPrepare);
    assert_eq!(begin.gid, "gid-rollback");
    assert_eq!(texts(&expect!(&m[6], Insert).new), [Some("2")]);
    let prepare = expect!(&m[7], Prepare);
    let rollback = expect!(&m[8], RollbackPrepared);
    assert_eq!(rollback.gid, "gid-rollback");
    assert_eq!(rollback.xid, begin.xid);
    assert_eq!(rollback.prepare_end_lsn, prepare.end_lsn);
    assert_eq!(rollback.prepare_time, prepare.prepare_time);
    assert_eq!(rollback.rollback_end_lsn, decoded[8].0.lsn);
    assert!(rollback.rollback_time >= rollback.prepare_time);

    let start = expect!(&m[9], StreamStart);
    assert!(start.first_segment);
    let inserts = m
        .iter()
        .filter(|x| matches!(x, Message::Insert(i) if i.xid == Some(start.xid)));
    assert_eq!(inserts.count(), 601);
    let n = m.len();
    let stream_prepare = expect!(&m[n - 2], StreamPrepare);
    assert_eq!(stream_prepare.gid, "gid-stream");
    assert_eq!(stream_prepare.xid, start.xid);
    assert_eq!(stream_prepare.end_lsn, decoded[n - 2].0.lsn);
    let commit = expect!(&m[n - 1], CommitPrepared);
    assert_eq!((commit.gid.as_str(), commit.xid), ("gid-stream", start.xid));
}

#[test]
fn stream_abort_v4_fields() {
    let v2: Vec<Row> = rows("stream_v2")
        .into_iter()
        .filter(|r| r.data[0] == b'A')
        .collect();
    let v4 = rows("stream_abort_v4");
    assert_eq!(v2.len(), v4.len());
    for (old, new) in v2.iter().zip(&v4) {
        let old = expect!(
            decode_message(old.data.clone(), false, 2).unwrap(),
            StreamAbort
        );
        let mut decoder = Decoder::new(4);
        let abort = expect!(decoder.decode(new.data.clone()).unwrap(), StreamAbort);
        assert_eq!((abort.xid, abort.subxid), (old.xid, old.subxid));
        assert_eq!(abort.abort_lsn, Some(new.lsn));
        assert_eq!(
            abort.abort_time,
            Some(unix_to_pg_micros(1_704_067_200_000_000))
        );
        // A half-present v4 tail is an error, not silently ignored.
        assert!(matches!(
            decode_message(new.data.slice(..new.data.len() - 8), false, 4),
            Err(DecodeError::UnexpectedEnd {
                field: "stream abort timestamp",
                ..
            })
        ));
    }
}

#[test]
fn replication_frames() {
    let frames = frames();
    let mut decoder = Decoder::new(1);
    let mut decoded = Vec::new();
    let mut keepalives = Vec::new();
    for frame in frames {
        match parse_copy_data(frame.clone()).unwrap() {
            ReplicationMessage::XLogData(x) => {
                assert_plausible_time(x.send_time);
                assert!(
                    frame.as_ptr_range().contains(&x.data.as_ptr()),
                    "zero-copy payload"
                );
                decoded.push((x.clone(), decoder.decode(x.data).unwrap()));
            }
            ReplicationMessage::PrimaryKeepalive(k) => {
                assert_plausible_time(k.send_time);
                keepalives.push(k);
            }
        }
    }
    let m: Vec<Message> = decoded.iter().map(|(_, m)| m.clone()).collect();
    assert_eq!(tags(&m), "BRIIC");
    let begin = expect!(&m[0], Begin);
    let commit = expect!(&m[4], Commit);
    assert_eq!(begin.final_lsn, commit.commit_lsn);
    assert_eq!(decoded[4].0.wal_start, commit.end_lsn);
    assert_eq!(
        decoded[1].0.wal_start,
        Lsn::ZERO,
        "Relation is sent with no WAL position"
    );
    assert_eq!(texts(&expect!(&m[2], Insert).new), [Some("1"), Some("one")]);
    assert_eq!(texts(&expect!(&m[3], Insert).new), [Some("2"), Some("two")]);
    for (x, _) in &decoded {
        assert!(x.wal_end >= x.wal_start);
    }

    assert!(keepalives.len() >= 2);
    let last = keepalives.last().unwrap();
    assert!(
        last.reply_requested,
        "capture ends on a keepalive that asks for a reply"
    );
    assert!(keepalives[..keepalives.len() - 1]
        .iter()
        .all(|k| !k.reply_requested));
    assert!(last.wal_end >= commit.end_lsn);
}
