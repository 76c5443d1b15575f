//! Writing replies (Redis: `networking.c`, `writeToClient`, `handleClientsWithPendingWrites`,
//! and the closing half of `checkClientOutputBufferLimits`).
//!
//! Commands append to reply buffers and queue the client on `clients_pending_write`; once per
//! turn, `handle_clients_with_pending_writes` closes the clients condemned meanwhile (CLIENT
//! KILL, output limits), closes those whose pending output passed
//! `client-output-buffer-limit`, and writes the others. A write takes what the socket accepts
//! but at most `NET_MAX_WRITES_PER_EVENT` per client per turn; a client cut there stays queued
//! for the next turn, one whose socket is full gets writable interest until it drains.

use super::{unix_ms, Net};
use crate::command::fullsync::{self, RdbTransfer};
use crate::net::Connection;
use log::{debug, warn};
use mio::{Interest, Token};
use std::io::{self, Write};

/// The most written to one client per turn (Redis: `NET_MAX_WRITES_PER_EVENT`), so that a
/// client fetching big values does not delay the others.
const NET_MAX_WRITES_PER_EVENT: usize = 64 * 1024;

/// Where the next bytes written to a client come from.
#[derive(Clone, Copy)]
enum Source {
    /// A replica's snapshot transfer.
    Transfer,
    /// The reply buffer.
    Reply,
    /// A replica's stream, from this offset in the shared replication buffer.
    Stream(i64),
}

