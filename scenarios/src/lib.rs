//! Scenario files and the built-in catalogue, the runner, and the
//! `clustersim` command line.

pub mod catalogue;
pub mod cli;
pub mod driver;
pub mod drivers;
pub mod error;
pub mod out_dir;
pub mod runner;
pub mod scenario;
pub mod shrink;
pub mod summary;
pub mod sweep;
