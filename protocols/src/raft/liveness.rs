//! The liveness check: a connected majority makes progress, and does not
//! churn through terms.
//!
//! Whenever a majority of the replicas is up, not paused, and mutually
//! connected (every link between them open both ways and losing at most
//! [`MAX_LOSS`] of its messages) without interruption (a crash and restart
//! at one instant counts as one),
//! then within `leader_within` a leader must exist among them (whose term is
//! the highest among them), and within `clients_within` a client that is up
//! and connected to all of them both ways must get a definite answer (ok or
//! fail — a fail is a compare-and-set that went through the log). Any change
//! of the group, of the connected clients or of any link's timing starts a
//! new interval.
//!
//! Both bounds are judged against the network of the interval
//! ([`crate::network_timing`]): they grow by a few of its slowest round trips
//! (and by how late messages of a slower past may still arrive), and an
//! interval whose round trip does not fit twice into the election timeout
//! (for the leader) or the client timeout (for answers) is not judged at all:
//! no correct Raft can promise anything there. The verdict's detail counts
//! such intervals.
//!
//! Term churn: once the group has a leader, its highest term may rise at
//! most [`MAX_NEW_TERMS`] times more within the interval (on a network fast
//! enough to judge). A correct Raft with pre-vote and check-quorum keeps its
//! leader while a majority stays connected, even when one node cannot hear it;
//! without them, that node deposes leader after leader.
//!
//! A violation names the interval and who was connected.

use std::collections::BTreeMap;

use sim_core::{Finding, Nanos, NodeId, NodeStatus, OpType, Sim};

use super::client::RaftClient;
use super::msg::RaftMsg;
use super::node::{RaftNode, Role};
use crate::network_timing::{self, Bound, Unjudged};

pub const LIVENESS: &str = "liveness";
pub const TERM_CHURN: &str = "term-churn";

/// New terms a connected majority may start after it had a leader, within
/// one interval: room for a leader lost to message loss and a split vote.
pub const MAX_NEW_TERMS: u64 = 3;

pub use crate::network_timing::MAX_LOSS;

#[derive(Debug, Clone)]
pub struct LivenessChecker {
    replicas: Vec<NodeId>,
    clients: Vec<NodeId>,
    leader_within: Nanos,
    clients_within: Nanos,
    /// The shortest election timeout: a leader is judged only on a network
    /// whose round trip fits twice into it.
    election_timeout: Nanos,
    /// The client's request timeout, likewise for client answers.
    client_timeout: Nanos,
    /// Up/paused/cut state and link timings at the last look, to skip
    /// recomputing the group.
    signature: Vec<u64>,
    /// The simulation's conditions version the signature was computed at.
    version: Option<u64>,
    /// The connected majority and the clients connected to it, if any.
    group: Option<(Vec<NodeId>, Vec<NodeId>)>,
    /// Every majority of live, mutually connected replicas (the group is
    /// the first largest), kept with the group.
    cliques: Vec<Vec<NodeId>>,
    /// Node id → whether it is one of the group's replicas.
    in_group: Vec<bool>,
    /// Node id → whether it is one of the group's clients.
    client_in_group: Vec<bool>,
    /// The conditions version at which the group's clients were last all
    /// looked at for an answer; until it changes, only the clients answered
    /// since are (see [`LivenessChecker::clients_progressed`]).
    clients_version: Option<u64>,
    /// Clients whose answer, to an operation invoked in this interval, was
    /// read from the history since the last look at the clients.
    newly_answered: Vec<NodeId>,
    /// The first of the group's clients that had not finished at the last
    /// look: those before it have finished, and a client that finished
    /// stays so in its incarnation (a restart changes the conditions).
    first_working: usize,
    since: Nanos,
    leader_bound: Bound,
    clients_bound: Bound,
    /// The slowest one-way delay of the interval's network: messages sent
    /// in it may arrive this late into the next one.
    slowest: Nanos,
    leader_seen: bool,
    clients_seen: bool,
    /// The group's highest term when its leader was first seen, and how many
    /// times it rose since, in this interval.
    leader_term: u64,
    new_terms: u64,
    /// Intervals with a group that were judged, and those the network made
    /// unjudgeable.
    judged: u64,
    unjudged: Unjudged,
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
    /// Look at every node after every event ([`LivenessChecker::exhaustive`]).
    exhaustive: bool,
}

