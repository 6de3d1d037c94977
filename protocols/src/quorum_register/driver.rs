//! Driver of the quorum-replicated register (`protocols::quorum_register`).

use crate::quorum_register::{Bugs, Client, RegisterMsg, Replica};

use crate::progress::ProgressChecker;
use harness::Driver;
use harness::{InputError, Registrar, Scenario};
use sim_core::{Finding, Sim, Topology};

use crate::progress::{progress_checker, progress_verdict};
use harness::Verdict;

pub struct QuorumRegister {
    bugs: Bugs,
    progress: Option<ProgressChecker>,
}

impl QuorumRegister {
    pub fn new(scenario: &Scenario) -> Result<Self, InputError> {
        let bugs = Bugs::parse(&scenario.bugs).map_err(|m| scenario.error("bugs", m))?;
        if scenario.workload.cas_fraction > 0.0 {
            return Err(scenario.error(
                "workload.cas_fraction",
                "quorum-register has no compare-and-set: set workload.cas_fraction = 0",
            ));
        }
        if let Some(key) = scenario.options.keys().next() {
            let field = format!("options.{key}");
            return Err(scenario.error(&field, "quorum-register takes no options"));
        }
        Ok(Self {
            bugs,
            progress: None,
        })
    }
}

impl Driver for QuorumRegister {
    /// The register has no compare-and-set; the shared default mixes some in.
    fn fill_defaults(scenario: &mut Scenario, given: &dyn Fn(&str) -> bool) {
        if !given("workload.cas_fraction") {
            scenario.workload.cas_fraction = 0.0;
        }
    }

    type Msg = RegisterMsg;

    fn build(&mut self, scenario: &Scenario, sim: &mut Sim<RegisterMsg>) -> Topology {
        let bugs = self.bugs;
        let replicas: Vec<u32> = (0..scenario.replicas)
            .map(|_| sim.add_node(move || Replica::new(bugs)))
            .collect();
        let clients = (0..scenario.workload.clients)
            .map(|_| {
                let (replicas, spec) = (replicas.clone(), scenario.workload.clone());
                sim.add_node(move || Client::new(replicas.clone(), spec.clone(), bugs))
            })
            .collect();
        let topology = Topology { replicas, clients };
        // An operation that times out is indeterminate, not an answer.
        self.progress = Some(progress_checker(
            scenario,
            &topology,
            scenario.workload.timeout(),
            true,
        ));
        topology
    }

    fn check_step(&mut self, sim: &Sim<RegisterMsg>) -> Option<Finding> {
        self.progress.as_mut()?.check(sim)
    }

    fn check_end(&mut self, sim: &Sim<RegisterMsg>) -> Vec<Verdict> {
        progress_verdict(self.progress.as_mut(), sim)
    }
}

/// Makes `quorum-register` known to `registrar`.
pub fn register(registrar: &mut impl Registrar) {
    registrar.protocol(
        "quorum-register",
        "multi-writer atomic register on majority quorums (ABD), one per key",
        QuorumRegister::new,
    );
}
