//! DUMP, RESTORE and MIGRATE: one key's value as a self-checking blob, back, and moved to
//! another server (Redis: `cluster.c`, `dumpCommand`, `restoreCommand`, `createDumpPayload`,
//! `verifyDumpPayload`, `migrateCommand`, `migrateGetSocket`).
//!
//! The payload is the value exactly as an RDB file holds it (type byte, then the value in the
//! same encoding), followed by the RDB version as u16 LE and a CRC64 of everything before the
//! CRC as u64 LE ([`crate::persist::rdb::dump_payload`]). So a payload DUMPed by redis-server
//! RESTOREs here and the reverse, and a corrupted or truncated one is refused before any of it
//! is trusted: the loader behind it is the RDB loader, which never panics on bad bytes.
//!
//! ```text
//!   DUMP key ──> lookup ──> rdb::dump_payload(value) ──> bulk
//!   RESTORE key ttl payload ──> options ──> BUSYKEY? ──> rdb::restore_payload (CRC, version,
//!       whole value) ──> [REPLACE: delete old] ──> add + expire + LRU idle ──> "restore" event
//!   MIGRATE host port key|"" db timeout [COPY] [REPLACE] [AUTH pw | AUTH2 user pw] [KEYS k..]
//!       ──> cached connection to host:port ──> [AUTH] [SELECT db] RESTORE k ttl payload [REPLACE]
//!       per key, one write ──> read one reply per command ──> keys the target acknowledged are
//!       deleted here (unless COPY)
//! ```
//!
//! MIGRATE blocks the server while it talks to the target, exactly as Redis's does (it uses
//! blocking socket calls bounded by `timeout`): the command is atomic for both servers, which is
//! its point. Connections are cached per `host:port` for 10 seconds (at most 64), so moving many
//! keys one MIGRATE at a time does not reconnect each time; the cron closes idle ones.

use super::args;
use super::error::{CommandError, CommandResult};
use super::keyspec::{key_flags::*, GetKeys, KeySpec};
use super::notify::NOTIFY_GENERIC;
use super::table::{flags::*, CommandSpec};
use super::{notify, propagate, signal_key_as_ready, signal_modified_key, Ctx};
use crate::db::{evict, lru_clock, Ms};
use crate::persist::rdb;
use hashbrown::HashMap;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("dump", dump_command, 2, READONLY, "generic")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .tips(&["nondeterministic_output"])
        .acl(&["@keyspace"])
        .doc(
            "Return a serialized version of the value stored at the specified key.",
            "2.6.0",
        ),
    CommandSpec::new("restore", restore_command, -4, WRITE | DENYOOM, "generic")
        .key_specs(&[KeySpec::at(1, OW | UPDATE)])
        .acl(&["@keyspace", "@dangerous"])
        .doc(
            "Create a key using the provided serialized value, previously obtained using DUMP.",
            "2.6.0",
        ),
    CommandSpec::new(
        "migrate",
        migrate_command,
        -6,
        WRITE | MOVABLE_KEYS,
        "generic",
    )
    .key_specs(&[
        KeySpec::at(3, RW | ACCESS | DELETE),
        KeySpec::keyword("KEYS", -2, RW | ACCESS | DELETE | INCOMPLETE).range(-1, 1, 0),
    ])
    .getkeys(GetKeys::Migrate)
    .tips(&["nondeterministic_output"])
    .acl(&["@keyspace", "@dangerous"])
    .doc(
        "Atomically transfer a key from a Redis instance to another one.",
        "2.6.0",
    ),
];

/// How long an unused cached MIGRATE connection lives (Redis: `MIGRATE_SOCKET_CACHE_TTL`).
const MIGRATE_SOCKET_TTL_MS: Ms = 10_000;
/// At most this many cached connections (Redis: `MIGRATE_SOCKET_CACHE_ITEMS`).
const MIGRATE_SOCKET_MAX: usize = 64;
/// Longest reply line read from the target (Redis reads into a 1 KB buffer).
const MIGRATE_REPLY_LINE_MAX: usize = 1024;

