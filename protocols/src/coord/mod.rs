//! A ZooKeeper-style coordination service replicated by our Raft, and the
//! lock recipe its documentation gives.
//!
//! | module | holds |
//! |---|---|
//! | [`tree`] | the coordination tree: the state machine Raft replicates |
//! | [`server`] | a replica: a Raft node of the tree, plus session expiry at the leader |
//! | [`client`] | the lock client: sessions, heartbeats, the recipe, the guarded writes |
//! | `driver` | the scenario driver and its checks |
//!
//! Everything speaks one wire format, Raft's ([`CoordMsg`]): clients send
//! [`CoordOp`]s as client requests, replicas answer [`CoordReply`]s, fired
//! watches travel as notices. The guarded resource is the lease lock's
//! ([`crate::lease_lock::Resource`]), here reached by a
//! [`CoordOp::GuardedWrite`] carrying the holder's zxid as its token.
//!
//! Known-bug variants (`bugs` in a scenario): `watch-lowest` (every waiter
//! watches the lowest node instead of its predecessor: each release wakes
//! all of them, the herd), `persistent-nodes` (lock nodes are persistent, so
//! a crashed holder never releases), `unsorted-locks` (a client takes
//! several locks in the order it drew them, not sorted: two clients can
//! wait on each other for ever), `act-after-expiry` (a holder keeps writing
//! to the resource until the service tells it its session expired, instead
//! of stopping once it cannot know its session is alive).

pub mod client;
mod driver;
pub mod server;
pub mod tree;

pub use client::{ClientConfig, LockClient};
pub use driver::register;
pub use server::{CoordServer, ServerConfig};
pub use tree::CoordTree;

use serde::{Deserialize, Serialize};
use sim_core::{Ctx, Nanos};

use crate::lease_lock::GuardedWriteMsg;
use crate::raft::{RaftMsg, Rpc};
use harness::checkers::fenced_writes::FencedWrite;

/// The service's wire format: Raft's, over the coordination tree.
pub type CoordMsg = RaftMsg<CoordTree>;

/// The session under which the service issues its own commands (session
/// expiry). Clients draw theirs at random and never this one.
pub const SERVICE_SESSION: u64 = 0;

pub const BUGS: [&str; 4] = [
    "watch-lowest",
    "persistent-nodes",
    "unsorted-locks",
    "act-after-expiry",
];

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bugs {
    pub watch_lowest: bool,
    pub persistent_nodes: bool,
    pub unsorted_locks: bool,
    pub act_after_expiry: bool,
}

impl Bugs {
    pub fn parse(names: &[String]) -> Result<Self, String> {
        let [watch_lowest, persistent_nodes, unsorted_locks, act_after_expiry] =
            crate::bug_names::switched_on("coord", names, BUGS)?;
        Ok(Bugs {
            watch_lowest,
            persistent_nodes,
            unsorted_locks,
            act_after_expiry,
        })
    }
}

/// A request to the service (or, [`CoordOp::GuardedWrite`], to the resource).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CoordOp {
    /// Make the requesting session live. `process` is the client's history
    /// process, a verification ghost: no decision reads it, the lock check
    /// uses it to end the holds of the sessions the service expired.
    OpenSession {
        process: u64,
    },
    CloseSession,
    /// The leader's decision that `session` missed its heartbeats.
    ExpireSession {
        session: u64,
    },
    /// A heartbeat; answered by the leader without logging (`sent` is the
    /// client's monotonic clock, echoed back).
    Ping {
        sent: Nanos,
    },
    Create {
        path: String,
        data: u64,
        ephemeral: bool,
        sequential: bool,
    },
    /// Delete if the node's version is `version` (any version if `None`).
    Delete {
        path: String,
        version: Option<u64>,
    },
    /// Replace the node's data if its version is `version` (any version if
    /// `None`), as ZooKeeper's setData: the version goes up by one, and the
    /// watches left on the node by `Get` or `Exists` fire.
    SetData {
        path: String,
        data: u64,
        version: Option<u64>,
    },
    /// The node's data and version; `watch` leaves a one-shot watch on it
    /// (fired by a change of its data, or its deletion).
    Get {
        path: String,
        watch: bool,
    },
    /// The node's creation zxid if it exists; `watch` leaves a one-shot watch.
    Exists {
        path: String,
        watch: bool,
    },
    Children {
        path: String,
        watch: bool,
    },
    /// To the guarded resource: a write under the lock grant `token` by
    /// `holder`.
    GuardedWrite {
        token: u64,
        holder: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ZkError {
    NoNode,
    NodeExists,
    NotEmpty,
    BadVersion,
    BadPath,
    NoChildrenForEphemerals,
    /// The request is not one the tree serves.
    Unsupported,
}

/// What fired a watch (ZooKeeper's event types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WatchEvent {
    Created,
    Deleted,
    DataChanged,
    ChildrenChanged,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CoordReply {
    SessionOpened,
    Closed,
    /// The requesting session is not live (it expired): nothing was done.
    SessionExpired,
    Pong {
        sent: Nanos,
    },
    Created {
        path: String,
        zxid: u64,
    },
    Deleted,
    /// `Get`: a node's data, version and creation zxid.
    Data {
        data: u64,
        version: u64,
        czxid: u64,
    },
    /// `Exists`: the node's creation zxid, if it exists.
    Stat(Option<u64>),
    Children(Vec<String>),
    Error(ZkError),
    /// `SetData`: the node's new version and the zxid of the write.
    DataSet {
        version: u64,
        zxid: u64,
    },
    /// A notice: a watch on `path` fired, for `event`.
    WatchFired {
        path: String,
        event: WatchEvent,
    },
    /// A request older than its session's latest: nobody waits for it.
    Stale,
    /// The result of the service's own command: nobody waits for it.
    Internal,
}

/// A write reaches the resource sealed like every message of the service:
/// its checksum is verified as a replica verifies one ([`RaftMsg::open`]),
/// and a corrupted write is counted as detected and dropped, never applied.
impl GuardedWriteMsg for CoordMsg {
    fn guarded_write(self, ctx: &mut Ctx<'_, Self>) -> Option<FencedWrite> {
        match self.open(ctx, true)? {
            Rpc::ClientRequest {
                op: CoordOp::GuardedWrite { token, holder },
                ..
            } => Some(FencedWrite {
                token: Some(token),
                holder,
            }),
            _ => None,
        }
    }
}
