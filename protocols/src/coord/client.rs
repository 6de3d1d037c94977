//! The lock client: a session with heartbeats, the lock recipe of the
//! ZooKeeper documentation, ordered acquisition of several locks, and
//! writes to the guarded resources while it holds them.
//!
//! The recipe, for lock `i` (directory `/lock-i`): create an ephemeral
//! sequential child `n-`; list the children; if ours is the lowest, we hold
//! the lock, and the zxid that created our node is the fencing token;
//! otherwise leave a watch on the child just below ours (the predecessor
//! only: its deletion wakes us alone) and list again when it fires. A
//! waiter also lists again every `recheck`, in case a notice was lost with
//! a leader.
//!
//! Several locks are taken one after the other in sorted order, so that no
//! two clients wait on each other; if one cannot be taken (the session
//! ended), every lock held or queued for is given back.
//!
//! The session: the client pings every `ping_every`. It knows its session
//! alive only until `validity` after the send time of the last answered
//! ping (a fraction of the session timeout: the leader cannot have expired
//! it before then). A holder writes to the resource only while it knows its
//! session alive; when it no longer does it stops and gives the locks back.
//! Told `SessionExpired`, it opens a new session.
//!
//! Every request to the tree goes to the leader it believes in, follows
//! "not leader" hints, and is retried under the same sequence number until
//! answered (the tree applies it once).

use rand::seq::SliceRandom;
use rand::{Rng, RngCore};
use serde_json::Value;
use sim_core::{Ctx, Nanos, NodeId, OpId, OpType, Process, TimerId};

use super::{Bugs, CoordMsg, CoordOp, CoordReply, ZkError};
use crate::raft::{RaftMsg, Rpc};

#[derive(Debug, Clone, PartialEq)]
pub struct ClientConfig {
    pub replicas: Vec<NodeId>,
    /// The guarded resource of each lock.
    pub resources: Vec<NodeId>,
    /// Locks taken per acquisition (drawn from `resources.len()` locks).
    pub locks_per_client: usize,
    pub ping_every: Nanos,
    /// How long after an answered ping's send time the client counts on its
    /// session.
    pub validity: Nanos,
    pub request_timeout: Nanos,
    /// Time between a lock being granted and its release.
    pub hold: Nanos,
    pub write_every: Nanos,
    /// Pause between a release and the next acquisition (drawn up to this).
    pub think: Nanos,
    pub recheck: Nanos,
    pub bugs: Bugs,
}

/// The request awaiting its answer.
#[derive(Debug, Clone)]
struct Pending {
    seq: u64,
    op: CoordOp,
}

/// One lock in an acquisition: its number and, once created, our node.
#[derive(Debug, Clone)]
struct LockNode {
    lock: usize,
    /// Our child's full path and the zxid that created it.
    mine: Option<(String, u64)>,
}

#[derive(Debug, Clone)]
enum Phase {
    /// Opening a session.
    Opening,
    /// Waiting for the think timer.
    Idle,
    /// Taking `locks` in order; `at` indexes the one being taken.
    Acquiring {
        op: OpId,
        locks: Vec<LockNode>,
        at: usize,
        /// The node watched while waiting, if waiting.
        watching: Option<String>,
    },
    Holding {
        locks: Vec<LockNode>,
    },
    /// Deleting our nodes (those left in `locks`); `op` is the release (or
    /// the failed acquire) to complete once done.
    Releasing {
        op: Option<OpId>,
        locks: Vec<LockNode>,
    },
}

const PING: u64 = 1;
const THINK: u64 = 2;
const WRITE: u64 = 3;
const HOLD_END: u64 = 4;
const RECHECK: u64 = 5;
const REQUEST: u64 = 6;

/// A timer tag: its kind and the round (acquisition or request number) it
/// belongs to, so that a timer outliving its round is ignored.
fn tag(kind: u64, round: u64) -> u64 {
    round << 8 | kind
}

