//! A single register with read, write and compare-and-set.
//!
//! The register starts with no value (`nil`). A history may hold many
//! registers, named by the entries' `key`: each is checked alone (the
//! default partition). A `cas [a b]` that succeeded
//! required the value `a` and left `b`; a failed CAS never reaches the model
//! (failed operations did not take effect and are dropped before the search).

use std::collections::BTreeSet;

use serde_json::Value;
use sim_core::history::HistoryEntry;

use super::unknown_f;
use crate::model::{HistoryModel, Model, Op};
use crate::value::Scalar;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RegisterInput {
    Read,
    Write(Scalar),
    Cas(Scalar, Scalar),
}

/// Register outputs: what a read returned; writes and CAS return nothing
/// beyond their success.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RegisterOutput {
    Value(Scalar),
    Done,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Register;

impl Model for Register {
    type State = Scalar;
    type Input = RegisterInput;
    type Output = RegisterOutput;

    fn name(&self) -> &'static str {
        "register"
    }

    fn init(&self) -> Scalar {
        Scalar::Null
    }

    fn step(
        &self,
        state: &Scalar,
        input: &RegisterInput,
        output: Option<&RegisterOutput>,
    ) -> Option<Scalar> {
        match input {
            RegisterInput::Read => match output {
                Some(RegisterOutput::Value(v)) if v != state => None,
                _ => Some(state.clone()),
            },
            RegisterInput::Write(v) => Some(v.clone()),
            RegisterInput::Cas(expected, new) => (state == expected).then(|| new.clone()),
        }
    }

    fn is_read_only(&self, input: &RegisterInput) -> bool {
        matches!(input, RegisterInput::Read)
    }

    fn is_blind(&self, input: &RegisterInput, _output: Option<&RegisterOutput>) -> bool {
        matches!(input, RegisterInput::Write(_))
    }

    /// An indeterminate write (or CAS) of a value that no read returns and
    /// no CAS expects. In a linearization that places it, the operations
    /// after it until the value changes must accept that value; none reads or
    /// expects it, so the next one is a write, valid in any state. Removing
    /// the op therefore keeps the linearization valid.
    fn unobservable(&self, ops: &[&Op<RegisterInput, RegisterOutput>]) -> Vec<bool> {
        let mut observed: BTreeSet<&Scalar> = BTreeSet::new();
        for op in ops {
            match (&op.input, &op.output) {
                (RegisterInput::Read, Some(RegisterOutput::Value(v))) => {
                    observed.insert(v);
                }
                (RegisterInput::Cas(expected, _), _) => {
                    observed.insert(expected);
                }
                _ => {}
            }
        }
        ops.iter()
            .map(|op| {
                op.is_indeterminate()
                    && match &op.input {
                        RegisterInput::Write(v) | RegisterInput::Cas(_, v) => !observed.contains(v),
                        RegisterInput::Read => false,
                    }
            })
            .collect()
    }

    fn needs(&self, input: &RegisterInput, output: Option<&RegisterOutput>) -> Option<Scalar> {
        match (input, output) {
            (RegisterInput::Read, Some(RegisterOutput::Value(v))) => Some(v.clone()),
            (RegisterInput::Cas(expected, _), _) => Some(expected.clone()),
            _ => None,
        }
    }

    fn can_leave(&self, input: &RegisterInput, state: &Scalar) -> bool {
        match input {
            RegisterInput::Read => false,
            RegisterInput::Write(v) | RegisterInput::Cas(_, v) => v == state,
        }
    }

    fn state_heap_bytes(&self, state: &Scalar) -> usize {
        state.heap_bytes()
    }

    fn describe_op(&self, input: &RegisterInput, output: Option<&RegisterOutput>) -> String {
        let head = match input {
            RegisterInput::Read => "read".to_string(),
            RegisterInput::Write(v) => format!("write {v}"),
            RegisterInput::Cas(a, b) => format!("cas {a}->{b}"),
        };
        match (input, output) {
            (RegisterInput::Read, Some(RegisterOutput::Value(v))) => format!("{head} -> {v}"),
            (_, None) => format!("{head} (indeterminate)"),
            _ => head,
        }
    }

    fn describe_state(&self, state: &Scalar) -> String {
        state.to_string()
    }
}

