//! Turns decoded pgoutput messages into change events: transaction bookkeeping, primary-key
//! changes, TOAST substitution, filters, transaction metadata and sequence numbers.
//!
//! Sans-IO: Relation messages are resolved by the caller (they need catalog queries) and put in
//! the [`RelationCache`] this reads; the processing time is given ([`Assembler::clock`]).

use std::sync::Arc;

use pgoutput::{Lsn, Message, OldTupleKind};

use super::window::{Watermark, WATERMARK_PREFIX};

use crate::{
    ack::AckTracker,
    config::{Operation, ReplicationConfig},
    event::{
        ChangeEvent, Event, EventKind, MessageEvent, Op, Row, Source, TransactionBlock,
        TransactionEvent, TransactionStatus,
    },
    relation::{RelationCache, TableSchema},
    Error, ErrorKind, Result,
};

/// Where a unit the server sends (a transaction, or a message outside one) sits in the order
/// it sends them. A transaction is known by where its commit record starts, a message only by
/// where its record ends, and the two can be equal: a commit record starts right where the
/// record of a message written just before COMMIT ends, and that message comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct SentAt(Lsn, Unit);

/// The kind of a [`SentAt`]; at the same LSN a message comes before a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Unit {
    Message,
    Transaction,
}

#[derive(Debug)]
struct OpenTransaction {
    xid: u32,
    /// LSN of the commit record (pgoutput's BEGIN says it up front).
    commit_lsn: Lsn,
    commit_time_us: i64,
    /// Events of this transaction so far, delivered or skipped.
    emitted: u64,
    /// After a reconnect: how many of this transaction's events were already produced.
    skip_events: u64,
    /// After a reconnect: the whole transaction was already produced.
    skip_all: bool,
    total_order: u64,
    /// Events per data collection, in order of first appearance.
    per_table: Vec<(String, u64)>,
}

/// The assembler's state across messages.
#[derive(Debug)]
pub(crate) struct Assembler {
    tx: Option<OpenTransaction>,
    last_commit_lsn: Option<Lsn>,
    seq: u64,
    acks: AckTracker,
    tx_metadata: bool,
    message_prefixes: crate::config::NameFilter,
    emit: [bool; 4],
    /// The last fully produced unit (a transaction, or a non-transactional message). The
    /// server sends units in this order, so after a reconnect everything at or before it was
    /// already produced and is skipped.
    produced_upto: SentAt,
    /// The processing time of the events being made (`ts_us`, microseconds since the Unix
    /// epoch): the caller reads the clock once for a burst of messages.
    pub(crate) clock: i64,
    /// A transaction cut by a disconnect: (commit LSN, events already produced).
    partial: Option<(Lsn, u64)>,
    /// An incremental snapshot's watermark message just taken (not an event).
    watermark: Option<(Watermark, Lsn)>,
}

impl Assembler {
    pub(crate) fn new(config: &ReplicationConfig, acks: AckTracker) -> Self {
        Assembler {
            tx: None,
            last_commit_lsn: None,
            seq: 0,
            acks,
            tx_metadata: config.provide_transaction_metadata,
            message_prefixes: config.message_prefixes.clone(),
            produced_upto: SentAt(Lsn::ZERO, Unit::Message),
            clock: 0,
            partial: None,
            watermark: None,
            emit: [
                config.emits(Operation::Create),
                config.emits(Operation::Update),
                config.emits(Operation::Delete),
                config.emits(Operation::Truncate),
            ],
        }
    }

    /// Whether a transaction is open (its events may still be coming).
    pub(crate) fn in_transaction(&self) -> bool {
        self.tx.is_some()
    }

    fn processing_time(&self) -> i64 {
        self.clock
    }

    /// Numbers the next event `seq + 1`.
    pub(crate) fn continue_after(&mut self, seq: u64) {
        self.seq = seq;
    }

    /// The sequence number of the last event produced.
    pub(crate) fn last_seq(&self) -> u64 {
        self.seq
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.acks.produced(self.seq);
        self.seq
    }

