//! State-based CRDT replicas: a grow-only set and a grow-only counter,
//! converging by anti-entropy gossip.
//!
//! Clients send each update (`add` an element, `incr` the counter) to one
//! replica, which applies it, makes it durable and acknowledges it. Replicas
//! spread what they learn by delta gossip ([`gossip`]: deltas to a few
//! random peers every interval, the whole state to one peer now and then),
//! and merge what they receive: set union, and per-replica maximum of the
//! counter's entries. Merge is commutative, associative and idempotent, so duplicated,
//! reordered and lost gossip cannot make replicas disagree once the network
//! heals and gossip has run for a while: that is what the convergence checker
//! judges at the end of a run.
//!
//! Known-bug variants: `replace-merge` (a replica adopts a gossiped state
//! that looks newer instead of merging: updates only it had are lost),
//! `sum-merge` (counter entries are added instead of maxed: every repeated
//! gossip counts again), `no-sync` (updates are acknowledged before they
//! are durable: a power loss forgets acknowledged updates nobody else had),
//! `reuse-request-ids` (a restarted client numbers its updates from 1
//! again: replicas acknowledge them as duplicates without applying them),
//! and `no-gossip-after-restart` (a replica starts its gossip service on
//! first boot only: after a restart it neither gossips nor answers a peer's
//! state, so updates it accepts never reach the others — the convergence
//! bound of [`spread`] catches it).

pub mod chunked_set;
mod driver;
pub mod gossip;
pub mod lattice;
pub mod lww;
pub mod mv_register;
pub mod or_set;
pub mod pn_counter;
pub mod spread;
mod state;
pub mod timestamp;
pub mod vclock;
pub use driver::register;
pub use state::CrdtState;

use std::collections::BTreeMap;
use std::sync::Arc;

use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sim_core::{Ctx, Message, NodeId, OpId, OpType, Process, TimerId};

use crate::request_ids::RequestIds;
use crate::workload::WorkloadSpec;
use gossip::{pull_reply, DeltaGossip, Gossip, Shared};
use lattice::Lattice;

pub const BUGS: [&str; 5] = [
    "replace-merge",
    "sum-merge",
    "no-sync",
    crate::request_ids::REUSE_REQUEST_IDS,
    "no-gossip-after-restart",
];

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bugs {
    pub replace_merge: bool,
    pub sum_merge: bool,
    pub no_sync: bool,
    pub reuse_request_ids: bool,
    pub no_gossip_after_restart: bool,
}

impl Bugs {
    pub fn parse(names: &[String]) -> Result<Self, String> {
        let [replace_merge, sum_merge, no_sync, reuse_request_ids, no_gossip_after_restart] =
            crate::bug_names::switched_on("crdt", names, BUGS)?;
        Ok(Bugs {
            replace_merge,
            sum_merge,
            no_sync,
            reuse_request_ids,
            no_gossip_after_restart,
        })
    }
}

/// One update a client asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Update {
    Add(u64),
    Incr(u64),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub enum CrdtMsg {
    Update {
        req: u64,
        update: Update,
    },
    Ack {
        req: u64,
    },
    /// Deltas the sender made or newly learned since its last round.
    Delta {
        state: Shared<CrdtState>,
    },
    /// The sender's whole state (answered with the receiver's when it has
    /// something the sender lacks, unless it is itself such an `answer`).
    Full {
        state: Shared<CrdtState>,
        answer: bool,
    },
}

impl Message for CrdtMsg {}

const TIMER_GOSSIP: u64 = 0;

/// What a replica keeps on disk, one key per fact, so that an update writes
/// a few bytes however large the state has grown: each element a client
/// added here, this replica's own counter entry, and per client the last
/// request applied, so that a duplicated update (the network may deliver
/// one twice) is acknowledged again but not applied again — an increment is
/// not idempotent. Gossiped state is not written: peers teach it again.
mod disk {
    use std::collections::{BTreeMap, BTreeSet};

    use sim_core::storage::Storage;
    use sim_core::NodeId;

    const ELEMENT: &str = "crdt/set/";
    const OWN_COUNT: &str = "crdt/count";
    const APPLIED: &str = "crdt/applied/";

    pub fn write_element(storage: &mut Storage, x: u64) {
        storage.write(format!("{ELEMENT}{x}"), Vec::new());
    }

    pub fn write_own_count(storage: &mut Storage, n: u64) {
        storage.write(OWN_COUNT, n.to_string().into_bytes());
    }

