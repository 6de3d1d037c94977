//! Driver of Raft (`protocols::raft`): replicas `0..n`, then the clients.
//!
//! Scenario `[options]` (all optional; durations in milliseconds):
//! `election_timeout_min_ms`, `election_timeout_max_ms`, `heartbeat_ms`,
//! `snapshot_threshold`, `max_batch`, `max_inflight`, `pre_vote`, `check_quorum` for the
//! replicas; `max_attempts`, `retry_backoff_ms` for the clients. Unknown
//! options, wrong types and bad values are input errors naming the field.

use crate::network_timing::liveness_verdict;
use crate::raft::{
    self, Bugs, Checks, ClientConfig, RaftConfig, RaftMsg, INVARIANTS, LIVENESS, TERM_CHURN,
};
use sim_core::time::{setting, MIN_TIMER};
use sim_core::{Finding, NodeId, Sim, Topology};

use harness::{Driver, Verdict};
use harness::{InputError, Registrar, Scenario};

pub struct Raft {
    raft: RaftConfig,
    client: ClientConfig,
    checks: Option<Checks>,
    replicas: Vec<NodeId>,
}

fn option_error(scenario: &Scenario, key: &str, message: impl Into<String>) -> InputError {
    scenario.error(&format!("options.{key}"), message)
}

/// The option a message of `RaftConfig::validate` is about (it names the
/// configuration's field first: `raft: heartbeat_interval (..) must ..`), so
/// that the error points at that option's line.
fn option_named_by(message: &str) -> &'static str {
    const OPTIONS: [(&str, &str); 5] = [
        ("election_timeout_min", "options.election_timeout_min_ms"),
        ("heartbeat_interval", "options.heartbeat_ms"),
        ("max_batch", "options.max_batch"),
        ("max_inflight", "options.max_inflight"),
        ("snapshot_threshold", "options.snapshot_threshold"),
    ];
    let field = message.strip_prefix("raft: ").unwrap_or(message);
    OPTIONS
        .iter()
        .find(|(config, _)| field.starts_with(config))
        .map_or("options", |&(_, option)| option)
}

impl Raft {
    pub fn new(scenario: &Scenario) -> Result<Self, InputError> {
        let bugs = Bugs::parse(&scenario.bugs).map_err(|m| scenario.error("bugs", m))?;
        let members: Vec<NodeId> = (0..scenario.replicas).collect();
        let mut raft = RaftConfig::new(members.clone());
        raft.bugs = bugs;
        let mut client = ClientConfig::new(members.clone(), scenario.workload.clone());
        for (key, value) in &scenario.options {
            let int = || {
                value
                    .as_integer()
                    .filter(|&v| v >= 0)
                    .map(|v| v as u64)
                    .ok_or_else(|| {
                        option_error(
                            scenario,
                            key,
                            format!("{key} must be a non-negative integer, got {value}"),
                        )
                    })
            };
            // A duration in whole milliseconds, within a setting's range
            // (a timer's, for `min` = `MIN_TIMER`).
            let millis =
                |min| setting::from_millis(int()?, min).map_err(|m| option_error(scenario, key, m));
            let boolean = || {
                value.as_bool().ok_or_else(|| {
                    option_error(
                        scenario,
                        key,
                        format!("{key} must be true or false, got {value}"),
                    )
                })
            };
            match key.as_str() {
                "election_timeout_min_ms" => raft.election_timeout_min = millis(MIN_TIMER)?,
                "election_timeout_max_ms" => raft.election_timeout_max = millis(MIN_TIMER)?,
                "heartbeat_ms" => raft.heartbeat_interval = millis(MIN_TIMER)?,
                "snapshot_threshold" => raft.snapshot_threshold = int()?,
                "max_batch" => raft.max_batch = int()? as usize,
                "max_inflight" => raft.max_inflight = int()? as usize,
                "pre_vote" => raft.pre_vote = boolean()?,
                "check_quorum" => raft.check_quorum = boolean()?,
                "max_attempts" => client.max_attempts = int()?.min(u32::MAX as u64) as u32,
                "retry_backoff_ms" => client.retry_backoff = millis(0)?,
                other => {
                    return Err(option_error(
                        scenario,
                        other,
                        format!(
                            "raft has no option `{other}` (known: election_timeout_min_ms, \
                             election_timeout_max_ms, heartbeat_ms, snapshot_threshold, max_batch, \
                             max_inflight, pre_vote, check_quorum, max_attempts, retry_backoff_ms)"
                        ),
                    ))
                }
            }
        }
        raft.validate()
            .map_err(|m| scenario.error(option_named_by(&m), m))?;
        client
            .validate()
            .map_err(|m| scenario.error("workload", m))?;
        Ok(Self {
            raft,
            client,
            checks: None,
            replicas: members,
        })
    }
}

