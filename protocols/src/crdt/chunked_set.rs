//! A sorted set of `u64` kept in shared chunks: the grow-only set of a
//! `crdt` replica.
//!
//! A replica's set grows for the whole run (every acknowledged `add` stays),
//! and its state is shared with the gossip messages in flight
//! (`Arc::make_mut` copies it while one is). One sorted vector made every
//! change cost O(set): an insert moved half the set, a merge of a small
//! delta built a new vector, a copy for `make_mut` copied every element.
//! Here the elements are cut into sorted chunks of at most [`MAX_CHUNK`],
//! each behind its own `Arc`: a lookup is two binary searches, an insert
//! moves at most one chunk's elements (and copies that chunk only if a
//! message in flight still shares it), and copying the whole set copies one
//! pointer per chunk. Many new elements at once (a whole state merged into
//! an empty or far-behind replica) are merged in one walk instead.

use std::sync::Arc;

/// A chunk splits in two past this many elements. Small enough that moving
/// one chunk's tail is cheap, large enough that the chunk list stays short
/// (a million elements are a few thousand pointers).
const MAX_CHUNK: usize = 1024;

/// Below this ratio of sizes, looking each element up beats walking the
/// larger set beside it.
const LOOKUP_RATIO: usize = 16;

#[derive(Debug, Clone, Default)]
pub struct ChunkedSet {
    /// Non-empty, sorted, and every chunk's elements below the next one's.
    chunks: Vec<Arc<Vec<u64>>>,
    len: usize,
}

impl ChunkedSet {
    /// The set of sorted, distinct `elements`.
    pub fn from_sorted(elements: impl IntoIterator<Item = u64>) -> Self {
        let mut set = Self::default();
        let mut chunk = Vec::new();
        for x in elements {
            debug_assert!(set.last().is_none_or(|l| l < x) && chunk.last() < Some(&x));
            chunk.push(x);
            // Half full, so that inserts find room before a split.
            if chunk.len() == MAX_CHUNK / 2 {
                set.push_chunk(std::mem::take(&mut chunk));
            }
        }
        if !chunk.is_empty() {
            set.push_chunk(chunk);
        }
        set
    }

    fn push_chunk(&mut self, chunk: Vec<u64>) {
        self.len += chunk.len();
        self.chunks.push(Arc::new(chunk));
    }

    fn last(&self) -> Option<u64> {
        self.chunks.last().and_then(|c| c.last().copied())
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The elements, ascending.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.chunks.iter().flat_map(|c| c.iter().copied())
    }

    /// The chunk `x` belongs in: the first whose last element is ≥ `x`, or
    /// the last chunk for an `x` above every element.
    fn chunk_for(&self, x: u64) -> usize {
        self.chunks
            .partition_point(|c| c.last().is_some_and(|&l| l < x))
            .min(self.chunks.len().saturating_sub(1))
    }

    pub fn contains(&self, x: u64) -> bool {
        self.chunks
            .get(self.chunk_for(x))
            .is_some_and(|c| c.binary_search(&x).is_ok())
    }

    /// Adds `x`; whether it was new.
    pub fn insert(&mut self, x: u64) -> bool {
        if self.chunks.is_empty() {
            self.push_chunk(vec![x]);
            return true;
        }
        let at = self.chunk_for(x);
        let Err(pos) = self.chunks[at].binary_search(&x) else {
            return false;
        };
        let chunk = Arc::make_mut(&mut self.chunks[at]);
        chunk.insert(pos, x);
        self.len += 1;
        if chunk.len() > MAX_CHUNK {
            let upper = chunk.split_off(chunk.len() / 2);
            self.chunks.insert(at + 1, Arc::new(upper));
        }
        true
    }

    /// The elements of `self` that `other` lacks, ascending: each looked up
    /// when `self` is much the smaller, else found in one walk beside `other`.
    pub fn absent_from<'a>(&'a self, other: &'a ChunkedSet) -> impl Iterator<Item = u64> + 'a {
        let lookup = self.len.saturating_mul(LOOKUP_RATIO) < other.len;
        let mut theirs = other.iter().peekable();
        self.iter().filter(move |&x| {
            if lookup {
                return !other.contains(x);
            }
            while theirs.next_if(|&y| y < x).is_some() {}
            theirs.peek() != Some(&x)
        })
    }

