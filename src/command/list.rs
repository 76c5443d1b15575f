//! LIST commands (Redis: the command half of `t_list.c`).
//!
//! The data structure lives in [`crate::types::list`]; this file parses arguments, calls it and
//! replies. Every write follows Redis's bookkeeping: `dirty`, `signal_modified_key` (WATCH),
//! the keyspace event with Redis's name (`lpush`, `rpop`, `linsert`, `lset`, `lrem`, `ltrim`,
//! ...), and a list that becomes empty is deleted (with a `del` event) — Redis never keeps an
//! empty list. Pushes call `signal_key_as_ready`, which is how BLPOP & co. wake up.
//!
//! The blocking variants (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP) first try exactly what their
//! non-blocking twin would do; only when every key is empty do they register with
//! [`super::blocked`], recording a [`ListWait`]. When a key later receives data,
//! `blocking` calls [`serve_blocked`], which runs the same code paths as the waiter.

use super::args;
use super::blocked::{self as blocking, BlockedOp};
use super::error::{CommandError, CommandResult};
use super::keyspace::delete_if_empty;
use super::keyspec::{key_flags::*, GetKeys, KeySpec};
use super::notify::NOTIFY_LIST;
use super::propagate;
use super::table::{flags::*, CommandSpec};
use super::{notify, signal_key_as_ready, signal_modified_key, Ctx};
use crate::db::value::Value;
use crate::db::Db;
use crate::db::Ms;
use crate::resp::reply::ReplyBuffer;
use crate::types::list::{Elem, End, List};
use crate::types::sds::Sds;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("lpush", lpush_command, -3, WRITE | DENYOOM | FAST, "list")
        .key_specs(&[KeySpec::at(1, RW | INSERT)])
        .doc("Prepend one or multiple elements to a list", "1.0.0"),
    CommandSpec::new("rpush", rpush_command, -3, WRITE | DENYOOM | FAST, "list")
        .key_specs(&[KeySpec::at(1, RW | INSERT)])
        .doc("Append one or multiple elements to a list", "1.0.0"),
    CommandSpec::new("lpushx", lpushx_command, -3, WRITE | DENYOOM | FAST, "list")
        .key_specs(&[KeySpec::at(1, RW | INSERT)])
        .doc("Prepend an element to a list, only if the list exists", "2.2.0"),
    CommandSpec::new("rpushx", rpushx_command, -3, WRITE | DENYOOM | FAST, "list")
        .key_specs(&[KeySpec::at(1, RW | INSERT)])
        .doc("Append an element to a list, only if the list exists", "2.2.0"),
    CommandSpec::new("lpop", lpop_command, -2, WRITE | FAST, "list")
        .key_specs(&[KeySpec::at(1, RW | ACCESS | DELETE)])
        .doc("Remove and get the first elements in a list", "1.0.0"),
    CommandSpec::new("rpop", rpop_command, -2, WRITE | FAST, "list")
        .key_specs(&[KeySpec::at(1, RW | ACCESS | DELETE)])
        .doc("Remove and get the last elements in a list", "1.0.0"),
    CommandSpec::new("llen", llen_command, 2, READONLY | FAST, "list")
        .key_specs(&[KeySpec::at(1, RO)])
        .doc("Get the length of a list", "1.0.0"),
    CommandSpec::new("lrange", lrange_command, 4, READONLY, "list")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .doc("Get a range of elements from a list", "1.0.0"),
    CommandSpec::new("lindex", lindex_command, 3, READONLY, "list")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .doc("Get an element from a list by its index", "1.0.0"),
    CommandSpec::new("lset", lset_command, 4, WRITE | DENYOOM, "list")
        .key_specs(&[KeySpec::at(1, RW | UPDATE)])
        .doc("Set the value of an element in a list by its index", "1.0.0"),
    CommandSpec::new("linsert", linsert_command, 5, WRITE | DENYOOM, "list")
        .key_specs(&[KeySpec::at(1, RW | INSERT)])
        .doc(
            "Insert an element before or after another element in a list",
            "2.2.0",
        ),
    CommandSpec::new("lrem", lrem_command, 4, WRITE, "list")
        .key_specs(&[KeySpec::at(1, RW | DELETE)])
        .doc("Remove elements from a list", "1.0.0"),
    CommandSpec::new("ltrim", ltrim_command, 4, WRITE, "list")
        .key_specs(&[KeySpec::at(1, RW | DELETE)])
        .doc("Trim a list to the specified range", "1.0.0"),
    CommandSpec::new("lpos", lpos_command, -3, READONLY, "list")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .doc("Return the index of matching elements on a list", "6.0.6"),
    CommandSpec::new("lmove", lmove_command, 5, WRITE | DENYOOM, "list")
        .key_specs(&[KeySpec::at(1, RW | ACCESS | DELETE), KeySpec::at(2, RW | INSERT)])
        .doc(
            "Pop an element from a list, push it to another list and return it",
            "6.2.0",
        ),
    CommandSpec::new("rpoplpush", rpoplpush_command, 3, WRITE | DENYOOM, "list")
        .key_specs(&[KeySpec::at(1, RW | ACCESS | DELETE), KeySpec::at(2, RW | INSERT)])
        .doc(
            "Remove the last element in a list, prepend it to another list and return it",
            "1.2.0",
        ),
    CommandSpec::new("lmpop", lmpop_command, -4, WRITE | MOVABLE_KEYS, "list")
        .key_specs(&[KeySpec::at(1, RW | ACCESS | DELETE).keynum(0, 1, 1)])
        .getkeys(GetKeys::NUMKEYS_AT_1)
        .doc("Pop elements from a list", "7.0.0"),
    CommandSpec::new("blpop", blpop_command, -3, WRITE | NOSCRIPT | BLOCKING, "list")
        .key_specs(&[KeySpec::at(1, RW | ACCESS | DELETE).range(-2, 1, 0)])
        .doc(
            "Remove and get the first element in a list, or block until one is available",
            "2.0.0",
        ),
    CommandSpec::new("brpop", brpop_command, -3, WRITE | NOSCRIPT | BLOCKING, "list")
        .key_specs(&[KeySpec::at(1, RW | ACCESS | DELETE).range(-2, 1, 0)])
        .doc(
            "Remove and get the last element in a list, or block until one is available",
            "2.0.0",
        ),
    CommandSpec::new(
        "blmove",
        blmove_command,
        6,
        WRITE | DENYOOM | NOSCRIPT | BLOCKING,
        "list",
    )
    .key_specs(&[KeySpec::at(1, RW | ACCESS | DELETE), KeySpec::at(2, RW | INSERT)])
    .doc(
        "Pop an element from a list, push it to another list and return it; or block until one is available",
        "6.2.0",
    ),
    CommandSpec::new(
        "brpoplpush",
        brpoplpush_command,
        4,
        WRITE | DENYOOM | NOSCRIPT | BLOCKING,
        "list",
    )
    .key_specs(&[KeySpec::at(1, RW | ACCESS | DELETE), KeySpec::at(2, RW | INSERT)])
    .doc(
        "Pop an element from a list, push it to another list and return it; or block until one is available",
        "2.2.0",
    ),
    CommandSpec::new(
        "blmpop",
        blmpop_command,
        -5,
        WRITE | BLOCKING | MOVABLE_KEYS,
        "list",
    )
    .key_specs(&[KeySpec::at(2, RW | ACCESS | DELETE).keynum(0, 1, 1)])
    .getkeys(GetKeys::NUMKEYS_AT_2)
    .doc(
        "Pop elements from a list, or block until one is available",
        "7.0.0",
    ),
];

