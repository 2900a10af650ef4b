//! The live status line on stderr: events/s, lag in bytes and in time, and the last LSN, read
//! from the pipeline's stats. When stderr is not a terminal it can be written as a progress
//! line every so often instead (`--progress-interval`).
//!
//! It is drawn without a newline, so whatever else reaches the same terminal must not run
//! into it: events written to stdout on that terminal clear it first ([`StatusLine::clear`],
//! then [`StatusLine::redraw`]), and so do log lines ([`LogWriter`]). On exit it is drawn a last
//! time and ended with a newline, which also wipes a `^C` the terminal echoed onto it.

use std::{
    io::Write,
    sync::atomic::{AtomicBool, Ordering},
    time::{Duration, Instant},
};

use pgoutput_decoder::StatsSnapshot;

/// Returns the cursor to the start of the line and erases the line.
const CLEAR: &[u8] = b"\r\x1b[2K";

/// Whether the status line is on the terminal now, shared with the log writer.
static SHOWN: AtomicBool = AtomicBool::new(false);

/// How the status is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Display {
    /// Not at all.
    Off,
    /// Redrawn in place once a second (stderr is a terminal).
    Terminal,
    /// A `progress:` line of its own every so often (stderr is a file or a pipe).
    Lines(Duration),
}

pub(crate) struct StatusLine<W: Write> {
    /// Whether the line is redrawn in place on a terminal.
    enabled: bool,
    /// Progress lines instead, this often.
    lines_every: Option<Duration>,
    err: W,
    /// Whether the line is on the terminal now (the log writer clears it too).
    shown: &'static AtomicBool,
    /// Events taken from the queue at the last update.
    total_at_last_print: u64,
    last_print: Instant,
    /// The text last drawn, for redrawing it after events were written.
    text: String,
}

impl StatusLine<std::io::Stderr> {
    /// The status on stderr, shown as `display` says.
    pub(crate) fn stderr(display: Display) -> Self {
        let mut line = StatusLine::new(display == Display::Terminal, std::io::stderr(), &SHOWN);
        if let Display::Lines(every) = display {
            line.lines_every = Some(every);
        }
        line
    }
}

impl<W: Write> StatusLine<W> {
    pub(crate) fn new(enabled: bool, err: W, shown: &'static AtomicBool) -> Self {
        StatusLine {
            enabled,
            lines_every: None,
            err,
            shown,
            total_at_last_print: 0,
            last_print: Instant::now(),
            text: String::new(),
        }
    }

    /// Draws the line again with fresh numbers, at most once a second (`stats` is only asked
    /// then).
    pub(crate) fn maybe_print(&mut self, stats: impl FnOnce() -> StatsSnapshot) {
        let elapsed = self.last_print.elapsed();
        if let Some(every) = self.lines_every {
            if elapsed >= every {
                self.render(elapsed, &stats());
                self.write_progress_line();
                self.last_print = Instant::now();
            }
            return;
        }
        if !self.enabled || elapsed < Duration::from_secs(1) {
            return;
        }
        self.render(elapsed, &stats());
        self.draw();
        self.last_print = Instant::now();
    }

