//! `pgoutput-decoder demo`: a throwaway PostgreSQL, an e-commerce workload, its live events.

use std::{
    io::{IsTerminal, Write},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use pgoutput_decoder::{
    conn::ConnectParams, ChangeStream, EventKind, JsonEncoder, PublicationAutocreate,
    ReplicationConfig,
};
use throwaway_postgres::{Cluster, ClusterBuilder};

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
    let cluster = Arc::new(cluster);
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
                EventKind::Heartbeat(h) => ("HEARTBEAT", h.lsn.to_string()),
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
        // The demo's own slot would pin WAL for as long as the database runs: drop it.
        cluster.psql("shop", "SELECT pg_drop_replication_slot('demo_slot')")?;
        let url = format!(
            "postgresql://{}@{}:{}/shop",
            cluster.superuser(),
            cluster.host(),
            cluster.port()
        );
        eprintln!(
            "{shown} events streamed. The demo database keeps running, with a light workload \
             (an order inserted, one shipped, and every third second one deleted).\n\
             In another terminal:\n\n  \
             export DATABASE_URL={url}\n  \
             python examples/quickstart.py\n\n\
             (the README's Python quick start), or\n  \
             pgoutput-decoder stream --dsn \"$DATABASE_URL\" --publication demo_pub --slot my_slot --create-slot\n\n\
             Press Ctrl-C to stop PostgreSQL and remove its data."
        );
        let stop = Arc::new(AtomicBool::new(false));
        let ticker = {
            let (cluster, stop) = (cluster.clone(), stop.clone());
            tokio::task::spawn_blocking(move || keep_workload(&cluster, &stop))
        };
        let mut ticker = ticker;
        tokio::select! {
            _ = wait_for_signal() => {
                stop.store(true, Ordering::Relaxed);
                // Ctrl-C in a terminal interrupts a running psql too: its error does not matter.
                let _ = ticker.await;
            }
            result = &mut ticker => {
                // The workload stops only on an error (the server went away, ...).
                result.map_err(|e| format!("the workload task failed: {e}"))??;
            }
        }
    }
    eprintln!("{shown} events streamed. Stopping PostgreSQL and removing its data directory.");
    drop(out);
    Ok(())
}

/// The `--keep` workload, one tick a second until `stop`: the pending order shipped, a new
/// order, and every third tick the oldest shipped order without items deleted. Each statement
/// is a transaction of its own, so a consumer that stops after a delete and acknowledged it
/// does not see it again.
fn keep_workload(
    cluster: &Cluster,
    stop: &AtomicBool,
) -> Result<(), throwaway_postgres::ClusterError> {
    let mut tick = 0u64;
    while !stop.load(Ordering::Relaxed) {
        tick += 1;
        let mut sql = format!(
            "UPDATE orders SET status = 'shipped' WHERE id = (SELECT min(id) FROM orders \
             WHERE status = 'pending');\n\
             INSERT INTO orders (customer_id, total) VALUES ({}, {}.{:02});\n",
            1 + tick % 2,
            10 + tick % 90,
            tick * 7 % 100
        );
        if tick % 3 == 0 {
            sql.push_str(
                "DELETE FROM orders WHERE id = (SELECT min(o.id) FROM orders o \
                 WHERE o.status = 'shipped' \
                 AND NOT EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = o.id));\n",
            );
        }
        if let Err(e) = cluster.psql("shop", &sql) {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            return Err(e);
        }
        // Sleep a second in small steps, so that Ctrl-C is served at once.
        for _ in 0..10 {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    Ok(())
}

/// Ctrl-C (SIGINT) or SIGTERM.
async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
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
