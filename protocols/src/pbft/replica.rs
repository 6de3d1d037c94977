//! A PBFT replica: normal case, execution, view change, checkpoints and
//! state transfer.
//!
//! Memory is bounded whatever the run's length (every bound in one place):
//! the log, prepared certificates and committed proposals hold only sequence
//! numbers inside the watermarks (h, h+L], L = 2K, h the stable checkpoint;
//! executed digests the last 2L; snapshots only checkpoints at or above h;
//! checkpoint votes at most [`CHECKPOINTS_PER_SENDER`] per replica; view
//! changes one per replica (its highest view); messages of views not entered
//! yet at most [`early_limit`](ReplicaConfig::early_limit), inside the
//! watermarks; pending requests and vouches one per client.
//!
//! Batching: the primary puts up to B (`batch`) pending requests into one
//! pre-prepare, executed in order, each answered on its own. As in the
//! paper, a batch closes when it is full or when the pipeline has room: at
//! most `pipeline` sequence numbers may be proposed and not yet executed,
//! and requests that arrive while it is full wait and go out together when
//! one executes (no timer). Checkpoints count sequence numbers (batches),
//! not requests.

use std::collections::{BTreeMap, BTreeSet};

use sim_core::integrity::{AUTH_REJECTED, CORRUPT_DETECTED};
use sim_core::{Ctx, Nanos, NodeId, Process, TimerId};

use crate::workload::ClientOp;

use super::msg::*;
use super::Bugs;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaConfig {
    pub replicas: Vec<NodeId>,
    /// A replica waiting this long for a request to execute asks for a new
    /// view; the wait doubles with each view change that does not complete.
    pub view_change_timeout: Nanos,
    /// K: a replica takes a checkpoint every K executed sequence numbers.
    pub checkpoint_interval: u64,
    /// B: most requests in one pre-prepare (1: no batching).
    pub batch: usize,
    /// Most sequence numbers proposed and not executed at the primary.
    pub pipeline: u64,
    /// How clients authenticate requests.
    pub auth: AuthMode,
    /// With MAC authenticators: backups that must have relayed a request
    /// (so authenticated it) before the primary proposes it (0: the primary
    /// trusts its own entry, which a faulty client can exploit).
    pub request_vouches: usize,
    pub bugs: Bugs,
}

mod checkpoint;
mod view_change;

pub use checkpoint::{CHECKPOINTS_PER_SENDER, STATE_TRANSFERS};

impl ReplicaConfig {
    fn n(&self) -> usize {
        self.replicas.len()
    }

    fn f(&self) -> usize {
        (self.n() - 1) / 3
    }

    fn primary(&self, view: u64) -> NodeId {
        self.replicas[(view % self.n() as u64) as usize]
    }

    /// Prepares needed besides the pre-prepare.
    fn prepare_quorum(&self) -> usize {
        if self.bugs.small_prepare_quorum {
            self.f()
        } else {
            2 * self.f()
        }
    }

    fn quorum(&self) -> usize {
        2 * self.f() + 1
    }

    /// L: how far past the stable checkpoint sequence numbers are accepted
    /// (two checkpoint intervals, as in the paper: the primary keeps
    /// proposing while the last checkpoint becomes stable).
    fn window(&self) -> u64 {
        2 * self.checkpoint_interval
    }

    /// Most messages kept for views not entered yet: every replica's three
    /// messages (pre-prepare, prepare, commit) for every slot of the window.
    /// More are dropped (re-sending brings them again).
    fn early_limit(&self) -> usize {
        3 * self.n() * self.window() as usize
    }
}

/// One (view, sequence number) slot of the log.
#[derive(Default)]
struct Slot {
    pre_prepare: Option<PbftMsg>,
    reqs: Vec<Request>,
    digest: u64,
    /// A pre-prepared request whose authenticator entry for this replica
    /// does not check: no prepare until f+1 backups prepared it (at least
    /// one honest replica authenticated it).
    unverified: bool,
    /// Prepares by sender (as received, for certificates).
    prepares: BTreeMap<NodeId, PbftMsg>,
    commits: BTreeMap<NodeId, u64>,
    prepared: bool,
    committed: bool,
}

const TIMER_VIEW_CHANGE: u64 = 1;
const TIMER_RESEND: u64 = 2;

/// Counters in the run's summary: messages re-sent, help given to a peer
/// that re-sent what this replica had already committed, view changes.
pub const RESENT: &str = "pbft.resent";
pub const HELPED: &str = "pbft.helped";
pub const VIEW_CHANGES: &str = "pbft.view_changes";
/// Messages dropped for a sequence number outside the watermarks, or because
/// the buffer of messages for views not entered yet was full.
pub const OUT_OF_WINDOW: &str = "pbft.out_of_window";
/// Pre-prepares a primary sent and the requests in them (their ratio is
/// the mean batch size).
pub const PROPOSALS: &str = "pbft.proposals";
pub const PROPOSED_REQUESTS: &str = "pbft.proposed_requests";
/// Pre-prepared requests whose authenticator entry did not check here.
pub const UNVERIFIED: &str = "pbft.unverified_requests";

