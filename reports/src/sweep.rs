//! Renders a sweep directory: the violations plot, the metric histogram and
//! `report.html`.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::ReportError;
use crate::figure::{self, short_number};
use crate::html::{cell, escape, lookup, Page};
use crate::sweep_input::{self, Category, SweepData};
use crate::sweep_plots::{MetricHistogram, ViolationsPlot};

/// The metric the histogram shows unless told otherwise.
pub const DEFAULT_METRIC: &str = "latency_ms.p99";

/// Metrics whose spread across seeds the report tabulates.
const TABULATED: [&str; 6] = [
    "latency_ms.p50",
    "latency_ms.p99",
    "latency_ms.max",
    "throughput",
    "ops.ok",
    "events.handled",
];

/// Draws `violations` and `histogram` (of `metric`, a dotted path into a
/// `sweep.jsonl` line such as `latency_ms.p99` or `throughput`) and writes
/// `report.html` into the sweep directory `dir`; returns every file written.
pub fn render_sweep(dir: &Path, metric: &str) -> Result<Vec<PathBuf>, ReportError> {
    let data = SweepData::load(dir)?;
    if !data.lines.is_empty() && !data.lines.iter().any(|l| lookup(l, metric).is_some()) {
        return Err(ReportError::input(
            "--metric",
            format!(
                "no seed has a field `{metric}` (try one of: {})",
                TABULATED.join(", ")
            ),
        )
        .with_field(metric));
    }
    // The plot groups fault kinds by family (their colours); the report's
    // table lists every kind.
    let (what, counts) = sweep_input::violations(&data, true);
    let violations = ViolationsPlot {
        what,
        counts,
        seeds: data.lines.len(),
    };
    let (_, by_kind) = sweep_input::violations(&data, false);
    let histogram = MetricHistogram {
        metric: metric.to_string(),
        values: sweep_input::metric(&data, metric),
    };
    let mut written = Vec::new();
    written.extend(figure::write(&violations, dir)?);
    written.extend(figure::write(&histogram, dir)?);
    let path = dir.join("report.html");
    std::fs::write(&path, page(&data, what, &by_kind, metric))
        .map_err(|e| ReportError::io(&path, &e))?;
    written.push(path);
    Ok(written)
}

/// `what` the categories are and `counts`, category by category (every
/// fault kind apart, unlike the plot).
fn page(data: &SweepData, what: &str, counts: &[Category], metric: &str) -> String {
    let summary = data.summary.clone().unwrap_or(Value::Null);
    let name = summary
        .get("scenario")
        .and_then(Value::as_str)
        .or_else(|| data.lines.first().and_then(|l| l.get("scenario")?.as_str()))
        .unwrap_or("sweep");
    let title = format!("clustersim sweep: {name}");
    let mut page = Page::new(&title);

    let failing: Vec<&Value> = data.failing().collect();
    let total = data.lines.len();
    page.paragraph(&format!(
        "{} of {total} seeds passed, {} failed.",
        total - failing.len(),
        failing.len()
    ));

    page.heading("Summary");
    page.key_values(&[
        ("scenario", escape(name)),
        (
            "command",
            format!("<code>{}</code>", cell(&summary, "command")),
        ),
        ("seeds", cell(&summary, "seeds")),
        ("shard", cell(&summary, "shard")),
        ("seeds in this report", total.to_string()),
        ("passed", (total - failing.len()).to_string()),
        ("failed", failing.len().to_string()),
    ]);

    page.heading("Metrics across seeds");
    let rows: Vec<Vec<String>> = TABULATED
        .iter()
        .filter_map(|m| {
            let mut values: Vec<f64> = sweep_input::metric(data, m)
                .into_iter()
                .map(|v| v.1)
                .collect();
            if values.is_empty() {
                return None;
            }
            values.sort_by(f64::total_cmp);
            let mean = values.iter().sum::<f64>() / values.len() as f64;
            let median = values[(values.len() - 1) / 2];
            let num = |x: f64| format!("<span class=\"num\">{}</span>", short_number(x));
            Some(vec![
                format!("<code>{m}</code>"),
                num(values[0]),
                num(median),
                num(mean),
                num(values[values.len() - 1]),
            ])
        })
        .collect();
    page.table(&["metric", "min", "median", "mean", "max"], &rows);

    page.heading("Plots");
    page.figure(
        "violations",
        &format!(
            "Seeds by {what}{}: how many ran (outline) and failed (filled) under each",
            if what == "check" {
                ""
            } else {
                ", grouped as on the run plots"
            }
        ),
    );
    page.figure(
        "histogram",
        &format!("Histogram of {metric} across seeds, passing and failing"),
    );

    page.heading("Violations");
    if counts.iter().all(|c| c.failing == 0) {
        page.paragraph("None.");
    } else {
        let rows: Vec<Vec<String>> = counts
            .iter()
            .map(|c| vec![escape(&c.name), c.failing.to_string(), c.seeds.to_string()])
            .collect();
        let seeds = if what == "check" {
            "seeds"
        } else {
            "seeds that ran under it"
        };
        page.table(&[what, "failing seeds", seeds], &rows);
    }

    page.heading("Failing seeds");
    if failing.is_empty() {
        page.paragraph("None.");
    } else {
        let rows: Vec<Vec<String>> = failing
            .iter()
            .map(|l| {
                let seed = sweep_input::seed(l);
                let message = lookup(l, "finding.message")
                    .and_then(Value::as_str)
                    .or_else(|| first_failed_detail(l))
                    .unwrap_or("");
                vec![
                    seed.to_string(),
                    escape(&sweep_input::reasons(l).join(", ")),
                    format!("<pre>{}</pre>", escape(first_line(message))),
                    format!("<code>{}</code>", escape(&replay(&summary, l, seed))),
                ]
            })
            .collect();
        page.table(
            &["seed", "failed", "first line of the finding", "replay"],
            &rows,
        );
    }
    page.finish(&title)
}

fn first_failed_detail(line: &Value) -> Option<&str> {
    line.get("verdicts")?
        .as_array()?
        .iter()
        .find(|v| v.get("result").and_then(Value::as_str) == Some("fail"))?
        .get("detail")?
        .as_str()
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// The command that replays `seed`: from the sweep summary when it has one
/// (it knows the scenario argument and overrides as typed), else from the
/// scenario's name.
fn replay(summary: &Value, line: &Value, seed: u64) -> String {
    let recorded = summary
        .get("failing")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|f| f.get("seed").and_then(Value::as_u64) == Some(seed))
        .and_then(|f| f.get("replay")?.as_str());
    match recorded {
        Some(r) => r.to_string(),
        None => format!(
            "clustersim run {} --seed {seed}",
            line.get("scenario")
                .and_then(Value::as_str)
                .unwrap_or("SCENARIO")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_metric_is_bad_input_naming_it() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(
            tmp.path().join("sweep.jsonl"),
            "{\"seed\": 1, \"passed\": true, \"throughput\": 3.0}\n",
        )
        .unwrap();
        let e = render_sweep(tmp.path(), "latency_ms.p42").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("latency_ms.p42"), "{e}");
        assert!(render_sweep(tmp.path(), "throughput").is_ok());
    }
}