fn cas_pair(value: &Value) -> Result<(Scalar, Scalar), String> {
    match value {
        Value::Array(items) if items.len() == 2 => {
            Ok((Scalar::from_json(&items[0]), Scalar::from_json(&items[1])))
        }
        other => Err(format!("cas value must be [expected, new], got {other}")),
    }
}

impl HistoryModel for Register {
    fn decode_input(&self, invoke: &HistoryEntry) -> Result<RegisterInput, String> {
        match invoke.f.as_str() {
            "read" | "get" => Ok(RegisterInput::Read),
            "write" | "put" => Ok(RegisterInput::Write(Scalar::from_json(&invoke.value))),
            "cas" => cas_pair(&invoke.value).map(|(a, b)| RegisterInput::Cas(a, b)),
            f => Err(unknown_f(f, "register", "read, write, cas")),
        }
    }

    fn decode_output(
        &self,
        input: &RegisterInput,
        completion: &HistoryEntry,
    ) -> Result<RegisterOutput, String> {
        Ok(match input {
            RegisterInput::Read => RegisterOutput::Value(Scalar::from_json(&completion.value)),
            _ => RegisterOutput::Done,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps() {
        let m = Register;
        let s = m.init();
        let read = |v: Scalar| (RegisterInput::Read, RegisterOutput::Value(v));
        let (i, o) = read(Scalar::Null);
        assert_eq!(m.step(&s, &i, Some(&o)), Some(Scalar::Null));
        let (i, o) = read(Scalar::Int(1));
        assert_eq!(m.step(&s, &i, Some(&o)), None);
        let w = RegisterInput::Write(Scalar::Int(1));
        let s = m.step(&s, &w, Some(&RegisterOutput::Done)).unwrap();
        assert_eq!(m.step(&s, &i, Some(&o)), Some(Scalar::Int(1)));
        let cas = RegisterInput::Cas(Scalar::Int(1), Scalar::Int(2));
        assert_eq!(m.step(&s, &cas, None), Some(Scalar::Int(2)));
        let bad_cas = RegisterInput::Cas(Scalar::Int(5), Scalar::Int(2));
        assert_eq!(m.step(&s, &bad_cas, Some(&RegisterOutput::Done)), None);
    }

    fn op(
        input: RegisterInput,
        output: Option<RegisterOutput>,
        ret: Option<u64>,
    ) -> Op<RegisterInput, RegisterOutput> {
        Op {
            index: 0,
            process: 0,
            call: 0,
            ret,
            input,
            output,
            key: None,
            invoke_entry: 0,
            complete_entry: None,
        }
    }

    #[test]
    fn only_unobserved_indeterminate_writes_are_dropped() {
        let int = Scalar::Int;
        let ops = [
            op(RegisterInput::Write(int(1)), None, None), // read later: kept
            op(RegisterInput::Write(int(2)), None, None), // never seen: dropped
            op(RegisterInput::Cas(int(3), int(4)), None, None), // 4 never seen: dropped
            op(RegisterInput::Write(int(3)), None, None), // a CAS expects 3: kept
            op(
                RegisterInput::Write(int(5)),
                Some(RegisterOutput::Done),
                Some(1),
            ), // completed: kept
            op(
                RegisterInput::Read,
                Some(RegisterOutput::Value(int(1))),
                Some(2),
            ),
        ];
        let refs: Vec<_> = ops.iter().collect();
        assert_eq!(
            Register.unobservable(&refs),
            vec![false, true, true, false, false, false]
        );
    }
}
