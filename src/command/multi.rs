//! Transactions: MULTI / EXEC / DISCARD / WATCH / UNWATCH (Redis: `multi.c`).
//!
//! # Queueing
//!
//! After MULTI, `command::process_command` hands every request to [`queue_if_in_transaction`]
//! once it has passed the table lookup, arity and the other client checks. Except for the few commands that act on the
//! transaction itself (EXEC, DISCARD, MULTI, WATCH) or on the connection (QUIT, RESET), the
//! arguments are copied into the client's [`MultiState`] and the reply is `+QUEUED`. A request
//! refused at that stage (unknown command, wrong arity, a `no-multi` command) marks the
//! transaction as failed ([`flag_transaction_error`]), and EXEC then answers `-EXECABORT`
//! without running anything. Errors that only show up while a command *runs* (WRONGTYPE, a bad
//! option) do not abort the others: EXEC returns them in place in its reply array.
//!
//! EXEC runs the queue through `command::process_command` with `Caller::Exec` (the checks made
//! at queueing time are not repeated; checks for every caller would apply), one command after
//! the other with nothing in between: this is what makes a transaction atomic on a single-threaded server. Blocked
//! clients are served (`after_command`) only after the whole EXEC, never in the middle.
//!
//! # WATCH: optimistic locking
//!
//! ```text
//!   WatchState.per_db[db]:  key -> [clients watching it]      (Redis: db->watched_keys)
//!   MultiState.watched:     [(db, key, expired_at_watch)]     (Redis: c->watched_keys)
//! ```
//!
//! Every write calls `signal_modified_key` -> [`touch_watched_key`], which marks each watcher
//! "dirty" (Redis's `CLIENT_DIRTY_CAS`) and drops all its watches — once dirty, nothing more
//! can happen to its transaction. EXEC of a dirty transaction replies a null array. Any write
//! counts, even one that stores the same value, and a key deleted and recreated was touched
//! twice. FLUSHDB/FLUSHALL/SWAPDB touch every watched key they affect
//! ([`touch_all_watched_keys_in_db`], [`touch_watched_keys_on_swapdb`]).
//!
//! Expiry is a change too, even before the key is physically removed: EXEC fails if a watched
//! key that was alive at WATCH time is logically expired at EXEC time. A key that was *already*
//! expired when WATCHed is remembered as such (`expired_at_watch`), so its eventual lazy or
//! active deletion is not a change — it was already gone from the client's point of view — but
//! giving it a new value is. This is Redis 7.0's `isWatchedKeyExpired` / `wk->expired` logic.

use super::client::Client;
use super::error::{CommandError, CommandResult};
use super::keyspec::{key_flags::*, KeySpec};
use super::state::ServerState;
use super::table::{flags::*, CommandSpec};
use super::{Ctx, NO_CLIENT};
use crate::db::{Db, Ms};
use hashbrown::HashMap;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "multi",
        multi_command,
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        "transactions",
    )
    .doc("Mark the start of a transaction block", "1.2.0"),
    CommandSpec::new(
        "exec",
        exec_command,
        1,
        NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG,
        "transactions",
    )
    .doc("Execute all commands issued after MULTI", "1.2.0"),
    CommandSpec::new(
        "discard",
        discard_command,
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        "transactions",
    )
    .doc("Discard all commands issued after MULTI", "2.0.0"),
    CommandSpec::new(
        "watch",
        watch_command,
        -2,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        "transactions",
    )
    .key_specs(&[KeySpec::at(1, RO).range(-1, 1, 0)])
    .doc(
        "Watch the given keys to determine execution of the MULTI/EXEC block",
        "2.2.0",
    ),
    CommandSpec::new(
        "unwatch",
        unwatch_command,
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        "transactions",
    )
    .doc("Forget about all watched keys", "2.2.0"),
];

