//! Set commands (Redis: `t_set.c`, command half).
//!
//! The data structure — an intset while it holds few integers, a hash table otherwise — lives in
//! `types::set`. This file holds the commands, including the multi-key algebra:
//!
//! * **SINTER** iterates the *smallest* set and keeps the members every other set contains:
//!   O(smallest × number of sets), which is why Redis sorts the inputs by size first.
//! * **SUNION** adds every member of every set to a fresh result set.
//! * **SDIFF** keeps the members of the first set that no other set contains.
//!
//! Results are built in a fresh set that starts as an intset, exactly as Redis does, so
//! `SINTERSTORE` of two hashtable sets that share only integers stores an `intset`, and replies
//! built from an integer result come out sorted — byte-identical to Redis. Results that are
//! hash tables come out in table order, which (as in Redis) is unspecified.
//!
//! A missing key is an empty set. Every command that removes members deletes the key when the
//! set becomes empty (`del` event after the command's own event).

use super::args;
use super::error::{CommandError, CommandResult};
use super::hash::random_count;
use super::keyspace::delete_if_empty;
use super::keyspace::{parse_scan_cursor, reply_scan, ScanOptions};
use super::keyspec::{key_flags::*, GetKeys, KeySpec};
use super::notify::{NOTIFY_GENERIC, NOTIFY_SET};
use super::propagate;
use super::table::{flags::*, CommandSpec};
use super::{notify, signal_modified_key, Ctx};
use crate::db::value::Value;
use crate::db::{Db, Ms};
use crate::resp::reply::ReplyBuffer;
use crate::types::sds::Sds;
use crate::types::set::{Member, Set};

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("sadd", sadd_command, -3, WRITE | DENYOOM | FAST, "set")
        .key_specs(&[KeySpec::at(1, RW | INSERT)])
        .doc("Adds one or more members to a set. Creates the key if it doesn't exist.", "1.0.0"),
    CommandSpec::new("srem", srem_command, -3, WRITE | FAST, "set")
        .key_specs(&[KeySpec::at(1, RW | DELETE)])
        .doc(
            "Removes one or more members from a set. Deletes the set if the last member was removed.",
            "1.0.0",
        ),
    CommandSpec::new("smembers", smembers_command, 2, READONLY, "set")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .tips(&["nondeterministic_output_order"])
        .doc("Returns all members of a set.", "1.0.0"),
    CommandSpec::new("sismember", sismember_command, 3, READONLY | FAST, "set")
        .key_specs(&[KeySpec::at(1, RO)])
        .doc("Determines whether a member belongs to a set.", "1.0.0"),
    CommandSpec::new("smismember", smismember_command, -3, READONLY | FAST, "set")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .doc("Determines whether multiple members belong to a set.", "6.2.0"),
    CommandSpec::new("scard", scard_command, 2, READONLY | FAST, "set")
        .key_specs(&[KeySpec::at(1, RO)])
        .doc("Returns the number of members in a set.", "1.0.0"),
    CommandSpec::new("spop", spop_command, -2, WRITE | FAST, "set")
        .key_specs(&[KeySpec::at(1, RW | ACCESS | DELETE)])
        .tips(&["nondeterministic_output"])
        .doc(
            "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped.",
            "1.0.0",
        ),
    CommandSpec::new("srandmember", srandmember_command, -2, READONLY, "set")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .tips(&["nondeterministic_output"])
        .doc("Get one or multiple random members from a set", "1.0.0"),
    CommandSpec::new("smove", smove_command, 4, WRITE | FAST, "set")
        .key_specs(&[KeySpec::at(1, RW | ACCESS | DELETE), KeySpec::at(2, RW | INSERT)])
        .doc("Moves a member from one set to another.", "1.0.0"),
    CommandSpec::new("sinter", sinter_command, -2, READONLY, "set")
        .key_specs(&[KeySpec::at(1, RO | ACCESS).range(-1, 1, 0)])
        .tips(&["nondeterministic_output_order"])
        .doc("Returns the intersect of multiple sets.", "1.0.0"),
    CommandSpec::new("sintercard", sintercard_command, -3, READONLY | MOVABLE_KEYS, "set")
        .key_specs(&[KeySpec::at(1, RO | ACCESS).keynum(0, 1, 1)])
        .getkeys(GetKeys::NUMKEYS_AT_1)
        .doc("Returns the number of members of the intersect of multiple sets.", "7.0.0"),
    CommandSpec::new("sinterstore", sinterstore_command, -3, WRITE | DENYOOM, "set")
        .key_specs(&[KeySpec::at(1, RW | UPDATE), KeySpec::at(2, RO | ACCESS).range(-1, 1, 0)])
        .doc("Stores the intersect of multiple sets in a key.", "1.0.0"),
    CommandSpec::new("sunion", sunion_command, -2, READONLY, "set")
        .key_specs(&[KeySpec::at(1, RO | ACCESS).range(-1, 1, 0)])
        .tips(&["nondeterministic_output_order"])
        .doc("Returns the union of multiple sets.", "1.0.0"),
    CommandSpec::new("sunionstore", sunionstore_command, -3, WRITE | DENYOOM, "set")
        .key_specs(&[KeySpec::at(1, OW | UPDATE), KeySpec::at(2, RO | ACCESS).range(-1, 1, 0)])
        .doc("Stores the union of multiple sets in a key.", "1.0.0"),
    CommandSpec::new("sdiff", sdiff_command, -2, READONLY, "set")
        .key_specs(&[KeySpec::at(1, RO | ACCESS).range(-1, 1, 0)])
        .tips(&["nondeterministic_output_order"])
        .doc("Returns the difference of multiple sets.", "1.0.0"),
    CommandSpec::new("sdiffstore", sdiffstore_command, -3, WRITE | DENYOOM, "set")
        .key_specs(&[KeySpec::at(1, OW | UPDATE), KeySpec::at(2, RO | ACCESS).range(-1, 1, 0)])
        .doc("Stores the difference of multiple sets in a key.", "1.0.0"),
    CommandSpec::new("sscan", sscan_command, -3, READONLY, "set")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .tips(&["nondeterministic_output"])
        .doc("Iterates over members of a set.", "2.0.0"),
];

