//! The relation cache: table schemas as pgoutput describes them in Relation messages, joined
//! with what only the catalog knows (the primary key, resolved types).
//!
//! pgoutput sends a Relation message before the first change of a table in a session and again
//! after every schema change, so the cache always reflects the schema that produced the row.
//!
//! The cache holds PostgreSQL facts only (names, columns, types, key columns, replica
//! identity). What an encoder renders from them (Debezium's topic and source block, Kafka
//! Connect schemas) the encoder keeps in its own cache, keyed by the relation OID and the
//! schema's [`generation`](TableSchema::generation).

use std::{
    collections::HashMap,
    hash::{BuildHasherDefault, Hasher},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
};

use pgoutput::{ColumnData, ReplicaIdentity};

use crate::{
    row::{column_value, Row},
    types::{ColumnType, ConvertOptions, Value},
    Result,
};

/// One column of a captured table.
#[derive(Debug, Clone)]
pub struct ColumnSchema {
    /// Column name.
    pub name: String,
    /// Resolved type (domains resolved to their base type).
    pub ty: ColumnType,
    /// The type OID pgoutput sent.
    pub type_oid: u32,
    /// The type modifier pgoutput sent (`-1` when none).
    pub type_modifier: i32,
    /// Whether the column is part of the replica identity pgoutput uses.
    pub in_replica_identity: bool,
    /// Whether `column.include.list`/`column.exclude.list` keep the column in `before`/`after`.
    pub included: bool,
    /// Whether the column is declared NOT NULL.
    pub not_null: bool,
    /// The column's literal default in the type's text form (not for expressions such as
    /// `nextval()` or `now()`).
    pub default: Option<bytes::Bytes>,
    /// The column's `DEFAULT` expression as `pg_get_expr` prints it (`'new'::text`,
    /// `nextval('t_id_seq'::regclass)`, `now()`); the Connect schema's `default` comes from it.
    pub default_expression: Option<String>,
}

impl ColumnSchema {
    /// A column as a Relation message describes it (nullable, no default, not filtered).
    pub fn new(name: impl Into<String>, ty: ColumnType, type_oid: u32, type_modifier: i32) -> Self {
        let name = name.into();
        ColumnSchema {
            name,
            ty,
            type_oid,
            type_modifier,
            in_replica_identity: false,
            included: true,
            not_null: false,
            default: None,
            default_expression: None,
        }
    }
}

/// A captured table's schema.
#[derive(Debug)]
pub struct TableSchema {
    /// The table's OID.
    pub relation_id: u32,
    /// Schema (namespace) name.
    pub schema: String,
    /// Table name.
    pub table: String,
    /// Columns in table order.
    pub columns: Vec<ColumnSchema>,
    /// Positions of the record key's columns (the primary key, in key order); empty when the
    /// table has no primary key, which gives a null key as in Debezium.
    pub key_columns: Vec<usize>,
    /// The table's REPLICA IDENTITY setting.
    pub replica_identity: ReplicaIdentity,
    /// `<prefix>.<schema>.<table>`.
    pub topic: String,
    /// `<schema>.<table>`, Debezium's data collection name.
    pub data_collection: String,
    /// Whether `table.include.list`/`table.exclude.list` let the table's events through
    /// (decided once per Relation message, not per event).
    pub captured: bool,
    /// Positions of the columns that appear in `before`/`after` (all unless a column filter
    /// excludes some).
    pub value_columns: Vec<usize>,
    /// Tells this schema apart from every other `TableSchema` of the process (see
    /// [`generation`](Self::generation)).
    generation: u64,
}

/// The last [`TableSchema::generation`] handed out.
static GENERATION: AtomicU64 = AtomicU64::new(0);

fn next_generation() -> u64 {
    GENERATION.fetch_add(1, Ordering::Relaxed) + 1
}

/// A copy is another schema: it gets its own generation, so that what an encoder cached for
/// the original is not taken for the copy's once its fields are changed.
impl Clone for TableSchema {
    fn clone(&self) -> Self {
        TableSchema {
            relation_id: self.relation_id,
            schema: self.schema.clone(),
            table: self.table.clone(),
            columns: self.columns.clone(),
            key_columns: self.key_columns.clone(),
            replica_identity: self.replica_identity,
            topic: self.topic.clone(),
            data_collection: self.data_collection.clone(),
            captured: self.captured,
            value_columns: self.value_columns.clone(),
            generation: next_generation(),
        }
    }
}

