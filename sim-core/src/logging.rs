//! `tracing` output stamped with virtual time and node, never wall time.
//!
//! The simulator sets a thread-local (time, node) before each process callback;
//! the timer below prints it. One simulation runs per thread at a time, so this
//! works unchanged in parallel sweeps.

use std::cell::Cell;
use std::fmt;

use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;

use crate::time::Nanos;

const HARNESS: u32 = u32::MAX;

thread_local! {
    static CURRENT: Cell<(Nanos, u32)> = const { Cell::new((0, HARNESS)) };
}

pub(crate) fn set_current(t: Nanos, node: u32) {
    CURRENT.with(|c| c.set((t, node)));
}

pub(crate) fn clear_current() {
    CURRENT.with(|c| c.set((c.get().0, HARNESS)));
}

/// The (true time, node) of the callback running on this thread, if any.
pub fn current() -> (Nanos, Option<u32>) {
    let (t, node) = CURRENT.with(Cell::get);
    (t, (node != HARNESS).then_some(node))
}

/// Prints `t=SECONDS.NANOS n=NODE` (or `n=-` outside a node) in place of a timestamp.
#[derive(Debug, Clone, Copy, Default)]
pub struct VirtualTime;

impl FormatTime for VirtualTime {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        let (t, node) = current();
        let secs = t / 1_000_000_000;
        let nanos = t % 1_000_000_000;
        match node {
            Some(n) => write!(w, "t={secs}.{nanos:09} n={n}"),
            None => write!(w, "t={secs}.{nanos:09} n=-"),
        }
    }
}

/// Sends `tracing` events at or above `level` to stderr with virtual timestamps.
/// Calling it again is harmless.
pub fn install(level: tracing::Level) {
    let _ = tracing_subscriber::fmt()
        .with_timer(VirtualTime)
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
