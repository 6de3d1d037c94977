//! Causal broadcast of operations, the transport of the op-based mode, and
//! causal stability, which both modes use to know what they may forget.
//!
//! Every operation is stamped at its origin with a sequence number there
//! (origin and number are its unique identity: the deduplication key) and
//! with the vector of operations its origin had delivered when it made it
//! (its causal predecessors). A replica delivers an operation only after
//! those, and the previous one of the same origin, are delivered; until
//! then it is buffered. Delivery per origin is therefore contiguous, and
//! what a replica has delivered is one vector clock: a peer that reports
//! its vector is sent the delivered operations it lacks (anti-entropy),
//! which repairs loss, partitions and a crashed replica's gap.
//!
//! An operation every replica has delivered is *causally stable*: nobody
//! will ask for it again, so it leaves the log. [`Stability`] keeps what
//! each peer last reported and computes the stable frontier, the minimum of
//! the reports.
//!
//! Known bug `no-dedup` ([`CausalLog::receive`] with `dedup` off): an
//! operation whose predecessors are delivered is applied, even when it is
//! itself already delivered. Exactly-once is then up to the network: a
//! duplicated message or a re-sent operation counts an increment twice.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sim_core::NodeId;

use crate::crdt::or_set::Dot;
use crate::crdt::vclock::VClock;

/// An operation as it travels: its identity and its causal predecessors.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Stamped<O> {
    pub origin: NodeId,
    pub seq: u64,
    /// What the origin had delivered when it made the operation.
    pub deps: VClock,
    pub op: O,
}

impl<O> Stamped<O> {
    /// The operation's identity: (origin, sequence number there).
    pub fn dot(&self) -> Dot {
        (self.origin, self.seq)
    }

    /// Whether every causal predecessor is among `delivered`.
    fn predecessors_in(&self, delivered: &VClock) -> bool {
        delivered.get(self.origin) + 1 >= self.seq
            && self
                .deps
                .entries()
                .all(|(node, n)| node == self.origin || delivered.get(node) >= n)
    }

    /// Whether it is the next operation to deliver.
    fn deliverable(&self, delivered: &VClock) -> bool {
        delivered.get(self.origin) + 1 == self.seq && self.predecessors_in(delivered)
    }
}

/// A replica's side of causal broadcast: what it delivered, the delivered
/// operations not yet stable (kept to re-send), and the ones waiting for
/// their predecessors. The buffer is not kept on disk: a restarted replica
/// is sent them again.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound = "O: Serialize + DeserializeOwned")]
pub struct CausalLog<O> {
    delivered: VClock,
    #[serde(with = "as_list")]
    log: BTreeMap<Dot, Stamped<O>>,
    #[serde(skip)]
    buffer: BTreeMap<Dot, Stamped<O>>,
}

impl<O> Default for CausalLog<O> {
    fn default() -> Self {
        Self {
            delivered: VClock::new(),
            log: BTreeMap::new(),
            buffer: BTreeMap::new(),
        }
    }
}

impl<O: Clone> CausalLog<O> {
    /// What this replica has delivered, per origin.
    pub fn delivered(&self) -> &VClock {
        &self.delivered
    }

    /// Delivered operations kept until they are stable.
    pub fn logged(&self) -> usize {
        self.log.len()
    }

    /// Operations received and waiting for their predecessors.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// Stamps a new operation of replica `me` and delivers it here.
    pub fn issue(&mut self, me: NodeId, op: O) -> Stamped<O> {
        let stamped = Stamped {
            origin: me,
            seq: self.delivered.get(me) + 1,
            deps: self.delivered.clone(),
            op,
        };
        self.deliver(stamped.clone());
        stamped
    }

    /// Marks `stamped` delivered and keeps it for peers that lack it (also
    /// how a recovering replica replays its durable deliveries).
    pub fn deliver(&mut self, stamped: Stamped<O>) {
        self.delivered.raise(stamped.origin, stamped.seq);
        self.log.insert(stamped.dot(), stamped);
    }

    /// Takes in an operation from a peer; returns those now delivered, in
    /// causal order, for the caller to apply. `dedup` off is the known bug.
    pub fn receive(&mut self, stamped: Stamped<O>, dedup: bool) -> Vec<Stamped<O>> {
        let mut delivered = Vec::new();
        let repeat = stamped.seq <= self.delivered.get(stamped.origin);
        if repeat {
            if !dedup && stamped.predecessors_in(&self.delivered) {
                delivered.push(stamped);
            }
            return delivered;
        }
        if self.buffer.contains_key(&stamped.dot()) {
            return delivered;
        }
        self.buffer.insert(stamped.dot(), stamped);
        // Each delivery may unblock others: sweep until none is ready.
        loop {
            let ready: Vec<Dot> = self
                .buffer
                .values()
                .filter(|s| s.deliverable(&self.delivered))
                .map(Stamped::dot)
                .collect();
            if ready.is_empty() {
                return delivered;
            }
            for dot in ready {
                // Ready ones of different origins do not depend on each
                // other; two of one origin are not ready at once.
                let s = self.buffer.remove(&dot).expect("listed");
                self.deliver(s.clone());
                delivered.push(s);
            }
        }
    }

