//! When and where the dataset is saved to and loaded from an RDB file: loading at startup,
//! `SAVE`, `BGSAVE` and the save points (`save <seconds> <changes>`), `DEBUG RELOAD`, the
//! final save of `SHUTDOWN` and of a SIGTERM when save points are configured, and the
//! `-MISCONF` refusal after a failed background save. Redis: `rdbSave` / `rdbSaveBackground` /
//! `rdbLoad` / `saveCommand` / `bgsaveCommand` / `backgroundSaveDoneHandlerDisk` in `rdb.c`,
//! the save-point check of `serverCron`, `loadDataFromDisk`, `prepareForShutdown` and
//! `writeCommandsDeniedByDiskError` in `server.c`, `DEBUG RELOAD` in `debug.c`.
//!
//! The file format itself lives in [`crate::persist::rdb`]; this module only picks the path
//! (`dir` + `dbfilename`), the options (`rdbcompression`, `rdbchecksum`, the encoding limits),
//! logs what Redis logs, and keeps the state LASTSAVE and INFO report.
//!
//! Every save is crash-safe as Redis's is: the file is written as `temp-<pid>.rdb` in `dir`,
//! fsynced, then renamed over the old one, so a crash mid-save leaves the previous file whole.
//!
//! # BGSAVE: a forked child, as in Redis
//!
//! ```text
//!   BGSAVE / save point ── fork ──> child: write temp-<child pid>.rdb, fsync, rename, _exit
//!        │ (the loop goes on serving)                                          │
//!   server_cron ── check_child_done: waitpid(WNOHANG) <────────────────────────┘
//!        └── success: dirty -= dirty at fork, LASTSAVE = now; failure: -MISCONF for writes
//! ```
//!
//! The child sees the dataset exactly as it was at the fork (the kernel's copy-on-write
//! keeps the parent's later writes out of it), so the snapshot is consistent without any
//! cooperation from the loop. The cost is memory: each page the parent writes during the save
//! is copied once. `ARCHITECTURE.md` ("Persistence") weighs this against a forkless snapshot.

use super::error::{CommandError, CommandResult};
use super::state::ServerState;
use super::table::{flags::*, CommandSpec};
use super::Ctx;
use crate::config::Config;
use crate::db::{Db, Ms};
use crate::persist::rdb::{self, Limits, LoadOptions, SaveOptions};
use crate::types::{hash, zset};
use crate::util::process::{self, ChildExit};
use log::{error, info, warn};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "save",
        save_command,
        1,
        ADMIN | NOSCRIPT | NO_ASYNC_LOADING | NO_MULTI,
        "server",
    )
    .doc("Synchronously save the dataset to disk", "1.0.0"),
    CommandSpec::new(
        "bgsave",
        bgsave_command,
        -1,
        ADMIN | NOSCRIPT | NO_ASYNC_LOADING,
        "server",
    )
    .doc("Asynchronously save the dataset to disk", "1.0.0"),
];

/// After a failed background save, how long before a save point may try again (Redis:
/// `CONFIG_BGSAVE_RETRY_DELAY`).
const BGSAVE_RETRY_DELAY_MS: Ms = 5_000;

/// The RDB side of the server: last save and load, the BGSAVE child, for LASTSAVE, INFO
/// persistence and the save points.
#[derive(Default, Debug)]
pub struct RdbState {
    /// Unix ms of the last successful save (None: none yet, Redis then reports the start).
    pub last_save_ms: Option<Ms>,
    /// Saves started since start, foreground and background (`rdb_saves`).
    pub saves: u64,
    pub last_load_keys_loaded: u64,
    pub last_load_keys_expired: u64,
    /// The BGSAVE child at work, if any.
    pub child: Option<SaveChild>,
    /// A BGSAVE waits for the running child (`BGSAVE SCHEDULE`, or BGSAVE inside EXEC).
    pub bgsave_scheduled: bool,
    /// The last background save failed (`rdb_last_bgsave_status:err`; with save points and
    /// `stop-writes-on-bgsave-error`, writes are refused with -MISCONF until one succeeds).
    pub last_bgsave_failed: bool,
    /// Unix ms the last background save was started (`lastbgsave_try`).
    last_bgsave_try_ms: Ms,
    /// Duration of the last background save (`rdb_last_bgsave_time_sec`).
    pub last_bgsave_secs: Option<Ms>,
    /// fork() calls and how long the last one took (`total_forks`, `latest_fork_usec`).
    pub total_forks: u64,
    pub latest_fork_usec: u64,
}

