//! Stream commands (Redis: `t_stream.c`, command half, and the stream part of `blocked.c`).
//!
//! The data structure — nodes of delta-encoded entries, consumer groups and their pending
//! lists — lives in `types::stream`; this file parses arguments with Redis's rules and words,
//! calls the `Stream` API and writes the replies. Writes follow the usual order: validate
//! everything, mutate, then `dirty`, `signal_modified_key` and the keyspace event Redis fires
//! (`xadd`, `xtrim`, `xdel`, `xsetid`, `xgroup-create`, `xgroup-createconsumer`,
//! `xgroup-delconsumer`, `xgroup-destroy`, `xgroup-setid`).
//!
//! # Blocking reads
//!
//! `XREAD BLOCK` and `XREADGROUP BLOCK` park the client in the shared registry
//! (`command::blocked`) with a [`StreamWait`]: per key the ID it wants entries after (`$`
//! resolved at blocking time), the COUNT (1000 when none was given, as Redis), and for
//! XREADGROUP the group, consumer and NOACK. XADD signals the key; [`serve_blocked`] then
//! answers a waiter whose key's last ID passed its ID (for a group: the group's last delivered
//! ID, re-read at serving time, since other consumers may have taken the new entries). A
//! group waiter whose group was destroyed gets `-NOGROUP`, and one whose key was deleted or
//! replaced by another type gets `-UNBLOCKED` ([`unblock_deleted_stream_readgroup_clients`]),
//! as Redis 7.0 does.
//!
//! # What is propagated (to replicas, through `command::propagate`)
//!
//! As Redis 7.0 (`streamPropagateXCLAIM`, `streamPropagateGroupID`,
//! `streamPropagateConsumerCreation`, `streamRewriteApproxSpecifier`,
//! `streamRewriteTrimArgument`): XADD with `*` or `ms-*` is rewritten with the ID it generated,
//! and `MAXLEN ~ n` / `MINID ~ id` as `= <resulting length>` / `= <first ID>` (LIMIT kept);
//! XTRIM with `~` likewise (`rewrite_trim_args`). XREADGROUP (served at once or when blocked)
//! and XCLAIM / XAUTOCLAIM prevent their own argv: each entry delivered or claimed becomes
//! `XCLAIM key group consumer 0 id TIME <ms> RETRYCOUNT <n> FORCE JUSTID LASTID <group last id>`
//! (`xclaim_op`; a claimed entry that no longer exists too, naming its last owner, to drop it
//! from the PEL); a NOACK read that moved the group, or an XCLAIM whose LASTID moved it with no
//! XCLAIM emitted, becomes `XGROUP SETID key group <last id> ENTRIESREAD <n>`; a consumer
//! created by a NOACK read `XGROUP CREATECONSUMER key group consumer`. The other commands
//! propagate verbatim.

use super::args;
use super::blocked::{self as blocking, BlockedOp};
use super::error::{CommandError, CommandResult};
use super::keyspec::{key_flags::*, GetKeys, KeySpec};
use super::notify::NOTIFY_STREAM;
use super::propagate;
use super::table::{flags::*, CommandSpec};
use super::{notify, signal_key_as_ready, signal_modified_key, Ctx};
use crate::db::value::Value;
use crate::db::{Db, Ms};
use crate::resp::reply::ReplyBuffer;
use crate::types::sds::Sds;
use crate::types::stream::{
    AppendError, ConsumerGroup, EntryView, Nack, NodeLimits, Stream, StreamId, TrimStrategy,
    INVALID_ENTRIES_READ,
};
use crate::util::parse_i64;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("xadd", xadd_command, -5, WRITE | DENYOOM | FAST, "stream")
        .key_specs(&[KeySpec::at(1, RW | UPDATE)
            .notes("UPDATE instead of INSERT because of the optional trimming feature")])
        .tips(&["nondeterministic_output"])
        .doc(
            "Appends a new message to a stream. Creates the key if it doesn't exist.",
            "5.0.0",
        ),
    CommandSpec::new("xrange", xrange_command, -4, READONLY, "stream")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .doc("Returns the messages from a stream within a range of IDs.", "5.0.0"),
    CommandSpec::new("xrevrange", xrevrange_command, -4, READONLY, "stream")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .doc(
            "Returns the messages from a stream within a range of IDs in reverse order.",
            "5.0.0",
        ),
    CommandSpec::new("xlen", xlen_command, 2, READONLY | FAST, "stream")
        .key_specs(&[KeySpec::at(1, RO)])
        .doc("Return the number of messages in a stream.", "5.0.0"),
    CommandSpec::new("xdel", xdel_command, -3, WRITE | FAST, "stream")
        .key_specs(&[KeySpec::at(1, RW | DELETE)])
        .doc(
            "Returns the number of messages after removing them from a stream.",
            "5.0.0",
        ),
    CommandSpec::new("xtrim", xtrim_command, -4, WRITE, "stream")
        .key_specs(&[KeySpec::at(1, RW | DELETE)])
        .tips(&["nondeterministic_output"])
        .doc(
            "Deletes messages from the beginning of a stream.",
            "5.0.0",
        ),
    CommandSpec::new(
        "xread",
        xread_command,
        -4,
        READONLY | BLOCKING | MOVABLE_KEYS,
        "stream",
    )
    .key_specs(&[KeySpec::keyword("STREAMS", 1, RO | ACCESS).range(-1, 1, 2)])
    .getkeys(GetKeys::Xread)
    .doc(
        "Returns messages from multiple streams with IDs greater than the ones requested. Blocks until a message is available otherwise.",
        "5.0.0",
    ),
    CommandSpec::new(
        "xreadgroup",
        xread_command,
        -7,
        WRITE | BLOCKING | MOVABLE_KEYS,
        "stream",
    )
    .key_specs(&[KeySpec::keyword("STREAMS", 4, RO | ACCESS).range(-1, 1, 2)])
    .getkeys(GetKeys::Xread)
    .doc(
        "Returns new or historical messages from a stream for a consumer in a group. Blocks until a message is available otherwise.",
        "5.0.0",
    ),
    CommandSpec::new("xsetid", xsetid_command, -3, WRITE | DENYOOM | FAST, "stream")
        .key_specs(&[KeySpec::at(1, RW | UPDATE)])
        .doc("An internal command for replicating stream values.", "5.0.0"),
    CommandSpec::new("xack", xack_command, -4, WRITE | FAST, "stream")
        .key_specs(&[KeySpec::at(1, RW | UPDATE)])
        .doc(
            "Returns the number of messages that were successfully acknowledged by the consumer group member of a stream.",
            "5.0.0",
        ),
    CommandSpec::new("xpending", xpending_command, -3, READONLY, "stream")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .tips(&["nondeterministic_output"])
        .doc(
            "Returns the information and entries from a stream consumer group's pending entries list.",
            "5.0.0",
        ),
    CommandSpec::new("xclaim", xclaim_command, -6, WRITE | FAST, "stream")
        .key_specs(&[KeySpec::at(1, RW | UPDATE)])
        .tips(&["nondeterministic_output"])
        .doc(
            "Changes, or acquires, ownership of a message in a consumer group, as if the message was delivered a consumer group member.",
            "5.0.0",
        ),
    CommandSpec::new("xautoclaim", xautoclaim_command, -6, WRITE | FAST, "stream")
        .key_specs(&[KeySpec::at(1, RW | DELETE)])
        .tips(&["nondeterministic_output"])
        .doc(
            "Changes, or acquires, ownership of messages in a consumer group, as if the messages were delivered to as consumer group member.",
            "6.2.0",
        ),
    CommandSpec::new("xgroup", container_command, -2, 0, "stream")
        .subs(XGROUP_SUBCOMMANDS)
        .doc("A container for consumer groups commands.", "5.0.0"),
    CommandSpec::new("xinfo", container_command, -2, 0, "stream")
        .subs(XINFO_SUBCOMMANDS)
        .doc("A container for stream introspection commands.", "5.0.0"),
];

const XGROUP_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "xgroup|create",
        xgroup_create_command,
        -5,
        WRITE | DENYOOM,
        "stream",
    )
    .key_specs(&[KeySpec::at(2, RW | INSERT)])
    .doc("Creates a consumer group.", "5.0.0"),
    CommandSpec::new(
        "xgroup|createconsumer",
        xgroup_createconsumer_command,
        5,
        WRITE | DENYOOM,
        "stream",
    )
    .key_specs(&[KeySpec::at(2, RW | INSERT)])
    .doc("Creates a consumer in a consumer group.", "6.2.0"),
    CommandSpec::new(
        "xgroup|delconsumer",
        xgroup_delconsumer_command,
        5,
        WRITE,
        "stream",
    )
    .key_specs(&[KeySpec::at(2, RW | DELETE)])
    .doc("Deletes a consumer from a consumer group.", "5.0.0"),
    CommandSpec::new("xgroup|destroy", xgroup_destroy_command, 4, WRITE, "stream")
        .key_specs(&[KeySpec::at(2, RW | DELETE)])
        .doc("Destroys a consumer group.", "5.0.0"),
    CommandSpec::new("xgroup|setid", xgroup_setid_command, -5, WRITE, "stream")
        .key_specs(&[KeySpec::at(2, RW | UPDATE)])
        .doc("Sets the last-delivered ID of a consumer group.", "5.0.0"),
    CommandSpec::new(
        "xgroup|help",
        xgroup_help_command,
        2,
        LOADING | STALE,
        "stream",
    )
    .doc(
        "Returns helpful text about the different subcommands.",
        "5.0.0",
    ),
];

