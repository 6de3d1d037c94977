//! Final-read checks of replicated data types, in the manner of Maelstrom's
//! workloads: once the clients stop and the replicas have converged, the
//! value they read must be explained by what the history says happened.
//! Acknowledged operations took effect, `fail`ed ones did not, and
//! indeterminate ones (`info`, or never completed) may have.
//!
//! Each check takes the history and the converged value and returns one
//! sentence per contradiction (empty: explained).
//!
//! | type | operations (invocation value → completion value) | the final value must |
//! |---|---|---|
//! | counter | `add` amount | be the acknowledged sum plus a subset of the indeterminate amounts |
//! | OR-set | `add` element (each added once), `remove` element → removed anything | hold every acknowledged add no possibly-effective remove hit, no element an effective remove hit, nothing never added |
//! | LWW register | `write` {write, value}, `read` → write id | be a write no later write of the same session (after reading or writing it) replaced |
//! | multi-value register | `write` {write, value, context: [write ids read]} → [sibling ids after it], `read` → [sibling ids] | hold every acknowledged write no effective write replaced, and none that one replaced |

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use sim_core::history::{History, HistoryError, OpType};

/// One operation: its invocation and, if any, its completion.
#[derive(Debug, Clone, PartialEq)]
pub struct PairedOp {
    pub process: u64,
    pub f: String,
    pub invoked: Value,
    /// `Ok`, `Fail`, or `Info` (also for an operation never completed).
    pub outcome: OpType,
    pub returned: Value,
    /// 0-based index of the invocation in the history.
    pub invoke_entry: usize,
}

impl PairedOp {
    pub fn is_ok(&self) -> bool {
        self.outcome == OpType::Ok
    }

    /// May have taken effect: acknowledged or indeterminate.
    pub fn possible(&self) -> bool {
        self.outcome != OpType::Fail
    }

    fn describe(&self) -> String {
        format!(
            "{} {} (process {}, history entry {})",
            self.f, self.invoked, self.process, self.invoke_entry
        )
    }
}

/// The history's operations in invocation order, each with its completion.
pub fn pair_ops(history: &History) -> Result<Vec<PairedOp>, HistoryError> {
    let mut open: BTreeMap<u64, usize> = BTreeMap::new();
    let mut ops: Vec<PairedOp> = Vec::new();
    for (index, entry) in history.entries.iter().enumerate() {
        if entry.op_type == OpType::Invoke {
            if open.insert(entry.process, ops.len()).is_some() {
                return Err(HistoryError {
                    index,
                    message: format!(
                        "process {} invokes while its previous operation is still open",
                        entry.process
                    ),
                });
            }
            ops.push(PairedOp {
                process: entry.process,
                f: entry.f.clone(),
                invoked: entry.value.clone(),
                outcome: OpType::Info,
                returned: Value::Null,
                invoke_entry: index,
            });
        } else {
            let at = open.remove(&entry.process).ok_or_else(|| HistoryError {
                index,
                message: format!(
                    "completion of process {} without an invocation",
                    entry.process
                ),
            })?;
            ops[at].outcome = entry.op_type;
            ops[at].returned = entry.value.clone();
        }
    }
    Ok(ops)
}

/// At most this many contradictions are described; the rest are counted.
const MAX_REPORTED: usize = 10;

fn capped(mut problems: Vec<String>) -> Vec<String> {
    if problems.len() > MAX_REPORTED {
        let more = problems.len() - MAX_REPORTED;
        problems.truncate(MAX_REPORTED);
        problems.push(format!("... and {more} more"));
    }
    problems
}

/// Above this many reachable sums the counter check falls back to the
/// interval between the smallest and the largest.
const MAX_SUMS: usize = 1 << 16;

