//! INFO sections (Redis: `server.c`, `genRedisInfoString`).
//!
//! INFO's text is a list of sections, each a `# Title` line followed by `field:value` lines,
//! every line ending in CRLF and sections separated by one empty line. Monitoring tools parse
//! it by field name, so the names, order and number formats are Redis 7.0's. Fields describing
//! machinery ferrodis does not have (forks, AOF, replication backlog, jemalloc) keep their names
//! with the value Redis shows when that machinery is idle, so parsers find every field they know.
//!
//! Which sections a request selects (Redis: `genInfoSectionDict`):
//!
//! ```text
//!   INFO                 -> the default sections
//!   INFO default         -> server clients memory persistence stats replication cpu
//!                           modules errorstats cluster keyspace
//!   INFO all             -> default + commandstats latencystats
//!   INFO everything      -> all (ferrodis has no modules to add)
//!   INFO clients memory  -> just those (names are case-insensitive; unknown ones are ignored)
//! ```

use super::state::{FERRODIS_VERSION, REDIS_VERSION};
use super::Ctx;
use std::fmt::Write as _;

/// The sections INFO shows by default, in output order.
const DEFAULT_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "errorstats",
    "cluster",
    "keyspace",
];

/// Every section, in output order.
const ALL_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "commandstats",
    "errorstats",
    "latencystats",
    "cluster",
    "keyspace",
];

/// Resolves INFO's arguments to the sections to print, in Redis's output order.
pub fn select_sections(args: &[&[u8]]) -> Vec<&'static str> {
    let mut wanted: Vec<&'static str> = Vec::new();
    let mut add = |s: &'static str| {
        if !wanted.contains(&s) {
            wanted.push(s);
        }
    };
    if args.is_empty() {
        DEFAULT_SECTIONS.iter().for_each(|s| add(s));
    }
    for arg in args {
        let arg = arg.to_ascii_lowercase();
        match arg.as_slice() {
            b"default" => DEFAULT_SECTIONS.iter().for_each(|s| add(s)),
            b"all" | b"everything" => ALL_SECTIONS.iter().for_each(|s| add(s)),
            name => {
                if let Some(s) = ALL_SECTIONS.iter().find(|s| s.as_bytes() == name) {
                    add(s);
                }
            }
        }
    }
    ALL_SECTIONS
        .iter()
        .copied()
        .filter(|s| wanted.contains(s))
        .collect()
}

/// The INFO text for the given arguments.
pub fn gen_info_string(ctx: &Ctx, args: &[&[u8]]) -> String {
    let mut out = String::new();
    for (i, section) in select_sections(args).into_iter().enumerate() {
        if i > 0 {
            out.push_str("\r\n");
        }
        match section {
            "server" => server_section(ctx, &mut out),
            "clients" => clients_section(ctx, &mut out),
            "memory" => memory_section(ctx, &mut out),
            "persistence" => persistence_section(ctx, &mut out),
            "stats" => stats_section(ctx, &mut out),
            "replication" => replication_section(ctx, &mut out),
            "cpu" => cpu_section(&mut out),
            "modules" => out.push_str("# Modules\r\n"),
            "commandstats" => commandstats_section(ctx, &mut out),
            "errorstats" => errorstats_section(ctx, &mut out),
            "latencystats" => latencystats_section(ctx, &mut out),
            "cluster" => out.push_str("# Cluster\r\ncluster_enabled:0\r\n"),
            "keyspace" => keyspace_section(ctx, &mut out),
            _ => {}
        }
    }
    out
}

/// Appends `name:value\r\n` lines.
macro_rules! fields {
    ($out:expr, $( $name:literal => $value:expr ),* $(,)?) => {
        $( let _ = write!($out, concat!($name, ":{}\r\n"), $value); )*
    };
}

