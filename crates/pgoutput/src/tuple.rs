//! TupleData: the column values of a row in Insert, Update and Delete.

use bytes::Bytes;

use crate::error::DecodeError;
use crate::reader::Reader;

/// One column value of a [`TupleData`], borrowed from its message.
///
/// `Text` is the type's text output in the connection's client encoding; `Binary` is the
/// type's binary send format (only with the `binary` option). [`TupleData::value_bytes`]
/// gives a value as an owned `Bytes` slice of the message when it must outlive the borrow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnData<'a> {
    /// `n`: SQL NULL.
    Null,
    /// `u`: an unchanged TOASTed value. PostgreSQL does not resend an out-of-line value that an
    /// UPDATE did not touch; the consumer must keep the previous value.
    UnchangedToast,
    /// `t`: the value in text format.
    Text(&'a [u8]),
    /// `b`: the value in binary format.
    Binary(&'a [u8]),
}

impl<'a> ColumnData<'a> {
    /// Whether this is SQL NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, ColumnData::Null)
    }

    /// Whether this is an unchanged TOAST placeholder.
    pub fn is_unchanged_toast(&self) -> bool {
        matches!(self, ColumnData::UnchangedToast)
    }

    /// The raw value of a `Text` or `Binary` column.
    pub fn value(&self) -> Option<&'a [u8]> {
        match *self {
            ColumnData::Text(b) | ColumnData::Binary(b) => Some(b),
            ColumnData::Null | ColumnData::UnchangedToast => None,
        }
    }

    /// The value of a `Text` column as `&str`, if it is valid UTF-8 (the usual case with a
    /// UTF-8 client encoding).
    pub fn as_text(&self) -> Option<&'a str> {
        match *self {
            ColumnData::Text(b) => std::str::from_utf8(b).ok(),
            _ => None,
        }
    }

    /// The wire kind byte: `n`, `u`, `t` or `b`.
    pub fn kind(&self) -> u8 {
        match self {
            ColumnData::Null => b'n',
            ColumnData::UnchangedToast => b'u',
            ColumnData::Text(_) => b't',
            ColumnData::Binary(_) => b'b',
        }
    }
}

/// Where one column's value lies in the tuple's message: its kind byte and a byte range.
///
/// Values are ranges rather than `Bytes` slices so that a row costs one reference to its
/// message instead of one per column (each `Bytes` clone and drop is an atomic operation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Span {
    kind: u8,
    start: u32,
    len: u32,
}

/// The columns of one row, in the relation's column order (see
/// [`Relation::columns`](crate::Relation::columns)).
///
/// The values stay in the message they came in (zero-copy); the tuple holds one reference to
/// it and where each value lies.
#[derive(Clone, Default)]
pub struct TupleData {
    message: Bytes,
    spans: Vec<Span>,
}

