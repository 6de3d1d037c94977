//! The linearizability decision by a time sweep over configurations
//! (Lowe, "Testing for linearizability", 2017: the just-in-time,
//! breadth-first variant), for one (sub-)history.
//!
//! Where the depth-first search (`wgl`) commits to one choice at a time and
//! can lose itself among the subsets of a dozen long-open writes, the sweep
//! walks the calls and returns in time order once, keeping the *set* of
//! configurations a linearization of what happened so far can be in. A
//! configuration is a model state and, for each operation open at this
//! moment, two facts:
//!
//! * `A` — it may still be placed (it has not been linearized yet);
//! * `B` — it may end here (it has been linearized, or it need not be).
//!
//! A state-changing operation ("writer") is *pending* (`A`), *done* (`B`) or
//! *free* (`A` and `B`): free means the search may place it later or treat
//! it as placed already where nobody could see it. A writer is free when
//! it is indeterminate (it may never take effect), when placing it now
//! would keep the state (a write of the current value), or once a blind
//! operation (one whose result does not depend on the state: a register
//! write) has been placed after its call: placed just before that write,
//! its value is overwritten before anyone reads it. A read-only operation
//! ("observation") has only `B`: satisfied. Observations do not change the
//! state, so one is satisfied greedily, as soon as a state it accepts
//! occurs while it is open (at its call, or after a placement).
//!
//! Every bit says "more is better", so a configuration whose bits include
//! another's, in the same state, can do all it can: the other is *dominated*
//! and dropped. Events:
//!
//! * a call opens the operation's slot (`A`, plus `B` if it is free or an
//!   observation the state already satisfies);
//! * a return keeps the configurations where the operation may end; from
//!   the others it places open writers one at a time (breadth first,
//!   deduplicated) until it may, and keeps those. A configuration where it
//!   may end is not expanded further: any placement it would make now can
//!   be made at a later return as well (the same operations are still
//!   open, and observations called in between only gain chances). If no
//!   configuration remains, the history is not linearizable, and the
//!   counterexample is that return;
//! * at the end, a configuration remaining means a linearization exists.
//!
//! Prunings on top: the twin rule (of two open writers with the same input
//! and output, the one returning later is not placed while the other, no
//! more committed, is open) and the no-writer-left rule (a configuration
//! with an unsatisfied observation that no open writer can serve and no
//! writer to be called before its return could, is dropped).
//!
//! Memory is the configuration sets, the trace (each configuration's
//! linearization, as a shared tree of placements, for the counterexample)
//! and the state table, counted from capacities; the sweep stops before
//! they would exceed its limit. It is deterministic: sets are vectors in
//! insertion order, hash tables are used for lookups only.

use std::time::Instant;

use crate::fasthash::mix64;
use crate::model::{Model, Op};
use crate::states::StateTable;
use crate::wgl::{vec_growth, Failure, Outcome, Paused, Progress, Slice, DEADLINE_EVERY};

const NIL: u32 = u32::MAX;

/// At most this many candidates are listed in a counterexample.
const MAX_CANDIDATES: usize = 32;

/// A set of configurations: each is `stride` words, the first holding the
/// state (low half) and the trace node (high half), the rest the bits (two
/// per slot: `A` at 2k, `B` at 2k+1). Insertion order is the iteration
/// order; an open-addressing table over the bits and state finds
/// duplicates (the trace does not count: the first one found is kept).
struct ConfigSet {
    stride: usize,
    words: Vec<u64>,
    table: Vec<u32>,
    len: usize,
}

impl ConfigSet {
    fn new(stride: usize) -> Self {
        ConfigSet {
            stride,
            words: Vec::new(),
            table: Vec::new(),
            len: 0,
        }
    }

    fn len(&self) -> usize {
        self.len
    }

    fn get(&self, i: usize) -> &[u64] {
        &self.words[i * self.stride..(i + 1) * self.stride]
    }

    fn hash(config: &[u64]) -> u64 {
        let mut h = mix64(config[0] & 0xffff_ffff);
        for &w in &config[1..] {
            h = mix64(h ^ w);
        }
        h
    }