/// Bytes in Redis's human form: `512B`, `1.16M` (Redis: `bytesToHuman`).
pub fn bytes_to_human(n: u64) -> String {
    const K: f64 = 1024.0;
    let f = n as f64;
    if n < 1024 {
        format!("{n}B")
    } else if f < K * K {
        format!("{:.2}K", f / K)
    } else if f < K * K * K {
        format!("{:.2}M", f / (K * K))
    } else if f < K * K * K * K {
        format!("{:.2}G", f / (K * K * K))
    } else if f < K * K * K * K * K {
        format!("{:.2}T", f / (K * K * K * K))
    } else {
        format!("{:.2}P", f / (K * K * K * K * K))
    }
}

/// Redis's 24-bit LRU clock: seconds, wrapping (Redis: `getLRUClock`).
fn lru_clock(now_ms: i64) -> i64 {
    (now_ms / 1000) & ((1 << 24) - 1)
}

fn os_name() -> String {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let os = match std::env::consts::OS {
        "linux" => "Linux",
        "macos" => "Darwin",
        other => other,
    };
    format!("{os} {} {}", release.trim(), std::env::consts::ARCH)
}

fn server_section(ctx: &Ctx, out: &mut String) {
    let uptime = ctx.srv.started_at.elapsed().as_secs();
    let now_us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or(0);
    out.push_str("# Server\r\n");
    fields!(out,
        "redis_version" => REDIS_VERSION,
        "ferrodis_version" => FERRODIS_VERSION,
        "redis_git_sha1" => "00000000",
        "redis_git_dirty" => 0,
        "redis_build_id" => "0",
        "redis_mode" => "standalone",
        "os" => os_name(),
        "arch_bits" => usize::BITS,
        "monotonic_clock" => "POSIX clock_gettime",
        "multiplexing_api" => "epoll",
        "atomicvar_api" => "c11-builtin",
        "gcc_version" => "0.0.0",
        "process_id" => std::process::id(),
        "process_supervised" => "no",
        "run_id" => ctx.srv.run_id,
        "tcp_port" => ctx.srv.tcp_port,
        "server_time_usec" => now_us,
        "uptime_in_seconds" => uptime,
        "uptime_in_days" => uptime / 86400,
        "hz" => ctx.srv.config.hz,
        "configured_hz" => ctx.srv.config.hz,
        "lru_clock" => lru_clock(ctx.now),
        "executable" => ctx.srv.executable,
        "config_file" => ctx.srv.config_file,
        "io_threads_active" => 0,
    );
    if let Some(ms) = super::shutdown::remaining_ms(ctx) {
        fields!(out, "shutdown_in_milliseconds" => ms);
    }
}

fn clients_section(ctx: &Ctx, out: &mut String) {
    let blocked = ctx
        .clients
        .iter()
        .filter(|(_, c)| c.blocked.is_some())
        .count();
    // Clients held by CLIENT PAUSE count as blocked, as in Redis (`BLOCKED_POSTPONE`).
    let postponed = ctx.srv.pause.postponed.len();
    let max_input = ctx
        .clients
        .iter()
        .map(|(_, c)| c.query_buf.capacity())
        .max()
        .unwrap_or(0);
    let max_output = ctx
        .clients
        .iter()
        .map(|(_, c)| c.reply.pending_len())
        .max()
        .unwrap_or(0)
        .max(ctx.out.pending_len());
    out.push_str("# Clients\r\n");
    fields!(out,
        "connected_clients" => ctx.clients.len() - ctx.srv.propagation.repl.replica_count(),
        "cluster_connections" => 0,
        "maxclients" => ctx.srv.config.maxclients,
        "client_recent_max_input_buffer" => max_input,
        "client_recent_max_output_buffer" => max_output,
        "blocked_clients" => blocked + postponed,
        "tracking_clients" => ctx.srv.tracking.clients,
        "clients_in_timeout_table" => blocked,
    );
}