    /// Appends an event, unless a reconnect replays a part that was already produced.
    fn push(&mut self, kind: EventKind, out: &mut Vec<Event>) {
        if let Some(tx) = self.tx.as_mut() {
            tx.emitted += 1;
            if tx.skip_all || tx.emitted <= tx.skip_events {
                return;
            }
        }
        let seq = self.next_seq();
        out.push(Event { kind, seq });
    }

    /// The watermark message the last input was, if it was one.
    pub(crate) fn take_watermark(&mut self) -> Option<(Watermark, Lsn)> {
        self.watermark.take()
    }

    /// Appends an event made outside the stream (an incremental snapshot's read), numbered
    /// after everything produced so far.
    pub(crate) fn push_outside(&mut self, kind: EventKind, out: &mut Vec<Event>) {
        let seq = self.next_seq();
        out.push(Event { kind, seq });
    }

    /// The end of the last transaction (or non-transactional message) fully produced.
    pub(crate) fn produced_upto(&self) -> Lsn {
        self.produced_upto.0
    }

    /// The connection was lost: remember how far an open transaction got, so that its replay
    /// after the reconnect does not deliver those events twice.
    pub(crate) fn disconnected(&mut self) {
        if let Some(tx) = self.tx.take() {
            if !tx.skip_all {
                // Cut again during its replay: what the first connection produced still counts.
                self.partial = Some((tx.commit_lsn, tx.emitted.max(tx.skip_events)));
            }
        }
    }

    fn source(&self, lsn: Lsn) -> Source {
        Source {
            lsn,
            tx_id: self.tx.as_ref().map(|t| t.xid),
            commit_time_us: self.tx.as_ref().map(|t| t.commit_time_us).unwrap_or(0),
            last_commit_lsn: self.last_commit_lsn,
            snapshot: "false",
        }
    }

