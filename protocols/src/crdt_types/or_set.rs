//! `or-set`: clients add fresh elements and remove elements they added;
//! a remove replies whether it removed anything (the replica may not have
//! seen the add yet). State-based replicas keep tombstones, unless
//! `options.compaction = true`: then each reports what its state has seen,
//! and tombstones go once causally stable. Bug `early-compaction` drops
//! them `options.compact_after` after a replica learns them (see
//! [`crate::crdt::or_set`]). Op-based, an add's tag is its operation's
//! (origin, sequence) and a remove carries the tags it observed: no
//! tombstones, and the removes' tags leave with the operation log once
//! stable.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sim_core::history::{History, HistoryError};
use sim_core::rng::SimRng;
use sim_core::Nanos;

use super::{Config, Env, ReplicatedType, Session};
use crate::crdt::or_set::{Dot, OrSet};
use crate::crdt::vclock::VClock;

pub type OrSetType = OrSet;

pub const EARLY_COMPACTION: &str = "early-compaction";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SetRequest {
    Add(u64),
    Remove(u64),
}

/// An op-based operation: an add (tagged by its operation's dot), or a
/// remove of the tags its origin observed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SetOp {
    Add(u64),
    Remove(u64, BTreeSet<Dot>),
}

/// A replica's bookkeeping: the last sequence number of its dots, and for
/// the bug, when it learned each tombstone (in memory: after a restart it
/// learns them again).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SetLocal {
    last_seq: u64,
    #[serde(skip)]
    learned: BTreeMap<Dot, Nanos>,
}

impl ReplicatedType for OrSet {
    const NAME: &'static str = "or-set";
    const DESCRIPTION: &'static str =
        "add-wins observed-remove set with delta gossip, judged by its final read";
    const BUGS: &'static [&'static str] = &[EARLY_COMPACTION];
    type Request = SetRequest;
    type Reply = bool;
    type Local = SetLocal;
    type Session = SetSession;
    type Op = SetOp;
    const COMPACTS: bool = true;

    fn execute(
        &mut self,
        local: &mut SetLocal,
        env: &Env,
        request: &SetRequest,
    ) -> (Option<Self>, bool) {
        match *request {
            SetRequest::Add(e) => {
                local.last_seq = local.last_seq.max(self.last_dot_of(env.me)) + 1;
                (Some(self.add(e, (env.me, local.last_seq))), true)
            }
            SetRequest::Remove(e) => {
                let delta = self.remove(e);
                let hit = !delta.is_empty();
                (hit.then_some(delta), hit)
            }
        }
    }

    fn tidy(state: &mut Arc<Self>, local: &mut SetLocal, env: &Env) {
        if !env.config.bug(EARLY_COMPACTION) {
            return;
        }
        let now = env.monotonic;
        for dot in state.tombstones() {
            local.learned.entry(dot).or_insert(now);
        }
        let due: BTreeSet<Dot> = local
            .learned
            .iter()
            .filter(|&(_, &at)| now.saturating_sub(at) >= env.config.compact_after)
            .map(|(&dot, _)| dot)
            .collect();
        if !due.is_empty() {
            Arc::make_mut(state).forget(&due);
            local.learned.retain(|dot, _| !due.contains(dot));
        }
    }

    fn seen(&self) -> VClock {
        OrSet::seen(self)
    }

    fn compact(state: &mut Arc<Self>, stable: &VClock) {
        if !state.stable_covers(stable) {
            Arc::make_mut(state).compact(stable);
        }
    }

    fn tombstones(&self) -> usize {
        self.tombstone_count()
    }

    fn prepare(&self, _: &mut SetLocal, _: &Env, request: &SetRequest) -> (Option<SetOp>, bool) {
        match *request {
            SetRequest::Add(e) => (Some(SetOp::Add(e)), true),
            SetRequest::Remove(e) => {
                let dots = self.live_dots(e);
                let hit = !dots.is_empty();
                (hit.then_some(SetOp::Remove(e, dots)), hit)
            }
        }
    }

    fn effect(&mut self, dot: Dot, op: &SetOp, _: &Config) {
        match op {
            SetOp::Add(e) => self.insert(*e, dot),
            SetOp::Remove(e, dots) => self.discard(*e, dots),
        }
    }

    fn final_value(&self) -> Value {
        json!(self.elements())
    }

    fn final_read(history: &History, value: &Value) -> Result<Vec<String>, HistoryError> {
        let elements: Option<BTreeSet<u64>> = value
            .as_array()
            .map(|items| items.iter().filter_map(Value::as_u64).collect());
        match elements {
            Some(e) => checkers::final_read::or_set(history, &e),
            None => Ok(vec![format!("{value} is not a set")]),
        }
    }
}

/// Adds fresh elements; one time in three removes one it added.
#[derive(Default)]
pub struct SetSession {
    added: Vec<u64>,
}

impl Session for SetSession {
    type Request = SetRequest;
    type Reply = bool;

    fn next(&mut self, rng: &mut SimRng, fresh: u64) -> (&'static str, Value, SetRequest) {
        if !self.added.is_empty() && rng.random_bool(1.0 / 3.0) {
            let e = self
                .added
                .swap_remove(rng.random_range(0..self.added.len()));
            ("remove", json!(e), SetRequest::Remove(e))
        } else {
            ("add", json!(fresh), SetRequest::Add(fresh))
        }
    }

    fn done(&mut self, request: &SetRequest, removed: &bool) -> Value {
        match *request {
            SetRequest::Add(e) => {
                self.added.push(e);
                Value::Null
            }
            SetRequest::Remove(_) => json!(removed),
        }
    }
}
