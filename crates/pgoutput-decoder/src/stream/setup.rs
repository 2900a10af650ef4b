//! Everything before the first byte of WAL: connect, check the server, make sure the
//! publication and slot exist, and start replication with options the server supports.

use std::time::{Duration, Instant};

use pgoutput::Lsn;

use crate::{
    catalog::{self, ServerInfo},
    config::ReplicationConfig,
    conn::{self, quote_ident, CreateSlotOptions, PgConnection},
    Error, ErrorKind, Result,
};

/// How long to wait for a slot still held by another connection (typically the walsender of a
/// consumer that just died, which lingers until `wal_sender_timeout`) before giving up.
pub(crate) const SLOT_BUSY_WAIT: Duration = Duration::from_secs(10);

/// A started replication session.
pub(crate) struct Started {
    pub catalog: PgConnection,
    pub stream: conn::ReplicationStream,
    pub server: ServerInfo,
    pub start_lsn: Lsn,
    /// How long nothing may arrive before the connection counts as dead (`None`: no limit).
    pub receive_timeout: Option<Duration>,
}

/// pgoutput protocol version: 2 (streaming of in-progress transactions) on PostgreSQL 14+
/// when streaming is enabled, else 1.
pub(crate) fn protocol_version(config: &ReplicationConfig, server_version: u32) -> u32 {
    if config.streaming && server_version >= 140000 {
        2
    } else {
        1
    }
}

/// The pgoutput options for START_REPLICATION, chosen by server version.
pub(crate) fn pgoutput_options(
    config: &ReplicationConfig,
    server_version: u32,
) -> Vec<(&'static str, String)> {
    // publication_names is a list of identifiers inside a string literal; conn quotes the
    // literal, we quote the identifier.
    let proto = protocol_version(config, server_version);
    let mut options = vec![
        ("proto_version", proto.to_string()),
        ("publication_names", quote_ident(&config.publication_name)),
    ];
    if proto >= 2 {
        // Large transactions arrive in chunks as they happen instead of spilling to the
        // server's disk until commit; the stream buffers them (spool.rs).
        options.push(("streaming", "on".to_string()));
    }
    if server_version >= 140000 {
        // Logical decoding messages (pg_logical_emit_message) are sent only when asked.
        options.push(("messages", "true".to_string()));
    }
    options
}

pub(crate) async fn start(config: &ReplicationConfig) -> Result<Started> {
    config.validate()?;
    let mut catalog = PgConnection::connect(&config.connection, false).await?;
    let server = catalog::check_server(&mut catalog).await?;
    catalog::ensure_publication(&mut catalog, config).await?;
    let slot = &config.slot_name;
    let db = &config.connection.dbname;

    let deadline = Instant::now() + SLOT_BUSY_WAIT;
    let mut need_create = false;
    loop {
        match catalog::find_slot(&mut catalog, slot).await? {
            None if config.create_slot => {
                need_create = true;
                break;
            }
            None => return Err(catalog::slot_not_found(slot)),
            Some(row) if row.plugin != "pgoutput" => {
                return Err(Error::config(format!(
                    "replication slot \"{slot}\" uses the output plugin \"{}\", not pgoutput: \
                     drop it or choose another slot.name",
                    row.plugin
                )))
            }
            Some(row) if row.database != *db => {
                return Err(Error::config(format!(
                    "replication slot \"{slot}\" belongs to database \"{}\", not \"{db}\": \
                     a logical slot serves one database; choose another slot.name",
                    row.database
                )))
            }
            Some(row) => match row.active_pid {
                Some(pid) if Instant::now() < deadline => {
                    tracing::info!(slot = %slot, pid, "slot is still held by another connection; waiting");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Some(pid) => return Err(slot_in_use(slot, pid)),
                None => break,
            },
        }
    }

    // With several hosts, replicate from the server the catalog connection chose.
    let (host, port) = catalog.server();
    let mut repl = PgConnection::connect(&config.connection.for_host(host, port), true).await?;
    if need_create {
        let options = CreateSlotOptions {
            failover: config.slot_failover,
            ..CreateSlotOptions::default()
        };
        match repl.create_logical_slot(slot, &options).await {
            Ok(info) => {
                tracing::info!(slot = %slot, consistent_point = %Lsn(info.consistent_point), failover = config.slot_failover, "created replication slot")
            }
            // Someone created it between our check and now: use theirs.
            Err(e) if e.code() == Some("42710") => {}
            Err(e) => return Err(classify(e, config)),
        }
    }
    let receive_timeout = match config.receive_timeout {
        Some(t) if t.is_zero() => None,
        Some(t) => Some(t),
        None => wal_sender_timeout(&mut repl).await?.map(|t| t * 2),
    };
    let start_lsn = config.start_lsn.unwrap_or(Lsn::ZERO);
    let options = pgoutput_options(config, server.version_num);
    let stream = repl
        .start_logical_replication(slot, start_lsn.0, &options)
        .await
        .map_err(|e| classify(e, config))?;
    tracing::info!(slot = %slot, publication = %config.publication_name, start = %start_lsn, "streaming started");
    Ok(Started {
        catalog,
        stream,
        server,
        start_lsn,
        receive_timeout,
    })
}

/// The walsender's `wal_sender_timeout` (`None` when 0, i.e. off).
async fn wal_sender_timeout(repl: &mut PgConnection) -> Result<Option<Duration>> {
    let rows = repl
        .simple_query(
            "SELECT setting FROM pg_catalog.pg_settings WHERE name = 'wal_sender_timeout'",
        )
        .await?;
    let ms: u64 = rows
        .first()
        .and_then(|r| r.get(0))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Ok((ms > 0).then(|| Duration::from_millis(ms)))
}

fn slot_in_use(slot: &str, pid: u32) -> Error {
    Error::new(
        ErrorKind::SlotInUse,
        format!(
            "replication slot \"{slot}\" is in use by another connection (PID {pid}): stop the \
             other consumer, or terminate it with SELECT pg_terminate_backend({pid}); one slot \
             serves one consumer"
        ),
    )
}

/// Gives server errors that concern the slot or publication their own kind and a message that
/// says what to do.
pub(crate) fn classify(e: Error, config: &ReplicationConfig) -> Error {
    let Some(db) = e.db_error().cloned() else {
        return e;
    };
    let msg = db.message.as_str();
    match db.code.as_str() {
        "42704" if msg.contains("publication") => {
            catalog::publication_not_found(config).with_db_error(db)
        }
        "42704" if msg.contains("replication slot") => {
            catalog::slot_not_found(&config.slot_name).with_db_error(db)
        }
        "55006" => {
            let pid = msg
                .rsplit(' ')
                .next()
                .and_then(|p| p.parse().ok())
                .unwrap_or(0);
            slot_in_use(&config.slot_name, pid).with_db_error(db)
        }
        "55000" if msg.contains("wal_level") => Error::new(
            ErrorKind::ServerConfiguration,
            format!(
                "logical decoding needs wal_level = logical: run ALTER SYSTEM SET wal_level = \
                 logical and restart PostgreSQL ({msg})"
            ),
        )
        .with_db_error(db),
        "42501" => Error::new(
            ErrorKind::Permission,
            format!(
                "permission denied: the role needs the REPLICATION attribute (ALTER ROLE ... \
                 WITH REPLICATION) and SELECT on the published tables ({msg})"
            ),
        )
        .with_db_error(db),
        _ => e,
    }
}
