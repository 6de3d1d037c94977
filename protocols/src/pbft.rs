//! PBFT (Castro & Liskov, OSDI 1999): a key-value store replicated over
//! n = 3f+1 replicas that stays safe with f of them Byzantine.
//!
//! Normal case: a client sends its request to the primary of the current view
//! (`view mod n`), which assigns it a sequence number and multicasts
//! PRE-PREPARE; backups multicast PREPARE. A replica holding the pre-prepare
//! and 2f matching prepares from different backups has the request
//! *prepared*, multicasts COMMIT, and with 2f+1 matching commits it is
//! *committed-local*: requests execute in sequence order on the store, and
//! each replica replies to the client, which takes a result once f+1 replicas
//! sent the same one (at least one of them is honest).
//!
//! View change: a replica waiting for a request to execute runs a timer; on
//! expiry it multicasts VIEW-CHANGE(v+1) with its prepared certificates (the
//! signed pre-prepare and prepares). The new primary, with 2f+1 of them,
//! multicasts NEW-VIEW carrying them as proof, and re-proposes at every
//! sequence number the request prepared in the highest view (a no-op where
//! none was). Replicas recompute that choice from the proof, so a Byzantine
//! primary cannot drop a committed request. There are no checkpoints: logs
//! are kept whole and a new view re-proposes from sequence 1. A replica keeps
//! its state in memory only: a restarted replica has forgotten its votes and
//! counts against f.
//!
//! Authentication: every message carries `mac(key(sender), body)` (see
//! `sim_core::integrity::mac`); requests carry their client's MAC inside, so
//! a relayed or pre-prepared request cannot be altered. Since the MAC stands
//! for a signature, certificates can be checked by anyone.
//!
//! Known-bug variants: `small-prepare-quorum` (prepared with f prepares
//! instead of 2f: two different requests can both be "prepared" at one
//! sequence number, and a view change may pick the one that was not
//! committed), `no-mac-check` (nothing is authenticated: a Byzantine primary
//! slips in requests no client made), `first-reply` (the client believes the
//! first reply instead of waiting for f+1 matching ones: one lying replica
//! suffices).

use std::collections::{BTreeMap, BTreeSet};

use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sim_core::integrity::{checksum, mac, AUTH_REJECTED};
use sim_core::rng::SimRng;
use sim_core::{Ctx, Message, Nanos, NodeId, OpId, OpType, Process, TimerId};

use crate::workload::{ClientOp, WorkloadSpec};

pub const BUGS: [&str; 3] = ["small-prepare-quorum", "no-mac-check", "first-reply"];

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bugs {
    pub small_prepare_quorum: bool,
    pub no_mac_check: bool,
    pub first_reply: bool,
}

impl Bugs {
    pub fn parse(names: &[String]) -> Result<Self, String> {
        let [small_prepare_quorum, no_mac_check, first_reply] =
            crate::bug_names::switched_on("pbft", names, BUGS)?;
        Ok(Bugs {
            small_prepare_quorum,
            no_mac_check,
            first_reply,
        })
    }
}

/// The key node `id` signs with. Holding a key is a convention in the
/// simulation: a node only ever uses its own (a forger cannot compute
/// another node's MAC, so its forgeries carry wrong ones).
pub fn node_key(id: NodeId) -> u64 {
    0x7062_6674_0000_0000 ^ (id as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

// ---------------------------------------------------------------- messages

/// A client's request, signed by the client.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Request {
    pub client: NodeId,
    pub id: u64,
    pub op: ClientOp,
    pub mac: u64,
}

impl Request {
    pub fn new(client: NodeId, id: u64, op: ClientOp) -> Self {
        let mac = mac(node_key(client), &(client, id, op));
        Self {
            client,
            id,
            op,
            mac,
        }
    }

    fn authentic(&self) -> bool {
        self.mac == mac(node_key(self.client), &(self.client, self.id, self.op))
    }
}

/// What executing a request returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Outcome {
    /// A read's value.
    Value(Option<u64>),
    /// A write, or a cas whose expected value matched.
    Done,
    /// A cas whose expected value did not match.
    CasFailed,
}

/// The digest of a proposal (`None`: a no-op filling a gap after a view change).
pub fn digest(req: &Option<Request>) -> u64 {
    checksum(req)
}

