//! Commands: the table, the dispatcher, and one file per command family (Redis: `server.c`
//! `processCommand` / `call`, and the `t_*.c` command halves).
//!
//! The life of a command once the parser has its arguments (see `ARCHITECTURE.md`). Every
//! caller — the loop for a socket client, the busy-script turn, EXEC, `redis.call` — enters
//! through [`process_command`], naming itself with a [`Caller`]:
//!
//! ```text
//! argv ──> process_command(ctx, argv, caller)
//!              ├── lookup in CommandTable, subcommand, arity ── fails? ──> refuse
//!              ├── per caller: auth, ACL permissions, pub/sub context, BUSY (sockets); no-script,
//!              │   read-only (scripts) ── fails? ──> refuse: -ERR... for sockets (and the
//!              │   open MULTI is flagged), the script's own error text for scripts
//!              ├── client in MULTI? ──> queue it, +QUEUED
//!              └── call() ──> spec.proc_(ctx, argv) ──> Ok / Err(CommandError) -> -ERR ...
//!                    │ stats (commandstats, errorstats)
//!                    │ changed data? ──> queued for propagation (see `propagate`)
//!                    └── after_command() (socket callers): expired keys' events, the
//!                        queued writes to replicas, serve blocked clients
//! ```
//!
//! This layer never imports the loop (`server/`): the loop builds a `Ctx` from its parts and
//! calls in; the one call outward, a busy script letting the loop serve others, goes through
//! the hook the loop installs in [`state::ServerState::events_while_blocked`].
//!
//! A handler gets a [`Ctx`]: the databases, the caller's reply buffer, the client slab and the
//! server state as *separate* borrows, so it can read a key and append a reply at the same time
//! with no `RefCell` or lock — the Rust form of Redis's `client *c` plus the `server` global.

pub mod acl;
pub mod admin;
pub mod aof;
pub mod args;
pub mod bitops;
pub mod blocked;
pub mod client;
pub mod connection;
pub mod dump;
pub mod error;
pub mod evict;
pub mod failover;
pub mod fullsync;
pub mod geo;
pub mod hash;
pub mod hyperloglog;
pub mod info;
pub mod keyspace;
pub mod keyspec;
pub mod latency;
pub mod list;
pub mod memory;
pub mod monitor;
pub mod multi;
pub mod notify;
pub mod pause;
pub mod persistence;
pub mod propagate;
pub mod pubsub;
pub mod replbuf;
pub mod replica;
pub mod replication;
pub mod scripting;
pub mod set;
pub mod shutdown;
pub mod slowlog;
pub mod sort;
pub mod state;
pub mod stream;
pub mod string;
pub mod table;
pub mod tracking;
pub mod zset;

use crate::db::{Db, Ms};
use crate::resp::reply::ReplyBuffer;
use client::Client;
use error::{CommandError, CommandResult};
use slab::Slab;
use state::{CommandStats, ServerState};
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

/// The refusal of a command that may not run while a dataset loads.
pub const LOADING_ERROR: &str = "LOADING Redis is loading the dataset in memory";

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

    /// Marks argument `index` of the running command as secret: the slow log shows it as
    /// `(redacted)` (Redis: `redactClientCommandArgument`).
    pub fn redact_argument(&mut self, index: usize) {
        self.srv.redacted_args.push(index);
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

    /// Queues client `key` for writing in `before_sleep` (something other than its reply
    /// buffer has output for it: a replica's RDB transfer, or it is to be closed).
    pub fn queue_write(&mut self, key: usize) {
        if let Some(c) = self.clients.get_mut(key) {
            if !c.pending_write {
                c.pending_write = true;
                self.srv.clients_pending_write.push(key);
            }
        }
    }
}

