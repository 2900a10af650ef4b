//! A streaming parser for PostgreSQL's array text form (`array_out`): `{1,2,3}`,
//! `{"a b","\"q\"",NULL}`, `{{1,2},{3,4}}`, `{}`, and the `[0:1]={...}` form used when a lower
//! bound is not 1. Elements are handed to a visitor as they are read, so converting an array
//! needs no intermediate tree.

use crate::Error;

/// Receives the structure of an array as it is parsed.
pub(crate) trait ArrayVisitor {
    /// A `{` opens a (sub-)array.
    fn begin_array(&mut self) -> Result<(), Error>;
    /// The matching `}`.
    fn end_array(&mut self) -> Result<(), Error>;
    /// One element, unescaped; `None` for an unquoted `NULL`.
    fn element(&mut self, value: Option<&[u8]>) -> Result<(), Error>;
}

/// Why parsing stopped.
#[derive(Debug)]
pub(crate) enum ArrayFailure {
    /// The text is not a well-formed array.
    Syntax(&'static str),
    /// The visitor rejected an element.
    Visitor(Error),
}

impl From<Error> for ArrayFailure {
    fn from(e: Error) -> Self {
        ArrayFailure::Visitor(e)
    }
}

/// PostgreSQL's `MAXDIM`.
const MAX_DIMENSIONS: usize = 6;

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    delim: u8,
    scratch: Vec<u8>,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn level<V: ArrayVisitor>(&mut self, v: &mut V, depth: usize) -> Result<(), ArrayFailure> {
        if depth > MAX_DIMENSIONS {
            return Err(ArrayFailure::Syntax("more than 6 dimensions"));
        }
        // The caller has checked for '{'.
        self.pos += 1;
        v.begin_array()?;
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            v.end_array()?;
            return Ok(());
        }
        loop {
            self.skip_ws();
            match self.peek() {
                None => return Err(ArrayFailure::Syntax("unexpected end of array")),
                Some(b'{') => self.level(v, depth + 1)?,
                Some(b'"') => self.quoted(v)?,
                Some(b'}') => return Err(ArrayFailure::Syntax("missing element")),
                Some(_) => self.unquoted(v)?,
            }
            self.skip_ws();
            match self.peek() {
                Some(b'}') => {
                    self.pos += 1;
                    v.end_array()?;
                    return Ok(());
                }
                Some(c) if c == self.delim => self.pos += 1,
                None => return Err(ArrayFailure::Syntax("unexpected end of array")),
                Some(_) => return Err(ArrayFailure::Syntax("unexpected character after element")),
            }
        }
    }

    fn quoted<V: ArrayVisitor>(&mut self, v: &mut V) -> Result<(), ArrayFailure> {
        self.pos += 1;
        let start = self.pos;
        // Fast path: no backslash before the closing quote.
        while let Some(c) = self.peek() {
            match c {
                b'"' => {
                    let end = self.pos;
                    self.pos += 1;
                    v.element(Some(&self.s[start..end]))?;
                    return Ok(());
                }
                b'\\' => break,
                _ => self.pos += 1,
            }
        }
        let mut buf = std::mem::take(&mut self.scratch);
        buf.clear();
        buf.extend_from_slice(&self.s[start..self.pos]);
        loop {
            match self.peek() {
                None => {
                    self.scratch = buf;
                    return Err(ArrayFailure::Syntax("unterminated quoted element"));
                }
                Some(b'\\') => {
                    let Some(&next) = self.s.get(self.pos + 1) else {
                        self.scratch = buf;
                        return Err(ArrayFailure::Syntax("unterminated quoted element"));
                    };
                    buf.push(next);
                    self.pos += 2;
                }
                Some(b'"') => {
                    self.pos += 1;
                    break;
                }
                Some(c) => {
                    buf.push(c);
                    self.pos += 1;
                }
            }
        }
        let r = v.element(Some(&buf));
        self.scratch = buf;
        r.map_err(ArrayFailure::Visitor)
    }

    fn unquoted<V: ArrayVisitor>(&mut self, v: &mut V) -> Result<(), ArrayFailure> {
        let start = self.pos;
        let mut escaped = false;
        while let Some(c) = self.peek() {
            if c == self.delim || c == b'}' {
                break;
            }
            if c == b'{' || c == b'"' {
                return Err(ArrayFailure::Syntax("unexpected character in element"));
            }
            if c == b'\\' {
                escaped = true;
                self.pos += 2;
                if self.pos > self.s.len() {
                    return Err(ArrayFailure::Syntax("unterminated escape"));
                }
                continue;
            }
            self.pos += 1;
        }
        let raw = &self.s[start..self.pos];
        if !escaped {
            let mut end = raw.len();
            while end > 0 && raw[end - 1].is_ascii_whitespace() {
                end -= 1;
            }
            let raw = &raw[..end];
            if raw.is_empty() {
                return Err(ArrayFailure::Syntax("missing element"));
            }
            if raw.eq_ignore_ascii_case(b"NULL") {
                v.element(None)?;
            } else {
                v.element(Some(raw))?;
            }
            return Ok(());
        }
        let mut buf = std::mem::take(&mut self.scratch);
        buf.clear();
        // Trailing unescaped whitespace is trimmed; escaped characters are kept verbatim.
        let mut keep = 0;
        let mut i = 0;
        while i < raw.len() {
            if raw[i] == b'\\' {
                buf.push(raw[i + 1]);
                keep = buf.len();
                i += 2;
            } else {
                buf.push(raw[i]);
                if !raw[i].is_ascii_whitespace() {
                    keep = buf.len();
                }
                i += 1;
            }
        }
        buf.truncate(keep);
        let r = v.element(Some(&buf));
        self.scratch = buf;
        r.map_err(ArrayFailure::Visitor)
    }
}

