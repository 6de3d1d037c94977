//! How clustersim builds and judges a raft-rs cluster, and the Raft
//! invariants it checks from outside raft-rs after every event.

use std::collections::BTreeMap;

use harness::sim_core::{Finding, NodeId, Sim, Topology};
use harness::{Driver, InputError, Scenario};

use crate::client::Client;
use crate::msg::Msg;
use crate::replica::{Bugs, Replica};

/// The wrapper's known bugs, by the name a scenario's `bugs` gives them.
pub const BUGS: &[&str] = &["ack-before-commit", "no-sync"];

pub const ELECTION_SAFETY: &str = "election-safety";
pub const LEADER_COMPLETENESS: &str = "leader-completeness";
pub const STATE_MACHINE_SAFETY: &str = "state-machine-safety";

pub struct RaftRs {
    bugs: Bugs,
    replicas: Vec<NodeId>,
    /// The leader of each term seen so far.
    leaders: BTreeMap<u64, NodeId>,
    /// Each index some replica applied: the entry's term and data. Applied
    /// means committed, so no replica may ever apply another entry there.
    committed: BTreeMap<u64, (u64, Vec<u8>)>,
    /// Per replica, its incarnation and how many of its applied entries
    /// were checked already.
    checked: BTreeMap<NodeId, (u32, usize)>,
}

impl RaftRs {
    /// Refuses, naming the field, what this driver cannot run.
    pub fn new(scenario: &Scenario) -> Result<Self, InputError> {
        let mut bugs = Bugs::default();
        for bug in &scenario.bugs {
            match bug.as_str() {
                "ack-before-commit" => bugs.ack_before_commit = true,
                "no-sync" => bugs.no_sync = true,
                other => {
                    let message = format!("unknown bug `{other}` (known: {})", BUGS.join(", "));
                    return Err(scenario.error("bugs", message));
                }
            }
        }
        if let Some(key) = scenario.options.keys().next() {
            let field = format!("options.{key}");
            return Err(scenario.error(&field, "raft-rs takes no options"));
        }
        Ok(Self {
            bugs,
            replicas: Vec::new(),
            leaders: BTreeMap::new(),
            committed: BTreeMap::new(),
            checked: BTreeMap::new(),
        })
    }

    fn finding(sim: &Sim<Msg>, kind: &str, node: NodeId, message: String) -> Option<Finding> {
        Some(Finding {
            kind: kind.into(),
            time: sim.now(),
            node: Some(node),
            message,
        })
    }

    /// State-machine safety: what `node` applied since the last check is
    /// what every other replica applied at the same index.
    fn check_applied(&mut self, sim: &Sim<Msg>, node: NodeId, r: &Replica) -> Option<Finding> {
        let incarnation = sim.incarnation(node);
        let checked = self.checked.entry(node).or_insert((incarnation, 0));
        if checked.0 != incarnation {
            // A restarted replica applies its log again from the start.
            *checked = (incarnation, 0);
        }
        for a in &r.applied()[checked.1..] {
            checked.1 += 1;
            match self.committed.get(&a.index) {
                Some((term, data)) if (*term, data) != (a.term, &a.data) => {
                    let message = format!(
                        "replica {node} applied at index {} an entry of term {}, \
                         another replica one of term {term}{}",
                        a.index,
                        a.term,
                        if *term == a.term {
                            " with other data"
                        } else {
                            ""
                        }
                    );
                    return Self::finding(sim, STATE_MACHINE_SAFETY, node, message);
                }
                Some(_) => {}
                None => {
                    self.committed.insert(a.index, (a.term, a.data.clone()));
                }
            }
        }
        None
    }

    /// Election safety (one leader per term), and leader completeness when
    /// `node` is seen leading a term for the first time: its log holds
    /// every entry any replica has applied.
    fn check_leader(&mut self, sim: &Sim<Msg>, node: NodeId, r: &Replica) -> Option<Finding> {
        let (Some(term), Some(raft)) = (r.leading(), r.raft()) else {
            return None;
        };
        match self.leaders.get(&term) {
            Some(&other) if other != node => {
                let message = format!("replicas {other} and {node} both lead term {term}");
                return Self::finding(sim, ELECTION_SAFETY, node, message);
            }
            Some(_) => return None,
            None => {
                self.leaders.insert(term, node);
            }
        }
        for (&index, &(committed_term, _)) in &self.committed {
            let held = raft.raft_log.term(index).unwrap_or(0);
            if held != committed_term {
                let message = format!(
                    "replica {node} leads term {term} but holds at index {index} \
                     term {held} where an entry of term {committed_term} was committed"
                );
                return Self::finding(sim, LEADER_COMPLETENESS, node, message);
            }
        }
        None
    }
}

impl Driver for RaftRs {
    type Msg = Msg;

    fn build(&mut self, scenario: &Scenario, sim: &mut Sim<Msg>) -> Topology {
        let n = scenario.replicas;
        let bugs = self.bugs;
        self.replicas = (0..n)
            .map(|_| sim.add_node(move || Replica::new(n, bugs)))
            .collect();
        let clients = (0..scenario.workload.clients)
            .map(|_| {
                let spec = scenario.workload.clone();
                sim.add_node(move || Client::new(n, spec.clone()))
            })
            .collect();
        Topology {
            replicas: self.replicas.clone(),
            clients,
        }
    }

    fn invariants(&self) -> Vec<&'static str> {
        vec![ELECTION_SAFETY, LEADER_COMPLETENESS, STATE_MACHINE_SAFETY]
    }

    fn check_step(&mut self, sim: &Sim<Msg>) -> Option<Finding> {
        for node in self.replicas.clone() {
            let Some(r) = sim.process_as::<Replica>(node) else {
                continue; // down
            };
            let found = self.check_applied(sim, node, r);
            if found.is_some() {
                return found;
            }
            let found = self.check_leader(sim, node, r);
            if found.is_some() {
                return found;
            }
        }
        None
    }

    fn stats(&self, _sim: &Sim<Msg>) -> Vec<(String, f64)> {
        vec![
            ("terms_with_a_leader".into(), self.leaders.len() as f64),
            (
                "highest_leader_term".into(),
                self.leaders.keys().last().copied().unwrap_or(0) as f64,
            ),
            ("entries_committed".into(), self.committed.len() as f64),
        ]
    }

    fn has_leader(&self) -> bool {
        true
    }

    /// The up replica that leads the highest term.
    fn leader(&self, sim: &Sim<Msg>) -> Option<NodeId> {
        self.replicas
            .iter()
            .filter_map(|&node| {
                let term = sim.process_as::<Replica>(node)?.leading()?;
                Some((term, node))
            })
            .max()
            .map(|(_, node)| node)
    }

    fn model(&self) -> Option<&'static str> {
        Some("cas-register")
    }
}
