//! A map from log index to what a checker remembers there.
//!
//! Log indexes are dense (1, 2, 3, …), so slots indexed by them answer in
//! constant time where a tree would walk a path as long as the log's
//! logarithm after every event. The slots come in chunks of fixed size,
//! allocated as the log grows: one vector doubling as it grew copied
//! everything it held at each doubling, and held the old and the new copy
//! at once (a tenth of a long run's memory peak was that). An index far
//! above the others — a corrupted snapshot point under the `no-checksum`
//! bug can be anything — goes to a tree instead, so that memory follows
//! what is stored, not the largest index seen.

use std::collections::BTreeMap;

/// How far past the dense part an index may land and still extend it.
const MAX_GAP: u64 = 1 << 16;

/// Slots per chunk of the dense part.
const CHUNK: u64 = 1 << 12;

#[derive(Debug, Clone)]
pub struct ByIndex<T> {
    /// Index `i` is at `dense[i / CHUNK][i % CHUNK]`.
    dense: Vec<Box<[Option<T>]>>,
    sparse: BTreeMap<u64, T>,
}

impl<T> Default for ByIndex<T> {
    fn default() -> Self {
        Self {
            dense: Vec::new(),
            sparse: BTreeMap::new(),
        }
    }
}

impl<T> ByIndex<T> {
    /// The indexes below this are in the dense part.
    fn dense_end(&self) -> u64 {
        self.dense.len() as u64 * CHUNK
    }

    fn slot(&self, index: u64) -> Option<&Option<T>> {
        let chunk = self.dense.get((index / CHUNK) as usize)?;
        Some(&chunk[(index % CHUNK) as usize])
    }

    pub fn get(&self, index: u64) -> Option<&T> {
        match self.slot(index) {
            Some(Some(value)) => Some(value),
            _ => self.sparse.get(&index),
        }
    }

    /// The value at `index`, made with `make` if there is none.
    pub fn get_or_insert_with(&mut self, index: u64, make: impl FnOnce() -> T) -> &mut T {
        let end = self.dense_end();
        if index >= end && index - end >= MAX_GAP {
            return self.sparse.entry(index).or_insert_with(make);
        }
        if index >= end {
            while self.dense_end() <= index {
                self.dense.push((0..CHUNK).map(|_| None).collect());
            }
            // Values kept in the tree while their index was far out now
            // belong to the chunks.
            let end = self.dense_end();
            while let Some(entry) = self.sparse.first_entry().filter(|e| *e.key() < end) {
                let (k, value) = entry.remove_entry();
                self.dense[(k / CHUNK) as usize][(k % CHUNK) as usize] = Some(value);
            }
        }
        self.dense[(index / CHUNK) as usize][(index % CHUNK) as usize].get_or_insert_with(make)
    }

    /// The highest index holding a value.
    pub fn last_index(&self) -> Option<u64> {
        let dense = self.dense.iter().enumerate().rev().find_map(|(c, chunk)| {
            let i = chunk.iter().rposition(Option::is_some)?;
            Some(c as u64 * CHUNK + i as u64)
        });
        let sparse = self.sparse.keys().next_back().copied();
        dense.max(sparse)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_indexes_are_dense_far_ones_sparse_and_both_are_found() {
        let mut m: ByIndex<u64> = ByIndex::default();
        assert_eq!(m.get(3), None);
        *m.get_or_insert_with(3, || 30) += 1;
        assert_eq!(m.get(3), Some(&31));
        assert_eq!(
            *m.get_or_insert_with(3, || 0),
            31,
            "an existing value is kept"
        );
        let far = u64::MAX - 5;
        m.get_or_insert_with(far, || 7);
        assert_eq!(m.get(far), Some(&7));
        assert!(m.dense.len() <= 1, "a far index does not grow the chunks");
        assert_eq!(m.last_index(), Some(far));
        // A value stored sparsely moves into the vector once it reaches it.
        let mid = 3 + MAX_GAP + 10;
        m.get_or_insert_with(mid, || 5);
        assert_eq!(m.get(mid), Some(&5));
        m.get_or_insert_with(mid - 20, || 4);
        m.get_or_insert_with(mid + 1, || 6);
        assert_eq!(
            (m.get(mid - 20), m.get(mid), m.get(mid + 1)),
            (Some(&4), Some(&5), Some(&6))
        );
        assert_eq!(m.sparse.keys().collect::<Vec<_>>(), [&far]);
        assert_eq!(m.get(4), None);
        // Across chunk boundaries, and the last index found in them.
        let mut c: ByIndex<u64> = ByIndex::default();
        for i in [CHUNK - 1, CHUNK, 3 * CHUNK + 5] {
            c.get_or_insert_with(i, || i);
        }
        assert_eq!(
            (c.get(CHUNK - 1), c.get(CHUNK)),
            (Some(&(CHUNK - 1)), Some(&CHUNK))
        );
        assert_eq!(
            (c.get(CHUNK + 1), c.get(3 * CHUNK + 5)),
            (None, Some(&(3 * CHUNK + 5)))
        );
        assert_eq!(c.last_index(), Some(3 * CHUNK + 5));
        assert_eq!(c.dense.len(), 4);
    }
}
