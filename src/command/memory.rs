//! Where the memory goes: the breakdown INFO memory and MEMORY STATS report, MEMORY DOCTOR's
//! diagnosis, MEMORY MALLOC-STATS and MEMORY PURGE (Redis: `object.c`
//! `getMemoryOverheadData`, `getMemoryDoctorReport`, `memoryCommand`).
//!
//! ```text
//!  used_memory = counting allocator's total - empty slots of the keyspace tables
//!              = overhead + dataset
//!  overhead = startup (allocated before the first client) + client buffers and records
//!           + the keyspace tables of every database (slots + index, main and expires)
//!  dataset  = the rest: keys' and values' own allocations
//!  fragmentation = RSS / used_memory;  allocator_* from the allocator itself (glibc)
//! ```
//!
//! Everything here is computed when asked, in O(clients + databases); nothing walks the keys.

use super::client::Client;
use super::Ctx;
use crate::alloc::{self, AllocatorStats};

/// Redis's `struct redisMemOverhead`, the part ferrodis can measure.
pub struct MemoryOverhead {
    pub peak_allocated: usize,
    pub total_allocated: usize,
    pub startup_allocated: usize,
    /// The shared replication buffer up to `repl-backlog-size` (all of it without replicas).
    pub repl_backlog: usize,
    /// The replicas' connections, and the part of the shared replication buffer past
    /// `repl-backlog-size` that they keep alive.
    pub clients_slaves: usize,
    /// Every other connection (the master's link among them, as in Redis).
    pub clients_normal: usize,
    pub lua_caches: usize,
    /// Per non-empty database: (id, main table bytes, expires table bytes).
    pub db: Vec<(usize, usize, usize)>,
    pub overhead_total: usize,
    pub total_keys: usize,
    pub bytes_per_key: usize,
    pub dataset: usize,
    pub dataset_perc: f64,
    pub peak_perc: f64,
    pub allocator: AllocatorStats,
    pub rss: usize,
}

impl MemoryOverhead {
    /// Allocator fragmentation: what its heap spans over what is in use.
    pub fn allocator_frag(&self) -> (f64, i64) {
        ratio_and_bytes(self.allocator.active, self.allocator.allocated)
    }

    /// What the allocator holds resident over what its heap spans.
    pub fn allocator_rss(&self) -> (f64, i64) {
        ratio_and_bytes(self.allocator.resident, self.allocator.active)
    }

    /// Process RSS over the allocator's resident memory (code, stacks, the Lua heap...).
    pub fn rss_extra(&self) -> (f64, i64) {
        ratio_and_bytes(self.rss, self.allocator.resident)
    }

    /// Process RSS over used memory (INFO `mem_fragmentation_ratio`).
    pub fn total_frag(&self) -> (f64, i64) {
        ratio_and_bytes(self.rss, self.total_allocated)
    }
}

fn ratio_and_bytes(a: usize, b: usize) -> (f64, i64) {
    let ratio = if b == 0 { 0.0 } else { a as f64 / b as f64 };
    (ratio, a as i64 - b as i64)
}

/// Memory a client holds: its record, its query and reply buffers and its state (Redis:
/// `getClientMemoryUsage`).
pub fn client_memory(c: &Client) -> usize {
    std::mem::size_of::<Client>()
        + c.query_buf_accounted()
        + c.reply.capacity()
        + client_state_memory(c)
}

/// Memory of what a client accumulates by its commands besides its buffers: the MULTI queue
/// and watched keys, its subscriptions and its tracking prefixes. Counted so that a client
/// piling these up is evicted like one piling up replies.
pub fn client_state_memory(c: &Client) -> usize {
    c.multi.mem_usage()
        + c.subscriptions.mem_usage()
        + c.tracking.as_ref().map_or(0, |t| t.mem_usage())
}

/// The replicas' share of memory, which eviction does not count: the shared replication
/// buffer past `repl-backlog-size` and its blocks' overhead (Redis: the replication part of
/// `freeMemoryGetNotCountedMemory`; the backlog itself is counted, it stops growing).
pub fn replica_output_memory(ctx: &Ctx) -> usize {
    let repl = &ctx.srv.propagation.repl;
    let Some(backlog) = &repl.backlog else {
        return 0;
    };
    let blocks = backlog.size() / super::replbuf::BLOCK_BYTES + 1;
    let counted = backlog.size() + blocks * super::replbuf::BLOCK_OVERHEAD;
    backlog.mem().saturating_sub(counted)
}

