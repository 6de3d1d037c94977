//! Driver of Redlock (`protocols::redlock`): its history is judged as a mutex.

use std::borrow::Cow;

use crate::lease_lock::{resource_verdict, Resource};
use crate::progress::ProgressChecker;
use crate::redlock::{Bugs, Client, ClientConfig, LockMsg, Server};
use serde::Deserialize;
use sim_core::history::History;
use sim_core::{Finding, Nanos, NodeId, Sim, Topology, MILLIS};

use crate::progress::{progress_checker, progress_verdict};
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
    clients: Vec<NodeId>,
    progress: Option<ProgressChecker>,
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
            clients: Vec::new(),
            progress: None,
        })
    }
}

impl Driver for Redlock {
    type Msg = LockMsg;

    fn build(&mut self, scenario: &Scenario, sim: &mut Sim<LockMsg>) -> Topology {
        let replicas = (0..scenario.replicas)
            .map(|_| sim.add_node(Server::default))
            .collect();
        let clients = (0..scenario.workload.clients)
            .map(|_| {
                let cfg = self.cfg.clone();
                sim.add_node(move || Client::new(cfg.clone()))
            })
            .collect();
        let fencing = self.fencing;
        let resource = sim.add_node(move || Resource::<LockMsg>::new(fencing));
        debug_assert_eq!(resource, self.cfg.resource);
        // The resource is no lock server: faults aimed at replicas leave it be.
        let topology = Topology { replicas, clients };
        self.clients = topology.clients.clone();
        // Liveness of a lock: once the faults heal, a lock is granted again
        // (a refusal is no progress).
        self.progress = Some(progress_checker(
            scenario,
            &topology,
            self.cfg.timeout,
            false,
        ));
        topology
    }

    fn check_step(&mut self, sim: &Sim<LockMsg>) -> Option<Finding> {
        self.progress.as_mut()?.check(sim)
    }

    fn check_end(&mut self, sim: &Sim<LockMsg>) -> Vec<Verdict> {
        let mut verdicts = progress_verdict(self.progress.as_mut(), sim);
        verdicts.push(resource_verdict(sim, self.cfg.resource, "resource"));
        verdicts
    }

    fn model(&self) -> Option<&'static str> {
        Some("lock")
    }

    /// The clients' history with the lease expiry of every holder that
    /// crashed, as an `expire` operation of [`EXPIRY_PROCESS`] at that time.
    fn judged_history<'s>(&self, sim: &'s Sim<LockMsg>) -> Cow<'s, History> {
        let lease = self.cfg.ttl.saturating_sub(self.cfg.drift);
        crate::lock_expiry::judged_history(sim, &self.clients, lease)
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
