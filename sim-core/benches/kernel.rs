//! Kernel throughput: the flood of `sim_core::flood` next to a bare
//! `BinaryHeap` over the same number of events with the same pending-set size.
//!
//! `cargo bench -p sim-core` prints both as elements (events) per second;
//! `clustersim bench` measures the same pair for the README's table.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use sim_core::flood::{bare_heap, flood_sim, run_bare_heap, run_flood};

/// Events handled per measured iteration.
const EVENTS: u64 = 200_000;

fn kernel(c: &mut Criterion) {
    let mut group = c.benchmark_group("kernel");
    group.throughput(Throughput::Elements(EVENTS));
    group.sample_size(20);
    group.bench_function("flood", |b| {
        b.iter_batched(
            flood_sim,
            |sim| black_box(run_flood(sim, EVENTS)),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("bare_heap", |b| {
        b.iter_batched(
            bare_heap,
            |h| black_box(run_bare_heap(h, EVENTS)),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, kernel);
criterion_main!(benches);
