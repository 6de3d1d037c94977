//! Driver of PBFT (`protocols::pbft`): replicas `0..n` (n = 3f+1), clients
//! after them; the `agreement` invariant over the replicas honest at each
//! event (the kernel says which are Byzantine now, whether a schedule named
//! them or a generator drew them), and the client history judged as a
//! cas-register per key. A generator draws at most f faulty replicas at once
//! unless the scenario sets `max_faulty`.

use std::collections::BTreeMap;

use crate::pbft::{AuthMode, Bugs, Client, ClientConfig, PbftMsg, Replica, ReplicaConfig};
use crate::progress::ProgressChecker;
use serde::Deserialize;
use sim_core::{Finding, Nanos, NodeId, Sim, Topology, MILLIS, SECONDS};

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
    #[serde(with = "sim_core::time::timer")]
    view_change_timeout: Nanos,
    /// Retries of a request (broadcast to all replicas) before a client gives up.
    retries: u32,
    /// K: executed sequence numbers between checkpoints (the log keeps 2K).
    checkpoint_interval: u64,
    /// B: most requests the primary puts in one pre-prepare (1: no batching).
    batch: usize,
    /// Most sequence numbers proposed and not executed yet (default: the
    /// whole window, 2K); a batch closes early while the pipeline has room.
    pipeline: Option<u64>,
    /// The read-only optimisation for reads (see `ClientConfig::read_only`).
    read_only: bool,
    /// How requests are authenticated: "signatures" or "macs".
    auth: AuthMode,
    /// With "macs": backups that must relay a request before the primary
    /// proposes it (default f+1; 0: the naive design).
    request_vouches: Option<usize>,
    /// The last N clients mount the faulty-client attack (needs "macs").
    faulty_clients: u32,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            view_change_timeout: 150 * MILLIS,
            retries: 5,
            checkpoint_interval: 16,
            batch: 1,
            pipeline: None,
            read_only: false,
            auth: AuthMode::Signatures,
            request_vouches: None,
            faulty_clients: 0,
        }
    }
}

pub struct Pbft {
    replica: ReplicaConfig,
    client: ClientConfig,
    /// Per sequence number, the digest the first honest replica executed there
    /// (trimmed below what every replica's check has passed).
    agreed: BTreeMap<u64, (u64, NodeId)>,
    /// Per replica, how far its executions were compared already.
    checked: BTreeMap<NodeId, u64>,
    progress: Option<ProgressChecker>,
    /// The most any replica held in its log and message stores (see
    /// `Replica::retained`), sampled every [`SAMPLE_EVERY`] of virtual time.
    max_retained: usize,
    next_sample: Nanos,
    /// Events handled in each [`RATE_WINDOW`] of virtual time: the event
    /// rate over the run, flat when nothing piles up.
    events: Vec<u64>,
    /// The last this many clients are faulty (see `ClientConfig::faulty`).
    faulty_clients: u32,
}

/// How often the log size is sampled.
const SAMPLE_EVERY: Nanos = 100 * MILLIS;
/// The width of one point of the event-rate curve.
const RATE_WINDOW: Nanos = 5 * SECONDS;

impl Pbft {
    pub fn new(scenario: &Scenario) -> Result<Self, InputError> {
        let err = |field: &str, m: String| scenario.error(field, m);
        let bugs = Bugs::parse(&scenario.bugs).map_err(|m| err("bugs", m))?;
        let o: Options = scenario.protocol_options()?;
        crate::bft_size::require_three_f_plus_one(scenario, "pbft")?;
        if o.view_change_timeout == 0 {
            return Err(err(
                "options.view_change_timeout",
                "view_change_timeout must be above 0".into(),
            ));
        }
        if o.checkpoint_interval == 0 {
            return Err(err(
                "options.checkpoint_interval",
                "checkpoint_interval must be at least 1".into(),
            ));
        }
        if o.batch == 0 {
            return Err(err("options.batch", "batch must be at least 1".into()));
        }
        let window = 2 * o.checkpoint_interval;
        let pipeline = o.pipeline.unwrap_or(window);
        if pipeline == 0 || pipeline > window {
            return Err(err(
                "options.pipeline",
                format!(
                    "pipeline must be in 1..={window} (2 × checkpoint_interval), got {pipeline}"
                ),
            ));
        }
        let f = (scenario.replicas as usize - 1) / 3;
        let request_vouches = o.request_vouches.unwrap_or(f + 1);
        if request_vouches > 3 * f {
            return Err(err(
                "options.request_vouches",
                format!(
                    "at most the {} backups can vouch, got {request_vouches}",
                    3 * f
                ),
            ));
        }
        if o.faulty_clients > scenario.workload.clients {
            return Err(err(
                "options.faulty_clients",
                format!(
                    "{} faulty clients of {} clients",
                    o.faulty_clients, scenario.workload.clients
                ),
            ));
        }
        if o.faulty_clients > 0 && o.auth != AuthMode::Macs {
            return Err(err(
                "options.faulty_clients",
                "the faulty-client attack needs auth = \"macs\" (a signature is right for all replicas or none)".into(),
            ));
        }
        let replicas: Vec<NodeId> = (0..scenario.replicas).collect();
        let multicast = o.auth == AuthMode::Macs && request_vouches > 0;
        Ok(Self {
            replica: ReplicaConfig {
                replicas: replicas.clone(),
                view_change_timeout: o.view_change_timeout,
                checkpoint_interval: o.checkpoint_interval,
                batch: o.batch,
                pipeline,
                auth: o.auth,
                request_vouches,
                bugs,
            },
            client: ClientConfig {
                replicas,
                spec: scenario.workload.clone(),
                retries: o.retries,
                read_only: o.read_only,
                auth: o.auth,
                multicast,
                faulty: false,
                bugs,
            },
            faulty_clients: o.faulty_clients,
            agreed: BTreeMap::new(),
            checked: BTreeMap::new(),
            progress: None,
            max_retained: 0,
            next_sample: 0,
            events: Vec::new(),
        })
    }
}

