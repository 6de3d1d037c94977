//! Driver of the lease lock (`protocols::lease_lock`): one store, clients,
//! the history judged as a mutex with fencing tokens.

use std::borrow::Cow;

use crate::lease_lock::{resource_verdict, Bugs, Client, ClientConfig, LeaseMsg, Resource, Store};
use crate::progress::{progress_checker, progress_verdict, ProgressChecker};
use harness::{Driver, InputError, Registrar, Scenario, Verdict};
use serde::Deserialize;
use sim_core::history::History;
use sim_core::{Finding, Nanos, NodeId, Sim, Topology, MILLIS};

/// The `[options]` of a lease-lock scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Options {
    #[serde(with = "sim_core::time::timer")]
    lease: Nanos,
    #[serde(with = "sim_core::time::timer")]
    hold: Nanos,
    /// Clock-drift allowance; by default 1% of the lease plus 2 ms.
    #[serde(with = "sim_core::time::setting")]
    drift: Nanos,
    #[serde(with = "sim_core::time::timer")]
    timeout: Nanos,
    #[serde(with = "sim_core::time::setting")]
    backoff: Nanos,
    #[serde(with = "sim_core::time::setting")]
    max_backoff: Nanos,
    /// The resource rejects writes with a token below one it accepted.
    fencing: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            lease: 100 * MILLIS,
            hold: 150 * MILLIS,
            drift: 0,
            timeout: 30 * MILLIS,
            backoff: 5 * MILLIS,
            max_backoff: 80 * MILLIS,
            fencing: true,
        }
    }
}

pub struct LeaseLock {
    cfg: ClientConfig,
    clients: Vec<NodeId>,
    progress: Option<ProgressChecker>,
    fencing: bool,
}

impl LeaseLock {
    pub fn new(scenario: &Scenario) -> Result<Self, InputError> {
        let err = |field: &str, m: String| scenario.error(field, m);
        let bugs = Bugs::parse(&scenario.bugs).map_err(|m| err("bugs", m))?;
        if scenario.replicas != 1 {
            return Err(err(
                "replicas",
                format!(
                    "the lease lock runs on one store server, not {}",
                    scenario.replicas
                ),
            ));
        }
        let o: Options = scenario.protocol_options()?;
        if o.lease == 0 || o.timeout == 0 {
            return Err(err(
                "options.lease",
                "lease and timeout must be above 0".into(),
            ));
        }
        let drift = if o.drift == 0 {
            o.lease / 100 + 2 * MILLIS
        } else {
            o.drift
        };
        Ok(Self {
            clients: Vec::new(),
            cfg: ClientConfig {
                store: 0,
                // After the store and the clients.
                resource: 1 + scenario.workload.clients,
                lease: o.lease,
                drift,
                hold: o.hold,
                timeout: o.timeout,
                backoff: o.backoff,
                max_backoff: o.max_backoff,
                bugs,
            },
            progress: None,
            fencing: o.fencing,
        })
    }
}

impl Driver for LeaseLock {
    type Msg = LeaseMsg;

    fn fill_defaults(scenario: &mut Scenario, given: &dyn Fn(&str) -> bool) {
        if !given("replicas") {
            scenario.replicas = 1;
        }
    }

    fn build(&mut self, scenario: &Scenario, sim: &mut Sim<LeaseMsg>) -> Topology {
        let store = sim.add_node(Store::default);
        let clients = (0..scenario.workload.clients)
            .map(|_| {
                let cfg = self.cfg.clone();
                sim.add_node(move || Client::new(cfg.clone()))
            })
            .collect();
        let fencing = self.fencing;
        let resource = sim.add_node(move || Resource::new(fencing));
        debug_assert_eq!(resource, self.cfg.resource);
        let replicas = vec![store, resource];
        let topology = Topology { replicas, clients };
        self.clients = topology.clients.clone();
        // Once the faults heal, a lock is granted again (a refusal is no progress).
        self.progress = Some(progress_checker(
            scenario,
            &topology,
            self.cfg.timeout,
            false,
        ));
        topology
    }

    fn check_step(&mut self, sim: &Sim<LeaseMsg>) -> Option<Finding> {
        self.progress.as_mut()?.check(sim)
    }

    fn check_end(&mut self, sim: &Sim<LeaseMsg>) -> Vec<Verdict> {
        let mut verdicts = progress_verdict(self.progress.as_mut(), sim);
        verdicts.push(resource_verdict(sim, self.cfg.resource, "resource"));
        verdicts
    }

    fn model(&self) -> Option<&'static str> {
        Some("lock")
    }

    /// The clients' history with the lease expiry of every holder that
    /// crashed (see `crate::lock_expiry`).
    fn judged_history<'s>(&self, sim: &'s Sim<LeaseMsg>) -> Cow<'s, History> {
        let lease = self.cfg.lease.saturating_sub(self.cfg.drift);
        crate::lock_expiry::judged_history(sim, &self.clients, lease)
    }
}

/// Makes `lease-lock` known to `registrar`.
pub fn register(registrar: &mut impl Registrar) {
    registrar.protocol(
        "lease-lock",
        "lease lock on a conditional-write store (DynamoDB-style), version numbers as fencing tokens",
        LeaseLock::new,
    );
}
