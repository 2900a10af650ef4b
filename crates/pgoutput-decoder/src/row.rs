//! Row images as pgoutput sent them, and the conversion of one column to a typed [`Value`].
//!
//! Below the relation cache and the events in the module order (see the crate docs): both use
//! rows, neither is needed to read one.

use pgoutput::{ColumnData, TupleData};

use crate::{
    types::{parse_value, ColumnType, ConvertOptions, Value},
    Error, ErrorKind, Result,
};

/// One row image (`before` or `after`), as sent by the server.
#[derive(Debug, Clone)]
pub struct Row {
    pub(crate) tuple: TupleData,
    /// Whether this is a key-only image (pgoutput's 'K' tuple): columns outside the replica
    /// identity are null because the WAL did not carry them, not because they are null.
    pub(crate) key_only: bool,
}

impl Row {
    /// A row image from decoded tuple data (what pgoutput sent for the new or old row).
    pub fn new(tuple: TupleData) -> Self {
        Row {
            tuple,
            key_only: false,
        }
    }

    pub(crate) fn key_image(tuple: TupleData) -> Self {
        Row {
            tuple,
            key_only: true,
        }
    }

    /// Whether this is a key-only image: columns outside the replica identity were not sent.
    pub fn is_key_only(&self) -> bool {
        self.key_only
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.tuple.len()
    }

    /// Whether the row has no columns.
    pub fn is_empty(&self) -> bool {
        self.tuple.is_empty()
    }

    /// The raw column as pgoutput sent it.
    pub fn raw(&self, index: usize) -> Option<ColumnData<'_>> {
        self.tuple.get(index)
    }

    /// The column's text, if it was sent in text form.
    pub fn text(&self, index: usize) -> Option<&[u8]> {
        match self.tuple.get(index) {
            Some(ColumnData::Text(b)) => Some(b),
            _ => None,
        }
    }

    /// The pgoutput tuple behind this row.
    pub fn tuple(&self) -> &TupleData {
        &self.tuple
    }
}

pub(crate) fn column_value(
    ty: &ColumnType,
    data: ColumnData<'_>,
    opts: &ConvertOptions,
) -> Result<Value> {
    match data {
        ColumnData::Null => Ok(Value::Null),
        ColumnData::UnchangedToast => Ok(Value::Unavailable),
        ColumnData::Text(text) => parse_value(ty, text, opts),
        ColumnData::Binary(_) => Err(Error::new(
            ErrorKind::Decoding,
            "binary-format column values are not supported; do not request pgoutput binary mode",
        )),
    }
}
