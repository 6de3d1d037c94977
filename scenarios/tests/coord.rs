//! The coordination service (ZooKeeper-style, on Raft) and its lock recipe:
//! safe and live where it should be, each known bug caught by the check
//! meant for it, and the same seed passing without the bug.

use crate::seeds;
use seeds::{failed_checks, first_failure, outcome};

#[test]
fn the_healthy_lock_service_passes_200_seeds() {
    assert_eq!(first_failure("coord-healthy", 200, &[]), None);
}

#[test]
fn replica_crashes_and_an_isolated_leader_keep_sessions_and_locks() {
    assert_eq!(first_failure("coord-replica-crashes", 200, &[]), None);
}

#[test]
fn a_paused_client_loses_its_session_learns_it_and_never_writes_out_of_turn() {
    // Safe with fencing (the default) and without it: the correct client
    // stops writing once it cannot count on its session.
    assert_eq!(first_failure("coord-client-pauses", 200, &[]), None);
    assert_eq!(
        first_failure("coord-client-pauses", 100, &["options.fencing=false"]),
        None
    );
    // The leader expired the paused sessions, and the clients learned it.
    let o = outcome("coord-client-pauses", 1, &[]);
    let counter = |name: &str| o.summary.counters.get(name).copied().unwrap_or(0);
    assert!(
        counter("coord.sessions_lost") >= 1,
        "{:?}",
        o.summary.counters
    );
    assert!(counter("coord.sessions_expired_proposed") >= 1);
}

#[test]
fn clients_cut_off_from_the_service_lose_their_sessions_safely() {
    assert_eq!(first_failure("coord-client-partitions", 200, &[]), None);
    assert_eq!(
        first_failure("coord-client-partitions", 100, &["options.fencing=false"]),
        None
    );
}

#[test]
fn sorted_acquisition_of_several_locks_is_safe_and_live() {
    assert_eq!(
        first_failure("coord-bug-unsorted-locks", 200, &["bugs=[]"]),
        None
    );
}

/// `name` is caught within 200 seeds by exactly `check`, and the same seed
/// passes without the bug.
fn caught_by(name: &str, check: &str) {
    let (seed, failed) = first_failure(name, 200, &[]).expect("caught");
    assert_eq!(failed, [check], "seed {seed}");
    assert!(
        failed_checks(name, seed, &["bugs=[]"]).is_empty(),
        "seed {seed} fails without the bug"
    );
}

#[test]
fn watching_the_lowest_node_is_caught_as_a_herd() {
    caught_by("coord-bug-watch-lowest", "herd");
}

#[test]
fn persistent_lock_nodes_are_caught_when_a_holder_crashes() {
    caught_by("coord-bug-persistent-nodes", "liveness");
}

#[test]
fn unsorted_acquisition_of_several_locks_is_caught_as_a_deadlock() {
    caught_by("coord-bug-unsorted-locks", "liveness");
}

#[test]
fn acting_after_session_expiry_is_caught_without_fencing_and_fenced_off_with_it() {
    caught_by("coord-bug-act-after-expiry", "resource");
    // With fencing on, the resource rejects the stale holder's older zxid.
    for seed in 1..=100 {
        let failed = failed_checks(
            "coord-bug-act-after-expiry",
            seed,
            &["options.fencing=true"],
        );
        assert!(failed.is_empty(), "seed {seed}: {failed:?}");
    }
}

#[test]
fn bad_options_are_input_errors_naming_the_field() {
    let sets = vec!["options.locks_per_client=3".to_string()];
    let err = scenarios::catalogue::resolve("coord-healthy", &sets)
        .and_then(|s| scenarios::runner::run(&s, 1, &Default::default()).map(|_| ()))
        .unwrap_err()
        .to_string();
    assert!(err.contains("locks_per_client"), "{err}");
}
