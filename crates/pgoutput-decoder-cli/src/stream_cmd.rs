//! `pgoutput-decoder stream`: events as JSON lines to a file or stdout, or as records to
//! Kafka; acknowledged once the sink made them durable.
//!
//! The command drives the pipeline: the replication stream (the source) hands out batches,
//! a sink takes them — a [`FileSink`] writing the output file or stdout and reporting them
//! durable once flushed, or a [`KafkaSink`] reporting each event durable once Kafka
//! acknowledged its records — and the stream's delivery tracking acknowledges what the sink
//! made durable.

use std::{
    error::Error as StdError,
    fs::{File, OpenOptions},
    io::{BufWriter, IsTerminal, Read, Seek, SeekFrom, Write},
    time::{Duration, Instant},
};

use pgoutput_decoder::{
    config::{kafka::KafkaSinkConfig, keys::is_kafka_sink_key, SnapshotMode},
    conn::ConnectParams,
    debezium_server::{from_debezium_server, is_debezium_server},
    monitor::{HealthPolicy, MetricsListener, MetricsServer, Monitor, SlotWatch},
    pipeline::{FileSink, KafkaSink, Sink},
    properties::{config_from_properties, parse_connector_config},
    ChangeStream, JsonEncoder, PublicationAutocreate, RecordFormat, ReplicationConfig,
};
use tokio::sync::watch;

use crate::{
    status_line::{Display, StatusLine},
    Format, SinkKind, StreamArgs,
};

pub(crate) type CliResult = Result<(), Box<dyn StdError>>;

/// What the command streams and where to.
pub(crate) struct Loaded {
    pub(crate) config: ReplicationConfig,
    pub(crate) sink: SinkKind,
    /// The Kafka sink's settings (with `--sink kafka`).
    pub(crate) kafka: Option<KafkaSinkConfig>,
}

/// Configuration properties, in file order.
type Properties = Vec<(String, String)>;

/// The properties of the configuration file — a Debezium connector's (properties or Kafka
/// Connect JSON), or a Debezium Server `application.properties`, translated — and the sink
/// the file asks for (Debezium Server's `debezium.sink.type`).
pub(crate) fn read_properties(
    path: &std::path::Path,
) -> Result<(Properties, Option<SinkKind>), Box<dyn StdError>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "could not read the configuration file {}: {e}",
            path.display()
        )
    })?;
    let props = parse_connector_config(&text)?;
    if !is_debezium_server(&props) {
        return Ok((props, None));
    }
    let server = from_debezium_server(&props)?;
    let sink = server.sink_type.map(|_| SinkKind::Kafka);
    Ok((server.props, sink))
}

