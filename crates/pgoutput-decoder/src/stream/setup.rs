//! Everything before the first byte of WAL: connect, check the server, make sure the
//! publication and slot exist, and start replication with options the server supports.

use std::time::{Duration, Instant};

use pgoutput::Lsn;
use tracing::Instrument;

use crate::{
    catalog::{self, ServerInfo},
    config::{PublicationAutocreate, ReplicationConfig},
    conn::{
        self, quote_ident,
        sqlstate::{self, Phase},
        CreateSlotOptions, PgConnection, SnapshotAction,
    },
    snapshot, Error, ErrorKind, Result,
};

/// How long to wait for a slot still held by another connection (typically the walsender of a
/// consumer that just died, which lingers until `wal_sender_timeout`) before giving up.
pub(crate) const SLOT_BUSY_WAIT: Duration = Duration::from_secs(10);

/// How often to look again at a slot held by another connection.
const SLOT_BUSY_RETRY: Duration = Duration::from_millis(500);

/// Whether the `waits`-th look at a busy slot (0 the first) is worth a log line: the first one,
/// then after 1, 2, 4, 8, 16 s and every 30 s after that, rather than every half second.
fn busy_wait_log_due(waits: u32) -> bool {
    // Looks are SLOT_BUSY_RETRY (0.5 s) apart: look 2 is at 1 s, 4 at 2 s, ...
    const EVERY_30_S: u32 = 60;
    match waits {
        0 => true,
        n if n < EVERY_30_S => n.is_power_of_two() && n >= 2,
        n => n % EVERY_30_S == 0,
    }
}

/// A start position for the log: `X/Y`, or, at `0/0` (nothing given), where the server starts
/// instead: the slot's confirmed position, named when known.
pub(crate) fn describe_start(start: Lsn, slot_confirmed: Option<Lsn>) -> String {
    match (start, slot_confirmed) {
        (Lsn::ZERO, Some(confirmed)) if confirmed != Lsn::ZERO => {
            format!("{confirmed} (the slot's confirmed position)")
        }
        (Lsn::ZERO, _) => "the slot's confirmed position".to_string(),
        (start, _) => start.to_string(),
    }
}

/// A started replication session.
pub(crate) struct Started {
    pub catalog: PgConnection,
    pub stream: conn::ReplicationStream,
    pub server: ServerInfo,
    /// How long nothing may arrive before the connection counts as dead (`None`: no limit).
    pub receive_timeout: Option<Duration>,
}

/// Everything up to START_REPLICATION: the server checked, the publication and slot there,
/// and what to do before streaming ([`snapshot::Decision`]).
pub(crate) struct Prepared {
    pub catalog: PgConnection,
    repl: PgConnection,
    pub server: ServerInfo,
    pub slot_confirmed: Option<Lsn>,
    /// The snapshot exported by the slot created now: its name and the consistent point.
    pub exported: Option<(String, Lsn)>,
    /// The server's system identifier: it tells this server's snapshot progress from
    /// another's.
    pub system_id: String,
    pub decision: snapshot::Decision,
}

/// pgoutput protocol version: 3 (two-phase commit) on PostgreSQL 15+ when two-phase decoding
/// is enabled, 2 (streaming of in-progress transactions) on PostgreSQL 14+ when streaming is
/// enabled, else 1.
pub(crate) fn protocol_version(config: &ReplicationConfig, server_version: u32) -> u32 {
    if config.two_phase && server_version >= 150000 {
        3
    } else if config.streaming && server_version >= 140000 {
        2
    } else {
        1
    }
}

/// `server_version_num` as people write it: 150004 → "15.4".
fn version_text(server_version: u32) -> String {
    format!("{}.{}", server_version / 10000, server_version % 10000)
}

/// Two-phase decoding needs the `two_phase` option of pgoutput, new in PostgreSQL 15.
pub(crate) fn check_two_phase_supported(
    config: &ReplicationConfig,
    server_version: u32,
) -> Result<()> {
    if config.two_phase && server_version < 150000 {
        return Err(Error::new(
            ErrorKind::ServerConfiguration,
            format!(
                "two-phase decoding (two.phase.enabled) needs PostgreSQL 15 or later, but the \
                 server is {}: upgrade the server, or turn two-phase decoding off (prepared \
                 transactions are then delivered at COMMIT PREPARED)",
                version_text(server_version)
            ),
        ));
    }
    Ok(())
}

