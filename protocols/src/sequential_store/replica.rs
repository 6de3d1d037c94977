//! A replica of the sequential store (replica 0 is also the sequencer).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sim_core::{Ctx, Message, Nanos, NodeId, Process};

use crate::store_client::StoreOp;

/// A write in the log.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Entry {
    /// The replica that submitted it (and answers its client).
    pub origin: NodeId,
    /// The client that asked for it and its request: what the sequencer
    /// orders once, however often it is submitted or the request duplicated.
    pub client: NodeId,
    pub req: u64,
    pub key: u32,
    pub value: u64,
    /// The origin's wall clock when submitted (only the bug uses it).
    pub stamp: Nanos,
}

#[derive(Debug, Clone, Hash, Serialize)]
pub enum Msg {
    /// Client → its local replica: served once the replica applied `seen` entries.
    Request { req: u64, seen: u64, body: StoreOp },
    /// Replica → client: the value (a read's, or the write's own) and the
    /// log position it was taken at.
    Reply {
        req: u64,
        value: Option<u64>,
        position: u64,
    },
    /// Replica → sequencer.
    Submit { entry: Entry },
    /// Sequencer → replicas: entries from log position `first` on.
    Ordered { first: u64, entries: Vec<Entry> },
    /// Replica → sequencer: send the log from position `from`.
    Pull { from: u64 },
}

impl Message for Msg {}

/// The node that orders writes.
pub const SEQUENCER: NodeId = 0;
/// Entries an answer to a pull carries at most.
const PULL_BATCH: usize = 256;
const TIMER_TICK: u64 = 0;

pub struct Replica {
    peers: Vec<NodeId>,
    retry: Nanos,
    /// The known bug `wall-clock-order`.
    wall_clock_order: bool,
    /// Entries applied: the log prefix `1..=applied`.
    applied: u64,
    /// Each key's value and the stamp of the write that set it.
    data: BTreeMap<u32, (u64, Nanos)>,
    /// Entries that arrived ahead of the prefix, by position.
    ahead: BTreeMap<u64, Entry>,
    /// Own submissions not applied yet, by (client, req).
    submitted: BTreeMap<(NodeId, u64), Entry>,
    /// Each client's last write request here.
    last_write: BTreeMap<NodeId, u64>,
    /// Reads waiting for the prefix to reach what their client saw.
    waiting: Vec<(NodeId, u64, u64, u32)>,
    /// The sequencer's log (durable) and which submissions it holds.
    log: Vec<Entry>,
    ordered: BTreeSet<(NodeId, u64)>,
}

impl Replica {
    pub fn new(peers: Vec<NodeId>, retry: Nanos, wall_clock_order: bool) -> Self {
        Self {
            peers,
            retry,
            wall_clock_order,
            applied: 0,
            data: BTreeMap::new(),
            ahead: BTreeMap::new(),
            submitted: BTreeMap::new(),
            last_write: BTreeMap::new(),
            waiting: Vec::new(),
            log: Vec::new(),
            ordered: BTreeSet::new(),
        }
    }

    /// Each key's value.
    pub fn values(&self) -> BTreeMap<u32, u64> {
        self.data.iter().map(|(&k, &(v, _))| (k, v)).collect()
    }

    fn is_sequencer(&self, ctx: &Ctx<'_, Msg>) -> bool {
        ctx.id() == SEQUENCER
    }

    /// The sequencer: gives a submission the next position, syncs it and
    /// sends it to every replica (itself included, directly).
    fn order(&mut self, ctx: &mut Ctx<'_, Msg>, entry: Entry) {
        if !self.ordered.insert((entry.client, entry.req)) {
            return;
        }
        self.log.push(entry.clone());
        let first = self.log.len() as u64;
        let bytes = serde_json::to_vec(&entry).expect("plain data serializes");
        ctx.storage().write(format!("log/{first:010}"), bytes);
        ctx.storage().sync();
        let others: Vec<NodeId> = self
            .peers
            .iter()
            .copied()
            .filter(|&p| p != SEQUENCER)
            .collect();
        let msg = Msg::Ordered {
            first,
            entries: vec![entry.clone()],
        };
        ctx.send_all(others, &msg);
        self.receive(ctx, first, vec![entry]);
    }

