//! Hand-made histories with known verdicts, for every model, including the
//! meaning of `fail`, `info` and equal times, counterexamples and the budget.

use crate::common;

use checkers::models::{Counter, Kv, Lock, Register, Set};
use checkers::{
    check_history, check_history_named, CheckOptions, HistoryModel, PartitionStatus, Strategy,
    Verdict,
};
use common::Builder;
use serde_json::{json, Value};
use sim_core::history::{History, OpType};

fn verdict<M: HistoryModel>(model: &M, h: &History) -> Verdict {
    check_history(model, h, &CheckOptions::default())
        .unwrap()
        .verdict
}

const LIN: Verdict = Verdict::Linearizable;
const NOT: Verdict = Verdict::NotLinearizable;

#[test]
fn register_sequential_and_stale_read() {
    let ok = Builder::new()
        .invoke(0, 1, "write", json!(1))
        .ok(1, 1, "write", json!(1))
        .invoke(2, 2, "read", Value::Null)
        .ok(3, 2, "read", json!(1))
        .build();
    assert_eq!(verdict(&Register, &ok), LIN);
    let stale = Builder::new()
        .invoke(0, 1, "write", json!(1))
        .ok(1, 1, "write", json!(1))
        .invoke(2, 1, "write", json!(2))
        .ok(3, 1, "write", json!(2))
        .invoke(4, 2, "read", Value::Null)
        .ok(5, 2, "read", json!(1))
        .build();
    assert_eq!(verdict(&Register, &stale), NOT);
}

#[test]
fn concurrent_ops_may_go_either_way() {
    for seen in [Value::Null, json!(1)] {
        let h = Builder::new()
            .invoke(0, 1, "write", json!(1))
            .invoke(1, 2, "read", Value::Null)
            .ok(2, 2, "read", seen.clone())
            .ok(3, 1, "write", json!(1))
            .build();
        assert_eq!(verdict(&Register, &h), LIN, "read {seen}");
    }
    // A read that returns a value nobody wrote is never fine.
    let h = Builder::new()
        .invoke(0, 1, "write", json!(1))
        .invoke(1, 2, "read", Value::Null)
        .ok(2, 2, "read", json!(7))
        .ok(3, 1, "write", json!(1))
        .build();
    assert_eq!(verdict(&Register, &h), NOT);
}

#[test]
fn equal_times_count_as_concurrent() {
    // The read starts at the instant the write ends: either order is fine.
    let h = Builder::new()
        .invoke(0, 1, "write", json!(1))
        .invoke(5, 2, "read", Value::Null)
        .ok(5, 1, "write", json!(1))
        .ok(6, 2, "read", Value::Null)
        .build();
    assert_eq!(verdict(&Register, &h), LIN);
    // One nanosecond later it is not.
    let h = Builder::new()
        .invoke(0, 1, "write", json!(1))
        .ok(5, 1, "write", json!(1))
        .invoke(6, 2, "read", Value::Null)
        .ok(7, 2, "read", Value::Null)
        .build();
    assert_eq!(verdict(&Register, &h), NOT);
}

#[test]
fn failed_ops_did_not_happen() {
    let h = Builder::new()
        .invoke(0, 1, "write", json!(1))
        .fail(1, 1, "write", json!(1))
        .invoke(2, 2, "read", Value::Null)
        .ok(3, 2, "read", json!(1))
        .build();
    assert_eq!(verdict(&Register, &h), NOT);
}

