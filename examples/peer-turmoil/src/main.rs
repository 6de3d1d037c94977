//! One forwarding workload on clustersim's kernel and on turmoil, side by side.
//!
//! N hosts in a ring; each forwards every message it receives to the next
//! host; K = N messages circulate (each host starts one); every hop takes a
//! fixed 1 ms and nothing is lost. A run ends after M deliveries in total. Both
//! sides deliver exactly the same messages at the same virtual times (a
//! message's hop count is its 8-byte payload on both), so the only thing that
//! differs is what each simulator spends per delivery. The table: N ->
//! deliveries per wall second on each side, and their ratio.
//!
//! The wall clock is read only here, around whole runs (`Instant`), never
//! inside a simulation.

use std::cell::Cell;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::rc::Rc;
use std::time::{Duration, Instant, UNIX_EPOCH};

use serde::Serialize;
use sim_core::{Ctx, Latency, LinkConfig, Message, NodeId, Process, Sim, MILLIS};

/// Ring sizes.
const SIZES: [u32; 3] = [4, 16, 64];
/// Deliveries per run, on both sides (a multiple of every K: each millisecond
/// of virtual time delivers exactly K messages, so both stop at the same
/// virtual instant).
const DELIVERIES: u64 = 200_000;
/// One-way latency of every hop.
const LATENCY_MS: u64 = 1;
/// Runs per side and size; the best is kept (the machine may be loaded).
const RUNS: usize = 3;
/// The UDP port every turmoil host listens on.
const PORT: u16 = 9000;

// ---------------------------------------------------------------- clustersim

/// The circulating message: its hop count, the same 8 bytes turmoil carries.
#[derive(Debug, Clone, Hash, Serialize)]
struct Hop(u64);

impl Message for Hop {}

/// A ring member written against our public `Process` API.
struct Forwarder {
    received: u64,
}

fn next(ctx: &Ctx<'_, Hop>) -> NodeId {
    (ctx.id() + 1) % ctx.node_count()
}

impl Process for Forwarder {
    type Msg = Hop;

    fn on_start(&mut self, ctx: &mut Ctx<'_, Hop>) {
        let to = next(ctx);
        ctx.send(to, Hop(0));
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Hop>, _from: NodeId, msg: Hop) {
        self.received += 1;
        let to = next(ctx);
        ctx.send(to, Hop(msg.0 + 1));
    }

    fn on_timer(&mut self, _ctx: &mut Ctx<'_, Hop>, _tag: u64) {}
}

/// One clustersim run: returns (wall seconds, virtual ms at the end).
fn clustersim_run(n: u32) -> (f64, u64) {
    let link = LinkConfig {
        latency: Latency::Constant {
            ns: LATENCY_MS * MILLIS,
        },
        ..Default::default()
    };
    let started = Instant::now();
    let mut sim = Sim::new(1, link);
    for _ in 0..n {
        sim.add_node(|| Forwarder { received: 0 });
    }
    // Every node's start is an event too: N starts, then M deliveries.
    let target = n as u64 + DELIVERIES;
    while sim.events_handled() < target {
        sim.step();
    }
    let wall = started.elapsed().as_secs_f64();
    let delivered: u64 = (0..n)
        .map(|i| {
            sim.process_as::<Forwarder>(i)
                .expect("a forwarder")
                .received
        })
        .sum();
    assert_eq!(delivered, DELIVERIES, "clustersim delivered {delivered}");
    (wall, sim.now() / MILLIS)
}

// ------------------------------------------------------------------- turmoil

fn host_name(i: u32) -> String {
    format!("h{i}")
}

/// One turmoil run: returns (wall seconds, virtual ms at the end).
fn turmoil_run(n: u32) -> (f64, u64) {
    let latency = Duration::from_millis(LATENCY_MS);
    // Enough virtual time for the M deliveries and then some; the loop below
    // stops at M, not at this bound.
    let virtual_ms = 2 * DELIVERIES / n as u64 + 100;
    let started = Instant::now();
    let mut sim = turmoil::Builder::new()
        .simulation_duration(Duration::from_millis(virtual_ms))
        // One tick per latency: a datagram is delivered at the first tick at
        // or after its arrival time, so each hop takes exactly 1 ms here too.
        .tick_duration(latency)
        .min_message_latency(latency)
        .max_message_latency(latency)
        .fail_rate(0.0)
        .epoch(UNIX_EPOCH)
        .rng_seed(1)
        .build();
    // Hosts run on this thread (a current-thread runtime each), so a plain
    // shared cell counts deliveries without synchronisation.
    let delivered = Rc::new(Cell::new(0u64));
    for i in 0..n {
        let delivered = delivered.clone();
        sim.host(host_name(i), move || forward(i, n, delivered.clone()));
    }
    while delivered.get() < DELIVERIES {
        sim.step().expect("turmoil step");
    }
    let wall = started.elapsed().as_secs_f64();
    // A step delivers every datagram due at its tick: K at a time, and M is a
    // multiple of K, so the count lands on M exactly.
    assert_eq!(delivered.get(), DELIVERIES, "turmoil delivered");
    (wall, sim.elapsed().as_millis() as u64)
}

/// A turmoil ring member: a UDP receive-and-forward loop on turmoil's
/// simulated network, run as a real async task.
async fn forward(i: u32, n: u32, delivered: Rc<Cell<u64>>) -> turmoil::Result {
    let sock = turmoil::net::UdpSocket::bind((IpAddr::V4(Ipv4Addr::UNSPECIFIED), PORT)).await?;
    // Resolved once: the name lookup is not part of a hop.
    let to = SocketAddr::new(turmoil::lookup(host_name((i + 1) % n)), PORT);
    sock.send_to(&0u64.to_le_bytes(), to).await?;
    let mut buf = [0u8; 8];
    loop {
        let (len, _) = sock.recv_from(&mut buf).await?;
        assert_eq!(len, 8);
        delivered.set(delivered.get() + 1);
        let hops = u64::from_le_bytes(buf) + 1;
        sock.send_to(&hops.to_le_bytes(), to).await?;
    }
}

// --------------------------------------------------------------------- table

/// The best of `RUNS` runs: (deliveries per wall second, virtual ms).
fn best(run: impl Fn() -> (f64, u64)) -> (f64, u64) {
    let mut best = (0.0, 0);
    for _ in 0..RUNS {
        let (wall, virtual_ms) = run();
        let rate = DELIVERIES as f64 / wall;
        if rate > best.0 {
            best = (rate, virtual_ms);
        }
    }
    best
}

fn main() {
    println!(
        "ring of N hosts, K = N messages, {LATENCY_MS} ms per hop, no loss, \
         {DELIVERIES} deliveries per run, best of {RUNS}"
    );
    println!();
    println!("| N | clustersim msgs/s | turmoil msgs/s | ratio | virtual time (ours / turmoil) |");
    println!("|---:|---:|---:|---:|---:|");
    for n in SIZES {
        let (ours, ours_ms) = best(|| clustersim_run(n));
        let (theirs, theirs_ms) = best(|| turmoil_run(n));
        println!(
            "| {n} | {} | {} | {:.1}× | {ours_ms} ms / {theirs_ms} ms |",
            human(ours),
            human(theirs),
            ours / theirs
        );
    }
}

/// 1234567.0 -> "1.23 M", 45678.0 -> "45.7 k".
fn human(rate: f64) -> String {
    if rate >= 1e6 {
        format!("{:.2} M", rate / 1e6)
    } else if rate >= 1e3 {
        format!("{:.1} k", rate / 1e3)
    } else {
        format!("{rate:.0}")
    }
}