impl LivenessChecker {
    /// `leader_within` and `clients_within` are the bounds on a fast
    /// network; `election_timeout` (the shortest) and `client_timeout` are
    /// what the network's round trip is held against.
    pub fn new(
        replicas: Vec<NodeId>,
        clients: Vec<NodeId>,
        leader_within: Nanos,
        clients_within: Nanos,
        election_timeout: Nanos,
        client_timeout: Nanos,
    ) -> Self {
        Self {
            replicas,
            clients,
            leader_within,
            clients_within,
            election_timeout,
            client_timeout,
            signature: Vec::new(),
            version: None,
            group: None,
            cliques: Vec::new(),
            in_group: Vec::new(),
            client_in_group: Vec::new(),
            clients_version: None,
            newly_answered: Vec::new(),
            first_working: 0,
            since: 0,
            leader_bound: Bound::Within(leader_within),
            clients_bound: Bound::Within(clients_within),
            slowest: 0,
            leader_seen: false,
            clients_seen: false,
            leader_term: 0,
            new_terms: 0,
            judged: 0,
            unjudged: Unjudged::default(),
            history_cursor: 0,
            invoked: BTreeMap::new(),
            fresh_answer: BTreeMap::new(),
            leader_delays: Vec::new(),
            exhaustive: false,
        }
    }

    /// The same checker recomputing everything after every event (who is
    /// connected, every majority's leader, the group's highest term), as
    /// if the conditions had changed: what the incremental one must agree
    /// with event by event. Not for runs.
    pub fn exhaustive(mut self) -> Self {
        self.exhaustive = true;
        self
    }

    /// For each interval in which a leader appeared: the time it took.
    pub fn leader_delays(&self) -> &[Nanos] {
        &self.leader_delays
    }

    /// How many intervals with a connected majority were judged.
    pub fn judged(&self) -> u64 {
        self.judged
    }

    /// The intervals left unjudged because the network was too slow.
    pub fn unjudged(&self) -> &Unjudged {
        &self.unjudged
    }

    fn live(sim: &Sim<RaftMsg>, n: NodeId) -> bool {
        sim.status(n) == NodeStatus::Up && !sim.is_paused(n)
    }

    /// A link counts as up if it is not cut and loses at most
    /// [`MAX_LOSS`] of its messages: over a link that loses more, "a few
    /// election timeouts" promise nothing.
    fn usable(sim: &Sim<RaftMsg>, from: NodeId, to: NodeId) -> bool {
        network_timing::usable(sim, from, to)
    }

    fn linked(sim: &Sim<RaftMsg>, a: NodeId, b: NodeId) -> bool {
        Self::usable(sim, a, b) && Self::usable(sim, b, a)
    }

