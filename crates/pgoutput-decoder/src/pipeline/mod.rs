//! The pipeline's named parts: a [`Source`] feeding one bounded queue, [`Sink`]s taking what
//! the queue hands out, [`Delivery`] turning what the sinks made durable into the position
//! confirmed to PostgreSQL, and the [`StatsSnapshot`] of the counters kept along the way.
//!
//! ```text
//!  Source: the replication stream (later also a snapshot reader): events numbered in order
//!    |
//!    v
//!  bounded queue (max_queue_size events, max_queue_bytes)      Stats: atomics updated along
//!    | hand-out (ChangeStream::next_batch), Delivery::register  the way, read by snapshots
//!    v
//!  Sink 0 (FileSink)    Sink 1 (...)    each reports what it made durable, in any order
//!    |                    |
//!    +--------+-----------+
//!             v
//!  DeliveryTracker: the longest prefix every sink made durable (the minimum over sinks)
//!             | acknowledged by sequence number
//!             v
//!  acknowledgement bookkeeping: only ends of transactions whose events are all durable
//!             | status update: flush = confirmed position
//!             v
//!  PostgreSQL slot (confirmed_flush_lsn)
//! ```
//!
//! The delivery contract: a sink reports an event durable once losing the process cannot lose
//! it (a file written and flushed, a Kafka record acknowledged by the broker, a Python
//! consumer's acknowledgement). The position confirmed to the server is the end of the last
//! transaction whose events every sink made durable, so a restart resumes right after what all
//! of them hold and delivers the rest again (at-least-once).
//!
//! A source is whatever feeds the queue with events numbered in one sequence; today that is
//! the replication connection's task. A snapshot reader (and incremental snapshots, which
//! interleave with the stream) are further producers of the same queue, numbering their events
//! in the same sequence, so the sinks, the delivery tracking and the stats stay as they are.

pub(crate) mod budget;
mod sinks;
mod stats;
mod watermark;

use std::{
    future::Future,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

pub(crate) use budget::ByteBudget;
pub use sinks::file::FileSink;
#[cfg(feature = "kafka")]
pub use sinks::kafka::KafkaSink;
pub(crate) use stats::{EventCounter, Stats};
pub use stats::{
    EventCounts, QueueStats, SnapshotStats, SnapshotTableStats, StatsHandle, StatsSnapshot,
    TableCount,
};
pub use watermark::{DeliveryTracker, MAX_SINKS};

/// A batch on its way through the bounded queue to the consumer, with the byte budget it
/// holds (given back when the consumer takes it).
pub(crate) struct QueuedBatch {
    pub events: Vec<Event>,
    pub kib: u32,
}

/// What the queue carries: a batch, or the error that ended the source.
pub(crate) type Batch = Result<QueuedBatch>;

use crate::{ack::AckTracker, event::Event, Result};

/// Where events come from: batches in hand-out order, each event numbered
/// ([`Event::seq`]) in one growing sequence.
///
/// Implemented by [`ChangeStream`](crate::ChangeStream) (the replication stream).
pub trait Source {
    /// The next batch (at least one event), an empty batch when none came within `timeout`,
    /// or `None` once the source has ended.
    fn next_batch(
        &mut self,
        timeout: Duration,
    ) -> impl Future<Output = Result<Option<Vec<Event>>>> + Send;

    /// Delivery tracking for `sinks` sinks: what they all made durable is acknowledged to
    /// this source.
    fn delivery(&self, sinks: usize) -> Delivery;

    /// The pipeline's counters now.
    fn stats(&self) -> StatsSnapshot;
}

/// Where events go. A sink takes each batch in hand-out order and reports what it made durable
/// through the [`DurableReporter`] it was given: at once (a file, flushed), or later and in any
/// order (a Kafka producer's delivery callbacks, from any thread).
pub trait Sink {
    /// Takes the next batch. The events were registered with the sink's [`Delivery`] before.
    ///
    /// # Errors
    /// The sink cannot take them (an I/O error); nothing of the batch counts as durable.
    fn write_batch(&mut self, events: &[Event]) -> Result<()>;

    /// Makes everything taken so far durable (at the end of a run).
    ///
    /// # Errors
    /// As for [`write_batch`](Self::write_batch).
    fn flush(&mut self) -> Result<()>;
}

#[derive(Debug)]
struct DeliveryState {
    tracker: DeliveryTracker,
    /// What was last acknowledged to the source.
    acked: u64,
}

/// The delivery contract of one source and its sinks: events are registered as they are handed
/// out, each sink reports what it made durable, and the longest prefix every sink made durable
/// is acknowledged to the source (which confirms the transactions it completes). Cheap to
/// clone; usable from any thread.
#[derive(Debug, Clone)]
pub struct Delivery {
    state: Arc<Mutex<DeliveryState>>,
    acks: AckTracker,
}

impl Delivery {
    pub(crate) fn new(sinks: usize, acks: AckTracker) -> Self {
        Delivery {
            state: Arc::new(Mutex::new(DeliveryState {
                tracker: DeliveryTracker::new(sinks),
                acked: 0,
            })),
            acks,
        }
    }

    /// A delivery for `sinks` sinks that acknowledges to no source: to drive sinks outside
    /// a stream (a test, a replay of saved events). [`confirmable`](Self::confirmable) says
    /// how far they got.
    pub fn detached(sinks: usize) -> Self {
        Delivery::new(sinks, AckTracker::new(pgoutput::Lsn(0)))
    }

    fn lock(&self) -> MutexGuard<'_, DeliveryState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The events of a batch were handed to the sinks (call it before any sink sees them).
    pub fn register(&self, events: &[Event]) {
        let mut g = self.lock();
        for event in events {
            g.tracker.register(event.seq);
        }
    }

    /// The reporter of sink number `sink` (0 to `sinks - 1`).
    ///
    /// # Panics
    /// When there is no such sink.
    pub fn reporter(&self, sink: usize) -> DurableReporter {
        let sinks = self.lock().tracker.sinks();
        assert!(sink < sinks, "sink {sink} of a delivery for {sinks} sinks");
        DurableReporter {
            delivery: self.clone(),
            sink,
        }
    }

    /// The last event every sink made durable, as a sequence number (0: none yet).
    pub fn confirmable(&self) -> u64 {
        self.lock().tracker.confirmable()
    }

    fn report(&self, update: impl FnOnce(&mut DeliveryTracker) -> u64) {
        let mut g = self.lock();
        let through = update(&mut g.tracker);
        if through > g.acked {
            g.acked = through;
            // Under the lock, so that acknowledgements reach the bookkeeping in order.
            self.acks.ack_seq(through);
        }
    }
}

/// How one sink reports what it made durable. Cheap to clone; usable from any thread.
#[derive(Debug, Clone)]
pub struct DurableReporter {
    delivery: Delivery,
    sink: usize,
}

impl DurableReporter {
    /// `event` is durable (confirmations in any order).
    pub fn durable(&self, event: &Event) {
        self.durable_seq(event.seq);
    }

    /// The event numbered `seq` is durable (confirmations in any order).
    pub fn durable_seq(&self, seq: u64) {
        let sink = self.sink;
        self.delivery.report(|t| t.durable(sink, seq));
    }

    /// `event` and every event handed out before it are durable (a sink that writes in order).
    pub fn durable_through(&self, event: &Event) {
        let (sink, seq) = (self.sink, event.seq);
        self.delivery.report(|t| t.durable_through(sink, seq));
    }
}

#[cfg(test)]
mod tests;
