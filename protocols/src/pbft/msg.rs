//! What PBFT replicas and clients say to each other, signed.

use std::collections::BTreeMap;

use rand::Rng;
use serde::{Deserialize, Serialize};
use sim_core::integrity::{checksum, flip_random_bit, mac};
use sim_core::rng::SimRng;
use sim_core::{Message, NodeId};

use crate::workload::ClientOp;

use super::node_key;

/// How a client authenticates its requests (`options.auth`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    /// One signature anyone can check.
    #[default]
    Signatures,
    /// An authenticator: one MAC per replica, each checkable by that replica only.
    Macs,
}

/// What proves a request comes from its client.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Authenticator {
    Signature(u64),
    /// Entry i is the MAC under the key the client shares with replica i.
    Macs(Vec<u64>),
}

/// A client's request, authenticated by the client.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Request {
    pub client: NodeId,
    pub id: u64,
    pub op: ClientOp,
    pub auth: Authenticator,
}

/// The key client `client` shares with replica `replica` (a convention, as
/// for [`node_key`]: only those two ever compute MACs under it).
fn pair_key(client: NodeId, replica: NodeId) -> u64 {
    node_key(client) ^ node_key(replica).rotate_left(29)
}

impl Request {
    /// A request signed by its client.
    pub fn new(client: NodeId, id: u64, op: ClientOp) -> Self {
        let auth = Authenticator::Signature(mac(node_key(client), &(client, id, op)));
        Self {
            client,
            id,
            op,
            auth,
        }
    }

    /// A request with an authenticator for `replicas` (replica ids are
    /// 0..n, so entry i is replica i's). `valid_for`: only these entries are
    /// right (all of them for an honest client; a faulty client makes the
    /// others wrong).
    pub fn with_macs(
        client: NodeId,
        id: u64,
        op: ClientOp,
        replicas: &[NodeId],
        valid_for: impl Fn(NodeId) -> bool,
    ) -> Self {
        let macs = replicas
            .iter()
            .map(|&r| {
                let right = mac(pair_key(client, r), &(client, id, op));
                if valid_for(r) {
                    right
                } else {
                    !right
                }
            })
            .collect();
        Self {
            client,
            id,
            op,
            auth: Authenticator::Macs(macs),
        }
    }

    /// Whether `replica` can tell this request comes from its client: the
    /// signature checks, or replica's own entry of the authenticator does.
    pub(crate) fn authentic_for(&self, replica: NodeId) -> bool {
        let body = (self.client, self.id, self.op);
        match &self.auth {
            Authenticator::Signature(sig) => *sig == mac(node_key(self.client), &body),
            Authenticator::Macs(macs) => macs
                .get(replica as usize)
                .is_some_and(|&m| m == mac(pair_key(self.client, replica), &body)),
        }
    }

    /// The same request with other content under the same authenticator
    /// (what a forger can do: it cannot compute the client's MACs).
    fn altered(&self, op: ClientOp) -> Self {
        Request { op, ..self.clone() }
    }
}

/// What executing a request returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Outcome {
    /// A read's value.
    Value(Option<u64>),
    /// A write, or a cas whose expected value matched.
    Done,
    /// A cas whose expected value did not match.
    CasFailed,
}

/// The digest of a proposal: a batch of requests, executed in order (empty:
/// a no-op filling a gap after a view change).
pub fn digest(reqs: &[Request]) -> u64 {
    checksum(reqs)
}

/// The state a checkpoint covers: the store and the reply cache (a request
/// executed before the checkpoint must still be answered, and never run
/// twice, by a replica that fetched the state).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Snapshot {
    pub store: BTreeMap<u32, u64>,
    /// Per client: (request id, sequence number, result) of its last request.
    pub last_reply: BTreeMap<NodeId, (u64, u64, Outcome)>,
}

impl Snapshot {
    /// What CHECKPOINT messages carry instead of the state itself.
    pub fn digest(&self) -> u64 {
        checksum(self)
    }
}

/// A stable checkpoint with its proof: 2f+1 CHECKPOINT messages from
/// distinct replicas for `seq` and the snapshot's digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StableCheckpoint {
    pub seq: u64,
    pub snapshot: Snapshot,
    pub proof: Vec<PbftMsg>,
}

/// A prepared certificate: the primary's pre-prepare and the prepares.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Cert {
    pub pre_prepare: PbftMsg,
    pub prepares: Vec<PbftMsg>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Body {
    Request(Request),
    /// A read sent to every replica, answered from its committed state
    /// without ordering (the read-only optimisation).
    ReadOnly(Request),
    PrePrepare {
        view: u64,
        seq: u64,
        /// The batch (at most `options.batch` requests; empty: a no-op).
        reqs: Vec<Request>,
    },
    Prepare {
        view: u64,
        seq: u64,
        digest: u64,
    },
    Commit {
        view: u64,
        seq: u64,
        digest: u64,
    },
    /// `seq`: where the request executed; for a read-only request, the
    /// last sequence number executed when the replica answered.
    Reply {
        view: u64,
        seq: u64,
        client: NodeId,
        id: u64,
        result: Outcome,
    },
    /// "I executed up to `seq`, and the state there has this digest."
    Checkpoint {
        seq: u64,
        digest: u64,
    },
    /// "I move to `view`; my stable checkpoint is `stable` (with its proof,
    /// empty for 0); here is what I prepared above it" (highest view per sequence).
    ViewChange {
        view: u64,
        stable: u64,
        proof: Vec<PbftMsg>,
        prepared: Vec<Cert>,
    },
    /// The new primary's proof (2f+1 view-changes) and its pre-prepares.
    NewView {
        view: u64,
        view_changes: Vec<PbftMsg>,
        pre_prepares: Vec<PbftMsg>,
    },
    /// A replica that lags or restarted: "send me your stable checkpoint if
    /// it is past `last_exec`, and your view's NEW-VIEW if it is past `view`."
    FetchState {
        last_exec: u64,
        view: u64,
    },
    /// The answer: a stable checkpoint (checked against its proof) and the
    /// NEW-VIEW that started the sender's view.
    State {
        checkpoint: Option<StableCheckpoint>,
        new_view: Option<Box<PbftMsg>>,
    },
}

