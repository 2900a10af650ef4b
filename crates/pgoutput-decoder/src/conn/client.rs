//! [`PgConnection`]: connection setup (TCP, TLS, startup, authentication), the simple query
//! protocol, and the asynchronous messages (notices, parameter changes) that can arrive
//! at any time.

use std::{collections::HashMap, fmt, net::SocketAddr, sync::Arc, time::Duration};

use bytes::BytesMut;
use postgres_protocol::message::frontend;
use tokio::io::AsyncWriteExt;

use super::{
    auth::{self, AuthChannel, AuthMethod},
    errors::Target,
    errors::{log_notice, ServerCtx},
    frame::{self, parse_error_fields, tag, Body, Frame},
    params::{ConnectParams, SslMode, TargetSessionAttrs},
    rows::{parse_data_row, parse_row_description, SimpleRow},
    socket::{self, with_limit},
    tls,
    transport::Transport,
};
use crate::{Error, ErrorKind, Result};

/// How long [`PgConnection::close`] waits for the goodbye to be written.
pub(crate) const CLOSE_LIMIT: Duration = Duration::from_secs(5);

/// What the server told us at startup (and later through `ParameterStatus`).
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) parameters: HashMap<String, String>,
    pub(crate) backend_pid: i32,
    pub(crate) server_version_num: u32,
    pub(crate) auth_method: AuthMethod,
    pub(crate) replication: bool,
}

/// A connection to a PostgreSQL server, optionally in logical replication mode.
///
/// Requests take `&mut self`, so one runs at a time. If a request future is dropped
/// before it completes (e.g. by a timeout), the protocol state is unknown and later
/// requests fail with [`ErrorKind::Connection`]; open a new connection then.
pub struct PgConnection {
    pub(crate) io: Transport,
    pub(crate) read_buf: BytesMut,
    pub(crate) write_buf: BytesMut,
    pub(crate) ctx: Arc<ServerCtx>,
    pub(crate) session: Session,
    /// Set from sending a request until its `ReadyForQuery`; still set afterwards means the
    /// request was abandoned midway or failed fatally.
    pub(crate) busy: bool,
}

impl fmt::Debug for PgConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgConnection")
            .field("server", &self.ctx.target().to_string())
            .field("user", &self.ctx.user)
            .field("dbname", &self.ctx.dbname)
            .field("tls", &self.io.is_tls())
            .field("backend_pid", &self.session.backend_pid)
            .field("server_version_num", &self.session.server_version_num)
            .field("replication", &self.session.replication)
            .finish()
    }
}

impl PgConnection {
    /// Connects and authenticates.
    ///
    /// Resolves the host and tries each address until a TCP connection succeeds, then
    /// negotiates TLS per `sslmode`, sends the startup message (`client_encoding=UTF8`,
    /// `DateStyle=ISO`, and `replication=database` when `replication` is true) and
    /// authenticates (trust, password, md5, SCRAM-SHA-256, SCRAM-SHA-256-PLUS over TLS).
    /// TCP connect and the TLS/startup phase each get `connect_timeout`.
    ///
    /// With `sslmode=prefer`, a failed TLS handshake or a TLS connection rejected by
    /// `pg_hba.conf` is retried once without TLS, as libpq does.
    ///
    /// With several hosts ([`ConnectParams::alternate_hosts`]), they are tried in order and
    /// the first one that accepts the connection and matches
    /// [`ConnectParams::target_session_attrs`] is used (checked with
    /// `pg_is_in_recovery()` and `transaction_read_only`, which also work on a
    /// `replication=database` connection). If none does, the error names every host tried
    /// and why it was not used; it is a [`ErrorKind::Connection`] error (worth retrying) if
    /// any host failed for a reason that may pass, such as a refused connection or a
    /// standby that is not promoted yet.
    pub async fn connect(params: &ConnectParams, replication: bool) -> Result<PgConnection> {
        let want = params.target_session_attrs;
        let hosts = params.hosts();
        let mut failures = Vec::with_capacity(hosts.len());
        for (host, port) in &hosts {
            let one = params.for_host(host, *port);
            let attempt = async {
                let mut conn = Self::connect_host(&one, replication).await?;
                match conn.check_session_attrs(want).await {
                    Ok(()) => Ok(conn),
                    Err(e) => {
                        conn.close().await;
                        Err(e)
                    }
                }
            };
            match attempt.await {
                Ok(conn) => return Ok(conn),
                Err(e) => {
                    if hosts.len() > 1 {
                        tracing::debug!(server = %Target(host, *port), error = %e, "host not used; trying the next one");
                    }
                    failures.push((Target(host, *port).to_string(), e));
                }
            }
        }
        if failures.len() == 1 {
            return Err(failures.pop().expect("one failure").1);
        }
        let kind = if failures.iter().any(|(_, e)| e.is_retryable()) {
            ErrorKind::Connection
        } else {
            failures[0].1.kind()
        };
        let attrs = if want == TargetSessionAttrs::Any {
            String::new()
        } else {
            format!(" with target_session_attrs={want}")
        };
        let detail: Vec<String> = failures
            .iter()
            .map(|(target, e)| format!("{target}: {e}"))
            .collect();
        Err(Error::new(
            kind,
            format!(
                "could not connect to any of the {} hosts{attrs}: {}",
                failures.len(),
                detail.join("; ")
            ),
        ))
    }

