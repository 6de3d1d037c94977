//! One driver per protocol. To add a protocol: a module here, and one arm in
//! [`run_protocol`] and in [`PROTOCOLS`].

mod crdt;
mod pbft;
mod quorum_register;
mod raft;
mod redlock;

use crate::driver::Driver;
use crate::error::InputError;
use crate::runner::{run_with, RunOptions, RunOutcome};
use crate::scenario::Scenario;

/// Protocol names a scenario's `protocol` may take, with a one-line description.
pub const PROTOCOLS: &[(&str, &str)] = &[
    (
        "quorum-register",
        "multi-writer atomic register on majority quorums (ABD), one per key",
    ),
    (
        "raft",
        "Raft: elections with pre-vote and check-quorum, snapshots, a key-value store with sessions",
    ),
    (
        "crdt",
        "state-based grow-only set and counter converging by gossip",
    ),
    (
        "redlock",
        "Redlock: a lease lock over independent lock servers, judged as a mutex",
    ),
    (
        "pbft",
        "PBFT: Byzantine-fault-tolerant replication over 3f+1 replicas, with view changes",
    ),
];

/// Something to do with the driver of a scenario's protocol, whichever it is.
trait WithDriver {
    type Output;
    fn with<D: Driver>(self, driver: D) -> Result<Self::Output, InputError>;
}

/// Builds the driver `scenario.protocol` names and hands it to `task`.
fn dispatch<T: WithDriver>(scenario: &Scenario, task: T) -> Result<T::Output, InputError> {
    match scenario.protocol.as_str() {
        "quorum-register" => task.with(quorum_register::QuorumRegister::new(scenario)?),
        "crdt" => task.with(crdt::Crdt::new(scenario)?),
        "raft" => task.with(raft::Raft::new(scenario)?),
        "redlock" => task.with(redlock::Redlock::new(scenario)?),
        "pbft" => task.with(pbft::Pbft::new(scenario)?),
        // Scenario::validate accepts only names in PROTOCOLS.
        other => Err(InputError::new(
            &scenario.source,
            format!("protocol `{other}` has no driver"),
        )
        .with_field("protocol")),
    }
}

/// Runs `scenario` with the driver of its protocol.
pub fn run_protocol(
    scenario: &Scenario,
    seed: u64,
    options: &RunOptions,
) -> Result<RunOutcome, InputError> {
    struct Run<'a>(&'a Scenario, u64, &'a RunOptions);
    impl WithDriver for Run<'_> {
        type Output = RunOutcome;
        fn with<D: Driver>(self, driver: D) -> Result<RunOutcome, InputError> {
            run_with(driver, self.0, self.1, self.2)
        }
    }
    dispatch(scenario, Run(scenario, seed, options))
}

/// What the protocol's driver has against `scenario`, found before any run:
/// its bugs and options, its workload, faults it cannot honour (a leader
/// fault on a leaderless protocol).
pub fn check(scenario: &Scenario) -> Result<(), InputError> {
    struct Check<'a>(&'a Scenario);
    impl WithDriver for Check<'_> {
        type Output = ();
        fn with<D: Driver>(self, driver: D) -> Result<(), InputError> {
            let scenario = self.0;
            scenario
                .faults
                .for_protocol(driver.has_leader())
                .map(drop)
                .map_err(|e| scenario.error(&e.path, e.message))
        }
    }
    dispatch(scenario, Check(scenario))
}

/// Defaults that depend on the protocol, for the fields a scenario leaves
/// out (`given` says which dotted fields it set): every default must fit
/// every protocol, so that a one-line `protocol = "..."` file runs.
pub fn fill_defaults(scenario: &mut Scenario, given: impl Fn(&str) -> bool) {
    match scenario.protocol.as_str() {
        // The register has no compare-and-set; the shared default mixes some in.
        "quorum-register" if !given("workload.cas_fraction") => {
            scenario.workload.cas_fraction = 0.0;
        }
        // 3f+1 replicas with f = 1; the shared default is 3.
        "pbft" if !given("replicas") => scenario.replicas = 4,
        _ => {}
    }
}
