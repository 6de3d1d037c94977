//! The generic replica of a [`ReplicatedType`]: executes client requests
//! (deduplicated per client by request id), spreads deltas, and repairs by
//! periodic full-state gossip.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sim_core::{Ctx, Message, NodeId, Process};

use super::{Config, Env, ReplicatedType};
pub use crate::crdt::gossip::Gossip;
use crate::crdt::gossip::{pull_reply, DeltaGossip, Shared};

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
    applied: BTreeMap<NodeId, (u64, T::Reply)>,
    /// The number of requests it covers.
    logged: u64,
}

/// One request after the checkpoint: its delta, the bookkeeping after it, its reply.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
struct LogEntry<T: ReplicatedType> {
    delta: Option<T>,
    local: T::Local,
    client: NodeId,
    req: u64,
    reply: T::Reply,
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
    /// Requests made durable so far (checkpoint and log).
    logged: u64,
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
        }
    }

    pub fn state(&self) -> &T {
        &self.state
    }

    fn env(&self, ctx: &Ctx<'_, Msg<T>>) -> Env {
        Env {
            me: ctx.id(),
            wall: ctx.now(),
            monotonic: ctx.monotonic_now(),
            config: self.config.clone(),
        }
    }

    /// Makes a request durable before its reply goes out.
    fn persist(&mut self, ctx: &mut Ctx<'_, Msg<T>>, entry: LogEntry<T>) {
        self.logged += 1;
        if self.logged.is_multiple_of(CHECKPOINT_EVERY) {
            let checkpoint = Checkpoint::<T> {
                state: (*self.state).clone(),
                local: self.local.clone(),
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
            (self.state, self.local) = (Arc::new(c.state), c.local);
            (self.applied, self.logged) = (c.applied, c.logged);
        }
        let entries: Vec<LogEntry<T>> = storage
            .scan(LOG_PREFIX)
            .filter_map(|(_, b)| serde_json::from_slice(b).ok())
            .collect();
        for e in entries {
            if let Some(delta) = &e.delta {
                Arc::make_mut(&mut self.state).join(delta);
            }
            self.local = e.local;
            self.applied.insert(e.client, (e.req, e.reply));
            self.logged += 1;
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
                let env = self.env(ctx);
                let (delta, reply) =
                    Arc::make_mut(&mut self.state).execute(&mut self.local, &env, &body);
                if let Some(delta) = &delta {
                    self.gossip.queue(delta);
                }
                self.applied.insert(from, (req, reply.clone()));
                let entry = LogEntry {
                    delta,
                    local: self.local.clone(),
                    client: from,
                    req,
                    reply: reply.clone(),
                };
                self.persist(ctx, entry);
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
            Msg::Reply { .. } => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Msg<T>>, _tag: u64) {
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
        ctx.set_timer(self.gossip.config.every, TIMER_GOSSIP);
    }
}
