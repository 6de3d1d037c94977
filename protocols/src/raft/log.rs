//! The Raft log, with a compacted prefix (the snapshot point).
//!
//! Indexes start at 1; index 0 with term 0 is the empty log's sentinel. After
//! compaction, entries up to `snap_index` live only in the snapshot, and the
//! log answers `term_at(snap_index)` from the snapshot's metadata.
//!
//! Each entry carries a verification ghost, `chain`: a hash of the entry and
//! the chain before it, so equal chains at one index mean equal log prefixes.
//! The invariant checker uses it to verify Log Matching incrementally; the
//! protocol itself never reads it.

use sim_core::fingerprint::StableHasher;

use super::kv::KvState;
use super::msg::Entry;
use super::state_machine::StateMachine;

#[derive(Debug, Clone)]
struct Slot<S: StateMachine> {
    entry: Entry<S>,
    chain: u64,
}

#[derive(Debug, Clone)]
pub struct RaftLog<S: StateMachine = KvState> {
    snap_index: u64,
    snap_term: u64,
    snap_chain: u64,
    /// Entry `snap_index + 1 + i` is `slots[i]`.
    slots: Vec<Slot<S>>,
}

impl<S: StateMachine> Default for RaftLog<S> {
    fn default() -> Self {
        Self {
            snap_index: 0,
            snap_term: 0,
            snap_chain: 0,
            slots: Vec::new(),
        }
    }
}

/// The chain hash of an entry of `term` with `digest` following `prev`.
pub fn chain_next(prev: u64, term: u64, digest: u64) -> u64 {
    let mut h = StableHasher::new();
    h.word(prev);
    h.word(term);
    h.word(digest);
    h.value()
}

