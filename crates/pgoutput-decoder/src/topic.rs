//! Debezium's topic names: the parts joined with `.` (blank parts left out), then sanitised as
//! Debezium's `AbstractTopicNamingStrategy` does, so that every name is a valid Kafka topic.
//!
//! Kafka allows `[A-Za-z0-9._-]` and at most 249 characters. Debezium replaces every other
//! character with `_` — per UTF-16 unit, as Java iterates a string, so a character outside
//! the Basic Multilingual Plane becomes `__` — cuts the name at 249, and turns the names `.`
//! and `..` into `_` and `__`. A table `"Tåble With Spaces"` of schema `public` with prefix
//! `dbz` goes to `dbz.public.T_ble_With_Spaces`.

/// The longest topic name Kafka accepts.
pub const MAX_TOPIC_NAME_LENGTH: usize = 249;

/// The topic name of `parts` (prefix, schema, table, ...), as Debezium names it.
pub fn topic_name(parts: &[&str]) -> String {
    let joined = parts
        .iter()
        .filter(|p| !p.trim().is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(".");
    let sanitised = sanitise(&joined);
    if sanitised != joined {
        tracing::warn!(
            "Topic '{joined}' name isn't a valid topic name, replacing it with '{sanitised}'."
        );
    }
    sanitised
}

/// `name` with every character Kafka does not allow replaced by `_` (see the module docs).
pub fn sanitise(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
            out.push(c);
        } else {
            // One `_` per UTF-16 unit of the character.
            for _ in 0..c.len_utf16() {
                out.push('_');
            }
        }
    }
    // Only ASCII is left: cutting at a byte is cutting at a character.
    out.truncate(MAX_TOPIC_NAME_LENGTH);
    match out.as_str() {
        "." => "_".to_string(),
        ".." => "__".to_string(),
        _ => out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_names_are_kept() {
        assert_eq!(
            topic_name(&["dbz", "public", "orders"]),
            "dbz.public.orders"
        );
        assert_eq!(topic_name(&["a-b", "S_1", "T.2"]), "a-b.S_1.T.2");
    }

    #[test]
    fn other_characters_become_underscores_per_utf16_unit() {
        assert_eq!(
            topic_name(&["dbz", "public", "Tåble With Spaces"]),
            "dbz.public.T_ble_With_Spaces"
        );
        assert_eq!(topic_name(&["dbz", "public", "a\"b$c"]), "dbz.public.a_b_c");
        // Outside the BMP: a surrogate pair in Java, two underscores.
        assert_eq!(topic_name(&["dbz", "s", "x😀y"]), "dbz.s.x__y");
        assert_eq!(topic_name(&["dbz", "s", "日本"]), "dbz.s.__");
    }

    #[test]
    fn blank_parts_are_left_out() {
        assert_eq!(topic_name(&["dbz", "", "t"]), "dbz.t");
        assert_eq!(topic_name(&["dbz", " ", "t"]), "dbz.t");
    }

    #[test]
    fn long_names_are_cut_and_dot_names_replaced() {
        let long = "x".repeat(300);
        let name = topic_name(&["dbz", "public", &long]);
        assert_eq!(name.len(), MAX_TOPIC_NAME_LENGTH);
        assert!(name.starts_with("dbz.public.xxx"));
        assert_eq!(sanitise("."), "_");
        assert_eq!(sanitise(".."), "__");
        assert_eq!(sanitise("..."), "...");
    }
}
