//! The kernel's state apart from the processes: clock, event queue, network,
//! node states, history and recorder. Split from [`crate::Sim`] so that a
//! process can hold `&mut Kernel` (through its `Ctx`) while the simulator holds
//! `&mut` to that process.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::byzantine::{InterceptCtx, Outgoing, SendInterceptor};
use crate::history::{History, HistoryEntry, OpId, OpType};
use crate::link_counts::Link;
use crate::network::{Fate, LinkConfig, Network};
use crate::process::{Message, NodeId, TimerId};
use crate::queue::{Entry, EventQueue};
use crate::rng::{self, SimRng};
use crate::storage::Storage;
use crate::time::{Nanos, NodeClock, MAX_MESSAGE_DELAY};
use crate::trace::{DropReason, Recorder, TraceEvent};

/// Bits of a request id that count requests within one incarnation.
pub const REQUEST_SEQ_BITS: u32 = 40;

/// When a message sent at `now`, held back `hold` by its sender and delayed
/// `delay` by its link, arrives: never more than [`MAX_MESSAGE_DELAY`] after
/// `now`, and never past the end of time.
fn arrival(now: Nanos, hold: Nanos, delay: Nanos) -> Nanos {
    now.saturating_add(hold.saturating_add(delay).min(MAX_MESSAGE_DELAY))
}

/// What a scheduled event does when its time comes.
pub(crate) enum Event<M> {
    Start {
        node: NodeId,
        incarnation: u32,
    },
    Deliver {
        from: NodeId,
        to: NodeId,
        /// The link's number in the network's counts.
        link: Link,
        id: u64,
        msg: M,
        /// Altered in flight: counted as `corrupt_delivered` if it arrives, so a
        /// summary can set the corruptions protocols detected against those delivered.
        corrupted: bool,
    },
    Timer {
        node: NodeId,
        tag: u64,
        incarnation: u32,
    },
}

impl<M> Event<M> {
    /// The node that handles the event.
    pub(crate) fn node(&self) -> NodeId {
        match self {
            Event::Start { node, .. } | Event::Timer { node, .. } => *node,
            Event::Deliver { to, .. } => *to,
        }
    }
}

/// A slab slot: the payload of one queued event. The queue holds only
/// (time, seq, slot), which keeps its moves as cheap as a bare heap's; a
/// queue entry whose seq no longer matches its slot's is stale (a cancelled timer).
struct Slot<M> {
    seq: u64,
    /// Bumped each time the slot takes a new event; a timer id names (slot, gen),
    /// so it stays valid when a pause defers the timer under a new seq.
    generation: u64,
    event: Option<Event<M>>,
}

/// Whether a node is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeStatus {
    Up,
    Down,
}

pub(crate) struct NodeState {
    pub status: NodeStatus,
    /// Bumped by every crash; events of an older incarnation are discarded.
    pub incarnation: u32,
    /// Request ids handed out in this incarnation (see [`Kernel::request_id`]).
    pub requests: u64,
    /// No event is handled before this true time (a stop-the-world pause).
    pub paused_until: Nanos,
    /// The history index of this incarnation's open operation, if any.
    pub open_op: Option<u64>,
    pub clock: NodeClock,
    pub storage: Storage,
    pub rng: SimRng,
}

pub struct Kernel<M: Message> {
    pub(crate) seed: u64,
    pub(crate) now: Nanos,
    next_seq: u64,
    queue: EventQueue,
    slab: Vec<Slot<M>>,
    free: Vec<u32>,
    /// Queue entries known to be stale, so the queue can be compacted when they pile up.
    stale: usize,
    /// No node is paused at or after this time (the latest pause end ever
    /// set): before it, a popped event's node must be checked for a pause;
    /// after it, never.
    pub(crate) pauses_end: Nanos,
    pub(crate) nodes: Vec<NodeState>,
    /// True time at which the workload ends (see `Ctx::workload_over`).
    pub(crate) workload_end: Nanos,
    pub(crate) network: Network,
    pub(crate) default_link: LinkConfig,
    net_rng: SimRng,
    next_msg: u64,
    pub(crate) history: History,
    /// Operations left open by incarnations that crashed: history process →
    /// index of its invoke entry (a running incarnation's is in its node's
    /// `open_op`, found without a look-up).
    crashed_open_ops: BTreeMap<u64, u64>,
    pub(crate) recorder: Recorder,
    pub(crate) counters: BTreeMap<&'static str, i64>,
    /// Per node: the Byzantine send interceptor, if the node is Byzantine now.
    pub(crate) interceptors: Vec<Option<Box<dyn SendInterceptor<M>>>>,
    /// Reused buffer for what an interceptor emits (no allocation per send).
    intercepted: Vec<Outgoing<M>>,
}

