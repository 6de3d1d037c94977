//! The liveness check of every protocol without a leader to watch: once the
//! faults have healed, client operations complete again within a bound the
//! scenario states.
//!
//! "Healed" means every node up and not paused, no link cut, and no link
//! losing more than [`MAX_LOSS`] of its messages. Each stretch of healed time
//! with unchanged links is an interval; any change (a fault beginning or
//! ending, a link's timing changing) starts a new one. Within an interval in
//! which clients want service (an operation open at its start or invoked
//! during it), some operation invoked during it must get an answer that
//! counts (ok, and for most protocols also a definite fail) within the bound.
//!
//! The bound is judged against the interval's network as Raft's is
//! ([`crate::network_timing`]): the stated bound, plus one client wait (a
//! request lost to a crashed replica is given up or retried only after the
//! client's timeout, and the next one follows a think time later), plus a
//! few of its slowest round trips plus how late messages of the previous
//! interval may arrive;
//! an interval whose round trip does not fit twice into the protocol's
//! timeout (once, for clients that await a single replica) is not judged.
//! Other checks bound to the same healed intervals (CRDT convergence) read
//! them through [`ProgressChecker::judged_interval`].

use std::collections::BTreeMap;

use sim_core::{Finding, Message, Nanos, NodeId, NodeStatus, OpType, Sim};

pub use crate::network_timing::MAX_LOSS;
use crate::network_timing::{self, Bound, Unjudged};

pub const LIVENESS: &str = "liveness";

/// Message rounds an operation may need on top of the stated bound (a
/// request, a quorum's answers, a retry), each costing a slow round trip.
pub const ROUNDS: u64 = 6;

/// A healed interval whose network was fast enough to judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Healed {
    pub since: Nanos,
    /// Its slowest round trip, and how late messages of the previous
    /// interval may still arrive.
    pub round_trip: Nanos,
    pub settle: Nanos,
}

impl Healed {
    /// A bound stated for a fast network (`base`), scaled to this interval's.
    pub fn bound(&self, base: Nanos) -> Nanos {
        base.saturating_add(self.round_trip.saturating_mul(ROUNDS))
            .saturating_add(self.settle)
    }
}

#[derive(Debug, Clone)]
pub struct ProgressChecker {
    /// Every node of the cluster, replicas and clients.
    nodes: Vec<NodeId>,
    within: Nanos,
    timeout: Nanos,
    /// Round trips the timeout must hold (see [`network_timing::judge_awaiting`]).
    round_trips_in_timeout: u64,
    /// Whether a definite fail counts as progress (it does not for a lock
    /// that must be granted again).
    fail_counts: bool,
    signature: Vec<u64>,
    /// The simulation's conditions version the signature was computed at.
    version: Option<u64>,
    /// The current healed interval and its bound; `None` while a fault lasts.
    interval: Option<(Healed, Bound)>,
    slowest: Nanos,
    answered: bool,
    wanted: bool,
    history_cursor: usize,
    /// Open operations: invocation time per history process.
    open: BTreeMap<u64, Nanos>,
    judged: u64,
    unjudged: Unjudged,
}

impl ProgressChecker {
    /// `within` is the scenario's bound on a fast network, `timeout` the
    /// protocol's shortest timeout that awaits an answer.
    pub fn new(nodes: Vec<NodeId>, within: Nanos, timeout: Nanos, fail_counts: bool) -> Self {
        Self {
            nodes,
            within,
            timeout,
            round_trips_in_timeout: 2,
            fail_counts,
            signature: Vec::new(),
            version: None,
            interval: None,
            slowest: 0,
            answered: false,
            wanted: false,
            history_cursor: 0,
            open: BTreeMap::new(),
            judged: 0,
            unjudged: Unjudged::default(),
        }
    }

    /// For clients that await a single replica's answer: the timeout need
    /// hold only one round trip.
    pub fn awaiting_one_round_trip(mut self) -> Self {
        self.round_trips_in_timeout = 1;
        self
    }

    /// The current healed interval, if the network lets it be judged.
    pub fn judged_interval(&self) -> Option<Healed> {
        match self.interval? {
            (healed, Bound::Within(_)) => Some(healed),
            (_, Bound::TooSlow { .. }) => None,
        }
    }

    pub fn judged(&self) -> u64 {
        self.judged
    }

    pub fn unjudged(&self) -> &Unjudged {
        &self.unjudged
    }

    /// Every node up and running, every link between two of them usable
    /// (not cut, losing at most `MAX_LOSS`).
    fn healed<M: Message>(&self, sim: &Sim<M>) -> bool {
        if !self
            .nodes
            .iter()
            .all(|&n| sim.status(n) == NodeStatus::Up && !sim.is_paused(n))
        {
            return false;
        }
        let n = self.nodes.len();
        let (default_usable, exceptions) =
            network_timing::usability_signature(sim, &self.nodes, &self.nodes);
        n < 2
            || (default_usable && exceptions.is_empty())
            || (!default_usable && exceptions.len() == n * (n - 1))
    }

    fn compute_signature<M: Message>(&self, sim: &Sim<M>) -> Vec<u64> {
        let mut sig = vec![u64::from(self.healed(sim))];
        sig.extend(network_timing::timing_signature(sim, &self.nodes));
        sig
    }

