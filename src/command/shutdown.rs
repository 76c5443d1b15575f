//! SHUTDOWN, SIGTERM and SIGINT: stopping the server without losing what replicas have not
//! received yet (Redis: `server.c`, `prepareForShutdown`, `isReadyToShutdown`,
//! `finishShutdown`, `abortShutdown`, the shutdown part of `serverCron`; `db.c`,
//! `shutdownCommand`).
//!
//! ```text
//!   SHUTDOWN [flags] ─────────────┐
//!   SIGTERM / SIGINT ─> asap ─> cron (flags from shutdown-on-sigterm / -sigint)
//!                                 v
//!   prepare_for_shutdown: replicas all acked master_repl_offset, or NOW, or shutdown-timeout 0?
//!      │ yes                                  │ no
//!      v                                      v
//!   finish_shutdown                 "initiated": deadline = now + shutdown-timeout s,
//!      │ ok: srv.shutdown is set,   REPLCONF GETACK * to the replicas, writes paused,
//!      │     the loop flushes the   the SHUTDOWN caller blocks (later ones too);
//!      │     replicas and exits     cron: all in sync, or deadline passed ─> finish_shutdown
//!      │ error (save failed, initial AOF rewrite running):
//!      v
//!   cancel_shutdown: the pause ends, blocked SHUTDOWN callers get
//!   "-ERR Errors trying to SHUTDOWN. Check logs."  (SHUTDOWN ABORT cancels the same way)
//! ```
//!
//! While a shutdown waits the loop runs as usual: reads are served, replicas read the stream
//! and acknowledge it, and INFO shows `shutdown_in_milliseconds`.

use super::args;
use super::blocked::{self, BlockedOp};
use super::error::{CommandError, CommandResult};
use super::pause::{self, PauseKind, PausePurpose};
use super::state::Shutdown;
use super::Ctx;
use crate::db::Ms;
use log::{info, warn};

/// How to shut down (Redis: `SHUTDOWN_SAVE`, `SHUTDOWN_NOSAVE`, `SHUTDOWN_NOW`,
/// `SHUTDOWN_FORCE`).
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct ShutdownFlags {
    /// Save an RDB file even without save points.
    pub save: bool,
    /// Save nothing even with save points.
    pub nosave: bool,
    /// Do not wait for lagging replicas.
    pub now: bool,
    /// Exit even if the final AOF or RDB write fails.
    pub force: bool,
}

/// A shutdown requested or in progress.
#[derive(Default)]
pub struct ShutdownState {
    /// A signal asked for a shutdown; the cron starts it (Redis: `shutdown_asap`).
    pub asap: bool,
    /// The signal that did (Redis: `last_sig_received`).
    pub last_signal: i32,
    /// The flags of the shutdown in progress.
    flags: ShutdownFlags,
    /// When the wait for lagging replicas ends, Unix ms; 0: no shutdown initiated (Redis:
    /// `shutdown_mstime`).
    pub deadline: Ms,
    /// Who asked: the exit is logged differently for a signal.
    by_signal: bool,
}

impl ShutdownState {
    /// Is a shutdown waiting for replicas? (Redis: `isShutdownInitiated`.)
    pub fn initiated(&self) -> bool {
        self.deadline != 0
    }
}

/// SHUTDOWN [NOSAVE | SAVE] [NOW] [FORCE] [ABORT] — no reply on success: the server stops.
/// With lagging replicas (and no NOW) the caller blocks until they caught up or
/// `shutdown-timeout` passed; if the shutdown then fails (a final save that fails without
/// FORCE, an initial AOF rewrite still running) or SHUTDOWN ABORT cancels it, every blocked
/// caller gets `-ERR Errors trying to SHUTDOWN. Check logs.`. SHUTDOWN ABORT replies `+OK`.
pub fn shutdown_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let mut flags = ShutdownFlags::default();
    let mut abort = false;
    for arg in &argv[1..] {
        if args::is(arg, "NOSAVE") {
            flags.nosave = true;
        } else if args::is(arg, "SAVE") {
            flags.save = true;
        } else if args::is(arg, "NOW") {
            flags.now = true;
        } else if args::is(arg, "FORCE") {
            flags.force = true;
        } else if args::is(arg, "ABORT") {
            abort = true;
        } else {
            return Err(CommandError::Syntax);
        }
    }
    if (abort && flags != ShutdownFlags::default()) || (flags.nosave && flags.save) {
        return Err(CommandError::Syntax);
    }
    if abort {
        if !abort_shutdown(ctx) {
            return Err(CommandError::Err("No shutdown in progress."));
        }
        ctx.out.ok();
        return Ok(());
    }
    if !flags.now && ctx.me().deny_blocking {
        return Err(CommandError::Err(
            "SHUTDOWN without NOW or ABORT isn't allowed for DENY BLOCKING client",
        ));
    }
    match prepare_for_shutdown(ctx, flags, false) {
        Outcome::Exit => {}
        // Redis blocks the caller before preparing; not blocking it on a failure is the same
        // to the client: the error comes here rather than from `cancel_shutdown`.
        Outcome::Failed => return Err(CommandError::Err("Errors trying to SHUTDOWN. Check logs.")),
        Outcome::Waiting => blocked::block_for_keys(ctx, &[], None, BlockedOp::Shutdown),
    }
    Ok(())
}

