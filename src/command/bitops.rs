//! Bitmap commands on string values (Redis: `bitops.c`): SETBIT, GETBIT, BITCOUNT, BITPOS,
//! BITOP, BITFIELD and BITFIELD_RO.
//!
//! A bitmap is not a type of its own: it is a string read as a sequence of bits, the most
//! significant bit of byte 0 being bit 0. Reads treat the string as if it continued with zero
//! bytes forever; writes past the end first grow the string with zero bytes
//! ([`lookup_string_for_bit_write`], Redis: `lookupStringForBitCommand`), in place, so a
//! bitmap built bit by bit is reallocated once per new byte and never copied whole per bit.
//!
//! Offsets are limited so the string never exceeds `proto-max-bulk-len` (512 MB by default),
//! and each write command fires its keyspace event and invalidates WATCHes only when it
//! really changed something, exactly as Redis does (a SETBIT writing the bit already there
//! neither counts as a change nor fires `setbit`).

use super::args;
use super::error::{CommandError, CommandResult};
use super::keyspec::{key_flags::*, GetKeys, KeySpec};
use super::notify::{NOTIFY_GENERIC, NOTIFY_STRING};
use super::table::{flags::*, CommandSpec};
use super::{get_string, notify, signal_modified_key, Ctx};
use crate::db::value::Value;
use crate::types::sds::Sds;
use crate::util::parse_i64;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("setbit", setbit_command, 4, WRITE | DENYOOM, "bitmap")
        .key_specs(&[KeySpec::at(1, RW | ACCESS | UPDATE)])
        .doc(
            "Sets or clears the bit at offset of the string value. Creates the key if it doesn't exist.",
            "2.2.0",
        ),
    CommandSpec::new("getbit", getbit_command, 3, READONLY | FAST, "bitmap")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .doc("Returns a bit value by offset.", "2.2.0"),
    CommandSpec::new("bitcount", bitcount_command, -2, READONLY, "bitmap")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .doc("Counts the number of set bits (population counting) in a string.", "2.6.0"),
    CommandSpec::new("bitpos", bitpos_command, -3, READONLY, "bitmap")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .doc("Finds the first set (1) or clear (0) bit in a string.", "2.8.7"),
    CommandSpec::new("bitop", bitop_command, -4, WRITE | DENYOOM, "bitmap")
        .key_specs(&[
            KeySpec::at(2, OW | UPDATE),
            KeySpec::at(3, RO | ACCESS).range(-1, 1, 0),
        ])
        .doc("Performs bitwise operations on multiple strings, and stores the result.", "2.6.0"),
    CommandSpec::new("bitfield", bitfield_command, -2, WRITE | DENYOOM, "bitmap")
        .key_specs(&[KeySpec::at(1, RW | ACCESS | UPDATE | VARIABLE_FLAGS)
            .notes("This command allows both access and modification of the key")])
        .getkeys(GetKeys::Bitfield)
        .doc("Performs arbitrary bitfield integer operations on strings.", "3.2.0"),
    CommandSpec::new("bitfield_ro", bitfield_ro_command, -2, READONLY | FAST, "bitmap")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .doc("Performs arbitrary read-only bitfield integer operations on strings.", "6.0.0"),
];

const OFFSET_ERR: &str = "bit offset is not an integer or out of range";
const BIT_ERR: &str = "bit is not an integer or out of range";
const TYPE_ERR: &str =
    "Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";

/// A bit offset argument (Redis: `getBitOffsetFromArgument`). With `hash_bits` (BITFIELD's
/// `#<n>` form), `#n` means `n * bits`. The byte holding the bit must lie below
/// `proto-max-bulk-len`.
fn bit_offset(ctx: &Ctx, arg: &[u8], hash_bits: Option<u32>) -> Result<u64, CommandError> {
    let err = || CommandError::Err(OFFSET_ERR);
    let (digits, multiplier) = match (arg.first(), hash_bits) {
        (Some(b'#'), Some(bits)) => (&arg[1..], i64::from(bits)),
        _ => (arg, 1),
    };
    // Redis multiplies in a `long long` without checking; the wrapped product is then refused
    // or accepted by the range test below, as there.
    let offset = parse_i64(digits).ok_or_else(err)?.wrapping_mul(multiplier);
    if offset < 0 || (offset >> 3) >= ctx.srv.config.proto_max_bulk_len {
        return Err(err());
    }
    Ok(offset as u64)
}

