//! The CRDT family as protocols: one generic replica, client and driver,
//! and per data type a small [`ReplicatedType`] that says what a request
//! does to the state, what a client asks next, and how the final value is
//! judged. Each type registers as a protocol of its own: `pn-counter`,
//! `lww-register`, `or-set`, `mv-register`.
//!
//! Replication ([`replica`]) is one of two modes, `options.mode`:
//! - `state` (the default): state-based with **delta** gossip: an update
//!   yields a small delta; every gossip interval a replica sends the deltas
//!   it made or newly learned to `fanout` random peers, and every
//!   `full_every`-th interval its whole state (shared, not copied: an
//!   `Arc`) to one peer, which repairs what loss and partitions kept from it.
//! - `ops`: op-based: the replica a client asks turns the request into an
//!   operation ([`ReplicatedType::prepare`]) and broadcasts it; every replica
//!   applies it ([`ReplicatedType::effect`]) once, in causal order
//!   ([`causal`]: deduplication by origin and sequence number, buffering
//!   until predecessors are delivered, anti-entropy re-sending what a peer
//!   lacks, and the log forgotten once causally stable).
//!
//! The lattices live in [`crate::crdt`]; the final-read checks in
//! `checkers::final_read`.

pub mod causal;
mod client;
pub mod driver;
mod lww_register;
mod mv_register;
mod or_set;
mod pn_counter;
pub mod replica;

use std::fmt::Debug;
use std::hash::Hash;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use sim_core::history::{History, HistoryError};
use sim_core::rng::SimRng;
use sim_core::{Nanos, NodeId};

use crate::crdt::lattice::Lattice;
use crate::crdt::or_set::Dot;
use crate::crdt::timestamp::ClockKind;
use crate::crdt::vclock::VClock;

pub use lww_register::LwwType;
pub use mv_register::MvType;
pub use or_set::OrSetType;
pub use pn_counter::PnType;

/// What a replica knows of its situation when it executes a request.
#[derive(Debug, Clone)]
pub struct Env {
    pub me: NodeId,
    /// The node's wall clock (skewed by clock faults).
    pub wall: Nanos,
    /// The node's monotonic clock.
    pub monotonic: Nanos,
    pub config: Config,
}

/// How replicas replicate (`options.mode`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// State-based, delta gossip.
    #[default]
    State,
    /// Op-based, causal broadcast.
    Ops,
}

/// Known bug of the op-based mode: operations are not deduplicated (see
/// [`causal`]). Listed by the types it shows in (the counter).
pub const NO_DEDUP: &str = "no-dedup";

/// Options and bug switches of a run, as every type sees them.
#[derive(Debug, Clone)]
pub struct Config {
    pub mode: Mode,
    /// State mode: drop tombstones once causally stable (types that have them).
    pub compaction: bool,
    /// LWW timestamps.
    pub clock: ClockKind,
    /// `early-compaction`: tombstones are dropped this long after a replica learns them.
    pub compact_after: Nanos,
    /// `compressed-vclock`: entries a write's context keeps.
    pub vclock_entries: usize,
    /// The known bugs switched on (names from [`ReplicatedType::BUGS`]).
    pub bugs: Vec<String>,
}

impl Config {
    pub fn bug(&self, name: &str) -> bool {
        self.bugs.iter().any(|b| b == name)
    }
}

/// A replicated data type, as the generic replica and client run it.
pub trait ReplicatedType:
    Lattice + Default + Hash + Serialize + DeserializeOwned + 'static
{
    const NAME: &'static str;
    const DESCRIPTION: &'static str;
    const BUGS: &'static [&'static str];
    type Request: Clone + Debug + Hash + Serialize + 'static;
    type Reply: Clone + Debug + Hash + Serialize + DeserializeOwned + 'static;
    /// Replica bookkeeping beside the lattice (a timestamp clock, the last
    /// sequence number used), kept on disk with it.
    type Local: Clone + Default + Debug + Serialize + DeserializeOwned + 'static;
    type Session: Session<Request = Self::Request, Reply = Self::Reply>;

    /// Executes a client's request: the delta to spread (`None`: nothing
    /// changed) and the reply.
    fn execute(
        &mut self,
        local: &mut Self::Local,
        env: &Env,
        request: &Self::Request,
    ) -> (Option<Self>, Self::Reply);

    /// Merges gossiped state; whether anything changed.
    fn absorb(&mut self, other: &Self, _config: &Config) -> bool {
        if other.leq(self) {
            return false;
        }
        self.join(other);
        true
    }

    /// Housekeeping every gossip interval (the OR-set's early-compaction bug).
    fn tidy(_state: &mut std::sync::Arc<Self>, _local: &mut Self::Local, _env: &Env) {}

    /// Whether the type keeps metadata of removes that compaction on
    /// causal stability can drop (`options.compaction`).
    const COMPACTS: bool = false;

    /// For a type that compacts: per replica, the prefix of its updates
    /// this state has seen (what stability is computed from).
    fn seen(&self) -> VClock {
        VClock::new()
    }

    /// For a type that compacts: drops what every replica has seen.
    fn compact(_state: &mut std::sync::Arc<Self>, _stable: &VClock) {}

    /// Metadata the state keeps for removes (tombstones).
    fn tombstones(&self) -> usize {
        0
    }

    /// Op-based mode: what a request broadcasts.
    type Op: Clone + Debug + Hash + Serialize + DeserializeOwned + 'static;

    /// Op-based mode, at the replica a client asked: the operation to
    /// broadcast (`None`: nothing changes) and the reply. Reads the state
    /// (an OR-set's remove carries the tags it observes) without changing
    /// it: every replica, this one too, applies the operation by `effect`.
    fn prepare(
        &self,
        local: &mut Self::Local,
        env: &Env,
        request: &Self::Request,
    ) -> (Option<Self::Op>, Self::Reply);

    /// Op-based mode: applies an operation delivered in causal order;
    /// `dot` (origin, sequence number) is unique to it.
    fn effect(&mut self, dot: Dot, op: &Self::Op, config: &Config);

    /// The value replicas must agree on and the final read judges.
    fn final_value(&self) -> Value;

    /// Contradictions between the final value and the history.
    fn final_read(history: &History, value: &Value) -> Result<Vec<String>, HistoryError>;
}

/// The op-based mode of a type whose operation is its delta (the
/// registers): `prepare` executes the request on a copy of the state.
pub fn delta_as_op<T: ReplicatedType<Op = T>>(
    state: &T,
    local: &mut T::Local,
    env: &Env,
    request: &T::Request,
) -> (Option<T>, T::Reply) {
    state.clone().execute(local, env, request)
}

/// A client's side of a data type: what it asks next, what it learned.
pub trait Session: Default + 'static {
    type Request;
    type Reply;

    /// The next operation: the history's function and invocation value,
    /// and the request. `fresh` is unique to this call in the whole run.
    fn next(&mut self, rng: &mut SimRng, fresh: u64) -> (&'static str, Value, Self::Request);

    /// The reply to `request` arrived: the history's completion value.
    fn done(&mut self, request: &Self::Request, reply: &Self::Reply) -> Value;

    /// The request timed out (it may or may not have taken effect).
    fn timed_out(&mut self) {}
}

/// Makes every type of the family known to `registrar`.
pub fn register(registrar: &mut impl harness::Registrar) {
    driver::register_type::<PnType>(registrar);
    driver::register_type::<LwwType>(registrar);
    driver::register_type::<OrSetType>(registrar);
    driver::register_type::<MvType>(registrar);
}
