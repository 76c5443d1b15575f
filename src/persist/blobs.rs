//! The packed blobs an RDB file embeds as strings: listpacks (written and read), intsets
//! (written and read), and the older ziplists and zipmaps (read only) that Redis 7.0 still
//! loads from files of earlier versions. Redis: `listpack.c`, `intset.c`, `ziplist.c`,
//! `zipmap.c`.
//!
//! Every reader here validates the whole blob before handing out an entry (Redis:
//! `lpValidateIntegrity`, `ziplistValidateIntegrity`, ... in deep mode): all sizes stay inside
//! the blob, header counts and totals agree with what was walked, the terminator is where it
//! must be. A reader returns `Err(what was wrong)`, never panics.
//!
//! # Listpack
//!
//! ```text
//!   <total bytes: u32 LE> <entry count: u16 LE, 65535 = too many to say> <entry>... <0xFF>
//!   entry = <encoding byte(s)> <payload> <backlen>
//!     0xxxxxxx                 7-bit unsigned integer
//!     10xxxxxx                 string, 6-bit length
//!     110xxxxx yyyyyyyy        13-bit signed integer
//!     1110xxxx yyyyyyyy        string, 12-bit length
//!     11110000 <u32 LE>        string, 32-bit length
//!     0xF1 / F2 / F3 / F4      16 / 24 / 32 / 64-bit signed integer, LE
//!   backlen = size of encoding + payload as a varint read right to left (7 bits per byte, the
//!             high bit on every byte but the leftmost)
//! ```
//!
//! A string is stored as an integer when it is one canonically (`lpStringToInt64`), in the
//! smallest integer encoding that holds it.
//!
//! # Ziplist
//!
//! ```text
//!   <total bytes: u32 LE> <offset of last entry: u32 LE> <count: u16 LE> <entry>... <0xFF>
//!   entry = <prevlen: 1 byte < 254, or 0xFE + u32 LE> <encoding> <payload>
//!     00pppppp / 01pppppp qqqqqqqq (BE) / 10000000 <u32 BE>    string of that length
//!     0xC0 i16, 0xD0 i32, 0xE0 i64, 0xF0 i24, 0xFE i8          integers, LE
//!     0xF1..0xFD                                                 immediate 0..12
//! ```
//!
//! # Intset
//!
//! `<width: u32 LE (2, 4 or 8)> <count: u32 LE> <count sorted distinct integers, LE>`.
//!
//! # Zipmap (RDB before version 4)
//!
//! `<count byte> (<len> <key> <len> <free byte> <value> <free bytes>)... <0xFF>`, where a length
//! is one byte below 254 or 254 followed by a u32 (LE).

use crate::util::{parse_i64, write_i64, I64_BUF};

/// One listpack or ziplist entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry<'a> {
    Str(&'a [u8]),
    Int(i64),
}

impl Entry<'_> {
    /// The entry's bytes (integers as decimal text).
    pub fn to_vec(self) -> Vec<u8> {
        match self {
            Entry::Str(s) => s.to_vec(),
            Entry::Int(n) => {
                let mut buf = [0u8; I64_BUF];
                write_i64(n, &mut buf).to_vec()
            }
        }
    }
}

pub type BlobResult<T> = Result<T, String>;

// ---------------------------------------------------------------------------------------------
// Listpack writing.
// ---------------------------------------------------------------------------------------------

/// The integer a string stands for when written canonically (Redis: `lpStringToInt64`).
fn canonical_int(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let n = parse_i64(s)?;
    let mut buf = [0u8; I64_BUF];
    (write_i64(n, &mut buf) == s).then_some(n)
}

/// Builds a listpack entry by entry (Redis: `lpAppend`).
pub struct ListpackWriter {
    buf: Vec<u8>,
    count: usize,
}

impl Default for ListpackWriter {
    fn default() -> Self {
        ListpackWriter::new()
    }
}

