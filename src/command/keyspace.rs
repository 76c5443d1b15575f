//! Generic keyspace commands: commands that work on a key whatever type it holds — DEL, TYPE,
//! SCAN, RENAME, COPY, MOVE, the EXPIRE family, OBJECT, MEMORY, FLUSHDB/FLUSHALL, SWAPDB
//! (Redis: `db.c`, `expire.c`, `object.c`).
//!
//! None of these look inside a value: they move whole [`Object`]s between keys and databases,
//! read and write the `expires` table, and ask a [`Value`] only for its `type_name`,
//! `encoding_name` and `heap_size`. A new data type therefore works with all of them for free.
//!
//! Every write follows the same epilogue as in Redis: `dirty += 1`, `signal_modified_key`
//! (WATCH), then the keyspace event with Redis's exact name (`del`, `expire`, `rename_from` /
//! `rename_to`, `copy_to`, `move_from` / `move_to`, `persist`).
//!
//! Two pieces serve the type families too: [`delete_if_empty`], and the SCAN family's cursor
//! and option parsing and reply ([`parse_scan_cursor`], [`ScanOptions`], [`reply_scan`]), used
//! by HSCAN, SSCAN and ZSCAN as Redis's `scanGenericCommand` serves all four.

use super::args;
use super::blocked as blocking;
use super::blocked;
use super::error::{CommandError, CommandResult};
use super::keyspec::{key_flags::*, KeySpec};
use super::notify::NOTIFY_GENERIC;
use super::propagate;
use super::table::{flags::*, CommandSpec};
use super::{multi, notify, signal_modified_key, Ctx};
use crate::db::value::{Object, Value};
use crate::db::{Db, Ms};
use crate::util::{glob_match, parse_i64};

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("del", del_command, -2, WRITE, "generic")
        .key_specs(&[KeySpec::at(1, RM | DELETE).range(-1, 1, 0)])
        .tips(&["request_policy:multi_shard", "response_policy:agg_sum"])
        .doc("Deletes one or more keys.", "1.0.0"),
    // Seed alias: DELETE is DEL under another name.
    CommandSpec::new("delete", del_command, -2, WRITE, "generic")
        .key_specs(&[KeySpec::at(1, RM | DELETE).range(-1, 1, 0)])
        .tips(&["request_policy:multi_shard", "response_policy:agg_sum"])
        .doc("Deletes one or more keys (alias of DEL).", "1.0.0"),
    CommandSpec::new("unlink", unlink_command, -2, WRITE | FAST, "generic")
        .key_specs(&[KeySpec::at(1, RM | DELETE).range(-1, 1, 0)])
        .tips(&["request_policy:multi_shard", "response_policy:agg_sum"])
        .doc(
            "Asynchronously deletes one or more keys.",
            "4.0.0",
        ),
    CommandSpec::new("exists", exists_command, -2, READONLY | FAST, "generic")
        .key_specs(&[KeySpec::at(1, RO).range(-1, 1, 0)])
        .tips(&["request_policy:multi_shard", "response_policy:agg_sum"])
        .doc("Determines whether one or more keys exist.", "1.0.0"),
    CommandSpec::new("dbsize", dbsize_command, 1, READONLY | FAST, "server")
        .tips(&["request_policy:all_shards", "response_policy:agg_sum"])
        .acl(&["@keyspace"])
        .doc("Returns the number of keys in the database.", "1.0.0"),
    CommandSpec::new("type", type_command, 2, READONLY | FAST, "generic")
        .key_specs(&[KeySpec::at(1, RO)])
        .doc("Determines the type of value stored at a key.", "1.0.0"),
    CommandSpec::new("keys", keys_command, 2, READONLY, "generic")
        .tips(&["request_policy:all_shards", "nondeterministic_output_order"])
        .acl(&["@dangerous", "@keyspace"])
        .doc("Returns all key names that match a pattern.", "1.0.0"),
    CommandSpec::new("scan", scan_command, -2, READONLY | TOUCHES_ARBITRARY_KEYS, "generic")
        .tips(&["nondeterministic_output", "request_policy:special"])
        .doc("Iterates over the key names in the database.", "2.8.0"),
    CommandSpec::new("randomkey", randomkey_command, 1, READONLY | TOUCHES_ARBITRARY_KEYS, "generic")
        .tips(&["request_policy:all_shards", "nondeterministic_output"])
        .doc("Returns a random key name from the database.", "1.0.0"),
    CommandSpec::new("rename", rename_command, 3, WRITE, "generic")
        .key_specs(&[KeySpec::at(1, RW | ACCESS | DELETE), KeySpec::at(2, OW | UPDATE)])
        .doc("Renames a key and overwrites the destination.", "1.0.0"),
    CommandSpec::new("renamenx", renamenx_command, 3, WRITE | FAST, "generic")
        .key_specs(&[KeySpec::at(1, RW | ACCESS | DELETE), KeySpec::at(2, OW | INSERT)])
        .doc(
            "Renames a key only when the target key name doesn't exist.",
            "1.0.0",
        ),
    CommandSpec::new("copy", copy_command, -3, WRITE | DENYOOM, "generic")
        .key_specs(&[KeySpec::at(1, RO | ACCESS), KeySpec::at(2, OW | UPDATE)])
        .doc("Copies the value of a key to a new key.", "6.2.0"),
    CommandSpec::new("move", move_command, 3, WRITE | FAST, "generic")
        .key_specs(&[KeySpec::at(1, RW | ACCESS | UPDATE)])
        .doc("Moves a key to another database.", "1.0.0"),
    CommandSpec::new("swapdb", swapdb_command, 3, WRITE | FAST, "server")
        .acl(&["@dangerous", "@keyspace"])
        .doc("Swaps two Redis databases.", "4.0.0"),
    CommandSpec::new("flushdb", flushdb_command, -1, WRITE, "server")
        .tips(&["request_policy:all_shards", "response_policy:all_succeeded"])
        .acl(&["@dangerous", "@keyspace"])
        .doc("Remove all keys from the current database.", "1.0.0"),
    // Seed alias: FLUSH is FLUSHDB under another name.
    CommandSpec::new("flush", flushdb_command, -1, WRITE, "server")
        .tips(&["request_policy:all_shards", "response_policy:all_succeeded"])
        .acl(&["@dangerous", "@keyspace"])
        .doc(
        "Remove all keys from the current database (alias of FLUSHDB).",
        "1.0.0",
    ),
    CommandSpec::new("flushall", flushall_command, -1, WRITE, "server")
        .tips(&["request_policy:all_shards", "response_policy:all_succeeded"])
        .acl(&["@dangerous", "@keyspace"])
        .doc("Removes all keys from all databases.", "1.0.0"),
    CommandSpec::new("expire", expire_command, -3, WRITE | FAST, "generic")
        .key_specs(&[KeySpec::at(1, RW | UPDATE)])
        .doc(
            "Sets the expiration time of a key in seconds.",
            "1.0.0",
        ),
    CommandSpec::new("pexpire", pexpire_command, -3, WRITE | FAST, "generic")
        .key_specs(&[KeySpec::at(1, RW | UPDATE)])
        .doc(
            "Sets the expiration time of a key in milliseconds.",
            "2.6.0",
        ),
    CommandSpec::new("expireat", expireat_command, -3, WRITE | FAST, "generic")
        .key_specs(&[KeySpec::at(1, RW | UPDATE)])
        .doc(
            "Sets the expiration time of a key to a Unix timestamp.",
            "1.2.0",
        ),
    CommandSpec::new("pexpireat", pexpireat_command, -3, WRITE | FAST, "generic")
        .key_specs(&[KeySpec::at(1, RW | UPDATE)])
        .doc(
            "Sets the expiration time of a key to a Unix milliseconds timestamp.",
            "2.6.0",
        ),
    CommandSpec::new("ttl", ttl_command, 2, READONLY | FAST, "generic")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .tips(&["nondeterministic_output"])
        .doc("Returns the expiration time in seconds of a key.", "1.0.0"),
    CommandSpec::new("pttl", pttl_command, 2, READONLY | FAST, "generic")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .tips(&["nondeterministic_output"])
        .doc("Returns the expiration time in milliseconds of a key.", "2.6.0"),
    CommandSpec::new("expiretime", expiretime_command, 2, READONLY | FAST, "generic")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .doc("Returns the expiration time of a key as a Unix timestamp.", "7.0.0"),
    CommandSpec::new(
        "pexpiretime",
        pexpiretime_command,
        2,
        READONLY | FAST,
        "generic",
    )
    .key_specs(&[KeySpec::at(1, RO | ACCESS)])
    .doc(
        "Returns the expiration time of a key as a Unix milliseconds timestamp.",
        "7.0.0",
    ),
    CommandSpec::new("persist", persist_command, 2, WRITE | FAST, "generic")
        .key_specs(&[KeySpec::at(1, RW | UPDATE)])
        .doc("Removes the expiration time of a key.", "2.2.0"),
    CommandSpec::new("touch", touch_command, -2, READONLY | FAST, "generic")
        .key_specs(&[KeySpec::at(1, RO).range(-1, 1, 0)])
        .tips(&["request_policy:multi_shard", "response_policy:agg_sum"])
        .doc(
            "Returns the number of existing keys out of those specified after updating the time they were last accessed.",
            "3.2.1",
        ),
    CommandSpec::new("object", container_command, -2, 0, "generic")
        .subs(OBJECT_SUBCOMMANDS)
        .doc("A container for object introspection commands.", "2.2.3"),
    CommandSpec::new("memory", container_command, -2, 0, "server")
        .subs(MEMORY_SUBCOMMANDS)
        .doc("A container for memory diagnostics commands.", "4.0.0"),
];

