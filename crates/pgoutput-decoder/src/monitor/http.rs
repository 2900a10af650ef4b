//! A small HTTP/1.1 server on tokio for the monitoring endpoints: one request per connection,
//! `GET` and `HEAD` only, answers built in memory. Enough for Prometheus, a load balancer's
//! health check and a browser, without an HTTP framework in the build.

use std::{net::SocketAddr, time::Duration};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};

use super::Monitor;
use crate::{Error, ErrorKind, Result};

/// The longest request head read; anything longer is answered 431.
const MAX_HEAD: usize = 8 * 1024;
/// How long a client may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The status page.
const STATUS_PAGE: &str = include_str!("status_page.html");

/// The endpoints, served until dropped.
#[derive(Debug)]
pub struct MetricsServer {
    local_addr: SocketAddr,
    task: JoinHandle<()>,
}

/// The endpoints' address, bound but not served yet: bind it before connecting to PostgreSQL,
/// so that an address in use is reported at once.
#[derive(Debug)]
pub struct MetricsListener {
    listener: TcpListener,
    local_addr: SocketAddr,
}

impl MetricsListener {
    /// Listens on `addr` (`HOST:PORT`; port 0 picks a free one).
    ///
    /// # Errors
    /// The address cannot be resolved or bound (in use, not allowed).
    pub async fn bind(addr: &str) -> Result<Self> {
        let listener = TcpListener::bind(addr).await.map_err(|e| {
            Error::new(
                ErrorKind::Config,
                format!("could not listen for metrics on {addr}: {e}"),
            )
            .with_source(e)
        })?;
        let local_addr = listener.local_addr().map_err(|e| {
            Error::new(ErrorKind::Io, format!("metrics listener: {e}")).with_source(e)
        })?;
        Ok(MetricsListener {
            listener,
            local_addr,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves `monitor`'s endpoints from now on. Needs a tokio runtime.
    pub fn serve(self, monitor: Monitor) -> MetricsServer {
        MetricsServer {
            local_addr: self.local_addr,
            task: tokio::spawn(accept(self.listener, monitor)),
        }
    }
}

impl MetricsServer {
    /// Listens on `addr` and serves `monitor`'s endpoints ([`MetricsListener::bind`], then
    /// [`MetricsListener::serve`]). Needs a tokio runtime.
    ///
    /// # Errors
    /// The address cannot be resolved or bound (in use, not allowed).
    pub async fn bind(addr: &str, monitor: Monitor) -> Result<Self> {
        Ok(MetricsListener::bind(addr).await?.serve(monitor))
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept(listener: TcpListener, monitor: Monitor) {
    loop {
        match listener.accept().await {
            Ok((socket, _)) => {
                let monitor = monitor.clone();
                tokio::spawn(async move {
                    if let Err(e) = serve(socket, &monitor).await {
                        tracing::debug!(error = %e, "metrics request failed");
                    }
                });
            }
            Err(e) => {
                // Out of file descriptors, say: wait a little rather than spin.
                tracing::warn!(error = %e, "metrics listener could not accept a connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// An answer: status, content type, body.
struct Response {
    status: &'static str,
    content_type: &'static str,
    body: String,
}

impl Response {
    fn text(status: &'static str, body: impl Into<String>) -> Self {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.into(),
        }
    }
}

async fn serve(mut socket: TcpStream, monitor: &Monitor) -> std::io::Result<()> {
    let head = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut socket)).await {
        Ok(head) => head?,
        Err(_) => return Ok(()),
    };
    let (head_only, response) = match head {
        None => (
            false,
            Response::text("431 Request Header Fields Too Large", "request too large\n"),
        ),
        Some(head) => respond(&head, monitor),
    };
    let mut out = format!(
        "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n\
         Connection: close\r\n\r\n",
        response.status,
        response.content_type,
        response.body.len()
    );
    if !head_only {
        out.push_str(&response.body);
    }
    socket.write_all(out.as_bytes()).await?;
    socket.shutdown().await
}

/// The request head up to its blank line; `None` when it is longer than [`MAX_HEAD`].
async fn read_head(socket: &mut TcpStream) -> std::io::Result<Option<String>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.windows(2).any(|w| w == b"\n\n") {
            break;
        }
        if buf.len() > MAX_HEAD {
            return Ok(None);
        }
    }
    Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
}

/// Whether only the head is sent (`HEAD`), and the answer.
fn respond(head: &str, monitor: &Monitor) -> (bool, Response) {
    let mut words = head.lines().next().unwrap_or("").split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    if method != "GET" && method != "HEAD" {
        return (
            false,
            Response::text("405 Method Not Allowed", "only GET and HEAD\n"),
        );
    }
    let response = match path {
        "/metrics" => Response {
            status: "200 OK",
            content_type: "text/plain; version=0.0.4; charset=utf-8",
            body: monitor.metrics_text(),
        },
        "/health" | "/healthz" | "/ready" | "/readyz" => {
            let problems = monitor.health_problems();
            if problems.is_empty() {
                Response::text("200 OK", "ok\n")
            } else {
                Response::text(
                    "503 Service Unavailable",
                    format!("unhealthy: {}\n", problems.join("; ")),
                )
            }
        }
        "/status.json" => Response {
            status: "200 OK",
            content_type: "application/json",
            body: monitor.status_json(),
        },
        "/" | "/index.html" => Response {
            status: "200 OK",
            content_type: "text/html; charset=utf-8",
            body: STATUS_PAGE.to_owned(),
        },
        _ => Response::text(
            "404 Not Found",
            "not found; try /metrics, /health, /status.json or /\n",
        ),
    };
    (method == "HEAD", response)
}
