//! The simulator: the event loop that drives processes through the kernel.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use serde::{Deserialize, Serialize};

use crate::byzantine::SendInterceptor;
use crate::history::History;
use crate::kernel::{Event, Kernel, NodeStatus};
use crate::network::{LinkConfig, Network};
use crate::panics;
use crate::process::{Ctx, Message, NodeId, Process};
use crate::time::{Nanos, NodeClock};
use crate::trace::{DropReason, TraceEvent};

/// Something a run found wrong: a panic inside a process, a broken invariant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// `panic`, or the name of the invariant or check that failed.
    pub kind: String,
    /// True time at which it was found.
    pub time: Nanos,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<NodeId>,
    pub message: String,
}

/// What a crash does to the node's unsynced writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CrashMode {
    /// The process dies but the machine's page cache survives: nothing is lost.
    KeepUnsynced,
    /// Power loss: every write since the last sync is gone.
    LoseUnsynced,
    /// Power loss mid-flush: the first `n` unsynced writes reached the disk.
    KeepFirst(usize),
}

/// The outcome of one [`Sim::step`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// One event was handled.
    Handled,
    /// Nothing is left to do.
    Idle,
    /// A finding stopped the run.
    Stopped,
}

type Factory<M> = Box<dyn Fn() -> Box<dyn Process<Msg = M>>>;

/// A deterministic simulation of nodes exchanging messages of type `M`.
pub struct Sim<M: Message> {
    kernel: Kernel<M>,
    processes: Vec<Option<Box<dyn Process<Msg = M>>>>,
    factories: Vec<Factory<M>>,
    finding: Option<Finding>,
    handled: u64,
    /// See [`Sim::conditions_version`].
    conditions: u64,
    /// Ends of pauses still to come: passing one changes the conditions.
    pause_ends: BinaryHeap<Reverse<Nanos>>,
    /// The node whose callback the last event was for.
    last_node: Option<NodeId>,
}

impl<M: Message> Sim<M> {
    /// A simulation whose every random draw derives from `seed`, with every link
    /// configured as `link`.
    pub fn new(seed: u64, link: LinkConfig) -> Self {
        panics::install_hook();
        Self {
            kernel: Kernel::new(seed, link),
            processes: Vec::new(),
            factories: Vec::new(),
            finding: None,
            handled: 0,
            conditions: 0,
            pause_ends: BinaryHeap::new(),
            last_node: None,
        }
    }

    pub fn seed(&self) -> u64 {
        self.kernel.seed
    }

    /// Adds a node built by `factory`, started at the current time. The factory
    /// builds it again, fresh, at every restart.
    pub fn add_node<P, F>(&mut self, factory: F) -> NodeId
    where
        P: Process<Msg = M>,
        F: Fn() -> P + 'static,
    {
        let id = self.kernel.add_node();
        self.factories.push(Box::new(move || Box::new(factory())));
        self.processes.push(Some((self.factories[id as usize])()));
        let now = self.kernel.now;
        self.kernel.schedule(
            now,
            Event::Start {
                node: id,
                incarnation: 0,
            },
        );
        id
    }

    pub fn node_count(&self) -> u32 {
        self.processes.len() as u32
    }

    /// True time.
    pub fn now(&self) -> Nanos {
        self.kernel.now
    }

