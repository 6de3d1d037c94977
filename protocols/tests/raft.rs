//! Raft under hand-driven faults: the invariants and linearizability hold for
//! the correct protocol, a healed cluster elects and commits in bounded time,
//! every known bug is caught, and a failing seed replays exactly.
//!
//! `RAFT_SEEDS=n` widens the seed loops (defaults keep the suite fast).

use crate::raft_support;

use protocols::raft::{self, RaftMsg, RaftNode};
use raft_support::*;
use sim_core::{LinkConfig, Nanos, NodeStatus, OpType, Sim, MILLIS, SECONDS};

fn assert_clean(faults: Faults, seeds_default: u64) {
    for seed in 0..seeds(seeds_default) {
        let r = run(&RunSpec::new(seed, faults));
        if let Some((_, detail)) = r.violation() {
            panic!("{faults:?} seed {seed}: {detail}");
        }
        let oks = r
            .history
            .entries
            .iter()
            .filter(|e| e.op_type == OpType::Ok)
            .count();
        assert!(
            oks > 20,
            "{faults:?} seed {seed}: only {oks} operations succeeded"
        );
    }
}

#[test]
fn partitions_and_crashes_keep_every_invariant_and_linearizability() {
    assert_clean(Faults::Partitions, 200);
}

#[test]
fn an_unreliable_network_keeps_every_invariant_and_linearizability() {
    assert_clean(Faults::Unreliable, 60);
}

#[test]
fn clock_faults_and_pauses_keep_every_invariant_and_linearizability() {
    assert_clean(Faults::Clocks, 40);
}

#[test]
fn other_fault_patterns_keep_every_invariant_and_linearizability() {
    for faults in [
        Faults::LeaderIsolation,
        Faults::Figure8,
        Faults::Bounce,
        Faults::Crashes,
    ] {
        assert_clean(faults, 30);
    }
    for seed in 0..seeds(30) {
        // The bridge profile's 30% loss starves some runs of successes: no
        // throughput floor there, only correctness.
        let r = run(&RunSpec::new(seed, Faults::Bridge));
        assert!(
            r.violation().is_none(),
            "bridge seed {seed}: {:?}",
            r.violation()
        );
    }
}

/// Splits 5 replicas so that no side has a majority, heals, and measures how
/// long until a leader exists and a client write commits.
fn recovery_after_heal(seed: u64) -> (Nanos, Nanos) {
    let spec = RunSpec::new(seed, Faults::None);
    let mut sim: Sim<RaftMsg> = Sim::new(seed, LinkConfig::default());
    let (rc, cc) = raft::default_configs(5, &spec.workload, spec.bugs);
    let topo = raft::build_cluster(&mut sim, &rc, &cc).unwrap();
    let mut checks = raft::Checks::new(&topo, &rc, &cc);
    assert!(sim.run_until_checked(SECONDS, |s| checks.check(s)));
    sim.network_mut().partition(&[0, 1], &[2, 3, 4]);
    sim.network_mut().partition(&[2, 3], &[4]);
    sim.note_fault("split 0,1 | 2,3 | 4");
    assert!(sim.run_until_checked(2 * SECONDS, |s| checks.check(s)));
    let healed = sim.now();
    sim.network_mut().heal_all();
    sim.note_fault("heal");
    let writes_before = sim.history().entries.len();
    let (mut leader_at, mut commit_at) = (None, None);
    while commit_at.is_none() && sim.now() < healed + 5 * SECONDS {
        let t = sim.now() + MILLIS;
        assert!(
            sim.run_until_checked(t, |s| checks.check(s)),
            "{:?}",
            sim.finding()
        );
        let leader = raft::leader(&sim, &topo.replicas).filter(|&l| {
            let term = sim.process_as::<RaftNode>(l).unwrap().term();
            topo.replicas.iter().all(|&r| {
                sim.status(r) == NodeStatus::Down
                    || sim.process_as::<RaftNode>(r).unwrap().term() <= term
            })
        });
        if leader_at.is_none() && leader.is_some() {
            leader_at = Some(sim.now() - healed);
        }
        let committed = sim.history().entries[writes_before..]
            .iter()
            .any(|e| e.op_type == OpType::Ok && e.f == "write");
        if leader_at.is_some() && committed {
            commit_at = Some(sim.now() - healed);
        }
    }
    (
        leader_at.expect("a leader after the heal"),
        commit_at.expect("a write committed after the heal"),
    )
}