impl ListpackWriter {
    pub fn new() -> ListpackWriter {
        ListpackWriter {
            buf: vec![0; 6],
            count: 0,
        }
    }

    /// Bytes the finished listpack would take now.
    pub fn bytes(&self) -> usize {
        self.buf.len() + 1
    }

    pub fn count(&self) -> usize {
        self.count
    }

    /// Appends a string entry (stored as an integer if it is one canonically).
    pub fn push_bytes(&mut self, s: &[u8]) {
        match canonical_int(s) {
            Some(n) => self.push_int(n),
            None => {
                let start = self.buf.len();
                let len = s.len();
                if len < 64 {
                    self.buf.push(0x80 | len as u8);
                } else if len < 4096 {
                    self.buf.push(0xE0 | (len >> 8) as u8);
                    self.buf.push((len & 0xff) as u8);
                } else {
                    self.buf.push(0xF0);
                    self.buf.extend_from_slice(&(len as u32).to_le_bytes());
                }
                self.buf.extend_from_slice(s);
                self.finish_entry(start);
            }
        }
    }

    pub fn push_int(&mut self, n: i64) {
        let start = self.buf.len();
        match n {
            0..=127 => self.buf.push(n as u8),
            -4096..=4095 => {
                let u = (n as u16) & 0x1fff;
                self.buf.push(0xC0 | (u >> 8) as u8);
                self.buf.push((u & 0xff) as u8);
            }
            -32768..=32767 => {
                self.buf.push(0xF1);
                self.buf.extend_from_slice(&(n as i16).to_le_bytes());
            }
            -8_388_608..=8_388_607 => {
                self.buf.push(0xF2);
                self.buf.extend_from_slice(&(n as i32).to_le_bytes()[..3]);
            }
            -2_147_483_648..=2_147_483_647 => {
                self.buf.push(0xF3);
                self.buf.extend_from_slice(&(n as i32).to_le_bytes());
            }
            _ => {
                self.buf.push(0xF4);
                self.buf.extend_from_slice(&n.to_le_bytes());
            }
        }
        self.finish_entry(start);
    }

    /// Appends the backlen of the entry that starts at `start`.
    fn finish_entry(&mut self, start: usize) {
        let (bytes, n) = backlen(self.buf.len() - start);
        self.buf.extend_from_slice(&bytes[..n]);
        self.count += 1;
    }

    /// The finished listpack.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(0xFF);
        let total = self.buf.len() as u32;
        let count = u16::try_from(self.count).unwrap_or(u16::MAX);
        self.buf[0..4].copy_from_slice(&total.to_le_bytes());
        self.buf[4..6].copy_from_slice(&count.to_le_bytes());
        self.buf
    }
}

/// The backlen of an entry of `len` bytes, in memory order, and how many of the bytes it uses
/// (Redis: `lpEncodeBacklen`): 7-bit groups, highest first; every byte but the leftmost has the
/// high bit set. The size thresholds are Redis's exactly (one below each power of 128: an entry
/// of 16383 bytes gets a 3-byte backlen), since Redis's validator insists on them.
fn backlen(len: usize) -> ([u8; 5], usize) {
    let n = match len {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2_097_150 => 3,
        2_097_151..=268_435_454 => 4,
        _ => 5,
    };
    let mut bytes = [0u8; 5];
    for (i, b) in bytes.iter_mut().take(n).enumerate() {
        let group = ((len >> (7 * (n - 1 - i))) & 127) as u8;
        *b = if i == 0 { group } else { group | 128 };
    }
    (bytes, n)
}

// ---------------------------------------------------------------------------------------------
// Listpack reading.
// ---------------------------------------------------------------------------------------------

fn le_int(bytes: &[u8]) -> i64 {
    let mut v: u64 = 0;
    for (i, b) in bytes.iter().enumerate() {
        v |= u64::from(*b) << (8 * i);
    }
    // Sign-extend from the width read.
    let shift = 64 - 8 * bytes.len() as u32;
    ((v << shift) as i64) >> shift
}

