//! The memory limit: evicting keys until used memory is back under `maxmemory`, and refusing
//! commands that may grow memory when it cannot be (Redis: `evict.c` `performEvictions`,
//! `getMaxmemoryState`, `evictionTimeProc`, and the maxmemory block of `processCommand`).
//!
//! ```text
//!  process_command (sockets), maxmemory set:
//!     perform_evictions ── under the limit ─────────────────────────> Ok
//!        │  over: bytes to free = used - not-counted - maxmemory
//!        │  policy noeviction ──────────────────────────────────────> Fail
//!        └─ loop: db::evict::select_victim -> command::key_evicted (delete, `evicted`
//!                 event, WATCH, evicted_keys) ; freed += allocator delta
//!             until freed >= to free ───────────────────────────────> Ok
//!             no key qualifies (volatile-* without TTLs, empty) ────> Fail
//!             every 16 keys: past the tenacity time limit ─────────> Running: the rest is
//!                             evicted by before_sleep, a slice per loop turn, until Ok/Fail
//!     Fail and the command is denyoom (or queued inside MULTI, or an EXEC of a denyoom
//!     queue, or a script without allow-oom) ── -OOM command not allowed ...
//! ```
//!
//! Used memory is the counting allocator's total (`crate::alloc`), like Redis's
//! `zmalloc_used_memory`, minus what Redis leaves out of the eviction total: the part of the
//! shared replication buffer past `repl-backlog-size` (what replicas keep alive) and the AOF
//! buffer (`mem_not_counted_for_evict`), so that a replica that reads slowly does not make the
//! master evict its keys.
//! Client buffers are counted, so a pile of unread replies makes keys go, as in Redis. One
//! more thing is left out: the empty slots of the keyspace tables. Redis frees a deleted
//! entry; `Dict` keeps the slot for the next key, and a key whose name and value are stored
//! inline gives nothing back to the allocator. Counting the slot as freed keeps eviction to
//! about one key per key added, instead of emptying the table until it compacts.

use super::error::CommandError;
use super::table::{flags, CommandSpec};
use super::Ctx;
use crate::db::evict::{self, EvictionPool, ObjectClock, Policy};
use crate::db::Db;
use std::time::{Duration, Instant};

/// What persists between evictions.
#[derive(Default)]
pub struct EvictionState {
    pool: EvictionPool,
    /// INFO `evicted_keys`.
    pub evicted_keys: u64,
    /// INFO `evicted_clients`.
    pub evicted_clients: u64,
    /// The last call stopped on its time limit; `before_sleep` continues (Redis:
    /// `isEvictionProcRunning`).
    time_proc_running: bool,
    /// Since when used memory has been over the limit (Redis:
    /// `stat_last_eviction_exceeded_time`).
    exceeded_since: Option<Instant>,
    total_exceeded: Duration,
    /// The last socket command found memory over the limit and could not free enough
    /// (Redis: `server.pre_command_oom_state`); scripts it runs may not start writing.
    pub pre_command_oom: bool,
}

impl EvictionState {
    /// INFO `total_eviction_exceeded_time` (ms).
    pub fn total_exceeded_ms(&self) -> u128 {
        (self.total_exceeded + self.current_exceeded()).as_millis()
    }

    /// INFO `current_eviction_exceeded_time` (ms).
    pub fn current_exceeded_ms(&self) -> u128 {
        self.current_exceeded().as_millis()
    }

    fn current_exceeded(&self) -> Duration {
        self.exceeded_since.map_or(Duration::ZERO, |t| t.elapsed())
    }

    /// Eviction has work left for `before_sleep` (the loop must not sleep meanwhile).
    pub fn time_proc_running(&self) -> bool {
        self.time_proc_running
    }

    /// Asks `before_sleep` to evict (Redis: `startEvictionTimeProc`): how a new, lower
    /// `maxmemory` takes effect, outside any command.
    pub fn start_time_proc(&mut self) {
        self.time_proc_running = true;
    }

