//! Signed Byzantine agreement: agreement, validity and decisions after
//! healing with up to f Byzantine replicas, named or drawn, for n = 4, 7
//! and 10; f+1 colluding equivocators split the honest replicas (the bound
//! is tight); the seed's one-phase design and a missing validity check are
//! caught, and the same runs pass without them.

use crate::seeds;
use seeds::*;

const SIZES: [u32; 3] = [4, 7, 10];

fn f(n: u32) -> u32 {
    (n - 1) / 3
}

#[test]
fn healthy_and_byzantine_runs_pass_over_200_seeds() {
    for name in ["byz-agreement-healthy", "byz-agreement-byzantine"] {
        for seed in 0..200 {
            let o = outcome(name, seed, &[]);
            assert!(o.summary.passed, "{name} seed {seed}: {:?}", failures(&o));
            let decided = o.summary.stats.get("byz_agreement.decided").copied();
            assert!(
                decided.unwrap_or(0.0) >= 20.0,
                "{name} seed {seed}: {decided:?}"
            );
        }
    }
}

#[test]
fn drawn_byzantine_replicas_up_to_f_break_nothing() {
    for n in SIZES {
        let replicas = format!("replicas={n}");
        let mut byzantine_runs = 0;
        for seed in 0..200 {
            let o = outcome("byz-agreement-swarm", seed, &[&replicas]);
            assert!(o.summary.passed, "n {n} seed {seed}: {:?}", failures(&o));
            byzantine_runs += usize::from(
                o.summary
                    .faults_applied
                    .iter()
                    .any(|a| a.kind == "byzantine"),
            );
        }
        assert!(byzantine_runs > 50, "n {n}: {byzantine_runs}");
    }
}

#[test]
fn drawn_f_plus_one_equivocators_break_agreement() {
    for n in SIZES {
        let sets = [
            format!("replicas={n}"),
            format!("faults.generator.max_faulty={}", f(n) + 1),
            "faults.generator.byzantine_behaviors=[\"equivocate\"]".to_string(),
            "faults.generator.rates={ byzantine = 8.0 }".to_string(),
            "faults.generator.min_duration_ms=400".to_string(),
            "faults.generator.max_duration_ms=700".to_string(),
        ];
        let sets: Vec<&str> = sets.iter().map(String::as_str).collect();
        let (seed, failed) = first_failure("byz-agreement-swarm", 200, &sets)
            .unwrap_or_else(|| panic!("n {n}: no violation in 200 seeds"));
        assert!(
            failed.contains(&"agreement".to_string()),
            "n {n} seed {seed}: {failed:?}"
        );
    }
}

#[test]
fn f_plus_one_named_equivocators_break_agreement_and_f_do_not() {
    let one = r#"faults.schedule=[{ at_ms = 100, kind = "byzantine", node = 0, behavior = { kind = "equivocate", peers = [3] } }]"#;
    for seed in 1..=20 {
        assert_eq!(
            failed_checks("byz-agreement-f-plus-one", seed, &[]),
            ["agreement"],
            "seed {seed}"
        );
        let with_f = failed_checks("byz-agreement-f-plus-one", seed, &[one]);
        assert!(with_f.is_empty(), "seed {seed} with f: {with_f:?}");
    }
}

#[test]
fn each_known_bug_is_caught_and_passes_without_it() {
    for (name, check) in [
        ("byz-agreement-bug-one-phase", "agreement"),
        ("byz-agreement-bug-no-validity-check", "validity"),
    ] {
        for seed in 1..=20 {
            let failed = failed_checks(name, seed, &[]);
            assert_eq!(failed, [check], "{name} seed {seed}");
            let fixed = failed_checks(name, seed, &["bugs=[]"]);
            assert!(
                fixed.is_empty(),
                "{name} seed {seed} without the bug: {fixed:?}"
            );
        }
    }
}

#[test]
fn a_silent_proposer_costs_a_round_change_not_termination() {
    let mute = r#"faults.schedule=[{ at_ms = 0, kind = "byzantine", node = 1, behavior = { kind = "mute" } }]"#;
    let o = outcome("byz-agreement-healthy", 1, &[mute]);
    assert!(o.summary.passed, "{:?}", failures(&o));
    let changes = o.summary.stats.get("byz_agreement.round_changes").copied();
    assert!(changes.unwrap_or(0.0) > 0.0, "{:?}", o.summary.stats);
    let decided = o.summary.stats.get("byz_agreement.decided").copied();
    assert!(decided.unwrap_or(0.0) >= 20.0, "{decided:?}");
}

#[test]
fn bad_sizes_and_options_are_refused_with_their_field() {
    for (set, field) in [
        ("replicas=5", "replicas"),
        ("options.round_timeout=\"0ms\"", "options.round_timeout"),
        ("options.rounds=3", "options"),
    ] {
        let e = scenarios::catalogue::resolve("byz-agreement-healthy", &[set.to_string()])
            .expect_err(set);
        assert!(e.to_string().contains(field), "{set}: {e}");
    }
}
