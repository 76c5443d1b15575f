//! The append-only file: what the server writes, when it reaches the disk, how it is rewritten
//! and loaded (Redis: `aof.c` — `feedAppendOnlyFile`, `flushAppendOnlyFile`,
//! `rewriteAppendOnlyFileBackground`, `backgroundRewriteDoneHandler`, `loadAppendOnlyFiles`,
//! `startAppendOnly` / `stopAppendOnly`, `aofOpenIfNeededOnServerStart`; `bio.c` for the fsync
//! thread). The file formats (manifest, commands) live in [`crate::persist::aof`].
//!
//! # The write path, and why `appendfsync always` is a group commit
//!
//! ```text
//!  command ─> propagate::propagate_now ─> feed(): SELECT if the db changed, #TS:, the command
//!                                                 as RESP, appended to `buf` (memory only)
//!  ... every command of this loop turn ...
//!  before_sleep ─> flush_append_only_file(): ONE write(2) of `buf` to the incr file
//!                     always:   + ONE fdatasync, here, in the loop
//!                     everysec: hand a clone of the fd to the fsync thread, once a second
//!                     no:       nothing
//!              ─> then, and only then, the replies of this turn are written to the clients
//! ```
//!
//! A client learns its write succeeded only from a reply, and replies leave after the AOF
//! write (and, with `always`, the fsync) of the turn that ran the command. With `always`, one
//! fsync covers every client served in the turn: the cost is per turn, not per command.
//!
//! With `everysec` the loop never waits for the disk: the fsync runs on a helper thread
//! ([`FsyncThread`], Redis's bio thread), which receives only a duplicate of the file
//! descriptor and touches no server data. If an fsync is still running when the loop wants to
//! write, Linux would block the write behind it, so the write is postponed — for at most two
//! seconds, after which it goes ahead anyway (`aof_delayed_fsync` counts those).
//!
//! # Rewrite (Redis 7.0's multi-part scheme)
//!
//! ```text
//!  BGREWRITEAOF ─> flush buf; open a NEW incr file and persist the manifest naming it
//!               ─> fork: child writes temp-rewriteaof-bg-<pid>.aof (RDB or commands), fsync
//!  cron: child exited 0 ─> rename it to <name>.<n+1>.base.rdb inside the AOF dir; the old base
//!        and every incr file but the one being written become history; the manifest is
//!        written (temp + fsync + rename + fsync dir); history files are deleted.
//! ```
//!
//! The new incr file opened at fork time holds every write made during the rewrite, so no
//! rewrite buffer is needed: the new base plus that file is the dataset. A crash at any point
//! leaves a manifest that names complete files only.
//!
//! Turning the AOF on at run time (`CONFIG SET appendonly yes`) starts in `WaitRewrite`: writes
//! go to a temporary incr file, the rewrite writes the first base, and only then does the
//! manifest name them (Redis: `AOF_WAIT_REWRITE`).

use super::error::{CommandError, CommandResult};
use super::table::{flags::*, CommandSpec};
use super::Ctx;
use crate::config::AppendFsync;
use crate::db::{Db, Ms};
use crate::persist::aof::{self as format, CommandReader, Manifest, ReadError};
use crate::persist::rdb;
use crate::resp::reply::ReplyBuffer;
use crate::util::process::{self, ChildExit};
use log::{info, warn};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Instant;

pub const COMMANDS: &[CommandSpec] = &[CommandSpec::new(
    "bgrewriteaof",
    bgrewriteaof_command,
    1,
    ADMIN | NOSCRIPT | NO_ASYNC_LOADING,
    "server",
)
.doc("Asynchronously rewrite the append-only file", "1.0.0")];

/// Whether the AOF is written (Redis: `aof_state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AofStatus {
    #[default]
    Off,
    On,
    /// Turned on at run time, waiting for the first rewrite to write its base.
    WaitRewrite,
}

/// The AOF side of the server, in `ServerState::aof`.
#[derive(Default)]
pub struct AofState {
    pub status: AofStatus,
    manifest: Manifest,
    /// The incr file being appended to.
    file: Option<File>,
    /// Commands fed this turn, written by `before_sleep` (Redis: `server.aof_buf`).
    pub buf: Vec<u8>,
    /// The database the file last selected (`None`: the next command writes a SELECT).
    selected_db: Option<usize>,
    /// The second of the last `#TS:` annotation.
    cur_timestamp: i64,
    /// Size of the base plus incr files (`aof_current_size`) and of the AOF after the last
    /// rewrite (`aof_base_size`, the reference of automatic rewrites).
    pub current_size: u64,
    pub base_size: u64,
    /// Size of the incr file being written, and the part of it known fsynced.
    last_incr_size: u64,
    last_incr_fsync_offset: u64,
    /// Unix seconds of the last fsync (or of handing one to the thread).
    last_fsync_secs: i64,
    /// Unix seconds since which a write waits for a running fsync (0: none waits).
    flush_postponed_start: i64,
    /// Writes done while an fsync still ran, after waiting two seconds (`aof_delayed_fsync`).
    pub delayed_fsync: u64,
    /// The last write failed (`aof_last_write_status:err`): writes are refused with -MISCONF.
    pub last_write_failed: bool,
    last_write_error: String,
    fsync_thread: Option<FsyncThread>,
    /// The rewrite child at work.
    pub child: Option<RewriteChild>,
    /// A rewrite waits for another child to finish (`aof_rewrite_scheduled`).
    pub rewrite_scheduled: bool,
    /// Rewrites started (`aof_rewrites`), failures in a row, the last one's outcome and time.
    pub rewrites: u64,
    pub consecutive_failures: u64,
    pub last_bgrewrite_failed: bool,
    pub last_rewrite_secs: Option<i64>,
    /// The rewrite limit after repeated failures: the current delay and when it ends.
    limit_delay_minutes: i64,
    limit_next_rewrite_secs: i64,
    /// The client whose DEBUG LOADAOF is loading: the loop's turns during the load leave it
    /// alone (its reply buffer is in use; Redis: `protectClient`).
    pub protected_client: Option<usize>,
    /// `DEBUG AOF-FLUSH-SLEEP <µs>`: sleep before each write of the buffer (tests).
    pub flush_sleep_us: u64,
}

/// A forked child writing a new base.
pub struct RewriteChild {
    pub pid: i32,
    pub started_ms: Ms,
}