/// The set at `key` for reading; `WRONGTYPE` if the key holds something else.
fn set_for_read<'d>(db: &'d mut Db, key: &[u8], now: Ms) -> Result<Option<&'d Set>, CommandError> {
    Ok(db.lookup_read_as(key, now)?)
}

/// The set at `key` for writing, if it exists; `WRONGTYPE` if the key holds something else.
fn set_for_write<'d>(
    db: &'d mut Db,
    key: &[u8],
    now: Ms,
) -> Result<Option<&'d mut Set>, CommandError> {
    Ok(db.lookup_write_as(key, now)?)
}

fn bulk_member(out: &mut ReplyBuffer, m: Member) {
    m.with_bytes(|b| out.bulk(b));
}

/// SADD key member [member ...] — the number of members added.
fn sadd_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let key = argv[1];
    let max_intset = ctx.srv.config.set_max_intset_entries;
    let db = &mut ctx.dbs[ctx.db];
    // Redis picks the encoding from the first member (`setTypeCreate`).
    let set: &mut Set =
        db.lookup_write_or_create(key, ctx.now, || Value::Set(Set::new_for(argv[2])))?;
    let added = argv[2..].iter().filter(|m| set.add(m, max_intset)).count();
    ctx.out.integer(added as i64);
    if added > 0 {
        ctx.srv.dirty += added as u64;
        signal_modified_key(ctx, key);
        notify(ctx, NOTIFY_SET, "sadd", key);
    }
    Ok(())
}

/// SREM key member [member ...] — the number of members removed.
fn srem_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let key = argv[1];
    let Some(set) = set_for_write(&mut ctx.dbs[ctx.db], key, ctx.now)? else {
        ctx.out.integer(0);
        return Ok(());
    };
    let mut removed = 0;
    for m in &argv[2..] {
        if set.remove(m) {
            removed += 1;
            if set.is_empty() {
                break;
            }
        }
    }
    ctx.out.integer(removed);
    if removed > 0 {
        ctx.srv.dirty += removed as u64;
        signal_modified_key(ctx, key);
        notify(ctx, NOTIFY_SET, "srem", key);
        delete_if_empty(ctx, key);
    }
    Ok(())
}