    /// Handles one message that arrived in an XLogData starting at `lsn`, appending events.
    pub(crate) fn handle(
        &mut self,
        lsn: Lsn,
        message: Message,
        relations: &RelationCache,
        out: &mut Vec<Event>,
    ) -> Result<()> {
        match message {
            Message::Begin(b) => {
                let begin_lsn = if lsn == Lsn::ZERO { b.final_lsn } else { lsn };
                // The record of a cut transaction stays until that transaction comes again:
                // committed transactions before it may be re-sent first (nothing acknowledged).
                let skip_events = match self.partial {
                    Some((commit, n)) if commit == b.final_lsn => {
                        self.partial = None;
                        n
                    }
                    Some((commit, _)) if commit < b.final_lsn => {
                        self.partial = None;
                        0
                    }
                    _ => 0,
                };
                self.tx = Some(OpenTransaction {
                    xid: b.xid,
                    commit_lsn: b.final_lsn,
                    emitted: 0,
                    skip_events,
                    skip_all: SentAt(b.final_lsn, Unit::Transaction) <= self.produced_upto,
                    commit_time_us: pgoutput::pg_to_unix_micros(b.commit_time),
                    total_order: 0,
                    per_table: Vec::new(),
                });
                self.acks.set_in_transaction(true);
                if self.tx_metadata {
                    self.push(
                        EventKind::Transaction(TransactionEvent {
                            status: TransactionStatus::Begin,
                            id: format!("{}:{}", b.xid, begin_lsn.0),
                            tx_id: b.xid,
                            event_count: None,
                            data_collections: Vec::new(),
                            commit_time_us: pgoutput::pg_to_unix_micros(b.commit_time),
                        }),
                        out,
                    );
                }
            }
            Message::Commit(c) => {
                let Some(tx) = self.tx.as_ref() else {
                    return Err(protocol("COMMIT without BEGIN"));
                };
                if tx.skip_all {
                    // Produced before the reconnect (and its commit recorded then).
                    self.tx = None;
                    self.acks.set_in_transaction(false);
                    return Ok(());
                }
                if self.tx_metadata {
                    let (xid, total, per_table, commit_time_us) = (
                        tx.xid,
                        tx.total_order,
                        tx.per_table.clone(),
                        tx.commit_time_us,
                    );
                    self.push(
                        EventKind::Transaction(TransactionEvent {
                            status: TransactionStatus::End,
                            id: format!("{xid}:{}", c.commit_lsn.0),
                            tx_id: xid,
                            event_count: Some(total),
                            data_collections: per_table,
                            commit_time_us,
                        }),
                        out,
                    );
                }
                self.tx = None;
                self.produced_upto = SentAt(c.commit_lsn, Unit::Transaction);
                self.last_commit_lsn = Some(c.commit_lsn);
                self.acks.committed(self.seq, c.end_lsn);
            }
            Message::Insert(m) => {
                let table = self.table(relations, m.relation_id)?;
                if self.emit[0] && table.captured {
                    let after = Row::new(m.new);
                    self.change(Op::Create, table, Images::after(after), lsn, out);
                }
            }
            Message::Update(m) => {
                let table = self.table(relations, m.relation_id)?;
                if !table.captured {
                    return Ok(());
                }
                let mut after = Row::new(m.new);
                let before = m.old.map(|old| (old.kind, old_row(old)));
                if let Some((OldTupleKind::Old, old)) = &before {
                    // REPLICA IDENTITY FULL carries the old value of unchanged TOASTed columns.
                    after.tuple.fill_unchanged_toast(&old.tuple);
                }
                let key_changed = match &before {
                    Some((_, old)) => {
                        !table.key_columns.is_empty() && table.key_differs(old, &after)
                    }
                    None => false,
                };
                if key_changed {
                    // Debezium emits a primary-key change as delete + create (a tombstone goes
                    // between them in Kafka-style outputs).
                    // Each carries the other's row: Debezium's `__debezium.newkey` and
                    // `__debezium.oldkey` headers.
                    let old = before.map(|(_, r)| r);
                    if self.emit[2] {
                        let images = Images {
                            before: old.clone(),
                            after: None,
                            pk_update_other_row: Some(after.clone()),
                        };
                        self.change(Op::Delete, table.clone(), images, lsn, out);
                    }
                    if self.emit[0] {
                        let images = Images {
                            before: None,
                            after: Some(after),
                            pk_update_other_row: old,
                        };
                        self.change(Op::Create, table, images, lsn, out);
                    }
                } else if self.emit[1] {
                    // Under REPLICA IDENTITY DEFAULT pgoutput sends no old row unless the key
                    // changed, and Debezium's `before` is null then.
                    let before = match before {
                        Some((OldTupleKind::Old, r)) => Some(r),
                        _ => None,
                    };
                    let images = Images {
                        before,
                        after: Some(after),
                        pk_update_other_row: None,
                    };
                    self.change(Op::Update, table, images, lsn, out);
                }
            }
            Message::Delete(m) => {
                let table = self.table(relations, m.relation_id)?;
                if self.emit[2] && table.captured {
                    let before = old_row(m.old);
                    let images = Images {
                        before: Some(before),
                        ..Images::default()
                    };
                    self.change(Op::Delete, table, images, lsn, out);
                }
            }
            Message::Truncate(m) => {
                if !self.emit[3] {
                    return Ok(());
                }
                for id in m.relation_ids {
                    let table = self.table(relations, id)?;
                    if table.captured {
                        self.change(Op::Truncate, table, Images::default(), lsn, out);
                    }
                }
            }
            Message::LogicalMessage(m) => {
                let transactional = m.transactional;
                let outside_tx = !transactional && self.tx.is_none();
                if outside_tx && SentAt(m.lsn, Unit::Message) <= self.produced_upto {
                    return Ok(()); // produced before a reconnect
                }
                if !transactional && m.prefix.as_str() == WATERMARK_PREFIX {
                    // Ours: never an event, whatever the message filters say.
                    if let Some(w) = Watermark::parse(&m.content) {
                        self.watermark = Some((w, m.lsn));
                    }
                    if outside_tx {
                        self.message_done(m.lsn);
                    }
                    return Ok(());
                }
                if !self.message_prefixes.matches(m.prefix.as_str()) {
                    if outside_tx {
                        self.message_done(m.lsn);
                    }
                    return Ok(());
                }
                let mut source = self.source(m.lsn);
                let transaction = if transactional {
                    self.tx.as_mut().map(|tx| {
                        tx.total_order += 1;
                        TransactionBlock {
                            id: format!("{}:{}", tx.xid, m.lsn.0),
                            total_order: tx.total_order,
                            data_collection_order: tx.total_order,
                        }
                    })
                } else {
                    // A non-transactional message is delivered at once, outside any transaction.
                    source.tx_id = None;
                    source.commit_time_us = self.clock;
                    None
                };
                self.push(
                    EventKind::Message(MessageEvent {
                        prefix: m.prefix.as_str().to_string(),
                        content: m.content,
                        transactional,
                        source,
                        transaction: transaction.filter(|_| self.tx_metadata),
                        ts_us: self.processing_time(),
                    }),
                    out,
                );
                if outside_tx {
                    self.message_done(m.lsn);
                }
            }
            Message::Relation(_) | Message::Type(_) | Message::Origin(_) => {}
            other => {
                return Err(protocol(&format!(
                    "unexpected pgoutput message {other:?} for the protocol options requested"
                )))
            }
        }
        Ok(())
    }