    /// Handles the next event.
    pub fn step(&mut self) -> Step {
        if self.finding.is_some() {
            return Step::Stopped;
        }
        let Some((t, event)) = self.kernel.pop() else {
            return Step::Idle;
        };
        self.kernel.now = t;
        self.handled += 1;
        while self.pause_ends.peek().is_some_and(|&Reverse(end)| end <= t) {
            self.pause_ends.pop();
            self.conditions += 1;
        }
        self.last_node = Some(event.node());
        match event {
            Event::Start { node, incarnation } => {
                if self.is_current(node, incarnation) {
                    self.kernel
                        .recorder
                        .record::<M>(TraceEvent::Start { t, node });
                    self.call(node, |p, ctx| p.on_start(ctx));
                }
            }
            Event::Deliver {
                from,
                to,
                link,
                id,
                msg,
                corrupted,
            } => {
                if self.kernel.nodes[to as usize].status == NodeStatus::Down {
                    self.kernel
                        .drop_message(link, from, to, id, DropReason::ReceiverDown);
                } else if self.kernel.network.is_cut(from, to) {
                    self.kernel
                        .drop_message(link, from, to, id, DropReason::Cut);
                } else {
                    self.kernel.network.link_stats_mut(link).delivered += 1;
                    if corrupted {
                        *self.kernel.counters.entry("corrupt_delivered").or_insert(0) += 1;
                    }
                    self.kernel
                        .recorder
                        .record::<M>(TraceEvent::Deliver { t, from, to, id });
                    self.call(to, |p, ctx| p.on_message(ctx, from, msg));
                }
            }
            Event::Timer {
                node,
                tag,
                incarnation,
            } => {
                if self.is_current(node, incarnation) {
                    self.kernel
                        .recorder
                        .record::<M>(TraceEvent::Timer { t, node, tag });
                    self.call(node, |p, ctx| p.on_timer(ctx, tag));
                }
            }
        }
        if self.finding.is_some() {
            Step::Stopped
        } else {
            Step::Handled
        }
    }

    fn is_current(&self, node: NodeId, incarnation: u32) -> bool {
        let n = &self.kernel.nodes[node as usize];
        n.status == NodeStatus::Up && n.incarnation == incarnation
    }