/// What a client blocked by a list command does when served (see `command::blocked`).
pub enum ListWait {
    /// BLPOP / BRPOP: pop one element, reply `[key, element]`.
    Pop { end: End },
    /// BLMPOP: pop up to `count` elements, reply `[key, [elements...]]`.
    MPop { end: End, count: usize },
    /// BLMOVE / BRPOPLPUSH: move one element to `dest`, reply with it.
    Move { from: End, to: End, dest: Sds },
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by the commands.
// ---------------------------------------------------------------------------------------------

/// The list at `key` for reading; WRONGTYPE if the key holds something else.
fn list_for_read<'d>(
    db: &'d mut Db,
    key: &[u8],
    now: Ms,
) -> Result<Option<&'d List>, CommandError> {
    Ok(db.lookup_read_as(key, now)?)
}

/// The list at `key` for writing; WRONGTYPE if the key holds something else.
fn list_for_write<'d>(
    db: &'d mut Db,
    key: &[u8],
    now: Ms,
) -> Result<Option<&'d mut List>, CommandError> {
    Ok(db.lookup_write_as(key, now)?)
}

/// The list at `key`, created empty if absent (the caller pushes into it at once).
fn list_or_create<'d>(db: &'d mut Db, key: &[u8], now: Ms) -> Result<&'d mut List, CommandError> {
    Ok(db.lookup_write_or_create(key, now, || Value::List(List::default()))?)
}

