//! The hash type: field -> value maps (Redis: `t_hash.c` API half, `listpack.c`).
//!
//! # Two encodings, as in Redis 7.0
//!
//! Most hashes in real deployments are small: a user record with a dozen fields. For those a hash
//! table is mostly overhead (a table of buckets, one allocation per entry, pointers everywhere),
//! so Redis keeps small hashes in a *listpack*: one contiguous byte buffer holding
//! `field, value, field, value, ...`, searched by a linear scan. A scan over a few hundred bytes
//! that sit in one or two cache lines is as fast as hashing, and the memory cost per field is
//! the field and value bytes plus a byte or two of framing.
//!
//! Our listpack ([`Listpack`]) keeps that idea with the simplest framing that works for a
//! forward-only scan:
//!
//! ```text
//!   bytes: [len][field bytes][len][value bytes][len][field bytes][len][value bytes] ...
//!           ^ LEB128 varint: 1 byte for lengths < 128, 2 bytes below 16384, ...
//! ```
//!
//! Redis's listpack also stores each entry's length *after* it (a "backlen") so it can be walked
//! backwards, and encodes integers in binary; hashes never walk backwards, so we skip both.
//! New fields are appended at the end and updated values are rewritten in place, so iteration
//! order is insertion order — exactly the order Redis's HGETALL shows for a listpack hash, which
//! makes small-hash replies byte-identical to Redis's.
//!
//! The buffer is an exact-size `Box<[u8]>`, reallocated on every change as Redis reallocs its
//! listpacks: small hashes keep no spare capacity, which is the point of the encoding. There is
//! no header either — the pair count is found by a scan (bounded by the entry limit). The whole
//! `Hash` is two words, so it sits directly in the keyspace's `Value` with no box of its own:
//! a small hash costs exactly one allocation, its bytes.
//!
//! # Conversion
//!
//! A hash is converted, once and for good, to a hash table ([`Dict<Sds>`]: O(1) lookup and O(1)
//! uniform random sampling for HRANDFIELD) when either
//! * it would hold more than `hash-max-listpack-entries` fields (default 128), or
//! * a field or value longer than `hash-max-listpack-value` bytes (default 64) is stored.
//!
//! Like Redis, a hash table never converts back to a listpack when it shrinks. OBJECT ENCODING
//! reports `listpack` or `hashtable`.

use crate::types::dict::Dict;
use crate::types::sds::Sds;
use rand::Rng;

/// A hash value: a listpack while small, a hash table once large.
#[derive(Clone)]
pub struct Hash {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    Listpack(Listpack),
    /// Boxed so that a small (listpack) hash stays a few words wide.
    Table(Box<Dict<Sds>>),
}

/// The size limits that decide when a listpack becomes a table (from the server config).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_entries: usize,
    pub max_value: usize,
}

impl Default for Hash {
    fn default() -> Self {
        Hash::new()
    }
}

impl Hash {
    /// An empty hash in the listpack encoding.
    pub fn new() -> Hash {
        Hash {
            repr: Repr::Listpack(Listpack::default()),
        }
    }

