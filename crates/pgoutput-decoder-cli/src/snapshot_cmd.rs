//! `pgoutput-decoder snapshot`: asks a running `stream` for an incremental snapshot by writing
//! a row to the signal table (`signal.data.collection`), as one does for Debezium.

use std::error::Error as StdError;

use pgoutput_decoder::{
    conn::{quote_ident, quote_literal, PgConnection},
    properties::config_from_properties,
};

use crate::{stream_cmd::read_properties, SignalAction, SnapshotArgs};

pub(crate) async fn run(args: SnapshotArgs) -> Result<(), Box<dyn StdError>> {
    let (props, _) = read_properties(&args.config)?;
    // Only the connection and the signal table matter here; the Kafka sink's keys would be
    // notes, not errors, and are dropped.
    let loaded = config_from_properties(&props)?;
    let config = loaded.config;
    let Some(table) = config.signal_table.as_deref() else {
        return Err(format!(
            "{} sets no signal table: add signal.data.collection=<schema.table> (a table with \
             the columns id, type and data, in the publication) and restart the stream",
            args.config.display()
        )
        .into());
    };
    let (kind, data) = match args.action {
        SignalAction::Execute => {
            if args.tables.is_empty() {
                return Err(
                    "name the tables to read, e.g. pgoutput-decoder snapshot --config \
                            c.properties public.orders"
                        .into(),
                );
            }
            let mut data = serde_json::json!({
                "data-collections": args.tables,
                "type": "incremental",
            });
            if let Some(key) = &args.surrogate_key {
                data["surrogate-key"] = key.clone().into();
            }
            if !args.condition.is_empty() {
                let mut conditions = Vec::new();
                for c in &args.condition {
                    let (t, filter) = c.split_once('=').ok_or_else(|| {
                        format!("--condition takes TABLE=SQL (e.g. public.orders=\"id > 100\"), not {c:?}")
                    })?;
                    conditions.push(serde_json::json!({"data-collection": t, "filter": filter}));
                }
                data["additional-conditions"] = conditions.into();
            }
            ("execute-snapshot", data)
        }
        SignalAction::Stop => (
            "stop-snapshot",
            serde_json::json!({"data-collections": args.tables, "type": "incremental"}),
        ),
        SignalAction::Pause => ("pause-snapshot", serde_json::json!({})),
        SignalAction::Resume => ("resume-snapshot", serde_json::json!({})),
    };
    let (schema, name) = table.split_once('.').unwrap_or(("public", table));
    let id = pgoutput_decoder::SnapshotSignal::fresh_id("cli");
    let mut conn = PgConnection::connect(&config.connection, false).await?;
    conn.execute(&format!(
        "INSERT INTO {}.{} (id, type, data) VALUES ({}, {}, {})",
        quote_ident(schema),
        quote_ident(name),
        quote_literal(&id),
        quote_literal(kind),
        quote_literal(&data.to_string())
    ))
    .await
    .map_err(|e| format!("could not write the signal to {table}: {e}"))?;
    conn.close().await;
    println!("signal {id} ({kind}) written to {table}; the running stream acts on it");
    Ok(())
}
