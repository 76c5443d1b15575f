//! String commands (Redis: `t_string.c`).
//!
//! A string value is an [`Sds`]: binary-safe bytes of up to 512 MB. Integers are not a separate
//! type: INCR parses the bytes with Redis's strict rules, adds, and stores the decimal text back.
//! Each handler validates every argument first, then mutates, then replies once, so a bad
//! option (`SET k v EX notanumber`) leaves the key untouched.

use super::args;
use super::error::{CommandError, CommandResult};
use super::keyspec::{key_flags::*, GetKeys, KeySpec};
use super::notify::{NOTIFY_GENERIC, NOTIFY_STRING};
use super::propagate;
use super::table::{flags::*, CommandSpec};
use super::{get_string, notify, signal_modified_key, Ctx};
use crate::db::value::Value;
use crate::db::Ms;
use crate::types::sds::Sds;
use crate::util::{parse_i64, write_i64, LongDouble, I64_BUF};

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("get", get_command, 2, READONLY | FAST, "string")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .doc("Returns the string value of a key.", "1.0.0"),
    CommandSpec::new("set", set_command, -3, WRITE | DENYOOM, "string")
        .key_specs(&[
            KeySpec::at(1, RW | ACCESS | UPDATE | VARIABLE_FLAGS)
                .notes("RW and ACCESS due to the optional `GET` argument"),
        ])
        .getkeys(GetKeys::Set)
        .doc(
            "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.",
            "1.0.0",
        ),
    CommandSpec::new("setnx", setnx_command, 3, WRITE | DENYOOM | FAST, "string")
        .key_specs(&[KeySpec::at(1, OW | INSERT)])
        .doc(
            "Set the string value of a key only when the key doesn't exist.",
            "1.0.0",
        ),
    CommandSpec::new("setex", setex_command, 4, WRITE | DENYOOM, "string")
        .key_specs(&[KeySpec::at(1, OW | UPDATE)])
        .doc(
            "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.",
            "2.0.0",
        ),
    CommandSpec::new("psetex", psetex_command, 4, WRITE | DENYOOM, "string")
        .key_specs(&[KeySpec::at(1, OW | UPDATE)])
        .doc(
            "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.",
            "2.6.0",
        ),
    CommandSpec::new("getset", getset_command, 3, WRITE | DENYOOM | FAST, "string")
        .key_specs(&[KeySpec::at(1, RW | ACCESS | UPDATE)])
        .doc(
            "Returns the previous string value of a key after setting it to a new value.",
            "1.0.0",
        ),
    CommandSpec::new("getdel", getdel_command, 2, WRITE | FAST, "string")
        .key_specs(&[KeySpec::at(1, RW | ACCESS | DELETE)])
        .doc(
            "Returns the string value of a key after deleting the key.",
            "6.2.0",
        ),
    CommandSpec::new("getex", getex_command, -2, WRITE | FAST, "string")
        .key_specs(&[
            KeySpec::at(1, RW | ACCESS | UPDATE).notes("RW and UPDATE because it changes the TTL"),
        ])
        .doc(
            "Returns the string value of a key after setting its expiration time.",
            "6.2.0",
        ),
    CommandSpec::new("mget", mget_command, -2, READONLY | FAST, "string")
        .key_specs(&[KeySpec::at(1, RO | ACCESS).range(-1, 1, 0)])
        .tips(&["request_policy:multi_shard"])
        .doc("Atomically returns the string values of one or more keys.", "1.0.0"),
    CommandSpec::new("mset", mset_command, -3, WRITE | DENYOOM, "string")
        .key_specs(&[KeySpec::at(1, OW | UPDATE).range(-1, 2, 0)])
        .tips(&["request_policy:multi_shard", "response_policy:all_succeeded"])
        .doc("Atomically creates or modifies the string values of one or more keys.", "1.0.1"),
    CommandSpec::new("msetnx", msetnx_command, -3, WRITE | DENYOOM, "string")
        .key_specs(&[KeySpec::at(1, OW | INSERT).range(-1, 2, 0)])
        .tips(&["request_policy:multi_shard", "response_policy:agg_min"])
        .doc(
            "Atomically modifies the string values of one or more keys only when all keys don't exist.",
            "1.0.1",
        ),
    CommandSpec::new("append", append_command, 3, WRITE | DENYOOM | FAST, "string")
        .key_specs(&[KeySpec::at(1, RW | INSERT)])
        .doc(
            "Appends a string to the value of a key. Creates the key if it doesn't exist.",
            "2.0.0",
        ),
    CommandSpec::new("strlen", strlen_command, 2, READONLY | FAST, "string")
        .key_specs(&[KeySpec::at(1, RO)])
        .doc("Returns the length of a string value.", "2.2.0"),
    CommandSpec::new("incr", incr_command, 2, WRITE | DENYOOM | FAST, "string")
        .key_specs(&[KeySpec::at(1, RW | ACCESS | UPDATE)])
        .doc(
            "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
            "1.0.0",
        ),
    CommandSpec::new("decr", decr_command, 2, WRITE | DENYOOM | FAST, "string")
        .key_specs(&[KeySpec::at(1, RW | ACCESS | UPDATE)])
        .doc(
            "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
            "1.0.0",
        ),
    CommandSpec::new("incrby", incrby_command, 3, WRITE | DENYOOM | FAST, "string")
        .key_specs(&[KeySpec::at(1, RW | ACCESS | UPDATE)])
        .doc(
            "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.",
            "1.0.0",
        ),
    CommandSpec::new("decrby", decrby_command, 3, WRITE | DENYOOM | FAST, "string")
        .key_specs(&[KeySpec::at(1, RW | ACCESS | UPDATE)])
        .doc(
            "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.",
            "1.0.0",
        ),
    CommandSpec::new(
        "incrbyfloat",
        incrbyfloat_command,
        3,
        WRITE | DENYOOM | FAST,
        "string",
    )
    .key_specs(&[KeySpec::at(1, RW | ACCESS | UPDATE)])
    .doc(
        "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.",
        "2.6.0",
    ),
    CommandSpec::new("getrange", getrange_command, 4, READONLY, "string")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .doc("Returns a substring of the string stored at a key.", "2.4.0"),
    CommandSpec::new("substr", getrange_command, 4, READONLY, "string")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .doc("Returns a substring from a string value.", "1.0.0"),
    CommandSpec::new("setrange", setrange_command, 4, WRITE | DENYOOM, "string")
        .key_specs(&[KeySpec::at(1, RW | UPDATE)])
        .doc(
            "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.",
            "2.2.0",
        ),
    CommandSpec::new("lcs", lcs_command, -3, READONLY, "string")
        .key_specs(&[KeySpec::at(1, RO | ACCESS).range(1, 1, 0)])
        .doc("Finds the longest common substring.", "7.0.0"),
];

