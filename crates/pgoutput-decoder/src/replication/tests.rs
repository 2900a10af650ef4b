//! The replication core's paths, without a server: recorded pgoutput captures (the pgoutput
//! crate's tests/captures) and messages built here.

use bytes::{BufMut, Bytes, BytesMut};
use pgoutput::Lsn;

use super::{table_schema, Action, ReplicationCore};
use crate::{
    ack::AckTracker,
    catalog::TableDetails,
    config::ReplicationConfig,
    conn::ConnectParams,
    event::{Event, EventKind, Op, TransactionStatus},
    types::TypeRegistry,
};

/// The processing time the tests give the core.
const NOW: i64 = 1_700_000_000_000_000;

/// One recorded message: the slot function's `lsn` and `xid` columns and the message.
struct Recorded {
    lsn: Lsn,
    xid: u32,
    data: Bytes,
}

/// The data lines of a `<lsn> <xid> <hex>` capture.
fn capture(text: &str) -> Vec<Recorded> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| {
            let parts: Vec<&str> = line.split_whitespace().collect();
            let [lsn, xid, hex] = parts[..] else {
                panic!("malformed capture line {line:?}");
            };
            let data = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
                .collect::<Vec<u8>>();
            Recorded {
                lsn: lsn.parse().expect("lsn"),
                xid: xid.parse().expect("xid"),
                data: Bytes::from(data),
            }
        })
        .collect()
}

const STREAM_V2: &str = include_str!("../../../pgoutput/tests/captures/stream_v2.txt");
const TWO_PHASE_V3: &str = include_str!("../../../pgoutput/tests/captures/two_phase_v3.txt");
const DML_V1: &str = include_str!("../../../pgoutput/tests/captures/dml_v1.txt");
const TOAST_V1: &str = include_str!("../../../pgoutput/tests/captures/toast_v1.txt");
const MESSAGE_BEFORE_COMMIT_V1: &str =
    include_str!("../../../pgoutput/tests/captures/message_before_commit_v1.txt");

/// A core with the I/O task's part played here: schema questions are answered from the
/// Relation message itself (its key columns as the primary key), replays run to the end.
struct Harness {
    config: ReplicationConfig,
    core: ReplicationCore,
    acks: AckTracker,
    out: Vec<Event>,
    /// The relations whose schema the core asked for, in order.
    asked: Vec<String>,
    /// Where chunk windows closed.
    closed: Vec<Lsn>,
    /// How many chunk windows opened.
    opened: usize,
}

impl Harness {
    fn new(proto_version: u32) -> Self {
        Self::with_config(proto_version, |_| {})
    }

    fn with_config(proto_version: u32, adjust: impl FnOnce(&mut ReplicationConfig)) -> Self {
        let mut config = ReplicationConfig::new(ConnectParams::default());
        adjust(&mut config);
        let acks = AckTracker::new(Lsn::ZERO);
        Harness {
            core: ReplicationCore::new(&config, acks.clone(), proto_version),
            config,
            acks,
            out: Vec::new(),
            asked: Vec::new(),
            closed: Vec::new(),
            opened: 0,
        }
    }

    fn feed(&mut self, lsn: Lsn, data: Bytes) {
        let action = self
            .core
            .handle_xlog(lsn, lsn, data, NOW, &mut self.out)
            .expect("handled");
        self.run(action);
        while self.core.replaying() {
            let action = self
                .core
                .replay_slice(usize::MAX, NOW, &mut self.out)
                .expect("replayed");
            self.run(action);
        }
    }

    fn feed_all(&mut self, messages: &[Recorded]) {
        for m in messages {
            self.feed(m.lsn, m.data.clone());
        }
    }

    fn run(&mut self, action: Action) {
        match action {
            Action::Continue => {}
            Action::NeedTableSchema(rel) => {
                self.asked.push(rel.name.as_str().to_string());
                let details = TableDetails {
                    primary_key: rel
                        .key_columns()
                        .map(|(_, c)| c.name.as_str().to_string())
                        .collect(),
                    columns: Vec::new(),
                };
                let schema = table_schema(&self.config, &TypeRegistry::new(), &rel, details);
                self.core.provide_table_schema(schema);
            }
            Action::SendStatus => panic!("no status update asked for here"),
            Action::WindowClosed(lsn) => self.closed.push(lsn),
            Action::WindowOpened => self.opened += 1,
        }
    }

