//! Blocking commands' bookkeeping: who waits for which key, until when, and what to do when data
//! arrives (Redis: `blocked.c`, and the list half of `serveClientsBlockedOnKey`).
//!
//! # How a client blocks and is served
//!
//! ```text
//!  BLPOP k 5 ──> list has data? ── yes ──> pop and reply at once (no blocking at all)
//!                    │ no (and not in MULTI / a script)
//!                    └─> block_for_keys(): waiting[(db,k)] += client (FIFO), deadline recorded,
//!                        client.blocked = Some(..); input.rs stops running its pipeline
//!
//!  LPUSH k x ──> signal_key_as_ready(k): only if someone waits on k, queue (db,k) as "ready"
//!  after_command() ──> handle_clients_blocked_on_keys():
//!        for each ready key, for each waiter in FIFO order: serve(waiter) runs the waiter's
//!        operation *as that client* (its reply goes to its own buffer), until the key is empty.
//!        A served BLMOVE pushes to its destination, which signals that key in turn (a chain):
//!        the loop runs until no key is ready.
//!  before_sleep() ──> handle_timeouts(): waiters past their deadline get the timeout reply
//!                 ──> process_unblocked_clients(): every client unblocked this turn resumes its
//!                     pipelined input (Redis: `processUnblockedClients`)
//! ```
//!
//! Because `after_command` runs right after the pushing command, the blocked client is served
//! before the pusher's own reply is written, within the same loop turn — exactly Redis's order.
//! Blocking costs nothing while idle: there is no polling, the event loop sleeps until
//! [`next_deadline`].
//!
//! # Extension point: other types that block (streams' XREAD BLOCK, ...)
//!
//! The registry knows nothing about lists or sorted sets. What a waiter does when its key is
//! ready is a [`BlockedOp`] variant (`List`, `ZSet`), and `serve` dispatches it to the type's
//! command module (`list::serve_blocked`, `zset::serve_blocked`). A new blocking type adds:
//!
//! 1. a `BlockedOp` variant holding whatever the command must remember;
//! 2. its arm in `serve`, calling the type's `serve_blocked(ctx, key, wait)`, which must
//!    return `false` without side effects when the key is missing or holds another type, and
//!    otherwise reply through `ctx.out` (the served client's buffer) and return `true`;
//! 3. in the command: when nothing is available and [`may_block`] is true, call
//!    [`block_for_keys`]; call `signal_key_as_ready` from the commands that add data.
//!
//! Timeouts, FIFO order, multi-key waits, disconnects and CLIENT UNBLOCK then work unchanged.
//!
//! This module is the command layer's half (Redis's `blocked.c`); the loop (`server/`) only
//! calls [`handle_blocked_clients_timeout`] and resumes the clients [`take_unblocked`] names.

use super::client::Client;
use super::state::ServerState;
use super::{Ctx, NO_CLIENT};
use crate::db::Ms;
use crate::resp::reply::ReplyBuffer;
use crate::types::sds::Sds;
use hashbrown::{HashMap, HashSet};
use std::collections::{BTreeSet, VecDeque};
use std::time::Instant;

/// What a blocked client will do once one of its keys has data. One variant per type family.
pub enum BlockedOp {
    /// BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP.
    List(super::list::ListWait),
    /// BZPOPMIN, BZPOPMAX, BZMPOP.
    ZSet(super::zset::ZSetWait),
    /// XREAD, XREADGROUP.
    Stream(super::stream::StreamWait),
    /// WAIT: no key; served by replicas' acknowledgements (`replication.rs`).
    Wait(super::replication::WaitForAcks),
    /// SHUTDOWN waiting for lagging replicas: no key; answered only if the shutdown fails
    /// (`shutdown.rs`).
    Shutdown,
}

/// Server-wide registry of blocked clients.
#[derive(Default)]
pub struct BlockingState {
    /// (db, key) -> clients waiting on it, oldest first (slab keys).
    waiting: HashMap<(usize, Sds), VecDeque<usize>>,
    /// Keys that may satisfy a waiter, in the order they were signalled; `ready_set` dedups.
    ready: Vec<(usize, Sds)>,
    ready_set: HashSet<(usize, Sds)>,
    /// (deadline in Unix ms, slab key) of every waiter that has a timeout, earliest first.
    deadlines: BTreeSet<(Ms, usize)>,
    /// Clients unblocked this turn whose pipelined input must be resumed in `before_sleep`.
    unblocked: Vec<usize>,
    /// Number of blocked clients (INFO `blocked_clients`).
    pub blocked_clients: usize,
    /// Number of clients blocked in XREADGROUP: while there are any, keys they wait on that
    /// stop holding a stream are signalled after each command (see `stream.rs`).
    stream_group_waiters: usize,
}