/// Where a snapshot child writes (Redis: `rdb_child_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveTarget {
    /// The RDB file (BGSAVE, a save point, a disk-based replica sync).
    Disk,
    /// A pipe the loop forwards to replicas (diskless sync, `super::fullsync`).
    Replicas,
}

/// A forked child writing a snapshot.
#[derive(Debug)]
pub struct SaveChild {
    pub pid: i32,
    /// Where the snapshot goes: the RDB file, or the replicas (diskless sync).
    pub target: SaveTarget,
    /// Unix ms it was forked (`rdb_current_bgsave_time_sec`).
    pub started_ms: Ms,
    /// `dirty` at the fork: the changes the snapshot holds, subtracted when it succeeds.
    dirty_at_fork: u64,
}

impl RdbState {
    /// LASTSAVE's answer.
    pub fn last_save_secs(&self, started_ms: Ms) -> Ms {
        self.last_save_ms.unwrap_or(started_ms) / 1000
    }
}

/// `dbfilename`, relative to the working directory, which *is* `dir`: setting `dir` changes
/// directory, as in Redis (joining the two would apply a relative `dir` twice).
pub fn rdb_path(config: &Config) -> PathBuf {
    PathBuf::from(&config.dbfilename)
}

/// The encoding limits a loaded value is rebuilt under (the `*-max-listpack-*` settings), for
/// RDB loading and RESTORE.
pub fn encoding_limits(config: &Config) -> Limits {
    Limits {
        list_fill: config.list_max_listpack_size,
        hash: hash::Limits {
            max_entries: config.hash_max_listpack_entries,
            max_value: config.hash_max_listpack_value,
        },
        set_max_intset: config.set_max_intset_entries,
        zset: zset::Limits {
            max_entries: config.zset_max_listpack_entries,
            max_value: config.zset_max_listpack_value,
        },
    }
}

/// How to write an RDB image now under `config` (a file, or a replica's full sync payload),
/// with the function libraries `srv` has loaded.
pub fn save_options(srv: &ServerState, now: Ms) -> SaveOptions {
    let config = &srv.config;
    SaveOptions {
        compression: config.rdbcompression,
        checksum: config.rdbchecksum,
        now_ms: now,
        used_mem: crate::alloc::used_memory() as u64,
        save_idle: config.maxmemory_policy.contains("lru"),
        key_save_delay_us: config.rdb_key_save_delay,
        aof_base: false,
        repl: super::replication::rdb_save_info(srv),
        functions: srv.scripts.library_codes(),
    }
}

/// Writes the dataset to `dir/dbfilename` through a temp file (Redis: `rdbSave`).
pub fn write_rdb_file(dbs: &[Db], config: &Config, opts: &SaveOptions) -> io::Result<()> {
    // Relative to the working directory, which is `dir` (see [`rdb_path`]).
    let dir = Path::new(".");
    let temp = PathBuf::from(format!("temp-{}.rdb", std::process::id()));
    let written = std::fs::File::create(&temp)
        .map_err(|e| {
            warn!(
                "Failed opening the temp RDB file {} (in server root dir {}) for saving: {e}",
                temp.display(),
                std::env::current_dir().unwrap_or_default().display()
            );
            e
        })
        .and_then(|file| {
            let mut out = io::BufWriter::with_capacity(1 << 16, file);
            rdb::save(dbs, opts, &mut out)?;
            out.flush()?;
            let file = out.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
            std::fs::rename(&temp, rdb_path(config))?;
            // Make the rename itself durable (Redis: `fsyncFileDir`).
            std::fs::File::open(dir).and_then(|d| d.sync_all())
        });
    match &written {
        Ok(()) => info!("DB saved on disk"),
        Err(e) => {
            warn!("Write error saving DB on disk: {e}");
            let _ = std::fs::remove_file(&temp);
        }
    }
    written
}

/// A save that counts: on success the change counter restarts and LASTSAVE moves.
pub fn save(dbs: &[Db], srv: &mut ServerState, now: Ms) -> io::Result<()> {
    write_rdb_file(dbs, &srv.config, &save_options(srv, now))?;
    srv.dirty = 0;
    srv.rdb.last_save_ms = Some(now);
    srv.rdb.saves += 1;
    Ok(())
}

