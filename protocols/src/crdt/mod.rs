//! State-based CRDT replicas: a grow-only set and a grow-only counter,
//! converging by anti-entropy gossip.
//!
//! Clients send each update (`add` an element, `incr` the counter) to one
//! replica, which applies it, makes it durable and acknowledges it. Every
//! gossip interval each replica sends its whole state to one random peer,
//! which merges it: set union, and per-replica maximum of the counter's
//! entries. Merge is commutative, associative and idempotent, so duplicated,
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
//! and `no-gossip-after-restart` (a replica arms its gossip timer on first
//! boot only: after a restart, updates it accepts never reach the others —
//! the convergence bound of [`spread`] catches it).

mod driver;
pub mod lattice;
pub mod lww;
pub mod mv_register;
pub mod or_set;
pub mod pn_counter;
pub mod spread;
pub mod timestamp;
pub mod vclock;
pub use driver::register;

use std::collections::{BTreeMap, BTreeSet};

use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sim_core::{Ctx, Message, Nanos, NodeId, OpId, OpType, Process, TimerId};

use crate::request_ids::RequestIds;
use crate::workload::WorkloadSpec;

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

/// A replica's whole state: what gossip carries and storage keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CrdtState {
    pub set: BTreeSet<u64>,
    /// Per replica, the increments it accepted (a G-counter).
    pub counts: BTreeMap<NodeId, u64>,
}

impl CrdtState {
    /// The counter's value (saturating: the `sum-merge` bug can inflate
    /// entries without bound, and that must show as a wrong value, not a panic).
    pub fn counter(&self) -> u64 {
        self.counts.values().fold(0u64, |a, &n| a.saturating_add(n))
    }

    /// Whether this state has everything `other` has (`other ≤ self`).
    pub fn includes(&self, other: &CrdtState) -> bool {
        other.set.is_subset(&self.set)
            && other
                .counts
                .iter()
                .all(|(node, &n)| self.counts.get(node).is_some_and(|&mine| mine >= n))
    }

    /// The join of two states (least upper bound).
    pub fn merge(&mut self, other: &CrdtState) {
        self.set.extend(other.set.iter().copied());
        for (&node, &n) in &other.counts {
            let mine = self.counts.entry(node).or_insert(0);
            *mine = (*mine).max(n);
        }
    }

    fn size(&self) -> usize {
        self.set.len() + self.counts.len()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CrdtMsg {
    Update { req: u64, update: Update },
    Ack { req: u64 },
    Gossip { state: CrdtState },
}

impl Message for CrdtMsg {}

const STATE_KEY: &str = "crdt/state";
const TIMER_GOSSIP: u64 = 0;

/// What a replica keeps on disk: its state, and per client the last request
/// it applied, so that a duplicated update (the network may deliver one
/// twice) is acknowledged again but not applied again — an increment is not
/// idempotent.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Durable {
    state: CrdtState,
    applied: BTreeMap<NodeId, u64>,
}

/// A replica.
pub struct Replica {
    peers: Vec<NodeId>,
    gossip_every: Nanos,
    bugs: Bugs,
    state: CrdtState,
    applied: BTreeMap<NodeId, u64>,
}

impl Replica {
    pub fn new(peers: Vec<NodeId>, gossip_every: Nanos, bugs: Bugs) -> Self {
        Self {
            peers,
            gossip_every,
            bugs,
            state: CrdtState::default(),
            applied: BTreeMap::new(),
        }
    }

    pub fn state(&self) -> &CrdtState {
        &self.state
    }

    fn persist(&self, ctx: &mut Ctx<'_, CrdtMsg>, sync: bool) {
        let durable = Durable {
            state: self.state.clone(),
            applied: self.applied.clone(),
        };
        let bytes = serde_json::to_vec(&durable).expect("plain data serializes");
        ctx.storage().write(STATE_KEY, bytes);
        if sync {
            ctx.storage().sync();
        }
    }

