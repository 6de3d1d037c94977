//! The linearizability checker: partitions, budget, verdict, counterexample.
//!
//! A history is split by the model into independent sub-histories (one per
//! key), each decided alone; the history is linearizable iff every
//! sub-history is. Two exact procedures work on each, side by side (see
//! [`Strategy`]): the depth-first search of [`crate::wgl`], quick when it
//! guesses well, and the time sweep of [`crate::sweep`], which keeps every
//! configuration at once and does not get lost among many long-open
//! writes.
//!
//! # The partition scheduler
//!
//! One hard partition must not hide an easy failing one, so partitions are
//! interleaved: round-robin in label order, each undecided partition getting
//! a slice of steps that doubles every round ([`FIRST_SLICE`], then twice as
//! many, ...). A partition that is decided leaves the rotation and frees its
//! tables; the first partition found not linearizable ends the whole check
//! with its counterexample. Every decision depends only on step counts, never
//! on a clock or on threads, so the verdict is reproducible; the optional
//! deadline only turns the verdict into `unknown`.
//!
//! Memory: the limit covers every table of every live procedure
//! (configuration cache or sets, state table, event list, stack, trace). A
//! procedure that would exceed what the others leave it is stopped and its
//! memory returned to the rest; its partition ran out of memory when both
//! its procedures did.

use std::fmt;
use std::time::Instant;

use serde::Serialize;
use sim_core::history::{History, HistoryError};

use crate::counterexample::{Counterexample, OpReport, PrefixStep};
use crate::model::{HistoryModel, Model, Op};
use crate::prepare::prepare_ops;
use crate::sweep::Sweep;
use crate::wgl::{Failure, Order, Outcome, Paused, Progress, Search, Slice};

/// The default step budget: far above what real histories need (the
/// hardest Porcupine history takes well under a million steps), low enough
/// to end a hopeless search in seconds.
pub const DEFAULT_MAX_STEPS: u64 = 50_000_000;

/// The default memory limit of a check, over all its searches' tables.
pub const DEFAULT_MAX_MEMORY_BYTES: usize = 1 << 30;

/// Steps of a partition's first slice; each round doubles it.
pub const FIRST_SLICE: u64 = 1 << 12;

/// Limits on a check. Exceeding one gives [`Verdict::Unknown`].
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Search steps allowed, over all partitions (`None`: no limit).
    /// Deterministic: the same history gives the same verdict anywhere.
    pub max_steps: Option<u64>,
    /// A wall-clock deadline, checked every few thousand steps. Makes the
    /// verdict machine-dependent when it triggers; prefer `max_steps`. Only
    /// `clustersim check --timeout` sets it: a simulated run's checks never
    /// do, so a run's verdict does not depend on the machine.
    pub deadline: Option<Instant>,
    /// Bytes all searches' tables may hold together (`None`: no limit).
    pub max_memory_bytes: Option<usize>,
    /// Which procedures decide each partition (default: both).
    pub strategy: Strategy,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            max_steps: Some(DEFAULT_MAX_STEPS),
            deadline: None,
            max_memory_bytes: Some(DEFAULT_MAX_MEMORY_BYTES),
            strategy: Strategy::default(),
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

/// What a check asks of a history. Both are one search (`wgl`), with a
/// different order to keep: real time, or only each process's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum Consistency {
    /// Linearizability: some total order of the operations, allowed by the
    /// model, keeps real-time order (one that returned before another was
    /// called goes first).
    #[default]
    #[serde(rename = "linearizable")]
    Linearizable,
    /// Sequential consistency: the same without real time; only the order
    /// of each process's own operations is kept. Not compositional: the
    /// keys of a history are checked together (see `sequential`).
    #[serde(rename = "sequential")]
    Sequential,
}

impl Consistency {
    /// The names `--consistency` takes.
    pub const NAMES: &'static [&'static str] = &["linearizable", "sequential"];

    pub fn from_name(name: &str) -> Option<Consistency> {
        match name {
            "linearizable" | "linearizability" => Some(Consistency::Linearizable),
            "sequential" | "sequential-consistency" => Some(Consistency::Sequential),
            _ => None,
        }
    }
}