pub struct Replica {
    cfg: ReplicaConfig,
    id: NodeId,
    view: u64,
    /// Between sending VIEW-CHANGE and accepting a NEW-VIEW.
    changing: bool,
    log: BTreeMap<(u64, u64), Slot>,
    /// The highest-view prepared certificate per sequence number.
    certs: BTreeMap<u64, (u64, Cert)>,
    view_changes: BTreeMap<u64, BTreeMap<NodeId, PbftMsg>>,
    /// Committed proposals waiting for their turn to execute.
    committed: BTreeMap<u64, Vec<Request>>,
    /// Digest of what executed at each sequence number (1..=last_exec).
    executed: BTreeMap<u64, u64>,
    last_exec: u64,
    store: BTreeMap<u32, u64>,
    /// Per client, the last request executed and its reply (dedup).
    last_reply: BTreeMap<NodeId, (u64, u64, Outcome)>,
    /// Requests known and not yet executed: per client its latest (a client
    /// has one request outstanding; an older one it gave up on is dropped).
    pending: BTreeMap<NodeId, Request>,
    /// Primary only: per client, the latest request given a sequence number
    /// in this view.
    assigned: BTreeMap<NodeId, u64>,
    /// Per client: its latest request id and the backups that relayed it
    /// (with MAC authenticators, the primary's evidence that backups can
    /// authenticate it).
    vouches: BTreeMap<NodeId, (u64, BTreeSet<NodeId>)>,
    next_seq: u64,
    timer: Option<TimerId>,
    timeout: Nanos,
    /// Re-send period: a quarter of the view-change timeout, so that a lost
    /// message is sent again a few times before anyone gives up on the view.
    resend_every: Nanos,
    /// (peer, view, seq) helped since the last re-send: a peer is helped at
    /// most once per period and slot, so that two replicas that both
    /// committed cannot keep answering each other's answers.
    helped: BTreeSet<(NodeId, u64, u64)>,
    /// Messages for views not entered yet (at most `cfg.early_limit()`).
    early: Vec<PbftMsg>,
    /// h, the last stable checkpoint, and its proof.
    stable: u64,
    stable_proof: Vec<PbftMsg>,
    /// This replica's checkpoints at or above `stable`.
    snapshots: BTreeMap<u64, Snapshot>,
    /// CHECKPOINT messages above `stable`, by sequence number and sender.
    checkpoint_votes: BTreeMap<u64, BTreeMap<NodeId, PbftMsg>>,
    /// A stable checkpoint (with its proof) past what this replica executed:
    /// it fetches the state at the next re-send period.
    behind: Option<(u64, Vec<PbftMsg>)>,
    /// Per replica, the highest view its normal-case messages showed: f+1
    /// of them past ours mean a view this replica missed the start of.
    peer_views: BTreeMap<NodeId, u64>,
    /// The NEW-VIEW that started the current view (to serve a replica that
    /// missed it).
    new_view: Option<PbftMsg>,
    /// After a restart: views up to this one may hold votes this replica
    /// sent and forgot, so it sends none in them (it still listens).
    abstain_upto: Option<u64>,
    /// Restarted with nothing on disk: abstains up to the first view it
    /// catches up with.
    wiped: bool,
    /// `last_exec` at the previous re-send period (no progress since: ask for help).
    exec_at_last_tick: u64,
}

impl Replica {
    pub fn new(cfg: ReplicaConfig) -> Self {
        let timeout = cfg.view_change_timeout;
        Self {
            cfg,
            id: 0,
            view: 0,
            changing: false,
            log: BTreeMap::new(),
            certs: BTreeMap::new(),
            view_changes: BTreeMap::new(),
            committed: BTreeMap::new(),
            executed: BTreeMap::new(),
            last_exec: 0,
            store: BTreeMap::new(),
            last_reply: BTreeMap::new(),
            pending: BTreeMap::new(),
            assigned: BTreeMap::new(),
            vouches: BTreeMap::new(),
            next_seq: 1,
            timer: None,
            timeout,
            resend_every: (timeout / 4).max(1),
            helped: BTreeSet::new(),
            early: Vec::new(),
            stable: 0,
            stable_proof: Vec::new(),
            snapshots: BTreeMap::from([(0, Snapshot::default())]),
            checkpoint_votes: BTreeMap::new(),
            behind: None,
            peer_views: BTreeMap::new(),
            new_view: None,
            abstain_upto: None,
            wiped: false,
            exec_at_last_tick: 0,
        }
    }

