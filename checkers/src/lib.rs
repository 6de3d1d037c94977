//! Checkers: the judges of every run.
//!
//! * [`model`]: the sequential-model trait; [`models`]: register (with CAS),
//!   key-value store (per key), lock/lease with fencing tokens, set, counter.
//! * [`linearizability`]: the partition scheduler over two exact
//!   procedures side by side, WGL searches (module `wgl`, resumable) and
//!   time sweeps over configurations (module `sweep`), with
//!   P-compositionality (every model splits by key), step/memory/time
//!   limits shared; verdict + counterexample.
//! * [`sequential`]: sequential consistency, the same search keeping only
//!   each process's order (all keys together: it is not compositional).
//! * [`convergence`]: do all live replicas agree, and agree with the
//!   acknowledged operations? (grow-only set, counter, or your own spec).
//! * [`import`]: Jepsen etcd logs, Jepsen-style EDN, our `history.jsonl`.
//! * [`cli`]: what `clustersim check` runs.
//!
//! # Entry points
//!
//! ```text
//! // `clustersim check FILE --model MODEL [--format FMT] [--json] [--budget STEPS]
//! //  [--memory MB] [--timeout S]`:
//! // prints the verdict (and counterexample) to stdout, errors to stderr.
//! // Returns 0 linearizable, 1 not linearizable, 2 bad input/usage (message
//! // names file and 1-based line), 3 unknown (a limit ran out first).
//! // FMT: jsonl | jepsen-log | jepsen-edn, detected from the content if None.
//! pub fn checkers::cli::check_command(args: &CheckArgs) -> i32;
//! // Same, with explicit limits and output streams:
//! pub fn checkers::cli::check_command_with(file, model, format, json,
//!     options: &CheckOptions, out: &mut dyn Write, err: &mut dyn Write) -> i32;
//!
//! // The runner, on a recorded history. MODEL: register | cas-register | kv |
//! // lock | lease | set | counter (see `MODEL_NAMES`).
//! pub fn checkers::check_history_named(model: &str, history: &History, options: &CheckOptions)
//!     -> Result<CheckReport, NamedCheckError>;
//! // or with a model value: checkers::check_history(&checkers::models::Kv, &history, &options)
//! // CheckOptions::default(): 50 M steps, no deadline, 1 GiB for all search tables.
//! // CheckReport { verdict: Verdict, counterexamples: Vec<Counterexample>, steps,
//! //   partition_reports (each key: status, steps, longest prefix), ... }
//! //   is Serialize; Counterexample::render() gives the text form.
//!
//! // Reading files of other tools (or ours):
//! pub fn checkers::import::load(path: &Path, format: Option<Format>) -> Result<LoadedHistory, String>;
//!
//! // Convergence of replicated data types (replica states as JSON):
//! pub fn checkers::convergence::check_convergence(spec: &dyn ConvergenceSpec,
//!     replicas: &[ReplicaState], history: &History) -> Result<ConvergenceReport, HistoryError>;
//! // built-in specs: GrowOnlySet, Counter; spec_by_name("g-set" | "counter").
//! ```
//!
//! Determinism: the search's tables are hash maps used for lookups only
//! (never iterated); partitions (keys) are interleaved round-robin in key
//! order with slices of steps that double every round, and the check ends at
//! the first failing partition; the step budget is the deterministic limit
//! (a deadline is optional and checked every 16 k steps).

pub(crate) mod cache;
pub mod causal;
pub mod cli;
pub mod convergence;
pub mod counterexample;
pub(crate) mod fasthash;
pub mod fenced_writes;
pub mod final_read;
pub mod import;
pub mod ladder;
pub mod linearizability;
pub mod model;
pub mod models;
pub mod named;
pub mod picture;
pub mod prepare;
pub mod sequential;
pub(crate) mod states;
pub(crate) mod sweep;
pub mod synthetic;
pub mod value;
pub(crate) mod wgl;

pub use counterexample::{Counterexample, OpReport};
pub use linearizability::{
    check_history, check_ops, check_ops_for, CheckOptions, CheckReport, Consistency,
    PartitionReport, PartitionStatus, Strategy, Verdict,
};
pub use model::{HistoryModel, Model, Op, Partition};
pub use named::{
    check_history_named, check_history_named_for, check_history_named_from, NamedCheckError,
    MODEL_NAMES,
};
pub use prepare::prepare_ops;
