//! Kernel throughput: a cluster flooded with messages and timers, next to a
//! bare `BinaryHeap` pop-one-push-one loop over the same number of events with
//! the same pending-set size — the physical limit the kernel is measured against.
//!
//! `cargo bench -p sim-core` prints both as elements (events) per second.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rand::{Rng, RngCore};
use serde::Serialize;
use sim_core::{rng, Ctx, Latency, LinkConfig, Message, NodeId, Process, Sim, MICROS};

/// Nodes in the flood.
const NODES: u32 = 16;
/// Messages each node keeps in flight: NODES * IN_FLIGHT ≈ 1k pending events.
const IN_FLIGHT: u32 = 56;
/// Events handled per measured iteration.
const EVENTS: u64 = 200_000;

#[derive(Debug, Clone, Hash, Serialize)]
struct Token {
    hops: u64,
}

impl Message for Token {}

/// Forwards every token to a random peer, and re-arms a periodic timer that
/// sends one more message and cancels and re-sets a second timer (the shape of
/// a heartbeat resetting an election timeout).
struct Flooder {
    election: Option<sim_core::TimerId>,
}

impl Process for Flooder {
    type Msg = Token;

    fn on_start(&mut self, ctx: &mut Ctx<'_, Token>) {
        for _ in 0..IN_FLIGHT {
            let to = ctx.rng().random_range(0..NODES);
            ctx.send(to, Token { hops: 0 });
        }
        ctx.set_timer(100 * MICROS, 0);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Token>, _from: NodeId, msg: Token) {
        let to = ctx.rng().random_range(0..NODES);
        ctx.send(to, Token { hops: msg.hops + 1 });
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Token>, tag: u64) {
        if tag == 0 {
            if let Some(t) = self.election.take() {
                ctx.cancel_timer(t);
            }
            self.election = Some(ctx.set_timer(10_000 * MICROS, 1));
            ctx.set_timer(100 * MICROS, 0);
        }
    }
}

fn flood_sim() -> Sim<Token> {
    let link = LinkConfig {
        latency: Latency::Uniform {
            min: 50 * MICROS,
            max: 500 * MICROS,
        },
        ..Default::default()
    };
    let mut sim = Sim::new(7, link);
    for _ in 0..NODES {
        sim.add_node(|| Flooder { election: None });
    }
    // Warm up past the start events so the pending set is at its steady size.
    for _ in 0..10_000 {
        sim.step();
    }
    sim
}

fn run_flood(mut sim: Sim<Token>) -> u64 {
    let start = sim.events_handled();
    while sim.events_handled() - start < EVENTS {
        sim.step();
    }
    sim.fingerprint()
}

/// A bare event heap and the generator that draws its delays.
type BareHeap = (
    BinaryHeap<Reverse<(u64, u64, u32)>>,
    rand_chacha::ChaCha8Rng,
);

/// The same count of pop-one-push-one operations on a bare heap of the same size.
fn bare_heap() -> BareHeap {
    let mut r = rng::stream(7, "bench");
    let mut heap = BinaryHeap::new();
    for seq in 0..(NODES * IN_FLIGHT) as u64 {
        heap.push(Reverse((
            rng::between(&mut r, 0, 500_000),
            seq,
            (seq % NODES as u64) as u32,
        )));
    }
    (heap, r)
}

fn run_bare_heap((mut heap, mut r): BareHeap) -> u64 {
    let first_seq = heap.len() as u64;
    let mut checksum = 0u64;
    for seq in first_seq..first_seq + EVENTS {
        let Reverse((t, _, node)) = heap.pop().expect("non-empty");
        checksum = checksum.wrapping_add(t ^ node as u64);
        let delay = 50_000 + r.next_u64() % 450_000;
        heap.push(Reverse((t + delay, seq, node)));
    }
    checksum
}

fn kernel(c: &mut Criterion) {
    let mut group = c.benchmark_group("kernel");
    group.throughput(Throughput::Elements(EVENTS));
    group.sample_size(20);
    group.bench_function("flood", |b| {
        b.iter_batched(
            flood_sim,
            |sim| black_box(run_flood(sim)),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("bare_heap", |b| {
        b.iter_batched(
            bare_heap,
            |h| black_box(run_bare_heap(h)),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, kernel);
criterion_main!(benches);
