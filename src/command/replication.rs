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
//! and appended to every replica's output buffer. One stream is shared by all replicas, so
//! there is one idea of "the selected database" (Redis's `slaveseldb`): a `SELECT` is written
//! whenever the next command's database differs, and a new full sync forgets the selection so
//! that the new replica (and the others, harmlessly) get a `SELECT` before the next command.
//! `master_repl_offset` counts the stream's bytes.
//!
//! The RDB image is written synchronously, in the loop (ferrodis has no fork yet): the image
//! and the stream that follows it are therefore consistent by construction — nothing can run
//! between the two.
//!
//! # Replica clients
//!
//! A client that synced is flagged ([`ReplicaLink::attached`]): its output buffer holds the
//! stream, not replies. It is listed in INFO replication (`slaveN:`), not in
//! `connected_clients`, not closed for idleness, and its output is limited by the `replica`
//! class of `client-output-buffer-limit`. A command it sends that would produce a reply
//! closes it, as Redis does ("Replica generated a reply"); `REPLCONF ACK` produces none.
//!
//! # What grows here later
//!
//! The replication backlog (so that PSYNC can continue a stream instead of resending the
//! data), the replica role (REPLICAOF: the handshake state machine and applying a master's
//! stream), WAIT. [`ReplicationFeed`] is where the backlog will be appended to, next to the
//! replicas' buffers.

use super::error::{CommandError, CommandResult};
use super::table::{flags::*, CommandSpec};
use super::Ctx;
use crate::db::Ms;
use crate::persist::rdb;
use log::{info, warn};
use rand::Rng;

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
];

/// The replication stream and the replicas reading it (Redis: the replication part of
/// `redisServer`).
pub struct ReplicationFeed {
    /// The replication id of the stream (Redis: `server.replid`).
    pub replid: String,
    /// Bytes written to the stream so far (Redis: `master_repl_offset`).
    pub master_repl_offset: i64,
    /// Slab keys of the attached replicas, in attach order.
    replicas: Vec<usize>,
    /// The database the stream last selected; `None` forces a SELECT before the next command.
    selected_db: Option<usize>,
    /// Set when the first replica attached (Redis creates its backlog then and keeps feeding
    /// it after the replicas left): the offset of its first byte.
    backlog_first_byte: Option<i64>,
    /// Calls of [`replication_cron`] (once a second), for the PING period.
    cron_loops: u64,
    pub sync_full: u64,
    pub sync_partial_err: u64,
}

impl Default for ReplicationFeed {
    fn default() -> Self {
        ReplicationFeed {
            replid: random_id(&mut <rand::rngs::SmallRng as rand::SeedableRng>::from_os_rng()),
            master_repl_offset: 0,
            replicas: Vec::new(),
            selected_db: None,
            backlog_first_byte: None,
            cron_loops: 0,
            sync_full: 0,
            sync_partial_err: 0,
        }
    }
}

impl ReplicationFeed {
    /// Is the stream being produced (a replica attached once)?
    pub fn active(&self) -> bool {
        self.backlog_first_byte.is_some()
    }

    pub fn replica_count(&self) -> usize {
        self.replicas.len()
    }
}

/// What the master knows about a client that is (or is about to become) a replica.
#[derive(Default, Clone)]
pub struct ReplicaLink {
    /// It synced: its output buffer carries the stream.
    pub attached: bool,
    /// REPLCONF listening-port.
    pub listening_port: i64,
    /// The last REPLCONF ACK offset and when it came (or when the replica attached).
    pub ack_offset: i64,
    pub ack_time: Ms,
}

/// A random 40-hex-digit id (Redis: `getRandomHexChars`), for run ids and replication ids.
pub fn random_id(rng: &mut impl Rng) -> String {
    (0..40)
        .map(|_| char::from_digit(rng.random_range(0..16u32), 16).unwrap_or('0'))
        .collect()
}

/// Appends one command to the stream of every replica (Redis: `replicationFeedSlaves`),
/// selecting `db` first if the stream is elsewhere. `db` is `None` for commands that belong
/// to no database (PING).
pub fn feed(ctx: &mut Ctx, db: Option<usize>, argv: &[Vec<u8>]) {
    let repl = &mut ctx.srv.propagation.repl;
    if !repl.active() {
        return;
    }
    let mut bytes = Vec::with_capacity(64);
    if let Some(db) = db.filter(|&db| repl.selected_db != Some(db)) {
        encode_command(&mut bytes, &[b"SELECT", db.to_string().as_bytes()]);
        repl.selected_db = Some(db);
    }
    encode_command(&mut bytes, argv);
    repl.master_repl_offset += bytes.len() as i64;
    for i in 0..ctx.srv.propagation.repl.replicas.len() {
        let replica = ctx.srv.propagation.repl.replicas[i];
        if let Some(out) = ctx.reply_to(replica) {
            out.raw(&bytes);
        }
    }
}

