//! `clustersim shrink`: a failing run shrunk to the faults that matter,
//! written as a run that replays; `run --faults` replays a schedule.

mod common;
use common::*;

use serde_json::Value;

#[test]
fn a_failing_run_shrinks_to_fewer_faults_that_still_fail_and_replay() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let d = dir.to_str().unwrap();
    let out = clustersim(&["run", "register-bug-no-sync", "--seed", "1", "--out", d]);
    assert_eq!(out.status.code(), Some(1), "the bug is caught at seed 1");
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
