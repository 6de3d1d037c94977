//! A PBFT client: f+1 matching replies make a result (2f+1 with the
//! read-only optimisation on, see [`ClientConfig::read_only`]).

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
    /// The read-only optimisation: reads go to every replica, which answer
    /// from their committed state; 2f+1 matching answers make the result,
    /// otherwise the read is ordered like any request. Ordered requests then
    /// need 2f+1 matching replies too (Castro & Liskov, TOCS 2002, 5.1.3):
    /// with f+1, a completed write may be known to f+1 replicas only, f of
    /// them faulty, and 2f+1 others could still answer a read with the
    /// value before it.
    pub read_only: bool,
    pub auth: AuthMode,
    /// Send a request to every replica at once (with MAC authenticators
    /// and vouching, the backups must see it to vouch for it), not to the
    /// primary first.
    pub multicast: bool,
    /// The faulty-client attack: every request's authenticator is right
    /// for one replica only, the one it is sent to (the primary of the view
    /// the client believes, one view further each retry).
    pub faulty: bool,
    pub bugs: Bugs,
}

/// Counters: reads answered by the read-only path, and reads it had to
/// order after all (replies did not match, or too few came).
pub const READ_ONLY_FAST: &str = "pbft.read_only_fast";
pub const READ_ONLY_FALLBACK: &str = "pbft.read_only_fallback";

const TIMER_NEXT_OP: u64 = 0;
const TIMER_TIMEOUT: u64 = 1;

struct Current {
    op_id: OpId,
    op: ClientOp,
    req: Request,
    tries: u32,
    /// Sent on the read-only path: replies match on their result alone
    /// (replicas answer from whatever sequence number they reached).
    read_only: bool,
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
        let read_only = self.cfg.read_only && matches!(op, ClientOp::Read { .. });
        let id = self.ids.next(ctx);
        let req = self.request(ctx, id, op, 0);
        self.current = Some(Current {
            op_id,
            op,
            req,
            tries: 0,
            read_only,
            replies: BTreeMap::new(),
        });
        self.send_current(ctx, false);
        self.timer = Some(ctx.set_timer(self.cfg.spec.timeout(), TIMER_TIMEOUT));
    }

    fn n(&self) -> u64 {
        self.cfg.replicas.len() as u64
    }

    /// The replica a faulty client's try `tries` is for: the primary it
    /// believes in, one view further with each retry (a view change follows
    /// each request the attack gets proposed).
    fn target(&self, tries: u32) -> NodeId {
        self.cfg.replicas[((self.view + tries as u64) % self.n()) as usize]
    }

    fn request(&self, ctx: &Ctx<'_, PbftMsg>, id: u64, op: ClientOp, tries: u32) -> Request {
        match self.cfg.auth {
            AuthMode::Signatures => Request::new(ctx.id(), id, op),
            AuthMode::Macs => {
                let target = self.target(tries);
                let faulty = self.cfg.faulty;
                Request::with_macs(ctx.id(), id, op, &self.cfg.replicas, |r| {
                    !faulty || r == target
                })
            }
        }
    }

    /// Sends the current request: a read-only one to every replica; an
    /// ordered one to the primary (every replica on a retry, or always when
    /// multicasting); a faulty client's only to the replica it targets.
    fn send_current(&mut self, ctx: &mut Ctx<'_, PbftMsg>, retry: bool) {
        let Some(cur) = &self.current else {
            return;
        };
        let me = ctx.id();
        if cur.read_only {
            let msg = PbftMsg::signed(me, Body::ReadOnly(cur.req.clone()));
            return ctx.send_all(self.cfg.replicas.clone(), &msg);
        }
        let msg = PbftMsg::signed(me, Body::Request(cur.req.clone()));
        if self.cfg.faulty {
            ctx.send(self.target(cur.tries), msg);
        } else if retry || self.cfg.multicast {
            // The primary may be faulty: every replica gets it, relays it
            // and starts its view-change timer.
            ctx.send_all(self.cfg.replicas.clone(), &msg);
        } else {
            let primary = self.cfg.replicas[(self.view % self.n()) as usize];
            ctx.send(primary, msg);
        }
    }

    /// The read-only path failed: order the read, under a new request id so
    /// that late read-only answers cannot mix with the ordered ones.
    fn fall_back(&mut self, ctx: &mut Ctx<'_, PbftMsg>) {
        let id = self.ids.next(ctx);
        let Some(cur) = &self.current else {
            return;
        };
        let req = self.request(ctx, id, cur.op, cur.tries);
        let cur = self.current.as_mut().expect("checked");
        cur.read_only = false;
        cur.req = req;
        cur.replies.clear();
        ctx.count(READ_ONLY_FALLBACK, 1);
        self.send_current(ctx, false);
        if let Some(t) = self.timer.take() {
            ctx.cancel_timer(t);
        }
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
        let f = self.f();
        let n = self.cfg.replicas.len();
        let Some(cur) = &mut self.current else {
            return;
        };
        if id != cur.req.id {
            return;
        }
        let need = if self.cfg.bugs.first_reply {
            1
        } else if cur.read_only && self.cfg.bugs.read_only_f_plus_one {
            f + 1
        } else if self.cfg.read_only {
            2 * f + 1
        } else {
            f + 1
        };
        self.view = self.view.max(view);
        cur.replies.insert(from, (seq, result));
        let matches = |r: &(u64, Outcome)| {
            if cur.read_only {
                r.1 == result
            } else {
                *r == (seq, result)
            }
        };
        let matching = cur.replies.values().filter(|r| matches(r)).count();
        if matching < need {
            if cur.read_only {
                // Could any result still reach `need` with the replies to come?
                let best = cur
                    .replies
                    .values()
                    .map(|a| cur.replies.values().filter(|b| a.1 == b.1).count())
                    .max()
                    .unwrap_or(0);
                if best + (n - cur.replies.len()) < need {
                    self.fall_back(ctx);
                }
            }
            return;
        }
        if cur.read_only {
            ctx.count(READ_ONLY_FAST, 1);
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
                if cur.read_only {
                    return self.fall_back(ctx);
                }
                cur.tries += 1;
                if self.cfg.faulty {
                    // A fresh authenticator for the next replica it tries.
                    let (id, op, tries) = (cur.req.id, cur.op, cur.tries);
                    let req = self.request(ctx, id, op, tries);
                    self.current.as_mut().expect("checked").req = req;
                }
                self.send_current(ctx, true);
                self.timer = Some(ctx.set_timer(self.cfg.spec.timeout(), TIMER_TIMEOUT));
            }
            _ => {}
        }
    }
}