    /// Whether the server matches `target_session_attrs`; a [`ErrorKind::Connection`] error
    /// saying why not otherwise (a standby may be promoted, so it is worth retrying).
    async fn check_session_attrs(&mut self, want: TargetSessionAttrs) -> Result<()> {
        if want == TargetSessionAttrs::Any {
            return Ok(());
        }
        let rows = self
            .simple_query(
                "SELECT pg_catalog.pg_is_in_recovery(), \
                 pg_catalog.current_setting('transaction_read_only')",
            )
            .await?;
        let row = rows.first().ok_or_else(|| {
            self.ctx
                .protocol("no row from the target_session_attrs check")
        })?;
        let in_recovery = row.get(0) == Some("t");
        let read_only = in_recovery || row.get(1) == Some("on");
        let refusal = match want {
            TargetSessionAttrs::Any => None,
            TargetSessionAttrs::ReadWrite if in_recovery => Some("server is in hot standby mode"),
            TargetSessionAttrs::ReadWrite if read_only => Some("session is read-only"),
            TargetSessionAttrs::ReadOnly if !read_only => Some("session is not read-only"),
            TargetSessionAttrs::Primary if in_recovery => Some("server is in hot standby mode"),
            TargetSessionAttrs::Standby if !in_recovery => {
                Some("server is not in hot standby mode")
            }
            _ => None,
        };
        match refusal {
            None => Ok(()),
            Some(why) => Err(Error::new(
                ErrorKind::Connection,
                format!(
                    "{why}, so it does not match target_session_attrs={want} ({})",
                    self.ctx.target()
                ),
            )),
        }
    }

    /// The host and port this connection went to (with several hosts, the one chosen).
    pub fn server(&self) -> (&str, u16) {
        (&self.ctx.host, self.ctx.port)
    }

    /// [`PgConnection::connect`] to `params.host` and `params.port` only.
    async fn connect_host(params: &ConnectParams, replication: bool) -> Result<PgConnection> {
        if params.host.is_empty() {
            return Err(Error::config("host is empty"));
        }
        let ctx = Arc::new(ServerCtx::new(params, replication));
        if params.host.starts_with('/') {
            // A socket directory: local, never TLS (as libpq; sslmode does not apply).
            let stream = socket::connect_unix(params, &ctx).await?;
            let limit = params.connect_timeout;
            return match with_limit(
                limit,
                Self::startup(Transport::Unix(stream), params, replication, ctx.clone()),
            )
            .await
            {
                Some(result) => result,
                None => Err(ctx.startup_timeout(limit)),
            };
        }
        let addrs = socket::resolve(params, &ctx).await?;
        let mut last_error = None;
        for addr in addrs {
            match socket::connect_addr(addr, params, &ctx).await {
                Ok(tcp) => return Self::establish(tcp, addr, params, replication, ctx).await,
                Err(e) => {
                    tracing::debug!(%addr, error = %e, "TCP connect failed; trying next address");
                    last_error = Some(e);
                }
            }
        }
        Err(last_error.unwrap_or_else(|| ctx.eof()))
    }