    /// The text for `stats`, `elapsed` after the last update (which it becomes).
    fn render(&mut self, elapsed: Duration, stats: &StatsSnapshot) {
        let total = stats.events.total();
        let rate = total.saturating_sub(self.total_at_last_print) as f64 / elapsed.as_secs_f64();
        self.total_at_last_print = total;
        let positions = &stats.positions;
        let lag = positions
            .received
            .0
            .saturating_sub(positions.acknowledged.0);
        let now_us = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as i64);
        self.text = format!(
            "{}{} events, {:.0} events/s, lag {} bytes, {} ms behind, last LSN {}",
            snapshot_progress(stats, rate),
            total,
            rate,
            lag,
            stats.millis_behind_source(now_us),
            positions.handed_out
        );
    }

    /// The text as a line of its own, in one write: stderr's lock, which log lines take too,
    /// keeps the two from interleaving.
    fn write_progress_line(&mut self) {
        let line = format!("progress: {}\n", self.text);
        let _ = self.err.write_all(line.as_bytes());
        let _ = self.err.flush();
    }

    fn draw(&mut self) {
        // One write, so that a log line from another thread cannot land in between.
        let mut line = Vec::with_capacity(CLEAR.len() + self.text.len());
        line.extend_from_slice(CLEAR);
        line.extend_from_slice(self.text.as_bytes());
        let _ = self.err.write_all(&line);
        let _ = self.err.flush();
        self.shown.store(true, Ordering::SeqCst);
    }

    /// Takes the line off the terminal, before something else is written there.
    pub(crate) fn clear(&mut self) {
        if self.shown.swap(false, Ordering::SeqCst) {
            let _ = self.err.write_all(CLEAR);
            let _ = self.err.flush();
        }
    }

    /// Puts the line back after [`clear`](Self::clear), with the numbers it had.
    pub(crate) fn redraw(&mut self) {
        if self.enabled && !self.text.is_empty() && !self.shown.load(Ordering::SeqCst) {
            self.draw();
        }
    }

    /// Leaves the terminal clean: the final numbers on a line of their own (replacing a `^C`
    /// the terminal echoed), or an empty line start when nothing was shown.
    pub(crate) fn finish(&mut self, stats: &StatsSnapshot) {
        if self.lines_every.is_some() {
            let elapsed = self.last_print.elapsed().max(Duration::from_millis(1));
            self.render(elapsed, stats);
            self.write_progress_line();
            return;
        }
        if !self.enabled {
            return;
        }
        if self.text.is_empty() {
            // Nothing drawn, but a ^C may have been echoed: wipe it.
            let _ = self.err.write_all(CLEAR);
        } else {
            let elapsed = self.last_print.elapsed().max(Duration::from_millis(1));
            self.render(elapsed, stats);
            self.draw();
            let _ = self.err.write_all(b"\n");
        }
        let _ = self.err.flush();
        self.shown.store(false, Ordering::SeqCst);
    }
}

/// Ends the status line, if it is on the terminal, so that a final error message starts a
/// line of its own (the numbers stay visible above it).
pub(crate) fn end_before_error() {
    if SHOWN.swap(false, Ordering::SeqCst) {
        let _ = std::io::stderr().write_all(b"\n");
    }
}

/// The log output (stderr) for `tracing`: a log line takes the status line off the terminal
/// first; the status line comes back at its next update.
pub(crate) struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut err = std::io::stderr().lock();
        if SHOWN.swap(false, Ordering::SeqCst) {
            err.write_all(CLEAR)?;
        }
        err.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriterFactory {
    type Writer = LogWriter;

    fn make_writer(&'a self) -> Self::Writer {
        LogWriter
    }
}

/// Makes [`LogWriter`]s for `tracing_subscriber`.
pub(crate) struct LogWriterFactory;

