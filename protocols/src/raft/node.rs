//! A Raft replica as a sans-IO process.
//!
//! Follows the paper (Ongaro & Ousterhout 2014) and the dissertation: leader
//! election with randomized timeouts, pre-vote (§9.6) and check-quorum (§6.2),
//! log replication with the consistency check and a conflict-term hint for
//! fast back-off, commitment of current-term entries only (§5.4.2), snapshots
//! and InstallSnapshot (§7), and client sessions for exactly-once writes (§6.3).
//!
//! Durability: every change to the term, the vote or the log is written to
//! storage as it is made, and a callback syncs before sending anything (the
//! outbox is flushed only after `sync`), so nothing a node said survives
//! less than the node's own memory of having said it.
//!
//! Timers are durations on the node's own clock; no decision compares
//! absolute readings of it, so clock skew and jumps cannot confuse a node
//! about how long it waited.

use std::collections::{BTreeMap, BTreeSet};

use rand::RngCore;
use sim_core::{Ctx, Nanos, NodeId, Process, TimerId, MILLIS};

use super::applied::{Applied, AppliedTrace};
use super::bugs::{Bug, Bugs};
use super::kv::KvState;
use super::log::RaftLog;
use super::lookup::Lookup;
use super::msg::{Command, Entry, RaftMsg, Rpc, Snapshot};
use super::persist::{self, HardState};
use super::replication::{FollowerProgress, Followers};
use super::state_machine::StateMachine;

/// The tunables of a Raft cluster. Durations are in local nanoseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct RaftConfig {
    /// Every replica's id, this node's included.
    pub members: Vec<NodeId>,
    pub election_timeout_min: Nanos,
    pub election_timeout_max: Nanos,
    pub heartbeat_interval: Nanos,
    /// At most this many entries per AppendEntries (1: no batching).
    pub max_batch: usize,
    /// At most this many AppendEntries with entries in flight per follower
    /// (1: no pipelining; a follower being probed always gets one).
    pub max_inflight: usize,
    /// Take a snapshot once this many applied entries are not yet in one.
    pub snapshot_threshold: u64,
    pub pre_vote: bool,
    pub check_quorum: bool,
    pub bugs: Bugs,
}

impl RaftConfig {
    /// The defaults used by the catalogue: timeouts as in the paper (150–300
    /// ms) with a 50 ms heartbeat, snapshots every 64 entries, batches of up
    /// to 64 entries and 8 of them in flight per follower.
    pub fn new(members: Vec<NodeId>) -> Self {
        Self {
            members,
            election_timeout_min: 150 * MILLIS,
            election_timeout_max: 300 * MILLIS,
            heartbeat_interval: 50 * MILLIS,
            max_batch: 64,
            max_inflight: 8,
            snapshot_threshold: 64,
            pre_vote: true,
            check_quorum: true,
            bugs: Bugs::NONE,
        }
    }

    /// Pre-vote, unless the `no-pre-vote` bug switches it off.
    pub fn uses_pre_vote(&self) -> bool {
        self.pre_vote && !self.bugs.has(Bug::NoPreVote)
    }

    /// Check-quorum (and the refusal of votes while a leader is known),
    /// unless the `no-pre-vote` bug switches it off.
    pub fn uses_check_quorum(&self) -> bool {
        self.check_quorum && !self.bugs.has(Bug::NoPreVote)
    }

    /// Checks the configuration; the message names the field at fault.
    pub fn validate(&self) -> Result<(), String> {
        if self.members.is_empty() {
            return Err("raft: members must not be empty".into());
        }
        let mut sorted = self.members.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted.len() != self.members.len() {
            return Err("raft: members must be distinct".into());
        }
        if self.election_timeout_min == 0 || self.election_timeout_min > self.election_timeout_max {
            return Err(format!(
                "raft: election_timeout_min ({}) must be positive and at most election_timeout_max ({})",
                self.election_timeout_min, self.election_timeout_max
            ));
        }
        if self.heartbeat_interval == 0 || self.heartbeat_interval >= self.election_timeout_min {
            return Err(format!(
                "raft: heartbeat_interval ({}) must be positive and below election_timeout_min ({})",
                self.heartbeat_interval, self.election_timeout_min
            ));
        }
        if self.max_batch == 0 {
            return Err("raft: max_batch must be at least 1".into());
        }
        if self.max_inflight == 0 {
            return Err("raft: max_inflight must be at least 1".into());
        }
        if self.snapshot_threshold == 0 {
            return Err("raft: snapshot_threshold must be at least 1".into());
        }
        Ok(())
    }

