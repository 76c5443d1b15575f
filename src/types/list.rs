//! The list type: a quicklist of listpacks (Redis: `quicklist.c`, `listpack.c`, and the API
//! half of `t_list.c`).
//!
//! # Layout
//!
//! A Redis list must push and pop at both ends in O(1), yet most lists are short, and a
//! per-element heap allocation (a `VecDeque<Vec<u8>>`) would cost 24 bytes of header plus a
//! malloc chunk for every three-byte element. Redis answers with two nested structures, and so
//! do we.
//!
//! **The listpack** ([`Listpack`]) stores a run of elements back to back in one byte buffer.
//! Each entry is
//!
//! ```text
//!   <encoding+length header> <payload> <backlen>
//! ```
//!
//! using Redis's listpack encodings, so a small integer costs two bytes and a short string two
//! bytes plus its text:
//!
//! ```text
//!   0xxxxxxx                     integer 0..127 (no payload)
//!   10xxxxxx                     string of 0..63 bytes
//!   110xxxxx yyyyyyyy            13-bit signed integer
//!   1110xxxx yyyyyyyy            string of up to 4095 bytes
//!   11110000 <4 bytes LE>        string of any length
//!   11110001 / 0010 / 0011 / 0100  16 / 24 / 32 / 64-bit signed integer follows
//! ```
//!
//! Only *canonical* integers are stored as integers (`"12"` yes, `"012"`, `"+1"` or `"-0"` no),
//! so turning an integer entry back into text gives exactly the bytes the client sent.
//! `backlen` is the size of header + payload written as a varint that reads right-to-left
//! (seven bits per byte, the high bit saying "one more byte to the left"), so an entry can be
//! reached from its right edge: that is what makes popping the last element and iterating
//! backwards possible in a buffer with no per-entry pointers.
//!
//! **The quicklist** is a `VecDeque` of listpacks ("nodes"). Pushing at the head or tail touches
//! only the first or last node; when that node is full a new one is started. A node is full
//! according to `list-max-listpack-size` (`fill`): a negative fill caps each node's bytes
//! (-1 = 4 KB, -2 = 8 KB, ... -5 = 64 KB), a positive one caps its element count (and, as in
//! Redis, its bytes at 8 KB as a safety limit). A single element bigger than the limit still
//! gets a node of its own. Middle edits (LINSERT, LSET) may overfill a node; it is then split in
//! two halves.
//!
//! **Small lists are a bare listpack.** A list that fits in one node is stored as that node
//! alone ([`Repr::Packed`]), without the deque: one allocation for the elements, none for the
//! spine. It becomes a quicklist when a push would overfill it and goes back to a bare listpack
//! when it shrinks to one node. Redis 7.0 always reports `OBJECT ENCODING` as `quicklist` (the
//! `listpack` list encoding appeared in 7.2), so this switch is invisible to clients.
//!
//! **Two words wide.** A listpack's buffer is an exact-size `Box<[u8]>` that starts with the
//! element count (so LLEN stays O(1)) and is reallocated on every change, as Redis reallocs a
//! listpack on every insert; an empty listpack allocates nothing. The quicklist's spine (the
//! deque and the total count) sits behind a `Box`. So a whole [`List`] is two words and lives
//! unboxed in the keyspace's `Value`, like hashes, sets and sorted sets: a short list costs one
//! allocation, its listpack, and a quicklist node costs two words in the deque plus its buffer.
//!
//! What it buys (RSS growth when loaded, `benches/compare.sh`, release build with glibc malloc,
//! vs redis-server 7.0.15 with jemalloc): 1,000 lists x 1,000 `element:N` strings: 12.9 MB vs
//! 13.2 MB; 100,000 lists x 10: 18.5 MB vs 29.3 MB (23.0 MB when the list itself was boxed
//! and its listpack kept its count beside a `Vec`).
//!
//! Costs: push/pop at either end is O(size of one node) (a shift and a realloc of the edge
//! node), i.e. O(1) for a bounded fill; LINDEX and LSET walk whole nodes by their counts and
//! then one node's entries; LRANGE is O(start + count).

use crate::util::{parse_i64, write_i64, I64_BUF};
use std::collections::VecDeque;

/// Which end of the list (Redis: `LIST_HEAD` / `LIST_TAIL`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum End {
    Head,
    Tail,
}

/// One element as stored: its text, or an integer that stands for its decimal text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Elem<'a> {
    Str(&'a [u8]),
    Int(i64),
}

impl<'a> Elem<'a> {
    /// The element's bytes; integers are formatted into `buf`.
    pub fn as_bytes<'b>(&self, buf: &'b mut [u8; I64_BUF]) -> &'b [u8]
    where
        'a: 'b,
    {
        match *self {
            Elem::Str(s) => s,
            Elem::Int(n) => write_i64(n, buf),
        }
    }

    /// An owned copy of the element's bytes.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut buf = [0u8; I64_BUF];
        self.as_bytes(&mut buf).to_vec()
    }

    /// Does the element equal `other` byte for byte?
    pub fn eq_bytes(&self, other: &[u8]) -> bool {
        match *self {
            Elem::Str(s) => s == other,
            Elem::Int(n) => {
                let mut buf = [0u8; I64_BUF];
                write_i64(n, &mut buf) == other
            }
        }
    }
}