    /// An empty hash in the table encoding, for one known to be too big for a listpack (RDB
    /// loading; Redis: `createHashObject` + `hashTypeConvert` up front in `rdbLoadObject`).
    pub fn new_table() -> Hash {
        Hash {
            repr: Repr::Table(Box::default()),
        }
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Listpack(lp) => lp.count(),
            Repr::Table(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The name OBJECT ENCODING replies with.
    pub fn encoding_name(&self) -> &'static str {
        match &self.repr {
            Repr::Listpack(_) => "listpack",
            Repr::Table(_) => "hashtable",
        }
    }

    /// Approximate heap bytes owned (MEMORY USAGE).
    pub fn heap_size(&self) -> usize {
        match &self.repr {
            Repr::Listpack(lp) => lp.bytes.len(),
            Repr::Table(t) => {
                t.table_bytes()
                    + t.iter()
                        .map(|(k, v)| k.heap_size() + v.heap_size())
                        .sum::<usize>()
            }
        }
    }

    /// [`Hash::heap_size`], with a hash table's entries estimated from `samples` of them
    /// (0: all), as MEMORY USAGE does.
    pub fn heap_size_sampled(&self, samples: usize) -> usize {
        match &self.repr {
            Repr::Table(t) if samples > 0 => {
                let sizes = t.iter().map(|(k, v)| k.heap_size() + v.heap_size());
                t.table_bytes() + super::sampled_total(sizes, t.len(), samples)
            }
            _ => self.heap_size(),
        }
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match &self.repr {
            Repr::Listpack(lp) => lp.find(field).map(|at| lp.value_at(at)),
            Repr::Table(t) => t.get(field).map(|v| v.as_bytes()),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Sets `field` to `value`; true if the field is new. Converts to a hash table first if the
    /// field or value is too long for a listpack, and after if there are now too many fields.
    pub fn set(&mut self, field: &[u8], value: &[u8], limits: Limits) -> bool {
        if field.len() > limits.max_value || value.len() > limits.max_value {
            self.convert_to_table();
        }
        let (added, listpack_len) = match &mut self.repr {
            Repr::Listpack(lp) => {
                let (added, len) = lp.set(field, value);
                (added, Some(len))
            }
            Repr::Table(t) => (t.insert(Sds::new(field), Sds::new(value)).is_none(), None),
        };
        // Checked after updates too, as Redis does: the limit may have been lowered by CONFIG SET.
        if listpack_len.is_some_and(|n| n > limits.max_entries) {
            self.convert_to_table();
        }
        added
    }

    /// Removes `field`; true if it was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Listpack(lp) => lp.remove(field),
            Repr::Table(t) => t.remove(field).is_some(),
        }
    }

    /// Every (field, value) pair: insertion order for a listpack, table order otherwise.
    pub fn iter(&self) -> HashIter<'_> {
        match &self.repr {
            Repr::Listpack(lp) => lp.pairs(),
            Repr::Table(t) => HashIter::Table(t.as_ref(), 0),
        }
    }

    /// The pair at position `i`: the i-th of a listpack (a scan), the pair in slot `i` of a
    /// table (O(1); None for a free slot).
    pub fn get_index(&self, i: usize) -> Option<(&[u8], &[u8])> {
        match &self.repr {
            Repr::Listpack(_) => self.iter().nth(i),
            Repr::Table(t) => t.get_index(i).map(|(k, v)| (k.as_bytes(), v.as_bytes())),
        }
    }

    /// A uniformly random pair (None if empty).
    pub fn random_pair(&self, rng: &mut impl Rng) -> Option<(&[u8], &[u8])> {
        let i = match &self.repr {
            Repr::Listpack(_) if self.is_empty() => return None,
            Repr::Listpack(_) => rng.random_range(0..self.len()),
            Repr::Table(t) => t.random_index(rng)?,
        };
        self.get_index(i)
    }

    /// The positions of `count` distinct pairs chosen uniformly (`count < len`), for
    /// HRANDFIELD with a positive count; see [`pairs_at`](Self::pairs_at).
    pub fn sample_positions(&self, rng: &mut impl Rng, count: usize) -> Vec<usize> {
        match &self.repr {
            Repr::Listpack(_) => rand::seq::index::sample(rng, self.len(), count).into_vec(),
            Repr::Table(t) => t.sample_indices(rng, count),
        }
    }

