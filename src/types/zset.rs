//! The sorted set type (Redis: `t_zset.c` API half, plus the zset parts of `listpack.c`).
//!
//! A sorted set maps members (byte strings) to scores (doubles) and keeps them ordered by
//! `(score, member bytes)`. Like Redis 7.0 it has two encodings:
//!
//! * **listpack** — small sets (at most `zset-max-listpack-entries` members, each at most
//!   `zset-max-listpack-value` bytes) live in one packed byte buffer of `member, score` entries
//!   kept in order. Every operation is a linear scan, which for 128 entries is faster than
//!   chasing pointers and costs a few bytes per member instead of a few dozen.
//! * **skiplist** — beyond the limits the set converts (once, never back) to a skip list plus a
//!   hash index from member to node, so ZSCORE is O(1) and ZRANK / ranges are O(log n + m).
//!
//! # The skip list, and how rank is maintained
//!
//! A skip list is a sorted linked list with express lanes. Every node is on level 0 (the plain
//! list); a node is also on level 1 with probability 1/4, on level 2 with probability 1/16, and
//! so on (Redis uses the same p = 1/4 and 32 levels). A search starts on the highest level at the
//! header node, runs right while the next node is still before the target, and drops one level
//! when it would overshoot: O(log n) expected steps.
//!
//! ```text
//!  level 2  HEAD ──────────────(3)──────────────> c ────────(2)────────> NIL
//!  level 1  HEAD ──(1)──> a ───────(2)─────────> c ──(1)──> d ──(1)──> NIL
//!  level 0  HEAD ──(1)──> a ──(1)──> b ──(1)──> c ──(1)──> d ──(1)──> e
//! ```
//!
//! Each forward link also stores its **span**: how many level-0 steps it jumps (the numbers in
//! parentheses). Summing the spans of the links a search follows gives the rank of the node it
//! lands on, so "rank of member" and "member at rank r" both cost one O(log n) search. Spans are
//! kept right on every update: inserting a node at rank r splits each link that passes over the
//! new position into two (before and after the node) on the node's own levels, and adds one to
//! the spans of the higher links that now jump over one more node; deleting does the reverse.
//! A link to NIL stores the number of nodes after its origin, so the arithmetic stays uniform
//! when the list grows a level (Redis: `zslInsert`, `zslDelete`, `zslGetRank`).
//!
//! Because ranks are cheap, every range query reduces to a *rank interval*: the elements with
//! score in `[min, max]` are exactly ranks `count(score < min) .. count(score <= max)`, and
//! counting the elements before a boundary is one descent ([`ZSet::count_before`]). ZCOUNT is
//! then a subtraction, and ZRANGEBYSCORE/BYLEX, ZREMRANGEBY* and the REV variants are all "walk
//! these ranks" — reverse ranges are walked forwards and emitted backwards, which is why the
//! nodes need no backward pointer.
//!
//! # Memory
//!
//! Nodes live in an arena (`Vec<Node>`) and link to each other with `u32` indices instead of
//! pointers (no `unsafe`, half the size). A node is 40 bytes: the member ([`Sds`], short members
//! inline), the score, the level-0 link (whose span is always 1, so it is not stored) and one
//! `u32` naming its "tower" of higher levels in a second arena — only a quarter of the nodes have
//! one. The member → node index is a `hashbrown::HashTable<u32>` hashing the member *through* the
//! node, so each member is stored once (a `Dict<f64>` would keep a second copy of every member).
//! Freed nodes and towers go on free lists; an arena that becomes mostly empty is rebuilt.
//!
//! A small set is one exact-size allocation: the listpack keeps its entry count in a header
//! inside its buffer, so a `ZSet` is two words (a boxed byte slice, or a box holding the skip
//! list) and sits unboxed in the keyspace's `Value`.

use crate::types::sds::Sds;
use hashbrown::hash_table::HashTable;
use hashbrown::DefaultHashBuilder;
use std::cmp::Ordering;
use std::hash::BuildHasher;

/// The encoding limits (`zset-max-listpack-entries` / `zset-max-listpack-value`).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_entries: usize,
    pub max_value: usize,
}

#[derive(Clone)]
pub enum ZSet {
    Listpack(Listpack),
    Skiplist(Box<SkipList>),
}

impl Default for ZSet {
    fn default() -> Self {
        ZSet::Listpack(Listpack::default())
    }
}

/// Orders `(score, member)` pairs: by score, then by member bytes.
fn cmp_entry(a_score: f64, a_member: &[u8], b_score: f64, b_member: &[u8]) -> Ordering {
    match a_score.partial_cmp(&b_score) {
        Some(Ordering::Equal) | None => a_member.cmp(b_member),
        Some(o) => o,
    }
}

impl ZSet {
    pub fn new() -> ZSet {
        ZSet::default()
    }

