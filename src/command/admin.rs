//! Server administration: INFO, CONFIG, COMMAND, TIME, LASTSAVE, ROLE, DEBUG, and SHUTDOWN's
//! table row (its handler is `shutdown.rs`) (Redis: `server.c` for INFO/COMMAND/TIME, `config.c` for CONFIG, `debug.c`).
//!
//! These commands read the server rather than the keyspace: INFO's text is built in
//! `command::info`, CONFIG goes through the directive table in `crate::config`, and COMMAND
//! renders the command table rows (`table.rs`), so what COMMAND INFO reports is exactly what the
//! dispatcher enforces.
//!
//! SAVE and DEBUG RELOAD are in `persistence.rs`. Not implemented (they answer "unknown
//! command"): BGSAVE, BGREWRITEAOF, MONITOR, SLOWLOG, LATENCY, REPLICAOF, FAILOVER. (MEMORY and SWAPDB are
//! keyspace commands, in `keyspace.rs`.)

use super::args;
use super::connection::container_command;
use super::error::{CommandError, CommandResult};
use super::keyspec::{self, BeginSearch, FindKeys, KeySpec};
use super::table::{flags, flags::*, lookup_subcommand, CommandSpec};
use super::Ctx;
use crate::config::{canonical_name, config_names, ConfigError};
use crate::db::value::Value;
use crate::resp::reply::ReplyBuffer;
use crate::types::sds::Sds;
use crate::util::glob_match;
use log::warn;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("info", info_command, -1, LOADING | STALE, "server")
        .tips(&[
            "nondeterministic_output",
            "request_policy:all_shards",
            "response_policy:special",
        ])
        .acl(&["@dangerous"])
        .doc(
            "Returns information and statistics about the server.",
            "1.0.0",
        ),
    CommandSpec::new("config", container_command, -2, 0, "server")
        .doc("A container for server configuration commands.", "2.0.0")
        .subs(CONFIG_SUBCOMMANDS),
    CommandSpec::new("command", command_command, -1, LOADING | STALE, "server")
        .tips(&["nondeterministic_output_order"])
        .acl(&["@connection"])
        .doc("Returns detailed information about all commands.", "2.8.13")
        .subs(COMMAND_SUBCOMMANDS),
    CommandSpec::new("time", time_command, 1, LOADING | STALE | FAST, "server")
        .tips(&["nondeterministic_output"])
        .doc("Returns the server time.", "2.6.0"),
    CommandSpec::new(
        "lastsave",
        lastsave_command,
        1,
        LOADING | STALE | FAST,
        "server",
    )
    .tips(&["nondeterministic_output"])
    .acl(&["@admin", "@dangerous"])
    .doc(
        "Returns the Unix timestamp of the last successful save to disk.",
        "1.0.0",
    ),
    CommandSpec::new(
        "role",
        role_command,
        1,
        NOSCRIPT | LOADING | STALE | FAST,
        "server",
    )
    .acl(&["@admin", "@dangerous"])
    .doc("Returns the replication role.", "2.8.12"),
    CommandSpec::new(
        "debug",
        debug_command,
        -2,
        ADMIN_FLAGS | PROTECTED,
        "server",
    )
    .doc("A container for debugging commands.", "1.0.0"),
    CommandSpec::new(
        "shutdown",
        super::shutdown::shutdown_command,
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | ALLOW_BUSY,
        "server",
    )
    .doc(
        "Synchronously saves the database(s) to disk and shuts down the Redis server.",
        "1.0.0",
    ),
];

const ADMIN_FLAGS: u32 = ADMIN | NOSCRIPT | LOADING | STALE;

const CONFIG_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "config|help",
        config_help_command,
        2,
        LOADING | STALE,
        "server",
    )
    .doc(
        "Returns helpful text about the different subcommands.",
        "5.0.0",
    ),
    CommandSpec::new("config|get", config_get_command, -3, ADMIN_FLAGS, "server").doc(
        "Returns the effective values of configuration parameters.",
        "2.0.0",
    ),
    CommandSpec::new("config|set", config_set_command, -4, ADMIN_FLAGS, "server")
        .tips(&["request_policy:all_nodes", "response_policy:all_succeeded"])
        .doc("Sets configuration parameters in-flight.", "2.0.0"),
    CommandSpec::new(
        "config|resetstat",
        config_resetstat_command,
        2,
        ADMIN_FLAGS,
        "server",
    )
    .doc("Resets the server's statistics.", "2.0.0"),
    CommandSpec::new(
        "config|rewrite",
        config_rewrite_command,
        2,
        ADMIN_FLAGS,
        "server",
    )
    .doc("Persists the effective configuration to file.", "2.8.0"),
];

