//! The replica role: the link to a master, its handshake, the RDB transfer and the applied
//! stream (Redis: `replication.c` — `replicaofCommand`, `replicationSetMaster`,
//! `syncWithMaster`, `readSyncBulkPayload`, `replicationSendAck`, the replica half of
//! `replicationCron`).
//!
//! # The link, as a state machine
//!
//! ```text
//!  REPLICAOF host port ──> Connect ──(loop: non-blocking connect)──> Connecting
//!    Connecting ──writable──> send PING ──> ReceivePing
//!    ReceivePing ──reply──> send AUTH?, REPLCONF listening-port, [ip-address],
//!                           capa eof capa psync2 (pipelined) ──> ReceiveAuth .. ReceiveCapa
//!    ReceiveCapa ──reply──> send PSYNC <replid> <offset+1> (or `? -1`) ──> ReceivePsync
//!    ReceivePsync ── +FULLRESYNC id off ──> Transfer: `$<len>` or `$EOF:<mark>`, the image,
//!                                          loaded a slice per loop turn ──> Connected
//!                 ── +CONTINUE [id] ─────────────────────────────────────> Connected
//!  any error, a timeout (`repl-timeout`), the socket closing ──> Connect (cron retries)
//! ```
//!
//! The socket is an ordinary client of the loop's slab, flagged `is_master`: the loop reads
//! it like any other and hands the bytes here ([`handshake_input`]) until the link is
//! `Connected`; from then on its input is parsed and run as commands through
//! `process_command` (no replies: [`master_command_done`] drops them), and the bytes of every
//! command applied are counted (`slave_repl_offset`, Redis's `c->reploff`) and proxied
//! verbatim to this server's own replicas and backlog — a chain of replicas carries one
//! stream, byte for byte, with one offset.
//!
//! # Loading the image in the loop
//!
//! Redis loads a full sync's image in a blocking call that serves clients now and then from
//! inside (`processEventsWhileBlocked`); ferrodis has one loop and no re-entry, so the load is
//! a state the loop advances (`Transfer::load`, a [`rdb::StreamLoad`]):
//!
//! ```text
//!  repl-diskless-load   when the load begins        what clients see meanwhile
//!  disabled             the whole payload came      the old data while it comes, then
//!                       (kept in memory; Redis      -LOADING (INFO loading:1): it was
//!                       writes a file)              flushed ("Flushing old data")
//!  on-empty-db          the size line (no key), or  -LOADING
//!                       as disabled
//!  swapdb               the size line               same replid as the master's: the old data,
//!                                                   only no-async-loading commands refused
//!                                                   (INFO async_loading:1); else -LOADING.
//!                                                   The old data is kept until the swap
//! ```
//!
//! Every turn, `before_sleep` runs [`load_slice`]: it parses whole top-level entries from the
//! link's query buffer (diskless) into new databases until `loading-process-events-interval-
//! bytes` were read or the buffered bytes end inside an entry ("not enough bytes yet", a
//! normal outcome: the entry is parsed again once the buffered bytes doubled, so a big value
//! is not re-parsed at every read). `key-load-delay` sleeps after each key. The loop reads the
//! link only while less than [`LOAD_READ_AHEAD`] bytes wait (or the entry needs more), so a
//! slow load pushes back on the master through TCP. At the end ([`finish_load`]) the new
//! databases and functions are swapped in, the old ones freed by the lazy-free queue, and the
//! stream that followed the image runs. If the link drops or the image is bad, the load is
//! abandoned ([`discard_load`], from any change of state out of `Transfer`): with `swapdb`
//! the served data was never touched; otherwise the replica stays empty.
//!
//! The replica's replication id and offset are its master's ([`ReplicationFeed::replid`],
//! `master_repl_offset`). After a disconnection they are what it asks to continue from
//! (Redis's cached master); a server turned into a replica asks with its own (Redis:
//! `replicationCacheMasterUsingMyself`), so a promoted replica's siblings continue partially.
//!
//! [`ReplicationFeed::replid`]: super::replication::ReplicationFeed

use super::error::{CommandError, CommandResult};
use super::failover::{self, FailoverState};
use super::replication::{self, config_flag, config_i64};
use super::Ctx;
use crate::config::ReplDisklessLoad;
use crate::db::{Db, ExpiryMode, Ms};
use crate::persist::rdb;
use log::{info, warn};

/// Where the link to the master stands (Redis: `server.repl_state`).
#[derive(Default)]
pub enum ReplState {
    /// Not a replica.
    #[default]
    None,
    /// A master is configured; the loop connects at its next turn or cron.
    Connect,
    /// The non-blocking connect is under way.
    Connecting,
    /// Handshake: waiting for the reply to PING, AUTH, REPLCONF listening-port,
    /// REPLCONF ip-address, REPLCONF capa, PSYNC.
    ReceivePing,
    ReceiveAuth,
    ReceivePort,
    ReceiveIp,
    ReceiveCapa,
    ReceivePsync,
    /// Receiving the RDB image of a full resynchronization.
    Transfer(Transfer),
    /// The stream flows.
    Connected,
}

/// The RDB payload being received, and loaded.
#[derive(Default)]
pub struct Transfer {
    /// `None` until the `$<len>` / `$EOF:<mark>` line came.
    size: Option<PayloadEnd>,
    /// Without diskless load: the payload as it came (Redis writes it to a file first).
    data: Vec<u8>,
    /// The load, once it began: at the size line with diskless load, when the whole payload
    /// came otherwise.
    load: Option<Box<SyncLoad>>,
}

/// A load of the master's image in progress (see [`load_slice`]).
struct SyncLoad {
    parser: rdb::StreamLoad,
    /// The databases being built, swapped in at the end.
    fresh: Vec<Db>,
    /// `repl-diskless-load swapdb`: the served dataset stays until the swap.
    swapdb: bool,
    source: LoadSource,
    /// After an incomplete attempt: parse again once this many bytes are buffered.
    retry_at: usize,
    /// AUX fields already logged.
    aux_logged: usize,
    /// `key-load-delay`, read when the load began.
    key_load_delay_us: u64,
    /// `loading-process-events-interval-bytes`: bytes parsed per slice.
    interval: usize,
    /// When the last keep-alive newline went to the master.
    last_newline: Ms,
}

/// Where a load's bytes come from.
enum LoadSource {
    /// Diskless: the link's query buffer, as the image arrives.
    Socket,
    /// The payload, received whole first (`pos`: bytes parsed).
    Received { data: Vec<u8>, pos: usize },
}

enum PayloadEnd {
    /// Disk-based: this many bytes.
    Len(usize),
    /// Diskless: the payload ends with this 40-byte mark.
    Mark(Vec<u8>),
}

