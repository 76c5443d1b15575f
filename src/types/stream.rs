//! The stream type: an append-only log of field-value entries keyed by increasing IDs, with
//! consumer groups (Redis: `t_stream.c` API half, `stream.h`).
//!
//! # Layout: nodes of delta-encoded entries
//!
//! A stream is mostly appended to and read in ID order, and its entries usually share one
//! set of field names (`temperature humidity`, `user action`). Redis stores it as a radix tree
//! keyed by 128-bit IDs whose values are *listpacks* of up to `stream-node-max-entries`
//! entries / `stream-node-max-bytes` bytes. Each listpack starts with a *master entry* — the
//! field names of its first entry — and every entry stores its ID as a delta from the node's
//! key plus a flag saying "same fields as the master", in which case only the values follow.
//!
//! ferrodis keeps exactly that logical structure, with a tighter byte encoding:
//!
//! ```text
//!  nodes: BTreeMap<StreamId (master id = first id ever put in the node), Node>
//!
//!  Node.buf:  <n master fields> (<len> <field>)*n                      master entry
//!             ( <flags: u8> <ms delta> <seq delta: zigzag>               one entry
//!               [<n fields> (<len> <field> <value>)*n]                 no SAMEFIELDS flag
//!               | (<value>)*n_master                         )*        SAMEFIELDS flag
//!  <value>: <2 x len> <bytes>, or <2 x zigzag(n) + 1> for a value that is the integer n
//!  all numbers are LEB128 varints (1 byte below 128); flags: 1 = deleted, 2 = same fields
//!  Node.live / Node.deleted: the counts Redis keeps at the head of its listpack
//! ```
//!
//! A value that is an integer written canonically (`42`, `-7`, not `007` or `+1`) is kept as
//! that integer, as Redis's listpack does (`lpStringToInt64`): a reading `1048576` takes 4
//! bytes instead of 8, and reads give back the same text ([`StreamValue`]).
//!
//! Redis's listpack adds a back-length to every element and an `lp-count` to every entry so
//! it can be walked backwards; ferrodis walks a node forward and remembers the entry offsets
//! when it needs to go backwards (a node holds at most a few hundred entries), so an entry of
//! three small fields costs about 2 + 3 x (1 + value) bytes instead of Redis's
//! 8 + 3 x (2 + value). A node is shrunk to its exact size once a newer node follows it, as
//! Redis's `lpShrinkToFit`.
//!
//! Node boundaries matter to users: approximate trimming (`MAXLEN ~`, `MINID ~`) only drops
//! whole nodes, and XINFO reports the node count. So each node also tracks `lp_body`, the byte
//! size Redis's listpack for the same entries would have, and a node is closed exactly when
//! Redis would close it (`lp_bytes + fields and values >= stream-node-max-bytes`, or
//! live + deleted entries >= `stream-node-max-entries`). The RDB code turns a node into that
//! very listpack ([`Node::to_listpack`] parts) and back.
//!
//! Deleting an entry only flags it (as Redis does); a node whose live entries all went is
//! removed. IDs are compared as (ms, seq) pairs, the order of Redis's big-endian rax keys.
//!
//! # Consumer groups
//!
//! Each group has a last-delivered ID, an `entries_read` counter (for the lag XINFO
//! reports), a pending entries list (PEL: ID -> delivery time, count, owner) and consumers
//! (name -> seen time and the IDs of the PEL it owns). Both are ordered maps, like Redis's
//! rax trees, so every listing comes out in Redis's order.

use crate::types::sds::Sds;
use std::collections::{BTreeMap, BTreeSet};

/// A stream entry ID: milliseconds and a sequence number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    pub const fn new(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    pub fn is_zero(&self) -> bool {
        self.ms == 0 && self.seq == 0
    }

    /// The next ID, or None past the maximum (Redis: `streamIncrID`).
    pub fn next(self) -> Option<StreamId> {
        if self.seq < u64::MAX {
            Some(StreamId::new(self.ms, self.seq + 1))
        } else if self.ms < u64::MAX {
            Some(StreamId::new(self.ms + 1, 0))
        } else {
            None
        }
    }

    /// The previous ID, or None below 0-0 (Redis: `streamDecrID`).
    pub fn prev(self) -> Option<StreamId> {
        if self.seq > 0 {
            Some(StreamId::new(self.ms, self.seq - 1))
        } else if self.ms > 0 {
            Some(StreamId::new(self.ms - 1, u64::MAX))
        } else {
            None
        }
    }

    /// `<ms>-<seq>` as text.
    pub fn to_text(self) -> String {
        format!("{}-{}", self.ms, self.seq)
    }

    /// The 16-byte big-endian form Redis uses as rax key (and in RDB files).
    pub fn encode(self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.ms.to_be_bytes());
        b[8..].copy_from_slice(&self.seq.to_be_bytes());
        b
    }

    pub fn decode(b: &[u8; 16]) -> StreamId {
        let mut ms = [0u8; 8];
        let mut seq = [0u8; 8];
        ms.copy_from_slice(&b[..8]);
        seq.copy_from_slice(&b[8..]);
        StreamId::new(u64::from_be_bytes(ms), u64::from_be_bytes(seq))
    }
}