/// A client's transaction state (Redis: `c->mstate` plus the `CLIENT_MULTI`,
/// `CLIENT_DIRTY_EXEC` and `CLIENT_DIRTY_CAS` flags and `c->watched_keys`).
#[derive(Default)]
pub struct MultiState {
    /// Inside MULTI (and still while EXEC runs the queue).
    pub active: bool,
    /// The queued commands: the table row found while queueing, and the arguments copied out
    /// of the query buffer (which is reused as soon as the request is consumed).
    queued: Vec<(&'static CommandSpec, Vec<Vec<u8>>)>,
    /// The flags the queued commands run with, OR-ed, and their complements OR-ed (Redis:
    /// `mstate.cmd_flags`, `mstate.cmd_inv_flags`): EXEC is a write if one of them is, and
    /// refused on a stale replica if one of them is not `stale`.
    cmd_flags: u32,
    cmd_inv_flags: u32,
    /// A command was refused while queueing: EXEC must abort.
    dirty_exec: bool,
    /// A watched key changed: EXEC must reply null.
    dirty_cas: bool,
    watched: Vec<WatchedKey>,
    /// Heap bytes of the queued arguments and of the watched keys' names, kept as they change
    /// so that client eviction, which weighs every client on every command, stays O(1) here.
    queued_bytes: usize,
    watched_bytes: usize,
}

struct WatchedKey {
    db: usize,
    key: Vec<u8>,
    /// The key was already logically expired when WATCH ran (Redis: `wk->expired`).
    expired_at_watch: bool,
}

impl MultiState {
    /// Has a watched key changed, so that EXEC will fail? (CLIENT LIST flag `d`.)
    pub fn dirty_cas(&self) -> bool {
        self.dirty_cas
    }

    /// Commands queued so far, or None outside MULTI (CLIENT LIST `multi=`, -1 when None).
    pub fn queued_len(&self) -> Option<usize> {
        self.active.then_some(self.queued.len())
    }

    /// Memory held by the queued commands and the watched keys (client eviction and CLIENT
    /// LIST `tot-mem`; Redis: `multiStateMemOverhead`).
    pub fn mem_usage(&self) -> usize {
        self.queued.capacity() * std::mem::size_of::<(&CommandSpec, Vec<Vec<u8>>)>()
            + self.queued_bytes
            + self.watched.capacity() * std::mem::size_of::<WatchedKey>()
            + self.watched_bytes
    }

    /// Drops the queued commands, returning them.
    fn take_queued(&mut self) -> Vec<(&'static CommandSpec, Vec<Vec<u8>>)> {
        self.queued_bytes = 0;
        std::mem::take(&mut self.queued)
    }

