//! The CopyBoth stream after `START_REPLICATION`: a cancel-safe, zero-copy reader of
//! CopyData payloads and a writer for status updates, usable together or split for a
//! `select!` loop.

use std::{fmt, os::fd::RawFd, sync::Arc};

use bytes::{BufMut, Bytes, BytesMut};
use postgres_protocol::message::frontend;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{
    client::{PgConnection, Session, CLOSE_LIMIT},
    errors::{is_skipped_publication, log_notice, ServerCtx},
    frame::{self, parse_error_fields, reserve_for_read, tag, try_split_frame, MAX_FRAME_LEN},
    transport::{ReadHalf, Transport, WriteHalf},
    wake::set_receive_low_water,
};
use crate::{Error, ErrorKind, Result};

/// A logical replication stream (CopyBoth mode), from
/// [`PgConnection::start_logical_replication`].
///
/// Use it directly, or [`split`](ReplicationStream::split) it to read and write from
/// different branches of a `select!`. End it with [`finish`](ReplicationStream::finish)
/// (to reuse the connection) or [`close`](ReplicationStream::close).
pub struct ReplicationStream {
    reader: ReplicationReader,
    writer: ReplicationWriter,
}

/// The receiving half of a [`ReplicationStream`].
pub struct ReplicationReader {
    io: ReadHalf,
    /// All received, not yet returned bytes; payloads are split off it without copying.
    buf: BytesMut,
    ctx: Arc<ServerCtx>,
    state: ReadState,
    /// The TCP socket under `io` (None over a Unix-domain socket); `io` keeps it open.
    tcp_fd: Option<RawFd>,
    /// Whether a receive low-water mark above 1 is set (see [`gather`](Self::gather)).
    low_water_set: bool,
}

/// The sending half of a [`ReplicationStream`].
pub struct ReplicationWriter {
    io: WriteHalf,
    buf: BytesMut,
    ctx: Arc<ServerCtx>,
    /// Kept to rebuild the [`PgConnection`] in [`ReplicationStream::finish`].
    session: Session,
    copy_done_sent: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadState {
    Streaming,
    /// The server ended the stream (CopyDone, or CommandComplete at server shutdown).
    Ended,
    /// An error was returned; the stream carries no more data.
    Failed,
}

impl ReplicationStream {
    pub(crate) fn new(conn: PgConnection) -> Self {
        let PgConnection {
            io,
            read_buf,
            write_buf,
            ctx,
            session,
            ..
        } = conn;
        let tcp_fd = io.tcp_fd();
        let (read, write) = io.split();
        ReplicationStream {
            reader: ReplicationReader {
                io: read,
                buf: read_buf,
                ctx: ctx.clone(),
                state: ReadState::Streaming,
                tcp_fd,
                low_water_set: false,
            },
            writer: ReplicationWriter {
                io: write,
                buf: write_buf,
                ctx,
                session,
                copy_done_sent: false,
            },
        }
    }

    /// Splits into a reader and a writer that can be borrowed independently.
    pub fn split(self) -> (ReplicationReader, ReplicationWriter) {
        (self.reader, self.writer)
    }

    /// Puts halves from [`split`](ReplicationStream::split) back together. Fails (with
    /// [`ErrorKind::Config`]) if they came from different streams.
    pub fn unsplit(reader: ReplicationReader, writer: ReplicationWriter) -> Result<Self> {
        let ReplicationReader {
            io: read,
            buf,
            ctx,
            state,
            tcp_fd,
            low_water_set,
        } = reader;
        let ReplicationWriter {
            io: write,
            buf: write_buf,
            ctx: write_ctx,
            session,
            copy_done_sent,
        } = writer;
        // Check by joining the transports and splitting them again (cheap: no I/O).
        let (read, write) =
            match Transport::unsplit(read, write) {
                Ok(transport) => transport.split(),
                Err(_) => return Err(Error::config(
                    "ReplicationStream::unsplit: the reader and writer belong to different streams",
                )),
            };
        Ok(ReplicationStream {
            reader: ReplicationReader {
                io: read,
                buf,
                ctx,
                state,
                tcp_fd,
                low_water_set,
            },
            writer: ReplicationWriter {
                io: write,
                buf: write_buf,
                ctx: write_ctx,
                session,
                copy_done_sent,
            },
        })
    }

    /// See [`ReplicationReader::recv`].
    pub async fn recv(&mut self) -> Result<Option<Bytes>> {
        self.reader.recv().await
    }

    /// See [`ReplicationWriter::send_copy_data`].
    pub async fn send_copy_data(&mut self, payload: &[u8]) -> Result<()> {
        self.writer.send_copy_data(payload).await
    }