/// The integer `s` stands for, if it is written canonically (round-trips to the same bytes).
fn canonical_int(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 || !(s[0].is_ascii_digit() || s[0] == b'-') {
        return None;
    }
    let n = parse_i64(s)?;
    let mut buf = [0u8; I64_BUF];
    (write_i64(n, &mut buf) == s).then_some(n)
}

// ---------------------------------------------------------------------------------------------
// Listpack: one packed run of entries.
// ---------------------------------------------------------------------------------------------

/// Node size limits for negative fills -1..-5 (Redis: `optimization_level`).
const SIZE_LEVELS: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
/// With a positive (count) fill, a node still never grows past this many bytes.
const SIZE_SAFETY_LIMIT: usize = 8192;
/// Largest positive fill Redis honours (`FILL_MAX`).
const FILL_MAX: i64 = 1 << 15;

/// Would a node of `bytes` bytes and `count` entries respect `fill`?
fn node_fits(bytes: usize, count: usize, fill: i64) -> bool {
    let fill = fill.clamp(-5, FILL_MAX);
    if fill < 0 {
        bytes <= SIZE_LEVELS[(-fill - 1) as usize]
    } else {
        count <= fill.max(1) as usize && bytes <= SIZE_SAFETY_LIMIT
    }
}

/// Bytes of the backlen varint for an entry of `len` bytes (header + payload).
fn backlen_size(len: usize) -> usize {
    let mut n = 1;
    let mut v = len >> 7;
    while v > 0 {
        n += 1;
        v >>= 7;
    }
    n
}

/// An element about to be stored: its bytes, the integer it stands for (if canonical), and the
/// size of its encoded entry — worked out once per insert.
struct Encoded<'a> {
    elem: &'a [u8],
    int: Option<i64>,
    size: usize,
}

impl<'a> Encoded<'a> {
    fn new(elem: &'a [u8]) -> Encoded<'a> {
        let int = canonical_int(elem);
        let body = match int {
            Some(0..=127) => 1,
            Some(-4096..=4095) => 2,
            Some(v) if i16::try_from(v).is_ok() => 3,
            Some(v) if (-(1 << 23)..(1 << 23)).contains(&v) => 4,
            Some(v) if i32::try_from(v).is_ok() => 5,
            Some(_) => 9,
            None if elem.len() < 64 => 1 + elem.len(),
            None if elem.len() < 4096 => 2 + elem.len(),
            None => 5 + elem.len(),
        };
        Encoded {
            elem,
            int,
            size: body + backlen_size(body),
        }
    }
}

/// Size of the entry `elem` would be stored as.
#[cfg(test)]
fn entry_size(elem: &[u8]) -> usize {
    Encoded::new(elem).size
}

/// Appends the encoding of an element (header, payload, backlen) to `out`.
fn encode_entry(e: &Encoded, out: &mut Vec<u8>) {
    let start = out.len();
    let elem = e.elem;
    match e.int {
        Some(v @ 0..=127) => out.push(v as u8),
        Some(v @ -4096..=4095) => {
            let u = (v as u16) & 0x1fff;
            out.push(0xC0 | (u >> 8) as u8);
            out.push(u as u8);
        }
        Some(v) => {
            let (tag, width) = if i16::try_from(v).is_ok() {
                (0xF1, 2)
            } else if (-(1 << 23)..(1 << 23)).contains(&v) {
                (0xF2, 3)
            } else if i32::try_from(v).is_ok() {
                (0xF3, 4)
            } else {
                (0xF4, 8)
            };
            out.push(tag);
            out.extend_from_slice(&v.to_le_bytes()[..width]);
        }
        None => {
            let len = elem.len();
            if len < 64 {
                out.push(0x80 | len as u8);
            } else if len < 4096 {
                out.push(0xE0 | (len >> 8) as u8);
                out.push(len as u8);
            } else {
                out.push(0xF0);
                out.extend_from_slice(&(len as u32).to_le_bytes());
            }
            out.extend_from_slice(elem);
        }
    }
    // backlen: the most significant 7-bit group leftmost; every byte but the leftmost has the
    // high bit set, meaning "keep reading to the left".
    let len = out.len() - start;
    let n = backlen_size(len);
    for i in (0..n).rev() {
        let group = ((len >> (7 * i)) & 127) as u8;
        out.push(if i == n - 1 { group } else { group | 128 });
    }
}

/// Bytes of the element count at the front of a non-empty listpack buffer.
const HEADER: usize = 4;

/// A packed run of list entries (Redis: a listpack).
///
/// The buffer is empty (no allocation) for an empty listpack, and otherwise
///
/// ```text
///   <count: u32 LE> <entry> <entry> ...
/// ```
///
/// sized exactly: every change reallocates it to its new size, as Redis reallocs a listpack on
/// every insert. So a listpack is one pointer and one length (two words) and a short list is a
/// single allocation holding its count and its elements — the count keeps LLEN O(1). Entry
/// offsets used by the methods below count from the first entry, past the header.
#[derive(Clone, Default, Debug)]
pub struct Listpack {
    buf: Box<[u8]>,
}

/// Writes `count` into the header of a non-empty listpack buffer.
fn set_count(buf: &mut [u8], count: usize) {
    debug_assert!(u32::try_from(count).is_ok());
    buf[..HEADER].copy_from_slice(&(count as u32).to_le_bytes());
}

impl Listpack {
    fn len(&self) -> usize {
        match *self.buf {
            [a, b, c, d, ..] => u32::from_le_bytes([a, b, c, d]) as usize,
            _ => 0,
        }
    }