impl<M: Message> Kernel<M> {
    pub(crate) fn new(seed: u64, default_link: LinkConfig) -> Self {
        Self {
            seed,
            now: 0,
            next_seq: 0,
            queue: EventQueue::new(),
            slab: Vec::new(),
            free: Vec::new(),
            stale: 0,
            pauses_end: 0,
            nodes: Vec::new(),
            workload_end: Nanos::MAX,
            network: Network::new(0, default_link.clone()),
            default_link,
            net_rng: rng::stream(seed, "network"),
            next_msg: 0,
            history: History::new(),
            crashed_open_ops: BTreeMap::new(),
            recorder: Recorder::new(),
            counters: BTreeMap::new(),
            interceptors: Vec::new(),
            intercepted: Vec::new(),
        }
    }

    pub(crate) fn add_node(&mut self) -> NodeId {
        assert!(
            self.history.entries.is_empty(),
            "nodes are added before the first operation: history processes are numbered by node count"
        );
        let id = self.nodes.len() as NodeId;
        self.nodes.push(NodeState {
            status: NodeStatus::Up,
            incarnation: 0,
            requests: 0,
            paused_until: 0,
            open_op: None,
            clock: NodeClock::new(),
            storage: Storage::new(),
            rng: rng::node_stream(self.seed, id),
        });
        self.network.grow(self.nodes.len());
        self.interceptors.push(None);
        id
    }

    pub(crate) fn local_time(&self, node: NodeId) -> Nanos {
        self.nodes[node as usize].clock.local(self.now)
    }

    pub(crate) fn monotonic_time(&self, node: NodeId) -> Nanos {
        self.nodes[node as usize].clock.monotonic(self.now)
    }

    // ---- identities that survive restarts ----

    /// The history process of `node`'s current incarnation:
    /// `incarnation × node count + node`. Each incarnation of a client is a
    /// process of its own, so an operation its crash left open stays open
    /// (indeterminate) and the restarted client starts with none open; and
    /// `process % node count` still names the node.
    pub(crate) fn history_process(&self, node: NodeId) -> u64 {
        let incarnation = u64::from(self.nodes[node as usize].incarnation);
        incarnation * self.nodes.len() as u64 + u64::from(node)
    }

    /// A request id `node` has never used, in any incarnation, and larger
    /// than every one it used before: `incarnation << 40 | n` for its `n`-th
    /// request in this incarnation. What a real client builds from a boot
    /// counter on disk and a counter in memory, kept here so that no
    /// protocol can get it wrong.
    pub(crate) fn request_id(&mut self, node: NodeId) -> u64 {
        let n = &mut self.nodes[node as usize];
        n.requests += 1;
        assert!(
            n.requests < 1 << REQUEST_SEQ_BITS,
            "node {node} used up the request ids of one incarnation"
        );
        u64::from(n.incarnation) << REQUEST_SEQ_BITS | n.requests
    }

    // ---- the event queue ----

    #[inline]
    pub(crate) fn schedule(&mut self, at: Nanos, event: Event<M>) -> TimerId {
        let seq = self.next_seq;
        self.next_seq += 1;
        let slot = match self.free.pop() {
            Some(s) => {
                let old = &mut self.slab[s as usize];
                old.seq = seq;
                old.generation += 1;
                old.event = Some(event);
                s
            }
            None => {
                self.slab.push(Slot {
                    seq,
                    generation: 0,
                    event: Some(event),
                });
                (self.slab.len() - 1) as u32
            }
        };
        self.queue.push(Entry::new(at, seq, slot));
        TimerId {
            slot,
            generation: self.slab[slot as usize].generation,
        }
    }

    /// Brings the next event that can run now to the front of the queue and
    /// returns its time: stale entries (cancelled timers) are discarded, and an
    /// event for a paused node is pushed back to the pause's end with a new
    /// sequence number, taken in due order, so that when the pause ends the node
    /// handles what it missed in the order it came due. It keeps its slot, so
    /// its timer id stays valid.
    #[inline]
    pub(crate) fn peek_time(&mut self) -> Option<Nanos> {
        while let Some(entry) = self.queue.peek() {
            let (t, seq, slot) = (entry.time(), entry.seq(), entry.slot());
            let s = &self.slab[slot as usize];
            let Some(event) = s.event.as_ref().filter(|_| s.seq == seq) else {
                self.queue.pop();
                self.stale -= 1;
                continue;
            };
            if t >= self.pauses_end {
                return Some(t);
            }
            let target = &self.nodes[event.node() as usize];
            if target.status == NodeStatus::Up && target.paused_until > t {
                let until = target.paused_until;
                self.queue.pop();
                let new_seq = self.next_seq;
                self.next_seq += 1;
                self.slab[slot as usize].seq = new_seq;
                self.queue.push(Entry::new(until, new_seq, slot));
                continue;
            }
            return Some(t);
        }
        None
    }

