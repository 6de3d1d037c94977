//! Property tests.
//!
//! * A history produced by a sequential execution, with a random concurrency
//!   window around each operation's moment of effect and random outcomes
//!   (`ok`, `fail`, `info`, never completed), is always linearizable.
//! * The same history with an injected stale read (register) or lost write
//!   (KV append) is always rejected, and the counterexample names the
//!   injected operation (for the lost write, it or a later operation of its
//!   key).
//! * On small random histories, the checker agrees with a brute-force search
//!   over every order.
//!
//! Case counts are modest so the suite stays fast in debug builds; the seed
//! is fixed so a failure reproduces.

use checkers::models::{Kv, Lock, Register};
use checkers::{
    check_history, check_ops, prepare_ops, CheckOptions, HistoryModel, Model, Op,
    Strategy as Procedure, Verdict,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError};
use serde_json::{json, Value};
use sim_core::history::{History, HistoryEntry, OpType};

fn config(cases: u32) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(0x5eed),
        failure_persistence: None,
        ..Config::default()
    }
}

/// What became of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ok,
    /// Took effect, reported `info`.
    InfoTaken,
    /// Did not take effect, reported `info`.
    InfoNotTaken,
    /// Did not take effect, reported `fail`.
    Failed,
    /// Took effect, never completed.
    PendingTaken,
    /// Did not take effect, never completed.
    PendingNotTaken,
}

impl Outcome {
    fn taken(self) -> bool {
        matches!(
            self,
            Outcome::Ok | Outcome::InfoTaken | Outcome::PendingTaken
        )
    }
    fn completes(self) -> bool {
        !matches!(self, Outcome::PendingTaken | Outcome::PendingNotTaken)
    }
    fn report(self) -> OpType {
        match self {
            Outcome::Ok => OpType::Ok,
            Outcome::Failed => OpType::Fail,
            _ => OpType::Info,
        }
    }
}

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        12 => Just(Outcome::Ok),
        1 => Just(Outcome::InfoTaken),
        1 => Just(Outcome::InfoNotTaken),
        1 => Just(Outcome::Failed),
        1 => Just(Outcome::PendingTaken),
        1 => Just(Outcome::PendingNotTaken),
    ]
}

/// An executed operation: when it took effect (`at`), its window, and what
/// the history records for it.
#[derive(Debug, Clone)]
struct Timed {
    at: u64,
    lead: u64,
    lag: u64,
    f: &'static str,
    key: Option<String>,
    input: Value,
    output: Value,
    outcome: Outcome,
}

/// Lays the operations out as a history: invoke at `at - lead`, complete at
/// `at + lag`, processes reused once free. Returns the history and, for each
/// operation, its position among the history's operations.
fn layout(ops: &[Timed]) -> (History, Vec<usize>) {
    // (time, 0 = completion first at equal times, op, is invoke)
    let mut events: Vec<(u64, u8, usize)> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        events.push((op.at - op.lead, 1, i));
        if op.outcome.completes() {
            // +1: an operation completes strictly after it took effect, so
            // its completion never sorts before its own invocation.
            events.push((op.at + op.lag + 1, 0, i));
        }
    }
    events.sort();
    let mut free: Vec<u64> = Vec::new(); // processes with no open op
    let mut next_process = 0u64;
    let mut process_of = vec![0u64; ops.len()];
    let mut position = vec![0usize; ops.len()];
    let mut invoked = 0;
    let mut history = History::new();
    for (time, kind, i) in events {
        let op = &ops[i];
        let (op_type, value) = if kind == 1 {
            let p = free.pop().unwrap_or_else(|| {
                next_process += 1;
                next_process - 1
            });
            process_of[i] = p;
            position[i] = invoked;
            invoked += 1;
            (OpType::Invoke, op.input.clone())
        } else {
            free.push(process_of[i]);
            (op.outcome.report(), op.output.clone())
        };
        history.push(HistoryEntry {
            process: process_of[i],
            op_type,
            f: op.f.to_string(),
            key: op.key.clone(),
            value,
            time,
        });
    }
    (history, position)
}

const STEP: u64 = 100;
const START: u64 = 1_000;
/// The quiet gap opened for injected probes: longer than any window.
const GAP: u64 = 2_000;

/// Register plan: (kind 0 read / 1 write / 2 cas that matches / 3 cas that
/// misses, outcome, lead, lag).
type Plan = Vec<(u8, Outcome, u64, u64)>;