/// Connections MIGRATE keeps open, by `host:port` (Redis: `server.migrate_cached_sockets`).
#[derive(Default)]
pub struct MigrateSockets {
    sockets: HashMap<Vec<u8>, CachedSocket>,
}

struct CachedSocket {
    conn: BufReader<TcpStream>,
    /// The database last SELECTed on it, so the next MIGRATE to it can skip SELECT.
    last_db: Option<i64>,
    last_use_ms: Ms,
}

impl MigrateSockets {
    /// INFO `migrate_cached_sockets`.
    pub fn len(&self) -> usize {
        self.sockets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sockets.is_empty()
    }

    /// Closes connections unused for 10 s (Redis: `migrateCloseTimedoutSockets`, from cron).
    pub fn close_timed_out(&mut self, now: Ms) {
        self.sockets
            .retain(|_, s| now - s.last_use_ms <= MIGRATE_SOCKET_TTL_MS);
    }
}

/// DUMP key — the key's value as a payload, or nil.
fn dump_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let now = ctx.now;
    let compression = ctx.srv.config.rdbcompression;
    let Some(obj) = ctx.dbs[ctx.db].lookup_read(argv[1], now, true) else {
        ctx.out.null();
        return Ok(());
    };
    let payload = rdb::dump_payload(&obj.value, compression);
    ctx.out.bulk(&payload);
    Ok(())
}

/// RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency] — OK.
/// `ttl` is in milliseconds (0: no expiry), absolute with ABSTTL; a TTL already in the past
/// leaves no key (and removes the old one under REPLACE, as a DEL).
fn restore_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let (key, now) = (argv[1], ctx.now);
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq): (Option<i64>, Option<i64>) = (None, None);
    let mut j = 4;
    while j < argv.len() {
        let has_value = j + 1 < argv.len();
        if args::is(argv[j], "REPLACE") {
            replace = true;
        } else if args::is(argv[j], "ABSTTL") {
            absttl = true;
        } else if args::is(argv[j], "IDLETIME") && has_value && freq.is_none() {
            let n = args::int(argv[j + 1])?;
            if n < 0 {
                return Err(CommandError::Err("Invalid IDLETIME value, must be >= 0"));
            }
            idle = Some(n);
            j += 1;
        } else if args::is(argv[j], "FREQ") && has_value && idle.is_none() {
            let n = args::int(argv[j + 1])?;
            if !(0..=255).contains(&n) {
                return Err(CommandError::Err(
                    "Invalid FREQ value, must be >= 0 and <= 255",
                ));
            }
            freq = Some(n);
            j += 1;
        } else {
            return Err(CommandError::Syntax);
        }
        j += 1;
    }
    if !replace && ctx.dbs[ctx.db].lookup_write(key, now).is_some() {
        return Err(CommandError::Custom(
            "BUSYKEY Target key name already exists.".into(),
        ));
    }
    let ttl = args::int(argv[2])?;
    if ttl < 0 {
        return Err(CommandError::Err("Invalid TTL value, must be >= 0"));
    }
    let limits = super::persistence::encoding_limits(&ctx.srv.config);
    let verify = ctx.srv.config.rdbchecksum && !ctx.srv.config.skip_checksum_validation;
    let value = match rdb::restore_payload(argv[3], verify, &limits) {
        Ok(value) => value,
        Err(e) if e.message.starts_with("payload version or checksum") => {
            return Err(CommandError::Err(
                "DUMP payload version or checksum are wrong",
            ))
        }
        Err(e) => {
            // Redis logs what was wrong at verbose level (`rdbReportError` in a RESTORE
            // context) and replies with the generic error.
            log::debug!(
                "Internal error in RDB reading offset 0, function at rdb.c:0 -> {}",
                e.message
            );
            return Err(CommandError::Err("Bad data format"));
        }
    };
    let deleted = replace && ctx.dbs[ctx.db].remove(key).is_some();
    let when = match ttl {
        0 => None,
        t if absttl => Some(t),
        t => Some(t.saturating_add(now)),
    };
    if when.is_some_and(|when| super::check_already_expired(ctx.srv, now, when)) {
        // Already expired: the key is not created (Redis: `checkAlreadyExpired`); replicas
        // see the deletion of the old one.
        if deleted {
            propagate::rewrite(ctx, || vec![b"DEL".to_vec(), key.to_vec()]);
            signal_modified_key(ctx, key);
            notify(ctx, NOTIFY_GENERIC, "del", key);
            ctx.srv.dirty += 1;
        }
        ctx.out.ok();
        return Ok(());
    }
    let db = &mut ctx.dbs[ctx.db];
    let obj = db.add(key, value, now);
    // Under an LFU policy FREQ sets the access counter; under any other, IDLETIME sets the
    // LRU clock back (Redis: `objectSetLRUOrLFU`). The other option is ignored.
    if evict::object_clock().lfu {
        if let Some(freq) = freq {
            evict::set_lfu_counter(obj, freq as u8, now);
        }
    } else if let Some(idle) = idle {
        obj.lru = lru_clock(now).saturating_sub(u32::try_from(idle).unwrap_or(u32::MAX));
    }
    if let Some(when) = when {
        db.set_expire(key, when);
        if !absttl {
            // Replicas get the TTL as an absolute time (Redis: the RESTORE ... ABSTTL rewrite).
            propagate::rewrite(ctx, || {
                let mut argv: Vec<Vec<u8>> = argv.iter().map(|a| a.to_vec()).collect();
                argv[2] = when.to_string().into_bytes();
                argv.push(b"ABSTTL".to_vec());
                argv
            });
        }
    }
    signal_key_as_ready(ctx, key);
    signal_modified_key(ctx, key);
    notify(ctx, NOTIFY_GENERIC, "restore", key);
    ctx.out.ok();
    ctx.srv.dirty += 1;
    Ok(())
}

