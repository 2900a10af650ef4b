//! Catalog queries on a regular (non-replication) connection: server checks, publication and
//! slot management, primary keys and type details that pgoutput does not send.

use pgoutput::Lsn;

use crate::{
    config::{NameFilter, Operation, PublicationAutocreate, ReplicationConfig},
    conn::{quote_ident, quote_literal, PgConnection},
    types::TypeRegistry,
    Error, ErrorKind, Result,
};

/// What the server told us about itself.
#[derive(Debug, Clone)]
pub struct ServerInfo {
    /// `server_version_num`, e.g. 150004.
    pub version_num: u32,
}

/// Fails with a message that says how to fix it unless the server can do logical decoding.
pub(crate) async fn check_server(conn: &mut PgConnection) -> Result<ServerInfo> {
    let version_num = conn.server_version_num();
    if version_num < 100000 {
        return Err(Error::new(
            ErrorKind::ServerConfiguration,
            format!(
                "PostgreSQL {} is too old: pgoutput logical replication needs PostgreSQL 10 or \
                 newer (12 or newer is supported)",
                conn.parameter("server_version").unwrap_or("?")
            ),
        ));
    }
    let rows = conn.simple_query("SHOW wal_level").await?;
    let wal_level = rows
        .first()
        .and_then(|r| r.get(0))
        .unwrap_or("")
        .to_string();
    if wal_level != "logical" {
        return Err(Error::new(
            ErrorKind::ServerConfiguration,
            format!(
                "the server's wal_level is '{wal_level}', but logical replication needs \
                 'logical': run ALTER SYSTEM SET wal_level = logical (or set it in \
                 postgresql.conf) and restart PostgreSQL"
            ),
        ));
    }
    Ok(ServerInfo { version_num })
}

/// Makes sure the publication exists, creating it as `publication.autocreate.mode` says.
pub(crate) async fn ensure_publication(
    conn: &mut PgConnection,
    config: &ReplicationConfig,
) -> Result<()> {
    let name = &config.publication_name;
    let rows = conn
        .simple_query(&format!(
            "SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = {}",
            quote_literal(name)
        ))
        .await?;
    if !rows.is_empty() {
        return Ok(());
    }
    let db = &config.connection.dbname;
    let publish = publish_clause(config);
    let sql = match config.publication_autocreate {
        PublicationAutocreate::Disabled => return Err(publication_not_found(config)),
        PublicationAutocreate::AllTables => {
            format!(
                "CREATE PUBLICATION {} FOR ALL TABLES{publish}",
                quote_ident(name)
            )
        }
        PublicationAutocreate::NoTables => format!("CREATE PUBLICATION {}", quote_ident(name)),
        PublicationAutocreate::Filtered => {
            let tables = matching_tables(conn, &config.tables).await?;
            if tables.is_empty() {
                return Err(Error::config(format!(
                    "publication.autocreate.mode=filtered, but no table in database \"{db}\" \
                     matches table.include.list; check the patterns (they match \
                     schema.table, anchored)"
                )));
            }
            format!(
                "CREATE PUBLICATION {} FOR TABLE {}{publish}",
                quote_ident(name),
                tables.join(", ")
            )
        }
    };
    tracing::info!(publication = %name, "creating publication");
    conn.execute(&sql).await.map_err(|e| {
        if e.code() == Some("42501") {
            Error::new(
                ErrorKind::Permission,
                format!(
                    "could not create publication \"{name}\": permission denied. FOR ALL TABLES \
                     needs a superuser; create the publication as one, or use \
                     publication.autocreate.mode=filtered with a role that owns the tables"
                ),
            )
            .with_source(e)
        } else {
            e
        }
    })
}

/// The error for a missing publication, saying how to create it.
pub(crate) fn publication_not_found(config: &ReplicationConfig) -> Error {
    let name = &config.publication_name;
    Error::new(
        ErrorKind::PublicationNotFound,
        format!(
            "publication \"{name}\" does not exist in database \"{}\": create it with CREATE \
             PUBLICATION {} FOR ALL TABLES; (or FOR TABLE ...), or let us create it \
             (publication.autocreate.mode=all_tables|filtered, --create-publication, \
             create_publication=True)",
            config.connection.dbname,
            quote_ident(name)
        ),
    )
}