    /// CONFIG RESETSTAT.
    pub fn reset_stats(&mut self) {
        self.evicted_keys = 0;
        self.evicted_clients = 0;
        self.total_exceeded = Duration::ZERO;
        if self.exceeded_since.is_some() {
            self.exceeded_since = Some(Instant::now());
        }
    }
}

/// The outcome of [`perform_evictions`] (Redis: `EVICT_OK`, `EVICT_RUNNING`, `EVICT_FAIL`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Evicted {
    /// Under the limit (now, or it was already).
    Ok,
    /// Over the limit, still evicting in later loop turns.
    Running,
    /// Over the limit and nothing (more) may be evicted.
    Fail,
}

/// Memory the limit does not count: the replicas' output buffers (the stream they have not
/// read yet) and the AOF buffer (Redis: `freeMemoryGetNotCountedMemory`; its replicas share
/// one buffer with the backlog, of which it leaves out the part past the backlog's size;
/// ferrodis's backlog is a buffer of its own, always counted).
pub fn not_counted_for_evict(ctx: &Ctx) -> usize {
    let replicas = super::memory::replica_output_memory(ctx);
    let aof = if ctx.srv.aof.status == super::aof::AofStatus::Off {
        0
    } else {
        ctx.srv.aof.buf.capacity()
    };
    replicas + aof
}

/// Allocated bytes minus the empty part of `db`'s tables: what deleting a key from `db`
/// changes for eviction (a key whose key and value are stored inline gives no memory back to
/// the allocator, but its slot is reused by the next key added).
pub fn used_memory_for_eviction(db: &Db) -> usize {
    crate::alloc::used_memory().saturating_sub(db.spare_table_bytes())
}

/// Bytes to free to be back under `maxmemory`, or None when under it (Redis:
/// `getMaxmemoryState`). What is counted: allocated bytes, minus what Redis does not count
/// (replica and AOF buffers) and minus the empty slots of the keyspace tables, which the next
/// keys fill without allocating (Redis frees a deleted entry; `Dict` keeps its slot).
pub fn bytes_over_limit(ctx: &Ctx, maxmemory: u64) -> Option<u64> {
    if maxmemory == 0 || crate::alloc::used_memory() as u64 <= maxmemory {
        return None;
    }
    let reported = super::memory::used_memory(ctx.dbs) as u64;
    let used = reported.saturating_sub(not_counted_for_evict(ctx) as u64);
    (used > maxmemory).then(|| used - maxmemory)
}

/// CONFIG SET of a `maxmemory` below current use: Redis's warning (its `updateMaxmemory`).
pub fn warn_if_over_limit(ctx: &Ctx) {
    let maxmemory = ctx.srv.config.maxmemory;
    if let Some(over) = bytes_over_limit(ctx, maxmemory) {
        log::warn!(
            "WARNING: the new maxmemory value set via CONFIG SET ({maxmemory}) is smaller than \
             the current memory usage ({}). This will result in key eviction and/or the \
             inability to accept new write commands depending on the maxmemory-policy.",
            maxmemory + over
        );
    }
}

/// How long one call may evict before leaving the rest to later loop turns (Redis:
/// `evictionTimeLimitUs`): 50 µs per step up to tenacity 10, then 15% more per step, and no
/// limit at 100.
fn eviction_time_limit(tenacity: u32) -> Option<Duration> {
    match tenacity {
        0..=10 => Some(Duration::from_micros(50 * u64::from(tenacity))),
        11..=99 => Some(Duration::from_micros(
            (500.0 * 1.15f64.powi(tenacity as i32 - 10)) as u64,
        )),
        _ => None,
    }
}

