//! Feeds arbitrary bytes to every entry point of the `pgoutput` crate: as a pgoutput message
//! in each protocol version and stream state (through `Decoder`, so its state handling runs
//! too), and as a CopyData payload of a replication stream.
//! Any panic is a bug: malformed input must come back as a `DecodeError`.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use pgoutput::replication::{parse_copy_data, ReplicationMessage};
use pgoutput::{Decoder, Message};

/// A Stream Start for xid 1, used to put a decoder inside a stream block.
const STREAM_START: &[u8] = b"S\0\0\0\x01\x01";

fuzz_target!(|data: &[u8]| {
    let input = Bytes::copy_from_slice(data);

    for proto_version in 1..=4 {
        for in_stream in [false, true] {
            let mut decoder = Decoder::new(proto_version);
            if in_stream {
                decoder
                    .decode(Bytes::from_static(STREAM_START))
                    .expect("Stream Start is valid");
            }
            let before = decoder.in_stream();
            match decoder.decode(input.clone()) {
                Ok(message) => {
                    assert_eq!(Some(&message.tag()), data.first());
                    match message {
                        Message::StreamStart(_) => assert!(decoder.in_stream()),
                        Message::StreamStop => assert!(!decoder.in_stream()),
                        _ => assert_eq!(decoder.in_stream(), before),
                    }
                }
                Err(err) => {
                    assert_eq!(decoder.in_stream(), before);
                    let _ = err.to_string();
                }
            }
        }
    }

    match parse_copy_data(input) {
        Ok(ReplicationMessage::XLogData(xlog)) => {
            let _ = Decoder::new(1).decode(xlog.data);
        }
        Ok(ReplicationMessage::PrimaryKeepalive(_)) => {}
        Err(err) => {
            let _ = err.to_string();
        }
    }
});