    /// The pairs at the given positions, in ascending position order (one pass for a
    /// listpack). Used by HRANDFIELD to fetch a random sample of distinct fields.
    pub fn pairs_at(&self, mut positions: Vec<usize>) -> Vec<(&[u8], &[u8])> {
        positions.sort_unstable();
        match &self.repr {
            Repr::Listpack(_) => {
                let mut out = Vec::with_capacity(positions.len());
                let mut wanted = positions.iter().peekable();
                for (i, pair) in self.iter().enumerate() {
                    while wanted.peek() == Some(&&i) {
                        out.push(pair);
                        wanted.next();
                    }
                    if wanted.peek().is_none() {
                        break;
                    }
                }
                out
            }
            Repr::Table(_) => positions
                .into_iter()
                .filter_map(|i| self.get_index(i))
                .collect(),
        }
    }

    /// One step of HSCAN over a hash table (see `Dict::scan`); a listpack is visited whole and
    /// the returned cursor is 0, as Redis does for small encodings.
    pub fn scan<'a>(
        &'a self,
        cursor: u64,
        count: usize,
        mut visit: impl FnMut(&'a [u8], &'a [u8]),
    ) -> u64 {
        match &self.repr {
            Repr::Listpack(_) => {
                for (f, v) in self.iter() {
                    visit(f, v);
                }
                0
            }
            Repr::Table(t) => t.scan(cursor, count, |k, v| visit(k, v)),
        }
    }

    /// Moves every pair into a hash table (Redis: `hashTypeConvertListpack`).
    fn convert_to_table(&mut self) {
        if let Repr::Listpack(lp) = &self.repr {
            let mut table = Dict::new();
            for (f, v) in lp.pairs() {
                table.insert(Sds::new(f), Sds::new(v));
            }
            self.repr = Repr::Table(Box::new(table));
        }
    }
}

/// Iterator over a hash's (field, value) pairs.
pub enum HashIter<'a> {
    /// The unread tail of a listpack's bytes.
    Listpack(&'a [u8]),
    /// A table and the next slot number.
    Table(&'a Dict<Sds>, usize),
}

impl<'a> Iterator for HashIter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            HashIter::Listpack(rest) => {
                let (field, after) = read_entry(rest)?;
                let (value, after) = read_entry(after)?;
                *rest = after;
                Some((field, value))
            }
            HashIter::Table(t, i) => {
                // Skip the table's free slots.
                while *i < t.slot_count() {
                    let slot = *i;
                    *i += 1;
                    if let Some((k, v)) = t.get_index(slot) {
                        return Some((k.as_bytes(), v.as_bytes()));
                    }
                }
                None
            }
        }
    }
}

/// A compact sequence of length-prefixed entries (field, value, field, value, ...); see the
/// module comment. An exact-size boxed slice: no capacity word, no spare bytes.
#[derive(Clone, Default)]
struct Listpack {
    bytes: Box<[u8]>,
}

