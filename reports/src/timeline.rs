//! The space-time diagram of a traced run (`timeline.svg`).
//!
//! One horizontal lane per node, true time left to right; every message is an
//! arrow from its send on the sender's lane to its delivery on the receiver's,
//! coloured by message type, with the message in a hover tooltip. Dropped
//! messages end in a red cross, crashes cut a lane until its restart (a green
//! tick), pauses are shaded on their lane, client operations are dots on the
//! client's lane (hollow at invocation; green ok, red fail, orange info),
//! faults are shaded in their kind's colour on the lanes they hit and
//! numbered as in the report's fault table, the first violation is a red
//! vertical, and the operations of a linearizability counterexample are
//! highlighted on their clients' lanes in the colours of
//! `counterexample.svg`. A key under the lanes explains every symbol.
//!
//! The report shows the diagram inline (an `<svg>` element in the page, so
//! that the hover titles work); `timeline.svg` is the same picture as a file.
//!
//! Drawn from `trace.jsonl` (a run made with `--trace`). A whole run has far
//! more messages than a picture can show, so the diagram shows the last
//! [`MAX_MESSAGES`] messages before the finding (or the end): where a bug is
//! looked for. The trace is read once, keeping only what the window can
//! reach (a ring of the last [`KEPT_SENDS`] messages, each with its
//! deliveries and drops): memory does not grow with the run's length. Written as SVG text directly (arrows and tooltips are what
//! plotters does not do), deterministically: the same trace, the same bytes.

use std::collections::VecDeque;
use std::fmt::Write;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use plotters::style::RGBColor;
use serde_json::Value;

use crate::axis::{instant, linear_ticks, tick_label, TimeUnit};
use crate::counterexample::{Counterexample, Role};
use crate::error::ReportError;
use crate::fault_kind::{families, FaultFamily};
use crate::html::escape;
use crate::run_input::{FaultInterval, RunData, Violation};

/// Messages shown at most.
pub const MAX_MESSAGES: usize = 300;

const WIDTH: f64 = 1400.0;
const LEFT: f64 = 110.0;
const RIGHT: f64 = 30.0;
const TOP: f64 = 60.0;
const LANE: f64 = 46.0;
/// Message types' colours: Raft alone has eleven types.
const PALETTE: [&str; 14] = [
    "#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f",
    "#aec7e8", "#98df8a", "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d",
];

/// Sends kept while the trace is read: as many as the window can stretch
/// back over (see [`window`]).
const KEPT_SENDS: usize = 4 * MAX_MESSAGES;

/// A message, and what became of it (a duplicate is delivered twice).
#[derive(Debug, Clone)]
struct Send {
    id: u64,
    t: u64,
    from: u64,
    to: u64,
    kind: String,
    text: String,
    delivered: Vec<u64>,
    dropped: Vec<(u64, String)>,
}

/// What the trace says, as much as the diagram can show, read in one pass
/// with bounded memory: the last [`KEPT_SENDS`] messages sent up to the end
/// of the window, the client operations from a little before the oldest of
/// them, and every crash, restart, pause and fault (a few per fault).
#[derive(Debug, Default)]
struct Trace {
    /// In send order, so by increasing id.
    sends: VecDeque<Send>,
    /// The time of the newest send that was let go (more than `KEPT_SENDS`).
    evicted: Option<u64>,
    /// The window's end when it is known before reading (the violation's
    /// time): later messages and operations are kept only as far as the
    /// picture's margin after it reaches.
    end: Option<u64>,
    crashes: Vec<(u64, u64)>,
    restarts: Vec<(u64, u64)>,
    pauses: Vec<(u64, u64, u64)>,
    faults: Vec<(u64, String)>,
    ops: VecDeque<(u64, u64, String, String)>,
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

/// The message's type: an enum variant's name, as serde writes it — the
/// message itself, or the first field that is one (a wrapper such as
/// `{"rpc": {"AppendEntries": …}, "sum": …}`).
fn kind_of(msg: &Value) -> String {
    let variant = |v: &Value| match v {
        Value::Object(o) if o.len() == 1 => o.keys().next().cloned(),
        _ => None,
    };
    match msg {
        Value::String(s) => s.clone(),
        Value::Object(o) => variant(msg)
            .or_else(|| o.values().find_map(variant))
            .unwrap_or_else(|| "message".to_string()),
        _ => "message".to_string(),
    }
}

impl Trace {
    fn ending_at(end: Option<u64>) -> Self {
        Self {
            end,
            ..Self::default()
        }
    }

