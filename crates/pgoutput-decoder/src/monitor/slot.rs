//! The replication slot as the server sees it, read on a side connection at a low rate:
//! the server's WAL end, the slot's confirmed and restart positions, `active`, `wal_status`
//! and `safe_wal_size`. Lag in bytes is the server's WAL end minus the slot's confirmed
//! position, which is what the slot makes the server keep for the consumer.

use std::{
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use pgoutput::Lsn;
use tokio::task::JoinHandle;

use crate::{
    clock::now_us,
    conn::{parse_lsn, quote_literal, ConnectParams, PgConnection, SimpleRow},
    Result,
};

/// The slot's row of `pg_replication_slots` and the server's WAL end, read together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotStatus {
    /// The server's current WAL position (`pg_current_wal_lsn()`; on a standby, the last
    /// replayed position).
    pub wal_end: Lsn,
    /// Whether the slot exists.
    pub exists: bool,
    /// Whether a connection is streaming from the slot (`active`).
    pub active: bool,
    /// The slot's `confirmed_flush_lsn`: where the consumer will resume.
    pub confirmed_flush: Option<Lsn>,
    /// The slot's `restart_lsn`: the oldest WAL the server keeps for it.
    pub restart_lsn: Option<Lsn>,
    /// `wal_status` (PostgreSQL 13+): `reserved`, `extended`, `unreserved` or `lost`.
    pub wal_status: Option<String>,
    /// `safe_wal_size` (PostgreSQL 13+): bytes of WAL that can still be written before the
    /// slot is in danger of losing what it needs (`None`: no `max_slot_wal_keep_size`).
    pub safe_wal_size: Option<i64>,
    /// When this was read, in microseconds since the Unix epoch.
    pub read_at_us: i64,
}

impl SlotStatus {
    /// Bytes of WAL between the server's end and the slot's confirmed position.
    pub fn lag_bytes(&self) -> Option<u64> {
        self.confirmed_flush
            .map(|c| self.wal_end.0.saturating_sub(c.0))
    }

    /// Bytes of WAL the server keeps for the slot (from its restart position to the end).
    pub fn retained_bytes(&self) -> Option<u64> {
        self.restart_lsn.map(|r| self.wal_end.0.saturating_sub(r.0))
    }
}

/// What the watcher last found: the status read, and the error of the last attempt if it
/// failed (the status then stays what it was, with its time).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlotReading {
    /// The last status read.
    pub status: Option<SlotStatus>,
    /// Why the last attempt failed; `None` when it succeeded.
    pub error: Option<String>,
}

/// Reads the slot's status every `interval` on a connection of its own (opened again when it
/// breaks) until dropped.
#[derive(Debug)]
pub struct SlotWatch {
    reading: Arc<Mutex<SlotReading>>,
    task: JoinHandle<()>,
}

impl SlotWatch {
    /// Starts watching `slot` on the server of `params` (a normal connection, not a
    /// replication one). Needs a tokio runtime.
    pub fn start(params: ConnectParams, slot: String, interval: Duration) -> Self {
        let reading = Arc::new(Mutex::new(SlotReading::default()));
        let task = tokio::spawn(watch(params, slot, interval, reading.clone()));
        SlotWatch { reading, task }
    }

    /// What the last attempt found.
    pub fn reading(&self) -> SlotReading {
        lock(&self.reading).clone()
    }
}

impl Drop for SlotWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock(reading: &Mutex<SlotReading>) -> MutexGuard<'_, SlotReading> {
    reading.lock().unwrap_or_else(|e| e.into_inner())
}

async fn watch(
    params: ConnectParams,
    slot: String,
    interval: Duration,
    reading: Arc<Mutex<SlotReading>>,
) {
    let mut conn: Option<PgConnection> = None;
    loop {
        let result = read_once(&params, &slot, &mut conn).await;
        {
            let mut r = lock(&reading);
            match result {
                Ok(status) => {
                    r.status = Some(status);
                    r.error = None;
                }
                Err(e) => {
                    // Opened again at the next attempt.
                    conn = None;
                    r.error = Some(e.to_string());
                }
            }
        }
        tokio::time::sleep(interval).await;
    }
}

async fn read_once(
    params: &ConnectParams,
    slot: &str,
    conn: &mut Option<PgConnection>,
) -> Result<SlotStatus> {
    let c = match conn {
        Some(c) => c,
        None => conn.insert(PgConnection::connect(params, false).await?),
    };
    let rows = c
        .simple_query(&status_query(slot, c.server_version_num()))
        .await?;
    Ok(parse_status(rows.first()))
}

/// One row: the WAL end, and the slot's columns (NULL when there is no such slot).
fn status_query(slot: &str, server_version: u32) -> String {
    // wal_status and safe_wal_size are new in PostgreSQL 13.
    let wal_columns = if server_version >= 130_000 {
        "s.wal_status, s.safe_wal_size"
    } else {
        "NULL::text AS wal_status, NULL::bigint AS safe_wal_size"
    };
    format!(
        "SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() \
         ELSE pg_current_wal_lsn() END AS wal_end, s.slot_name IS NOT NULL AS exists, \
         s.active, s.confirmed_flush_lsn, s.restart_lsn, {wal_columns} \
         FROM (SELECT 1) AS one LEFT JOIN pg_replication_slots s ON s.slot_name = {}",
        quote_literal(slot)
    )
}

fn parse_status(row: Option<&SimpleRow>) -> SlotStatus {
    let text = |name: &str| row.and_then(|r| r.get_by_name(name));
    let lsn = |name: &str| text(name).and_then(parse_lsn).map(Lsn);
    SlotStatus {
        wal_end: lsn("wal_end").unwrap_or(Lsn::ZERO),
        exists: text("exists") == Some("t"),
        active: text("active") == Some("t"),
        confirmed_flush: lsn("confirmed_flush_lsn"),
        restart_lsn: lsn("restart_lsn"),
        wal_status: text("wal_status").map(str::to_owned),
        safe_wal_size: text("safe_wal_size").and_then(|s| s.parse().ok()),
        read_at_us: now_us(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_and_retained_bytes_count_back_from_the_wal_end() {
        let status = SlotStatus {
            wal_end: Lsn(1000),
            exists: true,
            active: true,
            confirmed_flush: Some(Lsn(900)),
            restart_lsn: Some(Lsn(400)),
            wal_status: Some("reserved".into()),
            safe_wal_size: None,
            read_at_us: 0,
        };
        assert_eq!(status.lag_bytes(), Some(100));
        assert_eq!(status.retained_bytes(), Some(600));
        let missing = SlotStatus {
            confirmed_flush: None,
            restart_lsn: None,
            ..status
        };
        assert_eq!(missing.lag_bytes(), None);
        assert_eq!(missing.retained_bytes(), None);
    }

    #[test]
    fn the_slot_name_is_quoted_and_old_servers_get_no_wal_status() {
        let q = status_query("it's", 150_000);
        assert!(q.ends_with("s.slot_name = 'it''s'"), "{q}");
        assert!(q.contains("s.wal_status, s.safe_wal_size"));
        assert!(status_query("s", 120_000).contains("NULL::text AS wal_status"));
    }
}
