//! Debezium JSON encoding of events (Kafka `JsonConverter`, schemas disabled, or enabled with
//! [`JsonEncoder::with_schemas`]: then key and value are `{"schema": ..., "payload": ...}`).
//!
//! Everything is written straight into a caller's byte buffer: column values go from pgoutput's
//! text to JSON without building intermediate values. Field order follows Debezium's schemas
//! (`before, after, source, transaction, op, ts_ms, ts_us, ts_ns`).
//!
//! What a table's records share (the topic, the `schema`/`table` part of `source`, the column
//! names as JSON keys, the Kafka Connect schemas) is rendered once per relation and kept in
//! the encoder's own cache ([`TableEncoding`]), keyed by the relation OID and the schema's
//! generation: the relation cache holds only what PostgreSQL said, and a schema change
//! mid-stream (a new [`TableSchema`]) renders the table again.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock, PoisonError},
};

use base64::Engine as _;
use pgoutput::ColumnData;

use crate::{
    config::ReplicationConfig,
    connect_schema::{
        message_value_head, TableConnectSchemas, HEARTBEAT_KEY_HEAD, HEARTBEAT_VALUE_HEAD,
        MESSAGE_KEY_HEAD, TRANSACTION_KEY_HEAD, TRANSACTION_VALUE_HEAD,
    },
    event::{
        ChangeEvent, Event, EventKind, MessageEvent, Op, Row, Source, TransactionBlock,
        TransactionEvent, TransactionStatus,
    },
    relation::TableSchema,
    topic::topic_name,
    transforms::{Record, Transforms},
    types::{
        write_debezium_fallback, write_debezium_json, write_json_string,
        write_unavailable_placeholder, BinaryHandlingMode, ConvertOptions,
    },
    Result,
};

/// Written as `source.version`: this library's version (consumers treat it as opaque).
pub const SOURCE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// How each record is written by [`JsonEncoder::write_record`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecordFormat {
    /// `{"topic": ..., "key": ..., "value": ...}`, Kafka-style, tombstones included.
    #[default]
    Envelope,
    /// Only the value (Debezium's change event), no tombstones.
    Value,
}

/// Writes events as Debezium JSON.
#[derive(Debug, Clone)]
pub struct JsonEncoder {
    /// `<prefix>.message`, sanitised.
    message_topic: String,
    /// `<prefix>.transaction`, sanitised.
    transaction_topic: String,
    /// `__debezium-heartbeat.<prefix>` (or `topic.heartbeat.*`), sanitised.
    heartbeat_topic: String,
    /// `topic.prefix`: the heartbeat key's `serverName`.
    server_name: String,
    opts: ConvertOptions,
    tombstones_on_delete: bool,
    /// `"source":{"version":...,"connector":"postgresql","name":...,` — the same for every event.
    source_head: Vec<u8>,
    /// `,"db":"..."`, escaped once.
    db_json: Vec<u8>,
    /// Keys as `{"schema":..,"payload":..}` (`key.converter.schemas.enable`).
    key_schemas: bool,
    /// Values as `{"schema":..,"payload":..}` (`value.converter.schemas.enable`).
    value_schemas: bool,
    /// Single message transforms applied to every record (`transforms=...`).
    transforms: Arc<Transforms>,
    /// What each table's records share, rendered once per relation and schema generation.
    tables: Arc<TableEncodings>,
}

/// The encoder's per-relation cache.
#[derive(Debug, Default)]
struct TableEncodings {
    by_relation: Mutex<HashMap<u32, Arc<TableEncoding>>>,
}

/// What the records of one table (one schema generation) share, rendered once.
#[derive(Debug)]
struct TableEncoding {
    relation_id: u32,
    /// [`TableSchema::generation`] of the schema this was rendered from.
    generation: u64,
    /// The topic as a JSON string.
    topic_json: Box<[u8]>,
    /// `,"schema":"...","table":"..."` of the source block.
    source_table_json: Box<[u8]>,
    /// Each column's name as a JSON string, quotes and colon included, in table order.
    column_keys: Box<[Box<[u8]>]>,
    /// The Kafka Connect key and value schemas, built the first time a record of the table is
    /// written with schemas.
    connect: OnceLock<TableConnectSchemas>,
}

impl TableEncoding {
    fn new(table: &TableSchema) -> Self {
        let mut topic_json = Vec::new();
        write_json_string(&mut topic_json, &table.topic);
        let mut source_table_json = b",\"schema\":".to_vec();
        write_json_string(&mut source_table_json, &table.schema);
        source_table_json.extend_from_slice(b",\"table\":");
        write_json_string(&mut source_table_json, &table.table);
        TableEncoding {
            relation_id: table.relation_id,
            generation: table.generation(),
            topic_json: topic_json.into_boxed_slice(),
            source_table_json: source_table_json.into_boxed_slice(),
            column_keys: table.columns.iter().map(|c| json_key(&c.name)).collect(),
            connect: OnceLock::new(),
        }
    }

    /// Whether this was rendered from `table`.
    fn is_for(&self, table: &TableSchema) -> bool {
        self.relation_id == table.relation_id && self.generation == table.generation()
    }

    fn connect_schemas(&self, table: &TableSchema, opts: &ConvertOptions) -> &TableConnectSchemas {
        self.connect
            .get_or_init(|| TableConnectSchemas::build(table, opts))
    }
}

impl TableEncodings {
    /// The table's encoding, rendered now if the table (or its schema generation) is new.
    fn get(&self, table: &TableSchema) -> Arc<TableEncoding> {
        let mut tables = self
            .by_relation
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match tables.get(&table.relation_id) {
            Some(e) if e.is_for(table) => e.clone(),
            _ => {
                let e = Arc::new(TableEncoding::new(table));
                tables.insert(table.relation_id, e.clone());
                e
            }
        }
    }
}

