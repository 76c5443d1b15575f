//! The set type: unordered collections of distinct strings (Redis: `t_set.c` API half,
//! `intset.c`).
//!
//! # Two encodings, as in Redis 7.0
//!
//! Sets of small integers are common (user ids, tag ids), and storing `"1042"` as a separately
//! allocated string in a hash table costs ~50 bytes for 4 bytes of information. Redis keeps such
//! sets as an *intset*: a sorted array of integers, all stored with the same width — 16, 32 or 64
//! bits, the narrowest that fits every member:
//!
//! ```text
//!   IntSet { bytes: [ 02 | 01 00 | 05 00 | 2a 00 ] }   = {1, 5, 42}: width 2, little-endian i16s
//!   add 70000 (needs 32 bits) -> "upgrade": re-encode everything as i32, then insert
//! ```
//!
//! The bytes are one exact-size allocation (the width byte first), reallocated on every change
//! as Redis reallocs its intsets, and `Set` is two words, held directly in the keyspace's
//! `Value`: a small integer set costs one allocation of `1 + n * width` bytes. (Before this a
//! boxed `Set` around a growing `Vec` cost two allocations and up to 2x spare capacity: 100,000
//! sets of 0..9 took 1.28x Redis's RSS.)
//!
//! Membership is a binary search (O(log n)); insertion and removal shift the tail (O(n)), which
//! is why the encoding is only used up to `set-max-intset-entries` members (default 512).
//! Iteration is in ascending numeric order, which is why SMEMBERS on a small integer set replies
//! sorted in Redis — and here.
//!
//! A set converts, once and for good, to a hash table ([`Dict<()>`]: members as keys, no values)
//! when a member that is not an integer (by Redis's strict `string2ll` rules: `"01"` and `"+1"`
//! are strings) is added, or when it grows past `set-max-intset-entries`. Redis 7.0 has no
//! listpack encoding for sets (that arrived in 7.2), so OBJECT ENCODING says `intset` or
//! `hashtable`, nothing else.
//!
//! Random members (SRANDMEMBER, SPOP) are O(1) in both encodings: a random index into the
//! intset's array or into the `Dict`'s dense slot array.

use crate::types::dict::Dict;
use crate::types::sds::Sds;
use crate::util::{parse_i64, write_i64, I64_BUF};
use rand::Rng;

/// Redis caps `set-max-intset-entries` at 2^30 because of intset internals.
const MAX_INTSET_CAP: usize = 1 << 30;

/// A set value: an intset while it holds few integers, a hash table otherwise.
#[derive(Clone)]
pub struct Set {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    Ints(IntSet),
    /// Boxed so that a `Set` stays two words wide.
    Table(Box<Dict<()>>),
}

/// One member as stored: an integer (intset) or bytes (table). Integers are turned into their
/// decimal text only when a reply or another set needs bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Member<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl Member<'_> {
    /// Calls `f` with the member's bytes (integers are formatted on the stack).
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match *self {
            Member::Int(n) => {
                let mut buf = [0u8; I64_BUF];
                f(write_i64(n, &mut buf))
            }
            Member::Str(s) => f(s),
        }
    }

    pub fn to_sds(&self) -> Sds {
        self.with_bytes(Sds::new)
    }
}

impl Set {
    /// An empty set in the encoding Redis would pick for a first member `first`
    /// (Redis: `setTypeCreate`): an intset if it is an integer, else a table.
    pub fn new_for(first: &[u8]) -> Set {
        if parse_i64(first).is_some() {
            Set::new_intset()
        } else {
            Set::new_table()
        }
    }

    pub fn new_intset() -> Set {
        Set {
            repr: Repr::Ints(IntSet::default()),
        }
    }

