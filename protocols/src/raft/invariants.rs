//! Raft's safety properties (Figure 3 of the paper), checked as the run goes.
//!
//! [`SafetyChecker::check`] runs after every event and is incremental: it
//! looks only at the replica the event was for (the only one an event can
//! change), at every replica when the simulation's conditions changed (a
//! crash, a restart), and its work per replica is what changed since its
//! last look, with map lookups of O(log length). So its cost per event does
//! not grow with the log or the run:
//!
//! - **Election Safety**: at most one leader per term. The checker remembers
//!   who it saw lead each term, so a crash cannot erase the evidence.
//! - **Log Matching**: two logs with an entry of the same index and term hold
//!   the same entries up to it. Each log carries a hash chain (`log.rs`);
//!   the checker records the chain seen at each (index, term) and compares
//!   every new or rewritten entry against it — walking down from a log's end
//!   only until it meets an entry already verified.
//! - **Leader Completeness**: an entry committed in a term is in the log of
//!   every leader of a later term. Commit points are recorded with the term
//!   of the node that reported them (an upper bound of the term in which the
//!   commitment happened, so the check never blames a correct run).
//! - **State Machine Safety**: no two nodes apply different entries at one
//!   index (checked on the nodes' applied traces, snapshots included), and
//!   no two nodes commit different prefixes at one index.
//!
//! What is remembered per log index lives in vectors indexed by it
//! ([`ByIndex`]): a lookup costs the same at index 10 and at index 10⁶.
//!
//! The properties are Raft's, whatever it replicates: the checker reads the
//! replicas through [`RaftReplica`], so a bare [`RaftNode`] of any state
//! machine (the KV store) and a process that carries one (a coordination
//! service replica) are checked by the same code.

use std::collections::BTreeMap;

use sim_core::{Finding, NodeId, Process, Sim};

use super::by_index::ByIndex;
use super::node::{RaftNode, Role};
use super::state_machine::StateMachine;

/// A process that is, or carries, a Raft replica: what the safety checker
/// reads on each replica node.
pub trait RaftReplica: Process {
    type State: StateMachine;

    fn raft(&self) -> &RaftNode<Self::State>;
}

impl<S: StateMachine> RaftReplica for RaftNode<S> {
    type State = S;

    fn raft(&self) -> &RaftNode<S> {
        self
    }
}

pub const ELECTION_SAFETY: &str = "election-safety";
pub const LOG_MATCHING: &str = "log-matching";
pub const LEADER_COMPLETENESS: &str = "leader-completeness";
pub const STATE_MACHINE_SAFETY: &str = "state-machine-safety";

/// The names of the invariants [`SafetyChecker`] watches.
pub const INVARIANTS: [&str; 4] = [
    ELECTION_SAFETY,
    LOG_MATCHING,
    LEADER_COMPLETENESS,
    STATE_MACHINE_SAFETY,
];

#[derive(Debug, Clone, Copy)]
struct AppliedAt {
    term: u64,
    digest: u64,
    chain: u64,
    node: NodeId,
}

#[derive(Debug, Clone, Copy, Default)]
struct Cursor {
    boot: u64,
    applied_seen: usize,
    commit_seen: u64,
}

/// A commit point: (index, chain hash there, the node that reported it).
type CommitPoint = (u64, u64, NodeId);

/// The safety checker; one per run.
#[derive(Debug, Clone)]
pub struct SafetyChecker {
    replicas: Vec<NodeId>,
    /// term → the leader seen in it.
    elected: BTreeMap<u64, NodeId>,
    /// index → (term, chain hash, the node it was first seen on), one per
    /// term seen at the index.
    chains: ByIndex<Vec<(u64, u64, NodeId)>>,
    /// index → what was applied there first.
    applied: ByIndex<AppliedAt>,
    /// index → (chain, node) of commit points.
    commit_points: ByIndex<(u64, NodeId)>,
    /// term → (highest commit index reported by a node in that term, its chain, node).
    commits_by_term: BTreeMap<u64, (u64, u64, NodeId)>,
    cursors: BTreeMap<NodeId, Cursor>,
    /// The replicas, sorted, to tell whether an event was for one.
    sorted: Vec<NodeId>,
    /// The simulation's conditions version at the last look.
    version: Option<u64>,
    /// The lowest term whose best commit point rose during this look:
    /// leaders of later terms are checked again for completeness.
    commits_rose: Option<u64>,
    /// (term, the highest commit point reported in an earlier term): the
    /// last answer of [`SafetyChecker::earlier_commit`], while still true.
    earlier: Option<(u64, Option<CommitPoint>)>,
}