    /// The entries, back to back (the buffer past its header).
    fn entries(&self) -> &[u8] {
        self.buf.get(HEADER..).unwrap_or_default()
    }

    /// Bytes of the entries (the header not counted: node limits are on the entries).
    fn bytes(&self) -> usize {
        self.buf.len().saturating_sub(HEADER)
    }

    /// Can one more entry of `size` bytes go in without overfilling the node?
    fn allows_insert(&self, size: usize, fill: i64) -> bool {
        node_fits(self.bytes() + size, self.len() + 1, fill)
    }

    fn fits(&self, fill: i64) -> bool {
        self.len() <= 1 || node_fits(self.bytes(), self.len(), fill)
    }

    /// Decodes the entry at byte `off`: the element and the entry's total size.
    fn entry_at(&self, off: usize) -> (Elem<'_>, usize) {
        let b = &self.entries()[off..];
        let int_n = |width: usize| {
            let mut le = [0u8; 8];
            le[..width].copy_from_slice(&b[1..1 + width]);
            // Sign-extend from `width` bytes.
            let shift = 64 - 8 * width as u32;
            ((i64::from_le_bytes(le)) << shift) >> shift
        };
        let (elem, body) = match b[0] {
            x if x & 0x80 == 0 => (Elem::Int(x as i64), 1),
            x if x & 0xC0 == 0x80 => {
                let len = (x & 0x3F) as usize;
                (Elem::Str(&b[1..1 + len]), 1 + len)
            }
            x if x & 0xE0 == 0xC0 => {
                let u = (((x & 0x1F) as i64) << 8) | b[1] as i64;
                let v = if u >= 1 << 12 { u - (1 << 13) } else { u };
                (Elem::Int(v), 2)
            }
            x if x & 0xF0 == 0xE0 => {
                let len = (((x & 0x0F) as usize) << 8) | b[1] as usize;
                (Elem::Str(&b[2..2 + len]), 2 + len)
            }
            0xF0 => {
                let len = u32::from_le_bytes([b[1], b[2], b[3], b[4]]) as usize;
                (Elem::Str(&b[5..5 + len]), 5 + len)
            }
            0xF1 => (Elem::Int(int_n(2)), 3),
            0xF2 => (Elem::Int(int_n(3)), 4),
            0xF3 => (Elem::Int(int_n(4)), 5),
            _ => {
                debug_assert_eq!(b[0], 0xF4);
                (Elem::Int(int_n(8)), 9)
            }
        };
        (elem, body + backlen_size(body))
    }

    /// Byte offset of the entry that ends at `end` (reads its backlen right to left).
    fn prev_offset(&self, end: usize) -> usize {
        let entries = self.entries();
        let mut len = 0usize;
        let mut shift = 0;
        let mut p = end;
        loop {
            p -= 1;
            let byte = entries[p];
            len |= ((byte & 127) as usize) << shift;
            if byte & 128 == 0 {
                break;
            }
            shift += 7;
        }
        end - len - backlen_size(len)
    }

    /// Byte offset of entry `index` (`index == len()` gives the end), walking from the nearer
    /// end of the buffer.
    fn offset_of(&self, index: usize) -> usize {
        debug_assert!(index <= self.len());
        if index <= self.len() / 2 {
            let mut off = 0;
            for _ in 0..index {
                off += self.entry_at(off).1;
            }
            off
        } else {
            let mut off = self.bytes();
            for _ in index..self.len() {
                off = self.prev_offset(off);
            }
            off
        }
    }

    /// Replaces the entry bytes `range` with `with`, now holding `count` entries, and
    /// reallocates the buffer to its exact new size (none at all when `count` is 0).
    fn splice(&mut self, range: std::ops::Range<usize>, with: &[u8], count: usize) {
        if count == 0 {
            self.buf = Box::default();
            return;
        }
        let mut v = std::mem::take(&mut self.buf).into_vec();
        if v.is_empty() {
            v.reserve_exact(HEADER + with.len());
            v.extend_from_slice(&[0; HEADER]);
        }
        let range = HEADER + range.start..HEADER + range.end;
        if range.len() == with.len() {
            v[range].copy_from_slice(with);
        } else if range.start == v.len() {
            // Appending: one exact realloc and no shifting.
            v.reserve_exact(with.len());
            v.extend_from_slice(with);
        } else {
            v.splice(range, with.iter().copied());
        }
        set_count(&mut v, count);
        self.buf = v.into_boxed_slice();
    }