    fn same(a: &[u64], b: &[u64]) -> bool {
        (a[0] as u32) == (b[0] as u32) && a[1..] == b[1..]
    }

    /// Adds the configuration unless an equal one (state and bits) is
    /// there; true if added.
    fn insert(&mut self, config: &[u64]) -> bool {
        if (self.len + 1) * 2 > self.table.len() {
            self.grow_table();
        }
        let mask = self.table.len() - 1;
        let mut at = Self::hash(config) as usize & mask;
        loop {
            match self.table[at] {
                NIL => break,
                i => {
                    if Self::same(self.get(i as usize), config) {
                        return false;
                    }
                    at = (at + 1) & mask;
                }
            }
        }
        self.table[at] = self.len as u32;
        self.words.extend_from_slice(config);
        self.len += 1;
        true
    }

    fn grow_table(&mut self) {
        let size = (self.table.len() * 2).max(16);
        self.table = vec![NIL; size];
        let mask = size - 1;
        for i in 0..self.len {
            let mut at = Self::hash(self.get(i)) as usize & mask;
            while self.table[at] != NIL {
                at = (at + 1) & mask;
            }
            self.table[at] = i as u32;
        }
    }

    fn bytes(&self) -> usize {
        self.words.capacity() * 8 + self.table.capacity() * 4
    }

    /// What the next insertion may allocate.
    fn growth(&self) -> usize {
        let table = if (self.len + 1) * 2 > self.table.len() {
            (self.table.len() * 2).max(16) * 4
        } else {
            0
        };
        let words = if self.words.len() + self.stride > self.words.capacity() {
            (self.words.capacity() * 2).max(self.stride * 8) * 8
        } else {
            0
        };
        table + words
    }
}

fn bit(bits: &[u64], i: usize) -> bool {
    bits[i / 64] >> (i % 64) & 1 == 1
}

fn set_bit(bits: &mut [u64], i: usize) {
    bits[i / 64] |= 1 << (i % 64);
}

fn clear_bit(bits: &mut [u64], i: usize) {
    bits[i / 64] &= !(1 << (i % 64));
}

fn a_bit(slot: u32) -> usize {
    2 * slot as usize
}

fn b_bit(slot: u32) -> usize {
    2 * slot as usize + 1
}

/// One sub-history's sweep, resumable event by event.
pub(crate) struct Sweep<'a, M: Model> {
    model: &'a M,
    ops: &'a [&'a Op<M::Input, M::Output>],
    /// (operation, is its return), in time order (calls first at equal
    /// times, so touching operations count as concurrent).
    events: Vec<(u64, bool, u32)>,
    next_event: usize,
    /// The time of the event being handled.
    now: u64,
    states: StateTable<M::State>,
    observation: Vec<bool>,
    blind: Vec<bool>,
    twin_class: Vec<u32>,
    /// The state an observation needs, interned (NIL: none known).
    need: Vec<u32>,
    /// For each observation: the call time of the last writer that can
    /// produce the state it needs and is called before it returns (0: none).
    last_feeder_call: Vec<u64>,
    slot_of: Vec<u32>,
    /// The operation in each open slot (NIL when free).
    open_op: Vec<u32>,
    free_slots: Vec<u32>,
    slots: u32,
    open_writers: Vec<u32>,
    open_observations: Vec<u32>,
    stride: usize,
    set: ConfigSet,
    /// The linearizations, as a tree: (operation, parent node).
    trace: Vec<(u32, u32)>,
    steps: u64,
    /// Completed operations whose returns the sweep has passed.
    passed: usize,
    total: usize,
    outcome: Option<Outcome>,
    /// The most bytes held at once.
    peak: usize,
    /// A return whose expansion a slice's end interrupted.
    expansion: Option<Expansion>,
}