    /// Acknowledges every event produced so far.
    fn ack_all(&self) {
        if let Some(last) = self.out.last() {
            self.acks.ack_seq(last.seq);
        }
    }

    fn summary(&self) -> Vec<String> {
        self.out.iter().map(summary).collect()
    }
}

/// `<op> <table> <first column of the row>`, or the transaction boundary.
fn summary(event: &Event) -> String {
    match &event.kind {
        EventKind::Change(c) => {
            let op = match c.op {
                Op::Create => "c",
                Op::Update => "u",
                Op::Delete => "d",
                Op::Read => "r",
                Op::Truncate => "t",
                Op::Message => "m",
            };
            let row = c.after.as_ref().or(c.before.as_ref());
            let first = row
                .and_then(|r| r.tuple.get(0))
                .and_then(|v| v.as_text().map(str::to_string))
                .unwrap_or_default();
            format!("{op} {} {first}", c.table.table)
        }
        EventKind::Message(m) => format!("message {}", m.prefix),
        EventKind::Transaction(t) => match t.status {
            TransactionStatus::Begin => format!("BEGIN {}", t.id),
            TransactionStatus::End => format!("END {} {:?}", t.id, t.event_count),
        },
        EventKind::Heartbeat(h) => format!("heartbeat {}", h.lsn),
    }
}

fn ids(h: &Harness, table: &str, op: &str) -> Vec<i64> {
    h.summary()
        .iter()
        .filter_map(|s| {
            let rest = s.strip_prefix(&format!("{op} {table} "))?;
            rest.parse().ok()
        })
        .collect()
}

/// The messages of one transaction of a capture, by xid.
fn transaction(all: &[Recorded], xid: u32) -> Vec<&Recorded> {
    all.iter().filter(|m| m.xid == xid).collect()
}

fn xids(all: &[Recorded]) -> Vec<u32> {
    let mut xids: Vec<u32> = Vec::new();
    for m in all {
        if xids.last() != Some(&m.xid) && !xids.contains(&m.xid) {
            xids.push(m.xid);
        }
    }
    xids
}

#[test]
fn a_streamed_transaction_is_delivered_at_its_commit_and_in_order() {
    let all = capture(STREAM_V2);
    let first = transaction(&all, xids(&all)[0]);
    let mut h = Harness::new(2);
    let (commit, chunks) = first.split_last().expect("messages");
    for m in chunks {
        h.feed(m.lsn, m.data.clone());
        // The transactional message and the changes wait for the commit.
        assert!(h.out.is_empty(), "event before STREAM COMMIT");
    }
    // Relations inside the stream are resolved when the transaction is replayed.
    assert!(h.asked.is_empty());
    h.feed(commit.lsn, commit.data.clone());
    assert_eq!(h.asked, ["big", "small"]);
    assert!(!h.core.replaying() && !h.core.in_transaction());
    assert_eq!(ids(&h, "big", "c"), (1..=600).collect::<Vec<_>>());
    let summary = h.summary();
    assert_eq!(summary[0], "message stream-msg");
    // TRUNCATE is skipped by default (skipped.operations=t).
    assert_eq!(summary[601..], ["u big 1", "d big 2"]);
    assert_eq!(h.out.len(), 603);
    // Sequence numbers run on without gaps.
    assert!(h.out.iter().enumerate().all(|(i, e)| e.seq == i as u64 + 1));
}

#[test]
fn a_heartbeat_goes_between_transactions_never_inside_one() {
    let all = capture(DML_V1);
    let xid = xids(&all)[0];
    let first = transaction(&all, xid);
    let mut h = Harness::new(1);
    assert!(h.core.heartbeat(NOW, &mut h.out), "idle: a heartbeat");
    assert_eq!(h.summary(), ["heartbeat 0/0"]);
    let (commit, body) = first.split_last().expect("messages");
    for m in body {
        h.feed(m.lsn, m.data.clone());
    }
    let inside = h.out.len();
    assert!(!h.core.heartbeat(NOW, &mut h.out), "inside a transaction");
    assert_eq!(h.out.len(), inside);
    h.feed(commit.lsn, commit.data.clone());
    assert!(h.core.heartbeat(NOW + 1000, &mut h.out));
    let EventKind::Heartbeat(beat) = &h.out.last().expect("event").kind else {
        panic!("not a heartbeat: {:?}", h.summary());
    };
    // After the transaction: its commit position (BEGIN's final LSN), the next number.
    assert_eq!(beat.lsn, "0/1924C48".parse::<Lsn>().expect("lsn"));
    assert_eq!(beat.ts_us, NOW + 1000);
    assert!(h.out.iter().enumerate().all(|(i, e)| e.seq == i as u64 + 1));
}

