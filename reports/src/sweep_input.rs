//! What a sweep report reads: `sweep.jsonl` (one line per seed, in any
//! order: shards' files may be concatenated) and, when present,
//! `sweep-summary.json` (the sweep's own summary, with its command line and
//! speed).
//!
//! Lines are read as plain JSON (the scenarios crate writes them; it depends
//! on us). Fields used: `seed`, `passed`, `verdicts[].check/result`,
//! `finding.kind`, `fault_kinds`, and whatever metric the histogram shows.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::error::ReportError;
use crate::fault_kind::families;
use crate::html::lookup;

pub(crate) struct SweepData {
    /// One per seed, sorted by seed (so the report does not depend on the
    /// order in which seeds finished).
    pub lines: Vec<Value>,
    pub summary: Option<Value>,
}

impl SweepData {
    pub fn load(dir: &Path) -> Result<Self, ReportError> {
        let path = dir.join("sweep.jsonl");
        let text =
            std::fs::read_to_string(&path).map_err(|e| ReportError::unreadable(&path, &e))?;
        let mut lines = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let bad = |m: String| ReportError::input(path.display().to_string(), m).at_line(i + 1);
            let v: Value = serde_json::from_str(line).map_err(|e| bad(e.to_string()))?;
            if v.get("seed").and_then(Value::as_u64).is_none() {
                return Err(bad("no numeric `seed`".into()).with_field("seed"));
            }
            lines.push(v);
        }
        lines.sort_by_key(seed);
        let summary_path = dir.join("sweep-summary.json");
        let summary = match std::fs::read_to_string(&summary_path) {
            Err(_) => None,
            Ok(text) => Some(serde_json::from_str(&text).map_err(|e| {
                ReportError::input(summary_path.display().to_string(), e.to_string())
                    .at_line(e.line())
            })?),
        };
        Ok(Self { lines, summary })
    }

    pub fn failing(&self) -> impl Iterator<Item = &Value> {
        self.lines.iter().filter(|l| !passed(l))
    }
}

pub(crate) fn seed(line: &Value) -> u64 {
    line.get("seed").and_then(Value::as_u64).unwrap_or(0)
}

pub(crate) fn passed(line: &Value) -> bool {
    line.get("passed").and_then(Value::as_bool).unwrap_or(false)
}

/// Why a seed failed: its failed checks, else its finding's kind, else `error`.
pub(crate) fn reasons(line: &Value) -> Vec<String> {
    let failed: Vec<String> = line
        .get("verdicts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|v| v.get("result").and_then(Value::as_str) == Some("fail"))
        .filter_map(|v| v.get("check").and_then(Value::as_str).map(String::from))
        .collect();
    if !failed.is_empty() {
        return failed;
    }
    let kind = lookup(line, "finding.kind").and_then(Value::as_str);
    vec![kind.unwrap_or("error").to_string()]
}

fn fault_kinds(line: &Value) -> Vec<String> {
    line.get("fault_kinds")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|k| k.as_str().map(String::from))
        .collect()
}

/// One bar of the violations plot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Category {
    pub name: String,
    /// Failing seeds in this category.
    pub failing: u64,
    /// All seeds in this category: those that ran under this fault kind, or
    /// every seed for a check.
    pub seeds: u64,
}