const XINFO_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "xinfo|consumers",
        xinfo_consumers_command,
        4,
        READONLY,
        "stream",
    )
    .key_specs(&[KeySpec::at(2, RO | ACCESS)])
    .tips(&["nondeterministic_output"])
    .doc(
        "Returns a list of the consumers in a consumer group.",
        "5.0.0",
    ),
    CommandSpec::new("xinfo|groups", xinfo_groups_command, 3, READONLY, "stream")
        .key_specs(&[KeySpec::at(2, RO | ACCESS)])
        .doc(
            "Returns a list of the consumer groups of a stream.",
            "5.0.0",
        ),
    CommandSpec::new("xinfo|stream", xinfo_stream_command, -3, READONLY, "stream")
        .key_specs(&[KeySpec::at(2, RO | ACCESS)])
        .doc("Returns information about a stream.", "5.0.0"),
    CommandSpec::new(
        "xinfo|help",
        xinfo_help_command,
        2,
        LOADING | STALE,
        "stream",
    )
    .doc(
        "Returns helpful text about the different subcommands.",
        "5.0.0",
    ),
];

fn container_command(_ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    Err(CommandError::WrongArity(args::text(argv[0]).to_lowercase()))
}

// ---------------------------------------------------------------------------------------------
// Shared helpers: IDs, lookups, replies.
// ---------------------------------------------------------------------------------------------

const INVALID_ID: CommandError =
    CommandError::Err("Invalid stream ID specified as stream command argument");

/// The node limits currently configured.
fn limits(ctx: &Ctx) -> NodeLimits {
    NodeLimits {
        max_bytes: ctx.srv.config.stream_node_max_bytes,
        max_entries: ctx.srv.config.stream_node_max_entries,
    }
}

/// Redis's `string2ull`: a `long long` that is not negative, or else what `strtoull` takes
/// whole (leading blanks, an optional `+`, digits, no overflow).
fn string2ull(s: &[u8]) -> Option<u64> {
    if let Some(n) = parse_i64(s) {
        return (n >= 0).then_some(n as u64);
    }
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
        i += 1;
    }
    if s.get(i) == Some(&b'+') {
        i += 1;
    }
    let digits = &s[i..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut n: u64 = 0;
    for &d in digits {
        n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(n)
}

/// A stream ID argument (Redis: `streamGenericParseIDOrReply`). `-` and `+` are the minimum
/// and maximum unless `strict`; a missing sequence is `missing_seq`. With `seq_given` the
/// form `<ms>-*` is accepted, and the returned flag says whether the sequence was given.
fn parse_id_generic(
    arg: &[u8],
    missing_seq: u64,
    strict: bool,
    allow_auto_seq: bool,
) -> Result<(StreamId, bool), CommandError> {
    if arg.len() > 127 {
        return Err(INVALID_ID);
    }
    // Redis works on a C string: text after a NUL byte is not seen.
    let arg = match arg.iter().position(|&b| b == 0) {
        Some(nul) => &arg[..nul],
        None => arg,
    };
    if arg == b"-" || arg == b"+" {
        if strict {
            return Err(INVALID_ID);
        }
        return Ok((
            if arg == b"-" {
                StreamId::MIN
            } else {
                StreamId::MAX
            },
            true,
        ));
    }
    let (ms_part, seq_part) = match arg.iter().position(|&b| b == b'-') {
        Some(dash) => (&arg[..dash], Some(&arg[dash + 1..])),
        None => (arg, None),
    };
    let ms = string2ull(ms_part).ok_or(INVALID_ID)?;
    match seq_part {
        Some(b"*") if allow_auto_seq => Ok((StreamId::new(ms, 0), false)),
        Some(seq) => Ok((StreamId::new(ms, string2ull(seq).ok_or(INVALID_ID)?), true)),
        None => Ok((StreamId::new(ms, missing_seq), true)),
    }
}

/// An ID where `-` / `+` are accepted (Redis: `streamParseIDOrReply`).
fn parse_id(arg: &[u8], missing_seq: u64) -> Result<StreamId, CommandError> {
    Ok(parse_id_generic(arg, missing_seq, false, false)?.0)
}

/// An ID where `-` / `+` are refused (Redis: `streamParseStrictIDOrReply`).
fn parse_strict_id(arg: &[u8]) -> Result<StreamId, CommandError> {
    Ok(parse_id_generic(arg, 0, true, false)?.0)
}

/// A range bound with an optional `(` for exclusive (Redis: `streamParseIntervalIDOrReply`),
/// already moved to the next (start) or previous (end) ID when exclusive.
fn parse_range_bound(arg: &[u8], is_start: bool) -> Result<StreamId, CommandError> {
    let exclusive = arg.len() > 1 && arg[0] == b'(';
    if !exclusive {
        return parse_id(arg, if is_start { 0 } else { u64::MAX });
    }
    let id = parse_id_generic(&arg[1..], if is_start { 0 } else { u64::MAX }, true, false)?.0;
    if is_start {
        id.next()
            .ok_or(CommandError::Err("invalid start ID for the interval"))
    } else {
        id.prev()
            .ok_or(CommandError::Err("invalid end ID for the interval"))
    }
}

fn stream_for_read<'d>(
    db: &'d mut Db,
    key: &[u8],
    now: Ms,
) -> Result<Option<&'d Stream>, CommandError> {
    Ok(db.lookup_read_as(key, now)?)
}

fn stream_for_write<'d>(
    db: &'d mut Db,
    key: &[u8],
    now: Ms,
) -> Result<Option<&'d mut Stream>, CommandError> {
    Ok(db.lookup_write_as(key, now)?)
}

fn bulk_id(out: &mut ReplyBuffer, id: StreamId) {
    out.bulk(id.to_text().as_bytes());
}

/// `[id, [field, value, ...]]` (Redis: the body of `streamReplyWithRange`).
fn reply_entry(out: &mut ReplyBuffer, e: &EntryView) {
    out.array_len(2);
    bulk_id(out, e.id);
    out.array_len(e.field_count() * 2);
    for (f, v) in e.pairs() {
        out.bulk(f);
        out.bulk(&v);
    }
}

/// The live entries in `[start, end]`, at most `count` (0 = all), as an array; returns the
/// IDs sent.
fn reply_range(
    out: &mut ReplyBuffer,
    s: &Stream,
    start: StreamId,
    end: StreamId,
    count: usize,
    rev: bool,
) -> Vec<StreamId> {
    let at = out.deferred_len();
    let mut sent = Vec::new();
    s.range(start, end, rev, |e| {
        reply_entry(out, &e);
        sent.push(e.id);
        count == 0 || sent.len() < count
    });
    out.set_deferred_len(at, b'*', sent.len());
    sent
}