impl Net<'_> {
    /// Writes every queued client (Redis: `handleClientsWithPendingWrites`, called from
    /// `beforeSleep`).
    pub fn handle_clients_with_pending_writes(&mut self) {
        let pending = std::mem::take(&mut self.state.clients_pending_write);
        for key in pending.iter().copied() {
            if self.busy_client == Some(key) {
                // Its reply is borrowed by the running script: leave it queued.
                self.state.clients_pending_write.push(key);
                continue;
            }
            let Some(c) = self.clients.get_mut(key) else {
                continue;
            };
            if !c.pending_write {
                continue;
            }
            c.pending_write = false;
            if c.close_asap {
                self.close_client(key);
                continue;
            }
            let limits = &self.state.config.client_output_buffer_limit;
            let over_limit = match (&self.state.propagation.repl.backlog, c.replica.attached) {
                (Some(backlog), true) => c.replica_output_limit_reached(limits, backlog, unix_ms()),
                _ => c.output_limit_reached(limits, unix_ms()),
            };
            if over_limit {
                c.close_for_output_limit(
                    &mut self.state.stats.client_output_buffer_limit_disconnections,
                );
                self.close_client(key);
                continue;
            }
            self.write_to_client(key);
        }
        // Reuse the allocation (it was taken so that closing clients could not alias it).
        let mut pending = pending;
        pending.clear();
        if self.state.clients_pending_write.is_empty() {
            self.state.clients_pending_write = pending;
        }
    }

    /// Writes as much of a client's pending output as the socket takes, up to
    /// `NET_MAX_WRITES_PER_EVENT` (then it stays queued for the next turn). Registers
    /// writable interest if the kernel buffer filled up; closes the client on error or when it
    /// asked to be closed after its reply. Redis: `writeToClient`.
    pub fn write_to_client(&mut self, key: usize) {
        if self.busy_client == Some(key) {
            return;
        }
        let Some(c) = self.clients.get_mut(key) else {
            return;
        };
        let mut failed = false;
        let mut written = 0;
        // Encrypted bytes left by an earlier short TLS write go first.
        let mut socket_full = false;
        match c.socket.as_mut().map(|s| s.flush_pending()) {
            Some(Ok(())) => {}
            Some(Err(e)) if e.kind() == io::ErrorKind::WouldBlock => socket_full = true,
            _ => failed = true,
        }
        // A replica being synchronized gets its transfer (the snapshot) first; then come
        // replies (a replica's `+CONTINUE`); then a replica's stream, from its cursor in the
        // shared replication buffer, once it is synchronized (`command::fullsync`,
        // `command::replbuf`).
        while !failed && !socket_full && written < NET_MAX_WRITES_PER_EVENT {
            let source = match c.rdb_transfer.as_deref_mut().map(RdbTransfer::fill) {
                Some(Ok(true)) => Source::Transfer,
                Some(Ok(false)) => {
                    if c.rdb_transfer.as_ref().is_some_and(|t| t.finished()) {
                        fullsync::transfer_finished(c, unix_ms());
                        continue;
                    }
                    break;
                }
                Some(Err(e)) => {
                    warn!("Reading the RDB file for replica id={}: {e}", c.id);
                    failed = true;
                    break;
                }
                None if !c.reply.is_empty() => Source::Reply,
                None if c.replica.holds_stream() => break,
                None => match c.replica.stream_offset {
                    Some(at) => Source::Stream(at),
                    None => break,
                },
            };
            let bytes = match source {
                Source::Transfer => c
                    .rdb_transfer
                    .as_deref()
                    .map_or(&[][..], RdbTransfer::ready),
                Source::Reply => c.reply.as_bytes(),
                Source::Stream(at) => {
                    let backlog = self.state.propagation.repl.backlog.as_ref();
                    match backlog.and_then(|b| b.chunk_at(at)) {
                        Some([]) => break,
                        Some(chunk) => chunk,
                        None => {
                            // Only a replica already dropped (its history ended) can lose
                            // its place: the buffer keeps what any listed replica needs.
                            debug!("Replica id={} lost its place in the stream", c.id);
                            failed = true;
                            break;
                        }
                    }
                }
            };
            let Some(socket) = c.socket.as_mut() else {
                failed = true;
                break;
            };
            match socket.write(bytes) {
                Ok(0) => {
                    failed = true;
                    break;
                }
                Ok(n) => {
                    let stats = &mut self.state.stats;
                    if c.replica.attached {
                        stats.total_net_repl_output_bytes += n as u64;
                    } else {
                        stats.total_net_output_bytes += n as u64;
                    }
                    match source {
                        Source::Transfer => {
                            if let Some(t) = c.rdb_transfer.as_deref_mut() {
                                t.consume(n, unix_ms());
                            }
                        }
                        Source::Reply => c.reply.consume(n),
                        Source::Stream(at) => c.replica.stream_offset = Some(at + n as i64),
                    }
                    written += n;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    debug!("Error writing to client id={}: {e}", c.id);
                    failed = true;
                    break;
                }
            }
        }
        if written > 0 {
            self.state.stats.total_writes_processed += 1;
        }
        if failed {
            return self.close_client(key);
        }
        let repl = &self.state.propagation.repl;
        let stream_end = repl.backlog.as_ref().map_or(0, |b| b.next_offset());
        let has_output = c.rdb_transfer.as_ref().is_some_and(|t| t.has_output())
            || !c.reply.is_empty()
            || (!c.replica.holds_stream()
                && c.replica.stream_offset.is_some_and(|at| at < stream_end));
        let cut_short = has_output && written >= NET_MAX_WRITES_PER_EVENT;
        if cut_short {
            // The socket may still take more: no writable event will say so. Next turn.
            if !c.pending_write {
                c.pending_write = true;
                self.state.clients_pending_write.push(key);
            }
            return;
        }
        let want_writable = has_output || c.socket.as_ref().is_some_and(Connection::wants_write);
        if want_writable != c.writable_registered {
            let interest = if want_writable {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            let registered = match (self.state.io.as_ref(), c.socket.as_mut()) {
                (Some(io), Some(socket)) => {
                    io.registry.reregister(socket, Token(key), interest).is_ok()
                }
                _ => false,
            };
            if !registered {
                return self.close_client(key);
            }
            c.writable_registered = want_writable;
        }
        if c.reply.is_empty() && c.close_after_reply {
            self.close_client(key);
        }
    }
}