/// GET key — bulk string, or null if the key does not exist.
fn get_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let db = &mut ctx.dbs[ctx.db];
    match get_string(db, argv[1], ctx.now)? {
        Some(v) => ctx.out.bulk(v),
        None => ctx.out.null(),
    }
    Ok(())
}

/// When a SET-family command makes its key expire.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Expiry {
    /// Remove any TTL (plain SET).
    Clear,
    /// Keep the existing TTL (KEEPTTL).
    Keep,
    /// Absolute Unix time in milliseconds.
    At(Ms),
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum SetCondition {
    Always,
    /// NX: only if the key does not exist.
    IfAbsent,
    /// XX: only if the key exists.
    IfPresent,
}

/// Turns a relative or absolute expire argument into an absolute time, with Redis's checks
/// (must be positive, must not overflow). `unit_ms` is 1000 for seconds, 1 for milliseconds.
pub fn expire_at(
    arg: &[u8],
    unit_ms: i64,
    absolute: bool,
    now: Ms,
    cmd: &'static str,
) -> Result<Ms, CommandError> {
    let n = args::int(arg)?;
    if n <= 0 {
        return Err(CommandError::InvalidExpireTime(cmd));
    }
    let ms = n
        .checked_mul(unit_ms)
        .ok_or(CommandError::InvalidExpireTime(cmd))?;
    if absolute {
        Ok(ms)
    } else {
        ms.checked_add(now)
            .ok_or(CommandError::InvalidExpireTime(cmd))
    }
}

/// The one implementation behind SET, SETNX, SETEX, PSETEX and GETSET (Redis:
/// `setGenericCommand`). Returns whether the value was written. With `reply_old`, the previous
/// value (or null) is the reply instead of OK; `WRONGTYPE` if it is not a string.
pub fn set_generic(
    ctx: &mut Ctx,
    key: &[u8],
    value: &[u8],
    condition: SetCondition,
    expiry: Expiry,
    reply_old: bool,
) -> Result<bool, CommandError> {
    let now = ctx.now;
    let db = &mut ctx.dbs[ctx.db];
    let existing = db.lookup_write(key, now);
    let exists = existing.is_some();
    if reply_old {
        match existing {
            Some(obj) => match &obj.value {
                Value::Str(old) => ctx.out.bulk(old),
                _ => return Err(CommandError::WrongType),
            },
            None => ctx.out.null(),
        }
    }
    let allowed = match condition {
        SetCondition::Always => true,
        SetCondition::IfAbsent => !exists,
        SetCondition::IfPresent => exists,
    };
    if !allowed {
        return Ok(false);
    }
    db.set(
        key,
        Value::Str(Sds::new(value)),
        now,
        expiry == Expiry::Keep,
    );
    if let Expiry::At(when) = expiry {
        db.set_expire(key, when);
    }
    ctx.srv.dirty += 1;
    signal_modified_key(ctx, key);
    notify(ctx, NOTIFY_STRING, "set", key);
    if let Expiry::At(_) = expiry {
        notify(ctx, NOTIFY_GENERIC, "expire", key);
    }
    // A SET with an EXAT/PXAT already in the past stores the key anyway: like Redis 7.0, it is
    // logically gone at once (every read expires it) and physically removed by expiry.
    Ok(true)
}

