//! Replication commands on a `replication=database` connection: `IDENTIFY_SYSTEM`,
//! `CREATE_REPLICATION_SLOT`, `DROP_REPLICATION_SLOT` and `START_REPLICATION ... LOGICAL`,
//! plus LSN and quoting helpers for building them.

use std::fmt::Write as _;

use postgres_protocol::message::frontend;

use super::{
    client::PgConnection,
    copy_both::ReplicationStream,
    frame::{parse_error_fields, tag},
    rows::SimpleRow,
};
use crate::{Error, Result};

/// The answer to `IDENTIFY_SYSTEM`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemInfo {
    /// The cluster's unique system identifier (a 64-bit number as text).
    pub systemid: String,
    /// The current timeline.
    pub timeline: u32,
    /// The current WAL flush position.
    pub xlogpos: u64,
    /// The database the connection is bound to (`None` for physical replication).
    pub dbname: Option<String>,
}

/// What `CREATE_REPLICATION_SLOT` does with the snapshot at the slot's consistent point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SnapshotAction {
    /// Export it; the name is returned in [`SlotInfo::snapshot_name`] and can be imported
    /// with `SET TRANSACTION SNAPSHOT` until the next command on this connection.
    Export,
    /// Do not export it (`SNAPSHOT 'nothing'` / `NOEXPORT_SNAPSHOT`).
    #[default]
    NoExport,
    /// Use it in the current transaction of this connection, which must have been started
    /// with `BEGIN ISOLATION LEVEL REPEATABLE READ` (`SNAPSHOT 'use'` / `USE_SNAPSHOT`).
    Use,
    /// Send no snapshot option; the server default applies (export).
    None,
}

/// Options for [`PgConnection::create_logical_slot`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateSlotOptions {
    /// Drop the slot automatically when the connection ends or on error.
    pub temporary: bool,
    /// Decode prepared transactions at PREPARE time (PostgreSQL 14+).
    pub two_phase: bool,
    /// Snapshot handling.
    pub snapshot: SnapshotAction,
    /// Make the slot a failover slot (PostgreSQL 17+): a standby with
    /// `sync_replication_slots = on` keeps a copy of it, usable once that standby is promoted.
    pub failover: bool,
    /// Output plugin; `pgoutput` by default.
    pub plugin: String,
}

impl Default for CreateSlotOptions {
    fn default() -> Self {
        CreateSlotOptions {
            temporary: false,
            two_phase: false,
            snapshot: SnapshotAction::NoExport,
            failover: false,
            plugin: "pgoutput".to_owned(),
        }
    }
}

/// The answer to `CREATE_REPLICATION_SLOT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotInfo {
    /// The slot name.
    pub slot_name: String,
    /// The LSN from which the slot streams changes (its first consistent point).
    pub consistent_point: u64,
    /// The exported snapshot, with [`SnapshotAction::Export`] (or the server default).
    pub snapshot_name: Option<String>,
    /// The output plugin.
    pub output_plugin: String,
}

impl PgConnection {
    /// Runs `IDENTIFY_SYSTEM`.
    pub async fn identify_system(&mut self) -> Result<SystemInfo> {
        self.require_replication("IDENTIFY_SYSTEM")?;
        let rows = self.simple_query("IDENTIFY_SYSTEM").await?;
        let row = self.single_row(&rows, "IDENTIFY_SYSTEM")?;
        let systemid = self.column(row, "systemid", "IDENTIFY_SYSTEM")?.to_owned();
        let timeline = self.column(row, "timeline", "IDENTIFY_SYSTEM")?;
        let timeline = timeline.parse().map_err(|_| {
            self.ctx
                .protocol(format!("invalid timeline \"{timeline}\""))
        })?;
        let xlogpos = self.lsn_column(row, "xlogpos", "IDENTIFY_SYSTEM")?;
        let dbname = row.get_by_name("dbname").map(str::to_owned);
        Ok(SystemInfo {
            systemid,
            timeline,
            xlogpos,
            dbname,
        })
    }

