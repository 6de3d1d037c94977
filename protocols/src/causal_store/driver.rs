//! Driver of the causal store: replicas, clients with home replicas, and
//! the verdicts of its model: `causal consistency` of the history,
//! `convergence` and liveness.

use serde::Deserialize;
use serde_json::json;
use sim_core::{Finding, Nanos, Sim, Topology, MILLIS, SECONDS};

use super::replica::{Msg, Replica};
use super::session::CausalSession;
use crate::store_client::{self, StoreRun};
use checkers::causal::{check_causal, CausalVerdict};
use harness::{Driver, InputError, Registrar, Scenario, Verdict};

pub const BUGS: [&str; 1] = ["visible-before-deps"];

/// The `[options]` of a causal-store scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Options {
    /// Anti-entropy interval.
    #[serde(with = "sim_core::time::timer")]
    gossip: Nanos,
    /// Probability that a client moves to another replica before an operation.
    switch: f64,
    /// Clients stop this long before the end, so replication can quiesce.
    #[serde(with = "sim_core::time::setting")]
    quiesce: Nanos,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            gossip: 20 * MILLIS,
            switch: 0.05,
            quiesce: SECONDS,
        }
    }
}

pub struct CausalStore {
    options: Options,
    visible_early: bool,
    run: StoreRun,
}

impl CausalStore {
    pub fn new(scenario: &Scenario) -> Result<Self, InputError> {
        let err = |field: &str, m: String| scenario.error(field, m);
        let [visible_early] = crate::bug_names::switched_on("causal-store", &scenario.bugs, BUGS)
            .map_err(|m| err("bugs", m))?;
        let o: Options = scenario.protocol_options()?;
        store_client::check_scenario(scenario, o.quiesce)?;
        if o.gossip == 0 {
            return Err(err("options.gossip", "must be above 0".into()));
        }
        if !(0.0..=1.0).contains(&o.switch) {
            return Err(err(
                "options.switch",
                format!("a probability in [0, 1], got {}", o.switch),
            ));
        }
        Ok(Self {
            options: o,
            visible_early,
            run: StoreRun::default(),
        })
    }
}

/// `causal consistency` of the clients' history (`checkers::causal`).
pub fn causal_verdict(history: &sim_core::history::History) -> Verdict {
    const CHECK: &str = "causal consistency";
    match check_causal(history, None) {
        Err(e) => Verdict::fail(CHECK, format!("malformed history: {e}")),
        Ok(report) => match report.verdict {
            CausalVerdict::Causal => Verdict::pass(CHECK),
            CausalVerdict::NotCausal => Verdict::fail(CHECK, report.render()),
            CausalVerdict::Unknown | CausalVerdict::NotApplicable => {
                Verdict::unknown(CHECK, report.render())
            }
        },
    }
}

impl Driver for CausalStore {
    type Msg = Msg;

    fn fill_defaults(scenario: &mut Scenario, given: &dyn Fn(&str) -> bool) {
        crate::reads_and_writes::fill_defaults(scenario, given);
    }

    fn build(&mut self, scenario: &Scenario, sim: &mut Sim<Msg>) -> Topology {
        let (gossip, early, switch) =
            (self.options.gossip, self.visible_early, self.options.switch);
        self.run.build(
            scenario,
            sim,
            self.options.quiesce,
            move |peers| Replica::new(peers.to_vec(), gossip, early),
            move |i, peers| {
                let home = peers[i as usize % peers.len()];
                CausalSession::new(peers.to_vec(), home, switch)
            },
        )
    }

    fn check_step(&mut self, sim: &Sim<Msg>) -> Option<Finding> {
        self.run.check_step(sim)
    }

    fn check_end(&mut self, sim: &Sim<Msg>) -> Vec<Verdict> {
        let (mut verdicts, _) = self
            .run
            .liveness_and_convergence(sim, |r: &Replica| json!(r.values()));
        verdicts.push(causal_verdict(sim.history()));
        verdicts
    }

    /// Replicas apply concurrent writes in different orders: not
    /// linearizable, and not meant to be.
    fn model(&self) -> Option<&'static str> {
        None
    }
}

/// Makes `causal-store` known to `registrar`.
pub fn register(registrar: &mut impl Registrar) {
    registrar.protocol(
        "causal-store",
        "causally consistent key-value store: session dependencies as vector clocks, causal delivery, anti-entropy",
        CausalStore::new,
    );
}