/// Which command [`parse_extended_string_args`] parses for: SET accepts NX/XX/GET/KEEPTTL,
/// GETEX accepts PERSIST; both accept EX/PX/EXAT/PXAT.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ExtendedFor {
    Set,
    Getex,
}

/// The options of SET and GETEX after parsing.
#[derive(Default)]
struct ExtendedArgs<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    persist: bool,
    /// The expire option (`(multiplier to ms, absolute?)`) and its unparsed argument.
    expire: Option<((i64, bool), &'a [u8])>,
}

/// Parses `[NX | XX] [GET] [EX s | PX ms | EXAT ts | PXAT ts | KEEPTTL | PERSIST]` from
/// `argv[start..]` with Redis's exact rules (`parseExtendedStringArgumentsOrReply`): a
/// conflicting option is a syntax error, but repeating the *same* option is allowed and the
/// last expire argument wins. The expire number itself is checked later by [`expire_at`], so
/// `SET k v EX abc EX 10` succeeds just as it does in Redis.
fn parse_extended_string_args<'a>(
    argv: &[&'a [u8]],
    start: usize,
    cmd: ExtendedFor,
) -> Result<ExtendedArgs<'a>, CommandError> {
    let mut a = ExtendedArgs::default();
    let mut i = start;
    while i < argv.len() {
        let opt = argv[i];
        let next = argv.get(i + 1).copied();
        let unit = if args::is(opt, "EX") {
            Some((1000, false))
        } else if args::is(opt, "PX") {
            Some((1, false))
        } else if args::is(opt, "EXAT") {
            Some((1000, true))
        } else if args::is(opt, "PXAT") {
            Some((1, true))
        } else {
            None
        };
        let other_unit = |u| matches!(a.expire, Some((v, _)) if v != u);
        if args::is(opt, "NX") && !a.xx && cmd == ExtendedFor::Set {
            a.nx = true;
        } else if args::is(opt, "XX") && !a.nx && cmd == ExtendedFor::Set {
            a.xx = true;
        } else if args::is(opt, "GET") && cmd == ExtendedFor::Set {
            a.get = true;
        } else if args::is(opt, "KEEPTTL")
            && cmd == ExtendedFor::Set
            && !a.persist
            && a.expire.is_none()
        {
            a.keepttl = true;
        } else if args::is(opt, "PERSIST")
            && cmd == ExtendedFor::Getex
            && !a.keepttl
            && a.expire.is_none()
        {
            a.persist = true;
        } else if let (Some(u), Some(arg)) = (unit, next) {
            if a.keepttl || a.persist || other_unit(u) {
                return Err(CommandError::Syntax);
            }
            a.expire = Some((u, arg));
            i += 1;
        } else {
            return Err(CommandError::Syntax);
        }
        i += 1;
    }
    Ok(a)
}

/// The absolute expire time an [`ExtendedArgs`] asks for, validated (`invalid expire time`).
fn extended_expiry(
    a: &ExtendedArgs,
    now: Ms,
    cmd: &'static str,
) -> Result<Option<Ms>, CommandError> {
    match a.expire {
        Some(((unit_ms, absolute), arg)) => Ok(Some(expire_at(arg, unit_ms, absolute, now, cmd)?)),
        None => Ok(None),
    }
}