    /// Inserts `elem` before entry `index` (`index == len()` appends).
    fn insert(&mut self, index: usize, e: &Encoded) {
        let off = self.offset_of(index);
        self.insert_at_offset(off, e);
    }

    fn insert_at_offset(&mut self, off: usize, e: &Encoded) {
        let count = self.len() + 1;
        let mut v = std::mem::take(&mut self.buf).into_vec();
        v.reserve_exact(e.size + if v.is_empty() { HEADER } else { 0 });
        if v.is_empty() {
            v.extend_from_slice(&[0; HEADER]);
        }
        let old_len = v.len();
        encode_entry(e, &mut v);
        debug_assert_eq!(v.len() - old_len, e.size);
        if HEADER + off < old_len {
            // Rotate the new entry from the end into place.
            v[HEADER + off..].rotate_right(e.size);
        }
        set_count(&mut v, count);
        self.buf = v.into_boxed_slice();
    }

    fn push(&mut self, e: &Encoded, end: End) {
        match end {
            End::Head => self.insert_at_offset(0, e),
            End::Tail => self.insert_at_offset(self.bytes(), e),
        }
    }

    fn pop(&mut self, end: End) -> Option<Vec<u8>> {
        if self.len() == 0 {
            return None;
        }
        let (off, size) = match end {
            End::Head => (0, self.entry_at(0).1),
            End::Tail => {
                let off = self.prev_offset(self.bytes());
                (off, self.bytes() - off)
            }
        };
        let value = self.entry_at(off).0.to_vec();
        self.splice(off..off + size, &[], self.len() - 1);
        Some(value)
    }

    /// Removes `n` entries starting at entry `index`.
    fn delete_range(&mut self, index: usize, n: usize) {
        debug_assert!(index + n <= self.len());
        let from = self.offset_of(index);
        let mut to = from;
        for _ in 0..n {
            to += self.entry_at(to).1;
        }
        self.splice(from..to, &[], self.len() - n);
    }

    /// Replaces entry `index` with `elem`.
    fn replace(&mut self, index: usize, e: &Encoded) {
        let off = self.offset_of(index);
        let size = self.entry_at(off).1;
        let mut encoded = Vec::with_capacity(e.size);
        encode_entry(e, &mut encoded);
        self.splice(off..off + size, &encoded, self.len());
    }

    /// Keeps only the entries for which `keep(entry index)` is true.
    fn retain(&mut self, mut keep: impl FnMut(usize) -> bool) {
        let entries = self.entries();
        let mut out = Vec::with_capacity(HEADER + entries.len());
        out.extend_from_slice(&[0; HEADER]);
        let mut off = 0;
        let mut kept = 0;
        for i in 0..self.len() {
            let size = self.entry_at(off).1;
            if keep(i) {
                out.extend_from_slice(&entries[off..off + size]);
                kept += 1;
            }
            off += size;
        }
        if kept == 0 {
            self.buf = Box::default();
        } else {
            set_count(&mut out, kept);
            self.buf = out.into_boxed_slice();
        }
    }

    /// Splits off the entries from `index` on (0 < `index` < `len()`) into a new listpack.
    fn split_off(&mut self, index: usize) -> Listpack {
        debug_assert!(0 < index && index < self.len());
        let off = self.offset_of(index);
        let count = self.len();
        let entries = &self.entries()[off..];
        let mut tail = Vec::with_capacity(HEADER + entries.len());
        tail.extend_from_slice(&[0; HEADER]);
        tail.extend_from_slice(entries);
        set_count(&mut tail, count - index);
        let bytes = self.bytes();
        self.splice(off..bytes, &[], index);
        Listpack {
            buf: tail.into_boxed_slice(),
        }
    }

    fn heap_size(&self) -> usize {
        self.buf.len()
    }
}

// ---------------------------------------------------------------------------------------------
// List: a bare listpack or a quicklist of them.
// ---------------------------------------------------------------------------------------------

/// Two words, so that a `List` sits unboxed in the keyspace's `Value`: a bare listpack is its
/// own exact-size buffer, and the rarer quicklist keeps its spine behind a box.
#[derive(Clone, Debug)]
enum Repr {
    /// The whole list in one node (the common case: one allocation).
    Packed(Listpack),
    /// Two or more nodes.
    Quick(Box<Quicklist>),
}

/// The nodes of a list too big for one (Redis: `quicklist`).
#[derive(Clone, Debug)]
struct Quicklist {
    /// Two or more, none empty.
    nodes: VecDeque<Listpack>,
    /// The total element count.
    len: usize,
}

/// A Redis list. All mutating methods that may create nodes take the `fill` setting
/// (`list-max-listpack-size`).
#[derive(Clone, Debug)]
pub struct List {
    repr: Repr,
}

impl Default for List {
    fn default() -> List {
        List::new()
    }
}

impl List {
    pub fn new() -> List {
        List {
            repr: Repr::Packed(Listpack::default()),
        }
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Packed(lp) => lp.len(),
            Repr::Quick(q) => q.len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Redis 7.0 reports every list as a quicklist (see the module docs).
    pub fn encoding_name(&self) -> &'static str {
        "quicklist"
    }

