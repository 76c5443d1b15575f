//! Streams in RDB files (Redis: `rdb.c`, the `OBJ_STREAM` branches of `rdbSaveObject` and
//! `rdbLoadObject`, and `streamValidateListpackIntegrity` in `t_stream.c`).
//!
//! ```text
//!  type 19 (STREAM_LISTPACKS_2; 15 is the pre-7.0 form without the three counters marked *)
//!    <nodes: length> ( <master ID: 16-byte string, big-endian ms, seq> <listpack: string> )*
//!    <length> <last ID: ms length, seq length>
//!    *<first ID: ms, seq> *<max deleted ID: ms, seq> *<entries added>
//!    <groups: length> ( <name: string> <last ID: ms, seq> *<entries read: length, -1 as u64>
//!                       <PEL: length> ( <ID: 16 raw bytes> <delivery ms: i64 LE> <count> )*
//!                       <consumers: length> ( <name: string> <seen ms: i64 LE>
//!                                             <PEL: length> <ID: 16 raw bytes>* )* )*
//!  listpack of a node: live, deleted, master field count, master fields..., 0, then per entry
//!    flags, ms delta, seq delta, [field count, field, value ...] or [value ...], lp-count
//! ```
//!
//! A node is written as the very listpack Redis holds for it, and a listpack read from a file
//! is checked entry by entry as Redis's deep sanitization checks it, then turned back into a
//! node with the same entries, flags and deltas.

use super::*;
use crate::types::stream::{Node, Stream, StreamId, FLAG_SAMEFIELDS, INVALID_ENTRIES_READ};

/// The listpack Redis keeps for `node` (whose master ID is `master`).
fn node_listpack(master: StreamId, node: &Node) -> Vec<u8> {
    let mut lp = ListpackWriter::new();
    lp.push_int(node.live() as i64);
    lp.push_int(node.deleted() as i64);
    let master_fields: Vec<&[u8]> = node.master_fields().collect();
    lp.push_int(master_fields.len() as i64);
    for f in &master_fields {
        lp.push_bytes(f);
    }
    lp.push_int(0);
    for e in node.entries(master) {
        lp.push_int(i64::from(e.flags));
        lp.push_int(e.id.ms.wrapping_sub(master.ms) as i64);
        lp.push_int(e.id.seq.wrapping_sub(master.seq) as i64);
        let n = e.field_count();
        if e.same_fields() {
            for (_, v) in e.pairs() {
                lp.push_bytes(&v);
            }
            lp.push_int(n as i64 + 3);
        } else {
            lp.push_int(n as i64);
            for (f, v) in e.pairs() {
                lp.push_bytes(f);
                lp.push_bytes(&v);
            }
            lp.push_int(2 * n as i64 + 4);
        }
    }
    lp.finish()
}

/// Writes a stream value (type 19).
pub(super) fn save_stream<W: Write>(w: &mut Writer<W>, s: &Stream) -> io::Result<()> {
    w.len(s.node_count() as u64)?;
    for (master, node) in s.nodes() {
        w.string(&master.encode())?;
        w.string(&node_listpack(master, node))?;
    }
    w.len(s.len())?;
    for id in [s.last_id, s.first_id, s.max_deleted_entry_id] {
        w.len(id.ms)?;
        w.len(id.seq)?;
    }
    w.len(s.entries_added)?;
    let groups: Vec<_> = s.groups.iter().flat_map(|g| g.iter()).collect();
    w.len(groups.len() as u64)?;
    for (name, g) in groups {
        w.string(name)?;
        w.len(g.last_id.ms)?;
        w.len(g.last_id.seq)?;
        w.len(g.entries_read as u64)?;
        w.len(g.pel.len() as u64)?;
        for (id, nack) in &g.pel {
            w.bytes(&id.encode())?;
            w.bytes(&nack.delivery_time.to_le_bytes())?;
            w.len(nack.delivery_count)?;
        }
        w.len(g.consumers.len() as u64)?;
        for (cname, c) in &g.consumers {
            w.string(cname)?;
            w.bytes(&c.seen_time.to_le_bytes())?;
            w.len(c.pel.len() as u64)?;
            for id in &c.pel {
                w.bytes(&id.encode())?;
            }
        }
    }
    Ok(())
}

