//! LZF compression as liblzf writes it (Redis: `lzf_c.c`, `lzf_d.c`), for RDB strings.
//!
//! Written here rather than taken from a crate: the published `lzf` crate is marked
//! DEPRECATED by its author and unmaintained, and the format is small enough to state in full.
//!
//! # Format
//!
//! A compressed buffer is a sequence of items, each starting with a control byte `c`:
//!
//! ```text
//!   000LLLLL  <L+1 literal bytes>                 a literal run of 1..32 bytes
//!   LLLooooo  oooooooo                            a back reference, L in 1..6
//!   111ooooo  <extra length>  oooooooo            a back reference, L = 7 + extra
//! ```
//!
//! A back reference copies `L + 2` bytes (3..264) starting `o + 1` bytes (1..8192) before the
//! current end of the output; source and destination may overlap (a run of one byte repeated is
//! a reference at distance 1), so the copy goes byte by byte.
//!
//! The compressor is greedy: a hash of the next three bytes finds the last position where the
//! same hash was seen; if that position is within reach and the three bytes really match, the
//! match is extended as far as it goes and emitted as a reference, else one byte becomes a
//! literal. liblzf's output for the same input may differ (it also hashes inside matches), but
//! any decoder of the format reads both.

/// Distance limit of a back reference (13 bits of offset, plus one).
const MAX_OFFSET: usize = 1 << 13;
/// Longest back reference: 7 + 255 in the length fields, plus 2.
const MAX_MATCH: usize = 264;
/// Longest literal run.
const MAX_LITERAL: usize = 32;
/// Bits of the largest hash table (16K positions, liblzf's default `HLOG`).
const MAX_HASH_BITS: u32 = 14;

/// Bits of the hash table for an input of `n` bytes: about two slots per position, at most
/// [`MAX_HASH_BITS`]. The table is zeroed for every string, and most strings an RDB holds are
/// a few dozen bytes: a fixed 16K-slot table made `SAVE` spend three quarters of its time in
/// `memset`.
fn hash_bits(n: usize) -> u32 {
    (usize::BITS - n.leading_zeros() + 1).clamp(4, MAX_HASH_BITS)
}

fn hash3(b: &[u8], bits: u32) -> usize {
    let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
    (v.wrapping_mul(2_654_435_761) >> (32 - bits)) as usize
}

/// Appends `lit` as literal runs.
fn push_literals(out: &mut Vec<u8>, lit: &[u8]) {
    for chunk in lit.chunks(MAX_LITERAL) {
        out.push((chunk.len() - 1) as u8);
        out.extend_from_slice(chunk);
    }
}

/// Compresses `input`; `None` if the result would be longer than `max_out` bytes (Redis then
/// stores the string uncompressed).
pub fn compress(input: &[u8], max_out: usize) -> Option<Vec<u8>> {
    let n = input.len();
    let mut out = Vec::with_capacity(max_out.min(n));
    // Last position + 1 where each hash was seen (0: never).
    let bits = hash_bits(n);
    let mut table = vec![0usize; 1 << bits];
    let mut literal_start = 0;
    let mut i = 0;
    while i + 3 <= n {
        let h = hash3(&input[i..i + 3], bits);
        let candidate = table[h];
        table[h] = i + 1;
        if candidate != 0 {
            let r = candidate - 1;
            let distance = i - r;
            if distance <= MAX_OFFSET && input[r..r + 3] == input[i..i + 3] {
                let max_len = MAX_MATCH.min(n - i);
                let mut len = 3;
                while len < max_len && input[r + len] == input[i + len] {
                    len += 1;
                }
                push_literals(&mut out, &input[literal_start..i]);
                let l = len - 2;
                let off = distance - 1;
                if l < 7 {
                    out.push(((l as u8) << 5) | (off >> 8) as u8);
                } else {
                    out.push((7 << 5) | (off >> 8) as u8);
                    out.push((l - 7) as u8);
                }
                out.push((off & 0xff) as u8);
                i += len;
                literal_start = i;
                if out.len() > max_out {
                    return None;
                }
                continue;
            }
        }
        i += 1;
    }
    push_literals(&mut out, &input[literal_start..]);
    (out.len() <= max_out).then_some(out)
}

