//! Raft: replicas, clients, a key-value state machine with sessions, the
//! safety and liveness checks, and known-bug variants.
//!
//! | module | holds |
//! |---|---|
//! | [`node`] | the replica ([`RaftNode`]) and its [`RaftConfig`] |
//! | [`client`] | the client process ([`RaftClient`]) |
//! | [`msg`] | messages, log entries, snapshots |
//! | [`log`] | the log with its compacted prefix and verification hash chain |
//! | [`lookup`] | hash tables for lookups by client session, walked only in key order |
//! | [`persist`] | the durable layout and recovery |
//! | [`codec`] | the compact binary form of log entries on disk |
//! | [`replication`] | a leader's view of one follower: next and matched index, batches in flight |
//! | [`state_machine`] | what Raft replicates: the [`StateMachine`] trait |
//! | [`kv`] | the replicated key-value store with client sessions (one state machine) |
//! | [`applied`] | each replica's trace of what it applied (a ghost the safety checker reads and lets go) |
//! | [`by_index`] | a map from log index to what a checker remembers there |
//! | [`invariants`] | Election Safety, Log Matching, Leader Completeness, State Machine Safety |
//! | [`liveness`] | a connected majority elects a leader and answers clients |
//! | [`bugs`] | the known-bug variants, by name |
//!
//! A cluster is built into a [`sim_core::Sim`] with [`build_cluster`] and
//! judged after every event by [`Checks::check`].

mod driver;
pub use driver::register;

pub mod applied;
pub mod bugs;
pub mod by_index;
pub mod client;
pub mod codec;
pub mod invariants;
pub mod kv;
pub mod liveness;
pub mod log;
pub mod lookup;
pub mod msg;
pub mod node;
pub mod persist;
pub mod replication;
pub mod state_machine;

pub use bugs::{Bug, Bugs};
pub use client::{ClientConfig, RaftClient};
pub use invariants::{RaftReplica, SafetyChecker, INVARIANTS};
pub use liveness::{LivenessChecker, LIVENESS, TERM_CHURN};
pub use msg::{RaftMsg, Rpc};
pub use node::{RaftConfig, RaftNode, Role};
pub use state_machine::StateMachine;

use sim_core::{Finding, Nanos, NodeId, NodeStatus, Sim, Topology};

use crate::workload::WorkloadSpec;

/// Adds `raft.members.len()` replicas and `workload.clients` clients to an
/// empty simulation: replicas are nodes `0..n` (as `raft.members` must say),
/// clients follow.
pub fn build_cluster(
    sim: &mut Sim<RaftMsg>,
    raft: &RaftConfig,
    client: &ClientConfig,
) -> Result<Topology, String> {
    raft.validate()?;
    client.validate()?;
    let n = raft.members.len() as NodeId;
    if sim.node_count() != 0 || raft.members != (0..n).collect::<Vec<_>>() {
        return Err(format!(
            "raft: replicas must be the first nodes of an empty simulation (0..{n}), got members {:?} \
             with {} nodes already present",
            raft.members,
            sim.node_count()
        ));
    }
    let mut topology = Topology::default();
    for _ in 0..n {
        let cfg = raft.clone();
        topology
            .replicas
            .push(sim.add_node(move || RaftNode::new(cfg.clone())));
    }
    for _ in 0..client.workload.clients {
        let cfg = client.clone();
        topology
            .clients
            .push(sim.add_node(move || RaftClient::new(cfg.clone())));
    }
    Ok(topology)
}

/// The defaults: a cluster of `replicas` with the paper's timeouts, the
/// given bugs, and clients drawing from `workload`.
pub fn default_configs(
    replicas: u32,
    workload: &WorkloadSpec,
    bugs: Bugs,
) -> (RaftConfig, ClientConfig) {
    let members: Vec<NodeId> = (0..replicas).collect();
    let mut raft = RaftConfig::new(members.clone());
    raft.bugs = bugs;
    (raft, ClientConfig::new(members, workload.clone()))
}

/// Every check of a run, safety and liveness, to call after each event.
pub struct Checks {
    pub safety: SafetyChecker,
    pub liveness: LivenessChecker,
}

impl Checks {
    /// Liveness windows derive from the timeouts: a leader within four
    /// maximal election timeouts of a majority being connected (room for a
    /// few split votes), and a client answer within that plus two client
    /// timeouts and a think time (a client may first be waiting on a request
    /// sent to a node that is gone). Both are for a fast network; the
    /// checker scales them to the network of each interval.
    pub fn new(topology: &Topology, raft: &RaftConfig, client: &ClientConfig) -> Self {
        let leader_within = 4 * raft.election_timeout_max;
        let clients_within = leader_within
            + 2 * client.workload.timeout()
            + client.workload.think()
            + client.retry_backoff;
        Self {
            safety: SafetyChecker::new(topology.replicas.clone()),
            liveness: LivenessChecker::new(
                topology.replicas.clone(),
                topology.clients.clone(),
                leader_within,
                clients_within,
                raft.election_timeout_min,
                client.workload.timeout(),
            ),
        }
    }

    /// Both checkers looking at everything after every event
    /// ([`SafetyChecker::exhaustive`], [`LivenessChecker::exhaustive`]):
    /// the reference the incremental checks are tested against.
    pub fn exhaustive(self) -> Self {
        Self {
            safety: self.safety.exhaustive(),
            liveness: self.liveness.exhaustive(),
        }
    }

    #[inline]
    pub fn check(&mut self, sim: &Sim<RaftMsg>) -> Option<Finding> {
        self.safety
            .check::<RaftNode>(sim)
            .or_else(|| self.liveness.check(sim))
    }
}

/// The live leader with the highest term, if any.
pub fn leader(sim: &Sim<RaftMsg>, replicas: &[NodeId]) -> Option<NodeId> {
    leader_of::<RaftNode>(sim, replicas)
}

/// The live leader with the highest term among `replicas`, each the process
/// `P` on its node (a bare Raft node or one carried by a service replica).
pub fn leader_of<P: RaftReplica>(sim: &Sim<P::Msg>, replicas: &[NodeId]) -> Option<NodeId> {
    replicas
        .iter()
        .copied()
        .filter(|&n| sim.status(n) == NodeStatus::Up)
        .filter_map(|n| sim.process_as::<P>(n).map(|p| (n, p.raft())))
        .filter(|(_, r)| r.role() == Role::Leader)
        .max_by_key(|(_, r)| r.term())
        .map(|(n, _)| n)
}

/// Virtual time elapsed, for reports.
pub fn ms(t: Nanos) -> f64 {
    t as f64 / 1e6
}