    fn load(path: &Path, end: Option<u64>) -> Result<Self, ReportError> {
        let file = std::fs::File::open(path).map_err(|e| ReportError::unreadable(path, &e))?;
        let mut trace = Trace::ending_at(end);
        for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
            let line = line.map_err(|e| ReportError::unreadable(path, &e))?;
            let ev: Value = serde_json::from_str(&line).map_err(|e| {
                ReportError::input(path.display().to_string(), e.to_string()).at_line(i + 1)
            })?;
            trace.add(&ev);
        }
        Ok(trace)
    }

    /// Whether something at `t` can be in the picture: the margin after the
    /// end is at most a fiftieth of the end (see [`window`]).
    fn before_margin(&self, t: u64) -> bool {
        self.end.is_none_or(|end| t <= end + end / 50 + 1)
    }

    /// The kept send with this id.
    fn send_mut(&mut self, id: u64) -> Option<&mut Send> {
        let i = self.sends.binary_search_by_key(&id, |s| s.id).ok()?;
        self.sends.get_mut(i)
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
            "send" if self.before_margin(t) => self.add_send(ev, t, id),
            "deliver" => {
                if let Some(s) = self.send_mut(id) {
                    s.delivered.push(t);
                }
            }
            "drop" => {
                let reason = text(ev, "reason");
                if let Some(s) = self.send_mut(id) {
                    s.dropped.push((t, reason));
                }
            }
            "crash" => self.crashes.push((t, node)),
            "restart" => self.restarts.push((t, node)),
            "pause" => self.pauses.push((t, field(ev, "until"), node)),
            "fault" => self.faults.push((t, text(ev, "what"))),
            "op" if self.before_margin(t) => {
                self.ops
                    .push_back((t, node, text(ev, "type"), text(ev, "f")))
            }
            _ => {}
        }
    }

    fn add_send(&mut self, ev: &Value, t: u64, id: u64) {
        let msg = ev.get("msg").cloned().unwrap_or(Value::Null);
        self.sends.push_back(Send {
            id,
            t,
            from: field(ev, "from"),
            to: field(ev, "to"),
            kind: kind_of(&msg),
            text: msg.to_string(),
            delivered: Vec::new(),
            dropped: Vec::new(),
        });
        // Only sends up to the end count against the limit (the trace is in
        // time order: past the end, no send up to it follows).
        if self.end.is_some_and(|end| t > end) || self.sends.len() <= KEPT_SENDS {
            return;
        }
        let gone = self.sends.pop_front().expect("over the limit");
        self.evicted = Some(gone.t);
        // Operations before the oldest kept send: the window starts no
        // earlier than a fiftieth of its span before that send (measured
        // with the end known so far).
        let oldest = self.sends.front().expect("over the limit").t;
        let end = self.end.unwrap_or(t);
        let cutoff = oldest.saturating_sub(end.saturating_sub(oldest) / 50 + 1);
        while self.ops.front().is_some_and(|o| o.0 < cutoff) {
            self.ops.pop_front();
        }
    }
}

/// Draws `timeline.svg` into `dir` if it holds `trace.jsonl`; returns the
/// file written and its text (which the report shows inline), or `None`
/// for a run made without `--trace`.
pub(crate) fn render_timeline(
    dir: &Path,
    run: &RunData,
    counterexample: Option<&Counterexample>,
) -> Result<Option<(PathBuf, String)>, ReportError> {
    let trace_path = dir.join("trace.jsonl");
    if !trace_path.is_file() {
        return Ok(None);
    }
    let trace = Trace::load(&trace_path, run.violation.as_ref().map(|v| v.time))?;
    let svg = draw(&trace, run, counterexample);
    let path = dir.join("timeline.svg");
    std::fs::write(&path, &svg).map_err(|e| ReportError::io(&path, &e))?;
    Ok(Some((path, svg)))
}