    /// A message outside any transaction is done (handed out, or not an event). Its LSN is
    /// where its record ends, and where the commit record of a transaction written right
    /// after it starts. Confirming that LSN skips the message on a restart (the server skips
    /// what starts before the confirmed position) and not that transaction; one past it would
    /// skip the transaction too.
    fn message_done(&mut self, lsn: Lsn) {
        self.produced_upto = SentAt(lsn, Unit::Message);
        self.acks.committed(self.seq, lsn);
    }

    fn table(&self, relations: &RelationCache, id: u32) -> Result<Arc<TableSchema>> {
        relations.get(id).cloned().ok_or_else(|| {
            protocol(&format!(
                "change for relation {id} arrived before its Relation message"
            ))
        })
    }

    fn change(
        &mut self,
        op: Op,
        table: Arc<TableSchema>,
        images: Images,
        lsn: Lsn,
        out: &mut Vec<Event>,
    ) {
        let Images {
            before,
            after,
            pk_update_other_row,
        } = images;
        let source = self.source(lsn);
        let transaction = match (&mut self.tx, self.tx_metadata) {
            (Some(tx), true) => {
                tx.total_order += 1;
                let per_table = match tx
                    .per_table
                    .iter_mut()
                    .find(|(name, _)| *name == table.data_collection)
                {
                    Some((_, n)) => {
                        *n += 1;
                        *n
                    }
                    None => {
                        tx.per_table.push((table.data_collection.clone(), 1));
                        1
                    }
                };
                Some(TransactionBlock {
                    id: format!("{}:{}", tx.xid, lsn.0),
                    total_order: tx.total_order,
                    data_collection_order: per_table,
                })
            }
            (Some(tx), false) => {
                tx.total_order += 1;
                None
            }
            _ => None,
        };
        self.push(
            EventKind::Change(ChangeEvent {
                op,
                table,
                before,
                after,
                source,
                transaction,
                ts_us: self.processing_time(),
                pk_update_other_row,
            }),
            out,
        );
    }
}

/// The row images of a change event.
#[derive(Default)]
struct Images {
    before: Option<Row>,
    after: Option<Row>,
    /// See [`ChangeEvent::pk_update_other_row`].
    pk_update_other_row: Option<Row>,
}

impl Images {
    fn after(after: Row) -> Self {
        Images {
            after: Some(after),
            ..Images::default()
        }
    }
}

fn old_row(old: pgoutput::OldTuple) -> Row {
    match old.kind {
        OldTupleKind::Key => Row::key_image(old.tuple),
        OldTupleKind::Old => Row::new(old.tuple),
    }
}

fn protocol(message: &str) -> Error {
    Error::new(ErrorKind::Protocol, message.to_string())
}