    /// Forgets the watched keys, returning them (for `Watches::unwatch_all`).
    fn take_watched(&mut self) -> Vec<WatchedKey> {
        self.watched_bytes = 0;
        std::mem::take(&mut self.watched)
    }
}

/// Server-wide WATCH registry: per database, key -> slab keys of the clients watching it.
#[derive(Default)]
pub struct WatchState {
    per_db: Vec<HashMap<Vec<u8>, Vec<usize>>>,
}

impl WatchState {
    /// Removes every watch of client `me` (whose own list is `watched`).
    fn unwatch_all(&mut self, me: usize, watched: &[WatchedKey]) {
        for wk in watched {
            let Some(map) = self.per_db.get_mut(wk.db) else {
                continue;
            };
            if let Some(clients) = map.get_mut(wk.key.as_slice()) {
                if let Some(pos) = clients.iter().position(|&c| c == me) {
                    clients.remove(pos);
                }
                if clients.is_empty() {
                    map.remove(wk.key.as_slice());
                }
            }
        }
    }
}

/// Is `key` logically expired (TTL passed) though perhaps still stored? Redis: `keyIsExpired`.
fn key_is_expired(db: &Db, key: &[u8], now: Ms) -> bool {
    db.get_expire(key).is_some_and(|when| when < now)
}

// ---------------------------------------------------------------------------------------------
// Hooks called by the dispatcher and by other commands
// ---------------------------------------------------------------------------------------------

/// Is the caller inside MULTI or running its EXEC? Blocking commands (BLPOP & co.) must then
/// behave as their non-blocking forms and SSUBSCRIBE is refused, as with Redis's
/// `CLIENT_DENY_BLOCKING`. Scripts deny blocking too: the scripting module extends this check
/// with its own "a script is running" state.
pub fn in_transaction_or_script(ctx: &Ctx) -> bool {
    ctx.srv.scripts.is_running() || ctx.clients.get(ctx.id).is_some_and(|c| c.multi.active)
}

/// Is `spec` an EXEC whose queue holds a write? Such an EXEC is checked as a write command
/// (Redis: `is_write_command` in `processCommand`).
pub fn exec_would_write(ctx: &Ctx, spec: &CommandSpec) -> bool {
    spec.name == "exec"
        && ctx
            .clients
            .get(ctx.id)
            .is_some_and(|c| c.multi.queued_flags() & WRITE != 0)
}

/// Is `spec` an EXEC whose queue holds a command a stale replica refuses (one without the
/// `stale` flag)? Such an EXEC is refused with MASTERDOWN (Redis: `is_denystale_command`,
/// from `mstate.cmd_inv_flags`).
pub fn exec_would_deny_stale(ctx: &Ctx, spec: &CommandSpec) -> bool {
    spec.name == "exec"
        && ctx
            .clients
            .get(ctx.id)
            .is_some_and(|c| c.multi.cmd_inv_flags & STALE != 0)
}

/// Is `spec` an EXEC whose queue holds a command a loading server refuses (one without the
/// `loading` flag)? (Redis: `is_denyloading_command`, from `mstate.cmd_inv_flags`.)
pub fn exec_would_deny_loading(ctx: &Ctx, spec: &CommandSpec) -> bool {
    spec.name == "exec"
        && ctx
            .clients
            .get(ctx.id)
            .is_some_and(|c| c.multi.cmd_inv_flags & LOADING != 0)
}

/// Is `spec` an EXEC whose queue holds a command flagged `no-async-loading`? (Redis:
/// `is_deny_async_loading_command`, from `mstate.cmd_flags`.)
pub fn exec_would_deny_async_loading(ctx: &Ctx, spec: &CommandSpec) -> bool {
    spec.name == "exec"
        && ctx
            .clients
            .get(ctx.id)
            .is_some_and(|c| c.multi.cmd_flags & NO_ASYNC_LOADING != 0)
}

/// Queues the command if the client is inside MULTI (replying +QUEUED); true if the request
/// was handled here (queued, or refused as `no-multi`). `flags` are the ones it runs with (a
/// script's declared ones). Redis: the tail of `processCommand`, `queueMultiCommand`.
pub fn queue_if_in_transaction(
    ctx: &mut Ctx,
    spec: &'static CommandSpec,
    argv: &[&[u8]],
    flags: u32,
) -> bool {
    let Some(c) = ctx.clients.get_mut(ctx.id) else {
        return false;
    };
    if !c.multi.active {
        return false;
    }
    if matches!(
        spec.name,
        "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
    ) {
        return false;
    }
    if spec.has(NO_MULTI) {
        super::reject(
            ctx,
            &CommandError::Err("Command not allowed inside a transaction"),
        );
        return true;
    }
    let args: Vec<Vec<u8>> = argv.iter().map(|a| a.to_vec()).collect();
    c.multi.queued_bytes += args.capacity() * std::mem::size_of::<Vec<u8>>()
        + args.iter().map(Vec::capacity).sum::<usize>();
    c.multi.queued.push((spec, args));
    c.multi.cmd_flags |= flags;
    c.multi.cmd_inv_flags |= !flags;
    ctx.out.simple("QUEUED");
    true
}

/// A command was refused while queueing: EXEC must fail with EXECABORT (Redis:
/// `flagTransaction`).
pub fn flag_transaction_error(ctx: &mut Ctx) {
    if let Some(c) = ctx.clients.get_mut(ctx.id) {
        if c.multi.active {
            c.multi.dirty_exec = true;
        }
    }
}

/// EXEC itself was refused before running (wrong arity, NOAUTH, subscriber mode): the
/// transaction is discarded and the error becomes an EXECABORT naming the reason.
/// Redis: `execCommandAbort`. Other commands' errors pass through unchanged.
/// Every flag of the queued commands, OR-ed (EXEC is `denyoom` if a queued command is; Redis:
/// `mstate.cmd_flags`).
impl MultiState {
    /// The queued commands and their arguments.
    pub fn queued_commands(&self) -> &[(&'static CommandSpec, Vec<Vec<u8>>)] {
        &self.queued
    }

    pub fn queued_flags(&self) -> u32 {
        self.cmd_flags
    }
}

pub fn abort_if_exec(ctx: &mut Ctx, spec: &CommandSpec, err: CommandError) -> CommandError {
    if spec.name != "exec" {
        return err;
    }
    discard_transaction(ctx);
    // Monitors saw the MULTI: show them the transaction is over (Redis: `execCommandAbort`).
    super::monitor::feed(ctx, &[b"exec"], false);
    let message = err.message();
    let reason = message.strip_prefix("ERR ").unwrap_or(&message);
    CommandError::Custom(format!(
        "EXECABORT Transaction discarded because of: {reason}"
    ))
}

/// `key` in `db` changed: transactions watching it will fail (Redis: `touchWatchedKey`).
/// Called for every write, so the common case — nobody watches anything in `db` — returns
/// after one length test.
pub fn touch_watched_key(ctx: &mut Ctx, db: usize, key: &[u8]) {
    let Some(map) = ctx.srv.watches.per_db.get(db) else {
        return;
    };
    if map.is_empty() {
        return;
    }
    let Some(watchers) = map.get(key) else {
        return;
    };
    // Marking a client dirty unwatches it, which edits this very list: iterate a copy.
    let watchers = watchers.clone();
    for client_key in watchers {
        let Some(c) = ctx.clients.get_mut(client_key) else {
            continue;
        };
        let Some(wk) = c
            .multi
            .watched
            .iter_mut()
            .find(|wk| wk.db == db && wk.key == key)
        else {
            continue;
        };
        if wk.expired_at_watch {
            // The client saw no key. Its removal (lazy or active expiry) changes nothing it
            // saw; from now on the key is simply "absent". A key still stored and still past
            // its TTL changed nothing either. Only a live value is news.
            let stored = ctx.dbs[db].dict.contains_key(key);
            if !stored {
                wk.expired_at_watch = false;
                continue;
            }
            if key_is_expired(&ctx.dbs[db], key, ctx.now) {
                continue;
            }
        }
        c.multi.dirty_cas = true;
        // Nothing can un-dirty the transaction, so the watches are of no further use.
        let watched = c.multi.take_watched();
        ctx.srv.watches.unwatch_all(client_key, &watched);
    }
}

/// FLUSHDB / FLUSHALL: every watched key of `db` that exists is about to disappear, so its
/// watchers' transactions fail. **Call before emptying the database.** Watched keys that do
/// not exist (or were already expired when watched) are not changed by a flush.
/// Redis: `touchAllWatchedKeysInDb(db, NULL)`.
pub fn touch_all_watched_keys_in_db(ctx: &mut Ctx, db: usize) {
    touch_all_generic(ctx, db, None);
}

/// SWAPDB a b: a watched key whose value differs after the swap — it exists in either
/// database — fails its watchers. **Call before swapping.**
/// Redis: `touchAllWatchedKeysInDb(a, b)` and `(b, a)`.
pub fn touch_watched_keys_on_swapdb(ctx: &mut Ctx, a: usize, b: usize) {
    touch_all_generic(ctx, a, Some(b));
    touch_all_generic(ctx, b, Some(a));
}

/// Redis: `touchAllWatchedKeysInDb(emptied, replaced_with)`.
fn touch_all_generic(ctx: &mut Ctx, emptied: usize, replaced_with: Option<usize>) {
    let Some(map) = ctx.srv.watches.per_db.get(emptied) else {
        return;
    };
    let now = ctx.now;
    for (key, watchers) in map {
        let key = key.as_slice();
        let exists_in_emptied = ctx.dbs[emptied].dict.contains_key(key);
        let replacement = replaced_with
            .map(|r| &ctx.dbs[r])
            .filter(|r| r.dict.contains_key(key));
        if !exists_in_emptied && replacement.is_none() {
            continue;
        }
        for &client_key in watchers {
            let Some(c) = ctx.clients.get_mut(client_key) else {
                continue;
            };
            let Some(wk) = c
                .multi
                .watched
                .iter_mut()
                .find(|wk| wk.db == emptied && wk.key == key)
            else {
                continue;
            };
            match replacement {
                // An expired key is flushed away: no logical change.
                None if wk.expired_at_watch => {
                    wk.expired_at_watch = false;
                    continue;
                }
                // An expired key is replaced by another expired one: still no change.
                Some(r) if wk.expired_at_watch && key_is_expired(r, key, now) => continue,
                // An absent key is replaced by an expired one: still absent, but remember it.
                Some(r)
                    if !wk.expired_at_watch
                        && !exists_in_emptied
                        && key_is_expired(r, key, now) =>
                {
                    wk.expired_at_watch = true;
                    continue;
                }
                _ => {}
            }
            // The watch lists stay (we are iterating them); EXEC checks the flag anyway.
            c.multi.dirty_cas = true;
        }
    }
}

/// Discards the caller's transaction and watches (RESET). Redis: `discardTransaction` as
/// called by `clearClientConnectionState`.
pub fn reset_client(ctx: &mut Ctx) {
    discard_transaction(ctx);
}

/// A client is being freed: drop its WATCHes.
pub fn forget_client(state: &mut ServerState, key: usize, client: &Client) {
    state.watches.unwatch_all(key, &client.multi.watched);
}

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

/// Ends the caller's transaction: queue dropped, flags cleared, keys unwatched.
/// Redis: `discardTransaction`.
fn discard_transaction(ctx: &mut Ctx) {
    if ctx.id == NO_CLIENT {
        return;
    }
    let Some(c) = ctx.clients.get_mut(ctx.id) else {
        return;
    };
    let m = &mut c.multi;
    m.active = false;
    m.dirty_exec = false;
    m.dirty_cas = false;
    m.take_queued();
    m.cmd_flags = 0;
    m.cmd_inv_flags = 0;
    let watched = m.take_watched();
    ctx.srv.watches.unwatch_all(ctx.id, &watched);
}

/// MULTI — OK; starts queueing the connection's commands.
fn multi_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    let m = &mut ctx.me().multi;
    if m.active {
        return Err(CommandError::Err("MULTI calls can not be nested"));
    }
    m.active = true;
    ctx.out.ok();
    Ok(())
}

/// DISCARD — OK; drops the queued commands and unwatches every key.
fn discard_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    if !ctx.me().multi.active {
        return Err(CommandError::Err("DISCARD without MULTI"));
    }
    discard_transaction(ctx);
    ctx.out.ok();
    Ok(())
}