/// The replica role's state (Redis: `server.masterhost`, `server.master`, `server.repl_*`).
#[derive(Default)]
pub struct MasterLink {
    pub host: Option<String>,
    pub port: u16,
    pub state: ReplState,
    /// Slab key of the connection to the master, from the connect on.
    pub conn: Option<usize>,
    /// In `Connect`: the loop may try now. REPLICAOF tries at once; after a failure only the
    /// once-a-second cron allows the next try (Redis: `connectWithMaster` from
    /// `replicationSetMaster`, then from `replicationCron`), so a master that is down costs
    /// one attempt a second, not one per loop turn.
    connect_due: bool,
    /// The id and offset `+FULLRESYNC` announced, waiting for the image.
    fullsync_replid: String,
    fullsync_offset: i64,
    /// Is there a history to continue (a past sync, or this server's own as a master)?
    has_history: bool,
    /// Last time anything came from the master (Unix ms).
    last_io: Ms,
    /// When the state last changed to a connecting/handshake/transfer state.
    state_since: Ms,
    /// When the link went down (0 = never up).
    down_since: Ms,
    /// REPLCONF GETACK arrived while applying the stream: answer after the command.
    ack_requested: bool,
    /// The database the master's stream has selected (kept after each command applied): a
    /// partial resynchronization continues in it, and an RDB image saves it.
    stream_db: usize,
    /// The loop holds off reading the link: a load has enough of the image buffered (see
    /// [`MasterLink::load_wants_input`]).
    pub read_paused: bool,
}

/// Bytes of the image a diskless load lets wait in the link's query buffer before the loop
/// stops reading the socket: the master's writes then block, so a slow loader paces the
/// master's child (Redis's blocking load reads the socket only as its parser asks).
const LOAD_READ_AHEAD: usize = 1 << 20;

impl MasterLink {
    /// Is this server a replica (REPLICAOF set)?
    pub fn is_replica(&self) -> bool {
        self.host.is_some()
    }

    pub fn is_connected(&self) -> bool {
        matches!(self.state, ReplState::Connected)
    }

    /// The database of the master's stream, for an RDB image, if there is a stream to
    /// continue (Redis: the `server.master` / `server.cached_master` half of
    /// `rdbPopulateSaveInfo`).
    pub fn saved_stream_db(&self) -> Option<usize> {
        (self.is_connected() || self.has_history).then_some(self.stream_db)
    }

    /// There is a history to continue, in database `db` of the master's stream: the
    /// replication position an RDB file was saved with (see
    /// [`replication::restore_from_rdb`]).
    pub fn continue_history(&mut self, db: usize) {
        self.has_history = true;
        self.stream_db = db;
    }

    /// Is client `key` the link to the master?
    pub fn is_conn(&self, key: usize) -> bool {
        self.conn == Some(key)
    }

    /// The address to connect to, when the loop should open the link now; the attempt is
    /// then no longer due.
    pub fn take_connect(&mut self) -> Option<(String, u16)> {
        match (&self.state, &self.host) {
            (ReplState::Connect, Some(host)) if self.connect_due => {
                self.connect_due = false;
                Some((host.clone(), self.port))
            }
            _ => None,
        }
    }

    /// The load in progress, if any.
    fn load_mut(&mut self) -> Option<&mut SyncLoad> {
        match &mut self.state {
            ReplState::Transfer(Transfer {
                load: Some(load), ..
            }) => Some(load),
            _ => None,
        }
    }

    /// The load reading the image from the link's query buffer, if any.
    fn socket_load(&self) -> Option<&SyncLoad> {
        match &self.state {
            ReplState::Transfer(Transfer {
                load: Some(load), ..
            }) if matches!(load.source, LoadSource::Socket) => Some(load),
            _ => None,
        }
    }

    /// Has a load something to parse, with `unread` in the link's query buffer? The loop then
    /// runs [`load_slice`] this turn and does not sleep in poll.
    pub fn load_has_work(&self, unread: &[u8]) -> bool {
        let ReplState::Transfer(transfer) = &self.state else {
            return false;
        };
        let Some(load) = &transfer.load else {
            return false;
        };
        match load.source {
            LoadSource::Received { .. } => true,
            LoadSource::Socket => {
                !unread.is_empty()
                    && (unread.len() >= load.retry_at
                        || image_window(transfer.size.as_ref(), load, unread).1)
            }
        }
    }

    /// Is a diskless load parsing the image from the link's query buffer?
    pub fn loads_from_link(&self) -> bool {
        self.socket_load().is_some()
    }

    /// Should the loop read the link, with `unread` in its query buffer? Always, unless a
    /// diskless load has [`LOAD_READ_AHEAD`] bytes waiting that it can parse.
    pub fn load_wants_input(&self, unread: &[u8]) -> bool {
        self.socket_load()
            .is_none_or(|load| unread.len() < LOAD_READ_AHEAD || unread.len() < load.retry_at)
    }

    /// Is the link in the handshake or transfer (its input is not commands)?
    pub fn handshaking(&self) -> bool {
        !matches!(
            self.state,
            ReplState::None | ReplState::Connect | ReplState::Connected
        )
    }

    /// Is the link waiting for the TCP connect to complete?
    pub fn connecting(&self) -> bool {
        matches!(self.state, ReplState::Connecting)
    }
}

/// REPLICAOF host port | NO ONE (and SLAVEOF) — follows a master, or stops following one
/// (Redis: `replicaofCommand`).
pub fn replicaof_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    if ctx.srv.failover.in_progress() {
        return Err(CommandError::Err(
            "REPLICAOF not allowed while failing over.",
        ));
    }
    if argv[1].eq_ignore_ascii_case(b"no") && argv[2].eq_ignore_ascii_case(b"one") {
        if ctx.srv.master.is_replica() {
            unset_master(ctx);
            info!("MASTER MODE enabled (user request from client)");
        }
        ctx.out.ok();
        return Ok(());
    }
    if ctx.me().replica.attached {
        return Err(CommandError::Err(
            "Command is not valid when client is a replica.",
        ));
    }
    let port = super::args::int(argv[2])
        .ok()
        .filter(|p| (0..=65535).contains(p))
        .ok_or(CommandError::Err("Invalid master port"))?;
    let host = String::from_utf8_lossy(argv[1]).into_owned();
    let link = &ctx.srv.master;
    if link.host.as_deref() == Some(host.as_str()) && i64::from(link.port) == port {
        info!("REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.");
        ctx.out.simple("OK Already connected to specified master");
        return Ok(());
    }
    set_master(ctx, host, port as u16);
    ctx.out.ok();
    Ok(())
}

/// Starts following `host:port` (Redis: `replicationSetMaster`): the old link is dropped,
/// clients blocked on keys are released, and a server that was a master keeps its own history
/// to ask for a partial resynchronization.
pub fn set_master(ctx: &mut Ctx, host: String, port: u16) {
    let was_master = !ctx.srv.master.is_replica();
    drop_link(ctx);
    if was_master {
        ctx.srv.master.has_history = true;
        super::blocked::disconnect_all_blocked_clients(ctx);
    }
    crate::util::LOG_ROLE_REPLICA.store(true, std::sync::atomic::Ordering::Relaxed);
    info!("Connecting to MASTER {host}:{port}");
    // CONFIG GET / REWRITE show the master followed now (Redis's `replicaof` special config).
    ctx.srv
        .config
        .text_values
        .insert("replicaof", format!("{host} {port}"));
    let link = &mut ctx.srv.master;
    link.host = Some(host);
    link.port = port;
    link.connect_due = true;
    set_state(ctx, ReplState::Connect);
    set_expiry_mode(ctx.dbs, ExpiryMode::Hide);
}