    /// TLS negotiation and startup on a fresh TCP connection, with libpq's `prefer`
    /// fallback to plain TCP.
    async fn establish(
        tcp: tokio::net::TcpStream,
        addr: SocketAddr,
        params: &ConnectParams,
        replication: bool,
        ctx: Arc<ServerCtx>,
    ) -> Result<PgConnection> {
        let limit = params.connect_timeout;
        // The error comes with whether TLS was in play, for the `prefer` fallback.
        let attempt = async {
            let io = match tls::negotiate(tcp, params, &ctx).await {
                Ok(io) => io,
                Err(e) => {
                    let tls_failed = e.kind() == ErrorKind::Tls;
                    return Err((e, tls_failed));
                }
            };
            let on_tls = io.is_tls();
            Self::startup(io, params, replication, ctx.clone())
                .await
                .map_err(|e| (e, on_tls))
        };
        let error = match with_limit(limit, attempt).await {
            None => return Err(ctx.startup_timeout(limit)),
            Some(Ok(conn)) => return Ok(conn),
            Some(Err((error, on_tls))) => {
                let retry_plain = params.sslmode == SslMode::Prefer
                    && on_tls
                    && (error.kind() == ErrorKind::Tls || error.code() == Some("28000"));
                if !retry_plain {
                    return Err(error);
                }
                error
            }
        };
        tracing::info!(
            server = %ctx.target(),
            error = %error,
            "TLS connection failed; retrying without TLS (sslmode=prefer)"
        );
        let tcp = socket::connect_addr(addr, params, &ctx).await?;
        match with_limit(
            limit,
            Self::startup(Transport::Plain(tcp), params, replication, ctx.clone()),
        )
        .await
        {
            Some(result) => result,
            None => Err(ctx.startup_timeout(limit)),
        }
    }

    /// Startup message, authentication, then parameters until `ReadyForQuery`.
    async fn startup(
        io: Transport,
        params: &ConnectParams,
        replication: bool,
        ctx: Arc<ServerCtx>,
    ) -> Result<PgConnection> {
        let mut conn = PgConnection {
            io,
            read_buf: BytesMut::with_capacity(8 * 1024),
            write_buf: BytesMut::with_capacity(1024),
            ctx,
            session: Session {
                parameters: HashMap::new(),
                backend_pid: 0,
                server_version_num: 0,
                auth_method: AuthMethod::Trust,
                replication,
            },
            busy: true,
        };
        let mut options = vec![
            ("user", params.user.as_str()),
            ("database", params.dbname.as_str()),
            ("application_name", params.application_name.as_str()),
            ("client_encoding", "UTF8"),
            ("DateStyle", "ISO"),
        ];
        if replication {
            options.push(("replication", "database"));
        }
        frontend::startup_message(options.iter().copied(), &mut conn.write_buf).map_err(|_| {
            Error::config("user, dbname and application_name must not contain NUL characters")
        })?;
        conn.send().await?;
        conn.session.auth_method = auth::authenticate(&mut conn, params).await?;
        loop {
            let frame = conn.recv().await?;
            match frame.tag {
                tag::BACKEND_KEY_DATA => {
                    conn.session.backend_pid = Body(&frame.body).i32().unwrap_or(0);
                }
                tag::READY_FOR_QUERY => break,
                tag::ERROR_RESPONSE => {
                    return Err(conn.ctx.server_error(parse_error_fields(&frame.body)));
                }
                // Sent when the server lacks a protocol option we asked for; we ask for none,
                // so it carries nothing we need.
                tag::NEGOTIATE_PROTOCOL_VERSION => {}
                _ if conn.handle_async(&frame) => {}
                other => {
                    return Err(conn.ctx.protocol(format!(
                        "unexpected message {:?} during startup",
                        other as char
                    )))
                }
            }
        }
        conn.busy = false;
        conn.session.server_version_num = conn
            .parameter("server_version")
            .and_then(parse_server_version)
            .unwrap_or(0);
        tracing::debug!(
            server = %conn.ctx.target(),
            tls = conn.io.is_tls(),
            auth = %conn.session.auth_method,
            server_version = conn.parameter("server_version").unwrap_or("?"),
            backend_pid = conn.session.backend_pid,
            replication,
            "connected"
        );
        Ok(conn)
    }

