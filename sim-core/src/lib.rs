//! The deterministic kernel of clustersim.
//!
//! One seed fixes a run: the network's delays and losses, every node's random
//! draws, the order of every event. See `ARCHITECTURE.md` for how the crates fit.

pub mod byzantine;
pub mod fingerprint;
pub mod flood;
pub mod history;
pub mod integrity;
mod kernel;
mod link_counts;
pub mod logging;
pub mod network;
pub mod panics;
pub mod process;
mod queue;
pub mod rng;
mod sim;
pub mod storage;
pub mod time;
pub mod topology;
pub mod trace;

pub use history::{History, HistoryEntry, OpId, OpType};
pub use kernel::NodeStatus;
pub use kernel::REQUEST_SEQ_BITS;
pub use network::{Latency, LinkConfig, LinkStats, Network};
pub use process::{Ctx, Message, NodeId, Process, TimerId};
pub use sim::{CrashMode, Finding, Sim, Step};
pub use time::{Nanos, NodeClock, MAX_MESSAGE_DELAY, MICROS, MILLIS, SECONDS};
pub use topology::Topology;
