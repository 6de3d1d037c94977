//! Protocols that run as simulated nodes. Each folder holds one protocol:
//! its replica, its client, its invariants, its known-bug variants and its
//! driver (`driver.rs`, the `harness::Driver` the runner builds it with),
//! and exports `register`, which makes it known to a `harness::Registrar`.

pub mod bft_size;
pub mod bug_names;
pub mod byz_agreement;
pub mod byz_register;
pub mod causal_store;
pub mod coord;
pub mod crdt;
pub mod crdt_types;
pub mod eventual_store;
pub mod lease_lock;
pub mod lock_expiry;
pub mod lock_run;
pub mod network_timing;
pub mod pbft;
pub mod progress;
pub mod quorum_client;
pub mod quorum_register;
pub mod raft;
pub mod reads_and_writes;
pub mod redlock;
pub mod replica_agreement;
pub mod request_ids;
pub mod sequential_store;
pub mod signature;
pub mod store_client;

/// The shared client workload (it lives in `harness`, below the protocols,
/// because a scenario's `[workload]` table is made of it).
pub use harness::workload;

/// Registers every built-in protocol, in the order `clustersim` lists them.
pub fn register(registrar: &mut impl harness::Registrar) {
    quorum_register::register(registrar);
    raft::register(registrar);
    crdt::register(registrar);
    crdt_types::register(registrar);
    redlock::register(registrar);
    lease_lock::register(registrar);
    coord::register(registrar);
    pbft::register(registrar);
    byz_register::register(registrar);
    byz_agreement::register(registrar);
    eventual_store::register(registrar);
    causal_store::register(registrar);
    sequential_store::register(registrar);
}
