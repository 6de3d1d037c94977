//! What Raft nodes and their clients say to each other, and what the log holds.

use serde::{Deserialize, Serialize};
use sim_core::fingerprint::StableHasher;
use sim_core::{Message, NodeId};

use super::kv::{KvState, Outcome};
use crate::workload::ClientOp;

/// A replicated command.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Command {
    /// Appended by a new leader so that it has an entry of its own term to
    /// commit (which commits every earlier entry with it, §5.4.2).
    Noop,
    /// A client operation. `session` and `seq` identify it for deduplication;
    /// `client` is the node to answer.
    Client {
        client: NodeId,
        session: u64,
        seq: u64,
        op: ClientOp,
    },
}

/// One log entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Entry {
    pub term: u64,
    pub command: Command,
}

impl Entry {
    /// A stable digest of the entry, for the invariant checker.
    pub fn digest(&self) -> u64 {
        StableHasher::hash_of(self)
    }
}

/// A state-machine snapshot covering the log up to `last_index`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Snapshot {
    pub last_index: u64,
    pub last_term: u64,
    /// Verification ghost: the log's hash chain at `last_index` (see
    /// `log.rs`). No protocol decision reads it; it lets the checker keep
    /// verifying Log Matching across compaction.
    pub chain: u64,
    pub state: KvState,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RaftMsg {
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
        entries: Vec<Entry>,
        leader_commit: u64,
    },
    /// On success `match_index` is the last index known to match the
    /// leader's log. On failure, `conflict_term`/`conflict_index` let the
    /// leader skip a whole conflicting term at once (§5.3, fast back-off).
    AppendEntriesReply {
        term: u64,
        success: bool,
        match_index: u64,
        conflict_term: Option<u64>,
        conflict_index: u64,
    },
    InstallSnapshot {
        term: u64,
        snapshot: Snapshot,
    },
    InstallSnapshotReply {
        term: u64,
        last_index: u64,
    },
    /// From a client: apply `op` once, whatever the number of retries.
    ClientRequest {
        session: u64,
        seq: u64,
        op: ClientOp,
    },
    ClientReply {
        seq: u64,
        outcome: Outcome,
    },
    /// "I am not the leader; try `leader` if known."
    NotLeader {
        seq: u64,
        leader: Option<NodeId>,
    },
}

// A corrupted Raft message is dropped (as a failed checksum would drop it):
// the default `corrupt` returns false.
impl Message for RaftMsg {}
