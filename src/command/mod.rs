//! Commands: the table, the dispatcher, and one file per command family (Redis: `server.c`
//! `processCommand` / `call`, and the `t_*.c` command halves).
//!
//! The life of a command once the parser has its arguments (see `ARCHITECTURE.md`):
//!
//! ```text
//! argv ──> execute() ── lookup in CommandTable ── unknown? ──> -ERR unknown command
//!              │         arity / auth / pubsub-context / MULTI checks
//!              ├── client in MULTI? ──> queue it, +QUEUED
//!              └── call() ──> spec.proc_(ctx, argv) ──> Ok / Err(CommandError) -> -ERR ...
//!                    │ stats (commandstats, errorstats)
//!                    └── after_command(): notify expired keys, serve blocked clients
//! ```
//!
//! A handler gets a [`Ctx`]: the databases, the caller's reply buffer, the client slab and the
//! server state as *separate* borrows, so it can read a key and append a reply at the same time
//! with no `RefCell` or lock — the Rust form of Redis's `client *c` plus the `server` global.

pub mod admin;
pub mod args;
pub mod bitops;
pub mod connection;
pub mod error;
pub mod hash;
pub mod hyperloglog;
pub mod keyspace;
pub mod keyspec;
pub mod list;
pub mod multi;
pub mod pubsub;
pub mod scripting;
pub mod set;
pub mod sort;
pub mod string;
pub mod table;
pub mod zset;

use crate::db::{Db, Ms};
use crate::resp::reply::ReplyBuffer;
use crate::server::client::Client;
use crate::server::ServerState;
use error::{CommandError, CommandResult};
use slab::Slab;
use std::time::Instant;
use table::{flags, CommandSpec};

/// Everything a command handler may touch, as disjoint borrows.
pub struct Ctx<'a> {
    /// All logical databases; the caller's is `dbs[db]`.
    pub dbs: &'a mut [Db],
    /// Index of the caller's selected database (SELECT changes it and the client's copy).
    pub db: usize,
    /// The caller's reply buffer. It is moved out of the client while its commands run, so
    /// that `clients` can be borrowed at the same time; see [`Ctx::reply_to`].
    pub out: &'a mut ReplyBuffer,
    /// Every connected client, including the caller (whose `reply` is empty meanwhile).
    pub clients: &'a mut Slab<Client>,
    /// Slab key of the caller (`usize::MAX` when the server itself runs code, e.g. expiry).
    pub id: usize,
    pub srv: &'a mut ServerState,
    /// The instant this command runs at (Unix ms). Captured once: a command, or a whole script,
    /// sees one time.
    pub now: Ms,
}

/// Slab key used for a Ctx that belongs to no client (cron, active expiry).
pub const NO_CLIENT: usize = usize::MAX;

impl<'a> Ctx<'a> {
    /// The caller's client record.
    pub fn me(&mut self) -> &mut Client {
        &mut self.clients[self.id]
    }

    /// The caller's database.
    pub fn db(&mut self) -> &mut Db {
        &mut self.dbs[self.db]
    }

    /// The reply buffer of any client: the caller's own (`out`) or another's, which is then
    /// queued for writing in `before_sleep`. Pub/Sub messages and unblocked clients' replies
    /// go through here.
    pub fn reply_to(&mut self, client: usize) -> Option<&mut ReplyBuffer> {
        if client == self.id {
            return Some(&mut *self.out);
        }
        let c = self.clients.get_mut(client)?;
        if !c.pending_write {
            c.pending_write = true;
            self.srv.clients_pending_write.push(client);
        }
        Some(&mut c.reply)
    }
}

/// Runs one request for client `ctx.id` and applies CLIENT REPLY OFF/SKIP to whatever it
/// answered except its pub/sub pushes — errors from the checks and +QUEUED included, as
/// Redis's `addReply` refuses to queue anything for such a client (Redis: `resetClient`
/// advances the SKIP state).
pub fn execute(ctx: &mut Ctx, argv: &[&[u8]]) {
    let reply_len = ctx.out.len();
    pubsub::begin_command(&mut ctx.srv.pubsub);
    process_command(ctx, argv);
    if let Some(me) = ctx.clients.get_mut(ctx.id) {
        if me.take_reply_suppression() {
            // Pub/sub pushes to the client itself get through (Redis: `CLIENT_PUSHING`).
            pubsub::keep_own_pushes(&mut ctx.srv.pubsub, ctx.out, reply_len);
        }
    }
}

/// Lookup, checks, MULTI queueing, then [`call`]. Redis: `processCommand`.
fn process_command(ctx: &mut Ctx, argv: &[&[u8]]) {
    let Some(name) = argv.first() else { return };
    let spec = match ctx.srv.commands.lookup(name) {
        Some(spec) => spec,
        None => {
            let err = CommandError::UnknownCommand {
                name: name.to_vec(),
                args: argv[1..].iter().take(32).map(|a| a.to_vec()).collect(),
            };
            return reject(ctx, err);
        }
    };
    let spec = match resolve_subcommand(spec, argv) {
        Ok(spec) => spec,
        Err(err) => return reject(ctx, err),
    };
    if !spec.arity_ok(argv.len()) {
        return reject_command(ctx, spec, CommandError::WrongArity(spec.name.to_string()));
    }
    if !ctx.me().authenticated && !spec.has(flags::NO_AUTH) {
        return reject_command(ctx, spec, CommandError::NoAuth);
    }
    if let Err(err) = pubsub::check_subscriber_context(ctx, spec, argv) {
        return reject_command(ctx, spec, err);
    }
    if multi::queue_if_in_transaction(ctx, spec, argv) {
        return;
    }
    call(ctx, spec, argv);
    after_command(ctx);
}

