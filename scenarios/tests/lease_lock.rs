//! The lease lock on a conditional-write store, judged as a mutex with
//! fencing tokens: healthy through store crashes and loss, and each of its
//! known bugs caught where the correct client is safe.

use crate::seeds;
use seeds::{failed_checks, first_failure};

#[test]
fn a_durable_store_keeps_mutual_exclusion_through_crashes_and_loss() {
    assert_eq!(first_failure("lease-lock-healthy", 200, &[]), None);
}

/// `bug` is caught within 200 seeds, and the same seed is safe without it.
fn caught_and_safe_without(name: &str) {
    let (seed, failed) = first_failure(name, 200, &[]).expect("caught");
    assert_eq!(failed, ["linearizability"], "seed {seed}");
    assert!(
        failed_checks(name, seed, &["bugs=[]"]).is_empty(),
        "seed {seed} fails without the bug"
    );
}

#[test]
fn a_release_without_owner_check_is_caught() {
    caught_and_safe_without("lease-lock-bug-release-without-owner-check");
}

#[test]
fn expiry_judged_by_a_skewed_client_clock_is_caught() {
    caught_and_safe_without("lease-lock-bug-client-clock-expiry");
}

#[test]
fn extending_after_expiry_is_caught() {
    caught_and_safe_without("lease-lock-bug-extend-after-expiry");
}

#[test]
fn the_correct_client_is_safe_where_each_bug_is_caught() {
    for name in [
        "lease-lock-bug-release-without-owner-check",
        "lease-lock-bug-client-clock-expiry",
        "lease-lock-bug-extend-after-expiry",
    ] {
        assert_eq!(first_failure(name, 100, &["bugs=[]"]), None, "{name}");
    }
}

#[test]
fn a_store_whose_disk_is_wiped_while_a_client_holds_the_lock_is_caught() {
    // A restart without persistence forgets the item and the version
    // counter: a second client gets the lock, with a token handed out before.
    let wipe = [
        "faults.schedule=[{at_ms = 700, duration_ms = 20, kind = \"kill_wipe\", node = 0}, {at_ms = 1500, duration_ms = 20, kind = \"kill_wipe\", node = 0}]",
    ];
    let (_, failed) = first_failure("lease-lock-healthy", 50, &wipe).expect("caught");
    assert_eq!(failed, ["linearizability"]);
}

#[test]
fn fencing_keeps_a_paused_holder_off_the_resource() {
    // The lock history shows two holders at once: the pause is unsafe for
    // the lock itself.
    let (_, failed) = first_failure("lease-lock-client-pauses", 50, &[]).expect("caught");
    assert_eq!(failed, ["linearizability"]);
    // With fencing (the default) the resource never accepts interleaved
    // writes; without it the paused holder's writes land after the next
    // holder's.
    for seed in 1..=100 {
        let failed = failed_checks("lease-lock-client-pauses", seed, &[]);
        assert!(!failed.iter().any(|c| c == "resource"), "seed {seed}");
    }
    let (_, failed) =
        first_failure("lease-lock-client-pauses", 200, &["options.fencing=false"]).expect("caught");
    assert!(failed.iter().any(|c| c == "resource"), "{failed:?}");
}

#[test]
fn a_store_clock_jumped_forward_breaks_the_lock_but_not_the_fenced_resource() {
    let (_, failed) = first_failure("lease-lock-store-clock-jumps", 100, &[]).expect("caught");
    assert_eq!(failed, ["linearizability"]);
    for seed in 1..=100 {
        let failed = failed_checks("lease-lock-store-clock-jumps", seed, &[]);
        assert!(!failed.iter().any(|c| c == "resource"), "seed {seed}");
    }
}

#[test]
fn client_clock_jumps_and_an_isolated_store_are_safe() {
    for name in ["lease-lock-client-clock-jumps", "lease-lock-store-isolated"] {
        assert_eq!(first_failure(name, 200, &[]), None, "{name}");
    }
}