fn slice(blob: &[u8], start: usize, len: usize, what: &str) -> BlobResult<(usize, usize)> {
    let end = start
        .checked_add(len)
        .filter(|&e| e <= blob.len())
        .ok_or_else(|| format!("{what} at blob offset {start} runs past the end"))?;
    Ok((start, end))
}

/// Every entry of a listpack, after validating all of it.
pub fn listpack_entries(blob: &[u8]) -> BlobResult<Vec<Entry<'_>>> {
    if blob.len() < 7 {
        return Err(format!(
            "listpack of {} bytes is shorter than its header",
            blob.len()
        ));
    }
    let total = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
    if total != blob.len() {
        return Err(format!(
            "listpack header says {total} bytes, blob has {}",
            blob.len()
        ));
    }
    let header_count = usize::from(u16::from_le_bytes([blob[4], blob[5]]));
    let mut entries = Vec::with_capacity(header_count.min(blob.len() / 2));
    let mut p = 6;
    loop {
        let Some(&enc) = blob.get(p) else {
            return Err("listpack has no terminator".into());
        };
        if enc == 0xFF {
            break;
        }
        let start = p;
        let (entry, body_end) = match enc {
            0x00..=0x7F => (Entry::Int(i64::from(enc)), p + 1),
            0x80..=0xBF => {
                let (s, e) = slice(blob, p + 1, usize::from(enc & 0x3f), "listpack string")?;
                (Entry::Str(&blob[s..e]), e)
            }
            0xC0..=0xDF => {
                let (_, e) = slice(blob, p + 1, 1, "listpack 13-bit integer")?;
                let u = (u16::from(enc & 0x1f) << 8) | u16::from(blob[p + 1]);
                let n = if u >= 1 << 12 {
                    i64::from(u) - (1 << 13)
                } else {
                    i64::from(u)
                };
                (Entry::Int(n), e)
            }
            0xE0..=0xEF => {
                let (_, e) = slice(blob, p + 1, 1, "listpack 12-bit length")?;
                let len = (usize::from(enc & 0x0f) << 8) | usize::from(blob[p + 1]);
                let (s, e) = slice(blob, e, len, "listpack string")?;
                (Entry::Str(&blob[s..e]), e)
            }
            0xF0 => {
                let (s, e) = slice(blob, p + 1, 4, "listpack 32-bit length")?;
                let len = u32::from_le_bytes([blob[s], blob[s + 1], blob[s + 2], blob[s + 3]]);
                let (s, e) = slice(blob, e, len as usize, "listpack string")?;
                (Entry::Str(&blob[s..e]), e)
            }
            0xF1..=0xF4 => {
                let width = [2, 3, 4, 8][usize::from(enc - 0xF1)];
                let (s, e) = slice(blob, p + 1, width, "listpack integer")?;
                (Entry::Int(le_int(&blob[s..e])), e)
            }
            _ => {
                return Err(format!(
                    "listpack entry at blob offset {p}: bad encoding {enc:#04x}"
                ))
            }
        };
        let entry_len = body_end - start;
        // The backlen must be exactly the encoding of the entry's size.
        let (expected, n) = backlen(entry_len);
        let (s, e) = slice(blob, body_end, n, "listpack backlen")?;
        if blob[s..e] != expected[..n] {
            return Err(format!(
                "listpack entry at blob offset {start}: wrong backlen"
            ));
        }
        entries.push(entry);
        p = e;
    }
    if p + 1 != blob.len() {
        return Err(format!(
            "listpack terminator at blob offset {p} is not the last byte"
        ));
    }
    if header_count != usize::from(u16::MAX) && header_count != entries.len() {
        return Err(format!(
            "listpack header counts {header_count} entries, {} found",
            entries.len()
        ));
    }
    Ok(entries)
}

// ---------------------------------------------------------------------------------------------
// Ziplist reading.
// ---------------------------------------------------------------------------------------------

