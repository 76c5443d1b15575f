//! CLIENT PAUSE / CLIENT UNPAUSE: holding clients' commands for a while (Redis: `networking.c`
//! `pauseClients`, `unpauseClients`, `checkClientPauseTimeoutAndReturnIfPaused`, and the
//! `blockPostponeClient` step of `processCommand`).
//!
//! ```text
//!   CLIENT PAUSE ms [WRITE|ALL] ──> PauseState { kind, end } (the most restrictive kind and
//!                                    the furthest end win when pauses overlap)
//!   process_command (sockets), after the other checks, before MULTI queueing:
//!       kind == All, or kind == Write and the command may write (write / may-replicate flag,
//!       EVAL of a script that does not declare no-writes, EXEC of such a queue)
//!         ──> the client is *postponed*: the request stays unconsumed in its query buffer,
//!             the client reads nothing more (counted in blocked_clients, flag `b`)
//!   end passed (cron, or the next command that looks) / CLIENT UNPAUSE / weaker kind
//!         ──> every postponed client is put on the unblocked list; the loop runs its
//!             query buffer again from that request on (a writer may be postponed again)
//! ```
//!
//! While paused the dataset stays still, as in Redis: lazy expiry answers "missing" for an
//! expired key without deleting it (each `Db` carries the pause deadline), the active expiry
//! cycle does not run and eviction does nothing. A pause issued inside a transaction takes
//! effect when EXEC is done: EXEC's own commands are not checked.

use super::args;
use super::error::{CommandError, CommandResult};
use super::table::{flags, CommandSpec};
use super::Ctx;
use crate::db::{Db, Ms};

/// How much is paused (ordered: a more restrictive kind compares greater).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Debug)]
pub enum PauseKind {
    #[default]
    Off,
    /// Commands that may change data or be propagated wait; reads run.
    Write,
    /// Every command waits.
    All,
}

#[derive(Default)]
pub struct PauseState {
    pub kind: PauseKind,
    /// Unix ms: the pause is over once the clock passes it.
    pub end: Ms,
    /// Postponed clients (slab keys), in the order they were held.
    pub postponed: Vec<usize>,
}

/// CLIENT PAUSE timeout [WRITE | ALL] — `+OK`.
pub(crate) fn client_pause_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let kind = match argv.get(3) {
        None => PauseKind::All,
        Some(mode) if args::is(mode, "write") => PauseKind::Write,
        Some(mode) if args::is(mode, "all") => PauseKind::All,
        Some(_) => return Err(CommandError::Err("CLIENT PAUSE mode must be WRITE or ALL")),
    };
    let ms = crate::util::parse_i64(argv[2]).ok_or(CommandError::Err(
        "timeout is not an integer or out of range",
    ))?;
    if ms < 0 {
        return Err(CommandError::Err("timeout is negative"));
    }
    // 0 is "now": a pause that is over at once (Redis: getTimeoutFromObjectOrReply).
    let end = if ms > 0 {
        ms.saturating_add(ctx.now)
    } else {
        0
    };
    let pause = &mut ctx.srv.pause;
    if pause.kind == PauseKind::Off {
        pause.kind = kind;
        pause.end = end;
    } else {
        pause.kind = pause.kind.max(kind);
        pause.end = pause.end.max(end);
    }
    set_db_pause(ctx.dbs, ctx.srv.pause.kind, ctx.srv.pause.end);
    ctx.out.ok();
    Ok(())
}

/// CLIENT UNPAUSE — `+OK`; postponed clients run their commands.
pub(crate) fn client_unpause_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    unpause(ctx);
    ctx.out.ok();
    Ok(())
}

/// Ends the pause and releases every postponed client.
fn unpause(ctx: &mut Ctx) {
    ctx.srv.pause.kind = PauseKind::Off;
    ctx.srv.pause.end = 0;
    set_db_pause(ctx.dbs, PauseKind::Off, 0);
    for key in std::mem::take(&mut ctx.srv.pause.postponed) {
        if let Some(c) = ctx.clients.get_mut(key) {
            c.postponed = false;
            super::blocked::queue_for_reprocessing(ctx.srv, key);
        }
    }
}

/// Lazy expiry reads the pause deadline from each database (0: expiry runs).
fn set_db_pause(dbs: &mut [Db], kind: PauseKind, end: Ms) {
    let until = if kind == PauseKind::Off { 0 } else { end };
    for db in dbs {
        db.expire_paused_until = until;
    }
}

/// Are clients paused (ending the pause first if its time is up)? Called by the cron, the
/// active expiry and eviction. Redis: `checkClientPauseTimeoutAndReturnIfPaused`.
pub fn check_timeout_and_return_if_paused(ctx: &mut Ctx) -> bool {
    if ctx.srv.pause.kind == PauseKind::Off {
        return false;
    }
    if ctx.srv.pause.end < ctx.now {
        unpause(ctx);
        return false;
    }
    true
}

/// Must `spec` wait for the pause to end? Only asked while a pause is on; replicas are never
/// paused. Redis: the `blockPostponeClient` condition of `processCommand`.
pub fn must_postpone(ctx: &mut Ctx, spec: &'static CommandSpec, argv: &[&[u8]]) -> bool {
    if !check_timeout_and_return_if_paused(ctx) || ctx.me().replica.attached {
        return false;
    }
    match ctx.srv.pause.kind {
        PauseKind::All => true,
        PauseKind::Write => may_replicate(ctx, spec, argv),
        PauseKind::Off => false,
    }
}

/// Does the command write or reach the replication stream (`write` or `may-replicate`, as
/// the script it runs declares; for EXEC, any queued command)? Redis: `is_may_replicate_command`.
fn may_replicate(ctx: &mut Ctx, spec: &'static CommandSpec, argv: &[&[u8]]) -> bool {
    const MASK: u32 = flags::WRITE | flags::MAY_REPLICATE;
    if spec.name == "exec" {
        // A copy: the flags of a queued EVAL are looked up in the script cache, through `ctx`.
        let queued = ctx.me().multi.queued_commands().to_vec();
        return queued.iter().any(|(spec, args)| {
            let argv: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
            super::scripting::command_flags(ctx, spec, &argv) & MASK != 0
        });
    }
    super::scripting::command_flags(ctx, spec, argv) & MASK != 0
}

/// Holds the caller: its request stays in its query buffer and runs again when the pause ends.
pub fn postpone(ctx: &mut Ctx) {
    let id = ctx.id;
    ctx.me().postponed = true;
    ctx.srv.pause.postponed.push(id);
}

/// A client is being freed: it waits no more.
pub fn forget_client(state: &mut PauseState, key: usize) {
    state.postponed.retain(|&c| c != key);
}
