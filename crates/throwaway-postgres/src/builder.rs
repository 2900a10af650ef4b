//! Configuring and starting a cluster.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::io::Write;
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use crate::cluster::{quote_literal, Cluster, Watchdog, HOST, SUPERUSER};
use crate::error::ClusterError;
use crate::exec::{find_program, is_executable, is_root, resolve_server_user, Runner, ServerUser};

/// Environment variable with the directory of the server binaries.
pub(crate) const PG_BIN_ENV: &str = "PG_BIN";
/// Where Debian and Ubuntu install the server binaries: `<dir>/<major>/bin`.
const DEBIAN_LIB_DIR: &str = "/usr/lib/postgresql";
/// Programs the bin directory must contain.
const SERVER_PROGRAMS: [&str; 3] = ["initdb", "pg_ctl", "postgres"];
/// How many ports to try when the chosen free port is taken before the server binds it.
const PORT_ATTEMPTS: usize = 5;
/// Settings the caller may not override.
const RESERVED_SETTINGS: [&str; 1] = ["unix_socket_directories"];

/// Configures a disposable PostgreSQL cluster; [`start`](Self::start) creates and starts it.
///
/// ```no_run
/// # use throwaway_postgres::ClusterBuilder;
/// let cluster = ClusterBuilder::new()
///     .setting("max_connections", "50")
///     .superuser_password("secret")
///     .start()?;
/// # Ok::<(), throwaway_postgres::ClusterError>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct ClusterBuilder {
    bin_dir: Option<PathBuf>,
    settings: Vec<(String, String)>,
    password: Option<String>,
    host_auth: Option<String>,
    hba_lines: Vec<String>,
    ssl: Option<SslFiles>,
    server_user: Option<String>,
}

#[derive(Clone, Debug)]
struct SslFiles {
    cert: PathBuf,
    key: PathBuf,
    ca: Option<PathBuf>,
}

impl ClusterBuilder {
    /// A builder with the defaults described on the methods.
    pub fn new() -> ClusterBuilder {
        ClusterBuilder::default()
    }

    /// The directory with `initdb`, `pg_ctl` and `postgres`.
    ///
    /// Default: the `PG_BIN` environment variable if set (it must then be valid), else the
    /// newest `/usr/lib/postgresql/<major>/bin` (Debian/Ubuntu layout), else
    /// `pg_config --bindir`. Relative paths are resolved against the current directory
    /// (under `cargo test` that is the crate's directory, so prefer absolute paths).
    ///
    /// `psql` is taken from this directory if it is there, else from `PATH`.
    pub fn bin_dir(mut self, dir: impl Into<PathBuf>) -> ClusterBuilder {
        self.bin_dir = Some(dir.into());
        self
    }

