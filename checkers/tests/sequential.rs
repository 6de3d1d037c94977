//! Sequential consistency: the search in program order.
//!
//! * A stale read after a write that completed in real time is sequentially
//!   consistent but not linearizable; a read that contradicts its own
//!   process's earlier write is neither.
//! * Keys are checked together: each key alone can be sequentially
//!   consistent while the whole history is not.
//! * On small random histories (a few processes, each with several
//!   operations, two keys), the checker agrees with a brute-force search
//!   over every order that keeps each process's own.

use crate::common;

use std::collections::BTreeMap;

use checkers::models::{Kv, Register};
use checkers::{
    check_history, prepare_ops, sequential, CheckOptions, Consistency, Model, Op, Verdict,
};
use common::Builder;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use serde_json::{json, Value};
use sim_core::history::{History, HistoryEntry, OpType};

const SC: Verdict = Verdict::Linearizable;
const NOT_SC: Verdict = Verdict::NotLinearizable;

fn sequential(history: &History) -> checkers::CheckReport {
    sequential::check_history(&Register, history, &CheckOptions::default()).unwrap()
}

fn linearizable(history: &History) -> Verdict {
    check_history(&Register, history, &CheckOptions::default())
        .unwrap()
        .verdict
}

#[test]
fn a_stale_read_is_sequential_but_not_linearizable() {
    // Process 1 writes 1 and is done; later, process 2 reads nothing.
    let h = Builder::new()
        .invoke(10, 1, "write", json!(1))
        .ok(20, 1, "write", json!(1))
        .invoke(30, 2, "read", Value::Null)
        .ok(40, 2, "read", Value::Null)
        .build();
    assert_eq!(linearizable(&h), Verdict::NotLinearizable);
    let report = sequential(&h);
    assert_eq!(report.verdict, SC);
    assert_eq!(report.consistency, Consistency::Sequential);
}

#[test]
fn a_read_before_its_own_write_is_not_sequential() {
    // Process 1 writes 1, then reads nothing: its own order forbids it, and
    // the counterexample names that read.
    let h = Builder::new()
        .invoke(10, 1, "write", json!(1))
        .ok(20, 1, "write", json!(1))
        .invoke(30, 1, "read", Value::Null)
        .ok(40, 1, "read", Value::Null)
        .invoke(35, 2, "read", Value::Null)
        .ok(45, 2, "read", json!(1))
        .build();
    let report = sequential(&h);
    assert_eq!(report.verdict, NOT_SC);
    assert_eq!(report.counterexamples.len(), 1);
    let cx = &report.counterexamples[0];
    let named: Vec<usize> = std::iter::once(cx.unplaceable.op)
        .chain(cx.candidates.iter().map(|c| c.op))
        .collect();
    assert!(named.contains(&1), "the read of process 1: {cx:?}");
    // Two reads of one process that go back in time: 2 then 1, with the
    // writes of 1 and 2 each once.
    let h = Builder::new()
        .invoke(0, 1, "write", json!(1))
        .ok(1, 1, "write", json!(1))
        .invoke(2, 2, "write", json!(2))
        .ok(3, 2, "write", json!(2))
        .invoke(4, 3, "read", Value::Null)
        .ok(5, 3, "read", json!(2))
        .invoke(6, 3, "read", Value::Null)
        .ok(7, 3, "read", json!(1))
        .invoke(8, 4, "read", Value::Null)
        .ok(9, 4, "read", json!(1))
        .invoke(10, 4, "read", Value::Null)
        .ok(11, 4, "read", json!(2))
        .build();
    assert_eq!(sequential(&h).verdict, NOT_SC);
}

