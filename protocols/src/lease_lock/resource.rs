//! The guarded resource: a storage server every lock holder writes to.
//!
//! It serves any lock design: the message type of the design's simulation
//! says, through [`GuardedWriteMsg`], which of its messages are writes to it.

use std::marker::PhantomData;

use harness::checkers::fenced_writes::FencedWrite;
use sim_core::{Ctx, Message, NodeId, Process};

use super::LeaseMsg;

/// A message type that can carry a write to the guarded resource.
pub trait GuardedWriteMsg: Message {
    /// The write's (token, holder), if this message is one.
    fn guarded_write(&self) -> Option<(u64, u64)>;
}

impl GuardedWriteMsg for LeaseMsg {
    fn guarded_write(&self) -> Option<(u64, u64)> {
        match *self {
            LeaseMsg::Write { token, holder } => Some((token, holder)),
            _ => None,
        }
    }
}

pub struct Resource<M = LeaseMsg> {
    /// Reject a write whose token is below the highest accepted one.
    fencing: bool,
    highest: u64,
    /// The writes accepted, in the resource's order.
    pub accepted: Vec<FencedWrite>,
    msg: PhantomData<M>,
}

impl<M> Resource<M> {
    pub fn new(fencing: bool) -> Self {
        Self {
            fencing,
            highest: 0,
            accepted: Vec::new(),
            msg: PhantomData,
        }
    }
}

impl<M: GuardedWriteMsg> Process for Resource<M> {
    type Msg = M;

    fn on_start(&mut self, _: &mut Ctx<'_, M>) {}

    fn on_message(&mut self, ctx: &mut Ctx<'_, M>, _from: NodeId, msg: M) {
        let Some((token, holder)) = msg.guarded_write() else {
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

    fn on_timer(&mut self, _: &mut Ctx<'_, M>, _: u64) {}
}