    /// An empty set in the encoding Redis would pick for `count` members whose longest is
    /// `max_member_len` bytes. Redis 7.0 makes this choice where each command creates the set
    /// (`zaddGenericCommand`, `zrangeResultBeginStore`, and `zsetConvertToListpackIfNeeded`
    /// after the STORE commands); 7.2 gathers it into `zsetTypeCreate`.
    pub fn for_size(count: usize, max_member_len: usize, limits: Limits) -> ZSet {
        if limits.max_entries == 0
            || count > limits.max_entries
            || max_member_len > limits.max_value
        {
            ZSet::Skiplist(Box::default())
        } else {
            ZSet::new()
        }
    }

    pub fn len(&self) -> usize {
        match self {
            ZSet::Listpack(lp) => lp.len(),
            ZSet::Skiplist(sl) => sl.len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding_name(&self) -> &'static str {
        match self {
            ZSet::Listpack(_) => "listpack",
            ZSet::Skiplist(_) => "skiplist",
        }
    }

    pub fn heap_size(&self) -> usize {
        match self {
            ZSet::Listpack(lp) => lp.buf.len(),
            ZSet::Skiplist(sl) => sl.heap_size(),
        }
    }

    /// [`ZSet::heap_size`], with a skip list's members estimated from `samples` of them
    /// (0: all), as MEMORY USAGE does.
    pub fn heap_size_sampled(&self, samples: usize) -> usize {
        match self {
            ZSet::Skiplist(sl) if samples > 0 => sl.heap_size_sampled(samples),
            _ => self.heap_size(),
        }
    }

    /// The score of `member`, if present.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            ZSet::Listpack(lp) => lp.find(member).map(|(_, _, score)| score),
            ZSet::Skiplist(sl) => sl.find(member).map(|i| sl.nodes[i as usize].score),
        }
    }

    /// Adds `member` with `score`, or moves it to `score` if present. Converts to a skip list
    /// when the listpack limits are exceeded. Returns true if the member is new.
    pub fn insert(&mut self, member: &[u8], score: f64, limits: Limits) -> bool {
        debug_assert!(!score.is_nan());
        if let ZSet::Listpack(lp) = self {
            // A member already present fits by definition; a new one must fit both limits.
            let fits = lp.len() < limits.max_entries && member.len() <= limits.max_value;
            if fits || lp.find(member).is_some() {
                return lp.upsert(member, score);
            }
            self.convert_to_skiplist();
        }
        match self {
            // Not reached: the conversion above always yields a skip list.
            ZSet::Listpack(lp) => lp.upsert(member, score),
            ZSet::Skiplist(sl) => sl.insert(member, score),
        }
    }

    /// Removes `member`; true if it was present.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self {
            ZSet::Listpack(lp) => lp.remove(member),
            ZSet::Skiplist(sl) => sl.remove(member),
        }
    }

    /// The 0-based rank of `member` in ascending order.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = self.score(member)?;
        Some(self.count_before(|s, m| cmp_entry(s, m, score, member) == Ordering::Less))
    }

    /// How many elements, in order, satisfy `before` — which must hold for a prefix of the
    /// order (true, true, ..., false, false). One descent of the skip list; a scan of a listpack.
    pub fn count_before(&self, before: impl Fn(f64, &[u8]) -> bool) -> usize {
        match self {
            ZSet::Listpack(lp) => lp.iter().take_while(|&(m, s)| before(s, m)).count(),
            ZSet::Skiplist(sl) => sl.count_before(before),
        }
    }

    /// The elements of ranks `start..=end` (0-based, clamped to the set) in ascending order.
    pub fn range(&self, start: usize, end: usize) -> ZIter<'_> {
        let len = self.len();
        if start >= len || start > end {
            return ZIter::Empty;
        }
        let count = end.min(len - 1) - start + 1;
        match self {
            ZSet::Listpack(lp) => {
                let mut it = lp.iter();
                for _ in 0..start {
                    it.next();
                }
                ZIter::Listpack(it, count)
            }
            ZSet::Skiplist(sl) => ZIter::Skiplist(sl, sl.node_at_rank(start), count),
        }
    }

    /// Every element in ascending order.
    pub fn iter(&self) -> ZIter<'_> {
        self.range(0, usize::MAX)
    }

    /// Removes the elements of ranks `start..=end` (clamped); returns how many.
    pub fn remove_range(&mut self, start: usize, end: usize) -> usize {
        match self {
            ZSet::Listpack(lp) => lp.remove_range(start, end),
            ZSet::Skiplist(sl) => {
                let members: Vec<Sds> = ZIter::Skiplist(
                    sl,
                    sl.node_at_rank(start),
                    (end.min(sl.len.saturating_sub(1)) + 1).saturating_sub(start),
                )
                .map(|(m, _)| Sds::new(m))
                .collect();
                for m in &members {
                    sl.remove(m);
                }
                members.len()
            }
        }
    }

    /// Converts a listpack to a skip list (no-op for a skip list). Also used by SORT, which
    /// converts for good, as Redis's `sortCommandGeneric` does.
    pub fn convert_to_skiplist(&mut self) {
        if let ZSet::Listpack(lp) = self {
            let mut sl = SkipList::default();
            for (m, s) in lp.iter() {
                sl.insert(m, s);
            }
            *self = ZSet::Skiplist(Box::new(sl));
        }
    }

    /// One step of ZSCAN over a skip list: visits up to `count` members from arena slot
    /// `cursor` upwards, returning the next cursor (0 when done). A listpack is returned whole.
    /// Updates keep a member in its arena slot, so a member present for the whole scan is seen —
    /// unless a mass deletion rebuilt the arena mid-scan (`maybe_compact`), which renumbers
    /// slots; the scan may then repeat or miss members (Redis's reverse-binary cursor survives
    /// its table resizes; ours trades that corner case for 40-byte nodes).
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(&[u8], f64)) -> u64 {
        match self {
            ZSet::Listpack(lp) => {
                for (m, s) in lp.iter() {
                    visit(m, s);
                }
                0
            }
            ZSet::Skiplist(sl) => {
                let mut i = (cursor as usize).max(1);
                let mut visited = 0;
                while i < sl.nodes.len() && visited < count.max(1) {
                    let node = &sl.nodes[i];
                    if node.tower != FREE {
                        visit(&node.member, node.score);
                        visited += 1;
                    }
                    i += 1;
                }
                if i >= sl.nodes.len() {
                    0
                } else {
                    i as u64
                }
            }
        }
    }
}

