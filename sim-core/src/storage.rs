//! Per-node durable storage with crash semantics.
//!
//! A node keeps two kinds of things on its disk: keyed byte strings
//! (`write`, `delete`, `read`, `scan`) and append-only record logs, one per
//! name (`log_append`, `log_put_with`, `log_truncate`,
//! `log_discard_through`, `log_get`, `log_records`), each a contiguous run
//! of records numbered from its first index. A write of either kind is
//! visible to the node at once but becomes durable only at the next `sync`,
//! as with a page cache and `fsync`. A crash may lose every write since the
//! last sync, or keep only a prefix of them in the order they were made (a
//! torn flush); a restarted node sees only what was durable.
//!
//! Logs exist because a replicated log written one key per entry paid for a
//! formatted key, an allocation per value and a tree insert on every append,
//! and one key deletion per entry at compaction: a log appends into one
//! buffer, and drops a compacted prefix in one move.

use std::collections::BTreeMap;

/// Records stored back to back in one buffer: appending one costs no
/// allocation of its own (the buffers grow by doubling).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Records {
    bytes: Vec<u8>,
    /// Where each record ends in `bytes`.
    ends: Vec<usize>,
}

impl Records {
    fn len(&self) -> usize {
        self.ends.len()
    }

    /// Where record `k` starts in `bytes` (`k == len`: the end).
    fn start(&self, k: usize) -> usize {
        if k == 0 {
            0
        } else {
            self.ends[k - 1]
        }
    }

    fn get(&self, k: usize) -> &[u8] {
        &self.bytes[self.start(k)..self.ends[k]]
    }

    fn push_with(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        write(&mut self.bytes);
        self.ends.push(self.bytes.len());
    }

    fn pop(&mut self) {
        self.ends.pop();
        self.bytes.truncate(self.start(self.ends.len()));
    }

    /// Removes the records from `k` on and returns them.
    fn split_off(&mut self, k: usize) -> Records {
        let at = self.start(k);
        let ends = self.ends.drain(k..).map(|end| end - at).collect();
        Records {
            bytes: self.bytes.split_off(at),
            ends,
        }
    }

    /// Removes the first `k` records and returns them. The records kept move
    /// to the front of the same buffer, which keeps its capacity: a log that
    /// is compacted every so often does not grow its buffer anew each time.
    fn split_front(&mut self, k: usize) -> Records {
        let at = self.start(k);
        let removed = Records {
            bytes: self.bytes.drain(..at).collect(),
            ends: self.ends.drain(..k).collect(),
        };
        for end in &mut self.ends {
            *end -= at;
        }
        removed
    }

    /// Puts `front` before the records held.
    fn prepend(&mut self, mut front: Records) {
        front.append(std::mem::take(self));
        *self = front;
    }

    /// Puts `back` after the records held.
    fn append(&mut self, back: Records) {
        let at = self.bytes.len();
        self.bytes.extend_from_slice(&back.bytes);
        self.ends.extend(back.ends.iter().map(|end| end + at));
    }
}

/// One named log: records numbered `first`, `first + 1`, … without gaps.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RecordLog {
    name: String,
    first: u64,
    records: Records,
}

impl RecordLog {
    /// The index the next appended record gets.
    fn end(&self) -> u64 {
        self.first + self.records.len() as u64
    }
}

/// What an unsynced write replaced, to take it back if a crash loses it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Undo {
    /// A key and its value before (`None`: absent).
    Key(String, Option<Vec<u8>>),
    /// A record appended to the log at this position of `logs`.
    Appended(usize),
    /// Records removed from a log's end, and its first index before.
    Truncated(usize, u64, Records),
    /// Records removed from a log's front, and its first index before.
    Discarded(usize, u64, Records),
}

/// The node's view of its storage is the only state kept: a write changes it
/// at once and logs what it replaced, so that a crash can take back the
/// writes the disk never got, newest first. A sync only forgets that log.
/// (Keeping a second, durable copy beside the view cost a copy per write at
/// every sync, on the path of every Raft append.)
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Storage {
    /// Durable keys with the unsynced writes applied.
    view: BTreeMap<String, Vec<u8>>,
    /// The logs, in the order they were first written: a node keeps one or
    /// two, so finding one by name is a short walk.
    logs: Vec<RecordLog>,
    /// Unsynced writes in the order they were made, newest last.
    undo: Vec<Undo>,
    syncs: u64,
}

/// The first index of a log never written to.
pub const FIRST_LOG_INDEX: u64 = 1;