/// Where one partition's search ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PartitionStatus {
    #[serde(rename = "linearizable")]
    Linearizable,
    #[serde(rename = "not linearizable")]
    NotLinearizable,
    /// The check's step budget ran out while it was undecided.
    #[serde(rename = "out of steps")]
    OutOfSteps,
    /// Its search would have exceeded the memory the others left it.
    #[serde(rename = "out of memory")]
    OutOfMemory,
    #[serde(rename = "out of time")]
    OutOfTime,
    /// Not decided because another partition failed first (which decides
    /// the verdict).
    #[serde(rename = "not needed")]
    NotNeeded,
}

impl PartitionStatus {
    /// Out of steps, memory or time: the partition's verdict is unknown.
    pub fn is_undecided(self) -> bool {
        matches!(
            self,
            PartitionStatus::OutOfSteps | PartitionStatus::OutOfMemory | PartitionStatus::OutOfTime
        )
    }
}

impl fmt::Display for PartitionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        f.write_str(&text)
    }
}

/// What the check decided about one partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartitionReport {
    /// The key; `None` for operations without one.
    pub label: Option<String>,
    pub status: PartitionStatus,
    /// Operations searched (after dropping unobservable ones).
    pub operations: usize,
    pub steps: u64,
    /// Completed operations in the longest linearizable prefix found, and
    /// the partition's completed operations.
    pub longest_prefix: usize,
    pub completed: usize,
}

impl PartitionReport {
    /// `key "k"`, or `(no key)` for the operations without one.
    pub fn name(&self) -> String {
        match &self.label {
            Some(key) => format!("key {key:?}"),
            None => "(no key)".to_string(),
        }
    }

    /// How far an undecided search got.
    pub fn progress(&self) -> String {
        format!(
            "longest linearizable prefix {} of {} completed operations",
            self.longest_prefix, self.completed
        )
    }
}

/// The result of a check, ready to print or serialise.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// For [`Consistency::Sequential`], [`Verdict::Linearizable`] reads
    /// "sequentially consistent" (some order keeping each process's own
    /// was found) and [`Verdict::NotLinearizable`] "not sequentially
    /// consistent".
    pub verdict: Verdict,
    /// What was checked.
    pub consistency: Consistency,
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
    /// The most bytes the searches' tables held at once (at slice ends).
    pub peak_memory_bytes: usize,
    /// The failing partition's counterexample (at most one: the check ends
    /// at the first failing partition).
    pub counterexamples: Vec<Counterexample>,
    /// Every partition, in label order.
    pub partition_reports: Vec<PartitionReport>,
    /// Labels of partitions left undecided by a limit ("" if unlabelled).
    pub unknown_partitions: Vec<String>,
    /// Which limit left partitions undecided, e.g. `step budget (1000 steps)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown_reason: Option<String>,
}

impl CheckReport {
    /// The verdict in the words of what was checked: `linearizable`, or
    /// `sequentially consistent` for a sequential check.
    pub fn verdict_text(&self) -> &'static str {
        match (self.consistency, self.verdict) {
            (Consistency::Sequential, Verdict::Linearizable) => "sequentially consistent",
            (Consistency::Sequential, Verdict::NotLinearizable) => "not sequentially consistent",
            (_, Verdict::Linearizable) => "linearizable",
            (_, Verdict::NotLinearizable) => "not linearizable",
            (_, Verdict::Unknown) => "unknown",
        }
    }

    pub fn set_lines(&mut self, line_of: &dyn Fn(usize) -> Option<usize>) {
        for c in &mut self.counterexamples {
            c.set_lines(line_of);
        }
    }
}

