//! The generic replica of a [`ReplicatedType`]: executes client requests
//! (deduplicated per client by request id) and replicates them in one of
//! two modes. State mode spreads deltas and repairs by periodic full-state
//! gossip; with `compaction`, it also reports what its state has seen, and
//! drops what every replica has seen. Op mode broadcasts each request's
//! operation, delivers operations in causal order ([`super::causal`]), and
//! every gossip interval reports what it delivered to a few random peers,
//! which answer with what it lacks, and forgets what every replica has.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sim_core::{Ctx, Message, NodeId, Process};

use super::causal::{CausalLog, Stability, Stamped};
use super::{Config, Env, Mode, ReplicatedType, NO_DEDUP};
pub use crate::crdt::gossip::Gossip;
use crate::crdt::gossip::{pull_reply, random_peers, DeltaGossip, Shared};
use crate::crdt::vclock::VClock;

#[derive(Debug, Clone, Hash, Serialize)]
#[serde(bound = "")]
pub enum Msg<T: ReplicatedType> {
    Request {
        req: u64,
        body: T::Request,
    },
    Reply {
        req: u64,
        body: T::Reply,
    },
    /// Deltas the sender made or newly learned since its last round.
    Delta {
        state: Shared<T>,
    },
    /// The sender's whole state (answered with the receiver's when it has
    /// something the sender lacks, unless it is itself such an `answer`).
    Full {
        state: Shared<T>,
        answer: bool,
    },
    /// Op mode: operations, each applied once its predecessors are.
    Ops {
        ops: Vec<Stamped<T::Op>>,
    },
    /// What the sender has (op mode: the operations it delivered; state
    /// mode with compaction: the updates its state has seen), for the
    /// receiver's stable frontier. In op mode the receiver answers with
    /// the operations the sender lacks, and, if `pull`, with its own
    /// report when it lacks some of the sender's.
    Have {
        has: VClock,
        pull: bool,
    },
}

impl<T: ReplicatedType> Message for Msg<T> {}

const TIMER_GOSSIP: u64 = 0;

/// On disk, a replica keeps a checkpoint and a log of the requests after
/// it, each entry synced before the reply: writing the whole state per
/// request would cost as much as the state is large. Every
/// `CHECKPOINT_EVERY` requests the log is folded into a new checkpoint.
/// Gossiped state is not written: others hold it and gossip it again.
const CHECKPOINT_KEY: &str = "crdt-types/checkpoint";
const LOG_PREFIX: &str = "crdt-types/log/";
const CHECKPOINT_EVERY: u64 = 64;

/// State, bookkeeping, and per client its last request with the reply, so
/// that a duplicate gets the same answer and is not applied twice.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
struct Checkpoint<T: ReplicatedType> {
    state: T,
    local: T::Local,
    causal: CausalLog<T::Op>,
    applied: BTreeMap<NodeId, (u64, T::Reply)>,
    /// The number of requests it covers.
    logged: u64,
}

/// One change after the checkpoint: a client's request (with its delta in
/// state mode, its operation in op mode, and its reply), or an operation
/// delivered from a peer; and the bookkeeping after it.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
struct LogEntry<T: ReplicatedType> {
    delta: Option<T>,
    op: Option<Stamped<T::Op>>,
    local: T::Local,
    /// The client, its request id and the reply.
    request: Option<(NodeId, u64, T::Reply)>,
}

fn log_key(n: u64) -> String {
    // Zero-padded, so that the storage's key order is the log's order.
    format!("{LOG_PREFIX}{n:016}")
}

pub struct Replica<T: ReplicatedType> {
    /// Every replica, this one included (one list shared by all of them).
    peers: Arc<[NodeId]>,
    gossip: DeltaGossip<T>,
    config: Config,
    state: Arc<T>,
    local: T::Local,
    applied: BTreeMap<NodeId, (u64, T::Reply)>,
    /// Changes made durable so far (checkpoint and log).
    logged: u64,
    /// Op mode: causal delivery.
    causal: CausalLog<T::Op>,
    /// What peers reported having (op mode, and state mode with compaction).
    stability: Stability,
    /// The most remove metadata (tombstones and logged operations) held
    /// at once, for the compaction verdict.
    peak_retained: usize,
}

impl<T: ReplicatedType> Replica<T> {
    pub fn new(peers: Arc<[NodeId]>, gossip: Gossip, config: Config) -> Self {
        Self {
            peers,
            gossip: DeltaGossip::new(gossip),
            config,
            state: Arc::new(T::default()),
            local: T::Local::default(),
            applied: BTreeMap::new(),
            logged: 0,
            causal: CausalLog::default(),
            stability: Stability::default(),
            peak_retained: 0,
        }
    }

