//! Connection parameters: [`ConnectParams`], DSN parsing (libpq URI and `key=value` forms),
//! the standard `PG*` environment variables and the password file (`.pgpass`).
//!
//! Parsing follows libpq so that a DSN that works with `psql` works here too; the one
//! deliberate difference is the defaults (see [`ConnectParams::default`]).

use std::{
    fmt,
    path::{Path, PathBuf},
    time::Duration,
};

use crate::{config_enum::config_enum, Error, Result};

/// The keys accepted in a DSN, listed in error messages about unknown keys.
const SUPPORTED_KEYS: &[&str] = &[
    "host",
    "port",
    "user",
    "password",
    "dbname",
    "sslmode",
    "sslrootcert",
    "connect_timeout",
    "application_name",
    "keepalives",
    "target_session_attrs",
];

/// A password. `Debug` and `Display` print `***`, so it cannot leak into logs, reprs or
/// error messages by accident; [`Password::expose`] is the only way to read it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Wraps a password.
    pub fn new(password: impl Into<String>) -> Self {
        Password(password.into())
    }

    /// The password itself. Call this only where it is sent to the server.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Password {
    fn from(s: String) -> Self {
        Password(s)
    }
}

impl From<&str> for Password {
    fn from(s: &str) -> Self {
        Password(s.to_owned())
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

config_enum! {
    /// Whether and how to use TLS, with libpq's meanings.
    SslMode, "sslmode", default = Prefer, exact,
    {
        /// Never use TLS.
        Disable => "disable",
        /// Try TLS without certificate checks; fall back to plain TCP if the server does not
        /// support it (or rejects the TLS connection in `pg_hba.conf`).
        Prefer => "prefer",
        /// Require TLS without certificate checks. If `sslrootcert` is given, behaves like
        /// [`SslMode::VerifyCa`] (as libpq does when a root certificate is present).
        Require => "require",
        /// Require TLS and check the certificate chain against `sslrootcert` (or the system
        /// roots), but not the host name.
        VerifyCa => "verify-ca",
        /// Require TLS, check the chain and that the certificate names the host (DNS name or
        /// IP address).
        VerifyFull => "verify-full",
    }
}

config_enum! {
    /// Which server a connection accepts, with libpq's meanings (`target_session_attrs`).
    ///
    /// With several hosts, they are tried in order and the first one that accepts the
    /// connection and matches is used; a server that does not match is disconnected and the
    /// next host is tried. After a failover, `read-write` or `primary` makes the stream land on
    /// the new primary whichever host it is.
    TargetSessionAttrs, "target_session_attrs", default = Any, exact,
    {
        /// Any server that accepts the connection.
        Any => "any",
        /// A server that accepts writes: not in recovery and `transaction_read_only` off.
        ReadWrite => "read-write",
        /// A server that does not accept writes (a standby, or `default_transaction_read_only`).
        ReadOnly => "read-only",
        /// A server that is not in recovery (`pg_is_in_recovery()` is false).
        Primary => "primary",
        /// A server in recovery (a hot standby).
        Standby => "standby",
    }
}

/// Everything needed to open a connection.
///
/// Build it with [`ConnectParams::from_dsn`] or as a struct literal with
/// `..Default::default()`. `Debug` and `Display` never show the password.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectParams {
    /// Host name or IP address, or the directory of a Unix-domain socket (a path starting
    /// with `/`: the socket is `<dir>/.s.PGSQL.<port>`, as in libpq). With
    /// several hosts (`host=a,b`), the first one; the others are in
    /// [`alternate_hosts`](Self::alternate_hosts).
    pub host: String,
    /// TCP port (of the first host).
    pub port: u16,
    /// The hosts after the first one, with their ports, tried in order when the ones before
    /// fail or do not match [`target_session_attrs`](Self::target_session_attrs)
    /// (`host=a,b,c port=5432,5433,5434` or `postgresql://a:5432,b:5433/db`). Empty with
    /// one host.
    pub alternate_hosts: Vec<(String, u16)>,
    /// Which server to accept (`target_session_attrs`, default `any`).
    pub target_session_attrs: TargetSessionAttrs,
    /// Role to log in as.
    pub user: String,
    /// Password, if the server asks for one.
    pub password: Option<Password>,
    /// The password file that supplied [`password`](Self::password) for the first host, set
    /// when no password was given. Each of the [`alternate_hosts`](Self::alternate_hosts) gets
    /// its own entry from it, as with libpq.
    pub passfile: Option<PathBuf>,
    /// Database to connect to.
    pub dbname: String,
    /// TLS policy.
    pub sslmode: SslMode,
    /// PEM file with the CA certificate(s) to trust; the special value `system` means the
    /// operating system's roots. Without it, `verify-ca`/`verify-full` use the system roots.
    pub sslrootcert: Option<PathBuf>,
    /// Limit for each connection attempt (TCP connect, and separately TLS and startup).
    /// Zero means no limit.
    pub connect_timeout: Duration,
    /// Reported to the server, visible in `pg_stat_activity` and `pg_stat_replication`.
    pub application_name: String,
    /// Enable TCP keepalives so a dead peer is noticed while waiting for data.
    pub keepalives: bool,
}

/// The socket file for a host that is a directory: `<dir>/.s.PGSQL.<port>`, as libpq.
pub(crate) fn unix_socket_path(dir: &str, port: u16) -> String {
    format!("{}/.s.PGSQL.{port}", dir.trim_end_matches('/'))
}

impl Default for ConnectParams {
    /// `localhost:5432`, user and database `postgres`, `sslmode=prefer`, 10 s connect
    /// timeout, keepalives on. (libpq would default user to the OS user and database to
    /// the user name; fixed defaults are more predictable for a service.)
    fn default() -> Self {
        ConnectParams {
            host: "localhost".to_owned(),
            port: 5432,
            alternate_hosts: Vec::new(),
            target_session_attrs: TargetSessionAttrs::Any,
            user: "postgres".to_owned(),
            password: None,
            passfile: None,
            dbname: "postgres".to_owned(),
            sslmode: SslMode::Prefer,
            sslrootcert: None,
            connect_timeout: Duration::from_secs(10),
            application_name: "pgoutput-decoder".to_owned(),
            keepalives: true,
        }
    }
}

impl fmt::Debug for ConnectParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectParams")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("alternate_hosts", &self.alternate_hosts)
            .field("target_session_attrs", &self.target_session_attrs)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("passfile", &self.passfile)
            .field("dbname", &self.dbname)
            .field("sslmode", &self.sslmode)
            .field("sslrootcert", &self.sslrootcert)
            .field("connect_timeout", &self.connect_timeout)
            .field("application_name", &self.application_name)
            .field("keepalives", &self.keepalives)
            .finish()
    }
}

