//! The lock client: the acquire / extend / release recipe with a manager
//! that retries with exponential back-off.

use rand::Rng;
use serde_json::Value;
use sim_core::{Ctx, Nanos, NodeId, OpId, OpType, Process, TimerId};

use super::{BugFlags, Bugs, LeaseMsg, Write};

/// How clients use the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    pub store: NodeId,
    /// The guarded resource a holder writes to.
    pub resource: NodeId,
    /// Lease length, asked of the store with every acquire and extend.
    pub lease: Nanos,
    /// Allowance for clock drift subtracted from the lease the client
    /// believes it has.
    pub drift: Nanos,
    /// How long a client works while holding the lock.
    pub hold: Nanos,
    /// Give up waiting for the store's answer after this long.
    pub timeout: Nanos,
    /// First back-off after a refused acquire; it doubles per refusal.
    pub backoff: Nanos,
    /// The back-off stops doubling here.
    pub max_backoff: Nanos,
    pub bugs: Bugs,
}

/// A request whose answer the client awaits.
#[derive(Debug, Clone, Copy)]
struct Pending {
    id: u64,
    /// Sent at, on the client's monotonic clock.
    sent: Nanos,
}

enum Phase {
    Idle,
    Acquiring {
        op: OpId,
        req: Pending,
    },
    Holding {
        /// The grant's fencing token.
        token: u64,
        /// Work is done (and the lock released) at this time.
        work_until: Nanos,
        /// The lease ends here unless extended: send time of the last
        /// granted acquire or extend + lease − drift.
        valid_until: Nanos,
        /// Send time of the last granted acquire or extend.
        granted_sent: Nanos,
        extend: Option<Pending>,
    },
    Releasing {
        op: OpId,
        req: Pending,
    },
}

/// A holder's times (monotonic clock).
struct Deadlines {
    /// Work is done (and the lock released) at this time.
    work_until: Nanos,
    /// The lease ends here unless extended.
    valid_until: Nanos,
    /// The next extend is due here; `None` while one is in flight.
    extend_at: Option<Nanos>,
}

/// Timer tags: these two, or the id of a request whose answer timed out.
const TIMER_NEXT: u64 = u64::MAX;
const TIMER_TICK: u64 = u64::MAX - 1;
const TIMER_WRITE: u64 = u64::MAX - 2;

pub struct Client {
    cfg: ClientConfig,
    owner: u64,
    phase: Phase,
    /// Refused acquires in a row (the back-off's exponent).
    refusals: u32,
    tick: Option<TimerId>,
}

impl Client {
    pub fn new(cfg: ClientConfig) -> Self {
        Self {
            cfg,
            owner: 0,
            phase: Phase::Idle,
            refusals: 0,
            tick: None,
        }
    }

    fn send(&mut self, ctx: &mut Ctx<'_, LeaseMsg>, write: Write) -> Pending {
        let id = ctx.request_id();
        let msg = LeaseMsg::Request {
            id,
            write,
            owner: self.owner,
            lease: self.cfg.lease,
            client_now: ctx.now(),
            bugs: BugFlags::from(self.cfg.bugs),
        };
        ctx.send(self.cfg.store, msg);
        ctx.set_timer(self.cfg.timeout, id);
        Pending {
            id,
            sent: ctx.monotonic_now(),
        }
    }

    /// Waits before the next acquire: base · 2^refusals (capped), with
    /// jitter up to as much again so that clients refused together spread out.
    fn back_off(&mut self, ctx: &mut Ctx<'_, LeaseMsg>) {
        let base = self.cfg.backoff.max(1);
        let wait = base
            .saturating_mul(1 << self.refusals.min(20))
            .min(self.cfg.max_backoff.max(base));
        let wait = ctx.rng().random_range(wait..=2 * wait);
        ctx.set_timer(wait, TIMER_NEXT);
        self.phase = Phase::Idle;
    }

    fn acquire(&mut self, ctx: &mut Ctx<'_, LeaseMsg>) {
        self.owner = ctx.rng().random();
        let op = ctx.invoke("acquire", None, Value::Null);
        let req = self.send(ctx, Write::Acquire);
        self.phase = Phase::Acquiring { op, req };
    }

    /// The acquire's answer (`None`: it timed out).
    fn acquired(
        &mut self,
        ctx: &mut Ctx<'_, LeaseMsg>,
        op: OpId,
        req: Pending,
        reply: Option<(bool, u64)>,
    ) {
        let now = ctx.monotonic_now();
        let valid_until = self.valid_until(req.sent);
        match reply {
            Some((true, token)) if valid_until > now => {
                ctx.complete(op, OpType::Ok, Value::from(token));
                self.refusals = 0;
                self.phase = Phase::Holding {
                    token,
                    work_until: now.saturating_add(self.cfg.hold),
                    valid_until,
                    granted_sent: req.sent,
                    extend: None,
                };
                self.schedule_tick(ctx);
                self.write(ctx);
            }
            Some((false, _)) => {
                ctx.complete(op, OpType::Fail, Value::Null);
                self.refusals += 1;
                self.back_off(ctx);
            }
            // Granted too late to use, or unanswered (the put may have been
            // made): give the item back so that nobody waits for it to
            // expire, and count the acquire as not taken.
            _ => {
                self.send(ctx, Write::Release);
                ctx.complete(op, OpType::Fail, Value::Null);
                self.back_off(ctx);
            }
        }
    }