pub struct LockClient {
    cfg: ClientConfig,
    session: u64,
    /// Request numbers, rising for the whole incarnation (not restarted with
    /// a new session, so that no late answer to an old session's request
    /// matches a new one's).
    seq: u64,
    pending: Option<Pending>,
    /// The pending request's retry timer.
    request_timer: Option<TimerId>,
    leader: Option<NodeId>,
    next_target: usize,
    /// Send time (monotonic) of the last answered ping.
    last_ack: Nanos,
    ping_outstanding: bool,
    phase: Phase,
    /// Acquisition rounds started; tags the round's timers.
    round: u64,
}

fn lock_dir(lock: usize) -> String {
    format!("/lock-{lock}")
}

impl LockClient {
    pub fn new(cfg: ClientConfig) -> Self {
        Self {
            cfg,
            session: 0,
            seq: 0,
            pending: None,
            request_timer: None,
            leader: None,
            next_target: 0,
            last_ack: 0,
            ping_outstanding: false,
            phase: Phase::Opening,
            round: 0,
        }
    }

    /// Does the client know its session alive now?
    fn session_known_alive(&self, now: Nanos) -> bool {
        now < self.last_ack.saturating_add(self.cfg.validity)
    }

    fn target(&mut self) -> NodeId {
        match self.leader {
            Some(l) => l,
            None => {
                let t = self.cfg.replicas[self.next_target % self.cfg.replicas.len()];
                self.next_target += 1;
                t
            }
        }
    }

    fn transmit(&mut self, ctx: &mut Ctx<'_, CoordMsg>, seq: u64, op: CoordOp) {
        let to = self.target();
        let rpc = Rpc::ClientRequest {
            session: self.session,
            seq,
            op,
        };
        ctx.send(to, RaftMsg::seal(rpc));
    }

    /// Sends `op` as the next request; it is retried until answered.
    fn request(&mut self, ctx: &mut Ctx<'_, CoordMsg>, op: CoordOp) {
        self.seq += 1;
        let seq = self.seq;
        self.pending = Some(Pending {
            seq,
            op: op.clone(),
        });
        self.transmit(ctx, seq, op);
        self.arm_retry(ctx, seq);
    }

    fn resend(&mut self, ctx: &mut Ctx<'_, CoordMsg>) {
        if let Some(p) = self.pending.clone() {
            self.transmit(ctx, p.seq, p.op);
            self.arm_retry(ctx, p.seq);
        }
    }

    /// One retry timer at a time: a resend replaces the previous one.
    fn arm_retry(&mut self, ctx: &mut Ctx<'_, CoordMsg>, seq: u64) {
        if let Some(t) = self.request_timer.take() {
            ctx.cancel_timer(t);
        }
        self.request_timer = Some(ctx.set_timer(self.cfg.request_timeout, tag(REQUEST, seq)));
    }

    fn open_session(&mut self, ctx: &mut Ctx<'_, CoordMsg>) {
        // Never the service's own session (0).
        self.session = ctx.rng().next_u64() | 1;
        self.phase = Phase::Opening;
        let process = ctx.history_process();
        self.request(ctx, CoordOp::OpenSession { process });
    }

    fn ping(&mut self, ctx: &mut Ctx<'_, CoordMsg>) {
        if self.ping_outstanding {
            // The last one went unanswered: try another replica.
            self.leader = None;
        }
        if !matches!(self.phase, Phase::Opening) {
            self.ping_outstanding = true;
            let sent = ctx.monotonic_now();
            self.transmit(ctx, 0, CoordOp::Ping { sent });
        }
        ctx.set_timer(self.cfg.ping_every, tag(PING, 0));
    }

    fn think(&mut self, ctx: &mut Ctx<'_, CoordMsg>) {
        self.phase = Phase::Idle;
        self.round += 1;
        let wait = ctx.rng().random_range(1..=self.cfg.think.max(1));
        ctx.set_timer(wait, tag(THINK, self.round));
    }

