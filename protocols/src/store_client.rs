//! The client the key-value stores (`eventual-store`, `causal-store`,
//! `sequential-store`) share: one operation at a time, drawn from the
//! scenario's workload (reads and writes on `0..keys`), sent as the store's
//! own request, completed by its answer or given up after the timeout,
//! until the workload is over (on the harness's clock, `Ctx::workload_over`)
//! so that replication can quiesce before the run ends.
//!
//! Every write writes a value no other write in the run writes (the node's
//! history process and a count), so that a read names the one write it saw:
//! what the consistency checkers need to tell which write a read read from.
//!
//! What a store adds is its [`StoreSession`]: where a request goes, what it
//! carries (a context, dependencies, the last position seen) and what the
//! client learns from the answer.

use harness::{InputError, Scenario, Verdict};
use serde::Serialize;
use serde_json::{json, Value};
use sim_core::{
    Ctx, Finding, Message, Nanos, NodeId, OpId, OpType, Process, Sim, TimerId, Topology,
};

use crate::progress::{progress_verdict, topology_and_progress, ProgressChecker};
use crate::replica_agreement::{convergence, group_live, Groups};
use crate::workload::{ClientOp, WorkloadSpec};

/// An operation the client is about to run: a read or a write of a fresh
/// value. Also the body of a request where a store sends it as it is (the
/// causal and the sequential store).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
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

impl<M> Planned<M> {
    /// The request `msg` to `to` that runs `op` as it is.
    pub fn op(op: StoreOp, to: NodeId, msg: M) -> Self {
        let (f, invoked) = match op {
            StoreOp::Read { .. } => ("read", Value::Null),
            StoreOp::Write { value, .. } => ("write", json!(value)),
        };
        Planned {
            f,
            key: op.key(),
            invoked,
            to,
            msg,
        }
    }
}

/// The request a session awaits the answer to: its id, key, and whether it
/// is a read, which is what a timeout makes of it.
#[derive(Debug, Default)]
pub struct Awaited(Option<(u64, u32, bool)>);

impl Awaited {
    pub fn open(&mut self, req: u64, key: u32, read: bool) {
        self.0 = Some((req, key, read));
    }

    /// If `answered` (the id a reply carries) is `req` and awaited: closes
    /// it, and says its key and whether it was a read.
    pub fn answered(&mut self, req: u64, answered: u64) -> Option<(u32, bool)> {
        match self.0 {
            Some((open, key, read)) if open == req && answered == req => {
                self.0 = None;
                Some((key, read))
            }
            _ => None,
        }
    }

    /// The awaited request went unanswered: a read surely changed nothing
    /// (`Fail`), a write may have happened (`Info`).
    pub fn timed_out(&mut self) -> OpType {
        match self.0.take() {
            Some((_, _, true)) => OpType::Fail,
            _ => OpType::Info,
        }
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
    session: S,
    open: Option<(u64, OpId, TimerId)>,
    ops: u64,
}

const TIMER_NEXT: u64 = 0;
const TIMER_TIMEOUT: u64 = 1;

impl<S: StoreSession> StoreClient<S> {
    pub fn new(spec: WorkloadSpec, session: S) -> Self {
        Self {
            spec,
            session,
            open: None,
            ops: 0,
        }
    }

    fn start_op(&mut self, ctx: &mut Ctx<'_, S::Msg>) {
        if ctx.workload_over() {
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

/// What every store's driver checks of a scenario: reads and writes only
/// (no store has a compare-and-set) and a quiet period shorter than the run.
pub fn check_scenario(scenario: &Scenario, quiesce: Nanos) -> Result<(), InputError> {
    crate::reads_and_writes::check_scenario(scenario)?;
    if quiesce >= scenario.duration {
        return Err(scenario.error("options.quiesce", "quiesce must be shorter than the run"));
    }
    Ok(())
}

/// What every store's driver keeps of its run: the replicas, and the
/// liveness check over the cluster. The stores build and judge their
/// clusters alike; what each adds is its replica, its session and its own
/// consistency verdict.
#[derive(Default)]
pub struct StoreRun {
    replicas: Vec<NodeId>,
    progress: Option<ProgressChecker>,
}

impl StoreRun {
    /// Adds the scenario's replicas, each made by `replica(peers)` (`peers`:
    /// every replica), then its clients, client `i` with the session
    /// `session(i, peers)`, stopping `quiesce` before the run ends.
    pub fn build<P, S>(
        &mut self,
        scenario: &Scenario,
        sim: &mut Sim<S::Msg>,
        quiesce: Nanos,
        replica: impl Fn(&[NodeId]) -> P + Clone + 'static,
        session: impl Fn(u32, &[NodeId]) -> S + Clone + 'static,
    ) -> Topology
    where
        P: Process<Msg = S::Msg>,
        S: StoreSession,
    {
        let peers: Vec<NodeId> = (0..scenario.replicas).collect();
        for _ in &peers {
            let (peers, replica) = (peers.clone(), replica.clone());
            sim.add_node(move || replica(&peers));
        }
        sim.end_workload_at(scenario.duration - quiesce);
        let clients = (0..scenario.workload.clients)
            .map(|i| {
                let (spec, peers) = (scenario.workload.clone(), peers.clone());
                let session = session.clone();
                sim.add_node(move || StoreClient::new(spec.clone(), session(i, &peers)))
            })
            .collect();
        self.replicas = peers.clone();
        let (topology, progress) = topology_and_progress(scenario, peers, clients);
        self.progress = Some(progress);
        topology
    }

    /// The liveness check after an event.
    pub fn check_step<M: Message>(&mut self, sim: &Sim<M>) -> Option<Finding> {
        self.progress.as_mut()?.check(sim)
    }

    /// The liveness verdict and `convergence` of the live replicas of type
    /// `P` by what `held` says they hold; with the groups, for a store's
    /// own checks of what they hold.
    pub fn liveness_and_convergence<M: Message, P: Process<Msg = M> + 'static>(
        &mut self,
        sim: &Sim<M>,
        held: impl Fn(&P) -> Value,
    ) -> (Vec<Verdict>, Groups) {
        let mut verdicts = progress_verdict(self.progress.as_mut(), sim);
        let groups = group_live(sim, &self.replicas, held);
        verdicts.push(convergence(&groups));
        (verdicts, groups)
    }
}
