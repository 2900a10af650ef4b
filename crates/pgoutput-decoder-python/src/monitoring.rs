//! The reader's monitoring: `metrics_addr=` (the CLI's `/metrics`, `/health` and status page),
//! the slot's status read on a side connection (`slot_status_interval=`), a periodic INFO
//! progress line in `logging` (`progress_interval=`) and a WARNING when the lag passes
//! `lag_warning_seconds=`.

use std::time::Duration;

use pgoutput_decoder::{
    monitor::{HealthPolicy, MetricsServer, Monitor, SlotWatch},
    ChangeStream, ReplicationConfig,
};
use tokio::task::JoinHandle;

/// What the keywords asked for.
#[derive(Debug, Clone, Default)]
pub(crate) struct MonitoringOptions {
    pub metrics_addr: Option<String>,
    pub slot_status_interval: Option<Duration>,
    pub progress_interval: Option<Duration>,
    pub lag_warning: Option<Duration>,
}

/// The slot's status is read this often when `metrics_addr=` is given without
/// `slot_status_interval=`.
const DEFAULT_SLOT_STATUS_INTERVAL: Duration = Duration::from_secs(10);
/// How often the lag is checked for the warning when no progress line is logged.
const LAG_CHECK_INTERVAL: Duration = Duration::from_secs(5);
/// While the lag stays over the threshold, the warning is repeated this often.
const LAG_WARNING_REPEAT: Duration = Duration::from_secs(60);

/// The monitoring of one connected stream; stops with it (dropped).
pub(crate) struct Monitoring {
    pub monitor: Monitor,
    _server: Option<MetricsServer>,
    logger: Option<JoinHandle<()>>,
}

impl Drop for Monitoring {
    fn drop(&mut self) {
        if let Some(task) = &self.logger {
            task.abort();
        }
    }
}

impl MonitoringOptions {
    /// Starts what was asked for on `stream` (in the runtime).
    ///
    /// # Errors
    /// `metrics_addr` cannot be listened on.
    pub(crate) async fn start(
        &self,
        config: &ReplicationConfig,
        stream: &ChangeStream,
    ) -> pgoutput_decoder::Result<Monitoring> {
        let interval = self.slot_status_interval.or(self
            .metrics_addr
            .as_ref()
            .map(|_| DEFAULT_SLOT_STATUS_INTERVAL));
        let slot = interval
            .map(|i| SlotWatch::start(config.connection.clone(), config.slot_name.clone(), i));
        let monitor = Monitor::new(stream.stats_handle(), slot, HealthPolicy::default());
        let server = match &self.metrics_addr {
            Some(addr) => {
                let server = MetricsServer::bind(addr, monitor.clone()).await?;
                tracing::info!(
                    "serving metrics on http://{0}/metrics, health on http://{0}/health, \
                     the status page on http://{0}/",
                    server.local_addr()
                );
                Some(server)
            }
            None => None,
        };
        let logger = (self.progress_interval.is_some() || self.lag_warning.is_some()).then(|| {
            tokio::spawn(log_progress(
                monitor.clone(),
                self.progress_interval,
                self.lag_warning,
            ))
        });
        Ok(Monitoring {
            monitor,
            _server: server,
            logger,
        })
    }
}

/// Logs an INFO progress line every `progress` and a WARNING when the lag passes `lag_warning`
/// (again every minute while it stays over, and an INFO line when it is back under).
async fn log_progress(monitor: Monitor, progress: Option<Duration>, lag_warning: Option<Duration>) {
    let tick = progress
        .unwrap_or(LAG_CHECK_INTERVAL)
        .min(LAG_CHECK_INTERVAL);
    let mut last_progress = tokio::time::Instant::now();
    let mut last_warning: Option<tokio::time::Instant> = None;
    let mut events_at_last = monitor.reading().stats.events.total();
    loop {
        tokio::time::sleep(tick).await;
        let reading = monitor.reading();
        let stats = &reading.stats;
        let lag_ms = stats.millis_behind_source(reading.now_us);
        let lag_bytes = reading
            .slot
            .as_ref()
            .and_then(|s| s.status.as_ref())
            .and_then(|s| s.lag_bytes());
        let bytes_text = lag_bytes.map_or_else(String::new, |b| format!(", {b} bytes of WAL"));
        if let Some(every) = progress {
            let elapsed = last_progress.elapsed();
            if elapsed >= every {
                let total = stats.events.total();
                let rate = total.saturating_sub(events_at_last) as f64 / elapsed.as_secs_f64();
                tracing::info!(
                    "progress: {total} events ({rate:.0}/s), {} transactions, lag {lag_ms} ms\
                     {bytes_text}, queue {}/{}, last position {}{}",
                    stats.transactions,
                    stats.queue.events,
                    stats.queue.event_capacity,
                    stats.positions.handed_out,
                    if stats.connected {
                        ""
                    } else {
                        ", not connected"
                    }
                );
                events_at_last = total;
                last_progress = tokio::time::Instant::now();
            }
        }
        if let Some(limit) = lag_warning {
            if u128::from(lag_ms) > limit.as_millis() {
                if last_warning.is_none_or(|at| at.elapsed() >= LAG_WARNING_REPEAT) {
                    tracing::warn!(
                        "the consumer is {lag_ms} ms behind the source{bytes_text}, over \
                         lag_warning_seconds={}",
                        limit.as_secs_f64()
                    );
                    last_warning = Some(tokio::time::Instant::now());
                }
            } else if last_warning.take().is_some() {
                tracing::info!("the lag is back under lag_warning_seconds: {lag_ms} ms");
            }
        }
    }
}
