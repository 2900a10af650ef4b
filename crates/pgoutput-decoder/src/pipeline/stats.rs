//! [`Stats`]: the pipeline's counters, in one place.
//!
//! Updated on the hot path with relaxed atomic additions only: the connection task counts the
//! bytes it receives and the batches it queues, the consumer's side counts the events of each
//! batch it takes from the queue (added up locally first, then added once per batch). Per-table
//! counts live in a slot per table, found through the last table seen (events of one table
//! usually come in runs) and, on a change of table, a map by relation id; the list of slots is
//! locked only when a table is seen for the first time and when a snapshot is taken. The last error is kept behind a lock taken only on errors.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed},
        Arc, Mutex,
    },
};

use pgoutput::Lsn;

use crate::{
    ack::{AckTracker, Positions},
    clock::now_us,
    event::{Event, EventKind, Op},
    relation::TableSchema,
};

/// Events counted by kind (what [`Event`]s the consumer's side took from the queue).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventCounts {
    /// Inserts (`c`).
    pub create: u64,
    /// Updates (`u`).
    pub update: u64,
    /// Deletes (`d`).
    pub delete: u64,
    /// Rows read by a snapshot (`r`).
    pub read: u64,
    /// Truncations (`t`).
    pub truncate: u64,
    /// Logical decoding messages (`m`).
    pub message: u64,
    /// Transaction metadata events (BEGIN/END, with `provide.transaction.metadata`).
    pub transaction: u64,
}

impl EventCounts {
    /// All events.
    pub fn total(&self) -> u64 {
        self.create
            + self.update
            + self.delete
            + self.read
            + self.truncate
            + self.message
            + self.transaction
    }
}

/// Change events of one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCount {
    /// `schema.table`.
    pub table: String,
    /// Change events of the table taken from the queue.
    pub events: u64,
    /// The same events by kind (`message` and `transaction` stay 0: they belong to no table).
    pub by_op: EventCounts,
}

/// The queue between the connection task and the consumer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Events waiting in the queue.
    pub events: u64,
    /// The most events the queue holds (`max_queue_size`).
    pub event_capacity: u64,
    /// Approximate bytes of the events waiting (counted in KiB steps; 0 when the queue has no
    /// byte bound, as the size is then not measured).
    pub bytes: u64,
    /// The byte bound (`max_queue_bytes`; 0: none).
    pub byte_capacity: u64,
}

/// One table of an initial snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotTableStats {
    /// `schema.table`.
    pub table: String,
    /// The planner's estimate of its rows (`pg_class.reltuples`; `None`: never analyzed).
    pub estimated_rows: Option<u64>,
    /// Rows read so far (counted when the table's reading ends).
    pub rows_read: u64,
    /// Whether every row was read (and queued).
    pub done: bool,
}

/// The progress of an initial snapshot (Debezium's snapshot metrics).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotStats {
    /// Reading (`SnapshotRunning`).
    pub running: bool,
    /// Every table was read (`SnapshotCompleted`).
    pub completed: bool,
    /// The tables to read, in reading order (`TotalTableCount` is their number).
    pub tables: Vec<SnapshotTableStats>,
}

impl SnapshotStats {
    /// Tables not read yet (`RemainingTableCount`).
    pub fn tables_remaining(&self) -> usize {
        self.tables.iter().filter(|t| !t.done).count()
    }
}

/// A copy of the pipeline's counters at one moment; see [`ChangeStream::stats`].
///
/// [`ChangeStream::stats`]: crate::ChangeStream::stats
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StatsSnapshot {
    /// Events taken from the queue, by kind.
    pub events: EventCounts,
    /// Change events taken from the queue, by table, in the order the tables were first seen.
    pub tables: Vec<TableCount>,
    /// Bytes of replication messages received from the server (CopyData payloads).
    pub bytes_received: u64,
    /// Received, handed-out and acknowledged positions (as [`ChangeStream::positions`]).
    ///
    /// [`ChangeStream::positions`]: crate::ChangeStream::positions
    pub positions: Positions,
    /// The flush position last sent to the server in a status update.
    pub server_confirmed: Lsn,
    /// Transactions (and non-transactional messages) whose end was received.
    pub transactions: u64,
    /// The queue's depth and capacity.
    pub queue: QueueStats,
    /// Whether the replication connection is up.
    pub connected: bool,
    /// Successful reconnects after a lost connection.
    pub reconnects: u64,
    /// The last error of the replication connection (lost connection, failed stream), if any.
    pub last_error: Option<String>,
    /// Errors of the replication connection so far (each lost connection, each failed
    /// reconnect attempt, the error that ended the stream).
    pub errors: u64,
    /// Commit time of the transaction of the last event taken from the queue, in microseconds
    /// since the Unix epoch (before the first is taken, that of the first event queued; 0:
    /// none yet).
    pub last_commit_time_us: i64,
    /// When the last event was taken from the queue, in microseconds since the Unix epoch
    /// (0: none yet).
    pub last_event_taken_us: i64,
    /// The initial snapshot's progress (`None`: no snapshot in this run).
    pub snapshot: Option<SnapshotStats>,
}

