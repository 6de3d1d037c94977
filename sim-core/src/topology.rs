//! Which nodes of a simulation are replicas and which are clients.
//!
//! Clients are nodes on the same network as replicas (so partitions cut them
//! off too); fault generators and checkers need to tell them apart.

use serde::{Deserialize, Serialize};

use crate::process::NodeId;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topology {
    pub replicas: Vec<NodeId>,
    pub clients: Vec<NodeId>,
}

impl Topology {
    pub fn all(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.replicas.iter().chain(&self.clients).copied()
    }

    pub fn node_count(&self) -> usize {
        self.replicas.len() + self.clients.len()
    }

    pub fn is_replica(&self, node: NodeId) -> bool {
        self.replicas.contains(&node)
    }
}
