//! `causal-store`: a causally consistent key-value store (in the manner of
//! COPS and of causal memory on vector clocks).
//!
//! Every replica holds every key. A client talks to a home replica and
//! carries its session's **dependencies**: the writes its session has seen
//! (read or written), as the largest sequence number seen per origin
//! replica. Only those: that a replica which applied a write had applied
//! its causal past is the replicas' promise, as in COPS.
//!
//! - A replica serves a request only once it has applied everything the
//!   request depends on; until then the request waits (a client that
//!   switched to a replica behind its old one keeps its guarantees).
//! - A write gets the next sequence number of its replica, depends on all
//!   that replica has applied, is applied and synced, answered with its
//!   clock, and sent to every other replica.
//! - A replica applies another's write only when it is the next from its
//!   origin and its dependencies are applied (causal delivery); earlier it
//!   waits in a buffer. Every `gossip` interval a replica sends its applied
//!   clock to one random peer, which answers with the writes it lacks in
//!   the order it applied them: that repairs loss, partitions and restarts.
//! - Concurrent writes of a key are ordered by (sum of the clock, origin),
//!   an order that extends causality, so replicas converge.
//!
//! A client switches home after a timeout, and at random with probability
//! `options.switch` per operation.
//!
//! Judged by `causal consistency` (`checkers::causal`: the session
//! guarantees and causal order of writes, on the history alone),
//! `convergence` (live replicas hold the same value of every key at the
//! end) and liveness. Not by linearizability, nor sequential consistency:
//! two replicas may apply concurrent writes in different orders.
//!
//! Known bug `visible-before-deps`: a replica applies another's write as
//! soon as it is the next from its origin, without waiting for its
//! dependencies on other origins: a reader there can see an effect and
//! then miss its cause, which the causal checker catches.

mod driver;
mod replica;
mod session;

pub use driver::{causal_verdict, register};
pub use replica::{Msg, Replica};
