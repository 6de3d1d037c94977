//! Trace events: what the fingerprint hashes and what `trace.jsonl` holds.
//!
//! Every event of a run passes through [`Recorder::record`], which folds it
//! into the fingerprint and, when a trace file is open, writes it as one JSON
//! line. The fingerprint is computed whether or not the trace is written, so a
//! run's identity never depends on how it was observed.

use std::hash::Hash;
use std::io::Write;

use serde::Serialize;

use crate::fingerprint::EventHasher;
use crate::process::{Message, NodeId};
use crate::time::Nanos;

/// Why a message did not arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    Loss,
    Cut,
    ReceiverDown,
    Corrupt,
}

/// One event of a run.
#[derive(Debug, Serialize)]
#[serde(tag = "ev", rename_all = "snake_case")]
pub enum TraceEvent<'a, M> {
    Start {
        t: Nanos,
        node: NodeId,
    },
    Send {
        t: Nanos,
        from: NodeId,
        to: NodeId,
        id: u64,
        msg: &'a M,
    },
    Deliver {
        t: Nanos,
        from: NodeId,
        to: NodeId,
        id: u64,
    },
    Drop {
        t: Nanos,
        from: NodeId,
        to: NodeId,
        id: u64,
        reason: DropReason,
    },
    Duplicate {
        t: Nanos,
        from: NodeId,
        to: NodeId,
        id: u64,
    },
    Corrupt {
        t: Nanos,
        from: NodeId,
        to: NodeId,
        id: u64,
    },
    Timer {
        t: Nanos,
        node: NodeId,
        tag: u64,
    },
    Crash {
        t: Nanos,
        node: NodeId,
        lost_writes: u64,
    },
    Restart {
        t: Nanos,
        node: NodeId,
        wiped: bool,
    },
    Pause {
        t: Nanos,
        node: NodeId,
        until: Nanos,
    },
    Clock {
        t: Nanos,
        node: NodeId,
        local: Nanos,
        drift_ppm: i64,
    },
    /// A fault or harness action described in words (partition, heal, ...).
    Fault {
        t: Nanos,
        what: &'a str,
    },
    Op {
        t: Nanos,
        node: NodeId,
        process: u64,
        #[serde(rename = "type")]
        op_type: &'a str,
        f: &'a str,
        key: Option<&'a str>,
        value: &'a serde_json::Value,
    },
    Panic {
        t: Nanos,
        node: NodeId,
        message: &'a str,
    },
}

impl<M: Message> TraceEvent<'_, M> {
    /// Folds the event into the fingerprint: its kind and node (or sender)
    /// in one word, its time, then its other fields.
    #[inline(always)]
    fn fold(&self, h: &mut EventHasher) {
        match self {
            TraceEvent::Start { t, node } => fold(h, 1, *node, *t, &[]),
            TraceEvent::Send {
                t,
                from,
                to,
                id,
                msg,
            } => {
                fold(h, 2, *from, *t, &[*to as u64, *id]);
                msg.fingerprint(h);
            }
            TraceEvent::Deliver { t, from, to, id } => fold(h, 3, *from, *t, &[*to as u64, *id]),
            TraceEvent::Drop {
                t,
                from,
                to,
                id,
                reason,
            } => fold(h, 4, *from, *t, &[*to as u64, *id, *reason as u64]),
            TraceEvent::Duplicate { t, from, to, id } => fold(h, 5, *from, *t, &[*to as u64, *id]),
            TraceEvent::Corrupt { t, from, to, id } => fold(h, 6, *from, *t, &[*to as u64, *id]),
            TraceEvent::Timer { t, node, tag } => fold(h, 7, *node, *t, &[*tag]),
            TraceEvent::Crash {
                t,
                node,
                lost_writes,
            } => fold(h, 8, *node, *t, &[*lost_writes]),
            TraceEvent::Restart { t, node, wiped } => fold(h, 9, *node, *t, &[*wiped as u64]),
            TraceEvent::Pause { t, node, until } => fold(h, 10, *node, *t, &[*until]),
            TraceEvent::Clock {
                t,
                node,
                local,
                drift_ppm,
            } => fold(h, 11, *node, *t, &[*local, *drift_ppm as u64]),
            TraceEvent::Fault { t, what } => {
                fold(h, 12, 0, *t, &[]);
                what.hash(h);
            }
            TraceEvent::Op {
                t,
                node,
                process,
                op_type,
                f,
                key,
                value,
            } => {
                fold(h, 13, *node, *t, &[*process]);
                (op_type, f, key).hash(h);
                fold_json(h, value);
            }
            TraceEvent::Panic { t, node, message } => {
                fold(h, 14, *node, *t, &[]);
                message.hash(h);
            }
        }
    }
}