    pub fn heap_size(&self) -> usize {
        self.heap_size_sampled(usize::MAX)
    }

    /// [`List::heap_size`] with the nodes estimated from `samples` of them (0: all), as
    /// MEMORY USAGE does (Redis samples quicklist nodes).
    pub fn heap_size_sampled(&self, samples: usize) -> usize {
        let samples = if samples == 0 { usize::MAX } else { samples };
        match &self.repr {
            Repr::Packed(lp) => lp.heap_size(),
            Repr::Quick(q) => {
                let sizes = q.nodes.iter().map(Listpack::heap_size);
                std::mem::size_of::<Quicklist>()
                    + q.nodes.capacity() * std::mem::size_of::<Listpack>()
                    + super::sampled_total(sizes, q.nodes.len(), samples)
            }
        }
    }

    /// Number of listpack nodes (1 for a bare listpack); for tests and DEBUG-style insight.
    pub fn node_count(&self) -> usize {
        match &self.repr {
            Repr::Packed(_) => 1,
            Repr::Quick(q) => q.nodes.len(),
        }
    }

    fn node(&self, i: usize) -> Option<&Listpack> {
        match &self.repr {
            Repr::Packed(lp) => (i == 0).then_some(lp),
            Repr::Quick(q) => q.nodes.get(i),
        }
    }

    /// Pushes `elem` at one end (Redis: `quicklistPush`).
    pub fn push(&mut self, elem: &[u8], end: End, fill: i64) {
        let e = Encoded::new(elem);
        let size = e.size;
        match &mut self.repr {
            Repr::Packed(lp) => {
                if lp.len() == 0 || lp.allows_insert(size, fill) {
                    lp.push(&e, end);
                    return;
                }
                let mut fresh = Listpack::default();
                fresh.push(&e, end);
                let old = std::mem::take(lp);
                let len = old.len() + 1;
                let nodes = match end {
                    End::Head => VecDeque::from([fresh, old]),
                    End::Tail => VecDeque::from([old, fresh]),
                };
                self.repr = Repr::Quick(Box::new(Quicklist { nodes, len }));
            }
            Repr::Quick(q) => {
                q.len += 1;
                let edge = match end {
                    End::Head => q.nodes.front_mut(),
                    End::Tail => q.nodes.back_mut(),
                };
                if let Some(node) = edge {
                    if node.allows_insert(size, fill) {
                        node.push(&e, end);
                        return;
                    }
                }
                let mut fresh = Listpack::default();
                fresh.push(&e, end);
                match end {
                    End::Head => q.nodes.push_front(fresh),
                    End::Tail => q.nodes.push_back(fresh),
                }
            }
        }
    }

    /// Pushes every element of `elems` at one end, in order (LPUSH / RPUSH with several
    /// arguments).
    pub fn push_many<'e>(
        &mut self,
        elems: impl IntoIterator<Item = &'e [u8]>,
        end: End,
        fill: i64,
    ) {
        for elem in elems {
            self.push(elem, end, fill);
        }
    }

    /// Removes and returns the element at one end.
    pub fn pop(&mut self, end: End) -> Option<Vec<u8>> {
        match &mut self.repr {
            Repr::Packed(lp) => lp.pop(end),
            Repr::Quick(q) => {
                let node = match end {
                    End::Head => q.nodes.front_mut(),
                    End::Tail => q.nodes.back_mut(),
                }?;
                let value = node.pop(end);
                if node.len() == 0 {
                    match end {
                        End::Head => q.nodes.pop_front(),
                        End::Tail => q.nodes.pop_back(),
                    };
                }
                q.len -= 1;
                self.normalize();
                value
            }
        }
    }

    /// Back to a bare listpack when a quicklist is down to one node.
    fn normalize(&mut self) {
        if let Repr::Quick(q) = &mut self.repr {
            if q.nodes.len() <= 1 {
                let lp = q.nodes.pop_front().unwrap_or_default();
                self.repr = Repr::Packed(lp);
            }
        }
    }

    /// Node index and index within the node of element `index` (< len).
    fn locate(&self, index: usize) -> (usize, usize) {
        match &self.repr {
            Repr::Packed(_) => (0, index),
            Repr::Quick(q) => {
                if index < q.len / 2 {
                    let mut rest = index;
                    for (i, n) in q.nodes.iter().enumerate() {
                        if rest < n.len() {
                            return (i, rest);
                        }
                        rest -= n.len();
                    }
                } else {
                    // Walk from the tail: `rest` counts elements after `index`.
                    let mut rest = q.len - 1 - index;
                    for (i, n) in q.nodes.iter().enumerate().rev() {
                        if rest < n.len() {
                            return (i, n.len() - 1 - rest);
                        }
                        rest -= n.len();
                    }
                }
                debug_assert!(false, "index {index} out of range");
                (0, 0)
            }
        }
    }

