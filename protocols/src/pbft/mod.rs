//! PBFT (Castro & Liskov, OSDI 1999): a key-value store replicated over
//! n = 3f+1 replicas that stays safe with f of them Byzantine.
//!
//! Normal case: a client sends its request to the primary of the current view
//! (`view mod n`), which assigns it a sequence number and multicasts
//! PRE-PREPARE; backups multicast PREPARE. A replica holding the pre-prepare
//! and 2f matching prepares from different backups has the request
//! *prepared*, multicasts COMMIT, and with 2f+1 matching commits it is
//! *committed-local*: requests execute in sequence order on the store, and
//! each replica replies to the client, which takes a result once f+1 replicas
//! sent the same one (at least one of them is honest).
//!
//! View change: a replica waiting for a request to execute runs a timer; on
//! expiry it multicasts VIEW-CHANGE(v+1) with its prepared certificates (the
//! signed pre-prepare and prepares). The new primary, with 2f+1 of them,
//! multicasts NEW-VIEW carrying them as proof, and re-proposes at every
//! sequence number the request prepared in the highest view (a no-op where
//! none was). Replicas recompute that choice from the proof, so a Byzantine
//! primary cannot drop a committed request.
//!
//! Checkpoints (`replica/checkpoint.rs`): every K executions a replica
//! multicasts CHECKPOINT(seq, state digest); 2f+1 matching ones make it
//! stable, the low watermark h. Only sequence numbers in (h, h+2K] are
//! accepted, everything at or below h is dropped, and a VIEW-CHANGE carries
//! its stable checkpoint's proof, so a new view re-proposes only above the
//! highest proven one. Every buffer is bounded (see `replica.rs`). A replica
//! that lags or restarted fetches a stable checkpoint's state (checked
//! against the digest 2f+1 replicas signed) and the current view's NEW-VIEW.
//! Its view and prepared certificates are on disk, so a restarted replica
//! still reports what it prepared; it sends no vote in the views it may have
//! voted in before the crash, and counts again from the next view on.
//!
//! Lost messages: every quarter of the view-change timeout a replica sends
//! again what it said about each slot of the current view it has not
//! executed (the pre-prepare if primary, its prepare, its commit once
//! prepared), and a backup relays again the requests it waits for. A replica
//! that gets a prepare or commit again for a slot it has committed answers
//! the sender directly with its own messages for that slot (at most once per
//! period), so a peer that missed some catches up without a view change.
//! A replica that waits for a request and executed nothing for a whole
//! period asks the others (FETCH-STATE), who answer with what they said
//! about every slot they committed past it: a lagging replica catches up
//! without blaming the primary, and a replica that lost a VIEW-CHANGE or
//! NEW-VIEW gets it again. 2 % loss then causes no view change at all.
//!
//! Authentication: every message carries `mac(key(sender), body)` (see
//! `sim_core::integrity::mac`); requests carry their client's MAC inside, so
//! a relayed or pre-prepared request cannot be altered. Since the MAC stands
//! for a signature, certificates can be checked by anyone. A message
//! corrupted in flight (`Message::corrupt` flips a MAC bit) arrives from the
//! sender it names with a MAC that does not check: it is rejected and counted
//! as `corrupt_detected` (a forgery either names another sender or carries a
//! valid outer MAC, and counts as `auth_rejected`).
//!
//! Known-bug variants: `small-prepare-quorum` (prepared with f prepares
//! instead of 2f: two different requests can both be "prepared" at one
//! sequence number, and a view change may pick the one that was not
//! committed), `no-mac-check` (nothing is authenticated: a Byzantine primary
//! slips in requests no client made), `first-reply` (the client believes the
//! first reply instead of waiting for f+1 matching ones: one lying replica
//! suffices), `reuse-request-ids` (a restarted client numbers its requests
//! from 1 again: replicas take them for old ones and drop them, or answer
//! from their reply cache with another operation's result),
//! `read-only-f-plus-one` (the client takes a read-only result from f+1
//! matching replies: f+1 replicas that have not executed a write yet answer
//! the old value after others answered the new one).
//!
//! Batching, read-only requests, MAC authenticators and the faulty-client
//! attack are described in `replica.rs` and `client.rs`: with
//! `auth = "macs"` a request carries one MAC per replica and each replica
//! checks its own entry. Messages between replicas stay signed, so that
//! certificates can be checked by anyone (the paper's MAC-only view change,
//! which avoids that, is not simulated). A faulty client makes its
//! authenticator right for the primary only; a primary that proposed such a
//! request would stall its sequence number until a view change replaced it
//! with a no-op, one view change per request. So the primary proposes a
//! request only after `request_vouches` (f+1) backups relayed it, which
//! they do only once they authenticated it, and a backup that cannot
//! authenticate a pre-prepared request itself prepares it once f+1 backups
//! did (one of them is honest and authenticated it).

mod driver;
pub use driver::register;

mod client;
mod msg;
mod replica;

use sim_core::NodeId;

pub use client::*;
pub use msg::*;
pub use replica::*;

pub const BUGS: [&str; 5] = [
    "small-prepare-quorum",
    "no-mac-check",
    "first-reply",
    crate::request_ids::REUSE_REQUEST_IDS,
    "read-only-f-plus-one",
];

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bugs {
    pub small_prepare_quorum: bool,
    pub no_mac_check: bool,
    pub first_reply: bool,
    pub reuse_request_ids: bool,
    pub read_only_f_plus_one: bool,
}

impl Bugs {
    pub fn parse(names: &[String]) -> Result<Self, String> {
        let [small_prepare_quorum, no_mac_check, first_reply, reuse_request_ids, read_only_f_plus_one] =
            crate::bug_names::switched_on("pbft", names, BUGS)?;
        Ok(Bugs {
            small_prepare_quorum,
            no_mac_check,
            first_reply,
            reuse_request_ids,
            read_only_f_plus_one,
        })
    }
}

/// The key node `id` signs with. Holding a key is a convention in the
/// simulation: a node only ever uses its own (a forger cannot compute
/// another node's MAC, so its forgeries carry wrong ones).
pub fn node_key(id: NodeId) -> u64 {
    0x7062_6674_0000_0000 ^ (id as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}
