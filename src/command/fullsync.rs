//! A replica's full synchronization, master side: the snapshot made in a forked child and
//! sent to the replica while the loop goes on serving (Redis: `replication.c` —
//! `syncCommand`'s full-resync cases, `startBgsaveForReplication`,
//! `replicationSetupSlaveForFullResync`, `updateSlavesWaitingBgsave`, `sendBulkToSlave`,
//! `rdbPipeReadHandler`, `shouldStartChildReplication`, `replicaPutOnline`).
//!
//! # The states of a replica
//!
//! ```text
//!  SYNC / PSYNC (no partial resync possible)
//!    └─> WaitBgsaveStart ── a child forks for it ──> WaitBgsaveEnd ──┬─ disk: child done ──> SendBulk ── file sent ──> Online
//!        (a diskless sync waits               (+FULLRESYNC <id> <offset>)  └─ diskless: child done ───────────────────> Online
//!         repl-diskless-sync-delay,                                                (stream sent after its first REPLCONF ACK)
//!         another child is running)
//! ```
//!
//! The snapshot describes the dataset at the instant of the fork, and the replica must apply
//! exactly the stream written after that instant. So the offset announced in `+FULLRESYNC` is
//! `master_repl_offset` at the fork, and the replica's cursor in the shared replication
//! buffer ([`super::replbuf`]) is set to the next offset: the buffer keeps the stream from
//! there on for it, like for any other replica — but *held*: nothing of it is written to the
//! socket until the whole snapshot has been. The bytes that go first live in an
//! [`RdbTransfer`] beside the output buffer: the `+FULLRESYNC` line, keep-alive newlines, then
//! the snapshot. The writer (`server/output.rs`) always empties the transfer first, then the
//! reply buffer, then sends the stream from the cursor. What a held stream keeps alive counts
//! against `client-output-buffer-limit replica`, as in Redis: a replica whose sync takes too
//! long under heavy writes is dropped and starts again.
//!
//! # Two ways to send the snapshot
//!
//! - **Disk** (`repl-diskless-sync no`, or a replica without `capa eof`): the child writes
//!   the RDB file as BGSAVE does; when it is done each waiting replica gets `$<size>\r\n`
//!   then the file, read 64 KB at a time as its socket accepts it. Several replicas may share
//!   one file: a replica arriving while the save runs takes the offset (and so the cursor) of
//!   one that waits for it.
//! - **Diskless** (`repl-diskless-sync yes`, the default): the child writes
//!   `$EOF:<40 random characters>\r\n`, the RDB, and the 40 characters again into a pipe;
//!   the loop reads the pipe 16 KB at a time ([`pump_rdb_pipe`]) and queues each piece for
//!   every replica being synced. It stops reading while one of them has more than
//!   [`PIPE_HIGH_WATER`] bytes queued, so the slowest replica paces the child, as Redis's
//!   `rdb_pipe_numconns_writing` does, and memory stays bounded. Since every replica of a
//!   diskless sync must be there when the child starts, the first one waits
//!   `repl-diskless-sync-delay` seconds for others (or until
//!   `repl-diskless-sync-max-replicas` are waiting).
//!
//! A replica that goes online after a diskless sync gets its held stream only after its first
//! `REPLCONF ACK`: it knows where the snapshot ends by the mark, and keeping the stream apart
//! from the snapshot keeps that search simple (Redis: `repl_start_cmd_stream_on_ack`).

use super::client::Client;
use super::persistence;
use super::replication::{config_flag, config_i64, random_id};
use super::Ctx;
use crate::db::Ms;
use crate::persist::rdb;
use crate::util::process::ChildExit;
use log::{info, warn};
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};

/// Where a replica's synchronization stands (Redis: `slave->replstate`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SyncState {
    /// Waiting for a snapshot to start: a diskless sync waiting for more replicas, or another
    /// child (an AOF rewrite, a BGSAVE it could not join) running.
    WaitBgsaveStart,
    /// A child is making its snapshot; the stream since the fork is held for it.
    WaitBgsaveEnd,
    /// The snapshot file is being sent.
    SendBulk,
    /// Synchronized: it reads the stream.
    #[default]
    Online,
}