/// The window shown: the last [`MAX_MESSAGES`] messages before the end (the
/// violation, if any), stretched back to the two faults or crashes before it
/// when that stays under four times as many messages: a bug usually shows
/// some time after the faults that caused it.
fn window(trace: &Trace, violation: Option<u64>) -> (u64, u64) {
    let end = violation.unwrap_or(trace.last).max(1);
    let sends: Vec<u64> = trace
        .sends
        .iter()
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
        // A send let go at or after `earlier` means more than KEPT_SENDS since it.
        let shown = sends.iter().filter(|&&t| t >= earlier).count();
        if shown <= 4 * MAX_MESSAGES && trace.evicted.is_none_or(|t| t < earlier) {
            start = earlier.saturating_sub((end - earlier) / 50);
        }
    }
    let start = start.min(end.saturating_sub(1));
    // A little air after the end, so the last arrows are visible.
    (start, end + (end - start) / 50 + 1)
}

/// Pixel geometry of one diagram: where a time and a node go.
struct Frame {
    start: u64,
    end: u64,
    lanes: u64,
}

impl Frame {
    fn x(&self, t: u64) -> f64 {
        let span = (self.end - self.start).max(1) as f64;
        LEFT + t.clamp(self.start, self.end).saturating_sub(self.start) as f64 / span
            * (WIDTH - LEFT - RIGHT)
    }

    fn y(&self, node: u64) -> f64 {
        TOP + LANE * node as f64 + LANE / 2.0
    }

    fn bottom(&self) -> f64 {
        TOP + LANE * self.lanes as f64
    }

    fn visible(&self, t: u64) -> bool {
        t >= self.start && t <= self.end
    }

    /// Whether `from..to` overlaps the window.
    fn overlaps(&self, from: u64, to: u64) -> bool {
        to >= self.start && from <= self.end
    }
}

/// The key under the lanes: entries laid out left to right, wrapping.
struct Key {
    svg: String,
    x: f64,
    y: f64,
}

/// Height of one row of the key.
const KEY_ROW: f64 = 20.0;
/// Where the key's entries start: right of its rows' titles.
const KEY_LEFT: f64 = LEFT + 24.0;
/// Makes text readable over arrows: a white outline painted under it.
const HALO: &str = r#"paint-order="stroke" stroke="white" stroke-width="3""#;

impl Key {
    fn new(top: f64) -> Self {
        Self {
            svg: String::new(),
            x: KEY_LEFT,
            y: top,
        }
    }

    /// An entry: `symbol` is SVG drawn in a 20 × 14 box whose centre left
    /// is (0, 0) (the entry translates it), then `label`.
    fn entry(&mut self, symbol: &str, label: &str) {
        // DejaVu Sans at 11 px averages under 6.5 px a character.
        let width = 26.0 + 6.5 * label.chars().count() as f64 + 18.0;
        if self.x + width > WIDTH - RIGHT && self.x > KEY_LEFT {
            self.x = KEY_LEFT;
            self.y += KEY_ROW;
        }
        let _ = writeln!(
            self.svg,
            r#"<g class="key" transform="translate({:.1},{:.1})">{symbol}<text x="26" y="4">{}</text></g>"#,
            self.x,
            self.y,
            escape(label)
        );
        self.x += width;
    }

    /// Starts a new row, led by `title`.
    fn row(&mut self, title: &str) {
        if self.x > KEY_LEFT {
            self.x = KEY_LEFT;
            self.y += KEY_ROW;
        }
        let _ = writeln!(
            self.svg,
            r#"<text x="4" y="{:.1}" font-weight="bold">{}</text>"#,
            self.y + 4.0,
            escape(title)
        );
    }

    fn height(&self, top: f64) -> f64 {
        self.y - top + KEY_ROW
    }
}

/// The SVG of a client operation's dot.
fn op_dot(op_type: &str) -> (&'static str, &'static str) {
    match op_type {
        "invoke" => ("white", "#333"),
        "ok" => ("#2ca02c", "#2ca02c"),
        "fail" => ("#d62728", "#d62728"),
        _ => ("#ff7f0e", "#ff7f0e"),
    }
}

