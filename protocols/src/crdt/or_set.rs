//! Observed-remove set, add-wins: each add tags its element with a unique
//! dot (replica, sequence); a remove tombstones the dots of the element that
//! the removing replica has seen. An add concurrent with a remove has a dot
//! the remove did not see, so the element stays (add wins).
//!
//! Compaction on causal stability ([`OrSet::compact`]): once every replica
//! has seen an add (its dot is below the *stable* frontier, the minimum of
//! what replicas report having seen), its tombstone goes with it, and the
//! frontier stays in the state. Below the frontier, a dot that is not
//! among the adds was removed; so a stale replica, or an old message that
//! still carries the add, cannot bring it back: the merge drops an add that
//! the other side's frontier covers and that side no longer holds.
//!
//! Known bug `early-compaction`: a replica drops a tombstone, and the add it
//! killed, a fixed time after learning of it, with no frontier. A replica
//! that was cut off still holds the add without the tombstone, and when
//! the partition heals its gossip brings the removed element back.
//!
//! Op-based ([`OrSet::insert`], [`OrSet::discard`]): an add carries a
//! unique tag, a remove the tags it observed; with causal delivery a remove
//! always finds the adds it observed, so it deletes them and keeps no
//! tombstone.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use sim_core::NodeId;

use super::lattice::Lattice;
use super::vclock::VClock;