/// A counter's final `value` against its `add` operations.
pub fn counter(history: &History, value: i64) -> Result<Vec<String>, HistoryError> {
    let ops = pair_ops(history)?;
    let amounts = |ok: bool| {
        ops.iter()
            .filter(move |o| o.f == "add" && o.possible() && o.is_ok() == ok)
            .map(|o| i128::from(o.invoked.as_i64().unwrap_or(1)))
    };
    let acked: i128 = amounts(true).sum();
    let mut sums = BTreeSet::from([acked]);
    let (mut low, mut high) = (acked, acked);
    for a in amounts(false) {
        if a < 0 {
            low += a
        } else {
            high += a
        }
        if sums.len() <= MAX_SUMS {
            let moved: Vec<i128> = sums.iter().map(|s| s + a).collect();
            sums.extend(moved);
        }
    }
    let v = i128::from(value);
    let explained = if sums.len() <= MAX_SUMS {
        sums.contains(&v)
    } else {
        (low..=high).contains(&v)
    };
    Ok(if explained {
        Vec::new()
    } else {
        vec![format!(
            "final value {value} is not the acknowledged sum {acked} plus a subset of the \
             {} indeterminate amounts (which lie in [{low}, {high}])",
            amounts(false).count()
        )]
    })
}

/// An add-wins OR-set's final `elements`; each element is added at most once.
pub fn or_set(history: &History, elements: &BTreeSet<u64>) -> Result<Vec<String>, HistoryError> {
    let ops = pair_ops(history)?;
    let element = |o: &PairedOp| o.invoked.as_u64();
    let mut problems = Vec::new();
    let added: BTreeSet<u64> = ops
        .iter()
        .filter(|o| o.f == "add" && o.possible())
        .filter_map(element)
        .collect();
    // Removes that may have hit (indeterminate, or acknowledged as hitting).
    let maybe_removed: BTreeSet<u64> = ops
        .iter()
        .filter(|o| o.f == "remove" && o.possible())
        .filter(|o| !o.is_ok() || o.returned == Value::Bool(true))
        .filter_map(element)
        .collect();
    for e in elements.difference(&added) {
        problems.push(format!("holds {e}, which was never added"));
    }
    for o in ops.iter().filter(|o| o.f == "add" && o.is_ok()) {
        if let Some(e) = element(o) {
            if !maybe_removed.contains(&e) && !elements.contains(&e) {
                problems.push(format!("lost the acknowledged {}", o.describe()));
            }
        }
    }
    for o in ops.iter().filter(|o| o.f == "remove" && o.is_ok()) {
        if let Some(e) = element(o) {
            if o.returned == Value::Bool(true) && elements.contains(&e) {
                problems.push(format!(
                    "holds {e} after the acknowledged {}, which removed every add of it",
                    o.describe()
                ));
            }
        }
    }
    Ok(capped(problems))
}

/// The write id of a `write`'s invocation value `{write, ...}`.
fn write_id(o: &PairedOp) -> Option<u64> {
    o.invoked.get("write").and_then(Value::as_u64)
}

/// Write ids a returned value names: one id, or an array of them.
fn ids(v: &Value) -> Vec<u64> {
    match v {
        Value::Array(items) => items.iter().filter_map(Value::as_u64).collect(),
        other => other.as_u64().into_iter().collect(),
    }
}

/// Closes `seeds` under `preds`: every write a replaced write replaced.
fn replaced_closure(
    seeds: impl IntoIterator<Item = u64>,
    preds: &BTreeMap<u64, BTreeSet<u64>>,
) -> BTreeSet<u64> {
    let mut out = BTreeSet::new();
    let mut todo: Vec<u64> = seeds.into_iter().collect();
    while let Some(w) = todo.pop() {
        if out.insert(w) {
            todo.extend(preds.get(&w).into_iter().flatten().copied());
        }
    }
    out
}

/// Which writes replaced which, for the register checks: `preds[w]` are
/// the writes `w` replaced (what its session knew when invoking it), and
/// `effective` the writes known to have taken effect (acknowledged, read,
/// or in the final value).
struct Replacements {
    preds: BTreeMap<u64, BTreeSet<u64>>,
    effective: BTreeSet<u64>,
    written: BTreeMap<u64, PairedOp>,
}

