//! Connection commands: PING, ECHO, SELECT, QUIT, RESET, AUTH, HELLO and the CLIENT container
//! (Redis: `server.c` for PING/ECHO/HELLO/RESET, `acl.c` for AUTH, `networking.c` for CLIENT).
//!
//! These commands read and change the *calling connection's* state: its protocol version (kept
//! on its reply buffer, which is `ctx.out` while the command runs), its name, its selected
//! database, whether it has authenticated, and how its replies are delivered (CLIENT REPLY).
//!
//! Authentication is ACL's (see `acl.rs`): `AUTH user pass` and HELLO's AUTH option check a
//! user's passwords; the one-argument `AUTH pass` names the `default` user, whose password
//! `requirepass` sets (and is an error while that user is `nopass`).

use super::args;
use super::blocked;
use super::client::{Client, ReplyMode};
use super::error::{CommandError, CommandResult};
use super::state::REDIS_VERSION;
use super::table::{flags::*, CommandSpec};
use super::Ctx;
use std::fmt::Write as _;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("ping", ping_command, -1, FAST, "connection")
        .tips(&["request_policy:all_shards", "response_policy:all_succeeded"])
        .doc("Returns the server's liveliness response.", "1.0.0"),
    CommandSpec::new(
        "echo",
        echo_command,
        2,
        LOADING | STALE | FAST,
        "connection",
    )
    .doc("Returns the given string.", "1.0.0"),
    CommandSpec::new(
        "select",
        select_command,
        2,
        LOADING | STALE | FAST,
        "connection",
    )
    .doc("Changes the selected database.", "1.0.0"),
    CommandSpec::new("quit", quit_command, -1, CONN_FLAGS, "connection")
        .doc("Closes the connection.", "1.0.0"),
    CommandSpec::new("reset", reset_command, 1, CONN_FLAGS, "connection")
        .doc("Resets the connection.", "6.2.0"),
    CommandSpec::new("auth", auth_command, -2, CONN_FLAGS, "connection")
        .doc("Authenticates the connection.", "1.0.0"),
    CommandSpec::new("hello", hello_command, -1, CONN_FLAGS, "connection")
        .doc("Handshakes with the Redis server.", "6.0.0"),
    CommandSpec::new("client", container_command, -2, 0, "connection")
        .doc("A container for client connection commands.", "2.4.0")
        .subs(CLIENT_SUBCOMMANDS),
    CommandSpec::new(
        "readonly",
        cluster_disabled,
        1,
        LOADING | STALE | FAST,
        "cluster",
    )
    .acl(&["@connection"])
    .doc(
        "Enables read queries for a connection to a cluster replica node",
        "3.0.0",
    ),
    CommandSpec::new(
        "readwrite",
        cluster_disabled,
        1,
        LOADING | STALE | FAST,
        "cluster",
    )
    .acl(&["@connection"])
    .doc(
        "Disables read queries for a connection to a cluster replica node",
        "3.0.0",
    ),
];

/// READONLY / READWRITE: cluster connection modes; without cluster support, Redis's error.
fn cluster_disabled(_ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    Err(CommandError::Err(
        "This instance has cluster support disabled",
    ))
}

/// Flags shared by the commands a connection may run before authenticating.
const CONN_FLAGS: u32 = NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY;
const CLIENT_FLAGS: u32 = NOSCRIPT | LOADING | STALE;
const CLIENT_ADMIN_FLAGS: u32 = ADMIN | NOSCRIPT | LOADING | STALE;

