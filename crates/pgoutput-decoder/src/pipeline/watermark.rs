//! The delivery contract's arithmetic: which prefix of the handed-out events every sink has
//! made durable.
//!
//! Events are registered in hand-out order (their sequence numbers only grow). Each sink then
//! reports what it made durable, in any order: one event at a time
//! ([`DeliveryTracker::durable`], for a sink whose confirmations arrive out of order, like
//! the partitions of a Kafka topic) or everything up to an event
//! ([`DeliveryTracker::durable_through`], for a sink that writes in order, like a file). The
//! confirmable sequence number is the end of the longest prefix of registered events that
//! every sink made durable.
//!
//! The tracker speaks in event sequence numbers only; which WAL position that allows to confirm
//! is the acknowledgement bookkeeping's business (`ack.rs`): it confirms the end of every
//! transaction whose events all lie in the prefix, never a position inside a transaction.

use std::collections::VecDeque;

/// The most sinks one tracker follows (one bit each).
pub const MAX_SINKS: usize = 64;

/// Which registered events each sink made durable, and the longest prefix all of them did.
#[derive(Debug)]
pub struct DeliveryTracker {
    /// A bit per sink.
    all: u64,
    /// Registered events not yet durable in every sink, in hand-out order: (sequence number,
    /// the sinks that reported it durable on its own).
    pending: VecDeque<(u64, u64)>,
    /// Per sink: every registered event up to this sequence number is durable there.
    through: Vec<u64>,
    /// The highest sequence number registered so far.
    registered: u64,
    /// The end of the longest prefix every sink made durable (0: none yet).
    confirmable: u64,
}

impl DeliveryTracker {
    /// A tracker for `sinks` sinks (1 to [`MAX_SINKS`]).
    ///
    /// # Panics
    /// With no sink, or more than [`MAX_SINKS`].
    pub fn new(sinks: usize) -> Self {
        assert!(
            (1..=MAX_SINKS).contains(&sinks),
            "a delivery tracker follows 1 to {MAX_SINKS} sinks, not {sinks}"
        );
        DeliveryTracker {
            all: if sinks == MAX_SINKS {
                u64::MAX
            } else {
                (1u64 << sinks) - 1
            },
            pending: VecDeque::new(),
            through: vec![0; sinks],
            registered: 0,
            confirmable: 0,
        }
    }

    /// How many sinks must make each event durable.
    pub fn sinks(&self) -> usize {
        self.through.len()
    }

    /// An event was handed to the sinks. Sequence numbers must grow: one at or below the last
    /// registered one (a duplicate) is ignored, and so is 0 (no event). Returns whether it was
    /// registered.
    pub fn register(&mut self, seq: u64) -> bool {
        if seq <= self.registered {
            return false;
        }
        self.registered = seq;
        self.pending.push_back((seq, 0));
        true
    }

    /// Sink `sink` made event `seq` durable (in any order). Reporting an event twice, or one
    /// that was never registered, changes nothing. Returns the confirmable sequence number.
    ///
    /// # Panics
    /// When `sink` is not below [`sinks`](Self::sinks).
    pub fn durable(&mut self, sink: usize, seq: u64) -> u64 {
        let bit = self.bit(sink);
        if seq > self.confirmable && seq > self.through[sink] {
            if let Ok(i) = self.pending.binary_search_by_key(&seq, |&(s, _)| s) {
                self.pending[i].1 |= bit;
            }
        }
        self.settle()
    }

    /// Sink `sink` made every registered event up to and including `seq` durable (a sink that
    /// writes in order). Returns the confirmable sequence number.
    ///
    /// # Panics
    /// When `sink` is not below [`sinks`](Self::sinks).
    pub fn durable_through(&mut self, sink: usize, seq: u64) -> u64 {
        self.bit(sink);
        // Only registered events can be durable.
        let seq = seq.min(self.registered);
        if seq > self.through[sink] {
            self.through[sink] = seq;
        }
        self.settle()
    }

    /// The end of the longest prefix of registered events that every sink made durable (0
    /// before the first one): acknowledging up to it loses nothing.
    pub fn confirmable(&self) -> u64 {
        self.confirmable
    }