    pub fn write_applied(storage: &mut Storage, client: NodeId, req: u64) {
        storage.write(format!("{APPLIED}{client}"), req.to_string().into_bytes());
    }

    fn number<T: std::str::FromStr>(text: &[u8]) -> Option<T> {
        std::str::from_utf8(text).ok()?.parse().ok()
    }

    /// What a restarted replica recovers: the elements added here, its own
    /// counter entry, the last request applied per client. A key this module
    /// did not write in that form is skipped.
    pub fn read(storage: &Storage) -> (BTreeSet<u64>, u64, BTreeMap<NodeId, u64>) {
        let elements = storage
            .scan(ELEMENT)
            .filter_map(|(key, _)| number(key.strip_prefix(ELEMENT)?.as_bytes()))
            .collect();
        let own = storage.read(OWN_COUNT).and_then(number).unwrap_or(0);
        let applied = storage
            .scan(APPLIED)
            .filter_map(|(key, value)| {
                Some((
                    number(key.strip_prefix(APPLIED)?.as_bytes())?,
                    number(value)?,
                ))
            })
            .collect();
        (elements, own, applied)
    }
}

/// A replica.
pub struct Replica {
    /// Every replica, this one included (one list shared by all of them).
    peers: Arc<[NodeId]>,
    gossip: DeltaGossip<CrdtState>,
    bugs: Bugs,
    state: Arc<CrdtState>,
    applied: BTreeMap<NodeId, u64>,
    /// Whether this incarnation's gossip service runs: its rounds, and its
    /// answers to a peer's whole state.
    gossiping: bool,
}

impl Replica {
    pub fn new(peers: Arc<[NodeId]>, gossip: Gossip, bugs: Bugs) -> Self {
        Self {
            peers,
            gossip: DeltaGossip::new(gossip),
            bugs,
            state: Arc::default(),
            applied: BTreeMap::new(),
            gossiping: false,
        }
    }

    pub fn state(&self) -> &CrdtState {
        &self.state
    }

    /// Writes what an accepted update changed — the element or this
    /// replica's counter entry, and the client's last request — synced
    /// unless the `no-sync` bug is on.
    fn persist(&self, ctx: &mut Ctx<'_, CrdtMsg>, client: NodeId, req: u64, update: Update) {
        let me = ctx.id();
        match update {
            Update::Add(x) => disk::write_element(ctx.storage(), x),
            Update::Incr(_) => {
                let own = self.state.counts().iter().find(|&&(k, _)| k == me);
                disk::write_own_count(ctx.storage(), own.map_or(0, |&(_, n)| n));
            }
        }
        disk::write_applied(ctx.storage(), client, req);
        if !self.bugs.no_sync {
            ctx.storage().sync();
        }
    }

    /// Merges gossiped state (or, with a bug on, does what the bug does);
    /// what changed, to be passed on (`None`: nothing).
    fn absorb(&mut self, other: &CrdtState) -> Option<CrdtState> {
        let new = if self.bugs.replace_merge && other.size() > self.state.size() {
            self.state = Arc::new(other.clone());
            other.clone()
        } else if self.bugs.sum_merge {
            let state = Arc::make_mut(&mut self.state);
            for x in other.set().iter() {
                state.add(x);
            }
            for &(node, n) in other.counts() {
                state.bump(node, n);
            }
            other.clone()
        } else if other.leq(&self.state) {
            // Most gossip brings nothing new: find out without a copy of a
            // state that a message in flight still shares.
            return None;
        } else {
            Arc::make_mut(&mut self.state).merge_new(other)
        };
        (new.size() > 0).then_some(new)
    }

    fn merged(&self, from: NodeId) {
        tracing::debug!(
            peer = from,
            elements = self.state.set().len(),
            counter = self.state.counter(),
            "merged gossip"
        );
    }
}