const OBJECT_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "object|encoding",
        object_encoding_command,
        3,
        READONLY,
        "generic",
    )
    .key_specs(&[KeySpec::at(2, RO)])
    .tips(&["nondeterministic_output"])
    .doc("Returns the internal encoding of a Redis object.", "2.2.3"),
    CommandSpec::new(
        "object|refcount",
        object_refcount_command,
        3,
        READONLY,
        "generic",
    )
    .key_specs(&[KeySpec::at(2, RO)])
    .tips(&["nondeterministic_output"])
    .doc("Returns the reference count of a value of a key.", "2.2.3"),
    CommandSpec::new(
        "object|idletime",
        object_idletime_command,
        3,
        READONLY,
        "generic",
    )
    .key_specs(&[KeySpec::at(2, RO)])
    .tips(&["nondeterministic_output"])
    .doc(
        "Returns the time since the last access to a Redis object.",
        "2.2.3",
    ),
    CommandSpec::new("object|freq", object_freq_command, 3, READONLY, "generic")
        .key_specs(&[KeySpec::at(2, RO)])
        .tips(&["nondeterministic_output"])
        .doc(
            "Returns the logarithmic access frequency counter of a Redis object.",
            "4.0.0",
        ),
    CommandSpec::new(
        "object|help",
        object_help_command,
        2,
        LOADING | STALE,
        "generic",
    )
    .doc(
        "Returns helpful text about the different subcommands.",
        "6.2.0",
    ),
];