    /// Registered events some sink has not made durable yet (or that wait for an earlier one).
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }

    fn bit(&self, sink: usize) -> u64 {
        assert!(
            sink < self.through.len(),
            "sink {sink} of a tracker for {} sinks",
            self.through.len()
        );
        1u64 << sink
    }

    /// Moves the prefix over the front events that every sink made durable.
    fn settle(&mut self) -> u64 {
        while let Some(&(seq, marks)) = self.pending.front() {
            let mut durable = marks;
            for (i, &through) in self.through.iter().enumerate() {
                if seq <= through {
                    durable |= 1 << i;
                }
            }
            if durable & self.all != self.all {
                break;
            }
            self.pending.pop_front();
            self.confirmable = seq;
        }
        self.confirmable
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ack::AckTracker;
    use pgoutput::Lsn;

    #[test]
    fn in_order_sink_confirms_what_it_flushed() {
        let mut t = DeliveryTracker::new(1);
        for seq in 1..=5 {
            assert!(t.register(seq));
        }
        assert_eq!(t.confirmable(), 0);
        assert_eq!(t.durable_through(0, 3), 3);
        assert_eq!(t.in_flight(), 2);
        assert_eq!(t.durable_through(0, 5), 5);
        assert_eq!(t.in_flight(), 0);
    }

    #[test]
    fn out_of_order_confirmations_wait_for_the_gap() {
        // Like Kafka partitions: record 3 and 4 are acknowledged before record 2.
        let mut t = DeliveryTracker::new(1);
        for seq in 1..=5 {
            t.register(seq);
        }
        assert_eq!(t.durable(0, 1), 1);
        assert_eq!(t.durable(0, 3), 1);
        assert_eq!(t.durable(0, 4), 1, "2 is still missing");
        assert_eq!(
            t.durable(0, 2),
            4,
            "the gap closed: 1..=4 is a durable prefix"
        );
        assert_eq!(t.durable(0, 5), 5);
    }

    #[test]
    fn reverse_order_confirms_only_at_the_end() {
        let mut t = DeliveryTracker::new(1);
        for seq in 1..=100 {
            t.register(seq);
        }
        for seq in (2..=100).rev() {
            assert_eq!(t.durable(0, seq), 0);
        }
        assert_eq!(t.durable(0, 1), 100);
    }

    #[test]
    fn duplicates_and_unknown_events_change_nothing() {
        let mut t = DeliveryTracker::new(1);
        t.register(10);
        t.register(11);
        assert!(!t.register(11), "registered twice");
        assert!(!t.register(5), "behind the last one");
        assert!(!t.register(0));
        assert_eq!(t.durable(0, 11), 0);
        assert_eq!(t.durable(0, 11), 0, "reported twice");
        assert_eq!(t.durable(0, 7), 0, "never registered");
        assert_eq!(t.durable(0, 99), 0, "not registered yet");
        assert_eq!(t.durable(0, 10), 11);
        assert_eq!(t.durable(0, 10), 11, "already confirmed");
        // Durable through a position beyond what was registered covers only what was.
        assert_eq!(t.durable_through(0, 50), 11);
        t.register(12);
        assert_eq!(
            t.confirmable(),
            11,
            "12 was not durable when 50 was reported"
        );
        assert_eq!(t.durable(0, 12), 12);
    }

    #[test]
    fn sequence_gaps_are_fine() {
        // Hand-out skips numbers (events filtered out before the sinks): only registered ones
        // count.
        let mut t = DeliveryTracker::new(1);
        for seq in [2, 5, 9] {
            t.register(seq);
        }
        assert_eq!(t.durable(0, 5), 0);
        assert_eq!(t.durable(0, 2), 5);
        assert_eq!(t.durable(0, 9), 9);
    }

    #[test]
    fn several_sinks_confirm_their_minimum() {
        // A file written in order and a Kafka-like sink acknowledging out of order.
        let (file, kafka) = (0, 1);
        let mut t = DeliveryTracker::new(2);
        assert_eq!(t.sinks(), 2);
        for seq in 1..=6 {
            t.register(seq);
        }
        assert_eq!(t.durable_through(file, 6), 0, "kafka has nothing yet");
        assert_eq!(t.durable(kafka, 2), 0);
        assert_eq!(t.durable(kafka, 1), 2);
        assert_eq!(t.durable(kafka, 5), 2);
        assert_eq!(t.durable(kafka, 3), 3);
        assert_eq!(t.durable(kafka, 4), 5);
        // Now the file lags behind.
        for seq in 7..=9 {
            t.register(seq);
        }
        for seq in [9, 8, 7, 6] {
            t.durable(kafka, seq);
        }
        assert_eq!(t.confirmable(), 6);
        assert_eq!(t.durable_through(file, 8), 8);
        assert_eq!(t.durable_through(file, 9), 9);
        assert_eq!(t.in_flight(), 0);
    }

    #[test]
    fn three_sinks_any_interleaving() {
        // Every sink reports every event, each in its own order; the prefix only ever grows and
        // ends at the last event.
        let mut t = DeliveryTracker::new(3);
        let n = 40u64;
        for seq in 1..=n {
            t.register(seq);
        }
        let orders: [Vec<u64>; 3] = [
            (1..=n).collect(),
            (1..=n).rev().collect(),
            (1..=n).map(|i| (i * 17) % n + 1).collect(),
        ];
        let mut last = 0;
        for i in 0..n as usize {
            for (sink, order) in orders.iter().enumerate() {
                let now = t.durable(sink, order[i]);
                assert!(now >= last);
                last = now;
            }
        }
        assert_eq!(t.confirmable(), n);
    }

    #[test]
    #[should_panic(expected = "sink 2 of a tracker for 2 sinks")]
    fn an_unknown_sink_is_a_bug() {
        DeliveryTracker::new(2).durable(2, 1);
    }

    #[test]
    fn sixty_four_sinks() {
        let mut t = DeliveryTracker::new(MAX_SINKS);
        t.register(1);
        for sink in 0..MAX_SINKS - 1 {
            assert_eq!(t.durable(sink, 1), 0);
        }
        assert_eq!(t.durable_through(MAX_SINKS - 1, 1), 1);
    }

    /// Three transactions: events 1..=3 end at 300, 4..=5 at 500, 6 at 600.
    fn three_transactions() -> AckTracker {
        let acks = AckTracker::new(Lsn(100));
        for seq in 1..=6 {
            acks.produced(seq);
        }
        acks.committed(3, Lsn(300));
        acks.committed(5, Lsn(500));
        acks.committed(6, Lsn(600));
        acks
    }

    #[test]
    fn confirmed_positions_are_transaction_ends() {
        // Out-of-order durability, fed to the acknowledgement bookkeeping as the stream does:
        // the position confirmed to the server is always the end of a transaction whose
        // events were all durable, never a position inside one.
        let acks = three_transactions();
        let mut t = DeliveryTracker::new(1);
        for seq in 1..=6 {
            t.register(seq);
        }
        let mut confirmed = Vec::new();
        for seq in [2, 4, 1, 3, 6, 5] {
            let through = t.durable(0, seq);
            if through > 0 {
                acks.ack_seq(through);
            }
            confirmed.push(acks.confirmed().0);
        }
        // After 2, 4, 1: prefix 1..=2, transaction 1 (to event 3) is incomplete. After 3: the
        // prefix reaches 4, which is inside transaction 2: only 300 is confirmed. After 6: still
        // waiting for 5. After 5: everything.
        assert_eq!(confirmed, [100, 100, 100, 300, 300, 600]);
    }

    #[test]
    fn a_transaction_spanning_confirmations_of_two_sinks() {
        let acks = three_transactions();
        let mut t = DeliveryTracker::new(2);
        for seq in 1..=6 {
            t.register(seq);
        }
        // The file has everything; the out-of-order sink has 1..=4 and 6.
        acks.ack_seq(t.durable_through(0, 6));
        for seq in [4, 3, 6, 1, 2] {
            let through = t.durable(1, seq);
            if through > 0 {
                acks.ack_seq(through);
            }
        }
        assert_eq!(t.confirmable(), 4);
        assert_eq!(
            acks.confirmed(),
            Lsn(300),
            "event 4 starts the transaction ending at 500: not confirmable yet"
        );
        acks.ack_seq(t.durable(1, 5));
        assert_eq!(acks.confirmed(), Lsn(600));
    }
}
