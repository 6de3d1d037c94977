//! Checkers: the judges of every run.
//!
//! * [`model`]: the sequential-model trait; [`models`]: register (with CAS),
//!   key-value store (per key), lock/lease with fencing tokens, set, counter.
//! * [`linearizability`]: the WGL search ([`wgl`]) with P-compositionality,
//!   a configuration cache and a step budget; verdict + counterexample.
//! * [`convergence`]: do all live replicas agree, and agree with the
//!   acknowledged operations? (grow-only set, counter, or your own spec).
//! * [`import`]: Jepsen etcd logs, Jepsen-style EDN, our `history.jsonl`.
//! * [`cli`]: what `clustersim check` runs.
//!
//! # Entry points
//!
//! ```text
//! // `clustersim check FILE --model MODEL [--format FMT] [--json]`:
//! // prints the verdict (and counterexample) to stdout, errors to stderr.
//! // Returns 0 linearizable, 1 not linearizable, 2 bad input/usage, 3 unknown.
//! pub fn checkers::cli::check_command(file: &Path, model: &str, format: Option<&str>, json: bool) -> i32;
//!
//! // The runner, on a recorded history (model names as for the CLI:
//! // register | cas-register | kv | lock | lease | set | counter):
//! pub fn checkers::check_history_named(model: &str, history: &History, options: &CheckOptions)
//!     -> Result<CheckReport, NamedCheckError>;
//! // or, with a model value: checkers::check_history(&models::Kv, &history, &options)
//!
//! // Convergence of replicated data types:
//! pub fn checkers::convergence::check_convergence(spec: &dyn ConvergenceSpec,
//!     replicas: &[ReplicaState], history: &History) -> Result<ConvergenceReport, HistoryError>;
//! ```

pub(crate) mod cache;
pub mod cli;
pub mod convergence;
pub mod counterexample;
pub(crate) mod fasthash;
pub mod import;
pub mod linearizability;
pub mod model;
pub mod models;
pub mod named;
pub mod prepare;
pub(crate) mod states;
pub mod value;
pub(crate) mod wgl;

pub use counterexample::{Counterexample, OpReport};
pub use linearizability::{check_history, check_ops, CheckOptions, CheckReport, Verdict};
pub use model::{HistoryModel, Model, Op, Partition};
pub use named::{check_history_named, NamedCheckError, MODEL_NAMES};
pub use prepare::prepare_ops;
