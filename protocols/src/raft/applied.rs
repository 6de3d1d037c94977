//! The applied trace: a verification ghost of each replica, every entry
//! (or snapshot) it applied in this incarnation, in order, read by the
//! safety checker (State Machine Safety).
//!
//! The checker reads it after every event from where it stopped and says
//! how far it has read ([`AppliedTrace::mark_read`]); the replica forgets
//! what was read the next time its buffer is full, instead of growing it.
//! So the trace holds about what one event applied, not the whole run: it
//! used to grow by 40 bytes per committed entry on every replica, for ever
//! (at 5,000 clients a few hundred MB over a bench run), and its
//! reallocations were a cost of their own. Positions count from the
//! incarnation's first entry, forgotten ones included, so the checker's
//! cursor never moves because the trace did. A replica no checker reads
//! keeps everything, as before.

use std::cell::Cell;

/// One entry (or snapshot) a node applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    pub index: u64,
    pub term: u64,
    /// Digest of the entry; 0 for a snapshot.
    pub digest: u64,
    /// The log's chain hash at `index`.
    pub chain: u64,
    /// The state machine jumped here by installing a snapshot.
    pub snapshot: bool,
}

#[derive(Debug, Default)]
pub struct AppliedTrace {
    /// The entries from position `forgotten` on.
    kept: Vec<Applied>,
    /// How many entries at the front were read and forgotten.
    forgotten: usize,
    /// How far a checker has read: the entries before it may go. Set
    /// through a shared reference, since checkers only read the simulation.
    read: Cell<usize>,
}

impl AppliedTrace {
    /// Records one more applied entry. A full buffer first drops what was
    /// read; only unread entries make it grow.
    pub fn push(&mut self, applied: Applied) {
        if self.kept.len() == self.kept.capacity() {
            let read = (self.read.get().saturating_sub(self.forgotten)).min(self.kept.len());
            self.kept.drain(..read);
            self.forgotten += read;
        }
        self.kept.push(applied);
    }

    /// How many entries this incarnation applied, forgotten ones included:
    /// the position after the last.
    pub fn len(&self) -> usize {
        self.forgotten + self.kept.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entries from position `from` on; `None` if some of them were
    /// forgotten, read by someone else that looked at events this reader
    /// did not.
    pub fn since(&self, from: usize) -> Option<&[Applied]> {
        let start = from.checked_sub(self.forgotten)?;
        Some(&self.kept[start.min(self.kept.len())..])
    }

    /// The entries before position `upto` were read and are no longer needed.
    pub fn mark_read(&self, upto: usize) {
        self.read.set(upto.min(self.len()));
    }

    /// How many entries are held now (for tests).
    pub fn held(&self) -> usize {
        self.kept.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(index: u64) -> Applied {
        Applied {
            index,
            term: 1,
            digest: index * 7,
            chain: index * 11,
            snapshot: false,
        }
    }

    #[test]
    fn read_entries_are_forgotten_unread_ones_kept_and_positions_stay() {
        let mut trace = AppliedTrace::default();
        for i in 1..=10 {
            trace.push(entry(i));
        }
        assert_eq!(trace.since(0).unwrap().len(), 10);
        trace.mark_read(10);
        let mut read = 10;
        for i in 11..=10_000 {
            trace.push(entry(i));
            // A reader after every push: the trace never holds much more.
            let new = trace.since(read).expect("nothing unread is forgotten");
            assert_eq!(new.iter().map(|a| a.index).collect::<Vec<_>>(), [i]);
            read = trace.len();
            trace.mark_read(read);
            assert!(trace.held() <= 16, "{} held", trace.held());
        }
        assert_eq!(trace.len(), 10_000);
        assert_eq!(trace.since(0), None, "the start was forgotten");
    }

    #[test]
    fn without_a_reader_everything_is_kept() {
        let mut trace = AppliedTrace::default();
        for i in 1..=1000 {
            trace.push(entry(i));
        }
        assert_eq!(trace.since(0).unwrap().len(), 1000);
        // Read up to 500: later pushes may drop those, never the rest.
        trace.mark_read(500);
        for i in 1001..=5000 {
            trace.push(entry(i));
        }
        let rest = trace.since(500).unwrap();
        assert_eq!((rest[0].index, rest.len()), (501, 4500));
    }
}
