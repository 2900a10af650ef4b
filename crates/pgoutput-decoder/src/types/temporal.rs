//! Dates, times, timestamps and intervals: parsing PostgreSQL's text output (DateStyle `ISO`,
//! any IntervalStyle) and formatting them the way Debezium (Java's `java.time`) does.
//!
//! Calendar arithmetic is proleptic Gregorian with astronomical year numbering (1 BC is year 0),
//! which is what both PostgreSQL and `java.time` use.

use super::options::TimePrecisionMode;

/// The unit of a `time` or `timestamp` column's integer, decided once here for the JSON
/// values ([`super::write_debezium_json`]) and the Kafka Connect schemas that describe them.
impl TimePrecisionMode {
    /// Whether a `time(precision)` column is written in milliseconds (Kafka Connect's `Time`,
    /// or `io.debezium.time.Time`) rather than microseconds (`io.debezium.time.MicroTime`).
    pub(crate) fn time_in_millis(self, precision: Option<u8>) -> bool {
        match self {
            TimePrecisionMode::Adaptive => precision.unwrap_or(6) <= 3,
            TimePrecisionMode::AdaptiveTimeMicroseconds => false,
            TimePrecisionMode::Connect => true,
        }
    }

    /// Whether a `timestamp(precision)` column is written in milliseconds (Kafka Connect's
    /// `Timestamp`, or `io.debezium.time.Timestamp`) rather than microseconds
    /// (`io.debezium.time.MicroTimestamp`).
    pub(crate) fn timestamp_in_millis(self, precision: Option<u8>) -> bool {
        match self {
            TimePrecisionMode::Adaptive | TimePrecisionMode::AdaptiveTimeMicroseconds => {
                precision.unwrap_or(6) <= 3
            }
            TimePrecisionMode::Connect => true,
        }
    }
}

/// Microseconds per second / minute / hour / day.
pub(crate) const MICROS_PER_SECOND: i64 = 1_000_000;
pub(crate) const MICROS_PER_MINUTE: i64 = 60 * MICROS_PER_SECOND;
pub(crate) const MICROS_PER_HOUR: i64 = 60 * MICROS_PER_MINUTE;
pub(crate) const MICROS_PER_DAY: i64 = 24 * MICROS_PER_HOUR;

/// Days since 1970-01-01 of a proleptic Gregorian date (astronomical year).
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date (astronomical year, month, day) of a day count since 1970-01-01.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
            if leap {
                29
            } else {
                28
            }
        }
    }
}

/// A small cursor over ASCII text.
struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(s: &'a [u8]) -> Self {
        Cursor { s, pos: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn rest(&self) -> &'a [u8] {
        &self.s[self.pos..]
    }

    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    /// Between `min` and `max` decimal digits as a number.
    fn digits(&mut self, min: usize, max: usize) -> Option<i64> {
        let start = self.pos;
        let mut v: i64 = 0;
        while self.pos - start < max {
            match self.peek() {
                Some(b @ b'0'..=b'9') => {
                    v = v * 10 + i64::from(b - b'0');
                    self.pos += 1;
                }
                _ => break,
            }
        }
        if self.pos - start < min {
            None
        } else {
            Some(v)
        }
    }

    /// An optional `.fraction` of up to 6 digits (more are rounded away like PostgreSQL would
    /// never need to), as microseconds.
    fn fraction_micros(&mut self) -> Option<i64> {
        if !self.eat(b'.') {
            return Some(0);
        }
        let start = self.pos;
        let mut micros: i64 = 0;
        let mut n = 0;
        while let Some(b @ b'0'..=b'9') = self.peek() {
            if n < 6 {
                micros = micros * 10 + i64::from(b - b'0');
            }
            n += 1;
            self.pos += 1;
        }
        if self.pos == start {
            return None;
        }
        for _ in n..6 {
            micros *= 10;
        }
        Some(micros)
    }
}

/// A `date` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DateValue {
    /// Days since 1970-01-01.
    Days(i64),
    PositiveInfinity,
    NegativeInfinity,
}

/// Debezium's epoch day for `date 'infinity'` (`LocalDate.parse("-5877611-06-21").toEpochDay()`;
/// yes, negative).
pub(crate) const DEBEZIUM_DATE_POSITIVE_INFINITY: i64 = -2_147_472_692;
/// Debezium's epoch day for `date '-infinity'` (`LocalDate.parse("-5877611-06-22").toEpochDay()`,
/// which is PostgreSQL's `DATEVAL_NOBEGIN` counted from 1970).
pub(crate) const DEBEZIUM_DATE_NEGATIVE_INFINITY: i64 = -2_147_472_691;
/// Debezium's value for `timestamp 'infinity'` in microseconds (pgjdbc's `DATE_POSITIVE_INFINITY`).
pub(crate) const DEBEZIUM_TIMESTAMP_POSITIVE_INFINITY_MICROS: i64 = 9_223_372_036_825_200_000;
/// Debezium's value for `timestamp '-infinity'` in microseconds (pgjdbc's `DATE_NEGATIVE_INFINITY`).
pub(crate) const DEBEZIUM_TIMESTAMP_NEGATIVE_INFINITY_MICROS: i64 = -9_223_372_036_832_400_000;
/// The same instants in milliseconds, as `Instant.toEpochMilli()` gives them.
pub(crate) const DEBEZIUM_TIMESTAMP_POSITIVE_INFINITY_MILLIS: i64 = 9_223_372_036_825_200;
pub(crate) const DEBEZIUM_TIMESTAMP_NEGATIVE_INFINITY_MILLIS: i64 = -9_223_372_036_832_400;

