//! The `clustersim` command line as a user meets it: exit codes 0 / 1 / 2,
//! run directories, replay, and errors that name file, line and field.

use crate::common;
use common::*;

use std::path::Path;
use std::process::Output;

use serde_json::Value;

fn run_to(dir: &Path, scenario: &str, seed: &str) -> Output {
    clustersim(&[
        "run",
        scenario,
        "--seed",
        seed,
        "--out",
        dir.to_str().unwrap(),
    ])
}

#[test]
fn run_writes_a_summary_with_fingerprint_and_counts_and_exits_0() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run_to(tmp.path(), "register-healthy", "7");
    assert_eq!(code(&out), 0, "{}{}", text(&out.stdout), text(&out.stderr));
    let s = summary(tmp.path());
    assert_eq!(s["seed"], 7);
    assert_eq!(s["fingerprint"].as_str().unwrap().len(), 16);
    assert!(s["events"]["handled"].as_u64().unwrap() > 1_000);
    assert!(s["messages"]["sent"].as_u64().unwrap() > 1_000);
    assert!(s["messages"]["delivered"].as_u64().unwrap() > 1_000);
    assert_eq!(s["passed"], true);
    // Per-link counts add up to the totals.
    let links = s["links"].as_array().unwrap();
    assert!(
        links.len() >= 3 * 4 * 2,
        "every client-replica link, both ways"
    );
    let sent: u64 = links.iter().map(|l| l["sent"].as_u64().unwrap()).sum();
    assert_eq!(sent, s["messages"]["sent"].as_u64().unwrap());
    assert!(tmp.path().join("history.jsonl").exists());
    assert!(tmp.path().join("faults.json").exists());
}

#[test]
fn the_same_seed_gives_the_same_fingerprint_and_another_seed_another() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    run_to(a.path(), "register-unreliable", "7");
    run_to(b.path(), "register-unreliable", "7");
    run_to(c.path(), "register-unreliable", "8");
    let fp = |d: &Path| summary(d)["fingerprint"].as_str().unwrap().to_string();
    assert_eq!(fp(a.path()), fp(b.path()));
    assert_ne!(fp(a.path()), fp(c.path()));
    // Bit for bit: the whole history is the same too.
    let history = |d: &Path| std::fs::read(d.join("history.jsonl")).unwrap();
    assert_eq!(history(a.path()), history(b.path()));
}

#[test]
fn replay_exits_0_on_a_match_and_1_when_the_fingerprint_was_tampered_with() {
    let tmp = tempfile::tempdir().unwrap();
    run_to(tmp.path(), "register-healthy", "3");
    let dir = tmp.path().to_str().unwrap();
    let ok = clustersim(&["replay", dir]);
    assert_eq!(code(&ok), 0, "{}", text(&ok.stdout));
    let path = tmp.path().join("summary.json");
    let original = std::fs::read_to_string(&path).unwrap();
    let fp = summary(tmp.path())["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    let flipped = if fp.starts_with('0') { "1" } else { "0" };
    std::fs::write(
        &path,
        original.replace(&fp, &format!("{flipped}{}", &fp[1..])),
    )
    .unwrap();
    let bad = clustersim(&["replay", dir]);
    assert_eq!(code(&bad), 1, "{}", text(&bad.stdout));
    assert!(text(&bad.stdout).contains("DIVERGED"));
}

#[test]
fn replay_of_a_malformed_summary_exits_2_naming_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("summary.json"),
        "{\n  \"seed\": 1,\n  \"scenario\": 5\n}\n",
    )
    .unwrap();
    let out = clustersim(&["replay", tmp.path().to_str().unwrap()]);
    assert_eq!(code(&out), 2);
    let err = text(&out.stderr);
    assert!(err.contains("summary.json:3:"), "{err}");
}

const GOOD: &str = r#"description = "test"
protocol = "quorum-register"
duration = "1s"

[workload]
clients = 2
cas_fraction = 0.0

[network]
loss = 0.01
"#;

