//! Running external programs, possibly as an unprivileged user when we are root.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::sync::Mutex;

use crate::error::ClusterError;

/// Name of the user created when running as root and no `postgres` user exists.
pub(crate) const FALLBACK_USER: &str = "pgoutput-test";

/// Environment variable naming the unprivileged user to run the server as (root only).
pub(crate) const USER_ENV: &str = "THROWAWAY_PG_USER";

/// Environment variable forcing how privileges are dropped: `runuser`, `setpriv` or `su`.
pub(crate) const RUNAS_ENV: &str = "THROWAWAY_PG_RUNAS";

/// Environment variables that would change how the PostgreSQL programs behave.
const SCRUBBED_ENV: &[&str] = &[
    "PGDATA",
    "PGPORT",
    "PGHOST",
    "PGHOSTADDR",
    "PGUSER",
    "PGDATABASE",
    "PGPASSWORD",
    "PGSERVICE",
    "PGSERVICEFILE",
    "PGOPTIONS",
    "PGSSLMODE",
    "PGREQUIRESSL",
    "PGTARGETSESSIONATTRS",
    "PGDATESTYLE",
    "PGTZ",
    "PGCLIENTENCODING",
    "PGCONNECT_TIMEOUT",
    "PGCTLTIMEOUT",
];

/// Whether the current process runs with effective uid 0.
pub(crate) fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    // /proc/self belongs to the effective uid of the process.
    if let Ok(meta) = std::fs::metadata("/proc/self") {
        return meta.uid() == 0;
    }
    match Command::new("id").arg("-u").stdin(Stdio::null()).output() {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim() == "0",
        _ => false,
    }
}

/// An unprivileged account that runs the server when we are root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ServerUser {
    pub(crate) name: String,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
}

