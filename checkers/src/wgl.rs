//! The linearizability search for one (sub-)history: Wing & Gong's algorithm
//! with Lowe's configuration cache ("WGL").
//!
//! Every operation contributes a call event and, if it completed, a return
//! event; the events sit in a doubly-linked list in time order (calls before
//! returns at equal times, so touching operations count as concurrent). The
//! search walks the list from its head:
//!
//! * at a call, it tries to linearize that operation now: if the model allows
//!   the step and the resulting configuration is new, the operation is
//!   *lifted* out of the list (call and return), pushed on a stack, and the
//!   walk restarts from the head;
//! * at a return, the operation ending there was not linearized in time, so
//!   the last choice is undone (*unlifted*) and the walk resumes just after
//!   that operation's call.
//!
//! Indeterminate operations have no return event (it would be at +infinity):
//! they may be linearized at any point after their call, or never. The search
//! therefore succeeds as soon as every *completed* operation is linearized.
//!
//! The search is a pure function of the operations' order: no clock (except
//! an optional deadline checked every [`DEADLINE_EVERY`] steps), no
//! iteration over hash tables.

use std::time::Instant;

use crate::cache::{Bitset, ConfigCache};
use crate::fasthash::{mix64, SplitMix64};
use crate::model::{Model, Op};
use crate::states::StateTable;

const NIL: u32 = u32::MAX;
const HEAD: u32 = 0;

/// At most this many other pending operations are listed in a counterexample.
const MAX_CANDIDATES: usize = 32;

/// How often (in steps) the optional deadline is compared with the clock.
pub(crate) const DEADLINE_EVERY: u64 = 1 << 14;

/// Which limit ended a search early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exhausted {
    Steps,
    Deadline,
    Memory,
}

/// The work a search may still do, shared by every partition of a check.
#[derive(Debug, Clone)]
pub(crate) struct Budget {
    pub steps_left: Option<u64>,
    pub deadline: Option<Instant>,
    /// Bytes one partition's configuration cache may hold.
    pub max_cache_bytes: Option<usize>,
    pub steps_done: u64,
    pub exhausted: Option<Exhausted>,
}

impl Budget {
    /// Counts one step; false when the budget is spent.
    #[inline]
    fn spend(&mut self) -> bool {
        if self.exhausted.is_some() {
            return false;
        }
        if let Some(left) = &mut self.steps_left {
            if *left == 0 {
                self.exhausted = Some(Exhausted::Steps);
                return false;
            }
            *left -= 1;
        }
        self.steps_done += 1;
        if self.steps_done.is_multiple_of(DEADLINE_EVERY) {
            if let Some(deadline) = self.deadline {
                if Instant::now() >= deadline {
                    self.exhausted = Some(Exhausted::Deadline);
                    return false;
                }
            }
        }
        true
    }

    /// Checks the cache size after an insertion; false when over the limit.
    #[inline]
    fn fits(&mut self, cache_bytes: usize) -> bool {
        match self.max_cache_bytes {
            Some(max) if cache_bytes > max => {
                self.exhausted = Some(Exhausted::Memory);
                false
            }
            _ => true,
        }
    }
}

/// Why a sub-history is not linearizable, in local operation indices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    /// The linearization that placed the most completed operations, in order.
    pub prefix: Vec<usize>,
    /// The operation whose completion was reached with no way to place it.
    pub stuck: usize,
    /// Operations that could have gone next after the prefix (all were tried;
    /// at most [`MAX_CANDIDATES`], in event order).
    pub candidates: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Linearizable,
    NotLinearizable(Failure),
    Unknown,
}

/// The event list, as parallel arrays; index 0 is the head sentinel.
struct Events {
    next: Vec<u32>,
    prev: Vec<u32>,
    op: Vec<u32>,
    is_call: Vec<bool>,
    /// For a call: its return event, or NIL for an indeterminate operation.
    ret_of: Vec<u32>,
}