fn plan(max_ops: usize) -> impl Strategy<Value = (Plan, u64)> {
    (1u64..400).prop_flat_map(move |window| {
        (
            prop::collection::vec((0u8..4, outcome(), 0..window, 0..window), 1..max_ops),
            Just(window),
        )
    })
}

/// Executes a register plan sequentially. With `gap = Some(g)`, inserts a
/// quiet gap before operation `g` holding the probes `write X; write Y;
/// read -> X` (a stale read); returns the read's index in the ops.
fn register_run(plan: &Plan, gap: Option<usize>) -> (Vec<Timed>, Option<usize>) {
    let mut value = Value::Null;
    let mut fresh = 0i64;
    let mut ops = Vec::new();
    let mut probe_read = None;
    let mut shift = 0;
    // One more round than operations: the gap may come after the last.
    for i in 0..=plan.len() {
        if gap == Some(i) {
            let t0 = START + STEP * i as u64 + 400;
            let (x, y) = (fresh + 1000, fresh + 1001);
            fresh += 2;
            for (k, (f, input, output)) in [
                ("write", json!(x), json!(x)),
                ("write", json!(y), json!(y)),
                ("read", Value::Null, json!(x)), // stale: the value is y
            ]
            .into_iter()
            .enumerate()
            {
                if f == "read" {
                    probe_read = Some(ops.len());
                }
                ops.push(Timed {
                    at: t0 + 100 * k as u64 + 10,
                    lead: 10,
                    lag: 10,
                    f,
                    key: None,
                    input,
                    output,
                    outcome: Outcome::Ok,
                });
            }
            value = json!(y);
            shift = GAP;
        }
        let Some(&(kind, mut outcome, lead, lag)) = plan.get(i) else {
            break;
        };
        let at = START + STEP * i as u64 + shift;
        let (f, input, output) = match kind {
            0 => ("read", Value::Null, value.clone()),
            1 => {
                fresh += 1;
                let v = json!(fresh);
                if outcome.taken() {
                    value = v.clone();
                }
                ("write", v.clone(), v)
            }
            _ => {
                fresh += 1;
                let expected = if kind == 2 {
                    value.clone()
                } else {
                    json!(-fresh)
                };
                let pair = json!([expected, fresh]);
                if expected != value {
                    // A CAS that misses has no effect: it fails (or is unknown).
                    if outcome.taken() {
                        outcome = Outcome::Failed;
                    }
                } else if outcome.taken() {
                    value = json!(fresh);
                }
                ("cas", pair.clone(), pair)
            }
        };
        ops.push(Timed {
            at,
            lead,
            lag,
            f,
            key: None,
            input,
            output,
            outcome,
        });
    }
    (ops, probe_read)
}

/// KV plan: (key 0..3, kind 0 get / 1 put / 2 append, outcome, lead, lag).
type KvPlan = Vec<(u8, u8, Outcome, u64, u64)>;

fn kv_plan(max_ops: usize) -> impl Strategy<Value = (KvPlan, u64)> {
    (1u64..400).prop_flat_map(move |window| {
        (
            prop::collection::vec(
                (0u8..3, 0u8..3, outcome(), 0..window, 0..window),
                1..max_ops,
            ),
            Just(window),
        )
    })
}

