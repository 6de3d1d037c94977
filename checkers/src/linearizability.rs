//! The linearizability checker: partitions, budget, verdict, counterexample.
//!
//! A history is split by the model into independent sub-histories (one per
//! key for the KV store), each searched alone by [`crate::wgl`]; the history
//! is linearizable iff every sub-history is. Partitions are checked in label
//! order and share one budget, so the verdict is reproducible.

use std::fmt;
use std::time::Instant;

use serde::Serialize;
use sim_core::history::{History, HistoryError};

use crate::counterexample::{Counterexample, OpReport, PrefixStep};
use crate::model::{HistoryModel, Model, Op};
use crate::prepare::prepare_ops;
use crate::wgl::{search, Budget, Exhausted, Failure, Outcome};

/// The default step budget: far above what real histories need (the
/// hardest Porcupine history takes well under a million steps), low enough
/// to end a hopeless search in seconds.
pub const DEFAULT_MAX_STEPS: u64 = 50_000_000;

/// The default memory limit of one partition's configuration cache. Each
/// entry holds a bitset of the partition's operations, so a partition of
/// 100 000 operations stores 12.5 kB per configuration.
pub const DEFAULT_MAX_CACHE_BYTES: usize = 1 << 30;

/// Limits on a check. Exceeding one gives [`Verdict::Unknown`].
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Search steps allowed, over all partitions (`None`: no limit).
    /// Deterministic: the same history gives the same verdict anywhere.
    pub max_steps: Option<u64>,
    /// A wall-clock deadline, checked every few thousand steps. Makes the
    /// verdict machine-dependent when it triggers; prefer `max_steps`.
    pub deadline: Option<Instant>,
    /// Bytes one partition's configuration cache may use (`None`: no limit).
    pub max_cache_bytes: Option<usize>,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            max_steps: Some(DEFAULT_MAX_STEPS),
            deadline: None,
            max_cache_bytes: Some(DEFAULT_MAX_CACHE_BYTES),
        }
    }
}

impl CheckOptions {
    /// The defaults with a different step budget.
    pub fn with_max_steps(max_steps: u64) -> CheckOptions {
        CheckOptions {
            max_steps: Some(max_steps),
            ..CheckOptions::default()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Verdict {
    #[serde(rename = "linearizable")]
    Linearizable,
    #[serde(rename = "not linearizable")]
    NotLinearizable,
    /// The budget ran out before a decision.
    #[serde(rename = "unknown")]
    Unknown,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Linearizable => "linearizable",
            Verdict::NotLinearizable => "not linearizable",
            Verdict::Unknown => "unknown",
        })
    }
}

/// The result of a check, ready to print or serialise.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub verdict: Verdict,
    pub model: String,
    /// Operations checked (failed ops and indeterminate reads excluded).
    pub operations: usize,
    pub partitions: usize,
    /// Search steps taken, over all partitions.
    pub steps: u64,
    /// Configurations stored in the caches, over all partitions.
    pub configurations: usize,
    /// Distinct model states met, summed over partitions.
    pub states: usize,
    /// One per failing partition, in partition order.
    pub counterexamples: Vec<Counterexample>,
    /// Labels of partitions left undecided by the budget ("" if unlabelled).
    pub unknown_partitions: Vec<String>,
    /// Which limit left partitions undecided, e.g. `step budget (1000 steps)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown_reason: Option<String>,
}

impl CheckReport {
    pub fn set_lines(&mut self, line_of: &dyn Fn(usize) -> Option<usize>) {
        for c in &mut self.counterexamples {
            c.set_lines(line_of);
        }
    }
}

