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
pub(crate) mod incremental;
mod markers;
pub(crate) mod progress;
pub(crate) mod signal;
mod tables;

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use pgoutput::Lsn;
use tokio::sync::{mpsc, watch};

use crate::{
    ack::AckTracker,
    clock::now_us,
    config::{ReplicationConfig, SnapshotMode},
    conn::{quote_literal, PgConnection},
    event::{ChangeEvent, Event, EventKind, Op, Row, Source},
    pipeline::{Batch, ByteBudget, QueuedBatch, Stats},
    types::TypeRegistry,
    Error, Result,
};
use copy_text::RowParser;
use markers::{Marked, Markers};
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

/// A snapshot whose transactions are open and whose tables are known, ready to read.
pub(crate) struct InitialSnapshot {
    /// One connection per reader (`snapshot.max.threads`), all under the same snapshot.
    conns: Vec<PgConnection>,
    tables: Vec<SnapshotTable>,
    /// What the readers read: whole tables, or block ranges of large ones.
    units: VecDeque<Unit>,
    lsn: Lsn,
    tx_id: u32,
    started_us: i64,
    pub(crate) tracker: Arc<Mutex<Tracker>>,
    batch_size: usize,
}

/// One `COPY` of (part of) a table.
#[derive(Debug, Clone)]
struct Unit {
    table: usize,
    sql: String,
}

/// Tables larger than this many pages are read in block ranges when there are several readers
/// (PostgreSQL 14+, where a range of blocks is scanned, not the whole table).
const CHUNK_PAGES: i64 = 2048;

/// Opens the snapshot: connections to `host`:`port` (the server the slot lives on), each in a
/// `REPEATABLE READ` transaction under `exported` (the slot's snapshot, `SET TRANSACTION
/// SNAPSHOT`) or under a snapshot the first one exports, and the list of tables. Must run
/// before the replication connection issues another command, which ends the exported
/// snapshot.
#[tracing::instrument(name = "snapshot_open", skip_all, fields(slot = %config.slot_name))]
pub(crate) async fn open(
    config: &ReplicationConfig,
    host: &str,
    port: u16,
    exported: Option<(&str, Lsn)>,
    done: Vec<String>,
    system: &str,
) -> Result<InitialSnapshot> {
    let params = config.connection.for_host(host, port);
    let mut conn = PgConnection::connect(&params, false).await?;
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await?;
    if let Some((name, _)) = exported {
        conn.execute(&format!("SET TRANSACTION SNAPSHOT {}", quote_literal(name)))
            .await?;
    }
    let threads = config.snapshot_max_threads.max(1);
    // The other readers share the slot's snapshot, or one the first reader exports.
    let shared_name = match exported {
        Some((name, _)) => name.to_string(),
        None if threads > 1 => conn
            .simple_query("SELECT pg_catalog.pg_export_snapshot()")
            .await?
            .first()
            .and_then(|r| r.get(0))
            .unwrap_or_default()
            .to_string(),
        None => String::new(),
    };
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
    let block_ranges = threads > 1 && conn.server_version_num() >= 140000;
    let units = work_units(config, &tables, threads, block_ranges);
    // No more readers than pieces of work.
    let mut conns = vec![conn];
    for _ in 1..threads.min(units.len()) {
        let mut other = PgConnection::connect(&params, false).await?;
        other
            .execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await?;
        other
            .execute(&format!(
                "SET TRANSACTION SNAPSHOT {}",
                quote_literal(&shared_name)
            ))
            .await?;
        conns.push(other);
    }
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
        readers = conns.len(),
        pieces = units.len(),
        lsn = %lsn,
        exported = exported.is_some(),
        "snapshot started"
    );
    Ok(InitialSnapshot {
        conns,
        tables,
        units,
        lsn,
        tx_id,
        started_us,
        tracker: Arc::new(Mutex::new(tracker)),
        batch_size: config.max_batch_size.min(config.snapshot_fetch_size).max(1),
    })
}

