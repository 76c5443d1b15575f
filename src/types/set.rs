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
//! # Small sets of strings: packed, though Redis 7.0 calls them `hashtable`
//!
//! Redis 7.0 puts every set that is not an intset in a hash table: a set of ten short strings
//! costs a dict header, a bucket array, and per member a 24-byte `dictEntry` plus an sds
//! string, each its own malloc chunk — about 800 bytes for 100 bytes of members. Redis 7.2
//! added a *listpack* encoding for such sets (up to `set-max-listpack-entries` = 128 members of
//! at most `set-max-listpack-value` = 64 bytes). We keep small string sets that way too, as a
//! **packed set**:
//!
//! ```text
//!   Packed { bytes: [ 0x83 | 01 'a' | 03 'f' 'o' 'o' | 02 'x' 'y' ] }   = {a, foo, xy}
//!                     ^ count 3 XOR 0x80     ^ one-byte length, then the member
//! ```
//!
//! one exact-size allocation holding a count byte and the members back to back, each behind
//! a one-byte length (the hash listpack's framing), in insertion order. Membership is a linear
//! scan, as in any listpack: over at most 128 entries of at most 65 bytes it is a few hundred
//! nanoseconds at worst, and the scan that SADD needs to rule out a duplicate is the same one
//! that finds where to append. A removal closes the gap; a random member is a random position.
//!
//! Because Redis 7.0 has no such encoding, the packed set is an implementation detail:
//! OBJECT ENCODING says `hashtable`, an RDB file stores it as a plain set (`RDB_TYPE_SET`, as
//! for a table), and SSCAN pages through it by cursor like a table (its positions stand in
//! for the table's slots and are walked downward, so the cursor stays valid across removals and
//! across the conversion to a table, which keeps the members in the same slot numbers). Only
//! the order of SMEMBERS differs from a table that had deletions, and Redis promises no order.
//!
//! The count byte is stored XOR 0x80, so it is never 2, 4 or 8 — an intset's width byte. The
//! two small encodings share one enum variant (`Repr::Small`, told apart by that first byte)
//! because a third variant would need a tag word and make `Set` three words wide.
//!
//! # Conversions
//!
//! An intset becomes packed (or, past 128 members, a table) when a member that is not an
//! integer (by Redis's strict `string2ll` rules: `"01"` and `"+1"` are strings) is added, or
//! when it grows past `set-max-intset-entries`. A packed set becomes a hash table ([`Dict<()>`]:
//! members as keys, no values), once and for good, at its 129th member or a member longer than
//! 64 bytes. OBJECT ENCODING says `intset` or `hashtable`, nothing else.
//!
//! What it buys (RSS growth, `benches/compare.sh`, 100,000 sets of ten `element:N`): 16.8 MB,
//! against 64.1 MB as tables and 80.6 MB for redis-server 7.0.15.
//!
//! Random members (SRANDMEMBER, SPOP) are a random index into the intset's array, the packed
//! set's members or the `Dict`'s dense slot array.

use super::hash::{entry_span, read_entry, varint_len, write_entry};
use crate::types::dict::Dict;
use crate::types::sds::Sds;
use crate::util::{parse_i64, write_i64, I64_BUF};
use rand::Rng;

/// Redis caps `set-max-intset-entries` at 2^30 because of intset internals.
const MAX_INTSET_CAP: usize = 1 << 30;

/// A set value: an intset while it holds few integers, a packed run of short strings while it
/// holds few strings, a hash table otherwise.
#[derive(Clone)]
pub struct Set {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    /// An intset or a packed set: one exact-size buffer whose first byte says which (an
    /// intset's width is 2, 4 or 8; a packed set's count byte never is, see [`PACKED_TAG`]).
    /// Two variants of one buffer rather than two enum variants, because a third variant
    /// would cost the enum a tag word: `Set` would grow to three words, and every keyspace
    /// `Value` with it.
    Small(Box<[u8]>),
    /// Boxed so that a `Set` stays two words wide.
    Table(Box<Dict<()>>),
}