impl AofState {
    /// Is an fsync running on the helper thread (Redis: `aofFsyncInProgress`)?
    fn fsync_in_progress(&self) -> bool {
        self.fsync_thread.as_ref().is_some_and(|t| t.pending() > 0)
    }

    /// `aof_pending_bio_fsync`.
    pub fn pending_fsyncs(&self) -> usize {
        self.fsync_thread.as_ref().map_or(0, FsyncThread::pending)
    }

    pub fn last_write_error(&self) -> &str {
        &self.last_write_error
    }
}

// =============================================================================================
// The fsync thread.
// =============================================================================================

/// A job for the fsync thread: a duplicate descriptor of an AOF file.
enum FsyncJob {
    /// fdatasync it.
    Sync(File),
    /// fdatasync it, then close it (an incr file a rewrite retired).
    SyncAndClose(File),
}

/// The helper thread that runs `everysec` fsyncs (Redis: the `BIO_AOF_FSYNC` worker of
/// `bio.c`). It owns nothing of the server's: it gets file descriptors over a channel, syncs
/// them, and reports through two atomics — how many jobs are queued or running, and whether
/// one failed. It never logs (a fork while it held the log's lock would leave the child's
/// copy locked); the loop reads the failure flag and logs.
struct FsyncThread {
    jobs: mpsc::Sender<FsyncJob>,
    pending: Arc<AtomicUsize>,
    failed: Arc<AtomicBool>,
}

impl FsyncThread {
    fn spawn() -> io::Result<FsyncThread> {
        let (jobs, queue) = mpsc::channel::<FsyncJob>();
        let pending = Arc::new(AtomicUsize::new(0));
        let failed = Arc::new(AtomicBool::new(false));
        let (thread_pending, thread_failed) = (pending.clone(), failed.clone());
        std::thread::Builder::new()
            .name("aof-fsync".into())
            .spawn(move || {
                for job in queue {
                    let (FsyncJob::Sync(file) | FsyncJob::SyncAndClose(file)) = &job;
                    if file.sync_data().is_err() {
                        thread_failed.store(true, Ordering::SeqCst);
                    }
                    drop(job);
                    thread_pending.fetch_sub(1, Ordering::SeqCst);
                }
            })?;
        Ok(FsyncThread {
            jobs,
            pending,
            failed,
        })
    }

    fn pending(&self) -> usize {
        self.pending.load(Ordering::SeqCst)
    }

