//! Model states interned to small integers, with memoised transitions.
//!
//! The search handles a state as a `u32`: cheap to copy, hash and store in
//! the configuration cache. Each distinct state is stored once, and each
//! (state, operation) step is computed once: a KV store's long strings are
//! then built and hashed once per distinct transition, not once per visit.

use std::collections::HashMap;

use crate::fasthash::{hash_of, MixedBuild, PassThroughBuild};
use crate::model::Model;
use crate::wgl::{table_bytes, table_growth, vec_growth};

const NIL: u32 = u32::MAX;
/// Memo value for "the step is not allowed".
const FORBIDDEN: u32 = u32::MAX;

pub(crate) struct StateTable<S> {
    states: Vec<S>,
    /// State hash -> newest state id with that hash (chained through
    /// `same_hash`). Lookup only, never iterated.
    by_hash: HashMap<u64, u32, PassThroughBuild>,
    same_hash: Vec<u32>,
    /// (state id << 32 | op) -> next state id or FORBIDDEN. Lookup only.
    memo: HashMap<u64, u32, MixedBuild>,
    /// Heap bytes the states own beyond their inline size (a KV value's
    /// text, say), as the model reports them.
    heap_bytes: usize,
}

impl<S: Clone + Eq + std::hash::Hash> StateTable<S> {
    pub(crate) fn new() -> Self {
        StateTable {
            states: Vec::new(),
            by_hash: HashMap::default(),
            same_hash: Vec::new(),
            memo: HashMap::default(),
            heap_bytes: 0,
        }
    }

    pub(crate) fn intern<M: Model<State = S>>(&mut self, model: &M, state: S) -> u32 {
        if let Some(id) = self.find(&state) {
            return id;
        }
        let h = hash_of(&state);
        let head = self.by_hash.get(&h).copied().unwrap_or(NIL);
        let id = self.states.len() as u32;
        self.heap_bytes += model.state_heap_bytes(&state);
        self.states.push(state);
        self.same_hash.push(head);
        self.by_hash.insert(h, id);
        id
    }

    /// The id of `state` if it was interned.
    pub(crate) fn find(&self, state: &S) -> Option<u32> {
        let mut i = self.by_hash.get(&hash_of(state)).copied().unwrap_or(NIL);
        while i != NIL {
            if self.states[i as usize] == *state {
                return Some(i);
            }
            i = self.same_hash[i as usize];
        }
        None
    }

    pub(crate) fn get(&self, id: u32) -> &S {
        &self.states[id as usize]
    }

    pub(crate) fn len(&self) -> usize {
        self.states.len()
    }

    /// Memoised transitions (every new state comes with one).
    pub(crate) fn memo_len(&self) -> usize {
        self.memo.len()
    }

    /// Every byte of the table: states (inline and heap), chains, lookups.
    pub(crate) fn bytes(&self) -> usize {
        self.states.capacity() * std::mem::size_of::<S>()
            + self.heap_bytes
            + self.same_hash.capacity() * 4
            + table_bytes(&self.by_hash)
            + table_bytes(&self.memo)
    }

    /// What the next insertion may allocate (see `Search::growth`); a new
    /// state's own heap data is bounded by the model's largest step, not
    /// counted ahead.
    pub(crate) fn growth(&self) -> usize {
        vec_growth(&self.states)
            + vec_growth(&self.same_hash)
            + table_growth(&self.by_hash)
            + table_growth(&self.memo)
    }

    /// The state after operation `op` (input, output) from state `from`.
    #[inline]
    pub(crate) fn step<M: Model<State = S>>(
        &mut self,
        model: &M,
        from: u32,
        op: u32,
        input: &M::Input,
        output: Option<&M::Output>,
    ) -> Option<u32> {
        let key = (u64::from(from) << 32) | u64::from(op);
        let to = match self.memo.get(&key) {
            Some(&to) => to,
            None => {
                let to = match model.step(&self.states[from as usize], input, output) {
                    Some(next) => self.intern(model, next),
                    None => FORBIDDEN,
                };
                self.memo.insert(key, to);
                to
            }
        };
        (to != FORBIDDEN).then_some(to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::counter::{Counter, CounterInput, CounterOutput};

    #[test]
    fn interning_and_memo() {
        let mut t = StateTable::new();
        let zero = t.intern(&Counter, 0i64);
        assert_eq!(t.intern(&Counter, 0i64), zero);
        let add = CounterInput::Add(2);
        let two = t.step(&Counter, zero, 0, &add, None).unwrap();
        assert_eq!(*t.get(two), 2);
        assert_eq!(t.step(&Counter, zero, 0, &add, None), Some(two));
        let read = CounterInput::Read;
        let bad = CounterOutput::Value(5);
        assert_eq!(t.step(&Counter, two, 1, &read, Some(&bad)), None);
        assert_eq!(t.len(), 2);
    }
}
