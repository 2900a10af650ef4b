//! The queue's byte bound (`max.queue.size.in.bytes`): the connection task takes a batch's
//! size from the budget before queueing it and the consumer gives it back when it takes the
//! batch, so a slow consumer holds reading back by bytes as well as by event count.

use std::sync::Arc;

use tokio::sync::{Semaphore, SemaphorePermit};

use crate::event::{Event, EventKind, Row};

/// Budget in KiB (semaphore permits are u32; KiB keep any realistic limit in range).
#[derive(Debug, Clone, Default)]
pub(crate) struct ByteBudget {
    kib: Option<Arc<Semaphore>>,
    total_kib: u32,
}

impl ByteBudget {
    /// `limit_bytes == 0` means no byte bound.
    pub(crate) fn new(limit_bytes: usize) -> Self {
        if limit_bytes == 0 {
            return ByteBudget::default();
        }
        let total_kib = u32::try_from(limit_bytes.div_ceil(1024))
            .unwrap_or(u32::MAX >> 4)
            .max(1);
        ByteBudget {
            kib: Some(Arc::new(Semaphore::new(total_kib as usize))),
            total_kib,
        }
    }

    /// Approximate bytes of events (their values plus a fixed overhead per event); 0 when
    /// there is no byte bound, so the unbounded case costs nothing.
    pub(crate) fn bytes_of(&self, events: &[Event]) -> usize {
        if self.kib.is_none() {
            return 0;
        }
        events.iter().map(approx_bytes).sum()
    }

    /// The KiB to take for `bytes`, capped at the whole budget so one huge batch can still
    /// pass alone.
    pub(crate) fn kib_for(&self, bytes: usize) -> u32 {
        u32::try_from(bytes.div_ceil(1024))
            .unwrap_or(u32::MAX)
            .min(self.total_kib)
    }

    /// Waits until `kib` is available. Cancel-safe: the permit is only spent by
    /// [`spend`](Self::spend).
    pub(crate) async fn acquire(&self, kib: u32) -> Option<SemaphorePermit<'_>> {
        match &self.kib {
            Some(sem) if kib > 0 => sem.acquire_many(kib).await.ok(),
            _ => None,
        }
    }

    /// Keeps an acquired permit out of the budget until [`release`](Self::release).
    pub(crate) fn spend(permit: Option<SemaphorePermit<'_>>) {
        if let Some(p) = permit {
            p.forget();
        }
    }

    /// The consumer took a batch of `kib`.
    pub(crate) fn release(&self, kib: u32) {
        if let (Some(sem), true) = (&self.kib, kib > 0) {
            sem.add_permits(kib as usize);
        }
    }
}

/// The message the row's values lie in plus the column list that points at them.
fn row_bytes(row: Option<&Row>) -> usize {
    row.map_or(0, |r| r.tuple.heap_bytes())
}

fn approx_bytes(event: &Event) -> usize {
    const OVERHEAD: usize = 128;
    OVERHEAD
        + match &event.kind {
            EventKind::Change(c) => row_bytes(c.before.as_ref()) + row_bytes(c.after.as_ref()),
            EventKind::Message(m) => m.content.len() + m.prefix.len(),
            EventKind::Transaction(_) | EventKind::Heartbeat(_) => 0,
        }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn budget_blocks_until_released() {
        let budget = ByteBudget::new(4096);
        let p = budget.acquire(3).await;
        ByteBudget::spend(p);
        // One KiB left: a 2 KiB batch waits...
        let waiting =
            tokio::time::timeout(std::time::Duration::from_millis(50), budget.acquire(2)).await;
        assert!(waiting.is_err());
        // ...until the consumer gives some back.
        budget.release(3);
        assert!(budget.acquire(2).await.is_some());
    }

    #[tokio::test]
    async fn no_limit_costs_nothing() {
        let budget = ByteBudget::new(0);
        assert_eq!(budget.bytes_of(&[]), 0);
        assert!(budget.acquire(0).await.is_none());
    }
}
