//! The ACL command, the users registry, the ACL log and the permission check that
//! `process_command` calls (Redis 7.0: `acl.c` — `aclCommand`, `ACLCheckAllPerm`,
//! `addACLLogEntry`, `ACLLoadFromFile` / `ACLSaveToFile`, `ACLFreeUserAndKillClients`).
//!
//! ```text
//!  AclState.users: Slab<User>   slot 0 is `default`, for the life of the server
//!          by_name: name -> slot (sorted, as Redis's rax: ACL LIST / USERS order)
//!  Client.user = slot, Client.acl_unrestricted = users[slot].unrestricted (cached)
//!
//!  process_command ── acl_unrestricted? ── yes ──> go on      (the default user: one test)
//!                              └─ no ──> check_command(): User::check over its selectors
//!                                         denied ──> ACL LOG entry, -NOPERM ...
//! ```
//!
//! A client's cached flag is refreshed whenever its user changes ([`refresh_clients`]).
//! Deleting a user (ACL DELUSER, ACL LOAD) disconnects its clients; ACL SETUSER keeps them,
//! except subscribers whose channels it revokes, as Redis 7.0 does.

pub mod user;

use super::args;
use super::error::{CommandError, CommandResult};
use super::keyspec::key_flags;
use super::state::ServerState;
use super::table::{flags::*, CommandSpec, ACL_CATEGORIES};
use super::Ctx;
use crate::db::Ms;
use slab::Slab;
use std::collections::{BTreeMap, VecDeque};
use user::{Denial, Request, User};

pub const COMMANDS: &[CommandSpec] =
    &[
        CommandSpec::new("acl", super::connection::container_command, -2, 0, "server")
            .subs(SUBCOMMANDS)
            .doc("A container for Access List Control commands ", "6.0.0"),
    ];

const ACL_FLAGS: u32 = ADMIN | NOSCRIPT | LOADING | STALE;

const SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "acl|cat",
        acl_cat_command,
        -2,
        NOSCRIPT | LOADING | STALE,
        "server",
    )
    .doc(
        "List the ACL categories or the commands inside a category",
        "6.0.0",
    ),
    CommandSpec::new("acl|deluser", acl_deluser_command, -3, ACL_FLAGS, "server")
        .acl(&["@dangerous"])
        .doc(
            "Remove the specified ACL users and the associated rules",
            "6.0.0",
        ),
    CommandSpec::new("acl|dryrun", acl_dryrun_command, -4, ACL_FLAGS, "server")
        .acl(&["@dangerous"])
        .doc(
            "Returns whether the user can execute the given command without executing the command.",
            "7.0.0",
        ),
    CommandSpec::new(
        "acl|genpass",
        acl_genpass_command,
        -2,
        NOSCRIPT | LOADING | STALE,
        "server",
    )
    .doc(
        "Generate a pseudorandom secure password to use for ACL users",
        "6.0.0",
    ),
    CommandSpec::new("acl|getuser", acl_getuser_command, 3, ACL_FLAGS, "server")
        .acl(&["@dangerous"])
        .doc("Get the rules for a specific ACL user", "6.0.0"),
    CommandSpec::new("acl|help", acl_help_command, 2, LOADING | STALE, "server")
        .doc("Show helpful text about the different subcommands", "6.0.0"),
    CommandSpec::new("acl|list", acl_list_command, 2, ACL_FLAGS, "server")
        .acl(&["@dangerous"])
        .doc(
            "List the current ACL rules in ACL config file format",
            "6.0.0",
        ),
    CommandSpec::new("acl|load", acl_load_command, 2, ACL_FLAGS, "server")
        .acl(&["@dangerous"])
        .doc("Reload the ACLs from the configured ACL file", "6.0.0"),
    CommandSpec::new("acl|log", acl_log_command, -2, ACL_FLAGS, "server")
        .acl(&["@dangerous"])
        .doc(
            "List latest events denied because of ACLs in place",
            "6.0.0",
        ),
    CommandSpec::new("acl|save", acl_save_command, 2, ACL_FLAGS, "server")
        .acl(&["@dangerous"])
        .doc(
            "Save the current ACL rules in the configured ACL file",
            "6.0.0",
        ),
    CommandSpec::new("acl|setuser", acl_setuser_command, -3, ACL_FLAGS, "server")
        .acl(&["@dangerous"])
        .doc(
            "Modify or create the rules for a specific ACL user",
            "6.0.0",
        ),
    CommandSpec::new("acl|users", acl_users_command, 2, ACL_FLAGS, "server")
        .acl(&["@dangerous"])
        .doc("List the username of all the configured ACL rules", "6.0.0"),
    CommandSpec::new(
        "acl|whoami",
        acl_whoami_command,
        2,
        NOSCRIPT | LOADING | STALE,
        "server",
    )
    .doc(
        "Return the name of the user associated to the current connection",
        "6.0.0",
    ),
];

