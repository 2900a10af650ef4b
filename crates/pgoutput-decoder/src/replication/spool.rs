//! Buffers the chunks of large transactions that the server streams before they commit
//! (pgoutput `streaming`), so the server never spills them to its own disk.
//!
//! Chunks stay in memory up to a byte limit shared by all open transactions; past it, the
//! transaction being added to moves to an unnamed temporary file. Messages are copied into
//! one buffer per transaction and the limit counts that buffer's allocation: keeping the
//! received frames instead would pin the much larger read buffers they were cut from (a
//! 64 MiB limit held 270 MB for a 1,000,000-row transaction). On commit the raw messages
//! are replayed through the decoder as one ordinary transaction; on abort they are dropped
//! (whole transaction, or one subtransaction's changes).
//!
//! With two-phase decoding, prepared transactions wait here too, from BEGIN PREPARE (or their
//! streamed chunks) until COMMIT PREPARED replays them or ROLLBACK PREPARED drops them.

use std::{
    collections::{HashMap, HashSet},
    fs::File,
    io::{BufReader, BufWriter, Read, Write},
};

use bytes::Bytes;
use pgoutput::Lsn;

use crate::{Error, ErrorKind, Result};

/// One held message: its LSN and where its bytes end in [`SpooledTransaction::data`].
type Entry = (Lsn, usize);

#[derive(Default)]
struct SpooledTransaction {
    /// The held messages' bytes, back to back.
    data: Vec<u8>,
    entries: Vec<Entry>,
    /// Heap bytes of `data` and `entries` (their capacities).
    memory_bytes: usize,
    file: Option<BufWriter<File>>,
    aborted_subxids: HashSet<u32>,
    /// Messages sent outside a stream block (a prepared transaction's BEGIN PREPARE ...
    /// PREPARE): their data messages carry no leading xid.
    unstreamed: bool,
}

/// Open streamed transactions by top-level xid.
pub(crate) struct Spool {
    limit_bytes: usize,
    memory_bytes: usize,
    transactions: HashMap<u32, SpooledTransaction>,
}

fn io_error(what: &str, e: std::io::Error) -> Error {
    Error::new(
        ErrorKind::Io,
        format!("could not {what} the temporary file of a large transaction"),
    )
    .with_source(e)
}

impl Spool {
    pub(crate) fn new(limit_bytes: usize) -> Self {
        Spool {
            limit_bytes,
            memory_bytes: 0,
            transactions: HashMap::new(),
        }
    }

    /// Bytes held in memory across all open transactions.
    #[cfg(test)]
    pub(crate) fn memory_bytes(&self) -> usize {
        self.memory_bytes
    }

    /// Starts (or starts again, dropping what was held) the prepared transaction `xid` whose
    /// messages arrive outside stream blocks, between BEGIN PREPARE and PREPARE.
    pub(crate) fn begin_unstreamed(&mut self, xid: u32) {
        self.abort(xid, xid);
        self.transactions.insert(
            xid,
            SpooledTransaction {
                unstreamed: true,
                ..SpooledTransaction::default()
            },
        );
    }

    /// Adds one raw message (still carrying its xid prefix) of streamed transaction `xid`, or
    /// of a prepared transaction started with [`begin_unstreamed`](Self::begin_unstreamed).
    pub(crate) fn push(&mut self, xid: u32, lsn: Lsn, raw: Bytes) -> Result<()> {
        let tx = self.transactions.entry(xid).or_default();
        if let Some(file) = tx.file.as_mut() {
            return write_entry(file, lsn, &raw);
        }
        tx.data.extend_from_slice(&raw);
        tx.entries.push((lsn, tx.data.len()));
        let held = tx.data.capacity() + tx.entries.capacity() * std::mem::size_of::<Entry>();
        self.memory_bytes = self.memory_bytes - tx.memory_bytes + held;
        tx.memory_bytes = held;
        if self.memory_bytes > self.limit_bytes {
            // Past the bound: this transaction continues on disk.
            let mut file = BufWriter::with_capacity(
                1 << 16,
                tempfile::tempfile().map_err(|e| io_error("create", e))?,
            );
            let mut start = 0;
            for &(lsn, end) in &tx.entries {
                write_entry(&mut file, lsn, &tx.data[start..end])?;
                start = end;
            }
            tx.data = Vec::new();
            tx.entries = Vec::new();
            self.memory_bytes -= tx.memory_bytes;
            tx.memory_bytes = 0;
            tx.file = Some(file);
            tracing::debug!(
                xid,
                "large streamed transaction spilled to a temporary file"
            );
        }
        Ok(())
    }

