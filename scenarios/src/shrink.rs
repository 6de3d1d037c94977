//! Shrinking a failing run to the few faults that matter.
//!
//! Given a failing run (its scenario, seed and concrete fault schedule), find a
//! smaller run that fails the same way: first the fault schedule is minimised
//! with delta debugging (Zeller and Hildebrandt's ddmin: try halves, then
//! complements, then finer splits), each candidate replayed as a fixed
//! schedule at the same seed; the run is cut to just past the time its
//! failure shows (a failed check's verdict says when), and the clients are
//! minimised by the same ddmin (a removed client stays idle: down from the
//! start, so the others keep their node ids and random streams). "The same way" means that at least one check
//! the original run failed fails again. The result is a scenario with the
//! fixed schedule inline and its seed set: `clustersim run` of it alone
//! reproduces the failure.
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
    /// The smaller scenario (fixed fault schedule, possibly shorter, fewer
    /// clients), its `seed` set to the seed it fails at.
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

/// How far past the time the failure shows a shortened run first lasts:
/// the run up to then is the original's prefix (same seed, same schedule),
/// so the failing operation or invariant breach is in it. Re-running
/// verifies it; if the shorter run no longer fails, the margin grows
/// fourfold, up to the current duration.
pub const DURATION_MARGIN: Nanos = 10 * MILLIS;

/// Shrinks the failing run of `scenario` at `seed`, whose concrete schedule
/// was `schedule`, spending at most `max_runs` runs of the protocol
/// `registry` names. The steps: the schedule replayed as fixed; the run cut
/// to just past the time the failure shows; ddmin over the faults; ddmin
/// over the running clients, trailing idle ones then dropped; and the cut again (the failure may now show earlier).
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
    let mut current = Oracle::with_faults(scenario, &schedule.schedule);
    let Some(mut best) = oracle.fails(&current) else {
        return Err(InputError::new(
            &scenario.source,
            "the recorded fault schedule, replayed as a fixed schedule, no longer fails",
        ));
    };
    shorten(&mut oracle, &mut current, &mut best);

    let actions = current.faults.schedule.clone();
    ddmin(&actions, |subset| {
        let candidate = Oracle::with_faults(&current, subset);
        match oracle.fails(&candidate) {
            Some(outcome) => {
                (current, best) = (candidate, outcome);
                true
            }
            None => false,
        }
    });
    // Fewer clients: ddmin over the clients that run, the others idle.
    let running: Vec<u32> = (0..current.workload.clients)
        .filter(|c| !current.workload.idle_clients.contains(c))
        .collect();
    ddmin(&running, |keep| {
        let mut candidate = current.clone();
        candidate.workload.idle_clients = (0..current.workload.clients)
            .filter(|c| !keep.contains(c))
            .collect();
        if candidate.validate().is_err() {
            return false;
        }
        match oracle.fails(&candidate) {
            Some(outcome) => {
                (current, best) = (candidate, outcome);
                true
            }
            None => false,
        }
    });
    // Idle clients at the end need not exist at all, while the schedule
    // names only existing nodes.
    while current
        .workload
        .idle_clients
        .contains(&(current.workload.clients - 1))
    {
        let mut fewer = current.clone();
        fewer.workload.clients -= 1;
        let last = fewer.workload.clients;
        fewer.workload.idle_clients.retain(|&c| c != last);
        if fewer.validate().is_err() {
            break;
        }
        match oracle.fails(&fewer) {
            Some(outcome) => (current, best) = (fewer, outcome),
            None => break,
        }
    }
    shorten(&mut oracle, &mut current, &mut best);
    current.name = format!("{}-shrunk", scenario.name);
    current.seed = Some(seed);
    let faults_after = current.faults.schedule.len();
    Ok(Shrunk {
        scenario: current,
        seed,
        outcome: best,
        faults_before: schedule.schedule.len(),
        faults_after,
        runs: oracle.runs,
    })
}

/// When the earliest of the target checks' failures shows in `outcome`, if
/// the checks say.
pub fn shows_at(outcome: &RunOutcome, target: &BTreeSet<String>) -> Option<Nanos> {
    outcome
        .summary
        .verdicts
        .iter()
        .filter(|v| v.failed() && target.contains(&v.check))
        .filter_map(|v| v.time)
        .min()
}

/// The durations to try, shortest first, for a run of `duration` whose
/// failure shows at `shows_at`: just past that time with growing margins,
/// or, when the time is unknown, half the duration (not below 10 ms).
fn shorter_durations(shows_at: Option<Nanos>, duration: Nanos) -> Vec<Nanos> {
    match shows_at {
        Some(t) => std::iter::successors(Some(DURATION_MARGIN), |m| m.checked_mul(4))
            .map(|m| t.saturating_add(m))
            .take_while(|&d| d < duration)
            .collect(),
        None => Some(duration / 2)
            .filter(|&d| d >= 10 * MILLIS)
            .into_iter()
            .collect(),
    }
}

/// Cuts `current` to the shortest duration that still fails, re-running
/// each candidate; `best` follows it.
fn shorten(oracle: &mut Oracle<'_>, current: &mut Scenario, best: &mut RunOutcome) {
    loop {
        let candidates = shorter_durations(shows_at(best, &oracle.target), current.duration);
        let shorter = candidates.into_iter().find_map(|duration| {
            let mut shorter = current.clone();
            shorter.duration = duration;
            // Faults after the shorter end would never happen (and are refused).
            shorter.faults.schedule.retain(|a| a.at() < duration);
            oracle.fails(&shorter).map(|outcome| (shorter, outcome))
        });
        match shorter {
            Some((scenario, outcome)) => (*current, *best) = (scenario, outcome),
            None => return,
        }
    }
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
    fn a_known_failure_time_cuts_the_run_just_past_it() {
        let s = 1_000 * MILLIS;
        assert_eq!(
            shorter_durations(Some(2_900 * MILLIS), 3 * s),
            [2_910 * MILLIS, 2_940 * MILLIS]
        );
        assert!(shorter_durations(Some(2_995 * MILLIS), 3 * s).is_empty());
    }

    #[test]
    fn an_unknown_failure_time_halves_the_run() {
        assert_eq!(shorter_durations(None, 3_000 * MILLIS), [1_500 * MILLIS]);
        assert!(shorter_durations(None, 15 * MILLIS).is_empty());
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
