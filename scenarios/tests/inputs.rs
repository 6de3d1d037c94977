//! Inputs that used to pass without testing anything or break the tool:
//! unit-less durations, runs that invoke nothing, faults a protocol cannot
//! honour, hand-edited summaries, reused output directories, closed pipes,
//! huge `--jobs`, errors in `--set`. Each exits 2 naming what is wrong, or
//! fails the run, never passes silently or panics.

use crate::common;
use common::*;

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn run_file(dir: &Path, content: &str, extra: &[&str]) -> Output {
    let file = dir.join("scenario.toml");
    std::fs::write(&file, content).unwrap();
    let out = dir.join("out");
    let mut args = vec![
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    clustersim(&args)
}

/// Exit 2 with a message naming `field` (and `line`, when given), no panic.
fn assert_bad_input(out: &Output, field: &str, line: Option<&str>) {
    let err = text(&out.stderr);
    assert_eq!(code(out), 2, "{}{err}", text(&out.stdout));
    assert!(
        err.contains(&format!("field `{field}`")),
        "names {field}: {err}"
    );
    if let Some(line) = line {
        assert!(err.contains(line), "names line {line}: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_one_line_scenario_of_every_protocol_runs_and_passes() {
    for protocol in ["quorum-register", "raft", "crdt", "redlock", "pbft"] {
        let tmp = tempfile::tempdir().unwrap();
        let out = run_file(tmp.path(), &format!("protocol = \"{protocol}\"\n"), &[]);
        assert_eq!(
            code(&out),
            0,
            "{protocol}: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        let s = summary(&tmp.path().join("out"));
        assert!(s["ops"]["invoked"].as_u64().unwrap() > 100, "{protocol}");
    }
}

#[test]
fn a_duration_without_a_unit_exits_2_naming_line_and_field() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run_file(tmp.path(), "protocol = \"raft\"\nduration = 5\n", &[]);
    assert_bad_input(&out, "duration", Some("scenario.toml:2:"));
    assert!(text(&out.stderr).contains("no unit"));
}

#[test]
fn a_run_in_which_no_operation_was_invoked_fails_and_no_clients_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run_file(tmp.path(), "protocol = \"raft\"\nduration = \"1us\"\n", &[]);
    assert_eq!(code(&out), 1, "{}", text(&out.stdout));
    let s = summary(&tmp.path().join("out"));
    assert_eq!(s["ops"]["invoked"], 0);
    let workload = s["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["check"] == "workload")
        .expect("a workload verdict");
    assert_eq!(workload["result"], "fail");

    let out = run_file(
        tmp.path(),
        "protocol = \"crdt\"\n\n[workload]\nclients = 0\n",
        &[],
    );
    assert_bad_input(&out, "workload.clients", Some("scenario.toml:4:"));
}

#[test]
fn a_fault_after_the_end_of_the_run_exits_2_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let text = "protocol = \"raft\"\nduration = \"2s\"\n\n[faults]\nschedule = [\n  { at_ms = 500, kind = \"crash\", node = 0 },\n  { at_ms = 2500, kind = \"restart\", node = 0 },\n]\n";
    let out = run_file(tmp.path(), text, &[]);
    assert_bad_input(&out, "faults.schedule[1].at_ms", Some("scenario.toml:7:"));
}

#[test]
fn leader_faults_on_a_leaderless_protocol_exit_2_naming_the_action() {
    for protocol in ["quorum-register", "crdt", "redlock"] {
        for kind in ["isolate_leader", "isolate_leader_with_clients"] {
            let tmp = tempfile::tempdir().unwrap();
            let fixed = format!(
                "protocol = \"{protocol}\"\n\n[faults]\nschedule = [\n  {{ at_ms = 100, kind = \"{kind}\", duration_ms = 200 }},\n]\n"
            );
            let out = run_file(tmp.path(), &fixed, &[]);
            assert_bad_input(&out, "faults.schedule[0].kind", Some("scenario.toml:5:"));
            let generated = format!(
                "protocol = \"{protocol}\"\n\n[faults]\ngenerator = {{ rates = {{ crash = 0.5, {kind} = 1.0 }} }}\n"
            );
            let out = run_file(tmp.path(), &generated, &[]);
            let field = format!("faults.generator.rates.{kind}");
            assert_bad_input(&out, &field, Some("scenario.toml:4:"));
        }
    }
}

#[test]
fn the_default_fault_mix_draws_no_leader_fault_on_a_leaderless_protocol() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run_file(
        tmp.path(),
        "protocol = \"quorum-register\"\nduration = \"20s\"\n\n[faults]\ngenerator = { rates = {}, quiet_ms = 1000 }\n",
        &[],
    );
    assert_eq!(code(&out), 0, "{}{}", text(&out.stdout), text(&out.stderr));
    let s = summary(&tmp.path().join("out"));
    let applied = s["faults_applied"].as_array().unwrap();
    assert!(
        applied.len() > 5,
        "the default mix draws faults: {applied:?}"
    );
    assert!(
        applied
            .iter()
            .all(|f| !f["kind"].as_str().unwrap().contains("leader")),
        "{applied:?}"
    );
}

#[test]
fn replay_of_a_hand_edited_summary_is_validated_as_a_scenario() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let out = clustersim(&[
        "run",
        "register-healthy",
        "--set",
        "duration=\"1s\"",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let original: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    let cases: [(&str, &[&str], serde_json::Value); 4] = [
        ("scenario.network.loss", &["network", "loss"], 2.0.into()),
        ("scenario.replicas", &["replicas"], 0.into()),
        ("scenario.replicas", &["replicas"], 4294967295u64.into()),
        (
            "scenario.workload.clients",
            &["workload", "clients"],
            4294967295u64.into(),
        ),
    ];
    for (field, path, value) in cases {
        let mut edited = original.clone();
        let mut at = &mut edited["scenario"];
        for key in path {
            at = &mut at[*key];
        }
        *at = value;
        let dir = tmp.path().join("edited");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("summary.json"),
            serde_json::to_string_pretty(&edited).unwrap(),
        )
        .unwrap();
        let out = clustersim(&["replay", dir.to_str().unwrap()]);
        assert_bad_input(&out, field, Some("summary.json:"));
    }
}

#[test]
fn errors_in_a_set_name_the_set_not_a_line() {
    let tmp = tempfile::tempdir().unwrap();
    for set in [
        "network.loss=7",
        "duration=5",
        "workload.clients=zero",
        "nosuch.field=1",
    ] {
        let out = clustersim(&[
            "run",
            "register-healthy",
            "--set",
            set,
            "--out",
            tmp.path().to_str().unwrap(),
        ]);
        let err = text(&out.stderr);
        assert_eq!(code(&out), 2, "{err}");
        assert!(err.contains(&format!("--set {set}:")), "{err}");
        assert!(!err.contains(".toml:"), "no line of a file: {err}");
    }
}

#[test]
fn a_reused_out_directory_holds_only_the_new_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let d = dir.to_str().unwrap();
    let first = clustersim(&[
        "run",
        "raft-bug-no-dedup",
        "--seed",
        "3",
        "--trace",
        "--out",
        d,
    ]);
    assert_ne!(code(&first), 2, "{}", text(&first.stderr));
    assert!(dir.join("trace.jsonl").exists());
    let second = clustersim(&[
        "run",
        "register-healthy",
        "--set",
        "duration=\"1s\"",
        "--out",
        d,
    ]);
    assert_eq!(code(&second), 0, "{}", text(&second.stderr));
    assert!(!dir.join("trace.jsonl").exists(), "the old trace is gone");
    assert!(
        !dir.join("timeline.svg").exists(),
        "the old timeline is gone"
    );
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(!html.contains("raft"), "the report is the new run's only");

    // Somebody else's directory is refused and left alone, and a sweep does
    // not write over a run.
    let theirs = tmp.path().join("theirs");
    std::fs::create_dir(&theirs).unwrap();
    std::fs::write(theirs.join("notes.txt"), "mine").unwrap();
    let out = clustersim(&["run", "register-healthy", "--out", theirs.to_str().unwrap()]);
    assert_bad_input(&out, "--out", None);
    assert!(text(&out.stderr).contains("notes.txt"));
    assert_eq!(std::fs::read_dir(&theirs).unwrap().count(), 1);
    let out = clustersim(&["sweep", "register-healthy", "--seeds", "0..2", "--out", d]);
    assert_bad_input(&out, "--out", None);
    assert!(dir.join("summary.json").exists());
}