impl<'a, M: Model> Sweep<'a, M> {
    pub(crate) fn new(model: &'a M, ops: &'a [&'a Op<M::Input, M::Output>]) -> Self {
        let n = ops.len();
        let mut events: Vec<(u64, bool, u32)> = Vec::with_capacity(2 * n);
        for (i, op) in ops.iter().enumerate() {
            events.push((op.call, false, i as u32));
            if let Some(ret) = op.ret {
                events.push((ret, true, i as u32));
            }
        }
        events.sort_unstable();
        let mut states = StateTable::new();
        let init = states.intern(model, model.init());
        let observation: Vec<bool> = ops.iter().map(|op| model.is_read_only(&op.input)).collect();
        let blind = ops
            .iter()
            .map(|op| model.is_blind(&op.input, op.output.as_ref()))
            .collect();
        let mut classes = std::collections::BTreeMap::new();
        let twin_class = ops
            .iter()
            .map(|op| {
                let next = classes.len() as u32;
                *classes
                    .entry(format!("{:?}\u{0}{:?}", op.input, op.output))
                    .or_insert(next)
            })
            .collect();
        let mut need = vec![NIL; n];
        let mut last_feeder_call = vec![0u64; n];
        // Per needed state, the call times of the writers that can produce
        // it, sorted (each computed once: registers need few states).
        let mut feeder_calls: std::collections::BTreeMap<u32, Vec<u64>> = Default::default();
        for (i, op) in ops.iter().enumerate() {
            if !observation[i] {
                continue;
            }
            if let Some(state) = model.needs(&op.input, op.output.as_ref()) {
                let id = states.intern(model, state);
                let calls = feeder_calls.entry(id).or_insert_with(|| {
                    let state = states.get(id);
                    let mut calls: Vec<u64> = ops
                        .iter()
                        .enumerate()
                        .filter(|&(j, w)| !observation[j] && model.can_leave(&w.input, state))
                        .map(|(_, w)| w.call)
                        .collect();
                    calls.sort_unstable();
                    calls
                });
                let ret = op.ret.unwrap_or(u64::MAX);
                let called = calls.partition_point(|&c| c <= ret);
                last_feeder_call[i] = if called == 0 { 0 } else { calls[called - 1] };
                need[i] = id;
            }
        }
        // How many slots are open at once, to size the bits.
        let mut open = 0usize;
        let mut most = 0usize;
        for &(_, is_return, _) in &events {
            if is_return {
                open -= 1;
            } else {
                open += 1;
                most = most.max(open);
            }
        }
        // Indeterminate operations never return: their slots stay taken.
        let stride = 1 + (2 * most).div_ceil(64).max(1);
        let mut set = ConfigSet::new(stride);
        let mut first = vec![0u64; stride];
        first[0] = u64::from(init) | (u64::from(NIL) << 32);
        set.insert(&first);
        Sweep {
            model,
            ops,
            events,
            next_event: 0,
            now: 0,
            states,
            observation,
            blind,
            twin_class,
            need,
            last_feeder_call,
            slot_of: vec![NIL; n],
            open_op: Vec::new(),
            free_slots: Vec::new(),
            slots: 0,
            open_writers: Vec::new(),
            open_observations: Vec::new(),
            stride,
            set,
            trace: Vec::new(),
            steps: 0,
            passed: 0,
            total: ops.iter().filter(|op| op.ret.is_some()).count(),
            outcome: None,
            peak: 0,
            expansion: None,
        }
    }

    pub(crate) fn steps(&self) -> u64 {
        self.steps
    }

    /// Completed operations before the point the sweep has reached (they
    /// have a linearization), and all completed operations.
    pub(crate) fn longest_prefix(&self) -> (usize, usize) {
        (self.passed, self.total)
    }

    /// Configurations held now, and distinct states met.
    pub(crate) fn configurations(&self) -> usize {
        self.set.len()
    }

    pub(crate) fn state_count(&self) -> usize {
        self.states.len()
    }

    pub(crate) fn bytes(&self) -> usize {
        self.expansion.as_ref().map_or(0, |x| {
            x.old.bytes() + x.frontier.bytes() + x.writers.capacity() * 4
        }) + self.set.bytes()
            + self.trace.capacity() * 8
            + self.states.bytes()
            + self.events.capacity() * 16
            + (self.observation.capacity() + self.blind.capacity())
            + (self.twin_class.capacity()
                + self.need.capacity()
                + self.slot_of.capacity()
                + self.open_op.capacity())
                * 4
            + self.last_feeder_call.capacity() * 8
            + (self.free_slots.capacity()
                + self.open_writers.capacity()
                + self.open_observations.capacity())
                * 4
    }

    /// The most bytes the sweep held at once (two sets live during a
    /// return).
    pub(crate) fn peak_bytes(&self) -> usize {
        self.peak.max(self.bytes())
    }

    /// Sweeps on for about `slice.steps` steps (an event is not split: the
    /// slice ends at the first event boundary past its steps).
    pub(crate) fn run(&mut self, slice: Slice) -> Progress {
        if let Some(outcome) = &self.outcome {
            return Progress::Decided(outcome.clone());
        }
        let until = self.steps.saturating_add(slice.steps);
        let mut limits = Limits {
            memory: slice.memory,
            deadline: slice.deadline,
            next_clock: self.steps + DEADLINE_EVERY,
            extra: 0,
        };
        while self.next_event < self.events.len() {
            if self.steps >= until {
                return Progress::Paused(Paused::Slice);
            }
            let (now, is_return, op) = self.events[self.next_event];
            self.now = now;
            let result = if is_return {
                self.on_return(op, &mut limits, until)
            } else {
                self.on_call(op, &mut limits)
            };
            match result {
                Ok(None) => self.next_event += 1,
                Ok(Some(failure)) => {
                    let outcome = Outcome::NotLinearizable(failure);
                    self.outcome = Some(outcome.clone());
                    return Progress::Decided(outcome);
                }
                Err(paused) => return Progress::Paused(paused),
            }
        }
        self.outcome = Some(Outcome::Linearizable);
        self.passed = self.total;
        Progress::Decided(Outcome::Linearizable)
    }

    /// One more step: checks the memory (what is held, plus `limits.extra`
    /// held outside `self`, plus what the next insertion may add) and,
    /// every so often, the deadline.
    fn step(&mut self, limits: &mut Limits, other: &ConfigSet) -> Result<(), Paused> {
        self.steps += 1;
        if let Some(memory) = limits.memory {
            let held = self.bytes() + other.bytes() + limits.extra;
            self.peak = self.peak.max(held);
            let growth =
                self.set.growth() + other.growth() + vec_growth(&self.trace) + self.states.growth();
            if held + growth > memory {
                return Err(Paused::Memory);
            }
        }
        if self.steps >= limits.next_clock {
            limits.next_clock = self.steps + DEADLINE_EVERY;
            if limits.deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(Paused::Deadline);
            }
        }
        Ok(())
    }