/// SMEMBERS key — every member, as a set reply (sorted for an intset).
fn smembers_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let set = set_for_read(&mut ctx.dbs[ctx.db], argv[1], ctx.now)?;
    ctx.out.set_len(set.map_or(0, |s| s.len()));
    for m in set.into_iter().flat_map(|s| s.iter()) {
        bulk_member(ctx.out, m);
    }
    Ok(())
}

/// SISMEMBER key member — 1 if `member` is in the set, else 0.
fn sismember_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let set = set_for_read(&mut ctx.dbs[ctx.db], argv[1], ctx.now)?;
    ctx.out
        .integer(set.is_some_and(|s| s.contains(argv[2])) as i64);
    Ok(())
}

/// SMISMEMBER key member [member ...] — an array of 1/0, one per member.
fn smismember_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let set = set_for_read(&mut ctx.dbs[ctx.db], argv[1], ctx.now)?;
    ctx.out.array_len(argv.len() - 2);
    for m in &argv[2..] {
        ctx.out.integer(set.is_some_and(|s| s.contains(m)) as i64);
    }
    Ok(())
}

/// SCARD key — the number of members (0 for a missing key).
fn scard_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let n = set_for_read(&mut ctx.dbs[ctx.db], argv[1], ctx.now)?.map_or(0, |s| s.len());
    ctx.out.integer(n as i64);
    Ok(())
}

/// SPOP key [count] — without count, one random member removed (or null). With count, a set
/// reply of up to `count` distinct removed members.
fn spop_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    if argv.len() > 3 {
        return Err(CommandError::Syntax);
    }
    let count = match argv.get(2) {
        Some(arg) => {
            let n = args::int(arg)
                .map_err(|_| CommandError::Err("value is out of range, must be positive"))?;
            if n < 0 {
                return Err(CommandError::Err("value is out of range, must be positive"));
            }
            Some(n as usize)
        }
        None => None,
    };
    let key = argv[1];
    let Some(set) = set_for_write(&mut ctx.dbs[ctx.db], key, ctx.now)? else {
        match count {
            Some(_) => ctx.out.set_len(0),
            None => ctx.out.null(),
        }
        return Ok(());
    };
    let everything = count.is_some_and(|n| n >= set.len());
    let popped: Vec<Sds> = match count {
        None => set.pop_random(&mut ctx.srv.rng).into_iter().collect(),
        Some(0) => Vec::new(),
        // Everything: return the members in the set's own order (sorted for an intset).
        Some(_) if everything => {
            let all = set.iter().map(|m| m.to_sds()).collect();
            *set = Set::new_intset();
            all
        }
        Some(n) => (0..n)
            .filter_map(|_| set.pop_random(&mut ctx.srv.rng))
            .collect(),
    };
    // Replicas must remove the same members: SREM for each (or DEL for the whole set),
    // never the random SPOP itself.
    if !popped.is_empty() {
        if everything {
            propagate::rewrite(ctx, || vec![b"DEL".to_vec(), key.to_vec()]);
        } else if count.is_none() {
            propagate::rewrite(ctx, || {
                vec![b"SREM".to_vec(), key.to_vec(), popped[0].to_vec()]
            });
        } else {
            propagate::prevent(ctx);
            let db = ctx.db;
            for m in &popped {
                let srem = vec![b"SREM".to_vec(), key.to_vec(), m.to_vec()];
                propagate::also_propagate(ctx, db, srem);
            }
        }
    }
    match count {
        None => ctx
            .out
            .bulk(popped.first().map_or(&b""[..], |m| m.as_bytes())),
        Some(_) => {
            ctx.out.set_len(popped.len());
            for m in &popped {
                ctx.out.bulk(m);
            }
        }
    }
    if !popped.is_empty() {
        ctx.srv.dirty += popped.len() as u64;
        signal_modified_key(ctx, key);
        notify(ctx, NOTIFY_SET, "spop", key);
        delete_if_empty(ctx, key);
    }
    Ok(())
}