const COMMAND_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "command|help",
        command_help_command,
        2,
        LOADING | STALE,
        "server",
    )
    .acl(&["@connection"])
    .doc(
        "Returns helpful text about the different subcommands.",
        "5.0.0",
    ),
    CommandSpec::new(
        "command|count",
        command_count_command,
        2,
        LOADING | STALE,
        "server",
    )
    .acl(&["@connection"])
    .doc("Returns a count of commands.", "2.8.13"),
    CommandSpec::new(
        "command|list",
        command_list_command,
        -2,
        LOADING | STALE,
        "server",
    )
    .tips(&["nondeterministic_output_order"])
    .acl(&["@connection"])
    .doc("Returns a list of command names.", "7.0.0"),
    CommandSpec::new(
        "command|info",
        command_info_command,
        -2,
        LOADING | STALE,
        "server",
    )
    .tips(&["nondeterministic_output_order"])
    .acl(&["@connection"])
    .doc(
        "Returns information about one, multiple or all commands.",
        "2.8.13",
    ),
    CommandSpec::new(
        "command|docs",
        command_docs_command,
        -2,
        LOADING | STALE,
        "server",
    )
    .tips(&["nondeterministic_output_order"])
    .acl(&["@connection"])
    .doc(
        "Returns documentary information about one, multiple or all commands.",
        "7.0.0",
    ),
    CommandSpec::new(
        "command|getkeys",
        command_getkeys_command,
        -4,
        LOADING | STALE,
        "server",
    )
    .acl(&["@connection"])
    .doc(
        "Extracts the key names from an arbitrary command.",
        "2.8.13",
    ),
    CommandSpec::new(
        "command|getkeysandflags",
        command_getkeysandflags_command,
        -4,
        LOADING | STALE,
        "server",
    )
    .acl(&["@connection"])
    .doc(
        "Extracts the key names and access flags for an arbitrary command.",
        "7.0.0",
    ),
];

/// INFO [section [section ...]] — the sections as text (a verbatim string in RESP3).
fn info_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let text = super::info::gen_info_string(ctx, &argv[1..]);
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

/// CONFIG HELP — the subcommand summary.
fn config_help_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    ctx.out.help(
        "CONFIG",
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
        ],
    );
    Ok(())
}

/// CONFIG GET pattern [pattern ...] — a map of every matching directive to its value.
/// As in Redis (config.c, configGetCommand): a pattern without `[`, `*` or `?` is a name looked
/// up directly (case-insensitively, replied in the client's spelling; `\` means nothing there);
/// any other is a case-insensitive glob over the names, read as a C string (up to a NUL byte).
/// A name matched twice is listed once.
fn config_get_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    // (reply name, directive): an exact name is echoed as the client spelled it, and also finds
    // a hidden directive (Redis: HIDDEN_CONFIG); names are listed once, whatever their case.
    let mut matched: Vec<(&[u8], &'static str)> = Vec::new();
    let listed = |matched: &[(&[u8], &str)], name: &[u8]| {
        matched.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
    };
    for &pattern in &argv[2..] {
        let c_string = pattern.split(|&b| b == 0).next().unwrap_or_default();
        if !c_string.iter().any(|b| matches!(b, b'[' | b'*' | b'?')) {
            let name = std::str::from_utf8(pattern).ok().and_then(canonical_name);
            if let Some(name) = name.filter(|_| !listed(&matched, pattern)) {
                matched.push((pattern, name));
            }
            continue;
        }
        for name in config_names() {
            if !listed(&matched, name.as_bytes()) && glob_match(c_string, name.as_bytes(), true) {
                matched.push((name.as_bytes(), name));
            }
        }
    }
    ctx.out.map_len(matched.len());
    for (reply_name, name) in matched {
        let value = ctx.srv.config.get(name).unwrap_or_default();
        ctx.out.bulk(reply_name);
        ctx.out.bulk_str(&value);
    }
    Ok(())
}