/// Seeds counted by the kinds of fault they ran under (a seed counts once
/// for each kind; `no faults` for none) when any seed recorded fault kinds,
/// else failing seeds by the check that failed. Returns what the categories
/// are (`fault kind` or `check`) and the categories, sorted by name.
///
/// With `by_family`, fault kinds are counted by their family (`isolate` and
/// `partition_majority` are both `partition`), as the plots colour them.
pub(crate) fn violations(data: &SweepData, by_family: bool) -> (&'static str, Vec<Category>) {
    let by_fault = data.lines.iter().any(|l| !fault_kinds(l).is_empty());
    // name -> (failing, seeds)
    let mut counts: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let total = data.lines.len() as u64;
    for line in &data.lines {
        let failed = !passed(line);
        let keys = if by_fault {
            let kinds = fault_kinds(line);
            if kinds.is_empty() {
                vec!["no faults".to_string()]
            } else if by_family {
                families(kinds.iter().map(String::as_str))
                    .into_iter()
                    .map(|f| f.name.to_string())
                    .collect()
            } else {
                kinds
            }
        } else if failed {
            reasons(line)
        } else {
            continue;
        };
        for k in keys {
            let entry = counts.entry(k).or_default();
            entry.0 += u64::from(failed);
            entry.1 = if by_fault { entry.1 + 1 } else { total };
        }
    }
    let what = if by_fault { "fault kind" } else { "check" };
    let categories = counts
        .into_iter()
        .map(|(name, (failing, seeds))| Category {
            name,
            failing,
            seeds,
        })
        .collect();
    (what, categories)
}

/// (seed, value, passed) of every seed with a numeric value at dotted `metric`.
pub(crate) fn metric(data: &SweepData, metric: &str) -> Vec<(u64, f64, bool)> {
    data.lines
        .iter()
        .filter_map(|l| Some((seed(l), lookup(l, metric)?.as_f64()?, passed(l))))
        .filter(|(_, v, _)| v.is_finite())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn data(lines: Vec<Value>) -> SweepData {
        SweepData {
            lines,
            summary: None,
        }
    }

    fn summary(categories: &[Category]) -> Vec<(&str, u64, u64)> {
        categories
            .iter()
            .map(|c| (c.name.as_str(), c.failing, c.seeds))
            .collect()
    }

    fn line(seed: u64, failed_check: Option<&str>, kinds: &[&str]) -> Value {
        let verdicts = match failed_check {
            Some(c) => {
                json!([{"check": "no-panic", "result": "pass"}, {"check": c, "result": "fail"}])
            }
            None => json!([{"check": "no-panic", "result": "pass"}]),
        };
        json!({"seed": seed, "passed": failed_check.is_none(), "verdicts": verdicts,
               "fault_kinds": kinds, "latency_ms": {"p99": seed as f64}})
    }

    #[test]
    fn violations_by_check_until_fault_kinds_are_recorded() {
        let d = data(vec![
            line(1, Some("linearizability"), &[]),
            line(2, None, &[]),
            line(3, Some("linearizability"), &[]),
            json!({"seed": 4, "passed": false, "verdicts": [], "finding": {"kind": "runner-panic"}}),
        ]);
        let (what, categories) = violations(&d, false);
        assert_eq!(what, "check");
        assert_eq!(
            summary(&categories),
            [("linearizability", 2, 4), ("runner-panic", 1, 4)]
        );
    }

    #[test]
    fn violations_by_fault_kind_when_recorded() {
        let d = data(vec![
            line(1, Some("linearizability"), &["partition", "crash"]),
            line(2, Some("linearizability"), &["partition"]),
            line(3, Some("linearizability"), &[]),
            line(4, None, &["crash"]),
        ]);
        let (what, categories) = violations(&d, false);
        assert_eq!(what, "fault kind");
        assert_eq!(
            summary(&categories),
            [("crash", 1, 2), ("no faults", 1, 1), ("partition", 2, 2)]
        );
        let d = data(vec![
            line(
                1,
                Some("linearizability"),
                &["isolate", "partition_majority"],
            ),
            line(2, None, &["isolate_leader", "clock_jump"]),
        ]);
        let (_, categories) = violations(&d, true);
        assert_eq!(
            summary(&categories),
            [("clock skew/drift/jump", 0, 1), ("partition", 1, 2)],
            "a seed counts once per family"
        );
    }

    #[test]
    fn metric_reads_dotted_paths() {
        let d = data(vec![line(1, None, &[]), line(2, Some("x"), &[])]);
        assert_eq!(
            metric(&d, "latency_ms.p99"),
            [(1, 1.0, true), (2, 2.0, false)]
        );
        assert!(metric(&d, "latency_ms.p42").is_empty());
    }
}
