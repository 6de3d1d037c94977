//! Driver of the CRDT replicas (`protocols::crdt`): judged by convergence,
//! not linearizability (a CRDT promises eventual agreement, not a total order).

use std::sync::Arc;

use crate::crdt::gossip::Gossip;
use crate::crdt::spread::SpreadChecker;
use crate::crdt::{Bugs, Client, CrdtMsg, Replica};
use crate::progress::ProgressChecker;
use checkers::convergence::{
    check_convergence, ConvergenceSpec, Counter, GrowOnlySet, ReplicaState,
};
use serde::Deserialize;
use serde_json::Value;
use sim_core::{Finding, History, Nanos, NodeId, NodeStatus, Sim, Topology, MILLIS, SECONDS};

use crate::progress::{progress_checker, progress_verdict};
use harness::Driver;
use harness::Verdict;
use harness::{InputError, Registrar, Scenario};

/// The `[options]` of a crdt scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Options {
    /// Gossip interval: each replica sends its deltas this often.
    #[serde(with = "sim_core::time::timer")]
    gossip: Nanos,
    /// Peers each round's deltas go to.
    fanout: usize,
    /// Every this many rounds the whole state goes to one peer.
    full_every: u64,
    /// Clients stop this long before the end, so gossip can quiesce.
    #[serde(with = "sim_core::time::setting")]
    quiesce: Nanos,
    /// Once the faults heal, replicas include what any of them knew within
    /// this long (on a fast network; scaled to a slower one).
    #[serde(with = "sim_core::time::setting")]
    converge_within: Nanos,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            gossip: 20 * MILLIS,
            fanout: 2,
            full_every: 5,
            quiesce: SECONDS,
            converge_within: SECONDS,
        }
    }
}

pub struct Crdt {
    bugs: Bugs,
    options: Options,
    replicas: Vec<u32>,
    progress: Option<ProgressChecker>,
    spread: Option<SpreadChecker>,
    agreement: Agreement,
}

/// When the live replicas came to hold one state after the clients
/// stopped: the run's convergence time, a `stats` figure.
#[derive(Default)]
struct Agreement {
    clients_stop: Nanos,
    next_look: Nanos,
    /// Since when every live replica has held the same state (`None`: they
    /// differ, or the clients have not stopped).
    since: Option<Nanos>,
}

impl Agreement {
    /// Looks once per virtual millisecond: comparing a thousand digests
    /// after every event would cost more than the events.
    fn watch(&mut self, sim: &Sim<CrdtMsg>, replicas: &[NodeId]) {
        let now = sim.now();
        if now < self.clients_stop.max(self.next_look) {
            return;
        }
        self.next_look = now + MILLIS;
        let mut digests = replicas
            .iter()
            .filter(|&&r| sim.status(r) == NodeStatus::Up)
            .filter_map(|&r| sim.process_as::<Replica>(r))
            .map(|p| p.state().digest());
        let first = digests.next();
        let agree = digests.all(|d| Some(d) == first);
        self.since = match (agree, self.since) {
            (true, None) => Some(now),
            (true, since) => since,
            (false, _) => None,
        };
    }
}

impl Crdt {
    pub fn new(scenario: &Scenario) -> Result<Self, InputError> {
        let err = |field: &str, m: String| scenario.error(field, m);
        let bugs = Bugs::parse(&scenario.bugs).map_err(|m| err("bugs", m))?;
        let options: Options = scenario.protocol_options()?;
        if options.gossip == 0 {
            return Err(err(
                "options.gossip",
                "the gossip interval must be above 0".into(),
            ));
        }
        for (field, zero) in [
            ("options.fanout", options.fanout == 0),
            ("options.full_every", options.full_every == 0),
        ] {
            if zero {
                return Err(err(field, "must be above 0".into()));
            }
        }
        if options.converge_within == 0 {
            return Err(err(
                "options.converge_within",
                "the convergence bound must be above 0".into(),
            ));
        }
        if options.quiesce >= scenario.duration {
            return Err(err(
                "options.quiesce",
                "quiesce must be shorter than the run".into(),
            ));
        }
        Ok(Self {
            bugs,
            options,
            replicas: Vec::new(),
            progress: None,
            spread: None,
            agreement: Agreement::default(),
        })
    }
}

/// The history's operations of one function only (`add` for the set, `incr`
/// for the counter), so each data type is judged by its own operations.
fn only(history: &History, f: &str) -> History {
    History {
        entries: history
            .entries
            .iter()
            .filter(|e| e.f == f)
            .cloned()
            .collect(),
    }
}