    /// Entries from position `first` on: applied in order, kept if ahead.
    fn receive(&mut self, ctx: &mut Ctx<'_, Msg>, first: u64, entries: Vec<Entry>) {
        for (i, e) in entries.into_iter().enumerate() {
            let position = first + i as u64;
            if position > self.applied {
                self.ahead.insert(position, e);
            }
        }
        let before = self.applied;
        while let Some(e) = self.ahead.remove(&(self.applied + 1)) {
            self.applied += 1;
            self.apply(ctx, e);
        }
        if self.applied > before {
            self.serve_waiting(ctx);
        }
    }

    fn apply(&mut self, ctx: &mut Ctx<'_, Msg>, e: Entry) {
        let ignored = self.wall_clock_order
            && self
                .data
                .get(&e.key)
                .is_some_and(|&(_, stamp)| e.stamp < stamp);
        if !ignored {
            self.data.insert(e.key, (e.value, e.stamp));
        }
        if e.origin == ctx.id() && self.submitted.remove(&(e.client, e.req)).is_some() {
            let reply = Msg::Reply {
                req: e.req,
                value: Some(e.value),
                position: self.applied,
            };
            ctx.send(e.client, reply);
        }
    }

    fn read(&self, ctx: &mut Ctx<'_, Msg>, client: NodeId, req: u64, key: u32) {
        let reply = Msg::Reply {
            req,
            value: self.data.get(&key).map(|&(v, _)| v),
            position: self.applied,
        };
        ctx.send(client, reply);
    }

    fn serve_waiting(&mut self, ctx: &mut Ctx<'_, Msg>) {
        let applied = self.applied;
        let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|&(_, _, seen, _)| seen <= applied);
        self.waiting = waiting;
        for (client, req, _, key) in ready {
            self.read(ctx, client, req, key);
        }
    }

    fn submit(&self, ctx: &mut Ctx<'_, Msg>, entry: Entry) {
        ctx.send(SEQUENCER, Msg::Submit { entry });
    }
}

impl Process for Replica {
    type Msg = Msg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, Msg>) {
        *self = Replica::new(
            std::mem::take(&mut self.peers),
            self.retry,
            self.wall_clock_order,
        );
        if self.is_sequencer(ctx) {
            let logged: Vec<Entry> = ctx
                .storage()
                .scan("log/")
                .filter_map(|(_, v)| serde_json::from_slice(v).ok())
                .collect();
            for e in &logged {
                self.ordered.insert((e.client, e.req));
            }
            self.log = logged.clone();
            self.receive(ctx, 1, logged);
        }
        ctx.set_timer(self.retry, TIMER_TICK);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Msg>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Request { req, seen, body } => match body {
                StoreOp::Read { key } if seen <= self.applied => self.read(ctx, from, req, key),
                StoreOp::Read { key } => self.waiting.push((from, req, seen, key)),
                StoreOp::Write { key, value } => {
                    let entry = Entry {
                        origin: ctx.id(),
                        client: from,
                        req,
                        key,
                        value,
                        stamp: ctx.now(),
                    };
                    if self.last_write.get(&from).is_some_and(|&last| last >= req) {
                        return; // a duplicate delivered by the network
                    }
                    self.last_write.insert(from, req);
                    self.submitted.insert((from, req), entry.clone());
                    if self.is_sequencer(ctx) {
                        self.order(ctx, entry);
                    } else {
                        self.submit(ctx, entry);
                    }
                }
            },
            Msg::Submit { entry } if self.is_sequencer(ctx) => self.order(ctx, entry),
            Msg::Ordered { first, entries } => self.receive(ctx, first, entries),
            Msg::Pull { from: start } if self.is_sequencer(ctx) => {
                let skip = start.saturating_sub(1) as usize;
                let entries: Vec<Entry> = self
                    .log
                    .iter()
                    .skip(skip)
                    .take(PULL_BATCH)
                    .cloned()
                    .collect();
                if !entries.is_empty() {
                    ctx.send(
                        from,
                        Msg::Ordered {
                            first: start,
                            entries,
                        },
                    );
                }
            }
            Msg::Submit { .. } | Msg::Pull { .. } | Msg::Reply { .. } => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Msg>, _: u64) {
        if !self.is_sequencer(ctx) {
            // Submissions the log does not show yet, and the log past the prefix.
            let pending: Vec<Entry> = self.submitted.values().cloned().collect();
            for entry in pending {
                self.submit(ctx, entry);
            }
            ctx.send(
                SEQUENCER,
                Msg::Pull {
                    from: self.applied + 1,
                },
            );
        }
        ctx.set_timer(self.retry, TIMER_TICK);
    }
}
