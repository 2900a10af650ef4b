//! Exact decimal handling for `numeric` and `money`: parsing PostgreSQL's text form, rescaling,
//! and the unscaled two's-complement encoding Kafka Connect's `Decimal` uses.
//!
//! Values of up to 38 digits take an allocation-free `i128` path; longer ones (PostgreSQL allows
//! 131072 digits before the point) use a simple schoolbook base-2³² conversion.

use std::borrow::Cow;

/// A `numeric` value as PostgreSQL prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumericText<'a> {
    NaN,
    PositiveInfinity,
    NegativeInfinity,
    Finite(DecimalText<'a>),
}

/// A finite decimal taken apart, still borrowing the input: `±int.frac × 10^exponent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DecimalText<'a> {
    pub negative: bool,
    /// Digits before the point (may be empty or have leading zeros).
    pub int_digits: &'a [u8],
    /// Digits after the point.
    pub frac_digits: &'a [u8],
    /// Decimal exponent (`e` notation; PostgreSQL itself never prints one).
    pub exponent: i32,
}

/// Parses PostgreSQL's `numeric` output: `[-]digits[.digits]`, `NaN`, `Infinity`, `-Infinity`.
/// Also accepts a leading `+`, surrounding blanks and `e` notation, as `numeric_in` does.
pub(crate) fn parse_numeric(text: &[u8]) -> Option<NumericText<'_>> {
    let text = trim_ascii(text);
    if text.eq_ignore_ascii_case(b"NaN") {
        return Some(NumericText::NaN);
    }
    if text.eq_ignore_ascii_case(b"Infinity") || text.eq_ignore_ascii_case(b"+Infinity") {
        return Some(NumericText::PositiveInfinity);
    }
    if text.eq_ignore_ascii_case(b"-Infinity") {
        return Some(NumericText::NegativeInfinity);
    }
    parse_decimal(text).map(NumericText::Finite)
}

/// Parses a finite decimal `[+-]digits[.digits][e[+-]digits]`; at least one digit is required.
pub(crate) fn parse_decimal(text: &[u8]) -> Option<DecimalText<'_>> {
    let (negative, rest) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let int_len = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let int_digits = &rest[..int_len];
    let mut rest = &rest[int_len..];
    let mut frac_digits: &[u8] = &[];
    if let Some(b'.') = rest.first() {
        let frac_len = rest[1..].iter().take_while(|b| b.is_ascii_digit()).count();
        frac_digits = &rest[1..1 + frac_len];
        rest = &rest[1 + frac_len..];
    }
    if int_digits.is_empty() && frac_digits.is_empty() {
        return None;
    }
    let mut exponent = 0i32;
    if let Some(b'e' | b'E') = rest.first() {
        let (eneg, edigits) = match rest.get(1) {
            Some(b'-') => (true, &rest[2..]),
            Some(b'+') => (false, &rest[2..]),
            _ => (false, &rest[1..]),
        };
        if edigits.is_empty() || edigits.len() > 4 || !edigits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let mut e = 0i32;
        for d in edigits {
            e = e * 10 + i32::from(d - b'0');
        }
        // numeric_in rejects exponents beyond NUMERIC_MAX_PRECISION (1000).
        if e > 1000 {
            return None;
        }
        exponent = if eneg { -e } else { e };
        rest = &[];
    }
    if !rest.is_empty() {
        return None;
    }
    // PostgreSQL's limits: 131072 digits before the point, 16383 after.
    if int_digits.len() > 131_072 + 16_383 || frac_digits.len() > 16_383 + 1000 {
        return None;
    }
    Some(DecimalText {
        negative,
        int_digits,
        frac_digits,
        exponent,
    })
}

pub(crate) fn trim_ascii(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if first.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if last.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    s
}

/// Rounding applied when a value has more fraction digits than the target scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rounding {
    /// Java's `RoundingMode.HALF_UP` (away from zero on a tie).
    HalfUp,
}

/// A decimal as an unscaled integer (sign and digit string without leading zeros; empty means
/// zero) and a scale: `value = ±digits × 10^-scale`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decimal {
    pub negative: bool,
    pub digits: Vec<u8>,
    pub scale: i64,
}

