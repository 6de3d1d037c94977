//! `clustersim sweep`: many seeds in parallel, results as JSON lines that do
//! not depend on the number of threads, shards that add up to the whole,
//! failing seeds listed with the command that replays them, and a panicking
//! runner recorded as a failure of its seed while the sweep goes on.

use crate::common;
use common::*;

use std::path::Path;
use std::process::Output;

use scenarios::sweep::{self, SeedRange, Shard, SweepPlan, RUNNER_PANIC};
use serde_json::Value;

/// Keeps each seed's run short: the sweep is what is under test.
const SHORT: &str = "duration=\"1s\"";

fn sweep_to(dir: &Path, scenario: &str, seeds: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "sweep",
        scenario,
        "--seeds",
        seeds,
        "--out",
        dir.to_str().unwrap(),
        "--set",
        SHORT,
    ];
    args.extend_from_slice(extra);
    clustersim(&args)
}

fn sorted_lines(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("sweep.jsonl")).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines.sort_by_key(|l| seed_of(l));
    lines
}

fn seed_of(line: &str) -> u64 {
    let v: Value = serde_json::from_str(line).unwrap();
    v["seed"].as_u64().unwrap()
}

fn sweep_summary(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("sweep-summary.json")).unwrap()).unwrap()
}

#[test]
fn two_hundred_seeds_give_the_same_lines_at_1_and_2_jobs_and_shards_add_up() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = |name: &str| tmp.path().join(name);
    let scenario = "register-healthy";

    let one = sweep_to(&dir("one"), scenario, "0..200", &["--jobs", "1"]);
    assert_eq!(code(&one), 0, "{}{}", text(&one.stdout), text(&one.stderr));
    let stdout = text(&one.stdout);
    assert!(stdout.contains("200 run: 200 passed, 0 failed"), "{stdout}");
    assert!(stdout.contains("seeds/s"), "{stdout}");

    let lines = sorted_lines(&dir("one"));
    assert_eq!(lines.len(), 200);
    let seeds: Vec<u64> = lines.iter().map(|l| seed_of(l)).collect();
    assert_eq!(seeds, (0..200).collect::<Vec<_>>());
    let first: Value = serde_json::from_str(&lines[0]).unwrap();
    for field in [
        "passed",
        "verdicts",
        "ops",
        "latency_ms",
        "throughput",
        "events",
        "messages",
        "fingerprint",
        "fault_kinds",
    ] {
        assert!(!first[field].is_null(), "no {field} in {first}");
    }
    assert!(first["ops"]["ok"].as_u64().unwrap() > 0);
    // Different seeds, different runs.
    let fingerprints: std::collections::BTreeSet<&str> = lines
        .iter()
        .map(|l| l.split("\"fingerprint\":").nth(1).unwrap())
        .collect();
    assert!(fingerprints.len() > 190, "{} distinct", fingerprints.len());

    let summary = sweep_summary(&dir("one"));
    assert_eq!(
        (summary["total"].as_u64(), summary["passed"].as_u64()),
        (Some(200), Some(200))
    );
    // Timings are kept apart, so that the summary is the same on any machine.
    assert!(summary.get("seeds_per_second").is_none(), "{summary}");
    let timing: Value = serde_json::from_str(
        &std::fs::read_to_string(dir("one").join("sweep-timing.json")).unwrap(),
    )
    .unwrap();
    assert!(
        timing["seeds_per_second"].as_f64().unwrap() > 0.0,
        "{timing}"
    );

    let two = sweep_to(&dir("two"), scenario, "0..200", &["--jobs", "2"]);
    assert_eq!(code(&two), 0, "{}", text(&two.stderr));
    assert_eq!(sorted_lines(&dir("two")), lines, "2 jobs differ from 1");

    let mut shards = Vec::new();
    for shard in ["0/2", "1/2"] {
        let name = format!("shard{}", &shard[..1]);
        let out = sweep_to(&dir(&name), scenario, "0..200", &["--shard", shard]);
        assert_eq!(code(&out), 0, "{}", text(&out.stderr));
        let part = sorted_lines(&dir(&name));
        assert_eq!(part.len(), 100);
        let k: u64 = shard[..1].parse().unwrap();
        assert!(part.iter().all(|l| seed_of(l) % 2 == k), "shard {shard}");
        shards.extend(part);
    }
    shards.sort_by_key(|l| seed_of(l));
    assert_eq!(
        shards, lines,
        "shards 0/2 and 1/2 together differ from the whole"
    );

    // The sweep's own report.
    for file in [
        "report.html",
        "violations.png",
        "violations.svg",
        "histogram.png",
        "histogram.svg",
    ] {
        assert!(dir("one").join(file).is_file(), "no {file}");
    }
}