const MEMORY_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("memory|usage", memory_usage_command, -3, READONLY, "server")
        .key_specs(&[KeySpec::at(2, RO)])
        .doc("Estimates the memory usage of a key.", "4.0.0"),
    CommandSpec::new(
        "memory|doctor",
        super::memory::memory_doctor_command,
        2,
        0,
        "server",
    )
    .tips(&[
        "nondeterministic_output",
        "request_policy:all_shards",
        "response_policy:special",
    ])
    .doc("Outputs a memory problems report.", "4.0.0"),
    CommandSpec::new(
        "memory|stats",
        super::memory::memory_stats_command,
        2,
        0,
        "server",
    )
    .tips(&[
        "nondeterministic_output",
        "request_policy:all_shards",
        "response_policy:special",
    ])
    .doc("Returns details about memory usage.", "4.0.0"),
    CommandSpec::new(
        "memory|malloc-stats",
        super::memory::memory_malloc_stats_command,
        2,
        0,
        "server",
    )
    .tips(&[
        "nondeterministic_output",
        "request_policy:all_shards",
        "response_policy:special",
    ])
    .doc("Returns the allocator statistics.", "4.0.0"),
    CommandSpec::new(
        "memory|purge",
        super::memory::memory_purge_command,
        2,
        0,
        "server",
    )
    .tips(&["request_policy:all_shards", "response_policy:all_succeeded"])
    .doc("Asks the allocator to release memory.", "4.0.0"),
    CommandSpec::new(
        "memory|help",
        memory_help_command,
        2,
        LOADING | STALE,
        "server",
    )
    .doc(
        "Returns helpful text about the different subcommands.",
        "4.0.0",
    ),
];

/// The row of a container command itself never runs: `execute` always resolves a subcommand
/// first (and answers an unknown one with `unknown subcommand`).
fn container_command(_ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    Err(CommandError::WrongArity(args::text(argv[0]).to_lowercase()))
}

// ---------------------------------------------------------------------------------------------
// Deleting and inspecting keys
// ---------------------------------------------------------------------------------------------

/// DEL key [key ...] (and the seed alias DELETE) — the number of keys removed.
fn del_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let lazy = ctx.srv.config.lazyfree_lazy_user_del;
    del_generic(ctx, argv, lazy)
}

/// UNLINK key [key ...] — like DEL, but a big value's memory is reclaimed later, a slice per
/// event-loop turn, instead of inside the command (see `db::lazyfree`).
fn unlink_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    del_generic(ctx, argv, true)
}

/// DEL and UNLINK (Redis: `delGenericCommand`).
fn del_generic(ctx: &mut Ctx, argv: &[&[u8]], lazy: bool) -> CommandResult {
    let mut removed = 0;
    for key in &argv[1..] {
        let db = &mut ctx.dbs[ctx.db];
        db.expire_if_needed(key, ctx.now);
        if let Some(value) = db.remove(key) {
            if lazy {
                ctx.srv.lazyfree.free_value(value);
            }
            removed += 1;
            ctx.srv.dirty += 1;
            signal_modified_key(ctx, key);
            notify(ctx, NOTIFY_GENERIC, "del", key);
        }
    }
    ctx.out.integer(removed);
    Ok(())
}

/// Deletes `key` if the command that just removed elements from it left an empty list, hash,
/// set or sorted set, with the `del` event; returns whether it did. Every type's commands
/// end this way in Redis (`if (hashTypeLength(o) == 0) { dbDelete(..);
/// notifyKeyspaceEvent(NOTIFY_GENERIC,"del",..); }` and its list/set/zset twins).
pub fn delete_if_empty(ctx: &mut Ctx, key: &[u8]) -> bool {
    let db = &mut ctx.dbs[ctx.db];
    let empty = db
        .dict
        .get(key)
        .is_some_and(|obj| obj.value.is_empty_collection());
    if empty {
        db.remove(key);
        notify(ctx, NOTIFY_GENERIC, "del", key);
    }
    empty
}

/// EXISTS key [key ...] — how many of the keys exist (a key named twice counts twice).
fn exists_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let db = &mut ctx.dbs[ctx.db];
    let n = argv[1..].iter().filter(|k| db.exists(k, ctx.now)).count();
    ctx.out.integer(n as i64);
    Ok(())
}

/// DBSIZE — the number of keys in the selected database.
fn dbsize_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    let n = ctx.dbs[ctx.db].len();
    ctx.out.integer(n as i64);
    Ok(())
}

/// TYPE key — `string`, `list`, `set`, `zset`, `hash`, or `none` (status reply).
fn type_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let db = &mut ctx.dbs[ctx.db];
    let name = db
        .lookup_read(argv[1], ctx.now, false)
        .map_or("none", |obj| obj.value.type_name());
    ctx.out.simple(name);
    Ok(())
}

/// TOUCH key [key ...] — how many of the keys exist; refreshes their access time.
fn touch_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let db = &mut ctx.dbs[ctx.db];
    let n = argv[1..]
        .iter()
        .filter(|k| db.lookup_read(k, ctx.now, true).is_some())
        .count();
    ctx.out.integer(n as i64);
    Ok(())
}

/// KEYS pattern — every key matching the glob pattern. O(N): SCAN is the incremental way.
/// Logically expired keys are skipped but not deleted, as in Redis.
fn keys_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let pattern = argv[1];
    let all = pattern == b"*";
    let db = &ctx.dbs[ctx.db];
    let now = ctx.now;
    let at = ctx.out.deferred_len();
    let mut n = 0;
    for key in db.dict.keys() {
        if (all || glob_match(pattern, key, false)) && !is_expired(db, key, now) {
            ctx.out.bulk(key);
            n += 1;
        }
    }
    ctx.out.set_deferred_len(at, b'*', n);
    Ok(())
}