#[test]
fn a_healed_cluster_elects_a_leader_and_commits_writes_in_bounded_time() {
    let mut elections = Vec::new();
    let mut commits = Vec::new();
    for seed in 0..seeds(50) {
        let (leader, commit) = recovery_after_heal(seed);
        elections.push(leader);
        commits.push(commit);
    }
    elections.sort_unstable();
    commits.sort_unstable();
    let pct = |v: &[Nanos], p: usize| v[(v.len() - 1) * p / 100] as f64 / 1e6;
    println!(
        "after heal, over {} seeds: leader in ms p50 {:.1} p90 {:.1} max {:.1}; first write ok p50 {:.1} p90 {:.1} max {:.1}",
        elections.len(),
        pct(&elections, 50),
        pct(&elections, 90),
        pct(&elections, 100),
        pct(&commits, 50),
        pct(&commits, 90),
        pct(&commits, 100)
    );
    // Bound: a leader within four maximal election timeouts (1.2 s), a write
    // within that plus two client timeouts.
    assert!(
        pct(&elections, 100) <= 1_200.0,
        "slowest election {:.1} ms",
        pct(&elections, 100)
    );
    assert!(
        pct(&commits, 100) <= 1_600.0,
        "slowest commit {:.1} ms",
        pct(&commits, 100)
    );
}

/// Asserts that `bug` under `faults` is caught within 500 seeds, by a check
/// of one of `kinds`, and returns the catching seed's spec.
fn caught(bug: &str, faults: Faults, gap: (u64, u64), kinds: &[&str]) -> RunSpec {
    let make = |seed| {
        let mut s = RunSpec::new(seed, faults).bugs(&[bug]);
        s.fault_gap = (gap.0 * MILLIS, gap.1 * MILLIS);
        s
    };
    let Some((seed, r)) = first_violation(500, make) else {
        panic!("{bug} was not caught in 500 seeds");
    };
    let (kind, detail) = r.violation().unwrap();
    println!("{bug}: caught at seed {seed} by {detail}");
    assert!(
        kinds.contains(&kind.as_str()),
        "{bug} caught by {kind}, expected one of {kinds:?}: {detail}"
    );
    make(seed)
}

#[test]
fn bug_vote_without_log_check_is_caught() {
    caught(
        "vote-without-log-check",
        Faults::Crashes,
        (100, 400),
        &[
            "leader-completeness",
            "state-machine-safety",
            "log-matching",
            "linearizability",
        ],
    );
}

#[test]
fn bug_figure8_is_caught() {
    caught(
        "figure8",
        Faults::Figure8,
        (100, 400),
        &["leader-completeness", "state-machine-safety"],
    );
}

#[test]
fn bug_volatile_vote_is_caught() {
    caught(
        "volatile-vote",
        Faults::Bridge,
        (10, 60),
        &["election-safety"],
    );
}

#[test]
fn bug_bad_majority_is_caught() {
    caught(
        "bad-majority",
        Faults::Partitions,
        (500, 1500),
        &["liveness"],
    );
}

#[test]
fn bug_follower_ack_quorum_is_caught() {
    caught(
        "follower-ack-quorum",
        Faults::Partitions,
        (500, 1500),
        &["liveness"],
    );
}

#[test]
fn bug_no_dedup_is_caught() {
    caught(
        "no-dedup",
        Faults::Unreliable,
        (100, 400),
        &["linearizability"],
    );
}

#[test]
fn unknown_bug_names_are_rejected_with_the_known_ones() {
    let err = raft::Bugs::parse(&["figure-8"]).unwrap_err();
    assert!(err.contains("figure-8") && err.contains("figure8"), "{err}");
}

