//! A bounds-checked big-endian cursor over a `Bytes` buffer.
//!
//! Every read goes through [`Reader::take`], which checks the length before slicing, so no
//! decoder can index out of range; strings and payloads come back as `Bytes` slices that
//! share the input's allocation.

use bytes::{Buf, Bytes};

use crate::error::DecodeError;
use crate::lsn::Lsn;
use crate::pg_str::PgStr;

pub(crate) struct Reader {
    buf: Bytes,
    pos: usize,
}

impl Reader {
    pub(crate) fn new(buf: Bytes) -> Self {
        Reader { buf, pos: 0 }
    }

    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// The whole buffer and the offset of the next unread byte, for a caller that reads a
    /// run of fields itself (and then moves on with [`set_position`](Self::set_position)).
    pub(crate) fn buffer_and_position(&self) -> (&[u8], usize) {
        (&self.buf, self.pos)
    }

    /// Continues reading at `pos`, at most the end of the buffer.
    pub(crate) fn set_position(&mut self, pos: usize) {
        self.pos = pos.min(self.buf.len());
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Capacity to reserve for `count` items of at least `min_item_len` bytes each: never
    /// more than the remaining input could hold, so a forged count cannot trigger a huge
    /// allocation.
    pub(crate) fn capacity_for(&self, count: usize, min_item_len: usize) -> usize {
        count.min(self.remaining() / min_item_len.max(1))
    }

    fn take(&mut self, n: usize, field: &'static str) -> Result<&[u8], DecodeError> {
        let start = self.pos;
        let slice = start
            .checked_add(n)
            .and_then(|end| self.buf.get(start..end))
            .ok_or(DecodeError::UnexpectedEnd {
                field,
                needed: n,
                available: self.remaining(),
                at: start,
            })?;
        self.pos = start + n;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(field)?[0])
    }

    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        self.array(field).map(u16::from_be_bytes)
    }

    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        self.array(field).map(u32::from_be_bytes)
    }

    pub(crate) fn i32(&mut self, field: &'static str) -> Result<i32, DecodeError> {
        self.array(field).map(i32::from_be_bytes)
    }

    pub(crate) fn i64(&mut self, field: &'static str) -> Result<i64, DecodeError> {
        self.array(field).map(i64::from_be_bytes)
    }

    pub(crate) fn lsn(&mut self, field: &'static str) -> Result<Lsn, DecodeError> {
        self.array(field).map(|b| Lsn(u64::from_be_bytes(b)))
    }

    /// A zero-copy slice of the next `n` bytes.
    pub(crate) fn bytes(&mut self, n: usize, field: &'static str) -> Result<Bytes, DecodeError> {
        let start = self.pos;
        self.take(n, field)?;
        Ok(self.buf.slice(start..start + n))
    }

    /// An Int32 length followed by that many bytes, as a slice; negative lengths are rejected.
    pub(crate) fn sized_bytes(&mut self, field: &'static str) -> Result<Bytes, DecodeError> {
        let (start, n) = self.sized_range(field)?;
        Ok(self.buf.slice(start..start + n))
    }

    /// An Int32 length followed by that many bytes, returned as (offset, length) in the
    /// buffer rather than as a slice; negative lengths are rejected.
    pub(crate) fn sized_range(
        &mut self,
        field: &'static str,
    ) -> Result<(usize, usize), DecodeError> {
        let at = self.pos;
        let length = self.i32(field)?;
        let n = usize::try_from(length).map_err(|_| DecodeError::InvalidLength {
            field,
            length,
            at,
        })?;
        let start = self.pos;
        self.take(n, field)?;
        Ok((start, n))
    }

    /// A NUL-terminated UTF-8 string; the terminator is consumed but not included.
    pub(crate) fn cstr(&mut self, field: &'static str) -> Result<PgStr, DecodeError> {
        let at = self.pos;
        let rest = self.buf.get(at..).unwrap_or_default();
        let len = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or(DecodeError::MissingNulTerminator { field, at })?;
        let raw = self.bytes(len, field)?;
        self.pos += 1; // the NUL found above
        PgStr::from_utf8(raw).map_err(|_| DecodeError::InvalidUtf8 { field, at })
    }

    /// Everything not read yet, moved out of the reader (no new reference to the buffer).
    pub(crate) fn rest(&mut self) -> Bytes {
        let mut rest = std::mem::take(&mut self.buf);
        rest.advance(self.pos.min(rest.len()));
        self.pos = 0;
        rest
    }

    /// The whole buffer, read or not.
    pub(crate) fn into_inner(self) -> Bytes {
        self.buf
    }

    /// Fails if bytes are left over: a message that decodes with spare bytes was most likely
    /// read with the wrong protocol version or stream state.
    pub(crate) fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(DecodeError::TrailingBytes {
                count,
                at: self.pos,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_big_endian_and_reports_offsets() {
        let mut r = Reader::new(Bytes::from_static(&[0, 1, 0, 0, 0, 2, b'h', b'i', 0, 9]));
        assert_eq!(r.u16("a").unwrap(), 1);
        assert_eq!(r.u32("b").unwrap(), 2);
        assert_eq!(r.cstr("c").unwrap(), "hi");
        assert_eq!(r.position(), 9);
        assert_eq!(
            r.u32("d"),
            Err(DecodeError::UnexpectedEnd {
                field: "d",
                needed: 4,
                available: 1,
                at: 9
            })
        );
        assert_eq!(
            r.finish(),
            Err(DecodeError::TrailingBytes { count: 1, at: 9 })
        );
    }

    #[test]
    fn huge_lengths_do_not_overflow() {
        let mut r = Reader::new(Bytes::from_static(&[1, 2]));
        assert!(r.bytes(usize::MAX, "x").is_err());
        assert_eq!(r.capacity_for(usize::MAX, 4), 0);
        assert_eq!(r.capacity_for(65535, 0), 2);
    }

    #[test]
    fn cstr_errors() {
        let mut r = Reader::new(Bytes::from_static(b"abc"));
        assert_eq!(
            r.cstr("s"),
            Err(DecodeError::MissingNulTerminator { field: "s", at: 0 })
        );
        let mut r = Reader::new(Bytes::from_static(b"\xff\0"));
        assert_eq!(
            r.cstr("s"),
            Err(DecodeError::InvalidUtf8 { field: "s", at: 0 })
        );
    }
}