/// Logs an AUX field of an image being loaded, as Redis does for the ones it names
/// (Redis: the `RDB_OPCODE_AUX` branch of `rdbLoadRioWithLoadingCtx`).
pub fn log_aux_field(name: &[u8], value: &[u8], now: Ms) {
    let text = || String::from_utf8_lossy(value);
    match name {
        b"redis-ver" => info!("Loading RDB produced by version {}", text()),
        b"ctime" => {
            if let Some(ctime) = crate::util::parse_i64(value) {
                info!("RDB age {} seconds", (now / 1000 - ctime).max(0));
            }
        }
        b"used-mem" => {
            if let Some(mem) = crate::util::parse_i64(value) {
                info!(
                    "RDB memory usage when created {:.2} Mb",
                    mem as f64 / (1024.0 * 1024.0)
                );
            }
        }
        _ => {}
    }
}

/// The end of a load, in Redis's words: the checksum not checked, the empty keys skipped,
/// the counts (Redis: the end of `rdbLoadRioWithLoadingCtx`).
pub fn log_load_done(loaded: &rdb::Loaded) {
    if loaded.checksum == rdb::Checksum::NotComputed {
        warn!("RDB file was saved with checksum disabled: no check performed.");
    }
    for key in &loaded.empty_keys {
        info!(
            "rdbLoadObject skipping empty key: {}",
            String::from_utf8_lossy(key)
        );
    }
    if loaded.empty_skipped > 0 {
        info!(
            "Done loading RDB, keys loaded: {}, keys expired: {}, empty keys skipped: {}.",
            loaded.keys_loaded, loaded.expired_skipped, loaded.empty_skipped
        );
    } else {
        info!(
            "Done loading RDB, keys loaded: {}, keys expired: {}.",
            loaded.keys_loaded, loaded.expired_skipped
        );
    }
}

/// Loads `dir/dbfilename` into `dbs`, replacing their contents, and logs as Redis does.
/// `Ok(false)` when there is no file; `Err` (already logged) when the file is unreadable or
/// bad, which stops startup as in Redis.
///
/// While it loads, clients are served every `loading-process-events-interval-bytes` (2 MB) of
/// file: they get `-LOADING` for all but the commands flagged `loading` (INFO, CONFIG GET...),
/// and INFO shows `loading:1` (Redis: `rdbLoad` with `rdbLoadProgressCallback`). The file is
/// read into fresh databases and swapped in at the end, so nothing served meanwhile can see a
/// half-loaded dataset. `key-load-delay` (microseconds per key) slows a load down for tests.
///
/// `at_startup`: the load continues the replication history the file was saved with (see
/// `replication::restore_from_rdb`); DEBUG RELOAD's does not, as in Redis.
pub fn load_rdb_file(ctx: &mut Ctx, at_startup: bool) -> Result<bool, String> {
    let now = ctx.now;
    let path = rdb_path(&ctx.srv.config);
    let started = Instant::now();
    let opened =
        std::fs::File::open(&path).and_then(|file| file.metadata().map(|m| (file, m.len())));
    let (file, len) = match opened {
        Ok(pair) => pair,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => {
            let msg = format!("Fatal error loading the DB: {e}. Exiting.");
            warn!("{msg}");
            return Err(msg);
        }
    };
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    // A master drops the keys that expired while it was down, and propagates their deletion
    // into a backlog made for it (see `replication::restore_from_rdb`); a replica keeps them,
    // for its master to delete.
    let master = !ctx.srv.master.is_replica();
    if master && at_startup {
        let size = super::replication::config_i64(ctx, "repl-backlog-size", 1 << 20).max(1);
        ctx.srv.propagation.repl.create_backlog(size as usize);
    }
    let opts = LoadOptions {
        verify_checksum: ctx.srv.config.rdbchecksum,
        now_ms: if master { now } else { Ms::MIN },
        limits: encoding_limits(&ctx.srv.config),
        collect_expired: master && at_startup,
    };
    let key_load_delay =
        u64::try_from(super::replication::config_i64(ctx, "key-load-delay", 0)).unwrap_or(0);
    let interval = usize::try_from(super::replication::config_i64(
        ctx,
        "loading-process-events-interval-bytes",
        2 << 20,
    ))
    .unwrap_or(2 << 20)
    .max(1024);
    let source = io::BufReader::with_capacity(1 << 20, file);
    let was_loading = std::mem::replace(&mut ctx.srv.loading, true);
    let databases = ctx.dbs.len();
    let mut next_serve = interval;
    let result = rdb::load_fresh(source, len, databases, &opts, &mut |read| {
        if key_load_delay > 0 {
            std::thread::sleep(std::time::Duration::from_micros(key_load_delay));
        }
        if read >= next_serve {
            next_serve = read + interval;
            if let Some(serve) = ctx.srv.events_while_blocked {
                serve(ctx);
            }
        }
    });
    ctx.srv.loading = was_loading;
    let (loaded, mut fresh) = result.map_err(|e| {
        error!(
            "Internal error in RDB reading offset {} of {}: {}",
            e.offset,
            path.display(),
            e.message
        );
        // Redis then runs its RDB checker over the file (`rdbCheckThenExit`), which reports
        // the error again in redis-check-rdb's form.
        error!("--- RDB ERROR DETECTED ---");
        error!("[offset {}] {}", e.offset, e.message);
        "Terminating server after rdb file reading failure.".to_string()
    })?;
    if let Err(e) = ctx.srv.scripts.load_dataset_libraries(&loaded.functions) {
        error!("Failed loading library, {e}");
        return Err("Terminating server after rdb file reading failure.".to_string());
    }
    for (db, new) in ctx.dbs.iter_mut().zip(fresh.iter_mut()) {
        db.swap_contents(new);
    }
    // The old contents go with `fresh`, freed here as Redis's `emptyData` before a load.
    drop(fresh);
    for (name, value) in &loaded.aux {
        log_aux_field(name, value, now);
    }
    log_load_done(&loaded);
    info!(
        "DB loaded from disk: {:.3} seconds",
        started.elapsed().as_secs_f64()
    );
    ctx.srv.rdb.last_load_keys_loaded = loaded.keys_loaded as u64;
    ctx.srv.rdb.last_load_keys_expired = loaded.expired_skipped as u64;
    if at_startup {
        super::replication::restore_from_rdb(ctx, loaded.repl_info(), &loaded.expired_keys);
    }
    Ok(true)
}

