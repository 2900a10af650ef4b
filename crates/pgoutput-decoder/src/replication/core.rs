//! [`ReplicationCore`]: the replication protocol's state across messages.

use std::collections::HashMap;

use bytes::Bytes;
use pgoutput::{Decoder, Lsn, Message};

use std::sync::Arc;

use super::{
    assemble::Assembler,
    spool::{Replay, Spool},
    window::{Watermark, Window},
};
use crate::{
    ack::AckTracker,
    config::ReplicationConfig,
    event::{ChangeEvent, Event, EventKind, HeartbeatEvent, Op, Row, Source},
    relation::RelationCache,
    relation::TableSchema,
    Error, ErrorKind, Result,
};

/// What the I/O task has to do after the core took an input.
#[derive(Debug)]
#[must_use]
pub(crate) enum Action {
    /// Nothing: feed the next input.
    Continue,
    /// A Relation message arrived: look up the table in the catalog and answer with
    /// [`ReplicationCore::provide_table_schema`] before feeding anything else.
    NeedTableSchema(pgoutput::Relation),
    /// The server asked for a reply: send a [`ReplicationCore::status_update`] now.
    SendStatus,
    /// The incremental snapshot window's low watermark came through: read the chunk now and
    /// write the high watermark. (Read only now, not before the low watermark went out: a
    /// transaction whose commit the stream delivered before the low watermark is then surely
    /// visible to the read.)
    WindowOpened,
    /// The incremental snapshot window's high watermark came through (at this position):
    /// hand over the chunk with [`ReplicationCore::close_window`] before feeding anything else.
    WindowClosed(Lsn),
}

/// The positions of a standby status update (the I/O task adds the clock and encodes it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StatusUpdate {
    pub write: Lsn,
    pub flush: Lsn,
    pub apply: Lsn,
    pub reply: bool,
}

/// A transaction being replayed from the spool.
struct Replaying {
    replay: Replay,
    commit: pgoutput::StreamCommit,
    /// It was prepared: its hold on the confirmed position goes once it is acknowledged.
    prepared: bool,
}

/// Messages replayed per step, so status updates and queue hand-offs keep flowing during the
/// replay of a very large transaction.
const REPLAY_SLICE: usize = 256;

/// The replication stream's state: transaction assembly, streamed transactions (protocol 2+),
/// two-phase holds, the skip-after-reconnect rule, the relation cache and acknowledgement
/// bookkeeping. It reads no clock and does no I/O.
pub(crate) struct ReplicationCore {
    decoder: Decoder,
    /// pgoutput protocol version of the current connection.
    proto_version: u32,
    assembler: Assembler,
    relations: RelationCache,
    acks: AckTracker,
    /// The end of the WAL received so far, published to the acknowledgement state once per
    /// burst rather than once per message (each publication takes its lock).
    wal_received: Lsn,
    /// The flush position last reported to the server.
    last_sent_flush: Lsn,
    /// The streamed transaction whose chunk is being received (between Stream Start/Stop).
    stream_xid: Option<u32>,
    /// Chunks of streamed transactions awaiting their commit.
    spool: Spool,
    /// A committed streamed or prepared transaction being turned into events, a slice at a
    /// time.
    replay: Option<Replaying>,
    /// The prepared transaction whose messages are arriving (between BEGIN PREPARE and
    /// PREPARE).
    preparing: Option<u32>,
    /// Prepared transactions received on this connection and not yet resolved, by xid: where
    /// their BEGIN PREPARE arrived (`None` for a streamed one), for the BEGIN event's id.
    prepared: HashMap<u32, Option<Lsn>>,
    /// A [`Action::NeedTableSchema`] is unanswered.
    awaiting_schema: bool,
    /// The incremental snapshot chunk whose watermarks are awaited.
    window: Option<Window>,
}

impl ReplicationCore {
    pub(crate) fn new(config: &ReplicationConfig, acks: AckTracker, proto_version: u32) -> Self {
        ReplicationCore {
            decoder: Decoder::new(proto_version),
            proto_version,
            assembler: Assembler::new(config, acks.clone()),
            relations: RelationCache::default(),
            acks,
            wal_received: Lsn::ZERO,
            last_sent_flush: Lsn::ZERO,
            stream_xid: None,
            spool: Spool::new(config.stream_buffer_bytes),
            replay: None,
            preparing: None,
            prepared: HashMap::new(),
            awaiting_schema: false,
            window: None,
        }
    }