/// What a blocked client waits for (kept in `Client::blocked`).
pub struct BlockedState {
    pub db: usize,
    /// Distinct keys, in the order the command named them.
    pub keys: Vec<Sds>,
    pub deadline: Option<Ms>,
    pub op: BlockedOp,
    /// The blocking command's call, finished when it is served: its slow-log entry, latency
    /// histogram and failure count wait for its reply (set by `call` once it blocked).
    pub call: Option<BlockedCall>,
}

/// What a blocking command's call leaves to be recorded when it is served (Redis keeps the
/// client's argv and `c->duration` for `updateStatsOnUnblock`).
pub struct BlockedCall {
    pub spec: &'static super::table::CommandSpec,
    pub argv: Vec<Vec<u8>>,
    /// How long the call itself took, before it blocked.
    pub duration_us: u64,
}

/// May the calling client block? Not inside MULTI/EXEC or a script (which must not stall the
/// server), nor when the server itself runs the command: blocking commands then behave as if
/// the timeout had expired at once (Redis: `CLIENT_DENY_BLOCKING`).
pub fn may_block(ctx: &mut Ctx) -> bool {
    if ctx.id == NO_CLIENT {
        return false;
    }
    if ctx.srv.scripts.is_running() {
        return false;
    }
    let me = ctx.me();
    !me.multi.active && !me.deny_blocking
}

/// Blocks the calling client on `keys` (in the caller's database) until one of them is served,
/// `timeout_ms` passes (None = forever), or it is unblocked. Redis: `blockForKeys`.
pub fn block_for_keys(ctx: &mut Ctx, keys: &[&[u8]], timeout_ms: Option<i64>, op: BlockedOp) {
    let db = ctx.db;
    let id = ctx.id;
    let deadline = timeout_ms.map(|t| ctx.now.saturating_add(t));
    let mut distinct: Vec<Sds> = Vec::with_capacity(keys.len());
    for &key in keys {
        if distinct.iter().any(|k| k.as_bytes() == key) {
            continue;
        }
        distinct.push(Sds::new(key));
    }
    let state = &mut ctx.srv.blocking;
    for key in &distinct {
        state
            .waiting
            .entry((db, key.clone()))
            .or_default()
            .push_back(id);
    }
    if let Some(when) = deadline {
        state.deadlines.insert((when, id));
    }
    if matches!(&op, BlockedOp::Stream(w) if w.is_group()) {
        state.stream_group_waiters += 1;
    }
    state.blocked_clients += 1;
    ctx.me().blocked = Some(BlockedState {
        db,
        keys: distinct,
        deadline,
        op,
        call: None,
    });
}

/// Takes client `key` out of the registry and queues it to resume its pipelined input. The
/// caller gives it its reply.
pub(super) fn unblock_client(
    state: &mut BlockingState,
    clients: &mut slab::Slab<Client>,
    key: usize,
) {
    let Some(blocked) = clients.get_mut(key).and_then(|c| c.blocked.take()) else {
        return;
    };
    remove_from_registry(state, key, &blocked);
    state.unblocked.push(key);
}

fn remove_from_registry(state: &mut BlockingState, key: usize, blocked: &BlockedState) {
    for k in &blocked.keys {
        let slot = (blocked.db, k.clone());
        if let Some(queue) = state.waiting.get_mut(&slot) {
            queue.retain(|&c| c != key);
            if queue.is_empty() {
                state.waiting.remove(&slot);
            }
        }
    }
    if let Some(when) = blocked.deadline {
        state.deadlines.remove(&(when, key));
    }
    if matches!(&blocked.op, BlockedOp::Stream(w) if w.is_group()) {
        state.stream_group_waiters = state.stream_group_waiters.saturating_sub(1);
    }
    state.blocked_clients = state.blocked_clients.saturating_sub(1);
}

/// Records that `key` in `db` may now satisfy a blocked client (Redis: `signalKeyAsReady`).
/// Cheap when nobody waits: one emptiness check.
pub fn signal_key_as_ready(ctx: &mut Ctx, db: usize, key: &[u8]) {
    let state = &mut ctx.srv.blocking;
    if state.waiting.is_empty() {
        return;
    }
    let slot = (db, Sds::new(key));
    if !state.waiting.contains_key(&slot) || state.ready_set.contains(&slot) {
        return;
    }
    state.ready_set.insert(slot.clone());
    state.ready.push(slot);
}

