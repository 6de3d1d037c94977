//! Milliseconds in the serde form, nanoseconds in the kernel.
//!
//! Schedules are written by people (scenario TOML) and read back from
//! `faults.json`, so times are numbers of milliseconds: `at_ms = 1500`,
//! `duration_ms = 0.25`. They are `f64`, so fractions are allowed (a 250 µs
//! delay) and a negative or non-finite value is representable and reported by
//! validation rather than lost in parsing. Conversion rounds to the nearest
//! nanosecond; generators draw whole microseconds, which print exactly
//! (`1234.567`) and convert back to the same nanosecond, so a schedule
//! round-trips through JSON and TOML unchanged.

use sim_core::Nanos;

/// Nanoseconds of a validated (finite, non-negative) millisecond value.
pub fn to_nanos(ms: f64) -> Nanos {
    let ns = (ms * 1e6).round();
    if ns.is_finite() && ns > 0.0 {
        // `as` saturates at u64::MAX, which no schedule reaches.
        ns as Nanos
    } else {
        0
    }
}

/// Signed nanoseconds (clock offsets and jumps), saturating.
pub fn to_signed_nanos(ms: f64) -> i64 {
    let ns = (ms * 1e6).round();
    if ns.is_finite() {
        ns as i64
    } else {
        0
    }
}

/// Milliseconds of a nanosecond count (exact for whole microseconds below ~285 years).
pub fn from_nanos(ns: Nanos) -> f64 {
    ns as f64 / 1e6
}

/// Human form of a millisecond value for labels: `300ms`, `0.25ms`, `2s`.
pub fn label(ms: f64) -> String {
    if ms != 0.0 && ms.abs() >= 1000.0 && (ms / 1000.0).fract() == 0.0 {
        format!("{}s", ms / 1000.0)
    } else {
        format!("{ms}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_microseconds_round_trip() {
        for us in [0u64, 1, 999, 1_234_567, 86_400_000_000, 123_456_789_012] {
            let ns = us * 1000;
            let ms = from_nanos(ns);
            let text = serde_json::to_string(&ms).unwrap();
            let back: f64 = serde_json::from_str(&text).unwrap();
            assert_eq!(to_nanos(back), ns, "{text}");
        }
    }

    #[test]
    fn rounding_and_edges() {
        assert_eq!(to_nanos(0.25), 250_000);
        assert_eq!(to_nanos(-3.0), 0);
        assert_eq!(to_nanos(f64::NAN), 0);
        assert_eq!(to_signed_nanos(-1.5), -1_500_000);
        assert_eq!(label(2000.0), "2s");
        assert_eq!(label(250.0), "250ms");
        assert_eq!(label(-1000.0), "-1s");
    }
}
