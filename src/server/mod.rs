//! The event loop (Redis: `ae.c`, `server.c` `main`/`beforeSleep`/`serverCron`, `networking.c`).
//!
//! One thread owns everything: the listening sockets, the client slab, the databases. Each turn
//! of the loop:
//!
//! ```text
//!   poll(timeout = min(next cron tick, next blocked-client deadline), or 0 if work is left)
//!     ├─ listener readable  -> accept every pending connection (until WouldBlock)
//!     ├─ client readable    -> read at most 16 KB, parse and run every complete command
//!     │                        (input.rs); more left in the socket: remembered for next turn
//!     ├─ client writable    -> a previous write came up short: continue it (output.rs)
//!     └─ signal             -> SIGINT/SIGTERM: shut down after this turn
//!   clients with unread data left from the previous turn: read their next 16 KB
//!   before_sleep()
//!     ├─ time out blocked clients whose deadline passed
//!     ├─ resume the pipelines of clients unblocked this turn
//!     └─ write every client with pending output: at most 64 KB per client per turn
//!   server_cron() when due (hz times a second): active expiry, idle timeouts, stats
//! ```
//!
//! Commands only ever *append* to reply buffers; writing happens once per turn in
//! `before_sleep`, so a pipeline of N commands costs one read and one write. A client's socket
//! is registered for writable events only while a write came up short, so an idle server wakes
//! for nothing.
//!
//! # Fairness
//!
//! Each client gets a bounded share of a turn: one read of at most `PROTO_IOBUF_LEN` (16 KB)
//! of requests, and one write of at most `NET_MAX_WRITES_PER_EVENT` (64 KB), as in Redis. mio
//! is edge-triggered, so a client whose read filled the whole 16 KB (it may have sent more) is
//! put on `clients_pending_read` and read again next turn, after every other ready client; a
//! client whose write was cut at 64 KB stays on `clients_pending_write`. While either list is
//! non-empty, poll does not sleep. A client that pipelines without reading its replies can
//! therefore not delay the others by more than its share of a turn, and its pending replies
//! are bounded by `client-output-buffer-limit`, checked after every command it runs.
//!
//! # Who owns what
//!
//! The networking functions (accept, read, parse/execute, write, close) work on a [`Net`]: the
//! client slab, the databases and the server state, borrowed. The main loop borrows them from
//! [`Server`]; the restricted turn run while a script is busy ([`busy`]) borrows the same parts
//! from the script's `Ctx`. The listeners and a handle on the poll registry live in
//! `ServerState::io`, so both reach them.

pub mod busy;
mod cron;
pub mod input;
mod master_link;
pub mod output;

pub use crate::command::state::{unix_ms, FERRODIS_VERSION, REDIS_VERSION};

use crate::command::aof::AofStatus;
use crate::command::blocked;
use crate::command::client::Client;
use crate::command::state::{NetIo, ServerState};
use crate::command::{Caller, Ctx, NO_CLIENT};
use crate::config::{AppendFsync, Config};
use crate::db::{Db, Ms};
use crate::net::Connection;
use crate::resp::reply::ReplyBuffer;
use log::{debug, warn};
use mio::{Events, Interest, Poll, Token};
use slab::Slab;
use std::io::{self, Write};
use std::time::{Duration, Instant};

const SIGNAL_TOKEN: Token = Token(usize::MAX - 1);
const UNIX_LISTENER_TOKEN: Token = Token(usize::MAX - 2);
// TCP listeners' tokens count down from just below: see `net::listen::listener_token`.

/// The whole server: poller, clients, databases and state (which holds the listeners).
pub struct Server {
    poll: Poll,
    signals: signal_hook_mio::v1_0::Signals,
    pub clients: Slab<Client>,
    pub dbs: Vec<Db>,
    pub state: ServerState,
    next_cron: Instant,
    /// Unix ms of the last once-a-second replication cron.
    last_replication_cron: Ms,
}

/// What the networking code works on: the parts of the server it reads and changes, borrowed.
/// The Rust form of the globals Redis's `networking.c` uses.
pub struct Net<'a> {
    pub clients: &'a mut Slab<Client>,
    pub dbs: &'a mut [Db],
    pub state: &'a mut ServerState,
    /// How requests read now are checked: [`Caller::Client`] in the main loop,
    /// [`Caller::WhileBusy`] in the restricted turn run while a script is busy.
    pub caller: Caller,
    /// The client whose script is running, in the restricted turn: its buffers are borrowed
    /// by the script, so the networking code leaves it alone.
    pub busy_client: Option<usize>,
}