    pub fn new_table() -> Set {
        Set {
            repr: Repr::Table(Box::default()),
        }
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Ints(s) => s.len(),
            Repr::Table(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The name OBJECT ENCODING replies with.
    pub fn encoding_name(&self) -> &'static str {
        match &self.repr {
            Repr::Ints(_) => "intset",
            Repr::Table(_) => "hashtable",
        }
    }

    /// Approximate heap bytes owned (MEMORY USAGE).
    pub fn heap_size(&self) -> usize {
        match &self.repr {
            Repr::Ints(s) => s.bytes.len(),
            Repr::Table(t) => t.table_bytes() + t.keys().map(|k| k.heap_size()).sum::<usize>(),
        }
    }

    /// [`Set::heap_size`], with a hash table's members estimated from `samples` of them
    /// (0: all), as MEMORY USAGE does.
    pub fn heap_size_sampled(&self, samples: usize) -> usize {
        match &self.repr {
            Repr::Table(t) if samples > 0 => {
                let sizes = t.keys().map(|k| k.heap_size());
                t.table_bytes() + super::sampled_total(sizes, t.len(), samples)
            }
            _ => self.heap_size(),
        }
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        match &self.repr {
            Repr::Ints(s) => parse_i64(member).is_some_and(|n| s.contains(n)),
            Repr::Table(t) => t.contains_key(member),
        }
    }

    /// Is a member taken from another set in this one? (No formatting or re-parsing when both
    /// are intsets.)
    pub fn contains_member(&self, member: Member) -> bool {
        match (member, &self.repr) {
            (Member::Int(n), Repr::Ints(s)) => s.contains(n),
            _ => member.with_bytes(|b| self.contains(b)),
        }
    }

    /// Adds `member`; true if it was not there. `max_intset` is `set-max-intset-entries`.
    /// Redis: `setTypeAdd`.
    pub fn add(&mut self, member: &[u8], max_intset: usize) -> bool {
        if let Repr::Ints(s) = &mut self.repr {
            match parse_i64(member) {
                Some(n) => {
                    let added = s.insert(n);
                    // Only a successful add converts, as in Redis (a lowered limit waits for one).
                    if added && s.len() > max_intset.min(MAX_INTSET_CAP) {
                        self.convert_to_table();
                    }
                    return added;
                }
                None => self.convert_to_table(),
            }
        }
        match &mut self.repr {
            Repr::Table(t) => t.insert(Sds::new(member), ()).is_none(),
            Repr::Ints(_) => false,
        }
    }

    /// Adds a member taken from another set (no re-parsing when both are intsets).
    pub fn add_member(&mut self, member: Member, max_intset: usize) -> bool {
        match (member, &mut self.repr) {
            (Member::Int(n), Repr::Ints(s)) => {
                let added = s.insert(n);
                if added && s.len() > max_intset.min(MAX_INTSET_CAP) {
                    self.convert_to_table();
                }
                added
            }
            _ => member.with_bytes(|b| self.add(b, max_intset)),
        }
    }

    /// Removes `member`; true if it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Ints(s) => parse_i64(member).is_some_and(|n| s.remove(n)),
            Repr::Table(t) => t.remove(member).is_some(),
        }
    }

    /// The member at position `i`, for `i` in `0..positions()` (O(1) in both encodings): the
    /// i-th integer of an intset, the member in slot `i` of a table (None for a free slot).
    pub fn get_index(&self, i: usize) -> Option<Member<'_>> {
        match &self.repr {
            Repr::Ints(s) => (i < s.len()).then(|| Member::Int(s.get(i))),
            Repr::Table(t) => t.get_index(i).map(|(k, _)| Member::Str(k.as_bytes())),
        }
    }

    /// How many positions [`get_index`](Self::get_index) answers for.
    fn positions(&self) -> usize {
        match &self.repr {
            Repr::Ints(s) => s.len(),
            Repr::Table(t) => t.slot_count(),
        }
    }

    /// The position of a uniformly random member (None if empty).
    fn random_position(&self, rng: &mut impl Rng) -> Option<usize> {
        match &self.repr {
            Repr::Ints(s) => (s.len() > 0).then(|| rng.random_range(0..s.len())),
            Repr::Table(t) => t.random_index(rng),
        }
    }

    /// The positions of `count` distinct members chosen uniformly (`count < len`), for
    /// SRANDMEMBER with a positive count.
    pub fn sample_positions(&self, rng: &mut impl Rng, count: usize) -> Vec<usize> {
        match &self.repr {
            Repr::Ints(s) => rand::seq::index::sample(rng, s.len(), count).into_vec(),
            Repr::Table(t) => t.sample_indices(rng, count),
        }
    }

    /// A uniformly random member (None if empty). Redis: `setTypeRandomElement`.
    pub fn random_member(&self, rng: &mut impl Rng) -> Option<Member<'_>> {
        let i = self.random_position(rng)?;
        self.get_index(i)
    }

    /// Removes and returns a uniformly random member.
    pub fn pop_random(&mut self, rng: &mut impl Rng) -> Option<Sds> {
        let i = self.random_position(rng)?;
        match &mut self.repr {
            Repr::Ints(s) => {
                let n = s.get(i);
                s.remove_at(i);
                Some(Member::Int(n).to_sds())
            }
            Repr::Table(t) => t.remove_index(i).map(|(k, _)| k),
        }
    }

    /// Every member: ascending for an intset, table order otherwise.
    pub fn iter(&self) -> impl Iterator<Item = Member<'_>> + '_ {
        (0..self.positions()).filter_map(move |i| self.get_index(i))
    }

    /// One step of SSCAN over a hash table (see `Dict::scan`); an intset is visited whole and
    /// the returned cursor is 0, as Redis does for small encodings.
    pub fn scan<'a>(&'a self, cursor: u64, count: usize, mut visit: impl FnMut(Member<'a>)) -> u64 {
        match &self.repr {
            Repr::Ints(_) => {
                self.iter().for_each(visit);
                0
            }
            Repr::Table(t) => t.scan(cursor, count, |k: &'a Sds, _| {
                visit(Member::Str(k.as_bytes()))
            }),
        }
    }

    /// Moves every member into a hash table (Redis: `setTypeConvert`).
    fn convert_to_table(&mut self) {
        if let Repr::Ints(s) = &self.repr {
            let mut table: Dict<()> = Dict::new();
            for i in 0..s.len() {
                table.insert_new(Member::Int(s.get(i)).to_sds(), ());
            }
            self.repr = Repr::Table(Box::new(table));
        }
    }
}