/// The slot of the `default` user.
pub const DEFAULT_USER: usize = 0;

/// Log entries closer in time than this are merged (Redis: `ACL_LOG_GROUPING_MAX_TIME_DELTA`).
const LOG_GROUPING_MS: Ms = 60_000;

/// One ACL LOG entry (Redis: `ACLLogEntry`).
pub struct LogEntry {
    count: u64,
    reason: Denial,
    context: &'static str,
    object: Vec<u8>,
    username: Vec<u8>,
    /// Last time it happened (Unix ms).
    ctime: Ms,
    client_info: String,
}

/// Users and the security log.
pub struct AclState {
    pub users: Slab<User>,
    by_name: BTreeMap<Vec<u8>, usize>,
    log: VecDeque<LogEntry>,
}

impl AclState {
    /// Only the default user, `on nopass ~* &* +@all`.
    pub fn new(table: &super::table::CommandTable) -> AclState {
        let mut users = Slab::new();
        let slot = users.insert(User::new_default(table));
        debug_assert_eq!(slot, DEFAULT_USER);
        let mut by_name = BTreeMap::new();
        by_name.insert(b"default".to_vec(), DEFAULT_USER);
        AclState {
            users,
            by_name,
            log: VecDeque::new(),
        }
    }

    pub fn user_slot(&self, name: &[u8]) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    pub fn default_user(&self) -> &User {
        &self.users[DEFAULT_USER]
    }

    /// Do new connections start authenticated (the default user is on and `nopass`)?
    pub fn default_authenticates(&self) -> bool {
        let d = self.default_user();
        d.enabled && d.nopass
    }

    /// `requirepass`: the default user's only password, or `nopass` when empty (Redis:
    /// `ACLUpdateDefaultUserPassword`).
    pub fn set_default_password(
        &mut self,
        table: &super::table::CommandTable,
        password: Option<&[u8]>,
    ) {
        let user = &mut self.users[DEFAULT_USER];
        let _ = user.apply(table, b"resetpass", false);
        let rule = match password {
            Some(p) => [b">".as_slice(), p].concat(),
            None => b"nopass".to_vec(),
        };
        let _ = user.apply(table, &rule, false);
    }

    /// Every user replaced by `users`; the default user keeps its slot and takes the rules of
    /// the `default` in `users`, or the initial ones. The log is kept.
    fn replace_users(&mut self, table: &super::table::CommandTable, users: Vec<User>) {
        let log = std::mem::take(&mut self.log);
        *self = AclState::new(table);
        self.log = log;
        for user in users {
            self.insert(user);
        }
    }

    fn insert(&mut self, user: User) -> usize {
        let name = user.name.clone();
        match self.by_name.get(&name) {
            Some(&slot) => {
                self.users[slot] = user;
                slot
            }
            None => {
                let slot = self.users.insert(user);
                self.by_name.insert(name, slot);
                slot
            }
        }
    }
}

/// Where a denial happened (ACL LOG's `context`).
#[derive(Clone, Copy)]
pub enum LogContext {
    Toplevel,
    Multi,
    Lua,
}

impl LogContext {
    fn name(self) -> &'static str {
        match self {
            LogContext::Toplevel => "toplevel",
            LogContext::Multi => "multi",
            LogContext::Lua => "lua",
        }
    }
}

/// Checks the caller's permission to run `spec` with `argv` (Redis: `ACLCheckAllPerm`). On a
/// denial the ACL LOG gets its entry and the denial is returned with the argument it concerns.
/// Only called for clients whose user is not unrestricted.
pub fn check_command(
    ctx: &mut Ctx,
    spec: &'static CommandSpec,
    argv: &[&[u8]],
    context: LogContext,
) -> Result<(), Denial> {
    let Some(me) = ctx.clients.get(ctx.id) else {
        return Ok(());
    };
    let slot = me.user;
    let Some(id) = ctx.srv.commands.acl_id(spec) else {
        return Ok(());
    };
    let parent = ctx.srv.commands.acl_commands()[id].parent.is_some();
    let request = Request {
        spec,
        id,
        parent,
        argv,
    };
    let result = match ctx.srv.acl.users.get(slot) {
        Some(user) => user.check(&request),
        None => Err((Denial::Command, 0)),
    };
    match result {
        Ok(()) => Ok(()),
        Err((denial, pos)) => {
            let object = match denial {
                Denial::Command => spec.name.as_bytes().to_vec(),
                _ => argv.get(pos).copied().unwrap_or_default().to_vec(),
            };
            add_log_entry(ctx, denial, context, object, None, spec.name, argv);
            Err(denial)
        }
    }
}

/// May the caller run the command `argv` (`redis.acl_check_cmd`)? Nothing is logged. An
/// unknown command is not allowed.
pub fn caller_may_run(ctx: &Ctx, argv: &[Vec<u8>]) -> bool {
    let argv: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
    caller_check(ctx, &argv, |user, request| user.check(request).is_ok())
}