/// INFO `used_memory`: what the counting allocator holds, minus the empty slots of the
/// keyspace tables (free slots and spare capacity that the next keys fill without allocating;
/// Redis frees a deleted entry at once, `Dict` keeps its slot). Eviction works on the same
/// figure (see `command::evict`).
pub fn used_memory(dbs: &[crate::db::Db]) -> usize {
    let spare: usize = dbs.iter().map(crate::db::Db::spare_table_bytes).sum();
    alloc::used_memory().saturating_sub(spare)
}

/// Computes the breakdown now (Redis: `getMemoryOverheadData`).
pub fn memory_overhead(ctx: &Ctx) -> MemoryOverhead {
    let total = used_memory(ctx.dbs);
    let peak = alloc::peak_memory().max(total);
    let startup = ctx.srv.startup_memory;
    let (repl_backlog, mut clients_slaves) =
        super::replication::buffers_split(&ctx.srv.propagation.repl);
    let mut clients_normal = 0;
    for (_, c) in ctx.clients.iter() {
        if c.replica.attached {
            clients_slaves += client_memory(c);
        } else {
            clients_normal += client_memory(c);
        }
    }
    let lua_caches = ctx.srv.scripts.lua_memory();
    let mut overhead =
        startup + repl_backlog + clients_slaves + clients_normal + ctx.out.capacity();
    let mut db = Vec::new();
    let mut total_keys = 0;
    for d in ctx.dbs.iter() {
        let (main, expires) = (
            d.dict.table_bytes() - d.dict.spare_bytes(),
            d.expires.table_bytes() - d.expires.spare_bytes(),
        );
        overhead += main + expires;
        total_keys += d.len();
        if !d.is_empty() {
            db.push((d.id, main, expires));
        }
    }
    let net = total.saturating_sub(startup);
    let dataset = total.saturating_sub(overhead);
    let allocator = alloc::allocator_stats().unwrap_or_default();
    let rss = alloc::rss_bytes();
    MemoryOverhead {
        peak_allocated: peak,
        total_allocated: total,
        startup_allocated: startup,
        repl_backlog,
        clients_slaves,
        clients_normal,
        lua_caches,
        db,
        overhead_total: overhead,
        total_keys,
        bytes_per_key: net.checked_div(total_keys).unwrap_or(0),
        dataset,
        dataset_perc: if net == 0 {
            0.0
        } else {
            dataset as f64 * 100.0 / net as f64
        },
        peak_perc: total as f64 * 100.0 / peak.max(1) as f64,
        allocator,
        rss,
    }
}

/// MEMORY STATS — the breakdown as a map, with Redis's field names and order.
pub fn memory_stats_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> super::error::CommandResult {
    let mh = memory_overhead(ctx);
    let out = &mut *ctx.out;
    out.map_len(27 + mh.db.len());
    let int = |out: &mut crate::resp::reply::ReplyBuffer, name: &str, v: i64| {
        out.bulk(name.as_bytes());
        out.integer(v);
    };
    int(out, "peak.allocated", mh.peak_allocated as i64);
    int(out, "total.allocated", mh.total_allocated as i64);
    int(out, "startup.allocated", mh.startup_allocated as i64);
    int(out, "replication.backlog", mh.repl_backlog as i64);
    int(out, "clients.slaves", mh.clients_slaves as i64);
    int(out, "clients.normal", mh.clients_normal as i64);
    int(out, "cluster.links", 0);
    int(out, "aof.buffer", 0);
    int(out, "lua.caches", mh.lua_caches as i64);
    int(out, "functions.caches", 0);
    for &(id, main, expires) in &mh.db {
        out.bulk(format!("db.{id}").as_bytes());
        out.map_len(2);
        int(out, "overhead.hashtable.main", main as i64);
        int(out, "overhead.hashtable.expires", expires as i64);
    }
    int(out, "overhead.total", mh.overhead_total as i64);
    int(out, "keys.count", mh.total_keys as i64);
    int(out, "keys.bytes-per-key", mh.bytes_per_key as i64);
    int(out, "dataset.bytes", mh.dataset as i64);
    let float = |out: &mut crate::resp::reply::ReplyBuffer, name: &str, v: f64| {
        out.bulk(name.as_bytes());
        // Redis computes these in C `float`.
        out.double(f64::from(v as f32));
    };
    float(out, "dataset.percentage", mh.dataset_perc);
    float(out, "peak.percentage", mh.peak_perc);
    int(out, "allocator.allocated", mh.allocator.allocated as i64);
    int(out, "allocator.active", mh.allocator.active as i64);
    int(out, "allocator.resident", mh.allocator.resident as i64);
    let pairs = [
        ("allocator-fragmentation", mh.allocator_frag()),
        ("allocator-rss", mh.allocator_rss()),
        ("rss-overhead", mh.rss_extra()),
    ];
    for (name, (ratio, bytes)) in pairs {
        float(out, &format!("{name}.ratio"), ratio);
        int(out, &format!("{name}.bytes"), bytes);
    }
    let (frag, frag_bytes) = mh.total_frag();
    float(out, "fragmentation", frag);
    int(out, "fragmentation.bytes", frag_bytes);
    Ok(())
}

