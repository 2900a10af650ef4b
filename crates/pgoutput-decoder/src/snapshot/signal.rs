//! Snapshot signals: what a row of Debezium's signal table (`id`, `type`, `data`) or an API call
//! asks of the incremental snapshot, and the channel that carries the API's requests to the
//! stream. Sans-IO.

use crate::{event::ChangeEvent, Error, Result};

/// What a signal (a row of the signal table, or an API call) asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotSignal {
    /// Read these tables incrementally.
    Execute {
        /// The signal's id (the signal table's `id` column), for the log.
        id: String,
        /// `schema.table` names.
        tables: Vec<String>,
        /// Per table, an extra `WHERE` condition (Debezium's `additional-conditions`).
        conditions: Vec<(String, String)>,
        /// The column that orders and identifies rows of tables without a primary key.
        surrogate_key: Option<String>,
    },
    /// Stop reading tables.
    Stop {
        /// `schema.table` names; all tables when empty.
        tables: Vec<String>,
    },
    /// Open no new chunk until resumed.
    Pause,
    /// Go on after a pause.
    Resume,
}

impl SnapshotSignal {
    /// A signal id for a request made by `origin` (`api`, `cli`, `python`): `<origin>-<ms>`,
    /// the clock in milliseconds telling requests apart in the log.
    pub fn fresh_id(origin: &str) -> String {
        format!("{origin}-{}", crate::clock::now_ms())
    }

    /// The signal a row of the signal table carries (`id`, `type`, `data` as in Debezium), or
    /// an error saying what is wrong with it. `Ok(None)`: a signal type that is not about
    /// snapshots (ignored).
    pub fn from_row(id: &str, kind: &str, data: Option<&str>) -> Result<Option<SnapshotSignal>> {
        let data: serde_json::Value = match data.map(str::trim).filter(|d| !d.is_empty()) {
            None => serde_json::Value::Null,
            Some(text) => serde_json::from_str(text).map_err(|e| {
                Error::config(format!(
                    "signal {id:?}: its data is not JSON ({e}); expected e.g. \
                     {{\"data-collections\": [\"public.orders\"], \"type\": \"incremental\"}}"
                ))
            })?,
        };
        let collections = |required: bool| -> Result<Vec<String>> {
            match data.get("data-collections") {
                Some(serde_json::Value::Array(items)) => items
                    .iter()
                    .map(|i| {
                        i.as_str().map(str::to_string).ok_or_else(|| {
                            Error::config(format!(
                                "signal {id:?}: data-collections must be a list of table names"
                            ))
                        })
                    })
                    .collect(),
                None if !required => Ok(Vec::new()),
                _ => Err(Error::config(format!(
                    "signal {id:?}: data-collections must be a list of table names \
                     (schema.table)"
                ))),
            }
        };
        match kind {
            "execute-snapshot" => {
                let kind = data
                    .get("type")
                    .and_then(|t| t.as_str())
                    .unwrap_or("incremental");
                if !kind.eq_ignore_ascii_case("incremental") {
                    return Err(Error::config(format!(
                        "signal {id:?}: snapshot type {kind:?} is not supported; use \
                         \"incremental\""
                    )));
                }
                let tables = collections(true)?;
                if tables.is_empty() {
                    return Err(Error::config(format!(
                        "signal {id:?}: data-collections names no table"
                    )));
                }
                let mut conditions = Vec::new();
                if let Some(list) = data.get("additional-conditions").and_then(|c| c.as_array()) {
                    for c in list {
                        let (Some(t), Some(f)) = (
                            c.get("data-collection").and_then(|v| v.as_str()),
                            c.get("filter").and_then(|v| v.as_str()),
                        ) else {
                            return Err(Error::config(format!(
                                "signal {id:?}: each additional-conditions entry needs \
                                 data-collection and filter"
                            )));
                        };
                        conditions.push((t.to_string(), f.to_string()));
                    }
                }
                let surrogate_key = data
                    .get("surrogate-key")
                    .and_then(|v| v.as_str())
                    .map(str::to_string);
                Ok(Some(SnapshotSignal::Execute {
                    id: id.to_string(),
                    tables,
                    conditions,
                    surrogate_key,
                }))
            }
            "stop-snapshot" => Ok(Some(SnapshotSignal::Stop {
                tables: collections(false)?,
            })),
            "pause-snapshot" => Ok(Some(SnapshotSignal::Pause)),
            "resume-snapshot" => Ok(Some(SnapshotSignal::Resume)),
            _ => Ok(None),
        }
    }
}

