//! Virtual time and per-node clocks.
//!
//! True time is an integer count of nanoseconds since the start of the run; it
//! belongs to the harness (history, trace, reports). Each node sees only its own
//! clock, which runs at `1 + drift` times the true rate from an offset, the way a
//! quartz clock with a bad crystal and a wrong setting does.
//!
//! A node reads that clock two ways, as a real machine does:
//! - the **wall clock** ([`NodeClock::local`], `Ctx::now`): offset, drift,
//!   skew and jumps all show. It is what a node may compare with another
//!   node's readings (timestamps, expiry times written into messages).
//! - the **monotonic clock** ([`NodeClock::monotonic`], `Ctx::monotonic_now`):
//!   the same oscillator, so it drifts, but skew settings and jumps never move
//!   it. It serves elapsed time on one node: leases, timeouts, deadlines.
//!
//! Time arithmetic on the simulation path saturates: a message is never
//! delayed by more than [`MAX_MESSAGE_DELAY`], so event times stay far from
//! the end of `u64` and every build computes the same times.

use serde::{Deserialize, Serialize};

/// Nanoseconds of virtual time.
pub type Nanos = u64;

pub const MICROS: Nanos = 1_000;
pub const MILLIS: Nanos = 1_000_000;
pub const SECONDS: Nanos = 1_000_000_000;

/// The longest a message can take from send to delivery, whatever the link's
/// latency distribution, extra delay, reordering or a Byzantine hold-back
/// add up to: one virtual hour. Longer than any run, so a message held this
/// long is as good as lost, and event times can never overflow.
pub const MAX_MESSAGE_DELAY: Nanos = 3_600 * SECONDS;

/// Parts per million: the unit of clock drift.
const PPM: i128 = 1_000_000;

/// A node's local clock.
///
/// Local time is `anchor_local + (true - anchor_true) * (1e6 + drift_ppm) / 1e6`.
/// Changing the drift re-anchors at the current true time, so the local clock is
/// continuous across a drift change; a jump moves it by a signed amount at once.
/// Local time never goes below zero.
///
/// The monotonic reading shares the anchor and the drift but has its own
/// anchor value, which offsets and jumps leave alone: it starts at zero and
/// advances at the drifting rate, nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeClock {
    anchor_true: Nanos,
    anchor_local: i128,
    anchor_monotonic: i128,
    drift_ppm: i64,
}

impl Default for NodeClock {
    fn default() -> Self {
        Self::new()
    }
}

impl NodeClock {
    /// A clock that agrees with true time.
    pub fn new() -> Self {
        Self {
            anchor_true: 0,
            anchor_local: 0,
            anchor_monotonic: 0,
            drift_ppm: 0,
        }
    }

    /// Local nanoseconds elapsed since the anchor, at true time `now`.
    fn since_anchor(&self, now: Nanos) -> i128 {
        let elapsed = now.saturating_sub(self.anchor_true) as i128;
        elapsed * (PPM + self.drift_ppm as i128) / PPM
    }

    /// The wall-clock reading at true time `now`.
    pub fn local(&self, now: Nanos) -> Nanos {
        let local = self.anchor_local + self.since_anchor(now);
        local.clamp(0, u64::MAX as i128) as Nanos
    }

    /// The monotonic reading at true time `now`: drift shows, offsets and
    /// jumps do not, and it never goes back.
    pub fn monotonic(&self, now: Nanos) -> Nanos {
        let mono = self.anchor_monotonic + self.since_anchor(now);
        mono.clamp(0, u64::MAX as i128) as Nanos
    }

    /// Moves the anchor to `now`, carrying the monotonic reading over.
    fn reanchor(&mut self, now: Nanos) {
        self.anchor_monotonic += self.since_anchor(now);
        self.anchor_true = now;
    }

    /// The signed difference between local and true time at `now`.
    pub fn skew(&self, now: Nanos) -> i128 {
        self.local(now) as i128 - now as i128
    }

    /// Sets the local clock to read `true + offset` at true time `now`, keeping the drift.
    pub fn set_offset(&mut self, now: Nanos, offset: i64) {
        self.reanchor(now);
        self.anchor_local = now as i128 + offset as i128;
    }

    /// Moves the local clock by `delta` (forward if positive) at true time `now`.
    pub fn jump(&mut self, now: Nanos, delta: i64) {
        let local = self.local(now) as i128;
        self.reanchor(now);
        self.anchor_local = local + delta as i128;
    }