/// EXEC — an array with each queued command's reply (errors in place); a null array if a
/// watched key changed; `-EXECABORT` if a command was refused while queueing.
fn exec_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    // Never propagated itself: its commands are, and the funnel wraps them in MULTI/EXEC.
    super::propagate::prevent(ctx);
    let me = ctx.id;
    if !ctx.me().multi.active {
        return Err(CommandError::Err("EXEC without MULTI"));
    }
    let now = ctx.now;
    let c = &mut ctx.clients[me];
    let expired = c
        .multi
        .watched
        .iter()
        .any(|wk| !wk.expired_at_watch && key_is_expired(&ctx.dbs[wk.db], &wk.key, now));
    if expired {
        c.multi.dirty_cas = true;
    }
    if c.multi.dirty_exec {
        discard_transaction(ctx);
        return Err(CommandError::Custom(
            "EXECABORT Transaction discarded because of previous errors.".into(),
        ));
    }
    if c.multi.dirty_cas {
        discard_transaction(ctx);
        ctx.out.null_array();
        return Ok(());
    }
    // Unwatch first: the transaction's own writes must not dirty it (and it saves the work).
    let watched = c.multi.take_watched();
    ctx.srv.watches.unwatch_all(me, &watched);
    let queued = c.multi.take_queued();

    ctx.out.array_len(queued.len());
    let mut argv: Vec<&[u8]> = Vec::new();
    for (spec, args) in &queued {
        argv.clear();
        argv.extend(args.iter().map(|a| a.as_slice()));
        super::process_command(ctx, &argv, super::Caller::Exec(spec));
        // A command may have killed its own connection (CLIENT KILL): stop there.
        if !ctx.clients.contains(me) {
            return Ok(());
        }
    }
    discard_transaction(ctx);
    Ok(())
}