#[test]
fn indeterminate_ops_may_happen_late_or_never() {
    let base = || {
        Builder::new()
            .invoke(0, 1, "write", json!(1))
            .info(1, 1, "write", json!(1))
    };
    // Took effect, long after its `info`.
    let late = base()
        .invoke(10, 2, "read", Value::Null)
        .ok(11, 2, "read", Value::Null)
        .invoke(20, 2, "read", Value::Null)
        .ok(21, 2, "read", json!(1))
        .build();
    assert_eq!(verdict(&Register, &late), LIN);
    // Never took effect.
    let never = base()
        .invoke(10, 2, "read", Value::Null)
        .ok(11, 2, "read", Value::Null)
        .build();
    assert_eq!(verdict(&Register, &never), LIN);
    // But it cannot take effect and then be undone.
    let undone = base()
        .invoke(10, 2, "read", Value::Null)
        .ok(11, 2, "read", json!(1))
        .invoke(20, 2, "read", Value::Null)
        .ok(21, 2, "read", Value::Null)
        .build();
    assert_eq!(verdict(&Register, &undone), NOT);
    // Nor before it was invoked.
    let early = Builder::new()
        .invoke(0, 2, "read", Value::Null)
        .ok(1, 2, "read", json!(1))
        .invoke(5, 1, "write", json!(1))
        .build();
    assert_eq!(verdict(&Register, &early), NOT);
    // An indeterminate CAS that could never have applied simply did not.
    let impossible = Builder::new()
        .invoke(0, 1, "cas", json!([5, 6]))
        .info(1, 1, "cas", json!([5, 6]))
        .invoke(2, 2, "read", Value::Null)
        .ok(3, 2, "read", Value::Null)
        .build();
    assert_eq!(verdict(&Register, &impossible), LIN);
    // An operation never completed at all is indeterminate too.
    let open = Builder::new()
        .invoke(0, 1, "write", json!(1))
        .invoke(5, 2, "read", Value::Null)
        .ok(6, 2, "read", json!(1))
        .build();
    assert_eq!(verdict(&Register, &open), LIN);
}

#[test]
fn cas_needs_the_expected_value() {
    let h = |expected: i64| {
        Builder::new()
            .invoke(0, 1, "write", json!(1))
            .ok(1, 1, "write", json!(1))
            .invoke(2, 1, "cas", json!([expected, 2]))
            .ok(3, 1, "cas", json!([expected, 2]))
            .invoke(4, 1, "read", Value::Null)
            .ok(5, 1, "read", json!(2))
            .build()
    };
    assert_eq!(verdict(&Register, &h(1)), LIN);
    assert_eq!(verdict(&Register, &h(3)), NOT);
}

#[test]
fn counterexample_names_the_op_that_cannot_be_placed() {
    let h = Builder::new()
        .invoke(0, 1, "write", json!(1))
        .ok(1, 1, "write", json!(1))
        .invoke(2, 1, "write", json!(2))
        .ok(3, 1, "write", json!(2))
        .invoke(4, 2, "read", Value::Null)
        .ok(5, 2, "read", json!(1))
        .build();
    let report = check_history(&Register, &h, &CheckOptions::default()).unwrap();
    assert_eq!(report.verdict, NOT);
    let cx = &report.counterexamples[0];
    assert_eq!(cx.unplaceable.op, 2, "the read (third operation)");
    assert_eq!(cx.unplaceable.description, "read -> 1");
    assert_eq!(cx.prefix.len(), 2);
    assert_eq!(cx.state, "2");
    let text = cx.render();
    assert!(
        text.contains("cannot be placed: op #2 (process 2) read -> 1"),
        "{text}"
    );
    assert!(text.contains("state after the prefix: 2"), "{text}");
    let json = serde_json::to_value(cx).unwrap();
    assert_eq!(json["unplaceable"]["description"], "read -> 1");
    assert_eq!(json["prefix"][1]["state_after"], "2");
}

#[test]
fn kv_is_checked_per_key_and_names_the_key() {
    let kv = |f: &str, key: &str, v: Value, p: u64, t: u64, b: Builder| {
        b.entry(
            t,
            p,
            OpType::Invoke,
            f,
            Some(key),
            if f == "get" { Value::Null } else { v.clone() },
        )
        .entry(t + 1, p, OpType::Ok, f, Some(key), v)
    };
    let mut b = Builder::new();
    b = kv("append", "a", json!("x"), 1, 0, b);
    b = kv("append", "b", json!("y"), 1, 2, b);
    b = kv("get", "a", json!("x"), 2, 4, b);
    b = kv("get", "b", json!(""), 2, 6, b); // lost append on key b
    let report = check_history(&Kv, &b.build(), &CheckOptions::default()).unwrap();
    assert_eq!(report.verdict, NOT);
    assert_eq!(report.partitions, 2);
    assert_eq!(report.counterexamples.len(), 1);
    assert_eq!(report.counterexamples[0].partition.as_deref(), Some("b"));
    assert!(report.counterexamples[0].render().contains("key \"b\""));
}

