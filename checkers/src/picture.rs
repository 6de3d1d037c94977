//! A picture of a counterexample a person can follow: the failing
//! partition's operations around the failure on a time axis, one row per
//! client; the longest linearizable prefix in green, numbered in
//! linearization order; the operations that could have gone next in amber;
//! the operation that cannot be placed in red, with a line at its return
//! (no order of what is pending reaches past it). SVG written directly, no
//! script; hovering an operation shows its details (`<title>`).

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::counterexample::{Counterexample, OpReport};

const ROW: f64 = 26.0;
const LEFT: f64 = 110.0;
const WIDTH: f64 = 1100.0;
const TOP: f64 = 40.0;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Times as shown: ms when the history's clock is in ns (our runs), else
/// the raw ticks (imported files use their line numbers as time).
struct Axis {
    from: u64,
    to: u64,
    ns: bool,
}

impl Axis {
    fn x(&self, t: u64) -> f64 {
        let span = (self.to - self.from).max(1) as f64;
        LEFT + (t.clamp(self.from, self.to) - self.from) as f64 / span * (WIDTH - LEFT - 20.0)
    }

    fn label(&self, t: u64) -> String {
        if self.ns {
            format!("{:.3} ms", t as f64 / 1e6)
        } else {
            t.to_string()
        }
    }
}

/// The counterexample as a standalone SVG document.
pub fn counterexample_svg(c: &Counterexample) -> String {
    let order: BTreeMap<usize, (usize, &str)> = c
        .prefix
        .iter()
        .enumerate()
        .map(|(k, step)| (step.op.op, (k + 1, step.state_after.as_str())))
        .collect();
    let candidates: Vec<usize> = c.candidates.iter().map(|o| o.op).collect();
    let mut ops: Vec<&OpReport> = c.window.iter().collect();
    if !ops.iter().any(|o| o.op == c.unplaceable.op) {
        ops.push(&c.unplaceable);
    }
    let from = ops.iter().map(|o| o.invoke_time).min().unwrap_or(0);
    let last = ops
        .iter()
        .map(|o| o.complete_time.unwrap_or(o.invoke_time))
        .max()
        .unwrap_or(from);
    let to = last.max(from + 1);
    let axis = Axis {
        from,
        to: to + (to - from) / 20,
        ns: to >= 1_000_000,
    };
    let clients: Vec<u64> = {
        let mut p: Vec<u64> = ops.iter().map(|o| o.process).collect();
        p.sort_unstable();
        p.dedup();
        p
    };
    let row_of = |p: u64| clients.binary_search(&p).unwrap_or(0);
    let height = TOP + ROW * clients.len() as f64 + 60.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" font-family="sans-serif" font-size="11">"#
    );
    let title = match &c.partition {
        Some(key) => format!("not linearizable: key {key:?}"),
        None => "not linearizable".to_string(),
    };
    let _ = write!(
        svg,
        r#"<text x="8" y="18" font-size="14" font-weight="bold">{}</text><text x="8" y="32">green: longest linearizable prefix (in order), amber: could go next, red: cannot be placed</text>"#,
        escape(&title)
    );
    for (i, p) in clients.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let _ = write!(
            svg,
            r##"<text x="8" y="{:.1}">client {p}</text><line x1="{LEFT}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#eee"/>"##,
            y + 16.0,
            WIDTH - 10.0,
            y + ROW - 2.0,
            y + ROW - 2.0
        );
    }
    for o in &ops {
        let y = TOP + ROW * row_of(o.process) as f64 + 3.0;
        let x1 = axis.x(o.invoke_time);
        let x2 = axis.x(o.complete_time.unwrap_or(axis.to)).max(x1 + 3.0);
        let (fill, stroke, tag) = if o.op == c.unplaceable.op {
            ("#f4a6a6", "#c00000", "cannot be placed".to_string())
        } else if let Some((k, state)) = order.get(&o.op) {
            (
                "#b8e0b8",
                "#2e7d32",
                format!("prefix step {k}, state after: {state}"),
            )
        } else if candidates.contains(&o.op) {
            ("#ffe0a0", "#c77700", "could go next".to_string())
        } else {
            ("#e4e4e4", "#999999", "not placed".to_string())
        };
        let dash = if o.complete_time.is_none() {
            r#" stroke-dasharray="4 2""#
        } else {
            ""
        };
        let done = o
            .complete_time
            .map_or("indeterminate".to_string(), |t| axis.label(t));
        let hover = format!(
            "op #{} (client {}) {}\n{} .. {}\n{tag}",
            o.op,
            o.process,
            o.description,
            axis.label(o.invoke_time),
            done
        );
        let label = match order.get(&o.op) {
            Some((k, _)) => format!("{k}. {}", o.description),
            None => o.description.clone(),
        };
        let _ = write!(
            svg,
            r#"<g><title>{}</title><rect x="{x1:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" rx="3" fill="{fill}" stroke="{stroke}"{dash}/><text x="{:.1}" y="{:.1}">{}</text></g>"#,
            escape(&hover),
            x2 - x1,
            ROW - 8.0,
            x1 + 3.0,
            y + 13.0,
            escape(
                &label
                    .chars()
                    .take(((x2 - x1) / 6.0) as usize)
                    .collect::<String>()
            )
        );
    }
    // The unplaceable op's return: no linearization reaches past it.
    if let Some(t) = c.unplaceable.complete_time {
        let x = axis.x(t);
        let bottom = TOP + ROW * clients.len() as f64;
        let _ = write!(
            svg,
            r##"<line x1="{x:.1}" x2="{x:.1}" y1="{TOP}" y2="{bottom:.1}" stroke="#c00000" stroke-dasharray="5 3"/>"##
        );
    }
    // The time axis: five ticks.
    let y = TOP + ROW * clients.len() as f64 + 18.0;
    for k in 0..=4u64 {
        let t = axis.from + (axis.to - axis.from) * k / 4;
        let x = axis.x(t);
        let _ = write!(
            svg,
            r##"<line x1="{x:.1}" x2="{x:.1}" y1="{:.1}" y2="{:.1}" stroke="#666"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            y - 6.0,
            y,
            y + 14.0,
            axis.label(t)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// A standalone HTML page: the text counterexample and its picture.
pub fn counterexample_html(name: &str, c: &Counterexample) -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head>\n<body>\n<h1>{}</h1>\n{}<pre>{}</pre>\n</body></html>\n",
        escape(name),
        escape(name),
        counterexample_svg(c),
        escape(&c.render())
    )
}