/// Evicts keys by `maxmemory-policy` until used memory is under `maxmemory`, within the
/// tenacity time limit (Redis: `performEvictions`).
pub fn perform_evictions(ctx: &mut Ctx) -> Evicted {
    // A script past busy-reply-threshold lets the loop serve other clients: nothing may be
    // deleted under its feet (Redis: `isSafeToPerformEvictions`).
    let run = &ctx.srv.scripts.run;
    if run.running.get() && run.timed_out.get() {
        return Evicted::Ok;
    }
    // Nor while clients are paused: the dataset stays still.
    if super::pause::check_timeout_and_return_if_paused(ctx) {
        return Evicted::Ok;
    }
    let result = evict_until_under_limit(ctx);
    // The DELs go out now, unwrapped (Redis: performEvictions ends with
    // propagatePendingCommands); inside a command (CONFIG SET maxmemory) they join its ops.
    super::propagate::propagate_pending(ctx);
    let state = &mut ctx.srv.evict;
    match result {
        Evicted::Ok => {
            if let Some(since) = state.exceeded_since.take() {
                state.total_exceeded += since.elapsed();
            }
        }
        Evicted::Running | Evicted::Fail => {
            state.exceeded_since.get_or_insert_with(Instant::now);
        }
    }
    result
}

fn evict_until_under_limit(ctx: &mut Ctx) -> Evicted {
    let Some(to_free) = bytes_over_limit(ctx, ctx.srv.config.maxmemory) else {
        return Evicted::Ok;
    };
    let policy = Policy::parse(&ctx.srv.config.maxmemory_policy);
    if policy == Policy::NoEviction {
        return Evicted::Fail;
    }
    let limit = eviction_time_limit(ctx.srv.config.maxmemory_eviction_tenacity);
    let samples = ctx.srv.config.maxmemory_samples as usize;
    let started = Instant::now();
    let mut freed: i64 = 0;
    let mut keys_freed = 0u64;
    while freed < to_free as i64 {
        let srv = &mut *ctx.srv;
        let victim = evict::select_victim(
            ctx.dbs,
            &mut srv.evict.pool,
            policy,
            samples,
            ctx.now,
            &mut srv.rng,
        );
        let Some((db, key)) = victim else {
            return Evicted::Fail;
        };
        freed += super::key_evicted(ctx, db, &key);
        keys_freed += 1;
        if keys_freed.is_multiple_of(16) && limit.is_some_and(|limit| started.elapsed() > limit) {
            // Enough for this turn; before_sleep goes on with the rest.
            ctx.srv.evict.time_proc_running = true;
            break;
        }
    }
    if ctx.srv.evict.time_proc_running {
        Evicted::Running
    } else {
        Evicted::Ok
    }
}

/// One slice of the eviction left over by a call that ran out of time; run by
/// `before_sleep` while [`EvictionState::time_proc_running`] (Redis: `evictionTimeProc`).
pub fn eviction_time_proc(ctx: &mut Ctx) {
    ctx.srv.evict.time_proc_running = false;
    if perform_evictions(ctx) == Evicted::Running {
        ctx.srv.evict.time_proc_running = true;
    }
}

/// The maxmemory check of `process_command` for a socket caller: evicts what it can, then
/// refuses a command that may grow memory if used memory is still over the limit.
pub fn check_memory(
    ctx: &mut Ctx,
    spec: &'static CommandSpec,
    argv: &[&[u8]],
    in_multi: bool,
) -> Result<(), CommandError> {
    let out_of_memory = perform_evictions(ctx) == Evicted::Fail;
    // The caller learns of its evicted keys before this command's reply, which is about the
    // new state (Redis: processCommand after performEvictions).
    super::tracking::handle_pending_key_invalidations(ctx);
    ctx.srv.evict.pre_command_oom = out_of_memory;
    if !out_of_memory {
        return Ok(());
    }
    // Inside MULTI every command but the ones that end it may only grow the queue.
    let ends_multi = matches!(spec.name, "exec" | "discard" | "quit" | "reset");
    if (in_multi && !ends_multi) || is_denyoom(ctx, spec, argv) {
        return Err(CommandError::Oom);
    }
    Ok(())
}

/// May this request grow memory? Its `denyoom` flag; for EXEC, any queued command's; for
/// EVAL/FCALL of a script that declares flags, a script without `allow-oom` / `no-writes`
/// (Redis: `getCommandFlags`).
fn is_denyoom(ctx: &mut Ctx, spec: &'static CommandSpec, argv: &[&[u8]]) -> bool {
    if spec.has(flags::DENYOOM) {
        return true;
    }
    match spec.name {
        "exec" => {
            let id = ctx.id;
            ctx.clients
                .get(id)
                .is_some_and(|c| c.multi.queued_flags() & flags::DENYOOM != 0)
        }
        _ => super::scripting::declared_denyoom(ctx, spec, argv),
    }
}

