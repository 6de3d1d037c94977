//! Where axis ticks go and how times are written.
//!
//! Ticks fall on 1-2-5 steps (…, 1, 2, 5, 10, 20, 50, …): on a linear axis
//! the step is the 1-2-5 number that gives a handful of ticks, on a log axis
//! every 1, 2 and 5 of each decade is a tick (only the powers of ten when the
//! axis spans so many decades that the others would crowd). Times are never
//! shown in raw nanoseconds: a linear time axis is written in ms or s, chosen
//! from its range, and a single time (a log tick, a hover text, a caption)
//! in whichever of the two reads best for that value.

use plotters::coord::combinators::{IntoLogRange, LogCoord};
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;
use sim_core::Nanos;

/// An axis with the ticks we choose: `labelled` get a label and a grid
/// line, `light` a light grid line only. (plotters' own `WithKeyPoints`
/// does the same but cannot take a label formatter.)
pub(crate) struct Ticked<R: Ranged> {
    inner: R,
    labelled: Vec<R::ValueType>,
    light: Vec<R::ValueType>,
}

impl<R: Ranged> Ticked<R> {
    pub fn new(inner: impl Into<R>, labelled: Vec<R::ValueType>, light: Vec<R::ValueType>) -> Self {
        Self {
            inner: inner.into(),
            labelled,
            light,
        }
    }
}

impl<R: Ranged> Ranged for Ticked<R>
where
    R::ValueType: Clone,
{
    type ValueType = R::ValueType;
    type FormatOption = DefaultFormatting;

    fn range(&self) -> std::ops::Range<Self::ValueType> {
        self.inner.range()
    }

    fn map(&self, value: &Self::ValueType, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<Self::ValueType> {
        if hint.weight().allow_light_points() {
            self.light.clone()
        } else {
            self.labelled.clone()
        }
    }

    fn axis_pixel_range(&self, limit: (i32, i32)) -> std::ops::Range<i32> {
        self.inner.axis_pixel_range(limit)
    }
}

/// A linear axis over `lo..hi` with 1-2-5 ticks.
pub(crate) fn linear_axis(lo: f64, hi: f64) -> Ticked<RangedCoordf64> {
    Ticked::new(lo..hi, linear_ticks(lo, hi), vec![])
}

/// A log axis over `lo..hi` widened to the 1-2-5 values around it, so that
/// both ends are labelled and even a narrow range shows a few ticks.
pub(crate) fn log_axis(lo: f64, hi: f64) -> Ticked<LogCoord<f64>> {
    let (lo, hi) = log_span(lo, hi);
    let (labelled, light) = log_ticks(lo, hi);
    Ticked::new((lo..hi).log_scale(), labelled, light)
}

/// `lo..hi` (both > 0) widened to the nearest 1-2-5 values outside it.
pub(crate) fn log_span(lo: f64, hi: f64) -> (f64, f64) {
    if !(lo > 0.0 && hi > lo && hi.is_finite()) {
        return (lo, hi);
    }
    let steps = |x: f64| {
        let decade = 10f64.powf(x.log10().floor());
        [0.5, 1.0, 2.0, 5.0, 10.0].map(|m| clean(m * decade))
    };
    let below = steps(lo).into_iter().rfind(|&t| t <= lo).unwrap_or(lo);
    let above = steps(hi).into_iter().find(|&t| t >= hi).unwrap_or(hi);
    (below, above)
}

/// The unit a time axis is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeUnit {
    Ms,
    S,
}

impl TimeUnit {
    /// Seconds for an axis that reaches 1 s, else milliseconds: a 5 s run
    /// reads 0, 1, 2 … s; a run shrunk to 0.8 s reads 0, 100, 200 … ms.
    pub fn for_span(max: Nanos) -> Self {
        if max >= 1_000_000_000 {
            TimeUnit::S
        } else {
            TimeUnit::Ms
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            TimeUnit::Ms => "ms",
            TimeUnit::S => "s",
        }
    }

    /// Nanoseconds in one of this unit.
    pub fn nanos(self) -> f64 {
        match self {
            TimeUnit::Ms => 1e6,
            TimeUnit::S => 1e9,
        }
    }

    /// `ns` in this unit.
    pub fn of(self, ns: f64) -> f64 {
        ns / self.nanos()
    }
}

/// The time axis of a run's plot: virtual time from 0 to the run's end, in
/// the unit its range calls for. Plot coordinates are in that unit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TimeAxis {
    pub unit: TimeUnit,
    pub end: Nanos,
}

