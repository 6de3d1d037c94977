//! The Byzantine quorum register (signed values, quorums of ⌈(n+f+1)/2⌉):
//! linearizable with up to f Byzantine replicas, named or drawn, under
//! crashes and partitions; f+1 lying replicas break it (the bound is tight),
//! and each known bug is caught and passes without the bug at the same seed.

use crate::seeds;
use seeds::*;

/// Replica 1 lying, and each client cut from one replica (as in
/// `byz-register-f-plus-one`, whose second liar is dropped).
const ONE_LIAR: &str = r#"faults.schedule=[
  { at_ms = 0, kind = "one_way", from = [4], to = [0] },
  { at_ms = 0, kind = "one_way", from = [5, 6], to = [3] },
  { at_ms = 100, kind = "byzantine", node = 1, behavior = { kind = "forge", rate = 1.0 } },
]"#;

#[test]
fn healthy_byzantine_and_crash_partition_runs_pass_over_200_seeds() {
    for name in [
        "byz-register-healthy",
        "byz-register-byzantine",
        "byz-register-crash-partition",
        "byz-register-swarm",
    ] {
        let mut byzantine = 0;
        for seed in 0..200 {
            let o = outcome(name, seed, &[]);
            assert!(o.summary.passed, "{name} seed {seed}: {:?}", failures(&o));
            assert_eq!(
                verdict(&o, "linearizability").map(|v| v.result.as_str()),
                Some("pass"),
                "{name} seed {seed}"
            );
            byzantine += usize::from(
                o.summary
                    .faults_applied
                    .iter()
                    .any(|a| a.kind == "byzantine"),
            );
        }
        if name == "byz-register-swarm" {
            assert!(
                byzantine > 50,
                "{name}: only {byzantine} seeds drew a Byzantine replica"
            );
        }
    }
}

#[test]
fn lies_are_rejected_and_counted() {
    let o = outcome("byz-register-byzantine", 1, &[]);
    assert!(o.summary.passed, "{:?}", failures(&o));
    let forged = o
        .summary
        .counters
        .get("byzantine_forged")
        .copied()
        .unwrap_or(0);
    let equivocated = o
        .summary
        .counters
        .get("byzantine_equivocated")
        .copied()
        .unwrap_or(0);
    assert!(forged > 0 && equivocated > 0, "{:?}", o.summary.counters);
}

#[test]
fn f_plus_one_liars_break_the_register_and_f_do_not() {
    for seed in 1..=20 {
        assert_eq!(
            failed_checks("byz-register-f-plus-one", seed, &[]),
            ["linearizability"],
            "seed {seed}"
        );
        let with_f = failed_checks("byz-register-f-plus-one", seed, &[ONE_LIAR]);
        assert!(with_f.is_empty(), "seed {seed} with f: {with_f:?}");
    }
}

/// Drawn liars (f+1 of them at once at most) on a lossy network, where a
/// lost store leaves an honest replica behind: the generator finds the
/// violation; with at most f, the same network stays safe.
#[test]
fn drawn_f_plus_one_liars_break_linearizability_and_f_do_not() {
    let lossy = ["network.loss=0.05"];
    let f_plus_one = [
        "network.loss=0.05",
        "faults.generator.max_faulty=2",
        "faults.generator.byzantine_behaviors=[\"forge\"]",
        "faults.generator.rates={ byzantine = 8.0 }",
        "faults.generator.min_duration_ms=400",
        "faults.generator.max_duration_ms=700",
    ];
    let found = first_failure("byz-register-swarm", 200, &f_plus_one);
    let (seed, failed) = found.expect("f+1 drawn liars break the register within 200 seeds");
    assert!(
        failed.contains(&"linearizability".to_string()),
        "seed {seed}: {failed:?}"
    );
    for seed in 0..200 {
        let o = outcome("byz-register-swarm", seed, &lossy);
        assert!(o.summary.passed, "seed {seed}: {:?}", failures(&o));
    }
}

#[test]
fn each_known_bug_is_caught_and_passes_without_it() {
    for (name, check) in [
        ("byz-register-bug-small-quorums", "linearizability"),
        ("byz-register-bug-no-signature-check", "linearizability"),
    ] {
        for seed in 1..=10 {
            let failed = failed_checks(name, seed, &[]);
            assert!(
                failed.contains(&check.to_string()),
                "{name} seed {seed}: {failed:?}"
            );
            let fixed = failed_checks(name, seed, &["bugs=[]"]);
            assert!(
                fixed.is_empty(),
                "{name} seed {seed} without the bug: {fixed:?}"
            );
        }
    }
}

#[test]
fn too_few_replicas_and_options_are_refused_with_their_field() {
    for (set, field) in [("replicas=3", "replicas"), ("options.f=1", "options.f")] {
        let e = scenarios::catalogue::resolve("byz-register-healthy", &[set.to_string()])
            .expect_err(set);
        assert!(e.to_string().contains(field), "{set}: {e}");
    }
}
