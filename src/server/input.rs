//! Reading requests and running them (Redis: `networking.c`, `readQueryFromClient` and
//! `processInputBuffer`).
//!
//! `read_query_from_client` reads one share (16 KB, more for a big argument being received)
//! from the socket into the client's `QueryBuffer`; `process_input_buffer` then parses and runs
//! every complete command in it, in order, through `command::execute` (the one check path), and
//! leaves an incomplete tail for the next read. Replies are appended to the client's reply
//! buffer and written later, once, in `before_sleep`. The same functions serve the main loop and
//! the restricted turn run while a script is busy (`Net::caller` tells `execute` which).

use super::{unix_ms, Net};
use crate::command;
use crate::command::client::PROTO_IOBUF_LEN;
use crate::net::Connection;
use crate::resp::parse::{ParseLimits, ParseOutcome};
use log::warn;
use std::io::{self, Read};

use crate::command::client::BIG_ARG;

/// Pending output below this is never checked against `client-output-buffer-limit` after a
/// command (Redis does not count its 16 KB static reply buffer either); above it, every
/// command's reply is, as Redis checks on every `addReply`.
const OUTPUT_LIMIT_CHECK_FLOOR: usize = 16 * 1024;

/// Reads of the master's link in one turn during a full sync's transfer (each takes what the
/// socket has, up to the query buffer's free space); the rest is read the next turn.
const MASTER_LINK_SHARES_PER_TURN: usize = 64;