/// Runs clustersim with standard output into a pipe nobody reads any more.
fn with_closed_stdout(args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Command::new(env!("CARGO_BIN_EXE_clustersim"))
        .args(args)
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn a_closed_pipe_on_stdout_ends_quietly_with_the_commands_own_exit_code() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let sweep = tmp.path().join("sweep");
    let short = "duration=\"1s\"";
    let cases: [(Vec<&str>, i32); 4] = [
        (vec!["list"], 0),
        (
            vec![
                "run",
                "register-healthy",
                "--set",
                short,
                "--out",
                run.to_str().unwrap(),
            ],
            0,
        ),
        (
            vec![
                "run",
                "register-bug-no-write-back",
                "--seed",
                "1",
                "--out",
                run.to_str().unwrap(),
            ],
            -1,
        ),
        (
            vec![
                "sweep",
                "register-healthy",
                "--seeds",
                "0..3",
                "--set",
                short,
                "--out",
                sweep.to_str().unwrap(),
            ],
            0,
        ),
    ];
    for (args, expected) in cases {
        let out = with_closed_stdout(&args);
        let err = text(&out.stderr);
        let got = code(&out);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_ne!(got, 101, "{args:?}: {err}");
        if expected >= 0 {
            assert_eq!(got, expected, "{args:?}: {err}");
        } else {
            assert!(got == 0 || got == 1, "{args:?}: {got} {err}");
        }
    }
    // The run still wrote its directory.
    assert!(run.join("summary.json").exists() && sweep.join("sweep.jsonl").exists());
}