/// CONFIG SET name value [name value ...] — OK once every pair is applied. All or nothing:
/// the pairs are applied to a copy of the configuration, which replaces the live one only if
/// every pair was accepted.
fn config_set_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let pairs = &argv[2..];
    if !pairs.len().is_multiple_of(2) {
        return Err(CommandError::Syntax);
    }
    let failed = |name: &[u8], reason: &str| {
        CommandError::err(format!(
            "CONFIG SET failed (possibly related to argument '{}') - {reason}",
            args::text(name)
        ))
    };
    // Passwords never reach the slow log, even when the command fails (Redis: the
    // `SENSITIVE_CONFIG` flag).
    for (i, pair) in pairs.chunks(2).enumerate() {
        let sensitive = [
            "masterauth",
            "masteruser",
            "requirepass",
            "tls-key-file-pass",
            "tls-client-key-file-pass",
        ];
        if sensitive
            .iter()
            .any(|s| pair[0].eq_ignore_ascii_case(s.as_bytes()))
        {
            ctx.redact_argument(2 + 2 * i + 1);
        }
    }
    let mut config = ctx.srv.config.clone();
    let mut seen: Vec<&'static str> = Vec::new();
    for pair in pairs.chunks(2) {
        let (name, value) = (pair[0], pair[1]);
        let text_name = args::text(name);
        let Some(directive_name) = canonical_name(&text_name) else {
            return Err(CommandError::err(format!(
                "Unknown option or number of arguments for CONFIG SET - '{text_name}'"
            )));
        };
        if seen.contains(&directive_name) {
            return Err(failed(name, "duplicate parameter"));
        }
        seen.push(directive_name);
        let value =
            std::str::from_utf8(value).map_err(|_| failed(name, "argument must be valid UTF-8"))?;
        if crate::config::is_protected(directive_name)
            && config.enable_protected_configs == "local"
            && !super::client::is_local_client(ctx.me())
        {
            return Err(failed(name, "can't set protected config"));
        }
        // Changing where the data lives, or how it is persisted, while a dataset loads would
        // race with the load (Redis: `DENY_LOADING_CONFIG`).
        const DENY_WHILE_LOADING: [&str; 3] = ["appendonly", "dir", "repl-diskless-load"];
        if ctx.srv.loading && DENY_WHILE_LOADING.contains(&directive_name) {
            return Err(CommandError::Custom(super::LOADING_ERROR.into()));
        }
        config
            .set(directive_name, value, true)
            .map_err(|e| match e {
                ConfigError::Immutable(_) => failed(name, "can't set immutable config"),
                ConfigError::BadValue { reason, .. } => failed(name, &reason),
                ConfigError::UnknownDirective(_) => CommandError::err(format!(
                    "Unknown option or number of arguments for CONFIG SET - '{text_name}'"
                )),
            })?;
    }
    // New listening sockets come first: if they cannot be bound, nothing else changes.
    if let Err((name, reason)) = change_listeners(ctx, &config) {
        return Err(failed(name.as_bytes(), reason));
    }
    // Side effects beyond the value itself. `hz`, `timeout` and `maxclients` are read by the
    // cron and the accept loop each time, so storing them is enough. `requirepass` is the
    // default user's password; clearing it makes the user `nopass`, which authenticates every
    // connection at once.
    if config.requirepass != ctx.srv.config.requirepass {
        let password = config.requirepass.as_deref();
        ctx.srv
            .acl
            .set_default_password(&ctx.srv.commands, password);
        super::acl::refresh_clients(ctx);
    }
    // New TLS settings apply to connections accepted from now on; like Redis's
    // `tlsConfigure`, nothing changes unless all of them load.
    if let Some(tls_name) = seen.iter().find(|name| name.starts_with("tls-")) {
        if config.tls_replication {
            if let Err(reason) = crate::net::tls::client_config(&config) {
                log::warn!("{reason}");
                return Err(failed(
                    tls_name.as_bytes(),
                    "Unable to update TLS configuration. Check server logs.",
                ));
            }
        }
        if config.tls_port != 0 {
            match crate::net::tls::server_config(&config) {
                Ok(tls) => {
                    if let Some(io) = ctx.srv.io.as_mut() {
                        io.tls = Some(tls);
                    }
                }
                Err(reason) => {
                    log::warn!("{reason}");
                    return Err(failed(
                        tls_name.as_bytes(),
                        "Unable to update TLS configuration. Check server logs.",
                    ));
                }
            }
        }
    }
    log::set_max_level(crate::config::log_level_filter(&config.loglevel));
    super::evict::apply_config(&config);
    let maxmemory_changed = config.maxmemory != ctx.srv.config.maxmemory;
    let appendonly_changed = config.appendonly != ctx.srv.config.appendonly;
    let auto_gc_enabled = ctx.srv.config.aof_disable_auto_gc && !config.aof_disable_auto_gc;
    ctx.srv.config = config;
    // A new backlog size applies at once (Redis: `updateReplBacklogSize`): a replica that
    // reconnects next finds the history trimmed already.
    if seen.contains(&"repl-backlog-size") {
        super::replication::resize_backlog(ctx);
    }
    // Turning the AOF on starts the rewrite that writes its first base (Redis:
    // `updateAppendonly`); if that cannot start, the setting is refused.
    if appendonly_changed {
        if ctx.srv.config.appendonly {
            if super::aof::start_append_only(ctx).is_err() {
                ctx.srv.config.appendonly = false;
                return Err(CommandError::err(
                    "CONFIG SET failed (possibly related to argument 'appendonly') - Unable to turn on AOF. Check server logs.",
                ));
            }
        } else {
            super::aof::stop_append_only(ctx.srv, ctx.now);
        }
    }
    if auto_gc_enabled {
        super::aof::delete_history_files(ctx.srv);
    }
    if maxmemory_changed && ctx.srv.config.maxmemory != 0 {
        // The new limit takes effect in `before_sleep`, outside this command, as Redis's
        // `updateMaxmemory` does: evictions are never part of a CONFIG SET (nor of the
        // transaction or script around it) on the replication stream.
        super::evict::warn_if_over_limit(ctx);
        ctx.srv.evict.start_time_proc();
    }
    ctx.out.ok();
    Ok(())
}

