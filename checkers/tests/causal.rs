//! The causal-consistency checker: one history per guarantee that it must
//! reject (and name), histories it must accept (causal but not sequential),
//! and property tests: histories of a causal memory pass, every linearizable
//! synthetic history passes, and a stale read after one's own later write is
//! always caught.

use checkers::causal::{check_causal, CausalReport, CausalVerdict, Guarantee};
use checkers::synthetic::{self, Shape};
use proptest::prelude::*;
use serde_json::{json, Value};
use sim_core::history::{History, HistoryEntry, OpType};

/// Builds a history one operation at a time; each completes before the
/// next is invoked unless it is left open.
#[derive(Default)]
struct Builder {
    history: History,
    time: u64,
}

impl Builder {
    fn entry(&mut self, process: u64, op_type: OpType, f: &str, key: &str, value: Value) {
        self.time += 10;
        self.history.push(HistoryEntry {
            process,
            op_type,
            f: f.into(),
            key: Some(key.into()),
            value,
            time: self.time,
        });
    }

    fn op(mut self, process: u64, f: &str, key: &str, invoked: Value, returned: Value) -> Self {
        self.entry(process, OpType::Invoke, f, key, invoked);
        self.entry(process, OpType::Ok, f, key, returned);
        self
    }

    fn w(self, process: u64, key: &str, value: u64) -> Self {
        self.op(process, "write", key, json!(value), json!(value))
    }

    fn r(self, process: u64, key: &str, value: Option<u64>) -> Self {
        self.op(process, "read", key, Value::Null, json!(value))
    }

    /// A write that never completes (indeterminate).
    fn w_open(mut self, process: u64, key: &str, value: u64) -> Self {
        self.entry(process, OpType::Invoke, "write", key, json!(value));
        self
    }

    fn check(&self) -> CausalReport {
        check_causal(&self.history, None).expect("a well-formed history")
    }
}

/// Asserts the history is rejected with exactly these guarantees named.
fn rejected(b: Builder, expected: &[Guarantee]) -> CausalReport {
    let report = b.check();
    assert_eq!(
        report.verdict,
        CausalVerdict::NotCausal,
        "{}",
        report.render()
    );
    assert_eq!(
        report.violations[0].guarantees,
        expected,
        "{}",
        report.render()
    );
    report
}

fn accepted(b: Builder) {
    let report = b.check();
    assert_eq!(report.verdict, CausalVerdict::Causal, "{}", report.render());
}

#[test]
fn read_your_writes_reading_the_initial_value_after_ones_own_write() {
    let report = rejected(
        Builder::default().w(1, "x", 1).r(1, "x", None),
        &[Guarantee::ReadYourWrites],
    );
    let v = &report.violations[0];
    assert_eq!(v.key.as_deref(), Some("x"));
    // The read, then the write in its past.
    assert_eq!(v.ops.iter().map(|o| o.op).collect::<Vec<_>>(), [1, 0]);
    assert!(
        report.render().contains("read-your-writes"),
        "{}",
        report.render()
    );
}

#[test]
fn read_your_writes_reading_another_value_ones_write_replaced() {
    // P2's write 1 is read by P1, who then writes 2 and reads 1 again.
    rejected(
        Builder::default()
            .w(2, "x", 1)
            .r(1, "x", Some(1))
            .w(1, "x", 2)
            .r(1, "x", Some(1)),
        &[Guarantee::ReadYourWrites, Guarantee::WritesFollowReads],
    );
}

#[test]
fn monotonic_reads() {
    // P3 learns of x=1 only through y; x=2 follows it; P4 reads 2, then 1.
    rejected(
        Builder::default()
            .w(1, "x", 1)
            .r(2, "x", Some(1))
            .w(2, "y", 1)
            .r(3, "y", Some(1))
            .w(3, "x", 2)
            .r(4, "x", Some(2))
            .r(4, "x", Some(1)),
        &[Guarantee::MonotonicReads],
    );
}

