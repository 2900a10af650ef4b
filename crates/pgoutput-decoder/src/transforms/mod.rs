//! Single message transforms, with Kafka Connect's and Debezium's property names.
//!
//! ```properties
//! transforms=unwrap,route
//! transforms.unwrap.type=io.debezium.transforms.ExtractNewRecordState
//! transforms.unwrap.add.fields=op,table,source.ts_ms
//! transforms.route.type=org.apache.kafka.connect.transforms.RegexRouter
//! transforms.route.regex=dbz\\.public\\.(.*)
//! transforms.route.replacement=cdc.$1
//! transforms.route.predicate=only_orders
//! predicates=only_orders
//! predicates.only_orders.type=org.apache.kafka.connect.transforms.predicates.TopicNameMatches
//! predicates.only_orders.pattern=dbz\\.public\\.orders
//! ```
//!
//! The chain works on [`Record`]s (topic, key, value and headers as JSON text, the way the
//! encoder wrote them) and applies the transforms in order, as Kafka Connect does; a transform
//! may drop a record. Supported: `io.debezium.transforms.ExtractNewRecordState`,
//! `org.apache.kafka.connect.transforms.RegexRouter`, `io.debezium.transforms.ByLogicalTableRouter`,
//! `org.apache.kafka.connect.transforms.InsertHeader`;
//! predicates `TopicNameMatches`, `HasHeaderKey`, `RecordIsTombstone`. Anything else, an
//! unknown option or a missing required one is an error when the configuration is loaded.

mod extract_new_record_state;
mod insert_header;
mod json;
mod predicate;
mod regex;
mod router;

use std::collections::BTreeMap;

pub use extract_new_record_state::{DeleteTombstoneHandling, ExtractNewRecordState};
pub use insert_header::InsertHeader;
pub use predicate::Predicate;
pub use router::{ByLogicalTableRouter, RegexRouter};

use crate::{Error, Result};

/// One record on its way to a sink: what Kafka Connect's `SourceRecord` carries here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The topic.
    pub topic: String,
    /// The key as JSON text; `None` for a null key.
    pub key: Option<String>,
    /// The value as JSON text; `None` for a tombstone.
    pub value: Option<String>,
    /// Headers in order: name and value as JSON text.
    pub headers: Vec<(String, String)>,
    /// The value's Kafka Connect schema (JSON text) when the value is written without one
    /// and a transform needs it (ExtractNewRecordState's `drop.fields.keep.schema.compatible`
    /// looks up which fields are optional); otherwise `None`.
    pub value_schema: Option<String>,
}

impl Record {
    /// Writes the CLI's envelope line, `{"topic":...,"key":...,"value":...}`, with
    /// `,"headers":{...}` before the closing brace only when the record has headers.
    pub fn write_envelope(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"topic\":");
        crate::types::write_json_string(out, &self.topic);
        out.extend_from_slice(b",\"key\":");
        out.extend_from_slice(self.key.as_deref().unwrap_or("null").as_bytes());
        out.extend_from_slice(b",\"value\":");
        out.extend_from_slice(self.value.as_deref().unwrap_or("null").as_bytes());
        if !self.headers.is_empty() {
            out.extend_from_slice(b",\"headers\":{");
            for (n, (name, value)) in self.headers.iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                crate::types::write_json_string(out, name);
                out.push(b':');
                out.extend_from_slice(value.as_bytes());
            }
            out.push(b'}');
        }
        out.extend_from_slice(b"}\n");
    }
}

/// The configured chain of transforms (empty: records pass unchanged).
#[derive(Debug, Clone, Default)]
pub struct Transforms {
    steps: Vec<Step>,
    /// `header.converter.schemas.enable=false`: headers are written without their schema.
    bare_headers: bool,
}

#[derive(Debug, Clone)]
struct Step {
    transform: Transform,
    /// The predicate gating the transform and whether it is negated.
    predicate: Option<(Predicate, bool)>,
}

#[derive(Debug, Clone)]
enum Transform {
    ExtractNewRecordState(ExtractNewRecordState),
    RegexRouter(RegexRouter),
    ByLogicalTableRouter(ByLogicalTableRouter),
    InsertHeader(InsertHeader),
}

/// Transform classes accepted in `transforms.<alias>.type`.
pub const TRANSFORM_TYPES: &[&str] = &[
    "io.debezium.transforms.ExtractNewRecordState",
    "org.apache.kafka.connect.transforms.RegexRouter",
    "io.debezium.transforms.ByLogicalTableRouter",
    "org.apache.kafka.connect.transforms.InsertHeader",
];

/// Predicate classes accepted in `predicates.<alias>.type`.
pub const PREDICATE_TYPES: &[&str] = &[
    "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
    "org.apache.kafka.connect.transforms.predicates.HasHeaderKey",
    "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
];

/// How headers added by the transforms are written: with their Connect schema (the default,
/// as Kafka's JsonConverter) or bare.
pub const HEADER_SCHEMAS: &str = "header.converter.schemas.enable";