/// A unique tag of one add: (replica, sequence at that replica).
pub type Dot = (NodeId, u64);

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OrSet {
    adds: BTreeSet<(u64, Dot)>,
    removed: BTreeSet<Dot>,
    /// The stable frontier: every replica has seen the adds below it, and
    /// no tombstone below it is kept.
    #[serde(default, skip_serializing_if = "VClock::is_empty")]
    stable: VClock,
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
            ..OrSet::default()
        }
    }

    /// The tags of `element`'s live adds here.
    pub fn live_dots(&self, element: u64) -> BTreeSet<Dot> {
        self.adds
            .range((element, (0, 0))..=(element, (NodeId::MAX, u64::MAX)))
            .map(|&(_, dot)| dot)
            .filter(|dot| !self.removed.contains(dot))
            .collect()
    }

    /// Removes `element` as seen here; returns the delta (empty when this
    /// replica holds no live add of it).
    pub fn remove(&mut self, element: u64) -> OrSet {
        let dots = self.live_dots(element);
        self.removed.extend(dots.iter().copied());
        // Below the frontier, the add's absence says enough here.
        self.drop_stable_tombstones();
        OrSet {
            removed: dots,
            ..OrSet::default()
        }
    }

    /// Op-based add: `element` tagged `dot`.
    pub fn insert(&mut self, element: u64, dot: Dot) {
        self.adds.insert((element, dot));
    }

    /// Op-based remove: deletes the adds of `element` tagged `dots` (all
    /// delivered before, by causal delivery), leaving no tombstone.
    pub fn discard(&mut self, element: u64, dots: &BTreeSet<Dot>) {
        for &dot in dots {
            self.adds.remove(&(element, dot));
        }
    }

    /// Per replica, the longest prefix of its dots this state has seen
    /// (as an add, a tombstone, or below the stable frontier).
    pub fn seen(&self) -> VClock {
        let dots: BTreeSet<Dot> = self
            .adds
            .iter()
            .map(|&(_, dot)| dot)
            .chain(self.removed.iter().copied())
            .collect();
        let mut seen = self.stable.clone();
        // Ascending per replica: a dot extends the prefix if it is the next.
        for (node, seq) in dots {
            if seq == seen.get(node) + 1 {
                seen.raise(node, seq);
            }
        }
        seen
    }

    /// Whether the frontier is already at least `stable`.
    pub fn stable_covers(&self, stable: &VClock) -> bool {
        self.stable.dominates(stable)
    }

    /// Raises the stable frontier to `stable` (which every replica, this
    /// one included, has seen) and drops the tombstones below it, with the
    /// adds they killed; whether anything changed.
    pub fn compact(&mut self, stable: &VClock) -> bool {
        if self.stable_covers(stable) {
            return false;
        }
        self.stable.merge(stable);
        self.drop_stable_tombstones();
        true
    }

    fn drop_stable_tombstones(&mut self) {
        let dead: BTreeSet<Dot> = self
            .removed
            .iter()
            .copied()
            .filter(|&dot| self.stable.covers(dot))
            .collect();
        if !dead.is_empty() {
            self.forget(&dead);
        }
    }

    /// Whether this state says the add tagged `dot` of `element` is gone
    /// for good: below its frontier and not held.
    fn compacted(&self, element: u64, dot: Dot) -> bool {
        self.stable.covers(dot) && !self.adds.contains(&(element, dot))
    }

    pub fn is_empty(&self) -> bool {
        self.adds.is_empty() && self.removed.is_empty()
    }

    /// How many tombstones this state keeps.
    pub fn tombstone_count(&self) -> usize {
        self.removed.len()
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
            .max(self.stable.get(me))
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
        if self.stable.is_empty() && other.stable.is_empty() {
            union(&mut self.adds, &other.adds);
            union(&mut self.removed, &other.removed);
            return;
        }
        // Adds one side compacted away stay away; the rest is a union.
        if !other.stable.is_empty() {
            self.adds.retain(|&(e, dot)| !other.compacted(e, dot));
        }
        let adds: BTreeSet<(u64, Dot)> = other
            .adds
            .iter()
            .copied()
            .filter(|&(_, dot)| !self.stable.covers(dot))
            .collect();
        union(&mut self.adds, &adds);
        union(&mut self.removed, &other.removed);
        self.stable.merge(&other.stable);
        self.drop_stable_tombstones();
    }

    fn leq(&self, other: &Self) -> bool {
        if self.stable.is_empty() && other.stable.is_empty() {
            return self.adds.is_subset(&other.adds) && self.removed.is_subset(&other.removed);
        }
        other.stable.dominates(&self.stable)
            && self
                .adds
                .iter()
                .all(|&(e, dot)| other.adds.contains(&(e, dot)) || other.stable.covers(dot))
            && self
                .removed
                .iter()
                .all(|&dot| other.removed.contains(&dot) || other.stable.covers(dot))
            // What this side compacted away, the other must not hold.
            && (self.stable.is_empty()
                || other.adds.iter().all(|&(e, dot)| !self.compacted(e, dot)))
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
            .prop_map(|(adds, removed)| OrSet {
                adds,
                removed,
                ..OrSet::default()
            })
    }

    proptest! {
        #[test]
        fn merge_laws(a in set(), b in set(), c in set()) {
            lattice_laws(&a, &b, &c).map_err(TestCaseError::fail)?;
        }
    }

    /// One step of three replicas, each mirrored by a shadow replica that
    /// never compacts.
    #[derive(Debug, Clone)]
    enum Step {
        Add(usize),
        /// Replica, index of the element it removes.
        Remove(usize, usize),
        /// `.0` merges what `.1` holds.
        Join(usize, usize),
        /// `.0` merges what `.1` held at its last snapshot (an old message).
        JoinOld(usize, usize),
        Snapshot(usize),
        /// A crash that loses what was not durable: back to the snapshot.
        Revert(usize),
        /// Compacts up to what all three have seen now.
        Compact(usize),
    }

    fn step() -> impl Strategy<Value = Step> {
        let r = || 0usize..3;
        prop_oneof![
            3 => r().prop_map(Step::Add),
            2 => (r(), 0usize..4).prop_map(|(i, k)| Step::Remove(i, k)),
            3 => (r(), r()).prop_map(|(i, j)| Step::Join(i, j)),
            1 => (r(), r()).prop_map(|(i, j)| Step::JoinOld(i, j)),
            1 => r().prop_map(Step::Snapshot),
            1 => r().prop_map(Step::Revert),
            2 => r().prop_map(Step::Compact),
        ]
    }

    /// Runs `steps`; checks after each that compaction changed no replica's
    /// elements; returns the compacted replicas.
    fn run(steps: &[Step]) -> Result<[OrSet; 3], TestCaseError> {
        let mut sets: [OrSet; 3] = Default::default();
        let mut shadows = sets.clone();
        let mut snapshots: [(OrSet, OrSet); 3] = Default::default();
        let mut seq = [0u64; 3];
        for step in steps {
            match *step {
                Step::Add(i) => {
                    seq[i] += 1;
                    let (e, dot) = (seq[i] * 3 + i as u64, (i as NodeId, seq[i]));
                    sets[i].add(e, dot);
                    shadows[i].add(e, dot);
                }
                Step::Remove(i, k) => {
                    if let Some(&e) = sets[i].elements().iter().nth(k) {
                        sets[i].remove(e);
                        shadows[i].remove(e);
                    }
                }
                Step::Join(i, j) => {
                    let (s, h) = (sets[j].clone(), shadows[j].clone());
                    sets[i].join(&s);
                    shadows[i].join(&h);
                }
                Step::JoinOld(i, j) => {
                    let (s, h) = snapshots[j].clone();
                    sets[i].join(&s);
                    shadows[i].join(&h);
                }
                Step::Snapshot(i) => snapshots[i] = (sets[i].clone(), shadows[i].clone()),
                Step::Revert(i) => (sets[i], shadows[i]) = snapshots[i].clone(),
                Step::Compact(i) => {
                    let mut stable = sets[0].seen();
                    stable.meet(&sets[1].seen());
                    stable.meet(&sets[2].seen());
                    sets[i].compact(&stable);
                }
            }
            for (set, shadow) in sets.iter().zip(&shadows) {
                prop_assert_eq!(set.elements(), shadow.elements(), "after {:?}", step);
            }
        }
        // Once all have merged all, they agree, and with their shadows.
        let (mut all, mut shadow) = (OrSet::default(), OrSet::default());
        for (set, shadowed) in sets.iter().zip(&shadows) {
            all.join(set);
            shadow.join(shadowed);
        }
        prop_assert_eq!(all.elements(), shadow.elements());
        Ok(sets)
    }

    proptest! {
        /// Compaction on stability changes no one's elements, whatever the
        /// order of merges, old messages and crashes; and the merge laws
        /// hold for the states it makes.
        #[test]
        fn compaction_on_stability_is_invisible(steps in proptest::collection::vec(step(), 0..40)) {
            let [a, b, c] = run(&steps)?;
            lattice_laws(&a, &b, &c).map_err(TestCaseError::fail)?;
        }
    }

    #[test]
    fn compaction_drops_tombstones_and_keeps_the_remove() {
        let mut a = OrSet::default();
        a.add(9, (0, 1));
        let stale = a.clone();
        a.remove(9);
        assert_eq!(a.tombstone_count(), 1);
        // Everyone has seen (0, 1): it goes, and the stale add stays dead.
        a.compact(&a.seen());
        assert_eq!(a.tombstone_count(), 0);
        a.join(&stale);
        assert!(a.elements().is_empty());
        let mut b = stale.clone();
        b.join(&a);
        assert!(b.elements().is_empty(), "the frontier carries the remove");
        assert!(stale.leq(&a) && !a.leq(&stale));
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
