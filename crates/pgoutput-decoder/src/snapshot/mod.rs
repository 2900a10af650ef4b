//! Snapshots: the rows that already exist, read before streaming and consistent with it.
//!
//! A slot created with an exported snapshot gives the database exactly as it was at the
//! slot's consistent point: the snapshot reads every published table under it (`REPEATABLE
//! READ`, `SET TRANSACTION SNAPSHOT`, `COPY ... TO STDOUT`), hands the rows out as `op: "r"`
//! events, and streaming starts at that same point, so every change is either in the read
//! rows or streamed after them, never both, never neither.
//!
//! A snapshot cut short resumes: its progress file ([`progress`]) names the tables whose reads
//! were acknowledged; the next start reads the others under a new snapshot, then streams from
//! the slot's position (still the consistent point: nothing was confirmed past it). Changes
//! made meanwhile are then both read and streamed (at least once; the end state is exact).

mod copy_text;
mod markers;
pub(crate) mod progress;
mod tables;

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime},
};

use pgoutput::Lsn;
use tokio::sync::{mpsc, watch};

use crate::{
    ack::AckTracker,
    config::{ReplicationConfig, SnapshotMode},
    conn::{quote_literal, PgConnection},
    event::{ChangeEvent, Event, EventKind, Op, Row, Source},
    pipeline::{Batch, ByteBudget, QueuedBatch, Stats},
    types::TypeRegistry,
    Error, Result,
};
use copy_text::RowParser;
use markers::Markers;
use progress::{Progress, Tracker};
use tables::SnapshotTable;

/// What a start does before streaming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Stream only.
    Stream,
    /// Read the tables first: under the slot's exported snapshot (`exported`, a slot created
    /// now) or under a new one, leaving out the tables in `done`.
    Read { exported: bool, done: Vec<String> },
    /// `initial_only` with nothing left to read: end at once.
    Finished,
}

/// What `config.snapshot_mode` asks for, given whether the slot is being created now and
/// what an earlier run recorded.
pub(crate) fn decide(
    config: &ReplicationConfig,
    creating_slot: bool,
    recorded: Option<&Progress>,
) -> Decision {
    let mode = config.snapshot_mode;
    match mode {
        SnapshotMode::NoData => Decision::Stream,
        SnapshotMode::Always => Decision::Read {
            exported: creating_slot,
            done: Vec::new(),
        },
        SnapshotMode::Initial | SnapshotMode::InitialOnly | SnapshotMode::WhenNeeded => {
            if creating_slot {
                Decision::Read {
                    exported: true,
                    done: Vec::new(),
                }
            } else if let Some(p) = recorded.filter(|p| p.unfinished_for(config)) {
                Decision::Read {
                    exported: false,
                    done: p.done.clone(),
                }
            } else if mode == SnapshotMode::InitialOnly {
                Decision::Finished
            } else {
                Decision::Stream
            }
        }
    }
}

/// Records, before the slot is created, that a snapshot is due: a crash between the slot's
/// creation and the end of the snapshot then resumes it instead of finding an existing slot
/// and skipping the snapshot.
pub(crate) fn record_due(config: &ReplicationConfig, system: &str) -> Result<()> {
    let path = progress::path(config, system)?;
    progress::save(
        &path,
        &Progress {
            slot: config.slot_name.clone(),
            database: config.connection.dbname.clone(),
            system: system.to_string(),
            ..Progress::default()
        },
    )
}

/// What an earlier run recorded for `config`'s slot on the server `system`, if anything.
pub(crate) fn recorded(config: &ReplicationConfig, system: &str) -> Result<Option<Progress>> {
    if !config.snapshot_mode.reads_tables() {
        return Ok(None);
    }
    Ok(progress::load(&progress::path(config, system)?)?.filter(|p| p.system == system))
}

/// A snapshot whose transaction is open and whose tables are known, ready to read.
pub(crate) struct InitialSnapshot {
    conn: PgConnection,
    tables: Vec<SnapshotTable>,
    lsn: Lsn,
    tx_id: u32,
    started_us: i64,
    pub(crate) tracker: Arc<Mutex<Tracker>>,
    batch_size: usize,
}

