//! The master side of replication, as far as an attached reader needs it (Redis:
//! `replication.c` — `syncCommand`, `replconfCommand`, `replicationFeedSlaves`, the PING of
//! `replicationCron`, and the INFO replication fields).
//!
//! # The stream
//!
//! A replica asks with `SYNC`, or `PSYNC <replid> <offset>` (answered `+FULLRESYNC <replid>
//! <offset>` first). It then receives, on the same connection:
//!
//! ```text
//!   $<len>\r\n<RDB image of the data at that instant>      (no CRLF after the image)
//!   *2 SELECT <db>   *3 SET k v   *1 MULTI ... *1 EXEC   *1 PING ...      (the stream)
//! ```
//!
//! The stream is what [`super::propagate`] funnels out, encoded as RESP arrays of bulk strings
//! and appended once to the replication buffer that the backlog and every replica share
//! ([`super::replbuf`]: each replica reads it from its own cursor). One stream serves all, so
//! there is one idea of "the selected database" (Redis's `slaveseldb`): a `SELECT` is written
//! whenever the next command's database differs, and a new full sync forgets the selection so
//! that the new replica (and the others, harmlessly) get a `SELECT` before the next command.
//! `master_repl_offset` counts the stream's bytes.
//!
//! The RDB image is made by a forked child, and the stream written meanwhile is held for the
//! replica (its cursor waits at the fork's offset) until the image has been sent:
//! [`super::fullsync`] tells how.
//!
//! # Replica clients
//!
//! A client that synced is flagged ([`ReplicaLink::attached`]): its output is the stream,
//! from its cursor in the shared buffer, not replies. It is listed in INFO replication
//! (`slaveN:`), not in `connected_clients`, not closed for idleness, and its output is limited
//! by the `replica` class of `client-output-buffer-limit`. A command it sends that would produce a reply
//! closes it, as Redis does ("Replica generated a reply"); `REPLCONF ACK` produces none.

use super::client::Client;
use super::error::{CommandError, CommandResult};
use super::fullsync::{self, SyncState};
use super::replbuf::ReplicationBacklog;
use super::state::ServerState;
use super::table::{flags::*, CommandSpec};
use super::Ctx;
use crate::db::Ms;
use crate::persist::rdb::ReplSaveInfo;
use log::{info, warn};
use rand::Rng;
use slab::Slab;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "sync",
        sync_command,
        1,
        ADMIN | NOSCRIPT | NO_ASYNC_LOADING | NO_MULTI,
        "server",
    )
    .doc("Internal command used for replication", "1.0.0"),
    CommandSpec::new(
        "psync",
        sync_command,
        -3,
        ADMIN | NOSCRIPT | NO_ASYNC_LOADING | NO_MULTI,
        "server",
    )
    .doc("Internal command used for replication", "2.8.0"),
    CommandSpec::new(
        "replconf",
        replconf_command,
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | ALLOW_BUSY,
        "server",
    )
    .doc(
        "An internal command for configuring the replication stream",
        "3.0.0",
    ),
    CommandSpec::new(
        "replicaof",
        super::replica::replicaof_command,
        3,
        ADMIN | NOSCRIPT | STALE | NO_ASYNC_LOADING,
        "server",
    )
    .doc(
        "Make the server a replica of another instance, or promote it as master.",
        "5.0.0",
    ),
    CommandSpec::new(
        "slaveof",
        super::replica::replicaof_command,
        3,
        ADMIN | NOSCRIPT | STALE | NO_ASYNC_LOADING,
        "server",
    )
    .doc(
        "Make the server a replica of another instance, or promote it as master.",
        "1.0.0",
    ),
    CommandSpec::new("wait", wait_command, 3, NOSCRIPT, "connection")
        .tips(&["request_policy:all_shards", "response_policy:agg_min"])
        .doc(
            "Wait for the synchronous replication of all the write commands sent in the context of the current connection",
            "3.0.0",
        ),
];

/// The replication stream and the replicas reading it (Redis: the replication part of
/// `redisServer`).
pub struct ReplicationFeed {
    /// The replication id of the stream (Redis: `server.replid`).
    pub replid: String,
    /// The id of the history this server continued from before its current one: a promoted
    /// replica keeps its old master's id here, so its siblings may continue partially up to
    /// `second_repl_offset` (Redis: `server.replid2`, PSYNC2).
    pub replid2: String,
    /// Bytes written to the stream so far (Redis: `master_repl_offset`); on a replica, the
    /// bytes of its master's stream applied so far.
    pub master_repl_offset: i64,
    /// The first offset that is *not* part of `replid2`'s history, or -1.
    pub second_repl_offset: i64,
    /// The last bytes of the stream, for partial resynchronization; created when the first
    /// replica attaches and kept after the last one left, for `repl-backlog-ttl` seconds.
    pub backlog: Option<ReplicationBacklog>,
    /// Slab keys of the attached replicas, in attach order.
    replicas: Vec<usize>,
    /// The pipe a diskless snapshot child writes into, while the loop reads it.
    pub rdb_pipe: Option<fullsync::RdbPipe>,
    /// The database the stream last selected; `None` forces a SELECT before the next command.
    selected_db: Option<usize>,
    /// Calls of [`replication_cron`] (once a second), for the PING period.
    cron_loops: u64,
    /// Since when no replica is attached (for `repl-backlog-ttl`), Unix ms; 0 while some are.
    no_replicas_since: Ms,
    /// Clients blocked in WAIT, in arrival order.
    waiting_for_acks: Vec<usize>,
    /// A WAIT asked the replicas for their offsets: `REPLCONF GETACK *` goes out before the
    /// loop sleeps (Redis: `server.get_ack_from_slaves`).
    get_ack_from_replicas: bool,
    pub sync_full: u64,
    pub sync_partial_ok: u64,
    pub sync_partial_err: u64,
}