/// The stream's end of the API's snapshot requests: a flag checked once per loop (a relaxed
/// load), and the channel drained only when it is set.
pub(crate) struct SignalInbox {
    rx: tokio::sync::mpsc::UnboundedReceiver<SnapshotSignal>,
    news: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// The API's end: see [`SignalInbox`].
#[derive(Debug, Clone)]
pub(crate) struct SignalSender {
    tx: tokio::sync::mpsc::UnboundedSender<SnapshotSignal>,
    news: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// A connected pair.
pub(crate) fn signal_channel() -> (SignalSender, SignalInbox) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let news = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    (
        SignalSender {
            tx,
            news: news.clone(),
        },
        SignalInbox { rx, news },
    )
}

impl SignalSender {
    /// Sends `signal`; false when the stream is gone.
    pub(crate) fn send(&self, signal: SnapshotSignal) -> bool {
        let sent = self.tx.send(signal).is_ok();
        self.news.store(true, std::sync::atomic::Ordering::Release);
        sent
    }
}

impl SignalInbox {
    /// Whether signals may be waiting.
    pub(crate) fn has_news(&self) -> bool {
        self.news.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The next waiting signal, if any (clears the flag first, so none is missed).
    pub(crate) fn try_take(&mut self) -> Option<SnapshotSignal> {
        self.news.store(false, std::sync::atomic::Ordering::Relaxed);
        let signal = self.rx.try_recv().ok();
        if signal.is_some() {
            // More may follow.
            self.news.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        signal
    }
}

pub(crate) fn signal_of(change: &ChangeEvent) -> Result<Option<SnapshotSignal>> {
    let row = change
        .after
        .as_ref()
        .ok_or_else(|| Error::config("a signal row without values"))?;
    let column = |name: &str| {
        change
            .table
            .columns
            .iter()
            .position(|c| c.name == name)
            .and_then(|i| row.tuple.get(i))
            .and_then(|c| c.as_text())
    };
    let (Some(id), Some(kind)) = (column("id"), column("type")) else {
        return Err(Error::config(
            "the signal table needs the columns id, type and data (as Debezium's)",
        ));
    };
    SnapshotSignal::from_row(id, kind, column("data"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_parse_as_debezium_writes_them() {
        let s = SnapshotSignal::from_row(
            "ad-hoc-1",
            "execute-snapshot",
            Some(r#"{"data-collections": ["public.products"], "type": "incremental", "additional-conditions": [{"data-collection": "public.products", "filter": "id > 5"}], "surrogate-key": "code"}"#),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            s,
            SnapshotSignal::Execute {
                id: "ad-hoc-1".into(),
                tables: vec!["public.products".into()],
                conditions: vec![("public.products".into(), "id > 5".into())],
                surrogate_key: Some("code".into()),
            }
        );
        assert_eq!(
            SnapshotSignal::from_row("x", "stop-snapshot", Some(r#"{"type": "incremental"}"#))
                .unwrap(),
            Some(SnapshotSignal::Stop { tables: vec![] })
        );
        assert_eq!(
            SnapshotSignal::from_row("x", "pause-snapshot", None).unwrap(),
            Some(SnapshotSignal::Pause)
        );
        assert_eq!(
            SnapshotSignal::from_row("x", "log", Some("{}")).unwrap(),
            None
        );
    }

    #[test]
    fn bad_signals_say_what_is_wrong() {
        let e = SnapshotSignal::from_row("s1", "execute-snapshot", Some("{not json"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("s1") && e.contains("not JSON"), "{e}");
        let e = SnapshotSignal::from_row(
            "s2",
            "execute-snapshot",
            Some(r#"{"type": "blocking", "data-collections": ["a.b"]}"#),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("blocking"), "{e}");
        let e = SnapshotSignal::from_row(
            "s3",
            "execute-snapshot",
            Some(r#"{"data-collections": "a.b"}"#),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("list"), "{e}");
    }
}
