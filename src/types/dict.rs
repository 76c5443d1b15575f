//! `Dict`: the hash table behind every keyspace (Redis: `dict.c`).
//!
//! Redis needs three things from its main table: O(1) average lookup, O(1) *random sampling*
//! (RANDOMKEY, eviction, active expiry, SPOP), and a SCAN cursor that returns every key present
//! for the whole scan at least once even while the table grows or shrinks. Redis gets them from a
//! chained table with incremental rehashing and a reverse-binary cursor.
//!
//! `Dict` gets them from a different, simpler layout (the one `indexmap` popularised):
//!
//! ```text
//!   index:  hashbrown::HashTable<u32>      slots: Vec<(Sds, V)>   (dense, no holes)
//!           [ ][7][ ][0][ ][3][ ]...  --->  0: ("user:1", ..)
//!                                           1: ("user:9", ..)  ...
//! ```
//!
//! * Lookup hashes the key, probes `index` for a slot number whose key is equal.
//! * Random sampling is `slots[rand % len]`: uniform, O(1), no empty buckets to skip.
//! * Removal swaps the last slot into the hole (`swap_remove`) and repoints its index entry.
//! * SCAN walks slot numbers from the top down. Removal only ever moves the *last* slot into a
//!   lower hole, so an element that was not yet visited (below the cursor) stays below it, and
//!   one that was visited either stays visited or moves down and is visited twice (allowed).
//!   Growth appends above the cursor: new keys may or may not be returned, as in Redis.
//!
//! Memory: a slot is `24 (key) + size_of::<V>()`, the index 5 bytes per bucket (u32 + control
//! byte); the hash is not stored but recomputed from the key when the index grows.

use crate::types::sds::Sds;
use hashbrown::hash_table::HashTable;
use hashbrown::DefaultHashBuilder;
use std::hash::BuildHasher;

/// Slot count from which the slot array grows by 1/4 instead of doubling.
const BIG_TABLE_SLOTS: usize = 32 * 1024;

#[derive(Clone)]
pub struct Dict<V> {
    slots: Vec<(Sds, V)>,
    index: HashTable<u32>,
    hasher: DefaultHashBuilder,
}

impl<V> Default for Dict<V> {
    fn default() -> Self {
        Dict::new()
    }
}

impl<V> Dict<V> {
    pub fn new() -> Dict<V> {
        Dict {
            slots: Vec::new(),
            index: HashTable::new(),
            hasher: DefaultHashBuilder::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// Slot number of `key`, if present.
    pub fn find(&self, key: &[u8]) -> Option<usize> {
        let hash = self.hash(key);
        let slots = &self.slots;
        self.index
            .find(hash, |&i| slots[i as usize].0.as_bytes() == key)
            .map(|&i| i as usize)
    }

    pub fn get(&self, key: &[u8]) -> Option<&V> {
        self.find(key).map(|i| &self.slots[i].1)
    }

    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        match self.find(key) {
            Some(i) => Some(&mut self.slots[i].1),
            None => None,
        }
    }

    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.find(key).is_some()
    }

