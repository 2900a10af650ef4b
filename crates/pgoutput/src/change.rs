//! Row changes: Insert ('I'), Update ('U'), Delete ('D') and Truncate ('T').

use crate::error::DecodeError;
use crate::reader::Reader;
use crate::tuple::TupleData;

/// Which old values an Update or Delete carries, decided by the table's replica identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OldTupleKind {
    /// `K`: only the replica-identity key columns are set; other columns are `Null`.
    Key,
    /// `O`: the whole old row (`REPLICA IDENTITY FULL`).
    Old,
}

impl OldTupleKind {
    /// Parses the wire marker byte.
    pub fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            b'K' => Some(OldTupleKind::Key),
            b'O' => Some(OldTupleKind::Old),
            _ => None,
        }
    }

    /// The wire marker byte.
    pub fn as_byte(self) -> u8 {
        match self {
            OldTupleKind::Key => b'K',
            OldTupleKind::Old => b'O',
        }
    }
}

/// The old values of an updated or deleted row.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OldTuple {
    /// Key columns only, or the full old row.
    pub kind: OldTupleKind,
    /// The values.
    pub tuple: TupleData,
}

impl OldTuple {
    /// Decodes the tuple that follows an already-read marker byte found at offset `at`.
    fn decode(r: &mut Reader, marker: u8, at: usize) -> Result<Self, DecodeError> {
        let kind = OldTupleKind::from_byte(marker)
            .ok_or(DecodeError::UnknownOldTupleKind { kind: marker, at })?;
        Ok(OldTuple {
            kind,
            tuple: TupleData::decode(r)?,
        })
    }
}

fn expect_new_tuple_marker(r: &mut Reader) -> Result<(), DecodeError> {
    let at = r.position();
    match r.u8("new tuple marker")? {
        b'N' => Ok(()),
        found => Err(DecodeError::ExpectedNewTuple { found, at }),
    }
}

/// Insert ('I'): a new row.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Insert {
    /// Xid, present only inside a streamed-transaction block (protocol v2+). It is the xid of
    /// the subtransaction that made the change when that differs from the top-level one.
    pub xid: Option<u32>,
    /// OID of the relation (see [`Relation`](crate::Relation)).
    pub relation_id: u32,
    /// The new row.
    pub new: TupleData,
}

impl Insert {
    pub(crate) fn decode(r: &mut Reader, xid: Option<u32>) -> Result<Self, DecodeError> {
        let relation_id = r.u32("relation OID")?;
        expect_new_tuple_marker(r)?;
        Ok(Insert {
            xid,
            relation_id,
            new: TupleData::decode(r)?,
        })
    }
}

/// Update ('U'): a changed row.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Update {
    /// Xid, present only inside a streamed-transaction block (protocol v2+). It is the xid of
    /// the subtransaction that made the change when that differs from the top-level one.
    pub xid: Option<u32>,
    /// OID of the relation.
    pub relation_id: u32,
    /// The old key (`K`, only when a key column changed or is stored externally) or old row
    /// (`O`, `REPLICA IDENTITY FULL`); `None` when not sent.
    pub old: Option<OldTuple>,
    /// The new row. Columns may be [`ColumnData::UnchangedToast`](crate::ColumnData).
    pub new: TupleData,
}

impl Update {
    pub(crate) fn decode(r: &mut Reader, xid: Option<u32>) -> Result<Self, DecodeError> {
        let relation_id = r.u32("relation OID")?;
        let at = r.position();
        let marker = r.u8("update tuple marker")?;
        let old = if marker == b'N' {
            None
        } else {
            let old = OldTuple::decode(r, marker, at)?;
            expect_new_tuple_marker(r)?;
            Some(old)
        };
        Ok(Update {
            xid,
            relation_id,
            old,
            new: TupleData::decode(r)?,
        })
    }
}

/// Delete ('D'): a removed row, identified by its key or full old row.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Delete {
    /// Xid, present only inside a streamed-transaction block (protocol v2+). It is the xid of
    /// the subtransaction that made the change when that differs from the top-level one.
    pub xid: Option<u32>,
    /// OID of the relation.
    pub relation_id: u32,
    /// The old key (`K`) or old row (`O`).
    pub old: OldTuple,
}

impl Delete {
    pub(crate) fn decode(r: &mut Reader, xid: Option<u32>) -> Result<Self, DecodeError> {
        let relation_id = r.u32("relation OID")?;
        let at = r.position();
        let marker = r.u8("old tuple marker")?;
        Ok(Delete {
            xid,
            relation_id,
            old: OldTuple::decode(r, marker, at)?,
        })
    }
}

/// The option bits of a [`Truncate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TruncateOptions(pub u8);

impl TruncateOptions {
    /// Bit set by `TRUNCATE ... CASCADE`.
    pub const CASCADE: u8 = 1;
    /// Bit set by `TRUNCATE ... RESTART IDENTITY`.
    pub const RESTART_IDENTITY: u8 = 2;

    /// Whether `CASCADE` was given.
    pub fn cascade(self) -> bool {
        self.0 & Self::CASCADE != 0
    }

    /// Whether `RESTART IDENTITY` was given.
    pub fn restart_identity(self) -> bool {
        self.0 & Self::RESTART_IDENTITY != 0
    }
}

/// Truncate ('T'): one TRUNCATE statement over one or more published tables.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Truncate {
    /// Xid, present only inside a streamed-transaction block (protocol v2+). It is the xid of
    /// the subtransaction that made the change when that differs from the top-level one.
    pub xid: Option<u32>,
    /// `CASCADE` / `RESTART IDENTITY` bits.
    pub options: TruncateOptions,
    /// OIDs of the truncated relations (including ones reached by `CASCADE`).
    pub relation_ids: Vec<u32>,
}

impl Truncate {
    /// Whether `CASCADE` was given.
    pub fn cascade(&self) -> bool {
        self.options.cascade()
    }

    /// Whether `RESTART IDENTITY` was given.
    pub fn restart_identity(&self) -> bool {
        self.options.restart_identity()
    }

    pub(crate) fn decode(r: &mut Reader, xid: Option<u32>) -> Result<Self, DecodeError> {
        let count = r.u32("truncate relation count")?;
        let options = TruncateOptions(r.u8("truncate options")?);
        let count = usize::try_from(count).unwrap_or(usize::MAX);
        let mut relation_ids = Vec::with_capacity(r.capacity_for(count, 4));
        for _ in 0..count {
            relation_ids.push(r.u32("truncated relation OID")?);
        }
        Ok(Truncate {
            xid,
            options,
            relation_ids,
        })
    }
}
