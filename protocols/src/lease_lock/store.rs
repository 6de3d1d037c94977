//! The conditional-write store: one table, one item (the lock), on a single
//! server that syncs every write to its disk before it answers.

use serde::{Deserialize, Serialize};
use sim_core::{Ctx, Nanos, NodeId, Process};

use super::{BugFlags, LeaseMsg, Write};

/// The lock item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub owner: u64,
    /// Wall-clock time the item expires at (the store's clock, or the
    /// writing client's with the `client-clock-expiry` bug).
    pub expires_at: Nanos,
    /// The fencing token of the put that created it.
    pub version: u64,
}

/// What the store keeps on disk: the item and the last version handed out
/// (kept apart from the item so that a delete does not reset the tokens).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Table {
    item: Option<Item>,
    last_version: u64,
}

const DISK_KEY: &str = "table";

#[derive(Default)]
pub struct Store {
    table: Table,
}

impl Store {
    pub fn item(&self) -> Option<Item> {
        self.table.item
    }

    fn persist(&self, ctx: &mut Ctx<'_, LeaseMsg>) {
        let bytes = serde_json::to_vec(&self.table).expect("a table serializes");
        ctx.storage().write(DISK_KEY, bytes);
        ctx.storage().sync();
    }

    /// Applies one conditional write; `now` is the time expiry is judged at.
    fn apply(
        &mut self,
        write: Write,
        owner: u64,
        expires_at: Nanos,
        now: Nanos,
        bugs: BugFlags,
    ) -> bool {
        let live = self.table.item.filter(|i| i.expires_at > now);
        let mine = self.table.item.is_some_and(|i| i.owner == owner);
        match write {
            Write::Acquire if live.is_none() => {
                self.table.last_version += 1;
                self.table.item = Some(Item {
                    owner,
                    expires_at,
                    version: self.table.last_version,
                });
                true
            }
            Write::Extend if mine && (live.is_some() || bugs.no_expiry_check) => {
                if let Some(i) = &mut self.table.item {
                    i.expires_at = expires_at;
                }
                true
            }
            Write::Release if mine || (bugs.no_owner_check && self.table.item.is_some()) => {
                self.table.item = None;
                true
            }
            _ => false,
        }
    }
}

impl Process for Store {
    type Msg = LeaseMsg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, LeaseMsg>) {
        // Recover what was synced; a wiped disk starts an empty table (and
        // the tokens from 1 again: that is what persistence protects).
        self.table = ctx
            .storage()
            .read(DISK_KEY)
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or_default();
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, LeaseMsg>, from: NodeId, msg: LeaseMsg) {
        let LeaseMsg::Request {
            id,
            write,
            owner,
            lease,
            client_now,
            bugs,
        } = msg
        else {
            return;
        };
        let now = if bugs.client_clock {
            client_now
        } else {
            ctx.now()
        };
        let before = self.table;
        let done = self.apply(write, owner, now.saturating_add(lease), now, bugs);
        if self.table != before {
            self.persist(ctx);
        }
        let version = self.table.item.map_or(0, |i| i.version);
        ctx.send(from, LeaseMsg::Reply { id, done, version });
    }

    fn on_timer(&mut self, _: &mut Ctx<'_, LeaseMsg>, _: u64) {}
}
