//! Causal consistency of read/write histories: registers, or a key-value
//! store judged key by key (`read`/`get`, `write`/`put`, `cas`).
//!
//! **Causal order** is program order (each process's completed operations,
//! in invocation order) and reads-from (a write before every read that
//! returned it), closed transitively. A history is causally consistent (CC
//! in Bouajjani, Enea, Guerraoui and Hamza, "On verifying causal
//! consistency", POPL 2017) when, with writes told apart by their values, it
//! shows none of these patterns:
//!
//! * a **causal cycle**: an operation in its own causal past;
//! * a **thin-air read**: a value no write wrote (and not the initial one);
//! * a read of the **initial value** with a write of its key in its causal past;
//! * a read of a write `w` while another write `w'` of the same key lies
//!   between them in causal order (`w → w' → read`): `w` was **causally
//!   overwritten** in the reader's past.
//!
//! Each overwrite is named by the session guarantees it breaks, by how `w'`
//! came after `w` and how the reader came after `w'`: **monotonic writes**
//! (one session wrote `w`, then `w'`), **writes-follow-reads** (the session
//! of `w'` read `w`, or a later write of the key, before writing it),
//! **read-your-writes** (the reader's session wrote `w'`), **monotonic
//! reads** (the reader's session read `w'`, or a later write of the key,
//! before); a violation that breaks none of them directly broke **causal
//! order** through other sessions. (The stronger causal memory and causal
//! convergence, which also constrain a session's reads among themselves or
//! order concurrent writes, are not checked.)
//!
//! **Values.** A write is known by its value, or by the `write` field of an
//! object value (the CRDT registers write `{"write": id, "value": v}` and
//! their reads return the id). When one key has two writes of one value, a
//! read that returns an array is a multi-value read (a multi-value
//! register's or a Dynamo-style store's siblings): it read every write
//! named, and none of them may be overwritten in its past; `[]` reads the
//! initial value. When one key has two writes of one value, a
//! read of it cannot be traced to its write: such reads add no reads-from
//! edge and are not judged. A violation found without them is real (fewer
//! edges only shrink the causal order), but a history without violations
//! and with such reads is `unknown`, never `causal`.
//!
//! **Indeterminate operations.** A write that may or may not have taken
//! effect (no `ok`) can still be read. It follows its session's earlier
//! operations (it was invoked after them) but precedes none of its later
//! ones, since it may have taken effect after them; so every linearizable
//! history is judged causal. Failed operations and indeterminate reads say
//! nothing and are left out.
//!
//! **Cost.** Each operation gets a vector clock with one entry per chain
//! (a process's completed operations, or one indeterminate write): O(n·c)
//! memory and time; each read then looks, per chain that wrote its key, at
//! that chain's last such write in its past (a binary search): O(r·c·log n).
//! A history whose clocks would exceed [`MAX_CLOCK_ENTRIES`] is `unknown`.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde_json::Value;
use sim_core::history::{History, HistoryError, OpType};

use crate::counterexample::OpReport;

/// The most vector-clock entries (operations × chains) a check may hold:
/// 64 M entries, 256 MB.
pub const MAX_CLOCK_ENTRIES: usize = 1 << 26;

/// Violations kept in a report (all are counted).
pub const MAX_VIOLATIONS_SHOWN: usize = 10;

/// What a violation breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Guarantee {
    ReadYourWrites,
    MonotonicReads,
    MonotonicWrites,
    WritesFollowReads,
    /// An overwrite that reached the reader only through other sessions.
    CausalOrder,
    /// Program order and reads-from form a cycle.
    CausalCycle,
    /// A value no write wrote.
    ThinAirRead,
}

impl fmt::Display for Guarantee {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Guarantee::ReadYourWrites => "read-your-writes",
            Guarantee::MonotonicReads => "monotonic reads",
            Guarantee::MonotonicWrites => "monotonic writes",
            Guarantee::WritesFollowReads => "writes-follow-reads",
            Guarantee::CausalOrder => "causal order",
            Guarantee::CausalCycle => "causal cycle",
            Guarantee::ThinAirRead => "thin-air read",
        })
    }
}

