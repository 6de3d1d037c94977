//! PBFT's optimisations and the attack MAC authenticators open: batching
//! stays safe and really batches, the read-only path stays linearizable
//! under faults (and its f+1 variant is caught), and the faulty-client
//! attack costs view changes in the naive design and none with vouching,
//! without breaking safety either way.

use crate::seeds;
use seeds::*;

use scenarios::runner::RunOutcome;
use sim_core::OpType;

fn counter(o: &RunOutcome, name: &str) -> i64 {
    o.summary.counters.get(name).copied().unwrap_or(0)
}

/// Operations the honest clients completed (ok or a definite cas failure).
fn completed(o: &RunOutcome) -> usize {
    o.history
        .entries
        .iter()
        .filter(|e| matches!(e.op_type, OpType::Ok | OpType::Fail))
        .count()
}

/// `seeds` runs of `name` all pass; returns the summed counter `name`s.
fn all_pass(name: &str, seeds: std::ops::Range<u64>, sets: &[&str], counters: &[&str]) -> Vec<i64> {
    let mut sums = vec![0; counters.len()];
    for seed in seeds {
        let o = outcome(name, seed, sets);
        assert!(
            o.summary.passed,
            "{name} seed {seed} {sets:?}: {:?}",
            failures(&o)
        );
        for (sum, c) in sums.iter_mut().zip(counters) {
            *sum += counter(&o, c);
        }
    }
    sums
}

#[test]
fn batches_are_safe_and_hold_several_requests() {
    let sums = all_pass(
        "pbft-batching",
        1..101,
        &[],
        &[
            "pbft.proposals",
            "pbft.proposed_requests",
            "pbft.view_changes",
        ],
    );
    let (proposals, requests) = (sums[0] as f64, sums[1] as f64);
    println!(
        "mean batch {:.2} over {proposals} proposals",
        requests / proposals
    );
    assert!(requests / proposals > 1.5, "{sums:?}");
    assert!(sums[2] > 0, "the primary crash is survived by view changes");
    // B = 1 is one request per pre-prepare.
    let o = outcome("pbft-batching", 1, &["options.batch=1"]);
    assert!(o.summary.passed, "{:?}", failures(&o));
    assert_eq!(
        counter(&o, "pbft.proposals"),
        counter(&o, "pbft.proposed_requests")
    );
}

#[test]
fn batching_serves_more_clients_when_the_pipeline_is_the_limit() {
    let ops = |batch: &str| completed(&outcome("pbft-batching", 1, &[batch]));
    let (one, eight) = (ops("options.batch=1"), ops("options.batch=8"));
    assert!(eight as f64 > 1.5 * one as f64, "B=1: {one}, B=8: {eight}");
}

#[test]
fn read_only_reads_stay_linearizable_under_byzantine_and_network_faults() {
    let sums = all_pass(
        "pbft-read-only",
        0..200,
        &[],
        &[
            "pbft.read_only_fast",
            "pbft.read_only_fallback",
            "byzantine_equivocated",
        ],
    );
    println!("fast reads {}, ordered after all {}", sums[0], sums[1]);
    assert!(sums[0] > 1000 && sums[1] > 0, "{sums:?}");
}

#[test]
fn read_only_with_f_plus_one_replies_is_caught_and_2f_plus_one_is_not() {
    let name = "pbft-bug-read-only-f-plus-one";
    let (seed, failed) = first_failure(name, 200, &[]).expect("caught within 200 seeds");
    assert_eq!(failed, ["linearizability"], "seed {seed}");
    let fixed = outcome(name, seed, &["bugs=[]"]);
    assert!(fixed.summary.passed, "seed {seed}: {:?}", failures(&fixed));
    assert!(counter(&fixed, "pbft.read_only_fallback") > 0);
}

#[test]
fn the_faulty_client_attack_stalls_the_naive_design_and_not_the_vouching_one() {
    let naive = ["options.request_vouches=0"];
    let mut naive_ops = 0;
    let mut vouched_ops = 0;
    for seed in 1..=20 {
        let vouched = outcome("pbft-faulty-client", seed, &[]);
        assert!(
            vouched.summary.passed,
            "seed {seed}: {:?}",
            failures(&vouched)
        );
        assert_eq!(counter(&vouched, "pbft.view_changes"), 0, "seed {seed}");
        vouched_ops += completed(&vouched);
        let o = outcome("pbft-faulty-client", seed, &naive);
        let safety: Vec<_> = failures(&o)
            .into_iter()
            .filter(|f| !f.starts_with("liveness"))
            .collect();
        assert!(safety.is_empty(), "seed {seed}: {safety:?}");
        assert!(counter(&o, "pbft.view_changes") > 0, "seed {seed}");
        naive_ops += completed(&o);
    }
    println!("completed operations over 20 seeds: vouching {vouched_ops}, naive {naive_ops}");
    assert!(naive_ops * 2 < vouched_ops);
    // Without the attack both designs serve everyone; with it the attacker
    // gets nothing done.
    let honest = outcome("pbft-faulty-client", 1, &["options.faulty_clients=0"]);
    assert!(honest.summary.passed, "{:?}", failures(&honest));
}

#[test]
fn mac_authenticators_stay_safe_under_drawn_byzantine_faults() {
    all_pass(
        "pbft-byzantine-swarm",
        0..200,
        &["options.auth=\"macs\""],
        &[],
    );
}

#[test]
fn options_out_of_range_are_named() {
    let bad = |set: &str, field: &str| {
        let err = scenarios::catalogue::resolve("pbft-healthy", &[set.to_string()])
            .expect_err(set)
            .to_string();
        assert!(err.contains(field), "{set}: {err}");
    };
    bad("options.batch=0", "options.batch");
    bad("options.pipeline=0", "options.pipeline");
    bad("options.pipeline=33", "options.pipeline");
    bad("options.request_vouches=4", "options.request_vouches");
    bad("options.faulty_clients=1", "options.faulty_clients");
    bad("options.auth=\"rsa\"", "unknown variant `rsa`");
}

#[test]
fn the_figures_command_writes_its_plots_and_the_curves_have_their_shape() {
    let dir = tempfile::tempdir().unwrap();
    let registry = scenarios::registry::Registry::builtin();
    let figures = scenarios::pbft_figures::write(&registry, dir.path()).unwrap();
    for name in [
        "pbft-batching-throughput.png",
        "pbft-batching-latency.svg",
        "pbft-faulty-client.png",
        "pbft-figures.md",
    ] {
        let path = dir.path().join(name);
        assert!(figures.files.contains(&path) && path.exists(), "{name}");
    }
    let tables = &figures.tables;
    assert!(tables.contains("| pbft, B = 32 |") && tables.contains("| raft, 3 replicas |"));
    let pbft = &figures.pbft;
    assert!(pbft[5].ops_per_s > 3.0 * pbft[0].ops_per_s, "{pbft:?}");
    assert!(figures.raft.ops_per_s > 0.0);
    let (vouching, naive) = (&figures.attack[2], &figures.attack[3]);
    assert!(
        naive.ops_per_s * 2.0 < vouching.ops_per_s,
        "{:?}",
        figures.attack
    );
    assert!(naive.view_changes > 0 && vouching.view_changes == 0);
}
