//! Synthetic histories for tests and benchmarks, shaped like Porcupine's
//! `kv` histories: many clients, each running one operation at a time on a
//! random key, with overlapping operations.
//!
//! The history is linearizable by construction: every operation takes effect
//! at a point drawn inside its interval, and reads return the value at that
//! point. [`stale_read`] then turns it into a history that is certainly not
//! linearizable. Everything is drawn from the seed, so a history is the same
//! on every machine.

use serde_json::{json, Value};
use sim_core::history::{History, HistoryEntry, OpType};

use crate::fasthash::SplitMix64;

/// What the clients do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// `append` of a unique string and `get`, on keys `"0"`, `"1"`, ...
    /// (model `kv`), as in Porcupine's `kv` histories.
    KvAppend,
    /// `write` of a unique integer and `read` (model `register`).
    Register,
}

/// The shape of a synthetic history.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub workload: Workload,
    pub clients: usize,
    pub keys: usize,
    /// Operations in all.
    pub ops: usize,
    /// Percentage of operations that are reads.
    pub read_percent: u64,
    /// Register writes draw their value from `0..values` (many writes share
    /// a value, as in our `register-healthy` scenario); 0: every value is
    /// unique. Appends are always unique.
    pub values: u64,
    pub seed: u64,
}

impl Shape {
    /// The `kv/c10-bad` shape with `clients` clients: 10 keys, about 34
    /// operations per client, half of them gets.
    pub fn kv(clients: usize, seed: u64) -> Shape {
        Shape {
            workload: Workload::KvAppend,
            clients,
            keys: 10,
            ops: clients * 34,
            read_percent: 50,
            values: 0,
            seed,
        }
    }

    /// One register, `clients` clients, 30 operations each, half reads.
    pub fn register(clients: usize, seed: u64) -> Shape {
        Shape {
            workload: Workload::Register,
            clients,
            keys: 1,
            ops: clients * 30,
            read_percent: 50,
            values: 0,
            seed,
        }
    }

    /// [`Shape::register`] with values drawn from a pool of `values`, as
    /// our `register-healthy` scenario writes them (50 values).
    pub fn register_repeating(clients: usize, values: u64, seed: u64) -> Shape {
        Shape {
            values,
            ..Shape::register(clients, seed)
        }
    }
}

/// One operation while generating: times in ns, the point where it takes
/// effect, and what it did.
struct Planned {
    client: u64,
    key: usize,
    read: bool,
    call: u64,
    at: u64,
    ret: u64,
    /// Written or appended value; for a read, what it returned.
    value: Value,
}

/// A linearizable history of the given shape.
pub fn history(shape: &Shape) -> History {
    to_history(&plan(shape), shape)
}

/// The same history with one read (near the middle of the history) made
/// stale: it returns the value its key had before a write or append that
/// completed before the read began. No order explains it, so the history is
/// not linearizable. Returns the history and the stale read's client and
/// call time; `None` if no read fits, or if register values repeat (a
/// stale value could then be the value of a later write too).
pub fn stale_read(shape: &Shape) -> Option<(History, u64, u64)> {
    if shape.workload == Workload::Register && shape.values > 0 {
        return None;
    }
    let mut ops = plan(shape);
    let mid = ops.len() / 2;
    // By effect point; the first read after the middle that follows a
    // completed update of its key.
    let pick = (mid..ops.len()).chain(0..mid).find_map(|i| {
        let r = &ops[i];
        if !r.read {
            return None;
        }
        // The last update of the key that completed before the read began.
        let before = ops[..i]
            .iter()
            .rposition(|u| !u.read && u.key == r.key && u.ret < r.call)?;
        Some((i, before))
    })?;
    let (read, update) = pick;
    let stale = match shape.workload {
        // The key's text just before that append took effect: it lacks the
        // append's unique text, which every later state contains.
        Workload::KvAppend => {
            let key = ops[read].key;
            let text: String = ops[..update]
                .iter()
                .filter(|u| u.key == key && !u.read)
                .map(|u| u.value.as_str().unwrap_or(""))
                .collect();
            json!(text)
        }
        // The value of a write that completed before that write began (or
        // the initial nil): both precede the read in every order, and values
        // are unique, so the read cannot see it.
        Workload::Register => ops[..update]
            .iter()
            .rev()
            .find(|u| u.key == ops[read].key && !u.read && u.ret < ops[update].call)
            .map_or(Value::Null, |u| u.value.clone()),
    };
    ops[read].value = stale;
    let (client, call) = (ops[read].client, ops[read].call);
    Some((to_history(&ops, shape), client, call))
}

fn initial(workload: Workload) -> Value {
    match workload {
        Workload::KvAppend => json!(""),
        Workload::Register => Value::Null,
    }
}

