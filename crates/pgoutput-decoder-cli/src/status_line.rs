//! The live status line on stderr: events/s, lag in bytes and the last LSN.

use std::{
    io::Write,
    time::{Duration, Instant},
};

use pgoutput_decoder::Positions;

pub(crate) struct StatusLine {
    enabled: bool,
    total: u64,
    since_last: u64,
    last_print: Instant,
    printed: bool,
}

impl StatusLine {
    pub(crate) fn new(enabled: bool) -> Self {
        StatusLine {
            enabled,
            total: 0,
            since_last: 0,
            last_print: Instant::now(),
            printed: false,
        }
    }

    pub(crate) fn count(&mut self, n: usize) {
        self.total += n as u64;
        self.since_last += n as u64;
    }

    pub(crate) fn maybe_print(&mut self, positions: &Positions) {
        let elapsed = self.last_print.elapsed();
        if !self.enabled || elapsed < Duration::from_secs(1) {
            return;
        }
        let rate = self.since_last as f64 / elapsed.as_secs_f64();
        let lag = positions
            .received
            .0
            .saturating_sub(positions.acknowledged.0);
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[2K{} events, {:.0} events/s, lag {} bytes, last LSN {}",
            self.total, rate, lag, positions.handed_out
        );
        let _ = err.flush();
        self.since_last = 0;
        self.last_print = Instant::now();
        self.printed = true;
    }

    pub(crate) fn finish(&mut self) {
        if self.printed {
            eprintln!();
        }
    }
}
