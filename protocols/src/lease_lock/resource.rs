//! The guarded resource: a storage server every lock holder writes to.
//!
//! It serves any lock design: the message type of the design's simulation
//! says, through [`GuardedWriteMsg`], which of its messages are writes to it,
//! and with which token. A design that issues no token (Redlock) sends
//! writes without one: with fencing on the resource has nothing to compare
//! them with and accepts them all, which is what such a lock can offer.

use std::marker::PhantomData;

use harness::checkers::fenced_writes::{check_fenced_writes, FencedWrite};
use harness::Verdict;
use sim_core::{Ctx, Message, NodeId, Process, Sim};

use super::LeaseMsg;

/// A message type that can carry a write to the guarded resource.
pub trait GuardedWriteMsg: Message {
    /// The write this message makes (its token and holder), if it is one
    /// and arrived intact: a design whose messages carry a checksum verifies
    /// it here, counting a mismatch as detected corruption (`ctx`), so that
    /// the resource never applies a write the network altered.
    fn guarded_write(self, ctx: &mut Ctx<'_, Self>) -> Option<FencedWrite>;
}

impl GuardedWriteMsg for LeaseMsg {
    /// The network cannot alter a `LeaseMsg` (it drops a corrupted one).
    fn guarded_write(self, _: &mut Ctx<'_, Self>) -> Option<FencedWrite> {
        match self {
            LeaseMsg::Write { token, holder } => Some(FencedWrite {
                token: Some(token),
                holder,
            }),
            _ => None,
        }
    }
}

pub struct Resource<M = LeaseMsg> {
    /// Reject a write whose token is below the highest accepted one.
    fencing: bool,
    highest: Option<u64>,
    /// The writes accepted, in the resource's order.
    pub accepted: Vec<FencedWrite>,
    msg: PhantomData<M>,
}

impl<M> Resource<M> {
    pub fn new(fencing: bool) -> Self {
        Self {
            fencing,
            highest: None,
            accepted: Vec::new(),
            msg: PhantomData,
        }
    }
}

impl<M: GuardedWriteMsg> Process for Resource<M> {
    type Msg = M;

    fn on_start(&mut self, _: &mut Ctx<'_, M>) {}

    fn on_message(&mut self, ctx: &mut Ctx<'_, M>, _from: NodeId, msg: M) {
        let Some(write) = msg.guarded_write(ctx) else {
            return;
        };
        // A write without a token is never below anything.
        let stale = matches!((write.token, self.highest), (Some(t), Some(h)) if t < h);
        if self.fencing && stale {
            ctx.count("resource writes fenced off", 1);
            return;
        }
        self.highest = self.highest.max(write.token);
        self.accepted.push(write);
    }

    fn on_timer(&mut self, _: &mut Ctx<'_, M>, _: u64) {}
}

/// The verdict `name` on the resource at `node` of `sim`: its accepted
/// writes judged by `checkers::fenced_writes` (no writes if it is not there).
pub fn resource_verdict<M: GuardedWriteMsg>(sim: &Sim<M>, node: NodeId, name: &str) -> Verdict {
    let writes = sim
        .process_as::<Resource<M>>(node)
        .map_or(&[][..], |r| &r.accepted[..]);
    match check_fenced_writes(writes) {
        Ok(()) => Verdict::pass(name),
        Err(e) => Verdict::fail(name, e),
    }
}
