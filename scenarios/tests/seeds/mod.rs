//! Helpers shared by the tests that loop over seeds in process: run a
//! catalogue scenario at a seed, read its verdicts.
// Each test binary uses its own subset of these.
#![allow(dead_code)]

use scenarios::catalogue;
use scenarios::driver::Verdict;
use scenarios::runner::{run, RunOptions, RunOutcome};

/// Runs the catalogue scenario `name` with `--set`s `sets` at `seed`.
pub fn outcome(name: &str, seed: u64, sets: &[&str]) -> RunOutcome {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let scenario = catalogue::resolve(name, &sets).expect("catalogue scenario");
    run(&scenario, seed, &RunOptions::default()).expect("runs")
}

/// The names of the checks that failed in that run.
pub fn failed_checks(name: &str, seed: u64, sets: &[&str]) -> Vec<String> {
    outcome(name, seed, sets)
        .summary
        .verdicts
        .iter()
        .filter(|v| v.failed())
        .map(|v| v.check.clone())
        .collect()
}

/// The first seed in `1..=limit` at which `name` fails, and what failed.
pub fn first_failure(name: &str, limit: u64, sets: &[&str]) -> Option<(u64, Vec<String>)> {
    (1..=limit).find_map(|seed| {
        let failed = failed_checks(name, seed, sets);
        (!failed.is_empty()).then_some((seed, failed))
    })
}

/// The verdict of `check`, if the run has one.
pub fn verdict<'a>(o: &'a RunOutcome, check: &str) -> Option<&'a Verdict> {
    o.summary.verdicts.iter().find(|v| v.check == check)
}

/// `check: detail` of every failed check, for assertion messages.
pub fn failures(o: &RunOutcome) -> Vec<String> {
    o.summary
        .verdicts
        .iter()
        .filter(|v| v.failed())
        .map(|v| format!("{}: {}", v.check, v.detail))
        .collect()
}