/// One violation: which guarantees, and the operations that show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CausalViolation {
    /// Every guarantee the pattern breaks (at least one).
    pub guarantees: Vec<Guarantee>,
    pub key: Option<String>,
    /// What happened, in words, naming the operations below by number.
    pub explanation: String,
    /// The operations involved: the read first, then the writes (and, for
    /// a cycle, the cycle in causal order).
    pub ops: Vec<OpReport>,
}

impl CausalViolation {
    /// The text form: the guarantees, the explanation, one line per operation.
    pub fn render(&self) -> String {
        let names: Vec<String> = self.guarantees.iter().map(|g| g.to_string()).collect();
        let key = self
            .key
            .as_ref()
            .map(|k| format!(" (key {k:?})"))
            .unwrap_or_default();
        let mut text = format!("{}{key}: {}\n", names.join(", "), self.explanation);
        for op in &self.ops {
            let done = op.complete_time.map_or("never completed".to_string(), |t| {
                format!("{:.6} s", secs(t))
            });
            let line = op
                .invoke_line
                .map(|l| format!(", line {l}"))
                .unwrap_or_default();
            text.push_str(&format!(
                "  op {} process {}: {} (invoked {:.6} s, {done}{line})\n",
                op.op,
                op.process,
                op.description,
                secs(op.invoke_time)
            ));
        }
        text
    }
}

fn secs(ns: u64) -> f64 {
    ns as f64 / 1e9
}

/// The checker's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CausalVerdict {
    #[serde(rename = "causal")]
    Causal,
    #[serde(rename = "not causal")]
    NotCausal,
    /// No violation, but some reads could not be judged (or the history is
    /// too large): see `reason`.
    #[serde(rename = "unknown")]
    Unknown,
    /// The history has operations other than reads and writes.
    #[serde(rename = "not applicable")]
    NotApplicable,
}

impl fmt::Display for CausalVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CausalVerdict::Causal => "causal",
            CausalVerdict::NotCausal => "not causal",
            CausalVerdict::Unknown => "unknown",
            CausalVerdict::NotApplicable => "not applicable",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CausalReport {
    pub verdict: CausalVerdict,
    /// Operations judged (completed, or indeterminate writes).
    pub operations: usize,
    /// Reads (and compare-and-sets) whose value was checked.
    pub reads: usize,
    /// Reads of a value written more than once on their key: not judged.
    pub ambiguous_reads: usize,
    /// Every violation found (reads are judged in invocation order).
    pub violation_count: usize,
    /// The first [`MAX_VIOLATIONS_SHOWN`] of them.
    pub violations: Vec<CausalViolation>,
    /// Why the verdict is `unknown` or `not applicable`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl CausalReport {
    fn without_verdict(verdict: CausalVerdict, reason: String) -> CausalReport {
        CausalReport {
            verdict,
            operations: 0,
            reads: 0,
            ambiguous_reads: 0,
            violation_count: 0,
            violations: Vec::new(),
            reason: Some(reason),
        }
    }

    /// Fills the operations' input-file lines from entry indices.
    pub fn set_lines(&mut self, line_of: &dyn Fn(usize) -> Option<usize>) {
        for op in self.violations.iter_mut().flat_map(|v| &mut v.ops) {
            op.set_lines(line_of);
        }
    }

    /// The text form: a summary line, then each violation shown.
    pub fn render(&self) -> String {
        let mut text = format!(
            "{} ({} operations, {} reads judged, {} not judged)\n",
            self.verdict,
            self.operations,
            self.reads - self.ambiguous_reads,
            self.ambiguous_reads
        );
        if let Some(reason) = &self.reason {
            text.push_str(&format!("{reason}\n"));
        }
        for v in &self.violations {
            text.push_str(&v.render());
        }
        if self.violation_count > self.violations.len() {
            text.push_str(&format!(
                "and {} more violations\n",
                self.violation_count - self.violations.len()
            ));
        }
        text
    }
}

/// One operation as the checker sees it.
#[derive(Debug, Clone)]
struct Access {
    report: OpReport,
    key: Option<String>,
    /// The write read (its identity), `Null` for the initial value.
    reads: Option<Value>,
    /// The identity of the write it made.
    writes: Option<Value>,
    /// Indeterminate: a chain of its own, after its session's earlier ops.
    floating: bool,
}

/// A write's identity: the `write` field of an object value, else the value.
fn write_id(value: &Value) -> Value {
    match value.get("write") {
        Some(id) => id.clone(),
        None => value.clone(),
    }
}

