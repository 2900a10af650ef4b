//! The tables a snapshot reads: the publication's tables (with its column lists and row
//! filters, PostgreSQL 15+), narrowed by `table.include.list` and friends and by
//! `snapshot.include.collection.list`; for each, the schema its events carry (the same one a
//! streamed change of the table carries) and the `COPY` that reads it.

use std::sync::Arc;

use bytes::Bytes;
use pgoutput::{PgStr, Relation, RelationColumn, ReplicaIdentity};

use crate::{
    catalog,
    config::ReplicationConfig,
    conn::{quote_ident, quote_literal, PgConnection},
    relation::TableSchema,
    replication,
    types::TypeRegistry,
    Error, Result,
};

/// One table to read.
#[derive(Debug)]
pub(crate) struct SnapshotTable {
    /// The schema its reads carry.
    pub schema: Arc<TableSchema>,
    /// `COPY ... TO STDOUT` reading its published rows and columns.
    pub copy_sql: String,
    /// Columns the `COPY` returns.
    pub columns: usize,
    /// The planner's row estimate (`pg_class.reltuples`; -1 or 0 when never analysed).
    pub estimated_rows: i64,
}

impl SnapshotTable {
    /// `schema.table`.
    pub(crate) fn name(&self) -> &str {
        &self.schema.data_collection
    }
}

/// The tables `config`'s snapshot reads, ordered by schema and name, except those in `skip`
/// (already done by an earlier run).
pub(crate) async fn snapshot_tables(
    conn: &mut PgConnection,
    config: &ReplicationConfig,
    registry: &mut TypeRegistry,
    skip: &[String],
) -> Result<Vec<SnapshotTable>> {
    let v15 = conn.server_version_num() >= 150000;
    let rowfilter = if v15 { "pt.rowfilter" } else { "NULL" };
    let rows = conn
        .simple_query(&format!(
            "SELECT c.oid, pt.schemaname, pt.tablename, c.relreplident, {rowfilter}, \
             c.reltuples::int8, c.relkind \
             FROM pg_catalog.pg_publication_tables pt \
             JOIN pg_catalog.pg_namespace n ON n.nspname = pt.schemaname \
             JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename \
             WHERE pt.pubname = {} ORDER BY pt.schemaname, pt.tablename",
            quote_literal(&config.publication_name)
        ))
        .await?;
    let mut tables = Vec::new();
    for row in &rows {
        let field = |i: usize| row.get(i).unwrap_or_default().to_string();
        let (schema_name, table_name) = (field(1), field(2));
        let qualified = format!("{schema_name}.{table_name}");
        if skip.contains(&qualified)
            || !config.tables.matches(&qualified)
            || config
                .snapshot_include
                .as_ref()
                .is_some_and(|inc| !inc.iter().any(|re| re.is_match(&qualified)))
        {
            continue;
        }
        let oid: u32 = field(0)
            .parse()
            .map_err(|_| Error::config(format!("{qualified}: the catalog gave no table OID")))?;
        let identity = field(3).bytes().next().unwrap_or(b'd');
        let rel = relation(conn, oid, &schema_name, &table_name, identity, v15, config).await?;
        let oids: Vec<u32> = rel.columns.iter().map(|c| c.type_oid).collect();
        catalog::load_types(conn, registry, &oids).await?;
        let details = catalog::table_details(conn, oid).await?;
        let schema = replication::table_schema(config, registry, &rel, details);
        let copy_sql = copy_statement(
            config,
            &qualified,
            &schema_name,
            &table_name,
            &rel,
            row.get(4),
            field(6) == "p",
        );
        tables.push(SnapshotTable {
            schema: Arc::new(schema),
            copy_sql,
            columns: rel.columns.len(),
            estimated_rows: field(5).parse().unwrap_or(-1),
        });
    }
    Ok(tables)
}

/// The table as a Relation message would describe it: its published columns in table order,
/// with the replica identity key flagged.
async fn relation(
    conn: &mut PgConnection,
    oid: u32,
    schema: &str,
    table: &str,
    identity: u8,
    v15: bool,
    config: &ReplicationConfig,
) -> Result<Relation> {
    // PostgreSQL 15+ lists the published columns (a column list, or every column the
    // publication sends); before that, every column but generated ones.
    let published = if v15 {
        format!(
            "a.attname = ANY ((SELECT attnames FROM pg_catalog.pg_publication_tables \
             WHERE pubname = {} AND schemaname = {} AND tablename = {})::name[])",
            quote_literal(&config.publication_name),
            quote_literal(schema),
            quote_literal(table)
        )
    } else {
        "a.attgenerated = ''".to_string()
    };
    let rows = conn
        .simple_query(&format!(
            "SELECT a.attname, a.atttypid, a.atttypmod, \
             c.relreplident = 'f' OR EXISTS (SELECT 1 FROM pg_catalog.pg_index i \
               WHERE i.indrelid = c.oid AND a.attnum = ANY (i.indkey::int2[]) \
               AND (i.indisreplident OR (c.relreplident = 'd' AND i.indisprimary))) \
             FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
             WHERE a.attrelid = {oid} AND a.attnum > 0 AND NOT a.attisdropped AND {published} \
             ORDER BY a.attnum"
        ))
        .await?;
    let text = |s: &str| PgStr::from_utf8(Bytes::copy_from_slice(s.as_bytes())).expect("UTF-8");
    let columns = rows
        .iter()
        .map(|r| RelationColumn {
            flags: u8::from(r.get(3) == Some("t")) * RelationColumn::FLAG_KEY,
            name: text(r.get(0).unwrap_or_default()),
            type_oid: r.get(1).and_then(|v| v.parse().ok()).unwrap_or(0),
            type_modifier: r.get(2).and_then(|v| v.parse().ok()).unwrap_or(-1),
        })
        .collect();
    Ok(Relation {
        xid: None,
        id: oid,
        namespace: text(schema),
        name: text(table),
        replica_identity: ReplicaIdentity::from_byte(identity).unwrap_or(ReplicaIdentity::Default),
        columns,
    })
}

/// `COPY` of the table's published columns: the table itself when it can, a `SELECT` under a
/// row filter, for a partitioned table, or the user's `snapshot.select.statement.overrides`.
fn copy_statement(
    config: &ReplicationConfig,
    qualified: &str,
    schema: &str,
    table: &str,
    rel: &Relation,
    row_filter: Option<&str>,
    partitioned: bool,
) -> String {
    if let Some((_, select)) = config
        .snapshot_select_overrides
        .iter()
        .find(|(t, _)| t == qualified)
    {
        return format!("COPY ({}) TO STDOUT", select.trim().trim_end_matches(';'));
    }
    let target = format!("{}.{}", quote_ident(schema), quote_ident(table));
    let columns: Vec<String> = rel.columns.iter().map(|c| quote_ident(&c.name)).collect();
    let columns = columns.join(", ");
    match (row_filter, partitioned, columns.is_empty()) {
        (None, false, true) => format!("COPY {target} TO STDOUT"),
        (None, false, false) => format!("COPY {target} ({columns}) TO STDOUT"),
        (filter, _, _) => {
            let select = if columns.is_empty() { "" } else { &columns };
            let filter = filter.map(|f| format!(" WHERE {f}")).unwrap_or_default();
            format!("COPY (SELECT {select} FROM {target}{filter}) TO STDOUT")
        }
    }
}