impl Default for ReplicationFeed {
    fn default() -> Self {
        ReplicationFeed {
            replid: random_id(&mut <rand::rngs::SmallRng as rand::SeedableRng>::from_os_rng()),
            replid2: NULL_REPLID.to_string(),
            master_repl_offset: 0,
            second_repl_offset: -1,
            backlog: None,
            replicas: Vec::new(),
            rdb_pipe: None,
            selected_db: None,
            cron_loops: 0,
            no_replicas_since: 0,
            waiting_for_acks: Vec::new(),
            get_ack_from_replicas: false,
            sync_full: 0,
            sync_partial_ok: 0,
            sync_partial_err: 0,
        }
    }
}

/// The replication id of no history (Redis prints it for an unset `master_replid2`).
pub const NULL_REPLID: &str = "0000000000000000000000000000000000000000";

impl ReplicationFeed {
    /// Is the stream being produced (there is a backlog to feed)?
    pub fn active(&self) -> bool {
        self.backlog.is_some()
    }

    pub fn replica_count(&self) -> usize {
        self.replicas.len()
    }

    /// The slab keys of the attached replicas.
    pub fn replica_keys(&self) -> &[usize] {
        &self.replicas
    }

    /// Starts a new history: the current id becomes the secondary one, valid up to the
    /// current offset (Redis: `shiftReplicationId`, when a replica is promoted or its master
    /// continued with another id).
    pub fn shift_replid(&mut self, new_id: String) {
        self.replid2 = std::mem::replace(&mut self.replid, new_id);
        self.second_repl_offset = self.master_repl_offset + 1;
        info!(
            "Setting secondary replication ID to {}, valid up to offset: {}. New replication ID is {}",
            self.replid2, self.second_repl_offset, self.replid
        );
    }

    /// The next command written to the stream is preceded by a SELECT.
    pub fn force_select(&mut self) {
        self.selected_db = None;
    }

    /// Forgets the secondary id (Redis: `clearReplicationId2`).
    pub fn clear_replid2(&mut self) {
        self.replid2 = NULL_REPLID.to_string();
        self.second_repl_offset = -1;
    }

    /// Makes sure a backlog exists, sized `size` (Redis: `createReplicationBacklog`).
    pub fn create_backlog(&mut self, size: usize) {
        if self.backlog.is_none() {
            self.backlog = Some(ReplicationBacklog::new(size, self.master_repl_offset + 1));
        }
    }

    /// Appends stream bytes to the shared buffer and moves the offset; true if a block was
    /// added (Redis: the tail of `replicationFeedSlaves`, and
    /// `replicationFeedStreamFromMasterStream` for the bytes a replica proxies to its own
    /// replicas).
    fn append(&mut self, bytes: &[u8]) -> bool {
        self.master_repl_offset += bytes.len() as i64;
        match &mut self.backlog {
            Some(backlog) => {
                debug_assert_eq!(
                    backlog.next_offset(),
                    self.master_repl_offset - bytes.len() as i64 + 1
                );
                backlog.append(bytes)
            }
            None => false,
        }
    }
}

/// What the master knows about a client that is (or is about to become) a replica.
#[derive(Default, Clone)]
pub struct ReplicaLink {
    /// It synced: its output buffer carries the stream.
    pub attached: bool,
    /// REPLCONF listening-port.
    pub listening_port: i64,
    /// REPLCONF ip-address (replica-announce-ip), if it sent one.
    pub announced_ip: Option<String>,
    /// The last REPLCONF ACK offset and when it came (or when the replica attached).
    pub ack_offset: i64,
    pub ack_time: Ms,
    /// REPLCONF capa psync2: it understands `+CONTINUE <replid>`.
    pub capa_psync2: bool,
    /// REPLCONF capa eof: it can read a diskless snapshot (`$EOF:<mark>`).
    pub capa_eof: bool,
    /// It asked with SYNC, not PSYNC: no `+FULLRESYNC` line, and no ACKs to expect
    /// (Redis: `CLIENT_PRE_PSYNC`).
    pub pre_psync: bool,
    /// Where its synchronization stands ([`super::fullsync`]).
    pub state: SyncState,
    /// The offset its snapshot continues from (Redis: `psync_initial_offset`).
    pub initial_offset: i64,
    /// Online after a diskless sync: its stream waits for its first REPLCONF ACK.
    pub stream_on_ack: bool,
    /// Its cursor in the shared replication buffer: the stream offset of the next byte it is
    /// to be sent; `None` before its snapshot's fork ([`super::replbuf`]).
    pub stream_offset: Option<i64>,
}

