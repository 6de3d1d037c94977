//! Fault intervals on a time chart: shaded over the plotting area, and
//! captioned in a band above it, so that captions hide neither data nor
//! legend.
//!
//! A nemesis may apply dozens of overlapping faults, and their labels are
//! long ("crash n4 (unsynced writes lost) for 654ms"). Each fault is numbered
//! (its row in the report's fault table); captions are packed greedily into
//! a few rows, and a fault whose full caption fits in no row shows its number
//! alone.

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use sim_core::Nanos;

use crate::figure::{text, Drawn, FAULT, FAULT_LABEL, FAULT_OPACITY};
use crate::run_input::FaultInterval;

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

    /// Shades each fault over `y_lo..y_hi` of the chart (a line for a fault
    /// that lasted no time) and writes its caption above the chart.
    pub fn draw<DB: DrawingBackend, Y: Ranged<ValueType = f64>>(
        &self,
        root: &DrawingArea<DB, Shift>,
        chart: &ChartContext<'_, DB, Cartesian2d<RangedCoordf64, Y>>,
        faults: &[FaultInterval],
        end: Nanos,
        (y_lo, y_hi): (f64, f64),
    ) -> Drawn<DB> {
        let seconds = |t: Nanos| t as f64 / 1e9;
        let fill = FAULT.mix(FAULT_OPACITY).filled();
        for (fault, (row, caption)) in faults.iter().zip(&self.captions) {
            let (x0, x1) = (seconds(fault.start), seconds(fault.end.unwrap_or(end)));
            let area = chart.plotting_area();
            if x1 > x0 {
                area.draw(&Rectangle::new([(x0, y_lo), (x1, y_hi)], fill))?;
            } else {
                area.draw(&PathElement::new(
                    [(x0, y_lo), (x0, y_hi)],
                    FAULT_LABEL.stroke_width(1),
                ))?;
            }
            let (px, top) = chart.backend_coord(&(x0, y_hi));
            // Row 0 sits just above the chart, later rows above it.
            let y = top - 2 - ROW_HEIGHT * (*row as i32 + 1);
            root.draw(&Text::new(
                caption.clone(),
                (px + 2, y),
                text(13).color(&FAULT_LABEL),
            ))?;
            root.draw(&PathElement::new(
                [(px, y), (px, top)],
                FAULT_LABEL.stroke_width(1),
            ))?;
        }
        Ok(())
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