/// Entry flag: the entry was deleted (Redis: `STREAM_ITEM_FLAG_DELETED`).
pub const FLAG_DELETED: u8 = 1;
/// Entry flag: the entry has the master entry's fields (Redis: `STREAM_ITEM_FLAG_SAMEFIELDS`).
pub const FLAG_SAMEFIELDS: u8 = 2;

/// Node size limits (`stream-node-max-bytes`, `stream-node-max-entries`).
#[derive(Clone, Copy, Debug)]
pub struct NodeLimits {
    pub max_bytes: usize,
    pub max_entries: usize,
}

/// The largest listpack Redis allows (`STREAM_LISTPACK_MAX_SIZE`, 1 GB).
pub const LISTPACK_MAX_SIZE: usize = 1 << 30;

// ---------------------------------------------------------------------------------------------
// Varints and Redis's listpack sizes.
// ---------------------------------------------------------------------------------------------

fn put_varint(buf: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        buf.push((n as u8) | 0x80);
        n >>= 7;
    }
    buf.push(n as u8);
}

/// Reads a varint at `*pos`. The buffer is built only by this module, so it is well formed.
fn get_varint(buf: &[u8], pos: &mut usize) -> u64 {
    let mut n = 0u64;
    let mut shift = 0;
    while let Some(&b) = buf.get(*pos) {
        *pos += 1;
        n |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    n
}

fn put_bytes(buf: &mut Vec<u8>, s: &[u8]) {
    put_varint(buf, s.len() as u64);
    buf.extend_from_slice(s);
}

fn get_bytes<'a>(buf: &'a [u8], pos: &mut usize) -> &'a [u8] {
    let len = get_varint(buf, pos) as usize;
    let start = (*pos).min(buf.len());
    let end = start.saturating_add(len).min(buf.len());
    *pos = end;
    &buf[start..end]
}

/// Appends a value (see the essay): an integer when `s` is one canonically (`int`, its
/// [`canonical_int`] reading) and small enough for its tagged zigzag form to fit 64 bits, else
/// the bytes.
fn put_value(buf: &mut Vec<u8>, s: &[u8], int: Option<i64>) {
    match int.map(zigzag).filter(|&z| z < 1 << 63) {
        Some(z) => put_varint(buf, z << 1 | 1),
        None => {
            put_varint(buf, (s.len() as u64) << 1);
            buf.extend_from_slice(s);
        }
    }
}

/// Reads the value at `*pos`.
fn get_value<'a>(buf: &'a [u8], pos: &mut usize) -> StreamValue<'a> {
    let tag = get_varint(buf, pos);
    if tag & 1 == 1 {
        return StreamValue::int(unzigzag(tag >> 1));
    }
    let start = (*pos).min(buf.len());
    let end = start.saturating_add((tag >> 1) as usize).min(buf.len());
    *pos = end;
    StreamValue::Bytes(&buf[start..end])
}

/// Steps over the value at `*pos` without decoding it.
fn skip_value(buf: &[u8], pos: &mut usize) {
    let tag = get_varint(buf, pos);
    if tag & 1 == 0 {
        *pos = pos.saturating_add((tag >> 1) as usize).min(buf.len());
    }
}

/// An entry's value as read from a node: its bytes, or the text of the integer it was
/// stored as, in a buffer of its own (no allocation). Derefs to the bytes either way.
#[derive(Clone, Copy)]
pub enum StreamValue<'a> {
    Bytes(&'a [u8]),
    Int {
        text: [u8; crate::util::I64_BUF],
        start: u8,
    },
}

impl StreamValue<'_> {
    fn int(n: i64) -> Self {
        let mut text = [0u8; crate::util::I64_BUF];
        let len = crate::util::write_i64(n, &mut text).len();
        StreamValue::Int {
            text,
            start: (crate::util::I64_BUF - len) as u8,
        }
    }
}

impl std::ops::Deref for StreamValue<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            StreamValue::Bytes(b) => b,
            StreamValue::Int { text, start } => &text[*start as usize..],
        }
    }
}

impl std::fmt::Debug for StreamValue<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self))
    }
}

impl PartialEq<&[u8]> for StreamValue<'_> {
    fn eq(&self, other: &&[u8]) -> bool {
        **self == **other
    }
}

fn zigzag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

fn unzigzag(n: u64) -> i64 {
    ((n >> 1) as i64) ^ -((n & 1) as i64)
}

