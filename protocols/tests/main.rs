//! The integration tests of protocols, built as one test binary: one link against
//! the whole dependency graph instead of one per file. Every `tests/*.rs`
//! file is a module here (`autotests = false` in Cargo.toml, so a file left
//! out would not run: `scenarios/tests/test_layout.rs` fails if one is).
//! Helpers shared between files are modules too, used as `use crate::common;`.

mod raft_support;

mod raft;
mod raft_checks;