/// Runs `check` on the caller's user and the request `argv` (subcommand resolved); true for an
/// unrestricted caller or when no client calls, false for an unknown command.
fn caller_check(ctx: &Ctx, argv: &[&[u8]], check: impl Fn(&User, &Request) -> bool) -> bool {
    let Some(me) = ctx.clients.get(ctx.id) else {
        return true;
    };
    if me.acl_unrestricted {
        return true;
    }
    let table = &ctx.srv.commands;
    let Some(spec) = argv.first().and_then(|name| table.lookup(name)) else {
        return false;
    };
    let spec = match (spec.subcommands.is_empty(), argv.get(1)) {
        (false, Some(sub)) => match super::table::lookup_subcommand(spec, sub) {
            Some(sub) => sub,
            None => return false,
        },
        _ => spec,
    };
    let Some(id) = table.acl_id(spec) else {
        return false;
    };
    let request = Request {
        spec,
        id,
        parent: table.acl_commands()[id].parent.is_some(),
        argv,
    };
    ctx.srv
        .acl
        .users
        .get(me.user)
        .is_some_and(|u| check(u, &request))
}

/// May the caller run this command *and* read any key (`allkeys`, `~*` or `%R~*` in a selector
/// that allows the command)? SORT's BY and GET patterns name keys nobody can check in advance
/// (Redis: `ACLUserCheckCmdWithUnrestrictedKeyAccess`).
pub fn caller_may_read_every_key(ctx: &Ctx, argv: &[&[u8]]) -> bool {
    caller_check(ctx, argv, |user, request| {
        user.check_with_unrestricted_key_access(request, key_flags::ACCESS)
    })
}

/// The `-NOPERM` text of a command refused at the top level or inside MULTI (Redis:
/// `processCommand`).
pub fn noperm_message(denial: Denial, spec: &CommandSpec) -> String {
    match denial {
        Denial::Command => format!(
            "NOPERM this user has no permissions to run the '{}' command",
            spec.name
        ),
        Denial::Key => {
            "NOPERM this user has no permissions to access one of the keys used as arguments"
                .to_string()
        }
        _ => "NOPERM this user has no permissions to access one of the channels used as \
              arguments"
            .to_string(),
    }
}

/// The text of a queued command refused at EXEC because the rules changed (Redis:
/// `execCommand`).
pub fn exec_noperm_message(denial: Denial) -> String {
    let reason = match denial {
        Denial::Command => "no permission to execute the command or subcommand",
        Denial::Key => "no permission to touch the specified keys",
        _ => "no permission to access one of the channels used as arguments",
    };
    format!(
        "NOPERM ACLs rules changed between the moment the transaction was accumulated and the \
         EXEC call. This command is no longer allowed for the following reason: {reason}"
    )
}

/// The error a script gets from `redis.call` (Redis: `scriptVerifyACL`).
pub fn script_noperm_message(denial: Denial) -> &'static str {
    match denial {
        Denial::Command => "The user executing the script can't run this command or subcommand",
        Denial::Key => {
            "The user executing the script can't access at least one of the keys mentioned in \
             the command arguments"
        }
        _ => "The user executing the script can't publish to the channel mentioned in the command",
    }
}

/// Adds (or merges into a recent similar one) an ACL LOG entry (Redis: `addACLLogEntry`).
/// `username` is the caller's user unless given (a failed AUTH names the user tried).
fn add_log_entry(
    ctx: &mut Ctx,
    reason: Denial,
    context: LogContext,
    object: Vec<u8>,
    username: Option<Vec<u8>>,
    running: &str,
    argv: &[&[u8]],
) {
    let username = username.unwrap_or_else(|| {
        let slot = ctx.clients.get(ctx.id).map_or(DEFAULT_USER, |c| c.user);
        ctx.srv
            .acl
            .users
            .get(slot)
            .map(|u| u.name.clone())
            .unwrap_or_default()
    });
    let mut client_info = String::new();
    let argv_mem = argv.iter().map(|a| a.len()).sum();
    super::connection::client_info_line(ctx, ctx.id, argv_mem, running, &mut client_info);
    let client_info = client_info.trim_end().to_string();
    let entry = LogEntry {
        count: 1,
        reason,
        context: context.name(),
        object,
        username,
        ctime: ctx.now,
        client_info,
    };
    let log = &mut ctx.srv.acl.log;
    let similar = log.iter().take(10).position(|e| {
        e.reason == entry.reason
            && e.context == entry.context
            && (e.ctime - entry.ctime).abs() <= LOG_GROUPING_MS
            && e.object == entry.object
            && e.username == entry.username
    });
    if let Some(at) = similar {
        if let Some(mut existing) = log.remove(at) {
            existing.client_info = entry.client_info;
            existing.ctime = entry.ctime;
            existing.count += 1;
            log.push_front(existing);
        }
        return;
    }
    log.push_front(entry);
    let max = ctx.srv.config.acllog_max_len as usize;
    log.truncate(max);
}

