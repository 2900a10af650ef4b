//! Acknowledgement bookkeeping: which LSN is safe to confirm to the server.
//!
//! The server is told `flush = X` only when every event of every transaction that committed
//! before X was acknowledged by the consumer. Acknowledgement is cumulative over event sequence
//! numbers; each committed transaction is recorded as (sequence of its last event, end LSN), so
//! acknowledging an event confirms exactly the transactions that are complete up to it.
//! Transactions are delivered in commit order, so end LSNs in the queue only grow.
//!
//! Two-phase commit adds holds: while a prepared transaction is pending (prepared, not yet
//! committed or rolled back, or committed but not yet acknowledged), the position reported to
//! the server stays at or before its PREPARE record. The server decodes a PREPARE again after
//! a restart only when the record lies at or after the slot's `confirmed_flush_lsn`
//! (`DecodePrepare` skips it when `SnapBuildXactNeedsSkip(builder, prepare_lsn)`, i.e.
//! `prepare_lsn < start_decoding_at`, and `start_decoding_at` is `confirmed_flush_lsn`); past
//! it, a restart would send only the COMMIT PREPARED, without the changes we had not delivered
//! yet. A transaction prepared before the slot's `two_phase_at` is different: the server sends
//! it whole at COMMIT PREPARED, so it needs no hold.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex, MutexGuard},
};

use pgoutput::Lsn;

/// Positions of the stream, for monitoring. All three start at the position streaming
/// started from (the slot's confirmed position, or the requested start), and
/// `acknowledged <= handed_out <= received` holds, with one exception: acknowledging by LSN
/// ([`ChangeStream::ack_lsn`](crate::ChangeStream::ack_lsn)) past what was handed out
/// confirms transactions the consumer has not been given yet, so `acknowledged` is ahead of
/// `handed_out` until they are handed out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Positions {
    /// Highest WAL position received from the server (data, keepalives, transaction ends).
    pub received: Lsn,
    /// Everything before this position was handed to the consumer: the end of the last
    /// transaction whose events were all handed out (or, when nothing is in flight, the
    /// position confirmed past idle WAL). What acknowledging everything handed out confirms.
    pub handed_out: Lsn,
    /// Highest position confirmed (flushed) to the server, or about to be at the next update.
    pub acknowledged: Lsn,
}

#[derive(Debug, Default)]
struct Inner {
    /// Committed transactions not yet fully acknowledged: (last event seq, end LSN, the
    /// prepared transaction whose hold goes once this is acknowledged).
    commits: VecDeque<(u64, Lsn, Option<u32>)>,
    /// Pending prepared transactions by xid: the LSN of their PREPARE record, which the
    /// reported position must not pass.
    holds: HashMap<u32, Lsn>,
    /// The slot's confirmed position when streaming started: the server does not decode a
    /// PREPARE before it again, so holding there would only move the slot backwards.
    floor: Lsn,
    /// Every event with a sequence number up to this one was acknowledged.
    acked_seq: u64,
    /// Highest sequence number produced by the connection task.
    produced_seq: u64,
    /// Whether the connection task is inside a transaction (events may still come).
    in_transaction: bool,
    confirmed: Lsn,
    positions: Positions,
    /// A keepalive's WAL end that arrived while events were still unacknowledged, with the
    /// last sequence produced by then: once that is acknowledged, it can be confirmed.
    idle_mark: Option<(Lsn, u64)>,
    /// Every event with a sequence number up to this one was handed to the consumer.
    handed_seq: u64,
    /// How many entries at the front of `commits` have their last event handed out.
    handed_commits: usize,
    /// Hand-outs are reported through [`AckTracker::handed_out_by_consumer`] (a consumer with
    /// a queue of its own), not by the stream's `next_batch`.
    external_hand_out: bool,
    /// Transactions (and non-transactional messages) whose end was received, for the stats.
    transactions: u64,
}

/// Shared between the connection task (producer) and the consumer.
#[derive(Debug, Clone, Default)]
pub(crate) struct AckTracker {
    inner: Arc<Mutex<Inner>>,
}

