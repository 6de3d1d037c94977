//! Sweeps on a batch scheduler: shards run as separate processes that learn
//! their shard from the scheduler's variables (a Kubernetes Indexed Job, a
//! Slurm job array), then `clustersim merge` makes them one sweep directory,
//! byte for byte the unsharded sweep's; shards that do not make one sweep
//! are refused, naming the directory.

use crate::common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Keeps each seed's run short: the sharding is what is under test.
const SHORT: &str = "duration=\"1s\"";
const SEEDS: &str = "0..40";

/// Every variable a scheduler may set, cleared so that the test means the
/// same thing when it runs inside a Kubernetes pod or a Slurm job.
const SCHEDULER_VARIABLES: [&str; 5] = [
    "JOB_COMPLETION_INDEX",
    "SLURM_ARRAY_TASK_ID",
    "SLURM_ARRAY_TASK_COUNT",
    "SLURM_ARRAY_TASK_MIN",
    "SLURM_ARRAY_TASK_STEP",
];

/// Runs `clustersim ARGS` with exactly the scheduler variables `env`.
fn clustersim_with(env: &[(&str, String)], args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_clustersim"));
    for var in SCHEDULER_VARIABLES {
        command.env_remove(var);
    }
    command
        .envs(env.iter().map(|(k, v)| (k, v)))
        .args(args)
        .output()
        .expect("clustersim runs")
}

fn sweep(env: &[(&str, String)], scenario: &str, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "sweep",
        scenario,
        "--seeds",
        SEEDS,
        "--set",
        SHORT,
        "--jobs",
        "1",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    clustersim_with(env, &args)
}

fn merge(shards: &[&Path], out: &Path) -> Output {
    let mut args = vec!["merge"];
    args.extend(shards.iter().map(|d| d.to_str().unwrap()));
    args.extend(["--out", out.to_str().unwrap()]);
    clustersim_with(&[], &args)
}

/// The files of a directory, by name, with their bytes.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// Asserts that `merged` holds the files of `whole`, byte for byte, but
/// for the timings of the unsharded run (which no merge can reproduce).
fn assert_same_sweep(merged: &Path, whole: &Path) {
    let whole_files: Vec<(String, Vec<u8>)> = files(whole)
        .into_iter()
        .filter(|(name, _)| name != "sweep-timing.json")
        .collect();
    let merged_files = files(merged);
    let names = |f: &[(String, Vec<u8>)]| f.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&merged_files), names(&whole_files));
    for name in ["sweep.jsonl", "sweep-summary.json", "report.html"] {
        assert!(
            merged_files.iter().any(|(n, _)| n == name),
            "{name} missing"
        );
    }
    for ((name, merged), (_, whole)) in merged_files.iter().zip(&whole_files) {
        assert!(
            merged == whole,
            "{name} of the merge differs from the sweep's"
        );
    }
}

