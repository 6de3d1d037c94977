//! Raft's checks after every event are incremental (they look only at what
//! the event changed): here they are held against the exhaustive checks,
//! which look at every replica with every check after every event, on runs
//! with each known bug, and shown to catch an entry changed deep in a long
//! log at the event that changed it.

use crate::raft_support;

use protocols::raft::msg::{Command, Entry};
use protocols::raft::{
    self, persist, ClientConfig, RaftClient, RaftConfig, RaftMsg, RaftNode, RaftReplica,
    SafetyChecker,
};
use raft_support::*;
use sim_core::{Ctx, Finding, LinkConfig, Nanos, NodeId, Process, Sim, MILLIS, SECONDS};

/// Runs seeds of `bug` under `faults` with both checks side by side (the
/// harness asserts they agree after every event) until one is caught.
fn agree_until_caught(bug: &str, faults: Faults, gap: (u64, u64)) {
    for seed in 0..500 {
        let mut spec = RunSpec::new(seed, faults).bugs(&[bug]);
        spec.fault_gap = (gap.0 * MILLIS, gap.1 * MILLIS);
        spec.compare_exhaustive = true;
        if let Some(f) = run(&spec).finding {
            println!("{bug}: both checks found {} at seed {seed}", f.kind);
            return;
        }
    }
    panic!("{bug}: neither check caught it in 500 seeds");
}

#[test]
fn incremental_and_exhaustive_checks_agree_on_every_known_bug() {
    agree_until_caught("vote-without-log-check", Faults::Crashes, (100, 400));
    agree_until_caught("figure8", Faults::Figure8, (100, 400));
    agree_until_caught("volatile-vote", Faults::Bridge, (10, 60));
    agree_until_caught("bad-majority", Faults::Partitions, (500, 1500));
    // Caught by liveness: a leader, but no client ever answered.
    agree_until_caught("follower-ack-quorum", Faults::Partitions, (500, 1500));
}

/// Clients that stop after a few operations: the liveness check then waits
/// for an answer only from a client that still works, and none is owed
/// once all have finished; the incremental check, which follows finished
/// clients and new answers instead of walking every client, agrees.
#[test]
fn incremental_and_exhaustive_checks_agree_when_clients_finish() {
    for seed in 0..seeds(4) {
        let mut spec = RunSpec::new(seed, Faults::Partitions);
        spec.workload.clients = 6;
        spec.workload.max_ops = 2 + seed % 3;
        spec.compare_exhaustive = true;
        let r = run(&spec);
        assert!(r.finding.is_none(), "seed {seed}: {:?}", r.finding);
    }
}

#[test]
fn incremental_and_exhaustive_checks_agree_on_correct_runs_under_faults() {
    for faults in [Faults::Partitions, Faults::Unreliable, Faults::Bounce] {
        for seed in 0..seeds(4) {
            let mut spec = RunSpec::new(seed, faults);
            spec.compare_exhaustive = true;
            let r = run(&spec);
            assert!(
                r.finding.is_none(),
                "{faults:?} seed {seed}: {:?}",
                r.finding
            );
        }
    }
}

/// A timer tag the Raft node does not use.
const REWRITE: u64 = 1 << 40;

/// A Raft replica that, when told to, rewrites one old entry of its log on
/// disk and recovers from it, all in one event: the kind of change a bug
/// that corrupts a committed entry makes, with no crash, no restart and no
/// change of the simulation's conditions to make every replica be looked at.
struct Rewriter {
    cfg: RaftConfig,
    node: RaftNode,
    /// (when, which index) to rewrite, if this replica is to.
    rewrite: Option<(Nanos, u64)>,
}