/// The string at `key` for a bit write reaching bit `max_bit`: created (zero-filled) when
/// missing, grown with zero bytes when shorter. Returns whether the key was created or grown,
/// which counts as a change even if no bit flips. Redis: `lookupStringForBitCommand`.
fn lookup_string_for_bit_write<'c>(
    ctx: &'c mut Ctx,
    key: &[u8],
    max_bit: u64,
) -> Result<(&'c mut Sds, bool), CommandError> {
    let needed = (max_bit >> 3) as usize + 1;
    let now = ctx.now;
    let db = &mut ctx.dbs[ctx.db];
    let mut grown = false;
    if db.lookup_write_as::<Sds>(key, now)?.is_none() {
        let mut bytes = Vec::new();
        bytes
            .try_reserve_exact(needed)
            .map_err(|_| CommandError::Err("string exceeds maximum allowed size"))?;
        bytes.resize(needed, 0);
        db.add(key, Value::Str(Sds::from_vec(bytes)), now);
        grown = true;
    }
    // A plain probe: the key was just looked up (or added) above.
    let obj = db.dict.get_mut(key).ok_or(CommandError::NoSuchKey)?;
    obj.raw = true;
    let Value::Str(s) = &mut obj.value else {
        return Err(CommandError::WrongType);
    };
    if s.len() < needed {
        s.grow_zeroed(needed);
        grown = true;
    }
    Ok((s, grown))
}

/// SETBIT key offset value — the bit's previous value (0 or 1).
fn setbit_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let key = argv[1];
    let offset = bit_offset(ctx, argv[2], None)?;
    let on = match parse_i64(argv[3]) {
        Some(v @ (0 | 1)) => v as u8,
        _ => return Err(CommandError::Err(BIT_ERR)),
    };
    let (s, grown) = lookup_string_for_bit_write(ctx, key, offset)?;
    let byte = &mut s.as_bytes_mut()[(offset >> 3) as usize];
    let mask = 0x80u8 >> (offset & 7);
    let old = u8::from(*byte & mask != 0);
    if grown || old != on {
        if on == 1 {
            *byte |= mask;
        } else {
            *byte &= !mask;
        }
        signal_modified_key(ctx, key);
        notify(ctx, NOTIFY_STRING, "setbit", key);
        ctx.srv.dirty += 1;
    }
    ctx.out.integer(i64::from(old));
    Ok(())
}

/// GETBIT key offset — the bit at `offset`; 0 past the end or for a missing key.
fn getbit_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let offset = bit_offset(ctx, argv[2], None)?;
    let db = &mut ctx.dbs[ctx.db];
    let bit = get_string(db, argv[1], ctx.now)?
        .and_then(|s| s.get((offset >> 3) as usize).copied())
        .map_or(0, |byte| (byte >> (7 - (offset & 7))) & 1);
    ctx.out.integer(i64::from(bit));
    Ok(())
}

/// Number of set bits in `bytes`, eight bytes at a time (Redis: `redisPopcount`).
pub fn popcount(bytes: &[u8]) -> u64 {
    let mut words = bytes.chunks_exact(8);
    let mut count: u64 = 0;
    for word in &mut words {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        count += u64::from(u64::from_ne_bytes(w).count_ones());
    }
    count
        + words
            .remainder()
            .iter()
            .map(|b| u64::from(b.count_ones()))
            .sum::<u64>()
}

/// Position of the first bit equal to `bit` in `bytes` (Redis: `redisBitpos`). The bytes are
/// taken as followed by zeros: looking for a 0 in all-ones bytes finds the first padding bit
/// (`8 * len`); looking for a 1 in all-zero bytes finds nothing (-1).
fn first_bit(bytes: &[u8], bit: u8) -> i64 {
    let skip = if bit == 1 { 0x00 } else { 0xff };
    match bytes.iter().position(|&b| b != skip) {
        Some(i) => {
            let b = if bit == 1 { bytes[i] } else { !bytes[i] };
            (i as i64) * 8 + i64::from(b.leading_zeros() as u8)
        }
        None if bit == 1 => -1,
        None => bytes.len() as i64 * 8,
    }
}

