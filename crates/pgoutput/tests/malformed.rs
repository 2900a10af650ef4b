//! Malformed input must produce a `DecodeError`, never a panic or a silently wrong message.

mod common;

use bytes::Bytes;
use common::{decode_fixture, frames, FIXTURES};
use pgoutput::replication::{parse_copy_data, ReplicationMessage};
use pgoutput::{decode_message, DecodeError, Message};

const KNOWN_TAGS: &[u8] = b"BCORYIUDTMSEcAbPKrp";

fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
    decode_message(Bytes::copy_from_slice(bytes), false, 1)
}

#[test]
fn empty_input() {
    for (in_stream, proto) in [(false, 1), (true, 2), (true, 4)] {
        assert_eq!(
            decode_message(Bytes::new(), in_stream, proto),
            Err(DecodeError::UnexpectedEnd {
                field: "message tag",
                needed: 1,
                available: 0,
                at: 0
            })
        );
    }
    let err = parse_copy_data(Bytes::new()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unexpected end of input reading replication message tag at byte 0: \
         needed 1 byte(s), 0 left"
    );
}

/// Every proper prefix of every captured message is an error, in the stream state and
/// protocol version it was captured with.
#[test]
fn every_truncation_of_every_capture_fails() {
    let mut checked = 0;
    for &(name, proto) in FIXTURES {
        for (row, _, in_stream) in decode_fixture(name, proto) {
            let data = &row.data;
            for len in 0..data.len() {
                let result = decode_message(data.slice(..len), in_stream, proto);
                // The one legitimate exception: a v4 Stream Abort cut right before its
                // optional abort LSN/timestamp is a complete v2 Stream Abort.
                if data[0] == b'A' && len == 9 {
                    assert!(result.is_ok(), "{name}");
                    continue;
                }
                let err = result.expect_err(&format!("{name}: prefix {len} of {data:x?} decoded"));
                // Truncation can only ever look like running out of input (or, when a length
                // byte was cut, like a string without its NUL).
                assert!(
                    matches!(
                        err,
                        DecodeError::UnexpectedEnd { .. }
                            | DecodeError::MissingNulTerminator { .. }
                    ),
                    "{name}: prefix {len}: {err}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 10_000, "{checked}");
}

#[test]
fn every_truncation_of_every_replication_frame_fails() {
    for frame in frames() {
        for len in 0..frame.len() {
            match parse_copy_data(frame.slice(..len)) {
                Err(_) => {}
                // XLogData's payload is "the rest of the frame", so a cut frame still parses;
                // the truncated pgoutput message inside it must then fail.
                Ok(ReplicationMessage::XLogData(x)) => {
                    assert!(decode_message(x.data, false, 1).is_err(), "prefix {len}")
                }
                Ok(other) => panic!("prefix {len} of {frame:x?} parsed as {other:?}"),
            }
        }
    }
}

#[test]
fn trailing_bytes_are_rejected() {
    for &(name, proto) in FIXTURES {
        for (row, _, in_stream) in decode_fixture(name, proto) {
            let mut longer = row.data.to_vec();
            longer.push(0);
            let result = decode_message(Bytes::from(longer), in_stream, proto);
            if row.data[0] == b'A' {
                // One extra byte after a v2 Stream Abort starts an incomplete v4 tail.
                assert!(result.is_err(), "{name}");
            } else {
                assert_eq!(
                    result,
                    Err(DecodeError::TrailingBytes {
                        count: 1,
                        at: row.data.len()
                    }),
                    "{name}"
                );
            }
        }
    }
    for frame in frames().into_iter().filter(|f| f[0] == b'k') {
        let mut longer = frame.to_vec();
        longer.extend_from_slice(b"xyz");
        assert_eq!(
            parse_copy_data(Bytes::from(longer)),
            Err(DecodeError::TrailingBytes { count: 3, at: 18 })
        );
    }
}

#[test]
fn unknown_tags() {
    for tag in 0..=u8::MAX {
        let result = decode(&[tag]);
        if KNOWN_TAGS.contains(&tag) {
            // Only Stream Stop has no body.
            assert_eq!(result.is_ok(), tag == b'E', "{tag}");
        } else {
            assert_eq!(result, Err(DecodeError::UnknownMessage { tag }));
        }
        if tag != b'w' && tag != b'k' {
            assert_eq!(
                parse_copy_data(Bytes::copy_from_slice(&[tag, 0, 0])),
                Err(DecodeError::UnknownReplicationMessage { tag })
            );
        }
    }
    assert_eq!(
        DecodeError::UnknownMessage { tag: b'Z' }.to_string(),
        "unknown pgoutput message tag 0x5a ('Z') at byte 0"
    );
    assert_eq!(
        DecodeError::UnknownMessage { tag: 0 }.to_string(),
        "unknown pgoutput message tag 0x00 at byte 0"
    );
}

/// A Relation header for table "t" in schema "s" with the given column count.
fn relation_header(ncols: u16) -> Vec<u8> {
    let mut m = b"R\0\0\0\x01s\0t\0d".to_vec();
    m.extend_from_slice(&ncols.to_be_bytes());
    m
}

#[test]
fn absurd_counts_and_lengths() {
    // 65535 columns announced, 3 bytes left: must fail on the first column without
    // reserving room for 65535.
    let mut m = relation_header(u16::MAX);
    m.extend_from_slice(&[1, b'a', 0]);
    assert_eq!(
        decode(&m),
        Err(DecodeError::UnexpectedEnd {
            field: "column type OID",
            needed: 4,
            available: 0,
            at: 15
        })
    );

    // Tuple with 65535 columns and 3 bytes left.
    let m = b"I\0\0\0\x01N\xff\xffnnn";
    assert_eq!(
        decode(m),
        Err(DecodeError::UnexpectedEnd {
            field: "tuple column kind",
            needed: 1,
            available: 0,
            at: 11
        })
    );

    // Truncate of u32::MAX relations with 5 bytes of ids.
    let m = b"T\xff\xff\xff\xff\x00\0\0\0\x01\x02";
    assert!(matches!(
        decode(m),
        Err(DecodeError::UnexpectedEnd {
            field: "truncated relation OID",
            at: 10,
            ..
        })
    ));

    // A text value claiming i32::MAX bytes, and one with a negative length.
    let m = b"I\0\0\0\x01N\0\x01t\x7f\xff\xff\xffab";
    assert_eq!(
        decode(m),
        Err(DecodeError::UnexpectedEnd {
            field: "text column value",
            needed: i32::MAX as usize,
            available: 2,
            at: 13
        })
    );
    let m = b"I\0\0\0\x01N\0\x01b\xff\xff\xff\xff";
    let err = decode(m).unwrap_err();
    assert_eq!(
        err,
        DecodeError::InvalidLength {
            field: "binary column value",
            length: -1,
            at: 9
        }
    );
    assert_eq!(
        err.to_string(),
        "negative length -1 in binary column value at byte 9"
    );

    // Logical message content length beyond the end, and negative.
    let mut m = b"M\x01\0\0\0\0\0\0\0\x01p\0".to_vec();
    m.extend_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(
        decode(&m),
        Err(DecodeError::InvalidLength {
            length: -1,
            at: 12,
            ..
        })
    ));
    let mut m = b"M\x01\0\0\0\0\0\0\0\x01p\0".to_vec();
    m.extend_from_slice(&1000i32.to_be_bytes());
    m.extend_from_slice(b"short");
    assert!(matches!(
        decode(&m),
        Err(DecodeError::UnexpectedEnd {
            field: "message content",
            needed: 1000,
            ..
        })
    ));
}

#[test]
fn invalid_utf8_and_missing_nul() {
    let m = b"R\0\0\0\x01s\0t\xc3\x28\0d\0\0";
    let err = decode(m).unwrap_err();
    assert_eq!(
        err,
        DecodeError::InvalidUtf8 {
            field: "relation name",
            at: 7
        }
    );
    assert_eq!(
        err.to_string(),
        "invalid UTF-8 in relation name starting at byte 7"
    );

    let m = b"O\0\0\0\0\0\0\0\x01\xff\xfe\0";
    assert_eq!(
        decode(m),
        Err(DecodeError::InvalidUtf8 {
            field: "origin name",
            at: 9
        })
    );

    let m = b"Y\0\0\0\x01public\0mood";
    let err = decode(m).unwrap_err();
    assert_eq!(
        err,
        DecodeError::MissingNulTerminator {
            field: "type name",
            at: 12
        }
    );
    assert_eq!(
        err.to_string(),
        "missing NUL terminator for type name starting at byte 12"
    );

    // Column values are not text-validated (they are in the client encoding, and binary
    // values are arbitrary), so invalid UTF-8 there is fine.
    let m = b"I\0\0\0\x01N\0\x01t\0\0\0\x01\xff";
    let insert = decode(m).unwrap();
    let Message::Insert(insert) = insert else {
        panic!()
    };
    assert_eq!(insert.new.get(0).unwrap().as_text(), None);
}

#[test]
fn bad_enumerations() {
    let mut m = b"R\0\0\0\x01s\0t\0x".to_vec();
    m.extend_from_slice(&[0, 0]);
    let err = decode(&m).unwrap_err();
    assert_eq!(
        err,
        DecodeError::UnknownReplicaIdentity { value: b'x', at: 9 }
    );
    assert!(err
        .to_string()
        .contains("unknown replica identity 0x78 ('x') at byte 9"));

    assert_eq!(
        decode(b"I\0\0\0\x01N\0\x01q"),
        Err(DecodeError::UnknownTupleKind { kind: b'q', at: 8 })
    );
    assert_eq!(
        decode(b"I\0\0\0\x01K\0\0"),
        Err(DecodeError::ExpectedNewTuple { found: b'K', at: 5 })
    );
    assert_eq!(
        decode(b"U\0\0\0\x01X\0\0"),
        Err(DecodeError::UnknownOldTupleKind { kind: b'X', at: 5 })
    );
    // Old tuple not followed by 'N'.
    assert_eq!(
        decode(b"U\0\0\0\x01K\0\x01nO\0\x01n"),
        Err(DecodeError::ExpectedNewTuple { found: b'O', at: 9 })
    );
    // Delete needs K or O; N is not allowed.
    assert_eq!(
        decode(b"D\0\0\0\x01N\0\0"),
        Err(DecodeError::UnknownOldTupleKind { kind: b'N', at: 5 })
    );
    assert!(decode(b"D\0\0\0\x01O\0\0").is_ok());
}

#[test]
fn errors_are_std_errors() {
    fn takes_error(_: &dyn std::error::Error) {}
    let err = decode(b"").unwrap_err();
    takes_error(&err);
    let err = decode(b"C\0").unwrap_err();
    assert_eq!(
        err.to_string(),
        "unexpected end of input reading commit LSN at byte 2: needed 8 byte(s), 0 left"
    );
}