impl Driver for Raft {
    type Msg = RaftMsg;

    fn build(&mut self, _scenario: &Scenario, sim: &mut Sim<RaftMsg>) -> Topology {
        // `new` validated both configurations and the runner hands over an
        // empty simulation, so this cannot fail.
        let topology = raft::build_cluster(sim, &self.raft, &self.client)
            .expect("raft configuration validated in Raft::new");
        self.checks = Some(Checks::new(&topology, &self.raft, &self.client));
        topology
    }

    /// Inlined into the runner's observer: it runs after every event.
    #[inline]
    fn check_step(&mut self, sim: &Sim<RaftMsg>) -> Option<Finding> {
        self.checks.as_mut()?.check(sim)
    }

    /// Liveness is not among them: a violation stops the run as any finding
    /// does, but a run that ends is judged by [`Driver::check_end`], which
    /// can say `unknown` when the network left nothing to judge.
    fn invariants(&self) -> Vec<&'static str> {
        let mut names = INVARIANTS.to_vec();
        names.push(TERM_CHURN);
        names
    }

    fn has_leader(&self) -> bool {
        true
    }

    fn check_end(&mut self, _sim: &Sim<RaftMsg>) -> Vec<Verdict> {
        let Some(checks) = &self.checks else {
            return Vec::new();
        };
        let liveness = &checks.liveness;
        vec![liveness_verdict(
            LIVENESS,
            liveness.judged(),
            liveness.unjudged(),
        )]
    }

    fn leader(&self, sim: &Sim<RaftMsg>) -> Option<NodeId> {
        raft::leader(sim, &self.replicas)
    }

    /// How long the cluster went without a leader each time a connected
    /// majority had none (after a heal, a crash of the leader, ...); intervals
    /// that began with a leader in place are not elections and are left out.
    fn stats(&self, _sim: &Sim<RaftMsg>) -> Vec<(String, f64)> {
        let Some(checks) = &self.checks else {
            return Vec::new();
        };
        let mut delays: Vec<u64> = checks
            .liveness
            .leader_delays()
            .iter()
            .copied()
            .filter(|&d| d > 0)
            .collect();
        delays.sort_unstable();
        let mut stats = vec![("raft.elections".to_string(), delays.len() as f64)];
        if !delays.is_empty() {
            let ms = |ns: u64| ns as f64 / 1e6;
            let p50 = delays[(delays.len() - 1) / 2];
            stats.push(("raft.leader_delay_ms.p50".into(), ms(p50)));
            stats.push((
                "raft.leader_delay_ms.max".into(),
                ms(*delays.last().expect("non-empty")),
            ));
        }
        stats
    }

    fn model(&self) -> Option<&'static str> {
        Some("cas-register")
    }
}

/// Makes `raft` known to `registrar`.
pub fn register(registrar: &mut impl Registrar) {
    registrar.protocol(
        "raft",
        "Raft: elections with pre-vote and check-quorum, snapshots, a key-value store with sessions",
        Raft::new,
    );
}