const CLIENT_SUBCOMMANDS: &[CommandSpec] = &[
    CLIENT_UNBLOCK,
    CommandSpec::new(
        "client|help",
        client_help_command,
        2,
        LOADING | STALE,
        "connection",
    )
    .doc(
        "Returns helpful text about the different subcommands.",
        "5.0.0",
    ),
    CommandSpec::new(
        "client|id",
        client_id_command,
        2,
        CLIENT_FLAGS,
        "connection",
    )
    .doc("Returns the unique client ID of the connection.", "5.0.0"),
    CommandSpec::new(
        "client|info",
        client_info_command,
        2,
        CLIENT_FLAGS,
        "connection",
    )
    .tips(&["nondeterministic_output"])
    .doc("Returns information about the connection.", "6.2.0"),
    CommandSpec::new(
        "client|list",
        client_list_command,
        -2,
        CLIENT_ADMIN_FLAGS,
        "connection",
    )
    .tips(&["nondeterministic_output"])
    .doc("Lists open connections.", "2.4.0"),
    CommandSpec::new(
        "client|kill",
        client_kill_command,
        -3,
        CLIENT_ADMIN_FLAGS,
        "connection",
    )
    .doc("Terminates open connections.", "2.4.0"),
    CommandSpec::new(
        "client|setname",
        client_setname_command,
        3,
        CLIENT_FLAGS,
        "connection",
    )
    .doc("Sets the connection name.", "2.6.9"),
    CommandSpec::new(
        "client|getname",
        client_getname_command,
        2,
        CLIENT_FLAGS,
        "connection",
    )
    .doc("Returns the name of the connection.", "2.6.9"),
    CommandSpec::new(
        "client|setinfo",
        client_setinfo_command,
        4,
        CLIENT_FLAGS,
        "connection",
    )
    .doc(
        "Sets information specific to the client or connection.",
        "7.2.0",
    ),
    CommandSpec::new(
        "client|reply",
        client_reply_command,
        3,
        CLIENT_FLAGS,
        "connection",
    )
    .doc(
        "Instructs the server whether to reply to commands.",
        "3.2.0",
    ),
    CommandSpec::new(
        "client|no-evict",
        client_no_evict_command,
        3,
        CLIENT_ADMIN_FLAGS,
        "connection",
    )
    .doc("Sets the client eviction mode of the connection.", "7.0.0"),
    CommandSpec::new(
        "client|no-touch",
        client_no_touch_command,
        3,
        CLIENT_FLAGS,
        "connection",
    )
    .doc(
        "Controls whether commands sent by the client affect the LRU/LFU of accessed keys.",
        "7.2.0",
    ),
    CommandSpec::new(
        "client|tracking",
        super::tracking::client_tracking_command,
        -3,
        CLIENT_FLAGS,
        "connection",
    )
    .doc(
        "Enable or disable server assisted client side caching support",
        "6.0.0",
    ),
    CommandSpec::new(
        "client|caching",
        super::tracking::client_caching_command,
        3,
        CLIENT_FLAGS,
        "connection",
    )
    .doc(
        "Instruct the server about tracking or not keys in the next request",
        "6.0.0",
    ),
    CommandSpec::new(
        "client|pause",
        super::pause::client_pause_command,
        -3,
        CLIENT_ADMIN_FLAGS,
        "connection",
    )
    .doc(
        "Stop processing commands from clients for some time",
        "2.9.50",
    ),
    CommandSpec::new(
        "client|unpause",
        super::pause::client_unpause_command,
        2,
        CLIENT_ADMIN_FLAGS,
        "connection",
    )
    .doc("Resume processing of clients that were paused", "6.2.0"),
    CommandSpec::new(
        "client|getredir",
        super::tracking::client_getredir_command,
        2,
        CLIENT_FLAGS,
        "connection",
    )
    .doc(
        "Returns the client ID to which the connection's tracking notifications are redirected.",
        "6.0.0",
    ),
    CommandSpec::new(
        "client|trackinginfo",
        super::tracking::client_trackinginfo_command,
        2,
        CLIENT_FLAGS,
        "connection",
    )
    .doc(
        "Returns information about server-assisted client-side caching for the connection.",
        "6.2.0",
    ),
];

/// The handler of a container command called without a subcommand. The dispatcher resolves
/// subcommands before calling, so this only runs if a container row is called directly.
pub(crate) fn container_command(_ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    Err(CommandError::WrongArity(args::text(argv[0]).to_lowercase()))
}