/// Builds the configuration from the properties file and the flags (flags win).
pub(crate) fn build_config(args: &StreamArgs) -> Result<Loaded, Box<dyn StdError>> {
    let mut sink = args.sink;
    let mut kafka_props = Vec::new();
    let mut config = match &args.config {
        Some(path) => {
            let (props, file_sink) = read_properties(path)?;
            sink = sink.or(file_sink);
            // The Kafka sink's keys go to the sink; with the file sink the connector's loader
            // notes them as unused.
            let (for_kafka, for_connector): (Vec<_>, Vec<_>) = props
                .into_iter()
                .partition(|(k, _)| sink == Some(SinkKind::Kafka) && is_kafka_sink_key(k));
            kafka_props = for_kafka;
            let loaded = config_from_properties(&for_connector)?;
            for note in &loaded.notes {
                eprintln!("note: {note}");
            }
            loaded.config
        }
        None => {
            let connection = ConnectParams::from_dsn(args.dsn.as_deref().unwrap_or(""))?;
            let mut c = ReplicationConfig::new(connection);
            // Without a Debezium configuration nothing is created unless asked for.
            c.publication_autocreate = PublicationAutocreate::Disabled;
            // As Debezium (and a properties file): the rows that exist come first.
            c.snapshot_mode = SnapshotMode::Initial;
            c
        }
    };
    if let (Some(dsn), Some(_)) = (&args.dsn, &args.config) {
        config.connection = ConnectParams::from_dsn(dsn)?;
    }
    if let Some(slot) = &args.slot {
        config.slot_name = slot.clone();
    }
    if let Some(publication) = &args.publication {
        config.publication_name = publication.clone();
    }
    if args.create_slot {
        config.create_slot = true;
    }
    if args.two_phase {
        config.two_phase = true;
    }
    if let Some(n) = args.snapshot_max_threads {
        config.snapshot_max_threads = usize::from(n);
    }
    if let Some(mode) = args.snapshot_mode {
        config.snapshot_mode = mode;
    }
    if args.slot_failover {
        config.slot_failover = true;
    }
    if let Some(secs) = args.receive_timeout {
        config.receive_timeout = Some(seconds_flag("--receive-timeout", secs)?);
    }
    if let Some(secs) = args.batch_linger {
        config.batch_linger = seconds_flag("--batch-linger", secs)?;
    }
    if args.create_publication {
        config.publication_autocreate = PublicationAutocreate::AllTables;
    }
    if let Some(prefix) = &args.topic_prefix {
        config.topic_prefix = prefix.clone();
    }
    if args.schemas {
        config.key_schemas_enable = true;
        config.value_schemas_enable = true;
    }
    config.validate()?;
    let sink = sink.unwrap_or(SinkKind::File);
    let kafka = match sink {
        SinkKind::File => None,
        SinkKind::Kafka => {
            if args.output != "-" {
                return Err(
                    "--output is for the file sink; with --sink kafka the records go \
                            to Kafka topics"
                        .into(),
                );
            }
            if let Some(servers) = &args.bootstrap_servers {
                kafka_props.push(("bootstrap.servers".into(), servers.clone()));
            }
            let (kafka, notes) = KafkaSinkConfig::from_properties(&kafka_props)?;
            for note in &notes {
                eprintln!("note: {note}");
            }
            Some(kafka)
        }
    };
    Ok(Loaded {
        config,
        sink,
        kafka,
    })
}

/// A flag's seconds, where zero means off.
fn seconds_flag(flag: &str, secs: f64) -> Result<Duration, Box<dyn StdError>> {
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!(
            "{flag} must be zero (off) or a positive number of seconds, not {secs}"
        )
        .into());
    }
    Duration::try_from_secs_f64(secs).map_err(|_| format!("{flag} is too large: {secs}").into())
}

