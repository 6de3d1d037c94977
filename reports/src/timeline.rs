//! The space-time diagram of a traced run (`timeline.svg`).
//!
//! One horizontal lane per node, true time left to right; every message is an
//! arrow from its send on the sender's lane to its delivery on the receiver's,
//! coloured by message type, with the message in a hover tooltip. Dropped
//! messages end in a red cross, crashes cut a lane until its restart, pauses
//! are shaded on their lane, client operations are dots on the client's lane
//! (hollow at invocation; green ok, red fail, orange info), faults are dashed
//! verticals, and a finding is a red vertical.
//!
//! Drawn from `trace.jsonl` (a run made with `--trace`). A whole run has far
//! more messages than a picture can show, so the diagram shows the last
//! [`MAX_MESSAGES`] messages before the finding (or the end): where a bug is
//! looked for. Written as SVG text directly (arrows and tooltips are what
//! plotters does not do), deterministically: the same trace, the same bytes.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::ReportError;
use crate::html::escape;

/// Messages shown at most.
pub const MAX_MESSAGES: usize = 300;

const WIDTH: f64 = 1400.0;
const LEFT: f64 = 110.0;
const RIGHT: f64 = 30.0;
const TOP: f64 = 60.0;
const LANE: f64 = 46.0;
const PALETTE: [&str; 8] = [
    "#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f",
];

#[derive(Debug, Clone)]
struct Send {
    t: u64,
    from: u64,
    to: u64,
    kind: String,
    text: String,
}

/// What the trace says, indexed for drawing.
#[derive(Debug, Default)]
struct Trace {
    sends: BTreeMap<u64, Send>,
    deliveries: Vec<(u64, u64)>,
    drops: Vec<(u64, u64, String)>,
    crashes: Vec<(u64, u64)>,
    restarts: Vec<(u64, u64)>,
    pauses: Vec<(u64, u64, u64)>,
    faults: Vec<(u64, String)>,
    ops: Vec<(u64, u64, String, String)>,
    nodes: u64,
    last: u64,
}

fn field(v: &Value, name: &str) -> u64 {
    v.get(name).and_then(Value::as_u64).unwrap_or(0)
}

fn text(v: &Value, name: &str) -> String {
    v.get(name)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// The message's type: an enum variant's name, as serde writes it.
fn kind_of(msg: &Value) -> String {
    match msg {
        Value::Object(o) if o.len() == 1 => o.keys().next().cloned().unwrap_or_default(),
        Value::String(s) => s.clone(),
        _ => "message".to_string(),
    }
}

impl Trace {
    fn load(path: &Path) -> Result<Self, ReportError> {
        let file = std::fs::File::open(path).map_err(|e| ReportError::unreadable(path, &e))?;
        let mut trace = Trace::default();
        for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
            let line = line.map_err(|e| ReportError::unreadable(path, &e))?;
            let ev: Value = serde_json::from_str(&line).map_err(|e| {
                ReportError::input(path.display().to_string(), e.to_string()).at_line(i + 1)
            })?;
            trace.add(&ev);
        }
        Ok(trace)
    }

    fn add(&mut self, ev: &Value) {
        let t = field(ev, "t");
        self.last = self.last.max(t);
        for name in ["node", "from", "to"] {
            if let Some(n) = ev.get(name).and_then(Value::as_u64) {
                self.nodes = self.nodes.max(n + 1);
            }
        }
        let (node, id) = (field(ev, "node"), field(ev, "id"));
        match text(ev, "ev").as_str() {
            "send" => {
                let msg = ev.get("msg").cloned().unwrap_or(Value::Null);
                let send = Send {
                    t,
                    from: field(ev, "from"),
                    to: field(ev, "to"),
                    kind: kind_of(&msg),
                    text: msg.to_string(),
                };
                self.sends.insert(id, send);
            }
            "deliver" => self.deliveries.push((id, t)),
            "drop" => self.drops.push((id, t, text(ev, "reason"))),
            "crash" => self.crashes.push((t, node)),
            "restart" => self.restarts.push((t, node)),
            "pause" => self.pauses.push((t, field(ev, "until"), node)),
            "fault" => self.faults.push((t, text(ev, "what"))),
            "op" => self.ops.push((t, node, text(ev, "type"), text(ev, "f"))),
            _ => {}
        }
    }
}

/// Draws `timeline.svg` into `dir` if it holds `trace.jsonl`; returns the file
/// written, or `None` for a run made without `--trace`.
pub fn render_timeline(dir: &Path, summary: &Value) -> Result<Option<PathBuf>, ReportError> {
    let trace_path = dir.join("trace.jsonl");
    if !trace_path.is_file() {
        return Ok(None);
    }
    let trace = Trace::load(&trace_path)?;
    let svg = draw(&trace, summary);
    let path = dir.join("timeline.svg");
    std::fs::write(&path, svg).map_err(|e| ReportError::io(&path, &e))?;
    Ok(Some(path))
}