    /// An incremental snapshot chunk is about to be read between watermarks with this window's
    /// id: from its low watermark on, changes of its table are noted.
    pub(crate) fn expect_window(&mut self, window: Window) {
        self.assembler.take_watermark();
        self.window = Some(window);
    }

    /// The sequence number of the last event produced.
    pub(crate) fn last_seq(&self) -> u64 {
        self.assembler.last_seq()
    }

    /// Whether a chunk window is awaited.
    pub(crate) fn window_pending(&self) -> bool {
        self.window.is_some()
    }

    /// Forgets the awaited window (the snapshot was stopped, or the connection lost: the chunk
    /// is read again in a new window).
    pub(crate) fn drop_window(&mut self) {
        self.window = None;
    }

    /// The answer to [`Action::WindowClosed`]: `rows` (the chunk, with the schema its reads
    /// carry) become reads at the high watermark `lsn`, except rows changed inside the window.
    /// Returns how many were emitted.
    pub(crate) fn close_window(
        &mut self,
        table: &Arc<TableSchema>,
        rows: Vec<Row>,
        lsn: Lsn,
        now_us: i64,
        out: &mut Vec<Event>,
    ) -> usize {
        let Some(window) = self.window.take() else {
            return 0;
        };
        let mut emitted = 0;
        for row in rows {
            if window.superseded(&row) {
                continue;
            }
            emitted += 1;
            self.assembler.push_outside(
                EventKind::Change(ChangeEvent {
                    op: Op::Read,
                    table: table.clone(),
                    before: None,
                    after: Some(row),
                    pk_update_other_row: None,
                    source: Source {
                        lsn,
                        tx_id: None,
                        commit_time_us: now_us,
                        last_commit_lsn: None,
                        snapshot: "incremental",
                    },
                    transaction: None,
                    ts_us: now_us,
                }),
                out,
            );
        }
        emitted
    }

    /// Appends a heartbeat event (`heartbeat.interval.ms`), unless a transaction is being
    /// produced or replayed: a heartbeat goes between transactions, never inside one. Returns
    /// whether it was appended.
    pub(crate) fn heartbeat(&mut self, now_us: i64, out: &mut Vec<Event>) -> bool {
        if self.in_transaction() || self.replaying() {
            return false;
        }
        let lsn = self.assembler.produced_upto();
        self.assembler.push_outside(
            EventKind::Heartbeat(HeartbeatEvent { ts_us: now_us, lsn }),
            out,
        );
        true
    }

    /// After an input: notes the window's changes and its watermarks.
    fn watch_window(&mut self, start: usize, out: &[Event]) -> Option<Action> {
        let window = self.window.as_mut()?;
        window.observe(&out[start.min(out.len())..]);
        let (mark, lsn) = self.assembler.take_watermark()?;
        match mark {
            Watermark::Low(id) if id == window.id && !window.open => {
                window.open = true;
                return Some(Action::WindowOpened);
            }
            Watermark::High(id) if id == window.id && window.open => {
                return Some(Action::WindowClosed(lsn))
            }
            // Another run's or an abandoned window's watermark.
            _ => {}
        }
        None
    }

    /// Numbers events after `seq`, the last event handed out before streaming (a snapshot's).
    pub(crate) fn continuing_after(mut self, seq: u64) -> Self {
        self.assembler.continue_after(seq);
        self
    }

    /// Whether a transaction is open (its events may still be coming).
    pub(crate) fn in_transaction(&self) -> bool {
        self.assembler.in_transaction()
    }

    /// Whether a committed transaction is being replayed: call
    /// [`replay_slice`](Self::replay_slice) rather than reading.
    pub(crate) fn replaying(&self) -> bool {
        self.replay.is_some()
    }

    /// Whether a streamed transaction's chunk is being received (its changes wait for the
    /// commit, so nothing is handed out meanwhile).
    pub(crate) fn in_stream_chunk(&self) -> bool {
        self.stream_xid.is_some()
    }

    /// Publishes the end of the WAL received so far to the acknowledgement state.
    pub(crate) fn publish_received(&self) {
        self.acks.received(self.wal_received);
    }