impl StatsSnapshot {
    /// How far the consumer is behind the source, in milliseconds, `now_us` being the time
    /// now (microseconds since the Unix epoch): Debezium's `MilliSecondsBehindSource`.
    ///
    /// While events wait in the queue, the time since the commit of the last event taken
    /// (it grows while the consumer is stalled); otherwise how old that event was when it was
    /// taken (the lag the consumer had when it caught up, near 0 when it keeps up). 0 before
    /// the first event.
    pub fn millis_behind_source(&self, now_us: i64) -> u64 {
        if self.last_commit_time_us == 0
            || (self.queue.events == 0 && self.last_event_taken_us == 0)
        {
            return 0;
        }
        let at = if self.queue.events > 0 {
            now_us
        } else {
            self.last_event_taken_us
        };
        (at.saturating_sub(self.last_commit_time_us) / 1000).max(0) as u64
    }

    /// Milliseconds since the last event was taken from the queue (Debezium's
    /// `MilliSecondsSinceLastEvent`); `None` before the first event.
    pub fn millis_since_last_event(&self, now_us: i64) -> Option<u64> {
        (self.last_event_taken_us != 0)
            .then(|| (now_us.saturating_sub(self.last_event_taken_us) / 1000).max(0) as u64)
    }
}

/// Slots of [`EventCounts`] in [`Counters::ops`].
const OP_SLOTS: usize = 7;
const TRANSACTION_SLOT: usize = 6;

fn op_slot(op: Op) -> usize {
    match op {
        Op::Create => 0,
        Op::Update => 1,
        Op::Delete => 2,
        Op::Read => 3,
        Op::Truncate => 4,
        Op::Message => 5,
    }
}

/// Kinds of change events a table has (create, update, delete, read, truncate).
const TABLE_OP_SLOTS: usize = 5;

#[derive(Debug)]
struct TableSlot {
    table: String,
    /// Events by [`op_slot`] (the first [`TABLE_OP_SLOTS`]).
    ops: [AtomicU64; TABLE_OP_SLOTS],
}

#[derive(Debug, Default)]
struct Counters {
    ops: [AtomicU64; OP_SLOTS],
    tables: Mutex<Vec<Arc<TableSlot>>>,
    bytes_received: AtomicU64,
    server_confirmed: AtomicU64,
    queued_events: AtomicU64,
    queued_kib: AtomicU64,
    event_capacity: u64,
    byte_capacity: u64,
    connected: AtomicBool,
    reconnects: AtomicU64,
    errors: AtomicU64,
    last_error: Mutex<Option<String>>,
    last_commit_time_us: AtomicI64,
    last_event_taken_us: AtomicI64,
    /// Commit time of the first event ever queued (the lag before the first is taken).
    first_queued_commit_us: AtomicI64,
    /// Updated once per table of a snapshot, never per event.
    snapshot: Mutex<Option<SnapshotStats>>,
}

/// The pipeline's counters, shared by the connection task, the consumer's side and whoever
/// reads them (cheap to clone).
#[derive(Debug, Clone)]
pub(crate) struct Stats {
    counters: Arc<Counters>,
    acks: AckTracker,
}

impl Stats {
    pub(crate) fn new(acks: AckTracker, event_capacity: usize, byte_capacity: usize) -> Self {
        Stats {
            counters: Arc::new(Counters {
                event_capacity: event_capacity as u64,
                byte_capacity: byte_capacity as u64,
                ..Counters::default()
            }),
            acks,
        }
    }

    /// Connection task: a replication message of `bytes` arrived.
    #[inline]
    pub(crate) fn received_bytes(&self, bytes: usize) {
        self.counters
            .bytes_received
            .fetch_add(bytes as u64, Relaxed);
    }

    /// A producer queued this batch, holding `kib` of the byte budget.
    #[inline]
    pub(crate) fn queued(&self, events: &[Event], kib: u32) {
        self.queued_count(events.len(), kib);
        let first = &self.counters.first_queued_commit_us;
        if first.load(Relaxed) == 0 {
            if let Some(t) = events.iter().find_map(commit_time_us) {
                first.store(t, Relaxed);
            }
        }
    }

    /// A batch of `events` holding `kib` of the byte budget was queued.
    #[inline]
    pub(crate) fn queued_count(&self, events: usize, kib: u32) {
        self.counters
            .queued_events
            .fetch_add(events as u64, Relaxed);
        self.counters.queued_kib.fetch_add(u64::from(kib), Relaxed);
    }