    fn submit(&self, job: FsyncJob) {
        self.pending.fetch_add(1, Ordering::SeqCst);
        if self.jobs.send(job).is_err() {
            self.pending.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// Queues an fsync (or fsync + close) of `file` on the helper thread, starting it on first
/// use; without a thread, syncs in place.
fn background_fsync(aof: &mut AofState, file: &File, close: bool) {
    if aof.fsync_thread.is_none() {
        match FsyncThread::spawn() {
            Ok(t) => aof.fsync_thread = Some(t),
            Err(e) => warn!("Can't start the AOF fsync thread: {e}"),
        }
    }
    let Ok(dup) = file.try_clone() else {
        let _ = file.sync_data();
        return;
    };
    match &aof.fsync_thread {
        Some(t) => t.submit(if close {
            FsyncJob::SyncAndClose(dup)
        } else {
            FsyncJob::Sync(dup)
        }),
        None => {
            let _ = dup.sync_data();
        }
    }
}

// =============================================================================================
// The write path.
// =============================================================================================

fn aof_path(config: &crate::config::Config, name: &str) -> PathBuf {
    PathBuf::from(&config.appenddirname).join(name)
}

/// Appends a propagated command to the AOF buffer (Redis: `feedAppendOnlyFile`). Called by the
/// write funnel for every op meant for the AOF.
pub fn feed(srv: &mut super::state::ServerState, db: usize, argv: &[Vec<u8>], now: Ms) {
    let aof = &mut srv.aof;
    let writing = match aof.status {
        AofStatus::On => true,
        AofStatus::WaitRewrite => aof.child.is_some(),
        AofStatus::Off => false,
    };
    if !writing {
        return;
    }
    if srv.config.aof_timestamp_enabled && aof.cur_timestamp < now / 1000 {
        aof.cur_timestamp = now / 1000;
        format::append_timestamp(&mut aof.buf, aof.cur_timestamp);
    }
    if aof.selected_db != Some(db) {
        format::append_select(&mut aof.buf, db);
        aof.selected_db = Some(db);
    }
    format::append_command(&mut aof.buf, argv);
}

/// Writes the AOF buffer to the incr file and applies the fsync policy (Redis:
/// `flushAppendOnlyFile`). Called from `before_sleep`, before any reply is written; `force`
/// writes even while an `everysec` fsync is running (shutdown, rewrite start).
pub fn flush_append_only_file(srv: &mut super::state::ServerState, force: bool, now: Ms) {
    let now_secs = now / 1000;
    let policy = srv.config.appendfsync;
    let aof = &mut srv.aof;
    if aof.file.is_none() {
        return;
    }
    report_fsync_thread_failure(aof);
    let mut sync_in_progress = false;
    if aof.buf.is_empty() {
        // Nothing new, but an everysec fsync may still be owed for earlier writes.
        let unsynced = aof.last_incr_fsync_offset != aof.last_incr_size;
        let owed = match policy {
            AppendFsync::EverySec => {
                unsynced && now_secs > aof.last_fsync_secs && !aof.fsync_in_progress()
            }
            AppendFsync::Always => unsynced,
            AppendFsync::No => false,
        };
        if owed {
            try_fsync(srv, policy, false, now_secs);
        }
        return;
    }
    if policy == AppendFsync::EverySec {
        sync_in_progress = aof.fsync_in_progress();
    }
    if policy == AppendFsync::EverySec && !force && sync_in_progress {
        // A write(2) would wait behind the running fsync: postpone, up to two seconds.
        if aof.flush_postponed_start == 0 {
            aof.flush_postponed_start = now_secs;
            return;
        } else if now_secs - aof.flush_postponed_start < 2 {
            return;
        }
        aof.delayed_fsync += 1;
        info!("Asynchronous AOF fsync is taking too long (disk is busy?). Writing the AOF buffer without waiting for fsync to complete, this may slow down Redis.");
    }
    aof.flush_postponed_start = 0;
    if aof.flush_sleep_us > 0 {
        std::thread::sleep(std::time::Duration::from_micros(aof.flush_sleep_us));
    }
    let Some(file) = aof.file.as_mut() else {
        return;
    };
    let (written, error) = write_all_counted(file, &aof.buf);
    if written == aof.buf.len() {
        if aof.last_write_failed {
            warn!("AOF write error looks solved, Redis can write again.");
            aof.last_write_failed = false;
        }
        aof.current_size += written as u64;
        aof.last_incr_size += written as u64;
        aof.buf.clear();
        if aof.buf.capacity() > 1 << 20 {
            aof.buf = Vec::new();
        }
    } else {
        let reason = error.map_or_else(|| "short write".to_string(), |e| e.to_string());
        if !aof.last_write_failed {
            warn!("Error writing to the AOF file: {reason}");
        }
        // Take a partial write back so the file holds whole commands only.
        let undone = written > 0 && file.set_len(aof.last_incr_size).is_ok();
        if policy == AppendFsync::Always {
            // Replies promising durability are already queued: exit rather than lie.
            warn!("Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...");
            std::process::exit(1);
        }
        aof.last_write_failed = true;
        aof.last_write_error = reason;
        if written > 0 && !undone {
            aof.current_size += written as u64;
            aof.last_incr_size += written as u64;
            aof.buf.drain(..written);
        }
        return;
    }
    try_fsync(srv, policy, sync_in_progress, now_secs);
}

/// The fsync part of [`flush_append_only_file`].
fn try_fsync(
    srv: &mut super::state::ServerState,
    policy: AppendFsync,
    sync_in_progress: bool,
    now_secs: i64,
) {
    let child_running = srv.aof.child.is_some() || srv.rdb.child.is_some();
    if child_running && srv.config.get("no-appendfsync-on-rewrite").as_deref() == Some("yes") {
        return;
    }
    let aof = &mut srv.aof;
    let Some(file) = aof.file.as_ref() else {
        return;
    };
    match policy {
        AppendFsync::Always => {
            if let Err(e) = file.sync_data() {
                warn!("Can't persist AOF for fsync error when the AOF fsync policy is 'always': {e}. Exiting...");
                std::process::exit(1);
            }
            aof.last_incr_fsync_offset = aof.last_incr_size;
            aof.last_fsync_secs = now_secs;
        }
        AppendFsync::EverySec if now_secs > aof.last_fsync_secs => {
            if !sync_in_progress {
                let file = aof.file.take();
                if let Some(file) = &file {
                    background_fsync(aof, file, false);
                }
                aof.file = file;
                aof.last_incr_fsync_offset = aof.last_incr_size;
            }
            aof.last_fsync_secs = now_secs;
        }
        _ => {}
    }
}

/// Logs (once) an fsync the helper thread could not do.
fn report_fsync_thread_failure(aof: &mut AofState) {
    if let Some(t) = &aof.fsync_thread {
        if t.failed.swap(false, Ordering::SeqCst) {
            warn!("Fail to fsync the AOF file in the background thread.");
        }
    }
}

/// write(2) until everything is written or an error; returns the bytes written.
fn write_all_counted(file: &mut File, mut bytes: &[u8]) -> (usize, Option<io::Error>) {
    let mut total = 0;
    while !bytes.is_empty() {
        match file.write(bytes) {
            Ok(0) => return (total, None),
            Ok(n) => {
                total += n;
                bytes = &bytes[n..];
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return (total, Some(e)),
        }
    }
    (total, None)
}

/// `aof_last_write_status:err` refuses writes, as a failed BGSAVE does (Redis:
/// `writeCommandsDeniedByDiskError`, the AOF half).
pub fn writes_denied(srv: &super::state::ServerState) -> bool {
    srv.aof.status != AofStatus::Off && srv.aof.last_write_failed
}

// =============================================================================================
// The manifest on disk.
// =============================================================================================

/// Writes `manifest` as the AOF's manifest: temp file, fsync, rename, fsync of the directory
/// (Redis: `writeAofManifestFile`).
fn persist_manifest(config: &crate::config::Config, manifest: &Manifest) -> io::Result<()> {
    let temp = aof_path(config, &format::temp_manifest_name(&config.appendfilename));
    let target = aof_path(config, &format::manifest_name(&config.appendfilename));
    let written = (|| {
        let mut f = File::create(&temp)?;
        f.write_all(manifest.format().as_bytes())?;
        f.sync_all()?;
        fs::rename(&temp, &target)?;
        File::open(&config.appenddirname)?.sync_all()
    })();
    if let Err(e) = &written {
        warn!(
            "Can't write the AOF manifest file {}: {e}",
            format::manifest_name(&config.appendfilename)
        );
    }
    written
}

/// Reads the manifest if the AOF directory and the manifest exist (Redis:
/// `aofLoadManifestFromDisk`); an empty manifest otherwise.
fn load_manifest(config: &crate::config::Config) -> Result<Manifest, String> {
    let path = aof_path(config, &format::manifest_name(&config.appendfilename));
    let text = match fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Manifest::default()),
        Err(e) => {
            let msg = format!(
                "Fatal error: can't open the AOF manifest file {} for reading: {e}",
                path.display()
            );
            warn!("{msg}");
            return Err(msg);
        }
    };
    Manifest::parse(&text).map_err(|e| {
        warn!("*** FATAL AOF MANIFEST FILE ERROR ***");
        if let Some((n, line)) = &e.line {
            warn!("Reading the manifest file, at line {n}");
            warn!(">>> '{line}'");
        }
        warn!("{}", e.message);
        e.message.to_string()
    })
}

/// Deletes the history files and drops them from the manifest (Redis: `aofDelHistoryFiles`).
pub fn delete_history_files(srv: &mut super::state::ServerState) {
    if srv.aof.manifest.history.is_empty() || srv.config.aof_disable_auto_gc {
        return;
    }
    for info in std::mem::take(&mut srv.aof.manifest.history) {
        info!("Removing the history file {} in the background", info.name);
        let _ = fs::remove_file(aof_path(&srv.config, &info.name));
    }
    let _ = persist_manifest(&srv.config, &srv.aof.manifest);
}

fn create_dir_if_missing(config: &crate::config::Config) -> io::Result<()> {
    match fs::create_dir(&config.appenddirname) {
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => {
            warn!(
                "Can't open or create append-only dir {}: {e}",
                config.appenddirname
            );
            Err(e)
        }
        _ => Ok(()),
    }
}

fn open_for_append(path: &PathBuf, truncate: bool) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.create(true);
    if truncate {
        o.write(true).truncate(true);
    } else {
        o.append(true);
    }
    o.open(path)
}

fn file_size(config: &crate::config::Config, name: &str) -> u64 {
    fs::metadata(aof_path(config, name)).map_or(0, |m| m.len())
}

/// After loading at startup, with `appendonly yes`: write a base if the AOF is empty, open the
/// last incr file (or a new one) for appending, persist the manifest (Redis:
/// `aofOpenIfNeededOnServerStart`, then `aofDelHistoryFiles`). An error stops the server.
pub fn open_on_server_start(
    dbs: &[Db],
    srv: &mut super::state::ServerState,
    now: Ms,
) -> Result<(), String> {
    if !srv.config.appendonly {
        return Ok(());
    }
    srv.aof.status = AofStatus::On;
    create_dir_if_missing(&srv.config).map_err(|e| e.to_string())?;
    let config = srv.config.clone();
    let had_incr = !srv.aof.manifest.incr.is_empty();
    if srv.aof.manifest.is_empty() {
        let name = srv
            .aof
            .manifest
            .new_base(&config.appendfilename, config.aof_use_rdb_preamble);
        write_base_file(dbs, srv, now, &aof_path(&config, &name))
            .map_err(|e| format!("Can't write the AOF base file {name}: {e}"))?;
        info!("Creating AOF base file {name} on server start");
    }
    let incr = srv.aof.manifest.last_incr(&config.appendfilename);
    let file = open_for_append(&aof_path(&config, &incr), false).map_err(|e| {
        let msg = format!("Can't open the append-only file {incr}: {e}");
        warn!("{msg}");
        msg
    })?;
    persist_manifest(&config, &srv.aof.manifest).map_err(|e| e.to_string())?;
    srv.aof.last_incr_size = file.metadata().map_or(0, |m| m.len());
    srv.aof.last_incr_fsync_offset = srv.aof.last_incr_size;
    srv.aof.file = Some(file);
    srv.aof.last_fsync_secs = now / 1000;
    if srv.aof.current_size == 0 {
        let base = srv.aof.manifest.base.as_ref().map(|b| b.name.clone());
        let base_size = base.map_or(0, |b| file_size(&config, &b));
        srv.aof.current_size = base_size + srv.aof.last_incr_size;
        srv.aof.base_size = base_size;
    }
    if had_incr {
        info!("Opening AOF incr file {incr} on server start");
    } else {
        info!("Creating AOF incr file {incr} on server start");
    }
    delete_history_files(srv);
    Ok(())
}

/// Writes a complete base file at `path`: an RDB image (with `aof-base` set) or commands,
/// through a temp file, fsynced, renamed (Redis: `rewriteAppendOnlyFile`).
fn write_base_file(
    dbs: &[Db],
    srv: &super::state::ServerState,
    now: Ms,
    path: &PathBuf,
) -> io::Result<()> {
    let config = &srv.config;
    let temp = PathBuf::from(format!("temp-rewriteaof-{}.aof", std::process::id()));
    let written = (|| {
        let file = File::create(&temp)?;
        let mut out = io::BufWriter::with_capacity(1 << 16, file);
        if config.aof_use_rdb_preamble {
            let mut opts = super::persistence::save_options(srv, now);
            opts.aof_base = true;
            // An AOF base continues no replication stream (Redis saves it without `rsi`).
            opts.repl = None;
            rdb::save(dbs, &opts, &mut out)?;
        } else {
            let opts = format::DatasetOptions {
                compression: config.rdbcompression,
                timestamp: config.aof_timestamp_enabled,
                functions: srv.scripts.library_codes(),
            };
            format::write_dataset_commands(dbs, now, opts, &mut out)?;
        }
        out.flush()?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        fs::rename(&temp, path)
    })();
    if let Err(e) = &written {
        warn!("Write error writing append only file on disk: {e}");
        let _ = fs::remove_file(&temp);
    }
    written
}

// =============================================================================================
// Rewrite.
// =============================================================================================

/// Is any child (BGSAVE or rewrite) running (Redis: `hasActiveChildProcess`)?
pub fn has_active_child(srv: &super::state::ServerState) -> bool {
    srv.aof.child.is_some() || srv.rdb.child.is_some()
}

/// Opens the incr file the writes go to from now on (Redis: `openNewIncrAofForAppend`). With
/// the AOF on, the manifest names it at once; while waiting for the first rewrite, it is a
/// temporary file the rewrite's end renames.
fn open_new_incr_for_append(srv: &mut super::state::ServerState) -> io::Result<()> {
    let config = srv.config.clone();
    let (name, manifest) = match srv.aof.status {
        AofStatus::Off => return Ok(()),
        AofStatus::WaitRewrite => (temp_incr_name(&config), None),
        AofStatus::On => {
            let mut m = srv.aof.manifest.clone();
            (m.new_incr(&config.appendfilename), Some(m))
        }
    };
    let file = open_for_append(&aof_path(&config, &name), true).map_err(|e| {
        warn!("Can't open the append-only file {name}: {e}");
        e
    })?;
    if let Some(m) = &manifest {
        persist_manifest(&config, m)?;
    }
    info!("Creating AOF incr file {name} on background rewrite");
    if let Some(old) = srv.aof.file.take() {
        background_fsync(&mut srv.aof, &old, true);
    }
    srv.aof.file = Some(file);
    srv.aof.last_incr_size = 0;
    srv.aof.last_incr_fsync_offset = 0;
    if let Some(m) = manifest {
        srv.aof.manifest = m;
    }
    Ok(())
}

/// `temp-<appendfilename>.incr`, the incr file written while waiting for the first rewrite.
fn temp_incr_name(config: &crate::config::Config) -> String {
    format!("temp-{}.incr", config.appendfilename)
}

/// Starts a rewrite in a forked child (Redis: `rewriteAppendOnlyFileBackground`). The caller
/// checked that no child runs.
pub fn rewrite_background(
    dbs: &[Db],
    srv: &mut super::state::ServerState,
    now: Ms,
) -> io::Result<()> {
    if let Err(e) = create_dir_if_missing(&srv.config) {
        srv.aof.last_bgrewrite_failed = true;
        return Err(e);
    }
    srv.aof.selected_db = None;
    flush_append_only_file(srv, true, now);
    if let Err(e) = open_new_incr_for_append(srv) {
        srv.aof.last_bgrewrite_failed = true;
        return Err(e);
    }
    srv.aof.rewrites += 1;
    let started = Instant::now();
    let listeners = listening_fds(srv);
    let state = &*srv;
    let forked = process::fork_child_closing(&listeners, || {
        let temp = PathBuf::from(format::temp_rewrite_name(std::process::id() as i32));
        let ok = write_base_file(dbs, state, now, &temp).is_ok();
        if ok {
            info!(
                "Successfully created the temporary AOF base file {}",
                temp.display()
            );
        }
        ok
    });
    match forked {
        Ok(pid) => {
            srv.rdb.total_forks += 1;
            srv.rdb.latest_fork_usec = started.elapsed().as_micros() as u64;
            info!("Background append only file rewriting started by pid {pid}");
            srv.aof.rewrite_scheduled = false;
            srv.aof.child = Some(RewriteChild {
                pid,
                started_ms: now,
            });
            Ok(())
        }
        Err(e) => {
            srv.aof.last_bgrewrite_failed = true;
            warn!("Can't rewrite append only file in background: fork: {e}");
            Err(e)
        }
    }
}

/// The listening sockets' descriptors, which a forked child closes.
pub fn listening_fds(srv: &super::state::ServerState) -> Vec<i32> {
    use std::os::fd::AsRawFd;
    srv.io
        .as_ref()
        .map(|io| io.listeners.iter().map(|l| l.as_raw_fd()).collect())
        .unwrap_or_default()
}

/// BGREWRITEAOF — starts a rewrite, or schedules it while another child runs or inside EXEC
/// (Redis: `bgrewriteaofCommand`).
fn bgrewriteaof_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    let in_exec = ctx.clients.get(ctx.id).is_some_and(|c| c.multi.active);
    if ctx.srv.aof.child.is_some() {
        return Err(CommandError::Err(
            "Background append only file rewriting already in progress",
        ));
    }
    if has_active_child(ctx.srv) || in_exec {
        ctx.srv.aof.rewrite_scheduled = true;
        ctx.srv.aof.consecutive_failures = 0;
        ctx.out
            .simple("Background append only file rewriting scheduled");
        return Ok(());
    }
    match rewrite_background(ctx.dbs, ctx.srv, ctx.now) {
        Ok(()) => {
            ctx.out.simple("Background append only file rewriting started");
            Ok(())
        }
        Err(_) => Err(CommandError::Err(
            "Can't execute an AOF background rewriting. Please check the server logs for more information.",
        )),
    }
}

