//! A counter with `add`/`incr` (by an amount) and `read`.

use sim_core::history::HistoryEntry;

use super::{json_i64, unknown_f};
use crate::model::{HistoryModel, Model};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CounterInput {
    Add(i64),
    Read,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CounterOutput {
    Value(i64),
    Done,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Counter;

impl Model for Counter {
    type State = i64;
    type Input = CounterInput;
    type Output = CounterOutput;

    fn name(&self) -> &'static str {
        "counter"
    }

    fn init(&self) -> i64 {
        0
    }

    fn step(
        &self,
        state: &i64,
        input: &CounterInput,
        output: Option<&CounterOutput>,
    ) -> Option<i64> {
        match input {
            CounterInput::Add(n) => Some(state.wrapping_add(*n)),
            CounterInput::Read => match output {
                Some(CounterOutput::Value(v)) if v != state => None,
                _ => Some(*state),
            },
        }
    }

    fn is_read_only(&self, input: &CounterInput) -> bool {
        matches!(input, CounterInput::Read)
    }

    fn describe_op(&self, input: &CounterInput, output: Option<&CounterOutput>) -> String {
        match (input, output) {
            (CounterInput::Add(n), Some(_)) => format!("add {n}"),
            (CounterInput::Add(n), None) => format!("add {n} (indeterminate)"),
            (CounterInput::Read, Some(CounterOutput::Value(v))) => format!("read -> {v}"),
            (CounterInput::Read, _) => "read (indeterminate)".to_string(),
        }
    }
}

impl HistoryModel for Counter {
    fn decode_input(&self, invoke: &HistoryEntry) -> Result<CounterInput, String> {
        match invoke.f.as_str() {
            "add" | "incr" => Ok(CounterInput::Add(if invoke.value.is_null() {
                1
            } else {
                json_i64(&invoke.value, "increment")?
            })),
            "read" => Ok(CounterInput::Read),
            f => Err(unknown_f(f, "counter", "add, incr, read")),
        }
    }

    fn decode_output(
        &self,
        input: &CounterInput,
        completion: &HistoryEntry,
    ) -> Result<CounterOutput, String> {
        match input {
            CounterInput::Add(_) => Ok(CounterOutput::Done),
            CounterInput::Read => Ok(CounterOutput::Value(json_i64(
                &completion.value,
                "counter read",
            )?)),
        }
    }
}
