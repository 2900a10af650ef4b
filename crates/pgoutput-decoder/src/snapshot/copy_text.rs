//! One row of `COPY ... TO STDOUT` in text format turned into the tuple a pgoutput message
//! would carry: the same text per column (each type's output function), without COPY's
//! escaping. Sans-IO.

use pgoutput::{ColumnData, TupleData};

use crate::{Error, ErrorKind, Result};

/// Reusable buffers for [`parse_row`].
#[derive(Debug, Default)]
pub(crate) struct RowParser {
    values: Vec<u8>,
    /// Per column: `None` for NULL, else the value's range in `values`.
    fields: Vec<Option<(usize, usize)>>,
}

impl RowParser {
    /// The columns of `line` (one CopyData message, ending with a newline). `columns` is how
    /// many the COPY selected; another count is an error (a select override that returns the
    /// wrong columns).
    pub(crate) fn parse_row(&mut self, line: &[u8], columns: usize) -> Result<TupleData> {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        self.values.clear();
        self.fields.clear();
        if columns > 0 || !line.is_empty() {
            for field in line.split(|&b| b == b'\t') {
                if field == b"\\N" {
                    self.fields.push(None);
                    continue;
                }
                let start = self.values.len();
                unescape(field, &mut self.values)?;
                self.fields.push(Some((start, self.values.len())));
            }
        }
        if self.fields.len() != columns {
            return Err(Error::new(
                ErrorKind::Protocol,
                format!(
                    "a snapshot row has {} columns where {columns} were expected (does a \
                     snapshot.select.statement.overrides statement return the table's columns \
                     in table order?)",
                    self.fields.len()
                ),
            ));
        }
        let values = &self.values;
        Ok(TupleData::from_columns(self.fields.iter().map(
            |f| match f {
                None => ColumnData::Null,
                Some((start, end)) => ColumnData::Text(&values[*start..*end]),
            },
        )))
    }
}

/// Appends `field` without COPY's backslash escapes (`\\`, `\t`, `\n`, `\r`, `\b`, `\f`,
/// `\v`, octal `\NNN` and hex `\xHH`; any other escaped character stands for itself).
fn unescape(field: &[u8], out: &mut Vec<u8>) -> Result<()> {
    let Some(first) = field.iter().position(|&b| b == b'\\') else {
        out.extend_from_slice(field);
        return Ok(());
    };
    out.extend_from_slice(&field[..first]);
    let mut i = first;
    while i < field.len() {
        let b = field[i];
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        let Some(&e) = field.get(i + 1) else {
            return Err(Error::new(
                ErrorKind::Protocol,
                "a snapshot row ends with a lone backslash",
            ));
        };
        i += 2;
        match e {
            b't' => out.push(b'\t'),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'v' => out.push(0x0b),
            b'0'..=b'7' => {
                let mut v = u32::from(e - b'0');
                let mut n = 1;
                while n < 3 && matches!(field.get(i), Some(b'0'..=b'7')) {
                    v = v * 8 + u32::from(field[i] - b'0');
                    i += 1;
                    n += 1;
                }
                out.push(v as u8);
            }
            b'x' if field.get(i).is_some_and(u8::is_ascii_hexdigit) => {
                let mut v = 0u32;
                let mut n = 0;
                while n < 2 && field.get(i).is_some_and(u8::is_ascii_hexdigit) {
                    v = v * 16 + (field[i] as char).to_digit(16).unwrap_or(0);
                    i += 1;
                    n += 1;
                }
                out.push(v as u8);
            }
            other => out.push(other),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(t: &TupleData) -> Vec<Option<Vec<u8>>> {
        t.iter()
            .map(|c| match c {
                ColumnData::Text(b) => Some(b.to_vec()),
                ColumnData::Null => None,
                other => panic!("unexpected {other:?}"),
            })
            .collect()
    }

    #[test]
    fn rows_as_the_server_writes_them() {
        // Bytes of a real COPY TO STDOUT of
        // (1, 'tab\there', NULL, 'back\slash', E'line\nbreak', '', '{a,"b c"}').
        let line = b"1\ttab\\there\t\\N\tback\\\\slash\tline\\nbreak\t\t{a,\"b c\"}\n";
        let mut p = RowParser::default();
        let t = p.parse_row(line, 7).unwrap();
        assert_eq!(
            texts(&t),
            [
                Some(b"1".to_vec()),
                Some(b"tab\there".to_vec()),
                None,
                Some(b"back\\slash".to_vec()),
                Some(b"line\nbreak".to_vec()),
                Some(Vec::new()),
                Some(b"{a,\"b c\"}".to_vec()),
            ]
        );
    }

    #[test]
    fn every_escape_copy_defines() {
        let mut out = Vec::new();
        unescape(b"\\b\\f\\v\\r\\101\\x41\\x4g\\q\\7", &mut out).unwrap();
        assert_eq!(out, b"\x08\x0c\x0b\rAA\x04gq\x07");
        let e = unescape(b"abc\\", &mut Vec::new()).unwrap_err();
        assert!(e.to_string().contains("lone backslash"), "{e}");
    }

    #[test]
    fn a_wrong_column_count_is_a_clear_error() {
        let mut p = RowParser::default();
        let e = p.parse_row(b"1\t2\n", 3).unwrap_err();
        assert!(e.to_string().contains("2 columns where 3"), "{e}");
        // A table without columns sends empty lines.
        assert_eq!(p.parse_row(b"\n", 0).unwrap().len(), 0);
        // One empty text column is not "no columns".
        assert_eq!(texts(&p.parse_row(b"\n", 1).unwrap()), [Some(Vec::new())]);
    }
}
