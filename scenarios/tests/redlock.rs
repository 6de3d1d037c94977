//! Redlock judged as a mutex: safe on a healthy cluster, and broken — as its
//! critics showed — by process pauses and clock jumps, which the checker sees.
//! Where the lock breaks, its holders' writes may interleave at the guarded
//! resource too: Redlock has no token the resource could fence them with.

use crate::seeds;
use seeds::{failed_checks, first_failure};

/// The lock history failed, and nothing but it and the resource did.
fn lock_broken(failed: &[String]) {
    assert!(failed.iter().any(|c| c == "linearizability"), "{failed:?}");
    assert!(
        failed
            .iter()
            .all(|c| c == "linearizability" || c == "resource"),
        "{failed:?}"
    );
}

#[test]
fn a_healthy_cluster_keeps_mutual_exclusion_through_server_crashes_and_loss() {
    assert_eq!(first_failure("redlock-healthy", 10, &[]), None);
}

#[test]
fn client_pauses_longer_than_the_lease_break_mutual_exclusion() {
    let (seed, failed) = first_failure("redlock-client-pauses", 10, &[]).expect("caught");
    lock_broken(&failed);
    // The pauses are the cause: without them the same seed is safe.
    assert!(failed_checks("redlock-client-pauses", seed, &["faults.schedule=[]"]).is_empty());
}

#[test]
fn server_clock_jumps_break_mutual_exclusion() {
    let (_, failed) = first_failure("redlock-clock-jumps", 20, &[]).expect("caught");
    lock_broken(&failed);
}

#[test]
fn skipping_the_validity_check_is_caught() {
    let (seed, failed) = first_failure("redlock-bug-no-validity-check", 5, &[]).expect("caught");
    lock_broken(&failed);
    // Without the bug the lock history holds. Its long-tailed network still
    // delivers some writes after the next holder's: no token fences them.
    let without = failed_checks("redlock-bug-no-validity-check", seed, &["bugs=[]"]);
    assert!(without.iter().all(|c| c == "resource"), "{without:?}");
}

#[test]
fn lease_validity_on_the_monotonic_clock_survives_client_clock_jumps() {
    for seed in 1..=200 {
        let failed = failed_checks("redlock-client-clock-jumps", seed, &[]);
        assert!(failed.is_empty(), "seed {seed}: {failed:?}");
    }
}

#[test]
fn lease_validity_on_the_wall_clock_is_caught() {
    let (seed, failed) = first_failure("redlock-bug-wall-clock-lease", 20, &[]).expect("caught");
    lock_broken(&failed);
    assert!(failed_checks("redlock-bug-wall-clock-lease", seed, &["bugs=[]"]).is_empty());
    // The jumps are the cause: without them the buggy client is safe too.
    let only_delay =
        ["faults.schedule=[{at_ms = 0, kind = \"delay\", extra_ms = 70, nodes = [5]}]"];
    assert!(failed_checks("redlock-bug-wall-clock-lease", seed, &only_delay).is_empty());
}
