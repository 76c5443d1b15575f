//! MONITOR: every command the server runs, streamed as one line to each monitoring client
//! (Redis: `monitorCommand` in `server.c`, `replicationFeedMonitors` in `replication.c`).
//!
//! ```text
//!   call() ── ran a command not flagged admin / skip_monitor ──> feed(ctx, argv, from_script)
//!   EVAL / EVALSHA / FCALL (skip_monitor) ── feed themselves before the script runs, so the
//!                                            commands of the script follow their EVAL line
//!   EXEC refused (EXECABORT)  ── fed from the refusal path, closing the MULTI seen before
//!   feed: +<unix secs>.<micros> [<db> <ip:port> | <db> lua] "arg" "arg"...\r\n
//!         ──> appended to every client in `MonitorState::clients`
//! ```
//!
//! Arguments a command redacted (AUTH's and HELLO's passwords, MIGRATE's) are shown as
//! `"(redacted)"`, each argument quoted as `sdscatrepr` does. A command is shown after it ran
//! (with the time it finished); queued MULTI commands show up when EXEC runs them. A monitor
//! stays one until it disconnects or sends RESET; in CLIENT LIST its flags show `O`.

use super::error::{CommandError, CommandResult};
use super::table::{flags::*, CommandSpec};
use super::Ctx;
use std::time::{SystemTime, UNIX_EPOCH};

pub const COMMANDS: &[CommandSpec] = &[CommandSpec::new(
    "monitor",
    monitor_command,
    1,
    ADMIN | NOSCRIPT | LOADING | STALE,
    "server",
)
.doc(
    "Listen for all requests received by the server in real time",
    "1.0.0",
)];

/// The clients in MONITOR mode, by slab key, in the order they started monitoring.
#[derive(Default)]
pub struct MonitorState {
    pub clients: Vec<usize>,
}

/// MONITOR — `+OK`, then one simple-string line per command run by anyone.
fn monitor_command(ctx: &mut Ctx, _argv: &[&[u8]]) -> CommandResult {
    let me = ctx.me();
    if me.deny_blocking || me.multi.active {
        return Err(CommandError::Err(
            "MONITOR isn't allowed for DENY BLOCKING client",
        ));
    }
    // Already a monitor (or a replica): ignored, and nothing is replied (as Redis).
    if me.monitor || me.replica.attached {
        return Ok(());
    }
    me.monitor = true;
    let id = ctx.id;
    ctx.srv.monitors.clients.push(id);
    ctx.out.ok();
    Ok(())
}

/// Leaves MONITOR mode (RESET, or the client closing). Redis: `unlinkClient` /
/// `clearClientConnectionState`.
pub fn forget_client(state: &mut MonitorState, key: usize) {
    state.clients.retain(|&c| c != key);
}

/// Sends the command `argv`, run by the caller of `ctx` (or by a script it runs, when
/// `from_script`), to every monitor. Arguments listed in `ctx.srv.redacted_args` show as
/// `(redacted)`. Costs one comparison when nobody monitors.
pub fn feed(ctx: &mut Ctx, argv: &[&[u8]], from_script: bool) {
    if ctx.srv.monitors.clients.is_empty() {
        return;
    }
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let peer = match (from_script, ctx.clients.get(ctx.id)) {
        (true, _) => "lua".to_string(),
        // Redis writes a Unix socket client as `unix:<path>` here (replicationFeedMonitors).
        (false, Some(c)) => match c.addr {
            crate::net::PeerAddr::Unix(path) => format!("unix:{path}"),
            addr => addr.to_string(),
        },
        (false, None) => String::new(),
    };
    let mut line = format!(
        "+{}.{:06} [{} {}] ",
        since_epoch.as_secs(),
        since_epoch.subsec_micros(),
        ctx.db,
        peer
    )
    .into_bytes();
    for (i, arg) in argv.iter().enumerate() {
        if i > 0 {
            line.push(b' ');
        }
        if ctx.srv.redacted_args.contains(&i) {
            line.extend_from_slice(b"\"(redacted)\"");
        } else {
            crate::util::cat_repr(&mut line, arg);
        }
    }
    line.extend_from_slice(b"\r\n");
    for i in 0..ctx.srv.monitors.clients.len() {
        let key = ctx.srv.monitors.clients[i];
        if let Some(out) = ctx.reply_to(key) {
            out.raw(&line);
        }
    }
}