impl fmt::Display for ConnectParams {
    /// `host=… port=… user=… dbname=… sslmode=…`, for log lines (no password). Several
    /// hosts are listed as `host=a,b port=1,2`, followed by `target_session_attrs` when it
    /// is not `any`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hosts = self.hosts();
        let names: Vec<&str> = hosts.iter().map(|(h, _)| h.as_str()).collect();
        let ports: Vec<String> = hosts.iter().map(|(_, p)| p.to_string()).collect();
        write!(
            f,
            "host={} port={} user={} dbname={} sslmode={}",
            names.join(","),
            ports.join(","),
            self.user,
            self.dbname,
            self.sslmode
        )?;
        if self.target_session_attrs != TargetSessionAttrs::Any {
            write!(f, " target_session_attrs={}", self.target_session_attrs)?;
        }
        Ok(())
    }
}

/// Which fields were set explicitly, so the environment only fills the others; and the host
/// and port lists as given, matched up once everything is read.
#[derive(Debug, Clone, Default)]
struct Given {
    host_list: Option<Vec<String>>,
    port_list: Option<Vec<String>>,
    target_session_attrs: bool,
    host: bool,
    port: bool,
    user: bool,
    dbname: bool,
    sslmode: bool,
    connect_timeout: bool,
    application_name: bool,
}

impl ConnectParams {
    /// Parses a libpq connection string, then fills unset fields from the environment
    /// and the password file (see [`ConnectParams::apply_env_and_passfile`]).
    ///
    /// Accepted forms: `postgresql://user:pass@host:port/db?sslmode=require&...` (also
    /// `postgres://`, percent-encoded components, `[::1]` for IPv6) and
    /// `host=h port=5432 dbname='my db' password='it\'s'`. An empty string means all
    /// defaults. Supported keys: host, port, user, password, dbname, sslmode, sslrootcert,
    /// connect_timeout (seconds), application_name, keepalives (0/1), target_session_attrs.
    /// Several hosts are comma-separated (`host=a,b port=5432,5433`, with one port for all
    /// or one per host; `postgresql://a:5432,b:5433/db`); see
    /// [`alternate_hosts`](Self::alternate_hosts).
    pub fn from_dsn(dsn: &str) -> Result<Self> {
        Self::from_dsn_with_env(dsn, &|name| std::env::var(name).ok())
    }

    /// [`ConnectParams::from_dsn`] with several connection strings, applied in order: what a
    /// later one sets overrides an earlier one, and the environment and the password file
    /// then fill only what none of them set. `from_dsns(&[""])` is `from_dsn("")`: libpq's
    /// `PG*` variables and password file, as the command-line tool reads them.
    ///
    /// Used where separate settings sit below a DSN (the Python binding builds a `key=value`
    /// string of its `host=`/`port=`/... keywords and passes its `dsn=` after it).
    pub fn from_dsns(dsns: &[&str]) -> Result<Self> {
        Self::from_dsns_with_env(dsns, &|name| std::env::var(name).ok())
    }

