//! Turns a Relation message and the catalog's answers about that table into the
//! [`TableSchema`] the events carry. Pure: the catalog queries are the caller's (see
//! [`Action::NeedTableSchema`](super::Action::NeedTableSchema)).

use crate::{
    catalog::TableDetails,
    config::ReplicationConfig,
    relation::{ColumnSchema, TableSchema},
    types::TypeRegistry,
};

/// The schema of `rel`: its columns as the Relation message lists them, completed with the
/// catalog's facts (`details`; the column types already loaded into `registry`) and the
/// configuration's column, key and table filters.
pub(crate) fn table_schema(
    config: &ReplicationConfig,
    registry: &TypeRegistry,
    rel: &pgoutput::Relation,
    details: TableDetails,
) -> TableSchema {
    let columns = rel
        .columns
        .iter()
        .map(|c| {
            let name = c.name.as_str().to_string();
            let column = details.columns.iter().find(|d| d.name == name);
            let not_null = column.is_some_and(|d| d.not_null);
            let default = column
                .and_then(|d| d.literal_default.clone())
                .map(bytes::Bytes::from);
            let default_expression = column.and_then(|d| d.default_expression.clone());
            let qualified = format!("{}.{}.{name}", rel.namespace.as_str(), rel.name.as_str());
            ColumnSchema {
                included: config.columns.matches(&qualified),
                not_null,
                default,
                default_expression,
                ty: registry.resolve(c.type_oid, c.type_modifier),
                type_oid: c.type_oid,
                type_modifier: c.type_modifier,
                in_replica_identity: c.is_key(),
                name,
            }
        })
        .collect();
    let data_collection = format!("{}.{}", rel.namespace.as_str(), rel.name.as_str());
    let key = config
        .message_key_columns
        .iter()
        .find(|(table, _)| table.is_match(&data_collection))
        .map(|(_, cols)| cols.clone())
        .unwrap_or(details.primary_key);
    let mut schema = TableSchema::new(
        rel.id,
        rel.namespace.as_str().to_string(),
        rel.name.as_str().to_string(),
        columns,
        &key,
        rel.replica_identity,
        &config.topic_prefix,
    );
    schema.captured = config.tables.matches(&schema.data_collection);
    schema
}
