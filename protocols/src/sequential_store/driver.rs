//! Driver of the sequential store: a sequencer, replicas, clients at their
//! local replica, and the verdicts of its model.

use serde::Deserialize;
use serde_json::json;
use sim_core::{Finding, Nanos, Sim, Topology, MILLIS, SECONDS};

use super::replica::{Msg, Replica};
use super::session::SequentialSession;
use crate::store_client::{self, StoreRun};
use checkers::{sequential, CheckOptions};
use harness::{Driver, InputError, Registrar, Scenario, Verdict};
use sim_core::history::History;

pub const BUGS: [&str; 1] = ["wall-clock-order"];

/// The `[options]` of a sequential-store scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Options {
    /// How often a replica submits again what the log does not show yet,
    /// and asks the sequencer for the log past its prefix.
    #[serde(with = "sim_core::time::timer")]
    retry: Nanos,
    /// Clients stop this long before the end, so replicas can catch up.
    #[serde(with = "sim_core::time::setting")]
    quiesce: Nanos,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            retry: 20 * MILLIS,
            quiesce: SECONDS,
        }
    }
}

pub struct SequentialStore {
    options: Options,
    /// Search steps the sequential-consistency check may take.
    budget: u64,
    wall_clock_order: bool,
    run: StoreRun,
}

impl SequentialStore {
    pub fn new(scenario: &Scenario) -> Result<Self, InputError> {
        let err = |field: &str, m: String| scenario.error(field, m);
        let [wall_clock_order] =
            crate::bug_names::switched_on("sequential-store", &scenario.bugs, BUGS)
                .map_err(|m| err("bugs", m))?;
        let o: Options = scenario.protocol_options()?;
        store_client::check_scenario(scenario, o.quiesce)?;
        if o.retry == 0 {
            return Err(err("options.retry", "must be above 0".into()));
        }
        Ok(Self {
            options: o,
            budget: scenario.checks.linearizability_budget,
            wall_clock_order,
            run: StoreRun::default(),
        })
    }
}

/// `sequential consistency` of the clients' history
/// (`checkers::sequential`: one order of all operations that each client's
/// program order and the registers allow, real time ignored), searching at
/// most `budget` steps.
pub fn sequential_verdict(history: &History, budget: u64) -> Verdict {
    const CHECK: &str = "sequential consistency";
    let options = CheckOptions::with_max_steps(budget);
    match sequential::check_history_named("cas-register", history, &options) {
        Err(e) => Verdict::fail(CHECK, format!("malformed history: {e}")),
        Ok(report) => match report.verdict {
            checkers::Verdict::Linearizable => Verdict::pass(CHECK),
            checkers::Verdict::NotLinearizable => {
                let first = report.counterexamples.first();
                let detail = first.map_or_else(|| report.verdict_text().into(), |c| c.render());
                Verdict::fail(CHECK, detail)
            }
            checkers::Verdict::Unknown => Verdict::unknown(
                CHECK,
                report.unknown_reason.unwrap_or_else(|| "undecided".into()),
            ),
        },
    }
}

impl Driver for SequentialStore {
    type Msg = Msg;

    fn fill_defaults(scenario: &mut Scenario, given: &dyn Fn(&str) -> bool) {
        crate::reads_and_writes::fill_defaults(scenario, given);
    }

    fn build(&mut self, scenario: &Scenario, sim: &mut Sim<Msg>) -> Topology {
        let (retry, bug) = (self.options.retry, self.wall_clock_order);
        self.run.build(
            scenario,
            sim,
            self.options.quiesce,
            move |peers| Replica::new(peers.to_vec(), retry, bug),
            |i, peers| SequentialSession::new(peers[i as usize % peers.len()]),
        )
    }

    fn check_step(&mut self, sim: &Sim<Msg>) -> Option<Finding> {
        self.run.check_step(sim)
    }

    fn check_end(&mut self, sim: &Sim<Msg>) -> Vec<Verdict> {
        let (mut verdicts, _) = self
            .run
            .liveness_and_convergence(sim, |r: &Replica| json!(r.values()));
        verdicts.push(sequential_verdict(sim.history(), self.budget));
        verdicts
    }

    /// Reads at a lagging replica are stale: not linearizable by design.
    fn model(&self) -> Option<&'static str> {
        None
    }
}

/// Makes `sequential-store` known to `registrar`.
pub fn register(registrar: &mut impl Registrar) {
    registrar.protocol(
        "sequential-store",
        "sequentially consistent key-value store: writes ordered by a sequencer, reads at the client's local replica",
        SequentialStore::new,
    );
}