impl Events {
    fn build<I, O>(ops: &[&Op<I, O>]) -> Events {
        // (time, kind: 0 call / 1 return, op)
        let mut order: Vec<(u64, u8, u32)> = Vec::with_capacity(ops.len() * 2);
        for (i, op) in ops.iter().enumerate() {
            order.push((op.call, 0, i as u32));
            if let Some(ret) = op.ret {
                order.push((ret.max(op.call), 1, i as u32));
            }
        }
        order.sort_unstable();
        let n = order.len() + 1;
        let mut ev = Events {
            next: vec![NIL; n],
            prev: vec![NIL; n],
            op: vec![NIL; n],
            is_call: vec![false; n],
            ret_of: vec![NIL; n],
        };
        let mut call_at = vec![NIL; ops.len()];
        for (pos, &(_, kind, op)) in order.iter().enumerate() {
            let e = pos as u32 + 1;
            ev.prev[e as usize] = e - 1;
            ev.next[(e - 1) as usize] = e;
            ev.op[e as usize] = op;
            ev.is_call[e as usize] = kind == 0;
            if kind == 0 {
                call_at[op as usize] = e;
            } else {
                ev.ret_of[call_at[op as usize] as usize] = e;
            }
        }
        ev
    }

    #[inline]
    fn unlink(&mut self, e: u32) {
        let (p, n) = (self.prev[e as usize], self.next[e as usize]);
        self.next[p as usize] = n;
        if n != NIL {
            self.prev[n as usize] = p;
        }
    }

    /// Puts back an event removed by `unlink`; its own links were kept.
    #[inline]
    fn relink(&mut self, e: u32) {
        let (p, n) = (self.prev[e as usize], self.next[e as usize]);
        self.next[p as usize] = e;
        if n != NIL {
            self.prev[n as usize] = e;
        }
    }

    /// Removes a call and its return (in that order; `unlift` reverses it).
    #[inline]
    fn lift(&mut self, call: u32) {
        self.unlink(call);
        let ret = self.ret_of[call as usize];
        if ret != NIL {
            self.unlink(ret);
        }
    }

    #[inline]
    fn unlift(&mut self, call: u32) {
        let ret = self.ret_of[call as usize];
        if ret != NIL {
            self.relink(ret);
        }
        self.relink(call);
    }
}

/// Statistics of one search, for reports and benchmarks.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SearchStats {
    pub configurations: usize,
    pub states: usize,
}

