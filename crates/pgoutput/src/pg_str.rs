//! Zero-copy UTF-8 strings.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use bytes::Bytes;

/// A string from the wire (schema, table, column, type names, message prefixes, GIDs): a
/// `Bytes` slice of the input, checked to be UTF-8 when it was decoded.
///
/// Because this crate forbids `unsafe`, [`as_str`](PgStr::as_str) re-runs the (fast, and for
/// identifiers short) UTF-8 check instead of trusting it; it cannot fail for a value built by
/// this crate. Compares equal to `str`, `&str` and `String`, hashes like `str` (so
/// `HashMap<PgStr, _>` can be queried with `&str`), and `Debug`/`Display` like `str`.
///
/// ```
/// use pgoutput::PgStr;
///
/// let s = PgStr::from_static("Order Items");
/// assert_eq!(s, "Order Items");
/// assert_eq!(s.as_str().len(), 11);
/// assert_eq!(format!("{s} / {s:?}"), r#"Order Items / "Order Items""#);
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct PgStr(Bytes);

impl PgStr {
    /// Wraps `bytes` if they are valid UTF-8.
    pub fn from_utf8(bytes: Bytes) -> Result<Self, std::str::Utf8Error> {
        std::str::from_utf8(&bytes)?;
        Ok(PgStr(bytes))
    }

    /// Wraps a static string without copying.
    pub const fn from_static(s: &'static str) -> Self {
        PgStr(Bytes::from_static(s.as_bytes()))
    }

    /// The string.
    pub fn as_str(&self) -> &str {
        // Validated on construction and `Bytes` is immutable, so the fallback is unreachable.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The UTF-8 bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The underlying `Bytes` (sharing the input buffer).
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl Deref for PgStr {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for PgStr {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for PgStr {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Borrow<str> for PgStr {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl Hash for PgStr {
    // Must match `str`'s hash for the `Borrow<str>` impl to be sound for maps.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Display for PgStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl fmt::Debug for PgStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl From<&'static str> for PgStr {
    fn from(s: &'static str) -> Self {
        PgStr::from_static(s)
    }
}

impl From<String> for PgStr {
    fn from(s: String) -> Self {
        PgStr(Bytes::from(s))
    }
}

impl TryFrom<Bytes> for PgStr {
    type Error = std::str::Utf8Error;

    fn try_from(bytes: Bytes) -> Result<Self, Self::Error> {
        PgStr::from_utf8(bytes)
    }
}

impl From<PgStr> for Bytes {
    fn from(s: PgStr) -> Self {
        s.0
    }
}

impl PartialEq<str> for PgStr {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for PgStr {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<String> for PgStr {
    fn eq(&self, other: &String) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<PgStr> for str {
    fn eq(&self, other: &PgStr) -> bool {
        other == self
    }
}

impl PartialEq<PgStr> for &str {
    fn eq(&self, other: &PgStr) -> bool {
        other == *self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn map_lookup_by_str() {
        let mut m = HashMap::new();
        m.insert(PgStr::from_utf8(Bytes::from("zoë")).unwrap(), 1);
        assert_eq!(m.get("zoë"), Some(&1));
    }

    #[test]
    fn rejects_invalid_utf8() {
        assert!(PgStr::from_utf8(Bytes::from_static(b"\xc3")).is_err());
        assert!(PgStr::try_from(Bytes::from_static(b"ok")).is_ok());
    }

    #[test]
    fn comparisons() {
        let s = PgStr::from("public");
        assert!(s == "public");
        assert!("public" == s);
        let owned: String = "public".into();
        assert!(s == owned);
        assert!(s.starts_with("pub"));
        assert_eq!(PgStr::default(), "");
    }
}