/// Opens the snapshot: a connection to `host`:`port` (the server the slot lives on), a
/// `REPEATABLE READ` transaction under `exported` (the slot's snapshot, `SET TRANSACTION
/// SNAPSHOT`) or a new one, and the list of tables. Must run before the replication connection
/// issues another command, which ends the exported snapshot.
pub(crate) async fn open(
    config: &ReplicationConfig,
    host: &str,
    port: u16,
    exported: Option<(&str, Lsn)>,
    done: Vec<String>,
    system: &str,
) -> Result<InitialSnapshot> {
    let mut conn = PgConnection::connect(&config.connection.for_host(host, port), false).await?;
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await?;
    if let Some((name, _)) = exported {
        conn.execute(&format!("SET TRANSACTION SNAPSHOT {}", quote_literal(name)))
            .await?;
    }
    let rows = conn
        .simple_query(
            "SELECT txid_snapshot_xmax(txid_current_snapshot()) % 4294967296, \
             pg_catalog.pg_current_wal_lsn(), \
             (extract(epoch FROM pg_catalog.now()) * 1000000)::int8",
        )
        .await?;
    let row = rows.first();
    let value = |i: usize| row.and_then(|r| r.get(i)).unwrap_or_default();
    let lsn = match exported {
        Some((_, consistent_point)) => consistent_point,
        None => value(1).parse().unwrap_or(Lsn::ZERO),
    };
    let tx_id = value(0).parse().unwrap_or(0);
    let started_us = value(2).parse().unwrap_or_else(|_| now_us());
    let mut registry = TypeRegistry::new();
    let tables = tables::snapshot_tables(&mut conn, config, &mut registry, &done).await?;
    let path = progress::path(config, system)?;
    let recorded_done = done.clone();
    let tracker = Tracker::new(
        path,
        Progress {
            slot: config.slot_name.clone(),
            database: config.connection.dbname.clone(),
            system: system.to_string(),
            lsn: progress::lsn_text(lsn),
            done: recorded_done,
            complete: false,
        },
    );
    tracker.save()?;
    let estimated: i64 = tables.iter().map(|t| t.estimated_rows.max(0)).sum();
    tracing::info!(
        tables = tables.len(),
        skipped_as_done = done.len(),
        estimated_rows = estimated,
        lsn = %lsn,
        exported = exported.is_some(),
        "snapshot started"
    );
    Ok(InitialSnapshot {
        conn,
        tables,
        lsn,
        tx_id,
        started_us,
        tracker: Arc::new(Mutex::new(tracker)),
        batch_size: config.max_batch_size.min(config.snapshot_fetch_size).max(1),
    })
}

/// Where reads go: the stream's bounded queue.
pub(crate) struct Queue<'a> {
    pub tx: &'a mpsc::Sender<Batch>,
    pub budget: &'a ByteBudget,
    pub stats: &'a Stats,
    pub acks: &'a AckTracker,
}

impl Queue<'_> {
    /// Hands `events` to the consumer, waiting for room; false when stopped (or the consumer
    /// went away) meanwhile.
    async fn send(&self, events: Vec<Event>, stop: &mut watch::Receiver<bool>) -> bool {
        let Some(last) = events.last().map(|e| e.seq) else {
            return true;
        };
        let kib = self.budget.kib_for(self.budget.bytes_of(&events));
        let room = async {
            let bytes = self.budget.acquire(kib).await;
            (bytes, self.tx.reserve().await)
        };
        tokio::select! {
            _ = stop.changed() => false,
            (bytes, permit) = room => match permit {
                Ok(permit) => {
                    ByteBudget::spend(bytes);
                    self.acks.produced(last);
                    self.stats.queued(events.len(), kib);
                    permit.send(Ok(QueuedBatch { events, kib }));
                    true
                }
                Err(_) => false,
            },
        }
    }
}

/// How a snapshot run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Every table was read; the last read has this sequence number.
    Read { last_seq: u64 },
    /// Stopped before the end.
    Stopped,
}

impl InitialSnapshot {
    /// Reads every table into `queue`, numbering reads from 1.
    pub(crate) async fn run(
        mut self,
        queue: Queue<'_>,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<Outcome> {
        let mut parser = RowParser::default();
        let mut markers = Markers::default();
        let mut batch = Vec::with_capacity(self.batch_size);
        let mut seq = 0u64;
        let (started, mut last_log) = (Instant::now(), Instant::now());
        let mut rows_total = 0u64;
        let tables = std::mem::take(&mut self.tables);
        let origin = (self.lsn, self.tx_id, self.started_us);
        for (index, table) in tables.iter().enumerate() {
            let table_started = Instant::now();
            let mut rows = 0u64;
            let mut copy = self
                .conn
                .copy_out(&table.copy_sql)
                .await
                .map_err(|e| read_error(table, e))?;
            while let Some(line) = copy.next_row().await.map_err(|e| read_error(table, e))? {
                let tuple = parser.parse_row(&line, table.columns)?;
                seq += 1;
                rows += 1;
                let read = read_event(&origin, table, Row::new(tuple), seq);
                if let Some((event, marker)) = markers.push(index, read) {
                    batch.push(marked(event, marker));
                    if batch.len() >= self.batch_size {
                        let full =
                            std::mem::replace(&mut batch, Vec::with_capacity(self.batch_size));
                        if !queue.send(full, stop).await {
                            return Ok(Outcome::Stopped);
                        }
                    }
                }
                if last_log.elapsed() >= PROGRESS_EVERY {
                    last_log = Instant::now();
                    let secs = started.elapsed().as_secs_f64().max(1e-3);
                    tracing::info!(
                        table = %table.name(),
                        rows,
                        estimated_rows = table.estimated_rows.max(0),
                        rows_per_second = ((rows_total + rows) as f64 / secs) as u64,
                        "snapshot in progress"
                    );
                }
            }
            rows_total += rows;
            // A table without rows is done at once (its last read is the one before it).
            self.tracker
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .table_queued(table.name().to_string(), if rows == 0 { 0 } else { seq });
            tracing::info!(table = %table.name(), rows, seconds = table_started.elapsed().as_secs_f64(), "snapshot of table done");
        }
        if let Some((event, marker)) = markers.finish() {
            batch.push(marked(event, marker));
        }
        if !queue.send(batch, stop).await {
            return Ok(Outcome::Stopped);
        }
        self.tracker
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .all_queued();
        // Reading is over; the rows are in the queue. Nothing was written: end the
        // transaction either way.
        let _ = self.conn.execute("COMMIT").await;
        self.conn.close().await;
        let secs = started.elapsed().as_secs_f64();
        tracing::info!(
            tables = tables.len(),
            rows = rows_total,
            seconds = secs,
            rows_per_second = (rows_total as f64 / secs.max(1e-3)) as u64,
            "snapshot read every table"
        );
        Ok(Outcome::Read { last_seq: seq })
    }
}