fn memory_section(ctx: &Ctx, out: &mut String) {
    let mh = super::memory::memory_overhead(ctx);
    let used = mh.total_allocated as u64;
    let peak = mh.peak_allocated as u64;
    let rss = mh.rss as u64;
    let total_system = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0);
    let maxmemory = ctx.srv.config.maxmemory;
    // One Lua state serves EVAL scripts and FUNCTION libraries: it is reported as EVAL's.
    let lua = mh.lua_caches as u64;
    let (libraries, functions) = ctx.srv.scripts.function_counts();
    let (alloc_frag, alloc_frag_bytes) = mh.allocator_frag();
    let (alloc_rss, alloc_rss_bytes) = mh.allocator_rss();
    let (rss_extra, rss_extra_bytes) = mh.rss_extra();
    let (frag, frag_bytes) = mh.total_frag();
    out.push_str("# Memory\r\n");
    fields!(out,
        "used_memory" => used,
        "used_memory_human" => bytes_to_human(used),
        "used_memory_rss" => rss,
        "used_memory_rss_human" => bytes_to_human(rss),
        "used_memory_peak" => peak,
        "used_memory_peak_human" => bytes_to_human(peak),
        "used_memory_peak_perc" => format!("{:.2}%", mh.peak_perc),
        "used_memory_overhead" => mh.overhead_total,
        "used_memory_startup" => mh.startup_allocated,
        "used_memory_dataset" => mh.dataset,
        "used_memory_dataset_perc" => format!("{:.2}%", mh.dataset_perc),
        "allocator_allocated" => mh.allocator.allocated,
        "allocator_active" => mh.allocator.active,
        "allocator_resident" => mh.allocator.resident,
        "total_system_memory" => total_system,
        "total_system_memory_human" => bytes_to_human(total_system),
        "used_memory_lua" => lua,
        "used_memory_vm_eval" => lua,
        "used_memory_lua_human" => bytes_to_human(lua),
        "used_memory_scripts_eval" => 0,
        "number_of_cached_scripts" => ctx.srv.scripts.cached_scripts(),
        "number_of_functions" => functions,
        "number_of_libraries" => libraries,
        "used_memory_vm_functions" => 0,
        "used_memory_vm_total" => lua,
        "used_memory_vm_total_human" => bytes_to_human(lua),
        "used_memory_functions" => 0,
        "used_memory_scripts" => 0,
        "used_memory_scripts_human" => bytes_to_human(0),
        "maxmemory" => maxmemory,
        "maxmemory_human" => bytes_to_human(maxmemory),
        "maxmemory_policy" => ctx.srv.config.maxmemory_policy,
        "allocator_frag_ratio" => format!("{alloc_frag:.2}"),
        "allocator_frag_bytes" => alloc_frag_bytes,
        "allocator_rss_ratio" => format!("{alloc_rss:.2}"),
        "allocator_rss_bytes" => alloc_rss_bytes,
        "rss_overhead_ratio" => format!("{rss_extra:.2}"),
        "rss_overhead_bytes" => rss_extra_bytes,
        "mem_fragmentation_ratio" => format!("{frag:.2}"),
        "mem_fragmentation_bytes" => frag_bytes,
        "mem_not_counted_for_evict" => super::evict::not_counted_for_evict(ctx),
        "mem_replication_backlog" => super::replication::buffers_split(&ctx.srv.propagation.repl).0,
        "mem_total_replication_buffers" => super::replication::buffers_memory(&ctx.srv.propagation.repl),
        "mem_clients_slaves" => mh.clients_slaves,
        "mem_clients_normal" => mh.clients_normal,
        "mem_cluster_links" => 0,
        "mem_aof_buffer" => ctx.srv.aof.buf.capacity(),
        "mem_allocator" => crate::alloc::allocator_name(),
        "active_defrag_running" => 0,
        "lazyfree_pending_objects" => ctx.srv.lazyfree.pending_objects(),
        "lazyfreed_objects" => ctx.srv.lazyfree.freed_objects(),
    );
}

