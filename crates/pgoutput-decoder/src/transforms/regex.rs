//! Java's `Pattern`/`Matcher` as Kafka Connect's transforms use them, on the `regex` crate.
//!
//! - `matches()` matches the whole topic: the pattern is compiled a second time as
//!   `^(?:pattern)$`;
//! - `replaceFirst(replacement)` replaces the first (leftmost) match, like Java's `find()`;
//! - the replacement is Java's: `$1` (as many digits as still name a group: `$12` is group 12
//!   only when there are 12 groups, else group 1 and a `2`), `${name}`, and `\` escaping the
//!   next character (`\$` is a dollar). The `regex` crate's own replacement syntax differs
//!   (`$1a` would be a group named `1a` there), so replacements are expanded here.
//!
//! The pattern syntax is the `regex` crate's, which covers what topic patterns use; Java-only
//! constructs (look-around, back-references, possessive quantifiers) are refused at start-up
//! with the `regex` crate's error.

use regex::Regex;

use crate::{Error, Result};

/// A pattern with Java's matching and replacement semantics.
#[derive(Debug, Clone)]
pub(crate) struct JavaRegex {
    whole: Regex,
    first: Regex,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Group(usize),
    Named(String),
}

/// A parsed Java replacement string.
#[derive(Debug, Clone)]
pub(crate) struct Replacement(Vec<Part>);

impl JavaRegex {
    pub(crate) fn new(key: &str, pattern: &str) -> Result<JavaRegex> {
        let compile = |p: &str| {
            Regex::new(p).map_err(|e| {
                Error::config(format!(
                    "{key}: not a supported regular expression ({pattern:?}): {e}"
                ))
            })
        };
        Ok(JavaRegex {
            whole: compile(&format!("^(?:{pattern})$"))?,
            first: compile(pattern)?,
        })
    }

    /// Java's `matcher(text).matches()`.
    pub(crate) fn matches(&self, text: &str) -> bool {
        self.whole.is_match(text)
    }

    /// Parses a Java replacement for this pattern; refuses references to groups it lacks.
    pub(crate) fn replacement(&self, key: &str, text: &str) -> Result<Replacement> {
        let groups = self.first.captures_len() - 1;
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        let err = |what: String| Error::config(format!("{key}={text:?}: {what}"));
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(n) => literal.push(n),
                    None => return Err(err("character to be escaped is missing".into())),
                },
                '$' => {
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    match chars.next() {
                        Some('{') => {
                            let name: String = chars.by_ref().take_while(|&c| c != '}').collect();
                            if self.first.capture_names().flatten().all(|n| n != name) {
                                return Err(err(format!("no group named {name:?}")));
                            }
                            parts.push(Part::Named(name));
                        }
                        Some(d) if d.is_ascii_digit() => {
                            let mut n = d.to_digit(10).unwrap_or(0) as usize;
                            if n > groups {
                                return Err(err(format!("no group {n}")));
                            }
                            while let Some(next) = chars.peek().and_then(|c| c.to_digit(10)) {
                                let longer = n * 10 + next as usize;
                                if longer > groups {
                                    break;
                                }
                                n = longer;
                                chars.next();
                            }
                            parts.push(Part::Group(n));
                        }
                        _ => return Err(err("illegal group reference after $".into())),
                    }
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(Replacement(parts))
    }

    /// Java's `matcher(text).replaceFirst(replacement)`.
    pub(crate) fn replace_first(&self, text: &str, replacement: &Replacement) -> String {
        let Some(caps) = self.first.captures(text) else {
            return text.to_string();
        };
        let m = caps.get(0).expect("group 0 always matches");
        let mut out = String::with_capacity(text.len() + 16);
        out.push_str(&text[..m.start()]);
        for part in &replacement.0 {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Group(n) => out.push_str(caps.get(*n).map_or("", |g| g.as_str())),
                Part::Named(n) => out.push_str(caps.name(n).map_or("", |g| g.as_str())),
            }
        }
        out.push_str(&text[m.end()..]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replace(pattern: &str, replacement: &str, text: &str) -> Option<String> {
        let re = JavaRegex::new("k", pattern).unwrap();
        let r = re.replacement("r", replacement).unwrap();
        re.matches(text).then(|| re.replace_first(text, &r))
    }

    #[test]
    fn java_matching_and_replacement() {
        assert_eq!(
            replace(r"dbz\.public\.(.*)", "cdc.$1", "dbz.public.orders").as_deref(),
            Some("cdc.orders")
        );
        // matches() is anchored at both ends.
        assert_eq!(replace(r"public\.(.*)", "x", "dbz.public.orders"), None);
        assert_eq!(replace(r"dbz\.public", "x", "dbz.public.orders"), None);
        // $1 followed by letters is group 1, then the letters (the regex crate reads $1a).
        assert_eq!(
            replace(r"(.*)\.(.*)", "$2_$1a", "x.y").as_deref(),
            Some("y_xa")
        );
        // $12 with fewer than 12 groups is $1 then "2".
        assert_eq!(replace(r"(a)(b)", "$12", "ab").as_deref(), Some("a2"));
        assert_eq!(replace(r"(?P<t>.*)", r"\$${t}", "t").as_deref(), Some("$t"));
        // replaceFirst uses find(): the first alternative that matches at 0, as in Java.
        assert_eq!(replace("a|ab", "X", "ab").as_deref(), Some("Xb"));
        let re = JavaRegex::new("k", "(a)").unwrap();
        assert!(re.replacement("r", "$2").is_err());
        assert!(re.replacement("r", "$x").is_err());
        assert!(re.replacement("r", "${nope}").is_err());
        let e = JavaRegex::new("k", "(?<=a)b").unwrap_err();
        assert!(
            e.to_string()
                .contains("k: not a supported regular expression"),
            "{e}"
        );
    }
}