/// Each operation's invocation entry and completion entry (if any), in
/// invocation order; errors as [`History::operations`] gives them.
fn entry_pairs(history: &History) -> Result<Vec<(usize, Option<usize>)>, HistoryError> {
    history.operations()?;
    let mut pairs: Vec<(usize, Option<usize>)> = Vec::new();
    let mut open: BTreeMap<u64, usize> = BTreeMap::new();
    for (index, entry) in history.entries.iter().enumerate() {
        if entry.op_type == OpType::Invoke {
            open.insert(entry.process, pairs.len());
            pairs.push((index, None));
        } else if let Some(at) = open.remove(&entry.process) {
            pairs[at].1 = Some(index);
        }
    }
    Ok(pairs)
}

/// Reads the history's reads and writes; `Ok(Err(why))` names an
/// operation that is neither (the checker does not apply).
fn accesses(history: &History) -> Result<Result<Vec<Access>, String>, HistoryError> {
    let mut out = Vec::new();
    for (index, (inv, comp)) in entry_pairs(history)?.into_iter().enumerate() {
        let invoke = &history.entries[inv];
        let completion = comp.map(|c| (c, &history.entries[c]));
        let outcome = completion.map_or(OpType::Info, |(_, c)| c.op_type);
        if outcome == OpType::Fail {
            continue;
        }
        let ok = outcome == OpType::Ok;
        let done = completion.filter(|_| ok);
        let (reads, writes, description) = match invoke.f.as_str() {
            "read" | "get" => match done {
                Some((_, c)) => (Some(c.value.clone()), None, format!("read -> {}", c.value)),
                None => continue,
            },
            "write" | "put" => {
                let v = &invoke.value;
                (None, Some(write_id(v)), format!("write {v}"))
            }
            "cas" => {
                let pair = invoke.value.as_array().filter(|a| a.len() == 2);
                let Some([expected, new]) = pair.map(|a| [&a[0], &a[1]]) else {
                    return Err(HistoryError {
                        index: inv,
                        message: format!("cas needs [expected, new], got {}", invoke.value),
                    });
                };
                let read = ok.then(|| expected.clone());
                (read, Some(new.clone()), format!("cas {expected} -> {new}"))
            }
            other => {
                return Ok(Err(format!(
                "operation {index} is `{other}`: the causal checker judges reads and writes only"
            )))
            }
        };
        out.push(Access {
            report: OpReport {
                op: index,
                process: invoke.process,
                description,
                invoke_time: invoke.time,
                complete_time: done.map(|(_, c)| c.time),
                invoke_entry: inv,
                complete_entry: done.map(|(c, _)| c),
                invoke_line: None,
                complete_line: None,
            },
            key: invoke.key.clone(),
            reads,
            writes,
            floating: !ok,
        });
    }
    Ok(Ok(out))
}

/// Checks `history` for causal consistency; registers start at `initial`
/// (`None`: at `null`, as ours do).
pub fn check_causal(
    history: &History,
    initial: Option<&Value>,
) -> Result<CausalReport, HistoryError> {
    let ops = match accesses(history)? {
        Ok(ops) => ops,
        Err(why) => {
            return Ok(CausalReport::without_verdict(
                CausalVerdict::NotApplicable,
                why,
            ))
        }
    };
    Ok(Graph::build(ops, initial.cloned().unwrap_or(Value::Null)).judge())
}

