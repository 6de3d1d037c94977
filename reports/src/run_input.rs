//! What a run report reads: the run directory itself.
//!
//! `summary.json` is read as plain JSON rather than as the scenarios crate's
//! `Summary` type: scenarios depends on reports, not the other way round, and
//! a report of an older or newer run should still render what it can. The
//! fields used are `virtual_time_ns`, `faults_applied` (absent: no faults) and
//! those shown in the summary table. `history.jsonl` is read as
//! `sim_core::HistoryEntry` lines.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;
use sim_core::{History, HistoryEntry, Nanos, OpType};

use crate::error::ReportError;

/// A fault interval as the runner applied it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FaultInterval {
    pub start: Nanos,
    /// `None`: the fault lasted to the end of the run.
    #[serde(default)]
    pub end: Option<Nanos>,
    pub kind: String,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub nodes: Vec<u64>,
}

impl FaultInterval {
    /// The text drawn on the plot: the label (`isolate n2 for 300ms`), which
    /// names the kind in words, or else the kind.
    pub fn caption(&self) -> &str {
        if self.label.is_empty() {
            &self.kind
        } else {
            &self.label
        }
    }
}

/// One client operation, from its invocation to its completion.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Op {
    pub invoke: Nanos,
    /// `None`: never completed (indeterminate, counted as info).
    pub complete: Option<Nanos>,
    pub outcome: OpType,
}

impl Op {
    pub fn latency(&self) -> Option<Nanos> {
        self.complete.map(|c| c.saturating_sub(self.invoke))
    }
}

/// When and what first went wrong in a run.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Violation {
    pub time: Nanos,
    /// `linearizability: not linearizable: key "16"`: the check and the
    /// first line of what it says.
    pub label: String,
}

impl Violation {
    /// The finding that stopped the run, else the earliest failed check that
    /// knows when its violation shows (`time` of its verdict); `None` for a
    /// run that passed or whose failures have no time.
    pub fn of(summary: &Value) -> Option<Self> {
        fn text<'v>(v: &'v Value, name: &str) -> &'v str {
            v.get(name).and_then(Value::as_str).unwrap_or("")
        }
        if let Some(f) = summary.get("finding").filter(|f| !f.is_null()) {
            if let Some(time) = f.get("time").and_then(Value::as_u64) {
                let label = format!("{}: {}", text(f, "kind"), first_line(text(f, "message")));
                return Some(Self { time, label });
            }
        }
        summary
            .get("verdicts")?
            .as_array()?
            .iter()
            .filter(|v| v.get("result").and_then(Value::as_str) == Some("fail"))
            .filter_map(|v| {
                let time = v.get("time").and_then(Value::as_u64)?;
                let label = format!("{}: {}", text(v, "check"), first_line(text(v, "detail")));
                Some(Self { time, label })
            })
            .min_by_key(|v| v.time)
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

pub(crate) struct RunData {
    pub summary: Value,
    /// The first violation, marked on every plot.
    pub violation: Option<Violation>,
    pub ops: Vec<Op>,
    pub faults: Vec<FaultInterval>,
    /// The virtual time the run reached (the x axis ends there).
    pub end: Nanos,
}

impl RunData {
    pub fn load(dir: &Path) -> Result<Self, ReportError> {
        let summary_path = dir.join("summary.json");
        let text = std::fs::read_to_string(&summary_path)
            .map_err(|e| ReportError::unreadable(&summary_path, &e))?;
        let summary: Value = serde_json::from_str(&text).map_err(|e| {
            ReportError::input(summary_path.display().to_string(), e.to_string()).at_line(e.line())
        })?;
        let faults = match summary.get("faults_applied") {
            None | Some(Value::Null) => Vec::new(),
            Some(v) => Vec::<FaultInterval>::deserialize(v).map_err(|e| {
                ReportError::input(summary_path.display().to_string(), e.to_string())
                    .with_field("faults_applied")
            })?,
        };

        let history_path = dir.join("history.jsonl");
        let text = std::fs::read_to_string(&history_path)
            .map_err(|e| ReportError::unreadable(&history_path, &e))?;
        let mut history = History::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let entry: HistoryEntry = serde_json::from_str(line).map_err(|e| {
                ReportError::input(history_path.display().to_string(), e.to_string()).at_line(i + 1)
            })?;
            history.push(entry);
        }
        let ops = history
            .operations()
            .map_err(|e| {
                ReportError::input(history_path.display().to_string(), e.message.clone())
                    .at_line(e.index + 1)
            })?
            .iter()
            .map(|o| Op {
                invoke: o.invoke.time,
                complete: o.completion.map(|c| c.time),
                outcome: o.outcome(),
            })
            .collect::<Vec<_>>();