#[test]
fn lock_mutual_exclusion_and_fencing() {
    let grant = |b: Builder, p: u64, t: u64, token: i64| {
        b.invoke(t, p, "acquire", Value::Null)
            .ok(t + 1, p, "acquire", json!(token))
    };
    let release = |b: Builder, p: u64, t: u64| {
        b.invoke(t, p, "release", Value::Null)
            .ok(t + 1, p, "release", Value::Null)
    };
    // 1 acquires, 2 acquires before 1 released.
    let overlap = grant(grant(Builder::new(), 1, 0, 1), 2, 10, 2).build();
    assert_eq!(verdict(&Lock::mutex(), &overlap), NOT);
    assert_eq!(verdict(&Lock::lease(), &overlap), LIN, "a lease may expire");
    let proper = release(
        grant(release(grant(Builder::new(), 1, 0, 1), 1, 2), 2, 10, 2),
        2,
        12,
    )
    .build();
    assert_eq!(verdict(&Lock::mutex(), &proper), LIN);
    // Tokens must increase, even across an expired lease.
    let backwards = grant(grant(Builder::new(), 1, 0, 5), 2, 10, 3).build();
    assert_eq!(verdict(&Lock::lease(), &backwards), NOT);
    // Releasing a lock one does not hold cannot succeed.
    let foreign = release(grant(Builder::new(), 1, 0, 1), 2, 10).build();
    assert_eq!(verdict(&Lock::mutex(), &foreign), NOT);
    // An indeterminate grant that took effect (its client later released
    // the lock) used up a token: the next one must be above it.
    let h = Builder::new()
        .invoke(0, 1, "acquire", Value::Null)
        .ok(1, 1, "acquire", json!(1))
        .invoke(2, 2, "acquire", Value::Null)
        .info(3, 2, "acquire", Value::Null)
        .invoke(5, 2, "release", Value::Null)
        .ok(6, 2, "release", Value::Null)
        .build();
    let h2 = grant(Builder { history: h.clone() }, 3, 10, 2).build();
    assert_eq!(verdict(&Lock::lease(), &h2), NOT);
    let h3 = grant(Builder { history: h }, 3, 10, 3).build();
    assert_eq!(verdict(&Lock::lease(), &h3), LIN);
}

#[test]
fn set_and_counter() {
    let set = |seen: Value| {
        Builder::new()
            .invoke(0, 1, "add", json!(1))
            .ok(1, 1, "add", json!(1))
            .invoke(2, 2, "add", json!(2))
            .invoke(3, 1, "read", Value::Null)
            .ok(4, 1, "read", seen)
            .build()
    };
    assert_eq!(verdict(&Set, &set(json!([1]))), LIN);
    assert_eq!(verdict(&Set, &set(json!([2, 1]))), LIN);
    assert_eq!(verdict(&Set, &set(json!([]))), NOT);
    assert_eq!(verdict(&Set, &set(json!([1, 3]))), NOT);
    let counter = |seen: i64| {
        Builder::new()
            .invoke(0, 1, "incr", json!(2))
            .ok(1, 1, "incr", json!(2))
            .invoke(2, 2, "incr", json!(3))
            .info(3, 2, "incr", json!(3))
            .invoke(4, 1, "read", Value::Null)
            .ok(5, 1, "read", json!(seen))
            .build()
    };
    assert_eq!(verdict(&Counter, &counter(2)), LIN);
    assert_eq!(verdict(&Counter, &counter(5)), LIN);
    assert_eq!(verdict(&Counter, &counter(3)), NOT);
}

/// A history that defeats the search: many concurrent indeterminate writes
/// and reads that no order explains only at the very end.
/// Every write is indeterminate and its value is read by a concurrent read,
/// so no write can be dropped. At the end, reads of 0, then 1, then 0 again:
/// the one write of 0 would have to take effect twice, which the search
/// finds only after trying every subset of the other writes that could go
/// before the write of 0.
fn hard_history(n: u64) -> History {
    let mut b = Builder::new();
    for p in 0..n {
        b = b
            .invoke(p, p, "write", json!(p))
            .invoke(p, 500 + p, "read", Value::Null);
    }
    for p in 0..n {
        b = b
            .info(100 + p, p, "write", json!(p))
            .ok(100 + p, 500 + p, "read", json!(p));
    }
    for (p, v, t) in [(999, 0, 1000), (998, 1, 1002), (997, 0, 1004)] {
        b = b
            .invoke(t, p, "read", Value::Null)
            .ok(t + 1, p, "read", json!(v));
    }
    b.build()
}

