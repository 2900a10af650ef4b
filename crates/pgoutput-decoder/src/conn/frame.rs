//! Backend message framing (1-byte tag, 4-byte big-endian length that counts itself,
//! body) and the few body parsers the client needs.
//!
//! The header is parsed by hand rather than through `postgres_protocol::message::backend`:
//! that parser does not know `CopyBothResponse`.

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

use super::errors::ServerCtx;
use crate::{DbError, Result};

/// Largest frame accepted. The server never sends more (its own limit is 1 GiB), so
/// anything bigger means a corrupted stream, not a big row.
pub(crate) const MAX_FRAME_LEN: usize = 1 << 30;

/// Minimum free space before each read, so one read syscall can fetch many messages.
pub(crate) const READ_RESERVE: usize = 64 * 1024;

/// Bodies up to this size are copied out of the read buffer; larger ones are split off it.
///
/// A body split off the buffer keeps the whole buffer allocated for as long as it lives
/// (events hold their message's bytes), so every read needed a fresh buffer and a queue of
/// small events pinned many times its own size. A copy costs one small allocation and lets the
/// read buffer be reused; a large body has a buffer of its own anyway.
pub(crate) const COPY_BODY_MAX: usize = 16 * 1024;

/// Backend message tags used by the client.
pub(crate) mod tag {
    pub(crate) const AUTHENTICATION: u8 = b'R';
    pub(crate) const BACKEND_KEY_DATA: u8 = b'K';
    pub(crate) const COMMAND_COMPLETE: u8 = b'C';
    pub(crate) const COPY_BOTH_RESPONSE: u8 = b'W';
    pub(crate) const COPY_DATA: u8 = b'd';
    pub(crate) const COPY_DONE: u8 = b'c';
    pub(crate) const COPY_IN_RESPONSE: u8 = b'G';
    pub(crate) const COPY_OUT_RESPONSE: u8 = b'H';
    pub(crate) const DATA_ROW: u8 = b'D';
    pub(crate) const EMPTY_QUERY_RESPONSE: u8 = b'I';
    pub(crate) const ERROR_RESPONSE: u8 = b'E';
    pub(crate) const NEGOTIATE_PROTOCOL_VERSION: u8 = b'v';
    pub(crate) const NOTICE_RESPONSE: u8 = b'N';
    pub(crate) const NOTIFICATION_RESPONSE: u8 = b'A';
    pub(crate) const PARAMETER_STATUS: u8 = b'S';
    pub(crate) const READY_FOR_QUERY: u8 = b'Z';
    pub(crate) const ROW_DESCRIPTION: u8 = b'T';
}

/// One backend message: its tag and its body (without the 5-byte header).
#[derive(Debug)]
pub(crate) struct Frame {
    pub(crate) tag: u8,
    pub(crate) body: Bytes,
}

/// Splits the next complete frame off the front of `buf`, if there is one.
///
/// Small bodies are copied (see [`COPY_BODY_MAX`]); larger ones are a view into the read
/// buffer.
#[inline]
pub(crate) fn try_split_frame(buf: &mut BytesMut) -> Result<Option<Frame>, String> {
    if buf.len() < 5 {
        return Ok(None);
    }
    let tag = buf[0];
    let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
    if len < 4 {
        return Err(format!(
            "invalid message length {len} for message type {:?}",
            tag as char
        ));
    }
    if len > MAX_FRAME_LEN {
        return Err(format!(
            "message of type {:?} claims {len} bytes, more than the 1 GiB limit",
            tag as char
        ));
    }
    let total = len + 1;
    if buf.len() < total {
        return Ok(None);
    }
    if len - 4 <= COPY_BODY_MAX {
        let body = Bytes::copy_from_slice(&buf[5..total]);
        buf.advance(total);
        return Ok(Some(Frame { tag, body }));
    }
    let mut frame = buf.split_to(total);
    frame.advance(5);
    Ok(Some(Frame {
        tag,
        body: frame.freeze(),
    }))
}

/// Makes room for the next read: at least [`READ_RESERVE`], or the rest of a large frame
/// whose header is already buffered (so it arrives without repeated regrowth).
///
/// Call only after [`try_split_frame`] returned `Ok(None)`, which validated the header.
#[inline]
pub(crate) fn reserve_for_read(buf: &mut BytesMut) {
    let mut want = READ_RESERVE;
    if buf.len() >= 5 {
        let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
        want = want.max((len + 1).saturating_sub(buf.len()));
    }
    buf.reserve(want);
}

/// Reads the next frame. Cancel-safe: all state lives in `buf`, and `read_buf` either
/// appends bytes or does nothing.
pub(crate) async fn read_frame<R>(io: &mut R, buf: &mut BytesMut, ctx: &ServerCtx) -> Result<Frame>
where
    R: AsyncRead + Unpin + ?Sized,
{
    loop {
        if let Some(frame) = try_split_frame(buf).map_err(|msg| ctx.protocol(msg))? {
            return Ok(frame);
        }
        reserve_for_read(buf);
        let n = io.read_buf(buf).await.map_err(|e| ctx.io(e))?;
        if n == 0 {
            return Err(ctx.eof());
        }
    }
}

