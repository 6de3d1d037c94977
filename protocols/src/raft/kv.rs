//! The replicated key-value state machine with client sessions.
//!
//! Sessions make retried requests apply once (dissertation §6.3): the state
//! machine remembers, per client session, the highest sequence number applied
//! and its outcome; a request with that number again gets the remembered
//! outcome, an older one is stale and ignored.

use std::collections::hash_map::Entry;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use sim_core::NodeId;

use super::codec::{put_u32, put_u64, Reader};
use super::lookup::Lookup;
use super::state_machine::StateMachine;
use crate::workload::ClientOp;

/// Operation tags on disk.
const READ: u8 = 0;
const WRITE: u8 = 1;
const CAS: u8 = 2;

/// Outcome tags in a snapshot on disk.
const READ_NONE: u8 = 0;
const READ_SOME: u8 = 1;
const WRITTEN: u8 = 2;
const CAS_OK: u8 = 3;
const CAS_FAILED: u8 = 4;
const STALE: u8 = 5;

/// The result of applying a client operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Outcome {
    /// A read: the value, or `None` if the key was never written.
    Read(Option<u64>),
    Written,
    /// A compare-and-set whose expected value matched.
    CasOk,
    /// A compare-and-set whose expected value did not match: no effect.
    CasFailed,
    /// A request older than the session's latest: the client has moved on,
    /// nobody waits for this answer.
    Stale,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KvState {
    pub data: BTreeMap<u32, u64>,
    /// session → (highest seq applied, its outcome). Looked up on every
    /// apply on every replica, by a random session number: a hash table
    /// (see `lookup.rs`), written out in session order.
    pub sessions: Lookup<u64, (u64, Outcome)>,
}

impl StateMachine for KvState {
    type Op = ClientOp;
    type Output = Outcome;

    fn apply(
        &mut self,
        _client: NodeId,
        session: u64,
        seq: u64,
        op: &ClientOp,
        dedup: bool,
    ) -> Outcome {
        // One probe of the session table, not a lookup and then an insert.
        let session = self.sessions.entry(session);
        if let (true, Entry::Occupied(remembered)) = (dedup, &session) {
            let (last, outcome) = *remembered.get();
            if seq == last {
                return outcome;
            }
            if seq < last {
                return Outcome::Stale;
            }
        }
        let outcome = execute(&mut self.data, op);
        session.insert_entry((seq, outcome));
        outcome
    }

    fn cached(&self, session: u64, seq: u64) -> Option<Outcome> {
        match self.sessions.get(&session) {
            Some(&(last, outcome)) if last == seq => Some(outcome),
            Some(&(last, _)) if last > seq => Some(Outcome::Stale),
            _ => None,
        }
    }

    fn answers(output: &Outcome) -> bool {
        *output != Outcome::Stale
    }

    /// Every session and key is in the snapshot, copied and written: a
    /// snapshot is taken no more often than once per four entries for each.
    fn snapshot_weight(&self) -> u64 {
        4 * (self.sessions.len() + self.data.len()) as u64
    }

    /// A tag, the key, then the values: 5 to 21 bytes.
    fn encode_op(op: &ClientOp, out: &mut Vec<u8>) {
        match *op {
            ClientOp::Read { key } => {
                out.push(READ);
                put_u32(out, key);
            }
            ClientOp::Write { key, value } => {
                out.push(WRITE);
                put_u32(out, key);
                put_u64(out, value);
            }
            ClientOp::Cas { key, expected, new } => {
                out.push(CAS);
                put_u32(out, key);
                put_u64(out, expected);
                put_u64(out, new);
            }
        }
    }

    fn decode_op(bytes: &[u8]) -> Result<ClientOp, String> {
        let mut r = Reader::new(bytes);
        let tag = r.u8("operation")?;
        let key = r.u32("key")?;
        let op = match tag {
            READ => ClientOp::Read { key },
            WRITE => ClientOp::Write {
                key,
                value: r.u64("value")?,
            },
            CAS => ClientOp::Cas {
                key,
                expected: r.u64("expected")?,
                new: r.u64("new")?,
            },
            other => return Err(format!("operation: unknown tag {other}")),
        };
        r.end("operation")?;
        Ok(op)
    }