/// PING [message] — PONG, or the message as a bulk string.
fn ping_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    // A RESP2 subscriber gets `[pong, message]` instead.
    if argv.len() <= 2 && super::pubsub::subscriber_ping(ctx, argv) {
        return Ok(());
    }
    match argv.len() {
        1 => ctx.out.simple("PONG"),
        2 => ctx.out.bulk(argv[1]),
        _ => return Err(CommandError::WrongArity("ping".into())),
    }
    Ok(())
}

/// ECHO message — the message.
fn echo_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    ctx.out.bulk(argv[1]);
    Ok(())
}

/// SELECT index — OK; switches the connection's database.
fn select_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let index = args::int(argv[1]).map_err(|_| CommandError::NotInteger)?;
    if index < 0 || index as usize >= ctx.dbs.len() {
        return Err(CommandError::Err("DB index is out of range"));
    }
    ctx.db = index as usize;
    ctx.me().db = index as usize;
    ctx.out.ok();
    Ok(())
}

/// QUIT — OK, then the server closes the connection once the reply is written.
fn quit_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    ctx.out.ok();
    ctx.me().close_after_reply = true;
    Ok(())
}

/// RESET — `+RESET`; puts the connection back in the state of a fresh one: database 0, no
/// name, RESP2, replies on, not authenticated if a password is required, and out of any
/// transaction or subscription. (Redis: `resetCommand` / `clearClientConnectionState`.)
///
/// As in Redis 7.0, CLIENT NO-EVICT survives RESET (7.2 started clearing it); NO-TOUCH, a 7.2
/// feature, is cleared as 7.2 does.
fn reset_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    // Out of any transaction (and UNWATCH), and out of every subscription without the
    // unsubscribe messages.
    super::multi::reset_client(ctx);
    super::pubsub::reset_client(ctx);
    let authenticated = ctx.srv.acl.default_authenticates();
    let unrestricted = ctx.srv.acl.default_user().unrestricted;
    ctx.db = 0;
    let me = ctx.me();
    me.db = 0;
    me.name = None;
    me.reply_mode = ReplyMode::On;
    me.no_touch = false;
    me.authenticated = authenticated;
    me.user = super::acl::DEFAULT_USER;
    me.acl_unrestricted = unrestricted;
    let id = ctx.id;
    super::tracking::disable_tracking(ctx.srv, ctx.clients.get_mut(id).map(|c| (id, c)));
    let me = ctx.me();
    if std::mem::take(&mut me.monitor) {
        let id = ctx.id;
        super::monitor::forget_client(&mut ctx.srv.monitors, id);
    }
    ctx.out.set_resp3(false);
    ctx.out.simple("RESET");
    Ok(())
}

/// AUTH [username] password — OK once the credentials match; see the module docs.
fn auth_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    for i in 1..argv.len() {
        ctx.redact_argument(i);
    }
    let (user, password) = match argv.len() {
        2 => {
            // The old one-argument form is an error when there is nothing to check.
            if ctx.srv.acl.default_user().nopass {
                return Err(CommandError::Err(
                    "AUTH <password> called without any password configured for the default \
                     user. Are you sure your configuration is correct?",
                ));
            }
            (&b"default"[..], argv[1])
        }
        3 => (argv[1], argv[2]),
        _ => return Err(CommandError::Syntax),
    };
    super::acl::authenticate(ctx, user, password, argv)?;
    ctx.out.ok();
    Ok(())
}

