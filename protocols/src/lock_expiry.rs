//! The leases of lock holders that crashed, made visible to the lock check.
//!
//! A client that crashes while it may hold a lock never releases it; the
//! lock service frees it when the lease runs out. The `lock` model cannot
//! know that on its own, so a driver adds an `expire` operation of the dead
//! incarnation's lock at the moment its lease ends, as the client itself
//! would have computed it. Before then a second grant is a violation; after
//! then the service promises the dead client nothing. Shared by every lease
//! based lock (Redlock, the lease lock), so that a restarted client is judged
//! the same way by all of them.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::Value;
use sim_core::history::{History, HistoryEntry};
use sim_core::{Message, Nanos, NodeId, OpType, Sim};

/// The history process of the expiries added here: no client has it.
pub const EXPIRY_PROCESS: u64 = u64::MAX;

/// `sim`'s history as the lock check should judge it: with an `expire`
/// operation for each client incarnation that ended by a crash while it may
/// have held the lock, at its last acquire's invocation + `lease` (the lease
/// less the drift allowance, which the client's monotonic clock is trusted
/// to). "May have held" means that its last acquire did not fail and no
/// release of it completed. Extensions of the lease are not counted: the
/// expiry can only come earlier than the service's, so it never reports a
/// second grant the service could not have made.
pub fn judged_history<'s, M: Message>(
    sim: &'s Sim<M>,
    clients: &[NodeId],
    lease: Nanos,
) -> Cow<'s, History> {
    with_expiries(sim, crashed_holders(sim, clients, lease))
}

/// `sim`'s history with an `expire` of each (time, history process) in
/// `expiries` (in time order), for a driver that knows of lock holds ended
/// by other means too (a coordination service expiring a session).
pub fn with_expiries<M: Message>(sim: &Sim<M>, expiries: Vec<(Nanos, u64)>) -> Cow<'_, History> {
    if expiries.is_empty() {
        return Cow::Borrowed(sim.history());
    }
    let mut judged = History::new();
    let mut rest = sim.history().entries.iter().peekable();
    for (at, process) in expiries {
        while let Some(e) = rest.next_if(|e| e.time <= at) {
            judged.push(e.clone());
        }
        for op_type in [OpType::Invoke, OpType::Ok] {
            judged.push(HistoryEntry {
                process: EXPIRY_PROCESS,
                op_type,
                f: "expire".into(),
                key: None,
                value: Value::from(process),
                time: at,
            });
        }
    }
    judged.entries.extend(rest.cloned());
    Cow::Owned(judged)
}

/// (expiry time, history process) of each crashed incarnation that may have
/// held the lock, in time order.
pub fn crashed_holders<M: Message>(
    sim: &Sim<M>,
    clients: &[NodeId],
    lease: Nanos,
) -> Vec<(Nanos, u64)> {
    let nodes = u64::from(sim.node_count());
    let crashed = |p: u64| {
        let node = (p % nodes) as NodeId;
        clients.contains(&node) && p / nodes < u64::from(sim.incarnation(node))
    };
    // Per crashed process: its last acquire's invocation, while it may hold.
    let mut holding = BTreeMap::new();
    for e in &sim.history().entries {
        if !crashed(e.process) {
            continue;
        }
        match (e.f.as_str(), e.op_type) {
            ("acquire", OpType::Invoke) => {
                holding.insert(e.process, e.time);
            }
            ("acquire", OpType::Fail) | ("release", OpType::Ok) => {
                holding.remove(&e.process);
            }
            _ => {}
        }
    }
    let mut expiries: Vec<(Nanos, u64)> = holding
        .into_iter()
        .map(|(p, invoked)| (invoked.saturating_add(lease), p))
        .collect();
    expiries.sort_unstable();
    expiries
}
