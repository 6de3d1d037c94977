//! The plots of a sweep: violations by fault kind (or by failed check), and
//! a histogram of one metric across seeds. Bars of fault kinds take their
//! kind's colour, as fault intervals do on a run's plots; a time metric is
//! shown in ms or s; ticks fall on 1-2-5 steps.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::axis::{linear_axis, linear_ticks, tick_label, Ticked, TimeUnit};
use crate::fault_kind::{families, FaultFamily};
use crate::figure::{draw_legend, short_number, text, Drawn, Figure, FAIL, OK};
use crate::sweep_input::Category;

/// A count axis over `0..top`: 1-2-5 ticks, whole numbers only (there is no
/// half a seed).
fn count_axis(top: f64) -> Ticked<plotters::coord::types::RangedCoordf64> {
    let ticks = linear_ticks(0.0, top)
        .into_iter()
        .filter(|t| t.fract() == 0.0)
        .collect();
    Ticked::new(0.0..top, ticks, vec![])
}

/// Bars of the metric histogram.
const BINS: usize = 20;
/// Slots of the violations plot, at least.
const MIN_SLOTS: usize = 4;

/// `violations`: how many failing seeds fall under each category, with
/// "failing / seeds in the category" above each bar.
pub(crate) struct ViolationsPlot {
    /// What the categories are: `fault kind` or `check`.
    pub what: &'static str,
    pub counts: Vec<Category>,
    pub seeds: usize,
}

impl Figure for ViolationsPlot {
    fn name(&self) -> &'static str {
        "violations"
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let failing: u64 = self.counts.iter().map(|c| c.failing).sum();
        let caption = if failing == 0 {
            format!("No violations in {} seeds", self.seeds)
        } else {
            format!("Violations by {} ({} seeds)", self.what, self.seeds)
        };
        // At least MIN_SLOTS slots so that one or two bars are not a wall of
        // colour; the bars are centred among them.
        let n = self.counts.len().max(MIN_SLOTS) as i32;
        let offset = (n - self.counts.len() as i32) / 2;
        // Bars show every seed of the category (outline) and the failing
        // ones among them (filled): how often a kind ran, and how often it failed.
        let top = self
            .counts
            .iter()
            .map(|c| c.seeds)
            .max()
            .unwrap_or(1)
            .max(1) as f64
            * 1.25;
        let by_fault = self.what == "fault kind";
        let colour = |name: &str| {
            if by_fault && name != "no faults" {
                FaultFamily::of(name).colour
            } else {
                FAIL
            }
        };
        let names: Vec<&str> = self.counts.iter().map(|c| c.name.as_str()).collect();
        let label = |v: &SegmentValue<i32>| match v {
            SegmentValue::CenterOf(i) => i
                .checked_sub(offset)
                .and_then(|i| names.get(i as usize))
                .map_or(String::new(), |s| s.to_string()),
            _ => String::new(),
        };
        let mut chart = ChartBuilder::on(root)
            .caption(caption, text(20))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d((0i32..n - 1).into_segmented(), count_axis(top))?; // n segments: integer ranges include their end
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n as usize)
            .x_desc(self.what)
            .y_desc("seeds")
            .label_style(text(13))
            .axis_desc_style(text(14))
            .x_label_formatter(&label)
            .y_label_formatter(&|y| short_number(*y))
            .draw()?;
        let slot = |i: usize| offset + i as i32;
        // A fifth of each slot on either side: bars stay apart however many.
        let slot_width = chart.plotting_area().dim_in_pixel().0 / n as u32;
        let margin = (slot_width / 5).max(2);
        let fills: Vec<RGBColor> = self.counts.iter().map(|c| colour(&c.name)).collect();
        chart.draw_series(
            Histogram::vertical(&chart)
                .style_func(|v, _| match v {
                    SegmentValue::Exact(i) | SegmentValue::CenterOf(i) => {
                        fills[((*i - offset).max(0) as usize).min(fills.len() - 1)].filled()
                    }
                    SegmentValue::Last => FAIL.filled(),
                })
                .margin(margin)
                .data(
                    self.counts
                        .iter()
                        .enumerate()
                        .map(|(i, c)| (slot(i), c.failing as f64)),
                ),
        )?;
        chart.draw_series(
            Histogram::vertical(&chart)
                .style(BLACK.mix(0.6).stroke_width(1))
                .margin(margin)
                .data(
                    self.counts
                        .iter()
                        .enumerate()
                        .map(|(i, c)| (slot(i), c.seeds as f64)),
                ),
        )?;
        // The count above each bar: easier to read than the axis.
        chart.draw_series(self.counts.iter().enumerate().map(|(i, c)| {
            let at = (SegmentValue::CenterOf(offset + i as i32), c.seeds as f64);
            let label = format!("{} / {}", c.failing, c.seeds);
            EmptyElement::at(at) + Text::new(label, (-14, -18), text(13))
        }))?;
        // The legend: the outline, then each colour a failing bar has.
        chart
            .draw_series(std::iter::empty::<Circle<(SegmentValue<i32>, f64), i32>>())?
            .label(if by_fault {
                "seeds that ran under the kind"
            } else {
                "seeds"
            })
            .legend(|(x, y)| {
                Rectangle::new(
                    [(x - 6, y - 6), (x + 6, y + 6)],
                    BLACK.mix(0.6).stroke_width(1),
                )
            });
        let mut shown: Vec<(String, RGBColor)> = if by_fault {
            families(
                self.counts
                    .iter()
                    .filter(|c| c.failing > 0 && c.name != "no faults")
                    .map(|c| c.name.as_str()),
            )
            .into_iter()
            .map(|f| (format!("failing, under a {} fault", f.name), f.colour))
            .collect()
        } else {
            vec![]
        };
        if !by_fault
            || self
                .counts
                .iter()
                .any(|c| c.failing > 0 && c.name == "no faults")
        {
            shown.push(("failing seeds".to_string(), FAIL));
        }
        for (name, c) in shown {
            chart
                .draw_series(std::iter::empty::<Circle<(SegmentValue<i32>, f64), i32>>())?
                .label(name)
                .legend(move |(x, y)| Rectangle::new([(x - 6, y - 6), (x + 6, y + 6)], c.filled()));
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}