#[test]
fn a_sweep_with_far_more_jobs_than_seeds_runs_on_as_many_threads_as_seeds() {
    let tmp = tempfile::tempdir().unwrap();
    let out = clustersim(&[
        "sweep",
        "register-healthy",
        "--seeds",
        "0..4",
        "--jobs",
        "3000",
        "--set",
        "duration=\"1s\"",
        "--out",
        tmp.path().to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let read = |file: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join(file)).unwrap()).unwrap()
    };
    assert_eq!(
        (
            read("sweep-timing.json")["jobs"].as_u64(),
            read("sweep-summary.json")["total"].as_u64()
        ),
        (Some(4), Some(4))
    );
}

/// Settings that used to overflow, run out of memory or loop without end
/// (a timer of 1 ns, a heartbeat of 2^63 ms, a clock a trillion times
/// fast) are refused up front: exit 2 naming the key and its line.
#[test]
fn absurd_settings_exit_2_naming_the_key_and_line() {
    let drift = |protocol: &str, ppm: &str| {
        format!(
            "protocol = \"{protocol}\"\n[faults]\n\
             schedule = [ {{ at_ms = 5, kind = \"clock_drift\", node = 1, ppm = {ppm} }} ]\n"
        )
    };
    let cases = [
        (
            "protocol = \"raft\"\n[options]\nheartbeat_ms = 9223372036854775807\n".to_string(),
            "options.heartbeat_ms",
        ),
        (
            "protocol = \"raft\"\n[options]\nelection_timeout_max_ms = 18446744073709\n".into(),
            "options.election_timeout_max_ms",
        ),
        // Within range, but not below the election timeout.
        (
            "protocol = \"raft\"\n[options]\nheartbeat_ms = 500\n".into(),
            "options.heartbeat_ms",
        ),
        (
            drift("raft", "9223372036854775807"),
            "faults.schedule[0].ppm",
        ),
        (drift("pbft", "1000000000000"), "faults.schedule[0].ppm"),
        (
            "protocol = \"coord\"\n[options]\nrequest_timeout = \"1ns\"\n".into(),
            "options.request_timeout",
        ),
        (
            "protocol = \"lease-lock\"\n[options]\nlease = \"1ns\"\n".into(),
            "options.lease",
        ),
        (
            "protocol = \"pbft\"\n[options]\nview_change_timeout = \"100000s\"\n".into(),
            "options.view_change_timeout",
        ),
        (
            "protocol = \"quorum-register\"\n[workload]\ntimeout_ms = 9223372036854775807\n".into(),
            "workload.timeout_ms",
        ),
    ];
    for (content, field) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let out = run_file(tmp.path(), &content, &[]);
        assert_bad_input(&out, field, Some("scenario.toml:3:"));
    }
}

/// Redlock whose drift allowance reaches the ttl never grants a lock: refused,
/// naming both keys.
#[test]
fn a_redlock_drift_at_or_above_the_ttl_exits_2_naming_both() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run_file(
        tmp.path(),
        "protocol = \"redlock\"\n[options]\nttl = \"50ms\"\ndrift = \"50ms\"\n",
        &[],
    );
    assert_bad_input(&out, "options.drift", Some("scenario.toml:4:"));
    assert!(
        text(&out.stderr).contains("options.ttl"),
        "{}",
        text(&out.stderr)
    );
}

/// The eventual store's preference list defaults to the cluster's size when
/// the cluster is smaller than 3: `replicas = 1` or `2` alone is a scenario.
#[test]
fn a_small_eventual_store_runs_with_default_options() {
    for replicas in [1, 2] {
        let tmp = tempfile::tempdir().unwrap();
        let content = format!("protocol = \"eventual-store\"\nreplicas = {replicas}\n");
        let out = run_file(tmp.path(), &content, &[]);
        assert_eq!(
            code(&out),
            0,
            "{replicas}: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
    }
    // What the user sets is still checked against the cluster.
    let tmp = tempfile::tempdir().unwrap();
    let content = "protocol = \"eventual-store\"\nreplicas = 2\n[options]\nn = 3\n";
    assert_bad_input(
        &run_file(tmp.path(), content, &[]),
        "options.n",
        Some("scenario.toml:4:"),
    );
}
