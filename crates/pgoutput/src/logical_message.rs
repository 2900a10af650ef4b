//! Logical decoding messages ('M'), emitted with `pg_logical_emit_message`.

use bytes::Bytes;

use crate::error::DecodeError;
use crate::lsn::Lsn;
use crate::pg_str::PgStr;
use crate::reader::Reader;

/// Message ('M'): a logical decoding message (sent only with the `messages` option).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LogicalMessage {
    /// Xid, present only inside a streamed-transaction block (protocol v2+). It is the xid of
    /// the subtransaction that made the change when that differs from the top-level one.
    pub xid: Option<u32>,
    /// Raw flags byte.
    pub flags: u8,
    /// Flag bit 1: the message is part of the surrounding transaction (between Begin and
    /// Commit) rather than sent immediately.
    pub transactional: bool,
    /// LSN of the message.
    pub lsn: Lsn,
    /// The prefix given to `pg_logical_emit_message`.
    pub prefix: PgStr,
    /// The content, arbitrary bytes.
    pub content: Bytes,
}

impl LogicalMessage {
    /// The flag bit for transactional messages.
    pub const FLAG_TRANSACTIONAL: u8 = 1;

    pub(crate) fn decode(r: &mut Reader, xid: Option<u32>) -> Result<Self, DecodeError> {
        let flags = r.u8("message flags")?;
        Ok(LogicalMessage {
            xid,
            flags,
            transactional: flags & Self::FLAG_TRANSACTIONAL != 0,
            lsn: r.lsn("message LSN")?,
            prefix: r.cstr("message prefix")?,
            content: r.sized_bytes("message content")?,
        })
    }
}
