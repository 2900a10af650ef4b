//! Disposable Kafka-protocol brokers for tests: [tansu](https://github.com/tansu-io/tansu) with
//! its SQLite storage in a temporary directory, on a free port of `127.0.0.1`.
//!
//! ```no_run
//! use throwaway_kafka::Broker;
//!
//! let mut broker = Broker::start()?;
//! println!("bootstrap.servers={}", broker.bootstrap_servers());
//! broker.stop()?; // the storage stays: a restarted broker keeps its topics and records
//! broker.restart()?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! The broker does not create topics on its own: create them with an admin client.
//!
//! # Binary
//!
//! `tansu` comes from the `TANSU_BIN` environment variable, else
//! `~/.cache/pgoutput-decoder/tansu-0.6/bin/tansu` (where the project's `make setup`
//! installs it), else `PATH`. [`tansu_binary`] says which one, or `None`.
//!
//! # Cleanup
//!
//! Dropping a [`Broker`] kills the process and removes the directory. So that a process that
//! dies without dropping it (killed, `std::process::exit`) leaks neither, every broker has a
//! watchdog shell that waits on a pipe held by this process and does the same once the pipe
//! closes.
#![warn(missing_docs)]

use std::{
    io::{self, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, ChildStdin, Command, Stdio},
    time::{Duration, Instant},
};

/// Where `make setup` installs tansu, under the home directory.
const CACHED_BINARY: &str = ".cache/pgoutput-decoder/tansu-0.6/bin/tansu";

/// How long a broker may take to accept connections after it was started.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The tansu binary to run, if there is one.
pub fn tansu_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("TANSU_BIN") {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    if let Some(home) = std::env::var_os("HOME") {
        let cached = Path::new(&home).join(CACHED_BINARY);
        if cached.is_file() {
            return Some(cached);
        }
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("tansu"))
        .find(|p| p.is_file())
}

/// A running (or stopped) tansu broker with its own storage directory and port.
#[derive(Debug)]
pub struct Broker {
    binary: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    process: Option<Child>,
    /// Closing it (dropping it) tells the watchdog to clean up.
    watchdog: Option<(Child, ChildStdin)>,
}

impl Broker {
    /// Starts a broker on a free port with empty storage, and waits until it accepts
    /// connections.
    ///
    /// # Errors
    /// No tansu binary (see [`tansu_binary`]), or it did not start.
    pub fn start() -> io::Result<Broker> {
        let binary = tansu_binary().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "no tansu binary: set TANSU_BIN, or run `make setup` (installs it into \
                     ~/{CACHED_BINARY})"
                ),
            )
        })?;
        let dir = tempfile::Builder::new()
            .prefix("throwaway-kafka-")
            .tempdir()?;
        let mut broker = Broker {
            binary,
            dir,
            port: 0,
            process: None,
            watchdog: None,
        };
        // A port found free may be taken by someone else before the broker binds it.
        let mut last = None;
        for _ in 0..5 {
            broker.port = free_port()?;
            match broker.launch() {
                Ok(()) => return Ok(broker),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("the broker did not start")))
    }

    /// `127.0.0.1:PORT`, for `bootstrap.servers`.
    pub fn bootstrap_servers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The port the broker listens on (the same across restarts).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory holding the broker's storage (`tansu.db`) and its log (`tansu.log`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Whether the broker process is running.
    pub fn is_running(&mut self) -> bool {
        match &mut self.process {
            Some(p) => matches!(p.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Stops the broker at once (SIGKILL, like a crash): what it acknowledged is in its
    /// storage, which stays for [`restart`](Self::restart).
    ///
    /// # Errors
    /// The process could not be killed.
    pub fn stop(&mut self) -> io::Result<()> {
        if let Some(mut p) = self.process.take() {
            if matches!(p.try_wait(), Ok(None)) {
                p.kill()?;
            }
            p.wait()?;
        }
        Ok(())
    }

    /// Starts the stopped broker again on the same port and storage.
    ///
    /// # Errors
    /// It did not start (for example, the port was taken in the meantime).
    pub fn restart(&mut self) -> io::Result<()> {
        self.stop()?;
        self.launch()
    }

    /// What the broker wrote to its log so far (for a failing test's message).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("tansu.log")).unwrap_or_default()
    }

    fn launch(&mut self) -> io::Result<()> {
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("tansu.log"))?;
        // The storage path is relative to the broker's working directory.
        let mut child = Command::new(&self.binary)
            .arg("broker")
            .args(["--listener-url", &url])
            .args(["--advertised-listener-url", &url])
            .args(["--storage-engine", "sqlite://tansu.db"])
            .current_dir(self.dir.path())
            .env(
                "RUST_LOG",
                std::env::var("TANSU_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        self.watch(child.id())?;
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait()? {
                return Err(io::Error::other(format!(
                    "tansu exited ({status}) on port {}: {}",
                    self.port,
                    self.log().lines().last().unwrap_or("")
                )));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("tansu did not listen on port {} within 30 s", self.port),
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.process = Some(child);
        Ok(())
    }

    /// (Re)starts the watchdog for the broker process `pid`: when this process is gone, it
    /// kills the broker and removes the directory.
    fn watch(&mut self, pid: u32) -> io::Result<()> {
        if let Some((mut old, mut stdin)) = self.watchdog.take() {
            // Tell the old one to exit without cleaning up: the directory is still in use.
            let _ = stdin.write_all(b"keep\n");
            drop(stdin);
            let _ = old.wait();
        }
        let script = r#"trap '' INT TERM HUP QUIT
read -r line
if [ "$line" != keep ]; then kill -9 "$1" 2>/dev/null; rm -rf "$2"; fi"#;
        let mut child = Command::new("sh")
            .args(["-c", script, "watchdog"])
            .arg(pid.to_string())
            .arg(self.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let stdin = child.stdin.take().expect("piped stdin");
        self.watchdog = Some((child, stdin));
        Ok(())
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.stop();
        if let Some((mut watchdog, mut stdin)) = self.watchdog.take() {
            // The broker is gone: the watchdog exits without touching anything (the pid may
            // be reused already), and the directory goes with `self.dir`.
            let _ = stdin.write_all(b"keep\n");
            drop(stdin);
            let _ = watchdog.wait();
        }
    }
}

fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_stops_and_restarts_on_the_same_port_and_storage() {
        if tansu_binary().is_none() {
            eprintln!("skipped: no tansu binary");
            return;
        }
        let mut broker = Broker::start().unwrap();
        let port = broker.port();
        assert!(broker.is_running());
        assert!(broker.dir().join("tansu.db").exists(), "{}", broker.log());
        broker.stop().unwrap();
        assert!(!broker.is_running());
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
        broker.restart().unwrap();
        assert_eq!(broker.port(), port);
        assert!(TcpStream::connect(("127.0.0.1", port)).is_ok());
        let dir = broker.dir().to_path_buf();
        drop(broker);
        assert!(!dir.exists(), "the directory is removed");
    }
}