    /// Whether this replica may vote (pre-prepare, prepare, commit, new-view) in `view`.
    fn votes_in(&self, view: u64) -> bool {
        self.abstain_upto.is_none_or(|v| view > v)
    }

    /// Whether `seq` lies inside the watermarks (h, h+L].
    fn in_window(&self, seq: u64) -> bool {
        seq > self.stable && seq <= self.stable + self.cfg.window()
    }

    /// The log's size: slots, certificates, committed, executed, snapshots,
    /// checkpoint votes, view changes and early messages (what the bounds
    /// above hold down; for tests and the run's measurements).
    pub fn retained(&self) -> usize {
        self.log.len()
            + self.certs.len()
            + self.committed.len()
            + self.executed.len()
            + self.snapshots.len()
            + self
                .checkpoint_votes
                .values()
                .map(BTreeMap::len)
                .sum::<usize>()
            + self.view_changes.values().map(BTreeMap::len).sum::<usize>()
            + self.early.len()
            + self.pending.len()
    }

    /// The last stable checkpoint.
    pub fn stable_checkpoint(&self) -> u64 {
        self.stable
    }

    /// Digest of the proposal executed at each sequence number, in order.
    pub fn executed(&self) -> &BTreeMap<u64, u64> {
        &self.executed
    }

    pub fn view(&self) -> u64 {
        self.view
    }

    pub fn is_primary(&self) -> bool {
        !self.changing && self.cfg.primary(self.view) == self.id
    }

    fn others(&self) -> Vec<NodeId> {
        let me = self.id;
        self.cfg
            .replicas
            .iter()
            .copied()
            .filter(|&r| r != me)
            .collect()
    }

    /// Checks a message's MAC against its claimed sender, who is the node
    /// it came from: a wrong MAC there is a corruption in flight (a forger
    /// either claims another sender or signs with its own key correctly),
    /// counted as detected.
    fn check(&self, ctx: &mut Ctx<'_, PbftMsg>, msg: &PbftMsg) -> bool {
        if self.cfg.bugs.no_mac_check || msg.authentic() {
            return true;
        }
        ctx.count(CORRUPT_DETECTED, 1);
        false
    }

    fn check_request(&self, ctx: &mut Ctx<'_, PbftMsg>, req: &Request) -> bool {
        if self.cfg.bugs.no_mac_check || req.authentic_for(self.id) {
            return true;
        }
        ctx.count(AUTH_REJECTED, 1);
        false
    }

    fn is_replica(&self, node: NodeId) -> bool {
        self.cfg.replicas.contains(&node)
    }

    fn done(&self, req: &Request) -> bool {
        self.last_reply
            .get(&req.client)
            .is_some_and(|&(id, _, _)| id >= req.id)
    }

    // ---- timers: run while a client request this replica knows of is not
    // executed. Not for a slot stuck on a no-op nobody waits for: as in the
    // paper, such a replica stays in its view and catches up at the next view
    // change, instead of running ahead alone into views nobody else joins.

    fn waiting(&self) -> bool {
        !self.pending.is_empty()
    }

    fn update_timer(&mut self, ctx: &mut Ctx<'_, PbftMsg>, restart: bool) {
        if self.changing {
            return;
        }
        if restart || !self.waiting() {
            if let Some(t) = self.timer.take() {
                ctx.cancel_timer(t);
            }
        }
        if self.waiting() && self.timer.is_none() {
            self.timer = Some(ctx.set_timer(self.timeout, TIMER_VIEW_CHANGE));
        }
    }

    // ---- normal case

    /// A request from its client, or relayed by replica `from`.
    fn on_request(&mut self, ctx: &mut Ctx<'_, PbftMsg>, from: NodeId, req: Request) {
        if !self.check_request(ctx, &req) {
            return;
        }
        if self.done(&req) {
            // A retry of what executed already: answer again from the cache.
            if let Some(&(id, seq, result)) = self.last_reply.get(&req.client) {
                if id == req.id {
                    self.reply(ctx, seq, &req, result);
                }
            }
            return;
        }
        self.add_pending(req.clone());
        if from != req.client && from != self.id && self.is_replica(from) {
            self.vouch(from, &req);
        }
        if self.is_primary() {
            self.propose_ready(ctx);
        } else if !self.changing {
            // Relay to the primary (the client may not know who it is).
            let primary = self.cfg.primary(self.view);
            ctx.send(primary, PbftMsg::signed(self.id, Body::Request(req)));
        }
        self.update_timer(ctx, false);
    }

