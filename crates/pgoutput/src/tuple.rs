//! TupleData: the column values of a row in Insert, Update and Delete.

use bytes::Bytes;

use crate::error::DecodeError;
use crate::reader::Reader;

/// One column value of a [`TupleData`].
///
/// Values are zero-copy slices of the message. `Text` is the type's text output in the
/// connection's client encoding; `Binary` is the type's binary send format (only with the
/// `binary` option).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ColumnData {
    /// `n`: SQL NULL.
    Null,
    /// `u`: an unchanged TOASTed value. PostgreSQL does not resend an out-of-line value that an
    /// UPDATE did not touch; the consumer must keep the previous value.
    UnchangedToast,
    /// `t`: the value in text format.
    Text(Bytes),
    /// `b`: the value in binary format.
    Binary(Bytes),
}

impl ColumnData {
    /// Whether this is SQL NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, ColumnData::Null)
    }

    /// Whether this is an unchanged TOAST placeholder.
    pub fn is_unchanged_toast(&self) -> bool {
        matches!(self, ColumnData::UnchangedToast)
    }

    /// The raw value of a `Text` or `Binary` column.
    pub fn value(&self) -> Option<&Bytes> {
        match self {
            ColumnData::Text(b) | ColumnData::Binary(b) => Some(b),
            ColumnData::Null | ColumnData::UnchangedToast => None,
        }
    }

    /// The value of a `Text` column as `&str`, if it is valid UTF-8 (the usual case with a
    /// UTF-8 client encoding).
    pub fn as_text(&self) -> Option<&str> {
        match self {
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

/// The columns of one row, in the relation's column order (see
/// [`Relation::columns`](crate::Relation::columns)).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct TupleData {
    /// Column values by position.
    pub columns: Vec<ColumnData>,
}

impl TupleData {
    /// Number of columns.
    pub fn len(&self) -> usize {
        self.columns.len()
    }

    /// Whether the tuple has no columns.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// The column at `index`.
    pub fn get(&self, index: usize) -> Option<&ColumnData> {
        self.columns.get(index)
    }

    /// Iterates the columns in order.
    pub fn iter(&self) -> std::slice::Iter<'_, ColumnData> {
        self.columns.iter()
    }

    pub(crate) fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        let count = usize::from(r.u16("tuple column count")?);
        // Each column takes at least its kind byte.
        let mut columns = Vec::with_capacity(r.capacity_for(count, 1));
        for _ in 0..count {
            let at = r.position();
            let column = match r.u8("tuple column kind")? {
                b'n' => ColumnData::Null,
                b'u' => ColumnData::UnchangedToast,
                b't' => ColumnData::Text(r.sized_bytes("text column value")?),
                b'b' => ColumnData::Binary(r.sized_bytes("binary column value")?),
                kind => return Err(DecodeError::UnknownTupleKind { kind, at }),
            };
            columns.push(column);
        }
        Ok(TupleData { columns })
    }
}

impl std::ops::Index<usize> for TupleData {
    type Output = ColumnData;

    fn index(&self, index: usize) -> &ColumnData {
        &self.columns[index]
    }
}

impl<'a> IntoIterator for &'a TupleData {
    type Item = &'a ColumnData;
    type IntoIter = std::slice::Iter<'a, ColumnData>;

    fn into_iter(self) -> Self::IntoIter {
        self.columns.iter()
    }
}

impl IntoIterator for TupleData {
    type Item = ColumnData;
    type IntoIter = std::vec::IntoIter<ColumnData>;

    fn into_iter(self) -> Self::IntoIter {
        self.columns.into_iter()
    }
}
