//! The error type.

use std::fmt;
use std::path::PathBuf;

/// Everything that can go wrong while starting, controlling or querying a [`Cluster`].
///
/// The [`Display`](fmt::Display) output is meant to be shown as is: it says what failed,
/// and for server start-up failures it includes the last lines of the server log.
///
/// [`Cluster`]: crate::Cluster
#[derive(Debug)]
#[non_exhaustive]
pub enum ClusterError {
    /// The PostgreSQL binaries (`initdb`, `pg_ctl`, `postgres`, `psql`) could not be found
    /// or cannot be executed.
    Binaries(String),
    /// Running as root, no unprivileged user could be found or created to run the server.
    ServerUser(String),
    /// An invalid [`ClusterBuilder`](crate::ClusterBuilder) option.
    Config(String),
    /// A file-system operation or spawning a program failed.
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An external program (`initdb`, `pg_ctl`, ...) exited unsuccessfully.
    Command {
        /// The program's file name.
        program: String,
        /// The complete command line, shell-quoted.
        command_line: String,
        /// How it exited (`exit code 1`, `signal: 9`, ...).
        status: String,
        /// Its stderr followed by its stdout, trimmed.
        output: String,
    },
    /// The server failed to start, stop or restart.
    Server {
        /// What was attempted: `start`, `restart`, `stop`.
        action: String,
        /// What went wrong.
        detail: String,
        /// The server log file.
        log_file: PathBuf,
        /// The last lines (about 20) of the server log.
        log_tail: String,
    },
    /// `psql` failed: connection error or SQL error.
    Psql {
        /// The database `psql` connected to.
        database: String,
        /// How `psql` exited.
        status: String,
        /// `psql`'s stderr (the error message), trimmed.
        stderr: String,
    },
}

impl ClusterError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> ClusterError {
        ClusterError::Io {
            context: context.into(),
            source,
        }
    }

    /// The tail of the server log attached to this error, if any.
    pub fn log_tail(&self) -> Option<&str> {
        match self {
            ClusterError::Server { log_tail, .. } if !log_tail.is_empty() => Some(log_tail),
            _ => None,
        }
    }
}

impl fmt::Display for ClusterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClusterError::Binaries(msg) => write!(f, "PostgreSQL binaries: {msg}"),
            ClusterError::ServerUser(msg) => {
                write!(
                    f,
                    "cannot run the PostgreSQL server as an unprivileged user: {msg}"
                )
            }
            ClusterError::Config(msg) => write!(f, "invalid cluster configuration: {msg}"),
            ClusterError::Io { context, source } => write!(f, "{context}: {source}"),
            ClusterError::Command {
                program,
                command_line,
                status,
                output,
            } => {
                write!(f, "{program} failed ({status}): {command_line}")?;
                if !output.is_empty() {
                    write!(f, "\n{output}")?;
                }
                Ok(())
            }
            ClusterError::Server {
                action,
                detail,
                log_file,
                log_tail,
            } => {
                write!(f, "PostgreSQL server failed to {action}: {detail}")?;
                if log_tail.is_empty() {
                    write!(
                        f,
                        "\n(server log {} is empty or missing)",
                        log_file.display()
                    )
                } else {
                    write!(
                        f,
                        "\n--- last lines of {} ---\n{log_tail}",
                        log_file.display()
                    )
                }
            }
            ClusterError::Psql {
                database,
                status,
                stderr,
            } => {
                write!(f, "psql on database {database:?} failed ({status})")?;
                if !stderr.is_empty() {
                    write!(f, ": {stderr}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ClusterError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClusterError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