/// Bytes a listpack back-length takes for an element of `len` bytes (Redis: `lpEncodeBacklen`).
fn lp_backlen_size(len: usize) -> usize {
    match len {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// Bytes a listpack element holding integer `n` takes (Redis: `lpEncodeIntegerGetType`).
pub fn lp_int_size(n: i64) -> usize {
    let body = match n {
        0..=127 => 1,
        -4096..=4095 => 2,
        -32768..=32767 => 3,
        -8_388_608..=8_388_607 => 4,
        -2_147_483_648..=2_147_483_647 => 5,
        _ => 9,
    };
    body + lp_backlen_size(body)
}

/// Bytes a listpack element holding `s` takes: as an integer when `s` is one canonically
/// (Redis: `lpStringToInt64`), else as a string.
pub fn lp_str_size(s: &[u8]) -> usize {
    lp_elem_size(s, canonical_int(s))
}

/// [`lp_str_size`] for `s` whose [`canonical_int`] reading is `int`.
fn lp_elem_size(s: &[u8], int: Option<i64>) -> usize {
    if let Some(n) = int {
        return lp_int_size(n);
    }
    let header = match s.len() {
        0..=63 => 1,
        64..=4095 => 2,
        _ => 5,
    };
    let body = header + s.len();
    body + lp_backlen_size(body)
}

fn canonical_int(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let n = crate::util::parse_i64(s)?;
    let mut buf = [0u8; crate::util::I64_BUF];
    (crate::util::write_i64(n, &mut buf) == s).then_some(n)
}

// ---------------------------------------------------------------------------------------------
// Nodes.
// ---------------------------------------------------------------------------------------------

/// One node: a master entry and up to `stream-node-max-entries` entries (see the essay).
#[derive(Clone, Debug)]
pub struct Node {
    buf: Vec<u8>,
    /// Offset of the first entry (just past the master entry).
    entries_at: u32,
    /// Number of master fields.
    master_fields: u32,
    /// Entries not flagged deleted.
    live: u32,
    /// Entries flagged deleted.
    deleted: u32,
    /// Size of Redis's listpack for this node, without its header, terminator and the two
    /// count elements (whose size changes with the counts).
    lp_body: u32,
}

/// One entry of a node, as read from its buffer.
#[derive(Clone, Copy)]
pub struct EntryView<'a> {
    pub id: StreamId,
    pub flags: u8,
    /// Offset of the flags byte in the node.
    at: usize,
    node: &'a Node,
    /// Offset of the fields (or values, with SAMEFIELDS) after the header.
    body: usize,
    nfields: usize,
    /// Offset just past the entry.
    end: usize,
}

impl<'a> EntryView<'a> {
    pub fn is_deleted(&self) -> bool {
        self.flags & FLAG_DELETED != 0
    }

    pub fn same_fields(&self) -> bool {
        self.flags & FLAG_SAMEFIELDS != 0
    }

    pub fn field_count(&self) -> usize {
        self.nfields
    }

    /// The entry's (field, value) pairs in order.
    pub fn pairs(&self) -> impl Iterator<Item = (&'a [u8], StreamValue<'a>)> + 'a {
        let buf: &'a [u8] = &self.node.buf;
        let same = self.same_fields();
        let mut pos = self.body;
        let mut master = self.node.master_fields_start();
        (0..self.nfields).map(move |_| {
            let field = if same {
                get_bytes(buf, &mut master)
            } else {
                get_bytes(buf, &mut pos)
            };
            let value = get_value(buf, &mut pos);
            (field, value)
        })
    }
}

