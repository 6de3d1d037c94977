//! The coordination service (ZooKeeper-style, on Raft) and its lock recipe:
//! safe and live where it should be, each known bug caught by the check
//! meant for it, and the same seed passing without the bug.

use crate::seeds;
use seeds::{failed_checks, failures, first_failure, outcome};

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
fn a_new_leader_never_tells_a_live_client_its_committed_session_expired() {
    // Two replicas crash with their disks kept: at seed 35 the leader elected
    // after them used to answer a ping from its tree before applying an entry
    // of its term, found the session missing and told the client it expired;
    // the expiry of that abandoned session then ended the client's next hold
    // in the lock check (a false "not linearizable").
    let name = "coord-replica-crashes-one-client";
    let o = outcome(name, 35, &[]);
    assert!(o.summary.passed, "{:?}", failures(&o));
    let counter = |name: &str| o.summary.counters.get(name).copied().unwrap_or(0);
    assert!(
        counter("coord.pings_held_until_up_to_date") >= 1,
        "{:?}",
        o.summary.counters
    );
    assert_eq!(
        counter("coord.sessions_lost"),
        0,
        "{:?}",
        o.summary.counters
    );
    assert_eq!(first_failure(name, 50, &[]), None);
}

#[test]
fn corrupted_messages_are_detected_everywhere_and_no_corrupted_write_is_applied() {
    // The resource used to believe corrupted writes: another holder's bits
    // made two holders' writes interleave (seeds 1, 6 and 8 among them).
    let name = "coord-corrupt-network";
    for seed in 1..=20 {
        let o = outcome(name, seed, &[]);
        assert!(o.summary.passed, "seed {seed}: {:?}", failures(&o));
        let c = &o.summary.corruption;
        assert!(c.delivered >= 1, "seed {seed}: {c:?}");
        assert_eq!(c.undetected, 0, "seed {seed}: {c:?}");
    }
}

/// `name` passes `seeds` seeds with fencing on (the default) and off.
fn safe_fenced_or_not(name: &str, seeds: u64) {
    assert_eq!(first_failure(name, seeds, &[]), None, "fencing on");
    assert_eq!(
        first_failure(name, seeds, &["options.fencing=false"]),
        None,
        "fencing off"
    );
}

#[test]
fn replica_clock_jumps_expire_no_session_the_leader_times_them_on_its_monotonic_clock() {
    safe_fenced_or_not("coord-server-clock-jumps", 200);
}

#[test]
fn client_clock_jumps_back_leave_the_clients_session_reckoning_alone() {
    safe_fenced_or_not("coord-client-clock-jumps", 200);
}

#[test]
fn replicas_restarted_with_wiped_disks_break_raft_and_raft_checks_catch_it() {
    let name = "coord-replica-restarts-no-persistence";
    let (seed, failed) = first_failure(name, 200, &[]).expect("caught");
    assert_eq!(failed.len(), 1, "seed {seed}: {failed:?}");
    assert!(
        protocols::raft::INVARIANTS.contains(&failed[0].as_str()),
        "seed {seed}: {failed:?}"
    );
    // The same crashes, restarting over the disks they had, are safe.
    let kept = "faults.schedule=[\
        {at_ms = 1000, duration_ms = 1, kind = \"crash\", node = 0}, \
        {at_ms = 1000, duration_ms = 1, kind = \"crash\", node = 1}, \
        {at_ms = 2500, duration_ms = 1, kind = \"crash\", node = 1}, \
        {at_ms = 2500, duration_ms = 1, kind = \"crash\", node = 2}]";
    assert!(
        failed_checks(name, seed, &[kept]).is_empty(),
        "seed {seed} fails with the disks kept"
    );
}

#[test]
fn a_write_delayed_in_the_network_past_the_session_is_fenced_off() {
    let name = "coord-delayed-write";
    let (seed, failed) =
        first_failure(name, 200, &["options.fencing=false"]).expect("caught without fencing");
    assert_eq!(failed, ["resource"], "seed {seed}");
    // At that seed the fenced resource turns the late writes away.
    let o = outcome(name, seed, &[]);
    assert!(o.summary.passed, "seed {seed} fails with fencing");
    let fenced = o.summary.counters.get("resource writes fenced off");
    assert!(fenced.is_some_and(|&n| n >= 1), "{:?}", o.summary.counters);
    assert_eq!(first_failure(name, 200, &[]), None);
}

#[test]
fn raft_checks_on_the_service_catch_a_bug_of_its_raft() {
    // Voters that skip the log check elect a leader missing committed entries.
    caught_by(
        "coord-bug-raft-vote-without-log-check",
        "leader-completeness",
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
    // An unknown bug name lists the service's bugs and Raft's.
    let sets = vec!["bugs=[\"no-such-bug\"]".to_string()];
    let err = scenarios::catalogue::resolve("coord-healthy", &sets)
        .and_then(|s| scenarios::runner::run(&s, 1, &Default::default()).map(|_| ()))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no-such-bug")
            && err.contains("watch-lowest")
            && err.contains("volatile-vote"),
        "{err}"
    );
}