#[test]
fn a_streamed_transaction_that_aborts_produces_nothing() {
    let all = capture(STREAM_V2);
    let xids = xids(&all);
    let mut h = Harness::new(2);
    h.feed_all(
        &transaction(&all, xids[0])
            .into_iter()
            .map(clone)
            .collect::<Vec<_>>(),
    );
    let before = h.out.len();
    h.feed_all(
        &transaction(&all, xids[1])
            .into_iter()
            .map(clone)
            .collect::<Vec<_>>(),
    );
    assert_eq!(h.out.len(), before, "{:?}", &h.summary()[before..]);
    assert!(!h.core.in_stream_chunk() && !h.core.in_transaction());
}

#[test]
fn a_rolled_back_subtransaction_drops_only_its_changes() {
    let all = capture(STREAM_V2);
    let mut h = Harness::new(2);
    h.feed_all(&all);
    // Transaction 1: 600 rows; 2 aborted; 3: 2001 and 2999, not the savepoint's 2002..2600.
    let created = ids(&h, "big", "c");
    assert_eq!(created.len(), 602);
    assert_eq!(created[600..], [2001, 2999]);
}

#[test]
fn with_transaction_metadata_a_replayed_transaction_has_begin_and_end() {
    let all = capture(STREAM_V2);
    let first: Vec<Recorded> = transaction(&all, xids(&all)[0])
        .into_iter()
        .map(clone)
        .collect();
    let mut h = Harness::with_config(2, |c| c.provide_transaction_metadata = true);
    h.feed_all(&first);
    // 600 inserts, the update, the delete and the transactional message.
    let summary = h.summary();
    let xid = first[0].xid;
    assert!(
        summary[0].starts_with(&format!("BEGIN {xid}:")),
        "{}",
        summary[0]
    );
    assert!(
        summary.last().unwrap().ends_with("Some(603)"),
        "{:?}",
        summary.last()
    );
}

fn clone(m: &Recorded) -> Recorded {
    Recorded {
        lsn: m.lsn,
        xid: m.xid,
        data: m.data.clone(),
    }
}

/// The two-phase capture's transactions: commit prepared, rollback prepared, streamed
/// prepare then commit prepared.
fn two_phase() -> (Vec<Recorded>, Vec<u32>) {
    let all = capture(TWO_PHASE_V3);
    let xids = xids(&all);
    assert_eq!(xids.len(), 3);
    (all, xids)
}

#[test]
fn a_prepared_transaction_waits_for_commit_prepared_and_holds_the_position() {
    let (all, xids) = two_phase();
    let tx: Vec<Recorded> = transaction(&all, xids[0]).into_iter().map(clone).collect();
    let (commit_prepared, prepared) = tx.split_last().unwrap();
    let mut h = Harness::new(3);
    for m in prepared {
        h.feed(m.lsn, m.data.clone());
    }
    assert!(h.out.is_empty(), "{:?}", h.summary());
    // The Relation inside BEGIN PREPARE ... PREPARE takes effect at once.
    assert_eq!(h.asked, ["t"]);
    // An idle keepalive far ahead: the position stays at the PREPARE.
    let prepare_lsn = prepared.last().unwrap().lsn;
    let far = Lsn(prepare_lsn.0 + 1_000_000);
    let action = h.core.handle_keepalive(far, false, true);
    assert!(matches!(action, Action::Continue));
    assert!(h.acks.confirmed() <= prepare_lsn, "{}", h.acks.confirmed());
    assert!(h.acks.is_held());
    // The held position is reported once, then no flush position at all.
    let first = h.core.status_update(false);
    assert!(first.flush > Lsn::ZERO && first.flush <= prepare_lsn);
    assert_eq!(first.write, far);
    let second = h.core.status_update(false);
    assert_eq!((second.flush, second.apply), (Lsn::ZERO, Lsn::ZERO));

    h.feed(commit_prepared.lsn, commit_prepared.data.clone());
    assert_eq!(h.summary(), ["c t 1"]);
    // Acknowledged: the hold goes.
    h.ack_all();
    assert!(!h.acks.is_held());
    assert!(h.acks.confirmed() > prepare_lsn);
}