/// A range's unit: BYTE (the default) or BIT.
fn range_unit(arg: &[u8]) -> Result<bool, CommandError> {
    if args::is(arg, "bit") {
        Ok(true)
    } else if args::is(arg, "byte") {
        Ok(false)
    } else {
        Err(CommandError::Syntax)
    }
}

/// A range after Redis's clamping, in bytes, with masks for the bits outside the range in
/// its first and last byte (set bits of `first_mask` / `last_mask` are outside; BIT ranges
/// only).
struct ByteRange {
    start: i64,
    end: i64,
    first_mask: u8,
    last_mask: u8,
}

/// Clamps `start..=end` (negative counts from the end) to a string of `len` bytes; in BIT
/// units when `in_bits`. `start > end` afterwards means an empty range.
fn clamp_range(len: i64, mut start: i64, mut end: i64, in_bits: bool) -> ByteRange {
    let total = if in_bits { len << 3 } else { len };
    if start < 0 {
        start += total;
    }
    if end < 0 {
        end += total;
    }
    start = start.max(0);
    end = end.max(0).min(total - 1);
    let (mut first_mask, mut last_mask) = (0u8, 0u8);
    if in_bits && start <= end {
        first_mask = !(0xffu8 >> (start & 7));
        last_mask = ((1u16 << (7 - (end & 7))) - 1) as u8;
        start >>= 3;
        end >>= 3;
    }
    ByteRange {
        start,
        end,
        first_mask,
        last_mask,
    }
}

/// BITCOUNT key [start end [BYTE | BIT]] — the number of set bits in the range.
fn bitcount_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let db = &mut ctx.dbs[ctx.db];
    // The key is looked up (and type-checked) before the range is parsed, as in Redis.
    let Some(s) = get_string(db, argv[1], ctx.now)? else {
        ctx.out.integer(0);
        return Ok(());
    };
    let range = match argv.len() {
        2 => ByteRange {
            start: 0,
            end: s.len() as i64 - 1,
            first_mask: 0,
            last_mask: 0,
        },
        4 | 5 => {
            let start = args::int(argv[2])?;
            let end = args::int(argv[3])?;
            if start < 0 && end < 0 && start > end {
                ctx.out.integer(0);
                return Ok(());
            }
            let in_bits = match argv.get(4) {
                Some(unit) => range_unit(unit)?,
                None => false,
            };
            clamp_range(s.len() as i64, start, end, in_bits)
        }
        _ => return Err(CommandError::Syntax),
    };
    if range.start > range.end {
        ctx.out.integer(0);
        return Ok(());
    }
    let (start, end) = (range.start as usize, range.end as usize);
    let mut count = popcount(&s[start..=end]);
    // Bits of the edge bytes outside a BIT range were counted: take them back out.
    count -= u64::from((s[start] & range.first_mask).count_ones());
    count -= u64::from((s[end] & range.last_mask).count_ones());
    ctx.out.integer(count as i64);
    Ok(())
}

/// BITPOS key bit [start [end [BYTE | BIT]]] — the position of the first bit set to `bit`, or
/// -1. Without an explicit end, the string counts as padded with zeros on the right.
fn bitpos_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let bit = match args::int(argv[2])? {
        b @ (0 | 1) => b as u8,
        _ => return Err(CommandError::Err("The bit argument must be 1 or 0.")),
    };
    let db = &mut ctx.dbs[ctx.db];
    let Some(s) = get_string(db, argv[1], ctx.now)? else {
        ctx.out.integer(if bit == 1 { -1 } else { 0 });
        return Ok(());
    };
    let len = s.len() as i64;
    let mut end_given = false;
    let range = match argv.len() {
        3 => ByteRange {
            start: 0,
            end: len - 1,
            first_mask: 0,
            last_mask: 0,
        },
        4..=6 => {
            let start = args::int(argv[3])?;
            let in_bits = match argv.get(5) {
                Some(unit) => range_unit(unit)?,
                None => false,
            };
            let end = match argv.get(4) {
                Some(arg) => {
                    end_given = true;
                    args::int(arg)?
                }
                None if in_bits => (len << 3) + 7,
                None => len - 1,
            };
            clamp_range(len, start, end, in_bits)
        }
        _ => return Err(CommandError::Syntax),
    };
    if range.start > range.end {
        ctx.out.integer(-1);
        return Ok(());
    }
    let (start, end) = (range.start as usize, range.end as usize);
    // Copy the range and force the bits outside it to "not what we look for".
    let mut bytes = s[start..=end].to_vec();
    let last = bytes.len() - 1;
    let outside = |b: &mut u8, mask: u8| {
        if bit == 1 {
            *b &= !mask
        } else {
            *b |= mask
        }
    };
    outside(&mut bytes[0], range.first_mask);
    outside(&mut bytes[last], range.last_mask);
    let pos = first_bit(&bytes, bit);
    // An explicit range is not padded: a 0 found only past it is no 0 at all.
    if end_given && bit == 0 && pos == bytes.len() as i64 * 8 {
        ctx.out.integer(-1);
        return Ok(());
    }
    ctx.out.integer(if pos == -1 {
        -1
    } else {
        pos + (start as i64) * 8
    });
    Ok(())
}