impl ReplicaLink {
    /// Its output buffer is not written yet: it holds the stream written since its
    /// snapshot's fork until the snapshot itself has been sent.
    pub fn holds_stream(&self) -> bool {
        self.attached && (self.state != SyncState::Online || self.stream_on_ack)
    }
}

/// A random 40-hex-digit id (Redis: `getRandomHexChars`), for run ids and replication ids.
pub fn random_id(rng: &mut impl Rng) -> String {
    (0..40)
        .map(|_| char::from_digit(rng.random_range(0..16u32), 16).unwrap_or('0'))
        .collect()
}

/// A numeric configuration parameter stored as text (the replication knobs).
pub fn config_i64(ctx: &Ctx, name: &str, default: i64) -> i64 {
    ctx.srv
        .config
        .get(name)
        .and_then(|v| crate::util::parse_i64(v.as_bytes()))
        .unwrap_or(default)
}

/// A yes/no directive of [`crate::config::TEXT_DIRECTIVES`], `default` if unset.
pub fn config_flag(ctx: &Ctx, name: &str, default: bool) -> bool {
    ctx.srv
        .config
        .get(name)
        .map_or(default, |v| v.eq_ignore_ascii_case("yes"))
}

/// Where the stream stands, to be saved in an RDB image (Redis: `rdbPopulateSaveInfo`): on a
/// master that has a backlog (it is, or was lately, in a replication chain), the database the
/// stream last selected (0 if none: the next command writes a SELECT anyway); on a replica
/// with a history, the database its master's stream is in. `None` otherwise: the image then
/// carries no replication position and a restart begins a new history.
pub fn rdb_save_info(srv: &ServerState) -> Option<ReplSaveInfo> {
    let repl = &srv.propagation.repl;
    let stream_db = if srv.master.is_replica() {
        srv.master.saved_stream_db()?
    } else {
        repl.backlog.as_ref()?;
        repl.selected_db.unwrap_or(0)
    };
    Some(ReplSaveInfo {
        stream_db,
        replid: repl.replid.clone(),
        offset: repl.master_repl_offset,
    })
}

/// Continues the replication history an RDB file was saved with, at startup (Redis: the end
/// of `loadDataFromDisk`).
///
/// A replica takes back its master's id and offset, and asks `PSYNC <id> <offset+1>` when
/// it connects (Redis: `replicationCacheMasterUsingMyself`). A master cannot keep its id
/// (another server may have continued that history meanwhile): it starts a new id and keeps
/// the saved one as its secondary, valid up to the saved offset, like a promoted replica, so
/// its replicas continue partially. Its backlog was created before the load, and the deletion
/// of every key that expired while it was down went into it (`expired`, in file order, as
/// `DEL` or `UNLINK` after a `SELECT`); the stream's offsets are then moved to continue the
/// saved one. Without a valid position that backlog is dropped: no replica can continue.
pub fn restore_from_rdb(ctx: &mut Ctx, info: Option<ReplSaveInfo>, expired: &[(usize, Vec<u8>)]) {
    if ctx.srv.master.is_replica() {
        if let Some(info) = info {
            let repl = &mut ctx.srv.propagation.repl;
            repl.replid = info.replid;
            repl.master_repl_offset = info.offset;
            ctx.srv.master.continue_history(info.stream_db);
        }
        return;
    }
    let delete: &[u8] = if ctx.srv.config.lazyfree_lazy_expire {
        b"UNLINK"
    } else {
        b"DEL"
    };
    for (db, key) in expired {
        feed(ctx, Some(*db), &[delete.to_vec(), key.clone()]);
    }
    let now = ctx.now;
    let repl = &mut ctx.srv.propagation.repl;
    let Some(info) = info else {
        repl.backlog = None;
        return;
    };
    repl.replid2 = info.replid;
    repl.second_repl_offset = info.offset + 1;
    repl.master_repl_offset += info.offset;
    if let Some(backlog) = &mut repl.backlog {
        backlog.rebase(info.offset);
    }
    repl.no_replicas_since = now;
}