/// SAVE — writes the dataset now, blocking the server (Redis: `saveCommand`).
fn save_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    if ctx.srv.rdb.child.is_some() {
        return Err(CommandError::Err("Background save already in progress"));
    }
    match save(ctx.dbs, ctx.srv, ctx.now) {
        Ok(()) => {
            ctx.out.ok();
            Ok(())
        }
        Err(_) => Err(CommandError::Custom("ERR".into())),
    }
}

/// BGSAVE [SCHEDULE] — starts a snapshot in a forked child and replies at once (Redis:
/// `bgsaveCommand`). Inside EXEC the save is scheduled for the next cron turn instead, as in
/// Redis (a fork in the middle of a transaction would snapshot half of it). While an AOF
/// rewrite child runs, BGSAVE is refused, or scheduled with SCHEDULE.
fn bgsave_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    match argv {
        [_] => {}
        [_, opt] if opt.eq_ignore_ascii_case(b"SCHEDULE") => {}
        _ => return Err(CommandError::Syntax),
    }
    let schedule = argv.len() == 2;
    if ctx.srv.rdb.child.is_some() {
        return Err(CommandError::Err("Background save already in progress"));
    }
    let in_exec = ctx.clients.get(ctx.id).is_some_and(|c| c.multi.active);
    if ctx.srv.aof.child.is_some() && !in_exec && !schedule {
        return Err(CommandError::Err(
            "Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.",
        ));
    }
    if in_exec || ctx.srv.aof.child.is_some() {
        ctx.srv.rdb.bgsave_scheduled = true;
        ctx.out.simple("Background saving scheduled");
        return Ok(());
    }
    match bgsave(ctx.dbs, ctx.srv, ctx.now) {
        Ok(()) => {
            ctx.out.simple("Background saving started");
            Ok(())
        }
        Err(_) => Err(CommandError::Custom("ERR".into())),
    }
}

/// Forks a child that writes the snapshot (Redis: `rdbSaveBackground`). The caller checked
/// that no child is running.
pub fn bgsave(dbs: &[Db], srv: &mut ServerState, now: Ms) -> io::Result<()> {
    let opts = save_options(srv, now);
    bgsave_with(dbs, srv, now, &opts)
}