impl TupleData {
    /// A tuple built from column values (for tests, and for rows that did not come from a
    /// pgoutput message); the values are copied into one buffer.
    ///
    /// # Panics
    ///
    /// If the values add up to 4 GiB or more (positions in a tuple are 32-bit).
    pub fn from_columns<'c>(columns: impl IntoIterator<Item = ColumnData<'c>>) -> Self {
        let mut message = Vec::new();
        let mut spans = Vec::new();
        for column in columns {
            let start = message.len();
            if let Some(value) = column.value() {
                message.extend_from_slice(value);
            }
            spans.push(Span {
                kind: column.kind(),
                start: offset(start),
                len: offset(message.len() - start),
            });
        }
        TupleData {
            message: Bytes::from(message),
            spans,
        }
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether the tuple has no columns.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The column at `index`.
    pub fn get(&self, index: usize) -> Option<ColumnData<'_>> {
        self.spans.get(index).map(|&span| self.column(span))
    }

    /// The value of the column at `index` as a `Bytes` slice of the message, for a value that
    /// must outlive this tuple's borrow; `None` for NULL, unchanged TOAST or out of range.
    pub fn value_bytes(&self, index: usize) -> Option<Bytes> {
        let span = self.spans.get(index)?;
        matches!(span.kind, b't' | b'b').then(|| self.message.slice(range(*span)))
    }

    /// The memory this tuple keeps alive: its message and its column list. Two tuples of one
    /// Update share their message, so a sum over both counts it twice.
    pub fn heap_bytes(&self) -> usize {
        self.message.len() + self.spans.capacity() * std::mem::size_of::<Span>()
    }

    /// Iterates the columns in order.
    pub fn iter(&self) -> Columns<'_> {
        Columns {
            tuple: self,
            spans: self.spans.iter(),
        }
    }

    /// Replaces every unchanged-TOAST column with the same column of `old` where that one
    /// has a value: an UPDATE under `REPLICA IDENTITY FULL` carries the old row, whose
    /// out-of-line values the new row leaves out.
    ///
    /// Rows of one message share it and only their ranges are copied. For a tuple from
    /// elsewhere the values are copied into a new buffer, which panics if that reaches 4 GiB.
    pub fn fill_unchanged_toast(&mut self, old: &TupleData) {
        let same_message = self.message.as_ptr() == old.message.as_ptr()
            && self.message.len() == old.message.len();
        for i in 0..self.spans.len() {
            if self.spans[i].kind != b'u' {
                continue;
            }
            let Some(&prev) = old.spans.get(i) else {
                continue;
            };
            if !matches!(prev.kind, b't' | b'b') {
                continue;
            }
            if same_message {
                self.spans[i] = prev;
            } else {
                // Another buffer (a tuple built by hand): move this one's values and the old
                // value into a new buffer.
                let value = old.column(prev).value().unwrap_or_default();
                let mut message = Vec::with_capacity(self.message.len() + value.len());
                message.extend_from_slice(&self.message);
                message.extend_from_slice(value);
                self.spans[i] = Span {
                    kind: prev.kind,
                    start: offset(self.message.len()),
                    len: prev.len,
                };
                self.message = Bytes::from(message);
            }
        }
    }

    fn column(&self, span: Span) -> ColumnData<'_> {
        match span.kind {
            b't' => ColumnData::Text(&self.message[range(span)]),
            b'b' => ColumnData::Binary(&self.message[range(span)]),
            b'u' => ColumnData::UnchangedToast,
            _ => ColumnData::Null,
        }
    }

    /// Reads the column spans; the caller hands the message over with [`attach`] once the
    /// whole message has decoded (so the message is moved in rather than shared per tuple).
    ///
    /// [`attach`]: TupleData::attach
    pub(crate) fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        let count = usize::from(r.u16("tuple column count")?);
        // Each column takes at least its kind byte.
        let mut spans = Vec::with_capacity(r.capacity_for(count, 1));
        let (buf, mut pos) = r.buffer_and_position();
        if u32::try_from(buf.len()).is_err() {
            return Err(DecodeError::MessageTooLarge { len: buf.len() });
        }
        // Well-formed columns take this loop, which checks each bound once. It stops at the
        // first thing amiss; the checked reads below then name the field and offset.
        while spans.len() < count {
            let Some(&kind) = buf.get(pos) else { break };
            let (start, len, next) = match kind {
                b'n' | b'u' => (0, 0, pos + 1),
                b't' | b'b' => {
                    let Some(&[a, b, c, d]) = buf.get(pos + 1..pos + 5) else {
                        break;
                    };
                    let Ok(len) = usize::try_from(i32::from_be_bytes([a, b, c, d])) else {
                        break;
                    };
                    if len > buf.len() - (pos + 5) {
                        break;
                    }
                    (pos + 5, len, pos + 5 + len)
                }
                _ => break,
            };
            // Both fit in u32: the buffer does (checked above).
            spans.push(Span {
                kind,
                start: start as u32,
                len: len as u32,
            });
            pos = next;
        }
        r.set_position(pos);
        read_checked(r, &mut spans, count)?;
        Ok(TupleData {
            message: Bytes::new(),
            spans,
        })
    }

    /// Gives the tuple the message its spans point into.
    pub(crate) fn attach(&mut self, message: Bytes) {
        self.message = message;
    }
}

/// Reads columns field by field until there are `count`: every read checked, every error
/// naming its field and offset.
fn read_checked(r: &mut Reader, spans: &mut Vec<Span>, count: usize) -> Result<(), DecodeError> {
    while spans.len() < count {
        let at = r.position();
        let kind = r.u8("tuple column kind")?;
        let (start, len) = match kind {
            b'n' | b'u' => (0, 0),
            b't' => r.sized_range("text column value")?,
            b'b' => r.sized_range("binary column value")?,
            kind => return Err(DecodeError::UnknownTupleKind { kind, at }),
        };
        // The caller checked that the buffer's offsets fit in u32.
        spans.push(Span {
            kind,
            start: start as u32,
            len: len as u32,
        });
    }
    Ok(())
}