/// Appends one command to the stream of every replica (Redis: `replicationFeedSlaves`),
/// selecting `db` first if the stream is elsewhere. `db` is `None` for commands that belong
/// to no database (PING). A replica produces no stream of its own: it proxies its master's
/// ([`feed_raw`]).
pub fn feed(ctx: &mut Ctx, db: Option<usize>, argv: &[Vec<u8>]) {
    if !ctx.srv.propagation.repl.active() || ctx.srv.master.is_replica() {
        return;
    }
    let repl = &mut ctx.srv.propagation.repl;
    let mut bytes = Vec::with_capacity(64);
    if let Some(db) = db.filter(|&db| repl.selected_db != Some(db)) {
        encode_command(&mut bytes, &[b"SELECT", db.to_string().as_bytes()]);
        repl.selected_db = Some(db);
    }
    encode_command(&mut bytes, argv);
    feed_raw(ctx, &bytes);
}

/// Appends stream bytes, as they are, to the shared replication buffer, and queues the
/// replicas that read it for writing. When that added a block, trims the backlog and drops the
/// replicas that keep too much of the buffer alive (Redis: the end of `feedReplicationBuffer`,
/// which checks the output limits only then).
pub fn feed_raw(ctx: &mut Ctx, bytes: &[u8]) {
    let added = ctx.srv.propagation.repl.append(bytes);
    for i in 0..ctx.srv.propagation.repl.replicas.len() {
        let key = ctx.srv.propagation.repl.replicas[i];
        let Some(link) = ctx.clients.get(key).map(|c| &c.replica) else {
            continue;
        };
        if link.stream_offset.is_none() {
            continue;
        }
        let holds = link.holds_stream();
        if added {
            close_if_output_limit_reached(ctx, key);
        }
        if !holds {
            ctx.queue_write(key);
        }
    }
    if added {
        trim_backlog(ctx, super::replbuf::TRIM_BLOCKS_PER_CALL);
    }
}

/// Schedules replica `key` to be closed if the part of the replication buffer it keeps alive
/// passed its output limit (Redis: `closeClientOnOutputBufferLimitReached`).
fn close_if_output_limit_reached(ctx: &mut Ctx, key: usize) {
    let (limits, now) = (&ctx.srv.config.client_output_buffer_limit, ctx.now);
    let (Some(backlog), Some(c)) = (
        ctx.srv.propagation.repl.backlog.as_ref(),
        ctx.clients.get_mut(key),
    ) else {
        return;
    };
    if c.close_asap || !c.replica_output_limit_reached(limits, backlog, now) {
        return;
    }
    c.close_for_output_limit(&mut ctx.srv.stats.client_output_buffer_limit_disconnections);
    ctx.queue_write(key);
}

/// The backlog takes `repl-backlog-size` as its size, and shrinks to it by trimming, at
/// CONFIG SET and once a second (Redis: `resizeReplicationBacklog`).
pub fn resize_backlog(ctx: &mut Ctx) {
    let size = config_i64(ctx, "repl-backlog-size", 1 << 20).max(1) as usize;
    if let Some(backlog) = &mut ctx.srv.propagation.repl.backlog {
        backlog.resize(size);
    }
    trim_backlog(ctx, super::replbuf::TRIM_BLOCKS_PER_CALL);
}

/// Drops up to `max_blocks` blocks of the backlog that are past `repl-backlog-size` and that no
/// replica needs ([`super::replbuf`]; Redis: `incrementalTrimReplicationBacklog`).
pub fn trim_backlog(ctx: &mut Ctx, max_blocks: usize) {
    trim_backlog_of(&mut ctx.srv.propagation.repl, ctx.clients, max_blocks);
}

/// [`trim_backlog`] for the loop's close path, which has no `Ctx`: when a replica goes, what
/// only it held goes too (Redis: `freeReplicaReferencedReplBuffer`).
pub fn trim_backlog_of(feed: &mut ReplicationFeed, clients: &Slab<Client>, max_blocks: usize) {
    let Some(backlog) = feed.backlog.as_mut().filter(|b| b.over_size()) else {
        return;
    };
    // The oldest offset some replica is still to be sent: every block from there on stays.
    let keep_from = feed
        .replicas
        .iter()
        .filter_map(|&key| clients.get(key)?.replica.stream_offset)
        .min()
        .unwrap_or(i64::MAX);
    backlog.trim(keep_from, max_blocks);
}