/// Authenticates the caller as `username` (AUTH, HELLO ... AUTH). A failure is logged and
/// answered with Redis's `WRONGPASS` (Redis: `ACLAuthenticateUser`).
pub fn authenticate(
    ctx: &mut Ctx,
    username: &[u8],
    password: &[u8],
    argv: &[&[u8]],
) -> CommandResult {
    let slot = ctx
        .srv
        .acl
        .user_slot(username)
        .filter(|&slot| ctx.srv.acl.users[slot].check_password(password));
    match slot {
        Some(slot) => {
            let unrestricted = ctx.srv.acl.users[slot].unrestricted;
            let me = ctx.me();
            me.user = slot;
            me.authenticated = true;
            me.acl_unrestricted = unrestricted;
            Ok(())
        }
        None => {
            let context = if ctx.me().multi.active {
                LogContext::Multi
            } else {
                LogContext::Toplevel
            };
            let object = argv[0].to_vec();
            let running = args::text(argv[0]).to_lowercase();
            add_log_entry(
                ctx,
                Denial::Auth,
                context,
                object,
                Some(username.to_vec()),
                &running,
                argv,
            );
            Err(CommandError::Custom(
                "WRONGPASS invalid username-password pair or user is disabled.".into(),
            ))
        }
    }
}

/// After users changed: every client's cached `acl_unrestricted` is brought up to date, and
/// if the default user now lets everyone in, every connection is authenticated.
pub fn refresh_clients(ctx: &mut Ctx) {
    let open = ctx.srv.acl.default_authenticates();
    for (_, c) in ctx.clients.iter_mut() {
        c.acl_unrestricted = ctx
            .srv
            .acl
            .users
            .get(c.user)
            .is_some_and(|u| u.unrestricted);
        if open && c.user == DEFAULT_USER {
            c.authenticated = true;
        }
    }
}

/// Disconnects every client authenticated as `slot` (they are put back on the default user,
/// unauthenticated, first) (Redis: `ACLFreeUserAndKillClients`).
fn kill_clients_of(ctx: &mut Ctx, slot: usize) {
    let mut victims = Vec::new();
    for (key, c) in ctx.clients.iter_mut() {
        if c.user == slot {
            c.user = DEFAULT_USER;
            c.authenticated = false;
            c.acl_unrestricted = false;
            victims.push(key);
        }
    }
    disconnect(ctx, &victims);
}

/// Closes clients: the caller once its reply is written, the others in this turn's
/// `before_sleep`, before anyone else's command sees them.
fn disconnect(ctx: &mut Ctx, victims: &[usize]) {
    for &key in victims {
        if key == ctx.id {
            ctx.me().close_after_reply = true;
        } else if let Some(c) = ctx.clients.get_mut(key) {
            c.close_asap = true;
            // Queued for writing, so that before_sleep sees the flag and frees it.
            let _ = ctx.reply_to(key);
        }
    }
}

/// Subscribers of a changed user that now hold a channel or pattern the new rules do not
/// allow are disconnected (Redis: `ACLKillPubsubClientsIfNeeded`).
fn kill_pubsub_clients_if_needed(ctx: &mut Ctx, slot: usize, new: &User) {
    if new.selectors.iter().any(|s| s.all_channels) {
        return;
    }
    let Some(original) = ctx.srv.acl.users.get(slot) else {
        return;
    };
    let upcoming: Vec<Vec<u8>> = new
        .selectors
        .iter()
        .flat_map(|s| s.channels.iter().cloned())
        .collect();
    let kept = original
        .selectors
        .iter()
        .all(|s| !s.all_channels && s.channels.iter().all(|c| upcoming.contains(c)));
    if kept {
        return;
    }
    let mut only = user::Selector::new(false);
    only.channels = upcoming;
    let victims: Vec<usize> = ctx
        .clients
        .iter()
        .filter(|(_, c)| c.user == slot && c.subscriptions.count() > 0)
        .filter(|(_, c)| {
            c.subscriptions
                .patterns()
                .any(|p| !only.allows_channel(p, true))
                || c.subscriptions
                    .channels()
                    .any(|ch| !only.allows_channel(ch, false))
        })
        .map(|(key, _)| key)
        .collect();
    disconnect(ctx, &victims);
}