/// What a log never written to reads from.
static NO_RECORDS: Records = Records {
    bytes: Vec::new(),
    ends: Vec::new(),
};

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
        self.undo.push(Undo::Key(key, before));
    }

    /// Removes `key`. Deleting a key the disk still holds counts as a write
    /// even when an unsynced delete already hid it (the disk gets both).
    pub fn delete(&mut self, key: &str) {
        match self.view.remove_entry(key) {
            Some((key, before)) => self.undo.push(Undo::Key(key, Some(before))),
            None => {
                // Absent from the view; on disk if the first unsynced write
                // to it found it there.
                let on_disk = self.undo.iter().find_map(|u| match u {
                    Undo::Key(k, before) if k == key => Some(before.is_some()),
                    _ => None,
                });
                if on_disk == Some(true) {
                    self.undo.push(Undo::Key(key.to_string(), None));
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

    fn log(&self, name: &str) -> Option<&RecordLog> {
        self.logs.iter().find(|log| log.name == name)
    }

    /// Where log `name` is in `logs`, made empty if it was never written.
    fn log_position(&mut self, name: &str) -> usize {
        match self.logs.iter().position(|log| log.name == name) {
            Some(at) => at,
            None => {
                self.logs.push(RecordLog {
                    name: name.to_string(),
                    first: FIRST_LOG_INDEX,
                    records: Records::default(),
                });
                self.logs.len() - 1
            }
        }
    }

    /// The index of log `name`'s first record (of its next one, if empty).
    pub fn log_first(&self, name: &str) -> u64 {
        self.log(name).map_or(FIRST_LOG_INDEX, |log| log.first)
    }

    /// The index log `name`'s next appended record gets.
    pub fn log_end(&self, name: &str) -> u64 {
        self.log(name).map_or(FIRST_LOG_INDEX, RecordLog::end)
    }

    /// Record `index` of log `name`, if the log holds it.
    pub fn log_get(&self, name: &str, index: u64) -> Option<&[u8]> {
        let log = self.log(name)?;
        let k = usize::try_from(index.checked_sub(log.first)?).ok()?;
        (k < log.records.len()).then(|| log.records.get(k))
    }

    /// The records of log `name` from index `from` on, in order, with their
    /// indexes.
    pub fn log_records<'a>(
        &'a self,
        name: &str,
        from: u64,
    ) -> impl Iterator<Item = (u64, &'a [u8])> + 'a {
        let (first, records) = self
            .log(name)
            .map_or((FIRST_LOG_INDEX, &NO_RECORDS), |log| {
                (log.first, &log.records)
            });
        let skip = usize::try_from(from.saturating_sub(first)).unwrap_or(usize::MAX);
        (skip.min(records.len())..records.len()).map(move |k| (first + k as u64, records.get(k)))
    }

    /// Appends one record to log `name`, the bytes `write` puts in the
    /// buffer it is given (which holds the log's earlier records: `write`
    /// only appends). Returns the record's index.
    pub fn log_append_with(&mut self, name: &str, write: impl FnOnce(&mut Vec<u8>)) -> u64 {
        let at = self.log_position(name);
        self.append_to(at, write)
    }

    pub fn log_append(&mut self, name: &str, record: &[u8]) -> u64 {
        self.log_append_with(name, |out| out.extend_from_slice(record))
    }

    /// Writes record `index` of log `name` as its last, the bytes `write`
    /// appends: records from `index` on are removed first (a truncation),
    /// and a log that ends before `index` is emptied to start there (a
    /// discard), each a write of its own. With `index` the log's end, this
    /// is `log_append_with`, at the cost of one lookup of the log.
    pub fn log_put_with(&mut self, name: &str, index: u64, write: impl FnOnce(&mut Vec<u8>)) {
        let at = self.log_position(name);
        let end = self.logs[at].end();
        if index < end {
            self.truncate(at, index);
        } else if index > end {
            self.discard_through(at, index - 1);
        }
        self.append_to(at, write);
    }

    /// Removes log `name`'s records at `from` and after: the log then ends
    /// at `from` (one that started after `from` is emptied and starts there).
    /// One write, however many records it removes.
    pub fn log_truncate(&mut self, name: &str, from: u64) {
        if from < self.log_end(name) {
            let at = self.log_position(name);
            self.truncate(at, from);
        }
    }

    /// Removes log `name`'s records up to `through` included: the log then
    /// starts at `through + 1` (one that ended before is emptied, and its
    /// next record gets that index). One write, however many records it
    /// removes; the records kept move to the front of the log's buffer.
    pub fn log_discard_through(&mut self, name: &str, through: u64) {
        if through.saturating_add(1) > self.log_first(name) {
            let at = self.log_position(name);
            self.discard_through(at, through);
        }
    }

    fn append_to(&mut self, at: usize, write: impl FnOnce(&mut Vec<u8>)) -> u64 {
        let log = &mut self.logs[at];
        let index = log.end();
        log.records.push_with(write);
        self.undo.push(Undo::Appended(at));
        index
    }

    /// `log_truncate` of the log at `at`, with `from` below its end.
    fn truncate(&mut self, at: usize, from: u64) {
        let log = &mut self.logs[at];
        let first = log.first;
        let kept = usize::try_from(from.saturating_sub(first)).expect("below the log's end");
        let removed = log.records.split_off(kept);
        log.first = first.min(from);
        self.undo.push(Undo::Truncated(at, first, removed));
    }

    /// `log_discard_through` of the log at `at`, with `through` at or past
    /// its first index.
    fn discard_through(&mut self, at: usize, through: u64) {
        let log = &mut self.logs[at];
        let (first, next) = (log.first, through.saturating_add(1));
        let held = log.records.len();
        let dropped = usize::try_from(next - first).map_or(held, |n| n.min(held));
        let removed = log.records.split_front(dropped);
        log.first = next;
        self.undo.push(Undo::Discarded(at, first, removed));
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

    /// Takes back the unsynced writes after the first `keep`, newest first.
    fn take_back_after(&mut self, keep: usize) {
        while self.undo.len() > keep {
            match self.undo.pop().expect("more than `keep` writes") {
                Undo::Key(key, Some(value)) => {
                    self.view.insert(key, value);
                }
                Undo::Key(key, None) => {
                    self.view.remove(&key);
                }
                Undo::Appended(at) => self.logs[at].records.pop(),
                Undo::Truncated(at, first, removed) => {
                    let log = &mut self.logs[at];
                    log.records.append(removed);
                    log.first = first;
                }
                Undo::Discarded(at, first, removed) => {
                    let log = &mut self.logs[at];
                    log.records.prepend(removed);
                    log.first = first;
                }
            }
        }
    }

    /// What survives a crash: the durable state plus the first `keep` pending
    /// writes (a torn tail: the disk wrote some of the queue before power went).
    pub(crate) fn crash(&mut self, keep: usize) {
        self.take_back_after(keep);
        self.sync();
    }

    /// Loses everything, durable or not (a disk replaced by an empty one).
    pub(crate) fn wipe(&mut self) {
        *self = Storage::new();
    }

    /// The durable contents alone (what a crash now would leave), for
    /// inspection by tests and checkers.
    pub fn durable(&self) -> Storage {
        let mut durable = self.clone();
        durable.take_back_after(0);
        durable
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Everything a node can read back: keys, and log `l` with its first index.
    type Contents = (BTreeMap<String, Vec<u8>>, u64, Vec<(u64, Vec<u8>)>);

    fn contents(s: &Storage) -> Contents {
        let records = s.log_records("l", 0).map(|(i, r)| (i, r.to_vec()));
        (s.view.clone(), s.log_first("l"), records.collect())
    }

    fn log(s: &Storage) -> Vec<(u64, u8)> {
        s.log_records("l", 0).map(|(i, r)| (i, r[0])).collect()
    }

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
    fn a_crash_loses_unsynced_appends_and_keeps_synced_ones() {
        let mut s = Storage::new();
        assert_eq!(s.log_end("l"), FIRST_LOG_INDEX);
        assert_eq!(s.log_append("l", &[1]), 1);
        assert_eq!(s.log_append_with("l", |out| out.extend([2, 2])), 2);
        s.sync();
        assert_eq!(s.log_append("l", &[3]), 3);
        assert_eq!(s.log_get("l", 2), Some(&[2, 2][..]));
        assert_eq!(s.log_get("l", 3), Some(&[3][..]));
        assert_eq!(s.unsynced(), 1);
        s.crash(0);
        assert_eq!(log(&s), [(1, 1), (2, 2)]);
        assert_eq!(s.log_get("l", 3), None);
        assert_eq!(s.log_end("l"), 3);
        assert_eq!(s.log_append("l", &[4]), 3, "the lost index is reused");
        // Logs and keys are separate names; another log is another run.
        assert_eq!(s.log_append("m", &[9]), 1);
        assert_eq!(s.read("l"), None);
    }

    #[test]
    fn truncation_ends_the_log_where_it_says_and_a_crash_undoes_it() {
        let mut s = Storage::new();
        for r in 1..=5 {
            s.log_append("l", &[r]);
        }
        s.sync();
        s.log_truncate("l", 9); // past the end: nothing to do, no write
        assert_eq!(s.unsynced(), 0);
        s.log_truncate("l", 3);
        assert_eq!(log(&s), [(1, 1), (2, 2)]);
        assert_eq!(s.unsynced(), 1, "one write for the whole tail");
        assert_eq!(s.log_append("l", &[7]), 3);
        s.crash(0);
        assert_eq!(log(&s), [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5)]);
        // Below the first index: the log is emptied and starts there.
        s.log_discard_through("l", 2);
        s.log_truncate("l", 1);
        assert_eq!((s.log_first("l"), s.log_end("l")), (1, 1));
        s.crash(1);
        assert_eq!(log(&s), [(3, 3), (4, 4), (5, 5)]);
    }

    #[test]
    fn a_discarded_prefix_is_gone_and_the_next_index_follows_it() {
        let mut s = Storage::new();
        for r in 1..=5 {
            s.log_append("l", &[r]);
        }
        s.log_discard_through("l", 0); // nothing below the first record
        assert_eq!(s.unsynced(), 5);
        s.sync();
        s.log_discard_through("l", 3);
        assert_eq!(log(&s), [(4, 4), (5, 5)]);
        assert_eq!(s.log_get("l", 3), None);
        assert_eq!(s.log_records("l", 5).count(), 1);
        s.crash(0);
        assert_eq!(log(&s).len(), 5, "an unsynced discard is taken back");
        // Past the end: the log is emptied and goes on after `through`.
        s.log_discard_through("l", 9);
        assert_eq!((s.log_first("l"), s.log_end("l")), (10, 10));
        assert_eq!(s.log_append("l", &[10]), 10);
        s.sync();
        s.crash(0);
        assert_eq!(log(&s), [(10, 10)]);
        s.log_discard_through("l", u64::MAX); // a corrupt index does not overflow
        assert_eq!(s.log_end("l"), u64::MAX);
    }

    #[test]
    fn a_put_record_becomes_the_last_whatever_the_log_held() {
        let mut s = Storage::new();
        s.log_put_with("l", 1, |out| out.push(1));
        s.log_put_with("l", 2, |out| out.push(2));
        assert_eq!(s.unsynced(), 2, "at the end: an append and nothing else");
        s.log_put_with("l", 3, |out| out.push(3));
        s.log_put_with("l", 2, |out| out.push(4)); // a truncation, then the record
        assert_eq!(log(&s), [(1, 1), (2, 4)]);
        assert_eq!(s.unsynced(), 5);
        s.log_put_with("l", 7, |out| out.push(7)); // a discard, then the record
        assert_eq!(log(&s), [(7, 7)]);
        assert_eq!(s.unsynced(), 7);
        s.crash(6);
        assert_eq!((s.log_first("l"), s.log_end("l")), (7, 7));
    }

    #[test]
    fn a_torn_crash_keeps_exactly_a_prefix_whatever_the_writes_did() {
        // Writes over one key, a delete twice, a key written then deleted,
        // appends, truncations and discards of a log, interleaved: after
        // keeping the first k, the storage holds what k writes made.
        enum Op {
            Put(&'static str, u8),
            Delete(&'static str),
            Append(u8),
            Truncate(u64),
            Discard(u64),
        }
        use Op::*;
        let ops = [
            Put("a", 2),
            Append(4),
            Delete("b"),
            Truncate(2),
            Delete("b"),
            Put("c", 1),
            Append(5),
            Discard(1),
            Put("a", 3),
            Append(6),
            Delete("c"),
            Discard(7),
            Put("d", 4),
            Append(8),
            Truncate(0),
        ];
        let base = || {
            let mut s = Storage::new();
            s.write("a", vec![1]);
            s.write("b", vec![1]);
            for r in 1..=3 {
                s.log_append("l", &[r]);
            }
            s.sync();
            s
        };
        let mut written = base();
        let mut states = vec![contents(&written.durable())];
        let mut counts = vec![0];
        let n = ops.len();
        for op in ops {
            match op {
                Put(key, v) => written.write(key, vec![v]),
                Delete(key) => written.delete(key),
                Append(r) => _ = written.log_append("l", &[r]),
                Truncate(from) => written.log_truncate("l", from),
                Discard(through) => written.log_discard_through("l", through),
            }
            states.push(contents(&written));
            counts.push(written.unsynced());
        }
        // The second delete of `b` counts (the disk holds `b`), deleting `c`,
        // never synced, counts as a write too: every operation is one.
        assert_eq!(counts, (0..=n).collect::<Vec<_>>());
        assert_eq!(contents(&written.durable()), states[0]);
        assert_eq!(contents(&base()), states[0]);
        for (keep, state) in states.iter().enumerate() {
            let mut s = written.clone();
            s.crash(keep);
            assert_eq!(&contents(&s), state, "keeping {keep} writes");
            assert_eq!(&contents(&s.durable()), state);
            assert_eq!(s.unsynced(), 0);
        }
    }
}
