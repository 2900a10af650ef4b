//! Value conversion settings, named and defaulted exactly as Debezium's connector properties.
//!
//! Each mode parses from Debezium's spelling (`"precise"`, `"adaptive_time_microseconds"`,
//! `"base64-url-safe"`, ...) and prints back the same way, so configuration written for
//! Debezium can be passed through unchanged.

use std::{borrow::Cow, fmt, str::FromStr};

use crate::{Error, Result};

/// Declares a configuration enum with its Debezium spellings, `FromStr`, `Display` and
/// `Default`. The error message of `FromStr` lists every allowed value.
macro_rules! config_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $property:literal, default = $default:ident,
        { $( $(#[$vmeta:meta])* $variant:ident => $spelling:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every value, in Debezium's documentation order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The Debezium property this setting corresponds to.
            pub const PROPERTY: &'static str = $property;

            /// Every value's Debezium spelling, in [`ALL`](Self::ALL)'s order.
            pub const SPELLINGS: &'static [&'static str] = &[$($spelling),+];

            /// The default value (Debezium's).
            pub const DEFAULT: $name = $name::$default;

            /// Debezium's spelling of this value.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $spelling ),+
                }
            }
        }

        impl Default for $name {
            fn default() -> Self {
                $name::DEFAULT
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = Error;

            fn from_str(s: &str) -> Result<Self> {
                let wanted = s.trim();
                for v in $name::ALL {
                    if v.as_str().eq_ignore_ascii_case(wanted) {
                        return Ok(*v);
                    }
                }
                let allowed: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                Err(Error::config(format!(
                    "invalid value {:?} for {}; allowed values are: {}",
                    s,
                    $property,
                    allowed.join(", ")
                )))
            }
        }
    };
}

config_enum! {
    /// How `numeric`/`decimal` and `money` values are represented (`decimal.handling.mode`).
    DecimalHandlingMode, "decimal.handling.mode", default = Precise,
    {
        /// Kafka Connect `Decimal` (base64 of the unscaled two's-complement value); unconstrained
        /// `numeric` becomes `io.debezium.data.VariableScaleDecimal` `{"scale":..,"value":..}`.
        Precise => "precise",
        /// A JSON double (may lose precision).
        Double => "double",
        /// A JSON string holding the plain decimal text.
        String => "string",
    }
}

config_enum! {
    /// How `date`, `time` and `timestamp` values are represented (`time.precision.mode`).
    TimePrecisionMode, "time.precision.mode", default = Adaptive,
    {
        /// Millisecond or microsecond integers depending on the column precision.
        Adaptive => "adaptive",
        /// Like `adaptive`, but `time` is always microseconds.
        AdaptiveTimeMicroseconds => "adaptive_time_microseconds",
        /// Kafka Connect's built-in logical types (millisecond precision).
        Connect => "connect",
    }
}

config_enum! {
    /// How `bytea` values are represented (`binary.handling.mode`).
    BinaryHandlingMode, "binary.handling.mode", default = Bytes,
    {
        /// Connect BYTES, which the JSON converter writes as standard base64.
        Bytes => "bytes",
        /// A string with standard base64.
        Base64 => "base64",
        /// A string with URL-safe base64 (with padding, like Java's URL encoder).
        Base64UrlSafe => "base64-url-safe",
        /// A string with lowercase hex digits.
        Hex => "hex",
    }
}

config_enum! {
    /// How `interval` values are represented (`interval.handling.mode`).
    IntervalHandlingMode, "interval.handling.mode", default = Numeric,
    {
        /// Microseconds as an integer, a month counted as 30.4375 days (`io.debezium.time.MicroDuration`).
        Numeric => "numeric",
        /// An ISO-8601 duration string such as `P1Y2M3DT4H5M6.78S` (`io.debezium.time.Interval`).
        String => "string",
    }
}

config_enum! {
    /// How `hstore` values are represented (`hstore.handling.mode`).
    HstoreHandlingMode, "hstore.handling.mode", default = Json,
    {
        /// A string holding a JSON object.
        Json => "json",
        /// A JSON object (Connect MAP).
        Map => "map",
    }
}

config_enum! {
    /// How arrays with more than one dimension are written (`multidimensional.array.mode`,
    /// a setting of ours; Debezium has none).
    ///
    /// Debezium's Connect schema for every array column is a one-level array of the element
    /// type (PostgreSQL does not fix an array's dimensions), so a nested value cannot fit it:
    /// Debezium writes one `null` per sub-array. That is the default, for consumers that
    /// apply that schema; `nested` keeps the values.
    MultidimensionalArrayMode, "multidimensional.array.mode", default = NullSubarrays,
    {
        /// One `null` per sub-array (`{{1,2},{3,4}}` → `[null,null]`), as Debezium.
        NullSubarrays => "null_subarrays",
        /// Nested JSON arrays (`[[1,2],[3,4]]`).
        Nested => "nested",
    }
}