/// Applies `rules` to a copy of user `name` (or a new user) and returns it, or Redis's error
/// text (Redis: `ACLStringSetUser`).
fn user_with_rules(ctx: &Ctx, name: &[u8], rules: &[&[u8]]) -> Result<User, String> {
    let merged = user::merge_selector_arguments(rules).map_err(|i| {
        format!(
            "Unmatched parenthesis in acl selector starting at '{}'.",
            args::text(rules[i])
        )
    })?;
    let all_channels = ctx.srv.config.acl_pubsub_default_allchannels;
    let mut user = match ctx.srv.acl.user_slot(name) {
        Some(slot) => ctx.srv.acl.users[slot].clone(),
        None => User::new(name, all_channels),
    };
    for rule in &merged {
        user.apply(&ctx.srv.commands, rule, all_channels)
            .map_err(|e| {
                format!(
                    "Error in ACL SETUSER modifier '{}': {}",
                    args::text(rule),
                    e.message()
                )
            })?;
    }
    Ok(user)
}

/// ACL SETUSER username [rule ...] — OK; creates or changes a user, all rules or none.
fn acl_setuser_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    for i in 2..argv.len() {
        ctx.redact_argument(i);
    }
    let name = argv[2];
    if user::has_spaces(name) {
        return Err(CommandError::Err(
            "Usernames can't contain spaces or null characters",
        ));
    }
    let new = user_with_rules(ctx, name, &argv[3..]).map_err(CommandError::err)?;
    if let Some(slot) = ctx.srv.acl.user_slot(name) {
        kill_pubsub_clients_if_needed(ctx, slot, &new);
    }
    ctx.srv.acl.insert(new);
    refresh_clients(ctx);
    ctx.out.ok();
    Ok(())
}

/// ACL DELUSER username [username ...] — the number of users deleted; their clients are
/// disconnected.
fn acl_deluser_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    if argv[2..].iter().any(|&name| name == b"default") {
        return Err(CommandError::Err("The 'default' user cannot be removed"));
    }
    let mut deleted = 0;
    for name in &argv[2..] {
        if let Some(slot) = ctx.srv.acl.by_name.remove(*name) {
            ctx.srv.acl.users.remove(slot);
            kill_clients_of(ctx, slot);
            deleted += 1;
        }
    }
    ctx.out.integer(deleted);
    Ok(())
}

/// ACL GETUSER username — a map: flags, passwords, commands, keys, channels, selectors; a
/// null for an unknown user.
fn acl_getuser_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let Some(slot) = ctx.srv.acl.user_slot(argv[2]) else {
        ctx.out.null();
        return Ok(());
    };
    let user = &ctx.srv.acl.users[slot];
    let table = &ctx.srv.commands;
    let out = &mut *ctx.out;
    out.map_len(6);
    out.bulk_str("flags");
    let flags = user.flag_names();
    out.set_len(flags.len());
    for flag in flags {
        out.bulk_str(flag);
    }
    out.bulk_str("passwords");
    out.array_len(user.passwords.len());
    for p in &user.passwords {
        out.bulk_str(p);
    }
    let describe = |out: &mut crate::resp::reply::ReplyBuffer, s: &user::Selector| {
        out.bulk_str("commands");
        out.bulk_str(&s.describe_commands(table));
        out.bulk_str("keys");
        out.bulk(&s.describe_keys());
        out.bulk_str("channels");
        out.bulk(&s.describe_channels());
    };
    describe(out, &user.selectors[0]);
    out.bulk_str("selectors");
    out.array_len(user.selectors.len() - 1);
    for s in &user.selectors[1..] {
        out.map_len(3);
        describe(out, s);
    }
    Ok(())
}

/// `user <name> <rules>` lines, in name order: ACL LIST and the ACL file.
pub fn user_lines(ctx: &Ctx) -> Vec<Vec<u8>> {
    ctx.srv
        .acl
        .by_name
        .values()
        .map(|&slot| {
            let user = &ctx.srv.acl.users[slot];
            let mut line = b"user ".to_vec();
            line.extend_from_slice(&user.name);
            line.push(b' ');
            line.extend_from_slice(&user.describe(&ctx.srv.commands));
            line
        })
        .collect()
}

/// ACL LIST — each user as a config line.
fn acl_list_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    let lines = user_lines(ctx);
    ctx.out.array_len(lines.len());
    for line in lines {
        ctx.out.bulk(&line);
    }
    Ok(())
}

/// ACL USERS — the usernames, sorted.
fn acl_users_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    ctx.out.array_len(ctx.srv.acl.by_name.len());
    for name in ctx.srv.acl.by_name.keys() {
        ctx.out.bulk(name);
    }
    Ok(())
}

/// ACL WHOAMI — the caller's username.
fn acl_whoami_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    let slot = ctx.me().user;
    match ctx.srv.acl.users.get(slot) {
        Some(user) => ctx.out.bulk(&user.name),
        None => ctx.out.null(),
    }
    Ok(())
}

const NO_ACL_FILE: &str = "This Redis instance is not configured to use an ACL file. You may want \
    to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you \
    have a Redis configuration file set) in order to store users in the Redis configuration.";