impl TimeAxis {
    pub fn new(end: Nanos) -> Self {
        Self {
            unit: TimeUnit::for_span(end),
            end: end.max(1),
        }
    }

    /// The plot coordinate of time `ns`.
    pub fn at(&self, ns: Nanos) -> f64 {
        self.unit.of(ns as f64)
    }

    /// The axis plotters draws: 0 to the end, 1-2-5 ticks.
    pub fn coord(&self) -> Ticked<RangedCoordf64> {
        linear_axis(0.0, self.at(self.end))
    }

    /// The axis description: `what (s)`.
    pub fn desc(&self, what: &str) -> String {
        format!("{what} ({})", self.unit.name())
    }
}

/// At most this many labelled ticks on a linear axis.
const LINEAR_TICKS: f64 = 10.0;
/// Beyond this many decades, a log axis labels only the powers of ten.
const LOG_DECADES_WITH_2_AND_5: f64 = 5.0;

/// The 1-2-5 step that puts at most [`LINEAR_TICKS`] ticks over `span`.
fn linear_step(span: f64) -> f64 {
    let rough = span / LINEAR_TICKS;
    let decade = 10f64.powf(rough.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * decade)
        .find(|&step| step >= rough)
        .unwrap_or(10.0 * decade)
}

/// Ticks on a linear axis over `lo..=hi`: the multiples of a 1-2-5 step.
pub(crate) fn linear_ticks(lo: f64, hi: f64) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return vec![lo];
    }
    let step = linear_step(hi - lo);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    // Multiplying (rather than adding steps up) keeps 0.1 * 3 from becoming
    // 0.30000000000000004 on the label.
    (first..=last).map(|i| clean(i as f64 * step)).collect()
}

/// Ticks on a log axis over `lo..=hi` (both > 0): 1, 2 and 5 of every
/// decade, or the powers of ten alone over more than
/// [`LOG_DECADES_WITH_2_AND_5`] decades. Returns (labelled, unlabelled):
/// the 2s and 5s a wide axis does not label still get light grid lines.
pub(crate) fn log_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    if !(lo > 0.0 && hi > lo && hi.is_finite()) {
        return (vec![], vec![]);
    }
    let wide = (hi / lo).log10() > LOG_DECADES_WITH_2_AND_5;
    let (mut labelled, mut light) = (Vec::new(), Vec::new());
    let mut exponent = lo.log10().floor() as i32;
    while 10f64.powi(exponent) <= hi {
        for m in [1.0, 2.0, 5.0] {
            let tick = clean(m * 10f64.powi(exponent));
            if tick < lo * (1.0 - 1e-9) || tick > hi * (1.0 + 1e-9) {
                continue;
            }
            if m == 1.0 || !wide {
                labelled.push(tick);
            } else {
                light.push(tick);
            }
        }
        exponent += 1;
    }
    (labelled, light)
}

/// Rounds away the binary noise of a product like 3 * 0.1 (15 significant
/// digits are far more than any label shows).
fn clean(x: f64) -> f64 {
    if x == 0.0 {
        return 0.0;
    }
    let digits = 14 - x.abs().log10().floor() as i32;
    let scale = 10f64.powi(digits.clamp(-300, 300));
    (x * scale).round() / scale
}