/// Causal order as vector clocks over chains.
struct Graph {
    ops: Vec<Access>,
    initial: Value,
    /// Each op's chain and position in it.
    chain: Vec<u32>,
    pos: Vec<u32>,
    /// The ops of each chain, in order.
    chains: Vec<Vec<usize>>,
    /// Keys by name, and each op's key number.
    key_of: Vec<usize>,
    /// Per key: the writes of each chain that wrote it (chain, positions).
    writes_by_key: Vec<BTreeMap<u32, Vec<u32>>>,
    /// The writes each read returned (several for a multi-value read;
    /// none for the initial value, or one that could not be traced — see
    /// `read_kind`).
    read_from: Vec<Vec<usize>>,
    read_kind: Vec<ReadKind>,
    /// Edges into each op (program order and reads-from).
    preds: Vec<Vec<usize>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadKind {
    NotARead,
    Write,
    Initial,
    Ambiguous,
    ThinAir,
}

impl Graph {
    fn build(ops: Vec<Access>, initial: Value) -> Graph {
        let n = ops.len();
        let mut keys: BTreeMap<Option<String>, usize> = BTreeMap::new();
        let key_of: Vec<usize> = ops
            .iter()
            .map(|op| {
                let next = keys.len();
                *keys.entry(op.key.clone()).or_insert(next)
            })
            .collect();
        // Chains: one per process (completed ops), one per floating op.
        let (mut chain, mut pos) = (vec![0u32; n], vec![0u32; n]);
        let mut chains: Vec<Vec<usize>> = Vec::new();
        let mut chain_of_process: BTreeMap<u64, usize> = BTreeMap::new();
        let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, op) in ops.iter().enumerate() {
            let process = op.report.process;
            let last = chain_of_process
                .get(&process)
                .and_then(|&c| chains[c].last().copied());
            let c = if op.floating {
                chains.push(Vec::new());
                chains.len() - 1
            } else {
                *chain_of_process.entry(process).or_insert_with(|| {
                    chains.push(Vec::new());
                    chains.len() - 1
                })
            };
            preds[i].extend(last);
            chain[i] = c as u32;
            pos[i] = chains[c].len() as u32;
            chains[c].push(i);
        }
        // Writes by (key, identity); reads-from where the identity is unique.
        let mut writers: BTreeMap<(usize, String), Vec<usize>> = BTreeMap::new();
        let mut writes_by_key: Vec<BTreeMap<u32, Vec<u32>>> = vec![BTreeMap::new(); keys.len()];
        for (i, op) in ops.iter().enumerate() {
            if let Some(id) = &op.writes {
                writers
                    .entry((key_of[i], id.to_string()))
                    .or_default()
                    .push(i);
                writes_by_key[key_of[i]]
                    .entry(chain[i])
                    .or_default()
                    .push(pos[i]);
            }
        }
        let mut read_from: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut read_kind = vec![ReadKind::NotARead; n];
        for (i, op) in ops.iter().enumerate() {
            let Some(value) = &op.reads else { continue };
            // A multi-value read returns the ids of every sibling it saw.
            let (ids, multi) = match value {
                Value::Array(ids) => (&ids[..], true),
                single => (std::slice::from_ref(single), false),
            };
            let mut kind = if ids.is_empty() {
                ReadKind::Initial
            } else {
                ReadKind::Write
            };
            for id in ids {
                let found = writers.get(&(key_of[i], id.to_string()));
                let others: Vec<usize> = found
                    .into_iter()
                    .flatten()
                    .copied()
                    .filter(|&w| w != i)
                    .collect();
                let initial_too = !multi && *id == initial;
                let this = match others[..] {
                    [w] if !initial_too => {
                        read_from[i].push(w);
                        preds[i].push(w);
                        ReadKind::Write
                    }
                    [] if initial_too => ReadKind::Initial,
                    [] => ReadKind::ThinAir,
                    // The initial value written again, or a value written twice.
                    _ => ReadKind::Ambiguous,
                };
                // Thin air outranks an untraceable sibling, which outranks
                // the rest.
                kind = match (kind, this) {
                    (ReadKind::ThinAir, _) | (_, ReadKind::ThinAir) => ReadKind::ThinAir,
                    (ReadKind::Ambiguous, _) | (_, ReadKind::Ambiguous) => ReadKind::Ambiguous,
                    (_, this) => this,
                };
            }
            read_kind[i] = kind;
        }
        Graph {
            ops,
            initial,
            chain,
            pos,
            chains,
            key_of,
            writes_by_key,
            read_from,
            read_kind,
            preds,
        }
    }