    /// Votes or acknowledgments needed, counting the node itself.
    pub fn quorum(&self) -> usize {
        let n = self.members.len();
        if self.bugs.has(Bug::BadMajority) {
            // The bug, written the way it is written in the wild.
            #[allow(clippy::manual_div_ceil)]
            let wrong = (n + 1) / 2 + 1;
            wrong
        } else {
            n / 2 + 1
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Follower,
    /// Asking for pre-votes; its term is unchanged.
    PreCandidate,
    Candidate,
    Leader,
}

/// An AppendEntries that arrived ahead of a gap in the follower's log (it
/// overtook the batch before it), held until the gap fills.
#[derive(Debug, Clone)]
struct EarlyAppend<S: StateMachine> {
    from: NodeId,
    term: u64,
    prev_term: u64,
    entries: Vec<Entry<S>>,
    leader_commit: u64,
}

const ELECTION: u64 = 1;
const HEARTBEAT: u64 = 2;
const CHECK_QUORUM: u64 = 3;

/// What the pending election timer's firing decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ElectionWait {
    /// It fires the minimum timeout after it was armed: the timeout is not
    /// drawn before that much silence.
    Floor,
    /// It fires when the timeout drawn for this silence ends.
    Drawn,
}

/// How early a timer may fire and still count as due: converting a local
/// duration to true time and back rounds down by a few nanoseconds.
const ROUNDING_SLACK: Nanos = 1_000;

/// A replica of the state machine `S` (the key-value store unless said).
pub struct RaftNode<S: StateMachine = KvState> {
    cfg: RaftConfig,
    id: NodeId,
    // Persistent (mirrored on storage).
    term: u64,
    voted_for: Option<NodeId>,
    log: RaftLog<S>,
    // Volatile.
    role: Role,
    /// The leader of `term` as far as this node knows (itself when leading).
    /// While it is known, the node refuses (pre-)votes: the leader stickiness
    /// that keeps a rejoining node from deposing a healthy leader.
    leader: Option<NodeId>,
    commit_index: u64,
    last_applied: u64,
    sm: S,
    /// Boxed, as in the message that carries it: a state inline would make
    /// every Raft message as large as the largest state machine's.
    snapshot: Option<Box<Snapshot<S>>>,
    votes: BTreeSet<NodeId>,
    /// While leading: what each follower holds and what is in flight to it.
    followers: Followers,
    /// Reused by `advance_commit`, which runs on every acknowledgment.
    held_scratch: Vec<u64>,
    /// While following: batches that came before the batch preceding them,
    /// by their `prev_log_index`, at most `max_inflight` (one window).
    /// Handling one later is what a slower network would have done, so
    /// holding them changes nothing Raft relies on; it spares the leader a
    /// rejection and a restart of its pipeline for every overtaken batch.
    early: BTreeMap<u64, EarlyAppend<S>>,
    /// While leading: (session, seq) → the index of the log entry carrying
    /// that client request, for requests not yet applied: a retry finds its
    /// request in the uncommitted tail without walking it. Only a leader
    /// asks, so only a leader keeps it (built from its tail when elected):
    /// followers spare a map insert and remove per entry. An entry removed
    /// from the log may leave its key behind; lookups check the log. A
    /// hash table: a tree keyed by random sessions cost a path of
    /// comparisons per request that grew with the number of clients.
    logged: Lookup<(u64, u64), u64>,
    /// Peers heard from since the last check-quorum tick.
    heard: BTreeSet<NodeId>,
    /// The election timer pending in the kernel, if any, and what its
    /// firing will decide (see `reset_election_timer`).
    election_timer: Option<(TimerId, ElectionWait)>,
    /// When the leader (or a vote granted, or a new round) last restarted
    /// the election timeout, on the monotonic clock.
    last_heard: Nanos,
    heartbeat_timer: Option<TimerId>,
    quorum_timer: Option<TimerId>,
    outbox: Vec<(NodeId, Rpc<S>)>,
    /// Set if durable state could not be read: the node then stays silent.
    broken: Option<String>,
    // Verification ghosts, read by the invariant checker only.
    boot: u64,
    applied: AppliedTrace,
}

impl<S: StateMachine> RaftNode<S> {
    pub fn new(cfg: RaftConfig) -> Self {
        Self {
            cfg,
            id: 0,
            term: 0,
            voted_for: None,
            log: RaftLog::new(),
            role: Role::Follower,
            leader: None,
            commit_index: 0,
            last_applied: 0,
            sm: S::default(),
            snapshot: None,
            votes: BTreeSet::new(),
            followers: Followers::default(),
            held_scratch: Vec::new(),
            early: BTreeMap::new(),
            logged: Lookup::default(),
            heard: BTreeSet::new(),
            election_timer: None,
            last_heard: 0,
            heartbeat_timer: None,
            quorum_timer: None,
            outbox: Vec::new(),
            broken: None,
            boot: 0,
            applied: AppliedTrace::default(),
        }
    }

    // ---- observation (harness and checkers) ----

    pub fn id(&self) -> NodeId {
        self.id
    }
    pub fn role(&self) -> Role {
        self.role
    }
    pub fn term(&self) -> u64 {
        self.term
    }
    pub fn voted_for(&self) -> Option<NodeId> {
        self.voted_for
    }
    pub fn leader_hint(&self) -> Option<NodeId> {
        self.leader
    }
    pub fn commit_index(&self) -> u64 {
        self.commit_index
    }
    pub fn last_applied(&self) -> u64 {
        self.last_applied
    }
    pub fn log(&self) -> &RaftLog<S> {
        &self.log
    }
    /// The state machine as this replica has applied it so far.
    pub fn state_machine(&self) -> &S {
        &self.sm
    }
    pub fn config(&self) -> &RaftConfig {
        &self.cfg
    }
    /// Why the node refused to start, if it did.
    pub fn broken(&self) -> Option<&str> {
        self.broken.as_deref()
    }
    /// A random number drawn at every start: tells incarnations apart.
    pub fn boot(&self) -> u64 {
        self.boot
    }
    /// What this incarnation applied, in order, as far as the safety
    /// checker has not read and forgotten it (see `applied.rs`).
    pub fn applied_trace(&self) -> &AppliedTrace {
        &self.applied
    }

    // ---- helpers ----

    fn peers(&self) -> impl Iterator<Item = NodeId> + '_ {
        let me = self.id;
        self.cfg.members.iter().copied().filter(move |&p| p != me)
    }

    fn send(&mut self, to: NodeId, msg: Rpc<S>) {
        self.outbox.push((to, msg));
    }

    /// Ends every callback: makes what was written durable, then speaks.
    fn flush(&mut self, ctx: &mut Ctx<'_, RaftMsg<S>>) {
        if ctx.storage().unsynced() > 0 {
            ctx.storage().sync();
        }
        // Drained in place: the outbox keeps its capacity from callback to
        // callback instead of being allocated anew for every message handled.
        let mut outbox = std::mem::take(&mut self.outbox);
        for (to, msg) in outbox.drain(..) {
            ctx.send(to, RaftMsg::seal(msg));
        }
        self.outbox = outbox;
    }

