//! One connected client (Redis: `client` in `server.h`, buffers in `networking.c`).
//!
//! A client owns its socket, its query buffer (bytes read but not yet executed), its reply
//! buffer (bytes produced but not yet written), and the per-connection state commands consult:
//! selected database, protocol version, name, transaction, subscriptions, blocking.
//!
//! Buffer ownership: the event loop reads into `query_buf` and the parser reads spans of it; the
//! buffer is only compacted after the parsed commands have run. `reply` is appended to by
//! commands (through `Ctx::out` or `Ctx::reply_to`) and drained by the loop's output code
//! (`server/output.rs`), which also closes a client whose pending output passes
//! `client-output-buffer-limit` ([`output_limit_reached`], Redis's
//! `checkClientOutputBufferLimits`; it is here, with the buffers, because pub/sub delivery in
//! the command layer checks it on every message it appends to another client).
//!
//! The record lives in the command layer because handlers read and change it (CLIENT, SELECT,
//! MULTI, subscriptions); the loop only moves bytes in and out of its buffers.

use super::blocked::BlockedState;
use super::multi::MultiState;
use super::pubsub::SubscriberState;
use crate::db::Ms;
use crate::net::{Connection, PeerAddr};
use crate::resp::parse::RequestParser;
use crate::resp::reply::ReplyBuffer;
use bytes::BytesMut;
use std::net::SocketAddr;

/// Arguments at least this big get the query buffer sized for them in few steps (Redis:
/// `PROTO_MBULK_BIG_ARG`), so a 100 MB value is read straight into place, never re-copied.
pub const BIG_ARG: usize = 32 * 1024;

/// Bytes requested from the kernel per read event (Redis: `PROTO_IOBUF_LEN`). Also the most
/// the loop reads from one client per turn (unless a big argument is being received), so
/// that one client pipelining without end cannot starve the others.
pub const PROTO_IOBUF_LEN: usize = 16 * 1024;

/// CLIENT REPLY mode.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ReplyMode {
    On,
    Off,
    /// Suppress only the reply of the next command.
    SkipNext,
    /// Set by the command after SKIP: suppress this one, then go back to On.
    Skipping,
}

pub struct Client {
    /// CLIENT ID: unique and increasing for the life of the server (slab keys are reused).
    pub id: u64,
    /// The connection; `None` for the AOF loading client, which runs the commands of a file
    /// (Redis: `createClient(NULL)`).
    pub socket: Option<Connection>,
    pub addr: PeerAddr,
    pub local_addr: Option<PeerAddr>,
    pub query_buf: QueryBuffer,
    /// While the loop runs this client's commands (its query buffer is moved out meanwhile):
    /// the buffer's unexecuted bytes and free space when the batch began, what CLIENT LIST
    /// shows as `qbuf` / `qbuf-free` for the caller (Redis trims its buffer after the batch).
    pub query_buf_in_batch: (usize, usize),
    pub parser: RequestParser,
    pub reply: ReplyBuffer,
    /// Set while the client sits in `clients_pending_write` (avoids queueing it twice).
    pub pending_write: bool,
    /// Set while the client sits in `clients_pending_read`: its socket may hold more input.
    pub pending_read: bool,
    /// Writable interest is registered only while a write came up short.
    pub writable_registered: bool,
    pub db: usize,
    pub authenticated: bool,
    /// The ACL user (a slot of `AclState::users`; Redis: `c->user`).
    pub user: usize,
    /// The user's permissions need no check (cached `User::unrestricted`, kept up to date by
    /// `acl::refresh_clients`): the per-command ACL cost for the default user.
    pub acl_unrestricted: bool,
    pub name: Option<Vec<u8>>,
    pub lib_name: Option<Vec<u8>>,
    pub lib_ver: Option<Vec<u8>>,
    pub reply_mode: ReplyMode,
    pub no_evict: bool,
    pub no_touch: bool,
    /// In MONITOR mode: receives a line per command run (see `monitor`).
    pub monitor: bool,
    /// CLIENT TRACKING on: its settings (see `tracking`).
    pub tracking: Option<Box<super::tracking::ClientTracking>>,
    /// Close once the pending reply is written (QUIT, protocol errors).
    pub close_after_reply: bool,
    /// Close at the next opportunity without writing more (CLIENT KILL, output limits).
    pub close_asap: bool,
    pub created_at: Ms,
    pub last_interaction: Ms,
    pub last_command: &'static str,
    pub multi: MultiState,
    pub subscriptions: SubscriberState,
    pub blocked: Option<BlockedState>,
    /// Held by CLIENT PAUSE: its next request waits in `query_buf` (see `pause`).
    pub postponed: bool,
    /// Blocking commands must not block (Redis: `CLIENT_DENY_BLOCKING`); set while EXEC or a
    /// script runs commands for this client. MULTI itself is checked through `multi.active`.
    pub deny_blocking: bool,
    /// When the reply buffer first exceeded the soft output limit (for its grace period).
    pub soft_limit_reached_at: Option<Ms>,
    /// Replica state: once attached (SYNC), the reply buffer carries the replication stream.
    pub replica: super::replication::ReplicaLink,
    /// A replica's full sync: what it gets before its stream ([`super::fullsync`]).
    pub rdb_transfer: Option<Box<super::fullsync::RdbTransfer>>,
    /// The replication offset right after this client's last command (WAIT waits for it;
    /// Redis: `c->woff`).
    pub woff: i64,
    /// This is the link to our master (its input is the replication stream).
    pub is_master: bool,
    /// The connectionless client that replays an AOF file (Redis: `CLIENT_ID_AOF`).
    pub is_aof_loader: bool,
}

