//! Raft's liveness verdicts can be trusted both ways: judged against the
//! network the faults left, a correct Raft never gets a false alarm (slow
//! links make an interval `unknown`, not failed), while a Raft that stops
//! electing, or churns through terms under a partial partition, is caught.
//!
//! `RAFT_SEEDS=n` widens the seed loops (default 200).

use crate::seeds;
use seeds::*;

fn seeds() -> u64 {
    std::env::var("RAFT_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200)
}

#[test]
fn correct_raft_gets_no_false_alarm_on_slow_or_partially_partitioned_networks() {
    for name in [
        "raft-swarm",
        "raft-swarm-slow",
        "raft-slow-network",
        "raft-latency-spikes",
        "raft-partial-partition",
    ] {
        let (mut judged, mut unknown) = (0, 0);
        for seed in 0..seeds() {
            let o = outcome(name, seed, &[]);
            assert!(o.summary.passed, "{name} seed {seed}: {:?}", failures(&o));
            let liveness = verdict(&o, "liveness").expect("a liveness verdict");
            match liveness.result.as_str() {
                "pass" => judged += 1,
                "unknown" => unknown += 1,
                other => panic!("{name} seed {seed}: liveness {other}"),
            }
            assert_eq!(verdict(&o, "term-churn").unwrap().result, "pass");
        }
        println!("{name}: liveness judged in {judged} runs, unknown in {unknown}");
    }
}

#[test]
fn a_network_too_slow_for_the_timeouts_is_unknown_and_says_why() {
    for seed in 0..5 {
        let o = outcome("raft-slow-network", seed, &[]);
        let v = verdict(&o, "liveness").unwrap();
        assert_eq!(v.result, "unknown", "seed {seed}: {v:?}");
        assert!(v.detail.contains("too slow"), "{}", v.detail);
    }
}

#[test]
fn latency_spikes_leave_their_intervals_unjudged_and_the_rest_judged() {
    let o = outcome("raft-latency-spikes", 1, &[]);
    let v = verdict(&o, "liveness").unwrap();
    assert_eq!(v.result, "pass", "{v:?}");
    assert!(v.detail.contains("not judged"), "{}", v.detail);
}

/// A Raft that needs 4 of 5 replicas (`bad-majority`) with two of them
/// away never elects: on a network slowed down but still fit for its
/// timeouts, the scaled bound still catches it, every seed.
#[test]
fn a_stuck_raft_is_still_caught_on_a_slow_network_it_can_be_judged_on() {
    for slow in ["network.extra_delay=\"30ms\"", "network.reorder=0.3"] {
        for seed in 0..50 {
            let o = outcome("raft-bug-bad-majority", seed, &[slow]);
            let v = verdict(&o, "liveness").expect("a liveness verdict");
            assert!(v.failed(), "{slow} seed {seed}: {v:?}");
        }
    }
}

#[test]
fn term_churn_without_pre_vote_is_caught_and_the_correct_raft_does_not_churn() {
    let n = seeds();
    let mut caught = 0;
    for seed in 0..n {
        let o = outcome("raft-bug-no-pre-vote", seed, &[]);
        if let Some(v) = verdict(&o, "term-churn").filter(|v| v.failed()) {
            assert!(v.detail.contains("new terms"), "{}", v.detail);
            caught += 1;
        }
    }
    println!("raft-bug-no-pre-vote: caught by term-churn in {caught} of {n} seeds");
    assert!(caught * 10 >= n * 8, "caught in only {caught} of {n} seeds");
}