/// `NOGROUP` errors carry the key and group names as Redis formats them (`%s`: up to a NUL).
fn c_text(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

fn nogroup_key_or_group(key: &[u8], group: &[u8], suffix: &str) -> CommandError {
    CommandError::Custom(format!(
        "NOGROUP No such key '{}' or consumer group '{}'{suffix}",
        c_text(key),
        c_text(group)
    ))
}

fn nogroup_for_key(group: &[u8], key: &[u8]) -> CommandError {
    CommandError::Custom(format!(
        "NOGROUP No such consumer group '{}' for key name '{}'",
        c_text(group),
        c_text(key)
    ))
}

/// A count option read as `getLongLongFromObjectOrReply` does, negative counted as 0.
fn count_arg(arg: &[u8]) -> Result<usize, CommandError> {
    let n = args::int(arg)?;
    Ok(n.max(0) as usize)
}

// ---------------------------------------------------------------------------------------------
// XADD, XTRIM.
// ---------------------------------------------------------------------------------------------

/// The options XADD and XTRIM share (Redis: `streamAddTrimArgs`).
struct AddTrimArgs {
    id: Option<(StreamId, bool)>,
    no_mkstream: bool,
    strategy: Option<TrimStrategy>,
    approx: bool,
    limit: u64,
    /// Index of the ID argument (XADD).
    id_pos: usize,
    /// Index of the MAXLEN / MINID threshold argument (Redis: `trim_strategy_arg_idx`).
    threshold_pos: usize,
}

/// Redis: `streamParseAddOrTrimArgsOrReply`.
fn parse_add_trim_args(ctx: &Ctx, argv: &[&[u8]], xadd: bool) -> Result<AddTrimArgs, CommandError> {
    let mut a = AddTrimArgs {
        id: None,
        no_mkstream: false,
        strategy: None,
        approx: false,
        limit: 0,
        id_pos: argv.len(),
        threshold_pos: 0,
    };
    let mut limit_given = false;
    let mut i = 2;
    while i < argv.len() {
        let more = argv.len() - 1 - i;
        let opt = argv[i];
        if xadd && opt == b"*" {
            break;
        } else if (args::is(opt, "maxlen") || args::is(opt, "minid")) && more > 0 {
            if a.strategy.is_some() {
                return Err(CommandError::Err(
                    "syntax error, MAXLEN and MINID options at the same time are not compatible",
                ));
            }
            a.approx = false;
            let next = argv[i + 1];
            if more >= 2 && next == b"~" {
                a.approx = true;
                i += 1;
            } else if more >= 2 && next == b"=" {
                i += 1;
            }
            let value = argv[i + 1];
            a.threshold_pos = i + 1;
            if args::is(opt, "maxlen") {
                let n = args::int(value)?;
                if n < 0 {
                    return Err(CommandError::Err("The MAXLEN argument must be >= 0."));
                }
                a.strategy = Some(TrimStrategy::MaxLen(n as u64));
            } else {
                a.strategy = Some(TrimStrategy::MinId(parse_strict_id(value)?));
            }
            i += 1;
        } else if args::is(opt, "limit") && more > 0 {
            let n = args::int(argv[i + 1])?;
            if n < 0 {
                return Err(CommandError::Err("The LIMIT argument must be >= 0."));
            }
            a.limit = n as u64;
            limit_given = true;
            i += 1;
        } else if xadd && args::is(opt, "nomkstream") {
            a.no_mkstream = true;
        } else if xadd {
            a.id = Some(parse_id_generic(opt, 0, true, true)?);
            break;
        } else {
            return Err(CommandError::Syntax);
        }
        i += 1;
    }
    a.id_pos = i;
    if a.limit > 0 && a.strategy.is_none() {
        return Err(CommandError::Err(
            "syntax error, LIMIT cannot be used without specifying a trimming strategy",
        ));
    }
    if !xadd && a.strategy.is_none() {
        return Err(CommandError::Err(
            "syntax error, XTRIM must be called with a trimming strategy",
        ));
    }
    if limit_given {
        if !a.approx {
            return Err(CommandError::Err(
                "syntax error, LIMIT cannot be used without the special ~ option",
            ));
        }
    } else if a.approx {
        // At most 100 nodes' worth of work per call, as Redis.
        let per_node = ctx.srv.config.stream_node_max_entries as u64;
        a.limit = per_node.saturating_mul(100);
        if a.limit == 0 {
            a.limit = 10000;
        }
        a.limit = a.limit.min(1_000_000);
    } else {
        a.limit = 0;
    }
    Ok(a)
}

/// XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value
/// [field value ...] — the ID of the new entry, or nil with NOMKSTREAM and no key.
fn xadd_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let a = parse_add_trim_args(ctx, argv, true)?;
    let field_pos = a.id_pos + 1;
    if argv.len() < field_pos + 2 || !(argv.len() - field_pos).is_multiple_of(2) {
        return Err(CommandError::WrongArity("xadd".into()));
    }
    if let Some((id, true)) = a.id {
        if id.is_zero() {
            return Err(CommandError::Err(
                "The ID specified in XADD must be greater than 0-0",
            ));
        }
    }
    let key = argv[1];
    let now = ctx.now;
    let limits = limits(ctx);
    let db = ctx.db();
    let created = match stream_for_write(db, key, now)? {
        Some(_) => false,
        None if a.no_mkstream => {
            ctx.out.null();
            return Ok(());
        }
        None => true,
    };
    if created {
        db.add(key, Value::Stream(Box::default()), now);
    }
    let Some(s) = stream_for_write(db, key, now)? else {
        return Ok(());
    };
    if s.last_id == StreamId::MAX {
        return Err(CommandError::Err(
            "The stream has exhausted the last possible ID, unable to add more items",
        ));
    }
    let id = match a.id {
        None => next_auto_id(s.last_id, now),
        Some((id, true)) => Some(id),
        Some((id, false)) if s.last_id.ms == id.ms => {
            if s.last_id.seq == u64::MAX {
                None
            } else {
                Some(StreamId::new(id.ms, s.last_id.seq + 1))
            }
        }
        Some((id, false)) => Some(id),
    };
    let fields: Vec<&[u8]> = argv[field_pos..].iter().step_by(2).copied().collect();
    let values: Vec<&[u8]> = argv[field_pos + 1..].iter().step_by(2).copied().collect();
    let result = match id {
        Some(id) => s.append(id, &fields, &values, limits).map(|()| id),
        None => Err(AppendError::IdTooSmall),
    };
    let id = match result {
        Ok(id) => id,
        Err(e) => {
            // Like Redis, a key created just above stays (as an empty stream).
            return Err(CommandError::Err(match e {
                AppendError::IdTooSmall => {
                    "The ID specified in XADD is equal or smaller than the target stream top item"
                }
                AppendError::TooLarge => "Elements are too large to be stored",
            }));
        }
    };
    let trimmed = match a.strategy {
        Some(strategy) => s.trim(strategy, a.approx, a.limit),
        None => 0,
    };
    let threshold = approx_trim_threshold(s, &a);
    bulk_id(ctx.out, id);
    signal_modified_key(ctx, key);
    notify(ctx, NOTIFY_STREAM, "xadd", key);
    ctx.srv.dirty += 1;
    if trimmed > 0 {
        notify(ctx, NOTIFY_STREAM, "xtrim", key);
    }
    let generated = !matches!(a.id, Some((_, true)));
    if generated || threshold.is_some() {
        propagate::rewrite(ctx, || {
            let mut rewritten = rewrite_trim_args(argv, &a, threshold);
            if generated {
                rewritten[a.id_pos] = id.to_text().into_bytes();
            }
            rewritten
        });
    }
    signal_key_as_ready(ctx, key);
    Ok(())
}

/// After a `~` trim, the threshold that makes the trim exact: the stream's length (MAXLEN) or
/// its first ID (MINID; `18446744073709551615-18446744073709551615` when empty, as Redis's
/// `streamGetEdgeID`). None when the trim was exact already (Redis:
/// `streamRewriteTrimArgument`).
fn approx_trim_threshold(s: &Stream, a: &AddTrimArgs) -> Option<Vec<u8>> {
    if !a.approx {
        return None;
    }
    Some(match a.strategy? {
        TrimStrategy::MaxLen(_) => s.len().to_string().into_bytes(),
        TrimStrategy::MinId(_) => s
            .edge_id(false)
            .unwrap_or(StreamId::MAX)
            .to_text()
            .into_bytes(),
    })
}

/// `argv` with `~ <threshold>` replaced by `= <threshold>` (Redis:
/// `streamRewriteApproxSpecifier` and `streamRewriteTrimArgument`); LIMIT stays as given.
fn rewrite_trim_args(argv: &[&[u8]], a: &AddTrimArgs, threshold: Option<Vec<u8>>) -> Vec<Vec<u8>> {
    let mut rewritten: Vec<Vec<u8>> = argv.iter().map(|arg| arg.to_vec()).collect();
    if let Some(threshold) = threshold {
        rewritten[a.threshold_pos - 1] = b"=".to_vec();
        rewritten[a.threshold_pos] = threshold;
    }
    rewritten
}

/// The ID `*` generates: the current millisecond, or the last ID's next sequence when the
/// clock has not moved past it (Redis: `streamNextID`). None when no ID is left.
fn next_auto_id(last: StreamId, now: Ms) -> Option<StreamId> {
    let ms = now.max(0) as u64;
    if ms > last.ms {
        Some(StreamId::new(ms, 0))
    } else {
        last.next()
    }
}

/// XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count] — the number of entries removed.
fn xtrim_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let a = parse_add_trim_args(ctx, argv, false)?;
    let key = argv[1];
    let now = ctx.now;
    let Some(s) = stream_for_write(ctx.db(), key, now)? else {
        ctx.out.integer(0);
        return Ok(());
    };
    let Some(strategy) = a.strategy else {
        return Err(CommandError::Syntax);
    };
    let deleted = s.trim(strategy, a.approx, a.limit);
    let threshold = approx_trim_threshold(s, &a);
    if deleted > 0 {
        if threshold.is_some() {
            propagate::rewrite(ctx, || rewrite_trim_args(argv, &a, threshold));
        }
        notify(ctx, NOTIFY_STREAM, "xtrim", key);
        signal_modified_key(ctx, key);
        ctx.srv.dirty += deleted;
    }
    ctx.out.integer(deleted as i64);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// XRANGE, XREVRANGE, XLEN, XDEL, XSETID.
// ---------------------------------------------------------------------------------------------

/// XRANGE key start end [COUNT count] — the entries in the range, oldest first.
fn xrange_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    xrange_generic(ctx, argv, false)
}

/// XREVRANGE key end start [COUNT count] — the entries in the range, newest first.
fn xrevrange_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    xrange_generic(ctx, argv, true)
}

/// Redis: `xrangeGenericCommand`.
fn xrange_generic(ctx: &mut Ctx, argv: &[&[u8]], rev: bool) -> CommandResult {
    let (start_arg, end_arg) = if rev {
        (argv[3], argv[2])
    } else {
        (argv[2], argv[3])
    };
    let start = parse_range_bound(start_arg, true)?;
    let end = parse_range_bound(end_arg, false)?;
    let mut count: Option<usize> = None;
    let mut j = 4;
    while j < argv.len() {
        if args::is(argv[j], "count") && j + 1 < argv.len() {
            count = Some(count_arg(argv[j + 1])?);
            j += 2;
        } else {
            return Err(CommandError::Syntax);
        }
    }
    let now = ctx.now;
    let Some(s) = stream_for_read(&mut ctx.dbs[ctx.db], argv[1], now)? else {
        ctx.out.empty_array();
        return Ok(());
    };
    match count {
        Some(0) => ctx.out.null_array(),
        count => {
            reply_range(ctx.out, s, start, end, count.unwrap_or(0), rev);
        }
    }
    Ok(())
}

/// XLEN key — the number of entries.
fn xlen_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let now = ctx.now;
    let len = stream_for_read(ctx.db(), argv[1], now)?.map_or(0, |s| s.len());
    ctx.out.integer(len as i64);
    Ok(())
}

/// XDEL key id [id ...] — the number of entries deleted.
fn xdel_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let key = argv[1];
    let now = ctx.now;
    let Some(s) = stream_for_write(&mut ctx.dbs[ctx.db], key, now)? else {
        ctx.out.integer(0);
        return Ok(());
    };
    let ids = argv[2..]
        .iter()
        .map(|a| parse_strict_id(a))
        .collect::<Result<Vec<_>, _>>()?;
    let mut deleted = 0u64;
    let mut first_entry = false;
    for id in ids {
        if s.delete(id) {
            if id == s.first_id {
                first_entry = true;
            }
            if id > s.max_deleted_entry_id {
                s.max_deleted_entry_id = id;
            }
            deleted += 1;
        }
    }
    if deleted > 0 {
        if s.is_empty() {
            s.first_id = StreamId::MIN;
        } else if first_entry {
            s.first_id = s.edge_id(false).unwrap_or(StreamId::MIN);
        }
        signal_modified_key(ctx, key);
        notify(ctx, NOTIFY_STREAM, "xdel", key);
        ctx.srv.dirty += deleted;
    }
    ctx.out.integer(deleted as i64);
    Ok(())
}

/// XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id] — OK.
fn xsetid_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let id = parse_strict_id(argv[2])?;
    let mut entries_added: Option<u64> = None;
    let mut max_xdel = StreamId::MIN;
    let mut i = 3;
    while i < argv.len() {
        let more = argv.len() - 1 - i;
        if args::is(argv[i], "entriesadded") && more > 0 {
            let n = args::int(argv[i + 1])?;
            if n < 0 {
                return Err(CommandError::Err("entries_added must be positive"));
            }
            entries_added = Some(n as u64);
        } else if args::is(argv[i], "maxdeletedid") && more > 0 {
            max_xdel = parse_strict_id(argv[i + 1])?;
            if id < max_xdel {
                return Err(CommandError::Err(
                    "The ID specified in XSETID is smaller than the provided max_deleted_entry_id",
                ));
            }
        } else {
            return Err(CommandError::Syntax);
        }
        i += 2;
    }
    let key = argv[1];
    let now = ctx.now;
    let Some(s) = stream_for_write(ctx.db(), key, now)? else {
        return Err(CommandError::NoSuchKey);
    };
    if !s.is_empty() {
        if id < s.last_valid_id() {
            return Err(CommandError::Err(
                "The ID specified in XSETID is smaller than the target stream top item",
            ));
        }
        if entries_added.is_some_and(|n| s.len() > n) {
            return Err(CommandError::Err(
                "The entries_added specified in XSETID is smaller than the target stream length",
            ));
        }
    }
    s.last_id = id;
    if let Some(n) = entries_added {
        s.entries_added = n;
    }
    if !max_xdel.is_zero() {
        s.max_deleted_entry_id = max_xdel;
    }
    ctx.out.ok();
    ctx.srv.dirty += 1;
    notify(ctx, NOTIFY_STREAM, "xsetid", key);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// XREAD, XREADGROUP, and their blocking form.
// ---------------------------------------------------------------------------------------------

/// The group part of an XREADGROUP.
#[derive(Clone)]
pub struct GroupRead {
    group: Sds,
    consumer: Sds,
    noack: bool,
}

/// What a blocked XREAD / XREADGROUP waits for (kept in the blocked client's state).
pub struct StreamWait {
    /// Per key: entries after this ID are wanted (for a group, re-read from the group).
    ids: Vec<(Sds, StreamId)>,
    count: usize,
    group: Option<GroupRead>,
}

impl StreamWait {
    /// Is this an XREADGROUP waiter (unblocked with an error when its key goes away)?
    pub fn is_group(&self) -> bool {
        self.group.is_some()
    }
}

/// The default COUNT of a blocked read (Redis: `XREAD_BLOCKED_DEFAULT_COUNT`).
const XREAD_BLOCKED_DEFAULT_COUNT: usize = 1000;

