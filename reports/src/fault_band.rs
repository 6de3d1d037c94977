//! What happened when, on a time chart: fault intervals shaded over the
//! plotting area in their kind's colour and captioned in a band above it (so
//! that captions hide neither data nor legend), the first violation as a red
//! vertical line, and a key of both under the chart.
//!
//! A nemesis may apply dozens of overlapping faults, and their labels are
//! long ("crash n4 (unsynced writes lost) for 654ms"). Each fault is numbered
//! (its row in the report's fault table); captions are packed greedily into
//! a few rows, and a fault whose full caption fits in no row shows its number
//! alone.

use plotters::coord::Shift;
use plotters::prelude::*;
use sim_core::Nanos;

use crate::axis::{duration, TimeAxis};
use crate::fault_kind::{families, FaultFamily};
use crate::figure::{text, Drawn, FAIL, FAULT_OPACITY};
use crate::run_input::{FaultInterval, Violation};

/// Rows of captions at most.
const MAX_ROWS: usize = 4;
const ROW_HEIGHT: i32 = 16;
/// Room between two captions on one row, in pixels.
const GAP: i32 = 12;

/// Where each fault's caption goes.
pub(crate) struct Band {
    /// (row, text) per fault, in the order of the fault list.
    captions: Vec<(usize, String)>,
    rows: usize,
}

impl Band {
    /// Lays the captions out for a plotting area spanning pixels
    /// `left..right` horizontally, over virtual time `0..end`: first every
    /// fault's number on the lowest row where it overlaps nothing, then each
    /// number widened to the full caption on any row where that overlaps
    /// nothing either.
    pub fn layout<DB: DrawingBackend>(
        root: &DrawingArea<DB, Shift>,
        faults: &[FaultInterval],
        end: Nanos,
        (left, right): (i32, i32),
    ) -> Result<Self, DrawingAreaErrorKind<DB::ErrorType>> {
        let style = text(13);
        let x_of = |t: Nanos| left + ((right - left) as f64 * t as f64 / end.max(1) as f64) as i32;
        let limit = root.dim_in_pixel().0 as i32 - 4;
        // Pixel spans taken on each row: (from, to, fault).
        let mut taken: Vec<Vec<(i32, i32, usize)>> = vec![Vec::new(); MAX_ROWS];
        let free = |taken: &[(i32, i32, usize)], from: i32, to: i32, me: usize| {
            taken
                .iter()
                .all(|&(a, b, who)| who == me || b + GAP <= from || to + GAP <= a)
        };
        let mut captions: Vec<(usize, String)> = Vec::with_capacity(faults.len());
        for (i, fault) in faults.iter().enumerate() {
            let x = x_of(fault.start);
            let number = (i + 1).to_string();
            let (w, _) = root.estimate_text_size(&number, &style)?;
            let to = x + 2 + w as i32;
            // Numbers that fit nowhere (dozens of faults at once) overlap on
            // the top row rather than vanish.
            let row = (0..MAX_ROWS)
                .find(|&r| free(&taken[r], x, to, i))
                .unwrap_or(MAX_ROWS - 1);
            taken[row].push((x, to, i));
            captions.push((row, number));
        }
        for (i, fault) in faults.iter().enumerate() {
            let x = x_of(fault.start);
            let full = format!("{}: {}", i + 1, fault.caption());
            let (w, _) = root.estimate_text_size(&full, &style)?;
            let to = x + 2 + w as i32;
            if to > limit {
                continue;
            }
            if let Some(row) = (0..MAX_ROWS).find(|&r| free(&taken[r], x, to, i)) {
                let old = captions[i].0;
                taken[old].retain(|&(_, _, who)| who != i);
                taken[row].push((x, to, i));
                captions[i] = (row, full);
            }
        }
        let rows = captions.iter().map(|(r, _)| r + 1).max().unwrap_or(0);
        Ok(Self { captions, rows })
    }

    /// The chart's top margin: room for the rows of captions.
    pub fn height(&self) -> u32 {
        8 + (ROW_HEIGHT as u32) * self.rows as u32
    }

    /// Shades each fault over `y_lo..y_hi` of the chart in its kind's
    /// colour (a line for a fault that lasted no time) and writes its
    /// caption above the chart.
    pub fn draw<DB: DrawingBackend, X: Ranged<ValueType = f64>, Y: Ranged<ValueType = f64>>(
        &self,
        root: &DrawingArea<DB, Shift>,
        chart: &ChartContext<'_, DB, Cartesian2d<X, Y>>,
        faults: &[FaultInterval],
        axis: TimeAxis,
        (y_lo, y_hi): (f64, f64),
    ) -> Drawn<DB> {
        for (fault, (row, caption)) in faults.iter().zip(&self.captions) {
            let family = FaultFamily::of(&fault.kind);
            let (x0, x1) = (axis.at(fault.start), axis.at(fault.end.unwrap_or(axis.end)));
            let area = chart.plotting_area();
            if x1 > x0 {
                let fill = family.colour.mix(FAULT_OPACITY).filled();
                area.draw(&Rectangle::new([(x0, y_lo), (x1, y_hi)], fill))?;
            } else {
                area.draw(&PathElement::new(
                    [(x0, y_lo), (x0, y_hi)],
                    family.colour.stroke_width(1),
                ))?;
            }
            let label = family.text_colour();
            let (px, top) = chart.backend_coord(&(x0, y_hi));
            // Row 0 sits just above the chart, later rows above it.
            let y = top - 2 - ROW_HEIGHT * (*row as i32 + 1);
            root.draw(&Text::new(
                caption.clone(),
                (px + 2, y),
                text(13).color(&label),
            ))?;
            root.draw(&PathElement::new(
                [(px, y), (px, top)],
                label.stroke_width(1),
            ))?;
        }
        Ok(())
    }
}

