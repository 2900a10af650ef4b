//! Two-phase commit, protocol v3+: Begin Prepare ('b'), Prepare ('P'), Commit Prepared ('K'),
//! Rollback Prepared ('r') and Stream Prepare ('p').

use crate::error::DecodeError;
use crate::lsn::Lsn;
use crate::pg_str::PgStr;
use crate::reader::Reader;

/// Begin Prepare ('b'): start of a transaction that will be prepared (`PREPARE TRANSACTION`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BeginPrepare {
    /// LSN of the prepare record.
    pub prepare_lsn: Lsn,
    /// LSN just past the prepare record.
    pub end_lsn: Lsn,
    /// Prepare timestamp, microseconds since 2000-01-01 UTC.
    pub prepare_time: i64,
    /// Transaction id.
    pub xid: u32,
    /// Global transaction identifier given to `PREPARE TRANSACTION`.
    pub gid: PgStr,
}

impl BeginPrepare {
    pub(crate) fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        Ok(BeginPrepare {
            prepare_lsn: r.lsn("begin prepare LSN")?,
            end_lsn: r.lsn("begin prepare end LSN")?,
            prepare_time: r.i64("begin prepare timestamp")?,
            xid: r.u32("begin prepare xid")?,
            gid: r.cstr("begin prepare GID")?,
        })
    }
}

/// Prepare ('P'), and Stream Prepare ('p') which has the same layout: the transaction was
/// prepared.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Prepare {
    /// Flags; currently unused (always 0).
    pub flags: u8,
    /// LSN of the prepare record.
    pub prepare_lsn: Lsn,
    /// LSN just past the prepare record.
    pub end_lsn: Lsn,
    /// Prepare timestamp, microseconds since 2000-01-01 UTC.
    pub prepare_time: i64,
    /// Transaction id.
    pub xid: u32,
    /// Global transaction identifier.
    pub gid: PgStr,
}

/// Stream Prepare ('p'): a streamed transaction was prepared; same fields as [`Prepare`].
pub type StreamPrepare = Prepare;

impl Prepare {
    pub(crate) fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        Ok(Prepare {
            flags: r.u8("prepare flags")?,
            prepare_lsn: r.lsn("prepare LSN")?,
            end_lsn: r.lsn("prepare end LSN")?,
            prepare_time: r.i64("prepare timestamp")?,
            xid: r.u32("prepare xid")?,
            gid: r.cstr("prepare GID")?,
        })
    }
}

/// Commit Prepared ('K'): `COMMIT PREPARED` of a previously prepared transaction.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CommitPrepared {
    /// Flags; currently unused (always 0).
    pub flags: u8,
    /// LSN of the commit prepared record.
    pub commit_lsn: Lsn,
    /// LSN just past the commit prepared record.
    pub end_lsn: Lsn,
    /// Commit timestamp, microseconds since 2000-01-01 UTC.
    pub commit_time: i64,
    /// Transaction id.
    pub xid: u32,
    /// Global transaction identifier.
    pub gid: PgStr,
}

impl CommitPrepared {
    pub(crate) fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        Ok(CommitPrepared {
            flags: r.u8("commit prepared flags")?,
            commit_lsn: r.lsn("commit prepared LSN")?,
            end_lsn: r.lsn("commit prepared end LSN")?,
            commit_time: r.i64("commit prepared timestamp")?,
            xid: r.u32("commit prepared xid")?,
            gid: r.cstr("commit prepared GID")?,
        })
    }
}

/// Rollback Prepared ('r'): `ROLLBACK PREPARED` of a previously prepared transaction.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RollbackPrepared {
    /// Flags; currently unused (always 0).
    pub flags: u8,
    /// LSN just past the prepare record of the transaction.
    pub prepare_end_lsn: Lsn,
    /// LSN just past the rollback prepared record.
    pub rollback_end_lsn: Lsn,
    /// Prepare timestamp, microseconds since 2000-01-01 UTC.
    pub prepare_time: i64,
    /// Rollback timestamp, microseconds since 2000-01-01 UTC.
    pub rollback_time: i64,
    /// Transaction id.
    pub xid: u32,
    /// Global transaction identifier.
    pub gid: PgStr,
}

impl RollbackPrepared {
    pub(crate) fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        Ok(RollbackPrepared {
            flags: r.u8("rollback prepared flags")?,
            prepare_end_lsn: r.lsn("rollback prepared prepare end LSN")?,
            rollback_end_lsn: r.lsn("rollback prepared end LSN")?,
            prepare_time: r.i64("rollback prepared prepare timestamp")?,
            rollback_time: r.i64("rollback prepared timestamp")?,
            xid: r.u32("rollback prepared xid")?,
            gid: r.cstr("rollback prepared GID")?,
        })
    }
}
