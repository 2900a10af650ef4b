//! `pgoutput-decoder`: stream a PostgreSQL replication slot as Debezium JSON lines.
//!
//! This file only parses arguments and dispatches; `stream_cmd` does the streaming, `demo`
//! runs the self-contained demo.

mod demo;
mod status_line;
mod stream_cmd;

use std::{ffi::OsStr, io::IsTerminal, path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand, ValueEnum};

/// Stream PostgreSQL changes (pgoutput logical replication) as Debezium-compatible JSON.
#[derive(Debug, Parser)]
#[command(name = "pgoutput-decoder", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Stream a replication slot's changes as JSON lines, or to Kafka.
    Stream(Box<StreamArgs>),
    /// Start a throwaway PostgreSQL, run a small e-commerce workload and show its events.
    Demo(DemoArgs),
}

/// Output shape of each line.
#[derive(Debug, Clone, Copy, ValueEnum, Default)]
enum Format {
    /// `{"topic": ..., "key": ..., "value": ...}` with tombstones after deletes.
    #[default]
    Envelope,
    /// Only the Debezium value.
    Value,
}

/// Where `stream` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SinkKind {
    /// JSON lines to --output (a file or standard output).
    File,
    /// Records to Kafka topics, as Debezium on Kafka Connect writes them (bootstrap.servers,
    /// producer.* in the configuration file).
    Kafka,
}

#[derive(Debug, clap::Args)]
struct StreamArgs {
    /// Debezium PostgreSQL connector configuration (database.hostname, slot.name, ...): a
    /// .properties file, or Kafka Connect's JSON ({"name": ..., "config": {...}} as posted to
    /// the Connect REST API, or a flat object of the keys).
    #[arg(long, short = 'c')]
    config: Option<PathBuf>,
    /// Connection string (libpq URI or key=value); overrides database.* properties.
    #[arg(long)]
    dsn: Option<String>,
    /// Replication slot name (slot.name).
    #[arg(long)]
    slot: Option<String>,
    /// Publication name (publication.name).
    #[arg(long)]
    publication: Option<String>,
    /// Create the slot when it does not exist (slot.create).
    #[arg(long)]
    create_slot: bool,
    /// Create the slot as a failover slot (slot.failover; PostgreSQL 17+), kept in sync on
    /// standbys with sync_replication_slots = on.
    #[arg(long)]
    slot_failover: bool,
    /// Seconds without anything from the server before the connection counts as dead and
    /// the stream reconnects (receive.timeout.ms; default: twice the server's
    /// wal_sender_timeout; 0 = off).
    #[arg(long, value_name = "SECS")]
    receive_timeout: Option<f64>,
    /// While changes arrive back to back, wait this long for more before writing a batch
    /// (batch.linger.ms; default 0.01; 0 = off). A change after a quiet spell is written at
    /// once.
    #[arg(long, value_name = "SECS")]
    batch_linger: Option<f64>,
    /// Create the publication (FOR ALL TABLES) when it does not exist
    /// (publication.autocreate.mode=all_tables).
    #[arg(long)]
    create_publication: bool,
    /// Decode prepared transactions at PREPARE (PostgreSQL 15+, two.phase.enabled): they are
    /// held and written at COMMIT PREPARED, dropped at ROLLBACK PREPARED. The slot must have
    /// been created with two-phase (--create-slot does so).
    #[arg(long)]
    two_phase: bool,
    /// Read the rows that already exist before streaming (snapshot.mode): initial (the
    /// default: when the slot is created, or an earlier snapshot did not finish),
    /// initial_only (then exit), always, when_needed, or no_data (stream only).
    #[arg(long, value_name = "MODE")]
    snapshot_mode: Option<pgoutput_decoder::config::SnapshotMode>,
    /// Topic prefix (topic.prefix).
    #[arg(long)]
    topic_prefix: Option<String>,
    /// Where events go: `file` (--output, the default) or `kafka` (the Kafka sink's keys of
    /// the configuration file: bootstrap.servers, producer.*, topic.creation.*; a Debezium
    /// Server application.properties with debezium.sink.type=kafka selects it).
    #[arg(long, value_enum)]
    sink: Option<SinkKind>,
    /// Kafka brokers for --sink kafka, overriding the file's bootstrap.servers.
    #[arg(long, value_name = "HOST:PORT,...")]
    bootstrap_servers: Option<String>,
    /// Where to write events: a file, or - for standard output. A file is appended to (created
    /// when missing), never truncated: what an earlier run wrote was acknowledged and does not
    /// come again.
    #[arg(long, short = 'o', default_value = "-")]
    output: String,
    /// Line format.
    #[arg(long, value_enum, default_value_t = Format::Envelope)]
    format: Format,
    /// Write keys and values with their Kafka Connect schema, {"schema": ..., "payload": ...}
    /// (key.converter.schemas.enable and value.converter.schemas.enable).
    #[arg(long)]
    schemas: bool,
    /// Exit 0 once streaming has started and no change arrived for this many seconds.
    #[arg(long, value_name = "SECS")]
    exit_when_idle: Option<f64>,
    /// Exit 0 once everything up to this LSN (e.g. 0/16B3748) was written and acknowledged.
    #[arg(long, value_name = "LSN")]
    end_lsn: Option<pgoutput_decoder::Lsn>,
    /// Never show the live status line, even on a terminal.
    #[arg(long)]
    quiet: bool,
}