    /// Sets a `postgresql.conf` parameter, overriding the defaults:
    ///
    /// | setting | default |
    /// |---|---|
    /// | `listen_addresses` | `'127.0.0.1'` |
    /// | `port` | a free port (see below) |
    /// | `unix_socket_directories` | the temporary directory (cannot be changed) |
    /// | `wal_level` | `logical` |
    /// | `max_wal_senders`, `max_replication_slots` | `20` |
    /// | `max_prepared_transactions` | `10` |
    /// | `fsync`, `full_page_writes` | `off` |
    /// | `synchronous_commit` | `on` (commits survive an immediate restart) |
    /// | `wal_sender_timeout` | `60s` |
    /// | `password_encryption` | `md5` with [`host_auth("md5")`](Self::host_auth), else `scram-sha-256` |
    /// | `log_line_prefix` | `'%m [%p] '` (the log goes to [`Cluster::log_file`]) |
    ///
    /// Pass the value as it would appear in SQL `SET`, without quotes (`"logical"`, `"64MB"`,
    /// `"%m [%p] "`); it is quoted for `postgresql.conf`. A value already enclosed in single
    /// quotes is written verbatim.
    ///
    /// Setting `port` fixes the port: the start then fails instead of retrying when the port
    /// is taken. Without it, a free port is found by binding `127.0.0.1:0`; if another process
    /// grabs it before the server binds it, the start is retried with a new port (5 attempts).
    pub fn setting(mut self, name: impl Into<String>, value: impl Into<String>) -> ClusterBuilder {
        let (name, value) = (name.into(), value.into());
        match self
            .settings
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(&name))
        {
            Some(slot) => slot.1 = value,
            None => self.settings.push((name, value)),
        }
        self
    }

    /// Gives the `postgres` superuser a password (`initdb --pwfile`) and switches TCP
    /// connections to password authentication ([`host_auth`](Self::host_auth), default
    /// `scram-sha-256`). Without a password, TCP connections use `trust`.
    ///
    /// Connections through the Unix-domain socket in [`Cluster::socket_dir`] always use
    /// `trust`.
    pub fn superuser_password(mut self, password: impl Into<String>) -> ClusterBuilder {
        self.password = Some(password.into());
        self
    }

    /// The `pg_hba.conf` method for TCP connections (`host` lines for `127.0.0.1/32` and
    /// `::1/128`, normal and replication): `"scram-sha-256"`, `"md5"`, `"password"`,
    /// `"trust"`, ... Default: `scram-sha-256` if a password is set, else `trust`.
    ///
    /// With `"md5"`, `password_encryption` defaults to `md5` so that passwords are really
    /// stored (and checked) as MD5 (a SCRAM-stored password would make PostgreSQL use SCRAM
    /// even on an `md5` line).
    pub fn host_auth(mut self, method: impl Into<String>) -> ClusterBuilder {
        self.host_auth = Some(method.into());
        self
    }

    /// Adds a line to `pg_hba.conf` before the default lines (so it takes precedence), e.g.
    /// `"hostssl all all 127.0.0.1/32 scram-sha-256"` or
    /// `"hostnossl all all 127.0.0.1/32 reject"`. Lines are kept in the order added.
    ///
    /// Do not reject `local` (Unix-domain socket) connections of `postgres` to the `postgres`
    /// database: the crate uses them to check that the server is up.
    pub fn hba_line(mut self, line: impl Into<String>) -> ClusterBuilder {
        self.hba_lines.push(line.into());
        self
    }

    /// Enables TLS: the PEM certificate, private key and optional CA certificate are copied
    /// into the data directory (`server.crt`, `server.key` with mode 0600 owned by the server
    /// user, `root.crt`) and `ssl=on` is set. Clients may then use TLS on the default `host`
    /// lines; add `hostssl`/`hostnossl` lines with [`hba_line`](Self::hba_line) to require it.
    /// With a CA, `ssl_ca_file` is set too, so client certificates can be checked
    /// (`clientcert=verify-full` or the `cert` method).
    pub fn ssl(
        mut self,
        cert_pem: impl Into<PathBuf>,
        key_pem: impl Into<PathBuf>,
        ca_pem: Option<PathBuf>,
    ) -> ClusterBuilder {
        self.ssl = Some(SslFiles {
            cert: cert_pem.into(),
            key: key_pem.into(),
            ca: ca_pem,
        });
        self
    }

    /// Only when running as root: the unprivileged user that runs the server. Default: the
    /// `THROWAWAY_PG_USER` environment variable, else `postgres` if that user exists, else
    /// `pgoutput-test` (created with `useradd --system` if needed).
    pub fn server_user(mut self, name: impl Into<String>) -> ClusterBuilder {
        self.server_user = Some(name.into());
        self
    }

    /// Creates the cluster in a new temporary directory (`initdb`), writes its
    /// configuration, starts the server (`pg_ctl start -w`) and waits until it accepts
    /// connections.
    ///
    /// When the process runs as root (PostgreSQL refuses to), the server-side programs run
    /// as an unprivileged user (see [`server_user`](Self::server_user)) via `runuser`
    /// (or `setpriv`, or `su`), and the temporary directory is owned by that user. The
    /// temporary directory is created under `$TMPDIR`, or under `/tmp` if that is not
    /// usable (not reachable by the server user, or too long for a socket path).
    ///
    /// On failure everything created so far is removed; if the server did not start, the
    /// error includes the end of the server log.
    pub fn start(&self) -> Result<Cluster, ClusterError> {
        self.start_with_ports(&mut allocate_port)
    }

    /// The major version (`12`, ..., `18`) of the server binaries [`start`](Self::start)
    /// would use, without starting anything: for tests that choose their settings, or skip,
    /// by version (`logical_decoding_work_mem` is unknown to PostgreSQL 12, for one).
    pub fn major_version(&self) -> Result<u32, ClusterError> {
        let bin_dir = match &self.bin_dir {
            Some(dir) => check_bin_dir(dir, "the bin dir given to ClusterBuilder::bin_dir")?,
            None => default_bin_dir()?,
        };
        // `--version` reads nothing of the cluster: running it as ourselves is enough.
        Ok(server_version(&Runner::Direct, &bin_dir)?.0)
    }

    /// [`start`](Self::start) with the source of free ports as a parameter (for tests).
    fn start_with_ports(
        &self,
        next_port: &mut dyn FnMut() -> Result<u16, ClusterError>,
    ) -> Result<Cluster, ClusterError> {
        let bin_dir = match &self.bin_dir {
            Some(dir) => check_bin_dir(dir, "the bin dir given to ClusterBuilder::bin_dir")?,
            None => default_bin_dir()?,
        };
        let psql = find_psql(&bin_dir)?;
        let settings = self.validated_settings()?;
        let explicit_port = match settings
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("port"))
        {
            Some((_, value)) => Some(value.trim_matches('\'').parse::<u16>().map_err(|_| {
                ClusterError::Config(format!("port {value:?} is not a valid port number"))
            })?),
            None => None,
        };
        let host_auth = self.host_auth.clone().unwrap_or_else(|| {
            if self.password.is_some() {
                "scram-sha-256"
            } else {
                "trust"
            }
            .to_owned()
        });
        if host_auth.trim().is_empty() || host_auth.contains(char::is_whitespace) {
            return Err(ClusterError::Config(format!(
                "invalid host_auth method {host_auth:?}"
            )));
        }
        if let Some(password) = &self.password {
            if password.is_empty() || password.contains(['\n', '\r']) {
                return Err(ClusterError::Config(
                    "the superuser password must be non-empty and must not contain newlines".into(),
                ));
            }
        }

        let root_user = is_root();
        let runner = if root_user {
            Runner::as_user(resolve_server_user(self.server_user.as_deref())?)?
        } else {
            Runner::Direct
        };
        let owner = runner.user().cloned();
        let version = server_version(&runner, &bin_dir)?;

        let temp = tempfile::Builder::new()
            .prefix("throwaway-pg-")
            .tempdir_in(temp_base(root_user))
            .map_err(|e| ClusterError::io("could not create a temporary directory", e))?;
        let root = temp.path().to_path_buf();
        chown(&root, owner.as_ref())?;
        let data_dir = root.join("data");
        let log_file = data_dir.join("postgres.log");
        // If the watchdog cannot be started, clusters may leak when the process is killed,
        // but everything else works.
        let watchdog = Watchdog::spawn(&runner, &bin_dir, &data_dir, &root).ok();

        // From here on, dropping `cluster` cleans everything up.
        let mut cluster = Cluster {
            bin_dir,
            psql,
            runner,
            version,
            port: 0,
            password: self.password.clone(),
            root,
            data_dir,
            log_file,
            temp: Some(temp),
            watchdog,
        };

        self.initdb(&cluster, &host_auth, owner.as_ref())?;
        self.configure(&cluster, &host_auth, owner.as_ref())?;

        let conf_file = cluster.data_dir.join("throwaway.conf");
        let mut attempt = 0;
        loop {
            attempt += 1;
            cluster.port = match explicit_port {
                Some(port) => port,
                None => next_port()?,
            };
            let conf = render_conf(&settings, &cluster, &host_auth, self.ssl.as_ref());
            write_owned(&conf_file, conf.as_bytes(), 0o600, owner.as_ref())?;
            match cluster.launch(None) {
                Ok(()) => break,
                Err(failure)
                    if explicit_port.is_none()
                        && attempt < PORT_ATTEMPTS
                        && port_taken(&failure.new_log) =>
                {
                    // Make sure the failed attempt left nothing running before retrying.
                    let _ = cluster.stop(crate::StopMode::Immediate);
                    continue;
                }
                Err(failure) => return Err(failure.error),
            }
        }

        if let Some(password) = &cluster.password {
            // initdb hashed the password with the server's default method; store it again
            // with the configured password_encryption so that the host_auth method matches.
            cluster.admin_psql(&format!(
                "ALTER ROLE {SUPERUSER} PASSWORD {}",
                quote_literal(password)
            ))?;
        }
        Ok(cluster)
    }

    fn validated_settings(&self) -> Result<Vec<(String, String)>, ClusterError> {
        for (name, value) in &self.settings {
            let valid_name = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
            if !valid_name {
                return Err(ClusterError::Config(format!(
                    "invalid setting name {name:?}"
                )));
            }
            if value.contains(['\n', '\r']) {
                return Err(ClusterError::Config(format!(
                    "the value of setting {name} must not contain newlines"
                )));
            }
            if RESERVED_SETTINGS
                .iter()
                .any(|r| name.eq_ignore_ascii_case(r))
            {
                return Err(ClusterError::Config(format!(
                    "{name} cannot be changed (the cluster's private socket directory is used \
                     for administration)"
                )));
            }
        }
        Ok(self.settings.clone())
    }

    fn initdb(
        &self,
        cluster: &Cluster,
        host_auth: &str,
        owner: Option<&ServerUser>,
    ) -> Result<(), ClusterError> {
        let mut argv: Vec<OsString> = vec![
            cluster.bin_dir.join("initdb").into(),
            "-D".into(),
            cluster.data_dir.clone().into(),
            "-U".into(),
            SUPERUSER.into(),
            "-E".into(),
            "UTF8".into(),
            "--locale=C".into(),
            "--auth-local=trust".into(),
            format!("--auth-host={host_auth}").into(),
            "--no-sync".into(),
        ];
        let pwfile = cluster.root.join("pwfile");
        if let Some(password) = &self.password {
            write_owned(&pwfile, format!("{password}\n").as_bytes(), 0o600, owner)?;
            argv.push(format!("--pwfile={}", pwfile.display()).into());
        }
        let result = cluster.runner.run(argv, &cluster.root);
        let _ = std::fs::remove_file(&pwfile);
        result.map(drop)
    }

    /// Writes pg_hba.conf, includes throwaway.conf from postgresql.conf, copies SSL files.
    fn configure(
        &self,
        cluster: &Cluster,
        host_auth: &str,
        owner: Option<&ServerUser>,
    ) -> Result<(), ClusterError> {
        let data = &cluster.data_dir;
        let mut hba = String::from("# Written by throwaway-postgres.\n");
        if !self.hba_lines.is_empty() {
            hba.push_str("# Added with ClusterBuilder::hba_line:\n");
            for line in &self.hba_lines {
                hba.push_str(line.trim_end());
                hba.push('\n');
            }
            hba.push_str("# Defaults:\n");
        }
        hba.push_str("local   all          all                 trust\n");
        hba.push_str("local   replication  all                 trust\n");
        for addr in ["127.0.0.1/32", "::1/128"] {
            for db in ["all        ", "replication"] {
                hba.push_str(&format!("host    {db}  all  {addr:<14} {host_auth}\n"));
            }
        }
        write_owned(&data.join("pg_hba.conf"), hba.as_bytes(), 0o600, owner)?;

        let conf = data.join("postgresql.conf");
        std::fs::OpenOptions::new()
            .append(true)
            .open(&conf)
            .and_then(|mut f| {
                f.write_all(b"\n# Added by throwaway-postgres.\ninclude 'throwaway.conf'\n")
            })
            .map_err(|e| ClusterError::io(format!("could not append to {}", conf.display()), e))?;

        if let Some(ssl) = &self.ssl {
            copy_owned(&ssl.cert, &data.join("server.crt"), 0o644, owner)?;
            copy_owned(&ssl.key, &data.join("server.key"), 0o600, owner)?;
            if let Some(ca) = &ssl.ca {
                copy_owned(ca, &data.join("root.crt"), 0o644, owner)?;
            }
        }
        Ok(())
    }
}