    /// A read-only request: answered at once from the state after the last
    /// executed sequence number, which only committed requests reach (never
    /// a tentative state, so that 2f+1 matching answers are linearizable).
    fn on_read_only(&mut self, ctx: &mut Ctx<'_, PbftMsg>, req: Request) {
        let ClientOp::Read { key } = req.op else {
            return;
        };
        if !self.check_request(ctx, &req) {
            return;
        }
        let result = Outcome::Value(self.store.get(&key).copied());
        self.reply(ctx, self.last_exec, &req, result);
    }

    /// Backup `from` relayed `req`, so it could authenticate it.
    fn vouch(&mut self, from: NodeId, req: &Request) {
        let entry = self
            .vouches
            .entry(req.client)
            .or_insert_with(|| (req.id, BTreeSet::new()));
        if entry.0 < req.id {
            *entry = (req.id, BTreeSet::new());
        }
        if entry.0 == req.id {
            entry.1.insert(from);
        }
    }

    /// Whether the primary may propose `req`: with signatures always; with
    /// MAC authenticators once enough backups showed they authenticated it,
    /// so that a request only the primary can authenticate (the faulty-client
    /// attack) is never proposed and cannot stall a sequence number.
    fn vouched(&self, req: &Request) -> bool {
        self.cfg.auth == AuthMode::Signatures
            || self.cfg.bugs.no_mac_check
            || self
                .vouches
                .get(&req.client)
                .is_some_and(|(id, by)| *id == req.id && by.len() >= self.cfg.request_vouches)
            || self.cfg.request_vouches == 0
    }

    /// Keeps `req` as its client's pending request unless a later one is.
    fn add_pending(&mut self, req: Request) {
        if self.pending.get(&req.client).is_none_or(|p| p.id <= req.id) {
            self.pending.insert(req.client, req);
        }
    }

    /// The primary proposes pending requests not proposed yet, in batches of
    /// at most B, while the pipeline has room and the next sequence number
    /// lies inside the window (otherwise they wait for an execution or the
    /// next stable checkpoint).
    fn propose_ready(&mut self, ctx: &mut Ctx<'_, PbftMsg>) {
        if !self.is_primary() || !self.votes_in(self.view) {
            return;
        }
        loop {
            self.next_seq = self.next_seq.max(self.stable + 1);
            let in_flight = (self.next_seq - 1).saturating_sub(self.last_exec);
            if in_flight >= self.cfg.pipeline || !self.in_window(self.next_seq) {
                return;
            }
            let batch: Vec<Request> = self
                .pending
                .values()
                .filter(|r| {
                    self.assigned.get(&r.client).is_none_or(|&id| id < r.id) && self.vouched(r)
                })
                .take(self.cfg.batch)
                .cloned()
                .collect();
            if batch.is_empty() {
                return;
            }
            for r in &batch {
                self.assigned.insert(r.client, r.id);
            }
            ctx.count(PROPOSALS, 1);
            ctx.count(PROPOSED_REQUESTS, batch.len() as i64);
            let seq = self.next_seq;
            self.next_seq += 1;
            let pp = PbftMsg::signed(
                self.id,
                Body::PrePrepare {
                    view: self.view,
                    seq,
                    reqs: batch,
                },
            );
            ctx.send_all(self.others(), &pp);
            self.accept_pre_prepare(ctx, pp, true);
        }
    }

    fn on_pre_prepare(&mut self, ctx: &mut Ctx<'_, PbftMsg>, msg: PbftMsg) {
        let Body::PrePrepare { view, reqs, .. } = &msg.body else {
            return;
        };
        if self.changing || *view != self.view || msg.from != self.cfg.primary(*view) {
            return;
        }
        let verified = self.cfg.bugs.no_mac_check || reqs.iter().all(|r| r.authentic_for(self.id));
        if !verified {
            ctx.count(AUTH_REJECTED, 1);
            if self.cfg.auth == AuthMode::Signatures {
                // A signature that does not check: a forged request.
                return;
            }
            // A MAC entry that does not check: a forgery, or a faulty client
            // whose authenticator is wrong for this replica only.
            ctx.count(UNVERIFIED, 1);
        }
        self.accept_pre_prepare(ctx, msg, verified);
    }

    /// Logs a pre-prepare (the first one for its slot only) and prepares it
    /// if `verified` (its requests authenticated here, or proposed by this
    /// replica or carried by a checked NEW-VIEW).
    fn accept_pre_prepare(&mut self, ctx: &mut Ctx<'_, PbftMsg>, msg: PbftMsg, verified: bool) {
        let Body::PrePrepare { view, seq, reqs } = msg.body.clone() else {
            return;
        };
        if !self.in_window(seq) {
            ctx.count(OUT_OF_WINDOW, 1);
            return;
        }
        let slot = self.log.entry((view, seq)).or_default();
        if slot.pre_prepare.is_some() {
            return;
        }
        slot.digest = digest(&reqs);
        slot.pre_prepare = Some(msg);
        slot.unverified = !verified;
        if verified {
            self.note_pending(&reqs);
            self.send_prepare(ctx, view, seq);
        }
        self.log.get_mut(&(view, seq)).expect("just logged").reqs = reqs;
        self.progress(ctx, view, seq);
        self.update_timer(ctx, false);
    }