impl Process for Replica {
    type Msg = CrdtMsg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, CrdtMsg>) {
        let (elements, own, applied) = disk::read(ctx.storage());
        let me = ctx.id();
        self.state = Arc::new(CrdtState::from_parts(elements, BTreeMap::from([(me, own)])));
        self.applied = applied;
        self.gossiping = !(self.bugs.no_gossip_after_restart && ctx.incarnation() > 0);
        if self.gossiping {
            ctx.set_timer(self.gossip.config.every, TIMER_GOSSIP);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, CrdtMsg>, from: NodeId, msg: CrdtMsg) {
        match msg {
            CrdtMsg::Update { req, update } => {
                if self.applied.get(&from).is_some_and(|&last| last >= req) {
                    ctx.send(from, CrdtMsg::Ack { req });
                    return;
                }
                self.applied.insert(from, req);
                let me = ctx.id();
                let state = Arc::make_mut(&mut self.state);
                let mut delta = CrdtState::default();
                match update {
                    Update::Add(x) => {
                        state.add(x);
                        delta.add(x);
                    }
                    Update::Incr(n) => {
                        delta.raise(me, state.bump(me, n));
                    }
                }
                self.gossip.queue(&delta);
                self.persist(ctx, from, req, update);
                ctx.send(from, CrdtMsg::Ack { req });
            }
            CrdtMsg::Delta { state } => {
                if let Some(new) = self.absorb(&state.0) {
                    self.merged(from);
                    self.gossip.queue(&new);
                }
            }
            CrdtMsg::Full { state, answer } => {
                let reply = pull_reply(&self.state, &state.0, answer).filter(|_| self.gossiping);
                if let Some(mine) = reply {
                    ctx.send(
                        from,
                        CrdtMsg::Full {
                            state: mine,
                            answer: true,
                        },
                    );
                }
                if self.absorb(&state.0).is_some() {
                    self.merged(from);
                }
            }
            CrdtMsg::Ack { .. } => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, CrdtMsg>, _tag: u64) {
        let me = ctx.id();
        let round = self.gossip.round(ctx.rng(), me, &self.peers, &self.state);
        if let Some((state, to)) = round.delta {
            ctx.send_all(to, &CrdtMsg::Delta { state });
        }
        if let Some((state, to)) = round.full {
            ctx.send(
                to,
                CrdtMsg::Full {
                    state,
                    answer: false,
                },
            );
        }
        ctx.set_timer(self.gossip.config.every, TIMER_GOSSIP);
    }
}

/// A client: one update at a time to a random replica, until the workload
/// is over (on the harness's clock, `Ctx::workload_over`), so that gossip
/// can quiesce before the run ends.
pub struct Client {
    replicas: Vec<NodeId>,
    spec: WorkloadSpec,
    ids: RequestIds,
    open: Option<(u64, OpId, TimerId)>,
    next_element: u64,
}

const TIMER_NEXT: u64 = 0;
const TIMER_TIMEOUT: u64 = 1;

impl Client {
    pub fn new(replicas: Vec<NodeId>, spec: WorkloadSpec, bugs: Bugs) -> Self {
        Self {
            replicas,
            spec,
            ids: RequestIds::new(bugs.reuse_request_ids),
            open: None,
            next_element: 0,
        }
    }

    fn start_op(&mut self, ctx: &mut Ctx<'_, CrdtMsg>) {
        if ctx.workload_over() {
            return;
        }
        // Half adds of fresh elements (unique per client incarnation), half increments.
        let update = if ctx.rng().random_bool(0.5) {
            self.next_element += 1;
            Update::Add(ctx.history_process() * 1_000_000 + self.next_element)
        } else {
            Update::Incr(ctx.rng().random_range(1..=5))
        };
        let (f, value) = match update {
            Update::Add(x) => ("add", json!(x)),
            Update::Incr(n) => ("incr", json!(n)),
        };
        let op = ctx.invoke(f, None, value);
        let req = self.ids.next(ctx);
        let to = self.replicas[ctx.rng().random_range(0..self.replicas.len())];
        ctx.send(to, CrdtMsg::Update { req, update });
        let timer = ctx.set_timer(self.spec.timeout(), TIMER_TIMEOUT);
        self.open = Some((req, op, timer));
    }

    fn finish(&mut self, ctx: &mut Ctx<'_, CrdtMsg>, outcome: OpType) {
        if let Some((_, op, timer)) = self.open.take() {
            ctx.cancel_timer(timer);
            ctx.complete(op, outcome, Value::Null);
        }
        ctx.set_timer(self.spec.think(), TIMER_NEXT);
    }
}

impl Process for Client {
    type Msg = CrdtMsg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, CrdtMsg>) {
        ctx.set_timer(self.spec.think(), TIMER_NEXT);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, CrdtMsg>, _from: NodeId, msg: CrdtMsg) {
        if let CrdtMsg::Ack { req } = msg {
            if self.open.is_some_and(|(r, _, _)| r == req) {
                self.finish(ctx, OpType::Ok);
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, CrdtMsg>, tag: u64) {
        match tag {
            TIMER_NEXT if self.open.is_none() => self.start_op(ctx),
            // The update may have been applied and its ack lost.
            TIMER_TIMEOUT => self.finish(ctx, OpType::Info),
            _ => {}
        }
    }
}