/// Has `key`'s TTL passed? (Redis: `keyIsExpired`; does not delete.)
fn is_expired(db: &Db, key: &[u8], now: Ms) -> bool {
    db.get_expire(key).is_some_and(|when| when < now)
}

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type] — `[next cursor, [key ...]]`; the
/// iteration is complete when the cursor returned is `0`.
///
/// The cursor is a slot number of the keyspace [`Dict`](crate::types::dict::Dict), walked from
/// the top down (see its module docs for why that keeps SCAN's guarantee: every key present
/// for the whole iteration is returned at least once). COUNT is the number of slots visited
/// per call, so a call may return fewer keys than COUNT once MATCH/TYPE filter them.
fn scan_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let cursor = parse_scan_cursor(argv[1])?;
    let opts = ScanOptions::parse(argv, 2, true)?;
    let now = ctx.now;
    let db = &mut ctx.dbs[ctx.db];
    let mut keys = Vec::new();
    let next = db.dict.scan(cursor, opts.count, |key, obj| {
        let matches = opts.matches(key)
            && opts
                .type_name
                .is_none_or(|t| t.eq_ignore_ascii_case(obj.value.type_name().as_bytes()));
        if matches {
            keys.push(key.clone());
        }
    });
    // Expired keys are deleted now rather than returned. Deleting moves the *last* slot into
    // the hole, and every slot from the hole upwards has been visited already, so this cannot
    // make the rest of the iteration skip a key.
    keys.retain(|key| !db.expire_if_needed(key, now));
    let refs: Vec<&[u8]> = keys.iter().map(|k| k.as_bytes()).collect();
    reply_scan(ctx.out, next, &refs);
    Ok(())
}

/// Parses a SCAN-family cursor exactly as Redis's `strtoul` call does
/// (`parseScanCursorOrReply`): the argument is read as a C string (it ends at a NUL byte); no
/// leading space; an optional sign (a negative cursor wraps around); decimal digits (leading
/// zeros fine) up to the end; no overflow. With no digits at all `strtoul` reads nothing, so
/// only an empty string passes, as cursor 0.
pub(crate) fn parse_scan_cursor(arg: &[u8]) -> Result<u64, CommandError> {
    let invalid = || CommandError::Err("invalid cursor");
    let c_string = arg.split(|&b| b == 0).next().unwrap_or_default();
    if c_string.is_empty() {
        return Ok(0);
    }
    let (negative, digits) = match c_string {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, c_string),
    };
    // `isspace` covers the first byte; a space after a sign is simply not a digit.
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(invalid());
    }
    let mut n: u64 = 0;
    for &d in digits {
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(d - b'0')))
            .ok_or_else(invalid)?;
    }
    Ok(if negative { n.wrapping_neg() } else { n })
}

/// The MATCH / COUNT options of the SCAN family, and TYPE for SCAN itself.
pub(crate) struct ScanOptions<'a> {
    pub pattern: Option<&'a [u8]>,
    pub count: usize,
    pub type_name: Option<&'a [u8]>,
}

impl ScanOptions<'_> {
    /// Parses the options starting at `argv[from]`; TYPE only when `keyspace` (SCAN, not
    /// HSCAN/SSCAN/ZSCAN). Redis: `scanGenericCommand`.
    pub(crate) fn parse<'a>(
        argv: &[&'a [u8]],
        from: usize,
        keyspace: bool,
    ) -> Result<ScanOptions<'a>, CommandError> {
        let mut opts = ScanOptions {
            pattern: None,
            count: 10,
            type_name: None,
        };
        let mut i = from;
        while i < argv.len() {
            let value = argv.get(i + 1).ok_or(CommandError::Syntax)?;
            if args::is(argv[i], "COUNT") {
                let n = args::int(value)?;
                if n < 1 {
                    return Err(CommandError::Syntax);
                }
                opts.count = n as usize;
            } else if args::is(argv[i], "MATCH") {
                // "*" matches everything: skip the matching work, as Redis does.
                opts.pattern = (*value != b"*").then_some(*value);
            } else if keyspace && args::is(argv[i], "TYPE") {
                opts.type_name = Some(*value);
            } else {
                return Err(CommandError::Syntax);
            }
            i += 2;
        }
        Ok(opts)
    }

    pub(crate) fn matches(&self, s: &[u8]) -> bool {
        self.pattern.is_none_or(|p| glob_match(p, s, false))
    }
}

/// Writes a SCAN-family reply: `[cursor, [elements...]]`.
pub(crate) fn reply_scan(out: &mut crate::resp::reply::ReplyBuffer, cursor: u64, items: &[&[u8]]) {
    out.array_len(2);
    out.bulk_u64(cursor);
    out.array_len(items.len());
    for item in items {
        out.bulk(item);
    }
}

/// RANDOMKEY — a random key name, or null if the database is empty.
fn randomkey_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    let db = &mut ctx.dbs[ctx.db];
    match db.random_key(ctx.now, &mut ctx.srv.rng) {
        Some(key) => ctx.out.bulk(&key),
        None => ctx.out.null(),
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Renaming, copying and moving keys
// ---------------------------------------------------------------------------------------------

/// RENAME key newkey — OK; `newkey` is overwritten, the TTL travels with the value.
fn rename_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    rename_generic(ctx, argv[1], argv[2], false)
}

/// RENAMENX key newkey — 1 if renamed, 0 if `newkey` already exists.
fn renamenx_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    rename_generic(ctx, argv[1], argv[2], true)
}

/// RENAME and RENAMENX (Redis: `renameGenericCommand`).
fn rename_generic(ctx: &mut Ctx, from: &[u8], to: &[u8], nx: bool) -> CommandResult {
    let now = ctx.now;
    let db = &mut ctx.dbs[ctx.db];
    if db.lookup_write(from, now).is_none() {
        return Err(CommandError::NoSuchKey);
    }
    // Renaming a key to itself changes nothing, but still needs the key to exist.
    if from == to {
        if nx {
            ctx.out.integer(0);
        } else {
            ctx.out.ok();
        }
        return Ok(());
    }
    if db.lookup_write(to, now).is_some() {
        if nx {
            ctx.out.integer(0);
            return Ok(());
        }
        db.remove(to);
    }
    let mut blockable = false;
    if let Some((obj, ttl)) = db.take(from) {
        blockable = may_unblock(&obj.value);
        db.add_object(to, obj, ttl);
    }
    if blockable {
        blocking::signal_key_as_ready(ctx, ctx.db, to);
    }
    signal_modified_key(ctx, from);
    signal_modified_key(ctx, to);
    notify(ctx, NOTIFY_GENERIC, "rename_from", from);
    notify(ctx, NOTIFY_GENERIC, "rename_to", to);
    ctx.srv.dirty += 1;
    if nx {
        ctx.out.integer(1);
    } else {
        ctx.out.ok();
    }
    Ok(())
}

