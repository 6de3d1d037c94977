//! Driver of Redlock (`protocols::redlock`): its history is judged as a mutex.

use std::borrow::Cow;

use crate::lock_run::{add_clients_and_resource, LockRun};
use crate::redlock::{Bugs, Client, ClientConfig, LockMsg, Server};
use serde::Deserialize;
use sim_core::history::History;
use sim_core::{Finding, Nanos, Sim, Topology, MILLIS};

use harness::Driver;
use harness::Verdict;
use harness::{InputError, Registrar, Scenario};

/// The `[options]` of a redlock scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Options {
    #[serde(with = "sim_core::time::timer")]
    ttl: Nanos,
    #[serde(with = "sim_core::time::timer")]
    hold: Nanos,
    /// Clock-drift allowance; by default 1% of the ttl plus 2 ms.
    #[serde(default, with = "sim_core::time::setting")]
    drift: Nanos,
    #[serde(with = "sim_core::time::timer")]
    timeout: Nanos,
    #[serde(with = "sim_core::time::setting")]
    backoff: Nanos,
    /// Whether the guarded resource fences: it rejects a write whose token
    /// is below one it accepted. Redlock's writes carry no token, so this
    /// changes nothing; it is here so that every lock design takes the same
    /// `--set options.fencing=...` and shows that.
    fencing: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            ttl: 100 * MILLIS,
            hold: 30 * MILLIS,
            drift: 0,
            timeout: 50 * MILLIS,
            backoff: 20 * MILLIS,
            fencing: true,
        }
    }
}

pub struct Redlock {
    cfg: ClientConfig,
    fencing: bool,
    run: Option<LockRun>,
}

impl Redlock {
    pub fn new(scenario: &Scenario) -> Result<Self, InputError> {
        let err = |field: &str, m: String| scenario.error(field, m);
        let bugs = Bugs::parse(&scenario.bugs).map_err(|m| err("bugs", m))?;
        let o: Options = scenario.protocol_options()?;
        if o.ttl == 0 || o.timeout == 0 {
            return Err(err("options.ttl", "ttl and timeout must be above 0".into()));
        }
        let drift = if o.drift == 0 {
            o.ttl / 100 + 2 * MILLIS
        } else {
            o.drift
        };
        // A lock is valid for ttl - elapsed - drift: with drift >= ttl it
        // never is, no lock is ever granted and the run only fails liveness.
        if drift >= o.ttl {
            let (field, given) = if o.drift == 0 {
                ("options.ttl", "the default drift, ttl / 100 + 2ms")
            } else {
                ("options.drift", "drift")
            };
            return Err(err(
                field,
                format!(
                    "{given} ({}) must be below ttl ({}): options.drift at or above \
                     options.ttl leaves no lock valid",
                    sim_core::time::duration::format(drift),
                    sim_core::time::duration::format(o.ttl)
                ),
            ));
        }
        Ok(Self {
            cfg: ClientConfig {
                servers: (0..scenario.replicas).collect(),
                // After the servers and the clients.
                resource: scenario.replicas + scenario.workload.clients,
                ttl: o.ttl,
                drift,
                hold: o.hold,
                timeout: o.timeout,
                backoff: o.backoff,
                bugs,
            },
            fencing: o.fencing,
            run: None,
        })
    }
}

impl Driver for Redlock {
    type Msg = LockMsg;

    fn build(&mut self, scenario: &Scenario, sim: &mut Sim<LockMsg>) -> Topology {
        let replicas = (0..scenario.replicas)
            .map(|_| sim.add_node(Server::default))
            .collect();
        let cfg = self.cfg.clone();
        let client = move || Client::new(cfg.clone());
        let (clients, resource) = add_clients_and_resource(sim, scenario, client, self.fencing);
        debug_assert_eq!(resource, self.cfg.resource);
        // The resource is no lock server: faults aimed at replicas leave it be.
        let topology = Topology { replicas, clients };
        let lease = self.cfg.ttl.saturating_sub(self.cfg.drift);
        let run = LockRun::new(scenario, &topology, resource, self.cfg.timeout, lease);
        self.run = Some(run);
        topology
    }

    fn check_step(&mut self, sim: &Sim<LockMsg>) -> Option<Finding> {
        self.run.as_mut()?.check_step(sim)
    }

    fn check_end(&mut self, sim: &Sim<LockMsg>) -> Vec<Verdict> {
        self.run
            .as_mut()
            .map_or_else(Vec::new, |r| r.check_end(sim))
    }

    fn model(&self) -> Option<&'static str> {
        Some("lock")
    }

    /// The clients' history with the lease expiry of every holder that
    /// crashed, as an `expire` operation of [`EXPIRY_PROCESS`] at that time.
    fn judged_history<'s>(&self, sim: &'s Sim<LockMsg>) -> Cow<'s, History> {
        match &self.run {
            Some(run) => run.judged_history(sim),
            None => Cow::Borrowed(sim.history()),
        }
    }
}

/// Makes `redlock` known to `registrar`.
pub fn register(registrar: &mut impl Registrar) {
    registrar.protocol(
        "redlock",
        "Redlock: a lease lock over independent lock servers, judged as a mutex",
        Redlock::new,
    );
}