impl SyncState {
    /// The name INFO replication shows (`state=`).
    pub fn name(self) -> &'static str {
        match self {
            SyncState::WaitBgsaveStart | SyncState::WaitBgsaveEnd => "wait_bgsave",
            SyncState::SendBulk => "send_bulk",
            SyncState::Online => "online",
        }
    }
}

/// What a diskless snapshot child writes into: its pipe, read by the loop.
pub struct RdbPipe {
    receiver: mio::unix::pipe::Receiver,
}

/// The token the diskless pipe is registered under in the loop's poll.
pub const RDB_PIPE_TOKEN: mio::Token = mio::Token(usize::MAX - 3);

/// How much of the diskless pipe may be queued for one replica before the loop stops reading
/// the pipe (and so the child stops writing) until that replica's socket has taken it.
pub const PIPE_HIGH_WATER: usize = 256 * 1024;

/// How much of the pipe is read at once (Redis: `PROTO_IOBUF_LEN`).
const PIPE_READ_LEN: usize = 16 * 1024;

/// How much of the RDB file is read at once for a disk-based transfer.
const FILE_READ_LEN: usize = 64 * 1024;

/// The bytes a replica gets before its stream: the `+FULLRESYNC` line, keep-alive newlines,
/// then the snapshot, from the RDB file or from the diskless pipe.
#[derive(Default)]
pub struct RdbTransfer {
    queued: Vec<u8>,
    /// How much of `queued` was written already.
    sent: usize,
    /// Disk-based: the rest of the RDB file.
    file: Option<File>,
    /// Diskless: the pipe will queue more.
    from_pipe: bool,
    /// Since when a diskless transfer could not write everything it had (Unix ms), for
    /// `repl-timeout`; 0 while it keeps up (Redis: `repl_last_partial_write`).
    stalled_since: Ms,
}

impl RdbTransfer {
    fn queue(&mut self, bytes: &[u8]) {
        if self.sent == self.queued.len() {
            self.queued.clear();
            self.sent = 0;
        }
        self.queued.extend_from_slice(bytes);
    }

    /// Bytes queued and not yet written.
    pub fn pending(&self) -> usize {
        self.queued.len() - self.sent
    }

    /// Makes bytes ready to write, reading the next piece of the file if the queue is empty.
    /// `Ok(false)`: nothing to write now.
    pub fn fill(&mut self) -> io::Result<bool> {
        if self.pending() == 0 {
            if let Some(file) = self.file.as_mut() {
                self.queued.resize(FILE_READ_LEN, 0);
                self.sent = 0;
                let n = file.read(&mut self.queued)?;
                self.queued.truncate(n);
                if n == 0 {
                    self.file = None;
                }
            }
        }
        Ok(self.pending() > 0)
    }

    /// The bytes [`fill`](Self::fill) made ready.
    pub fn ready(&self) -> &[u8] {
        &self.queued[self.sent..]
    }

    /// `n` bytes of [`ready`](Self::ready) were written.
    pub fn consume(&mut self, n: usize, now: Ms) {
        self.sent += n;
        if self.pending() == 0 {
            self.stalled_since = 0;
        } else if self.stalled_since == 0 {
            self.stalled_since = now;
        }
    }

    /// Everything there is to send was sent.
    pub fn finished(&self) -> bool {
        self.pending() == 0 && self.file.is_none() && !self.from_pipe
    }

    /// Something waits to be written (the socket should say when it can take more).
    pub fn has_output(&self) -> bool {
        self.pending() > 0 || self.file.is_some()
    }
}

/// "ip:listening-port", how Redis names a replica in its log (`replicationGetSlaveName`).
pub fn replica_name(c: &Client) -> String {
    let ip = c
        .replica
        .announced_ip
        .clone()
        .unwrap_or_else(|| c.addr.ip());
    match c.replica.listening_port {
        0 => format!("{ip}:<unknown-replica-port>"),
        port => format!("{ip}:{port}"),
    }
}

/// The slab keys of the attached replicas for which `pred` holds, in attach order.
fn replicas_where(ctx: &Ctx, pred: impl Fn(&Client) -> bool) -> Vec<usize> {
    let repl = &ctx.srv.propagation.repl;
    repl.replica_keys()
        .iter()
        .copied()
        .filter(|&k| ctx.clients.get(k).is_some_and(&pred))
        .collect()
}