    fn start_acquire(&mut self, ctx: &mut Ctx<'_, CoordMsg>) {
        let mut all: Vec<usize> = (0..self.cfg.resources.len()).collect();
        all.shuffle(ctx.rng());
        all.truncate(self.cfg.locks_per_client);
        if !self.cfg.bugs.unsorted_locks {
            all.sort_unstable();
        }
        let op = ctx.invoke("acquire", None, Value::from(all.clone()));
        let locks = all
            .into_iter()
            .map(|lock| LockNode { lock, mine: None })
            .collect();
        self.phase = Phase::Acquiring {
            op,
            locks,
            at: 0,
            watching: None,
        };
        self.next_lock_step(ctx);
    }

    /// The next request of the acquisition: create our node in the current
    /// lock, or list its children.
    fn next_lock_step(&mut self, ctx: &mut Ctx<'_, CoordMsg>) {
        let Phase::Acquiring { locks, at, .. } = &self.phase else {
            return;
        };
        let Some(current) = locks.get(*at) else {
            return self.granted(ctx);
        };
        let dir = lock_dir(current.lock);
        let op = match current.mine {
            None => CoordOp::Create {
                path: format!("{dir}/n-"),
                data: self.session,
                ephemeral: !self.cfg.bugs.persistent_nodes,
                sequential: true,
            },
            Some(_) => CoordOp::Children {
                path: dir,
                watch: false,
            },
        };
        self.request(ctx, op);
    }

    fn granted(&mut self, ctx: &mut Ctx<'_, CoordMsg>) {
        if !matches!(self.phase, Phase::Acquiring { .. }) {
            return;
        }
        let Phase::Acquiring { op, locks, .. } = std::mem::replace(&mut self.phase, Phase::Idle)
        else {
            return;
        };
        let token = locks[0].mine.as_ref().map_or(0, |m| m.1);
        ctx.complete(op, OpType::Ok, Value::from(token));
        self.phase = Phase::Holding { locks };
        ctx.set_timer(self.cfg.hold, tag(HOLD_END, self.round));
        self.write(ctx);
    }

    /// One write per lock held, then the next a `write_every` later.
    fn write(&mut self, ctx: &mut Ctx<'_, CoordMsg>) {
        let Phase::Holding { locks } = &self.phase else {
            return;
        };
        if !self.cfg.bugs.act_after_expiry && !self.session_known_alive(ctx.monotonic_now()) {
            ctx.count("coord.holder_stopped_unsure_of_session", 1);
            return self.release(ctx);
        }
        let writes: Vec<(NodeId, u64)> = locks
            .iter()
            .filter_map(|l| Some((self.cfg.resources[l.lock], l.mine.as_ref()?.1)))
            .collect();
        for (resource, token) in writes {
            let op = CoordOp::GuardedWrite {
                token,
                holder: self.session,
            };
            let rpc = Rpc::ClientRequest {
                session: self.session,
                seq: 0,
                op,
            };
            ctx.send(resource, RaftMsg::seal(rpc));
        }
        ctx.set_timer(self.cfg.write_every, tag(WRITE, self.round));
    }

    fn release(&mut self, ctx: &mut Ctx<'_, CoordMsg>) {
        // A timer of the hold may fire after the hold already ended.
        if !matches!(self.phase, Phase::Holding { .. }) {
            return;
        }
        let Phase::Holding { locks } = std::mem::replace(&mut self.phase, Phase::Idle) else {
            return;
        };
        let op = ctx.invoke("release", None, Value::Null);
        self.phase = Phase::Releasing {
            op: Some(op),
            locks,
        };
        self.next_delete(ctx);
    }

    /// Gives back everything of a failed acquisition (all or nothing).
    fn abandon_acquire(&mut self, ctx: &mut Ctx<'_, CoordMsg>) {
        if !matches!(self.phase, Phase::Acquiring { .. }) {
            return;
        }
        let Phase::Acquiring { op, locks, .. } = std::mem::replace(&mut self.phase, Phase::Idle)
        else {
            return;
        };
        ctx.complete(op, OpType::Fail, Value::Null);
        self.phase = Phase::Releasing { op: None, locks };
        self.next_delete(ctx);
    }

