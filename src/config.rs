//! Server configuration (Redis: `config.c`).
//!
//! Every directive is declared once in [`DIRECTIVES`] with Redis's name, a getter and a setter.
//! The same table serves the three ways a value arrives: a `redis.conf`-style file, `--name value`
//! command-line arguments, and `CONFIG SET`; and `CONFIG GET` (with glob patterns) reads it back.

use std::fmt;

/// Runtime configuration. Field names follow the Redis directive names.
#[derive(Clone, Debug)]
pub struct Config {
    pub bind: Vec<String>,
    pub port: u16,
    pub databases: usize,
    pub requirepass: Option<Vec<u8>>,
    pub loglevel: String,
    pub maxclients: usize,
    /// Close idle clients after this many seconds (0 = never).
    pub timeout: u64,
    pub hz: u32,
    pub proto_max_bulk_len: i64,
    pub client_query_buffer_limit: usize,
    pub list_max_listpack_size: i64,
    pub list_compress_depth: i64,
    pub hash_max_listpack_entries: usize,
    pub hash_max_listpack_value: usize,
    pub set_max_intset_entries: usize,
    pub set_max_listpack_entries: usize,
    pub set_max_listpack_value: usize,
    pub zset_max_listpack_entries: usize,
    pub stream_node_max_bytes: usize,
    pub stream_node_max_entries: usize,
    pub zset_max_listpack_value: usize,
    /// Longest sparse HyperLogLog (header included) before it is made dense.
    pub hll_sparse_max_bytes: usize,
    pub notify_keyspace_events: String,
    pub busy_reply_threshold: u64,
    /// `client-output-buffer-limit` per class: (class, hard bytes, soft bytes, soft seconds).
    pub client_output_buffer_limit: Vec<(String, u64, u64, u64)>,
    pub maxmemory: u64,
    pub maxmemory_policy: String,
    pub maxmemory_samples: u64,
    /// How long one eviction may run (0-100; see `command::evict`).
    pub maxmemory_eviction_tenacity: u32,
    pub lfu_log_factor: u32,
    /// `maxmemory-clients`: bytes, or (negative) a percentage of `maxmemory`; 0 = no client
    /// eviction. Stored as Redis stores it.
    pub maxmemory_clients: i64,
    /// Minutes per decrement of an idle key's LFU counter (0: never decays).
    pub lfu_decay_time: u32,
    pub lazyfree_lazy_user_del: bool,
    pub lazyfree_lazy_user_flush: bool,
    /// Expired keys are propagated as UNLINK instead of DEL (Redis frees them lazily too).
    pub lazyfree_lazy_expire: bool,
    pub lazyfree_lazy_eviction: bool,
    pub save: String,
    pub appendonly: bool,
    /// The directory, inside `dir`, of the multi-part AOF.
    pub appenddirname: String,
    /// The AOF's base name: its files are `<appendfilename>.<seq>.base.rdb` & co.
    pub appendfilename: String,
    pub appendfsync: AppendFsync,
    /// `repl-diskless-load`: how a replica loads its master's image (see `command::replica`).
    pub repl_diskless_load: ReplDisklessLoad,
    /// A rewrite writes the base as an RDB image (else as commands).
    pub aof_use_rdb_preamble: bool,
    /// A truncated last command is cut off with a warning (else the server refuses to start).
    pub aof_load_truncated: bool,
    /// `#TS:<unix time>` annotations in the AOF.
    pub aof_timestamp_enabled: bool,
    /// Rewrite when the AOF grew by this percentage since the last rewrite (0: never)...
    pub auto_aof_rewrite_percentage: u64,
    /// ...and is at least this big.
    pub auto_aof_rewrite_min_size: u64,
    /// Keep history files after a rewrite (tests).
    pub aof_disable_auto_gc: bool,
    pub dir: String,
    pub dbfilename: String,
    /// LZF-compress long strings in RDB files.
    pub rdbcompression: bool,
    /// Write and verify the RDB CRC64.
    pub rdbchecksum: bool,
    /// Milliseconds from which an event is a latency spike (0: the monitor is off).
    pub latency_monitor_threshold: u64,
    /// Most keys the client-side caching table remembers (0: no limit).
    pub tracking_table_max_keys: u64,
    /// Per-command latency histograms (INFO latencystats, LATENCY HISTOGRAM).
    pub latency_tracking: bool,
    /// The percentiles INFO latencystats prints.
    pub latency_tracking_info_percentiles: Vec<f64>,
    /// Refuse writes (-MISCONF) after a failed background save, when save points exist.
    pub stop_writes_on_bgsave_error: bool,
    /// Testing knob (hidden, as in Redis): microseconds slept per key while saving.
    pub rdb_key_save_delay: i64,
    pub tcp_keepalive: u64,
    pub tcp_backlog: u64,
    /// `bind-source-addr`: the local address the replica's link to its master starts from.
    pub bind_source_addr: Option<String>,
    /// `unixsocket`: the path of a Unix domain socket to listen on as well (`None`: none).
    pub unixsocket: Option<String>,
    /// `unixsocketperm`: the socket file's permission bits (0: left as the umask makes them).
    pub unixsocketperm: u32,
    pub protected_mode: bool,
    pub daemonize: bool,
    pub logfile: String,
    pub pidfile: String,
    pub slowlog_log_slower_than: i64,
    pub slowlog_max_len: u64,
    pub active_expire_enabled: bool,
    /// `DEBUG SET-SKIP-CHECKSUM-VALIDATION 1`: RESTORE does not check a payload's CRC64
    /// (Redis: `server.skip_checksum_validation`).
    pub skip_checksum_validation: bool,
    /// `active-expire-effort` (1-10): how hard the active expiry cycle works.
    pub active_expire_effort: u32,
    /// `enable-debug-command`: no | yes | local (loopback clients only). Redis 7.0 defaults to no.
    pub enable_debug_command: String,
    /// Print the logo at startup even when the log is not a terminal.
    pub always_show_logo: bool,
    /// The TLS listener (0: none) and the `tls-*` settings `net::tls::server_config` reads.
    pub tls_port: u16,
    pub tls_cert_file: String,
    pub tls_key_file: String,
    pub tls_key_file_pass: String,
    pub tls_ca_cert_file: String,
    pub tls_ca_cert_dir: String,
    /// `tls-auth-clients`: yes | no | optional.
    pub tls_auth_clients: String,
    pub tls_protocols: String,
    pub tls_ciphers: String,
    pub tls_ciphersuites: String,
    pub tls_prefer_server_ciphers: bool,
    pub tls_session_caching: bool,
    pub tls_session_cache_size: u64,
    pub tls_session_cache_timeout: u64,
    pub tls_dh_params_file: String,
    /// A replica's link to its master: over TLS (`tls-replication`), presenting
    /// `tls-client-cert-file` / `tls-client-key-file` (default: `tls-cert-file` / `-key-file`).
    pub tls_replication: bool,
    pub tls_client_cert_file: String,
    pub tls_client_key_file: String,
    pub tls_client_key_file_pass: String,
    /// `aclfile`: where ACL LOAD / SAVE read and write users ("" = none).
    pub aclfile: String,
    /// `acllog-max-len`: ACL LOG entries kept.
    pub acllog_max_len: u64,
    /// `acl-pubsub-default allchannels` (true) or `resetchannels` (false, 7.0's default):
    /// the channel permission new users and selectors start with.
    pub acl_pubsub_default_allchannels: bool,
    /// `user <name> <rules...>` directives, applied once the server starts.
    pub users: Vec<Vec<Vec<u8>>>,
    /// `enable-protected-configs` / `enable-module-command`: no | yes | local.
    pub enable_protected_configs: String,
    pub enable_module_command: String,
    /// Values given to the directives of [`TEXT_DIRECTIVES`] (absent: the directive's default).
    pub text_values: std::collections::BTreeMap<&'static str, String>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            // Redis 7.0's default: every IPv4 interface, and IPv6 where there is one.
            bind: vec!["*".to_string(), "-::*".to_string()],
            port: 6379,
            databases: 16,
            requirepass: None,
            loglevel: "notice".to_string(),
            maxclients: 10000,
            timeout: 0,
            hz: 10,
            proto_max_bulk_len: 512 * 1024 * 1024,
            client_query_buffer_limit: 1024 * 1024 * 1024,
            list_max_listpack_size: -2,
            list_compress_depth: 0,
            // redis-server's built-in default (redis.conf ships 128).
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            set_max_listpack_entries: 128,
            set_max_listpack_value: 64,
            zset_max_listpack_entries: 128,
            stream_node_max_bytes: 4096,
            stream_node_max_entries: 100,
            zset_max_listpack_value: 64,
            hll_sparse_max_bytes: 3000,
            notify_keyspace_events: String::new(),
            busy_reply_threshold: 5000,
            client_output_buffer_limit: vec![
                ("normal".into(), 0, 0, 0),
                ("slave".into(), 256 * 1024 * 1024, 64 * 1024 * 1024, 60),
                ("pubsub".into(), 32 * 1024 * 1024, 8 * 1024 * 1024, 60),
            ],
            maxmemory: 0,
            maxmemory_policy: "noeviction".to_string(),
            maxmemory_samples: 5,
            maxmemory_eviction_tenacity: 10,
            lfu_log_factor: 10,
            maxmemory_clients: 0,
            lfu_decay_time: 1,
            lazyfree_lazy_user_del: false,
            lazyfree_lazy_user_flush: false,
            lazyfree_lazy_expire: false,
            lazyfree_lazy_eviction: false,
            save: "3600 1 300 100 60 10000".to_string(),
            appendonly: false,
            appenddirname: "appendonlydir".to_string(),
            appendfilename: "appendonly.aof".to_string(),
            appendfsync: AppendFsync::EverySec,
            repl_diskless_load: ReplDisklessLoad::Disabled,
            aof_use_rdb_preamble: true,
            aof_load_truncated: true,
            aof_timestamp_enabled: false,
            auto_aof_rewrite_percentage: 100,
            auto_aof_rewrite_min_size: 64 * 1024 * 1024,
            aof_disable_auto_gc: false,
            dir: ".".to_string(),
            dbfilename: "dump.rdb".to_string(),
            rdbcompression: true,
            rdbchecksum: true,
            latency_monitor_threshold: 0,
            tracking_table_max_keys: 1_000_000,
            latency_tracking: true,
            latency_tracking_info_percentiles: vec![50.0, 99.0, 99.9],
            stop_writes_on_bgsave_error: true,
            rdb_key_save_delay: 0,
            tcp_keepalive: 300,
            tcp_backlog: 511,
            bind_source_addr: None,
            unixsocket: None,
            unixsocketperm: 0,
            protected_mode: true,
            daemonize: false,
            logfile: String::new(),
            pidfile: String::new(),
            slowlog_log_slower_than: 10000,
            slowlog_max_len: 128,
            active_expire_enabled: true,
            skip_checksum_validation: false,
            active_expire_effort: 1,
            enable_debug_command: "no".to_string(),
            aclfile: String::new(),
            acllog_max_len: 128,
            acl_pubsub_default_allchannels: false,
            users: Vec::new(),
            enable_protected_configs: "no".to_string(),
            enable_module_command: "no".to_string(),
            always_show_logo: false,
            tls_port: 0,
            tls_cert_file: String::new(),
            tls_key_file: String::new(),
            tls_key_file_pass: String::new(),
            tls_ca_cert_file: String::new(),
            tls_ca_cert_dir: String::new(),
            tls_auth_clients: "yes".to_string(),
            tls_protocols: String::new(),
            tls_ciphers: String::new(),
            tls_ciphersuites: String::new(),
            tls_prefer_server_ciphers: false,
            tls_session_caching: true,
            tls_session_cache_size: 20480,
            tls_session_cache_timeout: 300,
            tls_dh_params_file: String::new(),
            tls_replication: false,
            tls_client_cert_file: String::new(),
            tls_client_key_file: String::new(),
            tls_client_key_file_pass: String::new(),
            text_values: std::collections::BTreeMap::new(),
        }
    }
}