    /// Requests of a proposal not executed yet are waited for.
    fn note_pending(&mut self, reqs: &[Request]) {
        for req in reqs {
            if !self.done(req) {
                self.add_pending(req.clone());
            }
        }
    }

    /// A backup's PREPARE for a logged pre-prepare.
    fn send_prepare(&mut self, ctx: &mut Ctx<'_, PbftMsg>, view: u64, seq: u64) {
        if self.cfg.primary(view) == self.id || !self.votes_in(view) {
            return;
        }
        let d = self.log[&(view, seq)].digest;
        let prepare = PbftMsg::signed(
            self.id,
            Body::Prepare {
                view,
                seq,
                digest: d,
            },
        );
        ctx.send_all(self.others(), &prepare);
        self.log
            .get_mut(&(view, seq))
            .expect("logged")
            .prepares
            .insert(self.id, prepare);
    }

    /// An unverified slot with f+1 backups' matching prepares: one of them is
    /// honest and authenticated the requests, so they are the clients' own.
    fn verify_by_prepares(&mut self, ctx: &mut Ctx<'_, PbftMsg>, view: u64, seq: u64) {
        let f = self.cfg.f();
        let Some(slot) = self.log.get_mut(&(view, seq)) else {
            return;
        };
        if !slot.unverified {
            return;
        }
        let d = slot.digest;
        let matching = slot
            .prepares
            .values()
            .filter(|p| matches!(p.body, Body::Prepare { digest, .. } if digest == d))
            .count();
        if matching <= f {
            return;
        }
        slot.unverified = false;
        let reqs = slot.reqs.clone();
        self.note_pending(&reqs);
        self.send_prepare(ctx, view, seq);
        self.update_timer(ctx, false);
    }

    fn on_prepare(&mut self, ctx: &mut Ctx<'_, PbftMsg>, msg: PbftMsg) {
        let Body::Prepare { view, seq, .. } = msg.body else {
            return;
        };
        if self.changing || view != self.view || msg.from == self.cfg.primary(view) {
            return;
        }
        if !self.in_window(seq) {
            ctx.count(OUT_OF_WINDOW, 1);
            return;
        }
        let from = msg.from;
        let slot = self.log.entry((view, seq)).or_default();
        let again = slot.prepares.contains_key(&from);
        slot.prepares.entry(from).or_insert(msg);
        self.progress(ctx, view, seq);
        if again {
            self.help(ctx, from, view, seq);
        }
    }

    fn on_commit(&mut self, ctx: &mut Ctx<'_, PbftMsg>, from: NodeId, body: Body) {
        let Body::Commit { view, seq, digest } = body else {
            return;
        };
        if self.changing || view != self.view {
            return;
        }
        if !self.in_window(seq) {
            ctx.count(OUT_OF_WINDOW, 1);
            return;
        }
        let slot = self.log.entry((view, seq)).or_default();
        let again = slot.commits.contains_key(&from);
        slot.commits.entry(from).or_insert(digest);
        self.progress(ctx, view, seq);
        if again {
            self.help(ctx, from, view, seq);
        }
    }

    // ---- retransmission: the network loses messages, and a replica that
    // missed a pre-prepare, prepares or commits would otherwise wait for a
    // view change (which re-proposes everything) to catch up.

    /// What this replica said about slot (view, seq): the pre-prepare if it
    /// is the view's primary, its prepare, and its commit once prepared.
    /// Messages are signed deterministically, so a re-sent one is the same.
    fn own_messages(&self, view: u64, seq: u64) -> Vec<PbftMsg> {
        let Some(slot) = self.log.get(&(view, seq)) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if self.cfg.primary(view) == self.id {
            out.extend(slot.pre_prepare.clone());
        }
        out.extend(slot.prepares.get(&self.id).cloned());
        if slot.prepared && slot.commits.contains_key(&self.id) {
            let digest = slot.digest;
            out.push(PbftMsg::signed(self.id, Body::Commit { view, seq, digest }));
        }
        out
    }

