//! Kernel throughput: the flood of `sim_core::flood` next to a bare
//! `BinaryHeap` over the same number of events with the same pending-set size.
//!
//! `cargo bench -p sim-core` prints both in events per CPU second of the
//! measuring thread, each the best of three runs; `clustersim bench` measures the same pair for the README's
//! table. A plain `main` (no benchmark framework): the figure is one ratio,
//! and a framework's compile time would be paid by every `cargo test`.

use sim_core::flood::kernel_vs_heap;

/// Events handled per measured run.
const EVENTS: u64 = 2_000_000;

fn main() {
    // `cargo test --benches` runs this with `--bench` absent: keep it short.
    let events = if std::env::args().any(|a| a == "--bench") {
        EVENTS
    } else {
        10_000
    };
    let (kernel, heap) = kernel_vs_heap(events);
    println!(
        "kernel flood: {:.2} M events per CPU second; bare heap: {:.2} M; kernel at {:.0} % of the heap",
        kernel / 1e6,
        heap / 1e6,
        100.0 * kernel / heap
    );
}