impl Net<'_> {
    /// Reads one share of what the socket has, then runs every complete command. A read that
    /// fills the whole share may have left more in the socket: the client is then put on
    /// `clients_pending_read` and read again next turn, after the other ready clients (mio is
    /// edge-triggered: no new event would come for bytes already there).
    ///
    /// The exception is a big argument being received: it is read on while the socket has
    /// more of it, as Redis reads the rest of a big bulk in one call. Its memory is then
    /// counted (and client eviction sees it) before other clients' commands run. Each step at
    /// most doubles the buffer, so what is allocated stays within twice what was received.
    /// The link to our master is read on too while it carries the handshake and the image
    /// (see `read_share`).
    pub fn read_query_from_client(&mut self, key: usize) {
        let mut shares = 0;
        while self.read_share(key) {
            let Some(c) = self.clients.get_mut(key) else {
                return;
            };
            let receiving_big_arg = c.parser_need_hint().is_some_and(|need| need >= BIG_ARG);
            // The master's link reads on during the transfer, up to a megabyte a turn, the
            // rest next turn (`read_share` stops a diskless load's reading earlier once it
            // has enough to parse).
            let receiving_image = c.is_master && self.state.master.handshaking();
            if !(receiving_big_arg || receiving_image) || c.close_asap || c.close_after_reply {
                return;
            }
            shares += 1;
            if receiving_image && shares >= MASTER_LINK_SHARES_PER_TURN {
                if !c.pending_read {
                    c.pending_read = true;
                    self.state.clients_pending_read.push(key);
                }
                return;
            }
        }
    }

    /// One share of [`Self::read_query_from_client`]; true if it filled the share (the
    /// socket may hold more).
    fn read_share(&mut self, key: usize) -> bool {
        if self.busy_client == Some(key) {
            return false;
        }
        let Some(c) = self.clients.get_mut(key) else {
            return false;
        };
        c.pending_read = false;
        // A replica loading its master's image reads the link only as fast as it parses
        // (`master_sync_load_slice` resumes the reading).
        if c.is_master && !self.state.master.load_wants_input(c.query_buf.unread()) {
            self.state.master.read_paused = true;
            return false;
        }
        // A big argument gets room for all of it in few steps, but never more than about
        // twice what the client has really sent: the buffer is zero-filled when it grows, so
        // trusting an announced `$536870912` would let any client make us touch 512 MB.
        let want = match c.parser_need_hint() {
            Some(need) if need >= BIG_ARG => need.min(c.query_buf.len().max(BIG_ARG)),
            _ => PROTO_IOBUF_LEN,
        };
        let spare = c.query_buf.spare(want);
        let asked = spare.len();
        let Some(socket) = c.socket.as_mut() else {
            return false;
        };
        let n = loop {
            match socket.read(&mut spare[..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // A TLS handshake answer the socket could not take yet: flush it when
                    // the socket is writable.
                    if c.socket.as_ref().is_some_and(Connection::wants_write) {
                        self.queue_write(key);
                    }
                    return false;
                }
                Err(_) => {
                    self.close_client(key);
                    return false;
                }
            }
        };
        if n == 0 {
            // Orderly close by the peer. Redis frees the client at once (replies that could
            // not be delivered are dropped with it).
            self.close_client(key);
            return false;
        }
        c.query_buf.commit(n);
        c.last_interaction = unix_ms();
        let stats = &mut self.state.stats;
        stats.total_reads_processed += 1;
        if c.is_master {
            stats.total_net_repl_input_bytes += n as u64;
        } else {
            stats.total_net_input_bytes += n as u64;
        }
        let limit = self.state.config.client_query_buffer_limit;
        if c.query_buf.len() > limit && !c.is_master {
            warn!(
                "Closing client that reached max query buffer length: id={} addr={} (qbuf={})",
                c.id,
                c.addr,
                c.query_buf.len()
            );
            self.state.stats.client_query_buffer_limit_disconnections += 1;
            self.close_client(key);
            return false;
        }
        if n == asked {
            c.pending_read = true;
            self.state.clients_pending_read.push(key);
        }
        // The link to our master during the handshake and the transfer is read until the
        // socket says WouldBlock: a short read does not prove the master did not close the
        // link right after (edge-triggered, its EOF would never be reported again).
        let filled = n == asked || (c.is_master && self.state.master.handshaking());
        if c.is_master && !self.master_link_input(key) {
            return filled;
        }
        self.process_input_buffer(key);
        filled
    }

    /// Parses and runs every complete command in the client's query buffer (Redis:
    /// `processInputBuffer`). Stops early if the client blocks (BLPOP), is to be closed, or
    /// its pending replies pass `client-output-buffer-limit` (it is then closed).
    pub fn process_input_buffer(&mut self, key: usize) {
        let now = unix_ms();
        let caller = self.caller;
        let Some(c) = self.clients.get_mut(key) else {
            return;
        };
        // Move the buffers out of the client so commands can borrow the client slab freely.
        let query = std::mem::take(&mut c.query_buf);
        c.query_buf_in_batch = (query.len(), query.capacity() - query.len());
        let mut parser = std::mem::take(&mut c.parser);
        let mut out = std::mem::take(&mut c.reply);
        let limits = ParseLimits {
            max_bulk_len: self.state.config.proto_max_bulk_len,
            authenticated: c.authenticated,
        };
        let mut db = c.db;
        let is_master = c.is_master;
        let mut consumed = 0;
        let data = query.unread();
        // Reused for every multibulk command of this batch: borrows `data`, never the parser.
        let mut argv: Vec<&[u8]> = Vec::with_capacity(8);
        while let Some(c) = self.clients.get(key) {
            if c.blocked.is_some() || c.postponed || c.close_after_reply || c.close_asap {
                break;
            }
            let rest = &data[consumed..];
            if rest.is_empty() {
                break;
            }
            match parser.parse(rest, &limits) {
                Ok(ParseOutcome::Complete { consumed: n }) => {
                    let mut ctx = self.ctx(key, db, &mut out, now);
                    let reply_start = ctx.out.len();
                    if is_master {
                        command::replica::begin_master_command(&mut ctx);
                    }
                    if parser.is_inline() {
                        let inline: Vec<&[u8]> =
                            parser.inline_args.iter().map(|a| a.as_slice()).collect();
                        if !inline.is_empty() {
                            command::execute(&mut ctx, &inline, caller);
                        }
                    } else if !parser.spans.is_empty() {
                        argv.clear();
                        argv.extend(parser.spans.iter().map(|&(s, e)| &rest[s..e]));
                        command::execute(&mut ctx, &argv, caller);
                    }
                    let postponed = ctx.clients.get(key).is_some_and(|c| c.postponed);
                    if is_master {
                        command::replica::end_master_command(&mut ctx);
                        // A command held by CLIENT PAUSE is not applied yet: it is counted
                        // (and passed on) when it runs.
                        if !postponed {
                            let name: &[u8] = if parser.is_inline() {
                                parser.inline_args.first().map_or(&[], |a| a.as_slice())
                            } else {
                                parser.spans.first().map_or(&[], |&(s, e)| &rest[s..e])
                            };
                            command::replica::master_command_done(
                                &mut ctx,
                                name,
                                &rest[..n],
                                reply_start,
                            );
                        }
                    }
                    db = ctx.db;
                    parser.reset();
                    if postponed {
                        // CLIENT PAUSE: the request runs again, from the start, later.
                        break;
                    }
                    consumed += n;
                    if out.pending_len() > OUTPUT_LIMIT_CHECK_FLOOR {
                        self.close_if_output_limit_reached(key, &out, now);
                    }
                }
                Ok(ParseOutcome::Incomplete { .. }) => break,
                Err(err) => {
                    out.error(&format!("ERR Protocol error: {}", err.0));
                    if let Some(c) = self.clients.get_mut(key) {
                        warn!(
                            "Protocol error ({}) from client: id={} addr={}",
                            err.0, c.id, c.addr
                        );
                        c.close_after_reply = true;
                    }
                    parser.reset();
                    break;
                }
            }
        }
        drop(argv);
        // The client may have been killed by its own command (CLIENT KILL, SHUTDOWN): then the
        // buffers simply go away with it.
        let Some(c) = self.clients.get_mut(key) else {
            return;
        };
        let mut query = query;
        query.consume(consumed);
        c.query_buf = query;
        c.parser = parser;
        c.db = db;
        // Replies other clients queued for this one while it ran (Pub/Sub to self) come after.
        if !c.reply.is_empty() {
            out.append(&mut c.reply);
        }
        c.reply = out;
        self.queue_write(key);
    }

    /// Input from the link to our master: during the handshake and the transfer it is the
    /// replication protocol's (`command::replica`); true when what is left is the stream,
    /// to be run as commands.
    fn master_link_input(&mut self, key: usize) -> bool {
        if !self.state.master.handshaking() {
            return true;
        }
        let Some(c) = self.clients.get_mut(key) else {
            return false;
        };
        let mut out = std::mem::take(&mut c.reply);
        let mut ctx = self.ctx(key, 0, &mut out, unix_ms());
        command::replica::handshake_input(&mut ctx);
        let db = ctx.db;
        let Some(c) = self.clients.get_mut(key) else {
            return false;
        };
        c.db = db;
        out.append(&mut c.reply);
        c.reply = out;
        self.queue_write(key);
        self.state.master.is_connected() && self.state.master.is_conn(key)
    }

    /// One slice of a replica's load of its master's image, once per loop turn while it has
    /// something to parse (see `replica::load_slice`). A link read held off meanwhile is read
    /// again once the load wants more; when the load finished, the stream that followed the
    /// image runs.
    pub fn master_sync_load_slice(&mut self) {
        let Some(key) = self.state.master.conn else {
            return;
        };
        let Some(c) = self.clients.get_mut(key) else {
            return;
        };
        if self.state.master.load_has_work(c.query_buf.unread()) {
            let mut out = std::mem::take(&mut c.reply);
            let db = c.db;
            let mut ctx = self.ctx(key, db, &mut out, unix_ms());
            command::replica::load_slice(&mut ctx);
            let db = ctx.db;
            let Some(c) = self.clients.get_mut(key) else {
                return;
            };
            c.db = db;
            out.append(&mut c.reply);
            c.reply = out;
            self.queue_write(key);
            if self.state.master.is_connected() && self.state.master.is_conn(key) {
                self.process_input_buffer(key);
            }
        }
        let Some(c) = self.clients.get_mut(key) else {
            return;
        };
        if self.state.master.read_paused && self.state.master.load_wants_input(c.query_buf.unread())
        {
            self.state.master.read_paused = false;
            if !c.pending_read {
                c.pending_read = true;
                self.state.clients_pending_read.push(key);
            }
        }
    }

    /// The caller's replies (moved out of it into `out` while its commands run) passed its
    /// output limit: schedule it to be closed, which also stops its pipeline (Redis:
    /// `closeClientOnOutputBufferLimitReached`, called from `addReply`).
    fn close_if_output_limit_reached(
        &mut self,
        key: usize,
        out: &crate::resp::reply::ReplyBuffer,
        now: i64,
    ) {
        let limits = &self.state.config.client_output_buffer_limit;
        let Some(c) = self.clients.get_mut(key) else {
            return;
        };
        let class = c.output_class();
        if c.close_asap
            || !command::client::output_limit_reached(
                limits,
                out.pending_len(),
                0,
                class,
                &mut c.soft_limit_reached_at,
                now,
            )
        {
            return;
        }
        c.close_for_output_limit(&mut self.state.stats.client_output_buffer_limit_disconnections);
    }

    /// Resumes the pipelined input of every client unblocked this turn (Redis:
    /// `processUnblockedClients`). Running that input may block or unblock clients again.
    pub fn process_unblocked_clients(&mut self) {
        loop {
            let batch = command::blocked::take_unblocked(self.state);
            if batch.is_empty() {
                return;
            }
            for key in batch {
                let resumable = self.clients.get(key).is_some_and(|c| {
                    c.blocked.is_none() && !c.postponed && !c.query_buf.is_empty()
                });
                if resumable {
                    self.process_input_buffer(key);
                }
            }
        }
    }
}