    /// Creates a logical replication slot with `CREATE_REPLICATION_SLOT`.
    ///
    /// Uses the parenthesised option syntax on PostgreSQL 15+ and the older keyword syntax
    /// before (where `two_phase` needs 14+).
    pub async fn create_logical_slot(
        &mut self,
        name: &str,
        options: &CreateSlotOptions,
    ) -> Result<SlotInfo> {
        self.require_replication("CREATE_REPLICATION_SLOT")?;
        let command = create_slot_command(name, options, self.server_version_num())?;
        let rows = self.simple_query(&command).await?;
        let row = self.single_row(&rows, "CREATE_REPLICATION_SLOT")?;
        Ok(SlotInfo {
            slot_name: self
                .column(row, "slot_name", "CREATE_REPLICATION_SLOT")?
                .to_owned(),
            consistent_point: self.lsn_column(
                row,
                "consistent_point",
                "CREATE_REPLICATION_SLOT",
            )?,
            snapshot_name: row.get_by_name("snapshot_name").map(str::to_owned),
            output_plugin: row
                .get_by_name("output_plugin")
                .unwrap_or_default()
                .to_owned(),
        })
    }

    /// Drops a replication slot. With `wait`, waits for an active slot to become inactive
    /// instead of failing with [`crate::ErrorKind::SlotInUse`].
    pub async fn drop_slot(&mut self, name: &str, wait: bool) -> Result<()> {
        self.require_replication("DROP_REPLICATION_SLOT")?;
        let mut command = format!("DROP_REPLICATION_SLOT {}", quote_ident(name));
        if wait {
            command.push_str(" WAIT");
        }
        self.execute(&command).await
    }

    /// Starts streaming from a logical slot and turns the connection into a
    /// [`ReplicationStream`].
    ///
    /// Sends `START_REPLICATION SLOT "slot" LOGICAL X/Y ("name" 'value', ...)` with names
    /// quoted as identifiers and values as literals, e.g. `("proto_version", "1".into())`
    /// and `("publication_names", publication_names(&["pub"]))`. A server error (e.g.
    /// SQLSTATE 42704, the slot does not exist) is returned with its [`crate::DbError`] and
    /// the connection is closed.
    pub async fn start_logical_replication(
        mut self,
        slot: &str,
        start_lsn: u64,
        options: &[(&str, String)],
    ) -> Result<ReplicationStream> {
        self.require_replication("START_REPLICATION")?;
        let command = start_replication_command(slot, start_lsn, options);
        self.begin()?;
        self.write_buf.clear();
        frontend::query(&command, &mut self.write_buf)
            .map_err(|_| Error::config("replication options must not contain NUL characters"))?;
        self.send().await?;
        loop {
            let frame = self.recv().await?;
            match frame.tag {
                tag::COPY_BOTH_RESPONSE => {
                    if start_lsn == 0 {
                        tracing::debug!(
                            slot,
                            start = "the slot's confirmed position",
                            "replication started"
                        );
                    } else {
                        tracing::debug!(slot, start = %format_lsn(start_lsn), "replication started");
                    }
                    return Ok(ReplicationStream::new(self));
                }
                tag::ERROR_RESPONSE => {
                    let error = self.ctx.server_error(parse_error_fields(&frame.body));
                    // Best effort goodbye so the server does not log an unexpected EOF.
                    self.close().await;
                    return Err(error);
                }
                _ if self.handle_async(&frame) => {}
                other => {
                    return Err(self.ctx.protocol(format!(
                        "unexpected message {:?} in response to START_REPLICATION",
                        other as char
                    )))
                }
            }
        }
    }

    fn require_replication(&self, command: &str) -> Result<()> {
        if self.session.replication {
            Ok(())
        } else {
            Err(Error::config(format!(
                "{command} needs a replication connection (PgConnection::connect with \
                 replication = true)"
            )))
        }
    }

    fn single_row<'r>(&self, rows: &'r [SimpleRow], command: &str) -> Result<&'r SimpleRow> {
        rows.first()
            .ok_or_else(|| self.ctx.protocol(format!("{command} returned no row")))
    }

    fn column<'r>(&self, row: &'r SimpleRow, name: &str, command: &str) -> Result<&'r str> {
        row.get_by_name(name)
            .ok_or_else(|| self.ctx.protocol(format!("{command} returned no {name}")))
    }

    fn lsn_column(&self, row: &SimpleRow, name: &str, command: &str) -> Result<u64> {
        let text = self.column(row, name, command)?;
        parse_lsn(text).ok_or_else(|| {
            self.ctx
                .protocol(format!("{command} returned invalid {name} \"{text}\""))
        })
    }
}