/// `appendfsync`: when the AOF is flushed to the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendFsync {
    /// After every write, before the replies go out.
    Always,
    /// Once a second, by a helper thread.
    EverySec,
    /// When the kernel decides.
    No,
}

/// `repl-diskless-load`: how a replica loads the image of a full sync (Redis:
/// `REPL_DISKLESS_LOAD_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplDisklessLoad {
    /// Receive the whole image first (Redis writes it to a file), then load it.
    Disabled,
    /// Load as it arrives, when the dataset is empty (else as `Disabled`).
    OnEmptyDb,
    /// Load as it arrives into new databases, swapped in at the end; the old dataset stays
    /// until then, and is served (`async_loading`) when the image continues its history.
    SwapDb,
}

impl ReplDisklessLoad {
    pub fn name(self) -> &'static str {
        match self {
            ReplDisklessLoad::Disabled => "disabled",
            ReplDisklessLoad::OnEmptyDb => "on-empty-db",
            ReplDisklessLoad::SwapDb => "swapdb",
        }
    }
}

/// A name that must be a plain file or directory name, not a path (Redis:
/// `isValidAOFfilename` / `isValidAOFdirname`).
fn plain_name(v: &str, what: &str) -> Result<String, String> {
    if v.is_empty() || v.contains('/') || v == "." || v == ".." {
        return Err(format!(
            "{what} can't be a path, just a {}",
            if what == "appenddirname" {
                "dirname"
            } else {
                "filename"
            }
        ));
    }
    Ok(v.to_string())
}

/// The `log` crate's filter for a Redis `loglevel` (Redis's four levels map onto `log`'s:
/// warning -> Warn, notice -> Info, verbose -> Debug, debug -> Trace).
pub fn log_level_filter(loglevel: &str) -> log::LevelFilter {
    match loglevel {
        "debug" => log::LevelFilter::Trace,
        "verbose" => log::LevelFilter::Debug,
        "notice" => log::LevelFilter::Info,
        "warning" => log::LevelFilter::Warn,
        "nothing" => log::LevelFilter::Off,
        _ => log::LevelFilter::Info,
    }
}

/// Why a directive could not be applied; `CONFIG SET` and startup word it differently.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigError {
    UnknownDirective(String),
    BadValue {
        name: String,
        reason: String,
    },
    /// Cannot change at runtime (`port`, `databases`, ...).
    Immutable(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::UnknownDirective(n) => {
                write!(f, "Bad directive or wrong number of arguments for '{n}'")
            }
            ConfigError::BadValue { name, reason } => write!(f, "argument '{name}': {reason}"),
            ConfigError::Immutable(n) => write!(f, "can't set immutable config '{n}'"),
        }
    }
}

type Getter = fn(&Config) -> String;
type Setter = fn(&mut Config, &str) -> Result<(), String>;

/// One configuration directive.
pub struct Directive {
    pub name: &'static str,
    pub get: Getter,
    pub set: Setter,
    /// Settable with CONFIG SET (otherwise only at startup).
    pub mutable: bool,
}

fn parse_bool(v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err("argument must be 'yes' or 'no'".into()),
    }
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

/// Parses sizes like Redis's `memtoull`: `100`, `1k`, `10mb`, `1gb` (k = 1000, kb = 1024).
pub fn parse_memory(v: &str) -> Result<u64, String> {
    let lower = v.to_ascii_lowercase();
    let (digits, mul) = [
        ("gb", 1u64 << 30),
        ("mb", 1 << 20),
        ("kb", 1 << 10),
        ("g", 1_000_000_000),
        ("m", 1_000_000),
        ("k", 1000),
        ("b", 1),
    ]
    .iter()
    .find_map(|(suffix, mul)| lower.strip_suffix(suffix).map(|d| (d.to_string(), *mul)))
    .unwrap_or((lower.clone(), 1));
    let n: u64 = digits
        .parse()
        .map_err(|_| "argument must be a memory value".to_string())?;
    n.checked_mul(mul)
        .ok_or_else(|| "argument must be a memory value".to_string())
}

fn num<T: std::str::FromStr>(v: &str) -> Result<T, String> {
    v.parse()
        .map_err(|_| "argument couldn't be parsed into an integer".to_string())
}

/// An integer within Redis's bounds for the directive, with Redis's two error texts.
fn bounded<T: TryFrom<i64>>(v: &str, min: i64, max: i64) -> Result<T, String> {
    let n: i64 = num(v)?;
    if n < min || n > max {
        return Err(format!(
            "argument must be between {min} and {max} inclusive"
        ));
    }
    T::try_from(n).map_err(|_| format!("argument must be between {min} and {max} inclusive"))
}

/// A memory value of at least `min` bytes (and at most i64::MAX), with Redis's error text.
fn bounded_memory(v: &str, min: u64) -> Result<u64, String> {
    let n = parse_memory(v)?;
    if n < min || n > i64::MAX as u64 {
        return Err(format!(
            "argument must be between {min} and 9223372036854775807 inclusive"
        ));
    }
    Ok(n)
}

macro_rules! directive {
    ($name:literal, $field:ident, int($min:expr, $max:expr), $mutable:expr) => {
        Directive {
            name: $name,
            get: |c| c.$field.to_string(),
            set: |c, v| {
                c.$field = bounded(v, $min, $max)?;
                Ok(())
            },
            mutable: $mutable,
        }
    };
    ($name:literal, $field:ident, int, $mutable:expr) => {
        Directive {
            name: $name,
            get: |c| c.$field.to_string(),
            set: |c, v| {
                c.$field = num(v)?;
                Ok(())
            },
            mutable: $mutable,
        }
    };
    ($name:literal, $field:ident, memory($min:expr), $mutable:expr) => {
        Directive {
            name: $name,
            get: |c| c.$field.to_string(),
            set: |c, v| {
                let n = bounded_memory(v, $min)?;
                c.$field = n
                    .try_into()
                    .map_err(|_| "argument must be a memory value".to_string())?;
                Ok(())
            },
            mutable: $mutable,
        }
    };
    ($name:literal, $field:ident, memory, $mutable:expr) => {
        Directive {
            name: $name,
            get: |c| c.$field.to_string(),
            set: |c, v| {
                c.$field = parse_memory(v)?
                    .try_into()
                    .map_err(|_| "argument must be a memory value".to_string())?;
                Ok(())
            },
            mutable: $mutable,
        }
    };
    ($name:literal, $field:ident, bool, $mutable:expr) => {
        Directive {
            name: $name,
            get: |c| yes_no(c.$field),
            set: |c, v| {
                c.$field = parse_bool(v)?;
                Ok(())
            },
            mutable: $mutable,
        }
    };
    ($name:literal, $field:ident, string, $mutable:expr) => {
        Directive {
            name: $name,
            get: |c| c.$field.clone(),
            set: |c, v| {
                c.$field = v.to_string();
                Ok(())
            },
            mutable: $mutable,
        }
    };
}

