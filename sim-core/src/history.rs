//! Client operations, recorded Jepsen-style.
//!
//! Every operation is an `invoke` followed by at most one completion: `ok` (it
//! took effect, with this result), `fail` (it certainly did not take effect) or
//! `info` (indeterminate: it may have taken effect at any time after its invoke,
//! or never). An invoke with no completion at the end of a run counts as `info`.
//!
//! Values are JSON so that one history type serves every model (register, KV,
//! lock, set, counter) and so that `history.jsonl` is readable by other tools.
//! The conventions, per function `f`:
//!
//! | f         | invoke value         | ok value                      |
//! |-----------|----------------------|-------------------------------|
//! | `read`    | `null`               | the value read (`null` = none)|
//! | `write`   | the value            | the value                     |
//! | `cas`     | `[expected, new]`    | `[expected, new]`             |
//! | `get`     | `null`               | the value read                |
//! | `put`     | the value            | the value                     |
//! | `append`  | the suffix           | the suffix                    |
//! | `acquire` / `release` | `null`   | the fencing token (acquire)   |
//! | `add` / `incr` | the amount / element | same                     |

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::time::Nanos;

/// Which step of an operation a history entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpType {
    Invoke,
    Ok,
    Fail,
    Info,
}

/// One line of a history: an invocation or a completion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// The logical client process; a process has at most one open operation.
    pub process: u64,
    #[serde(rename = "type")]
    pub op_type: OpType,
    /// The operation's function name (`read`, `write`, `cas`, `get`, `put`, ...).
    pub f: String,
    /// The key, for models that partition by key (absent for a single register).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default)]
    pub value: Value,
    /// True (harness) time in nanoseconds; processes never see it.
    pub time: Nanos,
}

/// Identifies an open operation so that its completion can be matched to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpId(pub u64);

/// A run's client history, in the order events happened.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct History {
    pub entries: Vec<HistoryEntry>,
}

impl History {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, entry: HistoryEntry) {
        self.entries.push(entry);
    }

    /// Pairs each invocation with its completion (if any), in invocation order.
    ///
    /// A completion closes the open operation of its process; a completion with
    /// no open operation is reported as an error with its entry index.
    pub fn operations(&self) -> Result<Vec<Operation<'_>>, HistoryError> {
        let mut ops: Vec<Operation<'_>> = Vec::new();
        let mut open: std::collections::BTreeMap<u64, usize> = Default::default();
        for (index, entry) in self.entries.iter().enumerate() {
            match entry.op_type {
                OpType::Invoke => {
                    if open.contains_key(&entry.process) {
                        return Err(HistoryError {
                            index,
                            message: format!(
                                "process {} invokes while an operation is still open",
                                entry.process
                            ),
                        });
                    }
                    open.insert(entry.process, ops.len());
                    ops.push(Operation {
                        invoke: entry,
                        completion: None,
                    });
                }
                _ => match open.remove(&entry.process) {
                    Some(at) => ops[at].completion = Some(entry),
                    None => {
                        return Err(HistoryError {
                            index,
                            message: format!(
                                "process {} completes an operation it never invoked",
                                entry.process
                            ),
                        })
                    }
                },
            }
        }
        Ok(ops)
    }

    /// Writes the history as JSON lines, one entry per line.
    pub fn write_jsonl(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        for entry in &self.entries {
            serde_json::to_writer(&mut *out, entry)?;
            out.write_all(b"\n")?;
        }
        Ok(())
    }
}

/// An invocation with its completion (`None`: never completed, i.e. indeterminate).
#[derive(Debug, Clone, Copy)]
pub struct Operation<'a> {
    pub invoke: &'a HistoryEntry,
    pub completion: Option<&'a HistoryEntry>,
}

impl Operation<'_> {
    /// The outcome, with a missing completion read as `info`.
    pub fn outcome(&self) -> OpType {
        self.completion.map_or(OpType::Info, |c| c.op_type)
    }

    /// Latency in true nanoseconds, for completed operations.
    pub fn latency(&self) -> Option<Nanos> {
        self.completion
            .map(|c| c.time.saturating_sub(self.invoke.time))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryError {
    /// Index of the offending entry (0-based).
    pub index: usize,
    pub message: String,
}

impl std::fmt::Display for HistoryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "entry {}: {}", self.index, self.message)
    }
}

impl std::error::Error for HistoryError {}
