//! The liveness check: a connected majority makes progress.
//!
//! Whenever a majority of the replicas is up, not paused, and mutually
//! connected (every link between them open both ways and losing at most
//! [`MAX_LOSS`] of its messages) without interruption (a crash and restart
//! at one instant counts as one),
//! then within `leader_within` a leader must exist among them (whose term is
//! the highest among them), and within `clients_within` a client that is up
//! and connected to all of them both ways must get a definite answer (ok or
//! fail — a fail is a compare-and-set that went through the log). Any change
//! of the group or of the connected clients starts a new interval.
//!
//! A violation names the interval and who was connected.

use std::collections::BTreeMap;

use sim_core::{Finding, Nanos, NodeId, NodeStatus, OpType, Sim};

use super::client::RaftClient;
use super::msg::RaftMsg;
use super::node::{RaftNode, Role};

pub const LIVENESS: &str = "liveness";

/// Links losing more than this fraction of messages do not count as connected.
pub const MAX_LOSS: f64 = 0.2;

#[derive(Debug, Clone)]
pub struct LivenessChecker {
    replicas: Vec<NodeId>,
    clients: Vec<NodeId>,
    leader_within: Nanos,
    clients_within: Nanos,
    /// Up/paused/cut state at the last look, to skip recomputing the group.
    signature: Vec<u64>,
    /// The connected majority and the clients connected to it, if any.
    group: Option<(Vec<NodeId>, Vec<NodeId>)>,
    since: Nanos,
    leader_seen: bool,
    clients_seen: bool,
    /// History entries read so far.
    history_cursor: usize,
    /// Open invocation time per history process.
    invoked: BTreeMap<u64, Nanos>,
    /// Per client node: the latest invocation time of an operation that got
    /// a definite answer (ok or fail). Counting by invocation time keeps an
    /// answer already on its way when the interval began from counting.
    fresh_answer: BTreeMap<NodeId, Nanos>,
    /// Longest time from an interval's start to its leader, for reports.
    leader_delays: Vec<Nanos>,
}

impl LivenessChecker {
    pub fn new(
        replicas: Vec<NodeId>,
        clients: Vec<NodeId>,
        leader_within: Nanos,
        clients_within: Nanos,
    ) -> Self {
        Self {
            replicas,
            clients,
            leader_within,
            clients_within,
            signature: Vec::new(),
            group: None,
            since: 0,
            leader_seen: false,
            clients_seen: false,
            history_cursor: 0,
            invoked: BTreeMap::new(),
            fresh_answer: BTreeMap::new(),
            leader_delays: Vec::new(),
        }
    }

    /// For each interval in which a leader appeared: the time it took.
    pub fn leader_delays(&self) -> &[Nanos] {
        &self.leader_delays
    }

    fn live(sim: &Sim<RaftMsg>, n: NodeId) -> bool {
        sim.status(n) == NodeStatus::Up && !sim.is_paused(n)
    }

    /// A link counts as up if it is not cut and loses at most
    /// [`MAX_LOSS`] of its messages: over a link that loses more, "a few
    /// election timeouts" promise nothing.
    fn usable(sim: &Sim<RaftMsg>, from: NodeId, to: NodeId) -> bool {
        !sim.network().is_cut(from, to) && sim.network().config(from, to).loss <= MAX_LOSS
    }

    fn linked(sim: &Sim<RaftMsg>, a: NodeId, b: NodeId) -> bool {
        Self::usable(sim, a, b) && Self::usable(sim, b, a)
    }

    /// Who is live, who hears whom, and each replica's incarnation (a crash
    /// and restart at one instant is an interruption too).
    fn compute_signature(&self, sim: &Sim<RaftMsg>) -> Vec<u64> {
        let all: Vec<NodeId> = self.replicas.iter().chain(&self.clients).copied().collect();
        let mut sig = Vec::with_capacity(all.len() * (all.len() + 2));
        for &a in &all {
            sig.push(u64::from(Self::live(sim, a)));
            for &b in &self.replicas {
                sig.push(u64::from(a != b && !Self::usable(sim, a, b)));
            }
        }
        for &r in &self.replicas {
            sig.push(sim.process_as::<RaftNode>(r).map_or(0, RaftNode::boot));
        }
        sig
    }