/// Parses `text` as an array whose elements are separated by `delim` (`,` for every built-in
/// type but `box`, which uses `;`), calling `v` for each part.
pub(crate) fn parse_array<V: ArrayVisitor>(
    text: &[u8],
    delim: u8,
    v: &mut V,
) -> Result<(), ArrayFailure> {
    let mut p = Parser {
        s: text,
        pos: 0,
        delim,
        scratch: Vec::new(),
    };
    p.skip_ws();
    if p.peek() == Some(b'[') {
        // Dimension decoration, e.g. "[0:2]=" or "[1:2][1:3]=": one "[lower:upper]" per
        // dimension, then "=".
        while p.peek() == Some(b'[') {
            p.pos += 1;
            for end in [b':', b']'] {
                if matches!(p.peek(), Some(b'-' | b'+')) {
                    p.pos += 1;
                }
                let start = p.pos;
                while matches!(p.peek(), Some(b'0'..=b'9')) {
                    p.pos += 1;
                }
                if p.pos == start || p.peek() != Some(end) {
                    return Err(ArrayFailure::Syntax("malformed dimension decoration"));
                }
                p.pos += 1;
            }
        }
        if p.peek() != Some(b'=') {
            return Err(ArrayFailure::Syntax("malformed dimension decoration"));
        }
        p.pos += 1;
        p.skip_ws();
    }
    if p.peek() != Some(b'{') {
        return Err(ArrayFailure::Syntax("array must start with \"{\""));
    }
    p.level(v, 1)?;
    p.skip_ws();
    if p.pos != text.len() {
        return Err(ArrayFailure::Syntax("junk after closing \"}\""));
    }
    Ok(())
}

/// Collects the elements of a one-dimensional text array (e.g. `name[]` catalog columns).
/// Nested arrays are flattened.
pub(crate) fn parse_flat_text_array(text: &str) -> Option<Vec<Option<String>>> {
    struct Collect(Vec<Option<String>>);
    impl ArrayVisitor for Collect {
        fn begin_array(&mut self) -> Result<(), Error> {
            Ok(())
        }
        fn end_array(&mut self) -> Result<(), Error> {
            Ok(())
        }
        fn element(&mut self, value: Option<&[u8]>) -> Result<(), Error> {
            self.0
                .push(value.map(|v| String::from_utf8_lossy(v).into_owned()));
            Ok(())
        }
    }
    let mut c = Collect(Vec::new());
    parse_array(text.as_bytes(), b',', &mut c).ok()?;
    Some(c.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Renders the visited structure compactly: `[a,b,null,[c]]`.
    struct Render(String);
    impl ArrayVisitor for Render {
        fn begin_array(&mut self) -> Result<(), Error> {
            if self.0.ends_with(|c| c != '[') && !self.0.is_empty() {
                self.0.push(',');
            }
            self.0.push('[');
            Ok(())
        }
        fn end_array(&mut self) -> Result<(), Error> {
            self.0.push(']');
            Ok(())
        }
        fn element(&mut self, value: Option<&[u8]>) -> Result<(), Error> {
            if !self.0.ends_with('[') {
                self.0.push(',');
            }
            match value {
                None => self.0.push_str("null"),
                Some(v) => {
                    self.0.push('<');
                    self.0.push_str(&String::from_utf8_lossy(v));
                    self.0.push('>');
                }
            }
            Ok(())
        }
    }

    fn render(s: &str, delim: u8) -> Option<String> {
        let mut r = Render(String::new());
        parse_array(s.as_bytes(), delim, &mut r).ok()?;
        Some(r.0)
    }

    #[test]
    fn shapes() {
        assert_eq!(render("{}", b',').unwrap(), "[]");
        assert_eq!(render("{1,2,3}", b',').unwrap(), "[<1>,<2>,<3>]");
        assert_eq!(
            render(r#"{"a","b c","\"q\"",NULL}"#, b',').unwrap(),
            r#"[<a>,<b c>,<"q">,null]"#
        );
        assert_eq!(
            render("{{1,2},{3,4}}", b',').unwrap(),
            "[[<1>,<2>],[<3>,<4>]]"
        );
        assert_eq!(
            render("{{NULL,\"NULL\"},{\"\",x}}", b',').unwrap(),
            "[[null,<NULL>],[<>,<x>]]"
        );
        assert_eq!(render("[0:1]={7,8}", b',').unwrap(), "[<7>,<8>]");
        assert_eq!(
            render("{(1,2),(3,4);(5,6),(7,8)}", b';').unwrap(),
            "[<(1,2),(3,4)>,<(5,6),(7,8)>]"
        );
        assert_eq!(render("{ a b , c }", b',').unwrap(), "[<a b>,<c>]");
        assert_eq!(render(r"{a\,b,c\ }", b',').unwrap(), "[<a,b>,<c >]");
        assert_eq!(
            render(r#"{"back\\slash"}"#, b',').unwrap(),
            r"[<back\slash>]"
        );
    }

    #[test]
    fn malformed() {
        for bad in [
            "",
            "1,2",
            "{",
            "{1,2",
            "{1,,2}",
            "{1}x",
            "{\"a}",
            "{a\"b}",
            "{{{{{{{1}}}}}}}",
            "[1:2={1}",
            "{a\\",
        ] {
            assert!(render(bad, b',').is_none(), "{bad:?}");
        }
    }

    #[test]
    fn flat_text() {
        assert_eq!(
            parse_flat_text_array("{sad,ok,\"very happy\"}").unwrap(),
            vec![
                Some("sad".to_owned()),
                Some("ok".to_owned()),
                Some("very happy".to_owned())
            ]
        );
    }
}