/// A sorted array of distinct integers packed at the narrowest width that fits them all
/// (Redis: `intset.c`). See the module comment.
///
/// One exact-size allocation, `[width][len * width bytes, little-endian, ascending]`, resized
/// on every change as Redis reallocs its intsets: a `Vec` would keep up to half its capacity
/// spare, and a separate width field would make `Set` three words instead of two. The empty
/// set owns no allocation (and reads as width 2).
#[derive(Clone, Debug, Default)]
struct IntSet {
    bytes: Box<[u8]>,
}

/// The narrowest width (in bytes) that holds `n`. Redis: `_intsetValueEncoding`.
fn width_for(n: i64) -> u8 {
    if i16::try_from(n).is_ok() {
        2
    } else if i32::try_from(n).is_ok() {
        4
    } else {
        8
    }
}

impl IntSet {
    /// Bytes per element: 2, 4 or 8.
    fn width(&self) -> u8 {
        self.bytes.first().copied().unwrap_or(2)
    }

    /// The packed elements, after the width byte.
    fn body(&self) -> &[u8] {
        self.bytes.get(1..).unwrap_or(&[])
    }

    fn len(&self) -> usize {
        self.body().len() / self.width() as usize
    }

    /// The element at `i` (caller guarantees `i < len`).
    fn get(&self, i: usize) -> i64 {
        let w = self.width() as usize;
        let b = &self.body()[i * w..(i + 1) * w];
        match b {
            [a, b] => i16::from_le_bytes([*a, *b]) as i64,
            [a, b, c, d] => i32::from_le_bytes([*a, *b, *c, *d]) as i64,
            _ => {
                let mut eight = [0u8; 8];
                eight.copy_from_slice(b);
                i64::from_le_bytes(eight)
            }
        }
    }

    fn encode(n: i64, width: u8) -> ([u8; 8], usize) {
        let w = width as usize;
        let mut out = [0u8; 8];
        // Little-endian: the low `w` bytes of the i64 are the narrower encoding of `n` (which
        // fits by construction).
        out[..w].copy_from_slice(&n.to_le_bytes()[..w]);
        (out, w)
    }

