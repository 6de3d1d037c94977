//! Renders a run directory: its three plots and `report.html`.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::axis::duration;
use crate::counterexample::Counterexample;
use crate::error::ReportError;
use crate::figure;
use crate::html::{self, cell, escape, Page};
use crate::run_input::RunData;
use crate::run_plots::{LatencyCdf, LatencyPlot, ThroughputPlot};

/// Draws `latency`, `throughput` and `latency-cdf` (PNG and SVG) and writes
/// `report.html` into the run directory `dir`; returns every file written.
pub fn render_run(dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let run = RunData::load(dir)?;
    let mut written = Vec::new();
    written.extend(figure::write(&LatencyPlot(&run), dir)?);
    written.extend(figure::write(&ThroughputPlot(&run), dir)?);
    written.extend(figure::write(&LatencyCdf(&run), dir)?);
    let counterexample = Counterexample::load(dir)?;
    let timeline = crate::timeline::render_timeline(dir, &run, counterexample.as_ref())?;
    let path = dir.join("report.html");
    let picture = dir.join("counterexample.svg").exists();
    let timeline_svg = timeline.as_ref().map(|(_, svg)| svg.as_str());
    let node_logs = crate::node_logs::find(dir);
    std::fs::write(&path, page(&run, timeline_svg, picture, &node_logs))
        .map_err(|e| ReportError::io(&path, &e))?;
    written.extend(timeline.map(|(file, _)| file));
    written.push(path);
    Ok(written)
}