/// A prepared certificate: the primary's pre-prepare and the prepares.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Cert {
    pub pre_prepare: PbftMsg,
    pub prepares: Vec<PbftMsg>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Body {
    Request(Request),
    PrePrepare {
        view: u64,
        seq: u64,
        req: Option<Request>,
    },
    Prepare {
        view: u64,
        seq: u64,
        digest: u64,
    },
    Commit {
        view: u64,
        seq: u64,
        digest: u64,
    },
    Reply {
        view: u64,
        seq: u64,
        client: NodeId,
        id: u64,
        result: Outcome,
    },
    /// "I move to `view`; here is what I prepared" (highest view per sequence).
    ViewChange {
        view: u64,
        prepared: Vec<Cert>,
    },
    /// The new primary's proof (2f+1 view-changes) and its pre-prepares.
    NewView {
        view: u64,
        view_changes: Vec<PbftMsg>,
        pre_prepares: Vec<PbftMsg>,
    },
}

/// A message: the claimed sender, the body and the sender's MAC over it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PbftMsg {
    pub from: NodeId,
    pub body: Body,
    pub mac: u64,
}

impl PbftMsg {
    pub fn signed(from: NodeId, body: Body) -> Self {
        let mac = mac(node_key(from), &body);
        Self { from, body, mac }
    }

    pub fn authentic(&self) -> bool {
        self.mac == mac(node_key(self.from), &self.body)
    }

    /// Another sender id than ours, always a valid replica id when there are
    /// at least two replicas (a forger impersonates a neighbour).
    fn neighbour(&self) -> NodeId {
        if self.from > 0 {
            self.from - 1
        } else {
            1
        }
    }
}

/// Values no client ever writes (workload values are small): what a
/// Byzantine node's variants and forgeries put in, so that a client that
/// believes one sees a value out of nowhere.
const BOGUS: u64 = 1_000_000;

impl Message for PbftMsg {
    /// Variants the sender may sign itself: a no-op instead of the request in
    /// a pre-prepare, votes for that no-op, another result in a reply, an
    /// empty view-change. All are consistent with one another, so that the
    /// peers that get variants see one coherent alternative history.
    fn equivocate(&self, rng: &mut SimRng) -> Option<Self> {
        let noop = digest(&None);
        let body = match &self.body {
            Body::PrePrepare {
                view,
                seq,
                req: Some(_),
            } => Body::PrePrepare {
                view: *view,
                seq: *seq,
                req: None,
            },
            Body::Prepare { view, seq, digest } if *digest != noop => Body::Prepare {
                view: *view,
                seq: *seq,
                digest: noop,
            },
            Body::Commit { view, seq, digest } if *digest != noop => Body::Commit {
                view: *view,
                seq: *seq,
                digest: noop,
            },
            Body::Reply {
                view,
                seq,
                client,
                id,
                result,
            } => Body::Reply {
                view: *view,
                seq: *seq,
                client: *client,
                id: *id,
                result: match result {
                    Outcome::Value(_) => Outcome::Value(Some(BOGUS + rng.random_range(0..1000))),
                    Outcome::Done => Outcome::CasFailed,
                    Outcome::CasFailed => Outcome::Done,
                },
            },
            Body::ViewChange { view, prepared } if !prepared.is_empty() => Body::ViewChange {
                view: *view,
                prepared: Vec::new(),
            },
            _ => return None,
        };
        Some(PbftMsg::signed(self.from, body))
    }

