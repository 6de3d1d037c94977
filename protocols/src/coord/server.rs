//! A replica of the coordination service: a Raft node of the tree, plus
//! what only the leader does, answer heartbeats and decide session expiry.
//!
//! Heartbeats (`Ping`) are not logged: the leader notes when it last heard
//! each session, on its own monotonic clock, and answers. Every
//! `check_every` it proposes `ExpireSession` for each live session not heard
//! for `session_timeout`; once committed, every replica deletes the
//! session's ephemeral nodes at the same point of the log. A node that
//! becomes leader knows nobody's last heartbeat, so it counts every session
//! as heard at the moment it took over (as ZooKeeper's new leader does):
//! a failover never expires a session that kept pinging.
//!
//! A new leader answers pings only once its tree is up to date: once it has
//! applied an entry of its own term (the no-op Raft's leader appends on
//! taking over, §8 of the Raft paper; ZooKeeper's leader likewise serves
//! only once synced with a quorum). Before then its tree may lack entries
//! committed under an earlier leader: a session opened there would look
//! expired, and a live client be told so. Pings that arrive meanwhile wait,
//! and are answered then (or dropped if it loses the lead: the client pings
//! again).
//!
//! A replica that is not the leader hands a ping to Raft, which answers
//! "not leader" with its hint.

use std::collections::BTreeMap;

use sim_core::{Ctx, Nanos, NodeId, Process};

use super::{CoordMsg, CoordOp, CoordReply, CoordTree, SERVICE_SESSION};
use crate::raft::{Bug, RaftConfig, RaftMsg, RaftNode, RaftReplica, Role, Rpc};

#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    pub raft: RaftConfig,
    pub session_timeout: Nanos,
    /// How often the leader looks for sessions to expire.
    pub check_every: Nanos,
}

/// Raft's timer tags are small numbers; this one is the server's own.
const EXPIRY_CHECK: u64 = 1 << 40;

pub struct CoordServer {
    cfg: ServerConfig,
    raft: RaftNode<CoordTree>,
    /// Session → when the leader last heard it (monotonic). Volatile.
    heard: BTreeMap<u64, Nanos>,
    /// The term this node last found itself leading in: a new term of
    /// leadership starts every session's clock afresh.
    leading_term: Option<u64>,
    /// Pings received while leading before the tree was up to date:
    /// (from, session, seq, sent). Volatile.
    waiting_pings: Vec<(NodeId, u64, u64, Nanos)>,
}

impl CoordServer {
    pub fn new(cfg: ServerConfig) -> Self {
        let raft = RaftNode::new(cfg.raft.clone());
        Self {
            cfg,
            raft,
            heard: BTreeMap::new(),
            leading_term: None,
            waiting_pings: Vec::new(),
        }
    }

    pub fn tree(&self) -> &CoordTree {
        self.raft.state_machine()
    }

    /// Notices leadership gained since the last event: then every live
    /// session counts as heard now.
    fn track_leadership(&mut self, now: Nanos) {
        let leading = self.raft.role() == Role::Leader;
        let term = self.raft.term();
        if !leading {
            self.leading_term = None;
            self.heard.clear();
            self.waiting_pings.clear();
        } else if self.leading_term != Some(term) {
            self.leading_term = Some(term);
            self.heard = self.tree().sessions.keys().map(|&s| (s, now)).collect();
        }
    }

    /// Whether this node, leading, has applied an entry of its own term:
    /// then its tree holds every entry committed before it took over.
    fn up_to_date(&self) -> bool {
        self.raft.log().term_at(self.raft.last_applied()) == Some(self.raft.term())
    }

    /// After Raft handled an event: notes a change of leadership, and answers
    /// the pings that waited for the tree to be up to date.
    fn after_raft(&mut self, ctx: &mut Ctx<'_, CoordMsg>) {
        self.track_leadership(ctx.monotonic_now());
        if self.waiting_pings.is_empty() || !self.up_to_date() {
            return;
        }
        for (from, session, seq, sent) in std::mem::take(&mut self.waiting_pings) {
            self.on_ping(ctx, from, session, seq, sent);
        }
    }

    fn on_ping(
        &mut self,
        ctx: &mut Ctx<'_, CoordMsg>,
        from: NodeId,
        session: u64,
        seq: u64,
        sent: Nanos,
    ) {
        let outcome = if self.tree().session_live(session) {
            self.heard.insert(session, ctx.monotonic_now());
            CoordReply::Pong { sent }
        } else {
            CoordReply::SessionExpired
        };
        ctx.send(from, RaftMsg::seal(Rpc::ClientReply { seq, outcome }));
    }

    /// Proposes the expiry of every live session silent for the timeout.
    fn expire_silent(&mut self, ctx: &mut Ctx<'_, CoordMsg>) {
        let now = ctx.monotonic_now();
        let live: Vec<u64> = self.tree().sessions.keys().copied().collect();
        let mut silent = Vec::new();
        for s in live {
            // A session opened since this node took over starts now.
            let heard = *self.heard.entry(s).or_insert(now);
            if now.saturating_sub(heard) > self.cfg.session_timeout {
                silent.push(s);
            }
        }
        let me = ctx.id();
        for session in silent {
            ctx.count("coord.sessions_expired_proposed", 1);
            // As a request of the service's own session, numbered by the
            // session it expires: Raft then logs it once while it is pending.
            let rpc = Rpc::ClientRequest {
                session: SERVICE_SESSION,
                seq: session,
                op: CoordOp::ExpireSession { session },
            };
            self.raft.on_message(ctx, me, RaftMsg::seal(rpc));
        }
        self.heard
            .retain(|s, _| self.raft.state_machine().session_live(*s));
    }
}

/// Raft's safety checks read the replica inside.
impl RaftReplica for CoordServer {
    type State = CoordTree;

    fn raft(&self) -> &RaftNode<CoordTree> {
        &self.raft
    }
}

impl Process for CoordServer {
    type Msg = CoordMsg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, CoordMsg>) {
        self.raft.on_start(ctx);
        ctx.set_timer(self.cfg.check_every, EXPIRY_CHECK);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, CoordMsg>, from: NodeId, msg: CoordMsg) {
        self.track_leadership(ctx.monotonic_now());
        let ping = matches!(
            msg.rpc,
            Rpc::ClientRequest {
                op: CoordOp::Ping { .. },
                ..
            }
        );
        if ping && self.raft.role() == Role::Leader && self.raft.broken().is_none() {
            // The checksum is verified as Raft would (a corrupted ping is dropped).
            let verify = !self.cfg.raft.bugs.has(Bug::NoChecksum);
            if let Some(Rpc::ClientRequest {
                session,
                seq,
                op: CoordOp::Ping { sent },
            }) = msg.open(ctx, verify)
            {
                if self.up_to_date() {
                    self.on_ping(ctx, from, session, seq, sent);
                } else {
                    ctx.count("coord.pings_held_until_up_to_date", 1);
                    self.waiting_pings.push((from, session, seq, sent));
                }
            }
            return;
        }
        self.raft.on_message(ctx, from, msg);
        self.after_raft(ctx);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, CoordMsg>, tag: u64) {
        if tag != EXPIRY_CHECK {
            self.raft.on_timer(ctx, tag);
            self.after_raft(ctx);
            return;
        }
        self.track_leadership(ctx.monotonic_now());
        if self.raft.role() == Role::Leader {
            self.expire_silent(ctx);
        }
        ctx.set_timer(self.cfg.check_every, EXPIRY_CHECK);
    }
}