/// The contents of throwaway.conf: defaults, then the caller's settings.
fn render_conf(
    user: &[(String, String)],
    cluster: &Cluster,
    host_auth: &str,
    ssl: Option<&SslFiles>,
) -> String {
    let password_encryption = if host_auth.eq_ignore_ascii_case("md5") {
        "md5"
    } else {
        "scram-sha-256"
    };
    let mut settings: Vec<(String, String)> = [
        ("listen_addresses", HOST.to_owned()),
        ("port", cluster.port.to_string()),
        (
            "unix_socket_directories",
            cluster.root.to_string_lossy().into_owned(),
        ),
        ("wal_level", "logical".into()),
        ("max_wal_senders", "20".into()),
        ("max_replication_slots", "20".into()),
        ("max_prepared_transactions", "10".into()),
        ("fsync", "off".into()),
        // On, so a commit the client saw survives an immediate (crash) restart; with fsync=off
        // it costs little.
        ("synchronous_commit", "on".into()),
        ("full_page_writes", "off".into()),
        ("wal_sender_timeout", "60s".into()),
        ("password_encryption", password_encryption.into()),
        ("log_destination", "stderr".into()),
        ("logging_collector", "off".into()),
        ("log_line_prefix", "%m [%p] ".into()),
    ]
    .into_iter()
    .map(|(n, v)| (n.to_owned(), v))
    .collect();
    if let Some(ssl) = ssl {
        settings.push(("ssl".into(), "on".into()));
        settings.push(("ssl_cert_file".into(), "server.crt".into()));
        settings.push(("ssl_key_file".into(), "server.key".into()));
        if ssl.ca.is_some() {
            settings.push(("ssl_ca_file".into(), "root.crt".into()));
        }
    }
    for (name, value) in user {
        if name.eq_ignore_ascii_case("port") {
            continue; // already resolved into cluster.port
        }
        match settings
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(slot) => slot.1 = value.clone(),
            None => settings.push((name.clone(), value.clone())),
        }
    }
    let mut out = String::from("# Written by throwaway-postgres; included from postgresql.conf.\n");
    for (name, value) in settings {
        out.push_str(&format!("{name} = {}\n", conf_quote(&value)));
    }
    out
}

