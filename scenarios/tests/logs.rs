//! Logs as a user meets them: `RUST_LOG` and `--log` filters on stderr,
//! lines stamped with virtual time and node, one file per node with
//! `--node-logs` (the same bytes for the same seed), linked from report.html.

use crate::common;
use common::*;

use std::path::Path;
use std::process::{Command, Output};

/// Runs `clustersim` with `RUST_LOG` set to `rust_log` (or unset).
fn clustersim_env(rust_log: Option<&str>, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_clustersim"));
    command.args(args).env_remove("RUST_LOG");
    if let Some(filter) = rust_log {
        command.env("RUST_LOG", filter);
    }
    command.output().expect("clustersim runs")
}

/// `run raft-partitions --seed 3 --out DIR` plus `extra`; exit 0 asserted.
fn raft_run(rust_log: Option<&str>, dir: &Path, extra: &[&str]) -> Output {
    let out_dir = dir.to_str().unwrap();
    let mut args = vec!["run", "raft-partitions", "--seed", "3", "--out", out_dir];
    args.extend_from_slice(extra);
    let out = clustersim_env(rust_log, &args);
    assert_eq!(code(&out), 0, "{}{}", text(&out.stdout), text(&out.stderr));
    out
}

/// `t=SECONDS.NANOS n=NODE LEVEL`: the prefix every log line starts with.
fn stamped(line: &str) -> bool {
    let Some((time, rest)) = line.strip_prefix("t=").and_then(|l| l.split_once(' ')) else {
        return false;
    };
    let time_ok = time
        .split_once('.')
        .is_some_and(|(s, ns)| s.parse::<u64>().is_ok() && ns.len() == 9);
    let node_ok = rest
        .strip_prefix("n=")
        .and_then(|r| r.split_once(' '))
        .is_some_and(|(n, _)| n == "-" || n.parse::<u32>().is_ok());
    time_ok && node_ok
}

#[test]
fn rust_log_debug_shows_raft_transitions_with_virtual_time_and_node() {
    let tmp = tempfile::tempdir().unwrap();
    let out = raft_run(Some("debug"), tmp.path(), &[]);
    let err = text(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert!(lines.len() > 100, "{err}");
    assert!(lines.iter().all(|l| stamped(l)), "{err}");
    let leader = lines
        .iter()
        .find(|l| l.contains("became leader"))
        .expect("a leader is elected");
    // e.g. `t=0.175291405 n=0  INFO protocols::raft::node: became leader term=1 ...`
    assert!(
        leader.contains(" INFO protocols::raft::node: became leader term="),
        "{leader}"
    );
    assert!(!leader.starts_with("t=0.000000000"), "{leader}");
    for event in ["election started term=", "vote granted", "commit advanced"] {
        assert!(err.contains(event), "no {event:?} in\n{err}");
    }
}

#[test]
fn filters_keep_only_what_they_name_and_the_flag_overrides_rust_log() {
    let tmp = tempfile::tempdir().unwrap();
    // The default is warn: a healthy run logs nothing.
    let quiet = raft_run(None, tmp.path(), &[]);
    assert_eq!(text(&quiet.stderr), "");
    // Another protocol's target: nothing from Raft passes.
    let other = raft_run(Some("protocols::pbft=debug"), tmp.path(), &[]);
    assert_eq!(text(&other.stderr), "");
    // Raft at info: leaders and step-downs, no debug lines.
    let info = raft_run(Some("protocols::raft=info"), tmp.path(), &[]);
    let err = text(&info.stderr);
    assert!(err.contains("became leader"), "{err}");
    assert!(!err.contains("DEBUG"), "{err}");
    // --log does the same, and wins over RUST_LOG.
    let flag = raft_run(
        Some("debug"),
        tmp.path(),
        &["--log", "protocols::raft=info"],
    );
    assert_eq!(text(&flag.stderr), err);
}

#[test]
fn a_bad_filter_is_bad_input_naming_where_it_came_from() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_str().unwrap();
    let args = ["run", "raft-partitions", "--out", dir];
    let from_env = clustersim_env(Some("protocols::raft=loud"), &args);
    assert_eq!(code(&from_env), 2);
    assert!(
        text(&from_env.stderr).starts_with("error: RUST_LOG: invalid log filter"),
        "{}",
        text(&from_env.stderr)
    );
    let mut with_flag = args.to_vec();
    with_flag.extend(["--log", "raft=loud"]);
    let from_flag = clustersim_env(None, &with_flag);
    assert_eq!(code(&from_flag), 2);
    assert!(
        text(&from_flag.stderr).starts_with("error: --log: invalid log filter"),
        "{}",
        text(&from_flag.stderr)
    );
}