/// SRANDMEMBER key [count] — without count, one random member (or null). With a positive
/// count, up to `count` distinct members; with a negative one, exactly `-count` members that
/// may repeat. Nothing is removed.
fn srandmember_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    if argv.len() > 3 {
        return Err(CommandError::Syntax);
    }
    let count = argv.get(2).map(|a| random_count(a)).transpose()?;
    let set = set_for_read(&mut ctx.dbs[ctx.db], argv[1], ctx.now)?;
    let rng = &mut ctx.srv.rng;
    let out = &mut *ctx.out;
    let Some(count) = count else {
        match set.and_then(|s| s.random_member(rng)) {
            Some(m) => bulk_member(out, m),
            None => out.null(),
        }
        return Ok(());
    };
    let Some(set) = set else {
        out.empty_array();
        return Ok(());
    };
    if count < 0 {
        let n = count.unsigned_abs() as usize;
        out.array_len(n);
        set.random_members(rng, n, |m| bulk_member(out, m));
    } else if count as usize >= set.len() {
        out.array_len(set.len());
        for m in set.iter() {
            bulk_member(out, m);
        }
    } else {
        let picks = set.sample_positions(rng, count as usize);
        out.array_len(picks.len());
        for i in picks {
            if let Some(m) = set.get_index(i) {
                bulk_member(out, m);
            }
        }
    }
    Ok(())
}

/// SMOVE source destination member — 1 if moved, 0 if `member` was not in `source`.
fn smove_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let (src, dst, member) = (argv[1], argv[2], argv[3]);
    let now = ctx.now;
    let max_intset = ctx.srv.config.set_max_intset_entries;
    let db = &mut ctx.dbs[ctx.db];
    // Redis looks both keys up (expiring them) before anything else.
    db.expire_if_needed(src, now);
    db.expire_if_needed(dst, now);
    // Redis answers 0 for a missing source before type-checking the destination.
    if set_for_write(db, src, now)?.is_none() {
        ctx.out.integer(0);
        return Ok(());
    }
    let dst_exists = set_for_write(db, dst, now)?.is_some();
    if src == dst {
        let present = set_for_read(db, src, now)?.is_some_and(|s| s.contains(member));
        ctx.out.integer(present as i64);
        return Ok(());
    }
    let removed = match db.dict.get_mut(src).map(|o| &mut o.value) {
        Some(Value::Set(s)) => s.remove(member),
        _ => false,
    };
    if !removed {
        ctx.out.integer(0);
        return Ok(());
    }
    notify(ctx, NOTIFY_SET, "srem", src);
    delete_if_empty(ctx, src);
    let db = &mut ctx.dbs[ctx.db];
    if !dst_exists {
        db.add(dst, Value::Set(Set::new_for(member)), now);
    }
    let added = match db.dict.get_mut(dst).map(|o| &mut o.value) {
        Some(Value::Set(s)) => s.add(member, max_intset),
        _ => false,
    };
    signal_modified_key(ctx, src);
    ctx.srv.dirty += 1;
    // The destination changed only if the member was not already there: then, and only
    // then, it is touched for WATCH and fires `sadd` (Redis: `smoveCommand`).
    if added {
        ctx.srv.dirty += 1;
        signal_modified_key(ctx, dst);
        notify(ctx, NOTIFY_SET, "sadd", dst);
    }
    ctx.out.integer(1);
    Ok(())
}

/// Looks up every key as a set (missing keys are None); `WRONGTYPE` if any holds another
/// type. Each key is looked up once for expiry, type and hit/miss statistics; the references
/// are then taken together, which is possible because nothing mutates in between.
fn lookup_sets<'d>(
    db: &'d mut Db,
    keys: &[&[u8]],
    now: Ms,
    for_write: bool,
) -> Result<Vec<Option<&'d Set>>, CommandError> {
    for key in keys {
        if for_write {
            set_for_write(db, key, now)?;
        } else {
            set_for_read(db, key, now)?;
        }
    }
    let db: &'d Db = db;
    Ok(keys
        .iter()
        .map(|k| match db.dict.get(k).map(|o| &o.value) {
            Some(Value::Set(s)) => Some(s),
            _ => None,
        })
        .collect())
}

