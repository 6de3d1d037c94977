//! Observed-remove set, add-wins: each add tags its element with a unique
//! dot (replica, sequence); a remove tombstones the dots of the element that
//! the removing replica has seen. An add concurrent with a remove has a dot
//! the remove did not see, so the element stays (add wins).
//!
//! Tombstones may only be dropped once every replica has seen the remove
//! (causal stability). Known bug `early-compaction`: a replica drops a
//! tombstone, and the add it killed, a fixed time after learning of it. A
//! replica that was cut off still holds the add without the tombstone, and
//! when the partition heals its gossip brings the removed element back.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use sim_core::NodeId;

use super::lattice::Lattice;

/// A unique tag of one add: (replica, sequence at that replica).
pub type Dot = (NodeId, u64);

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OrSet {
    adds: BTreeSet<(u64, Dot)>,
    removed: BTreeSet<Dot>,
}

impl OrSet {
    /// The elements present.
    pub fn elements(&self) -> BTreeSet<u64> {
        self.adds
            .iter()
            .filter(|(_, dot)| !self.removed.contains(dot))
            .map(|&(e, _)| e)
            .collect()
    }

    /// Adds `element` with the fresh `dot`; returns the delta.
    pub fn add(&mut self, element: u64, dot: Dot) -> OrSet {
        self.adds.insert((element, dot));
        OrSet {
            adds: BTreeSet::from([(element, dot)]),
            removed: BTreeSet::new(),
        }
    }

    /// Removes `element` as seen here; returns the delta (empty when this
    /// replica holds no live add of it).
    pub fn remove(&mut self, element: u64) -> OrSet {
        let dots: BTreeSet<Dot> = self
            .adds
            .range((element, (0, 0))..=(element, (NodeId::MAX, u64::MAX)))
            .map(|&(_, dot)| dot)
            .filter(|dot| !self.removed.contains(dot))
            .collect();
        self.removed.extend(dots.iter().copied());
        OrSet {
            adds: BTreeSet::new(),
            removed: dots,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.adds.is_empty() && self.removed.is_empty()
    }

    pub fn tombstones(&self) -> impl Iterator<Item = Dot> + '_ {
        self.removed.iter().copied()
    }

    /// Drops tombstones `dots` with the adds they killed (only safe once
    /// every replica has seen them).
    pub fn forget(&mut self, dots: &BTreeSet<Dot>) {
        self.removed.retain(|d| !dots.contains(d));
        self.adds.retain(|(_, d)| !dots.contains(d));
    }

    /// The largest sequence number replica `me` used in a dot here.
    pub fn last_dot_of(&self, me: NodeId) -> u64 {
        self.adds
            .iter()
            .map(|&(_, d)| d)
            .chain(self.removed.iter().copied())
            .filter(|&(node, _)| node == me)
            .map(|(_, seq)| seq)
            .max()
            .unwrap_or(0)
    }
}

/// Adds `from` to `into`: one insertion each for a small `from` (a delta),
/// one sorted pass for a large one (a whole state).
fn union<T: Ord + Copy>(into: &mut BTreeSet<T>, from: &BTreeSet<T>) {
    if from.len() * 8 < into.len() {
        into.extend(from.iter().copied());
    } else if !from.is_subset(into) {
        *into = into.union(from).copied().collect();
    }
}

impl Lattice for OrSet {
    fn join(&mut self, other: &Self) {
        union(&mut self.adds, &other.adds);
        union(&mut self.removed, &other.removed);
    }

    fn leq(&self, other: &Self) -> bool {
        self.adds.is_subset(&other.adds) && self.removed.is_subset(&other.removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crdt::lattice::lattice_laws;
    use proptest::prelude::*;

    fn set() -> impl Strategy<Value = OrSet> {
        let dot = || (0u32..3, 0u64..3);
        (
            proptest::collection::btree_set((0u64..3, dot()), 0..5),
            proptest::collection::btree_set(dot(), 0..3),
        )
            .prop_map(|(adds, removed)| OrSet { adds, removed })
    }

    proptest! {
        #[test]
        fn merge_laws(a in set(), b in set(), c in set()) {
            lattice_laws(&a, &b, &c).map_err(TestCaseError::fail)?;
        }
    }

    #[test]
    fn add_wins_over_a_concurrent_remove_and_compaction_resurrects() {
        let mut a = OrSet::default();
        a.add(9, (0, 1));
        let mut b = a.clone();
        // a removes 9 while b adds it again concurrently: b's add wins.
        a.remove(9);
        b.add(9, (1, 1));
        let mut merged = a.clone();
        merged.join(&b);
        assert!(merged.elements().contains(&9));
        // Without b's second add, the remove holds; unless a compacts early
        // and then hears from a replica that still has the old add.
        let mut c = OrSet::default();
        c.add(9, (0, 1));
        let stale = c.clone();
        c.remove(9);
        let tombstones: BTreeSet<Dot> = c.tombstones().collect();
        let mut kept = c.clone();
        kept.join(&stale);
        assert!(kept.elements().is_empty());
        c.forget(&tombstones);
        c.join(&stale);
        assert!(c.elements().contains(&9), "the removed element came back");
    }
}
