//! Loads the fixtures in tests/captures/ (see tests/capture.sh for how they are made).

#![allow(dead_code)] // each test binary uses a different subset

use std::fs;
use std::path::PathBuf;

use bytes::Bytes;
use pgoutput::{Decoder, Lsn, Message};

/// One captured pgoutput message with the slot function's `lsn` and `xid` columns.
#[derive(Debug, Clone)]
pub struct Row {
    pub lsn: Lsn,
    pub xid: u32,
    pub data: Bytes,
}

/// Every pgoutput fixture with the protocol version it was captured with.
pub const FIXTURES: &[(&str, u32)] = &[
    ("dml_v1", 1),
    ("replica_identity_v1", 1),
    ("schema_types_v1", 1),
    ("truncate_v1", 1),
    ("messages_v1", 1),
    ("message_before_commit_v1", 1),
    ("toast_v1", 1),
    ("binary_v1", 1),
    ("origin_v1", 1),
    ("stream_v2", 2),
    ("two_phase_v3", 3),
    ("stream_abort_v4", 4),
];

fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/captures")
        .join(format!("{name}.txt"))
}

pub fn hex(s: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0, "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit"))
        .collect()
}

fn data_lines(name: &str) -> Vec<String> {
    let text = fs::read_to_string(path(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// The data lines of a `<lsn> <xid> <hex>` fixture.
pub fn rows(name: &str) -> Vec<Row> {
    let rows: Vec<Row> = data_lines(name)
        .iter()
        .map(|line| {
            let mut parts = line.split_whitespace();
            let (Some(lsn), Some(xid), Some(data), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                panic!("{name}: malformed line {line:?}");
            };
            Row {
                lsn: lsn.parse().expect("lsn"),
                xid: xid.parse().expect("xid"),
                data: Bytes::from(hex(data)),
            }
        })
        .collect();
    assert!(!rows.is_empty(), "{name} has no data lines");
    rows
}

/// The CopyData payloads of replication_frames.txt.
pub fn frames() -> Vec<Bytes> {
    data_lines("replication_frames")
        .iter()
        .map(|l| Bytes::from(hex(l)))
        .collect()
}

/// Runs a whole fixture through one `Decoder`, returning each row with its message and the
/// stream state it was decoded in.
pub fn decode_fixture(name: &str, proto_version: u32) -> Vec<(Row, Message, bool)> {
    let mut decoder = Decoder::new(proto_version);
    rows(name)
        .into_iter()
        .enumerate()
        .map(|(i, row)| {
            let in_stream = decoder.in_stream();
            let message = decoder
                .decode(row.data.clone())
                .unwrap_or_else(|e| panic!("{name} line {i}: {e}"));
            (row, message, in_stream)
        })
        .collect()
}

/// Like `decode_fixture` but only the messages.
pub fn messages(name: &str, proto_version: u32) -> Vec<Message> {
    decode_fixture(name, proto_version)
        .into_iter()
        .map(|(_, m, _)| m)
        .collect()
}

/// The message tags of a sequence as a string, e.g. "BRIC".
pub fn tags(messages: &[Message]) -> String {
    messages.iter().map(|m| m.tag() as char).collect()
}