fn run_file(dir: &Path, content: &str) -> Output {
    let file = dir.join("scenario.toml");
    std::fs::write(&file, content).unwrap();
    clustersim(&[
        "run",
        file.to_str().unwrap(),
        "--out",
        dir.join("out").to_str().unwrap(),
    ])
}

#[test]
fn a_scenario_file_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run_file(tmp.path(), GOOD);
    assert_eq!(code(&out), 0, "{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(
        summary(&tmp.path().join("out"))["scenario"]["name"],
        "scenario"
    );
}

#[test]
fn malformed_scenario_files_exit_2_naming_file_line_and_field() {
    let cases = [
        (
            GOOD.replace("loss = 0.01", "loss = 0.01\nlos = 0.2"),
            ":11:",
            "network.los",
        ),
        (
            GOOD.replace("clients = 2", "clients = \"two\""),
            ":6:",
            "workload.clients",
        ),
        (
            GOOD.replace("loss = 0.01", "loss = 2.0"),
            ":10:",
            "network.loss",
        ),
        (
            GOOD.replace("duration = \"1s\"", "duration = \"1 fortnight\""),
            ":3:",
            "duration",
        ),
        (
            GOOD.replace("protocol = \"quorum-register\"", "protocol = \"paxos\""),
            "",
            "protocol",
        ),
        (
            GOOD.replace("protocol = \"quorum-register\"\n", ""),
            "",
            "protocol",
        ),
        (GOOD.replace("[network]", "[network"), ":9:", ""),
    ];
    for (content, line, field) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let out = run_file(tmp.path(), &content);
        let err = text(&out.stderr);
        assert_eq!(code(&out), 2, "{content}\n{err}");
        assert!(err.contains("scenario.toml"), "names the file: {err}");
        assert!(err.contains(line), "names line {line}: {err}");
        assert!(err.contains(field), "names field {field}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn bad_flags_and_unknown_scenarios_exit_2() {
    assert_eq!(
        code(&clustersim(&["run", "register-healthy", "--seed", "seven"])),
        2
    );
    assert_eq!(
        code(&clustersim(&["run", "register-healthy", "--bogus"])),
        2
    );
    assert_eq!(code(&clustersim(&["frobnicate"])), 2);
    let out = clustersim(&["run", "no-such-scenario"]);
    assert_eq!(code(&out), 2);
    assert!(
        text(&out.stderr).contains("register-healthy"),
        "lists the built-in ones"
    );
    let tmp = tempfile::tempdir().unwrap();
    let out = clustersim(&[
        "run",
        "register-healthy",
        "--set",
        "replicas=zero",
        "--out",
        tmp.path().to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 2, "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("replicas"));
}

#[test]
fn a_panic_inside_a_node_is_a_finding_with_its_seed_and_exit_1() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run_to(tmp.path(), "register-bug-unwrap-missing-key", "11");
    assert_eq!(code(&out), 1, "{}{}", text(&out.stdout), text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("FINDING      panic"), "{stdout}");
    assert!(stdout.contains("seed 11"), "{stdout}");
    assert!(
        !text(&out.stderr).contains("panicked at"),
        "the panic is reported, not printed raw"
    );
    let s = summary(tmp.path());
    assert_eq!(s["finding"]["kind"], "panic");
    // Replaying reproduces the same finding at the same virtual time.
    let again = clustersim(&["replay", tmp.path().to_str().unwrap()]);
    assert_eq!(code(&again), 0);
    let t = s["finding"]["time"].as_u64().unwrap() as f64 / 1e9;
    assert!(
        text(&again.stdout).contains(&format!("panic at {t:.6} s")),
        "{}",
        text(&again.stdout)
    );
}

#[test]
fn a_known_bug_is_caught_by_the_linearizability_checker() {
    let tmp = tempfile::tempdir().unwrap();
    let caught = (1..=20).find(|seed| {
        code(&run_to(
            tmp.path(),
            "register-bug-no-write-back",
            &seed.to_string(),
        )) == 1
    });
    let seed = caught.expect("no-write-back caught within 20 seeds");
    let s = summary(tmp.path());
    assert_eq!(s["seed"], seed);
    let lin = s["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["check"] == "linearizability")
        .unwrap();
    assert_eq!(lin["result"], "fail");
}

#[test]
fn list_shows_every_built_in_scenario_with_a_description() {
    let out = clustersim(&["list"]);
    assert_eq!(code(&out), 0);
    let stdout = text(&out.stdout);
    for name in [
        "register-healthy",
        "register-unreliable",
        "register-bug-no-write-back",
    ] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} missing"));
        assert!(line.len() > name.len() + 10, "{line}");
    }
}

#[test]
fn trace_writes_every_event_as_a_json_line_and_does_not_change_the_fingerprint() {
    let (traced, plain) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let dir = traced.path().to_str().unwrap();
    let out = clustersim(&[
        "run",
        "register-unreliable",
        "--seed",
        "4",
        "--out",
        dir,
        "--trace",
        "--set",
        "duration=\"500ms\"",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let plain_dir = plain.path().to_str().unwrap();
    clustersim(&[
        "run",
        "register-unreliable",
        "--seed",
        "4",
        "--out",
        plain_dir,
        "--set",
        "duration=\"500ms\"",
    ]);
    let trace = std::fs::read_to_string(traced.path().join("trace.jsonl")).unwrap();
    let s = summary(traced.path());
    assert_eq!(
        trace.lines().count() as u64,
        s["events"]["recorded"].as_u64().unwrap()
    );
    let kinds: std::collections::BTreeSet<String> = trace
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["ev"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    for k in [
        "start",
        "send",
        "deliver",
        "drop",
        "duplicate",
        "timer",
        "op",
    ] {
        assert!(kinds.contains(k), "no {k} event in the trace: {kinds:?}");
    }
    assert_eq!(s["fingerprint"], summary(plain.path())["fingerprint"]);
}

#[test]
fn a_healthy_run_over_several_keys_is_linearizable_key_by_key() {
    // Checked as one register, writes to one key would look like lost writes
    // to another: the runner checks each key's sub-history on its own.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_str().unwrap();
    let out = clustersim(&[
        "run",
        "register-healthy",
        "--seed",
        "5",
        "--out",
        dir,
        "--set",
        "workload.keys=4",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out.stdout));
    let history = std::fs::read_to_string(tmp.path().join("history.jsonl")).unwrap();
    assert!(
        history.contains("\"key\":\"3\""),
        "operations on several keys"
    );
}

fn porcupine() -> Option<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/porcupine");
    if dir.exists() {
        Some(dir)
    } else {
        println!("shared data not found at {}, skipping", dir.display());
        None
    }
}

#[test]
fn check_judges_outside_histories_with_exit_codes() {
    let Some(data) = porcupine() else { return };
    let path = |p: &str| data.join(p).to_str().unwrap().to_string();
    let check =
        |file: &str, model: &str| code(&clustersim(&["check", &path(file), "--model", model]));
    assert_eq!(check("jepsen/etcd_002.log", "cas-register"), 0);
    assert_eq!(check("jepsen/etcd_000.log", "cas-register"), 1);
    assert_eq!(check("kv/c10-ok.txt", "kv"), 0);
    assert_eq!(check("kv/c10-bad.txt", "kv"), 1);
    let out = clustersim(&[
        "check",
        &path("jepsen/etcd_000.log"),
        "--model",
        "cas-register",
        "--format",
        "jepsen-log",
    ]);
    assert!(
        text(&out.stdout).contains("cannot be placed"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn check_of_a_malformed_history_exits_2_naming_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("history.jsonl");
    std::fs::write(
        &file,
        "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"value\":null,\"time\":1}\nnot json\n",
    )
    .unwrap();
    let out = clustersim(&[
        "check",
        file.to_str().unwrap(),
        "--model",
        "register",
        "--format",
        "jsonl",
    ]);
    assert_eq!(code(&out), 2);
    assert!(
        text(&out.stderr).contains("history.jsonl:2"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_recorded_history_can_be_checked_again_from_the_run_directory() {
    let tmp = tempfile::tempdir().unwrap();
    run_to(tmp.path(), "register-healthy", "2");
    let history = tmp.path().join("history.jsonl");
    let out = clustersim(&[
        "check",
        history.to_str().unwrap(),
        "--model",
        "cas-register",
    ]);
    assert_eq!(code(&out), 0, "{}{}", text(&out.stdout), text(&out.stderr));
}

#[test]
fn bad_fault_schedules_exit_2_naming_the_action_and_field() {
    let faults = "\n[faults]\nschedule = [\n  { at_ms = 100, kind = \"pause\", node = 1, duration_ms = 5 },\n  { at_ms = 200, kind = \"crash\", node = 42 },\n]\n";
    let cases = [
        (faults.to_string(), "faults.schedule[1].node", ":15:"),
        (
            faults.replace("duration_ms = 5", "duration_ms = -5"),
            "faults.schedule[0].duration_ms",
            ":14:",
        ),
        (faults.replace("\"crash\"", "\"meteor\""), "meteor", ":15:"),
    ];
    for (extra, names, line) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let out = run_file(tmp.path(), &format!("{GOOD}{extra}"));
        let err = text(&out.stderr);
        assert_eq!(code(&out), 2, "{err}");
        assert!(err.contains(names), "names {names}: {err}");
        assert!(err.contains(line), "names line {line}: {err}");
    }
}

#[test]
fn a_run_past_its_event_budget_is_stopped_with_a_finding() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().to_str().unwrap();
    let out = clustersim(&[
        "run",
        "register-healthy",
        "--set",
        "checks.max_events=5000",
        "--out",
        d,
    ]);
    assert_eq!(code(&out), 1, "{}", text(&out.stdout));
    let s = summary(tmp.path());
    assert_eq!(s["finding"]["kind"], "event-budget");
    let v = s["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["check"] == "event-budget")
        .unwrap();
    assert_eq!(v["result"], "fail");
    assert!(s["events"]["handled"].as_u64().unwrap() <= 5001);
}

/// Events scheduled faster than they are handled fill memory before the
/// handled count reaches the budget: a tenth of the budget may be pending.
/// A hundred clients each send to three replicas at once: far more pending
/// than handled.
#[test]
fn a_run_whose_pending_events_outgrow_its_budget_is_stopped_with_a_finding() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().to_str().unwrap();
    let out = clustersim(&[
        "run",
        "register-healthy",
        "--set",
        "checks.max_events=2000",
        "--set",
        "workload.clients=100",
        "--out",
        d,
    ]);
    assert_eq!(code(&out), 1, "{}", text(&out.stdout));
    let s = summary(tmp.path());
    assert_eq!(s["finding"]["kind"], "event-budget");
    let message = s["finding"]["message"].as_str().unwrap();
    assert!(
        message.contains("more than 200 events pending"),
        "{message}"
    );
    assert!(s["events"]["handled"].as_u64().unwrap() < 2000);
}

/// `--help` lists the exit codes, `check`'s 3 included, and describes
/// every argument and option of every command.
#[test]
fn help_lists_the_exit_codes_and_describes_every_argument() {
    let top = text(&clustersim(&["--help"]).stdout);
    for code in [
        "0  every check passed",
        "1  a check failed",
        "2  bad input",
        "3  check only",
    ] {
        assert!(top.contains(code), "{code} missing from:\n{top}");
    }
    let commands = [
        "list", "run", "replay", "diff", "shrink", "sweep", "report", "check",
    ];
    for command in commands {
        let out = clustersim(&[command, "-h"]);
        assert_eq!(code(&out), 0);
        for line in text(&out.stdout).lines() {
            let item = line.trim_start();
            if !line.starts_with("  ") || !(item.starts_with('<') || item.starts_with('-')) {
                continue;
            }
            let parts: Vec<&str> = item.split("  ").filter(|p| !p.trim().is_empty()).collect();
            assert!(
                parts.len() >= 2,
                "`clustersim {command}`: `{}` has no description",
                item.trim()
            );
        }
    }
}
