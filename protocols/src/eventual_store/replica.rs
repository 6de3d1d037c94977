//! A replica of the eventual store: coordinator of the requests clients send
//! it, holder of every key's register, and an anti-entropy gossiper.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rand::Rng;
use serde::Serialize;
use sim_core::{Ctx, Message, Nanos, NodeId, Process};

use crate::crdt::gossip::Shared;
use crate::crdt::lattice::Lattice;
use crate::crdt::mv_register::MvRegister;
use crate::crdt::vclock::VClock;

/// Every key's register.
pub type Store = BTreeMap<u32, MvRegister>;

/// A sibling as a client sees it: (write id, value, its clock).
pub type Seen = (u64, u64, VClock);

#[derive(Debug, Clone, Hash, Serialize)]
pub enum Msg {
    /// Client → coordinator.
    Get {
        req: u64,
        key: u32,
    },
    Put {
        req: u64,
        key: u32,
        write: u64,
        value: u64,
        context: VClock,
    },
    /// Coordinator → client: the key's siblings after the operation.
    Reply {
        req: u64,
        siblings: Vec<Seen>,
    },
    /// Coordinator ↔ the other replicas of a quorum.
    Fetch {
        op: u64,
        key: u32,
    },
    Fetched {
        op: u64,
        register: MvRegister,
    },
    Store {
        op: u64,
        key: u32,
        register: MvRegister,
    },
    Stored {
        op: u64,
    },
    /// Anti-entropy: the sender's whole store; `answer` asks for the
    /// receiver's in return if it holds something the sender lacks.
    Gossip {
        store: Shared<Store>,
        answer: bool,
    },
}

impl Message for Msg {}

/// The quorum settings and timings every replica runs with.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub n: usize,
    pub r: usize,
    pub w: usize,
    pub sloppy_after: Nanos,
    pub gossip: Nanos,
    /// The known bug `resolve-by-own-component`.
    pub own_component: bool,
}

/// A request this replica coordinates.
struct Pending {
    client: NodeId,
    req: u64,
    key: u32,
    /// Replicas that answered (the coordinator itself included).
    answered: BTreeSet<NodeId>,
    /// Whether the replicas past the preference list were asked too.
    widened: bool,
    /// A read: the registers merged so far; a write: `None`.
    merged: Option<MvRegister>,
}

impl Pending {
    /// Client `client`'s request `req` about `key`, just taken on by the
    /// coordinator `me`, which counts as its first answer; `merged` as above.
    fn new(client: NodeId, req: u64, key: u32, me: NodeId, merged: Option<MvRegister>) -> Self {
        Self {
            client,
            req,
            key,
            answered: BTreeSet::from([me]),
            widened: false,
            merged,
        }
    }
}

pub struct Replica {
    peers: Vec<NodeId>,
    settings: Settings,
    store: Arc<Store>,
    /// The last dot sequence this replica issued (durable: dots are unique).
    issued: u64,
    pending: BTreeMap<u64, Pending>,
    /// Each client's last write request (durable): a duplicate delivered
    /// by the network must not write again under another dot.
    last_put: BTreeMap<NodeId, u64>,
}

const TIMER_GOSSIP: u64 = u64::MAX;
/// Timer tags of pending operations: `op << 1 | phase`.
const PHASE_WIDEN: u64 = 0;
const PHASE_GIVE_UP: u64 = 1;

fn storage_key(key: u32) -> String {
    format!("kv/{key:010}")
}