/// WATCH key [key ...] — OK; EXEC will fail if any of the keys changes before it runs.
fn watch_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let me = ctx.id;
    let db = ctx.db;
    let c = &mut ctx.clients[me];
    if c.multi.active {
        return Err(CommandError::Err("WATCH inside MULTI is not allowed"));
    }
    // No point in watching more: EXEC will fail anyway.
    if c.multi.dirty_cas {
        ctx.out.ok();
        return Ok(());
    }
    let watches = &mut ctx.srv.watches;
    if watches.per_db.len() <= db {
        watches.per_db.resize_with(db + 1, HashMap::new);
    }
    for key in &argv[1..] {
        let already = c
            .multi
            .watched
            .iter()
            .any(|wk| wk.db == db && wk.key == *key);
        if already {
            continue;
        }
        watches.per_db[db].entry_ref(*key).or_default().push(me);
        c.multi.watched_bytes += key.len();
        c.multi.watched.push(WatchedKey {
            db,
            key: key.to_vec(),
            expired_at_watch: key_is_expired(&ctx.dbs[db], key, ctx.now),
        });
    }
    ctx.out.ok();
    Ok(())
}

/// UNWATCH — OK; forgets every watched key (and a pending "dirty" verdict).
fn unwatch_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    let me = ctx.id;
    let c = &mut ctx.clients[me];
    let watched = c.multi.take_watched();
    ctx.srv.watches.unwatch_all(me, &watched);
    c.multi.dirty_cas = false;
    ctx.out.ok();
    Ok(())
}