/// Iterator over `(member, score)` in ascending order, from a start rank, for a count.
pub enum ZIter<'a> {
    Empty,
    Listpack(ListpackIter<'a>, usize),
    Skiplist(&'a SkipList, u32, usize),
}

impl<'a> Iterator for ZIter<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            ZIter::Empty => None,
            ZIter::Listpack(it, left) => {
                if *left == 0 {
                    return None;
                }
                *left -= 1;
                it.next()
            }
            ZIter::Skiplist(sl, node, left) => {
                if *left == 0 || *node == NIL {
                    return None;
                }
                *left -= 1;
                let n = &sl.nodes[*node as usize];
                *node = n.next;
                Some((n.member.as_bytes(), n.score))
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Listpack encoding
// ---------------------------------------------------------------------------------------------

/// A packed buffer of entries `varint(member length) member score`, in ascending order. The
/// score is one tag byte, which for an integer score 0..=127 (ranks, counters, small
/// timestamps-as-offsets: the commonest scores) *is* the score, as Redis's listpack stores
/// 0..127 in its 7-bit "small integer" entry; otherwise the tag says what follows: an
/// `i8`/`i16`/`i32` for other small integers, else the 8 bytes of the `f64`.
///
/// ```text
///   buf: [count: varint][len][member bytes][score tag][score?] [len][member bytes][tag] ...
///   tag: 0xxxxxxx          the score is x (0..=127), nothing follows
///        0x80 / 81 / 82 / 83   an f64 / i8 / i16 / i32 follows (little-endian)
/// ```
///
/// The entry count sits in a LEB128 header inside the buffer (one byte below 128 members;
/// Redis's listpack header holds its element count too), so ZCARD needs no scan and the whole
/// struct is one exact-size `Box<[u8]>`: no capacity word, no spare bytes, and — with the skip
/// list boxed — a `ZSet` is two words that sit directly in the keyspace's `Value`. A small
/// sorted set then costs exactly one allocation, this buffer: for 10 members `member:N` with
/// scores 0..9, 1 + 10 x 10 = 101 bytes (a 4-byte count and 2-byte scores took 114, one more
/// malloc size class). Every change reallocates it to the new exact size, as Redis's
/// `lpInsert` / `lpDelete` realloc. An empty listpack has no header and no allocation.
#[derive(Clone, Default)]
pub struct Listpack {
    buf: Box<[u8]>,
}

/// Score tags below this are the score itself (0..=127).
const TAG_F64: u8 = 0x80;
const TAG_I8: u8 = 0x81;
const TAG_I16: u8 = 0x82;
const TAG_I32: u8 = 0x83;

/// Writes `n` as a LEB128 varint into `out`; returns the bytes used.
fn write_varint(mut n: usize, out: &mut [u8; 10]) -> usize {
    let mut i = 0;
    while n >= 0x80 {
        out[i] = (n as u8 & 0x7f) | 0x80;
        n >>= 7;
        i += 1;
    }
    out[i] = n as u8;
    i + 1
}

/// Reads a LEB128 varint at the start of `buf`: (value, bytes used); (0, 0) for an empty
/// buffer.
fn read_varint(buf: &[u8]) -> (usize, usize) {
    let (mut n, mut shift) = (0usize, 0);
    for (i, &b) in buf.iter().enumerate().take(10) {
        n |= ((b & 0x7f) as usize) << shift;
        if b & 0x80 == 0 {
            return (n, i + 1);
        }
        shift += 7;
    }
    (0, 0)
}

fn encode_entry(out: &mut Vec<u8>, member: &[u8], score: f64) {
    let mut n = member.len();
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
    out.extend_from_slice(member);
    let int = score as i32;
    // -0 is stored as the integer 0, as Redis's listpack does (its skip list keeps -0).
    if int as f64 == score {
        if (0..=127).contains(&int) {
            out.push(int as u8);
        } else if let Ok(b) = i8::try_from(int) {
            out.push(TAG_I8);
            out.extend_from_slice(&b.to_le_bytes());
        } else if let Ok(h) = i16::try_from(int) {
            out.push(TAG_I16);
            out.extend_from_slice(&h.to_le_bytes());
        } else {
            out.push(TAG_I32);
            out.extend_from_slice(&int.to_le_bytes());
        }
    } else {
        out.push(TAG_F64);
        out.extend_from_slice(&score.to_le_bytes());
    }
}

/// Decodes the entry at `pos`: (member, score, position of the next entry). The buffer is only
/// ever written by `encode_entry`, so a malformed entry is a bug; it ends iteration instead of
/// panicking.
fn decode_entry(buf: &[u8], pos: usize) -> Option<(&[u8], f64, usize)> {
    let mut len = 0usize;
    let mut shift = 0;
    let mut p = pos;
    loop {
        let b = *buf.get(p)?;
        p += 1;
        len |= ((b & 0x7f) as usize) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    let member = buf.get(p..p + len)?;
    p += len;
    let tag = *buf.get(p)?;
    p += 1;
    let (score, width) = match tag {
        0..=0x7f => (tag as f64, 0),
        TAG_I8 => (
            i8::from_le_bytes(buf.get(p..p + 1)?.try_into().ok()?) as f64,
            1,
        ),
        TAG_I16 => (
            i16::from_le_bytes(buf.get(p..p + 2)?.try_into().ok()?) as f64,
            2,
        ),
        TAG_I32 => (
            i32::from_le_bytes(buf.get(p..p + 4)?.try_into().ok()?) as f64,
            4,
        ),
        _ => (f64::from_le_bytes(buf.get(p..p + 8)?.try_into().ok()?), 8),
    };
    Some((member, score, p + width))
}

pub struct ListpackIter<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for ListpackIter<'a> {
    type Item = (&'a [u8], f64);
    fn next(&mut self) -> Option<Self::Item> {
        let (m, s, next) = decode_entry(self.buf, self.pos)?;
        self.pos = next;
        Some((m, s))
    }
}

impl Listpack {
    fn len(&self) -> usize {
        read_varint(&self.buf).0
    }

    /// Offset of the first entry: the header's size (an empty listpack has no header).
    fn first(&self) -> usize {
        read_varint(&self.buf).1
    }

    fn iter(&self) -> ListpackIter<'_> {
        ListpackIter {
            buf: &self.buf,
            pos: self.first(),
        }
    }

    /// Replaces the bytes `buf[range]` with `with` and records `len` entries, reallocating the
    /// buffer to its new exact size. Dropping to zero entries frees it (header included).
    fn splice(&mut self, range: std::ops::Range<usize>, with: &[u8], len: usize) {
        if len == 0 {
            self.buf = Box::default();
            return;
        }
        let mut header = [0u8; 10];
        let header_len = write_varint(len, &mut header);
        let old_header_len = self.first();
        if header_len != old_header_len {
            // The count gains or loses a byte (or the buffer is new): rebuild it whole.
            let kept = self.buf.len() - old_header_len - range.len();
            let mut v = Vec::with_capacity(header_len + kept + with.len());
            v.extend_from_slice(&header[..header_len]);
            v.extend_from_slice(&self.buf[old_header_len..range.start]);
            v.extend_from_slice(with);
            v.extend_from_slice(&self.buf[range.end..]);
            self.buf = v.into_boxed_slice();
            return;
        }
        if range.len() == with.len() {
            self.buf[range].copy_from_slice(with);
        } else {
            let mut v = std::mem::take(&mut self.buf).into_vec();
            // Grow exactly, so the splice never over-allocates and `into_boxed_slice` below
            // has nothing to trim (on a shrink it trims with one in-place realloc).
            v.reserve_exact(with.len().saturating_sub(range.len()));
            v.splice(range, with.iter().copied());
            self.buf = v.into_boxed_slice();
        }
        self.buf[..header_len].copy_from_slice(&header[..header_len]);
    }

    /// (start, end) byte offsets and score of `member`'s entry.
    fn find(&self, member: &[u8]) -> Option<(usize, usize, f64)> {
        let mut pos = self.first();
        while let Some((m, s, next)) = decode_entry(&self.buf, pos) {
            if m == member {
                return Some((pos, next, s));
            }
            pos = next;
        }
        None
    }

    fn remove(&mut self, member: &[u8]) -> bool {
        match self.find(member) {
            Some((start, end, _)) => {
                self.splice(start..end, &[], self.len() - 1);
                true
            }
            None => false,
        }
    }

    /// Adds `member` with `score`, or moves it to `score`; true if it is new. One scan finds
    /// both the member's current entry (if any) and where the new entry belongs, and one
    /// reallocation rewrites the bytes between the two.
    fn upsert(&mut self, member: &[u8], score: f64) -> bool {
        let mut old = None;
        let mut at = None;
        let mut pos = self.first();
        while let Some((m, s, next)) = decode_entry(&self.buf, pos) {
            if m == member {
                if s == score {
                    return false;
                }
                old = Some((pos, next));
            } else if at.is_none() && cmp_entry(s, m, score, member) == Ordering::Greater {
                at = Some(pos);
            }
            if old.is_some() && at.is_some() {
                break;
            }
            pos = next;
        }
        // The first entry after the new one, skipping the member's own entry: never strictly
        // inside that entry, so it is either at or before its start, or at or after its end.
        let at = at.unwrap_or(self.buf.len());
        let mut entry = Vec::with_capacity(member.len() + 11);
        encode_entry(&mut entry, member, score);
        match old {
            None => {
                self.splice(at..at, &entry, self.len() + 1);
                true
            }
            Some((start, end)) => {
                // Rewrite the span from the new position to the old entry in one go: the new
                // entry then the entries it moves past (moving down), or the other way round.
                if at <= start {
                    entry.extend_from_slice(&self.buf[at..start]);
                    self.splice(at..end, &entry, self.len());
                } else {
                    let mut moved = self.buf[end..at].to_vec();
                    moved.extend_from_slice(&entry);
                    self.splice(start..at, &moved, self.len());
                }
                false
            }
        }
    }

    fn remove_range(&mut self, start: usize, end: usize) -> usize {
        let (mut from, mut to, mut removed) = (None, self.buf.len(), 0);
        let mut pos = self.first();
        let mut rank = 0;
        while let Some((_, _, next)) = decode_entry(&self.buf, pos) {
            if rank == start {
                from = Some(pos);
            }
            if rank >= start && rank <= end {
                removed += 1;
            }
            if rank == end {
                to = next;
                break;
            }
            pos = next;
            rank += 1;
        }
        if let Some(from) = from {
            self.splice(from..to, &[], self.len() - removed);
        }
        removed
    }
}

// ---------------------------------------------------------------------------------------------
// Skip list encoding
// ---------------------------------------------------------------------------------------------

const NIL: u32 = u32::MAX;
/// The header node is always arena slot 0; it holds no element and has every level.
const HEAD: u32 = 0;
const MAX_LEVEL: usize = 32;
/// `tower` value of a node on the free list.
const FREE: u32 = u32::MAX;

/// A forward link on levels >= 1 (level 0's span is always 1 and is not stored).
#[derive(Clone, Copy, Default)]
struct Link {
    next: u32,
    span: u32,
}

#[derive(Clone)]
struct Node {
    member: Sds,
    score: f64,
    /// Level-0 successor (or, for a free node, the next free node).
    next: u32,
    /// `(first index in towers << 5) | (levels - 1)`: levels 1.. live at
    /// `towers[first .. first + levels - 1]`. `FREE` for a free node.
    tower: u32,
}

#[derive(Clone)]
pub struct SkipList {
    nodes: Vec<Node>,
    towers: Vec<Link>,
    /// Free tower blocks by height (levels - 1), chained through `Link::next`.
    free_towers: [u32; MAX_LEVEL],
    free_nodes: u32,
    index: HashTable<u32>,
    hasher: DefaultHashBuilder,
    len: usize,
    /// Levels in use (at least 1).
    level: usize,
    rng: u64,
}

impl Default for SkipList {
    fn default() -> Self {
        let mut sl = SkipList {
            nodes: Vec::new(),
            towers: Vec::new(),
            free_towers: [NIL; MAX_LEVEL],
            free_nodes: NIL,
            index: HashTable::new(),
            hasher: DefaultHashBuilder::default(),
            len: 0,
            level: 1,
            rng: 0x9E37_79B9_7F4A_7C15,
        };
        let tower = sl.alloc_tower(MAX_LEVEL);
        sl.nodes.push(Node {
            member: Sds::default(),
            score: 0.0,
            next: NIL,
            tower,
        });
        // Links from the header to NIL span "the nodes after it": none yet.
        for lvl in 1..MAX_LEVEL {
            sl.set_link(HEAD, lvl, NIL, 0);
        }
        sl
    }
}

impl SkipList {
    fn next(&self, x: u32, lvl: usize) -> u32 {
        let node = &self.nodes[x as usize];
        if lvl == 0 {
            node.next
        } else {
            self.towers[(node.tower >> 5) as usize + lvl - 1].next
        }
    }

    fn span(&self, x: u32, lvl: usize) -> usize {
        if lvl == 0 {
            1
        } else {
            let node = &self.nodes[x as usize];
            self.towers[(node.tower >> 5) as usize + lvl - 1].span as usize
        }
    }

    fn set_link(&mut self, x: u32, lvl: usize, next: u32, span: usize) {
        let node = &mut self.nodes[x as usize];
        if lvl == 0 {
            node.next = next;
        } else {
            let i = (node.tower >> 5) as usize + lvl - 1;
            self.towers[i] = Link {
                next,
                span: span as u32,
            };
        }
    }

    fn set_span(&mut self, x: u32, lvl: usize, span: usize) {
        if lvl > 0 {
            let next = self.next(x, lvl);
            self.set_link(x, lvl, next, span);
        }
    }

    /// Reserves a tower for a node of `levels` levels; returns the node's `tower` field.
    fn alloc_tower(&mut self, levels: usize) -> u32 {
        let height = levels - 1;
        if height == 0 {
            return 0;
        }
        let first = match self.free_towers[height] {
            NIL => {
                let first = self.towers.len();
                self.towers.resize(first + height, Link::default());
                first as u32
            }
            free => {
                self.free_towers[height] = self.towers[free as usize].next;
                free
            }
        };
        debug_assert!(first < (1 << 27), "tower arena index must fit 27 bits");
        (first << 5) | height as u32
    }

    fn free_tower(&mut self, tower: u32) {
        let height = (tower & 31) as usize;
        if height > 0 {
            let first = tower >> 5;
            self.towers[first as usize].next = self.free_towers[height];
            self.free_towers[height] = first;
        }
    }

    /// Redis's `zslRandomLevel`: level k+1 with probability 1/4 of level k.
    fn random_level(&mut self) -> usize {
        let mut level = 1;
        loop {
            // xorshift64: deterministic, no clock, plenty for a coin.
            self.rng ^= self.rng << 13;
            self.rng ^= self.rng >> 7;
            self.rng ^= self.rng << 17;
            if self.rng & 3 != 0 || level >= MAX_LEVEL {
                return level;
            }
            level += 1;
        }
    }

    fn hash(&self, member: &[u8]) -> u64 {
        self.hasher.hash_one(member)
    }

    fn find(&self, member: &[u8]) -> Option<u32> {
        let nodes = &self.nodes;
        self.index
            .find(self.hash(member), |&i| {
                nodes[i as usize].member.as_bytes() == member
            })
            .copied()
    }

    fn live_nodes(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().skip(1).filter(|n| n.tower != FREE)
    }

    fn heap_size(&self) -> usize {
        self.heap_size_sampled(usize::MAX)
    }

    /// The arrays and index, plus the members' own bytes estimated from `samples` of them.
    fn heap_size_sampled(&self, samples: usize) -> usize {
        let sizes = self.live_nodes().map(|n| n.member.heap_size());
        self.nodes.capacity() * std::mem::size_of::<Node>()
            + self.towers.capacity() * std::mem::size_of::<Link>()
            + self.index.capacity() * 5
            + super::sampled_total(sizes, self.len, samples)
    }

    /// Is node `x` ordered before `(score, member)`?
    fn before(&self, x: u32, score: f64, member: &[u8]) -> bool {
        let n = &self.nodes[x as usize];
        cmp_entry(n.score, &n.member, score, member) == Ordering::Less
    }

    fn insert(&mut self, member: &[u8], score: f64) -> bool {
        if let Some(x) = self.find(member) {
            if self.nodes[x as usize].score != score {
                // Re-link the same node at its new place: the index keeps pointing at it.
                self.unlink(x);
                self.nodes[x as usize].score = score;
                self.link(x);
            }
            return false;
        }
        let node = Node {
            member: Sds::new(member),
            score,
            next: NIL,
            tower: 0,
        };
        let x = match self.free_nodes {
            NIL => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
            free => {
                self.free_nodes = self.nodes[free as usize].next;
                self.nodes[free as usize] = node;
                free
            }
        };
        let (nodes, hasher) = (&self.nodes, &self.hasher);
        let hash = hasher.hash_one(member);
        self.index.insert_unique(hash, x, |&i| {
            hasher.hash_one(nodes[i as usize].member.as_bytes())
        });
        self.link(x);
        true
    }

    /// Puts node `x` (member and score set, not in the list) in its place. Redis: `zslInsert`.
    fn link(&mut self, x: u32) {
        let (score, member) = {
            let n = &self.nodes[x as usize];
            (n.score, n.member.clone())
        };
        // update[i]: the last node on level i before the new one; rank[i]: its rank.
        let mut update = [HEAD; MAX_LEVEL];
        let mut rank = [0usize; MAX_LEVEL];
        let mut cur = HEAD;
        for i in (0..self.level).rev() {
            rank[i] = if i + 1 == self.level { 0 } else { rank[i + 1] };
            loop {
                let next = self.next(cur, i);
                if next != NIL && self.before(next, score, &member) {
                    rank[i] += self.span(cur, i);
                    cur = next;
                } else {
                    break;
                }
            }
            update[i] = cur;
        }
        let levels = self.random_level();
        if levels > self.level {
            for i in self.level..levels {
                rank[i] = 0;
                update[i] = HEAD;
                self.set_span(HEAD, i, self.len);
            }
            self.level = levels;
        }
        self.nodes[x as usize].tower = self.alloc_tower(levels);
        for i in 0..levels {
            let prev = update[i];
            let passed = rank[0] - rank[i];
            let prev_span = self.span(prev, i);
            self.set_link(x, i, self.next(prev, i), prev_span.saturating_sub(passed));
            self.set_link(prev, i, x, passed + 1);
        }
        // Higher links now jump over one more node.
        for (i, &prev) in update.iter().enumerate().take(self.level).skip(levels) {
            self.set_span(prev, i, self.span(prev, i) + 1);
        }
        self.len += 1;
    }

    /// Takes node `x` out of the list (it stays in the arena and the index). Redis:
    /// `zslDeleteNode`.
    fn unlink(&mut self, x: u32) {
        let (score, member) = {
            let n = &self.nodes[x as usize];
            (n.score, n.member.clone())
        };
        let mut update = [HEAD; MAX_LEVEL];
        let mut cur = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let next = self.next(cur, i);
                if next != NIL && self.before(next, score, &member) {
                    cur = next;
                } else {
                    break;
                }
            }
            update[i] = cur;
        }
        debug_assert_eq!(self.next(update[0], 0), x);
        for (i, &prev) in update.iter().enumerate().take(self.level) {
            if self.next(prev, i) == x {
                let span = self.span(prev, i) + self.span(x, i) - 1;
                self.set_link(prev, i, self.next(x, i), span);
            } else {
                self.set_span(prev, i, self.span(prev, i) - 1);
            }
        }
        while self.level > 1 && self.next(HEAD, self.level - 1) == NIL {
            self.level -= 1;
        }
        let tower = self.nodes[x as usize].tower;
        self.free_tower(tower);
        self.len -= 1;
    }

    fn remove(&mut self, member: &[u8]) -> bool {
        let hash = self.hash(member);
        let nodes = &self.nodes;
        let x = match self
            .index
            .find_entry(hash, |&i| nodes[i as usize].member.as_bytes() == member)
        {
            Ok(entry) => entry.remove().0,
            Err(_) => return false,
        };
        self.unlink(x);
        let node = &mut self.nodes[x as usize];
        node.member = Sds::default();
        node.tower = FREE;
        node.next = self.free_nodes;
        self.free_nodes = x;
        self.maybe_compact();
        true
    }

    /// Rebuilds the arenas when three quarters of their slots are free, so a set that shrank
    /// gives its memory back (Redis frees each node; an arena must be rebuilt to shrink).
    fn maybe_compact(&mut self) {
        if self.nodes.len() > 64 && self.len * 4 < self.nodes.len() {
            let mut fresh = SkipList::default();
            let mut x = self.nodes[HEAD as usize].next;
            while x != NIL {
                let n = &self.nodes[x as usize];
                fresh.insert(&n.member, n.score);
                x = n.next;
            }
            *self = fresh;
        }
    }

    /// Number of nodes, in order, for which `before` holds (see [`ZSet::count_before`]).
    fn count_before(&self, before: impl Fn(f64, &[u8]) -> bool) -> usize {
        let mut rank = 0;
        let mut cur = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let next = self.next(cur, i);
                if next == NIL {
                    break;
                }
                let n = &self.nodes[next as usize];
                if !before(n.score, &n.member) {
                    break;
                }
                rank += self.span(cur, i);
                cur = next;
            }
        }
        rank
    }

    /// The node at 0-based `rank` (NIL past the end). Redis: `zslGetElementByRank`.
    fn node_at_rank(&self, rank: usize) -> u32 {
        let target = rank + 1;
        let mut traversed = 0;
        let mut cur = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let next = self.next(cur, i);
                if next != NIL && traversed + self.span(cur, i) <= target {
                    traversed += self.span(cur, i);
                    cur = next;
                } else {
                    break;
                }
            }
            if traversed == target {
                return cur;
            }
        }
        NIL
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    const SMALL: Limits = Limits {
        max_entries: 8,
        max_value: 16,
    };

    #[test]
    fn a_zset_is_two_words() {
        assert_eq!(std::mem::size_of::<ZSet>(), 16);
    }

    fn collect(z: &ZSet) -> Vec<(Vec<u8>, f64)> {
        z.iter().map(|(m, s)| (m.to_vec(), s)).collect()
    }

    #[test]
    fn small_sets_are_listpacks_and_convert_past_the_limits() {
        let mut z = ZSet::new();
        for i in 0..8 {
            assert!(z.insert(format!("m{i}").as_bytes(), i as f64, SMALL));
        }
        assert_eq!(z.encoding_name(), "listpack");
        z.insert(b"m8", 8.0, SMALL);
        assert_eq!(z.encoding_name(), "skiplist");
        assert_eq!(z.len(), 9);
        let mut long = ZSet::new();
        long.insert(&[b'x'; 17], 1.0, SMALL);
        assert_eq!(long.encoding_name(), "skiplist");
    }

    #[test]
    fn listpack_round_trips_every_score_kind() {
        let mut z = ZSet::new();
        let scores = [
            0.0,
            -0.0,
            1.0,
            -128.0,
            300.0,
            -70000.0,
            1.5,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e300,
            5e9,
        ];
        let limits = Limits {
            max_entries: 128,
            max_value: 64,
        };
        for (i, s) in scores.iter().enumerate() {
            z.insert(format!("m{i}").as_bytes(), *s, limits);
        }
        for (i, s) in scores.iter().enumerate() {
            let got = z.score(format!("m{i}").as_bytes()).unwrap();
            assert!(got == *s);
        }
    }

    #[test]
    fn small_integer_scores_take_one_byte_and_the_count_header_grows_with_the_set() {
        let limits = Limits {
            max_entries: 1000,
            max_value: 64,
        };
        let mut z = ZSet::new();
        for i in 0..10 {
            z.insert(format!("member:{i}").as_bytes(), i as f64, limits);
        }
        // A one-byte count, then per member: length byte, 8 bytes, one score byte.
        assert_eq!(z.heap_size(), 1 + 10 * (1 + 8 + 1));
        z.insert(b"member:0", 127.0, limits);
        // -1 is an i8: a tag and one byte.
        z.insert(b"member:1", -1.0, limits);
        assert_eq!(z.heap_size(), 1 + 10 * 10 + 1);
        // Past 127 members the count takes two bytes; below again, one.
        for i in 10..200 {
            z.insert(format!("m{i}").as_bytes(), -(i as f64), limits);
        }
        assert_eq!(z.len(), 200);
        assert_eq!(z.encoding_name(), "listpack");
        for i in 10..200 {
            assert_eq!(z.score(format!("m{i}").as_bytes()), Some(-(i as f64)));
        }
        for i in 10..200 {
            assert!(z.remove(format!("m{i}").as_bytes()));
        }
        assert_eq!(z.heap_size(), 1 + 10 * 10 + 1);
        let scores: Vec<f64> = z.iter().map(|(_, s)| s).collect();
        assert_eq!(
            scores,
            [-1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 127.0]
        );
    }

    #[test]
    fn ties_on_score_order_by_member_bytes() {
        for limits in [
            SMALL,
            Limits {
                max_entries: 0,
                max_value: 0,
            },
        ] {
            let mut z = ZSet::for_size(0, 0, limits);
            for m in ["c", "a", "b"] {
                z.insert(m.as_bytes(), 1.0, limits);
            }
            let members: Vec<_> = z.iter().map(|(m, _)| m.to_vec()).collect();
            assert_eq!(members, vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
            assert_eq!(z.rank(b"c"), Some(2));
        }
    }

    /// Drives both encodings with random operations and checks every answer against a plain
    /// sorted Vec. The last run draws from few enough members to stay a listpack throughout,
    /// so its updates move entries inside the packed buffer and its deletions empty it.
    #[test]
    fn random_operations_match_a_sorted_vec_model() {
        let mut rng = SmallRng::seed_from_u64(7);
        let listpack = Limits {
            max_entries: 128,
            max_value: 64,
        };
        let skiplist = Limits {
            max_entries: 0,
            max_value: 0,
        };
        for (limits, members) in [(listpack, 300), (skiplist, 300), (listpack, 40)] {
            let mut z = ZSet::for_size(0, 0, limits);
            let mut model: Vec<(Vec<u8>, f64)> = Vec::new();
            for step in 0..6000 {
                let member = format!("m{}", rng.random_range(0..members)).into_bytes();
                let score = rng.random_range(0..50) as f64 / 2.0;
                match rng.random_range(0..10) {
                    0..=5 => {
                        let new = z.insert(&member, score, limits);
                        let pos = model.iter().position(|(m, _)| *m == member);
                        assert_eq!(new, pos.is_none());
                        if let Some(p) = pos {
                            model.remove(p);
                        }
                        model.push((member.clone(), score));
                    }
                    6..=7 => {
                        let pos = model.iter().position(|(m, _)| *m == member);
                        assert_eq!(z.remove(&member), pos.is_some());
                        if let Some(p) = pos {
                            model.remove(p);
                        }
                    }
                    8 => {
                        let len = model.len().max(1);
                        let a = rng.random_range(0..len);
                        let b = rng.random_range(a..len + 3);
                        model.sort_by(|x, y| cmp_entry(x.1, &x.0, y.1, &y.0));
                        let expect = model.len().min(b + 1).saturating_sub(a);
                        assert_eq!(z.remove_range(a, b), expect);
                        model.drain(a.min(model.len())..model.len().min(b + 1));
                    }
                    _ => {}
                }
                model.sort_by(|x, y| cmp_entry(x.1, &x.0, y.1, &y.0));
                assert_eq!(z.len(), model.len());
                if step % 97 == 0 {
                    assert_eq!(collect(&z), model);
                }
                if let Some((m, s)) = model.get(rng.random_range(0..model.len().max(1))) {
                    let r = model.iter().position(|(x, _)| x == m);
                    assert_eq!(z.rank(m), r);
                    assert_eq!(z.score(m), Some(*s));
                    let r = r.unwrap_or(0);
                    let got: Vec<_> = z.range(r, r + 4).map(|(m, s)| (m.to_vec(), s)).collect();
                    assert_eq!(got, model[r..model.len().min(r + 5)].to_vec());
                }
                let bound = rng.random_range(0..50) as f64 / 2.0;
                assert_eq!(
                    z.count_before(|s, _| s < bound),
                    model.iter().filter(|(_, s)| *s < bound).count()
                );
            }
            assert_eq!(collect(&z), model);
            if members == 40 {
                assert_eq!(z.encoding_name(), "listpack");
            }
        }
    }

    #[test]
    fn scan_visits_every_member_of_a_skiplist() {
        let limits = Limits {
            max_entries: 0,
            max_value: 0,
        };
        let mut z = ZSet::for_size(1000, 0, limits);
        for i in 0..1000 {
            z.insert(format!("m{i}").as_bytes(), i as f64, limits);
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        loop {
            cursor = z.scan(cursor, 10, |m, _| {
                seen.insert(m.to_vec());
            });
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen.len(), 1000);
    }
}
