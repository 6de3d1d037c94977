//! The sans-IO process interface.
//!
//! A protocol replica, a client and a workload generator are all processes: state
//! machines that react to being started, to a message and to a timer, and that
//! act only by telling their [`Ctx`] what to do. A process never sleeps, reads a
//! real clock or touches a socket, so the same code could be driven by a real
//! network, and here it is driven by the simulator, deterministically.

use std::any::Any;
use std::fmt::Debug;
use std::hash::Hash;

use serde::Serialize;
use serde_json::Value;

use crate::fingerprint::EventHasher;
use crate::history::{OpId, OpType};
use crate::kernel::Kernel;
use crate::rng::SimRng;
use crate::storage::Storage;
use crate::time::Nanos;

/// A node's index in the cluster (replicas and clients alike).
pub type NodeId = u32;

/// What travels on the simulated network.
///
/// `Hash` feeds the run's fingerprint (so two runs that send different contents
/// differ; see [`Message::fingerprint`]), `Serialize` writes the trace.
pub trait Message: Clone + Debug + Hash + Serialize + 'static {
    /// Folds this message into the run's fingerprint as it is sent. The
    /// default hashes its whole content. A message that carries a checksum
    /// of its content, computed from that content when the message was
    /// built and never out of step with it (as
    /// [`Sealed`](crate::integrity::Sealed) keeps it), may fold only the
    /// checksum: contents that differ have different checksums but for a
    /// 64-bit collision, the fingerprint's own strength, and the message is
    /// then hashed once, when it is built, instead of twice.
    fn fingerprint(&self, h: &mut EventHasher) {
        self.hash(h);
    }

    /// Alters this message the way a bit flip in flight would, and returns
    /// `true`; a type that cannot be altered meaningfully returns `false`, and the
    /// network then drops the message (as a NIC drops a frame failing its CRC).
    fn corrupt(&mut self, _rng: &mut SimRng) -> bool {
        false
    }

    /// Another version of this message that its sender could legitimately
    /// have sent instead (another value in a proposal, a vote for another
    /// candidate), correctly signed by the sender: what an equivocating
    /// Byzantine node sends to some peers while the others get the original.
    /// `None` (the default): the protocol offers no variant. See [`crate::byzantine`].
    fn equivocate(&self, _rng: &mut SimRng) -> Option<Self> {
        None
    }

    /// A forgery: content the sender could not have produced honestly (a vote
    /// claimed on another node's behalf, a certificate without its quorum, a
    /// changed body under the old signature). A protocol that authenticates
    /// its messages must reject it. `None` (the default): no forgery offered.
    fn forge(&self, _rng: &mut SimRng) -> Option<Self> {
        None
    }
}

/// A timer handle, for cancelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimerId {
    pub(crate) slot: u32,
    pub(crate) generation: u64,
}

/// A simulated process. `Any` lets a harness look inside a node (invariant
/// checks, "who is leader?") by downcasting.
///
/// A pinger and a ponger, run for one virtual second: every step is decided
/// by the seed, so the same seed gives the same fingerprint.
///
/// ```
/// use sim_core::{Ctx, LinkConfig, Message, NodeId, Process, Sim, MILLIS, SECONDS};
///
/// #[derive(Clone, Debug, Hash, serde::Serialize)]
/// struct Ping(u32);
/// impl Message for Ping {}
///
/// /// Sends a ping every 10 ms of its own clock; counts the answers.
/// struct Pinger { peer: NodeId, answers: u32 }
///
/// impl Process for Pinger {
///     type Msg = Ping;
///     fn on_start(&mut self, ctx: &mut Ctx<'_, Ping>) {
///         ctx.set_timer(10 * MILLIS, 0);
///     }
///     fn on_message(&mut self, _: &mut Ctx<'_, Ping>, _: NodeId, _: Ping) {
///         self.answers += 1;
///     }
///     fn on_timer(&mut self, ctx: &mut Ctx<'_, Ping>, _tag: u64) {
///         ctx.send(self.peer, Ping(self.answers));
///         ctx.set_timer(10 * MILLIS, 0);
///     }
/// }
///
/// /// Answers every ping.
/// struct Ponger;
///
/// impl Process for Ponger {
///     type Msg = Ping;
///     fn on_start(&mut self, _: &mut Ctx<'_, Ping>) {}
///     fn on_message(&mut self, ctx: &mut Ctx<'_, Ping>, from: NodeId, msg: Ping) {
///         ctx.send(from, msg);
///     }
///     fn on_timer(&mut self, _: &mut Ctx<'_, Ping>, _: u64) {}
/// }
///
/// let run = |seed| {
///     let mut sim: Sim<Ping> = Sim::new(seed, LinkConfig::default());
///     let pinger = sim.add_node(|| Pinger { peer: 1, answers: 0 });
///     sim.add_node(|| Ponger);
///     sim.run_until(SECONDS);
///     let answers = sim.process_as::<Pinger>(pinger).unwrap().answers;
///     (answers, sim.fingerprint())
/// };
/// let (answers, fingerprint) = run(7);
/// assert!(answers > 90, "{answers}");
/// assert_eq!(run(7).1, fingerprint);
/// ```
pub trait Process: Any {
    type Msg: Message;

