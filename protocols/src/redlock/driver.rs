//! Driver of Redlock (`protocols::redlock`): its history is judged as a mutex.

use std::borrow::Cow;

use crate::progress::ProgressChecker;
use crate::redlock::{Bugs, Client, ClientConfig, LockMsg, Server};
use serde::Deserialize;
use serde_json::Value;
use sim_core::history::{History, HistoryEntry};
use sim_core::time::duration as dur;
use sim_core::{Finding, Nanos, NodeId, OpType, Sim, Topology, MILLIS};

use crate::progress::{progress_checker, progress_verdict};
use harness::Driver;
use harness::Verdict;
use harness::{InputError, Registrar, Scenario};

/// The `[options]` of a redlock scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Options {
    #[serde(with = "dur")]
    ttl: Nanos,
    #[serde(with = "dur")]
    hold: Nanos,
    /// Clock-drift allowance; by default 1% of the ttl plus 2 ms.
    #[serde(default, with = "dur")]
    drift: Nanos,
    #[serde(with = "dur")]
    timeout: Nanos,
    #[serde(with = "dur")]
    backoff: Nanos,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            ttl: 100 * MILLIS,
            hold: 30 * MILLIS,
            drift: 0,
            timeout: 50 * MILLIS,
            backoff: 20 * MILLIS,
        }
    }
}

pub struct Redlock {
    cfg: ClientConfig,
    clients: Vec<NodeId>,
    progress: Option<ProgressChecker>,
}

/// The history process of the lease expiries the driver adds: no client has it.
pub const EXPIRY_PROCESS: u64 = u64::MAX;

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
        Ok(Self {
            cfg: ClientConfig {
                servers: (0..scenario.replicas).collect(),
                ttl: o.ttl,
                drift,
                hold: o.hold,
                timeout: o.timeout,
                backoff: o.backoff,
                bugs,
            },
            clients: Vec::new(),
            progress: None,
        })
    }

    /// When each client incarnation that ended by a crash while it may have
    /// held the lock lets it go: its last acquire's invocation + ttl − drift
    /// allowance, the end of the validity that client would have computed
    /// (on its monotonic clock, whose drift the allowance covers). Before
    /// then its lease was valid and a second grant is a violation; after
    /// then Redlock promises the dead client nothing. "May have held" means
    /// that its last acquire did not fail and no release of it completed.
    fn crashed_holders(&self, sim: &Sim<LockMsg>) -> Vec<(Nanos, u64)> {
        let lease = self.cfg.ttl.saturating_sub(self.cfg.drift);
        let nodes = u64::from(sim.node_count());
        let crashed = |p: u64| {
            let node = (p % nodes) as NodeId;
            self.clients.contains(&node) && p / nodes < u64::from(sim.incarnation(node))
        };
        // Per crashed process: its last acquire's invocation, while it may hold.
        let mut holding = std::collections::BTreeMap::new();
        let mut last_f = std::collections::BTreeMap::new();
        for e in &sim.history().entries {
            if !crashed(e.process) {
                continue;
            }
            let f = match e.op_type {
                OpType::Invoke => {
                    last_f.insert(e.process, e.f.as_str());
                    e.f.as_str()
                }
                _ => last_f.get(&e.process).copied().unwrap_or_default(),
            };
            match (f, e.op_type) {
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
        progress_verdict(self.progress.as_mut(), sim)
    }

    fn model(&self) -> Option<&'static str> {
        Some("lock")
    }

    /// The clients' history with the lease expiry of every holder that
    /// crashed, as an `expire` operation of [`EXPIRY_PROCESS`] at that time.
    fn judged_history<'s>(&self, sim: &'s Sim<LockMsg>) -> Cow<'s, History> {
        let expiries = self.crashed_holders(sim);
        if expiries.is_empty() {
            return Cow::Borrowed(sim.history());
        }
        let entries = &sim.history().entries;
        let mut judged = History::new();
        let mut rest = entries.iter().peekable();
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
}

/// Makes `redlock` known to `registrar`.
pub fn register(registrar: &mut impl Registrar) {
    registrar.protocol(
        "redlock",
        "Redlock: a lease lock over independent lock servers, judged as a mutex",
        Redlock::new,
    );
}
