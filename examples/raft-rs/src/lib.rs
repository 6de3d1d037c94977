//! TiKV's raft-rs (the `raft` crate) under clustersim, through the same
//! public API as any protocol of one's own.
//!
//! - [`replica::Replica`] drives a raft-rs `RawNode`: ticks from virtual
//!   timers, raft-rs messages on the simulated network, its log and hard
//!   state on the simulated disk ([`durable`]), committed entries applied to
//!   a small key-value store ([`kv`]) that answers the clients.
//! - [`client::Client`] runs the shared workload (read, write,
//!   compare-and-set) through the log, retrying under one request id.
//! - [`driver::RaftRs`] builds the cluster, names the leader for leader
//!   faults, has the history checked as a `cas-register`, and checks Raft's
//!   invariants from outside raft-rs after every event: election safety,
//!   leader completeness, state-machine safety.
//!
//! Known bugs of the wrapper (not of raft-rs), for showing that the checks
//! bite: `ack-before-commit` (a leader answers a write before it is
//! committed: linearizability) and `no-sync` (the disk is never synced: a
//! power loss takes back votes and acknowledged entries).

pub mod client;
pub mod driver;
pub mod durable;
pub mod kv;
pub mod msg;
pub mod replica;

use harness::Registrar;

/// The scenario files that come with this crate (`raftrs-clustersim list`).
pub const SCENARIOS: &[(&str, &str)] = &[
    (
        "raftrs-healthy",
        include_str!("../scenarios/raftrs-healthy.toml"),
    ),
    (
        "raftrs-partitions",
        include_str!("../scenarios/raftrs-partitions.toml"),
    ),
    (
        "raftrs-crashes",
        include_str!("../scenarios/raftrs-crashes.toml"),
    ),
    (
        "raftrs-unreliable",
        include_str!("../scenarios/raftrs-unreliable.toml"),
    ),
    (
        "raftrs-clock-pauses",
        include_str!("../scenarios/raftrs-clock-pauses.toml"),
    ),
];

/// Makes the protocol `raft-rs` and its scenarios known to `registrar`.
pub fn register(registrar: &mut impl Registrar) {
    registrar.protocol(
        "raft-rs",
        "TiKV's raft-rs RawNode with a key-value store, storage on the simulated disk",
        driver::RaftRs::new,
    );
    for (name, text) in SCENARIOS {
        registrar.scenario(name, text);
    }
}
