//! How clustersim builds and judges a raft-rs cluster, and the Raft
//! invariants it checks from outside raft-rs after every event.

use std::collections::BTreeMap;

use harness::sim_core::{Finding, NodeId, Sim, Topology};
use harness::{Driver, InputError, Scenario};

use crate::client::Client;
use crate::msg::Msg;
use crate::replica::{Bugs, Reads, Replica};

/// The wrapper's known bugs, by the name a scenario's `bugs` gives them.
pub const BUGS: &[&str] = &["ack-before-commit", "no-sync"];

pub const ELECTION_SAFETY: &str = "election-safety";
pub const LEADER_COMPLETENESS: &str = "leader-completeness";
pub const STATE_MACHINE_SAFETY: &str = "state-machine-safety";

pub struct RaftRs {
    bugs: Bugs,
    reads: Reads,
    replicas: Vec<NodeId>,
    /// The leader of each term seen so far.
    leaders: BTreeMap<u64, NodeId>,
    /// Each index some replica applied. Applied means committed, so no
    /// replica may ever apply another entry there.
    committed: BTreeMap<u64, Committed>,
    /// Per replica, its incarnation and how many of its applied entries
    /// were checked already.
    checked: BTreeMap<NodeId, (u32, usize)>,
}

/// A committed entry as first seen applied.
struct Committed {
    term: u64,
    data: Vec<u8>,
    /// The highest term any replica had been seen leading when the entry was
    /// first seen applied. The entry was committed by a leader, in that term
    /// or an earlier one, and every leader is seen in the event that elects
    /// it: so every leader of a later term must hold the entry (Leader
    /// Completeness). A leader of an earlier term may still be elected late
    /// (its votes held up in the network or while it was paused) without it.
    by_term: u64,
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
        let mut reads = Reads::Log;
        for (key, value) in &scenario.options {
            let field = format!("options.{key}");
            match (key.as_str(), value.as_str()) {
                ("reads", Some("log")) => reads = Reads::Log,
                ("reads", Some("read-index")) => reads = Reads::ReadIndex,
                ("reads", _) => {
                    let message = format!("`{value}`: reads are \"log\" or \"read-index\"");
                    return Err(scenario.error(&field, message));
                }
                _ => return Err(scenario.error(&field, "raft-rs's only option is `reads`")),
            }
        }
        Ok(Self {
            bugs,
            reads,
            replicas: Vec::new(),
            leaders: BTreeMap::new(),
            committed: BTreeMap::new(),
            checked: BTreeMap::new(),
        })
    }

    fn finding(sim: &Sim<Msg>, kind: &str, node: NodeId, message: String) -> Finding {
        Finding {
            kind: kind.into(),
            time: sim.now(),
            node: Some(node),
            message,
        }
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
        let by_term = self.leaders.keys().last().copied().unwrap_or(0);
        for a in &r.applied()[checked.1..] {
            checked.1 += 1;
            match self.committed.get(&a.index) {
                Some(c) if (c.term, &c.data) != (a.term, &a.data) => {
                    let message = format!(
                        "replica {node} applied at index {} an entry of term {}, \
                         another replica one of term {}{}",
                        a.index,
                        a.term,
                        c.term,
                        if c.term == a.term {
                            " with other data"
                        } else {
                            ""
                        }
                    );
                    return Some(Self::finding(sim, STATE_MACHINE_SAFETY, node, message));
                }
                Some(_) => {}
                None => {
                    let (term, data) = (a.term, a.data.clone());
                    let entry = Committed {
                        term,
                        data,
                        by_term,
                    };
                    self.committed.insert(a.index, entry);
                }
            }
        }
        None
    }

    /// Election safety: `node`, if it leads, is the only leader its term has
    /// had. Returns the term if `node` is seen leading it for the first time.
    fn check_leader(
        &mut self,
        sim: &Sim<Msg>,
        node: NodeId,
        r: &Replica,
    ) -> Result<Option<u64>, Finding> {
        let Some(term) = r.leading() else {
            return Ok(None);
        };
        match self.leaders.get(&term) {
            Some(&other) if other != node => {
                let message = format!("replicas {other} and {node} both lead term {term}");
                Err(Self::finding(sim, ELECTION_SAFETY, node, message))
            }
            Some(_) => Ok(None),
            None => {
                self.leaders.insert(term, node);
                Ok(Some(term))
            }
        }
    }

    /// Leader completeness: `node`, newly seen leading `term`, holds every
    /// entry committed in an earlier term.
    fn check_complete(
        &self,
        sim: &Sim<Msg>,
        node: NodeId,
        r: &Replica,
        term: u64,
    ) -> Option<Finding> {
        let raft = r.raft()?;
        for (&index, c) in self.committed.iter().filter(|(_, c)| c.by_term < term) {
            let held = raft.raft_log.term(index).unwrap_or(0);
            if held != c.term {
                let message = format!(
                    "replica {node} leads term {term} but holds at index {index} term {held} \
                     where an entry of term {} was committed by term {}",
                    c.term, c.by_term
                );
                return Some(Self::finding(sim, LEADER_COMPLETENESS, node, message));
            }
        }
        None
    }
}

impl Driver for RaftRs {
    type Msg = Msg;

    fn build(&mut self, scenario: &Scenario, sim: &mut Sim<Msg>) -> Topology {
        let n = scenario.replicas;
        let (bugs, reads) = (self.bugs, self.reads);
        self.replicas = (0..n)
            .map(|_| sim.add_node(move || Replica::new(n, bugs, reads)))
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
        // Leaders first, so that an entry first applied in the event that
        // elected a leader is known to be committed by that leader's term
        // at the latest.
        let up = |node| sim.process_as::<Replica>(node).map(|r| (node, r));
        let mut new_leaders = Vec::new();
        for (node, r) in self.replicas.clone().into_iter().filter_map(up) {
            match self.check_leader(sim, node, r) {
                Err(finding) => return Some(finding),
                Ok(Some(term)) => new_leaders.push((node, r, term)),
                Ok(None) => {}
            }
        }
        for (node, r) in self.replicas.clone().into_iter().filter_map(up) {
            if let Some(finding) = self.check_applied(sim, node, r) {
                return Some(finding);
            }
        }
        new_leaders
            .into_iter()
            .find_map(|(node, r, term)| self.check_complete(sim, node, r, term))
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