/// The rewrite child ended (Redis: `backgroundRewriteDoneHandler`).
fn rewrite_done(srv: &mut super::state::ServerState, exit: ChildExit, now: Ms) {
    let Some(child) = srv.aof.child.take() else {
        return;
    };
    match exit {
        ChildExit::Code(0) => {
            info!("Background AOF rewrite terminated with success");
            match install_rewritten_base(srv, child.pid) {
                Ok(()) => {
                    srv.aof.last_bgrewrite_failed = false;
                    srv.aof.consecutive_failures = 0;
                    info!("Background AOF rewrite finished successfully");
                    if srv.aof.status == AofStatus::WaitRewrite {
                        srv.aof.status = AofStatus::On;
                    }
                }
                Err(()) => {
                    srv.aof.last_bgrewrite_failed = true;
                    srv.aof.consecutive_failures += 1;
                }
            }
        }
        ChildExit::Code(_) => {
            srv.aof.last_bgrewrite_failed = true;
            srv.aof.consecutive_failures += 1;
            warn!("Background AOF rewrite terminated with error");
        }
        ChildExit::Signal(signal) => {
            if signal != libc::SIGUSR1 {
                srv.aof.last_bgrewrite_failed = true;
                srv.aof.consecutive_failures += 1;
            }
            warn!("Background AOF rewrite terminated by signal {signal}");
        }
    }
    remove_temp_files(child.pid);
    if srv.aof.status == AofStatus::WaitRewrite {
        // The temp incr file is useless without its base; the next rewrite starts over.
        srv.aof.buf.clear();
        srv.aof.file = None;
        let temp_incr = temp_incr_name(&srv.config);
        info!("Removing the temp incr aof file {temp_incr} in the background");
        let _ = fs::remove_file(aof_path(&srv.config, &temp_incr));
        srv.aof.rewrite_scheduled = true;
    }
    srv.aof.last_rewrite_secs = Some((now - child.started_ms) / 1000);
}

