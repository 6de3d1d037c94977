//! CRDT replicas judged by convergence: healthy ones converge under faults,
//! each known bug is caught by the convergence checker.

use crate::seeds;
use seeds::*;

#[test]
fn healthy_replicas_converge_under_partitions_loss_duplication_and_crashes() {
    for seed in 1..=15 {
        let failed = failed_checks("crdt-partitions", seed, &[]);
        assert!(failed.is_empty(), "seed {seed}: {failed:?}");
    }
}

#[test]
fn each_known_bug_is_caught_by_the_convergence_checker() {
    for bug in ["replace-merge", "sum-merge", "no-sync"] {
        let name = format!("crdt-bug-{bug}");
        let caught = (1..=10).find_map(|seed| {
            let failed = failed_checks(&name, seed, &[]);
            (!failed.is_empty()).then_some((seed, failed))
        });
        let (seed, failed) = caught.unwrap_or_else(|| panic!("{bug} not caught in 10 seeds"));
        assert!(
            failed.iter().all(|c| c.starts_with("convergence")),
            "{bug}: {failed:?}"
        );
        // The same seed with the bug switched off converges.
        assert!(
            failed_checks(&name, seed, &["bugs=[]"]).is_empty(),
            "{bug} seed {seed} without the bug"
        );
    }
}
