//! PostgreSQL timestamps: `i64` microseconds since 2000-01-01 00:00:00 UTC.
//!
//! The conversions saturate instead of overflowing, so PostgreSQL's `infinity` and
//! `-infinity` (`i64::MAX` / `i64::MIN`) stay at the extremes and no input can panic.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Microseconds from the Unix epoch (1970-01-01) to the PostgreSQL epoch (2000-01-01).
pub const PG_EPOCH_OFFSET_MICROS: i64 = 946_684_800_000_000;

/// Converts a PostgreSQL timestamp to microseconds since the Unix epoch.
///
/// ```
/// // 2024-01-01 00:00:00 UTC
/// assert_eq!(pgoutput::pg_to_unix_micros(757_382_400_000_000), 1_704_067_200_000_000);
/// ```
pub const fn pg_to_unix_micros(pg_micros: i64) -> i64 {
    pg_micros.saturating_add(PG_EPOCH_OFFSET_MICROS)
}

/// Converts microseconds since the Unix epoch to a PostgreSQL timestamp.
pub const fn unix_to_pg_micros(unix_micros: i64) -> i64 {
    unix_micros.saturating_sub(PG_EPOCH_OFFSET_MICROS)
}

/// Converts a `SystemTime` (e.g. `SystemTime::now()` for a standby status update's client
/// time) to a PostgreSQL timestamp, saturating outside the representable range.
pub fn system_time_to_pg_micros(time: SystemTime) -> i64 {
    let unix = match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_micros()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_micros()).map_or(i64::MIN, |m| -m),
    };
    unix_to_pg_micros(unix)
}

/// Converts a PostgreSQL timestamp to a `SystemTime`, or `None` when the platform cannot
/// represent it (including `infinity`).
pub fn pg_micros_to_system_time(pg_micros: i64) -> Option<SystemTime> {
    let unix = pg_micros.checked_add(PG_EPOCH_OFFSET_MICROS)?;
    let offset = Duration::from_micros(unix.unsigned_abs());
    if unix >= 0 {
        UNIX_EPOCH.checked_add(offset)
    } else {
        UNIX_EPOCH.checked_sub(offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        assert_eq!(pg_to_unix_micros(0), PG_EPOCH_OFFSET_MICROS);
        assert_eq!(unix_to_pg_micros(PG_EPOCH_OFFSET_MICROS), 0);
        assert_eq!(pg_to_unix_micros(i64::MAX), i64::MAX);
        assert_eq!(unix_to_pg_micros(i64::MIN), i64::MIN);
        let t = UNIX_EPOCH + Duration::from_micros(1_704_067_200_123_456);
        let pg = system_time_to_pg_micros(t);
        assert_eq!(pg, 757_382_400_123_456);
        assert_eq!(pg_micros_to_system_time(pg), Some(t));
        let before = UNIX_EPOCH - Duration::from_micros(5);
        assert_eq!(
            system_time_to_pg_micros(before),
            -5 - PG_EPOCH_OFFSET_MICROS
        );
        assert_eq!(
            pg_micros_to_system_time(-5 - PG_EPOCH_OFFSET_MICROS),
            Some(before)
        );
        assert_eq!(pg_micros_to_system_time(i64::MAX), None);
    }
}