/// `histogram`: how a metric is distributed across seeds, passing seeds
/// below failing ones in each bar.
pub(crate) struct MetricHistogram {
    pub metric: String,
    /// (seed, value, passed).
    pub values: Vec<(u64, f64, bool)>,
}

/// Nanoseconds in one unit of a time metric: `latency_ms.*` is in ms,
/// `*_ns` in ns; `None` for a metric that is no time.
fn nanos_per_unit(metric: &str) -> Option<f64> {
    if metric.starts_with("latency_ms.") || metric.ends_with("_ms") {
        Some(1e6)
    } else if metric.ends_with("_ns") {
        Some(1.0)
    } else {
        None
    }
}

impl MetricHistogram {
    /// The values as the axis shows them, and the axis description: a time
    /// metric in ms or s (chosen from its largest value), named in words
    /// (`latency_ms.p99` reads `latency p99 (ms)`); anything else as it is.
    fn shown(&self) -> (Vec<f64>, String) {
        let raw = self.values.iter().map(|v| v.1);
        let Some(scale) = nanos_per_unit(&self.metric) else {
            return (raw.collect(), self.metric.clone());
        };
        let max = raw.clone().fold(0.0, f64::max) * scale;
        let unit = TimeUnit::for_span(max as u64);
        let name = self
            .metric
            .replace("_ms.", " ")
            .trim_end_matches("_ms")
            .trim_end_matches("_ns")
            .replace(['_', '.'], " ");
        let values = raw.map(|v| unit.of(v * scale)).collect();
        (values, format!("{name} ({})", unit.name()))
    }

    /// (bin lower edge, width, passing count, failing count), in the units
    /// shown.
    fn bins(&self) -> (f64, f64, Vec<(u64, u64)>) {
        let (shown, _) = self.shown();
        let lo = shown.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = shown.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let (lo, hi) = match (lo.is_finite(), hi > lo) {
            (false, _) => (0.0, 1.0),
            // Every seed gave the same value: one visible bar around it.
            (true, false) => (lo - 0.5, lo + 0.5),
            (true, true) => (lo, hi),
        };
        let width = (hi - lo) / BINS as f64;
        let mut counts = vec![(0u64, 0u64); BINS];
        for (&v, &(_, _, passed)) in shown.iter().zip(&self.values) {
            let i = (((v - lo) / width) as usize).min(BINS - 1);
            if passed {
                counts[i].0 += 1;
            } else {
                counts[i].1 += 1;
            }
        }
        (lo, width, counts)
    }
}