fn fill(ctx: &Ctx) -> i64 {
    ctx.srv.config.list_max_listpack_size
}

/// LEFT / RIGHT (`ERR syntax error` otherwise).
fn parse_end(arg: &[u8]) -> Result<End, CommandError> {
    if args::is(arg, "LEFT") {
        Ok(End::Head)
    } else if args::is(arg, "RIGHT") {
        Ok(End::Tail)
    } else {
        Err(CommandError::Syntax)
    }
}

fn reply_elem(out: &mut ReplyBuffer, elem: Elem) {
    match elem {
        Elem::Str(s) => out.bulk(s),
        Elem::Int(n) => out.bulk_i64(n),
    }
}

fn pop_event(end: End) -> &'static str {
    match end {
        End::Head => "lpop",
        End::Tail => "rpop",
    }
}

fn push_event(end: End) -> &'static str {
    match end {
        End::Head => "lpush",
        End::Tail => "rpush",
    }
}

/// Bookkeeping after elements were popped from `key` (Redis: `listElementsRemoved`).
fn list_elements_removed(ctx: &mut Ctx, key: &[u8], end: End, count: usize) {
    notify(ctx, NOTIFY_LIST, pop_event(end), key);
    delete_if_empty(ctx, key);
    signal_modified_key(ctx, key);
    ctx.srv.dirty += count as u64;
}

// ---------------------------------------------------------------------------------------------
// Push and pop.
// ---------------------------------------------------------------------------------------------

/// LPUSH / RPUSH / LPUSHX / RPUSHX (Redis: `pushGenericCommand`). The X forms only push onto
/// an existing list. Replies with the new length (0 for an X form on a missing key).
fn push_generic(ctx: &mut Ctx, argv: &[&[u8]], end: End, only_if_exists: bool) -> CommandResult {
    let key = argv[1];
    let fill = fill(ctx);
    let now = ctx.now;
    let db = &mut ctx.dbs[ctx.db];
    let list = match list_for_write(db, key, now)? {
        Some(list) => list,
        None if only_if_exists => {
            ctx.out.integer(0);
            return Ok(());
        }
        None => list_or_create(db, key, now)?,
    };
    list.push_many(argv[2..].iter().copied(), end, fill);
    let len = list.len();
    ctx.out.integer(len as i64);
    ctx.srv.dirty += (argv.len() - 2) as u64;
    signal_key_as_ready(ctx, key);
    signal_modified_key(ctx, key);
    notify(ctx, NOTIFY_LIST, push_event(end), key);
    Ok(())
}

/// LPUSH key element [element ...] — integer: the length after the push.
fn lpush_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    push_generic(ctx, argv, End::Head, false)
}

/// RPUSH key element [element ...] — integer: the length after the push.
fn rpush_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    push_generic(ctx, argv, End::Tail, false)
}

/// LPUSHX key element [element ...] — integer: the new length, 0 if the key does not exist.
fn lpushx_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    push_generic(ctx, argv, End::Head, true)
}

/// RPUSHX key element [element ...] — integer: the new length, 0 if the key does not exist.
fn rpushx_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    push_generic(ctx, argv, End::Tail, true)
}

/// LPOP / RPOP (Redis: `popGenericCommand`). Without a count: the element as a bulk string, or
/// null. With a count: an array of up to `count` elements, or a null *array* for a missing key.
fn pop_generic(ctx: &mut Ctx, argv: &[&[u8]], end: End) -> CommandResult {
    if argv.len() > 3 {
        return Err(CommandError::WrongArity(pop_event(end).to_string()));
    }
    let count = match argv.get(2) {
        // One message for "not a number" and "< 0", as Redis.
        Some(arg) => Some(args::non_negative(
            arg,
            "value is out of range, must be positive",
        )?),
        None => None,
    };
    let key = argv[1];
    let db = &mut ctx.dbs[ctx.db];
    let Some(list) = list_for_write(db, key, ctx.now)? else {
        match count {
            Some(_) => ctx.out.null_array(),
            None => ctx.out.null(),
        }
        return Ok(());
    };
    let popped = match count {
        None => {
            let Some(value) = list.pop(end) else {
                ctx.out.null();
                return Ok(());
            };
            ctx.out.bulk(&value);
            1
        }
        Some(0) => {
            ctx.out.empty_array();
            return Ok(());
        }
        Some(n) => {
            let n = (n as usize).min(list.len());
            ctx.out.array_len(n);
            for _ in 0..n {
                if let Some(value) = list.pop(end) {
                    ctx.out.bulk(&value);
                }
            }
            n
        }
    };
    list_elements_removed(ctx, key, end, popped);
    Ok(())
}

