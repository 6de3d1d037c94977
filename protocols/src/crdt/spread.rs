//! CRDT convergence within a bound after the faults heal.
//!
//! The end-of-run convergence check asks whether replicas agree once the
//! clients stop; this one asks whether they agree *in time*. Within a healed
//! interval that the network lets be judged (the progress check's intervals,
//! [`crate::progress::ProgressChecker::judged_interval`]), every bound — the
//! scenario's `options.converge_within`, scaled to the interval's network —
//! the watch takes a checkpoint: every replica must by then include the join
//! of all replicas' states at the previous checkpoint (the first one is the
//! interval's start). A join-semilattice only grows, so "includes" is the
//! fair test while clients keep updating; gossip that stopped for good
//! (a replica that no longer sends its state) fails it.

use sim_core::{Finding, Nanos, NodeId, Sim};

use super::{CrdtMsg, CrdtState, Replica};
use crate::progress::Healed;

pub const CONVERGENCE_BOUND: &str = "convergence within bound";

struct Checkpoint {
    /// The healed interval it belongs to.
    since: Nanos,
    /// When `target` was taken.
    taken: Nanos,
    /// When every replica must include `target`.
    due: Nanos,
    target: CrdtState,
}

pub struct SpreadChecker {
    replicas: Vec<NodeId>,
    within: Nanos,
    checkpoint: Option<Checkpoint>,
    judged: u64,
}

impl SpreadChecker {
    pub fn new(replicas: Vec<NodeId>, within: Nanos) -> Self {
        Self {
            replicas,
            within,
            checkpoint: None,
            judged: 0,
        }
    }

    fn state(sim: &Sim<CrdtMsg>, replica: NodeId) -> Option<&CrdtState> {
        sim.process_as::<Replica>(replica).map(Replica::state)
    }

    /// What all replicas know now.
    fn join(replicas: &[NodeId], sim: &Sim<CrdtMsg>) -> CrdtState {
        let mut joined = CrdtState::default();
        for &r in replicas {
            if let Some(state) = Self::state(sim, r) {
                joined.merge(state);
            }
        }
        joined
    }

    /// Call after every event with the current judged healed interval: a
    /// finding when a replica missed a checkpoint.
    pub fn check(&mut self, sim: &Sim<CrdtMsg>, healed: Option<Healed>) -> Option<Finding> {
        let Some(healed) = healed else {
            self.checkpoint = None;
            return None;
        };
        let now = sim.now();
        let next_due = now.saturating_add(healed.bound(self.within));
        let checkpoint = match &mut self.checkpoint {
            Some(c) if c.since == healed.since => c,
            _ => {
                let target = Self::join(&self.replicas, sim);
                self.checkpoint = Some(Checkpoint {
                    since: healed.since,
                    taken: now,
                    due: next_due,
                    target,
                });
                return None;
            }
        };
        if now < checkpoint.due {
            return None;
        }
        let empty = CrdtState::default();
        for &r in &self.replicas {
            let state = Self::state(sim, r).unwrap_or(&empty);
            if !state.includes(&checkpoint.target) {
                let missing = checkpoint.target.missing_from(state);
                return Some(Finding {
                    kind: CONVERGENCE_BOUND.into(),
                    time: now,
                    node: Some(r),
                    message: format!(
                        "replica {r} still lacks what the replicas knew {:.1} ms earlier \
                         ({missing} set element(s) missing, counter {} of {}), although every \
                         node was up and every link open from {:.3} s to {:.3} s",
                        (now - checkpoint.taken) as f64 / 1e6,
                        state.counter(),
                        checkpoint.target.counter(),
                        healed.since as f64 / 1e9,
                        now as f64 / 1e9
                    ),
                });
            }
        }
        self.judged += 1;
        checkpoint.target = Self::join(&self.replicas, sim);
        checkpoint.taken = now;
        checkpoint.due = next_due;
        None
    }

    /// The verdict at the end of a run no finding stopped: the last
    /// checkpoint is judged too, then `pass`, or `unknown` if no healed
    /// interval lasted a bound.
    pub fn verdict(&mut self, sim: &Sim<CrdtMsg>, healed: Option<Healed>) -> harness::Verdict {
        if let Some(f) = self.check(sim, healed) {
            return harness::Verdict::fail(CONVERGENCE_BOUND, f.message).at(Some(f.time));
        }
        if self.judged == 0 {
            harness::Verdict::unknown(
                CONVERGENCE_BOUND,
                "no healed interval lasted the bound on a network fast enough to judge",
            )
        } else {
            harness::Verdict {
                detail: format!("{} checkpoint(s) met", self.judged),
                ..harness::Verdict::pass(CONVERGENCE_BOUND)
            }
        }
    }
}