/// The error for a missing replication slot, saying how to create it.
pub(crate) fn slot_not_found(slot: &str) -> Error {
    Error::new(
        ErrorKind::SlotNotFound,
        format!(
            "replication slot \"{slot}\" does not exist: create it with SELECT \
             pg_create_logical_replication_slot('{slot}', 'pgoutput'); or ask us to create it \
             (--create-slot, create_slot=True)"
        ),
    )
}

fn publish_clause(config: &ReplicationConfig) -> String {
    if config.skipped_operations.is_empty() {
        return String::new();
    }
    let ops: Vec<&str> = [
        (Operation::Create, "insert"),
        (Operation::Update, "update"),
        (Operation::Delete, "delete"),
        (Operation::Truncate, "truncate"),
    ]
    .iter()
    .filter(|(op, _)| config.emits(*op))
    .map(|(_, name)| *name)
    .collect();
    format!(" WITH (publish = '{}')", ops.join(", "))
}

async fn matching_tables(conn: &mut PgConnection, filter: &NameFilter) -> Result<Vec<String>> {
    let rows = conn
        .simple_query(
            "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition \
             AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
             AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 1, 2",
        )
        .await?;
    Ok(rows
        .iter()
        .filter_map(|r| Some((r.get(0)?, r.get(1)?)))
        .filter(|(s, t)| filter.matches(&format!("{s}.{t}")))
        .map(|(s, t)| format!("{}.{}", quote_ident(s), quote_ident(t)))
        .collect())
}

/// A replication slot as `pg_replication_slots` shows it.
#[derive(Debug, Clone)]
pub(crate) struct SlotRow {
    pub plugin: String,
    pub database: String,
    pub active_pid: Option<u32>,
    /// Whether prepared transactions are decoded at PREPARE time (PostgreSQL 14+).
    pub two_phase: bool,
    /// Where the slot resumes; `None` before it reached a consistent point.
    pub confirmed_flush: Option<Lsn>,
}

pub(crate) async fn find_slot(conn: &mut PgConnection, name: &str) -> Result<Option<SlotRow>> {
    let two_phase = if conn.server_version_num() >= 140000 {
        "two_phase"
    } else {
        "false"
    };
    let rows = conn
        .simple_query(&format!(
            "SELECT coalesce(plugin, ''), coalesce(database, ''), active_pid, {two_phase}, \
             confirmed_flush_lsn \
             FROM pg_catalog.pg_replication_slots WHERE slot_name = {}",
            quote_literal(name)
        ))
        .await?;
    Ok(rows.first().map(|r| SlotRow {
        plugin: r.get(0).unwrap_or("").to_string(),
        database: r.get(1).unwrap_or("").to_string(),
        active_pid: r.get(2).and_then(|p| p.parse().ok()),
        two_phase: r.get(3) == Some("t"),
        confirmed_flush: r.get(4).and_then(|l| l.parse().ok()),
    }))
}

/// What pgoutput does not say about a table: its primary key and, per column, NOT NULL and
/// literal defaults.
#[derive(Debug, Default)]
pub(crate) struct TableDetails {
    /// Primary-key column names in key order (empty without a primary key).
    pub primary_key: Vec<String>,
    /// Per column.
    pub columns: Vec<ColumnDetails>,
}

/// What the catalog says about one column.
#[derive(Debug, Default)]
pub(crate) struct ColumnDetails {
    pub name: String,
    pub not_null: bool,
    /// The literal default in the type's text form.
    pub literal_default: Option<String>,
    /// The default expression as `pg_get_expr` prints it.
    pub default_expression: Option<String>,
}