/// What [`prepare_for_shutdown`] came to.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// Done: `srv.shutdown` is set and the loop exits after this turn.
    Exit,
    /// Waiting for lagging replicas (or a shutdown was already waiting).
    Waiting,
    /// The shutdown failed and was cancelled (logged).
    Failed,
}

/// Starts a shutdown (Redis: `prepareForShutdown`): at once when no replica lags (or NOW, or
/// `shutdown-timeout 0`), else after asking the replicas for their offsets and pausing writes,
/// so that the offset they must reach stands still.
fn prepare_for_shutdown(ctx: &mut Ctx, mut flags: ShutdownFlags, by_signal: bool) -> Outcome {
    if ctx.srv.shutdown_state.initiated() {
        return Outcome::Waiting;
    }
    // Saving a half-loaded dataset would overwrite the file it is being loaded from.
    if ctx.srv.loading {
        flags.save = false;
        flags.nosave = true;
    }
    ctx.srv.shutdown_state.flags = flags;
    ctx.srv.shutdown_state.by_signal = by_signal;
    warn!("User requested shutdown...");
    let timeout = super::replication::config_i64(ctx, "shutdown-timeout", 10);
    if !flags.now && timeout != 0 && !is_ready_to_shutdown(ctx) {
        ctx.srv.shutdown_state.deadline = ctx.now.saturating_add(timeout.saturating_mul(1000));
        if !pause::check_timeout_and_return_if_paused(ctx) {
            let argv = [b"REPLCONF".to_vec(), b"GETACK".to_vec(), b"*".to_vec()];
            super::replication::feed(ctx, None, &argv);
        }
        pause::pause_clients(ctx, PausePurpose::Shutdown, Ms::MAX, PauseKind::Write);
        info!("Waiting for replicas before shutting down.");
        return Outcome::Waiting;
    }
    finish_shutdown(ctx)
}

/// Have all replicas acknowledged the whole stream? (Redis: `isReadyToShutdown`.)
fn is_ready_to_shutdown(ctx: &Ctx) -> bool {
    let offset = ctx.srv.propagation.repl.master_repl_offset;
    super::replication::replicas(ctx)
        .iter()
        .all(|(_, link)| link.ack_offset == offset)
}

/// The shutdown part of `serverCron`: a signal's shutdown starts here (not in the signal
/// handler), and a shutdown waiting for replicas finishes once they are in sync or its time
/// is up.
pub fn shutdown_cron(ctx: &mut Ctx) {
    let state = &ctx.srv.shutdown_state;
    if state.asap && !state.initiated() {
        let flags = signal_flags(ctx, state.last_signal);
        prepare_for_shutdown(ctx, flags, true);
    } else if state.initiated() && (ctx.now >= state.deadline || is_ready_to_shutdown(ctx)) {
        // On failure the server keeps running; the reason is logged.
        finish_shutdown(ctx);
    }
}

/// The flags `shutdown-on-sigterm` / `shutdown-on-sigint` give a signal's shutdown
/// ("default": none).
fn signal_flags(ctx: &Ctx, signal: i32) -> ShutdownFlags {
    let name = if signal == signal_hook::consts::SIGINT {
        "shutdown-on-sigint"
    } else {
        "shutdown-on-sigterm"
    };
    let mut flags = ShutdownFlags::default();
    for word in ctx
        .srv
        .config
        .get(name)
        .unwrap_or_default()
        .split_whitespace()
    {
        match word {
            "save" => flags.save = true,
            "nosave" => flags.nosave = true,
            "now" => flags.now = true,
            "force" => flags.force = true,
            _ => {}
        }
    }
    flags
}

