//! Vector clocks: one counter per node, a missing entry meaning zero.
//!
//! `a` happened before `b` when every entry of `a` is at most `b`'s and one
//! is smaller; neither before the other (and not equal) means concurrent.
//! The map is a `BTreeMap`, so iteration, serialization and hashing follow
//! node order and a run stays deterministic.
//!
//! [`VClock::compress`] is a known-bug variant: it keeps only the largest
//! entries to bound a clock's size, as some stores did. A dropped entry reads
//! as zero, so a clock that followed a write can compare as concurrent with
//! it, or a concurrent one as before it: causality is lost (the multi-value
//! register's `compressed-vclock` bug, caught by its final-read check).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sim_core::NodeId;

/// How two clocks relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Causality {
    Before,
    After,
    Equal,
    Concurrent,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct VClock(BTreeMap<NodeId, u64>);

impl VClock {
    pub fn new() -> Self {
        Self::default()
    }

    /// A clock from (node, counter) pairs; zero counters are not stored.
    pub fn from_entries(entries: impl IntoIterator<Item = (NodeId, u64)>) -> Self {
        Self(entries.into_iter().filter(|&(_, n)| n > 0).collect())
    }

    pub fn get(&self, node: NodeId) -> u64 {
        self.0.get(&node).copied().unwrap_or(0)
    }

    /// Counts one more event of `node`; returns its new counter.
    pub fn increment(&mut self, node: NodeId) -> u64 {
        let n = self.0.entry(node).or_insert(0);
        *n += 1;
        *n
    }

    /// Sets `node`'s counter to at least `to`.
    pub fn raise(&mut self, node: NodeId, to: u64) {
        if to > 0 {
            let n = self.0.entry(node).or_insert(0);
            *n = (*n).max(to);
        }
    }

    /// Entry-wise maximum: the clock of what either has seen.
    pub fn merge(&mut self, other: &VClock) {
        for (&node, &n) in &other.0 {
            self.raise(node, n);
        }
    }

    /// Entry-wise minimum: the clock of what both have seen (an entry
    /// missing on either side is zero, so it goes).
    pub fn meet(&mut self, other: &VClock) {
        self.0.retain(|node, n| {
            *n = (*n).min(other.get(*node));
            *n > 0
        });
    }

    /// Whether `node`'s event number `n` is covered by this clock.
    pub fn covers(&self, (node, n): (NodeId, u64)) -> bool {
        n <= self.get(node)
    }

    pub fn compare(&self, other: &VClock) -> Causality {
        let nodes = self.0.keys().chain(other.0.keys());
        let (mut less, mut greater) = (false, false);
        for &node in nodes {
            match self.get(node).cmp(&other.get(node)) {
                Ordering::Less => less = true,
                Ordering::Greater => greater = true,
                Ordering::Equal => {}
            }
        }
        match (less, greater) {
            (false, false) => Causality::Equal,
            (true, false) => Causality::Before,
            (false, true) => Causality::After,
            (true, true) => Causality::Concurrent,
        }
    }

    /// Whether everything `other` saw, this clock saw too (`other ≤ self`).
    pub fn dominates(&self, other: &VClock) -> bool {
        matches!(self.compare(other), Causality::After | Causality::Equal)
    }

    pub fn entries(&self) -> impl Iterator<Item = (NodeId, u64)> + '_ {
        self.0.iter().map(|(&node, &n)| (node, n))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The known bug: keeps only the `keep` largest entries (ties: lower node
    /// id first), dropping the rest as if they were zero.
    pub fn compress(&mut self, keep: usize) {
        if self.0.len() <= keep {
            return;
        }
        let mut by_size: Vec<(NodeId, u64)> = self.entries().collect();
        by_size.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        self.0 = by_size.into_iter().take(keep).collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn vc(entries: &[(NodeId, u64)]) -> VClock {
        VClock::from_entries(entries.iter().copied())
    }

    fn clock() -> impl Strategy<Value = VClock> {
        proptest::collection::btree_map(0u32..4, 0u64..4, 0..4).prop_map(VClock::from_entries)
    }

    #[test]
    fn edge_cases() {
        assert_eq!(vc(&[(0, 1)]).compare(&vc(&[(1, 1)])), Causality::Concurrent);
        assert_eq!(vc(&[]).compare(&vc(&[(0, 1)])), Causality::Before);
        assert_eq!(vc(&[(0, 1)]).compare(&vc(&[])), Causality::After);
        assert_eq!(vc(&[]).compare(&vc(&[])), Causality::Equal);
        // A missing entry is zero: an explicit zero is the same clock.
        assert_eq!(VClock::from_entries([(3, 0)]), vc(&[]));
        let mut a = vc(&[(0, 2)]);
        a.increment(1);
        assert_eq!(a, vc(&[(0, 2), (1, 1)]));
    }

    #[test]
    fn compression_loses_causality() {
        // c saw the write {2:1}; compressed to two entries it no longer has.
        let write = vc(&[(2, 1)]);
        let mut c = vc(&[(0, 5), (1, 4), (2, 1)]);
        assert_eq!(c.compare(&write), Causality::After);
        c.compress(2);
        assert_eq!(c.compare(&write), Causality::Concurrent);
    }

    proptest! {
        #[test]
        fn compare_is_antisymmetric_and_agrees_with_merge(a in clock(), b in clock()) {
            let flipped = match a.compare(&b) {
                Causality::Before => Causality::After,
                Causality::After => Causality::Before,
                other => other,
            };
            prop_assert_eq!(b.compare(&a), flipped);
            // a ≤ b exactly when merging a into b changes nothing.
            let mut m = b.clone();
            m.merge(&a);
            prop_assert_eq!(b.dominates(&a), m == b);
            // The merge is an upper bound of both, and the least one: every
            // entry comes from one side.
            prop_assert!(m.dominates(&a) && m.dominates(&b));
            for (node, n) in m.entries() {
                prop_assert_eq!(n, a.get(node).max(b.get(node)));
            }
        }

        #[test]
        fn meet_is_the_greatest_lower_bound(a in clock(), b in clock()) {
            let mut m = a.clone();
            m.meet(&b);
            prop_assert!(a.dominates(&m) && b.dominates(&m));
            for (node, n) in a.entries() {
                prop_assert_eq!(m.get(node), n.min(b.get(node)));
            }
            prop_assert_eq!(VClock::from_entries(m.entries()), m);
        }

        #[test]
        fn increment_moves_strictly_after(a in clock(), node in 0u32..4) {
            let mut b = a.clone();
            b.increment(node);
            prop_assert_eq!(a.compare(&b), Causality::Before);
        }

        #[test]
        fn merge_is_commutative_associative_idempotent(a in clock(), b in clock(), c in clock()) {
            crate::crdt::lattice::assert_merge_laws(
                |x: &mut VClock, y: &VClock| x.merge(y),
                |x: &VClock, y: &VClock| y.dominates(x),
                &a, &b, &c,
            ).map_err(TestCaseError::fail)?;
        }
    }
}