    /// The logged operations a peer that delivered `theirs` lacks.
    pub fn missing_for(&self, theirs: &VClock) -> Vec<Stamped<O>> {
        self.log
            .values()
            .filter(|s| !theirs.covers(s.dot()))
            .cloned()
            .collect()
    }

    /// Forgets the operations below the stable frontier; how many went.
    pub fn forget_stable(&mut self, stable: &VClock) -> usize {
        let before = self.log.len();
        self.log.retain(|&dot, _| !stable.covers(dot));
        before - self.log.len()
    }
}

/// The log on disk: a list (JSON keys are strings, not dots).
mod as_list {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer, O: Serialize>(
        log: &BTreeMap<Dot, Stamped<O>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(log.values())
    }

    pub fn deserialize<'de, D: Deserializer<'de>, O: DeserializeOwned>(
        d: D,
    ) -> Result<BTreeMap<Dot, Stamped<O>>, D::Error> {
        let list: Vec<Stamped<O>> = Vec::deserialize(d)?;
        Ok(list.into_iter().map(|s| (s.dot(), s)).collect())
    }
}

/// What each peer last reported having (delivered operations, or seen
/// updates), and from that what every replica has: the stable frontier.
/// Kept in memory: after a restart, nothing is stable until every peer has
/// reported again.
#[derive(Debug, Clone, Default)]
pub struct Stability {
    reported: BTreeMap<NodeId, VClock>,
}

impl Stability {
    /// A report of `peer`. Reports only grow: what a peer reported it
    /// holds durably (op mode), or its loss is repaired by the frontier a
    /// compacted state carries (state mode).
    pub fn record(&mut self, peer: NodeId, has: &VClock) {
        self.reported.entry(peer).or_default().merge(has);
    }

    /// The entry-wise minimum over every replica of `peers`: this one
    /// (`me`, which has `mine`) and the last report of each other one. A
    /// peer never heard from holds nothing stable.
    pub fn frontier(&self, peers: &[NodeId], me: NodeId, mine: &VClock) -> VClock {
        let mut stable = mine.clone();
        for &p in peers.iter().filter(|&&p| p != me) {
            match self.reported.get(&p) {
                Some(has) => stable.meet(has),
                None => return VClock::new(),
            }
            if stable.is_empty() {
                break;
            }
        }
        stable
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(origin: NodeId, seq: u64, deps: &[(NodeId, u64)]) -> Stamped<&'static str> {
        Stamped {
            origin,
            seq,
            deps: VClock::from_entries(deps.iter().copied()),
            op: "op",
        }
    }

    fn dots<O>(ops: &[Stamped<O>]) -> Vec<Dot> {
        ops.iter().map(Stamped::dot).collect()
    }

    #[test]
    fn an_operation_waits_for_its_predecessors_and_is_delivered_once() {
        let mut log = CausalLog::default();
        // 1's second op, which saw 0's first: neither predecessor is here.
        assert!(log.receive(op(1, 2, &[(0, 1), (1, 1)]), true).is_empty());
        assert!(log.receive(op(0, 1, &[]), true).len() == 1);
        assert_eq!(log.buffered(), 1);
        let now = log.receive(op(1, 1, &[]), true);
        assert_eq!(dots(&now), [(1, 1), (1, 2)]);
        assert_eq!(log.buffered(), 0);
        // Duplicates, delivered or buffered, are dropped.
        assert!(log.receive(op(1, 1, &[]), true).is_empty());
        assert!(log.receive(op(1, 2, &[(0, 1), (1, 1)]), true).is_empty());
        assert_eq!(log.delivered(), &VClock::from_entries([(0, 1), (1, 2)]));
        // Without dedup, a repeat whose predecessors are here is applied again.
        assert_eq!(dots(&log.receive(op(1, 1, &[]), false)), [(1, 1)]);
    }

    #[test]
    fn a_peer_is_sent_what_it_lacks_until_it_is_stable() {
        let mut log = CausalLog::default();
        let first = log.issue(0, "a".to_string());
        log.issue(0, "b".to_string());
        assert_eq!(first.deps, VClock::new());
        let theirs = VClock::from_entries([(0, 1)]);
        assert_eq!(dots(&log.missing_for(&theirs)), [(0, 2)]);
        let mut stability = Stability::default();
        let peers = [0, 1, 2];
        stability.record(1, &log.delivered().clone());
        // Replica 2 has not reported: nothing is stable.
        assert!(stability.frontier(&peers, 0, log.delivered()).is_empty());
        stability.record(2, &theirs);
        let stable = stability.frontier(&peers, 0, log.delivered());
        assert_eq!(stable, theirs);
        assert_eq!(log.forget_stable(&stable), 1);
        assert_eq!(log.logged(), 1);
        // What a checkpoint keeps comes back (the buffer excepted).
        let stored: CausalLog<String> =
            serde_json::from_slice(&serde_json::to_vec(&log).unwrap()).unwrap();
        assert_eq!(stored.delivered(), log.delivered());
        assert_eq!(dots(&stored.missing_for(&VClock::new())), [(0, 2)]);
    }
}
