//! Driver of signed Byzantine agreement (`protocols::byz_agreement`):
//! replicas `0..n` (n = 3f+1), learners after them. Checked after every
//! event, on the replicas honest at that moment (the kernel says which are
//! Byzantine now, whether a schedule named them or a generator drew them):
//! `agreement` (no two honest replicas decide differently in one instance)
//! and `validity` (an honest replica decides an input of some replica of
//! that instance). Termination is the shared liveness check: once faults
//! heal, decisions come within the bound. A generator draws at most f
//! faulty replicas at once unless the scenario sets `max_faulty`.

use std::collections::BTreeMap;

use harness::{Driver, InputError, Registrar, Scenario, Verdict};
use serde::Deserialize;
use sim_core::{Finding, Nanos, NodeId, Sim, Topology, MILLIS};

use super::client::Learner;
use super::{is_input, AgreementMsg, Bugs, Config, Replica};
use crate::progress::{progress_checker, progress_verdict, ProgressChecker};

const AGREEMENT: &str = "agreement";
const VALIDITY: &str = "validity";

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Options {
    /// A round's first timeout (doubling with each round change, capped).
    #[serde(with = "sim_core::time::timer")]
    round_timeout: Nanos,
    /// Between a decision and the next instance.
    #[serde(with = "sim_core::time::setting")]
    pause: Nanos,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            round_timeout: 50 * MILLIS,
            pause: 5 * MILLIS,
        }
    }
}

pub struct ByzAgreement {
    cfg: Config,
    /// Per instance, the first honest decision and who made it.
    agreed: BTreeMap<u64, (u64, NodeId)>,
    /// Per replica, the highest instance whose decision was compared.
    checked: BTreeMap<NodeId, u64>,
    progress: Option<ProgressChecker>,
}

impl ByzAgreement {
    pub fn new(scenario: &Scenario) -> Result<Self, InputError> {
        let err = |field: &str, m: String| scenario.error(field, m);
        let bugs = Bugs::parse(&scenario.bugs).map_err(|m| err("bugs", m))?;
        let o: Options = scenario.protocol_options()?;
        crate::bft_size::require_three_f_plus_one(scenario, "byz-agreement")?;
        if o.round_timeout == 0 {
            return Err(err(
                "options.round_timeout",
                "round_timeout must be above 0".into(),
            ));
        }
        Ok(Self {
            cfg: Config {
                replicas: (0..scenario.replicas).collect(),
                round_timeout: o.round_timeout,
                pause: o.pause,
                bugs,
            },
            agreed: BTreeMap::new(),
            checked: BTreeMap::new(),
            progress: None,
        })
    }

    /// Compares each honest replica's new decisions with the first honest
    /// decision of the instance, and with the instance's inputs. Decisions
    /// only grow (a restarted replica recovers them), so each step looks at
    /// the new ones only; a Byzantine replica's are skipped for good.
    fn check_decisions(&mut self, sim: &Sim<AgreementMsg>) -> Option<Finding> {
        let n = self.cfg.replicas.len();
        for &id in &self.cfg.replicas {
            let Some(replica) = sim.process_as::<Replica>(id) else {
                continue;
            };
            let newest = replica.decisions().next_back().map(|(k, _)| k + 1);
            let done = newest.unwrap_or(0);
            let from = self.checked.get(&id).copied().unwrap_or(0);
            if done <= from {
                continue;
            }
            self.checked.insert(id, done);
            if sim.is_byzantine(id) {
                continue;
            }
            for (k, value) in replica.decisions().filter(|&(k, _)| k >= from) {
                let finding = |kind: &str, message: String| Finding {
                    kind: kind.into(),
                    time: sim.now(),
                    node: Some(id),
                    message,
                };
                if !is_input(k, value, n) {
                    let message =
                        format!("replica {id} decided {value:#x} in instance {k}, nobody's input");
                    return Some(finding(VALIDITY, message));
                }
                let (agreed, by) = *self.agreed.entry(k).or_insert((value, id));
                if agreed != value {
                    let message = format!(
                        "replica {id} decided {value:#x} in instance {k}, replica {by} decided {agreed:#x}"
                    );
                    return Some(finding(AGREEMENT, message));
                }
            }
        }
        None
    }
}

impl Driver for ByzAgreement {
    /// 3f+1 replicas with f = 1, one learner, and a generator that draws at
    /// most f faulty replicas at once.
    fn fill_defaults(scenario: &mut Scenario, given: &dyn Fn(&str) -> bool) {
        if !given("replicas") {
            scenario.replicas = 4;
        }
        if !given("workload.clients") {
            scenario.workload.clients = 1;
        }
        let f = scenario.replicas.saturating_sub(1) / 3;
        if let Some(generator) = scenario.faults.generator.as_mut() {
            if !given("faults.generator.max_faulty") {
                generator.max_faulty = Some(f);
            }
        }
    }

    type Msg = AgreementMsg;

    fn build(&mut self, scenario: &Scenario, sim: &mut Sim<AgreementMsg>) -> Topology {
        let replicas = (0..scenario.replicas)
            .map(|_| {
                let cfg = self.cfg.clone();
                sim.add_node(move || Replica::new(cfg.clone()))
            })
            .collect();
        let clients = (0..scenario.workload.clients)
            .map(|_| {
                let (cfg, spec) = (self.cfg.clone(), scenario.workload.clone());
                sim.add_node(move || Learner::new(cfg.clone(), spec.clone()))
            })
            .collect();
        let topology = Topology { replicas, clients };
        // A learner's failed ask (not decided yet) is no progress; a decision is.
        self.progress = Some(progress_checker(
            scenario,
            &topology,
            self.cfg.round_timeout,
            false,
        ));
        topology
    }

    fn check_step(&mut self, sim: &Sim<AgreementMsg>) -> Option<Finding> {
        self.check_decisions(sim)
            .or_else(|| self.progress.as_mut()?.check(sim))
    }

    fn check_end(&mut self, sim: &Sim<AgreementMsg>) -> Vec<Verdict> {
        progress_verdict(self.progress.as_mut(), sim)
    }

    fn invariants(&self) -> Vec<&'static str> {
        vec![AGREEMENT, VALIDITY]
    }

    /// Decisions are judged by the invariants, not as a register history.
    fn model(&self) -> Option<&'static str> {
        None
    }

    /// `byz_agreement.decided`: instances every replica decided;
    /// `byz_agreement.round_changes`: the most round changes one replica made.
    fn stats(&self, sim: &Sim<AgreementMsg>) -> Vec<(String, f64)> {
        let replicas = || {
            self.cfg
                .replicas
                .iter()
                .filter_map(|&id| sim.process_as::<Replica>(id))
        };
        let decided = replicas().map(|r| r.decisions().count()).min().unwrap_or(0);
        let round_changes = replicas()
            .map(|r| r.round_changes_made())
            .max()
            .unwrap_or(0);
        vec![
            ("byz_agreement.decided".into(), decided as f64),
            ("byz_agreement.round_changes".into(), round_changes as f64),
        ]
    }
}

/// Makes `byz-agreement` known to `registrar`.
pub fn register(registrar: &mut impl Registrar) {
    registrar.protocol(
        "byz-agreement",
        "signed Byzantine agreement: propose, vote, commit, decide with 2f+1 of 3f+1, rotating proposers",
        ByzAgreement::new,
    );
}