/// Parses `YYYY-MM-DD` (4 or more year digits), returning the astronomical-year day count.
fn parse_date_part(c: &mut Cursor<'_>) -> Option<(i64, u32, u32)> {
    let year = c.digits(1, 9)?;
    if !c.eat(b'-') {
        return None;
    }
    let month = c.digits(1, 2)? as u32;
    if !c.eat(b'-') {
        return None;
    }
    let day = c.digits(1, 2)? as u32;
    if !(1..=12).contains(&month) || day == 0 {
        return None;
    }
    Some((year, month, day))
}

/// Applies a trailing ` BC` (year N BC is astronomical year 1 - N) and validates the day.
fn finish_date(year: i64, month: u32, day: u32, bc: bool) -> Option<i64> {
    let year = if bc {
        if year == 0 {
            return None;
        }
        1 - year
    } else {
        year
    };
    if day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

fn eat_bc(c: &mut Cursor<'_>) -> Option<bool> {
    let rest = c.rest();
    if rest.is_empty() {
        return Some(false);
    }
    if rest.eq_ignore_ascii_case(b" BC") {
        c.pos = c.s.len();
        return Some(true);
    }
    if rest.eq_ignore_ascii_case(b" AD") {
        c.pos = c.s.len();
        return Some(false);
    }
    None
}

/// Parses `date` output: `2024-02-29`, `0044-03-15 BC`, `infinity`, `-infinity`.
pub(crate) fn parse_date(text: &[u8]) -> Option<DateValue> {
    match text {
        b"infinity" => return Some(DateValue::PositiveInfinity),
        b"-infinity" => return Some(DateValue::NegativeInfinity),
        _ => {}
    }
    let mut c = Cursor::new(text);
    let (y, m, d) = parse_date_part(&mut c)?;
    let bc = eat_bc(&mut c)?;
    Some(DateValue::Days(finish_date(y, m, d, bc)?))
}

/// Parses `HH:MM:SS[.ffffff]` into microseconds of the day; `24:00:00` is allowed.
fn parse_clock(c: &mut Cursor<'_>) -> Option<i64> {
    let h = c.digits(1, 2)?;
    if !c.eat(b':') {
        return None;
    }
    let m = c.digits(2, 2)?;
    let s = if c.eat(b':') { c.digits(2, 2)? } else { 0 };
    let f = c.fraction_micros()?;
    if m > 59 || s > 60 {
        return None;
    }
    let micros = h * MICROS_PER_HOUR + m * MICROS_PER_MINUTE + s * MICROS_PER_SECOND + f;
    if micros > MICROS_PER_DAY {
        return None;
    }
    Some(micros)
}

/// Parses a UTC offset `+HH`, `+HH:MM`, `+HH:MM:SS` (or `+HHMM`); returns seconds east of UTC.
fn parse_offset(c: &mut Cursor<'_>) -> Option<i32> {
    let negative = match c.peek() {
        Some(b'+') => false,
        Some(b'-') => true,
        Some(b'Z' | b'z') => {
            c.pos += 1;
            return Some(0);
        }
        _ => return None,
    };
    c.pos += 1;
    let h = c.digits(1, 2)?;
    let mut m = 0;
    let mut s = 0;
    if c.eat(b':') {
        m = c.digits(2, 2)?;
        if c.eat(b':') {
            s = c.digits(2, 2)?;
        }
    } else if let Some(b'0'..=b'9') = c.peek() {
        m = c.digits(2, 2)?;
    }
    if h > 15 || m > 59 || s > 59 {
        return None;
    }
    let secs = (h * 3600 + m * 60 + s) as i32;
    Some(if negative { -secs } else { secs })
}

/// Parses `time` output into microseconds past midnight (`24:00:00` → 86 400 000 000).
pub(crate) fn parse_time(text: &[u8]) -> Option<i64> {
    let mut c = Cursor::new(text);
    let micros = parse_clock(&mut c)?;
    c.at_end().then_some(micros)
}

/// A `timetz` value: local clock microseconds plus the offset it was written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeTz {
    pub micros: i64,
    /// Seconds east of UTC.
    pub offset_seconds: i32,
}