/// [`bgsave`] with the given options (a replica's snapshot carries `repl-stream-db`).
pub fn bgsave_with(
    dbs: &[Db],
    srv: &mut ServerState,
    now: Ms,
    opts: &SaveOptions,
) -> io::Result<()> {
    fork_snapshot_child(srv, now, SaveTarget::Disk, |state| {
        write_rdb_file(dbs, &state.config, opts).is_ok()
    })
}

/// Forks the snapshot child, which runs `work` (Redis: `redisFork` and the bookkeeping of
/// `rdbSaveBackground` / `rdbSaveToSlavesSockets`), and records it as the RDB child.
pub fn fork_snapshot_child(
    srv: &mut ServerState,
    now: Ms,
    target: SaveTarget,
    work: impl FnOnce(&ServerState) -> bool,
) -> io::Result<()> {
    srv.rdb.saves += 1;
    let started = Instant::now();
    let listeners = super::aof::listening_fds(srv);
    let state = &*srv;
    let forked = process::fork_child_closing(&listeners, || work(state));
    if target == SaveTarget::Disk {
        srv.rdb.last_bgsave_try_ms = now;
    }
    match forked {
        Ok(pid) => {
            srv.rdb.total_forks += 1;
            srv.rdb.latest_fork_usec = started.elapsed().as_micros() as u64;
            let fork_ms = srv.rdb.latest_fork_usec / 1000;
            let threshold = srv.config.latency_monitor_threshold;
            srv.latency
                .add_sample_if_needed(threshold, "fork", fork_ms, now / 1000);
            match target {
                SaveTarget::Disk => info!("Background saving started by pid {pid}"),
                SaveTarget::Replicas => info!("Background RDB transfer started by pid {pid}"),
            }
            srv.rdb.child = Some(SaveChild {
                pid,
                started_ms: now,
                dirty_at_fork: srv.dirty,
                target,
            });
            Ok(())
        }
        Err(e) => {
            if target == SaveTarget::Disk {
                srv.rdb.last_bgsave_failed = true;
            }
            warn!("Can't save in background: fork: {e}");
            Err(e)
        }
    }
}

/// Reaps the snapshot child if it ended (Redis: the RDB half of `checkChildrenDone`), and
/// tells which kind it was: the replicas waiting for it are the caller's business
/// ([`super::fullsync::bgsave_done`]).
pub fn reap_bgsave_child(srv: &mut ServerState, now: Ms) -> Option<(ChildExit, SaveTarget)> {
    let child = srv.rdb.child.as_ref()?;
    let exit = process::try_reap(child.pid)?;
    let target = child.target;
    background_save_done(srv, exit, now);
    Some((exit, target))
}

/// Cron's part (Redis: the save points of `serverCron`), once the child that ended was
/// reaped ([`reap_bgsave_child`]): start a scheduled BGSAVE or one a save point asks for.
pub fn rdb_cron(dbs: &[Db], srv: &mut ServerState, now: Ms) {
    // One child at a time: a scheduled save waits for the running one.
    if srv.rdb.child.is_some() || srv.aof.child.is_some() {
        return;
    }
    let may_retry =
        !srv.rdb.last_bgsave_failed || now - srv.rdb.last_bgsave_try_ms > BGSAVE_RETRY_DELAY_MS;
    if srv.rdb.bgsave_scheduled && may_retry {
        if bgsave(dbs, srv, now).is_ok() {
            srv.rdb.bgsave_scheduled = false;
        }
        return;
    }
    let since_save_secs = now / 1000 - srv.rdb.last_save_secs(srv.started_ms);
    let due = save_points(&srv.config.save)
        .into_iter()
        .find(|&(seconds, changes)| srv.dirty >= changes && since_save_secs > seconds as Ms);
    if let Some((seconds, changes)) = due {
        if may_retry {
            info!("{changes} changes in {seconds} seconds. Saving...");
            let _ = bgsave(dbs, srv, now);
        }
    }
}

/// The `save` directive's points, `(seconds, changes)`, in the order given.
fn save_points(save: &str) -> Vec<(u64, u64)> {
    let words: Vec<u64> = save
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    words.chunks_exact(2).map(|p| (p[0], p[1])).collect()
}