/// `*<n>\r\n` then `$<len>\r\n<arg>\r\n` per argument.
pub fn encode_command<A: AsRef<[u8]>>(out: &mut Vec<u8>, argv: &[A]) {
    out.extend_from_slice(format!("*{}\r\n", argv.len()).as_bytes());
    for arg in argv {
        let arg = arg.as_ref();
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

/// SYNC / PSYNC replid offset — makes the caller a replica. PSYNC first tries to continue
/// the replica's history from the backlog (`+CONTINUE <replid>`, then the bytes it missed);
/// otherwise, and always for SYNC: `+FULLRESYNC <replid> <offset>` (PSYNC only), the RDB
/// image as `$<len>\r\n<bytes>`, then the stream. Redis: `syncCommand`,
/// `masterTryPartialResynchronization`.
pub fn sync_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    if ctx.me().replica.attached {
        return Ok(());
    }
    // PSYNC <replid> <offset> FAILOVER: our master hands us its role (see `failover`).
    if argv.len() > 3 && argv[0].eq_ignore_ascii_case(b"psync") && args_is_failover(argv[3]) {
        super::failover::psync_failover_request(ctx, argv[1])?;
    }
    // No new replica while this server is handing its role over.
    if ctx.srv.failover.in_progress() {
        return Err(CommandError::Custom(
            "NOMASTERLINK Can't SYNC while failing over".into(),
        ));
    }
    if ctx.srv.master.is_replica() && !ctx.srv.master.is_connected() {
        return Err(CommandError::Custom(
            "NOMASTERLINK Can't SYNC while not connected with my master".into(),
        ));
    }
    if !ctx.out.is_empty() {
        return Err(CommandError::Err(
            "SYNC and PSYNC are invalid with pending output",
        ));
    }
    let psync = argv[0].eq_ignore_ascii_case(b"psync");
    info!(
        "Replica {} asks for synchronization",
        fullsync::replica_name(ctx.me())
    );
    if psync {
        let Ok(offset) = super::args::int(argv[2]) else {
            warn!(
                "Replica {} asks for synchronization but with a wrong offset",
                fullsync::replica_name(ctx.me())
            );
            return Err(CommandError::NotInteger);
        };
        if try_partial_resync(ctx, argv[1], offset) {
            ctx.srv.propagation.repl.sync_partial_ok += 1;
            return Ok(());
        }
        if !argv[1].starts_with(b"?") {
            ctx.srv.propagation.repl.sync_partial_err += 1;
        }
    }
    ctx.srv.propagation.repl.sync_full += 1;
    attach_replica(ctx, SyncState::WaitBgsaveStart);
    ctx.me().replica.pre_psync = !psync;
    let size = config_i64(ctx, "repl-backlog-size", 1 << 20).max(1) as usize;
    let new_replid = random_id(&mut ctx.srv.rng);
    let repl = &mut ctx.srv.propagation.repl;
    if repl.backlog.is_none() {
        // A master's stream with no past gets a new id (Redis: changeReplicationId and
        // clearReplicationId2 when the backlog is created); a replica keeps its master's.
        if !ctx.srv.master.is_replica() {
            repl.replid = new_replid;
            repl.clear_replid2();
        }
        repl.create_backlog(size);
        info!(
            "Replication backlog created, my new replication id is '{}'",
            repl.replid
        );
    }
    fullsync::full_sync_requested(ctx);
    Ok(())
}

fn args_is_failover(arg: &[u8]) -> bool {
    arg.eq_ignore_ascii_case(b"failover")
}

/// Flags the caller as a replica, in synchronization state `state`.
fn attach_replica(ctx: &mut Ctx, state: SyncState) {
    let (id, now) = (ctx.id, ctx.now);
    let me = ctx.me();
    me.replica.attached = true;
    me.replica.state = state;
    me.replica.ack_time = now;
    // Its output is the stream from now on: CLIENT REPLY OFF/SKIP must not eat it.
    me.reply_mode = super::client::ReplyMode::On;
    let repl = &mut ctx.srv.propagation.repl;
    repl.replicas.push(id);
    repl.no_replicas_since = 0;
}

/// Continues the caller's history if `replid` is ours (or our previous one, up to where it
/// ended) and the backlog still holds `offset` (Redis: `masterTryPartialResynchronization`).
fn try_partial_resync(ctx: &mut Ctx, replid: &[u8], offset: i64) -> bool {
    let repl = &ctx.srv.propagation.repl;
    let ours = replid == repl.replid.as_bytes();
    let previous = replid == repl.replid2.as_bytes() && offset <= repl.second_repl_offset;
    if !ours && !previous {
        if replid != b"?" {
            info!(
                "Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '{}', my replication IDs are '{}' and '{}')",
                String::from_utf8_lossy(replid),
                repl.replid,
                repl.replid2
            );
        }
        return false;
    }
    let Some(pending) = repl
        .backlog
        .as_ref()
        .filter(|b| b.holds(offset))
        .map(|b| b.next_offset() - offset)
    else {
        info!("Unable to partial resync with replica: lack of backlog (Replica request was: {offset}).");
        return false;
    };
    let psync2 = ctx.me().replica.capa_psync2;
    attach_replica(ctx, SyncState::Online);
    // The bytes it missed are sent from the shared buffer, from its cursor on.
    ctx.me().replica.stream_offset = Some(offset);
    let line = if psync2 {
        format!("+CONTINUE {}\r\n", ctx.srv.propagation.repl.replid)
    } else {
        "+CONTINUE\r\n".to_string()
    };
    ctx.out.raw(line.as_bytes());
    info!(
        "Partial resynchronization request from {} accepted. Sending {pending} bytes of backlog starting from offset {offset}.",
        ctx.me().addr,
    );
    true
}

/// REPLCONF option value [option value ...] — what a replica tells its master: `+OK`, except
/// `ACK` and `GETACK`, which reply nothing (Redis: `replconfCommand`).
pub fn replconf_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    if argv.len().is_multiple_of(2) {
        return Err(CommandError::Syntax);
    }
    for pair in argv[1..].chunks(2) {
        let (option, value) = (pair[0], pair[1]);
        if option.eq_ignore_ascii_case(b"listening-port") {
            let port = super::args::int(value).map_err(|_| CommandError::NotInteger)?;
            ctx.me().replica.listening_port = port;
        } else if option.eq_ignore_ascii_case(b"ip-address") {
            ctx.me().replica.announced_ip = Some(String::from_utf8_lossy(value).into_owned());
        } else if option.eq_ignore_ascii_case(b"capa") {
            if value.eq_ignore_ascii_case(b"psync2") {
                ctx.me().replica.capa_psync2 = true;
            } else if value.eq_ignore_ascii_case(b"eof") {
                ctx.me().replica.capa_eof = true;
            }
        } else if option.eq_ignore_ascii_case(b"ack") {
            let now = ctx.now;
            let link = &mut ctx.me().replica;
            if link.attached {
                if let Ok(offset) = super::args::int(value) {
                    link.ack_offset = link.ack_offset.max(offset);
                    link.ack_time = now;
                }
                fullsync::ack_received(ctx);
                process_clients_waiting_replicas(ctx);
            }
            return Ok(());
        } else if option.eq_ignore_ascii_case(b"getack") {
            // Only a replica answers GETACK (to its master); a master ignores it.
            super::replica::getack_received(ctx);
            return Ok(());
        } else if option.eq_ignore_ascii_case(b"rdb-only")
            || option.eq_ignore_ascii_case(b"rdb-filter-only")
        {
            // An RDB-only or filtered request still gets the whole image (redis-cli --replica
            // asks for a filtered one and reads the image whatever it holds).
        } else {
            let msg = format!(
                "Unrecognized REPLCONF option: {}",
                String::from_utf8_lossy(option)
            );
            return Err(CommandError::Custom(format!("ERR {msg}")));
        }
    }
    ctx.out.ok();
    Ok(())
}