/// Marks `violation` on a time chart: a red vertical line over the whole
/// plotting area and, at its top, `violation at 1.887 s` (on the side of
/// the line with more room).
pub(crate) fn draw_violation<
    DB: DrawingBackend,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
>(
    root: &DrawingArea<DB, Shift>,
    chart: &ChartContext<'_, DB, Cartesian2d<X, Y>>,
    violation: &Violation,
    axis: TimeAxis,
    (y_lo, y_hi): (f64, f64),
) -> Drawn<DB> {
    let x = axis.at(violation.time);
    let area = chart.plotting_area();
    area.draw(&PathElement::new(
        [(x, y_lo), (x, y_hi)],
        FAIL.stroke_width(2),
    ))?;
    let (px, top) = chart.backend_coord(&(x, y_hi));
    let caption = format!("violation at {}", duration(violation.time as f64));
    let (left, right) = {
        let r = area.get_pixel_range();
        (r.0.start, r.0.end)
    };
    let style = text(13).color(&FAIL);
    let (w, h) = root.estimate_text_size(&caption, &style)?;
    let x_text = if px + 4 + w as i32 <= right || px - left < right - px {
        px + 4
    } else {
        px - 4 - w as i32
    };
    // Backend coordinates are the root's pixels (its origin is the image's).
    // A light backing keeps the caption readable over shading and dots.
    root.draw(&Rectangle::new(
        [
            (x_text - 2, top + 3),
            (x_text + w as i32 + 2, top + 5 + h as i32),
        ],
        WHITE.mix(0.8).filled(),
    ))?;
    root.draw(&Text::new(caption, (x_text, top + 4), style))
}

/// The key under a time chart: a swatch per family of fault shown, and the
/// violation's line when there is one. Drawn at pixel row `y` of `root`
/// from `x`; nothing when there is nothing to explain.
pub(crate) fn draw_key<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    faults: &[FaultInterval],
    violation: Option<&Violation>,
    (x, y): (i32, i32),
) -> Drawn<DB> {
    let mut x = x;
    let style = text(13);
    let entry = |root: &DrawingArea<DB, Shift>, name: String, x: &mut i32| -> Drawn<DB> {
        root.draw(&Text::new(name.clone(), (*x + 18, y - 7), style.clone()))?;
        let (w, _) = root.estimate_text_size(&name, &style)?;
        *x += 18 + w as i32 + 16;
        Ok(())
    };
    let shown = families(faults.iter().map(|f| f.kind.as_str()));
    if !shown.is_empty() {
        let lead = "faults:";
        root.draw(&Text::new(lead, (x, y - 7), style.clone()))?;
        x += root.estimate_text_size(lead, &style)?.0 as i32 + 8;
    }
    for family in shown {
        root.draw(&Rectangle::new(
            [(x, y - 6), (x + 12, y + 6)],
            family.colour.mix(FAULT_OPACITY).filled(),
        ))?;
        entry(root, family.name.to_string(), &mut x)?;
    }
    if let Some(v) = violation {
        root.draw(&PathElement::new(
            [(x + 6, y - 7), (x + 6, y + 7)],
            FAIL.stroke_width(2),
        ))?;
        entry(
            root,
            format!("first violation: {}", short(&v.label)),
            &mut x,
        )?;
    }
    Ok(())
}

/// At most 80 characters of `s`, an ellipsis marking a cut.
fn short(s: &str) -> String {
    if s.chars().count() <= 80 {
        s.to_string()
    } else {
        s.chars().take(79).chain(['…']).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(start_ms: u64, label: &str) -> FaultInterval {
        FaultInterval {
            start: start_ms * 1_000_000,
            end: Some((start_ms + 300) * 1_000_000),
            kind: "partition".into(),
            label: label.into(),
            nodes: vec![],
        }
    }

    fn layout(faults: &[FaultInterval]) -> Band {
        crate::font::ensure_registered().unwrap();
        let mut svg = String::new();
        let root = SVGBackend::with_string(&mut svg, (960, 480)).into_drawing_area();
        Band::layout(&root, faults, 5_000_000_000, (76, 948)).unwrap()
    }

    #[test]
    fn sparse_faults_get_full_captions_on_one_row() {
        let band = layout(&[fault(500, "isolate n2"), fault(3000, "crash n1")]);
        assert_eq!(band.rows, 1);
        assert_eq!(band.captions[0], (0, "1: isolate n2".to_string()));
        assert_eq!(band.captions[1], (0, "2: crash n1".to_string()));
    }

    #[test]
    fn dense_faults_stack_then_fall_back_to_numbers() {
        let label = "crash n4 (unsynced writes lost) for 654.437ms";
        let faults: Vec<FaultInterval> = (0..12).map(|i| fault(1000 + 20 * i, label)).collect();
        let band = layout(&faults);
        assert!(band.rows <= MAX_ROWS);
        let full = band
            .captions
            .iter()
            .filter(|(_, c)| c.contains(label))
            .count();
        assert!((1..12).contains(&full), "{full} full captions");
        for (i, (_, caption)) in band.captions.iter().enumerate() {
            assert!(caption.starts_with(&(i + 1).to_string()), "{caption}");
        }
    }
}
