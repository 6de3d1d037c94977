//! The search's memory of configurations already explored.
//!
//! A configuration is (the set of operations linearized so far, the model
//! state after them). Two paths that reach the same configuration have the
//! same future, so the second is cut (Lowe's improvement of Wing & Gong).
//!
//! The set is a bitset; its hash is kept incrementally as the XOR of a random
//! key per member (Zobrist hashing), so a lookup never rehashes the bitset.
//! Entries live in flat arrays (no allocation per entry); equal hashes chain.
//!
//! Up to [`EXACT_MAX_OPS`] operations per partition, entries store the whole
//! bitset and compare it exactly. Beyond that, copying a bitset per entry
//! costs more than the search itself (50 000 operations: 6 kB per entry), so
//! an entry stores a second, independent 64-bit Zobrist hash instead: a set
//! is then identified by 128 random bits. Two different configurations would
//! have to agree on the state and on all 128 bits to be confused — odds below
//! 10^-20 even for 10^9 configurations — and a confusion could only prune a
//! branch, i.e. turn "linearizable" into "not linearizable", never the
//! reverse: a "linearizable" verdict always rests on a linearization found.

use std::collections::HashMap;

use crate::fasthash::PassThroughBuild;
use crate::wgl::{table_bytes, table_growth, vec_growth};

const NIL: u32 = u32::MAX;

/// The largest partition whose configurations are stored exactly.
pub const EXACT_MAX_OPS: usize = 4096;

pub(crate) struct ConfigCache {
    /// Words per stored bitset; 0 in fingerprint mode.
    words: usize,
    /// Second hash of each entry's set (fingerprint mode only).
    checks: Vec<u64>,
    /// Combined hash -> newest entry with that hash. Only looked up, never
    /// iterated, so its order cannot reach a verdict.
    heads: HashMap<u64, u32, PassThroughBuild>,
    bits: Vec<u64>,
    states: Vec<u32>,
    next: Vec<u32>,
}

impl ConfigCache {
    /// A cache for sets of `ops` operations.
    pub(crate) fn new(ops: usize) -> Self {
        ConfigCache {
            words: if ops <= EXACT_MAX_OPS {
                ops.div_ceil(64).max(1)
            } else {
                0
            },
            checks: Vec::new(),
            heads: HashMap::default(),
            bits: Vec::new(),
            states: Vec::new(),
            next: Vec::new(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.states.len()
    }

    /// Heap size: the arrays as allocated plus the hash table's buckets.
    #[inline]
    pub(crate) fn bytes(&self) -> usize {
        (self.checks.capacity() + self.bits.capacity()) * 8
            + (self.states.capacity() + self.next.capacity()) * 4
            + table_bytes(&self.heads)
    }

    /// What the next insertion may allocate (see `Search::growth`).
    #[inline]
    pub(crate) fn growth(&self) -> usize {
        vec_growth(&self.checks)
            + vec_growth(&self.bits)
            + vec_growth(&self.states)
            + vec_growth(&self.next)
            + table_growth(&self.heads)
    }

    /// True when sets are compared exactly.
    pub(crate) fn is_exact(&self) -> bool {
        self.words > 0
    }

    /// Records the configuration; false if it was already there.
    /// `hash` must be a function of (`set`, `state`) only, and `check` an
    /// independent hash of `set` (used in fingerprint mode).
    #[inline]
    pub(crate) fn insert(&mut self, hash: u64, check: u64, state: u32, set: &[u64]) -> bool {
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
                    let same_set = if self.words == 0 {
                        self.checks[at] == check
                    } else {
                        self.bits[at * self.words..(at + 1) * self.words] == *set
                    };
                    if self.states[at] == state && same_set {
                        return false;
                    }
                    i = self.next[at];
                }
                slot.insert(new_id);
                head
            }
        };
        if self.words == 0 {
            self.checks.push(check);
        } else {
            debug_assert_eq!(set.len(), self.words);
            self.bits.extend_from_slice(set);
        }
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

    #[inline]
    pub(crate) fn get(&self, i: usize) -> bool {
        self.words[i / 64] & (1 << (i % 64)) != 0
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
        let mut cache = ConfigCache::new(2);
        assert!(cache.is_exact());
        assert!(cache.insert(42, 0, 0, &[0b01]));
        assert!(!cache.insert(42, 0, 0, &[0b01]));
        // A hash collision with a different set or state is a new entry.
        assert!(cache.insert(42, 0, 0, &[0b10]));
        assert!(cache.insert(42, 0, 1, &[0b01]));
        assert!(!cache.insert(42, 0, 0, &[0b10]));
        assert_eq!(cache.len(), 3);
    }

    #[test]
    fn large_partitions_compare_fingerprints() {
        let mut cache = ConfigCache::new(EXACT_MAX_OPS + 1);
        assert!(!cache.is_exact());
        assert!(cache.insert(42, 7, 0, &[]));
        assert!(!cache.insert(42, 7, 0, &[]));
        assert!(cache.insert(42, 8, 0, &[]), "same first hash, other set");
        assert!(cache.insert(42, 7, 1, &[]), "same set, other state");
        // Three entries: at least their check, state and chain link.
        assert!(cache.bytes() >= 3 * (8 + 4 + 4));
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
