//! Driver of the coordination service (`protocols::coord`): replicas
//! `0..n`, the lock clients, then one guarded resource per lock.
//!
//! Verdicts: Raft's safety invariants on the replicas (`crate::raft::invariants`,
//! the same checks the KV store runs, after every event), `liveness` (once faults heal, locks are granted again),
//! `resource-<i>` (the fenced-writes check of lock `i`'s resource), `herd`
//! (no deleted lock node woke more than `max_notices_per_delete` watchers),
//! and, with a single lock, the client history judged as a mutex with
//! fencing tokens (`lock`). A hold ends by a release, or when the service
//! expires the session it was granted under (the first moment a replica
//! applied the expiry, watched after every event), or, for a crashed holder,
//! a session timeout after its acquire began (see `crate::lock_expiry`): the
//! lock check judges the service, the resource check what holders did with
//! it. A client outlives its sessions: the expiry of one it gave up on ends
//! none of the holds it took under a later one (see [`expired_holds`]).

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::coord::tree::Expiry;
use crate::coord::{Bugs, ClientConfig, CoordMsg, CoordServer, LockClient, ServerConfig};
use crate::lease_lock::{resource_verdict, Resource};
use crate::progress::{progress_checker, progress_verdict, ProgressChecker};
use crate::raft::{RaftConfig, SafetyChecker, INVARIANTS};
use harness::{Driver, InputError, Registrar, Scenario, Verdict};
use serde::Deserialize;
use sim_core::history::{History, HistoryEntry};
use sim_core::{Finding, Nanos, NodeId, OpType, Sim, Topology, MILLIS};

/// The `[options]` of a coordination-service scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Options {
    #[serde(with = "sim_core::time::timer")]
    session_timeout: Nanos,
    #[serde(with = "sim_core::time::timer")]
    hold: Nanos,
    #[serde(with = "sim_core::time::setting")]
    think: Nanos,
    #[serde(with = "sim_core::time::timer")]
    request_timeout: Nanos,
    /// Number of locks (each with its resource).
    locks: usize,
    /// Locks taken together by one acquisition.
    locks_per_client: usize,
    /// The resources reject writes with a token below one they accepted.
    fencing: bool,
    /// The herd check's bound.
    max_notices_per_delete: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            session_timeout: 500 * MILLIS,
            hold: 60 * MILLIS,
            think: 40 * MILLIS,
            request_timeout: 60 * MILLIS,
            locks: 1,
            locks_per_client: 1,
            fencing: true,
            max_notices_per_delete: 1,
        }
    }
}

pub struct Coord {
    server: ServerConfig,
    client: ClientConfig,
    fencing: bool,
    max_notices: u64,
    replicas: Vec<NodeId>,
    clients: Vec<NodeId>,
    progress: Option<ProgressChecker>,
    safety: SafetyChecker,
    /// Session → the true time a replica first applied its expiry, and the
    /// expiry.
    expiries: BTreeMap<u64, (Nanos, Expiry)>,
    /// Per replica, how many expiries of its tree were already seen.
    expiries_seen: Vec<usize>,
}

impl Coord {
    pub fn new(scenario: &Scenario) -> Result<Self, InputError> {
        let err = |field: &str, m: String| scenario.error(field, m);
        // Raft's own bug names switch on bugs of the replication layer, so
        // that Raft's checks can be seen catching them under the service.
        let (raft_bugs, own_bugs): (Vec<String>, Vec<String>) = scenario
            .bugs
            .iter()
            .cloned()
            .partition(|b| crate::raft::Bug::from_name(b).is_ok());
        let bugs = Bugs::parse(&own_bugs).map_err(|m| {
            let raft: Vec<&str> = crate::raft::Bug::ALL.iter().map(|b| b.name()).collect();
            err(
                "bugs",
                format!("{m}, or one of Raft's: {}", raft.join(", ")),
            )
        })?;
        let o: Options = scenario.protocol_options()?;
        if o.session_timeout < 20 * MILLIS {
            return Err(err(
                "options.session_timeout",
                "session_timeout must be at least 20ms".into(),
            ));
        }
        if o.request_timeout == 0 || o.hold == 0 {
            return Err(err(
                "options.request_timeout",
                "request_timeout and hold must be above 0".into(),
            ));
        }
        if o.locks == 0 || o.locks_per_client == 0 || o.locks_per_client > o.locks {
            return Err(err(
                "options.locks_per_client",
                format!(
                    "need 1 <= locks_per_client ({}) <= locks ({})",
                    o.locks_per_client, o.locks
                ),
            ));
        }
        let members: Vec<NodeId> = (0..scenario.replicas).collect();
        let mut raft = RaftConfig::new(members.clone());
        raft.bugs = crate::raft::Bugs::parse(&raft_bugs).map_err(|m| err("bugs", m))?;
        raft.validate().map_err(|m| err("replicas", m))?;
        let first_resource = scenario.replicas + scenario.workload.clients;
        Ok(Self {
            server: ServerConfig {
                raft,
                session_timeout: o.session_timeout,
                check_every: (o.session_timeout / 10).max(MILLIS),
            },
            client: ClientConfig {
                replicas: members.clone(),
                resources: (0..o.locks as NodeId).map(|i| first_resource + i).collect(),
                locks_per_client: o.locks_per_client,
                ping_every: o.session_timeout / 5,
                validity: o.session_timeout / 2,
                request_timeout: o.request_timeout,
                hold: o.hold,
                write_every: (o.hold / 5).max(MILLIS),
                think: o.think,
                recheck: o.session_timeout,
                bugs,
            },
            fencing: o.fencing,
            max_notices: o.max_notices_per_delete,
            safety: SafetyChecker::new(members.clone()),
            replicas: members,
            clients: Vec::new(),
            progress: None,
            expiries: BTreeMap::new(),
            expiries_seen: Vec::new(),
        })
    }