/// The success half of [`rewrite_done`]: the child's file becomes the new base, the rewritten
/// incr files become history, the manifest says so, history is deleted.
fn install_rewritten_base(srv: &mut super::state::ServerState, pid: i32) -> Result<(), ()> {
    let config = srv.config.clone();
    let temp = format::temp_rewrite_name(pid);
    let mut m = srv.aof.manifest.clone();
    let base = m.new_base(&config.appendfilename, config.aof_use_rdb_preamble);
    let base_path = aof_path(&config, &base);
    if let Err(e) = fs::rename(&temp, &base_path) {
        warn!(
            "Error trying to rename the temporary AOF base file {temp} into {}: {e}",
            base_path.display()
        );
        return Err(());
    }
    info!("Successfully renamed the temporary AOF base file {temp} into {base}");
    let mut new_incr_path = None;
    if srv.aof.status == AofStatus::WaitRewrite {
        let temp_incr = temp_incr_name(&config);
        let incr = m.new_incr(&config.appendfilename);
        let path = aof_path(&config, &incr);
        if let Err(e) = fs::rename(aof_path(&config, &temp_incr), &path) {
            warn!(
                "Error trying to rename the temporary AOF incr file {temp_incr} into {incr}: {e}"
            );
            let _ = fs::remove_file(&base_path);
            return Err(());
        }
        info!("Successfully renamed the temporary AOF incr file {temp_incr} into {incr}");
        new_incr_path = Some(path);
    }
    m.mark_rewritten_incr_as_history(srv.aof.file.is_some());
    if persist_manifest(&config, &m).is_err() {
        let _ = fs::remove_file(&base_path);
        if let Some(p) = new_incr_path {
            let _ = fs::remove_file(p);
        }
        return Err(());
    }
    srv.aof.manifest = m;
    if srv.aof.status != AofStatus::Off {
        srv.aof.current_size = file_size(&config, &base) + srv.aof.last_incr_size;
        srv.aof.base_size = srv.aof.current_size;
    }
    delete_history_files(srv);
    Ok(())
}

fn remove_temp_files(pid: i32) {
    let _ = fs::remove_file(format::temp_rewrite_name(pid));
    let _ = fs::remove_file(format!("temp-rewriteaof-{pid}.aof"));
}