/// Dekker's pattern: each process writes its key, then reads the other's
/// and sees nothing. Each key alone is sequentially consistent (the read
/// goes first); together, whichever write goes first is seen by the other
/// process's later read.
#[test]
fn keys_are_checked_together() {
    fn key(b: Builder, t: u64, p: u64, op: OpType, f: &str, k: &str, v: Value) -> Builder {
        b.entry(t, p, op, f, Some(k), v)
    }
    let mut b = Builder::new();
    b = key(b, 0, 1, OpType::Invoke, "put", "x", json!("1"));
    b = key(b, 0, 2, OpType::Invoke, "put", "y", json!("1"));
    b = key(b, 1, 1, OpType::Ok, "put", "x", json!("1"));
    b = key(b, 1, 2, OpType::Ok, "put", "y", json!("1"));
    b = key(b, 2, 1, OpType::Invoke, "get", "y", Value::Null);
    b = key(b, 2, 2, OpType::Invoke, "get", "x", Value::Null);
    b = key(b, 3, 1, OpType::Ok, "get", "y", json!(""));
    b = key(b, 3, 2, OpType::Ok, "get", "x", json!(""));
    let h = b.build();
    let options = CheckOptions::default();
    for k in ["x", "y"] {
        let mut alone = h.clone();
        alone.entries.retain(|e| e.key.as_deref() == Some(k));
        let report = sequential::check_history(&Kv, &alone, &options).unwrap();
        assert_eq!(report.verdict, SC, "key {k} alone");
    }
    let report = sequential::check_history(&Kv, &h, &options).unwrap();
    assert_eq!(report.verdict, NOT_SC);
    assert_eq!(report.partitions, 1);
    // The named form is the same check.
    let named = sequential::check_history_named("kv", &h, &options).unwrap();
    assert_eq!(named.verdict, NOT_SC);
    // The counterexample shows both keys' states.
    let state = &report.counterexamples[0].state;
    assert!(state.contains("x:") && state.contains("y:"), "{state}");
}

#[test]
fn an_indeterminate_write_is_not_ordered_before_its_process_later_ops() {
    // Process 1's write of 1 times out; its next write of 2 completes.
    // Process 2 reads 2, then 1: the timed-out write took effect last.
    let h = Builder::new()
        .invoke(0, 1, "write", json!(1))
        .info(1, 1, "write", json!(1))
        .invoke(2, 1, "write", json!(2))
        .ok(3, 1, "write", json!(2))
        .invoke(4, 2, "read", Value::Null)
        .ok(5, 2, "read", json!(2))
        .invoke(6, 2, "read", Value::Null)
        .ok(7, 2, "read", json!(1))
        .build();
    assert_eq!(sequential(&h).verdict, SC);
    // Had it completed, it would be ordered before the write of 2.
    let mut done = h.clone();
    done.entries[1].op_type = OpType::Ok;
    assert_eq!(sequential(&done).verdict, NOT_SC);
}

#[test]
fn the_limits_apply() {
    let h = Builder::new()
        .invoke(0, 1, "write", json!(1))
        .ok(1, 1, "write", json!(1))
        .invoke(2, 2, "read", Value::Null)
        .ok(3, 2, "read", json!(2))
        .build();
    let report =
        sequential::check_history(&Register, &h, &CheckOptions::with_max_steps(0)).unwrap();
    assert_eq!(report.verdict, Verdict::Unknown);
    assert_eq!(sequential(&h).verdict, NOT_SC);
}

/// Every order of `ops` that keeps each process's completed operations in
/// their order (an indeterminate one after its process's earlier ones,
/// optional, unordered with its later ones), every key its own state: is
/// one of them allowed by the model?
fn brute_force<M: Model>(model: &M, ops: &[Op<M::Input, M::Output>]) -> bool {
    type States<S> = BTreeMap<Option<String>, S>;
    fn go<M: Model>(
        model: &M,
        ops: &[Op<M::Input, M::Output>],
        placed: &mut [bool],
        states: &mut States<M::State>,
    ) -> bool {
        if (0..ops.len()).all(|i| placed[i] || ops[i].ret.is_none()) {
            return true;
        }
        for i in 0..ops.len() {
            // Allowed when every earlier completed op of its process is placed.
            let waits = (0..i)
                .any(|j| ops[j].process == ops[i].process && ops[j].ret.is_some() && !placed[j]);
            if placed[i] || waits {
                continue;
            }
            let key = ops[i].key.clone();
            let before = states.get(&key).cloned().unwrap_or_else(|| model.init());
            if let Some(next) = model.step(&before, &ops[i].input, ops[i].output.as_ref()) {
                placed[i] = true;
                states.insert(key.clone(), next);
                let found = go(model, ops, placed, states);
                states.insert(key, before);
                placed[i] = false;
                if found {
                    return true;
                }
            }
        }
        false
    }
    go(
        model,
        ops,
        &mut vec![false; ops.len()],
        &mut BTreeMap::new(),
    )
}