const MB: i64 = 1024 * 1024;

/// MEMORY DOCTOR — Redis's heuristics over the breakdown, in its words.
pub fn memory_doctor_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> super::error::CommandResult {
    let mh = memory_overhead(ctx);
    let mut findings: Vec<&str> = Vec::new();
    let empty = mh.total_allocated < 5 * MB as usize;
    if !empty {
        if mh.peak_allocated as f64 / mh.total_allocated as f64 > 1.5 {
            findings.push(" * Peak memory: In the past this instance used more than 150% the memory that is currently using. The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the Redis instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.\n\n");
        }
        let over = |(ratio, bytes): (f64, i64), limit: f64| ratio > limit && bytes > 10 * MB;
        if over(mh.total_frag(), 1.4) {
            findings.push(" * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 (this means that the Resident Set Size of the Redis process is much larger than the sum of the logical allocations Redis performed). This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. If the problem is a large peak memory, then there is no issue. Otherwise, make sure you are using the Jemalloc allocator and not the default libc malloc. Note: The currently used allocator is \"libc\".\n\n");
        }
        if over(mh.allocator_frag(), 1.1) {
            findings.push(" * High allocator fragmentation: This instance has an allocator external fragmentation greater than 1.1. This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. You can try enabling 'activedefrag' config option.\n\n");
        }
        if over(mh.allocator_rss(), 1.1) {
            findings.push(" * High allocator RSS overhead: This instance has an RSS memory overhead is greater than 1.1 (this means that the Resident Set Size of the allocator is much larger than the sum what the allocator actually holds). This problem is usually due to a large peak memory (check if there is a peak memory entry above in the report), you can try the MEMORY PURGE command to reclaim it.\n\n");
        }
        if over(mh.rss_extra(), 1.1) {
            findings.push(" * High process RSS overhead: This instance has non-allocator RSS memory overhead is greater than 1.1 (this means that the Resident Set Size of the Redis process is much larger than the RSS the allocator holds). This problem may be due to Lua scripts or Modules.\n\n");
        }
        if mh.clients_normal / ctx.clients.len().max(1) > 200 * 1024 {
            findings.push(" * Big client buffers: The clients output buffers in this instance are greater than 200K per client (on average). This may result from different causes, like Pub/Sub clients subscribed to channels bot not receiving data fast enough, so that data piles on the Redis instance output buffer, or clients sending commands with large replies or very large sequences of commands in the same pipeline. Please use the CLIENT LIST command in order to investigate the issue if it causes problems in your instance, or to understand better why certain clients are using a big amount of memory.\n\n");
        }
        if ctx.srv.scripts.cached_scripts() > 1000 {
            findings.push(" * Many scripts: There seem to be many cached scripts in this instance (more than 1000). This may be because scripts are generated and `EVAL`ed, instead of being parameterized (with KEYS and ARGV), `SCRIPT LOAD`ed and `EVALSHA`ed. Unless `SCRIPT FLUSH` is called periodically, the scripts' caches may end up consuming most of your memory.\n\n");
        }
    }
    let text = if empty {
        "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n".to_string()
    } else if findings.is_empty() {
        "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n".to_string()
    } else {
        let mut s =
            "Sam, I detected a few issues in this Redis instance memory implants:\n\n".to_string();
        for f in findings {
            s.push_str(f);
        }
        s.push_str("I'm here to keep you safe, Sam. I want to help you.\n");
        s
    };
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

/// MEMORY MALLOC-STATS — the allocator's own report: jemalloc's `malloc_stats_print` (as
/// Redis), glibc's `mallinfo2` counters or mimalloc's statistics, by the build's allocator.
pub fn memory_malloc_stats_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> super::error::CommandResult {
    match alloc::malloc_stats_report() {
        Some(report) => ctx.out.verbatim(report.as_bytes()),
        None => ctx
            .out
            .verbatim(b"Stats not supported for the current allocator"),
    }
    Ok(())
}

/// MEMORY PURGE — OK, after giving free heap pages back to the system (jemalloc: purge every
/// arena; glibc: `malloc_trim`; mimalloc: `mi_collect`).
pub fn memory_purge_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> super::error::CommandResult {
    alloc::purge();
    ctx.out.ok();
    Ok(())
}