    /// Forgeries: a pre-prepare whose request was altered under its client's
    /// MAC (the primary re-signs the outer message, which it may), a request
    /// relayed with an altered operation, and anything else re-attributed to
    /// a neighbour under the forger's own MAC.
    fn forge(&self, _rng: &mut SimRng) -> Option<Self> {
        // The fabricated write depends only on the request, so that every
        // peer that gets a forgery of one pre-prepare gets the same one (they
        // could agree on it if nobody checked the client's MAC).
        // The same kind of operation (so that the client takes the result as
        // its own) with other content: another value, or another key to read.
        let fabricate = |req: &Request| {
            let bogus = 2 * BOGUS + checksum(req) % 1000;
            let op = match req.op {
                ClientOp::Read { key } => ClientOp::Read {
                    key: key.wrapping_add(1),
                },
                ClientOp::Write { key, .. } => ClientOp::Write { key, value: bogus },
                ClientOp::Cas { key, expected, .. } => ClientOp::Cas {
                    key,
                    expected,
                    new: bogus,
                },
            };
            Request { op, ..req.clone() }
        };
        match &self.body {
            Body::PrePrepare {
                view,
                seq,
                req: Some(req),
            } => {
                let req = Some(fabricate(req));
                let body = Body::PrePrepare {
                    view: *view,
                    seq: *seq,
                    req,
                };
                Some(PbftMsg::signed(self.from, body))
            }
            Body::Request(req) => Some(PbftMsg::signed(self.from, Body::Request(fabricate(req)))),
            _ => Some(PbftMsg {
                from: self.neighbour(),
                body: self.body.clone(),
                mac: mac(node_key(self.from), &self.body),
            }),
        }
    }
}

// ---------------------------------------------------------------- replica

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaConfig {
    pub replicas: Vec<NodeId>,
    /// A replica waiting this long for a request to execute asks for a new
    /// view; the wait doubles with each view change that does not complete.
    pub view_change_timeout: Nanos,
    pub bugs: Bugs,
}

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
}

/// One (view, sequence number) slot of the log.
#[derive(Default)]
struct Slot {
    pre_prepare: Option<PbftMsg>,
    req: Option<Request>,
    digest: u64,
    /// Prepares by sender (as received, for certificates).
    prepares: BTreeMap<NodeId, PbftMsg>,
    commits: BTreeMap<NodeId, u64>,
    prepared: bool,
    committed: bool,
}