/// One entry of a node listpack, owned: flags, ID, fields (empty with SAMEFIELDS), values.
type LoadedEntry = (u8, StreamId, Vec<Vec<u8>>, Vec<Vec<u8>>);

/// Parses and checks a node's listpack (Redis: `streamValidateListpackIntegrity`, deep).
fn parse_node(
    master: StreamId,
    blob: &[u8],
) -> blobs::BlobResult<(Vec<Vec<u8>>, Vec<LoadedEntry>)> {
    let entries = blobs::listpack_entries(blob)?;
    let mut it = entries.into_iter();
    let int = |e: Option<Entry>, what: &str| -> blobs::BlobResult<i64> {
        match e {
            Some(Entry::Int(n)) => Ok(n),
            Some(Entry::Str(s)) => parse_i64(s).ok_or(format!("{what} is not an integer")),
            None => Err(format!("{what} missing")),
        }
    };
    let live = int(it.next(), "the entry count")?;
    let deleted = int(it.next(), "the deleted count")?;
    let nfields = int(it.next(), "the master field count")?;
    if !(0..=i64::from(u32::MAX)).contains(&nfields) || live < 0 || deleted < 0 {
        return Err("bad master entry".into());
    }
    let mut next = || it.next().ok_or_else(|| "truncated entry".to_string());
    let mut master_fields = Vec::new();
    for _ in 0..nfields {
        master_fields.push(next()?.to_vec());
    }
    let as_int = |e: Entry| match e {
        Entry::Int(n) => Ok(n),
        Entry::Str(s) => parse_i64(s).ok_or_else(|| "not an integer".to_string()),
    };
    if as_int(next()?)? != 0 {
        return Err("missing master entry terminator".into());
    }
    let mut out = Vec::new();
    let total = live.saturating_add(deleted);
    for _ in 0..total {
        let flags = as_int(next()?)?;
        let ms = as_int(next()?)?;
        let seq = as_int(next()?)?;
        if !(0..=3).contains(&flags) {
            return Err("bad entry flags".into());
        }
        let same = flags as u8 & FLAG_SAMEFIELDS != 0;
        let (n, extra) = if same {
            (nfields, 3)
        } else {
            let n = as_int(next()?)?;
            if n < 0 {
                return Err("bad field count".into());
            }
            (n, 4 + n)
        };
        let mut fields = Vec::new();
        let mut values = Vec::new();
        for _ in 0..n {
            if !same {
                fields.push(next()?.to_vec());
            }
            values.push(next()?.to_vec());
        }
        if as_int(next()?)? != n + extra {
            return Err("bad lp-count".into());
        }
        let id = StreamId::new(
            master.ms.wrapping_add(ms as u64),
            master.seq.wrapping_add(seq as u64),
        );
        out.push((flags as u8, id, fields, values));
    }
    if it.next().is_some() {
        return Err("entries after the last one".into());
    }
    if out.is_empty() {
        return Err("empty listpack inside stream".into());
    }
    Ok((master_fields, out))
}

