//! The eventual store's client session: per key, the siblings it last saw
//! (their clocks are its next write's context), and the resolver that
//! turns siblings back into one value.

use std::collections::BTreeMap;

use rand::Rng;
use serde::Deserialize;
use serde_json::{json, Value};
use sim_core::{Ctx, NodeId, OpType};

use super::replica::{Msg, Seen};
use crate::crdt::vclock::VClock;
use crate::store_client::{Awaited, Planned, StoreOp, StoreSession};

/// How a client turns siblings into the one value it writes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Resolver {
    /// The largest sibling value.
    Max,
    /// The smallest sibling value.
    Min,
}

impl Resolver {
    fn resolve(self, siblings: &[Seen]) -> Option<u64> {
        let values = siblings.iter().map(|(_, value, _)| *value);
        match self {
            Resolver::Max => values.max(),
            Resolver::Min => values.min(),
        }
    }
}

pub struct EventualSession {
    replicas: Vec<NodeId>,
    resolver: Resolver,
    /// Per key, the siblings of the last answer about it.
    seen: BTreeMap<u32, Vec<Seen>>,
    /// A key whose last read returned siblings: the next operation writes
    /// the resolved value back.
    unresolved: Option<u32>,
    awaited: Awaited,
}

impl EventualSession {
    pub fn new(replicas: Vec<NodeId>, resolver: Resolver) -> Self {
        Self {
            replicas,
            resolver,
            seen: BTreeMap::new(),
            unresolved: None,
            awaited: Awaited::default(),
        }
    }

    /// A write over the siblings seen for `key`.
    fn put(&self, req: u64, key: u32, write: u64, value: u64) -> (Value, Msg) {
        let seen = self.seen.get(&key).map_or(&[][..], Vec::as_slice);
        let mut context = VClock::new();
        for (_, _, clock) in seen {
            context.merge(clock);
        }
        let ids: Vec<u64> = seen.iter().map(|(w, _, _)| *w).collect();
        let invoked = json!({"write": write, "value": value, "context": ids});
        let msg = Msg::Put {
            req,
            key,
            write,
            value,
            context,
        };
        (invoked, msg)
    }
}

impl StoreSession for EventualSession {
    type Msg = Msg;

    fn plan(&mut self, ctx: &mut Ctx<'_, Msg>, op: StoreOp, req: u64, fresh: u64) -> Planned<Msg> {
        let to = self.replicas[ctx.rng().random_range(0..self.replicas.len())];
        let resolved = self.unresolved.take().and_then(|key| {
            let value = self.resolver.resolve(self.seen.get(&key)?)?;
            Some((key, value))
        });
        let (f, key, invoked, msg) = match (resolved, op) {
            (Some((key, value)), _) => {
                let (invoked, msg) = self.put(req, key, fresh, value);
                ("write", key, invoked, msg)
            }
            (None, StoreOp::Read { key }) => ("read", key, Value::Null, Msg::Get { req, key }),
            (None, StoreOp::Write { key, value }) => {
                let (invoked, msg) = self.put(req, key, value, value);
                ("write", key, invoked, msg)
            }
        };
        self.awaited.open(req, key, f == "read");
        Planned {
            f,
            key,
            invoked,
            to,
            msg,
        }
    }

    fn answer(&mut self, req: u64, msg: &Msg) -> Option<Value> {
        let Msg::Reply { req: r, siblings } = msg else {
            return None;
        };
        let (key, read) = self.awaited.answered(req, *r)?;
        if read && siblings.len() > 1 {
            self.unresolved = Some(key);
        }
        self.seen.insert(key, siblings.clone());
        Some(json!(siblings
            .iter()
            .map(|(w, _, _)| *w)
            .collect::<Vec<u64>>()))
    }

    fn timed_out(&mut self, _: &mut Ctx<'_, Msg>, _req: u64) -> OpType {
        self.awaited.timed_out()
    }
}