    /// The server aborted transaction `xid`, or only its subtransaction `subxid`.
    pub(crate) fn abort(&mut self, xid: u32, subxid: u32) {
        if xid == subxid {
            if let Some(tx) = self.transactions.remove(&xid) {
                self.memory_bytes -= tx.memory_bytes;
            }
        } else if let Some(tx) = self.transactions.get_mut(&xid) {
            tx.aborted_subxids.insert(subxid);
        }
    }

    /// The transaction committed: its messages, in order, without aborted subtransactions.
    pub(crate) fn take(&mut self, xid: u32) -> Result<Replay> {
        let Some(tx) = self.transactions.remove(&xid) else {
            return Ok(Replay::default());
        };
        self.memory_bytes -= tx.memory_bytes;
        let file = match tx.file {
            Some(writer) => {
                let mut file = writer
                    .into_inner()
                    .map_err(|e| io_error("write", e.into_error()))?;
                use std::io::Seek;
                file.rewind().map_err(|e| io_error("read", e))?;
                Some(BufReader::with_capacity(1 << 16, file))
            }
            None => None,
        };
        Ok(Replay {
            file,
            data: Bytes::from(tx.data),
            entries: tx.entries.into_iter(),
            start: 0,
            aborted_subxids: tx.aborted_subxids,
            streamed: !tx.unstreamed,
        })
    }

    /// Forgets everything (after a reconnect the server streams open transactions again).
    pub(crate) fn clear(&mut self) {
        self.transactions.clear();
        self.memory_bytes = 0;
    }
}

fn write_entry(file: &mut BufWriter<File>, lsn: Lsn, raw: &[u8]) -> Result<()> {
    let len = u32::try_from(raw.len())
        .map_err(|_| Error::new(ErrorKind::Protocol, "a streamed message over 4 GiB"))?;
    file.write_all(&lsn.0.to_be_bytes())
        .and_then(|()| file.write_all(&len.to_be_bytes()))
        .and_then(|()| file.write_all(raw))
        .map_err(|e| io_error("write", e))
}

/// The messages of a committed streamed transaction, read back in order.
#[derive(Default)]
pub(crate) struct Replay {
    file: Option<BufReader<File>>,
    /// What was held in memory: the bytes and where each message ends.
    data: Bytes,
    entries: std::vec::IntoIter<Entry>,
    start: usize,
    pub(crate) aborted_subxids: HashSet<u32>,
    /// Whether the messages were sent inside stream blocks (with a leading xid).
    pub(crate) streamed: bool,
}

impl Replay {
    /// Whether there is nothing to replay.
    pub(crate) fn is_empty(&self) -> bool {
        self.file.is_none() && self.entries.len() == 0
    }

