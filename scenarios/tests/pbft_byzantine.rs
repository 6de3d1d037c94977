//! Byzantine faults in PBFT, drawn by the generator or named: with at most f
//! Byzantine replicas at once nothing breaks, and f+1 colluding ones split
//! the honest replicas (the bound is tight), for n = 4, 7 and 10.

use crate::seeds;
use seeds::*;

use fault_injection::Fault;
use scenarios::runner::RunOutcome;

const SIZES: [u32; 3] = [4, 7, 10];

fn f(n: u32) -> u32 {
    (n - 1) / 3
}

/// Kinds of fault that make a replica faulty while they last.
const FAULTY: [&str; 4] = ["byzantine", "crash", "pause", "isolate"];

/// The most replicas some fault made faulty at one time.
fn most_faulty_at_once(o: &RunOutcome) -> usize {
    let applied = &o.summary.faults_applied;
    let in_force = |t: u64| {
        let mut nodes: Vec<u32> = applied
            .iter()
            .filter(|a| FAULTY.contains(&a.kind.as_str()))
            .filter(|a| a.start <= t && a.end.is_none_or(|e| e > t))
            .flat_map(|a| a.nodes.iter().copied())
            .collect();
        nodes.sort_unstable();
        nodes.dedup();
        nodes.len()
    };
    applied.iter().map(|a| in_force(a.start)).max().unwrap_or(0)
}

#[test]
fn drawn_byzantine_replicas_up_to_f_break_nothing() {
    for n in SIZES {
        let replicas = format!("replicas={n}");
        let mut byzantine_runs = 0;
        for seed in 0..200 {
            let o = outcome("pbft-byzantine-swarm", seed, &[&replicas]);
            assert!(o.summary.passed, "n {n} seed {seed}: {:?}", failures(&o));
            let most = most_faulty_at_once(&o);
            assert!(
                most <= f(n) as usize,
                "n {n} seed {seed}: {most} faulty at once"
            );
            byzantine_runs += usize::from(
                o.summary
                    .faults_applied
                    .iter()
                    .any(|a| a.kind == "byzantine"),
            );
        }
        println!("n = {n}: 200 seeds pass, {byzantine_runs} with Byzantine replicas");
        assert!(byzantine_runs > 50, "n {n}: {byzantine_runs}");
    }
}

#[test]
fn drawn_f_plus_one_equivocating_replicas_break_agreement() {
    for n in SIZES {
        let sets = [
            format!("replicas={n}"),
            format!("faults.generator.max_faulty={}", f(n) + 1),
            "faults.generator.byzantine_behaviors=[\"equivocate\"]".to_string(),
            "faults.generator.rates={ byzantine = 8.0 }".to_string(),
            // Long enough for f+1 of them to overlap.
            "faults.generator.min_duration_ms=400".to_string(),
            "faults.generator.max_duration_ms=700".to_string(),
        ];
        let sets: Vec<&str> = sets.iter().map(String::as_str).collect();
        let found = (0..200).find_map(|seed| {
            let failed = failed_checks("pbft-byzantine-swarm", seed, &sets);
            (!failed.is_empty()).then_some((seed, failed))
        });
        let (seed, failed) = found.unwrap_or_else(|| panic!("n {n}: no violation in 200 seeds"));
        println!("n = {n}: f+1 drawn Byzantine replicas break {failed:?} at seed {seed}");
        assert!(
            failed.contains(&"agreement".to_string()),
            "n {n}: {failed:?}"
        );
    }
}

/// The named scenario with only its first `byzantine` colluding replicas.
fn colluding(n: u32, byzantine: u32, seed: u64) -> Vec<String> {
    let name = format!("pbft-f-plus-one-n{n}");
    let scenario = scenarios::catalogue::resolve(&name, &[]).expect("in the catalogue");
    assert_eq!(scenario.faults.schedule.len() as u32, f(n) + 1);
    let actions: Vec<String> = scenario.faults.schedule[..byzantine as usize]
        .iter()
        .map(|a| {
            let Fault::Byzantine { node: Some(node), behavior } = &a.fault else {
                panic!("{a:?}");
            };
            let peers = format!("{:?}", behavior.peers());
            format!(
                "{{ at_ms = {}, kind = \"byzantine\", node = {node}, behavior = {{ kind = \"equivocate\", peers = {peers} }} }}",
                a.at_ms
            )
        })
        .collect();
    let set = format!("faults.schedule=[{}]", actions.join(", "));
    failed_checks(&name, seed, &[&set])
}

#[test]
fn f_plus_one_colluding_replicas_split_the_honest_ones_and_f_do_not() {
    for n in SIZES {
        for seed in 1..=20 {
            assert_eq!(
                failed_checks(&format!("pbft-f-plus-one-n{n}"), seed, &[]),
                ["agreement"],
                "n {n} seed {seed}"
            );
            assert!(
                colluding(n, f(n), seed).is_empty(),
                "n {n} seed {seed} with f"
            );
        }
    }
}
