//! Turning server error responses and I/O failures into [`crate::Error`]s with messages
//! that say what to fix. Messages name host, port, user and database, never the password.

use std::{fmt, io, time::Duration};

use super::{
    params::{unix_socket_path, ConnectParams, SslMode},
    sqlstate::{self, Phase},
};
use crate::{DbError, Error, ErrorKind};

/// Who we are talking to, for error messages.
#[derive(Debug, Clone)]
pub(crate) struct ServerCtx {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) user: String,
    pub(crate) dbname: String,
    pub(crate) sslmode: SslMode,
    /// Whether the connection is a `replication=database` one.
    pub(crate) replication: bool,
}

/// `host:port`, with brackets around IPv6 addresses.
pub(crate) struct Target<'a>(pub(crate) &'a str, pub(crate) u16);

impl fmt::Display for Target<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.starts_with('/') {
            write!(f, "socket \"{}\"", unix_socket_path(self.0, self.1))
        } else if self.0.contains(':') {
            write!(f, "[{}]:{}", self.0, self.1)
        } else {
            write!(f, "{}:{}", self.0, self.1)
        }
    }
}

impl ServerCtx {
    pub(crate) fn new(params: &ConnectParams, replication: bool) -> Self {
        ServerCtx {
            host: params.host.clone(),
            port: params.port,
            user: params.user.clone(),
            dbname: params.dbname.clone(),
            sslmode: params.sslmode,
            replication,
        }
    }

    /// `host:port` for messages.
    pub(crate) fn target(&self) -> Target<'_> {
        Target(&self.host, self.port)
    }

    /// The peer closed the connection.
    pub(crate) fn eof(&self) -> Error {
        Error::new(
            ErrorKind::Connection,
            format!(
                "server closed the connection unexpectedly ({})",
                self.target()
            ),
        )
    }

    /// A read or write on an established connection failed.
    pub(crate) fn io(&self, e: io::Error) -> Error {
        // rustls errors surface as io::Error; keep them in the TLS kind.
        if e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) {
            // The rustls error follows as the cause.
            let msg = format!("TLS error on the connection to {}", self.target());
            return Error::new(ErrorKind::Tls, msg).with_source(e);
        }
        let what = match e.kind() {
            io::ErrorKind::UnexpectedEof => return self.eof(),
            io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe => {
                "connection reset by the server"
            }
            io::ErrorKind::TimedOut => "connection timed out (TCP keepalive or retransmission)",
            _ => "I/O error",
        };
        Error::new(
            ErrorKind::Connection,
            format!("{what} on the connection to {}", self.target()),
        )
        .with_source(e)
    }

    /// The server sent something the protocol does not allow here.
    pub(crate) fn protocol(&self, msg: impl fmt::Display) -> Error {
        Error::new(
            ErrorKind::Protocol,
            format!(
                "protocol violation by the server at {}: {msg}",
                self.target()
            ),
        )
    }

    /// The connection phase took longer than `connect_timeout`.
    pub(crate) fn startup_timeout(&self, limit: Duration) -> Error {
        Error::new(
            ErrorKind::Connection,
            format!(
                "timed out after {limit:?} waiting for the server at {} to complete TLS, \
                 authentication and startup (connect_timeout)",
                self.target()
            ),
        )
    }

    /// Converts a server `ErrorResponse` into an error, its kind chosen by SQLSTATE
    /// ([`sqlstate::kind`]).
    pub(crate) fn server_error(&self, db: DbError) -> Error {
        let target = self.target();
        let user = &self.user;
        let message = match db.code.as_str() {
            sqlstate::INVALID_PASSWORD => format!(
                "password authentication failed for user \"{user}\" on {target}: check the \
                 password (database.password / PGPASSWORD / .pgpass)"
            ),
            sqlstate::INVALID_AUTHORIZATION_SPECIFICATION => format!(
                "the server at {target} refused user \"{user}\" for database \"{}\": {}; \
                 check pg_hba.conf on the server (the connection used sslmode={})",
                self.dbname, db.message, self.sslmode
            ),
            sqlstate::INVALID_CATALOG_NAME => {
                format!("database \"{}\" does not exist on {target}", self.dbname)
            }
            sqlstate::INSUFFICIENT_PRIVILEGE => {
                let mut msg = format!("permission denied for user \"{user}\" on {target}: {db}");
                // On a replication connection the role was refused the walsender (a role
                // lacking CONNECT on the database is refused on the catalog connection
                // first).
                if self.replication {
                    msg.push_str(&format!(
                        "; grant it with ALTER ROLE \"{user}\" REPLICATION (as a superuser)"
                    ));
                }
                msg
            }
            sqlstate::OBJECT_IN_USE => {
                format!("{db} on {target}; another client is using the replication slot")
            }
            sqlstate::TOO_MANY_CONNECTIONS => {
                format!("the server at {target} has too many connections: {db}")
            }
            sqlstate::CANNOT_CONNECT_NOW => {
                format!("the server at {target} is not accepting connections now: {db}")
            }
            sqlstate::ADMIN_SHUTDOWN | sqlstate::CRASH_SHUTDOWN => {
                format!("the server at {target} ended the session: {db}")
            }
            code if code.starts_with("08") => {
                format!("connection failure reported by {target}: {db}")
            }
            _ => {
                let mut msg = format!("the server at {target} reported an error: {db}");
                if let Some(hint) = &db.hint {
                    msg.push_str(&format!(" (hint: {hint})"));
                }
                msg
            }
        };
        let kind = sqlstate::kind(&db.code, Phase::Session);
        Error::new(kind, message).with_db_error(db)
    }

    /// The error for PostgreSQL 18's warning that a publication is missing at this point in
    /// the WAL. Streaming on would silently lose the changes it publishes, so the stream ends
    /// here as it does on earlier versions.
    pub(crate) fn skipped_publication(&self, db: DbError) -> Error {
        Error::new(
            ErrorKind::PublicationNotFound,
            format!(
                "the server at {} skipped a publication that does not exist at this point in \
                 the WAL: {db}; the stream stops rather than go on without its changes",
                self.target()
            ),
        )
        .with_db_error(db)
    }
}