impl SafetyChecker {
    pub fn new(replicas: Vec<NodeId>) -> Self {
        let mut sorted = replicas.clone();
        sorted.sort_unstable();
        Self {
            replicas,
            sorted,
            version: None,
            commits_rose: None,
            earlier: None,
            elected: BTreeMap::new(),
            chains: ByIndex::default(),
            applied: ByIndex::default(),
            commit_points: ByIndex::default(),
            commits_by_term: BTreeMap::new(),
            cursors: BTreeMap::new(),
        }
    }

    /// Who led each term, as seen so far (for reports and tests).
    pub fn leaders(&self) -> &BTreeMap<u64, NodeId> {
        &self.elected
    }

    /// The highest index seen applied anywhere.
    pub fn applied_up_to(&self) -> u64 {
        self.applied.last_index().unwrap_or(0)
    }

    /// Checks every live replica, each the process `P` on its node; the
    /// first violation is returned as a finding naming the invariant, the
    /// nodes, the term/index and the time.
    pub fn check<P: RaftReplica>(&mut self, sim: &Sim<P::Msg>) -> Option<Finding> {
        let version = sim.conditions_version();
        let everyone = self.version != Some(version);
        self.version = Some(version);
        self.commits_rose = None;
        if everyone {
            for i in 0..self.replicas.len() {
                if let Some(f) = self.check_replica::<P>(sim, self.replicas[i]) {
                    return Some(f);
                }
            }
        } else if let Some(id) = sim.last_event_node() {
            if self.sorted.binary_search(&id).is_ok() {
                if let Some(f) = self.check_replica::<P>(sim, id) {
                    return Some(f);
                }
            }
        }
        // A commit point rose in some term: leaders of later terms must hold it.
        let rose = self.commits_rose?;
        for i in 0..self.replicas.len() {
            let id = self.replicas[i];
            let Some(node) = sim.process_as::<P>(id).map(P::raft) else {
                continue;
            };
            if node.role() == Role::Leader && node.term() > rose {
                if let Some(found) = self.check_leader_completeness(id, node) {
                    return Some(Self::finding(sim, id, found));
                }
            }
        }
        None
    }

    /// Every check on one replica, in order.
    fn check_replica<P: RaftReplica>(&mut self, sim: &Sim<P::Msg>, id: NodeId) -> Option<Finding> {
        let node = sim.process_as::<P>(id)?.raft();
        let found = self
            .check_election(id, node)
            .or_else(|| self.check_log(id, node))
            .or_else(|| self.check_commit(id, node))
            .or_else(|| self.check_applied(id, node))
            .or_else(|| self.check_leader_completeness(id, node))?;
        Some(Self::finding(sim, id, found))
    }

    fn finding<M: sim_core::Message>(
        sim: &Sim<M>,
        id: NodeId,
        (kind, message): (&str, String),
    ) -> Finding {
        Finding {
            kind: kind.into(),
            time: sim.now(),
            node: Some(id),
            message,
        }
    }

    /// The highest commit point reported in a term before `term`, as
    /// (index, chain, node); remembered until a commit point of an earlier
    /// term rises.
    fn earlier_commit(&mut self, term: u64) -> Option<CommitPoint> {
        if let Some((t, answer)) = self.earlier {
            if t == term {
                return answer;
            }
        }
        let answer = self
            .commits_by_term
            .range(..term)
            .map(|(_, &v)| v)
            .max_by_key(|v| v.0);
        self.earlier = Some((term, answer));
        answer
    }

    fn check_election<S: StateMachine>(
        &mut self,
        id: NodeId,
        node: &RaftNode<S>,
    ) -> Option<(&'static str, String)> {
        if node.role() != Role::Leader {
            return None;
        }
        let term = node.term();
        match self.elected.get(&term) {
            Some(&other) if other != id => Some((
                ELECTION_SAFETY,
                format!("nodes {other} and {id} are both leaders of term {term}"),
            )),
            Some(_) => None,
            None => {
                self.elected.insert(term, id);
                None
            }
        }
    }

