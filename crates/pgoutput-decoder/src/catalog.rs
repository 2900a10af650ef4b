//! Catalog queries on a regular (non-replication) connection: server checks, publication and
//! slot management, primary keys and type details that pgoutput does not send.

use pgoutput::Lsn;

use crate::{
    config::{NameFilter, Operation, PublicationAutocreate, ReplicationConfig},
    conn::{quote_ident, quote_literal, sqlstate, PgConnection},
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
    let mut tables = Vec::new();
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
            tables = matching_tables(conn, &config.tables).await?;
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
    let Err(e) = conn.execute(&sql).await else {
        return Ok(());
    };
    if e.code() != Some(sqlstate::INSUFFICIENT_PRIVILEGE) {
        return Err(e);
    }
    // Say what this role lacks for this mode; the check is best effort.
    let rights = role_rights(conn, &tables).await.ok();
    Err(Error::new(
        ErrorKind::Permission,
        publication_permission_hint(config, &tables, rights.as_ref()),
    )
    .with_source(e))
}

/// What the connecting role has of what `CREATE PUBLICATION` needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RoleRights {
    pub superuser: bool,
    /// CREATE on the current database.
    pub create_on_database: bool,
    /// Those of the tables to publish that the role does not own (as PostgreSQL's ownership
    /// check counts it: owned by the role or by a role whose privileges it has).
    pub not_owned: Vec<String>,
}

async fn role_rights(conn: &mut PgConnection, tables: &[String]) -> Result<RoleRights> {
    let rows = conn
        .simple_query(
            "SELECT rolsuper, pg_catalog.has_database_privilege(pg_catalog.current_database(), \
             'CREATE') FROM pg_catalog.pg_roles WHERE rolname = current_user",
        )
        .await?;
    let row = rows.first();
    let flag = |i: usize| row.and_then(|r| r.get(i)) == Some("t");
    let mut not_owned = Vec::new();
    if !tables.is_empty() {
        let oids: Vec<String> = tables
            .iter()
            .map(|t| format!("{}::pg_catalog.regclass", quote_literal(t)))
            .collect();
        let rows = conn
            .simple_query(&format!(
                "SELECT c.oid::pg_catalog.regclass::text FROM pg_catalog.pg_class c \
                 WHERE c.oid IN ({}) AND NOT pg_catalog.pg_has_role(c.relowner, 'USAGE') \
                 ORDER BY 1",
                oids.join(", ")
            ))
            .await?;
        not_owned = rows
            .iter()
            .filter_map(|r| r.get(0).map(str::to_string))
            .collect();
    }
    Ok(RoleRights {
        superuser: flag(0),
        create_on_database: flag(1),
        not_owned,
    })
}

