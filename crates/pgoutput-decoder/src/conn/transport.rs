//! The byte stream under a connection: plain TCP, TLS over TCP or a Unix-domain socket,
//! whole or split into halves for the replication stream.

use std::{
    io,
    os::fd::{AsRawFd, RawFd},
    pin::Pin,
    task::{Context, Poll},
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{
        tcp::{OwnedReadHalf, OwnedWriteHalf},
        unix, TcpStream, UnixStream,
    },
};
use tokio_rustls::client::TlsStream;

/// A connected stream, with or without TLS.
pub(crate) enum Transport {
    Plain(TcpStream),
    // Boxed: a rustls session is large and most of the enum's life is spent as a field.
    Tls(Box<TlsStream<TcpStream>>),
    /// A local Unix-domain socket (never with TLS, as in libpq).
    Unix(UnixStream),
}

/// The read half of a split [`Transport`].
pub(crate) enum ReadHalf {
    // Plain TCP splits without a lock (separate owned halves).
    Plain(OwnedReadHalf),
    // A TLS session is shared state, so its halves share it through tokio's split.
    Tls(tokio::io::ReadHalf<TlsStream<TcpStream>>),
    Unix(unix::OwnedReadHalf),
}

/// The write half of a split [`Transport`].
pub(crate) enum WriteHalf {
    Plain(OwnedWriteHalf),
    Tls(tokio::io::WriteHalf<TlsStream<TcpStream>>),
    Unix(unix::OwnedWriteHalf),
}

impl Transport {
    /// Whether the stream is encrypted.
    pub(crate) fn is_tls(&self) -> bool {
        matches!(self, Transport::Tls(_))
    }

    /// The server's end-entity certificate (DER), when on TLS.
    pub(crate) fn peer_certificate(&self) -> Option<&[u8]> {
        match self {
            Transport::Plain(_) | Transport::Unix(_) => None,
            Transport::Tls(tls) => tls
                .get_ref()
                .1
                .peer_certificates()?
                .first()
                .map(|c| c.as_ref()),
        }
    }

    /// The TCP socket under the stream (TLS or not), for socket options tokio does not
    /// expose. Valid while the stream, or a half of it, is alive.
    pub(crate) fn tcp_fd(&self) -> Option<RawFd> {
        match self {
            Transport::Plain(tcp) => Some(tcp.as_raw_fd()),
            Transport::Tls(tls) => Some(tls.get_ref().0.as_raw_fd()),
            Transport::Unix(_) => None,
        }
    }

    /// Splits into independently usable halves.
    pub(crate) fn split(self) -> (ReadHalf, WriteHalf) {
        match self {
            Transport::Plain(tcp) => {
                let (r, w) = tcp.into_split();
                (ReadHalf::Plain(r), WriteHalf::Plain(w))
            }
            Transport::Tls(tls) => {
                let (r, w) = tokio::io::split(*tls);
                (ReadHalf::Tls(r), WriteHalf::Tls(w))
            }
            Transport::Unix(unix) => {
                let (r, w) = unix.into_split();
                (ReadHalf::Unix(r), WriteHalf::Unix(w))
            }
        }
    }

    /// Joins halves that came from the same [`Transport::split`]; hands them back if not.
    pub(crate) fn unsplit(
        read: ReadHalf,
        write: WriteHalf,
    ) -> Result<Transport, (ReadHalf, WriteHalf)> {
        match (read, write) {
            (ReadHalf::Plain(r), WriteHalf::Plain(w)) => match r.reunite(w) {
                Ok(tcp) => Ok(Transport::Plain(tcp)),
                Err(e) => Err((ReadHalf::Plain(e.0), WriteHalf::Plain(e.1))),
            },
            (ReadHalf::Unix(r), WriteHalf::Unix(w)) => match r.reunite(w) {
                Ok(unix) => Ok(Transport::Unix(unix)),
                Err(e) => Err((ReadHalf::Unix(e.0), WriteHalf::Unix(e.1))),
            },
            (ReadHalf::Tls(r), WriteHalf::Tls(w)) if r.is_pair_of(&w) => {
                Ok(Transport::Tls(Box::new(r.unsplit(w))))
            }
            (r, w) => Err((r, w)),
        }
    }
}

macro_rules! delegate_read {
    ($ty:ty, $($variant:ident),+) => {
        impl AsyncRead for $ty {
            #[inline]
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                match self.get_mut() {
                    $(Self::$variant(s) => Pin::new(s).poll_read(cx, buf),)+
                }
            }
        }
    };
}

macro_rules! delegate_write {
    ($ty:ty, $($variant:ident),+) => {
        impl AsyncWrite for $ty {
            #[inline]
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                match self.get_mut() {
                    $(Self::$variant(s) => Pin::new(s).poll_write(cx, buf),)+
                }
            }

            #[inline]
            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                match self.get_mut() {
                    $(Self::$variant(s) => Pin::new(s).poll_flush(cx),)+
                }
            }

            #[inline]
            fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                match self.get_mut() {
                    $(Self::$variant(s) => Pin::new(s).poll_shutdown(cx),)+
                }
            }
        }
    };
}

delegate_read!(Transport, Plain, Tls, Unix);
delegate_write!(Transport, Plain, Tls, Unix);
delegate_read!(ReadHalf, Plain, Tls, Unix);
delegate_write!(WriteHalf, Plain, Tls, Unix);