/// Every directive ferrodis understands, with Redis's names.
pub static DIRECTIVES: &[Directive] = &[
    Directive {
        name: "enable-debug-command",
        get: |c| c.enable_debug_command.clone(),
        set: |c, v| protected_action(&mut c.enable_debug_command, v),
        mutable: false,
    },
    Directive {
        name: "enable-protected-configs",
        get: |c| c.enable_protected_configs.clone(),
        set: |c, v| protected_action(&mut c.enable_protected_configs, v),
        mutable: false,
    },
    Directive {
        name: "enable-module-command",
        get: |c| c.enable_module_command.clone(),
        set: |c, v| protected_action(&mut c.enable_module_command, v),
        mutable: false,
    },
    Directive {
        name: "aclfile",
        get: |c| c.aclfile.clone(),
        set: |c, v| {
            c.aclfile = v.to_string();
            Ok(())
        },
        mutable: false,
    },
    directive!("acllog-max-len", acllog_max_len, int(0, i64::MAX), true),
    Directive {
        name: "acl-pubsub-default",
        get: |c| {
            if c.acl_pubsub_default_allchannels {
                "allchannels".into()
            } else {
                "resetchannels".into()
            }
        },
        set: |c, v| {
            c.acl_pubsub_default_allchannels = match v.to_ascii_lowercase().as_str() {
                "allchannels" => true,
                "resetchannels" => false,
                _ => {
                    return Err(
                        "argument(s) must be one of the following: allchannels, resetchannels"
                            .into(),
                    )
                }
            };
            Ok(())
        },
        mutable: true,
    },
    Directive {
        name: "bind",
        get: |c| c.bind.join(" "),
        set: |c, v| {
            // Kept as written (`-` marks an optional address); see server/listen.rs. Whether
            // the addresses exist is found out by binding them (startup, or CONFIG SET's
            // rebinding in `net::listen`). An empty list listens on no TCP address.
            c.bind = v.split_whitespace().map(|s| s.to_string()).collect();
            Ok(())
        },
        mutable: true,
    },
    directive!("port", port, int(0, 65535), true),
    Directive {
        name: "bind-source-addr",
        get: |c| c.bind_source_addr.clone().unwrap_or_default(),
        set: |c, v| {
            // Checked when used, like Redis (which hands it to getaddrinfo at connect time).
            c.bind_source_addr = (!v.is_empty()).then(|| v.to_string());
            Ok(())
        },
        mutable: true,
    },
    Directive {
        name: "unixsocket",
        get: |c| c.unixsocket.clone().unwrap_or_default(),
        set: |c, v| {
            c.unixsocket = (!v.is_empty()).then(|| v.to_string());
            Ok(())
        },
        mutable: false,
    },
    Directive {
        name: "unixsocketperm",
        get: |c| format!("{:o}", c.unixsocketperm),
        set: |c, v| {
            // Octal, like Redis's OCTAL_CONFIG (`strtoll(v, 8)`), within 0..=0777.
            let n = match v {
                "" => 0, // strtoll reads nothing and reports no error
                _ => i64::from_str_radix(v, 8)
                    .map_err(|_| "argument couldn't be parsed as an octal number".to_string())?,
            };
            if !(0..=0o777).contains(&n) {
                return Err("argument must be between 0 and 777 inclusive".into());
            }
            c.unixsocketperm = n as u32;
            Ok(())
        },
        mutable: false,
    },
    Directive {
        name: "databases",
        get: |c| c.databases.to_string(),
        set: |c, v| {
            let n: usize = num(v)?;
            if n < 1 {
                return Err("argument must be between 1 and 2147483647 inclusive".into());
            }
            c.databases = n;
            Ok(())
        },
        mutable: false,
    },
    Directive {
        name: "requirepass",
        get: |c| {
            c.requirepass
                .as_ref()
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .unwrap_or_default()
        },
        set: |c, v| {
            c.requirepass = if v.is_empty() {
                None
            } else {
                Some(v.as_bytes().to_vec())
            };
            Ok(())
        },
        mutable: true,
    },
    Directive {
        name: "loglevel",
        get: |c| c.loglevel.clone(),
        set: |c, v| match v.to_ascii_lowercase().as_str() {
            l @ ("debug" | "verbose" | "notice" | "warning") => {
                c.loglevel = l.to_string();
                Ok(())
            }
            _ => Err(
                "argument(s) must be one of the following: debug, verbose, notice, warning".into(),
            ),
        },
        mutable: true,
    },
    directive!("maxclients", maxclients, int(1, 4294967295), true),
    directive!("timeout", timeout, int(0, 2147483647), true),
    Directive {
        name: "hz",
        get: |c| c.hz.to_string(),
        set: |c, v| {
            // Redis accepts any non-negative value and clamps it to 1..=500.
            let n: u32 = bounded(v, 0, 2147483647)?;
            c.hz = n.clamp(1, 500);
            Ok(())
        },
        mutable: true,
    },
    directive!(
        "proto-max-bulk-len",
        proto_max_bulk_len,
        memory(1048576),
        true
    ),
    directive!(
        "client-query-buffer-limit",
        client_query_buffer_limit,
        memory(1048576),
        true
    ),
    directive!(
        "list-max-listpack-size",
        list_max_listpack_size,
        int(-2147483648, 2147483647),
        true
    ),
    directive!(
        "list-max-ziplist-size",
        list_max_listpack_size,
        int(-2147483648, 2147483647),
        true
    ),
    directive!(
        "list-compress-depth",
        list_compress_depth,
        int(0, 2147483647),
        true
    ),
    directive!(
        "stream-node-max-bytes",
        stream_node_max_bytes,
        memory(0),
        true
    ),
    directive!(
        "stream-node-max-entries",
        stream_node_max_entries,
        int(0, i64::MAX),
        true
    ),
    directive!(
        "hash-max-listpack-entries",
        hash_max_listpack_entries,
        int(0, i64::MAX),
        true
    ),
    directive!(
        "hash-max-ziplist-entries",
        hash_max_listpack_entries,
        int(0, i64::MAX),
        true
    ),
    directive!(
        "hash-max-listpack-value",
        hash_max_listpack_value,
        memory(0),
        true
    ),
    directive!(
        "hash-max-ziplist-value",
        hash_max_listpack_value,
        memory(0),
        true
    ),
    directive!(
        "set-max-intset-entries",
        set_max_intset_entries,
        int(0, i64::MAX),
        true
    ),
    directive!(
        "set-max-listpack-entries",
        set_max_listpack_entries,
        int(0, i64::MAX),
        true
    ),
    directive!(
        "set-max-listpack-value",
        set_max_listpack_value,
        memory(0),
        true
    ),
    directive!(
        "zset-max-listpack-entries",
        zset_max_listpack_entries,
        int(0, i64::MAX),
        true
    ),
    directive!(
        "zset-max-ziplist-entries",
        zset_max_listpack_entries,
        int(0, i64::MAX),
        true
    ),
    directive!(
        "zset-max-listpack-value",
        zset_max_listpack_value,
        memory(0),
        true
    ),
    directive!(
        "zset-max-ziplist-value",
        zset_max_listpack_value,
        memory(0),
        true
    ),
    directive!(
        "hll-sparse-max-bytes",
        hll_sparse_max_bytes,
        memory(0),
        true
    ),
    Directive {
        name: "notify-keyspace-events",
        get: |c| c.notify_keyspace_events.clone(),
        set: |c, v| {
            if crate::util::notify_flags::parse_notify_flags(v).is_none() {
                return Err("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".into());
            }
            c.notify_keyspace_events = crate::util::notify_flags::format_notify_flags(
                crate::util::notify_flags::parse_notify_flags(v).unwrap_or(0),
            );
            Ok(())
        },
        mutable: true,
    },
    directive!(
        "busy-reply-threshold",
        busy_reply_threshold,
        int(0, i64::MAX),
        true
    ),
    directive!(
        "lua-time-limit",
        busy_reply_threshold,
        int(0, i64::MAX),
        true
    ),
    Directive {
        name: "client-output-buffer-limit",
        get: |c| {
            c.client_output_buffer_limit
                .iter()
                .map(|(class, hard, soft, secs)| {
                    let class = if class == "slave" { "replica" } else { class };
                    format!("{class} {hard} {soft} {secs}")
                })
                .collect::<Vec<_>>()
                .join(" ")
                .replace("replica", "slave")
        },
        set: |c, v| {
            let parts: Vec<&str> = v.split_whitespace().collect();
            if parts.is_empty() || !parts.len().is_multiple_of(4) {
                return Err("Wrong number of arguments in buffer limit configuration.".into());
            }
            let mut updated = c.client_output_buffer_limit.clone();
            for chunk in parts.chunks(4) {
                let class = match chunk[0].to_ascii_lowercase().as_str() {
                    "normal" => "normal",
                    "slave" | "replica" => "slave",
                    "pubsub" => "pubsub",
                    _ => {
                        return Err(
                            "Invalid client class specified in buffer limit configuration.".into(),
                        )
                    }
                };
                let hard = parse_memory(chunk[1]).map_err(|_| {
                    "Error in hard, soft or soft_seconds setting in buffer limit configuration."
                        .to_string()
                })?;
                let soft = parse_memory(chunk[2]).map_err(|_| {
                    "Error in hard, soft or soft_seconds setting in buffer limit configuration."
                        .to_string()
                })?;
                let secs: u64 = chunk[3].parse().map_err(|_| {
                    "Error in hard, soft or soft_seconds setting in buffer limit configuration."
                        .to_string()
                })?;
                for entry in updated.iter_mut() {
                    if entry.0 == class {
                        *entry = (class.to_string(), hard, soft, secs);
                    }
                }
            }
            c.client_output_buffer_limit = updated;
            Ok(())
        },
        mutable: true,
    },
    directive!("maxmemory", maxmemory, memory, true),
    directive!(
        "active-expire-effort",
        active_expire_effort,
        int(1, 10),
        true
    ),
    Directive {
        name: "maxmemory-policy",
        get: |c| c.maxmemory_policy.clone(),
        set: |c, v| {
            match v.to_ascii_lowercase().as_str() {
            p @ ("noeviction" | "allkeys-lru" | "allkeys-lfu" | "allkeys-random" | "volatile-lru"
            | "volatile-lfu" | "volatile-random" | "volatile-ttl") => {
                c.maxmemory_policy = p.to_string();
                Ok(())
            }
            _ => Err("argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction".into()),
        }
        },
        mutable: true,
    },
    directive!(
        "maxmemory-samples",
        maxmemory_samples,
        int(1, 2147483647),
        true
    ),
    directive!(
        "maxmemory-eviction-tenacity",
        maxmemory_eviction_tenacity,
        int(0, 100),
        true
    ),
    directive!("lfu-log-factor", lfu_log_factor, int(0, 2147483647), true),
    Directive {
        name: "maxmemory-clients",
        get: |c| match c.maxmemory_clients {
            n if n < 0 => format!("{}%", -n),
            n => n.to_string(),
        },
        set: |c, v| {
            const BAD: &str = "argument must be a memory or percent value";
            c.maxmemory_clients = match v.strip_suffix('%') {
                Some(perc) => {
                    let n: i64 = perc.parse().map_err(|_| BAD.to_string())?;
                    if perc.starts_with('+') || n < 0 {
                        return Err(BAD.into());
                    }
                    if n > 100 {
                        return Err("percentage argument must be less or equal to 100".into());
                    }
                    -n
                }
                None => parse_memory(v)
                    .ok()
                    .and_then(|n| i64::try_from(n).ok())
                    .ok_or_else(|| BAD.to_string())?,
            };
            Ok(())
        },
        mutable: true,
    },
    directive!("lfu-decay-time", lfu_decay_time, int(0, 2147483647), true),
    directive!("lazyfree-lazy-user-del", lazyfree_lazy_user_del, bool, true),
    directive!("lazyfree-lazy-expire", lazyfree_lazy_expire, bool, true),
    directive!("lazyfree-lazy-eviction", lazyfree_lazy_eviction, bool, true),
    directive!(
        "lazyfree-lazy-user-flush",
        lazyfree_lazy_user_flush,
        bool,
        true
    ),
    Directive {
        name: "save",
        get: |c| c.save.clone(),
        set: |c, v| {
            // Empty, or pairs of "<seconds> <changes>".
            let words: Vec<&str> = v.split_whitespace().collect();
            // Seconds at least 1, changes at least 0.
            let valid = words.len().is_multiple_of(2)
                && words.iter().enumerate().all(|(i, w)| {
                    crate::util::parse_i64(w.as_bytes()).is_some_and(|n| n >= (i % 2 == 0) as i64)
                });
            if !valid {
                return Err("Invalid save parameters".into());
            }
            c.save = words.join(" ");
            Ok(())
        },
        mutable: true,
    },
    directive!("appendonly", appendonly, bool, true),
    Directive {
        name: "appenddirname",
        get: |c| c.appenddirname.clone(),
        set: |c, v| {
            c.appenddirname = plain_name(v, "appenddirname")?;
            Ok(())
        },
        mutable: false,
    },
    Directive {
        name: "appendfilename",
        get: |c| c.appendfilename.clone(),
        set: |c, v| {
            c.appendfilename = plain_name(v, "appendfilename")?;
            Ok(())
        },
        mutable: false,
    },
    Directive {
        name: "appendfsync",
        get: |c| {
            match c.appendfsync {
                AppendFsync::Always => "always",
                AppendFsync::EverySec => "everysec",
                AppendFsync::No => "no",
            }
            .to_string()
        },
        set: |c, v| {
            c.appendfsync = match v.to_ascii_lowercase().as_str() {
                "always" => AppendFsync::Always,
                "everysec" => AppendFsync::EverySec,
                "no" => AppendFsync::No,
                _ => {
                    return Err(
                        "argument(s) must be one of the following: always, everysec, no".into(),
                    )
                }
            };
            Ok(())
        },
        mutable: true,
    },
    Directive {
        name: "repl-diskless-load",
        get: |c| c.repl_diskless_load.name().to_string(),
        set: |c, v| {
            c.repl_diskless_load = match v.to_ascii_lowercase().as_str() {
                "disabled" => ReplDisklessLoad::Disabled,
                "on-empty-db" => ReplDisklessLoad::OnEmptyDb,
                "swapdb" => ReplDisklessLoad::SwapDb,
                _ => {
                    return Err("argument(s) must be one of the following: disabled, \
                                on-empty-db, swapdb"
                        .into())
                }
            };
            Ok(())
        },
        mutable: true,
    },
    directive!("aof-use-rdb-preamble", aof_use_rdb_preamble, bool, true),
    directive!("aof-load-truncated", aof_load_truncated, bool, true),
    directive!("aof-disable-auto-gc", aof_disable_auto_gc, bool, true),
    directive!("aof-timestamp-enabled", aof_timestamp_enabled, bool, true),
    directive!(
        "auto-aof-rewrite-percentage",
        auto_aof_rewrite_percentage,
        int(0, i32::MAX as i64),
        true
    ),
    directive!(
        "auto-aof-rewrite-min-size",
        auto_aof_rewrite_min_size,
        memory,
        true
    ),
    Directive {
        // Redis changes the working directory as soon as it reads `dir` (the log file, the
        // pid file and the persistence files are relative to it), and reports it absolute.
        name: "dir",
        get: |c| {
            std::env::current_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_else(|_| c.dir.clone())
        },
        set: |c, v| {
            std::env::set_current_dir(v).map_err(|e| io_reason(&e))?;
            c.dir = v.to_string();
            Ok(())
        },
        mutable: true,
    },
    directive!("always-show-logo", always_show_logo, bool, false),
    directive!("dbfilename", dbfilename, string, true),
    directive!("rdbcompression", rdbcompression, bool, true),
    directive!("rdbchecksum", rdbchecksum, bool, false),
    directive!(
        "stop-writes-on-bgsave-error",
        stop_writes_on_bgsave_error,
        bool,
        true
    ),
    directive!(
        "latency-monitor-threshold",
        latency_monitor_threshold,
        int(0, i64::MAX),
        true
    ),
    directive!("latency-tracking", latency_tracking, bool, true),
    directive!(
        "tracking-table-max-keys",
        tracking_table_max_keys,
        int(0, i64::MAX),
        true
    ),
    Directive {
        name: "latency-tracking-info-percentiles",
        get: |c| {
            let words: Vec<String> = c
                .latency_tracking_info_percentiles
                .iter()
                .map(|p| trim_double(&format!("{p:.6}")))
                .collect();
            words.join(" ")
        },
        set: |c, v| {
            let mut percentiles = Vec::new();
            for word in v.split_whitespace() {
                let p = crate::util::string2d(word.as_bytes())
                    .ok_or("Invalid latency-tracking-info-percentiles parameters")?;
                if !(0.0..=100.0).contains(&p) {
                    return Err(
                        "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"
                            .into(),
                    );
                }
                percentiles.push(p);
            }
            c.latency_tracking_info_percentiles = percentiles;
            Ok(())
        },
        mutable: true,
    },
    directive!(
        "rdb-key-save-delay",
        rdb_key_save_delay,
        int(i32::MIN as i64, i32::MAX as i64),
        true
    ),
    directive!("tcp-keepalive", tcp_keepalive, int(0, 2147483647), true),
    directive!("tcp-backlog", tcp_backlog, int(0, 2147483647), false),
    directive!("protected-mode", protected_mode, bool, true),
    Directive {
        name: "daemonize",
        get: |c| yes_no(c.daemonize),
        set: |c, v| {
            if parse_bool(v)? {
                return Err(needs_missing_feature(
                    "daemonize",
                    v,
                    "forking into the background",
                ));
            }
            c.daemonize = false;
            Ok(())
        },
        mutable: false,
    },
    directive!("logfile", logfile, string, false),
    directive!("pidfile", pidfile, string, false),
    directive!(
        "slowlog-log-slower-than",
        slowlog_log_slower_than,
        int(-1, i64::MAX),
        true
    ),
    directive!("slowlog-max-len", slowlog_max_len, int(0, i64::MAX), true),
    directive!("tls-port", tls_port, int(0, 65535), false),
    directive!("tls-cert-file", tls_cert_file, string, true),
    directive!("tls-key-file", tls_key_file, string, true),
    directive!("tls-key-file-pass", tls_key_file_pass, string, true),
    directive!("tls-ca-cert-file", tls_ca_cert_file, string, true),
    directive!("tls-ca-cert-dir", tls_ca_cert_dir, string, true),
    Directive {
        name: "tls-auth-clients",
        get: |c| c.tls_auth_clients.clone(),
        set: |c, v| match v.to_ascii_lowercase().as_str() {
            mode @ ("yes" | "no" | "optional") => {
                c.tls_auth_clients = mode.to_string();
                Ok(())
            }
            _ => Err("argument(s) must be one of the following: no, yes, optional".into()),
        },
        mutable: true,
    },
    directive!("tls-protocols", tls_protocols, string, true),
    directive!("tls-ciphers", tls_ciphers, string, true),
    directive!("tls-ciphersuites", tls_ciphersuites, string, true),
    directive!(
        "tls-prefer-server-ciphers",
        tls_prefer_server_ciphers,
        bool,
        true
    ),
    directive!("tls-session-caching", tls_session_caching, bool, true),
    directive!(
        "tls-session-cache-size",
        tls_session_cache_size,
        int(0, 2147483647),
        true
    ),
    directive!(
        "tls-session-cache-timeout",
        tls_session_cache_timeout,
        int(0, 2147483647),
        true
    ),
    directive!("tls-dh-params-file", tls_dh_params_file, string, true),
    directive!("tls-client-cert-file", tls_client_cert_file, string, true),
    directive!("tls-client-key-file", tls_client_key_file, string, true),
    directive!(
        "tls-client-key-file-pass",
        tls_client_key_file_pass,
        string,
        true
    ),
    directive!("tls-replication", tls_replication, bool, true),
];

