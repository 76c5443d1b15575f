//! HyperLogLog sketches stored as plain strings (Redis: `hyperloglog.c`).
//!
//! This module owns the byte layout of a HyperLogLog value and the arithmetic on it: hashing
//! an element to a register, updating registers in the sparse and the dense encodings,
//! converting sparse to dense, merging, and estimating the cardinality. It works on byte
//! slices and vectors only; `command::hyperloglog` looks keys up, checks them with
//! [`is_valid`], calls these functions and replies. The layout is Redis's own, byte for byte,
//! so a value read with GET from either server and written with SET into the other counts the
//! same.
//!
//! # The representation
//!
//! A HyperLogLog is a string that starts with a 16-byte header:
//!
//! ```text
//! +------+---+-----+----------+
//! | HYLL | E | N/U | Cardin.  |     magic "HYLL", encoding E (0 dense, 1 sparse),
//! +------+---+-----+----------+     3 unused bytes, 8-byte cached cardinality (little endian)
//! ```
//!
//! The most significant bit of the last cardinality byte says the cache is *invalid*: every
//! write sets it, and PFCOUNT recomputes and stores the count when it finds it set.
//!
//! The sketch is 16384 registers (the low 14 bits of an element's 64-bit hash pick one); a
//! register keeps the longest run of zeros, plus one, seen in the remaining 50 bits of the
//! hashes that land there — 1 to 51, so 6 bits suffice.
//!
//! *Dense* encoding: the 16384 six-bit registers packed little-endian bit first after the
//! header, 12288 bytes, 12304 in all. Register `i` starts at bit `6 i`; it straddles two
//! bytes when `6 i mod 8 > 2`.
//!
//! *Sparse* encoding: after the header, a run-length code of the registers, left to right,
//! with three opcodes:
//!
//! ```text
//! 00xxxxxx              ZERO:  xxxxxx + 1 (1..64) registers set to 0
//! 01xxxxxx yyyyyyyy     XZERO: xxxxxxyyyyyyyy + 1 (1..16384) registers set to 0
//! 1vvvvvxx              VAL:   xx + 1 (1..4) registers set to vvvvv + 1 (1..32)
//! ```
//!
//! A new sketch is one XZERO covering all 16384 registers (18 bytes). Setting a register
//! splits the opcode that covers it into at most three (XZERO-VAL-XZERO in the worst case)
//! and then merges adjacent VALs of equal value. The sparse form is kept while it is shorter
//! than `hll-sparse-max-bytes` and every value fits in VAL's five bits; otherwise the sketch is
//! promoted to dense, for good. Both encodings must describe exactly 16384 registers: a
//! sparse string that covers more or fewer is corrupt (`INVALIDOBJ`).
//!
//! # The estimator
//!
//! Redis 7.0 estimates the cardinality from the *histogram* of register values, with Otmar
//! Ertl's improved estimator ("New cardinality estimation algorithms for HyperLogLog
//! sketches", 2017), which needs no bias tables and no switch to linear counting. With `m`
//! registers, `C[k]` of them holding `k`, and `q = 50`:
//!
//! ```text
//! z = m·τ(1 − C[q+1]/m)
//! for k = q down to 1:  z = (z + C[k]) / 2
//! z = z + m·σ(C[0]/m)
//! E = round(α∞ · m² / z),   α∞ = 1 / (2 ln 2)
//! ```
//!
//! `σ(x) = x + Σ_{k≥1} x^(2^k) 2^(k−1)` corrects for registers still at zero (small
//! cardinalities) and `τ(x) = (1 − x − Σ_{k≥1} (1 − x^(2^−k))² 2^−k) / 3` for registers at
//! the maximum (huge ones); both series are summed until the floating-point sum stops
//! changing, exactly in Redis's order of operations, so both servers print the same number.

/// Registers in a sketch (`2^14`).
pub const REGISTERS: usize = 1 << 14;
/// Hash bits used to choose the register.
const P: u32 = 14;
/// Hash bits left to count zeros in.
const Q: u32 = 64 - P;
/// Largest value a dense register holds.
const REGISTER_MAX: u8 = 63;
/// Header bytes.
pub const HDR_SIZE: usize = 16;
/// Size of a dense sketch, header included.
pub const DENSE_SIZE: usize = HDR_SIZE + (REGISTERS * 6).div_ceil(8);
pub const DENSE: u8 = 0;
pub const SPARSE: u8 = 1;