/// SET key value [NX | XX] [GET] [EX s | PX ms | EXAT ts | PXAT ts | KEEPTTL]
/// — OK; null if NX/XX prevented the write; with GET, the old value (or null).
fn set_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let a = parse_extended_string_args(argv, 3, ExtendedFor::Set)?;
    let expiry = match extended_expiry(&a, ctx.now, "set")? {
        Some(when) => Expiry::At(when),
        None if a.keepttl => Expiry::Keep,
        None => Expiry::Clear,
    };
    let condition = if a.nx {
        SetCondition::IfAbsent
    } else if a.xx {
        SetCondition::IfPresent
    } else {
        SetCondition::Always
    };
    let written = set_generic(ctx, argv[1], argv[2], condition, expiry, a.get)?;
    if let (true, Expiry::At(when)) = (written, expiry) {
        propagate::rewrite(ctx, || set_pxat(argv[1], argv[2], when));
    } else if written && a.get {
        // Replicas need no reply: the GET options go (Redis skips every "GET" after the value).
        propagate::rewrite(ctx, || {
            let kept = argv.iter().enumerate();
            let kept = kept.filter(|&(i, a)| i < 3 || !args::is(a, "GET"));
            kept.map(|(_, a)| a.to_vec()).collect()
        });
    }
    if !a.get {
        if written {
            ctx.out.ok();
        } else {
            ctx.out.null();
        }
    }
    Ok(())
}

/// SETNX key value — 1 if the key was set, 0 if it already existed.
fn setnx_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let written = set_generic(
        ctx,
        argv[1],
        argv[2],
        SetCondition::IfAbsent,
        Expiry::Clear,
        false,
    )?;
    ctx.out.integer(written as i64);
    Ok(())
}

/// SETEX key seconds value — OK.
fn setex_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    setex_generic(ctx, argv, 1000, "setex")
}

/// PSETEX key milliseconds value — OK.
fn psetex_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    setex_generic(ctx, argv, 1, "psetex")
}

/// SETEX and PSETEX: SET with a relative expire in `unit_ms` units.
fn setex_generic(ctx: &mut Ctx, argv: &[&[u8]], unit_ms: i64, name: &'static str) -> CommandResult {
    let when = expire_at(argv[2], unit_ms, false, ctx.now, name)?;
    let (key, value) = (argv[1], argv[3]);
    set_generic(
        ctx,
        key,
        value,
        SetCondition::Always,
        Expiry::At(when),
        false,
    )?;
    propagate::rewrite(ctx, || set_pxat(key, value, when));
    ctx.out.ok();
    Ok(())
}

/// `SET key value PXAT when`: how every SET with a TTL reaches replicas (an absolute time in
/// ms, so that the replica's clock and the delay of the stream do not matter).
fn set_pxat(key: &[u8], value: &[u8], when: Ms) -> Vec<Vec<u8>> {
    let when = when.to_string().into_bytes();
    vec![
        b"SET".to_vec(),
        key.to_vec(),
        value.to_vec(),
        b"PXAT".to_vec(),
        when,
    ]
}

/// GETSET key value — the old value (or null); the key's TTL is cleared.
fn getset_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    set_generic(
        ctx,
        argv[1],
        argv[2],
        SetCondition::Always,
        Expiry::Clear,
        true,
    )?;
    propagate::rewrite(ctx, || {
        vec![b"SET".to_vec(), argv[1].to_vec(), argv[2].to_vec()]
    });
    Ok(())
}

/// GETDEL key — the value (or null), and the key is deleted.
fn getdel_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let key = argv[1];
    let db = &mut ctx.dbs[ctx.db];
    match get_string(db, key, ctx.now)? {
        None => {
            ctx.out.null();
            return Ok(());
        }
        Some(v) => ctx.out.bulk(v),
    }
    db.remove(key);
    ctx.srv.dirty += 1;
    let del: &[u8] = if ctx.srv.config.lazyfree_lazy_user_del {
        b"UNLINK"
    } else {
        b"DEL"
    };
    propagate::rewrite(ctx, || vec![del.to_vec(), key.to_vec()]);
    signal_modified_key(ctx, key);
    notify(ctx, NOTIFY_GENERIC, "del", key);
    Ok(())
}

