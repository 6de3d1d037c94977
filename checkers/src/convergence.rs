//! The convergence checker for replicated data types (CRDTs).
//!
//! After a run has healed and quiesced, two things must hold:
//!
//! 1. every live replica holds the same state (compared after
//!    [`ConvergenceSpec::normalize`], so a set's element order is irrelevant);
//! 2. that state agrees with the acknowledged operations: it reflects every
//!    `ok` operation, may or may not reflect the indeterminate ones (`info` or
//!    never completed), and reflects nothing else (`fail` = did not happen).
//!
//! Replica states are plain JSON, so a protocol only has to serialise its
//! state; what "agrees" means is a [`ConvergenceSpec`]. Two specs are built in:
//! a grow-only set ([`GrowOnlySet`]) and a counter ([`Counter`]).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sim_core::history::{History, HistoryError, OpType};

/// One live replica's final state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicaState {
    pub replica: String,
    pub state: Value,
}

impl ReplicaState {
    pub fn new(replica: impl Into<String>, state: Value) -> ReplicaState {
        ReplicaState {
            replica: replica.into(),
            state,
        }
    }
}

/// An update operation of the history, as a spec sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UpdateOp {
    pub process: u64,
    pub f: String,
    pub key: Option<String>,
    /// The invocation's value (the element added, the amount, ...).
    pub value: Value,
    /// 0-based index of the invocation in the history.
    pub invoke_entry: usize,
}

impl UpdateOp {
    /// e.g. `add 3 (process 1, history entry 12)`.
    pub fn describe(&self) -> String {
        format!(
            "{} {} (process {}, history entry {})",
            self.f, self.value, self.process, self.invoke_entry
        )
    }
}

/// The history's operations grouped by what is known of them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OpOutcomes {
    /// Completed `ok`: they took effect.
    pub acknowledged: Vec<UpdateOp>,
    /// `info` or never completed: they may have taken effect.
    pub indeterminate: Vec<UpdateOp>,
    /// `fail`: they did not take effect.
    pub failed: Vec<UpdateOp>,
}

impl OpOutcomes {
    /// Groups the invocations of `history` by outcome (in invocation order).
    pub fn from_history(history: &History) -> Result<OpOutcomes, HistoryError> {
        let mut out = OpOutcomes::default();
        for o in crate::final_read::pair_ops(history)? {
            let op = UpdateOp {
                process: o.process,
                f: o.f,
                key: history.entries[o.invoke_entry].key.clone(),
                value: o.invoked,
                invoke_entry: o.invoke_entry,
            };
            match o.outcome {
                OpType::Ok => out.acknowledged.push(op),
                OpType::Fail => out.failed.push(op),
                _ => out.indeterminate.push(op),
            }
        }
        Ok(out)
    }
}

/// What convergence means for one data type.
pub trait ConvergenceSpec {
    fn name(&self) -> &str;

    /// A canonical form of a replica state, so that states meaning the same
    /// compare equal; `Err` if the state is malformed.
    fn normalize(&self, state: &Value) -> Result<Value, String>;