/// The members of the intersection, iterating the smallest set (Redis:
/// `sinterGenericCommand`). Stops after `limit` members when given (SINTERCARD LIMIT).
fn intersection<'s>(sets: &[&'s Set], limit: Option<usize>) -> Vec<Member<'s>> {
    let mut by_size: Vec<&Set> = sets.to_vec();
    by_size.sort_by_key(|s| s.len());
    let Some((smallest, others)) = by_size.split_first() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for m in smallest.iter() {
        let in_all = others
            .iter()
            .filter(|o| !std::ptr::eq(**o, *smallest))
            .all(|o| o.contains_member(m));
        if in_all {
            out.push(m);
            if limit.is_some_and(|l| out.len() >= l) {
                break;
            }
        }
    }
    out
}

/// Builds a result set the way Redis does: starting as an intset, converting as needed.
fn build_set<'s>(members: impl IntoIterator<Item = Member<'s>>, max_intset: usize) -> Set {
    let mut result = Set::new_intset();
    for m in members {
        result.add_member(m, max_intset);
    }
    result
}

/// Replies with a set result (set reply type).
fn reply_set(out: &mut ReplyBuffer, set: &Set) {
    out.set_len(set.len());
    for m in set.iter() {
        bulk_member(out, m);
    }
}

/// Stores a *STORE result at `dst` (or deletes `dst` if the result is empty) and replies with
/// its size. `event` is the store command's keyspace event.
fn store_result(ctx: &mut Ctx, dst: &[u8], result: Set, event: &str) {
    let n = result.len();
    let db = &mut ctx.dbs[ctx.db];
    if n > 0 {
        db.set(dst, Value::Set(result), ctx.now, false);
        ctx.out.integer(n as i64);
        signal_modified_key(ctx, dst);
        notify(ctx, NOTIFY_SET, event, dst);
        ctx.srv.dirty += 1;
    } else {
        ctx.out.integer(0);
        if db.remove(dst).is_some() {
            ctx.srv.dirty += 1;
            signal_modified_key(ctx, dst);
            notify(ctx, NOTIFY_GENERIC, "del", dst);
        }
    }
}

/// SINTER key [key ...] — the members common to every set (a set reply).
fn sinter_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let sets = lookup_sets(&mut ctx.dbs[ctx.db], &argv[1..], ctx.now, false)?;
    let sets: Option<Vec<&Set>> = sets.into_iter().collect();
    match sets {
        // An intersection with a missing (empty) set is empty.
        None => ctx.out.set_len(0),
        Some(sets) => {
            let members = intersection(&sets, None);
            // Redis replies in iteration order of the smallest set; no result set is built.
            ctx.out.set_len(members.len());
            for m in members {
                bulk_member(ctx.out, m);
            }
        }
    }
    Ok(())
}

/// SINTERSTORE destination key [key ...] — stores the intersection; its size.
fn sinterstore_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let max_intset = ctx.srv.config.set_max_intset_entries;
    let sets = lookup_sets(&mut ctx.dbs[ctx.db], &argv[2..], ctx.now, true)?;
    let result = match sets.into_iter().collect::<Option<Vec<&Set>>>() {
        None => Set::new_intset(),
        Some(sets) => build_set(intersection(&sets, None), max_intset),
    };
    store_result(ctx, argv[1], result, "sinterstore");
    Ok(())
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit] — the size of the intersection, counting at
/// most `limit` members (0 = no limit).
fn sintercard_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let numkeys = args::int(argv[1])
        .ok()
        .filter(|&n| n >= 1)
        .ok_or(CommandError::Err("numkeys should be greater than 0"))? as usize;
    if numkeys > argv.len() - 2 {
        return Err(CommandError::Err(
            "Number of keys can't be greater than number of args",
        ));
    }
    let mut limit = 0;
    let mut i = 2 + numkeys;
    while i < argv.len() {
        if args::is(argv[i], "LIMIT") && i + 1 < argv.len() {
            limit = args::int(argv[i + 1])
                .ok()
                .filter(|&n| n >= 0)
                .ok_or(CommandError::Err("LIMIT can't be negative"))?;
            i += 2;
        } else {
            return Err(CommandError::Syntax);
        }
    }
    let keys = &argv[2..2 + numkeys];
    let sets = lookup_sets(&mut ctx.dbs[ctx.db], keys, ctx.now, false)?;
    let n = match sets.into_iter().collect::<Option<Vec<&Set>>>() {
        None => 0,
        Some(sets) => intersection(&sets, (limit > 0).then_some(limit as usize)).len(),
    };
    ctx.out.integer(n as i64);
    Ok(())
}

