//! What a Raft node keeps on its durable storage, and how it reads it back.
//!
//! Layout (keys of the node's `Storage`):
//! - `raft/hard`: current term and vote;
//! - `raft/log/<index, 20 digits>`: one key per entry, so appending writes one
//!   key and the keys sort by index; the entry in the compact binary form of
//!   `codec.rs` (written on every append, on every replica);
//! - `raft/snap`: the latest snapshot (state machine + its log position).
//!
//! Writes are ordered so that any prefix of them (a torn flush, see
//! `CrashMode::KeepFirst`) leaves a log that is a contiguous run: removals go
//! from the highest index down, appends from the lowest up, and loading stops
//! at the first gap. The node syncs before it answers anyone (see `node.rs`).

use serde::{Deserialize, Serialize};
use sim_core::storage::Storage;
use sim_core::NodeId;

use super::codec;
use super::kv::KvState;
use super::msg::{Entry, Snapshot};
use super::state_machine::StateMachine;

const HARD: &str = "raft/hard";
const SNAP: &str = "raft/snap";
const LOG_PREFIX: &str = "raft/log/";

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

/// `raft/log/` and the index in 20 digits, zero-padded (`u64::MAX` has 20):
/// written digit by digit, since every append and removal makes one.
fn log_key(index: u64) -> String {
    let mut digits = [b'0'; 20];
    let mut rest = index;
    for d in digits.iter_mut().rev() {
        *d = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    let mut key = String::with_capacity(LOG_PREFIX.len() + digits.len());
    key.push_str(LOG_PREFIX);
    key.push_str(std::str::from_utf8(&digits).expect("ASCII digits"));
    key
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("raft state is plain data and always serializes")
}

pub fn save_hard(storage: &mut Storage, hard: HardState) {
    storage.write(HARD, encode(&hard));
}

pub fn save_entry<S: StateMachine>(storage: &mut Storage, index: u64, entry: &Entry<S>) {
    storage.write(log_key(index), codec::encode_entry(entry));
}

/// Removes entries `from..=to`, highest first.
pub fn remove_entries(storage: &mut Storage, from: u64, to: u64) {
    for index in (from..=to).rev() {
        storage.delete(&log_key(index));
    }
}

/// Saves a snapshot, then removes the entries it covers (lowest first: a
/// torn prefix leaves entries at or below the snapshot point, which loading
/// skips).
pub fn save_snapshot<S: StateMachine>(
    storage: &mut Storage,
    snapshot: &Snapshot<S>,
    covered_from: u64,
) {
    storage.write(SNAP, encode(snapshot));
    // Delete the log entries that exist in the covered range, not every index
    // of the range: a corrupted `last_index` may be astronomically large.
    // Keys have a fixed width, so they compare as their indexes do.
    let (low, high) = (log_key(covered_from), log_key(snapshot.last_index));
    let covered: Vec<String> = storage
        .scan(LOG_PREFIX)
        .map(|(key, _)| key)
        .skip_while(|key| *key < low.as_str())
        .take_while(|key| *key <= high.as_str())
        .map(str::to_string)
        .collect();
    for key in covered {
        storage.delete(&key);
    }
}

/// Reads back what a node persisted. Storage written by this module always
/// decodes; anything else is reported, never panicked on.
pub fn load<S: StateMachine>(storage: &Storage) -> Result<Durable<S>, String> {
    let hard = match storage.read(HARD) {
        Some(bytes) => serde_json::from_slice(bytes).map_err(|e| format!("{HARD}: {e}"))?,
        None => HardState::default(),
    };
    let snapshot: Option<Snapshot<S>> = match storage.read(SNAP) {
        Some(bytes) => Some(serde_json::from_slice(bytes).map_err(|e| format!("{SNAP}: {e}"))?),
        None => None,
    };
    let base = snapshot.as_ref().map_or(0, |s| s.last_index);
    let mut entries = Vec::new();
    for (key, bytes) in storage.scan(LOG_PREFIX) {
        let index: u64 = key[LOG_PREFIX.len()..]
            .parse()
            .map_err(|e| format!("{key}: bad index: {e}"))?;
        if index <= base {
            continue;
        }
        if index != base + 1 + entries.len() as u64 {
            break; // a gap: what follows was never acknowledged as a whole
        }
        entries.push(codec::decode_entry(bytes).map_err(|e| format!("{key}: {e}"))?);
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

    #[test]
    fn round_trip_skips_covered_entries_and_stops_at_gaps() {
        let mut s = Storage::new();
        save_hard(
            &mut s,
            HardState {
                term: 3,
                voted_for: Some(2),
            },
        );
        let e = |term| Entry::<KvState> {
            term,
            command: Command::Noop,
        };
        for i in 1..=5 {
            save_entry(&mut s, i, &e(i));
        }
        save_entry(&mut s, 7, &e(7));
        let snap = Snapshot {
            last_index: 2,
            last_term: 2,
            chain: 0,
            state: KvState::default(),
        };
        s.write(SNAP, encode(&snap)); // as a torn save_snapshot would leave it
        let d: Durable = load(&s).unwrap();
        assert_eq!(
            d.hard,
            HardState {
                term: 3,
                voted_for: Some(2)
            }
        );
        assert_eq!(d.snapshot.unwrap().last_index, 2);
        let terms: Vec<u64> = d.entries.iter().map(|e| e.term).collect();
        assert_eq!(terms, [3, 4, 5]);
    }

    #[test]
    fn log_keys_are_the_index_in_twenty_digits() {
        for i in [0, 1, 9, 10, 12_345, u64::MAX / 3, u64::MAX] {
            assert_eq!(log_key(i), format!("{LOG_PREFIX}{i:020}"));
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut s = Storage::new();
        s.write(HARD, b"{".to_vec());
        assert!(load::<KvState>(&s).unwrap_err().contains("raft/hard"));
    }
}