#[test]
fn a_rolled_back_prepared_transaction_produces_nothing_and_releases_its_hold() {
    let (all, xids) = two_phase();
    let mut h = Harness::new(3);
    h.feed_all(
        &transaction(&all, xids[0])
            .into_iter()
            .map(clone)
            .collect::<Vec<_>>(),
    );
    h.ack_all();
    let delivered = h.out.len();
    let tx: Vec<Recorded> = transaction(&all, xids[1]).into_iter().map(clone).collect();
    let (rollback, prepared) = tx.split_last().unwrap();
    for m in prepared {
        h.feed(m.lsn, m.data.clone());
    }
    assert!(h.acks.is_held() || h.acks.confirmed() <= prepared.last().unwrap().lsn);
    h.feed(rollback.lsn, rollback.data.clone());
    assert_eq!(h.out.len(), delivered, "{:?}", h.summary());
    assert!(!h.acks.is_held());
    assert!(h.acks.confirmed() >= rollback.lsn);
}

#[test]
fn a_streamed_prepared_transaction_is_delivered_at_commit_prepared() {
    let (all, xids) = two_phase();
    let mut h = Harness::new(3);
    for &xid in &xids[..2] {
        h.feed_all(
            &transaction(&all, xid)
                .into_iter()
                .map(clone)
                .collect::<Vec<_>>(),
        );
    }
    h.ack_all();
    let before = h.out.len();
    let tx: Vec<Recorded> = transaction(&all, xids[2]).into_iter().map(clone).collect();
    let (commit_prepared, streamed) = tx.split_last().unwrap();
    for m in streamed {
        h.feed(m.lsn, m.data.clone());
    }
    assert_eq!(h.out.len(), before, "{:?}", &h.summary()[before..]);
    // An idle keepalive far ahead: the position stays behind the STREAM PREPARE.
    let last = streamed.last().unwrap().lsn;
    let _ = h
        .core
        .handle_keepalive(Lsn(last.0 + 1_000_000), false, true);
    assert!(h.acks.is_held());
    assert!(h.acks.confirmed() < last);
    h.feed(commit_prepared.lsn, commit_prepared.data.clone());
    assert_eq!(ids(&h, "t", "c")[before..], (100..=700).collect::<Vec<_>>());
    h.ack_all();
    assert!(!h.acks.is_held());
}

#[test]
fn after_a_reconnect_in_a_transaction_nothing_is_delivered_twice() {
    let all = capture(DML_V1);
    let mut clean = Harness::new(1);
    clean.feed_all(&all);
    let expected = clean.summary();
    // Two inserts, then a transaction: an update and a key change (delete + create), a delete.
    assert_eq!(expected.len(), 6, "{expected:?}");

    // The connection drops after the open transaction's first change, once the consumer
    // acknowledged what came before it.
    let cut = all
        .iter()
        .position(|m| m.data[0] == b'U')
        .expect("an update");
    let begin = all[..cut]
        .iter()
        .rposition(|m| m.data[0] == b'B')
        .expect("its BEGIN");
    let mut h = Harness::new(1);
    h.feed_all(&all[..=cut].iter().map(clone).collect::<Vec<_>>());
    assert!(h.core.in_transaction());
    let produced = h.out.len();
    assert_eq!(h.summary(), expected[..produced]);
    h.acks.ack_seq(produced as u64 - 1);
    h.core.disconnected();
    h.core.reconnected(1);
    // The new connection resumes at the confirmed position: the open transaction comes again
    // from its start, after the Relation message.
    let relation = all.iter().find(|m| m.data[0] == b'R').unwrap();
    h.feed(all[begin].lsn, relation.data.clone());
    h.feed_all(&all[begin..].iter().map(clone).collect::<Vec<_>>());
    assert_eq!(h.summary(), expected);
    assert!(h.out.iter().enumerate().all(|(i, e)| e.seq == i as u64 + 1));
    // The schema was asked for again on the new connection.
    assert_eq!(h.asked, ["users", "users"]);
}