/// Once a second (Redis: the master half of `replicationCron`): every
/// `repl-ping-replica-period` seconds, a PING on the stream, so that replicas can tell a
/// silent master from a dead link; replicas silent for `repl-timeout` are dropped; a backlog
/// with no replica for `repl-backlog-ttl` seconds is freed.
pub fn replication_cron(ctx: &mut Ctx) {
    let repl = &mut ctx.srv.propagation.repl;
    let loops = repl.cron_loops;
    repl.cron_loops += 1;
    let ttl = config_i64(ctx, "repl-backlog-ttl", 3600);
    let timeout_ms = config_i64(ctx, "repl-timeout", 60).max(1) * 1000;
    let now = ctx.now;
    let is_replica = ctx.srv.master.is_replica();
    resize_backlog(ctx);
    let repl = &mut ctx.srv.propagation.repl;
    if repl.replicas.is_empty() {
        if repl.no_replicas_since == 0 {
            repl.no_replicas_since = now;
        }
        // A replica keeps its backlog: it is what lets its own replicas, and itself after a
        // promotion, continue partially (Redis frees it only on a master).
        if !is_replica
            && ttl > 0
            && repl.backlog.is_some()
            && now - repl.no_replicas_since > ttl * 1000
        {
            // A new id: the old history can no longer be continued (Redis:
            // changeReplicationId + clearReplicationId2 before freeing the backlog).
            repl.replid = random_id(&mut ctx.srv.rng);
            repl.clear_replid2();
            repl.backlog = None;
            info!("Replication backlog freed after {ttl} seconds without connected replicas.");
        }
        return;
    }
    for i in 0..repl.replicas.len() {
        let key = repl.replicas[i];
        if let Some(c) = ctx.clients.get_mut(key) {
            let link = &c.replica;
            if link.state == SyncState::Online
                && !link.pre_psync
                && now - link.ack_time > timeout_ms
            {
                warn!(
                    "Disconnecting timedout replica (streaming sync): {}",
                    c.addr
                );
                c.close_asap = true;
            }
        }
    }
    let period = config_i64(ctx, "repl-ping-replica-period", 10).max(1) as u64;
    // A FAILOVER with a deadline holds the stream still while writes are paused, so that the
    // target can catch up with an offset that no longer moves (Redis: the
    // `manual_failover_in_progress` test of `replicationCron`).
    let failover_paused =
        ctx.srv.failover.has_deadline() && super::pause::check_timeout_and_return_if_paused(ctx);
    if !is_replica && !failover_paused && loops.is_multiple_of(period) {
        feed(ctx, None, &[b"PING".to_vec()]);
    }
    fullsync::sync_cron(ctx);
}