/// How a MIGRATE exchange with the target failed.
enum MigrateIoError {
    Write(io::Error),
    Read(io::Error),
}

impl MigrateIoError {
    fn timed_out(&self) -> bool {
        let (MigrateIoError::Write(e) | MigrateIoError::Read(e)) = self;
        matches!(
            e.kind(),
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
        )
    }
}

/// MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH password]
/// [AUTH2 username password] [KEYS key [key ...]] — OK, NOKEY when none of the keys exists, or
/// the target's error. Without COPY, the keys the target acknowledged are deleted here.
fn migrate_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let (mut copy, mut replace) = (false, false);
    let mut auth: Option<(Option<&[u8]>, &[u8])> = None;
    let mut keys: &[&[u8]] = &argv[3..4];
    let mut j = 6;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        if args::is(argv[j], "COPY") {
            copy = true;
        } else if args::is(argv[j], "REPLACE") {
            replace = true;
        } else if args::is(argv[j], "AUTH") && more >= 1 {
            auth = Some((None, argv[j + 1]));
            ctx.redact_argument(j + 1);
            j += 1;
        } else if args::is(argv[j], "AUTH2") && more >= 2 {
            auth = Some((Some(argv[j + 1]), argv[j + 2]));
            ctx.redact_argument(j + 1);
            ctx.redact_argument(j + 2);
            j += 2;
        } else if args::is(argv[j], "KEYS") {
            if !argv[3].is_empty() {
                return Err(CommandError::Err(
                    "When using MIGRATE KEYS option, the key argument must be set to the empty \
                     string",
                ));
            }
            keys = &argv[j + 1..];
            break;
        } else {
            return Err(CommandError::Syntax);
        }
        j += 1;
    }
    let timeout = args::int(argv[5])?;
    let db = args::int(argv[4])?;
    let timeout = Duration::from_millis(if timeout <= 0 { 1000 } else { timeout as u64 });
    let now = ctx.now;
    let present: Vec<&[u8]> = keys
        .iter()
        .copied()
        .filter(|k| ctx.dbs[ctx.db].lookup_read(k, now, true).is_some())
        .collect();
    if present.is_empty() {
        ctx.out.simple("NOKEY");
        return Ok(());
    }
    let target = [argv[1], b":", argv[2]].concat();
    // One retry on a socket error that is not a timeout: the cached connection may have been
    // closed by the other side since its last use (Redis: `may_retry`).
    let mut may_retry = true;
    loop {
        match migrate_once(
            ctx, argv, &target, db, timeout, &present, copy, replace, auth,
        ) {
            Ok(reply) => return reply,
            Err(e) => {
                ctx.srv.migrate_sockets.sockets.remove(&target);
                if may_retry && !e.timed_out() {
                    may_retry = false;
                    continue;
                }
                let what = match e {
                    MigrateIoError::Write(_) => "writing",
                    MigrateIoError::Read(_) => "reading",
                };
                return Err(CommandError::Custom(format!(
                    "IOERR error or timeout {what} to target instance"
                )));
            }
        }
    }
}