/// Decides whether `ops` (one independent sub-history) is linearizable.
pub(crate) fn search<M: Model>(
    model: &M,
    ops: &[&Op<M::Input, M::Output>],
    budget: &mut Budget,
) -> (Outcome, SearchStats) {
    let n = ops.len();
    let mut remaining = ops.iter().filter(|op| op.ret.is_some()).count();
    if remaining == 0 {
        return (Outcome::Linearizable, SearchStats::default());
    }
    let mut ev = Events::build(ops);
    // Two independent keys per operation: the first addresses the cache, the
    // second identifies the set in fingerprint mode (see `cache`).
    let mut zobrist_keys: Vec<(u64, u64)> = Vec::with_capacity(n);
    // A fixed seed: the keys, like everything else here, are reproducible.
    let mut rng = SplitMix64(0x5eed_0fc1_u64 << 8);
    for _ in 0..n {
        zobrist_keys.push((rng.next_u64(), rng.next_u64()));
    }

    let mut states = StateTable::new();
    let mut state = states.intern(model.init());
    let mut linearized = Bitset::new(n);
    let mut set_hash = (0u64, 0u64);
    let mut cache = ConfigCache::new(n);
    // In fingerprint mode the bitset is not stored; an empty slice is passed.
    let exact = cache.is_exact();
    // (call event lifted, state before it)
    let mut stack: Vec<(u32, u32)> = Vec::with_capacity(n);

    // The best linearization seen, for the counterexample. `at_best`: no
    // backtrack since the search reached it. The prefix is copied lazily, at
    // the backtrack, and only the part of the stack that changed since the
    // last copy (`agree` entries still match), so long searches stay linear.
    let total = remaining;
    let mut best_done = 0;
    let mut best_prefix: Vec<usize> = Vec::new();
    let mut agree = 0;
    let mut at_best = true;
    let mut failure_at_best: Option<(usize, Vec<usize>)> = None;

    let mut e = ev.next[HEAD as usize];
    loop {
        if !budget.spend() {
            let stats = SearchStats {
                configurations: cache.len(),
                states: states.len(),
            };
            return (Outcome::Unknown, stats);
        }
        if e != NIL && ev.is_call[e as usize] {
            let o = ev.op[e as usize];
            let op = ops[o as usize];
            if let Some(next_state) = states.step(model, state, o, &op.input, op.output.as_ref()) {
                let (k1, k2) = zobrist_keys[o as usize];
                let next_hash = (set_hash.0 ^ k1, set_hash.1 ^ k2);
                linearized.set(o as usize);
                let key = next_hash.0 ^ mix64(u64::from(next_state) + 1);
                let words = if exact { linearized.words() } else { &[] };
                if cache.insert(key, next_hash.1, next_state, words) {
                    if !budget.fits(cache.bytes()) {
                        let stats = SearchStats {
                            configurations: cache.len(),
                            states: states.len(),
                        };
                        return (Outcome::Unknown, stats);
                    }
                    stack.push((e, state));
                    state = next_state;
                    set_hash = next_hash;
                    ev.lift(e);
                    if op.ret.is_some() {
                        remaining -= 1;
                        if remaining == 0 {
                            let stats = SearchStats {
                                configurations: cache.len(),
                                states: states.len(),
                            };
                            return (Outcome::Linearizable, stats);
                        }
                    }
                    // Progress is measured in completed operations placed:
                    // indeterminate ones are optional, so placing them is no
                    // sign of getting further.
                    let done = total - remaining;
                    if done > best_done || (done == best_done && at_best) {
                        best_done = done;
                        at_best = true;
                    }
                    e = ev.next[HEAD as usize];
                    continue;
                }
                linearized.clear(o as usize);
            }
            e = ev.next[e as usize];
        } else {
            // A completed operation was reached without being linearized
            // (e == NIL cannot happen while a return remains; treat it alike).
            if at_best && e != NIL {
                best_prefix.truncate(agree);
                best_prefix.extend(
                    stack[agree..]
                        .iter()
                        .map(|&(c, _)| ev.op[c as usize] as usize),
                );
                agree = stack.len();
                let mut candidates = Vec::new();
                let stuck = ev.op[e as usize];
                let mut c = ev.next[HEAD as usize];
                while c != e && candidates.len() < MAX_CANDIDATES {
                    if ev.op[c as usize] != stuck {
                        candidates.push(ev.op[c as usize] as usize);
                    }
                    c = ev.next[c as usize];
                }
                failure_at_best = Some((stuck as usize, candidates));
            }
            at_best = false;
            let popped = stack.pop();
            agree = agree.min(stack.len());
            let Some((call, before)) = popped else {
                let (stuck, candidates) = failure_at_best.unwrap_or((0, Vec::new()));
                let failure = Failure {
                    prefix: best_prefix,
                    stuck,
                    candidates,
                };
                let stats = SearchStats {
                    configurations: cache.len(),
                    states: states.len(),
                };
                return (Outcome::NotLinearizable(failure), stats);
            };
            let o = ev.op[call as usize];
            linearized.clear(o as usize);
            let (k1, k2) = zobrist_keys[o as usize];
            set_hash = (set_hash.0 ^ k1, set_hash.1 ^ k2);
            state = before;
            ev.unlift(call);
            if ops[o as usize].ret.is_some() {
                remaining += 1;
            }
            e = ev.next[call as usize];
        }
    }
}