impl DecimalText<'_> {
    /// The scale this text carries (`frac digits - exponent`), like `BigDecimal`'s.
    pub fn natural_scale(&self) -> i64 {
        self.frac_digits.len() as i64 - i64::from(self.exponent)
    }

    /// Converts to an owned [`Decimal`] with its natural scale.
    pub fn to_decimal(self) -> Decimal {
        let mut digits: Vec<u8> =
            Vec::with_capacity(self.int_digits.len() + self.frac_digits.len());
        for &d in self.int_digits.iter().chain(self.frac_digits) {
            if digits.is_empty() && d == b'0' {
                continue;
            }
            digits.push(d);
        }
        let negative = self.negative && !digits.is_empty();
        Decimal {
            negative,
            digits,
            scale: self.natural_scale(),
        }
    }

    /// The unscaled value at `scale` as an `i128`, when it fits and no digits are dropped.
    /// Returns `None` to send the caller to the general path.
    pub fn unscaled_i128_at(&self, scale: i64) -> Option<i128> {
        let natural = self.natural_scale();
        if scale < natural {
            return None;
        }
        let extra_zeros = scale - natural;
        if extra_zeros > 38 {
            return None;
        }
        let mut v: i128 = 0;
        for &d in self.int_digits.iter().chain(self.frac_digits) {
            v = v.checked_mul(10)?.checked_add(i128::from(d - b'0'))?;
        }
        for _ in 0..extra_zeros {
            v = v.checked_mul(10)?;
        }
        Some(if self.negative { -v } else { v })
    }
}

impl Decimal {
    /// Changes the scale, padding with zeros or rounding away digits.
    pub fn rescale(&mut self, scale: i64, rounding: Rounding) {
        if scale >= self.scale {
            if !self.digits.is_empty() {
                let add = (scale - self.scale) as usize;
                self.digits.resize(self.digits.len() + add, b'0');
            }
            self.scale = scale;
            return;
        }
        let drop = (self.scale - scale) as usize;
        let Rounding::HalfUp = rounding;
        let round_up = if drop > self.digits.len() {
            false
        } else {
            self.digits[self.digits.len() - drop] >= b'5'
        };
        let keep = self.digits.len().saturating_sub(drop);
        self.digits.truncate(keep);
        if round_up {
            increment_digits(&mut self.digits);
        }
        strip_leading_zeros(&mut self.digits);
        if self.digits.is_empty() {
            self.negative = false;
        }
        self.scale = scale;
    }

    /// `BigDecimal.stripTrailingZeros()` followed by Debezium's "negative scale becomes 0".
    pub fn strip_trailing_zeros_min_scale_zero(&mut self) {
        if self.digits.is_empty() {
            self.scale = 0;
            return;
        }
        while self.scale > 0 && self.digits.last() == Some(&b'0') {
            self.digits.pop();
            self.scale -= 1;
        }
        if self.scale < 0 {
            let add = (-self.scale) as usize;
            self.digits.resize(self.digits.len() + add, b'0');
            self.scale = 0;
        }
    }

    /// Appends the unscaled value as minimal big-endian two's complement (Java's
    /// `BigInteger.toByteArray()`): at least one byte, `0` → `[0x00]`.
    pub fn write_twos_complement(&self, out: &mut Vec<u8>) {
        if self.digits.len() <= 38 {
            let mut v: i128 = 0;
            for &d in &self.digits {
                v = v * 10 + i128::from(d - b'0');
            }
            if self.negative {
                v = -v;
            }
            write_i128_twos_complement(v, out);
            return;
        }
        write_big_twos_complement(self.negative, &self.digits, out);
    }

    /// Appends the plain decimal text (`BigDecimal.toPlainString()`).
    pub fn write_plain(&self, out: &mut Vec<u8>) {
        if self.negative {
            out.push(b'-');
        }
        let digits: &[u8] = if self.digits.is_empty() {
            b"0"
        } else {
            &self.digits
        };
        if self.scale <= 0 {
            out.extend_from_slice(digits);
            if !self.digits.is_empty() {
                out.resize(out.len() + (-self.scale) as usize, b'0');
            }
            return;
        }
        let scale = self.scale as usize;
        if digits.len() > scale {
            let split = digits.len() - scale;
            out.extend_from_slice(&digits[..split]);
            out.push(b'.');
            out.extend_from_slice(&digits[split..]);
        } else {
            out.extend_from_slice(b"0.");
            out.resize(out.len() + (scale - digits.len()), b'0');
            out.extend_from_slice(digits);
        }
    }

