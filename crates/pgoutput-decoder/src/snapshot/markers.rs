//! Debezium's `source.snapshot` markers on snapshot reads: `first` on the first read,
//! `first_in_data_collection` / `last_in_data_collection` on the first and last read of each
//! other table, `last` on the last read, `true` on the rest. Sans-IO.
//!
//! Tables may be read in parallel, so their reads come interleaved. A read's marker depends on
//! what follows, so each table's latest read is held back until its next read or the table's
//! end, and the last read of the table that finished last is held until any other read comes
//! (or everything is over, when it becomes `last`). Reads are compared as a multiset, so this
//! small reordering is harmless; their sequence numbers are given as they are released.
//!
//! Unlike Debezium, which places `first` and `last` by table position (so an empty first or
//! last table leaves them out), `first` and `last` here always mark the first and the last
//! read there is.

use std::collections::{HashMap, HashSet};

/// A read released with its marker: `table_done` when it is its table's last read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Marked<T> {
    pub read: T,
    pub marker: &'static str,
    pub table: usize,
    pub table_done: bool,
}

/// Marks reads as they come, holding back what the markers need.
#[derive(Debug)]
pub(crate) struct Markers<T> {
    /// Per table, its latest read and whether it was the table's first.
    held: HashMap<usize, (T, bool)>,
    seen: HashSet<usize>,
    /// The last read of the table that finished most recently.
    tail: Option<(usize, T, bool)>,
    released_any: bool,
}

impl<T> Default for Markers<T> {
    fn default() -> Self {
        Markers {
            held: HashMap::new(),
            seen: HashSet::new(),
            tail: None,
            released_any: false,
        }
    }
}

impl<T> Markers<T> {
    /// A new read of `table`; returns what it lets go: the last read of a finished table
    /// (not the last of all, now) and the table's previous read, with their markers.
    pub(crate) fn push(&mut self, table: usize, read: T) -> [Option<Marked<T>>; 2] {
        let tail = self
            .tail
            .take()
            .map(|(t, r, f)| self.release(t, r, f, true, false));
        let first_in_table = self.seen.insert(table);
        let previous = self
            .held
            .insert(table, (read, first_in_table))
            .map(|(previous, first)| self.release(table, previous, first, false, false));
        [tail, previous]
    }

    /// `table` has no more reads; returns the read that was waiting for another table to
    /// finish (the previous finished table's last), if any.
    pub(crate) fn table_done(&mut self, table: usize) -> Option<Marked<T>> {
        let (read, first) = self.held.remove(&table)?;
        let (t, previous, f) = self.tail.replace((table, read, first))?;
        Some(self.release(t, previous, f, true, false))
    }

    /// Every table is done: the last read there is, marked `last` (or `first` when it is the
    /// only one).
    pub(crate) fn finish(&mut self) -> Option<Marked<T>> {
        let (table, read, first) = self.tail.take()?;
        Some(self.release(table, read, first, true, true))
    }

    fn release(
        &mut self,
        table: usize,
        read: T,
        first_in_table: bool,
        last_in_table: bool,
        last_of_all: bool,
    ) -> Marked<T> {
        let first_of_all = !self.released_any;
        self.released_any = true;
        let marker = if first_of_all {
            "first"
        } else if last_of_all {
            "last"
        } else if first_in_table {
            "first_in_data_collection"
        } else if last_in_table {
            "last_in_data_collection"
        } else {
            "true"
        };
        Marked {
            read,
            marker,
            table,
            table_done: last_in_table,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads of tables read one after the other; the markers in release order.
    fn mark(tables: &[usize]) -> Vec<&'static str> {
        let mut m = Markers::default();
        let mut out = Vec::new();
        for (i, &t) in tables.iter().enumerate() {
            if i > 0 && tables[i - 1] != t {
                out.extend(m.table_done(tables[i - 1]).map(|r| r.marker));
            }
            out.extend(m.push(t, i).into_iter().flatten().map(|r| r.marker));
        }
        if let Some(&t) = tables.last() {
            out.extend(m.table_done(t).map(|r| r.marker));
        }
        out.extend(m.finish().map(|r| r.marker));
        assert_eq!(out.len(), tables.len());
        out
    }

    #[test]
    fn as_debezium_marks_two_tables() {
        // The recorded case: authors (2 rows), then books (3 rows).
        assert_eq!(
            mark(&[0, 0, 1, 1, 1]),
            [
                "first",
                "last_in_data_collection",
                "first_in_data_collection",
                "true",
                "last"
            ]
        );
    }

    #[test]
    fn single_rows_and_single_tables() {
        assert_eq!(mark(&[0]), ["first"]);
        assert_eq!(mark(&[0, 0, 0]), ["first", "true", "last"]);
        assert_eq!(
            mark(&[0, 1, 2]),
            ["first", "first_in_data_collection", "last"]
        );
        assert!(mark(&[]).is_empty());
    }

    #[test]
    fn interleaved_tables_get_one_first_one_last_and_their_table_ends() {
        let mut m = Markers::default();
        let mut out = Vec::new();
        for (i, t) in [0, 1, 0, 1, 1, 0].into_iter().enumerate() {
            out.extend(m.push(t, i).into_iter().flatten());
        }
        out.extend(m.table_done(1));
        out.extend(m.table_done(0));
        out.extend(m.finish());
        assert_eq!(out.len(), 6);
        assert_eq!(out[0].marker, "first");
        assert_eq!(out[5].marker, "last");
        // Each table's last read is released as its table's end, after all its other reads.
        for table in [0, 1] {
            let mine: Vec<&Marked<usize>> = out.iter().filter(|r| r.table == table).collect();
            assert!(mine.last().unwrap().table_done);
            assert!(mine[..mine.len() - 1].iter().all(|r| !r.table_done));
        }
        let reads: Vec<usize> = out.iter().map(|r| r.read).collect();
        assert_eq!(sorted_usize(reads), [0, 1, 2, 3, 4, 5]);
    }

    fn sorted_usize(mut v: Vec<usize>) -> Vec<usize> {
        v.sort();
        v
    }
}