    /// The next message, or `None` at the end.
    pub(crate) fn next_message(&mut self) -> Result<Option<(Lsn, Bytes)>> {
        if let Some(file) = self.file.as_mut() {
            let mut head = [0u8; 12];
            match file.read_exact(&mut head) {
                Ok(()) => {
                    let lsn = Lsn(u64::from_be_bytes(head[..8].try_into().expect("8 bytes")));
                    let len = u32::from_be_bytes(head[8..].try_into().expect("4 bytes")) as usize;
                    let mut raw = vec![0u8; len];
                    file.read_exact(&mut raw).map_err(|e| io_error("read", e))?;
                    return Ok(Some((lsn, Bytes::from(raw))));
                }
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => self.file = None,
                Err(e) => return Err(io_error("read", e)),
            }
        }
        Ok(self.entries.next().map(|(lsn, end)| {
            let raw = self.data.slice(self.start..end);
            self.start = end;
            (lsn, raw)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(mut r: Replay) -> Vec<(Lsn, Bytes)> {
        std::iter::from_fn(|| r.next_message().unwrap()).collect()
    }

    #[test]
    fn keeps_order_in_memory_and_on_disk() {
        let mut spool = Spool::new(300);
        spool.push(1, Lsn(1), Bytes::from_static(b"abc")).unwrap();
        spool.push(2, Lsn(2), Bytes::from_static(b"x")).unwrap();
        let two = spool.memory_bytes() - spool.transactions[&1].memory_bytes;
        assert!(two > 0 && two < 300, "{two}");
        for i in 0..50u64 {
            spool
                .push(1, Lsn(10 + i), Bytes::from(vec![i as u8; 4]))
                .unwrap();
        }
        // Transaction 1 went to disk; transaction 2 is still in memory.
        assert!(spool.transactions[&1].file.is_some());
        assert_eq!(spool.memory_bytes(), two);
        let one = drain(spool.take(1).unwrap());
        assert_eq!(one.len(), 51);
        assert_eq!(one[0], (Lsn(1), Bytes::from_static(b"abc")));
        assert_eq!(one[50], (Lsn(59), Bytes::from(vec![49u8; 4])));
        assert_eq!(
            drain(spool.take(2).unwrap()),
            [(Lsn(2), Bytes::from_static(b"x"))]
        );
        assert_eq!(spool.memory_bytes(), 0);
    }

    #[test]
    fn the_bound_counts_what_is_allocated_not_what_the_frames_pin() {
        // Small messages cut from one large frame: what is held is their own bytes.
        let frame = Bytes::from(vec![7u8; 1 << 20]);
        let mut spool = Spool::new(1 << 20);
        for i in 0..1000 {
            spool
                .push(
                    1,
                    Lsn(i),
                    frame.slice(i as usize * 10..i as usize * 10 + 10),
                )
                .unwrap();
        }
        drop(frame);
        let held = spool.memory_bytes();
        assert!((10_000 + 16_000..64_000).contains(&held), "{held}");
        let replay = drain(spool.take(1).unwrap());
        assert_eq!(replay.len(), 1000);
        assert!(replay.iter().all(|(_, raw)| raw.len() == 10));
    }

    #[test]
    fn abort_drops_the_transaction_or_remembers_the_subtransaction() {
        let mut spool = Spool::new(1 << 20);
        spool.push(5, Lsn(1), Bytes::from_static(b"a")).unwrap();
        spool.abort(5, 6);
        assert!(spool.take(5).unwrap().aborted_subxids.contains(&6));
        spool.push(7, Lsn(1), Bytes::from_static(b"a")).unwrap();
        spool.abort(7, 7);
        assert_eq!(spool.memory_bytes(), 0);
        assert!(drain(spool.take(7).unwrap()).is_empty());
    }

    #[test]
    fn a_prepared_transaction_sent_again_replaces_what_was_held() {
        let mut spool = Spool::new(1 << 20);
        spool.begin_unstreamed(9);
        spool.push(9, Lsn(1), Bytes::from_static(b"old")).unwrap();
        spool.begin_unstreamed(9);
        spool.push(9, Lsn(1), Bytes::from_static(b"new")).unwrap();
        assert!(spool.memory_bytes() >= 3 + 16);
        let replay = spool.take(9).unwrap();
        assert!(!replay.streamed && !replay.is_empty());
        assert_eq!(drain(replay), [(Lsn(1), Bytes::from_static(b"new"))]);
        assert_eq!(spool.memory_bytes(), 0);
    }
}
