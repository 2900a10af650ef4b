//! A running disposable cluster.

use std::ffi::OsString;
use std::fmt;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::error::ClusterError;
use crate::exec::{describe_status, scrub_env, shell_join, Runner};

/// The address the server listens on.
pub(crate) const HOST: &str = "127.0.0.1";
/// The superuser created by `initdb`.
pub(crate) const SUPERUSER: &str = "postgres";
/// Seconds `pg_ctl` waits for start-up and shutdown.
const PG_CTL_TIMEOUT: &str = "60";
/// Lines of server log quoted in errors.
const LOG_TAIL_LINES: usize = 20;

/// How to shut the server down; see the
/// [`pg_ctl` documentation](https://www.postgresql.org/docs/current/app-pg-ctl.html).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StopMode {
    /// Wait for all clients to disconnect, then shut down cleanly.
    Smart,
    /// Disconnect clients, roll back their transactions, shut down cleanly (checkpoint).
    Fast,
    /// Kill every server process without a checkpoint: the next start performs crash
    /// recovery. This simulates a server crash (the operating system keeps its page cache,
    /// so data the server had written survives even with `fsync=off`).
    ///
    /// With `synchronous_commit=off` (not the default here), a transaction that committed in
    /// the last few hundred milliseconds before an immediate stop may not have reached the WAL
    /// yet and is then lost.
    Immediate,
}

impl StopMode {
    /// The `pg_ctl -m` argument: `smart`, `fast` or `immediate`.
    pub fn as_str(self) -> &'static str {
        match self {
            StopMode::Smart => "smart",
            StopMode::Fast => "fast",
            StopMode::Immediate => "immediate",
        }
    }
}

impl fmt::Display for StopMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A disposable PostgreSQL cluster (data directory + running server) in a temporary
/// directory, created by [`ClusterBuilder::start`](crate::ClusterBuilder::start).
///
/// Dropping it stops the server (`pg_ctl stop -m immediate`, falling back to `SIGKILL`) and
/// deletes the temporary directory, also when the drop happens while a test panics.
///
/// All methods block (they run `pg_ctl` or `psql`); from async code, call them from
/// `spawn_blocking` or accept the blocking in tests. `Cluster` is `Send + Sync`, so it can be
/// shared between threads (for example in an `Arc` or a `static OnceLock`).
pub struct Cluster {
    pub(crate) bin_dir: PathBuf,
    pub(crate) psql: PathBuf,
    pub(crate) runner: Runner,
    pub(crate) version: (u32, String),
    pub(crate) port: u16,
    pub(crate) password: Option<String>,
    pub(crate) root: PathBuf,
    pub(crate) data_dir: PathBuf,
    pub(crate) log_file: PathBuf,
    pub(crate) temp: Option<TempDir>,
    pub(crate) watchdog: Option<Watchdog>,
}

/// A failed start: the error, and the server log written during the attempt.
pub(crate) struct LaunchFailure {
    pub(crate) error: ClusterError,
    pub(crate) new_log: String,
}

