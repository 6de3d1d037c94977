//! `sequential-store`: a key-value store that is sequentially consistent
//! but not linearizable.
//!
//! Writes are totally ordered by a **sequencer** (replica 0) into a log;
//! every replica applies the log in order; a client reads at its **local
//! replica** (client `i` at replica `i mod replicas`), which answers at once
//! from the prefix it has applied: the value may be stale, but every client
//! sees the one order, and its own operations in program order.
//!
//! - A write goes to the local replica, which submits it to the sequencer
//!   and answers the client once it has applied the write at its position,
//!   so the client's next read sees it. Submissions not yet ordered are
//!   submitted again every `retry` interval (the sequencer orders each once).
//! - The sequencer syncs each entry to disk before sending it to every
//!   replica; a replica that misses entries (loss, a partition, a restart)
//!   asks the sequencer for what follows its prefix every `retry` interval.
//! - A client carries the last log position it saw; a replica behind it
//!   (restarted with nothing, or caught up more slowly) holds the request
//!   until it has applied that far. So a replica keeps nothing on disk.
//!
//! Judged by `sequential consistency` of the history (one total order of
//! all operations that respects each client's program order and the
//! register's semantics, real time ignored), `convergence` (live replicas
//! hold the same values at the end) and liveness. Not by linearizability:
//! a read at a lagging replica misses writes completed before it began.
//!
//! Known bug `wall-clock-order`: writes are ordered by the wall-clock time
//! their replica stamped on them instead of by their log position (a
//! replica ignores a write stamped earlier than the value it holds). With
//! skewed clocks a client's write can be ignored after it read an older
//! value: program order is broken, which the checker catches.

mod driver;
mod replica;
mod session;

pub use driver::{register, sequential_verdict};
pub use replica::{Msg, Replica};