/// The last step (Redis: `finishShutdown`): reports lagging replicas, stops children, writes
/// the AOF and the final RDB file, and sets `srv.shutdown` so that the loop flushes the
/// replicas' buffers and exits. On an error (without FORCE) the shutdown is cancelled.
fn finish_shutdown(ctx: &mut Ctx) -> Outcome {
    let flags = ctx.srv.shutdown_state.flags;
    let offset = ctx.srv.propagation.repl.master_repl_offset;
    let replicas = super::replication::replicas(ctx);
    let mut lagging = 0;
    for (ip, link) in &replicas {
        if link.ack_offset != offset {
            lagging += 1;
            let online = link.state == super::fullsync::SyncState::Online;
            warn!(
                "Lagging replica {ip}:{} reported offset {} behind master, lag={}, state={}.",
                link.listening_port,
                offset - link.ack_offset,
                if online {
                    (ctx.now / 1000 - link.ack_time / 1000).max(0)
                } else {
                    0
                },
                link.state.name()
            );
        }
    }
    if !replicas.is_empty() {
        info!(
            "{} of {} replicas are in sync when shutting down.",
            replicas.len() - lagging,
            replicas.len()
        );
    }
    if ctx.srv.rdb.child.is_some() {
        warn!("There is a child saving an .rdb. Killing it!");
        super::persistence::kill_bgsave_child(ctx);
    }
    // Without its first rewrite the AOF holds nothing yet: exiting would lose the dataset.
    if ctx.srv.aof.child.is_some() && ctx.srv.aof.status == super::aof::AofStatus::WaitRewrite {
        if !flags.force {
            warn!("Writing initial AOF, can't exit.");
            return shutdown_failed(ctx);
        }
        warn!("Writing initial AOF. Exit anyway.");
    }
    super::aof::prepare_for_shutdown(ctx.srv, ctx.now);
    if (!ctx.srv.config.save.is_empty() && !flags.nosave) || flags.save {
        info!("Saving the final RDB snapshot before exiting.");
        if super::persistence::save(ctx.dbs, ctx.srv, ctx.now).is_err() {
            if !flags.force {
                warn!("Error trying to save the DB, can't exit.");
                return shutdown_failed(ctx);
            }
            warn!("Error trying to save the DB. Exit anyway.");
        }
    }
    ctx.srv.shutdown = Some(if ctx.srv.shutdown_state.by_signal {
        Shutdown::Signal
    } else {
        Shutdown::Command
    });
    Outcome::Exit
}

fn shutdown_failed(ctx: &mut Ctx) -> Outcome {
    warn!("Errors trying to shut down the server. Check the logs for more information.");
    cancel_shutdown(ctx);
    Outcome::Failed
}

/// Back to running (Redis: `cancelShutdown`): writes resume and every client blocked in
/// SHUTDOWN gets its error (Redis: `replyToClientsBlockedOnShutdown`).
fn cancel_shutdown(ctx: &mut Ctx) {
    ctx.srv.shutdown_state = ShutdownState::default();
    let waiting: Vec<usize> = ctx
        .clients
        .iter()
        .filter(|(_, c)| {
            c.blocked
                .as_ref()
                .is_some_and(|b| matches!(b.op, BlockedOp::Shutdown))
        })
        .map(|(key, _)| key)
        .collect();
    for key in waiting {
        blocked::unblock_client(&mut ctx.srv.blocking, ctx.clients, key);
        if let Some(out) = ctx.reply_to(key) {
            out.error("ERR Errors trying to SHUTDOWN. Check logs.");
        }
    }
    pause::unpause_clients(ctx, PausePurpose::Shutdown);
}

/// SHUTDOWN ABORT: cancels a shutdown waiting for replicas, or a signal's not yet started.
/// False if there is none (Redis: `abortShutdown`).
fn abort_shutdown(ctx: &mut Ctx) -> bool {
    if ctx.srv.shutdown_state.initiated() {
        cancel_shutdown(ctx);
    } else if ctx.srv.shutdown_state.asap {
        ctx.srv.shutdown_state.asap = false;
    } else {
        return false;
    }
    info!("Shutdown manually aborted.");
    true
}

/// INFO server's `shutdown_in_milliseconds`, while a shutdown waits.
pub fn remaining_ms(ctx: &Ctx) -> Option<Ms> {
    let state = &ctx.srv.shutdown_state;
    state.initiated().then(|| (state.deadline - ctx.now).max(0))
}