/// Stops a running rewrite child and removes its temp files (Redis: `killAppendOnlyChild`).
pub fn kill_rewrite_child(srv: &mut super::state::ServerState, now: Ms) {
    if let Some(child) = srv.aof.child.take() {
        info!("Killing running AOF rewrite child: {}", child.pid);
        process::kill_and_reap(child.pid);
        remove_temp_files(child.pid);
        srv.aof.last_rewrite_secs = Some((now - child.started_ms) / 1000);
    }
}

/// Cron's part (Redis: `checkChildrenDone`, the AOF parts of `serverCron`): reap the rewrite
/// child, start a scheduled or automatic rewrite, retry a postponed or failed write.
pub fn aof_cron(dbs: &[Db], srv: &mut super::state::ServerState, now: Ms) {
    if let Some(child) = &srv.aof.child {
        if let Some(exit) = process::try_reap(child.pid) {
            rewrite_done(srv, exit, now);
        }
    }
    if !has_active_child(srv) && srv.aof.rewrite_scheduled && !rewrite_limited(srv, now) {
        let _ = rewrite_background(dbs, srv, now);
    }
    let growth_trigger = srv.config.auto_aof_rewrite_percentage;
    if srv.aof.status == AofStatus::On
        && !has_active_child(srv)
        && growth_trigger > 0
        && srv.aof.current_size > srv.config.auto_aof_rewrite_min_size
    {
        let base = srv.aof.base_size.max(1);
        let growth = (srv.aof.current_size * 100 / base).saturating_sub(100);
        if growth >= growth_trigger && !rewrite_limited(srv, now) {
            info!("Starting automatic rewriting of AOF on {growth}% growth");
            let _ = rewrite_background(dbs, srv, now);
        }
    }
    if srv.aof.status != AofStatus::Off
        && (srv.aof.flush_postponed_start != 0 || srv.aof.last_write_failed)
    {
        flush_append_only_file(srv, false, now);
    }
}

/// After three failed rewrites in a row, automatic and scheduled ones wait 1 minute, then 2,
/// 4, ... up to an hour between attempts, so that a failing disk does not fill the directory
/// with tiny incr files; BGREWRITEAOF by hand still runs at once (Redis: `aofRewriteLimited`).
fn rewrite_limited(srv: &mut super::state::ServerState, now: Ms) -> bool {
    const THRESHOLD: u64 = 3;
    const MAX_MINUTES: i64 = 60;
    let aof = &mut srv.aof;
    let now_secs = now / 1000;
    if aof.consecutive_failures < THRESHOLD {
        aof.limit_delay_minutes = 0;
        aof.limit_next_rewrite_secs = 0;
        return false;
    }
    if aof.limit_next_rewrite_secs != 0 {
        if now_secs < aof.limit_next_rewrite_secs {
            return true;
        }
        aof.limit_next_rewrite_secs = 0;
        return false;
    }
    aof.limit_delay_minutes = if aof.limit_delay_minutes == 0 {
        1
    } else {
        (aof.limit_delay_minutes * 2).min(MAX_MINUTES)
    };
    aof.limit_next_rewrite_secs = now_secs + aof.limit_delay_minutes * 60;
    warn!(
        "Background AOF rewrite has repeatedly failed and triggered the limit, will retry in {} minutes",
        aof.limit_delay_minutes
    );
    true
}

// =============================================================================================
// Turning the AOF on and off at run time, and shutdown.
// =============================================================================================

/// `CONFIG SET appendonly yes` (Redis: `startAppendOnly`): start the first rewrite now, or as
/// soon as the running child ends.
pub fn start_append_only(ctx: &mut Ctx) -> io::Result<()> {
    let srv = &mut *ctx.srv;
    srv.aof.status = AofStatus::WaitRewrite;
    let in_exec = ctx.clients.get(ctx.id).is_some_and(|c| c.multi.active);
    if srv.rdb.child.is_some() {
        srv.aof.rewrite_scheduled = true;
        warn!("AOF was enabled but there is already another background operation. An AOF background was scheduled to start when possible.");
    } else if in_exec {
        srv.aof.rewrite_scheduled = true;
        warn!("AOF was enabled during a transaction. An AOF background was scheduled to start when possible.");
    } else {
        if srv.aof.child.is_some() {
            warn!("AOF was enabled but there is already an AOF rewriting in background. Stopping background AOF and starting a rewrite now.");
            kill_rewrite_child(srv, ctx.now);
        }
        if let Err(e) = rewrite_background(ctx.dbs, srv, ctx.now) {
            srv.aof.status = AofStatus::Off;
            warn!("Redis needs to enable the AOF but can't trigger a background AOF rewrite operation. Check the above logs for more info about the error.");
            return Err(e);
        }
    }
    srv.aof.last_fsync_secs = ctx.now / 1000;
    srv.aof.last_write_failed = false;
    Ok(())
}

/// `CONFIG SET appendonly no` (Redis: `stopAppendOnly`): flush, fsync and close the file,
/// stop a rewrite.
pub fn stop_append_only(srv: &mut super::state::ServerState, now: Ms) {
    flush_append_only_file(srv, true, now);
    if let Some(file) = srv.aof.file.take() {
        if let Err(e) = file.sync_data() {
            warn!("Fail to fsync the AOF file: {e}");
        }
    }
    let aof = &mut srv.aof;
    aof.selected_db = None;
    aof.status = AofStatus::Off;
    aof.rewrite_scheduled = false;
    aof.last_incr_size = 0;
    aof.last_incr_fsync_offset = 0;
    kill_rewrite_child(srv, now);
    srv.aof.buf = Vec::new();
}

/// SHUTDOWN and SIGTERM (Redis: the AOF part of `finishShutdown`): stop a rewrite, write
/// what is buffered and fsync it.
pub fn prepare_for_shutdown(srv: &mut super::state::ServerState, now: Ms) {
    if srv.aof.child.is_some() {
        warn!("There is a child rewriting the AOF. Killing it!");
        kill_rewrite_child(srv, now);
    }
    if srv.aof.status != AofStatus::Off {
        warn!("Calling fsync() on the AOF file.");
        flush_append_only_file(srv, true, now);
        if let Some(file) = &srv.aof.file {
            let _ = file.sync_data();
        }
    }
}

// =============================================================================================
// Loading.
// =============================================================================================

/// How loading one file ended (Redis: `AOF_OK`, `AOF_NOT_EXIST`, `AOF_EMPTY`,
/// `AOF_OPEN_ERR`, `AOF_FAILED`, `AOF_TRUNCATED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadStatus {
    Ok,
    NotExist,
    Empty,
    OpenErr,
    Failed,
    Truncated,
}

