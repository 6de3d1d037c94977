//! A client: one operation at a time from the shared workload, each one
//! recorded in the history.
//!
//! It sends to the replica it believes leads (a hint from a refusal, or the
//! next replica in turn), and retries under the SAME request id when a
//! replica refuses or stays silent for the workload's timeout, so that the
//! state machine applies the operation at most once. Once
//! [`GIVE_UP_AFTER`] timeouts have passed since the operation began (on its
//! monotonic clock) it gives up: a read as `fail` (it changed nothing), a
//! write or compare-and-set as `info` (it may yet apply).

use harness::sim_core::{Ctx, NodeId, OpId, OpType, Process, TimerId, MILLIS};
use harness::workload::{ClientOp, WorkloadSpec};
use serde_json::Value;

use crate::msg::{Msg, Outcome};

/// How many of the workload's timeouts an operation may take in all.
pub const GIVE_UP_AFTER: u64 = 6;
/// Wait before retrying after a refusal: an election is under way.
const BACKOFF: u64 = 20 * MILLIS;

const TIMER_NEXT_OP: u64 = 0;
const TIMER_RETRY: u64 = 1;

struct Open {
    id: OpId,
    op: ClientOp,
    req: u64,
    /// When it began, on this node's monotonic clock.
    began: u64,
    /// The last send was refused and the target already moved on.
    refused: bool,
}

pub struct Client {
    replicas: u32,
    spec: WorkloadSpec,
    /// Where the next send goes.
    target: NodeId,
    open: Option<Open>,
    retry: Option<TimerId>,
}

impl Client {
    pub fn new(replicas: u32, spec: WorkloadSpec) -> Self {
        Self {
            replicas,
            spec,
            target: 0,
            open: None,
            retry: None,
        }
    }

    fn start(&mut self, ctx: &mut Ctx<'_, Msg>) {
        let op = self.spec.next_op(ctx.rng());
        let id = ctx.invoke(op.f(), self.spec.history_key(&op), op.invoke_value());
        let req = ctx.request_id();
        self.open = Some(Open {
            id,
            op,
            req,
            began: ctx.monotonic_now(),
            refused: false,
        });
        self.send(ctx);
    }

    /// Sends the open operation to the target, or gives it up.
    fn send(&mut self, ctx: &mut Ctx<'_, Msg>) {
        let Some(open) = self.open.as_mut() else {
            return;
        };
        let waited = ctx.monotonic_now() - open.began;
        if waited >= GIVE_UP_AFTER * self.spec.timeout() {
            let outcome = match open.op {
                ClientOp::Read { .. } => OpType::Fail,
                _ => OpType::Info,
            };
            self.finish(ctx, outcome, Value::Null);
            return;
        }
        let (req, op) = (open.req, open.op);
        ctx.send(self.target, Msg::Request { req, op });
        self.set_retry(ctx, self.spec.timeout());
    }

    fn set_retry(&mut self, ctx: &mut Ctx<'_, Msg>, after: u64) {
        if let Some(t) = self.retry.take() {
            ctx.cancel_timer(t);
        }
        self.retry = Some(ctx.set_timer(after, TIMER_RETRY));
    }

    fn finish(&mut self, ctx: &mut Ctx<'_, Msg>, outcome: OpType, value: Value) {
        if let Some(open) = self.open.take() {
            ctx.complete(open.id, outcome, value);
        }
        if let Some(t) = self.retry.take() {
            ctx.cancel_timer(t);
        }
        ctx.set_timer(self.spec.think(), TIMER_NEXT_OP);
    }

    fn next_target(&mut self) {
        self.target = (self.target + 1) % self.replicas;
    }
}

impl Process for Client {
    type Msg = Msg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, Msg>) {
        self.target = ctx.id() % self.replicas;
        ctx.set_timer(self.spec.think(), TIMER_NEXT_OP);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Msg>, _from: NodeId, msg: Msg) {
        let Some(open) = self.open.as_ref() else {
            return;
        };
        match msg {
            Msg::Reply { req, outcome } if req == open.req => {
                let (result, value) = match (outcome, open.op) {
                    (Outcome::Read(v), _) => (OpType::Ok, v.map_or(Value::Null, Value::from)),
                    (Outcome::Written | Outcome::CasOk, op) => (OpType::Ok, op.invoke_value()),
                    (Outcome::CasFailed, op) => (OpType::Fail, op.invoke_value()),
                };
                self.finish(ctx, result, value);
            }
            Msg::NotLeader { req, hint } if req == open.req => {
                match hint {
                    Some(leader) if leader != self.target => self.target = leader,
                    _ => self.next_target(),
                }
                if let Some(open) = self.open.as_mut() {
                    open.refused = true;
                }
                self.set_retry(ctx, BACKOFF);
            }
            _ => {} // an answer to an operation already finished
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Msg>, tag: u64) {
        match tag {
            TIMER_NEXT_OP if self.open.is_none() => self.start(ctx),
            TIMER_RETRY => {
                self.retry = None;
                // A silent target: try the next replica (after a refusal
                // the target has already moved).
                let silent =
                    (self.open.as_mut()).is_some_and(|open| !std::mem::take(&mut open.refused));
                if silent {
                    self.next_target();
                }
                self.send(ctx);
            }
            _ => {}
        }
    }
}
