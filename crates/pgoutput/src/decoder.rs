//! [`Decoder`]: the stream-aware wrapper around [`decode_message`].

use bytes::Bytes;

use crate::error::DecodeError;
use crate::message::{decode_message, Message};

/// Decodes a sequence of pgoutput messages from one replication session.
///
/// The only state is whether a streamed-transaction block is open (between Stream Start and
/// Stream Stop), because in protocol v2+ the data messages inside such a block carry a
/// leading xid that is otherwise absent. Feed it every message of the session in order; a
/// message that fails to decode leaves the state unchanged.
///
/// ```
/// use bytes::Bytes;
/// use pgoutput::{Decoder, Message};
///
/// let mut decoder = Decoder::new(2);
/// // Stream Start for xid 767, first segment.
/// let start = decoder.decode(Bytes::from_static(b"S\0\0\x02\xff\x01")).unwrap();
/// assert!(matches!(start, Message::StreamStart(ref s) if s.xid == 767 && s.first_segment));
/// assert!(decoder.in_stream());
/// decoder.decode(Bytes::from_static(b"E")).unwrap();
/// assert!(!decoder.in_stream());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoder {
    proto_version: u32,
    in_stream: bool,
}

impl Decoder {
    /// A decoder for the `proto_version` given to `START_REPLICATION` (1–4). With version 1
    /// there are no streamed transactions, so no xid is ever expected.
    pub fn new(proto_version: u32) -> Self {
        Decoder {
            proto_version,
            in_stream: false,
        }
    }

    /// The protocol version this decoder was created for.
    pub fn proto_version(&self) -> u32 {
        self.proto_version
    }

    /// Whether a streamed-transaction block is open.
    pub fn in_stream(&self) -> bool {
        self.in_stream
    }

    /// Forgets any open stream block, e.g. after reconnecting (the server restarts from a
    /// transaction boundary).
    pub fn reset(&mut self) {
        self.in_stream = false;
    }

    /// Decodes one message and updates the stream state.
    pub fn decode(&mut self, data: Bytes) -> Result<Message, DecodeError> {
        let message = decode_message(data, self.in_stream, self.proto_version)?;
        match message {
            Message::StreamStart(_) => self.in_stream = true,
            Message::StreamStop => self.in_stream = false,
            _ => {}
        }
        Ok(message)
    }
}
