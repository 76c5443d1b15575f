//! Serving the other clients while a script runs past `busy-reply-threshold` (Redis:
//! `networking.c` `processEventsWhileBlocked`, the BUSY check in `server.c` `processCommand`).
//!
//! A script runs to completion on the loop thread, which is what makes it atomic. A script
//! that runs too long must still be stoppable, so the Lua count hook calls
//! [`process_events_while_blocked`] every 100k instructions once the threshold has passed. It
//! is a restricted loop turn done by hand, without `poll`:
//!
//! ```text
//!   accept pending connections (cloned listeners, registered with a cloned Registry)
//!   for every client but the script's caller:
//!     read what the socket has (non-blocking) -> parse complete commands ->
//!       SCRIPT KILL, SHUTDOWN NOSAVE, allow-busy commands (HELLO, AUTH, MULTI, ...) -> run
//!       anything else                         -> -BUSY Redis is busy running a script...
//!     write the replies right away
//! ```
//!
//! Sockets are edge-triggered, so reading here leaves at most a spurious readiness event for
//! the main loop, which then reads `WouldBlock` and moves on. Clients that hang up are marked
//! `close_asap` and freed by the main loop once the script ends.

use crate::command::error::CommandError;
use crate::command::table::flags;
use crate::command::{self, args, Ctx};
use crate::resp::parse::{ParseLimits, ParseOutcome};
use crate::server::client::Client;
use log::debug;
use mio::{Interest, Token};
use std::io::{self, Read, Write};

/// Sockets the busy loop needs but `Ctx` does not carry: clones of the listeners (so new
/// connections, typically `redis-cli SCRIPT KILL`, are accepted) and of the poll registry.
pub struct BusyIo {
    pub listeners: Vec<std::net::TcpListener>,
    pub registry: mio::Registry,
}

/// One restricted turn of the event loop, run from inside a busy script.
pub fn process_events_while_blocked(ctx: &mut Ctx) {
    accept_while_blocked(ctx);
    let keys: Vec<usize> = ctx
        .clients
        .iter()
        .map(|(k, _)| k)
        .filter(|&k| k != ctx.id)
        .collect();
    for key in keys {
        read_while_blocked(ctx, key);
        flush_while_blocked(ctx, key);
    }
}

fn accept_while_blocked(ctx: &mut Ctx) {
    let Some(io) = ctx.srv.busy_io.as_ref() else {
        return;
    };
    let mut accepted = Vec::new();
    for listener in &io.listeners {
        while let Ok((socket, addr)) = listener.accept() {
            accepted.push((socket, addr));
        }
    }
    for (socket, addr) in accepted {
        ctx.srv.stats.total_connections_received += 1;
        if ctx.clients.len() >= ctx.srv.config.maxclients || socket.set_nonblocking(true).is_err() {
            ctx.srv.stats.rejected_connections += 1;
            continue;
        }
        let _ = socket.set_nodelay(true);
        let mut socket = mio::net::TcpStream::from_std(socket);
        let entry = ctx.clients.vacant_entry();
        let key = entry.key();
        let Some(io) = ctx.srv.busy_io.as_ref() else {
            return;
        };
        if io
            .registry
            .register(&mut socket, Token(key), Interest::READABLE)
            .is_err()
        {
            continue;
        }
        let id = ctx.srv.next_client_id;
        ctx.srv.next_client_id += 1;
        let authenticated = ctx.srv.config.requirepass.is_none();
        entry.insert(Client::new(
            id,
            socket,
            addr,
            super::unix_ms(),
            authenticated,
        ));
        debug!("Accepted {addr} as client id={id} while a script is busy");
    }
}