/// Which exact procedures decide each partition. Both give the same
/// verdicts (each is tested against a brute-force oracle); they differ in
/// what they find hard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// The depth-first search and the time sweep side by side on every
    /// partition, sharing the budget: each round gives each one slice;
    /// the first to decide decides. A procedure that runs out of memory
    /// gives its memory back and leaves the other to go on.
    #[default]
    Both,
    /// The depth-first search (`wgl`) alone.
    Search,
    /// The time sweep over configurations (`sweep`) alone (linearizability
    /// only: for sequential consistency the search runs instead).
    Sweep,
}

/// One decision procedure at work on a partition.
enum Engine<'a, M: Model> {
    Search(Search<'a, M>),
    Sweep(Sweep<'a, M>),
}

impl<M: Model> Engine<'_, M> {
    fn run(&mut self, slice: Slice) -> Progress {
        match self {
            Engine::Search(s) => s.run(slice),
            Engine::Sweep(s) => s.run(slice),
        }
    }

    fn steps(&self) -> u64 {
        match self {
            Engine::Search(s) => s.steps(),
            Engine::Sweep(s) => s.steps(),
        }
    }

    fn bytes(&self) -> usize {
        match self {
            Engine::Search(s) => s.bytes(),
            Engine::Sweep(s) => s.bytes(),
        }
    }

    /// The most it held at once (the sweep holds two sets during a return).
    fn peak_bytes(&self) -> usize {
        match self {
            Engine::Search(s) => s.bytes(),
            Engine::Sweep(s) => s.peak_bytes(),
        }
    }

    fn longest_prefix(&self) -> usize {
        match self {
            Engine::Search(s) => s.longest_prefix().0,
            Engine::Sweep(s) => s.longest_prefix().0,
        }
    }

    /// Configurations held and states met.
    fn stats(&self) -> (usize, usize) {
        match self {
            Engine::Search(s) => {
                let stats = s.stats();
                (stats.configurations, stats.states)
            }
            Engine::Sweep(s) => (s.configurations(), s.state_count()),
        }
    }
}

/// The search's and the sweep's places in a partition's engine slots.
const ENGINES: usize = 2;

/// One partition under the scheduler.
struct Slot<'a, M: Model> {
    label: Option<String>,
    ops: &'a [&'a Op<M::Input, M::Output>],
    /// The procedures while they are live (each created at its first
    /// slice): the search, then the sweep.
    engines: [Option<Engine<'a, M>>; ENGINES],
    /// Which procedures this partition runs that have not run out of
    /// memory.
    usable: [bool; ENGINES],
    /// The engines' bytes at the end of their last slices.
    bytes: [usize; ENGINES],
    status: Option<PartitionStatus>,
    /// Steps of both procedures.
    steps: u64,
    longest_prefix: usize,
    completed: usize,
    configurations: usize,
    states: usize,
}

impl<M: Model> Slot<'_, M> {
    fn bytes(&self) -> usize {
        self.bytes.iter().sum()
    }

    /// Frees an engine, keeping its figures.
    fn retire(&mut self, engine: usize) {
        if let Some(e) = self.engines[engine].take() {
            let (configurations, states) = e.stats();
            self.configurations += configurations;
            self.states = self.states.max(states);
        }
        self.bytes[engine] = 0;
    }
}

/// Checks prepared operations against a model for linearizability.
pub fn check_ops<M: Model>(
    model: &M,
    ops: &[Op<M::Input, M::Output>],
    options: &CheckOptions,
) -> CheckReport {
    check_ops_for(model, ops, options, Consistency::Linearizable)
}