impl TableSchema {
    /// Builds a schema; `key_names` are the primary-key column names in key order.
    pub fn new(
        relation_id: u32,
        schema: String,
        table: String,
        columns: Vec<ColumnSchema>,
        key_names: &[String],
        replica_identity: ReplicaIdentity,
        topic_prefix: &str,
    ) -> Self {
        let columns_len = columns.len();
        let included: Vec<bool> = columns.iter().map(|c| c.included).collect();
        let key_columns = key_names
            .iter()
            .filter_map(|k| columns.iter().position(|c| &c.name == k))
            .collect();
        TableSchema {
            relation_id,
            topic: crate::topic::topic_name(&[topic_prefix, &schema, &table]),
            data_collection: format!("{schema}.{table}"),
            schema,
            table,
            columns,
            key_columns,
            replica_identity,
            captured: true,
            value_columns: (0..columns_len).filter(|&i| included[i]).collect(),
            generation: next_generation(),
        }
    }

    /// A number no other `TableSchema` of this process has (a clone gets a new one): with the
    /// relation OID, what caches of derived forms (an encoder's rendered topic and schemas)
    /// are keyed by, so that a schema change mid-stream, which brings a new `TableSchema`,
    /// invalidates them.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Typed values of a row as `(column name, value)` pairs, in table order.
    pub fn row_values(&self, row: &Row, opts: &ConvertOptions) -> Result<Vec<(String, Value)>> {
        let mut out = Vec::with_capacity(self.value_columns.len());
        for &i in &self.value_columns {
            let col = &self.columns[i];
            let value = match row.raw(i) {
                Some(c) => column_value(&col.ty, c, opts)?,
                None => Value::Null,
            };
            out.push((col.name.clone(), value));
        }
        Ok(out)
    }

    /// Whether the key columns differ between two row images (a primary-key change).
    pub(crate) fn key_differs(&self, old: &Row, new: &Row) -> bool {
        self.key_columns
            .iter()
            .any(|&i| match (old.raw(i), new.raw(i)) {
                (Some(ColumnData::Text(a)), Some(ColumnData::Text(b))) => a != b,
                (Some(ColumnData::Binary(a)), Some(ColumnData::Binary(b))) => a != b,
                // An unchanged-TOAST key column did not change.
                (_, Some(ColumnData::UnchangedToast)) | (Some(ColumnData::UnchangedToast), _) => {
                    false
                }
                (a, b) => {
                    std::mem::discriminant(&a.unwrap_or(ColumnData::Null))
                        != std::mem::discriminant(&b.unwrap_or(ColumnData::Null))
                }
            })
    }
}

/// Table schemas by relation OID.
#[derive(Debug, Default)]
pub struct RelationCache {
    tables: HashMap<u32, Arc<TableSchema>, BuildHasherDefault<OidHasher>>,
}

/// Hashes a relation OID with one multiplication. Every change looks its table up, and the
/// keys are OIDs the server assigned, so the default DoS-resistant hasher buys nothing here.
#[derive(Debug, Default)]
struct OidHasher(u64);

impl Hasher for OidHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u32(&mut self, oid: u32) {
        // Fibonacci hashing: spreads consecutive OIDs over the high bits the table uses.
        self.0 = u64::from(oid).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

impl RelationCache {
    /// The schema of a relation, if a Relation message announced it.
    pub fn get(&self, relation_id: u32) -> Option<&Arc<TableSchema>> {
        self.tables.get(&relation_id)
    }

    /// Stores (or replaces, after a schema change) a relation's schema.
    pub fn insert(&mut self, schema: TableSchema) -> Arc<TableSchema> {
        let schema = Arc::new(schema);
        self.tables.insert(schema.relation_id, schema.clone());
        schema
    }

    /// Number of cached relations.
    pub fn len(&self) -> usize {
        self.tables.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }
}
