//! `Dict`: the hash table behind every keyspace (Redis: `dict.c`).
//!
//! Redis needs three things from its main table: O(1) average lookup, O(1) *random sampling*
//! (RANDOMKEY, eviction, active expiry, SPOP), and a SCAN cursor that returns every key present
//! for the whole scan at least once even while the table grows or shrinks. Redis gets them from a
//! chained table with incremental rehashing and a reverse-binary cursor.
//!
//! `Dict` gets them from a different, simpler layout (the one `indexmap` popularised), with
//! one twist, *free slots*:
//!
//! ```text
//!   index:  hashbrown::HashTable<u32>      slots: Vec<Option<(Sds, V)>>     free: Vec<u32>
//!           [ ][7][ ][0][ ][3][ ]...  --->  0: Some(("user:1", ..))          [1]
//!                                           1: None  (a free slot)
//!                                           2: Some(("user:9", ..))  ...
//! ```
//!
//! * Lookup hashes the key, probes `index` for a slot number whose key is equal.
//! * Insertion reuses the most recently freed slot, or appends.
//! * Removal empties the slot and remembers it in `free`. No other entry moves.
//! * Random sampling draws `slots[rand % slots.len()]` until it hits a full slot: uniform over
//!   the entries, and O(1) expected because at least a quarter of the slots are full (below
//!   that the table is compacted, see below).
//! * SCAN walks slot numbers from the top down; the cursor is the slot number above the next
//!   one to visit.
//!
//! # Why free slots: SCAN without duplicates
//!
//! SCAN promises that an element present for the whole scan is returned at least once; it
//! allows duplicates, but Redis produces none when elements are only deleted, and clients test
//! that (30 keys, COUNT 10, delete one not yet returned: 30 distinct keys come back, never 29
//! and a repeat). The first version of this table removed with `swap_remove`, moving the last
//! slot into the hole. With a downward cursor that never loses an element (the moved one comes
//! from the top, which is already visited), but when the hole is *below* the cursor, the moved
//! element is visited a second time: a duplicate for every deletion of a not-yet-returned key.
//! No cursor rule avoids that, because the table does not know where the (stateless, possibly
//! many) cursors are; the only cure is not to move entries on deletion.
//!
//! With free slots an entry keeps its slot from insertion to removal, so a scan over slot
//! numbers sees every entry present throughout exactly once. New entries may land in a freed
//! slot below or above a cursor, so they may or may not be returned, as in Redis. (A key
//! deleted and added again during a scan may come back twice: its new slot is unrelated to its
//! old one. Redis would put it back in the same bucket.)
//!
//! # Compaction, and the price
//!
//! Free slots cost memory and make sampling retry, so once fewer than a quarter of the slots
//! are full the table is compacted: full slots slide down, in order, over the free ones, and
//! the arrays shrink. Entries only ever move *down* (to a lower slot number), so a downward
//! scan still misses nothing: an entry not yet visited was below the cursor and stays below
//! it. An entry already visited may move below the cursor and be returned again — duplicates
//! after a mass deletion, just as Redis's SCAN can repeat elements after its table shrinks.
//! A compaction costs O(slots) but needs at least 3/4 * slots deletions since the table had
//! that many slots, so it is O(1) amortised per deletion; like the shrink it replaces, it is
//! done in one go (Redis rehashes incrementally).
//!
//! The other costs: one `u32` per free slot in `free` (a free slot itself costs nothing extra:
//! `Option<(Sds, V)>` uses a spare value of `Sds`'s tag for `None`, so it has the size of the
//! pair); sampling takes at most 4 draws on average, 1 while nothing was deleted; iteration
//! skips the free slots.
//!
//! Memory: a slot is `24 (key) + size_of::<V>()`, the index 5 bytes per bucket (u32 + control
//! byte); the hash is not stored but recomputed from the key when the index grows.

use crate::types::sds::Sds;
use hashbrown::hash_table::HashTable;
use hashbrown::DefaultHashBuilder;
use rand::Rng;
use std::hash::BuildHasher;