/// ACL LOAD — OK once the ACL file replaced every user; nothing changes if any line is bad.
fn acl_load_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    let path = ctx.srv.config.aclfile.clone();
    if path.is_empty() {
        return Err(CommandError::Err(NO_ACL_FILE));
    }
    let users = load_acl_file(ctx.srv, &path).map_err(CommandError::err)?;
    install_users(ctx, users);
    ctx.out.ok();
    Ok(())
}

/// Replaces every user with `users` (ACL LOAD, startup): the default user keeps its slot
/// (taking the new rules, or the initial ones if the file has none), every other old user's
/// clients are disconnected.
pub fn install_users(ctx: &mut Ctx, users: Vec<User>) {
    let old: Vec<usize> = ctx
        .srv
        .acl
        .users
        .iter()
        .map(|(slot, _)| slot)
        .filter(|&slot| slot != DEFAULT_USER)
        .collect();
    for slot in old {
        kill_clients_of(ctx, slot);
    }
    ctx.srv.acl.replace_users(&ctx.srv.commands, users);
    refresh_clients(ctx);
}

/// Builds the users of the `user` directives, or of `aclfile`, before the server serves
/// (Redis: `ACLLoadUsersAtStartup`). The error is the reason to refuse to start.
pub fn load_users_at_startup(srv: &mut ServerState) -> Result<(), String> {
    let lines = std::mem::take(&mut srv.config.users);
    if !srv.config.aclfile.is_empty() && !lines.is_empty() {
        return Err(
            "Configuring Redis with users defined in redis.conf and at the same setting \
                    an ACL file path is invalid. This setup is very likely to lead to \
                    configuration errors and security holes, please define either an ACL file \
                    or declare users directly in your redis.conf, but not both."
                .into(),
        );
    }
    if !lines.is_empty() {
        let mut users = users_from_config(srv, &lines)?;
        if !users.iter().any(|u| u.name == b"default") {
            users.push(srv.acl.default_user().clone());
        }
        srv.acl.replace_users(&srv.commands, users);
    }
    if !srv.config.aclfile.is_empty() {
        let path = srv.config.aclfile.clone();
        let users = load_acl_file(srv, &path)
            .map_err(|e| format!("Aborting Redis startup because of ACL errors: {e}"))?;
        srv.acl.replace_users(&srv.commands, users);
    }
    Ok(())
}

/// Reads an ACL file (Redis: `ACLLoadFromFile`): `user <name> <rules>` lines, blank lines
/// allowed. All errors are collected in one line, and nothing is returned if there is any.
pub fn load_acl_file(srv: &ServerState, path: &str) -> Result<Vec<User>, String> {
    let text = std::fs::read(path).map_err(|e| {
        format!(
            "Error loading ACLs, opening file '{path}': {}",
            crate::config::io_reason(&e)
        )
    })?;
    let all_channels = srv.config.acl_pubsub_default_allchannels;
    let table = &srv.commands;
    let mut errors = String::new();
    let mut users: Vec<User> = Vec::new();
    for (n, line) in text.split(|&b| b == b'\n').enumerate() {
        let linenum = n + 1;
        let line = trim(line, b" \t\r\n");
        if line.is_empty() {
            continue;
        }
        let words: Vec<&[u8]> = line
            .split(|&b| b == b' ')
            .filter(|w| !w.is_empty())
            .collect();
        if words.is_empty() {
            continue;
        }
        if words[0] != b"user" || words.len() < 2 {
            errors.push_str(&format!(
                "{path}:{linenum} should start with user keyword followed by the username. "
            ));
            continue;
        }
        let name = words[1];
        if users.iter().any(|u| u.name == name) {
            errors.push_str(&format!(
                "WARNING: Duplicate user '{}' found on line {linenum}. ",
                args::text(name)
            ));
            continue;
        }
        let mut user = User::new(name, all_channels);
        let merged = match user::merge_selector_arguments(&words[2..]) {
            Ok(merged) => merged,
            Err(_) => {
                errors.push_str(&format!(
                    "{path}:{linenum}: Unmatched parenthesis in selector definition."
                ));
                Vec::new()
            }
        };
        let mut syntax_error = false;
        for rule in &merged {
            let rule = trim(rule, b"\t\r\n");
            if let Err(e) = user.apply(table, rule, all_channels) {
                if e == user::RuleError::UnknownCommand {
                    errors.push_str(&format!(
                        "{path}:{linenum}: Error in applying operation '{}': {}. ",
                        args::text(rule),
                        e.message()
                    ));
                } else if !syntax_error {
                    errors.push_str(&format!("{path}:{linenum}: {}. ", e.message()));
                    syntax_error = true;
                }
            }
        }
        users.push(user);
    }
    if errors.is_empty() {
        Ok(users)
    } else {
        errors.push_str(
            "WARNING: ACL errors detected, no change to the previously active ACL rules was \
             performed",
        );
        Err(errors)
    }
}