    /// Every re-send period: for each slot of the current view not yet
    /// executed here, send again what this replica said about it; a backup
    /// also relays again the requests it waits for to the primary.
    fn resend(&mut self, ctx: &mut Ctx<'_, PbftMsg>) {
        self.helped.clear();
        self.resend_checkpoint(ctx);
        self.fetch_if_behind(ctx);
        if self.changing {
            // A lost VIEW-CHANGE would leave the new primary short of 2f+1.
            let own = self
                .view_changes
                .get(&self.view)
                .and_then(|vcs| vcs.get(&self.id))
                .cloned();
            if let Some(vc) = own {
                ctx.send_all(self.others(), &vc);
                ctx.count(RESENT, 1);
            }
            return;
        }
        let view = self.view;
        let seqs: Vec<u64> = self
            .log
            .range((view, self.last_exec + 1)..(view + 1, 0))
            .map(|(&(_, seq), _)| seq)
            .collect();
        let others = self.others();
        for seq in seqs {
            for m in self.own_messages(view, seq) {
                ctx.send_all(others.clone(), &m);
                ctx.count(RESENT, 1);
            }
        }
        let primary = self.cfg.primary(view);
        if primary != self.id {
            for req in self.pending.values() {
                ctx.send(
                    primary,
                    PbftMsg::signed(self.id, Body::Request(req.clone())),
                );
                ctx.count(RESENT, 1);
            }
        }
    }

    /// `peer` sent again a prepare or commit for a slot this replica has
    /// committed: it is missing something there. It gets what this replica
    /// said about the slot, directly.
    fn help(&mut self, ctx: &mut Ctx<'_, PbftMsg>, peer: NodeId, view: u64, seq: u64) {
        if view != self.view
            || !self.log.get(&(view, seq)).is_some_and(|s| s.committed)
            || !self.helped.insert((peer, view, seq))
        {
            return;
        }
        for m in self.own_messages(view, seq) {
            ctx.send(peer, m);
            ctx.count(HELPED, 1);
        }
    }

    /// Moves a slot on: prepared → commit sent; committed-local → execute.
    fn progress(&mut self, ctx: &mut Ctx<'_, PbftMsg>, view: u64, seq: u64) {
        self.verify_by_prepares(ctx, view, seq);
        let me = self.id;
        let (prepare_quorum, quorum) = (self.cfg.prepare_quorum(), self.cfg.quorum());
        let Some(slot) = self.log.get_mut(&(view, seq)) else {
            return;
        };
        let Some(pp) = &slot.pre_prepare else {
            return;
        };
        if slot.unverified {
            return;
        }
        let d = slot.digest;
        if !slot.prepared {
            let matching: Vec<PbftMsg> = slot
                .prepares
                .values()
                .filter(|p| matches!(p.body, Body::Prepare { digest, .. } if digest == d))
                .cloned()
                .collect();
            if matching.len() < prepare_quorum {
                return;
            }
            slot.prepared = true;
            tracing::debug!(view, seq, "prepared");
            let cert = Cert {
                pre_prepare: pp.clone(),
                prepares: matching,
            };
            self.persist_cert(ctx, seq, view, &cert);
            self.certs.insert(seq, (view, cert));
            if self.votes_in(view) {
                let commit = Body::Commit {
                    view,
                    seq,
                    digest: d,
                };
                ctx.send_all(self.others(), &PbftMsg::signed(me, commit));
                let slot = self.log.get_mut(&(view, seq)).expect("present");
                slot.commits.insert(me, d);
            }
        }
        let slot = self.log.get_mut(&(view, seq)).expect("present");
        let commits = slot.commits.values().filter(|&&c| c == d).count();
        if slot.committed || commits < quorum {
            return;
        }
        slot.committed = true;
        tracing::debug!(view, seq, "committed");
        let reqs = slot.reqs.clone();
        if seq > self.last_exec {
            self.committed.insert(seq, reqs);
        }
        self.execute(ctx);
    }

    fn execute(&mut self, ctx: &mut Ctx<'_, PbftMsg>) {
        let mut ran = false;
        while let Some(reqs) = self.committed.remove(&(self.last_exec + 1)) {
            ran = true;
            self.last_exec += 1;
            let seq = self.last_exec;
            tracing::trace!(seq, "executed");
            self.executed.insert(seq, digest(&reqs));
            for req in reqs {
                if self
                    .pending
                    .get(&req.client)
                    .is_some_and(|p| p.id <= req.id)
                {
                    self.pending.remove(&req.client);
                }
                // Proposed twice (a retry after a view change): applied once.
                if !self.done(&req) {
                    let result = self.apply(req.op);
                    self.last_reply.insert(req.client, (req.id, seq, result));
                    self.reply(ctx, seq, &req, result);
                }
            }
            if seq.is_multiple_of(self.cfg.checkpoint_interval) {
                self.take_checkpoint(ctx, seq);
            }
        }
        if ran {
            self.update_timer(ctx, true);
            // A view change that worked: the next one may be quick again.
            self.timeout = self.cfg.view_change_timeout;
            // The pipeline has room again.
            self.propose_ready(ctx);
        }
    }