/// A replica waiting for a disk snapshot went away. If no other replica waits for that
/// snapshot and no save point wants it, the child is killed: it would only hold memory and
/// delay the next sync (Redis: `freeClient` with `anyOtherSlaveWaitRdb`).
pub fn replica_closed(ctx: &mut Ctx, state: SyncState) {
    if state != SyncState::WaitBgsaveEnd || !ctx.srv.config.save.is_empty() {
        return;
    }
    let disk_child = ctx
        .srv
        .rdb
        .child
        .as_ref()
        .is_some_and(|child| child.target == persistence::SaveTarget::Disk);
    if disk_child && replicas_where(ctx, |c| c.replica.state == SyncState::WaitBgsaveEnd).is_empty()
    {
        persistence::kill_bgsave_child(ctx);
    }
}

/// Queues `bytes` ahead of `key`'s stream and queues the client for writing.
fn send_before_stream(ctx: &mut Ctx, key: usize, bytes: &[u8]) {
    let Some(c) = ctx.clients.get_mut(key) else {
        return;
    };
    c.rdb_transfer
        .get_or_insert_with(Default::default)
        .queue(bytes);
    ctx.queue_write(key);
}

/// The caller of SYNC / PSYNC needs a full synchronization (it is attached, in
/// `WaitBgsaveStart`): join the snapshot being made, or start one, or wait (Redis: the three
/// cases at the end of `syncCommand`).
pub fn full_sync_requested(ctx: &mut Ctx) {
    let id = ctx.id;
    if let Some(child) = &ctx.srv.rdb.child {
        if child.target == persistence::SaveTarget::Disk {
            // Another replica waiting for this save reads the stream from its fork on: so
            // does this one (Redis: copyReplicaOutputBuffer).
            let me_eof = ctx.me().replica.capa_eof;
            let peer = ctx
                .srv
                .propagation
                .repl
                .replica_keys()
                .iter()
                .find_map(|&k| {
                    let c = ctx.clients.get(k)?;
                    let link = &c.replica;
                    (k != id
                        && link.state == SyncState::WaitBgsaveEnd
                        && (me_eof || !link.capa_eof))
                        .then_some(link.initial_offset)
                });
            match peer {
                Some(offset) => {
                    setup_for_full_resync(ctx, id, offset);
                    info!("Waiting for end of BGSAVE for SYNC");
                }
                None => info!(
                    "Can't attach the replica to the current BGSAVE. Waiting for next BGSAVE for SYNC"
                ),
            }
        } else {
            info!("Current BGSAVE has socket target. Waiting for next BGSAVE for SYNC");
        }
        return;
    }
    let diskless = config_flag(ctx, "repl-diskless-sync", true) && ctx.me().replica.capa_eof;
    if diskless && config_i64(ctx, "repl-diskless-sync-delay", 5) > 0 {
        // Started by the cron (start_pending_fork) once other replicas had time to come.
        info!("Delay next BGSAVE for diskless SYNC");
    } else if ctx.srv.aof.child.is_some() {
        info!("No BGSAVE in progress, but another BG operation is active. BGSAVE for replication delayed");
    } else {
        let eof = ctx.me().replica.capa_eof;
        start_bgsave_for_replication(ctx, eof);
    }
}

/// Starts the snapshot replicas in `WaitBgsaveStart` are waiting for, when it is time: no
/// child runs, and the sync is disk-based, or enough replicas wait, or the first one waited
/// `repl-diskless-sync-delay` seconds (Redis: `replicationStartPendingFork`,
/// `shouldStartChildReplication`). Called by the cron and when a child ends.
pub fn start_pending_fork(ctx: &mut Ctx) {
    if ctx.srv.rdb.child.is_some() || ctx.srv.aof.child.is_some() {
        return;
    }
    let now = ctx.now;
    let (mut waiting, mut max_idle_secs, mut all_eof) = (0, 0, true);
    for &key in ctx.srv.propagation.repl.replica_keys() {
        if let Some(c) = ctx.clients.get(key) {
            if c.replica.state == SyncState::WaitBgsaveStart {
                waiting += 1;
                max_idle_secs = max_idle_secs.max((now - c.last_interaction) / 1000);
                all_eof &= c.replica.capa_eof;
            }
        }
    }
    if waiting == 0 {
        return;
    }
    let max_replicas = config_i64(ctx, "repl-diskless-sync-max-replicas", 0);
    let due = !config_flag(ctx, "repl-diskless-sync", true)
        || (max_replicas > 0 && waiting >= max_replicas)
        || max_idle_secs >= config_i64(ctx, "repl-diskless-sync-delay", 5);
    if due {
        start_bgsave_for_replication(ctx, all_eof);
    }
}

