//! The chunk window of an incremental snapshot (DBLog): sans-IO.
//!
//! The connection task writes a low watermark (`pg_logical_emit_message`, non-transactional,
//! so nothing is written to user tables), reads one chunk of a table by key, and writes a high
//! watermark. Both watermarks come back through the stream in WAL order. Every change of the
//! table that the stream delivers between them is newer than, or as new as, what the chunk
//! read, so the chunk rows with those keys are dropped; the rest are emitted as reads at the
//! high watermark. No read of a row is ever emitted after a later change of that row.

use std::collections::HashSet;

use crate::{
    event::{Event, EventKind},
    row::Row,
};

/// Prefix of the watermark messages: `low:<id>` and `high:<id>`.
pub(crate) const WATERMARK_PREFIX: &str = "pgoutput-decoder.watermark";

/// A watermark seen in the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Watermark {
    Low(String),
    High(String),
}

impl Watermark {
    pub(crate) fn parse(content: &[u8]) -> Option<Watermark> {
        let text = std::str::from_utf8(content).ok()?;
        if let Some(id) = text.strip_prefix("low:") {
            Some(Watermark::Low(id.to_string()))
        } else {
            text.strip_prefix("high:")
                .map(|id| Watermark::High(id.to_string()))
        }
    }
}

/// One chunk's window: opened by the task before it writes the low watermark.
#[derive(Debug)]
pub(crate) struct Window {
    pub id: String,
    /// `schema.table` of the chunk.
    pub table: String,
    /// Columns whose text identifies a row (the key, or the signal's surrogate key).
    pub key_columns: Vec<usize>,
    /// The low watermark came through: changes of the table count from now.
    pub open: bool,
    /// Keys of the table's rows changed inside the window.
    pub changed: HashSet<Vec<u8>>,
}

impl Window {
    pub(crate) fn new(id: String, table: String, key_columns: Vec<usize>) -> Self {
        Window {
            id,
            table,
            key_columns,
            open: false,
            changed: HashSet::new(),
        }
    }

    /// Notes the keys of `events` that change the chunk's table while the window is open.
    pub(crate) fn observe(&mut self, events: &[Event]) {
        if !self.open {
            return;
        }
        for event in events {
            let EventKind::Change(change) = &event.kind else {
                continue;
            };
            if change.table.data_collection != self.table {
                continue;
            }
            for row in [&change.before, &change.after].into_iter().flatten() {
                if let Some(key) = key_of(row, &self.key_columns) {
                    self.changed.insert(key);
                }
            }
        }
    }

    /// Whether the chunk row `row` was changed inside the window (its read would be stale).
    pub(crate) fn superseded(&self, row: &Row) -> bool {
        key_of(row, &self.key_columns).is_some_and(|k| self.changed.contains(&k))
    }
}

/// The text of `row`'s `columns`, length-prefixed; `None` when one of them is missing from the
/// image (a key-only image without a surrogate key column).
pub(crate) fn key_of(row: &Row, columns: &[usize]) -> Option<Vec<u8>> {
    let mut key = Vec::new();
    for &i in columns {
        let column = row.tuple.get(i)?;
        if column.is_unchanged_toast() {
            return None;
        }
        match column.value() {
            Some(v) => {
                key.extend_from_slice(&(v.len() as u32).to_be_bytes());
                key.extend_from_slice(v);
            }
            None => key.extend_from_slice(&u32::MAX.to_be_bytes()),
        }
    }
    Some(key)
}