fn draw(trace: &Trace, run: &RunData, counterexample: Option<&Counterexample>) -> String {
    let summary = &run.summary;
    let violation = run.violation.as_ref();
    let (start, end) = window(trace, violation.map(|v| v.time));
    let count = |path: &str| {
        summary
            .pointer(path)
            .and_then(Value::as_array)
            .map_or(0, Vec::len) as u64
    };
    let replicas = count("/cluster/replicas");
    // Node ids of the cluster; history processes are numbered
    // `incarnation × nodes + node`.
    let cluster = (replicas + count("/cluster/clients")).max(trace.nodes);
    let frame = Frame {
        start,
        end,
        lanes: trace.nodes.max(1),
    };
    let unit = TimeUnit::for_span(end);

    let mut body = String::new();
    draw_axis(&mut body, &frame, unit);
    draw_lanes(&mut body, &frame, trace, replicas);
    let shown_faults = draw_faults(&mut body, &frame, &run.faults);
    let mut labels = String::new();
    let highlighted =
        counterexample.map(|c| draw_counterexample(&mut body, &mut labels, &frame, c, cluster));
    let kinds = draw_messages(&mut body, &frame, trace);
    for (t, n, op_type, f) in trace.ops.iter().filter(|o| frame.visible(o.0)) {
        let (fill, stroke) = op_dot(op_type);
        let _ = writeln!(
            body,
            r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{fill}" stroke="{stroke}"><title>n{n} {op_type} {} at {}</title></circle>"#,
            frame.x(*t),
            frame.y(*n),
            escape(f),
            instant(*t)
        );
    }
    // Labels last, over the arrows.
    body.push_str(&labels);
    if let Some(v) = violation {
        draw_violation(&mut body, &frame, v);
    }

    // The key, then the picture's size, which depends on how many rows it took.
    let key_top = frame.bottom() + 60.0;
    let mut key = Key::new(key_top);
    key.row("key");
    key.entry(
        r##"<line x1="0" y1="0" x2="20" y2="0" stroke="#333" stroke-width="1.2" marker-end="url(#arrow)"/>"##,
        "message delivered",
    );
    key.entry(
        r##"<line x1="0" y1="0" x2="14" y2="0" stroke="#d62728" stroke-dasharray="3 2"/><text x="14" y="4" fill="#d62728" text-anchor="middle">×</text>"##,
        "message dropped",
    );
    for (op_type, label) in [
        ("invoke", "client invokes"),
        ("ok", "ok"),
        ("fail", "fail"),
        ("info", "info (indeterminate)"),
    ] {
        let (fill, stroke) = op_dot(op_type);
        key.entry(
            &format!(r#"<circle cx="8" cy="0" r="3.5" fill="{fill}" stroke="{stroke}"/>"#),
            label,
        );
    }
    key.entry(
        r##"<line x1="0" y1="0" x2="20" y2="0" stroke="#d62728" stroke-dasharray="2 3"/><text x="4" y="5" fill="#d62728" text-anchor="middle" font-size="14">✕</text>"##,
        "crash, node down",
    );
    key.entry(
        r##"<line x1="8" y1="-8" x2="8" y2="8" stroke="#2ca02c" stroke-width="2"/>"##,
        "restart",
    );
    key.entry(
        r##"<rect x="0" y="-7" width="20" height="14" fill="#ff7f0e" opacity="0.3"/>"##,
        "pause",
    );
    if violation.is_some() {
        key.entry(
            r##"<line x1="8" y1="-8" x2="8" y2="8" stroke="#d62728" stroke-width="2"/>"##,
            "first violation",
        );
    }
    if !shown_faults.is_empty() {
        key.row("faults");
        for family in families(shown_faults.iter().map(|f| f.kind.as_str())) {
            key.entry(
                &format!(
                    r#"<rect x="0" y="-7" width="20" height="14" fill="{}" opacity="0.35"/>"#,
                    family.svg_colour()
                ),
                family.name,
            );
        }
    }
    if let (Some(c), Some(shown)) = (counterexample, highlighted) {
        key.row("counterexample");
        for role in [Role::Prefix, Role::Candidate, Role::Unplaceable] {
            let (fill, stroke) = role.colours();
            let total = c.ops.iter().filter(|(r, _)| *r == role).count();
            if total == 0 {
                continue;
            }
            let here = shown.iter().filter(|r| **r == role).count();
            key.entry(
                &format!(
                    r#"<rect x="0" y="-7" width="20" height="14" rx="3" fill="{fill}" stroke="{stroke}" opacity="0.8"/>"#
                ),
                &format!("{} ({here} of {total} in this window)", role.name()),
            );
        }
    }
    if !kinds.is_empty() {
        key.row("messages");
        for (k, colour) in &kinds {
            key.entry(
                &format!(
                    r#"<line x1="0" y1="0" x2="20" y2="0" stroke="{colour}" stroke-width="2"/>"#
                ),
                k,
            );
        }
    }
    let height = key_top + key.height(key_top) + 10.0;

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(
        s,
        r#"<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="context-stroke"/></marker></defs>"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let title = format!(
        "Space-time diagram: {} messages, {} to {}",
        trace.sends.iter().filter(|m| frame.visible(m.t)).count(),
        instant(start),
        instant(end)
    );
    let _ = writeln!(
        s,
        r#"<text x="{LEFT}" y="20" font-size="14">{}</text>"#,
        escape(&title)
    );
    s.push_str(&body);
    s.push_str(&key.svg);
    s.push_str("</svg>\n");
    s
}

/// Grid lines and labels of true time, at 1-2-5 steps in ms or s.
fn draw_axis(s: &mut String, frame: &Frame, unit: TimeUnit) {
    let (a, b) = (unit.of(frame.start as f64), unit.of(frame.end as f64));
    for tick in linear_ticks(a, b) {
        let t = (tick * unit.nanos()).round() as u64;
        let tx = frame.x(t);
        let _ = writeln!(
            s,
            r##"<line x1="{tx:.1}" y1="{TOP}" x2="{tx:.1}" y2="{:.1}" stroke="#eee"/>"##,
            frame.bottom()
        );
        let _ = writeln!(
            s,
            r#"<text x="{tx:.1}" y="{:.1}" text-anchor="middle">{} {}</text>"#,
            frame.bottom() + 16.0,
            tick_label(tick),
            unit.name()
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">true time ({})</text>"#,
        (LEFT + WIDTH - RIGHT) / 2.0,
        frame.bottom() + 34.0,
        unit.name()
    );
}

/// One lane per node, with its crashes (cut until the restart) and pauses.
fn draw_lanes(s: &mut String, frame: &Frame, trace: &Trace, replicas: u64) {
    for n in 0..frame.lanes {
        let role = if n < replicas { "replica" } else { "client" };
        let _ = writeln!(
            s,
            r#"<text x="8" y="{:.1}">n{n} ({role})</text>"#,
            frame.y(n) + 4.0
        );
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}" stroke="#333"/>"##,
            frame.y(n),
            WIDTH - RIGHT
        );
    }
    for &(t, until, n) in &trace.pauses {
        if frame.overlaps(t, until) {
            let (a, b) = (frame.x(t), frame.x(until));
            let _ = writeln!(
                s,
                r##"<rect x="{a:.1}" y="{:.1}" width="{:.1}" height="14" fill="#ff7f0e" opacity="0.3"><title>n{n} paused {} to {}</title></rect>"##,
                frame.y(n) - 7.0,
                (b - a).max(1.0),
                instant(t),
                instant(until)
            );
        }
    }
    for &(t, n) in &trace.crashes {
        let back = trace
            .restarts
            .iter()
            .find(|&&(r, m)| m == n && r >= t)
            .map(|&(r, _)| r);
        let until = back.unwrap_or(frame.end);
        if frame.overlaps(t, until) {
            let (a, b) = (frame.x(t), frame.x(until));
            let _ = writeln!(
                s,
                r##"<line x1="{a:.1}" y1="{0:.1}" x2="{b:.1}" y2="{0:.1}" stroke="white" stroke-width="3"/>"##,
                frame.y(n)
            );
            let _ = writeln!(
                s,
                r##"<line x1="{a:.1}" y1="{0:.1}" x2="{b:.1}" y2="{0:.1}" stroke="#d62728" stroke-dasharray="2 3"><title>n{n} down from {1}</title></line>"##,
                frame.y(n),
                instant(t)
            );
            if frame.visible(t) {
                let _ = writeln!(
                    s,
                    r##"<text x="{a:.1}" y="{:.1}" fill="#d62728" text-anchor="middle" font-size="14">✕<title>n{n} crashes at {}</title></text>"##,
                    frame.y(n) + 5.0,
                    instant(t)
                );
            }
        }
    }
    for &(t, n) in trace.restarts.iter().filter(|r| frame.visible(r.0)) {
        let x = frame.x(t);
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#2ca02c" stroke-width="2"><title>n{n} restarts at {}</title></line>"##,
            frame.y(n) - 8.0,
            frame.y(n) + 8.0,
            instant(t)
        );
    }
}