/// Can a value of this type serve a blocked client (BLPOP, BZPOPMIN, ...)? A key that
/// appears under a new name or in a new database with such a value must wake its waiters,
/// as Redis's `dbAdd` does with `signalKeyAsReady`.
fn may_unblock(value: &Value) -> bool {
    matches!(value, Value::List(_) | Value::ZSet(_) | Value::Stream(_))
}

/// After SWAPDB, a client blocked on a key of `db` may find that key now holds data: signal
/// every waited-for key that exists there with a type some waiter can take (Redis:
/// `scanDatabaseForReadyKeys`, which, like `dbAdd`, signals by the value's type and leaves a
/// string or set under the key unsignalled).
fn scan_database_for_ready_keys(ctx: &mut Ctx, db: usize) {
    for key in blocked::waited_keys(ctx, db) {
        if ctx.dbs[db]
            .dict
            .get(&key)
            .is_some_and(|o| may_unblock(&o.value))
        {
            blocking::signal_key_as_ready(ctx, db, &key);
        }
    }
}

/// A database index argument: `value is not an integer or out of range` if it is not an
/// `int`, `DB index is out of range` if no such database exists.
fn db_index(ctx: &Ctx, arg: &[u8]) -> Result<usize, CommandError> {
    let n = args::int(arg)?;
    if n < i32::MIN as i64 || n > i32::MAX as i64 {
        return Err(CommandError::NotInteger);
    }
    if n < 0 || n as usize >= ctx.dbs.len() {
        return Err(CommandError::Err("DB index is out of range"));
    }
    Ok(n as usize)
}

/// Two distinct databases borrowed mutably at once.
fn two_dbs(dbs: &mut [Db], a: usize, b: usize) -> (&mut Db, &mut Db) {
    debug_assert_ne!(a, b);
    if a < b {
        let (low, high) = dbs.split_at_mut(b);
        (&mut low[a], &mut high[0])
    } else {
        let (low, high) = dbs.split_at_mut(a);
        (&mut high[0], &mut low[b])
    }
}

/// COPY source destination [DB destination-db] [REPLACE] — 1 if copied, 0 if the source is
/// missing or the destination exists (without REPLACE). The copy is deep and keeps the TTL.
fn copy_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let (from, to) = (argv[1], argv[2]);
    let src = ctx.db;
    let mut dst = src;
    let mut replace = false;
    let mut i = 3;
    while i < argv.len() {
        if args::is(argv[i], "REPLACE") {
            replace = true;
        } else if args::is(argv[i], "DB") && i + 1 < argv.len() {
            dst = db_index(ctx, argv[i + 1])?;
            i += 1;
        } else {
            return Err(CommandError::Syntax);
        }
        i += 1;
    }
    if src == dst && from == to {
        return Err(CommandError::Err(
            "source and destination objects are the same",
        ));
    }
    let now = ctx.now;
    let (value, raw, ttl) = {
        let db = &mut ctx.dbs[src];
        match db.lookup_read(from, now, true) {
            None => {
                ctx.out.integer(0);
                return Ok(());
            }
            // The copy keeps a raw string raw (Redis: `dupStringObject`).
            Some(obj) => (obj.value.clone(), obj.raw, db.get_expire(from)),
        }
    };
    let target = &mut ctx.dbs[dst];
    if target.lookup_write(to, now).is_some() {
        if !replace {
            ctx.out.integer(0);
            return Ok(());
        }
        target.remove(to);
    }
    let blockable = may_unblock(&value);
    target.add(to, value, now).raw = raw;
    if let Some(when) = ttl {
        target.set_expire(to, when);
    }
    if blockable {
        blocking::signal_key_as_ready(ctx, dst, to);
    }
    multi::touch_watched_key(ctx, dst, to);
    super::notify::notify_keyspace_event(ctx, NOTIFY_GENERIC, "copy_to", to, dst);
    ctx.srv.dirty += 1;
    ctx.out.integer(1);
    Ok(())
}

/// MOVE key db — 1 if the key moved to database `db`, 0 if it is missing here or exists there.
fn move_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let key = argv[1];
    let src = ctx.db;
    let dst = db_index(ctx, argv[2])?;
    if src == dst {
        return Err(CommandError::Err(
            "source and destination objects are the same",
        ));
    }
    let now = ctx.now;
    let (from, to) = two_dbs(ctx.dbs, src, dst);
    if from.lookup_write(key, now).is_none() || to.lookup_write(key, now).is_some() {
        ctx.out.integer(0);
        return Ok(());
    }
    let mut blockable = false;
    if let Some((obj, ttl)) = from.take(key) {
        blockable = may_unblock(&obj.value);
        to.add_object(key, obj, ttl);
    }
    if blockable {
        blocking::signal_key_as_ready(ctx, dst, key);
    }
    multi::touch_watched_key(ctx, src, key);
    multi::touch_watched_key(ctx, dst, key);
    super::notify::notify_keyspace_event(ctx, NOTIFY_GENERIC, "move_from", key, src);
    super::notify::notify_keyspace_event(ctx, NOTIFY_GENERIC, "move_to", key, dst);
    ctx.srv.dirty += 1;
    ctx.out.integer(1);
    Ok(())
}