/// The `replicaof` directive at startup: a replica from the start, with no history to
/// continue until the RDB file loaded next gives it one.
pub fn start_as_replica(ctx: &mut Ctx, host: String, port: u16) {
    set_master(ctx, host, port);
    ctx.srv.master.has_history = false;
}

/// Stops following the master (Redis: `replicationUnsetMaster`): this server's history
/// continues under a new id, the old one kept as the secondary (PSYNC2), and its replicas
/// reconnect to learn the new id.
pub fn unset_master(ctx: &mut Ctx) {
    drop_link(ctx);
    set_state(ctx, ReplState::None);
    ctx.srv.master = MasterLink::default();
    ctx.srv.config.text_values.remove("replicaof");
    crate::util::LOG_ROLE_REPLICA.store(false, std::sync::atomic::Ordering::Relaxed);
    let id = replication::random_id(&mut ctx.srv.rng);
    ctx.srv.propagation.repl.shift_replid(id);
    replication::disconnect_replicas(ctx);
    set_expiry_mode(ctx.dbs, ExpiryMode::Delete);
    ctx.srv.propagation.repl.force_select();
}

/// Closes the connection to the master, if any, without touching the configured master.
fn drop_link(ctx: &mut Ctx) {
    if let Some(key) = ctx.srv.master.conn.take() {
        if let Some(c) = ctx.clients.get_mut(key) {
            c.close_asap = true;
            let _ = ctx.reply_to(key);
        }
    }
}

/// Moves the link to `state`; a load left unfinished by leaving `Transfer` is abandoned.
fn set_state(ctx: &mut Ctx, state: ReplState) {
    let old = std::mem::replace(&mut ctx.srv.master.state, state);
    ctx.srv.master.state_since = ctx.now;
    if let ReplState::Transfer(Transfer {
        load: Some(load), ..
    }) = old
    {
        discard_load(ctx, *load);
    }
}

/// How lookups treat keys whose TTL passed (see [`ExpiryMode`]).
fn set_expiry_mode(dbs: &mut [Db], mode: ExpiryMode) {
    for db in dbs {
        db.expiry_mode = mode;
    }
}

/// The loop opened a socket to the master as client `key` (connect in progress).
pub fn connect_started(ctx: &mut Ctx, key: usize) {
    info!("MASTER <-> REPLICA sync started");
    ctx.srv.master.conn = Some(key);
    ctx.srv.master.read_paused = false;
    set_state(ctx, ReplState::Connecting);
}

/// The connect failed at once: retry from the cron.
pub fn connect_failed(ctx: &mut Ctx, error: &str) {
    warn!("Unable to connect to MASTER: {error}");
    set_state(ctx, ReplState::Connect);
}

/// The connect completed (the socket became writable): the handshake begins with a PING.
/// `ctx.id` is the link.
pub fn connection_established(ctx: &mut Ctx) {
    info!("Non blocking connect for SYNC fired the event.");
    send(ctx, &[b"PING"]);
    set_state(ctx, ReplState::ReceivePing);
}

/// The link closed (Redis: `replicationHandleMasterDisconnection`): the history stays, to be
/// continued at the next connection.
pub fn link_closed(ctx: &mut Ctx, key: usize, db: usize) {
    let link = &mut ctx.srv.master;
    if link.conn != Some(key) {
        return;
    }
    link.conn = None;
    let in_transfer = matches!(link.state, ReplState::Transfer(_));
    if in_transfer {
        transfer_cut_short(ctx);
    }
    let link = &mut ctx.srv.master;
    if link.is_connected() {
        link.stream_db = db;
        info!("Connection with master lost.");
        link.has_history = true;
        link.down_since = ctx.now;
    }
    if link.is_replica() {
        set_state(ctx, ReplState::Connect);
        if in_transfer {
            reconnect_now(ctx);
        }
    }
}

/// The link closed in the middle of the payload (the master dropped us, or died): Redis's
/// short-read lines when the image was being parsed from the socket, its I/O error otherwise
/// (Redis: `rdbLoadRioWithLoadingCtx`'s `eoferr`, `rdbReportReadError`).
fn transfer_cut_short(ctx: &mut Ctx) {
    let offset = match &ctx.srv.master.state {
        ReplState::Transfer(Transfer {
            load: Some(load), ..
        }) => load.parser.offset(),
        _ => {
            warn!("I/O error trying to sync with MASTER: connection lost");
            return;
        }
    };
    if !load_reads_socket(&ctx.srv.master) {
        return;
    }
    warn!("Short read or OOM loading DB. Unrecoverable error, aborting now.");
    warn!(
        "Internal error in RDB reading offset {offset}, function at rdb.c:0 -> Unexpected EOF \
         reading RDB file. Failure loading rdb format from socket, assuming connection error, \
         resuming operation."
    );
    warn!("Failed trying to load the MASTER synchronization DB from socket: connection lost");
}

/// Writes one command to the master.
fn send(ctx: &mut Ctx, argv: &[&[u8]]) {
    let mut bytes = Vec::new();
    replication::encode_command(&mut bytes, argv);
    if let Some(key) = ctx.srv.master.conn {
        if let Some(out) = ctx.reply_to(key) {
            out.raw(&bytes);
        }
    }
}

/// Gives up on this connection attempt: it is closed, the cron retries.
fn abort_handshake(ctx: &mut Ctx, why: &str) {
    warn!("{why}");
    drop_link(ctx);
    set_state(ctx, ReplState::Connect);
}

/// Gives up on a transfer (or a handshake that timed out) and connects again at once rather
/// than at the next cron (Redis: `cancelReplicationHandshake(1)`).
fn cancel_handshake_and_reconnect(ctx: &mut Ctx, why: &str) {
    abort_handshake(ctx, why);
    reconnect_now(ctx);
}

fn reconnect_now(ctx: &mut Ctx) {
    let link = &mut ctx.srv.master;
    if let Some(host) = &link.host {
        info!("Reconnecting to MASTER {host}:{} after failure", link.port);
        link.connect_due = true;
    }
}

/// Consumes what the master sent during the handshake and the transfer, from the link's
/// query buffer (`ctx.id` is the link). Whatever follows the image or `+CONTINUE` stays in the
/// buffer: it is the stream, which the loop then runs as commands.
pub fn handshake_input(ctx: &mut Ctx) {
    ctx.srv.master.last_io = ctx.now;
    loop {
        if matches!(ctx.srv.master.state, ReplState::Transfer(_)) {
            if !transfer_input(ctx) {
                return;
            }
            continue;
        }
        if !ctx.srv.master.handshaking() || ctx.srv.master.connecting() {
            return;
        }
        let Some(line) = take_line(ctx) else {
            return;
        };
        handshake_reply(ctx, &line);
    }
}

/// One line of the master's input (without its CRLF), if a whole one arrived.
fn take_line(ctx: &mut Ctx) -> Option<Vec<u8>> {
    let me = ctx.clients.get_mut(ctx.id)?;
    let data = me.query_buf.unread();
    let end = data.iter().position(|&b| b == b'\n')?;
    let line = data[..end]
        .strip_suffix(b"\r")
        .unwrap_or(&data[..end])
        .to_vec();
    me.query_buf.consume(end + 1);
    Some(line)
}