    /// The server version as a number, e.g. `150018` for 15.18 and `90624` for 9.6.24
    /// (the `server_version_num` setting's format); 0 if the server did not report it.
    pub fn server_version_num(&self) -> u32 {
        self.session.server_version_num
    }

    /// A run-time parameter reported by the server (`server_version`, `server_encoding`,
    /// `TimeZone`, `integer_datetimes`, ...), kept current as the server reports changes.
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.session.parameters.get(name).map(String::as_str)
    }

    /// The process ID of the server backend (as in `pg_stat_activity.pid`).
    pub fn backend_pid(&self) -> i32 {
        self.session.backend_pid
    }

    /// Whether the connection is encrypted with TLS.
    pub fn is_tls(&self) -> bool {
        self.io.is_tls()
    }

    /// How the server authenticated this connection.
    pub fn auth_method(&self) -> AuthMethod {
        self.session.auth_method
    }

    /// Whether the connection was opened in replication mode.
    pub fn is_replication(&self) -> bool {
        self.session.replication
    }

    /// Runs one or more SQL statements with the simple query protocol and returns all
    /// rows of all statements, values in text form.
    ///
    /// Notices are logged (`tracing`, WARNING at warn level, others at debug), not returned.
    /// If a statement fails, the server skips the rest and the error is returned.
    /// `COPY` to or from the client is not supported.
    pub async fn simple_query(&mut self, sql: &str) -> Result<Vec<SimpleRow>> {
        self.begin()?;
        self.write_buf.clear();
        frontend::query(sql, &mut self.write_buf)
            .map_err(|_| Error::config("the SQL text contains a NUL character"))?;
        self.send().await?;

        let mut rows = Vec::new();
        let mut columns = None;
        let mut error: Option<Error> = None;
        loop {
            let frame = match self.recv().await {
                Ok(frame) => frame,
                // A FATAL error is followed by the server closing the connection.
                Err(e) => return Err(error.unwrap_or(e)),
            };
            match frame.tag {
                tag::ROW_DESCRIPTION => {
                    columns = Some(
                        parse_row_description(&frame.body)
                            .ok_or_else(|| self.ctx.protocol("malformed RowDescription"))?,
                    );
                }
                tag::DATA_ROW => {
                    let columns = columns
                        .clone()
                        .ok_or_else(|| self.ctx.protocol("DataRow without RowDescription"))?;
                    rows.push(
                        parse_data_row(&frame.body, columns).map_err(|m| self.ctx.protocol(m))?,
                    );
                }
                tag::COMMAND_COMPLETE | tag::EMPTY_QUERY_RESPONSE => columns = None,
                tag::ERROR_RESPONSE => {
                    let db = parse_error_fields(&frame.body);
                    let fatal = matches!(db.severity.as_str(), "FATAL" | "PANIC");
                    let e = self.ctx.server_error(db);
                    if fatal {
                        return Err(e);
                    }
                    error.get_or_insert(e);
                }
                tag::READY_FOR_QUERY => {
                    self.busy = false;
                    return match error {
                        Some(e) => Err(e),
                        None => Ok(rows),
                    };
                }
                tag::COPY_IN_RESPONSE => {
                    // The server waits for data; end the COPY so it reports an error.
                    self.write_buf.clear();
                    frontend::copy_fail(
                        "COPY FROM STDIN is not supported by this client",
                        &mut self.write_buf,
                    )
                    .map_err(|e| self.ctx.protocol(e))?;
                    self.send().await?;
                }
                // COPY TO STDOUT output is discarded.
                tag::COPY_OUT_RESPONSE | tag::COPY_DATA | tag::COPY_DONE => {}
                tag::COPY_BOTH_RESPONSE => {
                    return Err(Error::new(
                        ErrorKind::Protocol,
                        "START_REPLICATION was sent through simple_query; use \
                         start_logical_replication (this connection is now unusable)",
                    ));
                }
                _ if self.handle_async(&frame) => {}
                other => {
                    return Err(self.ctx.protocol(format!(
                        "unexpected message {:?} in a simple query response",
                        other as char
                    )))
                }
            }
        }
    }

    /// Starts `COPY ... TO STDOUT` (`sql`) and returns a reader of its rows; each
    /// [`CopyOut::next_row`] gives one row as the server sent it (text format: columns
    /// separated by tabs, ending with a newline). The connection is busy until the reader
    /// has read to the end.
    pub async fn copy_out(&mut self, sql: &str) -> Result<CopyOut<'_>> {
        self.begin()?;
        self.write_buf.clear();
        frontend::query(sql, &mut self.write_buf)
            .map_err(|_| Error::config("the SQL text contains a NUL character"))?;
        self.send().await?;
        loop {
            let frame = self.recv().await?;
            match frame.tag {
                tag::COPY_OUT_RESPONSE => {
                    return Ok(CopyOut {
                        conn: self,
                        done: false,
                    })
                }
                tag::ERROR_RESPONSE => {
                    let e = self.ctx.server_error(parse_error_fields(&frame.body));
                    self.finish_request().await?;
                    return Err(e);
                }
                _ if self.handle_async(&frame) => {}
                other => {
                    return Err(self.ctx.protocol(format!(
                        "unexpected message {:?} in answer to COPY TO STDOUT",
                        other as char
                    )))
                }
            }
        }
    }

    /// Reads up to ReadyForQuery after an error, so that the connection can be used again.
    async fn finish_request(&mut self) -> Result<()> {
        loop {
            let frame = self.recv().await?;
            if frame.tag == tag::READY_FOR_QUERY {
                self.busy = false;
                return Ok(());
            }
        }
    }

    /// Runs SQL and discards any rows; see [`PgConnection::simple_query`].
    pub async fn execute(&mut self, sql: &str) -> Result<()> {
        self.simple_query(sql).await.map(drop)
    }

    /// Says goodbye (`Terminate`) and shuts the connection down (TLS `close_notify`, then
    /// TCP). Errors are ignored: the connection is going away either way.
    pub async fn close(mut self) {
        self.write_buf.clear();
        frontend::terminate(&mut self.write_buf);
        let goodbye = async {
            self.io.write_all(&self.write_buf).await?;
            self.io.flush().await?;
            self.io.shutdown().await
        };
        match tokio::time::timeout(CLOSE_LIMIT, goodbye).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::debug!(error = %e, "error while closing the connection"),
            Err(_) => tracing::debug!("timed out closing the connection"),
        }
    }

    /// Marks the start of a request, refusing if an earlier one never finished.
    pub(crate) fn begin(&mut self) -> Result<()> {
        if self.busy {
            return Err(Error::new(
                ErrorKind::Connection,
                format!(
                    "the connection to {} is unusable: an earlier request was cancelled or failed \
                     before the server finished answering; open a new connection",
                    self.ctx.target()
                ),
            ));
        }
        self.busy = true;
        Ok(())
    }

    /// Reads the next backend message.
    pub(crate) async fn recv(&mut self) -> Result<Frame> {
        frame::read_frame(&mut self.io, &mut self.read_buf, &self.ctx).await
    }

    /// Writes out `write_buf` and flushes.
    pub(crate) async fn send(&mut self) -> Result<()> {
        self.io
            .write_all(&self.write_buf)
            .await
            .map_err(|e| self.ctx.io(e))?;
        self.io.flush().await.map_err(|e| self.ctx.io(e))?;
        self.write_buf.clear();
        Ok(())
    }

    /// Handles messages that may arrive at any time; returns whether `frame` was one.
    pub(crate) fn handle_async(&mut self, frame: &Frame) -> bool {
        match frame.tag {
            tag::NOTICE_RESPONSE => {
                log_notice(&parse_error_fields(&frame.body));
                true
            }
            tag::PARAMETER_STATUS => {
                let mut body = Body(&frame.body);
                if let (Some(name), Some(value)) = (body.cstr(), body.cstr()) {
                    self.session
                        .parameters
                        .insert(name.to_owned(), value.to_owned());
                }
                true
            }
            tag::NOTIFICATION_RESPONSE => {
                tracing::debug!("ignoring a LISTEN/NOTIFY notification");
                true
            }
            _ => false,
        }
    }
}

