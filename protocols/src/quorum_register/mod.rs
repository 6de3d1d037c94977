//! A multi-writer atomic register replicated with majority quorums, after
//! Attiya, Bar-Noy and Dolev ("ABD"), one register per key.
//!
//! Each replica keeps, per key, a value tagged with a timestamp
//! `(counter, writer, request)`. Clients coordinate their own operations:
//! - a write asks a majority for their timestamps, picks one above them all,
//!   and stores the value at a majority. The timestamp carries the write's
//!   request id (never reused, not even across the writer's restarts), so two
//!   writes never share one: a write that timed out after reaching a minority
//!   may be missed by the next write's query, which then picks the same
//!   counter, but not the same timestamp;
//! - a read asks a majority for (timestamp, value), takes the newest, and
//!   writes it back to a majority before returning it, so that no later read
//!   can see an older value.
//!
//! Replicas persist and sync before acknowledging a store, so a crashed and
//! restarted replica still holds everything it acknowledged.
//!
//! Known-bug variants: `reuse-timestamp` (a write's timestamp is only
//! `(counter, writer)`: after a write that timed out on a minority, the same
//! writer's next write can store another value under the same timestamp, and
//! reads flip between the two), `no-write-back` (reads return without the write-back
//! phase: a later read may return an older value), `no-sync` (replicas
//! acknowledge stores before they are durable: a power loss forgets them),
//! `unwrap-missing-key` (a replica answers a query with `unwrap()` on its map,
//! and panics on a key nobody wrote yet — the kind of panic the simulator must
//! report as a finding with its seed, not die of), and `no-client-timeout`
//! (clients wait for a quorum forever: a request lost while a majority was
//! down leaves its client stuck after the replicas come back, which the
//! liveness check catches).

mod driver;
pub use driver::register;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sim_core::{Ctx, Message, NodeId, OpId, OpType, Process, TimerId};

use crate::workload::{ClientOp, WorkloadSpec};

/// The bug variants this protocol knows.
pub const BUGS: [&str; 5] = [
    "no-write-back",
    "no-sync",
    "unwrap-missing-key",
    "reuse-timestamp",
    "no-client-timeout",
];

/// (counter, writer, the write's request id): totally ordered, unique per write.
pub type Timestamp = (u64, u32, u64);

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RegisterMsg {
    Query {
        req: u64,
        key: u32,
    },
    QueryReply {
        req: u64,
        ts: Timestamp,
        value: Option<u64>,
    },
    Store {
        req: u64,
        key: u32,
        ts: Timestamp,
        value: Option<u64>,
    },
    StoreAck {
        req: u64,
    },
}

impl Message for RegisterMsg {}

/// Which bugs are switched on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bugs {
    pub no_write_back: bool,
    pub no_sync: bool,
    pub unwrap_missing_key: bool,
    pub reuse_timestamp: bool,
    /// Clients wait for a quorum forever: a request lost to a fault leaves
    /// its client stuck, even after the faults heal.
    pub no_client_timeout: bool,
}

impl Bugs {
    /// Parses bug names; an unknown name is an error that lists the known ones.
    pub fn parse(names: &[String]) -> Result<Self, String> {
        let [no_write_back, no_sync, unwrap_missing_key, reuse_timestamp, no_client_timeout] =
            crate::bug_names::switched_on("quorum-register", names, BUGS)?;
        Ok(Bugs {
            no_write_back,
            no_sync,
            unwrap_missing_key,
            reuse_timestamp,
            no_client_timeout,
        })
    }
}

// ---------------------------------------------------------------- replica

/// A replica: per key, the newest (timestamp, value) it has stored.
pub struct Replica {
    bugs: Bugs,
    registers: BTreeMap<u32, (Timestamp, Option<u64>)>,
}

impl Replica {
    pub fn new(bugs: Bugs) -> Self {
        Self {
            bugs,
            registers: BTreeMap::new(),
        }
    }

