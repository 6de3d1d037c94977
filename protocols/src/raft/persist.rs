//! What a Raft node keeps on its durable storage, and how it reads it back.
//!
//! Layout (of the node's `Storage`):
//! - key `raft/hard`: current term and vote;
//! - log `raft/log`: one record per entry, record index = log index, the
//!   entry in the compact binary form of `codec.rs` (written on every append,
//!   on every replica, straight into the log's buffer);
//! - key `raft/snap`: the latest snapshot (its log position + the state
//!   machine, in the binary form of `codec.rs`).
//!
//! Every change is one storage write: an append, a truncation of the log's
//! tail, the snapshot, the removal of the prefix it covers. They are ordered
//! so that any prefix of them (a torn flush, see `CrashMode::KeepFirst`)
//! leaves a snapshot and a contiguous log that agree: the snapshot is written
//! before the prefix it covers is removed, and loading skips records at or
//! below the snapshot point. The node syncs before it answers anyone (see
//! `node.rs`).

use serde::{Deserialize, Serialize};
use sim_core::storage::Storage;
use sim_core::NodeId;

use super::codec;
use super::kv::KvState;
use super::msg::{Entry, Snapshot};
use super::state_machine::StateMachine;

const HARD: &str = "raft/hard";
const SNAP: &str = "raft/snap";
const LOG: &str = "raft/log";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HardState {
    pub term: u64,
    pub voted_for: Option<NodeId>,
}

/// Everything a node recovers after a restart.
#[derive(Debug, Clone)]
pub struct Durable<S: StateMachine = KvState> {
    pub hard: HardState,
    pub snapshot: Option<Snapshot<S>>,
    /// Entries after the snapshot point, contiguous, from index `snapshot + 1`.
    pub entries: Vec<Entry<S>>,
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("raft state is plain data and always serializes")
}

pub fn save_hard(storage: &mut Storage, hard: HardState) {
    storage.write(HARD, encode(&hard));
}

/// Writes log entry `index`. The node's log and the disk's agree, so
/// `index` is the disk log's end, save after a torn snapshot left the disk
/// log ending below the snapshot point: its records are covered and go, so
/// that the record gets its index (see `Storage::log_put_with`).
pub fn save_entry<S: StateMachine>(storage: &mut Storage, index: u64, entry: &Entry<S>) {
    storage.log_put_with(LOG, index, |out| codec::encode_entry(entry, out));
}

/// Removes the entries from `from` on.
pub fn remove_entries_from(storage: &mut Storage, from: u64) {
    storage.log_truncate(LOG, from);
}

/// Saves a snapshot, then removes the entries it covers (a torn prefix of
/// the two leaves entries at or below the snapshot point, which loading
/// skips).
pub fn save_snapshot<S: StateMachine>(storage: &mut Storage, snapshot: &Snapshot<S>) {
    storage.write(SNAP, codec::encode_snapshot(snapshot));
    storage.log_discard_through(LOG, snapshot.last_index);
}