/// `*<n>\r\n` then `$<len>\r\n<arg>\r\n` per argument.
fn encode_command<A: AsRef<[u8]>>(out: &mut Vec<u8>, argv: &[A]) {
    out.extend_from_slice(format!("*{}\r\n", argv.len()).as_bytes());
    for arg in argv {
        let arg = arg.as_ref();
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

/// SYNC / PSYNC replid offset — makes the caller a replica: `+FULLRESYNC <replid> <offset>`
/// (PSYNC only), the RDB image as `$<len>\r\n<bytes>`, then the stream. A partial resync is
/// never possible yet (there is no backlog to continue from). Redis: `syncCommand`.
pub fn sync_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    if ctx.me().replica.attached {
        return Ok(());
    }
    if !ctx.out.is_empty() {
        return Err(CommandError::Err(
            "SYNC and PSYNC are invalid with pending output",
        ));
    }
    let psync = argv[0].eq_ignore_ascii_case(b"psync");
    if psync {
        super::args::int(argv[2]).map_err(|_| CommandError::NotInteger)?;
        if !argv[1].starts_with(b"?") {
            ctx.srv.propagation.repl.sync_partial_err += 1;
        }
    }
    let id = ctx.id;
    let now = ctx.now;
    let addr = ctx.me().addr;
    info!("Replica {addr} asks for synchronization");
    ctx.srv.propagation.repl.sync_full += 1;
    let me = ctx.me();
    me.replica.attached = true;
    me.replica.ack_time = now;
    // Its output is the stream from now on: CLIENT REPLY OFF/SKIP must not eat it.
    me.reply_mode = super::client::ReplyMode::On;
    let new_replid = random_id(&mut ctx.srv.rng);
    let repl = &mut ctx.srv.propagation.repl;
    repl.replicas.push(id);
    if repl.backlog_first_byte.is_none() {
        // A stream with no past: a new id (Redis: changeReplicationId when the backlog is
        // created).
        repl.replid = new_replid;
        repl.backlog_first_byte = Some(repl.master_repl_offset + 1);
        info!(
            "Replication backlog created, my new replication id is '{}'",
            repl.replid
        );
    }
    repl.selected_db = None;
    if psync {
        let line = format!(
            "+FULLRESYNC {} {}\r\n",
            repl.replid, repl.master_repl_offset
        );
        ctx.out.raw(line.as_bytes());
    }
    let opts = super::persistence::save_options(&ctx.srv.config, now);
    let image = rdb::save_to_vec(ctx.dbs, &opts);
    ctx.out.raw(format!("${}\r\n", image.len()).as_bytes());
    ctx.out.raw(&image);
    info!("Synchronization with replica {addr} succeeded");
    Ok(())
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
        } else if option.eq_ignore_ascii_case(b"ack") {
            let now = ctx.now;
            let link = &mut ctx.me().replica;
            if link.attached {
                if let Ok(offset) = super::args::int(value) {
                    link.ack_offset = link.ack_offset.max(offset);
                    link.ack_time = now;
                }
            }
            return Ok(());
        } else if option.eq_ignore_ascii_case(b"getack") {
            // Only a replica answers GETACK (to its master); a master ignores it.
            return Ok(());
        } else if option.eq_ignore_ascii_case(b"capa")
            || option.eq_ignore_ascii_case(b"ip-address")
            || option.eq_ignore_ascii_case(b"rdb-only")
            || option.eq_ignore_ascii_case(b"rdb-filter-only")
        {
            // Capabilities this master does not use are ignored, as Redis ignores unknown ones;
            // an RDB-only or filtered request still gets the whole image (redis-cli --replica
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
/// silent master from a dead link.
pub fn replication_cron(ctx: &mut Ctx) {
    let repl = &mut ctx.srv.propagation.repl;
    let loops = repl.cron_loops;
    repl.cron_loops += 1;
    if repl.replicas.is_empty() {
        return;
    }
    let period = ctx
        .srv
        .config
        .get("repl-ping-replica-period")
        .and_then(|p| p.parse::<u64>().ok())
        .unwrap_or(10)
        .max(1);
    if loops.is_multiple_of(period) {
        feed(ctx, None, &[b"ping".to_vec()]);
    }
}

/// A replica sent something that produced a reply: its connection carries the stream, so it
/// is closed (Redis: "Replica generated a reply to command").
pub fn replica_replied(ctx: &mut Ctx, command: &str) {
    let me = ctx.me();
    warn!(
        "Replica {} generated a reply to command '{command}', closing it",
        me.addr
    );
    me.close_asap = true;
}

/// A client is gone: drop it from the replicas.
pub fn forget_client(feed: &mut ReplicationFeed, key: usize) {
    feed.replicas.retain(|&r| r != key);
}

/// The attached replicas, in attach order: address and link state (INFO, ROLE).
pub fn replicas(ctx: &Ctx) -> Vec<(String, ReplicaLink)> {
    let repl = &ctx.srv.propagation.repl;
    repl.replicas
        .iter()
        .filter_map(|&key| ctx.clients.get(key))
        .map(|c| (c.addr.ip().to_string(), c.replica.clone()))
        .collect()
}

/// The `slaveN:` lines of INFO replication.
pub fn info_replicas(ctx: &Ctx, now: Ms) -> Vec<String> {
    replicas(ctx)
        .into_iter()
        .enumerate()
        .map(|(i, (ip, link))| {
            format!(
                "slave{i}:ip={ip},port={},state=online,offset={},lag={}",
                link.listening_port,
                link.ack_offset,
                (now - link.ack_time).max(0) / 1000
            )
        })
        .collect()
}

/// `repl_backlog_first_byte_offset` and `repl_backlog_histlen` (0, 0 before any replica).
pub fn backlog_span(feed: &ReplicationFeed) -> (i64, i64) {
    match feed.backlog_first_byte {
        None => (0, 0),
        Some(first) => {
            let len = (feed.master_repl_offset - first + 1).clamp(0, 1 << 20);
            (feed.master_repl_offset - len + 1, len)
        }
    }
}