impl Net<'_> {
    /// A command context for client `key` whose reply buffer has been moved into `out`.
    pub fn ctx<'b>(
        &'b mut self,
        key: usize,
        db: usize,
        out: &'b mut ReplyBuffer,
        now: Ms,
    ) -> Ctx<'b> {
        Ctx {
            dbs: &mut *self.dbs,
            db,
            out,
            clients: &mut *self.clients,
            id: key,
            srv: &mut *self.state,
            now,
        }
    }

    /// Accepts every pending connection on listener `index` (Redis: `acceptTcpHandler`).
    pub fn accept_clients(&mut self, index: usize) {
        loop {
            let Some(io) = self.state.io.as_ref() else {
                return;
            };
            let Some(listener) = io.listeners.get(index) else {
                return;
            };
            let (socket, addr) = match listener.accept() {
                Ok(pair) => pair,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    warn!("Accepting client connection: {e}");
                    return;
                }
            };
            let tls = match io.tls.as_ref() {
                Some(config) if index >= io.tls_from => Some(config.clone()),
                _ => None,
            };
            // Protected mode: with no password for the default user, only the loopback
            // interface may connect (Redis: `clientAcceptHandler`). On a TLS port the
            // handshake would come first: such a client is just closed.
            if self.state.config.protected_mode
                && self.state.acl.default_user().nopass
                && !crate::net::PeerAddr::Tcp(addr).is_local()
            {
                let mut socket = socket;
                if tls.is_none() {
                    let _ = socket.write_all(PROTECTED_MODE_DENIED.as_bytes());
                }
                self.state.stats.rejected_connections += 1;
                continue;
            }
            let mut socket = socket;
            // In clear text only: on a TLS port the handshake comes first.
            if !self.room_for_client(addr.into(), &mut socket, tls.is_none()) {
                continue;
            }
            let _ = socket.set_nodelay(true);
            let socket = match tls {
                None => Connection::from(socket),
                Some(config) => match Connection::tls(socket, config) {
                    Ok(socket) => socket,
                    Err(e) => {
                        warn!("Accepting TLS connection from {addr}: {e}");
                        continue;
                    }
                },
            };
            self.register_client(socket, addr.into());
        }
    }

    /// Accepts every pending connection on the `unixsocket` listener (Redis:
    /// `acceptUnixHandler`). Such clients are local: protected mode lets them in.
    pub fn accept_unix_clients(&mut self) {
        loop {
            let Some(io) = self.state.io.as_ref() else {
                return;
            };
            let (Some(listener), Some(path)) = (io.unix.as_ref(), io.unix_path) else {
                return;
            };
            let socket = match listener.accept() {
                Ok((socket, _)) => socket,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    warn!("Accepting client connection: {e}");
                    return;
                }
            };
            let addr = crate::net::PeerAddr::Unix(path);
            let mut socket = socket;
            if !self.room_for_client(addr, &mut socket, true) {
                continue;
            }
            self.register_client(Connection::from(socket), addr);
        }
    }

    /// Counts an accepted connection and checks `maxclients`. When it is reached the answer
    /// is `false` (the caller drops the socket) and, if `tell`, the client is told why, best
    /// effort.
    fn room_for_client(
        &mut self,
        addr: crate::net::PeerAddr,
        socket: &mut impl Write,
        tell: bool,
    ) -> bool {
        self.state.stats.total_connections_received += 1;
        if self.clients.len() < self.state.config.maxclients {
            return true;
        }
        if tell {
            let _ = socket.write_all(MAX_CLIENTS_REACHED);
        }
        self.state.stats.rejected_connections += 1;
        warn!("Rejected connection from {addr}: max number of clients reached");
        false
    }

    fn register_client(&mut self, mut socket: Connection, addr: crate::net::PeerAddr) {
        let Some(io) = self.state.io.as_ref() else {
            return;
        };
        let entry = self.clients.vacant_entry();
        let key = entry.key();
        if let Err(e) = io
            .registry
            .register(&mut socket, Token(key), Interest::READABLE)
        {
            warn!("Registering client {addr}: {e}");
            return;
        }
        let id = self.state.next_client_id;
        self.state.next_client_id += 1;
        // Redis's `createClient`: on the default user, authenticated if it needs no password.
        let authenticated = self.state.acl.default_authenticates();
        let mut client = Client::new(id, socket, addr, unix_ms(), authenticated);
        client.acl_unrestricted = self.state.acl.default_user().unrestricted;
        entry.insert(client);
        debug!("Accepted {addr} as client id={id}");
    }

    /// Frees a client and removes it from every registry that may name it (Redis:
    /// `freeClient`).
    pub fn close_client(&mut self, key: usize) {
        if !self.clients.contains(key) || self.busy_client == Some(key) {
            return;
        }
        let mut client = self.clients.remove(key);
        if let (Some(io), Some(socket)) = (self.state.io.as_ref(), client.socket.as_mut()) {
            let _ = io.registry.deregister(socket);
        }
        blocked::forget_client(self.state, key, &client);
        crate::command::pubsub::forget_client(self.state, key, &client);
        crate::command::multi::forget_client(self.state, key, &client);
        if client.postponed {
            crate::command::pause::forget_client(&mut self.state.pause, key);
        }
        if client.tracking.is_some() {
            crate::command::tracking::disable_tracking(self.state, Some((key, &mut client)));
        }
        if client.monitor {
            crate::command::monitor::forget_client(&mut self.state.monitors, key);
        }
        crate::command::replication::forget_client(&mut self.state.propagation.repl, key);
        if client.replica.attached {
            crate::command::replication::trim_backlog_of(
                &mut self.state.propagation.repl,
                self.clients,
                crate::command::replbuf::TRIM_BLOCKS_PER_CALL,
            );
        }
        if client.is_master || client.replica.attached {
            let mut scratch = ReplyBuffer::new();
            let mut ctx = self.ctx(crate::command::NO_CLIENT, 0, &mut scratch, unix_ms());
            if client.is_master {
                crate::command::replica::link_closed(&mut ctx, key, client.db);
            } else {
                crate::command::fullsync::replica_closed(&mut ctx, client.replica.state);
            }
        }
        debug!("Client id={} ({}) closed", client.id, client.addr);
    }

    /// Queues a client for writing in this turn's `before_sleep`.
    pub fn queue_write(&mut self, key: usize) {
        if let Some(c) = self.clients.get_mut(key) {
            let has_output = !c.reply.is_empty()
                || c.rdb_transfer.is_some()
                || c.socket.as_ref().is_some_and(Connection::wants_write);
            if !c.pending_write && (has_output || c.close_asap || c.close_after_reply) {
                c.pending_write = true;
                self.state.clients_pending_write.push(key);
            }
        }
    }
}

