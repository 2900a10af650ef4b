//! Parsing the text form of composite (row) values, `record_out`'s `(1,"a b",)`.

use std::borrow::Cow;

/// Splits a record literal into its fields. An empty unquoted field is SQL NULL; `""` is the
/// empty string. Inside and outside quotes a backslash takes the next character literally, and
/// inside quotes `""` is one quote, as `record_in` reads them.
///
/// `()` yields one NULL field (it is how a one-column row holding NULL is printed); callers
/// with zero attributes accept that as an empty row.
pub(crate) fn parse_record(text: &[u8]) -> Option<Vec<Option<Cow<'_, [u8]>>>> {
    let text = crate::types::numeric::trim_ascii(text);
    let inner = text.strip_prefix(b"(")?.strip_suffix(b")")?;
    let mut fields = Vec::new();
    let mut i = 0;
    loop {
        // One field: up to an unquoted ',' or the end.
        let start = i;
        let mut quoted_any = false;
        let mut in_quotes = false;
        let mut owned: Option<Vec<u8>> = None;
        while i < inner.len() {
            let c = inner[i];
            if !in_quotes && c == b',' {
                break;
            }
            match c {
                b'\\' => {
                    let next = *inner.get(i + 1)?;
                    owned
                        .get_or_insert_with(|| inner[start..i].to_vec())
                        .push(next);
                    i += 2;
                    continue;
                }
                b'"' => {
                    if in_quotes && inner.get(i + 1) == Some(&b'"') {
                        owned
                            .get_or_insert_with(|| inner[start..i].to_vec())
                            .push(b'"');
                        i += 2;
                        continue;
                    }
                    // Entering or leaving quotes drops the quote character itself.
                    owned.get_or_insert_with(|| inner[start..i].to_vec());
                    quoted_any = true;
                    in_quotes = !in_quotes;
                    i += 1;
                    continue;
                }
                _ => {
                    if let Some(buf) = owned.as_mut() {
                        buf.push(c);
                    }
                    i += 1;
                }
            }
        }
        if in_quotes {
            return None;
        }
        let field = match owned {
            Some(buf) => Some(Cow::Owned(buf)),
            None if !quoted_any && i == start => None,
            None => Some(Cow::Borrowed(&inner[start..i])),
        };
        fields.push(field);
        if i >= inner.len() {
            break;
        }
        // Skip the ','.
        i += 1;
    }
    Some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Option<Vec<Option<String>>> {
        parse_record(s.as_bytes()).map(|v| {
            v.into_iter()
                .map(|f| f.map(|b| String::from_utf8_lossy(&b).into_owned()))
                .collect()
        })
    }

    fn s(v: &str) -> Option<String> {
        Some(v.to_owned())
    }

    #[test]
    fn fields() {
        assert_eq!(p(r#"(1,"a b",)"#).unwrap(), vec![s("1"), s("a b"), None]);
        assert_eq!(p("()").unwrap(), vec![None]);
        assert_eq!(p(r#"("")"#).unwrap(), vec![s("")]);
        assert_eq!(p(r#"(,)"#).unwrap(), vec![None, None]);
        assert_eq!(
            p(r#"("a ""q"" \\b",x)"#).unwrap(),
            vec![s(r#"a "q" \b"#), s("x")]
        );
        assert_eq!(
            p(r#"(1,"(2,""x y"")")"#).unwrap(),
            vec![s("1"), s(r#"(2,"x y")"#)]
        );
        assert_eq!(
            p(r#"("{1,2}","{""a b""}")"#).unwrap(),
            vec![s("{1,2}"), s(r#"{"a b"}"#)]
        );
        assert_eq!(p(r"(a\,b)").unwrap(), vec![s("a,b")]);
    }

    #[test]
    fn malformed() {
        for bad in ["", "(", "1,2", "(\"a)", "(a\\)", "x(1)"] {
            assert!(p(bad).is_none(), "{bad:?}");
        }
    }
}
