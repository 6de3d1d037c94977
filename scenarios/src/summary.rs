//! `summary.json`: everything a run found, and everything needed to replay it.

use std::collections::BTreeMap;

use fault_injection::{AppliedFault, CorruptionSummary, FaultMix};
use serde::{Deserialize, Serialize};
use sim_core::{Finding, History, LinkStats, Nanos, OpType, Topology};

use checkers::ladder::Ladder;

use crate::driver::Verdict;
use crate::scenario::Scenario;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Version of the tool that made the run.
    pub clustersim: String,
    /// The scenario as run (with overrides applied): replay needs nothing else.
    pub scenario: Scenario,
    pub seed: u64,
    pub cluster: Topology,
    /// Virtual time reached, in nanoseconds.
    pub virtual_time_ns: Nanos,
    pub events: EventCounts,
    /// Message counts over all links.
    pub messages: LinkStats,
    /// Message counts of every link that carried anything.
    pub links: Vec<LinkSummary>,
    pub ops: OpCounts,
    /// Latency of completed (`ok`) operations, in virtual milliseconds.
    pub latency_ms: Percentiles,
    /// `ok` operations per virtual second.
    pub throughput: f64,
    pub counters: BTreeMap<String, i64>,
    /// Protocol measurements (`Driver::stats`), e.g. election delays.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub stats: BTreeMap<String, f64>,
    /// Every fault as applied, with its interval and a label (for reports).
    #[serde(default)]
    pub faults_applied: Vec<AppliedFault>,
    /// The fault kinds and intensities a generator drew for this seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault_mix: Option<FaultMix>,
    /// Corrupted messages: injected, dropped, delivered, detected, undetected.
    #[serde(default)]
    pub corruption: CorruptionSummary,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding: Option<Finding>,
    pub verdicts: Vec<Verdict>,
    /// Which consistency models the history satisfies, strongest first,
    /// with each failing model's first counterexample (describes the run;
    /// `passed` does not depend on it).
    #[serde(default)]
    pub consistency: Ladder,
    pub passed: bool,
    /// Hash of the whole event stream, in hex: equal fingerprints, equal runs.
    pub fingerprint: String,
}

/// One directed link's message counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkSummary {
    pub from: u32,
    pub to: u32,
    #[serde(flatten)]
    pub stats: LinkStats,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventCounts {
    /// Starts, deliveries and timers handled by processes.
    pub handled: u64,
    /// Every trace event (sends, drops, faults and operations included).
    pub recorded: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpCounts {
    pub invoked: u64,
    pub ok: u64,
    pub fail: u64,
    /// Indeterminate, including operations still open at the end.
    pub info: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

impl OpCounts {
    pub fn of(history: &History) -> Self {
        let mut c = OpCounts::default();
        for e in &history.entries {
            match e.op_type {
                OpType::Invoke => c.invoked += 1,
                OpType::Ok => c.ok += 1,
                OpType::Fail => c.fail += 1,
                OpType::Info => c.info += 1,
            }
        }
        // Operations never completed are indeterminate too.
        c.info += c.invoked - c.ok - c.fail - c.info;
        c
    }
}

impl Percentiles {
    /// Exact percentiles (nearest rank) of latencies in nanoseconds, in ms.
    pub fn of(mut latencies: Vec<Nanos>) -> Self {
        if latencies.is_empty() {
            return Self::default();
        }
        latencies.sort_unstable();
        let ms = |ns: Nanos| ns as f64 / 1e6;
        let rank = |p: f64| {
            let i = ((p * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len());
            ms(latencies[i - 1])
        };
        let sum: u128 = latencies.iter().map(|&l| l as u128).sum();
        Self {
            p50: rank(0.50),
            p90: rank(0.90),
            p99: rank(0.99),
            max: ms(*latencies.last().expect("non-empty")),
            mean: sum as f64 / latencies.len() as f64 / 1e6,
        }
    }

    /// Latencies of the `ok` operations of a history.
    pub fn of_history(history: &History) -> Self {
        let latencies = history
            .operations()
            .map(|ops| {
                ops.iter()
                    .filter(|o| o.outcome() == OpType::Ok)
                    .filter_map(|o| o.latency())
                    .collect()
            })
            .unwrap_or_default();
        Self::of(latencies)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let p = Percentiles::of((1..=100).map(|i| i * 1_000_000).collect());
        assert_eq!((p.p50, p.p90, p.p99, p.max), (50.0, 90.0, 99.0, 100.0));
        assert_eq!(p.mean, 50.5);
    }
}