#[test]
fn kubernetes_and_slurm_shards_merge_into_the_unsharded_sweep_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = |name: &str| tmp.path().join(name);

    // A Kubernetes Indexed Job of 3 completions over a passing scenario.
    let healthy = "register-healthy";
    let whole = sweep(&[], healthy, &dir("whole"), &[]);
    assert_eq!(code(&whole), 0, "{}", text(&whole.stderr));
    let pods: Vec<PathBuf> = (0..3).map(|k| dir(&format!("pod{k}"))).collect();
    for (k, pod) in pods.iter().enumerate() {
        let env = [("JOB_COMPLETION_INDEX", k.to_string())];
        let out = sweep(&env, healthy, pod, &["--shard", "auto/3"]);
        assert_eq!(code(&out), 0, "{}", text(&out.stderr));
        let shard = std::fs::read_to_string(pod.join("sweep-summary.json")).unwrap();
        assert!(shard.contains(&format!("\"shard\": \"{k}/3\"")), "{shard}");
    }
    let pod_dirs: Vec<&Path> = pods.iter().map(PathBuf::as_path).collect();
    let merged = merge(&pod_dirs, &dir("merged-k8s"));
    assert_eq!(code(&merged), 0, "{}", text(&merged.stderr));
    assert!(text(&merged.stdout).contains("40 run: 40 passed"));
    assert_same_sweep(&dir("merged-k8s"), &dir("whole"));

    // A Slurm job array `--array=1-4` over a scenario with a known bug: the
    // failing seeds, their counts and replay commands merge too (exit 1).
    let buggy = "register-bug-no-write-back";
    let whole = sweep(&[], buggy, &dir("whole-bug"), &[]);
    assert_eq!(code(&whole), 1, "{}", text(&whole.stderr));
    let tasks: Vec<PathBuf> = (1..=4).map(|id| dir(&format!("task{id}"))).collect();
    for (id, task) in (1..=4).zip(&tasks) {
        let env = [
            ("SLURM_ARRAY_TASK_ID", id.to_string()),
            ("SLURM_ARRAY_TASK_MIN", "1".to_string()),
            ("SLURM_ARRAY_TASK_COUNT", "4".to_string()),
        ];
        let out = sweep(&env, buggy, task, &["--shard", "auto"]);
        assert!(code(&out) <= 1, "{}", text(&out.stderr));
    }
    // Given in any order.
    let task_dirs: Vec<&Path> = tasks.iter().rev().map(PathBuf::as_path).collect();
    let merged = merge(&task_dirs, &dir("merged-slurm"));
    assert_eq!(code(&merged), 1, "{}", text(&merged.stderr));
    let summary = std::fs::read_to_string(dir("merged-slurm").join("sweep-summary.json")).unwrap();
    assert!(summary.contains("\"replay\""), "no failing seed: {summary}");
    assert_same_sweep(&dir("merged-slurm"), &dir("whole-bug"));

    // Shards that do not make one sweep are refused, naming a directory.
    let refused = |shards: &[&Path], out: &str, names: &str| {
        let o = merge(shards, &dir(out));
        let err = text(&o.stderr);
        assert_eq!(code(&o), 2, "{names}: {err}");
        assert!(err.contains(names), "expected {names} in: {err}");
    };
    let (p0, p1, p2) = (pods[0].as_path(), pods[1].as_path(), pods[2].as_path());
    let pod2 = p2.to_str().unwrap();
    refused(&[p0, p1], "m1", "shard 2/3 is missing");
    refused(&[p0, p1, p2, p2], "m2", pod2);
    refused(
        &[p0, p1, tasks[2].as_path()],
        "m3",
        tasks[2].to_str().unwrap(),
    );
    refused(&[p0, p1, p2], "pod2", "overwrite");
    refused(&[p0, p1, p2], "pod1", "overwrite");
    // A shard of other seeds.
    let other_dir = dir("other");
    let other = clustersim_with(
        &[],
        &[
            "sweep",
            healthy,
            "--seeds",
            "0..41",
            "--shard",
            "2/3",
            "--set",
            SHORT,
            "--out",
            other_dir.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&other), 0, "{}", text(&other.stderr));
    refused(
        &[p0, p1, &dir("other")],
        "m4",
        dir("other").to_str().unwrap(),
    );
    // A shard that stopped half-way (its last line lost).
    let cut = dir("cut");
    std::fs::create_dir(&cut).unwrap();
    for (name, bytes) in files(p2) {
        std::fs::write(cut.join(name), bytes).unwrap();
    }
    let jsonl = std::fs::read_to_string(cut.join("sweep.jsonl")).unwrap();
    let kept: Vec<&str> = jsonl.lines().collect();
    let kept = kept[..kept.len() - 1].join("\n") + "\n";
    std::fs::write(cut.join("sweep.jsonl"), kept).unwrap();
    refused(&[p0, p1, &cut], "m5", "did not finish");
    refused(&[p0, p1, &cut], "m6", cut.to_str().unwrap());
}

/// Variables set, the `--shard` given, what the error must name.
type ShardCase<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);

#[test]
fn bad_scheduler_variables_exit_2_naming_the_variable() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: [ShardCase; 6] = [
        (&[], "auto", "JOB_COMPLETION_INDEX"),
        (
            &[("JOB_COMPLETION_INDEX", "x")],
            "auto/3",
            "JOB_COMPLETION_INDEX=`x`",
        ),
        (
            &[("JOB_COMPLETION_INDEX", "3")],
            "auto/3",
            "JOB_COMPLETION_INDEX",
        ),
        (&[("JOB_COMPLETION_INDEX", "0")], "auto", "auto/N"),
        (
            &[("SLURM_ARRAY_TASK_ID", "0")],
            "auto",
            "SLURM_ARRAY_TASK_COUNT",
        ),
        (
            &[
                ("SLURM_ARRAY_TASK_ID", "0"),
                ("SLURM_ARRAY_TASK_COUNT", "-1"),
            ],
            "auto",
            "SLURM_ARRAY_TASK_COUNT=`-1`",
        ),
    ];
    for (vars, shard, names) in cases {
        let env: Vec<(&str, String)> = vars.iter().map(|(k, v)| (*k, v.to_string())).collect();
        let out = sweep(
            &env,
            "register-healthy",
            &tmp.path().join("s"),
            &["--shard", shard],
        );
        let err = text(&out.stderr);
        assert_eq!(code(&out), 2, "{vars:?} {shard}: {err}");
        assert!(err.contains(names), "{vars:?} {shard}: {err}");
    }
}
