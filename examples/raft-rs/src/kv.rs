//! The replicated state machine: a map from key to value, changed only by
//! applying committed log entries, in log order, on every replica.

use std::collections::BTreeMap;

use harness::sim_core::NodeId;
use harness::workload::ClientOp;
use serde::{Deserialize, Serialize};

use crate::msg::Outcome;

/// What a log entry carries: one client operation, named by the client and
/// its request id so that a retried (or network-duplicated) request applies
/// once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    pub client: NodeId,
    pub req: u64,
    pub op: ClientOp,
}

impl Command {
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a command serializes")
    }

    pub fn decode(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }
}

#[derive(Debug, Default, Clone)]
pub struct Kv {
    values: BTreeMap<u32, u64>,
    /// Per client, its latest applied request and that request's outcome. A
    /// client runs one operation at a time and its request ids only grow
    /// (`Ctx::request_id`), so the latest is all that needs remembering.
    sessions: BTreeMap<NodeId, (u64, Outcome)>,
}

impl Kv {
    /// Applies `cmd`: the outcome, or `None` for a request older than the
    /// client's latest (the client has moved on; nobody waits for it).
    pub fn apply(&mut self, cmd: &Command) -> Option<Outcome> {
        match self.sessions.get(&cmd.client) {
            Some(&(req, outcome)) if req == cmd.req => return Some(outcome),
            Some(&(req, _)) if req > cmd.req => return None,
            _ => {}
        }
        let outcome = match cmd.op {
            ClientOp::Read { key } => Outcome::Read(self.values.get(&key).copied()),
            ClientOp::Write { key, value } => {
                self.values.insert(key, value);
                Outcome::Written
            }
            ClientOp::Cas { key, expected, new } => {
                if self.values.get(&key) == Some(&expected) {
                    self.values.insert(key, new);
                    Outcome::CasOk
                } else {
                    Outcome::CasFailed
                }
            }
        };
        self.sessions.insert(cmd.client, (cmd.req, outcome));
        Some(outcome)
    }

    /// The value of `key`, read outside the log (ReadIndex).
    pub fn get(&self, key: u32) -> Option<u64> {
        self.values.get(&key).copied()
    }

    /// The outcome of `req` if it is the client's latest applied request.
    pub fn answered(&self, client: NodeId, req: u64) -> Option<Outcome> {
        self.sessions
            .get(&client)
            .filter(|(r, _)| *r == req)
            .map(|(_, outcome)| *outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_applies_once_and_an_older_one_not_at_all() {
        let mut kv = Kv::default();
        let write = |req, value| Command {
            client: 7,
            req,
            op: ClientOp::Write { key: 0, value },
        };
        let cas = Command {
            client: 8,
            req: 1,
            op: ClientOp::Cas {
                key: 0,
                expected: 1,
                new: 2,
            },
        };
        assert_eq!(kv.apply(&write(5, 1)), Some(Outcome::Written));
        assert_eq!(kv.apply(&cas), Some(Outcome::CasOk));
        // The retry of request 5 does not write 1 over the 2 again.
        assert_eq!(kv.apply(&write(5, 1)), Some(Outcome::Written));
        assert_eq!(kv.answered(7, 5), Some(Outcome::Written));
        let read = Command {
            client: 9,
            req: 1,
            op: ClientOp::Read { key: 0 },
        };
        assert_eq!(kv.apply(&read), Some(Outcome::Read(Some(2))));
        assert_eq!(kv.apply(&write(4, 3)), None);
        assert_eq!(kv.apply(&cas), Some(Outcome::CasOk), "cached, not re-run");
    }
}