/// Is the client on this machine, as Redis decides it (`islocalClient`: a Unix socket client,
/// or a peer of exactly 127.0.0.1 or ::1)? Protected mode and the `local` value of `enable-*`
/// use it.
pub fn is_local_client(c: &Client) -> bool {
    c.addr.is_local()
}

impl Client {
    pub fn new(
        id: u64,
        socket: impl Into<Connection>,
        addr: impl Into<PeerAddr>,
        now: Ms,
        authenticated: bool,
    ) -> Client {
        let socket = socket.into();
        let addr = addr.into();
        let mut c = Client::new_detached(id, addr, now);
        // A Unix socket client's local address is the socket's path too (Redis shows
        // `laddr=<unixsocket>:0`).
        c.local_addr = match addr {
            PeerAddr::Unix(_) => Some(addr),
            PeerAddr::Tcp(_) => socket.local_addr().map(PeerAddr::Tcp),
        };
        c.socket = Some(socket);
        c.authenticated = authenticated;
        c
    }

    /// A client record with no connection yet.
    fn new_detached(id: u64, addr: PeerAddr, now: Ms) -> Client {
        Client {
            id,
            socket: None,
            addr,
            local_addr: None,
            query_buf: QueryBuffer::default(),
            query_buf_in_batch: (0, 0),
            parser: RequestParser::default(),
            reply: ReplyBuffer::new(),
            pending_write: false,
            pending_read: false,
            writable_registered: false,
            db: 0,
            authenticated: false,
            user: super::acl::DEFAULT_USER,
            acl_unrestricted: true,
            name: None,
            lib_name: None,
            lib_ver: None,
            reply_mode: ReplyMode::On,
            no_evict: false,
            no_touch: false,
            monitor: false,
            tracking: None,
            close_after_reply: false,
            close_asap: false,
            created_at: now,
            last_interaction: now,
            last_command: "NULL",
            multi: MultiState::default(),
            subscriptions: SubscriberState::default(),
            blocked: None,
            postponed: false,
            deny_blocking: false,
            soft_limit_reached_at: None,
            replica: Default::default(),
            rdb_transfer: None,
            woff: 0,
            is_master: false,
            is_aof_loader: false,
        }
    }

    /// The client that runs an AOF's commands while it loads: no connection, authenticated,
    /// never registered with the loop (Redis: `createAOFClient`).
    pub fn aof_loader(id: u64, now: Ms) -> Client {
        let addr = SocketAddr::from(([0, 0, 0, 0], 0));
        let mut c = Client::new_detached(id, addr.into(), now);
        c.authenticated = true;
        c.is_aof_loader = true;
        c
    }