impl TimeTz {
    /// Microseconds of the UTC clock, wrapped into one day: `24:00:00+00` is midnight,
    /// `00:00:00Z`, as Debezium 3.6 writes it.
    pub fn utc_micros(&self) -> i64 {
        let utc = self.micros - i64::from(self.offset_seconds) * MICROS_PER_SECOND;
        utc.rem_euclid(MICROS_PER_DAY)
    }
}

/// Parses `timetz` output: `13:45:30.5+05:30`, `00:00:00+00`, `12:00:00+05:30:15`.
pub(crate) fn parse_timetz(text: &[u8]) -> Option<TimeTz> {
    let mut c = Cursor::new(text);
    let micros = parse_clock(&mut c)?;
    let offset_seconds = parse_offset(&mut c)?;
    c.at_end().then_some(TimeTz {
        micros,
        offset_seconds,
    })
}

/// A `timestamp` / `timestamptz` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimestampValue {
    /// Microseconds since 1970-01-01 00:00 (UTC for `timestamptz`, the naive clock for
    /// `timestamp`). `i128` because PostgreSQL's range slightly exceeds `i64` microseconds
    /// since 1970.
    Micros(i128),
    PositiveInfinity,
    NegativeInfinity,
}

/// Parses `timestamp` output: `2024-01-15 10:30:00.123456`, `0044-03-15 12:00:00 BC`.
pub(crate) fn parse_timestamp(text: &[u8]) -> Option<TimestampValue> {
    match text {
        b"infinity" => return Some(TimestampValue::PositiveInfinity),
        b"-infinity" => return Some(TimestampValue::NegativeInfinity),
        _ => {}
    }
    let mut c = Cursor::new(text);
    let (y, m, d) = parse_date_part(&mut c)?;
    if !(c.eat(b' ') || c.eat(b'T')) {
        return None;
    }
    let clock = parse_clock(&mut c)?;
    let bc = eat_bc(&mut c)?;
    let days = finish_date(y, m, d, bc)?;
    Some(TimestampValue::Micros(
        i128::from(days) * i128::from(MICROS_PER_DAY) + i128::from(clock),
    ))
}

/// Parses `timestamptz` output in any session time zone:
/// `2024-01-15 10:30:00.654321+02`, `... -03:30`, `1799-12-31 20:29:08-03:30:52`,
/// `0044-03-15 12:00:00+00 BC`. Returns the UTC instant and the offset it was written with.
pub(crate) fn parse_timestamptz(text: &[u8]) -> Option<(TimestampValue, i32)> {
    match text {
        b"infinity" => return Some((TimestampValue::PositiveInfinity, 0)),
        b"-infinity" => return Some((TimestampValue::NegativeInfinity, 0)),
        _ => {}
    }
    let mut c = Cursor::new(text);
    let (y, m, d) = parse_date_part(&mut c)?;
    if !(c.eat(b' ') || c.eat(b'T')) {
        return None;
    }
    let clock = parse_clock(&mut c)?;
    let offset = parse_offset(&mut c)?;
    let bc = eat_bc(&mut c)?;
    let days = finish_date(y, m, d, bc)?;
    let local = i128::from(days) * i128::from(MICROS_PER_DAY) + i128::from(clock);
    let utc = local - i128::from(offset) * i128::from(MICROS_PER_SECOND);
    Some((TimestampValue::Micros(utc), offset))
}