/// What a [`Repr`] holds, read-only: the small buffer told apart by its first byte.
enum View<'a> {
    Ints(IntSet<&'a [u8]>),
    Packed(Packed<&'a [u8]>),
    Table(&'a Dict<()>),
}

/// Is this small-set buffer a packed set (else an intset; the empty buffer is an intset)?
fn is_packed(bytes: &[u8]) -> bool {
    bytes.first().is_some_and(|b| !matches!(b, 2 | 4 | 8))
}

/// Runs `f` on the intset in `bytes` (moved out and back: no copy, no allocation).
fn edit_ints<R>(bytes: &mut Box<[u8]>, f: impl FnOnce(&mut IntSet) -> R) -> R {
    let mut ints = IntSet {
        bytes: std::mem::take(bytes),
    };
    let result = f(&mut ints);
    *bytes = ints.bytes;
    result
}

/// Runs `f` on the packed set in `bytes` (moved out and back).
fn edit_packed<R>(bytes: &mut Box<[u8]>, f: impl FnOnce(&mut Packed) -> R) -> R {
    let mut packed = Packed {
        bytes: std::mem::take(bytes),
    };
    let result = f(&mut packed);
    *bytes = packed.bytes;
    result
}

/// Most members a packed set holds before it becomes a table (Redis 7.2's default
/// `set-max-listpack-entries`; at most 128, see [`PACKED_TAG`]).
const PACKED_MAX_ENTRIES: usize = 128;
/// A packed set's first byte is its member count XOR this: 0x80..=0xFF for 0..127 members,
/// 0x00 for 128, never an intset width (2, 4, 8).
const PACKED_TAG: u8 = 0x80;
const _: () = assert!(PACKED_MAX_ENTRIES <= 128);
/// Longest member a packed set holds (Redis 7.2's default `set-max-listpack-value`).
const PACKED_MAX_VALUE: usize = 64;

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
    /// (Redis: `setTypeCreate`): an intset if it is an integer, else a "table" (packed while
    /// small).
    pub fn new_for(first: &[u8]) -> Set {
        if parse_i64(first).is_some() {
            Set::new_intset()
        } else if first.len() <= PACKED_MAX_VALUE {
            Set {
                repr: Repr::Small(Box::new([PACKED_TAG])),
            }
        } else {
            Set::new_table()
        }
    }

    pub fn new_intset() -> Set {
        Set {
            repr: Repr::Small(Box::default()),
        }
    }

    pub fn new_table() -> Set {
        Set {
            repr: Repr::Table(Box::default()),
        }
    }

    fn view(&self) -> View<'_> {
        match &self.repr {
            Repr::Small(bytes) if is_packed(bytes) => View::Packed(Packed { bytes }),
            Repr::Small(bytes) => View::Ints(IntSet { bytes }),
            Repr::Table(t) => View::Table(t),
        }
    }

    pub fn len(&self) -> usize {
        match self.view() {
            View::Ints(s) => s.len(),
            View::Packed(p) => p.len(),
            View::Table(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The name OBJECT ENCODING replies with: Redis 7.0's, so a packed set is a `hashtable`.
    pub fn encoding_name(&self) -> &'static str {
        match self.view() {
            View::Ints(_) => "intset",
            View::Packed(_) | View::Table(_) => "hashtable",
        }
    }

    /// Approximate heap bytes owned (MEMORY USAGE).
    pub fn heap_size(&self) -> usize {
        match &self.repr {
            Repr::Small(bytes) => bytes.len(),
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
        match self.view() {
            View::Ints(s) => parse_i64(member).is_some_and(|n| s.contains(n)),
            View::Packed(p) => p.find(member).is_some(),
            View::Table(t) => t.contains_key(member),
        }
    }

    /// Is a member taken from another set in this one? (No formatting or re-parsing when both
    /// are intsets.)
    pub fn contains_member(&self, member: Member) -> bool {
        match (member, self.view()) {
            (Member::Int(n), View::Ints(s)) => s.contains(n),
            _ => member.with_bytes(|b| self.contains(b)),
        }
    }

    /// Adds `member`; true if it was not there. `max_intset` is `set-max-intset-entries`.
    /// Redis: `setTypeAdd`.
    pub fn add(&mut self, member: &[u8], max_intset: usize) -> bool {
        if let Repr::Small(bytes) = &mut self.repr {
            if !is_packed(bytes) {
                match parse_i64(member) {
                    Some(n) => return self.add_int(n, max_intset),
                    None => self.convert_from_intset(member.len()),
                }
            }
        }
        if let Repr::Small(bytes) = &mut self.repr {
            if member.len() <= PACKED_MAX_VALUE {
                let packed = Packed { bytes: &bytes[..] };
                if packed.find(member).is_some() {
                    return false;
                }
                if packed.len() < PACKED_MAX_ENTRIES {
                    edit_packed(bytes, |p| p.push(member));
                    return true;
                }
            }
            self.convert_to_table();
        }
        match &mut self.repr {
            Repr::Table(t) => t.insert(Sds::new(member), ()).is_none(),
            Repr::Small(_) => false,
        }
    }

    /// Adds an integer to a set known to be an intset.
    fn add_int(&mut self, n: i64, max_intset: usize) -> bool {
        let Repr::Small(bytes) = &mut self.repr else {
            return false;
        };
        let (added, len) = edit_ints(bytes, |s| (s.insert(n), s.len()));
        // Only a successful add converts, as in Redis (a lowered limit waits for one).
        if added && len > max_intset.min(MAX_INTSET_CAP) {
            self.convert_from_intset(0);
        }
        added
    }

    /// Adds a member taken from another set (no re-parsing when both are intsets).
    pub fn add_member(&mut self, member: Member, max_intset: usize) -> bool {
        match (member, self.view()) {
            (Member::Int(n), View::Ints(_)) => self.add_int(n, max_intset),
            _ => member.with_bytes(|b| self.add(b, max_intset)),
        }
    }

    /// Removes `member`; true if it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Small(bytes) if is_packed(bytes) => edit_packed(bytes, |p| p.remove(member)),
            Repr::Small(bytes) => {
                parse_i64(member).is_some_and(|n| edit_ints(bytes, |s| s.remove(n)))
            }
            Repr::Table(t) => t.remove(member).is_some(),
        }
    }

    /// The member at position `i`, for `i` in `0..positions()`: the i-th integer of an intset
    /// (O(1)), the i-th member of a packed set (a scan of at most 128 entries), the member in
    /// slot `i` of a table (O(1); None for a free slot).
    pub fn get_index(&self, i: usize) -> Option<Member<'_>> {
        match self.view() {
            View::Ints(s) => (i < s.len()).then(|| Member::Int(s.get(i))),
            View::Packed(p) => p.members().nth(i).map(Member::Str),
            View::Table(t) => t.get_index(i).map(|(k, _)| Member::Str(k.as_bytes())),
        }
    }

    /// The position of a uniformly random member (None if empty).
    fn random_position(&self, rng: &mut impl Rng) -> Option<usize> {
        match &self.repr {
            Repr::Small(_) => {
                let len = self.len();
                (len > 0).then(|| rng.random_range(0..len))
            }
            Repr::Table(t) => t.random_index(rng),
        }
    }

    /// The positions of `count` distinct members chosen uniformly (`count < len`), for
    /// SRANDMEMBER with a positive count.
    pub fn sample_positions(&self, rng: &mut impl Rng, count: usize) -> Vec<usize> {
        match &self.repr {
            Repr::Small(_) => rand::seq::index::sample(rng, self.len(), count).into_vec(),
            Repr::Table(t) => t.sample_indices(rng, count),
        }
    }

    /// A uniformly random member (None if empty). Redis: `setTypeRandomElement`.
    pub fn random_member(&self, rng: &mut impl Rng) -> Option<Member<'_>> {
        let i = self.random_position(rng)?;
        self.get_index(i)
    }

    /// `n` members drawn uniformly and independently (repeats allowed), for SRANDMEMBER with a
    /// negative count. A packed set is walked once, not once per draw.
    pub fn random_members<'a>(
        &'a self,
        rng: &mut impl Rng,
        n: usize,
        mut visit: impl FnMut(Member<'a>),
    ) {
        if let View::Packed(p) = self.view() {
            let members: Vec<&'a [u8]> = p.members().collect();
            if !members.is_empty() {
                for _ in 0..n {
                    visit(Member::Str(members[rng.random_range(0..members.len())]));
                }
            }
            return;
        }
        for _ in 0..n {
            if let Some(m) = self.random_member(rng) {
                visit(m);
            }
        }
    }

    /// Removes and returns a uniformly random member.
    pub fn pop_random(&mut self, rng: &mut impl Rng) -> Option<Sds> {
        let i = self.random_position(rng)?;
        match &mut self.repr {
            Repr::Small(bytes) if is_packed(bytes) => edit_packed(bytes, |p| p.remove_at(i)),
            Repr::Small(bytes) => {
                let n = IntSet { bytes: &bytes[..] }.get(i);
                edit_ints(bytes, |s| s.remove_at(i));
                Some(Member::Int(n).to_sds())
            }
            Repr::Table(t) => t.remove_index(i).map(|(k, _)| k),
        }
    }

    /// Every member: ascending for an intset, insertion order for a packed set, table order
    /// otherwise.
    pub fn iter(&self) -> Members<'_> {
        match self.view() {
            View::Ints(s) => Members::Ints(s, 0),
            View::Packed(p) => Members::Packed(p.members()),
            View::Table(t) => Members::Table(t, 0),
        }
    }

    /// One step of SSCAN over a hash table (see `Dict::scan`); an intset is visited whole and
    /// the returned cursor is 0, as Redis does for small encodings. A packed set reports
    /// itself as a hash table, so it pages like one: its positions play the table's slots,
    /// walked downward from the cursor. A removal shifts only the members above it down by
    /// one, so a member present for the whole scan is still returned (as with the table's
    /// compaction), and after a conversion to a table the members sit in the same slot
    /// numbers, so a cursor carries over.
    pub fn scan<'a>(&'a self, cursor: u64, count: usize, mut visit: impl FnMut(Member<'a>)) -> u64 {
        match self.view() {
            View::Ints(_) => {
                self.iter().for_each(visit);
                0
            }
            View::Packed(p) => {
                let members: Vec<&'a [u8]> = p.members().collect();
                let len = members.len() as u64;
                let top = if cursor == 0 || cursor > len {
                    len
                } else {
                    cursor
                };
                let next = top.saturating_sub(count.max(1) as u64);
                for m in members[next as usize..top as usize].iter().rev() {
                    visit(Member::Str(m));
                }
                next
            }
            View::Table(t) => t.scan(cursor, count, |k: &'a Sds, _| {
                visit(Member::Str(k.as_bytes()))
            }),
        }
    }

    /// Leaves the intset encoding (Redis: `setTypeConvert`), for a set about to take a
    /// non-integer member of `pending_len` bytes (0 when it just outgrew
    /// `set-max-intset-entries`): packed if it stays small, else a table.
    fn convert_from_intset(&mut self, pending_len: usize) {
        if let View::Ints(s) = self.view() {
            let pending = usize::from(pending_len > 0);
            if s.len() + pending <= PACKED_MAX_ENTRIES && pending_len <= PACKED_MAX_VALUE {
                let mut p = Packed {
                    bytes: Box::new([PACKED_TAG]) as Box<[u8]>,
                };
                for i in 0..s.len() {
                    Member::Int(s.get(i)).with_bytes(|b| p.push(b));
                }
                self.repr = Repr::Small(p.bytes);
            } else {
                let mut table: Dict<()> = Dict::new();
                for i in 0..s.len() {
                    table.insert_new(Member::Int(s.get(i)).to_sds(), ());
                }
                self.repr = Repr::Table(Box::new(table));
            }
        }
    }

    /// Moves a packed set's members into a hash table, in order (so position i becomes
    /// slot i).
    fn convert_to_table(&mut self) {
        if let View::Packed(p) = self.view() {
            let mut table: Dict<()> = Dict::new();
            for m in p.members() {
                table.insert_new(Sds::new(m), ());
            }
            self.repr = Repr::Table(Box::new(table));
        }
    }
}

