//! The kernel's benchmark workload: a cluster flooded with messages and
//! timers, and a bare `BinaryHeap` pop-one-push-one loop over the same number
//! of events with the same pending-set size — the physical limit the kernel
//! is measured against.
//!
//! One copy serves `cargo bench -p sim-core` and `clustersim bench` (the
//! figures table of the README), so both measure the same thing.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use rand::{Rng, RngCore};
use serde::Serialize;

use crate::{rng, Ctx, Latency, LinkConfig, Message, NodeId, Process, Sim, TimerId, MICROS};

/// Nodes in the flood.
pub const NODES: u32 = 16;
/// Messages each node keeps in flight: NODES * IN_FLIGHT ≈ 1k pending events.
pub const IN_FLIGHT: u32 = 56;

/// The message of the flood.
#[derive(Debug, Clone, Hash, Serialize)]
pub struct Token {
    hops: u64,
}

impl Message for Token {}

/// Forwards every token to a random peer, and re-arms a periodic timer that
/// cancels and re-sets a second timer (the shape of a heartbeat resetting an
/// election timeout).
struct Flooder {
    election: Option<TimerId>,
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

/// A flooded cluster, warmed up past its start events so that the pending
/// set is at its steady size.
pub fn flood_sim() -> Sim<Token> {
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
    for _ in 0..10_000 {
        sim.step();
    }
    sim
}

/// Handles `events` more events; returns the fingerprint (so that no work
/// can be optimised away).
pub fn run_flood(mut sim: Sim<Token>, events: u64) -> u64 {
    let start = sim.events_handled();
    while sim.events_handled() - start < events {
        sim.step();
    }
    sim.fingerprint()
}

/// A bare event heap and the generator that draws its delays.
pub type BareHeap = (
    BinaryHeap<Reverse<(u64, u64, u32)>>,
    rand_chacha::ChaCha8Rng,
);

/// A bare heap holding as many events as the flood keeps pending.
pub fn bare_heap() -> BareHeap {
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

/// The kernel flood and the bare heap, each the best of three runs of
/// `events` events, in events per second of the measuring thread's CPU
/// time (see [`seconds_of`]). Taken outside whole runs: nothing in a run
/// reads a clock.
pub fn kernel_vs_heap(events: u64) -> (f64, f64) {
    let best = |f: &dyn Fn() -> f64| (0..3).map(|_| f()).fold(0.0, f64::max);
    let kernel = best(&|| {
        let sim = flood_sim();
        events as f64 / seconds_of(|| std::hint::black_box(run_flood(sim, events)))
    });
    let heap = best(&|| {
        let h = bare_heap();
        events as f64 / seconds_of(|| std::hint::black_box(run_bare_heap(h, events)))
    });
    (kernel, heap)
}

/// How long `f` ran: the CPU time of this thread where Linux tells it
/// (`/proc/thread-self/schedstat`, in nanoseconds), else wall-clock time.
/// On a machine shared with other builds, wall-clock time counts the
/// waits for a core too, which swamp the ratio of two short runs; CPU time
/// counts only what the measured code did.
fn seconds_of(f: impl FnOnce() -> u64) -> f64 {
    let (cpu, wall) = (thread_cpu_ns(), Instant::now());
    std::hint::black_box(f());
    match (cpu, thread_cpu_ns()) {
        (Some(before), Some(after)) if after > before => (after - before) as f64 / 1e9,
        _ => wall.elapsed().as_secs_f64(),
    }
}

/// The CPU time this thread has run, in nanoseconds, if the OS tells it.
fn thread_cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

/// `events` pop-one-push-one operations; returns a checksum.
pub fn run_bare_heap((mut heap, mut r): BareHeap, events: u64) -> u64 {
    let first_seq = heap.len() as u64;
    let mut checksum = 0u64;
    for seq in first_seq..first_seq + events {
        let Reverse((t, _, node)) = heap.pop().expect("non-empty");
        checksum = checksum.wrapping_add(t ^ node as u64);
        let delay = 50_000 + r.next_u64() % 450_000;
        heap.push(Reverse((t + delay, seq, node)));
    }
    checksum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flood_is_deterministic_and_keeps_its_pending_set() {
        let a = run_flood(flood_sim(), 20_000);
        let b = run_flood(flood_sim(), 20_000);
        assert_eq!(a, b);
        let mut sim = flood_sim();
        for _ in 0..20_000 {
            sim.step();
        }
        // Every token is forwarded: the messages in flight stay NODES × IN_FLIGHT.
        assert!(sim.pending_events() >= (NODES * IN_FLIGHT) as usize);
        let (heap, r) = bare_heap();
        assert_eq!(heap.len(), (NODES * IN_FLIGHT) as usize);
        assert_ne!(run_bare_heap((heap, r), 1000), 0);
    }
}