impl Listpack {
    fn pairs(&self) -> HashIter<'_> {
        HashIter::Listpack(&self.bytes)
    }

    /// Number of pairs, by a scan: there is no header to keep it in. A listpack holds at most
    /// `hash-max-listpack-entries` pairs, so this is as cheap as the scan every HSET does.
    fn count(&self) -> usize {
        self.pairs().count()
    }

    /// Byte offset of the *entry header* of `field`'s entry, by linear scan.
    fn find(&self, field: &[u8]) -> Option<usize> {
        self.locate(field, false).0
    }

    /// One scan for `field`: its offset if present, and the number of pairs walked (all of
    /// them when `count_all` or when the field is absent — HSET needs the new size anyway).
    fn locate(&self, field: &[u8], count_all: bool) -> (Option<usize>, usize) {
        let bytes = &self.bytes[..];
        let (mut at, mut pairs, mut found) = (0, 0, None);
        while at < bytes.len() {
            let Some((f_start, f_end)) = entry_span(bytes, at) else {
                break;
            };
            let Some((_, v_end)) = entry_span(bytes, f_end) else {
                break;
            };
            if found.is_none() && &bytes[f_start..f_end] == field {
                found = Some(at);
                if !count_all {
                    return (found, pairs + 1);
                }
            }
            pairs += 1;
            at = v_end;
        }
        (found, pairs)
    }

    /// The value that follows the field entry starting at `at`.
    fn value_at(&self, at: usize) -> &[u8] {
        read_entry(&self.bytes[at..])
            .and_then(|(_, rest)| read_entry(rest))
            .map(|(v, _)| v)
            .unwrap_or_default()
    }

    /// (start of the value entry, end of the value entry) for the field entry at `at`.
    fn value_span(&self, at: usize) -> Option<(usize, usize)> {
        let (_, rest) = read_entry(&self.bytes[at..])?;
        let start = self.bytes.len() - rest.len();
        let (_, after) = read_entry(rest)?;
        Some((start, self.bytes.len() - after.len()))
    }

    /// Replaces `bytes[range]` with `with`, reallocating to the exact new size (Redis
    /// reallocs its listpacks the same way on every change).
    fn splice(&mut self, range: std::ops::Range<usize>, with: &[u8]) {
        if range.len() == with.len() {
            self.bytes[range].copy_from_slice(with);
            return;
        }
        let mut v = std::mem::take(&mut self.bytes).into_vec();
        v.splice(range, with.iter().copied());
        self.bytes = v.into_boxed_slice();
    }

    /// Sets `field`; returns (whether it is new, the number of pairs now).
    fn set(&mut self, field: &[u8], value: &[u8]) -> (bool, usize) {
        match self.locate(field, true) {
            (Some(at), count) => {
                if let Some((start, end)) = self.value_span(at) {
                    let mut entry = Vec::with_capacity(value.len() + VARINT_MAX);
                    write_entry(&mut entry, value);
                    self.splice(start..end, &entry);
                }
                (false, count)
            }
            (None, count) => {
                // Append in place: one exact realloc, no temporary buffer.
                let mut v = std::mem::take(&mut self.bytes).into_vec();
                v.reserve_exact(
                    varint_len(field.len()) + field.len() + varint_len(value.len()) + value.len(),
                );
                write_entry(&mut v, field);
                write_entry(&mut v, value);
                debug_assert_eq!(v.len(), v.capacity());
                self.bytes = v.into_boxed_slice();
                (true, count + 1)
            }
        }
    }

    fn remove(&mut self, field: &[u8]) -> bool {
        let Some(at) = self.find(field) else {
            return false;
        };
        let Some((_, end)) = self.value_span(at) else {
            return false;
        };
        self.splice(at..end, &[]);
        true
    }
}

/// Longest LEB128 encoding of a usize.
const VARINT_MAX: usize = 10;

/// Bytes the LEB128 length of an entry of `n` bytes takes.
pub(super) fn varint_len(mut n: usize) -> usize {
    let mut bytes = 1;
    while n >= 0x80 {
        n >>= 7;
        bytes += 1;
    }
    bytes
}

/// Appends one entry: its length as a LEB128 varint, then its bytes.
pub(super) fn write_entry(out: &mut Vec<u8>, data: &[u8]) {
    let mut n = data.len();
    loop {
        let low = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(low);
            break;
        }
        out.push(low | 0x80);
    }
    out.extend_from_slice(data);
}

/// The entry whose length prefix starts at `at`: (first data byte, end of data = next
/// entry's offset). Single-byte lengths, the common case, skip the varint loop.
#[inline]
pub(super) fn entry_span(bytes: &[u8], at: usize) -> Option<(usize, usize)> {
    let first = *bytes.get(at)?;
    if first < 0x80 {
        let end = at + 1 + first as usize;
        return (end <= bytes.len()).then_some((at + 1, end));
    }
    let (data, rest) = read_entry(bytes.get(at..)?)?;
    let end = bytes.len() - rest.len();
    Some((end - data.len(), end))
}

