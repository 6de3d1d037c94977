//! What Raft nodes and their clients say to each other, and what the log holds.

use std::hash::{Hash, Hasher};

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
///
/// It carries its digest (a stable hash of term and command, the entry's
/// identity for the safety checker and the hash chain of `log.rs`),
/// computed once, when the entry is made or read back, instead of by every
/// replica that appends it and every message that carries it: a leader
/// hashed each client request once for its log and once more per
/// follower for each AppendEntries checksum, and each follower again for
/// its own log. The fields are private so that nothing changes the content
/// without the digest; the one exception is a bit flip in flight
/// ([`Message::corrupt`]), which marks the message untrusted, and
/// [`RaftMsg::open`] derives the digests of an untrusted message's entries
/// again from what they hold. So a follower's digest is the hash of what it
/// appends, as before, and a corrupted entry is caught as before.
///
/// `Hash` feeds only the digest: a message's checksum covers each entry
/// through it, one word per entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound = "", from = "EntryContent<S>")]
pub struct Entry<S: StateMachine = KvState> {
    term: u64,
    command: Command<S>,
    #[serde(skip_serializing)]
    digest: u64,
}

/// What an entry is made of; its digest is derived from it.
#[derive(Deserialize)]
#[serde(bound = "")]
struct EntryContent<S: StateMachine> {
    term: u64,
    command: Command<S>,
}

impl<S: StateMachine> From<EntryContent<S>> for Entry<S> {
    fn from(content: EntryContent<S>) -> Self {
        Self::new(content.term, content.command)
    }
}

impl<S: StateMachine> Entry<S> {
    pub fn new(term: u64, command: Command<S>) -> Self {
        let mut entry = Self {
            term,
            command,
            digest: 0,
        };
        entry.derive_digest();
        entry
    }

    pub fn term(&self) -> u64 {
        self.term
    }

    pub fn command(&self) -> &Command<S> {
        &self.command
    }

    /// A stable digest of the entry (its term and command), for the
    /// invariant checker and the log's hash chain.
    pub fn digest(&self) -> u64 {
        self.digest
    }

    /// The digest as the term and command now are: the words a derived
    /// `Hash` of the two fields would feed.
    fn derive_digest(&mut self) {
        let mut h = StableHasher::new();
        self.term.hash(&mut h);
        self.command.hash(&mut h);
        self.digest = h.value();
    }
}

impl<S: StateMachine> PartialEq for Entry<S> {
    fn eq(&self, other: &Self) -> bool {
        (self.term, &self.command) == (other.term, &other.command)
    }
}

impl<S: StateMachine> Eq for Entry<S> {}

impl<S: StateMachine> Hash for Entry<S> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.digest);
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
    /// Derives the digests of the entries carried again from what they
    /// hold (after a bit flip in flight, or a read from bytes).
    fn derive_digests(&mut self) {
        if let Rpc::AppendEntries { entries, .. } = self {
            entries.iter_mut().for_each(Entry::derive_digest);
        }
    }

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
    /// An untrusted message (altered in flight, or read from bytes) has its
    /// entries' digests derived again from their content first: the
    /// receiver's log then hashes what it holds, and the checksum is
    /// checked against that.
    pub fn open(self, ctx: &mut Ctx<'_, RaftMsg<S>>, verify: bool) -> Option<Rpc<S>> {
        let rpc = self.unsealed(verify);
        if rpc.is_none() {
            ctx.count(CORRUPT_DETECTED, 1);
        }
        rpc
    }

    /// [`RaftMsg::open`] but for the count: the RPC, `None` if `verify`
    /// and its checksum fails.
    fn unsealed(mut self, verify: bool) -> Option<Rpc<S>> {
        if !self.trusted {
            self.rpc.derive_digests();
            if verify && checksum(&self.rpc) != self.sum {
                return None;
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::ClientOp;

    fn write(term: u64, seq: u64) -> Entry {
        let op = ClientOp::Write { key: 1, value: 9 };
        Entry::new(
            term,
            Command::Client {
                client: 4,
                session: 77,
                seq,
                op,
            },
        )
    }

    fn append(entries: Vec<Entry>) -> RaftMsg {
        RaftMsg::seal(Rpc::AppendEntries {
            term: 3,
            prev_log_index: 10,
            prev_log_term: 2,
            entries,
            leader_commit: 9,
        })
    }

    fn carried(rpc: &Rpc) -> Vec<(u64, u64)> {
        match rpc {
            Rpc::AppendEntries { entries, .. } => {
                entries.iter().map(|e| (e.term(), e.digest())).collect()
            }
            _ => Vec::new(),
        }
    }

    #[test]
    fn the_digest_is_the_stable_hash_of_term_and_command() {
        let e = write(5, 1);
        assert_eq!(e.digest(), StableHasher::hash_of(&(5u64, e.command())));
        assert_ne!(e.digest(), write(6, 1).digest());
        assert_ne!(e.digest(), write(5, 2).digest());
        // Read back from JSON, the digest is derived again.
        let json = serde_json::to_string(&e).unwrap();
        assert!(!json.contains("digest"), "{json}");
        let back: Entry = serde_json::from_str(&json).unwrap();
        assert_eq!((back.digest(), &back), (e.digest(), &e));
    }

    /// A term flipped in flight is hashed as it arrived: the checksum
    /// catches it, and with checks off (the `no-checksum` bug) the entry
    /// believed carries the digest of what it now holds, so the safety
    /// checker sees two different entries.
    #[test]
    fn entries_altered_in_flight_get_the_digest_of_what_they_hold() {
        let sent = vec![write(3, 1), write(3, 2)];
        let trusted = append(sent.clone());
        assert_eq!(
            carried(&trusted.clone().unsealed(true).unwrap()),
            carried(&trusted.rpc)
        );
        let mut flipped_terms = 0;
        for seed in 0..200 {
            let mut msg = append(sent.clone());
            let mut rng = sim_core::rng::stream(seed, "corrupt");
            assert!(msg.corrupt(&mut rng));
            assert!(msg.clone().unsealed(true).is_none(), "seed {seed}: caught");
            let believed = msg.unsealed(false).expect("not checked");
            for ((term, digest), original) in carried(&believed).into_iter().zip(&sent) {
                let fresh = Entry::new(term, original.command().clone()).digest();
                assert_eq!(digest, fresh, "seed {seed}");
                flipped_terms += usize::from(term != original.term());
            }
        }
        assert!(flipped_terms > 10, "{flipped_terms} entry terms flipped");
    }
}