    fn save_hard(&mut self, ctx: &mut Ctx<'_, RaftMsg<S>>) {
        let voted_for = if self.cfg.bugs.has(Bug::VolatileVote) {
            None
        } else {
            self.voted_for
        };
        persist::save_hard(
            ctx.storage(),
            HardState {
                term: self.term,
                voted_for,
            },
        );
    }

    fn append(&mut self, ctx: &mut Ctx<'_, RaftMsg<S>>, entry: Entry<S>) -> u64 {
        persist::save_entry(ctx.storage(), self.log.last_index() + 1, &entry);
        self.append_in_memory(entry)
    }

    /// Appends to the log in memory only (it is on storage already, or the
    /// caller writes it), noting a client request's index while leading.
    fn append_in_memory(&mut self, entry: Entry<S>) -> u64 {
        let request = request_of(&entry).filter(|_| self.role == Role::Leader);
        let index = self.log.append(entry);
        if let Some(key) = request {
            self.logged.insert(key, index);
        }
        index
    }

    /// The `logged` map of a new leader: the client requests of its
    /// unapplied tail (once per election, not once per entry).
    fn index_unapplied_requests(&mut self) {
        self.logged = self
            .log
            .iter_from(self.last_applied + 1)
            .filter_map(|(index, e)| request_of(e).map(|key| (key, index)))
            .collect();
    }

    fn truncate_from(&mut self, ctx: &mut Ctx<'_, RaftMsg<S>>, from: u64) {
        tracing::info!(from, last = self.log.last_index(), "log truncated");
        persist::remove_entries_from(ctx.storage(), from);
        // Only a leader keeps `logged`, and a correct leader never truncates
        // its own log; a buggy variant might, and must not leave stale keys.
        for (index, entry) in self.log.iter_from(from) {
            if let Some(key) = request_of(entry) {
                if self.logged.get(&key) == Some(&index) {
                    self.logged.remove(&key);
                }
            }
        }
        self.log.truncate_from(from);
    }

    /// Is client request (`session`, `seq`) in the log, not yet applied?
    fn is_logged(&self, session: u64, seq: u64) -> bool {
        self.logged.get(&(session, seq)).is_some_and(|&index| {
            index > self.last_applied
                && self
                    .log
                    .get(index)
                    .is_some_and(|e| request_of(e) == Some((session, seq)))
        })
    }

    /// Word from the leader (or a vote granted): the election timeout
    /// starts again from now. The paper's timer is cancelled and set anew,
    /// with a fresh random timeout, every time; a follower hears its leader
    /// on every AppendEntries, and the cancelled timers and draws cost it
    /// more than everything else it does for an empty heartbeat. The same
    /// expiry — `last_heard` plus a uniform draw, independent of the past —
    /// comes from one pending timer: it fires at `last_heard` plus the
    /// minimum timeout (re-armed for the rest if word came meanwhile), and
    /// only then, after that much silence, is the timeout drawn and the
    /// rest waited ([`Self::on_election_timer`]). So only silence costs a
    /// timer, and a node hearing its leader now and then times out as
    /// often as it would have.
    fn reset_election_timer(&mut self, ctx: &mut Ctx<'_, RaftMsg<S>>) {
        self.last_heard = ctx.monotonic_now();
        match self.election_timer {
            Some((_, ElectionWait::Floor)) => {} // fires no later than the new floor
            Some((t, ElectionWait::Drawn)) => {
                ctx.cancel_timer(t);
                self.arm_election_timer(ctx, self.cfg.election_timeout_min, ElectionWait::Floor);
            }
            None => {
                self.arm_election_timer(ctx, self.cfg.election_timeout_min, ElectionWait::Floor)
            }
        }
    }

    fn arm_election_timer(
        &mut self,
        ctx: &mut Ctx<'_, RaftMsg<S>>,
        after: Nanos,
        wait: ElectionWait,
    ) {
        self.election_timer = Some((ctx.set_timer(after, ELECTION), wait));
    }

    fn cancel_election_timer(&mut self, ctx: &mut Ctx<'_, RaftMsg<S>>) {
        if let Some((t, _)) = self.election_timer.take() {
            ctx.cancel_timer(t);
        }
    }

    /// A new round of election: the timeout starts again from now.
    fn new_election_round(&mut self, ctx: &mut Ctx<'_, RaftMsg<S>>) {
        self.cancel_election_timer(ctx);
        self.reset_election_timer(ctx);
    }

    /// The election timer fired. At the floor: if word came since it was
    /// armed, wait for the new floor; else draw this silence's timeout and
    /// wait for the rest of it (none if it drew the minimum). A drawn wait
    /// that ends (word would have cancelled it) is the timeout. Both are
    /// on the monotonic clock, which timers measure too (drift only);
    /// "due" allows for a duration's rounding between clocks.
    fn on_election_timer(&mut self, ctx: &mut Ctx<'_, RaftMsg<S>>) {
        let Some((_, wait)) = self.election_timer.take() else {
            return;
        };
        if wait == ElectionWait::Floor {
            let now = ctx.monotonic_now();
            let (lo, hi) = (self.cfg.election_timeout_min, self.cfg.election_timeout_max);
            let floor = self.last_heard + lo;
            if now + ROUNDING_SLACK < floor {
                self.arm_election_timer(ctx, floor - now, ElectionWait::Floor);
                return;
            }
            let due = self.last_heard + sim_core::rng::between(ctx.rng(), lo, hi);
            if now + ROUNDING_SLACK < due {
                self.arm_election_timer(ctx, due - now, ElectionWait::Drawn);
                return;
            }
        }
        self.on_election_timeout(ctx);
    }

    fn stop_leader_timers(&mut self, ctx: &mut Ctx<'_, RaftMsg<S>>) {
        for t in [self.heartbeat_timer.take(), self.quorum_timer.take()]
            .into_iter()
            .flatten()
        {
            ctx.cancel_timer(t);
        }
    }

