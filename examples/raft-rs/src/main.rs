//! `raftrs-clustersim`: clustersim's whole command line (run, replay, sweep,
//! shrink, report, check, list, ...) with raft-rs registered next to the
//! built-in protocols.
//!
//! ```text
//! cargo run --release -- sweep raftrs-partitions --seeds 0..1000
//! cargo run --release -- run raftrs-partitions --seed 3 --set 'bugs=["ack-before-commit"]'
//! ```

use scenarios::registry::Registry;

fn main() -> std::process::ExitCode {
    let mut registry = Registry::builtin();
    raft_rs_under_clustersim::register(&mut registry);
    scenarios::cli::main_with(registry)
}