/// A column name as a JSON object key: `"name":`.
fn json_key(name: &str) -> Box<[u8]> {
    let mut out = serde_json::to_vec(name).unwrap_or_else(|_| b"\"\"".to_vec());
    out.push(b':');
    out.into_boxed_slice()
}

impl JsonEncoder {
    /// An encoder for events of a stream with this configuration.
    pub fn new(config: &ReplicationConfig) -> Self {
        Self::with_options(
            &config.topic_prefix,
            &config.connection.dbname,
            config.convert.clone(),
            config.tombstones_on_delete,
        )
        .with_schemas(config.key_schemas_enable, config.value_schemas_enable)
        .with_transforms(config.transforms.clone())
        .with_heartbeat_topic(config.heartbeat_topic.as_deref())
    }

    /// Heartbeat records go to `topic` (`topic.heartbeat.name`, sanitised) instead of
    /// `__debezium-heartbeat.<prefix>`.
    pub fn with_heartbeat_topic(mut self, topic: Option<&str>) -> Self {
        if let Some(topic) = topic {
            self.heartbeat_topic = topic_name(&[topic]);
        }
        self
    }

    /// An encoder from its parts.
    pub fn with_options(
        prefix: &str,
        db: &str,
        opts: ConvertOptions,
        tombstones_on_delete: bool,
    ) -> Self {
        let mut source_head = Vec::new();
        source_head.extend_from_slice(b"\"source\":{\"version\":");
        write_json_string(&mut source_head, SOURCE_VERSION);
        source_head.extend_from_slice(b",\"connector\":\"postgresql\",\"name\":");
        write_json_string(&mut source_head, prefix);
        let mut db_json = b",\"db\":".to_vec();
        write_json_string(&mut db_json, db);
        JsonEncoder {
            db_json,
            message_topic: topic_name(&[prefix, "message"]),
            transaction_topic: topic_name(&[prefix, "transaction"]),
            heartbeat_topic: topic_name(&["__debezium-heartbeat", prefix]),
            server_name: prefix.to_string(),
            opts,
            tombstones_on_delete,
            source_head,
            key_schemas: false,
            value_schemas: false,
            transforms: Arc::default(),
            tables: Arc::default(),
        }
    }

    /// Applies these single message transforms to every record written (see
    /// [`crate::transforms`]); [`JsonEncoder::new`] takes them from the configuration.
    pub fn with_transforms(mut self, transforms: Transforms) -> Self {
        self.transforms = Arc::new(transforms);
        self
    }

    /// The transforms applied to every record.
    pub fn transforms(&self) -> &Transforms {
        &self.transforms
    }

    /// The Kafka records for the event, after the transforms: the event's own record, then
    /// a tombstone after a delete when `tombstones.on.delete` is on. Empty when the
    /// transforms dropped everything.
    pub fn records(&self, event: &Event) -> Result<Vec<Record>> {
        self.records_with(event, &mut None)
    }

    fn records_with(
        &self,
        event: &Event,
        memo: &mut Option<&mut RecordMemo>,
    ) -> Result<Vec<Record>> {
        let enc = self.encoding(event, memo);
        let mut key = Vec::new();
        self.write_key_with(event, enc.as_deref(), &mut key)?;
        let key = (key != b"null").then(|| utf8(key)).transpose()?;
        let mut value = Vec::new();
        self.write_value_with(event, enc.as_deref(), &mut value, memo)?;
        let value_schema = match (&event.kind, enc.as_deref()) {
            (EventKind::Change(c), Some(enc))
                if !self.value_schemas && self.transforms.needs_value_schema() =>
            {
                let heads = enc.connect_schemas(&c.table, &self.opts);
                let head = std::str::from_utf8(&heads.value_head).ok();
                head.and_then(|h| h.strip_prefix("{\"schema\":"))
                    .and_then(|h| h.strip_suffix(",\"payload\":"))
                    .map(str::to_string)
            }
            _ => None,
        };
        let record = Record {
            topic: self.topic(event),
            key,
            value: Some(utf8(value)?),
            headers: self.pk_update_headers(event, enc.as_deref())?,
            value_schema,
        };
        let is_delete = matches!(&event.kind, EventKind::Change(c) if c.op == Op::Delete);
        let tombstone = (is_delete && self.tombstones_on_delete).then(|| Record {
            value: None,
            ..record.clone()
        });
        Ok([Some(record), tombstone]
            .into_iter()
            .flatten()
            .filter_map(|r| self.transforms.apply(r))
            .collect())
    }

    /// Debezium's header on the two events of a primary-key change: the delete carries the
    /// new key as `__debezium.newkey`, the create the old key as `__debezium.oldkey`, written
    /// as Kafka's JsonConverter writes a header (with the key's schema unless
    /// `header.converter.schemas.enable=false`).
    fn pk_update_headers(
        &self,
        event: &Event,
        enc: Option<&TableEncoding>,
    ) -> Result<Vec<(String, String)>> {
        let EventKind::Change(c) = &event.kind else {
            return Ok(Vec::new());
        };
        let Some(other) = &c.pk_update_other_row else {
            return Ok(Vec::new());
        };
        let name = match c.op {
            Op::Delete => "__debezium.newkey",
            _ => "__debezium.oldkey",
        };
        let enc = self.table_encoding(&c.table, enc);
        let mut out = Vec::new();
        let head = if self.transforms.header_schemas() {
            enc.connect_schemas(&c.table, &self.opts)
                .key_head
                .as_deref()
        } else {
            None
        };
        if let Some(head) = head {
            out.extend_from_slice(head);
        }
        self.write_key_columns(&c.table, &enc, other, &mut out)?;
        if head.is_some() {
            out.push(b'}');
        }
        Ok(vec![(name.to_string(), utf8(out)?)])
    }

