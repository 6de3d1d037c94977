//! A replica: raft-rs's `RawNode` driven by clustersim.
//!
//! raft-rs is sans-IO: it never reads a clock, sleeps or touches a socket.
//! The replica gives it what a real server would:
//! - **time**: `RawNode::tick` from a virtual timer of this node's clock;
//! - **messages**: raft-rs's outgoing messages go out on the simulated
//!   network in their protobuf encoding, incoming ones are `step`ped in;
//! - **storage**: see [`crate::durable`]; recovery after a crash reads only
//!   the simulated disk;
//! - **the state machine**: committed entries are applied to a [`Kv`], and
//!   the client that asked is answered.
//!
//! Determinism: raft-rs draws each election timeout from `rand::thread_rng()`
//! in `[min_election_tick, max_election_tick)`. The replica sets
//! `max_election_tick = min_election_tick + 1`, so that draw has one possible
//! value, and chooses `min_election_tick` itself for each incarnation, from
//! the node's seeded stream. The randomness elections need comes from there
//! and from each tick's interval, also drawn from that stream. Everything else
//! raft-rs keeps in hash maps uses `fxhash`, a fixed hash: the same insertions
//! give the same iteration order (`tests/determinism.rs` checks that a seed
//! gives one fingerprint).

use std::collections::BTreeSet;

use harness::sim_core::rng::unit;
use harness::sim_core::{Ctx, NodeId, Process, MILLIS};
use harness::workload::ClientOp;
use raft::eraftpb::{Entry, EntryType, Message as RaftMessage};
use raft::storage::MemStorage;
use raft::{Config, RawNode, StateRole};

use crate::durable;
use crate::kv::{Command, Kv};
use crate::msg::{node_of, raft_id, Msg, Outcome, PeerMsg};

/// The nominal time between two ticks; each interval is drawn from
/// `[0.8, 1.2] × TICK`.
pub const TICK: u64 = 10 * MILLIS;
/// A leader sends heartbeats every this many ticks.
pub const HEARTBEAT_TICKS: usize = 2;
/// A follower's election timeout, in ticks, is drawn per incarnation from
/// this range (raft-rs's default range is [election_tick, 2 × election_tick)).
pub const ELECTION_TICKS: std::ops::Range<usize> = 10..20;

/// Switches for the wrapper's known bugs (see `crate::driver::BUGS`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bugs {
    /// The leader answers a write as soon as it has proposed it, before the
    /// entry is committed.
    pub ack_before_commit: bool,
    /// The replica never syncs its disk: a crash that loses unsynced writes
    /// takes back votes it cast and entries it acknowledged.
    pub no_sync: bool,
}

/// How reads are served.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Reads {
    /// Through the log, like writes.
    #[default]
    Log,
    /// raft-rs's ReadIndex: the leader confirms with a quorum's heartbeats
    /// that it still leads and names its commit index; the replica that took
    /// the read answers once it has applied that far.
    ReadIndex,
}

/// One committed entry as this replica applied it, for the invariants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub index: u64,
    pub term: u64,
    pub data: Vec<u8>,
}

pub struct Replica {
    /// Raft ids of every replica.
    voters: Vec<u64>,
    bugs: Bugs,
    reads: Reads,
    /// Set in `on_start`: raft-rs is built from what the disk kept.
    raft: Option<RawNode<MemStorage>>,
    kv: Kv,
    /// Client requests this replica took: answered when their entry applies.
    waiting: BTreeSet<(NodeId, u64)>,
    /// Every entry this incarnation applied, in order.
    applied: Vec<Applied>,
    /// Reads raft-rs has placed (ReadIndex): answered once the log is
    /// applied up to their index.
    reads_waiting: Vec<(u64, Command)>,
}

impl Replica {
    pub fn new(replicas: u32, bugs: Bugs, reads: Reads) -> Self {
        Self {
            voters: (0..replicas).map(raft_id).collect(),
            bugs,
            reads,
            raft: None,
            kv: Kv::default(),
            waiting: BTreeSet::new(),
            applied: Vec::new(),
            reads_waiting: Vec::new(),
        }
    }

    /// raft-rs's view of this replica (term, role, log), once started.
    pub fn raft(&self) -> Option<&raft::Raft<MemStorage>> {
        self.raft.as_ref().map(|node| &node.raft)
    }

    /// The term this replica leads in, if it is a leader.
    pub fn leading(&self) -> Option<u64> {
        self.raft()
            .filter(|r| r.state == StateRole::Leader)
            .map(|r| r.term)
    }

    pub fn applied(&self) -> &[Applied] {
        &self.applied
    }

    fn node(&mut self) -> &mut RawNode<MemStorage> {
        self.raft.as_mut().expect("started")
    }

    fn schedule_tick(ctx: &mut Ctx<'_, Msg>) {
        let interval = (TICK as f64 * (0.8 + 0.4 * unit(ctx.rng()))) as u64;
        ctx.set_timer(interval, 0);
    }

