//! Raft's safety properties (Figure 3 of the paper), checked as the run goes.
//!
//! [`SafetyChecker::check`] runs after every event and is incremental: it
//! looks only at the replica the event was for (the only one an event can
//! change), at every replica when the simulation's conditions changed (a
//! crash, a restart), and on each replica only at what changed since its
//! last look. It keeps a glance of each replica (boot, term, role, the
//! log's end and chain hash there, snapshot point, commit index, length of
//! the applied trace): a replica whose glance is unchanged costs one
//! comparison, and each check runs only when what it reads changed. The
//! chain hash at the log's end covers the whole log, so an entry changed
//! anywhere in it changes the glance. What a check then does is in
//! proportion to what changed (new entries, newly applied ones), with
//! lookups in vectors indexed by log index and no allocation; so its cost
//! per event does not grow with the log, the run, or the number of
//! clients:
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

use std::collections::btree_map::Entry;
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

/// What the checks read of one replica, as of the checker's last look. A
/// replica that still shows the same glance has nothing new to check: its
/// role and term are those already recorded, its log ends in the same
/// (index, chain) — and a chain hash vouches for the whole prefix below it,
/// so an entry changed anywhere in the log changes it —, its commit index
/// and applied trace are where the cursor left them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Glance {
    boot: u64,
    term: u64,
    leader: bool,
    last_index: u64,
    last_chain: u64,
    snap_index: u64,
    commit: u64,
    applied: usize,
}

impl Glance {
    fn of<S: StateMachine>(node: &RaftNode<S>) -> Self {
        let log = node.log();
        let last_index = log.last_index();
        Self {
            boot: node.boot(),
            term: node.term(),
            leader: node.role() == Role::Leader,
            last_index,
            last_chain: log.chain_at(last_index).unwrap_or(0),
            snap_index: log.snapshot_index(),
            commit: node.commit_index(),
            applied: node.applied_trace().len(),
        }
    }

    /// Whether `node` still shows this glance: [`Glance::of`] compared
    /// field by field, without building one, for the look that finds
    /// nothing new (most of them).
    #[inline(always)]
    fn still<S: StateMachine>(&self, node: &RaftNode<S>) -> bool {
        let log = node.log();
        self.applied == node.applied_trace().len()
            && self.commit == node.commit_index()
            && self.last_index == log.last_index()
            && self.term == node.term()
            && self.leader == (node.role() == Role::Leader)
            && self.boot == node.boot()
            && self.snap_index == log.snapshot_index()
            && self.last_chain == log.chain_at(self.last_index).unwrap_or(0)
    }

    fn same_role(&self, other: &Glance) -> bool {
        (self.term, self.leader) == (other.term, other.leader)
    }

    fn same_log(&self, other: &Glance) -> bool {
        (self.last_index, self.last_chain, self.snap_index)
            == (other.last_index, other.last_chain, other.snap_index)
    }
}

/// The chain hash first seen at one (index, term), and on which node.
#[derive(Debug, Clone, Copy)]
struct ChainAt {
    term: u64,
    chain: u64,
    node: NodeId,
}

/// A commit point: (index, chain hash there, the node that reported it).
type CommitPoint = (u64, u64, NodeId);

/// Marks a node that is not a replica in [`SafetyChecker::position`].
const NOT_A_REPLICA: u32 = u32::MAX;

/// The safety checker; one per run.
#[derive(Debug, Clone)]
pub struct SafetyChecker {
    replicas: Vec<NodeId>,
    /// Node id → its place in `replicas` (or [`NOT_A_REPLICA`]): finds the
    /// event's replica, and its glance, in one lookup.
    position: Vec<u32>,
    /// Per replica, in `replicas` order: how it looked at the last look
    /// that found nothing wrong. Also the cursors of the commit index and
    /// the applied trace already checked.
    seen: Vec<Option<Glance>>,
    /// term → the leader seen in it.
    elected: BTreeMap<u64, NodeId>,
    /// index → the first (term, chain hash, node) seen there. Held inline,
    /// so that recording an index allocates nothing.
    chains: ByIndex<ChainAt>,
    /// (index, term) → (chain hash, node) for the further terms seen at an
    /// index: only logs that diverged (a leader's uncommitted tail replaced
    /// by a later leader's) put anything here.
    other_chains: BTreeMap<(u64, u64), (u64, NodeId)>,
    /// index → what was applied there first.
    applied: ByIndex<AppliedAt>,
    /// index → (chain, node) of commit points.
    commit_points: ByIndex<(u64, NodeId)>,
    /// term → (highest commit index reported by a node in that term, its chain, node).
    commits_by_term: BTreeMap<u64, (u64, u64, NodeId)>,
    /// The simulation's conditions version at the last look.
    version: Option<u64>,
    /// The lowest term whose best commit point rose during this look:
    /// leaders of later terms are checked again for completeness.
    commits_rose: Option<u64>,
    /// (term, the highest commit point reported in an earlier term): the
    /// last answer of [`SafetyChecker::earlier_commit`], while still true.
    earlier: Option<(u64, Option<CommitPoint>)>,
    /// Look at every replica, with every check, after every event
    /// ([`SafetyChecker::exhaustive`]).
    exhaustive: bool,
}