pub(crate) async fn run(args: StreamArgs) -> CliResult {
    let Loaded {
        config,
        sink: sink_kind,
        kafka,
    } = build_config(&args)?;
    let encoder = JsonEncoder::new(&config);
    let format = match args.format {
        Format::Envelope => RecordFormat::Envelope,
        Format::Value => RecordFormat::Value,
    };
    let out: Option<Box<dyn Write + Send>> = match sink_kind {
        SinkKind::Kafka => None,
        SinkKind::File if args.output == "-" => Some(Box::new(BufWriter::with_capacity(
            1 << 16,
            std::io::stdout(),
        ))),
        SinkKind::File => {
            let file = open_output(std::path::Path::new(&args.output))
                .map_err(|e| format!("could not open the output file {}: {e}", args.output))?;
            Some(Box::new(BufWriter::with_capacity(1 << 16, file)))
        }
    };

    // The handlers are installed before connecting: a SIGTERM that arrives while connecting
    // stops the stream gracefully once it is up instead of killing the process.
    let (stop_tx, mut stop_rx) = watch::channel(false);
    let signalled = stop_signal();
    tokio::spawn(async move {
        signalled.await;
        let _ = stop_tx.send(true);
    });
    // The metrics address is taken before connecting: one in use is reported at once.
    let monitoring = match MonitorSettings::from_args(&args, &config)? {
        Some(settings) => Some((MetricsListener::bind(&settings.addr).await?, settings)),
        None => None,
    };
    let mut stream = ChangeStream::connect(config).await?;
    let _metrics = monitoring.map(|(listener, settings)| settings.serve(listener, &stream));
    let delivery = stream.delivery(1);
    let mut sink: Box<dyn Sink + '_> = match (out, &kafka) {
        (Some(out), _) => Box::new(FileSink::new(
            out,
            encoder.record_writer(),
            format,
            delivery.reporter(0),
            args.output.clone(),
        )),
        (None, Some(kafka)) => {
            // Retries for kafka.connect.timeout.ms while the brokers do not answer.
            let connected = tokio::task::block_in_place(|| {
                KafkaSink::connect(kafka, encoder.clone(), delivery.reporter(0))
            });
            match connected {
                Ok(sink) => Box::new(sink),
                Err(e) => {
                    let _ = stream.stop().await;
                    return Err(e.into());
                }
            }
        }
        (None, None) => unreachable!("the Kafka sink comes with its settings"),
    };

    let idle_limit = args.exit_when_idle.map(Duration::from_secs_f64);
    let mut status = StatusLine::stderr(status_display(&args)?);
    // Events written to the terminal the status line is on must not run into it.
    let events_on_terminal =
        sink_kind == SinkKind::File && args.output == "-" && std::io::stdout().is_terminal();
    let mut last_change = Instant::now();
    let outcome: CliResult = async {
        loop {
            if let Some(end) = args.end_lsn {
                if stream.positions().acknowledged >= end {
                    break;
                }
            }
            // With --end-lsn the end is often reached by a keepalive or a late acknowledgement
            // rather than an event: look again soon.
            let mut wait = Duration::from_millis(if args.end_lsn.is_some() { 20 } else { 500 });
            if let Some(limit) = idle_limit {
                let left = limit.saturating_sub(last_change.elapsed());
                if left.is_zero() {
                    break;
                }
                wait = wait.min(left);
            }
            let batch = tokio::select! {
                biased;
                _ = stop_rx.changed() => break,
                batch = stream.next_batch_timeout(wait) => batch?,
            };
            let Some(batch) = batch else { break };
            if !batch.is_empty() {
                if events_on_terminal {
                    status.clear();
                }
                // Once the sink made the batch durable (written and flushed, or acknowledged
                // by Kafka) it reports so, and the server may forget it. A full Kafka
                // producer queue blocks here until the broker catches up.
                delivery.register(&batch);
                tokio::task::block_in_place(|| sink.write_batch(&batch))?;
                // Heartbeats come while nothing changes: they do not count as activity.
                if batch.iter().any(|e| !e.is_heartbeat()) {
                    last_change = Instant::now();
                }
                if events_on_terminal {
                    status.redraw();
                }
            }
            status.maybe_print(|| stream.stats());
        }
        Ok(())
    }
    .await;
    status.finish(&stream.stats());
    // What the sink still holds is made durable (or given up on: then it is not confirmed
    // and comes again next time) before the last position goes to the server.
    let flushed = tokio::task::block_in_place(|| sink.flush());
    drop(sink);
    let stopped = stream.stop().await;
    outcome?;
    flushed?;
    stopped?;
    Ok(())
}

/// How the status is shown: redrawn in place on a terminal, as progress lines with
/// `--progress-interval` when stderr is not one, not at all with `--quiet`.
fn status_display(args: &StreamArgs) -> Result<Display, Box<dyn StdError>> {
    let every = match args.progress_interval {
        Some(secs) => Some(seconds_flag("--progress-interval", secs)?),
        None => None,
    };
    Ok(match (args.quiet, std::io::stderr().is_terminal(), every) {
        (true, _, _) => Display::Off,
        (false, true, _) => Display::Terminal,
        (false, false, Some(every)) if !every.is_zero() => Display::Lines(every),
        (false, false, _) => Display::Off,
    })
}

/// What `--metrics-addr` serves, checked before connecting.
struct MonitorSettings {
    addr: String,
    connection: ConnectParams,
    slot: String,
    interval: Duration,
    health: HealthPolicy,
}