/// While an initial snapshot runs: a bar, tables done, rows read against the planner's
/// estimate (`pg_class.reltuples`) and the time left at `rate` rows a second; empty
/// otherwise.
fn snapshot_progress(stats: &StatsSnapshot, rate: f64) -> String {
    let Some(snapshot) = stats.snapshot.as_ref().filter(|s| s.running) else {
        return String::new();
    };
    let total = snapshot.tables.len();
    let done = total - snapshot.tables_remaining();
    let read = stats.events.read;
    let estimated: u64 = snapshot
        .tables
        .iter()
        .filter_map(|t| t.estimated_rows)
        .sum();
    if estimated == 0 {
        return format!("snapshot {done}/{total} tables, {read} rows | ");
    }
    let share = (read as f64 / estimated as f64).min(1.0);
    const WIDTH: usize = 20;
    let filled = (share * WIDTH as f64).round() as usize;
    let eta = if rate > 0.0 {
        format!(
            ", ~{:.0} s left",
            estimated.saturating_sub(read) as f64 / rate
        )
    } else {
        String::new()
    };
    format!(
        "snapshot [{}{}] {:.0}% {done}/{total} tables, {read}/~{estimated} rows{eta} | ",
        "#".repeat(filled),
        "-".repeat(WIDTH - filled),
        share * 100.0
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use pgoutput_decoder::Lsn;

    /// Stats after `events` events, the last one handed out at 0/16B3748.
    fn stats(events: u64) -> StatsSnapshot {
        let mut stats = StatsSnapshot::default();
        stats.positions.handed_out = Lsn(0x16B_3748);
        stats.events.create = events;
        stats
    }

    #[test]
    fn a_running_snapshot_shows_a_bar_tables_rows_and_time_left() {
        use pgoutput_decoder::pipeline::{SnapshotStats, SnapshotTableStats};
        let mut stats = stats(0);
        stats.events.read = 500;
        let table = |name: &str, rows: u64, done: bool| SnapshotTableStats {
            table: name.into(),
            estimated_rows: Some(rows),
            rows_read: 0,
            done,
        };
        stats.snapshot = Some(SnapshotStats {
            running: true,
            completed: false,
            tables: vec![table("public.a", 400, true), table("public.b", 600, false)],
        });
        let text = snapshot_progress(&stats, 100.0);
        assert_eq!(
            text,
            "snapshot [##########----------] 50% 1/2 tables, 500/~1000 rows, ~5 s left | "
        );
        stats.snapshot.as_mut().unwrap().running = false;
        assert_eq!(snapshot_progress(&stats, 100.0), "");
    }

    fn text(out: &[u8]) -> String {
        String::from_utf8_lossy(out).replace('\x1b', "ESC")
    }

    #[test]
    fn events_between_updates_never_run_into_the_line() {
        static SHOWN: AtomicBool = AtomicBool::new(false);
        let mut line = StatusLine::new(true, Vec::new(), &SHOWN);
        // Nothing drawn yet: clearing and redrawing write nothing.
        line.clear();
        line.redraw();
        assert!(line.err.is_empty());

        line.last_print -= Duration::from_secs(2);
        line.maybe_print(|| stats(3));
        let drawn = text(&line.err);
        assert!(drawn.starts_with("\rESC[2K3 events, "), "{drawn}");
        assert!(drawn.ends_with("last LSN 0/16B3748"), "{drawn}");
        assert!(!drawn.contains('\n'));

        // Before events go to the terminal, the line is erased; afterwards it comes back as
        // it was.
        line.err.clear();
        line.clear();
        assert_eq!(text(&line.err), "\rESC[2K");
        line.clear();
        assert_eq!(text(&line.err), "\rESC[2K", "cleared twice");
        line.err.clear();
        line.redraw();
        assert_eq!(text(&line.err), drawn);
        line.redraw();
        assert_eq!(text(&line.err), drawn, "redrawn twice");

        // The end: the final numbers, ended with a newline.
        line.err.clear();
        line.finish(&stats(5));
        let last = text(&line.err);
        assert!(last.starts_with("\rESC[2K5 events, "), "{last}");
        assert!(last.ends_with("last LSN 0/16B3748\n"), "{last}");
        assert!(!SHOWN.load(Ordering::SeqCst));
    }

    #[test]
    fn finishing_without_a_line_wipes_an_echoed_interrupt_only() {
        static SHOWN: AtomicBool = AtomicBool::new(false);
        let mut line = StatusLine::new(true, Vec::new(), &SHOWN);
        line.finish(&stats(0));
        assert_eq!(text(&line.err), "\rESC[2K");
        // Turned off (--quiet, or stderr is not a terminal): nothing at all.
        let mut line = StatusLine::new(false, Vec::new(), &SHOWN);
        line.last_print -= Duration::from_secs(2);
        line.maybe_print(|| stats(1));
        line.clear();
        line.redraw();
        line.finish(&stats(1));
        assert!(line.err.is_empty());
    }

    #[test]
    fn progress_lines_come_at_their_interval_and_at_the_end() {
        static SHOWN: AtomicBool = AtomicBool::new(false);
        let mut line = StatusLine::new(false, Vec::new(), &SHOWN);
        line.lines_every = Some(Duration::from_secs(5));
        line.maybe_print(|| stats(1));
        assert!(line.err.is_empty(), "not due yet");
        line.last_print -= Duration::from_secs(5);
        line.maybe_print(|| stats(2));
        let out = text(&line.err);
        assert!(out.starts_with("progress: 2 events, "), "{out}");
        assert!(out.ends_with(" ms behind, last LSN 0/16B3748\n"), "{out}");
        assert!(!out.contains("ESC"), "no terminal codes in a file: {out}");
        line.err.clear();
        line.clear();
        line.redraw();
        assert!(line.err.is_empty());
        line.finish(&stats(3));
        assert!(text(&line.err).starts_with("progress: 3 events, "));
        assert!(!SHOWN.load(Ordering::SeqCst));
    }
}
