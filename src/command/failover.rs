//! FAILOVER: a master hands its role to one of its replicas without losing a write (Redis:
//! `replication.c` — `failoverCommand`, `updateFailoverStatus`, `abortFailover`,
//! `clearFailoverState`, and the `PSYNC ... FAILOVER` branch of `syncCommand`).
//!
//! # The coordinated failover
//!
//! ```text
//!  master                                               target replica
//!  FAILOVER [TO host port] ──> writes paused (a pause of its own purpose, no end)
//!     NoFailover ──> WaitForSync
//!  every loop turn: has the target (or, without TO, any replica) acknowledged
//!  (REPLCONF ACK) the whole stream, ack offset == master_repl_offset?
//!     yes ──> InProgress: this server becomes a replica of the target
//!             (REPLICAOF-like; its other replicas stay attached)
//!     handshake ... PSYNC <our replid> <our offset + 1> FAILOVER ───────────>
//!                                        the replid is the one it follows: it stops following
//!                                        us (REPLICAOF NO ONE: a new replid, ours kept as
//!                                        replid2), then answers the PSYNC as a master would
//!     <───────────────────────────────────────────────────────── +CONTINUE <new replid>
//!     NoFailover, writes unpaused (they now get -READONLY: we are a replica)
//! ```
//!
//! The replicas that were not the target keep following the old master, which is now a
//! replica itself: when it learns the new replid it drops them, and they continue partially
//! from it (a chain), exactly as Redis leaves them.
//!
//! `TIMEOUT ms` bounds the wait for the sync: past it the failover is aborted, or with `FORCE`
//! (which needs `TO` as well) it goes ahead with a target that has not caught up. `FAILOVER
//! ABORT`, a timeout, or a target that refuses the PSYNC end the failover and unpause writes;
//! when the server had already turned into a replica it becomes a master again (under a new
//! replid, so its replicas reconnect and continue partially). While a failover is on, REPLICAOF
//! and the syncs of new replicas are refused.
//!
//! Redis's master does not send `REPLCONF GETACK` for this (a GETACK would grow the stream
//! while writes are paused): it relies on the replicas' once-a-second `REPLCONF ACK`, so a
//! failover normally completes within a second or so.

use super::args;
use super::error::{CommandError, CommandResult};
use super::pause::{self, PauseKind, PausePurpose};
use super::replication;
use super::table::{flags::*, CommandSpec};
use super::Ctx;
use crate::db::Ms;
use log::info;

pub const COMMANDS: &[CommandSpec] = &[CommandSpec::new(
    "failover",
    failover_command,
    -1,
    ADMIN | NOSCRIPT | STALE,
    "server",
)
.doc(
    "Start a coordinated failover between this server and one of its replicas.",
    "6.2.0",
)];

/// Where a coordinated failover stands (Redis: `server.failover_state`).
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
pub enum FailoverState {
    #[default]
    NoFailover,
    /// Writes are paused; waiting for the target to acknowledge the whole stream.
    WaitForSync,
    /// This server is now a replica of the target and asks it `PSYNC ... FAILOVER`.
    InProgress,
}

impl FailoverState {
    /// INFO's `master_failover_state` (Redis: `getFailoverStateString`).
    pub fn as_str(self) -> &'static str {
        match self {
            FailoverState::NoFailover => "no-failover",
            FailoverState::WaitForSync => "waiting-for-sync",
            FailoverState::InProgress => "failover-in-progress",
        }
    }
}

/// The failover under way (Redis: `server.failover_*`, `server.target_replica_*`).
#[derive(Default)]
pub struct Failover {
    pub state: FailoverState,
    /// Unix ms past which the wait for the sync ends; 0: no TIMEOUT.
    end_time: Ms,
    /// FORCE: at `end_time`, fail over to the target even if it is behind.
    force: bool,
    /// The target's announced address; `None` before a replica was chosen (FAILOVER without TO).
    target: Option<(String, u16)>,
}