impl Node {
    /// A node whose master entry has `fields`.
    fn new<'f>(fields: impl Iterator<Item = &'f [u8]> + Clone) -> Node {
        let mut buf = Vec::new();
        let n = fields.clone().count();
        put_varint(&mut buf, n as u64);
        let mut lp_body = lp_int_size(n as i64) + lp_int_size(0);
        for f in fields {
            put_bytes(&mut buf, f);
            lp_body += lp_str_size(f);
        }
        Node {
            entries_at: buf.len() as u32,
            buf,
            master_fields: n as u32,
            live: 0,
            deleted: 0,
            lp_body: lp_body as u32,
        }
    }

    fn master_fields_start(&self) -> usize {
        let mut pos = 0;
        get_varint(&self.buf, &mut pos);
        pos
    }

    /// The master entry's field names.
    pub fn master_fields(&self) -> impl Iterator<Item = &[u8]> {
        let mut pos = self.master_fields_start();
        (0..self.master_fields).map(move |_| get_bytes(&self.buf, &mut pos))
    }

    pub fn live(&self) -> u64 {
        u64::from(self.live)
    }

    pub fn deleted(&self) -> u64 {
        u64::from(self.deleted)
    }

    /// Size of the listpack Redis would hold for this node (Redis: `lpBytes`).
    pub fn lp_bytes(&self) -> usize {
        7 + self.lp_body as usize
            + lp_int_size(i64::from(self.live))
            + lp_int_size(i64::from(self.deleted))
    }

    /// Reads the entry at `at` (an entry offset).
    fn entry_at(&self, master: StreamId, at: usize) -> EntryView<'_> {
        let buf = &self.buf;
        let mut pos = at;
        let flags = buf.get(pos).copied().unwrap_or(0);
        pos += 1;
        let ms = master.ms.wrapping_add(get_varint(buf, &mut pos));
        let seq = master
            .seq
            .wrapping_add(unzigzag(get_varint(buf, &mut pos)) as u64);
        let nfields;
        let body;
        if flags & FLAG_SAMEFIELDS != 0 {
            nfields = self.master_fields as usize;
            body = pos;
            for _ in 0..nfields {
                skip_value(buf, &mut pos);
            }
        } else {
            nfields = get_varint(buf, &mut pos) as usize;
            body = pos;
            for _ in 0..nfields {
                get_bytes(buf, &mut pos);
                skip_value(buf, &mut pos);
            }
        }
        EntryView {
            id: StreamId::new(ms, seq),
            flags,
            at,
            node: self,
            body,
            nfields,
            end: pos,
        }
    }

    /// Every entry, deleted ones included, oldest first.
    pub fn entries(&self, master: StreamId) -> impl Iterator<Item = EntryView<'_>> {
        let mut at = self.entries_at as usize;
        std::iter::from_fn(move || {
            if at >= self.buf.len() {
                return None;
            }
            let e = self.entry_at(master, at);
            at = e.end;
            Some(e)
        })
    }

    /// Does an entry with these fields have the master's fields, in the same order?
    fn has_master_fields(&self, fields: &[&[u8]]) -> bool {
        fields.len() == self.master_fields as usize
            && self.master_fields().zip(fields).all(|(m, f)| m == *f)
    }

    /// Appends an entry (`fields` and `values` of equal length) with the given flags
    /// (SAMEFIELDS is decided here), as Redis's `streamAppendItem` does.
    fn push(&mut self, master: StreamId, id: StreamId, fields: &[&[u8]], values: &[&[u8]]) {
        let same = self.has_master_fields(fields);
        let flags = if same { FLAG_SAMEFIELDS } else { 0 };
        self.push_raw(master, id, flags, fields, values);
    }

    /// Appends an entry with explicit flags (also used when loading a listpack).
    fn push_raw(
        &mut self,
        master: StreamId,
        id: StreamId,
        flags: u8,
        fields: &[&[u8]],
        values: &[&[u8]],
    ) {
        let ms_delta = id.ms.wrapping_sub(master.ms);
        let seq_delta = id.seq.wrapping_sub(master.seq) as i64;
        self.buf.push(flags);
        put_varint(&mut self.buf, ms_delta);
        put_varint(&mut self.buf, zigzag(seq_delta));
        let n = values.len();
        let mut lp =
            lp_int_size(i64::from(flags)) + lp_int_size(ms_delta as i64) + lp_int_size(seq_delta);
        let lp_count = if flags & FLAG_SAMEFIELDS != 0 {
            for v in values {
                // Parsed once: for the encoding here and for Redis's listpack size.
                let int = canonical_int(v);
                put_value(&mut self.buf, v, int);
                lp += lp_elem_size(v, int);
            }
            n + 3
        } else {
            put_varint(&mut self.buf, n as u64);
            lp += lp_int_size(n as i64);
            for (f, v) in fields.iter().zip(values) {
                let int = canonical_int(v);
                put_bytes(&mut self.buf, f);
                put_value(&mut self.buf, v, int);
                lp += lp_str_size(f) + lp_elem_size(v, int);
            }
            2 * n + 4
        };
        lp += lp_int_size(lp_count as i64);
        self.lp_body += lp as u32;
        if flags & FLAG_DELETED != 0 {
            self.deleted += 1;
        } else {
            self.live += 1;
        }
    }

    /// Flags the entry at offset `at` deleted.
    fn mark_deleted(&mut self, at: usize) {
        if let Some(f) = self.buf.get_mut(at) {
            if *f & FLAG_DELETED == 0 {
                *f |= FLAG_DELETED;
                self.live -= 1;
                self.deleted += 1;
            }
        }
    }

    /// The ID of the last entry, deleted or not (Redis: `lpGetEdgeStreamID(lp, 0, ...)`).
    fn last_id(&self, master: StreamId) -> StreamId {
        self.entries(master).last().map_or(master, |e| e.id)
    }

    fn heap_size(&self) -> usize {
        self.buf.capacity() + std::mem::size_of::<Node>() + 16
    }
}

// ---------------------------------------------------------------------------------------------
// Consumer groups.
// ---------------------------------------------------------------------------------------------

/// A pending entry: delivered to a consumer and not acknowledged yet (Redis: `streamNACK`).
#[derive(Clone, Debug)]
pub struct Nack {
    /// Unix ms of the last delivery.
    pub delivery_time: i64,
    pub delivery_count: u64,
    /// The owner; None only transiently (XCLAIM FORCE creates, then assigns).
    pub consumer: Option<Sds>,
}

/// A consumer of a group (Redis: `streamConsumer`).
#[derive(Clone, Debug, Default)]
pub struct Consumer {
    /// Unix ms of the last time it read or claimed.
    pub seen_time: i64,
    /// The IDs of the group's PEL it owns.
    pub pel: BTreeSet<StreamId>,
}

/// `entries_read` when unknown (Redis: `SCG_INVALID_ENTRIES_READ`).
pub const INVALID_ENTRIES_READ: i64 = -1;

/// A consumer group (Redis: `streamCG`).
#[derive(Clone, Debug, Default)]
pub struct ConsumerGroup {
    pub last_id: StreamId,
    pub entries_read: i64,
    pub pel: BTreeMap<StreamId, Nack>,
    pub consumers: BTreeMap<Sds, Consumer>,
}

impl ConsumerGroup {
    pub fn new(last_id: StreamId, entries_read: i64) -> ConsumerGroup {
        ConsumerGroup {
            last_id,
            entries_read,
            pel: BTreeMap::new(),
            consumers: BTreeMap::new(),
        }
    }