/// How often a long snapshot logs its progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// A read of `row` of `table`; `origin` is the snapshot's (LSN, transaction, start time).
fn read_event(origin: &(Lsn, u32, i64), table: &SnapshotTable, row: Row, seq: u64) -> Event {
    let (lsn, tx_id, started_us) = *origin;
    Event {
        kind: EventKind::Change(ChangeEvent {
            op: Op::Read,
            table: table.schema.clone(),
            before: None,
            after: Some(row),
            pk_update_other_row: None,
            source: Source {
                lsn,
                tx_id: Some(tx_id),
                commit_time_us: started_us,
                last_commit_lsn: None,
                snapshot: "true",
            },
            transaction: None,
            ts_us: now_us(),
        }),
        seq,
    }
}

fn marked(mut event: Event, marker: &'static str) -> Event {
    if let EventKind::Change(change) = &mut event.kind {
        change.source.snapshot = marker;
    }
    event
}

fn read_error(table: &SnapshotTable, e: Error) -> Error {
    let hint = if e
        .db_error()
        .is_some_and(|db| db.code == crate::conn::sqlstate::INSUFFICIENT_PRIVILEGE)
    {
        ": a snapshot reads the tables, so the role needs SELECT on them (GRANT SELECT ON \
         ... TO the replication role)"
    } else {
        ""
    };
    Error::new(
        e.kind(),
        format!("snapshot of {} failed{hint}", table.name()),
    )
    .with_source(e)
}

fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conn::ConnectParams;

    fn config(mode: SnapshotMode) -> ReplicationConfig {
        let mut c = ReplicationConfig::new(ConnectParams::from_dsn("host=h dbname=d").unwrap());
        c.slot_name = "s".into();
        c.snapshot_mode = mode;
        c
    }

    fn unfinished(done: &[&str]) -> Progress {
        Progress {
            slot: "s".into(),
            database: "d".into(),
            done: done.iter().map(|s| s.to_string()).collect(),
            ..Progress::default()
        }
    }

    #[test]
    fn another_servers_record_is_not_this_slots() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = config(SnapshotMode::Initial);
        c.offset_file = Some(dir.path().join("p.json"));
        record_due(&c, "7001").unwrap();
        assert_eq!(recorded(&c, "7001").unwrap().unwrap().system, "7001");
        // Same slot and database names, another server (a rebuilt one): nothing recorded.
        assert_eq!(recorded(&c, "7002").unwrap(), None);
    }

    #[test]
    fn each_mode_decides_as_debezium_does() {
        use SnapshotMode::*;
        let read = |exported, done: &[&str]| Decision::Read {
            exported,
            done: done.iter().map(|s| s.to_string()).collect(),
        };
        for mode in [Initial, WhenNeeded, InitialOnly] {
            // A new slot: read everything under its exported snapshot.
            assert_eq!(decide(&config(mode), true, None), read(true, &[]));
            // An unfinished snapshot of this slot: read the rest.
            let p = unfinished(&["public.a"]);
            assert_eq!(
                decide(&config(mode), false, Some(&p)),
                read(false, &["public.a"])
            );
        }
        // An existing slot: no snapshot (Debezium: offsets exist).
        assert_eq!(decide(&config(Initial), false, None), Decision::Stream);
        assert_eq!(
            decide(&config(InitialOnly), false, None),
            Decision::Finished
        );
        let complete = Progress {
            complete: true,
            ..unfinished(&[])
        };
        assert_eq!(
            decide(&config(Initial), false, Some(&complete)),
            Decision::Stream
        );
        // Another slot's record says nothing about this one.
        let other = Progress {
            slot: "t".into(),
            ..unfinished(&[])
        };
        assert_eq!(
            decide(&config(Initial), false, Some(&other)),
            Decision::Stream
        );
        assert_eq!(
            decide(&config(Always), false, Some(&complete)),
            read(false, &[])
        );
        assert_eq!(decide(&config(Always), true, None), read(true, &[]));
        assert_eq!(decide(&config(NoData), true, None), Decision::Stream);
    }
}
