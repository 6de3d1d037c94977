//! The plots of one run: latency of every operation over virtual time, with
//! the fault intervals shaded and labelled; throughput over time; and the
//! latency CDF.

use plotters::coord::ranged1d::Ranged;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use sim_core::{Nanos, OpType};

use crate::axis::{
    duration, linear_axis, log_axis, log_span, log_time_label, tick_label, Ticked, TimeAxis,
};
use crate::fault_band::{draw_key, draw_violation, Band};
use crate::figure::{draw_legend, short_number, text, Drawn, Figure, FAIL, INFO, OK};
use crate::run_input::{Op, RunData};

/// Outcomes in legend order, with their colour and name.
const OUTCOMES: [(OpType, RGBColor, &str); 3] = [
    (OpType::Ok, OK, "ok"),
    (OpType::Fail, FAIL, "fail"),
    (OpType::Info, INFO, "info"),
];

/// Time buckets of the throughput plot.
const THROUGHPUT_BINS: u64 = 50;
/// Most dots of one outcome in the latency plot, and most steps of one CDF
/// curve: beyond them a long run's SVG would grow to many megabytes for no
/// visible gain, so evenly spaced operations are drawn instead.
const MAX_DOTS: usize = 20_000;
const MAX_STEPS: usize = 2_000;

fn millis(ns: Nanos) -> f64 {
    ns as f64 / 1e6
}

/// Latency range (ms) for a log axis: a little room around the data, and
/// never zero (a zero latency is drawn at the bottom edge).
fn latency_range(ops: &[Op]) -> (f64, f64) {
    let lat: Vec<f64> = ops.iter().filter_map(Op::latency).map(millis).collect();
    let positive = lat.iter().copied().filter(|&l| l > 0.0);
    let lo = positive.fold(f64::INFINITY, f64::min);
    let hi = lat.iter().copied().fold(0.0, f64::max);
    if !lo.is_finite() || hi <= 0.0 {
        return (0.1, 100.0);
    }
    ((lo / 1.5).max(1e-4), hi * 1.5)
}

/// Chart layout in pixels: the same numbers place the plotting area and
/// the fault captions above it.
const MARGIN: i32 = 12;
const Y_LABEL_AREA: i32 = 72;
const X_LABEL_AREA: u32 = 44;
/// Room under the x axis for the key of fault colours and the violation.
const KEY_ROW: u32 = 22;

/// The captions of `faults` laid out over the plotting area's width.
fn fault_band<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    run: &RunData,
) -> Result<Band, DrawingAreaErrorKind<DB::ErrorType>> {
    let width = root.dim_in_pixel().0 as i32;
    let plot = (MARGIN + Y_LABEL_AREA, width - MARGIN);
    Band::layout(root, &run.faults, run.end, plot)
}

/// The room a time chart of `run` leaves under its x axis: a key row when
/// there is anything to explain.
fn key_room(run: &RunData) -> u32 {
    if run.faults.is_empty() && run.violation.is_none() {
        MARGIN as u32
    } else {
        MARGIN as u32 + KEY_ROW
    }
}

/// Draws what happened when on a time chart of `run` over `y` (fault
/// intervals with captions, the first violation) and the key under it.
fn mark_times<DB: DrawingBackend, X: Ranged<ValueType = f64>, Y: Ranged<ValueType = f64>>(
    root: &DrawingArea<DB, Shift>,
    chart: &ChartContext<'_, DB, Cartesian2d<X, Y>>,
    band: &Band,
    run: &RunData,
    axis: TimeAxis,
    y: (f64, f64),
) -> Drawn<DB> {
    band.draw(root, chart, &run.faults, axis, y)?;
    if let Some(v) = &run.violation {
        draw_violation(root, chart, v, axis, y)?;
    }
    let height = root.dim_in_pixel().1 as i32;
    draw_key(
        root,
        &run.faults,
        run.violation.as_ref(),
        (MARGIN + Y_LABEL_AREA, height - MARGIN - 6),
    )
}

