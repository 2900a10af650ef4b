//! Opening the connection: name resolution, connect with a timeout, keepalive; or a
//! Unix-domain socket when the host is a directory.

use std::{future::Future, io, net::SocketAddr, time::Duration};

use tokio::net::{TcpStream, UnixStream};

use super::{
    errors::ServerCtx,
    params::{unix_socket_path, ConnectParams},
};
use crate::{Error, ErrorKind, Result};

/// Keepalive timing. The kernel default (2 h idle) would leave a silently dropped
/// replication connection undetected for hours; this notices it in about two minutes.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(60);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "macos",
    target_os = "freebsd"
))]
const KEEPALIVE_RETRIES: u32 = 6;

/// Runs `fut` with a limit; a zero limit means none (libpq's `connect_timeout=0`).
pub(crate) async fn with_limit<F: Future>(limit: Duration, fut: F) -> Option<F::Output> {
    if limit.is_zero() {
        Some(fut.await)
    } else {
        tokio::time::timeout(limit, fut).await.ok()
    }
}

/// Resolves the host to the addresses to try, in resolver order.
pub(crate) async fn resolve(params: &ConnectParams, ctx: &ServerCtx) -> Result<Vec<SocketAddr>> {
    let lookup = tokio::net::lookup_host((params.host.as_str(), params.port));
    let addrs = match with_limit(params.connect_timeout, lookup).await {
        Some(Ok(addrs)) => addrs.collect::<Vec<_>>(),
        Some(Err(e)) => {
            return Err(Error::new(
                ErrorKind::Connection,
                format!(
                    "could not connect to {}: could not resolve host name \"{}\" — check the \
                     host setting and DNS",
                    ctx.target(),
                    params.host
                ),
            )
            .with_source(e))
        }
        None => {
            return Err(Error::new(
                ErrorKind::Connection,
                format!(
                    "could not connect to {}: resolving host name \"{}\" timed out after {:?}",
                    ctx.target(),
                    params.host,
                    params.connect_timeout
                ),
            ))
        }
    };
    if addrs.is_empty() {
        return Err(Error::new(
            ErrorKind::Connection,
            format!(
                "could not connect to {}: host name \"{}\" has no addresses",
                ctx.target(),
                params.host
            ),
        ));
    }
    Ok(addrs)
}

/// Connects to one address, with `connect_timeout`, `TCP_NODELAY` and keepalives.
pub(crate) async fn connect_addr(
    addr: SocketAddr,
    params: &ConnectParams,
    ctx: &ServerCtx,
) -> Result<TcpStream> {
    // Show the address only when it adds information (host was a name).
    let via = if params.host.parse::<std::net::IpAddr>().is_ok() {
        String::new()
    } else {
        format!(" ({addr})")
    };
    let stream = match with_limit(params.connect_timeout, TcpStream::connect(addr)).await {
        Some(Ok(stream)) => stream,
        Some(Err(e)) => {
            let reason = match e.kind() {
                io::ErrorKind::ConnectionRefused => {
                    "connection refused — is PostgreSQL running and accepting TCP connections \
                     there (listen_addresses, port)?"
                        .to_owned()
                }
                io::ErrorKind::TimedOut => {
                    "connection timed out — is the host reachable and the port open (firewall)?"
                        .to_owned()
                }
                // The system's reason follows as the cause.
                _ => "check the host and port settings and the network".to_owned(),
            };
            return Err(Error::new(
                ErrorKind::Connection,
                format!("could not connect to {}{via}: {reason}", ctx.target()),
            )
            .with_source(e));
        }
        None => {
            return Err(Error::new(
                ErrorKind::Connection,
                format!(
                    "could not connect to {}{via}: timed out after {:?} (connect_timeout) — is \
                     the host reachable and the port open (firewall)?",
                    ctx.target(),
                    params.connect_timeout
                ),
            ))
        }
    };
    // Small protocol messages (status updates) must not wait for Nagle's algorithm.
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(error = %e, "could not set TCP_NODELAY");
    }
    if params.keepalives {
        let keepalive = socket2::TcpKeepalive::new()
            .with_time(KEEPALIVE_IDLE)
            .with_interval(KEEPALIVE_INTERVAL);
        #[cfg(any(
            target_os = "linux",
            target_os = "android",
            target_os = "macos",
            target_os = "freebsd"
        ))]
        let keepalive = keepalive.with_retries(KEEPALIVE_RETRIES);
        if let Err(e) = socket2::SockRef::from(&stream).set_tcp_keepalive(&keepalive) {
            tracing::debug!(error = %e, "could not enable TCP keepalive");
        }
    }
    Ok(stream)
}

/// Connects to the Unix-domain socket of `params.host` (a directory), with `connect_timeout`.
pub(crate) async fn connect_unix(params: &ConnectParams, ctx: &ServerCtx) -> Result<UnixStream> {
    let path = unix_socket_path(&params.host, params.port);
    match with_limit(params.connect_timeout, UnixStream::connect(&path)).await {
        Some(Ok(stream)) => Ok(stream),
        Some(Err(e)) => {
            let hint = match e.kind() {
                io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => {
                    "is PostgreSQL running there and listening on this socket \
                     (unix_socket_directories, port)?"
                }
                io::ErrorKind::PermissionDenied => {
                    "this user may not open the socket (check the directory's permissions)"
                }
                _ => "check the host (socket directory) and port settings",
            };
            Err(Error::new(
                ErrorKind::Connection,
                // The system's reason follows as the cause.
                format!("could not connect to {}: {hint}", ctx.target()),
            )
            .with_source(e))
        }
        None => Err(Error::new(
            ErrorKind::Connection,
            format!(
                "could not connect to {}: timed out after {:?} (connect_timeout)",
                ctx.target(),
                params.connect_timeout
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    /// The system's reason appears once in the rendered message: as the cause.
    #[tokio::test]
    async fn a_missing_socket_names_its_cause_once() {
        let dir = tempfile::tempdir().unwrap();
        let params = ConnectParams {
            host: dir.path().to_str().unwrap().to_owned(),
            port: 1,
            ..Default::default()
        };
        let e = connect_unix(&params, &ServerCtx::new(&params, false))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Connection);
        let cause = e.source().expect("the I/O error is the source");
        let io = cause.downcast_ref::<io::Error>().expect("an io::Error");
        assert_eq!(io.kind(), io::ErrorKind::NotFound);
        let rendered = e.to_string();
        assert_eq!(rendered.matches(&io.to_string()).count(), 1, "{rendered}");
        assert_eq!(
            rendered,
            format!(
                "could not connect to socket \"{}/.s.PGSQL.1\": is PostgreSQL running there and \
                 listening on this socket (unix_socket_directories, port)? (cause: {io})",
                params.host
            )
        );
    }
}