impl Figure for MetricHistogram {
    fn name(&self) -> &'static str {
        "histogram"
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let (lo, width, counts) = self.bins();
        let (_, desc) = self.shown();
        let hi = lo + width * BINS as f64;
        // Headroom above the bars for the legend.
        let top = counts.iter().map(|(p, f)| p + f).max().unwrap_or(1).max(1) as f64 * 1.3;
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!("{desc} across {} seeds", self.values.len()),
                text(20),
            )
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(linear_axis(lo, hi), count_axis(top))?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc(desc.as_str())
            .y_desc("seeds")
            .label_style(text(13))
            .axis_desc_style(text(14))
            .x_label_formatter(&|x| tick_label(*x))
            .y_label_formatter(&|y| short_number(*y))
            .draw()?;
        let bar = |i: usize, from: u64, to: u64| {
            let x0 = lo + width * i as f64;
            [(x0, from as f64), (x0 + width, to as f64)]
        };
        chart
            .draw_series(
                counts
                    .iter()
                    .enumerate()
                    .filter(|(_, (p, _))| *p > 0)
                    .map(|(i, &(p, _))| Rectangle::new(bar(i, 0, p), OK.filled())),
            )?
            .label("passed")
            .legend(|(x, y)| Rectangle::new([(x - 6, y - 6), (x + 6, y + 6)], OK.filled()));
        chart
            .draw_series(
                counts
                    .iter()
                    .enumerate()
                    .filter(|(_, (_, f))| *f > 0)
                    .map(|(i, &(p, f))| Rectangle::new(bar(i, p, p + f), FAIL.filled())),
            )?
            .label("failed")
            .legend(|(x, y)| Rectangle::new([(x - 6, y - 6), (x + 6, y + 6)], FAIL.filled()));
        // Outlines keep adjacent bars apart.
        chart.draw_series(
            counts
                .iter()
                .enumerate()
                .filter(|(_, (p, f))| p + f > 0)
                .map(|(i, &(p, f))| Rectangle::new(bar(i, 0, p + f), WHITE.stroke_width(1))),
        )?;
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_cover_every_value_and_split_pass_from_fail() {
        let h = MetricHistogram {
            metric: "m".into(),
            values: vec![
                (1, 0.0, true),
                (2, 10.0, false),
                (3, 5.0, true),
                (4, 10.0, true),
            ],
        };
        let (lo, width, counts) = h.bins();
        assert_eq!((lo, width), (0.0, 0.5));
        assert_eq!(counts[0], (1, 0));
        assert_eq!(counts[10], (1, 0));
        assert_eq!(
            counts[BINS - 1],
            (1, 1),
            "the maximum falls in the last bin"
        );
        let total: u64 = counts.iter().map(|(p, f)| p + f).sum();
        assert_eq!(total, 4);
    }

    #[test]
    fn time_metrics_are_shown_in_ms_or_s() {
        let h = |metric: &str, values: &[f64]| MetricHistogram {
            metric: metric.into(),
            values: values.iter().map(|&v| (0, v, true)).collect(),
        };
        let (values, desc) = h("latency_ms.p99", &[5.0, 20.0]).shown();
        assert_eq!(
            (values, desc.as_str()),
            (vec![5.0, 20.0], "latency p99 (ms)")
        );
        let (values, desc) = h("latency_ms.max", &[500.0, 2500.0]).shown();
        assert_eq!((values, desc.as_str()), (vec![0.5, 2.5], "latency max (s)"));
        let (values, desc) = h("virtual_time_ns", &[4e9, 5e9]).shown();
        assert_eq!(
            (values, desc.as_str()),
            (vec![4.0, 5.0], "virtual time (s)")
        );
        let (values, desc) = h("throughput", &[140.0]).shown();
        assert_eq!((values, desc.as_str()), (vec![140.0], "throughput"));
    }

    #[test]
    fn counts_are_ticked_in_whole_seeds() {
        let ticks = |top: f64| {
            use plotters::coord::ranged1d::{BoldPoints, Ranged};
            count_axis(top).key_points(BoldPoints(100))
        };
        assert_eq!(ticks(1.3), [0.0, 1.0]);
        assert_eq!(ticks(13.0), [0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0]);
    }

    #[test]
    fn equal_values_make_one_bar() {
        let h = MetricHistogram {
            metric: "m".into(),
            values: vec![(1, 3.0, true), (2, 3.0, true)],
        };
        let (_, _, counts) = h.bins();
        assert_eq!(counts.iter().filter(|(p, _)| *p > 0).count(), 1);
    }
}
