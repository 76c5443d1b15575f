//! The write funnel: every change to the keyspace leaves the server here, once, in the form a
//! replica (and, later, the AOF) replays it (Redis: `server.c` `call()`, `alsoPropagate()`,
//! `propagatePendingCommands()`, `propagateNow()`; `db.c` `propagateDeletion()`).
//!
//! # What is propagated
//!
//! A replica must end up with the same data as the master without re-running anything that
//! depends on the master's clock, its random choices or its blocked clients. So the master does
//! not forward requests; it forwards *effects*, as commands:
//!
//! * A command that changed data (it raised `ServerState::dirty`, Redis's `server.dirty`) is
//!   propagated as its own argv — unless its handler **rewrote** it ([`rewrite`]): relative
//!   TTLs become absolute (`SET .. EX 10` -> `SET .. PXAT <ms>`, `EXPIRE` -> `PEXPIREAT`),
//!   results replace computations (`INCRBYFLOAT` -> `SET k <result> KEEPTTL`), random or
//!   blocking choices become the plain operation done (`SPOP` -> `SREM`, `BLPOP` -> `LPOP`).
//! * A command may **prevent** its own argv ([`prevent`]: EVAL, FCALL, EXEC, SPOP with a
//!   count) and emit other commands instead ([`also_propagate`]), or **force** propagation of
//!   a command that changed nothing (`FLUSHALL` of an empty server, `PUBLISH`) ([`force`]).
//! * A key that expires (lazily in a lookup, or in the active cycle) is propagated as
//!   `DEL key` (`UNLINK` under `lazyfree-lazy-expire`), from `command::key_expired`, the one
//!   place keys expire. A replica never expires keys itself; it waits for these.
//!
//! # The funnel
//!
//! ```text
//!  process_command ─> call(spec, argv) ─────────────────────────── (nesting: EXEC, scripts)
//!                       begin_call: the command's own effects start empty
//!                       handler: rewrite / prevent / force / also_propagate(op)
//!                       expired keys of the call ─> key_expired ─> also_propagate(DEL key)
//!                       end_call: dirty rose or forced, not prevented
//!                                 ─> also_propagate(rewritten argv or argv)
//!                          │
//!                          ▼        pending: [op, op, ...]   (Redis: server.also_propagate)
//!  after_command (top level only) ─> propagate_pending:
//!                          more than one op from one command (EXEC, a script, a command
//!                          that expired a key and wrote) ─> MULTI, ops..., EXEC
//!                          one op ─> as is; outside a command (active expiry) ─> never wrapped
//!                          │
//!                          ▼
//!                      propagate_now(db, argv) ─> sinks: aof::feed (the AOF buffer)
//!                                                        ReplicationFeed (replicas)
//! ```
//!
//! Nothing is written while a command runs: ops wait in `pending` until the outermost call
//! ends, which is what makes a transaction or a script reach replicas as one `MULTI`/`EXEC`
//! block. Each sink emits `SELECT <db>` itself when the database of the next op differs from
//! the last one it wrote (each stream has its own idea of the selected database).
//!
//! Blocked clients served after a write (`command::blocked`) run as a call of their own: the
//! pop they performed is propagated as its plain form and flushed per served client, after
//! the writer's own command, as Redis orders them.
//!
//! When no sink is listening (no replica ever attached, no AOF), [`active`] is false and the
//! funnel costs a few branches per command: nothing is copied or encoded.

use super::replication;
use super::Ctx;

/// The AOF should get the command.
pub const TARGET_AOF: u8 = 1;
/// The replicas should get the command.
pub const TARGET_REPL: u8 = 2;
/// Both: every command but a script's under `redis.set_repl(redis.REPL_NONE / _AOF / ...)`.
pub const TARGET_ALL: u8 = TARGET_AOF | TARGET_REPL;