    /// The plain decimal text as a `String`.
    pub fn to_plain_string(&self) -> String {
        let mut v = Vec::with_capacity(self.digits.len() + 3);
        self.write_plain(&mut v);
        // Only ASCII digits, '-', '.' were written.
        String::from_utf8(v).unwrap_or_default()
    }

    /// The nearest `f64` (`BigDecimal.doubleValue()`).
    pub fn to_f64(&self) -> f64 {
        let mut s = String::with_capacity(self.digits.len() + 24);
        if self.negative {
            s.push('-');
        }
        if self.digits.is_empty() {
            s.push('0');
        } else {
            // Digits are ASCII.
            s.push_str(std::str::from_utf8(&self.digits).unwrap_or("0"));
        }
        s.push('e');
        s.push_str(&(-self.scale).to_string());
        s.parse().unwrap_or(0.0)
    }
}

fn increment_digits(digits: &mut Vec<u8>) {
    for d in digits.iter_mut().rev() {
        if *d == b'9' {
            *d = b'0';
        } else {
            *d += 1;
            return;
        }
    }
    digits.insert(0, b'1');
}

fn strip_leading_zeros(digits: &mut Vec<u8>) {
    let zeros = digits.iter().take_while(|d| **d == b'0').count();
    if zeros > 0 {
        digits.drain(..zeros);
    }
}

/// Minimal big-endian two's complement of an `i128` (at least one byte).
pub(crate) fn write_i128_twos_complement(v: i128, out: &mut Vec<u8>) {
    out.extend_from_slice(minimal_twos_complement(&v.to_be_bytes()));
}

/// Big-endian two's complement `bytes` without the leading bytes that only repeat the sign
/// (Java's `BigInteger.toByteArray()` form); at least one byte is kept.
#[inline]
pub(crate) fn minimal_twos_complement(bytes: &[u8]) -> &[u8] {
    let mut start = 0;
    while start + 1 < bytes.len() {
        let b = bytes[start];
        let next_high = bytes[start + 1] & 0x80;
        if (b == 0x00 && next_high == 0) || (b == 0xFF && next_high != 0) {
            start += 1;
        } else {
            break;
        }
    }
    &bytes[start..]
}