impl Driver for Pbft {
    /// 3f+1 replicas with f = 1; the shared default is 3. A generator
    /// draws at most f faulty replicas at once (the bound PBFT promises to
    /// survive; a minority would be more) unless `max_faulty` is given.
    fn fill_defaults(scenario: &mut Scenario, given: &dyn Fn(&str) -> bool) {
        if !given("replicas") {
            scenario.replicas = 4;
        }
        let f = scenario.replicas.saturating_sub(1) / 3;
        if let Some(generator) = scenario.faults.generator.as_mut() {
            if !given("faults.generator.max_faulty") {
                generator.max_faulty = Some(f);
            }
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
        let honest = scenario.workload.clients - self.faulty_clients;
        let clients = (0..scenario.workload.clients)
            .map(|i| {
                let cfg = ClientConfig {
                    faulty: i >= honest,
                    ..self.client.clone()
                };
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
        // Called once per event handled.
        let window = (sim.now() / RATE_WINDOW) as usize;
        if self.events.len() <= window {
            self.events.resize(window + 1, 0);
        }
        self.events[window] += 1;
        if sim.now() >= self.next_sample {
            self.next_sample = sim.now() + SAMPLE_EVERY;
            let retained = self.replicas(sim).map(|(_, r)| r.retained()).max();
            self.max_retained = self.max_retained.max(retained.unwrap_or(0));
        }
        self.check_agreement(sim)
            .or_else(|| self.progress.as_mut()?.check(sim))
    }

    /// `pbft.max_retained`: the most entries one replica held in its log and
    /// message stores at any sample (bounded by the watermarks, not the
    /// run); `pbft.stable_checkpoint`, the highest; `pbft.events_per_s.tNNNs`,
    /// the event rate in each 5 s window starting at NNN s (whole windows).
    fn stats(&self, sim: &Sim<PbftMsg>) -> Vec<(String, f64)> {
        let stable = self
            .replicas(sim)
            .map(|(_, r)| r.stable_checkpoint())
            .max()
            .unwrap_or(0);
        let whole = (sim.now() / RATE_WINDOW) as usize;
        let seconds = (RATE_WINDOW / SECONDS) as usize;
        let mut stats = vec![
            ("pbft.max_retained".into(), self.max_retained as f64),
            ("pbft.stable_checkpoint".into(), stable as f64),
        ];
        stats.extend(self.events.iter().take(whole).enumerate().map(|(i, &n)| {
            let name = format!("pbft.events_per_s.t{:03}s", i * seconds);
            (name, n as f64 / seconds as f64)
        }));
        stats
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
            let Some(replica) = sim.process_as::<Replica>(id) else {
                continue;
            };
            let executed = replica.executed();
            let done = executed.keys().next_back().copied().unwrap_or(0);
            if sim.is_byzantine(id) {
                // What it executes while Byzantine is not trusted, and is
                // not compared once it is honest again either.
                self.checked.insert(id, done);
                continue;
            }
            let from = self.checked.get(&id).copied().unwrap_or(0);
            // A restarted replica (or one that fetched a checkpoint's state)
            // starts over: compare again from what it holds.
            let from = if done < from { 0 } else { from };
            if done == from {
                continue;
            }
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
        // Every replica was compared up to its own `checked`: what lies
        // below all of them will not be needed again (a replica that
        // restarts later fetches a checkpoint past it).
        let window = 2 * self.replica.checkpoint_interval;
        if self.agreed.len() as u64 > 4 * window {
            let low = self.checked.values().min().copied().unwrap_or(0);
            let newest = self.agreed.keys().next_back().copied().unwrap_or(0);
            let low = low.min(newest.saturating_sub(window));
            self.agreed = self.agreed.split_off(&low);
        }
        None
    }

    fn replicas<'a>(
        &'a self,
        sim: &'a Sim<PbftMsg>,
    ) -> impl Iterator<Item = (NodeId, &'a Replica)> + 'a {
        self.replica
            .replicas
            .iter()
            .filter_map(|&id| Some((id, sim.process_as::<Replica>(id)?)))
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