    /// Every majority of live, mutually connected replicas.
    fn majority_cliques(&self, sim: &Sim<RaftMsg>) -> Vec<Vec<NodeId>> {
        let live: Vec<NodeId> = self
            .replicas
            .iter()
            .copied()
            .filter(|&n| Self::live(sim, n))
            .collect();
        let majority = self.replicas.len() / 2 + 1;
        if live.len() < majority || live.len() > 16 {
            return Vec::new();
        }
        let mut out = Vec::new();
        for mask in 1u32..(1 << live.len()) {
            if (mask.count_ones() as usize) < majority {
                continue;
            }
            let members: Vec<NodeId> = (0..live.len())
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| live[i])
                .collect();
            if members
                .iter()
                .enumerate()
                .all(|(i, &a)| members[i + 1..].iter().all(|&b| Self::linked(sim, a, b)))
            {
                out.push(members);
            }
        }
        out
    }

    /// The largest set of live, mutually connected replicas, if it is a
    /// majority (first in id order among equals), with its connected clients.
    fn find_group(&self, sim: &Sim<RaftMsg>) -> Option<(Vec<NodeId>, Vec<NodeId>)> {
        let live: Vec<NodeId> = self
            .replicas
            .iter()
            .copied()
            .filter(|&n| Self::live(sim, n))
            .collect();
        let majority = self.replicas.len() / 2 + 1;
        if live.len() < majority || live.len() > 16 {
            return None; // beyond 16 replicas the subset search is not worth it
        }
        let mut best: Option<Vec<NodeId>> = None;
        for mask in 1u32..(1 << live.len()) {
            let size = mask.count_ones() as usize;
            if size < majority || best.as_ref().is_some_and(|b| b.len() >= size) {
                continue;
            }
            let members: Vec<NodeId> = (0..live.len())
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| live[i])
                .collect();
            let clique = members
                .iter()
                .enumerate()
                .all(|(i, &a)| members[i + 1..].iter().all(|&b| Self::linked(sim, a, b)));
            if clique {
                best = Some(members);
            }
        }
        let group = best?;
        let clients = self
            .clients
            .iter()
            .copied()
            .filter(|&c| Self::live(sim, c) && group.iter().all(|&r| Self::linked(sim, c, r)))
            .collect();
        Some((group, clients))
    }

    /// Reads the history entries recorded since the last look.
    fn read_history(&mut self, sim: &Sim<RaftMsg>) {
        let entries = &sim.history().entries;
        let nodes = u64::from(sim.node_count().max(1));
        for e in &entries[self.history_cursor.min(entries.len())..] {
            match e.op_type {
                OpType::Invoke => {
                    self.invoked.insert(e.process, e.time);
                }
                OpType::Ok | OpType::Fail => {
                    if let Some(at) = self.invoked.remove(&e.process) {
                        // A client's history process is `incarnation * nodes + node` (the kernel's numbering).
                        let node = (e.process % nodes) as NodeId;
                        let latest = self.fresh_answer.entry(node).or_insert(0);
                        *latest = (*latest).max(at);
                    }
                }
                OpType::Info => {
                    self.invoked.remove(&e.process);
                }
            }
        }
        self.history_cursor = entries.len();
    }

    pub fn check(&mut self, sim: &Sim<RaftMsg>) -> Option<Finding> {
        let now = sim.now();
        let sig = self.compute_signature(sim);
        if sig != self.signature {
            self.signature = sig;
            let group = self.find_group(sim);
            if group != self.group {
                self.group = group;
                self.since = now;
                self.leader_seen = false;
                self.clients_seen = false;
            }
        }
        let (_, clients) = self.group.clone()?;
        if !self.leader_seen {
            // Connected majorities may overlap (a bridge node): a leader
            // whose term is the highest of any one of them will do.
            let term = |n: NodeId| sim.process_as::<RaftNode>(n).map_or(0, RaftNode::term);
            let leader = self.majority_cliques(sim).iter().any(|clique| {
                let max_term = clique.iter().map(|&n| term(n)).max().unwrap_or(0);
                clique.iter().any(|&n| {
                    sim.process_as::<RaftNode>(n)
                        .is_some_and(|r| r.role() == Role::Leader && r.term() == max_term)
                })
            });
            if leader {
                self.leader_seen = true;
                self.leader_delays.push(now - self.since);
            } else if now - self.since > self.leader_within {
                return Some(self.violation(
                    now,
                    format!("no leader within {} ms", self.leader_within / 1_000_000),
                ));
            }
        }
        if !self.clients_seen {
            self.read_history(sim);
            let active: Vec<NodeId> = clients
                .iter()
                .copied()
                .filter(|&c| {
                    sim.process_as::<RaftClient>(c)
                        .is_some_and(|p| !p.finished())
                })
                .collect();
            let since = self.since;
            let progressed = active
                .iter()
                .any(|c| self.fresh_answer.get(c).is_some_and(|&at| at >= since));
            if progressed || active.is_empty() {
                self.clients_seen = progressed;
            } else if now - self.since > self.clients_within {
                return Some(self.violation(
                    now,
                    format!(
                        "no client operation answered within {} ms",
                        self.clients_within / 1_000_000
                    ),
                ));
            }
        }
        None
    }

    fn violation(&self, now: Nanos, what: String) -> Finding {
        let (group, clients) = self.group.clone().unwrap_or_default();
        Finding {
            kind: LIVENESS.into(),
            time: now,
            node: None,
            message: format!(
                "{what}: replicas {group:?} (with clients {clients:?}) were up and connected \
                 from {:.3} s to {:.3} s",
                self.since as f64 / 1e9,
                now as f64 / 1e9
            ),
        }
    }
}