/// Reads a stream value of type 15 or 19.
pub(super) fn load_stream<R: Read>(r: &mut Reader<R>, kind: u8) -> LoadResult<Stream> {
    let mut s = Stream::new();
    let nodes = r.count("the stream node count", 2)?;
    for _ in 0..nodes {
        let at = r.pos;
        let key = r.string("a stream node key")?;
        let Ok(key) = <[u8; 16]>::try_from(key.as_slice()) else {
            return r.fail(at, "Stream node key entry is not the size of a stream ID");
        };
        let master = StreamId::decode(&key);
        let (fields, entries) = with_blob(r, "Stream listpack", |b| parse_node(master, b))?;
        let fields: Vec<&[u8]> = fields.iter().map(Vec::as_slice).collect();
        let entries: Vec<_> = entries
            .iter()
            .map(|(flags, id, f, v)| {
                (
                    *flags,
                    *id,
                    f.iter().map(Vec::as_slice).collect(),
                    v.iter().map(Vec::as_slice).collect(),
                )
            })
            .collect();
        if !s.push_loaded_node(master, &fields, &entries) {
            return r.fail(at, "Listpack re-added with existing key");
        }
    }
    let at = r.pos;
    let length = r.len("the stream length")?;
    s.set_loaded_length(length);
    s.last_id = StreamId::new(r.len("the last ID")?, r.len("the last ID")?);
    if kind == TYPE_STREAM_LISTPACKS_2 {
        s.first_id = StreamId::new(r.len("the first ID")?, r.len("the first ID")?);
        s.max_deleted_entry_id =
            StreamId::new(r.len("the max deleted ID")?, r.len("the max deleted ID")?);
        s.entries_added = r.len("the entries added")?;
    } else {
        s.entries_added = length;
        s.first_id = s.edge_id(false).unwrap_or(StreamId::MIN);
    }
    if length != s.counted_length() {
        return r.fail(at, "Stream length inconsistent with its entries");
    }
    let groups = r.count("the consumer group count", 3)?;
    for _ in 0..groups {
        let at = r.pos;
        let name = r.string("a consumer group name")?;
        let last = StreamId::new(r.len("a group's last ID")?, r.len("a group's last ID")?);
        let entries_read = if kind == TYPE_STREAM_LISTPACKS_2 {
            r.len("a group's entries read")? as i64
        } else {
            s.estimate_distance_from_first_ever_entry(last)
        };
        let entries_read = entries_read.max(INVALID_ENTRIES_READ);
        if !s.create_group(&name, last, entries_read) {
            return r.fail(at, "Duplicated consumer group name");
        }
        let mut group = crate::types::stream::ConsumerGroup::new(last, entries_read);
        let pel = r.count("a group's PEL size", 17)?;
        for _ in 0..pel {
            let at = r.pos;
            let id = StreamId::decode(&r.array::<16>("a PEL ID")?);
            let time = i64::from_le_bytes(r.array::<8>("a delivery time")?);
            let count = r.len("a delivery count")?;
            let nack = crate::types::stream::Nack {
                delivery_time: time,
                delivery_count: count,
                consumer: None,
            };
            if group.pel.insert(id, nack).is_some() {
                return r.fail(
                    at,
                    "Duplicated global PEL entry loading stream consumer group",
                );
            }
        }
        let consumers = r.count("a group's consumer count", 10)?;
        for _ in 0..consumers {
            let at = r.pos;
            let cname = r.string("a consumer name")?;
            let seen = i64::from_le_bytes(r.array::<8>("a consumer's seen time")?);
            if !group.create_consumer(&cname, seen) {
                return r.fail(at, "Duplicate stream consumer detected.");
            }
            let owned = r.count("a consumer's PEL size", 16)?;
            for _ in 0..owned {
                let at = r.pos;
                let id = StreamId::decode(&r.array::<16>("a consumer PEL ID")?);
                match group.pel.get(&id) {
                    None => return r.fail(at, "Consumer entry not found in group global PEL"),
                    Some(n) if n.consumer.is_some() => {
                        return r.fail(
                            at,
                            "Duplicated consumer PEL entry loading a stream consumer group",
                        )
                    }
                    Some(_) => group.assign(id, &cname),
                }
            }
        }
        if group.pel.values().any(|n| n.consumer.is_none()) {
            return r.fail(at, "Stream CG PEL entry without consumer");
        }
        if let Some(g) = s.group_mut(&name) {
            *g = group;
        }
    }
    Ok(s)
}
