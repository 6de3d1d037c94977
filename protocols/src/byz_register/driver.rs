//! Driver of the Byzantine quorum register (`protocols::byz_register`):
//! replicas `0..n`, tolerating f = ⌊(n−1)/3⌋ Byzantine ones, clients after
//! them, the client history judged as a register per key. Clients are
//! honest; whatever a Byzantine replica says reaches the history only
//! through what a client believed, so no check needs to skip it. A generator
//! draws at most f faulty replicas at once unless `max_faulty` is given.

use harness::{Driver, InputError, Registrar, Scenario, Verdict};
use sim_core::{Finding, Sim, Topology};

use super::{Bugs, Cluster, RegisterMsg, Replica};
use crate::progress::{progress_verdict, ProgressChecker};
use crate::{quorum_client, reads_and_writes};

pub struct ByzRegister {
    cluster: Cluster,
    progress: Option<ProgressChecker>,
}

impl ByzRegister {
    pub fn new(scenario: &Scenario) -> Result<Self, InputError> {
        let bugs = Bugs::parse(&scenario.bugs).map_err(|m| scenario.error("bugs", m))?;
        quorum_client::check_scenario(scenario)?;
        if scenario.replicas < 4 {
            return Err(scenario.error(
                "replicas",
                format!(
                    "byz-register needs n >= 3f+1 replicas with f >= 1 (at least 4), got {}",
                    scenario.replicas
                ),
            ));
        }
        Ok(Self {
            cluster: Cluster {
                replicas: (0..scenario.replicas).collect(),
                f: f_of(scenario.replicas),
                bugs,
            },
            progress: None,
        })
    }
}

/// The most Byzantine replicas n replicas tolerate: n ≥ 3f+1.
fn f_of(replicas: u32) -> usize {
    (replicas.saturating_sub(1) / 3) as usize
}

impl Driver for ByzRegister {
    /// 3f+1 replicas with f = 1, no compare-and-set, and a generator that
    /// draws at most f faulty replicas at once.
    fn fill_defaults(scenario: &mut Scenario, given: &dyn Fn(&str) -> bool) {
        if !given("replicas") {
            scenario.replicas = 4;
        }
        reads_and_writes::fill_defaults(scenario, given);
        let f = f_of(scenario.replicas) as u32;
        if let Some(generator) = scenario.faults.generator.as_mut() {
            if !given("faults.generator.max_faulty") {
                generator.max_faulty = Some(f);
            }
        }
    }

    type Msg = RegisterMsg;

    fn build(&mut self, scenario: &Scenario, sim: &mut Sim<RegisterMsg>) -> Topology {
        let replicas = (0..scenario.replicas)
            .map(|_| {
                let cluster = self.cluster.clone();
                sim.add_node(move || Replica::new(cluster.clone()))
            })
            .collect();
        let (topology, progress) =
            quorum_client::add_clients(sim, scenario, replicas, &self.cluster);
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

/// Makes `byz-register` known to `registrar`.
pub fn register(registrar: &mut impl Registrar) {
    registrar.protocol(
        "byz-register",
        "Byzantine quorum register: signed, timestamped values on quorums of (n+f+1)/2, n >= 3f+1",
        ByzRegister::new,
    );
}
