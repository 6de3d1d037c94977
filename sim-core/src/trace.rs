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
    #[inline]
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
                msg.hash(h);
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
                // serde_json::Value has no Hash; its canonical text does.
                value.to_string().hash(h);
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
#[inline]
fn fold(h: &mut EventHasher, kind: u64, node: NodeId, t: Nanos, fields: &[u64]) {
    h.word(kind << 32 | u64::from(node));
    h.word(t);
    for &f in fields {
        h.word(f);
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

    #[inline]
    pub fn record<M: Message>(&mut self, event: TraceEvent<'_, M>) {
        event.fold(&mut self.fingerprint);
        self.events += 1;
        if let Some(out) = self.out.as_mut() {
            let result = serde_json::to_writer(&mut *out, &event)
                .map_err(std::io::Error::from)
                .and_then(|_| out.write_all(b"\n"));
            if let Err(e) = result {
                // A full disk must not change the run: stop writing, remember why.
                self.error.get_or_insert(e);
                self.out = None;
            }
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