    /// Records the sessions expired since the last event, at the true time.
    fn note_expiries(&mut self, sim: &Sim<CoordMsg>) {
        self.expiries_seen.resize(self.replicas.len(), 0);
        for (i, &n) in self.replicas.iter().enumerate() {
            let Some(server) = sim.process_as::<CoordServer>(n) else {
                continue;
            };
            let expired = &server.tree().expired;
            // A restarted replica replays from the start.
            let seen = self.expiries_seen[i].min(expired.len());
            for e in &expired[seen..] {
                self.expiries
                    .entry(e.session)
                    .or_insert_with(|| (sim.now(), e.clone()));
            }
            self.expiries_seen[i] = expired.len();
        }
    }

    fn servers<'s>(&self, sim: &'s Sim<CoordMsg>) -> impl Iterator<Item = &'s CoordServer> + 's {
        let replicas = self.replicas.clone();
        replicas
            .into_iter()
            .filter_map(|n| sim.process_as::<CoordServer>(n))
    }
}

impl Driver for Coord {
    type Msg = CoordMsg;

    fn fill_defaults(scenario: &mut Scenario, given: &dyn Fn(&str) -> bool) {
        if !given("replicas") {
            scenario.replicas = 3;
        }
    }

    fn build(&mut self, scenario: &Scenario, sim: &mut Sim<CoordMsg>) -> Topology {
        let mut topology = Topology::default();
        for _ in &self.replicas {
            let cfg = self.server.clone();
            topology
                .replicas
                .push(sim.add_node(move || CoordServer::new(cfg.clone())));
        }
        for _ in 0..scenario.workload.clients {
            let cfg = self.client.clone();
            topology
                .clients
                .push(sim.add_node(move || LockClient::new(cfg.clone())));
        }
        for &r in &self.client.resources {
            let fencing = self.fencing;
            let id = sim.add_node(move || Resource::<CoordMsg>::new(fencing));
            debug_assert_eq!(id, r);
        }
        self.clients = topology.clients.clone();
        self.progress = Some(progress_checker(
            scenario,
            &topology,
            self.client.request_timeout,
            false,
        ));
        topology
    }

    fn check_step(&mut self, sim: &Sim<CoordMsg>) -> Option<Finding> {
        self.note_expiries(sim);
        if let Some(f) = self.safety.check::<CoordServer>(sim) {
            return Some(f);
        }
        self.progress.as_mut()?.check(sim)
    }