    /// Consumer: a batch of `events` holding `kib` was taken from the queue.
    #[inline]
    pub(crate) fn dequeued(&self, events: usize, kib: u32) {
        self.counters
            .queued_events
            .fetch_sub(events as u64, Relaxed);
        self.counters.queued_kib.fetch_sub(u64::from(kib), Relaxed);
    }

    /// Connection task: this flush position was sent to the server.
    pub(crate) fn server_confirmed(&self, lsn: Lsn) {
        self.counters.server_confirmed.store(lsn.0, Relaxed);
    }

    /// The replication connection is up (connected or reconnected).
    pub(crate) fn connected(&self) {
        self.counters.connected.store(true, Relaxed);
    }

    /// The replication connection was closed after a graceful stop.
    pub(crate) fn closed(&self) {
        self.counters.connected.store(false, Relaxed);
    }

    /// The replication connection failed with `error`.
    pub(crate) fn failed(&self, error: &dyn std::fmt::Display) {
        self.counters.connected.store(false, Relaxed);
        self.counters.errors.fetch_add(1, Relaxed);
        *self
            .counters
            .last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(error.to_string());
    }

    /// A lost connection was established again.
    pub(crate) fn reconnected(&self) {
        self.counters.reconnects.fetch_add(1, Relaxed);
        self.connected();
    }

    pub(crate) fn snapshot(&self) -> StatsSnapshot {
        let c = &*self.counters;
        let op = |slot: usize| c.ops[slot].load(Relaxed);
        let tables = c
            .tables
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|slot| {
                let n = |op: Op| slot.ops[op_slot(op)].load(Relaxed);
                let by_op = EventCounts {
                    create: n(Op::Create),
                    update: n(Op::Update),
                    delete: n(Op::Delete),
                    read: n(Op::Read),
                    truncate: n(Op::Truncate),
                    ..EventCounts::default()
                };
                TableCount {
                    table: slot.table.clone(),
                    events: by_op.total(),
                    by_op,
                }
            })
            .collect();
        let (positions, transactions) = self.acks.positions_and_transactions();
        StatsSnapshot {
            events: EventCounts {
                create: op(op_slot(Op::Create)),
                update: op(op_slot(Op::Update)),
                delete: op(op_slot(Op::Delete)),
                read: op(op_slot(Op::Read)),
                truncate: op(op_slot(Op::Truncate)),
                message: op(op_slot(Op::Message)),
                transaction: op(TRANSACTION_SLOT),
            },
            tables,
            bytes_received: c.bytes_received.load(Relaxed),
            positions,
            server_confirmed: Lsn(c.server_confirmed.load(Relaxed)),
            transactions,
            queue: QueueStats {
                events: c.queued_events.load(Relaxed),
                event_capacity: c.event_capacity,
                bytes: c.queued_kib.load(Relaxed) * 1024,
                byte_capacity: c.byte_capacity,
            },
            connected: c.connected.load(Relaxed),
            reconnects: c.reconnects.load(Relaxed),
            last_error: c
                .last_error
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
            errors: c.errors.load(Relaxed),
            snapshot: c.snapshot.lock().unwrap_or_else(|e| e.into_inner()).clone(),
            last_commit_time_us: match c.last_commit_time_us.load(Relaxed) {
                // Nothing taken yet: what waits is as old as the first event queued.
                0 => c.first_queued_commit_us.load(Relaxed),
                taken => taken,
            },
            last_event_taken_us: c.last_event_taken_us.load(Relaxed),
        }
    }

    /// Snapshot: about to read these tables, `(name, estimated rows)`, in order.
    pub(crate) fn snapshot_started(&self, tables: impl Iterator<Item = (String, Option<u64>)>) {
        let tables = tables
            .map(|(table, estimated_rows)| SnapshotTableStats {
                table,
                estimated_rows,
                rows_read: 0,
                done: false,
            })
            .collect();
        *self.snapshot_lock() = Some(SnapshotStats {
            running: true,
            completed: false,
            tables,
        });
    }

    /// Snapshot: table number `index` was read whole, `rows` rows.
    pub(crate) fn snapshot_table_read(&self, index: usize, rows: u64) {
        if let Some(t) = self
            .snapshot_lock()
            .as_mut()
            .and_then(|s| s.tables.get_mut(index))
        {
            t.rows_read = rows;
            t.done = true;
        }
    }

    /// Snapshot: over, every table read (`completed`) or not (stopped, failed).
    pub(crate) fn snapshot_ended(&self, completed: bool) {
        if let Some(s) = self.snapshot_lock().as_mut() {
            s.running = false;
            s.completed = completed;
        }
    }

    fn snapshot_lock(&self) -> std::sync::MutexGuard<'_, Option<SnapshotStats>> {
        self.counters
            .snapshot
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Events taken so far (all kinds), without a whole snapshot.
    pub(crate) fn events_total(&self) -> u64 {
        self.counters.ops.iter().map(|c| c.load(Relaxed)).sum()
    }
}

