//! What agreement replicas say to each other, every message signed by its sender.

use serde::{Deserialize, Serialize};
use sim_core::rng::SimRng;
use sim_core::{Message, NodeId};

use crate::signature;

use super::{input, BOGUS};

/// A certificate: 2f+1 signed votes (a lock) or commits (a decision) from
/// distinct replicas for one (instance, round, value).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Cert {
    pub round: u64,
    pub value: u64,
    pub signed: Vec<AgreementMsg>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Body {
    /// The round's proposer proposes `value`; from round 1 on, justified by
    /// 2f+1 ROUND-CHANGE messages for this round.
    Propose {
        instance: u64,
        round: u64,
        value: u64,
        justification: Vec<AgreementMsg>,
    },
    /// A vote for the round's proposal (at most one per round).
    Vote {
        instance: u64,
        round: u64,
        value: u64,
    },
    /// Sent on seeing 2f+1 votes for `value` in this round, while still in it.
    Commit {
        instance: u64,
        round: u64,
        value: u64,
    },
    /// The sender moves to `round`, carrying its highest lock.
    RoundChange {
        instance: u64,
        round: u64,
        lock: Option<Cert>,
    },
    /// `instance` was decided: 2f+1 commits, for a replica that lags behind.
    Decided { instance: u64, proof: Cert },
    /// A client asks for `instance`'s decision.
    Learn { instance: u64 },
}

impl Body {
    pub fn instance(&self) -> u64 {
        match self {
            Body::Propose { instance, .. }
            | Body::Vote { instance, .. }
            | Body::Commit { instance, .. }
            | Body::RoundChange { instance, .. }
            | Body::Decided { instance, .. }
            | Body::Learn { instance } => *instance,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AgreementMsg {
    pub from: NodeId,
    pub body: Body,
    pub sig: u64,
}

impl AgreementMsg {
    pub fn signed(from: NodeId, body: Body) -> Self {
        let sig = signature::sign(from, &body);
        Self { from, body, sig }
    }

    pub fn authentic(&self) -> bool {
        signature::verify(self.from, &self.body, self.sig)
    }

    /// A replica that is not the sender (a forger impersonates a neighbour).
    fn neighbour(&self) -> NodeId {
        if self.from > 0 {
            self.from - 1
        } else {
            1
        }
    }
}

/// The input of the replica next to the one whose input `value` is: another
/// value a proposer may validly propose, or a double voter vote for.
fn other_input(value: u64) -> u64 {
    let (instance, replica) = super::split_input(value);
    input(instance, if replica > 0 { replica - 1 } else { 1 })
}

impl Message for AgreementMsg {
    /// What a Byzantine replica can sign as itself: another valid proposal
    /// (an equivocating proposer), a vote or commit for another value (a
    /// double voter), a round change that hides its lock.
    fn equivocate(&self, _rng: &mut SimRng) -> Option<Self> {
        let body = match &self.body {
            Body::Propose {
                instance,
                round,
                value,
                justification,
            } => Body::Propose {
                instance: *instance,
                round: *round,
                value: other_input(*value),
                justification: justification.clone(),
            },
            Body::Vote {
                instance,
                round,
                value,
            } => Body::Vote {
                instance: *instance,
                round: *round,
                value: other_input(*value),
            },
            Body::Commit {
                instance,
                round,
                value,
            } => Body::Commit {
                instance: *instance,
                round: *round,
                value: other_input(*value),
            },
            Body::RoundChange {
                instance,
                round,
                lock: Some(_),
            } => Body::RoundChange {
                instance: *instance,
                round: *round,
                lock: None,
            },
            _ => return None,
        };
        Some(AgreementMsg::signed(self.from, body))
    }

    /// A proposal of a value that is nobody's input, signed by the proposer
    /// (which it may: honest replicas must refuse it as invalid), and
    /// anything else re-attributed to a neighbour under the forger's own
    /// signature (which does not check).
    fn forge(&self, _rng: &mut SimRng) -> Option<Self> {
        match &self.body {
            Body::Propose {
                instance,
                round,
                justification,
                ..
            } => Some(AgreementMsg::signed(
                self.from,
                Body::Propose {
                    instance: *instance,
                    round: *round,
                    value: BOGUS,
                    justification: justification.clone(),
                },
            )),
            _ => Some(AgreementMsg {
                from: self.neighbour(),
                body: self.body.clone(),
                sig: self.sig,
            }),
        }
    }
}
