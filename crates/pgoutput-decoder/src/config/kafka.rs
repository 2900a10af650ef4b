//! The Kafka sink's settings ([`KafkaSinkConfig`]), read from Kafka Connect's names.
//!
//! The keys are described in [`super::keys::KAFKA_OPTIONS`] and
//! [`super::keys::KAFKA_PASS_THROUGH`]. Producer settings are handed to librdkafka, the client
//! underneath; the Java producer's names that librdkafka does not know are translated where
//! there is an equivalent (`max.request.size`, `buffer.memory`, `sasl.jaas.config` with the
//! PLAIN or SCRAM login module), skipped with a note where they mean nothing here (the
//! serializers), and otherwise left for librdkafka to refuse by name when the sink starts.

use std::{fmt, time::Duration};

use super::keys::{KAFKA_OPTIONS, KAFKA_PASS_THROUGH};
use crate::{Error, Result};

/// What the Kafka sink needs: where the brokers are, how to create missing topics, and the
/// producer's settings.
#[derive(Clone, PartialEq, Eq)]
pub struct KafkaSinkConfig {
    /// `bootstrap.servers`: `host:port,...`.
    pub bootstrap_servers: String,
    /// `topic.creation.enable` (default true): create a topic that does not exist before
    /// writing to it.
    pub topic_creation: bool,
    /// `topic.creation.default.partitions` (default -1: the broker's default).
    pub topic_partitions: i32,
    /// `topic.creation.default.replication.factor` (default -1: the broker's default).
    pub topic_replication_factor: i32,
    /// `kafka.connect.timeout.ms` (default 30 s): at start, how long to keep trying to reach
    /// the brokers before giving up with an error.
    pub connect_timeout: Duration,
    /// librdkafka settings by librdkafka's names, in the order given (a later one wins); on
    /// top of the sink's own defaults (see [`KafkaSinkConfig::client_settings`]).
    pub producer: Vec<(String, String)>,
}

/// The producer settings the sink starts from; the user's settings come on top, except that
/// `acks=0` is refused (a record would count as written before the broker has it).
pub const PRODUCER_DEFAULTS: &[(&str, &str)] = &[
    // Acknowledged by every in-sync replica, each record once even when retried.
    ("enable.idempotence", "true"),
    ("acks", "all"),
    // The Java client's partitioner: a key goes to the partition Kafka Connect would use.
    ("partitioner", "murmur2_random"),
    ("client.id", "pgoutput-decoder"),
];

impl KafkaSinkConfig {
    /// A configuration with the defaults, writing to `bootstrap_servers`.
    pub fn new(bootstrap_servers: impl Into<String>) -> Self {
        KafkaSinkConfig {
            bootstrap_servers: bootstrap_servers.into(),
            topic_creation: true,
            topic_partitions: -1,
            topic_replication_factor: -1,
            connect_timeout: Duration::from_secs(30),
            producer: Vec::new(),
        }
    }

