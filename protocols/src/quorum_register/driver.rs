//! Driver of the quorum-replicated register (`protocols::quorum_register`).

use harness::{Driver, InputError, Registrar, Scenario, Verdict};
use sim_core::{Finding, Sim, Topology};

use crate::progress::{progress_verdict, ProgressChecker};
use crate::quorum_client;
use crate::quorum_register::{Bugs, Majority, RegisterMsg, Replica};
use crate::reads_and_writes;

pub struct QuorumRegister {
    bugs: Bugs,
    progress: Option<ProgressChecker>,
}

impl QuorumRegister {
    pub fn new(scenario: &Scenario) -> Result<Self, InputError> {
        let bugs = Bugs::parse(&scenario.bugs).map_err(|m| scenario.error("bugs", m))?;
        quorum_client::check_scenario(scenario)?;
        Ok(Self {
            bugs,
            progress: None,
        })
    }
}

impl Driver for QuorumRegister {
    /// The register has no compare-and-set; the shared default mixes some in.
    fn fill_defaults(scenario: &mut Scenario, given: &dyn Fn(&str) -> bool) {
        reads_and_writes::fill_defaults(scenario, given);
    }

    type Msg = RegisterMsg;

    fn build(&mut self, scenario: &Scenario, sim: &mut Sim<RegisterMsg>) -> Topology {
        let bugs = self.bugs;
        let replicas: Vec<u32> = (0..scenario.replicas)
            .map(|_| sim.add_node(move || Replica::new(bugs)))
            .collect();
        let majority = Majority::new(replicas.clone(), bugs);
        let (topology, progress) = quorum_client::add_clients(sim, scenario, replicas, &majority);
        self.progress = Some(progress);
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