    /// Whether every element of `self` is in `other`.
    pub fn is_subset(&self, other: &ChunkedSet) -> bool {
        self.len <= other.len && self.absent_from(other).next().is_none()
    }

    /// Adds `new`: sorted elements none of which is in the set yet. A few
    /// are inserted where they belong; many are merged in one walk.
    pub fn insert_new(&mut self, new: &[u64]) {
        if new.len().saturating_mul(LOOKUP_RATIO) < self.len {
            for &x in new {
                self.insert(x);
            }
            return;
        }
        let merged: Vec<u64> = {
            let mut mine = self.iter().peekable();
            let mut theirs = new.iter().copied().peekable();
            std::iter::from_fn(|| match (mine.peek(), theirs.peek()) {
                (Some(&a), Some(&b)) if a < b => mine.next(),
                (Some(_), Some(_)) | (None, _) => theirs.next(),
                (Some(_), None) => mine.next(),
            })
            .collect()
        };
        *self = Self::from_sorted(merged);
    }
}

/// Equal elements, however they are cut into chunks.
impl PartialEq for ChunkedSet {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl Eq for ChunkedSet {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn of(elements: &BTreeSet<u64>) -> ChunkedSet {
        ChunkedSet::from_sorted(elements.iter().copied())
    }

    /// Every chunk non-empty and at most `MAX_CHUNK` long, chunks in order,
    /// and `len` their total.
    fn well_formed(set: &ChunkedSet) -> bool {
        let all: Vec<u64> = set.iter().collect();
        set.chunks
            .iter()
            .all(|c| !c.is_empty() && c.len() <= MAX_CHUNK)
            && all.windows(2).all(|w| w[0] < w[1])
            && all.len() == set.len
    }

    proptest! {
        /// Inserts one by one and in bulk agree with a `BTreeSet`, through
        /// chunk splits, and leave the set well formed.
        #[test]
        fn behaves_as_a_sorted_set(
            start in proptest::collection::btree_set(0u64..20_000, 0..3000),
            added in proptest::collection::vec(0u64..20_000, 0..3000),
        ) {
            let mut model = start.clone();
            let mut one_by_one = of(&start);
            for &x in &added {
                prop_assert_eq!(one_by_one.insert(x), model.insert(x));
            }
            prop_assert!(well_formed(&one_by_one));
            prop_assert!(one_by_one.iter().eq(model.iter().copied()));

            let new: Vec<u64> = model.difference(&start).copied().collect();
            let mut bulk = of(&start);
            prop_assert_eq!(bulk.absent_from(&of(&model)).count(), 0);
            prop_assert!(of(&model).absent_from(&bulk).eq(new.iter().copied()));
            bulk.insert_new(&new);
            prop_assert!(well_formed(&bulk));
            prop_assert_eq!(&bulk, &one_by_one);
            for x in [0, 1, 19_999, 20_000] {
                prop_assert_eq!(bulk.contains(x), model.contains(&x));
            }
        }

        /// Lookup and walk (chosen by size) give the same difference.
        #[test]
        fn subset_and_difference_match_btreeset(
            a in proptest::collection::btree_set(0u64..500, 0..400),
            b in proptest::collection::btree_set(0u64..500, 0..20),
        ) {
            let (sa, sb) = (of(&a), of(&b));
            prop_assert_eq!(sb.is_subset(&sa), b.is_subset(&a));
            prop_assert_eq!(sa.is_subset(&sb), a.is_subset(&b));
            prop_assert!(sb.absent_from(&sa).eq(b.difference(&a).copied()));
            prop_assert!(sa.absent_from(&sb).eq(a.difference(&b).copied()));
        }
    }

    #[test]
    fn a_copy_shares_chunks_until_one_changes() {
        let mut a = ChunkedSet::from_sorted(0..5000);
        let b = a.clone();
        assert!(a
            .chunks
            .iter()
            .zip(&b.chunks)
            .all(|(x, y)| Arc::ptr_eq(x, y)));
        a.insert(5000);
        let shared = a
            .chunks
            .iter()
            .zip(&b.chunks)
            .filter(|(x, y)| Arc::ptr_eq(x, y))
            .count();
        assert_eq!(shared, b.chunks.len() - 1, "only the last chunk was copied");
        assert!(!b.contains(5000) && a.contains(5000));
    }
}