/// Slot count from which the slot array grows by 1/4 instead of doubling.
const BIG_TABLE_SLOTS: usize = 32 * 1024;

/// Slots visited by one SCAN step per entry it may return, so a sparse region cannot make a
/// step long (Redis: `maxiterations = count * 10` buckets).
const SCAN_SLOTS_PER_ENTRY: usize = 10;

#[derive(Clone)]
pub struct Dict<V> {
    /// Entries by slot number; `None` is a free slot (listed in `free`).
    slots: Vec<Option<(Sds, V)>>,
    /// Free slot numbers, the most recently freed last (reused first).
    free: Vec<u32>,
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
            free: Vec::new(),
            index: HashTable::new(),
            hasher: DefaultHashBuilder::default(),
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of slot numbers in use, full or free: [`get_index`](Self::get_index) answers
    /// for `0..slot_count()`.
    pub fn slot_count(&self) -> usize {
        self.slots.len()
    }

    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The key in full slot `i` (the index only ever names full slots).
    fn key_at(slots: &[Option<(Sds, V)>], i: u32) -> &[u8] {
        match slots.get(i as usize) {
            Some(Some((k, _))) => k.as_bytes(),
            _ => {
                debug_assert!(false, "index names free slot {i}");
                &[]
            }
        }
    }

    /// Slot number of `key`, if present.
    pub fn find(&self, key: &[u8]) -> Option<usize> {
        let hash = self.hash(key);
        let slots = &self.slots;
        self.index
            .find(hash, |&i| Self::key_at(slots, i) == key)
            .map(|&i| i as usize)
    }

