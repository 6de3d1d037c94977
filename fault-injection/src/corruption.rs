//! Corruption as a run saw it: injected, delivered altered, caught by the
//! protocol, and missed.
//!
//! The kernel counts what the network did (`LinkStats::corrupted`, and the
//! counters `corrupt_delivered` and `corrupt_dropped`); protocols count what
//! they caught as `corrupt_detected` (see `sim_core::integrity`). A delivered
//! corruption nobody detected reached a protocol's logic as if it were true.

use serde::{Deserialize, Serialize};
use sim_core::integrity::{CORRUPT_DELIVERED, CORRUPT_DETECTED, CORRUPT_DROPPED};
use sim_core::{Message, Sim};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorruptionSummary {
    /// Messages the network chose to corrupt.
    pub injected: u64,
    /// Of those, dropped because the message type cannot be altered.
    pub dropped: u64,
    /// Altered messages delivered (a duplicate counts again).
    pub delivered: u64,
    /// Altered messages a protocol caught.
    pub detected: u64,
    /// Delivered and not caught: `delivered - detected`.
    pub undetected: u64,
}

/// The corruption counts of `sim` so far.
pub fn corruption_summary<M: Message>(sim: &Sim<M>) -> CorruptionSummary {
    let counter = |name: &str| sim.counters().get(name).copied().unwrap_or(0).max(0) as u64;
    let delivered = counter(CORRUPT_DELIVERED);
    let detected = counter(CORRUPT_DETECTED);
    CorruptionSummary {
        injected: sim.network().totals().corrupted,
        dropped: counter(CORRUPT_DROPPED),
        delivered,
        detected,
        undetected: delivered.saturating_sub(detected),
    }
}
