//! Rows returned by the simple query protocol (all values in text form).

use std::sync::Arc;

use super::frame::Body;

/// A result column: its name and type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimpleColumn {
    name: String,
    type_oid: u32,
}

impl SimpleColumn {
    /// The column name (or alias).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The OID of the column's data type (`pg_type.oid`).
    pub fn type_oid(&self) -> u32 {
        self.type_oid
    }
}

/// One row of a simple query result. Values are text as PostgreSQL prints them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimpleRow {
    // Shared by all rows of one statement's result.
    columns: Arc<[SimpleColumn]>,
    values: Vec<Option<String>>,
}

impl SimpleRow {
    /// The value of column `idx`; `None` if it is NULL or `idx` is out of range.
    pub fn get(&self, idx: usize) -> Option<&str> {
        self.values.get(idx)?.as_deref()
    }

    /// The value of the first column called `name`; `None` if NULL or no such column.
    pub fn get_by_name(&self, name: &str) -> Option<&str> {
        let idx = self.columns.iter().position(|c| c.name == name)?;
        self.get(idx)
    }

    /// Whether column `idx` is NULL (`false` if out of range).
    pub fn is_null(&self, idx: usize) -> bool {
        matches!(self.values.get(idx), Some(None))
    }

    /// The columns of this row's result.
    pub fn columns(&self) -> &[SimpleColumn] {
        &self.columns
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the row has no columns.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// Parses a `RowDescription` body.
pub(crate) fn parse_row_description(body: &[u8]) -> Option<Arc<[SimpleColumn]>> {
    let mut body = Body(body);
    let count = body.i16()?;
    let mut columns = Vec::with_capacity(count.max(0) as usize);
    for _ in 0..count {
        let name = body.cstr()?.to_owned();
        let _table_oid = body.i32()?;
        let _attnum = body.i16()?;
        let type_oid = body.i32()? as u32;
        let _typlen = body.i16()?;
        let _typmod = body.i32()?;
        let _format = body.i16()?;
        columns.push(SimpleColumn { name, type_oid });
    }
    Some(columns.into())
}

/// Parses a `DataRow` body; `Err` names what was wrong.
pub(crate) fn parse_data_row(
    body: &[u8],
    columns: Arc<[SimpleColumn]>,
) -> Result<SimpleRow, &'static str> {
    let mut body = Body(body);
    let count = body.i16().ok_or("truncated DataRow")?;
    if count as usize != columns.len() {
        return Err("DataRow column count differs from RowDescription");
    }
    let mut values = Vec::with_capacity(columns.len());
    for _ in 0..count {
        let len = body.i32().ok_or("truncated DataRow")?;
        if len < 0 {
            values.push(None);
            continue;
        }
        let raw = body.bytes(len as usize).ok_or("truncated DataRow")?;
        // client_encoding is UTF8, so text values are valid UTF-8.
        let text = std::str::from_utf8(raw).map_err(|_| "DataRow value is not valid UTF-8")?;
        values.push(Some(text.to_owned()));
    }
    Ok(SimpleRow { columns, values })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_access() {
        let columns: Arc<[SimpleColumn]> = vec![
            SimpleColumn {
                name: "a".into(),
                type_oid: 25,
            },
            SimpleColumn {
                name: "b".into(),
                type_oid: 23,
            },
        ]
        .into();
        let mut body = vec![0, 2];
        body.extend_from_slice(&3i32.to_be_bytes());
        body.extend_from_slice(b"xyz");
        body.extend_from_slice(&(-1i32).to_be_bytes());
        let row = parse_data_row(&body, columns.clone()).unwrap();
        assert_eq!(row.get(0), Some("xyz"));
        assert_eq!(row.get(1), None);
        assert!(row.is_null(1) && !row.is_null(0) && !row.is_null(5));
        assert_eq!(row.get_by_name("a"), Some("xyz"));
        assert_eq!(row.get_by_name("zz"), None);
        assert_eq!(row.columns()[1].type_oid(), 23);
        assert_eq!(row.len(), 2);
        assert!(parse_data_row(&body[..6], columns).is_err());
    }
}
