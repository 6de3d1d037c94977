//! The binary: clustersim's command line with raft-rs registered, and a run
//! that replays to the same fingerprint through it.

use std::path::PathBuf;
use std::process::{Command, Output};

fn raftrs_clustersim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_raftrs-clustersim"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn out_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn list_shows_raft_rs_next_to_the_built_in_protocols() {
    let out = raftrs_clustersim(&["list"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    for name in ["raftrs-partitions", "raftrs-crashes", "raft-rs", "raft"] {
        assert!(text.lines().any(|l| l.starts_with(name)), "{name}: {text}");
    }
}

#[test]
fn a_run_replays_and_a_caught_bug_exits_1() {
    let dir = out_dir("raftrs-run");
    let dir_arg = dir.to_str().unwrap();
    let run = raftrs_clustersim(&["run", "raftrs-partitions", "--seed", "3", "--out", dir_arg]);
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    let replay = raftrs_clustersim(&["replay", dir_arg]);
    assert_eq!(replay.status.code(), Some(0), "{replay:?}");

    let bug_dir = out_dir("raftrs-no-sync");
    let bug = raftrs_clustersim(&[
        "sweep",
        "raftrs-crashes",
        "--seeds",
        "0..10",
        "--jobs",
        "1",
        "--set",
        "bugs=[\"no-sync\"]",
        "--out",
        bug_dir.to_str().unwrap(),
    ]);
    assert_eq!(bug.status.code(), Some(1), "the bug is caught: {bug:?}");
    // A failing seed's replay command names this binary, not `clustersim`,
    // so that it can be pasted as it is.
    let failures = std::fs::read_to_string(bug_dir.join("sweep-summary.json")).unwrap();
    assert!(
        failures.contains("raftrs-clustersim run raftrs-crashes --seed"),
        "{failures}"
    );
}