    /// The stored (timestamp, value) of `key`.
    pub fn register(&self, key: u32) -> (Timestamp, Option<u64>) {
        self.registers
            .get(&key)
            .copied()
            .unwrap_or(((0, 0, 0), None))
    }
}

fn storage_key(key: u32) -> String {
    format!("reg/{key:010}")
}

impl Process for Replica {
    type Msg = RegisterMsg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, RegisterMsg>) {
        self.registers.clear();
        let stored: Vec<(u32, (Timestamp, Option<u64>))> = ctx
            .storage()
            .scan("reg/")
            .filter_map(|(k, v)| {
                let key = k.strip_prefix("reg/")?.parse().ok()?;
                Some((key, serde_json::from_slice(v).ok()?))
            })
            .collect();
        self.registers.extend(stored);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, RegisterMsg>, from: NodeId, msg: RegisterMsg) {
        match msg {
            RegisterMsg::Query { req, key } => {
                let (ts, value) = if self.bugs.unwrap_missing_key {
                    *self
                        .registers
                        .get(&key)
                        .expect("queried key was written before")
                } else {
                    self.register(key)
                };
                ctx.send(from, RegisterMsg::QueryReply { req, ts, value });
            }
            RegisterMsg::Store {
                req,
                key,
                ts,
                value,
            } => {
                if ts > self.register(key).0 {
                    tracing::debug!(key, ?ts, ?value, "stored newer value");
                    self.registers.insert(key, (ts, value));
                    let bytes = serde_json::to_vec(&(ts, value)).expect("plain data serializes");
                    ctx.storage().write(storage_key(key), bytes);
                    if !self.bugs.no_sync {
                        ctx.storage().sync();
                    }
                }
                ctx.send(from, RegisterMsg::StoreAck { req });
            }
            RegisterMsg::QueryReply { .. } | RegisterMsg::StoreAck { .. } => {}
        }
    }

    fn on_timer(&mut self, _: &mut Ctx<'_, RegisterMsg>, _: u64) {}
}

// ---------------------------------------------------------------- client

/// Where a client's current operation stands.
enum Phase {
    /// Thinking before the next operation.
    Idle,
    /// Collecting timestamps (and values) from a majority.
    Query {
        replies: BTreeMap<NodeId, (Timestamp, Option<u64>)>,
    },
    /// Storing at a majority; `result` is what the operation returns when done.
    Store { acks: Vec<NodeId>, result: Value },
}

/// A client that runs one operation at a time against all replicas.
pub struct Client {
    replicas: Vec<NodeId>,
    spec: WorkloadSpec,
    bugs: Bugs,
    /// The current phase's request id (from the kernel: never reused, not
    /// even by a restarted client); replies to other requests are ignored.
    req: u64,
    current: Option<(OpId, ClientOp)>,
    phase: Phase,
    timeout: Option<TimerId>,
    issued: u64,
}

const TIMER_NEXT_OP: u64 = 0;
const TIMER_TIMEOUT: u64 = 1;

impl Client {
    pub fn new(replicas: Vec<NodeId>, spec: WorkloadSpec, bugs: Bugs) -> Self {
        Self {
            replicas,
            spec,
            bugs,
            req: 0,
            current: None,
            phase: Phase::Idle,
            timeout: None,
            issued: 0,
        }
    }

    fn majority(&self) -> usize {
        self.replicas.len() / 2 + 1
    }

    fn start_op(&mut self, ctx: &mut Ctx<'_, RegisterMsg>) {
        if self.spec.max_ops > 0 && self.issued >= self.spec.max_ops {
            return;
        }
        self.issued += 1;
        let op = self.spec.next_op(ctx.rng());
        let id = ctx.invoke(op.f(), self.spec.history_key(&op), op.invoke_value());
        self.current = Some((id, op));
        self.req = ctx.request_id();
        self.phase = Phase::Query {
            replies: BTreeMap::new(),
        };
        let query = RegisterMsg::Query {
            req: self.req,
            key: op.key(),
        };
        ctx.send_all(self.replicas.clone(), &query);
        if !self.bugs.no_client_timeout {
            self.timeout = Some(ctx.set_timer(self.spec.timeout(), TIMER_TIMEOUT));
        }
    }

