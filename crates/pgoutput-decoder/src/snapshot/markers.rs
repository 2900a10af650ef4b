//! Debezium's `source.snapshot` markers on snapshot reads: `first` on the first read,
//! `first_in_data_collection` / `last_in_data_collection` on the first and last read of each
//! other table, `last` on the last read, `true` on the rest. A read's marker depends on the
//! next read, so one read is held back until the next one (or the end) is known. Sans-IO.
//!
//! Unlike Debezium, which places `first` and `last` by table position (so an empty first or
//! last table leaves them out), `first` and `last` here always mark the first and the last
//! read there is.

/// Marks reads as they come, holding one back.
#[derive(Debug)]
pub(crate) struct Markers<T> {
    /// The read waiting for its successor: its table, whether it is its table's first, and
    /// whether it is the first read of all.
    held: Option<Held<T>>,
    any_released: bool,
}

#[derive(Debug)]
struct Held<T> {
    table: usize,
    first_in_table: bool,
    first_of_all: bool,
    read: T,
}

impl<T> Default for Markers<T> {
    fn default() -> Self {
        Markers {
            held: None,
            any_released: false,
        }
    }
}

impl<T> Markers<T> {
    /// A new read of table `table` (tables come one after the other); returns the read
    /// before it with its marker, if there was one.
    pub(crate) fn push(&mut self, table: usize, read: T) -> Option<(T, &'static str)> {
        let first_in_table = self.held.as_ref().is_none_or(|h| h.table != table);
        let first_of_all = self.held.is_none() && !self.any_released;
        let next = Held {
            table,
            first_in_table,
            first_of_all,
            read,
        };
        let previous = self.held.replace(next)?;
        self.any_released = true;
        let marker = marker(&previous, previous.table != table, false);
        Some((previous.read, marker))
    }

    /// No read follows: the held one, marked `last` (or `first` when it is the only one).
    pub(crate) fn finish(&mut self) -> Option<(T, &'static str)> {
        let held = self.held.take()?;
        self.any_released = true;
        let marker = marker(&held, true, true);
        Some((held.read, marker))
    }
}

fn marker<T>(read: &Held<T>, last_in_table: bool, last_of_all: bool) -> &'static str {
    if read.first_of_all {
        "first"
    } else if last_of_all {
        "last"
    } else if read.first_in_table {
        "first_in_data_collection"
    } else if last_in_table {
        "last_in_data_collection"
    } else {
        "true"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(tables: &[usize]) -> Vec<&'static str> {
        let mut m = Markers::default();
        let mut out = Vec::new();
        for (i, &t) in tables.iter().enumerate() {
            out.extend(m.push(t, i).map(|(_, s)| s));
        }
        out.extend(m.finish().map(|(_, s)| s));
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
    fn reads_come_back_in_order() {
        let mut m = Markers::default();
        assert!(m.push(0, "a").is_none());
        assert_eq!(m.push(0, "b"), Some(("a", "first")));
        assert_eq!(m.finish(), Some(("b", "last")));
        assert_eq!(m.finish(), None);
    }
}