    /// How many more bytes the request being parsed needs, when it announced a big bulk.
    pub fn parser_need_hint(&self) -> Option<usize> {
        let need = self.parser.need_hint();
        (need > self.query_buf.len()).then(|| need - self.query_buf.len())
    }

    /// The query buffer's size as Redis accounts it (CLIENT LIST `qbuf-free`, `tot-mem`,
    /// client eviction). Redis allocates room for a big argument as soon as its `$<len>`
    /// arrives; ferrodis grows the buffer only as the bytes come (so a client cannot make it
    /// touch memory it never sends), but counts the announced size from the start, so a
    /// client announcing more than it may hold is evicted as early as in Redis.
    pub fn query_buf_accounted(&self) -> usize {
        let announced = self
            .parser_need_hint()
            .filter(|&rest| rest >= BIG_ARG)
            .map_or(0, |rest| self.query_buf.len() + rest);
        self.query_buf.capacity().max(announced)
    }

    /// Should the reply of the command that just ran be dropped (CLIENT REPLY OFF / SKIP)?
    /// Advances the SKIP state machine.
    pub fn take_reply_suppression(&mut self) -> bool {
        match self.reply_mode {
            ReplyMode::On => false,
            ReplyMode::Off => true,
            ReplyMode::SkipNext => {
                // The CLIENT REPLY SKIP command itself gets no reply either.
                self.reply_mode = ReplyMode::Skipping;
                true
            }
            ReplyMode::Skipping => {
                self.reply_mode = ReplyMode::On;
                true
            }
        }
    }

    /// Flags as CLIENT LIST prints them, in Redis's order (`N` = nothing special).
    /// (Redis: `catClientInfoString`.)
    pub fn flags_string(&self) -> String {
        let mut f = String::new();
        for (on, c) in [
            (self.monitor, 'O'),
            (self.replica.attached, 'S'),
            (self.is_master, 'M'),
            (self.subscriptions.count() > 0, 'P'),
            (self.multi.active, 'x'),
            (self.blocked.is_some() || self.postponed, 'b'),
            (self.tracking.is_some(), 't'),
            (self.tracking.as_ref().is_some_and(|t| t.broken_redir), 'R'),
            (self.tracking.as_ref().is_some_and(|t| t.bcast), 'B'),
            // A watched key changed: EXEC will fail.
            (self.multi.dirty_cas(), 'd'),
            (self.close_after_reply, 'c'),
            (self.close_asap, 'A'),
            (matches!(self.addr, PeerAddr::Unix(_)), 'U'),
            (self.no_evict, 'e'),
            (self.no_touch, 'T'),
        ] {
            if on {
                f.push(c);
            }
        }
        if f.is_empty() {
            f.push('N');
        }
        f
    }
}

/// A client's input buffer: bytes `[start, end)` are received but not yet executed.
///
/// Storage is a `BytesMut` whose length is its usable size, zero-filled only when it grows:
/// reads go straight into `data[end..]`, executed commands just advance `start` (Redis's
/// `qb_pos`), and the unread tail is moved to the front only when space runs out.
#[derive(Default)]
pub struct QueryBuffer {
    data: BytesMut,
    start: usize,
    end: usize,
}

impl QueryBuffer {
    /// Received bytes not yet executed.
    pub fn unread(&self) -> &[u8] {
        &self.data[self.start..self.end]
    }

    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Allocated size (CLIENT LIST `qbuf` + `qbuf-free`).
    pub fn capacity(&self) -> usize {
        self.data.len()
    }

