//! The `convergence` verdict of a store: after the clients stop and
//! replication quiesces, every live replica holds the same value. The
//! replicas are grouped by that value (as JSON text, so the order and the
//! message are deterministic).

use std::collections::BTreeMap;

use harness::Verdict;
use serde_json::Value;
use sim_core::{Message, NodeId, NodeStatus, Process, Sim};

/// The live replicas grouped by what `value_of` says they hold: JSON text →
/// (value, replica names).
pub type Groups = BTreeMap<String, (Value, Vec<String>)>;

/// Groups the live replicas of type `P` among `replicas` by `value_of`.
pub fn group_live<M: Message, P: Process<Msg = M> + 'static>(
    sim: &Sim<M>,
    replicas: &[NodeId],
    value_of: impl Fn(&P) -> Value,
) -> Groups {
    let mut held = Groups::new();
    for &r in replicas {
        if sim.status(r) != NodeStatus::Up {
            continue;
        }
        if let Some(p) = sim.process_as::<P>(r) {
            let v = value_of(p);
            held.entry(v.to_string())
                .or_insert_with(|| (v, Vec::new()))
                .1
                .push(format!("n{r}"));
        }
    }
    held
}

/// `convergence`: one group, else who holds what.
pub fn convergence(groups: &Groups) -> Verdict {
    match groups.len() {
        0 => Verdict::fail("convergence", "no live replica"),
        1 => Verdict::pass("convergence"),
        n => Verdict::fail(
            "convergence",
            format!(
                "live replicas hold {n} different values: {}",
                groups
                    .iter()
                    .map(|(text, (_, who))| format!("{} hold {text}", who.join(", ")))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        ),
    }
}
