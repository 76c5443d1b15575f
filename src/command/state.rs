//! Server-wide state the commands share (Redis: the `redisServer` struct in `server.h`, minus
//! the event loop itself): configuration, the command table, statistics, the registries of
//! blocked, subscribed, watching clients and of scripts, and the sockets the loop lends out.
//!
//! It lives in the command layer, not in `server/`, because handlers read and write it through
//! [`Ctx::srv`](super::Ctx): the loop (`server/`) owns a `ServerState` and builds a `Ctx` from
//! it, and nothing here knows about the loop.

use super::table::CommandTable;
use super::Ctx;
use crate::config::Config;
use crate::db::expire::ExpireCycleState;
use crate::db::Ms;
use hashbrown::HashMap;
use rand::rngs::SmallRng;
use rand::SeedableRng;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// The version of Redis whose behaviour ferrodis matches; clients gate features on it.
pub const REDIS_VERSION: &str = "7.0.15";
/// ferrodis's own version.
pub const FERRODIS_VERSION: &str = env!("CARGO_PKG_VERSION");

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
    /// Latencies in nanoseconds, with `latency-tracking yes` (created on the first call).
    pub latency_histogram: Option<Box<crate::util::hdr_histogram::HdrHistogram>>,
}

/// Server-wide counters (INFO stats).
#[derive(Default)]
pub struct Stats {
    pub total_connections_received: u64,
    pub total_commands_processed: u64,
    pub rejected_connections: u64,
    pub total_error_replies: u64,
    /// Errors sent over a replication link, either way (INFO `unexpected_error_replies`).
    pub unexpected_error_replies: u64,
    pub error_codes: HashMap<String, u64>,
    /// Keyed by the address of the command's table row.
    pub commands: HashMap<usize, CommandStats>,
    /// Bytes read from clients, and written to them; the master link's and the replicas'
    /// traffic is counted apart (`total_net_repl_input_bytes` / `_output_bytes`), as in Redis.
    pub total_net_input_bytes: u64,
    pub total_net_output_bytes: u64,
    pub total_net_repl_input_bytes: u64,
    pub total_net_repl_output_bytes: u64,
    /// Socket reads that brought data, and write events that sent some (INFO
    /// `total_reads_processed` / `total_writes_processed`).
    pub total_reads_processed: u64,
    pub total_writes_processed: u64,
    pub client_output_buffer_limit_disconnections: u64,
    pub client_query_buffer_limit_disconnections: u64,
    /// Ring of (time ms, total commands) samples for instantaneous_ops_per_sec.
    pub ops_samples: Vec<(Ms, u64)>,
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

/// The sockets of the event loop that a loop turn run from *inside* a command needs: the
/// listeners (to accept new connections) and a handle on the poller's registry (to register
/// them). Owned here, in the state, so that both the main loop and the restricted turn run
/// while a script is busy (see [`ServerState::events_while_blocked`]) use the same ones.
pub struct NetIo {
    /// The `bind` addresses on `port`, then (from index `tls_from` on) on `tls-port`.
    pub listeners: Vec<mio::net::TcpListener>,
    /// Index of the first TLS listener in `listeners` (== its length when TLS is off).
    pub tls_from: usize,
    /// The TLS settings new TLS connections are accepted with (rebuilt by CONFIG SET tls-*).
    pub tls: Option<std::sync::Arc<rustls::ServerConfig>>,
    /// The `unixsocket` listener, and its path (leaked once: see `net::PeerAddr::Unix`).
    pub unix: Option<mio::net::UnixListener>,
    pub unix_path: Option<&'static str>,
    pub registry: mio::Registry,
}

impl NetIo {
    /// Rebinds the TCP listeners after CONFIG SET `bind` / `port` (see
    /// `net::listen::change_listeners`): the TLS ones too when `with_tls` (a `bind` change).
    pub fn change_listeners(
        &mut self,
        old: crate::net::listen::ListenSpec,
        new: crate::net::listen::ListenSpec,
        with_tls: bool,
        backlog: i32,
    ) -> std::io::Result<()> {
        crate::net::listen::change_listeners(
            &self.registry,
            &mut self.listeners,
            &mut self.tls_from,
            old,
            new,
            with_tls && self.tls.is_some(),
            backlog,
        )
    }
}

/// Everything the loop owns apart from the clients and the databases, which are siblings of
/// this struct in `server::Server` so that a command can borrow all three at once.
pub struct ServerState {
    pub config: Config,
    pub commands: CommandTable,
    /// ACL users and the ACL log.
    pub acl: super::acl::AclState,
    pub stats: Stats,
    pub started_at: Instant,
    pub started_ms: Ms,
    pub rng: SmallRng,
    pub next_client_id: u64,
    /// Clients whose reply buffer has bytes to write this turn.
    pub clients_pending_write: Vec<usize>,
    /// Clients whose last read filled its whole share of a turn: the socket may hold more,
    /// and (edge-triggered) no new event will say so. The loop reads them again next turn.
    pub clients_pending_read: Vec<usize>,
    pub blocking: super::blocked::BlockingState,
    pub pubsub: super::pubsub::PubsubState,
    pub watches: super::multi::WatchState,
    pub scripts: super::scripting::ScriptState,
    /// Listeners and poll registry; `None` when commands run without sockets (benchmarks).
    pub io: Option<NetIo>,
    /// One restricted turn of the event loop, called by a script that runs past
    /// `busy-reply-threshold` (Redis: `processEventsWhileBlocked`).
    ///
    /// Why a hook: the loop is the layer *above* the commands, so a command may not call into
    /// it directly without an import cycle. The loop installs its function here at startup.
    /// A plain `fn` pointer rather than a boxed closure or a trait object: it captures nothing
    /// (everything it needs is reachable from the `Ctx` it is given), it costs nothing on the
    /// per-command path (only the Lua count hook calls it, after the threshold), and `None`
    /// says plainly that nobody serves clients meanwhile (benchmarks, unit tests).
    pub events_while_blocked: Option<fn(&mut Ctx)>,
    pub expire_cycle: ExpireCycleState,
    /// Bytes allocated once the server was set up, before any client (INFO
    /// `used_memory_startup`; Redis: `initial_memory_usage`).
    pub startup_memory: usize,
    /// The eviction pool, eviction statistics and the OOM state (see `command::evict`).
    pub evict: super::evict::EvictionState,
    /// Big values and flushed databases waiting to be dropped a slice per loop turn.
    pub lazyfree: crate::db::lazyfree::LazyFreeQueue,
    pub shutdown: Option<Shutdown>,
    /// A shutdown asked for by a signal, or waiting for lagging replicas (`command::shutdown`).
    pub shutdown_state: super::shutdown::ShutdownState,
    /// Writes since the last save (Redis's `server.dirty`, reported as
    /// rdb_changes_since_last_save). A command that raised it changed data, so `call` hands
    /// it to the propagation funnel.
    pub dirty: u64,
    /// The write funnel and its sinks (replicas now, the AOF later): see `command::propagate`.
    pub propagation: super::propagate::PropagationState,
    /// The replica role: the master this server follows and the link to it (`replica.rs`).
    pub master: super::replica::MasterLink,
    /// A coordinated FAILOVER under way (`failover.rs`).
    pub failover: super::failover::Failover,
    /// Last save and load, for LASTSAVE and INFO persistence.
    pub rdb: super::persistence::RdbState,
    /// The append-only file: its buffer, file, fsync thread, rewrite child (see `aof`).
    pub aof: super::aof::AofState,
    /// A dataset is being loaded (INFO's `loading`): nothing is propagated meanwhile.
    pub loading: bool,
    /// The dataset being loaded is a replica's next one, loaded beside the served one
    /// (`repl-diskless-load swapdb` continuing the same history): clients keep reading the
    /// old data and only commands flagged `no-async-loading` are refused (INFO's
    /// `async_loading`; `loading` is set too, as in Redis, and INFO shows it as 0).
    pub async_loading: bool,
    /// Latency spikes by event (LATENCY).
    pub latency: super::latency::LatencyMonitor,
    /// The slow log (SLOWLOG).
    pub slowlog: super::slowlog::SlowLog,
    /// Clients in MONITOR mode.
    pub monitors: super::monitor::MonitorState,
    /// CLIENT PAUSE: what is paused, until when, and who waits.
    pub pause: super::pause::PauseState,
    /// Client-side caching: the tracking table and BCAST prefixes.
    pub tracking: super::tracking::TrackingState,
    /// DEBUG PAUSE-CRON 1: `server_cron` does nothing.
    pub pause_cron: bool,
    /// Arguments of the running command to show as `(redacted)` ([`super::Ctx::redact_argument`]).
    pub redacted_args: Vec<usize>,
    /// MIGRATE's connections to other servers, kept for reuse.
    pub migrate_sockets: super::dump::MigrateSockets,
    pub run_id: String,
    pub tcp_port: u16,
    pub executable: String,
    pub config_file: String,
}

impl ServerState {
    /// Fresh server state for `config` (the listeners are bound by `server::Server::bind`).
    /// Also used on its own, without sockets, by benchmarks that run commands directly.
    pub fn new(config: Config, tcp_port: u16) -> ServerState {
        let mut rng = SmallRng::from_os_rng();
        let run_id = super::replication::random_id(&mut rng);
        let commands = CommandTable::new();
        let mut acl = super::acl::AclState::new(&commands);
        acl.set_default_password(&commands, config.requirepass.as_deref());
        ServerState {
            config,
            commands,
            acl,
            stats: Stats::default(),
            started_at: Instant::now(),
            started_ms: unix_ms(),
            rng,
            next_client_id: 1,
            clients_pending_write: Vec::new(),
            clients_pending_read: Vec::new(),
            blocking: Default::default(),
            pubsub: Default::default(),
            watches: Default::default(),
            scripts: Default::default(),
            io: None,
            events_while_blocked: None,
            expire_cycle: ExpireCycleState::default(),
            startup_memory: 0,
            evict: Default::default(),
            lazyfree: Default::default(),
            migrate_sockets: Default::default(),
            slowlog: Default::default(),
            monitors: Default::default(),
            pause: Default::default(),
            tracking: Default::default(),
            pause_cron: false,
            latency: Default::default(),
            redacted_args: Vec::new(),
            shutdown: None,
            shutdown_state: Default::default(),
            dirty: 0,
            propagation: Default::default(),
            master: Default::default(),
            failover: Default::default(),
            rdb: Default::default(),
            aof: Default::default(),
            loading: false,
            async_loading: false,
            run_id,
            tcp_port,
            executable: std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            config_file: String::new(),
        }
    }
}