#[test]
fn monotonic_writes() {
    // P1 writes 1 then 2; P3 learns of 2 through y and then reads 1.
    rejected(
        Builder::default()
            .w(1, "x", 1)
            .w(1, "x", 2)
            .r(2, "x", Some(2))
            .w(2, "y", 1)
            .r(3, "y", Some(1))
            .r(3, "x", Some(1)),
        &[Guarantee::MonotonicWrites],
    );
}

#[test]
fn writes_follow_reads() {
    // P2 reads 1 and writes 2 over it; P3 learns of 2 through y, reads 1.
    rejected(
        Builder::default()
            .w(1, "x", 1)
            .r(2, "x", Some(1))
            .w(2, "x", 2)
            .w(2, "y", 1)
            .r(3, "y", Some(1))
            .r(3, "x", Some(1)),
        &[Guarantee::WritesFollowReads],
    );
}

#[test]
fn causal_order_through_other_sessions() {
    // x=1 → (P2) y=1 → (P3) x=2, z=1 → (P4) reads z=1, then x=1.
    rejected(
        Builder::default()
            .w(1, "x", 1)
            .r(2, "x", Some(1))
            .w(2, "y", 1)
            .r(3, "y", Some(1))
            .w(3, "x", 2)
            .w(3, "z", 1)
            .r(4, "z", Some(1))
            .r(4, "x", Some(1)),
        &[Guarantee::CausalOrder],
    );
}

#[test]
fn initial_value_after_a_write_in_the_causal_past() {
    // P2 saw y=1, written after x=1; x then reads as never written.
    rejected(
        Builder::default()
            .w(1, "x", 1)
            .w(1, "y", 1)
            .r(2, "y", Some(1))
            .r(2, "x", None),
        &[Guarantee::CausalOrder],
    );
}

#[test]
fn thin_air_read() {
    rejected(
        Builder::default().w(1, "x", 1).r(2, "x", Some(7)),
        &[Guarantee::ThinAirRead],
    );
}

#[test]
fn causal_cycle() {
    // Each reads the other's write, which each wrote after its read.
    let report = rejected(
        Builder::default()
            .r(1, "x", Some(1))
            .w(1, "y", 1)
            .r(2, "y", Some(1))
            .w(2, "x", 1),
        &[Guarantee::CausalCycle],
    );
    assert_eq!(report.violations[0].ops.len(), 4, "{}", report.render());
}

#[test]
fn concurrent_writes_seen_in_different_orders_are_causal_not_sequential() {
    // The classic: no single order of the two writes explains both readers.
    accepted(
        Builder::default()
            .w(1, "x", 1)
            .w(2, "x", 2)
            .r(3, "x", Some(1))
            .r(3, "x", Some(2))
            .r(4, "x", Some(2))
            .r(4, "x", Some(1)),
    );
}

#[test]
fn stale_reads_of_writes_not_in_the_past_are_causal() {
    // P2 reads the initial value long after P1's write: allowed, since
    // causality is not real time.
    accepted(
        Builder::default()
            .w(1, "x", 1)
            .r(1, "x", Some(1))
            .r(2, "x", None)
            .r(2, "x", Some(1)),
    );
}

#[test]
fn an_indeterminate_write_follows_its_session_but_precedes_nothing() {
    // P1's open write of 2 was invoked after its write of 1 ...
    accepted(
        Builder::default()
            .w(1, "x", 1)
            .w_open(1, "x", 2)
            .r(2, "x", Some(2))
            .r(3, "x", Some(1)),
    );
    // ... so a reader that saw 2 cannot then read 1.
    rejected(
        Builder::default()
            .w(1, "x", 1)
            .w_open(1, "x", 2)
            .r(2, "x", Some(2))
            .r(2, "x", Some(1)),
        &[Guarantee::MonotonicReads, Guarantee::MonotonicWrites],
    );
}

