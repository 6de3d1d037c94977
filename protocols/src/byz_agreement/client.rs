//! A learner: asks the replicas for one instance's decision after another
//! and believes an answer only with its proof (2f+1 signed commits), so a
//! Byzantine replica cannot make it learn anything that was not decided.

use serde_json::json;
use sim_core::{Ctx, NodeId, OpId, OpType, Process, TimerId};

use super::msg::{AgreementMsg, Body};
use super::replica::Config;
use crate::workload::WorkloadSpec;

pub struct Learner {
    cfg: Config,
    spec: WorkloadSpec,
    /// The instance asked about now (or next).
    instance: u64,
    current: Option<OpId>,
    timeout: Option<TimerId>,
}

const TIMER_NEXT: u64 = 0;
const TIMER_TIMEOUT: u64 = 1;

impl Learner {
    pub fn new(cfg: Config, spec: WorkloadSpec) -> Self {
        Self {
            cfg,
            spec,
            instance: 0,
            current: None,
            timeout: None,
        }
    }

    fn finish(
        &mut self,
        ctx: &mut Ctx<'_, AgreementMsg>,
        outcome: OpType,
        value: serde_json::Value,
    ) {
        if let Some(op) = self.current.take() {
            ctx.complete(op, outcome, value);
        }
        if let Some(t) = self.timeout.take() {
            ctx.cancel_timer(t);
        }
        ctx.set_timer(self.spec.think(), TIMER_NEXT);
    }
}

impl Process for Learner {
    type Msg = AgreementMsg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, AgreementMsg>) {
        ctx.set_timer(self.spec.think(), TIMER_NEXT);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, AgreementMsg>, _: NodeId, msg: AgreementMsg) {
        let Body::Decided { instance, proof } = msg.body else {
            return;
        };
        if self.current.is_none() || instance != self.instance {
            return;
        }
        if !self.cfg.valid_decision(instance, &proof) {
            ctx.count("byz_agreement.learner_rejected", 1);
            return;
        }
        self.instance += 1;
        self.finish(ctx, OpType::Ok, json!(proof.value));
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, AgreementMsg>, tag: u64) {
        match tag {
            TIMER_NEXT if self.current.is_none() => {
                self.current = Some(ctx.invoke("learn", None, json!(self.instance)));
                let ask = AgreementMsg::signed(
                    ctx.id(),
                    Body::Learn {
                        instance: self.instance,
                    },
                );
                ctx.send_all(self.cfg.replicas.clone(), &ask);
                self.timeout = Some(ctx.set_timer(self.spec.timeout(), TIMER_TIMEOUT));
            }
            TIMER_TIMEOUT => {
                // Not decided yet (or the answers were lost): ask again later.
                self.timeout = None;
                self.finish(ctx, OpType::Fail, serde_json::Value::Null);
            }
            _ => {}
        }
    }
}
