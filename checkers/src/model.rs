//! The sequential-model trait every checker model implements.
//!
//! A model is a sequential specification: an initial state and a step function
//! that says, for one operation (its input and, when known, its output), which
//! state follows — or that the operation is not allowed in that state. The
//! linearizability checker only ever talks to this trait.
//!
//! A model may also split a history into independent sub-histories
//! (P-compositionality: a key-value store is linearizable iff each key is), so
//! the checker can search each one alone. When a model partitions, its `State`
//! describes one partition (for the KV store: one key's value).

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::hash::Hash;

use sim_core::history::HistoryEntry;

/// One operation of a history, ready for a model.
#[derive(Debug, Clone, PartialEq)]
pub struct Op<I, O> {
    /// Position among the history's operations (invocation order), 0-based.
    pub index: usize,
    pub process: u64,
    /// Invocation time.
    pub call: u64,
    /// Completion time; `None` for an indeterminate operation (+infinity).
    pub ret: Option<u64>,
    pub input: I,
    /// The observed output; `None` when unknown (indeterminate operation).
    pub output: Option<O>,
    /// The object the operation acts on (the history entry's `key`), if any.
    /// Operations on different keys are independent: the default partition
    /// checks each key alone.
    pub key: Option<String>,
    /// Index of the invocation entry in the history (for error messages).
    pub invoke_entry: usize,
    /// Index of the completion entry in the history, if any.
    pub complete_entry: Option<usize>,
}

impl<I, O> Op<I, O> {
    /// True when the operation may or may not have taken effect.
    pub fn is_indeterminate(&self) -> bool {
        self.ret.is_none()
    }
}

/// The operations of a history, decoded for model `M`.
pub type OpsOf<M> = Vec<Op<<M as Model>::Input, <M as Model>::Output>>;

/// One independent sub-history: a label (e.g. the key) and its operations,
/// as indices into the slice given to [`Model::partition`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    pub label: Option<String>,
    pub ops: Vec<usize>,
}

/// A sequential specification.
///
/// A model of your own: a write-once cell (`set` succeeds only on an empty
/// cell, `get` reads it), checked with [`crate::check_history`] once it can
/// read history entries ([`HistoryModel`]).
///
/// ```
/// use checkers::{check_history, CheckOptions, HistoryModel, Model, Verdict};
/// use sim_core::history::{History, HistoryEntry, OpType};
/// use serde_json::json;
///
/// struct WriteOnce;
///
/// #[derive(Clone, Debug)]
/// enum In { Set(u64), Get }
///
/// impl Model for WriteOnce {
///     type State = Option<u64>;
///     type Input = In;
///     type Output = Option<u64>; // what `get` saw; `set`: whether it won (Some(1)) or not (None)
///     fn name(&self) -> &'static str { "write-once" }
///     fn init(&self) -> Option<u64> { None }
///     fn step(&self, state: &Option<u64>, input: &In, output: Option<&Option<u64>>) -> Option<Option<u64>> {
///         match (input, output) {
///             (In::Get, Some(seen)) => (seen == state).then_some(*state),
///             (In::Get, None) => Some(*state),
///             (In::Set(v), Some(Some(_))) => state.is_none().then_some(Some(*v)),
///             (In::Set(_), Some(None)) => state.is_some().then_some(*state),
///             (In::Set(v), None) => Some(state.or(Some(*v))),
///         }
///     }
///     fn is_read_only(&self, input: &In) -> bool { matches!(input, In::Get) }
/// }
///
/// impl HistoryModel for WriteOnce {
///     fn decode_input(&self, e: &HistoryEntry) -> Result<In, String> {
///         match e.f.as_str() {
///             "set" => e.value.as_u64().map(In::Set).ok_or("set needs a number".into()),
///             "get" => Ok(In::Get),
///             f => Err(format!("unknown function {f}")),
///         }
///     }
///     fn decode_output(&self, input: &In, e: &HistoryEntry) -> Result<Option<u64>, String> {
///         Ok(match input {
///             In::Get => e.value.as_u64(),
///             In::Set(_) => e.value.as_bool().and_then(|won| won.then_some(1)),
///         })
///     }
/// }
///
/// let entry = |process, op_type, f: &str, value, time| HistoryEntry {
///     process, op_type, f: f.into(), key: None, value, time,
/// };
/// let mut history = History::new();
/// // Two sets both claim to have won: only one can have.
/// history.push(entry(0, OpType::Invoke, "set", json!(1), 10));
/// history.push(entry(1, OpType::Invoke, "set", json!(2), 11));
/// history.push(entry(0, OpType::Ok, "set", json!(true), 20));
/// history.push(entry(1, OpType::Ok, "set", json!(true), 21));
/// let report = check_history(&WriteOnce, &history, &CheckOptions::default()).unwrap();
/// assert_eq!(report.verdict, Verdict::NotLinearizable);
///
/// history.entries[3].value = json!(false); // the second one lost
/// let report = check_history(&WriteOnce, &history, &CheckOptions::default()).unwrap();
/// assert_eq!(report.verdict, Verdict::Linearizable);
/// ```
pub trait Model {
    type State: Clone + Eq + Hash + Debug;
    type Input: Clone + Debug;
    type Output: Clone + Debug;

