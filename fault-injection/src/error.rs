//! The error of a bad fault schedule or generator: it names where.

use std::fmt;

/// A fault configuration that cannot be used. `path` names the offending
/// field the way a scenario spells it, e.g. `faults.schedule[3].node`, so a
/// user finds it without reading code; `Display` is `path: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultError {
    pub path: String,
    pub message: String,
}

impl FaultError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }

    /// The error of field `field` of action `index` of the schedule.
    pub fn action(index: usize, field: &str, message: impl Into<String>) -> Self {
        Self::new(format!("faults.schedule[{index}].{field}"), message)
    }
}

impl fmt::Display for FaultError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for FaultError {}
