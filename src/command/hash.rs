//! Hash commands (Redis: `t_hash.c`, command half).
//!
//! The data structure — a listpack while small, a hash table once large — lives in
//! `types::hash`; this file parses arguments, looks the key up with the right type, calls the
//! `Hash` API and writes the reply. Writes follow the usual order: validate everything, mutate,
//! then `dirty`, `signal_modified_key` (WATCH) and the keyspace event Redis fires (`hset`,
//! `hdel`, `hincrby`, `hincrbyfloat`, and `del` when the last field goes).

use super::args;
use super::error::{CommandError, CommandResult};
use super::keyspace::{delete_if_empty, parse_scan_cursor, reply_scan, ScanOptions};
use super::keyspec::{key_flags::*, KeySpec};
use super::notify::NOTIFY_HASH;
use super::propagate;
use super::table::{flags::*, CommandSpec};
use super::{notify, signal_modified_key, Ctx};
use crate::db::value::Value;
use crate::db::{Db, Ms};
use crate::types::hash::{Hash, Limits};
use crate::util::{parse_i64, write_i64, LongDouble, I64_BUF};

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("hset", hset_command, -4, WRITE | DENYOOM | FAST, "hash")
        .key_specs(&[KeySpec::at(1, RW | UPDATE)])
        .doc("Creates or modifies the value of a field in a hash.", "2.0.0"),
    CommandSpec::new("hsetnx", hsetnx_command, 4, WRITE | DENYOOM | FAST, "hash")
        .key_specs(&[KeySpec::at(1, RW | INSERT)])
        .doc(
            "Sets the value of a field in a hash only when the field doesn't exist.",
            "2.0.0",
        ),
    CommandSpec::new("hget", hget_command, 3, READONLY | FAST, "hash")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .doc("Returns the value of a field in a hash.", "2.0.0"),
    CommandSpec::new("hmget", hmget_command, -3, READONLY | FAST, "hash")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .doc("Returns the values of all fields in a hash.", "2.0.0"),
    CommandSpec::new("hmset", hset_command, -4, WRITE | DENYOOM | FAST, "hash")
        .key_specs(&[KeySpec::at(1, RW | UPDATE)])
        .doc("Sets the values of multiple fields.", "2.0.0"),
    CommandSpec::new("hdel", hdel_command, -3, WRITE | FAST, "hash")
        .key_specs(&[KeySpec::at(1, RW | DELETE)])
        .doc(
            "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.",
            "2.0.0",
        ),
    CommandSpec::new("hlen", hlen_command, 2, READONLY | FAST, "hash")
        .key_specs(&[KeySpec::at(1, RO)])
        .doc("Returns the number of fields in a hash.", "2.0.0"),
    CommandSpec::new("hstrlen", hstrlen_command, 3, READONLY | FAST, "hash")
        .key_specs(&[KeySpec::at(1, RO)])
        .doc("Returns the length of the value of a field.", "3.2.0"),
    CommandSpec::new("hexists", hexists_command, 3, READONLY | FAST, "hash")
        .key_specs(&[KeySpec::at(1, RO)])
        .doc("Determines whether a field exists in a hash.", "2.0.0"),
    CommandSpec::new("hkeys", hkeys_command, 2, READONLY, "hash")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .tips(&["nondeterministic_output_order"])
        .doc("Returns all fields in a hash.", "2.0.0"),
    CommandSpec::new("hvals", hvals_command, 2, READONLY, "hash")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .tips(&["nondeterministic_output_order"])
        .doc("Returns all values in a hash.", "2.0.0"),
    CommandSpec::new("hgetall", hgetall_command, 2, READONLY, "hash")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .tips(&["nondeterministic_output_order"])
        .doc("Returns all fields and values in a hash.", "2.0.0"),
    CommandSpec::new("hincrby", hincrby_command, 4, WRITE | DENYOOM | FAST, "hash")
        .key_specs(&[KeySpec::at(1, RW | ACCESS | UPDATE)])
        .doc(
            "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist.",
            "2.0.0",
        ),
    CommandSpec::new(
        "hincrbyfloat",
        hincrbyfloat_command,
        4,
        WRITE | DENYOOM | FAST,
        "hash",
    )
    .key_specs(&[KeySpec::at(1, RW | ACCESS | UPDATE)])
    .doc(
        "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist.",
        "2.6.0",
    ),
    CommandSpec::new("hrandfield", hrandfield_command, -2, READONLY, "hash")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .tips(&["nondeterministic_output"])
        .doc("Returns one or more random fields from a hash.", "6.2.0"),
    CommandSpec::new("hscan", hscan_command, -3, READONLY, "hash")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .tips(&["nondeterministic_output"])
        .doc("Iterates over fields and values of a hash.", "2.8.0"),
];