/// HELLO [protover [AUTH username password] [SETNAME clientname]] — switches the connection to
/// RESP2 or RESP3 and replies, in the new protocol, with a map describing the server:
/// server, version, proto, id, mode, role, modules.
///
/// HELLO carries NO_AUTH so that `HELLO 3 AUTH user pass` can authenticate; without AUTH an
/// unauthenticated client is refused here with Redis's own NOAUTH text.
fn hello_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let mut version = None;
    if let Some(arg) = argv.get(1) {
        let v = args::int(arg)
            .map_err(|_| CommandError::Err("Protocol version is not an integer or out of range"))?;
        if !(2..=3).contains(&v) {
            return Err(CommandError::Custom(
                "NOPROTO unsupported protocol version".into(),
            ));
        }
        version = Some(v);
    }
    let mut credentials = None;
    let mut name = None;
    let mut i = 2;
    while i < argv.len() {
        let more = argv.len() - 1 - i;
        if args::is(argv[i], "AUTH") && more >= 2 {
            credentials = Some((argv[i + 1], argv[i + 2]));
            ctx.redact_argument(i + 1);
            ctx.redact_argument(i + 2);
            i += 3;
        } else if args::is(argv[i], "SETNAME") && more >= 1 {
            name = Some(argv[i + 1]);
            i += 2;
        } else {
            return Err(CommandError::err(format!(
                "Syntax error in HELLO option '{}'",
                args::text(argv[i])
            )));
        }
    }
    if let Some((user, password)) = credentials {
        super::acl::authenticate(ctx, user, password, argv)?;
    }
    if !ctx.me().authenticated {
        return Err(CommandError::Custom(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the \
             HELLO AUTH <user> <pass> option can be used to authenticate the client and select \
             the RESP protocol version at the same time"
                .into(),
        ));
    }
    if let Some(name) = name {
        validate_client_name(name)?;
        ctx.me().name = (!name.is_empty()).then(|| name.to_vec());
    }
    if let Some(v) = version {
        ctx.out.set_resp3(v == 3);
    }
    let proto = if ctx.out.is_resp3() { 3 } else { 2 };
    let id = ctx.me().id as i64;
    ctx.out.map_len(7);
    ctx.out.bulk(b"server");
    ctx.out.bulk(b"redis");
    ctx.out.bulk(b"version");
    ctx.out.bulk(REDIS_VERSION.as_bytes());
    ctx.out.bulk(b"proto");
    ctx.out.integer(proto);
    ctx.out.bulk(b"id");
    ctx.out.integer(id);
    ctx.out.bulk(b"mode");
    ctx.out.bulk(b"standalone");
    ctx.out.bulk(b"role");
    let role: &[u8] = if ctx.srv.master.is_replica() {
        b"replica"
    } else {
        b"master"
    };
    ctx.out.bulk(role);
    ctx.out.bulk(b"modules");
    ctx.out.empty_array();
    Ok(())
}

/// Redis accepts only printable ASCII without spaces in client names (`clientSetName`).
fn validate_client_name(name: &[u8]) -> CommandResult {
    if name.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        return Err(CommandError::Err(
            "Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok(())
}

/// CLIENT HELP — the subcommand summary, one status line each.
fn client_help_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    const LINES: &[&str] = &[
        "CACHING (YES|NO)",
        "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
        "GETREDIR",
        "    Return the client ID we are redirecting to when tracking is enabled.",
        "GETNAME",
        "    Return the name of the current connection.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are:",
        "    * ADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made from the specified address",
        "    * LADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made to specified local address",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Kill connections by type.",
        "    * USER <username>",
        "      Kill connections authenticated by <username>.",
        "    * SKIPME (YES|NO)",
        "      Skip killing current connection (default: yes).",
        "LIST [options ...]",
        "    Return information about client connections. Options:",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Return clients of specified type.",
        "UNPAUSE",
        "    Stop the current client pause, resuming traffic.",
        "PAUSE <timeout> [WRITE|ALL]",
        "    Suspend all, or just write, clients for <timeout> milliseconds.",
        "REPLY (ON|OFF|SKIP)",
        "    Control the replies sent to the current connection.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "SETINFO <LIB-NAME|LIB-VER> <value>",
        "    Set client meta attr. Options are:",
        "    * LIB-NAME: the client lib name.",
        "    * LIB-VER: the client lib version.",
        "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
        "         [OPTIN] [OPTOUT] [NOLOOP]",
        "    Control server assisted client side caching.",
        "TRACKINGINFO",
        "    Report tracking status for the current connection.",
        "NO-EVICT (ON|OFF)",
        "    Protect current client connection from eviction.",
        "NO-TOUCH (ON|OFF)",
        "    Will not touch LRU/LFU stats when this mode is on.",
    ];
    ctx.out.help("CLIENT", LINES);
    Ok(())
}

/// CLIENT ID — the connection's unique id.
fn client_id_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    let id = ctx.me().id as i64;
    ctx.out.integer(id);
    Ok(())
}