    /// The common start of a leader's handling of a follower's answer: a
    /// higher term ends this leadership; an answer from another term, or to a
    /// node that no longer leads, is stale. Otherwise the follower is noted as
    /// heard (check-quorum) and the answer is to be handled: `true`.
    fn leader_hears(&mut self, ctx: &mut Ctx<'_, RaftMsg<S>>, from: NodeId, term: u64) -> bool {
        if term > self.term {
            self.become_follower(ctx, term, None);
            return false;
        }
        if self.role != Role::Leader || term != self.term {
            return false;
        }
        self.heard.insert(from);
        true
    }

    /// Adopts `term` (if newer) and follows `leader` (if known).
    fn become_follower(
        &mut self,
        ctx: &mut Ctx<'_, RaftMsg<S>>,
        term: u64,
        leader: Option<NodeId>,
    ) {
        if term == self.term
            && self.role == Role::Follower
            && self.leader == leader
            && self.election_timer.is_some()
        {
            // Already so (every AppendEntries of a steady leader): a follower
            // has no leader timers and no votes, nothing below would change.
            return;
        }
        if term > self.term {
            tracing::debug!(term, old_term = self.term, ?leader, "newer term");
            self.term = term;
            self.voted_for = None;
            self.save_hard(ctx);
            self.early.clear();
        }
        if self.role == Role::Leader {
            tracing::info!(term = self.term, "stepped down");
            ctx.count("raft.step_downs", 1);
            self.logged.clear();
        }
        self.stop_leader_timers(ctx);
        self.role = Role::Follower;
        self.leader = leader;
        self.votes.clear();
        // Learning of a higher term does not restart the election timeout:
        // only a vote granted or word from the leader does (§5.2). A stale
        // candidate whose requests reset everyone's timer would time out
        // first again and again, and keep the cluster from electing anyone.
        if self.election_timer.is_none() {
            self.reset_election_timer(ctx);
        }
    }

    // ---- elections ----

    fn on_election_timeout(&mut self, ctx: &mut Ctx<'_, RaftMsg<S>>) {
        self.election_timer = None;
        if self.role == Role::Leader {
            return;
        }
        // No word from a leader for a whole timeout: it is gone as far as
        // this node can tell.
        self.leader = None;
        if self.cfg.uses_pre_vote() {
            tracing::debug!(term = self.term + 1, "election timeout: pre-vote");
            self.role = Role::PreCandidate;
            self.votes = BTreeSet::from([self.id]);
            let msg = Rpc::PreVote {
                term: self.term + 1,
                last_log_index: self.log.last_index(),
                last_log_term: self.log.last_term(),
            };
            self.broadcast(msg);
            self.new_election_round(ctx);
            ctx.count("raft.pre_votes", 1);
            if self.votes.len() >= self.cfg.quorum() {
                self.start_election(ctx);
            }
        } else {
            self.start_election(ctx);
        }
    }

    fn broadcast(&mut self, msg: Rpc<S>) {
        let peers: Vec<NodeId> = self.peers().collect();
        for p in peers {
            self.send(p, msg.clone());
        }
    }

    fn start_election(&mut self, ctx: &mut Ctx<'_, RaftMsg<S>>) {
        self.term += 1;
        self.early.clear();
        self.voted_for = Some(self.id);
        self.save_hard(ctx);
        self.role = Role::Candidate;
        self.leader = None;
        self.votes = BTreeSet::from([self.id]);
        tracing::debug!(term = self.term, "election started");
        let msg = Rpc::RequestVote {
            term: self.term,
            last_log_index: self.log.last_index(),
            last_log_term: self.log.last_term(),
        };
        self.broadcast(msg);
        self.new_election_round(ctx);
        // Unanswered vote requests are retried at the heartbeat pace (the
        // paper's servers retry RPCs that get no timely response).
        self.stop_leader_timers(ctx);
        self.heartbeat_timer = Some(ctx.set_timer(self.cfg.heartbeat_interval, HEARTBEAT));
        ctx.count("raft.elections", 1);
        if self.votes.len() >= self.cfg.quorum() {
            self.become_leader(ctx);
        }
    }

    fn log_ok(&self, last_log_index: u64, last_log_term: u64) -> bool {
        self.cfg.bugs.has(Bug::VoteWithoutLogCheck)
            || self.log.is_up_to_date(last_log_index, last_log_term)
    }

    fn on_pre_vote(&mut self, from: NodeId, term: u64, lli: u64, llt: u64) {
        // Granted only to a term above ours, by a node that knows no leader,
        // for a log at least as up-to-date. Nothing here changes our state.
        let granted = term > self.term && self.leader.is_none() && self.log_ok(lli, llt);
        let reply_term = if granted { term } else { self.term };
        self.send(
            from,
            Rpc::PreVoteReply {
                term: reply_term,
                granted,
            },
        );
    }

    fn on_pre_vote_reply(
        &mut self,
        ctx: &mut Ctx<'_, RaftMsg<S>>,
        from: NodeId,
        term: u64,
        granted: bool,
    ) {
        if !granted {
            if term > self.term {
                self.become_follower(ctx, term, None);
            }
            return;
        }
        if self.role == Role::PreCandidate && term == self.term + 1 {
            self.votes.insert(from);
            if self.votes.len() >= self.cfg.quorum() {
                self.start_election(ctx);
            }
        }
    }

    fn on_request_vote(
        &mut self,
        ctx: &mut Ctx<'_, RaftMsg<S>>,
        from: NodeId,
        term: u64,
        lli: u64,
        llt: u64,
    ) {
        if term > self.term && self.cfg.uses_check_quorum() && self.leader.is_some() {
            // A leader is alive as far as we know: do not let a candidate
            // that lost touch with it depose it (§6.2, with check-quorum the
            // leader itself steps down when it loses its majority).
            let t = self.term;
            self.send(
                from,
                Rpc::RequestVoteReply {
                    term: t,
                    granted: false,
                },
            );
            return;
        }
        if term > self.term {
            self.become_follower(ctx, term, None);
        }
        let granted =
            term == self.term && self.voted_for.is_none_or(|v| v == from) && self.log_ok(lli, llt);
        if granted {
            tracing::debug!(term, candidate = from, "vote granted");
            self.voted_for = Some(from);
            self.save_hard(ctx);
            self.new_election_round(ctx);
        }
        let t = self.term;
        self.send(from, Rpc::RequestVoteReply { term: t, granted });
    }

