//! A line plot of measured series against one variable, for figures that
//! compare configurations (throughput against batch size, operations over
//! time with and without an attack) rather than show one run. The x axis is
//! linear or log base 2 (batch sizes 1, 2, 4, …); a series of one point is
//! drawn as a dashed horizontal reference line (another protocol's figure
//! next to a curve).

use std::path::{Path, PathBuf};

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::axis::{linear_axis, linear_ticks, Ticked};
use crate::error::ReportError;
use crate::figure::{self, draw_legend, short_number, text, Drawn, Figure};

/// One line of the plot.
#[derive(Debug, Clone)]
pub struct Series {
    pub label: String,
    /// (x, y) points, drawn in order; one point: a horizontal line at its y.
    pub points: Vec<(f64, f64)>,
}

/// What to draw and where: `NAME.svg` and `NAME.png`.
#[derive(Debug, Clone)]
pub struct XyPlot {
    pub name: &'static str,
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// Powers of two on the x axis (every point's x must be above 0).
    pub log2_x: bool,
    pub series: Vec<Series>,
}

const COLOURS: [RGBColor; 5] = [
    RGBColor(0x1F, 0x77, 0xB4),
    RGBColor(0xD6, 0x27, 0x28),
    RGBColor(0x2C, 0xA0, 0x2C),
    RGBColor(0xFF, 0x7F, 0x0E),
    RGBColor(0x94, 0x67, 0xBD),
];

impl XyPlot {
    fn x_of(&self, x: f64) -> f64 {
        if self.log2_x {
            x.log2()
        } else {
            x
        }
    }

    /// The x range over every series of more than one point.
    fn x_range(&self) -> (f64, f64) {
        let xs = self
            .series
            .iter()
            .filter(|s| s.points.len() > 1)
            .flat_map(|s| s.points.iter().map(|p| self.x_of(p.0)));
        let (lo, hi) = xs.fold((f64::MAX, f64::MIN), |(l, h), x| (l.min(x), h.max(x)));
        if lo > hi {
            (0.0, 1.0)
        } else if lo == hi {
            (lo - 1.0, hi + 1.0)
        } else {
            (lo, hi)
        }
    }
}

impl Figure for XyPlot {
    fn name(&self) -> &'static str {
        self.name
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let (lo, hi) = self.x_range();
        let top = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .fold(0.0f64, f64::max)
            .max(1e-9)
            * 1.15;
        // log2 x: ticks at the powers of two, labelled with the value.
        let x_axis = if self.log2_x {
            let ticks = (lo.floor() as i32..=hi.ceil() as i32)
                .map(f64::from)
                .collect();
            Ticked::<RangedCoordf64>::new(lo..hi, ticks, vec![])
        } else {
            linear_axis(lo, hi)
        };
        let y_axis: Ticked<RangedCoordf64> = Ticked::new(0.0..top, linear_ticks(0.0, top), vec![]);
        let log2 = self.log2_x;
        let x_label = |x: &f64| {
            if log2 {
                short_number(x.exp2())
            } else {
                short_number(*x)
            }
        };
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, text(20))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(70)
            .build_cartesian_2d(x_axis, y_axis)?;
        chart
            .configure_mesh()
            .x_desc(self.x_label.as_str())
            .y_desc(self.y_label.as_str())
            .label_style(text(13))
            .axis_desc_style(text(14))
            .x_label_formatter(&x_label)
            .y_label_formatter(&|y| short_number(*y))
            .draw()?;
        for (i, s) in self.series.iter().enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            if let [(_, y)] = s.points[..] {
                let dashes = (0..40).map(|k| {
                    let step = (hi - lo) / 40.0;
                    let x = lo + k as f64 * step;
                    PathElement::new(vec![(x, y), (x + step / 2.0, y)], colour.stroke_width(2))
                });
                chart
                    .draw_series(dashes)?
                    .label(s.label.as_str())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
                    });
                continue;
            }
            let points: Vec<(f64, f64)> =
                s.points.iter().map(|&(x, y)| (self.x_of(x), y)).collect();
            chart
                .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))?
                .label(s.label.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
                });
            chart.draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 3, colour.filled())),
            )?;
        }
        draw_legend(&mut chart, SeriesLabelPosition::LowerRight)
    }
}

/// Writes `dir/NAME.svg` and `dir/NAME.png`; returns both paths.
pub fn write_xy_plot(plot: &XyPlot, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    if plot.log2_x
        && plot
            .series
            .iter()
            .any(|s| s.points.len() > 1 && s.points.iter().any(|p| p.0 <= 0.0))
    {
        return Err(ReportError::draw(
            &dir.join(plot.name),
            "a log2 x axis needs every x above 0",
        ));
    }
    figure::write(plot, dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_curve_and_a_reference_line_are_written_as_svg_and_png() {
        let dir = tempfile::tempdir().unwrap();
        let plot = XyPlot {
            name: "throughput",
            title: "ops against B".into(),
            x_label: "B".into(),
            y_label: "ops/s".into(),
            log2_x: true,
            series: vec![
                Series {
                    label: "pbft".into(),
                    points: vec![(1.0, 100.0), (2.0, 190.0), (4.0, 350.0)],
                },
                Series {
                    label: "raft".into(),
                    points: vec![(0.0, 300.0)],
                },
            ],
        };
        let paths = write_xy_plot(&plot, dir.path()).unwrap();
        assert_eq!(paths.len(), 2);
        let svg = std::fs::read_to_string(dir.path().join("throughput.svg")).unwrap();
        assert!(
            svg.contains("pbft") && svg.contains("raft"),
            "both series in the key"
        );
        // Same input, same bytes.
        let png = std::fs::read(dir.path().join("throughput.png")).unwrap();
        write_xy_plot(&plot, dir.path()).unwrap();
        assert_eq!(
            png,
            std::fs::read(dir.path().join("throughput.png")).unwrap()
        );
        // A log axis refuses x = 0 in a curve.
        let mut bad = plot.clone();
        bad.series[0].points[0].0 = 0.0;
        let e = write_xy_plot(&bad, dir.path()).unwrap_err().to_string();
        assert!(e.contains("above 0"), "{e}");
    }
}