/// Checks prepared operations against a model for `consistency`, each
/// partition of the model alone (for sequential consistency, which is not
/// compositional, give a model that does not split: see `sequential`).
pub fn check_ops_for<M: Model>(
    model: &M,
    ops: &[Op<M::Input, M::Output>],
    options: &CheckOptions,
    consistency: Consistency,
) -> CheckReport {
    let order = match consistency {
        Consistency::Linearizable => Order::RealTime,
        Consistency::Sequential => Order::Program,
    };
    // The sweep walks real time: for sequential consistency the search
    // alone runs.
    let usable = match (options.strategy, consistency) {
        (_, Consistency::Sequential) | (Strategy::Search, _) => [true, false],
        (Strategy::Sweep, _) => [false, true],
        (Strategy::Both, _) => [true, true],
    };
    let partitions = model.partition(ops);
    // Each partition's operations, without those no one could observe.
    let subs: Vec<Vec<&Op<M::Input, M::Output>>> = partitions
        .iter()
        .map(|part| {
            let mut sub: Vec<&Op<M::Input, M::Output>> =
                part.ops.iter().map(|&i| &ops[i]).collect();
            let unobservable = model.unobservable(&sub);
            let mut keep = unobservable.iter().map(|&u| !u);
            sub.retain(|_| keep.next().unwrap_or(true));
            sub
        })
        .collect();
    let mut slots: Vec<Slot<M>> = partitions
        .iter()
        .zip(&subs)
        .map(|(part, sub)| Slot {
            label: part.label.clone(),
            ops: sub,
            engines: [None, None],
            usable,
            bytes: [0; ENGINES],
            status: None,
            steps: 0,
            longest_prefix: 0,
            completed: sub.iter().filter(|op| op.ret.is_some()).count(),
            configurations: 0,
            states: 0,
        })
        .collect();
    let mut report = CheckReport {
        verdict: Verdict::Linearizable,
        consistency,
        model: model.name().to_string(),
        operations: ops.len(),
        partitions: partitions.len(),
        steps: 0,
        configurations: 0,
        states: 0,
        peak_memory_bytes: 0,
        counterexamples: Vec::new(),
        partition_reports: Vec::new(),
        unknown_partitions: Vec::new(),
        unknown_reason: None,
    };
    let mut steps_left = options.max_steps;
    let mut slice_steps = FIRST_SLICE;
    // Set when a limit common to all partitions ends the check.
    let mut stop: Option<PartitionStatus> = None;
    'rounds: while stop.is_none() {
        let mut any_pending = false;
        for i in 0..slots.len() {
            for engine in 0..ENGINES {
                if slots[i].status.is_some() || !slots[i].usable[engine] {
                    continue;
                }
                let steps = match steps_left {
                    Some(0) => {
                        stop = Some(PartitionStatus::OutOfSteps);
                        break 'rounds;
                    }
                    Some(left) => left.min(slice_steps),
                    None => slice_steps,
                };
                let all: usize = slots.iter().map(Slot::bytes).sum();
                let others = all - slots[i].bytes[engine];
                let slot = &mut slots[i];
                let e = slot.engines[engine].get_or_insert_with(|| match engine {
                    0 => Engine::Search(Search::new(model, slot.ops, order)),
                    _ => Engine::Sweep(Sweep::new(model, slot.ops)),
                });
                let before = e.steps();
                let progress = e.run(Slice {
                    steps,
                    deadline: options.deadline,
                    memory: options.max_memory_bytes.map(|m| m.saturating_sub(others)),
                });
                let spent = e.steps() - before;
                if let Some(left) = &mut steps_left {
                    *left -= spent.min(*left);
                }
                slot.steps += spent;
                slot.longest_prefix = slot.longest_prefix.max(e.longest_prefix());
                slot.bytes[engine] = e.bytes();
                report.peak_memory_bytes = report
                    .peak_memory_bytes
                    .max(others + e.peak_bytes().max(slot.bytes[engine]));
                let status = match progress {
                    Progress::Paused(Paused::Slice) => {
                        any_pending = true;
                        continue;
                    }
                    Progress::Paused(Paused::Deadline) => {
                        stop = Some(PartitionStatus::OutOfTime);
                        break 'rounds;
                    }
                    Progress::Paused(Paused::Memory) => {
                        // This procedure gives its memory back; the
                        // partition is out of memory when none is left.
                        slot.retire(engine);
                        slot.usable[engine] = false;
                        if slot.usable.contains(&true) {
                            any_pending = true;
                            continue;
                        }
                        PartitionStatus::OutOfMemory
                    }
                    Progress::Decided(Outcome::Linearizable) => {
                        slot.longest_prefix = slot.completed;
                        PartitionStatus::Linearizable
                    }
                    Progress::Decided(Outcome::NotLinearizable(failure)) => {
                        report.counterexamples.push(explain(
                            model,
                            slot.ops,
                            slot.label.clone(),
                            &failure,
                        ));
                        PartitionStatus::NotLinearizable
                    }
                };
                // Decided or out of memory: the partition leaves the
                // rotation and frees its tables.
                for engine in 0..ENGINES {
                    slot.retire(engine);
                }
                slot.status = Some(status);
                if status == PartitionStatus::NotLinearizable {
                    stop = Some(PartitionStatus::NotNeeded);
                    break 'rounds;
                }
            }
        }
        if !any_pending {
            break;
        }
        slice_steps = slice_steps.saturating_mul(2);
    }

    for slot in &mut slots {
        for engine in 0..ENGINES {
            slot.retire(engine);
        }
        report.configurations += slot.configurations;
        report.states += slot.states;
        let status = *slot
            .status
            .get_or_insert(stop.unwrap_or(PartitionStatus::NotNeeded));
        report.steps += slot.steps;
        if status.is_undecided() {
            report
                .unknown_partitions
                .push(slot.label.clone().unwrap_or_default());
        }
        report.partition_reports.push(PartitionReport {
            label: slot.label.clone(),
            status,
            operations: slot.ops.len(),
            steps: slot.steps,
            longest_prefix: slot.longest_prefix,
            completed: slot.completed,
        });
    }
    let statuses = || report.partition_reports.iter().map(|p| p.status);
    report.unknown_reason = if statuses().any(|s| s == PartitionStatus::OutOfTime) {
        Some("deadline".to_string())
    } else if statuses().any(|s| s == PartitionStatus::OutOfSteps) {
        Some(format!("step budget ({} steps)", report.steps))
    } else if statuses().any(|s| s == PartitionStatus::OutOfMemory) {
        Some(format!(
            "memory limit ({} bytes of search tables)",
            options.max_memory_bytes.unwrap_or(0)
        ))
    } else {
        None
    };
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
    check_history_for(model, history, options, Consistency::Linearizable)
}