/// The listpack limits currently configured.
fn limits(ctx: &Ctx) -> Limits {
    Limits {
        max_entries: ctx.srv.config.hash_max_listpack_entries,
        max_value: ctx.srv.config.hash_max_listpack_value,
    }
}

/// The hash at `key` for reading; `WRONGTYPE` if the key holds something else.
fn hash_for_read<'d>(
    db: &'d mut Db,
    key: &[u8],
    now: Ms,
) -> Result<Option<&'d Hash>, CommandError> {
    Ok(db.lookup_read_as(key, now)?)
}

/// The hash at `key` for writing, if it exists; `WRONGTYPE` if the key holds something else.
fn hash_for_write<'d>(
    db: &'d mut Db,
    key: &[u8],
    now: Ms,
) -> Result<Option<&'d mut Hash>, CommandError> {
    Ok(db.lookup_write_as(key, now)?)
}

/// The hash at `key`, created empty if the key does not exist (Redis:
/// `hashTypeLookupWriteOrCreate`).
fn hash_for_write_or_create<'d>(
    db: &'d mut Db,
    key: &[u8],
    now: Ms,
) -> Result<&'d mut Hash, CommandError> {
    Ok(db.lookup_write_or_create(key, now, || Value::Hash(Hash::new()))?)
}

/// HSET key field value [field value ...] — the number of fields added.
/// HMSET key field value [field value ...] — OK. (One function, as in Redis.)
fn hset_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    if !argv.len().is_multiple_of(2) {
        let name = if args::is(argv[0], "hmset") {
            "hmset"
        } else {
            "hset"
        };
        return Err(CommandError::WrongArity(name.into()));
    }
    let limits = limits(ctx);
    let key = argv[1];
    let hash = hash_for_write_or_create(&mut ctx.dbs[ctx.db], key, ctx.now)?;
    let mut created = 0;
    for pair in argv[2..].chunks_exact(2) {
        if hash.set(pair[0], pair[1], limits) {
            created += 1;
        }
    }
    if args::is(argv[0], "hmset") {
        ctx.out.ok();
    } else {
        ctx.out.integer(created);
    }
    ctx.srv.dirty += (argv.len() as u64 - 2) / 2;
    signal_modified_key(ctx, key);
    notify(ctx, NOTIFY_HASH, "hset", key);
    Ok(())
}

/// HSETNX key field value — 1 if the field was set, 0 if it already existed.
fn hsetnx_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let limits = limits(ctx);
    let (key, field, value) = (argv[1], argv[2], argv[3]);
    let hash = hash_for_write_or_create(&mut ctx.dbs[ctx.db], key, ctx.now)?;
    if hash.contains(field) {
        ctx.out.integer(0);
        return Ok(());
    }
    hash.set(field, value, limits);
    ctx.out.integer(1);
    ctx.srv.dirty += 1;
    signal_modified_key(ctx, key);
    notify(ctx, NOTIFY_HASH, "hset", key);
    Ok(())
}

/// HGET key field — the value, or null.
fn hget_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    match hash_for_read(&mut ctx.dbs[ctx.db], argv[1], ctx.now)?.and_then(|h| h.get(argv[2])) {
        Some(v) => ctx.out.bulk(v),
        None => ctx.out.null(),
    }
    Ok(())
}

/// HMGET key field [field ...] — an array of values, null for each missing field.
fn hmget_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let hash = hash_for_read(&mut ctx.dbs[ctx.db], argv[1], ctx.now)?;
    ctx.out.array_len(argv.len() - 2);
    for field in &argv[2..] {
        match hash.and_then(|h| h.get(field)) {
            Some(v) => ctx.out.bulk(v),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

/// HDEL key field [field ...] — the number of fields removed.
fn hdel_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let key = argv[1];
    let Some(hash) = hash_for_write(&mut ctx.dbs[ctx.db], key, ctx.now)? else {
        ctx.out.integer(0);
        return Ok(());
    };
    let mut deleted = 0;
    for field in &argv[2..] {
        if hash.remove(field) {
            deleted += 1;
            if hash.is_empty() {
                break;
            }
        }
    }
    ctx.out.integer(deleted);
    if deleted > 0 {
        ctx.srv.dirty += deleted as u64;
        signal_modified_key(ctx, key);
        notify(ctx, NOTIFY_HASH, "hdel", key);
        delete_if_empty(ctx, key);
    }
    Ok(())
}

/// HLEN key — the number of fields (0 for a missing key).
fn hlen_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let n = hash_for_read(&mut ctx.dbs[ctx.db], argv[1], ctx.now)?.map_or(0, |h| h.len());
    ctx.out.integer(n as i64);
    Ok(())
}

