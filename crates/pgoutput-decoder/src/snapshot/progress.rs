//! What a snapshot has delivered, kept in a small JSON file (Debezium's
//! `offset.storage.file.filename`) so that a snapshot cut short (killed, crashed, stopped)
//! resumes with the tables it had not finished, instead of reading everything again.
//!
//! A table counts as done once the consumer acknowledged its last read: the file is written
//! only from acknowledgements, so a done table was delivered whatever happened after.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use pgoutput::Lsn;
use tokio::sync::watch;

use crate::{ack::AckTracker, config::ReplicationConfig, Error, ErrorKind, Result};

/// The file's content.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Progress {
    /// The slot and database the snapshot belongs to: another slot's file says nothing.
    pub slot: String,
    pub database: String,
    /// The server's system identifier (`IDENTIFY_SYSTEM`): a slot of the same name on
    /// another server (a rebuilt one, a test's) is another slot.
    pub system: String,
    /// Where the snapshot's reads sit in the WAL (`source.lsn`).
    pub lsn: String,
    /// Tables (`schema.table`) whose reads were all acknowledged.
    pub done: Vec<String>,
    /// Every table is done: the snapshot is over.
    pub complete: bool,
}

impl Progress {
    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "slot": self.slot,
            "database": self.database,
            "system": self.system,
            "lsn": self.lsn,
            "done": self.done,
            "complete": self.complete,
        })
    }

    fn from_json(v: &serde_json::Value) -> Option<Progress> {
        let text = |k: &str| v.get(k)?.as_str().map(str::to_string);
        Some(Progress {
            slot: text("slot")?,
            database: text("database")?,
            system: text("system").unwrap_or_default(),
            lsn: text("lsn").unwrap_or_default(),
            done: v
                .get("done")?
                .as_array()?
                .iter()
                .map(|t| t.as_str().map(str::to_string))
                .collect::<Option<_>>()?,
            complete: v.get("complete")?.as_bool()?,
        })
    }

    /// Whether this is an unfinished snapshot of `config`'s slot.
    pub(crate) fn unfinished_for(&self, config: &ReplicationConfig) -> bool {
        !self.complete && self.slot == config.slot_name && self.database == config.connection.dbname
    }
}

/// Where `config`'s snapshot progress is kept, on the server whose system identifier is
/// `system`.
pub(crate) fn path(config: &ReplicationConfig, system: &str) -> Result<PathBuf> {
    if let Some(p) = &config.offset_file {
        return Ok(p.clone());
    }
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".local/state"))
        })
        .ok_or_else(|| {
            Error::config(
                "a snapshot keeps its progress in a file, and neither XDG_STATE_HOME nor HOME \
                 is set: set offset.storage.file.filename (Python: offset_file=)",
            )
        })?;
    let name = format!(
        "{}-{}-{}.snapshot.json",
        sanitize(system),
        sanitize(&config.connection.dbname),
        sanitize(&config.slot_name)
    );
    Ok(base.join("pgoutput-decoder").join(name))
}

/// Where `config`'s incremental snapshot progress is kept: beside the initial snapshot's.
pub(crate) fn incremental_path(config: &ReplicationConfig, system: &str) -> Result<PathBuf> {
    let initial = path(config, system)?;
    let name = initial
        .file_name()
        .map(|n| {
            n.to_string_lossy()
                .replace(".snapshot.json", "")
                .replace(".json", "")
        })
        .unwrap_or_default();
    Ok(initial.with_file_name(format!("{name}.incremental.json")))
}

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The JSON of the progress file at `path` (the initial or the incremental snapshot's, `what`
/// in the error); `None` when there is no file, `Some(Null)` when it is not JSON (the caller
/// says what is wrong with its content).
///
/// # Errors
/// The file exists but cannot be read.
pub(crate) fn read_json(path: &Path, what: &str) -> Result<Option<serde_json::Value>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(serde_json::from_str(&text).unwrap_or_default())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::new(
            ErrorKind::Io,
            format!("could not read the {what} {}", path.display()),
        )
        .with_source(e)),
    }
}

/// The progress at `path`; `None` when there is no file.
pub(crate) fn load(path: &Path) -> Result<Option<Progress>> {
    let Some(json) = read_json(path, "snapshot progress file")? else {
        return Ok(None);
    };
    Progress::from_json(&json).map(Some).ok_or_else(|| {
        Error::config(format!(
            "the snapshot progress file {} is not valid: remove it to read every table \
                 again",
            path.display()
        ))
    })
}