impl SafetyChecker {
    pub fn new(replicas: Vec<NodeId>) -> Self {
        let size = replicas.iter().map(|&r| r as usize + 1).max().unwrap_or(0);
        let mut position = vec![NOT_A_REPLICA; size];
        for (i, &r) in replicas.iter().enumerate() {
            position[r as usize] = i as u32;
        }
        Self {
            seen: vec![None; replicas.len()],
            replicas,
            position,
            version: None,
            commits_rose: None,
            earlier: None,
            elected: BTreeMap::new(),
            chains: ByIndex::default(),
            other_chains: BTreeMap::new(),
            applied: ByIndex::default(),
            commit_points: ByIndex::default(),
            commits_by_term: BTreeMap::new(),
            exhaustive: false,
        }
    }

    /// The same checker looking at every replica, with every check, after
    /// every event, whatever changed: what the incremental one must agree
    /// with event by event (the tests hold them side by side). Its cost
    /// grows with the number of replicas; it is not for runs.
    pub fn exhaustive(mut self) -> Self {
        self.exhaustive = true;
        self
    }

    /// Who led each term, as seen so far (for reports and tests).
    pub fn leaders(&self) -> &BTreeMap<u64, NodeId> {
        &self.elected
    }

    /// The highest index seen applied anywhere.
    pub fn applied_up_to(&self) -> u64 {
        self.applied.last_index().unwrap_or(0)
    }

    /// Checks the replicas, each the process `P` on its node; the first
    /// violation is returned as a finding naming the invariant, the nodes,
    /// the term/index and the time.
    ///
    /// Looks at the replica the last event was for — between two changes
    /// of the simulation's conditions, the only process an event can have
    /// changed — or at every replica when the conditions changed (a crash,
    /// a restart, a process changed from outside). A replica that shows
    /// what it showed at the last look costs one comparison.
    #[inline]
    pub fn check<P: RaftReplica>(&mut self, sim: &Sim<P::Msg>) -> Option<Finding> {
        if self.exhaustive || self.version != Some(sim.conditions_version()) {
            return self.look_at_everyone::<P>(sim);
        }
        // An ordinary event: the inline part is the one comparison that
        // finds most replicas as they were, and events for clients.
        let i = sim.last_event_node().and_then(|id| self.position_of(id))?;
        let node = sim.process_as::<P>(self.replicas[i])?.raft();
        if self.seen[i].is_some_and(|g| g.still(node)) {
            return None;
        }
        self.look_at_change::<P>(sim, i, node)
    }

    /// After a change of conditions (and always, when exhaustive): every
    /// replica, each checked for what changed since its last look.
    #[inline(never)]
    fn look_at_everyone<P: RaftReplica>(&mut self, sim: &Sim<P::Msg>) -> Option<Finding> {
        self.version = Some(sim.conditions_version());
        self.commits_rose = None;
        for i in 0..self.replicas.len() {
            let id = self.replicas[i];
            let Some(node) = sim.process_as::<P>(id).map(P::raft) else {
                continue;
            };
            if !self.exhaustive && self.seen[i].is_some_and(|g| g.still(node)) {
                continue;
            }
            if let Some(found) = self.check_changes(i, node, Glance::of(node)) {
                return Some(Self::finding(sim, id, found));
            }
        }
        self.recheck_leaders::<P>(sim)
    }

    /// Replica `replicas[i]` looks otherwise than at its last look: the
    /// checks its change calls for, then the leaders a risen commit point
    /// concerns.
    #[inline(never)]
    fn look_at_change<P: RaftReplica>(
        &mut self,
        sim: &Sim<P::Msg>,
        i: usize,
        node: &RaftNode<P::State>,
    ) -> Option<Finding> {
        self.commits_rose = None;
        let id = self.replicas[i];
        if let Some(found) = self.check_changes(i, node, Glance::of(node)) {
            return Some(Self::finding(sim, id, found));
        }
        self.recheck_leaders::<P>(sim)
    }