/// Before the loop sleeps (Redis: the replication part of `beforeSleep`): the backlog is
/// trimmed of what no replica needs any more; a WAIT asked for the replicas' offsets, so
/// `REPLCONF GETACK *` goes out, once per turn — but not while clients are paused, when the
/// stream must stand still (it goes out after the pause); then a FAILOVER waiting for the sync
/// looks at the ACKs read this turn.
pub fn before_sleep(ctx: &mut Ctx) {
    // Ten times the per-append pace, to give back what replicas that left held (Redis:
    // beforeSleep's incrementalTrimReplicationBacklog).
    trim_backlog(ctx, 10 * super::replbuf::TRIM_BLOCKS_PER_CALL);
    if ctx.srv.propagation.repl.get_ack_from_replicas
        && !super::pause::check_timeout_and_return_if_paused(ctx)
    {
        ctx.srv.propagation.repl.get_ack_from_replicas = false;
        if !ctx.srv.master.is_replica() {
            let argv = [b"REPLCONF".to_vec(), b"GETACK".to_vec(), b"*".to_vec()];
            feed(ctx, None, &argv);
        }
    }
    super::failover::update_failover_status(ctx);
}

/// A replica sent something that produced a reply: its connection carries the stream, so it
/// is closed (Redis: "Replica generated a reply to command").
pub fn replica_replied(ctx: &mut Ctx, command: &str) {
    let mut client = String::new();
    super::connection::client_info_line(ctx, ctx.id, 0, command, &mut client);
    warn!("Replica generated a reply to command '{command}', disconnecting it: {client}");
    ctx.me().close_asap = true;
}

/// This master answered a replica's request with an error: the replica never reads it, and
/// it hints at a bug, so it is logged and counted (Redis: `afterErrorReply`,
/// INFO `unexpected_error_replies`).
pub fn error_sent_to_replica(ctx: &mut Ctx, error: &str, command: &str) {
    warn!(
        "== CRITICAL == This master is sending an error to its replica: '{error}' after \
         processing the command '{command}'"
    );
    ctx.srv.stats.unexpected_error_replies += 1;
}

/// A client is gone: drop it from the replicas and the WAIT queue.
pub fn forget_client(feed: &mut ReplicationFeed, key: usize) {
    feed.replicas.retain(|&r| r != key);
    feed.waiting_for_acks.retain(|&r| r != key);
}

/// Drops every replica (Redis: `disconnectSlaves`, when the history they follow changed).
pub fn disconnect_replicas(ctx: &mut Ctx) {
    for key in std::mem::take(&mut ctx.srv.propagation.repl.replicas) {
        if let Some(c) = ctx.clients.get_mut(key) {
            c.close_asap = true;
            let _ = ctx.reply_to(key);
        }
    }
}

/// The attached replicas, in attach order: announced address and link state (INFO, ROLE).
pub fn replicas(ctx: &Ctx) -> Vec<(String, ReplicaLink)> {
    let repl = &ctx.srv.propagation.repl;
    repl.replicas
        .iter()
        .filter_map(|&key| ctx.clients.get(key))
        .map(|c| {
            let ip = c
                .replica
                .announced_ip
                .clone()
                .unwrap_or_else(|| c.addr.ip().to_string());
            (ip, c.replica.clone())
        })
        .collect()
}

/// INFO's `mem_total_replication_buffers`: the shared replication buffer (backlog and
/// replicas' output alike).
pub fn buffers_memory(feed: &ReplicationFeed) -> usize {
    feed.backlog.as_ref().map_or(0, ReplicationBacklog::mem)
}

/// The shared buffer split as Redis reports it (`mem_replication_backlog`,
/// `mem_clients_slaves`): while replicas are attached, what passes `repl-backlog-size` is
/// theirs; the rest is the backlog's (Redis: `getMemoryOverheadData`).
pub fn buffers_split(feed: &ReplicationFeed) -> (usize, usize) {
    let Some(backlog) = &feed.backlog else {
        return (0, 0);
    };
    let (mem, size) = (backlog.mem(), backlog.size());
    if !feed.replicas.is_empty() && mem > size {
        (size, mem - size)
    } else {
        (mem, 0)
    }
}

/// The `slaveN:` lines of INFO replication.
pub fn info_replicas(ctx: &Ctx, now: Ms) -> Vec<String> {
    replicas(ctx)
        .into_iter()
        .enumerate()
        .map(|(i, (ip, link))| {
            let lag = match link.state {
                SyncState::Online => (now - link.ack_time).max(0) / 1000,
                _ => 0,
            };
            format!(
                "slave{i}:ip={ip},port={},state={},offset={},lag={lag}",
                link.listening_port,
                link.state.name(),
                link.ack_offset,
            )
        })
        .collect()
}

/// How many replicas acknowledged the stream up to `offset` (Redis:
/// `replicationCountAcksByOffset`).
pub fn count_acks(ctx: &Ctx, offset: i64) -> usize {
    replicas(ctx)
        .iter()
        .filter(|(_, link)| link.state == SyncState::Online && link.ack_offset >= offset)
        .count()
}

