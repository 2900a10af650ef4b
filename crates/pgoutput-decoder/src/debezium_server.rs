//! Debezium Server's `application.properties` → the properties of the connector and of the
//! Kafka sink, so that a Debezium Server configuration works as it is.
//!
//! Debezium Server names the connector's properties `debezium.source.*`, the Kafka producer's
//! `debezium.sink.kafka.producer.*`, the converters' `debezium.format.{key,value,header}.*`,
//! and the transforms `debezium.transforms*`; [`crate::config::keys::DEBEZIUM_SERVER_NAMES`]
//! lists the renames. As in Debezium Server, the JSON converters write schemas unless told
//! otherwise (`JsonConverter`'s default): `key.converter.schemas.enable` and
//! `value.converter.schemas.enable` are `true` unless the file sets them.

use crate::{
    config::keys::{DEBEZIUM_SERVER_IGNORED, DEBEZIUM_SERVER_NAMES},
    Error, Result,
};

/// A Debezium Server configuration, translated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerProperties {
    /// The connector's and the sink's properties by their names here.
    pub props: Vec<(String, String)>,
    /// `debezium.sink.type`.
    pub sink_type: Option<String>,
}

/// Whether the properties are a Debezium Server configuration (any `debezium.*` key).
pub fn is_debezium_server(props: &[(String, String)]) -> bool {
    props.iter().any(|(k, _)| k.starts_with("debezium."))
}

/// The converter prefixes a generic `debezium.format.*` key applies to.
const CONVERTERS: [&str; 3] = ["key.converter.", "value.converter.", "header.converter."];

