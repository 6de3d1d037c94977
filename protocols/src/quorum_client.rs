//! The client of a quorum-replicated register, one for both registers that
//! have one: ABD (`quorum_register`) and the Byzantine quorum register
//! (`byz_register`). Both coordinate their own operations, one at a time,
//! in the same two phases: ask every replica what it holds of the key and
//! wait for a quorum of answers; then store — a write's value stamped above
//! the newest timestamp seen, or a read's newest value written back so that
//! no later read returns an older one — and wait for a quorum of
//! acknowledgements. A client gives up after the workload's timeout: a read
//! that timed out failed (its write-back stores a value already written), a
//! write is indeterminate.
//!
//! What differs between the two is a [`QuorumRegister`]: the messages, how
//! many answers make a quorum, which answers are believed (the Byzantine
//! register believes only validly signed values), how a write's value is
//! stored, and the known bugs that skip a step. Logs: quorum reads and
//! writes at debug, under this module's target.

use std::collections::BTreeMap;
use std::fmt::Debug;

use harness::{InputError, Scenario};
use serde_json::{json, Value};
use sim_core::{Ctx, Message, NodeId, OpId, OpType, Process, Sim, TimerId, Topology};

use crate::progress::{topology_and_progress, ProgressChecker};
use crate::workload::{ClientOp, WorkloadSpec};

/// (counter, writer, the write's request id): totally ordered, unique per
/// write (the request id is never reused, not even across the writer's
/// restarts).
pub type Timestamp = (u64, NodeId, u64);

/// A reply a client waits for, read out of a register's message.
pub enum Reply<H> {
    /// A replica's answer to query `req`: what it holds, and of which key
    /// when the message says.
    Held { req: u64, key: Option<u32>, held: H },
    /// A replica stored what store `req` carried.
    Stored { req: u64 },
}

/// One register's side of the shared client.
pub trait QuorumRegister: 'static {
    type Msg: Message;
    /// What a replica holds of a key, answers with and is asked to store: a
    /// value under a timestamp.
    type Held: Copy + Debug;

    /// Every replica: each query and store goes to all of them.
    fn replicas(&self) -> &[NodeId];
    /// Answers (and acknowledgements) that complete a phase.
    fn quorum(&self) -> usize;
    fn query(req: u64, key: u32) -> Self::Msg;
    fn store(req: u64, key: u32, held: Self::Held) -> Self::Msg;
    /// The reply `msg` is, if it is one.
    fn reply(msg: Self::Msg) -> Option<Reply<Self::Held>>;
    fn timestamp(held: &Self::Held) -> Timestamp;
    fn value(held: &Self::Held) -> Option<u64>;
    /// A write's `value` under `ts`, as it is stored.
    fn written(&self, key: u32, ts: Timestamp, value: u64) -> Self::Held;

    /// Whether a replica's answer `held` about `key` counts towards the
    /// quorum.
    fn believe(&self, _ctx: &mut Ctx<'_, Self::Msg>, _key: u32, _held: &Self::Held) -> bool {
        true
    }

    /// Whether a read writes back what it read before returning it.
    fn writes_back(&self) -> bool {
        true
    }

    /// Whether a client gives up on an unanswered operation.
    fn times_out(&self) -> bool {
        true
    }
}

/// Where a client's current operation stands.
enum Phase<H> {
    /// Thinking before the next operation.
    Idle,
    /// Collecting answers from a quorum, one per replica.
    Query { replies: BTreeMap<NodeId, H> },
    /// Storing (a write, or a read's write-back) at a quorum; `result` is
    /// what the operation returns when done.
    Store { acks: Vec<NodeId>, result: Value },
}

/// A client that runs one operation at a time against all replicas.
pub struct QuorumClient<R: QuorumRegister> {
    register: R,
    spec: WorkloadSpec,
    /// The current phase's request id (from the kernel: never reused, not
    /// even by a restarted client); replies to other requests are ignored.
    req: u64,
    current: Option<(OpId, ClientOp)>,
    phase: Phase<R::Held>,
    timeout: Option<TimerId>,
    issued: u64,
}

const TIMER_NEXT_OP: u64 = 0;
const TIMER_TIMEOUT: u64 = 1;

impl<R: QuorumRegister> QuorumClient<R> {
    pub fn new(register: R, spec: WorkloadSpec) -> Self {
        Self {
            register,
            spec,
            req: 0,
            current: None,
            phase: Phase::Idle,
            timeout: None,
            issued: 0,
        }
    }

    fn start_op(&mut self, ctx: &mut Ctx<'_, R::Msg>) {
        if self.spec.max_ops > 0 && self.issued >= self.spec.max_ops {
            return;
        }
        self.issued += 1;
        let op = self.spec.next_op(ctx.rng());
        let id = ctx.invoke(op.f(), self.spec.history_key(&op), op.invoke_value());
        self.current = Some((id, op));
        self.req = ctx.request_id();
        self.phase = Phase::Query {
            replies: BTreeMap::new(),
        };
        let query = R::query(self.req, op.key());
        ctx.send_all(self.register.replicas().to_vec(), &query);
        if self.register.times_out() {
            self.timeout = Some(ctx.set_timer(self.spec.timeout(), TIMER_TIMEOUT));
        }
    }