#[test]
fn after_a_reconnect_a_cut_transaction_behind_unacknowledged_ones_is_not_delivered_twice() {
    let all = capture(DML_V1);
    let mut clean = Harness::new(1);
    clean.feed_all(&all);
    let expected = clean.summary();

    // Cut after the open transaction's first change, with nothing acknowledged: the new
    // connection sends the committed transactions before it again, then the cut one.
    let cut = all
        .iter()
        .position(|m| m.data[0] == b'U')
        .expect("an update");
    let mut h = Harness::new(1);
    h.feed_all(&all[..=cut].iter().map(clone).collect::<Vec<_>>());
    assert!(h.core.in_transaction());
    h.core.disconnected();
    h.core.reconnected(1);
    h.feed_all(&all.iter().map(clone).collect::<Vec<_>>());
    assert_eq!(h.summary(), expected);

    // A second cut during the replay, before it reaches what was produced the first time,
    // keeps the larger count.
    let mut h = Harness::new(1);
    h.feed_all(&all[..=cut].iter().map(clone).collect::<Vec<_>>());
    h.core.disconnected();
    h.core.reconnected(1);
    let begin = all[..cut]
        .iter()
        .rposition(|m| m.data[0] == b'B')
        .expect("its BEGIN");
    h.feed_all(&all[..=begin].iter().map(clone).collect::<Vec<_>>());
    h.core.disconnected();
    h.core.reconnected(1);
    h.feed_all(&all.iter().map(clone).collect::<Vec<_>>());
    assert_eq!(h.summary(), expected);
}

#[test]
fn after_a_reconnect_a_transaction_produced_whole_is_skipped() {
    let all = capture(DML_V1);
    let mut h = Harness::new(1);
    h.feed_all(&all);
    let expected = h.summary();
    // Nothing acknowledged: the new connection sends everything again.
    h.core.disconnected();
    h.core.reconnected(1);
    h.feed_all(&all);
    assert_eq!(h.summary(), expected);
    assert!(!h.core.in_transaction());
}

/// The LSN a recorded BEGIN or logical message carries (BEGIN's `final_lsn`, the message's
/// `lsn`).
fn lsn_of(m: &Recorded) -> Lsn {
    match pgoutput::decode_message(m.data.clone(), false, 1).expect("decodes") {
        pgoutput::Message::Begin(b) => b.final_lsn,
        pgoutput::Message::LogicalMessage(lm) => lm.lsn,
        other => panic!("no LSN of interest in {other:?}"),
    }
}

/// `BEGIN; INSERT ...; SELECT pg_logical_emit_message(false, ...); COMMIT`: the message comes
/// first, at the LSN where the transaction's commit record starts, which its BEGIN carries too.
#[test]
fn a_transaction_committed_right_after_a_message_is_delivered() {
    let all = capture(MESSAGE_BEFORE_COMMIT_V1);
    let message = &all[0];
    assert_eq!(message.data[0], b'M');
    let begin = all.iter().find(|m| m.data[0] == b'B').unwrap();
    assert_eq!(lsn_of(begin), lsn_of(message), "the capture shows the case");

    let mut h = Harness::new(1);
    h.feed_all(&all);
    assert_eq!(
        h.summary(),
        ["message audit", "c notes 1", "c notes 2"],
        "the transaction after the message was dropped"
    );

    // After a reconnect with nothing acknowledged, each comes once more, and once only.
    let expected = h.summary();
    h.core.disconnected();
    h.core.reconnected(1);
    h.feed_all(&all);
    assert_eq!(h.summary(), expected);
}

/// Once the message alone is acknowledged, the confirmed position must not pass the start of
/// the commit record after it: the server skips, on a restart, every transaction whose commit
/// record starts before the confirmed position.
#[test]
fn acknowledging_a_message_does_not_confirm_the_transaction_committed_after_it() {
    let all = capture(MESSAGE_BEFORE_COMMIT_V1);
    let begin = all.iter().position(|m| m.data[0] == b'B').unwrap();
    let final_lsn = lsn_of(&all[begin]);
    let mut h = Harness::new(1);
    h.feed_all(&all[..begin]);
    assert_eq!(h.summary(), ["message audit"]);
    h.acks.ack_seq(1);
    assert!(h.acks.confirmed() > Lsn::ZERO, "the message is confirmed");
    assert!(
        h.acks.confirmed() <= final_lsn,
        "confirmed {} is past the commit record at {final_lsn}",
        h.acks.confirmed()
    );
}

#[test]
fn a_keepalive_asking_for_a_reply_asks_for_a_status_update() {
    let mut h = Harness::new(1);
    assert!(matches!(
        h.core.handle_keepalive(Lsn(100), true, true),
        Action::SendStatus
    ));
    // Idle: the keepalive's WAL end is confirmed.
    assert_eq!(h.acks.confirmed(), Lsn(100));
    let status = h.core.status_update(true);
    assert_eq!(
        (status.write, status.flush, status.apply, status.reply),
        (Lsn(100), Lsn(100), Lsn(100), true)
    );
}

