//! raft-rs's `Storage` on clustersim's simulated disk.
//!
//! raft-rs reads its log and hard state through the `raft::Storage` trait,
//! and leaves writing them to the application. Here the trait is served by
//! raft-rs's own `MemStorage` (an in-memory cache), and everything written
//! to that cache is also written to the node's simulated durable storage,
//! which keeps across a crash only what was synced. The replica syncs before
//! it sends any message that promises what it wrote (a vote, an append
//! acknowledgement) and before it tells raft-rs the write is done
//! (`RawNode::advance`), so what survives a crash is what raft-rs persisted
//! before anyone relied on it. A restarted replica rebuilds the cache from
//! the disk alone ([`recover`]).
//!
//! The log is never compacted (runs are seconds long), so there is no
//! snapshot to keep: a leader always has every entry a follower lacks.
//!
//! Layout: `raft/hard_state` (protobuf `HardState`), `raft/log/<index>`
//! (protobuf `Entry`, index zero-padded so that keys sort by index).

use harness::sim_core::storage::Storage as Disk;
use protobuf::Message as _;
use raft::eraftpb::{ConfState, Entry, HardState};
use raft::storage::MemStorage;
use raft::Storage as _;

const HARD_STATE: &str = "raft/hard_state";
const LOG: &str = "raft/log/";

fn entry_key(index: u64) -> String {
    format!("{LOG}{index:020}")
}

/// The cache a replica starts from: the static membership (`voters`, raft
/// ids) and whatever the disk kept of the log and the hard state.
pub fn recover(disk: &Disk, voters: Vec<u64>) -> MemStorage {
    let store = MemStorage::new_with_conf_state(ConfState::from((voters, vec![])));
    let entries: Vec<Entry> = disk
        .scan(LOG)
        .map(|(key, bytes)| {
            Entry::parse_from_bytes(bytes).unwrap_or_else(|e| panic!("{key} does not parse: {e}"))
        })
        .collect();
    let mut core = store.wl();
    core.append(&entries)
        .expect("the disk holds a contiguous log from index 1");
    if let Some(bytes) = disk.read(HARD_STATE) {
        let hs = HardState::parse_from_bytes(bytes).expect("the hard state parses");
        core.set_hardstate(hs);
    }
    drop(core);
    store
}

/// Appends `entries` to the cache and the disk; an entry at an index the log
/// already holds replaces it and every entry after it (raft-rs hands a
/// follower's conflicting suffix over to be overwritten this way).
pub fn append(disk: &mut Disk, store: &MemStorage, entries: &[Entry]) {
    let Some(first) = entries.first() else {
        return;
    };
    let old_last = store.last_index().expect("MemStorage answers");
    store
        .wl()
        .append(entries)
        .expect("raft-rs appends a suffix of the log");
    for e in entries {
        disk.write(
            entry_key(e.index),
            e.write_to_bytes().expect("an entry encodes"),
        );
    }
    let new_last = first.index + entries.len() as u64 - 1;
    for index in new_last + 1..=old_last {
        disk.delete(&entry_key(index));
    }
}

/// Writes the hard state (term, vote, commit) to the cache and the disk.
pub fn set_hard_state(disk: &mut Disk, store: &MemStorage, hs: &HardState) {
    store.wl().set_hardstate(hs.clone());
    disk.write(
        HARD_STATE,
        hs.write_to_bytes().expect("a hard state encodes"),
    );
}

/// Moves the commit index of the hard state, in the cache and on disk.
pub fn set_commit(disk: &mut Disk, store: &MemStorage, commit: u64) {
    let mut hs = store.rl().hard_state().clone();
    hs.commit = commit;
    set_hard_state(disk, store, &hs);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(index: u64, term: u64) -> Entry {
        let mut e = Entry::default();
        e.set_index(index);
        e.set_term(term);
        e.set_data(vec![index as u8].into());
        e
    }

    #[test]
    fn what_was_synced_comes_back_and_a_replaced_suffix_stays_gone() {
        let mut disk = Disk::new();
        let store = recover(&disk, vec![1, 2, 3]);
        append(&mut disk, &store, &[entry(1, 1), entry(2, 1), entry(3, 1)]);
        let mut hs = HardState::default();
        hs.set_term(2);
        hs.set_vote(3);
        set_hard_state(&mut disk, &store, &hs);
        // A new leader overwrites index 2 onwards with a shorter suffix.
        append(&mut disk, &store, &[entry(2, 2)]);
        set_commit(&mut disk, &store, 2);
        disk.sync();

        let back = recover(&disk, vec![1, 2, 3]);
        assert_eq!(back.last_index().unwrap(), 2);
        assert_eq!(back.term(2).unwrap(), 2);
        let state = back.initial_state().unwrap();
        assert_eq!(state.hard_state.vote, 3);
        assert_eq!(state.hard_state.commit, 2);
        assert_eq!(state.conf_state.voters, vec![1, 2, 3]);
    }
}
