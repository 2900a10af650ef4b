//! Kafka Connect's predicates (`predicates.<alias>.type=...`), which decide whether a
//! transform applies to a record (`transforms.<t>.predicate=<alias>`, optionally negated with
//! `transforms.<t>.negate=true`).

use super::{regex::JavaRegex, Options, Record};
use crate::Result;

/// A configured predicate.
#[derive(Debug, Clone)]
pub enum Predicate {
    /// `TopicNameMatches`: the whole topic matches `pattern` (Java's `matches()`).
    TopicNameMatches(TopicPattern),
    /// `HasHeaderKey`: the record has at least one header named `name`.
    HasHeaderKey(String),
    /// `RecordIsTombstone`: the value is null.
    RecordIsTombstone,
}

/// The compiled `pattern` of a `TopicNameMatches` predicate.
#[derive(Debug, Clone)]
pub struct TopicPattern(JavaRegex);

pub(crate) fn options_of(ty: &str) -> &'static [&'static str] {
    match ty {
        "org.apache.kafka.connect.transforms.predicates.TopicNameMatches" => &["pattern"],
        "org.apache.kafka.connect.transforms.predicates.HasHeaderKey" => &["name"],
        _ => &[],
    }
}

impl Predicate {
    pub(crate) fn from_options(ty: &str, opts: &mut Options<'_>) -> Result<Predicate> {
        match ty {
            "org.apache.kafka.connect.transforms.predicates.TopicNameMatches" => {
                let pattern = opts.required("pattern")?;
                Ok(Predicate::TopicNameMatches(TopicPattern(JavaRegex::new(
                    &opts.key("pattern"),
                    &pattern,
                )?)))
            }
            "org.apache.kafka.connect.transforms.predicates.HasHeaderKey" => {
                Ok(Predicate::HasHeaderKey(opts.required("name")?))
            }
            "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone" => {
                Ok(Predicate::RecordIsTombstone)
            }
            other => Err(crate::Error::config(format!(
                "{}={other} is not supported; supported: {}",
                opts.key("type"),
                super::PREDICATE_TYPES.join(", ")
            ))),
        }
    }

    /// Whether the record satisfies the predicate (before any `negate`).
    pub fn test(&self, record: &Record) -> bool {
        match self {
            Predicate::TopicNameMatches(p) => p.0.matches(&record.topic),
            Predicate::HasHeaderKey(name) => record.headers.iter().any(|(n, _)| n == name),
            Predicate::RecordIsTombstone => record.value.is_none(),
        }
    }
}