/// The files of `dir/logs`, by name, with their bytes.
fn node_logs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir.join("logs"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let name = e.file_name().into_string().unwrap();
            (name, std::fs::read(e.path()).unwrap())
        })
        .collect();
    files.sort();
    files
}

#[test]
fn node_logs_are_one_file_per_node_the_same_for_the_same_seed_and_linked_from_the_report() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // --node-logs alone logs at debug; so does --log debug, whatever
    // RUST_LOG says.
    let out = raft_run(None, a.path(), &["--node-logs"]);
    raft_run(Some("error"), b.path(), &["--node-logs", "--log", "debug"]);
    // Node lines go to the files, not to stderr.
    assert_eq!(text(&out.stderr), "");
    assert!(
        text(&out.stdout).contains("node logs"),
        "{}",
        text(&out.stdout)
    );

    let logs = node_logs(a.path());
    let names: Vec<&str> = logs.iter().map(|(n, _)| n.as_str()).collect();
    // The five replicas log; the clients log nothing at debug.
    assert_eq!(names, ["n0.log", "n1.log", "n2.log", "n3.log", "n4.log"]);
    for (name, bytes) in &logs {
        let node = name.trim_start_matches('n').trim_end_matches(".log");
        let content = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            content
                .lines()
                .all(|l| stamped(l) && l.contains(&format!(" n={node} "))),
            "{name}:\n{content}"
        );
    }
    assert!(logs
        .iter()
        .any(|(_, b)| String::from_utf8_lossy(b).contains("became leader")));
    assert_eq!(logs, node_logs(b.path()), "same seed, same node logs");

    let report = std::fs::read_to_string(a.path().join("report.html")).unwrap();
    assert!(report.contains("<h2>Node logs</h2>"), "{report}");
    for name in names {
        assert!(
            report.contains(&format!("href=\"logs/{name}\"")),
            "{report}"
        );
    }

    // A replay keeps the same logs; a run without --node-logs removes them.
    let dir = a.path().to_str().unwrap();
    let replay = clustersim_env(None, &["replay", dir, "--node-logs"]);
    assert_eq!(code(&replay), 0, "{}", text(&replay.stderr));
    assert_eq!(logs, node_logs(a.path()), "a replay logs the same bytes");
    raft_run(None, a.path(), &[]);
    assert!(!a.path().join("logs").exists());
    let report = std::fs::read_to_string(a.path().join("report.html")).unwrap();
    assert!(!report.contains("Node logs"));
}

#[test]
fn every_protocol_logs_its_transitions_at_debug() {
    let cases: [(&str, &[&str]); 5] = [
        (
            "pbft-primary-crash",
            &[
                "view change started",
                "entered view",
                "prepared",
                "committed",
            ],
        ),
        (
            "redlock-client-pauses",
            &[
                "lock granted",
                "lock acquired",
                "lock released",
                "lock expired",
            ],
        ),
        ("crdt-partitions", &["merged gossip"]),
        (
            "register-healthy",
            &["quorum read", "quorum write", "stored newer value"],
        ),
        ("raft-partitions", &["log truncated", "stepped down"]),
    ];
    let tmp = tempfile::tempdir().unwrap();
    for (scenario, events) in cases {
        let dir = tmp.path().join(scenario);
        let args = [
            "run",
            scenario,
            "--seed",
            "3",
            "--out",
            dir.to_str().unwrap(),
        ];
        let out = clustersim_env(Some("protocols=debug"), &args);
        let err = text(&out.stderr);
        for event in events {
            assert!(err.contains(event), "{scenario}: no {event:?} in\n{err}");
        }
    }
}