    /// Marks `n` bytes as executed.
    pub fn consume(&mut self, n: usize) {
        self.start += n;
        debug_assert!(self.start <= self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Free space of at least `min` bytes at the end, for the next read.
    pub(crate) fn spare(&mut self, min: usize) -> &mut [u8] {
        if self.data.len() - self.end < min && self.start > 0 {
            self.data.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.data.len() - self.end < min {
            self.data.resize(self.end + min, 0);
        }
        &mut self.data[self.end..]
    }

    pub(crate) fn commit(&mut self, n: usize) {
        self.end += n;
    }

    /// Gives memory back once an idle client's buffer has grown large (Redis's
    /// `clientsCronResizeQueryBuffer`).
    pub fn shrink_if_idle(&mut self) {
        if self.is_empty() && self.data.len() > 4 * PROTO_IOBUF_LEN {
            self.data = BytesMut::new();
            self.start = 0;
            self.end = 0;
        }
    }
}

/// One `client-output-buffer-limit` class: (class name, hard bytes, soft bytes, soft seconds).
impl Client {
    /// It passed its output-buffer limit: it is closed once this turn ends, with Redis's log
    /// line (`closeClientOnOutputBufferLimitReached`). `disconnections` is INFO's
    /// `client_output_buffer_limit_disconnections`.
    pub fn close_for_output_limit(&mut self, disconnections: &mut u64) {
        log::warn!(
            "Client id={} addr={} scheduled to be closed ASAP for overcoming of output buffer limits.",
            self.id,
            self.addr
        );
        self.close_asap = true;
        *disconnections += 1;
    }
}

pub type OutputLimit = (String, u64, u64, u64);

/// Has the pending output, `used` bytes, passed its class's hard limit, or stayed above the
/// soft limit for longer than allowed? `class` is the client's `client-output-buffer-limit`
/// class (`normal`, `pubsub`, or `slave` for replicas). A hard limit below `hard_floor` counts
/// as `hard_floor` (a replica's is never below `repl-backlog-size`: it shares the backlog's
/// memory, and a lower limit would only drop a replica right after a partial resync). Starts
/// or resets the soft-limit clock `soft_since` as a side effect. Redis:
/// `checkClientOutputBufferLimits`.
pub fn output_limit_reached(
    limits: &[OutputLimit],
    used: usize,
    hard_floor: u64,
    class: &str,
    soft_since: &mut Option<Ms>,
    now: Ms,
) -> bool {
    let Some(&(_, hard, soft, soft_seconds)) = limits.iter().find(|l| l.0 == class) else {
        return false;
    };
    if hard == 0 && soft == 0 {
        return false;
    }
    let used = used as u64;
    let hard_reached = hard > 0 && used >= hard.max(hard_floor);
    let soft_reached = soft > 0 && used >= soft;
    let soft_expired = if soft_reached {
        match *soft_since {
            // The first time over the soft limit only starts its clock.
            None => {
                *soft_since = Some(now);
                false
            }
            Some(since) => now - since > soft_seconds as i64 * 1000,
        }
    } else {
        *soft_since = None;
        false
    };
    hard_reached || soft_expired
}

impl Client {
    /// The client's `client-output-buffer-limit` class (Redis: `getClientType`).
    pub fn output_class(&self) -> &'static str {
        if self.replica.attached {
            "slave"
        } else if self.subscriptions.count() > 0 {
            "pubsub"
        } else {
            "normal"
        }
    }

    /// [`output_limit_reached`] for this client's own reply buffer.
    pub fn output_limit_reached(&mut self, limits: &[OutputLimit], now: Ms) -> bool {
        let class = self.output_class();
        output_limit_reached(
            limits,
            self.reply.pending_len(),
            0,
            class,
            &mut self.soft_limit_reached_at,
            now,
        )
    }

    /// [`output_limit_reached`] for a replica, whose output is the part of the shared
    /// replication buffer it keeps alive (Redis: `getClientOutputBufferMemoryUsage`).
    pub fn replica_output_limit_reached(
        &mut self,
        limits: &[OutputLimit],
        backlog: &super::replbuf::ReplicationBacklog,
        now: Ms,
    ) -> bool {
        let used = self
            .replica
            .stream_offset
            .map_or(0, |at| backlog.held_from(at));
        output_limit_reached(
            limits,
            used + self.reply.pending_len(),
            backlog.size() as u64,
            "slave",
            &mut self.soft_limit_reached_at,
            now,
        )
    }
}