/// The master answered the handshake step the state names.
fn handshake_reply(ctx: &mut Ctx, line: &[u8]) {
    let text = String::from_utf8_lossy(line).into_owned();
    match ctx.srv.master.state {
        ReplState::ReceivePing => {
            // NOAUTH is fine: AUTH follows. Anything else that is an error is not.
            if line.starts_with(b"-")
                && !line.starts_with(b"-NOAUTH")
                && !line.starts_with(b"-NOPERM")
                && !line.starts_with(b"-ERR operation not permitted")
            {
                return abort_handshake(ctx, &format!("Error reply to PING from master: '{text}'"));
            }
            info!("Master replied to PING, replication can continue...");
            send_handshake(ctx);
        }
        ReplState::ReceiveAuth => {
            if line.starts_with(b"-") {
                return abort_handshake(ctx, &format!("Unable to AUTH to MASTER: {text}"));
            }
            set_state(ctx, ReplState::ReceivePort);
        }
        ReplState::ReceivePort => {
            if line.starts_with(b"-") {
                info!("(Non critical) Master does not understand REPLCONF listening-port: {text}");
            }
            let next = if announce_ip(ctx).is_some() {
                ReplState::ReceiveIp
            } else {
                ReplState::ReceiveCapa
            };
            set_state(ctx, next);
        }
        ReplState::ReceiveIp => {
            if line.starts_with(b"-") {
                info!("(Non critical) Master does not understand REPLCONF ip-address: {text}");
            }
            set_state(ctx, ReplState::ReceiveCapa);
        }
        ReplState::ReceiveCapa => {
            if line.starts_with(b"-") {
                info!("(Non critical) Master does not understand REPLCONF capa: {text}");
            }
            send_psync(ctx);
        }
        ReplState::ReceivePsync => psync_reply(ctx, line, &text),
        _ => {}
    }
}

fn announce_ip(ctx: &Ctx) -> Option<String> {
    ctx.srv
        .config
        .get("replica-announce-ip")
        .filter(|ip| !ip.is_empty())
}