/// Forks the child that makes the snapshot for every replica in `WaitBgsaveStart`: into the
/// replicas' sockets (through the pipe) if diskless sync is on and they all understand
/// `$EOF:`, else into the RDB file (Redis: `startBgsaveForReplication`).
fn start_bgsave_for_replication(ctx: &mut Ctx, all_eof: bool) {
    let socket_target = config_flag(ctx, "repl-diskless-sync", true) && all_eof;
    info!(
        "Starting BGSAVE for SYNC with target: {}",
        if socket_target {
            "replicas sockets"
        } else {
            "disk"
        }
    );
    // The image carries the stream's position; a replica proxying its master's stream
    // tells in which database that stream goes on.
    let opts = persistence::save_options(ctx.srv, ctx.now);
    let offset = ctx.srv.propagation.repl.master_repl_offset;
    let started = if socket_target {
        fork_into_pipe(ctx, &opts)
    } else {
        persistence::bgsave_with(ctx.dbs, ctx.srv, ctx.now, &opts)
    };
    let waiting = replicas_where(ctx, |c| c.replica.state == SyncState::WaitBgsaveStart);
    if started.is_err() {
        warn!("BGSAVE for replication failed");
        for key in waiting {
            super::replication::forget_client(&mut ctx.srv.propagation.repl, key);
            if let Some(c) = ctx.clients.get_mut(key) {
                c.replica = Default::default();
                c.rdb_transfer = None;
                c.close_after_reply = true;
            }
            if let Some(out) = ctx.reply_to(key) {
                out.error("ERR BGSAVE failed, replication can't continue");
            }
        }
        return;
    }
    for key in waiting {
        setup_for_full_resync(ctx, key, offset);
        if socket_target {
            if let Some(c) = ctx.clients.get_mut(key) {
                c.rdb_transfer
                    .get_or_insert_with(Default::default)
                    .from_pipe = true;
            }
        }
    }
}

/// Forks a child that writes the snapshot, framed by an EOF mark, into a new pipe the loop
/// reads (Redis: `rdbSaveToSlavesSockets`).
fn fork_into_pipe(ctx: &mut Ctx, opts: &rdb::SaveOptions) -> io::Result<()> {
    let (sender, mut receiver) = mio::unix::pipe::new()?;
    let mark = random_id(&mut ctx.srv.rng);
    let work = |_: &_| {
        // The child writes at its own pace: a full pipe makes it wait, not fail.
        if sender.set_nonblocking(false).is_err() {
            return false;
        }
        let mut out = BufWriter::with_capacity(1 << 16, &sender);
        let written = out
            .write_all(format!("$EOF:{mark}\r\n").as_bytes())
            .and_then(|()| rdb::save(ctx.dbs, opts, &mut out))
            .and_then(|()| out.write_all(mark.as_bytes()))
            .and_then(|()| out.flush());
        written.is_ok()
    };
    persistence::fork_snapshot_child(ctx.srv, ctx.now, persistence::SaveTarget::Replicas, work)?;
    // The parent keeps only the read end: the pipe ends (EOF) when the child does.
    drop(sender);
    let registered = match ctx.srv.io.as_ref() {
        Some(io) => io
            .registry
            .register(&mut receiver, RDB_PIPE_TOKEN, mio::Interest::READABLE),
        None => Ok(()),
    };
    if let Err(e) = registered {
        warn!("Can't watch the diskless sync pipe: {e}");
        persistence::kill_bgsave_child(ctx);
        return Err(e);
    }
    ctx.srv.propagation.repl.rdb_pipe = Some(RdbPipe { receiver });
    Ok(())
}