/// Loads the dataset at startup (Redis: `loadDataFromDisk`): from the AOF with `appendonly
/// yes`, else from the RDB file. `Err` stops the server.
pub fn load_data_from_disk(ctx: &mut Ctx) -> Result<(), String> {
    if !ctx.srv.config.appendonly {
        return super::persistence::load_rdb_file(ctx, true).map(|_| ());
    }
    // INFO says `aof_enabled:1` from the start (nothing is fed while loading).
    ctx.srv.aof.status = AofStatus::On;
    let started = Instant::now();
    match load_append_only_files(ctx) {
        // Already logged: the reason stays the log's last line, as Redis's tests expect.
        LoadStatus::Failed | LoadStatus::OpenErr => Err(String::new()),
        LoadStatus::NotExist => Ok(()),
        _ => {
            info!(
                "DB loaded from append only file: {:.3} seconds",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
    }
}

/// Replaces the dataset with what the AOF holds: the base, then each incr file (Redis:
/// `loadAppendOnlyFiles`), upgrading an old single-file AOF into the directory first.
pub fn load_append_only_files(ctx: &mut Ctx) -> LoadStatus {
    let config = ctx.srv.config.clone();
    let mut manifest = match load_manifest(&config) {
        Ok(m) => m,
        Err(_) => return LoadStatus::Failed,
    };
    if let Err(status) = upgrade_old_style_aof(&config, &mut manifest) {
        return status;
    }
    ctx.srv.aof.manifest = manifest.clone();
    if manifest.is_empty() {
        return LoadStatus::NotExist;
    }
    let files: Vec<String> = manifest
        .base
        .iter()
        .chain(&manifest.incr)
        .map(|i| i.name.clone())
        .collect();
    let mut total = 0;
    for name in &files {
        match fs::metadata(aof_path(&config, name)) {
            Ok(m) => total += m.len(),
            Err(e) => {
                warn!("Unable to obtain the AOF file {name} length. stat: {e}");
                return LoadStatus::Failed;
            }
        }
    }
    if total == 0 {
        return LoadStatus::Empty;
    }
    for db in ctx.dbs.iter_mut() {
        drop(db.flush());
    }
    let prev_loading = std::mem::replace(&mut ctx.srv.loading, true);
    let mut status = LoadStatus::Ok;
    let base_name = manifest.base.as_ref().map(|b| b.name.clone());
    for (i, name) in files.iter().enumerate() {
        let last = i + 1 == files.len();
        let started = Instant::now();
        let is_base = Some(name) == base_name.as_ref();
        status = with_aof_client(ctx, |ctx, _| load_single_file(ctx, &config, name));
        if status == LoadStatus::Ok || (status == LoadStatus::Truncated && last) {
            info!(
                "DB loaded from {} file {name}: {:.3} seconds",
                if is_base { "base" } else { "incr" },
                started.elapsed().as_secs_f64()
            );
        }
        if status == LoadStatus::Empty && !is_base {
            status = LoadStatus::Ok;
        }
        if status == LoadStatus::Truncated && !last {
            warn!("Fatal error: the truncated file is not the last file");
            status = LoadStatus::Failed;
        }
        if matches!(status, LoadStatus::OpenErr | LoadStatus::Failed) {
            break;
        }
    }
    ctx.srv.loading = prev_loading;
    ctx.srv.aof.current_size = total;
    ctx.srv.aof.base_size = base_name.map_or(0, |b| file_size(&config, &b));
    status
}

/// An `appendonly.aof` in `dir` from before multi-part AOF is moved into the AOF directory
/// and named as its base (Redis: `aofUpgradePrepare`).
fn upgrade_old_style_aof(
    config: &crate::config::Config,
    manifest: &mut Manifest,
) -> Result<(), LoadStatus> {
    let old = PathBuf::from(&config.appendfilename);
    if !old.is_file() {
        return Ok(());
    }
    let dir_missing = !PathBuf::from(&config.appenddirname).is_dir();
    let only_old_base = manifest.incr.is_empty()
        && manifest
            .base
            .as_ref()
            .is_some_and(|b| b.name == config.appendfilename)
        && !aof_path(config, &config.appendfilename).exists();
    if !(dir_missing || manifest.is_empty() || only_old_base) {
        return Ok(());
    }
    create_dir_if_missing(config).map_err(|_| LoadStatus::Failed)?;
    *manifest = Manifest {
        base: Some(format::AofInfo {
            name: config.appendfilename.clone(),
            seq: 1,
            kind: format::FileKind::Base,
        }),
        base_seq: 1,
        ..Manifest::default()
    };
    persist_manifest(config, manifest).map_err(|_| LoadStatus::Failed)?;
    if let Err(e) = fs::rename(&old, aof_path(config, &config.appendfilename)) {
        warn!(
            "Error trying to move the old AOF file {} into dir {}: {e}",
            config.appendfilename, config.appenddirname
        );
        return Err(LoadStatus::Failed);
    }
    info!(
        "Successfully migrated an old-style AOF file ({}) into the AOF directory ({}).",
        config.appendfilename, config.appenddirname
    );
    Ok(())
}

/// Runs `f` with a context whose caller is a connectionless client made for the purpose
/// (Redis: `createAOFClient`), removed afterwards.
///
/// The context's clock reads 0 (the epoch): nothing expires while an AOF loads, and an
/// expiry already in the past is set rather than turned into a deletion, so the commands
/// replay exactly as they ran (Redis: `keyIsExpired` and `checkAlreadyExpired` answer "no"
/// while `server.loading`). Keys past their time are removed by expiry after the load.
fn with_aof_client<T>(ctx: &mut Ctx, f: impl FnOnce(&mut Ctx, Ms) -> T) -> T {
    let id = ctx.srv.next_client_id;
    ctx.srv.next_client_id += 1;
    let key = ctx
        .clients
        .insert(super::client::Client::aof_loader(id, ctx.now));
    let mut out = ReplyBuffer::new();
    let real_now = ctx.now;
    let result = {
        let mut aof_ctx = Ctx {
            dbs: &mut *ctx.dbs,
            db: 0,
            out: &mut out,
            clients: &mut *ctx.clients,
            id: key,
            srv: &mut *ctx.srv,
            now: 0,
        };
        f(&mut aof_ctx, real_now)
    };
    let client = ctx.clients.remove(key);
    super::multi::forget_client(ctx.srv, key, &client);
    result
}

/// Counts the bytes read through it: where an RDB preamble ended.
struct Counting<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

/// Loads one file of the AOF into the databases (Redis: `loadSingleAppendOnlyFile`): an RDB
/// image if it starts with `REDIS` (a base file, or an old AOF's preamble), then commands, run
/// by the AOF client `ctx.id`.
fn load_single_file(ctx: &mut Ctx, config: &crate::config::Config, name: &str) -> LoadStatus {
    let path = aof_path(config, name);
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            warn!("The append log file {name} doesn't exist: {e}");
            return LoadStatus::NotExist;
        }
        Err(e) => {
            warn!("Fatal error: can't open the append log file {name} for reading: {e}");
            return LoadStatus::OpenErr;
        }
    };
    let len = file.metadata().map_or(0, |m| m.len());
    if len == 0 {
        return LoadStatus::Empty;
    }
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let starts_with_rdb = io::BufRead::fill_buf(&mut reader).is_ok_and(|b| b.starts_with(b"REDIS"));
    let mut start = 0;
    if starts_with_rdb {
        let old_style = name == config.appendfilename;
        if old_style {
            info!("Reading RDB preamble from AOF file...");
        } else {
            info!("Reading RDB base file on AOF loading...");
        }
        // `ctx.now` is 0 (see `with_aof_client`): an RDB preamble keeps its expired keys too,
        // as Redis loads it (`RDBFLAGS_AOF_PREAMBLE`).
        let opts = rdb::LoadOptions {
            verify_checksum: config.rdbchecksum,
            now_ms: ctx.now,
            limits: super::persistence::encoding_limits(config),
            collect_expired: false,
        };
        let mut counting = Counting {
            inner: &mut reader,
            count: 0,
        };
        let size = usize::try_from(len).unwrap_or(usize::MAX);
        match rdb::load_from(&mut counting, size, ctx.dbs, &opts) {
            Ok(loaded) => {
                ctx.srv.rdb.last_load_keys_loaded = loaded.keys_loaded as u64;
                ctx.srv.rdb.last_load_keys_expired = loaded.expired_skipped as u64;
                if let Err(e) = ctx.srv.scripts.load_dataset_libraries(&loaded.functions) {
                    warn!("Failed loading library, {e}");
                    return LoadStatus::Failed;
                }
            }
            Err(e) => {
                warn!(
                    "Internal error in RDB reading offset {} of {name}: {}",
                    e.offset, e.message
                );
                if old_style {
                    warn!("Error reading the RDB preamble of the AOF file {name}, AOF loading aborted");
                } else {
                    warn!("Error reading the RDB base file {name}, AOF loading aborted");
                }
                return LoadStatus::Failed;
            }
        }
        start = counting.count;
        if old_style {
            info!("Reading the remaining AOF tail...");
        }
    }
    let mut commands = CommandReader::new(reader, start);
    let key_load_delay = config
        .get("key-load-delay")
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(0);
    let mut valid_before_multi = start;
    let mut loops: u64 = 0;
    let ended = loop {
        // Serve the clients now and then: they get -LOADING, INFO shows the load (Redis:
        // `processEventsWhileBlocked` every 1024 commands).
        if loops.is_multiple_of(1024) {
            if let Some(serve) = ctx.srv.events_while_blocked {
                serve(ctx);
            }
        }
        loops += 1;
        let argv = match commands.next_command() {
            Ok(Some(argv)) => argv,
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        };
        if argv[0].eq_ignore_ascii_case(b"MULTI") {
            valid_before_multi = commands.valid_up_to();
        }
        let args: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
        if ctx.srv.commands.lookup(args[0]).is_none() {
            warn!(
                "Unknown command '{}' reading the append only file {name}",
                String::from_utf8_lossy(args[0])
            );
            return LoadStatus::Failed;
        }
        ctx.out.truncate(0);
        super::execute(ctx, &args, super::Caller::AofLoad);
        commands.mark_valid();
        if key_load_delay > 0 {
            std::thread::sleep(std::time::Duration::from_micros(key_load_delay as u64));
        }
    };
    let in_multi = ctx.me().multi.active;
    let valid_up_to = match ended {
        Ok(()) if !in_multi => return LoadStatus::Ok,
        Ok(()) => {
            warn!("Revert incomplete MULTI/EXEC transaction in AOF file {name}");
            valid_before_multi
        }
        Err(ReadError::Truncated { valid_up_to }) => {
            if in_multi {
                valid_before_multi
            } else {
                valid_up_to
            }
        }
        Err(ReadError::Format { offset }) => {
            warn!("Bad file format reading the append only file {name} (at offset {offset}): make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>");
            return LoadStatus::Failed;
        }
        Err(ReadError::Io(e)) => {
            warn!("Unrecoverable error reading the append only file {name}: {e}");
            return LoadStatus::Failed;
        }
    };
    if config.aof_load_truncated {
        warn!("!!! Warning: short read while loading the AOF file {name}!!!");
        warn!("!!! Truncating the AOF {name} at offset {valid_up_to} !!!");
        match OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_len(valid_up_to))
        {
            Ok(()) => {
                warn!("AOF {name} loaded anyway because aof-load-truncated is enabled");
                return LoadStatus::Truncated;
            }
            Err(e) => warn!("Error truncating the AOF file {name}: {e}"),
        }
    }
    warn!("Unexpected end of file reading the append only file {name}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.");
    LoadStatus::Failed
}

/// DEBUG LOADAOF — write the AOF buffer, empty the databases, load the AOF back; a failed
/// load stops the server, as in Redis (`debugCommand` "loadaof").
pub fn debug_loadaof(ctx: &mut Ctx) -> CommandResult {
    if ctx.srv.aof.status != AofStatus::Off {
        flush_append_only_file(ctx.srv, true, ctx.now);
    }
    for db in ctx.dbs.iter_mut() {
        drop(db.flush());
    }
    ctx.srv.aof.protected_client = Some(ctx.id);
    let status = load_append_only_files(ctx);
    ctx.srv.aof.protected_client = None;
    if !matches!(status, LoadStatus::Ok | LoadStatus::Empty) {
        warn!("DEBUG LOADAOF could not load the AOF ({status:?}). Exiting.");
        std::process::exit(1);
    }
    delete_history_files(ctx.srv);
    ctx.srv.dirty = 0;
    warn!("Append Only File loaded by DEBUG LOADAOF");
    ctx.out.ok();
    Ok(())
}