/// CONFIG SET `bind` / `port`: listens where the new configuration says, the old listeners
/// closed only once the new ones are bound (Redis: `changeBindAddr`, `changeListenPort`);
/// connected clients are untouched. `Err` names the directive and Redis's reason.
fn change_listeners(
    ctx: &mut Ctx,
    config: &crate::config::Config,
) -> Result<(), (&'static str, &'static str)> {
    let current = &ctx.srv.config;
    let bind_changed = config.bind != current.bind;
    let port_changed = config.port != current.port;
    if !bind_changed && !port_changed {
        return Ok(());
    }
    // The port actually bound (`port 0` at startup picks a free one).
    let bound_port = ctx.srv.tcp_port;
    let new_port = if port_changed {
        config.port
    } else {
        bound_port
    };
    let old = crate::net::listen::ListenSpec {
        bind: &current.bind,
        port: bound_port,
        tls_port: current.tls_port,
    };
    let new = crate::net::listen::ListenSpec {
        bind: &config.bind,
        port: new_port,
        tls_port: config.tls_port,
    };
    let backlog = config.tcp_backlog.min(i32::MAX as u64) as i32;
    let Some(io) = ctx.srv.io.as_mut() else {
        return Ok(()); // no event loop (unit tests): nothing is listening
    };
    if let Err(e) = io.change_listeners(old, new, bind_changed, backlog) {
        log::warn!("Could not listen on the new address or port: {e}");
        return Err(if bind_changed {
            ("bind", "Failed to bind to specified addresses.")
        } else {
            ("port", "Unable to listen on this port. Check server logs.")
        });
    }
    ctx.srv.tcp_port = new_port;
    Ok(())
}

/// CONFIG RESETSTAT — OK; zeroes INFO's counters, command and error statistics, the
/// keyspace hit/miss/expiry counters, the full/partial sync, fork, save and rewrite counts.
/// (Redis: `resetServerStats`.)
fn config_resetstat_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    ctx.srv.stats = Default::default();
    ctx.srv.lazyfree.reset_stats();
    ctx.srv.expire_cycle.reset_stats();
    ctx.srv.evict.reset_stats();
    let repl = &mut ctx.srv.propagation.repl;
    (repl.sync_full, repl.sync_partial_ok, repl.sync_partial_err) = (0, 0, 0);
    let rdb = &mut ctx.srv.rdb;
    (rdb.saves, rdb.total_forks, rdb.latest_fork_usec) = (0, 0, 0);
    let aof = &mut ctx.srv.aof;
    (aof.rewrites, aof.consecutive_failures, aof.delayed_fsync) = (0, 0, 0);
    for db in ctx.dbs.iter_mut() {
        db.stats.keyspace_hits = 0;
        db.stats.keyspace_misses = 0;
        db.stats.expired_keys = 0;
    }
    ctx.out.ok();
    Ok(())
}

/// CONFIG REWRITE — OK once the config file the server started with holds the current
/// configuration (see `Config::rewrite_text`); Redis's error when there is no file.
fn config_rewrite_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    if ctx.srv.config_file.is_empty() {
        return Err(CommandError::Err(
            "The server is running without a config file",
        ));
    }
    // Without an aclfile the users are part of the config file (Redis: `rewriteConfigUserOption`).
    let users: Option<Vec<String>> = ctx.srv.config.aclfile.is_empty().then(|| {
        super::acl::user_lines(ctx)
            .iter()
            .map(|line| String::from_utf8_lossy(line).into_owned())
            .collect()
    });
    if let Err(e) = ctx
        .srv
        .config
        .rewrite_file(&ctx.srv.config_file, users.as_deref())
    {
        warn!("CONFIG REWRITE failed: {e}");
        return Err(CommandError::err(format!("Rewriting config file: {e}")));
    }
    log::info!("CONFIG REWRITE executed with success.");
    ctx.out.ok();
    Ok(())
}

/// COMMAND HELP — the subcommand summary.
fn command_help_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    ctx.out.help(
        "COMMAND",
        &[
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
            "GETKEYSANDFLAGS <full-command>",
            "    Return the keys and the access flags from a full Redis command.",
        ],
    );
    Ok(())
}

/// COMMAND — every command's COMMAND INFO row. (COMMAND with a subcommand is dispatched to
/// the subcommand rows; this runs only for the bare form.)
fn command_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    let all = ctx.srv.commands.all().to_vec();
    ctx.out.array_len(all.len());
    for spec in all {
        command_info_row(ctx.out, spec);
    }
    Ok(())
}

/// COMMAND COUNT — the number of top-level commands.
fn command_count_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    let n = ctx.srv.commands.len();
    ctx.out.integer(n as i64);
    Ok(())
}