/// SWAPDB index1 index2 — OK; the two databases exchange their contents, so every client
/// connected to one now sees the other's keys.
fn swapdb_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let first = parse_i64(argv[1])
        .filter(|n| i32::try_from(*n).is_ok())
        .ok_or(CommandError::Err("invalid first DB index"))?;
    let second = parse_i64(argv[2])
        .filter(|n| i32::try_from(*n).is_ok())
        .ok_or(CommandError::Err("invalid second DB index"))?;
    let in_range = |n: i64| n >= 0 && (n as usize) < ctx.dbs.len();
    if !in_range(first) || !in_range(second) {
        return Err(CommandError::Err("DB index is out of range"));
    }
    let (a, b) = (first as usize, second as usize);
    if a != b {
        // Watchers are judged against the contents *before* the swap.
        multi::touch_watched_keys_on_swapdb(ctx, a, b);
        let (x, y) = two_dbs(ctx.dbs, a, b);
        x.swap_contents(y);
        scan_database_for_ready_keys(ctx, a);
        scan_database_for_ready_keys(ctx, b);
    }
    ctx.srv.dirty += 1;
    ctx.out.ok();
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Flushing
// ---------------------------------------------------------------------------------------------

/// The optional `ASYNC | SYNC` argument of FLUSHDB / FLUSHALL (Redis: `getFlushCommandFlags`):
/// whether to free the old contents lazily. Without it, `lazyfree-lazy-user-flush` decides.
fn parse_flush_flags(ctx: &Ctx, argv: &[&[u8]]) -> Result<bool, CommandError> {
    match argv.len() {
        1 => Ok(ctx.srv.config.lazyfree_lazy_user_flush),
        2 if args::is(argv[1], "SYNC") => Ok(false),
        2 if args::is(argv[1], "ASYNC") => Ok(true),
        _ => Err(CommandError::Syntax),
    }
}

/// Empties database `db`, invalidating WATCHes on its keys. With `lazy`, the old contents are
/// handed to the lazy-free queue (O(1) here) instead of being dropped inside the command.
/// Returns how many keys it held.
fn empty_db(ctx: &mut Ctx, db: usize, lazy: bool) -> u64 {
    // Redis's touchAllWatchedKeysInDb walks the watched keys, not the keyspace: O(watched).
    multi::touch_all_watched_keys_in_db(ctx, db);
    let old = ctx.dbs[db].flush();
    let n = old.len() as u64;
    if lazy {
        ctx.srv.lazyfree.free_entries(old);
    }
    n
}

/// FLUSHDB [ASYNC | SYNC] (and the seed alias FLUSH) — OK; removes every key of the selected
/// database. No per-key events fire, as in Redis.
fn flushdb_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let lazy = parse_flush_flags(ctx, argv)?;
    let removed = empty_db(ctx, ctx.db, lazy);
    super::tracking::invalidate_keys_on_flush(ctx);
    ctx.srv.dirty += removed;
    // Even when it removed nothing: a replica may hold keys the master does not.
    propagate::force(ctx);
    ctx.out.ok();
    Ok(())
}

/// FLUSHALL [ASYNC | SYNC] — OK; removes every key of every database.
fn flushall_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let lazy = parse_flush_flags(ctx, argv)?;
    let mut removed = 0;
    for db in 0..ctx.dbs.len() {
        removed += empty_db(ctx, db, lazy);
    }
    super::tracking::invalidate_keys_on_flush(ctx);
    ctx.srv.dirty += removed;
    propagate::force(ctx);
    // The running snapshot is stale now; with save points, the empty dataset is saved at once
    // (Redis: `flushAllDataAndResetRDB`).
    super::persistence::kill_bgsave_child(ctx);
    if !ctx.srv.config.save.is_empty() {
        let _ = super::persistence::save(ctx.dbs, ctx.srv, ctx.now);
    }
    ctx.out.ok();
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Expiry
// ---------------------------------------------------------------------------------------------

/// EXPIRE key seconds [NX | XX | GT | LT] — 1 if the timeout was set, 0 if the key is missing
/// or a condition failed. A time in the past deletes the key (and still replies 1).
fn expire_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let now = ctx.now;
    expire_generic(ctx, argv, now, 1000, "expire")
}

/// PEXPIRE key milliseconds [NX | XX | GT | LT] — as EXPIRE, in milliseconds.
fn pexpire_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let now = ctx.now;
    expire_generic(ctx, argv, now, 1, "pexpire")
}

/// EXPIREAT key unix-time-seconds [NX | XX | GT | LT] — as EXPIRE, with an absolute time.
fn expireat_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    expire_generic(ctx, argv, 0, 1000, "expireat")
}

/// PEXPIREAT key unix-time-milliseconds [NX | XX | GT | LT] — as EXPIREAT, in milliseconds.
fn pexpireat_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    expire_generic(ctx, argv, 0, 1, "pexpireat")
}

/// The conditions of the EXPIRE family.
#[derive(Default)]
struct ExpireFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