/// What `psql` reads.
enum PsqlInput<'a> {
    Sql(&'a str),
    File(&'a Path),
}

impl Cluster {
    /// The host the server listens on: always `"127.0.0.1"`.
    pub fn host(&self) -> &str {
        HOST
    }

    /// The TCP port the server listens on. It stays the same across [`restart`](Self::restart)
    /// and [`stop`](Self::stop) + [`start`](Self::start).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The superuser's name: always `"postgres"`.
    pub fn superuser(&self) -> &str {
        SUPERUSER
    }

    /// The superuser's password, if one was set with
    /// [`ClusterBuilder::superuser_password`](crate::ClusterBuilder::superuser_password).
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// The server version as `(major, version)`, e.g. `(15, "15.14")`, from
    /// `postgres --version`.
    pub fn version(&self) -> (u32, String) {
        self.version.clone()
    }

    /// The server's major version, e.g. `15`.
    pub fn major_version(&self) -> u32 {
        self.version.0
    }

    /// The directory holding `initdb`, `pg_ctl` and `postgres`.
    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }

    /// The data directory (inside the temporary directory).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The server log (`postgres.log` in the data directory). All server output goes there,
    /// across restarts.
    pub fn log_file(&self) -> &Path {
        &self.log_file
    }

    /// The directory of the server's Unix-domain socket (the temporary directory). Local
    /// connections through it use `trust` authentication.
    pub fn socket_dir(&self) -> &Path {
        &self.root
    }

    /// A libpq key/value connection string for the superuser, e.g.
    /// `host=127.0.0.1 port=41234 user=postgres dbname=postgres password=secret`
    /// (the password only when one was set). Values are quoted as libpq requires.
    pub fn dsn(&self, dbname: &str) -> String {
        let mut dsn = format!(
            "host={HOST} port={} user={SUPERUSER} dbname={}",
            self.port,
            libpq_quote(dbname)
        );
        if let Some(password) = &self.password {
            dsn.push_str(" password=");
            dsn.push_str(&libpq_quote(password));
        }
        dsn
    }

    /// Runs SQL (one or more statements, or psql meta-commands) in `dbname` with `psql` over
    /// TCP as the superuser, and returns its trimmed output (unaligned, tuples only: one row
    /// per line, columns separated by `|`).
    ///
    /// The statements run one after the other (not in one transaction, so `CREATE DATABASE`
    /// or `VACUUM` work); the first error stops the script and is returned with psql's
    /// error message.
    pub fn psql(&self, dbname: &str, sql: &str) -> Result<String, ClusterError> {
        self.run_psql(false, dbname, PsqlInput::Sql(sql))
    }

    /// Like [`psql`](Self::psql), but runs the SQL file at `path` (`psql -f`).
    pub fn psql_file(&self, dbname: &str, path: impl AsRef<Path>) -> Result<String, ClusterError> {
        self.run_psql(false, dbname, PsqlInput::File(path.as_ref()))
    }

    /// Creates a database (the name is quoted as an identifier, so it is used verbatim).
    pub fn create_database(&self, name: &str) -> Result<(), ClusterError> {
        self.psql(
            "postgres",
            &format!("CREATE DATABASE {}", quote_ident(name)),
        )
        .map(drop)
    }

    /// Stops the server (`pg_ctl stop -m MODE -w`). Does nothing if it is not running (also
    /// when a stale `postmaster.pid` remains after the server was killed).
    pub fn stop(&self, mode: StopMode) -> Result<(), ClusterError> {
        if !self.is_running() {
            return Ok(());
        }
        self.pg_ctl_stop(mode, PG_CTL_TIMEOUT)
            .map_err(|e| self.server_error("stop", e, 0))
    }

    /// Starts the stopped server again on the same port (`pg_ctl start -w`, then waits until
    /// it accepts connections). Does nothing if it is running.
    ///
    /// Unlike the first start, this does not move to another port if the port was taken in
    /// the meantime: it fails instead.
    pub fn start(&self) -> Result<(), ClusterError> {
        if self.is_running() {
            return Ok(());
        }
        self.launch(None).map_err(|f| f.error)
    }

    /// Restarts the server (`pg_ctl restart -m MODE -w`) on the same port with the same
    /// data, and waits until it accepts connections. After [`StopMode::Immediate`] the
    /// server performs crash recovery. If the server was not running, it is started.
    pub fn restart(&self, mode: StopMode) -> Result<(), ClusterError> {
        self.launch(Some(mode)).map_err(|f| f.error)
    }

    /// Whether the server is running: `postmaster.pid` exists and names a live process
    /// (a killed postmaster that is a zombie, not yet reaped, counts as stopped).
    pub fn is_running(&self) -> bool {
        self.server_pid().is_some()
    }

    /// The process id of the postmaster (from `postmaster.pid`), if the server is running.
    pub fn server_pid(&self) -> Option<u32> {
        let pid = read_pid(&self.pid_file())?;
        process_alive(pid).then_some(pid)
    }

    // ----- internals -----

    fn pid_file(&self) -> PathBuf {
        self.data_dir.join("postmaster.pid")
    }

    fn pg_ctl_path(&self) -> PathBuf {
        self.bin_dir.join("pg_ctl")
    }

    fn pg_ctl_stop(&self, mode: StopMode, timeout: &str) -> Result<(), ClusterError> {
        let argv: Vec<OsString> = vec![
            self.pg_ctl_path().into(),
            "stop".into(),
            "-D".into(),
            self.data_dir.clone().into(),
            "-m".into(),
            mode.as_str().into(),
            "-w".into(),
            "-t".into(),
            timeout.into(),
        ];
        self.runner.run(argv, &self.root).map(drop)
    }

    /// Starts (`restart == None`) or restarts the server and waits until it accepts
    /// connections. On failure, also returns the server log written during this attempt.
    pub(crate) fn launch(&self, restart: Option<StopMode>) -> Result<(), Box<LaunchFailure>> {
        let action = if restart.is_some() {
            "restart"
        } else {
            "start"
        };
        let offset = std::fs::metadata(&self.log_file)
            .map(|m| m.len())
            .unwrap_or(0);
        let mut argv: Vec<OsString> = vec![
            self.pg_ctl_path().into(),
            action.into(),
            "-D".into(),
            self.data_dir.clone().into(),
            // Always redirect the server's output: without -l it would inherit (and keep
            // open) our stdout pipe.
            "-l".into(),
            self.log_file.clone().into(),
            "-w".into(),
            "-t".into(),
            PG_CTL_TIMEOUT.into(),
        ];
        if let Some(mode) = restart {
            argv.extend(["-m".into(), mode.as_str().into()]);
        }
        let result = self
            .runner
            .run(argv, &self.root)
            .map(drop)
            .and_then(|()| self.wait_ready());
        result.map_err(|e| {
            let new_log = read_from(&self.log_file, offset);
            Box::new(LaunchFailure {
                error: self.server_error(action, e, offset),
                new_log,
            })
        })
    }

    /// After `pg_ctl -w` reported success: make sure SQL works.
    fn wait_ready(&self) -> Result<(), ClusterError> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            match self.admin_psql("SELECT 1") {
                Ok(_) => return Ok(()),
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    fn server_error(&self, action: &str, cause: ClusterError, log_offset: u64) -> ClusterError {
        let recent = read_from(&self.log_file, log_offset);
        let log_tail = if recent.trim().is_empty() {
            tail(&read_from(&self.log_file, 0), LOG_TAIL_LINES)
        } else {
            tail(&recent, LOG_TAIL_LINES)
        };
        ClusterError::Server {
            action: action.to_owned(),
            detail: cause.to_string(),
            log_file: self.log_file.clone(),
            log_tail,
        }
    }

    /// Runs SQL as the superuser through the private Unix-domain socket (`trust` auth), for
    /// set-up steps that must not depend on the TCP authentication settings.
    pub(crate) fn admin_psql(&self, sql: &str) -> Result<String, ClusterError> {
        self.run_psql(true, "postgres", PsqlInput::Sql(sql))
    }

    fn run_psql(
        &self,
        via_socket: bool,
        dbname: &str,
        input: PsqlInput<'_>,
    ) -> Result<String, ClusterError> {
        let host = if via_socket {
            self.root.to_string_lossy().into_owned()
        } else {
            HOST.to_owned()
        };
        let conninfo = format!(
            "host={} port={} user={SUPERUSER} dbname={}",
            libpq_quote(&host),
            self.port,
            libpq_quote(dbname)
        );
        let mut cmd = Command::new(&self.psql);
        cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-A", "-t", "-d"])
            .arg(&conninfo);
        scrub_env(&mut cmd);
        cmd.env("PGCLIENTENCODING", "UTF8")
            .env("PGCONNECT_TIMEOUT", "10")
            .env("PGAPPNAME", "throwaway-postgres")
            .env("LC_ALL", "C")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let (false, Some(password)) = (via_socket, &self.password) {
            cmd.env("PGPASSWORD", password);
        }
        let display = format!("{} -d {}", self.psql.display(), shell_join(&[&conninfo]));
        let spawn_err = |e| ClusterError::io(format!("could not run `{display}`"), e);
        let output = match input {
            PsqlInput::File(path) => {
                cmd.arg("-f").arg(path).stdin(Stdio::null());
                cmd.output().map_err(spawn_err)?
            }
            PsqlInput::Sql(sql) => {
                cmd.args(["-f", "-"]).stdin(Stdio::piped());
                let mut child = cmd.spawn().map_err(spawn_err)?;
                let mut stdin = child.stdin.take().expect("stdin is piped");
                let sql = sql.to_owned();
                // Write from another thread: a large script and large output could otherwise
                // block each other.
                let writer = std::thread::spawn(move || {
                    let _ = stdin.write_all(sql.as_bytes());
                    let _ = stdin.write_all(b"\n");
                });
                let output = child.wait_with_output().map_err(spawn_err)?;
                let _ = writer.join();
                output
            }
        };
        if output.status.success() {
            return Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned());
        }
        let mut stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
        if stderr.is_empty() {
            stderr = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        }
        Err(ClusterError::Psql {
            database: dbname.to_owned(),
            status: describe_status(output.status),
            stderr,
        })
    }

    /// Last resort when `pg_ctl stop` failed: SIGKILL the postmaster.
    fn kill_postmaster(&self) {
        let Some(pid) = read_pid(&self.pid_file()) else {
            return;
        };
        if !process_alive(pid) {
            return;
        }
        let _ = Command::new("/bin/sh")
            .args([
                "-c",
                "kill -KILL \"$1\" 2>/dev/null",
                "sh",
                &pid.to_string(),
            ])
            .stdin(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while process_alive(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl fmt::Debug for Cluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cluster")
            .field("host", &HOST)
            .field("port", &self.port)
            .field("version", &self.version.1)
            .field("bin_dir", &self.bin_dir)
            .field("data_dir", &self.data_dir)
            .field("server_user", &self.runner.user().map(|u| &u.name))
            .field("password", &self.password.as_ref().map(|_| "<set>"))
            .finish()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.pid_file().exists() && self.pg_ctl_stop(StopMode::Immediate, "30").is_err() {
            self.kill_postmaster();
        }
        if let Some(temp) = self.temp.take() {
            let path = temp.path().to_path_buf();
            if temp.close().is_err() {
                // Dying server processes may still be writing; try again briefly.
                for _ in 0..20 {
                    std::thread::sleep(Duration::from_millis(100));
                    if std::fs::remove_dir_all(&path).is_ok() || !path.exists() {
                        break;
                    }
                }
            }
        }
        if let Some(watchdog) = self.watchdog.take() {
            watchdog.dismiss();
        }
    }
}

/// A tiny shell process that cleans up the cluster if this process dies without dropping
/// the [`Cluster`] (killed by a signal, `std::process::exit`, a `static` that is never
/// dropped, `panic = "abort"`).
///
/// It blocks reading a pipe whose write end only this process holds. On a normal drop we
/// write a line to dismiss it; if instead the pipe reaches end-of-file (every copy of the
/// write end was closed because the process is gone), it stops the server and deletes the
/// temporary directory. It ignores SIGINT/SIGTERM/SIGHUP/SIGQUIT so that Ctrl-C on the
/// terminal (sent to the whole process group) does not kill it before it has cleaned up.
pub(crate) struct Watchdog {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Watchdog {
    pub(crate) fn spawn(
        runner: &Runner,
        bin_dir: &Path,
        data_dir: &Path,
        root: &Path,
    ) -> std::io::Result<Watchdog> {
        let stop = shell_join(&runner.wrap(vec![
            bin_dir.join("pg_ctl").into(),
            "stop".into(),
            "-D".into(),
            data_dir.into(),
            "-m".into(),
            "immediate".into(),
            "-w".into(),
            "-t".into(),
            "30".into(),
        ]));
        let pid_file = shell_join(&[data_dir.join("postmaster.pid")]);
        let root = shell_join(&[root]);
        let script = format!(
            "trap '' INT TERM HUP QUIT PIPE\n\
             if read -r line; then exit 0; fi\n\
             if [ -f {pid_file} ]; then\n\
             \x20 {stop} >/dev/null 2>&1 || kill -KILL \"$(head -n 1 {pid_file})\" 2>/dev/null\n\
             fi\n\
             rm -rf -- {root}\n"
        );
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(script)
            .current_dir("/")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let stdin = child.stdin.take();
        Ok(Watchdog { child, stdin })
    }

    /// Normal cleanup happened: tell the watchdog to exit without doing anything.
    fn dismiss(mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.write_all(b"done\n");
        }
        let _ = self.child.wait();
    }
}

fn read_pid(pid_file: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(pid_file).ok()?;
    text.lines().next()?.trim().parse().ok()
}

/// Whether a process exists (and is not a zombie).
pub(crate) fn process_alive(pid: u32) -> bool {
    if Path::new("/proc/self").exists() {
        return match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            // The state follows the parenthesized command name: "1234 (postgres) S ...".
            Ok(stat) => stat
                .rsplit_once(") ")
                .is_some_and(|(_, rest)| !rest.starts_with('Z')),
            Err(_) => false,
        };
    }
    Command::new("/bin/sh")
        .args(["-c", "kill -0 \"$1\" 2>/dev/null", "sh", &pid.to_string()])
        .stdin(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The contents of `path` from byte `offset` on (lossy UTF-8; empty if unreadable).
fn read_from(path: &Path, offset: u64) -> String {
    let Ok(mut file) = std::fs::File::open(path) else {
        return String::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let offset = if offset > len { 0 } else { offset };
    if file.seek(SeekFrom::Start(offset)).is_err() {
        return String::new();
    }
    let mut bytes = Vec::new();
    let _ = file.read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The last `n` lines of `text`.
pub(crate) fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.trim_end().lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Quotes a libpq connection-string value when needed.
pub(crate) fn libpq_quote(value: &str) -> String {
    let plain = !value.is_empty()
        && !value
            .chars()
            .any(|c| c.is_whitespace() || c == '\'' || c == '\\' || c == '=');
    if plain {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\\', r"\\").replace('\'', r"\'"))
    }
}

/// Quotes an SQL identifier.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes an SQL string literal (standard_conforming_strings is on by default).
pub(crate) fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(libpq_quote("postgres"), "postgres");
        assert_eq!(libpq_quote(""), "''");
        assert_eq!(libpq_quote("a b'c\\"), r"'a b\'c\\'");
        assert_eq!(libpq_quote("a=b"), "'a=b'");
        assert_eq!(quote_ident("My \"db\""), "\"My \"\"db\"\"\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
    }

    #[test]
    fn tails() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("a\n", 5), "a");
        assert_eq!(tail("", 5), "");
    }

    #[test]
    fn is_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<Cluster>();
    }
}