/// pgoutput messages (protocol 1) built by hand.
mod wire {
    use super::*;

    pub enum Col<'a> {
        Text(&'a str),
        Toast,
    }

    fn string(b: &mut BytesMut, s: &str) {
        b.put_slice(s.as_bytes());
        b.put_u8(0);
    }

    pub fn begin(final_lsn: u64, xid: u32) -> Bytes {
        let mut b = BytesMut::new();
        b.put_u8(b'B');
        b.put_u64(final_lsn);
        b.put_i64(0);
        b.put_u32(xid);
        b.freeze()
    }

    pub fn commit(commit_lsn: u64, end_lsn: u64) -> Bytes {
        let mut b = BytesMut::new();
        b.put_u8(b'C');
        b.put_u8(0);
        b.put_u64(commit_lsn);
        b.put_u64(end_lsn);
        b.put_i64(0);
        b.freeze()
    }

    /// Text columns; the first is the key.
    pub fn relation(id: u32, name: &str, identity: u8, columns: &[&str]) -> Bytes {
        let mut b = BytesMut::new();
        b.put_u8(b'R');
        b.put_u32(id);
        string(&mut b, "public");
        string(&mut b, name);
        b.put_u8(identity);
        b.put_u16(columns.len() as u16);
        for (i, c) in columns.iter().enumerate() {
            b.put_u8(u8::from(i == 0));
            string(&mut b, c);
            b.put_u32(25); // text
            b.put_i32(-1);
        }
        b.freeze()
    }