pub(crate) async fn table_details(
    conn: &mut PgConnection,
    relation_id: u32,
) -> Result<TableDetails> {
    let pk = conn
        .simple_query(&format!(
            "SELECT a.attname FROM pg_catalog.pg_index i \
             JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid \
               AND a.attnum = ANY (i.indkey::int2[]) \
             WHERE i.indrelid = {relation_id} AND i.indisprimary \
             ORDER BY array_position(i.indkey::int2[], a.attnum)"
        ))
        .await?;
    let cols = conn
        .simple_query(&format!(
            "SELECT a.attname, a.attnotnull, pg_catalog.pg_get_expr(d.adbin, d.adrelid) \
             FROM pg_catalog.pg_attribute a \
             LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
             WHERE a.attrelid = {relation_id} AND a.attnum > 0 AND NOT a.attisdropped"
        ))
        .await?;
    Ok(TableDetails {
        primary_key: pk
            .iter()
            .filter_map(|r| r.get(0).map(str::to_string))
            .collect(),
        columns: cols
            .iter()
            .filter_map(|r| {
                Some(ColumnDetails {
                    name: r.get(0)?.to_string(),
                    not_null: r.get(1) == Some("t"),
                    literal_default: r.get(2).and_then(literal_default),
                    default_expression: r.get(2).map(str::to_string),
                })
            })
            .collect(),
    })
}

fn is_plain_cast(tail: &str) -> bool {
    static CAST: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    CAST.get_or_init(|| {
        regex::Regex::new(r#"^::"?[a-z_][a-z0-9_ ."]*(\(\d+(,\d+)?\))?(\[\])*$"#).expect("valid")
    })
    .is_match(tail)
}

/// The literal of a column default as `pg_get_expr` prints it (`'new'::text`, `0`, `true`,
/// `'2024-01-15 10:31:00'::timestamp without time zone`); `None` for expressions such as
/// `nextval(...)` or `now()`.
pub(crate) fn literal_default(expr: &str) -> Option<String> {
    let expr = expr.trim();
    if let Some(rest) = expr.strip_prefix('\'') {
        let mut out = String::new();
        let mut chars = rest.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                    out.push('\'');
                    continue;
                }
                let tail: String = chars.collect();
                // Only a plain cast may follow (`::text`, `::character varying(20)`); anything
                // else makes it an expression.
                return (tail.is_empty() || is_plain_cast(&tail)).then_some(out);
            }
            out.push(c);
        }
        return None;
    }
    let unparenthesized = expr.trim_start_matches('(').trim_end_matches(')');
    let bare = unparenthesized.split("::").next().unwrap_or("");
    let is_number = !bare.is_empty()
        && bare
            .trim_start_matches('-')
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.');
    if is_number {
        return Some(bare.to_string());
    }
    match expr {
        "true" => Some("t".into()),
        "false" => Some("f".into()),
        _ => None,
    }
}

/// Teaches the registry the types it does not know among `oids` (enums, domains, composites,
/// extension types and arrays of them).
pub(crate) async fn load_types(
    conn: &mut PgConnection,
    registry: &mut TypeRegistry,
    oids: &[u32],
) -> Result<()> {
    let mut missing = registry.unknown_oids(oids);
    // Composite attributes, domain bases and array elements may be unknown too; a few rounds
    // resolve any realistic nesting.
    for _ in 0..4 {
        if missing.is_empty() {
            break;
        }
        let rows = conn
            .simple_query(&crate::types::catalog_query(&missing))
            .await?;
        let rows: Vec<Vec<Option<&str>>> = rows
            .iter()
            .map(|r| (0..r.len()).map(|i| r.get(i)).collect())
            .collect();
        let referenced = registry.load_catalog_rows(&rows)?;
        missing = registry.unknown_oids(&referenced);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::literal_default;

    #[test]
    fn literal_defaults_are_recognised() {
        assert_eq!(literal_default("'new'::text").as_deref(), Some("new"));
        assert_eq!(
            literal_default("'it''s'::character varying").as_deref(),
            Some("it's")
        );
        assert_eq!(
            literal_default("'2024-01-15 10:31:00'::timestamp without time zone").as_deref(),
            Some("2024-01-15 10:31:00")
        );
        assert_eq!(literal_default("0").as_deref(), Some("0"));
        assert_eq!(literal_default("(-1)").as_deref(), Some("-1"));
        assert_eq!(literal_default("100.50").as_deref(), Some("100.50"));
        assert_eq!(literal_default("true").as_deref(), Some("t"));
        assert_eq!(literal_default("nextval('t_id_seq'::regclass)"), None);
        assert_eq!(literal_default("now()"), None);
    }
}
