//! A key-value store of strings with get, put and append, checked per key.
//!
//! Every key starts as the empty string. Keys are independent, so the model
//! partitions the history by key (P-compositionality, the default
//! partition by the entries' `key`) and its state is one
//! key's value: the search never carries the whole store around.

use serde_json::Value;
use sim_core::history::HistoryEntry;

use super::unknown_f;
use crate::model::{HistoryModel, Model, Op, Reach};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KvInput {
    Get { key: String },
    Put { key: String, value: String },
    Append { key: String, value: String },
}

impl KvInput {
    pub fn key(&self) -> &str {
        match self {
            KvInput::Get { key } | KvInput::Put { key, .. } | KvInput::Append { key, .. } => key,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KvOutput {
    /// What a get returned.
    Value(String),
    Done,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Kv;

impl Model for Kv {
    /// The value of the partition's one key.
    type State = String;
    type Input = KvInput;
    type Output = KvOutput;

    fn name(&self) -> &'static str {
        "kv"
    }

    fn init(&self) -> String {
        String::new()
    }

    fn step(&self, state: &String, input: &KvInput, output: Option<&KvOutput>) -> Option<String> {
        match input {
            KvInput::Get { .. } => match output {
                Some(KvOutput::Value(v)) if v != state => None,
                _ => Some(state.clone()),
            },
            KvInput::Put { value, .. } => Some(value.clone()),
            KvInput::Append { value, .. } => {
                let mut next = String::with_capacity(state.len() + value.len());
                next.push_str(state);
                next.push_str(value);
                Some(next)
            }
        }
    }

    fn state_heap_bytes(&self, state: &String) -> usize {
        state.capacity()
    }

    fn is_read_only(&self, input: &KvInput) -> bool {
        matches!(input, KvInput::Get { .. })
    }

    /// A put, on its own key's partition.
    fn is_blind(&self, input: &KvInput, _output: Option<&KvOutput>) -> bool {
        matches!(input, KvInput::Put { .. })
    }

    /// A get needs the value it returned.
    fn needs(&self, input: &KvInput, output: Option<&KvOutput>) -> Option<String> {
        match (input, output) {
            (KvInput::Get { .. }, Some(KvOutput::Value(v))) => Some(v.clone()),
            _ => None,
        }
    }

    /// With appends only (no put), a value only grows: `to` can follow
    /// `from` only if it starts with it.
    fn reachability(&self, ops: &[&Op<KvInput, KvOutput>]) -> Option<Reach<String>> {
        let appends_only = ops
            .iter()
            .all(|op| !matches!(op.input, KvInput::Put { .. }));
        appends_only.then_some(|from: &String, to: &String| to.starts_with(from.as_str()))
    }

    /// A put leaves its value; an append, a value ending with its text.
    fn can_leave(&self, input: &KvInput, state: &String) -> bool {
        match input {
            KvInput::Get { .. } => false,
            KvInput::Put { value, .. } => value == state,
            KvInput::Append { value, .. } => state.ends_with(value.as_str()),
        }
    }

    fn describe_op(&self, input: &KvInput, output: Option<&KvOutput>) -> String {
        let head = match input {
            KvInput::Get { key } => format!("get {key:?}"),
            KvInput::Put { key, value } => format!("put {key:?} {value:?}"),
            KvInput::Append { key, value } => format!("append {key:?} {value:?}"),
        };
        match output {
            Some(KvOutput::Value(v)) => format!("{head} -> {v:?}"),
            Some(KvOutput::Done) => head,
            None => format!("{head} (indeterminate)"),
        }
    }

    fn describe_state(&self, state: &String) -> String {
        format!("{state:?}")
    }
}

/// A KV value: a string, a number (its decimal text) or null (the empty string).
fn kv_string(value: &Value, what: &str) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Null => Ok(String::new()),
        other => Err(format!("{what} must be a string, got {other}")),
    }
}

impl HistoryModel for Kv {
    fn decode_input(&self, invoke: &HistoryEntry) -> Result<KvInput, String> {
        let key = invoke
            .key
            .clone()
            .ok_or_else(|| format!("operation `{}` has no key (model kv)", invoke.f))?;
        match invoke.f.as_str() {
            "get" | "read" => Ok(KvInput::Get { key }),
            "put" | "write" => Ok(KvInput::Put {
                key,
                value: kv_string(&invoke.value, "put value")?,
            }),
            "append" => Ok(KvInput::Append {
                key,
                value: kv_string(&invoke.value, "append value")?,
            }),
            f => Err(unknown_f(f, "kv", "get, put, append")),
        }
    }

    fn decode_output(
        &self,
        input: &KvInput,
        completion: &HistoryEntry,
    ) -> Result<KvOutput, String> {
        Ok(match input {
            KvInput::Get { .. } => KvOutput::Value(kv_string(&completion.value, "get result")?),
            _ => KvOutput::Done,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_then_get() {
        let m = Kv;
        let k = || "a".to_string();
        let s = m.init();
        let s = m
            .step(
                &s,
                &KvInput::Append {
                    key: k(),
                    value: "x".into(),
                },
                None,
            )
            .unwrap();
        let s = m
            .step(
                &s,
                &KvInput::Append {
                    key: k(),
                    value: "y".into(),
                },
                None,
            )
            .unwrap();
        let get = KvInput::Get { key: k() };
        assert!(m
            .step(&s, &get, Some(&KvOutput::Value("xy".into())))
            .is_some());
        assert!(m
            .step(&s, &get, Some(&KvOutput::Value("x".into())))
            .is_none());
    }
}