/// Replicas whose last ACK is at most `min-replicas-max-lag` seconds old (Redis:
/// `refreshGoodSlavesCount`).
fn good_replicas(ctx: &Ctx) -> usize {
    let max_lag = config_i64(ctx, "min-replicas-max-lag", 10);
    replicas(ctx)
        .iter()
        .filter(|(_, link)| {
            link.state == SyncState::Online && (ctx.now - link.ack_time) / 1000 <= max_lag
        })
        .count()
}

/// `min-replicas-to-write`: may a write run now? (Redis: `checkGoodReplicasStatus`.)
pub fn enough_good_replicas(ctx: &Ctx) -> bool {
    // On every write: one map probe while the parameter was never set (its default is 0).
    let Some(wanted) = ctx.srv.config.text_values.get("min-replicas-to-write") else {
        return true;
    };
    let wanted = crate::util::parse_i64(wanted.as_bytes()).unwrap_or(0);
    if wanted <= 0
        || ctx.srv.master.is_replica()
        || config_i64(ctx, "min-replicas-max-lag", 10) <= 0
    {
        return true;
    }
    good_replicas(ctx) as i64 >= wanted
}

/// WAIT numreplicas timeout — blocks until `numreplicas` replicas acknowledged every write
/// the caller made, or `timeout` ms pass (0: forever); replies how many did (Redis:
/// `waitCommand`).
pub fn wait_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    if ctx.srv.master.is_replica() {
        return Err(CommandError::Err(
            "WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.",
        ));
    }
    let numreplicas = super::args::int(argv[1]).map_err(|_| CommandError::NotInteger)?;
    let timeout = wait_timeout(argv[2])?;
    let offset = ctx.clients.get(ctx.id).map_or(0, |c| c.woff);
    let acked = count_acks(ctx, offset);
    if acked as i64 >= numreplicas || !super::blocked::may_block(ctx) {
        ctx.out.integer(acked as i64);
        return Ok(());
    }
    let op = super::blocked::BlockedOp::Wait(WaitForAcks {
        offset,
        numreplicas: numreplicas.max(0) as usize,
    });
    super::blocked::block_for_keys(ctx, &[], timeout, op);
    let repl = &mut ctx.srv.propagation.repl;
    repl.waiting_for_acks.push(ctx.id);
    repl.get_ack_from_replicas = true;
    Ok(())
}

/// WAIT's timeout: milliseconds, 0 = forever (Redis: `getTimeoutFromObjectOrReply`).
fn wait_timeout(arg: &[u8]) -> Result<Option<i64>, CommandError> {
    let ms = super::args::int(arg)
        .map_err(|_| CommandError::Err("timeout is not an integer or out of range"))?;
    if ms < 0 {
        return Err(CommandError::Err("timeout is negative"));
    }
    Ok((ms > 0).then_some(ms))
}

/// What a client blocked in WAIT waits for.
pub struct WaitForAcks {
    pub offset: i64,
    pub numreplicas: usize,
}

/// Answers the WAIT clients whose replicas have now acknowledged enough (Redis:
/// `processClientsWaitingReplicas`).
pub fn process_clients_waiting_replicas(ctx: &mut Ctx) {
    if ctx.srv.propagation.repl.waiting_for_acks.is_empty() {
        return;
    }
    let waiting = ctx.srv.propagation.repl.waiting_for_acks.clone();
    for key in waiting {
        let Some(wait) = ctx.clients.get(key).and_then(|c| c.blocked.as_ref()) else {
            continue;
        };
        let super::blocked::BlockedOp::Wait(w) = &wait.op else {
            continue;
        };
        let (offset, wanted) = (w.offset, w.numreplicas);
        let acked = count_acks(ctx, offset);
        if acked >= wanted {
            ctx.srv
                .propagation
                .repl
                .waiting_for_acks
                .retain(|&k| k != key);
            super::blocked::unblock_client(&mut ctx.srv.blocking, ctx.clients, key);
            if let Some(out) = ctx.reply_to(key) {
                out.integer(acked as i64);
            }
        }
    }
}

/// Client `key` no longer waits in WAIT (timed out, or CLIENT UNBLOCK).
pub fn stop_waiting_for_acks(ctx: &mut Ctx, key: usize) {
    ctx.srv
        .propagation
        .repl
        .waiting_for_acks
        .retain(|&k| k != key);
}

/// The WAIT timeout reply: how many replicas acknowledged `offset` by now.
pub fn wait_timed_out(ctx: &mut Ctx, key: usize, offset: i64) {
    stop_waiting_for_acks(ctx, key);
    let acked = count_acks(ctx, offset);
    if let Some(out) = ctx.reply_to(key) {
        out.integer(acked as i64);
    }
}

/// `repl_backlog_first_byte_offset` and `repl_backlog_histlen` (0, 0 without a backlog).
pub fn backlog_span(feed: &ReplicationFeed) -> (i64, i64) {
    match &feed.backlog {
        None => (0, 0),
        Some(b) => (b.first_offset(), b.histlen() as i64),
    }
}