/// Answers a request refused before it ran, and marks an open transaction as failed (so EXEC
/// replies EXECABORT, as Redis does for errors detected while queueing).
fn reject(ctx: &mut Ctx, err: CommandError) {
    multi::flag_transaction_error(ctx);
    ctx.srv.stats.total_error_replies += 1;
    *ctx.srv.stats.error_codes.entry(err.code()).or_insert(0) += 1;
    ctx.out.error(&err.message());
}

/// [`reject`] for a request whose command row is known: counts it in the command's
/// `rejected_calls` (INFO commandstats), and a refused EXEC also discards the transaction and
/// says so (Redis: `rejectCommand` -> `execCommandAbort`).
fn reject_command(ctx: &mut Ctx, spec: &'static CommandSpec, err: CommandError) {
    command_stats(ctx, spec).rejected_calls += 1;
    let err = multi::abort_if_exec(ctx, spec, err);
    reject(ctx, err);
}

/// The statistics record of a command, created on first use.
fn command_stats<'s>(
    ctx: &'s mut Ctx,
    spec: &'static CommandSpec,
) -> &'s mut crate::server::CommandStats {
    ctx.srv
        .stats
        .commands
        .entry(spec as *const CommandSpec as usize)
        .or_insert_with(|| crate::server::CommandStats {
            name: spec.name,
            ..Default::default()
        })
}

/// Picks the subcommand row for container commands (CLIENT LIST -> `client|list`).
fn resolve_subcommand(
    spec: &'static CommandSpec,
    argv: &[&[u8]],
) -> Result<&'static CommandSpec, CommandError> {
    if spec.subcommands.is_empty() {
        return Ok(spec);
    }
    match argv.get(1) {
        // A container that also works bare (COMMAND, arity -1) runs its own handler.
        None if spec.arity_ok(argv.len()) => Ok(spec),
        None => Err(CommandError::WrongArity(spec.name.to_string())),
        Some(sub) => {
            table::lookup_subcommand(spec, sub).ok_or_else(|| CommandError::UnknownSubcommand {
                sub: sub.to_vec(),
                command: spec.name,
            })
        }
    }
}

/// Runs a command that passed all checks and records its statistics. EXEC and scripts call
/// this directly for each command they run. Redis: `call`.
pub fn call(ctx: &mut Ctx, spec: &'static CommandSpec, argv: &[&[u8]]) {
    let started = Instant::now();
    let result: CommandResult = (spec.proc_)(ctx, argv);
    let failed = if let Err(err) = result {
        if !err.already_counted() {
            ctx.srv.stats.total_error_replies += 1;
            *ctx.srv.stats.error_codes.entry(err.code()).or_insert(0) += 1;
        }
        ctx.out.error(&err.message());
        true
    } else {
        false
    };
    if let Some(me) = ctx.clients.get_mut(ctx.id) {
        me.last_command = spec.name;
    }
    let stat = command_stats(ctx, spec);
    stat.calls += 1;
    stat.usec += started.elapsed().as_micros() as u64;
    if failed {
        stat.failed_calls += 1;
    }
    ctx.srv.stats.total_commands_processed += 1;
}

/// Work that follows every command: keys removed by lazy expiry fire their events and
/// invalidate WATCHes, and clients blocked on keys that received data are served — before
/// the caller's reply is written, as in Redis's `handleClientsBlockedOnKeys`.
pub fn after_command(ctx: &mut Ctx) {
    for i in 0..ctx.dbs.len() {
        if !ctx.dbs[i].expired_pending.is_empty() {
            let keys = std::mem::take(&mut ctx.dbs[i].expired_pending);
            for key in keys {
                key_expired(ctx, i, &key);
            }
        }
    }
    crate::server::blocking::handle_clients_blocked_on_keys(ctx);
}

/// A key was removed because its TTL passed (lazily or by the active cycle).
pub fn key_expired(ctx: &mut Ctx, db: usize, key: &[u8]) {
    multi::touch_watched_key(ctx, db, key);
    pubsub::notify_keyspace_event(ctx, pubsub::NOTIFY_EXPIRED, "expired", key, db);
}

/// A write command changed `key`: invalidate WATCHes on it (Redis: `signalModifiedKey`).
pub fn signal_modified_key(ctx: &mut Ctx, key: &[u8]) {
    let db = ctx.db;
    multi::touch_watched_key(ctx, db, key);
}

/// `key` may now hold data a blocked client waits for (Redis: `signalKeyAsReady`).
pub fn signal_key_as_ready(ctx: &mut Ctx, key: &[u8]) {
    let db = ctx.db;
    crate::server::blocking::signal_key_as_ready(ctx, db, key);
}

/// Fires a keyspace notification for the caller's database (Redis: `notifyKeyspaceEvent`).
pub fn notify(ctx: &mut Ctx, class: u32, event: &str, key: &[u8]) {
    let db = ctx.db;
    pubsub::notify_keyspace_event(ctx, class, event, key, db);
}

/// The value at `key` if it is a string; `WRONGTYPE` if it is something else.
pub fn get_string<'d>(
    db: &'d mut Db,
    key: &[u8],
    now: Ms,
) -> Result<Option<&'d crate::db::sds::Sds>, CommandError> {
    match db.lookup_read(key, now, true) {
        None => Ok(None),
        Some(obj) => match &obj.value {
            crate::db::value::Value::Str(s) => Ok(Some(s)),
            _ => Err(CommandError::WrongType),
        },
    }
}
