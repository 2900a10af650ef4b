//! Streamed (in-progress) transactions, protocol v2+: Stream Start ('S'), Stream Stop ('E'),
//! Stream Commit ('c') and Stream Abort ('A').
//!
//! A large transaction is sent in blocks between Stream Start and Stream Stop before it ends;
//! inside a block every data message carries the transaction's xid. It is then resolved by a
//! Stream Commit or Stream Abort outside any block (or a Stream Prepare with two-phase).

use crate::error::DecodeError;
use crate::lsn::Lsn;
use crate::reader::Reader;

/// Stream Start ('S'): opens a block of a streamed transaction's changes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StreamStart {
    /// Transaction id.
    pub xid: u32,
    /// Whether this is the transaction's first block.
    pub first_segment: bool,
}

impl StreamStart {
    pub(crate) fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        Ok(StreamStart {
            xid: r.u32("stream start xid")?,
            // PostgreSQL's own reader compares with 1, so do the same.
            first_segment: r.u8("stream start first-segment flag")? == 1,
        })
    }
}

/// Stream Commit ('c'): a streamed transaction committed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StreamCommit {
    /// Transaction id.
    pub xid: u32,
    /// Flags; currently unused (always 0).
    pub flags: u8,
    /// LSN of the commit record.
    pub commit_lsn: Lsn,
    /// LSN just past the commit record.
    pub end_lsn: Lsn,
    /// Commit timestamp, microseconds since 2000-01-01 UTC.
    pub commit_time: i64,
}

impl StreamCommit {
    pub(crate) fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        Ok(StreamCommit {
            xid: r.u32("stream commit xid")?,
            flags: r.u8("stream commit flags")?,
            commit_lsn: r.lsn("stream commit LSN")?,
            end_lsn: r.lsn("stream commit end LSN")?,
            commit_time: r.i64("stream commit timestamp")?,
        })
    }
}

/// Stream Abort ('A'): a streamed transaction, or one of its subtransactions, aborted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StreamAbort {
    /// Top-level transaction id.
    pub xid: u32,
    /// Id of the aborted subtransaction; equals `xid` when the whole transaction aborted.
    pub subxid: u32,
    /// LSN of the abort record; only sent with `streaming = parallel` (protocol v4).
    pub abort_lsn: Option<Lsn>,
    /// Abort timestamp, microseconds since 2000-01-01 UTC; only with `streaming = parallel`.
    pub abort_time: Option<i64>,
}

impl StreamAbort {
    /// Whether the whole transaction aborted rather than one subtransaction.
    pub fn is_top_level(&self) -> bool {
        self.xid == self.subxid
    }

    pub(crate) fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        let xid = r.u32("stream abort xid")?;
        let subxid = r.u32("stream abort subtransaction xid")?;
        // The v4 fields depend on the `streaming` option, not on the protocol version alone,
        // so their presence is told by the length.
        let (abort_lsn, abort_time) = if r.remaining() > 0 {
            (
                Some(r.lsn("stream abort LSN")?),
                Some(r.i64("stream abort timestamp")?),
            )
        } else {
            (None, None)
        };
        Ok(StreamAbort {
            xid,
            subxid,
            abort_lsn,
            abort_time,
        })
    }
}