    /// Runs one process callback; a panic inside it becomes a finding and
    /// takes the node down, never the simulator. The process is borrowed in
    /// place (it and the kernel are separate fields), not moved out and back.
    #[inline]
    fn call(&mut self, node: NodeId, f: impl FnOnce(&mut dyn Process<Msg = M>, &mut Ctx<'_, M>)) {
        let Some(process) = self.processes[node as usize].as_deref_mut() else {
            return;
        };
        crate::logging::set_current(self.kernel.now, node);
        let mut ctx = Ctx {
            kernel: &mut self.kernel,
            node,
        };
        let result = panics::catch_hooked(|| f(process, &mut ctx));
        crate::logging::clear_current();
        if let Err(message) = result {
            self.panicked(node, message);
        }
    }

    /// A process callback on `node` panicked with `message`: recorded, the
    /// node taken down (its process dropped), the run stopped.
    #[cold]
    #[inline(never)]
    fn panicked(&mut self, node: NodeId, message: String) {
        let t = self.kernel.now;
        self.kernel.recorder.record::<M>(TraceEvent::Panic {
            t,
            node,
            message: &message,
        });
        self.take_down(node);
        self.stop(Finding {
            kind: "panic".into(),
            time: t,
            node: Some(node),
            message,
        });
    }

    fn take_down(&mut self, node: NodeId) {
        self.conditions += 1;
        self.kernel.retire_open_op(node);
        let n = &mut self.kernel.nodes[node as usize];
        n.status = NodeStatus::Down;
        n.incarnation += 1;
        n.requests = 0;
        n.paused_until = 0;
        self.processes[node as usize] = None;
    }

    /// Handles events until the next one is later than `t` (or a finding stops
    /// the run), then advances the clock to `t`. Returns false if stopped.
    pub fn run_until(&mut self, t: Nanos) -> bool {
        while self.finding.is_none() {
            match self.kernel.peek_time() {
                Some(next) if next <= t => {
                    self.step();
                }
                _ => break,
            }
        }
        if self.finding.is_none() && t > self.kernel.now {
            self.kernel.now = t;
        }
        self.finding.is_none()
    }

    /// Like [`Sim::run_until`], calling `check` after every event; the first
    /// finding it returns stops the run (invariants checked as the run goes).
    pub fn run_until_checked(
        &mut self,
        t: Nanos,
        mut check: impl FnMut(&Sim<M>) -> Option<Finding>,
    ) -> bool {
        while self.finding.is_none() {
            match self.kernel.peek_time() {
                Some(next) if next <= t => {
                    self.step();
                    if self.finding.is_none() {
                        if let Some(f) = check(self) {
                            self.stop(f);
                        }
                    }
                }
                _ => break,
            }
        }
        if self.finding.is_none() && t > self.kernel.now {
            self.kernel.now = t;
        }
        self.finding.is_none()
    }

    /// Stops the run with a finding (the first one wins).
    pub fn stop(&mut self, finding: Finding) {
        if self.finding.is_none() {
            let t = self.kernel.now;
            let what = format!("finding {}: {}", finding.kind, finding.message);
            self.kernel
                .recorder
                .record::<M>(TraceEvent::Fault { t, what: &what });
            self.finding = Some(finding);
        }
    }

    pub fn finding(&self) -> Option<&Finding> {
        self.finding.as_ref()
    }

    /// Time of the next pending event.
    pub fn next_event_time(&mut self) -> Option<Nanos> {
        self.kernel.peek_time()
    }

    // ---- faults: node lifecycle ----

    /// Ends the test's workload at true time `t`: from then on
    /// [`Ctx::workload_over`] is true for every node, restarted ones too.
    pub fn end_workload_at(&mut self, t: Nanos) {
        self.kernel.workload_end = t;
    }

    pub fn status(&self, node: NodeId) -> NodeStatus {
        self.kernel.nodes[node as usize].status
    }

    pub fn is_paused(&self, node: NodeId) -> bool {
        self.kernel.nodes[node as usize].paused_until > self.kernel.now
    }

    /// Crashes `node`: its process is gone, its timers and in-flight messages
    /// to it are lost, and its storage keeps what `mode` says.
    pub fn crash(&mut self, node: NodeId, mode: CrashMode) {
        if self.status(node) == NodeStatus::Down {
            return;
        }
        let storage = &mut self.kernel.nodes[node as usize].storage;
        let unsynced = storage.unsynced();
        let keep = match mode {
            CrashMode::KeepUnsynced => unsynced,
            CrashMode::LoseUnsynced => 0,
            CrashMode::KeepFirst(n) => n.min(unsynced),
        };
        storage.crash(keep);
        let t = self.kernel.now;
        let lost_writes = (unsynced - keep) as u64;
        self.kernel.recorder.record::<M>(TraceEvent::Crash {
            t,
            node,
            lost_writes,
        });
        crate::logging::as_node(t, node, || tracing::debug!(lost_writes, "crashed"));
        self.take_down(node);
    }

    /// Restarts a crashed node as a fresh process over its durable storage
    /// (or over empty storage, if `wipe`).
    pub fn restart(&mut self, node: NodeId, wipe: bool) {
        if self.status(node) == NodeStatus::Up {
            return;
        }
        let n = &mut self.kernel.nodes[node as usize];
        if wipe {
            n.storage.wipe();
        }
        n.status = NodeStatus::Up;
        let incarnation = n.incarnation;
        self.conditions += 1;
        self.processes[node as usize] = Some((self.factories[node as usize])());
        let t = self.kernel.now;
        self.kernel.recorder.record::<M>(TraceEvent::Restart {
            t,
            node,
            wiped: wipe,
        });
        crate::logging::as_node(t, node, || tracing::debug!(wiped = wipe, "restarted"));
        self.kernel.schedule(t, Event::Start { node, incarnation });
    }

    /// Stops the world on `node` for `duration`: it handles no event until then,
    /// and what came due meanwhile (messages, timers) is handled late, in order.
    pub fn pause(&mut self, node: NodeId, duration: Nanos) {
        let t = self.kernel.now;
        let n = &mut self.kernel.nodes[node as usize];
        if n.status == NodeStatus::Down {
            return;
        }
        let until = n.paused_until.max(t.saturating_add(duration));
        n.paused_until = until;
        self.kernel.pauses_end = self.kernel.pauses_end.max(until);
        self.conditions += 1;
        self.pause_ends.push(Reverse(until));
        self.kernel
            .recorder
            .record::<M>(TraceEvent::Pause { t, node, until });
        crate::logging::as_node(t, node, || tracing::debug!(until, "paused"));
    }

    // ---- faults: clocks ----

    pub fn clock(&self, node: NodeId) -> &NodeClock {
        &self.kernel.nodes[node as usize].clock
    }

    /// The node's local clock reading now.
    pub fn local_time(&self, node: NodeId) -> Nanos {
        self.kernel.local_time(node)
    }

    /// The node's monotonic clock reading now.
    pub fn monotonic_time(&self, node: NodeId) -> Nanos {
        self.kernel.monotonic_time(node)
    }

    /// How many times `node` has crashed (its current incarnation).
    pub fn incarnation(&self, node: NodeId) -> u32 {
        self.kernel.nodes[node as usize].incarnation
    }

    /// The history process of `node`'s current incarnation (see [`Ctx::history_process`]).
    pub fn history_process(&self, node: NodeId) -> u64 {
        self.kernel.history_process(node)
    }

    /// Changes a node's clock (skew, drift, jump) through `f(clock, now)`.
    pub fn adjust_clock(&mut self, node: NodeId, f: impl FnOnce(&mut NodeClock, Nanos)) {
        let t = self.kernel.now;
        let clock = &mut self.kernel.nodes[node as usize].clock;
        f(clock, t);
        let (local, drift_ppm) = (clock.local(t), clock.drift_ppm());
        self.kernel.recorder.record::<M>(TraceEvent::Clock {
            t,
            node,
            local,
            drift_ppm,
        });
    }

    // ---- faults: network ----

    pub fn network(&self) -> &Network {
        &self.kernel.network
    }

    /// The network, for cuts and link settings. Record what you change with
    /// [`Sim::note_fault`] so that it is part of the fingerprint and the trace.
    pub fn network_mut(&mut self) -> &mut Network {
        self.conditions += 1;
        &mut self.kernel.network
    }

    /// The configuration new links get.
    pub fn default_link(&self) -> &LinkConfig {
        &self.kernel.default_link
    }

    /// Makes `node` Byzantine from now on (or honest again, with `None`): every
    /// message it sends goes through `interceptor` first (see
    /// [`crate::byzantine`]). Returns the interceptor it replaces. Kept across
    /// crashes and restarts. Record the change with [`Sim::note_fault`].
    pub fn set_send_interceptor(
        &mut self,
        node: NodeId,
        interceptor: Option<Box<dyn SendInterceptor<M>>>,
    ) -> Option<Box<dyn SendInterceptor<M>>> {
        let slot = self.kernel.interceptors.get_mut(node as usize)?;
        std::mem::replace(slot, interceptor)
    }

    /// Whether `node` is Byzantine now (a send interceptor is installed): a
    /// checker that trusts only honest nodes asks this at every step.
    pub fn is_byzantine(&self, node: NodeId) -> bool {
        self.kernel
            .interceptors
            .get(node as usize)
            .is_some_and(|i| i.is_some())
    }

    /// The interceptor installed on `node`, to change its behaviour in place.
    pub fn send_interceptor_mut(
        &mut self,
        node: NodeId,
    ) -> Option<&mut (dyn SendInterceptor<M> + 'static)> {
        self.kernel
            .interceptors
            .get_mut(node as usize)?
            .as_deref_mut()
    }

    /// Records a fault or harness action in the trace and the fingerprint.
    pub fn note_fault(&mut self, what: &str) {
        let t = self.kernel.now;
        self.kernel
            .recorder
            .record::<M>(TraceEvent::Fault { t, what });
    }

    // ---- observation ----

    /// The process running on `node`, if it is up.
    pub fn process(&self, node: NodeId) -> Option<&dyn Process<Msg = M>> {
        self.processes.get(node as usize)?.as_deref()
    }

    /// The process on `node` as its concrete type.
    pub fn process_as<T: Process<Msg = M>>(&self, node: NodeId) -> Option<&T> {
        self.process(node)
            .and_then(crate::process::downcast::<M, T>)
    }

    /// The process on `node` as its concrete type, mutably: for harness-side
    /// switches (a Byzantine wrapper turned on from a time on), never for
    /// reaching into a protocol's state behind its back.
    pub fn process_as_mut<T: Process<Msg = M>>(&mut self, node: NodeId) -> Option<&mut T> {
        self.conditions += 1;
        let p: &mut dyn Process<Msg = M> = self.processes.get_mut(node as usize)?.as_deref_mut()?;
        let any: &mut dyn std::any::Any = p;
        any.downcast_mut::<T>()
    }

    pub fn storage(&self, node: NodeId) -> &crate::storage::Storage {
        &self.kernel.nodes[node as usize].storage
    }

    pub fn history(&self) -> &History {
        &self.kernel.history
    }

    /// Takes the history out of a finished run, leaving an empty one, so
    /// that whoever keeps it after the run need not copy it.
    pub fn take_history(&mut self) -> History {
        std::mem::take(&mut self.kernel.history)
    }

    pub fn fingerprint(&self) -> u64 {
        self.kernel.recorder.fingerprint()
    }

    /// A number that changes whenever which nodes are up, down or paused,
    /// how a link is set or cut, or a process as a whole (a crash, a restart,
    /// a harness-side change) may have changed — never on an ordinary event.
    /// A checker that derives something from those (who is connected, how
    /// slow the network is) recomputes it only when this changes, instead of
    /// after every event.
    pub fn conditions_version(&self) -> u64 {
        self.conditions
    }

    /// The node the last event was for: besides the changes
    /// [`Sim::conditions_version`] counts, the only process whose state that
    /// event can have changed.
    pub fn last_event_node(&self) -> Option<NodeId> {
        self.last_node
    }

    /// Events handled by processes (starts, deliveries, timers).
    pub fn events_handled(&self) -> u64 {
        self.handled
    }

    /// Events recorded in the trace (sends, drops, faults, ops included).
    pub fn events_recorded(&self) -> u64 {
        self.kernel.recorder.events()
    }

    /// Events waiting in the queue.
    pub fn pending_events(&self) -> usize {
        self.kernel.pending()
    }

    pub fn counters(&self) -> &std::collections::BTreeMap<&'static str, i64> {
        &self.kernel.counters
    }

