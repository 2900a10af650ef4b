//! Physical standbys of a throwaway cluster: a base backup, `standby.signal`, streaming
//! replication from the primary, and promotion.

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::builder::{allocate_port, chown, port_taken, temp_base, write_owned};
use crate::cluster::{libpq_quote, quote_literal, Cluster, Watchdog, SUPERUSER};
use crate::error::ClusterError;
use crate::exec::{describe_status, is_root, scrub_env, shell_join, ServerUser};

/// How many ports to try when the chosen free port is taken before the standby binds it.
const PORT_ATTEMPTS: usize = 5;

/// How [`Cluster::create_standby`] takes the base backup.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BaseBackupMethod {
    /// `pg_basebackup` when the bin directory has one, else [`LowLevelApi`](Self::LowLevelApi).
    #[default]
    Auto,
    /// `pg_basebackup -X stream` from the cluster's bin directory (it must be there: the
    /// relocatable server builds that `scripts/fetch-postgres.sh` installs do not have it,
    /// and a `pg_basebackup` of an older major version refuses a newer server).
    PgBasebackup,
    /// An online backup with the SQL functions `pg_backup_start` and `pg_backup_stop`
    /// (`pg_start_backup`/`pg_stop_backup` before PostgreSQL 15) around a file copy of the
    /// data directory, leaving out what `pg_basebackup` leaves out; the standby then fetches
    /// the WAL from the backup's start on by streaming replication, so give it a
    /// [`slot`](StandbyOptions::slot) to keep that WAL on the primary. Needs only the server
    /// binaries and `psql`.
    LowLevelApi,
}

/// Options for [`Cluster::create_standby`].
#[derive(Clone, Debug, Default)]
pub struct StandbyOptions {
    /// A physical replication slot on the primary for the standby (`primary_slot_name`),
    /// created (reserving WAL at once) if it does not exist.
    pub slot: Option<String>,
    /// Extra `postgresql.conf` settings of the standby (e.g. `hot_standby_feedback`,
    /// `sync_replication_slots`), written after the primary's settings, so they win. Values
    /// as for [`ClusterBuilder::setting`](crate::ClusterBuilder::setting).
    pub settings: Vec<(String, String)>,
    /// How to take the base backup.
    pub method: BaseBackupMethod,
}

impl Cluster {
    /// Creates a hot standby of this (running) cluster in a new temporary directory, on its
    /// own free port, and starts it.
    ///
    /// The standby streams from this cluster through its private Unix-domain socket
    /// (`primary_conninfo` names `dbname=postgres`, as `sync_replication_slots` needs), uses
    /// the same binaries, server user, password and `pg_hba.conf`, and has this cluster's
    /// settings plus [`StandbyOptions::settings`]. Like any [`Cluster`], it is removed when
    /// dropped; [`promote`](Self::promote) turns it into a primary.
    pub fn create_standby(&self, options: &StandbyOptions) -> Result<Cluster, ClusterError> {
        for (name, value) in &options.settings {
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
                || value.contains(['\n', '\r'])
            {
                return Err(ClusterError::Config(format!(
                    "invalid standby setting {name:?} = {value:?}"
                )));
            }
        }
        if let Some(slot) = &options.slot {
            self.admin_psql(&format!(
                "SELECT pg_catalog.pg_create_physical_replication_slot({0}, true) \
                 WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_replication_slots \
                 WHERE slot_name = {0})",
                quote_literal(slot)
            ))?;
        }
        let owner = self.runner.user().cloned();
        let temp = tempfile::Builder::new()
            .prefix("throwaway-pg-")
            .tempdir_in(temp_base(is_root()))
            .map_err(|e| ClusterError::io("could not create a temporary directory", e))?;
        let root = temp.path().to_path_buf();
        chown(&root, owner.as_ref())?;
        let data_dir = root.join("data");
        let log_file = data_dir.join("postgres.log");
        let watchdog = Watchdog::spawn(&self.runner, &self.bin_dir, &data_dir, &root).ok();
        let mut standby = Cluster {
            bin_dir: self.bin_dir.clone(),
            psql: self.psql.clone(),
            runner: self.runner.clone(),
            version: self.version.clone(),
            port: 0,
            password: self.password.clone(),
            root,
            data_dir,
            log_file,
            temp: Some(temp),
            watchdog,
        };

        let pg_basebackup = self.bin_dir.join("pg_basebackup");
        let use_tool = match options.method {
            BaseBackupMethod::Auto => pg_basebackup.is_file(),
            BaseBackupMethod::PgBasebackup => true,
            BaseBackupMethod::LowLevelApi => false,
        };
        if use_tool {
            self.runner.run(
                vec![
                    pg_basebackup.into(),
                    "-h".into(),
                    self.root.clone().into(),
                    "-p".into(),
                    self.port.to_string().into(),
                    "-U".into(),
                    SUPERUSER.into(),
                    "-D".into(),
                    standby.data_dir.clone().into(),
                    "-X".into(),
                    "stream".into(),
                    "-c".into(),
                    "fast".into(),
                    "--no-sync".into(),
                ],
                &standby.root,
            )?;
        } else {
            self.low_level_backup(&standby.data_dir, owner.as_ref())?;
        }
        // What the copy brought along that belongs to the primary.
        for name in ["postgres.log", "postmaster.pid", "postmaster.opts"] {
            let _ = std::fs::remove_file(standby.data_dir.join(name));
        }
        write_owned(
            &standby.data_dir.join("standby.signal"),
            b"",
            0o600,
            owner.as_ref(),
        )?;
        let primary_conf = std::fs::read_to_string(self.data_dir.join("throwaway.conf"))
            .map_err(|e| ClusterError::io("could not read the primary's throwaway.conf", e))?;
        let conninfo = format!(
            "host={} port={} user={SUPERUSER} dbname=postgres application_name=standby",
            libpq_quote(&self.root.to_string_lossy()),
            self.port
        );

        let mut attempt = 0;
        loop {
            attempt += 1;
            standby.port = allocate_port()?;
            let mut conf = primary_conf.clone();
            conf.push_str("\n# Standby settings, written by throwaway-postgres.\n");
            let mut settings: Vec<(String, String)> = vec![
                ("port".into(), standby.port.to_string()),
                (
                    "unix_socket_directories".into(),
                    standby.root.to_string_lossy().into_owned(),
                ),
                ("primary_conninfo".into(), conninfo.clone()),
                ("hot_standby".into(), "on".into()),
            ];
            if let Some(slot) = &options.slot {
                settings.push(("primary_slot_name".into(), slot.clone()));
            }
            settings.extend(options.settings.iter().cloned());
            for (name, value) in settings {
                let value = if value.len() >= 2 && value.starts_with('\'') && value.ends_with('\'')
                {
                    value
                } else {
                    format!("'{}'", value.replace('\'', "''"))
                };
                conf.push_str(&format!("{name} = {value}\n"));
            }
            write_owned(
                &standby.data_dir.join("throwaway.conf"),
                conf.as_bytes(),
                0o600,
                owner.as_ref(),
            )?;
            match standby.launch(None) {
                Ok(()) => break,
                Err(failure) if attempt < PORT_ATTEMPTS && port_taken(&failure.new_log) => {
                    let _ = standby.stop(crate::StopMode::Immediate);
                    continue;
                }
                Err(failure) => return Err(failure.error),
            }
        }
        Ok(standby)
    }