/// LPOP key [count] — see [`pop_generic`] for the reply shapes.
fn lpop_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    pop_generic(ctx, argv, End::Head)
}

/// RPOP key [count] — see [`pop_generic`] for the reply shapes.
fn rpop_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    pop_generic(ctx, argv, End::Tail)
}

/// Pops from the non-empty list at `key` and replies with the key: `[key, element]` for
/// BLPOP-style (`count` None) or `[key, [elements...]]` for LMPOP-style (Redis:
/// `listPopRangeAndReplyWithKey`).
fn pop_and_reply_with_key(ctx: &mut Ctx, key: &[u8], end: End, count: Option<usize>) {
    let db = &mut ctx.dbs[ctx.db];
    let Ok(Some(list)) = list_for_write(db, key, ctx.now) else {
        debug_assert!(false, "caller checked the list");
        return;
    };
    ctx.out.array_len(2);
    ctx.out.bulk(key);
    let popped = match count {
        None => {
            if let Some(value) = list.pop(end) {
                ctx.out.bulk(&value);
            }
            1
        }
        Some(n) => {
            let n = n.min(list.len());
            ctx.out.array_len(n);
            for _ in 0..n {
                if let Some(value) = list.pop(end) {
                    ctx.out.bulk(&value);
                }
            }
            n
        }
    };
    // Replicas see the plain pop that happened, with the count actually popped.
    propagate::rewrite(ctx, || {
        let mut pop = vec![end_pop_name(end).to_vec(), key.to_vec()];
        if count.is_some() {
            pop.push(popped.to_string().into_bytes());
        }
        pop
    });
    list_elements_removed(ctx, key, end, popped);
}

/// LPOP or RPOP: the command popping at `end`.
fn end_pop_name(end: End) -> &'static [u8] {
    match end {
        End::Head => b"LPOP",
        End::Tail => b"RPOP",
    }
}

/// `left` or `right`, as Redis spells a list end it propagates (in lower case).
fn end_name(end: End) -> &'static [u8] {
    match end {
        End::Head => b"left",
        End::Tail => b"right",
    }
}

/// Is `key` a non-empty list? WRONGTYPE if it holds something else.
fn has_elements(ctx: &mut Ctx, key: &[u8]) -> Result<bool, CommandError> {
    let db = &mut ctx.dbs[ctx.db];
    Ok(list_for_write(db, key, ctx.now)?.is_some_and(|l| !l.is_empty()))
}

/// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count] — `[key, [elements...]]` from the first
/// non-empty list, or a null array.
fn lmpop_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let (keys, end, count) = parse_mpop(argv, 1)?;
    for key in keys {
        if has_elements(ctx, key)? {
            pop_and_reply_with_key(ctx, key, end, Some(count));
            return Ok(());
        }
    }
    ctx.out.null_array();
    Ok(())
}

/// Parses `numkeys key [key ...] LEFT|RIGHT [COUNT count]` starting at `argv[at]`
/// (Redis: `lmpopGenericCommand`).
fn parse_mpop<'a>(
    argv: &'a [&'a [u8]],
    at: usize,
) -> Result<(&'a [&'a [u8]], End, usize), CommandError> {
    const NUMKEYS: &str = "numkeys should be greater than 0";
    let numkeys = args::int(argv[at]).map_err(|_| CommandError::Err(NUMKEYS))?;
    if numkeys <= 0 {
        return Err(CommandError::Err(NUMKEYS));
    }
    let where_at = (numkeys as u64).saturating_add(at as u64 + 1);
    if where_at >= argv.len() as u64 {
        return Err(CommandError::Syntax);
    }
    let where_at = where_at as usize;
    let end = parse_end(argv[where_at])?;
    let mut count = None;
    let mut i = where_at + 1;
    while i < argv.len() {
        if count.is_none() && args::is(argv[i], "COUNT") && i + 1 < argv.len() {
            const COUNT: &str = "count should be greater than 0";
            let n = args::int(argv[i + 1]).map_err(|_| CommandError::Err(COUNT))?;
            if n <= 0 {
                return Err(CommandError::Err(COUNT));
            }
            count = Some(n as usize);
            i += 2;
        } else {
            return Err(CommandError::Syntax);
        }
    }
    Ok((&argv[at + 1..where_at], end, count.unwrap_or(1)))
}

