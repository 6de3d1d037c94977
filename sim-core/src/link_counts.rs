//! Message counts per directed link, kept only for links that carried a
//! message.
//!
//! Every send and every delivery bumps a count, so this is on the hot path of
//! every run. A map from `(from, to)` to counts in a B-tree costs a walk down
//! a tree of nodes on each message, half the kernel's time in a message
//! flood; here a link is found with one multiply and, almost always, one
//! probe into a flat open-addressing table (linear probing, never more than
//! three quarters full), which gives the link's number: its index in a
//! dense vector of counts, in the order links first carried something. A
//! number never changes (growing the table moves keys, not counts), so a
//! message in flight carries its link's number and its delivery is counted
//! without a second look-up. The layout depends only on the links and the
//! order they first carried something, so it is deterministic, and counts
//! are read back in `(from, to)` order by sorting, never in table order.

use crate::network::LinkStats;

/// A key no link has: node ids index a vector of nodes, so node `u32::MAX`
/// cannot exist.
const EMPTY: u64 = u64::MAX;

/// A link's number: its index in [`LinkCounts`]' counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Link(u32);

#[derive(Debug, Clone, Default)]
pub(crate) struct LinkCounts {
    /// Per slot: `from << 32 | to` (or [`EMPTY`]) and that link's number.
    /// The length is 0 or a power of two.
    table: Vec<(u64, u32)>,
    /// Per link number: its key and its counts.
    links: Vec<(u64, LinkStats)>,
    /// `64 - log2(table length)`: a key's hash shifted right by this is its
    /// home slot (kept, not recomputed from the length on every look-up).
    shift: u32,
}

#[inline]
fn key(from: u32, to: u32) -> u64 {
    u64::from(from) << 32 | u64::from(to)
}

impl LinkCounts {
    /// Where `key` is in the table, or the empty slot where it would go.
    #[inline]
    fn slot(&self, key: u64) -> usize {
        let mask = self.table.len() - 1;
        // Fibonacci hashing: the multiply mixes both node ids into the high
        // bits, which pick the slot.
        let mut i = key
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .wrapping_shr(self.shift) as usize;
        loop {
            let k = self.table[i].0;
            if k == key || k == EMPTY {
                return i;
            }
            i = (i + 1) & mask;
        }
    }

    /// The counts of `from → to`, if it carried anything.
    pub fn get(&self, from: u32, to: u32) -> Option<&LinkStats> {
        if self.table.is_empty() {
            return None;
        }
        let (k, link) = self.table[self.slot(key(from, to))];
        (k != EMPTY).then(|| &self.links[link as usize].1)
    }

    /// The number of `from → to`, added with zero counts if the link is new.
    /// A link that carried something before (almost every call) is found
    /// with one multiply and one probe; a new one takes the out-of-line path.
    #[inline]
    pub fn link(&mut self, from: u32, to: u32) -> Link {
        debug_assert!(from != u32::MAX || to != u32::MAX);
        let k = key(from, to);
        if !self.table.is_empty() {
            let (slot_key, link) = self.table[self.slot(k)];
            if slot_key == k {
                return Link(link);
            }
        }
        self.add(k)
    }

    /// The number of the link keyed `k`, added with zero counts if it is
    /// new; the table grows first if the new link would fill it past three
    /// quarters.
    #[cold]
    #[inline(never)]
    fn add(&mut self, k: u64) -> Link {
        if (self.links.len() + 1) * 4 > self.table.len() * 3 {
            self.grow();
        }
        let i = self.slot(k);
        if self.table[i].0 == EMPTY {
            let link = u32::try_from(self.links.len()).expect("fewer than 2^32 busy links");
            self.table[i] = (k, link);
            self.links.push((k, LinkStats::default()));
        }
        Link(self.table[i].1)
    }

    /// The counts of the link numbered `link`.
    #[inline]
    pub fn at_mut(&mut self, link: Link) -> &mut LinkStats {
        &mut self.links[link.0 as usize].1
    }

    /// The counts of `from → to`, added at zero if the link is new.
    #[cfg(test)]
    pub fn get_mut(&mut self, from: u32, to: u32) -> &mut LinkStats {
        let link = self.link(from, to);
        self.at_mut(link)
    }

    /// Doubles the table (16 slots at first) and files every link again.
    #[cold]
    fn grow(&mut self) {
        let size = (self.table.len() * 2).max(16);
        self.table = vec![(EMPTY, 0); size];
        self.shift = 64 - size.trailing_zeros();
        for (link, &(k, _)) in self.links.iter().enumerate() {
            let i = self.slot(k);
            self.table[i] = (k, link as u32);
        }
    }

    /// Every link that carried anything, as (from, to, counts), in (from, to) order.
    pub fn sorted(&self) -> Vec<(u32, u32, LinkStats)> {
        let mut links: Vec<(u32, u32, LinkStats)> = self
            .links
            .iter()
            .map(|&(k, c)| ((k >> 32) as u32, k as u32, c))
            .collect();
        links.sort_unstable_by_key(|&(from, to, _)| (from, to));
        links
    }

    /// The sum over all links (order does not matter to a sum).
    pub fn total(&self) -> LinkStats {
        let mut t = LinkStats::default();
        for (_, c) in &self.links {
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
        // A link's number stays its own through every growth of the table.
        let first = table.link(0, 0);
        for i in 0..5_000u32 {
            table.get_mut(5_000 + i, i).reordered += 1;
            model.entry((5_000 + i, i)).or_default().reordered += 1;
        }
        assert_eq!(table.link(0, 0), first);
        table.at_mut(first).duplicated += 1;
        model.entry((0, 0)).or_default().duplicated += 1;
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
