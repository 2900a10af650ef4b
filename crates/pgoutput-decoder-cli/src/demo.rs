//! `pgoutput-decoder demo`: a throwaway PostgreSQL, an e-commerce workload, its live events.

use std::{
    io::{IsTerminal, Write},
    time::{Duration, Instant},
};

use pgoutput_decoder::{
    conn::ConnectParams, ChangeStream, EventKind, JsonEncoder, PublicationAutocreate,
    ReplicationConfig,
};
use throwaway_postgres::ClusterBuilder;

use crate::{stream_cmd::CliResult, DemoArgs};

const SCHEMA: &str = include_str!("../../../examples/setup_postgres.sql");
const WORKLOAD: &str = include_str!("../../../examples/demo_workload.sql");

pub(crate) async fn run(args: DemoArgs) -> CliResult {
    let color = std::io::stdout().is_terminal();
    eprintln!("Starting a throwaway PostgreSQL (wal_level=logical)...");
    let mut builder = ClusterBuilder::new();
    if let Some(bin) = &args.pg_bin {
        builder = builder.bin_dir(bin);
    }
    let cluster = tokio::task::spawn_blocking(move || builder.start())
        .await
        .map_err(|e| format!("the cluster start-up task failed: {e}"))??;
    let (_, version) = cluster.version();
    eprintln!(
        "PostgreSQL {version} is running on {}:{} (data in {}).",
        cluster.host(),
        cluster.port(),
        cluster.data_dir().display()
    );
    cluster.create_database("shop")?;
    cluster.psql("shop", SCHEMA)?;
    eprintln!(
        "Created the e-commerce schema (customers, products, orders, order_items, inventory_log)."
    );

    let connection = ConnectParams {
        host: cluster.host().to_string(),
        port: cluster.port(),
        user: cluster.superuser().to_string(),
        dbname: "shop".into(),
        ..ConnectParams::default()
    };
    let mut config = ReplicationConfig::new(connection);
    config.slot_name = "demo_slot".into();
    config.publication_name = "demo_pub".into();
    config.publication_autocreate = PublicationAutocreate::AllTables;
    config.create_slot = true;
    config.topic_prefix = "shop".into();
    config.skipped_operations.clear();
    let encoder = JsonEncoder::new(&config);
    let mut stream = ChangeStream::connect(config).await?;
    eprintln!("Streaming from slot demo_slot (publication demo_pub). Running the workload...\n");

    // psql blocks; run the workload beside the stream.
    let cluster = std::sync::Arc::new(cluster);
    let workload = {
        let cluster = cluster.clone();
        tokio::task::spawn_blocking(move || cluster.psql("shop", WORKLOAD))
    };

    let mut shown = 0usize;
    let mut last_event = Instant::now();
    let mut workload_done = false;
    let mut workload = Some(workload);
    let mut out = std::io::stdout().lock();
    let mut buf = Vec::new();
    loop {
        if let Some(handle) = workload.as_mut() {
            if handle.is_finished() {
                workload.take().expect("checked").await??;
                workload_done = true;
            }
        }
        // Once the workload ran, a quiet second means every event arrived.
        if workload_done && last_event.elapsed() > Duration::from_millis(1500) {
            break;
        }
        let Some(batch) = stream
            .next_batch_timeout(Duration::from_millis(200))
            .await?
        else {
            break;
        };
        for event in &batch {
            shown += 1;
            last_event = Instant::now();
            let (label, target) = match &event.kind {
                EventKind::Change(c) => (op_label(c.op.code()), c.table.data_collection.clone()),
                EventKind::Message(m) => ("MESSAGE", m.prefix.clone()),
                EventKind::Transaction(t) => ("TX", t.id.clone()),
            };
            buf.clear();
            if args.json {
                encoder.write_record(event, pgoutput_decoder::RecordFormat::Envelope, &mut buf)?;
                out.write_all(&buf)?;
                continue;
            }
            encoder.write_key(event, &mut buf)?;
            let key = String::from_utf8_lossy(&buf).into_owned();
            buf.clear();
            encoder.write_value(event, &mut buf)?;
            if color {
                writeln!(
                    out,
                    "\x1b[1;36m{label:<8}\x1b[0m \x1b[1m{target}\x1b[0m key={key}"
                )?;
            } else {
                writeln!(out, "{label:<8} {target} key={key}")?;
            }
            out.write_all(&buf)?;
            writeln!(out, "\n")?;
        }
        out.flush()?;
        if let Some(last) = batch.last() {
            stream.ack(last);
        }
    }
    stream.stop().await?;
    if args.keep {
        eprintln!(
            "{shown} events streamed. The demo database keeps running; in another terminal:\n\n  \
             export DATABASE_URL=postgresql://{}@{}:{}/shop\n\n\
             and run the README's Python quick start, or\n  \
             pgoutput-decoder stream --dsn \"$DATABASE_URL\" --publication demo_pub --slot my_slot --create-slot\n\n\
             Press Ctrl-C to stop PostgreSQL and remove its data.",
            cluster.superuser(),
            cluster.host(),
            cluster.port()
        );
        let _ = tokio::signal::ctrl_c().await;
    }
    eprintln!("{shown} events streamed. Stopping PostgreSQL and removing its data directory.");
    drop(out);
    Ok(())
}

fn op_label(code: &str) -> &'static str {
    match code {
        "c" => "INSERT",
        "u" => "UPDATE",
        "d" => "DELETE",
        "t" => "TRUNCATE",
        "r" => "READ",
        _ => "MESSAGE",
    }
}