    /// [`ConnectParams::from_dsn`] with an injectable environment (for tests).
    pub(crate) fn from_dsn_with_env(
        dsn: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self> {
        Self::from_dsns_with_env(&[dsn], env)
    }

    fn from_dsns_with_env(dsns: &[&str], env: &dyn Fn(&str) -> Option<String>) -> Result<Self> {
        let mut params = ConnectParams::default();
        let mut given = Given::default();
        for dsn in dsns {
            let pairs = if let Some(rest) = dsn
                .strip_prefix("postgresql://")
                .or_else(|| dsn.strip_prefix("postgres://"))
            {
                parse_uri(rest)?
            } else {
                parse_key_value(dsn)?
            };
            for (key, value) in pairs {
                params.set(&key, &value, &mut given)?;
            }
        }
        params.apply_env(given, env)?;
        Ok(params)
    }

    /// Fills fields that are still unset from `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`,
    /// `PGDATABASE`, `PGSSLMODE`, `PGSSLROOTCERT`, `PGCONNECT_TIMEOUT` and `PGAPPNAME`, and
    /// when there is still no password, from the password file (`PGPASSFILE` or
    /// `~/.pgpass`, libpq's format and matching rules; ignored with a warning when group- or
    /// world-accessible).
    ///
    /// A field counts as unset when it still has its [`Default`] value (`password` and
    /// `sslrootcert` when `None`), so explicit values win. Invalid values in the
    /// environment (e.g. `PGPORT=abc`) are configuration errors.
    pub fn apply_env_and_passfile(&mut self) -> Result<()> {
        let d = ConnectParams::default();
        let given = Given {
            host: self.host != d.host,
            port: self.port != d.port,
            user: self.user != d.user,
            dbname: self.dbname != d.dbname,
            sslmode: self.sslmode != d.sslmode,
            connect_timeout: self.connect_timeout != d.connect_timeout,
            application_name: self.application_name != d.application_name,
            target_session_attrs: self.target_session_attrs != d.target_session_attrs,
            ..Given::default()
        };
        self.apply_env(given, &|name| std::env::var(name).ok())
    }

    fn apply_env(&mut self, given: Given, env: &dyn Fn(&str) -> Option<String>) -> Result<()> {
        // Empty variables count as unset: `PGHOST= cmd` is a common way to "unset" in shells.
        let var = |name: &str| env(name).filter(|v| !v.is_empty());
        let mut scratch = Given::default();
        let mut from_env = |params: &mut Self, key: &str, var_name: &str| -> Result<()> {
            if let Some(value) = var(var_name) {
                params
                    .set(key, &value, &mut scratch)
                    .map_err(|e| Error::config(format!("{} (from {var_name})", e.message())))?;
            }
            Ok(())
        };
        if !given.host {
            from_env(self, "host", "PGHOST")?;
        }
        if !given.port {
            from_env(self, "port", "PGPORT")?;
        }
        if !given.user {
            from_env(self, "user", "PGUSER")?;
        }
        if self.password.is_none() {
            from_env(self, "password", "PGPASSWORD")?;
        }
        if !given.dbname {
            from_env(self, "dbname", "PGDATABASE")?;
        }
        if !given.sslmode {
            from_env(self, "sslmode", "PGSSLMODE")?;
        }
        if self.sslrootcert.is_none() {
            from_env(self, "sslrootcert", "PGSSLROOTCERT")?;
        }
        if !given.connect_timeout {
            from_env(self, "connect_timeout", "PGCONNECT_TIMEOUT")?;
        }
        if !given.application_name {
            from_env(self, "application_name", "PGAPPNAME")?;
        }
        if !given.target_session_attrs {
            from_env(self, "target_session_attrs", "PGTARGETSESSIONATTRS")?;
        }
        self.resolve_hosts(
            given.host_list.or(scratch.host_list.take()),
            given.port_list.or(scratch.port_list.take()),
        )?;
        if self.password.is_none() {
            let path = var("PGPASSFILE")
                .map(PathBuf::from)
                .or_else(|| var("HOME").map(|home| Path::new(&home).join(".pgpass")));
            if let Some(path) = path {
                self.password = passfile_lookup(&path, self).map(Password);
                self.passfile = Some(path);
            }
        }
        Ok(())
    }

    /// Sets one key from a DSN or the environment, validating the value.
    fn set(&mut self, key: &str, value: &str, given: &mut Given) -> Result<()> {
        match key {
            // A comma-separated list tries the hosts in order (matched up with the ports in
            // `resolve_hosts` once every key is read).
            "host" => {
                let list: Vec<String> = value.split(',').map(|h| h.trim().to_owned()).collect();
                for host in &list {
                    if host.starts_with('@') {
                        return Err(Error::config(format!(
                            "host \"{host}\" is an abstract Unix-domain socket, which is not \
                             supported; use a socket directory (host=/var/run/postgresql) or TCP"
                        )));
                    }
                }
                if list.len() > 1 || !value.is_empty() {
                    if let Some(first) = list.iter().find(|h| !h.is_empty()) {
                        self.host = first.clone();
                    }
                    given.host = true;
                    given.host_list = Some(list);
                }
            }
            "port" => {
                let list: Vec<String> = value.split(',').map(|p| p.trim().to_owned()).collect();
                for port in list.iter().filter(|p| !p.is_empty()) {
                    parse_port(port)?;
                }
                if list.len() > 1 || !value.is_empty() {
                    if let Some(first) = list.iter().find(|p| !p.is_empty()) {
                        self.port = parse_port(first)?;
                    }
                    given.port = true;
                    given.port_list = Some(list);
                }
            }
            "target_session_attrs" => {
                self.target_session_attrs = value.parse()?;
                given.target_session_attrs = true;
            }
            "user" => {
                if !value.is_empty() {
                    self.user = value.to_owned();
                    given.user = true;
                }
            }
            // libpq treats an empty password as none, so the password file is consulted.
            "password" => {
                self.password = (!value.is_empty()).then(|| Password::new(value));
            }
            "dbname" => {
                if !value.is_empty() {
                    self.dbname = value.to_owned();
                    given.dbname = true;
                }
            }
            "sslmode" => {
                self.sslmode = value.parse()?;
                given.sslmode = true;
            }
            // libpq's `ssl=true` (from JDBC) means sslmode=require.
            "ssl" => match value {
                "true" | "1" => {
                    self.sslmode = SslMode::Require;
                    given.sslmode = true;
                }
                _ => {
                    return Err(Error::config(format!(
                        "invalid value \"{value}\" for ssl: only \"true\" is supported; use \
                         sslmode instead"
                    )))
                }
            },
            "sslrootcert" => {
                self.sslrootcert = (!value.is_empty()).then(|| PathBuf::from(value));
            }
            "connect_timeout" => {
                let secs: u64 = value.trim().parse().map_err(|_| {
                    Error::config(format!(
                        "invalid connect_timeout \"{value}\": must be a whole number of seconds \
                         (0 = no limit)"
                    ))
                })?;
                self.connect_timeout = Duration::from_secs(secs);
                given.connect_timeout = true;
            }
            "application_name" => {
                self.application_name = value.to_owned();
                given.application_name = true;
            }
            "keepalives" => {
                self.keepalives = match value {
                    "1" | "true" | "on" => true,
                    "0" | "false" | "off" => false,
                    _ => {
                        return Err(Error::config(format!(
                            "invalid keepalives \"{value}\": must be 1 or 0"
                        )))
                    }
                };
            }
            _ => {
                return Err(Error::config(format!(
                    "unknown connection parameter \"{key}\"; supported parameters are {}",
                    SUPPORTED_KEYS.join(", ")
                )))
            }
        }
        Ok(())
    }
}

impl ConnectParams {
    /// Every host to try, in order, with its port: [`host`](Self::host) and
    /// [`port`](Self::port), then [`alternate_hosts`](Self::alternate_hosts).
    pub fn hosts(&self) -> Vec<(String, u16)> {
        std::iter::once((self.host.clone(), self.port))
            .chain(self.alternate_hosts.iter().cloned())
            .collect()
    }

