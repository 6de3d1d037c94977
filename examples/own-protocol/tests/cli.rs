//! The binary: clustersim's command line with this protocol registered.

use std::path::PathBuf;
use std::process::{Command, Output};

fn own_clustersim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_own-clustersim"))
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
fn list_shows_this_protocol_next_to_the_built_in_ones() {
    let out = own_clustersim(&["list"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    for name in ["pb-faults", "primary-backup", "raft-healthy", "raft"] {
        assert!(text.lines().any(|l| l.starts_with(name)), "{name}: {text}");
    }
}

#[test]
fn run_replay_and_sweep_work_on_this_protocol() {
    let dir = out_dir("pb-run");
    let dir_arg = dir.to_str().unwrap();
    let run = own_clustersim(&["run", "pb-faults", "--seed", "3", "--out", dir_arg]);
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    let replay = own_clustersim(&["replay", dir_arg]);
    assert_eq!(replay.status.code(), Some(0), "{replay:?}");

    let sweep_dir = out_dir("pb-sweep");
    let sweep = own_clustersim(&[
        "sweep",
        "pb-faults",
        "--seeds",
        "0..3",
        "--jobs",
        "1",
        "--set",
        "bugs=[\"stale-reads\"]",
        "--out",
        sweep_dir.to_str().unwrap(),
    ]);
    assert_eq!(sweep.status.code(), Some(1), "the bug is caught: {sweep:?}");
}

#[test]
fn bad_input_exits_2_naming_the_field() {
    let dir = out_dir("pb-bad");
    let out = own_clustersim(&[
        "run",
        "pb-faults",
        "--set",
        "bugs=[\"typo\"]",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("field `bugs`") && err.contains("typo"),
        "{err}"
    );
}