/// Every entry of a ziplist, after validating all of it.
pub fn ziplist_entries(blob: &[u8]) -> BlobResult<Vec<Entry<'_>>> {
    if blob.len() < 11 {
        return Err(format!(
            "ziplist of {} bytes is shorter than its header",
            blob.len()
        ));
    }
    let total = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
    if total != blob.len() {
        return Err(format!(
            "ziplist header says {total} bytes, blob has {}",
            blob.len()
        ));
    }
    let tail = u32::from_le_bytes([blob[4], blob[5], blob[6], blob[7]]) as usize;
    let header_count = usize::from(u16::from_le_bytes([blob[8], blob[9]]));
    let mut entries = Vec::with_capacity(header_count.min(blob.len() / 2));
    let mut p = 10;
    let mut prev_len = 0;
    let mut last_start = 10;
    loop {
        let Some(&first) = blob.get(p) else {
            return Err("ziplist has no terminator".into());
        };
        if first == 0xFF {
            break;
        }
        let start = p;
        let (recorded_prev, enc_at) = if first < 254 {
            (usize::from(first), p + 1)
        } else {
            let (s, e) = slice(blob, p + 1, 4, "ziplist prevlen")?;
            (
                u32::from_le_bytes([blob[s], blob[s + 1], blob[s + 2], blob[s + 3]]) as usize,
                e,
            )
        };
        if recorded_prev != prev_len {
            return Err(format!("ziplist entry at blob offset {p}: wrong prevlen"));
        }
        let (_, _) = slice(blob, enc_at, 1, "ziplist encoding")?;
        let enc = blob[enc_at];
        let (entry, end) = match enc >> 6 {
            0 => {
                let (s, e) = slice(blob, enc_at + 1, usize::from(enc & 0x3f), "ziplist string")?;
                (Entry::Str(&blob[s..e]), e)
            }
            1 => {
                let (_, e) = slice(blob, enc_at + 1, 1, "ziplist 14-bit length")?;
                let len = (usize::from(enc & 0x3f) << 8) | usize::from(blob[enc_at + 1]);
                let (s, e) = slice(blob, e, len, "ziplist string")?;
                (Entry::Str(&blob[s..e]), e)
            }
            2 => {
                if enc != 0x80 {
                    return Err(format!("ziplist entry at blob offset {p}: bad encoding"));
                }
                let (s, e) = slice(blob, enc_at + 1, 4, "ziplist 32-bit length")?;
                let len = u32::from_be_bytes([blob[s], blob[s + 1], blob[s + 2], blob[s + 3]]);
                let (s, e) = slice(blob, e, len as usize, "ziplist string")?;
                (Entry::Str(&blob[s..e]), e)
            }
            _ => {
                let width = match enc {
                    0xC0 => 2,
                    0xD0 => 4,
                    0xE0 => 8,
                    0xF0 => 3,
                    0xFE => 1,
                    0xF1..=0xFD => 0,
                    _ => return Err(format!("ziplist entry at blob offset {p}: bad encoding")),
                };
                let (s, e) = slice(blob, enc_at + 1, width, "ziplist integer")?;
                let n = if width == 0 {
                    i64::from(enc & 0x0f) - 1
                } else {
                    le_int(&blob[s..e])
                };
                (Entry::Int(n), e)
            }
        };
        entries.push(entry);
        prev_len = end - start;
        last_start = start;
        p = end;
    }
    if p + 1 != blob.len() {
        return Err(format!(
            "ziplist terminator at blob offset {p} is not the last byte"
        ));
    }
    if tail != last_start {
        return Err(format!(
            "ziplist tail offset {tail} is not the last entry ({last_start})"
        ));
    }
    if header_count != usize::from(u16::MAX) && header_count != entries.len() {
        return Err(format!(
            "ziplist header counts {header_count} entries, {} found",
            entries.len()
        ));
    }
    Ok(entries)
}