    /// These parameters for one of the hosts only, with that host's entry of the password
    /// file when the password came from there.
    pub(crate) fn for_host(&self, host: &str, port: u16) -> ConnectParams {
        let mut one = ConnectParams {
            host: host.to_owned(),
            port,
            alternate_hosts: Vec::new(),
            ..self.clone()
        };
        if let Some(path) = &self.passfile {
            if (host, port) != (self.host.as_str(), self.port) {
                one.password = passfile_lookup(path, &one).map(Password);
            }
        }
        one
    }

    /// Sets the host and port lists (`a,b` and `5432,5433`, either may be absent) and
    /// matches them up, as the `host` and `port` keys of a connection string do.
    pub(crate) fn set_host_lists(
        &mut self,
        hosts: Option<&str>,
        ports: Option<&str>,
    ) -> Result<()> {
        let mut given = Given::default();
        if let Some(hosts) = hosts {
            self.set("host", hosts, &mut given)?;
        }
        if let Some(ports) = ports {
            self.set("port", ports, &mut given)?;
        }
        self.resolve_hosts(given.host_list, given.port_list)
    }

    /// Matches the host and port lists as given (either may be absent: then the current
    /// hosts or ports stand) like libpq: one port for all hosts, or one port per host.
    fn resolve_hosts(
        &mut self,
        hosts: Option<Vec<String>>,
        ports: Option<Vec<String>>,
    ) -> Result<()> {
        if hosts.is_none() && ports.is_none() {
            return Ok(());
        }
        let defaults = ConnectParams::default();
        let current = self.hosts();
        let names: Vec<String> = match hosts {
            Some(list) => list
                .into_iter()
                .map(|h| {
                    if h.is_empty() {
                        defaults.host.clone()
                    } else {
                        h
                    }
                })
                .collect(),
            None => current.iter().map(|(h, _)| h.clone()).collect(),
        };
        let ports: Vec<u16> = match ports {
            Some(list) => list
                .iter()
                .map(|p| {
                    if p.is_empty() {
                        Ok(defaults.port)
                    } else {
                        parse_port(p)
                    }
                })
                .collect::<Result<_>>()?,
            None if names.len() == current.len() => current.iter().map(|(_, p)| *p).collect(),
            None => vec![self.port],
        };
        let pairs: Vec<(String, u16)> = if ports.len() == 1 {
            names.into_iter().map(|h| (h, ports[0])).collect()
        } else if ports.len() == names.len() {
            names.into_iter().zip(ports).collect()
        } else {
            return Err(Error::config(format!(
                "could not match {} port numbers to {} hosts: give one port for all hosts or \
                 one per host",
                ports.len(),
                names.len()
            )));
        };
        let mut pairs = pairs.into_iter();
        if let Some((host, port)) = pairs.next() {
            self.host = host;
            self.port = port;
        }
        self.alternate_hosts = pairs.collect();
        Ok(())
    }
}

/// A port number from 1 to 65535.
fn parse_port(value: &str) -> Result<u16> {
    match value.parse::<u16>() {
        Ok(port) if port != 0 => Ok(port),
        _ => Err(Error::config(format!(
            "invalid port \"{value}\": must be a number from 1 to 65535"
        ))),
    }
}

impl ConnectParams {
    /// Applies a connection string on top of these parameters instead of the defaults: every
    /// key the DSN sets overrides the current value, all other fields keep theirs. Accepts the
    /// same forms and keys as [`ConnectParams::from_dsn`]; unlike it, nothing is read from the
    /// environment or the password file (call
    /// [`apply_env_and_passfile`](Self::apply_env_and_passfile) afterwards for that).
    ///
    /// Used where separate settings are the defaults a DSN overrides (the Python binding's
    /// `host=`/`port=`/... keywords next to `dsn=`).
    pub fn override_with_dsn(mut self, dsn: &str) -> Result<Self> {
        let pairs = if let Some(rest) = dsn
            .strip_prefix("postgresql://")
            .or_else(|| dsn.strip_prefix("postgres://"))
        {
            parse_uri(rest)?
        } else {
            parse_key_value(dsn)?
        };
        let mut given = Given::default();
        for (key, value) in pairs {
            self.set(&key, &value, &mut given)?;
        }
        self.resolve_hosts(given.host_list, given.port_list)?;
        Ok(self)
    }
}

/// Splits a libpq `key=value` connection string into pairs.
///
/// Values may be single-quoted; a backslash escapes the next character both inside and
/// outside quotes, as in libpq's `conninfo_parse`.
fn parse_key_value(s: &str) -> Result<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|&c| c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            return Err(Error::config(format!(
                "missing \"=\" after \"{key}\" in connection string (expected key=value pairs or \
                 a postgresql:// URI)"
            )));
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next() {
                    Some('\\') => {
                        if let Some(c) = chars.next() {
                            value.push(c);
                        }
                    }
                    Some('\'') => break,
                    Some(c) => value.push(c),
                    None => {
                        return Err(Error::config(format!(
                            "unterminated quoted value for \"{key}\" in connection string"
                        )))
                    }
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    if let Some(c) = chars.next() {
                        value.push(c);
                    }
                } else {
                    value.push(c);
                }
            }
        }
        pairs.push((key, value));
    }
    Ok(pairs)
}