/// BITOP AND | OR | XOR | NOT destkey key [key ...] — the length of the result, stored at
/// `destkey` (deleted when the result is empty). Missing keys are empty strings; shorter
/// strings are padded with zero bytes.
fn bitop_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    #[derive(Clone, Copy, PartialEq)]
    enum Op {
        And,
        Or,
        Xor,
        Not,
    }
    let op = [
        ("and", Op::And),
        ("or", Op::Or),
        ("xor", Op::Xor),
        ("not", Op::Not),
    ]
    .into_iter()
    .find(|(name, _)| args::is(argv[1], name))
    .map(|(_, op)| op)
    .ok_or(CommandError::Syntax)?;
    if op == Op::Not && argv.len() != 4 {
        return Err(CommandError::Err(
            "BITOP NOT must be called with a single source key.",
        ));
    }
    let dest = argv[2];
    let now = ctx.now;
    let db = &mut ctx.dbs[ctx.db];
    // Every source is read (and type-checked) before anything is computed.
    let mut sources: Vec<Vec<u8>> = Vec::with_capacity(argv.len() - 3);
    for key in &argv[3..] {
        sources.push(get_string(db, key, now)?.map_or_else(Vec::new, |s| s.to_vec()));
    }
    let max_len = sources.iter().map(Vec::len).max().unwrap_or(0);
    if max_len == 0 {
        if db.remove(dest).is_some() {
            signal_modified_key(ctx, dest);
            notify(ctx, NOTIFY_GENERIC, "del", dest);
            ctx.srv.dirty += 1;
        }
        ctx.out.integer(0);
        return Ok(());
    }
    let mut result = std::mem::take(&mut sources[0]);
    result.resize(max_len, 0);
    match op {
        Op::Not => result.iter_mut().for_each(|b| *b = !*b),
        _ => {
            for src in &sources[1..] {
                let padded = src.iter().copied().chain(std::iter::repeat(0));
                for (r, b) in result.iter_mut().zip(padded) {
                    match op {
                        Op::And => *r &= b,
                        Op::Or => *r |= b,
                        _ => *r ^= b,
                    }
                }
            }
        }
    }
    db.set(dest, Value::Str(Sds::from_vec(result)), now, false);
    db.mark_raw(dest);
    signal_modified_key(ctx, dest);
    notify(ctx, NOTIFY_STRING, "set", dest);
    ctx.srv.dirty += 1;
    ctx.out.integer(max_len as i64);
    Ok(())
}

// BITFIELD: integers of 1 to 64 bits at any bit offset.
//
// A field of `bits` bits at bit `offset` is read most significant bit first, across byte
// boundaries. Signed fields are two's complement and sign-extended when read. A write that does
// not fit the field's range is handled by the current OVERFLOW policy: WRAP keeps the low bits
// (modular arithmetic, for signed fields too), SAT clamps to the field's minimum or maximum,
// FAIL skips the write and replies null. All arguments are parsed before anything is read or
// written, so a bad sub-command leaves the string untouched, and the string is grown once, to
// the farthest bit any SET or INCRBY reaches.

#[derive(Clone, Copy, PartialEq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Clone, Copy, PartialEq)]
enum FieldOp {
    Get,
    Set,
    IncrBy,
}

