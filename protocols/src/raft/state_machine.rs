//! What Raft replicates: any deterministic state machine.
//!
//! Raft orders commands; the state machine gives them meaning. The key-value
//! store ([`super::kv::KvState`]) is one state machine, the coordination
//! tree (`crate::coord`) another. Both run on the same replica code,
//! [`super::RaftNode`], which is generic over this trait.
//!
//! A state machine owns its client sessions (exactly-once application of
//! retried requests, dissertation §6.3), because what a remembered answer
//! looks like is its own business; Raft only asks whether a request was
//! already answered ([`StateMachine::cached`]) and whether an answer is worth
//! sending ([`StateMachine::answers`]).

use std::fmt::Debug;
use std::hash::Hash;

use serde::de::DeserializeOwned;
use serde::Serialize;
use sim_core::NodeId;

/// The bounds every replicated value needs: it is cloned into messages,
/// hashed into fingerprints and digests, and serialized to storage.
pub trait Replicated:
    Clone + Debug + PartialEq + Eq + Hash + Serialize + DeserializeOwned + 'static
{
}

impl<T> Replicated for T where
    T: Clone + Debug + PartialEq + Eq + Hash + Serialize + DeserializeOwned + 'static
{
}

/// A deterministic state machine replicated by Raft. Its whole value is the
/// snapshot: Raft persists and ships it as it is.
pub trait StateMachine: Replicated + Default {
    /// A client's request, as it is logged.
    type Op: Replicated;
    /// The answer to a request (and the payload of a notice).
    type Output: Replicated;

    /// Applies one committed request of `client`'s `session` numbered `seq`.
    /// With `dedup` off (the `no-dedup` bug) every copy of a request applies.
    fn apply(
        &mut self,
        client: NodeId,
        session: u64,
        seq: u64,
        op: &Self::Op,
        dedup: bool,
    ) -> Self::Output;

    /// The answer already recorded for (`session`, `seq`), if that request
    /// was applied (or superseded) — the leader answers a retry from it
    /// instead of logging the request again.
    fn cached(&self, session: u64, seq: u64) -> Option<Self::Output>;

    /// Is `output` an answer somebody waits for? A superseded request's
    /// answer is not, nor the result of a command the service issued itself.
    fn answers(output: &Self::Output) -> bool;

    /// The numbers of a request that a bit flip in flight can hit.
    fn op_numbers(op: &mut Self::Op) -> Vec<&mut u64>;

    /// How much a snapshot of this state costs, in log entries' worth
    /// (its size: sessions, keys): snapshots are taken no more often than
    /// once per that many entries. Zero by default: every
    /// `snapshot_threshold` entries.
    fn snapshot_weight(&self) -> u64 {
        0
    }

    /// Writes `op` for the log on disk (see `codec.rs`): JSON by default.
    fn encode_op(op: &Self::Op, out: &mut Vec<u8>) {
        serde_json::to_writer(out, op).expect("an operation is plain data and always serializes");
    }

    /// Reads back what [`StateMachine::encode_op`] wrote.
    fn decode_op(bytes: &[u8]) -> Result<Self::Op, String> {
        serde_json::from_slice(bytes).map_err(|e| format!("operation: {e}"))
    }

    /// Writes the whole state for a snapshot on disk (see `codec.rs`):
    /// JSON unless the state machine knows a more compact form, as the
    /// key-value store does.
    fn encode_state(&self, out: &mut Vec<u8>) {
        serde_json::to_writer(out, self).expect("a state is plain data and always serializes");
    }

    /// Reads back what [`StateMachine::encode_state`] wrote.
    fn decode_state(bytes: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(bytes).map_err(|e| format!("state: {e}"))
    }

    /// Messages owed to clients other than the requester by the requests
    /// applied since the last call (watch notifications, say); the leader
    /// sends them, followers drop them. None by default.
    fn take_notices(&mut self) -> Vec<(NodeId, Self::Output)> {
        Vec::new()
    }
}