/// Iterator over a set's members ([`Set::iter`]).
pub enum Members<'a> {
    /// An intset and the next position.
    Ints(IntSet<&'a [u8]>, usize),
    Packed(PackedMembers<'a>),
    /// A table and the next slot number.
    Table(&'a Dict<()>, usize),
}

impl<'a> Iterator for Members<'a> {
    type Item = Member<'a>;

    fn next(&mut self) -> Option<Member<'a>> {
        match self {
            Members::Ints(s, i) => {
                let n = (*i < s.len()).then(|| s.get(*i))?;
                *i += 1;
                Some(Member::Int(n))
            }
            Members::Packed(p) => p.next().map(Member::Str),
            Members::Table(t, i) => {
                // Skip the table's free slots.
                while *i < t.slot_count() {
                    let slot = *i;
                    *i += 1;
                    if let Some((k, _)) = t.get_index(slot) {
                        return Some(Member::Str(k.as_bytes()));
                    }
                }
                None
            }
        }
    }
}

/// A small set of strings packed into one exact-size buffer (see the module comment):
///
/// ```text
///   [count] [len][member bytes] [len][member bytes] ...      (len: one byte, members <= 64)
/// ```
///
/// The count byte keeps SCARD O(1); the entries use the hash listpack's framing
/// (`types::hash::write_entry`). Members are kept in insertion order; a removal closes the gap.
/// The empty set owns no allocation.
///
/// `B` is the buffer: a `&[u8]` borrowed from the set to read, or the owned `Box<[u8]>` moved
/// out of it to change (see [`edit_packed`]).
struct Packed<B = Box<[u8]>> {
    bytes: B,
}

/// Iterator over a packed set's members: the unread tail of its entries.
pub struct PackedMembers<'a>(&'a [u8]);