/// A number as short as it can be written: no trailing zeros, at most
/// `decimals` decimals.
fn trimmed(x: f64, decimals: usize) -> String {
    let s = format!("{x:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" {
        "0".into()
    } else {
        s
    }
}

/// A tick label on an axis written in `unit`: the number alone (the unit
/// is in the axis description).
pub(crate) fn tick_label(seconds_or_ms: f64) -> String {
    trimmed(seconds_or_ms, 6)
}

/// A duration or instant of `ns` nanoseconds for a person: `1.887 s`,
/// `383.8 ms`, `0.25 ms`, with the unit, to about four significant digits.
pub(crate) fn duration(ns: f64) -> String {
    let unit = if ns.abs() >= 1e9 {
        TimeUnit::S
    } else {
        TimeUnit::Ms
    };
    let v = unit.of(ns);
    let decimals = match v.abs() {
        a if a >= 100.0 => 1,
        a if a >= 10.0 => 2,
        a if a >= 1.0 => 3,
        _ => 4,
    };
    format!("{} {}", trimmed(v, decimals), unit.name())
}

/// An instant of a run for a hover text, precise to the microsecond:
/// `1.886843 s`, `383.784 ms`.
pub(crate) fn instant(ns: Nanos) -> String {
    if ns >= 1_000_000_000 {
        format!("{:.6} s", ns as f64 / 1e9)
    } else {
        format!("{:.3} ms", ns as f64 / 1e6)
    }
}

/// A tick of a log time axis whose values are in milliseconds: each label
/// carries its own unit (`500 ms`, `1 s`, `2 s`), since one unit cannot
/// write both ends of a wide log axis well.
pub(crate) fn log_time_label(ms: f64) -> String {
    duration(ms * 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_ticks_step_1_2_5_through_every_decade() {
        let (labelled, light) = log_ticks(1.3, 60.0);
        assert_eq!(labelled, [2.0, 5.0, 10.0, 20.0, 50.0]);
        assert!(light.is_empty());
        let (labelled, _) = log_ticks(0.05, 1.0);
        assert_eq!(labelled, [0.05, 0.1, 0.2, 0.5, 1.0]);
    }

    #[test]
    fn the_healthy_demo_gets_labelled_ticks_below_10_ms() {
        // register-healthy: latencies from about 2 ms to 10 ms, on an axis
        // from 2 / 1.5 ms to 10 * 1.5 * 4 ms.
        let (labelled, _) = log_ticks(1.4, 60.0);
        assert!(labelled.contains(&2.0) && labelled.contains(&5.0));
    }

    #[test]
    fn log_axes_widen_to_the_1_2_5_values_around_the_data() {
        assert_eq!(log_span(2.1, 15.9), (2.0, 20.0));
        assert_eq!(log_span(1.4, 60.0), (1.0, 100.0));
        assert_eq!(log_span(0.3, 0.5), (0.2, 0.5));
        let (lo, hi) = log_span(2.1, 15.9);
        assert_eq!(log_ticks(lo, hi).0, [2.0, 5.0, 10.0, 20.0]);
    }

    #[test]
    fn wide_log_axes_label_powers_of_ten_and_keep_the_rest_as_grid() {
        let (labelled, light) = log_ticks(0.01, 1e6);
        assert_eq!(labelled, [0.01, 0.1, 1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6]);
        assert_eq!(light.len(), 2 * 8);
        assert!(light.contains(&0.02) && light.contains(&5e5));
    }

    #[test]
    fn log_ticks_of_an_empty_or_bad_range_are_none() {
        assert_eq!(log_ticks(0.0, 10.0), (vec![], vec![]));
        assert_eq!(log_ticks(5.0, 5.0), (vec![], vec![]));
    }

    #[test]
    fn linear_ticks_are_multiples_of_a_1_2_5_step() {
        assert_eq!(
            linear_ticks(0.0, 5.0),
            [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0]
        );
        assert_eq!(
            linear_ticks(0.0, 882.0),
            [0.0, 100.0, 200.0, 300.0, 400.0, 500.0, 600.0, 700.0, 800.0]
        );
        assert_eq!(
            linear_ticks(0.0, 0.7),
            [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]
        );
        assert_eq!(
            linear_ticks(1783.0, 1889.0),
            [1800.0, 1820.0, 1840.0, 1860.0, 1880.0]
        );
        assert_eq!(
            linear_ticks(0.0, 37.0),
            [0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0]
        );
    }

    #[test]
    fn the_unit_follows_the_axis_range() {
        assert_eq!(TimeUnit::for_span(5_000_000_000), TimeUnit::S);
        assert_eq!(TimeUnit::for_span(1_000_000_000), TimeUnit::S);
        assert_eq!(TimeUnit::for_span(882_000_000), TimeUnit::Ms);
        assert_eq!(TimeUnit::S.of(2.5e9), 2.5);
        assert_eq!(TimeUnit::Ms.of(2.5e9), 2500.0);
    }

    #[test]
    fn single_times_choose_ms_or_s_and_never_show_ns() {
        assert_eq!(duration(1_886_843_199.0), "1.887 s");
        assert_eq!(duration(383_783_735.0), "383.8 ms");
        assert_eq!(duration(12_345_678.0), "12.35 ms");
        assert_eq!(duration(250_000.0), "0.25 ms");
        assert_eq!(duration(0.0), "0 ms");
        assert_eq!(log_time_label(500.0), "500 ms");
        assert_eq!(log_time_label(2000.0), "2 s");
        assert_eq!(log_time_label(0.2), "0.2 ms");
        assert_eq!(tick_label(1.5), "1.5");
        assert_eq!(instant(1_886_843_199), "1.886843 s");
        assert_eq!(instant(383_783_735), "383.784 ms");
        assert_eq!(tick_label(0.30000000000000004), "0.3");
    }
}
