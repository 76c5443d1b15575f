//! The event loop (Redis: `ae.c`, `server.c` `main`/`beforeSleep`/`serverCron`, `networking.c`).
//!
//! One thread owns everything: the listening sockets, the client slab, the databases. Each turn
//! of the loop:
//!
//! ```text
//!   poll(timeout = min(next cron tick, next blocked-client deadline))
//!     ├─ listener readable  -> accept every pending connection (until WouldBlock)
//!     ├─ client readable    -> read, parse and run every complete command (input.rs)
//!     ├─ client writable    -> a previous write came up short: continue it
//!     └─ signal             -> SIGINT/SIGTERM: shut down after this turn
//!   before_sleep()
//!     ├─ time out blocked clients whose deadline passed
//!     └─ write every client with pending output: one write(2) per client per turn
//!   server_cron() when due (hz times a second): active expiry, idle timeouts, stats
//! ```
//!
//! Commands only ever *append* to reply buffers; writing happens once per turn in
//! `before_sleep`, so a pipeline of N commands costs one read and one write. A client's socket
//! is registered for writable events only while a write came up short, so an idle server wakes
//! for nothing.

pub mod blocking;
pub mod busy;
pub mod client;
mod cron;
pub mod input;

use crate::command::table::CommandTable;
use crate::config::Config;
use crate::db::expire::ExpireCycleState;
use crate::db::{Db, Ms};
use client::Client;
use hashbrown::HashMap;
use log::{debug, info, warn};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use rand::rngs::SmallRng;
use rand::SeedableRng;
use slab::Slab;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The version of Redis whose behaviour ferrodis matches; clients gate features on it.
pub const REDIS_VERSION: &str = "7.0.15";
/// ferrodis's own version.
pub const FERRODIS_VERSION: &str = env!("CARGO_PKG_VERSION");

const SIGNAL_TOKEN: Token = Token(usize::MAX - 1);
/// Listener tokens count down from here, one per bound address.
const FIRST_LISTENER_TOKEN: usize = usize::MAX - 2;

/// Current Unix time in milliseconds.
pub fn unix_ms() -> Ms {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as Ms)
        .unwrap_or(0)
}

/// Per-command statistics (INFO commandstats).
#[derive(Default, Clone)]
pub struct CommandStats {
    pub name: &'static str,
    pub calls: u64,
    pub usec: u64,
    pub rejected_calls: u64,
    pub failed_calls: u64,
}

/// Server-wide counters (INFO stats).
#[derive(Default)]
pub struct Stats {
    pub total_connections_received: u64,
    pub total_commands_processed: u64,
    pub rejected_connections: u64,
    pub total_error_replies: u64,
    pub error_codes: HashMap<String, u64>,
    /// Keyed by the address of the command's table row.
    pub commands: HashMap<usize, CommandStats>,
    pub total_net_input_bytes: u64,
    pub total_net_output_bytes: u64,
    pub client_output_buffer_limit_disconnections: u64,
    pub client_query_buffer_limit_disconnections: u64,
    /// Ring of (time ms, total commands) samples for instantaneous_ops_per_sec.
    pub ops_samples: Vec<(Ms, u64)>,
    pub evicted_keys: u64,
}

impl Stats {
    /// Commands per second over the sampled window (Redis: `getInstantaneousMetric`).
    pub fn instantaneous_ops_per_sec(&self) -> u64 {
        match (self.ops_samples.first(), self.ops_samples.last()) {
            (Some(&(t0, c0)), Some(&(t1, c1))) if t1 > t0 => (c1 - c0) * 1000 / (t1 - t0) as u64,
            _ => 0,
        }
    }
}

/// Why and how the server stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shutdown {
    Signal,
    Command,
}

