//! The client workload every protocol's clients draw from.
//!
//! A client runs one operation at a time: it draws an operation, sends it,
//! waits for the answer or a timeout, thinks, and draws the next. What is
//! drawn is the same for every protocol, so their histories are comparable.

use rand::Rng;
use serde::{Deserialize, Serialize};
use sim_core::{Nanos, MILLIS};

/// How clients load the cluster (the `[workload]` table of a scenario).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkloadSpec {
    /// Number of client nodes.
    pub clients: u32,
    /// Pause between an answer and the next request, in milliseconds.
    pub think_ms: u64,
    /// A request unanswered for this long is retried or given up.
    pub timeout_ms: u64,
    /// Fractions of reads and compare-and-sets; the rest are writes.
    pub read_fraction: f64,
    pub cas_fraction: f64,
    /// Keys are `0..keys`; values are drawn from `0..values`.
    pub keys: u32,
    pub values: u32,
    /// Clients stop issuing new operations after this many each (0: no limit).
    pub max_ops: u64,
    /// Clients (numbered from 0 among the clients) that are down from the
    /// start and never invoke anything: how a shrink removes a client while
    /// the others keep their node ids, random streams and behaviour.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub idle_clients: Vec<u32>,
}

impl Default for WorkloadSpec {
    fn default() -> Self {
        Self {
            clients: 3,
            think_ms: 10,
            timeout_ms: 200,
            read_fraction: 0.5,
            cas_fraction: 0.1,
            keys: 1,
            values: 100,
            max_ops: 0,
            idle_clients: Vec::new(),
        }
    }
}

/// One client operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ClientOp {
    Read { key: u32 },
    Write { key: u32, value: u64 },
    Cas { key: u32, expected: u64, new: u64 },
}

impl ClientOp {
    pub fn key(&self) -> u32 {
        match *self {
            ClientOp::Read { key } | ClientOp::Write { key, .. } | ClientOp::Cas { key, .. } => key,
        }
    }

    /// The history's function name for this operation.
    pub fn f(&self) -> &'static str {
        match self {
            ClientOp::Read { .. } => "read",
            ClientOp::Write { .. } => "write",
            ClientOp::Cas { .. } => "cas",
        }
    }

    /// The history's invoke value (see `sim_core::history`).
    pub fn invoke_value(&self) -> serde_json::Value {
        match *self {
            ClientOp::Read { .. } => serde_json::Value::Null,
            ClientOp::Write { value, .. } => value.into(),
            ClientOp::Cas { expected, new, .. } => serde_json::json!([expected, new]),
        }
    }
}

impl WorkloadSpec {
    pub fn think(&self) -> Nanos {
        self.think_ms * MILLIS
    }

    pub fn timeout(&self) -> Nanos {
        self.timeout_ms * MILLIS
    }

    /// The clients that are not idle.
    pub fn running_clients(&self) -> usize {
        (0..self.clients)
            .filter(|c| !self.idle_clients.contains(c))
            .count()
    }

    /// Checks the spec; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.read_fraction) {
            return Err(format!(
                "read_fraction must be in [0, 1], got {}",
                self.read_fraction
            ));
        }
        if !(0.0..=1.0).contains(&self.cas_fraction) || self.read_fraction + self.cas_fraction > 1.0
        {
            return Err(format!(
                "cas_fraction must be in [0, 1] and read_fraction + cas_fraction <= 1, got {}",
                self.cas_fraction
            ));
        }
        if self.keys == 0 {
            return Err("keys must be at least 1".into());
        }
        if self.values == 0 {
            return Err("values must be at least 1".into());
        }
        // Both are added to event times: a day at most keeps that far from
        // overflowing.
        if self.timeout_ms == 0 {
            return Err("timeout_ms must be at least 1".into());
        }
        for (name, ms) in [("timeout_ms", self.timeout_ms), ("think_ms", self.think_ms)] {
            sim_core::time::setting::from_millis(ms, 0).map_err(|m| format!("{name}: {m}"))?;
        }
        if let Some(c) = self.idle_clients.iter().find(|&&c| c >= self.clients) {
            return Err(format!(
                "idle_clients names client {c}, but the {} clients are numbered from 0",
                self.clients
            ));
        }
        let idle: std::collections::BTreeSet<u32> = self.idle_clients.iter().copied().collect();
        if idle.len() as u32 >= self.clients {
            return Err("idle_clients leaves no client running: the run would test nothing".into());
        }
        Ok(())
    }

    /// Draws the next operation from a client's random stream.
    pub fn next_op(&self, rng: &mut impl Rng) -> ClientOp {
        let key = rng.random_range(0..self.keys);
        let x: f64 = sim_core::rng::unit(rng);
        if x < self.read_fraction {
            ClientOp::Read { key }
        } else if x < self.read_fraction + self.cas_fraction {
            ClientOp::Cas {
                key,
                expected: rng.random_range(0..self.values) as u64,
                new: rng.random_range(0..self.values) as u64,
            }
        } else {
            ClientOp::Write {
                key,
                value: rng.random_range(0..self.values) as u64,
            }
        }
    }

    /// The history key of an operation: none for a single register, so that
    /// its history reads like a plain register's.
    pub fn history_key(&self, op: &ClientOp) -> Option<String> {
        (self.keys > 1).then(|| op.key().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_follows_the_fractions() {
        let spec = WorkloadSpec {
            read_fraction: 0.6,
            cas_fraction: 0.1,
            keys: 4,
            ..Default::default()
        };
        let mut rng = sim_core::rng::stream(1, "workload");
        let ops: Vec<ClientOp> = (0..10_000).map(|_| spec.next_op(&mut rng)).collect();
        let reads = ops
            .iter()
            .filter(|o| matches!(o, ClientOp::Read { .. }))
            .count();
        let cas = ops
            .iter()
            .filter(|o| matches!(o, ClientOp::Cas { .. }))
            .count();
        assert!((5_800..6_200).contains(&reads), "{reads}");
        assert!((850..1_150).contains(&cas), "{cas}");
        assert!(ops.iter().all(|o| o.key() < 4));
    }

    #[test]
    fn bad_fractions_are_named() {
        let spec = WorkloadSpec {
            read_fraction: 0.9,
            cas_fraction: 0.2,
            ..Default::default()
        };
        assert!(spec.validate().unwrap_err().contains("cas_fraction"));
    }
}