#[test]
fn repeated_values_make_the_verdict_unknown_but_violations_still_count() {
    let repeated = Builder::default()
        .w(1, "x", 1)
        .w(2, "x", 1)
        .r(3, "x", Some(1));
    let report = repeated.check();
    assert_eq!(
        report.verdict,
        CausalVerdict::Unknown,
        "{}",
        report.render()
    );
    assert_eq!(report.ambiguous_reads, 1);
    assert!(report
        .reason
        .as_deref()
        .unwrap()
        .contains("written more than once"));
    // A violation among the traceable reads is still found.
    let report = Builder::default()
        .w(1, "x", 1)
        .w(2, "x", 1)
        .r(3, "x", Some(1))
        .w(4, "y", 5)
        .r(4, "y", None)
        .check();
    assert_eq!(
        report.verdict,
        CausalVerdict::NotCausal,
        "{}",
        report.render()
    );
}

#[test]
fn crdt_register_writes_are_known_by_their_write_id() {
    let b = Builder::default()
        .op(
            1,
            "write",
            "x",
            json!({"write": 7, "value": 0}),
            json!({"write": 7, "value": 0}),
        )
        .op(
            2,
            "write",
            "x",
            json!({"write": 8, "value": 0}),
            json!({"write": 8, "value": 0}),
        )
        .r(1, "x", Some(8))
        .r(1, "x", Some(7));
    // P1 read 8, concurrent with its own 7, then its own 7: fine...
    accepted(b);
    // ... but reading 7 after a write that followed a read of 8 is not.
    rejected(
        Builder::default()
            .op(
                1,
                "write",
                "x",
                json!({"write": 7, "value": 0}),
                Value::Null,
            )
            .r(2, "x", Some(7))
            .op(
                2,
                "write",
                "x",
                json!({"write": 8, "value": 1}),
                Value::Null,
            )
            .r(2, "x", Some(7)),
        &[Guarantee::ReadYourWrites, Guarantee::WritesFollowReads],
    );
}

#[test]
fn multi_value_reads_return_siblings() {
    let siblings = |b: Builder, p: u64, ids: Value| b.op(p, "read", "x", Value::Null, ids);
    // Concurrent writes 1 and 2 read as siblings, then one resolved by 3.
    let b = Builder::default().w(1, "x", 1).w(2, "x", 2);
    let b = siblings(b, 3, json!([1, 2])).w(3, "x", 3);
    accepted(siblings(b, 4, json!([3])));
    // Siblings where one replaced the other: 2 overwrote 1 in the reader's
    // past (it read 2), so 1 cannot be a sibling.
    let b = Builder::default().w(1, "x", 1).w(1, "x", 2);
    rejected(siblings(b, 2, json!([1, 2])), &[Guarantee::MonotonicWrites]);
    // No sibling at all after one's own write.
    let b = Builder::default().w(1, "x", 1);
    rejected(siblings(b, 1, json!([])), &[Guarantee::ReadYourWrites]);
    // An id no write wrote.
    let b = Builder::default().w(1, "x", 1);
    rejected(siblings(b, 2, json!([1, 9])), &[Guarantee::ThinAirRead]);
}

#[test]
fn compare_and_set_reads_and_writes() {
    // cas 1->2 read 1 and wrote 2; a later read of 1 by the same process
    // is a stale read of its own write.
    rejected(
        Builder::default()
            .w(1, "x", 1)
            .op(2, "cas", "x", json!([1, 2]), json!([1, 2]))
            .r(2, "x", Some(1)),
        &[Guarantee::ReadYourWrites, Guarantee::WritesFollowReads],
    );
}

#[test]
fn other_operations_are_not_applicable() {
    let b = Builder::default().op(1, "acquire", "x", Value::Null, json!(1));
    let report = b.check();
    assert_eq!(report.verdict, CausalVerdict::NotApplicable);
    assert!(report.reason.unwrap().contains("`acquire`"));
}

#[test]
fn a_malformed_history_is_an_error_naming_the_entry() {
    let mut b = Builder::default();
    b.entry(1, OpType::Ok, "read", "x", json!(1));
    let e = check_causal(&b.history, None).unwrap_err();
    assert_eq!(e.index, 0);
}