    fn finish(&mut self, ctx: &mut Ctx<'_, RegisterMsg>, outcome: OpType, value: Value) {
        if let Some((id, _)) = self.current.take() {
            ctx.complete(id, outcome, value);
        }
        if let Some(t) = self.timeout.take() {
            ctx.cancel_timer(t);
        }
        self.phase = Phase::Idle;
        ctx.set_timer(self.spec.think(), TIMER_NEXT_OP);
    }

    fn on_query_reply(
        &mut self,
        ctx: &mut Ctx<'_, RegisterMsg>,
        from: NodeId,
        ts: Timestamp,
        value: Option<u64>,
    ) {
        let majority = self.majority();
        let Phase::Query { replies } = &mut self.phase else {
            return;
        };
        replies.insert(from, (ts, value));
        if replies.len() < majority {
            return;
        }
        let newest = replies
            .values()
            .max_by_key(|(ts, _)| *ts)
            .copied()
            .expect("a majority replied");
        let Some((_, op)) = self.current else { return };
        tracing::debug!(key = op.key(), ts = ?newest.0, value = ?newest.1, "quorum read");
        let (ts, value, result) = match op {
            ClientOp::Read { .. } => {
                let result = newest.1.map_or(Value::Null, Value::from);
                if self.bugs.no_write_back {
                    return self.finish(ctx, OpType::Ok, result);
                }
                (newest.0, newest.1, result)
            }
            ClientOp::Write { value, .. } => {
                let unique = if self.bugs.reuse_timestamp {
                    0
                } else {
                    self.req
                };
                let ts = (newest.0 .0 + 1, ctx.id(), unique);
                (ts, Some(value), json!(value))
            }
            ClientOp::Cas { .. } => unreachable!("validated: quorum-register runs no cas"),
        };
        self.req = ctx.request_id();
        self.phase = Phase::Store {
            acks: Vec::new(),
            result,
        };
        let store = RegisterMsg::Store {
            req: self.req,
            key: op.key(),
            ts,
            value,
        };
        ctx.send_all(self.replicas.clone(), &store);
    }

    fn on_store_ack(&mut self, ctx: &mut Ctx<'_, RegisterMsg>, from: NodeId) {
        let majority = self.majority();
        let Phase::Store { acks, result } = &mut self.phase else {
            return;
        };
        if !acks.contains(&from) {
            acks.push(from);
        }
        if acks.len() >= majority {
            tracing::debug!(acks = acks.len(), "quorum write");
            let result = result.clone();
            self.finish(ctx, OpType::Ok, result);
        }
    }
}

impl Process for Client {
    type Msg = RegisterMsg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, RegisterMsg>) {
        // A restarted client has lost its open operation; the history keeps it
        // open, which the checker reads as indeterminate.
        ctx.set_timer(self.spec.think(), TIMER_NEXT_OP);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, RegisterMsg>, from: NodeId, msg: RegisterMsg) {
        match msg {
            RegisterMsg::QueryReply { req, ts, value } if req == self.req => {
                self.on_query_reply(ctx, from, ts, value)
            }
            RegisterMsg::StoreAck { req } if req == self.req => self.on_store_ack(ctx, from),
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, RegisterMsg>, tag: u64) {
        match tag {
            TIMER_NEXT_OP if self.current.is_none() => self.start_op(ctx),
            TIMER_TIMEOUT => {
                self.timeout = None;
                // A read changes nothing a reader could later see (its
                // write-back stores a value already written), so an unanswered
                // read certainly failed; a write may have reached some replicas.
                let outcome = match self.current {
                    Some((_, ClientOp::Read { .. })) => OpType::Fail,
                    _ => OpType::Info,
                };
                self.finish(ctx, outcome, Value::Null);
            }
            _ => {}
        }
    }
}