    /// Sets the drift rate in parts per million (positive runs fast) from `now` on.
    /// A drift at or below -1e6 would stop or reverse the clock, so it is clamped
    /// to -999_999.
    pub fn set_drift(&mut self, now: Nanos, drift_ppm: i64) {
        let local = self.local(now) as i128;
        self.reanchor(now);
        self.anchor_local = local;
        self.drift_ppm = drift_ppm.max(-999_999);
    }

    pub fn drift_ppm(&self) -> i64 {
        self.drift_ppm
    }

    /// The true duration that elapses while this clock advances by `local`:
    /// timers are set in local durations and scheduled in true time.
    pub fn true_duration(&self, local: Nanos) -> Nanos {
        let d = local as i128 * PPM / (PPM + self.drift_ppm as i128);
        d.clamp(0, u64::MAX as i128) as Nanos
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_clock_reads_true_time() {
        let c = NodeClock::new();
        assert_eq!(c.local(12_345), 12_345);
    }

    #[test]
    fn offset_drift_and_jump_compose() {
        let mut c = NodeClock::new();
        c.set_offset(1_000, 500);
        assert_eq!(c.local(2_000), 2_500);
        // 10% fast from t=2000.
        c.set_drift(2_000, 100_000);
        assert_eq!(c.local(3_000), 2_500 + 1_100);
        c.jump(3_000, -600);
        assert_eq!(c.local(3_000), 3_000);
        assert_eq!(c.local(4_000), 4_100);
        // A timer of 1100 local ns takes 1000 true ns on a clock 10% fast.
        assert_eq!(c.true_duration(1_100), 1_000);
    }

    #[test]
    fn the_monotonic_reading_drifts_but_ignores_offsets_and_jumps() {
        let mut c = NodeClock::new();
        c.set_offset(1_000, 5_000);
        assert_eq!((c.local(1_000), c.monotonic(1_000)), (6_000, 1_000));
        c.set_drift(2_000, 100_000);
        assert_eq!(c.monotonic(3_000), 2_000 + 1_100);
        c.jump(3_000, -4_000);
        assert_eq!(c.local(3_000), 8_100 - 4_000);
        assert_eq!(c.monotonic(3_000), 3_100);
        assert_eq!(c.monotonic(4_000), 4_200);
        c.set_offset(4_000, -3_000);
        assert_eq!((c.local(4_000), c.monotonic(5_000)), (1_000, 5_300));
    }

    #[test]
    fn local_time_never_negative() {
        let mut c = NodeClock::new();
        c.jump(10, -1_000);
        assert_eq!(c.local(10), 0);
    }
}

/// Serde for durations: a bare integer is nanoseconds; a string carries a unit
/// (`"250us"`, `"1.5ms"`, `"2s"`, `"750ns"`). Written back as the shortest exact
/// string, so a scenario round-trips unchanged.
pub mod duration {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Nanos;

    const UNITS: [(&str, u64); 4] = [
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
        ("us", 1_000),
        ("ns", 1),
    ];

    pub fn format(ns: Nanos) -> String {
        for (unit, scale) in UNITS {
            if ns != 0 && ns.is_multiple_of(scale) {
                return format!("{}{unit}", ns / scale);
            }
        }
        "0ns".into()
    }

    pub fn parse(text: &str) -> Result<Nanos, String> {
        let t = text.trim();
        // Try longer suffixes first so that "ms" is not read as "s".
        for (unit, scale) in [
            ("ms", 1_000_000u64),
            ("us", 1_000),
            ("ns", 1),
            ("s", 1_000_000_000),
        ] {
            if let Some(number) = t.strip_suffix(unit) {
                let x: f64 = number.trim().parse().map_err(|_| {
                    format!("`{text}` is not a duration (e.g. \"250us\", \"1.5ms\", \"2s\")")
                })?;
                if !(x.is_finite() && x >= 0.0) {
                    return Err(format!(
                        "`{text}`: a duration must be finite and not negative"
                    ));
                }
                return Ok((x * scale as f64).round() as Nanos);
            }
        }
        Err(format!("`{text}` has no unit (use ns, us, ms or s)"))
    }

