//! A map from log index to what a checker remembers there.
//!
//! Log indexes are dense (1, 2, 3, …), so a vector indexed by them answers
//! in constant time where a tree would walk a path as long as the log's
//! logarithm after every event. An index far above the others — a
//! corrupted snapshot point under the `no-checksum` bug can be anything —
//! goes to a tree instead, so that memory follows what is stored, not the
//! largest index seen.

use std::collections::BTreeMap;

/// How far past the dense part an index may land and still extend it.
const MAX_GAP: u64 = 1 << 16;

#[derive(Debug, Clone)]
pub struct ByIndex<T> {
    dense: Vec<Option<T>>,
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
    pub fn get(&self, index: u64) -> Option<&T> {
        match self.dense.get(index as usize) {
            Some(Some(value)) => Some(value),
            _ => self.sparse.get(&index),
        }
    }

    /// The value at `index`, made with `make` if there is none.
    pub fn get_or_insert_with(&mut self, index: u64, make: impl FnOnce() -> T) -> &mut T {
        let len = self.dense.len() as u64;
        if index >= len && index - len >= MAX_GAP {
            return self.sparse.entry(index).or_insert_with(make);
        }
        if index >= len {
            self.dense.resize_with(index as usize + 1, || None);
            if self.sparse.is_empty() {
                return self.dense[index as usize].get_or_insert_with(make);
            }
            // Values kept in the tree while their index was far out now
            // belong to the vector.
            let moved = self
                .sparse
                .range(..=index)
                .map(|(&k, _)| k)
                .collect::<Vec<_>>();
            for k in moved {
                self.dense[k as usize] = self.sparse.remove(&k);
            }
        }
        self.dense[index as usize].get_or_insert_with(make)
    }

    /// The highest index holding a value.
    pub fn last_index(&self) -> Option<u64> {
        let dense = self
            .dense
            .iter()
            .rposition(Option::is_some)
            .map(|i| i as u64);
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
        assert!(m.dense.len() < 10, "a far index does not grow the vector");
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
    }
}
