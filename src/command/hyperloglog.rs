//! HyperLogLog commands (Redis: the command half of `hyperloglog.c`): PFADD, PFCOUNT,
//! PFMERGE, PFDEBUG and PFSELFTEST.
//!
//! A HyperLogLog is an ordinary string value in Redis's own layout (see `types::hll`), so GET,
//! SET, APPEND ... all work on it, and a string that does not look like a sketch is refused
//! with `WRONGTYPE Key is not a valid HyperLogLog string value.`, one whose sparse body does
//! not add up with `INVALIDOBJ Corrupted HLL object detected`. Each handler takes the value
//! out of the keyspace as a `Vec<u8>` (no copy for heap strings), updates it with the
//! `types::hll` functions, and puts it back.

use super::error::{CommandError, CommandResult};
use super::keyspec::{key_flags::*, KeySpec};
use super::notify::NOTIFY_STRING;
use super::table::{flags::*, CommandSpec};
use super::{notify, signal_modified_key, Ctx};
use crate::db::value::Value;
use crate::types::hll::{self, Update, REGISTERS};
use crate::types::sds::Sds;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("pfadd", pfadd_command, -2, WRITE | DENYOOM | FAST, "hyperloglog")
        .key_specs(&[KeySpec::at(1, RW | INSERT)])
        .doc(
            "Adds the specified elements to the specified HyperLogLog.",
            "2.8.9",
        ),
    CommandSpec::new("pfcount", pfcount_command, -2, READONLY | MAY_REPLICATE, "hyperloglog")
        .key_specs(&[KeySpec::at(1, RW | ACCESS).range(-1, 1, 0).notes(
            "RW because it may change the internal representation of the key, and propagate to replicas",
        )])
        .doc(
            "Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).",
            "2.8.9",
        ),
    CommandSpec::new("pfmerge", pfmerge_command, -2, WRITE | DENYOOM, "hyperloglog")
        .key_specs(&[
            KeySpec::at(1, RW | ACCESS | INSERT),
            KeySpec::at(2, RO | ACCESS).range(-1, 1, 0),
        ])
        .doc("Merge N different HyperLogLogs into a single one.", "2.8.9"),
    CommandSpec::new(
        "pfdebug",
        pfdebug_command,
        3,
        WRITE | DENYOOM | ADMIN,
        "hyperloglog",
    )
    .key_specs(&[KeySpec::at(2, RW | ACCESS)])
    .doc("Internal commands for debugging HyperLogLog values", "2.8.9"),
    CommandSpec::new("pfselftest", pfselftest_command, 1, ADMIN, "hyperloglog")
        .doc("An internal command for testing HyperLogLog values", "2.8.9"),
];

fn not_a_sketch() -> CommandError {
    CommandError::Custom("WRONGTYPE Key is not a valid HyperLogLog string value.".into())
}

fn corrupted() -> CommandError {
    CommandError::Custom("INVALIDOBJ Corrupted HLL object detected".into())
}

/// The sketch at `key` for writing, taken out of the keyspace (an empty `Sds` is left in its
/// place until [`put_back`]): None if the key is missing, `WRONGTYPE` if it is not a string
/// or not a sketch.
fn take_sketch(ctx: &mut Ctx, key: &[u8]) -> Result<Option<Vec<u8>>, CommandError> {
    let now = ctx.now;
    let Some(s) = ctx.dbs[ctx.db].lookup_write_as::<Sds>(key, now)? else {
        return Ok(None);
    };
    if !hll::is_valid(s) {
        return Err(not_a_sketch());
    }
    let sketch = std::mem::take(s).into_vec();
    ctx.dbs[ctx.db].mark_raw(key);
    Ok(Some(sketch))
}

/// Stores a sketch back under `key` (after [`take_sketch`], or as a new key).
fn put_back(ctx: &mut Ctx, key: &[u8], sketch: Vec<u8>) {
    let now = ctx.now;
    let db = &mut ctx.dbs[ctx.db];
    match db.dict.get_mut(key) {
        Some(obj) => obj.value = Value::Str(Sds::from_vec(sketch)),
        None => {
            db.add(key, Value::Str(Sds::from_vec(sketch)), now).raw = true;
        }
    }
}