/// Executes a KV plan sequentially. With `gap = Some((g, key))`, inserts a
/// quiet gap before operation `g` holding `append A; append B; get` on
/// `key`, where the get misses A (a lost write); returns the get's index.
fn kv_run(plan: &KvPlan, gap: Option<(usize, u8)>) -> (Vec<Timed>, Option<usize>) {
    let mut store = [String::new(), String::new(), String::new()];
    let mut fresh = 0;
    let mut ops = Vec::new();
    let mut probe_get = None;
    let mut shift = 0;
    for i in 0..=plan.len() {
        if let Some((g, probe_key)) = gap {
            if g == i {
                let t0 = START + STEP * i as u64 + 400;
                let k = probe_key as usize;
                fresh += 2;
                let (a, b) = (format!("[A{fresh}]"), format!("[B{fresh}]"));
                let lost = format!("{}{b}", store[k]);
                store[k] = format!("{}{a}{b}", store[k]);
                for (j, (f, input, output)) in [
                    ("append", json!(a), json!(a)),
                    ("append", json!(b), json!(b)),
                    ("get", Value::Null, json!(lost)),
                ]
                .into_iter()
                .enumerate()
                {
                    if f == "get" {
                        probe_get = Some(ops.len());
                    }
                    ops.push(Timed {
                        at: t0 + 100 * j as u64 + 10,
                        lead: 10,
                        lag: 10,
                        f,
                        key: Some(k.to_string()),
                        input,
                        output,
                        outcome: Outcome::Ok,
                    });
                }
                shift = GAP;
            }
        }
        let Some(&(key, kind, mut outcome, lead, lag)) = plan.get(i) else {
            break;
        };
        let at = START + STEP * i as u64 + shift;
        let k = key as usize;
        fresh += 1;
        let (f, input, output) = match kind {
            0 => ("get", Value::Null, json!(store[k])),
            1 => {
                // Puts are never indeterminate here: an indeterminate put
                // could legitimately restore an old value and hide a lost write.
                if !matches!(outcome, Outcome::Ok | Outcome::Failed) {
                    outcome = Outcome::Ok;
                }
                let v = format!("<p{fresh}>");
                if outcome.taken() {
                    store[k] = v.clone();
                }
                ("put", json!(v), json!(v))
            }
            _ => {
                let v = format!("[a{fresh}]");
                if outcome.taken() {
                    store[k].push_str(&v);
                }
                ("append", json!(v), json!(v))
            }
        };
        ops.push(Timed {
            at,
            lead,
            lag,
            f,
            key: Some(k.to_string()),
            input,
            output,
            outcome,
        });
    }
    (ops, probe_get)
}

fn check<M: HistoryModel>(model: &M, h: &History) -> checkers::CheckReport {
    check_history(model, h, &CheckOptions::default()).expect("generated histories are well formed")
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn sequential_register_histories_are_linearizable((plan, _w) in plan(40)) {
        let (ops, _) = register_run(&plan, None);
        let (h, _) = layout(&ops);
        let report = check(&Register, &h);
        prop_assert_eq!(report.verdict, Verdict::Linearizable, "{:?}", report.counterexamples);
    }

    #[test]
    fn a_stale_read_is_rejected((plan, _w) in plan(40), at in any::<prop::sample::Index>()) {
        let g = at.index(plan.len() + 1);
        let (ops, probe) = register_run(&plan, Some(g));
        let (h, position) = layout(&ops);
        let report = check(&Register, &h);
        prop_assert_eq!(report.verdict, Verdict::NotLinearizable);
        let read = position[probe.unwrap()];
        prop_assert_eq!(report.counterexamples[0].unplaceable.op, read);
    }

    #[test]
    fn sequential_kv_histories_are_linearizable((plan, _w) in kv_plan(60)) {
        let (ops, _) = kv_run(&plan, None);
        let (h, _) = layout(&ops);
        let report = check(&Kv, &h);
        prop_assert_eq!(report.verdict, Verdict::Linearizable, "{:?}", report.counterexamples);
    }

    #[test]
    fn a_lost_append_is_rejected((plan, _w) in kv_plan(60), at in any::<prop::sample::Index>(), key in 0u8..3) {
        let g = at.index(plan.len() + 1);
        let (ops, probe) = kv_run(&plan, Some((g, key)));
        let (h, position) = layout(&ops);
        let report = check(&Kv, &h);
        prop_assert_eq!(report.verdict, Verdict::NotLinearizable);
        prop_assert_eq!(report.counterexamples.len(), 1);
        let cx = &report.counterexamples[0];
        prop_assert_eq!(cx.partition.clone(), Some(key.to_string()));
        // The get that misses A, or a later operation of its key: a search
        // that placed B, then that get, then A is stuck at the next get,
        // which saw A before B (a counterexample just as true, and longer).
        prop_assert!(cx.unplaceable.op >= position[probe.unwrap()]);
    }
}