    /// The number of keys, then each key and value; the number of
    /// sessions, then each session, its last seq and that request's
    /// outcome: 12 bytes a key, 17 to 25 a session.
    fn encode_state(&self, out: &mut Vec<u8>) {
        put_u64(out, self.data.len() as u64);
        for (&key, &value) in &self.data {
            put_u32(out, key);
            put_u64(out, value);
        }
        put_u64(out, self.sessions.len() as u64);
        for (&session, &(seq, outcome)) in self.sessions.sorted() {
            put_u64(out, session);
            put_u64(out, seq);
            match outcome {
                Outcome::Read(None) => out.push(READ_NONE),
                Outcome::Read(Some(value)) => {
                    out.push(READ_SOME);
                    put_u64(out, value);
                }
                Outcome::Written => out.push(WRITTEN),
                Outcome::CasOk => out.push(CAS_OK),
                Outcome::CasFailed => out.push(CAS_FAILED),
                Outcome::Stale => out.push(STALE),
            }
        }
    }

    fn decode_state(bytes: &[u8]) -> Result<Self, String> {
        let mut r = Reader::new(bytes);
        let mut state = KvState::default();
        for _ in 0..r.u64("keys")? {
            let key = r.u32("key")?;
            state.data.insert(key, r.u64("value")?);
        }
        for _ in 0..r.u64("sessions")? {
            let session = r.u64("session")?;
            let seq = r.u64("seq")?;
            let outcome = match r.u8("outcome")? {
                READ_NONE => Outcome::Read(None),
                READ_SOME => Outcome::Read(Some(r.u64("read value")?)),
                WRITTEN => Outcome::Written,
                CAS_OK => Outcome::CasOk,
                CAS_FAILED => Outcome::CasFailed,
                STALE => Outcome::Stale,
                other => return Err(format!("outcome: unknown tag {other}")),
            };
            state.sessions.insert(session, (seq, outcome));
        }
        r.end("state")?;
        Ok(state)
    }

    fn op_numbers(op: &mut ClientOp) -> Vec<&mut u64> {
        match op {
            ClientOp::Write { value, .. } => vec![value],
            ClientOp::Cas { expected, new, .. } => vec![expected, new],
            ClientOp::Read { .. } => vec![],
        }
    }
}

/// Applies `op` to the store, sessions aside.
fn execute(data: &mut BTreeMap<u32, u64>, op: &ClientOp) -> Outcome {
    match *op {
        ClientOp::Read { key } => Outcome::Read(data.get(&key).copied()),
        ClientOp::Write { key, value } => {
            data.insert(key, value);
            Outcome::Written
        }
        ClientOp::Cas { key, expected, new } => match data.get_mut(&key) {
            Some(current) if *current == expected => {
                *current = new;
                Outcome::CasOk
            }
            _ => Outcome::CasFailed,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retried_requests_apply_once() {
        let mut kv = KvState::default();
        let w = ClientOp::Write { key: 0, value: 5 };
        assert_eq!(kv.apply(0, 1, 1, &w, true), Outcome::Written);
        let w2 = ClientOp::Write { key: 0, value: 6 };
        assert_eq!(kv.apply(0, 2, 1, &w2, true), Outcome::Written);
        // The retry of session 1's write does not overwrite 6 with 5.
        assert_eq!(kv.apply(0, 1, 1, &w, true), Outcome::Written);
        assert_eq!(kv.data[&0], 6);
        assert_eq!(kv.apply(0, 1, 0, &w, true), Outcome::Stale);
        let cas = ClientOp::Cas {
            key: 0,
            expected: 6,
            new: 7,
        };
        assert_eq!(kv.apply(0, 1, 2, &cas, true), Outcome::CasOk);
        assert_eq!(kv.apply(0, 1, 3, &cas, true), Outcome::CasFailed);
        assert_eq!(
            kv.apply(0, 1, 4, &ClientOp::Read { key: 0 }, true),
            Outcome::Read(Some(7))
        );
        assert_eq!(
            kv.apply(0, 1, 5, &ClientOp::Read { key: 9 }, true),
            Outcome::Read(None)
        );
    }

    #[test]
    fn without_dedup_a_retry_applies_again() {
        let mut kv = KvState::default();
        let w = ClientOp::Write { key: 0, value: 5 };
        kv.apply(0, 1, 1, &w, false);
        kv.apply(0, 2, 1, &ClientOp::Write { key: 0, value: 6 }, false);
        kv.apply(0, 1, 1, &w, false);
        assert_eq!(kv.data[&0], 5);
    }
}
