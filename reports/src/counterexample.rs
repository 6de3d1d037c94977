//! The operations of a linearizability counterexample, to highlight them in
//! the space-time diagram.
//!
//! The runner writes `counterexample.json` (the checker's counterexample as
//! JSON: the longest linearizable prefix, the operation that cannot be
//! placed, the candidates tried before it) next to `counterexample.svg`.
//! Only the fields named here are read, as plain JSON, so that this crate
//! needs no `checkers`.

use std::path::Path;

use serde::Deserialize;
use sim_core::Nanos;

use crate::error::ReportError;

/// What part an operation plays in the counterexample; colours as in
/// `counterexample.svg`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// In the longest linearizable prefix.
    Prefix,
    /// Could have gone next after the prefix.
    Candidate,
    /// Completed, yet cannot be placed: the violation.
    Unplaceable,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Prefix => "linearizable prefix",
            Role::Candidate => "could go next",
            Role::Unplaceable => "cannot be placed",
        }
    }

    /// (fill, stroke) as SVG writes them.
    pub fn colours(self) -> (&'static str, &'static str) {
        match self {
            Role::Prefix => ("#b8e0b8", "#2e7d32"),
            Role::Candidate => ("#ffe0a0", "#c77700"),
            Role::Unplaceable => ("#f4a6a6", "#c00000"),
        }
    }
}

/// One operation of the counterexample.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct CxOp {
    /// Its number among the history's operations.
    pub op: usize,
    /// The history process (`incarnation × nodes + node`).
    pub process: u64,
    pub description: String,
    pub invoke_time: Nanos,
    /// `None`: indeterminate.
    pub complete_time: Option<Nanos>,
}

#[derive(Deserialize)]
struct Step {
    op: CxOp,
}

#[derive(Deserialize)]
struct File {
    #[serde(default)]
    partition: Option<String>,
    prefix: Vec<Step>,
    unplaceable: CxOp,
    #[serde(default)]
    candidates: Vec<CxOp>,
}

/// The counterexample's operations, each with its role.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Counterexample {
    /// The failing key, when the model is split by key.
    pub partition: Option<String>,
    pub ops: Vec<(Role, CxOp)>,
}

impl Counterexample {
    /// Reads `dir/counterexample.json`; `None` when the run has none.
    pub fn load(dir: &Path) -> Result<Option<Self>, ReportError> {
        let path = dir.join("counterexample.json");
        let text = match std::fs::read_to_string(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ReportError::unreadable(&path, &e)),
            Ok(text) => text,
        };
        let file: File = serde_json::from_str(&text).map_err(|e| {
            ReportError::input(path.display().to_string(), e.to_string()).at_line(e.line())
        })?;
        let ops = file
            .prefix
            .into_iter()
            .map(|s| (Role::Prefix, s.op))
            .chain(file.candidates.into_iter().map(|o| (Role::Candidate, o)))
            .chain([(Role::Unplaceable, file.unplaceable)])
            .collect();
        Ok(Some(Self {
            partition: file.partition,
            ops,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_role_and_names_a_bad_file() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(Counterexample::load(tmp.path()).unwrap(), None);
        let op = |n: usize| {
            serde_json::json!({"op": n, "process": 3, "description": "read -> 1",
                "invoke_time": 10 * n, "complete_time": 10 * n + 5, "invoke_entry": 0})
        };
        let json = serde_json::json!({"partition": "k", "initial_state": "nil",
            "prefix": [{"op": op(1), "state_after": "1"}], "state": "1",
            "unplaceable": op(3), "candidates": [op(2)], "window": []});
        std::fs::write(tmp.path().join("counterexample.json"), json.to_string()).unwrap();
        let c = Counterexample::load(tmp.path()).unwrap().unwrap();
        let roles: Vec<(Role, usize)> = c.ops.iter().map(|(r, o)| (*r, o.op)).collect();
        assert_eq!(
            roles,
            [
                (Role::Prefix, 1),
                (Role::Candidate, 2),
                (Role::Unplaceable, 3)
            ]
        );
        assert_eq!(c.partition.as_deref(), Some("k"));

        std::fs::write(tmp.path().join("counterexample.json"), "{\n\"prefix\": 3}").unwrap();
        let e = Counterexample::load(tmp.path()).unwrap_err();
        assert!(
            e.path.ends_with("counterexample.json") && e.line == Some(2),
            "{e}"
        );
    }
}