fn persistence_section(ctx: &Ctx, out: &mut String) {
    let rdb = &ctx.srv.rdb;
    let aof = &ctx.srv.aof;
    let aof_on = aof.status != super::aof::AofStatus::Off;
    let secs_or_minus_one = |secs: Option<i64>| secs.unwrap_or(-1);
    out.push_str("# Persistence\r\n");
    fields!(out,
        "loading" => u8::from(ctx.srv.loading && !ctx.srv.async_loading),
        "async_loading" => u8::from(ctx.srv.async_loading),
        "current_cow_peak" => 0,
        "current_cow_size" => 0,
        "current_cow_size_age" => 0,
        "current_fork_perc" => "0.00",
        "current_save_keys_processed" => 0,
        "current_save_keys_total" => 0,
        "rdb_changes_since_last_save" => ctx.srv.dirty,
        "rdb_bgsave_in_progress" => u8::from(rdb.child.is_some()),
        "rdb_last_save_time" => rdb.last_save_secs(ctx.srv.started_ms),
        "rdb_last_bgsave_status" => if rdb.last_bgsave_failed { "err" } else { "ok" },
        "rdb_last_bgsave_time_sec" => secs_or_minus_one(rdb.last_bgsave_secs),
        "rdb_current_bgsave_time_sec" =>
            secs_or_minus_one(rdb.child.as_ref().map(|c| (ctx.now - c.started_ms) / 1000)),
        "rdb_saves" => ctx.srv.rdb.saves,
        "rdb_last_cow_size" => 0,
        "rdb_last_load_keys_expired" => ctx.srv.rdb.last_load_keys_expired,
        "rdb_last_load_keys_loaded" => ctx.srv.rdb.last_load_keys_loaded,
        "aof_enabled" => u8::from(aof_on),
        "aof_rewrite_in_progress" => u8::from(aof.child.is_some()),
        "aof_rewrite_scheduled" => u8::from(aof.rewrite_scheduled),
        "aof_last_rewrite_time_sec" => secs_or_minus_one(aof.last_rewrite_secs),
        "aof_current_rewrite_time_sec" =>
            secs_or_minus_one(aof.child.as_ref().map(|c| (ctx.now - c.started_ms) / 1000)),
        "aof_last_bgrewrite_status" => if aof.last_bgrewrite_failed { "err" } else { "ok" },
        "aof_rewrites" => aof.rewrites,
        "aof_rewrites_consecutive_failures" => aof.consecutive_failures,
        "aof_last_write_status" => if aof.last_write_failed { "err" } else { "ok" },
        "aof_last_cow_size" => 0,
        "module_fork_in_progress" => 0,
        "module_fork_last_cow_size" => 0,
    );
    if aof_on {
        fields!(out,
            "aof_current_size" => aof.current_size,
            "aof_base_size" => aof.base_size,
            "aof_pending_rewrite" => u8::from(aof.rewrite_scheduled),
            "aof_buffer_length" => aof.buf.len(),
            "aof_pending_bio_fsync" => aof.pending_fsyncs(),
            "aof_delayed_fsync" => aof.delayed_fsync,
        );
    }
}