/// GETEX key [EX s | PX ms | EXAT ts | PXAT ts | PERSIST] — the value (or null), after
/// changing the key's TTL as asked. An EXAT/PXAT in the past deletes the key.
fn getex_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let key = argv[1];
    let a = parse_extended_string_args(argv, 2, ExtendedFor::Getex)?;
    // Redis's order: option syntax, then the key (null / WRONGTYPE), then the expire value.
    let db = &mut ctx.dbs[ctx.db];
    if get_string(db, key, ctx.now)?.is_none() {
        ctx.out.null();
        return Ok(());
    }
    let when = extended_expiry(&a, ctx.now, "getex")?;
    let db = &mut ctx.dbs[ctx.db];
    if let Some(Value::Str(v)) = db.dict.get(key).map(|o| &o.value) {
        ctx.out.bulk(v);
    }
    if let Some(when) = when {
        if super::check_already_expired(ctx.srv, ctx.now, when) {
            db.remove(key);
            ctx.srv.dirty += 1;
            let lazy = ctx.srv.config.lazyfree_lazy_expire;
            propagate::rewrite(ctx, || super::keyspace::deletion_command(lazy, key));
            signal_modified_key(ctx, key);
            notify(ctx, NOTIFY_GENERIC, "del", key);
        } else {
            db.set_expire(key, when);
            ctx.srv.dirty += 1;
            propagate::rewrite(ctx, || {
                let when = when.to_string().into_bytes();
                vec![b"PEXPIREAT".to_vec(), key.to_vec(), when]
            });
            signal_modified_key(ctx, key);
            notify(ctx, NOTIFY_GENERIC, "expire", key);
        }
    } else if a.persist && db.remove_expire(key) {
        ctx.srv.dirty += 1;
        propagate::rewrite(ctx, || vec![b"PERSIST".to_vec(), key.to_vec()]);
        signal_modified_key(ctx, key);
        notify(ctx, NOTIFY_GENERIC, "persist", key);
    }
    Ok(())
}

/// MGET key [key ...] — an array with each value, or null for a missing or non-string key.
fn mget_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let db = &mut ctx.dbs[ctx.db];
    ctx.out.array_len(argv.len() - 1);
    for key in &argv[1..] {
        match db.lookup_read(key, ctx.now, true) {
            Some(obj) => match &obj.value {
                Value::Str(v) => ctx.out.bulk(v),
                _ => ctx.out.null(),
            },
            None => ctx.out.null(),
        }
    }
    Ok(())
}

/// MSET key value [key value ...] — OK.
fn mset_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    mset_generic(ctx, argv, false)
}

/// MSETNX key value [key value ...] — 1 if every key was set, 0 (and nothing set) if any of
/// them already existed.
fn msetnx_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    mset_generic(ctx, argv, true)
}

/// MSET and MSETNX (Redis: `msetGenericCommand`).
fn mset_generic(ctx: &mut Ctx, argv: &[&[u8]], nx: bool) -> CommandResult {
    if argv.len().is_multiple_of(2) {
        return Err(CommandError::WrongArity(args::text(argv[0]).to_lowercase()));
    }
    let now = ctx.now;
    if nx {
        let db = &mut ctx.dbs[ctx.db];
        if argv[1..]
            .chunks(2)
            .any(|kv| db.lookup_write(kv[0], now).is_some())
        {
            ctx.out.integer(0);
            return Ok(());
        }
    }
    for kv in argv[1..].chunks(2) {
        let (key, value) = (kv[0], kv[1]);
        ctx.dbs[ctx.db].set(key, Value::Str(Sds::new(value)), now, false);
        signal_modified_key(ctx, key);
        notify(ctx, NOTIFY_STRING, "set", key);
    }
    ctx.srv.dirty += (argv.len() as u64 - 1) / 2;
    if nx {
        ctx.out.integer(1);
    } else {
        ctx.out.ok();
    }
    Ok(())
}

/// Refuses a string that would grow past `proto-max-bulk-len` (Redis: `checkStringLength`).
fn check_string_length(ctx: &Ctx, size: usize, append: usize) -> CommandResult {
    let limit = ctx.srv.config.proto_max_bulk_len.max(0) as u64;
    match (size as u64).checked_add(append as u64) {
        Some(total) if total <= limit => Ok(()),
        _ => Err(CommandError::Err(
            "string exceeds maximum allowed size (proto-max-bulk-len)",
        )),
    }
}

/// The string value stored at `key` for modification: `WRONGTYPE` if it holds another type,
/// None if it is missing. Redis: `lookupKeyWrite` + `checkType`.
fn string_for_write<'d>(
    db: &'d mut crate::db::Db,
    key: &[u8],
    now: Ms,
) -> Result<Option<&'d mut Sds>, CommandError> {
    Ok(db.lookup_write_as(key, now)?)
}

/// APPEND key value — the length of the string after the append.
fn append_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let (key, extra) = (argv[1], argv[2]);
    let now = ctx.now;
    let current_len = string_for_write(&mut ctx.dbs[ctx.db], key, now)?.map(|s| s.len());
    let total = match current_len {
        None => {
            ctx.dbs[ctx.db].add(key, Value::Str(Sds::new(extra)), now);
            extra.len()
        }
        Some(len) => {
            check_string_length(ctx, len, extra.len())?;
            if let Some(s) = string_for_write(&mut ctx.dbs[ctx.db], key, now)? {
                let mut bytes = sds_into_vec(std::mem::take(s));
                bytes.extend_from_slice(extra);
                *s = Sds::from_vec(bytes);
            }
            ctx.dbs[ctx.db].mark_raw(key);
            len + extra.len()
        }
    };
    ctx.srv.dirty += 1;
    signal_modified_key(ctx, key);
    notify(ctx, NOTIFY_STRING, "append", key);
    ctx.out.integer(total as i64);
    Ok(())
}