impl Failover {
    pub fn in_progress(&self) -> bool {
        self.state != FailoverState::NoFailover
    }

    /// Was a TIMEOUT given?
    pub fn has_deadline(&self) -> bool {
        self.end_time != 0
    }
}

/// FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT milliseconds] — `+OK` once the failover
/// has started (it then proceeds in the background; INFO's `master_failover_state` follows
/// it), or for ABORT once it is cancelled.
pub fn failover_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    if argv.len() == 2 && args::is(argv[1], "abort") {
        if !ctx.srv.failover.in_progress() {
            return Err(CommandError::Err("No failover in progress."));
        }
        abort_failover(ctx, "Failover manually aborted");
        ctx.out.ok();
        return Ok(());
    }
    let mut timeout_ms = 0;
    let mut force = false;
    let mut target: Option<(&[u8], i64)> = None;
    let mut j = 1;
    while j < argv.len() {
        if args::is(argv[j], "timeout") && j + 1 < argv.len() && timeout_ms == 0 {
            timeout_ms = args::int(argv[j + 1]).map_err(|_| CommandError::NotInteger)?;
            if timeout_ms <= 0 {
                return Err(CommandError::Err("FAILOVER timeout must be greater than 0"));
            }
            j += 2;
        } else if args::is(argv[j], "to") && j + 2 < argv.len() && target.is_none() {
            let port = args::int(argv[j + 2]).map_err(|_| CommandError::NotInteger)?;
            target = Some((argv[j + 1], port));
            j += 3;
        } else if args::is(argv[j], "force") && !force {
            force = true;
            j += 1;
        } else {
            return Err(CommandError::Syntax);
        }
    }
    if ctx.srv.failover.in_progress() {
        return Err(CommandError::Err("FAILOVER already in progress."));
    }
    if ctx.srv.master.is_replica() {
        return Err(CommandError::Err(
            "FAILOVER is not valid when server is a replica.",
        ));
    }
    if ctx.srv.propagation.repl.replica_count() == 0 {
        return Err(CommandError::Err("FAILOVER requires connected replicas."));
    }
    if force && (timeout_ms == 0 || target.is_none()) {
        return Err(CommandError::Err(
            "FAILOVER with force option requires both a timeout and target HOST and IP.",
        ));
    }
    ctx.srv.failover.target = None;
    if let Some((host, port)) = target {
        let host = String::from_utf8_lossy(host).into_owned();
        let link = u16::try_from(port)
            .ok()
            .and_then(|p| Some((p, find_replica(ctx, &host, p)?)))
            .ok_or(CommandError::Err(
                "FAILOVER target HOST and PORT is not a replica.",
            ))?;
        let (port, (_, state)) = link;
        if state != super::fullsync::SyncState::Online {
            return Err(CommandError::Err("FAILOVER target replica is not online."));
        }
        info!("FAILOVER requested to {host}:{port}.");
        ctx.srv.failover.target = Some((host, port));
    } else {
        info!("FAILOVER requested to any replica.");
    }
    let failover = &mut ctx.srv.failover;
    failover.end_time = if timeout_ms > 0 {
        ctx.now.saturating_add(timeout_ms)
    } else {
        0
    };
    failover.force = force;
    failover.state = FailoverState::WaitForSync;
    pause::pause_clients(ctx, PausePurpose::Failover, Ms::MAX, PauseKind::Write);
    ctx.out.ok();
    Ok(())
}

/// The attached replica announced as `host:port` (its `REPLCONF ip-address`, or the address
/// it connected from, and its `listening-port`), with its acknowledged offset (Redis:
/// `findReplica`).
fn find_replica(ctx: &Ctx, host: &str, port: u16) -> Option<(i64, super::fullsync::SyncState)> {
    replication::replicas(ctx)
        .into_iter()
        .find(|(ip, link)| ip.eq_ignore_ascii_case(host) && link.listening_port == i64::from(port))
        .map(|(_, link)| (link.ack_offset, link.state))
}