    pub fn serialize<S: Serializer>(ns: &Nanos, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(*ns))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Nanos, D::Error> {
        // A bare number is refused rather than read as nanoseconds: `duration
        // = 5` meant seconds to whoever wrote it, and 5 ns runs nothing.
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Number(f64),
            Text(String),
        }
        match Form::deserialize(d)? {
            Form::Number(n) => Err(serde::de::Error::custom(format!(
                "`{n}` has no unit: a duration is a string with one (e.g. \"{n}s\", \"{n}ms\")"
            ))),
            Form::Text(t) => parse(&t).map_err(serde::de::Error::custom),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn parses_and_formats_exactly() {
            assert_eq!(parse("1.5ms"), Ok(1_500_000));
            assert_eq!(parse("2s"), Ok(2_000_000_000));
            assert_eq!(parse("250us"), Ok(250_000));
            assert_eq!(format(1_500_000), "1500us");
            assert_eq!(format(2_000_000_000), "2s");
            assert!(parse("-1ms").is_err());
            assert!(parse("12").unwrap_err().contains("no unit"));
        }
    }
}

/// The longest protocol setting (a timeout, an interval, a hold) a scenario
/// may give: a day, as long as a run may last. Longer ones could only
/// overflow the arithmetic that adds them up.
pub const MAX_SETTING: Nanos = 86_400 * SECONDS;

/// The shortest timeout or interval a protocol may re-arm: a timer shorter
/// than a microsecond schedules events faster than any network answers
/// them, and a run with one only piles up events.
pub const MIN_TIMER: Nanos = MICROS;

/// A protocol's duration setting, `0s ..= MAX_SETTING` (think times, drifts,
/// back-offs): [`duration`]'s format with a range. For
/// `#[serde(with = "sim_core::time::setting")]`.
pub mod setting {
    use serde::{Deserializer, Serializer};

    use super::{duration, Nanos, MAX_SETTING};

    /// `ns` if it lies in `min ..= MAX_SETTING`, else what is wrong with it.
    pub fn check(ns: Nanos, min: Nanos) -> Result<Nanos, String> {
        if ns < min {
            return Err(format!(
                "{} is shorter than the {} a timer may last",
                duration::format(ns),
                duration::format(min)
            ));
        }
        if ns > MAX_SETTING {
            return Err(format!(
                "{} is longer than the {} a setting may last",
                duration::format(ns),
                duration::format(MAX_SETTING)
            ));
        }
        Ok(ns)
    }

    /// A whole number of milliseconds (the older `*_ms` options) as a setting.
    pub fn from_millis(ms: u64, min: Nanos) -> Result<Nanos, String> {
        match ms.checked_mul(super::MILLIS) {
            Some(ns) if ns <= MAX_SETTING => check(ns, min),
            _ => Err(format!(
                "{ms}ms is longer than the {} a setting may last",
                duration::format(MAX_SETTING)
            )),
        }
    }

    pub fn serialize<S: Serializer>(ns: &Nanos, s: S) -> Result<S::Ok, S::Error> {
        duration::serialize(ns, s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Nanos, D::Error> {
        check(duration::deserialize(d)?, 0).map_err(serde::de::Error::custom)
    }
}

/// A protocol's timeout or interval, `MIN_TIMER ..= MAX_SETTING`. For
/// `#[serde(with = "sim_core::time::timer")]`.
pub mod timer {
    use serde::{Deserializer, Serializer};

    use super::{duration, setting, Nanos, MIN_TIMER};

    pub fn serialize<S: Serializer>(ns: &Nanos, s: S) -> Result<S::Ok, S::Error> {
        duration::serialize(ns, s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Nanos, D::Error> {
        setting::check(duration::deserialize(d)?, MIN_TIMER).map_err(serde::de::Error::custom)
    }

    #[cfg(test)]
    mod tests {
        use super::super::{setting, MAX_SETTING, MILLIS, MIN_TIMER};

        #[test]
        fn settings_and_timers_have_a_range() {
            assert_eq!(setting::check(0, 0), Ok(0));
            assert_eq!(setting::check(MAX_SETTING, MIN_TIMER), Ok(MAX_SETTING));
            let short = setting::check(1, MIN_TIMER).unwrap_err();
            assert!(short.contains("1ns is shorter than the 1us"), "{short}");
            let long = setting::check(MAX_SETTING + 1, 0).unwrap_err();
            assert!(long.contains("longer than the 86400s"), "{long}");
            assert_eq!(setting::from_millis(5, MIN_TIMER), Ok(5 * MILLIS));
            assert!(setting::from_millis(u64::MAX, 0).is_err());
        }
    }
}
