//! Scenario files and the built-in catalogue, the runner, the registry of
//! protocols, and the `clustersim` command line.
//!
//! An outside crate with its own protocol gets the whole command line for
//! it, next to the built-in protocols, with [`cli::main_with`]:
//!
//! ```no_run
//! use scenarios::registry::Registry;
//!
//! fn main() -> std::process::ExitCode {
//!     let mut registry = Registry::builtin();
//!     // my_protocol::register(&mut registry);
//!     registry.add_scenario("my-healthy", "protocol = \"raft\"\nduration = \"1s\"\n");
//!     scenarios::cli::main_with(registry)
//! }
//! ```

pub mod bench;
pub mod catalogue;
pub mod cli;
pub mod consistency;
pub mod gossip_scale;
pub mod lock_compare;
pub mod merge;
pub mod out_dir;
pub mod pbft_figures;
pub mod registry;
pub mod runner;
pub mod shard_env;
pub mod shrink;
pub mod summary;
pub mod sweep;
pub mod trace_diff;

// What a protocol names lives in `harness`, below the protocols; these keep
// the paths under which the runner's users have always found it.
pub use harness::{driver, error, scenario};