    fn node(&mut self, op: u32, parent: u32) -> u32 {
        self.trace.push((op, parent));
        (self.trace.len() - 1) as u32
    }

    /// Whether observation `op` accepts state `state`.
    fn accepts(&mut self, state: u32, op: u32) -> bool {
        let o = self.ops[op as usize];
        self.states
            .step(self.model, state, op, &o.input, o.output.as_ref())
            .is_some()
    }

    /// Whether writer `op` is free in `state`: indeterminate, or placing it
    /// would keep the state.
    fn free_in(&mut self, state: u32, op: u32) -> bool {
        let o = self.ops[op as usize];
        o.ret.is_none()
            || self
                .states
                .step(self.model, state, op, &o.input, o.output.as_ref())
                == Some(state)
    }

    fn on_call(&mut self, op: u32, limits: &mut Limits) -> Result<Option<Failure>, Paused> {
        let slot = self.free_slots.pop().unwrap_or_else(|| {
            self.slots += 1;
            self.slots - 1
        });
        self.slot_of[op as usize] = slot;
        if self.open_op.len() <= slot as usize {
            self.open_op.resize(slot as usize + 1, NIL);
        }
        self.open_op[slot as usize] = op;
        let observation = self.observation[op as usize];
        if observation {
            self.open_observations.push(slot);
        } else {
            self.open_writers.push(slot);
        }
        let old = std::mem::replace(&mut self.set, ConfigSet::new(self.stride));
        let mut config = vec![0u64; self.stride];
        for i in 0..old.len() {
            self.step(limits, &old)?;
            config.copy_from_slice(old.get(i));
            let state = config[0] as u32;
            let mut trace = (config[0] >> 32) as u32;
            if observation {
                if self.accepts(state, op) {
                    trace = self.node(op, trace);
                    set_bit(&mut config[1..], b_bit(slot));
                }
            } else {
                set_bit(&mut config[1..], a_bit(slot));
                if self.free_in(state, op) {
                    set_bit(&mut config[1..], b_bit(slot));
                }
            }
            config[0] = u64::from(state) | (u64::from(trace) << 32);
            self.set.insert(&config);
        }
        Ok(None)
    }