    /// The connection was lost: an open transaction's progress is remembered, so that its
    /// replay after the reconnect does not deliver those events twice.
    pub(crate) fn disconnected(&mut self) {
        self.assembler.disconnected();
    }

    /// A new connection speaking `proto_version` resumes at the confirmed position: the
    /// server sends open transactions again from their start.
    pub(crate) fn reconnected(&mut self, proto_version: u32) {
        self.proto_version = proto_version;
        self.decoder = Decoder::new(proto_version);
        self.stream_xid = None;
        self.spool.clear();
        self.replay = None;
        // Pending prepared transactions come again too: the confirmed position never passed
        // their PREPARE (ack.rs), so what was held for them is dropped here and rebuilt from
        // what the server sends.
        self.preparing = None;
        self.prepared.clear();
        self.awaiting_schema = false;
        self.acks.set_in_transaction(false);
        // Tell the new connection the confirmed position at least once.
        self.last_sent_flush = Lsn::ZERO;
    }

    /// The answer to [`Action::NeedTableSchema`]: later changes of the table use `schema`.
    pub(crate) fn provide_table_schema(&mut self, schema: TableSchema) {
        self.awaiting_schema = false;
        self.relations.insert(schema);
    }

    /// Takes the payload of one XLogData message (`wal_start`..`wal_end`), appending the
    /// events it completes to `out`. `now_us` is the processing time of those events
    /// (microseconds since the Unix epoch).
    pub(crate) fn handle_xlog(
        &mut self,
        wal_start: Lsn,
        wal_end: Lsn,
        data: Bytes,
        now_us: i64,
        out: &mut Vec<Event>,
    ) -> Result<Action> {
        let start = out.len();
        let action = self.take_xlog(wal_start, wal_end, data, now_us, out)?;
        if self.window.is_none() {
            // A watermark seen now is left where it is: expect_window clears it.
            return Ok(action);
        }
        match self.watch_window(start, out) {
            Some(closed) => Ok(closed),
            None => Ok(action),
        }
    }

    fn take_xlog(
        &mut self,
        wal_start: Lsn,
        wal_end: Lsn,
        data: Bytes,
        now_us: i64,
        out: &mut Vec<Event>,
    ) -> Result<Action> {
        self.check_not_awaiting()?;
        self.assembler.clock = now_us;
        self.wal_received = self.wal_received.max(wal_end);
        let in_stream = self.decoder.in_stream();
        // Only a change that waits for its commit (streamed or prepared) keeps its raw bytes;
        // elsewhere the decoded message takes them over, unshared.
        let raw = (in_stream || self.preparing.is_some()).then(|| data.clone());
        let message = self.decoder.decode(data)?;
        match (message, raw, self.preparing) {
            (Message::StreamStart(s), ..) => self.stream_xid = Some(s.xid),
            (Message::StreamStop, ..) => self.stream_xid = None,
            (Message::StreamAbort(a), ..) => self.spool.abort(a.xid, a.subxid),
            (Message::StreamCommit(c), ..) => {
                let replay = self.spool.take(c.xid)?;
                self.start_replay(c.commit_lsn, replay, c, false, out)?;
            }
            (Message::BeginPrepare(b), ..) => {
                // Sent again after a reconnect: start over.
                self.spool.begin_unstreamed(b.xid);
                self.preparing = Some(b.xid);
                self.prepared.insert(b.xid, Some(wal_start));
                self.acks.set_in_transaction(true);
                self.hold(b.xid, b.prepare_lsn);
            }
            (Message::Prepare(p), ..) => {
                self.preparing = None;
                self.acks.set_in_transaction(false);
                tracing::debug!(xid = p.xid, gid = p.gid.as_str(), prepare_lsn = %p.prepare_lsn, "transaction prepared: held until COMMIT PREPARED");
            }
            (Message::StreamPrepare(p), ..) => {
                self.prepared.insert(p.xid, None);
                self.hold(p.xid, p.prepare_lsn);
                tracing::debug!(xid = p.xid, gid = p.gid.as_str(), prepare_lsn = %p.prepare_lsn, "streamed transaction prepared: held until COMMIT PREPARED");
            }
            (Message::CommitPrepared(c), ..) => self.commit_prepared(c, out)?,
            (Message::RollbackPrepared(r), ..) => {
                self.prepared.remove(&r.xid);
                self.spool.abort(r.xid, r.xid);
                self.acks.resolved(r.xid, r.rollback_end_lsn);
                tracing::debug!(
                    xid = r.xid,
                    gid = r.gid.as_str(),
                    "prepared transaction rolled back: its changes are dropped"
                );
            }
            (Message::LogicalMessage(m), ..) if in_stream && !m.transactional => {
                self.assembler.handle(
                    wal_start,
                    Message::LogicalMessage(m),
                    &self.relations,
                    out,
                )?;
            }
            (_, Some(raw), _) if in_stream => {
                let xid = self
                    .stream_xid
                    .ok_or_else(|| protocol("streamed change outside a stream block"))?;
                self.spool.push(xid, wal_start, raw)?;
            }
            // Inside BEGIN PREPARE ... PREPARE: relations are needed by what follows in any
            // transaction, so they take effect now; changes wait.
            (message, Some(raw), Some(xid)) if held_until_commit(&message) => {
                self.spool.push(xid, wal_start, raw)?;
            }
            (message, ..) => return self.apply(wal_start, message, out),
        }
        Ok(Action::Continue)
    }

