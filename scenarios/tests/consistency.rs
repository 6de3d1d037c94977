//! The consistency ladder of a run: in `summary.json` and `report.html`,
//! coherent with the linearizability verdict over seeds, and
//! `clustersim check --ladder` on a saved history.

use crate::common;
use crate::seeds;
use common::*;
use seeds::*;

use checkers::ladder::{Standing, CAUSAL, CONVERGENT, LINEARIZABLE, SEQUENTIAL};
use scenarios::runner::RunOutcome;

fn standing(o: &RunOutcome, model: &str) -> Standing {
    o.summary
        .consistency
        .rung(model)
        .unwrap_or_else(|| panic!("no {model} rung: {:?}", o.summary.consistency))
        .result
}

/// Values drawn from 0..4e9: writes practically never repeat a value, so
/// every read can be traced to its write and the causal rung decides.
const UNIQUE_VALUES: &str = "workload.values=4000000000";

#[test]
fn a_linearizable_history_is_causal_over_seeds() {
    for name in ["register-unreliable", "raft-partitions"] {
        for seed in 1..=25 {
            let o = outcome(name, seed, &[UNIQUE_VALUES]);
            let ladder = &o.summary.consistency;
            if standing(&o, LINEARIZABLE) == Standing::Holds {
                let causal = ladder.rung(CAUSAL).unwrap();
                assert!(
                    causal.result == Standing::Holds
                        || (causal.result == Standing::Unknown
                            && causal.detail.contains("written more than once")),
                    "{name} seed {seed}: linearizable but causal {:?}: {}",
                    causal.result,
                    causal.detail
                );
                assert_eq!(ladder.strongest.as_deref(), Some(LINEARIZABLE));
            }
            assert_eq!(standing(&o, CONVERGENT), Standing::NotApplicable);
        }
    }
}

#[test]
fn a_lost_write_breaks_linearizability_and_causality_named() {
    // Replicas that forget unsynced writes on a crash: a client later reads
    // the register as if its own write never happened.
    let o = outcome("register-bug-no-sync", 1, &[]);
    assert_eq!(standing(&o, LINEARIZABLE), Standing::Fails);
    let causal = o.summary.consistency.rung(CAUSAL).unwrap();
    assert_eq!(causal.result, Standing::Fails);
    assert!(
        causal.detail.contains("read-your-writes"),
        "{}",
        causal.detail
    );
    assert_eq!(o.summary.consistency.strongest, None);
}

#[test]
fn crdt_ladders_say_what_applies() {
    // The CRDT registers' clients talk to any replica: converged in the end,
    // but a session can read older than its own write (no session
    // guarantees), which the causal rung shows.
    let o = outcome("lww-register-healthy", 1, &[]);
    assert!(failures(&o).is_empty(), "{:?}", failures(&o));
    assert_eq!(standing(&o, LINEARIZABLE), Standing::NotApplicable);
    assert_eq!(standing(&o, CAUSAL), Standing::Fails);
    assert_eq!(standing(&o, CONVERGENT), Standing::Holds);
    assert_eq!(o.summary.consistency.strongest.as_deref(), Some(CONVERGENT));
    // The multi-value register's reads name their siblings: judged too.
    let o = outcome("mv-register-healthy", 1, &[]);
    assert_eq!(standing(&o, CAUSAL), Standing::Fails);
    assert_eq!(standing(&o, CONVERGENT), Standing::Holds);
    // A counter's adds and reads are no register's: causality does not apply.
    let o = outcome("pn-counter-healthy", 1, &[]);
    assert_eq!(standing(&o, CAUSAL), Standing::NotApplicable);
    assert_eq!(standing(&o, CONVERGENT), Standing::Holds);
    // Convergence that fails is the convergent rung's counterexample.
    let o = outcome("crdt-bug-replace-merge", 1, &[]);
    let rung = o.summary.consistency.rung(CONVERGENT).unwrap();
    if verdict(&o, "convergence (g-set)").is_some_and(|v| v.failed()) {
        assert_eq!(rung.result, Standing::Fails);
        assert!(rung.detail.starts_with("convergence"), "{}", rung.detail);
    }
}

