//! Relation ('R') and Type ('Y'): the schema descriptions sent before the first change of a
//! table or of a column with a non-built-in type.

use crate::error::DecodeError;
use crate::pg_str::PgStr;
use crate::reader::Reader;

/// A table's `REPLICA IDENTITY` setting: which old-row columns Update and Delete carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReplicaIdentity {
    /// `d`: the primary key (old key sent as `K` tuples).
    Default,
    /// `n`: nothing; no old values.
    Nothing,
    /// `f`: all columns (old row sent as `O` tuples).
    Full,
    /// `i`: the columns of a chosen unique index (`K` tuples).
    Index,
}

impl ReplicaIdentity {
    /// Parses the wire byte.
    pub fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            b'd' => Some(ReplicaIdentity::Default),
            b'n' => Some(ReplicaIdentity::Nothing),
            b'f' => Some(ReplicaIdentity::Full),
            b'i' => Some(ReplicaIdentity::Index),
            _ => None,
        }
    }

    /// The wire byte (`pg_class.relreplident`).
    pub fn as_byte(self) -> u8 {
        match self {
            ReplicaIdentity::Default => b'd',
            ReplicaIdentity::Nothing => b'n',
            ReplicaIdentity::Full => b'f',
            ReplicaIdentity::Index => b'i',
        }
    }
}

/// One column of a [`Relation`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RelationColumn {
    /// Flags; bit 1 ([`RelationColumn::FLAG_KEY`]) marks a replica-identity key column.
    pub flags: u8,
    /// Column name.
    pub name: PgStr,
    /// OID of the column's data type.
    pub type_oid: u32,
    /// Type modifier (`atttypmod`), e.g. `24` for `varchar(20)`; `-1` when none.
    pub type_modifier: i32,
}

impl RelationColumn {
    /// The flag bit marking a key column.
    pub const FLAG_KEY: u8 = 1;

    /// Whether the column is part of the replica identity key.
    pub fn is_key(&self) -> bool {
        self.flags & Self::FLAG_KEY != 0
    }
}

/// Relation ('R'): describes a table; sent before its first change in a session and again
/// whenever its definition changed. Later messages refer to it by [`Relation::id`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Relation {
    /// Xid, present only inside a streamed-transaction block (protocol v2+). It is the xid of
    /// the subtransaction that made the change when that differs from the top-level one.
    pub xid: Option<u32>,
    /// OID of the relation.
    pub id: u32,
    /// Schema name; empty for `pg_catalog`.
    pub namespace: PgStr,
    /// Table name (unquoted, exactly as stored).
    pub name: PgStr,
    /// The table's replica identity setting.
    pub replica_identity: ReplicaIdentity,
    /// Published columns, in the order tuple data uses.
    pub columns: Vec<RelationColumn>,
}

impl Relation {
    /// The replica-identity key columns with their positions in tuple data.
    pub fn key_columns(&self) -> impl Iterator<Item = (usize, &RelationColumn)> {
        self.columns.iter().enumerate().filter(|(_, c)| c.is_key())
    }

    pub(crate) fn decode(r: &mut Reader, xid: Option<u32>) -> Result<Self, DecodeError> {
        let id = r.u32("relation OID")?;
        let namespace = r.cstr("relation namespace")?;
        let name = r.cstr("relation name")?;
        let at = r.position();
        let identity = r.u8("replica identity")?;
        let replica_identity =
            ReplicaIdentity::from_byte(identity).ok_or(DecodeError::UnknownReplicaIdentity {
                value: identity,
                at,
            })?;
        let count = usize::from(r.u16("relation column count")?);
        // flags + NUL of an empty name + type OID + type modifier.
        let mut columns = Vec::with_capacity(r.capacity_for(count, 10));
        for _ in 0..count {
            columns.push(RelationColumn {
                flags: r.u8("column flags")?,
                name: r.cstr("column name")?,
                type_oid: r.u32("column type OID")?,
                type_modifier: r.i32("column type modifier")?,
            });
        }
        Ok(Relation {
            xid,
            id,
            namespace,
            name,
            replica_identity,
            columns,
        })
    }
}

/// Type ('Y'): names a non-built-in data type (enum, domain, composite, ...) used by a
/// published column, sent before the Relation that uses it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Type {
    /// Xid, present only inside a streamed-transaction block (protocol v2+). It is the xid of
    /// the subtransaction that made the change when that differs from the top-level one.
    pub xid: Option<u32>,
    /// OID of the data type.
    pub id: u32,
    /// Schema name; empty for `pg_catalog`.
    pub namespace: PgStr,
    /// Type name.
    pub name: PgStr,
}

impl Type {
    pub(crate) fn decode(r: &mut Reader, xid: Option<u32>) -> Result<Self, DecodeError> {
        Ok(Type {
            xid,
            id: r.u32("type OID")?,
            namespace: r.cstr("type namespace")?,
            name: r.cstr("type name")?,
        })
    }
}
