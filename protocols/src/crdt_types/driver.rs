//! The driver of every type of the family: builds replicas and clients,
//! and judges a run by liveness (every request answered once the network
//! heals), convergence (live replicas agree at the end) and the type's
//! final read. Not by linearizability: a CRDT promises neither a total
//! order nor recency. Where replicas forget on causal stability (op mode's
//! log, state mode's tombstones with `compaction`), a `compaction` verdict
//! says whether they forgot everything by the end, and the most they held.

use std::marker::PhantomData;

use serde::Deserialize;
use sim_core::{Finding, Nanos, NodeId, NodeStatus, Sim, Topology, MILLIS, SECONDS};

use super::client::Client;
use super::replica::{Gossip, Msg, Replica};
use super::{Config, Mode, ReplicatedType, NO_DEDUP};
use crate::crdt::timestamp::ClockKind;
use crate::progress::{progress_checker, progress_verdict, ProgressChecker};
use crate::replica_agreement::{convergence, group_live};
use harness::{Driver, InputError, Registrar, Scenario, Verdict};

/// The `[options]` of a scenario of the family.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Options {
    /// Replication: `state` (delta gossip) or `ops` (causal broadcast).
    mode: Mode,
    /// State mode: drop tombstones once causally stable.
    compaction: bool,
    /// Gossip interval (op mode: the anti-entropy and stability interval).
    #[serde(with = "sim_core::time::timer")]
    gossip: Nanos,
    /// Peers each round's deltas go to.
    fanout: usize,
    /// Every this many rounds, the whole state goes to one peer.
    full_every: u64,
    /// Clients stop this long before the end, so gossip can quiesce.
    #[serde(with = "sim_core::time::setting")]
    quiesce: Nanos,
    /// LWW timestamps: `wall`, `lamport` or `hlc`.
    clock: ClockKind,
    /// `early-compaction`: tombstones dropped this long after they are learned.
    #[serde(with = "sim_core::time::setting")]
    compact_after: Nanos,
    /// `compressed-vclock`: entries a write's context keeps.
    vclock_entries: usize,
    /// Judge liveness. The check looks at every link after every event,
    /// which dominates a run of hundreds of replicas: a scale measurement
    /// switches it off (the verdict is then `unknown`).
    liveness: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            mode: Mode::State,
            compaction: false,
            gossip: 20 * MILLIS,
            fanout: 2,
            full_every: 5,
            quiesce: SECONDS,
            clock: ClockKind::Hlc,
            compact_after: 50 * MILLIS,
            vclock_entries: 1,
            liveness: true,
        }
    }
}

pub struct TypeDriver<T: ReplicatedType> {
    options: Options,
    config: Config,
    replicas: Vec<u32>,
    progress: Option<ProgressChecker>,
    _type: PhantomData<T>,
}

impl<T: ReplicatedType> TypeDriver<T> {
    pub fn new(scenario: &Scenario) -> Result<Self, InputError> {
        let err = |field: &str, m: String| scenario.error(field, m);
        for bug in &scenario.bugs {
            if !T::BUGS.contains(&bug.as_str()) {
                return Err(err(
                    "bugs",
                    format!(
                        "unknown bug `{bug}` for {} (known: {})",
                        T::NAME,
                        T::BUGS.join(", ")
                    ),
                ));
            }
        }
        let options: Options = scenario.protocol_options()?;
        let positive = [
            ("options.gossip", options.gossip == 0),
            ("options.fanout", options.fanout == 0),
            ("options.full_every", options.full_every == 0),
            ("options.vclock_entries", options.vclock_entries == 0),
        ];
        if let Some((field, _)) = positive.iter().find(|(_, zero)| *zero) {
            return Err(err(field, "must be above 0".into()));
        }
        if options.quiesce >= scenario.duration {
            return Err(err(
                "options.quiesce",
                "quiesce must be shorter than the run".into(),
            ));
        }
        if scenario.bugs.iter().any(|b| b == NO_DEDUP) && options.mode != Mode::Ops {
            return Err(err(
                "bugs",
                format!(
                    "bug `{NO_DEDUP}` is a bug of the op-based mode: set options.mode = \"ops\""
                ),
            ));
        }
        if options.compaction && !(T::COMPACTS && options.mode == Mode::State) {
            return Err(err(
                "options.compaction",
                format!(
                    "compaction of tombstones is for the state-based mode of a type that keeps them (or-set), not {} in {:?} mode",
                    T::NAME,
                    options.mode
                ),
            ));
        }
        let config = Config {
            mode: options.mode,
            compaction: options.compaction,
            clock: options.clock,
            compact_after: options.compact_after,
            vclock_entries: options.vclock_entries,
            bugs: scenario.bugs.clone(),
        };
        Ok(Self {
            options,
            config,
            replicas: Vec::new(),
            progress: None,
            _type: PhantomData,
        })
    }
}

