//! Topics the sink writes to: looked up once each, and created when missing with
//! `topic.creation.default.partitions` and `topic.creation.default.replication.factor`, as
//! Kafka Connect does (brokers often have automatic creation off).

use std::{
    collections::HashSet,
    thread,
    time::{Duration, Instant},
};

use rdkafka::{
    admin::{AdminClient, AdminOptions, NewTopic, TopicReplication},
    client::{Client, ClientContext, DefaultClientContext},
    config::ClientConfig,
    types::RDKafkaRespErr,
};

use crate::{
    config::kafka::KafkaSinkConfig,
    error::{Error, ErrorKind},
    Result,
};

/// The topics known to exist, and how to create the others.
pub(super) struct Topics {
    known: HashSet<String>,
    admin: Option<AdminClient<DefaultClientContext>>,
    partitions: i32,
    replication_factor: i32,
    /// How long to keep trying while the brokers do not answer.
    patience: Duration,
}

impl Topics {
    /// `client_config` is the producer's; the admin client (when topics may be created) is
    /// made from it.
    pub(super) fn new(config: &KafkaSinkConfig, client_config: &ClientConfig) -> Result<Self> {
        let admin = if config.topic_creation {
            let mut admin_config = client_config.clone();
            // Producer-only settings mean nothing to an admin client; librdkafka would warn
            // about each one.
            for (name, _) in config.client_settings() {
                if is_producer_only(&name) {
                    admin_config.remove(&name);
                }
            }
            Some(admin_config.create().map_err(|e| {
                Error::config(format!("could not create the Kafka admin client: {e}"))
            })?)
        } else {
            None
        };
        Ok(Topics {
            known: HashSet::new(),
            admin,
            partitions: config.topic_partitions,
            replication_factor: config.topic_replication_factor,
            patience: config.connect_timeout,
        })
    }

    /// Makes sure `topic` exists (once per topic), creating it if allowed.
    pub(super) fn ensure<C: ClientContext>(
        &mut self,
        client: &Client<C>,
        topic: &str,
    ) -> Result<()> {
        if self.known.contains(topic) {
            return Ok(());
        }
        if !self.exists(client, topic)? {
            self.create(topic)?;
        }
        self.known.insert(topic.to_string());
        Ok(())
    }

    fn exists<C: ClientContext>(&self, client: &Client<C>, topic: &str) -> Result<bool> {
        let deadline = Instant::now() + self.patience;
        loop {
            match client.fetch_metadata(Some(topic), Duration::from_secs(5)) {
                Ok(md) => {
                    return Ok(md.topics().iter().any(|t| {
                        t.name() == topic && t.error().is_none() && !t.partitions().is_empty()
                    }))
                }
                Err(e) if Instant::now() >= deadline => {
                    return Err(Error::new(
                        ErrorKind::Connection,
                        format!("could not look up the Kafka topic {topic}: {e}"),
                    ))
                }
                Err(e) => {
                    tracing::debug!("looking up the Kafka topic {topic}: {e}; retrying");
                    thread::sleep(Duration::from_millis(500));
                }
            }
        }
    }

    fn create(&self, topic: &str) -> Result<()> {
        let Some(admin) = &self.admin else {
            return Err(Error::new(
                ErrorKind::Sink,
                format!(
                    "the Kafka topic {topic} does not exist and topic.creation.enable=false: \
                     create it, or let the sink create it"
                ),
            ));
        };
        let new = NewTopic::new(
            topic,
            self.partitions,
            TopicReplication::Fixed(self.replication_factor),
        );
        let timeout = Some(self.patience.max(Duration::from_secs(5)));
        let options = AdminOptions::new()
            .request_timeout(timeout)
            .operation_timeout(timeout);
        let results =
            futures_executor::block_on(admin.create_topics([&new], &options)).map_err(|e| {
                Error::new(
                    ErrorKind::Sink,
                    format!("could not create the Kafka topic {topic}: {e}"),
                )
            })?;
        for result in results {
            match result {
                Ok(_) => tracing::info!(
                    "created the Kafka topic {topic} ({} partitions, replication factor {})",
                    self.partitions,
                    self.replication_factor
                ),
                // Someone else was quicker: fine.
                Err((_, code))
                    if code == RDKafkaRespErr::RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS.into() => {}
                Err((_, code)) => {
                    return Err(Error::new(
                        ErrorKind::Sink,
                        format!(
                            "could not create the Kafka topic {topic} with {} partitions and \
                             replication factor {} (topic.creation.default.partitions, \
                             topic.creation.default.replication.factor; -1 is the broker's \
                             default): {code}",
                            self.partitions, self.replication_factor
                        ),
                    ))
                }
            }
        }
        Ok(())
    }
}

/// Settings of a producer that an admin client does not take.
fn is_producer_only(name: &str) -> bool {
    matches!(
        name,
        "enable.idempotence"
            | "acks"
            | "request.required.acks"
            | "partitioner"
            | "linger.ms"
            | "queue.buffering.max.ms"
            | "batch.size"
            | "batch.num.messages"
            | "compression.type"
            | "compression.codec"
            | "message.timeout.ms"
            | "delivery.timeout.ms"
            | "queue.buffering.max.messages"
            | "queue.buffering.max.kbytes"
            | "retries"
            | "message.send.max.retries"
            | "max.in.flight.requests.per.connection"
            | "max.in.flight"
            | "sticky.partitioning.linger.ms"
    )
}
