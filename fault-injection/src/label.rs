//! Words for reports: how a node set is written in labels.

use sim_core::NodeId;

/// `{0,3,4}`.
pub fn nodes(nodes: &[NodeId]) -> String {
    let inner: Vec<String> = nodes.iter().map(u32::to_string).collect();
    format!("{{{}}}", inner.join(","))
}

/// `n3`.
pub fn node(n: NodeId) -> String {
    format!("n{n}")
}