/// STRLEN key — the length of the value, 0 if the key is missing.
fn strlen_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let db = &mut ctx.dbs[ctx.db];
    let len = get_string(db, argv[1], ctx.now)?.map_or(0, |s| s.len());
    ctx.out.integer(len as i64);
    Ok(())
}

/// INCR key — the value after adding 1.
fn incr_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    incr_decr(ctx, argv[1], 1)
}

/// DECR key — the value after subtracting 1.
fn decr_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    incr_decr(ctx, argv[1], -1)
}

/// INCRBY key increment — the value after the addition.
fn incrby_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let by = args::int(argv[2])?;
    incr_decr(ctx, argv[1], by)
}

/// DECRBY key decrement — the value after the subtraction.
fn decrby_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let by = args::int(argv[2])?;
    // -i64::MIN does not exist; Redis refuses it with its own message.
    let by = by
        .checked_neg()
        .ok_or(CommandError::Err("decrement would overflow"))?;
    incr_decr(ctx, argv[1], by)
}

/// The one implementation behind INCR, DECR, INCRBY and DECRBY (Redis:
/// `incrDecrCommand`). A missing key counts as 0; the key's TTL is kept.
fn incr_decr(ctx: &mut Ctx, key: &[u8], by: i64) -> CommandResult {
    let now = ctx.now;
    let db = &mut ctx.dbs[ctx.db];
    let current = match string_for_write(db, key, now)? {
        None => None,
        Some(s) => Some(parse_i64(s).ok_or(CommandError::NotInteger)?),
    };
    let value = current
        .unwrap_or(0)
        .checked_add(by)
        .ok_or(CommandError::IncrOverflow)?;
    let mut buf = [0u8; I64_BUF];
    let text = Sds::new(write_i64(value, &mut buf));
    store_string(db, key, text, now);
    ctx.srv.dirty += 1;
    signal_modified_key(ctx, key);
    notify(ctx, NOTIFY_STRING, "incrby", key);
    ctx.out.integer(value);
    Ok(())
}

/// Stores a string value: in place if the key exists (its TTL, access time and key
/// allocation are kept), as a new key otherwise. Redis: `dbOverwrite` / `dbAdd`.
fn store_string(db: &mut crate::db::Db, key: &[u8], value: Sds, now: Ms) {
    match db.dict.get_mut(key) {
        Some(obj) => {
            obj.value = Value::Str(value);
            obj.raw = false;
        }
        None => {
            db.add(key, Value::Str(value), now);
        }
    }
}

/// INCRBYFLOAT key increment — the new value as a bulk string, printed without exponent and
/// trailing zeros. A missing key counts as 0; the TTL is kept. The arithmetic is C `long
/// double`, as in Redis (see `util::LongDouble`), so the stored text matches Redis's byte for
/// byte. Redis looks the key up before it parses the increment: a key of another type replies
/// WRONGTYPE even when the increment is not a number.
fn incrbyfloat_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let key = argv[1];
    let now = ctx.now;
    let db = &mut ctx.dbs[ctx.db];
    let current = match string_for_write(db, key, now)? {
        None => LongDouble::ZERO,
        Some(s) => LongDouble::parse(s).ok_or(CommandError::NotFloat)?,
    };
    let by = LongDouble::parse(argv[2]).ok_or(CommandError::NotFloat)?;
    let value = current + by;
    if !value.is_finite() {
        return Err(CommandError::Err("increment would produce NaN or Infinity"));
    }
    let text = value.to_human_string();
    store_string(db, key, Sds::new(text.as_bytes()), now);
    ctx.srv.dirty += 1;
    // The result, not the increment: replicas must not redo the float arithmetic.
    propagate::rewrite(ctx, || {
        let value = text.as_bytes().to_vec();
        vec![b"SET".to_vec(), key.to_vec(), value, b"KEEPTTL".to_vec()]
    });
    signal_modified_key(ctx, key);
    notify(ctx, NOTIFY_STRING, "incrbyfloat", key);
    ctx.out.bulk(text.as_bytes());
    Ok(())
}

/// GETRANGE key start end (and its old name SUBSTR) — the bytes from `start` to `end`
/// inclusive; negative offsets count from the end; empty string when out of range or missing.
fn getrange_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let start = args::int(argv[2])?;
    let end = args::int(argv[3])?;
    let db = &mut ctx.dbs[ctx.db];
    let value: &[u8] = get_string(db, argv[1], ctx.now)?.map_or(&[], |s| s.as_bytes());
    ctx.out.bulk(byte_range(value, start, end));
    Ok(())
}

