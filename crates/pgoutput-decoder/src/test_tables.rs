//! Small tables and rows built by hand for unit tests of the encoder and the transforms.

use std::sync::Arc;

use pgoutput::{ColumnData, ReplicaIdentity, TupleData};

use crate::{
    event::Row,
    relation::{ColumnSchema, TableSchema},
    types::TypeRegistry,
};

/// `public.<name>` with an `int` key `id` and one `text` column `second`.
pub(crate) fn id_text_table(
    name: &str,
    second: &str,
    identity: ReplicaIdentity,
    topic_prefix: &str,
) -> Arc<TableSchema> {
    let registry = TypeRegistry::new();
    let columns = [("id", 23), (second, 25)]
        .iter()
        .map(|&(n, oid)| ColumnSchema::new(n, registry.resolve(oid, -1), oid, -1))
        .collect();
    Arc::new(TableSchema::new(
        16384,
        "public".into(),
        name.into(),
        columns,
        &["id".into()],
        identity,
        topic_prefix,
    ))
}

/// A row of [`id_text_table`], both values in text form.
pub(crate) fn id_text_row(id: &str, second: &str) -> Row {
    Row::new(TupleData::from_columns([
        ColumnData::Text(id.as_bytes()),
        ColumnData::Text(second.as_bytes()),
    ]))
}