    /// [`write_record_with`](Self::write_record_with) through the transforms.
    fn write_transformed(
        &self,
        event: &Event,
        format: RecordFormat,
        out: &mut Vec<u8>,
        memo: &mut Option<&mut RecordMemo>,
    ) -> Result<()> {
        for record in self.records_with(event, memo)? {
            match format {
                RecordFormat::Envelope => record.write_envelope(out),
                RecordFormat::Value => {
                    // As without transforms: values only, no tombstones.
                    if let Some(value) = &record.value {
                        out.extend_from_slice(value.as_bytes());
                        out.push(b'\n');
                    }
                }
            }
        }
        Ok(())
    }

    /// Writes keys and/or values with their Kafka Connect schema, as `JsonConverter` does with
    /// `key.converter.schemas.enable` / `value.converter.schemas.enable`:
    /// `{"schema": {...}, "payload": ...}`. Null keys and tombstone values stay `null`.
    pub fn with_schemas(mut self, key: bool, value: bool) -> Self {
        self.key_schemas = key;
        self.value_schemas = value;
        self
    }

    /// Whether keys and values are written with their schema (see
    /// [`with_schemas`](Self::with_schemas)).
    pub fn schemas(&self) -> (bool, bool) {
        (self.key_schemas, self.value_schemas)
    }

    /// The conversion options used for column values.
    pub fn options(&self) -> &ConvertOptions {
        &self.opts
    }

    /// The per-relation encoding of a change event's table (from the writer's memo when the
    /// previous record was of the same table); `None` for other events.
    fn encoding(
        &self,
        event: &Event,
        memo: &mut Option<&mut RecordMemo>,
    ) -> Option<Arc<TableEncoding>> {
        let EventKind::Change(c) = &event.kind else {
            return None;
        };
        let Some(memo) = memo.as_deref_mut() else {
            return Some(self.tables.get(&c.table));
        };
        match &memo.table {
            Some(e) if e.is_for(&c.table) => Some(e.clone()),
            _ => {
                let e = self.tables.get(&c.table);
                memo.table = Some(e.clone());
                Some(e)
            }
        }
    }

