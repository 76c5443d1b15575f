//! When and where the dataset is saved to and loaded from an RDB file: loading at startup,
//! `SAVE`, `DEBUG RELOAD`, the final save of `SHUTDOWN` and of a SIGTERM when save points are
//! configured. Redis: `rdbSave` / `rdbLoad` / `saveCommand` in `rdb.c`, `loadDataFromDisk` and
//! `prepareForShutdown` in `server.c`, `DEBUG RELOAD` in `debug.c`.
//!
//! The file format itself lives in [`crate::persist::rdb`]; this module only picks the path
//! (`dir` + `dbfilename`), the options (`rdbcompression`, `rdbchecksum`, the encoding limits),
//! logs what Redis logs, and keeps the state LASTSAVE and INFO report.
//!
//! A save is synchronous (BGSAVE does not exist yet) and crash-safe as Redis's is: the file is
//! written as `temp-<pid>.rdb` in `dir`, fsynced, then renamed over the old one, so a crash
//! mid-save leaves the previous file whole.

use super::error::{CommandError, CommandResult};
use super::state::ServerState;
use super::table::{flags::*, CommandSpec};
use super::Ctx;
use crate::config::Config;
use crate::db::{Db, Ms};
use crate::persist::rdb::{self, Limits, LoadOptions, SaveOptions};
use crate::types::{hash, zset};
use log::{error, info, warn};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

pub const COMMANDS: &[CommandSpec] = &[CommandSpec::new(
    "save",
    save_command,
    1,
    ADMIN | NOSCRIPT | NO_ASYNC_LOADING | NO_MULTI,
    "server",
)
.doc("Synchronously save the dataset to disk", "1.0.0")];

/// What LASTSAVE and INFO persistence report.
#[derive(Default, Debug)]
pub struct RdbState {
    /// Unix ms of the last successful save (None: none yet, Redis then reports the start).
    pub last_save_ms: Option<Ms>,
    /// Successful saves since start (`rdb_saves`).
    pub saves: u64,
    pub last_load_keys_loaded: u64,
    pub last_load_keys_expired: u64,
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

fn limits(config: &Config) -> Limits {
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

/// How to write an RDB image now under `config` (a file, or a replica's full sync payload).
pub fn save_options(config: &Config, now: Ms) -> SaveOptions {
    SaveOptions {
        compression: config.rdbcompression,
        checksum: config.rdbchecksum,
        now_ms: now,
        used_mem: crate::alloc::used_memory() as u64,
        save_idle: config.maxmemory_policy.contains("lru"),
    }
}

/// Writes the dataset to `dir/dbfilename` through a temp file (Redis: `rdbSave`).
pub fn write_rdb_file(dbs: &[Db], config: &Config, now: Ms) -> io::Result<()> {
    // Relative to the working directory, which is `dir` (see [`rdb_path`]).
    let dir = Path::new(".");
    let temp = PathBuf::from(format!("temp-{}.rdb", std::process::id()));
    let opts = save_options(config, now);
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
            rdb::save(dbs, &opts, &mut out)?;
            out.flush()?;
            let file = out.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
            std::fs::rename(&temp, rdb_path(config))?;
            // Make the rename itself durable (Redis: `fsyncFileDir`).
            std::fs::File::open(dir).and_then(|d| d.sync_all())
        });
    if let Err(e) = &written {
        warn!("Write error saving DB on disk: {e}");
        let _ = std::fs::remove_file(&temp);
    }
    written
}

/// A save that counts: on success the change counter restarts and LASTSAVE moves.
pub fn save(dbs: &[Db], srv: &mut ServerState, now: Ms) -> io::Result<()> {
    write_rdb_file(dbs, &srv.config, now)?;
    info!("DB saved on disk");
    srv.dirty = 0;
    srv.rdb.last_save_ms = Some(now);
    srv.rdb.saves += 1;
    Ok(())
}

/// Loads `dir/dbfilename` into `dbs`, replacing their contents, and logs as Redis does.
/// `Ok(false)` when there is no file; `Err` (already logged) when the file is unreadable or
/// bad, which stops startup as in Redis.
pub fn load_rdb_file(dbs: &mut [Db], srv: &mut ServerState, now: Ms) -> Result<bool, String> {
    let path = rdb_path(&srv.config);
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
    let opts = LoadOptions {
        verify_checksum: srv.config.rdbchecksum,
        now_ms: now,
        limits: limits(&srv.config),
    };
    let source = io::BufReader::with_capacity(1 << 20, file);
    let loaded = rdb::load_from(source, len, dbs, &opts).map_err(|e| {
        error!(
            "Internal error in RDB reading offset {} of {}: {}",
            e.offset,
            path.display(),
            e.message
        );
        "Terminating server after rdb file reading failure.".to_string()
    })?;
    let aux_text =
        |name| String::from_utf8_lossy(loaded.aux(name).unwrap_or_default()).into_owned();
    if loaded.aux("redis-ver").is_some() {
        info!("Loading RDB produced by version {}", aux_text("redis-ver"));
    }
    if let Some(ctime) = loaded.aux("ctime").and_then(crate::util::parse_i64) {
        info!("RDB age {} seconds", (now / 1000 - ctime).max(0));
    }
    if let Some(mem) = loaded.aux("used-mem").and_then(crate::util::parse_i64) {
        info!(
            "RDB memory usage when created {:.2} Mb",
            mem as f64 / (1024.0 * 1024.0)
        );
    }
    if loaded.checksum == rdb::Checksum::NotComputed {
        warn!("RDB file was saved with checksum disabled: no check performed.");
    }
    if !loaded.functions.is_empty() {
        warn!(
            "The RDB file holds {} function libraries; ferrodis has no FUNCTION support, they are not loaded.",
            loaded.functions.len()
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
    info!(
        "DB loaded from disk: {:.3} seconds",
        started.elapsed().as_secs_f64()
    );
    srv.rdb.last_load_keys_loaded = loaded.keys_loaded as u64;
    srv.rdb.last_load_keys_expired = loaded.expired_skipped as u64;
    Ok(true)
}

/// The final save of a SIGTERM/SIGINT shutdown when save points are configured (Redis:
/// `prepareForShutdown`). False if the save failed: Redis then refuses to exit.
pub fn save_before_signal_exit(dbs: &[Db], srv: &mut ServerState, now: Ms) -> bool {
    if srv.config.save.is_empty() {
        return true;
    }
    warn!("Saving the final RDB snapshot before exiting.");
    if save(dbs, srv, now).is_err() {
        warn!("Error trying to save the DB, can't exit.");
        warn!("SIGTERM received but errors trying to shut down the server, check the logs for more information");
        return false;
    }
    true
}

/// SAVE — writes the dataset now, blocking the server (Redis: `saveCommand`).
fn save_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    match save(ctx.dbs, ctx.srv, ctx.now) {
        Ok(()) => {
            ctx.out.ok();
            Ok(())
        }
        Err(_) => Err(CommandError::Custom("ERR".into())),
    }
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
    match load_rdb_file(ctx.dbs, ctx.srv, ctx.now) {
        Ok(true) => {}
        _ => return Err(CommandError::err("Error trying to load the RDB dump")),
    }
    warn!("DB reloaded by DEBUG RELOAD");
    ctx.out.ok();
    Ok(())
}
