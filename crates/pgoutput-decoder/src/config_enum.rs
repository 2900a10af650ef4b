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
        config_enum!(@define [$(#[$meta])*] $name, $property, $default, { $($variants)* });

        impl ::std::str::FromStr for $name {
            type Err = $crate::Error;

            fn from_str(s: &str) -> $crate::Result<Self> {
                let wanted = s.trim();
                for v in $name::ALL {
                    if v.as_str().eq_ignore_ascii_case(wanted) {
                        return Ok(*v);
                    }
                }
                let allowed: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                Err($crate::Error::config(format!(
                    "invalid value {:?} for {}; allowed values are: {}",
                    s,
                    $property,
                    allowed.join(", ")
                )))
            }
        }
    };
    (
        $(#[$meta:meta])*
        $name:ident, $property:literal, default = $default:ident, exact,
        { $($variants:tt)* }
    ) => {
        config_enum!(@define [$(#[$meta])*] $name, $property, $default, { $($variants)* });

        impl ::std::str::FromStr for $name {
            type Err = $crate::Error;

            fn from_str(s: &str) -> $crate::Result<Self> {
                if let Some(v) = $name::ALL.iter().find(|v| v.as_str() == s) {
                    return Ok(*v);
                }
                let allowed: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                Err($crate::Error::config(format!(
                    "invalid {} \"{}\": allowed values are {}",
                    $property,
                    s,
                    allowed.join(", ")
                )))
            }
        }
    };
    (
        @define [$(#[$meta:meta])*] $name:ident, $property:literal, $default:ident,
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
    };
}

pub(crate) use config_enum;