    fn apply(&mut self, op: ClientOp) -> Outcome {
        match op {
            ClientOp::Read { key } => Outcome::Value(self.store.get(&key).copied()),
            ClientOp::Write { key, value } => {
                self.store.insert(key, value);
                Outcome::Done
            }
            ClientOp::Cas { key, expected, new } => {
                if self.store.get(&key) == Some(&expected) {
                    self.store.insert(key, new);
                    Outcome::Done
                } else {
                    Outcome::CasFailed
                }
            }
        }
    }

    fn reply(&self, ctx: &mut Ctx<'_, PbftMsg>, seq: u64, req: &Request, result: Outcome) {
        let body = Body::Reply {
            view: self.view,
            seq,
            client: req.client,
            id: req.id,
            result,
        };
        ctx.send(req.client, PbftMsg::signed(self.id, body));
    }
}

impl Process for Replica {
    type Msg = PbftMsg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, PbftMsg>) {
        self.id = ctx.id();
        self.recover(ctx);
        ctx.set_timer(self.resend_every, TIMER_RESEND);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, PbftMsg>, from: NodeId, msg: PbftMsg) {
        // The claimed sender must be who the network delivered it from and
        // must have signed it (both skipped by `no-mac-check`).
        if !self.cfg.bugs.no_mac_check && msg.from != from {
            ctx.count(AUTH_REJECTED, 1);
            return;
        }
        if !self.check(ctx, &msg) {
            return;
        }
        self.dispatch(ctx, msg);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, PbftMsg>, tag: u64) {
        match tag {
            TIMER_VIEW_CHANGE => {
                self.timer = None;
                let next = self.view + 1;
                self.start_view_change(ctx, next);
            }
            TIMER_RESEND => {
                self.resend(ctx);
                ctx.set_timer(self.resend_every, TIMER_RESEND);
            }
            _ => {}
        }
    }
}

