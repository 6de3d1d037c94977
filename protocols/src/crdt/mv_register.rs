//! Multi-value register: every write carries a vector clock; the register
//! holds the writes no other write it holds follows (its siblings). A
//! client reads the siblings and writes with their merged clocks as its
//! context, so its write replaces exactly what it saw; writes concurrent
//! with it stay beside it. This is a Dynamo-style key with siblings.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use sim_core::NodeId;

use super::lattice::Lattice;
use super::vclock::{Causality, VClock};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Sibling {
    pub clock: VClock,
    pub write: u64,
    pub value: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MvRegister {
    siblings: BTreeSet<Sibling>,
}

impl MvRegister {
    pub fn siblings(&self) -> &BTreeSet<Sibling> {
        &self.siblings
    }

    /// The merged clocks of the siblings: the context of a write that
    /// replaces them all.
    pub fn context(&self) -> VClock {
        let mut ctx = VClock::new();
        for s in &self.siblings {
            ctx.merge(&s.clock);
        }
        ctx
    }

    /// Writes at replica `me` with the client's `context`: the new clock is
    /// the context with `me`'s entry past any `me` issued (`issued`, kept by
    /// the replica, is raised). `keep_entries` is the `compressed-vclock`
    /// bug. Returns the delta.
    pub fn write(
        &mut self,
        me: NodeId,
        issued: &mut u64,
        context: &VClock,
        write: u64,
        value: u64,
        keep_entries: Option<usize>,
    ) -> MvRegister {
        let mut clock = context.clone();
        let mine = self
            .siblings
            .iter()
            .map(|s| s.clock.get(me))
            .chain([*issued, context.get(me)])
            .max()
            .unwrap_or(0)
            + 1;
        *issued = mine;
        clock.raise(me, mine);
        if let Some(keep) = keep_entries {
            clock.compress(keep);
        }
        let delta = MvRegister {
            siblings: BTreeSet::from([Sibling {
                clock,
                write,
                value,
            }]),
        };
        self.join(&delta);
        delta
    }
}

impl Lattice for MvRegister {
    fn join(&mut self, other: &Self) {
        self.siblings.extend(other.siblings.iter().cloned());
        let all: Vec<VClock> = self.siblings.iter().map(|s| s.clock.clone()).collect();
        self.siblings
            .retain(|s| !all.iter().any(|c| s.clock.compare(c) == Causality::Before));
    }

    fn leq(&self, other: &Self) -> bool {
        let mut joined = other.clone();
        joined.join(self);
        joined == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crdt::lattice::lattice_laws;
    use proptest::prelude::*;

    /// Registers reached by writes on three replicas with random contexts
    /// taken from earlier states, as clients make them.
    fn register() -> impl Strategy<Value = MvRegister> {
        proptest::collection::vec((0u32..3, any::<bool>()), 0..5).prop_map(|steps| {
            let mut reg = MvRegister::default();
            let mut issued = [0u64; 3];
            for (i, (me, fresh)) in steps.into_iter().enumerate() {
                let ctx = if fresh { VClock::new() } else { reg.context() };
                reg.write(me, &mut issued[me as usize], &ctx, i as u64, i as u64, None);
            }
            reg
        })
    }

    proptest! {
        #[test]
        fn merge_laws(a in register(), b in register(), c in register()) {
            lattice_laws(&a, &b, &c).map_err(TestCaseError::fail)?;
        }
    }

    #[test]
    fn concurrent_writes_stay_siblings_and_a_write_that_saw_them_replaces_them() {
        let (mut a, mut b) = (MvRegister::default(), MvRegister::default());
        let (mut ia, mut ib) = (0, 0);
        a.write(0, &mut ia, &VClock::new(), 1, 10, None);
        b.write(1, &mut ib, &VClock::new(), 2, 20, None);
        a.join(&b);
        assert_eq!(a.siblings().len(), 2);
        let ctx = a.context();
        a.write(0, &mut ia, &ctx, 3, 30, None);
        assert_eq!(a.siblings().len(), 1);
    }
}
