//! One figure, two files: every plot is drawn once into an SVG string and
//! once into an RGB buffer, then written as `NAME.svg` and `NAME.png`.
//!
//! Drawing into memory (rather than letting plotters write the files) keeps
//! write failures apart from drawing failures, and leaves the PNG encoding in
//! our hands so that it is byte-identical from run to run.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::ReportError;
use crate::font;

/// Every plot's size in pixels.
pub(crate) const SIZE: (u32, u32) = (960, 480);

/// Operation outcomes, as in the history: ok / fail / info.
pub(crate) const OK: RGBColor = RGBColor(0x1F, 0x77, 0xB4);
pub(crate) const FAIL: RGBColor = RGBColor(0xD6, 0x27, 0x28);
pub(crate) const INFO: RGBColor = RGBColor(0xFF, 0x7F, 0x0E);
/// The opacity of fault shading (each kind has its colour: `fault_kind`).
pub(crate) const FAULT_OPACITY: f64 = 0.3;

/// Result of drawing on backend `DB`.
pub(crate) type Drawn<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// A plot that can draw itself on any backend.
pub(crate) trait Figure {
    /// The file stem: `latency` gives `latency.svg` and `latency.png`.
    fn name(&self) -> &'static str;

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn<DB>;
}

/// Draws the legend box of `chart`'s labelled series, the same on every plot.
pub(crate) fn draw_legend<'a, DB: DrawingBackend + 'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> Drawn<DB> {
    chart
        .configure_series_labels()
        .label_font(text(13))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(position)
        .draw()
}

/// The text style of titles, axes and labels at `size` pixels.
pub(crate) fn text(size: u32) -> TextStyle<'static> {
    (font::FAMILY, size).into_font().into()
}

/// Draws `figure` and writes `dir/NAME.svg` and `dir/NAME.png`; returns both paths.
pub(crate) fn write(figure: &impl Figure, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let svg_path = dir.join(format!("{}.svg", figure.name()));
    let png_path = dir.join(format!("{}.png", figure.name()));
    font::ensure_registered().map_err(|e| ReportError::draw(&svg_path, e))?;

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)
            .and_then(|()| figure.draw(&root))
            .and_then(|()| root.present())
            .map_err(|e| ReportError::draw(&svg_path, e))?;
    }
    std::fs::write(&svg_path, svg).map_err(|e| ReportError::io(&svg_path, &e))?;

    let (w, h) = SIZE;
    let mut rgb = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area();
        root.fill(&WHITE)
            .and_then(|()| figure.draw(&root))
            .and_then(|()| root.present())
            .map_err(|e| ReportError::draw(&png_path, e))?;
    }
    let png = encode_png(&rgb, SIZE).map_err(|e| ReportError::draw(&png_path, e))?;
    std::fs::write(&png_path, png).map_err(|e| ReportError::io(&png_path, &e))?;
    Ok(vec![png_path, svg_path])
}

/// 8-bit RGB pixels to PNG bytes (no timestamps or other varying chunks).
fn encode_png(rgb: &[u8], (w, h): (u32, u32)) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    // Plots are mostly flat colour: the best compression makes them ~10x smaller.
    encoder.set_compression(png::Compression::Best);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(rgb)?;
    writer.finish()?;
    Ok(out)
}

/// A number for an axis or a table: no more digits than it needs.
pub(crate) fn short_number(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let a = x.abs();
    if a >= 100.0 {
        format!("{x:.0}")
    } else if a >= 1.0 {
        trim(format!("{x:.2}"))
    } else {
        trim(format!("{x:.4}"))
    }
}

fn trim(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::short_number;

    #[test]
    fn numbers_are_short() {
        assert_eq!(short_number(0.0), "0");
        assert_eq!(short_number(2.5), "2.5");
        assert_eq!(short_number(10.0), "10");
        assert_eq!(short_number(1234.56), "1235");
        assert_eq!(short_number(0.05), "0.05");
    }
}
