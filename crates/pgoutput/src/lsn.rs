//! Log sequence numbers.

use std::fmt;
use std::str::FromStr;

/// A PostgreSQL log sequence number: a byte position in the write-ahead log.
///
/// Displays and parses in PostgreSQL's own notation, the upper and lower 32 bits as
/// upper-case hex without zero padding, e.g. `16/B374D848`.
///
/// ```
/// use pgoutput::Lsn;
///
/// let lsn: Lsn = "16/B374D848".parse().unwrap();
/// assert_eq!(lsn, Lsn(0x16_B374_D848));
/// assert_eq!(lsn.to_string(), "16/B374D848");
/// assert_eq!(Lsn::ZERO.to_string(), "0/0");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Lsn(pub u64);

impl Lsn {
    /// `0/0`, which PostgreSQL also uses as "invalid" / "not set".
    pub const ZERO: Lsn = Lsn(0);

    /// The position as a plain integer.
    pub const fn as_u64(self) -> u64 {
        self.0
    }
}

impl From<u64> for Lsn {
    fn from(value: u64) -> Self {
        Lsn(value)
    }
}

impl From<Lsn> for u64 {
    fn from(lsn: Lsn) -> Self {
        lsn.0
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

/// The error returned when a string is not an LSN in `XXXXXXXX/XXXXXXXX` form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseLsnError {
    input: String,
}

impl fmt::Display for ParseLsnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid LSN {:?}: expected two hexadecimal numbers of 1 to 8 digits \
             separated by '/', e.g. 16/B374D848",
            self.input
        )
    }
}

impl std::error::Error for ParseLsnError {}

impl FromStr for Lsn {
    type Err = ParseLsnError;

    /// Accepts what PostgreSQL's `pg_lsn` input accepts: 1–8 hex digits (either case), `/`,
    /// 1–8 hex digits, nothing else (no sign, no whitespace).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseLsnError {
            input: s.to_owned(),
        };
        let (hi, lo) = s.split_once('/').ok_or_else(err)?;
        let half = |part: &str| -> Option<u64> {
            // from_str_radix alone would accept a leading '+'.
            if part.is_empty() || part.len() > 8 || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            u64::from_str_radix(part, 16).ok()
        };
        match (half(hi), half(lo)) {
            (Some(hi), Some(lo)) => Ok(Lsn((hi << 32) | lo)),
            _ => Err(err()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_matches_postgres() {
        assert_eq!(Lsn(0).to_string(), "0/0");
        assert_eq!(Lsn(0x0000_0000_0192_4B48).to_string(), "0/1924B48");
        assert_eq!(Lsn(u64::MAX).to_string(), "FFFFFFFF/FFFFFFFF");
        assert_eq!(Lsn(1 << 32).to_string(), "1/0");
    }

    #[test]
    fn parse_round_trips_and_rejects_garbage() {
        for v in [0u64, 1, 0x16_B374_D848, u64::MAX, 1 << 32] {
            assert_eq!(Lsn(v).to_string().parse::<Lsn>(), Ok(Lsn(v)));
        }
        assert_eq!("16/b374d848".parse::<Lsn>(), Ok(Lsn(0x16_B374_D848)));
        assert_eq!("00000000/00000001".parse::<Lsn>(), Ok(Lsn(1)));
        for bad in [
            "",
            "/",
            "1/",
            "/1",
            "1",
            "+1/2",
            "1/+2",
            "1/2/3",
            " 1/2",
            "123456789/0",
            "g/0",
        ] {
            let err = bad.parse::<Lsn>().unwrap_err();
            assert!(err.to_string().contains("invalid LSN"), "{bad}: {err}");
        }
    }
}
