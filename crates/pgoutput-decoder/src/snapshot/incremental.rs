//! Incremental (ad-hoc) snapshots while streaming, DBLog-style: the I/O side.
//!
//! Asked for through the signal table (`signal.data.collection`, Debezium's
//! `execute-snapshot` rows) or the APIs. Each table is read in chunks by key
//! (`incremental.snapshot.chunk.size`) on a side connection, each chunk between a low and a
//! high watermark written with `pg_logical_emit_message` (nothing is written to user tables);
//! the replication core ([`crate::replication::Window`]) drops the chunk rows the stream
//! changed inside the window and emits the rest as reads marked `incremental` at the high
//! watermark.
//!
//! Bad requests (a table that is not published, a table without a key, broken JSON) are
//! logged and skipped: streaming goes on.

use std::collections::VecDeque;

use pgoutput::Lsn;

use super::{
    copy_text::RowParser,
    progress,
    signal::{signal_of, SnapshotSignal},
    tables,
    tables::SnapshotTable,
};
use crate::{
    config::ReplicationConfig,
    conn::{quote_ident, quote_literal, PgConnection},
    event::{Event, EventKind, Op, Row},
    replication::{ReplicationCore, Window, WATERMARK_PREFIX},
    types::TypeRegistry,
    Error, Result,
};

/// One table to read: waiting, or (with `last`/`max`) part-way, as kept in the progress file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pending {
    request: String,
    table: String,
    condition: Option<String>,
    surrogate_key: Option<String>,
    /// The key of the last row whose read was acknowledged (resuming after it).
    last: Option<Vec<String>>,
    /// The largest key when the table's reading began.
    max: Option<Vec<String>>,
}

impl Pending {
    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "request": self.request,
            "table": self.table,
            "condition": self.condition,
            "surrogate_key": self.surrogate_key,
            "last": self.last,
            "max": self.max,
        })
    }

    fn from_json(v: &serde_json::Value) -> Option<Pending> {
        let text = |k: &str| v.get(k).and_then(|t| t.as_str()).map(str::to_string);
        let key = |k: &str| -> Option<Option<Vec<String>>> {
            match v.get(k) {
                None | Some(serde_json::Value::Null) => Some(None),
                Some(serde_json::Value::Array(items)) => items
                    .iter()
                    .map(|i| i.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
                    .map(Some),
                Some(_) => None,
            }
        };
        Some(Pending {
            request: text("request")?,
            table: text("table")?,
            condition: text("condition"),
            surrogate_key: text("surrogate_key"),
            last: key("last")?,
            max: key("max")?,
        })
    }
}

/// The table being read.
struct Reading {
    request: String,
    surrogate_key: Option<String>,
    table: SnapshotTable,
    key_columns: Vec<usize>,
    /// The key of the last row read (text per key column), `None` before the first chunk.
    last: Option<Vec<String>>,
    /// The largest key when the table's reading began: rows added later are streamed.
    max: Vec<String>,
    condition: Option<String>,
    rows: u64,
}

/// A chunk read between watermarks, waiting for its high watermark.
struct Chunk {
    rows: Vec<Row>,
    last: Option<Vec<String>>,
    full: bool,
}

/// The incremental snapshot state of one stream.
pub(crate) struct Incremental {
    conn: Option<PgConnection>,
    registry: TypeRegistry,
    pending: VecDeque<Pending>,
    reading: Option<Reading>,
    chunk: Option<Chunk>,
    paused: bool,
    windows: u64,
    /// The id of the window whose watermarks are awaited.
    window_id: String,
    /// Transactions the stream delivered lately (their XIDs), newest last: a chunk's read
    /// must see them.
    committed: VecDeque<u32>,
    /// Where the progress is kept (`None`: not kept).
    file: Option<std::path::PathBuf>,
    /// The work left after each closed window, by the sequence number of the window's last
    /// event: written to the file once that event is acknowledged.
    checkpoints: VecDeque<(u64, Vec<Pending>)>,
    /// The work left as the file says.
    durable: Vec<Pending>,
    /// Tells this process's watermarks from another's.
    run: String,
    parser: RowParser,
}