    /// Creates consumer `name` with `now` as seen time; false if it exists.
    pub fn create_consumer(&mut self, name: &[u8], now: i64) -> bool {
        if self.consumers.contains_key(name) {
            return false;
        }
        self.consumers.insert(
            Sds::new(name),
            Consumer {
                seen_time: now,
                pel: BTreeSet::new(),
            },
        );
        true
    }

    /// Deletes consumer `name` and its pending entries; the number of those, or None.
    pub fn delete_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let consumer = self.consumers.remove(name)?;
        for id in &consumer.pel {
            self.pel.remove(id);
        }
        Some(consumer.pel.len())
    }

    /// Removes `id` from the PEL and from its owner's; true if it was pending.
    pub fn ack(&mut self, id: StreamId) -> bool {
        match self.pel.remove(&id) {
            Some(nack) => {
                if let Some(owner) = nack.consumer {
                    if let Some(c) = self.consumers.get_mut(owner.as_bytes()) {
                        c.pel.remove(&id);
                    }
                }
                true
            }
            None => false,
        }
    }

    /// Makes `consumer` (which must exist) the owner of pending entry `id`.
    pub fn assign(&mut self, id: StreamId, consumer: &[u8]) {
        let Some(nack) = self.pel.get_mut(&id) else {
            return;
        };
        if nack.consumer.as_ref().map(|c| c.as_bytes()) == Some(consumer) {
            return;
        }
        if let Some(old) = nack.consumer.take() {
            if let Some(c) = self.consumers.get_mut(old.as_bytes()) {
                c.pel.remove(&id);
            }
        }
        nack.consumer = Some(Sds::new(consumer));
        if let Some(c) = self.consumers.get_mut(consumer) {
            c.pel.insert(id);
        }
    }

    fn heap_size(&self) -> usize {
        64 + self.pel.len() * 72
            + self
                .consumers
                .iter()
                .map(|(n, c)| 64 + n.len() + c.pel.len() * 24)
                .sum::<usize>()
    }
}

// ---------------------------------------------------------------------------------------------
// The stream.
// ---------------------------------------------------------------------------------------------

/// Why an append failed (Redis: `streamAppendItem`'s errno).
#[derive(Debug, PartialEq, Eq)]
pub enum AppendError {
    /// The ID is not greater than the last one (EDOM).
    IdTooSmall,
    /// Fields and values exceed the listpack limit (ERANGE).
    TooLarge,
}

/// How to trim (Redis: `streamAddTrimArgs`).
#[derive(Clone, Copy, Debug)]
pub enum TrimStrategy {
    MaxLen(u64),
    MinId(StreamId),
}

/// An entry read from a file: flags, ID, fields (unused with SAMEFIELDS), values.
pub type LoadedEntry<'a> = (u8, StreamId, Vec<&'a [u8]>, Vec<&'a [u8]>);

/// A stream value (Redis: `stream`).
#[derive(Clone, Debug, Default)]
pub struct Stream {
    nodes: BTreeMap<StreamId, Node>,
    length: u64,
    pub last_id: StreamId,
    pub first_id: StreamId,
    pub max_deleted_entry_id: StreamId,
    pub entries_added: u64,
    /// Groups by name; boxed away, most streams have none.
    pub groups: Option<Box<BTreeMap<Sds, ConsumerGroup>>>,
}

impl Stream {
    pub fn new() -> Stream {
        Stream::default()
    }

    pub fn len(&self) -> u64 {
        self.length
    }

    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// Number of nodes (XINFO `radix-tree-keys`).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The nodes with their master IDs, oldest first (for RDB).
    pub fn nodes(&self) -> impl Iterator<Item = (StreamId, &Node)> {
        self.nodes.iter().map(|(k, n)| (*k, n))
    }

    pub fn heap_size(&self) -> usize {
        let nodes: usize = self.nodes.values().map(Node::heap_size).sum();
        let groups: usize = self
            .groups
            .iter()
            .flat_map(|g| g.iter())
            .map(|(n, g)| n.len() + g.heap_size())
            .sum();
        nodes + groups + 48
    }

    /// Redis's lazy-free effort: one per node, and per group one plus its PEL.
    pub fn free_effort(&self) -> usize {
        let groups = self.groups.as_ref().map_or(0, |g| {
            g.values()
                .next()
                .map_or(0, |first| g.len() * (1 + first.pel.len()))
        });
        self.nodes.len() + groups
    }