/// A `%f` rendering without its trailing zeros and point: `99.900000` -> `99.9`, `50.000000`
/// -> `50` (Redis: `trimDoubleString`).
pub fn trim_double(text: &str) -> String {
    if !text.contains('.') {
        return text.to_string();
    }
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The reason a value is refused because it would switch on a feature ferrodis lacks; the
/// startup error and CONFIG SET both show it.
fn needs_missing_feature(name: &str, value: &str, feature: &str) -> String {
    format!("'{name} {value}' needs {feature}, which ferrodis does not implement yet")
}

/// An I/O error as Redis words it (`strerror`), without Rust's " (os error N)" suffix.
/// `no`, `yes` or `local` (Redis: `protected_action_enum`).
fn protected_action(field: &mut String, v: &str) -> Result<(), String> {
    match v.to_ascii_lowercase().as_str() {
        mode @ ("no" | "yes" | "local") => {
            *field = mode.to_string();
            Ok(())
        }
        _ => Err("argument(s) must be one of the following: no, yes, local".into()),
    }
}

pub fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(end) => text[..end].to_string(),
        None => text,
    }
}

/// Which values a [`TextDirective`] accepts.
pub enum Accepts {
    /// Any value of the right shape (that of the default: yes/no, a number, text) is stored.
    Any,
    /// A switch that would turn a missing feature (named second) on: only these values,
    /// which leave it off, are accepted; the others are refused.
    Only(&'static [&'static str], &'static str),
    /// A yes/no switch that Redis itself refuses to turn on in a build like this one: `no` is
    /// accepted, `yes` is refused with Redis's own text (second), other words as a bad bool.
    RefusedYes(&'static str),
}

/// A directive of Redis 7.0 kept as the text it was given rather than as a typed field of
/// [`Config`]. Two kinds share the table:
/// - **read by name**: the replication and loading knobs, which the code that uses them reads
///   when it needs them (`text_values`, e.g. `replication::config_i64(ctx, "repl-timeout",
///   60)`), so a CONFIG SET takes effect at the next use;
/// - **accepted, without effect**: directives of features ferrodis does not have (cluster,
///   syslog, CPU lists, active defrag, ...). Accepting them keeps every `redis.conf` loadable;
///   [`Accepts`] decides which values are honest to accept.
pub struct TextDirective {
    pub name: &'static str,
    /// Redis 7.0.15's default, as CONFIG GET prints it.
    pub default: &'static str,
    pub accepts: Accepts,
    /// Settable with CONFIG SET (Redis's IMMUTABLE_CONFIG flag clear).
    pub mutable: bool,
    /// Left out of CONFIG GET pattern matches (Redis's HIDDEN_CONFIG); an exact name works.
    pub hidden: bool,
    /// Does ferrodis act on it (the code reads it by name), or only store it?
    pub read_by_name: bool,
}

/// A directive of a feature ferrodis does not have: stored, shown, and without effect.
const fn unimplemented(
    name: &'static str,
    default: &'static str,
    accepts: Accepts,
    mutable: bool,
) -> TextDirective {
    TextDirective {
        name,
        default,
        accepts,
        mutable,
        hidden: false,
        read_by_name: false,
    }
}

/// A directive the code that uses it reads by name from `text_values`.
const fn read_by_name(name: &'static str, default: &'static str, mutable: bool) -> TextDirective {
    TextDirective {
        name,
        default,
        accepts: Accepts::Any,
        mutable,
        hidden: false,
        read_by_name: true,
    }
}

/// A debugging knob of the test suite, read by name, shown only to a CONFIG GET naming it.
const fn hidden(name: &'static str, default: &'static str) -> TextDirective {
    TextDirective {
        name,
        default,
        accepts: Accepts::Any,
        mutable: true,
        hidden: true,
        read_by_name: true,
    }
}

/// Every other directive of Redis 7.0.15 (`CONFIG GET *` of redis-server minus [`DIRECTIVES`],
/// plus the hidden debugging ones the test suite sets), with Redis's default value: those
/// read by name, and those of missing features.
pub static TEXT_DIRECTIVES: &[TextDirective] = &[
    unimplemented("active-defrag-cycle-max", "25", Accepts::Any, true),
    unimplemented("active-defrag-cycle-min", "1", Accepts::Any, true),
    unimplemented(
        "active-defrag-ignore-bytes",
        "104857600",
        Accepts::Any,
        true,
    ),
    unimplemented("active-defrag-max-scan-fields", "1000", Accepts::Any, true),
    unimplemented("active-defrag-threshold-lower", "10", Accepts::Any, true),
    unimplemented("active-defrag-threshold-upper", "100", Accepts::Any, true),
    // Redis refuses it unless built with its patched jemalloc (`HAVE_DEFRAG`), which no
    // ferrodis build links, whichever allocator it uses (ARCHITECTURE.md, memory section).
    unimplemented(
        "activedefrag",
        "no",
        Accepts::RefusedYes(
            "Active defragmentation cannot be enabled: it requires a Redis server compiled \
             with a modified Jemalloc like the one shipped by default with the Redis source \
             distribution",
        ),
        true,
    ),
    unimplemented("activerehashing", "yes", Accepts::Any, true),
    unimplemented("aof-rewrite-incremental-fsync", "yes", Accepts::Any, true),
    unimplemented("aof_rewrite_cpulist", "", Accepts::Any, false),
    unimplemented("bgsave_cpulist", "", Accepts::Any, false),
    unimplemented("bio_cpulist", "", Accepts::Any, false),
    unimplemented(
        "cluster-allow-pubsubshard-when-down",
        "yes",
        Accepts::Any,
        true,
    ),
    unimplemented("cluster-allow-reads-when-down", "no", Accepts::Any, true),
    unimplemented("cluster-allow-replica-migration", "yes", Accepts::Any, true),
    unimplemented("cluster-announce-bus-port", "0", Accepts::Any, true),
    unimplemented("cluster-announce-hostname", "", Accepts::Any, true),
    unimplemented("cluster-announce-ip", "", Accepts::Any, true),
    unimplemented("cluster-announce-port", "0", Accepts::Any, true),
    unimplemented("cluster-announce-tls-port", "0", Accepts::Any, true),
    unimplemented("cluster-config-file", "nodes.conf", Accepts::Any, false),
    unimplemented(
        "cluster-enabled",
        "no",
        Accepts::Only(&["no"], "cluster mode"),
        false,
    ),
    unimplemented("cluster-link-sendbuf-limit", "0", Accepts::Any, true),
    unimplemented("cluster-migration-barrier", "1", Accepts::Any, true),
    unimplemented("cluster-node-timeout", "15000", Accepts::Any, true),
    unimplemented("cluster-port", "0", Accepts::Any, false),
    unimplemented("cluster-preferred-endpoint-type", "ip", Accepts::Any, true),
    unimplemented("cluster-replica-no-failover", "no", Accepts::Any, true),
    unimplemented("cluster-replica-validity-factor", "10", Accepts::Any, true),
    unimplemented("cluster-require-full-coverage", "yes", Accepts::Any, true),
    unimplemented("cluster-slave-no-failover", "no", Accepts::Any, true),
    unimplemented("cluster-slave-validity-factor", "10", Accepts::Any, true),
    unimplemented("crash-log-enabled", "yes", Accepts::Any, true),
    unimplemented("crash-memcheck-enabled", "yes", Accepts::Any, true),
    unimplemented("disable-thp", "yes", Accepts::Any, false),
    unimplemented("dynamic-hz", "yes", Accepts::Any, true),
    unimplemented("ignore-warnings", "", Accepts::Any, true),
    unimplemented("io-threads", "1", Accepts::Any, false),
    unimplemented("io-threads-do-reads", "no", Accepts::Any, false),
    unimplemented("jemalloc-bg-thread", "yes", Accepts::Any, true),
    unimplemented("lazyfree-lazy-server-del", "no", Accepts::Any, true),
    read_by_name("masterauth", "", true),
    read_by_name("masteruser", "", true),
    read_by_name("min-replicas-max-lag", "10", true),
    read_by_name("min-replicas-to-write", "0", true),
    read_by_name("min-slaves-max-lag", "10", true),
    read_by_name("min-slaves-to-write", "0", true),
    read_by_name("no-appendfsync-on-rewrite", "no", true),
    unimplemented("oom-score-adj", "no", Accepts::Any, true),
    unimplemented("oom-score-adj-values", "0 200 800", Accepts::Any, true),
    unimplemented(
        "proc-title-template",
        "{title} {listen-addr} {server-mode}",
        Accepts::Any,
        true,
    ),
    unimplemented("propagation-error-behavior", "ignore", Accepts::Any, true),
    unimplemented("rdb-del-sync-files", "no", Accepts::Any, true),
    unimplemented("rdb-save-incremental-fsync", "yes", Accepts::Any, true),
    read_by_name("repl-backlog-size", "1048576", true),
    read_by_name("repl-backlog-ttl", "3600", true),
    unimplemented("repl-disable-tcp-nodelay", "no", Accepts::Any, true),
    read_by_name("repl-diskless-sync", "yes", true),
    read_by_name("repl-diskless-sync-delay", "5", true),
    read_by_name("repl-diskless-sync-max-replicas", "0", true),
    read_by_name("repl-ping-replica-period", "10", true),
    read_by_name("repl-ping-slave-period", "10", true),
    read_by_name("repl-timeout", "60", true),
    read_by_name("replica-announce-ip", "", true),
    read_by_name("replica-announce-port", "0", true),
    read_by_name("replica-announced", "yes", true),
    unimplemented("replica-ignore-disk-write-errors", "no", Accepts::Any, true),
    unimplemented("replica-ignore-maxmemory", "yes", Accepts::Any, true),
    read_by_name("replica-lazy-flush", "no", true),
    read_by_name("replica-priority", "100", true),
    read_by_name("replica-read-only", "yes", true),
    read_by_name("replica-serve-stale-data", "yes", true),
    read_by_name("replicaof", "", false),
    unimplemented("sanitize-dump-payload", "no", Accepts::Any, true),
    unimplemented("server_cpulist", "", Accepts::Any, false),
    unimplemented("set-proc-title", "yes", Accepts::Any, false),
    read_by_name("shutdown-on-sigint", "default", true),
    read_by_name("shutdown-on-sigterm", "default", true),
    read_by_name("shutdown-timeout", "10", true),
    read_by_name("slave-announce-ip", "", true),
    read_by_name("slave-announce-port", "0", true),
    unimplemented("slave-ignore-maxmemory", "yes", Accepts::Any, true),
    read_by_name("slave-lazy-flush", "no", true),
    read_by_name("slave-priority", "100", true),
    read_by_name("slave-read-only", "yes", true),
    read_by_name("slave-serve-stale-data", "yes", true),
    read_by_name("slaveof", "", false),
    unimplemented("socket-mark-id", "0", Accepts::Any, false),
    unimplemented("supervised", "no", Accepts::Any, false),
    unimplemented(
        "syslog-enabled",
        "no",
        Accepts::Only(&["no"], "syslog logging"),
        false,
    ),
    unimplemented("syslog-facility", "local0", Accepts::Any, false),
    unimplemented("syslog-ident", "redis", Accepts::Any, false),
    unimplemented("tls-cluster", "no", Accepts::Any, true),
    hidden("use-exit-on-panic", "no"),
    hidden("key-load-delay", "0"),
    hidden("watchdog-period", "0"),
    hidden("loading-process-events-interval-bytes", "2097152"),
];

/// Directives CONFIG SET may change only as `enable-protected-configs` allows.
const PROTECTED_DIRECTIVES: &[&str] = &["dir", "dbfilename"];

/// Is `name` (canonical) a protected directive (Redis: `PROTECTED_CONFIG`)?
pub fn is_protected(name: &str) -> bool {
    PROTECTED_DIRECTIVES.contains(&name)
}

/// Directives that take several arguments on one line (Redis's MULTI_ARG_CONFIG and the
/// special ones); every other directive takes exactly one.
const MULTI_ARG_DIRECTIVES: &[&str] = &[
    "bind",
    "save",
    "client-output-buffer-limit",
    "oom-score-adj-values",
    "latency-tracking-info-percentiles",
    "replicaof",
    "slaveof",
    "shutdown-on-sigint",
    "shutdown-on-sigterm",
];

/// Directives Redis reads from a config file that are not configuration values. They all
/// need a missing feature, so each is refused with its reason.
const UNSUPPORTED_DIRECTIVES: &[(&str, &str)] = &[
    ("rename-command", "rename-command"),
    ("include", "config includes"),
    ("loadmodule", "modules"),
    ("sentinel", "sentinel mode"),
];

/// The value a directive of [`TEXT_DIRECTIVES`] stores: shaped like its default (yes/no, an
/// integer with optional memory unit or `%`, or any text), or refused.
fn check_text_directive(u: &TextDirective, value: &str) -> Result<String, String> {
    if u.name == "replicaof" || u.name == "slaveof" {
        // Redis checks the shape first (`setConfigReplicaOfOption`): `<host> <port>` or `no one`.
        let words: Vec<&str> = value.split_whitespace().collect();
        let [host, port] = words[..] else {
            return Err("wrong number of arguments".into());
        };
        if host.eq_ignore_ascii_case("no") && port.eq_ignore_ascii_case("one") {
            return Ok(String::new());
        }
        if !port
            .parse::<u16>()
            .is_ok_and(|_| port.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err("Invalid master port".into());
        }
    }
    if let Accepts::RefusedYes(refusal) = u.accepts {
        return match parse_bool(value)? {
            true => Err(refusal.to_string()),
            false => Ok("no".to_string()),
        };
    }
    if let Accepts::Only(values, feature) = u.accepts {
        let lower = value.to_ascii_lowercase();
        if !values.contains(&lower.as_str()) {
            return Err(needs_missing_feature(u.name, value, feature));
        }
        return Ok(lower);
    }
    // The few parameters whose values are words from a fixed set, with Redis's error text.
    let one_of = |allowed: &[&str], several: bool| -> Result<String, String> {
        let words: Vec<String> = value
            .split_whitespace()
            .map(|w| w.to_ascii_lowercase())
            .collect();
        let valid = !words.is_empty()
            && (several || words.len() == 1)
            && words.iter().all(|w| allowed.contains(&w.as_str()));
        if valid {
            // Redis prints a set of flags in its table order, each once.
            let canonical: Vec<&str> = allowed
                .iter()
                .filter(|a| words.iter().any(|w| w == *a))
                .copied()
                .collect();
            Ok(canonical.join(" "))
        } else {
            Err(format!(
                "argument(s) must be one of the following: {}",
                allowed.join(", ")
            ))
        }
    };
    match u.name {
        "shutdown-on-sigint" | "shutdown-on-sigterm" => {
            return one_of(&["default", "save", "nosave", "now", "force"], true)
        }
        _ => {}
    }
    if u.default == "yes" || u.default == "no" {
        return parse_bool(value).map(yes_no);
    }
    if crate::util::parse_i64(u.default.as_bytes()).is_some() {
        if let Some(n) = crate::util::parse_i64(value.as_bytes()) {
            return Ok(n.to_string());
        }
        if let Some(percent) = value.strip_suffix('%') {
            if crate::util::parse_i64(percent.as_bytes()).is_some() {
                return Ok(value.to_string());
            }
        }
        return parse_memory(value)
            .map(|n| n.to_string())
            .map_err(|_| "argument couldn't be parsed into an integer".to_string());
    }
    Ok(value.to_string())
}

/// Old names of [`TEXT_DIRECTIVES`] parameters and the current name whose value they share.
const TEXT_DIRECTIVE_ALIASES: &[(&str, &str)] = &[
    ("slaveof", "replicaof"),
    ("slave-announce-ip", "replica-announce-ip"),
    ("slave-announce-port", "replica-announce-port"),
    ("slave-ignore-maxmemory", "replica-ignore-maxmemory"),
    ("slave-lazy-flush", "replica-lazy-flush"),
    ("slave-priority", "replica-priority"),
    ("slave-read-only", "replica-read-only"),
    ("slave-serve-stale-data", "replica-serve-stale-data"),
    ("min-slaves-max-lag", "min-replicas-max-lag"),
    ("min-slaves-to-write", "min-replicas-to-write"),
    ("repl-ping-slave-period", "repl-ping-replica-period"),
    ("cluster-slave-no-failover", "cluster-replica-no-failover"),
    (
        "cluster-slave-validity-factor",
        "cluster-replica-validity-factor",
    ),
];

/// The name a parameter's value is stored under: its current name for an old alias.
fn storage_name(name: &'static str) -> &'static str {
    TEXT_DIRECTIVE_ALIASES
        .iter()
        .find(|(alias, _)| *alias == name)
        .map_or(name, |(_, current)| current)
}

fn find_text_directive(name: &str) -> Option<&'static TextDirective> {
    TEXT_DIRECTIVES
        .iter()
        .find(|u| u.name.eq_ignore_ascii_case(name))
}

/// The canonical (table) spelling of a directive name, if ferrodis accepts it.
pub fn canonical_name(name: &str) -> Option<&'static str> {
    find_directive(name)
        .map(|d| d.name)
        .or_else(|| find_text_directive(name).map(|u| u.name))
}