    /// One write to the resource under the grant held, and the next one a
    /// tenth of the lease later (a paused client's write comes after its pause).
    fn write(&mut self, ctx: &mut Ctx<'_, LeaseMsg>) {
        if let Phase::Holding { token, .. } = self.phase {
            let msg = LeaseMsg::Write {
                token,
                holder: self.owner,
            };
            ctx.send(self.cfg.resource, msg);
            ctx.set_timer((self.cfg.lease / 10).max(1), TIMER_WRITE);
        }
    }

    fn valid_until(&self, sent: Nanos) -> Nanos {
        sent.saturating_add(self.cfg.lease)
            .saturating_sub(self.cfg.drift)
    }

    /// While holding, what [`Self::on_tick`] acts on and
    /// [`Self::schedule_tick`] waits for.
    fn deadlines(&self) -> Option<Deadlines> {
        let Phase::Holding {
            work_until,
            valid_until,
            granted_sent,
            extend,
            ..
        } = &self.phase
        else {
            return None;
        };
        Some(Deadlines {
            work_until: *work_until,
            valid_until: *valid_until,
            extend_at: extend
                .is_none()
                .then(|| granted_sent.saturating_add(self.cfg.lease / 3)),
        })
    }

    /// While holding: stop when the lease runs out or the work is done,
    /// extend every third of the lease.
    fn on_tick(&mut self, ctx: &mut Ctx<'_, LeaseMsg>) {
        let now = ctx.monotonic_now();
        let bug = self.cfg.bugs.extend_after_expiry;
        let Some(d) = self.deadlines() else {
            return;
        };
        let expired = now >= d.valid_until;
        if now >= d.work_until || (expired && !bug) {
            self.release(ctx);
            return;
        }
        // An extend is due every third of the lease, and at once on expiry
        // (with the bug), unless one is in flight.
        if d.extend_at.is_some_and(|at| now >= at || expired) {
            let req = self.send(ctx, Write::Extend);
            if let Phase::Holding { extend, .. } = &mut self.phase {
                *extend = Some(req);
            }
        }
        self.schedule_tick(ctx);
    }

    /// The next time [`Self::on_tick`] has something to do.
    fn schedule_tick(&mut self, ctx: &mut Ctx<'_, LeaseMsg>) {
        let Some(d) = self.deadlines() else {
            return;
        };
        let now = ctx.monotonic_now();
        // The lease end only while it is ahead (a buggy client holds past it).
        let mut next = d.work_until;
        if d.valid_until > now {
            next = next.min(d.valid_until);
        }
        if let Some(at) = d.extend_at {
            next = next.min(at);
        }
        if let Some(t) = self.tick.take() {
            ctx.cancel_timer(t);
        }
        self.tick = Some(ctx.set_timer(next.saturating_sub(now).max(1), TIMER_TICK));
    }

    /// The extend's answer (`None`: it timed out).
    fn extended(&mut self, ctx: &mut Ctx<'_, LeaseMsg>, req: Pending, granted: Option<bool>) {
        match granted {
            Some(true) => {
                let v = self.valid_until(req.sent);
                if let Phase::Holding {
                    valid_until,
                    granted_sent,
                    extend,
                    ..
                } = &mut self.phase
                {
                    *valid_until = v;
                    *granted_sent = req.sent;
                    *extend = None;
                }
                self.schedule_tick(ctx);
            }
            // Someone else holds the item: the lease is lost.
            Some(false) => self.release(ctx),
            None => {
                if let Phase::Holding { extend, .. } = &mut self.phase {
                    *extend = None;
                }
                self.on_tick(ctx);
            }
        }
    }

    fn release(&mut self, ctx: &mut Ctx<'_, LeaseMsg>) {
        if let Some(t) = self.tick.take() {
            ctx.cancel_timer(t);
        }
        let op = ctx.invoke("release", None, Value::Null);
        let req = self.send(ctx, Write::Release);
        self.phase = Phase::Releasing { op, req };
    }
}

impl Process for Client {
    type Msg = LeaseMsg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, LeaseMsg>) {
        self.back_off(ctx);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, LeaseMsg>, _from: NodeId, msg: LeaseMsg) {
        let LeaseMsg::Reply { id, done, version } = msg else {
            return;
        };
        match self.phase {
            Phase::Acquiring { op, req } if req.id == id => {
                self.acquired(ctx, op, req, Some((done, version)))
            }
            Phase::Holding {
                extend: Some(req), ..
            } if req.id == id => self.extended(ctx, req, Some(done)),
            Phase::Releasing { op, req } if req.id == id => {
                // Deleted or not, the item is not ours any more.
                ctx.complete(op, OpType::Ok, Value::Null);
                self.back_off(ctx);
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, LeaseMsg>, tag: u64) {
        match (tag, &self.phase) {
            (TIMER_NEXT, Phase::Idle) => self.acquire(ctx),
            (TIMER_WRITE, Phase::Holding { .. }) => self.write(ctx),
            (TIMER_TICK, Phase::Holding { .. }) => {
                self.tick = None;
                self.on_tick(ctx);
            }
            (id, &Phase::Acquiring { op, req }) if req.id == id => {
                self.acquired(ctx, op, req, None)
            }
            (
                id,
                &Phase::Holding {
                    extend: Some(req), ..
                },
            ) if req.id == id => self.extended(ctx, req, None),
            (id, &Phase::Releasing { op, req }) if req.id == id => {
                // Unanswered: the item expires on its own.
                ctx.complete(op, OpType::Info, Value::Null);
                self.back_off(ctx);
            }
            _ => {}
        }
    }
}
