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
//! Before the walk, each configuration first tries the operation that
//! returns first among the pending ones (the one whose return the walk would
//! stop at): *just-in-time* linearization in Lowe's sense ("Testing for
//! linearizability", 2017), which places operations as late as their
//! returns force rather than as early as their calls allow. The choices at a
//! configuration are the same set (the calls before the first return), only
//! their order changes, so every verdict is the same; but a linearizable
//! history is usually found along its return order at the first attempt,
//! where calling order leaves many concurrent writes placed too early and
//! their subsets to be explored before the reads agree.
//!
//! When that first-returning operation cannot go now because it needs a
//! state the current one is not (a read of `v`, a CAS from `v`), the
//! operations that lead to that state (the writes of `v`) are tried next,
//! the one returning first first; then the other calls in list order. A
//! long-open write of `v` is thus kept for later while a short one serves
//! the read now: a 40-client single-key raft-unreliable history placed a
//! write open for 275 ms at the first read of its value, and a late read
//! that only it could explain was reached with it gone (longest prefix
//! 229 of 1 479 before, 1 009 with this order). Again the same choices in
//! another order.
//!
//! In sequential-consistency mode (`Order::Program`) every call comes before
//! every return in the list, and an operation may go only once its
//! process's previous completed operation has (`Search::in_order`).
//!
//! Indeterminate operations have no return event (it would be at +infinity):
//! they may be linearized at any point after their call, or never. The search
//! therefore succeeds as soon as every *completed* operation is linearized.
//!
//! The search is a pure function of the operations' order: no clock (except
//! an optional deadline checked every [`DEADLINE_EVERY`] steps), no
//! iteration over hash tables.

use std::collections::HashMap;
use std::time::Instant;

use crate::cache::{Bitset, ConfigCache};
use crate::fasthash::{mix64, SplitMix64};
use crate::model::{Model, Op, Reach};
use crate::states::StateTable;

const NIL: u32 = u32::MAX;
const HEAD: u32 = 0;

/// At most this many other pending operations are listed in a counterexample.
const MAX_CANDIDATES: usize = 32;

/// How often (in steps) the optional deadline is compared with the clock.
pub(crate) const DEADLINE_EVERY: u64 = 1 << 14;

/// Which orders between operations a linearization must keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    /// Linearizability: an operation that returned before another was
    /// called goes first.
    RealTime,
    /// Sequential consistency: only each process's own order counts. An
    /// indeterminate operation comes after its process's earlier operations
    /// and is not ordered before its later ones (it may have taken effect
    /// at any time after its call, or never), as in real time.
    Program,
}

/// Why a search slice ended without a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Paused {
    /// The slice's steps are spent; `run` may be called again.
    Slice,
    /// The search's tables would exceed the memory it was allowed.
    Memory,
    /// The wall-clock deadline passed.
    Deadline,
}

/// What one call of [`Search::run`] ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Progress {
    Decided(Outcome),
    Paused(Paused),
}

/// Limits of one slice of a search, set by the scheduler.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slice {
    pub steps: u64,
    pub deadline: Option<Instant>,
    /// Bytes this search may hold in all (`None`: no limit).
    pub memory: Option<usize>,
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
}

/// The event list, as parallel arrays; index 0 is the head sentinel.
struct Events {
    next: Vec<u32>,
    prev: Vec<u32>,
    op: Vec<u32>,
    is_call: Vec<bool>,
    /// For a call: its return event, or NIL for an indeterminate operation.
    ret_of: Vec<u32>,
    /// Each operation's call event.
    call_of: Vec<u32>,
}

