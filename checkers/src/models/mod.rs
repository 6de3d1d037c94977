//! The sequential models: one module per data type.

pub mod counter;
pub mod kv;
pub mod lock;
pub mod register;
pub mod set;

pub use counter::Counter;
pub use kv::Kv;
pub use lock::Lock;
pub use register::Register;
pub use set::Set;

use serde_json::Value;
use sim_core::history::HistoryEntry;

use crate::model::{HistoryModel, Model, Op, Partition};

/// Reads an integer from a JSON value (a number, or a string of digits).
pub(crate) fn json_i64(value: &Value, what: &str) -> Result<i64, String> {
    match value {
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| format!("{what} must be an integer, got {value}")),
        Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| format!("{what} must be an integer, got {value}")),
        _ => Err(format!("{what} must be an integer, got {value}")),
    }
}

pub(crate) fn unknown_f(f: &str, model: &str, allowed: &str) -> String {
    format!("unknown operation `{f}` for model {model} (expected one of: {allowed})")
}

/// Any model started from another initial state (a Knossos `cas-register`
/// starts at 0, ours at nil). Everything else is the inner model's.
#[derive(Debug, Clone)]
pub struct StartingAt<M: Model> {
    pub model: M,
    pub initial: M::State,
}

impl<M: Model> Model for StartingAt<M> {
    type State = M::State;
    type Input = M::Input;
    type Output = M::Output;

    fn name(&self) -> &'static str {
        self.model.name()
    }

    fn init(&self) -> M::State {
        self.initial.clone()
    }

    fn step(
        &self,
        state: &M::State,
        input: &M::Input,
        output: Option<&M::Output>,
    ) -> Option<M::State> {
        self.model.step(state, input, output)
    }

    fn partition(&self, ops: &[Op<M::Input, M::Output>]) -> Vec<Partition> {
        self.model.partition(ops)
    }

    fn is_read_only(&self, input: &M::Input) -> bool {
        self.model.is_read_only(input)
    }

    fn is_blind(&self, input: &M::Input, output: Option<&M::Output>) -> bool {
        self.model.is_blind(input, output)
    }

    /// The inner model's rule (the register's does not depend on the
    /// initial state: it only drops writes whose value nothing observes).
    fn unobservable(&self, ops: &[&Op<M::Input, M::Output>]) -> Vec<bool> {
        self.model.unobservable(ops)
    }

    /// The inner model's needs: they do not depend on the initial state.
    fn needs(&self, input: &M::Input, output: Option<&M::Output>) -> Option<M::State> {
        self.model.needs(input, output)
    }

    fn can_leave(&self, input: &M::Input, state: &M::State) -> bool {
        self.model.can_leave(input, state)
    }

    fn reachability(
        &self,
        ops: &[&Op<M::Input, M::Output>],
    ) -> Option<crate::model::Reach<M::State>> {
        self.model.reachability(ops)
    }

    fn state_heap_bytes(&self, state: &M::State) -> usize {
        self.model.state_heap_bytes(state)
    }

    fn describe_op(&self, input: &M::Input, output: Option<&M::Output>) -> String {
        self.model.describe_op(input, output)
    }

    fn describe_state(&self, state: &M::State) -> String {
        self.model.describe_state(state)
    }
}

impl<M: HistoryModel> HistoryModel for StartingAt<M> {
    fn decode_input(&self, invoke: &HistoryEntry) -> Result<M::Input, String> {
        self.model.decode_input(invoke)
    }

    fn decode_output(
        &self,
        input: &M::Input,
        completion: &HistoryEntry,
    ) -> Result<M::Output, String> {
        self.model.decode_output(input, completion)
    }
}