/// Parses the fields of an `ErrorResponse` or `NoticeResponse`.
///
/// Lossy on invalid UTF-8: errors sent before `client_encoding` applies may be in the
/// server's encoding, and a readable message beats a second error.
pub(crate) fn parse_error_fields(body: &[u8]) -> DbError {
    let mut db = DbError::default();
    let mut localized_severity = None;
    let mut rest = body;
    while let Some((&field, after)) = rest.split_first() {
        if field == 0 {
            break;
        }
        let end = memchr::memchr(0, after).unwrap_or(after.len());
        let value = String::from_utf8_lossy(&after[..end]).into_owned();
        rest = after.get(end + 1..).unwrap_or_default();
        match field {
            b'V' => db.severity = value,
            b'S' => localized_severity = Some(value),
            b'C' => db.code = value,
            b'M' => db.message = value,
            b'D' => db.detail = Some(value),
            b'H' => db.hint = Some(value),
            _ => {}
        }
    }
    // 'V' (never localized) exists since 9.6; older servers only send 'S'.
    if db.severity.is_empty() {
        db.severity = localized_severity.unwrap_or_default();
    }
    db
}

/// A cursor over a message body for the few fixed-layout messages the client reads.
pub(crate) struct Body<'a>(pub(crate) &'a [u8]);

impl<'a> Body<'a> {
    /// Reads a NUL-terminated string.
    pub(crate) fn cstr(&mut self) -> Option<&'a str> {
        let end = memchr::memchr(0, self.0)?;
        let s = std::str::from_utf8(&self.0[..end]).ok()?;
        self.0 = &self.0[end + 1..];
        Some(s)
    }

    /// Reads a big-endian `i32`.
    pub(crate) fn i32(&mut self) -> Option<i32> {
        let (head, rest) = self.0.split_first_chunk::<4>()?;
        self.0 = rest;
        Some(i32::from_be_bytes(*head))
    }

    /// Reads a big-endian `i16`.
    pub(crate) fn i16(&mut self) -> Option<i16> {
        let (head, rest) = self.0.split_first_chunk::<2>()?;
        self.0 = rest;
        Some(i16::from_be_bytes(*head))
    }

    /// Reads `n` raw bytes.
    pub(crate) fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![tag];
        v.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn splits_whole_frames_only() {
        let mut buf = BytesMut::new();
        let bytes = [frame(b'd', b"hello"), frame(b'c', b"")].concat();
        buf.extend_from_slice(&bytes[..7]);
        assert!(try_split_frame(&mut buf).unwrap().is_none());
        buf.extend_from_slice(&bytes[7..]);
        let f = try_split_frame(&mut buf).unwrap().unwrap();
        assert_eq!((f.tag, &f.body[..]), (b'd', &b"hello"[..]));
        let f = try_split_frame(&mut buf).unwrap().unwrap();
        assert_eq!((f.tag, f.body.len()), (b'c', 0));
        assert!(buf.is_empty());
    }

    #[test]
    fn small_bodies_are_copied_so_the_read_buffer_can_be_reused() {
        let big = vec![7u8; COPY_BODY_MAX + 1];
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&[frame(b'd', b"row"), frame(b'd', &big)].concat());
        let range = buf.as_ptr() as usize..buf.as_ptr() as usize + buf.capacity();
        let small = try_split_frame(&mut buf).unwrap().unwrap();
        assert_eq!(&small.body[..], b"row");
        assert!(
            !range.contains(&(small.body.as_ptr() as usize)),
            "a small body must not point into (and so keep) the read buffer"
        );
        let large = try_split_frame(&mut buf).unwrap().unwrap();
        assert_eq!(large.body.len(), big.len());
        assert!(
            range.contains(&(large.body.as_ptr() as usize)),
            "a large body is split off without a copy"
        );
    }

    #[test]
    fn rejects_bad_lengths() {
        let mut buf = BytesMut::from(&[b'd', 0, 0, 0, 3][..]);
        assert!(try_split_frame(&mut buf).is_err());
        let mut buf = BytesMut::from(&[b'd', 0x40, 0, 0, 4][..]);
        assert!(try_split_frame(&mut buf).is_err());
        // Exactly 1 GiB is allowed (and waits for more data).
        let mut buf = BytesMut::from(&[b'd', 0x40, 0, 0, 0][..]);
        assert!(try_split_frame(&mut buf).unwrap().is_none());
    }

    #[test]
    fn reserve_covers_large_frames() {
        let mut buf = BytesMut::from(&[b'd', 0, 0x10, 0, 0][..]);
        reserve_for_read(&mut buf);
        assert!(buf.capacity() > 0x100000);
        let mut buf = BytesMut::new();
        reserve_for_read(&mut buf);
        assert!(buf.capacity() >= READ_RESERVE);
    }

    #[test]
    fn error_fields() {
        let body = b"SFATAL\0VFATAL\0C28P01\0Mpassword authentication failed\0Hhint\0\0";
        let db = parse_error_fields(body);
        assert_eq!(db.severity, "FATAL");
        assert_eq!(db.code, "28P01");
        assert_eq!(db.message, "password authentication failed");
        assert_eq!(db.hint.as_deref(), Some("hint"));
        assert_eq!(db.detail, None);
    }
}