    /// Deletes our next node, or finishes the release.
    fn next_delete(&mut self, ctx: &mut Ctx<'_, CoordMsg>) {
        let Phase::Releasing { op, locks } = &mut self.phase else {
            return;
        };
        locks.retain(|l| l.mine.is_some());
        match locks.last() {
            Some(l) => {
                let path = l.mine.as_ref().map(|m| m.0.clone()).unwrap_or_default();
                self.request(
                    ctx,
                    CoordOp::Delete {
                        path,
                        version: Some(0),
                    },
                );
            }
            None => {
                if let Some(op) = op.take() {
                    ctx.complete(op, OpType::Ok, Value::Null);
                }
                self.think(ctx);
            }
        }
    }

    /// The session is gone: whatever we held went with it (ephemerals), taken
    /// back by the service when it expired the session. A holder's release
    /// fails (it never asked); a release under way is indeterminate (its
    /// delete may have been applied before the expiry, its answer lost).
    fn session_expired(&mut self, ctx: &mut Ctx<'_, CoordMsg>) {
        ctx.count("coord.sessions_lost", 1);
        self.pending = None;
        match std::mem::replace(&mut self.phase, Phase::Opening) {
            Phase::Acquiring { op, .. } => ctx.complete(op, OpType::Fail, Value::Null),
            Phase::Holding { .. } => {
                let op = ctx.invoke("release", None, Value::Null);
                ctx.complete(op, OpType::Fail, Value::Null);
            }
            Phase::Releasing { op: Some(op), .. } => ctx.complete(op, OpType::Info, Value::Null),
            _ => {}
        }
        self.open_session(ctx);
    }

    fn on_reply(&mut self, ctx: &mut Ctx<'_, CoordMsg>, reply: CoordReply) {
        if reply == CoordReply::SessionExpired {
            return self.session_expired(ctx);
        }
        let Some(pending) = self.pending.take() else {
            return;
        };
        match (&mut self.phase, reply) {
            (Phase::Opening, CoordReply::SessionOpened) => {
                self.last_ack = ctx.monotonic_now();
                self.think(ctx);
            }
            // Our lock directory made (or found made by another client).
            (Phase::Acquiring { .. }, CoordReply::Created { .. } | CoordReply::Error(_))
                if matches!(
                    pending.op,
                    CoordOp::Create {
                        sequential: false,
                        ..
                    }
                ) =>
            {
                self.next_lock_step(ctx)
            }
            (Phase::Acquiring { locks, at, .. }, CoordReply::Created { path, zxid }) => {
                locks[*at].mine = Some((path, zxid));
                self.next_lock_step(ctx);
            }
            // The lock's directory is missing: make it (persistent), then retry.
            (Phase::Acquiring { locks, at, .. }, CoordReply::Error(ZkError::NoNode))
                if matches!(pending.op, CoordOp::Create { .. }) && locks[*at].mine.is_none() =>
            {
                let path = lock_dir(locks[*at].lock);
                self.request(
                    ctx,
                    CoordOp::Create {
                        path,
                        data: 0,
                        ephemeral: false,
                        sequential: false,
                    },
                );
            }
            (
                Phase::Acquiring {
                    locks,
                    at,
                    watching,
                    ..
                },
                CoordReply::Children(children),
            ) => {
                let current = &locks[*at];
                let mine = current
                    .mine
                    .as_ref()
                    .map(|m| super::tree::name(&m.0).to_string());
                let dir = lock_dir(current.lock);
                let mut children = children;
                children.sort();
                let pos = children.iter().position(|c| Some(c) == mine.as_ref());
                match pos {
                    Some(0) => {
                        *at += 1;
                        *watching = None;
                        self.next_lock_step(ctx);
                    }
                    Some(p) => {
                        let target = if self.cfg.bugs.watch_lowest {
                            &children[0]
                        } else {
                            &children[p - 1]
                        };
                        let path = format!("{dir}/{target}");
                        *watching = Some(path.clone());
                        self.request(ctx, CoordOp::Exists { path, watch: true });
                    }
                    // Our node is gone (our session ended under us): give up.
                    None => self.abandon_acquire(ctx),
                }
            }
            (Phase::Acquiring { .. }, CoordReply::Error(e)) => {
                tracing::debug!(?e, "lock step refused: giving back what was taken");
                self.abandon_acquire(ctx)
            }
            (Phase::Acquiring { watching, .. }, CoordReply::Stat(stat)) => {
                if stat.is_none() {
                    *watching = None;
                    self.next_lock_step(ctx);
                } else {
                    ctx.set_timer(self.cfg.recheck, tag(RECHECK, self.round));
                }
            }
            (Phase::Releasing { locks, .. }, CoordReply::Deleted | CoordReply::Error(_)) => {
                locks.pop();
                self.next_delete(ctx);
            }
            // An answer that fits no step (cannot happen with one request
            // at a time): ask again.
            _ => {
                self.pending = Some(pending);
                self.resend(ctx);
            }
        }
    }