/// The applied faults that overlap the window, shaded in their kind's
/// colour on the lanes of the nodes they name (all lanes when they name
/// none) and numbered as in the report's fault table; returns those drawn.
fn draw_faults<'f>(
    s: &mut String,
    frame: &Frame,
    faults: &'f [FaultInterval],
) -> Vec<&'f FaultInterval> {
    let mut shown = Vec::new();
    for (i, f) in faults.iter().enumerate() {
        let until = f.end.unwrap_or(frame.end);
        if !frame.overlaps(f.start, until) {
            continue;
        }
        shown.push(f);
        let family = FaultFamily::of(&f.kind);
        let colour = family.svg_colour();
        let (a, b) = (frame.x(f.start), frame.x(until));
        let width = (b - a).max(1.5);
        let hover = format!(
            "fault {}: {} ({}), {} to {}",
            i + 1,
            f.caption(),
            f.kind,
            instant(f.start),
            f.end.map_or("the end".into(), instant)
        );
        let lanes: Vec<u64> = if f.nodes.is_empty() {
            (0..frame.lanes).collect()
        } else {
            f.nodes
                .iter()
                .copied()
                .filter(|&n| n < frame.lanes)
                .collect()
        };
        for n in lanes {
            let _ = writeln!(
                s,
                r#"<rect x="{a:.1}" y="{:.1}" width="{width:.1}" height="{:.1}" fill="{colour}" opacity="0.22"><title>{}</title></rect>"#,
                frame.y(n) - LANE / 2.0 + 2.0,
                LANE - 4.0,
                escape(&hover)
            );
        }
        // Numbered as in the report's fault table and on the plots.
        let RGBColor(r, g, bl) = family.text_colour();
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" fill="#{r:02X}{g:02X}{bl:02X}" {HALO}>{}<title>{}</title></text>"##,
            a + 2.0,
            TOP - 6.0,
            escape(&format!("{}: {}", i + 1, f.caption())),
            escape(&hover)
        );
    }
    shown
}

