//! The slow log: the most recent commands that took longer than `slowlog-log-slower-than`
//! microseconds, newest first, at most `slowlog-max-len` of them (Redis: `slowlog.c`, and the
//! `slowlogPushCurrentCommand` call in `server.c`'s `call`).
//!
//! ```text
//!   call() ── time the handler ── duration >= threshold? ── push ──> SlowLog
//!                                  └── trim to slowlog-max-len (drop the oldest)
//!   SLOWLOG GET [n] / LEN / RESET / HELP
//! ```
//!
//! An entry keeps a trimmed copy of the arguments (at most 32, each at most 128 bytes, with
//! Redis's "... (N more ...)" markers), so a huge request costs the log a few KB at most.
//! Arguments a command marks as secret (`Ctx::redact_argument`: MIGRATE's passwords, CONFIG
//! SET of a password) are logged as `(redacted)`, and commands flagged `skip_slowlog` (EXEC,
//! whose commands are logged one by one) are not logged at all.

use super::args;
use super::error::{CommandError, CommandResult};
use super::table::{flags::*, CommandSpec};
use super::Ctx;
use std::collections::VecDeque;

pub const COMMANDS: &[CommandSpec] = &[CommandSpec::new(
    "slowlog",
    super::connection::container_command,
    -2,
    0,
    "server",
)
.subs(SUBCOMMANDS)
.doc("A container for slow log commands.", "2.2.12")];

const SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "slowlog|reset",
        slowlog_reset_command,
        2,
        ADMIN | LOADING | STALE,
        "server",
    )
    .acl(&["@dangerous"])
    .tips(&["request_policy:all_nodes", "response_policy:all_succeeded"])
    .doc("Clears all entries from the slow log.", "2.2.12"),
    CommandSpec::new(
        "slowlog|len",
        slowlog_len_command,
        2,
        ADMIN | LOADING | STALE,
        "server",
    )
    .acl(&["@dangerous"])
    .tips(&[
        "request_policy:all_nodes",
        "response_policy:agg_sum",
        "nondeterministic_output",
    ])
    .doc("Returns the number of entries in the slow log.", "2.2.12"),
    CommandSpec::new(
        "slowlog|help",
        slowlog_help_command,
        2,
        LOADING | STALE,
        "server",
    )
    .doc("Show helpful text about the different subcommands", "6.2.0"),
    CommandSpec::new(
        "slowlog|get",
        slowlog_get_command,
        -2,
        ADMIN | LOADING | STALE,
        "server",
    )
    .acl(&["@dangerous"])
    .tips(&["request_policy:all_nodes", "nondeterministic_output"])
    .doc("Returns the slow log's entries.", "2.2.12"),
];

/// Arguments kept per entry (Redis: `SLOWLOG_ENTRY_MAX_ARGC`).
const MAX_ARGC: usize = 32;
/// Bytes kept per argument (Redis: `SLOWLOG_ENTRY_MAX_STRING`).
const MAX_STRING: usize = 128;

/// One logged command.
struct SlowLogEntry {
    id: u64,
    /// Unix seconds when it was logged.
    time: i64,
    duration_us: u64,
    argv: Vec<Vec<u8>>,
    peer: String,
    name: Vec<u8>,
}

/// The log, newest entry first (Redis: `server.slowlog`).
#[derive(Default)]
pub struct SlowLog {
    entries: VecDeque<SlowLogEntry>,
    next_id: u64,
}

/// What the log needs to know of one call.
pub struct SlowCall<'a> {
    pub argv: &'a [&'a [u8]],
    /// Indexes of arguments to log as `(redacted)`.
    pub redacted: &'a [usize],
    pub duration_us: u64,
    pub now_ms: i64,
    pub peer: String,
    pub name: &'a [u8],
}

impl SlowLog {
    /// Logs a call that took at least `slowlog-log-slower-than` (Redis:
    /// `slowlogPushEntryIfNeeded`, whose threshold test is the caller's).
    pub fn push(&mut self, call: SlowCall) {
        let entry = SlowLogEntry {
            id: self.next_id,
            time: call.now_ms / 1000,
            duration_us: call.duration_us,
            argv: trimmed_argv(call.argv, call.redacted),
            peer: call.peer,
            name: call.name.to_vec(),
        };
        self.next_id += 1;
        self.entries.push_front(entry);
    }

    /// Drops the oldest entries beyond `max_len` (`slowlog-max-len` may have been lowered).
    pub fn trim(&mut self, max_len: u64) {
        let max_len = usize::try_from(max_len).unwrap_or(usize::MAX);
        self.entries.truncate(max_len);
    }
}

/// The arguments as an entry keeps them (Redis: `slowlogCreateEntry`).
fn trimmed_argv(argv: &[&[u8]], redacted: &[usize]) -> Vec<Vec<u8>> {
    let kept = argv.len().min(MAX_ARGC);
    (0..kept)
        .map(|j| {
            if kept != argv.len() && j == kept - 1 {
                format!("... ({} more arguments)", argv.len() - kept + 1).into_bytes()
            } else if redacted.contains(&j) {
                b"(redacted)".to_vec()
            } else if argv[j].len() > MAX_STRING {
                let mut s = argv[j][..MAX_STRING].to_vec();
                s.extend_from_slice(
                    format!("... ({} more bytes)", argv[j].len() - MAX_STRING).as_bytes(),
                );
                s
            } else {
                argv[j].to_vec()
            }
        })
        .collect()
}

/// SLOWLOG GET [count] — the newest `count` entries (default 10, -1 for all).
fn slowlog_get_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let log = &ctx.srv.slowlog;
    let count = match argv.get(2) {
        None => 10,
        Some(arg) => match args::int(arg)? {
            -1 => log.entries.len(),
            n if n < -1 => {
                return Err(CommandError::Err(
                    "count should be greater than or equal to -1",
                ))
            }
            n => usize::try_from(n).unwrap_or(usize::MAX),
        },
    };
    let shown = count.min(log.entries.len());
    ctx.out.array_len(shown);
    for entry in log.entries.iter().take(shown) {
        ctx.out.array_len(6);
        ctx.out.integer(entry.id as i64);
        ctx.out.integer(entry.time);
        ctx.out.integer(entry.duration_us as i64);
        ctx.out.array_len(entry.argv.len());
        for arg in &entry.argv {
            ctx.out.bulk(arg);
        }
        ctx.out.bulk(entry.peer.as_bytes());
        ctx.out.bulk(&entry.name);
    }
    Ok(())
}

/// SLOWLOG LEN — the number of entries.
fn slowlog_len_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    let len = ctx.srv.slowlog.entries.len();
    ctx.out.integer(len as i64);
    Ok(())
}

/// SLOWLOG RESET — empties the log (ids keep counting, as in Redis).
fn slowlog_reset_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    ctx.srv.slowlog.entries.clear();
    ctx.out.ok();
    Ok(())
}

/// SLOWLOG HELP.
fn slowlog_help_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    ctx.out.help(
        "SLOWLOG",
        &[
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
        ],
    );
    Ok(())
}