/// The pieces of work: each table whole, except large ones with several readers, which are
/// split into block ranges (the last one open-ended, for blocks added since `relpages`).
fn work_units(
    config: &ReplicationConfig,
    tables: &[SnapshotTable],
    threads: usize,
    block_ranges: bool,
) -> VecDeque<Unit> {
    let mut units = VecDeque::new();
    for (i, t) in tables.iter().enumerate() {
        let overridden = config
            .snapshot_select_overrides
            .iter()
            .any(|(name, _)| name == t.name());
        if !block_ranges || overridden || t.pages < CHUNK_PAGES {
            units.push_back(Unit {
                table: i,
                sql: t.copy_sql.clone(),
            });
            continue;
        }
        let pieces = ((t.pages + CHUNK_PAGES - 1) / CHUNK_PAGES).min(threads as i64 * 4);
        let step = (t.pages + pieces - 1) / pieces;
        let columns = if t.select_columns.is_empty() {
            "*"
        } else {
            &t.select_columns
        };
        for p in 0..pieces {
            let (from, to) = (p * step, (p + 1) * step);
            let mut filter = vec![format!("ctid >= '({from},0)'::tid")];
            if p + 1 < pieces {
                filter.push(format!("ctid < '({to},0)'::tid"));
            }
            if let Some(f) = &t.row_filter {
                filter.push(format!("({f})"));
            }
            units.push_back(Unit {
                table: i,
                sql: format!(
                    "COPY (SELECT {columns} FROM {} WHERE {}) TO STDOUT",
                    t.target,
                    filter.join(" AND ")
                ),
            });
        }
    }
    units
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
                    self.stats.queued(&events, kib);
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

/// What a reader hands the coordinator.
enum Piece {
    /// Rows of a table.
    Rows(usize, Vec<Row>),
    /// A piece of work is read whole.
    UnitDone(usize),
    Failed(Error),
}

impl InitialSnapshot {
    /// Reads every table into `queue`, numbering reads from 1: the readers read and parse in
    /// parallel; this task marks, numbers and queues their rows.
    #[tracing::instrument(name = "snapshot", skip_all)]
    pub(crate) async fn run(
        mut self,
        queue: Queue<'_>,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<Outcome> {
        let tables: Arc<Vec<SnapshotTable>> = Arc::new(std::mem::take(&mut self.tables));
        queue.stats.snapshot_started(
            tables
                .iter()
                .map(|t| (t.name().to_string(), u64::try_from(t.estimated_rows).ok())),
        );
        let outcome = self.read_tables(&queue, stop, tables).await;
        queue
            .stats
            .snapshot_ended(matches!(outcome, Ok(Outcome::Read { .. })));
        outcome
    }

    /// The reading itself; `run` keeps the stats' snapshot state around it.
    async fn read_tables(
        mut self,
        queue: &Queue<'_>,
        stop: &mut watch::Receiver<bool>,
        tables: Arc<Vec<SnapshotTable>>,
    ) -> Result<Outcome> {
        let mut left_per_table = vec![0usize; tables.len()];
        for u in &self.units {
            left_per_table[u.table] += 1;
        }
        let work = Arc::new(Mutex::new(std::mem::take(&mut self.units)));
        let readers = self.conns.len();
        let (tx, mut rx) = mpsc::channel::<Piece>(readers * 2);
        let mut handles = Vec::new();
        for conn in std::mem::take(&mut self.conns) {
            let (tx, work, tables) = (tx.clone(), work.clone(), tables.clone());
            let batch_size = self.batch_size;
            handles.push(tokio::spawn(read_units(conn, work, tables, tx, batch_size)));
        }
        drop(tx);
        // Aborts the readers when this ends early (stopped, failed).
        let _abort = AbortOnDrop(handles);

        let mut markers = Markers::default();
        let mut batch = Vec::with_capacity(self.batch_size);
        let mut seq = 0u64;
        let (started, mut last_log) = (Instant::now(), Instant::now());
        let mut rows_per_table = vec![0u64; tables.len()];
        let mut rows_total = 0u64;
        let origin = (self.lsn, self.tx_id, self.started_us);
        let tracker = self.tracker.clone();
        // Numbers a released read and notes its table's end.
        let mut release = |marked: Marked<Event>, batch: &mut Vec<Event>| {
            seq += 1;
            let mut event = marked.read;
            event.seq = seq;
            if marked.table_done {
                tracker
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .table_queued(tables[marked.table].name().to_string(), seq);
            }
            batch.push(marked_as(event, marked.marker));
        };
        let mut tables_left = tables.len();
        // Tables with nothing to read are done at once.
        for (i, left) in left_per_table.iter().enumerate() {
            if *left == 0 {
                tables_left -= 1;
                tracker
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .table_queued(tables[i].name().to_string(), 0);
            }
        }
        while tables_left > 0 {
            let piece = tokio::select! {
                _ = stop.changed() => return Ok(Outcome::Stopped),
                piece = rx.recv() => piece,
            };
            match piece {
                None => {
                    return Err(Error::new(
                        crate::ErrorKind::Closed,
                        "the snapshot readers ended before every table was read",
                    ))
                }
                Some(Piece::Failed(e)) => return Err(e),
                Some(Piece::Rows(t, rows)) => {
                    rows_per_table[t] += rows.len() as u64;
                    rows_total += rows.len() as u64;
                    for row in rows {
                        let read = read_event(&origin, &tables[t], row, 0);
                        for marked in markers.push(t, read).into_iter().flatten() {
                            release(marked, &mut batch);
                        }
                    }
                }
                Some(Piece::UnitDone(t)) => {
                    left_per_table[t] -= 1;
                    if left_per_table[t] == 0 {
                        tables_left -= 1;
                        queue.stats.snapshot_table_read(t, rows_per_table[t]);
                        tracing::info!(table = %tables[t].name(), rows = rows_per_table[t], "snapshot of table done");
                        match markers.table_done(t) {
                            Some(marked) => release(marked, &mut batch),
                            None if rows_per_table[t] == 0 => {
                                // No rows: done at once.
                                tracker
                                    .lock()
                                    .unwrap_or_else(|e| e.into_inner())
                                    .table_queued(tables[t].name().to_string(), 0);
                            }
                            None => {}
                        }
                    }
                }
            }
            if batch.len() >= self.batch_size {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(self.batch_size));
                if !queue.send(full, stop).await {
                    return Ok(Outcome::Stopped);
                }
            }
            if last_log.elapsed() >= PROGRESS_EVERY {
                last_log = Instant::now();
                let secs = started.elapsed().as_secs_f64().max(1e-3);
                let estimated: i64 = tables.iter().map(|t| t.estimated_rows.max(0)).sum();
                tracing::info!(
                    rows = rows_total,
                    estimated_rows = estimated,
                    tables_done = tables.len() - tables_left,
                    tables = tables.len(),
                    rows_per_second = (rows_total as f64 / secs) as u64,
                    "snapshot in progress"
                );
            }
        }
        if let Some(marked) = markers.finish() {
            release(marked, &mut batch);
        }
        if !queue.send(batch, stop).await {
            return Ok(Outcome::Stopped);
        }
        self.tracker
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .all_queued();
        let secs = started.elapsed().as_secs_f64();
        tracing::info!(
            tables = tables.len(),
            rows = rows_total,
            readers,
            seconds = secs,
            rows_per_second = (rows_total as f64 / secs.max(1e-3)) as u64,
            "snapshot read every table"
        );
        Ok(Outcome::Read { last_seq: seq })
    }
}