/// Highlights the counterexample's operations on their clients' lanes (the
/// one that cannot be placed labelled in `labels`, drawn over the arrows);
/// returns the roles of those in the window.
fn draw_counterexample(
    s: &mut String,
    labels: &mut String,
    frame: &Frame,
    c: &Counterexample,
    cluster: u64,
) -> Vec<Role> {
    let mut shown = Vec::new();
    for (role, op) in &c.ops {
        let until = op.complete_time.unwrap_or(frame.end);
        let node = op.process % cluster.max(1);
        if !frame.overlaps(op.invoke_time, until) || node >= frame.lanes {
            continue;
        }
        shown.push(*role);
        let (fill, stroke) = role.colours();
        let (a, b) = (frame.x(op.invoke_time), frame.x(until));
        let hover = format!(
            "counterexample, {}: op #{} (process {}) {}{}, {} to {}",
            role.name(),
            op.op,
            op.process,
            op.description,
            c.partition
                .as_ref()
                .map(|k| format!(" on key {k}"))
                .unwrap_or_default(),
            instant(op.invoke_time),
            op.complete_time.map_or("indeterminate".into(), instant)
        );
        let _ = writeln!(
            s,
            r#"<rect class="counterexample" x="{a:.1}" y="{:.1}" width="{:.1}" height="18" rx="4" fill="{fill}" stroke="{stroke}" stroke-width="1.5" opacity="0.85"><title>{}</title></rect>"#,
            frame.y(node) - 9.0,
            (b - a).max(3.0),
            escape(&hover)
        );
        if *role == Role::Unplaceable {
            let _ = writeln!(
                labels,
                r#"<text x="{:.1}" y="{:.1}" fill="{stroke}" text-anchor="end" font-weight="bold" {HALO}>{}</text>"#,
                b,
                frame.y(node) - 12.0,
                escape(&format!("cannot be placed: {}", op.description))
            );
        }
    }
    shown
}

