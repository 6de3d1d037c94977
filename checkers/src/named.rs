//! Choosing a model by name, as the command line and scenario files do.

use std::fmt;

use sim_core::history::{History, HistoryError};

use crate::linearizability::{check_history_for, CheckOptions, CheckReport, Consistency};
use crate::model::HistoryModel;
use crate::models::{Counter, Kv, Lock, Register, Set, StartingAt};
use crate::value::Scalar;

/// Every model name accepted by [`check_history_named`].
pub const MODEL_NAMES: &[&str] = &[
    "register",
    "cas-register",
    "kv",
    "lock",
    "lease",
    "set",
    "counter",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamedCheckError {
    UnknownModel(String),
    /// The history does not fit the model (entry index is 0-based).
    BadHistory(HistoryError),
}

impl fmt::Display for NamedCheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NamedCheckError::UnknownModel(m) => write!(
                f,
                "unknown model `{m}` (expected one of: {})",
                MODEL_NAMES.join(", ")
            ),
            NamedCheckError::BadHistory(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for NamedCheckError {}

/// True if `name` is a model [`check_history_named`] knows.
pub fn is_model_name(name: &str) -> bool {
    MODEL_NAMES.contains(&name)
}

/// Checks `history` for linearizability against the model called `model`.
///
/// A write of 1 that completed before a read began, and the read saw
/// nothing: no order of the two explains it.
///
/// ```
/// use checkers::{check_history_named, CheckOptions, Verdict};
/// use sim_core::history::{History, HistoryEntry, OpType};
/// use serde_json::json;
///
/// let entry = |process, op_type, f: &str, value, time| HistoryEntry {
///     process, op_type, f: f.into(), key: None, value, time,
/// };
/// let mut history = History::new();
/// history.push(entry(0, OpType::Invoke, "write", json!(1), 10));
/// history.push(entry(0, OpType::Ok, "write", json!(1), 20));
/// history.push(entry(1, OpType::Invoke, "read", json!(null), 30));
/// history.push(entry(1, OpType::Ok, "read", json!(null), 40));
///
/// let report = check_history_named("register", &history, &CheckOptions::default()).unwrap();
/// assert_eq!(report.verdict, Verdict::NotLinearizable);
///
/// // Had the read begun before the write completed, it could have come first.
/// history.entries[2].time = 15;
/// let report = check_history_named("register", &history, &CheckOptions::default()).unwrap();
/// assert_eq!(report.verdict, Verdict::Linearizable);
/// assert!(check_history_named("queue", &history, &CheckOptions::default()).is_err());
/// ```
pub fn check_history_named(
    model: &str,
    history: &History,
    options: &CheckOptions,
) -> Result<CheckReport, NamedCheckError> {
    check_history_named_from(model, None, history, options)
}

/// The same, with registers starting from `register_initial` instead of nil
/// (Knossos's `cas-register` starts at 0); other models ignore it.
pub fn check_history_named_from(
    model: &str,
    register_initial: Option<&Scalar>,
    history: &History,
    options: &CheckOptions,
) -> Result<CheckReport, NamedCheckError> {
    check_history_named_for(
        model,
        register_initial,
        history,
        options,
        Consistency::Linearizable,
    )
}

/// The same for either consistency model (`sequential::check_history_named`
/// is the short form of the sequential one).
pub fn check_history_named_for(
    model: &str,
    register_initial: Option<&Scalar>,
    history: &History,
    options: &CheckOptions,
    consistency: Consistency,
) -> Result<CheckReport, NamedCheckError> {
    let check = Check {
        history,
        options,
        consistency,
    };
    let result = match (model, register_initial) {
        ("register" | "cas-register", Some(initial)) => check.with(&StartingAt {
            model: Register,
            initial: initial.clone(),
        }),
        ("register" | "cas-register", None) => check.with(&Register),
        ("kv", _) => check.with(&Kv),
        ("lock", _) => check.with(&Lock::mutex()),
        ("lease", _) => check.with(&Lock::lease()),
        ("set", _) => check.with(&Set),
        ("counter", _) => check.with(&Counter),
        (other, _) => return Err(NamedCheckError::UnknownModel(other.to_string())),
    };
    // Named as asked: `cas-register` is the register model under another
    // name, and a report reading "model register" would seem to ignore it.
    result
        .map(|report| CheckReport {
            model: model.to_string(),
            ..report
        })
        .map_err(NamedCheckError::BadHistory)
}

/// One check waiting for its model.
struct Check<'h> {
    history: &'h History,
    options: &'h CheckOptions,
    consistency: Consistency,
}

impl Check<'_> {
    fn with<M: HistoryModel>(&self, model: &M) -> Result<CheckReport, HistoryError> {
        check_history_for(model, self.history, self.options, self.consistency)
    }
}