#[derive(Debug, clap::Args)]
struct DemoArgs {
    /// PostgreSQL server binaries to use (default: PG_BIN or the newest installed).
    #[arg(long)]
    pg_bin: Option<PathBuf>,
    /// Print each event's full Debezium JSON instead of a one-line summary plus its value.
    #[arg(long)]
    json: bool,
    /// Keep the demo database running after the workload (until Ctrl-C), to try the Python
    /// quick start or the CLI against it.
    #[arg(long)]
    keep: bool,
}

/// Log lines are coloured only on a terminal, and not when `NO_COLOR` is set to anything
/// (<https://no-color.org>): escape codes in a log file or a pipe are noise.
fn log_colours(stderr_is_terminal: bool, no_color: Option<&OsStr>) -> bool {
    stderr_is_terminal && no_color.is_none_or(OsStr::is_empty)
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PGOUTPUT_DECODER_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(status_line::LogWriterFactory)
        .with_ansi(log_colours(
            std::io::stderr().is_terminal(),
            std::env::var_os("NO_COLOR").as_deref(),
        ))
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Stream(args) => stream_cmd::run(*args).await,
            Command::Demo(args) => demo::run(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line that says what is wrong and how to fix it.
            status_line::end_before_error();
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The flags that set a configuration key are the ones `config::keys::OPTIONS` names, and
    /// each one's help names its key; the other flags are the command's own.
    #[test]
    fn stream_flags_follow_the_configuration_table() {
        use clap::CommandFactory;
        use pgoutput_decoder::config::keys::{KAFKA_OPTIONS, OPTIONS};
        let cli = Cli::command();
        let stream = cli.find_subcommand("stream").expect("a stream subcommand");
        let flags: Vec<(String, String)> = stream
            .get_arguments()
            .filter_map(|a| {
                let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
                a.get_long().map(|l| (format!("--{l}"), help))
            })
            .collect();
        let options = || OPTIONS.iter().chain(KAFKA_OPTIONS.iter());
        for o in options().filter(|o| o.cli.is_some()) {
            let flag = o.cli.unwrap();
            let (_, help) = flags
                .iter()
                .find(|(f, _)| f == flag)
                .unwrap_or_else(|| panic!("{flag} (for {}) is not a stream flag", o.key));
            assert!(
                help.contains(o.key),
                "the help of {flag} does not name {}",
                o.key
            );
        }
        let own = [
            "--config",
            "--dsn",
            "--sink",
            "--output",
            "--format",
            "--exit-when-idle",
            "--end-lsn",
            "--quiet",
            "--help",
        ];
        for (flag, _) in &flags {
            assert!(
                own.contains(&flag.as_str()) || options().any(|o| o.cli == Some(flag)),
                "{flag} sets a configuration key that config::keys::OPTIONS does not map to it"
            );
        }
    }

    #[test]
    fn logs_are_coloured_only_on_a_terminal_without_no_color() {
        assert!(log_colours(true, None));
        assert!(log_colours(true, Some(OsStr::new(""))));
        assert!(!log_colours(true, Some(OsStr::new("1"))));
        assert!(!log_colours(false, None));
        assert!(!log_colours(false, Some(OsStr::new(""))));
    }
}
