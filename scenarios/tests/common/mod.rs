//! Helpers shared by the command-line tests: run `clustersim`, read what it wrote.
// Each test binary uses its own subset of these.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

/// Runs the `clustersim` binary built for this test run.
pub fn clustersim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clustersim"))
        .args(args)
        .output()
        .expect("clustersim runs")
}

/// The exit code (a test fails if the process was killed instead).
pub fn code(o: &Output) -> i32 {
    o.status.code().expect("exited, not killed")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The `summary.json` of a run directory.
pub fn summary(dir: &Path) -> Value {
    let path = dir.join("summary.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}
