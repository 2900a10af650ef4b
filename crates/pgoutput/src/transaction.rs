//! Transaction boundaries: Begin ('B'), Commit ('C') and Origin ('O').

use crate::error::DecodeError;
use crate::lsn::Lsn;
use crate::pg_str::PgStr;
use crate::reader::Reader;

/// Begin ('B'): start of a (non-streamed) transaction's changes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Begin {
    /// LSN of the transaction's commit record.
    pub final_lsn: Lsn,
    /// Commit timestamp, microseconds since 2000-01-01 UTC.
    pub commit_time: i64,
    /// Transaction id.
    pub xid: u32,
}

impl Begin {
    pub(crate) fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        Ok(Begin {
            final_lsn: r.lsn("begin final LSN")?,
            commit_time: r.i64("begin commit timestamp")?,
            xid: r.u32("begin xid")?,
        })
    }
}

/// Commit ('C'): end of a transaction's changes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Commit {
    /// Flags; currently unused (always 0).
    pub flags: u8,
    /// LSN of the commit record (equals [`Begin::final_lsn`]).
    pub commit_lsn: Lsn,
    /// LSN just past the commit record: the position to confirm once this transaction is
    /// durably applied.
    pub end_lsn: Lsn,
    /// Commit timestamp, microseconds since 2000-01-01 UTC.
    pub commit_time: i64,
}

impl Commit {
    pub(crate) fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        Ok(Commit {
            flags: r.u8("commit flags")?,
            commit_lsn: r.lsn("commit LSN")?,
            end_lsn: r.lsn("commit end LSN")?,
            commit_time: r.i64("commit timestamp")?,
        })
    }
}

/// Origin ('O'): the transaction was replayed from another node under a replication origin;
/// sent right after Begin.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    /// LSN of the commit on the origin server.
    pub commit_lsn: Lsn,
    /// Origin name.
    pub name: PgStr,
}

impl Origin {
    pub(crate) fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        Ok(Origin {
            commit_lsn: r.lsn("origin commit LSN")?,
            name: r.cstr("origin name")?,
        })
    }
}