/// Failover slots (kept in sync on standbys) are new in PostgreSQL 17. Refused before
/// anything is created, rather than when the slot is.
pub(crate) fn check_failover_supported(
    config: &ReplicationConfig,
    server_version: u32,
) -> Result<()> {
    if config.slot_failover && server_version < 170000 {
        return Err(Error::new(
            ErrorKind::ServerConfiguration,
            format!(
                "failover slots (slot.failover) need PostgreSQL 17 or later, but the server is \
                 {}: upgrade the server, or turn slot.failover off (after a failover, the \
                 slot then has to be created again on the new primary, and changes made \
                 before that are not streamed)",
                version_text(server_version)
            ),
        ));
    }
    Ok(())
}

/// Logical decoding messages reach pgoutput clients from PostgreSQL 14 on (its `messages`
/// option). A configuration that asks for messages only, or for some by prefix, is refused on
/// an older server, where none would ever arrive; otherwise streaming goes on without them.
pub(crate) fn check_messages_supported(
    config: &ReplicationConfig,
    server_version: u32,
) -> Result<()> {
    if server_version >= 140000 {
        return Ok(());
    }
    let asked = if config.message_prefixes.include_patterns().next().is_some() {
        "message.prefix.include.list is set"
    } else if config.publication_autocreate == PublicationAutocreate::NoTables {
        "publication.autocreate.mode=no_tables streams logical decoding messages only"
    } else {
        return Ok(());
    };
    Err(Error::new(
        ErrorKind::ServerConfiguration,
        format!(
            "{asked}, but pgoutput sends logical decoding messages (pg_logical_emit_message) \
             only from PostgreSQL 14 on, and the server is {}: upgrade the server, or leave \
             messages out of the configuration",
            version_text(server_version)
        ),
    ))
}

/// Says once what the server cannot do that the configuration would use, where that is not
/// an error: changes still arrive, only differently.
fn log_missing_features(config: &ReplicationConfig, server_version: u32) {
    if server_version < 140000 {
        tracing::info!(
            server_version = %version_text(server_version),
            "PostgreSQL before 14: logical decoding messages are not sent, and large \
             transactions are decoded at commit (spilled to the server's disk) instead of \
             streamed while in progress"
        );
    } else if !config.streaming {
        tracing::debug!("streaming of in-progress transactions is off (streaming.enabled=false)");
    }
}

/// A slot created without two-phase cannot be used with it: PostgreSQL would switch two-phase
/// on for the slot for good at this START_REPLICATION (from PostgreSQL 15 on, a client that
/// asks for `two_phase` turns it on permanently, with `two_phase_at` at the start position),
/// so say what to do instead of changing the slot behind the user's back.
fn slot_without_two_phase(slot: &str) -> Error {
    Error::new(
        ErrorKind::Config,
        format!(
            "replication slot \"{slot}\" was created without two-phase decoding \
             (pg_replication_slots.two_phase is false), but two.phase.enabled is true: drop the \
             slot (SELECT pg_drop_replication_slot('{slot}')) and let the stream create it again \
             with slot.create=true, or use a new slot.name; or turn two-phase decoding off"
        ),
    )
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
    if proto >= 2 && config.streaming {
        // Large transactions arrive in chunks as they happen instead of spilling to the
        // server's disk until commit; the stream buffers them (spool.rs).
        options.push(("streaming", "on".to_string()));
    }
    if server_version >= 140000 {
        // Logical decoding messages (pg_logical_emit_message) are sent only when asked.
        options.push(("messages", "true".to_string()));
    }
    if proto >= 3 {
        // Prepared transactions arrive at PREPARE TRANSACTION; the stream holds them until
        // COMMIT PREPARED (spool.rs) and keeps the slot from passing their PREPARE (ack.rs).
        options.push(("two_phase", "on".to_string()));
    }
    options
}

/// Connects, checks, prepares and starts streaming: [`prepare`] then [`start_streaming`],
/// for a start that reads no tables first.
pub(crate) async fn start(config: &ReplicationConfig) -> Result<Started> {
    let prepared = prepare(config).await?;
    start_streaming(config, prepared).await
}