    fn finish(&mut self, ctx: &mut Ctx<'_, R::Msg>, outcome: OpType, value: Value) {
        if let Some((id, _)) = self.current.take() {
            ctx.complete(id, outcome, value);
        }
        if let Some(t) = self.timeout.take() {
            ctx.cancel_timer(t);
        }
        self.phase = Phase::Idle;
        ctx.set_timer(self.spec.think(), TIMER_NEXT_OP);
    }

    fn on_answer(
        &mut self,
        ctx: &mut Ctx<'_, R::Msg>,
        from: NodeId,
        key: Option<u32>,
        held: R::Held,
    ) {
        let Some((_, op)) = self.current else { return };
        let key_asked = op.key();
        let Phase::Query { replies } = &mut self.phase else {
            return;
        };
        if key.is_some_and(|k| k != key_asked) || !self.register.replicas().contains(&from) {
            return;
        }
        if !self.register.believe(ctx, key_asked, &held) {
            return;
        }
        replies.insert(from, held);
        if replies.len() < self.register.quorum() {
            return;
        }
        let newest = *replies
            .values()
            .max_by_key(|h| R::timestamp(h))
            .expect("a quorum answered");
        let (ts, value) = (R::timestamp(&newest), R::value(&newest));
        tracing::debug!(key = key_asked, ts = ?ts, value = ?value, "quorum read");
        let (stored, result) = match op {
            ClientOp::Read { .. } => {
                let result = value.map_or(Value::Null, Value::from);
                if !self.register.writes_back() {
                    return self.finish(ctx, OpType::Ok, result);
                }
                (newest, result)
            }
            ClientOp::Write { value, .. } => {
                let ts = (ts.0 + 1, ctx.id(), self.req);
                (self.register.written(key_asked, ts, value), json!(value))
            }
            ClientOp::Cas { .. } => unreachable!("validated: a quorum register runs no cas"),
        };
        self.req = ctx.request_id();
        self.phase = Phase::Store {
            acks: Vec::new(),
            result,
        };
        let store = R::store(self.req, key_asked, stored);
        ctx.send_all(self.register.replicas().to_vec(), &store);
    }

    fn on_stored(&mut self, ctx: &mut Ctx<'_, R::Msg>, from: NodeId) {
        let quorum = self.register.quorum();
        let Phase::Store { acks, result } = &mut self.phase else {
            return;
        };
        if self.register.replicas().contains(&from) && !acks.contains(&from) {
            acks.push(from);
        }
        if acks.len() >= quorum {
            tracing::debug!(acks = acks.len(), "quorum write");
            let result = result.clone();
            self.finish(ctx, OpType::Ok, result);
        }
    }
}

impl<R: QuorumRegister> Process for QuorumClient<R> {
    type Msg = R::Msg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, R::Msg>) {
        // A restarted client has lost its open operation; the history keeps it
        // open, which the checker reads as indeterminate.
        ctx.set_timer(self.spec.think(), TIMER_NEXT_OP);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, R::Msg>, from: NodeId, msg: R::Msg) {
        match R::reply(msg) {
            Some(Reply::Held { req, key, held }) if req == self.req => {
                self.on_answer(ctx, from, key, held)
            }
            Some(Reply::Stored { req }) if req == self.req => self.on_stored(ctx, from),
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, R::Msg>, tag: u64) {
        match tag {
            TIMER_NEXT_OP if self.current.is_none() => self.start_op(ctx),
            TIMER_TIMEOUT => {
                self.timeout = None;
                // A read changes nothing a reader could later see (its
                // write-back stores a value already written), so an unanswered
                // read certainly failed; a write may have reached some replicas.
                let outcome = match self.current {
                    Some((_, ClientOp::Read { .. })) => OpType::Fail,
                    _ => OpType::Info,
                };
                self.finish(ctx, outcome, Value::Null);
            }
            _ => {}
        }
    }
}

/// What both register drivers check of a scenario: a workload of reads and
/// writes only, and no options (neither register takes any).
pub fn check_scenario(scenario: &Scenario) -> Result<(), InputError> {
    crate::reads_and_writes::check_scenario(scenario)?;
    if let Some(key) = scenario.options.keys().next() {
        let field = format!("options.{key}");
        let message = format!("{} takes no options", scenario.protocol);
        return Err(scenario.error(&field, message));
    }
    Ok(())
}

/// Adds the scenario's clients after `replicas`, each running `register`'s
/// side of the client, and returns the topology with its liveness check.
pub fn add_clients<R: QuorumRegister + Clone>(
    sim: &mut Sim<R::Msg>,
    scenario: &Scenario,
    replicas: Vec<NodeId>,
    register: &R,
) -> (Topology, ProgressChecker) {
    let clients = (0..scenario.workload.clients)
        .map(|_| {
            let (register, spec) = (register.clone(), scenario.workload.clone());
            sim.add_node(move || QuorumClient::new(register.clone(), spec.clone()))
        })
        .collect();
    topology_and_progress(scenario, replicas, clients)
}
