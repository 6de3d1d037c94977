//! `mv-register`: a Dynamo-style key with siblings. A client reads the
//! siblings, then writes with their merged clocks as its context (the
//! history records the write ids it read); a write replies with the
//! siblings after it, like a read, and the client may write again over
//! those. (Replying with the new write's clock alone would be wrong: its
//! entry for the replica covers every earlier dot of that replica,
//! including concurrent writes the client never saw.) Bug `compressed-vclock` (see
//! [`crate::crdt::mv_register`]).

use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sim_core::history::{History, HistoryError};
use sim_core::rng::SimRng;

use super::{Config, Env, ReplicatedType, Session};
use crate::crdt::mv_register::MvRegister;
use crate::crdt::or_set::Dot;
use crate::crdt::vclock::VClock;

pub type MvType = MvRegister;

pub const COMPRESSED_VCLOCK: &str = "compressed-vclock";

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MvRequest {
    Write {
        write: u64,
        value: u64,
        context: VClock,
    },
    Read,
}

/// The siblings (write id, clock) the replica holds after the operation.
pub type MvReply = Vec<(u64, VClock)>;

impl ReplicatedType for MvRegister {
    const NAME: &'static str = "mv-register";
    const DESCRIPTION: &'static str =
        "multi-value register (Dynamo-style siblings on dotted version vectors)";
    const BUGS: &'static [&'static str] = &[COMPRESSED_VCLOCK];
    type Request = MvRequest;
    type Reply = MvReply;
    /// The last sequence number of this replica's dots.
    type Local = u64;
    type Session = MvSession;
    type Op = Self;

    fn prepare(
        &self,
        local: &mut u64,
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
        issued: &mut u64,
        env: &Env,
        request: &MvRequest,
    ) -> (Option<Self>, MvReply) {
        match request {
            MvRequest::Read => (None, siblings(self)),
            MvRequest::Write {
                write,
                value,
                context,
            } => {
                let keep = env
                    .config
                    .bug(COMPRESSED_VCLOCK)
                    .then_some(env.config.vclock_entries);
                self.write(env.me, issued, context, *write, *value, keep);
                // The whole register is the delta: see `MvRegister::write`.
                (Some(self.clone()), siblings(self))
            }
        }
    }

    fn final_value(&self) -> Value {
        json!(self
            .siblings()
            .iter()
            .map(|s| s.write)
            .collect::<Vec<u64>>())
    }

    fn final_read(history: &History, value: &Value) -> Result<Vec<String>, HistoryError> {
        let finals = value
            .as_array()
            .map(|items| items.iter().filter_map(Value::as_u64).collect());
        match finals {
            Some(f) => checkers::final_read::mv_register(history, &f),
            None => Ok(vec![format!("{value} is not a list of write ids")]),
        }
    }
}

fn siblings(register: &MvRegister) -> MvReply {
    register
        .siblings()
        .iter()
        .map(|s| (s.write, s.clock()))
        .collect()
}

/// Read, then mostly write over what the last operation returned, else
/// read again. After a timeout, read first.
#[derive(Default)]
pub struct MvSession {
    /// What the next write replaces, when the last operation told us.
    context: Option<MvReply>,
}

impl Session for MvSession {
    type Request = MvRequest;
    type Reply = MvReply;

    fn next(&mut self, rng: &mut SimRng, fresh: u64) -> (&'static str, Value, MvRequest) {
        match self.context.take() {
            Some(seen) if rng.random_bool(0.7) => {
                let mut context = VClock::new();
                for (_, clock) in &seen {
                    context.merge(clock);
                }
                let ids: Vec<u64> = seen.iter().map(|(w, _)| *w).collect();
                let value = rng.random_range(0..100);
                let invoked = json!({"write": fresh, "value": value, "context": ids});
                let request = MvRequest::Write {
                    write: fresh,
                    value,
                    context,
                };
                ("write", invoked, request)
            }
            _ => ("read", Value::Null, MvRequest::Read),
        }
    }

    fn done(&mut self, _: &MvRequest, reply: &MvReply) -> Value {
        self.context = Some(reply.clone());
        json!(reply.iter().map(|(w, _)| *w).collect::<Vec<u64>>())
    }

    fn timed_out(&mut self) {
        self.context = None;
    }
}