// ---------------------------------------------------------------------------------------------
// Reading and editing by index or value.
// ---------------------------------------------------------------------------------------------

/// LLEN key — integer: the length, 0 for a missing key.
fn llen_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let db = &mut ctx.dbs[ctx.db];
    let len = list_for_read(db, argv[1], ctx.now)?.map_or(0, List::len);
    ctx.out.integer(len as i64);
    Ok(())
}

/// A possibly negative index (-1 = last) as a position, if in range.
fn resolve_index(index: i64, len: usize) -> Option<usize> {
    let i = if index < 0 { index + len as i64 } else { index };
    (0..len as i64).contains(&i).then_some(i as usize)
}

/// LINDEX key index — the element, or null if out of range or missing.
fn lindex_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let db = &mut ctx.dbs[ctx.db];
    // Redis looks the key up (null / WRONGTYPE) before it parses the index.
    let Some(list) = list_for_read(db, argv[1], ctx.now)? else {
        ctx.out.null();
        return Ok(());
    };
    let index = args::int(argv[2])?;
    let elem = resolve_index(index, list.len()).and_then(|i| list.get(i));
    match elem {
        Some(e) => reply_elem(ctx.out, e),
        None => ctx.out.null(),
    }
    Ok(())
}

/// LSET key index element — OK; `ERR no such key`, `ERR index out of range`.
fn lset_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let key = argv[1];
    let fill = fill(ctx);
    let db = &mut ctx.dbs[ctx.db];
    let list = list_for_write(db, key, ctx.now)?.ok_or(CommandError::NoSuchKey)?;
    let index = args::int(argv[2])?;
    let i = resolve_index(index, list.len()).ok_or(CommandError::IndexOutOfRange)?;
    list.set(i, argv[3], fill);
    ctx.out.ok();
    signal_modified_key(ctx, key);
    notify(ctx, NOTIFY_LIST, "lset", key);
    ctx.srv.dirty += 1;
    Ok(())
}

/// Clamps a `start stop` pair (negative = from the end) to positions; None if empty
/// (Redis's LRANGE / LTRIM arithmetic).
fn resolve_range(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut start = if start < 0 { start + len } else { start };
    let mut stop = if stop < 0 { stop + len } else { stop };
    if start < 0 {
        start = 0;
    }
    if start > stop || start >= len {
        return None;
    }
    if stop >= len {
        stop = len - 1;
    }
    Some((start as usize, stop as usize))
}

/// LRANGE key start stop — array of the elements in the inclusive range.
fn lrange_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let start = args::int(argv[2])?;
    let stop = args::int(argv[3])?;
    let db = &mut ctx.dbs[ctx.db];
    let Some(list) = list_for_read(db, argv[1], ctx.now)? else {
        ctx.out.empty_array();
        return Ok(());
    };
    let Some((from, to)) = resolve_range(start, stop, list.len()) else {
        ctx.out.empty_array();
        return Ok(());
    };
    let n = to - from + 1;
    ctx.out.array_len(n);
    for elem in list.iter_from(from).take(n) {
        reply_elem(ctx.out, elem);
    }
    Ok(())
}

/// LTRIM key start stop — OK; keeps only the inclusive range (deleting the key if nothing is
/// left).
fn ltrim_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let key = argv[1];
    let start = args::int(argv[2])?;
    let stop = args::int(argv[3])?;
    let db = &mut ctx.dbs[ctx.db];
    let Some(list) = list_for_write(db, key, ctx.now)? else {
        ctx.out.ok();
        return Ok(());
    };
    let len = list.len();
    let (from, count) = match resolve_range(start, stop, len) {
        Some((from, to)) => (from, to - from + 1),
        None => (0, 0),
    };
    list.trim(from, count);
    ctx.out.ok();
    notify(ctx, NOTIFY_LIST, "ltrim", key);
    delete_if_empty(ctx, key);
    signal_modified_key(ctx, key);
    ctx.srv.dirty += (len - count) as u64;
    Ok(())
}

