//! Driver of PBFT (`protocols::pbft`): replicas `0..n` (n = 3f+1), clients
//! after them; the `agreement` invariant over the honest replicas after every
//! event, and the client history judged as a cas-register per key.

use std::collections::{BTreeMap, BTreeSet};

use crate::pbft::{Bugs, Client, ClientConfig, PbftMsg, Replica, ReplicaConfig};
use crate::progress::ProgressChecker;
use fault_injection::{Fault, GenKind};
use serde::Deserialize;
use sim_core::time::duration as dur;
use sim_core::{Finding, Nanos, NodeId, Sim, Topology, MILLIS};

use crate::progress::{progress_checker, progress_verdict};
use harness::Driver;
use harness::Verdict;
use harness::{InputError, Registrar, Scenario};

const AGREEMENT: &str = "agreement";

/// The `[options]` of a pbft scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Options {
    /// How long a replica waits for a request to execute before asking for a
    /// new view (doubling with each view change that does not complete).
    #[serde(with = "dur")]
    view_change_timeout: Nanos,
    /// Retries of a request (broadcast to all replicas) before a client gives up.
    retries: u32,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            view_change_timeout: 150 * MILLIS,
            retries: 5,
        }
    }
}

pub struct Pbft {
    replica: ReplicaConfig,
    client: ClientConfig,
    /// Replicas some fault makes Byzantine: the invariant trusts none of them.
    byzantine: BTreeSet<NodeId>,
    /// Per sequence number, the digest the first honest replica executed there.
    agreed: BTreeMap<u64, (u64, NodeId)>,
    /// Per replica, how far its executions were compared already.
    checked: BTreeMap<NodeId, u64>,
    progress: Option<ProgressChecker>,
}

impl Pbft {
    pub fn new(scenario: &Scenario) -> Result<Self, InputError> {
        let err = |field: &str, m: String| scenario.error(field, m);
        let bugs = Bugs::parse(&scenario.bugs).map_err(|m| err("bugs", m))?;
        let o: Options = scenario.protocol_options()?;
        if scenario.replicas < 4 || !(scenario.replicas - 1).is_multiple_of(3) {
            return Err(err(
                "replicas",
                format!(
                    "pbft needs n = 3f+1 replicas with f >= 1 (4, 7, 10, ...), got {}",
                    scenario.replicas
                ),
            ));
        }
        if o.view_change_timeout == 0 {
            return Err(err(
                "options.view_change_timeout",
                "view_change_timeout must be above 0".into(),
            ));
        }
        // The invariant must know which replicas to trust, so Byzantine
        // faults must name their node rather than leave it to a draw.
        let mut byzantine = BTreeSet::new();
        for (i, action) in scenario.faults.schedule.iter().enumerate() {
            if let Fault::Byzantine { node, .. } = &action.fault {
                let node = node.ok_or_else(|| {
                    err(
                        "faults.schedule",
                        format!("action {i}: a byzantine fault in a pbft scenario must name its node (the agreement check skips it)"),
                    )
                })?;
                byzantine.insert(node);
            }
        }
        let drawn = scenario.faults.generator.as_ref().is_some_and(|g| {
            g.rates
                .get(&GenKind::Byzantine)
                .is_some_and(|&rate| rate > 0.0)
        });
        if drawn {
            return Err(err(
                "faults.generator",
                "a pbft scenario cannot draw byzantine faults (the agreement check must know which replicas to skip): name them in faults.schedule".into(),
            ));
        }
        let replicas: Vec<NodeId> = (0..scenario.replicas).collect();
        Ok(Self {
            replica: ReplicaConfig {
                replicas: replicas.clone(),
                view_change_timeout: o.view_change_timeout,
                bugs,
            },
            client: ClientConfig {
                replicas,
                spec: scenario.workload.clone(),
                retries: o.retries,
                bugs,
            },
            byzantine,
            agreed: BTreeMap::new(),
            checked: BTreeMap::new(),
            progress: None,
        })
    }
}

impl Driver for Pbft {
    /// 3f+1 replicas with f = 1; the shared default is 3.
    fn fill_defaults(scenario: &mut Scenario, given: &dyn Fn(&str) -> bool) {
        if !given("replicas") {
            scenario.replicas = 4;
        }
    }

    type Msg = PbftMsg;

    fn build(&mut self, scenario: &Scenario, sim: &mut Sim<PbftMsg>) -> Topology {
        let replicas = (0..scenario.replicas)
            .map(|_| {
                let cfg = self.replica.clone();
                sim.add_node(move || Replica::new(cfg.clone()))
            })
            .collect();
        let clients = (0..scenario.workload.clients)
            .map(|_| {
                let cfg = self.client.clone();
                sim.add_node(move || Client::new(cfg.clone()))
            })
            .collect();
        let topology = Topology { replicas, clients };
        let timeout = self
            .replica
            .view_change_timeout
            .min(scenario.workload.timeout());
        self.progress = Some(progress_checker(scenario, &topology, timeout, true));
        topology
    }

    /// Agreement (see [`Pbft::check_agreement`]), then liveness.
    fn check_step(&mut self, sim: &Sim<PbftMsg>) -> Option<Finding> {
        self.check_agreement(sim)
            .or_else(|| self.progress.as_mut()?.check(sim))
    }

    fn check_end(&mut self, sim: &Sim<PbftMsg>) -> Vec<Verdict> {
        progress_verdict(self.progress.as_mut(), sim)
    }

    fn invariants(&self) -> Vec<&'static str> {
        vec![AGREEMENT]
    }

    fn has_leader(&self) -> bool {
        true
    }

    fn leader(&self, sim: &Sim<PbftMsg>) -> Option<NodeId> {
        self.replica
            .replicas
            .iter()
            .copied()
            .find(|&r| sim.process_as::<Replica>(r).is_some_and(|p| p.is_primary()))
    }
}

impl Pbft {
    /// No two honest replicas execute different proposals at one sequence
    /// number. Executions only grow, so each step compares only the new ones.
    fn check_agreement(&mut self, sim: &Sim<PbftMsg>) -> Option<Finding> {
        for &id in &self.replica.replicas {
            if self.byzantine.contains(&id) {
                continue;
            }
            let Some(replica) = sim.process_as::<Replica>(id) else {
                continue;
            };
            let executed = replica.executed();
            let done = executed.keys().next_back().copied().unwrap_or(0);
            let from = self.checked.get(&id).copied().unwrap_or(0);
            // A restarted replica starts over: compare again from the start.
            let from = if done < from { 0 } else { from };
            for (&seq, &d) in executed.range(from + 1..) {
                let (agreed, by) = *self.agreed.entry(seq).or_insert((d, id));
                if agreed != d {
                    return Some(Finding {
                        kind: AGREEMENT.into(),
                        time: sim.now(),
                        node: Some(id),
                        message: format!(
                            "replica {id} executed proposal {d:#x} at sequence {seq}, replica {by} executed {agreed:#x}"
                        ),
                    });
                }
            }
            self.checked.insert(id, done);
        }
        None
    }
}

/// Makes `pbft` known to `registrar`.
pub fn register(registrar: &mut impl Registrar) {
    registrar.protocol(
        "pbft",
        "PBFT: Byzantine-fault-tolerant replication over 3f+1 replicas, with view changes",
        Pbft::new,
    );
}