/// When and what went wrong: the finding that stopped the run, else the
/// earliest failed check that knows when its violation shows.
fn violation(summary: &Value) -> Option<(u64, String)> {
    if let Some(f) = summary.get("finding").filter(|f| !f.is_null()) {
        let t = f.get("time").and_then(Value::as_u64)?;
        return Some((t, format!("{}: {}", text(f, "kind"), text(f, "message"))));
    }
    summary
        .get("verdicts")?
        .as_array()?
        .iter()
        .filter(|v| v.get("result").and_then(Value::as_str) == Some("fail"))
        .filter_map(|v| {
            let t = v.get("time").and_then(Value::as_u64)?;
            let detail = text(v, "detail");
            let first = detail.lines().next().unwrap_or_default();
            Some((t, format!("{} violated: {first}", text(v, "check"))))
        })
        .min_by_key(|(t, _)| *t)
}

/// The window shown: the last [`MAX_MESSAGES`] messages before the end (the
/// violation, if any), stretched back to the two faults or crashes before it
/// when that stays under four times as many messages: a bug usually shows
/// some time after the faults that caused it.
fn window(trace: &Trace, violation: Option<u64>) -> (u64, u64) {
    let end = violation.unwrap_or(trace.last).max(1);
    let sends: Vec<u64> = trace
        .sends
        .values()
        .map(|s| s.t)
        .filter(|&t| t <= end)
        .collect();
    let mut start = if sends.len() > MAX_MESSAGES {
        sends[sends.len() - MAX_MESSAGES]
    } else {
        0
    };
    let mut disruptions: Vec<u64> = trace
        .faults
        .iter()
        .map(|(t, _)| *t)
        .chain(trace.crashes.iter().map(|(t, _)| *t))
        .chain(trace.pauses.iter().map(|(t, _, _)| *t))
        .filter(|&t| t < start)
        .collect();
    disruptions.sort_unstable();
    if let Some(&earlier) = disruptions.iter().rev().nth(1).or(disruptions.last()) {
        let shown = sends.iter().filter(|&&t| t >= earlier).count();
        if shown <= 4 * MAX_MESSAGES {
            start = earlier.saturating_sub((end - earlier) / 50);
        }
    }
    let start = start.min(end.saturating_sub(1));
    // A little air after the end, so the last arrows are visible.
    (start, end + (end - start) / 50 + 1)
}