    /// A return: the configurations where the operation may end are kept,
    /// the others expanded until it may. Resumable: a slice that runs out
    /// mid-expansion leaves it in `self.expansion`.
    fn on_return(
        &mut self,
        op: u32,
        limits: &mut Limits,
        until: u64,
    ) -> Result<Option<Failure>, Paused> {
        let slot = self.slot_of[op as usize];
        let mut x = match self.expansion.take() {
            Some(x) => x,
            None => self.start_expansion(slot),
        };
        if let Err(paused) = self.expand(&mut x, slot, limits, until) {
            self.expansion = Some(x);
            return Err(paused);
        }
        // The slot is free again.
        let list = if self.observation[op as usize] {
            &mut self.open_observations
        } else {
            &mut self.open_writers
        };
        list.retain(|&s| s != slot);
        self.free_slots.push(slot);
        self.open_op[slot as usize] = NIL;
        if self.set.len() == 0 {
            // An observation the no-writer-left rule found stranded is
            // what cannot be placed, if there is one.
            let stuck = x.blamed.unwrap_or(op);
            return Ok(Some(self.failure(&x.old, stuck)));
        }
        self.prune_dominated();
        self.passed += 1;
        Ok(None)
    }

    fn start_expansion(&mut self, slot: u32) -> Expansion {
        let old = std::mem::replace(&mut self.set, ConfigSet::new(self.stride));
        let mut frontier = ConfigSet::new(self.stride);
        for i in 0..old.len() {
            let config = old.get(i);
            if bit(&config[1..], b_bit(slot)) {
                self.keep(config, slot);
            }
            // A free writer may end unplaced, or be placed now, after
            // others: both are kept.
            if !bit(&config[1..], b_bit(slot)) || bit(&config[1..], a_bit(slot)) {
                frontier.insert(config);
            }
        }
        Expansion {
            old,
            frontier,
            next: 0,
            writer: 0,
            writers: self.open_writers.clone(),
            blamed: None,
        }
    }

    /// Expands the frontier breadth first, one placement a step.
    fn expand(
        &mut self,
        x: &mut Expansion,
        slot: u32,
        limits: &mut Limits,
        until: u64,
    ) -> Result<(), Paused> {
        limits.extra = x.old.bytes();
        let mut config = vec![0u64; self.stride];
        while x.next < x.frontier.len() {
            config.copy_from_slice(x.frontier.get(x.next));
            while x.writer < x.writers.len() {
                let w = x.writers[x.writer];
                if !self.may_place(&config, w) {
                    x.writer += 1;
                    continue;
                }
                if self.steps >= until {
                    return Err(Paused::Slice);
                }
                self.step(limits, &x.frontier)?;
                x.writer += 1;
                let Some((placed, useful)) = self.place(&config, w) else {
                    continue;
                };
                if w != slot && !useful {
                    continue;
                }
                if let Some(r) = self.dead(&placed) {
                    x.blamed.get_or_insert(self.open_op[r as usize]);
                    continue;
                }
                // Ended (placed, or for an observation satisfied): kept;
                // placements beyond that can wait for a later return. A
                // writer still placeable may yet be placed after others.
                if bit(&placed[1..], b_bit(slot)) && !bit(&placed[1..], a_bit(slot)) {
                    self.keep(&placed, slot);
                } else {
                    x.frontier.insert(&placed);
                }
            }
            x.next += 1;
            x.writer = 0;
        }
        limits.extra = 0;
        Ok(())
    }