    /// The element at `index` (0-based from the head), if any.
    pub fn get(&self, index: usize) -> Option<Elem<'_>> {
        if index >= self.len() {
            return None;
        }
        let (n, i) = self.locate(index);
        let node = self.node(n)?;
        Some(node.entry_at(node.offset_of(i)).0)
    }

    /// Iterates from the head.
    pub fn iter(&self) -> Iter<'_> {
        self.iter_from(0)
    }

    /// Iterates from element `index` towards the tail.
    pub fn iter_from(&self, index: usize) -> Iter<'_> {
        if index >= self.len() {
            return Iter {
                list: self,
                node: usize::MAX,
                off: 0,
            };
        }
        let (n, i) = self.locate(index);
        let off = self.node(n).map_or(0, |lp| lp.offset_of(i));
        Iter {
            list: self,
            node: n,
            off,
        }
    }

    /// Iterates from the tail towards the head.
    pub fn iter_rev(&self) -> RevIter<'_> {
        let last = self.node_count() - 1;
        RevIter {
            list: self,
            node: if self.is_empty() { usize::MAX } else { last },
            end: self.node(last).map_or(0, Listpack::bytes),
        }
    }

    /// Runs `f` on node `n` (may overfill it), then splits the node if it no longer fits.
    fn edit_node(&mut self, n: usize, fill: i64, f: impl FnOnce(&mut Listpack) -> isize) {
        match &mut self.repr {
            Repr::Packed(lp) => {
                f(lp);
                if !lp.fits(fill) {
                    let lp = std::mem::take(lp);
                    let len = lp.len();
                    self.repr = Repr::Quick(Box::new(Quicklist {
                        nodes: VecDeque::from([lp]),
                        len,
                    }));
                    self.split_node(0, fill);
                }
            }
            Repr::Quick(q) => {
                if let Some(node) = q.nodes.get_mut(n) {
                    let delta = f(node);
                    q.len = (q.len as isize + delta) as usize;
                    self.split_node(n, fill);
                }
            }
        }
    }

    /// Splits quicklist node `n` in halves until every piece fits.
    fn split_node(&mut self, n: usize, fill: i64) {
        let Repr::Quick(q) = &mut self.repr else {
            return;
        };
        let Some(node) = q.nodes.get_mut(n) else {
            return;
        };
        if node.fits(fill) {
            return;
        }
        let tail = node.split_off(node.len() / 2);
        q.nodes.insert(n + 1, tail);
        self.split_node(n + 1, fill);
        self.split_node(n, fill);
    }

    /// Replaces the element at `index`; false if out of range (Redis: `quicklistReplaceAtIndex`).
    pub fn set(&mut self, index: usize, elem: &[u8], fill: i64) -> bool {
        if index >= self.len() {
            return false;
        }
        let (n, i) = self.locate(index);
        let e = Encoded::new(elem);
        self.edit_node(n, fill, |lp| {
            lp.replace(i, &e);
            0
        });
        true
    }

    /// Inserts `elem` so that it becomes element `index` (`index == len()` appends).
    pub fn insert(&mut self, index: usize, elem: &[u8], fill: i64) {
        if index == 0 {
            return self.push(elem, End::Head, fill);
        }
        if index >= self.len() {
            return self.push(elem, End::Tail, fill);
        }
        let (n, i) = self.locate(index);
        let e = Encoded::new(elem);
        // Inserting before a node's first entry: append to the previous node if it has room.
        if i == 0 {
            if let Repr::Quick(q) = &mut self.repr {
                if let Some(prev) = q.nodes.get_mut(n.wrapping_sub(1)) {
                    if prev.allows_insert(e.size, fill) {
                        prev.push(&e, End::Tail);
                        q.len += 1;
                        return;
                    }
                }
            }
        }
        self.edit_node(n, fill, |lp| {
            lp.insert(i, &e);
            1
        });
    }

    /// Removes the elements whose indexes are listed, in increasing order.
    pub fn remove_indices(&mut self, sorted: &[usize]) {
        if sorted.is_empty() {
            return;
        }
        debug_assert!(sorted.windows(2).all(|w| w[0] < w[1]));
        let mut next = 0;
        let mut base = 0;
        let mut edit = |lp: &mut Listpack| {
            let n = lp.len();
            let start = next;
            if sorted.get(next).is_none_or(|&i| i >= base + n) {
                // Nothing to remove in this node: leave its buffer alone.
                base += n;
                return 0;
            }
            lp.retain(|i| {
                if sorted.get(next) == Some(&(base + i)) {
                    next += 1;
                    false
                } else {
                    true
                }
            });
            base += n;
            next - start
        };
        match &mut self.repr {
            Repr::Packed(lp) => {
                edit(lp);
            }
            Repr::Quick(q) => {
                for lp in q.nodes.iter_mut() {
                    q.len -= edit(lp);
                }
                q.nodes.retain(|lp| lp.len() > 0);
                self.normalize();
            }
        }
    }

    /// Keeps only elements `start .. start + count` (Redis: LTRIM's `quicklistDelRange` pair).
    pub fn trim(&mut self, start: usize, count: usize) {
        let len = self.len();
        let start = start.min(len);
        let count = count.min(len - start);
        self.delete_range(start + count, len - start - count);
        self.delete_range(0, start);
    }

    /// Deletes `n` elements from `index` on.
    pub fn delete_range(&mut self, index: usize, n: usize) {
        if n == 0 {
            return;
        }
        match &mut self.repr {
            Repr::Packed(lp) => lp.delete_range(index, n),
            Repr::Quick(q) => {
                let mut base = 0;
                let (from, to) = (index, index + n);
                for lp in q.nodes.iter_mut() {
                    let (lo, hi) = (base, base + lp.len());
                    base = hi;
                    let cut_lo = from.max(lo);
                    let cut_hi = to.min(hi);
                    if cut_lo < cut_hi {
                        if cut_lo == lo && cut_hi == hi {
                            *lp = Listpack::default();
                        } else {
                            lp.delete_range(cut_lo - lo, cut_hi - cut_lo);
                        }
                    }
                }
                q.len -= n;
                q.nodes.retain(|lp| lp.len() > 0);
                self.normalize();
            }
        }
    }
}

