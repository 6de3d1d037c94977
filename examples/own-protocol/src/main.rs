//! `own-clustersim`: clustersim's whole command line (run, replay, sweep,
//! shrink, report, check, list) with this crate's protocol next to the
//! built-in ones.
//!
//! ```text
//! cargo run --release -- run pb-faults --seed 3
//! cargo run --release -- sweep pb-faults --seeds 0..200 --set 'bugs=["stale-reads"]'
//! ```

use scenarios::registry::Registry;

fn main() -> std::process::ExitCode {
    let mut registry = Registry::builtin();
    own_protocol::register(&mut registry);
    scenarios::cli::main_with(registry)
}