/// Delivered messages as arrows, then dropped ones; returns the message
/// types with their colours, for the key.
fn draw_messages(s: &mut String, frame: &Frame, trace: &Trace) -> Vec<(String, &'static str)> {
    let shown = || trace.sends.iter().filter(|m| frame.visible(m.t));
    let mut kinds: Vec<&str> = shown().map(|m| m.kind.as_str()).collect();
    kinds.sort_unstable();
    kinds.dedup();
    let color =
        |kind: &str| PALETTE[kinds.iter().position(|k| *k == kind).unwrap_or(0) % PALETTE.len()];
    for m in shown() {
        for &t in &m.delivered {
            let _ = writeln!(
                s,
                r#"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{}" stroke-width="1.2" marker-end="url(#arrow)"><title>#{} n{}→n{} {}, sent {}, delivered {}: {}</title></line>"#,
                frame.x(m.t),
                frame.y(m.from),
                frame.x(t),
                frame.y(m.to),
                color(&m.kind),
                m.id,
                m.from,
                m.to,
                escape(&m.kind),
                instant(m.t),
                instant(t),
                escape(&m.text)
            );
        }
    }
    for m in shown() {
        for (t, reason) in &m.dropped {
            // A drop at send (loss, cut) gets a short stub towards the receiver.
            let (x0, y0) = (frame.x(m.t), frame.y(m.from));
            let (x1, y1) = if *t > m.t {
                (frame.x(*t), frame.y(m.to))
            } else {
                (x0 + 12.0, y0 + (frame.y(m.to) - y0) * 0.25)
            };
            let _ = writeln!(
                s,
                r##"<line x1="{x0:.1}" y1="{y0:.1}" x2="{x1:.1}" y2="{y1:.1}" stroke="#d62728" stroke-dasharray="3 2"><title>#{} n{}→n{} dropped ({reason}) at {}: {}</title></line><text x="{x1:.1}" y="{:.1}" fill="#d62728" text-anchor="middle">×</text>"##,
                m.id,
                m.from,
                m.to,
                instant(*t),
                escape(&m.text),
                y1 + 4.0
            );
        }
    }
    kinds.iter().map(|k| (k.to_string(), color(k))).collect()
}