/// A chart over `run`'s virtual time (x, on `axis`) and `y` in `area`, the
/// titled part of `root`: the fault captions' band above the plotting
/// area, room for the key under it, the mesh with the axis descriptions
/// `descs` (x, y) and `y_label` for the y ticks, then what happened when
/// over `y_span` (see [`mark_times`]). One frame for every plot over time,
/// so that their time axes and fault marks line up.
fn time_chart<'a, DB: DrawingBackend, R: Ranged<ValueType = f64>>(
    (root, area): (&DrawingArea<DB, Shift>, &'a DrawingArea<DB, Shift>),
    run: &RunData,
    axis: TimeAxis,
    (y, y_span): (Ticked<R>, (f64, f64)),
    (x_desc, y_desc): (&str, &str),
    y_label: &dyn Fn(&f64) -> String,
) -> Result<TimeChart<'a, DB, R>, DrawingAreaErrorKind<DB::ErrorType>> {
    let band = fault_band(root, run)?;
    let mut chart = ChartBuilder::on(area)
        .margin(MARGIN)
        .margin_top(band.height())
        .margin_bottom(key_room(run))
        .x_label_area_size(X_LABEL_AREA)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(axis.coord(), y)?;
    chart
        .configure_mesh()
        .x_desc(axis.desc(x_desc))
        .y_desc(y_desc)
        .label_style(text(13))
        .axis_desc_style(text(14))
        .x_label_formatter(&|x| tick_label(*x))
        .y_label_formatter(y_label)
        .draw()?;
    mark_times(root, &chart, &band, run, axis, y_span)?;
    Ok(chart)
}

/// A chart [`time_chart`] made.
type TimeChart<'a, DB, R> = ChartContext<'a, DB, Cartesian2d<Ticked<RangedCoordf64>, Ticked<R>>>;

/// `latency`: one dot per operation at (invocation time, latency), by outcome.
pub(crate) struct LatencyPlot<'a>(pub &'a RunData);

impl Figure for LatencyPlot<'_> {
    fn name(&self) -> &'static str {
        "latency"
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let run = self.0;
        let (lo, hi) = latency_range(&run.ops);
        // Headroom above the data for the legend.
        let (lo, hi) = log_span(lo, hi * 4.0);
        let axis = TimeAxis::new(run.end);
        // The title first, then the fault captions' band, then the chart.
        let area = root.titled("Latency of every operation", text(20))?;
        let mut chart = time_chart(
            (root, &area),
            run,
            axis,
            (log_axis(lo, hi), (lo, hi)),
            ("virtual time of invocation", "latency (log scale)"),
            &|y| log_time_label(*y),
        )?;
        for (outcome, colour, name) in OUTCOMES {
            let points: Vec<(f64, f64)> = run
                .ops
                .iter()
                .filter(|o| o.outcome == outcome)
                .filter_map(|o| Some((axis.at(o.invoke), millis(o.latency()?).max(lo))))
                .collect();
            let open = run
                .ops
                .iter()
                .filter(|o| o.outcome == outcome && o.complete.is_none())
                .count();
            let mut label = format!("{name} ({}", points.len());
            if open > 0 {
                label += &format!("; {open} never completed, not shown");
            }
            let stride = points.len().div_ceil(MAX_DOTS).max(1);
            if stride > 1 {
                label += &format!("; every {stride}th shown");
            }
            label += ")";
            chart
                .draw_series(
                    points
                        .iter()
                        .step_by(stride)
                        .map(|&p| Circle::new(p, 2, colour.filled())),
                )?
                .label(label)
                .legend(move |(x, y)| Circle::new((x, y), 4, colour.filled()));
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}

/// `throughput`: completions per virtual second, in equal time buckets.
pub(crate) struct ThroughputPlot<'a>(pub &'a RunData);

/// One time bucket: (centre in ns, ok per s, fail + info per s).
type Bucket = (Nanos, f64, f64);

impl ThroughputPlot<'_> {
    /// Every bucket of the run.
    fn series(&self) -> Vec<Bucket> {
        let run = self.0;
        let width = run.end.div_ceil(THROUGHPUT_BINS).max(1);
        let mut ok = vec![0u64; THROUGHPUT_BINS as usize];
        let mut other = vec![0u64; THROUGHPUT_BINS as usize];
        for op in &run.ops {
            let Some(t) = op.complete else { continue };
            let bin = ((t / width).min(THROUGHPUT_BINS - 1)) as usize;
            match op.outcome {
                OpType::Ok => ok[bin] += 1,
                _ => other[bin] += 1,
            }
        }
        let per_second = |n: u64| n as f64 / (width as f64 / 1e9);
        (0..THROUGHPUT_BINS)
            .map(|i| {
                let centre = width * i + width / 2;
                let i = i as usize;
                (centre, per_second(ok[i]), per_second(other[i]))
            })
            .collect()
    }
}