fn id_of(flag: &str, name: &str) -> Option<u32> {
    let out = Command::new("id")
        .arg(flag)
        .arg("--")
        .arg(name)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

fn lookup_user(name: &str) -> Option<ServerUser> {
    let uid = id_of("-u", name)?;
    let gid = id_of("-g", name)?;
    Some(ServerUser {
        name: name.to_owned(),
        uid,
        gid,
    })
}

/// Finds (or creates) the unprivileged user that runs the server when we are root.
///
/// Order: `explicit` (from the builder), `$THROWAWAY_PG_USER`, the `postgres` system user,
/// `pgoutput-test` (created with `useradd` if missing).
pub(crate) fn resolve_server_user(explicit: Option<&str>) -> Result<ServerUser, ClusterError> {
    let named = explicit.map(str::to_owned).or_else(|| {
        std::env::var(USER_ENV)
            .ok()
            .filter(|s| !s.trim().is_empty())
    });
    if let Some(name) = named {
        let user = lookup_user(&name)
            .ok_or_else(|| ClusterError::ServerUser(format!("the user {name:?} does not exist")))?;
        if user.uid == 0 {
            return Err(ClusterError::ServerUser(format!(
                "{name:?} has uid 0; PostgreSQL refuses to run as root"
            )));
        }
        return Ok(user);
    }

    // Serialize lookups and creation between clusters started in parallel.
    static CACHE: Mutex<Option<ServerUser>> = Mutex::new(None);
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(user) = cache.as_ref() {
        return Ok(user.clone());
    }
    let user = match lookup_user("postgres").filter(|u| u.uid != 0) {
        Some(user) => user,
        None => match lookup_user(FALLBACK_USER) {
            Some(user) => user,
            None => create_user(FALLBACK_USER)?,
        },
    };
    *cache = Some(user.clone());
    Ok(user)
}

fn create_user(name: &str) -> Result<ServerUser, ClusterError> {
    let useradd = find_program("useradd").ok_or_else(|| {
        ClusterError::ServerUser(format!(
            "running as root, there is no `postgres` user and `useradd` was not found to \
             create {name:?}; create an unprivileged user and set {USER_ENV}=<name>"
        ))
    })?;
    let out = Command::new(&useradd)
        .args([
            "--system",
            "--no-create-home",
            "--user-group",
            "--shell",
            "/usr/sbin/nologin",
        ])
        .arg(name)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| ClusterError::io(format!("could not run {}", useradd.display()), e))?;
    // Exit code 9: the user already exists (another process created it meanwhile).
    if !out.status.success() && out.status.code() != Some(9) {
        return Err(ClusterError::ServerUser(format!(
            "`useradd {name}` failed ({}): {}",
            describe_status(out.status),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    lookup_user(name).ok_or_else(|| {
        ClusterError::ServerUser(format!("user {name:?} still missing after useradd"))
    })
}

/// Looks a program up in `PATH`, then in the usual system directories (root's `PATH` in
/// containers sometimes lacks the `sbin` directories).
pub(crate) fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(
            [
                "/usr/local/sbin",
                "/usr/local/bin",
                "/usr/sbin",
                "/usr/bin",
                "/sbin",
                "/bin",
            ]
            .map(PathBuf::from),
        )
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

pub(crate) fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// How server-side commands are run: directly, or as the unprivileged user.
#[derive(Clone, Debug)]
pub(crate) enum Runner {
    /// Not root: run directly.
    Direct,
    /// `runuser -u USER -- cmd...`
    Runuser { runuser: PathBuf, user: ServerUser },
    /// `setpriv --reuid=UID --regid=GID --clear-groups -- cmd...`
    Setpriv { setpriv: PathBuf, user: ServerUser },
    /// `su -s /bin/sh -c 'cmd...' USER`
    Su { su: PathBuf, user: ServerUser },
}

impl Runner {
    /// Picks the best available way to run commands as `user` (or the one named by
    /// `$THROWAWAY_PG_RUNAS`).
    pub(crate) fn as_user(user: ServerUser) -> Result<Runner, ClusterError> {
        if let Some(forced) = std::env::var(RUNAS_ENV).ok().filter(|s| !s.is_empty()) {
            let program = find_program(&forced);
            return match (forced.as_str(), program) {
                ("runuser", Some(runuser)) => Ok(Runner::Runuser { runuser, user }),
                ("setpriv", Some(setpriv)) => Ok(Runner::Setpriv { setpriv, user }),
                ("su", Some(su)) => Ok(Runner::Su { su, user }),
                ("runuser" | "setpriv" | "su", None) => Err(ClusterError::ServerUser(format!(
                    "{RUNAS_ENV}={forced}, but {forced} was not found"
                ))),
                _ => Err(ClusterError::ServerUser(format!(
                    "{RUNAS_ENV}={forced:?} is not one of runuser, setpriv, su"
                ))),
            };
        }
        if let Some(runuser) = find_program("runuser") {
            Ok(Runner::Runuser { runuser, user })
        } else if let Some(setpriv) = find_program("setpriv") {
            Ok(Runner::Setpriv { setpriv, user })
        } else if let Some(su) = find_program("su") {
            Ok(Runner::Su { su, user })
        } else {
            Err(ClusterError::ServerUser(
                "running as root, but none of runuser, setpriv or su was found to drop \
                 privileges"
                    .to_owned(),
            ))
        }
    }

    /// The unprivileged user, if any.
    pub(crate) fn user(&self) -> Option<&ServerUser> {
        match self {
            Runner::Direct => None,
            Runner::Runuser { user, .. }
            | Runner::Setpriv { user, .. }
            | Runner::Su { user, .. } => Some(user),
        }
    }

    /// The full argument vector that runs `argv` as the server user.
    pub(crate) fn wrap(&self, argv: Vec<OsString>) -> Vec<OsString> {
        let mut out: Vec<OsString> = Vec::with_capacity(argv.len() + 6);
        match self {
            Runner::Direct => return argv,
            Runner::Runuser { runuser, user } => {
                out.extend([
                    runuser.into(),
                    "-u".into(),
                    (&user.name).into(),
                    "--".into(),
                ]);
            }
            Runner::Setpriv { setpriv, user } => {
                out.extend([
                    setpriv.into(),
                    format!("--reuid={}", user.uid).into(),
                    format!("--regid={}", user.gid).into(),
                    "--clear-groups".into(),
                    "--".into(),
                ]);
            }
            Runner::Su { su, user } => {
                out.extend([
                    su.into(),
                    "-s".into(),
                    "/bin/sh".into(),
                    "-c".into(),
                    shell_join(&argv).into(),
                    (&user.name).into(),
                ]);
                return out;
            }
        }
        out.extend(argv);
        out
    }

    /// A [`Command`] running `argv` as the server user in `cwd`, with a clean environment
    /// for the PostgreSQL programs.
    pub(crate) fn command(&self, argv: Vec<OsString>, cwd: &Path) -> Command {
        let argv = self.wrap(argv);
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..]).current_dir(cwd).stdin(Stdio::null());
        scrub_env(&mut cmd);
        cmd.env("LC_ALL", "C").env("LANG", "C");
        cmd
    }

    /// Runs `argv` as the server user and fails unless it exits successfully.
    pub(crate) fn run(&self, argv: Vec<OsString>, cwd: &Path) -> Result<Output, ClusterError> {
        let display = shell_join(&self.wrap(argv.clone()));
        let program = program_name(&argv[0]);
        let out = self
            .command(argv, cwd)
            .output()
            .map_err(|e| ClusterError::io(format!("could not run `{display}`"), e))?;
        if out.status.success() {
            Ok(out)
        } else {
            Err(command_error(program, display, out.status, &out))
        }
    }
}

pub(crate) fn scrub_env(cmd: &mut Command) {
    for var in SCRUBBED_ENV {
        cmd.env_remove(var);
    }
}

pub(crate) fn program_name(program: &OsStr) -> String {
    Path::new(program)
        .file_name()
        .unwrap_or(program)
        .to_string_lossy()
        .into_owned()
}

pub(crate) fn command_error(
    program: String,
    command_line: String,
    status: ExitStatus,
    out: &Output,
) -> ClusterError {
    let mut output = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !stdout.trim().is_empty() {
        if !output.is_empty() {
            output.push('\n');
        }
        output.push_str(stdout.trim());
    }
    ClusterError::Command {
        program,
        command_line,
        status: describe_status(status),
        output,
    }
}

pub(crate) fn describe_status(status: ExitStatus) -> String {
    match status.code() {
        Some(code) => format!("exit code {code}"),
        None => status.to_string(),
    }
}

/// Quotes one word for a POSIX shell.
pub(crate) fn shell_quote(word: &OsStr) -> String {
    let s = word.to_string_lossy();
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b));
    if plain {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Quotes and joins an argument vector for a POSIX shell (also used in error messages).
pub(crate) fn shell_join<S: AsRef<OsStr>>(argv: &[S]) -> String {
    argv.iter()
        .map(|a| shell_quote(a.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(
            shell_quote(OsStr::new("/usr/bin/pg_ctl")),
            "/usr/bin/pg_ctl"
        );
        assert_eq!(shell_quote(OsStr::new("")), "''");
        assert_eq!(shell_quote(OsStr::new("it's here")), r"'it'\''s here'");
        assert_eq!(shell_join(&["a b", "c"]), "'a b' c");
    }

    #[test]
    fn wrapping() {
        let user = ServerUser {
            name: "pg".into(),
            uid: 7,
            gid: 8,
        };
        let argv: Vec<OsString> = vec!["/bin/x".into(), "a b".into()];
        let r = Runner::Runuser {
            runuser: "/sbin/runuser".into(),
            user: user.clone(),
        };
        assert_eq!(
            shell_join(&r.wrap(argv.clone())),
            "/sbin/runuser -u pg -- /bin/x 'a b'"
        );
        let r = Runner::Setpriv {
            setpriv: "/bin/setpriv".into(),
            user: user.clone(),
        };
        assert_eq!(
            shell_join(&r.wrap(argv.clone())),
            "/bin/setpriv --reuid=7 --regid=8 --clear-groups -- /bin/x 'a b'"
        );
        let r = Runner::Su {
            su: "/bin/su".into(),
            user,
        };
        assert_eq!(
            shell_join(&r.wrap(argv)),
            r"/bin/su -s /bin/sh -c '/bin/x '\''a b'\''' pg"
        );
    }
}