    /// Streams the trace of every following event to `out` as JSON lines.
    pub fn set_trace_output(&mut self, out: Box<dyn std::io::Write>) {
        self.kernel.recorder.set_output(out);
    }

    /// Flushes the trace; reports the first write error, if any.
    pub fn finish_trace(&mut self) -> std::io::Result<()> {
        self.kernel.recorder.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flood::flood_sim;
    use crate::MILLIS;

    #[test]
    fn conditions_change_with_faults_and_pause_ends_only() {
        let mut sim = flood_sim();
        let v = sim.conditions_version();
        for _ in 0..1000 {
            sim.step();
        }
        assert_eq!(
            sim.conditions_version(),
            v,
            "ordinary events change nothing"
        );
        assert!(sim.last_event_node().is_some());
        sim.crash(3, CrashMode::KeepUnsynced);
        let crashed = sim.conditions_version();
        assert_ne!(crashed, v);
        sim.restart(3, false);
        let restarted = sim.conditions_version();
        assert_ne!(restarted, crashed);
        sim.pause(4, MILLIS);
        let paused = sim.conditions_version();
        assert_ne!(paused, restarted);
        let until = sim.now() + MILLIS;
        while sim.now() < until {
            assert_eq!(sim.conditions_version(), paused, "still paused");
            sim.step();
        }
        assert_ne!(sim.conditions_version(), paused, "the pause ended");
        let ended = sim.conditions_version();
        sim.network_mut().cut(0, 1);
        assert_ne!(sim.conditions_version(), ended);
    }
}