    fn read_history<M: Message>(&mut self, sim: &Sim<M>, since: Option<Nanos>) {
        let entries = &sim.history().entries;
        for e in &entries[self.history_cursor.min(entries.len())..] {
            match e.op_type {
                OpType::Invoke => {
                    self.open.insert(e.process, e.time);
                    self.wanted = true;
                }
                OpType::Ok | OpType::Fail => {
                    let counts = e.op_type == OpType::Ok || self.fail_counts;
                    if let Some(at) = self.open.remove(&e.process) {
                        if counts && since.is_some_and(|s| at >= s) {
                            self.answered = true;
                        }
                    }
                }
                OpType::Info => {
                    self.open.remove(&e.process);
                }
            }
        }
        self.history_cursor = entries.len();
    }

    /// Call after every event: a finding when a healed interval went by its
    /// bound without progress while clients wanted some.
    pub fn check<M: Message>(&mut self, sim: &Sim<M>) -> Option<Finding> {
        let now = sim.now();
        // Nodes and links change only with the simulation's conditions: the
        // signature (a walk over every node) is recomputed only then.
        let version = sim.conditions_version();
        let changed = self.version != Some(version) && {
            self.version = Some(version);
            let sig = self.compute_signature(sim);
            let changed = sig != self.signature;
            self.signature = sig;
            changed
        };
        if changed {
            let settle = self.slowest;
            self.slowest = network_timing::slowest_one_way(sim, &self.nodes);
            // Read what happened before the change as belonging to the old interval.
            self.read_history(sim, None);
            self.answered = false;
            self.wanted = !self.open.is_empty();
            self.interval = None;
            if self.healed(sim) {
                let rt = network_timing::round_trip(sim, &self.nodes);
                let bound = network_timing::judge_awaiting(
                    self.within,
                    ROUNDS,
                    rt,
                    settle,
                    self.timeout,
                    self.round_trips_in_timeout,
                );
                match bound {
                    Bound::Within(_) => self.judged += 1,
                    Bound::TooSlow {
                        round_trip,
                        timeout,
                    } => self.unjudged.note(round_trip, timeout),
                }
                let healed = Healed {
                    since: now,
                    round_trip: rt,
                    settle,
                };
                self.interval = Some((healed, bound));
            }
        }
        let (Healed { since, .. }, Bound::Within(bound)) = self.interval? else {
            return None;
        };
        if self.answered {
            return None;
        }
        self.read_history(sim, Some(since));
        if self.answered || !self.wanted || now - since <= bound {
            return None;
        }
        Some(Finding {
            kind: LIVENESS.into(),
            time: now,
            node: None,
            message: format!(
                "no client operation {} within {:.1} ms of the faults healing: every node was up \
                 and every link open from {:.3} s to {:.3} s",
                if self.fail_counts {
                    "answered"
                } else {
                    "succeeded"
                },
                bound as f64 / 1e6,
                since as f64 / 1e9,
                now as f64 / 1e9
            ),
        })
    }
}

/// The progress check of a driver: over every node of `topology`, with the
/// scenario's `checks.liveness_within`, the network's round trip held against
/// `timeout` (the protocol's shortest timeout awaiting an answer).
pub fn progress_checker(
    scenario: &harness::Scenario,
    topology: &sim_core::Topology,
    timeout: Nanos,
    fail_counts: bool,
) -> ProgressChecker {
    let nodes = topology
        .replicas
        .iter()
        .chain(&topology.clients)
        .copied()
        .collect();
    let within = scenario
        .checks
        .liveness_within
        .saturating_add(client_wait(&scenario.workload, timeout));
    ProgressChecker::new(nodes, within, timeout, fail_counts)
}

/// How long a correct client may leave a lost request before its next one
/// can be answered: one timeout (the workload's, or the protocol's own client
/// timeout where that is longer), then a think time. A bound without it
/// cries wolf whenever the timeout is longer than `liveness_within`.
pub fn client_wait(workload: &harness::workload::WorkloadSpec, timeout: Nanos) -> Nanos {
    workload
        .timeout()
        .max(timeout)
        .saturating_add(workload.think())
}

/// The topology of `replicas` and `clients` and the progress check over it,
/// for clients that give up after the workload's timeout and for which a
/// definite fail counts (the registers and the stores): one function, so
/// that they all judge liveness alike.
pub fn topology_and_progress(
    scenario: &harness::Scenario,
    replicas: Vec<NodeId>,
    clients: Vec<NodeId>,
) -> (sim_core::Topology, ProgressChecker) {
    let topology = sim_core::Topology { replicas, clients };
    let progress = progress_checker(scenario, &topology, scenario.workload.timeout(), true);
    (topology, progress)
}

/// The verdict of a progress check at the end of a run that it did not stop.
/// The last interval is judged at the run's end too: clients stuck for good
/// make no events, so no event-time check would see their bound go by.
pub fn progress_verdict<M: Message>(
    progress: Option<&mut ProgressChecker>,
    sim: &Sim<M>,
) -> Vec<harness::Verdict> {
    progress
        .map(|p| match p.check(sim) {
            Some(f) => harness::Verdict::fail(LIVENESS, f.message).at(Some(f.time)),
            None => network_timing::liveness_verdict(LIVENESS, p.judged(), p.unjudged()),
        })
        .into_iter()
        .collect()
}
