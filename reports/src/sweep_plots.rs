//! The plots of a sweep: violations by fault kind (or by failed check), and
//! a histogram of one metric across seeds.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::figure::{draw_legend, short_number, text, Drawn, Figure, FAIL, OK};
use crate::sweep_input::Category;

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
        let top = self
            .counts
            .iter()
            .map(|c| c.failing)
            .max()
            .unwrap_or(1)
            .max(1) as f64
            * 1.15;
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
            .build_cartesian_2d((0i32..n - 1).into_segmented(), 0f64..top)?; // n segments: integer ranges include their end
        chart
            .configure_mesh()
            .y_max_light_lines(0) // x: plotters' integer key points loop forever on 0
            .disable_x_mesh()
            .x_labels(n as usize)
            .x_desc(self.what)
            .y_desc("failing seeds")
            .label_style(text(13))
            .axis_desc_style(text(14))
            .x_label_formatter(&label)
            .y_label_formatter(&|y| short_number(*y))
            .draw()?;
        chart.draw_series(
            Histogram::vertical(&chart)
                .style(FAIL.filled())
                .margin(24)
                .data(
                    self.counts
                        .iter()
                        .enumerate()
                        .map(|(i, c)| (offset + i as i32, c.failing as f64)),
                ),
        )?;
        // The count above each bar: easier to read than the axis.
        chart.draw_series(self.counts.iter().enumerate().map(|(i, c)| {
            let at = (SegmentValue::CenterOf(offset + i as i32), c.failing as f64);
            let label = format!("{} / {}", c.failing, c.seeds);
            EmptyElement::at(at) + Text::new(label, (-14, -18), text(13))
        }))?;
        Ok(())
    }
}

/// `histogram`: how a metric is distributed across seeds, passing seeds
/// below failing ones in each bar.
pub(crate) struct MetricHistogram {
    pub metric: String,
    /// (seed, value, passed).
    pub values: Vec<(u64, f64, bool)>,
}

impl MetricHistogram {
    /// (bin lower edge, width, passing count, failing count).
    fn bins(&self) -> (f64, f64, Vec<(u64, u64)>) {
        let lo = self
            .values
            .iter()
            .map(|v| v.1)
            .fold(f64::INFINITY, f64::min);
        let hi = self
            .values
            .iter()
            .map(|v| v.1)
            .fold(f64::NEG_INFINITY, f64::max);
        let (lo, hi) = match (lo.is_finite(), hi > lo) {
            (false, _) => (0.0, 1.0),
            // Every seed gave the same value: one visible bar around it.
            (true, false) => (lo - 0.5, lo + 0.5),
            (true, true) => (lo, hi),
        };
        let width = (hi - lo) / BINS as f64;
        let mut counts = vec![(0u64, 0u64); BINS];
        for &(_, v, passed) in &self.values {
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
        let hi = lo + width * BINS as f64;
        let top = counts.iter().map(|(p, f)| p + f).max().unwrap_or(1).max(1) as f64 * 1.15;
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!("{} across {} seeds", self.metric, self.values.len()),
                text(20),
            )
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(lo..hi, 0f64..top)?;
        chart
            .configure_mesh()
            .max_light_lines(0)
            .disable_x_mesh()
            .x_desc(self.metric.as_str())
            .y_desc("seeds")
            .label_style(text(13))
            .axis_desc_style(text(14))
            .x_label_formatter(&|x| short_number(*x))
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
    fn equal_values_make_one_bar() {
        let h = MetricHistogram {
            metric: "m".into(),
            values: vec![(1, 3.0, true), (2, 3.0, true)],
        };
        let (_, _, counts) = h.bins();
        assert_eq!(counts.iter().filter(|(p, _)| *p > 0).count(), 1);
    }
}