/// Aborts the reader tasks when dropped.
struct AbortOnDrop(Vec<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        for h in &self.0 {
            h.abort();
        }
    }
}

/// A reader: takes pieces of work until none is left, sending their rows in batches.
async fn read_units(
    mut conn: PgConnection,
    work: Arc<Mutex<VecDeque<Unit>>>,
    tables: Arc<Vec<SnapshotTable>>,
    tx: mpsc::Sender<Piece>,
    batch_size: usize,
) {
    let mut parser = RowParser::default();
    loop {
        let unit = work.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
        let Some(unit) = unit else {
            break;
        };
        let table = &tables[unit.table];
        let result: Result<()> = async {
            let mut copy = conn
                .copy_out(&unit.sql)
                .await
                .map_err(|e| read_error(table, e))?;
            let mut rows = Vec::with_capacity(batch_size);
            while let Some(line) = copy.next_row().await.map_err(|e| read_error(table, e))? {
                rows.push(Row::new(parser.parse_row(&line, table.columns)?));
                if rows.len() >= batch_size {
                    let full = std::mem::replace(&mut rows, Vec::with_capacity(batch_size));
                    if tx.send(Piece::Rows(unit.table, full)).await.is_err() {
                        return Ok(());
                    }
                }
            }
            if !rows.is_empty() && tx.send(Piece::Rows(unit.table, rows)).await.is_err() {
                return Ok(());
            }
            let _ = tx.send(Piece::UnitDone(unit.table)).await;
            Ok(())
        }
        .await;
        if let Err(e) = result {
            let _ = tx.send(Piece::Failed(e)).await;
            return;
        }
    }
    // Reading is over. Nothing was written: end the transaction either way.
    let _ = conn.execute("COMMIT").await;
    conn.close().await;
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

fn marked_as(mut event: Event, marker: &'static str) -> Event {
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