    /// Who is live, who hears whom, and each replica's incarnation (a crash
    /// and restart at one instant is an interruption too).
    /// Links are walked sparsely (only those cut or set otherwise than the
    /// default), so this costs O(nodes + such links), not O(nodes²).
    fn compute_signature(&self, sim: &Sim<RaftMsg>) -> Vec<u64> {
        let all: Vec<NodeId> = self.replicas.iter().chain(&self.clients).copied().collect();
        let mut sig = Vec::with_capacity(all.len() + self.replicas.len() + 2);
        for &a in &all {
            sig.push(u64::from(Self::live(sim, a)));
        }
        // Whether each link towards a replica is usable.
        let (default_usable, exceptions) =
            network_timing::usability_signature(sim, &all, &self.replicas);
        sig.push(u64::from(default_usable));
        sig.push(exceptions.len() as u64);
        sig.extend(
            exceptions
                .into_iter()
                .flat_map(|(a, b)| [u64::from(a), u64::from(b)]),
        );
        // A crash and restart at one instant: the kernel's crash count.
        for &r in &self.replicas {
            sig.push(u64::from(sim.incarnation(r)));
        }
        sig.extend(network_timing::timing_signature(sim, &all));
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

    /// The largest of `cliques` (the first among equals), with the clients
    /// that are live and connected to all of it.
    fn find_group(
        &self,
        sim: &Sim<RaftMsg>,
        cliques: &[Vec<NodeId>],
    ) -> Option<(Vec<NodeId>, Vec<NodeId>)> {
        let mut best: Option<&Vec<NodeId>> = None;
        for clique in cliques {
            if best.is_none_or(|b| clique.len() > b.len()) {
                best = Some(clique);
            }
        }
        let group = best?.clone();
        let clients = self
            .clients
            .iter()
            .copied()
            .filter(|&c| Self::live(sim, c) && group.iter().all(|&r| Self::linked(sim, c, r)))
            .collect();
        Some((group, clients))
    }

    /// Whether some replica of `clique` leads with the highest term in it.
    fn leads(sim: &Sim<RaftMsg>, clique: &[NodeId]) -> bool {
        let replica = |n: NodeId| sim.process_as::<RaftNode>(n);
        let max_term = clique
            .iter()
            .map(|&n| replica(n).map_or(0, RaftNode::term))
            .max()
            .unwrap_or(0);
        clique
            .iter()
            .any(|&n| replica(n).is_some_and(|r| r.role() == Role::Leader && r.term() == max_term))
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
                        if at >= self.since {
                            self.newly_answered.push(node);
                        }
                    }
                }
                OpType::Info => {
                    self.invoked.remove(&e.process);
                }
            }
        }
        self.history_cursor = entries.len();
    }

    /// Runs after every event. Between two changes of the simulation's
    /// conditions only the event's node can have changed, so an ordinary
    /// event costs a look at that node alone: its term for churn, the
    /// majorities it belongs to while no leader is seen. After a change of
    /// conditions everything is looked at again.
    #[inline]
    pub fn check(&mut self, sim: &Sim<RaftMsg>) -> Option<Finding> {
        let ordinary = !self.exhaustive && self.version == Some(sim.conditions_version());
        if !(ordinary && self.leader_seen && self.clients_seen) {
            return self.look(sim);
        }
        // The interval's leader and answers are seen, and nothing but the
        // event's node changed: only churn is left to watch, through it.
        let node = sim
            .last_event_node()
            .filter(|&n| self.in_group.get(n as usize) == Some(&true))?;
        let term = sim.process_as::<RaftNode>(node)?.term();
        if term <= self.leader_term {
            return None;
        }
        self.check_churn(sim.now(), term)
    }

    /// [`LivenessChecker::check`] while an interval still waits for its
    /// leader or its first answer, or after a change of conditions.
    #[inline(never)]
    fn look(&mut self, sim: &Sim<RaftMsg>) -> Option<Finding> {
        let now = sim.now();
        // Liveness, links and boots change only with the simulation's
        // conditions: the signature is recomputed only then, so an ordinary
        // event costs no walk over the nodes.
        let version = sim.conditions_version();
        let fresh = self.exhaustive || self.version != Some(version);
        if fresh {
            self.version = Some(version);
            let sig = self.compute_signature(sim);
            if sig != self.signature {
                // Any change restarts the interval: the group, its clients, or
                // the timing of a link (a delay fault begins or ends).
                self.signature = sig;
                self.cliques = self.majority_cliques(sim);
                self.group = self.find_group(sim, &self.cliques);
                self.in_group.clear();
                let (replicas, clients) = self
                    .group
                    .as_ref()
                    .map_or((&[][..], &[][..]), |(r, c)| (&r[..], &c[..]));
                self.in_group = membership(replicas);
                self.client_in_group = membership(clients);
                self.start_interval(sim, now);
            }
        }
        // The node whose state the event may have changed, if it is one of
        // the group's replicas (`None`: look at all of them).
        let event_node = sim.last_event_node();
        let group = &self.group.as_ref()?.0;
        if self.leader_seen {
            // The group's highest term can only have risen above the one
            // last counted through the event's node: every other member
            // is as it was, at or below `leader_term`.
            let term = if fresh {
                Some(Self::highest_term(sim, group))
            } else {
                event_node
                    .filter(|n| group.contains(n))
                    .and_then(|n| sim.process_as::<RaftNode>(n))
                    .map(RaftNode::term)
            };
            if let Some(f) = term.and_then(|term| self.check_churn(now, term)) {
                return Some(f);
            }
        }
        let leader_within = match self.leader_bound {
            Bound::Within(b) => b,
            Bound::TooSlow { .. } => return None,
        };
        if !self.leader_seen {
            // Connected majorities may overlap (a bridge node): a leader
            // whose term is the highest of any one of them will do. Only a
            // majority holding the event's node can have come to have one.
            let leader = self.cliques.iter().any(|clique| {
                (fresh || event_node.is_some_and(|n| clique.contains(&n)))
                    && Self::leads(sim, clique)
            });
            if leader {
                self.leader_seen = true;
                self.leader_delays.push(now - self.since);
                self.leader_term = Self::highest_term(sim, &self.group.as_ref()?.0);
            } else if now - self.since > leader_within {
                return Some(self.violation(
                    now,
                    format!("no leader within {:.1} ms", leader_within as f64 / 1e6),
                ));
            }
        }
        let Bound::Within(clients_within) = self.clients_bound else {
            return None;
        };
        if !self.clients_seen {
            self.read_history(sim);
            let (active, progressed) = self.clients_progressed(sim, version)?;
            if progressed || !active {
                self.clients_seen = progressed;
            } else if now - self.since > clients_within {
                return Some(self.violation(
                    now,
                    format!(
                        "no client operation answered within {:.1} ms",
                        clients_within as f64 / 1e6
                    ),
                ));
            }
        }
        None
    }

    /// Whether some of the group's clients still works, and whether one
    /// that does got an answer to an operation invoked since the interval
    /// began. The first look at a version of the conditions walks all the
    /// group's clients; later looks (every event, until an answer comes)
    /// only the clients answered since, and the first working client found
    /// last time: a client's answers and whether it finished change only
    /// through its own history and events, and a restart changes the
    /// conditions. So the wait for the first answer costs O(1) per event
    /// however many clients there are, where it cost a walk over all of
    /// them (at 5,000 clients nine tenths of a short run).
    fn clients_progressed(&mut self, sim: &Sim<RaftMsg>, version: u64) -> Option<(bool, bool)> {
        let clients = &self.group.as_ref()?.1;
        let works = |c: NodeId| {
            sim.process_as::<RaftClient>(c)
                .is_some_and(|p| !p.finished())
        };
        let answered = std::mem::take(&mut self.newly_answered);
        let progressed = if self.exhaustive || self.clients_version != Some(version) {
            self.clients_version = Some(version);
            self.first_working = 0;
            let since = self.since;
            clients
                .iter()
                .any(|&c| works(c) && self.fresh_answer.get(&c).is_some_and(|&at| at >= since))
        } else {
            answered
                .iter()
                .any(|&c| self.client_in_group.get(c as usize) == Some(&true) && works(c))
        };
        while clients.get(self.first_working).is_some_and(|&c| !works(c)) {
            self.first_working += 1;
        }
        let active = self.first_working < clients.len();
        self.newly_answered = answered;
        self.newly_answered.clear();
        Some((active, progressed))
    }

    /// A new interval from `now`: its bounds against its network, and the
    /// count of judged or unjudged intervals.
    fn start_interval(&mut self, sim: &Sim<RaftMsg>, now: Nanos) {
        let settle = self.slowest;
        let all: Vec<NodeId> = self.replicas.iter().chain(&self.clients).copied().collect();
        self.slowest = network_timing::slowest_one_way(sim, &all);
        self.since = now;
        self.leader_seen = false;
        self.clients_seen = false;
        self.new_terms = 0;
        let Some((group, clients)) = &self.group else {
            return;
        };
        // An election is a vote round trip after a timeout, and a few may
        // be needed (split votes, lost messages): four round trips on top.
        let group_rt = network_timing::round_trip(sim, group);
        self.leader_bound = network_timing::judge(
            self.leader_within,
            4,
            group_rt,
            settle,
            self.election_timeout,
        );
        // A client answer needs the leader, then a request, its replication
        // and the answer: two more round trips, over the clients' links too.
        let members: Vec<NodeId> = group.iter().chain(clients).copied().collect();
        let all_rt = network_timing::round_trip(sim, &members);
        self.clients_bound = network_timing::judge(
            self.clients_within,
            6,
            all_rt,
            settle,
            self.client_timeout.min(self.election_timeout),
        );
        match (self.leader_bound, self.clients_bound) {
            (
                Bound::TooSlow {
                    round_trip,
                    timeout,
                },
                _,
            )
            | (
                _,
                Bound::TooSlow {
                    round_trip,
                    timeout,
                },
            ) => self.unjudged.note(round_trip, timeout),
            _ => self.judged += 1,
        }
    }

    fn highest_term(sim: &Sim<RaftMsg>, group: &[NodeId]) -> u64 {
        group
            .iter()
            .filter_map(|&n| sim.process_as::<RaftNode>(n).map(RaftNode::term))
            .max()
            .unwrap_or(0)
    }

    /// Counts the group's new terms since its leader was first seen in this
    /// interval; more than [`MAX_NEW_TERMS`] on a judgeable network is churn.
    fn check_churn(&mut self, now: Nanos, term: u64) -> Option<Finding> {
        if term <= self.leader_term {
            return None;
        }
        self.new_terms += term - self.leader_term;
        self.leader_term = term;
        if self.new_terms <= MAX_NEW_TERMS || !matches!(self.leader_bound, Bound::Within(_)) {
            return None;
        }
        let mut f = self.violation(
            now,
            format!(
                "term churn: {} new terms after a leader was elected (at most {MAX_NEW_TERMS})",
                self.new_terms
            ),
        );
        f.kind = TERM_CHURN.into();
        Some(f)
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

/// Node id → whether it is one of `nodes`.
fn membership(nodes: &[NodeId]) -> Vec<bool> {
    let mut of = vec![false; nodes.iter().map(|&n| n as usize + 1).max().unwrap_or(0)];
    for &n in nodes {
        of[n as usize] = true;
    }
    of
}