/// Debezium's default for `unavailable.value.placeholder`.
pub const DEFAULT_UNAVAILABLE_VALUE_PLACEHOLDER: &str = "__debezium_unavailable_value";

/// The placeholder's bytes for a `unavailable.value.placeholder` setting: a `hex:` prefix
/// gives raw bytes (`hex:deadbeef`), anything else is the text's UTF-8 bytes. `None` for a
/// malformed `hex:` value.
pub fn placeholder_bytes(spec: &str) -> Option<Cow<'_, [u8]>> {
    match spec.strip_prefix("hex:") {
        Some(hex) => decode_hex_setting(hex).map(Cow::Owned),
        None => Some(Cow::Borrowed(spec.as_bytes())),
    }
}

fn decode_hex_setting(hex: &str) -> Option<Vec<u8>> {
    let hex = hex.as_bytes();
    if hex.len() % 2 != 0 {
        return None;
    }
    hex.chunks_exact(2)
        .map(|pair| {
            let hi = (pair[0] as char).to_digit(16)?;
            let lo = (pair[1] as char).to_digit(16)?;
            Some((hi * 16 + lo) as u8)
        })
        .collect()
}

/// Debezium's default for `money.fraction.digits`.
pub const DEFAULT_MONEY_FRACTION_DIGITS: u8 = 2;

/// Every setting that changes how a column value is converted. `Default` gives Debezium's
/// defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertOptions {
    /// `decimal.handling.mode` (default `precise`).
    pub decimal_handling_mode: DecimalHandlingMode,
    /// `time.precision.mode` (default `adaptive`).
    pub time_precision_mode: TimePrecisionMode,
    /// `binary.handling.mode` (default `bytes`).
    pub binary_handling_mode: BinaryHandlingMode,
    /// `interval.handling.mode` (default `numeric`).
    pub interval_handling_mode: IntervalHandlingMode,
    /// `hstore.handling.mode` (default `json`).
    pub hstore_handling_mode: HstoreHandlingMode,
    /// `multidimensional.array.mode` (default `null_subarrays`, as Debezium).
    pub multidimensional_array_mode: MultidimensionalArrayMode,
    /// `money.fraction.digits` (default 2): the scale of `money` values in `precise` mode.
    pub money_fraction_digits: u8,
    /// `unavailable.value.placeholder` (default `__debezium_unavailable_value`); a `hex:`
    /// prefix gives raw bytes. [`ConvertOptions::validate`] checks the `hex:` form.
    pub unavailable_value_placeholder: String,
}

impl Default for ConvertOptions {
    fn default() -> Self {
        ConvertOptions {
            decimal_handling_mode: DecimalHandlingMode::default(),
            time_precision_mode: TimePrecisionMode::default(),
            binary_handling_mode: BinaryHandlingMode::default(),
            interval_handling_mode: IntervalHandlingMode::default(),
            hstore_handling_mode: HstoreHandlingMode::default(),
            multidimensional_array_mode: MultidimensionalArrayMode::default(),
            money_fraction_digits: DEFAULT_MONEY_FRACTION_DIGITS,
            unavailable_value_placeholder: DEFAULT_UNAVAILABLE_VALUE_PLACEHOLDER.to_owned(),
        }
    }
}

fn bad_placeholder(value: &str) -> Error {
    Error::config(format!(
        "invalid value {value:?} for unavailable.value.placeholder: after \"hex:\" an even \
         number of hex digits is required"
    ))
}

impl ConvertOptions {
    /// Checks settings whose type does not already guarantee validity (the `hex:` form of
    /// `unavailable.value.placeholder`).
    pub fn validate(&self) -> Result<()> {
        if placeholder_bytes(&self.unavailable_value_placeholder).is_none() {
            return Err(bad_placeholder(&self.unavailable_value_placeholder));
        }
        Ok(())
    }

