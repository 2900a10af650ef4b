//! The error returned for malformed input.

use std::fmt;

/// Why a buffer could not be decoded.
///
/// Every variant that refers to a position carries `at`, the byte offset *within the buffer
/// handed to the decoder* (for pgoutput messages that is the message, tag byte at offset 0;
/// for [`parse_copy_data`](crate::replication::parse_copy_data) it is the CopyData payload).
/// `field` names the protocol field being read, so the `Display` output alone is enough to
/// locate the problem in a hex dump.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended before `field` could be read.
    UnexpectedEnd {
        /// The protocol field being read.
        field: &'static str,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes that were left.
        available: usize,
        /// Offset where the field starts.
        at: usize,
    },
    /// The first byte is not a known pgoutput message tag.
    UnknownMessage {
        /// The tag byte.
        tag: u8,
    },
    /// A tuple column kind other than `n`, `u`, `t` or `b`.
    UnknownTupleKind {
        /// The kind byte.
        kind: u8,
        /// Offset of the kind byte.
        at: usize,
    },
    /// A replica identity setting other than `d`, `n`, `f` or `i`.
    UnknownReplicaIdentity {
        /// The replica identity byte.
        value: u8,
        /// Offset of the byte.
        at: usize,
    },
    /// An Update or Delete whose old-tuple marker is not `K` or `O` (or `N` for Update).
    UnknownOldTupleKind {
        /// The marker byte.
        kind: u8,
        /// Offset of the byte.
        at: usize,
    },
    /// The `N` marker introducing a new tuple (Insert, Update) is missing.
    ExpectedNewTuple {
        /// The byte found instead.
        found: u8,
        /// Offset of the byte.
        at: usize,
    },
    /// A string is not valid UTF-8.
    InvalidUtf8 {
        /// The protocol field being read.
        field: &'static str,
        /// Offset where the string starts.
        at: usize,
    },
    /// A NUL-terminated string runs to the end of the input.
    MissingNulTerminator {
        /// The protocol field being read.
        field: &'static str,
        /// Offset where the string starts.
        at: usize,
    },
    /// A length field is negative.
    InvalidLength {
        /// The protocol field being read.
        field: &'static str,
        /// The length as sent.
        length: i32,
        /// Offset of the length field.
        at: usize,
    },
    /// The message was decoded but bytes were left over, which means the sender and this
    /// decoder disagree about the format (wrong protocol version or stream state).
    TrailingBytes {
        /// How many bytes were left.
        count: usize,
        /// Offset of the first unread byte.
        at: usize,
    },
    /// The first byte of a CopyData payload is not a known replication message tag.
    UnknownReplicationMessage {
        /// The tag byte.
        tag: u8,
    },
    /// A row message of 4 GiB or more: column positions within it are 32-bit. The server
    /// never sends one (its limit is 1 GiB).
    MessageTooLarge {
        /// The message's length.
        len: usize,
    },
}

/// Renders a tag byte as hex and, when printable, as the ASCII letter the docs use.
struct Tag(u8);

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_ascii_graphic() {
            write!(f, "0x{:02x} ('{}')", self.0, self.0 as char)
        } else {
            write!(f, "0x{:02x}", self.0)
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DecodeError::UnexpectedEnd {
                field,
                needed,
                available,
                at,
            } => write!(
                f,
                "unexpected end of input reading {field} at byte {at}: \
                 needed {needed} byte(s), {available} left"
            ),
            DecodeError::UnknownMessage { tag } => {
                write!(f, "unknown pgoutput message tag {} at byte 0", Tag(tag))
            }
            DecodeError::UnknownTupleKind { kind, at } => write!(
                f,
                "unknown tuple column kind {} at byte {at} (expected 'n', 'u', 't' or 'b')",
                Tag(kind)
            ),
            DecodeError::UnknownReplicaIdentity { value, at } => write!(
                f,
                "unknown replica identity {} at byte {at} (expected 'd', 'n', 'f' or 'i')",
                Tag(value)
            ),
            DecodeError::UnknownOldTupleKind { kind, at } => write!(
                f,
                "unknown old tuple marker {} at byte {at} (expected 'K' or 'O')",
                Tag(kind)
            ),
            DecodeError::ExpectedNewTuple { found, at } => {
                write!(
                    f,
                    "expected new tuple marker 'N' at byte {at}, found {}",
                    Tag(found)
                )
            }
            DecodeError::InvalidUtf8 { field, at } => {
                write!(f, "invalid UTF-8 in {field} starting at byte {at}")
            }
            DecodeError::MissingNulTerminator { field, at } => {
                write!(
                    f,
                    "missing NUL terminator for {field} starting at byte {at}"
                )
            }
            DecodeError::InvalidLength { field, length, at } => {
                write!(f, "negative length {length} in {field} at byte {at}")
            }
            DecodeError::TrailingBytes { count, at } => {
                write!(
                    f,
                    "{count} trailing byte(s) after the end of the message at byte {at}"
                )
            }
            DecodeError::UnknownReplicationMessage { tag } => {
                write!(f, "unknown replication message tag {} at byte 0", Tag(tag))
            }
            DecodeError::MessageTooLarge { len } => write!(
                f,
                "row message of {len} bytes: the decoder addresses row values below 4 GiB"
            ),
        }
    }
}

impl std::error::Error for DecodeError {}