/// Everything a write-side sink needs to know about one propagated command.
pub struct Op {
    /// The database the command ran against.
    pub db: usize,
    pub argv: Vec<Vec<u8>>,
    /// Which sinks get it ([`TARGET_AOF`], [`TARGET_REPL`]).
    pub targets: u8,
}

/// What the running command asked the funnel to do with its own argv (Redis keeps these as
/// client flags and in the rewritten `c->argv`).
#[derive(Default)]
pub struct CallEffects {
    /// Propagate this instead of the command's argv.
    rewritten: Option<Vec<Vec<u8>>>,
    /// Do not propagate the command's argv at all (what it emitted with also_propagate stays).
    prevented: bool,
    /// Propagate the command even though it changed nothing.
    forced: bool,
}

/// The funnel's state, in `ServerState::propagation`.
#[derive(Default)]
pub struct PropagationState {
    /// Ops of the running execution unit, waiting for its end (Redis: `server.also_propagate`).
    pending: Vec<Op>,
    /// The effects asked for by the innermost running command.
    call: CallEffects,
    /// How many calls are running, one inside the other (Redis: `server.in_nested_call`).
    nesting: u32,
    /// May the pending ops be wrapped in MULTI/EXEC? Set by the outermost call (false for
    /// commands that touch arbitrary keys, SCAN and RANDOMKEY, whose lazily expired keys are
    /// independent deletions), false outside any command (active expiry).
    may_wrap: bool,
    /// The replicas' stream.
    pub repl: replication::ReplicationFeed,
}

/// Is anybody listening? (Redis: `shouldPropagate`.) Replicas once one has attached (Redis
/// keeps feeding its backlog after the last replica left); the AOF while it is on. Nothing
/// while a dataset loads (Redis: `shouldPropagate` checks `server.loading`).
pub fn active(ctx: &Ctx) -> bool {
    listening(ctx) != 0
}

/// The sinks that listen, as a mask of [`TARGET_AOF`] and [`TARGET_REPL`]. An op meant only
/// for sinks that do not listen is not queued at all (so it does not count towards a
/// MULTI/EXEC either; Redis: `alsoPropagate` checks `shouldPropagate`).
fn listening(ctx: &Ctx) -> u8 {
    if ctx.srv.loading {
        return 0;
    }
    let mut targets = 0;
    if ctx.srv.propagation.repl.active() {
        targets |= TARGET_REPL;
    }
    if ctx.srv.aof.status != super::aof::AofStatus::Off {
        targets |= TARGET_AOF;
    }
    targets
}

/// Propagate `argv` instead of the running command's own argv (Redis:
/// `rewriteClientCommandVector`). `argv` is built only if a sink listens.
pub fn rewrite(ctx: &mut Ctx, argv: impl FnOnce() -> Vec<Vec<u8>>) {
    if active(ctx) {
        ctx.srv.propagation.call.rewritten = Some(argv());
    }
}

/// Do not propagate the running command itself (Redis: `preventCommandPropagation`).
pub fn prevent(ctx: &mut Ctx) {
    ctx.srv.propagation.call.prevented = true;
}

/// Propagate the running command even if it changed no data (Redis:
/// `forceCommandPropagation`).
pub fn force(ctx: &mut Ctx) {
    ctx.srv.propagation.call.forced = true;
}

/// Queues `argv` for propagation in database `db`, after whatever the running execution unit
/// queued so far (Redis: `alsoPropagate`). Keys that expired before this point are queued
/// first, so the stream keeps the order in which things happened.
pub fn also_propagate(ctx: &mut Ctx, db: usize, argv: Vec<Vec<u8>>) {
    if !active(ctx) {
        return;
    }
    super::flush_expired_keys(ctx);
    let targets = TARGET_ALL;
    ctx.srv.propagation.pending.push(Op { db, argv, targets });
}