    /// Appends an entry with ID `id` (already validated by the caller as greater than
    /// `last_id`), opening a new node when the tail one is full (Redis: `streamAppendItem`).
    pub fn append(
        &mut self,
        id: StreamId,
        fields: &[&[u8]],
        values: &[&[u8]],
        limits: NodeLimits,
    ) -> Result<(), AppendError> {
        if id <= self.last_id {
            return Err(AppendError::IdTooSmall);
        }
        let total: usize = fields.iter().chain(values).map(|s| s.len()).sum();
        if total > LISTPACK_MAX_SIZE {
            return Err(AppendError::TooLarge);
        }
        let max_bytes = if limits.max_bytes == 0 || limits.max_bytes > LISTPACK_MAX_SIZE {
            LISTPACK_MAX_SIZE
        } else {
            limits.max_bytes
        };
        let mut open_new = true;
        if let Some((_, tail)) = self.nodes.iter_mut().next_back() {
            let full = tail.lp_bytes() + total >= max_bytes
                || (limits.max_entries > 0
                    && (tail.live + tail.deleted) as usize >= limits.max_entries);
            if full {
                tail.buf.shrink_to_fit();
            } else {
                open_new = false;
            }
        }
        if open_new {
            let node = Node::new(fields.iter().copied());
            self.nodes.insert(id, node);
        }
        if let Some((master, tail)) = self.nodes.iter_mut().next_back() {
            tail.push(*master, id, fields, values);
        }
        self.length += 1;
        self.entries_added += 1;
        self.last_id = id;
        if self.length == 1 {
            self.first_id = id;
        }
        Ok(())
    }

    /// Visits the live entries with IDs in `[start, end]`, oldest first (or newest first when
    /// `rev`), until `visit` returns false. Redis: `streamIteratorStart` / `GetID`.
    pub fn range<'s>(
        &'s self,
        start: StreamId,
        end: StreamId,
        rev: bool,
        mut visit: impl FnMut(EntryView<'s>) -> bool,
    ) {
        if start > end {
            return;
        }
        if !rev {
            // The node holding `start` is the last one whose master ID is <= start.
            let from = self
                .nodes
                .range(..=start)
                .next_back()
                .map_or(StreamId::MIN, |(k, _)| *k);
            for (master, node) in self.nodes.range(from..) {
                if *master > end {
                    return;
                }
                for e in node.entries(*master) {
                    if e.id > end {
                        return;
                    }
                    if e.id < start || e.is_deleted() {
                        continue;
                    }
                    if !visit(e) {
                        return;
                    }
                }
            }
        } else {
            for (master, node) in self.nodes.range(..=end).rev() {
                let entries: Vec<EntryView<'s>> = node.entries(*master).collect();
                for e in entries.into_iter().rev() {
                    if e.id < start {
                        return;
                    }
                    if e.id > end || e.is_deleted() {
                        continue;
                    }
                    if !visit(e) {
                        return;
                    }
                }
            }
        }
    }

