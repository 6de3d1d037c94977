//! The search's memory of configurations already explored.
//!
//! A configuration is (the set of operations linearized so far, the model
//! state after them). Two paths that reach the same configuration have the
//! same future, so the second is cut (Lowe's improvement of Wing & Gong).
//!
//! The set is a bitset; its hash is kept incrementally as the XOR of a random
//! key per member (Zobrist hashing), so a lookup never rehashes the bitset.
//! Entries live in flat arrays (no allocation per entry); equal hashes chain.

use std::collections::HashMap;

use crate::fasthash::PassThroughBuild;

const NIL: u32 = u32::MAX;

pub(crate) struct ConfigCache {
    words: usize,
    /// Combined hash -> newest entry with that hash. Only looked up, never
    /// iterated, so its order cannot reach a verdict.
    heads: HashMap<u64, u32, PassThroughBuild>,
    bits: Vec<u64>,
    states: Vec<u32>,
    next: Vec<u32>,
}

impl ConfigCache {
    pub(crate) fn new(words: usize) -> Self {
        ConfigCache {
            words,
            heads: HashMap::default(),
            bits: Vec::new(),
            states: Vec::new(),
            next: Vec::new(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.states.len()
    }

    /// Approximate heap size: the arrays plus the hash table's slots.
    #[inline]
    pub(crate) fn bytes(&self) -> usize {
        const PER_ENTRY: usize = 4 + 4 + 16;
        self.states.len() * (self.words * 8 + PER_ENTRY)
    }

    /// Records the configuration; false if it was already there.
    /// `hash` must be a function of (`set`, `state`) only.
    #[inline]
    pub(crate) fn insert(&mut self, hash: u64, state: u32, set: &[u64]) -> bool {
        debug_assert_eq!(set.len(), self.words);
        let new_id = self.states.len() as u32;
        let previous = match self.heads.entry(hash) {
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(new_id);
                NIL
            }
            std::collections::hash_map::Entry::Occupied(mut slot) => {
                let head = *slot.get();
                let mut i = head;
                while i != NIL {
                    let at = i as usize;
                    if self.states[at] == state
                        && self.bits[at * self.words..(at + 1) * self.words] == *set
                    {
                        return false;
                    }
                    i = self.next[at];
                }
                slot.insert(new_id);
                head
            }
        };
        self.bits.extend_from_slice(set);
        self.states.push(state);
        self.next.push(previous);
        true
    }
}

/// A fixed-size set of operation indices.
#[derive(Clone, Debug)]
pub(crate) struct Bitset {
    words: Vec<u64>,
}

impl Bitset {
    pub(crate) fn new(bits: usize) -> Self {
        Bitset {
            words: vec![0; bits.div_ceil(64).max(1)],
        }
    }

    #[inline]
    pub(crate) fn set(&mut self, i: usize) {
        self.words[i / 64] |= 1 << (i % 64);
    }

    #[inline]
    pub(crate) fn clear(&mut self, i: usize) {
        self.words[i / 64] &= !(1 << (i % 64));
    }

    pub(crate) fn words(&self) -> &[u64] {
        &self.words
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_hash_different_sets_are_kept_apart() {
        let mut cache = ConfigCache::new(1);
        assert!(cache.insert(42, 0, &[0b01]));
        assert!(!cache.insert(42, 0, &[0b01]));
        // A hash collision with a different set or state is a new entry.
        assert!(cache.insert(42, 0, &[0b10]));
        assert!(cache.insert(42, 1, &[0b01]));
        assert!(!cache.insert(42, 0, &[0b10]));
        assert_eq!(cache.len(), 3);
    }

    #[test]
    fn bitset_set_clear() {
        let mut b = Bitset::new(130);
        b.set(0);
        b.set(129);
        assert_eq!(b.words(), &[1, 0, 2]);
        b.clear(129);
        assert_eq!(b.words(), &[1, 0, 0]);
    }
}