    /// Promotes a standby to a primary (`pg_ctl promote -w`: returns once it accepts
    /// writes).
    pub fn promote(&self) -> Result<(), ClusterError> {
        let argv: Vec<OsString> = vec![
            self.bin_dir.join("pg_ctl").into(),
            "promote".into(),
            "-D".into(),
            self.data_dir.clone().into(),
            "-w".into(),
            "-t".into(),
            "60".into(),
        ];
        self.runner.run(argv, &self.root).map(drop)
    }

    /// Whether the server is a standby (`pg_is_in_recovery()`).
    pub fn is_in_recovery(&self) -> Result<bool, ClusterError> {
        Ok(self.admin_psql("SELECT pg_catalog.pg_is_in_recovery()")? == "t")
    }

    /// [`BaseBackupMethod::LowLevelApi`]: `pg_backup_start` in a `psql` session held open
    /// while the data directory is copied, then `pg_backup_stop`, whose label file goes
    /// into the copy as `backup_label`.
    fn low_level_backup(
        &self,
        target: &Path,
        owner: Option<&ServerUser>,
    ) -> Result<(), ClusterError> {
        let (start, stop) = if self.major_version() >= 15 {
            (
                "SELECT pg_catalog.pg_backup_start('throwaway-standby', true);",
                "SELECT encode(convert_to(labelfile, 'UTF8'), 'hex') \
                 FROM pg_catalog.pg_backup_stop(false);",
            )
        } else {
            (
                "SELECT pg_catalog.pg_start_backup('throwaway-standby', true, false);",
                "SELECT encode(convert_to(labelfile, 'UTF8'), 'hex') \
                 FROM pg_catalog.pg_stop_backup(false, false);",
            )
        };
        let flag = target.with_file_name("backup-started");
        let conninfo = format!(
            "host={} port={} user={SUPERUSER} dbname=postgres",
            libpq_quote(&self.root.to_string_lossy()),
            self.port
        );
        let mut cmd = Command::new(&self.psql);
        cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-A", "-t", "-d"])
            .arg(&conninfo)
            .args(["-f", "-"]);
        scrub_env(&mut cmd);
        cmd.env("LC_ALL", "C")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let display = format!("{} -d {}", self.psql.display(), shell_join(&[&conninfo]));
        let mut child = cmd
            .spawn()
            .map_err(|e| ClusterError::io(format!("could not run `{display}`"), e))?;
        let mut stdin = child.stdin.take().expect("stdin is piped");
        // psql runs `\!` only after the query before it has finished: the flag file says the
        // backup has started (psql's own output may sit in its buffer until it exits).
        let script = format!("{start}\n\\! touch {}\n", shell_join(&[&flag]));
        let started = stdin
            .write_all(script.as_bytes())
            .and_then(|()| stdin.flush());
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut failed = started.is_err();
        while !failed && !flag.exists() {
            if Instant::now() > deadline || matches!(child.try_wait(), Ok(Some(_))) {
                failed = true;
            } else {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let copied = if failed {
            Ok(())
        } else {
            copy_data_dir(&self.data_dir, target, owner)
        };
        let _ = stdin.write_all(format!("{stop}\n\\q\n").as_bytes());
        drop(stdin);
        let output = child
            .wait_with_output()
            .map_err(|e| ClusterError::io(format!("could not run `{display}`"), e))?;
        let _ = std::fs::remove_file(&flag);
        if failed || !output.status.success() {
            return Err(ClusterError::Psql {
                database: "postgres".into(),
                status: describe_status(output.status),
                stderr: format!(
                    "base backup with {start} failed: {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                ),
            });
        }
        copied?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let hex = stdout
            .lines()
            .map(str::trim)
            .rfind(|l| !l.is_empty())
            .unwrap_or_default();
        let label = decode_hex(hex).ok_or_else(|| ClusterError::Psql {
            database: "postgres".into(),
            status: describe_status(output.status),
            stderr: format!("unexpected answer to {stop}: {hex:?}"),
        })?;
        write_owned(&target.join("backup_label"), &label, 0o600, owner)
    }
}

/// Top-level entries of the data directory a base backup leaves out, as `pg_basebackup`
/// does (directories are created empty).
const SKIPPED_FILES: [&str; 6] = [
    "postmaster.pid",
    "postmaster.opts",
    "postgres.log",
    "backup_label",
    "backup_label.old",
    "tablespace_map",
];
const EMPTIED_DIRS: [&str; 8] = [
    "pg_wal",
    "pg_replslot",
    "pg_stat_tmp",
    "pg_dynshmem",
    "pg_notify",
    "pg_serial",
    "pg_snapshots",
    "pg_subtrans",
];

/// Copies a running cluster's data directory (files may come and go meanwhile: a file that
/// vanished is skipped, WAL replay repairs torn pages).
fn copy_data_dir(from: &Path, to: &Path, owner: Option<&ServerUser>) -> Result<(), ClusterError> {
    make_dir(to, owner)?;
    for dir in EMPTIED_DIRS {
        make_dir(&to.join(dir), owner)?;
    }
    make_dir(&to.join("pg_wal/archive_status"), owner)?;
    let mut stack: Vec<(PathBuf, PathBuf)> = Vec::new();
    for entry in read_dir(from)? {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if SKIPPED_FILES.contains(&name.as_ref()) || EMPTIED_DIRS.contains(&name.as_ref()) {
            continue;
        }
        stack.push((entry.path(), to.join(&*name)));
    }
    while let Some((src, dst)) = stack.pop() {
        let meta = match std::fs::symlink_metadata(&src) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(ClusterError::io(
                    format!("could not stat {}", src.display()),
                    e,
                ))
            }
        };
        if meta.is_dir() {
            make_dir(&dst, owner)?;
            for entry in read_dir(&src)? {
                stack.push((entry.path(), dst.join(entry.file_name())));
            }
        } else if meta.is_file() {
            if src.file_name().is_some_and(|n| n == "pg_internal.init") {
                continue;
            }
            match std::fs::copy(&src, &dst) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    return Err(ClusterError::io(
                        format!("could not copy {} to {}", src.display(), dst.display()),
                        e,
                    ))
                }
            }
            std::fs::set_permissions(&dst, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| ClusterError::io(format!("could not chmod {}", dst.display()), e))?;
            chown(&dst, owner)?;
        }
    }
    Ok(())
}

fn read_dir(dir: &Path) -> Result<Vec<std::fs::DirEntry>, ClusterError> {
    match std::fs::read_dir(dir) {
        Ok(entries) => Ok(entries.filter_map(Result::ok).collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(ClusterError::io(
            format!("could not list {}", dir.display()),
            e,
        )),
    }
}

fn make_dir(dir: &Path, owner: Option<&ServerUser>) -> Result<(), ClusterError> {
    std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)))
        .map_err(|e| ClusterError::io(format!("could not create {}", dir.display()), e))?;
    chown(dir, owner)
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if hex.is_empty() || hex.len() % 2 != 0 {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex() {
        assert_eq!(decode_hex("41420a").unwrap(), b"AB\n");
        assert!(decode_hex("4").is_none());
        assert!(decode_hex("zz").is_none());
        assert!(decode_hex("").is_none());
    }
}