impl Default for Incremental {
    fn default() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        Incremental {
            conn: None,
            registry: TypeRegistry::new(),
            pending: VecDeque::new(),
            reading: None,
            chunk: None,
            paused: false,
            windows: 0,
            window_id: String::new(),
            committed: VecDeque::new(),
            file: None,
            checkpoints: VecDeque::new(),
            durable: Vec::new(),
            run: format!("{}-{nanos:x}", std::process::id()),
            parser: RowParser::default(),
        }
    }
}

impl Incremental {
    /// Whether there is work to do and nothing stops it: the stream should open a window.
    pub(crate) fn wants_window(&self, core: &ReplicationCore) -> bool {
        !self.paused
            && self.chunk.is_none()
            && !core.window_pending()
            && (self.reading.is_some() || !self.pending.is_empty())
    }

    /// Takes the signals among `events` (rows inserted into the signal table).
    pub(crate) fn scan(&mut self, config: &ReplicationConfig, events: &[Event]) {
        let Some(signal_table) = config.signal_table.as_deref() else {
            return;
        };
        for event in events {
            let EventKind::Change(change) = &event.kind else {
                continue;
            };
            if change.op != Op::Create || change.table.data_collection != signal_table {
                continue;
            }
            match signal_of(change) {
                Ok(Some(signal)) => self.signal(signal),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "signal ignored"),
            }
        }
    }

    /// Acts on a signal.
    pub(crate) fn signal(&mut self, signal: SnapshotSignal) {
        match signal {
            SnapshotSignal::Execute {
                id,
                tables,
                conditions,
                surrogate_key,
            } => {
                tracing::info!(signal = %id, tables = ?tables, "incremental snapshot requested");
                let known = |p: &Pending| p.request == id;
                if self.pending.iter().any(known)
                    || self.reading.as_ref().is_some_and(|r| r.request == id)
                {
                    // The same signal row again (delivered again after a restart).
                    return;
                }
                let added: Vec<Pending> = tables
                    .into_iter()
                    .map(|table| Pending {
                        condition: conditions
                            .iter()
                            .find(|(t, _)| *t == table)
                            .map(|(_, f)| f.clone()),
                        request: id.clone(),
                        table,
                        surrogate_key: surrogate_key.clone(),
                        last: None,
                        max: None,
                    })
                    .collect();
                self.pending.extend(added.iter().cloned());
                self.amend(|left| left.extend(added.iter().cloned()));
            }
            SnapshotSignal::Stop { tables } => {
                let all = tables.is_empty();
                self.amend(|left| left.retain(|p| !all && !tables.contains(&p.table)));
                if tables.is_empty() {
                    self.pending.clear();
                    self.reading = None;
                } else {
                    self.pending.retain(|p| !tables.contains(&p.table));
                    if self
                        .reading
                        .as_ref()
                        .is_some_and(|r| tables.iter().any(|t| t == r.table.name()))
                    {
                        self.reading = None;
                    }
                }
                tracing::info!(tables = ?tables, "incremental snapshot stopped");
            }
            SnapshotSignal::Pause => {
                self.paused = true;
                tracing::info!("incremental snapshot paused");
            }
            SnapshotSignal::Resume => {
                self.paused = false;
                tracing::info!("incremental snapshot resumed");
            }
        }
    }

    /// Incremental snapshot state kept in `file`: what an earlier run left unfinished is
    /// resumed (after the last chunk whose reads were acknowledged).
    pub(crate) fn resume_from(file: std::path::PathBuf) -> Incremental {
        let mut inc = Incremental::default();
        match progress::read_json(&file, "incremental snapshot progress file") {
            Ok(None) => {}
            Ok(Some(json)) => {
                let parsed = json.get("tables").and_then(|t| {
                    t.as_array()?
                        .iter()
                        .map(Pending::from_json)
                        .collect::<Option<Vec<_>>>()
                });
                match parsed {
                    Some(left) => {
                        if !left.is_empty() {
                            let tables: Vec<&str> = left.iter().map(|p| p.table.as_str()).collect();
                            tracing::info!(tables = ?tables, file = %file.display(), "resuming an incremental snapshot left unfinished");
                        }
                        inc.pending = left.iter().cloned().collect();
                        inc.durable = left;
                    }
                    None => {
                        tracing::warn!(file = %file.display(), "the incremental snapshot progress file is not valid; ignoring it (ask for the snapshot again)")
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "ignoring the incremental snapshot progress file"),
        }
        inc.file = Some(file);
        inc
    }

    /// The work left now: the table being read (from after its last chunk) and those waiting.
    fn left(&self) -> Vec<Pending> {
        let mut out: Vec<Pending> = self
            .reading
            .iter()
            .map(|r| Pending {
                request: r.request.clone(),
                table: r.table.name().to_string(),
                condition: r.condition.clone(),
                surrogate_key: r.surrogate_key.clone(),
                last: r.last.clone(),
                max: Some(r.max.clone()),
            })
            .collect();
        out.extend(self.pending.iter().cloned());
        out
    }

    /// Whether progress waits for acknowledgements before it can be written.
    pub(crate) fn has_checkpoints(&self) -> bool {
        !self.checkpoints.is_empty()
    }

    /// Writes the progress the consumer's acknowledgements (through `acked_seq`) make
    /// durable, if it changed.
    pub(crate) fn persist(&mut self, acked_seq: u64) {
        let mut newest = None;
        while self
            .checkpoints
            .front()
            .is_some_and(|(seq, _)| *seq <= acked_seq)
        {
            newest = self.checkpoints.pop_front().map(|(_, left)| left);
        }
        if let Some(left) = newest {
            if left != self.durable {
                self.durable = left;
                self.write();
            }
        }
    }

    fn write(&self) {
        let Some(file) = &self.file else {
            return;
        };
        let tables: Vec<serde_json::Value> = self.durable.iter().map(Pending::to_json).collect();
        if let Err(e) = super::progress::write_json(file, &serde_json::json!({ "tables": tables }))
        {
            tracing::warn!(error = %e, "could not keep the incremental snapshot's progress");
        }
    }

    /// Applies a change of the work list to every recorded state (durable and pending
    /// checkpoints), so that a restart knows about requests made since.
    fn amend(&mut self, change: impl Fn(&mut Vec<Pending>)) {
        change(&mut self.durable);
        for (_, left) in self.checkpoints.iter_mut() {
            change(left);
        }
        self.write();
    }

    /// Whether a snapshot is under way (reading, or tables waiting).
    pub(crate) fn active(&self) -> bool {
        self.reading.is_some() || !self.pending.is_empty()
    }

    /// Notes the transactions of `events` (delivered by the stream).
    pub(crate) fn note_transactions(&mut self, events: &[Event]) {
        const KEEP: usize = 4096;
        for event in events {
            let EventKind::Change(change) = &event.kind else {
                continue;
            };
            let Some(xid) = change.source.tx_id else {
                continue;
            };
            if self.committed.back() != Some(&xid) {
                if self.committed.len() == KEEP {
                    self.committed.pop_front();
                }
                self.committed.push_back(xid);
            }
        }
    }

    /// The connection was lost: the chunk whose window was open is read again in a new one.
    pub(crate) fn reconnected(&mut self) {
        self.chunk = None;
    }

    /// Opens the next chunk's window: tells `core` to expect it and writes the low watermark
    /// (the chunk is read once it comes through: [`read_chunk`](Self::read_chunk)). Errors of
    /// the side connection are logged; the chunk is tried again later.
    pub(crate) async fn open_window(
        &mut self,
        config: &ReplicationConfig,
        core: &mut ReplicationCore,
    ) {
        if let Err(e) = self.try_open_window(config, core).await {
            tracing::warn!(error = %e, "incremental snapshot: could not read a chunk; trying again");
            self.conn = None;
            self.chunk = None;
            core.drop_window();
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    }

    async fn try_open_window(
        &mut self,
        config: &ReplicationConfig,
        core: &mut ReplicationCore,
    ) -> Result<()> {
        if self.conn.is_none() {
            let conn = PgConnection::connect(&config.connection, false).await?;
            if conn.server_version_num() < 140000 {
                // pgoutput sends logical decoding messages (the watermarks) from 14 on.
                let tables: Vec<String> = self.left().into_iter().map(|p| p.table).collect();
                tracing::error!(tables = ?tables, server_version = conn.server_version_num(), "incremental snapshots need PostgreSQL 14 or later (their watermarks are logical decoding messages, which pgoutput sends from 14 on); the request is dropped");
                self.pending.clear();
                self.reading = None;
                self.amend(|left| left.clear());
                conn.close().await;
                return Ok(());
            }
            self.conn = Some(conn);
        }
        while self.reading.is_none() {
            let Some(next) = self.pending.pop_front() else {
                return Ok(());
            };
            let conn = self.conn.as_mut().expect("connected above");
            match start_table(conn, config, &mut self.registry, &next).await {
                Ok(Some(reading)) => self.reading = Some(reading),
                Ok(None) => {
                    tracing::info!(table = %next.table, signal = %next.request, "incremental snapshot of an empty table: nothing to read")
                }
                Err(e) => {
                    tracing::warn!(table = %next.table, signal = %next.request, error = %e, "incremental snapshot of this table skipped")
                }
            }
        }
        let reading = self.reading.as_ref().expect("set above");
        self.windows += 1;
        let id = format!("{}-{}", self.run, self.windows);
        let conn = self.conn.as_mut().expect("connected above");
        core.expect_window(Window::new(
            id.clone(),
            reading.table.name().to_string(),
            reading.key_columns.clone(),
        ));
        emit_watermark(conn, &format!("low:{id}")).await?;
        self.window_id = id;
        Ok(())
    }

    /// The low watermark came through: reads the chunk and writes the high watermark. Errors
    /// are logged; the chunk is read again in a new window.
    pub(crate) async fn read_chunk(
        &mut self,
        config: &ReplicationConfig,
        core: &mut ReplicationCore,
    ) {
        if let Err(e) = self.try_read_chunk(config).await {
            tracing::warn!(error = %e, "incremental snapshot: could not read a chunk; trying again");
            self.conn = None;
            self.chunk = None;
            core.drop_window();
        }
    }

    async fn try_read_chunk(&mut self, config: &ReplicationConfig) -> Result<()> {
        let (Some(conn), Some(reading)) = (self.conn.as_mut(), self.reading.as_ref()) else {
            return Err(Error::config("no chunk to read"));
        };
        let id = &self.window_id;
        let sql = chunk_sql(reading, config.incremental_chunk_size);
        // The stream delivered every transaction it committed before the low watermark; the
        // read must see them all. A transaction's commit is in the WAL (and decoded) a moment
        // before other sessions see it, so the read waits until its snapshot shows them.
        let waited = std::time::Instant::now();
        loop {
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .await?;
            let snapshot = conn
                .simple_query("SELECT pg_catalog.txid_current_snapshot()::text")
                .await?;
            let snapshot = snapshot.first().and_then(|r| r.get(0)).unwrap_or_default();
            if sees_all(snapshot, &self.committed) {
                break;
            }
            conn.execute("ROLLBACK").await?;
            if waited.elapsed() > std::time::Duration::from_secs(5) {
                tracing::warn!(snapshot, "incremental snapshot: transactions the stream delivered are still not visible after 5 s; reading anyway");
                conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await?;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        let mut rows = Vec::new();
        {
            let mut copy = conn.copy_out(&sql).await?;
            while let Some(line) = copy.next_row().await? {
                let tuple = self.parser.parse_row(&line, reading.table.columns)?;
                rows.push(Row::new(tuple));
            }
        }
        conn.execute("COMMIT").await?;
        let last = rows.last().map(|row| {
            reading
                .key_columns
                .iter()
                .map(|&i| {
                    row.tuple
                        .get(i)
                        .and_then(|c| c.as_text())
                        .unwrap_or_default()
                        .to_string()
                })
                .collect()
        });
        emit_watermark(conn, &format!("high:{id}")).await?;
        let full = rows.len() >= config.incremental_chunk_size;
        self.chunk = Some(Chunk { rows, last, full });
        Ok(())
    }

    /// The high watermark at `lsn` came through: the chunk's rows that the stream did not
    /// change inside the window become reads.
    pub(crate) fn close_window(
        &mut self,
        core: &mut ReplicationCore,
        lsn: Lsn,
        now_us: i64,
        out: &mut Vec<Event>,
    ) {
        let Some(chunk) = self.chunk.take() else {
            core.drop_window();
            return;
        };
        let Some(reading) = self.reading.as_mut() else {
            // Stopped meanwhile: the chunk goes too.
            core.drop_window();
            return;
        };
        let read = chunk.rows.len();
        let emitted = core.close_window(&reading.table.schema, chunk.rows, lsn, now_us, out);
        reading.rows += emitted as u64;
        tracing::debug!(table = %reading.table.name(), read, emitted, "incremental snapshot chunk");
        if chunk.full && chunk.last.is_some() {
            reading.last = chunk.last;
        } else {
            tracing::info!(table = %reading.table.name(), signal = %reading.request, rows = reading.rows, "incremental snapshot of table done");
            self.reading = None;
        }
        if self.file.is_some() {
            let left = self.left();
            self.checkpoints.push_back((core.last_seq(), left));
        }
    }
}

/// Whether a snapshot (`txid_current_snapshot()` text, `xmin:xmax:xip,...`) sees every
/// transaction of `committed` (32-bit XIDs) as committed: none at or after its `xmax`, none
/// among its in-progress ones.
fn sees_all(snapshot: &str, committed: &VecDeque<u32>) -> bool {
    let mut parts = snapshot.split(':');
    let (Some(_), Some(xmax), Some(xip)) = (parts.next(), parts.next(), parts.next()) else {
        return true;
    };
    let Ok(xmax) = xmax.parse::<u64>() else {
        return true;
    };
    let xmax = xmax as u32;
    let in_progress: Vec<u32> = xip
        .split(',')
        .filter_map(|x| x.parse::<u64>().ok())
        .map(|x| x as u32)
        .collect();
    committed
        .iter()
        .all(|&x| (x.wrapping_sub(xmax) as i32) < 0 && !in_progress.contains(&x))
}

/// Writes a watermark message. The transaction around it gets an XID, so its commit flushes
/// the WAL: before PostgreSQL 17 a non-transactional message alone waits for the WAL writer,
/// which may be asleep for seconds. (An empty transaction: PostgreSQL 15+ sends nothing for
/// it.)
async fn emit_watermark(conn: &mut PgConnection, text: &str) -> Result<()> {
    conn.execute(&format!(
        "BEGIN; SELECT pg_catalog.pg_logical_emit_message(false, {}, {}); \
         SELECT pg_catalog.txid_current(); COMMIT",
        quote_literal(WATERMARK_PREFIX),
        quote_literal(text)
    ))
    .await
}

/// Looks `pending.table` up among the published tables and finds its key and largest key;
/// `None` when the table is empty.
async fn start_table(
    conn: &mut PgConnection,
    config: &ReplicationConfig,
    registry: &mut TypeRegistry,
    pending: &Pending,
) -> Result<Option<Reading>> {
    let mut unfiltered = config.clone();
    unfiltered.snapshot_include = None;
    unfiltered.snapshot_select_overrides.clear();
    let table = tables::snapshot_tables(conn, &unfiltered, registry, &[])
        .await?
        .into_iter()
        .find(|t| t.name() == pending.table)
        .ok_or_else(|| {
            Error::config(format!(
                "{} is not a captured table of publication {} (is the name schema.table, and \
                 is it published and not filtered out?)",
                pending.table, config.publication_name
            ))
        })?;
    let key_columns = match &pending.surrogate_key {
        Some(name) => vec![table
            .schema
            .columns
            .iter()
            .position(|c| &c.name == name)
            .ok_or_else(|| {
                Error::config(format!(
                    "{}: the surrogate key {name:?} is not one of its published columns",
                    pending.table
                ))
            })?],
        None if table.schema.key_columns.is_empty() => {
            return Err(Error::config(format!(
                "{} has no primary key: an incremental snapshot reads it in key order; set \
                 message.key.columns for it, or give the signal a surrogate-key",
                pending.table
            )))
        }
        None => table.schema.key_columns.clone(),
    };
    let keys = key_list(&table, &key_columns);
    let texts: Vec<String> = key_columns
        .iter()
        .map(|&i| format!("{}::text", quote_ident(&table.schema.columns[i].name)))
        .collect();
    // Qualified: a bare name in ORDER BY would be the text column of the select list.
    let desc: Vec<String> = keys
        .iter()
        .map(|k| format!("{}.{k} DESC", table.target))
        .collect();
    let filter = conditions(&table, pending.condition.as_deref());
    if let Some(max) = &pending.max {
        tracing::info!(table = %pending.table, signal = %pending.request, "incremental snapshot of table resumed");
        return Ok(Some(Reading {
            request: pending.request.clone(),
            surrogate_key: pending.surrogate_key.clone(),
            table,
            key_columns,
            last: pending.last.clone(),
            max: max.clone(),
            condition: pending.condition.clone(),
            rows: 0,
        }));
    }
    let rows = conn
        .simple_query(&format!(
            "SELECT {} FROM {}{} ORDER BY {} LIMIT 1",
            texts.join(", "),
            table.target,
            if filter.is_empty() {
                String::new()
            } else {
                format!(" WHERE {}", filter.join(" AND "))
            },
            desc.join(", ")
        ))
        .await?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let max = (0..key_columns.len())
        .map(|i| row.get(i).unwrap_or_default().to_string())
        .collect();
    tracing::info!(table = %pending.table, signal = %pending.request, estimated_rows = table.estimated_rows.max(0), "incremental snapshot of table started");
    Ok(Some(Reading {
        request: pending.request.clone(),
        surrogate_key: pending.surrogate_key.clone(),
        table,
        key_columns,
        last: None,
        max,
        condition: pending.condition.clone(),
        rows: 0,
    }))
}

fn key_list(table: &SnapshotTable, key_columns: &[usize]) -> Vec<String> {
    key_columns
        .iter()
        .map(|&i| quote_ident(&table.schema.columns[i].name))
        .collect()
}

/// The row filter of the publication and the signal's condition.
fn conditions(table: &SnapshotTable, extra: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(f) = &table.row_filter {
        out.push(format!("({f})"));
    }
    if let Some(c) = extra.map(str::trim).filter(|c| !c.is_empty()) {
        out.push(format!("({c})"));
    }
    out
}

fn tuple_of(values: &[String]) -> String {
    let literals: Vec<String> = values.iter().map(|v| quote_literal(v)).collect();
    format!("({})", literals.join(", "))
}

/// `COPY` of the next chunk: rows after the last key read, up to the largest key.
fn chunk_sql(reading: &Reading, size: usize) -> String {
    let keys = key_list(&reading.table, &reading.key_columns);
    let key_tuple = format!("({})", keys.join(", "));
    let mut filter = conditions(&reading.table, reading.condition.as_deref());
    if let Some(last) = &reading.last {
        filter.push(format!("{key_tuple} > {}", tuple_of(last)));
    }
    filter.push(format!("{key_tuple} <= {}", tuple_of(&reading.max)));
    let columns = if reading.table.select_columns.is_empty() {
        "*"
    } else {
        &reading.table.select_columns
    };
    format!(
        "COPY (SELECT {columns} FROM {} WHERE {} ORDER BY {} LIMIT {size}) TO STDOUT",
        reading.table.target,
        filter.join(" AND "),
        keys.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_waits_for_transactions_the_stream_delivered() {
        let committed: VecDeque<u32> = [100, 101].into_iter().collect();
        assert!(sees_all("90:102:", &committed));
        assert!(!sees_all("90:102:101", &committed));
        assert!(!sees_all("90:101:", &committed));
        // 64-bit transaction ids with an epoch compare by their low 32 bits.
        assert!(sees_all(
            &format!("{}:{}:", (1u64 << 32) + 90, (1u64 << 32) + 102),
            &committed
        ));
    }

    /// The progress file gives back the work left; a missing or broken file gives none (a
    /// broken one is logged), never an error.
    #[test]
    fn the_work_left_is_read_back_from_the_progress_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("p.incremental.json");
        assert!(Incremental::resume_from(path.clone()).pending.is_empty());
        std::fs::write(&path, "{not json").expect("write");
        assert!(Incremental::resume_from(path.clone()).pending.is_empty());
        std::fs::write(
            &path,
            r#"{"tables": [{"request": "s1", "table": "public.items", "last": ["500"],
                "max": ["20000"]}]}"#,
        )
        .expect("write");
        let inc = Incremental::resume_from(path);
        let left: Vec<_> = inc.pending.iter().collect();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].table, "public.items");
        assert_eq!(left[0].last.as_deref(), Some(&["500".to_string()][..]));
    }
}