/// Implemented directives that, as in Redis (`HIDDEN_CONFIG`), only a CONFIG GET naming them
/// exactly shows: debugging knobs the test suite sets.
const HIDDEN_DIRECTIVES: &[&str] = &["rdb-key-save-delay"];

/// Every name a CONFIG GET pattern can match, in table order.
pub fn config_names() -> impl Iterator<Item = &'static str> {
    DIRECTIVES
        .iter()
        .map(|d| d.name)
        .filter(|name| !HIDDEN_DIRECTIVES.contains(name))
        .chain(TEXT_DIRECTIVES.iter().filter(|u| !u.hidden).map(|u| u.name))
}

pub fn find_directive(name: &str) -> Option<&'static Directive> {
    DIRECTIVES
        .iter()
        .find(|d| d.name.eq_ignore_ascii_case(name))
}

impl Config {
    /// Applies one directive (startup or CONFIG SET).
    pub fn set(&mut self, name: &str, value: &str, at_runtime: bool) -> Result<(), ConfigError> {
        if let Some(u) = find_text_directive(name) {
            if at_runtime && !u.mutable {
                return Err(ConfigError::Immutable(u.name.to_string()));
            }
            let stored =
                check_text_directive(u, value).map_err(|reason| ConfigError::BadValue {
                    name: u.name.to_string(),
                    reason,
                })?;
            self.text_values.insert(storage_name(u.name), stored);
            return Ok(());
        }
        let d =
            find_directive(name).ok_or_else(|| ConfigError::UnknownDirective(name.to_string()))?;
        if at_runtime && !d.mutable {
            return Err(ConfigError::Immutable(d.name.to_string()));
        }
        // Redis's PROTECTED_CONFIG: with `enable-protected-configs no`, CONFIG SET may not
        // touch them (`local`, loopback clients only, is checked by CONFIG SET, which knows
        // the client: see `is_protected`).
        if at_runtime
            && PROTECTED_DIRECTIVES.contains(&d.name)
            && self.enable_protected_configs == "no"
        {
            return Err(ConfigError::BadValue {
                name: d.name.to_string(),
                reason: "can't set protected config".to_string(),
            });
        }
        (d.set)(self, value).map_err(|reason| ConfigError::BadValue {
            name: d.name.to_string(),
            reason,
        })
    }