    /// `enc`, or the table's encoding looked up now.
    fn table_encoding<'a>(
        &self,
        table: &TableSchema,
        enc: Option<&'a TableEncoding>,
    ) -> MaybeOwned<'a> {
        match enc {
            Some(e) if e.is_for(table) => MaybeOwned::Borrowed(e),
            _ => MaybeOwned::Owned(self.tables.get(table)),
        }
    }

    /// The topic Debezium would write this event to.
    pub fn topic(&self, event: &Event) -> String {
        match &event.kind {
            EventKind::Change(c) => c.table.topic.clone(),
            EventKind::Message(_) => self.message_topic.clone(),
            EventKind::Transaction(_) => self.transaction_topic.clone(),
            EventKind::Heartbeat(_) => self.heartbeat_topic.clone(),
        }
    }

    /// Writes the record key: primary-key columns, `{"prefix"}` for messages, `{"id"}` for
    /// transaction events, or `null`.
    pub fn write_key(&self, event: &Event, out: &mut Vec<u8>) -> Result<()> {
        self.write_key_with(event, None, out)
    }

    fn write_key_with(
        &self,
        event: &Event,
        enc: Option<&TableEncoding>,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let schemas = self.key_schemas;
        match &event.kind {
            EventKind::Change(c) => {
                let enc = self.table_encoding(&c.table, enc);
                if schemas && has_key(c) {
                    let heads = enc.connect_schemas(&c.table, &self.opts);
                    if let Some(head) = &heads.key_head {
                        out.extend_from_slice(head);
                        self.write_change_key(c, &enc, out)?;
                        out.push(b'}');
                        return Ok(());
                    }
                }
                self.write_change_key(c, &enc, out)
            }
            EventKind::Message(m) => {
                write_one_field_key(out, schemas, MESSAGE_KEY_HEAD, "prefix", &m.prefix);
                Ok(())
            }
            EventKind::Transaction(t) => {
                write_one_field_key(out, schemas, TRANSACTION_KEY_HEAD, "id", &t.id);
                Ok(())
            }
            EventKind::Heartbeat(_) => {
                write_one_field_key(
                    out,
                    schemas,
                    HEARTBEAT_KEY_HEAD,
                    "serverName",
                    &self.server_name,
                );
                Ok(())
            }
        }
    }

    fn write_change_key(
        &self,
        c: &ChangeEvent,
        enc: &TableEncoding,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let Some(row) = key_row(c) else {
            out.extend_from_slice(b"null");
            return Ok(());
        };
        self.write_key_columns(&c.table, enc, row, out)
    }

    /// `{...}` of the key columns of `row`.
    fn write_key_columns(
        &self,
        table: &TableSchema,
        enc: &TableEncoding,
        row: &Row,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        out.push(b'{');
        for (n, &i) in table.key_columns.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            self.write_column(table, enc, row, i, out)?;
        }
        out.push(b'}');
        Ok(())
    }

    /// Writes the record value (Debezium's change event).
    pub fn write_value(&self, event: &Event, out: &mut Vec<u8>) -> Result<()> {
        self.write_value_with(event, None, out, &mut None)
    }

    fn write_value_with(
        &self,
        event: &Event,
        enc: Option<&TableEncoding>,
        out: &mut Vec<u8>,
        memo: &mut Option<&mut RecordMemo>,
    ) -> Result<()> {
        let schemas = self.value_schemas;
        match &event.kind {
            EventKind::Change(c) => {
                let enc = self.table_encoding(&c.table, enc);
                if schemas {
                    out.extend_from_slice(&enc.connect_schemas(&c.table, &self.opts).value_head);
                }
                self.write_change(c, &enc, out, memo)?;
            }
            EventKind::Message(m) => {
                if schemas {
                    out.extend_from_slice(message_value_head(self.opts.binary_handling_mode));
                }
                self.write_message(m, out, memo)?;
            }
            EventKind::Transaction(t) => {
                if schemas {
                    out.extend_from_slice(TRANSACTION_VALUE_HEAD.as_bytes());
                }
                write_transaction(t, out);
            }
            EventKind::Heartbeat(h) => {
                if schemas {
                    out.extend_from_slice(HEARTBEAT_VALUE_HEAD.as_bytes());
                }
                out.extend_from_slice(b"{\"ts_ms\":");
                out.extend_from_slice(h.ts_us.div_euclid(1000).to_string().as_bytes());
                out.push(b'}');
            }
        }
        if schemas {
            out.push(b'}');
        }
        Ok(())
    }

    /// Writes one output line for the event (and a tombstone line after a delete when
    /// `tombstones.on.delete` is on and the format is [`RecordFormat::Envelope`]).
    pub fn write_record(
        &self,
        event: &Event,
        format: RecordFormat,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        self.write_record_with(event, format, out, &mut None)
    }

    /// A writer for many records in a row: what consecutive events of one transaction share
    /// (most of `source`) is rendered once. Same output as [`write_record`](Self::write_record).
    ///
    /// ```no_run
    /// # use pgoutput_decoder::{conn::ConnectParams, ChangeStream, JsonEncoder, RecordFormat, ReplicationConfig};
    /// # async fn run(config: ReplicationConfig) -> pgoutput_decoder::Result<()> {
    /// let encoder = JsonEncoder::new(&config);
    /// let mut records = encoder.record_writer();
    /// let mut stream = ChangeStream::connect(config).await?;
    /// while let Some(batch) = stream.next_batch().await? {
    ///     let mut out = Vec::new();
    ///     for event in &batch {
    ///         records.write_record(event, RecordFormat::Envelope, &mut out)?;
    ///     }
    ///     // ... hand `out` to your sink; once it is durable:
    ///     if let Some(last) = batch.last() {
    ///         stream.ack(last);
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn record_writer(&self) -> RecordWriter<'_> {
        RecordWriter {
            encoder: self,
            memo: RecordMemo::default(),
        }
    }

    fn write_record_with(
        &self,
        event: &Event,
        format: RecordFormat,
        out: &mut Vec<u8>,
        memo: &mut Option<&mut RecordMemo>,
    ) -> Result<()> {
        if !self.transforms.is_empty() || has_pk_update_headers(event) {
            return self.write_transformed(event, format, out, memo);
        }
        let enc = self.encoding(event, memo);
        let enc = enc.as_deref();
        match format {
            RecordFormat::Value => {
                self.write_value_with(event, enc, out, memo)?;
                out.push(b'\n');
            }
            RecordFormat::Envelope => {
                let start = out.len();
                out.extend_from_slice(b"{\"topic\":");
                match enc {
                    // The common case without building a String per event.
                    Some(enc) => out.extend_from_slice(&enc.topic_json),
                    None => write_json_string(out, &self.topic(event)),
                }
                out.extend_from_slice(b",\"key\":");
                self.write_key_with(event, enc, out)?;
                let key_end = out.len();
                out.extend_from_slice(b",\"value\":");
                self.write_value_with(event, enc, out, memo)?;
                out.extend_from_slice(b"}\n");
                let is_delete = matches!(&event.kind, EventKind::Change(c) if c.op == Op::Delete);
                if is_delete && self.tombstones_on_delete {
                    // Same topic and key, null value: what compaction in Kafka needs.
                    let head = out[start..key_end].to_vec();
                    out.extend_from_slice(&head);
                    out.extend_from_slice(b",\"value\":null}\n");
                }
            }
        }
        Ok(())
    }

    fn write_row(
        &self,
        table: &TableSchema,
        enc: &TableEncoding,
        row: Option<&Row>,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let Some(row) = row else {
            out.extend_from_slice(b"null");
            return Ok(());
        };
        out.push(b'{');
        for (n, &i) in table.value_columns.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            self.write_column(table, enc, row, i, out)?;
        }
        out.push(b'}');
        Ok(())
    }

    fn write_column(
        &self,
        table: &TableSchema,
        enc: &TableEncoding,
        row: &Row,
        i: usize,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let col = &table.columns[i];
        out.extend_from_slice(&enc.column_keys[i]);
        match row.raw(i) {
            // Debezium fills NOT NULL columns that a key-only image did not carry with the
            // column's default, or the type's zero ("", 0, false, ...); sinks with NOT NULL
            // columns rely on it.
            None | Some(ColumnData::Null) if row.key_only && col.not_null => match &col.default {
                Some(default) => write_debezium_json(out, &col.ty, default, &self.opts)?,
                None => write_debezium_fallback(out, &col.ty, &self.opts),
            },
            None | Some(ColumnData::Null) => out.extend_from_slice(b"null"),
            Some(ColumnData::UnchangedToast) => {
                write_unavailable_placeholder(out, &col.ty, &self.opts)
            }
            Some(ColumnData::Text(text)) => write_debezium_json(out, &col.ty, text, &self.opts)?,
            Some(ColumnData::Binary(_)) => {
                return Err(crate::Error::new(
                    crate::ErrorKind::Decoding,
                    "binary-format column values are not supported",
                ))
            }
        }
        Ok(())
    }

    fn write_source(
        &self,
        table: Option<&TableEncoding>,
        source: &Source,
        out: &mut Vec<u8>,
        memo: &mut Option<&mut RecordMemo>,
    ) {
        out.extend_from_slice(&self.source_head);
        let mut lsn = itoa::Buffer::new();
        // As Debezium's int64, like every LSN here.
        let lsn = lsn.format(source.lsn.0 as i64).as_bytes();
        let key = (
            source.commit_time_us,
            source.tx_id,
            source.last_commit_lsn,
            source.snapshot,
        );
        let mut memo = memo.as_deref_mut();
        put(
            memo.as_mut().map(|m| &mut m.source_before_lsn),
            key,
            out,
            |o| self.write_source_before_lsn(source, o),
        );
        out.extend_from_slice(lsn);
        put(memo.as_mut().map(|m| &mut m.source_times), key, out, |o| {
            write_source_times(source, o)
        });
        write_source_table(table, out);
        put(memo.map(|m| &mut m.source_tx), key, out, |o| {
            write_source_tx(source, o)
        });
        out.extend_from_slice(lsn);
        out.extend_from_slice(b",\"xmin\":null,\"origin\":null,\"origin_lsn\":null}");
    }

    /// `source` from after its head up to the LSN in `sequence`.
    fn write_source_before_lsn(&self, source: &Source, out: &mut Vec<u8>) {
        out.extend_from_slice(b",\"ts_ms\":");
        push_int(out, source.commit_time_us.div_euclid(1000));
        out.extend_from_slice(b",\"snapshot\":");
        write_json_string(out, source.snapshot);
        out.extend_from_slice(&self.db_json);
        // Debezium's sequence is a string holding a JSON array of two LSN strings.
        out.extend_from_slice(b",\"sequence\":\"[");
        match source.last_commit_lsn {
            Some(l) => {
                out.extend_from_slice(b"\\\"");
                push_int(out, l.0 as i64);
                out.extend_from_slice(b"\\\"");
            }
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\\\"");
    }

    fn write_change(
        &self,
        c: &ChangeEvent,
        enc: &TableEncoding,
        out: &mut Vec<u8>,
        memo: &mut Option<&mut RecordMemo>,
    ) -> Result<()> {
        let table = &*c.table;
        out.extend_from_slice(b"{\"before\":");
        self.write_row(table, enc, c.before.as_ref(), out)?;
        out.extend_from_slice(b",\"after\":");
        self.write_row(table, enc, c.after.as_ref(), out)?;
        out.push(b',');
        self.write_source(Some(enc), &c.source, out, memo);
        out.extend_from_slice(b",\"transaction\":");
        write_transaction_block(c.transaction.as_ref(), out);
        out.extend_from_slice(b",\"op\":\"");
        out.extend_from_slice(c.op.code().as_bytes());
        out.push(b'"');
        put(
            memo.as_deref_mut().map(|m| &mut m.processed),
            c.ts_us,
            out,
            |o| write_processing_time(c.ts_us, true, o),
        );
        out.push(b'}');
        Ok(())
    }

    fn write_message(
        &self,
        m: &MessageEvent,
        out: &mut Vec<u8>,
        memo: &mut Option<&mut RecordMemo>,
    ) -> Result<()> {
        // Debezium's message value has no ts_us/ts_ns, and its field order differs.
        out.extend_from_slice(b"{\"op\":\"m\"");
        write_processing_time(m.ts_us, false, out);
        out.push(b',');
        self.write_source(None, &m.source, out, memo);
        out.extend_from_slice(b",\"transaction\":");
        write_transaction_block(m.transaction.as_ref(), out);
        out.extend_from_slice(b",\"message\":{\"prefix\":");
        write_json_string(out, &m.prefix);
        out.extend_from_slice(b",\"content\":");
        write_binary(out, &m.content, self.opts.binary_handling_mode);
        out.extend_from_slice(b"}}");
        Ok(())
    }
}