impl Replica {
    /// Handles an authenticated message.
    fn dispatch(&mut self, ctx: &mut Ctx<'_, PbftMsg>, msg: PbftMsg) {
        let sender_is_replica = self.is_replica(msg.from);
        if let Body::PrePrepare { view, seq, .. }
        | Body::Prepare { view, seq, .. }
        | Body::Commit { view, seq, .. } = msg.body
        {
            if sender_is_replica {
                let seen = self.peer_views.entry(msg.from).or_insert(view);
                *seen = (*seen).max(view);
            }
            // Normal-case traffic of a view this replica has not entered yet
            // (the NEW-VIEW may arrive after the pre-prepares and prepares
            // sent just behind it): kept until the view starts, within bounds.
            if view > self.view || (view == self.view && self.changing) {
                if self.in_window(seq) && self.early.len() < self.cfg.early_limit() {
                    self.early.push(msg);
                } else {
                    ctx.count(OUT_OF_WINDOW, 1);
                }
                return;
            }
        }
        match msg.body {
            Body::Request(req) => self.on_request(ctx, msg.from, req),
            Body::ReadOnly(req) => self.on_read_only(ctx, req),
            Body::PrePrepare { .. } if sender_is_replica => self.on_pre_prepare(ctx, msg),
            Body::Prepare { .. } if sender_is_replica => self.on_prepare(ctx, msg),
            Body::Commit { .. } if sender_is_replica => self.on_commit(ctx, msg.from, msg.body),
            Body::Checkpoint { .. } if sender_is_replica => self.on_checkpoint(ctx, msg),
            Body::ViewChange { .. } => self.on_view_change(ctx, msg),
            Body::NewView { .. } => self.on_new_view(ctx, msg),
            Body::FetchState { last_exec, view } if sender_is_replica => {
                self.on_fetch_state(ctx, msg.from, last_exec, view)
            }
            Body::State {
                checkpoint,
                new_view,
            } if sender_is_replica => self.on_state(ctx, checkpoint, new_view),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::Message;

    fn request() -> Request {
        Request::new(5, 7, ClientOp::Write { key: 0, value: 3 })
    }

    fn inner_request(m: &PbftMsg) -> Option<&Request> {
        match &m.body {
            Body::PrePrepare { reqs, .. } => reqs.first(),
            Body::Request(req) => Some(req),
            _ => None,
        }
    }

    /// What an honest replica would accept: the MAC checks for the claimed
    /// sender and any request inside checks for its client.
    fn acceptable(m: &PbftMsg, sender: NodeId) -> bool {
        m.from == sender
            && m.authentic()
            && inner_request(m).is_none_or(|r| r.authentic_for(sender))
    }

    fn samples() -> Vec<PbftMsg> {
        let d = digest(&[request()]);
        let bodies = [
            Body::Request(request()),
            Body::PrePrepare {
                view: 0,
                seq: 1,
                reqs: vec![request()],
            },
            Body::Prepare {
                view: 0,
                seq: 1,
                digest: d,
            },
            Body::Commit {
                view: 0,
                seq: 1,
                digest: d,
            },
            Body::Reply {
                view: 0,
                seq: 1,
                client: 5,
                id: 7,
                result: Outcome::Value(Some(3)),
            },
        ];
        bodies.into_iter().map(|b| PbftMsg::signed(2, b)).collect()
    }

    #[test]
    fn equivocations_are_other_messages_the_sender_could_sign() {
        let mut rng = sim_core::rng::stream(1, "t");
        for m in samples() {
            assert!(acceptable(&m, 2));
            let Some(v) = m.equivocate(&mut rng) else {
                assert!(matches!(m.body, Body::Request(_)), "{m:?}");
                continue;
            };
            assert_ne!(v, m);
            assert!(acceptable(&v, 2), "a variant is well-formed: {v:?}");
        }
    }

    #[test]
    fn forgeries_are_never_acceptable() {
        let mut rng = sim_core::rng::stream(1, "t");
        for m in samples() {
            let forged = m.forge(&mut rng).expect("every message has a forgery");
            assert_ne!(forged, m);
            assert!(!acceptable(&forged, 2), "{forged:?}");
        }
    }

    #[test]
    fn new_views_re_propose_the_highest_prepared_and_fill_gaps() {
        let cfg = ReplicaConfig {
            replicas: vec![0, 1, 2, 3],
            view_change_timeout: 1,
            checkpoint_interval: 2,
            batch: 1,
            pipeline: 4,
            auth: AuthMode::Signatures,
            request_vouches: 0,
            bugs: Bugs::default(),
        };
        let cert = |view: u64, seq: u64, reqs: Vec<Request>| {
            let d = digest(&reqs);
            let pre_prepare =
                PbftMsg::signed(cfg.primary(view), Body::PrePrepare { view, seq, reqs });
            let prepares = cfg
                .replicas
                .iter()
                .filter(|&&r| r != cfg.primary(view))
                .map(|&r| {
                    PbftMsg::signed(
                        r,
                        Body::Prepare {
                            view,
                            seq,
                            digest: d,
                        },
                    )
                })
                .collect();
            Cert {
                pre_prepare,
                prepares,
            }
        };
        let other = Request::new(6, 1, ClientOp::Read { key: 0 });
        let vcs = [
            PbftMsg::signed(
                1,
                Body::ViewChange {
                    view: 2,
                    stable: 0,
                    proof: Vec::new(),
                    prepared: vec![cert(0, 1, vec![other.clone()]), cert(0, 3, Vec::new())],
                },
            ),
            PbftMsg::signed(
                2,
                Body::ViewChange {
                    view: 2,
                    stable: 0,
                    proof: Vec::new(),
                    prepared: vec![cert(1, 1, vec![request()])],
                },
            ),
        ];
        let replica = Replica::new(cfg.clone());
        assert!(vcs.iter().all(|vc| replica.valid_view_change(vc, 2)));
        let p = Replica::proposals(&vcs);
        assert_eq!(
            p.into_iter().collect::<Vec<_>>(),
            [(1, vec![request()]), (2, Vec::new()), (3, Vec::new())]
        );
        // A certificate short of 2f prepares does not check.
        let mut short = cert(0, 1, vec![other.clone()]);
        short.prepares.truncate(1);
        assert!(!replica.valid_cert(&short));

        // A view change proving a stable checkpoint at 2: nothing at or
        // below it is proposed again, whatever other view changes prepared.
        let checkpoint =
            |from: NodeId| PbftMsg::signed(from, Body::Checkpoint { seq: 2, digest: 9 });
        let proof: Vec<PbftMsg> = (0..3).map(checkpoint).collect();
        let with_checkpoint = |proof: Vec<PbftMsg>| {
            PbftMsg::signed(
                3,
                Body::ViewChange {
                    view: 2,
                    stable: 2,
                    proof,
                    prepared: vec![cert(0, 4, vec![other.clone()])],
                },
            )
        };
        let vc = with_checkpoint(proof.clone());
        assert!(replica.valid_view_change(&vc, 2));
        let p = Replica::proposals(&[vcs[0].clone(), vc]);
        assert_eq!(
            p.into_iter().collect::<Vec<_>>(),
            [(3, Vec::new()), (4, vec![other.clone()])]
        );
        // A proof of 2f matching checkpoints, or one with a forged vote, is none.
        assert!(!replica.valid_view_change(&with_checkpoint(proof[..2].to_vec()), 2));
        let mut forged = proof;
        forged[2].from = 1;
        assert!(!replica.valid_view_change(&with_checkpoint(forged), 2));
    }
}
