//! A Raft client: one operation at a time, drawn from the shared workload.
//!
//! It sends each request to the leader it believes in (or the next replica
//! in turn), follows "not leader" hints, and retries on timeout under the
//! SAME sequence number, so that the replicas' session table applies the
//! operation at most once. After `max_attempts` sends without an answer it
//! gives up and records the operation as `info` (it may or may not have
//! taken effect); its next operation takes a fresh sequence number, and the
//! abandoned one is never sent again.

use rand::RngCore;
use serde_json::Value;
use sim_core::{Ctx, Nanos, NodeId, OpId, OpType, Process, TimerId, MILLIS};

use super::kv::Outcome;
use super::msg::{RaftMsg, Rpc};
use crate::workload::{ClientOp, WorkloadSpec};

#[derive(Debug, Clone, PartialEq)]
pub struct ClientConfig {
    pub replicas: Vec<NodeId>,
    pub workload: WorkloadSpec,
    /// Sends of one operation before it is given up as `info`.
    pub max_attempts: u32,
    /// Wait before retrying when a replica knows no leader (an election is
    /// under way: asking again at once would only load the cluster).
    pub retry_backoff: Nanos,
}

impl ClientConfig {
    pub fn new(replicas: Vec<NodeId>, workload: WorkloadSpec) -> Self {
        Self {
            replicas,
            workload,
            max_attempts: 8,
            retry_backoff: 50 * MILLIS,
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.replicas.is_empty() {
            return Err("raft client: replicas must not be empty".into());
        }
        if self.max_attempts == 0 {
            return Err("raft client: max_attempts must be at least 1".into());
        }
        self.workload.validate()
    }
}

const THINK: u64 = 1;
const TIMEOUT: u64 = 2;
const RETRY: u64 = 3;

/// A timer tag names its kind and the sequence number it belongs to, so a
/// timer that outlived its operation is recognised and ignored: no timer is
/// ever cancelled.
fn tag(kind: u64, seq: u64) -> u64 {
    seq << 2 | kind
}

/// How early a timer may fire and still count as due: converting a local
/// duration to true time and back rounds down by a few nanoseconds.
const ROUNDING_SLACK: Nanos = 1_000;

#[derive(Debug, Clone)]
struct InFlight {
    op: ClientOp,
    op_id: OpId,
    seq: u64,
    attempts: u32,
}

pub struct RaftClient {
    cfg: ClientConfig,
    /// Random per incarnation: a restarted client is a new session, so its
    /// sequence numbers may start again from 1.
    session: u64,
    /// The history's logical process for this incarnation.
    process: u64,
    seq: u64,
    started: u64,
    current: Option<InFlight>,
    leader: Option<NodeId>,
    /// Round-robin cursor over the replicas when no leader is known.
    next_target: usize,
    /// When the attempt out now times out, on the monotonic clock; `None`
    /// while no attempt waits for an answer.
    deadline: Option<Nanos>,
    /// A timeout timer is pending. There is at most one, armed lazily: an
    /// operation answered in time leaves it pending, the next attempt only
    /// moves `deadline`, and when it fires before the deadline it is
    /// re-armed for the rest. A client then sets one timer per operation
    /// (its think time) where it used to set two and cancel one; the
    /// timeout timer fires about once per timeout.
    timeout_armed: bool,
    /// The back-off before the next attempt, while one is pending.
    retry_timer: Option<TimerId>,
    /// Operations that completed ok or fail (a definite answer).
    answered: u64,
}

impl RaftClient {
    pub fn new(cfg: ClientConfig) -> Self {
        Self {
            cfg,
            session: 0,
            process: 0,
            seq: 0,
            started: 0,
            current: None,
            leader: None,
            next_target: 0,
            deadline: None,
            timeout_armed: false,
            retry_timer: None,
            answered: 0,
        }
    }

    /// Operations that got a definite answer in this incarnation.
    pub fn answered(&self) -> u64 {
        self.answered
    }

    /// Has the client issued all the operations it was allowed?
    pub fn finished(&self) -> bool {
        self.current.is_none()
            && self.cfg.workload.max_ops > 0
            && self.started >= self.cfg.workload.max_ops
    }

    /// The history process of this incarnation.
    pub fn process(&self) -> u64 {
        self.process
    }

    /// Cancels the back-off before a retry, if one is pending: an attempt
    /// sent meanwhile (a hint came) makes it moot, and a second back-off
    /// must not send twice. Rare, unlike the timers of every operation.
    fn cancel_retry(&mut self, ctx: &mut Ctx<'_, RaftMsg>) {
        if let Some(t) = self.retry_timer.take() {
            ctx.cancel_timer(t);
        }
    }

    /// The attempt just sent times out after the workload's timeout.
    fn start_timeout(&mut self, ctx: &mut Ctx<'_, RaftMsg>) {
        let timeout = self.cfg.workload.timeout();
        self.deadline = Some(ctx.monotonic_now() + timeout);
        if !self.timeout_armed {
            // A pending timer fires no later than this deadline: it was
            // armed earlier with the same timeout, or for an earlier deadline.
            ctx.set_timer(timeout, tag(TIMEOUT, 0));
            self.timeout_armed = true;
        }
    }

    /// The timeout timer fired: the attempt out times out if its deadline
    /// has come; an earlier one is waited out; with none out, it lapses.
    fn on_timeout_timer(&mut self, ctx: &mut Ctx<'_, RaftMsg>) {
        self.timeout_armed = false;
        let Some(deadline) = self.deadline else {
            return;
        };
        let now = ctx.monotonic_now();
        if now + ROUNDING_SLACK < deadline {
            ctx.set_timer(deadline - now, tag(TIMEOUT, 0));
            self.timeout_armed = true;
            return;
        }
        self.deadline = None;
        // Whoever we asked did not answer in time: forget it as leader.
        self.leader = None;
        self.next_target += 1;
        self.retry(ctx, 0);
    }