/// Decompresses `input`, which must expand to exactly `expected_len` bytes. Never reads or
/// writes out of bounds, whatever `input` holds; `None` on any malformed item.
pub fn decompress(input: &[u8], expected_len: usize) -> Option<Vec<u8>> {
    // Each 2-byte item yields at most 8 bytes and each 3-byte one at most 264: a claimed length
    // beyond 88 times the input (plus slack) is a lie, refused before allocating for it.
    if expected_len > input.len().saturating_mul(90).saturating_add(64) {
        return None;
    }
    let mut out: Vec<u8> = Vec::with_capacity(expected_len);
    let mut ip = 0;
    while ip < input.len() {
        let ctrl = usize::from(input[ip]);
        ip += 1;
        if ctrl < 32 {
            let run = input.get(ip..ip + ctrl + 1)?;
            if out.len() + run.len() > expected_len {
                return None;
            }
            out.extend_from_slice(run);
            ip += ctrl + 1;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += usize::from(*input.get(ip)?);
                ip += 1;
            }
            let low = usize::from(*input.get(ip)?);
            ip += 1;
            let distance = ((ctrl & 0x1f) << 8) + low + 1;
            let len = len + 2;
            let start = out.len().checked_sub(distance)?;
            if out.len() + len > expected_len {
                return None;
            }
            for k in 0..len {
                let b = out[start + k];
                out.push(b);
            }
        }
    }
    (out.len() == expected_len).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(data: &[u8]) {
        let c = compress(data, data.len() + 64).expect("fits with slack");
        assert_eq!(decompress(&c, data.len()).as_deref(), Some(data));
    }

    #[test]
    fn round_trips() {
        round_trip(b"");
        round_trip(b"a");
        round_trip(&[b'x'; 1000]);
        round_trip(b"hello hello hello hello hello world world world");
        let pseudo: Vec<u8> = (0..20_000u32).map(|i| (i * 7919 % 251) as u8).collect();
        round_trip(&pseudo);
        let text: Vec<u8> = (0..5000)
            .flat_map(|i| format!("key:{i} ").into_bytes())
            .collect();
        round_trip(&text);
    }

    #[test]
    fn compresses_repetition_and_refuses_growth() {
        let c = compress(&[b'a'; 100], 96).expect("compressible");
        assert!(c.len() < 10);
        assert!(compress(b"abcdefghijklmnopqrstuvwxyz", 22).is_none());
    }

    /// Bytes liblzf wrote in a redis-server 7.0.15 dump (`SET k2 abcabc...abcxyz` and
    /// `SET k aaa...a`, 30 bytes each, then SAVE).
    #[test]
    fn reads_liblzf_output() {
        let abc = [
            0x03, b'a', b'b', b'c', b'a', 0xe0, 0x0e, 0x02, 0x02, b'x', b'y', b'z',
        ];
        let expected = [&b"abc".repeat(9)[..], b"xyz"].concat();
        assert_eq!(decompress(&abc, 30), Some(expected));
        let aaa = [0x01, b'a', b'a', 0xe0, 0x11, 0x00, 0x01, b'a', b'a'];
        assert_eq!(decompress(&aaa, 30), Some(vec![b'a'; 30]));
    }

    #[test]
    fn malformed_input_is_refused() {
        assert_eq!(decompress(&[0x05, b'a'], 6), None);
        assert_eq!(decompress(&[0x20, 0x05], 3), None);
        assert_eq!(decompress(&[0x00, b'a'], 2), None);
        assert_eq!(decompress(&[0x00, b'a'], 1 << 40), None);
    }
}