    /// Adds a configuration to the set with `slot` cleared.
    fn keep(&mut self, config: &[u64], slot: u32) {
        let mut kept = config.to_vec();
        clear_bit(&mut kept[1..], a_bit(slot));
        clear_bit(&mut kept[1..], b_bit(slot));
        self.set.insert(&kept);
    }

    /// Whether writer slot `w` may be placed from `config`: it is open and
    /// not placed, and no twin that returns sooner and is no more
    /// committed (its `B` not above `w`'s) is placeable in its stead.
    fn may_place(&self, config: &[u64], w: u32) -> bool {
        let bits = &config[1..];
        if !bit(bits, a_bit(w)) {
            return false;
        }
        let op = self.open_op[w as usize];
        let class = self.twin_class[op as usize];
        let key = |o: u32| (self.ops[o as usize].ret.unwrap_or(u64::MAX), o);
        !self.open_writers.iter().any(|&t| {
            let other = self.open_op[t as usize];
            t != w
                && self.twin_class[other as usize] == class
                && bit(bits, a_bit(t))
                && (!bit(bits, b_bit(t)) || bit(bits, b_bit(w)))
                && key(other) < key(op)
        })
    }

    /// The configuration after placing the writer in slot `w`, if the
    /// model allows it: observations it satisfies are placed right after
    /// it, and writers it frees are marked. Also whether the placement is
    /// of any use before the returning operation: a blind writer that
    /// satisfies no observation and lets no open non-blind writer go is
    /// overwritten unseen by whatever is placed next (a blind writer,
    /// which then frees it: the configuration without it, next placement
    /// made, has all this one has), so it is not worth placing before
    /// another operation.
    fn place(&mut self, config: &[u64], w: u32) -> Option<(Vec<u64>, bool)> {
        let state = config[0] as u32;
        let op = self.open_op[w as usize];
        let o = self.ops[op as usize];
        let to = self
            .states
            .step(self.model, state, op, &o.input, o.output.as_ref())?;
        let mut placed = config.to_vec();
        let mut trace = self.node(op, (config[0] >> 32) as u32);
        let mut useful = !self.blind[op as usize];
        {
            let bits = &mut placed[1..];
            clear_bit(bits, a_bit(w));
            set_bit(bits, b_bit(w));
        }
        if self.blind[op as usize] {
            // Every open blind writer not placed yet could have gone just
            // before this one, unseen.
            for &t in &self.open_writers {
                if self.blind[self.open_op[t as usize] as usize] && bit(&placed[1..], a_bit(t)) {
                    set_bit(&mut placed[1..], b_bit(t));
                }
            }
        }
        for i in 0..self.open_observations.len() {
            let r = self.open_observations[i];
            if !bit(&placed[1..], b_bit(r)) {
                let r_op = self.open_op[r as usize];
                if self.accepts(to, r_op) {
                    set_bit(&mut placed[1..], b_bit(r));
                    trace = self.node(r_op, trace);
                    useful = true;
                }
            }
        }
        for i in 0..self.open_writers.len() {
            let t = self.open_writers[i];
            if bit(&placed[1..], a_bit(t)) && !bit(&placed[1..], b_bit(t)) {
                let t_op = self.open_op[t as usize];
                if self.free_in(to, t_op) {
                    set_bit(&mut placed[1..], b_bit(t));
                }
            }
        }
        if !useful {
            for i in 0..self.open_writers.len() {
                let t = self.open_writers[i];
                let t_op = self.open_op[t as usize];
                if !self.blind[t_op as usize] && bit(&placed[1..], a_bit(t)) {
                    let o = self.ops[t_op as usize];
                    if self
                        .states
                        .step(self.model, to, t_op, &o.input, o.output.as_ref())
                        .is_some()
                    {
                        useful = true;
                        break;
                    }
                }
            }
        }
        placed[0] = u64::from(to) | (u64::from(trace) << 32);
        Some((placed, useful))
    }