/// Splits the part of a libpq URI after `postgresql://` into key/value pairs.
fn parse_uri(rest: &str) -> Result<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    let (main, query) = match rest.split_once('?') {
        Some((main, query)) => (main, Some(query)),
        None => (rest, None),
    };
    let (authority, path) = match main.split_once('/') {
        Some((authority, path)) => (authority, Some(path)),
        None => (main, None),
    };
    // Like libpq, the first '@' ends the user info; '@' in a password must be encoded.
    let hostport = match authority.split_once('@') {
        Some((userinfo, hostport)) => {
            let (user, password) = match userinfo.split_once(':') {
                Some((user, password)) => (user, Some(password)),
                None => (userinfo, None),
            };
            if !user.is_empty() {
                pairs.push(("user".to_owned(), percent_decode(user, "user name")?));
            }
            if let Some(password) = password {
                // Never echo the password in an error message.
                let password = percent_decode(password, "password").map_err(|_| {
                    Error::config("invalid percent-encoding in the password of the URI")
                })?;
                pairs.push(("password".to_owned(), password));
            }
            hostport
        }
        None => authority,
    };
    // Several hosts are separated by commas, each with its own optional port:
    // postgresql://h1:5432,h2:5433/db.
    let mut hosts = Vec::new();
    let mut ports = Vec::new();
    for hostport in hostport.split(',') {
        let (host, port) = uri_host_port(hostport)?;
        hosts.push(host);
        ports.push(port.unwrap_or_default());
    }
    if hosts.len() > 1 || !hosts[0].is_empty() {
        pairs.push(("host".to_owned(), hosts.join(",")));
    }
    if ports.iter().any(|p| !p.is_empty()) {
        pairs.push(("port".to_owned(), ports.join(",")));
    }
    if let Some(path) = path {
        if !path.is_empty() {
            pairs.push(("dbname".to_owned(), percent_decode(path, "database name")?));
        }
    }
    if let Some(query) = query {
        for item in query.split('&').filter(|item| !item.is_empty()) {
            let (key, value) = item.split_once('=').ok_or_else(|| {
                Error::config(format!(
                    "missing \"=\" in URI query parameter \"{}\"",
                    item.split(':').next().unwrap_or(item)
                ))
            })?;
            let key = percent_decode(key, "parameter name")?;
            let value = percent_decode(value, &key).map_err(|e| {
                if key == "password" {
                    Error::config("invalid percent-encoding in the password of the URI")
                } else {
                    e
                }
            })?;
            pairs.push((key, value));
        }
    }
    Ok(pairs)
}

/// One `host[:port]` (or `[v6addr][:port]`) of a URI, decoded.
fn uri_host_port(hostport: &str) -> Result<(String, Option<String>)> {
    let (host, port) = if let Some(bracketed) = hostport.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').ok_or_else(|| {
            Error::config(format!(
                "missing \"]\" after IPv6 address in \"{hostport}\""
            ))
        })?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or_else(|| {
                Error::config(format!(
                    "unexpected \"{after}\" after IPv6 address in URI (expected :port)"
                ))
            })?),
        };
        (host.to_owned(), port)
    } else {
        match hostport.rsplit_once(':') {
            Some((host, port)) => (percent_decode(host, "host")?, Some(port)),
            None => (percent_decode(hostport, "host")?, None),
        }
    };
    let port = match port {
        Some(port) => Some(percent_decode(port, "port")?),
        None => None,
    };
    Ok((host, port))
}

/// Decodes `%XX` escapes; `what` names the component for the error message.
fn percent_decode(s: &str, what: &str) -> Result<String> {
    if !s.contains('%') {
        return Ok(s.to_owned());
    }
    let bad = || Error::config(format!("invalid percent-encoding in {what} \"{s}\""));
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or_else(bad)?;
            let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
            let byte = u8::from_str_radix(hex, 16).map_err(|_| bad())?;
            // libpq rejects %00: a NUL cannot be sent in the startup packet.
            if byte == 0 {
                return Err(bad());
            }
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| bad())
}

/// Looks the password up in a libpq password file; `None` if there is no usable match.
fn passfile_lookup(path: &Path, params: &ConnectParams) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() {
        tracing::warn!(path = %path.display(), "password file is not a plain file; ignoring it");
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Same rule as libpq: a file others can read is not trusted with passwords.
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(
                path = %path.display(),
                "password file has group or world access; permissions should be u=rw (0600) \
                 or less; ignoring it"
            );
            return None;
        }
    }
    let contents = std::fs::read_to_string(path).ok()?;
    passfile_match(&contents, params)
}