/// One parsed BITFIELD operation.
struct BitfieldOp {
    op: FieldOp,
    offset: u64,
    bits: u32,
    signed: bool,
    /// The SET value or INCRBY increment.
    value: i64,
    overflow: Overflow,
}

/// A BITFIELD type such as `i16` or `u8` (Redis: `getBitfieldTypeFromArgument`): signed up to
/// 64 bits, unsigned up to 63 (a u64 could not be replied as a RESP integer).
fn bitfield_type(arg: &[u8]) -> Result<(bool, u32), CommandError> {
    let err = CommandError::Err(TYPE_ERR);
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(err),
    };
    // Redis reads the width as a C string: an embedded NUL ends it.
    let digits = &arg[1..];
    let digits = &digits[..digits.iter().position(|&b| b == 0).unwrap_or(digits.len())];
    match parse_i64(digits) {
        Some(bits) if bits >= 1 && bits <= if signed { 64 } else { 63 } => {
            Ok((signed, bits as u32))
        }
        _ => Err(err),
    }
}

/// The `bits`-bit unsigned field at bit `offset` of `bytes`, which must be long enough.
fn get_unsigned_field(bytes: &[u8], offset: u64, bits: u32) -> u64 {
    let mut value = 0u64;
    for i in 0..u64::from(bits) {
        let at = offset + i;
        let bit = (bytes[(at >> 3) as usize] >> (7 - (at & 7))) & 1;
        value = (value << 1) | u64::from(bit);
    }
    value
}

/// The `bits`-bit signed field at bit `offset`, sign-extended.
fn get_signed_field(bytes: &[u8], offset: u64, bits: u32) -> i64 {
    let raw = get_unsigned_field(bytes, offset, bits);
    if bits < 64 && raw & (1 << (bits - 1)) != 0 {
        (raw | (u64::MAX << bits)) as i64
    } else {
        raw as i64
    }
}

/// Writes the low `bits` bits of `value` at bit `offset` of `bytes`.
fn set_field(bytes: &mut [u8], offset: u64, bits: u32, value: u64) {
    for i in 0..u64::from(bits) {
        let at = offset + i;
        let bit = (value >> (u64::from(bits) - 1 - i)) & 1;
        let mask = 0x80u8 >> (at & 7);
        let byte = &mut bytes[(at >> 3) as usize];
        if bit == 1 {
            *byte |= mask;
        } else {
            *byte &= !mask;
        }
    }
}

/// `value + incr` for an unsigned field: `None` when it fits, otherwise the value the
/// overflow policy stores (meaningless for FAIL). Redis: `checkUnsignedBitfieldOverflow`.
fn unsigned_overflow(value: u64, incr: i64, bits: u32, policy: Overflow) -> Option<u64> {
    let max = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    // Redis keeps these in signed 64-bit variables; the wrapping casts are its arithmetic.
    let max_incr = max.wrapping_sub(value) as i64;
    let min_incr = (value as i64).wrapping_neg();
    let wrapped = || {
        let sum = value.wrapping_add(incr as u64);
        if bits == 64 {
            sum
        } else {
            sum & !(u64::MAX << bits)
        }
    };
    if value > max || (incr > 0 && incr > max_incr) {
        Some(match policy {
            Overflow::Sat => max,
            _ => wrapped(),
        })
    } else if incr < 0 && incr < min_incr {
        Some(match policy {
            Overflow::Sat => 0,
            _ => wrapped(),
        })
    } else {
        None
    }
}

/// `value + incr` for a signed field: `None` when it fits, otherwise the value the overflow
/// policy stores. Redis: `checkSignedBitfieldOverflow`.
fn signed_overflow(value: i64, incr: i64, bits: u32, policy: Overflow) -> Option<i64> {
    let max = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let max_incr = (max as u64).wrapping_sub(value as u64) as i64;
    let min_incr = min.wrapping_sub(value);
    let wrapped = || {
        let mut sum = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let mask = u64::MAX << bits;
            if sum & (1 << (bits - 1)) != 0 {
                sum |= mask;
            } else {
                sum &= !mask;
            }
        }
        sum as i64
    };
    if value > max || (bits != 64 && incr > max_incr) || (value >= 0 && incr > 0 && incr > max_incr)
    {
        Some(match policy {
            Overflow::Sat => max,
            _ => wrapped(),
        })
    } else if value < min
        || (bits != 64 && incr < min_incr)
        || (value < 0 && incr < 0 && incr < min_incr)
    {
        Some(match policy {
            Overflow::Sat => min,
            _ => wrapped(),
        })
    } else {
        None
    }
}

