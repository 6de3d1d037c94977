//! Driver of the quorum-replicated register (`protocols::quorum_register`).

use crate::quorum_register::{Bugs, Client, RegisterMsg, Replica};
use sim_core::{Sim, Topology};

use harness::Driver;
use harness::{InputError, Registrar, Scenario};

pub struct QuorumRegister {
    bugs: Bugs,
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
        Ok(Self { bugs })
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
        Topology { replicas, clients }
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