    /// A short name (`register`, `kv`, ...), used in reports.
    fn name(&self) -> &'static str;

    fn init(&self) -> Self::State;

    /// The state after applying `input` with result `output` to `state`, or
    /// `None` if that operation with that result is not allowed there.
    /// `output == None` means the result is unknown: any result is accepted,
    /// so the step only applies the operation's effect.
    fn step(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: Option<&Self::Output>,
    ) -> Option<Self::State>;

    /// Splits operations into independent sub-histories, ordered
    /// deterministically (by label). Default: one partition per key (objects
    /// named by different keys are independent: a register store is
    /// linearizable iff each register is), the operations without a key
    /// forming one partition of their own, labelled `None`.
    fn partition(&self, ops: &[Op<Self::Input, Self::Output>]) -> Vec<Partition> {
        let mut by_key: BTreeMap<Option<&str>, Vec<usize>> = BTreeMap::new();
        for (i, op) in ops.iter().enumerate() {
            by_key.entry(op.key.as_deref()).or_default().push(i);
        }
        by_key
            .into_iter()
            .map(|(key, ops)| Partition {
                label: key.map(str::to_string),
                ops,
            })
            .collect()
    }

    /// True if the operation never changes the state (a read). An
    /// indeterminate read constrains nothing, so the checker drops it.
    fn is_read_only(&self, _input: &Self::Input) -> bool {
        false
    }

    /// True if the operation is allowed in every state and leaves a state
    /// that does not depend on the one before (a register write, a KV
    /// put). The sweep (`sweep.rs`) relies on it: an operation placed just
    /// before a blind one is never seen. Default: false, always safe.
    fn is_blind(&self, _input: &Self::Input, _output: Option<&Self::Output>) -> bool {
        false
    }

    /// Marks indeterminate operations of one partition whose effect no other
    /// operation could ever observe; the checker drops them. Dropping must
    /// not change the verdict: every linearization that places a marked op
    /// must stay valid without it. Default: none (always safe).
    ///
    /// This matters for speed only: each indeterminate operation may be
    /// placed anywhere after its call or never, so the configurations a
    /// failing search must rule out double with each one still pending.
    fn unobservable(&self, ops: &[&Op<Self::Input, Self::Output>]) -> Vec<bool> {
        vec![false; ops.len()]
    }

    /// The only state this operation, with its output, can be applied in,
    /// if there is one: a read that returned `v` needs `v`, a CAS from `a`
    /// needs `a`, a write needs none. With [`Model::can_leave`] it lets the
    /// search give up on a configuration from which some completed
    /// operation can no longer be placed (the no-writer-left rule in
    /// `wgl.rs`). Default: none, which keeps the rule off.
    fn needs(&self, _input: &Self::Input, _output: Option<&Self::Output>) -> Option<Self::State> {
        None
    }

    /// Whether applying this operation to some state other than `state`
    /// can leave `state` (a write of `v` can leave only `v`; a read never
    /// changes the state). A promise the search relies on: it must be true
    /// whenever such a step exists, or a linearizable history could be
    /// rejected. Default: true, always safe.
    fn can_leave(&self, _input: &Self::Input, _state: &Self::State) -> bool {
        true
    }

    /// A test `reach(from, to)` for the operations of one partition, false
    /// only when no sequence of them can turn state `from` into `to` (KV
    /// appends with no put: a value only grows). The search then gives up
    /// on a configuration as soon as a completed operation needs a state
    /// ([`Model::needs`]) the current one can never become. Default: none.
    fn reachability(&self, _ops: &[&Op<Self::Input, Self::Output>]) -> Option<Reach<Self::State>> {
        None
    }

    /// Heap bytes a state owns beyond its inline size (a string's text, a
    /// set's nodes), for the search's memory limit. Default: none.
    fn state_heap_bytes(&self, _state: &Self::State) -> usize {
        0
    }

    /// Human-readable form of an operation, e.g. `write 3` or `read -> 2`.
    fn describe_op(&self, input: &Self::Input, output: Option<&Self::Output>) -> String {
        match output {
            Some(out) => format!("{input:?} -> {out:?}"),
            None => format!("{input:?} -> ?"),
        }
    }

    fn describe_state(&self, state: &Self::State) -> String {
        format!("{state:?}")
    }
}

/// A reachability test between two states (see [`Model::reachability`]).
pub type Reach<S> = fn(&S, &S) -> bool;

/// A model that can read our history format (`sim_core::history`), following
/// the value conventions documented there.
pub trait HistoryModel: Model {
    /// The operation's input, from its invocation entry.
    fn decode_input(&self, invoke: &HistoryEntry) -> Result<Self::Input, String>;

    /// The observed output, from the `ok` completion entry.
    fn decode_output(
        &self,
        input: &Self::Input,
        completion: &HistoryEntry,
    ) -> Result<Self::Output, String>;
}