/// Two's complement of an arbitrarily long decimal digit string.
fn write_big_twos_complement(negative: bool, digits: &[u8], out: &mut Vec<u8>) {
    // Little-endian base-2^32 limbs, filled nine decimal digits at a time.
    let mut limbs: Vec<u32> = Vec::with_capacity(digits.len() / 9 + 2);
    let first = digits.len() % 9;
    let mut chunks: Vec<&[u8]> = Vec::with_capacity(digits.len() / 9 + 1);
    if first > 0 {
        chunks.push(&digits[..first]);
    }
    chunks.extend(digits[first..].chunks(9));
    for chunk in chunks {
        let mut add: u64 = 0;
        let mut mul: u64 = 1;
        for &d in chunk {
            add = add * 10 + u64::from(d - b'0');
            mul *= 10;
        }
        let mut carry = add;
        for limb in limbs.iter_mut() {
            let v = u64::from(*limb) * mul + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry > 0 {
            limbs.push(carry as u32);
        }
    }
    if limbs.is_empty() {
        out.push(0);
        return;
    }
    // One extra limb for the sign.
    limbs.push(0);
    if negative {
        let mut carry = 1u64;
        for limb in limbs.iter_mut() {
            let v = u64::from(!*limb) + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
    }
    let mut bytes: Vec<u8> = Vec::with_capacity(limbs.len() * 4);
    for limb in limbs.iter().rev() {
        bytes.extend_from_slice(&limb.to_be_bytes());
    }
    out.extend_from_slice(minimal_twos_complement(&bytes));
}

/// Parses `money` output in any `lc_monetary` (Debezium's `PostgresMoney.parse`, made tolerant):
/// currency symbols, letters and blanks are dropped; grouping separators are told apart from
/// the decimal separator; `-` anywhere or surrounding parentheses make the value negative.
///
/// Examples: `$1,234.56`, `-$1.00`, `($1,234.11)`, `1.234,56 €`, `€ -1 234,56`, `¥1,235`.
pub(crate) fn parse_money(text: &[u8]) -> Option<Decimal> {
    let text: Cow<'_, str> = String::from_utf8_lossy(text);
    let chars: Vec<char> = text.chars().collect();
    let mut negative = false;
    let mut body = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        match c {
            '0'..='9' => body.push(c),
            // A separator only counts between two digits, so the dot of "Fr." or "kr." is
            // not mistaken for one.
            '.' | ',' => {
                let prev_digit = i > 0 && chars[i - 1].is_ascii_digit();
                let next_digit = chars.get(i + 1).is_some_and(char::is_ascii_digit);
                if prev_digit && next_digit {
                    body.push(c);
                }
            }
            '-' | '(' | '\u{2212}' => negative = true,
            // Currency symbols, letters, blanks, apostrophes (grouping in some locales).
            _ => {}
        }
    }
    if body.is_empty() || !body.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    let last_dot = body.rfind('.');
    let last_comma = body.rfind(',');
    let decimal_sep = match (last_dot, last_comma) {
        (Some(d), Some(c)) => Some(if d > c { '.' } else { ',' }),
        (Some(_), None) => {
            if body.matches('.').count() > 1 {
                None
            } else {
                Some('.')
            }
        }
        (None, Some(c)) => {
            let after = body.len() - c - 1;
            if body.matches(',').count() > 1 || after == 3 {
                None
            } else {
                Some(',')
            }
        }
        (None, None) => None,
    };
    let mut plain = String::with_capacity(body.len() + 1);
    if negative {
        plain.push('-');
    }
    match decimal_sep {
        Some(sep) => {
            let pos = body.rfind(sep)?;
            for c in body[..pos].chars() {
                if c.is_ascii_digit() {
                    plain.push(c);
                }
            }
            plain.push('.');
            for c in body[pos + 1..].chars() {
                if c.is_ascii_digit() {
                    plain.push(c);
                } else {
                    return None;
                }
            }
        }
        None => plain.extend(body.chars().filter(char::is_ascii_digit)),
    }
    let parsed = parse_decimal(plain.as_bytes())?;
    Some(parsed.to_decimal())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn twos(text: &str, scale: Option<i64>) -> Vec<u8> {
        let NumericText::Finite(d) = parse_numeric(text.as_bytes()).unwrap() else {
            panic!()
        };
        let mut dec = d.to_decimal();
        if let Some(s) = scale {
            dec.rescale(s, Rounding::HalfUp);
        }
        let mut out = Vec::new();
        dec.write_twos_complement(&mut out);
        out
    }

    #[test]
    fn minimal_twos_complement_keeps_the_sign() {
        let trim = |v: i128| minimal_twos_complement(&v.to_be_bytes()).to_vec();
        assert_eq!(trim(0), [0]);
        assert_eq!(trim(-1), [0xFF]);
        assert_eq!(trim(127), [0x7F]);
        assert_eq!(trim(128), [0x00, 0x80]);
        assert_eq!(trim(-128), [0x80]);
        assert_eq!(trim(-129), [0xFF, 0x7F]);
        assert_eq!(trim(i128::MIN), i128::MIN.to_be_bytes());
        assert_eq!(minimal_twos_complement(&[]), &[] as &[u8]);
    }

    #[test]
    fn twos_complement_matches_java_biginteger() {
        assert_eq!(twos("0", None), vec![0]);
        assert_eq!(twos("1.10", Some(2)), vec![110]);
        assert_eq!(twos("127", None), vec![127]);
        assert_eq!(twos("128", None), vec![0, 128]);
        assert_eq!(twos("-128", None), vec![0x80]);
        assert_eq!(twos("-129", None), vec![0xFF, 0x7F]);
        assert_eq!(twos("-1", None), vec![0xFF]);
        assert_eq!(twos("255", None), vec![0, 255]);
        assert_eq!(twos("12345678.91", Some(2)), vec![0x49, 0x96, 0x02, 0xD3]);
    }

    #[test]
    fn big_path_agrees_with_i128_path() {
        for text in [
            "170141183460469231731687303715884105727",
            "-170141183460469231731687303715884105728",
            "99999999999999999999999999999999999999",
            "-99999999999999999999999999999999999999",
            "4294967296",
            "-4294967296",
            "18446744073709551616",
        ] {
            let d = parse_decimal(text.as_bytes()).unwrap().to_decimal();
            let mut big = Vec::new();
            write_big_twos_complement(d.negative, &d.digits, &mut big);
            let mut small = Vec::new();
            write_i128_twos_complement(text.parse::<i128>().unwrap(), &mut small);
            assert_eq!(big, small, "{text}");
        }
    }

    #[test]
    fn big_values() {
        // 2^128 = 340282366920938463463374607431768211456 → 0x01 followed by 16 zero bytes.
        let d = parse_decimal(b"340282366920938463463374607431768211456")
            .unwrap()
            .to_decimal();
        let mut out = Vec::new();
        d.write_twos_complement(&mut out);
        let mut want = vec![1u8];
        want.extend([0u8; 16]);
        assert_eq!(out, want);
        let d = parse_decimal(b"-340282366920938463463374607431768211456")
            .unwrap()
            .to_decimal();
        let mut out = Vec::new();
        d.write_twos_complement(&mut out);
        let mut want = vec![0xFFu8];
        want.extend([0u8; 16]);
        assert_eq!(out, want);
    }

    #[test]
    fn rescale_and_strip() {
        let mut d = parse_decimal(b"1.005").unwrap().to_decimal();
        d.rescale(2, Rounding::HalfUp);
        assert_eq!(d.to_plain_string(), "1.01");
        let mut d = parse_decimal(b"-0.004").unwrap().to_decimal();
        d.rescale(2, Rounding::HalfUp);
        assert_eq!(d.to_plain_string(), "0.00");
        let mut d = parse_decimal(b"9.995").unwrap().to_decimal();
        d.rescale(2, Rounding::HalfUp);
        assert_eq!(d.to_plain_string(), "10.00");
        let mut d = parse_decimal(b"22.22").unwrap().to_decimal();
        d.rescale(4, Rounding::HalfUp);
        assert_eq!(d.to_plain_string(), "22.2200");
        let mut d = parse_decimal(b"100000000000000000000")
            .unwrap()
            .to_decimal();
        d.strip_trailing_zeros_min_scale_zero();
        assert_eq!((d.digits.len(), d.scale), (21, 0));
        let mut d = parse_decimal(b"10.1100").unwrap().to_decimal();
        d.strip_trailing_zeros_min_scale_zero();
        assert_eq!(d.to_plain_string(), "10.11");
        let mut d = parse_decimal(b"0.000").unwrap().to_decimal();
        d.strip_trailing_zeros_min_scale_zero();
        assert_eq!((d.to_plain_string(), d.scale), ("0".to_owned(), 0));
        assert_eq!(
            parse_decimal(b"1e3")
                .unwrap()
                .to_decimal()
                .to_plain_string(),
            "1000"
        );
        assert_eq!(
            parse_decimal(b"-1.5e-3")
                .unwrap()
                .to_decimal()
                .to_plain_string(),
            "-0.0015"
        );
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "-",
            ".",
            "1.2.3",
            "1e",
            "abc",
            "1 2",
            "--1",
            "1e1234567890",
        ] {
            assert!(parse_numeric(bad.as_bytes()).is_none(), "{bad}");
        }
        assert_eq!(parse_numeric(b"NaN"), Some(NumericText::NaN));
        assert_eq!(
            parse_numeric(b"-Infinity"),
            Some(NumericText::NegativeInfinity)
        );
    }

    #[test]
    fn money_formats() {
        let m = |s: &str| parse_money(s.as_bytes()).map(|d| d.to_plain_string());
        assert_eq!(m("$1,234.56").as_deref(), Some("1234.56"));
        assert_eq!(m("-$1.00").as_deref(), Some("-1.00"));
        assert_eq!(m("($1,234.11)").as_deref(), Some("-1234.11"));
        assert_eq!(m("$0.00").as_deref(), Some("0.00"));
        assert_eq!(m("1.234,56 €").as_deref(), Some("1234.56"));
        assert_eq!(m("-1 234,56 €").as_deref(), Some("-1234.56"));
        assert_eq!(m("¥1,235").as_deref(), Some("1235"));
        assert_eq!(m("Fr. 1'234.50").as_deref(), Some("1234.50"));
        assert_eq!(
            m("-$92,233,720,368,547,758.08").as_deref(),
            Some("-92233720368547758.08")
        );
        assert_eq!(m("$"), None);
        assert_eq!(m(""), None);
    }
}