/// One attempt: send everything, read the replies, delete what was acknowledged. `Err` is a
/// socket error before any key was acknowledged (the caller may retry); once keys moved, a
/// socket error is reported as the command's reply instead.
#[allow(clippy::too_many_arguments)]
fn migrate_once(
    ctx: &mut Ctx,
    argv: &[&[u8]],
    target: &[u8],
    db: i64,
    timeout: Duration,
    keys: &[&[u8]],
    copy: bool,
    replace: bool,
    auth: Option<(Option<&[u8]>, &[u8])>,
) -> Result<CommandResult, MigrateIoError> {
    let now = ctx.now;
    let compression = ctx.srv.config.rdbcompression;
    let sockets = &mut ctx.srv.migrate_sockets;
    let Some(socket) = migrate_socket(sockets, now, argv[1], argv[2], target, timeout) else {
        return Ok(Err(CommandError::Custom(
            "IOERR error or timeout connecting to the client".into(),
        )));
    };
    let select = socket.last_db != Some(db);
    let mut request = Vec::new();
    if let Some((user, password)) = auth {
        let mut cmd: Vec<&[u8]> = vec![b"AUTH"];
        cmd.extend(user);
        cmd.push(password);
        encode_command(&mut request, &cmd);
    }
    if select {
        encode_command(&mut request, &[b"SELECT", db.to_string().as_bytes()]);
    }
    // Keys that expire between the lookup above and now are left out (Redis's `non_expired`).
    let mut sent: Vec<&[u8]> = Vec::new();
    let source = &mut ctx.dbs[ctx.db];
    for &key in keys {
        let ttl = match source.get_expire(key) {
            Some(when) if when - now < 0 => continue,
            Some(when) => (when - now).max(1),
            None => 0,
        };
        let Some(obj) = source.dict.get(key) else {
            continue;
        };
        let payload = rdb::dump_payload(&obj.value, compression);
        let ttl = ttl.to_string();
        let mut cmd: Vec<&[u8]> = vec![b"RESTORE", key, ttl.as_bytes(), &payload];
        if replace {
            cmd.push(b"REPLACE");
        }
        encode_command(&mut request, &cmd);
        sent.push(key);
    }
    let conn = &mut socket.conn;
    conn.get_mut()
        .set_write_timeout(Some(timeout))
        .and_then(|()| conn.get_mut().set_read_timeout(Some(timeout)))
        .and_then(|()| conn.get_mut().write_all(&request))
        .map_err(MigrateIoError::Write)?;
    let auth_reply = match auth {
        Some(_) => Some(read_reply_line(conn).map_err(MigrateIoError::Read)?),
        None => None,
    };
    let select_reply = match select {
        true => Some(read_reply_line(conn).map_err(MigrateIoError::Read)?),
        false => None,
    };
    let mut target_error: Option<Vec<u8>> = None;
    let mut moved: Vec<&[u8]> = Vec::new();
    let mut socket_error = false;
    for (i, &key) in sent.iter().enumerate() {
        let reply = match read_reply_line(conn) {
            Ok(reply) => reply,
            // Nothing acknowledged yet: let the caller retry on a fresh connection.
            Err(e) if i == 0 => return Err(MigrateIoError::Read(e)),
            Err(_) => {
                socket_error = true;
                break;
            }
        };
        let reply = Some(reply);
        let failed = [&auth_reply, &select_reply, &reply]
            .into_iter()
            .flatten()
            .find(|r| r.first() == Some(&b'-'));
        match failed {
            Some(err) => {
                target_error.get_or_insert_with(|| err[1..].to_vec());
            }
            None => moved.push(key),
        }
    }
    if !copy {
        for &key in &moved {
            ctx.dbs[ctx.db].remove(key);
            signal_modified_key(ctx, key);
            notify(ctx, NOTIFY_GENERIC, "del", key);
            ctx.srv.dirty += 1;
        }
        // Replicas delete what the target acknowledged (Redis rewrites MIGRATE as DEL).
        if !moved.is_empty() {
            propagate::rewrite(ctx, || {
                let mut argv = vec![b"DEL".to_vec()];
                argv.extend(moved.iter().map(|k| k.to_vec()));
                argv
            });
        }
    }
    let socket = ctx.srv.migrate_sockets.sockets.get_mut(target);
    if let Some(err) = target_error {
        if let Some(socket) = socket {
            socket.last_db = None;
        }
        return Ok(Err(CommandError::Custom(format!(
            "ERR Target instance replied with error: {}",
            String::from_utf8_lossy(&err)
        ))));
    }
    if socket_error {
        ctx.srv.migrate_sockets.sockets.remove(target);
        return Ok(Err(CommandError::Custom(
            "IOERR error or timeout reading to target instance".into(),
        )));
    }
    if let Some(socket) = socket {
        socket.last_db = Some(db);
    }
    ctx.out.ok();
    Ok(Ok(()))
}

