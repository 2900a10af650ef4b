//! The one error type of the library.
//!
//! Every error carries a [`ErrorKind`] that callers (and the Python binding) match on, a
//! message written for the person who has to fix it, and an optional source. Messages never
//! contain passwords: connection errors name host, port, user and database only.

use std::{error::Error as StdError, fmt};

/// What went wrong, coarse enough to act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The configuration is invalid (unknown key, bad value, conflicting options).
    Config,
    /// The server could not be reached, or the connection was lost.
    Connection,
    /// TLS negotiation or certificate verification failed.
    Tls,
    /// The server rejected the credentials.
    Authentication,
    /// The replication slot does not exist and creating it was not requested.
    SlotNotFound,
    /// The replication slot is held by another connection ("active for PID ...").
    SlotInUse,
    /// The publication does not exist and creating it was not requested.
    PublicationNotFound,
    /// The server is not set up for logical replication (e.g. `wal_level` is not `logical`).
    ServerConfiguration,
    /// The role lacks a privilege it needs (REPLICATION, SELECT, CREATE).
    Permission,
    /// The server reported an error not covered by a more specific kind.
    Server,
    /// A pgoutput message or column value could not be decoded.
    Decoding,
    /// The server sent something the wire protocol does not allow.
    Protocol,
    /// The stream was stopped, or the connection was closed by us.
    Closed,
    /// An I/O error outside the connection (output file, temp file).
    Io,
    /// A sink's destination refused events or could not be reached (a Kafka broker).
    Sink,
}

impl ErrorKind {
    /// Whether reconnecting can help. Authentication, missing slot or publication and bad
    /// configuration fail fast; lost connections and busy slots are retried.
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorKind::Connection | ErrorKind::SlotInUse)
    }
}

/// A server `ErrorResponse`, kept whole so callers can look at the SQLSTATE.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DbError {
    /// Severity, e.g. `ERROR` or `FATAL`.
    pub severity: String,
    /// Five-character SQLSTATE code.
    pub code: String,
    /// Primary message.
    pub message: String,
    /// Optional detail.
    pub detail: Option<String>,
    /// Optional hint.
    pub hint: Option<String>,
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (SQLSTATE {})", self.message, self.code)?;
        if let Some(detail) = &self.detail {
            write!(f, "; {detail}")?;
        }
        Ok(())
    }
}

/// The library's error: a kind, a message that says what to fix, and the cause.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    message: String,
    db: Option<DbError>,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of `kind` with a message for the user.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                db: None,
                source: None,
            }),
        }
    }

    /// Attaches the underlying cause (kept out of the message, reachable by `source()`).
    pub fn with_source(mut self, source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        self.inner.source = Some(source.into());
        self
    }

    /// Attaches the server's error response.
    pub fn with_db_error(mut self, db: DbError) -> Self {
        self.inner.db = Some(db);
        self
    }

    /// A configuration error.
    pub fn config(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Config, message)
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The message, without the cause chain.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The server's error response, when the server reported the error.
    pub fn db_error(&self) -> Option<&DbError> {
        self.inner.db.as_ref()
    }

    /// The SQLSTATE of the server's error response, if any.
    pub fn code(&self) -> Option<&str> {
        self.inner.db.as_ref().map(|d| d.code.as_str())
    }

    /// Whether reconnecting can help (see [`ErrorKind::is_retryable`]).
    pub fn is_retryable(&self) -> bool {
        self.inner.kind.is_retryable()
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.inner.kind)
            .field("message", &self.inner.message);
        if let Some(db) = &self.inner.db {
            d.field("db", db);
        }
        if let Some(source) = &self.inner.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)?;
        // The cause is printed once, after the actionable message, so a single log line says
        // both what to do and what the system reported.
        if let Some(source) = &self.inner.source {
            write!(f, " (cause: {source})")?;
        }
        Ok(())
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner
            .source
            .as_ref()
            .map(|s| s.as_ref() as &(dyn StdError + 'static))
    }
}

impl From<pgoutput::DecodeError> for Error {
    /// Keeps the decode error as the source, so callers can downcast to it; its text follows
    /// the message as the cause.
    fn from(e: pgoutput::DecodeError) -> Self {
        Error::new(ErrorKind::Decoding, "could not decode a pgoutput message").with_source(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rendered message, then each cause's own message down the `source()` chain.
    fn chain(e: &(dyn StdError + 'static)) -> Vec<String> {
        let mut out = vec![e.to_string()];
        let mut next = e.source();
        while let Some(cause) = next {
            out.push(cause.to_string());
            next = cause.source();
        }
        out
    }

    #[test]
    fn a_decode_error_stays_downcastable() {
        let decode = pgoutput::DecodeError::UnknownMessage { tag: b'?' };
        let text = decode.to_string();
        let e = Error::from(decode.clone());
        assert_eq!(e.kind(), ErrorKind::Decoding);
        let source = StdError::source(&e).expect("the decode error is the source");
        assert_eq!(
            source.downcast_ref::<pgoutput::DecodeError>(),
            Some(&decode)
        );
        // Printed once: in the message's cause, not also in the message.
        let rendered = e.to_string();
        assert_eq!(rendered.matches(&text).count(), 1, "{rendered}");
        assert_eq!(
            rendered,
            format!("could not decode a pgoutput message (cause: {text})")
        );
        assert_eq!(chain(&e), [rendered, text]);
    }

    #[test]
    fn the_cause_is_printed_once() {
        let io = std::io::Error::other("disk on fire");
        let e = Error::new(ErrorKind::Io, "could not write the output").with_source(io);
        assert_eq!(
            e.to_string(),
            "could not write the output (cause: disk on fire)"
        );
        assert_eq!(e.message(), "could not write the output");
    }
}