impl Replica {
    pub fn new(peers: Vec<NodeId>, settings: Settings) -> Self {
        Self {
            peers,
            settings,
            store: Arc::new(Store::new()),
            issued: 0,
            pending: BTreeMap::new(),
            last_put: BTreeMap::new(),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The replicas in ring order from `key`'s home: the first `n` are its
    /// preference list.
    fn ring(&self, key: u32) -> impl Iterator<Item = NodeId> + '_ {
        let len = self.peers.len();
        (0..len).map(move |i| self.peers[(key as usize + i) % len])
    }

    /// Merges `other` into `key`'s register and writes it down (synced when
    /// `sync`: before an acknowledgement); whether anything changed.
    fn absorb(&mut self, ctx: &mut Ctx<'_, Msg>, key: u32, other: &MvRegister, sync: bool) -> bool {
        let store = Arc::make_mut(&mut self.store);
        let reg = store.entry(key).or_default();
        let changed = !other.leq(reg);
        if changed {
            reg.join(other);
            let bytes = serde_json::to_vec(reg).expect("plain data serializes");
            ctx.storage().write(storage_key(key), bytes);
        }
        if sync {
            ctx.storage().sync();
        }
        changed
    }

    fn siblings(&self, key: u32) -> Vec<Seen> {
        self.store
            .get(&key)
            .map(|reg| {
                reg.siblings()
                    .iter()
                    .map(|s| (s.write, s.value, s.clock()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Starts coordinating: asks the rest of the preference list, or
    /// answers at once if the coordinator alone is a quorum.
    fn coordinate(&mut self, ctx: &mut Ctx<'_, Msg>, pending: Pending, ask: Msg, op: u64) {
        self.pending.insert(op, pending);
        let me = ctx.id();
        let targets: Vec<NodeId> = self
            .ring(self.pending[&op].key)
            .take(self.settings.n)
            .filter(|&p| p != me)
            .collect();
        ctx.send_all(targets, &ask);
        ctx.set_timer(self.settings.sloppy_after, op << 1 | PHASE_WIDEN);
        ctx.set_timer(20 * self.settings.sloppy_after, op << 1 | PHASE_GIVE_UP);
        self.maybe_done(ctx, op);
    }

    /// Answers the client once the operation's quorum answered.
    fn maybe_done(&mut self, ctx: &mut Ctx<'_, Msg>, op: u64) {
        let Some(p) = self.pending.get(&op) else {
            return;
        };
        let quorum = if p.merged.is_some() {
            self.settings.r
        } else {
            self.settings.w
        };
        if p.answered.len() < quorum {
            return;
        }
        let p = self.pending.remove(&op).expect("present");
        if let Some(merged) = &p.merged {
            // Read repair at the coordinator: it keeps what it merged.
            self.absorb(ctx, p.key, merged, false);
            tracing::debug!(key = p.key, replicas = p.answered.len(), "quorum read");
        } else {
            tracing::debug!(key = p.key, replicas = p.answered.len(), "quorum write");
        }
        let reply = Msg::Reply {
            req: p.req,
            siblings: match &p.merged {
                Some(merged) => merged
                    .siblings()
                    .iter()
                    .map(|s| (s.write, s.value, s.clock()))
                    .collect(),
                None => self.siblings(p.key),
            },
        };
        ctx.send(p.client, reply);
    }

    fn on_put(&mut self, ctx: &mut Ctx<'_, Msg>, client: NodeId, put: Msg) {
        let Msg::Put {
            req,
            key,
            write,
            value,
            context,
        } = put
        else {
            return;
        };
        if self.last_put.get(&client).is_some_and(|&last| last >= req) {
            return;
        }
        self.last_put.insert(client, req);
        ctx.storage()
            .write(format!("client/{client:010}"), req.to_le_bytes().to_vec());
        let me = ctx.id();
        let mut context = context;
        if self.settings.own_component {
            // The bug: every dot this coordinator issued counts as seen.
            context.raise(me, self.issued);
        }
        let store = Arc::make_mut(&mut self.store);
        let reg = store.entry(key).or_default();
        reg.write(me, &mut self.issued, &context, write, value, None);
        let register = reg.clone();
        let bytes = serde_json::to_vec(&register).expect("plain data serializes");
        ctx.storage().write(storage_key(key), bytes);
        ctx.storage()
            .write("issued", self.issued.to_le_bytes().to_vec());
        ctx.storage().sync();
        let op = ctx.request_id();
        let pending = Pending::new(client, req, key, me, None);
        self.coordinate(ctx, pending, Msg::Store { op, key, register }, op);
    }

    fn on_get(&mut self, ctx: &mut Ctx<'_, Msg>, client: NodeId, req: u64, key: u32) {
        let me = ctx.id();
        let op = ctx.request_id();
        let merged = self.store.get(&key).cloned().unwrap_or_default();
        let pending = Pending::new(client, req, key, me, Some(merged));
        self.coordinate(ctx, pending, Msg::Fetch { op, key }, op);
    }

    /// The quorum is late: ask the replicas past the preference list too.
    fn widen(&mut self, ctx: &mut Ctx<'_, Msg>, op: u64) {
        let me = ctx.id();
        let Some(p) = self.pending.get_mut(&op) else {
            return;
        };
        if p.widened {
            return;
        }
        p.widened = true;
        let key = p.key;
        let ask = match &p.merged {
            Some(_) => Msg::Fetch { op, key },
            None => Msg::Store {
                op,
                key,
                register: self.store.get(&key).cloned().unwrap_or_default(),
            },
        };
        let fallbacks: Vec<NodeId> = self
            .ring(key)
            .skip(self.settings.n)
            .filter(|&r| r != me)
            .collect();
        tracing::debug!(key, fallbacks = fallbacks.len(), "sloppy quorum");
        ctx.send_all(fallbacks, &ask);
    }

    fn gossip(&mut self, ctx: &mut Ctx<'_, Msg>) {
        let me = ctx.id();
        let others: Vec<NodeId> = self.peers.iter().copied().filter(|&p| p != me).collect();
        if !others.is_empty() {
            let to = others[ctx.rng().random_range(0..others.len())];
            let store = Shared(Arc::clone(&self.store));
            ctx.send(
                to,
                Msg::Gossip {
                    store,
                    answer: true,
                },
            );
        }
        ctx.set_timer(self.settings.gossip, TIMER_GOSSIP);
    }

    fn on_gossip(&mut self, ctx: &mut Ctx<'_, Msg>, from: NodeId, theirs: &Store, answer: bool) {
        for (&key, reg) in theirs {
            if self.absorb(ctx, key, reg, false) {
                tracing::debug!(key, from, "anti-entropy merged");
            }
        }
        let lacking = self
            .store
            .iter()
            .any(|(key, mine)| theirs.get(key).is_none_or(|t| !mine.leq(t)));
        if answer && lacking {
            let store = Shared(Arc::clone(&self.store));
            ctx.send(
                from,
                Msg::Gossip {
                    store,
                    answer: false,
                },
            );
        }
    }
}

impl Process for Replica {
    type Msg = Msg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, Msg>) {
        let mut store = Store::new();
        for (k, v) in ctx.storage().scan("kv/") {
            let key = k.strip_prefix("kv/").and_then(|k| k.parse().ok());
            if let (Some(key), Ok(reg)) = (key, serde_json::from_slice(v)) {
                store.insert(key, reg);
            }
        }
        self.store = Arc::new(store);
        let number = |b: &[u8]| b.try_into().ok().map(u64::from_le_bytes);
        self.issued = ctx.storage().read("issued").and_then(number).unwrap_or(0);
        self.last_put = ctx
            .storage()
            .scan("client/")
            .filter_map(|(k, v)| Some((k.strip_prefix("client/")?.parse().ok()?, number(v)?)))
            .collect();
        self.pending.clear();
        ctx.set_timer(self.settings.gossip, TIMER_GOSSIP);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Msg>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Get { req, key } => self.on_get(ctx, from, req, key),
            put @ Msg::Put { .. } => self.on_put(ctx, from, put),
            Msg::Fetch { op, key } => {
                let register = self.store.get(&key).cloned().unwrap_or_default();
                ctx.send(from, Msg::Fetched { op, register });
            }
            Msg::Fetched { op, register } => {
                if let Some(p) = self.pending.get_mut(&op) {
                    if let Some(merged) = &mut p.merged {
                        merged.join(&register);
                        p.answered.insert(from);
                        self.maybe_done(ctx, op);
                    }
                }
            }
            Msg::Store { op, key, register } => {
                self.absorb(ctx, key, &register, true);
                ctx.send(from, Msg::Stored { op });
            }
            Msg::Stored { op } => {
                if let Some(p) = self.pending.get_mut(&op) {
                    p.answered.insert(from);
                    self.maybe_done(ctx, op);
                }
            }
            Msg::Gossip { store, answer } => self.on_gossip(ctx, from, &store.0, answer),
            Msg::Reply { .. } => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Msg>, tag: u64) {
        match tag {
            TIMER_GOSSIP => self.gossip(ctx),
            t if t & 1 == PHASE_WIDEN => self.widen(ctx, t >> 1),
            t => {
                // The client has given up by now.
                self.pending.remove(&(t >> 1));
            }
        }
    }
}