    pub fn state(&self) -> &T {
        &self.state
    }

    /// Metadata held now: tombstones, and in op mode the logged and
    /// buffered operations.
    pub fn retained(&self) -> usize {
        self.state.tombstones() + self.causal.logged() + self.causal.buffered()
    }

    /// The most metadata held at once in this incarnation.
    pub fn peak_retained(&self) -> usize {
        self.peak_retained
    }

    fn env(&self, ctx: &Ctx<'_, Msg<T>>) -> Env {
        Env {
            me: ctx.id(),
            wall: ctx.now(),
            monotonic: ctx.monotonic_now(),
            config: self.config.clone(),
        }
    }

    /// Makes a change durable (a request before its reply goes out, an
    /// operation before this replica reports it delivered).
    fn persist(&mut self, ctx: &mut Ctx<'_, Msg<T>>, entry: LogEntry<T>) {
        self.logged += 1;
        if self.logged.is_multiple_of(CHECKPOINT_EVERY) {
            let checkpoint = Checkpoint::<T> {
                state: (*self.state).clone(),
                local: self.local.clone(),
                causal: self.causal.clone(),
                applied: self.applied.clone(),
                logged: self.logged,
            };
            let bytes = serde_json::to_vec(&checkpoint).expect("plain data serializes");
            ctx.storage().write(CHECKPOINT_KEY, bytes);
            let old: Vec<String> = ctx
                .storage()
                .scan(LOG_PREFIX)
                .map(|(k, _)| k.to_string())
                .collect();
            for key in old {
                ctx.storage().delete(&key);
            }
        } else {
            let bytes = serde_json::to_vec(&entry).expect("plain data serializes");
            ctx.storage().write(log_key(self.logged), bytes);
        }
        ctx.storage().sync();
    }

    /// Recovers the checkpoint and replays the log after it.
    fn recover(&mut self, ctx: &mut Ctx<'_, Msg<T>>) {
        let storage = ctx.storage();
        if let Some(c) = storage
            .read(CHECKPOINT_KEY)
            .and_then(|b| serde_json::from_slice::<Checkpoint<T>>(b).ok())
        {
            (self.state, self.local, self.causal) = (Arc::new(c.state), c.local, c.causal);
            (self.applied, self.logged) = (c.applied, c.logged);
        }
        let entries: Vec<LogEntry<T>> = storage
            .scan(LOG_PREFIX)
            .filter_map(|(_, b)| serde_json::from_slice(b).ok())
            .collect();
        for e in entries {
            let state = Arc::make_mut(&mut self.state);
            if let Some(delta) = &e.delta {
                state.join(delta);
            }
            if let Some(op) = e.op {
                state.effect(op.dot(), &op.op, &self.config);
                self.causal.deliver(op);
            }
            self.local = e.local;
            if let Some((client, req, reply)) = e.request {
                self.applied.insert(client, (req, reply));
            }
            self.logged += 1;
        }
    }

    /// Executes a client's request in the run's mode; the reply.
    fn execute(
        &mut self,
        ctx: &mut Ctx<'_, Msg<T>>,
        from: NodeId,
        req: u64,
        body: &T::Request,
    ) -> T::Reply {
        let env = self.env(ctx);
        let (delta, op, reply) = match self.config.mode {
            Mode::State => {
                let (delta, reply) =
                    Arc::make_mut(&mut self.state).execute(&mut self.local, &env, body);
                if let Some(delta) = &delta {
                    self.gossip.queue(delta);
                }
                (delta, None, reply)
            }
            Mode::Ops => {
                let (op, reply) = self.state.prepare(&mut self.local, &env, body);
                let op = op.map(|op| {
                    let stamped = self.causal.issue(env.me, op);
                    Arc::make_mut(&mut self.state).effect(stamped.dot(), &stamped.op, &self.config);
                    stamped
                });
                (None, op, reply)
            }
        };
        self.applied.insert(from, (req, reply.clone()));
        let entry = LogEntry {
            delta,
            op: op.clone(),
            local: self.local.clone(),
            request: Some((from, req, reply.clone())),
        };
        self.persist(ctx, entry);
        if let Some(op) = op {
            let me = env.me;
            let others = self.peers.iter().copied().filter(|&p| p != me);
            ctx.send_all(others, &Msg::Ops { ops: vec![op] });
        }
        reply
    }