/// The replica's snapshot is being made from now on; it continues from `offset` (Redis:
/// `replicationSetupSlaveForFullResync`). A PSYNC caller learns the id and offset; SYNC's
/// replicas did not ask.
fn setup_for_full_resync(ctx: &mut Ctx, key: usize, offset: i64) {
    let repl = &mut ctx.srv.propagation.repl;
    // The snapshot's replicas read the stream from a SELECT on.
    repl.force_select();
    let line = format!("+FULLRESYNC {} {offset}\r\n", repl.replid);
    let Some(c) = ctx.clients.get_mut(key) else {
        return;
    };
    c.replica.state = SyncState::WaitBgsaveEnd;
    c.replica.initial_offset = offset;
    // Its stream starts after the snapshot, held in the shared buffer until it is sent.
    c.replica.stream_offset = Some(offset + 1);
    if !c.replica.pre_psync {
        send_before_stream(ctx, key, line.as_bytes());
    }
}

/// A snapshot child ended (Redis: `updateSlavesWaitingBgsave`, after
/// `backgroundSaveDoneHandler`): on failure its replicas are dropped (they will ask again);
/// after a disk save each one starts receiving the file; after a diskless one they are
/// online.
pub fn bgsave_done(ctx: &mut Ctx, exit: ChildExit, target: persistence::SaveTarget) {
    let ok = exit.success();
    if target == persistence::SaveTarget::Replicas {
        // What is left in the pipe is still read after the child ended; only a failure
        // makes it worthless.
        if !ok {
            drop_pipe(ctx);
        }
    }
    let keys = ctx.srv.propagation.repl.replica_keys().to_vec();
    let now = ctx.now;
    for key in keys {
        let Some(c) = ctx.clients.get_mut(key) else {
            continue;
        };
        if c.replica.state != SyncState::WaitBgsaveEnd {
            continue;
        }
        if !ok {
            warn!("SYNC failed. BGSAVE child returned an error");
            c.close_asap = true;
            ctx.queue_write(key);
            continue;
        }
        if target == persistence::SaveTarget::Replicas {
            info!(
                "Streamed RDB transfer with replica {} succeeded (socket). Waiting for REPLCONF ACK from slave to enable streaming",
                replica_name(c)
            );
            put_online(c, now);
            c.replica.stream_on_ack = true;
            continue;
        }
        let opened = File::open(persistence::rdb_path(&ctx.srv.config))
            .and_then(|f| f.metadata().map(|m| (f, m.len())));
        match opened {
            Ok((file, size)) => {
                c.replica.state = SyncState::SendBulk;
                let transfer = c.rdb_transfer.get_or_insert_with(Default::default);
                transfer.queue(format!("${size}\r\n").as_bytes());
                transfer.file = Some(file);
                ctx.queue_write(key);
            }
            Err(e) => {
                warn!("SYNC failed. Can't open/stat DB after BGSAVE: {e}");
                c.close_asap = true;
                ctx.queue_write(key);
            }
        }
    }
}

/// The replica is synchronized: it reads the stream from now on (Redis: `replicaPutOnline`).
pub fn put_online(c: &mut Client, now: Ms) {
    c.replica.state = SyncState::Online;
    // No timeout for the time the transfer took.
    c.replica.ack_time = now;
    info!("Synchronization with replica {} succeeded", replica_name(c));
}

/// The writer sent the last byte of a replica's transfer (`server/output.rs`): a disk-based
/// sync is complete (Redis: the end of `sendBulkToSlave`); a diskless one waits for its
/// child's exit status ([`bgsave_done`]).
pub fn transfer_finished(c: &mut Client, now: Ms) {
    c.rdb_transfer = None;
    if c.replica.state == SyncState::SendBulk {
        put_online(c, now);
    }
}

/// The first REPLCONF ACK after a diskless sync: the held stream may go now (Redis:
/// `replicaStartCommandStream`).
pub fn ack_received(ctx: &mut Ctx) {
    let id = ctx.id;
    let me = ctx.me();
    if me.replica.stream_on_ack && me.replica.state == SyncState::Online {
        me.replica.stream_on_ack = false;
        ctx.queue_write(id);
    }
}

