//! The sequential store's client session: its local replica and the last
//! log position it saw.

use serde_json::Value;
use sim_core::{Ctx, NodeId, OpType};

use super::replica::Msg;
use crate::store_client::{Awaited, Planned, StoreOp, StoreSession};

pub struct SequentialSession {
    local: NodeId,
    /// The largest log position an answer carried: no later answer may come
    /// from an earlier state.
    seen: u64,
    awaited: Awaited,
}

impl SequentialSession {
    pub fn new(local: NodeId) -> Self {
        Self {
            local,
            seen: 0,
            awaited: Awaited::default(),
        }
    }
}

impl StoreSession for SequentialSession {
    type Msg = Msg;

    fn plan(&mut self, _: &mut Ctx<'_, Msg>, op: StoreOp, req: u64, _: u64) -> Planned<Msg> {
        self.awaited.open(req, op.key(), op.is_read());
        let msg = Msg::Request {
            req,
            seen: self.seen,
            body: op,
        };
        Planned::op(op, self.local, msg)
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
        self.awaited.answered(req, *r)?;
        self.seen = self.seen.max(*position);
        Some(value.map_or(Value::Null, Value::from))
    }

    fn timed_out(&mut self, _: &mut Ctx<'_, Msg>, _: u64) -> OpType {
        self.awaited.timed_out()
    }
}