#[cfg(test)]
mod tests {
    //! FLUSHDB / SWAPDB are written elsewhere; their WATCH rules are checked here directly,
    //! on the command layer's own parts (state, databases, a client slab with real idle
    //! loopback connections), without the event loop.

    use super::*;
    use crate::command::{execute, Caller};
    use crate::config::Config;
    use crate::db::value::Value;
    use crate::db::Db;
    use crate::resp::reply::ReplyBuffer;
    use crate::types::sds::Sds;
    use slab::Slab;

    const NOW: Ms = 1_000_000;

    /// What `server::Server` owns, minus the sockets of the loop.
    struct Server {
        clients: Slab<Client>,
        dbs: Vec<Db>,
        state: ServerState,
    }

    impl Server {
        fn ctx<'a>(
            &'a mut self,
            id: usize,
            db: usize,
            out: &'a mut ReplyBuffer,
            now: Ms,
        ) -> Ctx<'a> {
            Ctx {
                dbs: &mut self.dbs,
                db,
                out,
                clients: &mut self.clients,
                id,
                srv: &mut self.state,
                now,
            }
        }

        fn close_client(&mut self, key: usize) {
            let client = self.clients.remove(key);
            forget_client(&mut self.state, key, &client);
        }
    }

    fn server_with_clients(n: usize) -> (Server, Vec<usize>) {
        let config = Config {
            port: 0,
            ..Config::default()
        };
        let mut server = Server {
            clients: Slab::new(),
            dbs: (0..config.databases).map(Db::new).collect(),
            state: ServerState::new(config, 0),
        };
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listener");
        let addr = listener.local_addr().expect("addr");
        let keys = (0..n)
            .map(|i| {
                let stream = std::net::TcpStream::connect(addr).expect("connect");
                let socket = mio::net::TcpStream::from_std(stream);
                let client = Client::new(i as u64 + 1, socket, addr, NOW, true);
                server.clients.insert(client)
            })
            .collect();
        (server, keys)
    }

    fn run(server: &mut Server, client: usize, db: usize, argv: &[&[u8]]) -> Vec<u8> {
        let mut out = ReplyBuffer::new();
        let mut ctx = server.ctx(client, db, &mut out, NOW);
        execute(&mut ctx, argv, Caller::Client);
        out.as_bytes().to_vec()
    }

    fn store(server: &mut Server, db: usize, key: &[u8], expire_at: Option<Ms>) {
        server.dbs[db].set(key, Value::Str(Sds::new(b"v")), NOW, false);
        if let Some(when) = expire_at {
            server.dbs[db].set_expire(key, when);
        }
    }

    fn dirty(server: &Server, client: usize) -> bool {
        server.clients[client].multi.dirty_cas()
    }

    #[test]
    fn a_flush_fails_watchers_of_existing_keys_only() {
        let (mut server, c) = server_with_clients(3);
        store(&mut server, 0, b"live", None);
        store(&mut server, 0, b"stale", Some(NOW - 1));
        run(&mut server, c[0], 0, &[b"WATCH", b"live"]);
        run(&mut server, c[1], 0, &[b"WATCH", b"missing"]);
        run(&mut server, c[2], 0, &[b"WATCH", b"stale"]);
        let mut out = ReplyBuffer::new();
        let mut ctx = server.ctx(c[0], 0, &mut out, NOW);
        touch_all_watched_keys_in_db(&mut ctx, 0);
        assert!(dirty(&server, c[0]));
        assert!(!dirty(&server, c[1]));
        // The key was already expired when watched: flushing it away changes nothing...
        assert!(!dirty(&server, c[2]));
        // ...and from now on it counts as absent, so EXEC is not failed for being expired.
        server.dbs[0].flush();
        run(&mut server, c[2], 0, &[b"MULTI"]);
        assert_eq!(run(&mut server, c[2], 0, &[b"EXEC"]), b"*0\r\n");
    }

    #[test]
    fn swapdb_fails_watchers_whose_key_exists_on_either_side() {
        let (mut server, c) = server_with_clients(3);
        store(&mut server, 1, b"only-in-1", None);
        store(&mut server, 1, b"stale-in-1", Some(NOW - 1));
        run(&mut server, c[0], 0, &[b"WATCH", b"only-in-1"]);
        run(&mut server, c[1], 0, &[b"WATCH", b"nowhere"]);
        run(&mut server, c[2], 0, &[b"WATCH", b"stale-in-1"]);
        let mut out = ReplyBuffer::new();
        let mut ctx = server.ctx(c[0], 0, &mut out, NOW);
        touch_watched_keys_on_swapdb(&mut ctx, 0, 1);
        assert!(dirty(&server, c[0]));
        assert!(!dirty(&server, c[1]));
        // Absent replaced by expired: still absent, but now remembered as expired-at-watch,
        // so the EXEC-time expiry check does not fail it.
        assert!(!dirty(&server, c[2]));
        let (a, b) = server.dbs.split_at_mut(1);
        std::mem::swap(&mut a[0].dict, &mut b[0].dict);
        std::mem::swap(&mut a[0].expires, &mut b[0].expires);
        run(&mut server, c[2], 0, &[b"MULTI"]);
        assert_eq!(run(&mut server, c[2], 0, &[b"EXEC"]), b"*0\r\n");
    }

    #[test]
    fn closing_a_client_removes_its_watches_from_the_registry() {
        let (mut server, c) = server_with_clients(2);
        run(&mut server, c[0], 0, &[b"WATCH", b"k", b"j"]);
        run(&mut server, c[1], 0, &[b"WATCH", b"k"]);
        server.close_client(c[0]);
        let map = &server.state.watches.per_db[0];
        assert_eq!(map.get(b"k".as_slice()), Some(&vec![c[1]]));
        assert!(map.get(b"j".as_slice()).is_none());
    }
}