/// Quotes a postgresql.conf value (any parameter type accepts a quoted value).
fn conf_quote(value: &str) -> String {
    if value.len() >= 2 && value.starts_with('\'') && value.ends_with('\'') {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', "''"))
    }
}

/// Whether a failed start was caused by the port being taken.
pub(crate) fn port_taken(log: &str) -> bool {
    log.contains("Address already in use") || log.contains("could not create any TCP/IP sockets")
}

/// A port that is free right now (and not handed out before by this process).
pub(crate) fn allocate_port() -> Result<u16, ClusterError> {
    static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    for _ in 0..50 {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .map_err(|e| ClusterError::io("could not bind 127.0.0.1:0 to find a free port", e))?;
        let port = listener
            .local_addr()
            .map_err(|e| ClusterError::io("could not read the bound port", e))?
            .port();
        drop(listener);
        if handed_out.insert(port) {
            return Ok(port);
        }
    }
    Err(ClusterError::Config(
        "could not find a free TCP port on 127.0.0.1".into(),
    ))
}

/// Where to create the temporary directory.
pub(crate) fn temp_base(root_user: bool) -> PathBuf {
    let base = std::env::temp_dir();
    // A Unix socket path has at most 107 bytes: <base>/throwaway-pg-XXXXXX/.s.PGSQL.NNNNN
    let too_long = base.as_os_str().len() + "/throwaway-pg-XXXXXX/.s.PGSQL.65535".len() > 100;
    // The server user needs to traverse every parent directory.
    let unreachable = root_user
        && base.ancestors().any(|dir| {
            std::fs::metadata(dir)
                .map(|m| m.permissions().mode() & 0o001 == 0)
                .unwrap_or(true)
        });
    if too_long || unreachable || !base.is_dir() {
        PathBuf::from("/tmp")
    } else {
        base
    }
}