impl Events {
    /// In real-time order, the events at their times. In program order,
    /// every call (in invocation order) comes before every return: time
    /// then orders nothing, and each operation's process predecessor is
    /// enforced by the search (`Search::after`).
    fn build<I, O>(ops: &[&Op<I, O>], order_by: Order) -> Events {
        // (time, kind: 0 call / 1 return, op)
        let mut order: Vec<(u64, u8, u32)> = Vec::with_capacity(ops.len() * 2);
        for (i, op) in ops.iter().enumerate() {
            let (call, ret) = match order_by {
                Order::RealTime => (op.call, op.ret.map(|r| r.max(op.call))),
                Order::Program => (0, op.ret.map(|_| 1)),
            };
            order.push((call, 0, i as u32));
            if let Some(ret) = ret {
                order.push((ret, 1, i as u32));
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
            call_of: Vec::new(),
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
        ev.call_of = call_at;
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

/// Heap bytes of a hash table: its buckets (a power of two, at least 8/7 of
/// its capacity) times an entry and one control byte.
pub(crate) fn table_bytes<K, V, S>(table: &HashMap<K, V, S>) -> usize {
    let cap = table.capacity();
    if cap == 0 {
        return 0;
    }
    let buckets = (cap * 8 / 7).next_power_of_two();
    buckets * (std::mem::size_of::<(K, V)>() + 1)
}

fn vec_bytes<T>(v: &Vec<T>) -> usize {
    v.capacity() * std::mem::size_of::<T>()
}

/// What the next insertion into a full hash table may allocate: the new
/// buckets (twice as many) while the old ones are still held.
pub(crate) fn table_growth<K, V, S>(table: &HashMap<K, V, S>) -> usize {
    if table.len() < table.capacity() {
        0
    } else {
        2 * table_bytes(table).max(16 * (std::mem::size_of::<(K, V)>() + 1))
    }
}

/// What the next push onto a full vector may allocate: the new buffer
/// (twice as large) while the old one is still held.
pub(crate) fn vec_growth<T>(v: &Vec<T>) -> usize {
    if v.len() < v.capacity() {
        0
    } else {
        2 * vec_bytes(v).max(8 * std::mem::size_of::<T>())
    }
}

/// One sub-history's search, resumable: [`Search::run`] takes a number of
/// steps and either decides or pauses where it stopped, so a scheduler can
/// interleave many searches. A search is a pure function of its operations
/// and the total number of steps it was given, however they were sliced.
pub(crate) struct Search<'a, M: Model> {
    model: &'a M,
    ops: &'a [&'a Op<M::Input, M::Output>],
    ev: Events,
    /// Two independent keys per operation: the first addresses the cache,
    /// the second identifies the set in fingerprint mode (see `cache`).
    zobrist_keys: Vec<(u64, u64)>,
    states: StateTable<M::State>,
    state: u32,
    linearized: Bitset,
    set_hash: (u64, u64),
    cache: ConfigCache,
    stack: Vec<Placed>,
    /// Each operation's predecessor in program order (the last completed
    /// operation of its process before it), NIL if none or in real-time
    /// order: it must be linearized first.
    after: Vec<u32>,
    /// The walk restarted at a new configuration: look for a read to place
    /// first (see `place_a_read`).
    scan_reads: bool,
    /// Twins: operations with the same input and output, each class sorted
    /// by return (indeterminate last), and each op's place in its class.
    twins: Vec<Vec<u32>>,
    twin_class: Vec<u32>,
    twin_rank: Vec<u32>,
    /// For the no-writer-left rule; `None` when no operation needs a state.
    writers: Option<Writers>,
    /// The model's reachability test for this partition, if any.
    reach: Option<Reach<M::State>>,
    /// The state the last placement changed the state away from (NIL: it
    /// kept the state), to be checked by the no-writer-left rule; at the
    /// start, every needed state is checked.
    left: u32,
    check_all: bool,
    /// Cache and memo entries when the memory was last checked.
    entries_at_check: usize,
    /// Which choices at this configuration are being tried.
    phase: Phase,
    /// The first-returning operation's call event once tried (the walk
    /// then skips it), else NIL.
    first: u32,
    /// The state it needs, if not the current one (NIL otherwise): the
    /// operations that lead there are tried next.
    target: u32,
    /// The last choice tried in this phase, by `choice_key`; (0, 0)
    /// before the first.
    tried: (u32, u32),
    /// Completed operations not yet linearized, and their total.
    remaining: usize,
    total: usize,
    /// The best linearization seen, for the counterexample. `at_best`: no
    /// backtrack since the search reached it. The prefix is copied lazily,
    /// at the backtrack, and only the part of the stack that changed since
    /// the last copy (`agree` entries still match), so long searches stay
    /// linear.
    best_done: usize,
    best_prefix: Vec<usize>,
    agree: usize,
    at_best: bool,
    failure_at_best: Option<(usize, Vec<usize>)>,
    steps: u64,
}

impl<'a, M: Model> Search<'a, M> {
    pub(crate) fn new(model: &'a M, ops: &'a [&'a Op<M::Input, M::Output>], order: Order) -> Self {
        let n = ops.len();
        let mut zobrist_keys = Vec::with_capacity(n);
        // A fixed seed: the keys, like everything else here, are reproducible.
        let mut rng = SplitMix64(0x5eed_0fc1_u64 << 8);
        for _ in 0..n {
            zobrist_keys.push((rng.next_u64(), rng.next_u64()));
        }
        let mut states = StateTable::new();
        let state = states.intern(model, model.init());
        let ev = Events::build(ops, order);
        // The twin rule and the overwritten-write rule argue from real
        // time; in program order they are off.
        let real_time = order == Order::RealTime;
        let (twins, twin_class, twin_rank) = twin_classes(ops, real_time);
        let writers = Writers::build(model, ops, &ev, &mut states);
        let reach = model.reachability(ops);
        let total = ops.iter().filter(|op| op.ret.is_some()).count();
        Search {
            model,
            ops,
            phase: Phase::First,
            first: NIL,
            target: NIL,
            tried: (0, 0),
            ev,
            zobrist_keys,
            states,
            state,
            linearized: Bitset::new(n),
            set_hash: (0, 0),
            cache: ConfigCache::new(n),
            stack: Vec::with_capacity(n),
            after: process_predecessors(ops, order),
            scan_reads: true,
            entries_at_check: usize::MAX,
            twins,
            twin_class,
            twin_rank,
            writers,
            reach,
            left: NIL,
            check_all: true,
            remaining: total,
            total,
            best_done: 0,
            best_prefix: Vec::new(),
            agree: 0,
            at_best: true,
            failure_at_best: None,
            steps: 0,
        }
    }

    /// Steps taken so far.
    pub(crate) fn steps(&self) -> u64 {
        self.steps
    }

    /// Completed operations in the longest linearizable prefix found so far,
    /// and how many completed operations there are.
    pub(crate) fn longest_prefix(&self) -> (usize, usize) {
        (self.best_done, self.total)
    }

    pub(crate) fn stats(&self) -> SearchStats {
        SearchStats {
            configurations: self.cache.len(),
            states: self.states.len(),
        }
    }

    /// Every table of the search, in bytes: the configuration cache, the
    /// state table (states, their heap data, memo), the event list, the
    /// stack and the counterexample's prefix.
    pub(crate) fn bytes(&self) -> usize {
        let ev = &self.ev;
        vec_bytes(&ev.next)
            + vec_bytes(&ev.prev)
            + vec_bytes(&ev.op)
            + vec_bytes(&ev.is_call)
            + vec_bytes(&ev.ret_of)
            + vec_bytes(&self.zobrist_keys)
            + self.states.bytes()
            + self.linearized.words().len() * 8
            + self.cache.bytes()
            + vec_bytes(&self.stack)
            + vec_bytes(&self.after)
            + vec_bytes(&self.best_prefix)
            + self.writers.as_ref().map_or(0, Writers::bytes)
    }

    /// What the next step may allocate at most: each table that is full
    /// grows on its next insertion, and a step inserts at most once into
    /// each. The search keeps `bytes() + growth()` within its limit, so the
    /// memory it actually holds never exceeds it.
    fn growth(&self) -> usize {
        self.states.growth()
            + self.cache.growth()
            + vec_growth(&self.stack)
            + vec_growth(&self.best_prefix)
    }

    /// Searches for at most `slice.steps` more steps.
    pub(crate) fn run(&mut self, slice: Slice) -> Progress {
        if self.remaining == 0 {
            return Progress::Decided(Outcome::Linearizable);
        }
        let mut left = slice.steps;
        // The limit may have changed since the last slice: check it first.
        self.entries_at_check = usize::MAX;
        loop {
            if left == 0 {
                return Progress::Paused(Paused::Slice);
            }
            // Tables grow only with new entries: count them when there are.
            let entries = self.cache.len() + self.states.memo_len();
            if entries != self.entries_at_check {
                self.entries_at_check = entries;
                if let Some(max) = slice.memory {
                    if self.bytes() + self.growth() > max {
                        return Progress::Paused(Paused::Memory);
                    }
                }
            }
            left -= 1;
            self.steps += 1;
            if self.steps.is_multiple_of(DEADLINE_EVERY) {
                if let Some(deadline) = slice.deadline {
                    if Instant::now() >= deadline {
                        return Progress::Paused(Paused::Deadline);
                    }
                }
            }
            if self.scan_reads {
                self.scan_reads = false;
                if let Some(stranded) = self.stranded_after_change() {
                    if let Some(failure) = self.backtrack(stranded) {
                        return Progress::Decided(Outcome::NotLinearizable(failure));
                    }
                    continue;
                }
                match self.place_a_read() {
                    ReadRule::Placed => {
                        if self.remaining == 0 {
                            return Progress::Decided(Outcome::Linearizable);
                        }
                        self.scan_reads = true;
                        continue;
                    }
                    ReadRule::DeadEnd => {
                        if let Some(failure) = self.backtrack(NIL) {
                            return Progress::Decided(Outcome::NotLinearizable(failure));
                        }
                        continue;
                    }
                    ReadRule::None => {}
                }
            }
            match self.phase {
                Phase::First => {
                    self.phase = Phase::Enablers;
                    self.first = self.first_to_return();
                    self.target = self.needed_by(self.first);
                    self.tried = (0, 0);
                    if self.first != NIL
                        && self.try_place(self.first, How::First)
                        && self.remaining == 0
                    {
                        return Progress::Decided(Outcome::Linearizable);
                    }
                    continue;
                }
                Phase::Enablers | Phase::Walk => {}
            }
            let enablers = self.phase == Phase::Enablers;
            let Some(e) = self.next_choice(enablers) else {
                if enablers {
                    self.phase = Phase::Walk;
                    self.tried = (0, 0);
                    continue;
                }
                // Every call before the first pending return was tried.
                let e = self.first_return();
                if let Some(failure) = self.backtrack(e) {
                    return Progress::Decided(Outcome::NotLinearizable(failure));
                }
                continue;
            };
            self.tried = self.choice_key(e);
            let o = self.ev.op[e as usize];
            let how = if enablers { How::Enabler } else { How::Walk };
            if !self.twin_tried_first(o, e) && self.try_place(e, how) && self.remaining == 0 {
                return Progress::Decided(Outcome::Linearizable);
            }
        }
    }

    /// The call event of the pending operation that returns first (the
    /// operation of the first return event in the list), or NIL if only
    /// indeterminate operations are left.
    fn first_to_return(&self) -> u32 {
        let e = self.first_return();
        if e == NIL {
            NIL
        } else {
            self.ev.call_of[self.ev.op[e as usize] as usize]
        }
    }

    /// The state the operation of call event `first` needs
    /// ([`Model::needs`]), if it is not the current one; else NIL.
    fn needed_by(&self, first: u32) -> u32 {
        if first == NIL {
            return NIL;
        }
        let op = self.ops[self.ev.op[first as usize] as usize];
        let Some(needed) = self.model.needs(&op.input, op.output.as_ref()) else {
            return NIL;
        };
        match self.states.find(&needed) {
            Some(id) if id != self.state => id,
            _ => NIL,
        }
    }

    /// The order of the choices in the current phase: the enablers in the
    /// order they return (indeterminate ones last), then of their calls
    /// (a write that returns soon goes before one that stays open long and
    /// may be needed later); the walk in list order.
    fn choice_key(&self, e: u32) -> (u32, u32) {
        match self.phase {
            Phase::Walk => (0, e),
            _ => (self.ev.ret_of[e as usize], e),
        }
    }

    /// The call event of the next choice to try at this configuration: the
    /// pending operation (not the first-returning one, tried already) that
    /// may go now and comes next after the last one tried, in
    /// `choice_key` order; with `enablers`, only those leading to the
    /// target state.
    fn next_choice(&mut self, enablers: bool) -> Option<u32> {
        if enablers && self.target == NIL {
            return None;
        }
        let mut best: Option<((u32, u32), u32)> = None;
        let mut e = self.ev.next[HEAD as usize];
        while e != NIL && self.ev.is_call[e as usize] {
            let key = self.choice_key(e);
            let o = self.ev.op[e as usize];
            if e != self.first
                && key > self.tried
                && best.is_none_or(|(k, _)| key < k)
                && self.in_order(o)
                && (!enablers || self.leads_to_target(o))
            {
                best = Some((key, e));
            }
            e = self.ev.next[e as usize];
        }
        best.map(|(_, e)| e)
    }

    /// True when operation `o` would lead from the current state to the
    /// target state.
    fn leads_to_target(&mut self, o: u32) -> bool {
        let op = self.ops[o as usize];
        self.states
            .step(self.model, self.state, o, &op.input, op.output.as_ref())
            == Some(self.target)
    }

    /// The first return event left in the list (NIL if none): the calls
    /// before it are the operations that may go next.
    fn first_return(&self) -> u32 {
        let mut e = self.ev.next[HEAD as usize];
        while e != NIL && self.ev.is_call[e as usize] {
            e = self.ev.next[e as usize];
        }
        e
    }

    /// True when operation `o` may go now as far as program order goes (its
    /// process predecessor is linearized; always in real-time order, where
    /// the event list alone decides).
    #[inline]
    fn in_order(&self, o: u32) -> bool {
        let before = self.after[o as usize];
        before == NIL || self.linearized.get(before as usize)
    }

    /// Tries to linearize the operation of call event `e` now: if the model
    /// allows it and the configuration it leads to is new, places it (see
    /// `push`) and returns true.
    fn try_place(&mut self, e: u32, how: How) -> bool {
        let o = self.ev.op[e as usize];
        if !self.in_order(o) {
            return false;
        }
        let op = self.ops[o as usize];
        let Some(next_state) =
            self.states
                .step(self.model, self.state, o, &op.input, op.output.as_ref())
        else {
            return false;
        };
        match self.enter(o, next_state) {
            Some(next_hash) => {
                self.push(e, next_state, next_hash, how);
                self.scan_reads = true;
                true
            }
            None => false,
        }
    }

    /// Marks operation `o` linearized and records the configuration that
    /// leads to (with `next_state`) in the cache. Returns its set hash if
    /// the configuration is new; if it was explored already, unmarks `o`
    /// and returns None.
    fn enter(&mut self, o: u32, next_state: u32) -> Option<(u64, u64)> {
        let (k1, k2) = self.zobrist_keys[o as usize];
        let next_hash = (self.set_hash.0 ^ k1, self.set_hash.1 ^ k2);
        self.linearized.set(o as usize);
        let key = next_hash.0 ^ mix64(u64::from(next_state) + 1);
        let words = if self.cache.is_exact() {
            self.linearized.words()
        } else {
            &[]
        };
        if self.cache.insert(key, next_hash.1, next_state, words) {
            Some(next_hash)
        } else {
            self.linearized.clear(o as usize);
            None
        }
    }

    /// Linearizes the operation of call event `e` (already in the cache),
    /// leading to `next_state`, and starts over at the new configuration.
    fn push(&mut self, e: u32, next_state: u32, next_hash: (u64, u64), how: How) {
        let o = self.ev.op[e as usize];
        self.stack.push(Placed {
            call: e,
            before: self.state,
            how,
        });
        self.left = if next_state == self.state {
            NIL
        } else {
            self.state
        };
        self.state = next_state;
        self.set_hash = next_hash;
        self.ev.lift(e);
        if self.ops[o as usize].ret.is_some() {
            self.remaining -= 1;
        }
        // Progress is measured in completed operations placed: indeterminate
        // ones are optional, so placing them is no sign of getting further.
        let done = self.total - self.remaining;
        if done > self.best_done || (done == self.best_done && self.at_best) {
            self.best_done = done;
            self.at_best = true;
        }
        self.phase = Phase::First;
        self.first = NIL;
    }

    /// The read rule: a read-only operation that was called before every
    /// pending operation returned, and whose result the current state
    /// gives, can be linearized right now without loss of generality. In any
    /// linearization from here that places it later, moving it to the front
    /// keeps every step valid (it reads the current state and changes
    /// nothing) and breaks no real-time order (nothing pending returned
    /// before its call). So it is placed with no alternative tried: when the
    /// search backtracks over it, it backtracks further; and if the
    /// configuration with it placed was already explored, this one is a
    /// dead end too.
    fn place_a_read(&mut self) -> ReadRule {
        let model = self.model;
        let mut e = self.ev.next[HEAD as usize];
        while e != NIL && self.ev.is_call[e as usize] {
            let o = self.ev.op[e as usize];
            let op = self.ops[o as usize];
            if model.is_read_only(&op.input) && self.in_order(o) {
                if let Some(next_state) =
                    self.states
                        .step(model, self.state, o, &op.input, op.output.as_ref())
                {
                    let Some(next_hash) = self.enter(o, next_state) else {
                        return ReadRule::DeadEnd;
                    };
                    self.push(e, next_state, next_hash, How::ReadRule);
                    return ReadRule::Placed;
                }
            }
            e = self.ev.next[e as usize];
        }
        ReadRule::None
    }

    /// The no-writer-left rule: a configuration is a dead end when a
    /// completed operation `r`, not linearized, needs a state `x` other than
    /// the current one (a read that returned `x`) and no pending operation
    /// that leaves `x` was called before `r` returned. In a linearization
    /// from here, the state at `r`'s place is `x`, so the last operation
    /// before it that changed the state to `x` is pending now, leaves `x`,
    /// and is placed before `r`, hence called before `r`'s return. There is
    /// none, so there is no such linearization.
    ///
    /// Where it matters: many concurrent writes of which one specific one
    /// must go last (the value later reads return). A search that placed
    /// that write and then another one learns at once that the later reads
    /// are stranded, instead of first trying every subset of the writes and
    /// reads that follow.
    ///
    /// Only the state just left is checked: with writes, which leave
    /// exactly their value, a state `x` can become stranded only then
    /// (placing a writer of `x` makes the state `x`); where a writer can
    /// leave other states too (an append), a dead end may be found later,
    /// never wrongly. Among the operations needing `x`, only the pending
    /// one that returns first is checked: it has the fewest writers to
    /// choose from. Returns that operation's return event.
    ///
    /// With a reachability test from the model (KV appends: a value only
    /// grows), a change of state also strands every operation needing a
    /// state that the new one can never become.
    fn stranded_after_change(&mut self) -> Option<u32> {
        let writers = self.writers.as_ref()?;
        let all = std::mem::take(&mut self.check_all);
        let left = std::mem::replace(&mut self.left, NIL);
        if !all && left == NIL {
            return None;
        }
        let needed = writers.state_of.len() as u32;
        if let Some(leaving) = &writers.leaving {
            let no_writer = |n: u32| self.no_writer_left(n, &leaving[n as usize]);
            let found = if all {
                (0..needed)
                    .filter(|&n| writers.state_of[n as usize] != self.state)
                    .find_map(no_writer)
            } else {
                writers.number.get(&left).and_then(|&n| no_writer(n))
            };
            if found.is_some() {
                return found;
            }
        }
        let reach = self.reach?;
        let now = self.states.get(self.state);
        (0..needed).find_map(|n| {
            let x = writers.state_of[n as usize];
            if x == self.state || reach(now, self.states.get(x)) {
                return None;
            }
            self.first_pending(n)
        })
    }

    /// The return event of the first-returning pending operation that needs
    /// state number `needed`.
    fn first_pending(&self, needed: u32) -> Option<u32> {
        let writers = self.writers.as_ref()?;
        let ev = &self.ev;
        // Every event before the first one left in the list belongs to a
        // linearized operation: the list keeps time order, and an operation
        // leaves it whole.
        let first = ev.next[HEAD as usize];
        let returns = &writers.needing[needed as usize];
        let from = returns.partition_point(|&r| r < first);
        returns[from..]
            .iter()
            .find(|&&r| !self.linearized.get(ev.op[r as usize] as usize))
            .copied()
    }

    /// The first-returning pending operation needing state number `needed`
    /// (not the current state), if none of the operations that leave it
    /// (call events `leaving`) is pending and called before that
    /// operation's return.
    fn no_writer_left(&self, needed: u32, leaving: &[u32]) -> Option<u32> {
        let ret = self.first_pending(needed)?;
        let ev = &self.ev;
        let first = ev.next[HEAD as usize];
        let call = ev.call_of[ev.op[ret as usize] as usize];
        let from = leaving.partition_point(|&c| c < first);
        let supplied = leaving[from..]
            .iter()
            .take_while(|&&c| c < ret)
            .any(|&c| c != call && !self.linearized.get(ev.op[c as usize] as usize));
        (!supplied).then_some(ret)
    }

    /// The twin rule: `o` (at call event `e`) need not be tried when a twin
    /// (same input and output) that returns no later was tried before it at
    /// this configuration, i.e. is still pending with its call earlier in
    /// the list. Had a linearization from here started with `o`, swapping
    /// `o` and that twin would give one starting with the twin: the steps are
    /// the same, the twin may go now (nothing pending returned before its
    /// call), and whatever came before the twin came before its return, so
    /// before `o`'s. The twin's branch failed, so `o`'s would.
    fn twin_tried_first(&self, o: u32, e: u32) -> bool {
        let class = &self.twins[self.twin_class[o as usize] as usize];
        let call = self.ops[o as usize].call;
        // Twins of lower rank return no later than `o`. Those that returned
        // before `o`'s call are linearized already (the walk reached `o`'s
        // call), and so are all below them.
        for &t in class[..self.twin_rank[o as usize] as usize].iter().rev() {
            let twin = self.ops[t as usize];
            if twin.ret.is_some_and(|r| r < call) {
                break;
            }
            if self.ev.call_of[t as usize] < e && !self.linearized.get(t as usize) {
                return true;
            }
        }
        false
    }

    /// A completed operation was reached at event `e` without being
    /// linearized (`e == NIL` cannot happen while a return remains; it is
    /// treated alike): undoes the last choice, or gives the failure when
    /// there is none left.
    fn backtrack(&mut self, e: u32) -> Option<Failure> {
        if self.at_best && e != NIL {
            let agree = self.agree;
            self.best_prefix.truncate(agree);
            let ev = &self.ev;
            self.best_prefix.extend(
                self.stack[agree..]
                    .iter()
                    .map(|p| ev.op[p.call as usize] as usize),
            );
            self.agree = self.stack.len();
            let mut candidates = Vec::new();
            let stuck = ev.op[e as usize];
            let mut c = ev.next[HEAD as usize];
            while c != e && candidates.len() < MAX_CANDIDATES {
                if ev.op[c as usize] != stuck {
                    candidates.push(ev.op[c as usize] as usize);
                }
                c = ev.next[c as usize];
            }
            self.failure_at_best = Some((stuck as usize, candidates));
        }
        self.at_best = false;
        loop {
            let popped = self.stack.pop();
            self.agree = self.agree.min(self.stack.len());
            let Some(popped) = popped else {
                let (stuck, candidates) = self.failure_at_best.take().unwrap_or((0, Vec::new()));
                return Some(Failure {
                    prefix: std::mem::take(&mut self.best_prefix),
                    stuck,
                    candidates,
                });
            };
            let Placed { call, before, how } = popped;
            let o = self.ev.op[call as usize];
            self.linearized.clear(o as usize);
            let (k1, k2) = self.zobrist_keys[o as usize];
            self.set_hash = (self.set_hash.0 ^ k1, self.set_hash.1 ^ k2);
            self.state = before;
            self.ev.unlift(call);
            if self.ops[o as usize].ret.is_some() {
                self.remaining += 1;
            }
            // Back at the configuration `call` was tried from: its
            // first-returning operation was tried first, then the operations
            // leading to the state that one needs, then the walk went
            // through the calls in order; each resumes after `call`.
            self.first = self.first_to_return();
            self.target = self.needed_by(self.first);
            match how {
                How::ReadRule => continue,
                How::First => {
                    self.phase = Phase::Enablers;
                    self.tried = (0, 0);
                }
                How::Enabler => {
                    self.phase = Phase::Enablers;
                    self.tried = self.choice_key(call);
                }
                How::Walk => {
                    self.phase = Phase::Walk;
                    self.tried = self.choice_key(call);
                }
            }
            return None;
        }
    }
}

/// Groups operations with equal input and output (by their `Debug` text,
/// which the model types provide; equal text, equal operation), each group
/// sorted by return time (indeterminate last) then index.
/// With `grouped` false, every operation is a class of its own (no twins).
fn twin_classes<I: std::fmt::Debug, O: std::fmt::Debug>(
    ops: &[&Op<I, O>],
    grouped: bool,
) -> (Vec<Vec<u32>>, Vec<u32>, Vec<u32>) {
    let mut ids: std::collections::BTreeMap<String, u32> = std::collections::BTreeMap::new();
    let mut classes: Vec<Vec<u32>> = Vec::new();
    let mut class_of = Vec::with_capacity(ops.len());
    for (i, op) in ops.iter().enumerate() {
        let text = if grouped {
            format!("{:?}\u{0}{:?}", op.input, op.output)
        } else {
            i.to_string()
        };
        let next = classes.len() as u32;
        let id = *ids.entry(text).or_insert(next);
        if id == next {
            classes.push(Vec::new());
        }
        classes[id as usize].push(i as u32);
        class_of.push(id);
    }
    let mut rank = vec![0u32; ops.len()];
    for class in &mut classes {
        class.sort_by_key(|&i| (ops[i as usize].ret.unwrap_or(u64::MAX), i));
        for (r, &i) in class.iter().enumerate() {
            rank[i as usize] = r as u32;
        }
    }
    (classes, class_of, rank)
}

/// Each operation's predecessor in program order: the last completed
/// operation of the same process called before it (NIL if none, and for
/// every operation in real-time order). Operations are in invocation order.
fn process_predecessors<I, O>(ops: &[&Op<I, O>], order: Order) -> Vec<u32> {
    let mut after = vec![NIL; ops.len()];
    if order == Order::Program {
        let mut last: std::collections::BTreeMap<u64, u32> = std::collections::BTreeMap::new();
        for (o, op) in ops.iter().enumerate() {
            if let Some(&before) = last.get(&op.process) {
                after[o] = before;
            }
            if op.ret.is_some() {
                last.insert(op.process, o as u32);
            }
        }
    }
    after
}

/// Who needs and who can supply each state (see `Search::stranded`): the
/// states that completed operations need, numbered densely; for each, the
/// return events of the operations needing it and the call events of the
/// operations leaving it, both in time order.
struct Writers {
    /// State id -> its number, for the states some operation needs.
    number: std::collections::BTreeMap<u32, u32>,
    /// Per number: the state id.
    state_of: Vec<u32>,
    needing: Vec<Vec<u32>>,
    /// `None` when there would be too many pairs to look at.
    leaving: Option<Vec<Vec<u32>>>,
}

/// Above this many (needed state, operation) pairs, the writers of each
/// needed state are not looked for (a register with unique values and
/// thousands of reads): the no-writer-left rule is then off for the
/// partition (the reachability test, if any, still applies).
const MAX_WRITER_PAIRS: usize = 1 << 25;

impl Writers {
    /// `None` when the model names no needed state.
    fn build<M: Model>(
        model: &M,
        ops: &[&Op<M::Input, M::Output>],
        ev: &Events,
        states: &mut StateTable<M::State>,
    ) -> Option<Writers> {
        let mut writers = Writers {
            number: std::collections::BTreeMap::new(),
            state_of: Vec::new(),
            needing: Vec::new(),
            leaving: None,
        };
        for (o, op) in ops.iter().enumerate() {
            let ret = ev.ret_of[ev.call_of[o] as usize];
            // An indeterminate operation need not be placed at all.
            if ret == NIL {
                continue;
            }
            let Some(state) = model.needs(&op.input, op.output.as_ref()) else {
                continue;
            };
            let id = states.intern(model, state);
            let next = writers.state_of.len() as u32;
            let n = *writers.number.entry(id).or_insert(next);
            if n == next {
                writers.state_of.push(id);
                writers.needing.push(Vec::new());
            }
            writers.needing[n as usize].push(ret);
        }
        if writers.state_of.is_empty() {
            return None;
        }
        for returns in &mut writers.needing {
            returns.sort_unstable();
        }
        if writers.state_of.len().saturating_mul(ops.len()) <= MAX_WRITER_PAIRS {
            // Only operations that change the state can leave another one.
            let changing: Vec<usize> = (0..ops.len())
                .filter(|&o| !model.is_read_only(&ops[o].input))
                .collect();
            let leaving = writers.state_of.iter().map(|&id| {
                let state = states.get(id);
                let mut calls: Vec<u32> = changing
                    .iter()
                    .filter(|&&o| model.can_leave(&ops[o].input, state))
                    .map(|&o| ev.call_of[o])
                    .collect();
                calls.sort_unstable();
                calls
            });
            writers.leaving = Some(leaving.collect());
        }
        Some(writers)
    }

    fn bytes(&self) -> usize {
        // A B-tree entry: two u32 and about as much again for the nodes.
        self.number.len() * 16
            + vec_bytes(&self.state_of)
            + vec_bytes(&self.needing)
            + self.needing.iter().map(vec_bytes).sum::<usize>()
            + self.leaving.as_ref().map_or(0, |leaving| {
                vec_bytes(leaving) + leaving.iter().map(vec_bytes).sum::<usize>()
            })
    }
}

/// How an operation on the stack came to be linearized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum How {
    /// Tried first at its configuration: it returns first.
    First,
    /// Tried next: it leads to the state the first-returning one needs.
    Enabler,
    /// Tried by the walk over the calls in order.
    Walk,
    /// Placed by the read rule, with no alternative.
    ReadRule,
}

/// One linearized operation on the search's stack.
#[derive(Debug, Clone, Copy)]
struct Placed {
    /// Its call event (lifted with its return).
    call: u32,
    /// The state before it, restored on backtrack.
    before: u32,
    how: How,
}

/// Which choices at a configuration are being tried, in this order (the
/// same set of choices as a plain walk; only their order differs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The operation that returns first.
    First,
    /// The calls, in order, that lead to the state the first-returning
    /// operation needs (a write of the value it reads), if it needs one it
    /// cannot have now.
    Enablers,
    /// Every call, in order.
    Walk,
}

/// What the read rule did at a configuration.
enum ReadRule {
    /// Placed a read; the walk restarts from the head.
    Placed,
    /// The configuration with the read placed was explored already: this
    /// one leads nowhere either.
    DeadEnd,
    /// No read can be placed now.
    None,
}

/// Statistics of one search, for reports and benchmarks.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SearchStats {
    pub configurations: usize,
    pub states: usize,
}