/// The client memory limit in bytes, 0 when client eviction is off (Redis:
/// `getClientEvictionLimit`): `maxmemory-clients` bytes, or its percentage of `maxmemory`,
/// never below 128 KB so that a bad setting cannot lock every client out.
fn client_eviction_limit(config: &crate::config::Config) -> usize {
    const MIN: usize = 128 * 1024;
    let limit = match config.maxmemory_clients {
        0 => return 0,
        n if n < 0 => {
            if config.maxmemory == 0 {
                return 0;
            }
            (config.maxmemory as f64 * (-n) as f64 / 100.0) as usize
        }
        n => n as usize,
    };
    limit.max(MIN)
}

/// Client eviction (Redis 7.0: `evictClients`): while the clients together hold
/// `maxmemory-clients` or more (query and reply buffers, records, MULTI queues, watched keys,
/// subscriptions, tracking prefixes: `memory::client_memory`), closes the ones
/// holding most, except those that said CLIENT NO-EVICT. A closed client is marked
/// `close_asap`: nothing more is read from it or written to it, and the loop frees it this turn.
/// Returns true if the caller itself (`ctx.id`) was evicted: its command must not run.
///
/// Redis keeps clients in buckets by memory so that this costs O(evicted); ferrodis sums over
/// the clients, O(clients), and only when `maxmemory-clients` is set.
pub fn evict_clients(ctx: &mut Ctx) -> bool {
    let limit = client_eviction_limit(&ctx.srv.config);
    if limit == 0 {
        return false;
    }
    let me = ctx.id;
    let my_reply = ctx.out.capacity();
    let mut total = 0usize;
    let mut candidates: Vec<(usize, usize)> = Vec::new();
    for (key, c) in ctx.clients.iter() {
        if c.close_asap {
            continue;
        }
        let mut mem = super::memory::client_memory(c);
        if key == me {
            // Its reply buffer is in `ctx.out` while it runs.
            mem = mem - c.reply.capacity() + my_reply;
        }
        total += mem;
        if !c.no_evict {
            candidates.push((mem, key));
        }
    }
    if total < limit {
        return false;
    }
    candidates.sort_unstable_by(|a, b| b.cmp(a));
    let mut evicted_me = false;
    for (mem, key) in candidates {
        if total < limit {
            break;
        }
        let mut info = String::new();
        super::connection::client_info_line(ctx, key, 0, "", &mut info);
        log::info!("Evicting client: {}", info.trim_end());
        if key == me {
            evicted_me = true;
        }
        if let Some(c) = ctx.clients.get_mut(key) {
            c.close_asap = true;
        }
        if key != me {
            // Queued for writing, so that before_sleep sees the flag and frees it.
            let _ = ctx.reply_to(key);
        }
        total -= mem;
        ctx.srv.evict.evicted_clients += 1;
    }
    if total >= limit {
        log::warn!("Over client maxmemory after evicting all evictable clients");
    }
    evicted_me
}

/// Installs the object clock the configuration asks for (LRU or LFU, and LFU's parameters);
/// at startup and after CONFIG SET.
pub fn apply_config(config: &crate::config::Config) {
    evict::set_maxmemory(config.maxmemory);
    evict::set_object_clock(ObjectClock {
        lfu: Policy::parse(&config.maxmemory_policy).is_lfu(),
        lfu_log_factor: config.lfu_log_factor,
        lfu_decay_time: config.lfu_decay_time,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenacity_sets_the_time_limit_as_redis() {
        assert_eq!(eviction_time_limit(0), Some(Duration::ZERO));
        assert_eq!(eviction_time_limit(10), Some(Duration::from_micros(500)));
        assert_eq!(eviction_time_limit(11), Some(Duration::from_micros(575)));
        assert_eq!(eviction_time_limit(100), None);
    }
}