const VAL_MAX_VALUE: u8 = 32;
const VAL_MAX_LEN: usize = 4;
const ZERO_MAX_LEN: usize = 64;
const XZERO_MAX_LEN: usize = 16384;

/// Seed of the element hash, as Redis.
const HASH_SEED: u64 = 0xadc8_3b19;

/// The sketch a PFADD or PFMERGE creates: sparse, all registers zero, cache valid at 0.
pub fn new_sparse() -> Vec<u8> {
    let mut s = Vec::with_capacity(HDR_SIZE + 2);
    s.extend_from_slice(b"HYLL");
    s.push(SPARSE);
    s.extend_from_slice(&[0; 11]);
    let mut left = REGISTERS;
    while left > 0 {
        let run = left.min(XZERO_MAX_LEN);
        s.extend_from_slice(&xzero(run));
        left -= run;
    }
    s
}

/// Is `s` a HyperLogLog as far as its header and size tell (Redis: `isHLLObjectOrReply`)?
/// Sparse bodies are checked when they are read.
pub fn is_valid(s: &[u8]) -> bool {
    s.len() >= HDR_SIZE
        && &s[..4] == b"HYLL"
        && s[4] <= SPARSE
        && (s[4] != DENSE || s.len() == DENSE_SIZE)
}

pub fn encoding(s: &[u8]) -> u8 {
    s[4]
}

/// The cached cardinality, if valid.
pub fn cached_cardinality(s: &[u8]) -> Option<u64> {
    let mut card = [0u8; 8];
    card.copy_from_slice(&s[8..16]);
    (card[7] & 0x80 == 0).then(|| u64::from_le_bytes(card))
}

pub fn set_cached_cardinality(s: &mut [u8], card: u64) {
    s[8..16].copy_from_slice(&card.to_le_bytes());
}

pub fn invalidate_cache(s: &mut [u8]) {
    s[15] |= 0x80;
}