    fn tuple(b: &mut BytesMut, cols: &[Col<'_>]) {
        b.put_u16(cols.len() as u16);
        for c in cols {
            match c {
                Col::Toast => b.put_u8(b'u'),
                Col::Text(s) => {
                    b.put_u8(b't');
                    b.put_u32(s.len() as u32);
                    b.put_slice(s.as_bytes());
                }
            }
        }
    }

    pub fn message(lsn: u64, transactional: bool, prefix: &str, content: &str) -> Bytes {
        let mut b = BytesMut::new();
        b.put_u8(b'M');
        b.put_u8(u8::from(transactional));
        b.put_u64(lsn);
        string(&mut b, prefix);
        b.put_u32(content.len() as u32);
        b.put_slice(content.as_bytes());
        b.freeze()
    }

    pub fn insert(rel: u32, new: &[Col<'_>]) -> Bytes {
        let mut b = BytesMut::new();
        b.put_u8(b'I');
        b.put_u32(rel);
        b.put_u8(b'N');
        tuple(&mut b, new);
        b.freeze()
    }

    /// An update with the whole old row (REPLICA IDENTITY FULL).
    pub fn update_full(rel: u32, old: &[Col<'_>], new: &[Col<'_>]) -> Bytes {
        let mut b = BytesMut::new();
        b.put_u8(b'U');
        b.put_u32(rel);
        b.put_u8(b'O');
        tuple(&mut b, old);
        b.put_u8(b'N');
        tuple(&mut b, new);
        b.freeze()
    }
}

use wire::Col;

#[test]
fn a_schema_change_mid_stream_is_asked_for_and_used_by_later_changes() {
    let mut h = Harness::new(1);
    h.feed(Lsn(10), wire::relation(7, "items", b'd', &["id"]));
    h.feed(Lsn(20), wire::begin(40, 1));
    h.feed(Lsn(20), wire::insert(7, &[Col::Text("1")]));
    h.feed(Lsn(40), wire::commit(40, 48));
    // ALTER TABLE items ADD COLUMN note text: the next change brings a new Relation message.
    h.feed(Lsn(50), wire::begin(80, 2));
    h.feed(Lsn(60), wire::relation(7, "items", b'd', &["id", "note"]));
    h.feed(Lsn(70), wire::insert(7, &[Col::Text("2"), Col::Text("hi")]));
    h.feed(Lsn(80), wire::commit(80, 88));
    assert_eq!(h.asked, ["items", "items"]);
    let columns: Vec<Vec<String>> = h
        .out
        .iter()
        .map(|e| match &e.kind {
            EventKind::Change(c) => c.table.columns.iter().map(|c| c.name.clone()).collect(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(columns, [vec!["id"], vec!["id", "note"]]);
    assert_eq!(h.summary(), ["c items 1", "c items 2"]);
}

#[test]
fn input_before_the_schema_answer_is_refused() {
    let mut h = Harness::new(1);
    let action = h
        .core
        .handle_xlog(
            Lsn(10),
            Lsn(10),
            wire::relation(7, "items", b'd', &["id"]),
            NOW,
            &mut h.out,
        )
        .unwrap();
    let Action::NeedTableSchema(rel) = action else {
        panic!("{action:?}");
    };
    assert_eq!(rel.id, 7);
    let error = h
        .core
        .handle_xlog(Lsn(20), Lsn(20), wire::begin(40, 1), NOW, &mut h.out)
        .unwrap_err();
    assert_eq!(error.kind(), crate::ErrorKind::Protocol);
}

#[test]
fn an_unchanged_toasted_column_is_filled_from_the_old_row() {
    let mut h = Harness::new(1);
    h.feed(
        Lsn(10),
        wire::relation(7, "docs", b'f', &["id", "title", "body"]),
    );
    h.feed(Lsn(20), wire::begin(40, 1));
    h.feed(
        Lsn(30),
        wire::update_full(
            7,
            &[Col::Text("1"), Col::Text("first"), Col::Text("long body")],
            &[Col::Text("1"), Col::Text("renamed"), Col::Toast],
        ),
    );
    h.feed(Lsn(40), wire::commit(40, 48));
    let [event] = &h.out[..] else {
        panic!("{:?}", h.summary());
    };
    let EventKind::Change(c) = &event.kind else {
        panic!("{event:?}");
    };
    assert_eq!(c.op, Op::Update);
    let after = &c.after.as_ref().unwrap().tuple;
    assert_eq!(after.get(1).unwrap().as_text(), Some("renamed"));
    assert_eq!(after.get(2).unwrap().as_text(), Some("long body"));
    assert_eq!(
        c.before.as_ref().unwrap().tuple.get(1).unwrap().as_text(),
        Some("first")
    );
}

#[test]
fn without_the_old_row_an_unchanged_toasted_column_stays_a_placeholder() {
    // REPLICA IDENTITY DEFAULT: the recorded update leaves `body` out ('u').
    let mut h = Harness::new(1);
    h.feed_all(&capture(TOAST_V1));
    let updates: Vec<&Event> = h
        .out
        .iter()
        .filter(|e| matches!(&e.kind, EventKind::Change(c) if c.op == Op::Update))
        .collect();
    let [update] = updates[..] else {
        panic!("{:?}", h.summary());
    };
    let EventKind::Change(c) = &update.kind else {
        unreachable!()
    };
    assert!(c.before.is_none());
    let after = &c.after.as_ref().unwrap().tuple;
    assert_eq!(after.get(1).unwrap().as_text(), Some("renamed"));
    assert!(after.get(2).unwrap().is_unchanged_toast());
}

#[test]
fn the_processing_time_is_the_one_given() {
    let mut h = Harness::new(1);
    h.feed_all(&capture(DML_V1));
    assert!(h.out.iter().all(|e| match &e.kind {
        EventKind::Change(c) => c.ts_us == NOW,
        _ => true,
    }));
}

const STREAM_ABORT_V4: &str = include_str!("../../../pgoutput/tests/captures/stream_abort_v4.txt");

#[test]
fn protocol_4_stream_aborts_drop_the_same_changes() {
    // stream_v2 with its Stream Abort messages as protocol 4 writes them (abort LSN and time).
    let v4: Vec<Recorded> = capture(STREAM_ABORT_V4);
    let all: Vec<Recorded> = capture(STREAM_V2)
        .into_iter()
        .map(
            |m| match v4.iter().find(|a| a.lsn == m.lsn && a.xid == m.xid) {
                Some(a) => clone(a),
                None => m,
            },
        )
        .collect();
    let mut v2 = Harness::new(2);
    v2.feed_all(&capture(STREAM_V2));
    let mut h = Harness::new(4);
    h.feed_all(&all);
    assert_eq!(h.summary(), v2.summary());
    assert_eq!(ids(&h, "big", "c")[600..], [2001, 2999]);
}

#[test]
fn a_streamed_transaction_spilled_to_disk_is_replayed_the_same() {
    let mut memory = Harness::new(2);
    memory.feed_all(&capture(STREAM_V2));
    let mut disk = Harness::with_config(2, |c| c.stream_buffer_bytes = 1024);
    disk.feed_all(&capture(STREAM_V2));
    assert_eq!(disk.summary(), memory.summary());
}

#[test]
fn a_replay_comes_in_slices_no_larger_than_a_batch() {
    let all = capture(STREAM_V2);
    let first: Vec<Recorded> = transaction(&all, xids(&all)[0])
        .into_iter()
        .map(clone)
        .collect();
    let (commit, chunks) = first.split_last().unwrap();
    let mut h = Harness::new(2);
    h.feed_all(&chunks.iter().map(clone).collect::<Vec<_>>());
    let action = h
        .core
        .handle_xlog(commit.lsn, commit.lsn, commit.data.clone(), NOW, &mut h.out)
        .unwrap();
    assert!(matches!(action, Action::Continue));
    assert!(h.core.replaying() && h.core.in_transaction());
    let mut batches = Vec::new();
    while h.core.replaying() {
        let mut batch = Vec::new();
        let action = h.core.replay_slice(100, NOW, &mut batch).unwrap();
        h.run(action);
        assert!(batch.len() <= 100, "{}", batch.len());
        batches.push(batch.len());
        h.out.extend(batch);
    }
    assert_eq!(batches.iter().sum::<usize>(), 603);
    assert!(batches.len() >= 7, "{batches:?}");
    assert!(!h.core.in_transaction());
    // The transaction is committed for acknowledgement once replayed.
    h.ack_all();
    assert!(h.acks.confirmed() >= commit.lsn, "{}", h.acks.confirmed());
}

#[test]
fn an_incremental_chunk_drops_rows_changed_inside_its_window() {
    use super::{Window, WATERMARK_PREFIX};
    use pgoutput::{ColumnData, TupleData};
    let mut h = Harness::new(1);
    h.feed(Lsn(10), wire::relation(7, "items", b'd', &["id", "note"]));
    h.core
        .expect_window(Window::new("w1".into(), "public.items".into(), vec![0]));
    // Before the low watermark: the chunk saw this change, its read may follow it.
    h.feed(Lsn(20), wire::begin(30, 1));
    h.feed(Lsn(20), wire::insert(7, &[Col::Text("1"), Col::Text("a")]));
    h.feed(Lsn(30), wire::commit(30, 38));
    h.feed(
        Lsn(40),
        wire::message(40, false, WATERMARK_PREFIX, "low:w1"),
    );
    // Inside the window: row 2 changed, so its chunk row is stale.
    h.feed(Lsn(50), wire::begin(60, 2));
    h.feed(Lsn(50), wire::insert(7, &[Col::Text("2"), Col::Text("b2")]));
    h.feed(Lsn(60), wire::commit(60, 68));
    // Another window's watermark is not ours.
    h.feed(
        Lsn(65),
        wire::message(65, false, WATERMARK_PREFIX, "high:w0"),
    );
    assert!(h.closed.is_empty());
    h.feed(
        Lsn(70),
        wire::message(70, false, WATERMARK_PREFIX, "high:w1"),
    );
    assert_eq!(h.closed, [Lsn(70)]);
    let row = |id: &str, note: &str| {
        crate::event::Row::new(TupleData::from_columns([
            ColumnData::Text(id.as_bytes()),
            ColumnData::Text(note.as_bytes()),
        ]))
    };
    let table = match &h.out[0].kind {
        EventKind::Change(c) => c.table.clone(),
        other => panic!("{other:?}"),
    };
    let emitted = h.core.close_window(
        &table,
        vec![row("1", "a"), row("2", "b"), row("3", "c")],
        Lsn(70),
        NOW,
        &mut h.out,
    );
    assert_eq!(emitted, 2);
    assert!(!h.core.window_pending());
    // The watermarks are no events; the reads come after everything before the high one.
    assert_eq!(
        h.summary(),
        ["c items 1", "c items 2", "r items 1", "r items 3"]
    );
    let marks: Vec<&str> = h
        .out
        .iter()
        .map(|e| match &e.kind {
            EventKind::Change(c) => c.source.snapshot,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(marks, ["false", "false", "incremental", "incremental"]);
    let seqs: Vec<u64> = h.out.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4]);
    // After the window, the table's changes are not tracked any more.
    h.feed(
        Lsn(80),
        wire::message(80, false, WATERMARK_PREFIX, "low:w2"),
    );
    assert_eq!(h.out.len(), 4);
}
