//! [`FileSink`]: records as JSON lines to a file or stdout, durable once written and flushed.

use std::io::Write;

use crate::{
    debezium::{RecordFormat, RecordWriter},
    error::{Error, ErrorKind},
    event::Event,
    pipeline::{DurableReporter, Sink},
    Result,
};

/// Bytes of JSON gathered before they are written out.
const WRITE_CHUNK: usize = 256 * 1024;

/// Writes each event as a record (through a [`RecordWriter`], transforms included), one JSON
/// line each, and flushes after every batch; the batch is then reported durable. Wide rows make
/// a batch's JSON large: it is written in pieces of 256 KiB.
///
/// "Durable" here means handed to the operating system (what a flush does): the process may
/// die afterwards without losing it.
pub struct FileSink<'a, W: Write> {
    out: W,
    records: RecordWriter<'a>,
    format: RecordFormat,
    reporter: DurableReporter,
    /// Where the records go, for error messages ("could not write events to {label}").
    label: String,
    buf: Vec<u8>,
}

impl<'a, W: Write> FileSink<'a, W> {
    /// A sink writing `format` records to `out`, reporting through `reporter`.
    pub fn new(
        out: W,
        records: RecordWriter<'a>,
        format: RecordFormat,
        reporter: DurableReporter,
        label: impl Into<String>,
    ) -> Self {
        FileSink {
            out,
            records,
            format,
            reporter,
            label: label.into(),
            buf: Vec::with_capacity(1 << 16),
        }
    }

    fn write_error(&self, e: &std::io::Error) -> Error {
        Error::new(
            ErrorKind::Io,
            format!("could not write events to {}: {e}", self.label),
        )
    }
}

impl<W: Write> Sink for FileSink<'_, W> {
    fn write_batch(&mut self, events: &[Event]) -> Result<()> {
        let Some(last) = events.last() else {
            return Ok(());
        };
        self.buf.clear();
        for event in events {
            self.records
                .write_record(event, self.format, &mut self.buf)?;
            if self.buf.len() >= WRITE_CHUNK {
                if let Err(e) = self.out.write_all(&self.buf) {
                    return Err(self.write_error(&e));
                }
                self.buf.clear();
            }
        }
        if let Err(e) = self
            .out
            .write_all(&self.buf)
            .and_then(|()| self.out.flush())
        {
            return Err(self.write_error(&e));
        }
        // Written and flushed: now the server may forget them.
        self.reporter.durable_through(last);
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        self.out.flush().map_err(|e| self.write_error(&e))
    }
}