/// Every command and subcommand, in table order.
fn all_specs_with_subcommands(ctx: &Ctx) -> Vec<&'static CommandSpec> {
    let mut out = Vec::new();
    for &spec in ctx.srv.commands.all() {
        out.push(spec);
        out.extend(spec.subcommands.iter());
    }
    out
}

/// COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern] — command names,
/// subcommands included (`config|get`).
fn command_list_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    enum Filter<'a> {
        All,
        Module,
        AclCat(&'a [u8]),
        Pattern(&'a [u8]),
    }
    let filter = match argv.len() {
        2 => Filter::All,
        5 if args::is(argv[2], "FILTERBY") => {
            if args::is(argv[3], "MODULE") {
                Filter::Module
            } else if args::is(argv[3], "ACLCAT") {
                Filter::AclCat(argv[4])
            } else if args::is(argv[3], "PATTERN") {
                Filter::Pattern(argv[4])
            } else {
                return Err(CommandError::Syntax);
            }
        }
        _ => return Err(CommandError::Syntax),
    };
    let names: Vec<&str> = all_specs_with_subcommands(ctx)
        .into_iter()
        .filter(|spec| match filter {
            Filter::All => true,
            Filter::Module => false,
            Filter::AclCat(cat) => spec
                .acl_categories()
                .iter()
                .any(|c| c.as_bytes()[1..].eq_ignore_ascii_case(cat)),
            Filter::Pattern(p) => glob_match(p, spec.name.as_bytes(), true),
        })
        .map(|spec| spec.name)
        .collect();
    ctx.out.array_len(names.len());
    for name in names {
        ctx.out.bulk_str(name);
    }
    Ok(())
}

/// Finds a command or `container|subcommand` by name.
fn lookup_command_or_subcommand(ctx: &Ctx, name: &[u8]) -> Option<&'static CommandSpec> {
    match name.iter().position(|&b| b == b'|') {
        None => ctx.srv.commands.lookup(name),
        Some(bar) => {
            let parent = ctx.srv.commands.lookup(&name[..bar])?;
            lookup_subcommand(parent, &name[bar + 1..])
        }
    }
}