    /// Every way a (normalised) state contradicts the operations; empty if it
    /// agrees with them.
    fn contradictions(&self, state: &Value, ops: &OpOutcomes) -> Vec<String>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ConvergenceVerdict {
    #[serde(rename = "converged")]
    Converged,
    /// Live replicas hold different states.
    #[serde(rename = "diverged")]
    Diverged,
    /// The replicas agree, on a state the operations cannot explain.
    #[serde(rename = "contradicts history")]
    ContradictsHistory,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConvergenceReport {
    pub verdict: ConvergenceVerdict,
    pub spec: String,
    /// The common state, when the replicas agree.
    pub state: Option<Value>,
    /// One sentence per problem found; empty when converged.
    pub violations: Vec<String>,
}

impl ConvergenceReport {
    pub fn is_ok(&self) -> bool {
        self.verdict == ConvergenceVerdict::Converged
    }
}

/// Checks that `replicas` (the live ones) converged to a state that agrees
/// with `history`.
pub fn check_convergence(
    spec: &dyn ConvergenceSpec,
    replicas: &[ReplicaState],
    history: &History,
) -> Result<ConvergenceReport, HistoryError> {
    let ops = OpOutcomes::from_history(history)?;
    Ok(check_convergence_ops(spec, replicas, &ops))
}

/// As [`check_convergence`], with the operations already grouped.
pub fn check_convergence_ops(
    spec: &dyn ConvergenceSpec,
    replicas: &[ReplicaState],
    ops: &OpOutcomes,
) -> ConvergenceReport {
    let mut violations = Vec::new();
    // Group replicas by normalised state; BTreeMap keyed by the canonical
    // JSON text, so the report's order is deterministic.
    let mut groups: BTreeMap<String, (Value, Vec<&str>)> = BTreeMap::new();
    for r in replicas {
        match spec.normalize(&r.state) {
            Ok(v) => groups
                .entry(v.to_string())
                .or_insert_with(|| (v, Vec::new()))
                .1
                .push(&r.replica),
            Err(e) => violations.push(format!(
                "replica {} holds a malformed state: {e}",
                r.replica
            )),
        }
    }
    let report = |verdict, state, violations| ConvergenceReport {
        verdict,
        spec: spec.name().to_string(),
        state,
        violations,
    };
    if replicas.is_empty() {
        return report(
            ConvergenceVerdict::Diverged,
            None,
            vec!["no live replica to compare".to_string()],
        );
    }
    if groups.len() == 1 && violations.is_empty() {
        let (state, _) = groups.into_values().next().expect("one group");
        let problems = spec.contradictions(&state, ops);
        return if problems.is_empty() {
            report(ConvergenceVerdict::Converged, Some(state), Vec::new())
        } else {
            report(
                ConvergenceVerdict::ContradictsHistory,
                Some(state),
                problems,
            )
        };
    }
    // Diverged: say who holds what, and what is wrong with each state.
    for (text, (state, names)) in &groups {
        let problems = spec.contradictions(state, ops);
        let verdict = if problems.is_empty() {
            "agrees with the history".to_string()
        } else {
            problems.join("; ")
        };
        violations.push(format!(
            "replica(s) {} hold {text}: {verdict}",
            names.join(", ")
        ));
    }
    if groups.len() > 1 {
        violations.insert(
            0,
            format!("live replicas hold {} different states", groups.len()),
        );
    }
    report(ConvergenceVerdict::Diverged, None, violations)
}

/// A grow-only set: `add` operations (value = element); the state is a JSON
/// array of elements. Elements compare by their JSON text.
#[derive(Debug, Clone, Copy, Default)]
pub struct GrowOnlySet;

fn is_add(op: &UpdateOp) -> bool {
    op.f == "add"
}

impl ConvergenceSpec for GrowOnlySet {
    fn name(&self) -> &str {
        "grow-only set"
    }

    fn normalize(&self, state: &Value) -> Result<Value, String> {
        match state {
            Value::Array(items) => {
                let set: BTreeMap<String, &Value> =
                    items.iter().map(|v| (v.to_string(), v)).collect();
                Ok(Value::Array(set.into_values().cloned().collect()))
            }
            other => Err(format!("expected an array of elements, got {other}")),
        }
    }

    fn contradictions(&self, state: &Value, ops: &OpOutcomes) -> Vec<String> {
        let held: BTreeSet<String> = match state {
            Value::Array(items) => items.iter().map(Value::to_string).collect(),
            _ => return vec![format!("state {state} is not an array")],
        };
        let mut problems = Vec::new();
        for op in ops.acknowledged.iter().filter(|o| is_add(o)) {
            if !held.contains(&op.value.to_string()) {
                problems.push(format!("missing acknowledged {}", op.describe()));
            }
        }
        let possible: BTreeSet<String> = ops
            .acknowledged
            .iter()
            .chain(&ops.indeterminate)
            .filter(|o| is_add(o))
            .map(|o| o.value.to_string())
            .collect();
        let failed: BTreeSet<String> = ops
            .failed
            .iter()
            .filter(|o| is_add(o))
            .map(|o| o.value.to_string())
            .collect();
        for element in &held {
            if !possible.contains(element) {
                problems.push(if failed.contains(element) {
                    format!("holds {element}, whose only adds failed")
                } else {
                    format!("holds {element}, which was never added")
                });
            }
        }
        problems
    }
}

/// A counter: `add`/`incr` operations (value = amount, `null` = 1; negative
/// amounts allowed); the state is an integer. Its value must lie between the
/// sum of acknowledged amounts plus any subset of the indeterminate ones.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counter;

fn amount(op: &UpdateOp) -> Option<i64> {
    if op.f != "add" && op.f != "incr" {
        return None;
    }
    match &op.value {
        Value::Null => Some(1),
        v => v.as_i64(),
    }
}

impl ConvergenceSpec for Counter {
    fn name(&self) -> &str {
        "counter"
    }

    fn normalize(&self, state: &Value) -> Result<Value, String> {
        match state.as_i64() {
            Some(v) => Ok(Value::from(v)),
            None => Err(format!("expected an integer, got {state}")),
        }
    }

    fn contradictions(&self, state: &Value, ops: &OpOutcomes) -> Vec<String> {
        let Some(value) = state.as_i64() else {
            return vec![format!("state {state} is not an integer")];
        };
        let acked: i128 = ops
            .acknowledged
            .iter()
            .filter_map(amount)
            .map(i128::from)
            .sum();
        let maybe: Vec<i128> = ops
            .indeterminate
            .iter()
            .filter_map(amount)
            .map(i128::from)
            .collect();
        let low = acked + maybe.iter().filter(|&&a| a < 0).sum::<i128>();
        let high = acked + maybe.iter().filter(|&&a| a > 0).sum::<i128>();
        let v = i128::from(value);
        if v < low || v > high {
            vec![format!(
                "value {value} is outside [{low}, {high}]: acknowledged increments sum to {acked}, \
                 and {} indeterminate ones may add between {} and {}",
                maybe.len(),
                low - acked,
                high - acked
            )]
        } else {
            Vec::new()
        }
    }
}

/// The built-in specs by name: `g-set` / `grow-only-set`, `counter`.
pub fn spec_by_name(name: &str) -> Option<Box<dyn ConvergenceSpec>> {
    match name {
        "g-set" | "gset" | "grow-only-set" => Some(Box::new(GrowOnlySet)),
        "counter" | "g-counter" | "pn-counter" => Some(Box::new(Counter)),
        _ => None,
    }
}
