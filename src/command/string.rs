//! String commands (Redis: `t_string.c`).
//!
//! A string value is an [`Sds`]: binary-safe bytes of up to 512 MB. Integers are not a separate
//! type: INCR parses the bytes with Redis's strict rules, adds, and stores the decimal text back.
//! Each handler validates every argument first, then mutates, then replies once, so a bad
//! option (`SET k v EX notanumber`) leaves the key untouched.

use super::args;
use super::error::{CommandError, CommandResult};
use super::pubsub::NOTIFY_STRING;
use super::table::{flags::*, CommandSpec};
use super::{get_string, notify, signal_modified_key, Ctx};
use crate::db::sds::Sds;
use crate::db::value::Value;
use crate::db::Ms;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("get", get_command, 2, READONLY | FAST, "string")
        .keys(1, 1, 1)
        .doc("Returns the string value of a key.", "1.0.0"),
    CommandSpec::new("set", set_command, -3, WRITE | DENYOOM, "string")
        .keys(1, 1, 1)
        .doc(
            "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.",
            "1.0.0",
        ),
];

/// Largest string value (Redis: `proto-max-bulk-len` default and SETRANGE/APPEND limit).
pub const MAX_STRING_LEN: usize = 512 * 1024 * 1024;

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
        notify(ctx, super::pubsub::NOTIFY_GENERIC, "expire", key);
    }
    // A SET with an expire time already in the past deletes the key at once, as Redis does.
    if let Expiry::At(when) = expiry {
        if when <= now {
            ctx.dbs[ctx.db].expire_if_needed(key, now);
        }
    }
    Ok(true)
}

/// SET key value [NX | XX] [GET] [EX s | PX ms | EXAT ts | PXAT ts | KEEPTTL]
/// — OK; null if NX/XX prevented the write; with GET, the old value (or null).
fn set_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let mut condition = SetCondition::Always;
    let mut expiry = Expiry::Clear;
    let mut get = false;
    let mut i = 3;
    while i < argv.len() {
        let opt = argv[i];
        let next = argv.get(i + 1);
        let unit = |o: &str| args::is(opt, o);
        if unit("NX") && condition == SetCondition::Always {
            condition = SetCondition::IfAbsent;
        } else if unit("XX") && condition == SetCondition::Always {
            condition = SetCondition::IfPresent;
        } else if unit("GET") && !get {
            get = true;
        } else if unit("KEEPTTL") && expiry == Expiry::Clear {
            expiry = Expiry::Keep;
        } else if (unit("EX") || unit("PX") || unit("EXAT") || unit("PXAT"))
            && expiry == Expiry::Clear
            && next.is_some()
        {
            let (mul, absolute) = if unit("EX") {
                (1000, false)
            } else if unit("PX") {
                (1, false)
            } else if unit("EXAT") {
                (1000, true)
            } else {
                (1, true)
            };
            let arg = next.copied().unwrap_or_default();
            expiry = Expiry::At(expire_at(arg, mul, absolute, ctx.now, "set")?);
            i += 1;
        } else {
            return Err(CommandError::Syntax);
        }
        i += 1;
    }
    let written = set_generic(ctx, argv[1], argv[2], condition, expiry, get)?;
    if !get {
        if written {
            ctx.out.ok();
        } else {
            ctx.out.null();
        }
    }
    Ok(())
}