/// A message: the claimed sender, the body and the sender's MAC over it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PbftMsg {
    pub from: NodeId,
    pub body: Body,
    pub mac: u64,
}

impl PbftMsg {
    pub fn signed(from: NodeId, body: Body) -> Self {
        let mac = mac(node_key(from), &body);
        Self { from, body, mac }
    }

    pub fn authentic(&self) -> bool {
        self.mac == mac(node_key(self.from), &self.body)
    }

    /// Another sender id than ours, always a valid replica id when there are
    /// at least two replicas (a forger impersonates a neighbour).
    fn neighbour(&self) -> NodeId {
        if self.from > 0 {
            self.from - 1
        } else {
            1
        }
    }
}

/// Values no client ever writes (workload values are small): what a
/// Byzantine node's variants and forgeries put in, so that a client that
/// believes one sees a value out of nowhere.
const BOGUS: u64 = 1_000_000;

impl Message for PbftMsg {
    /// A bit flipped in flight: in the MAC, which the receiver then finds
    /// wrong for the claimed sender (the sender field is left intact, so
    /// that the receiver can tell corruption from a forgery, which always
    /// comes from another node than it claims or carries a valid outer MAC).
    fn corrupt(&mut self, rng: &mut SimRng) -> bool {
        flip_random_bit(&mut self.mac, rng);
        true
    }

    /// Variants the sender may sign itself: a no-op instead of the request in
    /// a pre-prepare, votes for that no-op, another result in a reply, an
    /// empty view-change. All are consistent with one another, so that the
    /// peers that get variants see one coherent alternative history.
    fn equivocate(&self, rng: &mut SimRng) -> Option<Self> {
        let noop = digest(&[]);
        let body = match &self.body {
            Body::PrePrepare { view, seq, reqs } if !reqs.is_empty() => Body::PrePrepare {
                view: *view,
                seq: *seq,
                reqs: Vec::new(),
            },
            Body::Prepare { view, seq, digest } if *digest != noop => Body::Prepare {
                view: *view,
                seq: *seq,
                digest: noop,
            },
            Body::Commit { view, seq, digest } if *digest != noop => Body::Commit {
                view: *view,
                seq: *seq,
                digest: noop,
            },
            Body::Reply {
                view,
                seq,
                client,
                id,
                result,
            } => Body::Reply {
                view: *view,
                seq: *seq,
                client: *client,
                id: *id,
                result: match result {
                    Outcome::Value(_) => Outcome::Value(Some(BOGUS + rng.random_range(0..1000))),
                    Outcome::Done => Outcome::CasFailed,
                    Outcome::CasFailed => Outcome::Done,
                },
            },
            Body::ViewChange {
                view,
                stable,
                proof,
                prepared,
            } if !prepared.is_empty() => Body::ViewChange {
                view: *view,
                stable: *stable,
                proof: proof.clone(),
                prepared: Vec::new(),
            },
            Body::Checkpoint { seq, digest } => Body::Checkpoint {
                seq: *seq,
                digest: digest ^ 1,
            },
            _ => return None,
        };
        Some(PbftMsg::signed(self.from, body))
    }

    /// Forgeries: a pre-prepare whose request was altered under its client's
    /// MAC (the primary re-signs the outer message, which it may), a request
    /// relayed with an altered operation, and anything else re-attributed to
    /// a neighbour under the forger's own MAC.
    fn forge(&self, _rng: &mut SimRng) -> Option<Self> {
        // The fabricated write depends only on the request, so that every
        // peer that gets a forgery of one pre-prepare gets the same one (they
        // could agree on it if nobody checked the client's MAC).
        // The same kind of operation (so that the client takes the result as
        // its own) with other content: another value, or another key to read.
        let fabricate = |req: &Request| {
            let bogus = 2 * BOGUS + checksum(req) % 1000;
            let op = match req.op {
                ClientOp::Read { key } => ClientOp::Read {
                    key: key.wrapping_add(1),
                },
                ClientOp::Write { key, .. } => ClientOp::Write { key, value: bogus },
                ClientOp::Cas { key, expected, .. } => ClientOp::Cas {
                    key,
                    expected,
                    new: bogus,
                },
            };
            req.altered(op)
        };
        match &self.body {
            Body::PrePrepare { view, seq, reqs } if !reqs.is_empty() => {
                let body = Body::PrePrepare {
                    view: *view,
                    seq: *seq,
                    reqs: reqs.iter().map(fabricate).collect(),
                };
                Some(PbftMsg::signed(self.from, body))
            }
            Body::Request(req) => Some(PbftMsg::signed(self.from, Body::Request(fabricate(req)))),
            Body::ReadOnly(req) => Some(PbftMsg::signed(self.from, Body::ReadOnly(fabricate(req)))),
            _ => Some(PbftMsg {
                from: self.neighbour(),
                body: self.body.clone(),
                mac: mac(node_key(self.from), &self.body),
            }),
        }
    }
}