/// `timeline`: the space-time diagram's SVG, shown inline; `counterexample`:
/// whether `counterexample.svg` is there; `node_logs`: the run's per-node
/// log files, linked.
fn page(
    run: &RunData,
    timeline: Option<&str>,
    counterexample: bool,
    node_logs: &[crate::node_logs::NodeLog],
) -> String {
    let s = &run.summary;
    let name = html::lookup(s, "scenario.name")
        .and_then(Value::as_str)
        .unwrap_or("run");
    let seed = html::lookup(s, "seed")
        .map(Value::to_string)
        .unwrap_or_default();
    let title = format!("clustersim run: {name}, seed {seed}");
    let mut page = Page::new(&title);

    let passed = s.get("passed").and_then(Value::as_bool);
    page.paragraph(&format!(
        "Result: {}. Replay with <code>clustersim replay DIR</code> (this directory).",
        match passed {
            Some(true) => html::verdict("pass"),
            Some(false) => html::verdict("fail"),
            None => html::verdict("unknown"),
        }
    ));

    page.heading("Summary");
    let count = |n: usize| n.to_string();
    page.key_values(&[
        ("scenario", cell(s, "scenario.name")),
        ("description", cell(s, "scenario.description")),
        ("protocol", cell(s, "scenario.protocol")),
        ("bugs switched on", cell(s, "scenario.bugs")),
        ("seed", cell(s, "seed")),
        (
            "replicas, clients",
            format!(
                "{}, {}",
                array_len(s, "cluster.replicas"),
                array_len(s, "cluster.clients")
            ),
        ),
        (
            "virtual time",
            html::lookup(s, "virtual_time_ns")
                .and_then(Value::as_u64)
                .map_or("—".into(), |ns| duration(ns as f64)),
        ),
        ("events handled", cell(s, "events.handled")),
        ("events recorded", cell(s, "events.recorded")),
        ("messages sent", cell(s, "messages.sent")),
        ("messages delivered", cell(s, "messages.delivered")),
        ("messages dropped", cell(s, "messages.dropped")),
        ("messages duplicated", cell(s, "messages.duplicated")),
        ("messages reordered", cell(s, "messages.reordered")),
        ("messages corrupted", cell(s, "messages.corrupted")),
        ("operations invoked", cell(s, "ops.invoked")),
        ("operations ok / fail / info", {
            let c = |k| cell(s, k);
            format!("{} / {} / {}", c("ops.ok"), c("ops.fail"), c("ops.info"))
        }),
        ("latency p50 (ms)", cell(s, "latency_ms.p50")),
        ("latency p90 (ms)", cell(s, "latency_ms.p90")),
        ("latency p99 (ms)", cell(s, "latency_ms.p99")),
        ("latency max (ms)", cell(s, "latency_ms.max")),
        ("latency mean (ms)", cell(s, "latency_ms.mean")),
        ("throughput (ok per virtual s)", cell(s, "throughput")),
        ("faults applied", count(run.faults.len())),
        (
            "fingerprint",
            format!("<code>{}</code>", cell(s, "fingerprint")),
        ),
        ("clustersim version", cell(s, "clustersim")),
    ]);

    if let Some(stats) = s
        .get("stats")
        .and_then(Value::as_object)
        .filter(|m| !m.is_empty())
    {
        page.heading("Protocol measurements");
        let rows: Vec<(&str, String)> = stats
            .iter()
            .map(|(k, v)| (k.as_str(), escape(&v.to_string())))
            .collect();
        page.key_values(&rows);
    }
    if let Some(c) = s
        .get("corruption")
        .filter(|c| c.get("injected").and_then(Value::as_u64) > Some(0))
    {
        page.heading("Corrupted messages");
        page.key_values(&[
            ("injected by the network", cell(c, "injected")),
            ("delivered altered", cell(c, "delivered")),
            ("detected by the protocol", cell(c, "detected")),
            ("undetected", cell(c, "undetected")),
            ("dropped (type cannot be altered)", cell(c, "dropped")),
        ]);
    }

    page.heading("Verdicts");
    let verdicts = s.get("verdicts").and_then(Value::as_array);
    let rows: Vec<Vec<String>> = verdicts
        .into_iter()
        .flatten()
        .map(|v| {
            let result = v.get("result").and_then(Value::as_str).unwrap_or("?");
            let detail = v.get("detail").and_then(Value::as_str).unwrap_or("");
            let detail = if detail.is_empty() {
                String::new()
            } else {
                format!("<pre>{}</pre>", escape(detail))
            };
            vec![cell(v, "check"), html::verdict(result), detail]
        })
        .collect();
    page.table(&["check", "result", "detail"], &rows);
    if let Some(f) = s.get("finding").filter(|f| !f.is_null()) {
        page.paragraph(&format!(
            "<span class=\"fail\">Finding</span>: <code>{}</code> at {} s{}: {}",
            cell(f, "kind"),
            f.get("time")
                .and_then(Value::as_u64)
                .map(|t| format!("{:.6}", t as f64 / 1e9))
                .unwrap_or_else(|| "?".into()),
            f.get("node")
                .and_then(Value::as_u64)
                .map(|n| format!(" on node {n}"))
                .unwrap_or_default(),
            cell(f, "message"),
        ));
    }

    crate::consistency::section(&mut page, s);

    if counterexample {
        // Written by the runner (reports does not depend on the checkers).
        page.heading("Linearizability counterexample");
        page.paragraph(
            "The failing key's operations per client over time (ms): the longest linearizable \
             prefix in green, numbered in order; in amber what could go next; in red the \
             operation that cannot be placed. Hover an operation for its details. \
             The space-time diagram below highlights the same operations when the run was traced. \
             <object data=\"counterexample.svg\" type=\"image/svg+xml\" style=\"max-width:100%\">\
             <a href=\"counterexample.svg\">counterexample.svg</a></object>",
        );
    }

    page.heading("Plots");
    page.figure(
        "latency",
        "Latency of every operation over virtual time, by outcome; faults shaded",
    );
    page.figure(
        "throughput",
        "Completions per virtual second; faults shaded",
    );
    page.figure("latency-cdf", "Latency CDF by outcome");
    if let Some(svg) = timeline {
        page.heading("Space-time diagram");
        page.paragraph(&format!(
            "Messages between nodes over true time (the last {} before the first violation or \
             the end); hover an arrow, a dot or a shaded interval for its details. The key is \
             under the lanes. Also as a file: <a href=\"timeline.svg\">timeline.svg</a>.",
            crate::timeline::MAX_MESSAGES
        ));
        page.inline_svg(svg);
    } else {
        page.paragraph("Run with <code>--trace</code> for a space-time diagram of the messages.");
    }

    page.heading("Fault schedule");
    if run.faults.is_empty() {
        page.paragraph("No faults were applied.");
    } else {
        let end = |e: Option<u64>| e.map_or("end of run".into(), secs);
        let rows: Vec<Vec<String>> = run
            .faults
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let nodes: Vec<String> = f.nodes.iter().map(u64::to_string).collect();
                vec![
                    (i + 1).to_string(),
                    secs(f.start),
                    end(f.end),
                    escape(&f.kind),
                    escape(&f.label),
                    nodes.join(", "),
                ]
            })
            .collect();
        page.paragraph("Numbered as on the plots.");
        page.table(
            &["#", "start (s)", "end (s)", "kind", "label", "nodes"],
            &rows,
        );
    }
    if let Some(config) = html::lookup(s, "scenario.faults").filter(|c| !is_empty(c)) {
        page.paragraph("As configured in the scenario:");
        page.preformatted(&serde_json::to_string_pretty(config).unwrap_or_default());
    }
    crate::node_logs::section(&mut page, node_logs, s);
    page.finish(&title)
}

fn secs(ns: u64) -> String {
    format!("{:.3}", ns as f64 / 1e9)
}

fn array_len(v: &Value, path: &str) -> String {
    html::lookup(v, path)
        .and_then(Value::as_array)
        .map_or("—".into(), |a| a.len().to_string())
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(o) => o.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}