/// XREAD [COUNT count] [BLOCK ms] STREAMS key [key ...] id [id ...]
/// XREADGROUP GROUP group consumer [COUNT count] [BLOCK ms] [NOACK] STREAMS key [key ...]
/// id [id ...] — per stream with something to read, `[key, entries]` (a map in RESP3); a
/// null array when nothing was read. Redis: `xreadCommand`.
fn xread_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let xreadgroup = argv[0].len() == 10;
    // XREADGROUP reaches replicas as what it did to the group ([`read_group`]), never as
    // itself (Redis: `preventCommandPropagation` in `xreadCommand`).
    propagate::prevent(ctx);
    let mut timeout: Option<Option<i64>> = None;
    let mut count = 0usize;
    let mut streams_arg = 0;
    let mut streams_count = 0;
    let mut group: Option<GroupRead> = None;
    let mut noack = false;
    let mut i = 1;
    while i < argv.len() {
        let more = argv.len() - i - 1;
        let o = argv[i];
        if args::is(o, "block") && more > 0 {
            if ctx.srv.scripts.is_running() {
                return Err(CommandError::err(format!(
                    "{} command is not allowed with BLOCK option from scripts",
                    c_text(argv[0])
                )));
            }
            i += 1;
            timeout = Some(block_timeout(argv[i])?);
        } else if args::is(o, "count") && more > 0 {
            i += 1;
            count = count_arg(argv[i])?;
        } else if args::is(o, "streams") && more > 0 {
            streams_arg = i + 1;
            let n = argv.len() - streams_arg;
            if !n.is_multiple_of(2) {
                return Err(CommandError::Err(
                    "Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.",
                ));
            }
            streams_count = n / 2;
            break;
        } else if args::is(o, "group") && more >= 2 {
            if !xreadgroup {
                return Err(CommandError::Err(
                    "The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            group = Some(GroupRead {
                group: Sds::new(argv[i + 1]),
                consumer: Sds::new(argv[i + 2]),
                noack: false,
            });
            i += 2;
        } else if args::is(o, "noack") {
            if !xreadgroup {
                return Err(CommandError::Err(
                    "The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            noack = true;
        } else {
            return Err(CommandError::Syntax);
        }
        i += 1;
    }
    if streams_arg == 0 {
        return Err(CommandError::Syntax);
    }
    if xreadgroup && group.is_none() {
        return Err(CommandError::Err("Missing GROUP option for XREADGROUP"));
    }
    if let Some(g) = &mut group {
        g.noack = noack;
    }
    let keys = &argv[streams_arg..streams_arg + streams_count];
    let id_args = &argv[streams_arg + streams_count..];
    let now = ctx.now;

    // Resolve every ID (and check every group) before reading anything.
    let mut ids: Vec<StreamId> = Vec::with_capacity(streams_count);
    for (key, arg) in keys.iter().zip(id_args) {
        let s = stream_for_read(&mut ctx.dbs[ctx.db], key, now)?;
        if let Some(g) = &group {
            if s.and_then(|s| s.group(&g.group)).is_none() {
                return Err(nogroup_key_or_group(
                    key,
                    &g.group,
                    " in XREADGROUP with GROUP option",
                ));
            }
        }
        let id = if *arg == b"$" {
            if xreadgroup {
                return Err(CommandError::Err(
                    "The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.",
                ));
            }
            s.map_or(StreamId::MIN, |s| s.last_id)
        } else if *arg == b">" {
            if !xreadgroup {
                return Err(CommandError::Err(
                    "The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.",
                ));
            }
            StreamId::MAX
        } else {
            parse_strict_id(arg)?
        };
        ids.push(id);
    }

    // Serve synchronously what can be served.
    let at = ctx.out.deferred_len();
    let mut served = 0;
    for (key, id) in keys.iter().zip(ids.iter_mut()) {
        let db = &mut ctx.dbs[ctx.db];
        let Some(s) = stream_for_read(db, key, now)? else {
            continue;
        };
        let mut history = false;
        let ready = match &group {
            Some(g) => {
                if *id != StreamId::MAX {
                    history = true;
                    true
                } else {
                    let last = s.group(&g.group).map_or(StreamId::MAX, |g| g.last_id);
                    if !s.is_empty() && s.last_valid_id() > last {
                        *id = last;
                        true
                    } else {
                        false
                    }
                }
            }
            None => !s.is_empty() && s.last_valid_id() > *id,
        };
        if !ready {
            continue;
        }
        served += 1;
        if !ctx.out.is_resp3() {
            ctx.out.array_len(2);
        }
        ctx.out.bulk(key);
        let start = id.next().unwrap_or(StreamId::MAX);
        match &group {
            None => {
                let s = stream_for_read(&mut ctx.dbs[ctx.db], key, now)?;
                if let Some(s) = s {
                    reply_range(ctx.out, s, start, StreamId::MAX, count, false);
                }
            }
            Some(g) => {
                let g = g.clone();
                read_group(ctx, key, &g, start, count, history);
                ctx.srv.dirty += 1;
            }
        }
    }
    if served > 0 {
        // RESP2: an array of [key, entries] pairs; RESP3: a map of key -> entries.
        let kind = if ctx.out.is_resp3() { b'%' } else { b'*' };
        ctx.out.set_deferred_len(at, kind, served);
        return Ok(());
    }
    match timeout {
        Some(timeout) if blocking::may_block(ctx) => {
            let wait = StreamWait {
                ids: keys
                    .iter()
                    .zip(&ids)
                    .map(|(k, id)| (Sds::new(k), *id))
                    .collect(),
                count: if count > 0 {
                    count
                } else {
                    XREAD_BLOCKED_DEFAULT_COUNT
                },
                group,
            };
            blocking::block_for_keys(ctx, keys, timeout, BlockedOp::Stream(wait));
        }
        _ => ctx.out.null_array(),
    }
    Ok(())
}

/// XREAD's BLOCK argument: milliseconds, 0 = forever (Redis: `getTimeoutFromObjectOrReply`
/// with `UNIT_MILLISECONDS`).
fn block_timeout(arg: &[u8]) -> Result<Option<i64>, CommandError> {
    let ms = parse_i64(arg).ok_or(CommandError::Err(
        "timeout is not an integer or out of range",
    ))?;
    if ms < 0 {
        return Err(CommandError::Err("timeout is negative"));
    }
    if ms > i64::MAX / 2 {
        return Err(CommandError::Err("timeout is out of range"));
    }
    Ok(if ms == 0 { None } else { Some(ms) })
}

/// Reads for a consumer of a group, from `start` on, and replies the entries: new entries
/// (moving the group forward and, unless NOACK, adding them to the PELs), or with `history`
/// the consumer's own pending entries (Redis: `streamReplyWithRange` with a group, and
/// `streamReplyWithRangeFromConsumerPEL`). The consumer is created if needed.
fn read_group(
    ctx: &mut Ctx,
    key: &[u8],
    g: &GroupRead,
    start: StreamId,
    count: usize,
    history: bool,
) {
    let now = ctx.now;
    let mut created = false;
    {
        let Ok(Some(s)) = stream_for_write(&mut ctx.dbs[ctx.db], key, now) else {
            return;
        };
        let Some(group) = s.group_mut(&g.group) else {
            return;
        };
        match group.consumers.get_mut(g.consumer.as_bytes()) {
            Some(c) => c.seen_time = now,
            None => {
                group.create_consumer(&g.consumer, now);
                created = true;
            }
        }
    }
    if created {
        ctx.srv.dirty += 1;
        notify(ctx, NOTIFY_STREAM, "xgroup-createconsumer", key);
        if g.noack {
            // Without NOACK the XCLAIMs below create the consumer on the replica.
            let op = createconsumer_op(key, &g.group, &g.consumer);
            propagate::also_propagate(ctx, ctx.db, op);
        }
    }
    let propagating = propagate::active(ctx);
    let mut ops = Vec::new();
    let out = &mut *ctx.out;
    let Ok(Some(s)) = stream_for_write(&mut ctx.dbs[ctx.db], key, now) else {
        return;
    };
    let Some(mut group) = s.groups.as_mut().and_then(|gs| gs.remove(&g.group)) else {
        return;
    };
    if history {
        reply_consumer_history(out, s, &mut group, &g.consumer, start, count, now);
    } else {
        let sent = reply_range(out, s, start, StreamId::MAX, count, false);
        let last_id = group.last_id;
        for id in sent {
            s.advance_group(&mut group, id);
            if !g.noack {
                delivered(&mut group, id, &g.consumer, now);
                if let Some(nack) = group.pel.get(&id).filter(|_| propagating) {
                    let id_arg = id.to_text().into_bytes();
                    ops.push(xclaim_op(key, &g.group, &id_arg, nack, group.last_id));
                }
            }
        }
        // With NOACK no XCLAIM carries the group's new last ID (Redis: `propagate_last_id`).
        if g.noack && group.last_id != last_id && propagating {
            ops.push(setid_op(key, &g.group, &group));
        }
    }
    if let Some(gs) = s.groups.as_mut() {
        gs.insert(g.group.clone(), group);
    }
    for op in ops {
        propagate::also_propagate(ctx, ctx.db, op);
    }
}

/// What a replica replays for pending entry `id` of `group` (its ID as the command gave it:
/// `id_arg`): `XCLAIM key group consumer 0 id TIME <ms> RETRYCOUNT <n> FORCE JUSTID LASTID
/// <group last id>`, which creates, moves or (for a deleted entry) drops the pending entry
/// idempotently (Redis: `streamPropagateXCLAIM`).
fn xclaim_op(
    key: &[u8],
    group: &[u8],
    id_arg: &[u8],
    nack: &Nack,
    last_id: StreamId,
) -> Vec<Vec<u8>> {
    let consumer = nack.consumer.as_ref().map_or(&[][..], |c| c.as_bytes());
    vec![
        b"XCLAIM".to_vec(),
        key.to_vec(),
        group.to_vec(),
        consumer.to_vec(),
        b"0".to_vec(),
        id_arg.to_vec(),
        b"TIME".to_vec(),
        nack.delivery_time.to_string().into_bytes(),
        b"RETRYCOUNT".to_vec(),
        nack.delivery_count.to_string().into_bytes(),
        b"FORCE".to_vec(),
        b"JUSTID".to_vec(),
        b"LASTID".to_vec(),
        last_id.to_text().into_bytes(),
    ]
}

/// `XGROUP SETID key group <last id> ENTRIESREAD <n>`: a group moved without any XCLAIM to
/// say so (Redis: `streamPropagateGroupID`).
fn setid_op(key: &[u8], name: &[u8], group: &ConsumerGroup) -> Vec<Vec<u8>> {
    vec![
        b"XGROUP".to_vec(),
        b"SETID".to_vec(),
        key.to_vec(),
        name.to_vec(),
        group.last_id.to_text().into_bytes(),
        b"ENTRIESREAD".to_vec(),
        group.entries_read.to_string().into_bytes(),
    ]
}

/// `XGROUP CREATECONSUMER key group consumer`: a consumer a NOACK read created (Redis:
/// `streamPropagateConsumerCreation`).
fn createconsumer_op(key: &[u8], group: &[u8], consumer: &[u8]) -> Vec<Vec<u8>> {
    let words: [&[u8]; 5] = [b"XGROUP", b"CREATECONSUMER", key, group, consumer];
    words.iter().map(|w| w.to_vec()).collect()
}

/// Entry `id` was delivered to `consumer` (which exists): a new pending entry, or one taken
/// over from another consumer with its counters reset. [`read_group`] propagates each as an
/// XCLAIM ([`xclaim_op`]).
fn delivered(group: &mut ConsumerGroup, id: StreamId, consumer: &[u8], now: Ms) {
    let nack = group.pel.entry(id).or_insert(Nack {
        delivery_time: now,
        delivery_count: 1,
        consumer: None,
    });
    nack.delivery_time = now;
    nack.delivery_count = 1;
    group.assign(id, consumer);
}

/// The consumer's pending entries from `start`, each with its fields, or `[id, nil]` when the
/// entry was deleted meanwhile (Redis: `streamReplyWithRangeFromConsumerPEL`).
fn reply_consumer_history(
    out: &mut ReplyBuffer,
    s: &Stream,
    group: &mut ConsumerGroup,
    consumer: &[u8],
    start: StreamId,
    count: usize,
    now: Ms,
) {
    let ids: Vec<StreamId> = group
        .consumers
        .get(consumer)
        .map(|c| {
            c.pel
                .range(start..)
                .take(if count == 0 { usize::MAX } else { count })
                .copied()
                .collect()
        })
        .unwrap_or_default();
    out.array_len(ids.len());
    for id in ids {
        match s.get(id) {
            Some(e) => {
                reply_entry(out, &e);
                if let Some(nack) = group.pel.get_mut(&id) {
                    nack.delivery_time = now;
                    nack.delivery_count += 1;
                }
            }
            None => {
                out.array_len(2);
                bulk_id(out, id);
                out.null_array();
            }
        }
    }
}

/// Serves a client blocked in XREAD / XREADGROUP once `key` was signalled (Redis:
/// `serveClientsBlockedOnStreamKey`, `unblockDeletedStreamReadgroupClients`). Returns false
/// (nothing changed) when there is nothing new for it; an XREADGROUP waiter whose key is gone
/// or whose group was destroyed is answered with an error and unblocked.
pub fn serve_blocked(ctx: &mut Ctx, key: &[u8], wait: &StreamWait) -> bool {
    let now = ctx.now;
    let Some(&(_, mut gt)) = wait.ids.iter().find(|(k, _)| k.as_bytes() == key) else {
        return false;
    };
    let is_stream = matches!(
        ctx.dbs[ctx.db].dict.get(key).map(|o| &o.value),
        Some(Value::Stream(_))
    ) && ctx.dbs[ctx.db].exists(key, now);
    if !is_stream {
        if wait.group.is_some() {
            error_to_waiter(ctx, "UNBLOCKED the stream key no longer exists");
            return true;
        }
        return false;
    }
    let Ok(Some(s)) = stream_for_read(&mut ctx.dbs[ctx.db], key, now) else {
        return false;
    };
    if let Some(g) = &wait.group {
        match s.group(&g.group) {
            None => {
                error_to_waiter(
                    ctx,
                    "NOGROUP the consumer group this client was blocked on no longer exists",
                );
                return true;
            }
            Some(group) => gt = group.last_id,
        }
    }
    if s.last_id <= gt {
        return false;
    }
    let start = gt.next().unwrap_or(StreamId::MAX);
    if ctx.out.is_resp3() {
        ctx.out.map_len(1);
    } else {
        ctx.out.array_len(1);
        ctx.out.array_len(2);
    }
    ctx.out.bulk(key);
    match &wait.group {
        None => {
            reply_range(ctx.out, s, start, StreamId::MAX, wait.count, false);
        }
        Some(g) => {
            read_group(ctx, key, g, start, wait.count, false);
            ctx.srv.dirty += 1;
        }
    }
    true
}

/// An error reply to a blocked XREADGROUP being unblocked, counted as Redis's `addReplyError`
/// does (the failed call is counted when the unblocked call is finished:
/// `super::update_stats_on_unblock`).
fn error_to_waiter(ctx: &mut Ctx, message: &str) {
    super::count_error_reply(ctx.srv, message);
    ctx.out.error(message);
}

/// Keys that some XREADGROUP client waits on and that no longer hold a stream: signal them,
/// so that their waiters are unblocked with `-UNBLOCKED` (Redis signals a stream key when it
/// is deleted or overwritten: `dbGenericDelete`, `dbSetValue`, `scanDatabaseForDeletedStreams`).
pub fn unblock_deleted_stream_readgroup_clients(ctx: &mut Ctx, waited: Vec<(usize, Sds)>) {
    let now = ctx.now;
    for (db, key) in waited {
        let gone = {
            let d = &mut ctx.dbs[db];
            !(d.exists(&key, now)
                && matches!(d.dict.get(&key).map(|o| &o.value), Some(Value::Stream(_))))
        };
        if gone {
            blocking::signal_key_as_ready(ctx, db, &key);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// XGROUP.
// ---------------------------------------------------------------------------------------------

/// The options XGROUP CREATE / SETID take after the ID: MKSTREAM (CREATE only) and
/// ENTRIESREAD.
fn parse_group_options(argv: &[&[u8]], create: bool) -> Result<(bool, i64), CommandError> {
    let mut mkstream = false;
    let mut entries_read = INVALID_ENTRIES_READ;
    let mut i = 5;
    while i < argv.len() {
        if create && args::is(argv[i], "mkstream") {
            mkstream = true;
            i += 1;
        } else if args::is(argv[i], "entriesread") && i + 1 < argv.len() {
            entries_read = args::int(argv[i + 1])?;
            if entries_read < 0 && entries_read != INVALID_ENTRIES_READ {
                return Err(CommandError::Err(
                    "value for ENTRIESREAD must be positive or -1",
                ));
            }
            i += 2;
        } else {
            return Err(subcommand_syntax_error(argv));
        }
    }
    Ok((mkstream, entries_read))
}

/// Redis: `addReplySubcommandSyntaxError`.
fn subcommand_syntax_error(argv: &[&[u8]]) -> CommandError {
    CommandError::Custom(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
        c_text(argv[1]),
        c_text(argv[0]).to_ascii_uppercase()
    ))
}

/// The stream of an XGROUP subcommand, which must exist; and the group when `need_group`.
fn xgroup_stream<'d>(
    ctx: &'d mut Ctx,
    argv: &[&[u8]],
    need_group: bool,
) -> Result<&'d mut Stream, CommandError> {
    let now = ctx.now;
    let s = stream_for_write(&mut ctx.dbs[ctx.db], argv[2], now)?.ok_or(CommandError::Err(
        "The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.",
    ))?;
    if need_group && s.group(argv[3]).is_none() {
        return Err(nogroup_for_key(argv[3], argv[2]));
    }
    Ok(s)
}

/// XGROUP CREATE key group id|$ [MKSTREAM] [ENTRIESREAD n] — OK.
fn xgroup_create_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let (mkstream, entries_read) = parse_group_options(argv, true)?;
    let key = argv[2];
    let now = ctx.now;
    let exists = stream_for_write(&mut ctx.dbs[ctx.db], key, now)?.is_some();
    if !exists && !mkstream {
        xgroup_stream(ctx, argv, false)?;
    }
    if argv.len() > 8 {
        return Err(subcommand_syntax_error(argv));
    }
    let id = if argv[4] == b"$" {
        stream_for_read(&mut ctx.dbs[ctx.db], key, now)?.map_or(StreamId::MIN, |s| s.last_id)
    } else {
        parse_strict_id(argv[4])?
    };
    if !exists {
        ctx.db().add(key, Value::Stream(Box::default()), now);
        signal_modified_key(ctx, key);
    }
    let s = xgroup_stream(ctx, argv, false)?;
    if !s.create_group(argv[3], id, entries_read) {
        return Err(CommandError::Custom(
            "BUSYGROUP Consumer Group name already exists".into(),
        ));
    }
    ctx.out.ok();
    ctx.srv.dirty += 1;
    notify(ctx, NOTIFY_STREAM, "xgroup-create", key);
    Ok(())
}

/// XGROUP SETID key group id|$ [ENTRIESREAD n] — OK.
fn xgroup_setid_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let (_, entries_read) = parse_group_options(argv, false)?;
    let s = xgroup_stream(ctx, argv, true)?;
    if argv.len() != 5 && argv.len() != 7 {
        return Err(subcommand_syntax_error(argv));
    }
    let id = if argv[4] == b"$" {
        s.last_id
    } else {
        parse_id(argv[4], 0)?
    };
    if let Some(g) = s.group_mut(argv[3]) {
        g.last_id = id;
        g.entries_read = entries_read;
    }
    ctx.out.ok();
    ctx.srv.dirty += 1;
    notify(ctx, NOTIFY_STREAM, "xgroup-setid", argv[2]);
    Ok(())
}

/// XGROUP DESTROY key group — 1 if the group existed, else 0.
fn xgroup_destroy_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let s = xgroup_stream(ctx, argv, false)?;
    if s.destroy_group(argv[3]) {
        ctx.out.integer(1);
        ctx.srv.dirty += 1;
        notify(ctx, NOTIFY_STREAM, "xgroup-destroy", argv[2]);
        // Clients blocked in XREADGROUP on this group get -NOGROUP.
        signal_key_as_ready(ctx, argv[2]);
    } else {
        ctx.out.integer(0);
    }
    Ok(())
}