fn convergence(
    name: &str,
    spec: &dyn ConvergenceSpec,
    states: &[ReplicaState],
    history: &History,
) -> Verdict {
    match check_convergence(spec, states, history) {
        Err(e) => Verdict::fail(name, format!("malformed history: {e}")),
        Ok(report) if report.is_ok() => Verdict::pass(name),
        Ok(report) => Verdict::fail(name, report.violations.join("\n")),
    }
}

impl Driver for Crdt {
    type Msg = CrdtMsg;

    fn build(&mut self, scenario: &Scenario, sim: &mut Sim<CrdtMsg>) -> Topology {
        let peers: Vec<u32> = (0..scenario.replicas).collect();
        let shared: Arc<[NodeId]> = peers.clone().into();
        let gossip = Gossip {
            every: self.options.gossip,
            fanout: self.options.fanout,
            full_every: self.options.full_every,
        };
        let bugs = self.bugs;
        for _ in 0..scenario.replicas {
            let peers = Arc::clone(&shared);
            sim.add_node(move || Replica::new(Arc::clone(&peers), gossip, bugs));
        }
        let stop_at = scenario.duration - self.options.quiesce;
        self.agreement.clients_stop = stop_at;
        sim.end_workload_at(stop_at);
        let clients = (0..scenario.workload.clients)
            .map(|_| {
                let (replicas, spec) = (peers.clone(), scenario.workload.clone());
                sim.add_node(move || Client::new(replicas.clone(), spec.clone(), bugs))
            })
            .collect();
        self.replicas = peers.clone();
        let topology = Topology {
            replicas: peers,
            clients,
        };
        // A client awaits one replica's answer: its timeout need hold one
        // round trip, not two.
        self.progress = Some(
            progress_checker(scenario, &topology, scenario.workload.timeout(), true)
                .awaiting_one_round_trip(),
        );
        self.spread = Some(SpreadChecker::new(
            self.replicas.clone(),
            self.options.converge_within,
        ));
        topology
    }

    fn check_step(&mut self, sim: &Sim<CrdtMsg>) -> Option<Finding> {
        self.agreement.watch(sim, &self.replicas);
        let progress = self.progress.as_mut()?;
        if let Some(f) = progress.check(sim) {
            return Some(f);
        }
        let healed = progress.judged_interval();
        self.spread.as_mut()?.check(sim, healed)
    }

    fn check_end(&mut self, sim: &Sim<CrdtMsg>) -> Vec<Verdict> {
        let live: Vec<(u32, &Replica)> = self
            .replicas
            .iter()
            .filter(|&&r| sim.status(r) == NodeStatus::Up)
            .filter_map(|&r| sim.process_as::<Replica>(r).map(|p| (r, p)))
            .collect();
        let states = |f: &dyn Fn(&Replica) -> Value| -> Vec<ReplicaState> {
            live.iter()
                .map(|(id, p)| ReplicaState::new(format!("n{id}"), f(p)))
                .collect()
        };
        let sets = states(&|p| Value::from(p.state().set().iter().collect::<Vec<_>>()));
        let counters = states(&|p| Value::from(p.state().counter()));
        let history = sim.history();
        let mut verdicts = progress_verdict(self.progress.as_mut(), sim);
        let healed = self.progress.as_ref().and_then(|p| p.judged_interval());
        verdicts.extend(self.spread.as_mut().map(|s| s.verdict(sim, healed)));
        verdicts.extend([
            convergence(
                "convergence (g-set)",
                &GrowOnlySet,
                &sets,
                &only(history, "add"),
            ),
            convergence(
                "convergence (counter)",
                &Counter,
                &counters,
                &only(history, "incr"),
            ),
        ]);
        verdicts
    }

    fn model(&self) -> Option<&'static str> {
        None
    }

    /// `convergence_ms`: how long after the clients stopped the live
    /// replicas came to hold one state for good (absent if they never did).
    fn stats(&self, _sim: &Sim<CrdtMsg>) -> Vec<(String, f64)> {
        self.agreement
            .since
            .map(|t| {
                let ms = t.saturating_sub(self.agreement.clients_stop) as f64 / 1e6;
                vec![("convergence_ms".to_string(), ms)]
            })
            .unwrap_or_default()
    }
}

/// Makes `crdt` known to `registrar`.
pub fn register(registrar: &mut impl Registrar) {
    registrar.protocol(
        "crdt",
        "state-based grow-only set and counter converging by gossip",
        Crdt::new,
    );
}