    /// Reads the sink's keys ([`super::keys::is_kafka_sink_key`]); other keys are errors. The
    /// notes name settings that were skipped (to show the user).
    ///
    /// # Errors
    /// A missing `bootstrap.servers`, a bad value, a key that is not the sink's.
    pub fn from_properties(props: &[(String, String)]) -> Result<(Self, Vec<String>)> {
        let mut config = KafkaSinkConfig::new("");
        let mut skipped = Vec::new();
        for (key, value) in props {
            let v = value.trim();
            if let Some(option) = KAFKA_OPTIONS.iter().find(|o| o.key == key) {
                match option.key {
                    "bootstrap.servers" => config.bootstrap_servers = v.to_string(),
                    "topic.creation.enable" => config.topic_creation = parse_bool(key, v)?,
                    "topic.creation.default.partitions" => {
                        config.topic_partitions = parse_count(key, v)?
                    }
                    "topic.creation.default.replication.factor" => {
                        config.topic_replication_factor = parse_count(key, v)?
                    }
                    "kafka.connect.timeout.ms" => {
                        config.connect_timeout = Duration::from_millis(v.parse().map_err(|e| {
                            Error::config(format!("{key}: {e} (milliseconds expected)"))
                        })?)
                    }
                    "exactly.once.support" if v == "requested" => {}
                    "exactly.once.support" => {
                        return Err(Error::config(format!(
                            "exactly.once.support={v} is not supported: the Kafka sink delivers \
                             at least once, as Debezium does by default (Kafka transactions are \
                             not implemented); set exactly.once.support=requested or leave it \
                             out, and deduplicate downstream by source.lsn if needed"
                        )))
                    }
                    other => {
                        return Err(Error::config(format!(
                            "{other} is listed in config::keys::KAFKA_OPTIONS but the Kafka \
                             sink does not apply it"
                        )))
                    }
                }
                continue;
            }
            let Some(name) = KAFKA_PASS_THROUGH
                .iter()
                .find_map(|p| key.strip_prefix(p).filter(|n| !n.is_empty()))
            else {
                return Err(Error::config(format!(
                    "{key} is not a setting of the Kafka sink (bootstrap.servers, \
                     topic.creation.*, producer.*, kafka.*)"
                )));
            };
            match translate(name, v)? {
                Translated::Set(settings) => {
                    for (name, value) in settings {
                        if name == "bootstrap.servers" {
                            config.bootstrap_servers = value;
                        } else {
                            config.producer.push((name, value));
                        }
                    }
                }
                Translated::Skipped => skipped.push(key.clone()),
            }
        }
        if config.bootstrap_servers.is_empty() {
            return Err(Error::config(
                "bootstrap.servers is required for the Kafka sink (as bootstrap.servers, \
                 producer.bootstrap.servers or, in a Debezium Server configuration, \
                 debezium.sink.kafka.producer.bootstrap.servers)",
            ));
        }
        config.check_producer()?;
        let notes = if skipped.is_empty() {
            Vec::new()
        } else {
            vec![format!(
                "ignoring Java producer settings that mean nothing to librdkafka, the Kafka \
                 client used here (records are written as UTF-8 JSON, as StringSerializer \
                 does): {}",
                skipped.join(", ")
            )]
        };
        Ok((config, notes))
    }

    /// Refuses producer settings that would break the delivery guarantee.
    fn check_producer(&self) -> Result<()> {
        for (name, value) in &self.producer {
            if name == "acks" && value.trim() == "0" {
                return Err(Error::config(
                    "producer.acks=0 is not allowed: a position is confirmed to PostgreSQL \
                     only once Kafka acknowledged the records, which acks=0 never does; use \
                     acks=all (the default) or acks=1",
                ));
            }
        }
        Ok(())
    }

    /// Every librdkafka setting of the producer: the sink's defaults
    /// ([`PRODUCER_DEFAULTS`]), `bootstrap.servers`, then [`producer`](Self::producer).
    pub fn client_settings(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = PRODUCER_DEFAULTS
            .iter()
            .map(|&(k, v)| (k.to_string(), v.to_string()))
            .collect();
        out.push(("bootstrap.servers".into(), self.bootstrap_servers.clone()));
        out.extend(self.producer.iter().cloned());
        out
    }
}

/// Settings are shown with secret values hidden.
impl fmt::Debug for KafkaSinkConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let producer: Vec<(&str, &str)> = self
            .producer
            .iter()
            .map(|(k, v)| (k.as_str(), if is_secret(k) { "***" } else { v.as_str() }))
            .collect();
        f.debug_struct("KafkaSinkConfig")
            .field("bootstrap_servers", &self.bootstrap_servers)
            .field("topic_creation", &self.topic_creation)
            .field("topic_partitions", &self.topic_partitions)
            .field("topic_replication_factor", &self.topic_replication_factor)
            .field("connect_timeout", &self.connect_timeout)
            .field("producer", &producer)
            .finish()
    }
}

/// Whether a client setting holds a secret (never shown in logs or errors).
pub fn is_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["password", "secret", "jaas", ".key.pem", "ssl.key", "token"]
        .iter()
        .any(|s| name.contains(s))
}

fn parse_bool(key: &str, v: &str) -> Result<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(Error::config(format!(
            "{key}: expected true or false, got {other:?}"
        ))),
    }
}