/// The keys of database `db` that some client is blocked on, sorted (SWAPDB rescans them).
pub fn waited_keys(ctx: &Ctx, db: usize) -> Vec<Sds> {
    let mut keys: Vec<Sds> = ctx
        .srv
        .blocking
        .waiting
        .keys()
        .filter(|(d, _)| *d == db)
        .map(|(_, key)| key.clone())
        .collect();
    keys.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    keys
}

/// Serves clients blocked on keys that received data during the last command
/// (Redis: `handleClientsBlockedOnKeys`). Serving may make more keys ready (BLMOVE pushes to
/// its destination), so this loops until nothing is ready.
///
/// The clock is read again first (as Redis's `updateCachedTime` there): a key that expired
/// while the writer ran (a transaction with DEBUG SLEEP, a long script) serves nobody. Returns
/// whether any key was ready.
pub fn handle_clients_blocked_on_keys(ctx: &mut Ctx) -> bool {
    if ctx.srv.blocking.stream_group_waiters > 0 {
        let waited: Vec<(usize, Sds)> = ctx.srv.blocking.waiting.keys().cloned().collect();
        super::stream::unblock_deleted_stream_readgroup_clients(ctx, waited);
    }
    if ctx.srv.blocking.ready.is_empty() {
        return false;
    }
    ctx.now = ctx.now.max(super::state::unix_ms());
    while !ctx.srv.blocking.ready.is_empty() {
        let ready = std::mem::take(&mut ctx.srv.blocking.ready);
        for slot in ready {
            // Clear the mark first: serving this key may legitimately signal it again.
            ctx.srv.blocking.ready_set.remove(&slot);
            serve_clients_blocked_on_key(ctx, slot.0, &slot.1);
        }
    }
    true
}

/// Serves the waiters of one key in FIFO order while it has data (Redis:
/// `serveClientsBlockedOnKey`).
fn serve_clients_blocked_on_key(ctx: &mut Ctx, db: usize, key: &[u8]) {
    let slot = (db, Sds::new(key));
    // A snapshot: serving one waiter may unblock others (they are then skipped).
    let Some(queue) = ctx.srv.blocking.waiting.get(&slot) else {
        return;
    };
    let waiters: Vec<usize> = queue.iter().copied().collect();
    for client in waiters {
        // A key that is gone still serves XREADGROUP waiters (with an error).
        if !ctx.dbs[db].exists(key, ctx.now) && ctx.srv.blocking.stream_group_waiters == 0 {
            return;
        }
        let still_waiting = ctx
            .srv
            .blocking
            .waiting
            .get(&slot)
            .is_some_and(|q| q.contains(&client));
        if !still_waiting {
            continue;
        }
        let Some(c) = ctx.clients.get_mut(client) else {
            continue;
        };
        let Some(blocked) = c.blocked.take() else {
            continue;
        };
        let mut out = ReplyBuffer::new();
        out.set_resp3(c.reply.is_resp3());
        let served = {
            // Run the waiter's operation as the waiter: its database, its reply buffer.
            let mut as_waiter = Ctx {
                dbs: &mut *ctx.dbs,
                db,
                out: &mut out,
                clients: &mut *ctx.clients,
                id: client,
                srv: &mut *ctx.srv,
                now: ctx.now,
            };
            // Served as a call of its own: what it popped reaches replicas as the plain pop,
            // flushed per served client, after the writer's command (Redis: the
            // alsoPropagate of `serveClientBlockedOnList` & co., then `afterCommand`).
            let dirty = as_waiter.srv.dirty;
            let outer = super::propagate::begin_call(&mut as_waiter, false);
            // Its own tracked keys it changes are invalidated after its reply.
            as_waiter.srv.tracking.executing += 1;
            let (started, errors) = (Instant::now(), as_waiter.srv.stats.total_error_replies);
            let served = serve(&mut as_waiter, key, &blocked.op);
            if served {
                let reply_us = started.elapsed().as_micros() as u64;
                let had_errors = as_waiter.srv.stats.total_error_replies != errors;
                if let Some(call) = &blocked.call {
                    super::update_stats_on_unblock(
                        &mut as_waiter,
                        client,
                        call,
                        reply_us,
                        had_errors,
                    );
                }
            }
            as_waiter.srv.tracking.executing -= 1;
            let dirtied = as_waiter.srv.dirty.saturating_sub(dirty);
            let all = super::propagate::TARGET_ALL;
            super::propagate::end_call(&mut as_waiter, outer, dirtied, &[], all);
            super::propagate::propagate_pending(&mut as_waiter);
            served
        };
        if let Some(c) = ctx.clients.get_mut(client) {
            c.blocked = Some(blocked);
        }
        if served {
            unblock_client(&mut ctx.srv.blocking, ctx.clients, client);
            if let Some(reply) = ctx.reply_to(client) {
                reply.append(&mut out);
            }
        }
        super::tracking::handle_pending_key_invalidations(ctx);
    }
}