        let last_event = history.entries.iter().map(|e| e.time).max().unwrap_or(0);
        let last_fault = faults
            .iter()
            .map(|f| f.end.unwrap_or(f.start))
            .max()
            .unwrap_or(0);
        let end = summary
            .get("virtual_time_ns")
            .and_then(Value::as_u64)
            .unwrap_or(0)
            .max(last_event)
            .max(last_fault)
            .max(1);
        Ok(Self {
            violation: Violation::of(&summary),
            summary,
            ops,
            faults,
            end,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, summary: &str, history: &str) {
        std::fs::write(dir.join("summary.json"), summary).unwrap();
        std::fs::write(dir.join("history.jsonl"), history).unwrap();
    }

    const HISTORY: &str = r#"{"process":0,"type":"invoke","f":"read","value":null,"time":1000}
{"process":1,"type":"invoke","f":"write","value":3,"time":2000}
{"process":0,"type":"ok","f":"read","value":null,"time":5000}
"#;

    #[test]
    fn pairs_operations_and_reads_faults() {
        let tmp = tempfile::tempdir().unwrap();
        write(
            tmp.path(),
            r#"{"virtual_time_ns": 9000, "faults_applied": [
                {"start": 100, "end": null, "kind": "partition", "label": "isolate n2", "nodes": [2]}]}"#,
            HISTORY,
        );
        let run = RunData::load(tmp.path()).unwrap();
        assert_eq!(run.end, 9000);
        assert_eq!(run.ops.len(), 2);
        assert_eq!(run.ops[0].latency(), Some(4000));
        assert_eq!(run.ops[1].outcome, OpType::Info);
        assert_eq!(run.faults[0].caption(), "isolate n2");
        assert_eq!(run.faults[0].end, None);
    }

    #[test]
    fn the_violation_is_the_finding_else_the_earliest_timed_failure() {
        let summary = serde_json::json!({"verdicts": [
            {"check": "liveness", "result": "fail", "detail": "stuck\nmore", "time": 900},
            {"check": "linearizability", "result": "fail", "detail": "not linearizable", "time": 700},
            {"check": "workload", "result": "fail", "detail": "no time"},
            {"check": "no-panic", "result": "pass", "time": 1}]});
        assert_eq!(
            Violation::of(&summary),
            Some(Violation {
                time: 700,
                label: "linearizability: not linearizable".into()
            })
        );
        let mut with_finding = summary.clone();
        with_finding["finding"] = serde_json::json!(
            {"kind": "election-safety", "time": 800, "message": "two leaders\nin term 3"});
        assert_eq!(
            Violation::of(&with_finding),
            Some(Violation {
                time: 800,
                label: "election-safety: two leaders".into()
            })
        );
        assert_eq!(Violation::of(&serde_json::json!({"verdicts": []})), None);
    }

    #[test]
    fn a_missing_fault_list_means_no_faults() {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), r#"{"virtual_time_ns": 9000}"#, HISTORY);
        assert!(RunData::load(tmp.path()).unwrap().faults.is_empty());
    }

    #[test]
    fn malformed_input_names_file_line_and_field() {
        let tmp = tempfile::tempdir().unwrap();
        write(
            tmp.path(),
            r#"{"faults_applied": [{"start": "soon"}]}"#,
            HISTORY,
        );
        let e = RunData::load(tmp.path()).err().unwrap();
        assert!(e.path.ends_with("summary.json"), "{e}");
        assert_eq!(e.field.as_deref(), Some("faults_applied"), "{e}");

        write(tmp.path(), "{}", &format!("{HISTORY}{{\"process\": 1}}\n"));
        let e = RunData::load(tmp.path()).err().unwrap();
        assert!(e.path.ends_with("history.jsonl"), "{e}");
        assert_eq!(e.line, Some(4), "{e}");
    }
}
