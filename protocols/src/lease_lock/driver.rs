//! Driver of the lease lock (`protocols::lease_lock`): one store, clients,
//! the history judged as a mutex with fencing tokens.

use std::borrow::Cow;

use crate::lease_lock::{Bugs, Client, ClientConfig, LeaseMsg, Store};
use crate::lock_run::{add_clients_and_resource, LockRun};
use harness::{Driver, InputError, Registrar, Scenario, Verdict};
use serde::Deserialize;
use sim_core::history::History;
use sim_core::{Finding, Nanos, Sim, Topology, MILLIS};

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
    run: Option<LockRun>,
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
            run: None,
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
        let cfg = self.cfg.clone();
        let client = move || Client::new(cfg.clone());
        let (clients, resource) = add_clients_and_resource(sim, scenario, client, self.fencing);
        debug_assert_eq!(resource, self.cfg.resource);
        let replicas = vec![store, resource];
        let topology = Topology { replicas, clients };
        let lease = self.cfg.lease.saturating_sub(self.cfg.drift);
        let run = LockRun::new(scenario, &topology, resource, self.cfg.timeout, lease);
        self.run = Some(run);
        topology
    }

    fn check_step(&mut self, sim: &Sim<LeaseMsg>) -> Option<Finding> {
        self.run.as_mut()?.check_step(sim)
    }

    fn check_end(&mut self, sim: &Sim<LeaseMsg>) -> Vec<Verdict> {
        self.run
            .as_mut()
            .map_or_else(Vec::new, |r| r.check_end(sim))
    }

    fn model(&self) -> Option<&'static str> {
        Some("lock")
    }

    /// The clients' history with the lease expiry of every holder that
    /// crashed (see `crate::lock_expiry`).
    fn judged_history<'s>(&self, sim: &'s Sim<LeaseMsg>) -> Cow<'s, History> {
        match &self.run {
            Some(run) => run.judged_history(sim),
            None => Cow::Borrowed(sim.history()),
        }
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