fn trim<'a>(s: &'a [u8], chars: &[u8]) -> &'a [u8] {
    let start = s.iter().position(|b| !chars.contains(b)).unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !chars.contains(b))
        .map_or(start, |e| e + 1);
    &s[start..end.max(start)]
}

/// ACL SAVE — OK once every user is written to the ACL file (through a temporary file renamed
/// over it).
fn acl_save_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    let path = ctx.srv.config.aclfile.clone();
    if path.is_empty() {
        return Err(CommandError::Err(NO_ACL_FILE));
    }
    let mut text = Vec::new();
    for line in user_lines(ctx) {
        text.extend_from_slice(&line);
        text.push(b'\n');
    }
    let tmp = format!("{path}.tmp-{}-{}", std::process::id(), ctx.now);
    let written = std::fs::write(&tmp, &text).and_then(|_| std::fs::rename(&tmp, &path));
    if let Err(e) = written {
        log::warn!("Writing ACL file for ACL SAVE: {e}");
        let _ = std::fs::remove_file(&tmp);
        return Err(CommandError::Err(
            "There was an error trying to save the ACLs. Please check the server logs for more \
             information",
        ));
    }
    ctx.out.ok();
    Ok(())
}

/// ACL CAT [category] — the categories, or the commands and subcommands of one.
fn acl_cat_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let Some(&category) = argv.get(2) else {
        ctx.out.array_len(ACL_CATEGORIES.len());
        for cat in ACL_CATEGORIES {
            ctx.out.bulk_str(cat);
        }
        return Ok(());
    };
    if argv.len() > 3 {
        return Err(subcommand_syntax_error(argv));
    }
    let Some(bit) = ACL_CATEGORIES
        .iter()
        .position(|c| c.as_bytes().eq_ignore_ascii_case(category))
    else {
        let shown = &category[..category.len().min(128)];
        return Err(CommandError::err(format!(
            "Unknown category '{}'",
            args::text(shown)
        )));
    };
    let names: Vec<&str> = ctx
        .srv
        .commands
        .acl_commands()
        .iter()
        .filter(|c| c.categories & (1 << bit) != 0)
        .map(|c| c.spec.name)
        .collect();
    ctx.out.array_len(names.len());
    for name in names {
        ctx.out.bulk_str(name);
    }
    Ok(())
}

/// Redis's answer to a subcommand given too many arguments (`addReplySubcommandSyntaxError`).
fn subcommand_syntax_error(argv: &[&[u8]]) -> CommandError {
    let sub = &argv[1][..argv[1].len().min(128)];
    CommandError::err(format!(
        "unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
        args::text(sub),
        args::text(argv[0]).to_uppercase()
    ))
}

/// ACL GENPASS [bits] — a random password of `bits` (default 256) bits, in hex.
fn acl_genpass_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    const MAX_BITS: i64 = 4096;
    if argv.len() > 3 {
        return Err(subcommand_syntax_error(argv));
    }
    let bits = match argv.get(2) {
        Some(arg) => args::int(arg)?,
        None => 256,
    };
    if bits <= 0 || bits > MAX_BITS {
        return Err(CommandError::err(format!(
            "ACL GENPASS argument must be the number of bits for the output password, a positive \
             number up to {MAX_BITS}"
        )));
    }
    let chars = (bits as usize).div_ceil(4);
    let mut bytes = vec![0u8; chars.div_ceil(2)];
    // From the operating system's generator: these are passwords.
    use rand::TryRngCore;
    if rand::rngs::OsRng.try_fill_bytes(&mut bytes).is_err() {
        return Err(CommandError::Err("Failed to generate random bytes"));
    }
    let mut hex = String::with_capacity(chars + 1);
    for b in bytes {
        hex.push_str(&format!("{b:02x}"));
    }
    hex.truncate(chars);
    ctx.out.bulk_str(&hex);
    Ok(())
}

/// ACL LOG [count | RESET] — the latest denials, newest first (10 by default), or OK after
/// clearing them.
fn acl_log_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    if argv.len() > 3 {
        return Err(subcommand_syntax_error(argv));
    }
    let mut count = 10;
    if let Some(&arg) = argv.get(2) {
        if args::is(arg, "RESET") {
            ctx.srv.acl.log.clear();
            ctx.out.ok();
            return Ok(());
        }
        count = args::int(arg)?.max(0);
    }
    let count = (count as usize).min(ctx.srv.acl.log.len());
    let now = ctx.now;
    let out = &mut *ctx.out;
    out.array_len(count);
    for e in ctx.srv.acl.log.iter().take(count) {
        out.map_len(7);
        out.bulk_str("count");
        out.integer(e.count as i64);
        out.bulk_str("reason");
        out.bulk_str(e.reason.reason());
        out.bulk_str("context");
        out.bulk_str(e.context);
        out.bulk_str("object");
        out.bulk(&e.object);
        out.bulk_str("username");
        out.bulk(&e.username);
        out.bulk_str("age-seconds");
        out.double((now - e.ctime) as f64 / 1000.0);
        out.bulk_str("client-info");
        out.bulk_str(&e.client_info);
    }
    Ok(())
}