/// Builds the `CREATE_REPLICATION_SLOT` command for a server version.
fn create_slot_command(
    name: &str,
    options: &CreateSlotOptions,
    server_version_num: u32,
) -> Result<String> {
    let mut command = format!("CREATE_REPLICATION_SLOT {}", quote_ident(name));
    if options.temporary {
        command.push_str(" TEMPORARY");
    }
    let _ = write!(command, " LOGICAL {}", quote_ident(&options.plugin));
    if server_version_num >= 150000 {
        let mut list = Vec::new();
        match options.snapshot {
            SnapshotAction::Export => list.push("SNAPSHOT 'export'"),
            SnapshotAction::NoExport => list.push("SNAPSHOT 'nothing'"),
            SnapshotAction::Use => list.push("SNAPSHOT 'use'"),
            SnapshotAction::None => {}
        }
        if options.two_phase {
            list.push("TWO_PHASE");
        }
        if options.failover {
            if server_version_num < 170000 {
                return Err(failover_needs_17());
            }
            list.push("FAILOVER");
        }
        if !list.is_empty() {
            let _ = write!(command, " ({})", list.join(", "));
        }
    } else {
        match options.snapshot {
            SnapshotAction::Export => command.push_str(" EXPORT_SNAPSHOT"),
            SnapshotAction::NoExport => command.push_str(" NOEXPORT_SNAPSHOT"),
            SnapshotAction::Use => command.push_str(" USE_SNAPSHOT"),
            SnapshotAction::None => {}
        }
        if options.two_phase {
            if server_version_num < 140000 {
                return Err(Error::config(
                    "two_phase replication slots need PostgreSQL 14 or later",
                ));
            }
            command.push_str(" TWO_PHASE");
        }
        if options.failover {
            return Err(failover_needs_17());
        }
    }
    Ok(command)
}

fn failover_needs_17() -> Error {
    Error::config("failover replication slots need PostgreSQL 17 or later")
}

/// Builds the `START_REPLICATION ... LOGICAL` command.
fn start_replication_command(slot: &str, start_lsn: u64, options: &[(&str, String)]) -> String {
    let mut command = format!(
        "START_REPLICATION SLOT {} LOGICAL {}",
        quote_ident(slot),
        format_lsn(start_lsn)
    );
    for (i, (name, value)) in options.iter().enumerate() {
        command.push_str(if i == 0 { " (" } else { ", " });
        let _ = write!(
            command,
            "{} {}",
            quote_ident(name),
            quote_repl_literal(value)
        );
    }
    if !options.is_empty() {
        command.push(')');
    }
    command
}

/// Parses an LSN in PostgreSQL's `X/Y` hex notation (`16/B374D848`).
pub fn parse_lsn(text: &str) -> Option<u64> {
    let (hi, lo) = text.trim().split_once('/')?;
    let hi = u32::from_str_radix(hi, 16).ok()?;
    let lo = u32::from_str_radix(lo, 16).ok()?;
    Some((u64::from(hi) << 32) | u64::from(lo))
}

/// Formats an LSN in PostgreSQL's `X/Y` hex notation.
pub fn format_lsn(lsn: u64) -> String {
    format!("{:X}/{:X}", lsn >> 32, lsn & 0xFFFF_FFFF)
}