/// Twenty concurrent writes returning in the order of their values, then
/// reads (one after the other) of `reads`: the write of the first value read
/// must go last among the twenty, where the search, placing writes in
/// return order, puts it first.
fn last_write_decides(reads: &[u64]) -> History {
    let mut b = Builder::new();
    for p in 0..20u64 {
        b = b.invoke(0, p, "write", json!(p));
    }
    for p in 0..20u64 {
        b = b.ok(10 + p, p, "write", json!(p));
    }
    for (i, &v) in reads.iter().enumerate() {
        let t = 100 + 2 * i as u64;
        b = b.invoke(t, 100 + i as u64, "read", Value::Null).ok(
            t + 1,
            100 + i as u64,
            "read",
            json!(v),
        );
    }
    b.build()
}

/// The no-writer-left rule: once the write of 0 is placed and another
/// write after it, the read of 0 is stranded, so the search backtracks at
/// once instead of trying every order of the writes placed after it
/// (2^19 sets). Both verdicts come within a few thousand steps; without the
/// rule, neither comes within millions.
#[test]
fn reads_stranded_without_a_writer_end_the_branch() {
    let budget = CheckOptions::with_max_steps(5_000);
    let report = check_history(&Register, &last_write_decides(&[0]), &budget).unwrap();
    assert_eq!(report.verdict, LIN);
    // A value nobody wrote, read after all that: the search has no need to
    // try every order of the writes before it finds out.
    let report = check_history(&Register, &last_write_decides(&[0, 20]), &budget).unwrap();
    assert_eq!(report.verdict, NOT);
    let c = &report.counterexamples[0];
    assert_eq!(
        c.unplaceable.process, 101,
        "the read of 20 cannot be placed"
    );
}

#[test]
fn budget_gives_unknown() {
    let h = hard_history(20);
    let tight = CheckOptions::with_max_steps(1000);
    let report = check_history_named("register", &h, &tight).unwrap();
    assert_eq!(report.verdict, Verdict::Unknown);
    assert_eq!(report.steps, 1000);
    assert_eq!(report.unknown_partitions, vec![String::new()]);
    assert_eq!(
        report.unknown_reason.as_deref(),
        Some("step budget (1000 steps)")
    );
    // With a small instance and the default budget, it decides.
    let report =
        check_history_named("register", &hard_history(8), &CheckOptions::default()).unwrap();
    assert_eq!(report.verdict, NOT);
}

#[test]
fn a_passed_deadline_gives_unknown() {
    let h = hard_history(20);
    let options = CheckOptions {
        max_steps: None,
        deadline: Some(std::time::Instant::now()),
        ..CheckOptions::default()
    };
    let report = check_history_named("register", &h, &options).unwrap();
    assert_eq!(report.verdict, Verdict::Unknown);
    assert_eq!(report.unknown_reason.as_deref(), Some("deadline"));
}

#[test]
fn a_memory_limit_gives_unknown_per_partition() {
    let h = hard_history(20);
    let options = CheckOptions {
        max_memory_bytes: Some(10_000),
        ..CheckOptions::default()
    };
    let report = check_history_named("register", &h, &options).unwrap();
    assert_eq!(report.verdict, Verdict::Unknown);
    assert!(report.peak_memory_bytes <= 10_000);
    assert!(report.unknown_reason.unwrap().starts_with("memory limit"));
    // A partition out of memory gives its memory back: a violation in
    // another key still decides the verdict.
    // (The KV model reads `write` and `read` as put and get.)
    let mut h = keyed(hard_history(20), "a");
    let b = Builder::new()
        .entry(1002, 98, OpType::Invoke, "get", Some("b"), Value::Null)
        .entry(1003, 98, OpType::Ok, "get", Some("b"), json!("nope"));
    h.entries.extend(b.build().entries);
    let report = check_history(&Kv, &h, &options).unwrap();
    assert_eq!(report.unknown_partitions, vec!["a".to_string()]);
    assert_eq!(report.verdict, NOT, "key b fails on its own");
    assert_eq!(report.counterexamples[0].partition.as_deref(), Some("b"));
}

