//! A replica of the causal store: applies writes in causal order, serves
//! requests once their dependencies are applied, repairs by anti-entropy.

use std::collections::BTreeMap;

use rand::Rng;
use serde::{Deserialize, Serialize};
use sim_core::{Ctx, Message, Nanos, NodeId, Process};

use crate::crdt::vclock::VClock;
use crate::store_client::StoreOp;

/// A write as it travels between replicas.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Write {
    /// The client that asked for it and its request: a duplicate of the
    /// request is not written again.
    pub client: NodeId,
    pub req: u64,
    pub key: u32,
    pub value: u64,
    pub origin: NodeId,
    /// Its number among its origin's writes, from 1.
    pub seq: u64,
    /// What its origin had applied when it wrote: its dependencies.
    pub deps: VClock,
}

impl Write {
    /// Its causal past and itself.
    pub fn clock(&self) -> VClock {
        let mut c = self.deps.clone();
        c.raise(self.origin, self.seq);
        c
    }

    /// Itself alone, as a clock: what a session that saw it depends on. A
    /// replica that applied it applied its dependencies too, so the
    /// session needs no more (as COPS clients track only their nearest
    /// dependencies).
    pub fn dot(&self) -> VClock {
        VClock::from_entries([(self.origin, self.seq)])
    }

    /// The order of concurrent writes of a key: (sum of the clock, origin),
    /// which a write's causal successors always exceed.
    fn rank(&self) -> (u64, NodeId) {
        (self.clock().entries().map(|(_, n)| n).sum(), self.origin)
    }
}

#[derive(Debug, Clone, Hash, Serialize)]
pub enum Msg {
    /// Client → replica: served once `deps` are applied.
    Request {
        req: u64,
        deps: VClock,
        body: StoreOp,
    },
    /// Replica → client: the value read (`None`: never written) and the
    /// dot of the write it came from, or of the write made.
    Reply {
        req: u64,
        value: Option<u64>,
        clock: VClock,
    },
    /// A write for the other replicas.
    Replicate { write: Write },
    /// Anti-entropy's answer: writes the asker lacks, in a causal order.
    Repair { writes: Vec<Write> },
    /// Anti-entropy: what the sender has applied; answered with writes it lacks.
    Digest { applied: VClock },
}

impl Message for Msg {}

pub struct Replica {
    peers: Vec<NodeId>,
    gossip: Nanos,
    /// The known bug `visible-before-deps`.
    visible_early: bool,
    /// Writes applied, per origin (a causal cut).
    applied: VClock,
    /// Every applied write in the order applied (a causal order).
    log: Vec<Write>,
    /// Each key's visible write.
    data: BTreeMap<u32, Write>,
    /// Writes received before their dependencies.
    buffer: Vec<Write>,
    /// Requests waiting for their dependencies: (client, req, deps, body).
    waiting: Vec<(NodeId, u64, VClock, StoreOp)>,
    /// Each client's last write request here (rebuilt from the log).
    last_write: BTreeMap<NodeId, u64>,
}

const TIMER_GOSSIP: u64 = 0;
/// Writes an anti-entropy answer carries at most.
const REPAIR_BATCH: usize = 256;

impl Replica {
    pub fn new(peers: Vec<NodeId>, gossip: Nanos, visible_early: bool) -> Self {
        Self {
            peers,
            gossip,
            visible_early,
            applied: VClock::new(),
            log: Vec::new(),
            data: BTreeMap::new(),
            buffer: Vec::new(),
            waiting: Vec::new(),
            last_write: BTreeMap::new(),
        }
    }

    /// Each key's visible value.
    pub fn values(&self) -> BTreeMap<u32, u64> {
        self.data.iter().map(|(&k, w)| (k, w.value)).collect()
    }

    /// Makes `write` the key's value if it ranks above the one there.
    fn make_visible(&mut self, write: &Write) {
        let newer = self
            .data
            .get(&write.key)
            .is_none_or(|old| write.rank() > old.rank());
        if newer {
            self.data.insert(write.key, write.clone());
        }
    }

    /// Applies `write` (its dependencies are applied) and writes it down.
    fn apply(&mut self, ctx: &mut Ctx<'_, Msg>, write: Write) {
        self.applied.raise(write.origin, write.seq);
        self.make_visible(&write);
        let bytes = serde_json::to_vec(&write).expect("plain data serializes");
        ctx.storage()
            .write(format!("log/{:010}", self.log.len()), bytes);
        self.log.push(write);
    }

