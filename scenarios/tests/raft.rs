//! The Raft catalogue through the runner: correct scenarios pass every check
//! over a seed loop, each known-bug scenario is caught within 500 seeds, and
//! a failing seed replays to the same finding at the same virtual time.
//!
//! `RAFT_SEEDS=n` widens the loop over `raft-partitions` (default 200).

use scenarios::catalogue;
use scenarios::runner::{run, RunOptions, RunOutcome};

fn run_seed(name: &str, seed: u64) -> RunOutcome {
    let scenario = catalogue::resolve(name, &[]).expect("catalogue scenario");
    run(&scenario, seed, &RunOptions::default()).expect("runs")
}

fn failures(o: &RunOutcome) -> Vec<String> {
    o.summary
        .verdicts
        .iter()
        .filter(|v| v.result != "pass")
        .map(|v| format!("{} {}: {}", v.check, v.result, v.detail))
        .collect()
}

fn seeds(default: u64) -> u64 {
    std::env::var("RAFT_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

#[test]
fn raft_partitions_passes_every_check_for_every_seed_of_the_loop() {
    for seed in 0..seeds(200) {
        let o = run_seed("raft-partitions", seed);
        assert!(o.summary.passed, "seed {seed}: {:?}", failures(&o));
        assert!(o
            .summary
            .verdicts
            .iter()
            .any(|v| v.check == "linearizability" && v.result == "pass"));
        assert!(o
            .summary
            .verdicts
            .iter()
            .any(|v| v.check == "leader-completeness" && v.result == "pass"));
        assert!(o
            .summary
            .verdicts
            .iter()
            .any(|v| v.check == "liveness" && v.result == "pass"));
    }
}

#[test]
fn the_other_correct_raft_scenarios_pass() {
    for name in [
        "raft-healthy",
        "raft-leader-isolation",
        "raft-unreliable",
        "raft-clock-pauses",
        "raft-swarm",
        "raft-corruption",
        "raft-unreliable-churn",
    ] {
        for seed in 0..10 {
            let o = run_seed(name, seed);
            assert!(o.summary.passed, "{name} seed {seed}: {:?}", failures(&o));
        }
    }
}

/// The first seed below 500 at which `name` fails, with the failing checks.
fn first_catch(name: &str, expected: &[&str]) -> u64 {
    for seed in 0..500 {
        let o = run_seed(name, seed);
        if !o.summary.passed {
            let failed: Vec<&str> = o
                .summary
                .verdicts
                .iter()
                .filter(|v| v.failed())
                .map(|v| v.check.as_str())
                .collect();
            assert!(
                failed.iter().any(|f| expected.contains(f)),
                "{name} seed {seed} failed {failed:?}, expected one of {expected:?}"
            );
            println!("{name}: caught at seed {seed} by {failed:?}");
            return seed;
        }
    }
    panic!("{name}: not caught in 500 seeds");
}

#[test]
fn bug_vote_without_log_check_scenario_is_caught() {
    first_catch(
        "raft-bug-vote-without-log-check",
        &[
            "leader-completeness",
            "state-machine-safety",
            "log-matching",
            "linearizability",
        ],
    );
}

#[test]
fn bug_figure8_scenario_is_caught() {
    first_catch(
        "raft-bug-figure8",
        &["leader-completeness", "state-machine-safety"],
    );
}

#[test]
fn bug_volatile_vote_scenario_is_caught() {
    first_catch("raft-bug-volatile-vote", &["election-safety"]);
}

#[test]
fn bug_bad_majority_scenario_is_caught() {
    first_catch("raft-bug-bad-majority", &["liveness"]);
}

#[test]
fn bug_follower_ack_quorum_scenario_is_caught() {
    first_catch("raft-bug-follower-ack-quorum", &["liveness"]);
}

/// The same cluster and faults with the correct commit rule (the leader
/// counts its own synced log): three of five commit, and every check passes.
#[test]
fn follower_ack_quorum_faults_pass_with_the_correct_commit_rule() {
    let mut scenario =
        catalogue::resolve("raft-bug-follower-ack-quorum", &[]).expect("catalogue scenario");
    scenario.bugs.clear();
    for seed in 0..20 {
        let o = run(&scenario, seed, &RunOptions::default()).expect("runs");
        assert!(o.summary.passed, "seed {seed}: {:?}", failures(&o));
    }
}

#[test]
fn bug_no_dedup_scenario_is_caught() {
    first_catch("raft-bug-no-dedup", &["linearizability"]);
}

#[test]
fn bug_no_checksum_scenario_is_caught() {
    first_catch(
        "raft-bug-no-checksum",
        &[
            "log-matching",
            "leader-completeness",
            "state-machine-safety",
            "election-safety",
            "linearizability",
            "no-panic",
            // A flipped term believed is a jump of the highest term.
            "term-churn",
        ],
    );
}

#[test]
fn checksums_catch_every_corrupted_message_that_arrives() {
    for seed in 0..5 {
        let o = run_seed("raft-corruption", seed);
        let c = &o.summary.corruption;
        assert!(o.summary.passed, "seed {seed}: {:?}", failures(&o));
        assert!(
            c.delivered > 20,
            "seed {seed}: corruption reached the nodes: {c:?}"
        );
        assert_eq!(c.detected, c.delivered, "seed {seed}: {c:?}");
        assert_eq!(c.undetected, 0);
    }
}

#[test]
fn a_failing_seed_replays_to_the_same_finding_at_the_same_time() {
    let seed = first_catch("raft-bug-volatile-vote", &["election-safety"]);
    let (a, b) = (
        run_seed("raft-bug-volatile-vote", seed),
        run_seed("raft-bug-volatile-vote", seed),
    );
    let (fa, fb) = (
        a.summary.finding.clone().unwrap(),
        b.summary.finding.clone().unwrap(),
    );
    assert_eq!(fa, fb, "same kind, nodes, message and virtual time");
    assert_eq!(a.summary.fingerprint, b.summary.fingerprint);
}

#[test]
fn unknown_bugs_and_options_are_input_errors_naming_the_field() {
    // Found when the scenario is read (the driver checks it then), or at the
    // latest when it runs; the error names the `--set` that caused it.
    let error = |set: &str| {
        catalogue::resolve("raft-healthy", &[set.to_string()])
            .and_then(|scenario| run(&scenario, 0, &RunOptions::default()).map(drop))
            .unwrap_err()
            .to_string()
    };
    let err = error("bugs=[\"figure-9\"]");
    assert!(err.contains("figure-9") && err.contains("figure8"), "{err}");
    let err = error("options.pre_vot=false");
    assert!(err.contains("pre_vot"), "{err}");
    let err = error("options.heartbeat_ms=500");
    assert!(err.contains("heartbeat"), "{err}");
}

#[test]
fn election_delays_are_reported_in_the_summary() {
    let o = run_seed("raft-partitions", 3);
    let stats = &o.summary.stats;
    let elections = stats["raft.elections"];
    assert!(
        elections >= 1.0,
        "partitions and crashes force elections: {stats:?}"
    );
    let (p50, max) = (
        stats["raft.leader_delay_ms.p50"],
        stats["raft.leader_delay_ms.max"],
    );
    assert!(0.0 < p50 && p50 <= max, "{stats:?}");
    assert!(max < 1_200.0, "within the liveness bound: {stats:?}");
}