/// COMMAND INFO [command-name ...] — a row per name (null for unknown ones); all rows when no
/// name is given.
fn command_info_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    if argv.len() == 2 {
        return command_command(ctx, argv);
    }
    ctx.out.array_len(argv.len() - 2);
    for name in &argv[2..] {
        match lookup_command_or_subcommand(ctx, name) {
            Some(spec) => command_info_row(ctx.out, spec),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

/// Writes a set of flag names: those of `names` whose bit is in `bits`, in `names`' order
/// (Redis: `addReplyCommandFlags`).
fn flag_set(out: &mut ReplyBuffer, bits: u32, names: &[(u32, &str)]) {
    let on: Vec<&str> = names
        .iter()
        .filter(|(bit, _)| bits & bit != 0)
        .map(|&(_, n)| n)
        .collect();
    out.set_len(on.len());
    for name in on {
        out.simple(name);
    }
}

/// One COMMAND INFO row (Redis 7.0 shape, `addReplyCommandInfo`): name, arity, flags, first
/// key, last key, step, ACL categories, tips, key specs, subcommands. The (first, last, step)
/// triple is derived from the key specs as Redis does.
fn command_info_row(out: &mut ReplyBuffer, spec: &CommandSpec) {
    out.array_len(10);
    out.bulk_str(spec.name);
    out.integer(spec.arity as i64);
    flag_set(out, spec.flags, flags::NAMES);
    let ((first, last, step), _) = keyspec::legacy_range(spec.key_specs);
    out.integer(first as i64);
    out.integer(last as i64);
    out.integer(step as i64);
    let cats = spec.acl_categories();
    out.set_len(cats.len());
    for cat in cats {
        out.simple(cat);
    }
    out.set_len(spec.tips.len());
    for tip in spec.tips {
        out.bulk_str(tip);
    }
    out.set_len(spec.key_specs.len());
    for ks in spec.key_specs {
        key_spec_reply(out, ks);
    }
    if spec.subcommands.is_empty() {
        out.set_len(0);
    } else {
        out.array_len(spec.subcommands.len());
        for sub in spec.subcommands {
            command_info_row(out, sub);
        }
    }
}

/// One key spec as COMMAND INFO shows it (Redis: `addReplyCommandKeySpecs`).
fn key_spec_reply(out: &mut ReplyBuffer, ks: &KeySpec) {
    out.map_len(3 + !ks.notes.is_empty() as usize);
    if !ks.notes.is_empty() {
        out.bulk(b"notes");
        out.bulk_str(ks.notes);
    }
    out.bulk(b"flags");
    flag_set(out, ks.flags, keyspec::key_flags::NAMES);
    out.bulk(b"begin_search");
    out.map_len(2);
    out.bulk(b"type");
    match ks.begin {
        BeginSearch::Index(pos) => {
            out.bulk(b"index");
            out.bulk(b"spec");
            out.map_len(1);
            out.bulk(b"index");
            out.integer(pos as i64);
        }
        BeginSearch::Keyword { keyword, startfrom } => {
            out.bulk(b"keyword");
            out.bulk(b"spec");
            out.map_len(2);
            out.bulk(b"keyword");
            out.bulk_str(keyword);
            out.bulk(b"startfrom");
            out.integer(startfrom as i64);
        }
        BeginSearch::Unknown => {
            out.bulk(b"unknown");
            out.bulk(b"spec");
            out.map_len(0);
        }
    }
    out.bulk(b"find_keys");
    out.map_len(2);
    out.bulk(b"type");
    let (kind, fields) = match ks.find {
        FindKeys::Range {
            lastkey,
            keystep,
            limit,
        } => (
            "range",
            vec![("lastkey", lastkey), ("keystep", keystep), ("limit", limit)],
        ),
        FindKeys::Keynum {
            keynumidx,
            firstkey,
            keystep,
        } => (
            "keynum",
            vec![
                ("keynumidx", keynumidx),
                ("firstkey", firstkey),
                ("keystep", keystep),
            ],
        ),
        FindKeys::Unknown => ("unknown", Vec::new()),
    };
    out.bulk_str(kind);
    out.bulk(b"spec");
    out.map_len(fields.len());
    for (name, value) in fields {
        out.bulk_str(name);
        out.integer(value as i64);
    }
}

/// One COMMAND DOCS entry's value: summary, since, group, and the subcommands' docs.
/// (The table records no complexity or argument lists, so those fields are absent.)
fn command_docs_entry(out: &mut ReplyBuffer, spec: &CommandSpec) {
    let subs = !spec.subcommands.is_empty();
    out.map_len(3 + subs as usize);
    out.bulk(b"summary");
    out.bulk_str(spec.summary);
    out.bulk(b"since");
    out.bulk_str(spec.since);
    out.bulk(b"group");
    out.bulk_str(spec.group);
    if subs {
        out.bulk(b"subcommands");
        out.map_len(spec.subcommands.len());
        for sub in spec.subcommands {
            out.bulk_str(sub.name);
            command_docs_entry(out, sub);
        }
    }
}

/// COMMAND DOCS [command-name ...] — a map of command name to its documentation; unknown
/// names are left out; every command when no name is given.
fn command_docs_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let specs: Vec<&'static CommandSpec> = if argv.len() == 2 {
        ctx.srv.commands.all().to_vec()
    } else {
        argv[2..]
            .iter()
            .filter_map(|name| lookup_command_or_subcommand(ctx, name))
            .collect()
    };
    ctx.out.map_len(specs.len());
    for spec in specs {
        ctx.out.bulk_str(spec.name);
        command_docs_entry(ctx.out, spec);
    }
    Ok(())
}

/// COMMAND GETKEYS command [arg ...] — the key arguments of the given command line, found by
/// the command's key specs and key helper (Redis: `getKeysSubcommandImpl`).
fn command_getkeys_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    getkeys_generic(ctx, argv, false)
}

/// COMMAND GETKEYSANDFLAGS command [arg ...] — like GETKEYS, each key with its spec's flags.
fn command_getkeysandflags_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    getkeys_generic(ctx, argv, true)
}

fn getkeys_generic(ctx: &mut Ctx, argv: &[&[u8]], with_flags: bool) -> CommandResult {
    let line = &argv[2..];
    let spec = ctx
        .srv
        .commands
        .lookup(line[0])
        .and_then(|spec| match line.get(1) {
            _ if spec.subcommands.is_empty() => Some(spec),
            Some(sub) => lookup_subcommand(spec, sub),
            // A container named alone is itself (and has no keys).
            None => Some(spec),
        });
    let Some(spec) = spec else {
        return Err(CommandError::Err("Invalid command specified"));
    };
    if !spec.has_keys() {
        return Err(CommandError::Err("The command has no key arguments"));
    }
    if !spec.arity_ok(line.len()) {
        return Err(CommandError::Err(
            "Invalid number of arguments specified for command",
        ));
    }
    let keys = spec.get_keys(line);
    if keys.is_empty() {
        if spec.has(flags::NO_MANDATORY_KEYS) {
            ctx.out.array_len(0);
            return Ok(());
        }
        return Err(CommandError::Err("Invalid arguments specified for command"));
    }
    ctx.out.array_len(keys.len());
    for key in keys {
        let name = line.get(key.pos).copied().unwrap_or_default();
        if with_flags {
            ctx.out.array_len(2);
            ctx.out.bulk(name);
            flag_set(ctx.out, key.flags, keyspec::key_flags::NAMES);
        } else {
            ctx.out.bulk(name);
        }
    }
    Ok(())
}

