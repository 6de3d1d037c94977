//! Protocols that run as simulated nodes. Each module holds a replica, its
//! client, its invariants and its known-bug variants.

pub mod bug_names;
pub mod crdt;
pub mod network_timing;
pub mod pbft;
pub mod progress;
pub mod quorum_register;
pub mod raft;
pub mod redlock;
pub mod workload;
