//! The stores of each consistency model (`eventual-store`, `causal-store`,
//! `sequential-store`): healthy and fault scenarios pass over 200 seeds,
//! each known bug is caught by the check of its model and passes at the
//! same seed without the bug, and each store is shown to be no stronger
//! than it promises (the sequential store is not linearizable).

use crate::seeds;
use seeds::*;

const SEEDS: u64 = 200;

fn passes_every_seed(name: &str) {
    for seed in 1..=SEEDS {
        let o = outcome(name, seed, &[]);
        assert!(o.summary.passed, "{name} seed {seed}: {:?}", failures(&o));
    }
}

/// The first of 200 seeds at which `name` fails: it must fail one of
/// `checks` and nothing else, and pass at that seed without its bug.
fn caught(name: &str, checks: &[&str]) -> u64 {
    let (seed, failed) = first_failure(name, SEEDS, &[])
        .unwrap_or_else(|| panic!("{name} not caught in {SEEDS} seeds"));
    assert!(
        !failed.is_empty() && failed.iter().all(|f| checks.contains(&f.as_str())),
        "{name} seed {seed} failed {failed:?}, expected only {checks:?}"
    );
    let fixed = outcome(name, seed, &["bugs=[]"]);
    assert!(
        fixed.summary.passed,
        "{name} seed {seed} without the bug: {:?}",
        failures(&fixed)
    );
    seed
}

#[test]
fn eventual_store_healthy_and_under_faults() {
    passes_every_seed("eventual-store-healthy");
    passes_every_seed("eventual-store-partitions");
}

#[test]
fn causal_store_healthy_and_under_faults() {
    passes_every_seed("causal-store-healthy");
    passes_every_seed("causal-store-partitions");
    passes_every_seed("causal-store-one-way-cuts");
}

#[test]
fn sequential_store_healthy_under_faults_and_under_skew() {
    passes_every_seed("sequential-store-healthy");
    passes_every_seed("sequential-store-faults");
    passes_every_seed("sequential-store-skew");
}

#[test]
fn eventual_store_resolving_by_own_component_loses_a_write() {
    caught(
        "eventual-store-bug-resolve-by-own-component",
        &["final read (eventual-store)", "convergence"],
    );
}

#[test]
fn causal_store_showing_writes_before_their_dependencies_is_caught() {
    caught(
        "causal-store-bug-visible-before-deps",
        &["causal consistency"],
    );
}

#[test]
fn sequential_store_ordering_by_wall_clock_is_caught() {
    caught(
        "sequential-store-bug-wall-clock-order",
        &["sequential consistency"],
    );
}

/// Stale reads at a local replica: some early seed's history is not
/// linearizable, although it is sequentially consistent.
#[test]
fn sequential_store_is_not_linearizable() {
    let seed = (1..=20).find(|&seed| {
        let o = outcome("sequential-store-healthy", seed, &[]);
        assert!(o.summary.passed, "seed {seed}: {:?}", failures(&o));
        let options = checkers::CheckOptions::default();
        let report = checkers::check_history_named("cas-register", &o.history, &options)
            .expect("a well-formed history");
        report.verdict == checkers::Verdict::NotLinearizable
    });
    assert!(seed.is_some(), "every history of 20 seeds was linearizable");
}

/// After a read returns siblings, the client writes back the value its
/// resolver picks over all of them; with either resolver the store passes.
#[test]
fn eventual_store_clients_resolve_siblings_and_write_back() {
    for resolver in ["max", "min"] {
        let set = format!("options.resolver=\"{resolver}\"");
        for seed in 1..=20 {
            let o = outcome("eventual-store-healthy", seed, &[&set]);
            assert!(
                o.summary.passed,
                "{resolver} seed {seed}: {:?}",
                failures(&o)
            );
        }
    }
    let o = outcome("eventual-store-healthy", 1, &[]);
    let resolutions = o
        .history
        .entries
        .iter()
        .filter(|e| e.f == "write")
        .filter_map(|e| e.value.get("context")?.as_array().map(Vec::len))
        .filter(|&covered| covered >= 2)
        .count();
    assert!(resolutions > 0, "no write covered two siblings");
}

#[test]
fn store_options_out_of_range_are_named() {
    for (name, set, field) in [
        ("eventual-store-healthy", "options.r=4", "options.r"),
        ("eventual-store-healthy", "options.n=6", "options.n"),
        (
            "causal-store-healthy",
            "options.switch=2.0",
            "options.switch",
        ),
        (
            "sequential-store-healthy",
            "workload.cas_fraction=0.1",
            "workload.cas_fraction",
        ),
    ] {
        let e = scenarios::catalogue::resolve(name, &[set.to_string()])
            .expect_err(set)
            .to_string();
        assert!(e.contains(field), "{set}: {e}");
    }
}

/// Replicas of the causal store apply concurrent writes in different
/// orders (here slowed by one-way cuts): some early seed's history is
/// causal (it passes) but not sequentially consistent.
#[test]
fn causal_store_is_not_sequentially_consistent() {
    // Three clients for a second: a history short enough that the search
    // proves no order exists rather than running out of steps.
    let small = [
        "workload.clients=3",
        "duration=\"1s\"",
        "options.quiesce=\"500ms\"",
    ];
    let seed = (1..=20).find(|&seed| {
        let o = outcome("causal-store-one-way-cuts", seed, &small);
        assert!(o.summary.passed, "seed {seed}: {:?}", failures(&o));
        let verdict = protocols::sequential_store::sequential_verdict(&o.history, 2_000_000);
        verdict.failed()
    });
    assert!(
        seed.is_some(),
        "every history of 20 seeds was sequentially consistent"
    );
}
