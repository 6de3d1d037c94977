//! A PBFT client: f+1 matching replies make a result.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use sim_core::integrity::{AUTH_REJECTED, CORRUPT_DETECTED};
use sim_core::{Ctx, NodeId, OpId, OpType, Process, TimerId};

use crate::request_ids::RequestIds;
use crate::workload::{ClientOp, WorkloadSpec};

use super::msg::*;
use super::Bugs;

#[derive(Debug, Clone, PartialEq)]
pub struct ClientConfig {
    pub replicas: Vec<NodeId>,
    pub spec: WorkloadSpec,
    /// Retries (each broadcast to every replica) before giving up.
    pub retries: u32,
    pub bugs: Bugs,
}

const TIMER_NEXT_OP: u64 = 0;
const TIMER_TIMEOUT: u64 = 1;

struct Current {
    op_id: OpId,
    op: ClientOp,
    req: Request,
    tries: u32,
    /// Each replica's latest reply: (seq, result).
    replies: BTreeMap<NodeId, (u64, Outcome)>,
}

pub struct Client {
    cfg: ClientConfig,
    ids: RequestIds,
    /// The highest view a reply showed: its primary gets the first try.
    view: u64,
    current: Option<Current>,
    timer: Option<TimerId>,
    issued: u64,
}

impl Client {
    pub fn new(cfg: ClientConfig) -> Self {
        Self {
            ids: RequestIds::new(cfg.bugs.reuse_request_ids),
            cfg,
            view: 0,
            current: None,
            timer: None,
            issued: 0,
        }
    }

    fn f(&self) -> usize {
        (self.cfg.replicas.len() - 1) / 3
    }

    fn start_op(&mut self, ctx: &mut Ctx<'_, PbftMsg>) {
        if self.cfg.spec.max_ops > 0 && self.issued >= self.cfg.spec.max_ops {
            return;
        }
        self.issued += 1;
        let op = self.cfg.spec.next_op(ctx.rng());
        let op_id = ctx.invoke(op.f(), self.cfg.spec.history_key(&op), op.invoke_value());
        let id = self.ids.next(ctx);
        let req = Request::new(ctx.id(), id, op);
        let n = self.cfg.replicas.len() as u64;
        let primary = self.cfg.replicas[(self.view % n) as usize];
        ctx.send(
            primary,
            PbftMsg::signed(ctx.id(), Body::Request(req.clone())),
        );
        self.current = Some(Current {
            op_id,
            op,
            req,
            tries: 0,
            replies: BTreeMap::new(),
        });
        self.timer = Some(ctx.set_timer(self.cfg.spec.timeout(), TIMER_TIMEOUT));
    }

    fn finish(&mut self, ctx: &mut Ctx<'_, PbftMsg>, outcome: OpType, value: Value) {
        if let Some(cur) = self.current.take() {
            ctx.complete(cur.op_id, outcome, value);
        }
        if let Some(t) = self.timer.take() {
            ctx.cancel_timer(t);
        }
        ctx.set_timer(self.cfg.spec.think(), TIMER_NEXT_OP);
    }

    fn on_reply(&mut self, ctx: &mut Ctx<'_, PbftMsg>, from: NodeId, body: Body) {
        let Body::Reply {
            view,
            seq,
            id,
            result,
            ..
        } = body
        else {
            return;
        };
        let need = if self.cfg.bugs.first_reply {
            1
        } else {
            self.f() + 1
        };
        let Some(cur) = &mut self.current else {
            return;
        };
        if id != cur.req.id {
            return;
        }
        self.view = self.view.max(view);
        cur.replies.insert(from, (seq, result));
        let matching = cur
            .replies
            .values()
            .filter(|&&r| r == (seq, result))
            .count();
        if matching < need {
            return;
        }
        let (outcome, value) = match (cur.op, result) {
            (ClientOp::Read { .. }, Outcome::Value(v)) => (OpType::Ok, json!(v)),
            (ClientOp::Write { value, .. }, Outcome::Done) => (OpType::Ok, json!(value)),
            (ClientOp::Cas { expected, new, .. }, Outcome::Done) => {
                (OpType::Ok, json!([expected, new]))
            }
            (ClientOp::Cas { .. }, Outcome::CasFailed) => (OpType::Fail, Value::Null),
            // A result that does not fit the operation: not believable.
            _ => return,
        };
        self.finish(ctx, outcome, value);
    }
}

impl Process for Client {
    type Msg = PbftMsg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, PbftMsg>) {
        ctx.set_timer(self.cfg.spec.think(), TIMER_NEXT_OP);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, PbftMsg>, from: NodeId, msg: PbftMsg) {
        if !self.cfg.bugs.no_mac_check {
            if msg.from != from {
                ctx.count(AUTH_REJECTED, 1);
                return;
            }
            // From the node it claims, with a wrong MAC: altered in flight.
            if !msg.authentic() {
                ctx.count(CORRUPT_DETECTED, 1);
                return;
            }
        }
        if self.cfg.replicas.contains(&msg.from) {
            self.on_reply(ctx, msg.from, msg.body);
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, PbftMsg>, tag: u64) {
        match tag {
            TIMER_NEXT_OP if self.current.is_none() => self.start_op(ctx),
            TIMER_TIMEOUT => {
                self.timer = None;
                let Some(cur) = &mut self.current else {
                    return;
                };
                if cur.tries >= self.cfg.retries {
                    // Given up: the request may still execute later.
                    return self.finish(ctx, OpType::Info, Value::Null);
                }
                cur.tries += 1;
                // The primary may be faulty: every replica gets it, relays it
                // and starts its view-change timer.
                let msg = PbftMsg::signed(ctx.id(), Body::Request(cur.req.clone()));
                ctx.send_all(self.cfg.replicas.clone(), &msg);
                self.timer = Some(ctx.set_timer(self.cfg.spec.timeout(), TIMER_TIMEOUT));
            }
            _ => {}
        }
    }
}
