//! Parsing the `hstore` extension's text form: `"k1"=>"v1", "k2"=>NULL`.

use std::borrow::Cow;

type Pair<'a> = (Cow<'a, [u8]>, Option<Cow<'a, [u8]>>);

struct Reader<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn skip_ws(&mut self) {
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    /// A quoted (`"..."` with backslash escapes) or bare token. Returns the token and whether
    /// it was quoted.
    fn token(&mut self) -> Option<(Cow<'a, [u8]>, bool)> {
        if self.s.get(self.pos) == Some(&b'"') {
            self.pos += 1;
            let start = self.pos;
            let mut owned: Option<Vec<u8>> = None;
            loop {
                let c = *self.s.get(self.pos)?;
                match c {
                    b'"' => {
                        let tok = match owned {
                            Some(v) => Cow::Owned(v),
                            None => Cow::Borrowed(&self.s[start..self.pos]),
                        };
                        self.pos += 1;
                        return Some((tok, true));
                    }
                    b'\\' => {
                        let next = *self.s.get(self.pos + 1)?;
                        owned
                            .get_or_insert_with(|| self.s[start..self.pos].to_vec())
                            .push(next);
                        self.pos += 2;
                    }
                    _ => {
                        if let Some(v) = owned.as_mut() {
                            v.push(c);
                        }
                        self.pos += 1;
                    }
                }
            }
        }
        let start = self.pos;
        let mut owned: Option<Vec<u8>> = None;
        while let Some(&c) = self.s.get(self.pos) {
            if c.is_ascii_whitespace() || c == b',' || c == b'=' {
                break;
            }
            if c == b'\\' {
                let next = *self.s.get(self.pos + 1)?;
                owned
                    .get_or_insert_with(|| self.s[start..self.pos].to_vec())
                    .push(next);
                self.pos += 2;
                continue;
            }
            if let Some(v) = owned.as_mut() {
                v.push(c);
            }
            self.pos += 1;
        }
        if self.pos == start {
            return None;
        }
        Some((
            match owned {
                Some(v) => Cow::Owned(v),
                None => Cow::Borrowed(&self.s[start..self.pos]),
            },
            false,
        ))
    }
}

/// Splits an `hstore` value into key/value pairs in the order written (PostgreSQL prints
/// them sorted by key length, then bytes). An unquoted `NULL` value is SQL NULL.
pub(crate) fn parse_hstore(text: &[u8]) -> Option<Vec<Pair<'_>>> {
    let mut r = Reader { s: text, pos: 0 };
    let mut pairs = Vec::new();
    r.skip_ws();
    while r.pos < text.len() {
        let (key, _) = r.token()?;
        r.skip_ws();
        if !r.s[r.pos..].starts_with(b"=>") {
            return None;
        }
        r.pos += 2;
        r.skip_ws();
        let (value, quoted) = r.token()?;
        let value = if !quoted && value.eq_ignore_ascii_case(b"NULL") {
            None
        } else {
            Some(value)
        };
        pairs.push((key, value));
        r.skip_ws();
        match r.s.get(r.pos) {
            None => break,
            Some(b',') => {
                r.pos += 1;
                r.skip_ws();
                if r.pos >= text.len() {
                    return None;
                }
            }
            Some(_) => return None,
        }
    }
    Some(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Option<Vec<(String, Option<String>)>> {
        parse_hstore(s.as_bytes()).map(|v| {
            v.into_iter()
                .map(|(k, v)| {
                    (
                        String::from_utf8_lossy(&k).into_owned(),
                        v.map(|v| String::from_utf8_lossy(&v).into_owned()),
                    )
                })
                .collect()
        })
    }

    #[test]
    fn pairs() {
        assert_eq!(p("").unwrap(), vec![]);
        assert_eq!(
            p(r#""a"=>"1", "key 2"=>NULL"#).unwrap(),
            vec![("a".into(), Some("1".into())), ("key 2".into(), None)]
        );
        assert_eq!(
            p(r#""q\"uote"=>"back\\slash", "n"=>"NULL""#).unwrap(),
            vec![
                ("q\"uote".into(), Some("back\\slash".into())),
                ("n".into(), Some("NULL".into()))
            ]
        );
        assert_eq!(
            p("a=>b,c=>NULL").unwrap(),
            vec![("a".into(), Some("b".into())), ("c".into(), None)]
        );
    }

    #[test]
    fn malformed() {
        for bad in [
            "\"a\"",
            "\"a\"=>",
            "a=>b,",
            "\"a\"=>\"b",
            "a b",
            "a=>b c=>d",
            "\"a\"=>\"b\\",
        ] {
            assert!(p(bad).is_none(), "{bad:?}");
        }
    }
}