// ---------------------------------------------------------------------------------------------
// Intset.
// ---------------------------------------------------------------------------------------------

/// The intset blob of `sorted` (ascending, distinct), in the narrowest width that holds all.
pub fn intset_blob(sorted: &[i64]) -> Vec<u8> {
    let fits = |lo: i64, hi: i64| sorted.iter().all(|&n| (lo..=hi).contains(&n));
    let width: usize = if fits(i64::from(i16::MIN), i64::from(i16::MAX)) {
        2
    } else if fits(i64::from(i32::MIN), i64::from(i32::MAX)) {
        4
    } else {
        8
    };
    let mut blob = Vec::with_capacity(8 + width * sorted.len());
    blob.extend_from_slice(&(width as u32).to_le_bytes());
    blob.extend_from_slice(&(sorted.len() as u32).to_le_bytes());
    for &n in sorted {
        blob.extend_from_slice(&n.to_le_bytes()[..width]);
    }
    blob
}

/// The integers of an intset blob, validated (right size, strictly ascending).
pub fn intset_members(blob: &[u8]) -> BlobResult<Vec<i64>> {
    if blob.len() < 8 {
        return Err(format!(
            "intset of {} bytes is shorter than its header",
            blob.len()
        ));
    }
    let width = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
    let count = u32::from_le_bytes([blob[4], blob[5], blob[6], blob[7]]) as usize;
    if !matches!(width, 2 | 4 | 8) {
        return Err(format!("intset has bad width {width}"));
    }
    if count.checked_mul(width).and_then(|b| b.checked_add(8)) != Some(blob.len()) {
        return Err(format!(
            "intset of {count} x {width} bytes does not fill {} bytes",
            blob.len()
        ));
    }
    let members: Vec<i64> = blob[8..].chunks_exact(width).map(le_int).collect();
    if members.windows(2).any(|w| w[0] >= w[1]) {
        return Err("intset is not strictly ascending".into());
    }
    Ok(members)
}

// ---------------------------------------------------------------------------------------------
// Zipmap.
// ---------------------------------------------------------------------------------------------

