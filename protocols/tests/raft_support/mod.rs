//! Shared harness of the Raft tests: builds a cluster into a `Sim`, injects
//! faults by hand through the Sim API (a tiny nemesis driven by its own
//! random stream), runs every check after every event, and judges the
//! history for linearizability.

#![allow(dead_code)]

use std::collections::BTreeMap;

use checkers::{check_history_named, CheckOptions, Verdict};
use protocols::raft::{self, Bugs, Checks, ClientConfig, RaftConfig, RaftMsg};
use protocols::workload::WorkloadSpec;
use sim_core::history::History;
use sim_core::rng::{between, chance, stream};
use sim_core::{
    CrashMode, Finding, LinkConfig, Nanos, NodeId, NodeStatus, Sim, Topology, MILLIS, SECONDS,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Faults {
    None,
    /// Random partitions, crashes and restarts.
    Partitions,
    /// Partitions and crashes over a lossy, duplicating, reordering network.
    Unreliable,
    /// Pauses, clock drift and jumps, and the odd crash.
    Clocks,
    /// The leader is cut off from everyone, then healed, again and again.
    LeaderIsolation,
    /// Crashes and quick restarts only.
    Crashes,
    /// In the spirit of the course test "Figure 8": the leader is cut off
    /// together with the clients (so it keeps appending entries no other
    /// replica gets), or the cluster is healed, or randomly split.
    Figure8,
    /// Every action restarts whatever is down and crashes one random
    /// replica: each replica goes down and comes back often, briefly.
    Bounce,
    /// Replicas 0, 1 and 3, 4 cannot hear each other; replica 2 hears all
    /// (a bridge) and reboots (crash and restart at once) again and again.
    Bridge,
}

#[derive(Debug, Clone)]
pub struct RunSpec {
    pub seed: u64,
    pub replicas: u32,
    pub bugs: Bugs,
    pub workload: WorkloadSpec,
    pub faults: Faults,
    /// Faults happen during `[0, chaos)`...
    pub chaos: Nanos,
    /// ...then everything is healed and restarted, and the run goes on this long.
    pub settle: Nanos,
    /// Gap between two fault actions, drawn in this range.
    pub fault_gap: (Nanos, Nanos),
    /// Adjusts the replicas' configuration (timeouts, pre-vote, ...).
    pub tweak: fn(&mut RaftConfig),
    /// Also runs the exhaustive checks ([`Checks::exhaustive`]) after every
    /// event and asserts that the incremental ones said the same.
    pub compare_exhaustive: bool,
}

impl RunSpec {
    pub fn new(seed: u64, faults: Faults) -> Self {
        Self {
            seed,
            replicas: 5,
            bugs: Bugs::NONE,
            workload: WorkloadSpec {
                clients: 3,
                think_ms: 10,
                timeout_ms: 200,
                read_fraction: 0.4,
                cas_fraction: 0.2,
                keys: 2,
                values: 5,
                max_ops: 0,
                idle_clients: Vec::new(),
            },
            faults,
            chaos: 3 * SECONDS,
            settle: 2 * SECONDS,
            fault_gap: (100 * MILLIS, 400 * MILLIS),
            tweak: |_| {},
            compare_exhaustive: false,
        }
    }

    pub fn bugs(mut self, names: &[&str]) -> Self {
        self.bugs = Bugs::parse(names).expect("known bugs");
        self
    }
}

pub struct RunResult {
    pub finding: Option<Finding>,
    /// `Some(detail)` if the history is not linearizable.
    pub non_linearizable: Option<String>,
    pub fingerprint: u64,
    pub events: u64,
    pub end: Nanos,
    pub history: History,
    pub leader_delays: Vec<Nanos>,
    pub topology: Topology,
}

impl RunResult {
    /// The first violation of any kind, as (kind, detail).
    pub fn violation(&self) -> Option<(String, String)> {
        if let Some(f) = &self.finding {
            return Some((
                f.kind.clone(),
                format!("{} at {} ns: {}", f.kind, f.time, f.message),
            ));
        }
        self.non_linearizable
            .as_ref()
            .map(|d| ("linearizability".to_string(), d.clone()))
    }
}

pub fn link(faults: Faults) -> LinkConfig {
    let mut link = LinkConfig::default();
    if faults == Faults::Bridge {
        // The bridge's traffic is lossy: a leader's first append may not
        // reach it before a rival candidate asks again for its vote.
        link.loss = 0.3;
    }
    if faults == Faults::Unreliable {
        link.loss = 0.1;
        link.duplicate = 0.1;
        link.reorder = 0.3;
        link.reorder_window = 30 * MILLIS;
    }
    link
}

pub fn run(spec: &RunSpec) -> RunResult {
    let mut sim: Sim<RaftMsg> = Sim::new(spec.seed, link(spec.faults));
    let (mut raft_cfg, client_cfg) =
        raft::default_configs(spec.replicas, &spec.workload, spec.bugs);
    (spec.tweak)(&mut raft_cfg);
    run_with(spec, &mut sim, raft_cfg, client_cfg)
}

pub fn run_with(
    spec: &RunSpec,
    sim: &mut Sim<RaftMsg>,
    raft_cfg: RaftConfig,
    client_cfg: ClientConfig,
) -> RunResult {
    let topology = raft::build_cluster(sim, &raft_cfg, &client_cfg).expect("valid cluster");
    let mut checks = Checks::new(&topology, &raft_cfg, &client_cfg);
    let mut reference = spec
        .compare_exhaustive
        .then(|| Checks::new(&topology, &raft_cfg, &client_cfg).exhaustive());
    let mut check = |s: &Sim<RaftMsg>| {
        let found = checks.check(s);
        if let Some(reference) = reference.as_mut() {
            assert_eq!(
                found,
                reference.check(s),
                "seed {}: the incremental and the exhaustive checks disagree at {} ns",
                spec.seed,
                s.now()
            );
        }
        found
    };
    let mut nemesis = Nemesis {
        rng: stream(spec.seed, "test-nemesis"),
        faults: spec.faults,
        replicas: topology.replicas.clone(),
        clients: topology.clients.clone(),
    };
    if spec.faults == Faults::Bridge {
        sim.network_mut().partition(&[0, 1], &[3, 4]);
        sim.note_fault("bridge 0,1 | 3,4 via 2");
    }
    let mut t = 0;
    let mut ok = true;
    while ok && t < spec.chaos {
        t = (t + between(&mut nemesis.rng, spec.fault_gap.0, spec.fault_gap.1)).min(spec.chaos);
        ok = sim.run_until_checked(t, &mut check);
        if ok && t < spec.chaos {
            nemesis.act(sim);
        }
    }
    if ok {
        sim.network_mut().heal_all();
        sim.note_fault("heal all");
        for &r in &topology.replicas {
            if sim.status(r) == NodeStatus::Down {
                sim.restart(r, false);
            }
        }
        sim.run_until_checked(spec.chaos + spec.settle, &mut check);
    }
    let non_linearizable = if sim.finding().is_none() {
        linearizability(sim.history())
    } else {
        None
    };
    RunResult {
        finding: sim.finding().cloned(),
        non_linearizable,
        fingerprint: sim.fingerprint(),
        events: sim.events_handled(),
        end: sim.now(),
        history: sim.history().clone(),
        leader_delays: checks.liveness.leader_delays().to_vec(),
        topology,
    }
}

/// Checks the history key by key against a compare-and-set register
/// (P-compositionality: a store is linearizable iff each key is).
pub fn linearizability(history: &History) -> Option<String> {
    let mut by_key: BTreeMap<Option<String>, History> = BTreeMap::new();
    for e in &history.entries {
        by_key.entry(e.key.clone()).or_default().push(e.clone());
    }
    for (key, h) in by_key {
        match check_history_named("cas-register", &h, &CheckOptions::default()) {
            Ok(report) => match report.verdict {
                Verdict::Linearizable => {}
                Verdict::NotLinearizable => {
                    let ce = report
                        .counterexamples
                        .first()
                        .map(|c| c.render())
                        .unwrap_or_default();
                    return Some(format!("key {key:?} not linearizable: {ce}"));
                }
                Verdict::Unknown => return Some(format!("key {key:?}: checker gave up")),
            },
            Err(e) => return Some(format!("key {key:?}: bad history: {e}")),
        }
    }
    None
}

struct Nemesis {
    rng: sim_core::rng::SimRng,
    faults: Faults,
    replicas: Vec<NodeId>,
    clients: Vec<NodeId>,
}

impl Nemesis {
    fn pick(&mut self, from: &[NodeId]) -> Option<NodeId> {
        if from.is_empty() {
            None
        } else {
            Some(from[between(&mut self.rng, 0, from.len() as u64 - 1) as usize])
        }
    }

    fn with_status(&self, sim: &Sim<RaftMsg>, status: NodeStatus) -> Vec<NodeId> {
        self.replicas
            .iter()
            .copied()
            .filter(|&r| sim.status(r) == status)
            .collect()
    }

    fn partition(&mut self, sim: &mut Sim<RaftMsg>) {
        sim.network_mut().heal_all();
        let all: Vec<NodeId> = self.replicas.iter().chain(&self.clients).copied().collect();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for n in all {
            if chance(&mut self.rng, 0.5) {
                a.push(n)
            } else {
                b.push(n)
            }
        }
        sim.network_mut().partition(&a, &b);
        sim.note_fault(&format!("partition {a:?} | {b:?}"));
    }

    fn crash(&mut self, sim: &mut Sim<RaftMsg>) {
        let up = self.with_status(sim, NodeStatus::Up);
        if let Some(n) = self.pick(&up) {
            let mode = match between(&mut self.rng, 0, 2) {
                0 => CrashMode::LoseUnsynced,
                1 => CrashMode::KeepUnsynced,
                _ => CrashMode::KeepFirst(between(&mut self.rng, 0, 3) as usize),
            };
            sim.crash(n, mode);
        }
    }

    fn restart(&mut self, sim: &mut Sim<RaftMsg>) {
        let down = self.with_status(sim, NodeStatus::Down);
        if let Some(n) = self.pick(&down) {
            sim.restart(n, false);
        }
    }

    fn act(&mut self, sim: &mut Sim<RaftMsg>) {
        let roll = between(&mut self.rng, 0, 99);
        match self.faults {
            Faults::None => {}
            Faults::Partitions | Faults::Unreliable => match roll {
                0..=29 => self.partition(sim),
                30..=49 => {
                    sim.network_mut().heal_all();
                    sim.note_fault("heal all");
                }
                50..=74 => self.crash(sim),
                _ => self.restart(sim),
            },
            Faults::Crashes => match roll {
                0..=49 => self.crash(sim),
                _ => self.restart(sim),
            },
            Faults::Clocks => {
                let n = self.pick(&self.replicas.clone()).expect("replicas");
                match roll {
                    0..=34 => {
                        let d = between(&mut self.rng, 20 * MILLIS, 400 * MILLIS);
                        sim.pause(n, d);
                    }
                    35..=59 => {
                        let ppm = between(&mut self.rng, 0, 200_000) as i64 - 100_000;
                        sim.adjust_clock(n, |c, now| c.set_drift(now, ppm));
                    }
                    60..=84 => {
                        let jump = between(&mut self.rng, 0, 1_000) as i64 * MILLIS as i64
                            - 500 * MILLIS as i64;
                        sim.adjust_clock(n, |c, now| c.jump(now, jump));
                    }
                    85..=92 => self.crash(sim),
                    _ => self.restart(sim),
                }
            }
            Faults::Bridge => {
                // A reboot: crash and restart at one instant.
                sim.crash(2, CrashMode::LoseUnsynced);
                sim.restart(2, false);
            }
            Faults::Bounce => {
                for r in self.with_status(sim, NodeStatus::Down) {
                    sim.restart(r, false);
                }
                self.crash(sim);
            }
            Faults::Figure8 => match roll {
                0..=59 => {
                    // The leader keeps the clients: it appends entries that
                    // reach no other replica, while the rest elect a leader
                    // that has no client to give it entries of its term.
                    if let Some(l) = raft::leader(sim, &self.replicas) {
                        sim.network_mut().heal_all();
                        let mut side = vec![l];
                        side.extend(&self.clients);
                        let others: Vec<NodeId> =
                            self.replicas.iter().copied().filter(|&n| n != l).collect();
                        sim.network_mut().partition(&side, &others);
                        sim.note_fault(&format!("isolate leader {l} with the clients"));
                    }
                }
                60..=79 => {
                    sim.network_mut().heal_all();
                    sim.note_fault("heal all");
                }
                _ => self.partition(sim),
            },
            Faults::LeaderIsolation => {
                if roll < 60 {
                    if let Some(l) = raft::leader(sim, &self.replicas) {
                        sim.network_mut().heal_all();
                        let others: Vec<NodeId> = self
                            .replicas
                            .iter()
                            .chain(&self.clients)
                            .copied()
                            .filter(|&n| n != l)
                            .collect();
                        sim.network_mut().partition(&[l], &others);
                        sim.note_fault(&format!("isolate leader {l}"));
                    }
                } else {
                    sim.network_mut().heal_all();
                    sim.note_fault("heal all");
                }
            }
        }
    }
}

/// Runs seeds `from..from + count` and returns the first violating one.
pub fn first_violation(count: u64, make: impl Fn(u64) -> RunSpec) -> Option<(u64, RunResult)> {
    (0..count)
        .map(|seed| (seed, run(&make(seed))))
        .find(|(_, r)| r.violation().is_some())
}

/// Seeds to loop over: `RAFT_SEEDS` overrides the default.
pub fn seeds(default: u64) -> u64 {
    std::env::var("RAFT_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}