/// The child ended (Redis: `backgroundSaveDoneHandlerDisk`).
fn background_save_done(srv: &mut ServerState, exit: ChildExit, now: Ms) {
    let Some(child) = srv.rdb.child.take() else {
        return;
    };
    if child.target == SaveTarget::Replicas {
        // Redis: `backgroundSaveDoneHandlerSocket`; the dataset was not saved anywhere.
        match exit {
            ChildExit::Code(0) => info!("Background RDB transfer terminated with success"),
            ChildExit::Code(_) => warn!("Background transfer error"),
            ChildExit::Signal(signal) => {
                warn!("Background transfer terminated by signal {signal}")
            }
        }
        return;
    }
    match exit {
        ChildExit::Code(0) => {
            info!("Background saving terminated with success");
            srv.dirty = srv.dirty.saturating_sub(child.dirty_at_fork);
            srv.rdb.last_save_ms = Some(now);
            srv.rdb.last_bgsave_failed = false;
        }
        ChildExit::Code(_) => {
            warn!("Background saving error");
            srv.rdb.last_bgsave_failed = true;
        }
        ChildExit::Signal(signal) => {
            warn!("Background saving terminated by signal {signal}");
            remove_temp_file(child.pid);
            // SIGUSR1 is how the server itself stops a child: not a failure.
            if signal != libc::SIGUSR1 {
                srv.rdb.last_bgsave_failed = true;
            }
        }
    }
    srv.rdb.last_bgsave_secs = Some((now - child.started_ms) / 1000);
}

/// Stops a running snapshot child and removes its temp file (Redis: `killRDBChild`):
/// FLUSHALL makes its snapshot stale, SHUTDOWN saves in the foreground instead, a diskless
/// sync lost its last replica. The replicas waiting for it are dropped; they will ask again.
pub fn kill_bgsave_child(ctx: &mut Ctx) {
    let Some(child) = ctx.srv.rdb.child.as_ref() else {
        return;
    };
    let (pid, target) = (child.pid, child.target);
    let exit = process::kill_and_reap(pid);
    background_save_done(ctx.srv, exit, ctx.now);
    remove_temp_file(pid);
    super::fullsync::bgsave_done(ctx, exit, target);
}

fn remove_temp_file(pid: i32) {
    let _ = std::fs::remove_file(format!("temp-{pid}.rdb"));
}

/// With save points configured and `stop-writes-on-bgsave-error yes`, a failed background
/// save stops writes until a save succeeds (Redis: `writeCommandsDeniedByDiskError`).
pub fn writes_denied_by_disk_error(srv: &ServerState) -> bool {
    srv.config.stop_writes_on_bgsave_error
        && !srv.config.save.is_empty()
        && srv.rdb.last_bgsave_failed
}

/// The check a script that may write (a function, or a script with a shebang, not declared
/// `no-writes`) passes before it starts (Redis: `scriptPrepareForRun`).
pub fn deny_writable_script(srv: &ServerState) -> CommandResult {
    if writes_denied_by_disk_error(srv) {
        return Err(CommandError::Custom(
            "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to \
             persist to disk. Writable scripts are blocked. Use 'no-writes' flag for read only \
             scripts."
                .into(),
        ));
    }
    Ok(())
}

/// DEBUG RELOAD [NOSAVE] — save, empty the databases, load the file back.
pub fn debug_reload(ctx: &mut Ctx, options: &[&[u8]]) -> CommandResult {
    let mut nosave = false;
    for opt in options {
        if opt.eq_ignore_ascii_case(b"NOSAVE") {
            nosave = true;
        } else if opt.eq_ignore_ascii_case(b"MERGE") || opt.eq_ignore_ascii_case(b"NOFLUSH") {
            return Err(CommandError::err(
                "DEBUG RELOAD MERGE and NOFLUSH are not supported by ferrodis.",
            ));
        } else {
            return Err(CommandError::err(
                "DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.",
            ));
        }
    }
    if !nosave && save(ctx.dbs, ctx.srv, ctx.now).is_err() {
        return Err(CommandError::Custom("ERR".into()));
    }
    match load_rdb_file(ctx, false) {
        Ok(true) => {}
        _ => return Err(CommandError::err("Error trying to load the RDB dump")),
    }
    warn!("DB reloaded by DEBUG RELOAD");
    ctx.out.ok();
    Ok(())
}