/// Microseconds since the epoch as Debezium's `MicroTimestamp.toEpochMicros` computes them,
/// except that values beyond `i64` (after year 294247, which PostgreSQL allows) saturate
/// instead of wrapping around.
pub(crate) fn debezium_epoch_micros(micros: i128) -> i64 {
    micros.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// Milliseconds since the epoch, rounded down like `Instant.toEpochMilli()`.
pub(crate) fn epoch_millis(micros: i128) -> i64 {
    micros
        .div_euclid(1000)
        .clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// How to print the fraction of a second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fraction {
    /// Java's `ISO_LOCAL_TIME`: omitted when zero, otherwise trailing zeros stripped.
    Stripped,
    /// Exactly this many digits (1 to 6), always printed.
    Fixed(u8),
    /// Python's `isoformat()`: omitted when zero, otherwise six digits.
    SixIfAny,
}

fn push_2(out: &mut Vec<u8>, v: u32) {
    out.push(b'0' + (v / 10 % 10) as u8);
    out.push(b'0' + (v % 10) as u8);
}

/// Writes a year like `java.time`'s `ISO_LOCAL_DATE`: four digits, `+` beyond 9999, `-` before
/// year 0.
pub(crate) fn write_year(out: &mut Vec<u8>, year: i64) {
    let mut buf = itoa::Buffer::new();
    if year < 0 {
        out.push(b'-');
    } else if year > 9999 {
        out.push(b'+');
    }
    let s = buf.format(year.unsigned_abs());
    for _ in s.len()..4 {
        out.push(b'0');
    }
    out.extend_from_slice(s.as_bytes());
}

/// Writes `YYYY-MM-DD` for a day count.
pub(crate) fn write_date(out: &mut Vec<u8>, days: i64) {
    let (y, m, d) = civil_from_days(days);
    write_year(out, y);
    out.push(b'-');
    push_2(out, m);
    out.push(b'-');
    push_2(out, d);
}

/// Writes `HH:MM:SS[.fraction]` for microseconds past midnight (24:00:00 allowed).
pub(crate) fn write_clock(out: &mut Vec<u8>, micros: i64, fraction: Fraction) {
    let h = (micros / MICROS_PER_HOUR) as u32;
    let m = (micros / MICROS_PER_MINUTE % 60) as u32;
    let s = (micros / MICROS_PER_SECOND % 60) as u32;
    let f = (micros % MICROS_PER_SECOND) as u32;
    push_2(out, h);
    out.push(b':');
    push_2(out, m);
    out.push(b':');
    push_2(out, s);
    write_fraction(out, f, fraction);
}

fn write_fraction(out: &mut Vec<u8>, micros: u32, fraction: Fraction) {
    let mut digits = [0u8; 6];
    let mut v = micros;
    for d in digits.iter_mut().rev() {
        *d = b'0' + (v % 10) as u8;
        v /= 10;
    }
    match fraction {
        Fraction::Stripped => {
            if micros != 0 {
                let len = 6 - digits.iter().rev().take_while(|d| **d == b'0').count();
                out.push(b'.');
                out.extend_from_slice(&digits[..len]);
            }
        }
        Fraction::Fixed(n) => {
            let n = usize::from(n.clamp(1, 6));
            out.push(b'.');
            out.extend_from_slice(&digits[..n]);
        }
        Fraction::SixIfAny => {
            if micros != 0 {
                out.push(b'.');
                out.extend_from_slice(&digits);
            }
        }
    }
}

/// Writes `YYYY-MM-DDTHH:MM:SS[.fraction]` for microseconds since the epoch.
pub(crate) fn write_datetime(out: &mut Vec<u8>, micros: i128, fraction: Fraction) {
    let days = micros.div_euclid(i128::from(MICROS_PER_DAY)) as i64;
    let clock = micros.rem_euclid(i128::from(MICROS_PER_DAY)) as i64;
    write_date(out, days);
    out.push(b'T');
    write_clock(out, clock, fraction);
}

/// Rewrites PostgreSQL's text for a UTC `timestamptz` of years 1000 to 9999
/// (`2024-01-15 10:30:00.123456+00`) as `2024-01-15T10:30:00.123456`, with the fraction as
/// asked, without turning it into a number and back: what [`write_datetime`] writes for the
/// same instant. Writes nothing and returns false for any other text.
pub(crate) fn write_utc_timestamp_text(out: &mut Vec<u8>, text: &[u8], fraction: Fraction) -> bool {
    const SHAPE: &[u8; 19] = b"0000-00-00 00:00:00";
    let Some(body) = text.strip_suffix(b"+00") else {
        return false;
    };
    if body.len() < SHAPE.len() || !(b'1'..=b'9').contains(&body[0]) {
        return false;
    }
    let (clock, tail) = body.split_at(SHAPE.len());
    let shaped = clock.iter().zip(SHAPE).all(|(&b, &s)| {
        if s == b'0' {
            b.is_ascii_digit()
        } else {
            b == s
        }
    });
    if !shaped {
        return false;
    }
    // `.` and at most six digits; longer fractions are left to the full path.
    if tail.len() > 7 {
        return false;
    }
    let mut fraction_text = Cursor::new(tail);
    let Some(micros) = fraction_text.fraction_micros() else {
        return false;
    };
    if !fraction_text.rest().is_empty() {
        return false;
    }
    out.extend_from_slice(&clock[..10]);
    out.push(b'T');
    out.extend_from_slice(&clock[11..]);
    write_fraction(out, micros as u32, fraction);
    true
}

/// Writes an offset as `+HH:MM` or `+HH:MM:SS` (Python's `isoformat()` style).
pub(crate) fn write_offset(out: &mut Vec<u8>, offset_seconds: i32) {
    out.push(if offset_seconds < 0 { b'-' } else { b'+' });
    let a = offset_seconds.unsigned_abs();
    push_2(out, a / 3600);
    out.push(b':');
    push_2(out, a / 60 % 60);
    if a % 60 != 0 {
        out.push(b':');
        push_2(out, a % 60);
    }
}

/// An `interval` taken apart the way pgjdbc's `PGInterval` does (which is what Debezium uses).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Interval {
    pub years: i64,
    pub months: i64,
    pub days: i64,
    pub hours: i64,
    pub minutes: i64,
    /// The seconds field in microseconds (signed).
    pub second_micros: i64,
}

impl Interval {
    fn negate(&mut self) {
        self.years = -self.years;
        self.months = -self.months;
        self.days = -self.days;
        self.hours = -self.hours;
        self.minutes = -self.minutes;
        self.second_micros = -self.second_micros;
    }

