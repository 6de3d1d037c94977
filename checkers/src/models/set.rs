//! A set with `add` and `read` (which returns every element).

use std::collections::BTreeSet;

use serde_json::Value;
use sim_core::history::HistoryEntry;

use super::unknown_f;
use crate::model::{HistoryModel, Model};
use crate::value::Scalar;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SetInput {
    Add(Scalar),
    Read,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SetOutput {
    Elements(BTreeSet<Scalar>),
    Done,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Set;

impl Model for Set {
    type State = BTreeSet<Scalar>;
    type Input = SetInput;
    type Output = SetOutput;

    fn name(&self) -> &'static str {
        "set"
    }

    fn init(&self) -> BTreeSet<Scalar> {
        BTreeSet::new()
    }

    fn step(
        &self,
        state: &BTreeSet<Scalar>,
        input: &SetInput,
        output: Option<&SetOutput>,
    ) -> Option<BTreeSet<Scalar>> {
        match input {
            SetInput::Add(x) => {
                let mut next = state.clone();
                next.insert(x.clone());
                Some(next)
            }
            SetInput::Read => match output {
                Some(SetOutput::Elements(seen)) if seen != state => None,
                _ => Some(state.clone()),
            },
        }
    }

    fn is_read_only(&self, input: &SetInput) -> bool {
        matches!(input, SetInput::Read)
    }

    /// A B-tree node per few elements; counted as the elements' size twice.
    fn state_heap_bytes(&self, state: &BTreeSet<Scalar>) -> usize {
        state
            .iter()
            .map(|x| 2 * std::mem::size_of::<Scalar>() + x.heap_bytes())
            .sum()
    }

    fn describe_op(&self, input: &SetInput, output: Option<&SetOutput>) -> String {
        match (input, output) {
            (SetInput::Add(x), Some(_)) => format!("add {x}"),
            (SetInput::Add(x), None) => format!("add {x} (indeterminate)"),
            (SetInput::Read, Some(SetOutput::Elements(e))) => format!("read -> {}", show(e)),
            (SetInput::Read, _) => "read (indeterminate)".to_string(),
        }
    }

    fn describe_state(&self, state: &BTreeSet<Scalar>) -> String {
        show(state)
    }
}

fn show(set: &BTreeSet<Scalar>) -> String {
    let items: Vec<String> = set.iter().map(|x| x.to_string()).collect();
    format!("#{{{}}}", items.join(" "))
}

impl HistoryModel for Set {
    fn decode_input(&self, invoke: &HistoryEntry) -> Result<SetInput, String> {
        match invoke.f.as_str() {
            "add" => Ok(SetInput::Add(Scalar::from_json(&invoke.value))),
            "read" => Ok(SetInput::Read),
            f => Err(unknown_f(f, "set", "add, read")),
        }
    }

    fn decode_output(
        &self,
        input: &SetInput,
        completion: &HistoryEntry,
    ) -> Result<SetOutput, String> {
        match input {
            SetInput::Add(_) => Ok(SetOutput::Done),
            SetInput::Read => match &completion.value {
                Value::Array(items) => Ok(SetOutput::Elements(
                    items.iter().map(Scalar::from_json).collect(),
                )),
                Value::Null => Ok(SetOutput::Elements(BTreeSet::new())),
                other => Err(format!("set read must return an array, got {other}")),
            },
        }
    }
}