/// The slice GETRANGE returns, with Redis's clamping rules (`getrangeCommand`).
fn byte_range(s: &[u8], start: i64, end: i64) -> &[u8] {
    let len = s.len() as i64;
    if (start < 0 && end < 0 && start > end) || len == 0 {
        return &[];
    }
    let start = if start < 0 {
        (len + start).max(0)
    } else {
        start
    };
    let end = if end < 0 {
        (len + end).max(0)
    } else {
        end.min(len - 1)
    };
    if start > end {
        return &[];
    }
    s.get(start as usize..=end as usize).unwrap_or(&[])
}

/// SETRANGE key offset value — the string's length after writing `value` at `offset`,
/// zero-padding the gap. An empty `value` changes nothing (and creates no key).
fn setrange_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let (key, value) = (argv[1], argv[3]);
    let offset = args::int(argv[2])?;
    if offset < 0 {
        return Err(CommandError::Err("offset is out of range"));
    }
    let offset = offset as usize;
    let now = ctx.now;
    let current_len = string_for_write(&mut ctx.dbs[ctx.db], key, now)?.map(|s| s.len());
    if value.is_empty() {
        ctx.out.integer(current_len.unwrap_or(0) as i64);
        return Ok(());
    }
    check_string_length(ctx, offset, value.len())?;
    let new_len = current_len.unwrap_or(0).max(offset + value.len());
    let db = &mut ctx.dbs[ctx.db];
    match string_for_write(db, key, now)? {
        Some(s) => {
            let mut bytes = sds_into_vec(std::mem::take(s));
            if bytes.len() < new_len {
                bytes.resize(new_len, 0);
            }
            bytes[offset..offset + value.len()].copy_from_slice(value);
            *s = Sds::from_vec(bytes);
        }
        None => {
            let mut bytes = vec![0u8; new_len];
            bytes[offset..].copy_from_slice(value);
            db.add(key, Value::Str(Sds::from_vec(bytes)), now);
        }
    }
    db.mark_raw(key);
    ctx.srv.dirty += 1;
    signal_modified_key(ctx, key);
    notify(ctx, NOTIFY_STRING, "setrange", key);
    ctx.out.integer(new_len as i64);
    Ok(())
}

/// The bytes of an `Sds` as a growable buffer, without copying a heap string.
fn sds_into_vec(s: Sds) -> Vec<u8> {
    match s {
        Sds::Heap(b) => b.into_vec(),
        inline => inline.as_bytes().to_vec(),
    }
}

// LCS: the longest common subsequence of two strings (Redis: `lcsCommand`).
//
// The classic dynamic programme: `table[i][j]` is the length of the LCS of the first `i` bytes
// of `a` and the first `j` bytes of `b`. It is `table[i-1][j-1] + 1` when `a[i-1] == b[j-1]`
// (extend the common subsequence by that byte) and otherwise the larger of `table[i-1][j]` and
// `table[i][j-1]` (drop the last byte of one string). Filling it costs O(|a|·|b|) time and
// 4·(|a|+1)·(|b|+1) bytes, which Redis caps at `proto-max-bulk-len`.
//
// The subsequence itself is read backwards from `table[|a|][|b|]`: on equal bytes take the byte
// and step diagonally, otherwise step towards the larger neighbour. IDX also reports the matched
// *ranges*: runs of diagonal steps that are contiguous in both strings, emitted as soon as a run
// is broken, so they come out from the end of the strings towards the start — exactly the order
// Redis prints them in.

/// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]
/// — the LCS string; with LEN its length; with IDX a map `matches` (each `[[a_start, a_end],
/// [b_start, b_end]]` plus the length WITHMATCHLEN) and `len`.
fn lcs_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let now = ctx.now;
    let db = &mut ctx.dbs[ctx.db];
    // Both keys are looked up (and type-checked) before any option is parsed, as in Redis.
    let mut strings: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
    let mut wrong_type = false;
    for (slot, key) in strings.iter_mut().zip(&argv[1..3]) {
        match db.lookup_read(key, now, true) {
            None => {}
            Some(obj) => match &obj.value {
                Value::Str(s) => *slot = s.to_vec(),
                _ => wrong_type = true,
            },
        }
    }
    if wrong_type {
        return Err(CommandError::Err(
            "The specified keys must contain string values",
        ));
    }
    let (mut get_len, mut get_idx, mut with_match_len) = (false, false, false);
    let mut min_match_len: u64 = 0;
    let mut i = 3;
    while i < argv.len() {
        let opt = argv[i];
        if args::is(opt, "IDX") {
            get_idx = true;
        } else if args::is(opt, "LEN") {
            get_len = true;
        } else if args::is(opt, "WITHMATCHLEN") {
            with_match_len = true;
        } else if args::is(opt, "MINMATCHLEN") && i + 1 < argv.len() {
            min_match_len = args::int(argv[i + 1])?.max(0) as u64;
            i += 1;
        } else {
            return Err(CommandError::Syntax);
        }
        i += 1;
    }
    if get_idx && get_len {
        return Err(CommandError::Err(
            "If you want both the length and indexes, please just use IDX.",
        ));
    }
    let [a, b] = &strings;
    if a.len() >= u32::MAX as usize - 1 || b.len() >= u32::MAX as usize - 1 {
        return Err(CommandError::Err("String too long for LCS"));
    }
    let (alen, blen) = (a.len(), b.len());
    let cells = (alen + 1) as u64 * (blen + 1) as u64;
    if cells * 4 > ctx.srv.config.proto_max_bulk_len.max(0) as u64 {
        return Err(CommandError::Err(
            "Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        ));
    }
    let mut table: Vec<u32> = Vec::new();
    if table.try_reserve_exact(cells as usize).is_err() {
        return Err(CommandError::Err(
            "Insufficient memory, failed allocating transient memory for LCS",
        ));
    }
    table.resize(cells as usize, 0);
    let at = |i: usize, j: usize| j + i * (blen + 1);
    for i in 1..=alen {
        for j in 1..=blen {
            table[at(i, j)] = if a[i - 1] == b[j - 1] {
                table[at(i - 1, j - 1)] + 1
            } else {
                table[at(i - 1, j)].max(table[at(i, j - 1)])
            };
        }
    }
    let total = table[at(alen, blen)] as usize;
    if get_len {
        ctx.out.integer(total as i64);
        return Ok(());
    }

    let mut result = vec![0u8; total];
    let mut remaining = total;
    let out = &mut *ctx.out;
    let mut matches_at = 0;
    let mut emitted = 0;
    if get_idx {
        out.map_len(2);
        out.bulk(b"matches");
        matches_at = out.deferred_len();
    }
    // The current range, in both strings; `None` when no range is open.
    let mut range: Option<(usize, usize, usize, usize)> = None;
    let (mut i, mut j) = (alen, blen);
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            result[remaining - 1] = a[i - 1];
            range = match range {
                None => Some((i - 1, i - 1, j - 1, j - 1)),
                // Contiguous with the open range in both strings: extend it backwards.
                Some((a_start, a_end, b_start, b_end)) if a_start == i && b_start == j => {
                    Some((a_start - 1, a_end, b_start - 1, b_end))
                }
                Some(open) => {
                    emit = true;
                    Some(open)
                }
            };
            if let Some((a_start, _, b_start, _)) = range {
                // Touching the start of either string: nothing more can extend it.
                if a_start == 0 || b_start == 0 {
                    emit = true;
                }
            }
            remaining -= 1;
            i -= 1;
            j -= 1;
        } else {
            if table[at(i - 1, j)] > table[at(i, j - 1)] {
                i -= 1;
            } else {
                j -= 1;
            }
            emit = range.is_some();
        }
        if emit {
            if let Some((a_start, a_end, b_start, b_end)) = range.take() {
                let match_len = (a_end - a_start + 1) as u64;
                if get_idx && (min_match_len == 0 || match_len >= min_match_len) {
                    out.array_len(2 + with_match_len as usize);
                    out.array_len(2);
                    out.integer(a_start as i64);
                    out.integer(a_end as i64);
                    out.array_len(2);
                    out.integer(b_start as i64);
                    out.integer(b_end as i64);
                    if with_match_len {
                        out.integer(match_len as i64);
                    }
                    emitted += 1;
                }
            }
        }
    }
    if get_idx {
        out.set_deferred_len(matches_at, b'*', emitted);
        out.bulk(b"len");
        out.integer(total as i64);
    } else {
        out.bulk(&result);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_range_clamps_like_getrange() {
        let s = b"This is a string";
        assert_eq!(byte_range(s, 0, 3), b"This");
        assert_eq!(byte_range(s, -3, -1), b"ing");
        assert_eq!(byte_range(s, 0, -1), s);
        assert_eq!(byte_range(s, 10, 100), b"string");
        assert_eq!(byte_range(s, -1, -5), b"");
        assert_eq!(byte_range(s, 5, 3), b"");
        assert_eq!(byte_range(b"", 0, -1), b"");
        assert_eq!(byte_range(s, -100, 0), b"T");
    }
}