/// Who asks for a command to run. Every request, whatever its origin, goes through
/// [`process_command`], which applies the checks that fit the caller — so a check added there
/// (OOM, READONLY on a replica, MISCONF, ACL permissions) is written once for all of them.
#[derive(Clone, Copy)]
pub enum Caller {
    /// A request read from a client's socket by the event loop.
    Client,
    /// A request read from a client's socket by the restricted loop turn run while a script
    /// is busy: only what may interrupt a script runs, anything else gets `-BUSY`.
    WhileBusy,
    /// A command EXEC runs from its queue; it passed lookup and the client checks when it was
    /// queued, so its table row comes with it.
    Exec(&'static CommandSpec),
    /// `redis.call` / `redis.pcall` from a script or a function (EVAL, FCALL): refusals are
    /// returned to the script, in the script's own words, instead of being replied.
    /// A command read from the AOF while it loads, run by its connectionless client: no
    /// check but MULTI queueing, as Redis runs them straight from the file.
    AofLoad,
    Script {
        /// `EVAL_RO`, `FCALL_RO`, a `no-writes` script: write commands are refused.
        read_only: bool,
        /// Where the command is propagated if it changes data (`redis.set_repl`): a mask of
        /// [`propagate::TARGET_AOF`] and [`propagate::TARGET_REPL`].
        targets: u8,
    },
}

impl Caller {
    /// A request straight from a socket (not run on a client's behalf by EXEC or a script).
    fn is_socket(self) -> bool {
        matches!(self, Caller::Client | Caller::WhileBusy)
    }
}

/// What became of a request.
pub enum Processed {
    /// It ran (its reply, possibly an error from the handler, is in `ctx.out`).
    Ran(&'static CommandSpec),
    /// Queued by MULTI (`+QUEUED` was replied) or refused as `no-multi`.
    Queued,
    /// Not run: client eviction closed the client that sent it (nothing is replied).
    Evicted,
    /// Not run yet: clients are paused (CLIENT PAUSE). The request stays in the client's
    /// query buffer and runs when the pause ends.
    Postponed,
    /// Refused before running. Socket callers have had the error replied; for
    /// [`Caller::Script`] it is returned, and nothing was replied or counted.
    Refused(CommandError),
}

/// Runs one request for client `ctx.id` and applies CLIENT REPLY OFF/SKIP to whatever it
/// answered except its pub/sub pushes — errors from the checks and +QUEUED included, as
/// Redis's `addReply` refuses to queue anything for such a client (Redis: `resetClient`
/// advances the SKIP state). The entry point of the event loop; `caller` is
/// [`Caller::Client`] or [`Caller::WhileBusy`].
pub fn execute(ctx: &mut Ctx, argv: &[&[u8]], caller: Caller) {
    let reply_len = ctx.out.len();
    pubsub::begin_command(&mut ctx.srv.pubsub);
    let replica = ctx.me().replica.attached;
    let processed = process_command(ctx, argv, caller);
    if matches!(processed, Processed::Postponed) {
        return;
    }
    if replica && !matches!(processed, Processed::Ran(_)) {
        // Redis names the command looked up (`c->lastcmd`), even one that was refused.
        let name = argv
            .first()
            .and_then(|name| ctx.srv.commands.lookup(name))
            .and_then(|spec| resolve_subcommand(spec, argv).ok())
            .map_or("<unknown>", |spec| spec.name);
        drop_replica_reply(ctx, reply_len, name);
    }
    tracking::reset_caching_flag(ctx, argv);
    if let Some(me) = ctx.clients.get_mut(ctx.id) {
        if me.take_reply_suppression() {
            // Pub/sub pushes to the client itself get through (Redis: `CLIENT_PUSHING`).
            pubsub::keep_own_pushes(&mut ctx.srv.pubsub, ctx.out, reply_len);
        }
    }
}

/// The one check path (Redis: `processCommand`, and `scriptCall` for scripts): lookup,
/// subcommand, arity, the checks that fit `caller`, MULTI queueing, then `call`.
///
/// ```text
///            Client  WhileBusy  Exec  Script
///  lookup      x        x        -      x     (Exec carries the row found when queueing)
///  arity       x        x        -      x
///  auth        x        x        -      -     (the script's caller is authenticated)
///  ACL         x        x        x      x     (skipped for an unrestricted user; EXEC
///                                             checks again as the rules may have changed)
///  pub/sub     x        x        -      -     (RESP2 subscriber mode)
///  no-script   -        -        -      x     (and writes from a read-only script)
///  BUSY        -        x        -      -     (only SCRIPT KILL & co. while a script runs)
///  maxmemory   x        -        -      x     (evict; refuse denyoom: Client at once,
///                                             Script only before its first write)
///  MISCONF     x        x        -      x     (writes, PING, EXEC of writes, after a failed
///                                              background save)
///  replica     x        x        -      -     (a replica or MONITOR client may not touch keys)
///  pause       x        x        -      -     (CLIENT PAUSE: hold the request)
///  MULTI       x        x        -      -     (queue instead of running)
/// ```
pub fn process_command(ctx: &mut Ctx, argv: &[&[u8]], caller: Caller) -> Processed {
    let spec = match caller {
        Caller::Exec(spec) => spec,
        _ => match lookup_command(ctx, argv) {
            Ok(spec) => spec,
            Err((spec, err)) => return refuse(ctx, caller, spec, err),
        },
    };
    match caller {
        Caller::Client | Caller::WhileBusy => {
            // DEBUG / MODULE, unless enabled (Redis checks them before authentication).
            if spec.has(flags::PROTECTED) {
                if let Err(err) = admin::check_protected_command(ctx, spec) {
                    return refuse(ctx, caller, Some(spec), err);
                }
            }
            // One look at the client for the common case: authenticated, not subscribed, not
            // in MULTI, so the per-command path pays three tests and no calls.
            let me = ctx.me();
            let (authenticated, acl_unrestricted, subscribed, in_multi, replica_like) = (
                me.authenticated,
                me.acl_unrestricted,
                me.subscriptions.count() > 0,
                me.multi.active,
                me.monitor || me.replica.attached,
            );
            if !authenticated && !spec.has(flags::NO_AUTH) {
                return refuse(ctx, caller, Some(spec), CommandError::NoAuth);
            }
            // ACL permissions: one test for a user allowed everything (the default user).
            if !acl_unrestricted {
                let context = if in_multi {
                    acl::LogContext::Multi
                } else {
                    acl::LogContext::Toplevel
                };
                if let Err(denial) = acl::check_command(ctx, spec, argv, context) {
                    let err = CommandError::Custom(acl::noperm_message(denial, spec));
                    return refuse(ctx, caller, Some(spec), err);
                }
            }
            if subscribed {
                if let Err(err) = pubsub::check_subscriber_context(ctx, spec, argv) {
                    return refuse(ctx, caller, Some(spec), err);
                }
            }
            // While a dataset loads (the loop is served between its slices), only commands
            // flagged `loading` run (Redis: `shared.loadingerr`, checked before BUSY). While a
            // replica loads its next dataset beside the served one (`async_loading`), all
            // run but those flagged `no-async-loading` (REPLICAOF, SAVE, DEBUG RELOAD...).
            if ctx.srv.loading {
                let refused = if ctx.srv.async_loading {
                    spec.has(flags::NO_ASYNC_LOADING)
                        || multi::exec_would_deny_async_loading(ctx, spec)
                } else {
                    !spec.has(flags::LOADING) || multi::exec_would_deny_loading(ctx, spec)
                };
                if refused {
                    let err = CommandError::Custom(LOADING_ERROR.into());
                    return refuse(ctx, caller, Some(spec), err);
                }
            }
            // The turn served while an AOF loads is a WhileBusy turn too; BUSY is for a
            // script actually running.
            let script_busy = !ctx.srv.loading || ctx.srv.scripts.is_running();
            if matches!(caller, Caller::WhileBusy)
                && script_busy
                && !scripting::allowed_while_busy(spec, argv)
            {
                let err = CommandError::Custom(ctx.srv.scripts.busy_error().into());
                return refuse(ctx, caller, Some(spec), err);
            }
            // Client eviction comes first (after the previous command grew some buffer);
            // a client that evicted itself runs nothing more.
            if ctx.srv.config.maxmemory_clients != 0
                && matches!(caller, Caller::Client)
                && evict::evict_clients(ctx)
            {
                return Processed::Evicted;
            }
            // maxmemory: evict, then refuse what may grow memory (not while a busy script
            // waits: nothing may be deleted under its feet). The master's stream is obeyed.
            let from_master = ctx.srv.master.is_conn(ctx.id);
            if ctx.srv.config.maxmemory != 0 && matches!(caller, Caller::Client) && !from_master {
                if let Err(err) = evict::check_memory(ctx, spec, argv, in_multi) {
                    return refuse(ctx, caller, Some(spec), err);
                }
            }
            // Client-side caching metadata stays within tracking-table-max-keys.
            if ctx.srv.tracking.clients > 0 {
                tracking::limit_used_slots(ctx);
            }
            // A script that declares its flags runs with them (Redis: `getCommandFlags`).
            let cmd_flags = scripting::command_flags(ctx, spec, argv);
            let is_write = cmd_flags & flags::WRITE != 0 || multi::exec_would_write(ctx, spec);
            // After a failed background save (with save points), no writes; checked after
            // maxmemory, as in Redis's processCommand.
            if persistence::writes_denied_by_disk_error(ctx.srv)
                && (is_write || spec.name == "ping")
            {
                return refuse(ctx, caller, Some(spec), CommandError::MisconfRdb);
            }
            // Replication: too few good replicas, a read-only replica, a stale one.
            if is_write && !from_master && !replication::enough_good_replicas(ctx) {
                return refuse(ctx, caller, Some(spec), CommandError::NoReplicas);
            }
            let deny_stale =
                cmd_flags & flags::STALE == 0 || multi::exec_would_deny_stale(ctx, spec);
            if let Err(err) = replica::check_command(ctx, is_write, deny_stale, from_master) {
                return refuse(ctx, caller, Some(spec), err);
            }
            // A replica may not touch the keyspace (so it cannot use the exemption from CLIENT
            // PAUSE that replicas have), and a monitor is a replica to Redis.
            if replica_like && spec.has(flags::WRITE | flags::READONLY | flags::MAY_REPLICATE) {
                let err = CommandError::Err("Replica can't interact with the keyspace");
                return refuse(ctx, caller, Some(spec), err);
            }
            if ctx.srv.pause.kind != pause::PauseKind::Off && pause::must_postpone(ctx, spec, argv)
            {
                pause::postpone(ctx);
                return Processed::Postponed;
            }
            if in_multi && multi::queue_if_in_transaction(ctx, spec, argv, cmd_flags) {
                return Processed::Queued;
            }
        }
        Caller::Script { read_only, .. } => {
            if spec.has(flags::NOSCRIPT) {
                let err = CommandError::Err("This Redis command is not allowed from script");
                return refuse(ctx, caller, Some(spec), err);
            }
            // Redis: `scriptVerifyAllowStale` (a script declared `allow-stale`).
            if !spec.has(flags::STALE) && replica::running_stale(ctx) {
                let err = CommandError::Err("Can not execute the command on a stale replica");
                return refuse(ctx, caller, Some(spec), err);
            }
            // The script runs with its caller's permissions (Redis: `scriptVerifyACL`).
            if !caller_unrestricted(ctx) {
                if let Err(denial) = acl::check_command(ctx, spec, argv, acl::LogContext::Lua) {
                    let err = CommandError::Err(acl::script_noperm_message(denial));
                    return refuse(ctx, caller, Some(spec), err);
                }
            }
            if read_only && spec.has(flags::WRITE | flags::MAY_REPLICATE) {
                let err =
                    CommandError::Err("Write commands are not allowed from read-only scripts.");
                return refuse(ctx, caller, Some(spec), err);
            }
            // A script that has written cannot be failed half way on the server's state
            // (Redis: `scriptVerifyWriteCommandAllow`, `SCRIPT_WRITE_DIRTY`).
            let checked_write = spec.has(flags::WRITE) && !ctx.srv.scripts.run.wrote.get();
            if checked_write && persistence::writes_denied_by_disk_error(ctx.srv) {
                return refuse(ctx, caller, Some(spec), CommandError::MisconfRdb);
            }
            if checked_write {
                let from_master = must_obey_client(ctx);
                if let Err(err) = replica::check_command(ctx, true, false, from_master) {
                    return refuse(ctx, caller, Some(spec), err);
                }
                if !from_master && !replication::enough_good_replicas(ctx) {
                    return refuse(ctx, caller, Some(spec), CommandError::NoReplicas);
                }
            }
            if spec.has(flags::DENYOOM) && scripting::oom_denies_write(ctx) {
                return refuse(ctx, caller, Some(spec), CommandError::Oom);
            }
        }
        Caller::AofLoad => {
            if ctx.me().multi.active && multi::queue_if_in_transaction(ctx, spec, argv, spec.flags)
            {
                return Processed::Queued;
            }
        }
        Caller::Exec(_) => {
            // Permissions are checked again at EXEC: the rules may have changed since the
            // command was queued (Redis: `execCommand`). The error takes the command's place
            // in EXEC's reply.
            if !caller_unrestricted(ctx) {
                if let Err(denial) = acl::check_command(ctx, spec, argv, acl::LogContext::Multi) {
                    let err = CommandError::Custom(acl::exec_noperm_message(denial));
                    ctx.srv.stats.total_error_replies += 1;
                    *ctx.srv.stats.error_codes.entry(err.code()).or_insert(0) += 1;
                    ctx.out.error(&err.message());
                    return Processed::Refused(err);
                }
            }
        }
    }
    let reply_start = ctx.out.len();
    let replica = caller.is_socket() && ctx.me().replica.attached;
    let targets = match caller {
        Caller::Script { targets, .. } => targets,
        _ => propagate::TARGET_ALL,
    };
    call(
        ctx,
        spec,
        argv,
        targets,
        matches!(caller, Caller::Script { .. }),
    );
    if caller.is_socket() {
        if replica {
            // Before after_command, which appends the writes to the replicas' streams.
            drop_replica_reply(ctx, reply_start, spec.name);
        }
        after_command(ctx);
        // WAIT waits for the stream to reach this point (Redis: `c->woff`).
        let offset = ctx.srv.propagation.repl.master_repl_offset;
        if let Some(me) = ctx.clients.get_mut(ctx.id) {
            me.woff = offset;
        }
    } else if matches!(caller, Caller::AofLoad) {
        flush_expired_keys(ctx);
    }
    Processed::Ran(spec)
}

/// Is the caller's user allowed everything (or is there no calling client)?
fn caller_unrestricted(ctx: &Ctx) -> bool {
    ctx.clients.get(ctx.id).is_none_or(|c| c.acl_unrestricted)
}

/// A replica's connection carries the replication stream, so a request of a replica that
/// answered anything (anything but `REPLCONF ACK`) has its answer dropped and the replica
/// closed (Redis: `_addReplyToBufferOrList` and `addReplyDeferredLen` refusing a replica's
/// reply, `afterErrorReply` logging an error sent to one). `reply_start` is where the
/// request's answer began in `ctx.out`.
fn drop_replica_reply(ctx: &mut Ctx, reply_start: usize, name: &str) {
    if ctx.out.len() <= reply_start {
        return;
    }
    let reply = ctx.out.since(reply_start);
    if reply.first() == Some(&b'-') {
        let end = reply
            .windows(2)
            .position(|w| w == b"\r\n")
            .unwrap_or(reply.len());
        let error = String::from_utf8_lossy(&reply[1..end.min(4097)]).into_owned();
        replication::error_sent_to_replica(ctx, &error, name);
    }
    ctx.out.truncate(reply_start);
    replication::replica_replied(ctx, name);
}

/// The table row for `argv`, its subcommand resolved and its arity checked. On failure, the
/// row if one was found (for its `rejected_calls`) and the error.
fn lookup_command(
    ctx: &mut Ctx,
    argv: &[&[u8]],
) -> Result<&'static CommandSpec, (Option<&'static CommandSpec>, CommandError)> {
    let Some(name) = argv.first() else {
        let err = CommandError::UnknownCommand {
            name: Vec::new(),
            args: Vec::new(),
        };
        return Err((None, err));
    };
    let Some(spec) = ctx.srv.commands.lookup(name) else {
        let err = CommandError::UnknownCommand {
            name: name.to_vec(),
            args: argv[1..].iter().take(32).map(|a| a.to_vec()).collect(),
        };
        return Err((None, err));
    };
    let spec = resolve_subcommand(spec, argv).map_err(|err| (None, err))?;
    if !spec.arity_ok(argv.len()) {
        return Err((Some(spec), CommandError::WrongArity(spec.name.to_string())));
    }
    Ok(spec)
}

/// A request refused before it ran. A socket caller gets the error (counted, and an open
/// transaction flagged); a script gets it back in the script's words, counted here as
/// Redis's `scriptCall` does (the script marks it so that it is not counted twice).
fn refuse(
    ctx: &mut Ctx,
    caller: Caller,
    spec: Option<&'static CommandSpec>,
    err: CommandError,
) -> Processed {
    if let Caller::Script { .. } = caller {
        let err = match err {
            CommandError::UnknownCommand { .. } | CommandError::UnknownSubcommand { .. } => {
                CommandError::Err("Unknown Redis command called from script")
            }
            CommandError::WrongArity(_) => {
                CommandError::Err("Wrong number of args calling Redis command from script")
            }
            other => other,
        };
        if let Some(spec) = spec {
            command_stats(ctx, spec).rejected_calls += 1;
        }
        ctx.srv.stats.total_error_replies += 1;
        *ctx.srv.stats.error_codes.entry(err.code()).or_insert(0) += 1;
        return Processed::Refused(err);
    }
    let err = match spec {
        Some(spec) => {
            command_stats(ctx, spec).rejected_calls += 1;
            multi::abort_if_exec(ctx, spec, err)
        }
        None => err,
    };
    reject(ctx, &err);
    Processed::Refused(err)
}

/// Answers a request refused before it ran, and marks an open transaction as failed (so EXEC
/// replies EXECABORT, as Redis's `rejectCommand` does through `flagTransaction`).
fn reject(ctx: &mut Ctx, err: &CommandError) {
    multi::flag_transaction_error(ctx);
    ctx.srv.stats.total_error_replies += 1;
    *ctx.srv.stats.error_codes.entry(err.code()).or_insert(0) += 1;
    ctx.out.error(&err.message());
}

/// The statistics record of a command, created on first use.
pub(crate) fn command_stats<'s>(
    ctx: &'s mut Ctx,
    spec: &'static CommandSpec,
) -> &'s mut CommandStats {
    ctx.srv
        .stats
        .commands
        .entry(spec as *const CommandSpec as usize)
        .or_insert_with(|| CommandStats {
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

/// Runs a command that passed all checks and records its statistics. Only
/// [`process_command`] calls it. Redis: `call`.
fn call(ctx: &mut Ctx, spec: &'static CommandSpec, argv: &[&[u8]], targets: u8, from_script: bool) {
    let started = Instant::now();
    let dirty = ctx.srv.dirty;
    let outer = propagate::begin_call(ctx, spec.has(flags::TOUCHES_ARBITRARY_KEYS));
    ctx.srv.tracking.executing += 1;
    let result: CommandResult = (spec.proc_)(ctx, argv);
    ctx.srv.tracking.executing -= 1;
    // A save during the command (SAVE) resets the counter: that is no change, as in Redis.
    let dirtied = ctx.srv.dirty.saturating_sub(dirty);
    propagate::end_call(ctx, outer, dirtied, argv, targets);
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
    let duration_us = started.elapsed().as_micros() as u64;
    let mut blocked = false;
    if let Some(me) = ctx.clients.get_mut(ctx.id) {
        me.last_command = spec.name;
        // A command that blocked is slow-logged and put in its latency histogram when it is
        // served ([`update_stats_on_unblock`]), with the time its reply took.
        if let Some(state) = me.blocked.as_mut() {
            blocked = true;
            state.call = Some(blocked::BlockedCall {
                spec,
                argv: argv.iter().map(|a| a.to_vec()).collect(),
                duration_us,
            });
        }
    }
    let event = if spec.has(flags::FAST) {
        "fast-command"
    } else {
        "command"
    };
    let threshold = ctx.srv.config.latency_monitor_threshold;
    let now_secs = ctx.now / 1000;
    ctx.srv
        .latency
        .add_sample_if_needed(threshold, event, duration_us / 1000, now_secs);
    if !spec.has(flags::SKIP_SLOWLOG) && !blocked {
        slowlog_push(ctx, ctx.id, spec, argv, duration_us);
    }
    // Client-side caching: what a read-only command read may now be cached by its client
    // (for a read-only script, the commands it runs, not the script).
    if spec.has(flags::READONLY) && !matches!(spec.name, "eval_ro" | "evalsha_ro" | "fcall_ro") {
        if from_script {
            tracking::remember_script_keys(ctx);
        } else {
            tracking::remember_keys(ctx, spec, argv);
        }
    }
    // Administrative commands are too dangerous to be shown (Redis: `call`).
    if !spec.has(flags::SKIP_MONITOR | flags::ADMIN) {
        monitor::feed(ctx, argv, from_script);
    }
    ctx.srv.redacted_args.clear();
    let tracking = ctx.srv.config.latency_tracking;
    let stat = command_stats(ctx, spec);
    stat.calls += 1;
    stat.usec += duration_us;
    if tracking && !blocked {
        let histogram = stat.latency_histogram.get_or_insert_with(Default::default);
        histogram.record(duration_us as i64 * 1000);
    }
    if failed {
        stat.failed_calls += 1;
    }
    ctx.srv.stats.total_commands_processed += 1;
}

/// Offers a call of `client` to the slow log (Redis: `slowlogPushCurrentCommand`). The
/// per-command cost when the call is fast enough not to be logged is two comparisons.
fn slowlog_push(
    ctx: &mut Ctx,
    client: usize,
    spec: &CommandSpec,
    argv: &[&[u8]],
    duration_us: u64,
) {
    let (slower_than, max_len) = (
        ctx.srv.config.slowlog_log_slower_than,
        ctx.srv.config.slowlog_max_len,
    );
    if slower_than < 0 || spec.has(flags::SKIP_SLOWLOG) {
        return;
    }
    if duration_us >= slower_than as u64 {
        let (peer, name) = match ctx.clients.get(client) {
            Some(c) => (c.addr.to_string(), c.name.clone().unwrap_or_default()),
            None => (String::new(), Vec::new()),
        };
        let call = slowlog::SlowCall {
            argv,
            redacted: &ctx.srv.redacted_args,
            duration_us,
            now_ms: ctx.now,
            peer,
            name: &name,
        };
        ctx.srv.slowlog.push(call);
    }
    ctx.srv.slowlog.trim(max_len);
}

/// A blocked command of `client` was served, or unblocked by CLIENT UNBLOCK: what its
/// call left unrecorded when it blocked is recorded now, with the time its reply took — its
/// time and failure in INFO commandstats, its latency histogram, its slow-log entry, and a
/// `command-unblocking` latency event (Redis: `updateStatsOnUnblock`, which also adds the
/// call's own time a second time, as here).
pub(crate) fn update_stats_on_unblock(
    ctx: &mut Ctx,
    client: usize,
    call: &blocked::BlockedCall,
    reply_us: u64,
    had_errors: bool,
) {
    let total_us = call.duration_us + reply_us;
    let tracking = ctx.srv.config.latency_tracking;
    let stat = command_stats(ctx, call.spec);
    stat.usec += total_us;
    if had_errors {
        stat.failed_calls += 1;
    }
    if tracking {
        let histogram = stat.latency_histogram.get_or_insert_with(Default::default);
        histogram.record(total_us as i64 * 1000);
    }
    let argv: Vec<&[u8]> = call.argv.iter().map(Vec::as_slice).collect();
    slowlog_push(ctx, client, call.spec, &argv, total_us);
    let threshold = ctx.srv.config.latency_monitor_threshold;
    let now_secs = ctx.now / 1000;
    ctx.srv.latency.add_sample_if_needed(
        threshold,
        "command-unblocking",
        reply_us / 1000,
        now_secs,
    );
}

/// Counts an error reply that did not come from a command's own result: INFO
/// `total_error_replies` and `errorstats` by the error's first word (Redis: `afterErrorReply`).
pub(crate) fn count_error_reply(srv: &mut ServerState, message: &str) {
    srv.stats.total_error_replies += 1;
    let code = message.split(' ').next().unwrap_or("ERR");
    *srv.stats.error_codes.entry(code.to_string()).or_insert(0) += 1;
}

/// Work that follows every command (and the active expiry cycle): keys removed by expiry fire
/// their events and invalidate WATCHes, what the command changed goes to the replicas (see
/// [`propagate`]), and clients blocked on keys that received data are served — before the
/// caller's reply is written, as in Redis's `afterCommand` and `handleClientsBlockedOnKeys`.
pub fn after_command(ctx: &mut Ctx) {
    flush_expired_keys(ctx);
    propagate::propagate_pending(ctx);
    // Invalidations of the caller's own keys come after its reply.
    tracking::handle_pending_key_invalidations(ctx);
    if blocked::handle_clients_blocked_on_keys(ctx) {
        // Keys that serving found expired (Redis: the edge case at the end of
        // `handleClientsBlockedOnKeys`): their DELs go out on their own.
        flush_expired_keys(ctx);
        propagate::propagate_pending(ctx);
    }
}

/// Runs [`key_expired`] for every key the databases removed by expiry since the last look.
pub fn flush_expired_keys(ctx: &mut Ctx) {
    for i in 0..ctx.dbs.len() {
        if !ctx.dbs[i].expired_pending.is_empty() {
            let keys = std::mem::take(&mut ctx.dbs[i].expired_pending);
            for key in keys {
                key_expired(ctx, i, &key);
            }
        }
    }
}

/// A key was removed because its TTL passed (lazily or by the active cycle): the one place
/// where expiry has effects. WATCHes on it break, an `expired` event fires, and the deletion
/// is propagated as `DEL key` (`UNLINK` under `lazyfree-lazy-expire`): replicas never expire
/// keys themselves (Redis: `deleteExpiredKeyAndPropagate`, `propagateDeletion`).
pub fn key_expired(ctx: &mut Ctx, db: usize, key: &[u8]) {
    multi::touch_watched_key(ctx, db, key);
    notify::notify_keyspace_event(ctx, notify::NOTIFY_EXPIRED, "expired", key, db);
    tracking::invalidate_key(ctx, key, true, false);
    let lazy = ctx.srv.config.lazyfree_lazy_expire;
    propagate::propagate_deletion(ctx, db, key, lazy);
}

/// Is the caller the master's link or the AOF loader, whose writes are obeyed whatever this
/// server's state (a read-only replica, too few replicas)? Redis: `mustObeyClient`.
pub fn must_obey_client(ctx: &Ctx) -> bool {
    ctx.srv.master.is_conn(ctx.id) || ctx.clients.get(ctx.id).is_some_and(|c| c.is_aof_loader)
}

/// Evicts `key` from `db` to bring memory under `maxmemory`: deletes it, counts it in
/// `evicted_keys`, invalidates WATCHes, fires the `evicted` event and propagates the DEL
/// (Redis: `propagateDeletion`). Every eviction goes
/// through here. Returns the bytes the deletion gave back to the allocator (negative if it
/// grew). Under `lazyfree-lazy-eviction` a big value goes to the lazy-free queue and its
/// estimated size counts as given back (Redis: `dbAsyncDelete`, whose thread frees it at
/// once), and the deletion is propagated as `UNLINK`. Redis: the deletion half of
/// `performEvictions`.
pub fn key_evicted(ctx: &mut Ctx, db: usize, key: &[u8]) -> i64 {
    let lazy = ctx.srv.config.lazyfree_lazy_eviction;
    let before = evict::used_memory_for_eviction(&ctx.dbs[db]) as i64;
    let value = ctx.dbs[db].remove(key);
    let queued = match value {
        Some(value) if lazy => ctx.srv.lazyfree.free_value(value),
        _ => 0,
    };
    let freed = before - evict::used_memory_for_eviction(&ctx.dbs[db]) as i64 + queued as i64;
    ctx.srv.evict.evicted_keys += 1;
    multi::touch_watched_key(ctx, db, key);
    notify::notify_keyspace_event(ctx, notify::NOTIFY_EVICTED, "evicted", key, db);
    tracking::invalidate_key(ctx, key, true, false);
    propagate::propagate_deletion(ctx, db, key, lazy);
    freed
}

/// Is an absolute expiry time `when` already past, so that the key is deleted instead of
/// given the TTL? Never on a replica: it sets the TTL its master sent, and waits for the
/// master's DEL (Redis: `checkAlreadyExpired`).
pub fn check_already_expired(srv: &ServerState, now: Ms, when: Ms) -> bool {
    when <= now && !srv.master.is_replica()
}

/// A write command changed `key`: invalidate WATCHes on it and clients' cached copies
/// (Redis: `signalModifiedKey`).
pub fn signal_modified_key(ctx: &mut Ctx, key: &[u8]) {
    let db = ctx.db;
    multi::touch_watched_key(ctx, db, key);
    tracking::invalidate_key(ctx, key, true, true);
}

/// `key` may now hold data a blocked client waits for (Redis: `signalKeyAsReady`).
pub fn signal_key_as_ready(ctx: &mut Ctx, key: &[u8]) {
    let db = ctx.db;
    blocked::signal_key_as_ready(ctx, db, key);
}

/// Fires a keyspace notification for the caller's database (Redis: `notifyKeyspaceEvent`).
pub fn notify(ctx: &mut Ctx, class: u32, event: &str, key: &[u8]) {
    let db = ctx.db;
    notify::notify_keyspace_event(ctx, class, event, key, db);
}

/// The value at `key` if it is a string; `WRONGTYPE` if it is something else.
pub fn get_string<'d>(
    db: &'d mut Db,
    key: &[u8],
    now: Ms,
) -> Result<Option<&'d crate::types::sds::Sds>, CommandError> {
    match db.lookup_read(key, now, true) {
        None => Ok(None),
        Some(obj) => match &obj.value {
            crate::db::value::Value::Str(s) => Ok(Some(s)),
            _ => Err(CommandError::WrongType),
        },
    }
}