/// Translates a Debezium Server configuration (see the [module docs](self)). Keys outside
/// `debezium.*` and `quarkus.*` are kept as they are.
///
/// # Errors
/// A sink other than `kafka`, a format other than `json`, or a `debezium.*` key that has no
/// meaning here.
pub fn from_debezium_server(props: &[(String, String)]) -> Result<ServerProperties> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut generic_format = Vec::new();
    let mut sink_type = None;
    for (key, value) in props {
        let v = value.trim();
        if let Some(ignored) = DEBEZIUM_SERVER_IGNORED
            .iter()
            .find(|p| key == *p || (p.ends_with('.') && key.starts_with(*p)))
        {
            match *ignored {
                "debezium.sink.type" => {
                    if v != "kafka" {
                        return Err(Error::config(format!(
                            "debezium.sink.type={v} is not supported here: the sinks are kafka \
                             (debezium.sink.type=kafka) and, from the command line, a file \
                             (--sink file)"
                        )));
                    }
                    sink_type = Some(v.to_string());
                }
                "debezium.format.key" | "debezium.format.value" | "debezium.format.header"
                    if v != "json" =>
                {
                    return Err(Error::config(format!(
                        "{key}={v} is not supported: records are written as Kafka's \
                         JsonConverter writes them ({key}=json)"
                    )))
                }
                _ => {}
            }
            continue;
        }
        let renamed = DEBEZIUM_SERVER_NAMES
            .iter()
            .filter_map(|(from, to)| {
                if from.ends_with('.') {
                    key.strip_prefix(from)
                        .filter(|rest| !rest.is_empty())
                        .map(|rest| (from.len(), format!("{to}{rest}")))
                } else {
                    (key == from).then(|| (from.len(), (*to).to_string()))
                }
            })
            .max_by_key(|(len, _)| *len)
            .map(|(_, name)| name);
        match renamed {
            Some(name) => out.push((name, value.clone())),
            None => match key.strip_prefix("debezium.format.") {
                Some(rest) if !rest.is_empty() => generic_format.push((rest, value)),
                _ if key.starts_with("debezium.") => {
                    return Err(Error::config(format!(
                        "{key} is a Debezium Server setting that has no meaning here; the \
                         supported ones are debezium.source.*, debezium.sink.type=kafka, \
                         debezium.sink.kafka.producer.*, \
                         debezium.sink.kafka.wait.message.delivery.timeout.ms, \
                         debezium.format.*, debezium.transforms* and debezium.predicates*"
                    )))
                }
                _ => out.push((key.clone(), value.clone())),
            },
        }
    }
    // Generic format settings apply to every converter that was not set specifically.
    for (rest, value) in generic_format {
        for converter in CONVERTERS {
            let name = format!("{converter}{rest}");
            if !out.iter().any(|(k, _)| *k == name) {
                out.push((name, value.clone()));
            }
        }
    }
    // JsonConverter writes schemas unless told otherwise, and so does Debezium Server.
    for name in [
        "key.converter.schemas.enable",
        "value.converter.schemas.enable",
    ] {
        if !out.iter().any(|(k, _)| k == name) {
            out.push((name.to_string(), "true".to_string()));
        }
    }
    Ok(ServerProperties {
        props: out,
        sink_type,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(text: &str) -> Vec<(String, String)> {
        crate::properties::parse_properties(text).unwrap()
    }

    #[test]
    fn an_application_properties_file_is_translated() {
        let p = props(
            "debezium.sink.type=kafka\n\
             debezium.sink.kafka.producer.bootstrap.servers=kafka:9092\n\
             debezium.sink.kafka.producer.key.serializer=org.apache.kafka.common.serialization.StringSerializer\n\
             debezium.sink.kafka.wait.message.delivery.timeout.ms=60000\n\
             debezium.source.connector.class=io.debezium.connector.postgresql.PostgresConnector\n\
             debezium.source.offset.storage.file.filename=data/offsets.dat\n\
             debezium.source.database.hostname=db\n\
             debezium.source.topic.prefix=shop\n\
             debezium.format.value=json\n\
             debezium.format.value.schemas.enable=false\n\
             debezium.transforms=route\n\
             debezium.transforms.route.type=org.apache.kafka.connect.transforms.RegexRouter\n\
             quarkus.log.console.json=false\n",
        );
        assert!(is_debezium_server(&p));
        let t = from_debezium_server(&p).unwrap();
        assert_eq!(t.sink_type.as_deref(), Some("kafka"));
        let names: Vec<(&str, &str)> = t
            .props
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("producer.bootstrap.servers", "kafka:9092"),
                (
                    "producer.key.serializer",
                    "org.apache.kafka.common.serialization.StringSerializer"
                ),
                ("producer.delivery.timeout.ms", "60000"),
                (
                    "connector.class",
                    "io.debezium.connector.postgresql.PostgresConnector"
                ),
                ("offset.storage.file.filename", "data/offsets.dat"),
                ("database.hostname", "db"),
                ("topic.prefix", "shop"),
                ("value.converter.schemas.enable", "false"),
                ("transforms", "route"),
                (
                    "transforms.route.type",
                    "org.apache.kafka.connect.transforms.RegexRouter"
                ),
                // JsonConverter's default, as in Debezium Server.
                ("key.converter.schemas.enable", "true"),
            ]
        );
    }

    #[test]
    fn generic_format_settings_apply_where_no_specific_one_is_given() {
        let t = from_debezium_server(&props(
            "debezium.format.schemas.enable=false\ndebezium.format.key.schemas.enable=true\n",
        ))
        .unwrap();
        let get = |k: &str| {
            t.props
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("key.converter.schemas.enable"), Some("true"));
        assert_eq!(get("value.converter.schemas.enable"), Some("false"));
        assert_eq!(get("header.converter.schemas.enable"), Some("false"));
    }

    #[test]
    fn other_sinks_formats_and_keys_are_refused() {
        let err = |text: &str| from_debezium_server(&props(text)).unwrap_err().to_string();
        assert!(err("debezium.sink.type=kinesis")
            .contains("debezium.sink.type=kinesis is not supported"));
        assert!(err("debezium.format.value=avro").contains("JsonConverter"));
        assert!(err("debezium.sink.kafka.foo=1")
            .contains("debezium.sink.kafka.foo is a Debezium Server setting"));
    }
}
