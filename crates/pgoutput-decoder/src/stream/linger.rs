//! `batch.linger.ms`: under a steady stream, wait a moment before handing a batch over.
//!
//! The server sends every change as its own network message. A reader that hands each few
//! messages to the consumer as soon as they arrive pays for a read, a wake-up of the consumer
//! and a write per handful of changes, on both sides of the socket; most of a fast client's CPU
//! goes there, not into decoding. Waiting a few milliseconds when changes are arriving back to
//! back lets them gather in the socket, so one read, one hand-over and one write carry hundreds.
//!
//! A change that arrives after a quiet spell is never held: the reader waits only when its
//! previous hand-over was less than [`BUSY_WITHIN`] ago, which a stream of changes more than
//! that far apart never is.
//!
//! A large transaction that the server streams before its commit hands nothing over until the
//! commit, so there the reader pauses between reads of the same streamed chunk instead: the
//! chunk is a burst by nature.

use std::time::{Duration, Instant};

/// A hand-over this recent means changes are arriving back to back.
pub(crate) const BUSY_WITHIN: Duration = Duration::from_millis(1);

/// While waiting, the socket wakes the reader only once this much has arrived: about 600
/// ordinary changes, a batch's worth, read in two or three reads.
pub(crate) const GATHER_BYTES: usize = 256 * 1024;

/// Decides, each time the reader has caught up with the socket, whether to wait before handing
/// over what it has.
#[derive(Debug)]
pub(crate) struct Linger {
    wait: Duration,
    last_handoff: Option<Instant>,
    /// Whether the reader already waited since the last hand-over (it waits once per batch).
    waited: bool,
}

impl Linger {
    /// `wait == 0` never waits.
    pub(crate) fn new(wait: Duration) -> Self {
        Linger {
            wait,
            last_handoff: None,
            waited: false,
        }
    }

    /// How long to wait, if at all, before handing over a batch that is not full, or, inside
    /// a streamed transaction's chunk (`in_chunk`), before reading on.
    pub(crate) fn wait_for(&self, now: Instant, in_chunk: bool) -> Option<Duration> {
        if self.wait.is_zero() || self.waited {
            return None;
        }
        let busy = in_chunk
            || self
                .last_handoff
                .is_some_and(|t| now.saturating_duration_since(t) < BUSY_WITHIN.min(self.wait));
        busy.then_some(self.wait)
    }

    /// The reader waited; the batch goes out when the reader next catches up.
    pub(crate) fn waited(&mut self) {
        self.waited = true;
    }

    /// The reader read more of a streamed chunk after waiting: it may pause again.
    pub(crate) fn read_chunk(&mut self) {
        self.waited = false;
    }

    /// A batch was handed over.
    pub(crate) fn handed_off(&mut self, now: Instant) {
        self.last_handoff = Some(now);
        self.waited = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WAIT: Duration = Duration::from_millis(10);

    #[test]
    fn the_first_batch_and_a_change_after_a_quiet_spell_go_out_at_once() {
        let t0 = Instant::now();
        let mut linger = Linger::new(WAIT);
        assert_eq!(linger.wait_for(t0, false), None, "nothing handed over yet");
        linger.handed_off(t0);
        assert_eq!(linger.wait_for(t0 + Duration::from_millis(5), false), None);
        assert_eq!(linger.wait_for(t0 + BUSY_WITHIN, false), None);
    }

    #[test]
    fn back_to_back_changes_wait_once_per_batch() {
        let t0 = Instant::now();
        let mut linger = Linger::new(WAIT);
        linger.handed_off(t0);
        let soon = t0 + Duration::from_micros(200);
        assert_eq!(linger.wait_for(soon, false), Some(WAIT));
        linger.waited();
        assert_eq!(
            linger.wait_for(soon + WAIT, false),
            None,
            "after waiting, the batch goes out"
        );
        linger.handed_off(soon + WAIT);
        assert_eq!(
            linger.wait_for(soon + WAIT + Duration::from_micros(50), false),
            Some(WAIT),
            "still busy: wait again for the next batch"
        );
    }

    #[test]
    fn inside_a_streamed_chunk_the_reader_pauses_between_reads() {
        let t0 = Instant::now();
        let mut linger = Linger::new(WAIT);
        assert_eq!(
            linger.wait_for(t0, true),
            Some(WAIT),
            "busy without any hand-over"
        );
        linger.waited();
        assert_eq!(
            linger.wait_for(t0 + WAIT, true),
            None,
            "read what gathered first"
        );
        linger.read_chunk();
        assert_eq!(linger.wait_for(t0 + WAIT, true), Some(WAIT));
        assert_eq!(
            linger.wait_for(t0 + WAIT, false),
            None,
            "outside a chunk, idle"
        );
    }

    #[test]
    fn zero_never_waits() {
        let t0 = Instant::now();
        let mut linger = Linger::new(Duration::ZERO);
        linger.handed_off(t0);
        assert_eq!(linger.wait_for(t0, false), None);
    }

    #[test]
    fn a_wait_shorter_than_the_busy_threshold_uses_it_as_the_threshold() {
        let t0 = Instant::now();
        let wait = Duration::from_micros(300);
        let mut linger = Linger::new(wait);
        linger.handed_off(t0);
        assert_eq!(
            linger.wait_for(t0 + Duration::from_micros(100), false),
            Some(wait)
        );
        assert_eq!(
            linger.wait_for(t0 + Duration::from_micros(400), false),
            None
        );
    }
}