    /// `PGInterval.getSeconds()`: whole seconds plus microseconds / 10⁶, as a double.
    pub fn seconds_f64(&self) -> f64 {
        let whole = self.second_micros / MICROS_PER_SECOND;
        let micros = self.second_micros % MICROS_PER_SECOND;
        whole as f64 + micros as f64 / 1_000_000.0
    }

    /// Debezium's `MicroDuration.durationMicros` with a month of 365.25/12 days, computed in
    /// doubles in the same order so the result matches to the microsecond.
    pub fn debezium_micros(&self) -> i64 {
        let days_per_month_avg = 365.25 / 12.0;
        let months = (self.years * 12 + self.months) as f64;
        let number_of_days = months * days_per_month_avg + self.days as f64;
        let number_of_seconds =
            (((number_of_days * 24.0 + self.hours as f64) * 60.0) + self.minutes as f64) * 60.0
                + self.seconds_f64();
        (number_of_seconds * 1e6) as i64
    }

    /// Debezium's `Interval.toIsoString`: `P{y}Y{m}M{d}DT{h}H{m}M{s}S` with every field present;
    /// seconds printed from the double, cut to 9 decimals and stripped of trailing zeros.
    pub fn write_debezium_iso(&self, out: &mut Vec<u8>) {
        let mut buf = itoa::Buffer::new();
        out.push(b'P');
        out.extend_from_slice(buf.format(self.years).as_bytes());
        out.push(b'Y');
        out.extend_from_slice(buf.format(self.months).as_bytes());
        out.push(b'M');
        out.extend_from_slice(buf.format(self.days).as_bytes());
        out.extend_from_slice(b"DT");
        out.extend_from_slice(buf.format(self.hours).as_bytes());
        out.push(b'H');
        out.extend_from_slice(buf.format(self.minutes).as_bytes());
        out.push(b'M');
        write_java_seconds(out, self.seconds_f64());
        out.push(b'S');
    }

    /// A compact ISO-8601 duration (`P1Y2M3DT4H5M6.789S`, `PT0S`), zero fields left out;
    /// used for the typed value.
    pub fn to_iso_string(self) -> String {
        let mut s = String::from("P");
        let mut any = false;
        for (v, unit) in [(self.years, 'Y'), (self.months, 'M'), (self.days, 'D')] {
            if v != 0 {
                s.push_str(&v.to_string());
                s.push(unit);
                any = true;
            }
        }
        if self.hours != 0 || self.minutes != 0 || self.second_micros != 0 || !any {
            s.push('T');
            if self.hours != 0 {
                s.push_str(&self.hours.to_string());
                s.push('H');
            }
            if self.minutes != 0 {
                s.push_str(&self.minutes.to_string());
                s.push('M');
            }
            if self.second_micros != 0 || (self.hours == 0 && self.minutes == 0) {
                let neg = self.second_micros < 0;
                let a = self.second_micros.unsigned_abs();
                if neg {
                    s.push('-');
                }
                s.push_str(&(a / 1_000_000).to_string());
                let frac = a % 1_000_000;
                if frac != 0 {
                    let f = format!("{frac:06}");
                    s.push('.');
                    s.push_str(f.trim_end_matches('0'));
                }
                s.push('S');
            }
        }
        s
    }
}