/// BITFIELD key [GET type offset | SET type offset value | INCRBY type offset increment |
/// OVERFLOW WRAP | SAT | FAIL] ... — one reply per GET/SET/INCRBY: the value read, the old
/// value (SET), the new value (INCRBY), or null when OVERFLOW FAIL refused a write.
fn bitfield_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    bitfield_generic(ctx, argv, false)
}

/// BITFIELD_RO key [GET type offset ...] — BITFIELD restricted to GET.
fn bitfield_ro_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    bitfield_generic(ctx, argv, true)
}

/// Parses every BITFIELD sub-command (Redis: the first loop of `bitfieldGeneric`).
fn parse_bitfield_ops(ctx: &Ctx, argv: &[&[u8]]) -> Result<Vec<BitfieldOp>, CommandError> {
    let mut ops = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut j = 2;
    while j < argv.len() {
        let remaining = argv.len() - j - 1;
        let sub = argv[j];
        let op = if args::is(sub, "get") && remaining >= 2 {
            FieldOp::Get
        } else if args::is(sub, "set") && remaining >= 3 {
            FieldOp::Set
        } else if args::is(sub, "incrby") && remaining >= 3 {
            FieldOp::IncrBy
        } else if args::is(sub, "overflow") && remaining >= 1 {
            let policy = argv[j + 1];
            overflow = if args::is(policy, "wrap") {
                Overflow::Wrap
            } else if args::is(policy, "sat") {
                Overflow::Sat
            } else if args::is(policy, "fail") {
                Overflow::Fail
            } else {
                return Err(CommandError::Err("Invalid OVERFLOW type specified"));
            };
            j += 2;
            continue;
        } else {
            return Err(CommandError::Syntax);
        };
        let (signed, bits) = bitfield_type(argv[j + 1])?;
        let offset = bit_offset(ctx, argv[j + 2], Some(bits))?;
        let value = if op == FieldOp::Get {
            0
        } else {
            args::int(argv[j + 3])?
        };
        ops.push(BitfieldOp {
            op,
            offset,
            bits,
            signed,
            value,
            overflow,
        });
        j += if op == FieldOp::Get { 3 } else { 4 };
    }
    Ok(ops)
}

/// A GET: the field read from a copy of the (at most 9) bytes it spans, so a field past the
/// end of the string reads as zeros.
fn read_field(s: &[u8], o: &BitfieldOp) -> i64 {
    let first = (o.offset >> 3) as usize;
    let mut window = [0u8; 9];
    for (w, b) in window.iter_mut().zip(s.get(first..).unwrap_or(&[])) {
        *w = *b;
    }
    let at = o.offset & 7;
    if o.signed {
        get_signed_field(&window, at, o.bits)
    } else {
        get_unsigned_field(&window, at, o.bits) as i64
    }
}

/// Runs a SET or INCRBY on `bytes` (long enough for the field). Returns the reply (None when
/// OVERFLOW FAIL refused the write) and whether the field's value changed.
fn write_field(bytes: &mut [u8], o: &BitfieldOp) -> (Option<i64>, bool) {
    let (offset, bits) = (o.offset, o.bits);
    // (reply, value to store, did it overflow, did the value change)
    let (reply, store, overflowed, changed) = if o.signed {
        let old = get_signed_field(bytes, offset, bits);
        if o.op == FieldOp::IncrBy {
            let over = signed_overflow(old, o.value, bits, o.overflow);
            let new = over.unwrap_or_else(|| old.wrapping_add(o.value));
            (new, new as u64, over.is_some(), new != old)
        } else {
            let over = signed_overflow(o.value, 0, bits, o.overflow);
            let new = over.unwrap_or(o.value);
            (old, new as u64, over.is_some(), new != old)
        }
    } else {
        let old = get_unsigned_field(bytes, offset, bits);
        if o.op == FieldOp::IncrBy {
            let over = unsigned_overflow(old, o.value, bits, o.overflow);
            let new = over.unwrap_or_else(|| old.wrapping_add(o.value as u64));
            (new as i64, new, over.is_some(), new != old)
        } else {
            let over = unsigned_overflow(o.value as u64, 0, bits, o.overflow);
            let new = over.unwrap_or(o.value as u64);
            (old as i64, new, over.is_some(), new != old)
        }
    };
    if overflowed && o.overflow == Overflow::Fail {
        return (None, false);
    }
    set_field(bytes, offset, bits, store);
    (Some(reply), changed)
}