    pub fn get(&self, key: &[u8]) -> Option<&V> {
        self.find(key)
            .and_then(|i| self.get_index(i))
            .map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        match self.find(key) {
            Some(i) => self.get_index_mut(i).map(|(_, v)| v),
            None => None,
        }
    }

    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.find(key).is_some()
    }

    /// Inserts or overwrites; returns the previous value.
    pub fn insert(&mut self, key: Sds, value: V) -> Option<V> {
        match self.find_or_insert_slot(&key) {
            Ok(i) => self
                .get_index_mut(i)
                .map(|(_, v)| std::mem::replace(v, value)),
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
        self.value_at(i)
    }

    /// The value in slot `i`, known to be full.
    fn value_at(&mut self, i: usize) -> &mut V {
        match &mut self.slots[i] {
            Some((_, v)) => v,
            None => unreachable!("slot {i} was just filled"),
        }
    }

    /// Ok(slot) when present, Err(hash) when absent (the hash is reused for the insertion).
    fn find_or_insert_slot(&self, key: &[u8]) -> Result<usize, u64> {
        let hash = self.hash(key);
        let slots = &self.slots;
        match self.index.find(hash, |&i| Self::key_at(slots, i) == key) {
            Some(&i) => Ok(i as usize),
            None => Err(hash),
        }
    }

    fn push_new(&mut self, hash: u64, key: Sds, value: V) -> usize {
        let i = match self.free.pop() {
            Some(i) => {
                let i = i as usize;
                debug_assert!(self.slots[i].is_none());
                self.slots[i] = Some((key, value));
                i
            }
            None => {
                let i = self.slots.len();
                debug_assert!(i < u32::MAX as usize, "Dict holds at most 2^32-1 entries");
                if i == self.slots.capacity() && i >= BIG_TABLE_SLOTS {
                    // A big table grows by 1/4 rather than doubling: a doubled slot array
                    // wastes up to half its memory (a 100,001-key keyspace would hold 131,072
                    // slots). Small tables double, which keeps their reallocations (and heap
                    // fragmentation) rare.
                    self.slots.reserve_exact(i / 4);
                }
                self.slots.push(Some((key, value)));
                i
            }
        };
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.index
            .insert_unique(hash, i as u32, |&j| hasher.hash_one(Self::key_at(slots, j)));
        i
    }

    /// Bytes the next insertion would allocate to grow the slot array (0 when it has room).
    pub fn growth_bytes(&self) -> usize {
        let len = self.slots.len();
        if !self.free.is_empty() || len < self.slots.capacity() {
            return 0;
        }
        let extra = if len >= BIG_TABLE_SLOTS {
            len / 4
        } else {
            len.max(4)
        };
        extra * std::mem::size_of::<Option<(Sds, V)>>()
    }

    /// Bytes of the slot array that hold no entry (free slots and spare capacity): memory the
    /// allocator counts as used but the next insertions fill without allocating.
    pub fn spare_bytes(&self) -> usize {
        (self.slots.capacity() - self.len()) * std::mem::size_of::<Option<(Sds, V)>>()
    }

    /// Makes room for `slots` more entries now, exactly, so that the next insertions do not
    /// grow the slot array by its usual step (used when that step would pass `maxmemory`).
    pub fn reserve_slots(&mut self, slots: usize) {
        self.slots.reserve_exact(slots);
    }

    /// Removes `key`, returning its key and value.
    pub fn remove(&mut self, key: &[u8]) -> Option<(Sds, V)> {
        let hash = self.hash(key);
        let slots = &self.slots;
        let i = match self
            .index
            .find_entry(hash, |&i| Self::key_at(slots, i) == key)
        {
            Ok(entry) => entry.remove().0 as usize,
            Err(_) => return None,
        };
        self.free_slot_unindexed(i)
    }

    /// Empties slot `i` (whose index entry is already gone). Nothing else moves, except in
    /// a compaction (see the module comment).
    fn free_slot_unindexed(&mut self, i: usize) -> Option<(Sds, V)> {
        let removed = self.slots.get_mut(i)?.take();
        debug_assert!(removed.is_some());
        if i + 1 == self.slots.len() {
            // The top slot: drop it rather than keep a free slot there.
            self.slots.pop();
        } else {
            self.free.push(i as u32);
        }
        if self.len() * 4 < self.slots.len() {
            self.compact();
        }
        removed
    }

    /// Removes the entry at slot `i` (None if the slot is free).
    pub fn remove_index(&mut self, i: usize) -> Option<(Sds, V)> {
        let hash = self.hash(self.get_index(i)?.0.as_bytes());
        match self.index.find_entry(hash, |&j| j as usize == i) {
            Ok(entry) => {
                entry.remove();
            }
            Err(_) => return None,
        }
        self.free_slot_unindexed(i)
    }

    /// Slides the full slots down over the free ones, keeping their order, and gives memory
    /// back (Redis: `dictResize` after deletions). Entries only move to lower slot numbers,
    /// which is what keeps a downward SCAN from missing any.
    fn compact(&mut self) {
        let mut write = 0usize;
        for read in 0..self.slots.len() {
            let Some((key, _)) = &self.slots[read] else {
                continue;
            };
            if read != write {
                let hash = self.hasher.hash_one(key.as_bytes());
                if let Some(pos) = self.index.find_mut(hash, |&j| j as usize == read) {
                    *pos = write as u32;
                }
                self.slots.swap(read, write);
            }
            write += 1;
        }
        self.slots.truncate(write);
        self.free.clear();
        let cap = self.slots.capacity();
        if cap > 64 && self.slots.len() * 2 < cap {
            self.slots.shrink_to(self.slots.len() * 2);
            self.free.shrink_to(0);
            let (slots, hasher) = (&self.slots, &self.hasher);
            self.index.shrink_to(slots.len() * 2, |&j| {
                hasher.hash_one(Self::key_at(slots, j))
            });
        }
    }

    /// The entry in slot `i`; None for a free slot or past the end.
    pub fn get_index(&self, i: usize) -> Option<(&Sds, &V)> {
        match self.slots.get(i) {
            Some(Some((k, v))) => Some((k, v)),
            _ => None,
        }
    }

    fn get_index_mut(&mut self, i: usize) -> Option<(&Sds, &mut V)> {
        match self.slots.get_mut(i) {
            Some(Some((k, v))) => Some((&*k, v)),
            _ => None,
        }
    }

    /// A uniformly random full slot (None when empty): draws slot numbers until one is full.
    /// At least a quarter of the slots are full, so that takes at most 4 draws on average.
    pub fn random_index(&self, rng: &mut impl Rng) -> Option<usize> {
        if self.is_empty() {
            return None;
        }
        loop {
            let i = rng.random_range(0..self.slots.len());
            if self.slots[i].is_some() {
                return Some(i);
            }
        }
    }

    /// `count` distinct full slots chosen uniformly (all of them, in slot order, when
    /// `count >= len`). O(count) expected for a small count.
    pub fn sample_indices(&self, rng: &mut impl Rng, count: usize) -> Vec<usize> {
        if count >= self.len() {
            return (0..self.slots.len())
                .filter(|&i| self.slots[i].is_some())
                .collect();
        }
        if self.free.is_empty() {
            return rand::seq::index::sample(rng, self.slots.len(), count).into_vec();
        }
        if count * 2 <= self.len() {
            // Draw until `count` distinct full slots: each draw is new with probability > 1/2.
            let mut picked = hashbrown::HashSet::with_capacity(count);
            let mut out = Vec::with_capacity(count);
            while out.len() < count {
                if let Some(i) = self.random_index(rng) {
                    if picked.insert(i) {
                        out.push(i);
                    }
                }
            }
            return out;
        }
        let full: Vec<usize> = (0..self.slots.len())
            .filter(|&i| self.slots[i].is_some())
            .collect();
        rand::seq::index::sample(rng, full.len(), count)
            .into_iter()
            .map(|i| full[i])
            .collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Sds, &V)> {
        self.slots.iter().flatten().map(|(k, v)| (k, v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &Sds> {
        self.iter().map(|(k, _)| k)
    }

    pub fn clear(&mut self) {
        self.slots = Vec::new();
        self.free = Vec::new();
        self.index = HashTable::new();
    }

    /// Takes every entry out, leaving the dict empty (FLUSHDB hands them to a background free).
    pub fn take_all(&mut self) -> Vec<(Sds, V)> {
        self.index = HashTable::new();
        self.free = Vec::new();
        std::mem::take(&mut self.slots)
            .into_iter()
            .flatten()
            .collect()
    }

    /// Bytes used by the table itself (not by what the entries point to).
    pub fn table_bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<Option<(Sds, V)>>()
            + self.free.capacity() * std::mem::size_of::<u32>()
            + self.index.capacity() * 5
    }

    /// One step of SCAN: returns up to `count` entries going down from `cursor` (0 = start at
    /// the top), looking at no more than `count * 10` slots. Returns the next cursor (0 when
    /// finished). See the module comment for why this misses nothing and repeats nothing
    /// while entries are only deleted.
    pub fn scan<'a>(
        &'a self,
        cursor: u64,
        count: usize,
        mut visit: impl FnMut(&'a Sds, &'a V),
    ) -> u64 {
        let len = self.slots.len() as u64;
        // A cursor names the slot *above* the next one to visit; 0 means "from the top". A
        // cursor past the end (the table was compacted) resumes from the top slot: the
        // entries not yet visited only ever moved down.
        let mut next = if cursor == 0 || cursor > len {
            len
        } else {
            cursor
        };
        let count = count.max(1);
        let mut returned = 0;
        let mut budget = count.saturating_mul(SCAN_SLOTS_PER_ENTRY);
        while next > 0 && returned < count && budget > 0 {
            next -= 1;
            budget -= 1;
            if let Some((k, v)) = &self.slots[next as usize] {
                visit(k, v);
                returned += 1;
            }
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

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

    #[test]
    fn a_free_slot_costs_no_extra_space() {
        assert_eq!(
            std::mem::size_of::<Option<(Sds, ())>>(),
            std::mem::size_of::<(Sds, ())>()
        );
        assert_eq!(
            std::mem::size_of::<Option<(Sds, Sds)>>(),
            std::mem::size_of::<(Sds, Sds)>()
        );
    }

    /// Scans `d` to the end with COUNT `count`, calling `between(step)` after every step;
    /// returns every key returned, repeats included.
    fn scan_all(
        d: &mut Dict<()>,
        count: usize,
        mut between: impl FnMut(&mut Dict<()>, usize),
    ) -> Vec<Vec<u8>> {
        let mut seen = Vec::new();
        let mut cursor = 0;
        let mut step = 0;
        loop {
            cursor = d.scan(cursor, count, |k, _| seen.push(k.to_vec()));
            between(d, step);
            step += 1;
            if cursor == 0 {
                return seen;
            }
        }
    }

    #[test]
    fn deleting_keys_not_yet_returned_gives_no_duplicates() {
        for victim in 0..30 {
            let mut d: Dict<()> = Dict::new();
            for i in 0..30 {
                d.insert(Sds::new(format!("k{i}").as_bytes()), ());
            }
            let mut deleted = None;
            let seen = scan_all(&mut d, 10, |d, step| {
                // After the first page, delete a key that page did not return.
                if step == 0 {
                    let key = format!("k{victim}");
                    deleted = Some(key.clone());
                    d.remove(key.as_bytes());
                }
            });
            let distinct: std::collections::HashSet<_> = seen.iter().collect();
            assert_eq!(distinct.len(), seen.len(), "duplicates deleting k{victim}");
            for i in 0..30 {
                let key = format!("k{i}");
                if Some(&key) != deleted.as_ref() {
                    assert!(distinct.contains(&key.into_bytes()), "missed k{i}");
                }
            }
        }
    }

    #[test]
    fn compaction_during_a_scan_misses_nothing() {
        let mut d: Dict<()> = Dict::new();
        for i in 0..1000 {
            d.insert(Sds::new(format!("k{i}").as_bytes()), ());
        }
        // Delete 900 keys spread over the table mid-scan (forcing compactions), and insert
        // new ones (which fill free slots).
        let mut compacted = false;
        let seen = scan_all(&mut d, 3, |d, step| {
            compacted |= d.slot_count() < 1000;
            if step < 90 {
                for j in 0..10 {
                    d.remove(format!("k{}", (step * 10 + j) * 1000 / 900 % 1000).as_bytes());
                }
                d.insert(Sds::new(format!("new{step}").as_bytes()), ());
            }
        });
        let seen: std::collections::HashSet<_> = seen.into_iter().collect();
        for i in 0..1000 {
            let key = format!("k{i}");
            if d.contains_key(key.as_bytes()) {
                assert!(seen.contains(key.as_bytes()), "missed {key}");
            }
        }
        assert!(compacted, "the table was compacted mid-scan");
    }

    #[test]
    fn sampling_is_uniform_over_entries_despite_free_slots() {
        let mut d: Dict<u32> = Dict::new();
        for i in 0..100u32 {
            d.insert(Sds::new(format!("k{i}").as_bytes()), i);
        }
        for i in (0..100u32).filter(|i| i % 3 != 0) {
            d.remove(format!("k{i}").as_bytes());
        }
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        let mut hits = vec![0u32; 100];
        for _ in 0..34_000 {
            let i = d.random_index(&mut rng).expect("not empty");
            let (_, &v) = d.get_index(i).expect("a full slot");
            hits[v as usize] += 1;
        }
        for (v, &n) in hits.iter().enumerate() {
            if v % 3 == 0 {
                assert!((700..1300).contains(&n), "k{v} drawn {n} times of ~1000");
            } else {
                assert_eq!(n, 0);
            }
        }
        for count in [1, 5, 17, 30, 34, 50] {
            let picks = d.sample_indices(&mut rng, count);
            let distinct: std::collections::HashSet<_> = picks.iter().collect();
            assert_eq!(picks.len(), count.min(d.len()));
            assert_eq!(distinct.len(), picks.len());
            assert!(picks.iter().all(|&i| d.get_index(i).is_some()));
        }
    }
}