/// LREM key count element — integer: how many were removed. count > 0 removes the first
/// `count` matches from the head, < 0 from the tail, 0 all of them.
fn lrem_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let key = argv[1];
    let count = args::int(argv[2])?;
    let target = argv[3];
    let db = &mut ctx.dbs[ctx.db];
    let Some(list) = list_for_write(db, key, ctx.now)? else {
        ctx.out.integer(0);
        return Ok(());
    };
    let limit = if count == 0 {
        usize::MAX
    } else {
        count.unsigned_abs().min(usize::MAX as u64) as usize
    };
    let len = list.len();
    let mut doomed: Vec<usize> = if count >= 0 {
        list.iter()
            .enumerate()
            .filter(|(_, e)| e.eq_bytes(target))
            .map(|(i, _)| i)
            .take(limit)
            .collect()
    } else {
        list.iter_rev()
            .enumerate()
            .filter(|(_, e)| e.eq_bytes(target))
            .map(|(i, _)| len - 1 - i)
            .take(limit)
            .collect()
    };
    doomed.sort_unstable();
    list.remove_indices(&doomed);
    let removed = doomed.len();
    ctx.out.integer(removed as i64);
    if removed > 0 {
        notify(ctx, NOTIFY_LIST, "lrem", key);
        delete_if_empty(ctx, key);
        signal_modified_key(ctx, key);
        ctx.srv.dirty += removed as u64;
    }
    Ok(())
}

/// LINSERT key BEFORE|AFTER pivot element — integer: the new length; -1 if the pivot is not
/// found; 0 if the key does not exist.
fn linsert_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let key = argv[1];
    let after = if args::is(argv[2], "AFTER") {
        true
    } else if args::is(argv[2], "BEFORE") {
        false
    } else {
        return Err(CommandError::Syntax);
    };
    let fill = fill(ctx);
    let db = &mut ctx.dbs[ctx.db];
    let Some(list) = list_for_write(db, key, ctx.now)? else {
        ctx.out.integer(0);
        return Ok(());
    };
    let Some(pivot) = list.iter().position(|e| e.eq_bytes(argv[3])) else {
        ctx.out.integer(-1);
        return Ok(());
    };
    list.insert(pivot + after as usize, argv[4], fill);
    let len = list.len();
    ctx.out.integer(len as i64);
    signal_modified_key(ctx, key);
    notify(ctx, NOTIFY_LIST, "linsert", key);
    ctx.srv.dirty += 1;
    Ok(())
}

