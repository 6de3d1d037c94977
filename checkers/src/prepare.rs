//! From a recorded history to the operations a model checks.
//!
//! Pairs each invocation with its completion, decodes inputs and outputs
//! through the model, and applies the meaning of each outcome:
//! `ok` keeps the operation with its output; `fail` drops it (it did not take
//! effect); `info` or no completion keeps it as indeterminate (return time
//! +infinity, output unknown) — except reads, which then constrain nothing
//! and are dropped too.

use std::collections::BTreeMap;

use sim_core::history::{History, HistoryError, OpType};

use crate::model::{HistoryModel, Op, OpsOf};

/// Decodes `history` for `model`. Errors name the 0-based entry at fault.
pub fn prepare_ops<M: HistoryModel>(
    model: &M,
    history: &History,
) -> Result<OpsOf<M>, HistoryError> {
    // Pair invocations with completions, keeping entry indices.
    let mut pairs: Vec<(usize, Option<usize>)> = Vec::new();
    let mut open: BTreeMap<u64, usize> = BTreeMap::new();
    for (index, entry) in history.entries.iter().enumerate() {
        if entry.op_type == OpType::Invoke {
            if open.contains_key(&entry.process) {
                return Err(HistoryError {
                    index,
                    message: format!(
                        "process {} invokes while its previous operation is still open",
                        entry.process
                    ),
                });
            }
            open.insert(entry.process, pairs.len());
            pairs.push((index, None));
        } else {
            let Some(at) = open.remove(&entry.process) else {
                return Err(HistoryError {
                    index,
                    message: format!(
                        "completion ({:?}) of process {} without an invocation",
                        entry.op_type, entry.process
                    ),
                });
            };
            let invoke = &history.entries[pairs[at].0];
            if entry.f != invoke.f {
                return Err(HistoryError {
                    index,
                    message: format!(
                        "completion of `{}` closes process {}'s open `{}`",
                        entry.f, entry.process, invoke.f
                    ),
                });
            }
            if entry.time < invoke.time {
                return Err(HistoryError {
                    index,
                    message: format!(
                        "completion at time {} precedes its invocation at time {}",
                        entry.time, invoke.time
                    ),
                });
            }
            pairs[at].1 = Some(index);
        }
    }

    let mut ops = Vec::with_capacity(pairs.len());
    for (position, &(inv, done)) in pairs.iter().enumerate() {
        let invoke = &history.entries[inv];
        let input = model.decode_input(invoke).map_err(|message| HistoryError {
            index: inv,
            message,
        })?;
        let completion = done.map(|c| &history.entries[c]);
        let outcome = completion.map_or(OpType::Info, |c| c.op_type);
        let (ret, output) = match outcome {
            OpType::Fail => continue,
            OpType::Ok => {
                let c = completion.expect("ok outcome has a completion");
                let output = model
                    .decode_output(&input, c)
                    .map_err(|message| HistoryError {
                        index: done.unwrap_or(inv),
                        message,
                    })?;
                (Some(c.time), Some(output))
            }
            _ => {
                if model.is_read_only(&input) {
                    continue;
                }
                (None, None)
            }
        };
        ops.push(Op {
            index: position,
            process: invoke.process,
            call: invoke.time,
            ret,
            input,
            output,
            key: invoke.key.clone(),
            invoke_entry: inv,
            complete_entry: done,
        });
    }
    Ok(ops)
}