    fn judge(&self) -> CausalReport {
        let n = self.ops.len();
        let width = self.chains.len();
        let mut report = CausalReport {
            verdict: CausalVerdict::Causal,
            operations: n,
            reads: self
                .read_kind
                .iter()
                .filter(|k| **k != ReadKind::NotARead)
                .count(),
            ambiguous_reads: self
                .read_kind
                .iter()
                .filter(|k| **k == ReadKind::Ambiguous)
                .count(),
            violation_count: 0,
            violations: Vec::new(),
            reason: None,
        };
        let push = |report: &mut CausalReport, v: CausalViolation| {
            report.violation_count += 1;
            if report.violations.len() < MAX_VIOLATIONS_SHOWN {
                report.violations.push(v);
            }
        };
        for i in (0..n).filter(|&i| self.read_kind[i] == ReadKind::ThinAir) {
            let v = self.ops[i].reads.clone().unwrap_or_default();
            push(
                &mut report,
                CausalViolation {
                    guarantees: vec![Guarantee::ThinAirRead],
                    key: self.ops[i].key.clone(),
                    explanation: format!(
                        "op {} read {v}, which no operation wrote",
                        self.ops[i].report.op
                    ),
                    ops: vec![self.ops[i].report.clone()],
                },
            );
        }
        let order = match self.topological_order() {
            Ok(order) => order,
            Err(cycle) => {
                let ops: Vec<OpReport> =
                    cycle.iter().map(|&i| self.ops[i].report.clone()).collect();
                let names: Vec<String> = ops.iter().map(|o| format!("op {}", o.op)).collect();
                push(&mut report, CausalViolation {
                    guarantees: vec![Guarantee::CausalCycle],
                    key: None,
                    explanation: format!(
                        "{} each precede the next in program order or by reads-from, and the last precedes the first: a value was read before it was written",
                        names.join(" → ")
                    ),
                    ops,
                });
                report.verdict = CausalVerdict::NotCausal;
                return report;
            }
        };
        if n.saturating_mul(width) > MAX_CLOCK_ENTRIES {
            report.verdict = if report.violation_count > 0 {
                CausalVerdict::NotCausal
            } else {
                CausalVerdict::Unknown
            };
            report.reason = Some(format!(
                "{n} operations over {width} chains need more than {MAX_CLOCK_ENTRIES} clock entries: not judged"
            ));
            return report;
        }
        let clocks = self.clocks(&order);
        for r in 0..n {
            if !matches!(self.read_kind[r], ReadKind::Write | ReadKind::Initial) {
                continue;
            }
            if let Some(v) = self.overwrite(&clocks, r) {
                push(&mut report, v);
            }
        }
        report.verdict = if report.violation_count > 0 {
            CausalVerdict::NotCausal
        } else if report.ambiguous_reads > 0 {
            report.reason = Some(format!(
                "{} of {} reads returned a value written more than once on its key, so their write is unknown and they were not judged (writes are told apart by value)",
                report.ambiguous_reads, report.reads
            ));
            CausalVerdict::Unknown
        } else {
            CausalVerdict::Causal
        };
        report
    }

    /// Kahn's algorithm, smallest index first; a cycle if one remains.
    fn topological_order(&self) -> Result<Vec<usize>, Vec<usize>> {
        let n = self.ops.len();
        let mut succs: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut indegree = vec![0usize; n];
        for (i, preds) in self.preds.iter().enumerate() {
            for &p in preds {
                succs[p].push(i);
                indegree[i] += 1;
            }
        }
        let mut ready: std::collections::BTreeSet<usize> =
            (0..n).filter(|&i| indegree[i] == 0).collect();
        let mut order = Vec::with_capacity(n);
        while let Some(i) = ready.pop_first() {
            order.push(i);
            for &s in &succs[i] {
                indegree[s] -= 1;
                if indegree[s] == 0 {
                    ready.insert(s);
                }
            }
        }
        if order.len() == n {
            return Ok(order);
        }
        // Every op left has a predecessor left: walk back until one repeats.
        let left: Vec<bool> = indegree.iter().map(|&d| d > 0).collect();
        let start = (0..n).find(|&i| left[i]).unwrap_or(0);
        let mut seen = vec![usize::MAX; n];
        let mut path = vec![start];
        let mut at = start;
        loop {
            seen[at] = path.len() - 1;
            let Some(&p) = self.preds[at].iter().find(|&&p| left[p]) else {
                return Err(path);
            };
            if seen[p] != usize::MAX {
                let mut cycle = path[seen[p]..].to_vec();
                cycle.reverse();
                return Err(cycle);
            }
            path.push(p);
            at = p;
        }
    }