/// CLIENT SETNAME name — OK; an empty name removes the name.
fn client_setname_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    validate_client_name(argv[2])?;
    ctx.me().name = (!argv[2].is_empty()).then(|| argv[2].to_vec());
    ctx.out.ok();
    Ok(())
}

/// CLIENT GETNAME — the name, or null.
fn client_getname_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    match ctx.me().name.clone() {
        Some(name) => ctx.out.bulk(&name),
        None => ctx.out.null(),
    }
    Ok(())
}

/// CLIENT SETINFO LIB-NAME|LIB-VER value — OK. (A Redis 7.2 command; redis-py 5 and other
/// current clients send it on connect, so it is accepted.)
fn client_setinfo_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let (attr, value) = (argv[2], argv[3]);
    let is_name = args::is(attr, "LIB-NAME");
    if !is_name && !args::is(attr, "LIB-VER") {
        return Err(CommandError::err(format!(
            "Unrecognized option '{}'",
            args::text(attr)
        )));
    }
    if value.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        return Err(CommandError::err(format!(
            "{} cannot contain spaces, newlines or special characters.",
            args::text(attr)
        )));
    }
    let value = (!value.is_empty()).then(|| value.to_vec());
    let me = ctx.me();
    if is_name {
        me.lib_name = value;
    } else {
        me.lib_ver = value;
    }
    ctx.out.ok();
    Ok(())
}

/// CLIENT REPLY ON|OFF|SKIP — OK for ON; OFF and SKIP get no reply. The dispatcher drops
/// suppressed replies after each command (`Client::take_reply_suppression`).
fn client_reply_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let mode = if args::is(argv[2], "ON") {
        ReplyMode::On
    } else if args::is(argv[2], "OFF") {
        ReplyMode::Off
    } else if args::is(argv[2], "SKIP") {
        ReplyMode::SkipNext
    } else {
        return Err(CommandError::Syntax);
    };
    // SKIP while replies are OFF changes nothing, as in Redis.
    let me = ctx.me();
    if !(mode == ReplyMode::SkipNext && me.reply_mode == ReplyMode::Off) {
        me.reply_mode = mode;
    }
    if mode == ReplyMode::On {
        ctx.out.ok();
    }
    Ok(())
}

/// `ON` / `OFF` argument of CLIENT NO-EVICT and NO-TOUCH.
fn on_off(arg: &[u8]) -> Result<bool, CommandError> {
    if args::is(arg, "ON") {
        Ok(true)
    } else if args::is(arg, "OFF") {
        Ok(false)
    } else {
        Err(CommandError::Syntax)
    }
}

/// CLIENT NO-EVICT ON|OFF — OK. (ferrodis has no client eviction yet; the flag is kept and
/// shown as `e` in CLIENT LIST.)
fn client_no_evict_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let on = on_off(argv[2])?;
    ctx.me().no_evict = on;
    ctx.out.ok();
    Ok(())
}

/// CLIENT NO-TOUCH ON|OFF — OK; while on, reads do not update keys' LRU clocks (Redis 7.2).
fn client_no_touch_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let on = on_off(argv[2])?;
    ctx.me().no_touch = on;
    ctx.out.ok();
    Ok(())
}

/// Client classes, as CLIENT LIST TYPE and CLIENT KILL TYPE name them. ferrodis has no
/// replication, so no client is ever a master or a replica.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ClientType {
    Normal,
    Master,
    Replica,
    PubSub,
}