    /// Called when the node starts, and again after every restart. A restarted
    /// process is a fresh value: it recovers only what `ctx.storage()` holds.
    fn on_start(&mut self, ctx: &mut Ctx<'_, Self::Msg>);

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self::Msg>, from: NodeId, msg: Self::Msg);

    /// A timer set with [`Ctx::set_timer`] fired; `tag` is what was passed then.
    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self::Msg>, tag: u64);
}

/// A process's only window on the world, valid during one callback.
pub struct Ctx<'a, M: Message> {
    pub(crate) kernel: &'a mut Kernel<M>,
    pub(crate) node: NodeId,
}

impl<M: Message> Ctx<'_, M> {
    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.node
    }

    /// The number of nodes in the simulation (replicas and clients).
    pub fn node_count(&self) -> u32 {
        self.kernel.nodes.len() as u32
    }

    /// This node's wall clock, in nanoseconds. Skew, drift and jumps show here;
    /// true time is never visible to a process. Use it for what is compared
    /// across nodes (timestamps, expiry times sent to others), never to
    /// measure how long something took: a jump makes that wrong.
    pub fn now(&self) -> Nanos {
        self.kernel.local_time(self.node)
    }

    /// This node's monotonic clock, in nanoseconds: it drifts with the node's
    /// oscillator but skew and jumps never move it, so the difference of two
    /// readings is elapsed time (leases, timeouts, deadlines). Its value means
    /// nothing to another node.
    pub fn monotonic_now(&self) -> Nanos {
        self.kernel.monotonic_time(self.node)
    }

    /// Whether the test's workload has ended: true from the true time the
    /// harness set with [`crate::Sim::end_workload_at`] on. For clients,
    /// which are the test's workload generators, not the system under test:
    /// they stop invoking operations when it turns true, on the harness's
    /// clock, whatever their own clocks say (Jepsen's generator runs on the
    /// control node's clock the same way). A replica must never read it.
    pub fn workload_over(&self) -> bool {
        self.kernel.now >= self.kernel.workload_end
    }

    /// How many times this node has crashed before this incarnation.
    pub fn incarnation(&self) -> u32 {
        self.kernel.nodes[self.node as usize].incarnation
    }

    /// The history process this incarnation's operations are recorded under.
    pub fn history_process(&self) -> u64 {
        self.kernel.history_process(self.node)
    }

    /// A fresh request id: never used by this node before, in this or an
    /// earlier incarnation, and above every id it used before. Use it for
    /// whatever servers deduplicate or match replies by.
    pub fn request_id(&mut self) -> u64 {
        self.kernel.request_id(self.node)
    }

    pub fn send(&mut self, to: NodeId, msg: M) {
        self.kernel.send(self.node, to, msg);
    }

    /// Sends a copy of `msg` to each of `to`.
    pub fn send_all(&mut self, to: impl IntoIterator<Item = NodeId>, msg: &M) {
        for peer in to {
            self.kernel.send(self.node, peer, msg.clone());
        }
    }

    /// Fires `on_timer(tag)` once `after` nanoseconds have passed on this node's
    /// clock. A pause makes it fire late; a crash discards it.
    pub fn set_timer(&mut self, after: Nanos, tag: u64) -> TimerId {
        self.kernel.set_timer(self.node, after, tag)
    }

    /// Cancels a timer; cancelling one that fired or was cancelled is harmless.
    pub fn cancel_timer(&mut self, timer: TimerId) {
        self.kernel.cancel_timer(timer);
    }

    /// This node's random stream.
    pub fn rng(&mut self) -> &mut SimRng {
        &mut self.kernel.nodes[self.node as usize].rng
    }

    /// This node's durable storage.
    pub fn storage(&mut self) -> &mut Storage {
        &mut self.kernel.nodes[self.node as usize].storage
    }

    /// Records the invocation of a client operation by this incarnation's
    /// history process (one open operation at a time).
    pub fn invoke(&mut self, f: &str, key: Option<String>, value: Value) -> OpId {
        self.kernel.invoke(self.node, f, key, value)
    }

    /// Records the completion of `op`: `Ok`, `Fail` or `Info`.
    pub fn complete(&mut self, op: OpId, outcome: OpType, value: Value) {
        self.kernel.complete(self.node, op, outcome, value);
    }

    /// Adds `delta` to the run-wide counter `name` (reported in the summary).
    pub fn count(&mut self, name: &'static str, delta: i64) {
        *self.kernel.counters.entry(name).or_insert(0) += delta;
    }
}

/// Downcasts a boxed process to its concrete type, for harness introspection.
pub fn downcast<M: Message, T: Any>(p: &dyn Process<Msg = M>) -> Option<&T> {
    let any: &dyn Any = p;
    any.downcast_ref::<T>()
}