impl Process for Rewriter {
    type Msg = RaftMsg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, RaftMsg>) {
        self.node.on_start(ctx);
        if let Some((at, _)) = self.rewrite {
            ctx.set_timer(at, REWRITE);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, RaftMsg>, from: NodeId, msg: RaftMsg) {
        self.node.on_message(ctx, from, msg);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, RaftMsg>, tag: u64) {
        let Some((_, index)) = self.rewrite.filter(|_| tag == REWRITE) else {
            return self.node.on_timer(ctx, tag);
        };
        let old = self.node.log().get(index).expect("the entry is in the log");
        assert!(
            matches!(old.command(), Command::Client { .. }),
            "index {index} holds a client request"
        );
        let changed: Entry = Entry::new(old.term(), Command::Noop);
        persist::save_entry(ctx.storage(), index, &changed);
        ctx.storage().sync();
        self.node = RaftNode::new(self.cfg.clone());
        self.node.on_start(ctx);
    }
}

impl RaftReplica for Rewriter {
    type State = raft::kv::KvState;

    fn raft(&self) -> &RaftNode {
        &self.node
    }
}

/// Three replicas (replica 1 rewrites entry `index` at `at`, if given) and
/// three clients, run to 3 s with the incremental and the exhaustive
/// safety checks after every event; the first finding of each, and the
/// length of replica 1's log before the rewrite.
fn rewrite_run(rewrite: Option<(Nanos, u64)>) -> (Option<Finding>, Option<Finding>, u64) {
    let spec = RunSpec::new(11, Faults::None);
    let mut sim: Sim<RaftMsg> = Sim::new(spec.seed, LinkConfig::default());
    let (mut rc, _) = raft::default_configs(3, &spec.workload, spec.bugs);
    // No snapshot: the whole log stays on disk and in memory.
    rc.snapshot_threshold = u64::MAX / 2;
    let replicas: Vec<NodeId> = (0..3).collect();
    for r in &replicas {
        let cfg = rc.clone();
        let rewrite = rewrite.filter(|_| *r == 1);
        sim.add_node(move || Rewriter {
            cfg: cfg.clone(),
            node: RaftNode::new(cfg.clone()),
            rewrite,
        });
    }
    let cc = ClientConfig::new(replicas.clone(), spec.workload.clone());
    for _ in 0..spec.workload.clients {
        let cfg = cc.clone();
        sim.add_node(move || RaftClient::new(cfg.clone()));
    }
    let mut incremental = SafetyChecker::new(replicas.clone());
    let mut exhaustive = SafetyChecker::new(replicas).exhaustive();
    let (mut first, mut reference) = (None, None);
    // Both checks after every event; the run stops at either's finding.
    let mut check = |s: &Sim<RaftMsg>| {
        let found = incremental.check::<Rewriter>(s);
        let expected = exhaustive.check::<Rewriter>(s);
        let stop = found.clone().or_else(|| expected.clone());
        first = first.take().or(found);
        reference = reference.take().or(expected);
        stop
    };
    let before = rewrite.map_or(3 * SECONDS, |(at, _)| at - 1);
    sim.run_until_checked(before, &mut check);
    let length = sim
        .process_as::<Rewriter>(1)
        .map_or(0, |r| r.node.log().last_index());
    sim.run_until_checked(3 * SECONDS, &mut check);
    (first, reference, length)
}

#[test]
fn an_entry_changed_deep_in_a_long_log_is_caught_by_the_event_that_changed_it() {
    // Without the rewrite the run is clean, and its log is long.
    let (first, reference, length) = rewrite_run(None);
    assert_eq!((&first, &reference), (&None, &None));
    assert!(length >= 300, "the log holds {length} entries");
    // Entry 10 of 300 or more changed on replica 1 at 2 s: its log now ends
    // with the same (index, term) as before but a different chain.
    let at = 2 * SECONDS;
    let (first, reference, length) = rewrite_run(Some((at, 10)));
    assert!(length >= 200, "the log held {length} entries");
    let first = first.expect("the incremental check caught the rewrite");
    assert_eq!(first.kind, raft::invariants::LOG_MATCHING, "{first:?}");
    assert_eq!((first.time, first.node), (at, Some(1)), "{first:?}");
    assert_eq!(Some(first), reference, "the exhaustive check agrees");
}