/// `\"]"` closing `sequence`, then `ts_us` and `ts_ns` of `source`.
fn write_source_times(source: &Source, out: &mut Vec<u8>) {
    out.extend_from_slice(b"\\\"]\"");
    out.extend_from_slice(b",\"ts_us\":");
    push_int(out, source.commit_time_us);
    out.extend_from_slice(b",\"ts_ns\":");
    push_int(out, source.commit_time_us.saturating_mul(1000));
}

fn write_source_table(table: Option<&TableEncoding>, out: &mut Vec<u8>) {
    match table {
        Some(t) => out.extend_from_slice(&t.source_table_json),
        None => out.extend_from_slice(b",\"schema\":\"\",\"table\":\"\""),
    }
}

/// `txId`, then the key of `lsn`.
fn write_source_tx(source: &Source, out: &mut Vec<u8>) {
    out.extend_from_slice(b",\"txId\":");
    match source.tx_id {
        Some(x) => push_int(out, i64::from(x)),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"lsn\":");
}

/// Writes records one after another, rendering what consecutive events share once (from
/// [`JsonEncoder::record_writer`]).
#[derive(Debug)]
pub struct RecordWriter<'a> {
    encoder: &'a JsonEncoder,
    memo: RecordMemo,
}

impl RecordWriter<'_> {
    /// Same as [`JsonEncoder::write_record`].
    pub fn write_record(
        &mut self,
        event: &Event,
        format: RecordFormat,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        self.encoder
            .write_record_with(event, format, out, &mut Some(&mut self.memo))
    }

    /// Same as [`JsonEncoder::records`].
    pub fn records(&mut self, event: &Event) -> Result<Vec<Record>> {
        self.encoder.records_with(event, &mut Some(&mut self.memo))
    }
}