/// PFADD key [element ...] — 1 if a register changed (or the key was created), else 0.
fn pfadd_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let key = argv[1];
    let max_bytes = ctx.srv.config.hll_sparse_max_bytes;
    let (mut sketch, mut updated) = match take_sketch(ctx, key)? {
        Some(sketch) => (sketch, 0u64),
        None => (hll::new_sparse(), 1),
    };
    let mut corrupt = false;
    for element in &argv[2..] {
        match hll::add(&mut sketch, element, max_bytes) {
            Update::Changed => updated += 1,
            Update::Unchanged => {}
            Update::Invalid => {
                corrupt = true;
                break;
            }
        }
    }
    if updated > 0 && !corrupt {
        hll::invalidate_cache(&mut sketch);
    }
    put_back(ctx, key, sketch);
    if corrupt {
        return Err(corrupted());
    }
    if updated > 0 {
        signal_modified_key(ctx, key);
        notify(ctx, NOTIFY_STRING, "pfadd", key);
        ctx.srv.dirty += updated;
    }
    ctx.out.integer(i64::from(updated > 0));
    Ok(())
}

/// PFCOUNT key [key ...] — the estimated cardinality of one sketch (whose cached value is
/// refreshed, a write to the string) or of the union of several (computed, nothing stored).
fn pfcount_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let now = ctx.now;
    if argv.len() > 2 {
        let mut max = Box::new([0u8; REGISTERS]);
        merge_sketches(&mut ctx.dbs[ctx.db], &argv[1..], now, &mut max)?;
        ctx.out
            .integer(hll::estimate(&hll::raw_histogram(&max)) as i64);
        return Ok(());
    }
    let key = argv[1];
    let db = &mut ctx.dbs[ctx.db];
    let (s, raw) = match db.lookup_read(key, now, true) {
        None => {
            ctx.out.integer(0);
            return Ok(());
        }
        Some(obj) => match &mut obj.value {
            Value::Str(s) => (s, &mut obj.raw),
            _ => return Err(CommandError::WrongType),
        },
    };
    if !hll::is_valid(s) {
        return Err(not_a_sketch());
    }
    *raw = true;
    if let Some(card) = hll::cached_cardinality(s) {
        ctx.out.integer(card as i64);
        return Ok(());
    }
    let card = hll::estimate(&hll::histogram(s).ok_or_else(corrupted)?);
    hll::set_cached_cardinality(s.as_bytes_mut(), card);
    signal_modified_key(ctx, key);
    ctx.srv.dirty += 1;
    ctx.out.integer(card as i64);
    Ok(())
}

/// Folds the sketches at `keys` into `max`, register by register (missing keys count as
/// empty), as PFCOUNT of several keys and PFMERGE do (Redis: `hllMerge`). Returns whether any
/// of them is dense. `WRONGTYPE` for a non-string or a string that is not a sketch, and
/// `INVALIDOBJ` for a corrupted one.
fn merge_sketches(
    db: &mut crate::db::Db,
    keys: &[&[u8]],
    now: crate::db::Ms,
    max: &mut [u8; REGISTERS],
) -> Result<bool, CommandError> {
    let mut any_dense = false;
    for key in keys {
        let Some(obj) = db.lookup_read(key, now, true) else {
            continue;
        };
        let Value::Str(s) = &obj.value else {
            return Err(CommandError::WrongType);
        };
        if !hll::is_valid(s) {
            return Err(not_a_sketch());
        }
        any_dense |= hll::encoding(s) == hll::DENSE;
        if !hll::merge_into(max, s) {
            return Err(corrupted());
        }
    }
    Ok(any_dense)
}

/// PFMERGE destkey [sourcekey ...] — OK; `destkey` becomes the union of itself and the
/// sources, dense if any input is dense.
fn pfmerge_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let now = ctx.now;
    let max_bytes = ctx.srv.config.hll_sparse_max_bytes;
    let mut max = Box::new([0u8; REGISTERS]);
    // The destination is read as a source too.
    let use_dense = merge_sketches(&mut ctx.dbs[ctx.db], &argv[1..], now, &mut max)?;
    let key = argv[1];
    let mut sketch = take_sketch(ctx, key)?.unwrap_or_else(hll::new_sparse);
    if use_dense && !hll::sparse_to_dense(&mut sketch) {
        put_back(ctx, key, sketch);
        return Err(corrupted());
    }
    for (index, &count) in max.iter().enumerate() {
        if count != 0 {
            hll::set_register(&mut sketch, index, count, max_bytes);
        }
    }
    hll::invalidate_cache(&mut sketch);
    put_back(ctx, key, sketch);
    signal_modified_key(ctx, key);
    // A merge is a mass add: Redis reports it as `pfadd`.
    notify(ctx, NOTIFY_STRING, "pfadd", key);
    ctx.srv.dirty += 1;
    ctx.out.ok();
    Ok(())
}

