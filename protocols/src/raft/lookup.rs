//! A hash table for lookups on the simulation path, walked only in key order.
//!
//! A B-tree keyed by clients' random session numbers costs a path of
//! comparisons per lookup that grows with the number of clients; at 500
//! clients the leader's retry index and the sessions of the key-value store
//! were a tenth of a Raft run. A hash table answers in about one probe. Its
//! own order, though, depends on the hasher and on the history of inserts,
//! so [`Lookup`] offers no walk in it: whatever reads the table as a whole
//! (a snapshot on disk, a hash, a comparison) goes through
//! [`Lookup::sorted`], in key order, and sees the same on every run. The
//! hasher is the simulator's stable one, seeded by nothing random.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hash, Hasher};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sim_core::fingerprint::StableHasher;

#[derive(Debug, Clone)]
pub struct Lookup<K, V> {
    map: HashMap<K, V, BuildHasherDefault<StableHasher>>,
}

impl<K, V> Default for Lookup<K, V> {
    fn default() -> Self {
        Self {
            map: HashMap::default(),
        }
    }
}

impl<K: Hash + Eq + Ord, V> Lookup<K, V> {
    #[inline]
    pub fn get(&self, key: &K) -> Option<&V> {
        self.map.get(key)
    }

    /// The value that was at `key`, if any, is replaced and returned.
    #[inline]
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        self.map.insert(key, value)
    }

    /// The slot of `key`, to read and then fill in one probe.
    #[inline]
    pub fn entry(&mut self, key: K) -> Entry<'_, K, V> {
        self.map.entry(key)
    }

    #[inline]
    pub fn remove(&mut self, key: &K) -> Option<V> {
        self.map.remove(key)
    }

    pub fn clear(&mut self) {
        self.map.clear();
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Every entry, in key order (the only walk there is).
    pub fn sorted(&self) -> Vec<(&K, &V)> {
        let mut entries: Vec<(&K, &V)> = self.map.iter().collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        entries
    }
}

impl<K: Hash + Eq + Ord, V> FromIterator<(K, V)> for Lookup<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(entries: I) -> Self {
        Self {
            map: entries.into_iter().collect(),
        }
    }
}

impl<K: Hash + Eq, V: PartialEq> PartialEq for Lookup<K, V> {
    fn eq(&self, other: &Self) -> bool {
        self.map == other.map
    }
}

impl<K: Hash + Eq, V: Eq> Eq for Lookup<K, V> {}

/// Hashed as a `BTreeMap` of the same entries is (its length, then each
/// entry in key order), so a state that moved to a `Lookup` hashes, and
/// fingerprints, as before.
impl<K: Hash + Eq + Ord, V: Hash> Hash for Lookup<K, V> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_usize(self.len());
        for entry in self.sorted() {
            entry.hash(state);
        }
    }
}

/// Written as a map in key order, as a `BTreeMap` is.
impl<K: Hash + Eq + Ord + Serialize, V: Serialize> Serialize for Lookup<K, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.sorted())
    }
}

impl<'de, K, V> Deserialize<'de> for Lookup<K, V>
where
    K: Hash + Eq + Ord + Deserialize<'de>,
    V: Deserialize<'de>,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let entries = BTreeMap::<K, V>::deserialize(deserializer)?;
        Ok(entries.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::fingerprint::StableHasher;

    fn table(keys: &[u64]) -> Lookup<u64, u64> {
        keys.iter().map(|&k| (k, k * 10)).collect()
    }

    #[test]
    fn finds_replaces_and_removes() {
        let mut t = table(&[7, 3]);
        assert_eq!(t.get(&3), Some(&30));
        assert_eq!(t.insert(3, 31), Some(30));
        assert_eq!(t.remove(&7), Some(70));
        assert_eq!((t.get(&7), t.len()), (None, 1));
        t.clear();
        assert!(t.is_empty());
    }

    #[test]
    fn whole_table_reads_follow_key_order_not_insertion_order() {
        let (a, b) = (table(&[9, 1, 5, 1 << 40]), table(&[1 << 40, 5, 9, 1]));
        let keys: Vec<u64> = a.sorted().iter().map(|e| *e.0).collect();
        assert_eq!(keys, [1, 5, 9, 1 << 40]);
        assert_eq!(a, b);
        assert_eq!(StableHasher::hash_of(&a), StableHasher::hash_of(&b));
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&b).unwrap()
        );
    }

    #[test]
    fn hashes_and_serializes_as_the_btree_map_it_replaced() {
        let keys = [42, 7, 1 << 50, 3];
        let tree: BTreeMap<u64, u64> = keys.iter().map(|&k| (k, k * 10)).collect();
        let t = table(&keys);
        assert_eq!(StableHasher::hash_of(&t), StableHasher::hash_of(&tree));
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, serde_json::to_string(&tree).unwrap());
        assert_eq!(serde_json::from_str::<Lookup<u64, u64>>(&json).unwrap(), t);
        assert_ne!(
            StableHasher::hash_of(&t),
            StableHasher::hash_of(&table(&[42]))
        );
    }
}