impl Figure for ThroughputPlot<'_> {
    fn name(&self) -> &'static str {
        "throughput"
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let run = self.0;
        let series = self.series();
        let axis = TimeAxis::new(run.end);
        // Headroom above the data for the legend.
        let top = series
            .iter()
            .map(|&(_, ok, other)| ok.max(other))
            .fold(1.0, f64::max)
            * 1.4;
        // The title first, then the fault captions' band, then the chart.
        let area = root.titled("Throughput over time", text(20))?;
        let mut chart = time_chart(
            (root, &area),
            run,
            axis,
            (linear_axis(0.0, top), (0.0, top)),
            ("virtual time", "completions per virtual second"),
            &|y| short_number(*y),
        )?;
        // (name, colour, whether the line counts ok operations)
        for (name, colour, ok) in [("ok", OK, true), ("fail + info", FAIL, false)] {
            let value = |&(_, oks, others): &Bucket| if ok { oks } else { others };
            chart
                .draw_series(LineSeries::new(
                    series.iter().map(|p| (axis.at(p.0), value(p))),
                    colour.stroke_width(2),
                ))?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new([(x - 8, y), (x + 8, y)], colour.stroke_width(2))
                });
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}

/// `latency-cdf`: the fraction of operations of each outcome completed
/// within a latency.
pub(crate) struct LatencyCdf<'a>(pub &'a RunData);

impl Figure for LatencyCdf<'_> {
    fn name(&self) -> &'static str {
        "latency-cdf"
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let run = self.0;
        let (lo, hi) = latency_range(&run.ops);
        let (lo, hi) = log_span(lo, hi);
        let mut chart = ChartBuilder::on(root)
            .caption("Latency CDF", text(20))
            .margin(MARGIN)
            // The axis ends on a labelled tick: room for its label's right half.
            .margin_right(MARGIN + 24)
            .margin_bottom(key_room(run))
            .x_label_area_size(X_LABEL_AREA)
            .y_label_area_size(Y_LABEL_AREA)
            .build_cartesian_2d(log_axis(lo, hi), linear_axis(0.0, 1.0))?;
        chart
            .configure_mesh()
            .x_desc("latency (log scale)")
            .y_desc("fraction of completed operations")
            .label_style(text(13))
            .axis_desc_style(text(14))
            .x_label_formatter(&|x| log_time_label(*x))
            .y_label_formatter(&|y| short_number(*y))
            .draw()?;
        for (outcome, colour, name) in OUTCOMES {
            let mut latencies: Vec<Nanos> = run
                .ops
                .iter()
                .filter(|o| o.outcome == outcome)
                .filter_map(Op::latency)
                .collect();
            if latencies.is_empty() {
                continue;
            }
            latencies.sort_unstable();
            let n = latencies.len() as f64;
            // A step function: each latency lifts the curve by 1/n. Past
            // MAX_STEPS operations only evenly spaced ranks are drawn (the
            // last always), which no eye can tell from the full curve.
            let stride = latencies.len().div_ceil(MAX_STEPS).max(1);
            let last = latencies.len() - 1;
            let ranks = (0..latencies.len())
                .step_by(stride)
                .chain((!last.is_multiple_of(stride)).then_some(last));
            let steps = ranks.flat_map(|i| {
                let x = millis(latencies[i]).max(lo);
                [
                    (x, (i + 1 - stride.min(i + 1)) as f64 / n),
                    (x, (i + 1) as f64 / n),
                ]
            });
            chart
                .draw_series(LineSeries::new(steps, colour.stroke_width(2)))?
                .label(format!("{name} ({})", latencies.len()))
                .legend(move |(x, y)| {
                    PathElement::new([(x - 8, y), (x + 8, y)], colour.stroke_width(2))
                });
        }
        draw_legend(&mut chart, SeriesLabelPosition::LowerRight)?;
        // No time axis here: the violation is stated under the chart.
        if let Some(v) = &run.violation {
            let height = root.dim_in_pixel().1 as i32;
            let caption = format!(
                "first violation at {}: {}",
                duration(v.time as f64),
                v.label
            );
            let caption: String = caption.chars().take(120).collect();
            root.draw(&Text::new(
                caption,
                (MARGIN + Y_LABEL_AREA, height - MARGIN - 13),
                text(13).color(&FAIL),
            ))?;
        }
        Ok(())
    }
}