/// XGROUP CREATECONSUMER key group consumer — 1 if created, 0 if it existed.
fn xgroup_createconsumer_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let now = ctx.now;
    let s = xgroup_stream(ctx, argv, true)?;
    let created = s
        .group_mut(argv[3])
        .is_some_and(|g| g.create_consumer(argv[4], now));
    if created {
        ctx.srv.dirty += 1;
        notify(ctx, NOTIFY_STREAM, "xgroup-createconsumer", argv[2]);
    }
    ctx.out.integer(created as i64);
    Ok(())
}

/// XGROUP DELCONSUMER key group consumer — the number of pending entries it had.
fn xgroup_delconsumer_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let s = xgroup_stream(ctx, argv, true)?;
    let pending = s
        .group_mut(argv[3])
        .and_then(|g| g.delete_consumer(argv[4]));
    if pending.is_some() {
        ctx.srv.dirty += 1;
        notify(ctx, NOTIFY_STREAM, "xgroup-delconsumer", argv[2]);
    }
    ctx.out.integer(pending.unwrap_or(0) as i64);
    Ok(())
}

/// XGROUP HELP.
fn xgroup_help_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    ctx.out.help(
        "XGROUP",
        &[
            "CREATE <key> <groupname> <id|$> [option]",
            "    Create a new consumer group. Options are:",
            "    * MKSTREAM",
            "      Create the empty stream if it does not exist.",
            "    * ENTRIESREAD entries_read",
            "      Set the group's entries_read counter (internal use).",
            "CREATECONSUMER <key> <groupname> <consumer>",
            "    Create a new consumer in the specified group.",
            "DELCONSUMER <key> <groupname> <consumer>",
            "    Remove the specified consumer.",
            "DESTROY <key> <groupname>",
            "    Remove the specified group.",
            "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
            "    Set the current group ID and entries_read counter.",
        ],
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// XACK, XPENDING, XCLAIM, XAUTOCLAIM.
// ---------------------------------------------------------------------------------------------

/// XACK key group id [id ...] — the number of entries acknowledged.
fn xack_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let now = ctx.now;
    let Some(s) = stream_for_write(&mut ctx.dbs[ctx.db], argv[1], now)? else {
        ctx.out.integer(0);
        return Ok(());
    };
    let Some(group) = s.group_mut(argv[2]) else {
        ctx.out.integer(0);
        return Ok(());
    };
    let ids = argv[3..]
        .iter()
        .map(|a| parse_strict_id(a))
        .collect::<Result<Vec<_>, _>>()?;
    let acked = ids.into_iter().filter(|id| group.ack(*id)).count();
    ctx.srv.dirty += acked as u64;
    ctx.out.integer(acked as i64);
    Ok(())
}

/// XPENDING key group [[IDLE min-idle] start end count [consumer]] — the summary
/// `[count, first, last, [[consumer, count] ...]]`, or the pending entries
/// `[[id, consumer, idle ms, deliveries] ...]`.
fn xpending_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let argc = argv.len();
    if argc != 3 && !(6..=9).contains(&argc) {
        return Err(CommandError::Syntax);
    }
    let mut range = None;
    let mut min_idle = 0i64;
    if argc >= 6 {
        let mut start_idx = 3;
        if args::is(argv[3], "idle") {
            min_idle = args::int(argv[4])?;
            if argc < 8 {
                return Err(CommandError::Syntax);
            }
            start_idx += 2;
        }
        let count = count_arg(argv[start_idx + 2])?;
        let start = parse_range_bound(argv[start_idx], true)?;
        let end = parse_range_bound(argv[start_idx + 1], false)?;
        let consumer = argv.get(start_idx + 3).copied();
        range = Some((start, end, count, consumer));
    }
    let now = ctx.now;
    let s = stream_for_read(&mut ctx.dbs[ctx.db], argv[1], now)?;
    let Some(group) = s.and_then(|s| s.group(argv[2])) else {
        return Err(nogroup_key_or_group(argv[1], argv[2], ""));
    };
    let out = &mut *ctx.out;
    let Some((start, end, count, consumer)) = range else {
        out.array_len(4);
        out.integer(group.pel.len() as i64);
        match (group.pel.keys().next(), group.pel.keys().next_back()) {
            (Some(first), Some(last)) => {
                bulk_id(out, *first);
                bulk_id(out, *last);
                let owners: Vec<_> = group
                    .consumers
                    .iter()
                    .filter(|(_, c)| !c.pel.is_empty())
                    .collect();
                out.array_len(owners.len());
                for (name, c) in owners {
                    out.array_len(2);
                    out.bulk(name);
                    out.bulk_i64(c.pel.len() as i64);
                }
            }
            _ => {
                out.null();
                out.null();
                out.null_array();
            }
        }
        return Ok(());
    };
    let ids: Vec<StreamId> = match consumer {
        Some(name) => match group.consumers.get(name) {
            Some(c) if start <= end => c.pel.range(start..=end).copied().collect(),
            Some(_) => Vec::new(),
            None => {
                out.empty_array();
                return Ok(());
            }
        },
        None if start <= end => group.pel.range(start..=end).map(|(id, _)| *id).collect(),
        None => Vec::new(),
    };
    let at = out.deferred_len();
    let mut n = 0;
    for id in ids {
        if n >= count {
            break;
        }
        let Some(nack) = group.pel.get(&id) else {
            continue;
        };
        let idle = now - nack.delivery_time;
        if min_idle != 0 && idle < min_idle {
            continue;
        }
        n += 1;
        out.array_len(4);
        bulk_id(out, id);
        out.bulk(nack.consumer.as_ref().map_or(&b""[..], |c| c.as_bytes()));
        out.integer(idle.max(0));
        out.integer(nack.delivery_count as i64);
    }
    out.set_deferred_len(at, b'*', n);
    Ok(())
}

/// XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME unix-ms]
/// [RETRYCOUNT count] [FORCE] [JUSTID] [LASTID id] — the entries (or IDs) claimed.
fn xclaim_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let now = ctx.now;
    {
        let s = stream_for_read(&mut ctx.dbs[ctx.db], argv[1], now)?;
        if s.and_then(|s| s.group(argv[2])).is_none() {
            return Err(nogroup_key_or_group(argv[1], argv[2], ""));
        }
    }
    let min_idle = parse_i64(argv[4])
        .ok_or(CommandError::Err(
            "Invalid min-idle-time argument for XCLAIM",
        ))?
        .max(0);
    let mut ids = Vec::new();
    let mut j = 5;
    while j < argv.len() {
        match parse_strict_id(argv[j]) {
            Ok(id) => ids.push((id, j)),
            Err(_) => break,
        }
        j += 1;
    }
    let mut delivery_time: Option<i64> = None;
    let mut retry_count: Option<i64> = None;
    let mut force = false;
    let mut justid = false;
    let mut last_id = StreamId::MIN;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        let opt = argv[j];
        let int_opt = |arg: &[u8], msg: &'static str| parse_i64(arg).ok_or(CommandError::Err(msg));
        if args::is(opt, "force") {
            force = true;
        } else if args::is(opt, "justid") {
            justid = true;
        } else if args::is(opt, "idle") && more > 0 {
            j += 1;
            let idle = int_opt(argv[j], "Invalid IDLE option argument for XCLAIM")?;
            delivery_time = Some(now - idle);
        } else if args::is(opt, "time") && more > 0 {
            j += 1;
            delivery_time = Some(int_opt(argv[j], "Invalid TIME option argument for XCLAIM")?);
        } else if args::is(opt, "retrycount") && more > 0 {
            j += 1;
            retry_count = Some(int_opt(
                argv[j],
                "Invalid RETRYCOUNT option argument for XCLAIM",
            )?);
        } else if args::is(opt, "lastid") && more > 0 {
            j += 1;
            last_id = parse_strict_id(argv[j])?;
        } else {
            return Err(CommandError::err(format!(
                "Unrecognized XCLAIM option '{}'",
                c_text(opt)
            )));
        }
        j += 1;
    }
    let delivery_time = match delivery_time {
        Some(t) if t < 0 || t > now => now,
        Some(t) => t,
        None => now,
    };
    let (key, consumer) = (argv[1], argv[3]);
    let propagating = propagate::active(ctx);
    let Ok(Some(s)) = stream_for_write(&mut ctx.dbs[ctx.db], key, now) else {
        return Ok(());
    };
    let Some(mut group) = s.groups.as_mut().and_then(|g| g.remove(argv[2])) else {
        return Ok(());
    };
    let mut last_id_moved = false;
    if last_id > group.last_id {
        group.last_id = last_id;
        last_id_moved = true;
    }
    let mut ops = Vec::new();
    let out = &mut *ctx.out;
    let at = out.deferred_len();
    let mut n = 0;
    let mut consumer_created = false;
    let mut consumer_ready = false;
    for (id, arg) in ids {
        if !s.contains(id) {
            // The entry is gone: drop it from the PEL (and from the replica's, with an
            // XCLAIM naming its last owner).
            if let Some(nack) = group.pel.get(&id).filter(|_| propagating) {
                ops.push(xclaim_op(key, argv[2], argv[arg], nack, group.last_id));
            }
            group.ack(id);
            continue;
        }
        if force && !group.pel.contains_key(&id) {
            // A new pending entry starts delivered once (Redis: `streamCreateNACK`).
            group.pel.insert(
                id,
                Nack {
                    delivery_time: now,
                    delivery_count: 1,
                    consumer: None,
                },
            );
        }
        let Some(nack) = group.pel.get(&id) else {
            continue;
        };
        if nack.consumer.is_some() && min_idle > 0 && now - nack.delivery_time < min_idle {
            continue;
        }
        if !consumer_ready {
            consumer_ready = true;
            match group.consumers.get_mut(consumer) {
                Some(c) => c.seen_time = now,
                None => consumer_created = group.create_consumer(consumer, now),
            }
        }
        group.assign(id, consumer);
        if let Some(nack) = group.pel.get_mut(&id) {
            nack.delivery_time = delivery_time;
            if let Some(rc) = retry_count.filter(|rc| *rc >= 0) {
                nack.delivery_count = rc as u64;
            } else if !justid {
                nack.delivery_count += 1;
            }
        }
        if justid {
            bulk_id(out, id);
        } else if let Some(e) = s.get(id) {
            reply_entry(out, &e);
        }
        if let Some(nack) = group.pel.get(&id).filter(|_| propagating) {
            ops.push(xclaim_op(key, argv[2], argv[arg], nack, group.last_id));
        }
        n += 1;
    }
    out.set_deferred_len(at, b'*', n);
    // A LASTID that moved the group reaches the replica inside the XCLAIMs, or, when there
    // is none, as XGROUP SETID (Redis: `propagate_last_id`).
    if last_id_moved && ops.is_empty() && propagating {
        ops.push(setid_op(key, argv[2], &group));
    }
    if let Some(gs) = s.groups.as_mut() {
        gs.insert(Sds::new(argv[2]), group);
    }
    ctx.srv.dirty += 1;
    if consumer_created {
        notify(ctx, NOTIFY_STREAM, "xgroup-createconsumer", key);
    }
    claimed_ops_propagate(ctx, ops);
    Ok(())
}

/// XCLAIM / XAUTOCLAIM reach replicas only as the XCLAIMs (and XGROUP SETID) of what they
/// did, never as themselves (Redis: `preventCommandPropagation` in both).
fn claimed_ops_propagate(ctx: &mut Ctx, ops: Vec<Vec<Vec<u8>>>) {
    propagate::prevent(ctx);
    for op in ops {
        propagate::also_propagate(ctx, ctx.db, op);
    }
}

/// XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID] —
/// `[next cursor, claimed entries (or IDs), deleted IDs]`.
fn xautoclaim_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let min_idle = parse_i64(argv[4])
        .ok_or(CommandError::Err(
            "Invalid min-idle-time argument for XAUTOCLAIM",
        ))?
        .max(0);
    let start = parse_range_bound(argv[5], true)?;
    let mut count: i64 = 100;
    let mut justid = false;
    let mut j = 6;
    let max_count = i64::MAX / 16;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        if args::is(argv[j], "count") && more > 0 {
            count = match parse_i64(argv[j + 1]) {
                Some(n) if (1..=max_count).contains(&n) => n,
                _ => return Err(CommandError::Err("COUNT must be > 0")),
            };
            j += 1;
        } else if args::is(argv[j], "justid") {
            justid = true;
        } else {
            return Err(CommandError::Syntax);
        }
        j += 1;
    }
    let now = ctx.now;
    let (key, consumer) = (argv[1], argv[3]);
    let propagating = propagate::active(ctx);
    let s = stream_for_write(&mut ctx.dbs[ctx.db], key, now)?;
    let Some(s) = s.filter(|s| s.group(argv[2]).is_some()) else {
        return Err(nogroup_key_or_group(key, argv[2], ""));
    };
    let Some(mut group) = s.groups.as_mut().and_then(|g| g.remove(argv[2])) else {
        return Ok(());
    };
    let mut ops = Vec::new();
    let out = &mut *ctx.out;
    out.array_len(3);
    let mut attempts = count.saturating_mul(10);
    let mut claimed = ReplyBuffer::new();
    claimed.set_resp3(out.is_resp3());
    let mut n = 0;
    let mut deleted = Vec::new();
    let mut cursor = start;
    let mut next: Option<StreamId> = None;
    let mut consumer_created = false;
    let mut consumer_ready = false;
    loop {
        let Some((&id, nack)) = group.pel.range(cursor..).next() else {
            next = None;
            break;
        };
        if attempts == 0 || count == 0 {
            next = Some(id);
            break;
        }
        attempts -= 1;
        cursor = match id.next() {
            Some(c) => c,
            None => StreamId::MAX,
        };
        if !s.contains(id) {
            if propagating {
                let id_arg = id.to_text().into_bytes();
                ops.push(xclaim_op(key, argv[2], &id_arg, nack, group.last_id));
            }
            group.ack(id);
            deleted.push(id);
            count -= 1;
            if id == StreamId::MAX {
                break;
            }
            continue;
        }
        if min_idle > 0 && now - nack.delivery_time < min_idle {
            if id == StreamId::MAX {
                break;
            }
            continue;
        }
        if !consumer_ready {
            consumer_ready = true;
            match group.consumers.get_mut(consumer) {
                Some(c) => c.seen_time = now,
                None => consumer_created = group.create_consumer(consumer, now),
            }
        }
        group.assign(id, consumer);
        if let Some(nack) = group.pel.get_mut(&id) {
            nack.delivery_time = now;
            if !justid {
                nack.delivery_count += 1;
            }
        }
        if justid {
            bulk_id(&mut claimed, id);
        } else if let Some(e) = s.get(id) {
            reply_entry(&mut claimed, &e);
        }
        if let Some(nack) = group.pel.get(&id).filter(|_| propagating) {
            let id_arg = id.to_text().into_bytes();
            ops.push(xclaim_op(key, argv[2], &id_arg, nack, group.last_id));
        }
        n += 1;
        count -= 1;
        if id == StreamId::MAX {
            break;
        }
    }
    bulk_id(out, next.unwrap_or(StreamId::MIN));
    out.array_len(n);
    out.append(&mut claimed);
    out.array_len(deleted.len());
    for id in deleted {
        bulk_id(out, id);
    }
    if let Some(gs) = s.groups.as_mut() {
        gs.insert(Sds::new(argv[2]), group);
    }
    ctx.srv.dirty += 1;
    if consumer_created {
        notify(ctx, NOTIFY_STREAM, "xgroup-createconsumer", key);
    }
    claimed_ops_propagate(ctx, ops);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// XINFO.
