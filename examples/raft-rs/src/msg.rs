//! What travels on the simulated network: raft-rs's own messages, encoded
//! as raft-rs encodes them for a real transport, and the client protocol.

use harness::sim_core::Message;
use harness::workload::ClientOp;
use protobuf::Message as _;
use raft::eraftpb;
use serde::{Serialize, Serializer};

/// A clustersim node id as raft-rs numbers peers: raft ids start at 1
/// (0 means "none" to raft-rs).
pub fn raft_id(node: u32) -> u64 {
    u64::from(node) + 1
}

/// The clustersim node of a raft-rs peer id.
pub fn node_of(raft_id: u64) -> u32 {
    (raft_id - 1) as u32
}

/// The result of a client command once it has been applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
pub enum Outcome {
    /// A read: the value, or `None` if the key was never written.
    Read(Option<u64>),
    Written,
    /// A compare-and-set whose expected value matched.
    CasOk,
    /// A compare-and-set whose expected value did not match: no effect.
    CasFailed,
}

#[derive(Debug, Clone, Hash, Serialize)]
pub enum Msg {
    /// Replica to replica: a raft-rs message.
    Peer(PeerMsg),
    /// Client to replica: run `op`; `req` is the client's request id, the
    /// same on every retry of one operation.
    Request { req: u64, op: ClientOp },
    /// Replica to client: `req` was applied with this outcome.
    Reply { req: u64, outcome: Outcome },
    /// Replica to client: this replica could not take `req` (it knows no
    /// leader); `hint` is the leader it knows of, if any.
    NotLeader { req: u64, hint: Option<u32> },
}

/// A raft-rs `eraftpb::Message` in its protobuf wire form: what a real
/// deployment would put on the network, so that nothing travels that a real
/// transport would not carry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PeerMsg(pub Vec<u8>);

impl PeerMsg {
    pub fn encode(m: &eraftpb::Message) -> Self {
        Self(m.write_to_bytes().expect("a raft-rs message encodes"))
    }

    /// The message, or `None` if the bytes do not parse.
    pub fn decode(&self) -> Option<eraftpb::Message> {
        eraftpb::Message::parse_from_bytes(&self.0).ok()
    }
}

/// The trace shows a one-line summary, not the bytes.
impl Serialize for PeerMsg {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Some(m) = self.decode() else {
            return s.serialize_str("undecodable");
        };
        let mut line = format!("{:?} term {}", m.get_msg_type(), m.term);
        if m.index != 0 || m.log_term != 0 {
            line += &format!(" index {} log_term {}", m.index, m.log_term);
        }
        if !m.entries.is_empty() {
            line += &format!(" entries {}", m.entries.len());
        }
        if m.commit != 0 {
            line += &format!(" commit {}", m.commit);
        }
        if m.reject {
            line += " reject";
        }
        s.serialize_str(&line)
    }
}

// No corruption offered: raft-rs carries no checksum of its own (a real
// transport's would reject a flipped bit), so a corrupted message is dropped,
// as a NIC drops a frame that fails its CRC.
impl Message for Msg {}
