//! Topic routers: Kafka Connect's `RegexRouter` and Debezium's `ByLogicalTableRouter`.

use super::{
    json,
    regex::{JavaRegex, Replacement},
    Options, Record,
};
use crate::{Error, Result};

pub(crate) const REGEX_ROUTER_OPTIONS: &[&str] = &["regex", "replacement"];
pub(crate) const LOGICAL_ROUTER_OPTIONS: &[&str] = &[
    "topic.regex",
    "topic.replacement",
    "key.enforce.uniqueness",
    "key.field.name",
    "key.field.regex",
    "key.field.replacement",
    "logical.table.cache.size",
    "schema.name.adjustment.mode",
];

/// `org.apache.kafka.connect.transforms.RegexRouter`: when the whole topic matches `regex`,
/// the topic becomes `replaceFirst(replacement)`; key, value and headers stay as they are.
#[derive(Debug, Clone)]
pub struct RegexRouter {
    regex: JavaRegex,
    replacement: Replacement,
}

impl RegexRouter {
    pub(crate) fn from_options(opts: &mut Options<'_>) -> Result<RegexRouter> {
        let regex = JavaRegex::new(&opts.key("regex"), &opts.required("regex")?)?;
        let replacement =
            regex.replacement(&opts.key("replacement"), &opts.required("replacement")?)?;
        Ok(RegexRouter { regex, replacement })
    }

    pub(crate) fn apply(&self, mut record: Record) -> Record {
        if self.regex.matches(&record.topic) {
            record.topic = self.regex.replace_first(&record.topic, &self.replacement);
        }
        record
    }
}

/// `io.debezium.transforms.ByLogicalTableRouter`: routes the records of several tables to
/// one topic (`topic.regex` must match the whole topic; it becomes
/// `replaceFirst(topic.replacement)`); with `key.enforce.uniqueness` (the default) the key
/// gets one more field, `key.field.name` (default `__dbz__physicalTableIdentifier`), holding
/// the original topic, or `replaceFirst(key.field.replacement)` of it when `key.field.regex`
/// matches it whole. A null key stays null. Values are not changed (only their Connect
/// schema's name would, and schemas are refused with this transform).
#[derive(Debug, Clone)]
pub struct ByLogicalTableRouter {
    topic_regex: JavaRegex,
    topic_replacement: Replacement,
    enforce_uniqueness: bool,
    key_field_name: String,
    key_field: Option<(JavaRegex, Replacement)>,
}

impl ByLogicalTableRouter {
    pub(crate) fn from_options(opts: &mut Options<'_>) -> Result<ByLogicalTableRouter> {
        let topic_regex = JavaRegex::new(&opts.key("topic.regex"), &opts.required("topic.regex")?)?;
        let topic_replacement = topic_regex.replacement(
            &opts.key("topic.replacement"),
            &opts.required("topic.replacement")?,
        )?;
        let enforce_uniqueness = opts.take_bool("key.enforce.uniqueness")?.unwrap_or(true);
        let key_field_name = opts
            .take("key.field.name")
            .unwrap_or_else(|| "__dbz__physicalTableIdentifier".to_string());
        let key_field = match (
            opts.take("key.field.regex"),
            opts.take("key.field.replacement"),
        ) {
            (Some(regex), Some(replacement)) => {
                let re = JavaRegex::new(&opts.key("key.field.regex"), &regex)?;
                let r = re.replacement(&opts.key("key.field.replacement"), &replacement)?;
                Some((re, r))
            }
            (Some(_), None) => {
                return Err(Error::config(format!(
                    "{} is required when {} is set",
                    opts.key("key.field.replacement"),
                    opts.key("key.field.regex")
                )))
            }
            (None, Some(_)) => {
                return Err(Error::config(format!(
                    "{} is set without {}",
                    opts.key("key.field.replacement"),
                    opts.key("key.field.regex")
                )))
            }
            (None, None) => None,
        };
        if let Some(size) = opts.take("logical.table.cache.size") {
            // Only a cache size of Debezium's schema cache: no effect on records here.
            size.parse::<u32>().map_err(|e| {
                Error::config(format!("{}: {e}", opts.key("logical.table.cache.size")))
            })?;
        }
        if let Some(mode) = opts.take("schema.name.adjustment.mode") {
            // Schema names only; schemas are refused with this transform.
            if !matches!(mode.as_str(), "none" | "avro" | "avro_unicode") {
                return Err(Error::config(format!(
                    "{}={mode}: expected none, avro or avro_unicode",
                    opts.key("schema.name.adjustment.mode")
                )));
            }
        }
        Ok(ByLogicalTableRouter {
            topic_regex,
            topic_replacement,
            enforce_uniqueness,
            key_field_name,
            key_field,
        })
    }

    pub(crate) fn apply(&self, mut record: Record) -> Record {
        if !self.topic_regex.matches(&record.topic) {
            return record;
        }
        let old_topic = std::mem::take(&mut record.topic);
        record.topic = self
            .topic_regex
            .replace_first(&old_topic, &self.topic_replacement);
        if self.enforce_uniqueness {
            if let Some(key) = &record.key {
                let id = match &self.key_field {
                    Some((re, r)) if re.matches(&old_topic) => re.replace_first(&old_topic, r),
                    _ => old_topic,
                };
                record.key = Some(json::append_members(
                    key,
                    &[(self.key_field_name.clone(), json::string(&id))],
                ));
            }
        }
        record
    }
}