pub(crate) fn chown(path: &Path, owner: Option<&ServerUser>) -> Result<(), ClusterError> {
    let Some(user) = owner else { return Ok(()) };
    std::os::unix::fs::chown(path, Some(user.uid), Some(user.gid)).map_err(|e| {
        ClusterError::io(
            format!("could not chown {} to {}", path.display(), user.name),
            e,
        )
    })
}

/// Writes a file with the given mode, owned by the server user.
pub(crate) fn write_owned(
    path: &Path,
    contents: &[u8],
    mode: u32,
    owner: Option<&ServerUser>,
) -> Result<(), ClusterError> {
    std::fs::write(path, contents)
        .and_then(|()| std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)))
        .map_err(|e| ClusterError::io(format!("could not write {}", path.display()), e))?;
    chown(path, owner)
}

fn copy_owned(
    from: &Path,
    to: &Path,
    mode: u32,
    owner: Option<&ServerUser>,
) -> Result<(), ClusterError> {
    let contents = std::fs::read(from)
        .map_err(|e| ClusterError::io(format!("could not read {}", from.display()), e))?;
    write_owned(to, &contents, mode, owner)
}

/// Validates an explicitly given bin directory.
fn check_bin_dir(dir: &Path, origin: &str) -> Result<PathBuf, ClusterError> {
    let dir = if dir.is_absolute() {
        dir.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| ClusterError::io("could not read the current directory", e))?
            .join(dir)
    };
    if !dir.is_dir() {
        return Err(ClusterError::Binaries(format!(
            "{origin} {} is not a directory",
            dir.display()
        )));
    }
    let missing: Vec<&str> = SERVER_PROGRAMS
        .iter()
        .copied()
        .filter(|p| !is_executable(&dir.join(p)))
        .collect();
    if !missing.is_empty() {
        return Err(ClusterError::Binaries(format!(
            "{origin} {} does not contain the executable(s) {}",
            dir.display(),
            missing.join(", ")
        )));
    }
    Ok(dir)
}