    /// The current value of a directive as CONFIG GET shows it (`name` in any case).
    pub fn get(&self, name: &str) -> Option<String> {
        if let Some(d) = find_directive(name) {
            return Some((d.get)(self));
        }
        let u = find_text_directive(name)?;
        Some(
            self.text_values
                .get(storage_name(u.name))
                .cloned()
                .unwrap_or_else(|| u.default.to_string()),
        )
    }

    /// Builds the configuration from command-line arguments, exactly like redis-server
    /// (`main` in server.c): an optional config file path first, then `--directive value ...`.
    /// The options become config lines appended to the file's text (`--port 6380` becomes
    /// `port 6380`), and the whole text is read as one file, so an error names its line.
    pub fn from_args(args: &[String]) -> Result<Config, String> {
        let mut config = Config::default();
        let mut rest = args;
        let mut text = String::new();
        if let Some(first) = rest.first() {
            if !first.starts_with("--") {
                text = std::fs::read_to_string(first).map_err(|e| {
                    format!(
                        "Fatal error, can't open config file '{first}': {}",
                        io_reason(&e)
                    )
                })?;
                rest = &rest[1..];
            }
        }
        let options = options_text(rest);
        if !options.is_empty() {
            text.push('\n');
            text.push_str(&options);
        }
        config.load_text(&text)?;
        Ok(config)
    }