/// PFDEBUG GETREG | DECODE | ENCODING | TODENSE key — the registers (making the sketch
/// dense), the sparse opcodes as text, the encoding's name, or whether it was made dense.
fn pfdebug_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let (sub, key) = (argv[1], argv[2]);
    let Some(mut sketch) = take_sketch(ctx, key)? else {
        return Err(CommandError::Err("The specified key does not exist"));
    };
    let result = pfdebug_on(ctx, sub, &mut sketch);
    put_back(ctx, key, sketch);
    result
}

fn pfdebug_on(ctx: &mut Ctx, sub: &[u8], sketch: &mut Vec<u8>) -> CommandResult {
    let was_sparse = hll::encoding(sketch) == hll::SPARSE;
    if sub.eq_ignore_ascii_case(b"getreg") {
        if was_sparse {
            if !hll::sparse_to_dense(sketch) {
                return Err(corrupted());
            }
            ctx.srv.dirty += 1;
        }
        let registers = &sketch[hll::HDR_SIZE..];
        ctx.out.array_len(REGISTERS);
        for i in 0..REGISTERS {
            ctx.out.integer(i64::from(hll::dense_get(registers, i)));
        }
    } else if sub.eq_ignore_ascii_case(b"decode") {
        if !was_sparse {
            return Err(CommandError::Err("HLL encoding is not sparse"));
        }
        ctx.out.bulk(hll::decode_sparse(sketch).as_bytes());
    } else if sub.eq_ignore_ascii_case(b"encoding") {
        ctx.out.simple(if was_sparse { "sparse" } else { "dense" });
    } else if sub.eq_ignore_ascii_case(b"todense") {
        if was_sparse {
            if !hll::sparse_to_dense(sketch) {
                return Err(corrupted());
            }
            ctx.srv.dirty += 1;
        }
        ctx.out.integer(i64::from(was_sparse));
    } else {
        // Redis prints the name as a C string: it stops at a NUL byte.
        let name = sub.split(|&b| b == 0).next().unwrap_or(&[]);
        return Err(CommandError::err(format!(
            "Unknown PFDEBUG subcommand '{}'",
            String::from_utf8_lossy(name)
        )));
    }
    Ok(())
}

/// PFSELFTEST — OK if the register packing and the estimator pass Redis's self-test: random
/// registers read back unchanged, and a dense and a sparse sketch fed the same ten million
/// elements agree and stay within six standard errors at every power of ten.
fn pfselftest_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    use rand::Rng;
    let rng = &mut ctx.srv.rng;
    let mut dense = vec![0u8; hll::DENSE_SIZE];
    dense[..4].copy_from_slice(b"HYLL");
    let mut expected = vec![0u8; REGISTERS];
    for _ in 0..1000 {
        for (i, e) in expected.iter_mut().enumerate() {
            *e = rng.random_range(0..64u8);
            hll::dense_put(&mut dense[hll::HDR_SIZE..], i, *e);
        }
        for (i, &e) in expected.iter().enumerate() {
            let got = hll::dense_get(&dense[hll::HDR_SIZE..], i);
            if got != e {
                return Err(CommandError::Custom(format!(
                    "TESTFAILED Register {i} should be {e} but is {got}"
                )));
            }
        }
    }
    dense[hll::HDR_SIZE..].fill(0);
    let max_bytes = ctx.srv.config.hll_sparse_max_bytes;
    let mut sparse = hll::new_sparse();
    let relative_error = 1.04 / (REGISTERS as f64).sqrt();
    let seed: u64 = rng.random();
    let mut checkpoint: u64 = 1;
    for j in 1..=10_000_000u64 {
        let element = (j ^ seed).to_ne_bytes();
        hll::add(&mut dense, &element, max_bytes);
        hll::add(&mut sparse, &element, max_bytes);
        if j != checkpoint {
            continue;
        }
        if (j as usize) < max_bytes / 2 && hll::encoding(&sparse) != hll::SPARSE {
            return Err(CommandError::Custom(
                "TESTFAILED sparse encoding not used".into(),
            ));
        }
        let count = |s: &[u8]| hll::histogram(s).map_or(0, |h| hll::estimate(&h));
        let estimate = count(&dense);
        if estimate != count(&sparse) {
            return Err(CommandError::Custom(
                "TESTFAILED dense/sparse disagree".into(),
            ));
        }
        let max_error = if j == 10 {
            1
        } else {
            (relative_error * 6.0 * checkpoint as f64).ceil() as u64
        };
        let error = checkpoint.abs_diff(estimate);
        if error > max_error {
            return Err(CommandError::Custom(format!(
                "TESTFAILED Too big error. card:{checkpoint} abserr:{error}"
            )));
        }
        checkpoint *= 10;
    }
    ctx.out.ok();
    Ok(())
}