#[test]
fn verdict_and_counterexample_are_reproducible() {
    let h = hard_history(8);
    let a = check_history_named("register", &h, &CheckOptions::default()).unwrap();
    let b = check_history_named("register", &h, &CheckOptions::default()).unwrap();
    assert_eq!(a.steps, b.steps);
    assert_eq!(a.counterexamples, b.counterexamples);
}

#[test]
fn unknown_model_and_bad_values_are_errors() {
    let h = Builder::new().invoke(0, 1, "cas", json!(3)).build();
    let err = check_history_named("register", &h, &CheckOptions::default()).unwrap_err();
    assert!(err.to_string().contains("entry 0"), "{err}");
    assert!(check_history_named("queue", &h, &CheckOptions::default()).is_err());
}

/// Two registers named by key: each alone is linearizable, but read as one
/// register the history is not (a read of key "b" sees 2 after key "a" was
/// written 1). Every model splits by key.
#[test]
fn every_model_judges_each_key_alone() {
    let two_registers = Builder::new()
        .entry(0, 1, OpType::Invoke, "write", Some("a"), json!(1))
        .entry(1, 1, OpType::Ok, "write", Some("a"), json!(1))
        .entry(2, 2, OpType::Invoke, "write", Some("b"), json!(2))
        .entry(3, 2, OpType::Ok, "write", Some("b"), json!(2))
        .entry(4, 1, OpType::Invoke, "read", Some("a"), Value::Null)
        .entry(5, 1, OpType::Ok, "read", Some("a"), json!(1))
        .build();
    for model in ["register", "cas-register", "kv"] {
        let report = check_history_named(model, &two_registers, &CheckOptions::default()).unwrap();
        assert_eq!(report.verdict, Verdict::Linearizable, "{model}");
        assert_eq!(report.partitions, 2, "{model}");
    }
    // A stale read on one key is still caught, and named by its key.
    let stale = Builder {
        history: two_registers,
    }
    .entry(6, 2, OpType::Invoke, "read", Some("b"), Value::Null)
    .entry(7, 2, OpType::Ok, "read", Some("b"), json!(1))
    .build();
    for model in ["register", "cas-register", "kv"] {
        let report = check_history_named(model, &stale, &CheckOptions::default()).unwrap();
        assert_eq!(report.verdict, NOT, "{model}");
        assert_eq!(report.counterexamples[0].partition.as_deref(), Some("b"));
    }
    // Two locks: each is held by one client at a time.
    let two_locks = Builder::new()
        .entry(0, 1, OpType::Invoke, "acquire", Some("x"), Value::Null)
        .entry(1, 1, OpType::Ok, "acquire", Some("x"), json!(1))
        .entry(2, 2, OpType::Invoke, "acquire", Some("y"), Value::Null)
        .entry(3, 2, OpType::Ok, "acquire", Some("y"), json!(1))
        .build();
    let report = check_history_named("lock", &two_locks, &CheckOptions::default()).unwrap();
    assert_eq!(report.verdict, Verdict::Linearizable);
    let double_grant = Builder { history: two_locks }
        .entry(4, 3, OpType::Invoke, "acquire", Some("y"), Value::Null)
        .entry(5, 3, OpType::Ok, "acquire", Some("y"), json!(2))
        .build();
    let report = check_history_named("lock", &double_grant, &CheckOptions::default()).unwrap();
    assert_eq!(report.verdict, NOT);
    assert_eq!(report.counterexamples[0].partition.as_deref(), Some("y"));
    // Counters and sets by key.
    let counters = Builder::new()
        .entry(0, 1, OpType::Invoke, "add", Some("c1"), json!(5))
        .entry(1, 1, OpType::Ok, "add", Some("c1"), json!(5))
        .entry(2, 2, OpType::Invoke, "read", Some("c2"), Value::Null)
        .entry(3, 2, OpType::Ok, "read", Some("c2"), json!(0))
        .build();
    let report = check_history_named("counter", &counters, &CheckOptions::default()).unwrap();
    assert_eq!(report.verdict, Verdict::Linearizable);
    let sets = Builder::new()
        .entry(0, 1, OpType::Invoke, "add", Some("s1"), json!(5))
        .entry(1, 1, OpType::Ok, "add", Some("s1"), json!(5))
        .entry(2, 2, OpType::Invoke, "read", Some("s2"), Value::Null)
        .entry(3, 2, OpType::Ok, "read", Some("s2"), json!([5]))
        .build();
    let report = check_history_named("set", &sets, &CheckOptions::default()).unwrap();
    assert_eq!(report.verdict, NOT, "s2 never had 5 added");
    assert_eq!(report.counterexamples[0].partition.as_deref(), Some("s2"));
}