/// Every order of `ops` consistent with real time, with indeterminate ops
/// optional: is one of them allowed by the model?
fn brute_force<M: Model>(model: &M, ops: &[Op<M::Input, M::Output>]) -> bool {
    fn go<M: Model>(
        model: &M,
        ops: &[Op<M::Input, M::Output>],
        placed: &mut [bool],
        state: &M::State,
    ) -> bool {
        let open = |i: usize| !placed[i] && ops[i].ret.is_some();
        let Some(first_return) = (0..ops.len())
            .filter(|&i| open(i))
            .filter_map(|i| ops[i].ret)
            .min()
        else {
            return true; // every completed operation is placed
        };
        for i in 0..ops.len() {
            if placed[i] || ops[i].call > first_return {
                continue;
            }
            if let Some(next) = model.step(state, &ops[i].input, ops[i].output.as_ref()) {
                placed[i] = true;
                let found = go(model, ops, placed, &next);
                placed[i] = false;
                if found {
                    return true;
                }
            }
        }
        false
    }
    go(model, ops, &mut vec![false; ops.len()], &model.init())
}

/// Each procedure alone (the depth-first search, the time sweep) and both
/// together give the brute-force verdict.
fn agree<M: Model>(
    model: &M,
    ops: &[Op<M::Input, M::Output>],
    expected: bool,
    h: &History,
) -> Result<(), TestCaseError> {
    for strategy in [Procedure::Search, Procedure::Sweep, Procedure::Both] {
        let options = CheckOptions {
            strategy,
            ..CheckOptions::default()
        };
        let report = check_ops(model, ops, &options);
        prop_assert_eq!(
            report.verdict == Verdict::Linearizable,
            expected,
            "{:?}: {:?}",
            strategy,
            h
        );
    }
    Ok(())
}

/// A random small history: each op its own process, times in a small range
/// so that many overlap or touch.
fn small_history(fs: &'static [&'static str], values: usize) -> impl Strategy<Value = History> {
    small_history_of(fs, values, 7)
}

/// The same with up to `max_ops - 1` operations.
fn small_history_of(
    fs: &'static [&'static str],
    values: usize,
    max_ops: usize,
) -> impl Strategy<Value = History> {
    let op = (0..fs.len(), 0..values, 0u64..12, 0u64..6, 0u8..8);
    prop::collection::vec(op, 1..max_ops).prop_map(move |raw| {
        let mut entries = Vec::new();
        for (p, &(f, v, start, len, fate)) in raw.iter().enumerate() {
            let f = fs[f];
            let value = match (f, v) {
                (_, 0) if f == "read" => Value::Null,
                // KV: values made of the appended pieces, so that gets see
                // one, two or no appends in either order.
                ("get", _) => json!(["", "a", "b", "ab", "ba", "aa"][v % 6]),
                ("append" | "put", _) => json!(["a", "b"][v % 2]),
                ("cas", _) => json!([v % 3, (v + 1) % 3]),
                _ => json!(v as i64 - 1),
            };
            let input = if ["read", "get", "acquire", "release"].contains(&f) {
                Value::Null
            } else {
                value.clone()
            };
            // Invocations sort before completions at equal times (each op
            // has its own process, so no process is reused).
            entries.push((start, 0u8, p, OpType::Invoke, f, input));
            let op_type = match fate {
                0 => None,
                1 => Some(OpType::Info),
                2 => Some(OpType::Fail),
                _ => Some(OpType::Ok),
            };
            if let Some(t) = op_type {
                entries.push((start + len, 1u8, p, t, f, value));
            }
        }
        entries.sort_by_key(|e| (e.0, e.1, e.2));
        let mut h = History::new();
        for (time, _, p, op_type, f, value) in entries {
            let kv = ["get", "append", "put"].contains(&f);
            h.push(HistoryEntry {
                process: p as u64,
                op_type,
                f: f.to_string(),
                key: kv.then(|| "k".to_string()),
                value,
                time,
            });
        }
        h
    })
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn register_agrees_with_brute_force(h in small_history(&["read", "write", "cas"], 4)) {
        let ops = prepare_ops(&Register, &h).unwrap();
        let expected = brute_force(&Register, &ops);
        agree(&Register, &ops, expected, &h)?;
    }

    /// Two values only: most operations have an identical twin, which the
    /// search's twin rule prunes; the verdicts must not change.
    #[test]
    fn register_with_twins_agrees_with_brute_force(h in small_history(&["read", "write"], 2)) {
        let ops = prepare_ops(&Register, &h).unwrap();
        let expected = brute_force(&Register, &ops);
        agree(&Register, &ops, expected, &h)?;
    }

    /// Appends only: the search also gives up on a configuration whose
    /// value no longer is a prefix of what a pending get returned.
    /// Longer histories of many concurrent writes of three values, each
    /// read by some reads: the search tries the writes a read needs first,
    /// the one returning first first; the verdicts must not change.
    #[test]
    fn concurrent_writes_agree_with_brute_force(h in small_history_of(&["read", "write"], 3, 10)) {
        let ops = prepare_ops(&Register, &h).unwrap();
        let expected = brute_force(&Register, &ops);
        agree(&Register, &ops, expected, &h)?;
    }

    /// Longer histories with every kind of register operation, many of
    /// them open together: the time sweep's free and useless-placement
    /// rules (see `sweep.rs`) meet CAS and indeterminate writes here.
    #[test]
    fn crowded_register_histories_agree_with_brute_force(
        h in small_history_of(&["read", "write", "cas", "write"], 3, 12)
    ) {
        let ops = prepare_ops(&Register, &h).unwrap();
        let expected = brute_force(&Register, &ops);
        agree(&Register, &ops, expected, &h)?;
    }

    #[test]
    fn kv_puts_and_gets_agree_with_brute_force(h in small_history_of(&["get", "put"], 6, 10)) {
        let ops = prepare_ops(&Kv, &h).unwrap();
        let expected = brute_force(&Kv, &ops);
        agree(&Kv, &ops, expected, &h)?;
    }

    #[test]
    fn kv_appends_agree_with_brute_force(h in small_history(&["get", "append"], 6)) {
        let ops = prepare_ops(&Kv, &h).unwrap();
        let expected = brute_force(&Kv, &ops);
        agree(&Kv, &ops, expected, &h)?;
    }

    #[test]
    fn kv_with_puts_agrees_with_brute_force(h in small_history(&["get", "append", "put"], 6)) {
        let ops = prepare_ops(&Kv, &h).unwrap();
        let expected = brute_force(&Kv, &ops);
        agree(&Kv, &ops, expected, &h)?;
    }

    #[test]
    fn lease_agrees_with_brute_force(h in small_history(&["acquire", "release"], 5)) {
        let model = Lock::lease();
        let ops = prepare_ops(&model, &h).unwrap();
        let expected = brute_force(&model, &ops);
        agree(&model, &ops, expected, &h)?;
    }
}