impl MonitorSettings {
    fn from_args(
        args: &StreamArgs,
        config: &ReplicationConfig,
    ) -> Result<Option<Self>, Box<dyn StdError>> {
        let Some(addr) = &args.metrics_addr else {
            return Ok(None);
        };
        let interval = seconds_flag("--slot-status-interval", args.slot_status_interval)?;
        if interval.is_zero() {
            return Err("--slot-status-interval must be a positive number of seconds".into());
        }
        let mut health = HealthPolicy::default();
        if let Some(secs) = args.health_max_lag_seconds {
            let limit = seconds_flag("--health-max-lag-seconds", secs)?;
            health.max_lag_time = (!limit.is_zero()).then_some(limit);
        }
        if let Some(bytes) = args.health_max_lag_bytes {
            health.max_lag_bytes = Some(bytes);
        }
        Ok(Some(MonitorSettings {
            addr: addr.clone(),
            connection: config.connection.clone(),
            slot: config.slot_name.clone(),
            interval,
            health,
        }))
    }

    /// Starts watching the slot and serving the endpoints for `stream` on `listener`.
    fn serve(self, listener: MetricsListener, stream: &ChangeStream) -> MetricsServer {
        let slot = SlotWatch::start(self.connection, self.slot, self.interval);
        let monitor = Monitor::new(stream.stats_handle(), Some(slot), self.health);
        let server = listener.serve(monitor);
        eprintln!(
            "metrics: http://{0}/metrics, health: http://{0}/health, status page: http://{0}/",
            server.local_addr()
        );
        server
    }
}

/// Opens the output file for appending, creating it when missing: what an earlier run wrote
/// was acknowledged and will not come again, so it must never be truncated. A file whose last
/// line was cut off (a run killed while writing) gets a newline first, so that the next record
/// starts a line of its own; the cut-off record was not acknowledged and comes again.
fn open_output(path: &std::path::Path) -> std::io::Result<File> {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(path)?;
    if !ends_with_newline_or_is_empty(&mut file)? {
        file.write_all(b"\n")?;
    }
    Ok(file)
}

/// Whether the file is empty or its last byte is a newline (anything that is not a regular
/// file, a pipe or a terminal, counts as fine).
fn ends_with_newline_or_is_empty(file: &mut File) -> std::io::Result<bool> {
    let meta = file.metadata()?;
    if !meta.is_file() || meta.len() == 0 {
        return Ok(true);
    }
    let mut last = [0u8; 1];
    file.seek(SeekFrom::End(-1))?;
    file.read_exact(&mut last)?;
    Ok(last[0] == b'\n')
}

/// SIGINT or SIGTERM. The handlers are registered when this is called, not when the future is
/// first polled, so no signal between the two falls through to the default action.
fn stop_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let handlers = {
        use tokio::signal::unix::{signal, SignalKind};
        signal(SignalKind::terminate())
            .ok()
            .zip(signal(SignalKind::interrupt()).ok())
    };
    async move {
        #[cfg(unix)]
        if let Some((mut term, mut int)) = handlers {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_output_file_is_appended_to_and_a_cut_off_line_is_ended() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.jsonl");
        let append = |text: &str| {
            let mut f = open_output(&path).unwrap();
            f.write_all(text.as_bytes()).unwrap();
        };
        append("{\"a\":1}\n");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"a\":1}\n");
        append("{\"b\":2}\n{\"c\"");
        append("{\"c\":3}\n");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"a\":1}\n{\"b\":2}\n{\"c\"\n{\"c\":3}\n"
        );
    }

    #[test]
    fn seconds_flags_take_zero_and_positive_numbers_only() {
        assert_eq!(
            seconds_flag("--batch-linger", 0.01).unwrap(),
            Duration::from_millis(10)
        );
        assert_eq!(seconds_flag("--batch-linger", 0.0).unwrap(), Duration::ZERO);
        for bad in [-1.0, f64::NAN, f64::INFINITY] {
            let e = seconds_flag("--receive-timeout", bad)
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with("--receive-timeout must be zero (off) or a positive number"),
                "{e}"
            );
        }
        // Duration::from_secs_f64 would panic here.
        let e = seconds_flag("--batch-linger", 1e300)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("--batch-linger is too large: 1000"), "{e}");
    }
}