/// Parses `[NX | XX | GT | LT]` with Redis's errors (`parseExtendedExpireArgumentsOrReply`).
fn parse_expire_flags(argv: &[&[u8]]) -> Result<ExpireFlags, CommandError> {
    let mut f = ExpireFlags::default();
    for opt in argv {
        if args::is(opt, "NX") {
            f.nx = true;
        } else if args::is(opt, "XX") {
            f.xx = true;
        } else if args::is(opt, "GT") {
            f.gt = true;
        } else if args::is(opt, "LT") {
            f.lt = true;
        } else {
            return Err(CommandError::err(format!(
                "Unsupported option {}",
                args::text(opt)
            )));
        }
    }
    if f.nx && (f.xx || f.gt || f.lt) {
        return Err(CommandError::Err(
            "NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if f.gt && f.lt {
        return Err(CommandError::Err(
            "GT and LT options at the same time are not compatible",
        ));
    }
    Ok(f)
}

/// EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT (Redis: `expireGenericCommand`). `base` is added to
/// the argument (now for relative commands, 0 for absolute ones) after scaling by `unit_ms`.
/// Negative times are allowed: they mean "already expired".
fn expire_generic(
    ctx: &mut Ctx,
    argv: &[&[u8]],
    base: Ms,
    unit_ms: i64,
    cmd: &'static str,
) -> CommandResult {
    let key = argv[1];
    let flags = parse_expire_flags(&argv[3..])?;
    let when = args::int(argv[2])?
        .checked_mul(unit_ms)
        .and_then(|ms| ms.checked_add(base))
        .ok_or(CommandError::InvalidExpireTime(cmd))?;
    let now = ctx.now;
    let db = &mut ctx.dbs[ctx.db];
    if db.lookup_write(key, now).is_none() {
        ctx.out.integer(0);
        return Ok(());
    }
    let current = db.get_expire(key);
    // A key without a TTL counts as expiring at infinity: GT never passes, LT always does.
    let refused = (flags.nx && current.is_some())
        || (flags.xx && current.is_none())
        || (flags.gt && current.is_none_or(|c| when <= c))
        || (flags.lt && current.is_some_and(|c| when >= c));
    if refused {
        ctx.out.integer(0);
        return Ok(());
    }
    if super::check_already_expired(ctx.srv, now, when) {
        db.remove(key);
        ctx.srv.dirty += 1;
        let lazy = ctx.srv.config.lazyfree_lazy_expire;
        propagate::rewrite(ctx, || deletion_command(lazy, key));
        signal_modified_key(ctx, key);
        notify(ctx, NOTIFY_GENERIC, "del", key);
    } else {
        db.set_expire(key, when);
        ctx.srv.dirty += 1;
        // Replicas get the absolute time, in ms, whatever the form asked (flags kept).
        if cmd != "pexpireat" {
            propagate::rewrite(ctx, || {
                let mut rewritten = vec![b"PEXPIREAT".to_vec(), key.to_vec()];
                rewritten.push(when.to_string().into_bytes());
                rewritten.extend(argv[3..].iter().map(|a| a.to_vec()));
                rewritten
            });
        }
        signal_modified_key(ctx, key);
        notify(ctx, NOTIFY_GENERIC, "expire", key);
    }
    ctx.out.integer(1);
    Ok(())
}

/// `DEL key`, or `UNLINK key` when `lazy` (the `lazyfree-lazy-*` directive of the cause): how
/// a deletion the command did not name is propagated (an expired key, EXPIRE with a past time,
/// GETEX EXAT in the past, an evicted key).
pub fn deletion_command(lazy: bool, key: &[u8]) -> Vec<Vec<u8>> {
    let del: &[u8] = if lazy { b"UNLINK" } else { b"DEL" };
    vec![del.to_vec(), key.to_vec()]
}

/// TTL key — seconds left (rounded), -1 if the key has no TTL, -2 if it does not exist.
fn ttl_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    ttl_generic(ctx, argv[1], false, false)
}

/// PTTL key — milliseconds left, -1 if no TTL, -2 if missing.
fn pttl_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    ttl_generic(ctx, argv[1], true, false)
}

/// EXPIRETIME key — the absolute expiry as a Unix time in seconds, -1 / -2 as TTL.
fn expiretime_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    ttl_generic(ctx, argv[1], false, true)
}

/// PEXPIRETIME key — the absolute expiry as a Unix time in milliseconds, -1 / -2 as TTL.
fn pexpiretime_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    ttl_generic(ctx, argv[1], true, true)
}

/// TTL, PTTL, EXPIRETIME and PEXPIRETIME (Redis: `ttlGenericCommand`).
fn ttl_generic(ctx: &mut Ctx, key: &[u8], in_ms: bool, absolute: bool) -> CommandResult {
    let now = ctx.now;
    let db = &mut ctx.dbs[ctx.db];
    if db.lookup_read(key, now, false).is_none() {
        ctx.out.integer(-2);
        return Ok(());
    }
    let reply = match db.get_expire(key) {
        None => -1,
        Some(when) => {
            let ms = if absolute { when } else { (when - now).max(0) };
            if in_ms {
                ms
            } else {
                (ms + 500) / 1000
            }
        }
    };
    ctx.out.integer(reply);
    Ok(())
}

/// PERSIST key — 1 if a TTL was removed, 0 if the key is missing or had none.
fn persist_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let key = argv[1];
    let now = ctx.now;
    let db = &mut ctx.dbs[ctx.db];
    let removed = db.lookup_write(key, now).is_some() && db.remove_expire(key);
    if removed {
        signal_modified_key(ctx, key);
        notify(ctx, NOTIFY_GENERIC, "persist", key);
        ctx.srv.dirty += 1;
    }
    ctx.out.integer(removed as i64);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// OBJECT
// ---------------------------------------------------------------------------------------------

/// Values Redis shares between keys (the integers 0..10000), which OBJECT REFCOUNT reports
/// with this refcount (Redis: `OBJ_SHARED_REFCOUNT`, `OBJ_SHARED_INTEGERS`).
const SHARED_REFCOUNT: i64 = i32::MAX as i64;
const SHARED_INTEGERS: i64 = 10_000;

/// The object at `key` for OBJECT, without refreshing its access time; replies null and
/// returns None if the key is missing. Redis: `objectCommandLookupOrReply`.
fn object_lookup<'d>(ctx: &'d mut Ctx, key: &[u8]) -> Option<&'d Object> {
    let db = &mut ctx.dbs[ctx.db];
    match db.lookup_read(key, ctx.now, false) {
        Some(obj) => Some(obj),
        None => {
            ctx.out.null();
            None
        }
    }
}

fn lfu_policy(ctx: &Ctx) -> bool {
    ctx.srv.config.maxmemory_policy.contains("lfu")
}