/// HSTRLEN key field — the length of the value (0 if missing).
fn hstrlen_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let n = hash_for_read(&mut ctx.dbs[ctx.db], argv[1], ctx.now)?
        .and_then(|h| h.get(argv[2]))
        .map_or(0, |v| v.len());
    ctx.out.integer(n as i64);
    Ok(())
}

/// HEXISTS key field — 1 if the field exists, else 0.
fn hexists_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let exists =
        hash_for_read(&mut ctx.dbs[ctx.db], argv[1], ctx.now)?.is_some_and(|h| h.contains(argv[2]));
    ctx.out.integer(exists as i64);
    Ok(())
}

/// What HKEYS / HVALS / HGETALL include.
#[derive(Clone, Copy, PartialEq)]
enum GetAll {
    Keys,
    Values,
    Both,
}

/// The one implementation behind HKEYS, HVALS and HGETALL (Redis: `genericHgetallCommand`).
/// HGETALL replies with a map (flat array in RESP2); the others with an array.
fn hgetall_generic(ctx: &mut Ctx, key: &[u8], what: GetAll) -> CommandResult {
    let hash = hash_for_read(&mut ctx.dbs[ctx.db], key, ctx.now)?;
    let n = hash.map_or(0, |h| h.len());
    if what == GetAll::Both {
        ctx.out.map_len(n);
    } else {
        ctx.out.array_len(n);
    }
    for (field, value) in hash.into_iter().flat_map(|h| h.iter()) {
        if what != GetAll::Values {
            ctx.out.bulk(field);
        }
        if what != GetAll::Keys {
            ctx.out.bulk(value);
        }
    }
    Ok(())
}

/// HKEYS key — every field.
fn hkeys_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    hgetall_generic(ctx, argv[1], GetAll::Keys)
}

/// HVALS key — every value.
fn hvals_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    hgetall_generic(ctx, argv[1], GetAll::Values)
}

/// HGETALL key — a map of every field to its value.
fn hgetall_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    hgetall_generic(ctx, argv[1], GetAll::Both)
}

/// HINCRBY key field increment — the new value. The field starts at 0 if missing.
fn hincrby_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let incr = args::int(argv[3])?;
    let limits = limits(ctx);
    let (key, field) = (argv[1], argv[2]);
    let hash = hash_for_write_or_create(&mut ctx.dbs[ctx.db], key, ctx.now)?;
    let current = match hash.get(field) {
        Some(v) => parse_i64(v).ok_or(CommandError::Err("hash value is not an integer"))?,
        None => 0,
    };
    let Some(new) = current.checked_add(incr) else {
        // Unreachable for a hash created by this command (0 + incr cannot overflow), but an
        // error must never leave an empty key behind, so the invariant is kept explicitly.
        delete_if_empty(ctx, key);
        return Err(CommandError::IncrOverflow);
    };
    let mut buf = [0u8; I64_BUF];
    hash.set(field, write_i64(new, &mut buf), limits);
    ctx.out.integer(new);
    ctx.srv.dirty += 1;
    signal_modified_key(ctx, key);
    notify(ctx, NOTIFY_HASH, "hincrby", key);
    Ok(())
}

/// HINCRBYFLOAT key field increment — the new value as a bulk string, formatted like
/// INCRBYFLOAT (no exponent, no trailing zeros) and computed like it in C `long double` (see
/// `util::LongDouble`). Unlike INCRBYFLOAT, Redis parses the increment before it looks the
/// key up, and refuses an infinite increment with its own message.
fn hincrbyfloat_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let incr = LongDouble::parse(argv[3]).ok_or(CommandError::NotFloat)?;
    if !incr.is_finite() {
        return Err(CommandError::Err("value is NaN or Infinity"));
    }
    let limits = limits(ctx);
    let (key, field) = (argv[1], argv[2]);
    let hash = hash_for_write_or_create(&mut ctx.dbs[ctx.db], key, ctx.now)?;
    let current = match hash.get(field) {
        Some(v) => LongDouble::parse(v).ok_or(CommandError::Err("hash value is not a float"))?,
        None => LongDouble::ZERO,
    };
    let new = current + incr;
    if !new.is_finite() {
        delete_if_empty(ctx, key);
        return Err(CommandError::Err("increment would produce NaN or Infinity"));
    }
    let text = new.to_human_string();
    hash.set(field, text.as_bytes(), limits);
    ctx.out.bulk(text.as_bytes());
    ctx.srv.dirty += 1;
    // The result, not the increment: replicas must not redo the float arithmetic.
    propagate::rewrite(ctx, || {
        let value = text.as_bytes().to_vec();
        vec![b"HSET".to_vec(), key.to_vec(), field.to_vec(), value]
    });
    signal_modified_key(ctx, key);
    notify(ctx, NOTIFY_HASH, "hincrbyfloat", key);
    Ok(())
}