impl AckTracker {
    pub(crate) fn new(start: Lsn) -> Self {
        let tracker = AckTracker::default();
        {
            let mut g = tracker.lock();
            g.confirmed = start;
            g.positions = Positions {
                received: start,
                handed_out: start,
                acknowledged: start,
            };
        }
        tracker
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding this lock leaves plain integers behind; keep going.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Producer: a new event with this sequence number exists.
    pub(crate) fn produced(&self, seq: u64) {
        self.lock().produced_seq = seq;
    }

    /// Producer: transaction state, for the idle advance.
    pub(crate) fn set_in_transaction(&self, in_tx: bool) {
        self.lock().in_transaction = in_tx;
    }

    /// Producer: a transaction (or non-transactional message) ended at `end`; its last event
    /// has sequence `last_seq` (the previous sequence when it produced no event).
    pub(crate) fn committed(&self, last_seq: u64, end: Lsn) {
        let mut g = self.lock();
        g.commits.push_back((last_seq, end, None));
        g.in_transaction = false;
        g.transactions += 1;
        // The transaction was received up to its end.
        g.positions.received = g.positions.received.max(end);
        Self::settle(&mut g);
    }

    /// The slot's confirmed position at the start of streaming (see [`Inner::floor`]).
    pub(crate) fn set_floor(&self, lsn: Lsn) {
        let mut g = self.lock();
        g.floor = g.floor.max(lsn);
    }

    /// Producer: transaction `xid` was prepared at `prepare_lsn` (the start of its PREPARE
    /// record): until [`resolved`](Self::resolved) is acknowledged, the reported position stays
    /// at or before it. Returns false when no hold is needed because the reported position
    /// is already past it (a transaction the server sends whole at COMMIT PREPARED).
    pub(crate) fn hold(&self, xid: u32, prepare_lsn: Lsn) -> bool {
        let mut g = self.lock();
        if g.holds.contains_key(&xid) {
            return true;
        }
        if prepare_lsn < Self::effective(&g).max(g.floor) {
            return false;
        }
        g.holds.insert(xid, prepare_lsn);
        g.positions.acknowledged = Self::effective(&g);
        true
    }

    /// Producer: prepared transaction `xid` was committed (its events were all produced) or
    /// rolled back, in a record ending at `end`: its hold goes once every event produced so
    /// far is acknowledged.
    pub(crate) fn resolved(&self, xid: u32, end: Lsn) {
        let mut g = self.lock();
        let last_seq = g.produced_seq;
        g.commits.push_back((last_seq, end, Some(xid)));
        g.positions.received = g.positions.received.max(end);
        Self::settle(&mut g);
    }

    /// Whether a pending prepared transaction keeps the reported position behind what was
    /// acknowledged.
    pub(crate) fn is_held(&self) -> bool {
        let g = self.lock();
        Self::effective(&g) < g.confirmed
    }

    /// The internal position, clamped by the holds of pending prepared transactions.
    fn effective(g: &Inner) -> Lsn {
        g.holds
            .values()
            .fold(g.confirmed, |confirmed, &hold| confirmed.min(hold))
    }

    /// Producer: WAL received up to here.
    pub(crate) fn received(&self, lsn: Lsn) {
        let mut g = self.lock();
        if lsn > g.positions.received {
            g.positions.received = lsn;
        }
    }

    /// The stream: events up to sequence `seq` were returned to the consumer (ignored once a
    /// consumer reports hand-outs itself).
    pub(crate) fn handed_out(&self, seq: u64) {
        let mut g = self.lock();
        if !g.external_hand_out {
            Self::hand_out(&mut g, seq);
        }
    }

    /// A consumer that queues events of its own: from now on only
    /// [`handed_out_by_consumer`](Self::handed_out_by_consumer) moves `handed_out`.
    pub(crate) fn track_hand_out_externally(&self) {
        self.lock().external_hand_out = true;
    }

    /// The consumer: events up to sequence `seq` were handed out.
    pub(crate) fn handed_out_by_consumer(&self, seq: u64) {
        Self::hand_out(&mut self.lock(), seq);
    }

    fn hand_out(g: &mut Inner, seq: u64) {
        g.handed_seq = g.handed_seq.max(seq);
        Self::update_handed(g);
    }

    /// Moves `handed_out` to the end of the last transaction whose events were all handed out
    /// (amortised O(1): `handed_commits` remembers how far `commits` was looked at), and to
    /// the confirmed position when every acknowledged event was handed out (what an idle
    /// advance or an acknowledgement confirmed then lies before what was handed out).
    fn update_handed(g: &mut Inner) {
        let mut handed = g.positions.handed_out;
        while let Some(&(seq, end, _)) = g.commits.get(g.handed_commits) {
            if seq > g.handed_seq {
                break;
            }
            handed = handed.max(end);
            g.handed_commits += 1;
        }
        if g.handed_seq >= g.acked_seq {
            handed = handed.max(g.confirmed);
        }
        g.positions.handed_out = handed;
    }

    fn pop_commit(g: &mut Inner) {
        g.commits.pop_front();
        g.handed_commits = g.handed_commits.saturating_sub(1);
    }

    /// Every event up to this sequence number was acknowledged.
    pub(crate) fn acked_seq(&self) -> u64 {
        self.lock().acked_seq
    }

    /// Consumer: every event up to and including `seq` is acknowledged.
    pub(crate) fn ack_seq(&self, seq: u64) {
        let mut g = self.lock();
        if seq > g.acked_seq {
            g.acked_seq = seq;
        }
        Self::settle(&mut g);
    }

    /// Consumer: every transaction whose end LSN is at or before `lsn` is acknowledged.
    pub(crate) fn ack_lsn(&self, lsn: Lsn) {
        let mut g = self.lock();
        while let Some(&(seq, end, release)) = g.commits.front() {
            if end > lsn {
                break;
            }
            Self::pop_commit(&mut g);
            g.acked_seq = g.acked_seq.max(seq);
            g.confirmed = g.confirmed.max(end);
            if let Some(xid) = release {
                g.holds.remove(&xid);
            }
        }
        g.positions.acknowledged = Self::effective(&g);
        Self::update_handed(&mut g);
    }

    fn settle(g: &mut Inner) {
        while let Some(&(seq, end, release)) = g.commits.front() {
            if seq > g.acked_seq {
                break;
            }
            Self::pop_commit(g);
            g.confirmed = g.confirmed.max(end);
            if let Some(xid) = release {
                g.holds.remove(&xid);
            }
        }
        if let Some((end, seq)) = g.idle_mark {
            // Transactions produced after the keepalive committed after its WAL end, so
            // confirming it skips none of them.
            if g.acked_seq >= seq {
                g.confirmed = g.confirmed.max(end);
                g.idle_mark = None;
            }
        }
        g.positions.acknowledged = Self::effective(g);
        Self::update_handed(g);
    }

    /// The position to report as flushed (and to resume from): what was acknowledged, but
    /// never past the PREPARE of a pending prepared transaction.
    pub(crate) fn confirmed(&self) -> Lsn {
        Self::effective(&self.lock())
    }

    /// Producer, on a keepalive: when nothing is in flight (every produced event acknowledged,
    /// no transaction open), the server's WAL end can be confirmed so an idle slot does not pin
    /// WAL that other databases or filtered tables write. Holds of pending prepared
    /// transactions still apply to what is reported.
    pub(crate) fn advance_if_idle(&self, wal_end: Lsn) -> bool {
        let mut g = self.lock();
        if g.in_transaction {
            return false;
        }
        if !g.commits.is_empty() || g.acked_seq < g.produced_seq {
            // Everything before this keepalive was produced: confirm its WAL end as soon as
            // the consumer acknowledged that much.
            g.idle_mark = Some((wal_end, g.produced_seq));
            return false;
        }
        if wal_end > g.confirmed {
            g.confirmed = wal_end;
            g.positions.acknowledged = Self::effective(&g);
            Self::update_handed(&mut g);
            return true;
        }
        false
    }

    pub(crate) fn positions(&self) -> Positions {
        self.lock().positions
    }

    /// The positions and how many transactions ended, for the stats.
    pub(crate) fn positions_and_transactions(&self) -> (Positions, u64) {
        let g = self.lock();
        (g.positions, g.transactions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_ordered(t: &AckTracker) {
        let p = t.positions();
        assert!(
            p.acknowledged <= p.handed_out && p.handed_out <= p.received,
            "acknowledged <= handed_out <= received broken: {p:?}"
        );
    }

    #[test]
    fn positions_start_at_the_start_position() {
        // A fresh stream on a slot confirmed up to 1000: nothing handed out yet, and nothing
        // behind the start either, so all three are the start.
        let t = AckTracker::new(Lsn(1000));
        let start = Positions {
            received: Lsn(1000),
            handed_out: Lsn(1000),
            acknowledged: Lsn(1000),
        };
        assert_eq!(t.positions(), start);
        // Data arrives: received moves, handed_out waits for the consumer.
        t.received(Lsn(1100));
        t.produced(1);
        t.committed(1, Lsn(1200));
        let p = t.positions();
        assert_eq!(
            (p.received, p.handed_out, p.acknowledged),
            (Lsn(1200), Lsn(1000), Lsn(1000))
        );
        t.handed_out(1);
        assert_eq!(t.positions().handed_out, Lsn(1200));
        assert_eq!(t.positions().acknowledged, Lsn(1000));
        t.ack_seq(1);
        assert_eq!(t.positions().acknowledged, Lsn(1200));
        assert_ordered(&t);
    }

    #[test]
    fn positions_stay_ordered() {
        // Transactions of 1..=3 events, handed out in batches or one by one, acknowledged by
        // event, by LSN (of handed-out transactions) or not at all, with keepalives between.
        let t = AckTracker::new(Lsn(500));
        let mut seq = 0;
        let mut lsn = 500;
        let mut ends = Vec::new();
        for round in 0..200u64 {
            let events = round % 3 + 1;
            for _ in 0..events {
                seq += 1;
                t.produced(seq);
            }
            t.set_in_transaction(round % 5 == 0);
            lsn += 100;
            t.received(Lsn(lsn - 50));
            t.committed(seq, Lsn(lsn));
            ends.push((seq, lsn));
            assert_ordered(&t);
            let handed = match round % 4 {
                0 => seq,
                1 => seq - 1,
                _ => seq.saturating_sub(2 * events),
            };
            t.handed_out(handed);
            assert_ordered(&t);
            match round % 6 {
                0 => t.ack_seq(handed),
                1 => t.ack_seq(handed / 2),
                2 => {
                    // The end of the last transaction handed out completely.
                    if let Some(&(_, end)) = ends.iter().rev().find(|(s, _)| *s <= handed) {
                        t.ack_lsn(Lsn(end));
                    }
                }
                _ => {}
            }
            assert_ordered(&t);
            if round % 7 == 0 {
                lsn += 10;
                t.received(Lsn(lsn));
                t.advance_if_idle(Lsn(lsn));
                assert_ordered(&t);
            }
        }
        // Everything handed out and acknowledged, then an idle keepalive: all three meet.
        t.handed_out(seq);
        t.ack_seq(seq);
        t.received(Lsn(lsn + 10));
        assert!(t.advance_if_idle(Lsn(lsn + 10)));
        let p = t.positions();
        assert_eq!(
            (p.received, p.handed_out, p.acknowledged),
            (Lsn(lsn + 10), Lsn(lsn + 10), Lsn(lsn + 10))
        );
    }

    #[test]
    fn consumer_reported_hand_outs_replace_the_stream_batches() {
        let t = AckTracker::new(Lsn(100));
        t.track_hand_out_externally();
        t.produced(2);
        t.committed(1, Lsn(200));
        t.committed(2, Lsn(300));
        // The stream returned the batch, but the consumer has not taken anything yet.
        t.handed_out(2);
        assert_eq!(t.positions().handed_out, Lsn(100));
        t.handed_out_by_consumer(1);
        assert_eq!(t.positions().handed_out, Lsn(200));
        t.ack_seq(1);
        assert_eq!(t.positions().acknowledged, Lsn(200));
        t.handed_out_by_consumer(2);
        assert_eq!(t.positions().handed_out, Lsn(300));
        assert_ordered(&t);
    }

    #[test]
    fn acknowledging_by_lsn_ahead_of_the_consumer_is_the_documented_exception() {
        let t = AckTracker::new(Lsn(100));
        t.produced(1);
        t.committed(1, Lsn(200));
        t.ack_lsn(Lsn(200));
        let p = t.positions();
        assert_eq!((p.handed_out, p.acknowledged), (Lsn(100), Lsn(200)));
        // Handing the transaction out restores the order.
        t.handed_out(1);
        assert_ordered(&t);
        assert_eq!(t.positions().handed_out, Lsn(200));
    }

    #[test]
    fn confirms_only_fully_acknowledged_transactions() {
        let t = AckTracker::new(Lsn(100));
        for seq in 1..=3 {
            t.produced(seq);
        }
        t.committed(2, Lsn(200)); // events 1, 2
        t.committed(3, Lsn(300)); // event 3
        assert_eq!(t.confirmed(), Lsn(100));
        t.ack_seq(1);
        assert_eq!(
            t.confirmed(),
            Lsn(100),
            "half a transaction confirms nothing"
        );
        t.ack_seq(2);
        assert_eq!(t.confirmed(), Lsn(200));
        t.ack_seq(3);
        assert_eq!(t.confirmed(), Lsn(300));
    }

    #[test]
    fn ack_before_commit_arrives_is_kept() {
        let t = AckTracker::new(Lsn(0));
        t.produced(1);
        t.set_in_transaction(true);
        t.ack_seq(1);
        assert_eq!(t.confirmed(), Lsn(0));
        t.committed(1, Lsn(50));
        assert_eq!(t.confirmed(), Lsn(50));
    }

    #[test]
    fn ack_by_lsn_is_conservative() {
        let t = AckTracker::new(Lsn(0));
        t.produced(2);
        t.committed(1, Lsn(200));
        t.committed(2, Lsn(300));
        t.ack_lsn(Lsn(250));
        assert_eq!(t.confirmed(), Lsn(200));
    }

    #[test]
    fn idle_advance_waits_for_acknowledgement() {
        let t = AckTracker::new(Lsn(0));
        t.produced(1);
        t.committed(1, Lsn(10));
        assert!(!t.advance_if_idle(Lsn(90)));
        assert_eq!(t.confirmed(), Lsn(0));
        // The acknowledgement that catches up also confirms the keepalive's WAL end.
        t.ack_seq(1);
        assert_eq!(t.confirmed(), Lsn(90));
        assert!(t.advance_if_idle(Lsn(120)));
        assert_eq!(t.confirmed(), Lsn(120));
    }

    #[test]
    fn pending_prepare_holds_the_reported_position() {
        let t = AckTracker::new(Lsn(0));
        t.set_floor(Lsn(50));
        assert!(t.hold(7, Lsn(100)));
        // An ordinary transaction committed after the prepare is acknowledged...
        t.produced(1);
        t.committed(1, Lsn(150));
        t.ack_seq(1);
        // ...but the position stays at the prepare, also for the idle advance.
        assert_eq!(t.confirmed(), Lsn(100));
        assert!(t.is_held());
        assert!(t.advance_if_idle(Lsn(400)));
        assert_eq!(t.confirmed(), Lsn(100));
        assert_eq!(t.positions().acknowledged, Lsn(100));
        // COMMIT PREPARED produced events 2..3; the hold goes when they are acknowledged.
        t.produced(3);
        t.committed(3, Lsn(500));
        t.resolved(7, Lsn(500));
        t.ack_seq(2);
        assert_eq!(t.confirmed(), Lsn(100));
        t.ack_seq(3);
        assert_eq!(t.confirmed(), Lsn(500));
        assert!(!t.is_held());
    }

    #[test]
    fn prepare_behind_the_position_is_not_held() {
        let t = AckTracker::new(Lsn(0));
        t.set_floor(Lsn(300));
        // Sent whole at COMMIT PREPARED: holding would move the slot backwards.
        assert!(!t.hold(1, Lsn(200)));
        t.produced(1);
        t.committed(1, Lsn(400));
        t.ack_seq(1);
        assert_eq!(t.confirmed(), Lsn(400));
        assert!(!t.hold(2, Lsn(350)));
        assert!(t.hold(3, Lsn(450)));
        // A rollback releases the hold once what came before is acknowledged.
        t.produced(2);
        t.committed(2, Lsn(470));
        t.resolved(3, Lsn(480));
        assert_eq!(t.confirmed(), Lsn(400));
        t.ack_lsn(Lsn(480));
        assert_eq!(t.confirmed(), Lsn(480));
    }

    #[test]
    fn idle_mark_does_not_cover_later_events() {
        let t = AckTracker::new(Lsn(0));
        t.produced(1);
        t.committed(1, Lsn(10));
        assert!(!t.advance_if_idle(Lsn(50)));
        t.produced(2);
        t.committed(2, Lsn(70));
        t.ack_seq(1);
        // Event 2 (committed at 70) is not acknowledged, yet confirming 50 is right: the
        // keepalive at 50 came before it.
        assert_eq!(t.confirmed(), Lsn(50));
        t.ack_seq(2);
        assert_eq!(t.confirmed(), Lsn(70));
    }
}
