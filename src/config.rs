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
    pub lazyfree_lazy_user_del: bool,
    pub lazyfree_lazy_user_flush: bool,
    pub save: String,
    pub appendonly: bool,
    pub dir: String,
    pub dbfilename: String,
    pub tcp_keepalive: u64,
    pub tcp_backlog: u64,
    pub protected_mode: bool,
    pub daemonize: bool,
    pub logfile: String,
    pub pidfile: String,
    pub slowlog_log_slower_than: i64,
    pub slowlog_max_len: u64,
    pub active_expire_enabled: bool,
    /// `enable-debug-command`: no | yes | local (loopback clients only). Redis 7.0 defaults to no.
    pub enable_debug_command: String,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            bind: vec!["127.0.0.1".to_string()],
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
            lazyfree_lazy_user_del: false,
            lazyfree_lazy_user_flush: false,
            save: String::new(),
            appendonly: false,
            dir: ".".to_string(),
            dbfilename: "dump.rdb".to_string(),
            tcp_keepalive: 300,
            tcp_backlog: 511,
            protected_mode: true,
            daemonize: false,
            logfile: String::new(),
            pidfile: String::new(),
            slowlog_log_slower_than: 10000,
            slowlog_max_len: 128,
            active_expire_enabled: true,
            enable_debug_command: "no".to_string(),
        }
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
        set: |c, v| match v.to_ascii_lowercase().as_str() {
            mode @ ("no" | "yes" | "local") => {
                c.enable_debug_command = mode.to_string();
                Ok(())
            }
            _ => Err("argument(s) must be one of the following: no, yes, local".into()),
        },
        mutable: false,
    },
    Directive {
        name: "bind",
        get: |c| c.bind.join(" "),
        set: |c, v| {
            c.bind = v
                .split_whitespace()
                .map(|s| s.trim_start_matches('-').to_string())
                .collect();
            if c.bind.is_empty() {
                return Err("bind needs at least one address".into());
            }
            Ok(())
        },
        mutable: false,
    },
    directive!("port", port, int(0, 65535), false),
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
            if crate::command::pubsub::parse_notify_flags(v).is_none() {
                return Err("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".into());
            }
            c.notify_keyspace_events = crate::command::pubsub::format_notify_flags(
                crate::command::pubsub::parse_notify_flags(v).unwrap_or(0),
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
    directive!("lazyfree-lazy-user-del", lazyfree_lazy_user_del, bool, true),
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
            let valid = words.len().is_multiple_of(2)
                && words
                    .iter()
                    .all(|w| crate::util::parse_i64(w.as_bytes()).is_some_and(|n| n >= 0));
            if !valid {
                return Err("Invalid save parameters".into());
            }
            c.save = words.join(" ");
            Ok(())
        },
        mutable: true,
    },
    directive!("appendonly", appendonly, bool, true),
    directive!("dir", dir, string, true),
    directive!("dbfilename", dbfilename, string, true),
    directive!("tcp-keepalive", tcp_keepalive, int(0, 2147483647), true),
    directive!("tcp-backlog", tcp_backlog, int(0, 2147483647), false),
    directive!("protected-mode", protected_mode, bool, true),
    directive!("daemonize", daemonize, bool, false),
    directive!("logfile", logfile, string, false),
    directive!("pidfile", pidfile, string, false),
    directive!(
        "slowlog-log-slower-than",
        slowlog_log_slower_than,
        int(-1, i64::MAX),
        true
    ),
    directive!("slowlog-max-len", slowlog_max_len, int(0, i64::MAX), true),
];

pub fn find_directive(name: &str) -> Option<&'static Directive> {
    DIRECTIVES
        .iter()
        .find(|d| d.name.eq_ignore_ascii_case(name))
}

impl Config {
    /// Applies one directive (startup or CONFIG SET).
    pub fn set(&mut self, name: &str, value: &str, at_runtime: bool) -> Result<(), ConfigError> {
        let d =
            find_directive(name).ok_or_else(|| ConfigError::UnknownDirective(name.to_string()))?;
        if at_runtime && !d.mutable {
            return Err(ConfigError::Immutable(d.name.to_string()));
        }
        (d.set)(self, value).map_err(|reason| ConfigError::BadValue {
            name: d.name.to_string(),
            reason,
        })
    }

    /// Builds the configuration from command-line arguments, exactly like redis-server:
    /// an optional config file path first, then `--directive value ...` pairs.
    pub fn from_args(args: &[String]) -> Result<Config, String> {
        let mut config = Config::default();
        let mut rest = args;
        if let Some(first) = rest.first() {
            if !first.starts_with("--") {
                let text = std::fs::read_to_string(first)
                    .map_err(|e| format!("Fatal error, can't open config file '{first}': {e}"))?;
                config.load_text(&text, first)?;
                rest = &rest[1..];
            }
        }
        let mut i = 0;
        while i < rest.len() {
            let name = rest[i]
                .strip_prefix("--")
                .ok_or_else(|| format!("Invalid argument '{}': options start with --", rest[i]))?;
            // A directive's value runs until the next --option (`--save "900 1"` or `--bind a b`).
            let mut values = Vec::new();
            i += 1;
            while i < rest.len() && !rest[i].starts_with("--") {
                values.push(rest[i].clone());
                i += 1;
            }
            config
                .set(name, &values.join(" "), false)
                .map_err(|e| format!("Fatal config error in argument '--{name}': {e}"))?;
        }
        Ok(config)
    }