/// Head-to-tail iterator over a [`List`].
pub struct Iter<'a> {
    list: &'a List,
    /// `usize::MAX` when done.
    node: usize,
    off: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = Elem<'a>;

    fn next(&mut self) -> Option<Elem<'a>> {
        let mut lp = self.list.node(self.node)?;
        if self.off >= lp.bytes() {
            self.node += 1;
            self.off = 0;
            lp = self.list.node(self.node)?;
        }
        let (elem, size) = lp.entry_at(self.off);
        self.off += size;
        Some(elem)
    }
}

/// Tail-to-head iterator over a [`List`].
pub struct RevIter<'a> {
    list: &'a List,
    node: usize,
    /// Byte offset just past the next entry to return.
    end: usize,
}

impl<'a> Iterator for RevIter<'a> {
    type Item = Elem<'a>;

    fn next(&mut self) -> Option<Elem<'a>> {
        let mut lp = self.list.node(self.node)?;
        if self.end == 0 {
            self.node = self.node.checked_sub(1)?;
            lp = self.list.node(self.node)?;
            self.end = lp.bytes();
        }
        let off = lp.prev_offset(self.end);
        self.end = off;
        Some(lp.entry_at(off).0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(l: &List) -> Vec<Vec<u8>> {
        l.iter().map(|e| e.to_vec()).collect()
    }

    fn model_check(l: &List, model: &VecDeque<Vec<u8>>) {
        assert_eq!(l.len(), model.len());
        let fwd = items(l);
        assert_eq!(fwd, model.iter().cloned().collect::<Vec<_>>());
        let mut rev: Vec<Vec<u8>> = l.iter_rev().map(|e| e.to_vec()).collect();
        rev.reverse();
        assert_eq!(rev, fwd);
        for (i, v) in model.iter().enumerate() {
            assert_eq!(l.get(i).map(|e| e.to_vec()).as_ref(), Some(v));
        }
        if let Repr::Quick(q) = &l.repr {
            assert!(q.nodes.len() >= 2);
            assert!(q.nodes.iter().all(|n| n.len() > 0));
            assert_eq!(q.len, q.nodes.iter().map(Listpack::len).sum::<usize>());
        }
        // Every node's header agrees with its entries, and no buffer has slack or is empty.
        for n in 0..l.node_count() {
            let node = l.node(n).expect("node_count nodes");
            let mut off = 0;
            let mut count = 0;
            while off < node.bytes() {
                off += node.entry_at(off).1;
                count += 1;
            }
            assert_eq!((off, count), (node.bytes(), node.len()));
            assert_eq!(node.buf.is_empty(), node.len() == 0);
        }
    }

    #[test]
    fn every_encoding_round_trips() {
        let long = vec![b'x'; 5000];
        let mid = vec![b'y'; 300];
        let samples: Vec<Vec<u8>> = vec![
            b"0".to_vec(),
            b"127".to_vec(),
            b"128".to_vec(),
            b"-1".to_vec(),
            b"4095".to_vec(),
            b"-4096".to_vec(),
            b"4096".to_vec(),
            b"-32768".to_vec(),
            b"8388607".to_vec(),
            b"-8388608".to_vec(),
            b"2147483647".to_vec(),
            b"9223372036854775807".to_vec(),
            b"-9223372036854775808".to_vec(),
            b"012".to_vec(),
            b"-0".to_vec(),
            b"+1".to_vec(),
            b"".to_vec(),
            b"hello".to_vec(),
            mid,
            long,
        ];
        let mut l = List::new();
        for s in &samples {
            l.push(s, End::Tail, -2);
        }
        assert_eq!(items(&l), samples);
        for s in samples.iter().rev() {
            assert_eq!(l.pop(End::Tail).as_ref(), Some(s));
        }
        assert!(l.is_empty());
    }

    #[test]
    fn integers_are_packed_small() {
        assert_eq!(entry_size(b"5"), 2);
        assert_eq!(entry_size(b"1000"), 3);
        assert_eq!(entry_size(b"abc"), 5);
        assert_eq!(entry_size(b"0005"), 6);
    }

    #[test]
    fn small_lists_stay_one_listpack_and_big_ones_split() {
        let mut l = List::new();
        for i in 0..100 {
            l.push(format!("{i}").as_bytes(), End::Tail, -2);
        }
        assert!(matches!(l.repr, Repr::Packed(_)));
        for i in 0..5000 {
            l.push(format!("element-{i}").as_bytes(), End::Head, -2);
        }
        assert!(l.node_count() > 2);
        while l.len() > 10 {
            l.pop(End::Head);
        }
        assert!(matches!(l.repr, Repr::Packed(_)));
    }

    #[test]
    fn positive_fill_caps_entries_per_node() {
        let mut l = List::new();
        for i in 0..10 {
            l.push(format!("{i}").as_bytes(), End::Tail, 3);
        }
        assert_eq!(l.node_count(), 4);
    }

    #[test]
    fn random_operations_match_a_vecdeque() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        for fill in [-2, -1, 4, 1] {
            let mut l = List::new();
            let mut model: VecDeque<Vec<u8>> = VecDeque::new();
            for step in 0..4000 {
                let v: Vec<u8> = match rng.random_range(0..4) {
                    0 => format!("{}", rng.random_range(-100000..100000)).into_bytes(),
                    1 => vec![b'a' + (step % 26) as u8; rng.random_range(0..100)],
                    2 => vec![b'z'; rng.random_range(100..3000)],
                    _ => format!("v{step}").into_bytes(),
                };
                match rng.random_range(0..10) {
                    0..=2 => {
                        l.push(&v, End::Head, fill);
                        model.push_front(v);
                    }
                    3..=4 => {
                        l.push(&v, End::Tail, fill);
                        model.push_back(v);
                    }
                    5 => assert_eq!(l.pop(End::Head), model.pop_front()),
                    6 => assert_eq!(l.pop(End::Tail), model.pop_back()),
                    7 if !model.is_empty() => {
                        let i = rng.random_range(0..model.len());
                        assert!(l.set(i, &v, fill));
                        model[i] = v;
                    }
                    8 => {
                        let i = rng.random_range(0..=model.len());
                        l.insert(i, &v, fill);
                        model.insert(i, v);
                    }
                    9 if model.len() > 3 && step % 7 == 0 => {
                        let idx: Vec<usize> = (0..model.len()).filter(|i| i % 3 == 0).collect();
                        l.remove_indices(&idx);
                        let mut i = 0;
                        model.retain(|_| {
                            i += 1;
                            (i - 1) % 3 != 0
                        });
                    }
                    9 if model.len() > 4 => {
                        let s = rng.random_range(0..model.len() / 2);
                        let c = rng.random_range(0..model.len());
                        l.trim(s, c);
                        let kept: VecDeque<Vec<u8>> =
                            model.iter().skip(s).take(c).cloned().collect();
                        model = kept;
                    }
                    _ => {}
                }
                if step % 97 == 0 {
                    model_check(&l, &model);
                }
            }
            model_check(&l, &model);
            let from = model.len() / 3;
            let got: Vec<Vec<u8>> = l.iter_from(from).map(|e| e.to_vec()).collect();
            let want: Vec<Vec<u8>> = model.iter().skip(from).cloned().collect();
            assert_eq!(got, want);
        }
    }

    /// Two words, so `Value::List` needs no box (see `db::value`): a short list is one
    /// allocation, its listpack.
    #[test]
    fn a_list_is_two_words() {
        assert_eq!(std::mem::size_of::<List>(), 16);
        assert_eq!(std::mem::size_of::<Listpack>(), 16);
    }

    #[test]
    fn a_short_list_is_one_exact_buffer() {
        let mut l = List::new();
        assert_eq!(l.heap_size(), 0);
        l.push_many([&b"a"[..], b"bc", b"1000"], End::Tail, -2);
        // Header, then "a" (1+1 bytes + backlen), "bc" (1+2+1), 1000 (2+1).
        assert_eq!(l.heap_size(), HEADER + 3 + 4 + 3);
        assert_eq!(l.len(), 3);
        assert_eq!(l.pop(End::Head), Some(b"a".to_vec()));
        assert_eq!(l.heap_size(), HEADER + 4 + 3);
        l.delete_range(0, 2);
        assert!(l.is_empty());
        assert_eq!(l.heap_size(), 0);
    }
}