    fn on_request_vote_reply(
        &mut self,
        ctx: &mut Ctx<'_, RaftMsg<S>>,
        from: NodeId,
        term: u64,
        granted: bool,
    ) {
        if term > self.term {
            self.become_follower(ctx, term, None);
            return;
        }
        if self.role == Role::Candidate && term == self.term && granted {
            self.votes.insert(from);
            if self.votes.len() >= self.cfg.quorum() {
                self.become_leader(ctx);
            }
        }
    }

    fn become_leader(&mut self, ctx: &mut Ctx<'_, RaftMsg<S>>) {
        self.stop_leader_timers(ctx);
        self.role = Role::Leader;
        self.leader = Some(self.id);
        self.cancel_election_timer(ctx);
        self.index_unapplied_requests();
        let last = self.log.last_index();
        self.followers = Followers::new(self.peers(), last);
        self.heard.clear();
        tracing::info!(
            term = self.term,
            last_index = self.log.last_index(),
            "became leader"
        );
        ctx.count("raft.leaders_elected", 1);
        if !self.cfg.bugs.has(Bug::Figure8) {
            let term = self.term;
            self.append(ctx, Entry::new(term, Command::Noop));
        }
        self.replicate_all(false);
        self.heartbeat_timer = Some(ctx.set_timer(self.cfg.heartbeat_interval, HEARTBEAT));
        if self.cfg.uses_check_quorum() {
            self.quorum_timer = Some(ctx.set_timer(self.cfg.election_timeout_max, CHECK_QUORUM));
        }
        self.advance_commit(ctx); // a one-node cluster commits alone
    }

    // ---- replication (leader side) ----

    /// Sends every follower what is new for it (see [`Self::replicate`]).
    fn replicate_all(&mut self, heartbeat: bool) {
        // By position, not through a collected list of peers: this runs on
        // every client request.
        for i in 0..self.cfg.members.len() {
            let peer = self.cfg.members[i];
            if peer != self.id {
                self.replicate(peer, heartbeat);
            }
        }
    }

    /// Sends `peer` what it lacks from its next index on, as far as its
    /// window allows: batches of up to `max_batch` entries, or the snapshot
    /// if those were compacted away. On a `heartbeat` a follower that got
    /// nothing new gets an AppendEntries without entries, after the index
    /// known to match (or, while probing with nothing in flight, after the
    /// probed one), so that a heartbeat is never rejected for a gap that
    /// batches still in flight will fill.
    fn replicate(&mut self, peer: NodeId, heartbeat: bool) {
        let window = self.cfg.max_inflight;
        let mut sent = false;
        loop {
            let Some(progress) = self.followers.get(peer) else {
                return;
            };
            if !progress.has_room(window) {
                break;
            }
            let next = progress.next.max(1);
            if next <= self.log.snapshot_index() {
                if let Some(snapshot) = self.snapshot.clone() {
                    let term = self.term;
                    self.progress(peer).sent_snapshot(snapshot.last_index);
                    self.send(peer, Rpc::InstallSnapshot { term, snapshot });
                    sent = true;
                }
                break;
            }
            if next > self.log.last_index() {
                break;
            }
            let entries = self.log.entries_from(next, self.cfg.max_batch);
            let prev = next - 1;
            let last = prev + entries.len() as u64;
            self.send_append(peer, prev, entries);
            self.progress(peer).sent(prev, last);
            sent = true;
        }
        if sent || !heartbeat {
            return;
        }
        let progress = self.progress(peer);
        let prev = if progress.in_flight() == 0 {
            progress.next - 1
        } else {
            progress.matched
        };
        progress.sent_empty(prev);
        self.send_append(peer, prev, Vec::new());
    }

    fn progress(&mut self, peer: NodeId) -> &mut FollowerProgress {
        self.followers
            .get_mut(peer)
            .expect("replication state exists for every follower while leading")
    }

    /// One AppendEntries after `prev`, unless `prev`'s term is compacted
    /// away (then the snapshot is on its way or will be on the next probe).
    fn send_append(&mut self, peer: NodeId, prev: u64, entries: Vec<Entry<S>>) {
        let Some(prev_term) = self.log.term_at(prev) else {
            return;
        };
        let msg = Rpc::AppendEntries {
            term: self.term,
            prev_log_index: prev,
            prev_log_term: prev_term,
            entries,
            leader_commit: self.commit_index,
        };
        self.send(peer, msg);
    }

    #[allow(clippy::too_many_arguments)]
    fn on_append_reply(
        &mut self,
        ctx: &mut Ctx<'_, RaftMsg<S>>,
        from: NodeId,
        term: u64,
        success: bool,
        prev: u64,
        match_index: u64,
        conflict_term: Option<u64>,
        conflict_index: u64,
    ) {
        if !self.leader_hears(ctx, from, term) {
            return;
        }
        let last = self.log.last_index();
        if success {
            if self.progress(from).acknowledged(match_index.min(last)) {
                self.advance_commit(ctx);
            }
            self.replicate(from, false);
        } else {
            // Skip the follower's whole conflicting term: if we hold entries
            // of that term, resume after our last one; otherwise from where
            // the follower's run of that term begins.
            let hint = match conflict_term {
                Some(ct) => self
                    .log
                    .last_index_of_term(ct)
                    .map_or(conflict_index, |i| i + 1),
                None => conflict_index,
            };
            let gap = conflict_term.is_none();
            if self.progress(from).rejected(prev, hint.min(last + 1), gap) {
                ctx.count("raft.append_rejections", 1);
                self.replicate(from, false);
            }
        }
    }