impl<S: StateMachine> RaftLog<S> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn snapshot_index(&self) -> u64 {
        self.snap_index
    }

    pub fn snapshot_term(&self) -> u64 {
        self.snap_term
    }

    pub fn last_index(&self) -> u64 {
        self.snap_index + self.slots.len() as u64
    }

    pub fn last_term(&self) -> u64 {
        self.slots.last().map_or(self.snap_term, |s| s.entry.term())
    }

    /// The term of entry `index`, if the log knows it (compacted entries
    /// other than the snapshot point are forgotten).
    pub fn term_at(&self, index: u64) -> Option<u64> {
        if index == self.snap_index {
            Some(self.snap_term)
        } else {
            self.slot(index).map(|s| s.entry.term())
        }
    }

    /// The verification chain hash at `index` (see the module comment).
    pub fn chain_at(&self, index: u64) -> Option<u64> {
        if index == self.snap_index {
            Some(self.snap_chain)
        } else {
            self.slot(index).map(|s| s.chain)
        }
    }

    pub fn get(&self, index: u64) -> Option<&Entry<S>> {
        self.slot(index).map(|s| &s.entry)
    }

    /// Entry `index` with its digest and chain hash, if it is in the log
    /// (what applying it records).
    pub fn entry_with_hashes(&self, index: u64) -> Option<(&Entry<S>, u64, u64)> {
        self.slot(index)
            .map(|s| (&s.entry, s.entry.digest(), s.chain))
    }

    fn slot(&self, index: u64) -> Option<&Slot<S>> {
        if index <= self.snap_index {
            return None;
        }
        self.slots.get((index - self.snap_index - 1) as usize)
    }

    /// Appends an entry and returns its index.
    pub fn append(&mut self, entry: Entry<S>) -> u64 {
        let prev = self.chain_at(self.last_index()).unwrap_or(0);
        let chain = chain_next(prev, entry.term(), entry.digest());
        self.slots.push(Slot { entry, chain });
        self.last_index()
    }

    /// Removes entries `from..`; `from` must be above the snapshot point
    /// (committed entries are never removed).
    pub fn truncate_from(&mut self, from: u64) {
        debug_assert!(from > self.snap_index);
        let keep = from.saturating_sub(self.snap_index + 1) as usize;
        self.slots.truncate(keep);
    }

    /// Up to `max` entries starting at `from` (which must be above the
    /// snapshot point).
    pub fn entries_from(&self, from: u64, max: usize) -> Vec<Entry<S>> {
        let start = from.saturating_sub(self.snap_index + 1) as usize;
        self.slots
            .iter()
            .skip(start)
            .take(max)
            .map(|s| s.entry.clone())
            .collect()
    }

    /// The entries above the snapshot point, with their indexes.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &Entry<S>)> {
        self.iter_from(self.snap_index + 1)
    }

    /// The entries from `from` on (or from above the snapshot point, if
    /// `from` is below it), with their indexes. Starts there directly: a
    /// leader asks for its uncommitted tail on every client request, and a
    /// scan from the start of the log made each request cost the whole log.
    pub fn iter_from(&self, from: u64) -> impl Iterator<Item = (u64, &Entry<S>)> {
        let start = (from.saturating_sub(self.snap_index + 1) as usize).min(self.slots.len());
        let base = self.snap_index + 1 + start as u64;
        self.slots[start..]
            .iter()
            .enumerate()
            .map(move |(i, s)| (base + i as u64, &s.entry))
    }

    /// Forgets entries up to `index` (which must be in the log), keeping
    /// its term and chain as the snapshot point.
    pub fn compact_to(&mut self, index: u64) {
        if index <= self.snap_index || index > self.last_index() {
            return;
        }
        let term = self.term_at(index).expect("index is in the log");
        let chain = self.chain_at(index).expect("index is in the log");
        let drop = (index - self.snap_index) as usize;
        self.slots.drain(..drop);
        self.snap_index = index;
        self.snap_term = term;
        self.snap_chain = chain;
    }

    /// Installs a snapshot point: if the log holds an entry at `index` with
    /// `term`, the entries after it are kept (they may be newer than the
    /// snapshot, §7); otherwise the whole log is replaced.
    pub fn reset_to(&mut self, index: u64, term: u64, chain: u64) {
        if index > self.snap_index && self.term_at(index) == Some(term) {
            self.compact_to(index);
        } else {
            self.slots.clear();
            self.snap_index = index;
            self.snap_term = term;
            self.snap_chain = chain;
        }
    }

    /// The first index of the run of entries of `term` that ends at
    /// `index` (for the conflict hint of a failed AppendEntries).
    pub fn first_index_of_term_run(&self, index: u64, term: u64) -> u64 {
        let mut i = index;
        while i > self.snap_index + 1 && self.term_at(i - 1) == Some(term) {
            i -= 1;
        }
        i
    }

    /// The last index holding an entry of `term`, if any.
    pub fn last_index_of_term(&self, term: u64) -> Option<u64> {
        match self.slots.iter().rposition(|s| s.entry.term() == term) {
            Some(i) => Some(self.snap_index + 1 + i as u64),
            None => (self.snap_index > 0 && self.snap_term == term).then_some(self.snap_index),
        }
    }

    /// Is a log ending at (`last_index`, `last_term`) at least as up-to-date
    /// as this one (§5.4.1)?
    pub fn is_up_to_date(&self, last_index: u64, last_term: u64) -> bool {
        last_term > self.last_term()
            || (last_term == self.last_term() && last_index >= self.last_index())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::msg::Command;

    fn e(term: u64) -> Entry<KvState> {
        Entry::new(term, Command::Noop)
    }

    #[test]
    fn append_truncate_compact() {
        let mut log: RaftLog = RaftLog::new();
        for t in [1, 1, 2, 2, 3] {
            log.append(e(t));
        }
        assert_eq!((log.last_index(), log.last_term()), (5, 3));
        assert_eq!(log.first_index_of_term_run(4, 2), 3);
        assert_eq!(log.last_index_of_term(1), Some(2));
        let chain3 = log.chain_at(3).unwrap();
        log.truncate_from(4);
        assert_eq!(log.last_index(), 3);
        log.append(e(4));
        assert_eq!(log.chain_at(3), Some(chain3));
        log.compact_to(2);
        assert_eq!(log.term_at(2), Some(1));
        assert_eq!(log.term_at(1), None);
        assert_eq!(log.get(3).unwrap().term(), 2);
        assert_eq!(log.entries_from(3, 10).len(), 2);
        assert_eq!(log.chain_at(3), Some(chain3));
        // A snapshot matching entry 3 keeps entry 4.
        log.reset_to(3, 2, chain3);
        assert_eq!((log.snapshot_index(), log.last_index()), (3, 4));
        // One that does not match replaces the log.
        log.reset_to(10, 7, 99);
        assert_eq!((log.last_index(), log.last_term()), (10, 7));
    }

    #[test]
    fn iter_from_starts_at_its_index_wherever_the_snapshot_is() {
        let mut log: RaftLog = RaftLog::new();
        for t in [1, 1, 2, 2, 3] {
            log.append(e(t));
        }
        let from = |log: &RaftLog, i| {
            log.iter_from(i)
                .map(|(i, e)| (i, e.term()))
                .collect::<Vec<_>>()
        };
        assert_eq!(from(&log, 4), vec![(4, 2), (5, 3)]);
        assert_eq!(from(&log, 6), vec![]);
        assert_eq!(from(&log, 99), vec![]);
        log.compact_to(2);
        assert_eq!(from(&log, 0), vec![(3, 2), (4, 2), (5, 3)]);
        assert_eq!(from(&log, 5), vec![(5, 3)]);
        assert_eq!(log.iter().count(), 3);
    }

    #[test]
    fn up_to_date_compares_term_then_length() {
        let mut log: RaftLog = RaftLog::new();
        log.append(e(1));
        log.append(e(2));
        assert!(log.is_up_to_date(1, 3));
        assert!(log.is_up_to_date(2, 2));
        assert!(!log.is_up_to_date(5, 1));
        assert!(!log.is_up_to_date(1, 2));
    }
}