/// MurmurHash2, 64-bit version A (Austin Appleby), little-endian reads, as Redis.
pub fn murmurhash64a(key: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (key.len() as u64).wrapping_mul(M);
    let mut blocks = key.chunks_exact(8);
    for block in &mut blocks {
        let mut word = [0u8; 8];
        word.copy_from_slice(block);
        let mut k = u64::from_le_bytes(word);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= u64::from(b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element falls in and the value it proposes for it: the position of the
/// first 1 bit in the hash bits above the index, counting from 1 (Redis: `hllPatLen`). A
/// sentinel bit at position Q caps it at Q + 1.
pub fn pattern_len(element: &[u8]) -> (usize, u8) {
    let hash = murmurhash64a(element, HASH_SEED);
    let index = (hash as usize) & (REGISTERS - 1);
    let rest = (hash >> P) | (1 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

// ---- dense registers -------------------------------------------------------------------

/// Register `i` of a dense body (`registers` excludes the header).
pub fn dense_get(registers: &[u8], i: usize) -> u8 {
    let byte = i * 6 / 8;
    let shift = (i * 6) & 7;
    let lo = u16::from(registers[byte]) >> shift;
    let hi = u16::from(registers.get(byte + 1).copied().unwrap_or(0)) << (8 - shift);
    ((lo | hi) as u8) & REGISTER_MAX
}

/// Sets register `i` of a dense body to `value` (at most 63).
pub fn dense_put(registers: &mut [u8], i: usize, value: u8) {
    let byte = i * 6 / 8;
    let shift = (i * 6) & 7;
    let v = u16::from(value);
    registers[byte] &= !((u16::from(REGISTER_MAX) << shift) as u8);
    registers[byte] |= (v << shift) as u8;
    if let Some(next) = registers.get_mut(byte + 1) {
        *next &= !(u16::from(REGISTER_MAX) >> (8 - shift)) as u8;
        *next |= (v >> (8 - shift)) as u8;
    }
}

/// Raises register `i` to `count` if that is larger; whether it changed.
fn dense_set(registers: &mut [u8], i: usize, count: u8) -> bool {
    if count > dense_get(registers, i) {
        dense_put(registers, i, count);
        true
    } else {
        false
    }
}

// ---- sparse opcodes --------------------------------------------------------------------

/// One decoded sparse opcode.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Opcode {
    Zero(usize),
    XZero(usize),
    /// (value, run length)
    Val(u8, usize),
}

impl Opcode {
    /// Decodes the opcode at `s[p]`. An XZERO cut short by the end of the string reads a zero
    /// second byte (Redis reads the string's terminating NUL).
    fn at(s: &[u8], p: usize) -> Opcode {
        let b = s[p];
        match b & 0xc0 {
            0x00 => Opcode::Zero(usize::from(b & 0x3f) + 1),
            0x40 => {
                let lo = s.get(p + 1).copied().unwrap_or(0);
                Opcode::XZero(((usize::from(b & 0x3f) << 8) | usize::from(lo)) + 1)
            }
            _ => Opcode::Val(((b >> 2) & 0x1f) + 1, usize::from(b & 0x03) + 1),
        }
    }

    fn bytes(self) -> usize {
        if matches!(self, Opcode::XZero(_)) {
            2
        } else {
            1
        }
    }

    fn span(self) -> usize {
        match self {
            Opcode::Zero(n) | Opcode::XZero(n) | Opcode::Val(_, n) => n,
        }
    }
}

fn val(value: u8, len: usize) -> u8 {
    debug_assert!((1..=VAL_MAX_VALUE).contains(&value) && (1..=VAL_MAX_LEN).contains(&len));
    0x80 | ((value - 1) << 2) | (len - 1) as u8
}

fn xzero(len: usize) -> [u8; 2] {
    let l = len - 1;
    [0x40 | (l >> 8) as u8, (l & 0xff) as u8]
}

/// A run of `len` zero registers as the shortest opcode that holds it.
fn push_zeros(seq: &mut Vec<u8>, len: usize) {
    if len > ZERO_MAX_LEN {
        seq.extend_from_slice(&xzero(len));
    } else {
        seq.push((len - 1) as u8);
    }
}

/// Visits the registers of a sparse body as runs `(first register, run length, value)`,
/// until `visit` returns false. Returns the number of registers the body covers (16384 when
/// it is well formed), or None if the visit was cut short.
fn sparse_runs(body: &[u8], mut visit: impl FnMut(usize, usize, u8) -> bool) -> Option<usize> {
    let mut p = 0;
    let mut idx = 0;
    while p < body.len() {
        let op = Opcode::at(body, p);
        let value = match op {
            Opcode::Val(v, _) => v,
            _ => 0,
        };
        if !visit(idx, op.span(), value) {
            return None;
        }
        idx += op.span();
        p += op.bytes();
    }
    Some(idx)
}

/// What a register update did.
#[derive(Debug, PartialEq)]
pub enum Update {
    Unchanged,
    Changed,
    /// The sketch is corrupt.
    Invalid,
}

/// Converts a sparse sketch to dense, keeping the header (and so the cached cardinality).
/// False, leaving `s` untouched, if the sparse body is corrupt. Redis: `hllSparseToDense`.
pub fn sparse_to_dense(s: &mut Vec<u8>) -> bool {
    if encoding(s) == DENSE {
        return true;
    }
    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..HDR_SIZE].copy_from_slice(&s[..HDR_SIZE]);
    dense[4] = DENSE;
    let registers = &mut dense[HDR_SIZE..];
    let covered = sparse_runs(&s[HDR_SIZE..], |first, len, value| {
        if value == 0 {
            return true;
        }
        if first + len > REGISTERS {
            return false;
        }
        for i in first..first + len {
            dense_put(registers, i, value);
        }
        true
    });
    if covered != Some(REGISTERS) {
        return false;
    }
    *s = dense;
    true
}

/// Raises register `index` of a sparse sketch to `count`, promoting the sketch to dense when
/// the value does not fit a VAL opcode or the string would outgrow `max_bytes`.
/// Redis: `hllSparseSet`.
pub fn sparse_set(s: &mut Vec<u8>, index: usize, count: u8, max_bytes: usize) -> Update {
    if count > VAL_MAX_VALUE {
        return promote_and_set(s, index, count);
    }
    // Step 1: find the opcode covering `index`, and the one before it.
    let mut p = HDR_SIZE;
    let mut first = 0;
    let mut prev = None;
    let mut found = None;
    while p < s.len() {
        let op = Opcode::at(s, p);
        if index < first + op.span() {
            found = Some(op);
            break;
        }
        prev = Some(p);
        p += op.bytes();
        first += op.span();
    }
    let Some(op) = found else {
        return Update::Invalid;
    };
    if p + op.bytes() > s.len() {
        return Update::Invalid;
    }
    // Step 2: the trivial cases update one byte in place.
    let in_place = match op {
        Opcode::Val(old, _) if old >= count => return Update::Unchanged,
        Opcode::Val(_, 1) | Opcode::Zero(1) => true,
        _ => false,
    };
    if in_place {
        s[p] = val(count, 1);
    } else {
        // Otherwise split the opcode in up to three: before, the register, after.
        let last = first + op.span() - 1;
        let mut seq = Vec::with_capacity(5);
        match op {
            Opcode::Val(current, _) => {
                if index != first {
                    seq.push(val(current, index - first));
                }
                seq.push(val(count, 1));
                if index != last {
                    seq.push(val(current, last - index));
                }
            }
            _ => {
                if index != first {
                    push_zeros(&mut seq, index - first);
                }
                seq.push(val(count, 1));
                if index != last {
                    push_zeros(&mut seq, last - index);
                }
            }
        }
        let grows = seq.len() > op.bytes();
        if grows && s.len() + seq.len() - op.bytes() > max_bytes {
            return promote_and_set(s, index, count);
        }
        s.splice(p..p + op.bytes(), seq);
    }
    // Step 3: merge adjacent VALs of equal value, scanning at most five opcodes from the one
    // before the change.
    let mut q = prev.unwrap_or(HDR_SIZE);
    let mut scans = 5;
    while q < s.len() && scans > 0 {
        scans -= 1;
        match Opcode::at(s, q) {
            Opcode::XZero(_) => q += 2,
            Opcode::Zero(_) => q += 1,
            Opcode::Val(v1, l1) => {
                if q + 1 < s.len() {
                    if let Opcode::Val(v2, l2) = Opcode::at(s, q + 1) {
                        if v1 == v2 && l1 + l2 <= VAL_MAX_LEN {
                            s[q + 1] = val(v1, l1 + l2);
                            s.remove(q);
                            // Look again at the merged opcode: it may merge further right.
                            continue;
                        }
                    }
                }
                q += 1;
            }
        }
    }
    invalidate_cache(s);
    Update::Changed
}

/// Redis's `promote:` path: go dense, then set the register (which must change).
fn promote_and_set(s: &mut Vec<u8>, index: usize, count: u8) -> Update {
    if !sparse_to_dense(s) {
        return Update::Invalid;
    }
    let changed = dense_set(&mut s[HDR_SIZE..], index, count);
    debug_assert!(changed);
    Update::Changed
}

/// Adds one element (Redis: `hllAdd`). The cache is not invalidated here: PFADD does it once.
pub fn add(s: &mut Vec<u8>, element: &[u8], sparse_max_bytes: usize) -> Update {
    let (index, count) = pattern_len(element);
    match encoding(s) {
        DENSE => {
            if dense_set(&mut s[HDR_SIZE..], index, count) {
                Update::Changed
            } else {
                Update::Unchanged
            }
        }
        SPARSE => sparse_set(s, index, count, sparse_max_bytes),
        _ => Update::Invalid,
    }
}

/// Raises register `index` to `count` in either encoding (PFMERGE's write of the union).
pub fn set_register(s: &mut Vec<u8>, index: usize, count: u8, sparse_max_bytes: usize) {
    if encoding(s) == DENSE {
        dense_set(&mut s[HDR_SIZE..], index, count);
    } else {
        // Redis ignores a corrupt destination here; its registers were merged already.
        let _ = sparse_set(s, index, count, sparse_max_bytes);
    }
}

/// Merges a sketch into `max` (one byte per register): `max[i] = max(max[i], s[i])`. False if
/// a sparse body is corrupt: it must cover exactly 16384 registers, and a run past the last
/// one is refused rather than skipped, as in the redis-server 7.0.15 we compare with (Debian's,
/// which carries the CVE-2025-32023 bounds fix). Redis: `hllMerge`.
pub fn merge_into(max: &mut [u8; REGISTERS], s: &[u8]) -> bool {
    if encoding(s) == DENSE {
        let registers = &s[HDR_SIZE..];
        for (i, m) in max.iter_mut().enumerate() {
            *m = (*m).max(dense_get(registers, i));
        }
        return true;
    }
    let covered = sparse_runs(&s[HDR_SIZE..], |first, len, value| {
        if value == 0 {
            return true;
        }
        if first + len > REGISTERS {
            return false;
        }
        for m in &mut max[first..first + len] {
            *m = (*m).max(value);
        }
        true
    });
    covered == Some(REGISTERS)
}

// ---- cardinality -----------------------------------------------------------------------

/// Histogram of register values: `histogram[k]` registers hold `k`.
pub type Histogram = [u32; 64];

/// The histogram of a sketch; None for a sparse body that does not cover 16384 registers.
pub fn histogram(s: &[u8]) -> Option<Histogram> {
    let mut h = [0u32; 64];
    if encoding(s) == DENSE {
        let registers = &s[HDR_SIZE..];
        for i in 0..REGISTERS {
            h[usize::from(dense_get(registers, i))] += 1;
        }
        return Some(h);
    }
    let covered = sparse_runs(&s[HDR_SIZE..], |_, len, value| {
        let slot = &mut h[usize::from(value)];
        *slot = slot.wrapping_add(len as u32);
        true
    });
    (covered == Some(REGISTERS)).then_some(h)
}

/// The histogram of one byte per register (PFCOUNT of several keys).
pub fn raw_histogram(max: &[u8; REGISTERS]) -> Histogram {
    let mut h = [0u32; 64];
    for &v in max {
        h[usize::from(v & 63)] += 1;
    }
    h
}

/// σ(x) of the estimator (see the module header). Redis: `hllSigma`.
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let previous = z;
        z += x * y;
        y += y;
        if previous == z {
            return z;
        }
    }
}

/// τ(x) of the estimator (see the module header). Redis: `hllTau`.
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let previous = z;
        y *= 0.5;
        z -= (1.0 - x) * (1.0 - x) * y;
        if previous == z {
            return z / 3.0;
        }
    }
}

