//! `eventual-store`: a Dynamo-style replicated key-value store, eventually
//! consistent.
//!
//! Each key is a multi-value register on dotted version vectors
//! ([`crate::crdt::mv_register`]): a write carries its client's context
//! (the merged clocks of the siblings the client last saw for the key), the
//! coordinator gives it a dot, and the write replaces exactly what its
//! context covers; writes concurrent with it stay beside it as siblings.
//!
//! - **Sloppy quorums.** Any replica coordinates a client's request. The
//!   key's preference list is the `n` replicas from `key mod replicas` on,
//!   in ring order. A write is stored at the coordinator (synced), sent to
//!   the rest of the list, and answered after `w` acknowledgements in all; a
//!   read merges the registers of `r` replicas (the coordinator's first).
//!   When the quorum is not there after `sloppy_after`, the coordinator
//!   asks the replicas after the list too (every one holds every key in the
//!   end), so a write succeeds as long as `w` replicas answer.
//! - **Anti-entropy.** Every `gossip` interval a replica sends its whole
//!   store (shared, not copied) to one random peer, which merges it and
//!   answers with its own when it holds something the sender lacks. That
//!   repairs what lost messages, partitions and crashes kept away.
//! - **Client.** Reads return the siblings; after a read with several, the
//!   client's next operation writes back the value its resolver policy
//!   picks (`options.resolver`: the largest or the smallest), with the
//!   siblings' clocks as context, which replaces them all.
//!
//! Judged by `convergence` (live replicas hold the same siblings of every
//! key at the end) and `final read (eventual-store)`, per key
//! (`checkers::final_read::mv_register`): every acknowledged write is a
//! final sibling unless a write whose context covered it replaced it, and
//! no final sibling was replaced. Not by linearizability: stale reads and
//! siblings are what this store promises.
//!
//! Known bug `resolve-by-own-component`: the coordinator orders versions by
//! its own component of the clock only, as a store keeping one vector-clock
//! entry per coordinator does: it raises a new write's context to every dot
//! it issued before, so the write replaces all earlier writes through that
//! coordinator, concurrent ones its client never saw among them. An
//! acknowledged write is lost, which the final read catches.

mod driver;
mod replica;
mod session;

pub use driver::register;
pub use replica::{Msg, Replica};
