//! The streaming-replication framing around pgoutput: the messages carried in CopyData
//! after `START_REPLICATION ... LOGICAL`, and the standby status update sent back.
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use pgoutput::replication::{encode_standby_status_update, parse_copy_data, ReplicationMessage};
//! use pgoutput::Lsn;
//!
//! // A primary keepalive asking for a reply.
//! let mut frame = vec![b'k'];
//! frame.extend_from_slice(&0x42E_7DF8u64.to_be_bytes()); // server WAL end
//! frame.extend_from_slice(&0i64.to_be_bytes()); // send time
//! frame.push(1); // reply requested
//! match parse_copy_data(Bytes::from(frame)).unwrap() {
//!     ReplicationMessage::PrimaryKeepalive(k) => {
//!         assert!(k.reply_requested);
//!         let mut out = BytesMut::new();
//!         encode_standby_status_update(&mut out, k.wal_end, k.wal_end, k.wal_end, 0, false);
//!         assert_eq!(out.len(), 34);
//!     }
//!     other => panic!("unexpected {other:?}"),
//! }
//! ```

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::DecodeError;
use crate::lsn::Lsn;
use crate::reader::Reader;

/// XLogData ('w'): a chunk of WAL-derived data; for logical replication `data` is exactly one
/// pgoutput message, to be fed to [`Decoder::decode`](crate::Decoder::decode).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct XLogData {
    /// WAL position of the start of the data (0 for some messages, e.g. Relation).
    pub wal_start: Lsn,
    /// Current end of WAL on the server.
    pub wal_end: Lsn,
    /// Server clock at transmission, microseconds since 2000-01-01 UTC.
    pub send_time: i64,
    /// The payload, a zero-copy slice of the frame.
    pub data: Bytes,
}

/// Primary keepalive ('k').
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PrimaryKeepalive {
    /// Current end of WAL on the server.
    pub wal_end: Lsn,
    /// Server clock at transmission, microseconds since 2000-01-01 UTC.
    pub send_time: i64,
    /// The server wants a standby status update soon, or it will time the connection out.
    pub reply_requested: bool,
}

/// A message from the server inside a CopyData frame of a replication stream.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReplicationMessage {
    /// 'w': WAL data.
    XLogData(XLogData),
    /// 'k': keepalive.
    PrimaryKeepalive(PrimaryKeepalive),
}

/// Parses the payload of one CopyData ('d') frame received during `START_REPLICATION`.
pub fn parse_copy_data(buf: Bytes) -> Result<ReplicationMessage, DecodeError> {
    let mut r = Reader::new(buf);
    let message = match r.u8("replication message tag")? {
        b'w' => ReplicationMessage::XLogData(XLogData {
            wal_start: r.lsn("XLogData WAL start")?,
            wal_end: r.lsn("XLogData WAL end")?,
            send_time: r.i64("XLogData send time")?,
            data: r.rest(),
        }),
        b'k' => ReplicationMessage::PrimaryKeepalive(PrimaryKeepalive {
            wal_end: r.lsn("keepalive WAL end")?,
            send_time: r.i64("keepalive send time")?,
            reply_requested: r.u8("keepalive reply-requested flag")? != 0,
        }),
        tag => return Err(DecodeError::UnknownReplicationMessage { tag }),
    };
    r.finish()?;
    Ok(message)
}

/// Length in bytes of a standby status update message.
pub const STANDBY_STATUS_UPDATE_LEN: usize = 34;

/// Appends a standby status update ('r', [`STANDBY_STATUS_UPDATE_LEN`] bytes) to `out`; the
/// caller wraps it in a CopyData frame.
///
/// `flushed` is what the server may discard WAL up to (the slot's confirmed flush position),
/// so report only what is durably processed. `client_time` is microseconds since
/// 2000-01-01 UTC; `reply_requested` asks the server to answer immediately.
pub fn encode_standby_status_update(
    out: &mut BytesMut,
    written: Lsn,
    flushed: Lsn,
    applied: Lsn,
    client_time: i64,
    reply_requested: bool,
) {
    out.reserve(STANDBY_STATUS_UPDATE_LEN);
    out.put_u8(b'r');
    out.put_u64(written.0);
    out.put_u64(flushed.0);
    out.put_u64(applied.0);
    out.put_i64(client_time);
    out.put_u8(u8::from(reply_requested));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_update_layout() {
        let mut out = BytesMut::from(&b"xx"[..]);
        encode_standby_status_update(
            &mut out,
            Lsn(1),
            Lsn(2),
            Lsn(0x0102_0304_0506_0708),
            -1,
            true,
        );
        assert_eq!(out.len(), 2 + STANDBY_STATUS_UPDATE_LEN);
        assert_eq!(&out[..3], b"xxr");
        assert_eq!(&out[3..11], &1u64.to_be_bytes());
        assert_eq!(&out[11..19], &2u64.to_be_bytes());
        assert_eq!(&out[19..27], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(&out[27..35], &[0xff; 8]);
        assert_eq!(out[35], 1);
    }

    #[test]
    fn rejects_bad_frames() {
        assert!(matches!(
            parse_copy_data(Bytes::new()),
            Err(DecodeError::UnexpectedEnd { at: 0, .. })
        ));
        assert_eq!(
            parse_copy_data(Bytes::from_static(b"r")),
            Err(DecodeError::UnknownReplicationMessage { tag: b'r' })
        );
        let mut keepalive = vec![b'k'];
        keepalive.extend_from_slice(&[0; 17]);
        assert!(parse_copy_data(Bytes::from(keepalive.clone())).is_ok());
        keepalive.push(0);
        assert_eq!(
            parse_copy_data(Bytes::from(keepalive)),
            Err(DecodeError::TrailingBytes { count: 1, at: 18 })
        );
    }
}
