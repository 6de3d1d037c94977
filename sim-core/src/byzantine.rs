//! The kernel's hook for Byzantine senders: a per-node send interceptor.
//!
//! A Byzantine node runs its honest process unchanged; what changes is what
//! leaves the machine. Every message a node sends passes through
//! [`crate::Sim::set_send_interceptor`]'s interceptor for that node, if one is
//! installed, before it reaches the network: the interceptor may pass it on,
//! drop it, alter it, hold it back, send different versions to different peers
//! or add old messages. What it emits is what the trace and the fingerprint
//! record as sent, so a replay sees the same attack.
//!
//! Why a hook in `Kernel::send` rather than a wrapper process: a wrapper would
//! have to be installed when the node is built (the protocol's driver would
//! need to know about it), and the process's own `Ctx::send` goes straight to
//! the kernel, so a wrapper could not see the sends anyway. The hook can be
//! switched on at any time by the harness, survives restarts (the adversary
//! owns the machine, not the process), and costs one branch per send when off.
//!
//! Determinism: an interceptor must draw randomness only from a stream of its
//! own (e.g. `rng::stream(seed, "byzantine/3")`), never from the network's or
//! the node's, so that making a node Byzantine does not shift anyone else's draws.
//!
//! The protocol's part is [`crate::Message::equivocate`] and
//! [`crate::Message::forge`]: the variants only the protocol knows how to make.
//! Both default to `None`, so protocols that do not provide them still compile.

use std::any::Any;
use std::collections::BTreeMap;

use crate::process::{Message, NodeId};
use crate::time::Nanos;

/// One message on its way out of a node.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing<M> {
    pub to: NodeId,
    pub msg: M,
    /// Extra delay before it enters the network (a sender holding it back).
    /// It is added to the link's latency; the link's state (cut or not) is
    /// taken at the time of the send.
    pub delay: Nanos,
}

/// What an interceptor may know and do besides emitting messages.
pub struct InterceptCtx<'a> {
    /// The sending (Byzantine) node.
    pub from: NodeId,
    /// True time: the adversary is part of the harness and may know it.
    pub now: Nanos,
    /// Nodes in the simulation; valid destinations are `0..node_count`.
    pub node_count: u32,
    pub(crate) counters: &'a mut BTreeMap<&'static str, i64>,
}

impl InterceptCtx<'_> {
    /// Adds `delta` to a run-wide counter (shown in the summary with the others).
    pub fn count(&mut self, name: &'static str, delta: i64) {
        *self.counters.entry(name).or_insert(0) += delta;
    }
}

/// Rewrites what a node sends. `Any` lets the harness find its own interceptor
/// again (to add or remove a behaviour) by downcasting.
pub trait SendInterceptor<M: Message>: Any {
    /// Called for every message the node sends; pushes onto `out` what goes
    /// on the wire instead (nothing: the message is suppressed). Destinations
    /// outside `0..node_count` are ignored.
    fn intercept(
        &mut self,
        ctx: &mut InterceptCtx<'_>,
        msg: Outgoing<M>,
        out: &mut Vec<Outgoing<M>>,
    );
}
