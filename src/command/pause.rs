//! CLIENT PAUSE / CLIENT UNPAUSE: holding clients' commands for a while (Redis: `networking.c`
//! `pauseClients`, `unpauseClients`, `checkClientPauseTimeoutAndReturnIfPaused`, and the
//! `blockPostponeClient` step of `processCommand`).
//!
//! ```text
//!   CLIENT PAUSE ms [WRITE|ALL] ─┐
//!   FAILOVER (writes, no end) ───┤
//!   SHUTDOWN waiting (writes) ───┴─> one pause per purpose ──> PauseState { kind, end }: the
//!                                    most restrictive kind, the furthest end of that kind
//!   process_command (sockets), after the other checks, before MULTI queueing:
//!       kind == All, or kind == Write and the command may write (write / may-replicate flag,
//!       EVAL of a script that does not declare no-writes, EXEC of such a queue)
//!         ──> the client is *postponed*: the request stays unconsumed in its query buffer,
//!             the client reads nothing more (counted in blocked_clients, flag `b`)
//!   end passed (cron, or the next command that looks) / CLIENT UNPAUSE / the failover
//!   ended, and what is left in force is less restrictive
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

/// Who asked for a pause (Redis: `pause_purpose`). Each purpose holds its own pause; the one
/// in force is the most restrictive of them, so that CLIENT UNPAUSE cannot end the pause a
/// FAILOVER holds, nor a failover's end lift a CLIENT PAUSE.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PausePurpose {
    /// CLIENT PAUSE.
    ClientCommand = 0,
    /// FAILOVER holds writes until it ends (`command::failover`).
    Failover = 1,
    /// A shutdown waiting for lagging replicas holds writes (`command::shutdown`).
    Shutdown = 2,
}

/// One purpose's pause: its kind and its end (Unix ms).
#[derive(Clone, Copy)]
struct PauseEvent {
    kind: PauseKind,
    end: Ms,
}

#[derive(Default)]
pub struct PauseState {
    /// The pause in force: the most restrictive kind among the purposes...
    pub kind: PauseKind,
    /// ...and the furthest end among the purposes of that kind. Unix ms: the pause is over
    /// once the clock passes it.
    pub end: Ms,
    /// Each purpose's own pause, indexed by [`PausePurpose`].
    purposes: [Option<PauseEvent>; 3],
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
    pause_clients(ctx, PausePurpose::ClientCommand, end, kind);
    ctx.out.ok();
    Ok(())
}

/// CLIENT UNPAUSE — `+OK`; postponed clients run their commands (unless a FAILOVER still
/// holds writes).
pub(crate) fn client_unpause_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    unpause_clients(ctx, PausePurpose::ClientCommand);
    ctx.out.ok();
    Ok(())
}

/// Pauses clients for `purpose` until `end` (Unix ms); a pause already held for the same
/// purpose keeps the more restrictive kind and the later end (Redis: `pauseClients`).
pub fn pause_clients(ctx: &mut Ctx, purpose: PausePurpose, end: Ms, kind: PauseKind) {
    let slot = &mut ctx.srv.pause.purposes[purpose as usize];
    *slot = Some(match *slot {
        None => PauseEvent { kind, end },
        Some(p) => PauseEvent {
            kind: p.kind.max(kind),
            end: p.end.max(end),
        },
    });
    update_pause_type_and_end_time(ctx);
}

/// Ends `purpose`'s pause; the others stay (Redis: `unpauseClients`).
pub fn unpause_clients(ctx: &mut Ctx, purpose: PausePurpose) {
    ctx.srv.pause.purposes[purpose as usize] = None;
    update_pause_type_and_end_time(ctx);
}

/// Recomputes the pause in force from the purposes, dropping those whose end passed; when it
/// became less restrictive every postponed client runs again (and may be postponed again).
/// Redis: `updateClientPauseTypeAndEndTime`.
fn update_pause_type_and_end_time(ctx: &mut Ctx) {
    let now = ctx.now;
    let pause = &mut ctx.srv.pause;
    let old_kind = pause.kind;
    for slot in pause.purposes.iter_mut() {
        if slot.is_some_and(|p| p.end < now) {
            *slot = None;
        }
    }
    let kind = pause.purposes.iter().flatten().map(|p| p.kind).max();
    let kind = kind.unwrap_or(PauseKind::Off);
    let end = pause
        .purposes
        .iter()
        .flatten()
        .filter(|p| p.kind == kind)
        .map(|p| p.end)
        .max()
        .unwrap_or(0);
    pause.kind = kind;
    pause.end = end;
    set_db_pause(ctx.dbs, kind, end);
    if kind < old_kind {
        for key in std::mem::take(&mut ctx.srv.pause.postponed) {
            if let Some(c) = ctx.clients.get_mut(key) {
                c.postponed = false;
                super::blocked::queue_for_reprocessing(ctx.srv, key);
            }
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
        update_pause_type_and_end_time(ctx);
    }
    ctx.srv.pause.kind != PauseKind::Off
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