    /// The placeholder's bytes (used for `bytea` and integer-array columns). A malformed
    /// `hex:` setting (see [`ConvertOptions::validate`]) is taken literally.
    pub fn placeholder_bytes(&self) -> Cow<'_, [u8]> {
        placeholder_bytes(&self.unavailable_value_placeholder)
            .unwrap_or(Cow::Borrowed(self.unavailable_value_placeholder.as_bytes()))
    }

    /// The placeholder as text (used for text-like columns): its bytes decoded as UTF-8,
    /// malformed sequences replaced, as Java's `new String(bytes)` does.
    pub fn placeholder_text(&self) -> Cow<'_, str> {
        match self.placeholder_bytes() {
            Cow::Borrowed(b) => String::from_utf8_lossy(b),
            Cow::Owned(b) => Cow::Owned(String::from_utf8_lossy(&b).into_owned()),
        }
    }
    /// Sets one option from its Debezium property name and string value
    /// (`decimal.handling.mode`, `time.precision.mode`, `binary.handling.mode`,
    /// `interval.handling.mode`, `hstore.handling.mode`, `multidimensional.array.mode`,
    /// `money.fraction.digits`, `unavailable.value.placeholder`). Returns `Ok(false)` when the key is not one of these.
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool> {
        match key {
            DecimalHandlingMode::PROPERTY => self.decimal_handling_mode = value.parse()?,
            TimePrecisionMode::PROPERTY => self.time_precision_mode = value.parse()?,
            BinaryHandlingMode::PROPERTY => self.binary_handling_mode = value.parse()?,
            IntervalHandlingMode::PROPERTY => self.interval_handling_mode = value.parse()?,
            HstoreHandlingMode::PROPERTY => self.hstore_handling_mode = value.parse()?,
            MultidimensionalArrayMode::PROPERTY => {
                self.multidimensional_array_mode = value.parse()?
            }
            "money.fraction.digits" => {
                self.money_fraction_digits = value.trim().parse().map_err(|_| {
                    Error::config(format!(
                        "invalid value {value:?} for money.fraction.digits; \
                         a whole number from 0 to 255 is required"
                    ))
                })?
            }
            "unavailable.value.placeholder" => {
                if placeholder_bytes(value).is_none() {
                    return Err(bad_placeholder(value));
                }
                self.unavailable_value_placeholder = value.to_owned()
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn defaults_match_debezium() {
        let o = ConvertOptions::default();
        assert_eq!(o.decimal_handling_mode.as_str(), "precise");
        assert_eq!(o.time_precision_mode.as_str(), "adaptive");
        assert_eq!(o.binary_handling_mode.as_str(), "bytes");
        assert_eq!(o.interval_handling_mode.as_str(), "numeric");
        assert_eq!(o.hstore_handling_mode.as_str(), "json");
        assert_eq!(o.money_fraction_digits, 2);
        assert_eq!(o.placeholder_text(), "__debezium_unavailable_value");
    }

    #[test]
    fn parse_round_trips_every_spelling() {
        for m in BinaryHandlingMode::ALL {
            assert_eq!(m.as_str().parse::<BinaryHandlingMode>().unwrap(), *m);
        }
        for m in TimePrecisionMode::ALL {
            assert_eq!(m.to_string().parse::<TimePrecisionMode>().unwrap(), *m);
        }
        assert_eq!(
            "base64-url-safe".parse::<BinaryHandlingMode>().unwrap(),
            BinaryHandlingMode::Base64UrlSafe
        );
        assert_eq!(
            "STRING".parse::<DecimalHandlingMode>().unwrap(),
            DecimalHandlingMode::String
        );
    }

    #[test]
    fn parse_error_lists_allowed_values() {
        let e = "fast".parse::<DecimalHandlingMode>().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(
            e.message().contains("precise, double, string"),
            "{}",
            e.message()
        );
        assert!(e.message().contains("decimal.handling.mode"));
    }

    #[test]
    fn placeholder_hex_prefix() {
        let mut o = ConvertOptions::default();
        assert!(o.set("unavailable.value.placeholder", "hex:00ff").unwrap());
        assert_eq!(&*o.placeholder_bytes(), &[0, 255]);
        assert_eq!(o.placeholder_text(), "\u{0}\u{fffd}");
        assert!(o.set("unavailable.value.placeholder", "hex:0").is_err());
        o.unavailable_value_placeholder = "hex:zz".to_owned();
        assert!(o.validate().is_err());
        assert_eq!(&*o.placeholder_bytes(), b"hex:zz");
    }

    #[test]
    fn set_by_property_name() {
        let mut o = ConvertOptions::default();
        assert!(o.set("interval.handling.mode", "string").unwrap());
        assert_eq!(o.interval_handling_mode, IntervalHandlingMode::String);
        assert!(o.set("money.fraction.digits", "3").unwrap());
        assert_eq!(o.money_fraction_digits, 3);
        assert!(!o.set("snapshot.mode", "initial").unwrap());
        assert!(o.set("money.fraction.digits", "-1").is_err());
    }
}
