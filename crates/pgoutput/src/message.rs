//! The [`Message`] enum and the stateless [`decode_message`] entry point.

use bytes::Bytes;

use crate::change::{Delete, Insert, Truncate, Update};
use crate::error::DecodeError;
use crate::logical_message::LogicalMessage;
use crate::reader::Reader;
use crate::relation::{Relation, Type};
use crate::stream::{StreamAbort, StreamCommit, StreamStart};
use crate::transaction::{Begin, Commit, Origin};
use crate::two_phase::{BeginPrepare, CommitPrepared, Prepare, RollbackPrepared, StreamPrepare};

/// One pgoutput message: the payload of an XLogData, or the `data` column of
/// `pg_logical_slot_get_binary_changes`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Message {
    /// 'B': start of a transaction.
    Begin(Begin),
    /// 'C': end of a transaction.
    Commit(Commit),
    /// 'O': the transaction came from a replication origin.
    Origin(Origin),
    /// 'R': table description.
    Relation(Relation),
    /// 'Y': data type description.
    Type(Type),
    /// 'I': row inserted.
    Insert(Insert),
    /// 'U': row updated.
    Update(Update),
    /// 'D': row deleted.
    Delete(Delete),
    /// 'T': tables truncated.
    Truncate(Truncate),
    /// 'M': logical decoding message.
    LogicalMessage(LogicalMessage),
    /// 'S': start of a block of a streamed transaction (v2+).
    StreamStart(StreamStart),
    /// 'E': end of a block of a streamed transaction (v2+). Has no fields.
    StreamStop,
    /// 'c': streamed transaction committed (v2+).
    StreamCommit(StreamCommit),
    /// 'A': streamed transaction or subtransaction aborted (v2+).
    StreamAbort(StreamAbort),
    /// 'b': start of a transaction to be prepared (v3+).
    BeginPrepare(BeginPrepare),
    /// 'P': transaction prepared (v3+).
    Prepare(Prepare),
    /// 'K': prepared transaction committed (v3+).
    CommitPrepared(CommitPrepared),
    /// 'r': prepared transaction rolled back (v3+).
    RollbackPrepared(RollbackPrepared),
    /// 'p': streamed transaction prepared (v3+).
    StreamPrepare(StreamPrepare),
}

impl Message {
    /// The wire tag byte of this message.
    pub fn tag(&self) -> u8 {
        match self {
            Message::Begin(_) => b'B',
            Message::Commit(_) => b'C',
            Message::Origin(_) => b'O',
            Message::Relation(_) => b'R',
            Message::Type(_) => b'Y',
            Message::Insert(_) => b'I',
            Message::Update(_) => b'U',
            Message::Delete(_) => b'D',
            Message::Truncate(_) => b'T',
            Message::LogicalMessage(_) => b'M',
            Message::StreamStart(_) => b'S',
            Message::StreamStop => b'E',
            Message::StreamCommit(_) => b'c',
            Message::StreamAbort(_) => b'A',
            Message::BeginPrepare(_) => b'b',
            Message::Prepare(_) => b'P',
            Message::CommitPrepared(_) => b'K',
            Message::RollbackPrepared(_) => b'r',
            Message::StreamPrepare(_) => b'p',
        }
    }

    /// The transaction id the message itself carries, if any: always for Begin, the stream
    /// and two-phase messages; for data messages only inside a streamed block.
    pub fn xid(&self) -> Option<u32> {
        match self {
            Message::Begin(m) => Some(m.xid),
            Message::Relation(m) => m.xid,
            Message::Type(m) => m.xid,
            Message::Insert(m) => m.xid,
            Message::Update(m) => m.xid,
            Message::Delete(m) => m.xid,
            Message::Truncate(m) => m.xid,
            Message::LogicalMessage(m) => m.xid,
            Message::StreamStart(m) => Some(m.xid),
            Message::StreamCommit(m) => Some(m.xid),
            Message::StreamAbort(m) => Some(m.xid),
            Message::BeginPrepare(m) => Some(m.xid),
            Message::Prepare(m) | Message::StreamPrepare(m) => Some(m.xid),
            Message::CommitPrepared(m) => Some(m.xid),
            Message::RollbackPrepared(m) => Some(m.xid),
            Message::Commit(_) | Message::Origin(_) | Message::StreamStop => None,
        }
    }
}

/// Decodes one pgoutput message without tracking state.
///
/// `in_stream` says whether the message sits between a Stream Start and a Stream Stop; with
/// `proto_version >= 2` the data messages (Relation, Type, Insert, Update, Delete, Truncate,
/// Message) there begin with the transaction's xid. Prefer [`Decoder`](crate::Decoder), which
/// tracks that for you.
///
/// The whole buffer must be one message: leftover bytes are an error.
pub fn decode_message(
    data: Bytes,
    in_stream: bool,
    proto_version: u32,
) -> Result<Message, DecodeError> {
    let mut r = Reader::new(data);
    let tag = r.u8("message tag")?;
    let carries_xid = matches!(tag, b'R' | b'Y' | b'I' | b'U' | b'D' | b'T' | b'M');
    let xid = if carries_xid && in_stream && proto_version >= 2 {
        Some(r.u32("streamed transaction xid")?)
    } else {
        None
    };
    let mut message = match tag {
        b'B' => Message::Begin(Begin::decode(&mut r)?),
        b'C' => Message::Commit(Commit::decode(&mut r)?),
        b'O' => Message::Origin(Origin::decode(&mut r)?),
        b'R' => Message::Relation(Relation::decode(&mut r, xid)?),
        b'Y' => Message::Type(Type::decode(&mut r, xid)?),
        b'I' => Message::Insert(Insert::decode(&mut r, xid)?),
        b'U' => Message::Update(Update::decode(&mut r, xid)?),
        b'D' => Message::Delete(Delete::decode(&mut r, xid)?),
        b'T' => Message::Truncate(Truncate::decode(&mut r, xid)?),
        b'M' => Message::LogicalMessage(LogicalMessage::decode(&mut r, xid)?),
        b'S' => Message::StreamStart(StreamStart::decode(&mut r)?),
        b'E' => Message::StreamStop,
        b'c' => Message::StreamCommit(StreamCommit::decode(&mut r)?),
        b'A' => Message::StreamAbort(StreamAbort::decode(&mut r)?),
        b'b' => Message::BeginPrepare(BeginPrepare::decode(&mut r)?),
        b'P' => Message::Prepare(Prepare::decode(&mut r)?),
        b'K' => Message::CommitPrepared(CommitPrepared::decode(&mut r)?),
        b'r' => Message::RollbackPrepared(RollbackPrepared::decode(&mut r)?),
        b'p' => Message::StreamPrepare(Prepare::decode(&mut r)?),
        tag => return Err(DecodeError::UnknownMessage { tag }),
    };
    r.finish()?;
    // Row values are ranges of the message: hand it to the tuples now that all of it has
    // decoded. Moving it costs nothing; only an Update with an old row shares it.
    let data = r.into_inner();
    match &mut message {
        Message::Insert(insert) => insert.new.attach(data),
        Message::Update(update) => {
            if let Some(old) = &mut update.old {
                old.tuple.attach(data.clone());
            }
            update.new.attach(data);
        }
        Message::Delete(delete) => delete.old.tuple.attach(data),
        _ => {}
    }
    Ok(message)
}