const TIMER_VIEW_CHANGE: u64 = 1;

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
    committed: BTreeMap<u64, Option<Request>>,
    /// Digest of what executed at each sequence number (1..=last_exec).
    executed: BTreeMap<u64, u64>,
    last_exec: u64,
    store: BTreeMap<u32, u64>,
    /// Per client, the last request executed and its reply (dedup).
    last_reply: BTreeMap<NodeId, (u64, u64, Outcome)>,
    /// Requests known and not yet executed.
    pending: BTreeMap<(NodeId, u64), Request>,
    /// Primary only: requests given a sequence number in this view.
    assigned: BTreeSet<(NodeId, u64)>,
    next_seq: u64,
    timer: Option<TimerId>,
    timeout: Nanos,
    /// Messages for views not entered yet.
    early: Vec<PbftMsg>,
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
            assigned: BTreeSet::new(),
            next_seq: 1,
            timer: None,
            timeout,
            early: Vec::new(),
        }
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

    /// Checks a message's MAC against its claimed sender; counts a failure.
    fn check(&self, ctx: &mut Ctx<'_, PbftMsg>, msg: &PbftMsg) -> bool {
        if self.cfg.bugs.no_mac_check || msg.authentic() {
            return true;
        }
        ctx.count(AUTH_REJECTED, 1);
        false
    }

    fn check_request(&self, ctx: &mut Ctx<'_, PbftMsg>, req: &Request) -> bool {
        if self.cfg.bugs.no_mac_check || req.authentic() {
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

    fn on_request(&mut self, ctx: &mut Ctx<'_, PbftMsg>, req: Request) {
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
        self.pending.insert((req.client, req.id), req.clone());
        if self.is_primary() {
            self.assign(ctx, req);
        } else if !self.changing {
            // Relay to the primary (the client may not know who it is).
            let primary = self.cfg.primary(self.view);
            ctx.send(primary, PbftMsg::signed(self.id, Body::Request(req)));
        }
        self.update_timer(ctx, false);
    }

    fn assign(&mut self, ctx: &mut Ctx<'_, PbftMsg>, req: Request) {
        if !self.assigned.insert((req.client, req.id)) {
            return;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let pp = PbftMsg::signed(
            self.id,
            Body::PrePrepare {
                view: self.view,
                seq,
                req: Some(req),
            },
        );
        ctx.send_all(self.others(), &pp);
        self.accept_pre_prepare(ctx, pp);
    }

    fn on_pre_prepare(&mut self, ctx: &mut Ctx<'_, PbftMsg>, msg: PbftMsg) {
        let Body::PrePrepare { view, req, .. } = &msg.body else {
            return;
        };
        if self.changing || *view != self.view || msg.from != self.cfg.primary(*view) {
            return;
        }
        if let Some(req) = req {
            if !self.check_request(ctx, req) {
                return;
            }
        }
        self.accept_pre_prepare(ctx, msg);
    }

    /// Logs a pre-prepare (the first one for its slot only) and prepares it.
    fn accept_pre_prepare(&mut self, ctx: &mut Ctx<'_, PbftMsg>, msg: PbftMsg) {
        let Body::PrePrepare { view, seq, req } = msg.body.clone() else {
            return;
        };
        let slot = self.log.entry((view, seq)).or_default();
        if slot.pre_prepare.is_some() {
            return;
        }
        slot.digest = digest(&req);
        slot.req = req.clone();
        slot.pre_prepare = Some(msg);
        if let Some(req) = req {
            if !self.done(&req) {
                self.pending.insert((req.client, req.id), req);
            }
        }
        if self.cfg.primary(view) != self.id {
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
                .expect("just logged")
                .prepares
                .insert(self.id, prepare);
        }
        self.progress(ctx, view, seq);
        self.update_timer(ctx, false);
    }

    fn on_prepare(&mut self, ctx: &mut Ctx<'_, PbftMsg>, msg: PbftMsg) {
        let Body::Prepare { view, seq, .. } = msg.body else {
            return;
        };
        if self.changing || view != self.view || msg.from == self.cfg.primary(view) {
            return;
        }
        let slot = self.log.entry((view, seq)).or_default();
        slot.prepares.entry(msg.from).or_insert(msg);
        self.progress(ctx, view, seq);
    }

    fn on_commit(&mut self, ctx: &mut Ctx<'_, PbftMsg>, from: NodeId, body: Body) {
        let Body::Commit { view, seq, digest } = body else {
            return;
        };
        if self.changing || view != self.view {
            return;
        }
        let slot = self.log.entry((view, seq)).or_default();
        slot.commits.entry(from).or_insert(digest);
        self.progress(ctx, view, seq);
    }

    /// Moves a slot on: prepared → commit sent; committed-local → execute.
    fn progress(&mut self, ctx: &mut Ctx<'_, PbftMsg>, view: u64, seq: u64) {
        let me = self.id;
        let (prepare_quorum, quorum) = (self.cfg.prepare_quorum(), self.cfg.quorum());
        let Some(slot) = self.log.get_mut(&(view, seq)) else {
            return;
        };
        let Some(pp) = &slot.pre_prepare else {
            return;
        };
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
            let cert = Cert {
                pre_prepare: pp.clone(),
                prepares: matching,
            };
            self.certs.insert(seq, (view, cert));
            let commit = Body::Commit {
                view,
                seq,
                digest: d,
            };
            ctx.send_all(self.others(), &PbftMsg::signed(me, commit));
            let slot = self.log.get_mut(&(view, seq)).expect("present");
            slot.commits.insert(me, d);
        }
        let slot = self.log.get_mut(&(view, seq)).expect("present");
        let commits = slot.commits.values().filter(|&&c| c == d).count();
        if slot.committed || commits < quorum {
            return;
        }
        slot.committed = true;
        let req = slot.req.clone();
        if seq > self.last_exec {
            self.committed.insert(seq, req);
        }
        self.execute(ctx);
    }

    fn execute(&mut self, ctx: &mut Ctx<'_, PbftMsg>) {
        let mut ran = false;
        while let Some(req) = self.committed.remove(&(self.last_exec + 1)) {
            ran = true;
            self.last_exec += 1;
            let seq = self.last_exec;
            self.executed.insert(seq, digest(&req));
            let Some(req) = req else { continue };
            self.pending.remove(&(req.client, req.id));
            if self.done(&req) {
                // Proposed twice (a retry after a view change): applied once.
                continue;
            }
            let result = self.apply(req.op);
            self.last_reply.insert(req.client, (req.id, seq, result));
            self.reply(ctx, seq, &req, result);
        }
        if ran {
            self.update_timer(ctx, true);
            // A view change that worked: the next one may be quick again.
            self.timeout = self.cfg.view_change_timeout;
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

    // ---- view change

    fn start_view_change(&mut self, ctx: &mut Ctx<'_, PbftMsg>, view: u64) {
        if view <= self.view && self.changing {
            return;
        }
        self.view = view;
        self.changing = true;
        let prepared = self.certs.values().map(|(_, c)| c.clone()).collect();
        let vc = PbftMsg::signed(self.id, Body::ViewChange { view, prepared });
        ctx.send_all(self.others(), &vc);
        self.view_changes
            .entry(view)
            .or_default()
            .insert(self.id, vc);
        if let Some(t) = self.timer.take() {
            ctx.cancel_timer(t);
        }
        // If this view does not start in time, try the next, waiting longer.
        self.timer = Some(ctx.set_timer(self.timeout, TIMER_VIEW_CHANGE));
        self.timeout = (self.timeout * 2).min(self.cfg.view_change_timeout * 64);
        self.try_new_view(ctx, view);
    }

    /// A certificate is valid if its pre-prepare comes from the view's primary
    /// and enough distinct backups signed matching prepares.
    fn valid_cert(&self, cert: &Cert) -> bool {
        let check = |m: &PbftMsg| self.cfg.bugs.no_mac_check || m.authentic();
        let Body::PrePrepare { view, seq, req } = &cert.pre_prepare.body else {
            return false;
        };
        let primary = self.cfg.primary(*view);
        if cert.pre_prepare.from != primary || !check(&cert.pre_prepare) {
            return false;
        }
        if let Some(req) = req {
            if !self.cfg.bugs.no_mac_check && !req.authentic() {
                return false;
            }
        }
        let d = digest(req);
        let senders: BTreeSet<NodeId> = cert
            .prepares
            .iter()
            .filter(|p| {
                check(p)
                    && p.from != primary
                    && self.is_replica(p.from)
                    && p.body
                        == Body::Prepare {
                            view: *view,
                            seq: *seq,
                            digest: d,
                        }
            })
            .map(|p| p.from)
            .collect();
        senders.len() >= self.cfg.prepare_quorum()
    }

    /// Is `vc` a well-formed VIEW-CHANGE for `view` whose certificates all check?
    fn valid_view_change(&self, vc: &PbftMsg, view: u64) -> bool {
        let Body::ViewChange { view: v, prepared } = &vc.body else {
            return false;
        };
        *v == view
            && self.is_replica(vc.from)
            && (self.cfg.bugs.no_mac_check || vc.authentic())
            && prepared.iter().all(|c| self.valid_cert(c))
    }

    fn on_view_change(&mut self, ctx: &mut Ctx<'_, PbftMsg>, msg: PbftMsg) {
        let Body::ViewChange { view, .. } = msg.body else {
            return;
        };
        if view < self.view || (view == self.view && !self.changing) {
            return;
        }
        if !self.valid_view_change(&msg, view) {
            ctx.count(AUTH_REJECTED, 1);
            return;
        }
        self.view_changes
            .entry(view)
            .or_default()
            .insert(msg.from, msg);
        // f+1 replicas ask for views above ours: at least one honest replica
        // does, so join the smallest of them rather than wait for our timer.
        let ahead: BTreeSet<NodeId> = self
            .view_changes
            .range(self.view + 1..)
            .flat_map(|(_, m)| m.keys().copied())
            .collect();
        if ahead.len() > self.cfg.f() {
            let smallest = self
                .view_changes
                .range(self.view + 1..)
                .map(|(&v, _)| v)
                .next()
                .expect("non-empty");
            self.start_view_change(ctx, smallest);
        }
        self.try_new_view(ctx, view);
    }

    /// The pre-prepares a new view must carry, computed from its view-changes:
    /// at each sequence number, the request prepared in the highest view
    /// (ties, impossible with honest quorums, go to the first sender), no-ops in gaps.
    fn proposals(view_changes: &[PbftMsg]) -> BTreeMap<u64, Option<Request>> {
        let mut best: BTreeMap<u64, (u64, Option<Request>)> = BTreeMap::new();
        for vc in view_changes {
            let Body::ViewChange { prepared, .. } = &vc.body else {
                continue;
            };
            for cert in prepared {
                if let Body::PrePrepare { view, seq, req } = &cert.pre_prepare.body {
                    if best.get(seq).is_none_or(|(v, _)| view > v) {
                        best.insert(*seq, (*view, req.clone()));
                    }
                }
            }
        }
        let max = best.keys().next_back().copied().unwrap_or(0);
        (1..=max)
            .map(|s| (s, best.remove(&s).and_then(|(_, r)| r)))
            .collect()
    }

    fn try_new_view(&mut self, ctx: &mut Ctx<'_, PbftMsg>, view: u64) {
        if view != self.view || !self.changing || self.cfg.primary(view) != self.id {
            return;
        }
        let Some(vcs) = self.view_changes.get(&view) else {
            return;
        };
        if vcs.len() < self.cfg.quorum() || !vcs.contains_key(&self.id) {
            return;
        }
        let view_changes: Vec<PbftMsg> = vcs.values().take(self.cfg.quorum()).cloned().collect();
        let pre_prepares = Self::proposals(&view_changes)
            .into_iter()
            .map(|(seq, req)| PbftMsg::signed(self.id, Body::PrePrepare { view, seq, req }))
            .collect();
        let nv = PbftMsg::signed(
            self.id,
            Body::NewView {
                view,
                view_changes,
                pre_prepares,
            },
        );
        ctx.send_all(self.others(), &nv);
        self.enter_view(ctx, nv);
    }

    fn on_new_view(&mut self, ctx: &mut Ctx<'_, PbftMsg>, msg: PbftMsg) {
        let Body::NewView {
            view,
            view_changes,
            pre_prepares,
        } = &msg.body
        else {
            return;
        };
        if *view < self.view || (*view == self.view && !self.changing) {
            return;
        }
        if msg.from != self.cfg.primary(*view) {
            return;
        }
        // The proof: 2f+1 valid view-changes from distinct replicas, and
        // exactly the pre-prepares they imply.
        let senders: BTreeSet<NodeId> = view_changes
            .iter()
            .filter(|vc| self.valid_view_change(vc, *view))
            .map(|vc| vc.from)
            .collect();
        let expected: Vec<Body> = Self::proposals(view_changes)
            .into_iter()
            .map(|(seq, req)| Body::PrePrepare {
                view: *view,
                seq,
                req,
            })
            .collect();
        let carried: Vec<&Body> = pre_prepares.iter().map(|p| &p.body).collect();
        let signed = pre_prepares
            .iter()
            .all(|p| p.from == msg.from && (self.cfg.bugs.no_mac_check || p.authentic()));
        if senders.len() < self.cfg.quorum()
            || senders.len() != view_changes.len()
            || !signed
            || carried != expected.iter().collect::<Vec<_>>()
        {
            ctx.count(AUTH_REJECTED, 1);
            return;
        }
        self.enter_view(ctx, msg);
    }

    fn enter_view(&mut self, ctx: &mut Ctx<'_, PbftMsg>, nv: PbftMsg) {
        let Body::NewView {
            view, pre_prepares, ..
        } = nv.body
        else {
            return;
        };
        self.view = view;
        self.changing = false;
        if let Some(t) = self.timer.take() {
            ctx.cancel_timer(t);
        }
        self.view_changes.retain(|&v, _| v > view);
        self.assigned.clear();
        self.next_seq = pre_prepares.len() as u64 + 1;
        for pp in pre_prepares {
            if let Body::PrePrepare { req: Some(r), .. } = &pp.body {
                self.assigned.insert((r.client, r.id));
            }
            self.accept_pre_prepare(ctx, pp);
        }
        let early = std::mem::take(&mut self.early);
        for msg in early {
            self.dispatch(ctx, msg);
        }
        if self.is_primary() {
            // Requests that were waiting in the old view get numbers now.
            let waiting: Vec<Request> = self.pending.values().cloned().collect();
            for req in waiting {
                self.assign(ctx, req);
            }
        } else {
            let primary = self.cfg.primary(view);
            for req in self.pending.values() {
                ctx.send(
                    primary,
                    PbftMsg::signed(self.id, Body::Request(req.clone())),
                );
            }
        }
        self.update_timer(ctx, true);
    }
}

impl Process for Replica {
    type Msg = PbftMsg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, PbftMsg>) {
        self.id = ctx.id();
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
        if tag == TIMER_VIEW_CHANGE {
            self.timer = None;
            let next = self.view + 1;
            self.start_view_change(ctx, next);
        }
    }
}

impl Replica {
    /// Handles an authenticated message.
    fn dispatch(&mut self, ctx: &mut Ctx<'_, PbftMsg>, msg: PbftMsg) {
        let sender_is_replica = self.is_replica(msg.from);
        if let Body::PrePrepare { view, .. }
        | Body::Prepare { view, .. }
        | Body::Commit { view, .. } = msg.body
        {
            // Normal-case traffic of a view this replica has not entered yet
            // (the NEW-VIEW may arrive after the pre-prepares and prepares
            // sent just behind it): kept until the view starts.
            if view > self.view || (view == self.view && self.changing) {
                self.early.push(msg);
                return;
            }
        }
        match msg.body {
            Body::Request(req) => self.on_request(ctx, req),
            Body::PrePrepare { .. } if sender_is_replica => self.on_pre_prepare(ctx, msg),
            Body::Prepare { .. } if sender_is_replica => self.on_prepare(ctx, msg),
            Body::Commit { .. } if sender_is_replica => self.on_commit(ctx, msg.from, msg.body),
            Body::ViewChange { .. } => self.on_view_change(ctx, msg),
            Body::NewView { .. } => self.on_new_view(ctx, msg),
            _ => {}
        }
    }
}

// ---------------------------------------------------------------- client

#[derive(Debug, Clone, PartialEq)]
pub struct ClientConfig {
    pub replicas: Vec<NodeId>,
    pub spec: WorkloadSpec,
    /// Retries (each broadcast to every replica) before giving up.
    pub retries: u32,
    pub bugs: Bugs,
}

const TIMER_NEXT_OP: u64 = 0;
const TIMER_TIMEOUT: u64 = 1;

struct Current {
    op_id: OpId,
    op: ClientOp,
    req: Request,
    tries: u32,
    /// Each replica's latest reply: (seq, result).
    replies: BTreeMap<NodeId, (u64, Outcome)>,
}

pub struct Client {
    cfg: ClientConfig,
    next_id: u64,
    /// The highest view a reply showed: its primary gets the first try.
    view: u64,
    current: Option<Current>,
    timer: Option<TimerId>,
    issued: u64,
}

impl Client {
    pub fn new(cfg: ClientConfig) -> Self {
        Self {
            cfg,
            next_id: 0,
            view: 0,
            current: None,
            timer: None,
            issued: 0,
        }
    }

    fn f(&self) -> usize {
        (self.cfg.replicas.len() - 1) / 3
    }

    fn start_op(&mut self, ctx: &mut Ctx<'_, PbftMsg>) {
        if self.cfg.spec.max_ops > 0 && self.issued >= self.cfg.spec.max_ops {
            return;
        }
        self.issued += 1;
        let op = self.cfg.spec.next_op(ctx.rng());
        let op_id = ctx.invoke(
            ctx.id() as u64,
            op.f(),
            self.cfg.spec.history_key(&op),
            op.invoke_value(),
        );
        self.next_id += 1;
        let req = Request::new(ctx.id(), self.next_id, op);
        let n = self.cfg.replicas.len() as u64;
        let primary = self.cfg.replicas[(self.view % n) as usize];
        ctx.send(
            primary,
            PbftMsg::signed(ctx.id(), Body::Request(req.clone())),
        );
        self.current = Some(Current {
            op_id,
            op,
            req,
            tries: 0,
            replies: BTreeMap::new(),
        });
        self.timer = Some(ctx.set_timer(self.cfg.spec.timeout(), TIMER_TIMEOUT));
    }

    fn finish(&mut self, ctx: &mut Ctx<'_, PbftMsg>, outcome: OpType, value: Value) {
        if let Some(cur) = self.current.take() {
            ctx.complete(cur.op_id, outcome, value);
        }
        if let Some(t) = self.timer.take() {
            ctx.cancel_timer(t);
        }
        ctx.set_timer(self.cfg.spec.think(), TIMER_NEXT_OP);
    }

    fn on_reply(&mut self, ctx: &mut Ctx<'_, PbftMsg>, from: NodeId, body: Body) {
        let Body::Reply {
            view,
            seq,
            id,
            result,
            ..
        } = body
        else {
            return;
        };
        let need = if self.cfg.bugs.first_reply {
            1
        } else {
            self.f() + 1
        };
        let Some(cur) = &mut self.current else {
            return;
        };
        if id != cur.req.id {
            return;
        }
        self.view = self.view.max(view);
        cur.replies.insert(from, (seq, result));
        let matching = cur
            .replies
            .values()
            .filter(|&&r| r == (seq, result))
            .count();
        if matching < need {
            return;
        }
        let (outcome, value) = match (cur.op, result) {
            (ClientOp::Read { .. }, Outcome::Value(v)) => (OpType::Ok, json!(v)),
            (ClientOp::Write { value, .. }, Outcome::Done) => (OpType::Ok, json!(value)),
            (ClientOp::Cas { expected, new, .. }, Outcome::Done) => {
                (OpType::Ok, json!([expected, new]))
            }
            (ClientOp::Cas { .. }, Outcome::CasFailed) => (OpType::Fail, Value::Null),
            // A result that does not fit the operation: not believable.
            _ => return,
        };
        self.finish(ctx, outcome, value);
    }
}

impl Process for Client {
    type Msg = PbftMsg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, PbftMsg>) {
        ctx.set_timer(self.cfg.spec.think(), TIMER_NEXT_OP);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, PbftMsg>, from: NodeId, msg: PbftMsg) {
        let authentic = msg.from == from && msg.authentic();
        if !authentic && !self.cfg.bugs.no_mac_check {
            ctx.count(AUTH_REJECTED, 1);
            return;
        }
        if self.cfg.replicas.contains(&msg.from) {
            self.on_reply(ctx, msg.from, msg.body);
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, PbftMsg>, tag: u64) {
        match tag {
            TIMER_NEXT_OP if self.current.is_none() => self.start_op(ctx),
            TIMER_TIMEOUT => {
                self.timer = None;
                let Some(cur) = &mut self.current else {
                    return;
                };
                if cur.tries >= self.cfg.retries {
                    // Given up: the request may still execute later.
                    return self.finish(ctx, OpType::Info, Value::Null);
                }
                cur.tries += 1;
                // The primary may be faulty: every replica gets it, relays it
                // and starts its view-change timer.
                let msg = PbftMsg::signed(ctx.id(), Body::Request(cur.req.clone()));
                ctx.send_all(self.cfg.replicas.clone(), &msg);
                self.timer = Some(ctx.set_timer(self.cfg.spec.timeout(), TIMER_TIMEOUT));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Request {
        Request::new(5, 7, ClientOp::Write { key: 0, value: 3 })
    }

    fn inner_request(m: &PbftMsg) -> Option<&Request> {
        match &m.body {
            Body::PrePrepare { req, .. } => req.as_ref(),
            Body::Request(req) => Some(req),
            _ => None,
        }
    }

    /// What an honest replica would accept: the MAC checks for the claimed
    /// sender and any request inside checks for its client.
    fn acceptable(m: &PbftMsg, sender: NodeId) -> bool {
        m.from == sender && m.authentic() && inner_request(m).is_none_or(Request::authentic)
    }

    fn samples() -> Vec<PbftMsg> {
        let d = digest(&Some(request()));
        let bodies = [
            Body::Request(request()),
            Body::PrePrepare {
                view: 0,
                seq: 1,
                req: Some(request()),
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
            bugs: Bugs::default(),
        };
        let cert = |view: u64, seq: u64, req: Option<Request>| {
            let d = digest(&req);
            let pre_prepare =
                PbftMsg::signed(cfg.primary(view), Body::PrePrepare { view, seq, req });
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
                    prepared: vec![cert(0, 1, Some(other.clone())), cert(0, 3, None)],
                },
            ),
            PbftMsg::signed(
                2,
                Body::ViewChange {
                    view: 2,
                    prepared: vec![cert(1, 1, Some(request()))],
                },
            ),
        ];
        let replica = Replica::new(cfg.clone());
        assert!(vcs.iter().all(|vc| replica.valid_view_change(vc, 2)));
        let p = Replica::proposals(&vcs);
        assert_eq!(
            p.into_iter().collect::<Vec<_>>(),
            [(1, Some(request())), (2, None), (3, None)]
        );
        // A certificate short of 2f prepares does not check.
        let mut short = cert(0, 1, Some(other));
        short.prepares.truncate(1);
        assert!(!replica.valid_cert(&short));
    }
}