/// What a client refused by `maxclients` reads before it is closed.
const MAX_CLIENTS_REACHED: &[u8] = b"-ERR max number of clients reached\r\n";

/// What a non-loopback connection reads before it is closed in protected mode (Redis's text).
const PROTECTED_MODE_DENIED: &str = "-DENIED Redis is running in protected mode because \
    protected mode is enabled and no password is set for the default user. In this mode \
    connections are only accepted from the loopback interface. If you want to connect from \
    external computers to Redis you may adopt one of the following solutions: 1) Just disable \
    protected mode sending the command 'CONFIG SET protected-mode no' from the loopback \
    interface by connecting to Redis from the same host the server is running, however MAKE \
    SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to \
    make this change permanent. 2) Alternatively you can just disable the protected mode by \
    editing the Redis configuration file, and setting the protected mode option to 'no', and \
    then restarting the server. 3) If you started the server manually just for testing, \
    restart it with the '--protected-mode no' option. 4) Setup a an authentication password \
    for the default user. NOTE: You only need to do one of the above things in order for the \
    server to start accepting connections from the outside.\r\n";

impl Server {
    /// Binds the listening sockets and prepares the loop (does not start serving). Installs
    /// the restricted loop turn scripts call while busy ([`busy::process_events_while_blocked`]).
    pub fn bind(config: Config) -> io::Result<Server> {
        let poll = Poll::new()?;
        let backlog = config.tcp_backlog.min(i32::MAX as u64) as i32;
        let tls = if config.tls_port != 0 {
            let tls = crate::net::tls::server_config(&config)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
            Some(tls)
        } else {
            None
        };
        // A replica's TLS link builds its config at each connect; a bad one stops startup
        // here, as Redis's `tlsConfigure` does.
        if config.tls_replication {
            crate::net::tls::client_config(&config)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        }
        // `port 0`: no plain TCP listener (with a TLS port: TLS only), as Redis.
        let mut listeners = if config.port == 0 && tls.is_some() {
            Vec::new()
        } else {
            crate::net::listen::listen_to_port(&config.bind, config.port, backlog)?
        };
        let tls_from = listeners.len();
        if tls.is_some() {
            listeners.extend(crate::net::listen::listen_to_port(
                &config.bind,
                config.tls_port,
                backlog,
            )?);
        }
        for (i, listener) in listeners.iter_mut().enumerate() {
            poll.registry().register(
                listener,
                crate::net::listen::listener_token(i),
                Interest::READABLE,
            )?;
        }
        let tcp_port = listeners
            .first()
            .and_then(|l| l.local_addr().ok())
            .map(|a| a.port())
            .unwrap_or(config.port);
        let (unix, unix_path) = match config.unixsocket.as_deref() {
            Some(path) => {
                let mut listener =
                    crate::net::listen::listen_unix(path, config.unixsocketperm, backlog).map_err(
                        |e| io::Error::new(e.kind(), format!("Failed opening Unix socket: {e}")),
                    )?;
                poll.registry()
                    .register(&mut listener, UNIX_LISTENER_TOKEN, Interest::READABLE)?;
                // Immutable for the life of the process: every Unix client's address shares it.
                let path: &'static str = Box::leak(path.to_string().into_boxed_str());
                (Some(listener), Some(path))
            }
            None => (None, None),
        };
        if listeners.is_empty() && unix.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "Configured to not listen anywhere, exiting.",
            ));
        }
        let mut signals = signal_hook_mio::v1_0::Signals::new([
            signal_hook::consts::SIGINT,
            signal_hook::consts::SIGTERM,
        ])?;
        poll.registry()
            .register(&mut signals, SIGNAL_TOKEN, Interest::READABLE)?;
        let registry = poll.registry().try_clone()?;
        let dbs = (0..config.databases).map(Db::new).collect();
        crate::command::evict::apply_config(&config);
        let mut state = ServerState::new(config, tcp_port);
        crate::command::acl::load_users_at_startup(&mut state)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        state.io = Some(NetIo {
            listeners,
            tls_from,
            tls,
            unix,
            unix_path,
            registry,
        });
        state.events_while_blocked = Some(busy::process_events_while_blocked);
        state.startup_memory = crate::alloc::used_memory();
        let mut server = Server {
            poll,
            signals,
            clients: Slab::new(),
            dbs,
            state,
            next_cron: Instant::now(),
            last_replication_cron: 0,
        };
        server.apply_replicaof_directive();
        Ok(server)
    }

    /// `replicaof <host> <port>` in the configuration: start as a replica.
    fn apply_replicaof_directive(&mut self) {
        let value = self.state.config.get("replicaof").unwrap_or_default();
        let words: Vec<&str> = value.split_whitespace().collect();
        let [host, port] = words[..] else {
            return;
        };
        let Ok(port) = port.parse::<u16>() else {
            return;
        };
        let mut scratch = ReplyBuffer::new();
        let mut ctx = self.ctx(NO_CLIENT, 0, &mut scratch, unix_ms());
        crate::command::replica::start_as_replica(&mut ctx, host.to_string(), port);
    }

    /// Loads the dataset at startup, from the AOF or the RDB file, then opens the AOF for
    /// appending when it is on (Redis: `loadDataFromDisk`, `aofOpenIfNeededOnServerStart`).
    /// `Err` (already logged) stops the server.
    pub fn load_data_from_disk(&mut self) -> Result<(), String> {
        let now = unix_ms();
        let mut scratch = ReplyBuffer::new();
        let mut ctx = self.ctx(NO_CLIENT, 0, &mut scratch, now);
        crate::command::aof::load_data_from_disk(&mut ctx)?;
        crate::command::aof::open_on_server_start(&self.dbs, &mut self.state, now)
    }

    /// The port actually bound (useful when configured with port 0).
    pub fn port(&self) -> u16 {
        self.state.tcp_port
    }

    /// The networking view of the server, for the main loop.
    pub fn net(&mut self) -> Net<'_> {
        Net {
            clients: &mut self.clients,
            dbs: &mut self.dbs,
            state: &mut self.state,
            caller: Caller::Client,
            busy_client: None,
        }
    }

    /// Runs the loop until SHUTDOWN or a signal.
    pub fn run(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        loop {
            // Clients that may have more to read than their share of the last turn.
            let resume = std::mem::take(&mut self.state.clients_pending_read);
            let timeout = if resume.is_empty() {
                self.poll_timeout()
            } else {
                Duration::ZERO
            };
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() == io::ErrorKind::Interrupted {
                    self.state.clients_pending_read = resume;
                    continue;
                }
                return Err(e);
            }
            for event in events.iter() {
                // A TCP listener. CONFIG SET bind / port may change the listeners between
                // turns: an index past the current ones is stale, and `accept_clients` ignores it.
                if let Some(index) = crate::net::listen::listener_index(event.token()) {
                    self.net().accept_clients(index);
                    continue;
                }
                match event.token() {
                    SIGNAL_TOKEN => {
                        // The shutdown itself starts in the cron (`command::shutdown`).
                        for signal in self.signals.pending() {
                            let name = match signal {
                                signal_hook::consts::SIGINT => "SIGINT",
                                _ => "SIGTERM",
                            };
                            warn!("Received {name} scheduling shutdown...");
                            self.state.shutdown_state.asap = true;
                            self.state.shutdown_state.last_signal = signal;
                        }
                    }
                    UNIX_LISTENER_TOKEN => self.net().accept_unix_clients(),
                    // Read in before_sleep, with the replicas' writes of this turn done.
                    crate::command::fullsync::RDB_PIPE_TOKEN => {}
                    Token(key) => {
                        // Events for a client closed earlier in this batch are spurious.
                        if !self.clients.contains(key) {
                            continue;
                        }
                        if self.state.master.is_conn(key) && self.state.master.connecting() {
                            self.net().master_link_connect_event(key);
                            continue;
                        }
                        // Under `appendfsync always` a client's pending output is written
                        // before its new commands run, never after: a reply of this turn must
                        // wait for before_sleep's fsync (Redis: the AE_BARRIER write handler).
                        let barrier = self.state.aof.status != AofStatus::Off
                            && self.state.config.appendfsync == AppendFsync::Always;
                        if barrier && event.is_writable() {
                            self.net().write_to_client(key);
                        }
                        let read =
                            event.is_readable() || event.is_read_closed() || event.is_error();
                        if read && self.clients.contains(key) {
                            self.net().read_query_from_client(key);
                        }
                        if !barrier && event.is_writable() && self.clients.contains(key) {
                            self.net().write_to_client(key);
                        }
                    }
                }
            }
            for key in resume {
                if self.clients.get(key).is_some_and(|c| c.pending_read) {
                    self.net().read_query_from_client(key);
                }
            }
            self.before_sleep();
            if Instant::now() >= self.next_cron {
                self.server_cron();
                let period = Duration::from_millis(1000 / self.state.config.hz.max(1) as u64);
                self.next_cron = Instant::now() + period;
            }
            // SHUTDOWN or the cron finished a shutdown: replicas and clients get what is
            // queued for them (Redis: `flushSlavesOutputBuffers`), then the loop ends.
            if self.state.shutdown.is_some() {
                // The listeners close first (Redis: `closeListeningSockets`): whoever sees
                // its connection drop and reconnects is refused, not accepted by a dying
                // server.
                if let Some(io) = &mut self.state.io {
                    io.listeners.clear();
                    io.unix = None;
                }
                self.before_sleep();
                warn!("ferrodis is now ready to exit, bye bye...");
                return Ok(());
            }
        }
    }

    /// How long poll may sleep: until the next cron tick or the next blocked-client deadline;
    /// not at all while there is work left from this turn.
    fn poll_timeout(&self) -> Duration {
        let now = Instant::now();
        if !self.state.lazyfree.is_empty()
            || !self.state.clients_pending_write.is_empty()
            || self.state.evict.time_proc_running()
            || self.master_sync_load_pending()
        {
            // Memory is still being freed a slice per turn, or a client's output was cut at
            // its share of the turn: don't sleep.
            return Duration::ZERO;
        }
        let mut timeout = self.next_cron.saturating_duration_since(now);
        if let Some(deadline) = blocked::next_deadline(&self.state) {
            let wait = (deadline - unix_ms()).max(0) as u64;
            timeout = timeout.min(Duration::from_millis(wait));
        }
        timeout
    }

    /// Has a replica's load of its master's image something to parse already?
    fn master_sync_load_pending(&self) -> bool {
        let link = &self.state.master;
        link.conn
            .and_then(|key| self.clients.get(key))
            .is_some_and(|c| link.load_has_work(c.query_buf.unread()))
    }

    /// Work done right before sleeping in poll (Redis: `beforeSleep`): blocked clients whose
    /// timeout passed get their null reply, clients unblocked this turn resume their pipelined
    /// input, the AOF buffer is written, then every client with pending output is written.
    fn before_sleep(&mut self) {
        if !self.state.lazyfree.is_empty() {
            self.state.lazyfree.free_some(Duration::from_millis(1));
        }
        // A replica loading its master's image parses one slice of it per turn.
        self.net().master_sync_load_slice();
        let now = unix_ms();
        // Redis's beforeSleep: the fast expiry cycle, when the slow one left work behind.
        self.active_expire(crate::db::expire::CycleKind::Fast, now);
        let mut scratch = ReplyBuffer::new();
        let mut net = self.net();
        let mut ctx = net.ctx(NO_CLIENT, 0, &mut scratch, now);
        blocked::handle_blocked_clients_timeout(&mut ctx);
        if ctx.srv.evict.time_proc_running() {
            crate::command::evict::eviction_time_proc(&mut ctx);
        }
        net.process_unblocked_clients();
        {
            let mut ctx = net.ctx(NO_CLIENT, 0, &mut scratch, now);
            crate::command::tracking::handle_pending_key_invalidations(&mut ctx);
            crate::command::tracking::broadcast_invalidation_messages(&mut ctx);
            crate::command::replication::before_sleep(&mut ctx);
            // A diskless sync: what the child wrote since, for the replicas (Redis reads the
            // pipe from its readable event; here once per turn, which that event wakes).
            crate::command::fullsync::pump_rdb_pipe(&mut ctx);
        }
        // The AOF reaches the file (and, with `appendfsync always`, the disk) before any reply
        // of this turn is written: a client never sees a write acknowledged that a crash
        // could lose (Redis: `flushAppendOnlyFile` before `handleClientsWithPendingWrites`).
        if net.state.aof.status != crate::command::aof::AofStatus::Off {
            crate::command::aof::flush_append_only_file(net.state, false, now);
        }
        net.connect_to_master_if_needed();
        net.handle_clients_with_pending_writes();
        // Last, as in Redis's beforeSleep: clients whose buffers grew this turn (replies,
        // invalidations and messages what the writes could not send) may be over the limit.
        if net.state.config.maxmemory_clients != 0 {
            let before = net.state.evict.evicted_clients;
            let mut ctx = net.ctx(NO_CLIENT, 0, &mut scratch, now);
            crate::command::evict::evict_clients(&mut ctx);
            // Evicted clients are freed now (the write pass frees `close_asap` clients), so
            // no command of the next turn sees them (Redis frees them at once).
            if net.state.evict.evicted_clients != before {
                net.handle_clients_with_pending_writes();
            }
        }
    }

    /// Builds a command context for client `key` whose reply buffer has been moved into `out`.
    pub fn ctx<'a>(
        &'a mut self,
        key: usize,
        db: usize,
        out: &'a mut ReplyBuffer,
        now: Ms,
    ) -> Ctx<'a> {
        Ctx {
            dbs: &mut self.dbs,
            db,
            out,
            clients: &mut self.clients,
            id: key,
            srv: &mut self.state,
            now,
        }
    }

    /// Frees a client (see [`Net::close_client`]).
    pub fn close_client(&mut self, key: usize) {
        self.net().close_client(key);
    }
}