#[test]
fn replaying_a_failing_seed_reproduces_the_same_violation_at_the_same_time() {
    let spec = caught(
        "figure8",
        Faults::Figure8,
        (100, 400),
        &["leader-completeness", "state-machine-safety"],
    );
    let a = run(&spec);
    let b = run(&spec);
    let (fa, fb) = (a.finding.unwrap(), b.finding.unwrap());
    assert_eq!(fa, fb);
    assert_eq!(a.fingerprint, b.fingerprint);
    assert_eq!(a.end, b.end);
    // A different seed is a different run.
    let mut other = spec.clone();
    other.seed += 1;
    assert_ne!(run(&other).fingerprint, a.fingerprint);
}

#[test]
fn a_correct_run_is_deterministic() {
    let spec = RunSpec::new(7, Faults::Partitions);
    let (a, b) = (run(&spec), run(&spec));
    assert_eq!(a.fingerprint, b.fingerprint);
    assert_eq!(a.history.entries, b.history.entries);
}

#[test]
fn a_restarted_replica_recovers_its_term_vote_and_log_from_storage() {
    let spec = RunSpec::new(3, Faults::None);
    let mut sim: Sim<RaftMsg> = Sim::new(3, LinkConfig::default());
    let (rc, cc) = raft::default_configs(5, &spec.workload, spec.bugs);
    let topo = raft::build_cluster(&mut sim, &rc, &cc).unwrap();
    sim.run_until(2 * SECONDS);
    let n = topo.replicas[1];
    let before = sim.process_as::<RaftNode>(n).unwrap();
    let (term, vote, last, snap) = (
        before.term(),
        before.voted_for(),
        before.log().last_index(),
        before.log().snapshot_index(),
    );
    assert!(snap > 0, "the run is long enough to take a snapshot");
    sim.crash(n, sim_core::CrashMode::LoseUnsynced);
    sim.restart(n, false);
    sim.run_until(sim.now()); // handles the start event
    let after = sim.process_as::<RaftNode>(n).unwrap();
    assert_eq!((after.term(), after.voted_for()), (term, vote));
    assert_eq!(
        after.log().last_index(),
        last,
        "every acknowledged entry was synced"
    );
    assert_eq!(after.log().snapshot_index(), snap);
    assert_eq!(
        after.commit_index(),
        snap,
        "commit index is volatile: it restarts at the snapshot"
    );
}

/// A client cut off from every replica gives each operation up as `info`
/// after exactly `max_attempts` timeouts, operation after operation: its
/// lazily armed timeout timer (moved by each attempt, re-armed when it
/// fires early, left pending between operations) neither fires early nor
/// gets lost.
#[test]
fn a_client_that_hears_nothing_times_out_each_attempt_after_exactly_its_timeout() {
    let spec = RunSpec::new(5, Faults::None);
    let mut sim: Sim<RaftMsg> = Sim::new(5, LinkConfig::default());
    let (rc, cc) = raft::default_configs(3, &spec.workload, spec.bugs);
    let topo = raft::build_cluster(&mut sim, &rc, &cc).unwrap();
    sim.network_mut().partition(&topo.replicas, &topo.clients);
    let per_op = u64::from(cc.max_attempts) * cc.workload.timeout();
    sim.run_until(5 * per_op);
    let mut given_up = 0;
    for process in topo.clients.iter().map(|&c| u64::from(c)) {
        let ops: Vec<_> = sim
            .history()
            .entries
            .iter()
            .filter(|e| e.process == process)
            .collect();
        for pair in ops.chunks_exact(2) {
            let (invoke, done) = (pair[0], pair[1]);
            assert_eq!(
                (invoke.op_type, done.op_type),
                (OpType::Invoke, OpType::Info)
            );
            let took = done.time - invoke.time;
            assert!(
                took.abs_diff(per_op) < MILLIS,
                "client {process}: given up after {took} ns, not {per_op}"
            );
            given_up += 1;
        }
    }
    assert!(
        given_up >= 4 * topo.clients.len(),
        "every client gives up operation after operation: {given_up}"
    );
}