    /// The live entry with this ID, if any.
    pub fn get(&self, id: StreamId) -> Option<EntryView<'_>> {
        let mut found = None;
        self.range(id, id, false, |e| {
            found = Some(e);
            false
        });
        found
    }

    pub fn contains(&self, id: StreamId) -> bool {
        self.get(id).is_some()
    }

    /// The first (or last, `last`) live entry's ID (Redis: `streamGetEdgeID`).
    pub fn edge_id(&self, last: bool) -> Option<StreamId> {
        let mut found = None;
        self.range(StreamId::MIN, StreamId::MAX, last, |e| {
            found = Some(e.id);
            false
        });
        found
    }

    /// Deletes the entry `id`; true if it existed (Redis: `streamDeleteItem`). Updates the
    /// length but not `first_id` / `max_deleted_entry_id` (XDEL does that).
    pub fn delete(&mut self, id: StreamId) -> bool {
        let Some((&master, node)) = self.nodes.range_mut(..=id).next_back() else {
            return false;
        };
        let at = node
            .entries(master)
            .find(|e| e.id == id && !e.is_deleted())
            .map(|e| e.at);
        let Some(at) = at else {
            return false;
        };
        if node.live == 1 {
            self.nodes.remove(&master);
        } else {
            node.mark_deleted(at);
        }
        self.length -= 1;
        true
    }

    /// Trims from the head (Redis: `streamTrim`): whole nodes while allowed, then — unless
    /// `approx` — entries of the first remaining node. `limit` (0 = none) caps the entries
    /// removed. Returns how many were removed.
    pub fn trim(&mut self, strategy: TrimStrategy, approx: bool, limit: u64) -> u64 {
        let mut deleted = 0u64;
        loop {
            if let TrimStrategy::MaxLen(maxlen) = strategy {
                if self.length <= maxlen {
                    break;
                }
            }
            let Some((&master, node)) = self.nodes.iter_mut().next() else {
                break;
            };
            let entries = node.live();
            if limit > 0 && deleted + entries > limit {
                break;
            }
            let remove_node = match strategy {
                TrimStrategy::MaxLen(maxlen) => self.length - entries >= maxlen,
                TrimStrategy::MinId(min) => node.last_id(master) < min,
            };
            if remove_node {
                self.nodes.remove(&master);
                self.length -= entries;
                deleted += entries;
                continue;
            }
            if approx {
                break;
            }
            let mut marks = Vec::new();
            let mut length = self.length;
            for e in node.entries(master) {
                let stop = match strategy {
                    TrimStrategy::MaxLen(maxlen) => length <= maxlen,
                    TrimStrategy::MinId(min) => e.id >= min,
                };
                if stop {
                    break;
                }
                if !e.is_deleted() {
                    marks.push(e.at);
                    length -= 1;
                }
            }
            for at in &marks {
                node.mark_deleted(*at);
            }
            self.length = length;
            deleted += marks.len() as u64;
            break;
        }
        if self.length == 0 {
            self.first_id = StreamId::MIN;
        } else if deleted > 0 {
            self.first_id = self.edge_id(false).unwrap_or(StreamId::MIN);
        }
        deleted
    }

    /// The last live entry's ID, 0-0 when empty (Redis: `streamLastValidID`).
    pub fn last_valid_id(&self) -> StreamId {
        self.edge_id(true).unwrap_or(StreamId::MIN)
    }

    // --- consumer groups -----------------------------------------------------------------

    pub fn group(&self, name: &[u8]) -> Option<&ConsumerGroup> {
        self.groups.as_ref()?.get(name)
    }

    pub fn group_mut(&mut self, name: &[u8]) -> Option<&mut ConsumerGroup> {
        self.groups.as_mut()?.get_mut(name)
    }

    pub fn group_count(&self) -> usize {
        self.groups.as_ref().map_or(0, |g| g.len())
    }

    /// Creates a group; false if the name is taken (Redis: `streamCreateCG`).
    pub fn create_group(&mut self, name: &[u8], last_id: StreamId, entries_read: i64) -> bool {
        let groups = self.groups.get_or_insert_with(Default::default);
        if groups.contains_key(name) {
            return false;
        }
        groups.insert(Sds::new(name), ConsumerGroup::new(last_id, entries_read));
        true
    }

    pub fn destroy_group(&mut self, name: &[u8]) -> bool {
        self.groups
            .as_mut()
            .is_some_and(|g| g.remove(name).is_some())
    }

    /// Does `[start, end]` (end None = to the last ID) hold a deleted entry, as far as the
    /// stream knows (Redis: `streamRangeHasTombstones`)?
    pub fn range_has_tombstones(&self, start: StreamId, end: Option<StreamId>) -> bool {
        if self.length == 0 || self.max_deleted_entry_id.is_zero() {
            return false;
        }
        if self.first_id > self.max_deleted_entry_id {
            return false;
        }
        let end = end.unwrap_or(StreamId::MAX);
        start <= self.max_deleted_entry_id && self.max_deleted_entry_id <= end
    }

    /// The logical read counter of `id`, if it can be known (Redis:
    /// `streamEstimateDistanceFromFirstEverEntry`).
    pub fn estimate_distance_from_first_ever_entry(&self, id: StreamId) -> i64 {
        if self.entries_added == 0 {
            return 0;
        }
        if self.length == 0 && id <= self.last_id {
            return self.entries_added as i64;
        }
        if id == self.last_id {
            return self.entries_added as i64;
        } else if id > self.last_id {
            return INVALID_ENTRIES_READ;
        }
        if self.max_deleted_entry_id.is_zero() || self.max_deleted_entry_id < self.first_id {
            if id < self.first_id {
                return (self.entries_added - self.length) as i64;
            } else if id == self.first_id {
                return (self.entries_added - self.length + 1) as i64;
            }
        }
        INVALID_ENTRIES_READ
    }

    /// The lag of a group, if known (Redis: `streamReplyWithCGLag`).
    pub fn group_lag(&self, group: &ConsumerGroup) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if group.entries_read != INVALID_ENTRIES_READ
            && !self.range_has_tombstones(group.last_id, None)
        {
            return Some(self.entries_added as i64 - group.entries_read);
        }
        let read = self.estimate_distance_from_first_ever_entry(group.last_id);
        (read != INVALID_ENTRIES_READ).then(|| self.entries_added as i64 - read)
    }

    /// A group delivered entry `id`: advance its last ID and read counter (the part of
    /// Redis's `streamReplyWithRange` that runs for each entry past the group's last ID).
    pub fn advance_group(&self, group: &mut ConsumerGroup, id: StreamId) {
        if id <= group.last_id {
            return;
        }
        if group.entries_read != INVALID_ENTRIES_READ && !self.range_has_tombstones(id, None) {
            group.entries_read += 1;
        } else if self.entries_added > 0 {
            group.entries_read = self.estimate_distance_from_first_ever_entry(id);
        }
        group.last_id = id;
    }

    // --- building from a file ------------------------------------------------------------

    /// Adds a node read from a file: master ID, master fields, and entries as
    /// (flags, id, fields, values). The caller validated the structure; the counts come out
    /// of the entries' flags.
    pub fn push_loaded_node(
        &mut self,
        master: StreamId,
        master_fields: &[&[u8]],
        entries: &[LoadedEntry<'_>],
    ) -> bool {
        if self.nodes.contains_key(&master) {
            return false;
        }
        let mut node = Node::new(master_fields.iter().copied());
        for (flags, id, fields, values) in entries {
            let fields: &[&[u8]] = if flags & FLAG_SAMEFIELDS != 0 {
                master_fields
            } else {
                fields
            };
            node.push_raw(master, *id, *flags, fields, values);
        }
        node.buf.shrink_to_fit();
        self.nodes.insert(master, node);
        true
    }

    /// Sets the counters read from a file (length, IDs, entries added).
    pub fn set_loaded_length(&mut self, length: u64) {
        self.length = length;
    }

    /// Live entries counted from the nodes (to check a loaded length).
    pub fn counted_length(&self) -> u64 {
        self.nodes.values().map(Node::live).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: NodeLimits = NodeLimits {
        max_bytes: 4096,
        max_entries: 100,
    };

    fn add(s: &mut Stream, ms: u64, seq: u64, pairs: &[(&str, &str)]) {
        let f: Vec<&[u8]> = pairs.iter().map(|p| p.0.as_bytes()).collect();
        let v: Vec<&[u8]> = pairs.iter().map(|p| p.1.as_bytes()).collect();
        s.append(StreamId::new(ms, seq), &f, &v, LIMITS).unwrap();
    }

    fn ids(s: &Stream, rev: bool) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        s.range(StreamId::MIN, StreamId::MAX, rev, |e| {
            out.push((e.id.ms, e.id.seq));
            true
        });
        out
    }

    #[test]
    fn entries_come_back_in_order_with_their_fields() {
        let mut s = Stream::new();
        add(&mut s, 1, 0, &[("a", "1"), ("b", "x")]);
        add(&mut s, 1, 5, &[("a", "2"), ("b", "y")]);
        add(&mut s, 2, 0, &[("c", "3")]);
        assert_eq!(ids(&s, false), vec![(1, 0), (1, 5), (2, 0)]);
        assert_eq!(ids(&s, true), vec![(2, 0), (1, 5), (1, 0)]);
        let e = s.get(StreamId::new(1, 5)).unwrap();
        assert!(e.same_fields());
        assert_eq!(texts(&e), vec![("a", "2".into()), ("b", "y".into())]);
        let e = s.get(StreamId::new(2, 0)).unwrap();
        assert!(!e.same_fields());
        assert_eq!(texts(&e), vec![("c", "3".into())]);
    }

    fn texts(e: &EntryView) -> Vec<(&'static str, String)> {
        e.pairs()
            .map(|(f, v)| {
                let f: &'static str = Box::leak(String::from_utf8_lossy(f).into_owned().into());
                (f, String::from_utf8_lossy(&v).into_owned())
            })
            .collect()
    }

    #[test]
    fn integer_values_are_stored_as_integers_and_read_back_as_written() {
        let values = [
            "0",
            "12",
            "-5",
            "1048576",
            "007",
            "+1",
            "-0",
            " 1",
            "",
            "1.5",
            "9223372036854775807",
            "-9223372036854775808",
            "4611686018427387903",
            "4611686018427387904",
            "-4611686018427387904",
            "-4611686018427387905",
        ];
        let mut s = Stream::new();
        for (i, v) in values.iter().enumerate() {
            add(&mut s, 1, i as u64, &[("f", v)]);
        }
        for (i, v) in values.iter().enumerate() {
            add(&mut s, 2, i as u64, &[("g", "x"), ("h", v)]);
        }
        for (i, v) in values.iter().enumerate() {
            let e = s.get(StreamId::new(1, i as u64)).unwrap();
            assert_eq!(texts(&e), vec![("f", v.to_string())]);
            let e = s.get(StreamId::new(2, i as u64)).unwrap();
            assert_eq!(texts(&e), vec![("g", "x".into()), ("h", v.to_string())]);
        }
        // A 7-digit reading takes a 4-byte varint, not 1 + 7 bytes.
        let mut buf = Vec::new();
        put_value(&mut buf, b"1048576", canonical_int(b"1048576"));
        assert_eq!(buf.len(), 4);
        put_value(&mut buf, b"0123", canonical_int(b"0123"));
        assert_eq!(buf.len(), 4 + 5);
    }

    #[test]
    fn nodes_split_at_the_entry_limit_and_trim_drops_whole_nodes() {
        let mut s = Stream::new();
        for i in 1..=250 {
            add(&mut s, i, 0, &[("f", "v")]);
        }
        assert_eq!(s.node_count(), 3);
        assert_eq!(s.trim(TrimStrategy::MaxLen(120), true, 0), 100);
        assert_eq!(s.len(), 150);
        assert_eq!(s.trim(TrimStrategy::MaxLen(120), false, 0), 30);
        assert_eq!(s.first_id, StreamId::new(131, 0));
    }

    #[test]
    fn a_node_whose_entries_are_all_deleted_goes_away() {
        let mut s = Stream::new();
        add(&mut s, 1, 0, &[("f", "v")]);
        add(&mut s, 2, 0, &[("f", "v")]);
        assert!(s.delete(StreamId::new(1, 0)));
        assert!(!s.delete(StreamId::new(1, 0)));
        assert_eq!(s.node_count(), 1);
        assert!(s.delete(StreamId::new(2, 0)));
        assert_eq!(s.node_count(), 0);
        assert!(s.is_empty());
    }

    #[test]
    fn listpack_sizes_match_redis() {
        // A one-entry node "f" = "v" at 1-0: Redis's listpack is 7 + count(2) + deleted(2) +
        // nfields(2) + "f"(3) + 0(2) + flags(2) + ms(2) + seq(2) + "v"(3) + lp-count(2).
        let mut s = Stream::new();
        add(&mut s, 1, 0, &[("f", "v")]);
        let (_, node) = s.nodes().next().unwrap();
        assert_eq!(node.lp_bytes(), 7 + 2 + 2 + 2 + 3 + 2 + 2 + 2 + 2 + 3 + 2);
    }
}
