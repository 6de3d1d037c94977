//! Per-node durable storage with crash semantics.
//!
//! A node writes keyed byte strings; a write is visible to the node at once but
//! becomes durable only at the next `sync`, as with a page cache and `fsync`.
//! A crash may lose every write since the last sync; a restarted node sees only
//! what was durable.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A pending (unsynced) change to one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum Pending {
    Put(Vec<u8>),
    Delete,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Storage {
    durable: BTreeMap<String, Vec<u8>>,
    /// Unsynced writes in the order they were made, newest last.
    pending: Vec<(String, Pending)>,
    /// The node's view: durable state with pending writes applied.
    view: BTreeMap<String, Vec<u8>>,
    syncs: u64,
}

impl Storage {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn read(&self, key: &str) -> Option<&[u8]> {
        self.view.get(key).map(Vec::as_slice)
    }

    pub fn write(&mut self, key: impl Into<String>, value: Vec<u8>) {
        let key = key.into();
        self.view.insert(key.clone(), value.clone());
        self.pending.push((key, Pending::Put(value)));
    }

    pub fn delete(&mut self, key: &str) {
        if self.view.remove(key).is_some() || self.durable.contains_key(key) {
            self.pending.push((key.to_string(), Pending::Delete));
        }
    }

    /// Keys starting with `prefix`, in order, with their values.
    pub fn scan<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a [u8])> + 'a {
        self.view
            .range(prefix.to_string()..)
            .take_while(move |(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    /// Makes every write so far durable.
    pub fn sync(&mut self) {
        for (key, change) in self.pending.drain(..) {
            match change {
                Pending::Put(v) => {
                    self.durable.insert(key, v);
                }
                Pending::Delete => {
                    self.durable.remove(&key);
                }
            }
        }
        self.syncs += 1;
    }

    /// Number of unsynced writes.
    pub fn unsynced(&self) -> usize {
        self.pending.len()
    }

    pub fn syncs(&self) -> u64 {
        self.syncs
    }

    /// What survives a crash: the durable state plus the first `keep` pending
    /// writes (a torn tail: the disk wrote some of the queue before power went).
    pub(crate) fn crash(&mut self, keep: usize) {
        let keep = keep.min(self.pending.len());
        self.pending.truncate(keep);
        self.sync();
        self.view = self.durable.clone();
    }

    /// Loses everything, durable or not (a disk replaced by an empty one).
    pub(crate) fn wipe(&mut self) {
        *self = Storage::new();
    }

    /// The durable contents, for inspection by tests and checkers.
    pub fn durable(&self) -> &BTreeMap<String, Vec<u8>> {
        &self.durable
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsynced_writes_are_lost_on_crash_and_synced_ones_kept() {
        let mut s = Storage::new();
        s.write("a", b"1".to_vec());
        s.sync();
        s.write("b", b"2".to_vec());
        s.write("a", b"3".to_vec());
        assert_eq!(s.read("a"), Some(&b"3"[..]));
        s.crash(0);
        assert_eq!(s.read("a"), Some(&b"1"[..]));
        assert_eq!(s.read("b"), None);
    }

    #[test]
    fn torn_crash_keeps_a_prefix_of_pending_writes() {
        let mut s = Storage::new();
        s.write("a", b"1".to_vec());
        s.write("b", b"2".to_vec());
        s.crash(1);
        assert_eq!(s.read("a"), Some(&b"1"[..]));
        assert_eq!(s.read("b"), None);
    }

    #[test]
    fn deletes_and_scans() {
        let mut s = Storage::new();
        s.write("log/1", vec![1]);
        s.write("log/2", vec![2]);
        s.write("meta", vec![0]);
        s.sync();
        s.delete("log/1");
        let keys: Vec<&str> = s.scan("log/").map(|(k, _)| k).collect();
        assert_eq!(keys, ["log/2"]);
        s.crash(0);
        assert_eq!(s.scan("log/").count(), 2);
    }
}