/// OBJECT ENCODING key — the internal representation's name (`int`, `embstr`, `raw`,
/// `listpack`, `quicklist`, `hashtable`, `intset`, `skiplist`), or null.
fn object_encoding_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    if let Some(obj) = object_lookup(ctx, argv[2]) {
        let name = obj.encoding_name();
        ctx.out.bulk_str(name);
    }
    Ok(())
}

/// OBJECT REFCOUNT key — how many references the value has. ferrodis never shares values, so
/// this is 1, except for the small integers Redis shares (and reports as `INT_MAX`) when
/// maxmemory does not need per-key access clocks.
fn object_refcount_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let policy = ctx.srv.config.maxmemory_policy.clone();
    let sharing =
        ctx.srv.config.maxmemory == 0 || !(policy.contains("lru") || policy.contains("lfu"));
    if let Some(obj) = object_lookup(ctx, argv[2]) {
        let shared = match &obj.value {
            Value::Str(s) => {
                sharing
                    && !obj.raw
                    && s.len() <= 20
                    && parse_i64(s).is_some_and(|n| (0..SHARED_INTEGERS).contains(&n))
            }
            _ => false,
        };
        ctx.out.integer(if shared { SHARED_REFCOUNT } else { 1 });
    }
    Ok(())
}

/// OBJECT IDLETIME key — seconds since the key was last read or written. Refused under an
/// LFU policy, where Redis reuses the clock field for the frequency counter.
fn object_idletime_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let lfu = lfu_policy(ctx);
    let now = ctx.now;
    if let Some(idle) = object_lookup(ctx, argv[2]).map(|obj| obj.idle_seconds(now)) {
        if lfu {
            return Err(CommandError::Err("An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."));
        }
        ctx.out.integer(idle as i64);
    }
    Ok(())
}

/// OBJECT FREQ key — the logarithmic access counter under an LFU policy, decayed to now
/// (see `db::evict`); outside LFU policies it refuses, as Redis does.
fn object_freq_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let lfu = lfu_policy(ctx);
    let now = ctx.now;
    if let Some(lru) = object_lookup(ctx, argv[2]).map(|obj| obj.lru) {
        if !lfu {
            return Err(CommandError::Err("An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."));
        }
        ctx.out
            .integer(i64::from(crate::db::evict::lfu_counter(lru, now)));
    }
    Ok(())
}

/// OBJECT HELP — the subcommands, one status line each.
fn object_help_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    ctx.out.help(
        "OBJECT",
        &[
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
        ],
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// MEMORY
// ---------------------------------------------------------------------------------------------

/// Bytes one keyspace entry costs besides what the key and value own on the heap: its slot in
/// the dict (key + object) and its index entry (see `Dict`'s memory note).
const ENTRY_OVERHEAD: usize = std::mem::size_of::<(crate::types::sds::Sds, Object)>() + 5;

/// Elements MEMORY USAGE samples by default (Redis: `OBJ_COMPUTE_SIZE_DEF_SAMPLES`).
const MEMORY_USAGE_DEFAULT_SAMPLES: usize = 5;

/// MEMORY USAGE key [SAMPLES count] — approximate bytes used by the key and its value, or null.
/// As in Redis, a big collection's elements are estimated from `count` of them (default 5;
/// 0 measures every element), so the command costs O(count), not O(elements).
fn memory_usage_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let mut samples = MEMORY_USAGE_DEFAULT_SAMPLES;
    let mut i = 3;
    while i < argv.len() {
        if args::is(argv[i], "SAMPLES") && i + 1 < argv.len() {
            let n = args::int(argv[i + 1])?;
            if n < 0 {
                return Err(CommandError::Syntax);
            }
            samples = n as usize;
            i += 2;
        } else {
            return Err(CommandError::Syntax);
        }
    }
    let key = argv[2];
    // Like Redis's `dbFind`: no expiry check, no access-time update.
    match ctx.dbs[ctx.db].dict.find(key) {
        None => ctx.out.null(),
        Some(slot) => {
            let size = ctx.dbs[ctx.db].dict.get_index(slot).map_or(0, |(k, obj)| {
                ENTRY_OVERHEAD + k.heap_size() + obj.value.heap_size_sampled(samples)
            });
            ctx.out.integer(size as i64);
        }
    }
    Ok(())
}

/// MEMORY HELP — the subcommands, one status line each.
fn memory_help_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    ctx.out.help(
        "MEMORY",
        &[
            "DOCTOR",
            "    Return memory problems reports.",
            "MALLOC-STATS",
            "    Return internal statistics report from the memory allocator.",
            "PURGE",
            "    Attempt to purge dirty pages for reclamation by the allocator.",
            "STATS",
            "    Return information about the memory usage of the server.",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
        ],
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_cursors_parse_like_strtoul() {
        assert_eq!(parse_scan_cursor(b"0").unwrap(), 0);
        assert_eq!(parse_scan_cursor(b"+7").unwrap(), 7);
        assert_eq!(parse_scan_cursor(b"007").unwrap(), 7);
        assert_eq!(parse_scan_cursor(b"-1").unwrap(), u64::MAX);
        assert_eq!(
            parse_scan_cursor(b"18446744073709551615").unwrap(),
            u64::MAX
        );
        assert_eq!(parse_scan_cursor(b"").unwrap(), 0);
        assert_eq!(parse_scan_cursor(b"-0").unwrap(), 0);
        assert_eq!(parse_scan_cursor(b"5\0x").unwrap(), 5);
        assert_eq!(parse_scan_cursor(b"-18446744073709551615").unwrap(), 1);
        for bad in [
            &b" 1"[..],
            b"1 ",
            b"x",
            b"+",
            b"-",
            b"0x1",
            b"18446744073709551616",
            b"-18446744073709551616",
        ] {
            assert!(parse_scan_cursor(bad).is_err());
        }
    }
}