/// BITFIELD and BITFIELD_RO (Redis: `bitfieldGeneric`).
fn bitfield_generic(ctx: &mut Ctx, argv: &[&[u8]], read_only: bool) -> CommandResult {
    let key = argv[1];
    let ops = parse_bitfield_ops(ctx, argv)?;
    let highest_write = ops
        .iter()
        .filter(|o| o.op != FieldOp::Get)
        .map(|o| o.offset + u64::from(o.bits) - 1)
        .max();
    let Some(highest_write) = highest_write else {
        // Only GETs: a read; a missing key reads as zeros.
        let db = &mut ctx.dbs[ctx.db];
        let s: &[u8] = get_string(db, key, ctx.now)?.map_or(&[], |s| s.as_bytes());
        ctx.out.array_len(ops.len());
        for o in &ops {
            ctx.out.integer(read_field(s, o));
        }
        return Ok(());
    };
    if read_only {
        return Err(CommandError::Err(
            "BITFIELD_RO only supports the GET subcommand",
        ));
    }
    let (s, grown) = lookup_string_for_bit_write(ctx, key, highest_write)?;
    let bytes = s.as_bytes_mut();
    let mut replies: Vec<Option<i64>> = Vec::with_capacity(ops.len());
    let mut changes = 0u64;
    for o in &ops {
        if o.op == FieldOp::Get {
            replies.push(Some(read_field(bytes, o)));
            continue;
        }
        let (reply, changed) = write_field(bytes, o);
        // A created or grown string counts every successful write as a change.
        if reply.is_some() && (grown || changed) {
            changes += 1;
        }
        replies.push(reply);
    }
    ctx.out.array_len(replies.len());
    for r in replies {
        match r {
            Some(v) => ctx.out.integer(v),
            None => ctx.out.null(),
        }
    }
    if changes > 0 {
        signal_modified_key(ctx, key);
        notify(ctx, NOTIFY_STRING, "setbit", key);
        ctx.srv.dirty += changes;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_bit_treats_the_string_as_zero_padded() {
        assert_eq!(first_bit(&[0xff, 0xf0], 0), 12);
        assert_eq!(first_bit(&[0xff, 0xff], 0), 16);
        assert_eq!(first_bit(&[0x00, 0x00], 1), -1);
        assert_eq!(first_bit(&[0x00, 0x01], 1), 15);
        assert_eq!(first_bit(&[], 0), 0);
    }

    #[test]
    fn fields_cross_byte_boundaries() {
        let mut b = [0u8; 3];
        set_field(&mut b, 5, 8, 0xab);
        assert_eq!(get_unsigned_field(&b, 5, 8), 0xab);
        assert_eq!(get_signed_field(&b, 5, 8), 0xab_u8 as i8 as i64);
        assert_eq!(popcount(&b), 5);
    }

    #[test]
    fn overflow_policies() {
        assert_eq!(unsigned_overflow(255, 1, 8, Overflow::Wrap), Some(0));
        assert_eq!(unsigned_overflow(255, 1, 8, Overflow::Sat), Some(255));
        assert_eq!(unsigned_overflow(0, -1, 8, Overflow::Sat), Some(0));
        assert_eq!(unsigned_overflow(3, 1, 8, Overflow::Wrap), None);
        assert_eq!(signed_overflow(127, 1, 8, Overflow::Wrap), Some(-128));
        assert_eq!(signed_overflow(-128, -1, 8, Overflow::Sat), Some(-128));
        assert_eq!(
            signed_overflow(i64::MAX, 1, 64, Overflow::Wrap),
            Some(i64::MIN)
        );
    }
}