/// Everything the loop owns apart from the clients and the databases, which are siblings of
/// this struct in [`Server`] so that a command can borrow all three at once.
pub struct ServerState {
    pub config: Config,
    pub commands: CommandTable,
    pub stats: Stats,
    pub started_at: Instant,
    pub started_ms: Ms,
    pub rng: SmallRng,
    pub next_client_id: u64,
    /// Clients whose reply buffer has bytes to write this turn.
    pub clients_pending_write: Vec<usize>,
    pub blocking: blocking::BlockingState,
    pub pubsub: crate::command::pubsub::PubsubState,
    pub watches: crate::command::multi::WatchState,
    pub scripts: crate::command::scripting::ScriptState,
    /// Listener and registry clones for serving clients while a script is busy.
    pub busy_io: Option<busy::BusyIo>,
    pub expire_cycle: ExpireCycleState,
    /// Big values and flushed databases waiting to be dropped a slice per loop turn.
    pub lazyfree: crate::db::lazyfree::LazyFreeQueue,
    pub shutdown: Option<Shutdown>,
    /// Writes since start (Redis's `server.dirty`, reported as rdb_changes_since_last_save).
    pub dirty: u64,
    /// Last save and load, for LASTSAVE and INFO persistence.
    pub rdb: crate::command::persistence::RdbState,
    pub run_id: String,
    pub tcp_port: u16,
    pub executable: String,
    pub config_file: String,
}

impl ServerState {
    /// Fresh server state for `config` (the listeners are bound by [`Server::bind`]). Also
    /// used on its own, without sockets, by benchmarks that run commands directly.
    pub fn new(config: Config, tcp_port: u16) -> ServerState {
        let mut rng = SmallRng::from_os_rng();
        let run_id: String = (0..40)
            .map(|_| {
                let n: u8 = rand::Rng::random_range(&mut rng, 0..16);
                char::from_digit(n as u32, 16).unwrap_or('0')
            })
            .collect();
        ServerState {
            config,
            commands: CommandTable::new(),
            stats: Stats::default(),
            started_at: Instant::now(),
            started_ms: unix_ms(),
            rng,
            next_client_id: 1,
            clients_pending_write: Vec::new(),
            blocking: Default::default(),
            pubsub: Default::default(),
            watches: Default::default(),
            scripts: Default::default(),
            busy_io: None,
            expire_cycle: ExpireCycleState::default(),
            lazyfree: Default::default(),
            shutdown: None,
            dirty: 0,
            rdb: Default::default(),
            run_id,
            tcp_port,
            executable: std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            config_file: String::new(),
        }
    }
}

/// The whole server: poller, listeners, clients, databases and state.
pub struct Server {
    poll: Poll,
    listeners: Vec<TcpListener>,
    signals: signal_hook_mio::v1_0::Signals,
    pub clients: Slab<Client>,
    pub dbs: Vec<Db>,
    pub state: ServerState,
    next_cron: Instant,
}