#[tracing::instrument(
    name = "connect",
    skip_all,
    fields(slot = %config.slot_name, publication = %config.publication_name)
)]
pub(crate) async fn prepare(config: &ReplicationConfig) -> Result<Prepared> {
    config.validate()?;
    let mut catalog = PgConnection::connect(&config.connection, false).await?;
    let server = catalog::check_server(&mut catalog).await?;
    check_two_phase_supported(config, server.version_num)?;
    check_messages_supported(config, server.version_num)?;
    check_failover_supported(config, server.version_num)?;
    log_missing_features(config, server.version_num);
    catalog::ensure_publication(&mut catalog, config).await?;
    let slot = &config.slot_name;
    let db = &config.connection.dbname;

    let deadline = Instant::now() + SLOT_BUSY_WAIT;
    let mut need_create = false;
    let mut slot_confirmed = None;
    let (mut waits, mut waiting_since) = (0u32, None::<Instant>);
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
            Some(row) if config.two_phase && !row.two_phase => {
                return Err(slot_without_two_phase(slot))
            }
            Some(row) => match row.active_pid {
                Some(pid) if Instant::now() < deadline => {
                    let waited = waiting_since.get_or_insert_with(Instant::now).elapsed();
                    if waits == 0 {
                        tracing::info!(
                            slot = %slot,
                            pid,
                            "slot is still held by another connection; waiting up to {} s for it to be released",
                            SLOT_BUSY_WAIT.as_secs()
                        );
                    } else if busy_wait_log_due(waits) {
                        tracing::info!(
                            slot = %slot,
                            pid,
                            "slot is still held by another connection; waited {} s",
                            waited.as_secs()
                        );
                    }
                    waits += 1;
                    tokio::time::sleep(SLOT_BUSY_RETRY).await;
                }
                Some(pid) => return Err(slot_in_use(slot, pid)),
                None => {
                    if row.two_phase && !config.two_phase {
                        // The server sends prepared transactions at PREPARE for such a slot
                        // whatever we ask; the stream holds them until COMMIT PREPARED all
                        // the same.
                        tracing::info!(slot = %slot, "the slot decodes prepared transactions at PREPARE (two_phase); handling them although two.phase.enabled is false");
                    }
                    slot_confirmed = row.confirmed_flush;
                    break;
                }
            },
        }
    }

    // With several hosts, replicate from the server the catalog connection chose.
    let (host, port) = catalog.server();
    let mut repl = PgConnection::connect(&config.connection.for_host(host, port), true).await?;
    // Names the snapshot progress files: a same-named slot on another server is another slot.
    let system_id = repl.identify_system().await?.systemid;
    let recorded = snapshot::recorded(config, &system_id)?;
    let mut decision = snapshot::decide(config, need_create, recorded.as_ref());
    let mut exported = None;
    if need_create {
        let export = matches!(decision, snapshot::Decision::Read { exported: true, .. });
        if export {
            snapshot::record_due(config, &system_id)?;
        }
        let options = CreateSlotOptions {
            two_phase: config.two_phase,
            failover: config.slot_failover,
            snapshot: if export {
                SnapshotAction::Export
            } else {
                SnapshotAction::NoExport
            },
            ..CreateSlotOptions::default()
        };
        let creating = tracing::info_span!("create_slot", slot = %slot);
        match repl
            .create_logical_slot(slot, &options)
            .instrument(creating)
            .await
        {
            Ok(info) => {
                let consistent_point = Lsn(info.consistent_point);
                slot_confirmed = Some(consistent_point);
                exported = info
                    .snapshot_name
                    .filter(|_| export)
                    .map(|name| (name, consistent_point));
                tracing::info!(slot = %slot, consistent_point = %consistent_point, two_phase = config.two_phase, failover = config.slot_failover, "created replication slot")
            }
            // Someone created it between our check and now: use theirs.
            Err(e) if e.code() == Some(sqlstate::DUPLICATE_OBJECT) => {
                decision = snapshot::decide(config, false, recorded.as_ref());
            }
            Err(e) => return Err(classify(e, config, Phase::CreateSlot, &mut catalog).await),
        }
    }
    if decision == snapshot::Decision::Stream && config.snapshot_mode.reads_tables() {
        tracing::info!(
            slot = %slot,
            confirmed = %describe_start(Lsn::ZERO, slot_confirmed),
            "snapshot.mode={}: the slot already exists and no snapshot of it is unfinished; streaming from its position without a snapshot",
            config.snapshot_mode
        );
    }
    Ok(Prepared {
        catalog,
        repl,
        server,
        slot_confirmed,
        exported,
        system_id,
        decision,
    })
}