    fn check_log<S: StateMachine>(
        &mut self,
        id: NodeId,
        node: &RaftNode<S>,
    ) -> Option<(&'static str, String)> {
        let log = node.log();
        let snap = log.snapshot_index();
        let mut index = log.last_index();
        // Walk down from the end until an entry already verified: what lies
        // below it is the prefix its chain hash vouches for.
        loop {
            if index == 0 {
                return None;
            }
            let (Some(term), Some(chain)) = (log.term_at(index), log.chain_at(index)) else {
                return None;
            };
            let seen = self.chains.get_or_insert_with(index, Vec::new);
            match seen.iter().find(|s| s.0 == term) {
                Some(&(_, known, _)) if known == chain => return None,
                Some(&(_, _, other)) => {
                    return Some((
                        LOG_MATCHING,
                        format!(
                            "nodes {other} and {id} both hold an entry of term {term} at index \
                             {index}, but their logs differ up to it"
                        ),
                    ))
                }
                None => seen.push((term, chain, id)),
            }
            if index == snap {
                return None;
            }
            index -= 1;
        }
    }

    fn check_commit<S: StateMachine>(
        &mut self,
        id: NodeId,
        node: &RaftNode<S>,
    ) -> Option<(&'static str, String)> {
        let cursor = self.cursors.entry(id).or_default();
        let commit = node.commit_index();
        if commit == 0 || (cursor.boot == node.boot() && cursor.commit_seen == commit) {
            return None;
        }
        cursor.commit_seen = commit;
        let chain = node.log().chain_at(commit)?;
        match *self
            .commit_points
            .get_or_insert_with(commit, || (chain, id))
        {
            (known, other) if known != chain => {
                return Some((
                    STATE_MACHINE_SAFETY,
                    format!("nodes {other} and {id} committed different logs up to index {commit}"),
                ))
            }
            _ => {}
        }
        let term = node.term();
        let best = self.commits_by_term.entry(term).or_insert((0, 0, id));
        if commit > best.0 {
            *best = (commit, chain, id);
            self.commits_rose = Some(self.commits_rose.map_or(term, |t| t.min(term)));
            if self.earlier.is_some_and(|(t, _)| term < t) {
                self.earlier = None;
            }
        }
        None
    }

    fn check_applied<S: StateMachine>(
        &mut self,
        id: NodeId,
        node: &RaftNode<S>,
    ) -> Option<(&'static str, String)> {
        let cursor = self.cursors.entry(id).or_default();
        if cursor.boot != node.boot() {
            // A new incarnation: its trace starts afresh.
            *cursor = Cursor {
                boot: node.boot(),
                applied_seen: 0,
                commit_seen: node.commit_index(),
            };
        }
        let trace = node.applied_trace();
        let from = cursor.applied_seen.min(trace.len());
        cursor.applied_seen = trace.len();
        for a in &trace[from..] {
            match self.applied.get(a.index) {
                Some(known) if a.snapshot => {
                    if known.chain != a.chain {
                        return Some((
                            STATE_MACHINE_SAFETY,
                            format!(
                                "node {id} installed a snapshot at index {} that differs from \
                                 what node {} applied there",
                                a.index, known.node
                            ),
                        ));
                    }
                }
                Some(known) if (known.term, known.digest) != (a.term, a.digest) => {
                    return Some((
                        STATE_MACHINE_SAFETY,
                        format!(
                            "at index {} node {} applied an entry of term {} and node {id} \
                             one of term {} (digests {:x} / {:x})",
                            a.index, known.node, known.term, a.term, known.digest, a.digest
                        ),
                    ));
                }
                Some(_) => {}
                None if a.snapshot => {}
                None => {
                    self.applied.get_or_insert_with(a.index, || AppliedAt {
                        term: a.term,
                        digest: a.digest,
                        chain: a.chain,
                        node: id,
                    });
                }
            }
        }
        None
    }

    fn check_leader_completeness<S: StateMachine>(
        &mut self,
        id: NodeId,
        node: &RaftNode<S>,
    ) -> Option<(&'static str, String)> {
        if node.role() != Role::Leader {
            return None;
        }
        let term = node.term();
        // The highest commit point reported in an earlier term.
        let (commit, chain, by) = self.earlier_commit(term)?;
        let log = node.log();
        let missing = if commit > log.last_index() {
            true
        } else if commit >= log.snapshot_index() {
            log.chain_at(commit) != Some(chain)
        } else {
            false // compacted into this leader's snapshot: State Machine Safety covers it
        };
        missing.then(|| {
            (
                LEADER_COMPLETENESS,
                format!(
                    "node {id} leads term {term} without the entry at index {commit} that node \
                     {by} saw committed in an earlier term"
                ),
            )
        })
    }
}