/// The brute-force comparisons are only worth something if the random small
/// histories are often rejected and often accepted.
#[test]
fn small_histories_cover_both_verdicts() {
    use proptest::strategy::ValueTree;
    fn count<M: HistoryModel>(model: &M, fs: &'static [&'static str], values: usize) {
        let mut runner = proptest::test_runner::TestRunner::new(config(1));
        let strategy = small_history(fs, values);
        let (mut accepted, mut rejected) = (0, 0);
        for _ in 0..300 {
            let h = strategy.new_tree(&mut runner).unwrap().current();
            let ops = prepare_ops(model, &h).unwrap();
            if brute_force(model, &ops) {
                accepted += 1;
            } else {
                rejected += 1;
            }
        }
        assert!(
            accepted >= 50 && rejected >= 50,
            "{fs:?}: accepted {accepted}, rejected {rejected}"
        );
    }
    count(&Register, &["read", "write", "cas"], 4);
    count(&Kv, &["get", "append"], 6);
}

/// A long history (20 000 operations, some indeterminate) is decided within
/// the default budget, both ways, and a stale read near its end is named.
#[test]
fn long_histories_are_decided() {
    // A fixed pseudo-random plan (xorshift), so the test is reproducible.
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut next = move |m: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % m
    };
    let outcomes = [
        Outcome::Ok,
        Outcome::InfoTaken,
        Outcome::InfoNotTaken,
        Outcome::Failed,
        Outcome::PendingNotTaken,
    ];
    let plan: Plan = (0..20_000)
        .map(|_| {
            let kind = next(4) as u8;
            let outcome = if next(10) < 8 {
                Outcome::Ok
            } else {
                outcomes[next(5) as usize]
            };
            (kind, outcome, next(250), next(250))
        })
        .collect();
    let (ops, _) = register_run(&plan, None);
    let (h, _) = layout(&ops);
    assert_eq!(check(&Register, &h).verdict, Verdict::Linearizable);
    let (ops, probe) = register_run(&plan, Some(19_900));
    let (h, position) = layout(&ops);
    let report = check(&Register, &h);
    assert_eq!(report.verdict, Verdict::NotLinearizable);
    assert_eq!(
        report.counterexamples[0].unplaceable.op,
        position[probe.unwrap()]
    );
}