/// A partition count or replication factor: positive, or -1 for the broker's default.
fn parse_count(key: &str, v: &str) -> Result<i32> {
    match v.parse::<i32>() {
        Ok(n) if n == -1 || n > 0 => Ok(n),
        _ => Err(Error::config(format!(
            "{key}: expected a positive number or -1 (the broker's default), got {v:?}"
        ))),
    }
}

/// A producer setting by its name here.
enum Translated {
    /// librdkafka settings to apply.
    Set(Vec<(String, String)>),
    /// A Java client setting with no meaning here.
    Skipped,
}

/// A producer setting (Java or librdkafka name) as librdkafka settings.
fn translate(name: &str, value: &str) -> Result<Translated> {
    let one = |n: &str, v: String| Ok(Translated::Set(vec![(n.to_string(), v)]));
    match name {
        "key.serializer"
        | "value.serializer"
        | "max.block.ms"
        | "interceptor.classes"
        | "metric.reporters" => Ok(Translated::Skipped),
        "partitioner.class" => match value {
            "org.apache.kafka.clients.producer.internals.DefaultPartitioner" => {
                Ok(Translated::Skipped)
            }
            _ => Err(Error::config(format!(
                "producer.partitioner.class={value}: Java partitioners cannot run here; records \
                 are partitioned as the Java client's default partitioner does (murmur2 of the \
                 key); librdkafka's own choice is producer.partitioner"
            ))),
        },
        // The Java names of librdkafka's message.max.bytes and queue.buffering.max.kbytes.
        "max.request.size" => one("message.max.bytes", value.to_string()),
        "buffer.memory" => {
            let bytes: u64 = value.parse().map_err(|_| {
                Error::config(format!(
                    "producer.buffer.memory: expected bytes, got {value:?}"
                ))
            })?;
            one(
                "queue.buffering.max.kbytes",
                bytes.div_ceil(1024).to_string(),
            )
        }
        "sasl.jaas.config" => jaas(value).map(Translated::Set),
        _ => one(name, value.to_string()),
    }
}

/// `sasl.jaas.config` of the PLAIN or SCRAM login module as librdkafka's `sasl.username` and
/// `sasl.password`. The value is a secret: errors never show it.
fn jaas(value: &str) -> Result<Vec<(String, String)>> {
    let module = value.split_whitespace().next().unwrap_or("");
    let known = [
        "org.apache.kafka.common.security.plain.PlainLoginModule",
        "org.apache.kafka.common.security.scram.ScramLoginModule",
    ];
    if !known.contains(&module) {
        return Err(Error::config(
            "producer.sasl.jaas.config: only the PlainLoginModule and ScramLoginModule are \
             understood here; give librdkafka's sasl.username and sasl.password (and \
             sasl.mechanism) instead",
        ));
    }
    let mut out = Vec::new();
    for field in ["username", "password"] {
        let Some(v) = jaas_option(value, field) else {
            return Err(Error::config(format!(
                "producer.sasl.jaas.config: no {field}=\"...\" option"
            )));
        };
        out.push((format!("sasl.{field}"), v));
    }
    Ok(out)
}