impl<'a> Iterator for PackedMembers<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let (member, rest) = read_entry(self.0)?;
        self.0 = rest;
        Some(member)
    }
}

impl<'a> Packed<&'a [u8]> {
    fn members(self) -> PackedMembers<'a> {
        PackedMembers(self.bytes.get(1..).unwrap_or(&[]))
    }
}

impl<B: AsRef<[u8]>> Packed<B> {
    fn len(&self) -> usize {
        self.bytes
            .as_ref()
            .first()
            .map_or(0, |&header| (header ^ PACKED_TAG) as usize)
    }

    /// The byte span of `member`'s entry (length prefix included), by a linear scan.
    fn find(&self, member: &[u8]) -> Option<std::ops::Range<usize>> {
        let bytes = self.bytes.as_ref();
        let mut at = 1;
        while let Some((start, end)) = entry_span(bytes, at) {
            if &bytes[start..end] == member {
                return Some(at..end);
            }
            at = end;
        }
        None
    }
}

impl Packed {
    /// Appends a member known to be absent, growing the buffer by exactly its entry.
    fn push(&mut self, member: &[u8]) {
        let count = self.len() as u8 + 1;
        let mut v = std::mem::take(&mut self.bytes).into_vec();
        if v.is_empty() {
            v.push(PACKED_TAG);
        }
        v.reserve_exact(varint_len(member.len()) + member.len());
        write_entry(&mut v, member);
        v[0] = count ^ PACKED_TAG;
        self.bytes = v.into_boxed_slice();
    }

