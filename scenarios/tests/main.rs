//! The integration tests of scenarios, built as one test binary: one link against
//! the whole dependency graph instead of one per file. Every `tests/*.rs`
//! file is a module here (`autotests = false` in Cargo.toml, so a file left
//! out would not run: `scenarios/tests/test_layout.rs` fails if one is).
//! Helpers shared between files are modules too, used as `use crate::common;`.

mod common;
mod seeds;

mod byz_agreement;
mod byz_register;
mod cli;
mod client_clocks;
mod client_restarts;
mod consistency;
mod coord;
mod crdt;
mod crdt_ops;
mod crdt_types;
mod deploy;
mod faults;
mod gossip_scale;
mod inputs;
mod lease_lock;
mod liveness;
mod lock_compare;
mod lock_faults;
mod logs;
mod merge;
mod pbft;
mod pbft_byzantine;
mod pbft_long_runs;
mod pbft_optimisations;
mod raft;
mod raft_liveness;
mod redlock;
mod register;
mod report;
mod shrink;
mod stores;
mod sweep;
mod test_layout;
