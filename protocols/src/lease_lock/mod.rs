//! A lease lock on a conditional-write store, the recipe DynamoDB users
//! deploy: one table served by a single server with durable storage, and
//! clients that take the lock by writing an item only if it is absent or
//! expired.
//!
//! The store (`store.rs`) holds one item, the lock: its owner, when it
//! expires on the store's own wall clock (an item TTL, as DynamoDB keeps
//! it: epoch time, so a server clock jumped forward expires leases early),
//! and its version number. Requests are conditional: put if absent or
//! expired (acquire), update if owner and unexpired (extend), delete if
//! owner (release). Every acquiring put takes the next value of a
//! table-wide counter, kept on disk with the item, as the item's version:
//! that is the fencing token, and an acquire returns it.
//!
//! A client (`client.rs`) acquires, works for `hold`, extends its lease
//! every third of it while it works, and releases. It holds the lock only
//! while the lease it computed is valid: validity ends at the send time of
//! the last granted put or update + lease − drift allowance, measured on its
//! own monotonic clock; when the lease runs out before the work is done it
//! stops and releases. A refused or unanswered acquire is retried after an
//! exponential back-off with jitter.
//!
//! While it holds the lock a client writes to the guarded resource
//! (`resource.rs`, a storage server of its own) every tenth of the lease,
//! with its token; with `fencing` on the resource rejects a token below one
//! it accepted. The resource's accepted writes are judged by
//! `checkers::fenced_writes` (the `resource` verdict).
//!
//! Judged as a mutex with fencing tokens (the `lock` model). Known-bug
//! variants: `release-without-owner-check` (the release deletes the item
//! whoever holds it: a late release frees someone else's lock),
//! `client-clock-expiry` (the item's expiry is stamped and judged with the
//! requesting client's wall clock, so a client whose clock runs ahead sees a
//! held lock as expired: two holders), `extend-after-expiry` (a client keeps
//! holding past its lease while an extend is unanswered, and the store's
//! update checks only the owner).

mod client;
mod driver;
mod resource;
mod store;

pub use client::{Client, ClientConfig};
pub use driver::register;
pub use resource::{resource_verdict, GuardedWriteMsg, Resource};
pub use store::{Item, Store};

use serde::{Deserialize, Serialize};
use sim_core::{Message, Nanos};

pub const BUGS: [&str; 3] = [
    "release-without-owner-check",
    "client-clock-expiry",
    "extend-after-expiry",
];

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bugs {
    pub release_without_owner_check: bool,
    pub client_clock_expiry: bool,
    pub extend_after_expiry: bool,
}

impl Bugs {
    pub fn parse(names: &[String]) -> Result<Self, String> {
        let [release_without_owner_check, client_clock_expiry, extend_after_expiry] =
            crate::bug_names::switched_on("lease-lock", names, BUGS)?;
        Ok(Bugs {
            release_without_owner_check,
            client_clock_expiry,
            extend_after_expiry,
        })
    }
}

/// A conditional write on the lock item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Write {
    /// Put the item for `owner` if it is absent or expired.
    Acquire,
    /// Move the expiry on if `owner` holds the item and it is unexpired.
    Extend,
    /// Delete the item if `owner` holds it.
    Release,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LeaseMsg {
    Request {
        id: u64,
        write: Write,
        owner: u64,
        lease: Nanos,
        /// The client's wall clock when it sent the request (read only by
        /// the store with the `client-clock-expiry` bug).
        client_now: Nanos,
        /// Whether the condition leaves out what a bug leaves out.
        bugs: BugFlags,
    },
    Reply {
        id: u64,
        /// The condition held and the write was made.
        done: bool,
        /// The item's version after the write (the fencing token of an acquire).
        version: u64,
    },
    /// To the guarded resource: a write made under the grant `token` by
    /// `holder` (the owner value of that grant).
    Write { token: u64, holder: u64 },
}

/// The conditions a buggy client's requests leave out; the store is the
/// same program for every client, so the request says how it is conditioned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BugFlags {
    pub no_owner_check: bool,
    pub client_clock: bool,
    pub no_expiry_check: bool,
}

impl From<Bugs> for BugFlags {
    fn from(b: Bugs) -> Self {
        BugFlags {
            no_owner_check: b.release_without_owner_check,
            client_clock: b.client_clock_expiry,
            no_expiry_check: b.extend_after_expiry,
        }
    }
}

impl Message for LeaseMsg {}