/// AUTH (with `masterauth`, and `masteruser`), REPLCONF listening-port, ip-address and capa,
/// pipelined as Redis 7 sends them.
fn send_handshake(ctx: &mut Ctx) {
    let auth = ctx.srv.config.get("masterauth").filter(|p| !p.is_empty());
    let user = ctx.srv.config.get("masteruser").filter(|u| !u.is_empty());
    let next = if let Some(pass) = &auth {
        match &user {
            Some(user) => send(ctx, &[b"AUTH", user.as_bytes(), pass.as_bytes()]),
            None => send(ctx, &[b"AUTH", pass.as_bytes()]),
        }
        ReplState::ReceiveAuth
    } else {
        ReplState::ReceivePort
    };
    let announced = config_i64(ctx, "replica-announce-port", 0);
    let port = if announced != 0 {
        announced
    } else {
        i64::from(ctx.srv.tcp_port)
    };
    send(
        ctx,
        &[b"REPLCONF", b"listening-port", port.to_string().as_bytes()],
    );
    if let Some(ip) = announce_ip(ctx) {
        send(ctx, &[b"REPLCONF", b"ip-address", ip.as_bytes()]);
    }
    send(ctx, &[b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"]);
    set_state(ctx, next);
}

/// PSYNC <replid> <offset+1> to continue our history, or `PSYNC ? -1` when there is none
/// (Redis: `slaveTryPartialResynchronization`, the write half).
fn send_psync(ctx: &mut Ctx) {
    let repl = &ctx.srv.propagation.repl;
    let (id, offset) = if ctx.srv.master.has_history {
        info!(
            "Trying a partial resynchronization (request {}:{}).",
            repl.replid,
            repl.master_repl_offset + 1
        );
        (
            repl.replid.clone(),
            (repl.master_repl_offset + 1).to_string(),
        )
    } else {
        info!("Partial resynchronization not possible (no cached master)");
        ("?".to_string(), "-1".to_string())
    };
    if ctx.srv.failover.state == FailoverState::InProgress {
        // A master failing over to this master: it is to take our role (see `failover`).
        send(
            ctx,
            &[b"PSYNC", id.as_bytes(), offset.as_bytes(), b"FAILOVER"],
        );
    } else {
        send(ctx, &[b"PSYNC", id.as_bytes(), offset.as_bytes()]);
    }
    set_state(ctx, ReplState::ReceivePsync);
}

/// The answer to PSYNC (Redis: `slaveTryPartialResynchronization`, the read half).
fn psync_reply(ctx: &mut Ctx, line: &[u8], text: &str) {
    if line.is_empty() {
        // A newline the master sends to keep the link alive while it prepares.
        return;
    }
    // A failover ends with the target's answer: accepted (it is the master now), or not, and
    // this server is a master again (Redis: the failover check of `syncWithMaster`).
    if ctx.srv.failover.state == FailoverState::InProgress {
        if line.starts_with(b"+FULLRESYNC") || line.starts_with(b"+CONTINUE") {
            failover::clear_failover_state(ctx);
        } else {
            warn!("Unexpected reply to PSYNC from master: {text}");
            return failover::abort_failover(ctx, "Failover target rejected psync request");
        }
    }
    if let Some(rest) = text.strip_prefix("+FULLRESYNC") {
        let mut words = rest.split_whitespace();
        let (Some(id), Some(offset)) = (words.next(), words.next()) else {
            return abort_handshake(ctx, "Master replied with wrong +FULLRESYNC syntax.");
        };
        let offset = offset.parse::<i64>().unwrap_or(-1);
        info!("Full resync from master: {id}:{offset}");
        let link = &mut ctx.srv.master;
        link.fullsync_replid = id.to_string();
        link.fullsync_offset = offset;
        set_state(ctx, ReplState::Transfer(Transfer::default()));
        return;
    }
    if let Some(rest) = text.strip_prefix("+CONTINUE") {
        info!("Successful partial resynchronization with master.");
        let new_id = rest.trim();
        let repl = &mut ctx.srv.propagation.repl;
        if !new_id.is_empty() && new_id != repl.replid {
            // The master continued our history under another id (it was promoted): ours
            // becomes the secondary one, and our replicas must learn the new one.
            repl.shift_replid(new_id.to_string());
            info!("Master replication ID changed to {new_id}");
            replication::disconnect_replicas(ctx);
        }
        let size = config_i64(ctx, "repl-backlog-size", 1 << 20).max(1) as usize;
        ctx.srv.propagation.repl.create_backlog(size);
        let db = ctx.srv.master.stream_db;
        select_stream_db(ctx, db);
        link_up(ctx);
        info!("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.");
        return;
    }
    if line.starts_with(b"-NOMASTERLINK") || line.starts_with(b"-LOADING") {
        return abort_handshake(
            ctx,
            &format!("Master is currently unable to PSYNC but should be in the future: {text}"),
        );
    }
    abort_handshake(
        ctx,
        &format!("Unexpected reply to PSYNC from master: {text}"),
    )
}

/// The link carries the stream from now on.
fn link_up(ctx: &mut Ctx) {
    let link = &mut ctx.srv.master;
    link.has_history = true;
    link.down_since = 0;
    set_state(ctx, ReplState::Connected);
    if let Some(me) = ctx.clients.get_mut(ctx.id) {
        me.authenticated = true;
    }
}

/// Receives the RDB payload (Redis: `readSyncBulkPayload`). Returns true when the state
/// changed (the caller goes on with what is left in the buffer).
///
/// This only takes the `$<len>` / `$EOF:<mark>` line and, without diskless load, gathers the
/// payload; the image is parsed by [`load_slice`], from the loop's `before_sleep`, so that a
/// script running while the link is read (the busy turn) never sees a load make progress.
fn transfer_input(ctx: &mut Ctx) -> bool {
    let ReplState::Transfer(transfer) = &mut ctx.srv.master.state else {
        return false;
    };
    if transfer.size.is_none() {
        let Some(me) = ctx.clients.get_mut(ctx.id) else {
            return false;
        };
        let data = me.query_buf.unread();
        let Some(end) = data.iter().position(|&b| b == b'\n') else {
            return false;
        };
        let line = data[..end]
            .strip_suffix(b"\r")
            .unwrap_or(&data[..end])
            .to_vec();
        me.query_buf.consume(end + 1);
        if line.is_empty() {
            return true; // keep-alive newline
        }
        if line.starts_with(b"-") {
            let text = String::from_utf8_lossy(&line[1..]).into_owned();
            cancel_handshake_and_reconnect(
                ctx,
                &format!("MASTER aborted replication with an error: {text}"),
            );
            return true;
        }
        let diskless = use_diskless_load(ctx);
        let to = if diskless { "to parser" } else { "to disk" };
        let size = if let Some(mark) = line.strip_prefix(b"$EOF:") {
            if mark.len() != 40 {
                cancel_handshake_and_reconnect(ctx, "Bad EOF mark from MASTER");
                return true;
            }
            info!("MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF {to}");
            PayloadEnd::Mark(mark.to_vec())
        } else {
            let len = line
                .strip_prefix(b"$")
                .and_then(crate::util::parse_i64)
                .and_then(|n| usize::try_from(n).ok());
            let Some(len) = len else {
                let text = String::from_utf8_lossy(&line).into_owned();
                cancel_handshake_and_reconnect(
                    ctx,
                    &format!(
                        "Bad protocol from MASTER, the first byte is not '$' (we received \
                         '{text}'), are you sure the host and port are right?"
                    ),
                );
                return true;
            };
            info!("MASTER <-> REPLICA sync: receiving {len} bytes from master {to}");
            PayloadEnd::Len(len)
        };
        if let ReplState::Transfer(transfer) = &mut ctx.srv.master.state {
            transfer.size = Some(size);
        }
        if diskless {
            begin_load(ctx, LoadSource::Socket);
        }
        return true;
    }
    if transfer.load.is_some() {
        // The image is parsed from the query buffer by `load_slice`.
        return false;
    }
    let Some(me) = ctx.clients.get_mut(ctx.id) else {
        return false;
    };
    let data = me.query_buf.unread();
    let complete = match &transfer.size {
        Some(PayloadEnd::Len(len)) => {
            let take = (len - transfer.data.len()).min(data.len());
            transfer.data.extend_from_slice(&data[..take]);
            me.query_buf.consume(take);
            transfer.data.len() == *len
        }
        Some(PayloadEnd::Mark(mark)) => {
            // The mark may end anywhere in what came (the stream can follow it at once):
            // look for it from where a mark could start, and leave what follows it.
            let from = transfer.data.len().saturating_sub(mark.len() - 1);
            transfer.data.extend_from_slice(data);
            let found = transfer.data[from..]
                .windows(mark.len())
                .position(|w| w == mark.as_slice())
                .map(|p| from + p + mark.len());
            let excess = found.map_or(0, |end| transfer.data.len() - end);
            transfer.data.truncate(transfer.data.len() - excess);
            let n = data.len() - excess;
            me.query_buf.consume(n);
            if found.is_some() {
                transfer.data.truncate(transfer.data.len() - mark.len());
            }
            found.is_some()
        }
        None => false,
    };
    if !complete {
        return false;
    }
    let data = std::mem::take(&mut transfer.data);
    begin_load(ctx, LoadSource::Received { data, pos: 0 });
    true
}

/// Does this sync load the image as it arrives (Redis: `useDisklessLoad`)? Always with
/// `swapdb`; with `on-empty-db` when there is no key.
fn use_diskless_load(ctx: &Ctx) -> bool {
    match ctx.srv.config.repl_diskless_load {
        ReplDisklessLoad::SwapDb => true,
        ReplDisklessLoad::OnEmptyDb => ctx.dbs.iter().all(Db::is_empty),
        ReplDisklessLoad::Disabled => false,
    }
}

/// The database the master's stream continues in (the link's selected database).
fn select_stream_db(ctx: &mut Ctx, db: usize) {
    let db = if db < ctx.dbs.len() { db } else { 0 };
    if let Some(me) = ctx.clients.get_mut(ctx.id) {
        me.db = db;
    }
    ctx.db = db;
}

/// The options a replica loads its master's image with.
fn sync_load_options(ctx: &Ctx) -> rdb::LoadOptions {
    rdb::LoadOptions {
        verify_checksum: ctx.srv.config.rdbchecksum,
        // A replica keeps the keys whose TTL passed: the master will delete them.
        now_ms: i64::MIN,
        limits: super::persistence::encoding_limits(&ctx.srv.config),
        collect_expired: false,
    }
}

/// The load begins (Redis: the middle of `readSyncBulkPayload`, `startLoading`): with
/// `swapdb` the served dataset stays, and is served (`async_loading`) when the image continues
/// the history this replica has (same replid: the old data is the same dataset at an earlier
/// point); otherwise our replicas are dropped and the old data flushed (`loading`, clients get
/// `-LOADING`). Either way the image goes into new databases, swapped in by [`finish_load`].
fn begin_load(ctx: &mut Ctx, source: LoadSource) {
    let swapdb = matches!(source, LoadSource::Socket)
        && ctx.srv.config.repl_diskless_load == ReplDisklessLoad::SwapDb;
    if !swapdb {
        attach_to_new_master(ctx);
        info!("MASTER <-> REPLICA sync: Flushing old data");
        let lazy = config_flag(ctx, "replica-lazy-flush", false);
        for db in 0..ctx.dbs.len() {
            super::multi::touch_all_watched_keys_in_db(ctx, db);
            let old = ctx.dbs[db].flush();
            if lazy {
                ctx.srv.lazyfree.free_entries(old);
            }
        }
        if let Err(e) = ctx.srv.scripts.load_dataset_libraries(&[]) {
            warn!("Failed flushing the function libraries: {e}");
        }
    }
    let async_loading = swapdb && ctx.srv.propagation.repl.replid == ctx.srv.master.fullsync_replid;
    info!("MASTER <-> REPLICA sync: Loading DB in memory");
    let load = SyncLoad {
        parser: rdb::StreamLoad::new(sync_load_options(ctx)),
        fresh: (0..ctx.dbs.len()).map(Db::new).collect(),
        swapdb,
        source,
        retry_at: 0,
        aux_logged: 0,
        key_load_delay_us: u64::try_from(config_i64(ctx, "key-load-delay", 0)).unwrap_or(0),
        interval: usize::try_from(config_i64(
            ctx,
            "loading-process-events-interval-bytes",
            2 << 20,
        ))
        .unwrap_or(2 << 20)
        .max(1024),
        last_newline: ctx.now,
    };
    ctx.srv.loading = true;
    ctx.srv.async_loading = async_loading;
    if let ReplState::Transfer(transfer) = &mut ctx.srv.master.state {
        transfer.load = Some(Box::new(load));
    }
}

/// Our replicas follow a history that just ended: they must sync again, and none may
/// continue from our backlog (Redis: `replicationAttachToNewMaster`).
fn attach_to_new_master(ctx: &mut Ctx) {
    replication::disconnect_replicas(ctx);
    ctx.srv.propagation.repl.backlog = None;
}

/// How a slice of the load ended.
enum SliceEnd {
    /// The slice used its budget (`loading-process-events-interval-bytes`): the loop serves
    /// its clients, the next turn goes on.
    Yield,
    /// The bytes buffered end inside an entry: wait for more.
    Starved,
    /// The whole image was read.
    Finished,
    /// The image is bad.
    Failed(String),
}

/// One slice of the load, run by the loop once per turn while a load has work (Redis: the
/// body of `rdbLoadRioWithLoadingCtx` between two `processEventsWhileBlocked`): entries are
/// parsed from the link's query buffer (diskless) or the received payload until
/// `loading-process-events-interval-bytes` were read, the buffered bytes end inside an entry,
/// or the image ends. `key-load-delay` sleeps that many microseconds after each key, as
/// Redis's `debugDelay`. `ctx.id` is the link; `ctx.out` its reply buffer.
pub fn load_slice(ctx: &mut Ctx) {
    let link = &mut ctx.srv.master;
    if link.conn != Some(ctx.id) {
        return;
    }
    let ReplState::Transfer(transfer) = &mut link.state else {
        return;
    };
    let Some(load) = transfer.load.as_mut() else {
        return;
    };
    let Some(me) = ctx.clients.get_mut(ctx.id) else {
        return;
    };
    let mut processed = 0;
    let end = loop {
        if load.parser.is_done() {
            break match (&load.source, &transfer.size) {
                (LoadSource::Socket, Some(PayloadEnd::Mark(mark))) => {
                    // Redis reads the mark after the image ("EOF marker is broken").
                    let unread = me.query_buf.unread();
                    if unread.len() < mark.len() {
                        load.retry_at = mark.len();
                        SliceEnd::Starved
                    } else if unread[..mark.len()] != mark[..] {
                        SliceEnd::Failed("Replication stream EOF marker is broken".into())
                    } else {
                        me.query_buf.consume(mark.len());
                        SliceEnd::Finished
                    }
                }
                _ => SliceEnd::Finished,
            };
        }
        let (bytes, ended) = match &load.source {
            LoadSource::Received { data, pos } => (&data[*pos..], true),
            LoadSource::Socket => image_window(transfer.size.as_ref(), load, me.query_buf.unread()),
        };
        if !ended && (bytes.is_empty() || bytes.len() < load.retry_at) {
            break SliceEnd::Starved;
        }
        let available = bytes.len();
        let (consumed, key) = match load.parser.step(bytes, ended, &mut load.fresh) {
            Ok(rdb::Step::NeedMore) => {
                // Parse this entry again only once twice as many bytes are there.
                load.retry_at = available.saturating_mul(2).max(available + 1);
                break SliceEnd::Starved;
            }
            Ok(rdb::Step::Entry { consumed, key }) => (consumed, key),
            Ok(rdb::Step::Done { consumed }) => (consumed, false),
            Err(e) => {
                // Redis: `rdbReportCorruptRDB` in diskless loading.
                break SliceEnd::Failed(format!(
                    "Internal error in RDB reading offset {}, function at rdb.c:0 -> {}. \
                     Failure loading rdb format",
                    e.offset, e.message
                ));
            }
        };
        match &mut load.source {
            LoadSource::Received { pos, .. } => *pos += consumed,
            LoadSource::Socket => me.query_buf.consume(consumed),
        }
        load.retry_at = 0;
        processed += consumed;
        if key && load.key_load_delay_us > 0 {
            std::thread::sleep(std::time::Duration::from_micros(load.key_load_delay_us));
        }
        if processed >= load.interval && !load.parser.is_done() {
            break SliceEnd::Yield;
        }
    };
    if processed > 0 {
        ctx.srv.master.last_io = ctx.now;
    }
    log_new_aux_fields(ctx);
    match end {
        SliceEnd::Finished => finish_load(ctx),
        SliceEnd::Failed(why) => {
            warn!("{why}");
            let from = if load_reads_socket(&ctx.srv.master) {
                "socket"
            } else {
                "disk"
            };
            cancel_handshake_and_reconnect(
                ctx,
                &format!("Failed trying to load the MASTER synchronization DB from {from}"),
            );
        }
        SliceEnd::Yield | SliceEnd::Starved => keep_link_alive(ctx),
    }
}

/// The part of `unread` (the link's query buffer) that is the image still to parse, and
/// whether it is all of it. A `$<len>` payload ends after `len` bytes; a `$EOF:<mark>` one
/// where the mark ends what came (a master sends nothing after the mark before our first
/// ACK), the mark itself being read after the image.
fn image_window<'a>(
    size: Option<&PayloadEnd>,
    load: &SyncLoad,
    unread: &'a [u8],
) -> (&'a [u8], bool) {
    match size {
        Some(PayloadEnd::Len(len)) => {
            let left = len.saturating_sub(load.parser.offset());
            if unread.len() >= left {
                (&unread[..left], true)
            } else {
                (unread, false)
            }
        }
        Some(PayloadEnd::Mark(mark)) if !load.parser.is_done() && unread.ends_with(mark) => {
            (&unread[..unread.len() - mark.len()], true)
        }
        _ => (unread, false),
    }
}

/// A newline to the master once a second while loading, which keeps the link alive from its
/// side (Redis: `replicationSendNewlineToMaster` from `rdbLoadProgressCallback`).
fn keep_link_alive(ctx: &mut Ctx) {
    let Some(load) = ctx.srv.master.load_mut() else {
        return;
    };
    if ctx.now - load.last_newline >= 1000 {
        load.last_newline = ctx.now;
        ctx.out.raw(b"\n");
    }
}

/// Logs the AUX fields read since the last slice, as Redis logs them while it parses.
fn log_new_aux_fields(ctx: &mut Ctx) {
    let Some(load) = ctx.srv.master.load_mut() else {
        return;
    };
    let Some(loaded) = load.parser.loaded() else {
        return;
    };
    for (name, value) in &loaded.aux[load.aux_logged..] {
        super::persistence::log_aux_field(name, value, ctx.now);
    }
    load.aux_logged = loaded.aux.len();
}

/// Is a load reading the image from the link's query buffer (as opposed to a payload
/// received whole, or no load)?
fn load_reads_socket(link: &MasterLink) -> bool {
    link.loads_from_link()
}

/// The whole image was read: swap it in and start applying the stream (Redis: the end of
/// `readSyncBulkPayload`, `swapMainDbWithTempDb`).
fn finish_load(ctx: &mut Ctx) {
    let ReplState::Transfer(transfer) = &mut ctx.srv.master.state else {
        return;
    };
    let diskless = matches!(transfer.size, Some(PayloadEnd::Mark(_)));
    let Some(load) = transfer.load.take() else {
        return;
    };
    let SyncLoad {
        parser,
        mut fresh,
        swapdb,
        ..
    } = *load;
    ctx.srv.loading = false;
    ctx.srv.async_loading = false;
    let Some(loaded) = parser.into_loaded() else {
        return abort_handshake(ctx, "Failed trying to load the MASTER synchronization DB");
    };
    super::persistence::log_load_done(&loaded);
    if swapdb {
        attach_to_new_master(ctx);
        info!("MASTER <-> REPLICA sync: Swapping active DB with loaded DB");
    }
    if let Err(e) = ctx.srv.scripts.load_dataset_libraries(&loaded.functions) {
        warn!("Failed loading library, {e}");
        discard_databases(ctx, fresh);
        return cancel_handshake_and_reconnect(
            ctx,
            "Failed trying to load the MASTER synchronization DB from socket",
        );
    }
    for (db, new) in fresh.iter_mut().enumerate() {
        // WATCHed keys that existed before or exist now are touched (Redis:
        // `touchAllWatchedKeysInDb(activedb, newdb)`).
        super::multi::touch_all_watched_keys_in_db(ctx, db);
        ctx.dbs[db].swap_contents(new);
        super::multi::touch_all_watched_keys_in_db(ctx, db);
    }
    discard_databases(ctx, fresh);
    if swapdb {
        info!("MASTER <-> REPLICA sync: Discarding old DB in background");
    }
    set_expiry_mode(ctx.dbs, ExpiryMode::Hide);
    let stream_db = loaded
        .aux("repl-stream-db")
        .and_then(crate::util::parse_i64)
        .and_then(|db| usize::try_from(db).ok())
        .filter(|&db| db < ctx.dbs.len())
        .unwrap_or(0);
    select_stream_db(ctx, stream_db);
    ctx.srv.master.stream_db = stream_db;
    ctx.srv.dirty += 1;
    let link = &mut ctx.srv.master;
    let id = std::mem::take(&mut link.fullsync_replid);
    let offset = link.fullsync_offset;
    let repl = &mut ctx.srv.propagation.repl;
    repl.replid = id;
    repl.master_repl_offset = offset;
    repl.clear_replid2();
    if ctx.srv.propagation.repl.backlog.is_none() {
        let size = config_i64(ctx, "repl-backlog-size", 1 << 20).max(1) as usize;
        ctx.srv.propagation.repl.create_backlog(size);
    }
    link_up(ctx);
    info!("MASTER <-> REPLICA sync: Finished with success");
    if diskless {
        // A diskless master starts the stream only on this first ACK (Redis:
        // `replicationSendAck` at the end of `readSyncBulkPayload`).
        let ack = ack_command(ctx);
        ctx.out.raw(&ack);
    }
}

/// Databases no longer needed (the old dataset after a swap, or a half-loaded one) are freed
/// a slice per turn by the lazy-free queue, not inside this turn (Redis: `discardTempDb`,
/// `emptyDbAsync`).
fn discard_databases(ctx: &mut Ctx, mut dbs: Vec<Db>) {
    for db in &mut dbs {
        let entries = db.flush();
        ctx.srv.lazyfree.free_entries(entries);
    }
}

/// A load that did not finish is abandoned (the link failed, or the image was bad): the
/// half-loaded databases go; with `swapdb` the served dataset was never touched, otherwise it
/// was flushed when the load began and stays empty (Redis: the `loadingFailed` branch of
/// `readSyncBulkPayload`).
fn discard_load(ctx: &mut Ctx, load: SyncLoad) {
    ctx.srv.loading = false;
    ctx.srv.async_loading = false;
    discard_databases(ctx, load.fresh);
    if load.swapdb {
        info!("MASTER <-> REPLICA sync: Discarding temporary DB in background");
    }
}

/// A command of the master's stream ran (`ctx.id` is the link; `bytes` is the command as
/// it came, `reply_start` where its reply began): its reply is dropped, its bytes are
/// counted and passed on to this server's own replicas, and a GETACK it made is answered
/// with the offset after it (Redis: `commandProcessed` for the master client,
/// `replicationFeedStreamFromMasterStream`).
pub fn master_command_done(ctx: &mut Ctx, name: &[u8], bytes: &[u8], reply_start: usize) {
    if ctx.out.since(reply_start).first() == Some(&b'-') {
        log_error_to_master(ctx, name, reply_start);
    }
    ctx.out.truncate(reply_start);
    ctx.srv.master.last_io = ctx.now;
    ctx.srv.master.stream_db = ctx.db;
    replication::feed_raw(ctx, bytes);
    if std::mem::take(&mut ctx.srv.master.ack_requested) {
        let ack = ack_command(ctx);
        ctx.out.raw(&ack);
    }
}

/// A command of the master's stream failed here: the data may have diverged from the master's,
/// which an operator must know (Redis: `afterErrorReply` for the master client, with
/// `showLatestBacklog`). Counted in INFO `unexpected_error_replies`.
fn log_error_to_master(ctx: &mut Ctx, name: &[u8], reply_start: usize) {
    let reply = ctx.out.since(reply_start);
    let end = reply
        .windows(2)
        .position(|w| w == b"\r\n")
        .unwrap_or(reply.len());
    let error = String::from_utf8_lossy(&reply[1..end]);
    let name = match ctx.srv.commands.lookup(name) {
        Some(spec) => spec.name.to_string(),
        None => "<unknown>".to_string(),
    };
    warn!(
        "== CRITICAL == This replica is sending an error to its master: '{error}' after \
         processing the command '{name}'"
    );
    let latest = ctx
        .srv
        .propagation
        .repl
        .backlog
        .as_ref()
        .map(|b| b.latest(256));
    if let Some(latest) = latest.filter(|l| !l.is_empty()) {
        let mut repr = String::new();
        for &b in &latest {
            match b {
                b'\r' => repr.push_str("\\r"),
                b'\n' => repr.push_str("\\n"),
                b'\\' | b'"' => {
                    repr.push('\\');
                    repr.push(b as char);
                }
                0x20..=0x7e => repr.push(b as char),
                _ => repr.push_str(&format!("\\x{b:02x}")),
            }
        }
        warn!("Latest backlog is: '\"{repr}\"'");
    }
    ctx.srv.stats.unexpected_error_replies += 1;
}

/// `REPLCONF ACK <offset>`: how far this replica applied the stream (Redis:
/// `replicationSendAck`).
fn ack_command(ctx: &Ctx) -> Vec<u8> {
    let offset = ctx.srv.propagation.repl.master_repl_offset.to_string();
    let mut ack = Vec::new();
    let argv: [&[u8]; 3] = [b"REPLCONF", b"ACK", offset.as_bytes()];
    replication::encode_command(&mut ack, &argv);
    ack
}

/// Master expiry mode for the duration of a command of the master's stream: keys whose TTL
/// passed are still there for it (it sends the DELs). Restored by [`end_master_command`].
pub fn begin_master_command(ctx: &mut Ctx) {
    set_expiry_mode(ctx.dbs, ExpiryMode::Keep);
}

pub fn end_master_command(ctx: &mut Ctx) {
    set_expiry_mode(ctx.dbs, ExpiryMode::Hide);
}

/// REPLCONF GETACK from our master: the ACK goes out once the command is accounted.
pub fn getack_received(ctx: &mut Ctx) {
    if ctx.srv.master.is_conn(ctx.id) {
        ctx.srv.master.ack_requested = true;
    }
}

/// Once a second (Redis: the replica half of `replicationCron`): a handshake or a transfer
/// that stalls, or a master silent for `repl-timeout`, drops the link; a connected replica
/// reports its offset (`REPLCONF ACK`); a link that is down may be opened again.
pub fn replica_cron(ctx: &mut Ctx) {
    if !ctx.srv.master.is_replica() {
        return;
    }
    if matches!(ctx.srv.master.state, ReplState::Connect) {
        ctx.srv.master.connect_due = true;
        return;
    }
    let timeout = config_i64(ctx, "repl-timeout", 60).max(1) * 1000;
    let link = &ctx.srv.master;
    let Some(key) = link.conn else {
        return;
    };
    if link.handshaking() && ctx.now - link.state_since.max(link.last_io) > timeout {
        if matches!(link.state, ReplState::Transfer(_)) {
            return cancel_handshake_and_reconnect(
                ctx,
                "Timeout receiving bulk data from MASTER... If the problem persists try to set \
                 the 'repl-timeout' parameter in redis.conf to a larger value.",
            );
        }
        return cancel_handshake_and_reconnect(ctx, "Timeout connecting to the MASTER...");
    }
    if link.is_connected() {
        if ctx.now - link.last_io > timeout {
            return abort_handshake(ctx, "MASTER timeout: no data nor PING received...");
        }
        let ack = ack_command(ctx);
        if let Some(out) = ctx.reply_to(key) {
            out.raw(&ack);
        }
    }
}

/// May `spec` run on this replica now? (Redis: the replica checks of `processCommand`.)
/// `is_write` covers EXEC of a transaction with writes.
pub fn check_command(
    ctx: &Ctx,
    is_write: bool,
    deny_stale: bool,
    from_master: bool,
) -> Result<(), CommandError> {
    let link = &ctx.srv.master;
    if !link.is_replica() || from_master {
        return Ok(());
    }
    if is_write && config_flag(ctx, "replica-read-only", true) {
        return Err(CommandError::Custom(
            "READONLY You can't write against a read only replica.".into(),
        ));
    }
    if deny_stale && running_stale(ctx) {
        return Err(masterdown_error());
    }
    Ok(())
}

/// A replica whose link is down while `replica-serve-stale-data` is `no`: only commands
/// flagged `stale` run (Redis: the `masterdownerr` check of `processCommand`).
pub fn running_stale(ctx: &Ctx) -> bool {
    let link = &ctx.srv.master;
    link.is_replica() && !link.is_connected() && !config_flag(ctx, "replica-serve-stale-data", true)
}

/// A replica that refuses its clients' writes (`replica-read-only yes`).
pub fn is_read_only(ctx: &Ctx) -> bool {
    ctx.srv.master.is_replica() && config_flag(ctx, "replica-read-only", true)
}

/// Redis's `shared.masterdownerr`.
pub fn masterdown_error() -> CommandError {
    CommandError::Custom(
        "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.".into(),
    )
}

/// The replica fields of INFO replication, in Redis's order.
pub fn info_fields(ctx: &Ctx) -> Vec<(&'static str, String)> {
    let link = &ctx.srv.master;
    let Some(host) = &link.host else {
        return Vec::new();
    };
    let up = link.is_connected();
    let mut fields = vec![
        ("master_host", host.clone()),
        ("master_port", link.port.to_string()),
        ("master_link_status", if up { "up" } else { "down" }.into()),
        (
            "master_last_io_seconds_ago",
            if up {
                ((ctx.now - link.last_io) / 1000).to_string()
            } else {
                "-1".into()
            },
        ),
        (
            "master_sync_in_progress",
            u8::from(matches!(link.state, ReplState::Transfer(_))).to_string(),
        ),
        (
            // What came from the master: what was applied, plus what waits in the link's
            // query buffer (a command held by CLIENT PAUSE, a partial one).
            "slave_read_repl_offset",
            if up {
                // Read = applied + what waits in the link's query buffer (a command held
                // by CLIENT PAUSE, a partial one).
                let pending = link.conn.and_then(|k| ctx.clients.get(k));
                let pending = pending.map_or(0, |c| c.query_buf.unread().len() as i64);
                ctx.srv.propagation.repl.master_repl_offset + pending
            } else {
                ctx.srv.propagation.repl.master_repl_offset.max(1)
            }
            .to_string(),
        ),
        (
            "slave_repl_offset",
            if up || link.has_history {
                ctx.srv.propagation.repl.master_repl_offset
            } else {
                1
            }
            .to_string(),
        ),
    ];
    if let ReplState::Transfer(t) = &link.state {
        let size = match &t.size {
            Some(PayloadEnd::Len(n)) => *n as i64,
            _ => -1,
        };
        let read = match &t.load {
            Some(load) if matches!(load.source, LoadSource::Socket) => load.parser.offset(),
            Some(load) => match &load.source {
                LoadSource::Received { data, .. } => data.len(),
                LoadSource::Socket => 0,
            },
            None => t.data.len(),
        } as i64;
        let perc = if size > 0 {
            read as f64 * 100.0 / size as f64
        } else {
            0.0
        };
        fields.push(("master_sync_total_bytes", size.to_string()));
        fields.push(("master_sync_read_bytes", read.to_string()));
        fields.push(("master_sync_left_bytes", (size - read).to_string()));
        fields.push(("master_sync_perc", format!("{perc:.2}")));
        fields.push((
            "master_sync_last_io_seconds_ago",
            ((ctx.now - link.last_io) / 1000).to_string(),
        ));
    }
    if !up {
        let since = if link.down_since != 0 {
            (ctx.now - link.down_since) / 1000
        } else {
            -1
        };
        fields.push(("master_link_down_since_seconds", since.to_string()));
    }
    fields.push((
        "slave_priority",
        config_i64(ctx, "replica-priority", 100).to_string(),
    ));
    fields.push((
        "slave_read_only",
        u8::from(config_flag(ctx, "replica-read-only", true)).to_string(),
    ));
    fields.push((
        "replica_announced",
        u8::from(config_flag(ctx, "replica-announced", true)).to_string(),
    ));
    fields
}

/// ROLE of a replica: `["slave", host, port, state, offset]`.
pub fn role_reply(ctx: &mut Ctx) -> bool {
    let link = &ctx.srv.master;
    let Some(host) = link.host.clone() else {
        return false;
    };
    let state = match link.state {
        ReplState::None => "none",
        ReplState::Connect => "connect",
        ReplState::Connecting => "connecting",
        ReplState::Transfer(_) => "sync",
        ReplState::Connected => "connected",
        _ => "handshake",
    };
    let offset = if link.is_connected() || link.has_history {
        ctx.srv.propagation.repl.master_repl_offset
    } else {
        -1
    };
    let port = link.port;
    ctx.out.array_len(5);
    ctx.out.bulk(b"slave");
    ctx.out.bulk(host.as_bytes());
    ctx.out.integer(i64::from(port));
    ctx.out.bulk(state.as_bytes());
    ctx.out.integer(offset);
    true
}