/// `hard_history` on key "a", prefixed by `key` on every entry.
fn keyed(h: History, key: &str) -> History {
    let mut out = History::new();
    for mut e in h.entries {
        e.key = Some(key.to_string());
        out.push(e);
    }
    out
}

/// A key that no budget decides comes first in label order; a key that
/// fails in a few steps comes last. The scheduler interleaves them, so the
/// failing key decides the check, well within the budget.
#[test]
fn a_hard_key_does_not_hide_a_failing_one() {
    let mut h = keyed(hard_history(40), "a");
    let failing = keyed(
        Builder::new()
            .invoke(2000, 7000, "write", json!(1))
            .ok(2001, 7000, "write", json!(1))
            .invoke(2002, 7001, "read", Value::Null)
            .ok(2003, 7001, "read", json!(2))
            .build(),
        "z",
    );
    for e in failing.entries {
        h.push(e);
    }
    let report =
        check_history_named("register", &h, &CheckOptions::with_max_steps(5_000_000)).unwrap();
    assert_eq!(report.verdict, NOT);
    assert_eq!(report.counterexamples[0].partition.as_deref(), Some("z"));
    let statuses: Vec<_> = report
        .partition_reports
        .iter()
        .map(|p| (p.label.clone(), p.status))
        .collect();
    assert_eq!(
        statuses,
        vec![
            (Some("a".to_string()), PartitionStatus::NotNeeded),
            (Some("z".to_string()), PartitionStatus::NotLinearizable),
        ]
    );
    assert!(report.steps < 100_000, "{} steps", report.steps);
}

/// On `unknown`, the report says what each partition came to, with the
/// longest linearizable prefix of the undecided ones.
#[test]
fn unknown_says_what_was_decided() {
    let mut h = keyed(hard_history(30), "hard");
    let easy = keyed(
        Builder::new()
            .invoke(3000, 8000, "write", json!(1))
            .ok(3001, 8000, "write", json!(1))
            .build(),
        "easy",
    );
    for e in easy.entries {
        h.push(e);
    }
    let report =
        check_history_named("register", &h, &CheckOptions::with_max_steps(20_000)).unwrap();
    assert_eq!(report.verdict, Verdict::Unknown);
    assert_eq!(report.steps, 20_000);
    let easy = &report.partition_reports[0];
    assert_eq!(
        (easy.label.as_deref(), easy.status),
        (Some("easy"), PartitionStatus::Linearizable)
    );
    let hard = &report.partition_reports[1];
    assert_eq!(hard.status, PartitionStatus::OutOfSteps);
    assert_eq!(hard.completed, 33);
    assert!(
        hard.longest_prefix > 0 && hard.longest_prefix < 33,
        "{hard:?}"
    );
    let text = checkers::cli::render_report("h", &report);
    assert!(text.contains("key \"easy\": linearizable"), "{text}");
    assert!(text.contains("key \"hard\": out of steps"), "{text}");
    assert!(text.contains("longest linearizable prefix"), "{text}");
}

/// The memory limit covers every table of the search, and the search stops
/// before its tables would outgrow it.
#[test]
fn the_memory_limit_bounds_every_table() {
    let h = hard_history(20);
    for limit in [50_000usize, 400_000, 3_000_000] {
        let options = CheckOptions {
            max_steps: None,
            max_memory_bytes: Some(limit),
            ..CheckOptions::default()
        };
        let report = check_history_named("register", &h, &options).unwrap();
        assert_eq!(report.verdict, Verdict::Unknown, "limit {limit}");
        assert_eq!(
            report.partition_reports[0].status,
            PartitionStatus::OutOfMemory
        );
        assert!(
            report.peak_memory_bytes <= limit,
            "{} > {limit}",
            report.peak_memory_bytes
        );
        assert!(
            report.peak_memory_bytes > limit / 4,
            "{} of {limit}",
            report.peak_memory_bytes
        );
    }
}