/// Whether a property key belongs to the transforms (`transforms`, `transforms.*`,
/// `predicates`, `predicates.*`, and `header.converter.schemas.enable`, which decides how the
/// headers they add are written).
pub fn is_transform_key(key: &str) -> bool {
    key == HEADER_SCHEMAS
        || ["transforms", "predicates"]
            .iter()
            .any(|p| key == *p || key.strip_prefix(p).is_some_and(|r| r.starts_with('.')))
}

impl Transforms {
    /// Reads the chain from the `transforms*` and `predicates*` properties (other keys are
    /// not looked at). Later keys win over earlier ones, as in a properties file.
    pub fn from_properties(props: &[(String, String)]) -> Result<Transforms> {
        let props: BTreeMap<&str, &str> = props
            .iter()
            .filter(|(k, _)| is_transform_key(k))
            .map(|(k, v)| (k.as_str(), v.trim()))
            .collect();
        let aliases = |key: &str| -> Result<Vec<String>> {
            let list: Vec<String> = props
                .get(key)
                .map(|v| {
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            for (i, a) in list.iter().enumerate() {
                if list[..i].contains(a) {
                    return Err(Error::config(format!("{key}: {a} is listed twice")));
                }
            }
            Ok(list)
        };
        // Kafka's JsonConverter writes headers with their schema unless told otherwise.
        let header_schemas = match props.get(HEADER_SCHEMAS) {
            None => true,
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            Some(v) => {
                return Err(Error::config(format!(
                    "{HEADER_SCHEMAS}: expected true or false, got {v:?}"
                )))
            }
        };
        let transforms = aliases("transforms")?;
        let predicates = aliases("predicates")?;
        // Keys of aliases that are not listed would be silently unused: refuse them.
        for key in props.keys().filter(|k| **k != HEADER_SCHEMAS) {
            for (group, listed) in [("transforms", &transforms), ("predicates", &predicates)] {
                if let Some(rest) = key.strip_prefix(group).and_then(|r| r.strip_prefix('.')) {
                    if !listed.iter().any(|a| {
                        rest.strip_prefix(a.as_str())
                            .is_some_and(|r| r.starts_with('.'))
                    }) {
                        return Err(Error::config(format!(
                            "{key}: its alias is not listed in {group}={}",
                            listed.join(",")
                        )));
                    }
                }
            }
        }
        let mut parsed_predicates = BTreeMap::new();
        for alias in &predicates {
            let mut opts = Options::new(&props, format!("predicates.{alias}."));
            let ty = opts.required("type")?;
            let predicate = Predicate::from_options(&ty, &mut opts)?;
            opts.finish(&predicate_options_of(&ty))?;
            parsed_predicates.insert(alias.clone(), predicate);
        }
        let mut steps = Vec::new();
        for alias in &transforms {
            let mut opts = Options::new(&props, format!("transforms.{alias}."));
            let ty = opts.required("type")?;
            let predicate_alias = opts.take("predicate");
            let negate = opts.take_bool("negate")?;
            let predicate = match predicate_alias {
                Some(p) => Some((
                    parsed_predicates.get(&p).cloned().ok_or_else(|| {
                        Error::config(format!(
                            "transforms.{alias}.predicate={p}: no such predicate; list it in \
                             predicates= and set predicates.{p}.type"
                        ))
                    })?,
                    negate.unwrap_or(false),
                )),
                None if negate.is_some() => {
                    return Err(Error::config(format!(
                        "transforms.{alias}.negate is set without transforms.{alias}.predicate"
                    )))
                }
                None => None,
            };
            let transform = match ty.as_str() {
                "io.debezium.transforms.ExtractNewRecordState" => Transform::ExtractNewRecordState(
                    ExtractNewRecordState::from_options(&mut opts, header_schemas)?,
                ),
                "org.apache.kafka.connect.transforms.RegexRouter" => {
                    Transform::RegexRouter(RegexRouter::from_options(&mut opts)?)
                }
                "io.debezium.transforms.ByLogicalTableRouter" => {
                    Transform::ByLogicalTableRouter(ByLogicalTableRouter::from_options(&mut opts)?)
                }
                "org.apache.kafka.connect.transforms.InsertHeader" => {
                    Transform::InsertHeader(InsertHeader::from_options(&mut opts, header_schemas)?)
                }
                other => {
                    return Err(Error::config(format!(
                        "transforms.{alias}.type={other} is not supported; supported: {}",
                        TRANSFORM_TYPES.join(", ")
                    )))
                }
            };
            opts.finish(&transform_options_of(&ty))?;
            steps.push(Step {
                transform,
                predicate,
            });
        }
        Ok(Transforms {
            steps,
            bare_headers: !header_schemas,
        })
    }

    /// Whether headers are written with their Kafka Connect schema
    /// (`header.converter.schemas.enable`, on unless set to false): those the transforms add,
    /// and the encoder's own `__debezium.oldkey` / `__debezium.newkey`.
    pub fn header_schemas(&self) -> bool {
        !self.bare_headers
    }

    /// Whether a transform needs [`Record::value_schema`] for values written without their
    /// schema.
    pub fn needs_value_schema(&self) -> bool {
        self.steps.iter().any(|s| match &s.transform {
            Transform::ExtractNewRecordState(t) => t.needs_value_schema(),
            _ => false,
        })
    }

    /// Whether there is no transform at all.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Refuses transforms whose result this library cannot yet write with a Kafka Connect
    /// schema (`key/value.converter.schemas.enable=true`).
    pub fn check_schemas(&self, key_schemas: bool, value_schemas: bool) -> Result<()> {
        for step in &self.steps {
            let (name, key, value) = match &step.transform {
                Transform::ByLogicalTableRouter(_) => ("ByLogicalTableRouter", true, true),
                Transform::RegexRouter(_)
                | Transform::ExtractNewRecordState(_)
                | Transform::InsertHeader(_) => continue,
            };
            if (key && key_schemas) || (value && value_schemas) {
                return Err(Error::config(format!(
                    "{name} with schemas (--schemas, key/value.converter.schemas.enable=true) \
                     is not supported yet: it changes the Connect schema, which is not \
                     rewritten here; turn schemas off or drop the transform"
                )));
            }
        }
        Ok(())
    }

    /// Runs the record through the chain; `None` when a transform dropped it.
    pub fn apply(&self, mut record: Record) -> Option<Record> {
        for step in &self.steps {
            if let Some((predicate, negate)) = &step.predicate {
                if predicate.test(&record) == *negate {
                    continue;
                }
            }
            record = match &step.transform {
                Transform::ExtractNewRecordState(t) => t.apply(record)?,
                Transform::RegexRouter(t) => t.apply(record),
                Transform::ByLogicalTableRouter(t) => t.apply(record),
                Transform::InsertHeader(t) => t.apply(record),
            };
        }
        Some(record)
    }
}

fn transform_options_of(ty: &str) -> Vec<&'static str> {
    let mut v = vec!["type", "predicate", "negate"];
    v.extend_from_slice(match ty {
        "io.debezium.transforms.ExtractNewRecordState" => extract_new_record_state::OPTIONS,
        "org.apache.kafka.connect.transforms.RegexRouter" => router::REGEX_ROUTER_OPTIONS,
        "io.debezium.transforms.ByLogicalTableRouter" => router::LOGICAL_ROUTER_OPTIONS,
        "org.apache.kafka.connect.transforms.InsertHeader" => insert_header::OPTIONS,
        _ => &[],
    });
    v
}

fn predicate_options_of(ty: &str) -> Vec<&'static str> {
    let mut v = vec!["type"];
    v.extend_from_slice(predicate::options_of(ty));
    v
}

