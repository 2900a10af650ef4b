//! Binary data: decoding `bytea` output (hex and escape formats), encoding bytes per
//! `binary.handling.mode`, and Debezium's little-endian `Bits` form of `bit`/`varbit`.

use base64::Engine as _;

use super::options::BinaryHandlingMode;

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes `bytea` output into `out`: the hex format (`\xdeadbeef`, the server default) or the
/// legacy escape format (`abc\000\\`). Returns `None` for malformed input.
pub(crate) fn decode_bytea_into(text: &[u8], out: &mut Vec<u8>) -> Option<()> {
    if let Some(hex) = text.strip_prefix(b"\\x") {
        out.reserve(hex.len() / 2);
        let mut i = 0;
        while i < hex.len() {
            // byteain tolerates whitespace between digit pairs.
            if hex[i].is_ascii_whitespace() {
                i += 1;
                continue;
            }
            let hi = hex_value(hex[i])?;
            let lo = hex_value(*hex.get(i + 1)?)?;
            out.push(hi << 4 | lo);
            i += 2;
        }
        return Some(());
    }
    let mut i = 0;
    out.reserve(text.len());
    while i < text.len() {
        let b = text[i];
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        match text.get(i + 1) {
            Some(b'\\') => {
                out.push(b'\\');
                i += 2;
            }
            Some(b'0'..=b'3') => {
                let oct = text.get(i + 1..i + 4)?;
                if !oct.iter().all(|d| (b'0'..=b'7').contains(d)) {
                    return None;
                }
                out.push((oct[0] - b'0') << 6 | (oct[1] - b'0') << 3 | (oct[2] - b'0'));
                i += 4;
            }
            _ => return None,
        }
    }
    Some(())
}

/// Decodes `bytea` output into a new vector.
pub(crate) fn decode_bytea(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    decode_bytea_into(text, &mut out)?;
    Some(out)
}

/// Appends standard base64 (with padding) of `bytes`, without quotes.
pub(crate) fn push_base64(out: &mut Vec<u8>, bytes: &[u8]) {
    push_base64_with(out, bytes, &base64::engine::general_purpose::STANDARD);
}

/// Appends URL-safe base64 (with padding, like `java.util.Base64.getUrlEncoder()`).
pub(crate) fn push_base64_url_safe(out: &mut Vec<u8>, bytes: &[u8]) {
    push_base64_with(out, bytes, &base64::engine::general_purpose::URL_SAFE);
}

fn push_base64_with(out: &mut Vec<u8>, bytes: &[u8], engine: &base64::engine::GeneralPurpose) {
    let start = out.len();
    let len = bytes.len().div_ceil(3) * 4;
    out.resize(start + len, 0);
    let written = engine.encode_slice(bytes, &mut out[start..]).unwrap_or(0);
    out.truncate(start + written);
}

/// Appends lowercase hex digits of `bytes`.
pub(crate) fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.reserve(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 15)]);
    }
}

/// Appends `bytes` as a quoted JSON string in the given `binary.handling.mode` (every mode is a
/// string in JSON; `bytes` is base64 because that is how Kafka's JsonConverter writes BYTES).
pub(crate) fn write_binary_json(out: &mut Vec<u8>, bytes: &[u8], mode: BinaryHandlingMode) {
    out.push(b'"');
    match mode {
        BinaryHandlingMode::Bytes | BinaryHandlingMode::Base64 => push_base64(out, bytes),
        BinaryHandlingMode::Base64UrlSafe => push_base64_url_safe(out, bytes),
        BinaryHandlingMode::Hex => push_hex(out, bytes),
    }
    out.push(b'"');
}

/// Debezium's `Bits` encoding of a bit string such as `10100`: the string read as a binary
/// number (first character most significant), written little-endian with only as many bytes as
/// the highest set bit needs (an all-zero string gives no bytes). `'11'::bit(2)` → `[3]`.
pub(crate) fn bits_to_le_bytes(text: &[u8], out: &mut Vec<u8>) -> Option<()> {
    if !text.iter().all(|b| *b == b'0' || *b == b'1') {
        return None;
    }
    let len = text.len();
    let highest = text.iter().position(|b| *b == b'1').map(|p| len - 1 - p);
    let Some(highest) = highest else {
        return Some(());
    };
    let nbytes = highest / 8 + 1;
    let start = out.len();
    out.resize(start + nbytes, 0);
    for (pos, &b) in text.iter().enumerate() {
        if b == b'1' {
            let bit = len - 1 - pos;
            out[start + bit / 8] |= 1 << (bit % 8);
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytea_formats() {
        assert_eq!(
            decode_bytea(b"\\xdeadbeef00").unwrap(),
            vec![0xde, 0xad, 0xbe, 0xef, 0]
        );
        assert_eq!(decode_bytea(b"\\x").unwrap(), Vec::<u8>::new());
        assert_eq!(
            decode_bytea(b"ab\\000\\\\\\377").unwrap(),
            vec![b'a', b'b', 0, b'\\', 255]
        );
        assert!(decode_bytea(b"\\xabc").is_none());
        assert!(decode_bytea(b"\\xzz").is_none());
        assert!(decode_bytea(b"a\\9").is_none());
        assert!(decode_bytea(b"a\\").is_none());
    }

    #[test]
    fn binary_modes() {
        let mut out = Vec::new();
        write_binary_json(&mut out, &[1, 2, 3], BinaryHandlingMode::Bytes);
        assert_eq!(out, b"\"AQID\"");
        out.clear();
        write_binary_json(&mut out, &[0xfb, 0xff], BinaryHandlingMode::Base64UrlSafe);
        assert_eq!(out, b"\"-_8=\"");
        out.clear();
        write_binary_json(&mut out, &[1, 2, 0xab], BinaryHandlingMode::Hex);
        assert_eq!(out, b"\"0102ab\"");
    }

    #[test]
    fn bits() {
        let b = |s: &str| {
            let mut out = Vec::new();
            bits_to_le_bytes(s.as_bytes(), &mut out).map(|_| out)
        };
        assert_eq!(b("11"), Some(vec![3]));
        assert_eq!(b("101"), Some(vec![5]));
        assert_eq!(b("000"), Some(vec![]));
        assert_eq!(b("0000000100000000"), Some(vec![0, 1]));
        assert_eq!(b("1000000000"), Some(vec![0, 2]));
        assert_eq!(b("10x"), None);
    }
}