/// The one-line error for `CREATE PUBLICATION` refused with "permission denied": what the
/// configured `publication.autocreate.mode` needs, what of it this role lacks (when `rights`
/// is known), and the way that needs no rights at all: the tables' owner creates the
/// publication and the mode is `disabled`.
pub(crate) fn publication_permission_hint(
    config: &ReplicationConfig,
    tables: &[String],
    rights: Option<&RoleRights>,
) -> String {
    let name = &config.publication_name;
    let db = &config.connection.dbname;
    let user = &config.connection.user;
    let grant_create = format!(
        "CREATE on database \"{db}\" (GRANT CREATE ON DATABASE {} TO {};)",
        quote_ident(db),
        quote_ident(user)
    );
    let (mode, needs) = match config.publication_autocreate {
        PublicationAutocreate::AllTables => (
            "all_tables",
            format!(
                "creating a publication FOR ALL TABLES needs a superuser, and role \"{user}\" \
                 is not one"
            ),
        ),
        PublicationAutocreate::NoTables => (
            "no_tables",
            format!("creating a publication needs {grant_create}"),
        ),
        PublicationAutocreate::Filtered | PublicationAutocreate::Disabled => {
            let mut missing = Vec::new();
            let lacks_create = rights.is_none_or(|r| !r.create_on_database);
            if lacks_create {
                missing.push(grant_create);
            }
            match rights {
                Some(r) if !r.not_owned.is_empty() => missing.push(format!(
                    "ownership of the published tables, which role \"{user}\" lacks for {} \
                     (PostgreSQL allows FOR TABLE only to a table's owner)",
                    r.not_owned.join(", ")
                )),
                Some(_) => {}
                None => missing.push(
                    "ownership of every published table (PostgreSQL allows FOR TABLE only to \
                     a table's owner)"
                        .into(),
                ),
            }
            let lacks = if missing.is_empty() {
                // The server's refusal follows as the cause.
                "seems to have both, but the server refused".to_string()
            } else if rights.is_some() {
                format!("lacks {}", missing.join(" and "))
            } else {
                format!("may lack {}", missing.join(" and "))
            };
            (
                "filtered",
                format!(
                    "creating a publication FOR TABLE needs CREATE on the database and \
                     ownership of the tables; role \"{user}\" {lacks}"
                ),
            )
        }
    };
    let for_tables = if tables.is_empty() {
        "FOR TABLE ...".to_string()
    } else {
        format!("FOR TABLE {}", tables.join(", "))
    };
    format!(
        "could not create publication \"{name}\" (publication.autocreate.mode={mode}): \
         permission denied: {needs}. Alternatively, create the publication beforehand as the \
         tables' owner (CREATE PUBLICATION {} {for_tables};) and set \
         publication.autocreate.mode=disabled (Python: create_publication=False); \
         streaming then needs only LOGIN and REPLICATION",
        quote_ident(name)
    )
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
    use super::{literal_default, publication_permission_hint, RoleRights};
    use crate::{conn::ConnectParams, PublicationAutocreate, ReplicationConfig};

    fn config(mode: PublicationAutocreate) -> ReplicationConfig {
        let mut c = ReplicationConfig::new(
            ConnectParams::from_dsn("host=h dbname=shop user=cdc").expect("valid dsn"),
        );
        c.publication_name = "shop_pub".into();
        c.publication_autocreate = mode;
        c
    }

    fn rights(create_on_database: bool, not_owned: &[&str]) -> RoleRights {
        RoleRights {
            superuser: false,
            create_on_database,
            not_owned: not_owned.iter().map(|t| t.to_string()).collect(),
        }
    }

    /// The hint never suggests the mode that is already set, and says what is missing.
    #[test]
    fn publication_permission_hint_follows_the_mode() {
        let tables = ["public.customers".to_string(), "public.orders".to_string()];
        let filtered = config(PublicationAutocreate::Filtered);
        let no_create = publication_permission_hint(&filtered, &tables, Some(&rights(false, &[])));
        assert!(
            no_create.contains("(publication.autocreate.mode=filtered)"),
            "{no_create}"
        );
        assert!(!no_create.contains("use publication.autocreate.mode=filtered"));
        assert!(no_create.contains("role \"cdc\" lacks CREATE on database \"shop\""));
        assert!(no_create.contains("GRANT CREATE ON DATABASE \"shop\" TO \"cdc\";"));
        assert!(!no_create.contains("ownership of the published tables, which"));
        assert!(no_create.contains(
            "CREATE PUBLICATION \"shop_pub\" FOR TABLE public.customers, public.orders;) and set \
             publication.autocreate.mode=disabled"
        ));

        let not_owner =
            publication_permission_hint(&filtered, &tables, Some(&rights(true, &["customers"])));
        assert!(!not_owner.contains("GRANT CREATE"), "{not_owner}");
        assert!(not_owner.contains(
            "lacks ownership of the published tables, which role \"cdc\" lacks for customers"
        ));

        // The server's own refusal is the error's cause, not repeated here.
        let both = publication_permission_hint(&filtered, &tables, Some(&rights(true, &[])));
        assert!(
            both.contains("role \"cdc\" seems to have both, but the server refused."),
            "{both}"
        );

        let unknown = publication_permission_hint(&filtered, &tables, None);
        assert!(unknown.contains("may lack CREATE on database"), "{unknown}");
        assert!(unknown.contains("ownership of every published table"));

        let all = publication_permission_hint(
            &config(PublicationAutocreate::AllTables),
            &[],
            Some(&rights(true, &[])),
        );
        assert!(all.contains("needs a superuser"), "{all}");
        assert!(all.contains("FOR TABLE ...;) and set publication.autocreate.mode=disabled"));
    }

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