/// Reads and answers every complete command client `key` has sent.
fn read_while_blocked(ctx: &mut Ctx, key: usize) {
    let Some(c) = ctx.clients.get_mut(key) else {
        return;
    };
    if c.close_asap || c.close_after_reply || c.blocked.is_some() {
        return;
    }
    loop {
        let spare = c.query_buf.spare(16 * 1024);
        match c.socket.read(spare) {
            Ok(0) => {
                c.close_asap = true;
                queue(ctx, key);
                return;
            }
            Ok(n) => {
                c.query_buf.commit(n);
                ctx.srv.stats.total_net_input_bytes += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(_) => {
                c.close_asap = true;
                queue(ctx, key);
                return;
            }
        }
    }
    // Parse with the client's own parser, copying each request out so the client can be
    // borrowed again by the command.
    loop {
        let Some(c) = ctx.clients.get_mut(key) else {
            return;
        };
        if c.close_after_reply || c.close_asap {
            return;
        }
        let limits = ParseLimits {
            max_bulk_len: ctx.srv.config.proto_max_bulk_len,
            authenticated: c.authenticated,
        };
        let data = c.query_buf.unread();
        if data.is_empty() {
            return;
        }
        let argv: Vec<Vec<u8>> = match c.parser.parse(data, &limits) {
            Ok(ParseOutcome::Complete { consumed }) => {
                let argv = if c.parser.is_inline() {
                    c.parser.inline_args.clone()
                } else {
                    c.parser
                        .spans
                        .iter()
                        .map(|&(s, e)| data[s..e].to_vec())
                        .collect()
                };
                c.parser.reset();
                c.query_buf.consume(consumed);
                argv
            }
            Ok(ParseOutcome::Incomplete { .. }) => return,
            Err(e) => {
                c.reply.error(&format!("ERR Protocol error: {}", e.0));
                c.close_after_reply = true;
                c.parser.reset();
                return;
            }
        };
        if argv.is_empty() {
            continue;
        }
        let argv: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
        answer_while_blocked(ctx, key, &argv);
    }
}

/// Runs `argv` for client `key` if it may run during a busy script, else replies -BUSY.
fn answer_while_blocked(ctx: &mut Ctx, key: usize, argv: &[&[u8]]) {
    let allowed = match ctx.srv.commands.lookup(argv[0]) {
        // Unknown commands and arity errors are reported as such, as Redis checks them first.
        None => true,
        Some(spec) if !spec.arity_ok(argv.len()) => true,
        Some(spec) => match spec.name {
            "script" => argv.get(1).is_some_and(|s| args::is(s, "KILL")),
            "function" => argv
                .get(1)
                .is_some_and(|s| args::is(s, "KILL") || args::is(s, "STATS")),
            "shutdown" => argv[1..].iter().any(|a| args::is(a, "NOSAVE")),
            _ => spec.has(flags::ALLOW_BUSY),
        },
    };
    let Some(c) = ctx.clients.get_mut(key) else {
        return;
    };
    let mut out = std::mem::take(&mut c.reply);
    let db = c.db;
    let mut other = Ctx {
        dbs: &mut *ctx.dbs,
        db,
        out: &mut out,
        clients: &mut *ctx.clients,
        id: key,
        srv: &mut *ctx.srv,
        now: super::unix_ms(),
    };
    if allowed {
        command::execute(&mut other, argv);
    } else {
        let err = CommandError::Custom(other.srv.scripts.busy_error().into());
        command::multi::flag_transaction_error(&mut other);
        other.srv.stats.total_error_replies += 1;
        *other.srv.stats.error_codes.entry(err.code()).or_insert(0) += 1;
        other.out.error(&err.message());
    }
    let db = other.db;
    if let Some(c) = ctx.clients.get_mut(key) {
        c.db = db;
        out.append(&mut c.reply);
        c.reply = out;
    }
}

/// Writes client `key`'s pending replies now; what does not fit is left for the main loop.
fn flush_while_blocked(ctx: &mut Ctx, key: usize) {
    let Some(c) = ctx.clients.get_mut(key) else {
        return;
    };
    while !c.reply.is_empty() {
        match c.socket.write(c.reply.as_bytes()) {
            Ok(0) => break,
            Ok(n) => {
                ctx.srv.stats.total_net_output_bytes += n as u64;
                c.reply.consume(n);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    if !c.reply.is_empty() || c.close_after_reply || c.close_asap {
        queue(ctx, key);
    }
}

fn queue(ctx: &mut Ctx, key: usize) {
    if let Some(c) = ctx.clients.get_mut(key) {
        if !c.pending_write {
            c.pending_write = true;
            ctx.srv.clients_pending_write.push(key);
        }
    }
}