    /// The no-writer-left rule: an open observation not yet satisfied, whose
    /// every possible writer has been called, none of them still placeable
    /// (the first such slot, if any).
    fn dead(&self, config: &[u64]) -> Option<u32> {
        let bits = &config[1..];
        let now = self.now;
        self.open_observations.iter().copied().find(|&r| {
            let r_op = self.open_op[r as usize] as usize;
            self.need[r_op] != NIL
                && !bit(bits, b_bit(r))
                && self.last_feeder_call[r_op] <= now
                && !self.open_writers.iter().any(|&t| {
                    bit(bits, a_bit(t))
                        && self.model.can_leave(
                            &self.ops[self.open_op[t as usize] as usize].input,
                            self.states.get(self.need[r_op]),
                        )
                })
        })
    }

    /// Drops every configuration whose bits another one's, in the same
    /// state, include (that one can do all it can). Order of the rest kept.
    fn prune_dominated(&mut self) {
        let n = self.set.len();
        if n < 2 {
            return;
        }
        let ones = |c: &[u64]| c[1..].iter().map(|w| w.count_ones()).sum::<u32>();
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.sort_by_key(|&i| {
            let c = self.set.get(i as usize);
            (c[0] as u32, std::cmp::Reverse(ones(c)), i)
        });
        let mut keep = vec![false; n];
        let mut group: Vec<u32> = Vec::new();
        let mut group_state = NIL;
        for &i in &order {
            let c = self.set.get(i as usize);
            if c[0] as u32 != group_state {
                group_state = c[0] as u32;
                group.clear();
            }
            let dominated = group.iter().any(|&k| {
                let d = self.set.get(k as usize);
                d[1..].iter().zip(&c[1..]).all(|(&dw, &cw)| cw & !dw == 0)
            });
            if !dominated {
                keep[i as usize] = true;
                group.push(i);
            }
        }
        if keep.iter().all(|&k| k) {
            return;
        }
        let old = std::mem::replace(&mut self.set, ConfigSet::new(self.stride));
        for (i, &k) in keep.iter().enumerate() {
            if k {
                self.set.insert(old.get(i));
            }
        }
    }

    /// The counterexample: `op` returned, and no configuration before its
    /// return could place it. The prefix is one of those configurations'
    /// linearization; the candidates its writers still placeable.
    fn failure(&self, before: &ConfigSet, op: u32) -> Failure {
        let config = before.get(0);
        let mut prefix = Vec::new();
        let mut node = (config[0] >> 32) as u32;
        while node != NIL {
            let (placed, parent) = self.trace[node as usize];
            prefix.push(placed as usize);
            node = parent;
        }
        prefix.reverse();
        let mut candidates: Vec<usize> = self
            .open_writers
            .iter()
            .filter(|&&t| bit(&config[1..], a_bit(t)))
            .map(|&t| self.open_op[t as usize] as usize)
            .filter(|&o| o != op as usize)
            .collect();
        candidates.sort_unstable();
        candidates.truncate(MAX_CANDIDATES);
        Failure {
            prefix,
            stuck: op as usize,
            candidates,
        }
    }
}

/// A return's expansion in progress: the set before it, the configurations
/// to expand, and where the expansion stands.
struct Expansion {
    old: ConfigSet,
    frontier: ConfigSet,
    next: usize,
    writer: usize,
    writers: Vec<u32>,
    /// The first observation a configuration was dropped for (no writer
    /// left for it).
    blamed: Option<u32>,
}

/// Limits of the running slice.
struct Limits {
    memory: Option<usize>,
    deadline: Option<Instant>,
    next_clock: u64,
    /// Bytes held outside the sweep's own tables (during a return, the set
    /// before it).
    extra: usize,
}
