//! What Raft nodes and their clients say to each other, and what the log holds.

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sim_core::fingerprint::{EventHasher, StableHasher};
use sim_core::integrity::{checksum, flip_random_bit, CORRUPT_DETECTED};
use sim_core::rng::SimRng;
use sim_core::{Ctx, Message, NodeId};

use super::kv::KvState;
use super::state_machine::StateMachine;

/// A replicated command of a log replicating the state machine `S`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(bound = "")]
pub enum Command<S: StateMachine = KvState> {
    /// Appended by a new leader so that it has an entry of its own term to
    /// commit (which commits every earlier entry with it, §5.4.2).
    Noop,
    /// A client operation. `session` and `seq` identify it for deduplication;
    /// `client` is the node to answer.
    Client {
        client: NodeId,
        session: u64,
        seq: u64,
        op: S::Op,
    },
}

/// One log entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Entry<S: StateMachine = KvState> {
    pub term: u64,
    pub command: Command<S>,
}

impl<S: StateMachine> Entry<S> {
    /// A stable digest of the entry, for the invariant checker.
    pub fn digest(&self) -> u64 {
        StableHasher::hash_of(self)
    }
}

/// A state-machine snapshot covering the log up to `last_index`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Snapshot<S: StateMachine = KvState> {
    pub last_index: u64,
    pub last_term: u64,
    /// Verification ghost: the log's hash chain at `last_index` (see
    /// `log.rs`). No protocol decision reads it; it lets the checker keep
    /// verifying Log Matching across compaction.
    pub chain: u64,
    pub state: S,
}

/// One Raft RPC (or client request/answer), before it is put on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(bound = "")]
pub enum Rpc<S: StateMachine = KvState> {
    /// Pre-vote (dissertation §9.6): "would you vote for me in `term`?" —
    /// asked before a real election, changing no one's term.
    PreVote {
        term: u64,
        last_log_index: u64,
        last_log_term: u64,
    },
    PreVoteReply {
        term: u64,
        granted: bool,
    },
    RequestVote {
        term: u64,
        last_log_index: u64,
        last_log_term: u64,
    },
    RequestVoteReply {
        term: u64,
        granted: bool,
    },
    AppendEntries {
        term: u64,
        prev_log_index: u64,
        prev_log_term: u64,
        entries: Vec<Entry<S>>,
        leader_commit: u64,
    },
    /// On success `match_index` is the last index known to match the
    /// leader's log. On failure, `conflict_term`/`conflict_index` let the
    /// leader skip a whole conflicting term at once (§5.3, fast back-off).
    /// `prev_log_index` echoes the request's: with several requests in
    /// flight, it tells the leader which one a rejection answers.
    AppendEntriesReply {
        term: u64,
        success: bool,
        prev_log_index: u64,
        match_index: u64,
        conflict_term: Option<u64>,
        conflict_index: u64,
    },
    /// The snapshot is boxed: inline, the state machine's size (a hash
    /// table's, say) would be every message's, copied at each move.
    InstallSnapshot {
        term: u64,
        snapshot: Box<Snapshot<S>>,
    },
    InstallSnapshotReply {
        term: u64,
        last_index: u64,
    },
    /// From a client: apply `op` once, whatever the number of retries.
    ClientRequest {
        session: u64,
        seq: u64,
        op: S::Op,
    },
    ClientReply {
        seq: u64,
        outcome: S::Output,
    },
    /// "I am not the leader; try `leader` if known."
    NotLeader {
        seq: u64,
        leader: Option<NodeId>,
    },
    /// To a client that did not ask: something it registered for happened
    /// (see [`StateMachine::take_notices`]).
    Notify {
        note: S::Output,
    },
}

impl<S: StateMachine> Rpc<S> {
    /// The numbers a bit flip can hit: terms, indices, sequence numbers, the
    /// terms of carried entries and the values clients write.
    fn numbers(&mut self) -> Vec<&mut u64> {
        match self {
            Rpc::PreVote {
                term,
                last_log_index,
                last_log_term,
            }
            | Rpc::RequestVote {
                term,
                last_log_index,
                last_log_term,
            } => {
                vec![term, last_log_index, last_log_term]
            }
            Rpc::PreVoteReply { term, .. } | Rpc::RequestVoteReply { term, .. } => vec![term],
            Rpc::AppendEntries {
                term,
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit,
            } => {
                let mut n: Vec<&mut u64> = vec![term, prev_log_index, prev_log_term, leader_commit];
                n.extend(entries.iter_mut().map(|e| &mut e.term));
                n
            }
            Rpc::AppendEntriesReply {
                term,
                prev_log_index,
                match_index,
                conflict_index,
                ..
            } => {
                vec![term, prev_log_index, match_index, conflict_index]
            }
            Rpc::InstallSnapshot { term, snapshot, .. } => {
                vec![term, &mut snapshot.last_index, &mut snapshot.last_term]
            }
            Rpc::InstallSnapshotReply { term, last_index } => vec![term, last_index],
            Rpc::ClientRequest { session, seq, op } => {
                let mut n: Vec<&mut u64> = vec![session, seq];
                n.extend(S::op_numbers(op));
                n
            }
            Rpc::ClientReply { seq, .. } | Rpc::NotLeader { seq, .. } => vec![seq],
            Rpc::Notify { .. } => vec![],
        }
    }
}

/// What travels on the wire: an RPC and a checksum over it. A bit flipped in
/// flight lands in the RPC (or in the checksum); the receiver recomputes the
/// checksum and drops what does not match, counting it as detected. The
/// `no-checksum` bug skips that check, and the corrupted number is believed.
/// The checksum is computed once, at sealing, as `sim_core::integrity::Sealed`
/// does: the fingerprint folds it instead of hashing the RPC again, and it is
/// recomputed only for a message the network altered (or one read back from
/// bytes); any other holds by construction.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct RaftMsg<S: StateMachine = KvState> {
    pub rpc: Rpc<S>,
    pub sum: u64,
    /// `sum` was computed from `rpc` by `seal`, and nothing altered either since.
    #[serde(skip)]
    trusted: bool,
}

impl<S: StateMachine> RaftMsg<S> {
    pub fn seal(rpc: Rpc<S>) -> Self {
        let sum = checksum(&rpc);
        Self {
            rpc,
            sum,
            trusted: true,
        }
    }

    /// The RPC if its checksum holds (or if `verify` is off); a corrupted one
    /// is counted and dropped.
    pub fn open(self, ctx: &mut Ctx<'_, RaftMsg<S>>, verify: bool) -> Option<Rpc<S>> {
        if verify && !self.trusted && checksum(&self.rpc) != self.sum {
            ctx.count(CORRUPT_DETECTED, 1);
            return None;
        }
        Some(self.rpc)
    }
}

impl<S: StateMachine> Message for RaftMsg<S> {
    fn fingerprint(&self, h: &mut EventHasher) {
        h.word(self.sum);
    }

    fn corrupt(&mut self, rng: &mut SimRng) -> bool {
        self.trusted = false;
        let mut numbers = self.rpc.numbers();
        // One more slot for the checksum itself.
        let pick = rng.next_u64() % (numbers.len() as u64 + 1);
        match numbers.get_mut(pick as usize) {
            Some(n) => flip_random_bit(n, rng),
            None => flip_random_bit(&mut self.sum, rng),
        }
        true
    }
}