impl Replacements {
    fn new(ops: &[PairedOp], final_ids: &BTreeSet<u64>, session_knows: bool) -> Self {
        let mut preds: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
        let mut effective = final_ids.clone();
        let mut written = BTreeMap::new();
        let mut known: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
        for o in ops {
            if o.f == "write" {
                if let Some(w) = write_id(o) {
                    let replaced: BTreeSet<u64> = if session_knows {
                        known.get(&o.process).cloned().unwrap_or_default()
                    } else {
                        o.invoked
                            .get("context")
                            .map(ids)
                            .unwrap_or_default()
                            .into_iter()
                            .collect()
                    };
                    preds.insert(w, replaced);
                    if o.is_ok() {
                        effective.insert(w);
                        known.entry(o.process).or_default().insert(w);
                    }
                    if o.possible() {
                        written.insert(w, o.clone());
                    }
                }
            }
            // What a read (or a write that answers with the register's
            // siblings) returned took effect, and its session knows it.
            if o.is_ok() {
                let seen = ids(&o.returned);
                effective.extend(&seen);
                known.entry(o.process).or_default().extend(seen);
            }
        }
        Replacements {
            preds,
            effective,
            written,
        }
    }

    /// Every write an effective write replaced, directly or through others.
    fn replaced(&self) -> BTreeSet<u64> {
        let direct = self
            .effective
            .iter()
            .flat_map(|w| self.preds.get(w).into_iter().flatten().copied());
        replaced_closure(direct, &self.preds)
    }

    /// An effective write that replaced `w` directly, or else "a later write".
    fn by_whom(&self, w: u64) -> String {
        self.effective
            .iter()
            .find(|e| self.preds.get(e).is_some_and(|p| p.contains(&w)))
            .and_then(|e| self.written.get(e))
            .map_or("a later write".into(), PairedOp::describe)
    }
}

/// A last-writer-wins register's final write id (`None`: empty). The later
/// writes of a session (after it read or wrote a value) must win over that
/// value: timestamps must follow causality.
pub fn lww_register(history: &History, final_id: Option<u64>) -> Result<Vec<String>, HistoryError> {
    let ops = pair_ops(history)?;
    let finals: BTreeSet<u64> = final_id.into_iter().collect();
    let r = Replacements::new(&ops, &finals, true);
    let mut problems = Vec::new();
    match final_id {
        None => {
            if let Some(o) = ops.iter().find(|o| o.f == "write" && o.is_ok()) {
                problems.push(format!("empty after the acknowledged {}", o.describe()));
            }
        }
        Some(f) if !r.written.contains_key(&f) => {
            problems.push(format!("holds write {f}, which was never written"));
        }
        Some(f) => {
            if r.replaced().contains(&f) {
                problems.push(format!(
                    "holds {} although {} came after it in its session (or after reading it)",
                    r.written[&f].describe(),
                    r.by_whom(f)
                ));
            }
        }
    }
    Ok(problems)
}