fn client_type_by_name(arg: &[u8]) -> Result<ClientType, CommandError> {
    let lower = arg.to_ascii_lowercase();
    Ok(match lower.as_slice() {
        b"normal" => ClientType::Normal,
        b"master" => ClientType::Master,
        b"replica" | b"slave" => ClientType::Replica,
        b"pubsub" => ClientType::PubSub,
        _ => {
            return Err(CommandError::err(format!(
                "Unknown client type '{}'",
                args::text(arg)
            )))
        }
    })
}

fn client_type(c: &Client) -> ClientType {
    if c.is_master {
        ClientType::Master
    } else if c.replica.attached {
        ClientType::Replica
    } else if c.subscriptions.count() > 0 {
        ClientType::PubSub
    } else {
        ClientType::Normal
    }
}

/// One CLIENT LIST / CLIENT INFO line, with every field Redis 7.0 prints, in its order
/// (Redis: `catClientInfoString`). The caller's reply buffer is moved out of its record while
/// it runs, so its buffer figures come from `ctx.out`; `argv_mem` is the caller's arguments
/// and `my_cmd` the command it is running (Redis records it before running it).
pub(crate) fn client_info_line(
    ctx: &Ctx,
    key: usize,
    argv_mem: usize,
    my_cmd: &str,
    line: &mut String,
) {
    let Some(c) = ctx.clients.get(key) else {
        return;
    };
    let is_me = key == ctx.id;
    let reply = if is_me { &*ctx.out } else { &c.reply };
    let fd = {
        use std::os::fd::AsRawFd;
        c.socket.as_ref().map_or(-1, |s| s.as_raw_fd())
    };
    let name = c
        .name
        .as_deref()
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    let laddr = c.local_addr.map(|a| a.to_string()).unwrap_or_default();
    let multi = c.multi.queued_len().map_or(-1, |n| n as i64);
    let (qbuf, qbuf_free) = if is_me {
        c.query_buf_in_batch
    } else {
        let len = c.query_buf.len();
        (len, c.query_buf_accounted().saturating_sub(len))
    };
    let argv_mem = if is_me { argv_mem } else { 0 };
    // A replica's output is the part of the shared replication buffer it keeps alive.
    let shared = match (&ctx.srv.propagation.repl.backlog, c.replica.stream_offset) {
        (Some(backlog), Some(at)) if c.replica.attached => backlog.held_from(at),
        _ => 0,
    };
    let omem = reply.pending_len() + shared;
    let tot_mem = std::mem::size_of::<Client>()
        + shared
        + c.query_buf_accounted()
        + reply.capacity()
        + argv_mem
        + super::memory::client_state_memory(c);
    let events = if c.writable_registered { "rw" } else { "r" };
    let resp = if reply.is_resp3() { 3 } else { 2 };
    let user = ctx
        .srv
        .acl
        .users
        .get(c.user)
        .map(|u| String::from_utf8_lossy(&u.name))
        .unwrap_or_default();
    let redir = c.tracking.as_ref().map_or(-1, |t| t.redirect as i64);
    let _ = writeln!(
        line,
        "id={} addr={} laddr={laddr} fd={fd} name={name} age={} idle={} flags={} db={} \
         sub={} psub={} ssub={} multi={multi} qbuf={qbuf} qbuf-free={qbuf_free} \
         argv-mem={argv_mem} multi-mem=0 rbs={} rbp={} obl=0 oll=0 omem={omem} \
         tot-mem={tot_mem} events={events} cmd={} user={user} redir={redir} resp={resp}",
        c.id,
        c.addr,
        (ctx.now - c.created_at).max(0) / 1000,
        (ctx.now - c.last_interaction).max(0) / 1000,
        c.flags_string(),
        c.db,
        c.subscriptions.channel_count(),
        c.subscriptions.pattern_count(),
        c.subscriptions.shard_channel_count(),
        reply.capacity(),
        reply.capacity(),
        if is_me { my_cmd } else { c.last_command },
    );
}