// ---------------------------------------------------------------------------------------------

/// XINFO CONSUMERS key group — per consumer: name, pending, idle.
fn xinfo_consumers_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let now = ctx.now;
    let out = &mut *ctx.out;
    let s = stream_for_read(&mut ctx.dbs[ctx.db], argv[2], now)?.ok_or(CommandError::NoSuchKey)?;
    let group = s
        .group(argv[3])
        .ok_or_else(|| nogroup_for_key(argv[3], argv[2]))?;
    out.array_len(group.consumers.len());
    for (name, c) in &group.consumers {
        out.map_len(3);
        out.bulk_str("name");
        out.bulk(name);
        out.bulk_str("pending");
        out.integer(c.pel.len() as i64);
        out.bulk_str("idle");
        out.integer((now - c.seen_time).max(0));
    }
    Ok(())
}

/// Writes a group's `entries-read` (nil when unknown) and `lag` (nil when unknown).
fn reply_entries_read_and_lag(out: &mut ReplyBuffer, s: &Stream, group: &ConsumerGroup) {
    out.bulk_str("entries-read");
    if group.entries_read != INVALID_ENTRIES_READ {
        out.integer(group.entries_read);
    } else {
        out.null();
    }
    out.bulk_str("lag");
    match s.group_lag(group) {
        Some(lag) => out.integer(lag),
        None => out.null(),
    }
}

/// XINFO GROUPS key — per group: name, consumers, pending, last-delivered-id, entries-read,
/// lag.
fn xinfo_groups_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let out = &mut *ctx.out;
    let now = ctx.now;
    let s = stream_for_read(&mut ctx.dbs[ctx.db], argv[2], now)?.ok_or(CommandError::NoSuchKey)?;
    let groups: Vec<_> = s.groups.iter().flat_map(|g| g.iter()).collect();
    out.array_len(groups.len());
    for (name, g) in groups {
        out.map_len(6);
        out.bulk_str("name");
        out.bulk(name);
        out.bulk_str("consumers");
        out.integer(g.consumers.len() as i64);
        out.bulk_str("pending");
        out.integer(g.pel.len() as i64);
        out.bulk_str("last-delivered-id");
        bulk_id(out, g.last_id);
        reply_entries_read_and_lag(out, s, g);
    }
    Ok(())
}

/// XINFO STREAM key [FULL [COUNT count]] — the stream's counters and edges, or with FULL its
/// entries, groups, PELs and consumers (COUNT bounds each list, 10 by default, 0 = all).
fn xinfo_stream_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    // The key is looked up before the options are read (Redis: `xinfoCommand`).
    let now = ctx.now;
    stream_for_read(&mut ctx.dbs[ctx.db], argv[2], now)?.ok_or(CommandError::NoSuchKey)?;
    let opts = &argv[3..];
    let mut full = false;
    let mut count: usize = 10;
    if !opts.is_empty() {
        if (opts.len() != 1 && opts.len() != 3) || !args::is(opts[0], "full") {
            return Err(subcommand_syntax_error(argv));
        }
        full = true;
        if opts.len() == 3 {
            if !args::is(opts[1], "count") {
                return Err(subcommand_syntax_error(argv));
            }
            let n = args::int(opts[2])?;
            count = if n < 0 { 10 } else { n as usize };
        }
    }
    let out = &mut *ctx.out;
    let s = stream_for_read(&mut ctx.dbs[ctx.db], argv[2], now)?.ok_or(CommandError::NoSuchKey)?;
    out.map_len(if full { 9 } else { 10 });
    out.bulk_str("length");
    out.integer(s.len() as i64);
    out.bulk_str("radix-tree-keys");
    out.integer(s.node_count() as i64);
    out.bulk_str("radix-tree-nodes");
    out.integer(rax_node_count(s) as i64);
    out.bulk_str("last-generated-id");
    bulk_id(out, s.last_id);
    out.bulk_str("max-deleted-entry-id");
    bulk_id(out, s.max_deleted_entry_id);
    out.bulk_str("entries-added");
    out.integer(s.entries_added as i64);
    out.bulk_str("recorded-first-entry-id");
    bulk_id(out, s.first_id);
    if !full {
        out.bulk_str("groups");
        out.integer(s.group_count() as i64);
        for (name, rev) in [("first-entry", false), ("last-entry", true)] {
            out.bulk_str(name);
            let mut emitted = false;
            s.range(StreamId::MIN, StreamId::MAX, rev, |e| {
                reply_entry(out, &e);
                emitted = true;
                false
            });
            if !emitted {
                out.null();
            }
        }
        return Ok(());
    }
    out.bulk_str("entries");
    reply_range(out, s, StreamId::MIN, StreamId::MAX, count, false);
    out.bulk_str("groups");
    let groups: Vec<_> = s.groups.iter().flat_map(|g| g.iter()).collect();
    out.array_len(groups.len());
    let limit = if count == 0 { usize::MAX } else { count };
    for (name, g) in groups {
        out.map_len(7);
        out.bulk_str("name");
        out.bulk(name);
        out.bulk_str("last-delivered-id");
        bulk_id(out, g.last_id);
        reply_entries_read_and_lag(out, s, g);
        out.bulk_str("pel-count");
        out.integer(g.pel.len() as i64);
        out.bulk_str("pending");
        out.array_len(g.pel.len().min(limit));
        for (id, nack) in g.pel.iter().take(limit) {
            out.array_len(4);
            bulk_id(out, *id);
            out.bulk(nack.consumer.as_ref().map_or(&b""[..], |c| c.as_bytes()));
            out.integer(nack.delivery_time);
            out.integer(nack.delivery_count as i64);
        }
        out.bulk_str("consumers");
        out.array_len(g.consumers.len());
        for (cname, c) in &g.consumers {
            out.map_len(4);
            out.bulk_str("name");
            out.bulk(cname);
            out.bulk_str("seen-time");
            out.integer(c.seen_time);
            out.bulk_str("pel-count");
            out.integer(c.pel.len() as i64);
            out.bulk_str("pending");
            out.array_len(c.pel.len().min(limit));
            for id in c.pel.iter().take(limit) {
                let nack = g.pel.get(id);
                out.array_len(3);
                bulk_id(out, *id);
                out.integer(nack.map_or(0, |n| n.delivery_time));
                out.integer(nack.map_or(0, |n| n.delivery_count as i64));
            }
        }
    }
    Ok(())
}

/// The node count of the radix tree Redis would hold for this stream's node keys (XINFO
/// `radix-tree-nodes`): a canonical rax over 16-byte big-endian IDs, where a run of
/// single-child positions is one compressed node, each branching position one node, and each
/// key ends in a leaf node.
fn rax_node_count(s: &Stream) -> usize {
    let keys: Vec<[u8; 16]> = s.nodes().map(|(id, _)| id.encode()).collect();
    if keys.is_empty() {
        return 1;
    }
    count_rax_nodes(&keys, 0)
}

/// Nodes of the rax position shared by `keys` (sorted, distinct) at byte `depth`.
fn count_rax_nodes(keys: &[[u8; 16]], depth: usize) -> usize {
    if depth >= 16 {
        return 1;
    }
    let first = keys[0][depth];
    if keys.iter().all(|k| k[depth] == first) {
        // A compressed node up to where the keys diverge (or end).
        let mut d = depth + 1;
        while d < 16 && keys.iter().all(|k| k[d] == keys[0][d]) {
            d += 1;
        }
        return 1 + count_rax_nodes(keys, d);
    }
    let mut total = 1;
    let mut i = 0;
    while i < keys.len() {
        let b = keys[i][depth];
        let j = i + keys[i..].iter().take_while(|k| k[depth] == b).count();
        total += count_rax_nodes(&keys[i..j], depth + 1);
        i = j;
    }
    total
}

/// XINFO HELP.
fn xinfo_help_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    ctx.out.help(
        "XINFO",
        &[
            "CONSUMERS <key> <groupname>",
            "    Show consumers of <groupname>.",
            "GROUPS <key>",
            "    Show the stream consumer groups.",
            "STREAM <key> [FULL [COUNT <count>]",
            "    Show information about the stream.",
        ],
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_with_redis_rules() {
        assert_eq!(parse_id(b"5", 7).unwrap(), StreamId::new(5, 7));
        assert_eq!(parse_id(b"5-3", 7).unwrap(), StreamId::new(5, 3));
        assert_eq!(parse_id(b"-", 7).unwrap(), StreamId::MIN);
        assert_eq!(parse_id(b"+", 7).unwrap(), StreamId::MAX);
        assert!(parse_strict_id(b"+").is_err());
        assert!(parse_id(b"5-x", 0).is_err());
        assert!(parse_id(b"-5", 0).is_err());
        assert_eq!(
            parse_id(b"18446744073709551615-1", 0).unwrap(),
            StreamId::new(u64::MAX, 1)
        );
        assert_eq!(
            parse_id_generic(b"5-*", 0, true, true).unwrap(),
            (StreamId::new(5, 0), false)
        );
    }

    #[test]
    fn exclusive_bounds_step_over_the_id() {
        assert_eq!(
            parse_range_bound(b"(1-5", true).unwrap(),
            StreamId::new(1, 6)
        );
        assert_eq!(
            parse_range_bound(b"(2-0", false).unwrap(),
            StreamId::new(1, u64::MAX)
        );
        assert!(parse_range_bound(b"(0-0", false).is_err());
    }
}
