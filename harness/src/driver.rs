//! How a protocol plugs into the runner.
//!
//! The runner is generic over the message type, so each protocol has a small
//! driver: it builds the protocol's replicas and clients into a simulation and
//! knows how to judge them. Adding a protocol means a folder holding its
//! processes and its driver, a `register` function (see [`crate::Registrar`])
//! and scenario files; the runner does the rest (faults, trace, history,
//! checkers, summary).

use std::borrow::Cow;

use sim_core::history::History;
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
    /// The check passed.
    ///
    /// ```
    /// let v = harness::Verdict::fail("liveness", "no leader for 2 s").at(Some(3_000_000_000));
    /// assert!(v.failed() && !harness::Verdict::pass("liveness").failed());
    /// ```
    pub fn pass(check: &str) -> Self {
        Self {
            check: check.into(),
            result: "pass".into(),
            detail: String::new(),
            time: None,
        }
    }

    /// The check found a violation, described by `detail`.
    pub fn fail(check: &str, detail: impl Into<String>) -> Self {
        Self {
            check: check.into(),
            result: "fail".into(),
            detail: detail.into(),
            time: None,
        }
    }

    /// The check could not judge (a search budget ran out, the network was
    /// too slow for the protocol's timeouts): never a false failure.
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

    /// Whether this is a `fail`.
    pub fn failed(&self) -> bool {
        self.result == "fail"
    }
}

/// A protocol as the runner sees it: how to build it and how to judge it.
///
/// Only [`Driver::build`] is required. What the other methods return decides
/// which faults and checks apply:
///
/// | provide | and get |
/// |---|---|
/// | [`Driver::leader`] | faults that target the leader (`leader` as a node, leader isolation) |
/// | [`Driver::model`] | linearizability of the client history against that model (default `cas-register`; `None` turns it off) |
/// | [`Driver::check_step`] + [`Driver::invariants`] | safety invariants after every event, the run stopped at the first violation |
/// | [`Driver::check_end`] | end-of-run verdicts: liveness, convergence (see `checkers::convergence`) |
/// | [`Driver::stats`] | protocol measurements in `summary.json` |
///
/// Every protocol gets, without providing anything: crashes, restarts,
/// pauses, partitions, clock faults, network faults and Byzantine send
/// interception (a protocol offers forgeries and equivocations through
/// `sim_core::Message`), the `no-panic` check and the event budget.
///
/// ```
/// use harness::sim_core::{Finding, NodeId, Sim, Topology};
/// use harness::{Driver, Scenario, Verdict};
/// # #[derive(Clone, Debug, Hash, serde::Serialize)] struct Msg;
/// # impl harness::sim_core::Message for Msg {}
///
/// /// A driver that builds nothing and watches one invariant that always holds.
/// struct Empty;
///
/// impl Driver for Empty {
///     type Msg = Msg;
///     fn build(&mut self, _: &Scenario, _: &mut Sim<Msg>) -> Topology {
///         Topology { replicas: vec![], clients: vec![] }
///     }
///     fn invariants(&self) -> Vec<&'static str> {
///         vec!["nothing-happens"]
///     }
///     fn check_step(&mut self, sim: &Sim<Msg>) -> Option<Finding> {
///         // Return Some(Finding { kind: "nothing-happens".into(), .. }) to stop the run.
///         let _ = sim;
///         None
///     }
///     fn check_end(&mut self, _: &Sim<Msg>) -> Vec<Verdict> {
///         vec![Verdict::pass("liveness")]
///     }
///     fn model(&self) -> Option<&'static str> {
///         None // no client history to check
///     }
/// }
/// ```
pub trait Driver {
    /// The protocol's message type.
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

    /// Defaults this protocol wants for the scenario fields a file left out
    /// (`given` says whether a dotted field was set), where the shared
    /// default does not fit it: every default must fit every protocol, so
    /// that a one-line `protocol = "..."` file runs.
    fn fill_defaults(_scenario: &mut Scenario, _given: &dyn Fn(&str) -> bool)
    where
        Self: Sized,
    {
    }

    /// Whether the protocol has a leader at all. Without one, faults that
    /// target the leader are refused when the scenario is validated (they
    /// would do nothing), and generators do not draw them.
    fn has_leader(&self) -> bool {
        false
    }

    /// The sequential model the client history is checked against, one of
    /// `checkers::MODEL_NAMES` (`cas-register` for read/write/cas on keys,
    /// `lock`, `set`, `counter`, ...), or none.
    fn model(&self) -> Option<&'static str> {
        Some("cas-register")
    }

    /// The history [`Driver::model`] judges (and the run reports): the
    /// clients' history, plus what only the driver knows. Redlock adds the
    /// lease expiry of each holder that crashed, so that a dead client does
    /// not hold the lock forever.
    fn judged_history<'s>(&self, sim: &'s Sim<Self::Msg>) -> Cow<'s, History> {
        Cow::Borrowed(sim.history())
    }
}
