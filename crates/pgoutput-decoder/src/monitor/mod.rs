//! Observability: the pipeline's counters and the slot's status as the server sees it,
//! served over HTTP for Prometheus (`/metrics`), load balancers and Kubernetes probes
//! (`/health`), and people (`/`, a live status page, fed by `/status.json`).
//!
//! The numbers come from the one stats object of the pipeline ([`StatsHandle`]), read when
//! asked; nothing here touches the counting path. The slot's status (`active`, `wal_status`,
//! `safe_wal_size`, retained WAL, and the server's WAL end for the lag in bytes) is read on a
//! side connection at a low rate ([`SlotWatch`]).
//!
//! ```no_run
//! use std::time::Duration;
//! use pgoutput_decoder::{
//!     conn::ConnectParams,
//!     monitor::{HealthPolicy, MetricsServer, Monitor, SlotWatch},
//!     ChangeStream, ReplicationConfig,
//! };
//!
//! # async fn run() -> pgoutput_decoder::Result<()> {
//! let mut config = ReplicationConfig::new(ConnectParams::from_dsn("postgresql://postgres@localhost/shop")?);
//! config.slot_name = "shop_slot".into();
//! let slot = SlotWatch::start(config.connection.clone(), config.slot_name.clone(), Duration::from_secs(10));
//! let mut stream = ChangeStream::connect(config).await?;
//! let monitor = Monitor::new(stream.stats_handle(), Some(slot), HealthPolicy::default());
//! let server = MetricsServer::bind("127.0.0.1:9187", monitor).await?;
//! println!("metrics on http://{}/metrics", server.local_addr());
//! while let Some(event) = stream.next_event().await? {
//!     stream.ack(&event);
//! }
//! # Ok(()) }
//! ```

mod health;
mod http;
pub mod prometheus;
mod slot;

use std::sync::Arc;

use serde_json::{json, Value};

pub use health::HealthPolicy;
pub use http::{MetricsListener, MetricsServer};
pub use slot::{SlotReading, SlotStatus, SlotWatch};

use crate::{
    clock::now_us,
    pipeline::{StatsHandle, StatsSnapshot},
};

/// What the endpoints report on: the pipeline's counters, the slot's status (when watched)
/// and the limits of a healthy stream. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Monitor {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    stats: StatsHandle,
    slot: Option<SlotWatch>,
    health: HealthPolicy,
}

impl Monitor {
    /// A monitor of `stats`, with the slot's status from `slot` (without it, the metrics
    /// read from the server are absent).
    pub fn new(stats: StatsHandle, slot: Option<SlotWatch>, health: HealthPolicy) -> Self {
        Monitor {
            inner: Arc::new(Inner {
                stats,
                slot,
                health,
            }),
        }
    }

    fn read(&self) -> (StatsSnapshot, Option<SlotReading>, i64) {
        let slot = self.inner.slot.as_ref().map(SlotWatch::reading);
        (self.inner.stats.snapshot(), slot, now_us())
    }

    /// Everything at one moment: the counters, the slot's status, the time, the health.
    pub fn reading(&self) -> Reading {
        let (stats, slot, now_us) = self.read();
        let problems = self.inner.health.problems(&stats, slot.as_ref(), now_us);
        Reading {
            stats,
            slot,
            now_us,
            problems,
        }
    }

    /// The slot's status as last read (`None` when the slot is not watched).
    pub fn slot(&self) -> Option<SlotReading> {
        self.inner.slot.as_ref().map(SlotWatch::reading)
    }

    /// The Prometheus text served at `/metrics`.
    pub fn metrics_text(&self) -> String {
        let (stats, slot, now) = self.read();
        prometheus::render(&stats, slot.as_ref(), now)
    }

    /// Why the stream is unhealthy now (empty: healthy), as `/health` reports it.
    pub fn health_problems(&self) -> Vec<String> {
        let (stats, slot, now) = self.read();
        self.inner.health.problems(&stats, slot.as_ref(), now)
    }

    /// The numbers of the status page, as JSON (`/status.json`).
    pub fn status_json(&self) -> String {
        let (stats, slot, now) = self.read();
        let problems = self.inner.health.problems(&stats, slot.as_ref(), now);
        status_value(&stats, slot.as_ref(), now, &problems).to_string()
    }
}

/// The numbers at one moment (see [`Monitor::reading`]).
#[derive(Debug, Clone)]
pub struct Reading {
    /// The pipeline's counters.
    pub stats: StatsSnapshot,
    /// The slot's status as last read (`None`: not watched).
    pub slot: Option<SlotReading>,
    /// When this was read, in microseconds since the Unix epoch.
    pub now_us: i64,
    /// Why the stream is unhealthy (empty: healthy).
    pub problems: Vec<String>,
}

fn status_value(
    stats: &StatsSnapshot,
    slot: Option<&SlotReading>,
    now_us: i64,
    problems: &[String],
) -> Value {
    let e = &stats.events;
    let p = &stats.positions;
    let slot = slot.map(|r| {
        let s = r.status.as_ref();
        json!({
            "read_ok": r.error.is_none(),
            "error": r.error,
            "exists": s.map(|s| s.exists),
            "active": s.map(|s| s.active),
            "wal_status": s.and_then(|s| s.wal_status.clone()),
            "safe_wal_size": s.and_then(|s| s.safe_wal_size),
            "retained_bytes": s.and_then(SlotStatus::retained_bytes),
            "lag_bytes": s.and_then(SlotStatus::lag_bytes),
            "wal_end": s.map(|s| s.wal_end.to_string()),
            "confirmed_flush": s.and_then(|s| s.confirmed_flush).map(|l| l.to_string()),
            "read_at_ms": s.map(|s| s.read_at_us / 1000),
        })
    });
    json!({
        "now_ms": now_us / 1000,
        "healthy": problems.is_empty(),
        "problems": problems,
        "events": {
            "total": e.total(), "c": e.create, "u": e.update, "d": e.delete, "r": e.read,
            "t": e.truncate, "m": e.message, "tx": e.transaction,
        },
        "tables": stats.tables.iter().map(|t| json!({
            "table": t.table, "events": t.events, "c": t.by_op.create, "u": t.by_op.update,
            "d": t.by_op.delete, "r": t.by_op.read, "t": t.by_op.truncate,
        })).collect::<Vec<_>>(),
        "bytes_received": stats.bytes_received,
        "transactions": stats.transactions,
        "lag_ms": stats.millis_behind_source(now_us),
        "ms_since_last_event": stats.millis_since_last_event(now_us),
        "positions": {
            "received": p.received.to_string(),
            "handed_out": p.handed_out.to_string(),
            "acknowledged": p.acknowledged.to_string(),
            "confirmed": stats.server_confirmed.to_string(),
        },
        "queue": {
            "events": stats.queue.events, "event_capacity": stats.queue.event_capacity,
            "bytes": stats.queue.bytes, "byte_capacity": stats.queue.byte_capacity,
        },
        "connected": stats.connected,
        "reconnects": stats.reconnects,
        "errors": stats.errors,
        "last_error": stats.last_error,
        "slot": slot,
        "snapshot": stats.snapshot.as_ref().map(|s| json!({
            "running": s.running,
            "completed": s.completed,
            "tables_total": s.tables.len(),
            "tables_remaining": s.tables_remaining(),
            "tables": s.tables.iter().map(|t| json!({
                "table": t.table, "estimated_rows": t.estimated_rows,
                "rows_read": t.rows_read, "done": t.done,
            })).collect::<Vec<_>>(),
        })),
    })
}
