//! Message counts per directed link, kept only for links that carried a
//! message.
//!
//! Every send and every delivery bumps a count, so this is on the hot path of
//! every run. A map from `(from, to)` to counts in a B-tree costs a walk down
//! a tree of nodes on each message, half the kernel's time in a message
//! flood; this table is one multiply and, almost always, one probe into a
//! flat array of keys. It is an open-addressing table with linear probing,
//! never more than three quarters full. Its layout depends only on the links
//! and the order they first carried something, so it is deterministic, and
//! it is read back in `(from, to)` order by sorting, never in table order.

use crate::network::LinkStats;

/// A key no link has: node ids index a vector of nodes, so node `u32::MAX`
/// cannot exist.
const EMPTY: u64 = u64::MAX;

#[derive(Debug, Clone, Default)]
pub(crate) struct LinkCounts {
    /// `from << 32 | to` per slot, or [`EMPTY`]; the length is 0 or a power of two.
    keys: Vec<u64>,
    counts: Vec<LinkStats>,
    len: usize,
}

#[inline]
fn key(from: u32, to: u32) -> u64 {
    u64::from(from) << 32 | u64::from(to)
}

impl LinkCounts {
    /// Where `key` is, or the empty slot where it would go.
    #[inline]
    fn slot(&self, key: u64) -> usize {
        let mask = self.keys.len() - 1;
        // Fibonacci hashing: the multiply mixes both node ids into the high
        // bits, which pick the slot.
        let mut i = (key.wrapping_mul(0x9e37_79b9_7f4a_7c15)
            >> (64 - self.keys.len().trailing_zeros())) as usize;
        loop {
            let k = self.keys[i];
            if k == key || k == EMPTY {
                return i;
            }
            i = (i + 1) & mask;
        }
    }

    /// The counts of `from → to`, if it carried anything.
    pub fn get(&self, from: u32, to: u32) -> Option<&LinkStats> {
        if self.keys.is_empty() {
            return None;
        }
        let i = self.slot(key(from, to));
        (self.keys[i] != EMPTY).then(|| &self.counts[i])
    }

    /// The counts of `from → to`, added at zero if the link is new.
    #[inline]
    pub fn get_mut(&mut self, from: u32, to: u32) -> &mut LinkStats {
        debug_assert!(from != u32::MAX || to != u32::MAX);
        let k = key(from, to);
        if (self.len + 1) * 4 > self.keys.len() * 3 {
            self.grow();
        }
        let i = self.slot(k);
        if self.keys[i] == EMPTY {
            self.keys[i] = k;
            self.len += 1;
        }
        &mut self.counts[i]
    }

    /// Doubles the table (16 slots at first) and files every link again.
    #[cold]
    fn grow(&mut self) {
        let size = (self.keys.len() * 2).max(16);
        let keys = std::mem::replace(&mut self.keys, vec![EMPTY; size]);
        let counts = std::mem::replace(&mut self.counts, vec![LinkStats::default(); size]);
        for (k, c) in keys.into_iter().zip(counts) {
            if k != EMPTY {
                let i = self.slot(k);
                self.keys[i] = k;
                self.counts[i] = c;
            }
        }
    }

    /// Every link that carried anything, as (from, to, counts), in (from, to) order.
    pub fn sorted(&self) -> Vec<(u32, u32, LinkStats)> {
        let mut links: Vec<(u32, u32, LinkStats)> = self
            .keys
            .iter()
            .zip(&self.counts)
            .filter(|(&k, _)| k != EMPTY)
            .map(|(&k, &c)| ((k >> 32) as u32, k as u32, c))
            .collect();
        links.sort_unstable_by_key(|&(from, to, _)| (from, to));
        links
    }

    /// The sum over all links (order does not matter to a sum).
    pub fn total(&self) -> LinkStats {
        let mut t = LinkStats::default();
        for (_, c) in self
            .keys
            .iter()
            .zip(&self.counts)
            .filter(|(&k, _)| k != EMPTY)
        {
            t.add(c);
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// Many links, in an order that collides: the same counts as a B-tree
    /// keeps, read back in (from, to) order.
    #[test]
    fn counts_what_a_btree_counts_in_link_order() {
        let mut table = LinkCounts::default();
        let mut model: BTreeMap<(u32, u32), LinkStats> = BTreeMap::new();
        assert!(table.get(0, 0).is_none());
        for i in 0..20_000u64 {
            let (from, to) = ((i * 7919 % 1_000) as u32, (i * 104_729 % 3_000) as u32);
            table.get_mut(from, to).sent += i;
            model.entry((from, to)).or_default().sent += i;
            if i % 3 == 0 {
                table.get_mut(to, from).delivered += 1;
                model.entry((to, from)).or_default().delivered += 1;
            }
        }
        let want: Vec<(u32, u32, LinkStats)> =
            model.iter().map(|(&(f, t), &c)| (f, t, c)).collect();
        assert_eq!(table.sorted(), want);
        for &(f, t, c) in &want {
            assert_eq!(table.get(f, t), Some(&c));
        }
        assert!(table.get(999, 2_999).is_none() || model.contains_key(&(999, 2_999)));
        let mut total = LinkStats::default();
        model.values().for_each(|c| total.add(c));
        assert_eq!(table.total(), total);
    }
}
