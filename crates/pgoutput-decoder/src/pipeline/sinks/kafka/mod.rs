//! [`KafkaSink`]: records written to Kafka exactly as Debezium on Kafka Connect writes them,
//! durable once the broker acknowledged them.
//!
//! Each event becomes the records the [`JsonEncoder`] makes of it (the transforms applied, a
//! tombstone after a delete, Debezium's headers): topic `<prefix>.<schema>.<table>` (or
//! `<prefix>.transaction`, `<prefix>.message`, a routed one), key and value as Kafka's
//! `JsonConverter` writes them, headers likewise. The producer is librdkafka's, idempotent
//! with `acks=all` and the Java client's partitioner (`murmur2_random`), so records of one key
//! keep their order in one partition, the partition Kafka Connect would choose.
//!
//! Delivery reports come from librdkafka's thread, per record and out of order across
//! partitions; an event is reported durable once all its records are acknowledged, and the
//! pipeline's [`Delivery`](crate::pipeline::Delivery) confirms only the contiguous prefix of
//! durable events. A record Kafka refused (too large, or undeliverable within
//! `delivery.timeout.ms`) is never reported durable: nothing from it on is confirmed, and the
//! sink's next call returns the error naming the table and the LSN.

mod context;
mod topics;

use std::{
    sync::{atomic::AtomicUsize, Arc},
    thread,
    time::{Duration, Instant},
};

use rdkafka::{
    config::ClientConfig,
    error::{KafkaError, RDKafkaErrorCode},
    message::{Header, OwnedHeaders},
    producer::{BaseRecord, Producer, ThreadedProducer},
    util::Timeout,
};

use self::{
    context::{DeliveryContext, PendingEvent},
    topics::Topics,
};
use crate::{
    config::kafka::{is_secret, KafkaSinkConfig},
    debezium::JsonEncoder,
    error::{Error, ErrorKind},
    event::{Event, EventKind},
    pipeline::{DurableReporter, Sink},
    transforms::Record,
    Result,
};

/// How long [`Sink::flush`] waits for outstanding acknowledgements at the end of a run.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(30);

/// Writes events to Kafka (see the [module docs](self)). Built with [`KafkaSink::connect`].
pub struct KafkaSink {
    producer: ThreadedProducer<DeliveryContext>,
    encoder: JsonEncoder,
    topics: Topics,
}

impl std::fmt::Debug for KafkaSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSink")
            .field("in_flight", &self.in_flight())
            .finish_non_exhaustive()
    }
}

impl KafkaSink {
    /// Starts the producer and waits until the brokers answer, retrying with backoff for up
    /// to [`KafkaSinkConfig::connect_timeout`]. Blocks the calling thread meanwhile.
    ///
    /// Events are encoded by `encoder` (its topic prefix, converters and transforms) and
    /// reported durable through `reporter`.
    ///
    /// # Errors
    /// A setting librdkafka refuses ([`ErrorKind::Config`]), or no broker answered in time
    /// ([`ErrorKind::Connection`]).
    pub fn connect(
        config: &KafkaSinkConfig,
        encoder: JsonEncoder,
        reporter: DurableReporter,
    ) -> Result<KafkaSink> {
        let client_config = client_config(&config.client_settings());
        let context = DeliveryContext::new(reporter);
        let producer: ThreadedProducer<DeliveryContext> = client_config
            .create_with_context(context)
            .map_err(|e| setting_error(&e))?;
        wait_for_brokers(&producer, config)?;
        producer.context().connected();
        let topics = Topics::new(config, &client_config)?;
        Ok(KafkaSink {
            producer,
            encoder,
            topics,
        })
    }

    /// Records handed to the producer and not yet acknowledged (or refused).
    pub fn in_flight(&self) -> usize {
        usize::try_from(self.producer.in_flight_count()).unwrap_or(0)
    }

    /// Waits up to `timeout` for every record handed over so far to be acknowledged.
    ///
    /// # Errors
    /// Kafka refused a record, or some were still unacknowledged at the deadline (they are
    /// not confirmed to PostgreSQL and come again after a restart).
    pub fn flush_within(&mut self, timeout: Duration) -> Result<()> {
        let flushed = self.producer.flush(Timeout::After(timeout));
        self.producer.context().check()?;
        if flushed.is_err() {
            return Err(Error::new(
                ErrorKind::Sink,
                format!(
                    "Kafka did not acknowledge {} record(s) within {} s; they are not confirmed \
                     to PostgreSQL and will be written again on the next start",
                    self.in_flight(),
                    timeout.as_secs()
                ),
            ));
        }
        Ok(())
    }