/// Reads back what a node persisted. Storage written by this module always
/// decodes; anything else is reported, never panicked on.
pub fn load<S: StateMachine>(storage: &Storage) -> Result<Durable<S>, String> {
    let hard = match storage.read(HARD) {
        Some(bytes) => serde_json::from_slice(bytes).map_err(|e| format!("{HARD}: {e}"))?,
        None => HardState::default(),
    };
    let snapshot: Option<Snapshot<S>> = match storage.read(SNAP) {
        Some(bytes) => Some(codec::decode_snapshot(bytes).map_err(|e| format!("{SNAP}: {e}"))?),
        None => None,
    };
    let base = snapshot.as_ref().map_or(0, |s| s.last_index);
    let mut entries = Vec::new();
    // A log that starts after `base + 1` leaves a gap: nothing after it was
    // ever acknowledged as a whole.
    if storage.log_first(LOG) <= base + 1 {
        for (index, bytes) in storage.log_records(LOG, base + 1) {
            entries.push(codec::decode_entry(bytes).map_err(|e| format!("{LOG}[{index}]: {e}"))?);
        }
    }
    Ok(Durable {
        hard,
        snapshot,
        entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::msg::Command;

    fn e(term: u64) -> Entry<KvState> {
        Entry::new(term, Command::Noop)
    }

    fn snap(last_index: u64) -> Snapshot<KvState> {
        Snapshot {
            last_index,
            last_term: last_index,
            chain: 0,
            state: KvState::default(),
        }
    }

    fn terms(d: &Durable) -> Vec<u64> {
        d.entries.iter().map(Entry::term).collect()
    }

    #[test]
    fn round_trip_skips_covered_entries() {
        let mut s = Storage::new();
        let hard = HardState {
            term: 3,
            voted_for: Some(2),
        };
        save_hard(&mut s, hard);
        for i in 1..=5 {
            save_entry(&mut s, i, &e(i));
        }
        s.write(SNAP, codec::encode_snapshot(&snap(2))); // as a torn save_snapshot would leave it
        let d: Durable = load(&s).unwrap();
        assert_eq!(d.hard, hard);
        assert_eq!(d.snapshot.as_ref().unwrap().last_index, 2);
        assert_eq!(terms(&d), [3, 4, 5]);
    }

    #[test]
    fn a_restart_reads_back_what_was_synced_and_no_more() {
        let mut s = Storage::new();
        for i in 1..=4 {
            save_entry(&mut s, i, &e(i));
        }
        s.sync();
        save_snapshot(&mut s, &snap(3));
        remove_entries_from(&mut s, 5);
        save_entry(&mut s, 5, &e(9));
        // Written: the snapshot took the covered entries with it.
        let now: Durable = load(&s).unwrap();
        assert_eq!(now.snapshot.as_ref().unwrap().last_index, 3);
        assert_eq!(terms(&now), [4, 9]);
        assert_eq!(s.log_first(LOG), 4);
        // A crash now keeps only the synced log.
        let after: Durable = load(&s.durable()).unwrap();
        assert!(after.snapshot.is_none());
        assert_eq!(terms(&after), [1, 2, 3, 4]);
        // Synced: a truncation and a rewrite survive.
        remove_entries_from(&mut s, 5);
        save_entry(&mut s, 5, &e(5));
        s.sync();
        let synced: Durable = load(&s.durable()).unwrap();
        assert_eq!(terms(&synced), [4, 5]);
    }

    #[test]
    fn an_entry_past_a_torn_snapshot_gets_its_index() {
        // A snapshot installed at 6 over a log ending at 3, its removal of
        // the covered prefix torn off: the next entry is 7, not 4.
        let mut s = Storage::new();
        for i in 1..=3 {
            save_entry(&mut s, i, &e(i));
        }
        s.write(SNAP, codec::encode_snapshot(&snap(6)));
        save_entry(&mut s, 7, &e(7));
        let d: Durable = load(&s).unwrap();
        assert_eq!(terms(&d), [7]);
        // Written below the end, an entry replaces the tail from there.
        save_entry(&mut s, 7, &e(8));
        assert_eq!(terms(&load(&s).unwrap()), [8]);
    }

    #[test]
    fn a_log_starting_past_the_snapshot_point_is_a_gap() {
        let mut s = Storage::new();
        for i in 1..=5 {
            save_entry(&mut s, i, &e(i));
        }
        s.log_discard_through(LOG, 3);
        s.write(SNAP, codec::encode_snapshot(&snap(2)));
        let d: Durable = load(&s).unwrap();
        assert!(d.entries.is_empty());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut s = Storage::new();
        s.write(HARD, b"{".to_vec());
        assert!(load::<KvState>(&s).unwrap_err().contains("raft/hard"));
        let mut s = Storage::new();
        s.write(SNAP, vec![1, 2]);
        assert!(load::<KvState>(&s).unwrap_err().contains("raft/snap"));
        let mut s = Storage::new();
        save_entry(&mut s, 1, &e(1));
        s.log_append(LOG, &[1, 2]);
        assert!(load::<KvState>(&s).unwrap_err().contains("raft/log[2]"));
    }
}
