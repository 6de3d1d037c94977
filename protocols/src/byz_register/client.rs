//! A client of the Byzantine quorum register: coordinates its own reads and
//! writes, one at a time, believing only validly signed values.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use sim_core::{Ctx, NodeId, OpId, OpType, Process, TimerId};

use super::{Cluster, RegisterMsg, SignedValue};
use crate::workload::{ClientOp, WorkloadSpec};

enum Phase {
    Idle,
    /// Collecting valid answers from a quorum, one per replica.
    Query {
        replies: BTreeMap<NodeId, SignedValue>,
    },
    /// Storing (a write, or a read's write-back) at a quorum; `result` is
    /// what the operation returns when done.
    Store {
        acks: Vec<NodeId>,
        result: Value,
    },
}

pub struct Client {
    cluster: Cluster,
    spec: WorkloadSpec,
    /// The current phase's request id; answers to others are dropped.
    req: u64,
    current: Option<(OpId, ClientOp)>,
    phase: Phase,
    timeout: Option<TimerId>,
    issued: u64,
}

const TIMER_NEXT_OP: u64 = 0;
const TIMER_TIMEOUT: u64 = 1;

impl Client {
    pub fn new(cluster: Cluster, spec: WorkloadSpec) -> Self {
        Self {
            cluster,
            spec,
            req: 0,
            current: None,
            phase: Phase::Idle,
            timeout: None,
            issued: 0,
        }
    }

    fn start_op(&mut self, ctx: &mut Ctx<'_, RegisterMsg>) {
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
        let query = RegisterMsg::Query {
            req: self.req,
            key: op.key(),
        };
        ctx.send_all(self.cluster.replicas.clone(), &query);
        self.timeout = Some(ctx.set_timer(self.spec.timeout(), TIMER_TIMEOUT));
    }

    fn finish(&mut self, ctx: &mut Ctx<'_, RegisterMsg>, outcome: OpType, value: Value) {
        if let Some((id, _)) = self.current.take() {
            ctx.complete(id, outcome, value);
        }
        if let Some(t) = self.timeout.take() {
            ctx.cancel_timer(t);
        }
        self.phase = Phase::Idle;
        ctx.set_timer(self.spec.think(), TIMER_NEXT_OP);
    }

    fn on_query_reply(
        &mut self,
        ctx: &mut Ctx<'_, RegisterMsg>,
        from: NodeId,
        key: u32,
        value: SignedValue,
    ) {
        let Some((_, op)) = self.current else { return };
        let Phase::Query { replies } = &mut self.phase else {
            return;
        };
        if key != op.key() || !self.cluster.replicas.contains(&from) {
            return;
        }
        if !self.cluster.valid(key, &value) {
            // A lie: this replica's answer does not count towards the quorum.
            ctx.count("byz_register.rejected_reply", 1);
            return;
        }
        replies.insert(from, value);
        if replies.len() < self.cluster.quorum() {
            return;
        }
        let newest = *replies
            .values()
            .max_by_key(|v| v.ts)
            .expect("a quorum answered");
        tracing::debug!(key, ts = ?newest.ts, value = ?newest.value, "quorum read");
        let (stored, result) = match op {
            ClientOp::Read { .. } => (newest, newest.value.map_or(Value::Null, Value::from)),
            ClientOp::Write { value, .. } => {
                let ts = (newest.ts.0 + 1, ctx.id(), self.req);
                (SignedValue::signed(key, ts, value), json!(value))
            }
            ClientOp::Cas { .. } => unreachable!("validated: byz-register runs no cas"),
        };
        self.req = ctx.request_id();
        self.phase = Phase::Store {
            acks: Vec::new(),
            result,
        };
        let store = RegisterMsg::Store {
            req: self.req,
            key,
            value: stored,
        };
        ctx.send_all(self.cluster.replicas.clone(), &store);
    }

    fn on_store_ack(&mut self, ctx: &mut Ctx<'_, RegisterMsg>, from: NodeId) {
        let quorum = self.cluster.quorum();
        let Phase::Store { acks, result } = &mut self.phase else {
            return;
        };
        if self.cluster.replicas.contains(&from) && !acks.contains(&from) {
            acks.push(from);
        }
        if acks.len() >= quorum {
            tracing::debug!(acks = acks.len(), "quorum write");
            let result = result.clone();
            self.finish(ctx, OpType::Ok, result);
        }
    }
}

impl Process for Client {
    type Msg = RegisterMsg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, RegisterMsg>) {
        ctx.set_timer(self.spec.think(), TIMER_NEXT_OP);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, RegisterMsg>, from: NodeId, msg: RegisterMsg) {
        match msg {
            RegisterMsg::QueryReply { req, key, value } if req == self.req => {
                self.on_query_reply(ctx, from, key, value)
            }
            RegisterMsg::StoreAck { req } if req == self.req => self.on_store_ack(ctx, from),
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, RegisterMsg>, tag: u64) {
        match tag {
            TIMER_NEXT_OP if self.current.is_none() => self.start_op(ctx),
            TIMER_TIMEOUT => {
                self.timeout = None;
                // A read's write-back stores a value already written, so an
                // unanswered read certainly changed nothing; a write may have
                // reached some replicas.
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