    /// Takes a keepalive from the server. `idle`: no events wait to be handed out.
    pub(crate) fn handle_keepalive(
        &mut self,
        wal_end: Lsn,
        reply_requested: bool,
        idle: bool,
    ) -> Action {
        self.acks.received(wal_end);
        let idle = idle && !self.assembler.in_transaction() && self.preparing.is_none();
        if idle && self.acks.advance_if_idle(wal_end) {
            tracing::trace!(lsn = %wal_end, "idle: confirming the server's WAL end");
        }
        if reply_requested {
            Action::SendStatus
        } else {
            Action::Continue
        }
    }

    /// Turns the next slice of a committed streamed or prepared transaction into events,
    /// stopping early once `out` holds `max_batch` events. `now_us` as for
    /// [`handle_xlog`](Self::handle_xlog).
    pub(crate) fn replay_slice(
        &mut self,
        max_batch: usize,
        now_us: i64,
        out: &mut Vec<Event>,
    ) -> Result<Action> {
        let start = out.len();
        let action = self.replay_some(max_batch, now_us, out)?;
        if let Some(window) = self.window.as_mut() {
            window.observe(&out[start..]);
        }
        Ok(action)
    }

    fn replay_some(
        &mut self,
        max_batch: usize,
        now_us: i64,
        out: &mut Vec<Event>,
    ) -> Result<Action> {
        self.check_not_awaiting()?;
        self.assembler.clock = now_us;
        for _ in 0..REPLAY_SLICE {
            let Some(Replaying { replay, commit, .. }) = self.replay.as_mut() else {
                return Ok(Action::Continue);
            };
            match replay.next_message()? {
                Some((lsn, raw)) => {
                    let message =
                        pgoutput::decode_message(raw, replay.streamed, self.proto_version)?;
                    if message
                        .xid()
                        .is_some_and(|x| replay.aborted_subxids.contains(&x))
                    {
                        continue;
                    }
                    if let action @ Action::NeedTableSchema(_) = self.apply(lsn, message, out)? {
                        return Ok(action);
                    }
                }
                None => {
                    let c = commit.clone();
                    let prepared = self.replay.take().is_some_and(|r| r.prepared);
                    let end = Message::Commit(pgoutput::Commit {
                        flags: c.flags,
                        commit_lsn: c.commit_lsn,
                        end_lsn: c.end_lsn,
                        commit_time: c.commit_time,
                    });
                    self.assembler
                        .handle(c.commit_lsn, end, &self.relations, out)?;
                    if prepared {
                        self.acks.resolved(c.xid, c.end_lsn);
                    }
                    return Ok(Action::Continue);
                }
            }
            if out.len() >= max_batch {
                break;
            }
        }
        Ok(Action::Continue)
    }