/// Bytes taken by the caller's arguments (CLIENT LIST `argv-mem`).
fn argv_mem(argv: &[&[u8]]) -> usize {
    argv.iter().map(|a| a.len()).sum()
}

/// CLIENT INFO — the caller's CLIENT LIST line, as verbatim text.
fn client_info_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let mut text = String::new();
    client_info_line(ctx, ctx.id, argv_mem(argv), "client|info", &mut text);
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

/// CLIENT LIST [TYPE normal|master|replica|pubsub] [ID id [id ...]] — one line per client,
/// oldest first, as verbatim text.
fn client_list_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let mut only_type = None;
    let mut only_ids = None;
    if argv.len() == 4 && args::is(argv[2], "TYPE") {
        only_type = Some(client_type_by_name(argv[3])?);
    } else if argv.len() > 3 && args::is(argv[2], "ID") {
        let mut ids = Vec::new();
        for arg in &argv[3..] {
            // Any integer is accepted (ids start at 1, so 0 or -1 simply match nothing).
            match crate::util::parse_i64(arg) {
                Some(id) => ids.push(id),
                None => return Err(CommandError::Err("Invalid client ID")),
            }
        }
        only_ids = Some(ids);
    } else if argv.len() != 2 {
        return Err(CommandError::Syntax);
    }
    let mut keys: Vec<(u64, usize)> = ctx
        .clients
        .iter()
        .filter(|(_, c)| only_type.is_none_or(|t| client_type(c) == t))
        .filter(|(_, c)| {
            only_ids
                .as_ref()
                .is_none_or(|ids| ids.contains(&(c.id as i64)))
        })
        .map(|(key, c)| (c.id, key))
        .collect();
    keys.sort_unstable();
    let mem = argv_mem(argv);
    let mut text = String::new();
    for (_, key) in keys {
        client_info_line(ctx, key, mem, "client|list", &mut text);
    }
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

/// CLIENT KILL ip:port — OK, or `ERR No such client`.
/// CLIENT KILL [ID id] [TYPE type] [ADDR ip:port] [LADDR ip:port] [USER name] [SKIPME yes|no]
/// — the number of clients killed.
///
/// Other clients are flagged to close at the end of this loop turn (they run no further
/// commands meanwhile); the caller, if it kills itself, is closed after its reply is written.
fn client_kill_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let old_form = argv.len() == 3;
    let mut addr: Option<&[u8]> = None;
    let mut laddr: Option<&[u8]> = None;
    let mut id = None;
    let mut only_type = None;
    let mut skipme = !old_form;
    if old_form {
        addr = Some(argv[2]);
    } else {
        let mut i = 2;
        while i < argv.len() {
            let Some(&value) = argv.get(i + 1) else {
                return Err(CommandError::Syntax);
            };
            let option = argv[i];
            if args::is(option, "ID") {
                match crate::util::parse_i64(value) {
                    Some(n) if n >= 1 => id = Some(n as u64),
                    _ => return Err(CommandError::Err("client-id should be greater than 0")),
                }
            } else if args::is(option, "TYPE") {
                only_type = Some(client_type_by_name(value)?);
            } else if args::is(option, "ADDR") {
                addr = Some(value);
            } else if args::is(option, "LADDR") {
                laddr = Some(value);
            } else if args::is(option, "USER") {
                if value != b"default" {
                    return Err(CommandError::err(format!(
                        "No such user '{}'",
                        args::text(value)
                    )));
                }
            } else if args::is(option, "SKIPME") {
                if args::is(value, "YES") {
                    skipme = true;
                } else if args::is(value, "NO") {
                    skipme = false;
                } else {
                    return Err(CommandError::Syntax);
                }
            } else {
                return Err(CommandError::Syntax);
            }
            i += 2;
        }
    }
    let me = ctx.id;
    let victims: Vec<usize> = ctx
        .clients
        .iter()
        .filter(|(_, c)| addr.is_none_or(|a| c.addr.to_string().as_bytes() == a))
        .filter(|(_, c)| {
            laddr.is_none_or(|a| {
                c.local_addr
                    .map(|l| l.to_string())
                    .unwrap_or_default()
                    .as_bytes()
                    == a
            })
        })
        .filter(|(_, c)| only_type.is_none_or(|t| client_type(c) == t))
        .filter(|(_, c)| id.is_none_or(|id| c.id == id))
        .filter(|&(key, _)| !(skipme && key == me))
        .map(|(key, _)| key)
        .collect();
    let mut close_me = false;
    for &key in &victims {
        if key == me {
            close_me = true;
        } else if let Some(c) = ctx.clients.get_mut(key) {
            c.close_asap = true;
            // Queue it so before_sleep sees the flag and frees it this turn.
            let _ = ctx.reply_to(key);
        }
    }
    if old_form {
        if victims.is_empty() {
            return Err(CommandError::Err("No such client"));
        }
        ctx.out.ok();
    } else {
        ctx.out.integer(victims.len() as i64);
    }
    if close_me {
        ctx.me().close_after_reply = true;
    }
    Ok(())
}