    /// See [`ReplicationWriter::send_copy_done`].
    pub async fn send_copy_done(&mut self) -> Result<()> {
        self.writer.send_copy_done().await
    }

    /// Ends streaming and returns the connection, ready for more commands.
    ///
    /// Sends CopyDone (unless already sent), discards data still in flight, and reads the
    /// server's CopyDone and CommandComplete up to ReadyForQuery. A server that does not
    /// answer keeps this waiting; wrap it in a timeout if that matters.
    pub async fn finish(mut self) -> Result<PgConnection> {
        self.end_copy().await?;
        let ReplicationStream { reader, writer } = self;
        let io = Transport::unsplit(reader.io, writer.io)
            .map_err(|_| Error::new(ErrorKind::Protocol, "replication stream halves mismatched"))?;
        Ok(PgConnection {
            io,
            read_buf: reader.buf,
            write_buf: writer.buf,
            ctx: reader.ctx,
            session: writer.session,
            busy: false,
        })
    }

    /// Ends streaming and closes the connection gracefully: CopyDone, read to the end of
    /// the COPY, Terminate, TLS `close_notify`, TCP shutdown. Bounded to a few seconds;
    /// errors are logged at debug level and otherwise ignored.
    pub async fn close(mut self) {
        match tokio::time::timeout(CLOSE_LIMIT, self.end_copy()).await {
            Ok(Ok(())) => {
                let mut goodbye = BytesMut::new();
                frontend::terminate(&mut goodbye);
                let _ = self.writer.write_and_flush(&goodbye).await;
            }
            Ok(Err(e)) => tracing::debug!(error = %e, "error while ending the replication stream"),
            Err(_) => tracing::debug!("timed out ending the replication stream"),
        }
        let _ = tokio::time::timeout(CLOSE_LIMIT, self.writer.io.shutdown()).await;
    }

    /// CopyDone, then drain to ReadyForQuery.
    async fn end_copy(&mut self) -> Result<()> {
        // The replies read below are small: a mark left by a cancelled gather would hold them.
        self.reader.clear_low_water()?;
        let reader = &mut self.reader;
        let writer = &mut self.writer;
        if let Err(e) = writer.send_copy_done().await {
            // After the server ended the stream it may already be gone; reading tells.
            if reader.state == ReadState::Streaming {
                return Err(e);
            }
        }
        let mut error: Option<Error> = None;
        let mut discarded = 0usize;
        loop {
            let frame = match frame::read_frame(&mut reader.io, &mut reader.buf, &reader.ctx).await
            {
                Ok(frame) => frame,
                Err(e) => {
                    reader.state = ReadState::Failed;
                    return Err(error.unwrap_or(e));
                }
            };
            match frame.tag {
                tag::COPY_DATA => discarded += 1,
                // Physical replication may end with a result set (next timeline); ignore.
                tag::COPY_DONE | tag::COMMAND_COMPLETE | tag::ROW_DESCRIPTION | tag::DATA_ROW => {}
                tag::ERROR_RESPONSE => {
                    let db = parse_error_fields(&frame.body);
                    let fatal = matches!(db.severity.as_str(), "FATAL" | "PANIC");
                    let e = reader.ctx.server_error(db);
                    if fatal {
                        reader.state = ReadState::Failed;
                        return Err(e);
                    }
                    error.get_or_insert(e);
                }
                tag::NOTICE_RESPONSE => log_notice(&parse_error_fields(&frame.body)),
                tag::PARAMETER_STATUS => {
                    let mut body = frame::Body(&frame.body);
                    if let (Some(name), Some(value)) = (body.cstr(), body.cstr()) {
                        writer
                            .session
                            .parameters
                            .insert(name.to_owned(), value.to_owned());
                    }
                }
                tag::READY_FOR_QUERY => break,
                other => {
                    reader.state = ReadState::Failed;
                    return Err(reader.ctx.protocol(format!(
                        "unexpected message {:?} while ending replication",
                        other as char
                    )));
                }
            }
        }
        if reader.state == ReadState::Streaming {
            reader.state = ReadState::Ended;
        }
        tracing::debug!(discarded, "replication stream ended");
        error.map_or(Ok(()), Err)
    }
}

impl ReplicationReader {
    /// The payload of the next CopyData message: for logical replication an XLogData
    /// (`w`) or primary keepalive (`k`) message.
    ///
    /// Returns `Ok(None)` once the server ends the stream (CopyDone, or CommandComplete
    /// when it shuts down), and from then on. A server `ErrorResponse` (e.g. the
    /// publication does not exist, or the session was terminated) is returned with its
    /// [`crate::DbError`], and so is PostgreSQL 18's warning that it skipped a publication
    /// missing at this point in the WAL (earlier versions report that as an error); end of
    /// file is an [`ErrorKind::Connection`] error.
    ///
    /// Cancel-safe: if the future is dropped (e.g. another `select!` branch won), no data
    /// is lost; the next call continues where this one stopped. The returned `Bytes` shares
    /// the read buffer (no copy).
    pub async fn recv(&mut self) -> Result<Option<Bytes>> {
        self.clear_low_water()?;
        loop {
            match self.state {
                ReadState::Streaming => {}
                ReadState::Ended => return Ok(None),
                ReadState::Failed => {
                    return Err(Error::new(
                        ErrorKind::Closed,
                        "the replication stream already failed; reconnect to continue",
                    ))
                }
            }
            // Drain complete frames before reading more, so a burst costs one read.
            while let Some(frame) = self.next_buffered()? {
                match frame.tag {
                    tag::COPY_DATA => return Ok(Some(frame.body)),
                    tag::COPY_DONE | tag::COMMAND_COMPLETE => {
                        tracing::debug!(
                            tag = %(frame.tag as char),
                            "the server ended the replication stream"
                        );
                        self.state = ReadState::Ended;
                        return Ok(None);
                    }
                    tag::ERROR_RESPONSE => {
                        self.state = ReadState::Failed;
                        return Err(self.ctx.server_error(parse_error_fields(&frame.body)));
                    }
                    tag::NOTICE_RESPONSE => {
                        let notice = parse_error_fields(&frame.body);
                        if is_skipped_publication(&notice) {
                            self.state = ReadState::Failed;
                            return Err(self.ctx.skipped_publication(notice));
                        }
                        log_notice(&notice);
                    }
                    tag::PARAMETER_STATUS => {}
                    other => {
                        self.state = ReadState::Failed;
                        return Err(self.ctx.protocol(format!(
                            "unexpected message {:?} during replication",
                            other as char
                        )));
                    }
                }
            }
            self.fill().await?;
        }
    }