/// Runs a waiter's operation on a key that received data. Returns false (having changed
/// nothing) if the key cannot serve this kind of waiter.
fn serve(ctx: &mut Ctx, key: &[u8], op: &BlockedOp) -> bool {
    match op {
        BlockedOp::List(wait) => super::list::serve_blocked(ctx, key, wait),
        BlockedOp::ZSet(wait) => super::zset::serve_blocked(ctx, key, wait),
        BlockedOp::Stream(wait) => super::stream::serve_blocked(ctx, key, wait),
        BlockedOp::Wait(_) | BlockedOp::Shutdown => false,
    }
}

/// The earliest deadline of any blocked client: how long the event loop may sleep.
pub fn next_deadline(state: &ServerState) -> Option<Ms> {
    state.blocking.deadlines.first().map(|&(when, _)| when)
}

/// Gives every blocked client whose deadline passed its timeout reply (Redis:
/// `handleBlockedClientsTimeout`). `ctx` belongs to no client ([`NO_CLIENT`]).
pub fn handle_blocked_clients_timeout(ctx: &mut Ctx) {
    let now = ctx.now;
    while let Some(&(when, key)) = ctx.srv.blocking.deadlines.first() {
        if when > now {
            break;
        }
        ctx.srv.blocking.deadlines.pop_first();
        let wait_offset = ctx.clients.get(key).and_then(|c| match &c.blocked {
            Some(BlockedState {
                op: BlockedOp::Wait(w),
                ..
            }) => Some(w.offset),
            _ => None,
        });
        unblock_client(&mut ctx.srv.blocking, ctx.clients, key);
        if let Some(offset) = wait_offset {
            super::replication::wait_timed_out(ctx, key, offset);
            continue;
        }
        // The timeout reply of every blocking list / sorted-set command in Redis 7.0.
        if let Some(reply) = ctx.reply_to(key) {
            reply.null_array();
        }
    }
}

/// Queues `key` to have its pipelined input resumed in `before_sleep` (a client released by
/// the end of a CLIENT PAUSE).
pub fn queue_for_reprocessing(state: &mut ServerState, key: usize) {
    state.blocking.unblocked.push(key);
}

/// Every client blocked on keys gets `-UNBLOCKED`: the server became a replica, so what they
/// wait for may never come (Redis: `disconnectAllBlockedClients`). WAIT is left alone.
pub fn disconnect_all_blocked_clients(ctx: &mut Ctx) {
    let keys: Vec<usize> = ctx
        .clients
        .iter()
        .filter(|(_, c)| {
            c.blocked
                .as_ref()
                .is_some_and(|b| !matches!(b.op, BlockedOp::Wait(_)))
        })
        .map(|(k, _)| k)
        .collect();
    for key in keys {
        unblock_client(&mut ctx.srv.blocking, ctx.clients, key);
        let error = "UNBLOCKED force unblock from blocking operation, instance state changed \
                     (master -> replica?)";
        super::count_error_reply(ctx.srv, error);
        if let Some(out) = ctx.reply_to(key) {
            out.error(error);
        }
    }
}

/// The clients unblocked since the last call, whose pipelined input the loop must resume
/// (Redis: `server.unblocked_clients`, drained by `processUnblockedClients`).
pub fn take_unblocked(state: &mut ServerState) -> Vec<usize> {
    std::mem::take(&mut state.blocking.unblocked)
}

/// A client is being freed: drop it from the registry.
pub fn forget_client(state: &mut ServerState, key: usize, client: &Client) {
    if let Some(blocked) = &client.blocked {
        remove_from_registry(&mut state.blocking, key, blocked);
    }
    state.blocking.unblocked.retain(|&c| c != key);
}
