//! Per-node durable storage with crash semantics.
//!
//! A node writes keyed byte strings; a write is visible to the node at once but
//! becomes durable only at the next `sync`, as with a page cache and `fsync`.
//! A crash may lose every write since the last sync; a restarted node sees only
//! what was durable.

use std::collections::BTreeMap;

/// The node's view of its storage is the only map kept: a write changes it
/// at once and logs what it replaced, so that a crash can take back the
/// writes the disk never got, newest first. A sync only forgets that log.
/// (Keeping a second, durable map beside the view cost a map update per
/// write at every sync, on the path of every Raft append.)
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Storage {
    /// Durable state with the unsynced writes applied.
    view: BTreeMap<String, Vec<u8>>,
    /// Unsynced writes in the order they were made, newest last: each
    /// key with the value it had in the view before (`None`: absent).
    undo: Vec<(String, Option<Vec<u8>>)>,
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
        let before = self.view.insert(key.clone(), value);
        self.undo.push((key, before));
    }

    /// Removes `key`. Deleting a key the disk still holds counts as a write
    /// even when an unsynced delete already hid it (the disk gets both).
    pub fn delete(&mut self, key: &str) {
        match self.view.remove_entry(key) {
            Some((key, before)) => self.undo.push((key, Some(before))),
            None => {
                // Absent from the view; on disk if the first unsynced write
                // to it found it there.
                let on_disk = self
                    .undo
                    .iter()
                    .find(|(k, _)| k == key)
                    .is_some_and(|(_, before)| before.is_some());
                if on_disk {
                    self.undo.push((key.to_string(), None));
                }
            }
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
        self.undo.clear();
        self.syncs += 1;
    }

    /// Number of unsynced writes.
    pub fn unsynced(&self) -> usize {
        self.undo.len()
    }

    pub fn syncs(&self) -> u64 {
        self.syncs
    }

    /// Takes back unsynced writes after the first `keep`, newest first.
    fn undo_after(
        view: &mut BTreeMap<String, Vec<u8>>,
        undo: &mut Vec<(String, Option<Vec<u8>>)>,
        keep: usize,
    ) {
        let keep = keep.min(undo.len());
        for (key, before) in undo.drain(keep..).rev() {
            match before {
                Some(value) => view.insert(key, value),
                None => view.remove(&key),
            };
        }
    }

    /// What survives a crash: the durable state plus the first `keep` pending
    /// writes (a torn tail: the disk wrote some of the queue before power went).
    pub(crate) fn crash(&mut self, keep: usize) {
        Self::undo_after(&mut self.view, &mut self.undo, keep);
        self.sync();
    }

    /// Loses everything, durable or not (a disk replaced by an empty one).
    pub(crate) fn wipe(&mut self) {
        *self = Storage::new();
    }

    /// The durable contents, for inspection by tests and checkers.
    pub fn durable(&self) -> BTreeMap<String, Vec<u8>> {
        let mut view = self.view.clone();
        let mut undo = self.undo.clone();
        Self::undo_after(&mut view, &mut undo, 0);
        view
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

    #[test]
    fn a_torn_crash_keeps_exactly_a_prefix_whatever_the_writes_did() {
        // Writes over one key, a delete twice, a key written then deleted:
        // after keeping the first k, the storage holds what k writes made.
        let ops: [(&str, Option<u8>); 7] = [
            ("a", Some(2)),
            ("b", None),
            ("b", None),
            ("c", Some(1)),
            ("a", Some(3)),
            ("c", None),
            ("d", Some(4)),
        ];
        let base = || {
            let mut s = Storage::new();
            s.write("a", vec![1]);
            s.write("b", vec![1]);
            s.sync();
            s
        };
        let mut written = base();
        let mut states = vec![written.durable()];
        let mut counts = vec![0];
        for (key, value) in ops {
            match value {
                Some(v) => written.write(key, vec![v]),
                None => written.delete(key),
            }
            states.push(written.view.clone());
            counts.push(written.unsynced());
        }
        // The second delete of `b` counts (the disk holds `b`), deleting `c`,
        // never synced, counts as a write too: every operation is one.
        assert_eq!(counts, [0, 1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(written.durable(), states[0]);
        for (keep, state) in states.iter().enumerate() {
            let mut s = written.clone();
            s.crash(keep);
            assert_eq!(&s.view, state, "keeping {keep} writes");
            assert_eq!(&s.durable(), state);
            assert_eq!(s.unsynced(), 0);
        }
    }
}
