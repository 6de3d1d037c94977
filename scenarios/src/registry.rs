//! One driver per protocol. To add a protocol: a module here, and one arm in
//! [`run_protocol`] and in [`PROTOCOLS`].

mod crdt;
mod pbft;
mod quorum_register;
mod raft;
mod redlock;

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

/// Runs `scenario` with the driver of its protocol.
pub fn run_protocol(
    scenario: &Scenario,
    seed: u64,
    options: &RunOptions,
) -> Result<RunOutcome, InputError> {
    match scenario.protocol.as_str() {
        "quorum-register" => run_with(
            quorum_register::QuorumRegister::new(scenario)?,
            scenario,
            seed,
            options,
        ),
        "crdt" => run_with(crdt::Crdt::new(scenario)?, scenario, seed, options),
        "raft" => run_with(raft::Raft::new(scenario)?, scenario, seed, options),
        "redlock" => run_with(redlock::Redlock::new(scenario)?, scenario, seed, options),
        "pbft" => run_with(pbft::Pbft::new(scenario)?, scenario, seed, options),
        // Scenario::validate accepts only names in PROTOCOLS.
        other => Err(InputError::new(
            &scenario.source,
            format!("protocol `{other}` has no driver"),
        )
        .with_field("protocol")),
    }
}