    fn next_op(&mut self, ctx: &mut Ctx<'_, RaftMsg>) {
        let spec = &self.cfg.workload;
        if spec.max_ops > 0 && self.started >= spec.max_ops {
            return;
        }
        let op = spec.next_op(ctx.rng());
        let key = spec.history_key(&op);
        self.seq += 1;
        self.started += 1;
        let op_id = ctx.invoke(op.f(), key, op.invoke_value());
        self.current = Some(InFlight {
            op,
            op_id,
            seq: self.seq,
            attempts: 0,
        });
        self.send_attempt(ctx);
    }

    fn send_attempt(&mut self, ctx: &mut Ctx<'_, RaftMsg>) {
        let Some(cur) = self.current.as_mut() else {
            return;
        };
        let replicas = &self.cfg.replicas;
        let target = self
            .leader
            .unwrap_or(replicas[self.next_target % replicas.len()]);
        cur.attempts += 1;
        let (seq, op) = (cur.seq, cur.op);
        self.cancel_retry(ctx);
        ctx.send(
            target,
            RaftMsg::seal(Rpc::ClientRequest {
                session: self.session,
                seq,
                op,
            }),
        );
        self.start_timeout(ctx);
    }

    /// Retries the current operation, or gives it up as `info` once its
    /// attempts are spent.
    fn retry(&mut self, ctx: &mut Ctx<'_, RaftMsg>, after: Nanos) {
        let Some(cur) = self.current.as_ref() else {
            return;
        };
        if cur.attempts >= self.cfg.max_attempts {
            let value = cur.op.invoke_value();
            self.finish(ctx, OpType::Info, value);
        } else if after == 0 {
            self.send_attempt(ctx);
        } else {
            let seq = cur.seq;
            self.deadline = None; // nothing is out while backing off
            self.cancel_retry(ctx);
            self.retry_timer = Some(ctx.set_timer(after, tag(RETRY, seq)));
        }
    }

    fn finish(&mut self, ctx: &mut Ctx<'_, RaftMsg>, outcome: OpType, value: Value) {
        let Some(cur) = self.current.take() else {
            return;
        };
        self.deadline = None;
        ctx.complete(cur.op_id, outcome, value);
        if outcome != OpType::Info {
            self.answered += 1;
        }
        let think = self.cfg.workload.think();
        ctx.set_timer(think, tag(THINK, cur.seq));
    }

    fn on_reply(&mut self, ctx: &mut Ctx<'_, RaftMsg>, from: NodeId, seq: u64, outcome: Outcome) {
        let Some(cur) = self.current.as_ref() else {
            return;
        };
        if cur.seq != seq {
            return; // the answer to an operation already finished
        }
        self.leader = Some(from);
        let (kind, value) = match (outcome, cur.op) {
            (Outcome::Read(v), _) => (OpType::Ok, v.map_or(Value::Null, Value::from)),
            (Outcome::Written, op) => (OpType::Ok, op.invoke_value()),
            (Outcome::CasOk, op) => (OpType::Ok, op.invoke_value()),
            (Outcome::CasFailed, op) => (OpType::Fail, op.invoke_value()),
            (Outcome::Stale, _) => return,
        };
        self.finish(ctx, kind, value);
    }

    fn on_not_leader(
        &mut self,
        ctx: &mut Ctx<'_, RaftMsg>,
        from: NodeId,
        seq: u64,
        hint: Option<NodeId>,
    ) {
        if self.current.as_ref().is_none_or(|c| c.seq != seq) {
            return;
        }
        match hint.filter(|&h| h != from && self.cfg.replicas.contains(&h)) {
            Some(h) => {
                self.leader = Some(h);
                self.retry(ctx, 0);
            }
            None => {
                self.leader = None;
                self.next_target += 1;
                let backoff = self.cfg.retry_backoff;
                self.retry(ctx, backoff);
            }
        }
    }
}

impl Process for RaftClient {
    type Msg = RaftMsg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, RaftMsg>) {
        self.session = ctx.rng().next_u64();
        // Each incarnation is a history process of its own (the kernel's
        // numbering): an operation left open by a crash stays open, as in Jepsen.
        self.process = ctx.history_process();
        let n = self.cfg.replicas.len() as u64;
        self.next_target = (ctx.rng().next_u64() % n) as usize;
        // Start at a random point of the first think time, so that clients
        // do not move in lockstep.
        let think = self.cfg.workload.think().max(1);
        let first = sim_core::rng::between(ctx.rng(), 1, think);
        ctx.set_timer(first, tag(THINK, 0));
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, RaftMsg>, from: NodeId, msg: RaftMsg) {
        let Some(msg) = msg.open(ctx, true) else {
            return;
        };
        match msg {
            Rpc::ClientReply { seq, outcome } => self.on_reply(ctx, from, seq, outcome),
            Rpc::NotLeader { seq, leader } => self.on_not_leader(ctx, from, seq, leader),
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, RaftMsg>, tag: u64) {
        let (kind, seq) = (tag & 3, tag >> 2);
        match kind {
            THINK if self.current.is_none() && seq == self.seq => self.next_op(ctx),
            TIMEOUT => self.on_timeout_timer(ctx),
            RETRY if self.current.as_ref().is_some_and(|c| c.seq == seq) => {
                self.retry_timer = None;
                self.send_attempt(ctx)
            }
            _ => {}
        }
    }
}
