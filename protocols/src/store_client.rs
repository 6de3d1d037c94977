//! The client the key-value stores (`eventual-store`, `causal-store`,
//! `sequential-store`) share: one operation at a time, drawn from the
//! scenario's workload (reads and writes on `0..keys`), sent as the store's
//! own request, completed by its answer or given up after the timeout,
//! until `stop_at` (local time) so that replication can quiesce before the
//! run ends.
//!
//! Every write writes a value no other write in the run writes (the node's
//! history process and a count), so that a read names the one write it saw:
//! what the consistency checkers need to tell which write a read read from.
//!
//! What a store adds is its [`StoreSession`]: where a request goes, what it
//! carries (a context, dependencies, the last position seen) and what the
//! client learns from the answer.

use serde_json::Value;
use sim_core::{Ctx, Message, Nanos, NodeId, OpId, OpType, Process, TimerId};

use crate::progress::{progress_checker, ProgressChecker};
use crate::workload::{ClientOp, WorkloadSpec};

/// An operation the client is about to run: a read or a write of a fresh value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreOp {
    Read { key: u32 },
    Write { key: u32, value: u64 },
}

impl StoreOp {
    pub fn key(&self) -> u32 {
        match *self {
            StoreOp::Read { key } | StoreOp::Write { key, .. } => key,
        }
    }

    pub fn is_read(&self) -> bool {
        matches!(self, StoreOp::Read { .. })
    }
}

/// A request as the session builds it.
pub struct Planned<M> {
    /// The history's function (`read`, `write`).
    pub f: &'static str,
    pub key: u32,
    /// The history's invocation value.
    pub invoked: Value,
    pub to: NodeId,
    pub msg: M,
}

/// A store's side of its client.
pub trait StoreSession: 'static {
    type Msg: Message;

    /// The request for `op` (the session may run another operation instead,
    /// as the eventual store's client writes back a resolved value after
    /// reading siblings, using `fresh` as its write's value). `req` is the
    /// request's id, unique to this node; `fresh` is unique in the run.
    fn plan(
        &mut self,
        ctx: &mut Ctx<'_, Self::Msg>,
        op: StoreOp,
        req: u64,
        fresh: u64,
    ) -> Planned<Self::Msg>;

    /// The completion value if `msg` answers request `req`; `None` if it
    /// is not an answer to it.
    fn answer(&mut self, req: u64, msg: &Self::Msg) -> Option<Value>;

    /// Request `req` went unanswered: whether it surely did not happen
    /// (`Fail`: a read, which changes nothing) or may have (`Info`).
    fn timed_out(&mut self, ctx: &mut Ctx<'_, Self::Msg>, req: u64) -> OpType;
}

pub struct StoreClient<S: StoreSession> {
    spec: WorkloadSpec,
    stop_at: Nanos,
    session: S,
    open: Option<(u64, OpId, TimerId)>,
    ops: u64,
}

const TIMER_NEXT: u64 = 0;
const TIMER_TIMEOUT: u64 = 1;

impl<S: StoreSession> StoreClient<S> {
    pub fn new(spec: WorkloadSpec, stop_at: Nanos, session: S) -> Self {
        Self {
            spec,
            stop_at,
            session,
            open: None,
            ops: 0,
        }
    }

    fn start_op(&mut self, ctx: &mut Ctx<'_, S::Msg>) {
        if ctx.now() >= self.stop_at {
            return;
        }
        // Unique in the run: history processes are unique per incarnation,
        // and no client runs a million operations.
        self.ops += 1;
        let fresh = ctx.history_process() * 1_000_000 + self.ops;
        let op = match self.spec.next_op(ctx.rng()) {
            ClientOp::Read { key } => StoreOp::Read { key },
            ClientOp::Write { key, .. } | ClientOp::Cas { key, .. } => {
                StoreOp::Write { key, value: fresh }
            }
        };
        let req = ctx.request_id();
        let planned = self.session.plan(ctx, op, req, fresh);
        let key = (self.spec.keys > 1).then(|| planned.key.to_string());
        let id = ctx.invoke(planned.f, key, planned.invoked);
        ctx.send(planned.to, planned.msg);
        let timer = ctx.set_timer(self.spec.timeout(), TIMER_TIMEOUT);
        self.open = Some((req, id, timer));
    }
}

impl<S: StoreSession> Process for StoreClient<S> {
    type Msg = S::Msg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, S::Msg>) {
        ctx.set_timer(self.spec.think(), TIMER_NEXT);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, S::Msg>, _from: NodeId, msg: S::Msg) {
        let Some((req, id, timer)) = self.open else {
            return;
        };
        if let Some(value) = self.session.answer(req, &msg) {
            self.open = None;
            ctx.cancel_timer(timer);
            ctx.complete(id, OpType::Ok, value);
            ctx.set_timer(self.spec.think(), TIMER_NEXT);
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, S::Msg>, tag: u64) {
        match tag {
            TIMER_NEXT if self.open.is_none() => self.start_op(ctx),
            TIMER_TIMEOUT => {
                if let Some((req, id, _)) = self.open.take() {
                    let outcome = self.session.timed_out(ctx, req);
                    ctx.complete(id, outcome, Value::Null);
                }
                ctx.set_timer(self.spec.think(), TIMER_NEXT);
            }
            _ => {}
        }
    }
}

/// What every store's driver checks of a scenario: no compare-and-set in
/// the workload (no store has one) and a quiet period shorter than the run.
pub fn check_scenario(
    scenario: &harness::Scenario,
    quiesce: Nanos,
) -> Result<(), harness::InputError> {
    if scenario.workload.cas_fraction > 0.0 {
        return Err(scenario.error(
            "workload.cas_fraction",
            format!(
                "{} has no compare-and-set: set workload.cas_fraction = 0",
                scenario.protocol
            ),
        ));
    }
    if quiesce >= scenario.duration {
        return Err(scenario.error("options.quiesce", "quiesce must be shorter than the run"));
    }
    Ok(())
}

/// The stores' default for a workload that does not say: no
/// compare-and-set (the shared default mixes some in).
pub fn fill_defaults(scenario: &mut harness::Scenario, given: &dyn Fn(&str) -> bool) {
    if !given("workload.cas_fraction") {
        scenario.workload.cas_fraction = 0.0;
    }
}

/// Adds the scenario's clients, each with the session `session(i)` makes
/// for client `i`, stopping `quiesce` before the run ends.
pub fn add_clients<S: StoreSession>(
    sim: &mut sim_core::Sim<S::Msg>,
    scenario: &harness::Scenario,
    quiesce: Nanos,
    session: impl Fn(u32) -> S + Clone + 'static,
) -> Vec<NodeId> {
    let stop_at = scenario.duration - quiesce;
    (0..scenario.workload.clients)
        .map(|i| {
            let (spec, session) = (scenario.workload.clone(), session.clone());
            sim.add_node(move || StoreClient::new(spec.clone(), stop_at, session(i)))
        })
        .collect()
}

/// A store's topology and the liveness check over it: a store's client
/// awaits one replica's answer within its timeout, as every store's does.
pub fn topology_and_progress(
    scenario: &harness::Scenario,
    replicas: Vec<NodeId>,
    clients: Vec<NodeId>,
) -> (sim_core::Topology, ProgressChecker) {
    let topology = sim_core::Topology { replicas, clients };
    let progress = progress_checker(scenario, &topology, scenario.workload.timeout(), true);
    (topology, progress)
}