    /// Reads a redis.conf-style text: `directive arg1 arg2`, `#` comments, quoted arguments
    /// (Redis: `loadServerConfigFromString`). An error is Redis's "FATAL CONFIG FILE ERROR"
    /// text naming the line, ready to print.
    pub fn load_text(&mut self, text: &str) -> Result<(), String> {
        // The first `save` line replaces the default save points; later ones add to it, and
        // `save ""` clears them (Redis: `setConfigSaveOption` while reading the file).
        let mut save_points_read = false;
        for (n, raw) in text.split('\n').enumerate() {
            let line = raw.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fatal = |reason: &str| fatal_config_error(n + 1, line, reason);
            let words = crate::resp::parse::split_args(line.as_bytes())
                .ok_or_else(|| fatal("Unbalanced quotes in configuration line"))?;
            let words: Vec<String> = words
                .iter()
                .map(|w| String::from_utf8_lossy(w).into_owned())
                .collect();
            let Some((name, values)) = words.split_first() else {
                continue;
            };
            if name.eq_ignore_ascii_case("user") {
                // Kept for startup, where the users are built (Redis: `ACLAppendUserForLoading`).
                if values.is_empty() {
                    return Err(fatal("Error in user declaration"));
                }
                let raw = crate::resp::parse::split_args(line.as_bytes()).unwrap_or_default();
                if self.users.iter().any(|u| u.first() == raw.get(1)) {
                    return Err(fatal(&format!(
                        "Error in user declaration '{}': Duplicate user found. A user can only \
                         be defined once in config files",
                        values[0]
                    )));
                }
                self.users.push(raw[1..].to_vec());
                continue;
            }
            if let Some((_, feature)) = UNSUPPORTED_DIRECTIVES
                .iter()
                .find(|(d, _)| d.eq_ignore_ascii_case(name))
            {
                return Err(fatal(&needs_missing_feature(
                    name,
                    &values.join(" "),
                    feature,
                )));
            }
            let multi_arg = MULTI_ARG_DIRECTIVES
                .iter()
                .any(|d| d.eq_ignore_ascii_case(name));
            if values.len() != 1 && !multi_arg && canonical_name(name).is_some() {
                return Err(fatal("wrong number of arguments"));
            }
            let earlier_save_points = match canonical_name(name) {
                Some("save") if save_points_read => self.save.clone(),
                Some("save") => {
                    save_points_read = true;
                    String::new()
                }
                _ => String::new(),
            };
            self.set(name, &values.join(" "), false)
                .map_err(|e| match e {
                    ConfigError::BadValue { reason, .. } => fatal(&reason),
                    ConfigError::UnknownDirective(_) => {
                        fatal("Bad directive or wrong number of arguments")
                    }
                    other => fatal(&other.to_string()),
                })?;
            if !earlier_save_points.is_empty() && !self.save.is_empty() {
                self.save = format!("{earlier_save_points} {}", self.save);
            }
        }
        if !self.logfile.is_empty() {
            // Like Redis, make sure the log file can be opened before starting.
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.logfile)
                .map_err(|e| {
                    format!(
                        "\n*** FATAL CONFIG FILE ERROR (Redis {}) ***\nCan't open the log file: {}",
                        crate::server::REDIS_VERSION,
                        io_reason(&e)
                    )
                })?;
        }
        Ok(())
    }
}

/// Redis's startup error for a bad config line (`loadServerConfigFromString`'s `loaderr`).
fn fatal_config_error(line_number: usize, line: &str, reason: &str) -> String {
    format!(
        "\n*** FATAL CONFIG FILE ERROR (Redis {}) ***\n\
         Reading the configuration file, at line {line_number}\n>>> '{line}'\n{reason}",
        crate::server::REDIS_VERSION
    )
}

/// The config lines redis-server builds from its command-line options (server.c `main`):
/// each `--name` starts a line, the arguments after it are appended quoted. An argument that
/// holds a name and its value (`"--port 6380"`) is taken as is. A `--name` with nothing before
/// the next `--` takes that next argument as its value (`--proc-title-template --x`), except
/// `--save` which then means `save ""`.
fn options_text(args: &[String]) -> String {
    let mut options = String::new();
    let mut value_given = true;
    for (j, arg) in args.iter().enumerate() {
        if value_given && arg.starts_with("--") {
            if !options.is_empty() {
                options.push('\n');
            }
            options.push_str(&arg[2..]);
            options.push(' ');
            let single_word = arg.split_whitespace().count() == 1;
            value_given = !single_word;
            let next_is_option = args.get(j + 1).is_some_and(|a| a.starts_with("--"));
            if single_word
                && arg.eq_ignore_ascii_case("--save")
                && (next_is_option || j + 1 == args.len())
            {
                options.push_str("\"\"");
                value_given = true;
            }
        } else {
            options.push_str(&quote_repr(arg));
            options.push(' ');
            value_given = true;
        }
    }
    options
}