#[derive(Clone, Copy, PartialEq)]
enum SetOp {
    Union,
    Diff,
}

/// The union or difference of `sets` (missing keys are empty). Redis: `sunionDiffGenericCommand`.
fn union_diff(sets: &[Option<&Set>], op: SetOp, max_intset: usize) -> Set {
    match op {
        SetOp::Union => build_set(sets.iter().flatten().flat_map(|s| s.iter()), max_intset),
        SetOp::Diff => {
            let Some(Some(first)) = sets.first() else {
                return Set::new_intset();
            };
            let others: Vec<&Set> = sets[1..].iter().flatten().copied().collect();
            // A key named twice (SDIFF a a) subtracts the set from itself.
            if others.iter().any(|o| std::ptr::eq(*o, *first)) {
                return Set::new_intset();
            }
            build_set(
                first
                    .iter()
                    .filter(|m| !others.iter().any(|o| o.contains_member(*m))),
                max_intset,
            )
        }
    }
}

fn union_diff_command(ctx: &mut Ctx, keys: &[&[u8]], op: SetOp) -> CommandResult {
    let max_intset = ctx.srv.config.set_max_intset_entries;
    let sets = lookup_sets(&mut ctx.dbs[ctx.db], keys, ctx.now, false)?;
    let result = union_diff(&sets, op, max_intset);
    reply_set(ctx.out, &result);
    Ok(())
}

fn union_diff_store_command(ctx: &mut Ctx, argv: &[&[u8]], op: SetOp) -> CommandResult {
    let max_intset = ctx.srv.config.set_max_intset_entries;
    let sets = lookup_sets(&mut ctx.dbs[ctx.db], &argv[2..], ctx.now, true)?;
    let result = union_diff(&sets, op, max_intset);
    let event = if op == SetOp::Union {
        "sunionstore"
    } else {
        "sdiffstore"
    };
    store_result(ctx, argv[1], result, event);
    Ok(())
}

/// SUNION key [key ...] — every member of any set (a set reply).
fn sunion_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    union_diff_command(ctx, &argv[1..], SetOp::Union)
}

/// SUNIONSTORE destination key [key ...] — stores the union; its size.
fn sunionstore_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    union_diff_store_command(ctx, argv, SetOp::Union)
}

/// SDIFF key [key ...] — the members of the first set in none of the others (a set reply).
fn sdiff_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    union_diff_command(ctx, &argv[1..], SetOp::Diff)
}

/// SDIFFSTORE destination key [key ...] — stores the difference; its size.
fn sdiffstore_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    union_diff_store_command(ctx, argv, SetOp::Diff)
}

/// SSCAN key cursor [MATCH pattern] [COUNT count] — `[next cursor, [member, ...]]`. An intset
/// is returned whole with cursor 0, as Redis does.
fn sscan_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let cursor = parse_scan_cursor(argv[2])?;
    let Some(set) = set_for_read(&mut ctx.dbs[ctx.db], argv[1], ctx.now)? else {
        reply_scan(ctx.out, 0, &[]);
        return Ok(());
    };
    let opts = ScanOptions::parse(argv, 3, false)?;
    let mut items: Vec<Sds> = Vec::new();
    let next = set.scan(cursor, opts.count, |m| {
        m.with_bytes(|b| {
            if opts.matches(b) {
                items.push(Sds::new(b));
            }
        })
    });
    let refs: Vec<&[u8]> = items.iter().map(|s| s.as_bytes()).collect();
    reply_scan(ctx.out, next, &refs);
    Ok(())
}