fn range(span: Span) -> std::ops::Range<usize> {
    let start = span.start as usize;
    start..start + span.len as usize
}

fn offset(n: usize) -> u32 {
    u32::try_from(n).expect("a tuple's message is under 4 GiB")
}

impl PartialEq for TupleData {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for TupleData {}

impl std::hash::Hash for TupleData {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.len().hash(state);
        for column in self.iter() {
            column.hash(state);
        }
    }
}

impl std::fmt::Debug for TupleData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for &'a TupleData {
    type Item = ColumnData<'a>;
    type IntoIter = Columns<'a>;

    fn into_iter(self) -> Columns<'a> {
        self.iter()
    }
}

/// Iterator over the columns of a [`TupleData`], in order.
#[derive(Debug, Clone)]
pub struct Columns<'a> {
    tuple: &'a TupleData,
    spans: std::slice::Iter<'a, Span>,
}

impl<'a> Iterator for Columns<'a> {
    type Item = ColumnData<'a>;

    fn next(&mut self) -> Option<ColumnData<'a>> {
        self.spans.next().map(|&span| self.tuple.column(span))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.spans.size_hint()
    }
}

impl ExactSizeIterator for Columns<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn tuple_bytes(columns: &[(u8, &[u8])]) -> Vec<u8> {
        let mut out = (columns.len() as u16).to_be_bytes().to_vec();
        for &(kind, value) in columns {
            out.push(kind);
            if matches!(kind, b't' | b'b') {
                out.extend_from_slice(&(value.len() as i32).to_be_bytes());
                out.extend_from_slice(value);
            }
        }
        out
    }

    /// The quick loop and the field-by-field reads agree on every prefix and every one-byte
    /// corruption of a tuple: same spans and position, or the same error.
    #[test]
    fn quick_path_matches_checked_reads() {
        let good = tuple_bytes(&[
            (b't', b"42"),
            (b'n', b""),
            (b'u', b""),
            (b'b', &[0, 1, 2]),
            (b't', b""),
            (b't', b"last"),
        ]);
        let mut inputs = Vec::new();
        for cut in 0..=good.len() {
            inputs.push(good[..cut].to_vec());
        }
        for at in 0..good.len() {
            for byte in [0x00, 0x7f, 0x80, 0xff, b'n', b't', b'x'] {
                let mut bad = good.clone();
                bad[at] = byte;
                inputs.push(bad);
            }
        }
        for input in inputs {
            let mut quick = Reader::new(Bytes::from(input.clone()));
            let quick_result = TupleData::decode(&mut quick).map(|t| t.spans);
            let mut checked = Reader::new(Bytes::from(input.clone()));
            let checked_result = checked.u16("tuple column count").and_then(|count| {
                let mut spans = Vec::new();
                read_checked(&mut checked, &mut spans, usize::from(count)).map(|()| spans)
            });
            assert_eq!(quick_result, checked_result, "{input:?}");
            if quick_result.is_ok() {
                assert_eq!(quick.position(), checked.position(), "{input:?}");
            }
        }
    }

    #[test]
    fn unchanged_toast_is_filled_from_the_old_row() {
        let message = Bytes::from(tuple_bytes(&[(b't', b"1"), (b't', b"big old value")]));
        let mut r = Reader::new(message.clone());
        let mut old = TupleData::decode(&mut r).unwrap();
        old.attach(message.clone());
        // Same message (an UPDATE's old and new rows): the span is copied.
        let mut new = TupleData::from_columns([ColumnData::Text(b"1"), ColumnData::UnchangedToast]);
        new.message = message.clone();
        new.spans[0] = old.spans[0];
        new.fill_unchanged_toast(&old);
        assert_eq!(new.get(1), Some(ColumnData::Text(b"big old value")));
        assert_eq!(new.message.as_ptr(), message.as_ptr());
        // Another buffer: the value is copied in.
        let mut built = TupleData::from_columns([
            ColumnData::Text(b"2"),
            ColumnData::UnchangedToast,
            ColumnData::UnchangedToast,
        ]);
        built.fill_unchanged_toast(&old);
        let values: Vec<_> = built.iter().collect();
        assert_eq!(
            values,
            [
                ColumnData::Text(b"2"),
                ColumnData::Text(b"big old value"),
                ColumnData::UnchangedToast,
            ]
        );
        assert_eq!(built.value_bytes(1).as_deref(), Some(&b"big old value"[..]));
        assert_eq!(built.value_bytes(2), None);
    }
}