/// The first violation: a red vertical over every lane, labelled above them.
fn draw_violation(s: &mut String, frame: &Frame, v: &Violation) {
    let fx = frame.x(v.time);
    let _ = writeln!(
        s,
        r##"<line class="violation" x1="{fx:.1}" y1="{:.1}" x2="{fx:.1}" y2="{:.1}" stroke="#d62728" stroke-width="2"><title>first violation at {}: {}</title></line>"##,
        TOP - 25.0,
        frame.bottom(),
        instant(v.time),
        escape(&v.label)
    );
    let label = format!("violation at {}: {}", instant(v.time), v.label);
    let _ = writeln!(
        s,
        r##"<text x="{:.1}" y="{:.1}" fill="#d62728" text-anchor="end" {HALO}>{}</text>"##,
        fx - 4.0,
        TOP - 28.0,
        escape(&label.chars().take(140).collect::<String>())
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run of the cluster `summary` describes, with `faults`.
    fn run(summary: Value, faults: Vec<FaultInterval>) -> RunData {
        RunData {
            violation: Violation::of(&summary),
            summary,
            ops: vec![],
            faults,
            end: 10_000,
        }
    }

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
        let cluster = || serde_json::json!({"cluster": {"replicas": [0, 1], "clients": [2]}});
        let svg = draw(&t, &run(cluster(), vec![]), None);
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
        for symbol in [
            "message dropped",
            "client invokes",
            "crash, node down",
            "restart",
        ] {
            assert!(
                svg.contains(&format!(">{symbol}</text>")),
                "key lacks {symbol}"
            );
        }
        assert!(
            !svg.contains("first violation"),
            "no violation, none in the key"
        );
        assert_eq!(svg, draw(&t, &run(cluster(), vec![]), None));
        roxmltree::Document::parse(&svg).unwrap();
    }

    #[test]
    fn faults_the_violation_and_the_counterexample_are_drawn_and_explained() {
        let t = trace(&[
            r#"{"ev":"send","t":0,"from":0,"to":1,"id":0,"msg":{"Ping":{"n":1}}}"#,
            r#"{"ev":"deliver","t":1000,"from":0,"to":1,"id":0}"#,
            r#"{"ev":"op","t":3000,"node":2,"process":2,"type":"invoke","f":"read","value":null}"#,
            r#"{"ev":"op","t":6000,"node":2,"process":2,"type":"ok","f":"read","value":1}"#,
        ]);
        let mut summary = serde_json::json!({"cluster": {"replicas": [0, 1], "clients": [2]},
            "verdicts": [{"check": "linearizability", "result": "fail",
                          "detail": "not linearizable: key \"k\"", "time": 6000}]});
        summary["faults_applied"] = serde_json::json!([]);
        let faults = vec![FaultInterval {
            start: 500,
            end: Some(2500),
            kind: "isolate".into(),
            label: "isolate n1".into(),
            nodes: vec![1],
        }];
        let cx = serde_json::json!({"partition": "k", "prefix": [], "candidates": [],
            "unplaceable": {"op": 7, "process": 5, "description": "read -> 1",
                            "invoke_time": 3000, "complete_time": 6000}});
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("counterexample.json"), cx.to_string()).unwrap();
        let cx = Counterexample::load(tmp.path()).unwrap().unwrap();
        let svg = draw(&t, &run(summary, faults), Some(&cx));
        roxmltree::Document::parse(&svg).unwrap();
        // The fault on n1's lane only, in the partition colour, keyed.
        assert_eq!(
            svg.matches(&format!(
                "fill=\"{}\"",
                FaultFamily::of("isolate").svg_colour()
            ))
            .count(),
            2
        );
        assert!(svg.contains("fault 1: isolate n1 (isolate)"));
        assert!(svg.contains(">partition</text>"));
        // The violation, marked and keyed.
        assert!(svg.contains("class=\"violation\""));
        assert!(svg.contains(">first violation</text>"));
        // Process 5 is the second incarnation of node 2 (3 nodes): highlighted on n2's lane.
        let highlighted = format!("y=\"{:.1}\"", TOP + LANE * 2.0 + LANE / 2.0 - 9.0);
        let rect = svg
            .lines()
            .find(|l| l.contains("class=\"counterexample\""))
            .unwrap();
        assert!(rect.contains(&highlighted), "{rect}");
        assert!(rect
            .contains("counterexample, cannot be placed: op #7 (process 5) read -&gt; 1 on key k"));
        assert!(svg.contains(">cannot be placed (1 of 1 in this window)</text>"));
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

    /// `messages` pings, each delivered, every tenth followed by an operation.
    fn pings(from: u64, to: u64) -> Vec<Value> {
        let mut events = Vec::new();
        for i in from..to {
            events.push(serde_json::json!({"ev": "send", "t": i * 10, "from": i % 3, "to": (i + 1) % 3, "id": i, "msg": {"Ping": {"n": i}}}));
            events.push(serde_json::json!({"ev": "deliver", "t": i * 10 + 7, "from": i % 3, "to": (i + 1) % 3, "id": i}));
            if i % 10 == 0 {
                events.push(serde_json::json!({"ev": "op", "t": i * 10 + 8, "node": 2, "process": 2, "type": "invoke", "f": "read", "value": null}));
            }
        }
        events
    }

    #[test]
    fn memory_stays_bounded_and_the_picture_is_that_of_the_tail() {
        let mut whole = Trace::default();
        pings(0, 20_000).iter().for_each(|e| whole.add(e));
        assert_eq!(whole.sends.len(), KEPT_SENDS);
        assert!(whole.ops.len() < 2 * KEPT_SENDS / 10, "{}", whole.ops.len());
        let mut tail = Trace::default();
        pings(20_000 - 2 * KEPT_SENDS as u64, 20_000)
            .iter()
            .for_each(|e| tail.add(e));
        let cluster = || serde_json::json!({"cluster": {"replicas": [0, 1], "clients": [2]}});
        let svg = draw(&whole, &run(cluster(), vec![]), None);
        assert_eq!(svg, draw(&tail, &run(cluster(), vec![]), None));
        assert_eq!(svg.matches("marker-end").count(), MAX_MESSAGES + 1);
        assert!(svg.contains("n2 invoke read"));
    }

    #[test]
    fn past_a_known_end_only_the_margin_is_kept() {
        let mut t = Trace::ending_at(Some(50_000));
        pings(0, 20_000).iter().for_each(|e| t.add(e));
        let last = t.sends.back().unwrap().t;
        assert!((50_000..=51_001).contains(&last), "{last}");
        assert!(t.ops.back().unwrap().0 <= 51_001);
        assert_eq!(
            t.sends.iter().filter(|s| s.t <= 50_000).count(),
            KEPT_SENDS.min(5_001)
        );
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