/// Reads one entry from the front of `buf`: (its bytes, the rest). None on a truncated buffer,
/// which cannot happen for a buffer built by `write_entry`.
pub(super) fn read_entry(buf: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut len: usize = 0;
    let mut shift = 0;
    let mut i = 0;
    loop {
        let b = *buf.get(i)?;
        i += 1;
        len |= ((b & 0x7f) as usize).checked_shl(shift)?;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    let end = i.checked_add(len)?;
    debug_assert!(end <= buf.len(), "listpack entry overruns its buffer");
    Some((buf.get(i..end)?, buf.get(end..)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: Limits = Limits {
        max_entries: 4,
        max_value: 8,
    };

    #[test]
    fn a_hash_is_two_words_so_values_stay_three() {
        assert_eq!(std::mem::size_of::<Hash>(), 16);
    }

    #[test]
    fn small_hashes_are_listpacks_in_insertion_order() {
        let mut h = Hash::new();
        assert!(h.set(b"b", b"1", SMALL));
        assert!(h.set(b"a", b"2", SMALL));
        assert!(!h.set(b"b", b"333", SMALL));
        assert_eq!(h.encoding_name(), "listpack");
        let pairs: Vec<_> = h.iter().collect();
        assert_eq!(
            pairs,
            vec![(&b"b"[..], &b"333"[..]), (&b"a"[..], &b"2"[..])]
        );
        assert_eq!(h.get(b"a"), Some(&b"2"[..]));
        assert_eq!(h.get(b"zz"), None);
        assert!(h.remove(b"b"));
        assert!(!h.remove(b"b"));
        assert_eq!(h.len(), 1);
        assert_eq!(h.iter().collect::<Vec<_>>(), vec![(&b"a"[..], &b"2"[..])]);
    }

    #[test]
    fn too_many_fields_convert_to_a_table() {
        let mut h = Hash::new();
        for i in 0..4 {
            h.set(format!("f{i}").as_bytes(), b"v", SMALL);
        }
        assert_eq!(h.encoding_name(), "listpack");
        h.set(b"f4", b"v", SMALL);
        assert_eq!(h.encoding_name(), "hashtable");
        assert_eq!(h.len(), 5);
        for i in 0..5 {
            assert_eq!(h.get(format!("f{i}").as_bytes()), Some(&b"v"[..]));
        }
    }

    #[test]
    fn a_long_field_or_value_converts_to_a_table() {
        let mut h = Hash::new();
        h.set(b"f", b"12345678", SMALL);
        assert_eq!(h.encoding_name(), "listpack");
        h.set(b"f", b"123456789", SMALL);
        assert_eq!(h.encoding_name(), "hashtable");
        let mut h = Hash::new();
        h.set(b"123456789", b"v", SMALL);
        assert_eq!(h.encoding_name(), "hashtable");
    }

    #[test]
    fn long_entries_use_multi_byte_lengths() {
        let big = vec![b'x'; 70_000];
        let limits = Limits {
            max_entries: 128,
            max_value: usize::MAX,
        };
        let mut h = Hash::new();
        h.set(b"a", &big, limits);
        h.set(&big, b"b", limits);
        assert_eq!(h.encoding_name(), "listpack");
        assert_eq!(h.get(b"a"), Some(&big[..]));
        assert_eq!(h.get(&big), Some(&b"b"[..]));
        h.set(b"a", b"short", limits);
        assert_eq!(h.get(b"a"), Some(&b"short"[..]));
        assert_eq!(h.get(&big), Some(&b"b"[..]));
    }

    #[test]
    fn pairs_at_returns_the_requested_positions() {
        let mut h = Hash::new();
        for i in 0..4 {
            h.set(format!("f{i}").as_bytes(), b"v", SMALL);
        }
        let got: Vec<_> = h.pairs_at(vec![3, 1]).into_iter().map(|p| p.0).collect();
        assert_eq!(got, vec![&b"f1"[..], &b"f3"[..]]);
    }
}