/// Decodes a recorded history for `model` and checks it for
/// `consistency`: the one place a recorded history meets the check of
/// either model (sequential consistency joins the keys first, see
/// `crate::sequential::check_ops`).
pub fn check_history_for<M: HistoryModel>(
    model: &M,
    history: &History,
    options: &CheckOptions,
    consistency: Consistency,
) -> Result<CheckReport, HistoryError> {
    let ops = prepare_ops(model, history)?;
    Ok(match consistency {
        Consistency::Linearizable => check_ops(model, &ops, options),
        Consistency::Sequential => crate::sequential::check_ops(model, &ops, options),
    })
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

/// How many linearized operations the picture shows before the failure.
const SHOWN_PREFIX: usize = 12;
/// At most this many operations are drawn.
const MAX_WINDOW: usize = 300;

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
    let unplaceable = sub[failure.stuck];
    // The picture's window: from the earliest call among the last shown
    // prefix steps, the candidates and the unplaceable op, to its return.
    let shown = failure.prefix.len().saturating_sub(SHOWN_PREFIX);
    let from = failure.prefix[shown..]
        .iter()
        .chain(&failure.candidates)
        .map(|&i| sub[i].call)
        .chain([unplaceable.call])
        .min()
        .unwrap_or(0);
    let to = unplaceable.ret.unwrap_or(u64::MAX);
    let mut window: Vec<OpReport> = sub
        .iter()
        .filter(|op| op.call <= to && op.ret.is_none_or(|r| r >= from))
        .map(|op| op_report(model, op))
        .collect();
    window.sort_by_key(|o| (o.invoke_time, o.op));
    window.truncate(MAX_WINDOW);
    Counterexample {
        partition,
        window,
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