/// `BigDecimal.valueOf(seconds).setScale(9, DOWN) (if longer) .stripTrailingZeros().toPlainString()`.
fn write_java_seconds(out: &mut Vec<u8>, seconds: f64) {
    if seconds == 0.0 || !seconds.is_finite() {
        out.push(b'0');
        return;
    }
    let mut buf = ryu::Buffer::new();
    let shortest = buf.format_finite(seconds);
    // Expand ryu's output (`6.789`, `1e-6`, `1.5e-5`, `1e21`) into sign, digits and exponent.
    let (negative, body) = match shortest.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, shortest),
    };
    let (mantissa, exp) = match body.split_once('e') {
        Some((m, e)) => (m, e.parse::<i64>().unwrap_or(0)),
        None => (body, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mut digits: Vec<u8> = int_part.bytes().chain(frac_part.bytes()).collect();
    // value = digits × 10^(exp - frac_len)
    let mut scale = frac_part.len() as i64 - exp;
    if scale > 9 {
        let drop = (scale - 9) as usize;
        digits.truncate(digits.len().saturating_sub(drop));
        scale = 9;
    }
    while scale > 0 && digits.last() == Some(&b'0') {
        digits.pop();
        scale -= 1;
    }
    let first_nonzero = digits.iter().position(|d| *d != b'0');
    let Some(first_nonzero) = first_nonzero else {
        out.push(b'0');
        return;
    };
    digits.drain(..first_nonzero);
    if negative {
        out.push(b'-');
    }
    let dec = crate::types::numeric::Decimal {
        negative: false,
        digits,
        scale,
    };
    dec.write_plain(out);
}

fn parse_signed_int(tok: &[u8]) -> Option<i64> {
    let (neg, digits) = match tok.first() {
        Some(b'-') => (true, &tok[1..]),
        Some(b'+') => (false, &tok[1..]),
        _ => (false, tok),
    };
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: i64 = 0;
    for d in digits {
        v = v * 10 + i64::from(d - b'0');
    }
    Some(if neg { -v } else { v })
}

/// `[+-]seconds[.fraction]` as microseconds.
fn parse_signed_seconds(tok: &[u8]) -> Option<i64> {
    let (neg, body) = match tok.first() {
        Some(b'-') => (true, &tok[1..]),
        Some(b'+') => (false, &tok[1..]),
        _ => (false, tok),
    };
    let mut c = Cursor::new(body);
    let whole = c.digits(1, 12)?;
    let frac = c.fraction_micros()?;
    if !c.at_end() {
        return None;
    }
    let v = whole.checked_mul(MICROS_PER_SECOND)?.checked_add(frac)?;
    Some(if neg { -v } else { v })
}

/// A time token `[+-]H+:MM[:SS[.ffffff]]` as (hours, minutes, second micros), sign applied to
/// every part.
fn parse_time_token(tok: &[u8], default_negative: bool) -> Option<(i64, i64, i64)> {
    let (neg, body) = match tok.first() {
        Some(b'-') => (true, &tok[1..]),
        Some(b'+') => (false, &tok[1..]),
        _ => (default_negative, tok),
    };
    let mut c = Cursor::new(body);
    let h = c.digits(1, 12)?;
    if !c.eat(b':') {
        return None;
    }
    let m = c.digits(1, 2)?;
    let mut s = 0;
    if c.eat(b':') {
        let whole = c.digits(1, 2)?;
        let frac = c.fraction_micros()?;
        s = whole * MICROS_PER_SECOND + frac;
    }
    if !c.at_end() {
        return None;
    }
    Some(if neg { (-h, -m, -s) } else { (h, m, s) })
}

/// Parses `interval` output in any IntervalStyle: `postgres` (`1 year 2 mons 3 days
/// 04:05:06.789`, `-1 days +02:00:00`), `postgres_verbose` (`@ 1 day -2 hours ago`),
/// `sql_standard` (`+1-2 +3 +4:05:06.789`) and `iso_8601` (`P1Y2M3DT4H5M6.789S`).
pub(crate) fn parse_interval(text: &[u8]) -> Option<Interval> {
    let text = crate::types::numeric::trim_ascii(text);
    if text.is_empty() {
        return None;
    }
    if text[0] == b'P' {
        return parse_iso_interval(text);
    }
    let s = std::str::from_utf8(text).ok()?;
    let (verbose, body) = match s.strip_prefix('@') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let mut tokens: Vec<&str> = body.split_ascii_whitespace().collect();
    let mut ago = false;
    if verbose && tokens.last() == Some(&"ago") {
        ago = true;
        tokens.pop();
    }
    let mut iv = Interval::default();
    let mut i = 0;
    // sql_standard: the sign of a day field carries over to an unsigned time field after it.
    let mut day_negative = false;
    let mut seen_any = false;
    while i < tokens.len() {
        let tok = tokens[i].as_bytes();
        if tok.contains(&b':') {
            let (h, m, s) = parse_time_token(tok, day_negative)?;
            iv.hours += h;
            iv.minutes += m;
            iv.second_micros += s;
            i += 1;
            seen_any = true;
            continue;
        }
        // sql_standard year-month: [+-]Y-M
        if let Some(dash) = tok.iter().skip(1).position(|b| *b == b'-').map(|p| p + 1) {
            let sign_neg = tok[0] == b'-';
            let y = parse_signed_int(&tok[..dash])?;
            let m = parse_signed_int(&tok[dash + 1..])?;
            iv.years += y;
            iv.months += if sign_neg { -m } else { m };
            i += 1;
            seen_any = true;
            continue;
        }
        let unit = tokens.get(i + 1).map(|u| u.to_ascii_lowercase());
        match unit.as_deref() {
            Some(u) if u.starts_with(|c: char| c.is_ascii_alphabetic()) => {
                if u.starts_with("sec") {
                    iv.second_micros += parse_signed_seconds(tok)?;
                } else {
                    let v = parse_signed_int(tok)?;
                    if u.starts_with("year") {
                        iv.years += v;
                    } else if u.starts_with("mon") {
                        iv.months += v;
                    } else if u.starts_with("day") {
                        iv.days += v;
                    } else if u.starts_with("hour") {
                        iv.hours += v;
                    } else if u.starts_with("min") {
                        iv.minutes += v;
                    } else {
                        return None;
                    }
                }
                i += 2;
            }
            _ => {
                // A bare number: sql_standard days (or the zero interval "0" / "@ 0").
                let v = parse_signed_int(tok)?;
                day_negative = tok[0] == b'-';
                iv.days += v;
                i += 1;
            }
        }
        seen_any = true;
    }
    if !seen_any {
        return None;
    }
    if ago {
        iv.negate();
    }
    Some(iv)
}

fn parse_iso_interval(text: &[u8]) -> Option<Interval> {
    let mut iv = Interval::default();
    let mut in_time = false;
    let mut i = 1;
    let mut any = false;
    while i < text.len() {
        if text[i] == b'T' {
            in_time = true;
            i += 1;
            continue;
        }
        let start = i;
        while i < text.len() && matches!(text[i], b'0'..=b'9' | b'-' | b'+' | b'.') {
            i += 1;
        }
        let num = &text[start..i];
        let unit = *text.get(i)?;
        i += 1;
        match (in_time, unit) {
            (false, b'Y') => iv.years += parse_signed_int(num)?,
            (false, b'M') => iv.months += parse_signed_int(num)?,
            (false, b'W') => iv.days += parse_signed_int(num)?.checked_mul(7)?,
            (false, b'D') => iv.days += parse_signed_int(num)?,
            (true, b'H') => iv.hours += parse_signed_int(num)?,
            (true, b'M') => iv.minutes += parse_signed_int(num)?,
            (true, b'S') => iv.second_micros += parse_signed_seconds(num)?,
            _ => return None,
        }
        any = true;
    }
    any.then_some(iv)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shortcut for UTC text writes exactly what parsing and formatting write, and
    /// declines everything it does not cover.
    #[test]
    fn utc_timestamp_text_is_rewritten_as_parsing_would() {
        let fractions = [
            Fraction::Stripped,
            Fraction::Fixed(1),
            Fraction::Fixed(3),
            Fraction::Fixed(6),
            Fraction::SixIfAny,
        ];
        let clocks = [
            "2024-01-15 10:30:00",
            "1000-01-01 00:00:00",
            "9999-12-31 23:59:59",
            "2000-02-29 12:00:01",
        ];
        let tails = ["", ".1", ".000001", ".123456", ".5", ".100000", ".99"];
        for clock in clocks {
            for tail in tails {
                let text = format!("{clock}{tail}+00");
                let (TimestampValue::Micros(m), _) = parse_timestamptz(text.as_bytes()).unwrap()
                else {
                    panic!("{text}")
                };
                for f in fractions {
                    let (mut fast, mut slow) = (Vec::new(), Vec::new());
                    assert!(
                        write_utc_timestamp_text(&mut fast, text.as_bytes(), f),
                        "{text}"
                    );
                    write_datetime(&mut slow, m, f);
                    assert_eq!(fast, slow, "{text} {f:?}");
                }
            }
        }
        for text in [
            "2024-01-15 10:30:00+01",
            "2024-01-15 10:30:00+00:30",
            "0099-01-15 10:30:00+00",
            "2024-01-15 10:30:00+00 BC",
            "12024-01-15 10:30:00+00",
            "2024-01-15 10:30:00.1234567+00",
            "2024-01-15 10:30:00.+00",
            "2024-01-15T10:30:00+00",
            "infinity",
        ] {
            let mut out = Vec::new();
            assert!(
                !write_utc_timestamp_text(&mut out, text.as_bytes(), Fraction::Fixed(6)),
                "{text}"
            );
            assert!(out.is_empty());
        }
    }

    #[test]
    fn civil_round_trip() {
        for days in [
            -2_147_472_692i64,
            -719_528,
            -1,
            0,
            1,
            19_782,
            106_751_991,
            2_147_483_647,
        ] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(days_from_civil(2024, 2, 29), 19_782);
        assert_eq!(
            days_from_civil(-5_877_611, 6, 21),
            DEBEZIUM_DATE_POSITIVE_INFINITY
        );
        assert_eq!(
            days_from_civil(-5_877_611, 6, 22),
            DEBEZIUM_DATE_NEGATIVE_INFINITY
        );
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date(b"2024-02-29"), Some(DateValue::Days(19_782)));
        assert_eq!(parse_date(b"1970-01-01"), Some(DateValue::Days(0)));
        // 44 BC is astronomical year -43.
        assert_eq!(
            parse_date(b"0044-03-15 BC"),
            Some(DateValue::Days(days_from_civil(-43, 3, 15)))
        );
        assert_eq!(parse_date(b"infinity"), Some(DateValue::PositiveInfinity));
        assert_eq!(parse_date(b"2023-02-29"), None);
        assert_eq!(parse_date(b"2023-13-01"), None);
        assert_eq!(parse_date(b"0000-01-01 BC"), None);
        assert_eq!(parse_date(b"2024-01-01x"), None);
    }

    #[test]
    fn times() {
        assert_eq!(parse_time(b"13:45:30.123456"), Some(49_530_123_456));
        assert_eq!(parse_time(b"24:00:00"), Some(86_400_000_000));
        assert_eq!(parse_time(b"24:00:01"), None);
        assert_eq!(parse_time(b"00:00:00.5"), Some(500_000));
        let t = parse_timetz(b"13:45:30.5+05:30").unwrap();
        assert_eq!(
            t.utc_micros(),
            (8 * 3600 + 15 * 60 + 30) * 1_000_000 + 500_000
        );
        let t = parse_timetz(b"12:00:00+05:30:15").unwrap();
        assert_eq!(t.offset_seconds, 5 * 3600 + 30 * 60 + 15);
        assert_eq!(parse_timetz(b"24:00:00+00").unwrap().utc_micros(), 0);
        assert_eq!(
            parse_timetz(b"01:00:00+05").unwrap().utc_micros(),
            20 * MICROS_PER_HOUR
        );
    }

    #[test]
    fn timestamps() {
        assert_eq!(
            parse_timestamp(b"2024-01-15 10:30:00.123456"),
            Some(TimestampValue::Micros(1_705_314_600_123_456))
        );
        let (v, off) = parse_timestamptz(b"2024-01-15 10:30:00.654321+02").unwrap();
        assert_eq!(off, 7200);
        assert_eq!(v, TimestampValue::Micros(1_705_307_400_654_321));
        let (v, _) = parse_timestamptz(b"1799-12-31 20:29:08-03:30:52").unwrap();
        let mut out = Vec::new();
        let TimestampValue::Micros(m) = v else {
            panic!()
        };
        write_datetime(&mut out, m, Fraction::Fixed(6));
        assert_eq!(out, b"1800-01-01T00:00:00.000000");
        let (v, _) = parse_timestamptz(b"0044-03-15 12:00:00+00 BC").unwrap();
        let TimestampValue::Micros(m) = v else {
            panic!()
        };
        let mut out = Vec::new();
        write_datetime(&mut out, m, Fraction::Stripped);
        assert_eq!(out, b"-0043-03-15T12:00:00");
        let mut out = Vec::new();
        write_datetime(
            &mut out,
            i128::from(days_from_civil(21016, 11, 4)) * 86_400_000_000,
            Fraction::Fixed(3),
        );
        assert_eq!(out, b"+21016-11-04T00:00:00.000");
    }

    #[test]
    fn intervals_in_every_style() {
        let want = Interval {
            years: 1,
            months: 2,
            days: 3,
            hours: 4,
            minutes: 5,
            second_micros: 6_789_000,
        };
        for text in [
            "1 year 2 mons 3 days 04:05:06.789",
            "@ 1 year 2 mons 3 days 4 hours 5 mins 6.789 secs",
            "+1-2 +3 +4:05:06.789",
            "P1Y2M3DT4H5M6.789S",
        ] {
            assert_eq!(parse_interval(text.as_bytes()), Some(want), "{text}");
        }
        let want = Interval {
            days: -1,
            hours: 2,
            ..Default::default()
        };
        for text in [
            "-1 days +02:00:00",
            "@ 1 day -2 hours ago",
            "+0-0 -1 +2:00:00",
            "P-1DT2H",
        ] {
            assert_eq!(parse_interval(text.as_bytes()), Some(want), "{text}");
        }
        for text in ["00:00:00", "@ 0", "0", "PT0S"] {
            assert_eq!(
                parse_interval(text.as_bytes()),
                Some(Interval::default()),
                "{text}"
            );
        }
        let want = Interval {
            second_micros: -1,
            ..Default::default()
        };
        for text in [
            "-00:00:00.000001",
            "@ 0.000001 secs ago",
            "-0:00:00.000001",
            "PT-0.000001S",
        ] {
            assert_eq!(parse_interval(text.as_bytes()), Some(want), "{text}");
        }
        let want = Interval {
            days: -3,
            ..Default::default()
        };
        for text in ["-3 days", "@ 3 days ago", "-3 0:00:00", "P-3D"] {
            assert_eq!(parse_interval(text.as_bytes()), Some(want), "{text}");
        }
        for bad in ["", "abc", "1 fortnight", "1:2:3:4", "P1X", "@", "1 year x"] {
            assert_eq!(parse_interval(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn interval_debezium_forms() {
        let iv = parse_interval(b"1 year 2 mons 3 days 04:05:06.789").unwrap();
        assert_eq!(iv.debezium_micros(), 37_091_106_789_000);
        let mut out = Vec::new();
        iv.write_debezium_iso(&mut out);
        assert_eq!(out, b"P1Y2M3DT4H5M6.789S");
        let iv = parse_interval(b"-1 days +02:00:00").unwrap();
        assert_eq!(iv.debezium_micros(), -79_200_000_000);
        let mut out = Vec::new();
        iv.write_debezium_iso(&mut out);
        assert_eq!(out, b"P0Y0M-1DT2H0M0S");
        let iv = parse_interval(b"-00:00:00.000001").unwrap();
        let mut out = Vec::new();
        iv.write_debezium_iso(&mut out);
        assert_eq!(out, b"P0Y0M0DT0H0M-0.000001S");
        assert_eq!(iv.to_iso_string(), "PT-0.000001S");
        assert_eq!(Interval::default().to_iso_string(), "PT0S");
        assert_eq!(
            parse_interval(b"1 year 2 mons 3 days 04:05:06.789")
                .unwrap()
                .to_iso_string(),
            "P1Y2M3DT4H5M6.789S"
        );
    }
}