    /// Reads what the socket has into the buffer, waiting until it has something.
    /// Cancel-safe: `read_buf` either appends bytes or does nothing.
    async fn fill(&mut self) -> Result<()> {
        reserve_for_read(&mut self.buf);
        match self.io.read_buf(&mut self.buf).await {
            Ok(0) => {
                self.state = ReadState::Failed;
                Err(self.ctx.eof())
            }
            Ok(_) => Ok(()),
            Err(e) => {
                self.state = ReadState::Failed;
                Err(self.ctx.io(e))
            }
        }
    }

    /// Waits until the socket has at least `bytes` queued, or until `until`, without being
    /// woken for each segment that arrives meanwhile (see [`wake`](super::wake)), and reads
    /// what is there into the buffer for [`recv`](Self::recv). Over a Unix-domain socket, or
    /// where the low-water mark is unavailable, it waits until `until`.
    ///
    /// Cancel-safe: a mark left by a cancelled call is reset by the next `recv` or `gather`.
    pub(crate) async fn gather(&mut self, bytes: usize, until: tokio::time::Instant) -> Result<()> {
        self.clear_low_water()?;
        if !self.set_low_water(bytes) {
            tokio::time::sleep_until(until).await;
            return Ok(());
        }
        let read = tokio::select! {
            _ = tokio::time::sleep_until(until) => Ok(()),
            read = self.fill() => read,
        };
        self.clear_low_water()?;
        read
    }

    fn set_low_water(&mut self, bytes: usize) -> bool {
        let Some(fd) = self.tcp_fd else {
            return false;
        };
        if self.state != ReadState::Streaming {
            return false;
        }
        match set_receive_low_water(fd, bytes) {
            Ok(()) => {
                self.low_water_set = true;
                true
            }
            Err(e) => {
                tracing::debug!(error = %e, "no receive low-water mark; lingering on a timer alone");
                self.tcp_fd = None;
                false
            }
        }
    }

    /// Back to waking for any byte. A socket that cannot be reset is given up on: it would
    /// hold back small messages.
    fn clear_low_water(&mut self) -> Result<()> {
        if !self.low_water_set {
            return Ok(());
        }
        self.low_water_set = false;
        let Some(fd) = self.tcp_fd else {
            return Ok(());
        };
        set_receive_low_water(fd, 1).map_err(|e| {
            self.state = ReadState::Failed;
            Error::new(
                ErrorKind::Connection,
                format!("could not reset the socket's receive low-water mark: {e}"),
            )
        })
    }