/// The options of one transform or predicate (`transforms.<alias>.*`): taken one by one;
/// whatever is left at the end is an unknown option.
pub(crate) struct Options<'a> {
    prefix: String,
    left: BTreeMap<&'a str, &'a str>,
}

impl<'a> Options<'a> {
    fn new(props: &BTreeMap<&'a str, &'a str>, prefix: String) -> Options<'a> {
        let left = props
            .iter()
            .filter_map(|(k, v)| k.strip_prefix(prefix.as_str()).map(|o| (o, *v)))
            .collect();
        Options { prefix, left }
    }

    /// The full property name of an option.
    pub(crate) fn key(&self, option: &str) -> String {
        format!("{}{option}", self.prefix)
    }

    /// An option's value (empty values count as not set, as Kafka's defaults do).
    pub(crate) fn take(&mut self, option: &str) -> Option<String> {
        self.left
            .remove(option)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    }

    pub(crate) fn required(&mut self, option: &str) -> Result<String> {
        self.take(option)
            .ok_or_else(|| Error::config(format!("{} is required", self.key(option))))
    }

    pub(crate) fn take_bool(&mut self, option: &str) -> Result<Option<bool>> {
        match self.take(option) {
            None => Ok(None),
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "true" => Ok(Some(true)),
                "false" => Ok(Some(false)),
                _ => Err(Error::config(format!(
                    "{}: expected true or false, got {v:?}",
                    self.key(option)
                ))),
            },
        }
    }

    /// A comma-separated list option.
    pub(crate) fn take_list(&mut self, option: &str) -> Vec<String> {
        self.take(option)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Refuses options that were not taken.
    fn finish(self, supported: &[&str]) -> Result<()> {
        match self.left.keys().next() {
            None => Ok(()),
            Some(option) => Err(Error::config(format!(
                "{}{option} is not a supported option; supported: {}",
                self.prefix,
                supported
                    .iter()
                    .map(|o| format!("{}{o}", self.prefix))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }
}

#[cfg(test)]
mod tests;