impl Server {
    /// Binds the listening sockets and prepares the loop (does not start serving).
    pub fn bind(config: Config) -> io::Result<Server> {
        let poll = Poll::new()?;
        let mut listeners = Vec::new();
        let mut busy_listeners = Vec::new();
        for (i, host) in config.bind.iter().enumerate() {
            let addr: SocketAddr = format!("{host}:{}", config.port)
                .parse()
                .or_else(|_| format!("[{host}]:{}", config.port).parse())
                .map_err(|_| {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("bad bind address '{host}'"),
                    )
                })?;
            // Bound by mio (its backlog), then cloned through std so the busy-script loop can
            // accept on the same socket (server::busy).
            let std_listener = std::net::TcpListener::from(TcpListener::bind(addr)?);
            busy_listeners.push(std_listener.try_clone()?);
            let mut listener = TcpListener::from_std(std_listener);
            poll.registry().register(
                &mut listener,
                Token(FIRST_LISTENER_TOKEN - i),
                Interest::READABLE,
            )?;
            listeners.push(listener);
        }
        let tcp_port = listeners
            .first()
            .and_then(|l| l.local_addr().ok())
            .map(|a| a.port())
            .unwrap_or(config.port);
        let mut signals = signal_hook_mio::v1_0::Signals::new([
            signal_hook::consts::SIGINT,
            signal_hook::consts::SIGTERM,
        ])?;
        poll.registry()
            .register(&mut signals, SIGNAL_TOKEN, Interest::READABLE)?;
        let busy_registry = poll.registry().try_clone()?;
        let dbs = (0..config.databases).map(Db::new).collect();
        Ok(Server {
            poll,
            listeners,
            signals,
            clients: Slab::new(),
            dbs,
            state: {
                let mut state = ServerState::new(config, tcp_port);
                state.busy_io = Some(busy::BusyIo {
                    listeners: busy_listeners,
                    registry: busy_registry,
                });
                state
            },
            next_cron: Instant::now(),
        })
    }

    /// The port actually bound (useful when configured with port 0).
    pub fn port(&self) -> u16 {
        self.state.tcp_port
    }

    /// Runs the loop until SHUTDOWN or a signal.
    pub fn run(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        loop {
            let timeout = self.poll_timeout();
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            for event in events.iter() {
                match event.token() {
                    SIGNAL_TOKEN => {
                        for signal in self.signals.pending() {
                            warn!("Received signal {signal}, scheduling shutdown...");
                            self.state.shutdown = Some(Shutdown::Signal);
                        }
                    }
                    Token(t)
                        if t > FIRST_LISTENER_TOKEN - self.listeners.len()
                            && t <= FIRST_LISTENER_TOKEN =>
                    {
                        self.accept_clients(FIRST_LISTENER_TOKEN - t);
                    }
                    Token(key) => {
                        // Events for a client closed earlier in this batch are spurious.
                        if !self.clients.contains(key) {
                            continue;
                        }
                        if event.is_readable() || event.is_read_closed() || event.is_error() {
                            self.read_from_client(key);
                        }
                        if event.is_writable() && self.clients.contains(key) {
                            self.write_to_client(key);
                        }
                    }
                }
            }
            self.before_sleep();
            if Instant::now() >= self.next_cron {
                self.server_cron();
                let period = Duration::from_millis(1000 / self.state.config.hz.max(1) as u64);
                self.next_cron = Instant::now() + period;
            }
            if let Some(reason) = self.state.shutdown {
                if reason == Shutdown::Signal && !self.save_before_signal_exit() {
                    self.state.shutdown = None;
                    continue;
                }
                info!("User requested shutdown... ({reason:?})");
                self.before_sleep();
                info!("ferrodis is now ready to exit, bye bye...");
                return Ok(());
            }
        }
    }

    /// The final save of a signal-initiated shutdown (see `command::persistence`).
    fn save_before_signal_exit(&mut self) -> bool {
        crate::command::persistence::save_before_signal_exit(&self.dbs, &mut self.state, unix_ms())
    }

    /// How long poll may sleep: until the next cron tick or the next blocked-client deadline.
    fn poll_timeout(&self) -> Duration {
        let now = Instant::now();
        if !self.state.lazyfree.is_empty() {
            // Memory is still being freed a slice per turn: don't sleep.
            return Duration::ZERO;
        }
        let mut timeout = self.next_cron.saturating_duration_since(now);
        if let Some(deadline) = blocking::next_deadline(&self.state) {
            let wait = (deadline - unix_ms()).max(0) as u64;
            timeout = timeout.min(Duration::from_millis(wait));
        }
        timeout
    }

    fn accept_clients(&mut self, listener: usize) {
        loop {
            let (socket, addr) = match self.listeners[listener].accept() {
                Ok(pair) => pair,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    warn!("Accepting client connection: {e}");
                    return;
                }
            };
            self.state.stats.total_connections_received += 1;
            if self.clients.len() >= self.state.config.maxclients {
                // Like Redis: tell the client why, best effort, then drop it.
                let mut socket = socket;
                let _ = socket.write_all(b"-ERR max number of clients reached\r\n");
                self.state.stats.rejected_connections += 1;
                warn!("Rejected connection from {addr}: max number of clients reached");
                continue;
            }
            let _ = socket.set_nodelay(true);
            self.register_client(socket, addr);
        }
    }

    fn register_client(&mut self, mut socket: TcpStream, addr: SocketAddr) {
        let entry = self.clients.vacant_entry();
        let key = entry.key();
        if let Err(e) = self
            .poll
            .registry()
            .register(&mut socket, Token(key), Interest::READABLE)
        {
            warn!("Registering client {addr}: {e}");
            return;
        }
        let id = self.state.next_client_id;
        self.state.next_client_id += 1;
        let authenticated = self.state.config.requirepass.is_none();
        entry.insert(Client::new(id, socket, addr, unix_ms(), authenticated));
        debug!("Accepted {addr} as client id={id}");
    }

    /// Writes as much of a client's pending output as the socket takes. Registers writable
    /// interest if the kernel buffer filled up; closes the client on error or when it asked to
    /// be closed after its reply.
    fn write_to_client(&mut self, key: usize) {
        let Some(c) = self.clients.get_mut(key) else {
            return;
        };
        let mut failed = false;
        while !c.reply.is_empty() {
            match c.socket.write(c.reply.as_bytes()) {
                Ok(0) => {
                    failed = true;
                    break;
                }
                Ok(n) => {
                    self.state.stats.total_net_output_bytes += n as u64;
                    c.reply.consume(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    debug!("Error writing to client id={}: {e}", c.id);
                    failed = true;
                    break;
                }
            }
        }
        if failed {
            return self.close_client(key);
        }
        let want_writable = !c.reply.is_empty();
        if want_writable != c.writable_registered {
            let interest = if want_writable {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            if self
                .poll
                .registry()
                .reregister(&mut c.socket, Token(key), interest)
                .is_err()
            {
                return self.close_client(key);
            }
            c.writable_registered = want_writable;
        }
        if c.reply.is_empty() && c.close_after_reply {
            self.close_client(key);
        }
    }

    /// Frees a client and removes it from every registry that may name it.
    pub fn close_client(&mut self, key: usize) {
        if !self.clients.contains(key) {
            return;
        }
        let mut client = self.clients.remove(key);
        let _ = self.poll.registry().deregister(&mut client.socket);
        blocking::forget_client(&mut self.state, key, &client);
        crate::command::pubsub::forget_client(&mut self.state, key, &client);
        crate::command::multi::forget_client(&mut self.state, key, &client);
        debug!("Client id={} ({}) closed", client.id, client.addr);
    }

    /// Work done right before sleeping in poll (Redis: `beforeSleep`): blocked clients whose
    /// timeout passed get their null reply, clients unblocked this turn resume their pipelined
    /// input, then every client with pending output is written.
    fn before_sleep(&mut self) {
        if !self.state.lazyfree.is_empty() {
            self.state.lazyfree.free_some(Duration::from_millis(1));
        }
        blocking::handle_timeouts(self, unix_ms());
        blocking::process_unblocked_clients(self);
        let pending = std::mem::take(&mut self.state.clients_pending_write);
        for key in pending.iter().copied() {
            let Some(c) = self.clients.get_mut(key) else {
                continue;
            };
            if !c.pending_write {
                continue;
            }
            c.pending_write = false;
            if c.close_asap {
                self.close_client(key);
                continue;
            }
            if crate::command::pubsub::output_limit_exceeded(&mut self.state, c, unix_ms()) {
                warn!(
                    "Client id={} addr={} scheduled to be closed ASAP for overcoming of output buffer limits.",
                    c.id, c.addr
                );
                self.state.stats.client_output_buffer_limit_disconnections += 1;
                self.close_client(key);
                continue;
            }
            self.write_to_client(key);
        }
        // Reuse the allocation (it was taken so that closing clients could not alias it).
        let mut pending = pending;
        pending.clear();
        if self.state.clients_pending_write.is_empty() {
            self.state.clients_pending_write = pending;
        }
    }

    /// Queues a client for writing in this turn's `before_sleep`.
    pub fn queue_write(&mut self, key: usize) {
        if let Some(c) = self.clients.get_mut(key) {
            if !c.pending_write && (!c.reply.is_empty() || c.close_asap || c.close_after_reply) {
                c.pending_write = true;
                self.state.clients_pending_write.push(key);
            }
        }
    }

    /// Builds a command context for client `key` whose reply buffer has been moved into `out`.
    pub fn ctx<'a>(
        &'a mut self,
        key: usize,
        db: usize,
        out: &'a mut crate::resp::reply::ReplyBuffer,
        now: Ms,
    ) -> crate::command::Ctx<'a> {
        crate::command::Ctx {
            dbs: &mut self.dbs,
            db,
            out,
            clients: &mut self.clients,
            id: key,
            srv: &mut self.state,
            now,
        }
    }
}
