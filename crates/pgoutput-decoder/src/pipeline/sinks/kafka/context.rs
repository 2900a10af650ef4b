//! What librdkafka calls back from its own thread: delivery reports (an event is durable once
//! all its records are acknowledged; a refused record is the sink's failure), errors and log
//! lines (to `tracing`, and kept for a clear error message when the brokers cannot be
//! reached).

use std::sync::{
    atomic::{AtomicBool, AtomicUsize, Ordering},
    Arc, Mutex, MutexGuard, PoisonError,
};

use rdkafka::{
    client::ClientContext,
    config::RDKafkaLogLevel,
    error::{KafkaError, RDKafkaErrorCode},
    message::{DeliveryResult, Message},
    producer::ProducerContext,
};

use crate::{
    error::{Error, ErrorKind},
    pipeline::DurableReporter,
    Result,
};

/// One event on its way: the records of it not acknowledged yet.
#[derive(Debug)]
pub(super) struct PendingEvent {
    /// The event's sequence number.
    pub(super) seq: u64,
    /// Its records not acknowledged yet.
    pub(super) records: AtomicUsize,
    /// What the event is about, for error messages (table and LSN).
    pub(super) what: String,
}

/// The producer's context: reports durable events, remembers the first failure.
pub(super) struct DeliveryContext {
    reporter: DurableReporter,
    /// The first record Kafka refused: the sink fails with it from then on.
    failure: Mutex<Option<String>>,
    /// The last problem librdkafka reported (a refused connection, ...).
    last_problem: Mutex<Option<String>>,
    /// Whether the brokers answered once: before that, librdkafka's complaints are expected
    /// (the start retries) and logged at debug level only.
    connected: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl DeliveryContext {
    pub(super) fn new(reporter: DurableReporter) -> Self {
        DeliveryContext {
            reporter,
            failure: Mutex::new(None),
            last_problem: Mutex::new(None),
            connected: AtomicBool::new(false),
        }
    }

    /// The brokers answered: problems from now on are worth a warning.
    pub(super) fn connected(&self) {
        self.connected.store(true, Ordering::Relaxed);
    }

    /// The event needs no more acknowledgements.
    pub(super) fn durable(&self, pending: &PendingEvent) {
        self.reporter.durable_seq(pending.seq);
    }

    /// The sink's failure, if a record was refused.
    pub(super) fn check(&self) -> Result<()> {
        match &*lock(&self.failure) {
            Some(message) => Err(Error::new(ErrorKind::Sink, message.clone())),
            None => Ok(()),
        }
    }

    /// The last problem librdkafka reported.
    pub(super) fn last_problem(&self) -> Option<String> {
        lock(&self.last_problem).clone()
    }

    fn problem(&self, text: String) {
        if self.connected.load(Ordering::Relaxed) {
            tracing::warn!("Kafka: {text}");
        } else {
            tracing::debug!("Kafka: {text}");
        }
        let mut last = lock(&self.last_problem);
        // "1/1 brokers are down" says less than the failure that brought them down
        // ("Connect to ipv4#127.0.0.1:9092 failed: Connection refused"): keep that one.
        if !(text.contains("brokers are down") && last.is_some()) {
            *last = Some(text);
        }
    }

    fn fail(&self, message: String) {
        let mut failure = lock(&self.failure);
        if failure.is_none() {
            tracing::error!("{message}");
            *failure = Some(message);
        }
    }
}

impl ClientContext for DeliveryContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error
            | RDKafkaLogLevel::Warning => self.problem(format!("{facility}: {message}")),
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                tracing::info!("Kafka: {facility}: {message}")
            }
            RDKafkaLogLevel::Debug => tracing::debug!("Kafka: {facility}: {message}"),
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        if error.rdkafka_error_code() == Some(RDKafkaErrorCode::Fatal) {
            // The idempotent producer cannot go on (its sequence is broken): nothing more
            // will be acknowledged.
            self.fail(format!(
                "the Kafka producer stopped with a fatal error: {reason}; nothing from the \
                 first unacknowledged change on is confirmed to PostgreSQL"
            ));
        } else {
            self.problem(reason.to_string());
        }
    }
}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = Arc<PendingEvent>;

    fn delivery(&self, result: &DeliveryResult<'_>, pending: Arc<PendingEvent>) {
        match result {
            Ok(_) => {
                if pending.records.fetch_sub(1, Ordering::AcqRel) == 1 {
                    self.durable(&pending);
                }
            }
            Err((e, _))
                if matches!(
                    e.rdkafka_error_code(),
                    Some(RDKafkaErrorCode::PurgeQueue | RDKafkaErrorCode::PurgeInflight)
                ) =>
            {
                // Dropped unsent when the sink was dropped: not durable, and no news.
            }
            Err((e, message)) => {
                let topic = message.topic();
                let why = match e.rdkafka_error_code() {
                    Some(RDKafkaErrorCode::MessageSizeTooLarge) => format!(
                        "the broker refused the record as too large: raise the topic's \
                         max.message.bytes (broker message.max.bytes) or leave the large \
                         columns out (column.exclude.list) ({e})"
                    ),
                    Some(RDKafkaErrorCode::MessageTimedOut) => {
                        format!("it was not acknowledged within producer.delivery.timeout.ms ({e})")
                    }
                    _ => e.to_string(),
                };
                self.fail(format!(
                    "Kafka did not take the record of {} (topic {topic}): {why}; nothing from \
                     this change on is confirmed to PostgreSQL",
                    pending.what
                ));
            }
        }
    }
}