/// The (field, value) pairs of a zipmap, validated.
pub fn zipmap_pairs(blob: &[u8]) -> BlobResult<Vec<(&[u8], &[u8])>> {
    let read_len = |p: usize| -> BlobResult<(usize, usize)> {
        match blob.get(p) {
            Some(&b) if b < 254 => Ok((usize::from(b), p + 1)),
            Some(254) => {
                let (s, e) = slice(blob, p + 1, 4, "zipmap length")?;
                Ok((
                    u32::from_le_bytes([blob[s], blob[s + 1], blob[s + 2], blob[s + 3]]) as usize,
                    e,
                ))
            }
            _ => Err(format!(
                "zipmap length at blob offset {p} is bad or missing"
            )),
        }
    };
    let mut pairs = Vec::new();
    let mut p = 1;
    if blob.is_empty() {
        return Err("empty zipmap".into());
    }
    loop {
        match blob.get(p) {
            None => return Err("zipmap has no terminator".into()),
            Some(0xFF) => break,
            Some(_) => {}
        }
        let (klen, k) = read_len(p)?;
        let (ks, ke) = slice(blob, k, klen, "zipmap key")?;
        let (vlen, v) = read_len(ke)?;
        let (_, f) = slice(blob, v, 1, "zipmap free byte")?;
        let free = usize::from(blob[v]);
        let (vs, ve) = slice(blob, f, vlen, "zipmap value")?;
        let (_, next) = slice(blob, ve, free, "zipmap free space")?;
        pairs.push((&blob[ks..ke], &blob[vs..ve]));
        p = next;
    }
    if p + 1 != blob.len() {
        return Err(format!(
            "zipmap terminator at blob offset {p} is not the last byte"
        ));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listpack_round_trips_every_encoding() {
        let values: Vec<Vec<u8>> = [
            "0",
            "127",
            "128",
            "-1",
            "-4096",
            "4095",
            "4096",
            "-32768",
            "32767",
            "40000",
            "-8388608",
            "8388607",
            "8388608",
            "2147483647",
            "-2147483649",
            "9223372036854775807",
            "-9223372036854775808",
            "01",
            "-0",
            "+1",
            "",
            "abc",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .chain([
            vec![b'x'; 63],
            vec![b'y'; 64],
            vec![b'z'; 4095],
            vec![b'w'; 4096],
            vec![b'v'; 20000],
        ])
        .collect();
        let mut w = ListpackWriter::new();
        for v in &values {
            w.push_bytes(v);
        }
        let blob = w.finish();
        let back: Vec<Vec<u8>> = listpack_entries(&blob)
            .unwrap()
            .into_iter()
            .map(Entry::to_vec)
            .collect();
        assert_eq!(back, values);
    }

    /// `RPUSH l a 1 -5000 hello` in Redis 7.0 gives this listpack (from DEBUG LISTPACK / a dump).
    #[test]
    fn listpack_bytes_match_redis() {
        let mut w = ListpackWriter::new();
        for v in ["a", "1", "-5000", "hello"] {
            w.push_bytes(v.as_bytes());
        }
        let blob = w.finish();
        let expected: Vec<u8> = [
            vec![0x17, 0, 0, 0, 4, 0],
            vec![0x81, b'a', 2],
            vec![0x01, 1],
            vec![0xF1, 0x78, 0xEC, 3],
            vec![0x85, b'h', b'e', b'l', b'l', b'o', 6],
            vec![0xFF],
        ]
        .concat();
        assert_eq!(blob, expected);
    }

    #[test]
    fn long_backlen_is_redis_order() {
        let mut w = ListpackWriter::new();
        w.push_bytes(&[b'q'; 200]);
        let blob = w.finish();
        // Entry: 2 header bytes + 200 = 202 = 0b1_1001010 -> bytes [1, 0x80|0x4A].
        assert_eq!(&blob[6 + 202..6 + 204], &[0x01, 0xCA]);
    }

    #[test]
    fn backlen_sizes_follow_redis_thresholds() {
        assert_eq!(backlen(127), ([127, 0, 0, 0, 0], 1));
        assert_eq!(backlen(128), ([1, 0x80, 0, 0, 0], 2));
        assert_eq!(backlen(16382), ([127, 0xFE, 0, 0, 0], 2));
        assert_eq!(backlen(16383), ([0, 0xFF, 0xFF, 0, 0], 3));
        assert_eq!(backlen(2_097_151).1, 4);
    }

    #[test]
    fn intset_round_trips() {
        for set in [
            vec![1, 2, 3],
            vec![-70000, 5],
            vec![i64::MIN, 0, i64::MAX],
            vec![],
        ] {
            assert_eq!(intset_members(&intset_blob(&set)).unwrap(), set);
        }
        assert_eq!(intset_blob(&[1, 300])[0], 2);
        assert!(intset_members(&intset_blob(&[3, 1])).is_err());
    }

    #[test]
    fn ziplist_reads() {
        // Ziplist of "ab", 7 (immediate), 300 (int16): built by hand per the format.
        let entries = [
            vec![0, 0x02, b'a', b'b'],
            vec![4, 0xF8],
            vec![2, 0xC0, 0x2C, 0x01],
        ]
        .concat();
        let mut blob = Vec::new();
        let total = 10 + entries.len() + 1;
        blob.extend_from_slice(&(total as u32).to_le_bytes());
        blob.extend_from_slice(&((10 + 4 + 2) as u32).to_le_bytes());
        blob.extend_from_slice(&3u16.to_le_bytes());
        blob.extend_from_slice(&entries);
        blob.push(0xFF);
        let got = ziplist_entries(&blob).unwrap();
        assert_eq!(got, vec![Entry::Str(b"ab"), Entry::Int(7), Entry::Int(300)]);
    }
}
