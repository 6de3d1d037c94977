//! Shrinking a failing run to the few faults that matter.
//!
//! Given a failing run (its scenario, seed and concrete fault schedule), find a
//! smaller run that fails the same way: first the fault schedule is minimised
//! with delta debugging (Zeller and Hildebrandt's ddmin: try halves, then
//! complements, then finer splits), each candidate replayed as a fixed
//! schedule at the same seed; then the run is shortened and the clients are
//! reduced while it still fails. "The same way" means that at least one check
//! the original run failed fails again.
//!
//! Every candidate is a full deterministic run, so the result is itself a run
//! that replays bit for bit.

use std::collections::BTreeSet;

use fault_injection::{FaultAction, FaultConfig, FaultSchedule};
use sim_core::{Nanos, MILLIS};

use crate::error::InputError;
use crate::registry::Registry;
use crate::runner::{RunOptions, RunOutcome};
use crate::scenario::Scenario;
use crate::summary::Summary;

/// The result of a shrink.
pub struct Shrunk {
    /// The smaller scenario (fixed fault schedule, possibly shorter, fewer clients).
    pub scenario: Scenario,
    pub seed: u64,
    /// The run of `scenario`: it fails one of the original's failed checks.
    pub outcome: RunOutcome,
    pub faults_before: usize,
    pub faults_after: usize,
    /// Runs spent.
    pub runs: usize,
}

/// The checks that failed in a run (a panic or an invariant finding included).
pub fn failed_checks(summary: &Summary) -> BTreeSet<String> {
    summary
        .verdicts
        .iter()
        .filter(|v| v.failed())
        .map(|v| v.check.clone())
        .collect()
}

/// Tries candidates against the original failure, counting runs.
struct Oracle<'r> {
    registry: &'r Registry,
    seed: u64,
    target: BTreeSet<String>,
    runs: usize,
    max_runs: usize,
}

impl Oracle<'_> {
    /// The run of `scenario` if it fails one of the target checks.
    fn fails(&mut self, scenario: &Scenario) -> Option<RunOutcome> {
        if self.runs >= self.max_runs {
            return None;
        }
        self.runs += 1;
        let outcome = self
            .registry
            .run(scenario, self.seed, &RunOptions::default())
            .ok()?;
        let failed = failed_checks(&outcome.summary);
        (!failed.is_disjoint(&self.target)).then_some(outcome)
    }

    fn with_faults(base: &Scenario, actions: &[FaultAction]) -> Scenario {
        let mut s = base.clone();
        s.faults = FaultConfig::from(FaultSchedule {
            mix: None,
            schedule: actions.to_vec(),
        });
        s
    }
}

/// Shrinks the failing run of `scenario` at `seed`, whose concrete schedule
/// was `schedule`, spending at most `max_runs` runs of the protocol
/// `registry` names.
pub fn shrink(
    registry: &Registry,
    scenario: &Scenario,
    seed: u64,
    schedule: &FaultSchedule,
    max_runs: usize,
) -> Result<Shrunk, InputError> {
    let original = registry.run(scenario, seed, &RunOptions::default())?;
    let target = failed_checks(&original.summary);
    if target.is_empty() {
        return Err(InputError::new(
            &scenario.source,
            format!("seed {seed} passes every check: nothing to shrink"),
        ));
    }
    let mut oracle = Oracle {
        registry,
        seed,
        target,
        runs: 1,
        max_runs,
    };
    let actions = schedule.schedule.clone();
    let fixed = Oracle::with_faults(scenario, &actions);
    let Some(mut best) = oracle.fails(&fixed) else {
        return Err(InputError::new(
            &scenario.source,
            "the recorded fault schedule, replayed as a fixed schedule, no longer fails",
        ));
    };
    let mut current = fixed;

    let minimal = ddmin(&actions, |subset| {
        let candidate = Oracle::with_faults(scenario, subset);
        match oracle.fails(&candidate) {
            Some(outcome) => {
                best = outcome;
                current = candidate;
                true
            }
            None => false,
        }
    });

    // Shorter: halve the duration while it still fails (not below 10 ms).
    while current.duration / 2 >= 10 * MILLIS {
        let mut shorter = current.clone();
        shorter.duration = current.duration / 2;
        // Faults after the shorter end would never happen (and are refused).
        let end = shorter.duration;
        shorter.faults.schedule.retain(|a| a.at() < end);
        match oracle.fails(&shorter) {
            Some(outcome) => (current, best) = (shorter, outcome),
            None => break,
        }
    }
    // Fewer clients, while the schedule still names only existing nodes.
    while current.workload.clients > 1 {
        let mut fewer = current.clone();
        fewer.workload.clients -= 1;
        if fewer.validate().is_err() {
            break;
        }
        match oracle.fails(&fewer) {
            Some(outcome) => (current, best) = (fewer, outcome),
            None => break,
        }
    }
    current.name = format!("{}-shrunk", scenario.name);
    Ok(Shrunk {
        scenario: current,
        seed,
        outcome: best,
        faults_before: actions.len(),
        faults_after: minimal.len(),
        runs: oracle.runs,
    })
}

/// Delta debugging: a 1-minimal subsequence of `items` for which `fails`
/// holds, assuming it holds for `items`. Order is kept.
pub fn ddmin<T: Clone>(items: &[T], mut fails: impl FnMut(&[T]) -> bool) -> Vec<T> {
    let mut items = items.to_vec();
    if !items.is_empty() && fails(&[]) {
        return Vec::new();
    }
    let mut n = 2;
    while items.len() >= 2 {
        let chunks = split(items.len(), n);
        let mut reduced = false;
        for &(start, end) in &chunks {
            let subset = items[start..end].to_vec();
            if fails(&subset) {
                items = subset;
                n = 2;
                reduced = true;
                break;
            }
        }
        if !reduced && n > 2 {
            for &(start, end) in &chunks {
                let complement: Vec<T> = items[..start]
                    .iter()
                    .chain(&items[end..])
                    .cloned()
                    .collect();
                if fails(&complement) {
                    items = complement;
                    n = (n - 1).max(2);
                    reduced = true;
                    break;
                }
            }
        }
        if !reduced {
            if n >= items.len() {
                break;
            }
            n = (2 * n).min(items.len());
        }
    }
    if items.len() == 1 && fails(&[]) {
        return Vec::new();
    }
    items
}

/// `len` items cut into `n` nearly equal (start, end) ranges.
fn split(len: usize, n: usize) -> Vec<(usize, usize)> {
    let n = n.min(len).max(1);
    (0..n).map(|i| (i * len / n, (i + 1) * len / n)).collect()
}

/// Milliseconds, for messages.
pub fn ms(ns: Nanos) -> f64 {
    ns as f64 / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ddmin_finds_the_two_items_that_matter() {
        let items: Vec<u32> = (0..40).collect();
        let mut calls = 0;
        let result = ddmin(&items, |s| {
            calls += 1;
            s.contains(&7) && s.contains(&31)
        });
        assert_eq!(result, [7, 31]);
        assert!(calls < 120, "{calls} calls");
    }

    #[test]
    fn ddmin_returns_nothing_when_nothing_is_needed() {
        assert!(ddmin(&[1, 2, 3], |_| true).is_empty());
    }

    #[test]
    fn ddmin_keeps_a_single_needed_item() {
        assert_eq!(ddmin(&[1, 2, 3, 4, 5], |s| s.contains(&4)), [4]);
    }
}