fn has_server_programs(dir: &Path) -> bool {
    SERVER_PROGRAMS.iter().all(|p| is_executable(&dir.join(p)))
}

/// `/usr/lib/postgresql/<version>/bin` directories, newest first.
fn debian_bin_dirs() -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(DEBIAN_LIB_DIR) else {
        return Vec::new();
    };
    let mut versions: Vec<(Vec<u32>, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let key: Option<Vec<u32>> = name.split('.').map(|p| p.parse().ok()).collect();
            Some((key?, e.path().join("bin")))
        })
        .collect();
    versions.sort_by(|a, b| b.0.cmp(&a.0));
    versions.into_iter().map(|(_, dir)| dir).collect()
}

/// `PG_BIN`, else the newest Debian-style install, else `pg_config --bindir`.
fn default_bin_dir() -> Result<PathBuf, ClusterError> {
    if let Some(dir) = std::env::var_os(PG_BIN_ENV).filter(|v| !v.is_empty()) {
        return check_bin_dir(Path::new(&dir), "PG_BIN=");
    }
    let mut searched = vec![format!("${PG_BIN_ENV} (not set)")];

    let debian = debian_bin_dirs();
    if let Some(dir) = debian.iter().find(|d| has_server_programs(d)) {
        return Ok(dir.clone());
    }
    searched.push(if debian.is_empty() {
        format!("{DEBIAN_LIB_DIR}/<version>/bin (none)")
    } else {
        format!(
            "{} (without initdb, pg_ctl and postgres)",
            debian
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    });

    match Command::new("pg_config")
        .arg("--bindir")
        .stdin(Stdio::null())
        .output()
    {
        Ok(out) if out.status.success() => {
            let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            if has_server_programs(&dir) {
                return Ok(dir);
            }
            searched.push(format!(
                "`pg_config --bindir` = {} (without initdb, pg_ctl and postgres)",
                dir.display()
            ));
        }
        Ok(out) => searched.push(format!(
            "`pg_config --bindir` (failed: {})",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => searched.push(format!("`pg_config --bindir` ({e})")),
    }
    Err(ClusterError::Binaries(format!(
        "could not find the PostgreSQL server binaries initdb, pg_ctl and postgres; searched: \
         {}. Install the server (e.g. `apt-get install postgresql`), set PG_BIN to the \
         directory that contains them, or use ClusterBuilder::bin_dir",
        searched.join("; ")
    )))
}

/// `psql`: from the bin dir, else `PATH`, else a Debian-style install.
fn find_psql(bin_dir: &Path) -> Result<PathBuf, ClusterError> {
    let in_bin = bin_dir.join("psql");
    if is_executable(&in_bin) {
        return Ok(in_bin);
    }
    if let Some(psql) = find_program("psql") {
        return Ok(psql);
    }
    if let Some(psql) = debian_bin_dirs()
        .into_iter()
        .map(|d| d.join("psql"))
        .find(|p| is_executable(p))
    {
        return Ok(psql);
    }
    Err(ClusterError::Binaries(format!(
        "psql was found neither in {} nor in PATH; install the PostgreSQL client \
         (e.g. `apt-get install postgresql-client`)",
        bin_dir.display()
    )))
}

/// `postgres --version`, run as the server user (which also checks that user can execute
/// the binaries).
fn server_version(runner: &Runner, bin_dir: &Path) -> Result<(u32, String), ClusterError> {
    let postgres = bin_dir.join("postgres");
    let out = runner
        .run(
            vec![postgres.clone().into(), "--version".into()],
            Path::new("/"),
        )
        .map_err(|e| {
            let hint = match runner.user() {
                Some(user) => format!(
                    " (the server runs as the unprivileged user {:?}: every directory above {} \
                 must be searchable and the files readable by it, e.g. `chmod -R a+rX`)",
                    user.name,
                    bin_dir.display()
                ),
                None => String::new(),
            };
            ClusterError::Binaries(format!("cannot run {}{hint}: {e}", postgres.display()))
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    parse_version(&text).ok_or_else(|| {
        ClusterError::Binaries(format!(
            "unexpected output of `{} --version`: {:?}",
            postgres.display(),
            text.trim()
        ))
    })
}

/// Parses `postgres (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)` into `(15, "15.14")`.
fn parse_version(text: &str) -> Option<(u32, String)> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let version = words
        .iter()
        .position(|w| *w == "(PostgreSQL)")
        .and_then(|i| words.get(i + 1))
        .or_else(|| {
            words
                .iter()
                .find(|w| w.starts_with(|c: char| c.is_ascii_digit()))
        })?;
    let digits: String = version.chars().take_while(char::is_ascii_digit).collect();
    Some((digits.parse().ok()?, (*version).to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(
            parse_version("postgres (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)\n"),
            Some((15, "15.14".to_owned()))
        );
        assert_eq!(
            parse_version("postgres (PostgreSQL) 16.14"),
            Some((16, "16.14".to_owned()))
        );
        assert_eq!(
            parse_version("postgres (PostgreSQL) 18beta1"),
            Some((18, "18beta1".to_owned()))
        );
        assert_eq!(parse_version("garbage"), None);
    }

    #[test]
    fn conf_values() {
        assert_eq!(conf_quote("logical"), "'logical'");
        assert_eq!(conf_quote("it's"), "'it''s'");
        assert_eq!(conf_quote("'127.0.0.1'"), "'127.0.0.1'");
        assert_eq!(conf_quote(""), "''");
    }

    #[test]
    fn port_conflict_detection() {
        assert!(port_taken(
            "LOG:  could not bind IPv4 address \"127.0.0.1\": Address already in use\n"
        ));
        assert!(!port_taken(
            "FATAL:  invalid value for parameter \"shared_buffers\""
        ));
    }

    /// The first port handed out is taken: the start is retried on the next one.
    #[test]
    fn retries_when_the_port_is_taken() {
        let taken = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let taken_port = taken.local_addr().unwrap().port();
        let mut handed_out = Vec::new();
        let mut ports = || {
            let port = if handed_out.is_empty() {
                taken_port
            } else {
                allocate_port()?
            };
            handed_out.push(port);
            Ok(port)
        };
        let cluster = ClusterBuilder::new()
            .start_with_ports(&mut ports)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(handed_out.len(), 2);
        assert_eq!(cluster.port(), handed_out[1]);
        assert_eq!(
            cluster.psql("postgres", "SHOW port").unwrap(),
            handed_out[1].to_string()
        );
        let log = std::fs::read_to_string(cluster.log_file()).unwrap();
        assert!(log.contains("Address already in use"), "{log}");
    }

    #[test]
    fn settings_override_in_place() {
        let b = ClusterBuilder::new()
            .setting("wal_level", "replica")
            .setting("WAL_LEVEL", "logical");
        assert_eq!(
            b.settings,
            vec![("wal_level".to_owned(), "logical".to_owned())]
        );
        assert!(ClusterBuilder::new()
            .setting("bad name", "x")
            .validated_settings()
            .is_err());
        assert!(ClusterBuilder::new()
            .setting("a", "x\ny")
            .validated_settings()
            .is_err());
        assert!(ClusterBuilder::new()
            .setting("unix_socket_directories", "/tmp")
            .validated_settings()
            .is_err());
    }
}
