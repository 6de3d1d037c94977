//! Where a client's request ids come from.
//!
//! Servers deduplicate requests and match replies by request id, so an id
//! must never be reused, not even by a client that crashed and restarted.
//! The kernel hands out such ids ([`sim_core::Ctx::request_id`]: the
//! incarnation in the high bits, a counter below). The known-bug variant
//! `reuse-request-ids` numbers requests from a counter in memory, as a
//! client does that forgets its numbering when it restarts.

use sim_core::{Ctx, Message};

/// The bug's name, shared by every protocol that offers it.
pub const REUSE_REQUEST_IDS: &str = "reuse-request-ids";

/// A client's source of request ids.
#[derive(Debug, Clone, Default)]
pub struct RequestIds {
    /// The bug: count from 1 again in every incarnation.
    reuse: bool,
    counted: u64,
}

impl RequestIds {
    pub fn new(reuse: bool) -> Self {
        Self { reuse, counted: 0 }
    }

    /// The id of the next request.
    pub fn next<M: Message>(&mut self, ctx: &mut Ctx<'_, M>) -> u64 {
        if self.reuse {
            self.counted += 1;
            self.counted
        } else {
            ctx.request_id()
        }
    }
}
