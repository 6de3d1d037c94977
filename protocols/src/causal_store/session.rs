//! The causal store's client session: its dependencies and its home replica.

use rand::Rng;
use serde_json::Value;
use sim_core::{Ctx, NodeId, OpType};

use super::replica::Msg;
use crate::crdt::vclock::VClock;
use crate::store_client::{Awaited, Planned, StoreOp, StoreSession};

pub struct CausalSession {
    replicas: Vec<NodeId>,
    home: NodeId,
    /// Probability of moving to another replica before an operation.
    switch: f64,
    /// Everything the session has seen: what its requests depend on.
    deps: VClock,
    awaited: Awaited,
}

impl CausalSession {
    pub fn new(replicas: Vec<NodeId>, home: NodeId, switch: f64) -> Self {
        Self {
            replicas,
            home,
            switch,
            deps: VClock::new(),
            awaited: Awaited::default(),
        }
    }

    fn move_home(&mut self, ctx: &mut Ctx<'_, Msg>) {
        if self.replicas.len() > 1 {
            let others: Vec<NodeId> = self
                .replicas
                .iter()
                .copied()
                .filter(|&r| r != self.home)
                .collect();
            self.home = others[ctx.rng().random_range(0..others.len())];
        }
    }
}

impl StoreSession for CausalSession {
    type Msg = Msg;

    fn plan(&mut self, ctx: &mut Ctx<'_, Msg>, op: StoreOp, req: u64, _: u64) -> Planned<Msg> {
        if self.switch > 0.0 && ctx.rng().random_bool(self.switch) {
            self.move_home(ctx);
        }
        self.awaited.open(req, op.key(), op.is_read());
        let msg = Msg::Request {
            req,
            deps: self.deps.clone(),
            body: op,
        };
        Planned::op(op, self.home, msg)
    }

    fn answer(&mut self, req: u64, msg: &Msg) -> Option<Value> {
        let Msg::Reply {
            req: r,
            value,
            clock,
        } = msg
        else {
            return None;
        };
        self.awaited.answered(req, *r)?;
        self.deps.merge(clock);
        Some(value.map_or(Value::Null, Value::from))
    }

    fn timed_out(&mut self, ctx: &mut Ctx<'_, Msg>, _: u64) -> OpType {
        self.move_home(ctx);
        self.awaited.timed_out()
    }
}