/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len] — the index of the first
/// match (or null); with COUNT, an array of up to `num-matches` indexes (0 = all).
/// A negative RANK searches from the tail (indexes are still from the head).
fn lpos_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let mut rank: i64 = 1;
    let mut count: Option<i64> = None;
    let mut maxlen: i64 = 0;
    let mut i = 3;
    while i < argv.len() {
        let more = i + 1 < argv.len();
        if args::is(argv[i], "RANK") && more {
            rank = args::int(argv[i + 1])?;
            if rank == 0 {
                return Err(CommandError::Err(
                    "RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
                ));
            }
        } else if args::is(argv[i], "COUNT") && more {
            count = Some(args::non_negative(argv[i + 1], "COUNT can't be negative")?);
        } else if args::is(argv[i], "MAXLEN") && more {
            maxlen = args::non_negative(argv[i + 1], "MAXLEN can't be negative")?;
        } else {
            return Err(CommandError::Syntax);
        }
        i += 2;
    }
    // Redis negates with C's wrap-around, so RANK -9223372036854775808 acts as -1 would.
    let from_tail = rank < 0;
    let rank = if from_tail { rank.wrapping_neg() } else { rank };
    let db = &mut ctx.dbs[ctx.db];
    let Some(list) = list_for_read(db, argv[1], ctx.now)? else {
        match count {
            Some(_) => ctx.out.empty_array(),
            None => ctx.out.null(),
        }
        return Ok(());
    };
    let len = list.len();
    let scan = if maxlen == 0 {
        len
    } else {
        (maxlen as u64).min(len as u64) as usize
    };
    let elements: Box<dyn Iterator<Item = Elem>> = if from_tail {
        Box::new(list.iter_rev())
    } else {
        Box::new(list.iter())
    };
    let mut found: Vec<i64> = Vec::new();
    let mut matches: i64 = 0;
    for (index, elem) in elements.take(scan).enumerate() {
        if !elem.eq_bytes(argv[2]) {
            continue;
        }
        matches += 1;
        if matches >= rank {
            let at = if from_tail { len - 1 - index } else { index };
            found.push(at as i64);
            match count {
                None => break,
                Some(c) if c != 0 && matches.wrapping_sub(rank).wrapping_add(1) >= c => break,
                _ => {}
            }
        }
    }
    match count {
        Some(_) => {
            ctx.out.array_len(found.len());
            for at in found {
                ctx.out.integer(at);
            }
        }
        None => match found.first() {
            Some(&at) => ctx.out.integer(at),
            None => ctx.out.null(),
        },
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Moving between lists.
// ---------------------------------------------------------------------------------------------

/// Moves one element from the non-empty list `src` to `dst` (a list or absent) and replies with
/// it (Redis: the core of `lmoveGenericCommand` and `lmoveHandlePush`). Event order as Redis:
/// the push on `dst`, then the pop on `src`.
fn lmove_handle(ctx: &mut Ctx, src: &[u8], dst: &[u8], from: End, to: End) {
    let fill = fill(ctx);
    let now = ctx.now;
    let db = &mut ctx.dbs[ctx.db];
    let Ok(Some(value)) = list_for_write(db, src, now).map(|l| l.and_then(|l| l.pop(from))) else {
        debug_assert!(false, "caller checked the source list");
        return;
    };
    match list_or_create(db, dst, now) {
        Ok(list) => list.push(&value, to, fill),
        Err(_) => debug_assert!(false, "caller checked the destination type"),
    }
    signal_key_as_ready(ctx, dst);
    signal_modified_key(ctx, dst);
    notify(ctx, NOTIFY_LIST, push_event(to), dst);
    ctx.out.bulk(&value);
    notify(ctx, NOTIFY_LIST, pop_event(from), src);
    delete_if_empty(ctx, src);
    signal_modified_key(ctx, src);
    ctx.srv.dirty += 1;
}

/// Checks LMOVE's keys: Ok(true) if `src` has an element and `dst` can take it.
fn lmove_ready(ctx: &mut Ctx, src: &[u8], dst: &[u8]) -> Result<bool, CommandError> {
    if !has_elements(ctx, src)? {
        return Ok(false);
    }
    let db = &mut ctx.dbs[ctx.db];
    list_for_write(db, dst, ctx.now)?;
    Ok(true)
}

/// LMOVE / RPOPLPUSH (Redis: `lmoveGenericCommand`): the moved element, or null.
fn lmove_generic(ctx: &mut Ctx, src: &[u8], dst: &[u8], from: End, to: End) -> CommandResult {
    if lmove_ready(ctx, src, dst)? {
        lmove_handle(ctx, src, dst, from, to);
    } else {
        ctx.out.null();
    }
    Ok(())
}

/// LMOVE source destination LEFT|RIGHT LEFT|RIGHT — the moved element, or null.
fn lmove_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let from = parse_end(argv[3])?;
    let to = parse_end(argv[4])?;
    lmove_generic(ctx, argv[1], argv[2], from, to)
}

/// RPOPLPUSH source destination — the moved element, or null. (LMOVE src dst RIGHT LEFT.)
fn rpoplpush_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    lmove_generic(ctx, argv[1], argv[2], End::Tail, End::Head)
}

// ---------------------------------------------------------------------------------------------
// Blocking variants.
// ---------------------------------------------------------------------------------------------

/// BLPOP / BRPOP / BLMPOP (Redis: `blockingPopGenericCommand`): serve from the first non-empty
/// key at once, else block (or, when blocking is not allowed, reply as a timeout would).
fn blocking_pop_generic(
    ctx: &mut Ctx,
    keys: &[&[u8]],
    timeout: Option<i64>,
    end: End,
    count: Option<usize>,
) -> CommandResult {
    for &key in keys {
        if has_elements(ctx, key)? {
            pop_and_reply_with_key(ctx, key, end, count);
            return Ok(());
        }
    }
    if !blocking::may_block(ctx) {
        ctx.out.null_array();
        return Ok(());
    }
    let wait = match count {
        None => ListWait::Pop { end },
        Some(count) => ListWait::MPop { end, count },
    };
    blocking::block_for_keys(ctx, keys, timeout, BlockedOp::List(wait));
    Ok(())
}