#[test]
fn failing_seeds_are_listed_with_a_command_that_replays_them() {
    let tmp = tempfile::tempdir().unwrap();
    let out = sweep_to(
        tmp.path(),
        "register-bug-no-write-back",
        "1..=12",
        &["--jobs", "2"],
    );
    assert_eq!(code(&out), 1, "{}{}", text(&out.stdout), text(&out.stderr));
    let summary = sweep_summary(tmp.path());
    let failing = summary["failing"].as_array().unwrap();
    assert!(
        !failing.is_empty(),
        "the known bug is caught within 12 seeds"
    );
    assert_eq!(
        summary["failed"].as_u64().unwrap() + summary["passed"].as_u64().unwrap(),
        12
    );
    assert_eq!(
        summary["violations_by_check"]["linearizability"],
        failing.len()
    );
    let first = &failing[0];
    let seed = first["seed"].as_u64().unwrap();
    let replay = first["replay"].as_str().unwrap();
    assert_eq!(
        replay,
        format!("clustersim run register-bug-no-write-back --seed {seed} --set '{SHORT}'")
    );
    assert!(text(&out.stdout).contains(replay), "{}", text(&out.stdout));

    // Running the replay command (as a shell would split it) fails the same
    // way, with the fingerprint the sweep recorded for that seed.
    let run_dir = tmp.path().join("replay");
    let seed_arg = seed.to_string();
    let again = clustersim(&[
        "run",
        "register-bug-no-write-back",
        "--seed",
        &seed_arg,
        "--set",
        SHORT,
        "--out",
        run_dir.to_str().unwrap(),
    ]);
    assert_eq!(code(&again), 1);
    let run: Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("summary.json")).unwrap())
            .unwrap();
    let line = sorted_lines(tmp.path())
        .into_iter()
        .find(|l| seed_of(l) == seed)
        .unwrap();
    let line: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(line["passed"], false);
    assert_eq!(line["fingerprint"], run["fingerprint"]);
}