/// Sends START_REPLICATION on the prepared connection.
pub(crate) async fn start_streaming(
    config: &ReplicationConfig,
    prepared: Prepared,
) -> Result<Started> {
    let Prepared {
        mut catalog,
        mut repl,
        server,
        slot_confirmed,
        ..
    } = prepared;
    let slot = &config.slot_name;
    let receive_timeout = match config.receive_timeout {
        Some(t) if t.is_zero() => None,
        Some(t) => Some(t),
        None => wal_sender_timeout(&mut repl).await?.map(|t| t * 2),
    };
    let start_lsn = config.start_lsn.unwrap_or(Lsn::ZERO);
    let options = pgoutput_options(config, server.version_num);
    let stream = match repl
        .start_logical_replication(slot, start_lsn.0, &options)
        .await
    {
        Ok(stream) => stream,
        Err(e) => return Err(classify(e, config, Phase::StartReplication, &mut catalog).await),
    };
    tracing::info!(slot = %slot, publication = %config.publication_name, start = %describe_start(start_lsn, slot_confirmed), "streaming started");
    Ok(Started {
        catalog,
        stream,
        server,
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
/// says what to do. The kind comes from the SQLSTATE and the phase ([`sqlstate::kind`]); what
/// the message needs beyond that (the slot holder's PID, the server's `wal_level`) is asked of
/// the catalog connection, never read from the server's (translated) message text.
pub(crate) async fn classify(
    e: Error,
    config: &ReplicationConfig,
    phase: Phase,
    catalog: &mut PgConnection,
) -> Error {
    let Some(db) = e.db_error().cloned() else {
        return e;
    };
    // PostgreSQL 18 reports a missing publication as a warning the reader already classified.
    let kind = match e.kind() {
        ErrorKind::PublicationNotFound => ErrorKind::PublicationNotFound,
        _ => sqlstate::kind(&db.code, phase),
    };
    match kind {
        ErrorKind::PublicationNotFound => catalog::publication_not_found(config).with_db_error(db),
        ErrorKind::SlotNotFound => catalog::slot_not_found(&config.slot_name).with_db_error(db),
        ErrorKind::SlotInUse => {
            // The holder as pg_replication_slots.active_pid names it (0 if it let go since).
            let pid = match catalog::find_slot(catalog, &config.slot_name).await {
                Ok(row) => row.and_then(|r| r.active_pid).unwrap_or(0),
                Err(_) => 0,
            };
            slot_in_use(&config.slot_name, pid).with_db_error(db)
        }
        ErrorKind::Permission => Error::new(
            ErrorKind::Permission,
            format!(
                "permission denied: the role needs the REPLICATION attribute (ALTER ROLE ... \
                 WITH REPLICATION) ({})",
                db.message
            ),
        )
        .with_db_error(db),
        _ if db.code == sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE
            && wal_level(catalog)
                .await
                .is_some_and(|level| level != "logical") =>
        {
            Error::new(
                ErrorKind::ServerConfiguration,
                format!(
                    "logical decoding needs wal_level = logical: run ALTER SYSTEM SET wal_level \
                     = logical and restart PostgreSQL ({})",
                    db.message
                ),
            )
            .with_db_error(db)
        }
        _ => e,
    }
}

/// The server's `wal_level`, if the catalog connection can tell.
async fn wal_level(catalog: &mut PgConnection) -> Option<String> {
    let rows = catalog.simple_query("SHOW wal_level").await.ok()?;
    rows.first()?.get(0).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{config::NameFilter, conn::ConnectParams};

    fn config(two_phase: bool, streaming: bool) -> ReplicationConfig {
        let mut c = ReplicationConfig::new(ConnectParams::from_dsn("host=h dbname=d").unwrap());
        c.two_phase = two_phase;
        c.streaming = streaming;
        c
    }

    #[test]
    fn two_phase_asks_for_protocol_3_and_the_option() {
        let c = config(true, true);
        assert_eq!(protocol_version(&c, 150004), 3);
        let options = pgoutput_options(&c, 150004);
        assert!(options.contains(&("two_phase", "on".into())));
        assert!(options.contains(&("streaming", "on".into())));
        let c = config(true, false);
        let options = pgoutput_options(&c, 160000);
        assert!(options.contains(&("proto_version", "3".into())));
        assert!(!options.iter().any(|(k, _)| *k == "streaming"));
        // Off: nothing changes.
        let c = config(false, true);
        assert_eq!(protocol_version(&c, 150004), 2);
        assert!(!pgoutput_options(&c, 150004)
            .iter()
            .any(|(k, _)| *k == "two_phase"));
    }

    #[test]
    fn a_busy_slot_is_logged_at_first_then_less_and_less_often() {
        let logged: Vec<u32> = (0..300).filter(|&n| busy_wait_log_due(n)).collect();
        // 0 s, then 1, 2, 4, 8, 16 s, then every 30 s (looks are 0.5 s apart).
        assert_eq!(logged, [0, 2, 4, 8, 16, 32, 60, 120, 180, 240]);
    }

    #[test]
    fn start_positions_are_logged_only_when_they_mean_something() {
        let confirmed = Lsn(0x1_0000_00A0);
        assert_eq!(
            describe_start(Lsn(0x16B_3748), Some(confirmed)),
            "0/16B3748"
        );
        assert_eq!(
            describe_start(Lsn::ZERO, Some(confirmed)),
            "1/A0 (the slot's confirmed position)"
        );
        assert_eq!(
            describe_start(Lsn::ZERO, None),
            "the slot's confirmed position"
        );
        assert_eq!(
            describe_start(Lsn::ZERO, Some(Lsn::ZERO)),
            "the slot's confirmed position"
        );
    }

    #[test]
    fn messages_asked_for_before_postgres_14_are_a_clear_error() {
        let mut c = config(false, true);
        assert!(check_messages_supported(&c, 120022).is_ok());
        c.message_prefixes = NameFilter::new(&["audit".into()], &[], "message.prefix").unwrap();
        let e = check_messages_supported(&c, 130023).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ServerConfiguration);
        assert!(e.to_string().contains("message.prefix.include.list"), "{e}");
        assert!(e.to_string().contains("from PostgreSQL 14 on"), "{e}");
        assert!(e.to_string().contains("server is 13.23"), "{e}");
        assert!(check_messages_supported(&c, 140000).is_ok());
        // An exclude list asks for nothing.
        c.message_prefixes = NameFilter::new(&[], &["audit".into()], "message.prefix").unwrap();
        assert!(check_messages_supported(&c, 120022).is_ok());
        c.publication_autocreate = PublicationAutocreate::NoTables;
        let e = check_messages_supported(&c, 120022).unwrap_err();
        assert!(e.to_string().contains("no_tables"), "{e}");
    }

    #[test]
    fn failover_slots_before_postgres_17_are_a_clear_error() {
        let mut c = config(false, true);
        assert!(check_failover_supported(&c, 120022).is_ok());
        c.slot_failover = true;
        let e = check_failover_supported(&c, 160014).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ServerConfiguration);
        assert!(e.to_string().contains("PostgreSQL 17 or later"), "{e}");
        assert!(e.to_string().contains("server is 16.14"), "{e}");
        assert!(check_failover_supported(&c, 170000).is_ok());
    }

    #[test]
    fn two_phase_before_postgres_15_is_a_clear_error() {
        let e = check_two_phase_supported(&config(true, true), 140011).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ServerConfiguration);
        assert!(e.to_string().contains("PostgreSQL 15 or later"), "{e}");
        assert!(e.to_string().contains("14.11"), "{e}");
        assert!(check_two_phase_supported(&config(false, true), 140011).is_ok());
        assert!(check_two_phase_supported(&config(true, true), 150000).is_ok());
    }
}