/// BLPOP key [key ...] timeout — `[key, element]`, or a null array on timeout.
fn blpop_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let timeout = args::timeout_ms(argv[argv.len() - 1])?;
    blocking_pop_generic(ctx, &argv[1..argv.len() - 1], timeout, End::Head, None)
}

/// BRPOP key [key ...] timeout — `[key, element]`, or a null array on timeout.
fn brpop_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let timeout = args::timeout_ms(argv[argv.len() - 1])?;
    blocking_pop_generic(ctx, &argv[1..argv.len() - 1], timeout, End::Tail, None)
}

/// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count] — `[key, [elements...]]`, or
/// a null array on timeout.
fn blmpop_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let timeout = args::timeout_ms(argv[1])?;
    let (keys, end, count) = parse_mpop(argv, 2)?;
    blocking_pop_generic(ctx, keys, timeout, end, Some(count))
}

/// BLMOVE / BRPOPLPUSH (Redis: `blmoveGenericCommand`).
fn blmove_generic(
    ctx: &mut Ctx,
    argv: &[&[u8]],
    from: End,
    to: End,
    timeout_arg: &[u8],
) -> CommandResult {
    let timeout = args::timeout_ms(timeout_arg)?;
    let (src, dst) = (argv[1], argv[2]);
    let db = &mut ctx.dbs[ctx.db];
    if list_for_write(db, src, ctx.now)?.is_some() {
        lmove_generic(ctx, src, dst, from, to)?;
        // Served at once: replicas see the non-blocking form.
        propagate::rewrite(ctx, || match argv.len() {
            4 => vec![b"RPOPLPUSH".to_vec(), src.to_vec(), dst.to_vec()],
            _ => {
                let mut lmove = vec![b"LMOVE".to_vec()];
                lmove.extend(argv[1..5].iter().map(|a| a.to_vec()));
                lmove
            }
        });
        return Ok(());
    }
    if !blocking::may_block(ctx) {
        // Redis 7.0 answers a non-blockable BLMOVE with a null *bulk*, unlike its timeout.
        ctx.out.null();
        return Ok(());
    }
    let wait = ListWait::Move {
        from,
        to,
        dest: Sds::new(dst),
    };
    blocking::block_for_keys(ctx, &[src], timeout, BlockedOp::List(wait));
    Ok(())
}

/// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout — the moved element, or a null
/// array on timeout.
fn blmove_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let from = parse_end(argv[3])?;
    let to = parse_end(argv[4])?;
    blmove_generic(ctx, argv, from, to, argv[5])
}

/// BRPOPLPUSH source destination timeout — the moved element, or a null array on timeout.
fn brpoplpush_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    blmove_generic(ctx, argv, End::Tail, End::Head, argv[3])
}

/// Serves a client blocked by a list command, now that `key` may have data. Runs as the
/// waiter (`ctx.id`, `ctx.db` and `ctx.out` are the waiter's). Returns false, changing nothing,
/// if `key` is not a non-empty list. Redis: `serveClientBlockedOnList`.
pub fn serve_blocked(ctx: &mut Ctx, key: &[u8], wait: &ListWait) -> bool {
    if !matches!(has_elements(ctx, key), Ok(true)) {
        return false;
    }
    match wait {
        ListWait::Pop { end } => pop_and_reply_with_key(ctx, key, *end, None),
        ListWait::MPop { end, count } => pop_and_reply_with_key(ctx, key, *end, Some(*count)),
        ListWait::Move { from, to, dest } => {
            let db = &mut ctx.dbs[ctx.db];
            if let Err(err) = list_for_write(db, dest, ctx.now) {
                // Redis unblocks the client with the error and leaves the element in place.
                ctx.out.error(&err.message());
                return true;
            }
            lmove_handle(ctx, key, dest, *from, *to);
            let brpoplpush = ctx.me().last_command == "brpoplpush";
            propagate::rewrite(ctx, || match brpoplpush {
                true => vec![b"RPOPLPUSH".to_vec(), key.to_vec(), dest.to_vec()],
                false => vec![
                    b"LMOVE".to_vec(),
                    key.to_vec(),
                    dest.to_vec(),
                    end_name(*from).to_vec(),
                    end_name(*to).to_vec(),
                ],
            });
        }
    }
    true
}