/// A count argument of HRANDFIELD / SRANDMEMBER: any i64 except i64::MIN, whose absolute value
/// would not fit (Redis: `getRangeLongFromObjectOrReply(-LONG_MAX, LONG_MAX)`).
pub(crate) fn random_count(arg: &[u8]) -> Result<i64, CommandError> {
    let n = args::int(arg)?;
    if n == i64::MIN {
        return Err(CommandError::Err(
            "value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    Ok(n)
}

/// HRANDFIELD key [count [WITHVALUES]] — without count, one random field (or null). With a
/// positive count, up to `count` *distinct* fields; with a negative one, exactly `-count`
/// fields that may repeat. WITHVALUES interleaves values (RESP2) or replies with [field, value]
/// pairs (RESP3).
fn hrandfield_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let mut count = None;
    let mut with_values = false;
    if argv.len() >= 3 {
        let n = random_count(argv[2])?;
        if argv.len() > 4 || (argv.len() == 4 && !args::is(argv[3], "WITHVALUES")) {
            return Err(CommandError::Syntax);
        }
        if argv.len() == 4 {
            with_values = true;
            // The reply would have 2*count elements.
            if !(-i64::MAX / 2..=i64::MAX / 2).contains(&n) {
                return Err(CommandError::Err("value is out of range"));
            }
        }
        count = Some(n);
    }
    let db = &mut ctx.dbs[ctx.db];
    let hash = hash_for_read(db, argv[1], ctx.now)?;
    let rng = &mut ctx.srv.rng;
    let out = &mut *ctx.out;
    let Some(count) = count else {
        match hash.and_then(|h| h.random_pair(rng)) {
            Some((field, _)) => out.bulk(field),
            None => out.null(),
        }
        return Ok(());
    };
    let Some(hash) = hash else {
        out.empty_array();
        return Ok(());
    };
    let resp3 = out.is_resp3();
    let emit = |out: &mut crate::resp::reply::ReplyBuffer, (f, v): (&[u8], &[u8])| {
        if with_values && resp3 {
            out.array_len(2);
        }
        out.bulk(f);
        if with_values {
            out.bulk(v);
        }
    };
    let header = |out: &mut crate::resp::reply::ReplyBuffer, n: usize| {
        out.array_len(if with_values && !resp3 { 2 * n } else { n });
    };
    if count < 0 {
        // May repeat: `-count` independent uniform picks.
        let n = count.unsigned_abs() as usize;
        header(out, n);
        for _ in 0..n {
            if let Some(pair) = hash.random_pair(rng) {
                emit(out, pair);
            }
        }
    } else if count as usize >= hash.len() {
        // The whole hash, in its own order.
        header(out, hash.len());
        for pair in hash.iter() {
            emit(out, pair);
        }
    } else {
        // `count` distinct positions, chosen uniformly.
        let picks = hash.sample_positions(rng, count as usize);
        header(out, picks.len());
        for pair in hash.pairs_at(picks) {
            emit(out, pair);
        }
    }
    Ok(())
}

/// HSCAN key cursor [MATCH pattern] [COUNT count] — `[next cursor, [field, value, ...]]`.
/// A listpack-encoded hash is returned whole with cursor 0, as Redis does.
fn hscan_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let cursor = parse_scan_cursor(argv[2])?;
    let Some(hash) = hash_for_read(&mut ctx.dbs[ctx.db], argv[1], ctx.now)? else {
        reply_scan(ctx.out, 0, &[]);
        return Ok(());
    };
    let opts = ScanOptions::parse(argv, 3, false)?;
    let mut items: Vec<&[u8]> = Vec::new();
    let next = hash.scan(cursor, opts.count, |f, v| {
        if opts.matches(f) {
            items.push(f);
            items.push(v);
        }
    });
    reply_scan(ctx.out, next, &items);
    Ok(())
}