/// TIME — `[unix seconds, microseconds]` as two bulk strings.
fn time_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    ctx.out.array_len(2);
    ctx.out.bulk_str(&now.as_secs().to_string());
    ctx.out.bulk_str(&now.subsec_micros().to_string());
    Ok(())
}

/// LASTSAVE — Unix time of the last successful save; the server's start time until the first,
/// as in Redis.
fn lastsave_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    ctx.out
        .integer(ctx.srv.rdb.last_save_secs(ctx.srv.started_ms));
    Ok(())
}

/// ROLE — `["master", <replication offset>, [[ip, port, acked offset], ...]]` (ferrodis is
/// always a master).
fn role_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    if super::replica::role_reply(ctx) {
        return Ok(());
    }
    // Only synchronized replicas are listed (Redis's `roleCommand`).
    let mut replicas = super::replication::replicas(ctx);
    replicas.retain(|(_, link)| link.state == super::fullsync::SyncState::Online);
    ctx.out.array_len(3);
    ctx.out.bulk(b"master");
    ctx.out.integer(ctx.srv.propagation.repl.master_repl_offset);
    ctx.out.array_len(replicas.len());
    for (ip, link) in replicas {
        ctx.out.array_len(3);
        ctx.out.bulk(ip.as_bytes());
        ctx.out.bulk(link.listening_port.to_string().as_bytes());
        ctx.out.bulk(link.ack_offset.to_string().as_bytes());
    }
    Ok(())
}

/// DEBUG subcommand [args] — the subset of Redis's debugging toolbox that tests rely on:
/// `SLEEP seconds` (blocks the whole server, as in Redis), `SET-ACTIVE-EXPIRE 0|1`,
/// `SET-SKIP-CHECKSUM-VALIDATION 0|1`,
/// `OBJECT key`, `HELP`.
/// DEBUG POPULATE count [prefix] [size] — adds `prefix:N` (default `key:N`) holding `value:N`
/// for N below count, skipping keys that exist; with `size`, each value is that many bytes
/// (`value:N` cut or zero-padded). Redis: the `populate` branch of `debugCommand`.
fn debug_populate(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let positive = |arg: &[u8]| -> Result<u64, CommandError> {
        let n = args::int(arg)?;
        u64::try_from(n).map_err(|_| CommandError::Err("value is out of range, must be positive"))
    };
    let count = positive(argv[2])?;
    let size = match argv.get(4) {
        // Bounded like any string a client could send (Redis has no bound: a typo there
        // would take the server down).
        Some(arg) => match positive(arg)? {
            n if n > ctx.srv.config.proto_max_bulk_len as u64 => {
                return Err(CommandError::Err("value is out of range"))
            }
            n => Some(n as usize),
        },
        None => None,
    };
    let prefix = argv.get(3).copied().unwrap_or(b"key");
    let now = ctx.now;
    for j in 0..count {
        let mut key = prefix.to_vec();
        key.push(b':');
        key.extend_from_slice(j.to_string().as_bytes());
        if ctx.dbs[ctx.db].lookup_write(&key, now).is_some() {
            continue;
        }
        let mut value = format!("value:{j}").into_bytes();
        if let Some(size) = size {
            value.resize(size, 0);
        }
        ctx.dbs[ctx.db].add(&key, Value::Str(Sds::from(value)), now);
        super::signal_modified_key(ctx, &key);
    }
    ctx.out.ok();
    Ok(())
}

/// A `PROTECTED` command (DEBUG) runs only as `enable-debug-command` allows: `yes`, or
/// `local` for loopback clients (Redis: `allowProtectedAction` in `processCommand`).
pub fn check_protected_command(ctx: &mut Ctx, spec: &CommandSpec) -> CommandResult {
    let (mode, name, option) = match spec.name {
        "debug" => (
            ctx.srv.config.enable_debug_command.as_str(),
            "DEBUG",
            "enable-debug-command",
        ),
        _ => (
            ctx.srv.config.enable_module_command.as_str(),
            "MODULE",
            "enable-module-command",
        ),
    };
    let allowed = match mode {
        "yes" => true,
        "local" => super::client::is_local_client(ctx.me()),
        _ => false,
    };
    if allowed {
        return Ok(());
    }
    Err(CommandError::err(format!(
        "{name} command not allowed. If the {option} option is set to \"local\", you can run \
         it from a local connection, otherwise you need to set this option in the \
         configuration file, and then restart the server."
    )))
}

