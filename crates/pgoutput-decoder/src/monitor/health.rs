//! `/health`: healthy while the replication connection is up, the lag is under its limits and
//! the slot still has the WAL it needs; otherwise the reasons why not.

use std::time::Duration;

use crate::pipeline::StatsSnapshot;

use super::slot::SlotReading;

/// The limits of a healthy stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthPolicy {
    /// Unhealthy above this lag in bytes (the server's WAL end minus the slot's confirmed
    /// position; `None`: no limit).
    pub max_lag_bytes: Option<u64>,
    /// Unhealthy above this lag in time (`MilliSecondsBehindSource`; `None`: no limit).
    pub max_lag_time: Option<Duration>,
}

impl Default for HealthPolicy {
    /// No byte limit (the right one depends on the server's disk), five minutes behind.
    fn default() -> Self {
        HealthPolicy {
            max_lag_bytes: None,
            max_lag_time: Some(Duration::from_secs(300)),
        }
    }
}

impl HealthPolicy {
    /// Why the stream is unhealthy now (empty: healthy).
    pub fn problems(
        &self,
        stats: &StatsSnapshot,
        slot: Option<&SlotReading>,
        now_us: i64,
    ) -> Vec<String> {
        let mut problems = Vec::new();
        if !stats.connected {
            problems.push(match &stats.last_error {
                Some(e) => format!("not connected to PostgreSQL: {e}"),
                None => "not connected to PostgreSQL".to_owned(),
            });
        }
        let behind = stats.millis_behind_source(now_us);
        if let Some(max) = self.max_lag_time {
            if u128::from(behind) > max.as_millis() {
                problems.push(format!(
                    "{behind} ms behind the source, over the limit of {} ms",
                    max.as_millis()
                ));
            }
        }
        if let Some(status) = slot.and_then(|s| s.status.as_ref()) {
            if let (Some(max), Some(lag)) = (self.max_lag_bytes, status.lag_bytes()) {
                if lag > max {
                    problems.push(format!(
                        "the slot is {lag} bytes behind the server's WAL, over the limit of {max}"
                    ));
                }
            }
            if !status.exists {
                problems.push("the replication slot does not exist".to_owned());
            }
            if status.wal_status.as_deref() == Some("lost") {
                problems
                    .push("the replication slot lost WAL it needs (wal_status = lost)".to_owned());
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::SlotStatus;
    use pgoutput::Lsn;

    fn connected() -> StatsSnapshot {
        StatsSnapshot {
            connected: true,
            ..StatsSnapshot::default()
        }
    }

    fn slot(lag: u64, wal_status: &str) -> SlotReading {
        SlotReading {
            status: Some(SlotStatus {
                wal_end: Lsn(1_000_000),
                exists: true,
                active: true,
                confirmed_flush: Some(Lsn(1_000_000 - lag)),
                restart_lsn: Some(Lsn(0)),
                wal_status: Some(wal_status.into()),
                safe_wal_size: None,
                read_at_us: 0,
            }),
            error: None,
        }
    }

    #[test]
    fn healthy_while_connected_and_within_the_limits() {
        let policy = HealthPolicy {
            max_lag_bytes: Some(1000),
            max_lag_time: Some(Duration::from_secs(10)),
        };
        assert!(policy
            .problems(&connected(), Some(&slot(1000, "reserved")), 0)
            .is_empty());
        let p = policy.problems(&connected(), Some(&slot(1001, "lost")), 0);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].contains("1001 bytes behind"), "{p:?}");
        assert!(p[1].contains("wal_status = lost"), "{p:?}");

        let down = StatsSnapshot {
            last_error: Some("connection refused".into()),
            ..StatsSnapshot::default()
        };
        assert_eq!(
            policy.problems(&down, None, 0),
            ["not connected to PostgreSQL: connection refused"]
        );

        // Events waiting, the last one taken committed 11 s ago.
        let mut behind = connected();
        behind.queue.events = 5;
        behind.last_commit_time_us = 1_000_000;
        behind.last_event_taken_us = 1_000_000;
        let p = policy.problems(&behind, None, 12_000_000);
        assert_eq!(
            p,
            ["11000 ms behind the source, over the limit of 10000 ms"]
        );
    }
}