/// Every loop turn, after the replicas' ACKs were read (Redis: `updateFailoverStatus`, from
/// `beforeSleep` and `replicationCron`): while waiting for the sync, ends the wait at the
/// timeout (abort, or with FORCE go ahead), or once the target (or the first replica, without
/// TO) acknowledged the whole stream, turns this server into the target's replica; the
/// handshake that follows sends `PSYNC ... FAILOVER`.
pub fn update_failover_status(ctx: &mut Ctx) {
    if ctx.srv.failover.state != FailoverState::WaitForSync {
        return;
    }
    let failover = &ctx.srv.failover;
    if failover.end_time != 0 && failover.end_time <= ctx.now {
        match failover.target.clone().filter(|_| failover.force) {
            Some((host, port)) => {
                info!("FAILOVER to {host}:{port} time out exceeded, failing over.");
                start_failover(ctx, host, port);
            }
            None => abort_failover(ctx, "Replica never caught up before timeout"),
        }
        return;
    }
    let offset = ctx.srv.propagation.repl.master_repl_offset;
    let caught_up = match &ctx.srv.failover.target {
        Some((host, port)) => {
            find_replica(ctx, host, *port).map(|(acked, _)| acked) == Some(offset)
        }
        None => {
            let any = replication::replicas(ctx)
                .into_iter()
                .find(|(_, link)| link.ack_offset == offset)
                .and_then(|(ip, link)| Some((ip, u16::try_from(link.listening_port).ok()?)));
            let found = any.is_some();
            ctx.srv.failover.target = any;
            found
        }
    };
    if let Some((host, port)) = ctx.srv.failover.target.clone().filter(|_| caught_up) {
        info!("Failover target {host}:{port} is synced, failing over.");
        start_failover(ctx, host, port);
    }
}

/// This server becomes the target's replica; its handshake will ask `PSYNC ... FAILOVER`.
fn start_failover(ctx: &mut Ctx, host: String, port: u16) {
    ctx.srv.failover.state = FailoverState::InProgress;
    super::replica::set_master(ctx, host, port);
}

/// The failover is over, done or not: forget it and let writes run (Redis:
/// `clearFailoverState`).
pub fn clear_failover_state(ctx: &mut Ctx) {
    ctx.srv.failover = Failover::default();
    pause::unpause_clients(ctx, PausePurpose::Failover);
}

/// Gives up a failover, if one is on; a server that had already turned into the target's
/// replica becomes a master again (Redis: `abortFailover`).
pub fn abort_failover(ctx: &mut Ctx, why: &str) {
    let failover = &ctx.srv.failover;
    if !failover.in_progress() {
        return;
    }
    match &failover.target {
        Some((host, port)) => info!("FAILOVER to {host}:{port} aborted: {why}"),
        None => info!("FAILOVER to any replica aborted: {why}"),
    }
    if failover.state == FailoverState::InProgress {
        super::replica::unset_master(ctx);
    }
    clear_failover_state(ctx);
}

/// `PSYNC <replid> <offset> FAILOVER` arrived (Redis: the head of `syncCommand`): a replica
/// whose master is failing over to it becomes a master — provided the requester follows the
/// same history — and then serves the PSYNC as any master would. An error is the reply.
pub fn psync_failover_request(ctx: &mut Ctx, replid: &[u8]) -> Result<(), CommandError> {
    log::warn!(
        "Failover request received for replid {}.",
        String::from_utf8_lossy(replid)
    );
    if !ctx.srv.master.is_replica() {
        return Err(CommandError::Err(
            "PSYNC FAILOVER can't be sent to a master.",
        ));
    }
    if !replid.eq_ignore_ascii_case(ctx.srv.propagation.repl.replid.as_bytes()) {
        return Err(CommandError::Err(
            "PSYNC FAILOVER replid must match my replid.",
        ));
    }
    super::replica::unset_master(ctx);
    let addr = ctx.me().addr;
    info!("MASTER MODE enabled (failover request from '{addr}')");
    Ok(())
}
