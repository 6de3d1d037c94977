//! A client of the Byzantine quorum register: the shared quorum client
//! (`crate::quorum_client`), believing only validly signed values.

use sim_core::{Ctx, NodeId};

use super::{Cluster, RegisterMsg, SignedValue, Timestamp};
use crate::quorum_client::{QuorumClient, QuorumRegister, Reply};

/// A client that coordinates its own reads and writes, one at a time.
pub type Client = QuorumClient<Cluster>;

impl QuorumRegister for Cluster {
    type Msg = RegisterMsg;
    type Held = SignedValue;

    fn replicas(&self) -> &[NodeId] {
        &self.replicas
    }

    fn quorum(&self) -> usize {
        Cluster::quorum(self)
    }

    fn query(req: u64, key: u32) -> RegisterMsg {
        RegisterMsg::Query { req, key }
    }

    fn store(req: u64, key: u32, value: SignedValue) -> RegisterMsg {
        RegisterMsg::Store { req, key, value }
    }

    fn reply(msg: RegisterMsg) -> Option<Reply<SignedValue>> {
        match msg {
            RegisterMsg::QueryReply { req, key, value } => Some(Reply::Held {
                req,
                key: Some(key),
                held: value,
            }),
            RegisterMsg::StoreAck { req } => Some(Reply::Stored { req }),
            RegisterMsg::Query { .. } | RegisterMsg::Store { .. } => None,
        }
    }

    fn timestamp(held: &SignedValue) -> Timestamp {
        held.ts
    }

    fn value(held: &SignedValue) -> Option<u64> {
        held.value
    }

    /// Signed by the writer, over (key, timestamp, value).
    fn written(&self, key: u32, ts: Timestamp, value: u64) -> SignedValue {
        SignedValue::signed(key, ts, value)
    }

    fn believe(&self, ctx: &mut Ctx<'_, RegisterMsg>, key: u32, held: &SignedValue) -> bool {
        let valid = self.valid(key, held);
        if !valid {
            // A lie: this replica's answer does not count towards the quorum.
            ctx.count("byz_register.rejected_reply", 1);
        }
        valid
    }
}