    /// Cuts the entry spanning `range` out, reallocating to the exact new size (freeing the
    /// entries when the last member goes; the count byte stays).
    fn cut(&mut self, range: std::ops::Range<usize>) {
        let count = self.len().saturating_sub(1) as u8;
        let mut v = std::mem::take(&mut self.bytes).into_vec();
        v.drain(range);
        v[0] = count ^ PACKED_TAG;
        self.bytes = v.into_boxed_slice();
    }

    fn remove(&mut self, member: &[u8]) -> bool {
        match self.find(member) {
            Some(range) => {
                self.cut(range);
                true
            }
            None => false,
        }
    }

    /// Removes and returns the member at position `i`.
    fn remove_at(&mut self, i: usize) -> Option<Sds> {
        let mut at = 1;
        for _ in 0..i {
            at = entry_span(&self.bytes, at)?.1;
        }
        let (start, end) = entry_span(&self.bytes, at)?;
        let member = Sds::new(&self.bytes[start..end]);
        self.cut(at..end);
        Some(member)
    }
}

/// A sorted array of distinct integers packed at the narrowest width that fits them all
/// (Redis: `intset.c`). See the module comment.
///
/// One exact-size allocation, `[width][len * width bytes, little-endian, ascending]`, resized
/// on every change as Redis reallocs its intsets: a `Vec` would keep up to half its capacity
/// spare, and a separate width field would make `Set` three words instead of two. The empty
/// set owns no allocation (and reads as width 2).
///
/// `B` is the buffer: borrowed to read, owned to change (see [`edit_ints`]).
pub struct IntSet<B = Box<[u8]>> {
    bytes: B,
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

impl<B: AsRef<[u8]>> IntSet<B> {
    /// Bytes per element: 2, 4 or 8.
    fn width(&self) -> u8 {
        self.bytes.as_ref().first().copied().unwrap_or(2)
    }