    /// Whether the connection is a Unix-domain socket (a local server).
    pub fn is_unix_socket(&self) -> bool {
        matches!(self.io, ReadHalf::Unix(_))
    }

    /// The next CopyData payload if one is already complete in the buffer, without waiting
    /// or reading. Any other message (or an incomplete one) is left for [`recv`](Self::recv),
    /// which handles it.
    ///
    /// A burst of small messages arrives in one read; taking them here lets a caller handle
    /// the whole burst without setting up its timers once per message.
    #[inline]
    pub fn try_recv_buffered(&mut self) -> Result<Option<Bytes>> {
        if self.state != ReadState::Streaming || self.buf.first() != Some(&tag::COPY_DATA) {
            return Ok(None);
        }
        Ok(self.next_buffered()?.map(|frame| frame.body))
    }

    /// The next complete frame already in the buffer.
    #[inline]
    fn next_buffered(&mut self) -> Result<Option<frame::Frame>> {
        try_split_frame(&mut self.buf).map_err(|msg| {
            self.state = ReadState::Failed;
            self.ctx.protocol(msg)
        })
    }

    /// Whether the server has ended the stream (`recv` returned `None`).
    pub fn is_ended(&self) -> bool {
        self.state == ReadState::Ended
    }
}

impl ReplicationWriter {
    /// Sends one CopyData message (e.g. a standby status update) and flushes.
    ///
    /// Not cancel-safe: a dropped call may leave a partial message behind, after which the
    /// connection must be discarded. Await it to completion (e.g. inside a `select!`
    /// branch's handler, not as a branch's future).
    pub async fn send_copy_data(&mut self, payload: &[u8]) -> Result<()> {
        if self.copy_done_sent {
            return Err(Error::new(
                ErrorKind::Closed,
                "cannot send CopyData after CopyDone on the replication stream",
            ));
        }
        if payload.len() > MAX_FRAME_LEN - 4 {
            return Err(Error::new(
                ErrorKind::Protocol,
                "CopyData payload larger than 1 GiB",
            ));
        }
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        buf.reserve(5 + payload.len());
        buf.put_u8(b'd');
        buf.put_u32((payload.len() + 4) as u32);
        buf.put_slice(payload);
        let result = self.write_and_flush(&buf).await;
        self.buf = buf;
        result
    }

    /// Sends CopyDone, asking the server to end the stream; the reader then sees the
    /// remaining data and `None`. Does nothing if already sent.
    pub async fn send_copy_done(&mut self) -> Result<()> {
        if self.copy_done_sent {
            return Ok(());
        }
        // Marked first: a failed attempt must not be retried into a half-written stream.
        self.copy_done_sent = true;
        let mut msg = BytesMut::with_capacity(5);
        frontend::copy_done(&mut msg);
        self.write_and_flush(&msg).await
    }

    /// Closes the connection from the writing side alone, for when the reader is owned
    /// elsewhere: CopyDone, Terminate (the server ends the session at once), TLS
    /// `close_notify` and TCP shutdown. Bounded to a few seconds; errors are ignored.
    /// Use [`ReplicationStream::close`] to also wait for the server to acknowledge.
    pub async fn close(mut self) {
        let mut goodbye = BytesMut::with_capacity(10);
        if !self.copy_done_sent {
            frontend::copy_done(&mut goodbye);
        }
        frontend::terminate(&mut goodbye);
        let result = tokio::time::timeout(CLOSE_LIMIT, async {
            self.write_and_flush(&goodbye).await?;
            self.io.shutdown().await.map_err(|e| self.ctx.io(e))
        })
        .await;
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::debug!(error = %e, "error while closing the replication stream"),
            Err(_) => tracing::debug!("timed out closing the replication stream"),
        }
    }

    /// Whether CopyDone has been sent.
    pub fn is_copy_done_sent(&self) -> bool {
        self.copy_done_sent
    }

    async fn write_and_flush(&mut self, bytes: &[u8]) -> Result<()> {
        self.io.write_all(bytes).await.map_err(|e| self.ctx.io(e))?;
        self.io.flush().await.map_err(|e| self.ctx.io(e))
    }
}

impl fmt::Debug for ReplicationStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplicationStream")
            .field("reader", &self.reader)
            .field("writer", &self.writer)
            .finish()
    }
}

impl fmt::Debug for ReplicationReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplicationReader")
            .field("server", &self.ctx.target().to_string())
            .field("state", &self.state)
            .field("buffered", &self.buf.len())
            .finish()
    }
}

impl fmt::Debug for ReplicationWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplicationWriter")
            .field("server", &self.ctx.target().to_string())
            .field("copy_done_sent", &self.copy_done_sent)
            .finish()
    }
}