/// The 50-client class: a KV history shaped like Porcupine's `kv/c10-bad`
/// with 50 clients, 10 keys, 1 700 operations and one stale read. It is
/// decided (`not linearizable`, the stale read's key named) with search
/// tables that stay under 200 MB (the figure counts every table).
#[test]
fn fifty_clients_stale_read_is_decided() {
    use checkers::synthetic::{stale_read, Shape};
    let shape = Shape::kv(50, 1);
    let (h, client, call) = stale_read(&shape).unwrap();
    assert_eq!(h.entries.len(), 2 * 1700);
    let report = check_history(&Kv, &h, &CheckOptions::default()).unwrap();
    assert_eq!(report.verdict, NOT);
    assert!(
        report.peak_memory_bytes < 200_000_000,
        "{}",
        report.peak_memory_bytes
    );
    let c = &report.counterexamples[0];
    assert_eq!(
        (c.unplaceable.process, c.unplaceable.invoke_time),
        (client, call)
    );
}

/// Every key of the 50-client class alone is decided, in a few hundred
/// steps each: the stale read's key not linearizable, the others
/// linearizable. (Porcupine leaves two of them undecided after 60 s; key 3
/// took more than 5 M steps before the reachability test for appends.)
#[test]
fn fifty_clients_every_key_is_decided_alone() {
    use checkers::synthetic::{stale_read, Shape};
    let shape = Shape::kv(50, 1);
    let (h, client, call) = stale_read(&shape).unwrap();
    let stale_key = h
        .entries
        .iter()
        .find(|e| e.process == client && e.time == call && e.op_type == OpType::Invoke)
        .and_then(|e| e.key.clone())
        .unwrap();
    let budget = CheckOptions::with_max_steps(20_000);
    for key in (0..shape.keys).map(|k| k.to_string()) {
        let mut alone = History::new();
        for e in h.entries.iter().filter(|e| e.key.as_deref() == Some(&key)) {
            alone.push(e.clone());
        }
        let report = check_history(&Kv, &alone, &budget).unwrap();
        let expected = if key == stale_key { NOT } else { LIN };
        assert_eq!(report.verdict, expected, "key {key}");
    }
}

/// A history of our own simulator: `clustersim run raft-unreliable --set
/// workload.clients=40 --seed 1`, two keys of about 750 operations each,
/// with up to 40 operations open at once and indeterminate writes.
fn raft_unreliable_40_clients() -> History {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("benches/data/raft-unreliable-40-clients.jsonl");
    checkers::import::load(&path, None).unwrap().history
}

/// `clustersim run register-healthy --set workload.clients=40 --set
/// duration=1400ms --seed 1`: one register, 4 600 operations, writes drawn
/// from 50 values, so many writes share a value; around 1.35 s a round of
/// concurrent writes whose last one (by the quorum's order, not by return)
/// later reads depend on.
fn register_healthy_40_clients() -> History {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("benches/data/register-healthy-40-clients.jsonl");
    checkers::import::load(&path, None).unwrap().history
}

#[test]
fn forty_clients_from_our_simulator_are_decided() {
    let h = raft_unreliable_40_clients();
    let report = check_history_named("cas-register", &h, &CheckOptions::default()).unwrap();
    assert_eq!(report.verdict, LIN, "{:?}", report.unknown_reason);
    // Within 2 M steps: before the no-writer-left rule, 20 M did not do.
    let h = register_healthy_40_clients();
    let budget = CheckOptions::with_max_steps(2_000_000);
    let report = check_history_named("register", &h, &budget).unwrap();
    assert_eq!(report.verdict, LIN, "{:?}", report.unknown_reason);
}