    fn send(&mut self, event: &Event, pending: &Arc<PendingEvent>, record: &Record) -> Result<()> {
        self.topics.ensure(self.producer.client(), &record.topic)?;
        let mut base: BaseRecord<'_, [u8], [u8], Arc<PendingEvent>> =
            BaseRecord::with_opaque_to(&record.topic, pending.clone());
        if let Some(key) = &record.key {
            base = base.key(key.as_bytes());
        }
        if let Some(value) = &record.value {
            base = base.payload(value.as_bytes());
        }
        if !record.headers.is_empty() {
            let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
            for (name, value) in &record.headers {
                headers = headers.insert(Header {
                    key: name,
                    value: Some(value.as_bytes()),
                });
            }
            base = base.headers(headers);
        }
        loop {
            match self.producer.send(base) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    // The producer's queue is full (the broker is slow or away): wait for
                    // acknowledgements to make room, as long as nothing failed.
                    self.producer.context().check()?;
                    base = back;
                    thread::sleep(Duration::from_millis(5));
                }
                Err((e, _)) => return Err(refused(event, record, &e)),
            }
        }
    }
}

impl Sink for KafkaSink {
    fn write_batch(&mut self, events: &[Event]) -> Result<()> {
        self.producer.context().check()?;
        for event in events {
            let records = self.encoder.records(event)?;
            let pending = Arc::new(PendingEvent {
                seq: event.seq,
                records: AtomicUsize::new(records.len()),
                what: describe(event),
            });
            if records.is_empty() {
                // The transforms dropped it: nothing to wait for.
                self.producer.context().durable(&pending);
                continue;
            }
            for record in &records {
                self.send(event, &pending, record)?;
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        self.flush_within(FLUSH_TIMEOUT)
    }
}

/// librdkafka's configuration from `settings`.
fn client_config(settings: &[(String, String)]) -> ClientConfig {
    let mut config = ClientConfig::new();
    for (name, value) in settings {
        config.set(name, value);
    }
    config
}

/// librdkafka refused a setting. Its message names the setting; a secret's value is left
/// out in case the message quotes it.
fn setting_error(e: &KafkaError) -> Error {
    let text = e.to_string();
    let text = if is_secret(&text) {
        "a secret setting was refused (its value is not shown)".to_string()
    } else {
        text
    };
    Error::config(format!(
        "the Kafka producer's settings were refused: {text} (producer.* and kafka.* settings \
         are librdkafka's: https://github.com/confluentinc/librdkafka/blob/master/CONFIGURATION.md)"
    ))
}

/// Waits until a broker answers a metadata request, retrying with backoff until the
/// configured connect timeout.
fn wait_for_brokers(
    producer: &ThreadedProducer<DeliveryContext>,
    config: &KafkaSinkConfig,
) -> Result<()> {
    let deadline = Instant::now() + config.connect_timeout;
    let mut backoff = Duration::from_millis(100);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let attempt = left
            .min(Duration::from_secs(5))
            .max(Duration::from_millis(100));
        let failure = match producer.client().fetch_metadata(None, attempt) {
            Ok(md) if !md.brokers().is_empty() => return Ok(()),
            Ok(_) => "no broker in the cluster's metadata".to_string(),
            Err(e) => e.to_string(),
        };
        if Instant::now() + backoff >= deadline {
            let cause = producer.context().last_problem().unwrap_or(failure);
            return Err(Error::new(
                ErrorKind::Connection,
                format!(
                    "could not reach the Kafka brokers at {} within {} ms \
                     (kafka.connect.timeout.ms): {cause}",
                    config.bootstrap_servers,
                    config.connect_timeout.as_millis()
                ),
            ));
        }
        tracing::debug!("Kafka brokers not reachable yet ({failure}); retrying");
        thread::sleep(backoff);
        backoff = (backoff * 2).min(Duration::from_secs(2));
    }
}

/// What an event is about and where, for error messages: `table public.orders at LSN
/// 0/16B3748`, `the logical decoding message with prefix "p" at LSN ...`, `the transaction
/// metadata event of transaction 770:23443272`.
fn describe(event: &Event) -> String {
    match &event.kind {
        EventKind::Change(c) => {
            format!("table {} at LSN {}", c.table.data_collection, c.source.lsn)
        }
        EventKind::Message(m) => format!(
            "the logical decoding message with prefix {:?} at LSN {}",
            m.prefix, m.source.lsn
        ),
        EventKind::Transaction(t) => {
            format!("the transaction metadata event of transaction {}", t.id)
        }
        EventKind::Heartbeat(h) => format!("the heartbeat after LSN {}", h.lsn),
    }
}

/// The producer refused a record at once.
fn refused(event: &Event, record: &Record, e: &KafkaError) -> Error {
    let size = record.key.as_ref().map_or(0, String::len)
        + record.value.as_ref().map_or(0, String::len)
        + record
            .headers
            .iter()
            .map(|(k, v)| k.len() + v.len())
            .sum::<usize>();
    let what = describe(event);
    let message = match e.rdkafka_error_code() {
        Some(RDKafkaErrorCode::MessageSizeTooLarge) => format!(
            "the record of {what} is too large for Kafka ({size} bytes, topic {}): \
             raise producer.message.max.bytes (and the topic's max.message.bytes), or leave \
             the large columns out (column.exclude.list); nothing from this change on is \
             confirmed to PostgreSQL",
            record.topic
        ),
        _ => format!(
            "Kafka refused the record of {what} (topic {}): {e}; nothing from \
             this change on is confirmed to PostgreSQL",
            record.topic
        ),
    };
    Error::new(ErrorKind::Sink, message)
}