    fn on_request(&mut self, ctx: &mut Ctx<'_, Msg>, client: NodeId, req: u64, op: ClientOp) {
        if let Some(outcome) = self.kv.answered(client, req) {
            // A retry of a request already applied here.
            ctx.send(client, Msg::Reply { req, outcome });
            return;
        }
        let cmd = Command { client, req, op };
        let known = self.raft().map_or(0, |r| r.leader_id);
        if self.reads == Reads::ReadIndex && matches!(op, ClientOp::Read { .. }) {
            if known == 0 {
                // raft-rs would drop the request without a word.
                ctx.send(client, Msg::NotLeader { req, hint: None });
            } else {
                self.node().read_index(cmd.encode());
            }
            return;
        }
        let leader = self.raft().is_some_and(|r| r.state == StateRole::Leader);
        // A follower forwards the proposal to the leader it knows; with no
        // leader known, raft-rs drops it and says so.
        match self.node().propose(vec![], cmd.encode()) {
            Ok(()) => {
                self.waiting.insert((client, req));
                if self.bugs.ack_before_commit && leader && matches!(op, ClientOp::Write { .. }) {
                    let outcome = Outcome::Written;
                    ctx.send(client, Msg::Reply { req, outcome });
                }
            }
            Err(_) => {
                let hint = (known != 0).then(|| node_of(known));
                ctx.send(client, Msg::NotLeader { req, hint });
            }
        }
    }

    fn send(ctx: &mut Ctx<'_, Msg>, msgs: Vec<RaftMessage>) {
        for m in msgs {
            ctx.send(node_of(m.to), Msg::Peer(PeerMsg::encode(&m)));
        }
    }

    fn apply(&mut self, ctx: &mut Ctx<'_, Msg>, entries: Vec<Entry>) {
        for e in entries {
            let data = e.data.to_vec();
            if e.get_entry_type() == EntryType::EntryNormal && !data.is_empty() {
                let cmd = Command::decode(&data).expect("only commands are proposed");
                if let Some(outcome) = self.kv.apply(&cmd) {
                    if self.waiting.remove(&(cmd.client, cmd.req)) {
                        let req = cmd.req;
                        ctx.send(cmd.client, Msg::Reply { req, outcome });
                    }
                }
            }
            self.applied.push(Applied {
                index: e.index,
                term: e.term,
                data,
            });
        }
    }

    /// Answers the ReadIndex reads whose index this replica has applied.
    fn answer_reads(&mut self, ctx: &mut Ctx<'_, Msg>) {
        let applied = self.applied.last().map_or(0, |a| a.index);
        let kv = &self.kv;
        self.reads_waiting.retain(|(index, cmd)| {
            if *index > applied {
                return true;
            }
            let outcome = Outcome::Read(kv.get(cmd.op.key()));
            ctx.send(
                cmd.client,
                Msg::Reply {
                    req: cmd.req,
                    outcome,
                },
            );
            false
        });
    }

    /// Hands raft-rs's `Ready` to the world in the order raft-rs asks for:
    /// messages a leader may send before persisting, committed entries to
    /// apply, entries and hard state to persist (then a sync), and only then
    /// the messages that promise what was persisted.
    fn handle_ready(&mut self, ctx: &mut Ctx<'_, Msg>) {
        let sync = !self.bugs.no_sync;
        while self.node().has_ready() {
            let mut ready = self.node().ready();
            Self::send(ctx, ready.take_messages());
            assert!(
                ready.snapshot().get_metadata().index == 0,
                "a snapshot arrived, but no log is ever compacted"
            );
            for rs in ready.take_read_states() {
                let cmd = Command::decode(&rs.request_ctx).expect("reads carry a command");
                self.reads_waiting.push((rs.index, cmd));
            }
            self.apply(ctx, ready.take_committed_entries());
            let store = self.node().store().clone();
            durable::append(ctx.storage(), &store, ready.entries());
            if let Some(hs) = ready.hs() {
                durable::set_hard_state(ctx.storage(), &store, hs);
            }
            if sync && ctx.storage().unsynced() > 0 {
                ctx.storage().sync();
            }
            Self::send(ctx, ready.take_persisted_messages());
            let mut light = self.node().advance(ready);
            if let Some(commit) = light.commit_index() {
                durable::set_commit(ctx.storage(), &store, commit);
                if sync {
                    ctx.storage().sync();
                }
            }
            Self::send(ctx, light.take_messages());
            self.apply(ctx, light.take_committed_entries());
            self.node().advance_apply();
            self.answer_reads(ctx);
        }
    }
}

impl Process for Replica {
    type Msg = Msg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, Msg>) {
        let store = durable::recover(ctx.storage(), self.voters.clone());
        let span = (ELECTION_TICKS.end - ELECTION_TICKS.start) as f64;
        let election = ELECTION_TICKS.start + (span * unit(ctx.rng())) as usize;
        let config = Config {
            id: raft_id(ctx.id()),
            election_tick: ELECTION_TICKS.start,
            heartbeat_tick: HEARTBEAT_TICKS,
            // One possible value: raft-rs's own draw from thread_rng is moot.
            min_election_tick: election,
            max_election_tick: election + 1,
            pre_vote: true,
            check_quorum: true,
            max_inflight_msgs: 256,
            max_size_per_msg: 1 << 20,
            ..Config::default()
        };
        let logger = slog::Logger::root(slog::Discard, slog::o!());
        self.raft = Some(RawNode::new(&config, store, &logger).expect("a valid raft-rs config"));
        Self::schedule_tick(ctx);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Msg>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Peer(bytes) => {
                let Some(m) = bytes.decode() else { return };
                // An error means a message raft-rs ignores (from a peer it
                // does not know): nothing to do.
                let _ = self.node().step(m);
            }
            Msg::Request { req, op } => self.on_request(ctx, from, req, op),
            Msg::Reply { .. } | Msg::NotLeader { .. } => return,
        }
        self.handle_ready(ctx);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Msg>, _tag: u64) {
        self.node().tick();
        self.handle_ready(ctx);
        Self::schedule_tick(ctx);
    }
}