    fn absorb(&mut self, other: &CrdtState) {
        if self.bugs.replace_merge && other.size() > self.state.size() {
            self.state = other.clone();
        } else if self.bugs.sum_merge {
            self.state.set.extend(other.set.iter().copied());
            for (&node, &n) in &other.counts {
                let mine = self.state.counts.entry(node).or_insert(0);
                *mine = mine.saturating_add(n);
            }
        } else {
            self.state.merge(other);
        }
    }
}

impl Process for Replica {
    type Msg = CrdtMsg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, CrdtMsg>) {
        let durable: Durable = ctx
            .storage()
            .read(STATE_KEY)
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or_default();
        (self.state, self.applied) = (durable.state, durable.applied);
        if !(self.bugs.no_gossip_after_restart && ctx.incarnation() > 0) {
            ctx.set_timer(self.gossip_every, TIMER_GOSSIP);
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
                match update {
                    Update::Add(x) => {
                        self.state.set.insert(x);
                    }
                    Update::Incr(n) => {
                        let mine = self.state.counts.entry(ctx.id()).or_insert(0);
                        *mine = mine.saturating_add(n);
                    }
                }
                self.persist(ctx, !self.bugs.no_sync);
                ctx.send(from, CrdtMsg::Ack { req });
            }
            CrdtMsg::Gossip { state } => {
                let before = self.state.clone();
                self.absorb(&state);
                if self.state != before {
                    tracing::debug!(
                        peer = from,
                        elements = self.state.set.len(),
                        counter = self.state.counter(),
                        "merged gossip"
                    );
                    // Gossiped state can be re-learned, so it need not be
                    // synced at once; the next acknowledged update syncs it.
                    self.persist(ctx, false);
                }
            }
            CrdtMsg::Ack { .. } => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, CrdtMsg>, _tag: u64) {
        let others: Vec<NodeId> = self
            .peers
            .iter()
            .copied()
            .filter(|&p| p != ctx.id())
            .collect();
        if !others.is_empty() {
            let to = others[ctx.rng().random_range(0..others.len())];
            ctx.send(
                to,
                CrdtMsg::Gossip {
                    state: self.state.clone(),
                },
            );
        }
        ctx.set_timer(self.gossip_every, TIMER_GOSSIP);
    }
}

/// A client: one update at a time to a random replica, until `stop_at`
/// (local time), so that gossip can quiesce before the run ends.
pub struct Client {
    replicas: Vec<NodeId>,
    spec: WorkloadSpec,
    stop_at: Nanos,
    ids: RequestIds,
    open: Option<(u64, OpId, TimerId)>,
    next_element: u64,
}

const TIMER_NEXT: u64 = 0;
const TIMER_TIMEOUT: u64 = 1;

impl Client {
    pub fn new(replicas: Vec<NodeId>, spec: WorkloadSpec, stop_at: Nanos, bugs: Bugs) -> Self {
        Self {
            replicas,
            spec,
            stop_at,
            ids: RequestIds::new(bugs.reuse_request_ids),
            open: None,
            next_element: 0,
        }
    }

    fn start_op(&mut self, ctx: &mut Ctx<'_, CrdtMsg>) {
        if ctx.now() >= self.stop_at {
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn state() -> impl Strategy<Value = CrdtState> {
        (
            proptest::collection::btree_set(0u64..50, 0..10),
            proptest::collection::btree_map(0u32..5, 0u64..100, 0..5),
        )
            .prop_map(|(set, counts)| CrdtState { set, counts })
    }

    fn merged(a: &CrdtState, b: &CrdtState) -> CrdtState {
        let mut x = a.clone();
        x.merge(b);
        x
    }

    proptest! {
        #[test]
        fn merge_is_commutative_associative_and_idempotent(a in state(), b in state(), c in state()) {
            prop_assert_eq!(merged(&a, &b), merged(&b, &a));
            prop_assert_eq!(merged(&merged(&a, &b), &c), merged(&a, &merged(&b, &c)));
            prop_assert_eq!(merged(&a, &a), a.clone());
            // And the result is an upper bound of both.
            let m = merged(&a, &b);
            prop_assert!(a.set.is_subset(&m.set) && b.set.is_subset(&m.set));
            prop_assert!(m.counter() >= a.counter().max(b.counter()));
        }
    }
}