/// Reads what the diskless child wrote into its pipe and queues it for every replica being
/// synced, until the pipe is empty, or a replica has [`PIPE_HIGH_WATER`] bytes queued (the
/// loop comes back once the writes drained them: from the pipe's readable event, and from
/// `before_sleep`), or the pipe ends (Redis: `rdbPipeReadHandler`).
pub fn pump_rdb_pipe(ctx: &mut Ctx) {
    let mut buf = [0u8; PIPE_READ_LEN];
    loop {
        if ctx.srv.propagation.repl.rdb_pipe.is_none() {
            return;
        }
        let receivers = replicas_where(ctx, |c| {
            c.rdb_transfer.as_ref().is_some_and(|t| t.from_pipe)
        });
        if receivers.is_empty() {
            warn!("Diskless rdb transfer, last replica dropped, killing fork child.");
            drop_pipe(ctx);
            persistence::kill_bgsave_child(ctx);
            return;
        }
        let full = receivers.iter().any(|&k| {
            let transfer = ctx.clients.get(k).and_then(|c| c.rdb_transfer.as_ref());
            transfer.is_some_and(|t| t.pending() >= PIPE_HIGH_WATER)
        });
        if full {
            return;
        }
        let Some(pipe) = ctx.srv.propagation.repl.rdb_pipe.as_mut() else {
            return;
        };
        let n = match pipe.receiver.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                warn!("Diskless rdb transfer, read error sending DB to replicas: {e}");
                for key in receivers {
                    if let Some(c) = ctx.clients.get_mut(key) {
                        c.close_asap = true;
                    }
                    ctx.queue_write(key);
                }
                drop_pipe(ctx);
                return;
            }
        };
        if n == 0 {
            warn!(
                "Diskless rdb transfer, done reading from pipe, {} replicas still up.",
                receivers.len()
            );
            drop_pipe(ctx);
        }
        for key in receivers {
            if let Some(transfer) = ctx
                .clients
                .get_mut(key)
                .and_then(|c| c.rdb_transfer.as_mut())
            {
                if n == 0 {
                    transfer.from_pipe = false;
                } else {
                    transfer.queue(&buf[..n]);
                }
            }
            ctx.queue_write(key);
        }
        if n == 0 {
            return;
        }
    }
}

/// Stops watching the diskless pipe and closes it.
fn drop_pipe(ctx: &mut Ctx) {
    if let Some(mut pipe) = ctx.srv.propagation.repl.rdb_pipe.take() {
        if let Some(io) = ctx.srv.io.as_ref() {
            let _ = io.registry.deregister(&mut pipe.receiver);
        }
    }
}

/// Once a second (Redis: `replicationCron`): replicas waiting for a disk-based snapshot get a
/// newline so that their link does not look dead; a diskless transfer that could not write
/// for `repl-timeout` is dropped, since it holds back the child and every other replica.
pub fn sync_cron(ctx: &mut Ctx) {
    let timeout_ms = config_i64(ctx, "repl-timeout", 60).max(1) * 1000;
    let socket_child = ctx
        .srv
        .rdb
        .child
        .as_ref()
        .is_some_and(|c| c.target == persistence::SaveTarget::Replicas);
    let now = ctx.now;
    for key in ctx.srv.propagation.repl.replica_keys().to_vec() {
        let Some(c) = ctx.clients.get_mut(key) else {
            continue;
        };
        match c.replica.state {
            SyncState::WaitBgsaveStart => send_before_stream(ctx, key, b"\n"),
            SyncState::WaitBgsaveEnd if !socket_child => send_before_stream(ctx, key, b"\n"),
            SyncState::WaitBgsaveEnd => {
                let stalled = c.rdb_transfer.as_ref().map_or(0, |t| t.stalled_since);
                if stalled != 0 && now - stalled > timeout_ms {
                    warn!(
                        "Disconnecting timedout replica (full sync): {}",
                        replica_name(c)
                    );
                    c.close_asap = true;
                    ctx.queue_write(key);
                }
            }
            _ => {}
        }
    }
}
