//! Delta gossip, as every state-based replica of this crate spreads its
//! lattice: an update or a merge that taught a replica something queues a
//! small delta; every gossip interval the replica sends the deltas it holds
//! to `fanout` random peers, and every `full_every`-th interval its whole
//! state to one peer, which repairs what loss and partitions kept from it.
//!
//! Whole states travel shared, not copied ([`Shared`] is an `Arc`): a
//! thousand replicas gossiping states of a thousand entries would otherwise
//! spend their time cloning them. A replica changes its state with
//! `Arc::make_mut`, which copies only while a sent state is still in flight.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use rand::Rng;
use serde::{Serialize, Serializer};
use sim_core::rng::SimRng;
use sim_core::{Nanos, NodeId};

use super::lattice::Lattice;

/// A state shared by the replica and the gossip messages in flight: sending
/// the whole state copies a pointer, not the state.
#[derive(Debug)]
pub struct Shared<T>(pub Arc<T>);

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared(Arc::clone(&self.0))
    }
}

impl<T: Hash> Hash for Shared<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state)
    }
}

impl<T: PartialEq> PartialEq for Shared<T> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl<T: Eq> Eq for Shared<T> {}

impl<T: Serialize> Serialize for Shared<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// How a replica gossips.
#[derive(Debug, Clone, Copy)]
pub struct Gossip {
    pub every: Nanos,
    pub fanout: usize,
    pub full_every: u64,
}

/// What one gossip round sends.
pub struct Round<T> {
    /// The deltas queued since the last round, and the peers they go to.
    pub delta: Option<(Shared<T>, Vec<NodeId>)>,
    /// The whole state, on a repair round, and the peer it goes to (not an
    /// answer: see [`pull_reply`]).
    pub full: Option<(Shared<T>, NodeId)>,
}

/// A replica's side of delta gossip: the deltas not yet sent on, and the
/// round count that decides when the whole state goes out.
#[derive(Debug, Clone)]
pub struct DeltaGossip<T> {
    pub config: Gossip,
    pending: Option<T>,
    round: u64,
}

impl<T: Lattice> DeltaGossip<T> {
    pub fn new(config: Gossip) -> Self {
        Self {
            config,
            pending: None,
            round: 0,
        }
    }

    /// Queues `delta` for the next round.
    pub fn queue(&mut self, delta: &T) {
        match &mut self.pending {
            Some(p) => p.join(delta),
            None => self.pending = Some(delta.clone()),
        }
    }

    /// One gossip round of replica `me` among `peers`.
    pub fn round(
        &mut self,
        rng: &mut SimRng,
        me: NodeId,
        peers: &[NodeId],
        state: &Arc<T>,
    ) -> Round<T> {
        let delta = self.pending.take().map(|delta| {
            let to = random_peers(rng, me, peers, self.config.fanout);
            (Shared(Arc::new(delta)), to)
        });
        self.round += 1;
        let full = self
            .round
            .is_multiple_of(self.config.full_every)
            .then(|| random_peers(rng, me, peers, 1).first().copied())
            .flatten()
            .map(|to| (Shared(Arc::clone(state)), to));
        Round { delta, full }
    }
}

/// The answer to a peer's whole state, push-pull: a sender that lacks
/// something of ours gets our whole state back, so that a replica whose
/// deltas all went astray is repaired the first time it gossips its state.
/// An answer (`theirs_answers`) is not answered: one exchange leaves both
/// sides with what either had, and answering answers would bounce whole
/// states between two replicas for as long as clients keep updating them.
pub fn pull_reply<T: Lattice>(
    mine: &Arc<T>,
    theirs: &T,
    theirs_answers: bool,
) -> Option<Shared<T>> {
    (!theirs_answers && !mine.leq(theirs)).then(|| Shared(Arc::clone(mine)))
}

/// `count` distinct peers other than `me`, drawn at random (all of them if
/// there are fewer). `peers` includes `me`: every replica's peer list is
/// the whole replica set, and counting it again per round would cost
/// O(replicas).
pub fn random_peers(rng: &mut SimRng, me: NodeId, peers: &[NodeId], count: usize) -> Vec<NodeId> {
    let others = peers.len().saturating_sub(1).min(count);
    let mut chosen: Vec<NodeId> = Vec::with_capacity(others);
    // Draw without repetition: a handful of draws among many peers. When
    // nearly all peers are wanted the draws still end, as every miss is
    // followed by another uniform draw.
    while chosen.len() < others {
        let p = peers[rng.random_range(0..peers.len())];
        if p != me && !chosen.contains(&p) {
            chosen.push(p);
        }
    }
    chosen
}