/// The CLIENT UNBLOCK row (Redis: `networking.c`, `clientCommand`), using the registry of
/// [`blocked`].
const CLIENT_UNBLOCK: CommandSpec = CommandSpec::new(
    "client|unblock",
    client_unblock_command,
    -3,
    CLIENT_ADMIN_FLAGS,
    "connection",
)
.doc(
    "Unblock a client blocked in a blocking command from a different connection",
    "5.0.0",
);

/// CLIENT UNBLOCK client-id [TIMEOUT | ERROR] — 1 if the client was blocked and is now
/// unblocked, else 0. With TIMEOUT (the default) the client gets its timeout reply; with ERROR,
/// `-UNBLOCKED client unblocked via CLIENT UNBLOCK`.
fn client_unblock_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    if argv.len() > 4 {
        return Err(CommandError::Custom(
            "ERR unknown subcommand or wrong number of arguments for 'unblock'. Try CLIENT HELP."
                .to_string(),
        ));
    }
    let id = args::int(argv.get(2).copied().unwrap_or_default())?;
    let as_error = match argv.get(3) {
        None => false,
        Some(r) if args::is(r, "TIMEOUT") => false,
        Some(r) if args::is(r, "ERROR") => true,
        Some(_) => {
            return Err(CommandError::Err(
                "CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            ))
        }
    };
    let target = ctx
        .clients
        .iter()
        .find(|(_, c)| c.id as i64 == id && c.blocked.is_some())
        .map(|(key, _)| key);
    let Some(target) = target else {
        ctx.out.integer(0);
        return Ok(());
    };
    let (call, wait_offset) = match ctx.clients.get_mut(target).and_then(|c| c.blocked.as_mut()) {
        Some(b) => (
            b.call.take(),
            match &b.op {
                blocked::BlockedOp::Wait(w) => Some(w.offset),
                _ => None,
            },
        ),
        None => (None, None),
    };
    blocked::unblock_client(&mut ctx.srv.blocking, ctx.clients, target);
    let error = "UNBLOCKED client unblocked via CLIENT UNBLOCK";
    if as_error {
        super::count_error_reply(ctx.srv, error);
        super::replication::stop_waiting_for_acks(ctx, target);
        if let Some(reply) = ctx.reply_to(target) {
            reply.error(error);
        }
    } else if let Some(offset) = wait_offset {
        // WAIT's timeout reply: the replicas that acknowledged so far.
        super::replication::wait_timed_out(ctx, target, offset);
    } else if let Some(reply) = ctx.reply_to(target) {
        reply.null_array();
    }
    // Redis 7.0 counts the call as failed with either reply.
    if let Some(call) = call {
        super::update_stats_on_unblock(ctx, target, &call, 0, true);
    }
    ctx.out.integer(1);
    Ok(())
}