/// A random small history: up to three processes, each a sequence of up to
/// three operations on two keys; times so that processes overlap in any way.
fn small_history(fs: &'static [&'static str], values: usize) -> impl Strategy<Value = History> {
    let op = (0..fs.len(), 0..values, 0..2usize, 1u64..4, 1u64..4, 0u8..8);
    let process = prop::collection::vec(op, 1..4);
    prop::collection::vec(process, 1..4).prop_map(move |processes| {
        let mut entries = Vec::new();
        for (p, ops) in processes.iter().enumerate() {
            let mut time = 0;
            for (n, &(f, v, k, gap, len, fate)) in ops.iter().enumerate() {
                let f = fs[f];
                let value = match f {
                    "read" if v == 0 => Value::Null,
                    "cas" => json!([v % 3, (v + 1) % 3]),
                    _ => json!(v as i64 - 1),
                };
                let input = if f == "read" {
                    Value::Null
                } else {
                    value.clone()
                };
                time += gap;
                entries.push((time, 0u8, p, OpType::Invoke, f, k, input));
                time += len;
                let last = n + 1 == ops.len();
                let op_type = match fate {
                    0 if last => None,
                    0 | 1 => Some(OpType::Info),
                    2 => Some(OpType::Fail),
                    _ => Some(OpType::Ok),
                };
                if let Some(t) = op_type {
                    entries.push((time, 1u8, p, t, f, k, value));
                }
            }
        }
        entries.sort_by_key(|e| (e.0, e.1, e.2));
        let mut h = History::new();
        for (time, _, p, op_type, f, k, value) in entries {
            h.push(HistoryEntry {
                process: p as u64,
                op_type,
                f: f.to_string(),
                key: Some(["x", "y"][k].to_string()),
                value,
                time,
            });
        }
        h
    })
}

fn config(cases: u32) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(0x5e9),
        failure_persistence: None,
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn register_agrees_with_brute_force(h in small_history(&["read", "write", "cas"], 4)) {
        let ops = prepare_ops(&Register, &h).unwrap();
        let expected = brute_force(&Register, &ops);
        let report = sequential::check_ops(&Register, &ops, &CheckOptions::default());
        prop_assert_eq!(report.verdict == SC, expected, "{:?}", h);
    }

    #[test]
    fn reads_and_writes_agree_with_brute_force(h in small_history(&["read", "write"], 3)) {
        let ops = prepare_ops(&Register, &h).unwrap();
        let expected = brute_force(&Register, &ops);
        let report = sequential::check_ops(&Register, &ops, &CheckOptions::default());
        prop_assert_eq!(report.verdict == SC, expected, "{:?}", h);
    }
}

/// The comparisons are only worth something if the random histories are
/// often accepted and often rejected.
#[test]
fn small_histories_cover_both_verdicts() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::new(config(1));
    let strategy = small_history(&["read", "write", "cas"], 4);
    let (mut accepted, mut rejected) = (0, 0);
    for _ in 0..300 {
        let h = strategy.new_tree(&mut runner).unwrap().current();
        let ops = prepare_ops(&Register, &h).unwrap();
        if brute_force(&Register, &ops) {
            accepted += 1;
        } else {
            rejected += 1;
        }
    }
    assert!(
        accepted >= 50 && rejected >= 50,
        "accepted {accepted}, rejected {rejected}"
    );
}

/// `clustersim check --consistency sequential`: its own exit codes, and an
/// unknown name is bad input.
#[test]
fn the_command_line_checks_either() {
    use checkers::cli::{check_command, CheckArgs, EXIT_BAD_INPUT, EXIT_NOT_LINEARIZABLE};
    let h = Builder::new()
        .invoke(10, 1, "write", json!(1))
        .ok(20, 1, "write", json!(1))
        .invoke(30, 2, "read", Value::Null)
        .ok(40, 2, "read", Value::Null)
        .build();
    let dir = std::env::temp_dir().join(format!("checkers-sequential-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("stale.jsonl");
    let lines: Vec<String> = h
        .entries
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    std::fs::write(&file, lines.join("\n")).unwrap();
    let args = |consistency: Option<&str>| CheckArgs {
        file: file.clone(),
        model: "register".to_string(),
        consistency: consistency.map(str::to_string),
        ..CheckArgs::default()
    };
    assert_eq!(check_command(&args(None)), EXIT_NOT_LINEARIZABLE);
    assert_eq!(
        check_command(&args(Some("linearizable"))),
        EXIT_NOT_LINEARIZABLE
    );
    assert_eq!(check_command(&args(Some("sequential"))), 0);
    assert_eq!(check_command(&args(Some("causal"))), EXIT_BAD_INPUT);
}

/// A report names the model as it was asked for: `cas-register` is the
/// register model under another name, not "register".
#[test]
fn a_report_names_the_model_it_was_asked_for() {
    let h = Builder::new()
        .invoke(10, 1, "write", json!(1))
        .ok(20, 1, "write", json!(1))
        .build();
    for model in ["cas-register", "register"] {
        let report = checkers::check_history_named(model, &h, &CheckOptions::default()).unwrap();
        assert_eq!(report.model, model);
    }
}
