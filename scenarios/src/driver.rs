//! How a protocol plugs into the runner.
//!
//! The runner is generic over the message type, so each protocol has a small
//! driver: it builds the protocol's replicas and clients into a simulation and
//! knows how to judge them. Adding a protocol means a file in `drivers/`, a
//! line in `drivers/mod.rs`, and catalogue entries; the runner does the rest
//! (faults, trace, history, checkers, summary).

use sim_core::{Finding, Message, NodeId, Sim, Topology};

use crate::scenario::Scenario;

/// A check's verdict, as it appears in `summary.json`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Verdict {
    /// The check's name: `linearizability`, an invariant's name, `liveness`, ...
    pub check: String,
    /// `pass`, `fail` or `unknown`.
    pub result: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
    /// True time at which the violation shows, when the check knows it (for
    /// linearizability: when the operation that cannot be placed completed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<sim_core::Nanos>,
}

impl Verdict {
    pub fn pass(check: &str) -> Self {
        Self {
            check: check.into(),
            result: "pass".into(),
            detail: String::new(),
            time: None,
        }
    }

    pub fn fail(check: &str, detail: impl Into<String>) -> Self {
        Self {
            check: check.into(),
            result: "fail".into(),
            detail: detail.into(),
            time: None,
        }
    }

    pub fn unknown(check: &str, detail: impl Into<String>) -> Self {
        Self {
            check: check.into(),
            result: "unknown".into(),
            detail: detail.into(),
            time: None,
        }
    }

    /// The same verdict, placed at true time `time`.
    pub fn at(mut self, time: Option<sim_core::Nanos>) -> Self {
        self.time = time;
        self
    }

    pub fn failed(&self) -> bool {
        self.result == "fail"
    }
}

/// The verdict of a liveness check that judged `judged` intervals and left
/// `unjudged` out because the network was too slow
/// ([`protocols::network_timing`]): `pass` (saying what was left out), or
/// `unknown` when nothing could be judged. A violation never gets here: it
/// stopped the run as a finding.
pub fn liveness_verdict(
    check: &str,
    judged: u64,
    unjudged: &protocols::network_timing::Unjudged,
) -> Verdict {
    let detail = unjudged.describe();
    if judged == 0 && unjudged.intervals > 0 {
        Verdict::unknown(check, detail)
    } else {
        Verdict {
            detail,
            ..Verdict::pass(check)
        }
    }
}

/// The liveness check of a protocol without one of its own
/// ([`protocols::progress`]): over every node of `topology`, with the
/// scenario's `checks.liveness_within`, the network's round trip held against
/// `timeout` (the protocol's shortest timeout awaiting an answer).
pub fn progress_checker(
    scenario: &Scenario,
    topology: &Topology,
    timeout: sim_core::Nanos,
    fail_counts: bool,
) -> protocols::progress::ProgressChecker {
    let nodes = topology
        .replicas
        .iter()
        .chain(&topology.clients)
        .copied()
        .collect();
    protocols::progress::ProgressChecker::new(
        nodes,
        scenario.checks.liveness_within,
        timeout,
        fail_counts,
    )
}

/// The verdict of a progress check at the end of a run that it did not stop.
pub fn progress_verdict(progress: Option<&protocols::progress::ProgressChecker>) -> Vec<Verdict> {
    progress
        .map(|p| liveness_verdict(protocols::progress::LIVENESS, p.judged(), p.unjudged()))
        .into_iter()
        .collect()
}

pub trait Driver {
    type Msg: Message;

    /// Adds the replicas and clients to `sim` (replicas first, so that they are
    /// nodes `0..n`) and says which is which.
    fn build(&mut self, scenario: &Scenario, sim: &mut Sim<Self::Msg>) -> Topology;

    /// Safety invariants, checked after every event: the first violation
    /// stops the run at the virtual time it happened.
    fn check_step(&mut self, _sim: &Sim<Self::Msg>) -> Option<Finding> {
        None
    }

    /// Checks at the end of the run (liveness, convergence), with the names of
    /// the invariants `check_step` watched, which pass if the run was not stopped.
    fn check_end(&mut self, _sim: &Sim<Self::Msg>) -> Vec<Verdict> {
        Vec::new()
    }

    /// The names of the invariants `check_step` watches, reported as passed
    /// when the run ends without a finding.
    fn invariants(&self) -> Vec<&'static str> {
        Vec::new()
    }

    /// Protocol measurements for `summary.json` (`stats`), by name, e.g. how
    /// long elections took.
    fn stats(&self, _sim: &Sim<Self::Msg>) -> Vec<(String, f64)> {
        Vec::new()
    }

    /// The node that leads now, for faults that target the leader.
    fn leader(&self, _sim: &Sim<Self::Msg>) -> Option<NodeId> {
        None
    }

    /// The sequential model the client history is checked against
    /// (`cas-register` for read/write/cas on keys), or none.
    fn model(&self) -> Option<&'static str> {
        Some("cas-register")
    }
}