    /// Reads a redis.conf-style text: `directive arg1 arg2`, `#` comments, quoted arguments.
    /// An error names the line, as Redis's "FATAL CONFIG FILE ERROR" does.
    pub fn load_text(&mut self, text: &str, source: &str) -> Result<(), String> {
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words = crate::resp::parse::split_args(line.as_bytes()).ok_or_else(|| {
                format!(
                    "FATAL CONFIG FILE ERROR ({source}, line {}): >>> '{line}': unbalanced quotes",
                    n + 1
                )
            })?;
            let words: Vec<String> = words
                .iter()
                .map(|w| String::from_utf8_lossy(w).into_owned())
                .collect();
            let (name, values) = match words.split_first() {
                Some((name, values)) => (name, values),
                None => continue,
            };
            self.set(name, &values.join(" "), false).map_err(|e| {
                format!(
                    "FATAL CONFIG FILE ERROR ({source}, line {}): >>> '{line}': {e}",
                    n + 1
                )
            })?;
        }
        Ok(())
    }
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
    fn directive_line(&self, d: &Directive) -> String {
        let value = (d.get)(self);
        if LIST_DIRECTIVES.contains(&d.name) && !value.is_empty() {
            format!("{} {value}", d.name)
        } else {
            format!("{} {}", d.name, quote_value(&value))
        }
    }

    /// The text CONFIG REWRITE writes over `original` (Redis: `rewriteConfig`): each known
    /// directive's first line is replaced by its current value and its repeats are dropped;
    /// comments and lines ferrodis does not know are kept; directives that differ from their
    /// default and were not in the file are appended at the end.
    pub fn rewrite_text(&self, original: &str) -> String {
        let defaults = Config::default();
        let mut written: Vec<&'static str> = Vec::new();
        let mut out = String::new();
        for raw in original.lines() {
            let line = raw.trim();
            let name = crate::resp::parse::split_args(line.as_bytes())
                .and_then(|words| words.into_iter().next())
                .map(|w| String::from_utf8_lossy(&w).into_owned());
            let directive = name.as_deref().and_then(find_directive);
            match directive {
                Some(d) if written.contains(&d.name) => {} // a repeat: the first line has it
                Some(d) => {
                    written.push(d.name);
                    out.push_str(&self.directive_line(d));
                    out.push('\n');
                }
                None => {
                    out.push_str(raw);
                    out.push('\n');
                }
            }
        }
        let mut appended = false;
        for d in DIRECTIVES {
            if written.contains(&d.name) || ALIASES.contains(&d.name) {
                continue;
            }
            if (d.get)(self) != (d.get)(&defaults) {
                if !appended {
                    out.push_str("# Generated by CONFIG REWRITE\n");
                    appended = true;
                }
                out.push_str(&self.directive_line(d));
                out.push('\n');
            }
        }
        out
    }

    /// Rewrites the config file at `path` in place (via a temporary file and a rename, so a
    /// crash never leaves half a file).
    pub fn rewrite_file(&self, path: &str) -> std::io::Result<()> {
        let original = std::fs::read_to_string(path)?;
        let text = self.rewrite_text(&original);
        let tmp = format!("{path}.tmp-{}", std::process::id());
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(c.bind, vec!["127.0.0.1"]);
    }

    #[test]
    fn bad_lines_are_named() {
        let mut c = Config::default();
        let err = c
            .load_text("port 7000\nfrobnicate yes\n", "x.conf")
            .unwrap_err();
        assert!(err.contains("line 2"), "{err}");
        assert!(err.contains("frobnicate"), "{err}");
        let err = c.load_text("port notanumber\n", "x.conf").unwrap_err();
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn rewrite_replaces_known_lines_keeps_others_and_appends_changes() {
        let mut c = Config::default();
        c.load_text("# my server\nhz 20\nhz 30\nport 7000\n", "x.conf")
            .unwrap();
        c.set("hz", "50", true).unwrap();
        c.set("requirepass", "a b", true).unwrap();
        c.set("save", "900 1", true).unwrap();
        let text = c.rewrite_text("# my server\nhz 20\nhz 30\nport 7000\n");
        assert_eq!(
            text,
            "# my server\nhz 50\nport 7000\n# Generated by CONFIG REWRITE\n\
             requirepass \"a b\"\nsave 900 1\n"
        );
        let mut reloaded = Config::default();
        reloaded.load_text(&text, "x.conf").unwrap();
        assert_eq!(reloaded.requirepass.as_deref(), Some(&b"a b"[..]));
        assert_eq!(reloaded.save, "900 1");
        assert_eq!(reloaded.hz, 50);
    }

    #[test]
    fn memory_units_follow_redis() {
        assert_eq!(parse_memory("1kb"), Ok(1024));
        assert_eq!(parse_memory("1k"), Ok(1000));
        assert_eq!(parse_memory("2gb"), Ok(2 << 30));
        assert!(parse_memory("lots").is_err());
    }
}