    /// Commits the highest index a quorum holds, if it is of the current
    /// term (§5.4.2). The leader counts itself: it synced its own log before
    /// sending any of it.
    fn advance_commit(&mut self, ctx: &mut Ctx<'_, RaftMsg<S>>) {
        let mut held = std::mem::take(&mut self.held_scratch);
        held.clear();
        held.extend(self.followers.iter().map(|f| f.matched));
        let needed = if self.cfg.bugs.has(Bug::FollowerAckQuorum) {
            // The bug: follower acknowledgments only, against (n + 1) / 2.
            #[allow(clippy::manual_div_ceil)]
            let needed = (self.cfg.members.len() + 1) / 2;
            needed
        } else {
            held.push(self.log.last_index());
            self.cfg.quorum()
        };
        // The needed-th highest index is held by `needed` logs.
        let n = (1..=held.len()).contains(&needed).then(|| {
            let (_, &mut nth, _) = held.select_nth_unstable_by(needed - 1, |a, b| b.cmp(a));
            nth
        });
        self.held_scratch = held;
        let Some(n) = n.map(|n| n.min(self.log.last_index())) else {
            return;
        };
        if n <= self.commit_index {
            return;
        }
        let term = self.log.term_at(n).unwrap_or(0);
        if term < self.term && !self.cfg.bugs.has(Bug::Figure8) {
            // Earlier entries are all of earlier terms: only an entry of
            // the current term may be committed by counting (§5.4.2).
            return;
        }
        tracing::debug!(commit = n, term = self.term, "commit advanced");
        self.commit_index = n;
        self.apply(ctx);
    }

    fn on_heartbeat(&mut self, ctx: &mut Ctx<'_, RaftMsg<S>>) {
        self.heartbeat_timer = None;
        match self.role {
            Role::Leader => {
                // Batches unanswered for a whole interval are lost: probe again.
                let mut lost = 0;
                for progress in self.followers.iter_mut() {
                    lost += i64::from(progress.tick());
                }
                if lost > 0 {
                    ctx.count("raft.append_timeouts", lost);
                }
                self.replicate_all(true);
            }
            Role::Candidate => {
                let msg = Rpc::RequestVote {
                    term: self.term,
                    last_log_index: self.log.last_index(),
                    last_log_term: self.log.last_term(),
                };
                let silent: Vec<NodeId> =
                    self.peers().filter(|p| !self.votes.contains(p)).collect();
                for p in silent {
                    self.send(p, msg.clone());
                }
            }
            _ => return,
        }
        self.heartbeat_timer = Some(ctx.set_timer(self.cfg.heartbeat_interval, HEARTBEAT));
    }

    fn on_check_quorum(&mut self, ctx: &mut Ctx<'_, RaftMsg<S>>) {
        self.quorum_timer = None;
        if self.role != Role::Leader {
            return;
        }
        if self.heard.len() + 1 < self.cfg.quorum() {
            // Cut off from a majority for a whole election timeout: another
            // leader may exist; stop serving (§6.2).
            tracing::info!(heard = self.heard.len(), "no majority heard: stepping down");
            ctx.count("raft.check_quorum_step_downs", 1);
            let term = self.term;
            self.become_follower(ctx, term, None);
            return;
        }
        self.heard.clear();
        self.quorum_timer = Some(ctx.set_timer(self.cfg.election_timeout_max, CHECK_QUORUM));
    }

    // ---- replication (follower side) ----