/// ACL DRYRUN username command [arg ...] — OK if the user may run the command, else a bulk
/// string saying why not. Nothing runs and nothing is logged.
fn acl_dryrun_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let Some(slot) = ctx.srv.acl.user_slot(argv[2]) else {
        return Err(CommandError::err(format!(
            "User '{}' not found",
            args::text(argv[2])
        )));
    };
    let cmd_argv = &argv[3..];
    let spec = ctx.srv.commands.lookup(cmd_argv[0]).and_then(|spec| {
        match (spec.subcommands.is_empty(), cmd_argv.get(1)) {
            (true, _) => Some(spec),
            (false, Some(sub)) => super::table::lookup_subcommand(spec, sub),
            (false, None) => Some(spec),
        }
    });
    let Some(spec) = spec else {
        return Err(CommandError::err(format!(
            "Command '{}' not found",
            args::text(cmd_argv[0])
        )));
    };
    if !spec.arity_ok(cmd_argv.len()) {
        return Err(CommandError::WrongArity(spec.name.to_string()));
    }
    let Some(id) = ctx.srv.commands.acl_id(spec) else {
        return Err(CommandError::Err("Invalid permission result"));
    };
    let request = Request {
        spec,
        id,
        parent: ctx.srv.commands.acl_commands()[id].parent.is_some(),
        argv: cmd_argv,
    };
    match ctx.srv.acl.users[slot].check(&request) {
        Ok(()) => ctx.out.ok(),
        Err((denial, pos)) => {
            let text = match denial {
                Denial::Command => format!(
                    "This user has no permissions to run the '{}' command",
                    spec.name
                ),
                Denial::Key => format!(
                    "This user has no permissions to access the '{}' key",
                    args::text(cmd_argv[pos])
                ),
                _ => format!(
                    "This user has no permissions to access the '{}' channel",
                    args::text(cmd_argv[pos])
                ),
            };
            ctx.out.bulk_str(&text);
        }
    }
    Ok(())
}

/// ACL HELP
fn acl_help_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    ctx.out.help(
        "ACL",
        &[
            "CAT [<category>]",
            "    List all commands that belong to <category>, or all command categories",
            "    when no category is specified.",
            "DELUSER <username> [<username> ...]",
            "    Delete a list of users.",
            "DRYRUN <username> <command> [<arg> ...]",
            "    Returns whether the user can execute the given command without executing the command.",
            "GETUSER <username>",
            "    Get the user's details.",
            "GENPASS [<bits>]",
            "    Generate a secure 256-bit user password. The optional `bits` argument can",
            "    be used to specify a different size.",
            "LIST",
            "    Show users details in config file format.",
            "LOAD",
            "    Reload users from the ACL file.",
            "LOG [<count> | RESET]",
            "    Show the ACL log entries.",
            "SAVE",
            "    Save the current config to the ACL file.",
            "SETUSER <username> <attribute> [<attribute> ...]",
            "    Create or modify a user with the specified attributes.",
            "USERS",
            "    List all the registered usernames.",
            "WHOAMI",
            "    Return the current connection username.",
        ],
    );
    Ok(())
}

/// The users of `user` config directives (each `[name, rules...]`), applied at startup
/// (Redis: `ACLLoadConfiguredUsers`). A bad rule is an error naming it.
fn users_from_config(srv: &ServerState, lines: &[Vec<Vec<u8>>]) -> Result<Vec<User>, String> {
    let all_channels = srv.config.acl_pubsub_default_allchannels;
    let mut users: Vec<User> = Vec::new();
    for line in lines {
        let Some((name, rules)) = line.split_first() else {
            continue;
        };
        if user::has_spaces(name) {
            return Err("Spaces not allowed in ACL usernames".into());
        }
        let rules: Vec<&[u8]> = rules.iter().map(|r| r.as_slice()).collect();
        let merged = user::merge_selector_arguments(&rules)
            .map_err(|_| "Unmatched parenthesis in acl selector".to_string())?;
        let mut user = if name == b"default" {
            let mut u = srv.acl.default_user().clone();
            let _ = u.apply(&srv.commands, b"reset", all_channels);
            u
        } else {
            User::new(name, all_channels)
        };
        for rule in &merged {
            user.apply(&srv.commands, rule, all_channels).map_err(|e| {
                format!(
                    "Error loading ACL rule '{}' for the user named '{}': {}",
                    args::text(rule),
                    args::text(name),
                    e.message()
                )
            })?;
        }
        users.retain(|u| u.name != user.name);
        users.push(user);
    }
    Ok(users)
}