    /// Op mode: takes in operations from a peer, applies and logs those
    /// that become deliverable.
    fn receive(&mut self, ctx: &mut Ctx<'_, Msg<T>>, ops: Vec<Stamped<T::Op>>) {
        let dedup = !self.config.bug(NO_DEDUP);
        for op in ops {
            for op in self.causal.receive(op, dedup) {
                Arc::make_mut(&mut self.state).effect(op.dot(), &op.op, &self.config);
                let entry = LogEntry {
                    delta: None,
                    op: Some(op),
                    local: self.local.clone(),
                    request: None,
                };
                self.persist(ctx, entry);
            }
        }
        self.peak_retained = self.peak_retained.max(self.retained());
    }

    /// What this replica reports having: op mode, the operations it
    /// delivered; state mode, what its state has seen.
    fn has(&self) -> VClock {
        match self.config.mode {
            Mode::Ops => self.causal.delivered().clone(),
            Mode::State => self.state.seen(),
        }
    }

    /// Whether this run tracks stability: op mode always (its log), state
    /// mode when compaction is on.
    fn tracks_stability(&self) -> bool {
        self.config.mode == Mode::Ops || (T::COMPACTS && self.config.compaction)
    }

    /// Reports what this replica has to `fanout` random peers, and forgets
    /// what every replica has.
    fn stabilize(&mut self, ctx: &mut Ctx<'_, Msg<T>>) {
        let (me, has) = (ctx.id(), self.has());
        let to = random_peers(ctx.rng(), me, &self.peers, self.gossip.config.fanout);
        let pull = self.config.mode == Mode::Ops;
        ctx.send_all(
            to,
            &Msg::Have {
                has: has.clone(),
                pull,
            },
        );
        let stable = self.stability.frontier(&self.peers, me, &has);
        match self.config.mode {
            Mode::Ops => {
                self.causal.forget_stable(&stable);
            }
            Mode::State => T::compact(&mut self.state, &stable),
        }
    }
}

impl<T: ReplicatedType> Process for Replica<T> {
    type Msg = Msg<T>;

    fn on_start(&mut self, ctx: &mut Ctx<'_, Msg<T>>) {
        self.recover(ctx);
        ctx.set_timer(self.gossip.config.every, TIMER_GOSSIP);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Msg<T>>, from: NodeId, msg: Msg<T>) {
        match msg {
            Msg::Request { req, body } => {
                if let Some((last, reply)) = self.applied.get(&from) {
                    if *last >= req {
                        if *last == req {
                            let body = reply.clone();
                            ctx.send(from, Msg::Reply { req, body });
                        }
                        return;
                    }
                }
                let reply = self.execute(ctx, from, req, &body);
                ctx.send(from, Msg::Reply { req, body: reply });
            }
            Msg::Delta { state } => {
                if Arc::make_mut(&mut self.state).absorb(&state.0, &self.config) {
                    self.gossip.queue(&state.0);
                }
            }
            Msg::Full { state, answer } => {
                if let Some(mine) = pull_reply(&self.state, &state.0, answer) {
                    ctx.send(
                        from,
                        Msg::Full {
                            state: mine,
                            answer: true,
                        },
                    );
                }
                Arc::make_mut(&mut self.state).absorb(&state.0, &self.config);
            }
            Msg::Ops { ops } => self.receive(ctx, ops),
            Msg::Have { has, pull } => {
                self.stability.record(from, &has);
                if self.config.mode == Mode::Ops {
                    let missing = self.causal.missing_for(&has);
                    if !missing.is_empty() {
                        ctx.send(from, Msg::Ops { ops: missing });
                    }
                    if pull && !self.causal.delivered().dominates(&has) {
                        let has = self.causal.delivered().clone();
                        ctx.send(from, Msg::Have { has, pull: false });
                    }
                }
            }
            Msg::Reply { .. } => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Msg<T>>, _tag: u64) {
        self.peak_retained = self.peak_retained.max(self.retained());
        if self.tracks_stability() {
            self.stabilize(ctx);
        }
        if self.config.mode == Mode::State {
            let env = self.env(ctx);
            T::tidy(&mut self.state, &mut self.local, &env);
            let me = ctx.id();
            let round = self.gossip.round(ctx.rng(), me, &self.peers, &self.state);
            if let Some((state, to)) = round.delta {
                ctx.send_all(to, &Msg::Delta { state });
            }
            if let Some((state, to)) = round.full {
                ctx.send(
                    to,
                    Msg::Full {
                        state,
                        answer: false,
                    },
                );
            }
        }
        ctx.set_timer(self.gossip.config.every, TIMER_GOSSIP);
    }
}