impl<T: ReplicatedType> Driver for TypeDriver<T> {
    type Msg = Msg<T>;

    fn build(&mut self, scenario: &Scenario, sim: &mut Sim<Msg<T>>) -> Topology {
        let peers: Vec<u32> = (0..scenario.replicas).collect();
        let gossip = Gossip {
            every: self.options.gossip,
            fanout: self.options.fanout,
            full_every: self.options.full_every,
        };
        let shared: std::sync::Arc<[NodeId]> = peers.clone().into();
        for _ in 0..scenario.replicas {
            let (peers, config) = (shared.clone(), self.config.clone());
            sim.add_node(move || Replica::<T>::new(peers.clone(), gossip, config.clone()));
        }
        sim.end_workload_at(scenario.duration - self.options.quiesce);
        let clients = (0..scenario.workload.clients)
            .map(|_| {
                let (replicas, spec) = (peers.clone(), scenario.workload.clone());
                sim.add_node(move || Client::<T>::new(replicas.clone(), spec.clone()))
            })
            .collect();
        self.replicas = peers.clone();
        let topology = Topology {
            replicas: peers,
            clients,
        };
        // A client awaits one replica's answer.
        self.progress = self.options.liveness.then(|| {
            progress_checker(scenario, &topology, scenario.workload.timeout(), true)
                .awaiting_one_round_trip()
        });
        topology
    }

    fn check_step(&mut self, sim: &Sim<Msg<T>>) -> Option<Finding> {
        self.progress.as_mut()?.check(sim)
    }

    fn check_end(&mut self, sim: &Sim<Msg<T>>) -> Vec<Verdict> {
        let mut verdicts = progress_verdict(self.progress.as_mut(), sim);
        if !self.options.liveness {
            verdicts.push(Verdict::unknown(
                "liveness",
                "not judged: options.liveness = false",
            ));
        }
        let held = group_live(sim, &self.replicas, |p: &Replica<T>| {
            p.state().final_value()
        });
        verdicts.push(convergence(&held));
        let name = format!("final read ({})", T::NAME);
        let mut problems = Vec::new();
        for (text, (value, _)) in &held {
            match T::final_read(sim.history(), value) {
                Err(e) => problems.push(format!("malformed history: {e}")),
                Ok(found) if held.len() > 1 => {
                    problems.extend(found.into_iter().map(|p| format!("{text}: {p}")))
                }
                Ok(found) => problems.extend(found),
            }
        }
        verdicts.push(if problems.is_empty() {
            Verdict::pass(&name)
        } else {
            Verdict::fail(&name, problems.join("\n"))
        });
        if self.config.mode == Mode::Ops || self.config.compaction {
            verdicts.push(self.compaction_verdict(sim));
        }
        verdicts
    }

    fn model(&self) -> Option<&'static str> {
        None
    }
}

impl<T: ReplicatedType> TypeDriver<T> {
    /// Once every replica is up and has reported to every other, all that
    /// was removed or delivered is stable: nothing of it may be left. A
    /// replica down at the end holds stability back: not judged.
    fn compaction_verdict(&self, sim: &Sim<Msg<T>>) -> Verdict {
        const CHECK: &str = "compaction";
        let mut left = Vec::new();
        let mut peak = 0;
        for &r in &self.replicas {
            if sim.status(r) != NodeStatus::Up {
                return Verdict::unknown(CHECK, format!("n{r} is down at the end"));
            }
            if let Some(p) = sim.process_as::<Replica<T>>(r) {
                peak = peak.max(p.peak_retained());
                if p.retained() > 0 {
                    left.push(format!("n{r} holds {}", p.retained()));
                }
            }
        }
        if left.is_empty() {
            let mut v = Verdict::pass(CHECK);
            v.detail = format!("all forgotten at the end; at most {peak} held by a replica");
            v
        } else {
            Verdict::fail(
                CHECK,
                format!(
                    "tombstones or operations left at the end: {}",
                    left.join(", ")
                ),
            )
        }
    }
}

/// Registers type `T` as the protocol `T::NAME`.
pub fn register_type<T: ReplicatedType>(registrar: &mut impl Registrar) {
    registrar.protocol(T::NAME, T::DESCRIPTION, TypeDriver::<T>::new);
}