    /// The positions to report to the server now. While a pending prepared transaction holds
    /// the confirmed position back, the server hears the held position once; after that the
    /// update carries no flush position at all (0, as pg_receivewal sends). The slot keeps
    /// what it had, and a walsender told to shut down compares the write position with what
    /// it sent instead, so a fast shutdown does not wait for a COMMIT PREPARED that may be
    /// hours away.
    pub(crate) fn status_update(&mut self, reply: bool) -> StatusUpdate {
        self.acks.received(self.wal_received);
        let positions = self.acks.positions();
        let flush = self.acks.confirmed();
        let reported = if self.acks.is_held() && flush == self.last_sent_flush {
            Lsn::ZERO
        } else {
            flush
        };
        if flush != self.last_sent_flush {
            tracing::debug!(flush = %flush, "confirmed position sent to the server");
            self.last_sent_flush = flush;
        }
        StatusUpdate {
            write: positions.received.max(flush),
            flush: reported,
            apply: reported,
            reply,
        }
    }

    fn check_not_awaiting(&self) -> Result<()> {
        if self.awaiting_schema {
            return Err(protocol(
                "input fed to the replication core before the table schema it asked for",
            ));
        }
        Ok(())
    }

    fn commit_prepared(&mut self, c: pgoutput::CommitPrepared, out: &mut Vec<Event>) -> Result<()> {
        let Some(begin_lsn) = self.prepared.remove(&c.xid) else {
            // Its PREPARE lies before where this connection started and the server decided
            // not to send it again.
            tracing::warn!(xid = c.xid, gid = c.gid.as_str(), commit_lsn = %c.commit_lsn, "COMMIT PREPARED of a transaction whose PREPARE was not received: its changes cannot be delivered");
            self.spool.abort(c.xid, c.xid);
            self.acks.resolved(c.xid, c.end_lsn);
            return Ok(());
        };
        let replay = self.spool.take(c.xid)?;
        if replay.is_empty() {
            // Nothing published: like an empty transaction, no events.
            self.acks.resolved(c.xid, c.end_lsn);
            return Ok(());
        }
        let commit = pgoutput::StreamCommit {
            xid: c.xid,
            flags: c.flags,
            commit_lsn: c.commit_lsn,
            end_lsn: c.end_lsn,
            commit_time: c.commit_time,
        };
        self.start_replay(begin_lsn.unwrap_or(c.commit_lsn), replay, commit, true, out)
    }

    /// Opens the committed transaction `commit` (its BEGIN event at `begin_lsn`); its
    /// messages follow from [`replay_slice`](Self::replay_slice).
    fn start_replay(
        &mut self,
        begin_lsn: Lsn,
        replay: Replay,
        commit: pgoutput::StreamCommit,
        prepared: bool,
        out: &mut Vec<Event>,
    ) -> Result<()> {
        let begin = Message::Begin(pgoutput::Begin {
            final_lsn: commit.commit_lsn,
            commit_time: commit.commit_time,
            xid: commit.xid,
        });
        self.assembler
            .handle(begin_lsn, begin, &self.relations, out)?;
        self.replay = Some(Replaying {
            replay,
            commit,
            prepared,
        });
        Ok(())
    }

    /// Feeds one decoded message to the relation cache (through the caller's catalog
    /// lookup) or the assembler.
    fn apply(&mut self, lsn: Lsn, message: Message, out: &mut Vec<Event>) -> Result<Action> {
        if let Message::Relation(rel) = message {
            // The assembler has nothing to do for a Relation message: the schema is all.
            self.awaiting_schema = true;
            return Ok(Action::NeedTableSchema(rel));
        }
        self.assembler.handle(lsn, message, &self.relations, out)?;
        Ok(Action::Continue)
    }

    /// Keeps the confirmed position at or before a pending prepared transaction's PREPARE.
    fn hold(&self, xid: u32, prepare_lsn: Lsn) {
        if !self.acks.hold(xid, prepare_lsn) {
            // Prepared before the slot's confirmed position (before two-phase decoding began
            // for it): the server sends it whole again at COMMIT PREPARED if we restart.
            tracing::debug!(xid, prepare_lsn = %prepare_lsn, "prepared transaction behind the confirmed position: no hold needed");
        }
    }
}

/// The messages of a prepared transaction that wait for its COMMIT PREPARED.
fn held_until_commit(message: &Message) -> bool {
    match message {
        Message::Insert(_) | Message::Update(_) | Message::Delete(_) | Message::Truncate(_) => true,
        Message::LogicalMessage(m) => m.transactional,
        _ => false,
    }
}

fn protocol(message: &str) -> Error {
    Error::new(ErrorKind::Protocol, message.to_string())
}