fn draw(trace: &Trace, summary: &Value) -> String {
    let (finding_time, finding_label) = violation(summary).unzip();
    let (start, end) = window(trace, finding_time);
    let replicas = summary
        .pointer("/cluster/replicas")
        .and_then(Value::as_array)
        .map_or(0, Vec::len) as u64;
    let nodes = trace.nodes.max(1);
    let height = TOP + LANE * nodes as f64 + 50.0;
    let span = (end - start) as f64;
    let x = |t: u64| LEFT + (t.saturating_sub(start)) as f64 / span * (WIDTH - LEFT - RIGHT);
    let y = |n: u64| TOP + LANE * n as f64 + LANE / 2.0;
    let visible = |t: u64| t >= start && t <= end;

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(
        s,
        r#"<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="context-stroke"/></marker></defs>"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let title = format!(
        "Space-time diagram: {} messages, {:.3} s to {:.3} s",
        trace.sends.values().filter(|m| visible(m.t)).count(),
        start as f64 / 1e9,
        end as f64 / 1e9
    );
    let _ = writeln!(
        s,
        r#"<text x="{LEFT}" y="20" font-size="14">{}</text>"#,
        escape(&title)
    );

    // Time axis.
    for i in 0..=10u64 {
        let t = start + (end - start) * i / 10;
        let (tx, bottom) = (x(t), TOP + LANE * nodes as f64);
        let _ = writeln!(
            s,
            r##"<line x1="{tx:.1}" y1="{TOP}" x2="{tx:.1}" y2="{bottom}" stroke="#eee"/>"##
        );
        let _ = writeln!(
            s,
            r#"<text x="{tx:.1}" y="{:.1}" text-anchor="middle">{:.3} s</text>"#,
            bottom + 16.0,
            t as f64 / 1e9
        );
    }
    // Lanes, with crash gaps and pauses.
    for n in 0..nodes {
        let role = if n < replicas { "replica" } else { "client" };
        let _ = writeln!(
            s,
            r#"<text x="8" y="{:.1}">n{n} ({role})</text>"#,
            y(n) + 4.0
        );
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}" stroke="#333"/>"##,
            y(n),
            WIDTH - RIGHT
        );
    }
    for &(t, until, n) in &trace.pauses {
        if until >= start && t <= end {
            let (a, b) = (x(t.max(start)), x(until.min(end)));
            let _ = writeln!(
                s,
                r##"<rect x="{a:.1}" y="{:.1}" width="{:.1}" height="14" fill="#ff7f0e" opacity="0.3"><title>pause n{n}</title></rect>"##,
                y(n) - 7.0,
                (b - a).max(1.0)
            );
        }
    }
    for &(t, n) in &trace.crashes {
        let back = trace
            .restarts
            .iter()
            .find(|&&(r, m)| m == n && r >= t)
            .map_or(end, |&(r, _)| r);
        if back >= start && t <= end {
            let (a, b) = (x(t.max(start)), x(back.min(end)));
            let _ = writeln!(
                s,
                r##"<line x1="{a:.1}" y1="{0:.1}" x2="{b:.1}" y2="{0:.1}" stroke="white" stroke-width="3"/>"##,
                y(n)
            );
            let _ = writeln!(
                s,
                r##"<line x1="{a:.1}" y1="{0:.1}" x2="{b:.1}" y2="{0:.1}" stroke="#d62728" stroke-dasharray="2 3"><title>n{n} down</title></line>"##,
                y(n)
            );
            if visible(t) {
                let _ = writeln!(
                    s,
                    r##"<text x="{a:.1}" y="{:.1}" fill="#d62728" text-anchor="middle" font-size="14">✕</text>"##,
                    y(n) + 5.0
                );
            }
        }
    }
    // Faults and the finding.
    for (t, what) in trace.faults.iter().filter(|(t, _)| visible(*t)) {
        let fx = x(*t);
        let color = if what.starts_with("finding") {
            "#d62728"
        } else {
            "#9C7FD0"
        };
        let _ = writeln!(
            s,
            r#"<line x1="{fx:.1}" y1="{:.1}" x2="{fx:.1}" y2="{:.1}" stroke="{color}" stroke-dasharray="4 3"><title>{}</title></line>"#,
            TOP - 20.0,
            TOP + LANE * nodes as f64,
            escape(what)
        );
    }
    if let (Some(t), Some(label)) = (finding_time, finding_label) {
        let fx = x(t);
        let _ = writeln!(
            s,
            r##"<line x1="{fx:.1}" y1="{:.1}" x2="{fx:.1}" y2="{:.1}" stroke="#d62728" stroke-width="2"/>"##,
            TOP - 25.0,
            TOP + LANE * nodes as f64
        );
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" fill="#d62728" text-anchor="end">{}</text>"##,
            fx - 4.0,
            TOP - 28.0,
            escape(&label.chars().take(140).collect::<String>())
        );
    }
    // Messages: delivered arrows, then drops.
    let mut kinds: Vec<&str> = trace.sends.values().map(|m| m.kind.as_str()).collect();
    kinds.sort_unstable();
    kinds.dedup();
    let color =
        |kind: &str| PALETTE[kinds.iter().position(|k| *k == kind).unwrap_or(0) % PALETTE.len()];
    for &(id, t) in &trace.deliveries {
        let Some(m) = trace.sends.get(&id) else {
            continue;
        };
        if m.t < start || m.t > end {
            continue;
        }
        let _ = writeln!(
            s,
            r#"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{}" stroke-width="1.2" marker-end="url(#arrow)"><title>#{id} n{}→n{} {:.6}→{:.6} s {}</title></line>"#,
            x(m.t),
            y(m.from),
            x(t.min(end)),
            y(m.to),
            color(&m.kind),
            m.from,
            m.to,
            m.t as f64 / 1e9,
            t as f64 / 1e9,
            escape(&m.text)
        );
    }
    for (id, t, reason) in &trace.drops {
        let Some(m) = trace.sends.get(id) else {
            continue;
        };
        if m.t < start || m.t > end {
            continue;
        }
        // A drop at send (loss, cut) gets a short stub towards the receiver.
        let (x0, y0) = (x(m.t), y(m.from));
        let (x1, y1) = if *t > m.t {
            (x((*t).min(end)), y(m.to))
        } else {
            (x0 + 12.0, y0 + (y(m.to) - y0) * 0.25)
        };
        let _ = writeln!(
            s,
            r##"<line x1="{x0:.1}" y1="{y0:.1}" x2="{x1:.1}" y2="{y1:.1}" stroke="#d62728" stroke-dasharray="3 2"><title>#{id} n{}→n{} dropped ({reason}) {}</title></line><text x="{x1:.1}" y="{:.1}" fill="#d62728" text-anchor="middle">×</text>"##,
            m.from,
            m.to,
            escape(&m.text),
            y1 + 4.0
        );
    }
    // Client operations.
    for (t, n, op_type, f) in trace.ops.iter().filter(|o| visible(o.0)) {
        let (fill, stroke) = match op_type.as_str() {
            "invoke" => ("white", "#333"),
            "ok" => ("#2ca02c", "#2ca02c"),
            "fail" => ("#d62728", "#d62728"),
            _ => ("#ff7f0e", "#ff7f0e"),
        };
        let _ = writeln!(
            s,
            r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{fill}" stroke="{stroke}"><title>n{n} {op_type} {}</title></circle>"#,
            x(*t),
            y(*n),
            escape(f)
        );
    }
    // Legend of message types.
    let mut lx = LEFT;
    let ly = TOP + LANE * nodes as f64 + 38.0;
    for k in &kinds {
        let _ = writeln!(
            s,
            r#"<line x1="{lx:.1}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="{}" stroke-width="2"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            lx + 18.0,
            color(k),
            lx + 22.0,
            ly + 4.0,
            escape(k)
        );
        lx += 30.0 + 7.0 * k.len() as f64;
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(lines: &[&str]) -> Trace {
        let mut t = Trace::default();
        for l in lines {
            t.add(&serde_json::from_str(l).unwrap());
        }
        t
    }

    #[test]
    fn arrows_drops_crashes_and_ops_are_drawn() {
        let t = trace(&[
            r#"{"ev":"send","t":0,"from":0,"to":1,"id":0,"msg":{"Ping":{"n":1}}}"#,
            r#"{"ev":"deliver","t":1000,"from":0,"to":1,"id":0}"#,
            r#"{"ev":"send","t":2000,"from":1,"to":0,"id":1,"msg":{"Pong":{"n":1}}}"#,
            r#"{"ev":"drop","t":2000,"from":1,"to":0,"id":1,"reason":"loss"}"#,
            r#"{"ev":"crash","t":2500,"node":1,"lost_writes":0}"#,
            r#"{"ev":"op","t":3000,"node":2,"process":2,"type":"invoke","f":"read","value":null}"#,
        ]);
        let svg = draw(
            &t,
            &serde_json::json!({"cluster": {"replicas": [0, 1], "clients": [2]}}),
        );
        assert!(
            svg.contains("marker-end=\"url(#arrow)\""),
            "delivered arrow"
        );
        assert!(svg.contains("dropped (loss)"), "drop");
        assert!(svg.contains("n1 down"), "crash gap");
        assert!(svg.contains("n2 invoke read"), "op dot");
        assert!(
            svg.contains(">Ping<") && svg.contains(">Pong<"),
            "legend of message types"
        );
        assert!(svg.contains("n2 (client)"));
        assert_eq!(
            svg,
            draw(
                &t,
                &serde_json::json!({"cluster": {"replicas": [0, 1], "clients": [2]}})
            )
        );
    }

    #[test]
    fn the_window_stretches_back_to_the_faults_before_the_violation() {
        let mut t = Trace::default();
        for i in 0..1000u64 {
            t.add(&serde_json::json!({"ev": "send", "t": i * 10, "from": 0, "to": 1, "id": i, "msg": "M"}));
        }
        t.add(&serde_json::json!({"ev": "crash", "t": 1_000, "node": 1, "lost_writes": 0}));
        t.add(&serde_json::json!({"ev": "crash", "t": 2_000, "node": 0, "lost_writes": 0}));
        let (start, _) = window(&t, Some(5_000));
        assert!(start <= 1_000 && start > 900, "{start}");
        // A fault too far back (more than 4x the messages) is not reached for.
        for i in 1000..2000u64 {
            t.add(&serde_json::json!({"ev": "send", "t": i * 10, "from": 0, "to": 1, "id": i, "msg": "M"}));
        }
        let (start, _) = window(&t, Some(19_990));
        assert_eq!(start, (1999 - MAX_MESSAGES as u64) * 10 + 10);
    }

    #[test]
    fn the_window_ends_at_the_finding_and_shows_the_last_messages() {
        let mut t = Trace::default();
        for i in 0..1000u64 {
            t.add(&serde_json::json!({"ev": "send", "t": i * 10, "from": 0, "to": 1, "id": i, "msg": "M"}));
        }
        let (start, end) = window(&t, Some(5_000));
        assert_eq!(start, (500 - MAX_MESSAGES as u64) * 10 + 10);
        assert!(end > 5_000 && end < 5_200);
    }
}