/// A multi-value register's final sibling write ids.
pub fn mv_register(history: &History, finals: &BTreeSet<u64>) -> Result<Vec<String>, HistoryError> {
    let ops = pair_ops(history)?;
    let r = Replacements::new(&ops, finals, false);
    let replaced = r.replaced();
    let mut problems = Vec::new();
    for &f in finals {
        match r.written.get(&f) {
            None => problems.push(format!("holds write {f}, which was never written")),
            Some(o) if replaced.contains(&f) => problems.push(format!(
                "holds {} although {} replaced it",
                o.describe(),
                r.by_whom(f)
            )),
            Some(_) => {}
        }
    }
    for o in ops.iter().filter(|o| o.f == "write" && o.is_ok()) {
        if let Some(w) = write_id(o) {
            if !finals.contains(&w) && !replaced.contains(&w) {
                problems.push(format!(
                    "lost the acknowledged {}: no write replaced it",
                    o.describe()
                ));
            }
        }
    }
    Ok(capped(problems))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use sim_core::history::HistoryEntry;

    /// A history from (process, type, f, value) rows.
    fn history(rows: &[(u64, OpType, &str, Value)]) -> History {
        History {
            entries: rows
                .iter()
                .enumerate()
                .map(|(i, (process, op_type, f, value))| HistoryEntry {
                    process: *process,
                    op_type: *op_type,
                    f: f.to_string(),
                    key: None,
                    value: value.clone(),
                    time: i as u64,
                })
                .collect(),
        }
    }
    use OpType::{Info, Invoke, Ok as Done};

    #[test]
    fn counter_needs_an_exact_subset_of_the_indeterminate_amounts() {
        let h = history(&[
            (0, Invoke, "add", json!(5)),
            (0, Done, "add", Value::Null),
            (1, Invoke, "add", json!(-2)),
            (1, Info, "add", Value::Null),
            (2, Invoke, "add", json!(10)),
        ]);
        for (value, ok) in [
            (5, true),
            (3, true),
            (15, true),
            (13, true),
            (4, false),
            (8, false),
        ] {
            assert_eq!(counter(&h, value).unwrap().is_empty(), ok, "{value}");
        }
    }

    #[test]
    fn or_set_rejects_lost_adds_resurrections_and_inventions() {
        let h = history(&[
            (0, Invoke, "add", json!(1)),
            (0, Done, "add", Value::Null),
            (0, Invoke, "add", json!(2)),
            (0, Done, "add", Value::Null),
            (0, Invoke, "remove", json!(2)),
            (0, Done, "remove", json!(true)),
            (0, Invoke, "add", json!(3)),
            (0, Done, "add", Value::Null),
            (0, Invoke, "remove", json!(3)),
            (0, Done, "remove", json!(false)),
        ]);
        let check = |e: &[u64]| or_set(&h, &e.iter().copied().collect()).unwrap();
        assert!(check(&[1, 3]).is_empty());
        assert_eq!(check(&[3]).len(), 1, "1 lost");
        assert_eq!(check(&[1, 2, 3]).len(), 1, "2 came back");
        assert_eq!(check(&[1, 3, 4]).len(), 1, "4 invented");
        assert_eq!(check(&[1]).len(), 1, "3's remove hit nothing");
    }

    #[test]
    fn lww_rejects_a_value_its_own_session_overwrote() {
        let h = history(&[
            (0, Invoke, "write", json!({"write": 1, "value": 0})),
            (0, Done, "write", Value::Null),
            (1, Invoke, "read", Value::Null),
            (1, Done, "read", json!(1)),
            (1, Invoke, "write", json!({"write": 2, "value": 0})),
            (1, Done, "write", Value::Null),
            (2, Invoke, "write", json!({"write": 3, "value": 0})),
            (2, Done, "write", Value::Null),
        ]);
        assert!(lww_register(&h, Some(2)).unwrap().is_empty());
        assert!(
            lww_register(&h, Some(3)).unwrap().is_empty(),
            "3 is concurrent with 2"
        );
        assert_eq!(
            lww_register(&h, Some(1)).unwrap().len(),
            1,
            "2 read 1 first"
        );
        assert_eq!(lww_register(&h, Some(9)).unwrap().len(), 1);
        assert_eq!(lww_register(&h, None).unwrap().len(), 1);
    }

    #[test]
    fn mv_register_keeps_concurrent_writes_and_drops_replaced_ones() {
        let h = history(&[
            (
                0,
                Invoke,
                "write",
                json!({"write": 1, "value": 0, "context": []}),
            ),
            (0, Done, "write", Value::Null),
            (
                1,
                Invoke,
                "write",
                json!({"write": 2, "value": 0, "context": []}),
            ),
            (1, Done, "write", Value::Null),
            (
                2,
                Invoke,
                "write",
                json!({"write": 3, "value": 0, "context": [1]}),
            ),
            (2, Done, "write", Value::Null),
        ]);
        let check = |f: &[u64]| mv_register(&h, &f.iter().copied().collect()).unwrap();
        assert!(check(&[2, 3]).is_empty());
        assert_eq!(check(&[3]).len(), 1, "2 lost");
        assert_eq!(check(&[1, 2, 3]).len(), 1, "1 survives its replacement");
    }
}
