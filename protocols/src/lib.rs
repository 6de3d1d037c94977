//! Protocols that run as simulated nodes. Each module holds a replica, its
//! client, its invariants and its known-bug variants.

pub mod raft;
pub mod workload;
pub mod quorum_register;
