//! Sequential consistency: linearizability without real time.
//!
//! A history is sequentially consistent when some total order of its
//! operations is allowed by the model and keeps each process's own order
//! (Lamport, 1979); when one operation returned before another was called
//! on another process, the order may still put the second first. A read
//! that returns a value overwritten long ago, by a write that completed
//! before the read began, is sequentially consistent (the read can be put
//! before the write) but not linearizable.
//!
//! The search is the linearizability search in program order (`wgl`,
//! `Order::Program`): the same model, cache, read rule and limits, with an
//! operation allowed to go next when its process's previous completed
//! operation has gone. Unlike linearizability, sequential consistency is
//! not compositional: every key can be sequentially consistent alone while
//! the history is not (two processes each see the other's write to one key
//! but not to the other). So the keys (the model's partitions) are checked
//! together, as one object whose state holds every key's ([`AllKeys`]).

use sim_core::history::{History, HistoryError};

use crate::linearizability::{
    check_history_for, check_ops_for, CheckOptions, CheckReport, Consistency,
};
use crate::model::{HistoryModel, Model, Op, OpsOf, Partition};
use crate::named::{check_history_named_for, NamedCheckError};

/// Checks a recorded history for sequential consistency against `model`.
/// The report's verdict [`crate::Verdict::Linearizable`] reads
/// "sequentially consistent" (its `consistency` says which was checked).
pub fn check_history<M: HistoryModel>(
    model: &M,
    history: &History,
    options: &CheckOptions,
) -> Result<CheckReport, HistoryError> {
    check_history_for(model, history, options, Consistency::Sequential)
}

/// The same, with the model by name (`register`, `kv`, ..., see
/// [`crate::MODEL_NAMES`]), as the runner and the consistency ladder have
/// it.
///
/// A write of 1 completes, then another process reads nothing: not
/// linearizable, but sequentially consistent (the read goes first). Had the
/// reader written 2 first and then read nothing, its own order would rule
/// that out.
///
/// ```
/// use checkers::{check_history_named, sequential, CheckOptions, Verdict};
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
/// let options = CheckOptions::default();
/// let lin = check_history_named("register", &history, &options).unwrap();
/// assert_eq!(lin.verdict, Verdict::NotLinearizable);
/// let sc = sequential::check_history_named("register", &history, &options).unwrap();
/// assert_eq!(sc.verdict, Verdict::Linearizable);
/// ```
pub fn check_history_named(
    model: &str,
    history: &History,
    options: &CheckOptions,
) -> Result<CheckReport, NamedCheckError> {
    check_history_named_for(model, None, history, options, Consistency::Sequential)
}

/// Checks prepared operations (in invocation order, as
/// [`crate::prepare_ops`] gives them) for sequential consistency.
pub fn check_ops<M: Model>(
    model: &M,
    ops: &[Op<M::Input, M::Output>],
    options: &CheckOptions,
) -> CheckReport {
    let partitions = model.partition(ops);
    if partitions.len() <= 1 {
        return check_ops_for(model, ops, options, Consistency::Sequential);
    }
    // Operations no one could observe are dropped per partition, as the
    // linearizability check does (the model's argument for it holds in any
    // order), before the partitions are joined.
    let mut part_of = vec![u32::MAX; ops.len()];
    for (p, part) in partitions.iter().enumerate() {
        let sub: Vec<&Op<M::Input, M::Output>> = part.ops.iter().map(|&i| &ops[i]).collect();
        for (&i, unobservable) in part.ops.iter().zip(model.unobservable(&sub)) {
            if !unobservable {
                part_of[i] = p as u32;
            }
        }
    }
    let all = AllKeys {
        model,
        labels: partitions.iter().map(|p| p.label.clone()).collect(),
    };
    let joined: OpsOf<AllKeys<M>> = ops
        .iter()
        .zip(&part_of)
        .filter(|&(_, &p)| p != u32::MAX)
        .map(|(op, &p)| Op {
            index: op.index,
            process: op.process,
            call: op.call,
            ret: op.ret,
            input: (p, op.input.clone()),
            output: op.output.clone(),
            key: op.key.clone(),
            invoke_entry: op.invoke_entry,
            complete_entry: op.complete_entry,
        })
        .collect();
    let mut report = check_ops_for(&all, &joined, options, Consistency::Sequential);
    report.operations = ops.len();
    report
}

/// Every partition of a model as one object: the state is each
/// partition's state, an operation acts on its own partition's.
pub struct AllKeys<'m, M> {
    model: &'m M,
    /// Each partition's label (its key), by partition number.
    labels: Vec<Option<String>>,
}

impl<M: Model> Model for AllKeys<'_, M> {
    type State = Vec<M::State>;
    /// (partition number, the operation's input)
    type Input = (u32, M::Input);
    type Output = M::Output;

    fn name(&self) -> &'static str {
        self.model.name()
    }

    fn init(&self) -> Vec<M::State> {
        vec![self.model.init(); self.labels.len()]
    }

    fn step(
        &self,
        state: &Vec<M::State>,
        (part, input): &(u32, M::Input),
        output: Option<&M::Output>,
    ) -> Option<Vec<M::State>> {
        let next = self.model.step(&state[*part as usize], input, output)?;
        let mut joined = state.clone();
        joined[*part as usize] = next;
        Some(joined)
    }

    fn partition(&self, ops: &[Op<Self::Input, Self::Output>]) -> Vec<Partition> {
        vec![Partition {
            label: None,
            ops: (0..ops.len()).collect(),
        }]
    }

    fn is_read_only(&self, (_, input): &(u32, M::Input)) -> bool {
        self.model.is_read_only(input)
    }

    fn state_heap_bytes(&self, state: &Vec<M::State>) -> usize {
        state.capacity() * std::mem::size_of::<M::State>()
            + state
                .iter()
                .map(|s| self.model.state_heap_bytes(s))
                .sum::<usize>()
    }

    fn describe_op(&self, (part, input): &(u32, M::Input), output: Option<&M::Output>) -> String {
        let op = self.model.describe_op(input, output);
        match &self.labels[*part as usize] {
            Some(key) => format!("[{key}] {op}"),
            None => op,
        }
    }

    fn describe_state(&self, state: &Vec<M::State>) -> String {
        let each: Vec<String> = self
            .labels
            .iter()
            .zip(state)
            .map(|(label, s)| {
                format!(
                    "{}: {}",
                    label.as_deref().unwrap_or("-"),
                    self.model.describe_state(s)
                )
            })
            .collect();
        format!("{{{}}}", each.join(", "))
    }
}