    /// An AppendEntries from the leader, then every held batch it lets
    /// follow (lowest `prev_log_index` first).
    #[allow(clippy::too_many_arguments)]
    fn on_append(
        &mut self,
        ctx: &mut Ctx<'_, RaftMsg<S>>,
        from: NodeId,
        term: u64,
        asked_prev: u64,
        prev_term: u64,
        entries: Vec<Entry<S>>,
        leader_commit: u64,
    ) {
        self.follow_append(
            ctx,
            from,
            term,
            asked_prev,
            prev_term,
            entries,
            leader_commit,
        );
        while let Some(held) = self.early.first_entry() {
            if *held.key() > self.log.last_index() {
                break;
            }
            let (prev, e) = held.remove_entry();
            self.follow_append(
                ctx,
                e.from,
                e.term,
                prev,
                e.prev_term,
                e.entries,
                e.leader_commit,
            );
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn follow_append(
        &mut self,
        ctx: &mut Ctx<'_, RaftMsg<S>>,
        from: NodeId,
        term: u64,
        asked_prev: u64,
        mut prev_term: u64,
        mut entries: Vec<Entry<S>>,
        leader_commit: u64,
    ) {
        let mut prev = asked_prev;
        if term < self.term {
            let t = self.term;
            self.send(from, fail_reply(t, asked_prev, 0, None));
            return;
        }
        self.become_follower(ctx, term, Some(from));
        self.reset_election_timer(ctx);
        let snap = self.log.snapshot_index();
        if prev < snap {
            // Entries up to our snapshot are committed, hence in the
            // leader's log: skip them.
            let skip = (snap - prev) as usize;
            if skip >= entries.len() {
                let t = self.term;
                let matched = prev + entries.len() as u64;
                self.send(from, ok_reply(t, asked_prev, matched));
                return;
            }
            entries.drain(..skip);
            prev = snap;
            prev_term = self.log.snapshot_term();
        }
        if prev > self.log.last_index() {
            let room = self.early.len() < self.cfg.max_inflight;
            if !entries.is_empty() && room && !self.early.contains_key(&asked_prev) {
                // Overtaken by this batch, the one before it is likely still
                // on its way: hold this one instead of rejecting it.
                self.early.insert(
                    asked_prev,
                    EarlyAppend {
                        from,
                        term,
                        prev_term,
                        entries,
                        leader_commit,
                    },
                );
                ctx.count("raft.appends_held", 1);
                return;
            }
            let (t, ci) = (self.term, self.log.last_index() + 1);
            self.send(from, fail_reply(t, asked_prev, ci, None));
            return;
        }
        let here = self.log.term_at(prev).unwrap_or(0);
        if here != prev_term {
            let ci = self.log.first_index_of_term_run(prev, here);
            let t = self.term;
            self.send(from, fail_reply(t, asked_prev, ci, Some(here)));
            return;
        }
        let count = entries.len() as u64;
        for (k, entry) in entries.into_iter().enumerate() {
            let index = prev + 1 + k as u64;
            match self.log.term_at(index) {
                // Already there (a duplicate or an overtaken message): an
                // entry that matches is never removed.
                Some(t) if t == entry.term() => continue,
                Some(_) => {
                    self.truncate_from(ctx, index);
                    self.append(ctx, entry);
                }
                None => {
                    self.append(ctx, entry);
                }
            }
        }
        let matched = prev + count;
        if leader_commit > self.commit_index {
            self.commit_index = self.commit_index.max(leader_commit.min(matched));
            tracing::debug!(commit = self.commit_index, leader = from, "commit advanced");
            self.apply(ctx);
        }
        let t = self.term;
        self.send(from, ok_reply(t, asked_prev, matched));
    }

    fn on_install_snapshot(
        &mut self,
        ctx: &mut Ctx<'_, RaftMsg<S>>,
        from: NodeId,
        term: u64,
        snapshot: Box<Snapshot<S>>,
    ) {
        if term < self.term {
            let t = self.term;
            self.send(
                from,
                Rpc::InstallSnapshotReply {
                    term: t,
                    last_index: 0,
                },
            );
            return;
        }
        self.become_follower(ctx, term, Some(from));
        self.reset_election_timer(ctx);
        let last_index = snapshot.last_index;
        if last_index > self.commit_index {
            self.install(ctx, snapshot);
            tracing::debug!(last_index, leader = from, "snapshot installed");
            ctx.count("raft.snapshots_installed", 1);
        }
        let t = self.term;
        self.send(
            from,
            Rpc::InstallSnapshotReply {
                term: t,
                last_index,
            },
        );
    }

    fn install(&mut self, ctx: &mut Ctx<'_, RaftMsg<S>>, snapshot: Box<Snapshot<S>>) {
        let old_snap = self.log.snapshot_index();
        let keeps_suffix = self.log.term_at(snapshot.last_index) == Some(snapshot.last_term)
            && snapshot.last_index > old_snap;
        if !keeps_suffix {
            // Remove the entries that do not survive first, so no torn
            // write leaves them after the new snapshot point.
            persist::remove_entries_from(ctx.storage(), snapshot.last_index + 1);
        }
        persist::save_snapshot(ctx.storage(), &snapshot);
        self.log
            .reset_to(snapshot.last_index, snapshot.last_term, snapshot.chain);
        self.logged.clear(); // a follower installs; a leader indexes its own tail
        self.sm = snapshot.state.clone();
        self.commit_index = self.commit_index.max(snapshot.last_index);
        self.last_applied = snapshot.last_index;
        self.applied.push(Applied {
            index: snapshot.last_index,
            term: snapshot.last_term,
            digest: 0,
            chain: snapshot.chain,
            snapshot: true,
        });
        self.snapshot = Some(snapshot);
    }

    fn on_snapshot_reply(
        &mut self,
        ctx: &mut Ctx<'_, RaftMsg<S>>,
        from: NodeId,
        term: u64,
        last_index: u64,
    ) {
        if !self.leader_hears(ctx, from, term) {
            return;
        }
        let last = self.log.last_index();
        if self.progress(from).acknowledged(last_index.min(last)) {
            self.advance_commit(ctx);
        }
        self.replicate(from, false);
    }

    // ---- the state machine ----

    fn apply(&mut self, ctx: &mut Ctx<'_, RaftMsg<S>>) {
        let dedup = !self.cfg.bugs.has(Bug::NoDedup);
        let leading = self.role == Role::Leader;
        let mut commands = 0;
        while self.last_applied < self.commit_index {
            let index = self.last_applied + 1;
            // Borrowed from the log, not cloned: the fields used below are
            // disjoint from it.
            let Some((entry, digest, chain)) = self.log.entry_with_hashes(index) else {
                break; // unreachable: committed entries above the snapshot are in the log
            };
            self.last_applied = index;
            self.applied.push(Applied {
                index,
                term: entry.term(),
                digest,
                chain,
                snapshot: false,
            });
            if let Command::Client {
                client,
                session,
                seq,
                ref op,
            } = *entry.command()
            {
                if leading && self.logged.get(&(session, seq)) == Some(&index) {
                    self.logged.remove(&(session, seq));
                }
                let outcome = self.sm.apply(client, session, seq, op, dedup);
                commands += 1;
                if leading && S::answers(&outcome) {
                    self.outbox
                        .push((client, Rpc::ClientReply { seq, outcome }));
                }
                // Every replica applies, only the leader speaks for the service.
                for (to, note) in self.sm.take_notices() {
                    if leading {
                        self.outbox.push((to, Rpc::Notify { note }));
                    }
                }
            }
        }
        if commands > 0 {
            // Counted once per batch: a counter is a map lookup by name.
            ctx.count("raft.applied_commands", commands);
        }
        self.maybe_snapshot(ctx);
    }

    fn maybe_snapshot(&mut self, ctx: &mut Ctx<'_, RaftMsg<S>>) {
        let base = self.log.snapshot_index();
        // A snapshot costs as much as the state is large: taken no more
        // often than once per that many entries, its cost per entry stays
        // bounded however many client sessions the state keeps.
        let every = self.cfg.snapshot_threshold.max(self.sm.snapshot_weight());
        if self.last_applied < base + every {
            return;
        }
        let index = self.last_applied;
        let snapshot = Box::new(Snapshot {
            last_index: index,
            last_term: self.log.term_at(index).unwrap_or(0),
            chain: self.log.chain_at(index).unwrap_or(0),
            state: self.sm.clone(),
        });
        persist::save_snapshot(ctx.storage(), &snapshot);
        self.log.compact_to(index);
        self.snapshot = Some(snapshot);
        tracing::debug!(index, "snapshot taken");
        ctx.count("raft.snapshots_taken", 1);
    }

    // ---- clients ----

    fn on_client_request(
        &mut self,
        ctx: &mut Ctx<'_, RaftMsg<S>>,
        client: NodeId,
        session: u64,
        seq: u64,
        op: S::Op,
    ) {
        if self.role != Role::Leader {
            let leader = self.leader;
            self.send(client, Rpc::NotLeader { seq, leader });
            return;
        }
        if !self.cfg.bugs.has(Bug::NoDedup) {
            match self.sm.cached(session, seq) {
                Some(outcome) if !S::answers(&outcome) => return,
                Some(outcome) => {
                    self.send(client, Rpc::ClientReply { seq, outcome });
                    return;
                }
                None => {}
            }
            if self.is_logged(session, seq) {
                return; // already in the log: the answer comes when it applies
            }
        }
        let term = self.term;
        let request = Command::Client {
            client,
            session,
            seq,
            op,
        };
        self.append(ctx, Entry::new(term, request));
        self.replicate_all(false);
        self.advance_commit(ctx);
    }
}

/// The (session, seq) of a client request's entry.
fn request_of<S: StateMachine>(entry: &Entry<S>) -> Option<(u64, u64)> {
    match *entry.command() {
        Command::Client { session, seq, .. } => Some((session, seq)),
        Command::Noop => None,
    }
}

fn ok_reply<S: StateMachine>(term: u64, prev_log_index: u64, match_index: u64) -> Rpc<S> {
    Rpc::AppendEntriesReply {
        term,
        success: true,
        prev_log_index,
        match_index,
        conflict_term: None,
        conflict_index: 0,
    }
}

fn fail_reply<S: StateMachine>(
    term: u64,
    prev_log_index: u64,
    conflict_index: u64,
    conflict_term: Option<u64>,
) -> Rpc<S> {
    Rpc::AppendEntriesReply {
        term,
        success: false,
        prev_log_index,
        match_index: 0,
        conflict_term,
        conflict_index,
    }
}

impl<S: StateMachine> Process for RaftNode<S> {
    type Msg = RaftMsg<S>;

    fn on_start(&mut self, ctx: &mut Ctx<'_, RaftMsg<S>>) {
        self.id = ctx.id();
        self.boot = ctx.rng().next_u64();
        let durable = match persist::load::<S>(ctx.storage()) {
            Ok(d) => d,
            Err(e) => {
                tracing::error!("raft node {} cannot read its storage: {e}", self.id);
                ctx.count("raft.storage_errors", 1);
                self.broken = Some(e);
                return;
            }
        };
        self.term = durable.hard.term;
        self.voted_for = durable.hard.voted_for;
        if let Some(snap) = durable.snapshot {
            self.log
                .reset_to(snap.last_index, snap.last_term, snap.chain);
            self.sm = snap.state.clone();
            self.commit_index = snap.last_index;
            self.last_applied = snap.last_index;
            self.snapshot = Some(Box::new(snap));
        }
        for entry in durable.entries {
            self.append_in_memory(entry);
        }
        self.role = Role::Follower;
        tracing::debug!(
            term = self.term,
            last_index = self.log.last_index(),
            "started from storage"
        );
        self.reset_election_timer(ctx);
        self.flush(ctx);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, RaftMsg<S>>, from: NodeId, msg: RaftMsg<S>) {
        if self.broken.is_some() {
            return;
        }
        let verify = !self.cfg.bugs.has(Bug::NoChecksum);
        let Some(msg) = msg.open(ctx, verify) else {
            return;
        };
        match msg {
            Rpc::PreVote {
                term,
                last_log_index,
                last_log_term,
            } => self.on_pre_vote(from, term, last_log_index, last_log_term),
            Rpc::PreVoteReply { term, granted } => self.on_pre_vote_reply(ctx, from, term, granted),
            Rpc::RequestVote {
                term,
                last_log_index,
                last_log_term,
            } => self.on_request_vote(ctx, from, term, last_log_index, last_log_term),
            Rpc::RequestVoteReply { term, granted } => {
                self.on_request_vote_reply(ctx, from, term, granted)
            }
            Rpc::AppendEntries {
                term,
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit,
            } => self.on_append(
                ctx,
                from,
                term,
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit,
            ),
            Rpc::AppendEntriesReply {
                term,
                success,
                prev_log_index,
                match_index,
                conflict_term,
                conflict_index,
            } => self.on_append_reply(
                ctx,
                from,
                term,
                success,
                prev_log_index,
                match_index,
                conflict_term,
                conflict_index,
            ),
            Rpc::InstallSnapshot { term, snapshot } => {
                self.on_install_snapshot(ctx, from, term, snapshot)
            }
            Rpc::InstallSnapshotReply { term, last_index } => {
                self.on_snapshot_reply(ctx, from, term, last_index)
            }
            Rpc::ClientRequest { session, seq, op } => {
                self.on_client_request(ctx, from, session, seq, op)
            }
            // Meant for clients; a replica ignores them.
            Rpc::ClientReply { .. } | Rpc::NotLeader { .. } | Rpc::Notify { .. } => {}
        }
        self.flush(ctx);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, RaftMsg<S>>, tag: u64) {
        if self.broken.is_some() {
            return;
        }
        match tag {
            ELECTION => self.on_election_timer(ctx),
            HEARTBEAT => self.on_heartbeat(ctx),
            CHECK_QUORUM => self.on_check_quorum(ctx),
            _ => {}
        }
        self.flush(ctx);
    }
}