/// Writes `progress` to `path` so that a crash leaves the old file or the new one, never a
/// torn one (a temporary file, flushed, then renamed over it).
pub(crate) fn save(path: &Path, progress: &Progress) -> Result<()> {
    write_json(path, &progress.to_json())
}

/// Replaces the file at `path` with `value`, atomically (a crash leaves the old or the new
/// content, never a mix) and durably.
pub(crate) fn write_json(path: &Path, value: &serde_json::Value) -> Result<()> {
    let io = |e: std::io::Error| {
        Error::new(
            ErrorKind::Io,
            format!(
                "could not write the snapshot progress file {}",
                path.display()
            ),
        )
        .with_source(e)
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_vec_pretty(value).map_err(|e| io(e.into()))?;
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(&text).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)
}

/// Marks tables done as their last reads are acknowledged.
#[derive(Debug)]
pub(crate) struct Tracker {
    path: PathBuf,
    progress: Progress,
    /// Tables whose reads were all queued, with the sequence number of their last read.
    queued: Vec<(u64, String)>,
    /// Every table was queued.
    all_queued: bool,
}

impl Tracker {
    pub(crate) fn new(path: PathBuf, progress: Progress) -> Self {
        Tracker {
            path,
            progress,
            queued: Vec::new(),
            all_queued: false,
        }
    }

    /// Table `name`'s last read has sequence `last_seq` (0 for a table without rows: done at
    /// once).
    pub(crate) fn table_queued(&mut self, name: String, last_seq: u64) {
        self.queued.push((last_seq, name));
    }

    pub(crate) fn all_queued(&mut self) {
        self.all_queued = true;
    }

    /// Takes `acked_seq` into account; writes the file when a table became done. Returns
    /// whether the snapshot is complete.
    pub(crate) fn update(&mut self, acked_seq: u64) -> Result<bool> {
        let before = (self.progress.done.len(), self.progress.complete);
        let mut i = 0;
        while i < self.queued.len() {
            if self.queued[i].0 <= acked_seq {
                let (_, name) = self.queued.swap_remove(i);
                if !self.progress.done.contains(&name) {
                    self.progress.done.push(name);
                }
            } else {
                i += 1;
            }
        }
        self.progress.complete = self.all_queued && self.queued.is_empty();
        if (self.progress.done.len(), self.progress.complete) != before {
            save(&self.path, &self.progress)?;
            if self.progress.complete {
                tracing::info!(file = %self.path.display(), "snapshot complete: every table's reads were acknowledged");
            }
        }
        Ok(self.progress.complete)
    }

    /// Writes the file as it is (the start of a snapshot).
    pub(crate) fn save(&self) -> Result<()> {
        save(&self.path, &self.progress)
    }
}

/// The snapshot's position for a progress record.
pub(crate) fn lsn_text(lsn: Lsn) -> String {
    lsn.to_string()
}

/// Follows the acknowledgements until the snapshot is complete or the stream stops, writing
/// the progress file as tables become done.
pub(crate) async fn follow(
    tracker: Arc<Mutex<Tracker>>,
    acks: AckTracker,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let stopping = tokio::select! {
            _ = stop.changed() => true,
            _ = tokio::time::sleep(Duration::from_millis(200)) => false,
        };
        let result = tracker
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .update(acks.acked_seq());
        match result {
            Ok(true) => return,
            Ok(false) if stopping || *stop.borrow() => return,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(error = %e, "could not record the snapshot's progress; a restart will read the unrecorded tables again");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_become_done_only_when_their_last_read_is_acknowledged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("p.json");
        let mut t = Tracker::new(
            path.clone(),
            Progress {
                slot: "s".into(),
                database: "d".into(),
                lsn: "0/10".into(),
                ..Progress::default()
            },
        );
        t.save().unwrap();
        t.table_queued("public.a".into(), 3);
        t.table_queued("public.empty".into(), 0);
        assert!(!t.update(2).unwrap());
        assert_eq!(load(&path).unwrap().unwrap().done, ["public.empty"]);
        t.table_queued("public.b".into(), 5);
        t.all_queued();
        assert!(!t.update(4).unwrap());
        let p = load(&path).unwrap().unwrap();
        assert_eq!(p.done, ["public.empty", "public.a"]);
        assert!(!p.complete);
        assert!(t.update(5).unwrap());
        assert!(load(&path).unwrap().unwrap().complete);
    }

    #[test]
    fn a_broken_file_is_a_clear_error_and_a_missing_one_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        assert_eq!(load(&path).unwrap(), None);
        std::fs::write(&path, "{not json").unwrap();
        let e = load(&path).unwrap_err();
        assert!(e.to_string().contains("remove it"), "{e}");
    }
}