/// A value quoted the way Redis's `sdscatrepr` does, so `split_args` reads it back whole.
fn quote_repr(v: &str) -> String {
    let mut q = Vec::with_capacity(v.len() + 2);
    crate::util::cat_repr(&mut q, v.as_bytes());
    // Only ASCII comes out of cat_repr.
    String::from_utf8_lossy(&q).into_owned()
}

/// Directives whose value is a list of words, written unquoted (`save 900 1`, `bind a b`).
const LIST_DIRECTIVES: &[&str] = &["bind", "save", "client-output-buffer-limit"];
/// Old names kept for compatibility; CONFIG REWRITE writes the current name only.
const ALIASES: &[&str] = &[
    "list-max-ziplist-size",
    "hash-max-ziplist-entries",
    "hash-max-ziplist-value",
    "zset-max-ziplist-entries",
    "zset-max-ziplist-value",
    "lua-time-limit",
    "slaveof",
    "slave-announce-ip",
    "slave-announce-port",
    "slave-ignore-maxmemory",
    "slave-lazy-flush",
    "slave-priority",
    "slave-read-only",
    "slave-serve-stale-data",
    "min-slaves-max-lag",
    "min-slaves-to-write",
    "repl-ping-slave-period",
    "cluster-slave-no-failover",
    "cluster-slave-validity-factor",
];

/// Quotes a value for a config file line when it is empty or has characters `split_args`
/// would otherwise split or unescape.
fn quote_value(v: &str) -> String {
    let plain = !v.is_empty()
        && v.bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\'' && b != b'\\');
    if plain {
        return v.to_string();
    }
    let mut q = String::from("\"");
    for c in v.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            '\r' => q.push_str("\\r"),
            '\t' => q.push_str("\\t"),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

impl Config {
    fn directive_line(&self, name: &'static str) -> String {
        let value = self.get(name).unwrap_or_default();
        if (LIST_DIRECTIVES.contains(&name) || MULTI_ARG_DIRECTIVES.contains(&name))
            && !value.is_empty()
        {
            format!("{name} {value}")
        } else {
            format!("{name} {}", quote_value(&value))
        }
    }

    /// The text CONFIG REWRITE writes over `original` (Redis: `rewriteConfig`): each known
    /// directive's first line is replaced by its current value and its repeats are dropped;
    /// comments and lines ferrodis does not know are kept; directives that differ from their
    /// default and were not in the file are appended at the end.
    ///
    /// `users` are the current ACL users as `user <name> <rules>` lines (ACL LIST), or `None`
    /// when an `aclfile` holds them. They take the places of the file's `user` lines in
    /// order; places left over are dropped and users left over are appended (Redis:
    /// `rewriteConfigUserOption`, `rewriteConfigRewriteLine`).
    pub fn rewrite_text(&self, original: &str, users: Option<&[String]>) -> String {
        let defaults = Config::default();
        let mut written: Vec<&'static str> = Vec::new();
        let mut users = users.unwrap_or_default().iter();
        let mut out = String::new();
        for raw in original.lines() {
            let line = raw.trim();
            let name = crate::resp::parse::split_args(line.as_bytes())
                .and_then(|words| words.into_iter().next())
                .map(|w| String::from_utf8_lossy(&w).into_owned());
            if name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case("user"))
            {
                if let Some(user) = users.next() {
                    out.push_str(user);
                    out.push('\n');
                }
                continue;
            }
            match name.as_deref().and_then(canonical_name) {
                Some(name) if written.contains(&name) => {} // a repeat: the first line has it
                Some(name) => {
                    // An old name stands for the current one too (`slaveof` for `replicaof`).
                    written.push(name);
                    written.push(storage_name(name));
                    // A master drops its `replicaof` line (Redis: `rewriteConfigReplicaOfOption`).
                    if storage_name(name) == "replicaof"
                        && self.get(name).unwrap_or_default().is_empty()
                    {
                        continue;
                    }
                    out.push_str(&self.directive_line(name));
                    out.push('\n');
                }
                None => {
                    out.push_str(raw);
                    out.push('\n');
                }
            }
        }
        let mut appended = false;
        let every_name = DIRECTIVES
            .iter()
            .map(|d| d.name)
            .chain(TEXT_DIRECTIVES.iter().map(|u| u.name));
        for name in every_name {
            if written.contains(&name) || ALIASES.contains(&name) {
                continue;
            }
            if self.get(name) != defaults.get(name) {
                if !appended {
                    out.push_str("# Generated by CONFIG REWRITE\n");
                    appended = true;
                }
                out.push_str(&self.directive_line(name));
                out.push('\n');
            }
        }
        for user in users {
            if !appended {
                out.push_str("# Generated by CONFIG REWRITE\n");
                appended = true;
            }
            out.push_str(user);
            out.push('\n');
        }
        out
    }

    /// Rewrites the config file at `path` in place (via a temporary file and a rename, so a
    /// crash never leaves half a file).
    pub fn rewrite_file(&self, path: &str, users: Option<&[String]>) -> std::io::Result<()> {
        let original = std::fs::read_to_string(path)?;
        let text = self.rewrite_text(&original, users);
        let tmp = format!("{path}.tmp-{}", std::process::id());
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directive that gains a real implementation must leave the placeholder table, or the
    /// placeholder would shadow it (CONFIG SET accepted, value ignored).
    #[test]
    fn no_directive_is_both_implemented_and_a_placeholder() {
        for u in TEXT_DIRECTIVES {
            assert!(
                find_directive(u.name).is_none(),
                "{} is implemented and still listed as not implemented",
                u.name
            );
        }
    }

    #[test]
    fn command_line_overrides_defaults() {
        let args: Vec<String> = [
            "--port",
            "6380",
            "--requirepass",
            "secret",
            "--timeout",
            "5",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let c = Config::from_args(&args).unwrap();
        assert_eq!(c.port, 6380);
        assert_eq!(c.requirepass.as_deref(), Some(&b"secret"[..]));
        assert_eq!(c.timeout, 5);
        assert_eq!(c.bind, vec!["*", "-::*"]);
    }

    #[test]
    fn bad_lines_are_named() {
        let mut c = Config::default();
        let err = c.load_text("port 7000\nfrobnicate yes\n").unwrap_err();
        assert!(err.contains("line 2"), "{err}");
        assert!(err.contains("frobnicate"), "{err}");
        let err = c.load_text("port notanumber\n").unwrap_err();
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn rewrite_replaces_known_lines_keeps_others_and_appends_changes() {
        let mut c = Config::default();
        c.load_text("# my server\nhz 20\nhz 30\nport 7000\n")
            .unwrap();
        c.set("hz", "50", true).unwrap();
        c.set("requirepass", "a b", true).unwrap();
        c.set("save", "900 1", true).unwrap();
        let text = c.rewrite_text("# my server\nhz 20\nhz 30\nport 7000\n", None);
        assert_eq!(
            text,
            "# my server\nhz 50\nport 7000\n# Generated by CONFIG REWRITE\n\
             requirepass \"a b\"\nsave 900 1\n"
        );
        let mut reloaded = Config::default();
        reloaded.load_text(&text).unwrap();
        assert_eq!(reloaded.requirepass.as_deref(), Some(&b"a b"[..]));
        assert_eq!(reloaded.save, "900 1");
        assert_eq!(reloaded.hz, 50);
    }

    #[test]
    fn rewrite_writes_the_current_users_in_place_of_the_files() {
        let c = Config::default();
        let file = "port 6379\nuser old on nopass ~* +@all\nhz 10\nuser gone off\n";
        let users = ["user default on nopass ~* &* +@all".to_string()];
        assert_eq!(
            c.rewrite_text(file, Some(&users)),
            "port 6379\nuser default on nopass ~* &* +@all\nhz 10\n"
        );
        let two = [users[0].clone(), "user x off".to_string()];
        assert_eq!(
            c.rewrite_text("user a off\nhz 10\n", Some(&two)),
            "user default on nopass ~* &* +@all\nhz 10\n# Generated by CONFIG REWRITE\nuser x off\n"
        );
        // With an aclfile the users live there: the file's user lines go.
        assert_eq!(c.rewrite_text(file, None), "port 6379\nhz 10\n");
        // No user line in the file: the users are appended.
        assert_eq!(
            c.rewrite_text("port 6379\n", Some(&users)),
            "port 6379\n# Generated by CONFIG REWRITE\nuser default on nopass ~* &* +@all\n"
        );
    }

    #[test]
    fn save_lines_replace_the_default_then_add_up() {
        let load = |text: &str| {
            let mut c = Config::default();
            c.load_text(text).map(|_| c.save)
        };
        assert_eq!(load("port 1\n").unwrap(), "3600 1 300 100 60 10000");
        assert_eq!(load("save 900 1\n").unwrap(), "900 1");
        assert_eq!(load("save 900 1\nsave 100 100\n").unwrap(), "900 1 100 100");
        assert_eq!(load("save 900 1\nsave \"\"\n").unwrap(), "");
        assert!(load("save 0 1\n").is_err(), "seconds must be at least 1");
    }

    #[test]
    fn memory_units_follow_redis() {
        assert_eq!(parse_memory("1kb"), Ok(1024));
        assert_eq!(parse_memory("1k"), Ok(1000));
        assert_eq!(parse_memory("2gb"), Ok(2 << 30));
        assert!(parse_memory("lots").is_err());
    }
}