/// Parses `server_version` ("15.18 (Debian 15.18-1.pgdg120+1)", "16beta1", "9.6.24") into
/// the `server_version_num` format.
pub(crate) fn parse_server_version(version: &str) -> Option<u32> {
    let mut parts = [0u32; 3];
    let mut count = 0;
    let mut rest = version.trim_start();
    while count < 3 {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            break;
        }
        parts[count] = rest[..digits].parse().ok()?;
        count += 1;
        rest = &rest[digits..];
        match rest.strip_prefix('.') {
            Some(after) => rest = after,
            None => break,
        }
    }
    if count == 0 {
        return None;
    }
    // Since 10 the version has two parts (major.minor); before, three (9.6.24).
    Some(if parts[0] >= 10 {
        parts[0] * 10000 + parts[1]
    } else {
        parts[0] * 10000 + parts[1] * 100 + parts[2]
    })
}

impl AuthChannel for PgConnection {
    fn ctx(&self) -> &ServerCtx {
        &self.ctx
    }

    fn write_buf(&mut self) -> &mut BytesMut {
        &mut self.write_buf
    }

    fn peer_certificate(&self) -> Option<&[u8]> {
        self.io.peer_certificate()
    }

    async fn recv(&mut self) -> Result<Frame> {
        PgConnection::recv(self).await
    }