/// Whether a `NoticeResponse` during logical replication is PostgreSQL 18's "skipped loading
/// publication": pgoutput's WARNING with SQLSTATE `object_not_in_prerequisite_state`, the only
/// warning with that code a walsender sends while decoding. Earlier versions stop the stream
/// with an error (`undefined_object`); 18 goes on without the publication's changes.
pub(crate) fn is_skipped_publication(notice: &DbError) -> bool {
    notice.severity == "WARNING" && notice.code == sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE
}

/// Logs a `NoticeResponse`: warnings at warn level, the rest (NOTICE, INFO, LOG, DEBUG)
/// at debug level, so routine chatter stays out of production logs.
pub(crate) fn log_notice(notice: &DbError) {
    if notice.severity == "WARNING" {
        tracing::warn!(code = %notice.code, detail = ?notice.detail, "server: {}", notice.message);
    } else {
        tracing::debug!(
            severity = %notice.severity,
            code = %notice.code,
            detail = ?notice.detail,
            "server: {}",
            notice.message
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> ServerCtx {
        ServerCtx::new(
            &ConnectParams {
                password: Some("s3cret".into()),
                ..Default::default()
            },
            false,
        )
    }

    fn db(code: &str, message: &str) -> DbError {
        DbError {
            severity: "FATAL".into(),
            code: code.into(),
            message: message.into(),
            ..Default::default()
        }
    }

    #[test]
    fn only_a_warning_about_a_missing_object_is_a_skipped_publication() {
        let notice = |severity: &str, code: &str| DbError {
            severity: severity.into(),
            ..db(code, "skipped loading publication \"p\"")
        };
        assert!(is_skipped_publication(&notice("WARNING", "55000")));
        assert!(!is_skipped_publication(&notice("NOTICE", "55000")));
        assert!(!is_skipped_publication(&notice("WARNING", "01000")));
        let e = ctx().skipped_publication(notice("WARNING", "55000"));
        assert_eq!(e.kind(), ErrorKind::PublicationNotFound);
        assert_eq!(e.code(), Some("55000"));
        assert!(e.to_string().contains("\"p\""), "{e}");
    }

    #[test]
    fn classifies_by_sqlstate() {
        let c = ctx();
        let cases = [
            ("28P01", ErrorKind::Authentication),
            ("28000", ErrorKind::Authentication),
            ("3D000", ErrorKind::Config),
            ("42501", ErrorKind::Permission),
            ("55006", ErrorKind::SlotInUse),
            ("53300", ErrorKind::Connection),
            ("57P03", ErrorKind::Connection),
            ("42704", ErrorKind::Server),
        ];
        for (code, kind) in cases {
            let e = c.server_error(db(code, "m"));
            assert_eq!(e.kind(), kind, "{code}");
            assert_eq!(e.code(), Some(code));
            assert!(!e.to_string().contains("s3cret"));
        }
        let e = c.server_error(db(
            "28P01",
            "password authentication failed for user \"postgres\"",
        ));
        assert!(e.to_string().contains("localhost:5432"), "{e}");
        let e = c.server_error(db("3D000", "x"));
        assert_eq!(
            e.to_string(),
            "database \"postgres\" does not exist on localhost:5432"
        );
    }

    /// A replication connection refused for lack of the REPLICATION attribute says how to
    /// grant it; whatever language the server speaks, only the SQLSTATE is looked at.
    #[test]
    fn permission_hint_on_replication_connections() {
        let params = ConnectParams::default();
        let denied = || db("42501", "keine Berechtigung, um WAL-Sender zu starten");
        let repl = ServerCtx::new(&params, true).server_error(denied());
        assert_eq!(repl.kind(), ErrorKind::Permission);
        assert!(
            repl.to_string()
                .contains("ALTER ROLE \"postgres\" REPLICATION"),
            "{repl}"
        );
        let plain = ServerCtx::new(&params, false).server_error(denied());
        assert_eq!(plain.kind(), ErrorKind::Permission);
        assert!(!plain.to_string().contains("ALTER ROLE"), "{plain}");
    }

    #[test]
    fn ipv6_target() {
        assert_eq!(Target("::1", 5432).to_string(), "[::1]:5432");
        assert_eq!(Target("db", 1).to_string(), "db:1");
    }
}
