//! Last-writer-wins register: the write with the largest (timestamp, writer
//! node) is the value. Timestamps come from [`super::timestamp`].
//!
//! Known bug `string-tiebreak`: equal timestamps are broken by the string
//! form of the written value, keeping the replica's own write when those
//! are equal too. Two different writes of the same value then tie for
//! good, each replica keeps its own, and they never converge (merge is not
//! commutative: the property test shows it).

use serde::{Deserialize, Serialize};
use sim_core::NodeId;

use super::lattice::Lattice;
use super::timestamp::Stamp;

/// One write: unique `write` id, the client's `value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LwwWrite {
    pub stamp: Stamp,
    pub node: NodeId,
    pub write: u64,
    pub value: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LwwRegister {
    pub current: Option<LwwWrite>,
}

impl LwwRegister {
    /// Merges `other`, breaking timestamp ties by node id (or, with the
    /// known bug, by the value's string form).
    pub fn merge_with(&mut self, other: &LwwRegister, string_tiebreak: bool) {
        let Some(theirs) = other.current else { return };
        let wins = match self.current {
            None => true,
            Some(mine) if string_tiebreak => {
                (theirs.stamp, theirs.value.to_string()) > (mine.stamp, mine.value.to_string())
            }
            Some(mine) => {
                (theirs.stamp, theirs.node, theirs.write) > (mine.stamp, mine.node, mine.write)
            }
        };
        if wins {
            self.current = Some(theirs);
        }
    }
}

impl Lattice for LwwRegister {
    fn join(&mut self, other: &Self) {
        self.merge_with(other, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crdt::lattice::{assert_merge_laws, lattice_laws};
    use proptest::prelude::*;

    fn register() -> impl Strategy<Value = LwwRegister> {
        // One write per (time, node), as clocks make them; values repeat.
        proptest::option::of((0u64..3, 0u32..3).prop_map(|(t, node)| LwwWrite {
            stamp: Stamp {
                time: t,
                counter: 0,
            },
            node,
            write: t * 10 + u64::from(node),
            value: (t + u64::from(node)) % 2,
        }))
        .prop_map(|current| LwwRegister { current })
    }

    proptest! {
        #[test]
        fn merge_laws(a in register(), b in register(), c in register()) {
            lattice_laws(&a, &b, &c).map_err(TestCaseError::fail)?;
        }
    }

    #[test]
    fn string_tiebreak_is_not_commutative() {
        let write = |node, write| LwwRegister {
            current: Some(LwwWrite {
                stamp: Stamp::default(),
                node,
                write,
                value: 7,
            }),
        };
        let (a, b) = (write(0, 1), write(1, 2));
        let merge = |x: &mut LwwRegister, y: &LwwRegister| x.merge_with(y, true);
        let broken = assert_merge_laws(merge, |x, y| x.leq(y), &a, &b, &a);
        assert!(broken.unwrap_err().starts_with("not commutative"));
    }
}