/// Draws every operation and sorts them by effect point, then fills in
/// what each read returned.
fn plan(shape: &Shape) -> Vec<Planned> {
    let mut rng = SplitMix64(shape.seed ^ 0x5157_4e7e_71c0_0001);
    let mut below = |n: u64| rng.next_u64() % n.max(1);
    let mut clock = vec![0u64; shape.clients];
    let mut ops = Vec::with_capacity(shape.ops);
    let mut counter = vec![0u64; shape.clients];
    for i in 0..shape.ops {
        // Round-robin over clients keeps their op counts even; each op
        // starts after a short think time and lasts 1-10 ms.
        let c = i % shape.clients;
        let call = clock[c] + below(2_000_000);
        let ret = call + 1_000_000 + below(9_000_000);
        let at = call + below(ret - call + 1);
        clock[c] = ret;
        let key = below(shape.keys as u64) as usize;
        let read = below(100) < shape.read_percent;
        counter[c] += 1;
        let value = match (read, shape.workload) {
            (true, _) => Value::Null,
            (false, Workload::KvAppend) => json!(format!("x {c} {} y", counter[c])),
            (false, Workload::Register) if shape.values > 0 => json!(below(shape.values)),
            (false, Workload::Register) => json!((c as u64) * 1_000_000 + counter[c]),
        };
        ops.push(Planned {
            client: c as u64,
            key,
            read,
            call,
            at,
            ret,
            value,
        });
    }
    ops.sort_by_key(|o| (o.at, o.client));
    let mut state: Vec<Value> = vec![initial(shape.workload); shape.keys];
    for o in &mut ops {
        let s = &mut state[o.key];
        if o.read {
            o.value = s.clone();
        } else {
            *s = match shape.workload {
                Workload::Register => o.value.clone(),
                Workload::KvAppend => json!(format!(
                    "{}{}",
                    s.as_str().unwrap_or(""),
                    o.value.as_str().unwrap_or("")
                )),
            };
        }
    }
    ops
}

fn to_history(ops: &[Planned], shape: &Shape) -> History {
    let (read_f, update_f) = match shape.workload {
        Workload::KvAppend => ("get", "append"),
        Workload::Register => ("read", "write"),
    };
    // (time, 0 invoke / 1 ok, client) orders the entries.
    let mut entries: Vec<(u64, u8, u64, HistoryEntry)> = Vec::with_capacity(ops.len() * 2);
    for o in ops {
        let f = if o.read { read_f } else { update_f };
        let key = (shape.workload == Workload::KvAppend).then(|| o.key.to_string());
        let entry = |op_type, value, time| HistoryEntry {
            process: o.client,
            op_type,
            f: f.to_string(),
            key: key.clone(),
            value,
            time,
        };
        let input = if o.read { Value::Null } else { o.value.clone() };
        entries.push((o.call, 0, o.client, entry(OpType::Invoke, input, o.call)));
        entries.push((
            o.ret,
            1,
            o.client,
            entry(OpType::Ok, o.value.clone(), o.ret),
        ));
    }
    entries.sort_by_key(|e| (e.0, e.1, e.2));
    let mut h = History::new();
    for (_, _, _, e) in entries {
        h.push(e);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linearizability::{check_history, CheckOptions, Verdict};
    use crate::models::{Kv, Register};

    #[test]
    fn generated_histories_are_linearizable_and_stale_reads_are_not() {
        let kv = Shape::kv(5, 1);
        assert_eq!(history(&kv).entries.len(), 2 * kv.ops);
        assert_eq!(history(&kv).entries, history(&kv).entries, "same seed");
        let ok = check_history(&Kv, &history(&kv), &CheckOptions::default()).unwrap();
        assert_eq!(ok.verdict, Verdict::Linearizable);
        let (bad, _, _) = stale_read(&kv).unwrap();
        let report = check_history(&Kv, &bad, &CheckOptions::default()).unwrap();
        assert_eq!(report.verdict, Verdict::NotLinearizable);

        let reg = Shape::register(5, 2);
        let ok = check_history(&Register, &history(&reg), &CheckOptions::default()).unwrap();
        assert_eq!(ok.verdict, Verdict::Linearizable);
        let (bad, _, _) = stale_read(&reg).unwrap();
        let report = check_history(&Register, &bad, &CheckOptions::default()).unwrap();
        assert_eq!(report.verdict, Verdict::NotLinearizable);

        let repeating = Shape::register_repeating(5, 3, 2);
        let h = history(&repeating);
        let written: std::collections::BTreeSet<String> = h
            .entries
            .iter()
            .filter(|e| e.f == "write")
            .map(|e| e.value.to_string())
            .collect();
        assert!(written.len() <= 3, "{written:?}");
        let ok = check_history(&Register, &h, &CheckOptions::default()).unwrap();
        assert_eq!(ok.verdict, Verdict::Linearizable);
        assert!(stale_read(&repeating).is_none());
    }
}
