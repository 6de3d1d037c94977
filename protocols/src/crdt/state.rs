//! The state of a `crdt` replica: a grow-only set and a grow-only counter,
//! one join-semilattice, with a digest of its contents kept up to date on
//! every change.
//!
//! Built for a thousand replicas gossiping whole states and for a set that
//! grows all run: the set is sorted in shared chunks ([`ChunkedSet`]), so an
//! add or a small delta costs a chunk, not the set, a whole state merges in
//! one walk, and a copy — `Arc::make_mut` copies a state that a message in
//! flight still shares — copies one pointer per chunk; the counter is a
//! sorted vector of one entry per replica. The
//! digest lets two replicas that agree find out in O(1), and the run's
//! fingerprint hash a gossiped state through it instead of entry by entry.
//! It is a sum of one mixed hash per element and per counter entry, so a
//! change updates it in O(1), and equal contents give equal digests
//! whatever order they were built in.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Serialize};
use sim_core::NodeId;

use super::chunked_set::ChunkedSet;
use super::lattice::Lattice;

/// What gossip carries and storage keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Contents", into = "Contents")]
pub struct CrdtState {
    /// The set's elements.
    set: ChunkedSet,
    /// Per replica, the increments it accepted (a G-counter), by replica.
    counts: Vec<(NodeId, u64)>,
    digest: u64,
}

/// The stored form: the contents, without the digest they determine.
#[derive(Serialize, Deserialize)]
struct Contents {
    set: BTreeSet<u64>,
    counts: BTreeMap<NodeId, u64>,
}

impl From<Contents> for CrdtState {
    fn from(c: Contents) -> Self {
        Self::from_parts(c.set, c.counts)
    }
}

impl From<CrdtState> for Contents {
    fn from(s: CrdtState) -> Self {
        Contents {
            set: s.set.iter().collect(),
            counts: s.counts.into_iter().collect(),
        }
    }
}

/// The hash of a state is its digest: equal states hash equal, and hashing
/// a gossiped state costs O(1).
impl Hash for CrdtState {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.digest.hash(state)
    }
}

/// splitmix64's finaliser: spreads near-equal inputs over all 64 bits.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Never 0: `mix` is a bijection with `mix(0) == 0`, and an element hashing
/// to 0 would leave the digest unchanged when it is added.
fn element_hash(x: u64) -> u64 {
    mix(x) | 1
}

/// An absent entry and an entry of 0 contribute nothing: they mean the same.
fn entry_hash(node: NodeId, n: u64) -> u64 {
    if n == 0 {
        0
    } else {
        mix(mix(u64::from(node) ^ 0x5bd1_e995) ^ n)
    }
}

/// The union of two sorted vectors with no key in both.
fn merge_sorted<T: Copy + Ord>(a: &[T], b: &[T]) -> Vec<T> {
    let mut merged = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.iter().peekable(), b.iter().peekable());
    while let (Some(&&x), Some(&&y)) = (a.peek(), b.peek()) {
        if x < y {
            merged.push(x);
            a.next();
        } else {
            merged.push(y);
            b.next();
        }
    }
    merged.extend(a.chain(b));
    merged
}

impl CrdtState {
    pub fn from_parts(set: BTreeSet<u64>, counts: BTreeMap<NodeId, u64>) -> Self {
        let counts: Vec<(NodeId, u64)> = counts.into_iter().filter(|&(_, n)| n > 0).collect();
        let set = ChunkedSet::from_sorted(set);
        let digest = set
            .iter()
            .map(element_hash)
            .chain(counts.iter().map(|&(node, n)| entry_hash(node, n)))
            .fold(0u64, u64::wrapping_add);
        Self {
            set,
            counts,
            digest,
        }
    }

    /// A digest of the contents: equal states have equal digests.
    pub fn digest(&self) -> u64 {
        self.digest
    }

    /// The set's elements.
    pub fn set(&self) -> &ChunkedSet {
        &self.set
    }

    /// The counter's entries, by replica.
    pub fn counts(&self) -> &[(NodeId, u64)] {
        &self.counts
    }

    /// The counter's value (saturating: the `sum-merge` bug can inflate
    /// entries without bound, and that must show as a wrong value, not a panic).
    pub fn counter(&self) -> u64 {
        self.counts
            .iter()
            .fold(0u64, |a, &(_, n)| a.saturating_add(n))
    }

    /// Elements of this set that `other` lacks.
    pub fn missing_from(&self, other: &CrdtState) -> usize {
        self.set.absent_from(&other.set).count()
    }

    /// Adds an element; whether it was new.
    pub fn add(&mut self, x: u64) -> bool {
        let new = self.set.insert(x);
        if new {
            self.digest = self.digest.wrapping_add(element_hash(x));
        }
        new
    }

    /// Changes `node`'s entry by `f` (old value to new); the new value.
    fn update_count(&mut self, node: NodeId, f: impl FnOnce(u64) -> u64) -> u64 {
        let (at, old) = match self.counts.binary_search_by_key(&node, |&(k, _)| k) {
            Ok(at) => (at, self.counts[at].1),
            Err(at) => {
                self.counts.insert(at, (node, 0));
                (at, 0)
            }
        };
        let now = f(old);
        self.counts[at].1 = now;
        self.digest = self
            .digest
            .wrapping_sub(entry_hash(node, old))
            .wrapping_add(entry_hash(node, now));
        now
    }

    /// Adds `n` to `node`'s entry (an increment accepted there; the
    /// `sum-merge` bug also uses it for gossip); the entry after.
    pub fn bump(&mut self, node: NodeId, n: u64) -> u64 {
        self.update_count(node, |old| old.saturating_add(n))
    }