    /// The next write from its origin, whose dependencies are applied (the
    /// bug `visible-before-deps` skips the second half).
    fn deliverable(&self, w: &Write) -> bool {
        self.applied.get(w.origin) + 1 == w.seq
            && (self.visible_early || self.applied.dominates(&w.deps))
    }

    /// A write from another replica: applied when deliverable, else buffered;
    /// then whatever it unblocked.
    fn receive(&mut self, ctx: &mut Ctx<'_, Msg>, write: Write) {
        let known =
            self.applied.get(write.origin) >= write.seq || self.buffer.iter().any(|b| b == &write);
        if known {
            return;
        }
        self.buffer.push(write);
        let mut progressed = false;
        while let Some(i) = self.buffer.iter().position(|w| self.deliverable(w)) {
            let w = self.buffer.swap_remove(i);
            self.apply(ctx, w);
            progressed = true;
        }
        if progressed {
            let origin = self.applied.clone();
            self.buffer.retain(|w| origin.get(w.origin) < w.seq);
            self.serve_waiting(ctx);
        }
    }

    fn serve(&mut self, ctx: &mut Ctx<'_, Msg>, client: NodeId, req: u64, body: StoreOp) {
        let reply = match body {
            StoreOp::Read { key } => match self.data.get(&key) {
                Some(w) => Msg::Reply {
                    req,
                    value: Some(w.value),
                    clock: w.dot(),
                },
                None => Msg::Reply {
                    req,
                    value: None,
                    clock: VClock::new(),
                },
            },
            StoreOp::Write { key, value } => {
                let me = ctx.id();
                if self
                    .last_write
                    .get(&client)
                    .is_some_and(|&last| last >= req)
                {
                    return; // a duplicate delivered by the network
                }
                self.last_write.insert(client, req);
                let write = Write {
                    client,
                    req,
                    key,
                    value,
                    origin: me,
                    seq: self.applied.get(me) + 1,
                    deps: self.applied.clone(),
                };
                self.apply(ctx, write.clone());
                ctx.storage().sync();
                let others: Vec<NodeId> = self.peers.iter().copied().filter(|&p| p != me).collect();
                let clock = write.dot();
                ctx.send_all(others, &Msg::Replicate { write });
                Msg::Reply {
                    req,
                    value: Some(value),
                    clock,
                }
            }
        };
        ctx.send(client, reply);
    }

    fn serve_waiting(&mut self, ctx: &mut Ctx<'_, Msg>) {
        let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|(_, _, deps, _)| self.applied.dominates(deps));
        self.waiting = waiting;
        for (client, req, _, body) in ready {
            self.serve(ctx, client, req, body);
        }
    }
}

impl Process for Replica {
    type Msg = Msg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, Msg>) {
        let logged: Vec<Write> = ctx
            .storage()
            .scan("log/")
            .filter_map(|(_, v)| serde_json::from_slice(v).ok())
            .collect();
        (self.applied, self.log, self.data) = (VClock::new(), Vec::new(), BTreeMap::new());
        self.buffer.clear();
        self.waiting.clear();
        self.last_write.clear();
        let me = ctx.id();
        for w in logged {
            if w.origin == me {
                self.last_write.insert(w.client, w.req);
            }
            self.applied.raise(w.origin, w.seq);
            self.make_visible(&w);
            self.log.push(w);
        }
        ctx.set_timer(self.gossip, TIMER_GOSSIP);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Msg>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Request { req, deps, body } => {
                if self.applied.dominates(&deps) {
                    self.serve(ctx, from, req, body);
                } else {
                    tracing::debug!(client = from, "request waits for its dependencies");
                    self.waiting.push((from, req, deps, body));
                }
            }
            Msg::Replicate { write } => self.receive(ctx, write),
            Msg::Repair { writes } => {
                for write in writes {
                    self.receive(ctx, write);
                }
            }
            Msg::Digest { applied } => {
                let missing: Vec<Write> = self
                    .log
                    .iter()
                    .filter(|w| applied.get(w.origin) < w.seq)
                    .take(REPAIR_BATCH)
                    .cloned()
                    .collect();
                if !missing.is_empty() {
                    ctx.send(from, Msg::Repair { writes: missing });
                }
            }
            Msg::Reply { .. } => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Msg>, _: u64) {
        let me = ctx.id();
        let others: Vec<NodeId> = self.peers.iter().copied().filter(|&p| p != me).collect();
        if !others.is_empty() {
            let to = others[ctx.rng().random_range(0..others.len())];
            ctx.send(
                to,
                Msg::Digest {
                    applied: self.applied.clone(),
                },
            );
        }
        ctx.set_timer(self.gossip, TIMER_GOSSIP);
    }
}