/// Kind and node share a word (both fit in 32 bits, so the pair is still
/// told apart from every other pair): one word fewer per event.
#[inline(always)]
fn fold(h: &mut EventHasher, kind: u64, node: NodeId, t: Nanos, fields: &[u64]) {
    h.word(kind << 32 | u64::from(node));
    h.word(t);
    for &f in fields {
        h.word(f);
    }
}

/// Folds a JSON value (which has no `Hash`) by its structure: a tag word
/// per node, then its content, arrays and objects with their length first.
/// Two values fold alike only if they are equal: the tags keep the kinds
/// apart (`1` from `1.0` from `"1"`), the lengths keep nestings apart.
/// Walking the value costs no allocation, where hashing its text formatted
/// it into a fresh string for every operation.
fn fold_json(h: &mut EventHasher, value: &serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Null => h.word(0),
        Value::Bool(b) => h.word(1 | u64::from(*b) << 8),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                h.word(2);
                h.word(u);
            } else if let Some(i) = n.as_i64() {
                h.word(3);
                h.word(i as u64);
            } else {
                h.word(4);
                h.word(n.as_f64().unwrap_or(f64::NAN).to_bits());
            }
        }
        Value::String(s) => {
            h.word(5);
            s.hash(h);
        }
        Value::Array(items) => {
            h.word(6);
            h.word(items.len() as u64);
            for item in items {
                fold_json(h, item);
            }
        }
        Value::Object(map) => {
            h.word(7);
            h.word(map.len() as u64);
            for (k, v) in map {
                k.hash(h);
                fold_json(h, v);
            }
        }
    }
}

/// Fingerprint plus optional trace file.
pub struct Recorder {
    fingerprint: EventHasher,
    events: u64,
    out: Option<Box<dyn Write>>,
    error: Option<std::io::Error>,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder {
    pub fn new() -> Self {
        Self {
            fingerprint: EventHasher::new(),
            events: 0,
            out: None,
            error: None,
        }
    }

    /// Streams every following event to `out` as JSON lines.
    pub fn set_output(&mut self, out: Box<dyn Write>) {
        self.out = Some(out);
    }

    /// Folds `event` into the fingerprint and writes it to the trace, if
    /// one is open. Always inlined: each caller records one kind of event,
    /// so only that kind's few words of folding remain at the call site;
    /// writing the trace line stays out of line.
    #[inline(always)]
    pub fn record<M: Message>(&mut self, event: TraceEvent<'_, M>) {
        event.fold(&mut self.fingerprint);
        self.events += 1;
        if self.out.is_some() {
            self.write(event);
        }
    }

    /// Writes one trace line. Takes the event by value, so that a caller
    /// lays it out in memory only on this path: without a trace the fields
    /// stay in registers, folded and gone.
    #[cold]
    #[inline(never)]
    fn write<M: Message>(&mut self, event: TraceEvent<'_, M>) {
        let Some(out) = self.out.as_mut() else {
            return;
        };
        let result = serde_json::to_writer(&mut *out, &event)
            .map_err(std::io::Error::from)
            .and_then(|_| out.write_all(b"\n"));
        if let Err(e) = result {
            // A full disk must not change the run: stop writing, remember why.
            self.error.get_or_insert(e);
            self.out = None;
        }
    }

    pub fn fingerprint(&self) -> u64 {
        self.fingerprint.value()
    }

    /// Number of events recorded (every trace line, written or not).
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Flushes the trace file; reports the first write error, if any.
    pub fn finish(&mut self) -> std::io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        if let Some(out) = self.out.as_mut() {
            out.flush()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    fn folded(v: &Value) -> u64 {
        let mut h = EventHasher::new();
        fold_json(&mut h, v);
        h.value()
    }

    /// Equal values fold alike; values that differ in kind, content or
    /// nesting fold apart.
    #[test]
    fn json_values_fold_apart_unless_equal() {
        let values = [
            json!(null),
            json!(false),
            json!(true),
            json!(0),
            json!(1),
            json!(-1),
            json!(1.0),
            json!(1.5),
            json!("1"),
            json!(""),
            json!("ab"),
            json!("ab\u{0}"),
            json!([]),
            json!([1]),
            json!([[1]]),
            json!([1, 2]),
            json!([[1], 2]),
            json!([1, [2]]),
            json!({}),
            json!({"a": 1}),
            json!({"a": [1]}),
            json!({"b": 1}),
            json!({"a": 1, "b": 2}),
            json!([null]),
            json!([null, null]),
        ];
        let folds: Vec<u64> = values.iter().map(folded).collect();
        for (i, a) in folds.iter().enumerate() {
            assert_eq!(*a, folded(&values[i].clone()), "{}", values[i]);
            for (j, b) in folds.iter().enumerate().skip(i + 1) {
                assert_ne!(a, b, "{} and {}", values[i], values[j]);
            }
        }
    }
}