/// The consumer side's counting of events by kind and table. Single-owner: it remembers the
/// last table's slot so that an event of the same table as the one before costs a pointer
/// comparison.
#[derive(Debug)]
pub(crate) struct EventCounter {
    stats: Stats,
    /// The table of the last change event and its slot.
    last: Option<(Arc<TableSchema>, Arc<TableSlot>)>,
    by_relation: HashMap<u32, Arc<TableSlot>>,
}

impl EventCounter {
    pub(crate) fn new(stats: Stats) -> Self {
        EventCounter {
            stats,
            last: None,
            by_relation: HashMap::new(),
        }
    }

    pub(crate) fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Counts the events of a batch taken from the queue: added up locally, then one atomic
    /// addition per kind and per run of one table's events, and the last event's commit time
    /// stored once.
    pub(crate) fn count(&mut self, events: &[Event]) {
        let mut ops = [0u64; OP_SLOTS];
        // Events of the last table, by kind, not yet added to its slot.
        let mut run = [0u64; TABLE_OP_SLOTS];
        for event in events {
            match &event.kind {
                EventKind::Change(c) => {
                    let slot = op_slot(c.op);
                    ops[slot] += 1;
                    if !matches!(&self.last, Some((t, _)) if Arc::ptr_eq(t, &c.table)) {
                        self.add_run(&mut run);
                        let table_slot = self.slot_of(&c.table);
                        self.last = Some((c.table.clone(), table_slot));
                    }
                    // Change events are never messages: the slot is below TABLE_OP_SLOTS.
                    if let Some(n) = run.get_mut(slot) {
                        *n += 1;
                    }
                }
                EventKind::Message(_) => ops[op_slot(Op::Message)] += 1,
                EventKind::Transaction(_) => ops[TRANSACTION_SLOT] += 1,
                EventKind::Heartbeat(_) => {}
            }
        }
        self.add_run(&mut run);
        let c = &self.stats.counters;
        for (counter, n) in c.ops.iter().zip(ops) {
            if n > 0 {
                counter.fetch_add(n, Relaxed);
            }
        }
        if let Some(t) = events.iter().rev().find_map(commit_time_us) {
            c.last_commit_time_us.store(t, Relaxed);
        }
        if !events.is_empty() {
            c.last_event_taken_us.store(now_us(), Relaxed);
        }
    }

    /// Adds the run of the last table to its slot and empties it.
    fn add_run(&self, run: &mut [u64; TABLE_OP_SLOTS]) {
        if let Some((_, slot)) = &self.last {
            for (counter, n) in slot.ops.iter().zip(run.iter_mut()) {
                if *n > 0 {
                    counter.fetch_add(*n, Relaxed);
                    *n = 0;
                }
            }
        }
    }

    /// The slot of a table seen for the first time, or again after another table (a schema
    /// change gives a table a new [`TableSchema`] under the same relation id; a rename, a new
    /// slot).
    fn slot_of(&mut self, table: &TableSchema) -> Arc<TableSlot> {
        if let Some(slot) = self.by_relation.get(&table.relation_id) {
            if slot.table == table.data_collection {
                return slot.clone();
            }
        }
        let mut tables = self
            .stats
            .counters
            .tables
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let slot = match tables.iter().find(|s| s.table == table.data_collection) {
            Some(slot) => slot.clone(),
            None => {
                let slot = Arc::new(TableSlot {
                    table: table.data_collection.clone(),
                    ops: Default::default(),
                });
                tables.push(slot.clone());
                slot
            }
        };
        self.by_relation.insert(table.relation_id, slot.clone());
        slot
    }
}

/// The commit time of the transaction an event belongs to; none for a heartbeat (it says
/// nothing about how far behind the source the stream is).
fn commit_time_us(event: &Event) -> Option<i64> {
    match &event.kind {
        EventKind::Change(c) => Some(c.source.commit_time_us),
        EventKind::Message(m) => Some(m.source.commit_time_us),
        EventKind::Transaction(t) => Some(t.commit_time_us),
        EventKind::Heartbeat(_) => None,
    }
}

/// A handle on the pipeline's counters for readers outside the consumer's loop: a metrics
/// endpoint, a progress logger, another thread. Cheap to clone; reading takes no lock on the
/// counting path.
#[derive(Debug, Clone)]
pub struct StatsHandle(Stats);

impl StatsHandle {
    pub(crate) fn new(stats: Stats) -> Self {
        StatsHandle(stats)
    }

    /// The counters now (as [`ChangeStream::stats`](crate::ChangeStream::stats)).
    pub fn snapshot(&self) -> StatsSnapshot {
        self.0.snapshot()
    }
}