#[test]
fn bad_ranges_shards_jobs_and_scenarios_exit_2_naming_the_flag() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: [(&str, &[&str], &str); 6] = [
        ("5..2", &[], "--seeds"),
        ("5..5", &[], "--seeds"),
        ("five..9", &[], "--seeds"),
        ("0..10", &["--shard", "3/2"], "--shard"),
        ("0..10", &["--jobs", "0"], "--jobs"),
        ("0..10", &["--set", "replicas=0"], "replicas"),
    ];
    for (seeds, extra, named) in cases {
        let out = sweep_to(tmp.path(), "register-healthy", seeds, extra);
        let err = text(&out.stderr);
        assert_eq!(code(&out), 2, "{seeds} {extra:?}: {err}");
        assert!(err.contains(named), "{seeds} {extra:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let out = sweep_to(tmp.path(), "no-such-scenario", "0..10", &[]);
    assert_eq!(code(&out), 2);
    assert!(
        text(&out.stderr).contains("register-healthy"),
        "lists the built-in ones"
    );
}

fn plan(jobs: usize) -> SweepPlan {
    SweepPlan {
        program: "clustersim".into(),
        scenario: scenarios::catalogue::resolve("register-healthy", &[SHORT.to_string()]).unwrap(),
        scenario_arg: "register-healthy".into(),
        sets: vec![SHORT.to_string()],
        seeds: SeedRange::parse("0..20").unwrap(),
        shard: None,
        jobs,
        progress: false,
    }
}

#[test]
fn a_seed_whose_runner_panics_fails_alone_and_the_sweep_goes_on() {
    let plan = plan(2);
    let mut jsonl = Vec::new();
    let outcome = sweep::sweep_with(&plan, Some(&mut jsonl), |seed| {
        assert!(seed != 13, "checker blew up on seed {seed}");
        scenarios::runner::run(&plan.scenario, seed, &Default::default())
    })
    .unwrap();
    assert_eq!(outcome.total, 20);
    let failed: Vec<_> = outcome.failed().collect();
    assert_eq!(failed.len(), 1);
    let finding = failed[0].finding.as_ref().unwrap();
    assert_eq!((failed[0].seed, finding.kind.as_str()), (13, RUNNER_PANIC));
    assert!(
        finding.message.contains("checker blew up on seed 13"),
        "{finding:?}"
    );
    assert_eq!((outcome.passed, outcome.failed), (19, 1));
    // The JSON lines are in seed order, the broken seed among them.
    let text = String::from_utf8(jsonl).unwrap();
    let seeds: Vec<u64> = text.lines().map(seed_of).collect();
    assert_eq!(seeds, (0..20).collect::<Vec<_>>());
    let summary = sweep::SweepSummary::of(&plan, &outcome);
    assert_eq!(summary.failing[0].failed, [RUNNER_PANIC]);
    assert_eq!(
        summary.failing[0].replay,
        format!("clustersim run register-healthy --seed 13 --set '{SHORT}'")
    );
}

#[test]
fn the_jsonl_file_is_byte_identical_at_any_number_of_jobs() {
    let write = |jobs| {
        let mut out = Vec::new();
        sweep::sweep(&plan(jobs), Some(&mut out)).unwrap();
        out
    };
    let one = write(1);
    assert_eq!(one.iter().filter(|&&b| b == b'\n').count(), 20);
    assert_eq!(one, write(3));
}

#[test]
fn a_shard_runs_only_its_seeds() {
    let mut p = plan(1);
    p.shard = Some(Shard::parse("2/3").unwrap());
    assert_eq!(p.seeds().collect::<Vec<_>>(), [2, 5, 8, 11, 14, 17]);
    let mut jsonl = Vec::new();
    let outcome = sweep::sweep(&p, Some(&mut jsonl)).unwrap();
    let seeds: Vec<u64> = String::from_utf8(jsonl)
        .unwrap()
        .lines()
        .map(seed_of)
        .collect();
    assert_eq!(seeds, [2, 5, 8, 11, 14, 17]);
    assert_eq!(outcome.total, 6);
}

#[test]
fn the_histogram_metric_is_chosen_on_the_sweep_and_a_bad_one_is_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let out = sweep_to(
        tmp.path(),
        "register-healthy",
        "0..4",
        &["--metric", "throughput"],
    );
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let svg = std::fs::read_to_string(tmp.path().join("histogram.svg")).unwrap();
    assert!(svg.contains("throughput across 4 seeds"));
    let bad = tempfile::tempdir().unwrap();
    let out = sweep_to(
        bad.path(),
        "register-healthy",
        "0..2",
        &["--metric", "bogus"],
    );
    assert_eq!(code(&out), 2);
    assert!(
        text(&out.stderr).contains("--metric"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn no_seed_starts_more_than_the_reorder_window_past_the_last_written() {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    // Seed 0 holds back the writer until every seed the window allows has
    // started; a seed beyond the window must then wait for seed 0 to finish.
    let plan = plan(2);
    let window = plan.threads() as u64 * sweep::REORDER_WINDOW_PER_JOB;
    let started = AtomicU64::new(0);
    let first_done = AtomicBool::new(false);
    let mut jsonl = Vec::new();
    let outcome = sweep::sweep_with(&plan, Some(&mut jsonl), |seed| {
        started.fetch_add(1, Ordering::SeqCst);
        if seed == 0 {
            while started.load(Ordering::SeqCst) < window {
                std::thread::yield_now();
            }
            // Time for the other thread to run ahead, were it allowed to (a
            // grace period: this asserts no speed, and cannot fail wrongly).
            std::thread::sleep(std::time::Duration::from_millis(50));
            assert_eq!(
                started.load(Ordering::SeqCst),
                window,
                "ran past the window"
            );
            first_done.store(true, Ordering::SeqCst);
        } else if seed >= window {
            assert!(
                first_done.load(Ordering::SeqCst),
                "seed {seed} started while seed 0 was still running"
            );
        }
        scenarios::runner::run(&plan.scenario, seed, &Default::default())
    })
    .unwrap();
    assert_eq!((outcome.total, outcome.passed), (20, 20));
    let written = String::from_utf8(jsonl).unwrap();
    let seeds: Vec<u64> = written.lines().map(seed_of).collect();
    assert_eq!(seeds, (0..20).collect::<Vec<_>>());
}

/// A seed in which no check failed but one could not judge is counted
/// `unknown`, not passed: in the printed line, per check, and in
/// `sweep-summary.json`. As with `run`, unknown alone exits 0. The shards of
/// such a sweep still merge (a line's `passed` counts an unknown seed).
#[test]
fn unknown_seeds_are_counted_apart_from_passed_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let budget = ["--set", "checks.linearizability_budget=1"];
    let out = sweep_to(tmp.path(), "register-healthy", "0..4", &budget);
    let stdout = text(&out.stdout);
    assert_eq!(code(&out), 0, "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("4 run: 0 passed, 0 failed, 4 unknown"),
        "{stdout}"
    );
    assert!(
        stdout.contains("unknown      4 x linearizability"),
        "{stdout}"
    );
    let summary = sweep_summary(tmp.path());
    assert_eq!(summary["unknown"], 4, "{summary}");
    assert_eq!(summary["passed"], 0, "{summary}");
    assert_eq!(summary["unknown_by_check"]["linearizability"], 4);

    let shard = |k: &str| {
        let dir = tmp.path().join(format!("shard{k}"));
        let mut extra = vec!["--shard", k];
        extra.extend_from_slice(&budget);
        let out = sweep_to(&dir, "register-healthy", "0..4", &extra);
        assert_eq!(code(&out), 0, "{}", text(&out.stderr));
        dir.to_str().unwrap().to_string()
    };
    let (a, b) = (shard("0/2"), shard("1/2"));
    let merged = tmp.path().join("merged");
    let out = clustersim(&["merge", &a, &b, "--out", merged.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert_eq!(sweep_summary(&merged)["unknown"], 4);
}