/// Finds the first matching line of a password file (`host:port:db:user:password`, `*`
/// matches anything, `\` escapes `:` and `\`).
fn passfile_match(contents: &str, params: &ConnectParams) -> Option<String> {
    let port = params.port.to_string();
    let wanted = [
        params.host.as_str(),
        port.as_str(),
        params.dbname.as_str(),
        &params.user,
    ];
    for line in contents.lines() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields = split_passfile_line(line);
        if fields.len() < 5 {
            continue;
        }
        let matches = fields[..4]
            .iter()
            .zip(wanted)
            .all(|((field, raw), want)| raw == "*" || field == want);
        if matches {
            // The password is the rest of the line after the fourth separator.
            return Some(
                fields[4..]
                    .iter()
                    .map(|(f, _)| f.as_str())
                    .collect::<Vec<_>>()
                    .join(":"),
            );
        }
    }
    None
}

/// Splits one password-file line at unescaped colons, returning each field unescaped and
/// as written (so `\*` can be told apart from the wildcard `*`).
fn split_passfile_line(line: &str) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut raw = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                raw.push('\\');
                if let Some(next) = chars.next() {
                    field.push(next);
                    raw.push(next);
                }
            }
            ':' => {
                fields.push((std::mem::take(&mut field), std::mem::take(&mut raw)));
            }
            c => {
                field.push(c);
                raw.push(c);
            }
        }
    }
    fields.push((field, raw));
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// libpq's keywords parse exactly as spelled, with libpq's wording when they do not.
    #[test]
    fn sslmode_and_target_session_attrs_spellings() {
        for mode in SslMode::ALL {
            assert_eq!(mode.as_str().parse::<SslMode>().unwrap(), *mode);
        }
        assert_eq!(SslMode::default(), SslMode::Prefer);
        assert_eq!(SslMode::VerifyFull.to_string(), "verify-full");
        assert_eq!(
            "Require".parse::<SslMode>().unwrap_err().to_string(),
            "invalid sslmode \"Require\": allowed values are disable, prefer, require, \
             verify-ca, verify-full"
        );
        for attrs in TargetSessionAttrs::ALL {
            assert_eq!(
                attrs.as_str().parse::<TargetSessionAttrs>().unwrap(),
                *attrs
            );
        }
        assert_eq!(TargetSessionAttrs::default(), TargetSessionAttrs::Any);
        assert_eq!(TargetSessionAttrs::ReadWrite.to_string(), "read-write");
        assert_eq!(
            " any"
                .parse::<TargetSessionAttrs>()
                .unwrap_err()
                .to_string(),
            "invalid target_session_attrs \" any\": allowed values are any, read-write, \
             read-only, primary, standby"
        );
    }

    fn parse(dsn: &str, env: &[(&str, &str)]) -> Result<ConnectParams> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ConnectParams::from_dsn_with_env(dsn, &|name| env.get(name).cloned())
    }

    #[test]
    fn defaults() {
        let p = parse("", &[]).unwrap();
        assert_eq!(p, ConnectParams::default());
        assert_eq!(p.host, "localhost");
        assert_eq!(p.port, 5432);
        assert_eq!(p.user, "postgres");
        assert_eq!(p.dbname, "postgres");
        assert_eq!(p.sslmode, SslMode::Prefer);
        assert_eq!(p.connect_timeout, Duration::from_secs(10));
        assert_eq!(p.application_name, "pgoutput-decoder");
    }

    #[test]
    fn uri_full() {
        let p = parse(
            "postgresql://al%40ice:p%3Ass%2Fw@db.example.com:6543/my%20db?sslmode=require&\
             connect_timeout=5&application_name=x%26y&sslrootcert=/etc/ca.pem&keepalives=0",
            &[],
        )
        .unwrap();
        assert_eq!(p.user, "al@ice");
        assert_eq!(p.password.as_ref().unwrap().expose(), "p:ss/w");
        assert_eq!(p.host, "db.example.com");
        assert_eq!(p.port, 6543);
        assert_eq!(p.dbname, "my db");
        assert_eq!(p.sslmode, SslMode::Require);
        assert_eq!(p.connect_timeout, Duration::from_secs(5));
        assert_eq!(p.application_name, "x&y");
        assert_eq!(p.sslrootcert.as_deref(), Some(Path::new("/etc/ca.pem")));
        assert!(!p.keepalives);
    }

    #[test]
    fn uri_short_forms() {
        let p = parse("postgres://", &[]).unwrap();
        assert_eq!(p, ConnectParams::default());
        let p = parse("postgresql://[::1]:5433", &[]).unwrap();
        assert_eq!(p.host, "::1");
        assert_eq!(p.port, 5433);
        let p = parse("postgresql://bob@/app?host=10.0.0.1", &[]).unwrap();
        assert_eq!(
            (p.user.as_str(), p.host.as_str(), p.dbname.as_str()),
            ("bob", "10.0.0.1", "app")
        );
        let p = parse("postgresql://h/?ssl=true", &[]).unwrap();
        assert_eq!(p.sslmode, SslMode::Require);
    }

    #[test]
    fn uri_errors_do_not_leak_password() {
        let err = parse("postgresql://u:sec%zzret@h/db", &[]).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Config);
        assert!(!err.to_string().contains("sec"), "{err}");
        assert!(parse("postgresql://h:notaport/db", &[]).is_err());
        assert!(parse("postgresql://h1:1,h2:notaport/db", &[]).is_err());
    }

    #[test]
    fn key_value_quoting() {
        let p = parse(
            concat!(
                r"host=db port = 5433 user='my user' password='it\'s a \\ secret' ",
                r"dbname=a\ b application_name=''"
            ),
            &[],
        )
        .unwrap();
        assert_eq!(p.host, "db");
        assert_eq!(p.port, 5433);
        assert_eq!(p.user, "my user");
        assert_eq!(p.password.as_ref().unwrap().expose(), r"it's a \ secret");
        assert_eq!(p.dbname, "a b");
        assert_eq!(p.application_name, "");
        assert!(parse("host='unterminated", &[]).is_err());
        assert!(parse("host", &[]).is_err());
    }

    #[test]
    fn unknown_key_names_key_and_supported_keys() {
        let err = parse("host=x bogus=1", &[]).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Config);
        let msg = err.to_string();
        assert!(msg.contains("\"bogus\""), "{msg}");
        assert!(
            msg.contains("sslmode") && msg.contains("application_name"),
            "{msg}"
        );
        let err = parse("postgresql://h/db?foo=bar", &[]).unwrap_err();
        assert!(err.to_string().contains("\"foo\""));
    }

    #[test]
    fn sslmode_parse_and_display() {
        for mode in [
            SslMode::Disable,
            SslMode::Prefer,
            SslMode::Require,
            SslMode::VerifyCa,
            SslMode::VerifyFull,
        ] {
            assert_eq!(mode.to_string().parse::<SslMode>().unwrap(), mode);
        }
        let err = "allow".parse::<SslMode>().unwrap_err();
        assert!(err.to_string().contains("verify-full"), "{err}");
    }

    #[test]
    fn later_connection_strings_override_earlier_ones_and_env_fills_the_rest() {
        let env = |name: &str| match name {
            "PGHOST" => Some("envhost".to_owned()),
            "PGPORT" => Some("7777".to_owned()),
            "PGUSER" => Some("envuser".to_owned()),
            "PGDATABASE" => Some("envdb".to_owned()),
            _ => None,
        };
        let p = ConnectParams::from_dsns_with_env(
            &["host=kwhost user=kwuser", "postgresql://dsnuser@/dsndb"],
            &env,
        )
        .unwrap();
        assert_eq!(p.host, "kwhost");
        assert_eq!(p.port, 7777);
        assert_eq!(p.user, "dsnuser");
        assert_eq!(p.dbname, "dsndb");
        let p = ConnectParams::from_dsns_with_env(&["", ""], &env).unwrap();
        assert_eq!((p.host.as_str(), p.port), ("envhost", 7777));
        assert_eq!((p.user.as_str(), p.dbname.as_str()), ("envuser", "envdb"));
    }

    #[test]
    fn env_fills_unset_fields_only() {
        let env = [
            ("PGHOST", "envhost"),
            ("PGPORT", "7777"),
            ("PGUSER", "envuser"),
            ("PGPASSWORD", "envpw"),
            ("PGDATABASE", "envdb"),
            ("PGSSLMODE", "verify-full"),
            ("PGSSLROOTCERT", "/ca.pem"),
            ("PGCONNECT_TIMEOUT", "3"),
            ("PGAPPNAME", "envapp"),
        ];
        let p = parse("", &env).unwrap();
        assert_eq!(p.host, "envhost");
        assert_eq!(p.port, 7777);
        assert_eq!(p.user, "envuser");
        assert_eq!(p.password.as_ref().unwrap().expose(), "envpw");
        assert_eq!(p.dbname, "envdb");
        assert_eq!(p.sslmode, SslMode::VerifyFull);
        assert_eq!(p.sslrootcert.as_deref(), Some(Path::new("/ca.pem")));
        assert_eq!(p.connect_timeout, Duration::from_secs(3));
        assert_eq!(p.application_name, "envapp");

        // Explicit values win, even when equal to the defaults.
        let p = parse("host=localhost port=5432 password=x sslmode=prefer", &env).unwrap();
        assert_eq!((p.host.as_str(), p.port), ("localhost", 5432));
        assert_eq!(p.password.as_ref().unwrap().expose(), "x");
        assert_eq!(p.sslmode, SslMode::Prefer);
        assert_eq!(p.user, "envuser");

        let err = parse("", &[("PGPORT", "abc")]).unwrap_err();
        assert!(err.to_string().contains("PGPORT"), "{err}");
    }

    #[test]
    fn passfile_matching_rules() {
        let file = "\
# comment
otherhost:*:*:*:wrong
db\\:x:5432:app:alice:escaped
localhost:5432:*:alice:p\\:w\\\\d:tail
*:*:*:*:fallback
";
        let mut p = ConnectParams {
            user: "alice".into(),
            ..Default::default()
        };
        assert_eq!(passfile_match(file, &p).as_deref(), Some("p:w\\d:tail"));
        p.host = "db:x".into();
        p.dbname = "app".into();
        assert_eq!(passfile_match(file, &p).as_deref(), Some("escaped"));
        p.port = 5433;
        assert_eq!(passfile_match(file, &p).as_deref(), Some("fallback"));
        assert_eq!(passfile_match("h:1:d:u:pw\n", &p), None);
        // An escaped star is a literal star, not a wildcard.
        p.host = "h".into();
        assert_eq!(passfile_match("\\*:*:*:*:pw\n", &p), None);
    }

    #[cfg(unix)]
    #[test]
    fn passfile_from_env_and_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pgpass");
        std::fs::write(&path, "localhost:5432:postgres:postgres:frompass\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let file = path.to_str().unwrap();
        let p = parse("", &[("PGPASSFILE", file)]).unwrap();
        assert_eq!(p.password.as_ref().unwrap().expose(), "frompass");
        // PGPASSWORD and explicit passwords take precedence over the file.
        let p = parse("", &[("PGPASSFILE", file), ("PGPASSWORD", "env")]).unwrap();
        assert_eq!(p.password.as_ref().unwrap().expose(), "env");
        // ~/.pgpass is used when PGPASSFILE is unset.
        std::fs::rename(&path, dir.path().join(".pgpass")).unwrap();
        let p = parse("", &[("HOME", dir.path().to_str().unwrap())]).unwrap();
        assert_eq!(p.password.as_ref().unwrap().expose(), "frompass");
        // Group-readable files are ignored.
        let path = dir.path().join(".pgpass");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let p = parse("", &[("PGPASSFILE", path.to_str().unwrap())]).unwrap();
        assert!(p.password.is_none());
    }

    /// Every host of a list gets its own password-file entry, as with libpq.
    #[cfg(unix)]
    #[test]
    fn passfile_entry_per_host() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pgpass");
        std::fs::write(
            &path,
            "primary:5432:app:u:first\nstandby:5433:app:u:second\n",
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let file = path.to_str().unwrap();
        let dsn = "host=primary,standby,other port=5432,5433,5434 dbname=app user=u";
        let p = parse(dsn, &[("PGPASSFILE", file)]).unwrap();
        assert_eq!(p.password.as_ref().unwrap().expose(), "first");
        let password = |host: &str, port: u16| {
            let one = p.for_host(host, port);
            one.password.map(|pw| pw.expose().to_owned())
        };
        assert_eq!(password("primary", 5432).as_deref(), Some("first"));
        assert_eq!(password("standby", 5433).as_deref(), Some("second"));
        assert_eq!(password("other", 5434), None);
        // A password that was given applies to every host; the file is not read.
        let p = parse(&format!("{dsn} password=given"), &[("PGPASSFILE", file)]).unwrap();
        assert_eq!(p.passfile, None);
        assert_eq!(
            p.for_host("standby", 5433).password.unwrap().expose(),
            "given"
        );
    }

    #[test]
    fn secrets_are_redacted() {
        let p = parse("password=hunter2", &[]).unwrap();
        let debug = format!("{p:?}");
        assert!(
            !debug.contains("hunter2") && debug.contains("***"),
            "{debug}"
        );
        assert!(!p.to_string().contains("hunter2"));
        let pw = Password::new("hunter2");
        assert_eq!(format!("{pw} {pw:?}"), "*** ***");
        assert_eq!(pw.expose(), "hunter2");
    }

    fn hosts(p: &ConnectParams) -> Vec<(String, u16)> {
        p.hosts()
    }

    #[test]
    fn several_hosts_key_value() {
        let p = parse("host=a,b,c port=1,2,3 target_session_attrs=read-write", &[]).unwrap();
        assert_eq!(
            hosts(&p),
            [("a".into(), 1), ("b".into(), 2), ("c".into(), 3)]
        );
        assert_eq!((p.host.as_str(), p.port), ("a", 1));
        assert_eq!(p.target_session_attrs, TargetSessionAttrs::ReadWrite);
        assert_eq!(
            p.to_string(),
            "host=a,b,c port=1,2,3 user=postgres dbname=postgres sslmode=prefer \
             target_session_attrs=read-write"
        );
        // One port for every host, in either order of the keys; empty entries are defaults.
        let p = parse("port=7 host=a,b", &[]).unwrap();
        assert_eq!(hosts(&p), [("a".into(), 7), ("b".into(), 7)]);
        let p = parse("host=a,b", &[]).unwrap();
        assert_eq!(hosts(&p), [("a".into(), 5432), ("b".into(), 5432)]);
        let p = parse("host=a,,c port=1,,3", &[]).unwrap();
        assert_eq!(
            hosts(&p),
            [("a".into(), 1), ("localhost".into(), 5432), ("c".into(), 3)]
        );
        let err = parse("host=a,b,c port=1,2", &[]).unwrap_err();
        assert!(
            err.to_string()
                .contains("could not match 2 port numbers to 3 hosts"),
            "{err}"
        );
        assert!(parse("host=a,b port=1,x", &[]).is_err());
        assert!(parse("target_session_attrs=prefer-nothing", &[]).is_err());
    }

    #[test]
    fn several_hosts_uri_and_env() {
        let p = parse(
            "postgresql://u@h1:5001,[::1]:5002,h3/db?target_session_attrs=primary",
            &[],
        )
        .unwrap();
        assert_eq!(
            hosts(&p),
            [
                ("h1".into(), 5001),
                ("::1".into(), 5002),
                ("h3".into(), 5432)
            ]
        );
        assert_eq!(p.dbname, "db");
        assert_eq!(p.target_session_attrs, TargetSessionAttrs::Primary);
        // A single host stays a single host.
        let p = parse("postgresql://h1:5001/db", &[]).unwrap();
        assert!(p.alternate_hosts.is_empty());
        // The environment's lists fill what the DSN left out.
        let p = parse(
            "dbname=x",
            &[
                ("PGHOST", "e1,e2"),
                ("PGPORT", "11,12"),
                ("PGTARGETSESSIONATTRS", "standby"),
            ],
        )
        .unwrap();
        assert_eq!(hosts(&p), [("e1".into(), 11), ("e2".into(), 12)]);
        assert_eq!(p.target_session_attrs, TargetSessionAttrs::Standby);
        let p = parse("port=9", &[("PGHOST", "e1,e2")]).unwrap();
        assert_eq!(hosts(&p), [("e1".into(), 9), ("e2".into(), 9)]);
        // Overriding keeps what the DSN does not name.
        let p = ConnectParams::default()
            .override_with_dsn("host=a,b port=1,2")
            .unwrap()
            .override_with_dsn("user=z")
            .unwrap();
        assert_eq!(hosts(&p), [("a".into(), 1), ("b".into(), 2)]);
        let p = p.override_with_dsn("port=3").unwrap();
        assert_eq!(hosts(&p), [("a".into(), 3), ("b".into(), 3)]);
    }
}
