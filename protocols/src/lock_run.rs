//! What the drivers of the lease-based locks (Redlock, the lease lock)
//! share: after the lock's servers, the clients and then the guarded
//! resource they write to while holding; the liveness of a lock (once the
//! faults heal, a lock is granted again: a refusal is no progress); the
//! `resource` verdict on the writes it accepted; and the history with the
//! expiry of every holder that crashed (`crate::lock_expiry`). The designs
//! differ in their servers and clients, not in how a run is judged.

use std::borrow::Cow;

use harness::{Scenario, Verdict};
use sim_core::history::History;
use sim_core::{Finding, Nanos, NodeId, Process, Sim, Topology};

use crate::lease_lock::{resource_verdict, GuardedWriteMsg, Resource};
use crate::progress::{progress_checker, progress_verdict, ProgressChecker};

/// Adds the scenario's clients, each made by `client`, then the guarded
/// resource (fencing off stale tokens if `fencing`): (clients, resource).
pub fn add_clients_and_resource<M: GuardedWriteMsg, P: Process<Msg = M>>(
    sim: &mut Sim<M>,
    scenario: &Scenario,
    client: impl Fn() -> P + Clone + 'static,
    fencing: bool,
) -> (Vec<NodeId>, NodeId) {
    let clients = (0..scenario.workload.clients)
        .map(|_| sim.add_node(client.clone()))
        .collect();
    let resource = sim.add_node(move || Resource::<M>::new(fencing));
    (clients, resource)
}

/// A lock's run, judged.
pub struct LockRun {
    clients: Vec<NodeId>,
    resource: NodeId,
    /// A holder's lease as the holder computes it: the lease less the
    /// drift allowance.
    lease: Nanos,
    progress: ProgressChecker,
}

impl LockRun {
    /// The run of `topology` with the resource at `resource`; `timeout` is
    /// how long a client waits for the lock's answer.
    pub fn new(
        scenario: &Scenario,
        topology: &Topology,
        resource: NodeId,
        timeout: Nanos,
        lease: Nanos,
    ) -> Self {
        Self {
            clients: topology.clients.clone(),
            resource,
            lease,
            progress: progress_checker(scenario, topology, timeout, false),
        }
    }

    pub fn check_step<M: GuardedWriteMsg>(&mut self, sim: &Sim<M>) -> Option<Finding> {
        self.progress.check(sim)
    }

    /// Liveness and the `resource` verdict.
    pub fn check_end<M: GuardedWriteMsg>(&mut self, sim: &Sim<M>) -> Vec<Verdict> {
        let mut verdicts = progress_verdict(Some(&mut self.progress), sim);
        verdicts.push(resource_verdict(sim, self.resource, "resource"));
        verdicts
    }

    /// The clients' history with the lease expiry of every holder that
    /// crashed, as an `expire` operation at that time.
    pub fn judged_history<'s, M: GuardedWriteMsg>(&self, sim: &'s Sim<M>) -> Cow<'s, History> {
        crate::lock_expiry::judged_history(sim, &self.clients, self.lease)
    }
}