/// The quoted value of `name="..."` in a JAAS configuration line.
fn jaas_option(config: &str, name: &str) -> Option<String> {
    let mut rest = config;
    while let Some(at) = rest.find(name) {
        let before = rest[..at].chars().last();
        let after = rest[at + name.len()..].trim_start();
        rest = &rest[at + name.len()..];
        if before.is_some_and(|c| !c.is_whitespace()) {
            continue;
        }
        let Some(quoted) = after.strip_prefix('=').map(str::trim_start) else {
            continue;
        };
        let quoted = quoted.strip_prefix('"')?;
        let mut value = String::new();
        let mut chars = quoted.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => value.push(chars.next()?),
                '"' => return Some(value),
                c => value.push(c),
            }
        }
        return None;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|&(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn kafka_connect_names_are_read() {
        let (c, notes) = KafkaSinkConfig::from_properties(&props(&[
            ("bootstrap.servers", "a:9092,b:9092"),
            ("topic.creation.default.partitions", "3"),
            ("topic.creation.default.replication.factor", "1"),
            ("topic.creation.enable", "true"),
            ("kafka.connect.timeout.ms", "500"),
            ("producer.linger.ms", "20"),
            ("producer.override.compression.type", "gzip"),
            ("kafka.statistics.interval.ms", "0"),
            ("exactly.once.support", "requested"),
        ]))
        .unwrap();
        assert!(notes.is_empty());
        assert_eq!(c.bootstrap_servers, "a:9092,b:9092");
        assert_eq!((c.topic_partitions, c.topic_replication_factor), (3, 1));
        assert_eq!(c.connect_timeout, Duration::from_millis(500));
        assert_eq!(
            c.producer,
            props(&[
                ("linger.ms", "20"),
                ("compression.type", "gzip"),
                ("statistics.interval.ms", "0")
            ])
        );
        let settings = c.client_settings();
        assert_eq!(settings[0], ("enable.idempotence".into(), "true".into()));
        assert!(settings.contains(&("partitioner".into(), "murmur2_random".into())));
        assert!(settings.contains(&("bootstrap.servers".into(), "a:9092,b:9092".into())));
    }

    #[test]
    fn java_producer_names_are_translated_or_skipped() {
        let (c, notes) = KafkaSinkConfig::from_properties(&props(&[
            ("producer.bootstrap.servers", "k:9092"),
            (
                "producer.key.serializer",
                "org.apache.kafka.common.serialization.StringSerializer",
            ),
            (
                "producer.value.serializer",
                "org.apache.kafka.common.serialization.StringSerializer",
            ),
            ("producer.max.request.size", "2097152"),
            ("producer.buffer.memory", "33554432"),
            ("producer.security.protocol", "SASL_PLAINTEXT"),
            ("producer.sasl.mechanism", "PLAIN"),
            (
                "producer.sasl.jaas.config",
                r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="s3\"cret";"#,
            ),
        ]))
        .unwrap();
        assert_eq!(c.bootstrap_servers, "k:9092");
        assert_eq!(
            c.producer,
            props(&[
                ("message.max.bytes", "2097152"),
                ("queue.buffering.max.kbytes", "32768"),
                ("security.protocol", "SASL_PLAINTEXT"),
                ("sasl.mechanism", "PLAIN"),
                ("sasl.username", "alice"),
                ("sasl.password", "s3\"cret"),
            ])
        );
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("producer.key.serializer, producer.value.serializer"));
        // Secrets never show.
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3"), "{shown}");
        assert!(shown.contains("\"sasl.username\", \"alice\""), "{shown}");
    }

    #[test]
    fn bad_settings_are_clear_errors() {
        let err = |pairs: &[(&str, &str)]| {
            KafkaSinkConfig::from_properties(&props(pairs))
                .unwrap_err()
                .to_string()
        };
        assert!(err(&[("producer.acks", "1")]).contains("bootstrap.servers is required"));
        let with = |k: &'static str, v: &'static str| vec![("bootstrap.servers", "k:1"), (k, v)];
        assert!(err(&with("producer.acks", "0")).contains("acks=0 is not allowed"));
        assert!(err(&with("topic.creation.default.partitions", "0"))
            .contains("expected a positive number or -1"));
        assert!(err(&with("exactly.once.support", "required")).contains("not supported"));
        assert!(err(&with("slot.name", "x")).contains("not a setting of the Kafka sink"));
        let jaas = err(&with(
            "producer.sasl.jaas.config",
            r#"com.example.Custom required password="hunter2";"#,
        ));
        assert!(jaas.contains("PlainLoginModule"), "{jaas}");
        assert!(!jaas.contains("hunter2"));
        let jaas = err(&with(
            "producer.sasl.jaas.config",
            r#"org.apache.kafka.common.security.scram.ScramLoginModule required password="hunter2";"#,
        ));
        assert!(jaas.contains("no username"), "{jaas}");
        assert!(!jaas.contains("hunter2"));
    }

    #[test]
    fn secrets_are_recognised() {
        for k in [
            "sasl.password",
            "ssl.key.password",
            "ssl.key.pem",
            "sasl.oauthbearer.client.secret",
        ] {
            assert!(is_secret(k), "{k}");
        }
        for k in ["sasl.username", "linger.ms", "ssl.ca.location"] {
            assert!(!is_secret(k), "{k}");
        }
    }
}