    /// A commit point rose in some term during this look: leaders of later
    /// terms must hold it. Every replica's glance is its present state
    /// (only the ones just looked at can have changed since their last look).
    fn recheck_leaders<P: RaftReplica>(&mut self, sim: &Sim<P::Msg>) -> Option<Finding> {
        let rose = self.commits_rose?;
        for i in 0..self.replicas.len() {
            if !self.seen[i].is_some_and(|g| g.leader && g.term > rose) {
                continue;
            }
            let id = self.replicas[i];
            let Some(node) = sim.process_as::<P>(id).map(P::raft) else {
                continue;
            };
            if let Some(found) = self.check_leader_completeness(id, node) {
                return Some(Self::finding(sim, id, found));
            }
        }
        None
    }

    fn position_of(&self, id: NodeId) -> Option<usize> {
        match self.position.get(id as usize) {
            Some(&i) if i != NOT_A_REPLICA => Some(i as usize),
            _ => None,
        }
    }

    /// Every check on replica `replicas[i]`, seen as `now` (otherwise than
    /// at its last look), that what changed calls for, in order (all of
    /// them when exhaustive).
    #[inline]
    fn check_changes<S: StateMachine>(
        &mut self,
        i: usize,
        node: &RaftNode<S>,
        now: Glance,
    ) -> Option<(&'static str, String)> {
        let id = self.replicas[i];
        let last = self.seen[i];
        // The same incarnation as at the last look: its commit index and
        // applied trace were checked up to there.
        let same_boot = last.filter(|b| b.boot == now.boot);
        let (role_changed, log_changed) = match last.filter(|_| !self.exhaustive) {
            Some(b) => (!b.same_role(&now), !b.same_log(&now)),
            None => (true, true),
        };
        let commit_changed = same_boot.is_none_or(|b| b.commit != now.commit);
        let applied_from = same_boot.map_or(0, |b| b.applied);
        let mut found = None;
        if role_changed && now.leader {
            found = self.check_election(id, node);
        }
        if found.is_none() && log_changed {
            found = self.check_log(id, node);
        }
        if found.is_none() && commit_changed {
            found = self.check_commit(id, node);
        }
        if found.is_none() && applied_from < now.applied {
            found = self.check_applied(id, node, applied_from);
        }
        if found.is_none() && now.leader && (role_changed || log_changed) {
            found = self.check_leader_completeness(id, node);
        }
        if found.is_none() {
            self.seen[i] = Some(now);
        }
        found
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

    /// The (chain hash, node) recorded earlier at (`index`, `term`); if
    /// there is none, records `chain` as seen on `id` and says `None`.
    fn chain_seen(
        &mut self,
        index: u64,
        term: u64,
        chain: u64,
        id: NodeId,
    ) -> Option<(u64, NodeId)> {
        let recorded = ChainAt {
            term,
            chain,
            node: id,
        };
        let Some(first) = self.chains.get(index).copied() else {
            self.chains.get_or_insert_with(index, || recorded);
            return None;
        };
        if first.term == term {
            return Some((first.chain, first.node));
        }
        match self.other_chains.entry((index, term)) {
            Entry::Occupied(known) => Some(*known.get()),
            Entry::Vacant(slot) => {
                slot.insert((chain, id));
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
            match self.chain_seen(index, term, chain, id) {
                Some((known, _)) if known == chain => return None,
                Some((_, other)) => {
                    return Some((
                        LOG_MATCHING,
                        format!(
                            "nodes {other} and {id} both hold an entry of term {term} at index \
                             {index}, but their logs differ up to it"
                        ),
                    ))
                }
                None => {}
            }
            if index == snap {
                return None;
            }
            index -= 1;
        }
    }

    /// The commit index, which changed since the last look.
    fn check_commit<S: StateMachine>(
        &mut self,
        id: NodeId,
        node: &RaftNode<S>,
    ) -> Option<(&'static str, String)> {
        let commit = node.commit_index();
        if commit == 0 {
            return None;
        }
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

    /// The applied trace from `from` on (0 for a new incarnation: its
    /// trace starts afresh).
    fn check_applied<S: StateMachine>(
        &mut self,
        id: NodeId,
        node: &RaftNode<S>,
        from: usize,
    ) -> Option<(&'static str, String)> {
        let trace = node.applied_trace();
        let Some(new) = trace.since(from) else {
            panic!(
                "node {id}'s applied entries from {from} on were forgotten before this \
                 checker read them: every safety checker of a replica must look after \
                 every event"
            );
        };
        for a in new {
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
        // Read and found consistent: the replica may let these go.
        trace.mark_read(trace.len());
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