    /// Inserts or overwrites; returns the previous value.
    pub fn insert(&mut self, key: Sds, value: V) -> Option<V> {
        match self.find_or_insert_slot(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.slots[i].1, value)),
            Err(hash) => {
                self.push_new(hash, key, value);
                None
            }
        }
    }

    /// Inserts a key known to be absent (saves the equality probe's result being discarded).
    pub fn insert_new(&mut self, key: Sds, value: V) -> &mut V {
        debug_assert!(self.find(&key).is_none());
        let hash = self.hash(&key);
        let i = self.push_new(hash, key, value);
        &mut self.slots[i].1
    }

    /// Returns the value for `key`, inserting `make()` first if it is absent.
    pub fn get_or_insert_with(&mut self, key: &[u8], make: impl FnOnce() -> V) -> &mut V {
        let i = match self.find_or_insert_slot(key) {
            Ok(i) => i,
            Err(hash) => self.push_new(hash, Sds::new(key), make()),
        };
        &mut self.slots[i].1
    }

    /// Ok(slot) when present, Err(hash) when absent (the hash is reused for the insertion).
    fn find_or_insert_slot(&self, key: &[u8]) -> Result<usize, u64> {
        let hash = self.hash(key);
        let slots = &self.slots;
        match self
            .index
            .find(hash, |&i| slots[i as usize].0.as_bytes() == key)
        {
            Some(&i) => Ok(i as usize),
            None => Err(hash),
        }
    }

    fn push_new(&mut self, hash: u64, key: Sds, value: V) -> usize {
        let i = self.slots.len();
        debug_assert!(i < u32::MAX as usize, "Dict holds at most 2^32-1 entries");
        if i == self.slots.capacity() && i >= BIG_TABLE_SLOTS {
            // A big table grows by 1/4 rather than doubling: a doubled slot array wastes up to
            // half its memory (a 100,001-key keyspace would hold 131,072 slots). Small tables
            // double, which keeps their reallocations (and heap fragmentation) rare.
            self.slots.reserve_exact(i / 4);
        }
        self.slots.push((key, value));
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.index.insert_unique(hash, i as u32, |&j| {
            hasher.hash_one(slots[j as usize].0.as_bytes())
        });
        i
    }

    /// Removes `key`, returning its key and value.
    pub fn remove(&mut self, key: &[u8]) -> Option<(Sds, V)> {
        let hash = self.hash(key);
        let slots = &self.slots;
        let i = match self
            .index
            .find_entry(hash, |&i| slots[i as usize].0.as_bytes() == key)
        {
            Ok(entry) => entry.remove().0 as usize,
            Err(_) => return None,
        };
        Some(self.remove_slot_unindexed(i))
    }

    /// Removes the entry at slot `i` (whose index entry is already gone), moving the last slot
    /// into the hole.
    fn remove_slot_unindexed(&mut self, i: usize) -> (Sds, V) {
        let last = self.slots.len() - 1;
        if i != last {
            let moved_hash = self.hash(self.slots[last].0.as_bytes());
            if let Some(pos) = self.index.find_mut(moved_hash, |&j| j as usize == last) {
                *pos = i as u32;
            }
        }
        let removed = self.slots.swap_remove(i);
        self.maybe_shrink();
        removed
    }

    /// Removes the entry at slot `i`.
    pub fn remove_index(&mut self, i: usize) -> Option<(Sds, V)> {
        if i >= self.slots.len() {
            return None;
        }
        let hash = self.hash(self.slots[i].0.as_bytes());
        match self.index.find_entry(hash, |&j| j as usize == i) {
            Ok(entry) => {
                entry.remove();
            }
            Err(_) => return None,
        }
        Some(self.remove_slot_unindexed(i))
    }

    /// Like Redis's `dictResize` after deletions: give memory back once the table is mostly empty.
    fn maybe_shrink(&mut self) {
        let cap = self.slots.capacity();
        if cap > 64 && self.slots.len() * 8 < cap {
            self.slots.shrink_to(self.slots.len() * 2);
            let (slots, hasher) = (&self.slots, &self.hasher);
            self.index.shrink_to(slots.len() * 2, |&j| {
                hasher.hash_one(slots[j as usize].0.as_bytes())
            });
        }
    }

    pub fn get_index(&self, i: usize) -> Option<(&Sds, &V)> {
        self.slots.get(i).map(|(k, v)| (k, v))
    }

    pub fn get_index_mut(&mut self, i: usize) -> Option<(&Sds, &mut V)> {
        self.slots.get_mut(i).map(|(k, v)| (&*k, v))
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Sds, &V)> {
        self.slots.iter().map(|(k, v)| (k, v))
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&Sds, &mut V)> {
        self.slots.iter_mut().map(|(k, v)| (&*k, v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &Sds> {
        self.slots.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.slots.iter().map(|(_, v)| v)
    }

    pub fn clear(&mut self) {
        self.slots = Vec::new();
        self.index = HashTable::new();
    }

    /// Takes every entry out, leaving the dict empty (FLUSHDB hands them to a background free).
    pub fn take_all(&mut self) -> Vec<(Sds, V)> {
        self.index = HashTable::new();
        std::mem::take(&mut self.slots)
    }

    /// Bytes used by the table itself (not by what the entries point to).
    pub fn table_bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<(Sds, V)>() + self.index.capacity() * 5
    }

    /// One step of SCAN: visits up to `count` slots going down from `cursor` (0 = start at the
    /// top). Returns the next cursor (0 when finished). See the module comment for why walking
    /// downwards keeps SCAN's guarantee under `swap_remove`.
    pub fn scan<'a>(
        &'a self,
        cursor: u64,
        count: usize,
        mut visit: impl FnMut(&'a Sds, &'a V),
    ) -> u64 {
        let len = self.slots.len() as u64;
        // A cursor names the slot *above* the next one to visit; 0 means "from the top".
        let mut next = if cursor == 0 || cursor > len {
            len
        } else {
            cursor
        };
        let mut visited = 0;
        while next > 0 && visited < count.max(1) {
            next -= 1;
            let (k, v) = &self.slots[next as usize];
            visit(k, v);
            visited += 1;
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_get_remove() {
        let mut d: Dict<u32> = Dict::new();
        for i in 0..1000u32 {
            assert!(d.insert(Sds::new(format!("k{i}").as_bytes()), i).is_none());
        }
        assert_eq!(d.insert(Sds::new(b"k5"), 55), Some(5));
        assert_eq!(d.get(b"k5"), Some(&55));
        for i in (0..1000u32).step_by(2) {
            assert!(d.remove(format!("k{i}").as_bytes()).is_some());
        }
        assert_eq!(d.len(), 500);
        for i in 0..1000u32 {
            assert_eq!(
                d.contains_key(format!("k{i}").as_bytes()),
                i % 2 == 1,
                "k{i}"
            );
        }
    }

    #[test]
    fn scan_returns_every_key_present_throughout_despite_deletions() {
        let mut d: Dict<()> = Dict::new();
        for i in 0..500 {
            d.insert(Sds::new(format!("k{i}").as_bytes()), ());
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        let mut round = 0;
        loop {
            cursor = d.scan(cursor, 10, |k, _| {
                seen.insert(k.to_vec());
            });
            // Delete keys 0..100 while scanning: the survivors must all be seen.
            if round < 100 {
                d.remove(format!("k{round}").as_bytes());
            }
            round += 1;
            if cursor == 0 {
                break;
            }
        }
        for i in 100..500 {
            assert!(seen.contains(format!("k{i}").as_bytes()), "missed k{i}");
        }
    }
}
