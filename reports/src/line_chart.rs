//! A line chart of measured series against one parameter: what a study
//! over a grid of settings draws (convergence time against gossip fanout,
//! one line per gossip interval; throughput against batch size).

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::axis::{linear_axis, Ticked};
use crate::error::ReportError;
use crate::figure::{draw_legend, short_number, text, write, Drawn, Figure};

/// Colours of successive series (the common ten-colour cycle).
const PALETTE: [RGBColor; 6] = [
    RGBColor(0x1F, 0x77, 0xB4),
    RGBColor(0xFF, 0x7F, 0x0E),
    RGBColor(0x2C, 0xA0, 0x2C),
    RGBColor(0xD6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xBD),
    RGBColor(0x8C, 0x56, 0x4B),
];

/// One line: its legend label and its points (x, y).
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

pub struct LineChart {
    /// The file stem: `NAME.svg` and `NAME.png`.
    pub name: &'static str,
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
}

fn span(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    })
}

impl Figure for LineChart {
    fn name(&self) -> &'static str {
        self.name
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let points = || self.series.iter().flat_map(|s| s.points.iter());
        let (x_lo, x_hi) = span(points().map(|p| p.0));
        let (_, y_hi) = span(points().map(|p| p.1));
        // Empty or one-point charts still get a non-empty range.
        let (x_lo, x_hi) = if x_lo.is_finite() {
            (x_lo, x_hi.max(x_lo + 1.0))
        } else {
            (0.0, 1.0)
        };
        let y_hi = if y_hi.is_finite() && y_hi > 0.0 {
            y_hi * 1.1
        } else {
            1.0
        };
        let x: Ticked<_> = linear_axis(x_lo, x_hi);
        let y: Ticked<_> = linear_axis(0.0, y_hi);
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, text(20))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(x, y)?;
        chart
            .configure_mesh()
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .label_style(text(13))
            .axis_desc_style(text(14))
            .x_label_formatter(&|v| short_number(*v))
            .y_label_formatter(&|v| short_number(*v))
            .draw()?;
        for (i, s) in self.series.iter().enumerate() {
            let colour = PALETTE[i % PALETTE.len()];
            chart
                .draw_series(LineSeries::new(
                    s.points.iter().copied(),
                    colour.stroke_width(2),
                ))?
                .label(&s.label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
                });
            chart.draw_series(s.points.iter().map(|&p| Circle::new(p, 4, colour.filled())))?;
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}

/// Draws `chart` into `dir/NAME.svg` and `dir/NAME.png`; returns both paths.
pub fn write_line_chart(chart: &LineChart, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    write(chart, dir)
}