    async fn send(&mut self) -> Result<()> {
        PgConnection::send(self).await
    }

    fn handle_async(&mut self, frame: &Frame) -> bool {
        PgConnection::handle_async(self, frame)
    }
}

/// The rows of a `COPY ... TO STDOUT` (see [`PgConnection::copy_out`]).
pub struct CopyOut<'a> {
    conn: &'a mut PgConnection,
    done: bool,
}

impl CopyOut<'_> {
    /// The next row (one `CopyData` message: the server sends one per row), or `None` after
    /// the last one, when the connection is ready for the next request.
    ///
    /// # Errors
    /// A server error in the middle of the COPY (the connection is then ready again), or a
    /// connection error.
    pub async fn next_row(&mut self) -> Result<Option<bytes::Bytes>> {
        if self.done {
            return Ok(None);
        }
        let mut error: Option<Error> = None;
        loop {
            let frame = self.conn.recv().await?;
            match frame.tag {
                tag::COPY_DATA if error.is_none() => return Ok(Some(frame.body)),
                tag::COPY_DATA | tag::COPY_DONE | tag::COMMAND_COMPLETE => {}
                tag::ERROR_RESPONSE => {
                    error
                        .get_or_insert(self.conn.ctx.server_error(parse_error_fields(&frame.body)));
                }
                tag::READY_FOR_QUERY => {
                    self.conn.busy = false;
                    self.done = true;
                    return match error {
                        Some(e) => Err(e),
                        None => Ok(None),
                    };
                }
                _ if self.conn.handle_async(&frame) => {}
                other => {
                    return Err(self.conn.ctx.protocol(format!(
                        "unexpected message {:?} in a COPY TO STDOUT",
                        other as char
                    )))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_versions() {
        assert_eq!(
            parse_server_version("15.18 (Debian 15.18-1.pgdg120+1)"),
            Some(150018)
        );
        assert_eq!(parse_server_version("16beta1"), Some(160000));
        assert_eq!(parse_server_version("17devel"), Some(170000));
        assert_eq!(parse_server_version("16rc1"), Some(160000));
        assert_eq!(parse_server_version("10.5"), Some(100005));
        assert_eq!(parse_server_version("9.6.24"), Some(90624));
        assert_eq!(parse_server_version("9.6beta2"), Some(90600));
        assert_eq!(parse_server_version("14.0"), Some(140000));
        assert_eq!(parse_server_version("garbage"), None);
    }
}
