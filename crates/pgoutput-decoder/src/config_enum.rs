//! [`config_enum!`]: a configuration enum declared once with its spellings, giving `FromStr`,
//! `Display`, `Default`, the list of values and the property name. Used for Debezium's
//! converter modes (`types/options.rs`) and libpq's connection keywords (`conn/params.rs`).

/// Declares a configuration enum with its spellings, `FromStr`, `Display` and `Default`.
/// The error message of `FromStr` lists every allowed value.
///
/// By default values parse as Debezium reads them: trimmed, ignoring ASCII case. With
/// `exact` after the default, they parse as libpq reads its keywords: exactly as spelled,
/// with libpq's error wording (`invalid sslmode "x": allowed values are ...`).
macro_rules! config_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $property:literal, default = $default:ident,
        { $($variants:tt)* }
    ) => {
        config_enum!(@define [$(#[$meta])*] $name, $property, $default, false, { $($variants)* });
    };
    (
        $(#[$meta:meta])*
        $name:ident, $property:literal, default = $default:ident, exact,
        { $($variants:tt)* }
    ) => {
        config_enum!(@define [$(#[$meta])*] $name, $property, $default, true, { $($variants)* });
    };
    (
        @define [$(#[$meta:meta])*] $name:ident, $property:literal, $default:ident, $exact:literal,
        { $( $(#[$vmeta:meta])* $variant:ident => $spelling:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every value, in documentation order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The property (Debezium's name, or libpq's keyword) this setting corresponds to.
            pub const PROPERTY: &'static str = $property;

            /// Every value's spelling, in [`ALL`](Self::ALL)'s order.
            pub const SPELLINGS: &'static [&'static str] = &[$($spelling),+];

            /// The default value.
            pub const DEFAULT: $name = $name::$default;

            /// This value as the property spells it.
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

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::Error;

            fn from_str(s: &str) -> $crate::Result<Self> {
                $crate::config_enum::parse_spelling(s, $name::ALL, $name::as_str, $property, $exact)
            }
        }
    };
}

pub(crate) use config_enum;

/// `FromStr` of every [`config_enum!`]: the value of `all` that `s` spells. `exact` parses as
/// libpq reads its keywords (as spelled, libpq's error wording); otherwise as Debezium reads
/// its properties (trimmed, ignoring ASCII case).
pub(crate) fn parse_spelling<T: Copy>(
    s: &str,
    all: &[T],
    spelling: fn(T) -> &'static str,
    property: &str,
    exact: bool,
) -> crate::Result<T> {
    let found = if exact {
        all.iter().find(|v| spelling(**v) == s)
    } else {
        let wanted = s.trim();
        all.iter()
            .find(|v| spelling(**v).eq_ignore_ascii_case(wanted))
    };
    if let Some(v) = found {
        return Ok(*v);
    }
    let allowed = all
        .iter()
        .map(|v| spelling(*v))
        .collect::<Vec<_>>()
        .join(", ");
    Err(crate::Error::config(if exact {
        format!("invalid {property} \"{s}\": allowed values are {allowed}")
    } else {
        format!("invalid value {s:?} for {property}; allowed values are: {allowed}")
    }))
}
