//! PN-counter: two grow-only counters, increments (`p`) and decrements
//! (`n`), one entry per replica; the value is Σp − Σn and merge is the
//! entry-wise maximum of each.
//!
//! Known bug `one-g-counter`: one map of net amounts per replica, where a
//! decrement lowers the replica's own entry. Max-merge then takes the older,
//! higher entry back from any replica that has not yet seen the decrement:
//! decrements are lost (the counter's final-read check catches it).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sim_core::NodeId;

use super::lattice::Lattice;

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PnCounter {
    p: BTreeMap<NodeId, i64>,
    n: BTreeMap<NodeId, i64>,
}

fn join_max(into: &mut BTreeMap<NodeId, i64>, from: &BTreeMap<NodeId, i64>) {
    for (&node, &v) in from {
        let mine = into.entry(node).or_insert(v);
        *mine = (*mine).max(v);
    }
}

fn leq_max(a: &BTreeMap<NodeId, i64>, b: &BTreeMap<NodeId, i64>) -> bool {
    a.iter()
        .all(|(node, &v)| b.get(node).is_some_and(|&w| v <= w))
}

fn total(m: &BTreeMap<NodeId, i64>) -> i64 {
    m.values().fold(0i64, |a, &v| a.saturating_add(v))
}

impl PnCounter {
    pub fn value(&self) -> i64 {
        total(&self.p).saturating_sub(total(&self.n))
    }

    /// Adds `amount` (negative: a decrement) at replica `me`; returns the
    /// delta, the changed entry alone. `one_g_counter` is the known bug.
    pub fn add(&mut self, me: NodeId, amount: i64, one_g_counter: bool) -> PnCounter {
        let (map, by) = if amount >= 0 || one_g_counter {
            (&mut self.p, amount)
        } else {
            (&mut self.n, -amount)
        };
        let entry = map.entry(me).or_insert(0);
        *entry = entry.saturating_add(by);
        let mut delta = PnCounter::default();
        let target = if amount >= 0 || one_g_counter {
            &mut delta.p
        } else {
            &mut delta.n
        };
        target.insert(me, *entry);
        delta
    }
}

impl Lattice for PnCounter {
    fn join(&mut self, other: &Self) {
        join_max(&mut self.p, &other.p);
        join_max(&mut self.n, &other.n);
    }

    fn leq(&self, other: &Self) -> bool {
        leq_max(&self.p, &other.p) && leq_max(&self.n, &other.n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crdt::lattice::lattice_laws;
    use proptest::prelude::*;

    fn counter() -> impl Strategy<Value = PnCounter> {
        let entries = || proptest::collection::btree_map(0u32..4, 0i64..20, 0..4);
        (entries(), entries()).prop_map(|(p, n)| PnCounter { p, n })
    }

    proptest! {
        #[test]
        fn merge_laws(a in counter(), b in counter(), c in counter()) {
            lattice_laws(&a, &b, &c).map_err(TestCaseError::fail)?;
        }

        #[test]
        fn deltas_carry_the_update(a in counter(), amount in -10i64..10) {
            let (mut local, mut remote) = (a.clone(), a.clone());
            let delta = local.add(1, amount, false);
            remote.join(&delta);
            prop_assert_eq!(remote.value(), a.value() + amount);
            prop_assert_eq!(remote, local);
        }
    }

    #[test]
    fn one_g_counter_loses_a_decrement_to_an_older_state() {
        let mut a = PnCounter::default();
        a.add(0, 5, true);
        let older = a.clone();
        a.add(0, -2, true);
        a.join(&older);
        assert_eq!(a.value(), 5, "the decrement is gone");
        let mut b = PnCounter::default();
        b.add(0, 5, false);
        let older = b.clone();
        b.add(0, -2, false);
        b.join(&older);
        assert_eq!(b.value(), 3);
    }
}