    fn on_notice(&mut self, ctx: &mut Ctx<'_, CoordMsg>, path: String) {
        ctx.count("coord.watch_notices_received", 1);
        if let Phase::Acquiring { watching, .. } = &mut self.phase {
            if watching.as_deref() == Some(&path) && self.pending.is_none() {
                *watching = None;
                self.next_lock_step(ctx);
            }
        }
    }
}

impl Process for LockClient {
    type Msg = CoordMsg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, CoordMsg>) {
        self.open_session(ctx);
        ctx.set_timer(self.cfg.ping_every, tag(PING, 0));
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, CoordMsg>, from: NodeId, msg: CoordMsg) {
        let Some(rpc) = msg.open(ctx, true) else {
            return;
        };
        match rpc {
            Rpc::ClientReply { seq: 0, outcome } => {
                self.ping_outstanding = false;
                self.leader = Some(from);
                match outcome {
                    CoordReply::Pong { sent } => self.last_ack = self.last_ack.max(sent),
                    CoordReply::SessionExpired if !matches!(self.phase, Phase::Opening) => {
                        self.session_expired(ctx)
                    }
                    _ => {}
                }
            }
            Rpc::ClientReply { seq, outcome }
                if self.pending.as_ref().is_some_and(|p| p.seq == seq) =>
            {
                self.leader = Some(from);
                self.on_reply(ctx, outcome);
            }
            Rpc::NotLeader { seq, leader } => {
                self.leader = leader.filter(|l| *l != from);
                if seq != 0
                    && self.pending.as_ref().is_some_and(|p| p.seq == seq)
                    && leader.is_some()
                {
                    self.resend(ctx);
                }
            }
            Rpc::Notify {
                note: CoordReply::WatchFired { path, .. },
            } => self.on_notice(ctx, path),
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, CoordMsg>, t: u64) {
        let (kind, round) = (t & 0xff, t >> 8);
        match kind {
            PING => self.ping(ctx),
            REQUEST if self.pending.as_ref().is_some_and(|p| p.seq == round) => {
                self.request_timer = None;
                self.leader = None;
                self.resend(ctx);
            }
            _ if round != self.round => {}
            THINK if matches!(self.phase, Phase::Idle) => self.start_acquire(ctx),
            WRITE => self.write(ctx),
            HOLD_END => self.release(ctx),
            RECHECK => {
                if let Phase::Acquiring { watching, .. } = &mut self.phase {
                    if watching.is_some() && self.pending.is_none() {
                        *watching = None;
                        self.next_lock_step(ctx);
                    }
                }
            }
            _ => {}
        }
    }
}