    /// Raises `node`'s entry to `n`; whether it was below.
    pub fn raise(&mut self, node: NodeId, n: u64) -> bool {
        let mut below = false;
        self.update_count(node, |old| {
            below = old < n;
            old.max(n)
        });
        below
    }

    /// Whether this state has everything `other` has (`other ≤ self`).
    pub fn includes(&self, other: &CrdtState) -> bool {
        if self.digest == other.digest {
            return true;
        }
        let mut mine = self.counts.iter();
        other.set.is_subset(&self.set)
            && other.counts.iter().all(|&(node, n)| {
                mine.by_ref()
                    .find(|&&(k, _)| k >= node)
                    .is_some_and(|&(k, m)| k == node && m >= n)
            })
    }

    /// The join of two states (least upper bound).
    pub fn merge(&mut self, other: &CrdtState) {
        self.merge_new(other);
    }

    /// Joins `other` into `self` and returns the part of it that was new
    /// here: what this replica learned, and all it need pass on. Its cost
    /// follows the smaller side: a small delta is looked up element by
    /// element, not walked beside the whole set.
    pub fn merge_new(&mut self, other: &CrdtState) -> CrdtState {
        let mut new = CrdtState::default();
        if self.digest == other.digest {
            return new;
        }
        let added: Vec<u64> = other.set.absent_from(&self.set).collect();
        if !added.is_empty() {
            new.digest = added
                .iter()
                .fold(0, |d, &x| d.wrapping_add(element_hash(x)));
            self.digest = self.digest.wrapping_add(new.digest);
            self.set.insert_new(&added);
            new.set = ChunkedSet::from_sorted(added);
        }
        // One walk over both counters: raised entries change in place,
        // absent ones are collected and merged in after.
        let mut absent: Vec<(NodeId, u64)> = Vec::new();
        let mut at = 0;
        for &(node, n) in &other.counts {
            while at < self.counts.len() && self.counts[at].0 < node {
                at += 1;
            }
            match self.counts.get_mut(at) {
                Some((k, mine)) if *k == node => {
                    if n > *mine {
                        self.digest = self
                            .digest
                            .wrapping_sub(entry_hash(node, *mine))
                            .wrapping_add(entry_hash(node, n));
                        *mine = n;
                        new.counts.push((node, n));
                    }
                }
                _ => absent.push((node, n)),
            }
        }
        if !absent.is_empty() {
            for &(node, n) in &absent {
                self.digest = self.digest.wrapping_add(entry_hash(node, n));
            }
            new.counts = merge_sorted(&new.counts, &absent);
            self.counts = merge_sorted(&self.counts, &absent);
        }
        new.digest = new.counts.iter().fold(new.digest, |d, &(node, n)| {
            d.wrapping_add(entry_hash(node, n))
        });
        new
    }

    pub fn size(&self) -> usize {
        self.set.len() + self.counts.len()
    }
}

impl Lattice for CrdtState {
    fn join(&mut self, other: &Self) {
        self.merge(other)
    }

    fn leq(&self, other: &Self) -> bool {
        other.includes(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn state() -> impl Strategy<Value = CrdtState> {
        (
            proptest::collection::btree_set(0u64..50, 0..10),
            proptest::collection::btree_map(0u32..5, 0u64..100, 0..5),
        )
            .prop_map(|(set, counts)| CrdtState::from_parts(set, counts))
    }

    fn merged(a: &CrdtState, b: &CrdtState) -> CrdtState {
        let mut x = a.clone();
        x.merge(b);
        x
    }

    proptest! {
        #[test]
        fn merge_is_commutative_associative_and_idempotent(a in state(), b in state(), c in state()) {
            prop_assert_eq!(merged(&a, &b), merged(&b, &a));
            prop_assert_eq!(merged(&merged(&a, &b), &c), merged(&a, &merged(&b, &c)));
            prop_assert_eq!(merged(&a, &a), a.clone());
            // And the result is an upper bound of both.
            let m = merged(&a, &b);
            prop_assert!(m.includes(&a) && m.includes(&b));
            prop_assert_eq!(m.missing_from(&a), m.set().len() - a.set().len());
            prop_assert!(m.counter() >= a.counter().max(b.counter()));
        }

        /// The digest kept up to date equals the one computed from scratch,
        /// and survives a trip through storage.
        #[test]
        fn digest_follows_the_contents(a in state(), b in state()) {
            let m = merged(&a, &b);
            let fresh = CrdtState::from_parts(
                m.set().iter().collect(),
                m.counts().iter().copied().collect(),
            );
            prop_assert_eq!(m.digest, fresh.digest);
            let stored: CrdtState = serde_json::from_slice(&serde_json::to_vec(&m).unwrap()).unwrap();
            prop_assert_eq!(&stored, &m);
            prop_assert_eq!(m.digest == a.digest, m == a);
        }

        /// `merge_new` returns exactly what the receiver lacked.
        #[test]
        fn merge_new_returns_what_was_missing(a in state(), b in state()) {
            let mut x = a.clone();
            let new = x.merge_new(&b);
            prop_assert_eq!(&x, &merged(&a, &b));
            prop_assert_eq!(new.missing_from(&a), new.set().len());
            prop_assert_eq!(merged(&a, &new), x);
        }
    }

    /// Found by the property above: element 0 once hashed to 0, so a state
    /// holding it had the empty state's digest.
    #[test]
    fn element_zero_changes_the_digest() {
        let empty = CrdtState::from_parts(BTreeSet::new(), BTreeMap::new());
        let zero = CrdtState::from_parts(BTreeSet::from([0]), BTreeMap::new());
        assert_ne!(empty.digest, zero.digest);
    }
}