    /// The packed elements, after the width byte.
    fn body(&self) -> &[u8] {
        self.bytes.as_ref().get(1..).unwrap_or(&[])
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
}

impl IntSet {
    fn encode(n: i64, width: u8) -> ([u8; 8], usize) {
        let w = width as usize;
        let mut out = [0u8; 8];
        // Little-endian: the low `w` bytes of the i64 are the narrower encoding of `n` (which
        // fits by construction).
        out[..w].copy_from_slice(&n.to_le_bytes()[..w]);
        (out, w)
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

    #[test]
    fn small_string_sets_are_packed_and_report_hashtable() {
        let mut s = Set::new_for(b"a");
        for i in 0..PACKED_MAX_ENTRIES {
            assert!(s.add(format!("m{i}").as_bytes(), 512));
        }
        assert!(!s.add(b"m7", 512));
        assert!(matches!(s.view(), View::Packed(_)));
        assert_eq!(s.encoding_name(), "hashtable");
        assert_eq!(s.len(), PACKED_MAX_ENTRIES);
        let packed_bytes: usize = (0..PACKED_MAX_ENTRIES)
            .map(|i| 1 + format!("m{i}").len())
            .sum();
        assert_eq!(s.heap_size(), 1 + packed_bytes);
        let before = members(&s);
        // One more member: a table, with the members in the same order.
        assert!(s.add(b"extra", 512));
        assert!(matches!(s.view(), View::Table(_)));
        assert_eq!(members(&s)[..PACKED_MAX_ENTRIES], before[..]);
        assert!(s.contains(b"m0") && s.contains(b"extra"));

        // A member longer than the limit goes straight to a table.
        let mut s = Set::new_for(b"a");
        s.add(b"a", 512);
        s.add(&[b'x'; PACKED_MAX_VALUE + 1], 512);
        assert!(matches!(s.view(), View::Table(_)));
        assert!(matches!(Set::new_for(&[b'x'; 65]).view(), View::Table(_)));
    }

    #[test]
    fn packed_sets_remove_pop_and_take_integers() {
        let mut rng = <rand::rngs::SmallRng as rand::SeedableRng>::seed_from_u64(3);
        let mut s = Set::new_intset();
        s.add(b"1", 512);
        s.add(b"x", 512);
        assert!(matches!(s.view(), View::Packed(_)));
        assert!(s.contains_member(Member::Int(1)));
        s.add(b"2", 512);
        assert_eq!(
            members(&s),
            vec![b"1".to_vec(), b"x".to_vec(), b"2".to_vec()]
        );
        assert!(s.remove(b"x") && !s.remove(b"x"));
        assert_eq!(s.len(), 2);
        let mut popped: Vec<Vec<u8>> = std::iter::from_fn(|| s.pop_random(&mut rng))
            .map(|m| m.to_vec())
            .collect();
        popped.sort();
        assert_eq!(popped, vec![b"1".to_vec(), b"2".to_vec()]);
        assert!(s.is_empty());
        // Still packed once empty (the count byte stays), and usable.
        s.add(b"y", 512);
        assert_eq!(members(&s), vec![b"y".to_vec()]);

        // An intset outgrowing set-max-intset-entries becomes packed while small.
        let mut s = Set::new_intset();
        for i in 0..4 {
            s.add(format!("{i}").as_bytes(), 3);
        }
        assert!(matches!(s.view(), View::Packed(_)));
        assert_eq!(s.encoding_name(), "hashtable");
        assert_eq!(s.len(), 4);
    }

    #[test]
    fn a_packed_scan_pages_downward_and_misses_nothing_across_removals() {
        let mut s = Set::new_for(b"a");
        for i in 0..25 {
            s.add(format!("m{i}").as_bytes(), 512);
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        let mut calls = 0;
        loop {
            let mut page = Vec::new();
            cursor = s.scan(cursor, 10, |m| page.push(m.with_bytes(|b| b.to_vec())));
            calls += 1;
            assert!(page.len() <= 10);
            seen.extend(page);
            // Remove a member that was already returned... and one not yet returned.
            if calls == 1 {
                assert!(s.remove(b"m24") && s.remove(b"m3"));
            }
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(calls, 3);
        for i in (0..25).filter(|&i| i != 3) {
            assert!(seen.contains(format!("m{i}").as_bytes()), "m{i} missed");
        }
    }
}