/// Quotes an identifier: `my "slot"` → `"my ""slot"""`. Valid in SQL and in replication
/// commands.
pub fn quote_ident(name: &str) -> String {
    let mut quoted = String::with_capacity(name.len() + 2);
    quoted.push('"');
    for c in name.chars() {
        if c == '"' {
            quoted.push('"');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

/// Quotes a string literal for SQL: `it's` → `'it''s'`, and `E'...'` with doubled
/// backslashes when the value contains a backslash, so the result is correct whatever
/// `standard_conforming_strings` is.
pub fn quote_literal(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 3);
    if value.contains('\\') {
        quoted.push('E');
    }
    quoted.push('\'');
    for c in value.chars() {
        if c == '\'' || c == '\\' {
            quoted.push(c);
        }
        quoted.push(c);
    }
    quoted.push('\'');
    quoted
}

/// Quotes a literal for the replication command grammar, which knows only `'...'` with
/// doubled quotes (no `E''`, backslashes are ordinary characters).
fn quote_repl_literal(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('\'');
    for c in value.chars() {
        if c == '\'' {
            quoted.push('\'');
        }
        quoted.push(c);
    }
    quoted.push('\'');
    quoted
}

/// The value of pgoutput's `publication_names` option: each name double-quoted (so case
/// and commas survive), comma-separated: `["a", "B"]` → `"a","B"`.
pub fn publication_names(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| quote_ident(n))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsn_round_trip() {
        assert_eq!(parse_lsn("16/B374D848"), Some(0x16_B374_D848));
        assert_eq!(parse_lsn("0/0"), Some(0));
        assert_eq!(parse_lsn("FFFFFFFF/FFFFFFFF"), Some(u64::MAX));
        assert_eq!(parse_lsn("16B374D848"), None);
        assert_eq!(parse_lsn("x/1"), None);
        assert_eq!(format_lsn(0x16_B374_D848), "16/B374D848");
        assert_eq!(format_lsn(0), "0/0");
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("slot"), "\"slot\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_literal("a\\b"), "E'a\\\\b'");
        assert_eq!(quote_repl_literal("it's \\"), "'it''s \\'");
        assert_eq!(publication_names(&["a", "My\"Pub"]), "\"a\",\"My\"\"Pub\"");
    }

    #[test]
    fn start_replication_syntax() {
        let cmd = start_replication_command(
            "my_slot",
            0x1_0000_0010,
            &[
                ("proto_version", "1".into()),
                ("publication_names", publication_names(&["pub"])),
            ],
        );
        assert_eq!(
            cmd,
            "START_REPLICATION SLOT \"my_slot\" LOGICAL 1/10 (\"proto_version\" '1', \
             \"publication_names\" '\"pub\"')"
        );
        assert_eq!(
            start_replication_command("s", 0, &[]),
            "START_REPLICATION SLOT \"s\" LOGICAL 0/0"
        );
    }

    #[test]
    fn create_slot_syntax_by_version() {
        let mut o = CreateSlotOptions::default();
        assert_eq!(
            create_slot_command("s", &o, 150000).unwrap(),
            "CREATE_REPLICATION_SLOT \"s\" LOGICAL \"pgoutput\" (SNAPSHOT 'nothing')"
        );
        assert_eq!(
            create_slot_command("s", &o, 140005).unwrap(),
            "CREATE_REPLICATION_SLOT \"s\" LOGICAL \"pgoutput\" NOEXPORT_SNAPSHOT"
        );
        o.temporary = true;
        o.two_phase = true;
        o.snapshot = SnapshotAction::Export;
        assert_eq!(
            create_slot_command("s", &o, 160000).unwrap(),
            "CREATE_REPLICATION_SLOT \"s\" TEMPORARY LOGICAL \"pgoutput\" (SNAPSHOT 'export', \
             TWO_PHASE)"
        );
        assert_eq!(
            create_slot_command("s", &o, 140000).unwrap(),
            "CREATE_REPLICATION_SLOT \"s\" TEMPORARY LOGICAL \"pgoutput\" EXPORT_SNAPSHOT TWO_PHASE"
        );
        assert!(create_slot_command("s", &o, 130000).is_err());
        o.snapshot = SnapshotAction::None;
        o.two_phase = false;
        assert_eq!(
            create_slot_command("s", &o, 150000).unwrap(),
            "CREATE_REPLICATION_SLOT \"s\" TEMPORARY LOGICAL \"pgoutput\""
        );
        let o = CreateSlotOptions {
            failover: true,
            ..CreateSlotOptions::default()
        };
        assert_eq!(
            create_slot_command("s", &o, 170000).unwrap(),
            "CREATE_REPLICATION_SLOT \"s\" LOGICAL \"pgoutput\" (SNAPSHOT 'nothing', FAILOVER)"
        );
        assert!(create_slot_command("s", &o, 160000).is_err());
        assert!(create_slot_command("s", &o, 140000).is_err());
    }
}