/// The cached connection to `host:port`, opened if needed (Redis: `migrateGetSocket`).
fn migrate_socket<'s>(
    cache: &'s mut MigrateSockets,
    now: Ms,
    host: &[u8],
    port: &[u8],
    target: &[u8],
    timeout: Duration,
) -> Option<&'s mut CachedSocket> {
    let sockets = &mut cache.sockets;
    if !sockets.contains_key(target) {
        if sockets.len() >= MIGRATE_SOCKET_MAX {
            // Too many: drop one (Redis drops one at random).
            let victim = sockets.keys().next().cloned();
            if let Some(victim) = victim {
                sockets.remove(&victim);
            }
        }
        let stream = connect(host, port, timeout)?;
        let _ = stream.set_nodelay(true);
        sockets.insert(
            target.to_vec(),
            CachedSocket {
                conn: BufReader::new(stream),
                last_db: None,
                last_use_ms: now,
            },
        );
    }
    let socket = sockets.get_mut(target)?;
    socket.last_use_ms = now;
    Some(socket)
}

/// A blocking connection to `host:port` within `timeout`, trying each resolved address.
fn connect(host: &[u8], port: &[u8], timeout: Duration) -> Option<TcpStream> {
    let host = std::str::from_utf8(host).ok()?;
    let port: u16 = std::str::from_utf8(port).ok()?.parse().ok()?;
    (host, port)
        .to_socket_addrs()
        .ok()?
        .find_map(|addr| TcpStream::connect_timeout(&addr, timeout).ok())
}

/// One reply line from the target, without its CRLF, at most 1 KB (Redis:
/// `connSyncReadLine`). A longer line is cut: only its first byte (`+` / `-`) and the start
/// of an error text are used.
fn read_reply_line(conn: &mut BufReader<TcpStream>) -> io::Result<Vec<u8>> {
    let mut line = Vec::new();
    loop {
        let available = conn.fill_buf()?;
        if available.is_empty() {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
            Some(at) => (&available[..=at], true),
            None => (available, false),
        };
        let room = MIGRATE_REPLY_LINE_MAX.saturating_sub(line.len());
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let used = chunk.len();
        conn.consume(used);
        if done {
            while matches!(line.last(), Some(b'\n' | b'\r')) {
                line.pop();
            }
            return Ok(line);
        }
    }
}

/// Appends `args` as a RESP multibulk command.
fn encode_command(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}
