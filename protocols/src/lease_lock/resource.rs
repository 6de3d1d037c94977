//! The guarded resource: a storage server every lock holder writes to.

use harness::checkers::fenced_writes::FencedWrite;
use sim_core::{Ctx, NodeId, Process};

use super::LeaseMsg;

pub struct Resource {
    /// Reject a write whose token is below the highest accepted one.
    fencing: bool,
    highest: u64,
    /// The writes accepted, in the resource's order.
    pub accepted: Vec<FencedWrite>,
}

impl Resource {
    pub fn new(fencing: bool) -> Self {
        Self {
            fencing,
            highest: 0,
            accepted: Vec::new(),
        }
    }
}

impl Process for Resource {
    type Msg = LeaseMsg;

    fn on_start(&mut self, _: &mut Ctx<'_, LeaseMsg>) {}

    fn on_message(&mut self, ctx: &mut Ctx<'_, LeaseMsg>, _from: NodeId, msg: LeaseMsg) {
        let LeaseMsg::Write { token, holder } = msg else {
            return;
        };
        if self.fencing && token < self.highest {
            ctx.count("resource writes fenced off", 1);
            return;
        }
        self.highest = self.highest.max(token);
        self.accepted.push(FencedWrite {
            token: Some(token),
            holder,
        });
    }

    fn on_timer(&mut self, _: &mut Ctx<'_, LeaseMsg>, _: u64) {}
}
