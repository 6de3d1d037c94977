//! The sequential store's client session: its local replica and the last
//! log position it saw.

use serde_json::{json, Value};
use sim_core::{Ctx, NodeId, OpType};

use super::replica::{Msg, Request};
use crate::store_client::{Planned, StoreOp, StoreSession};

pub struct SequentialSession {
    local: NodeId,
    /// The largest log position an answer carried: no later answer may come
    /// from an earlier state.
    seen: u64,
    /// The open request: (req, is a read).
    open: Option<(u64, bool)>,
}

impl SequentialSession {
    pub fn new(local: NodeId) -> Self {
        Self {
            local,
            seen: 0,
            open: None,
        }
    }
}

impl StoreSession for SequentialSession {
    type Msg = Msg;

    fn plan(&mut self, _: &mut Ctx<'_, Msg>, op: StoreOp, req: u64, _: u64) -> Planned<Msg> {
        let (f, invoked, body) = match op {
            StoreOp::Read { key } => ("read", Value::Null, Request::Read { key }),
            StoreOp::Write { key, value } => ("write", json!(value), Request::Write { key, value }),
        };
        self.open = Some((req, op.is_read()));
        Planned {
            f,
            key: op.key(),
            invoked,
            to: self.local,
            msg: Msg::Request {
                req,
                seen: self.seen,
                body,
            },
        }
    }

    fn answer(&mut self, req: u64, msg: &Msg) -> Option<Value> {
        let Msg::Reply {
            req: r,
            value,
            position,
        } = msg
        else {
            return None;
        };
        if *r != req || self.open.map(|(o, _)| o) != Some(req) {
            return None;
        }
        self.open = None;
        self.seen = self.seen.max(*position);
        Some(value.map_or(Value::Null, Value::from))
    }

    fn timed_out(&mut self, _: &mut Ctx<'_, Msg>, _: u64) -> OpType {
        match self.open.take() {
            Some((_, true)) => OpType::Fail,
            _ => OpType::Info,
        }
    }
}