    /// Removes and returns the next event that can run, with its time.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<(Nanos, Event<M>)> {
        let t = self.peek_time()?;
        let slot = self.queue.pop().expect("peeked").slot();
        let event = self.slab[slot as usize].event.take().expect("live slot");
        self.free.push(slot);
        Some((t, event))
    }

    pub(crate) fn pending(&self) -> usize {
        self.queue.len() - self.stale
    }

    pub(crate) fn set_timer(&mut self, node: NodeId, after: Nanos, tag: u64) -> TimerId {
        let n = &self.nodes[node as usize];
        let at = self.now.saturating_add(n.clock.true_duration(after));
        let incarnation = n.incarnation;
        self.schedule(
            at,
            Event::Timer {
                node,
                tag,
                incarnation,
            },
        )
    }

    pub(crate) fn cancel_timer(&mut self, timer: TimerId) {
        let Some(s) = self.slab.get_mut(timer.slot as usize) else {
            return;
        };
        if s.generation == timer.generation && matches!(s.event, Some(Event::Timer { .. })) {
            s.event = None;
            self.free.push(timer.slot);
            self.stale += 1;
            // Cancelled timers must not pile up in the queue (protocols reset
            // their election timers on every heartbeat): compact when half is dead.
            if self.stale > 64 && self.stale * 4 > self.queue.len() {
                let slab = &self.slab;
                self.queue.retain(|e| {
                    let s = &slab[e.slot() as usize];
                    s.seq == e.seq() && s.event.is_some()
                });
                self.stale = 0;
            }
        }
    }

    // ---- the network ----

    /// A message leaves `from`: through its Byzantine interceptor, if any, then
    /// onto the network. Inlined into the sender's `Ctx::send`: an honest
    /// sender costs one check on the way to the network.
    #[inline]
    pub(crate) fn send(&mut self, from: NodeId, to: NodeId, msg: M) {
        if matches!(self.interceptors.get(from as usize), Some(Some(_))) {
            self.send_intercepted(from, to, msg);
        } else {
            self.transmit(from, to, msg, 0);
        }
    }

    /// A Byzantine sender's message: what its interceptor makes of it goes
    /// onto the network.
    #[cold]
    #[inline(never)]
    fn send_intercepted(&mut self, from: NodeId, to: NodeId, msg: M) {
        let mut interceptor = self.interceptors[from as usize]
            .take()
            .expect("an interceptor is installed");
        let mut out = std::mem::take(&mut self.intercepted);
        let mut ctx = InterceptCtx {
            from,
            now: self.now,
            node_count: self.nodes.len() as u32,
            counters: &mut self.counters,
        };
        interceptor.intercept(&mut ctx, Outgoing { to, msg, delay: 0 }, &mut out);
        self.interceptors[from as usize] = Some(interceptor);
        for o in out.drain(..) {
            if (o.to as usize) < self.nodes.len() {
                self.transmit(from, o.to, o.msg, o.delay);
            }
        }
        self.intercepted = out;
    }

    /// Puts a message on the network, `hold` later than its link alone would.
    fn transmit(&mut self, from: NodeId, to: NodeId, msg: M, hold: Nanos) {
        let id = self.next_msg;
        self.next_msg += 1;
        let now = self.now;
        self.recorder.record(TraceEvent::Send {
            t: now,
            from,
            to,
            id,
            msg: &msg,
        });
        let link = self.network.link(from, to);
        self.network.link_stats_mut(link).sent += 1;
        if self.network.is_cut(from, to) {
            self.drop_message(link, from, to, id, DropReason::Cut);
            return;
        }
        let fate = self.network.fate(from, to, &mut self.net_rng);
        // The common case (nothing lost, nothing touched by a fault) is
        // kept small; the rest is out of line.
        match fate.untouched() {
            Some(delay) => {
                self.deliver_at(arrival(now, hold, delay), from, to, link, id, msg, false)
            }
            None => self.transmit_faulted(from, to, link, id, msg, hold, fate),
        }
    }

    /// The rest of [`Kernel::transmit`] for a message its link's faults
    /// touched: lost, reordered, corrupted or duplicated.
    #[allow(clippy::too_many_arguments)]
    #[cold]
    #[inline(never)]
    fn transmit_faulted(
        &mut self,
        from: NodeId,
        to: NodeId,
        link: Link,
        id: u64,
        mut msg: M,
        hold: Nanos,
        fate: Fate,
    ) {
        let now = self.now;
        let Some(delay) = fate.first else {
            self.drop_message(link, from, to, id, DropReason::Loss);
            return;
        };
        if fate.reordered {
            self.network.link_stats_mut(link).reordered += 1;
        }
        if fate.corrupt {
            self.network.link_stats_mut(link).corrupted += 1;
            if !msg.corrupt(&mut self.net_rng) {
                *self.counters.entry("corrupt_dropped").or_insert(0) += 1;
                self.drop_message(link, from, to, id, DropReason::Corrupt);
                return;
            }
            self.recorder.record::<M>(TraceEvent::Corrupt {
                t: now,
                from,
                to,
                id,
            });
        }
        if let Some(dup_delay) = fate.duplicate {
            self.network.link_stats_mut(link).duplicated += 1;
            self.recorder.record::<M>(TraceEvent::Duplicate {
                t: now,
                from,
                to,
                id,
            });
            let copy = msg.clone();
            self.deliver_at(
                arrival(now, hold, dup_delay),
                from,
                to,
                link,
                id,
                copy,
                fate.corrupt,
            );
        }
        self.deliver_at(
            arrival(now, hold, delay),
            from,
            to,
            link,
            id,
            msg,
            fate.corrupt,
        );
    }

    /// Schedules the delivery of message `id` (`from → to`, on the link
    /// numbered `link`) at `at`.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn deliver_at(
        &mut self,
        at: Nanos,
        from: NodeId,
        to: NodeId,
        link: Link,
        id: u64,
        msg: M,
        corrupted: bool,
    ) {
        self.schedule(
            at,
            Event::Deliver {
                from,
                to,
                link,
                id,
                msg,
                corrupted,
            },
        );
    }

    /// Counts and records a message lost on the link numbered `link` (`from → to`).
    pub(crate) fn drop_message(
        &mut self,
        link: Link,
        from: NodeId,
        to: NodeId,
        id: u64,
        reason: DropReason,
    ) {
        self.network.link_stats_mut(link).dropped += 1;
        let t = self.now;
        self.recorder.record::<M>(TraceEvent::Drop {
            t,
            from,
            to,
            id,
            reason,
        });
    }

    // ---- the history ----

    pub(crate) fn invoke(
        &mut self,
        node: NodeId,
        f: &str,
        key: Option<String>,
        value: Value,
    ) -> OpId {
        let process = self.history_process(node);
        let index = self.history.entries.len() as u64;
        if self.nodes[node as usize].open_op.replace(index).is_some() {
            panic!(
                "client process {process} (node {node}) invoked {f} while its previous operation is still open"
            );
        }
        self.push_op(node, process, OpType::Invoke, f.to_string(), key, value);
        OpId(index)
    }

    /// Closes the open operation `index` of history process `process`, if
    /// it is that process's open one: kept in its node's slot while that
    /// incarnation runs, among the crashed ones after. False if it is not.
    fn close_open_op(&mut self, process: u64, index: u64) -> bool {
        let n = self.nodes.len() as u64;
        let owner = &mut self.nodes[(process % n) as usize];
        if u64::from(owner.incarnation) == process / n {
            owner.open_op.take_if(|&mut open| open == index).is_some()
        } else if self.crashed_open_ops.get(&process) == Some(&index) {
            self.crashed_open_ops.remove(&process);
            true
        } else {
            false
        }
    }

    /// Keeps the open operation of `node`'s current incarnation, which is
    /// about to crash, among the crashed ones: it stays open for ever
    /// (indeterminate), as its process's.
    pub(crate) fn retire_open_op(&mut self, node: NodeId) {
        if let Some(index) = self.nodes[node as usize].open_op.take() {
            let process = self.history_process(node);
            self.crashed_open_ops.insert(process, index);
        }
    }

    pub(crate) fn complete(&mut self, node: NodeId, op: OpId, outcome: OpType, value: Value) {
        assert!(
            outcome != OpType::Invoke,
            "an operation completes with ok, fail or info"
        );
        let invoked = self.history.entries.get(op.0 as usize);
        match invoked.map(|e| e.process) {
            Some(p) if self.close_open_op(p, op.0) => {}
            _ => panic!("operation {} completed twice or never invoked", op.0),
        }
        let invoked = &self.history.entries[op.0 as usize];
        let (process, f, key) = (invoked.process, invoked.f.clone(), invoked.key.clone());
        self.push_op(node, process, outcome, f, key, value);
    }

    fn push_op(
        &mut self,
        node: NodeId,
        process: u64,
        op_type: OpType,
        f: String,
        key: Option<String>,
        value: Value,
    ) {
        let t = self.now;
        let type_name = match op_type {
            OpType::Invoke => "invoke",
            OpType::Ok => "ok",
            OpType::Fail => "fail",
            OpType::Info => "info",
        };
        self.recorder.record::<M>(TraceEvent::Op {
            t,
            node,
            process,
            op_type: type_name,
            f: &f,
            key: key.as_deref(),
            value: &value,
        });
        self.history.push(HistoryEntry {
            process,
            op_type,
            f,
            key,
            value,
            time: t,
        });
    }
}
