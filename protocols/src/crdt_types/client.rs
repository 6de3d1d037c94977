//! The generic client: one request at a time to a random replica, what to
//! ask decided by the type's [`Session`], until the workload is over (on the
//! harness's clock, `Ctx::workload_over`) so that gossip can quiesce before
//! the run ends.

use rand::Rng;
use sim_core::{Ctx, NodeId, OpId, OpType, Process, TimerId};

use super::replica::Msg;
use super::{ReplicatedType, Session};
use crate::workload::WorkloadSpec;

pub struct Client<T: ReplicatedType> {
    replicas: Vec<NodeId>,
    spec: WorkloadSpec,
    session: T::Session,
    open: Option<Open<T>>,
    fresh: u64,
}

struct Open<T: ReplicatedType> {
    req: u64,
    op: OpId,
    timer: TimerId,
    request: T::Request,
}

const TIMER_NEXT: u64 = 0;
const TIMER_TIMEOUT: u64 = 1;

impl<T: ReplicatedType> Client<T> {
    pub fn new(replicas: Vec<NodeId>, spec: WorkloadSpec) -> Self {
        Self {
            replicas,
            spec,
            session: T::Session::default(),
            open: None,
            fresh: 0,
        }
    }

    fn start_op(&mut self, ctx: &mut Ctx<'_, Msg<T>>) {
        if ctx.workload_over() {
            return;
        }
        // Unique in the run: history processes are unique per incarnation.
        self.fresh += 1;
        let fresh = ctx.history_process() * 1_000_000 + self.fresh;
        let (f, value, request) = self.session.next(ctx.rng(), fresh);
        let op = ctx.invoke(f, None, value);
        let req = ctx.request_id();
        let to = self.replicas[ctx.rng().random_range(0..self.replicas.len())];
        ctx.send(
            to,
            Msg::Request {
                req,
                body: request.clone(),
            },
        );
        let timer = ctx.set_timer(self.spec.timeout(), TIMER_TIMEOUT);
        self.open = Some(Open {
            req,
            op,
            timer,
            request,
        });
    }
}

impl<T: ReplicatedType> Process for Client<T> {
    type Msg = Msg<T>;

    fn on_start(&mut self, ctx: &mut Ctx<'_, Msg<T>>) {
        ctx.set_timer(self.spec.think(), TIMER_NEXT);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Msg<T>>, _from: NodeId, msg: Msg<T>) {
        let Msg::Reply { req, body } = msg else {
            return;
        };
        if self.open.as_ref().is_some_and(|o| o.req == req) {
            let open = self.open.take().expect("checked");
            ctx.cancel_timer(open.timer);
            let value = self.session.done(&open.request, &body);
            ctx.complete(open.op, OpType::Ok, value);
            ctx.set_timer(self.spec.think(), TIMER_NEXT);
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Msg<T>>, tag: u64) {
        match tag {
            TIMER_NEXT if self.open.is_none() => self.start_op(ctx),
            TIMER_TIMEOUT => {
                if let Some(open) = self.open.take() {
                    // The request may have been applied and its reply lost.
                    ctx.complete(open.op, OpType::Info, serde_json::Value::Null);
                    self.session.timed_out();
                }
                ctx.set_timer(self.spec.think(), TIMER_NEXT);
            }
            _ => {}
        }
    }
}