/// The cardinality estimate from a register histogram. Redis: `hllCount`.
pub fn estimate(h: &Histogram) -> u64 {
    const ALPHA_INF: f64 = 0.721_347_520_444_481_7;
    let m = REGISTERS as f64;
    let q = Q as usize;
    let mut z = m * tau((m - f64::from(h[q + 1])) / m);
    for k in (1..=q).rev() {
        z += f64::from(h[k]);
        z *= 0.5;
    }
    z += m * sigma(f64::from(h[0]) / m);
    let e = (ALPHA_INF * m * m / z).round();
    // Redis rounds with `llroundl`, which on x86 gives LLONG_MIN for what a `long long` cannot
    // hold (z is 0 when every register is above q + 1, a corrupt but accepted dense sketch).
    if e.is_finite() && e < i64::MAX as f64 && e >= i64::MIN as f64 {
        e as i64 as u64
    } else {
        1 << 63
    }
}

/// PFDEBUG DECODE's text of a sparse body: `z:<n>`, `Z:<n>`, `v:<value>,<n>`.
pub fn decode_sparse(s: &[u8]) -> String {
    let body = &s[HDR_SIZE..];
    let mut out = Vec::new();
    let mut p = 0;
    while p < body.len() {
        let op = Opcode::at(body, p);
        out.push(match op {
            Opcode::Zero(n) => format!("z:{n}"),
            Opcode::XZero(n) => format!("Z:{n}"),
            Opcode::Val(v, n) => format!("v:{v},{n}"),
        });
        p += op.bytes();
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_sketch_is_one_xzero() {
        let s = new_sparse();
        assert_eq!(s.len(), 18);
        assert_eq!(&s[16..], &[0x7f, 0xff]);
        assert!(is_valid(&s));
        assert_eq!(estimate(&histogram(&s).unwrap()), 0);
        assert_eq!(decode_sparse(&s), "Z:16384");
    }

    #[test]
    fn dense_registers_do_not_disturb_their_neighbours() {
        let mut r = vec![0u8; DENSE_SIZE - HDR_SIZE];
        for i in 0..REGISTERS {
            dense_put(&mut r, i, (i % 64) as u8);
        }
        for i in 0..REGISTERS {
            assert_eq!(dense_get(&r, i), (i % 64) as u8);
        }
    }

    #[test]
    fn sparse_and_dense_agree() {
        let mut sparse = new_sparse();
        let mut dense = new_sparse();
        assert!(sparse_to_dense(&mut dense));
        for i in 0..2000u32 {
            let e = i.to_string();
            add(&mut sparse, e.as_bytes(), 3000);
            add(&mut dense, e.as_bytes(), 3000);
        }
        let a = estimate(&histogram(&sparse).unwrap());
        let b = estimate(&histogram(&dense).unwrap());
        assert_eq!(a, b);
        assert!((1900..2100).contains(&a), "{a}");
        assert!(sparse_to_dense(&mut sparse));
        assert_eq!(&sparse[HDR_SIZE..], &dense[HDR_SIZE..]);
    }
}
