//! The kernel's send-interceptor hook (see `sim_core::byzantine`) and the
//! corruption counters the kernel keeps for a summary.

use std::cell::RefCell;
use std::rc::Rc;

use serde::Serialize;
use sim_core::byzantine::{InterceptCtx, Outgoing, SendInterceptor};
use sim_core::integrity::{flip_random_bit, Sealed, CORRUPT_DELIVERED, CORRUPT_DETECTED};
use sim_core::rng::SimRng;
use sim_core::*;

#[derive(Debug, Clone, Hash, Serialize, PartialEq)]
struct Num(u64);
impl Message for Num {
    fn corrupt(&mut self, rng: &mut SimRng) -> bool {
        flip_random_bit(&mut self.0, rng);
        true
    }
}

type Inbox = Rc<RefCell<Vec<(NodeId, NodeId, u64, Nanos)>>>;

/// Node 0 sends 1, 2, 3 to each other node at start; everyone logs what arrives.
struct Talker {
    inbox: Inbox,
}

impl Process for Talker {
    type Msg = Num;
    fn on_start(&mut self, ctx: &mut Ctx<'_, Num>) {
        if ctx.id() == 0 {
            for v in 1..=3 {
                let peers: Vec<NodeId> = (1..ctx.node_count()).collect();
                ctx.send_all(peers, &Num(v));
            }
        }
    }
    fn on_message(&mut self, ctx: &mut Ctx<'_, Num>, from: NodeId, msg: Num) {
        let now = ctx.now();
        self.inbox.borrow_mut().push((ctx.id(), from, msg.0, now));
    }
    fn on_timer(&mut self, _: &mut Ctx<'_, Num>, _: u64) {}
}

/// Drops what goes to node 1, doubles the value for node 2 and holds it 5 ms.
struct Meddler;

impl SendInterceptor<Num> for Meddler {
    fn intercept(
        &mut self,
        ctx: &mut InterceptCtx<'_>,
        msg: Outgoing<Num>,
        out: &mut Vec<Outgoing<Num>>,
    ) {
        match msg.to {
            1 => ctx.count("meddled", 1),
            _ => out.push(Outgoing {
                to: msg.to,
                msg: Num(msg.msg.0 * 2),
                delay: 5 * MILLIS,
            }),
        }
    }
}

fn talkers(sim: &mut Sim<Num>, n: usize) -> Inbox {
    let inbox = Inbox::default();
    for _ in 0..n {
        let i = inbox.clone();
        sim.add_node(move || Talker { inbox: i.clone() });
    }
    inbox
}

fn constant(ns: Nanos) -> LinkConfig {
    LinkConfig {
        latency: Latency::Constant { ns },
        ..Default::default()
    }
}

#[test]
fn an_interceptor_rewrites_what_a_node_sends_and_can_be_removed() {
    let mut sim = Sim::new(1, constant(1_000));
    let inbox = talkers(&mut sim, 3);
    assert!(sim
        .set_send_interceptor(0, Some(Box::new(Meddler)))
        .is_none());
    assert!(sim.send_interceptor_mut(0).is_some());
    sim.run_until(SECONDS);
    let got = inbox.borrow().clone();
    assert_eq!(
        got,
        [
            (2, 0, 2, 5_001_000),
            (2, 0, 4, 5_001_000),
            (2, 0, 6, 5_001_000)
        ]
    );
    assert_eq!(sim.counters()["meddled"], 3);
    assert_eq!(
        sim.network().stats(0, 1).sent,
        0,
        "suppressed before the wire"
    );

    // Honest again: a restart re-sends, unchanged.
    assert!(sim.set_send_interceptor(0, None).is_some());
    sim.crash(0, CrashMode::KeepUnsynced);
    sim.restart(0, false);
    inbox.borrow_mut().clear();
    sim.run_until(2 * SECONDS);
    assert_eq!(inbox.borrow().len(), 6);
}

#[test]
fn the_kernel_counts_corrupted_deliveries_and_sealed_counts_detections() {
    #[derive(Debug, Clone, Hash, Serialize)]
    struct Opaque(u64);
    impl Message for Opaque {}

    struct Opener;
    impl Process for Opener {
        type Msg = Sealed<Opaque>;
        fn on_start(&mut self, ctx: &mut Ctx<'_, Sealed<Opaque>>) {
            if ctx.id() == 0 {
                for v in 0..200 {
                    ctx.send(1, Sealed::new(Opaque(v)));
                }
            }
        }
        fn on_message(&mut self, ctx: &mut Ctx<'_, Sealed<Opaque>>, _: NodeId, m: Sealed<Opaque>) {
            let _ = m.open(ctx);
        }
        fn on_timer(&mut self, _: &mut Ctx<'_, Sealed<Opaque>>, _: u64) {}
    }

    let mut sim = Sim::new(
        3,
        LinkConfig {
            corrupt: 0.25,
            ..constant(1_000)
        },
    );
    sim.add_node(|| Opener);
    sim.add_node(|| Opener);
    sim.run_until(SECONDS);
    let corrupted = sim.network().stats(0, 1).corrupted as i64;
    assert!(corrupted > 20, "{corrupted}");
    assert_eq!(sim.counters()[CORRUPT_DELIVERED], corrupted);
    assert_eq!(sim.counters()[CORRUPT_DETECTED], corrupted);
}