#[test]
fn forty_clients_with_one_impossible_read_are_rejected() {
    let mut h = raft_unreliable_40_clients();
    // The last completed read of key 0 returns a value nobody wrote.
    let at = h
        .entries
        .iter()
        .rposition(|e| e.op_type == OpType::Ok && e.f == "read" && e.key.as_deref() == Some("0"))
        .unwrap();
    h.entries[at].value = json!(999_999);
    let report = check_history_named("cas-register", &h, &CheckOptions::default()).unwrap();
    assert_eq!(report.verdict, NOT);
    let c = &report.counterexamples[0];
    assert_eq!(c.partition.as_deref(), Some("0"));
    assert_eq!(c.unplaceable.complete_entry, Some(at));
}

/// `clustersim run raft-unreliable --set workload.clients=40 --seed 1`
/// with one key: 1 479 completed operations (writes, reads, CAS; 351
/// failed CAS, dropped), leader changes leaving a dozen writes open for up
/// to a second, 19 writes and CAS that never completed.
fn raft_unreliable_40_clients_one_key() -> History {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("benches/data/raft-unreliable-40-clients-1-key.jsonl");
    checkers::import::load(&path, None).unwrap().history
}

fn with_strategy(strategy: Strategy) -> CheckOptions {
    CheckOptions {
        strategy,
        ..CheckOptions::default()
    }
}

/// The depth-first search alone runs out of its gigabyte on this history
/// (longest prefix about 1 009 of 1 479); the time sweep decides it, alone
/// and side by side with the search (the default).
#[test]
fn forty_clients_on_one_key_are_decided() {
    let h = raft_unreliable_40_clients_one_key();
    for strategy in [Strategy::Sweep, Strategy::Both] {
        let report = check_history_named("cas-register", &h, &with_strategy(strategy)).unwrap();
        assert_eq!(
            report.verdict, LIN,
            "{strategy:?}: {:?}",
            report.unknown_reason
        );
        assert_eq!(report.partition_reports[0].longest_prefix, 1479);
    }
}

/// The same history with one read in the middle returning a value nobody
/// wrote: the sweep alone rejects it, naming that read.
#[test]
fn forty_clients_on_one_key_with_one_impossible_read_are_rejected() {
    let mut h = raft_unreliable_40_clients_one_key();
    let reads: Vec<usize> = (0..h.entries.len())
        .filter(|&i| h.entries[i].op_type == OpType::Ok && h.entries[i].f == "read")
        .collect();
    let at = reads[reads.len() / 2];
    h.entries[at].value = json!(999_999);
    let report = check_history_named("cas-register", &h, &with_strategy(Strategy::Sweep)).unwrap();
    assert_eq!(report.verdict, NOT);
    let c = &report.counterexamples[0];
    assert_eq!(c.unplaceable.complete_entry, Some(at));
    assert!(!c.prefix.is_empty());
}

/// The time sweep's free writers: a write of the current value, or one a
/// later write could hide, may still be placed last before its return
/// (here the second put of b goes after the put of a, for the get).
#[test]
fn the_sweep_may_still_place_a_free_write_last() {
    let h = Builder::new()
        .invoke(0, 2, "write", json!("b"))
        .ok(0, 2, "write", json!("b"))
        .invoke(4, 0, "write", json!("b"))
        .invoke(4, 1, "write", json!("a"))
        .ok(5, 0, "write", json!("b"))
        .ok(5, 1, "write", json!("a"))
        .invoke(6, 3, "read", Value::Null)
        .ok(6, 3, "read", json!("b"))
        .build();
    for strategy in [Strategy::Search, Strategy::Sweep] {
        let report = check_history(&Register, &h, &with_strategy(strategy)).unwrap();
        assert_eq!(report.verdict, LIN, "{strategy:?}");
    }
}

/// Only a blind write hides another unseen: a CAS that needs a value
/// nobody wrote cannot hide behind a concurrent write.
#[test]
fn the_sweep_hides_no_cas_behind_a_write() {
    let h = Builder::new()
        .invoke(6, 0, "cas", json!([0, 1]))
        .invoke(6, 1, "write", json!(-1))
        .ok(6, 1, "write", json!(-1))
        .ok(11, 0, "cas", json!([0, 1]))
        .build();
    for strategy in [Strategy::Search, Strategy::Sweep] {
        let report = check_history(&Register, &h, &with_strategy(strategy)).unwrap();
        assert_eq!(report.verdict, NOT, "{strategy:?}");
        assert_eq!(report.counterexamples[0].unplaceable.process, 0);
    }
}