/// A key of one string field, `{"<field>":"<value>"}`, inside its schema wrapper (`head`, the
/// wrapper's opening up to `"payload":`) when `schemas` is on.
fn write_one_field_key(out: &mut Vec<u8>, schemas: bool, head: &str, field: &str, value: &str) {
    if schemas {
        out.extend_from_slice(head.as_bytes());
    }
    out.push(b'{');
    write_json_string(out, field);
    out.push(b':');
    write_json_string(out, value);
    out.push(b'}');
    if schemas {
        out.push(b'}');
    }
}

fn utf8(bytes: Vec<u8>) -> Result<String> {
    String::from_utf8(bytes).map_err(|_| {
        crate::Error::new(
            crate::ErrorKind::Decoding,
            "the encoder wrote JSON that is not UTF-8",
        )
    })
}

/// The commit time, txId, last commit LSN and snapshot flag: what the cached parts of
/// `source` depend on.
type SourceKey = (i64, Option<u32>, Option<pgoutput::Lsn>, &'static str);

/// The parts of the last record written that the next one is likely to repeat.
#[derive(Debug, Default)]
struct RecordMemo {
    source_before_lsn: Rendered<SourceKey>,
    source_times: Rendered<SourceKey>,
    source_tx: Rendered<SourceKey>,
    /// The processing-time fields, by processing time.
    processed: Rendered<i64>,
    /// The encoding of the last change event's table: consecutive changes of one table skip
    /// the encoder's cache.
    table: Option<Arc<TableEncoding>>,
}

/// A table's encoding, borrowed from the caller or looked up.
enum MaybeOwned<'a> {
    Borrowed(&'a TableEncoding),
    Owned(Arc<TableEncoding>),
}

impl std::ops::Deref for MaybeOwned<'_> {
    type Target = TableEncoding;

    fn deref(&self) -> &TableEncoding {
        match self {
            MaybeOwned::Borrowed(e) => e,
            MaybeOwned::Owned(e) => e,
        }
    }
}

/// Bytes rendered for a key, rendered again only when the key changes.
#[derive(Debug)]
struct Rendered<K> {
    key: Option<K>,
    bytes: Vec<u8>,
}

impl<K> Default for Rendered<K> {
    fn default() -> Self {
        Rendered {
            key: None,
            bytes: Vec::new(),
        }
    }
}

/// Writes what `render` writes for `key`: through `slot`, which renders it only when the key
/// differs from last time, or straight into `out` without one.
fn put<K: PartialEq>(
    slot: Option<&mut Rendered<K>>,
    key: K,
    out: &mut Vec<u8>,
    render: impl FnOnce(&mut Vec<u8>),
) {
    let Some(slot) = slot else {
        render(out);
        return;
    };
    if slot.key.as_ref() != Some(&key) {
        slot.bytes.clear();
        render(&mut slot.bytes);
        slot.key = Some(key);
    }
    out.extend_from_slice(&slot.bytes);
}

/// The row the record key is taken from; `None` when the key is null (truncates, tables
/// without key columns).
fn key_row(c: &ChangeEvent) -> Option<&Row> {
    match (c.op, c.key_row()) {
        (Op::Truncate, _) | (_, None) => None,
        (_, Some(row)) if !c.table.key_columns.is_empty() => Some(row),
        _ => None,
    }
}

/// Whether the event's record has a header of a primary-key change (see
/// [`JsonEncoder::pk_update_headers`]).
fn has_pk_update_headers(event: &Event) -> bool {
    matches!(&event.kind, EventKind::Change(c) if c.pk_update_other_row.is_some()
        && !c.table.key_columns.is_empty())
}

fn has_key(c: &ChangeEvent) -> bool {
    key_row(c).is_some()
}

fn write_processing_time(ts_us: i64, fine: bool, out: &mut Vec<u8>) {
    out.extend_from_slice(b",\"ts_ms\":");
    push_int(out, ts_us.div_euclid(1000));
    if fine {
        out.extend_from_slice(b",\"ts_us\":");
        push_int(out, ts_us);
        out.extend_from_slice(b",\"ts_ns\":");
        push_int(out, ts_us.saturating_mul(1000));
    }
}

fn write_transaction_block(block: Option<&TransactionBlock>, out: &mut Vec<u8>) {
    let Some(t) = block else {
        out.extend_from_slice(b"null");
        return;
    };
    out.extend_from_slice(b"{\"id\":");
    write_json_string(out, &t.id);
    out.extend_from_slice(b",\"total_order\":");
    push_int(out, t.total_order as i64);
    out.extend_from_slice(b",\"data_collection_order\":");
    push_int(out, t.data_collection_order as i64);
    out.push(b'}');
}

fn write_transaction(t: &TransactionEvent, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"status\":");
    out.extend_from_slice(match t.status {
        TransactionStatus::Begin => b"\"BEGIN\"",
        TransactionStatus::End => b"\"END\"",
    });
    out.extend_from_slice(b",\"id\":");
    write_json_string(out, &t.id);
    out.extend_from_slice(b",\"event_count\":");
    match t.event_count {
        Some(n) => push_int(out, n as i64),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"data_collections\":");
    if t.status == TransactionStatus::Begin {
        out.extend_from_slice(b"null");
    } else {
        out.push(b'[');
        for (i, (name, count)) in t.data_collections.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"data_collection\":");
            write_json_string(out, name);
            out.extend_from_slice(b",\"event_count\":");
            push_int(out, *count as i64);
            out.push(b'}');
        }
        out.push(b']');
    }
    out.extend_from_slice(b",\"ts_ms\":");
    push_int(out, t.commit_time_us.div_euclid(1000));
    out.push(b'}');
}

