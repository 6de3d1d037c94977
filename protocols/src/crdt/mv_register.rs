//! Multi-value register with dotted version vectors (Preguiça et al.): each
//! write gets a unique dot (replica, sequence) and carries as its context
//! the vector clock of what its client had read. A write is obsolete once
//! another write's context covers its dot; the register holds the writes not
//! obsolete (its siblings). A client reads the siblings and writes with
//! their merged clocks, so its write replaces exactly what it saw, and
//! writes concurrent with it stay beside it: a Dynamo-style key with
//! siblings. (A plain vector clock per write, the coordinator's entry bumped,
//! would make a write at replica R follow every earlier write at R, even
//! ones its client never saw.)
//!
//! The `compressed-vclock` bug compresses each write's context
//! ([`VClock::compress`]): a write no longer covers all it saw, and
//! siblings it replaced survive next to it.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use sim_core::NodeId;

use super::lattice::Lattice;
use super::vclock::VClock;

pub type Dot = (NodeId, u64);

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Sibling {
    pub dot: Dot,
    pub context: VClock,
    pub write: u64,
    pub value: u64,
}

impl Sibling {
    fn covered_by(&self, clock: &VClock) -> bool {
        clock.get(self.dot.0) >= self.dot.1
    }

    /// Its whole causal history as a clock: its context and its own dot.
    pub fn clock(&self) -> VClock {
        let mut c = self.context.clone();
        c.raise(self.dot.0, self.dot.1);
        c
    }
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
            ctx.merge(&s.clock());
        }
        ctx
    }

    /// Writes at replica `me` with the client's `context`. `issued` (kept
    /// by the replica, durable) is the last sequence `me` used; `keep_entries`
    /// is the `compressed-vclock` bug. Returns the new sibling; the delta to
    /// spread is the whole register, so that whoever learns a dot of `me`
    /// learns the earlier ones too, or what replaced them.
    pub fn write(
        &mut self,
        me: NodeId,
        issued: &mut u64,
        context: &VClock,
        write: u64,
        value: u64,
        keep_entries: Option<usize>,
    ) -> Sibling {
        let seq = self
            .siblings
            .iter()
            .filter(|s| s.dot.0 == me)
            .map(|s| s.dot.1)
            .chain([*issued, context.get(me)])
            .max()
            .unwrap_or(0)
            + 1;
        *issued = seq;
        let mut context = context.clone();
        if let Some(keep) = keep_entries {
            context.compress(keep);
        }
        let sibling = Sibling {
            dot: (me, seq),
            context,
            write,
            value,
        };
        self.join(&MvRegister {
            siblings: BTreeSet::from([sibling.clone()]),
        });
        sibling
    }
}

impl Lattice for MvRegister {
    fn join(&mut self, other: &Self) {
        self.siblings.extend(other.siblings.iter().cloned());
        let contexts: Vec<VClock> = self.siblings.iter().map(|s| s.context.clone()).collect();
        self.siblings
            .retain(|s| !contexts.iter().any(|c| s.covered_by(c)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crdt::lattice::lattice_laws;
    use proptest::prelude::*;

    /// Three replicas after random steps: a write (with an empty context or
    /// the replica's current one), or a merge from another replica.
    fn world() -> impl Strategy<Value = [MvRegister; 3]> {
        proptest::collection::vec((0usize..3, 0usize..3, any::<bool>()), 0..12).prop_map(|steps| {
            let mut regs: [MvRegister; 3] = Default::default();
            let mut issued = [0u64; 3];
            for (i, (me, from, write)) in steps.into_iter().enumerate() {
                if write {
                    let ctx = if from == 0 {
                        VClock::new()
                    } else {
                        regs[me].context()
                    };
                    let i = i as u64;
                    regs[me].write(me as NodeId, &mut issued[me], &ctx, i, i, None);
                } else {
                    let other = regs[from].clone();
                    regs[me].join(&other);
                }
            }
            regs
        })
    }

    proptest! {
        #[test]
        fn merge_laws([a, b, c] in world()) {
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
        // A second write at replica 0 that saw nothing does not replace
        // the first one there.
        a.write(0, &mut ia, &VClock::new(), 3, 30, None);
        assert_eq!(a.siblings().len(), 3);
        let ctx = a.context();
        a.write(0, &mut ia, &ctx, 4, 40, None);
        assert_eq!(a.siblings().len(), 1);
        // With the context compressed to one entry, what it saw survives.
        let (mut c, mut ic) = (a.clone(), ia);
        c.write(1, &mut ib, &VClock::new(), 5, 50, None);
        let ctx = c.context();
        c.write(2, &mut ic, &ctx, 6, 60, Some(1));
        assert_eq!(c.siblings().len(), 2);
    }
}
