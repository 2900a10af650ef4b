//! The little JSON handling the transforms need: the members of an object in order, each
//! kept as the exact text the encoder wrote (nothing is re-printed, so numbers and strings
//! stay byte-identical).

use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

/// The members of a JSON object, in order, values as written.
pub(crate) struct Object<'a>(pub Vec<(String, &'a RawValue)>);

impl<'a> Object<'a> {
    /// Parses `text` as an object; `None` when it is not one.
    pub(crate) fn parse(text: &'a str) -> Option<Object<'a>> {
        let mut de = serde_json::Deserializer::from_str(text);
        let members = de.deserialize_map(MembersVisitor).ok()?;
        de.end().ok()?;
        Some(Object(members))
    }

    /// Writes the object back, members in order.
    pub(crate) fn render(&self) -> String {
        let mut out = String::from("{");
        for (n, (k, v)) in self.0.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            push_member(&mut out, k, v.get());
        }
        out.push('}');
        out
    }

    /// `{"schema": S, "payload": P}` (Kafka Connect's JSON with schemas) -> `(S, P)`.
    pub(crate) fn as_wrapped(&self) -> Option<(&'a str, &'a str)> {
        match (self.0.len(), self.get("schema"), self.get("payload")) {
            (2, Some(s), Some(p)) => Some((s, p)),
            _ => None,
        }
    }

    /// The text of member `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&'a str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.get())
    }
}

struct MembersVisitor;

impl<'de> Visitor<'de> for MembersVisitor {
    type Value = Vec<(String, &'de RawValue)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, &'de RawValue>()? {
            out.push((k, v));
        }
        Ok(out)
    }
}

/// The elements of a JSON array, as written.
pub(crate) fn array(text: &str) -> Option<Vec<&RawValue>> {
    serde_json::from_str(text).ok()
}

/// `"key":value` (the value's JSON text as it is).
pub(crate) fn push_member(out: &mut String, key: &str, value: &str) {
    push_string(out, key);
    out.push(':');
    out.push_str(value);
}

/// A JSON string literal.
pub(crate) fn push_string(out: &mut String, s: &str) {
    let mut bytes = Vec::with_capacity(s.len() + 2);
    crate::types::write_json_string(&mut bytes, s);
    // write_json_string escapes into valid UTF-8.
    out.push_str(std::str::from_utf8(&bytes).expect("JSON strings are UTF-8"));
}

/// The JSON string literal for `s`.
pub(crate) fn string(s: &str) -> String {
    let mut out = String::new();
    push_string(&mut out, s);
    out
}

/// The text of a JSON string value (`None` for anything else, `null` included).
pub(crate) fn as_str(json: &str) -> Option<String> {
    serde_json::from_str::<String>(json).ok()
}

/// Appends members to an object's text: `{"a":1}` + `("b","2")` -> `{"a":1,"b":2}`.
pub(crate) fn append_members(object: &str, members: &[(String, String)]) -> String {
    let body = object.trim_end();
    let body = body.strip_suffix('}').unwrap_or(body);
    let mut out = String::with_capacity(object.len() + 32 * members.len());
    out.push_str(body);
    let mut empty = body.trim_end().ends_with('{');
    for (k, v) in members {
        if !empty {
            out.push(',');
        }
        empty = false;
        push_member(&mut out, k, v);
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_keep_their_text_and_order() {
        let o = Object::parse(r#"{"b":1.50,"a":{"x":[1,2]},"c":"\u00e9"}"#).unwrap();
        let keys: Vec<&str> = o.0.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["b", "a", "c"]);
        assert_eq!(o.get("b"), Some("1.50"));
        assert_eq!(o.get("a"), Some(r#"{"x":[1,2]}"#));
        assert!(Object::parse("[1]").is_none());
        assert!(Object::parse("null").is_none());
        assert_eq!(as_str(r#""x\"y""#).as_deref(), Some("x\"y"));
        assert_eq!(as_str("null"), None);
    }

    #[test]
    fn members_are_appended() {
        let m = [("__op".to_string(), "\"c\"".to_string())];
        assert_eq!(append_members(r#"{"id":1}"#, &m), r#"{"id":1,"__op":"c"}"#);
        assert_eq!(append_members("{}", &m), r#"{"__op":"c"}"#);
    }
}
