//! Fault injection for clustersim: which faults hit a run, as plain data,
//! drawn from the seed, applied through the kernel's hooks, written to
//! `faults.json` and replayable from it.
//!
//! - [`schedule`]: the data — [`FaultConfig`] (a scenario's `[faults]`),
//!   [`FaultSchedule`] (a seed's concrete schedule, `faults.json`), [`FaultAction`].
//! - [`generator`]: random and swarm nemeses drawing schedules from the
//!   seed's `faults` stream.
//! - [`drive`]: runs a simulation under a schedule and reports what was applied.
//! - [`byzantine`]: Byzantine behaviours acting on a node's outgoing traffic.
//! - [`corruption`]: detected against undetected corruptions.
//!
//! Times in the serde form are milliseconds (`at_ms`, `duration_ms`), as
//! numbers that may have fractions; see [`ms`].

pub mod byzantine;
pub mod corruption;
pub mod drive;
pub mod error;
pub mod generator;
mod label;
pub mod ms;
mod resolve;
pub mod schedule;
mod validate;

pub use byzantine::Behavior;
pub use corruption::{corruption_summary, CorruptionSummary};
pub use drive::{drive, AppliedFault, NoObserver, Observer};
pub use error::FaultError;
pub use generator::{FaultMix, GenKind, GenMode, GeneratorConfig, Intensity};
pub use schedule::{Fault, FaultAction, FaultConfig, FaultSchedule};