#[test]
fn the_ladder_is_in_summary_json_report_html_and_the_run_output() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let out = clustersim(&[
        "run",
        "register-bug-no-sync",
        "--seed",
        "1",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 1);
    let printed = text(&out.stdout);
    assert!(
        printed.contains(
            "consistency  linearizable ✗, sequential ✗, causal ✗, eventually convergent –"
        ),
        "{printed}"
    );
    let s = summary(&dir);
    let rungs = s["consistency"]["rungs"].as_array().unwrap();
    let models: Vec<&str> = rungs.iter().map(|r| r["model"].as_str().unwrap()).collect();
    assert_eq!(models, [LINEARIZABLE, SEQUENTIAL, CAUSAL, CONVERGENT]);
    // Not causal, so not sequential either: no search needed.
    assert_eq!(rungs[1]["detail"], "implied: not causal");
    assert_eq!(rungs[2]["result"], "fails");
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("<h2>Consistency</h2>"), "no ladder section");
    assert!(html.contains("✗ fails") && html.contains("read-your-writes"));
    // Replay reads the summary back (the ladder included): same run.
    let replay = clustersim(&["replay", dir.to_str().unwrap()]);
    assert_eq!(code(&replay), 0, "{}", text(&replay.stderr));
}

#[test]
fn check_ladder_prints_the_ladder_of_a_saved_history() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    clustersim(&[
        "run",
        "register-bug-no-sync",
        "--seed",
        "1",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let history = dir.join("history.jsonl");
    let out = clustersim(&["check", history.to_str().unwrap(), "--ladder"]);
    assert_eq!(code(&out), 1, "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    assert!(
        printed.contains("linearizable") && printed.contains("✗ fails"),
        "{printed}"
    );
    assert!(printed.contains("read-your-writes"), "{printed}");
    assert!(
        printed.contains("strongest model satisfied: none known"),
        "{printed}"
    );
    // As JSON.
    let out = clustersim(&["check", history.to_str().unwrap(), "--ladder", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["rungs"][1]["model"], "sequential");
    assert_eq!(v["rungs"][2]["model"], "causal");

    // Causal but not linearizable: two readers see two writes in opposite
    // orders. Exit 1 (a rung fails), causal the strongest.
    let file = tmp.path().join("opposite.jsonl");
    let mut lines = Vec::new();
    let mut t = 0;
    for (p, f, v) in [
        (1, "write", 1),
        (2, "write", 2),
        (3, "read", 1),
        (3, "read", 2),
        (4, "read", 2),
        (4, "read", 1),
    ] {
        let invoked = if f == "read" {
            "null".to_string()
        } else {
            v.to_string()
        };
        t += 10;
        lines.push(format!(
            r#"{{"process":{p},"type":"invoke","f":"{f}","value":{invoked},"time":{t}}}"#
        ));
        t += 10;
        lines.push(format!(
            r#"{{"process":{p},"type":"ok","f":"{f}","value":{v},"time":{t}}}"#
        ));
    }
    std::fs::write(&file, lines.join("\n")).unwrap();
    let out = clustersim(&[
        "check",
        file.to_str().unwrap(),
        "--ladder",
        "--model",
        "register",
    ]);
    assert_eq!(code(&out), 1);
    let printed = text(&out.stdout);
    assert!(
        printed.contains("strongest model satisfied: causal"),
        "{printed}"
    );

    // Bad input: exit 2 naming the file and line; no model and no ladder.
    let bad = tmp.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"value\":1,\"time\":1}\n",
    )
    .unwrap();
    let out = clustersim(&["check", bad.to_str().unwrap(), "--ladder"]);
    assert_eq!(code(&out), 2);
    assert!(
        text(&out.stderr).contains("bad.jsonl:1"),
        "{}",
        text(&out.stderr)
    );
    let out = clustersim(&["check", file.to_str().unwrap()]);
    assert_eq!(code(&out), 2);
    assert!(
        text(&out.stderr).contains("--model"),
        "{}",
        text(&out.stderr)
    );
}

/// A run's `unknown` linearizability verdict names the undecided keys as
/// `check` does (a single-key history's partition has no label: it used to
/// read "undecided keys: " with nothing after it), with how far each got.
#[test]
fn an_unknown_linearizability_verdict_names_what_was_left_undecided() {
    let o = outcome("register-healthy", 0, &["checks.linearizability_budget=1"]);
    let v = verdict(&o, "linearizability").expect("a linearizability verdict");
    assert_eq!(v.result, "unknown", "{v:?}");
    let undecided = v.detail.split("undecided: ").nth(1).unwrap_or_default();
    assert!(
        undecided.starts_with("key ") || undecided.starts_with("(no key)"),
        "{}",
        v.detail
    );
    assert!(
        undecided.contains("longest linearizable prefix"),
        "{}",
        v.detail
    );
}
