//! `lww-register`: clients write (unique write ids, values from a small
//! range so that equal values are common) and read; a client carries the
//! largest timestamp it has seen and the replica's clock observes it before
//! stamping a write, so that with Lamport or HLC timestamps a session's
//! later write wins. The wall clock ignores it: under skew, a later write
//! to a replica whose clock is behind loses (`options.clock = "wall"`, the
//! known weakness a skew scenario shows). Bug `string-tiebreak` (see
//! [`crate::crdt::lww`]).

use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sim_core::history::{History, HistoryError};
use sim_core::rng::SimRng;

use super::{Config, Env, ReplicatedType, Session};
use crate::crdt::lww::{LwwRegister, LwwWrite};
use crate::crdt::or_set::Dot;
use crate::crdt::timestamp::{Stamp, StampClock};

pub type LwwType = LwwRegister;

pub const STRING_TIEBREAK: &str = "string-tiebreak";

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LwwRequest {
    /// Write `value` as write `write`; `seen` is the client's largest timestamp.
    Write {
        write: u64,
        value: u64,
        seen: Stamp,
    },
    Read,
}

/// The timestamp of the write done or read, and for a read its write id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LwwReply {
    stamp: Stamp,
    write: Option<u64>,
}

impl ReplicatedType for LwwRegister {
    const NAME: &'static str = "lww-register";
    const DESCRIPTION: &'static str =
        "last-writer-wins register (wall-clock, Lamport or hybrid logical clock timestamps)";
    const BUGS: &'static [&'static str] = &[STRING_TIEBREAK];
    type Request = LwwRequest;
    type Reply = LwwReply;
    type Local = StampClock;
    type Session = LwwSession;
    type Op = Self;

    fn prepare(
        &self,
        local: &mut StampClock,
        env: &Env,
        request: &Self::Request,
    ) -> (Option<Self>, Self::Reply) {
        super::delta_as_op(self, local, env, request)
    }

    fn effect(&mut self, _: Dot, op: &Self, config: &Config) {
        self.absorb(op, config);
    }

    fn execute(
        &mut self,
        clock: &mut StampClock,
        env: &Env,
        request: &LwwRequest,
    ) -> (Option<Self>, LwwReply) {
        let kind = env.config.clock;
        let held = self.current.map(|w| w.stamp).unwrap_or_default();
        match *request {
            LwwRequest::Read => (
                None,
                LwwReply {
                    stamp: held,
                    write: self.current.map(|w| w.write),
                },
            ),
            LwwRequest::Write { write, value, seen } => {
                // The replica has seen what it holds and what the client saw.
                clock.observe(kind, held.max(seen));
                let stamp = clock.stamp(kind, env.wall);
                let delta = LwwRegister {
                    current: Some(LwwWrite {
                        stamp,
                        node: env.me,
                        write,
                        value,
                    }),
                };
                self.merge_with(&delta, env.config.bug(STRING_TIEBREAK));
                (Some(delta), LwwReply { stamp, write: None })
            }
        }
    }

    fn absorb(&mut self, other: &Self, config: &Config) -> bool {
        let before = self.current;
        self.merge_with(other, config.bug(STRING_TIEBREAK));
        before != self.current
    }

    fn final_value(&self) -> Value {
        json!(self.current.map(|w| w.write))
    }

    fn final_read(history: &History, value: &Value) -> Result<Vec<String>, HistoryError> {
        checkers::final_read::lww_register(history, value.as_u64())
    }
}

/// Writes and reads, one in two; remembers the largest timestamp seen.
#[derive(Default)]
pub struct LwwSession {
    seen: Stamp,
}

impl Session for LwwSession {
    type Request = LwwRequest;
    type Reply = LwwReply;

    fn next(&mut self, rng: &mut SimRng, fresh: u64) -> (&'static str, Value, LwwRequest) {
        if rng.random_bool(0.5) {
            let value = rng.random_range(0..2);
            let request = LwwRequest::Write {
                write: fresh,
                value,
                seen: self.seen,
            };
            ("write", json!({"write": fresh, "value": value}), request)
        } else {
            ("read", Value::Null, LwwRequest::Read)
        }
    }

    fn done(&mut self, _: &LwwRequest, reply: &LwwReply) -> Value {
        self.seen = self.seen.max(reply.stamp);
        json!(reply.write)
    }
}