/// The server removed `key` on its own (expiry; eviction): replicas get `DEL key`, or
/// `UNLINK key` when the server freed it lazily (Redis: `propagateDeletion`). Inside a command
/// it joins the command's ops; outside one (the active expiry cycle, eviction before a
/// command runs) the caller flushes with [`propagate_pending`], unwrapped.
pub fn propagate_deletion(ctx: &mut Ctx, db: usize, key: &[u8], lazy: bool) {
    if active(ctx) {
        also_propagate(ctx, db, super::keyspace::deletion_command(lazy, key));
    }
}

/// A command starts: its effects start empty; the caller's are handed back, to be restored
/// by [`end_call`] (calls nest: EXEC and scripts run commands inside their own call).
pub(super) fn begin_call(ctx: &mut Ctx, touches_arbitrary_keys: bool) -> CallEffects {
    let p = &mut ctx.srv.propagation;
    if p.nesting == 0 {
        p.may_wrap = !touches_arbitrary_keys;
    }
    p.nesting += 1;
    std::mem::take(&mut p.call)
}

/// A command ended, having raised `dirty` by `dirty`: queues its argv (or what it was
/// rewritten to) for `targets` if it changed data or forced propagation and did not prevent
/// it, then restores the effects of the enclosing call. Redis: the propagation part of
/// `call()` (`targets` is its CMD_CALL_PROPAGATE_AOF / _REPL).
pub(super) fn end_call(ctx: &mut Ctx, outer: CallEffects, dirty: u64, argv: &[&[u8]], targets: u8) {
    super::flush_expired_keys(ctx);
    let p = &mut ctx.srv.propagation;
    p.nesting = p.nesting.saturating_sub(1);
    let effects = std::mem::replace(&mut p.call, outer);
    let targets = targets & listening(ctx);
    if (dirty == 0 && !effects.forced) || effects.prevented || targets == 0 {
        return;
    }
    let argv = match effects.rewritten {
        Some(rewritten) => rewritten,
        None => argv.iter().map(|a| a.to_vec()).collect(),
    };
    if !argv.is_empty() {
        let db = ctx.db;
        ctx.srv.propagation.pending.push(Op { db, argv, targets });
    }
}

/// The execution unit ended: writes its ops to the sinks, wrapped in MULTI/EXEC when there is
/// more than one and the unit allows it (Redis: `propagatePendingCommands`). Does nothing
/// while a call is still running (a command served by the loop while a script is busy must
/// not cut the script's ops in two; Redis checks `in_nested_call`).
pub fn propagate_pending(ctx: &mut Ctx) {
    let p = &mut ctx.srv.propagation;
    if p.nesting > 0 {
        return;
    }
    let may_wrap = std::mem::take(&mut p.may_wrap);
    if p.pending.is_empty() {
        return;
    }
    let ops = std::mem::take(&mut p.pending);
    let transaction = ops.len() > 1 && may_wrap;
    if transaction {
        // MULTI goes to the first op's database, so its SELECT comes before it; EXEC to the
        // last one's, so that it needs none.
        propagate_now(ctx, ops[0].db, &[b"MULTI".to_vec()], TARGET_ALL);
    }
    for op in &ops {
        propagate_now(ctx, op.db, &op.argv, op.targets);
    }
    if let Some(last) = ops.last().filter(|_| transaction) {
        propagate_now(ctx, last.db, &[b"EXEC".to_vec()], TARGET_ALL);
    }
    // Keep the allocation for the next unit.
    let mut ops = ops;
    ops.clear();
    if ctx.srv.propagation.pending.is_empty() {
        ctx.srv.propagation.pending = ops;
    }
}

/// Writes one command to every sink it is meant for (Redis: `propagateNow`): the AOF's
/// buffer (written to the file in `before_sleep`), the replicas' stream.
fn propagate_now(ctx: &mut Ctx, db: usize, argv: &[Vec<u8>], targets: u8) {
    if targets & TARGET_AOF != 0 {
        super::aof::feed(ctx.srv, db, argv, ctx.now);
    }
    if targets & TARGET_REPL != 0 {
        replication::feed(ctx, Some(db), argv);
    }
}