/// Checks prepared operations against a model.
pub fn check_ops<M: Model>(
    model: &M,
    ops: &[Op<M::Input, M::Output>],
    options: &CheckOptions,
) -> CheckReport {
    let mut budget = Budget {
        steps_left: options.max_steps,
        deadline: options.deadline,
        max_cache_bytes: options.max_cache_bytes,
        steps_done: 0,
        exhausted: None,
    };
    let partitions = model.partition(ops);
    let mut report = CheckReport {
        verdict: Verdict::Linearizable,
        model: model.name().to_string(),
        operations: ops.len(),
        partitions: partitions.len(),
        steps: 0,
        configurations: 0,
        states: 0,
        counterexamples: Vec::new(),
        unknown_partitions: Vec::new(),
        unknown_reason: None,
    };
    for part in &partitions {
        let mut sub: Vec<&Op<M::Input, M::Output>> = part.ops.iter().map(|&i| &ops[i]).collect();
        let unobservable = model.unobservable(&sub);
        let mut keep = unobservable.iter().map(|&u| !u);
        sub.retain(|_| keep.next().unwrap_or(true));
        let (outcome, stats) = search(model, &sub, &mut budget);
        report.configurations += stats.configurations;
        report.states += stats.states;
        match outcome {
            Outcome::Linearizable => {}
            Outcome::NotLinearizable(failure) => {
                report
                    .counterexamples
                    .push(explain(model, &sub, part.label.clone(), &failure));
            }
            Outcome::Unknown => {
                report
                    .unknown_partitions
                    .push(part.label.clone().unwrap_or_default());
                // A memory limit is per partition: the next one starts afresh.
                if budget.exhausted == Some(Exhausted::Memory) {
                    budget.exhausted = None;
                    report.unknown_reason = Some(format!(
                        "memory limit ({} bytes of configuration cache)",
                        options.max_cache_bytes.unwrap_or(0)
                    ));
                }
            }
        }
    }
    report.steps = budget.steps_done;
    match budget.exhausted {
        Some(Exhausted::Steps) => {
            report.unknown_reason = Some(format!("step budget ({} steps)", budget.steps_done));
        }
        Some(Exhausted::Deadline) => report.unknown_reason = Some("deadline passed".to_string()),
        _ => {}
    }
    report.verdict = if !report.counterexamples.is_empty() {
        Verdict::NotLinearizable
    } else if !report.unknown_partitions.is_empty() {
        Verdict::Unknown
    } else {
        Verdict::Linearizable
    };
    report
}

/// Decodes a recorded history for `model` and checks it.
pub fn check_history<M: HistoryModel>(
    model: &M,
    history: &History,
    options: &CheckOptions,
) -> Result<CheckReport, HistoryError> {
    let ops = prepare_ops(model, history)?;
    Ok(check_ops(model, &ops, options))
}

fn op_report<M: Model>(model: &M, op: &Op<M::Input, M::Output>) -> OpReport {
    OpReport {
        op: op.index,
        process: op.process,
        description: model.describe_op(&op.input, op.output.as_ref()),
        invoke_time: op.call,
        complete_time: op.ret,
        invoke_entry: op.invoke_entry,
        complete_entry: op.complete_entry,
        invoke_line: None,
        complete_line: None,
    }
}

/// Turns the search's failure (local indices) into a readable counterexample,
/// replaying the prefix to show the state after each step.
fn explain<M: Model>(
    model: &M,
    sub: &[&Op<M::Input, M::Output>],
    partition: Option<String>,
    failure: &Failure,
) -> Counterexample {
    let init = model.init();
    let mut state = init.clone();
    let mut prefix = Vec::with_capacity(failure.prefix.len());
    for &i in &failure.prefix {
        let op = sub[i];
        // The search only linearized allowed steps, so this always succeeds.
        if let Some(next) = model.step(&state, &op.input, op.output.as_ref()) {
            state = next;
        }
        prefix.push(PrefixStep {
            op: op_report(model, op),
            state_after: model.describe_state(&state),
        });
    }
    Counterexample {
        partition,
        initial_state: model.describe_state(&init),
        prefix,
        state: model.describe_state(&state),
        unplaceable: op_report(model, sub[failure.stuck]),
        candidates: failure
            .candidates
            .iter()
            .map(|&i| op_report(model, sub[i]))
            .collect(),
    }
}