fn write_binary(out: &mut Vec<u8>, bytes: &[u8], mode: BinaryHandlingMode) {
    let text = match mode {
        BinaryHandlingMode::Bytes | BinaryHandlingMode::Base64 => {
            base64::engine::general_purpose::STANDARD.encode(bytes)
        }
        BinaryHandlingMode::Base64UrlSafe => {
            base64::engine::general_purpose::URL_SAFE.encode(bytes)
        }
        BinaryHandlingMode::Hex => bytes.iter().map(|b| format!("{b:02x}")).collect(),
    };
    write_json_string(out, &text);
}

fn push_int(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;
    use pgoutput::{Lsn, ReplicaIdentity};

    use super::*;
    use crate::{
        relation::ColumnSchema,
        test_tables::{id_text_row, id_text_table},
        types::{ConvertOptions, TypeRegistry},
    };

    fn table(name: &str) -> Arc<TableSchema> {
        id_text_table(name, "note", ReplicaIdentity::Default, "srv")
    }

    fn row(id: &str, note: &str) -> Row {
        id_text_row(id, note)
    }

    fn change(op: Op, table: &Arc<TableSchema>, id: &str, tx: (u32, i64, u64), lsn: u64) -> Event {
        let (xid, commit_us, last_commit) = tx;
        let image = Some(row(id, "a \"quoted\" note"));
        let (before, after) = if op == Op::Delete {
            (image, None)
        } else {
            (None, image)
        };
        Event {
            kind: EventKind::Change(ChangeEvent {
                op,
                table: table.clone(),
                before,
                after,
                source: Source {
                    lsn: Lsn(lsn),
                    tx_id: Some(xid),
                    commit_time_us: commit_us,
                    last_commit_lsn: (last_commit > 0).then_some(Lsn(last_commit)),
                    snapshot: "false",
                },
                transaction: None,
                ts_us: 1_700_000_000_000_000 + lsn as i64 / 2,
                pk_update_other_row: None,
            }),
            seq: lsn,
        }
    }

    /// A record writer remembers parts of the last record; what it writes must not depend on
    /// what came before.
    #[test]
    fn a_record_writer_writes_what_write_record_writes() {
        let (a, b) = (table("a"), table("b"));
        let message = Event {
            kind: EventKind::Message(MessageEvent {
                prefix: "p".into(),
                content: Bytes::from_static(b"hello"),
                transactional: false,
                source: Source {
                    lsn: Lsn(500),
                    tx_id: None,
                    commit_time_us: 1_700_000_000_500_000,
                    last_commit_lsn: Some(Lsn(400)),
                    snapshot: "false",
                },
                transaction: None,
                ts_us: 1_700_000_000_500_001,
            }),
            seq: 5,
        };
        let events = vec![
            change(Op::Create, &a, "1", (7, 1_700_000_000_000_001, 0), 100),
            change(Op::Create, &b, "2", (7, 1_700_000_000_000_001, 0), 102),
            change(Op::Create, &a, "3", (7, 1_700_000_000_000_001, 0), 102),
            change(Op::Delete, &a, "3", (8, 1_700_000_000_000_009, 300), 310),
            message,
            change(
                Op::Update,
                &b,
                "4",
                (9, 1_700_000_000_000_009, 500),
                9_000_000_000,
            ),
        ];
        for (key, value) in [(false, false), (true, true)] {
            let encoder = JsonEncoder::with_options("srv", "db", ConvertOptions::default(), true)
                .with_schemas(key, value);
            for format in [RecordFormat::Envelope, RecordFormat::Value] {
                let mut writer = encoder.record_writer();
                let (mut expected, mut written) = (Vec::new(), Vec::new());
                for e in &events {
                    encoder.write_record(e, format, &mut expected).unwrap();
                    writer.write_record(e, format, &mut written).unwrap();
                }
                assert_eq!(
                    String::from_utf8(written).unwrap(),
                    String::from_utf8(expected).unwrap()
                );
            }
        }
    }

    /// The encoder's per-relation cache follows schema changes: a new `TableSchema` of the
    /// same relation (same OID, other columns) is rendered anew, in the topic, the column keys
    /// and the Connect schemas, by the encoder and by a record writer.
    #[test]
    fn a_schema_change_renders_the_table_again() {
        let before = table("t");
        let registry = TypeRegistry::new();
        let after = Arc::new(TableSchema::new(
            before.relation_id,
            "public".into(),
            "t".into(),
            [("id", 23), ("renamed", 25)]
                .iter()
                .map(|&(n, oid)| ColumnSchema::new(n, registry.resolve(oid, -1), oid, -1))
                .collect(),
            &["renamed".into()],
            ReplicaIdentity::Default,
            "other",
        ));
        assert_ne!(before.generation(), after.generation());
        let copy = Arc::new((*after).clone());
        assert_ne!(copy.generation(), after.generation());
        let events = [
            change(Op::Create, &before, "1", (7, 1_700_000_000_000_001, 0), 100),
            change(
                Op::Create,
                &after,
                "2",
                (8, 1_700_000_000_000_002, 100),
                200,
            ),
            change(Op::Create, &copy, "3", (9, 1_700_000_000_000_003, 200), 300),
        ];
        let encoder = JsonEncoder::with_options("srv", "db", ConvertOptions::default(), true)
            .with_schemas(true, true);
        let mut writer = encoder.record_writer();
        for e in &events {
            // A fresh encoder has nothing cached.
            let fresh = JsonEncoder::with_options("srv", "db", ConvertOptions::default(), true)
                .with_schemas(true, true);
            let (mut expected, mut cached, mut written) = (Vec::new(), Vec::new(), Vec::new());
            fresh
                .write_record(e, RecordFormat::Envelope, &mut expected)
                .unwrap();
            encoder
                .write_record(e, RecordFormat::Envelope, &mut cached)
                .unwrap();
            writer
                .write_record(e, RecordFormat::Envelope, &mut written)
                .unwrap();
            assert_eq!(cached, expected);
            assert_eq!(written, expected);
        }
        let mut out = Vec::new();
        encoder
            .write_record(&events[1], RecordFormat::Envelope, &mut out)
            .unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(out.starts_with(r#"{"topic":"other.public.t","#), "{out}");
        assert!(out.contains(r#""name":"other.public.t.Key""#), "{out}");
        assert!(out.contains(r#""after":{"id":2,"renamed":"#), "{out}");
    }

    /// A primary-key change (delete of the old key, create of the new one) carries Debezium's
    /// headers: the new key on the delete and its tombstone, the old key on the create; with
    /// the key schema unless `header.converter.schemas.enable=false`. The CLI's envelope
    /// shows them too.
    #[test]
    fn a_primary_key_change_carries_the_other_key_in_a_header() {
        let t = table("t");
        let tx = (7, 1_700_000_000_000_001, 0);
        let mut delete = change(Op::Delete, &t, "1", tx, 100);
        let mut create = change(Op::Create, &t, "2", tx, 100);
        create.seq = 101;
        for (event, other) in [(&mut delete, "2"), (&mut create, "1")] {
            let EventKind::Change(c) = &mut event.kind else {
                unreachable!()
            };
            c.pk_update_other_row = Some(row(other, "x"));
        }
        let key_schema = r#"{"type":"struct","fields":[{"type":"int32","optional":true,"field":"id"}],"optional":false,"name":"srv.public.t.Key"}"#;
        for header_schemas in [true, false] {
            let props = [(
                "header.converter.schemas.enable".to_string(),
                header_schemas.to_string(),
            )];
            let encoder = JsonEncoder::with_options("srv", "db", ConvertOptions::default(), true)
                .with_transforms(Transforms::from_properties(&props).unwrap());
            let header = |key: &str| {
                if header_schemas {
                    format!(r#"{{"schema":{key_schema},"payload":{key}}}"#)
                } else {
                    key.to_string()
                }
            };
            let records = encoder.records(&delete).unwrap();
            assert_eq!(records.len(), 2, "the delete and its tombstone");
            for r in &records {
                assert_eq!(r.key.as_deref(), Some(r#"{"id":1}"#));
                assert_eq!(
                    r.headers,
                    [("__debezium.newkey".to_string(), header(r#"{"id":2}"#))]
                );
            }
            let records = encoder.records(&create).unwrap();
            assert_eq!(records.len(), 1);
            assert_eq!(records[0].key.as_deref(), Some(r#"{"id":2}"#));
            assert_eq!(
                records[0].headers,
                [("__debezium.oldkey".to_string(), header(r#"{"id":1}"#))]
            );
            let mut out = Vec::new();
            encoder
                .write_record(&create, RecordFormat::Envelope, &mut out)
                .unwrap();
            let line = String::from_utf8(out).unwrap();
            let expected_end = format!(
                r#","headers":{{"__debezium.oldkey":{}}}}}"#,
                header(r#"{"id":1}"#)
            );
            assert!(line.trim_end().ends_with(&expected_end), "{line}");
        }
        // Without transforms configured at all, header schemas are on (JsonConverter's default).
        let plain = JsonEncoder::with_options("srv", "db", ConvertOptions::default(), true);
        let records = plain.records(&create).unwrap();
        assert!(records[0].headers[0].1.starts_with(r#"{"schema":"#));
    }

    /// A heartbeat is Debezium's record on `__debezium-heartbeat.<prefix>`: key
    /// `{"serverName"}`, value `{"ts_ms"}`, with their Connect schemas when enabled.
    #[test]
    fn a_heartbeat_is_debeziums_heartbeat_record() {
        use crate::event::HeartbeatEvent;
        let beat = Event {
            kind: EventKind::Heartbeat(HeartbeatEvent {
                ts_us: 1_700_000_000_123_456,
                lsn: Lsn(400),
            }),
            seq: 9,
        };
        let plain = JsonEncoder::with_options("shop", "db", ConvertOptions::default(), true);
        let records = plain.records(&beat).unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].topic, "__debezium-heartbeat.shop");
        assert_eq!(records[0].key.as_deref(), Some(r#"{"serverName":"shop"}"#));
        assert_eq!(
            records[0].value.as_deref(),
            Some(r#"{"ts_ms":1700000000123}"#)
        );
        let with_schemas = plain.clone().with_schemas(true, true);
        let records = with_schemas.records(&beat).unwrap();
        assert_eq!(
            records[0].key.as_deref(),
            Some(concat!(
                r#"{"schema":{"type":"struct","fields":[{"type":"string","optional":false,"#,
                r#""field":"serverName"}],"optional":false,"#,
                r#""name":"io.debezium.connector.common.ServerNameKey","version":1},"#,
                r#""payload":{"serverName":"shop"}}"#
            ))
        );
        assert_eq!(
            records[0].value.as_deref(),
            Some(concat!(
                r#"{"schema":{"type":"struct","fields":[{"type":"int64","optional":false,"#,
                r#""field":"ts_ms"}],"optional":false,"#,
                r#""name":"io.debezium.connector.common.Heartbeat","version":1},"#,
                r#""payload":{"ts_ms":1700000000123}}"#
            ))
        );
        let renamed = plain.with_heartbeat_topic(Some("beats/shop"));
        assert_eq!(renamed.records(&beat).unwrap()[0].topic, "beats_shop");
    }
}