    fn invariants(&self) -> Vec<&'static str> {
        INVARIANTS.to_vec()
    }

    fn check_end(&mut self, sim: &Sim<CoordMsg>) -> Vec<Verdict> {
        let mut verdicts = progress_verdict(self.progress.as_mut(), sim);
        for (i, &r) in self.client.resources.iter().enumerate() {
            let name = if self.client.resources.len() == 1 {
                "resource".to_string()
            } else {
                format!("resource-{i}")
            };
            verdicts.push(resource_verdict(sim, r, &name));
        }
        let herd = self
            .servers(sim)
            .map(|s| s.tree().max_notices_per_delete)
            .max()
            .unwrap_or(0);
        verdicts.push(if herd <= self.max_notices {
            Verdict::pass("herd")
        } else {
            Verdict::fail(
                "herd",
                format!(
                    "one deleted lock node woke {herd} watchers (bound {}): waiters watch more than their predecessor",
                    self.max_notices
                ),
            )
        });
        verdicts
    }

    fn has_leader(&self) -> bool {
        true
    }

    fn leader(&self, sim: &Sim<CoordMsg>) -> Option<NodeId> {
        crate::raft::leader_of::<CoordServer>(sim, &self.replicas)
    }

    fn model(&self) -> Option<&'static str> {
        (self.client.resources.len() == 1).then_some("lock")
    }

    /// The clients' history with the end of every hold an expired session
    /// took with it.
    fn judged_history<'s>(&self, sim: &'s Sim<CoordMsg>) -> Cow<'s, History> {
        let mut expiries =
            crate::lock_expiry::crashed_holders(sim, &self.clients, self.server.session_timeout);
        expiries.extend(expired_holds(
            &sim.history().entries,
            self.expiries.values(),
        ));
        expiries.sort_unstable();
        crate::lock_expiry::with_expiries(sim, expiries)
    }
}

/// (time, history process) of each hold ended by a session expiry in
/// `expiries` (each with the true time it was first applied): the expiry of
/// a session ends its client's hold only if that hold was granted under it,
/// which the hold's token tells (the zxid of a node the expiry deleted). A
/// client told its session expired opens another and may hold the lock under
/// it by the time the service expires the first one (a session it stopped
/// pinging still lives a session timeout on the leader).
fn expired_holds<'e>(
    history: &[HistoryEntry],
    expiries: impl Iterator<Item = &'e (Nanos, Expiry)>,
) -> Vec<(Nanos, u64)> {
    expiries
        .filter(|(at, e)| granted_one_of(history, e.process, *at, &e.tokens))
        .map(|(at, e)| (*at, e.process))
        .collect()
}

/// Whether an acquire `process` invoked by `at` was granted one of `tokens`
/// (whenever its answer came). The tokens are the nodes the session still
/// owned when it expired: such a hold was never given back to the service,
/// though the client may have stopped counting on it and asked again.
fn granted_one_of(history: &[HistoryEntry], process: u64, at: Nanos, tokens: &[u64]) -> bool {
    for e in history
        .iter()
        .filter(|e| e.process == process && e.f == "acquire")
    {
        match e.op_type {
            OpType::Invoke if e.time > at => return false,
            OpType::Ok if e.value.as_u64().is_some_and(|t| tokens.contains(&t)) => return true,
            _ => {}
        }
    }
    false
}

/// Makes `coord` known to `registrar`.
pub fn register(registrar: &mut impl Registrar) {
    registrar.protocol(
        "coord",
        "ZooKeeper-style coordination service on Raft: sessions, ephemeral sequential nodes, watches, the lock recipe, zxids as fencing tokens",
        Coord::new,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn entry(process: u64, op_type: OpType, value: Value, time: Nanos) -> HistoryEntry {
        HistoryEntry {
            process,
            op_type,
            f: "acquire".into(),
            key: None,
            value,
            time,
        }
    }

    fn expiry(tokens: Vec<u64>) -> Expiry {
        Expiry {
            session: 7,
            process: 3,
            tokens,
        }
    }

    #[test]
    fn an_expiry_ends_only_the_hold_granted_under_its_session() {
        // Process 3's acquire under its first session fails (it was told the
        // session expired, its node lingering); under its second it holds 14.
        let history = [
            entry(3, OpType::Invoke, Value::Null, 100),
            entry(3, OpType::Fail, Value::Null, 200),
            entry(3, OpType::Invoke, Value::Null, 300),
            entry(3, OpType::Ok, Value::from(14), 400),
        ];
        let first = (500, expiry(vec![9]));
        assert!(expired_holds(&history, [&first].into_iter()).is_empty());
        let second = (500, expiry(vec![14]));
        assert_eq!(expired_holds(&history, [&second].into_iter()), [(500, 3)]);
        // Expired before its acquire began, the session ended no hold of it.
        let early = (250, expiry(vec![14]));
        assert!(expired_holds(&history, [&early].into_iter()).is_empty());
        // An acquire answered after the expiry was still granted under it.
        let between = (350, expiry(vec![14]));
        assert_eq!(expired_holds(&history, [&between].into_iter()), [(350, 3)]);
        // Told (by a stale answer) that its session expired while holding
        // 14, the client asks again: the hold still ends with the session.
        let mut asked_again = history.to_vec();
        asked_again.push(entry(3, OpType::Invoke, Value::Null, 600));
        let late = (700, expiry(vec![14]));
        assert_eq!(expired_holds(&asked_again, [&late].into_iter()), [(700, 3)]);
    }
}