    /// Binary search: Ok(position) if present, Err(insertion point) otherwise.
    fn search(&self, n: i64) -> Result<usize, usize> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.get(mid).cmp(&n) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(mid),
            }
        }
        Err(lo)
    }

    fn contains(&self, n: i64) -> bool {
        width_for(n) <= self.width() && self.search(n).is_ok()
    }

    /// Inserts `n` in order; false if present. Widens every element first if `n` needs more
    /// bits (Redis: `intsetUpgradeAndAdd`).
    fn insert(&mut self, n: i64) -> bool {
        let needed = width_for(n);
        if needed > self.width() {
            self.upgrade(needed);
        }
        let at = match self.search(n) {
            Ok(_) => return false,
            Err(at) => at,
        };
        let width = self.width();
        let (enc, w) = IntSet::encode(n, width);
        let body = self.body();
        let offset = at * w;
        let mut out = Vec::with_capacity(1 + body.len() + w);
        out.push(width);
        out.extend_from_slice(&body[..offset]);
        out.extend_from_slice(&enc[..w]);
        out.extend_from_slice(&body[offset..]);
        self.bytes = out.into_boxed_slice();
        true
    }

    fn upgrade(&mut self, width: u8) {
        let len = self.len();
        let mut wider = Vec::with_capacity(1 + len * width as usize);
        wider.push(width);
        for i in 0..len {
            let (enc, w) = IntSet::encode(self.get(i), width);
            wider.extend_from_slice(&enc[..w]);
        }
        self.bytes = wider.into_boxed_slice();
    }

    fn remove(&mut self, n: i64) -> bool {
        if width_for(n) > self.width() {
            return false;
        }
        match self.search(n) {
            Ok(at) => {
                self.remove_at(at);
                true
            }
            Err(_) => false,
        }
    }

    fn remove_at(&mut self, i: usize) {
        let w = self.width() as usize;
        let body = self.body();
        if body.len() == w {
            self.bytes = Box::default();
            return;
        }
        let mut out = Vec::with_capacity(self.bytes.len() - w);
        out.push(self.bytes[0]);
        out.extend_from_slice(&body[..i * w]);
        out.extend_from_slice(&body[(i + 1) * w..]);
        self.bytes = out.into_boxed_slice();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(s: &Set) -> Vec<Vec<u8>> {
        s.iter().map(|m| m.with_bytes(|b| b.to_vec())).collect()
    }

    #[test]
    fn integer_sets_are_sorted_intsets() {
        let mut s = Set::new_for(b"5");
        for m in [&b"5"[..], b"-3", b"100", b"5"] {
            s.add(m, 512);
        }
        assert_eq!(s.encoding_name(), "intset");
        assert_eq!(
            members(&s),
            vec![b"-3".to_vec(), b"5".to_vec(), b"100".to_vec()]
        );
        assert!(s.contains(b"100"));
        assert!(!s.contains(b"0100"));
        assert!(!s.contains(b"abc"));
    }

    #[test]
    fn intsets_upgrade_their_width_and_keep_order() {
        let mut s = Set::new_intset();
        s.add(b"1", 512);
        s.add(b"-70000", 512);
        s.add(b"9223372036854775807", 512);
        s.add(b"2", 512);
        assert_eq!(
            members(&s),
            vec![
                b"-70000".to_vec(),
                b"1".to_vec(),
                b"2".to_vec(),
                b"9223372036854775807".to_vec()
            ]
        );
        assert!(s.remove(b"1"));
        assert!(!s.remove(b"1"));
        assert!(!s.remove(b"99999999999"));
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn a_non_integer_or_too_many_members_convert_to_a_table() {
        let mut s = Set::new_intset();
        s.add(b"1", 2);
        s.add(b"2", 2);
        assert_eq!(s.encoding_name(), "intset");
        s.add(b"3", 2);
        assert_eq!(s.encoding_name(), "hashtable");
        assert!(s.contains(b"1") && s.contains(b"3"));

        let mut s = Set::new_for(b"1");
        s.add(b"1", 512);
        s.add(b"01", 512);
        assert_eq!(s.encoding_name(), "hashtable");
        assert!(s.contains(b"1") && s.contains(b"01"));
    }

    #[test]
    fn members_of_one_set_are_found_in_another_whatever_the_encodings() {
        let mut ints = Set::new_intset();
        ints.add(b"7", 512);
        let mut table = Set::new_table();
        table.add(b"7", 512);
        table.add(b"x", 512);
        assert!(ints.contains_member(Member::Int(7)));
        assert!(!ints.contains_member(Member::Int(100_000)));
        assert!(!ints.contains_member(Member::Str(b"x")));
        assert!(table.contains_member(Member::Int(7)));
        assert!(table.contains_member(Member::Str(b"x")));
    }

    #[test]
    fn popping_everything_empties_the_set() {
        let mut rng = <rand::rngs::SmallRng as rand::SeedableRng>::seed_from_u64(7);
        for first in [&b"1"[..], b"x"] {
            let mut s = Set::new_for(first);
            for i in 0..20 {
                s.add(format!("{i}").as_bytes(), 512);
            }
            s.add(first, 512);
            let mut seen = std::collections::HashSet::new();
            while let Some(m) = s.pop_random(&mut rng) {
                assert!(seen.insert(m.to_vec()));
            }
            assert!(s.is_empty());
            assert_eq!(seen.len(), if first == b"1" { 20 } else { 21 });
        }
    }

    #[test]
    fn a_set_is_two_words_and_an_intset_one_exact_allocation() {
        assert_eq!(std::mem::size_of::<Set>(), 16);
        let mut s = Set::new_intset();
        for i in 0..10 {
            s.add(format!("{i}").as_bytes(), 512);
        }
        assert_eq!(s.heap_size(), 1 + 10 * 2);
        s.add(b"100000", 512);
        assert_eq!(s.heap_size(), 1 + 11 * 4);
        for i in 0..10 {
            assert!(s.remove(format!("{i}").as_bytes()));
        }
        assert!(s.remove(b"100000"));
        assert_eq!((s.len(), s.heap_size()), (0, 0));
        s.add(b"-5", 512);
        assert_eq!(members(&s), vec![b"-5".to_vec()]);
    }
}