fn stats_section(ctx: &Ctx, out: &mut String) {
    let st = &ctx.srv.stats;
    let (mut hits, mut misses, mut expired) = (0, 0, 0);
    for db in ctx.dbs.iter() {
        hits += db.stats.keyspace_hits;
        misses += db.stats.keyspace_misses;
        expired += db.stats.expired_keys;
    }
    out.push_str("# Stats\r\n");
    fields!(out,
        "total_connections_received" => st.total_connections_received,
        "total_commands_processed" => st.total_commands_processed,
        "instantaneous_ops_per_sec" => st.instantaneous_ops_per_sec(),
        "total_net_input_bytes" => st.total_net_input_bytes,
        "total_net_output_bytes" => st.total_net_output_bytes,
        "total_net_repl_input_bytes" => st.total_net_repl_input_bytes,
        "total_net_repl_output_bytes" => st.total_net_repl_output_bytes,
        "instantaneous_input_kbps" => "0.00",
        "instantaneous_output_kbps" => "0.00",
        "instantaneous_input_repl_kbps" => "0.00",
        "instantaneous_output_repl_kbps" => "0.00",
        "rejected_connections" => st.rejected_connections,
        "sync_full" => ctx.srv.propagation.repl.sync_full,
        "sync_partial_ok" => ctx.srv.propagation.repl.sync_partial_ok,
        "sync_partial_err" => ctx.srv.propagation.repl.sync_partial_err,
        "expired_keys" => expired,
        "expired_stale_perc" => format!("{:.2}", ctx.srv.expire_cycle.stale_perc * 100.0),
        "expired_time_cap_reached_count" => ctx.srv.expire_cycle.time_cap_reached_count,
        "expire_cycle_cpu_milliseconds" => ctx.srv.expire_cycle.time_used.as_millis(),
        "evicted_keys" => ctx.srv.evict.evicted_keys,
        "evicted_clients" => ctx.srv.evict.evicted_clients,
        "total_eviction_exceeded_time" => ctx.srv.evict.total_exceeded_ms(),
        "current_eviction_exceeded_time" => ctx.srv.evict.current_exceeded_ms(),
        "keyspace_hits" => hits,
        "keyspace_misses" => misses,
        "pubsub_channels" => ctx.srv.pubsub.channel_count(),
        "pubsub_patterns" => ctx.srv.pubsub.pattern_count(),
        "pubsubshard_channels" => ctx.srv.pubsub.shard_channel_count(),
        "latest_fork_usec" => ctx.srv.rdb.latest_fork_usec,
        "total_forks" => ctx.srv.rdb.total_forks,
        "migrate_cached_sockets" => ctx.srv.migrate_sockets.len(),
        "slave_expires_tracked_keys" => 0,
        "active_defrag_hits" => 0,
        "active_defrag_misses" => 0,
        "active_defrag_key_hits" => 0,
        "active_defrag_key_misses" => 0,
        "total_active_defrag_time" => 0,
        "current_active_defrag_time" => 0,
        "tracking_total_keys" => ctx.srv.tracking.total_keys(),
        "tracking_total_items" => ctx.srv.tracking.total_items(),
        "tracking_total_prefixes" => ctx.srv.tracking.total_prefixes(),
        "unexpected_error_replies" => st.unexpected_error_replies,
        "total_error_replies" => st.total_error_replies,
        "dump_payload_sanitizations" => 0,
        "total_reads_processed" => st.total_reads_processed,
        "total_writes_processed" => st.total_writes_processed,
        "io_threaded_reads_processed" => 0,
        "io_threaded_writes_processed" => 0,
        "client_query_buffer_limit_disconnections" => st.client_query_buffer_limit_disconnections,
        "client_output_buffer_limit_disconnections" => st.client_output_buffer_limit_disconnections,
        "reply_buffer_shrinks" => 0,
        "reply_buffer_expands" => 0,
    );
}

fn replication_section(ctx: &Ctx, out: &mut String) {
    let repl = &ctx.srv.propagation.repl;
    let (first_byte, histlen) = super::replication::backlog_span(repl);
    let replica = ctx.srv.master.is_replica();
    out.push_str("# Replication\r\n");
    fields!(out, "role" => if replica { "slave" } else { "master" },);
    for (name, value) in super::replica::info_fields(ctx) {
        out.push_str(name);
        out.push(':');
        out.push_str(&value);
        out.push_str("\r\n");
    }
    fields!(out, "connected_slaves" => repl.replica_count(),);
    for line in super::replication::info_replicas(ctx, ctx.now) {
        out.push_str(&line);
        out.push_str("\r\n");
    }
    let backlog_size = repl.backlog.as_ref().map_or_else(
        || super::replication::config_i64(ctx, "repl-backlog-size", 1 << 20),
        |b| b.size() as i64,
    );
    fields!(out,
        "master_failover_state" => ctx.srv.failover.state.as_str(),
        "master_replid" => repl.replid,
        "master_replid2" => repl.replid2,
        "master_repl_offset" => repl.master_repl_offset,
        "second_repl_offset" => repl.second_repl_offset,
        "repl_backlog_active" => i32::from(repl.active()),
        "repl_backlog_size" => backlog_size,
        "repl_backlog_first_byte_offset" => first_byte,
        "repl_backlog_histlen" => histlen,
    );
}