    /// Each op's vector clock, flat: entry `c` is how many ops of chain `c`
    /// are in its causal past, itself included.
    fn clocks(&self, order: &[usize]) -> Vec<u32> {
        let width = self.chains.len();
        let mut clocks = vec![0u32; self.ops.len() * width];
        let mut row = vec![0u32; width];
        for &i in order {
            // Predecessors come first in `order`, so their rows are final.
            row.fill(0);
            for &p in &self.preds[i] {
                for (m, t) in row.iter_mut().zip(&clocks[p * width..(p + 1) * width]) {
                    *m = (*m).max(*t);
                }
            }
            let c = self.chain[i] as usize;
            row[c] = row[c].max(self.pos[i] + 1);
            clocks[i * width..(i + 1) * width].copy_from_slice(&row);
        }
        clocks
    }

    /// Whether `a` is in `b`'s causal past (`a != b`).
    fn before(&self, clocks: &[u32], a: usize, b: usize) -> bool {
        let width = self.chains.len();
        a != b && clocks[b * width + self.chain[a] as usize] > self.pos[a]
    }

    /// A write of the key of read `r` that overwrote what `r` returned in
    /// `r`'s causal past, as a violation.
    fn overwrite(&self, clocks: &[u32], r: usize) -> Option<CausalViolation> {
        let width = self.chains.len();
        let read = &self.read_from[r];
        let row = &clocks[r * width..(r + 1) * width];
        for (&c, positions) in &self.writes_by_key[self.key_of[r]] {
            // How many of chain c's ops are in r's past, r itself excluded.
            let seen = if c == self.chain[r] {
                self.pos[r]
            } else {
                row[c as usize]
            };
            let last = positions.partition_point(|&p| p < seen);
            if last == 0 {
                continue;
            }
            let w2 = self.chains[c as usize][positions[last - 1] as usize];
            if read.is_empty() {
                return Some(self.explain(clocks, r, None, w2));
            }
            if let Some(&w) = read
                .iter()
                .find(|&&w| w != w2 && self.before(clocks, w, w2))
            {
                return Some(self.explain(clocks, r, Some(w), w2));
            }
        }
        None
    }

    /// Names the guarantees broken by `r` reading `w` (None: the initial
    /// value) although `w2` overwrote it in `r`'s past.
    fn explain(&self, clocks: &[u32], r: usize, w: Option<usize>, w2: usize) -> CausalViolation {
        let same_session =
            |a: usize, b: usize| self.ops[a].report.process == self.ops[b].report.process;
        // Did `op`'s session read `from`, or a later write of the key,
        // before `op` (or, with `itself`, in `op` too: a compare-and-set)?
        let read_at_or_after = |op: usize, from: usize, itself: bool| {
            let chain = &self.chains[self.chain[op] as usize];
            let upto = self.pos[op] as usize + usize::from(itself);
            chain[..upto].iter().any(|&o| {
                self.key_of[o] == self.key_of[r]
                    && self.read_from[o]
                        .iter()
                        .any(|&x| x == from || self.before(clocks, from, x))
            })
        };
        let mut guarantees = Vec::new();
        if same_session(w2, r) {
            guarantees.push(Guarantee::ReadYourWrites);
        }
        if read_at_or_after(r, w2, false) {
            guarantees.push(Guarantee::MonotonicReads);
        }
        if let Some(w) = w {
            if same_session(w, w2) {
                guarantees.push(Guarantee::MonotonicWrites);
            }
            if read_at_or_after(w2, w, true) {
                guarantees.push(Guarantee::WritesFollowReads);
            }
        }
        if guarantees.is_empty() {
            guarantees.push(Guarantee::CausalOrder);
        }
        let name = |i: usize| format!("op {}", self.ops[i].report.op);
        let (explanation, ops) = match w {
            Some(w) => (
                format!(
                    "{} read the value of {}, but {} overwrote it and precedes {} in causal order",
                    name(r),
                    name(w),
                    name(w2),
                    name(r)
                ),
                vec![r, w, w2],
            ),
            None => (
                format!(
                    "{} read the initial value {}, but {} wrote the key and precedes it in causal order",
                    name(r),
                    self.initial,
                    name(w2)
                ),
                vec![r, w2],
            ),
        };
        CausalViolation {
            guarantees,
            key: self.ops[r].key.clone(),
            explanation,
            ops: ops
                .into_iter()
                .map(|i| self.ops[i].report.clone())
                .collect(),
        }
    }
}