/// A causal memory: each process has its own replica; a write is applied
/// locally and broadcast; a replica applies another's write only after
/// every write that write depended on (causal delivery, by vector clock);
/// reads return the local value. Every history it makes is causal.
fn causal_memory(processes: usize, keys: usize, steps: &[(usize, u8, usize)]) -> History {
    let mut b = Builder::default();
    // Per replica: clock, store (key -> value), and pending writes.
    let mut clock = vec![vec![0u64; processes]; processes];
    let mut store = vec![vec![None::<u64>; keys]; processes];
    // (origin, its clock at the write, key, value), in broadcast order.
    let mut sent: Vec<(usize, Vec<u64>, usize, u64)> = Vec::new();
    let mut next_value = 1;
    for &(p, action, k) in steps {
        let (p, k) = (p % processes, k % keys);
        match action % 3 {
            0 => {
                clock[p][p] += 1;
                store[p][k] = Some(next_value);
                sent.push((p, clock[p].clone(), k, next_value));
                b = b.w(p as u64, &k.to_string(), next_value);
                next_value += 1;
            }
            1 => {
                let v = store[p][k];
                b = b.r(p as u64, &k.to_string(), v);
            }
            _ => {
                // Deliver the first write p can apply, if any.
                let ready = sent.iter().find(|(q, vc, _, _)| {
                    *q != p
                        && vc[*q] == clock[p][*q] + 1
                        && (0..processes).all(|r| r == *q || vc[r] <= clock[p][r])
                });
                if let Some((q, _, key, value)) = ready.cloned() {
                    clock[p][q] += 1;
                    store[p][key] = Some(value);
                }
            }
        }
    }
    b.history
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn histories_of_a_causal_memory_are_causal(
        processes in 2usize..5,
        keys in 1usize..3,
        steps in prop::collection::vec((0usize..5, 0u8..3, 0usize..3), 0..120),
    ) {
        let history = causal_memory(processes, keys, &steps);
        let report = check_causal(&history, None).unwrap();
        prop_assert_eq!(report.verdict, CausalVerdict::Causal, "{}", report.render());
    }

    #[test]
    fn reading_ones_own_overwritten_write_is_always_caught(
        processes in 2usize..5,
        steps in prop::collection::vec((0usize..5, 0u8..3, 0usize..2), 0..120),
    ) {
        // Process 0 writes twice more on key 0, then reads its first value.
        let mut history = causal_memory(processes, 2, &steps);
        let b = Builder { time: history.entries.last().map_or(0, |e| e.time), history: std::mem::take(&mut history) };
        let b = b.w(0, "0", 1_000_001).w(0, "0", 1_000_002).r(0, "0", Some(1_000_001));
        let report = b.check();
        prop_assert_eq!(report.verdict, CausalVerdict::NotCausal);
        let last = &report.violations[report.violations.len() - 1];
        prop_assert!(last.guarantees.contains(&Guarantee::ReadYourWrites));
        prop_assert!(last.guarantees.contains(&Guarantee::MonotonicWrites));
    }

    #[test]
    fn linearizable_histories_are_causal(seed in 0u64..1_000, clients in 2usize..12) {
        let history = synthetic::history(&Shape::register(clients, seed));
        let report = check_causal(&history, None).unwrap();
        prop_assert_eq!(report.verdict, CausalVerdict::Causal, "{}", report.render());
    }
}

#[test]
fn thousands_of_operations_are_judged() {
    // 40 clients, 12,000 operations, unique values: decided.
    let shape = Shape {
        ops: 12_000,
        ..Shape::register(40, 3)
    };
    let history = synthetic::history(&shape);
    let report = check_causal(&history, None).unwrap();
    assert_eq!(report.verdict, CausalVerdict::Causal, "{}", report.render());
    assert_eq!(report.operations, 12_000);
}
