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
//! Clients are the shared quorum client (`crate::quorum_client`) with
//! majorities.
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
use sim_core::{Ctx, Message, NodeId, Process};

pub use crate::quorum_client::Timestamp;
use crate::quorum_client::{QuorumClient, QuorumRegister, Reply};

/// The bug variants this protocol knows.
pub const BUGS: [&str; 5] = [
    "no-write-back",
    "no-sync",
    "unwrap-missing-key",
    "reuse-timestamp",
    "no-client-timeout",
];

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

/// ABD's side of the shared quorum client: majorities, every answer
/// believed, and the client bugs.
#[derive(Debug, Clone)]
pub struct Majority {
    replicas: Vec<NodeId>,
    bugs: Bugs,
}

impl Majority {
    pub fn new(replicas: Vec<NodeId>, bugs: Bugs) -> Self {
        Self { replicas, bugs }
    }
}

/// A client that runs one operation at a time against all replicas.
pub type Client = QuorumClient<Majority>;

impl QuorumRegister for Majority {
    type Msg = RegisterMsg;
    type Held = (Timestamp, Option<u64>);

    fn replicas(&self) -> &[NodeId] {
        &self.replicas
    }

    fn quorum(&self) -> usize {
        self.replicas.len() / 2 + 1
    }

    fn query(req: u64, key: u32) -> RegisterMsg {
        RegisterMsg::Query { req, key }
    }

    fn store(req: u64, key: u32, (ts, value): Self::Held) -> RegisterMsg {
        RegisterMsg::Store {
            req,
            key,
            ts,
            value,
        }
    }

    fn reply(msg: RegisterMsg) -> Option<Reply<Self::Held>> {
        match msg {
            RegisterMsg::QueryReply { req, ts, value } => Some(Reply::Held {
                req,
                key: None,
                held: (ts, value),
            }),
            RegisterMsg::StoreAck { req } => Some(Reply::Stored { req }),
            RegisterMsg::Query { .. } | RegisterMsg::Store { .. } => None,
        }
    }

    fn timestamp(&(ts, _): &Self::Held) -> Timestamp {
        ts
    }

    fn value(&(_, value): &Self::Held) -> Option<u64> {
        value
    }

    /// With `reuse-timestamp` the write's request id is left out.
    fn written(&self, _key: u32, ts: Timestamp, value: u64) -> Self::Held {
        let (counter, writer, req) = ts;
        let unique = if self.bugs.reuse_timestamp { 0 } else { req };
        ((counter, writer, unique), Some(value))
    }

    fn writes_back(&self) -> bool {
        !self.bugs.no_write_back
    }

    fn times_out(&self) -> bool {
        !self.bugs.no_client_timeout
    }
}
