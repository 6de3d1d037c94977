//! PBFT through the runner: safe and linearizable with one Byzantine replica
//! of four, live again after the primary crashes, and every known bug caught
//! by the check it breaks, with a Byzantine replica doing what the bug lets through.

use crate::seeds;
use seeds::*;

use scenarios::catalogue;
use scenarios::runner::{run, RunOptions, RunOutcome};
use sim_core::{OpType, MILLIS};

/// The first seed in `1..=limit` at which `name` fails, and what failed.
fn first_failure(name: &str, limit: u64, sets: &[&str]) -> Option<(u64, Vec<String>)> {
    (1..=limit).find_map(|seed| {
        let failed = failed_checks(name, seed, sets);
        (!failed.is_empty()).then_some((seed, failed))
    })
}

/// Operations that completed `ok` after true time `after`.
fn ok_after(outcome: &RunOutcome, after: u64) -> usize {
    outcome
        .history
        .entries
        .iter()
        .filter(|e| e.op_type == OpType::Ok && e.time > after)
        .count()
}

#[test]
fn a_healthy_cluster_agrees_and_is_linearizable() {
    assert_eq!(first_failure("pbft-healthy", 10, &[]), None);
    let run = outcome("pbft-healthy", 1, &[]);
    let checks: Vec<&str> = run
        .summary
        .verdicts
        .iter()
        .map(|v| v.check.as_str())
        .collect();
    assert!(checks.contains(&"agreement") && checks.contains(&"linearizability"));
    assert!(
        ok_after(&run, 0) > 100,
        "a healthy cluster serves its clients"
    );
}

#[test]
fn one_byzantine_replica_breaks_neither_safety_nor_linearizability() {
    assert_eq!(first_failure("pbft-byzantine", 10, &[]), None);
}

#[test]
fn forged_messages_are_rejected_and_counted() {
    let run = outcome("pbft-byzantine", 1, &[]);
    let counter = |name: &str| run.summary.counters.get(name).copied().unwrap_or(0);
    assert!(counter("byzantine_forged") > 0, "the forge window forged");
    assert!(counter("auth_rejected") > 0, "{:?}", run.summary.counters);
    // With no Byzantine node nothing is rejected: the counter is not noise.
    let honest = outcome("pbft-byzantine", 1, &["faults.schedule=[]"]);
    assert_eq!(honest.summary.counters.get("auth_rejected"), None);
}

#[test]
fn a_view_change_restores_progress_after_the_primary_crashes() {
    // The catalogue crashes node 0, the first primary, at 600 ms for good.
    for seed in 1..=5 {
        let run = outcome("pbft-primary-crash", seed, &[]);
        let failed: Vec<_> = run.summary.verdicts.iter().filter(|v| v.failed()).collect();
        assert!(failed.is_empty(), "seed {seed}: {failed:?}");
        // The view change takes a timeout or two; after it, clients are served again.
        let after = ok_after(&run, 1_000 * MILLIS);
        assert!(
            after > 20,
            "seed {seed}: {after} ops completed after the view change"
        );
    }
}

/// Each bug is caught by the named check at some seed, and the same seed
/// passes with the bug switched off (the Byzantine replica alone is harmless).
fn caught(bug: &str, check: &str) {
    let name = format!("pbft-bug-{bug}");
    let (seed, failed) =
        first_failure(&name, 50, &[]).unwrap_or_else(|| panic!("{bug} not caught"));
    assert_eq!(failed, [check], "{bug} at seed {seed}");
    let without = failed_checks(&name, seed, &["bugs=[]"]);
    assert!(
        without.is_empty(),
        "{name} seed {seed} without the bug: {without:?}"
    );
}

#[test]
fn a_prepare_quorum_of_f_is_caught_by_agreement() {
    caught("small-prepare-quorum", "agreement");
}

#[test]
fn skipping_mac_checks_is_caught_by_linearizability() {
    caught("no-mac-check", "linearizability");
}

#[test]
fn believing_the_first_reply_is_caught_by_linearizability() {
    caught("first-reply", "linearizability");
}

#[test]
fn bad_options_are_named() {
    // Found when the scenario is read (the driver checks it then), or at the
    // latest when it runs.
    let error = |set: &str| {
        catalogue::resolve("pbft-healthy", &[set.to_string()])
            .and_then(|scenario| run(&scenario, 1, &RunOptions::default()).map(drop))
            .unwrap_err()
    };
    let err = error("replicas=5");
    assert!(err.to_string().contains("3f+1"), "{err}");
    let err = error("bugs=[\"no-such-bug\"]");
    assert!(err.to_string().contains("small-prepare-quorum"), "{err}");
    let err = error("options.checkpoint_interval=0");
    assert!(err.to_string().contains("checkpoint_interval"), "{err}");
}

#[test]
fn corrupted_messages_are_delivered_rejected_by_their_mac_and_counted_as_detected() {
    let run = outcome("pbft-healthy", 1, &["network.corrupt=0.02"]);
    assert!(run.summary.passed, "{:?}", failures(&run));
    let c = run.summary.corruption;
    assert!(c.delivered > 20, "{c:?}");
    assert_eq!((c.detected, c.undetected), (c.delivered, 0), "{c:?}");
    // Corruption is not mistaken for forgery.
    assert_eq!(run.summary.counters.get("auth_rejected"), None);
}