/// User and system CPU seconds of this process, from /proc (Redis uses getrusage).
fn cpu_times() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0) as f64
            / 100.0
    };
    (ticks(11), ticks(12))
}

fn cpu_section(out: &mut String) {
    let (user, sys) = cpu_times();
    out.push_str("# CPU\r\n");
    fields!(out,
        "used_cpu_sys" => format!("{sys:.6}"),
        "used_cpu_user" => format!("{user:.6}"),
        "used_cpu_sys_children" => "0.000000",
        "used_cpu_user_children" => "0.000000",
        "used_cpu_sys_main_thread" => format!("{sys:.6}"),
        "used_cpu_user_main_thread" => format!("{user:.6}"),
    );
}

fn commandstats_section(ctx: &Ctx, out: &mut String) {
    out.push_str("# Commandstats\r\n");
    let mut stats: Vec<_> = ctx.srv.stats.commands.values().collect();
    stats.sort_by_key(|s| s.name);
    for s in stats {
        let per_call = if s.calls == 0 {
            0.0
        } else {
            s.usec as f64 / s.calls as f64
        };
        let _ = write!(
            out,
            "cmdstat_{}:calls={},usec={},usec_per_call={:.2},rejected_calls={},failed_calls={}\r\n",
            s.name, s.calls, s.usec, per_call, s.rejected_calls, s.failed_calls
        );
    }
}

fn errorstats_section(ctx: &Ctx, out: &mut String) {
    out.push_str("# Errorstats\r\n");
    let mut codes: Vec<_> = ctx.srv.stats.error_codes.iter().collect();
    codes.sort();
    for (code, count) in codes {
        let _ = write!(out, "errorstat_{code}:count={count}\r\n");
    }
}

/// `latency_percentiles_usec_<command>:p50=1.003,p99=...` for every command with a latency
/// histogram, at the `latency-tracking-info-percentiles` (Redis:
/// `genRedisInfoStringLatencyStats`).
fn latencystats_section(ctx: &Ctx, out: &mut String) {
    out.push_str("# Latencystats\r\n");
    if !ctx.srv.config.latency_tracking {
        return;
    }
    let mut stats: Vec<_> = ctx.srv.stats.commands.values().collect();
    stats.sort_by_key(|s| s.name);
    let percentiles = &ctx.srv.config.latency_tracking_info_percentiles;
    for s in stats {
        let Some(histogram) = &s.latency_histogram else {
            continue;
        };
        let _ = write!(out, "latency_percentiles_usec_{}:", s.name);
        for (i, &p) in percentiles.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let micros = histogram.value_at_percentile(p) as f64 / 1000.0;
            let label = crate::config::trim_double(&format!("{p:.6}"));
            let _ = write!(out, "p{label}={micros:.3}");
        }
        out.push_str("\r\n");
    }
}

fn keyspace_section(ctx: &Ctx, out: &mut String) {
    out.push_str("# Keyspace\r\n");
    for (i, db) in ctx.dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        let _ = write!(
            out,
            "db{i}:keys={},expires={},avg_ttl={}\r\n",
            db.len(),
            db.expires.len(),
            db.stats.avg_ttl
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_follow_redis_selection_rules() {
        assert_eq!(select_sections(&[]), DEFAULT_SECTIONS);
        assert_eq!(select_sections(&[b"DEFAULT"]), DEFAULT_SECTIONS);
        assert_eq!(select_sections(&[b"all"]), ALL_SECTIONS);
        assert_eq!(
            select_sections(&[b"keyspace", b"Clients", b"nosuch"]),
            ["clients", "keyspace"]
        );
        assert!(select_sections(&[b"nosuch"]).is_empty());
    }

    #[test]
    fn human_bytes_match_redis() {
        assert_eq!(bytes_to_human(1023), "1023B");
        assert_eq!(bytes_to_human(1024), "1.00K");
        assert_eq!(bytes_to_human(1215584), "1.16M");
        assert_eq!(bytes_to_human(25276059648), "23.54G");
    }
}
