//! `clustersim shrink`: a failing run shrunk to the faults that matter,
//! written as a run that replays; `run --faults` replays a schedule.

use crate::common;
use common::*;

use serde_json::Value;
use std::path::{Path, PathBuf};

/// Records `register-bug-no-sync` at `seed` into `TMP/run`, asserting that
/// the bug is caught there: the failing run every shrink test starts from.
fn failing_run(tmp: &Path, seed: u64) -> PathBuf {
    let dir = tmp.join("run");
    let seed_arg = seed.to_string();
    let out = clustersim(&[
        "run",
        "register-bug-no-sync",
        "--seed",
        &seed_arg,
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 1, "the bug is caught at seed {seed}");
    dir
}

#[test]
fn a_failing_run_shrinks_to_fewer_faults_that_still_fail_and_replay() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = failing_run(tmp.path(), 1);
    let d = dir.to_str().unwrap();
    let before = summary(&dir)["faults_applied"].as_array().unwrap().len();

    let out = clustersim(&["shrink", d]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shrunk = dir.join("shrunk");
    let s = summary(&shrunk);
    let after = s["faults_applied"].as_array().unwrap().len();
    assert!(after < before, "{before} faults -> {after}");
    assert!(
        after >= 1,
        "power losses are needed to lose an acknowledged write"
    );
    assert_eq!(s["passed"], false);
    let lin = s["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["check"] == "linearizability")
        .unwrap();
    assert_eq!(lin["result"], "fail", "fails the same check");
    // The shrunk run is a run: it replays bit for bit.
    let replay = clustersim(&["replay", shrunk.to_str().unwrap()]);
    assert_eq!(replay.status.code(), Some(0));

    // Its faults.json, given to `run --faults`, reproduces it too.
    let faults = shrunk.join("faults.json");
    let again = tmp.path().join("again");
    let out = clustersim(&[
        "run",
        "register-bug-no-sync",
        "--seed",
        "1",
        "--faults",
        faults.to_str().unwrap(),
        "--set",
        &format!("duration={}", toml_string(&s["scenario"]["duration"])),
        "--set",
        &format!("workload.clients={}", s["scenario"]["workload"]["clients"]),
        "--out",
        again.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(summary(&again)["fingerprint"], s["fingerprint"]);
}

fn toml_string(v: &Value) -> String {
    format!("\"{}\"", v.as_str().unwrap())
}

#[test]
fn a_passing_run_has_nothing_to_shrink() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().to_str().unwrap();
    clustersim(&[
        "run",
        "register-healthy",
        "--seed",
        "1",
        "--out",
        d,
        "--set",
        "duration=\"500ms\"",
    ]);
    let out = clustersim(&["shrink", d]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing to shrink"));
}

#[test]
fn a_bad_faults_file_exits_2_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("faults.json");
    std::fs::write(
        &file,
        "{\"schedule\": [{\"at_ms\": 1, \"kind\": \"crash\", \"node\": 99}]}",
    )
    .unwrap();
    let out = clustersim(&[
        "run",
        "register-healthy",
        "--faults",
        file.to_str().unwrap(),
        "--out",
        tmp.path().join("o").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("faults.json") && err.contains("faults.schedule[0].node"),
        "{err}"
    );
}

/// The README's loop: a known bug's run, shrunk to a scenario file whose
/// traced run fails the same check and ends just after the failure shows.
#[test]
fn the_shrunk_scenario_file_runs_traced_to_the_same_failure_just_past_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = failing_run(tmp.path(), 1);
    let d = dir.to_str().unwrap();
    let out = clustersim(&["shrink", d]);
    assert_eq!(code(&out), 1, "{}", text(&out.stderr));
    let file = dir.join("shrunk").join("shrunk.toml");
    assert!(text(&out.stdout).contains("shrunk.toml"));

    // The file alone (its seed is in it) replays the shrunk run, traced.
    let traced = tmp.path().join("traced");
    let out = clustersim(&[
        "run",
        file.to_str().unwrap(),
        "--trace",
        "--out",
        traced.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 1, "{}", text(&out.stderr));
    let s = summary(&traced);
    assert_eq!(
        s["fingerprint"],
        summary(&dir.join("shrunk"))["fingerprint"]
    );
    let lin = s["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["check"] == "linearizability")
        .unwrap();
    assert_eq!(lin["result"], "fail", "fails the same check");
    let shows_at = lin["time"].as_u64().expect("the verdict says when");
    let duration =
        sim_core::time::duration::parse(s["scenario"]["duration"].as_str().unwrap()).unwrap();
    let margin = scenarios::shrink::DURATION_MARGIN;
    assert!(
        shows_at < duration && duration <= shows_at + margin,
        "failure at {shows_at} ns, run of {duration} ns"
    );
    let original = summary(&dir)["virtual_time_ns"].as_u64().unwrap();
    assert!(duration < original, "{duration} ns vs {original} ns");
    let clients = |s: &Value| {
        let w = &s["scenario"]["workload"];
        let idle = w["idle_clients"].as_array().map_or(0, |a| a.len() as u64);
        w["clients"].as_u64().unwrap() - idle
    };
    assert!(clients(&s) < clients(&summary(&dir)), "fewer clients run");
    // The trace holds the run, up to its end.
    let trace = std::fs::read_to_string(traced.join("trace.jsonl")).unwrap();
    let last: Value = serde_json::from_str(trace.lines().last().unwrap()).unwrap();
    assert!(last["t"].as_u64().unwrap() <= duration);
}

fn traced_run(dir: &std::path::Path, seed: &str) {
    let out = clustersim(&[
        "run",
        "register-healthy",
        "--seed",
        seed,
        "--set",
        "duration=\"300ms\"",
        "--trace",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
}

#[test]
fn diff_of_two_seeds_reports_their_first_differing_event() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    traced_run(&a, "1");
    traced_run(&b, "2");
    let out = clustersim(&["diff", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(code(&out), 1, "{}", text(&out.stderr));

    let read = |d: &std::path::Path| std::fs::read_to_string(d.join("trace.jsonl")).unwrap();
    let (ta, tb) = (read(&a), read(&b));
    let (first, (la, lb)) = ta
        .lines()
        .zip(tb.lines())
        .enumerate()
        .find(|(_, (x, y))| x != y)
        .expect("two seeds part ways");
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!("part ways at event {} ", first + 1)),
        "{stdout}"
    );
    assert!(stdout.contains(la) && stdout.contains(lb), "{stdout}");
}

#[test]
fn diff_of_a_run_and_its_replay_reports_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    traced_run(&a, "3");
    std::fs::create_dir(&b).unwrap();
    for f in ["summary.json", "faults.json"] {
        std::fs::copy(a.join(f), b.join(f)).unwrap();
    }
    let out = clustersim(&["replay", b.to_str().unwrap(), "--trace"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let out = clustersim(&["diff", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("traces identical"));
}

#[test]
fn diff_without_a_trace_exits_2_saying_how_to_record_one() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    traced_run(&a, "1");
    let plain = tmp.path().join("plain");
    let out = clustersim(&[
        "run",
        "register-healthy",
        "--set",
        "duration=\"100ms\"",
        "--out",
        plain.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 0);
    let out = clustersim(&["diff", a.to_str().unwrap(), plain.to_str().unwrap()]);
    assert_eq!(code(&out), 2);
    let err = text(&out.stderr);
    assert!(
        err.contains("trace.jsonl") && err.contains("--trace"),
        "{err}"
    );
}

/// Clients are removed by ddmin over those that run: a removed client in
/// the middle of the numbering stays idle (down from the start, never
/// invoking), and the shrunk file still replays the failure.
#[test]
fn shrink_can_idle_a_client_that_is_not_the_last() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = failing_run(tmp.path(), 3);
    let d = dir.to_str().unwrap();
    let out = clustersim(&["shrink", d]);
    assert_eq!(code(&out), 1, "{}", text(&out.stderr));
    let shrunk = summary(&dir.join("shrunk"));
    let workload = &shrunk["scenario"]["workload"];
    let idle: Vec<u64> = workload["idle_clients"]
        .as_array()
        .expect("a client before the one that matters is idle")
        .iter()
        .map(|c| c.as_u64().unwrap())
        .collect();
    let clients = workload["clients"].as_u64().unwrap();
    assert!(
        idle.iter().all(|&c| c < clients - 1),
        "{idle:?} of {clients}"
    );

    let traced = tmp.path().join("traced");
    let file = dir.join("shrunk").join("shrunk.toml");
    let t = traced.to_str().unwrap();
    let out = clustersim(&["run", file.to_str().unwrap(), "--trace", "--out", t]);
    assert_eq!(code(&out), 1, "{}", text(&out.stderr));
    assert_eq!(summary(&traced)["fingerprint"], shrunk["fingerprint"]);
    // The idle clients never invoke; the others do.
    let replicas = shrunk["scenario"]["replicas"].as_u64().unwrap();
    let trace = std::fs::read_to_string(traced.join("trace.jsonl")).unwrap();
    let invoking: std::collections::BTreeSet<u64> = trace
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["ev"] == "op")
        .map(|e| e["node"].as_u64().unwrap() - replicas)
        .collect();
    let running: std::collections::BTreeSet<u64> =
        (0..clients).filter(|c| !idle.contains(c)).collect();
    assert_eq!(invoking, running);
}