fn debug_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let sub = argv[1];
    if args::is(sub, "HELP") && argv.len() == 2 {
        ctx.out.help(
            "DEBUG",
            &[
                "LOG <message>",
                "    Write <message> to the server log.",
                "OBJECT <key>",
                "    Show low level info about the key and associated value.",
                "REPLICATE <string>",
                "    Replicates the provided string to replicas, allowing data divergence.",
                "SET-ACTIVE-EXPIRE <0|1>",
                "    Setting it to 0 disables expiring keys in background when they are not",
                "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
                "    default.",
                "SET-SKIP-CHECKSUM-VALIDATION <0|1>",
                "    Enables or disables checksum checks for RDB files and RESTORE's payload.",
                "SLEEP <seconds>",
                "    Stop the server for <seconds>. Decimals allowed.",
            ],
        );
    } else if args::is(sub, "SLEEP") && argv.len() == 3 {
        let secs = args::float(argv[2])?;
        // Out-of-range durations (negative, or beyond Duration's range) sleep not at all.
        if let Ok(d) = Duration::try_from_secs_f64(secs) {
            std::thread::sleep(d);
        }
        ctx.out.ok();
    } else if args::is(sub, "REPLICATE") && argv.len() >= 3 {
        // The arguments go to the replicas as a command of the stream, and nowhere else
        // (a testing knob: it makes a replica fail a command of its master).
        let command: Vec<Vec<u8>> = argv[2..].iter().map(|a| a.to_vec()).collect();
        super::replication::feed(ctx, None, &command);
        ctx.out.ok();
    } else if args::is(sub, "LOG") && argv.len() == 3 {
        // A marker in the server log, for tests that read it.
        warn!("DEBUG LOG: {}", args::text(argv[2]));
        ctx.out.ok();
    } else if args::is(sub, "AOF-FLUSH-SLEEP") && argv.len() == 3 {
        ctx.srv.aof.flush_sleep_us = u64::try_from(args::int(argv[2])?).unwrap_or(0);
        ctx.out.ok();
    } else if args::is(sub, "LOADAOF") && argv.len() == 2 {
        super::aof::debug_loadaof(ctx)?;
    } else if args::is(sub, "RELOAD") {
        super::persistence::debug_reload(ctx, &argv[2..])?;
    } else if args::is(sub, "POPULATE") && (3..=5).contains(&argv.len()) {
        debug_populate(ctx, argv)?;
    } else if args::is(sub, "DIGEST") && argv.len() == 2 {
        let digest = crate::db::digest::dataset_digest(ctx.dbs);
        ctx.out.simple(&crate::db::digest::to_hex(&digest));
    } else if args::is(sub, "DIGEST-VALUE") {
        ctx.out.array_len(argv.len() - 2);
        for key in &argv[2..] {
            let digest = crate::db::digest::key_value_digest(&ctx.dbs[ctx.db], key);
            ctx.out.simple(&crate::db::digest::to_hex(&digest));
        }
    } else if args::is(sub, "REPLYBUFFER") && argv.len() == 4 {
        // Redis's knobs for its cron that resizes reply buffers to their recent peak. A
        // ferrodis reply buffer is one growable array, never resized by the cron, so there is
        // nothing to switch: the arguments are checked as Redis checks them, then OK.
        if args::is(argv[2], "PEAK-RESET-TIME") {
            if !args::is(argv[3], "NEVER") && !args::is(argv[3], "RESET") {
                args::int(argv[3])?;
            }
        } else if !args::is(argv[2], "RESIZING") {
            return Err(CommandError::err(format!(
                "unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
                args::text(sub)
            )));
        }
        ctx.out.ok();
    } else if args::is(sub, "PAUSE-CRON") && argv.len() == 3 {
        // The periodic work stops (a testing knob of Redis's).
        ctx.srv.pause_cron = args::int(argv[2])? != 0;
        ctx.out.ok();
    } else if args::is(sub, "SET-SKIP-CHECKSUM-VALIDATION") && argv.len() == 3 {
        let on = args::int(argv[2])?;
        ctx.srv.config.skip_checksum_validation = on != 0;
        ctx.out.ok();
    } else if args::is(sub, "SET-ACTIVE-EXPIRE") && argv.len() == 3 {
        let on = args::int(argv[2])?;
        ctx.srv.config.active_expire_enabled = on != 0;
        ctx.out.ok();
    } else if args::is(sub, "OBJECT") && argv.len() == 3 {
        let now = ctx.now;
        // DEBUG OBJECT looks in the table itself (Redis: `dictFind`): not an access (no LRU
        // update, no hit/miss), and a key past its TTL is still shown, not expired (a replica
        // keeps such a key until its master's DEL).
        let Some(obj) = ctx.dbs[ctx.db].dict.get(argv[2]) else {
            return Err(CommandError::NoSuchKey);
        };
        let idle = obj.idle_seconds(now);
        let line = format!(
            "Value at:{:p} refcount:1 encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}",
            obj as *const _,
            obj.encoding_name(),
            obj.value.heap_size().max(1),
            obj.lru & ((1 << 24) - 1),
            idle
        );
        ctx.out.simple(&line);
    } else {
        return Err(CommandError::err(format!(
            "unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
            args::text(sub)
        )));
    }
    Ok(())
}
