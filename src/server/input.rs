//! Reading requests and running them (Redis: `networking.c`, `readQueryFromClient` and
//! `processInputBuffer`).
//!
//! `read_from_client` fills the client's [`QueryBuffer`] from the socket; `process_input_buffer`
//! then parses and runs every complete command in it, in order, and leaves an incomplete tail
//! for the next read. Replies are appended to the client's reply buffer and written later, once,
//! in `before_sleep`.

use super::{unix_ms, Server};
use crate::command;
use crate::resp::parse::{ParseLimits, ParseOutcome};
use bytes::BytesMut;
use log::warn;
use std::io::{self, Read};

/// Bytes requested from the kernel per read (Redis: `PROTO_IOBUF_LEN`).
const READ_CHUNK: usize = 16 * 1024;
/// Arguments at least this big get the buffer sized for them in one step (Redis:
/// `PROTO_MBULK_BIG_ARG`), so a 100 MB value is read straight into place, never re-copied.
const BIG_ARG: usize = 32 * 1024;

/// A client's input buffer: bytes `[start, end)` are received but not yet executed.
///
/// Storage is a `BytesMut` whose length is its usable size, zero-filled only when it grows:
/// reads go straight into `data[end..]`, executed commands just advance `start` (Redis's
/// `qb_pos`), and the unread tail is moved to the front only when space runs out.
#[derive(Default)]
pub struct QueryBuffer {
    data: BytesMut,
    start: usize,
    end: usize,
}

impl QueryBuffer {
    /// Received bytes not yet executed.
    pub fn unread(&self) -> &[u8] {
        &self.data[self.start..self.end]
    }

    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Allocated size (CLIENT LIST `qbuf` + `qbuf-free`).
    pub fn capacity(&self) -> usize {
        self.data.len()
    }

    /// Marks `n` bytes as executed.
    pub fn consume(&mut self, n: usize) {
        self.start += n;
        debug_assert!(self.start <= self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Free space of at least `min` bytes at the end, for the next read.
    pub(crate) fn spare(&mut self, min: usize) -> &mut [u8] {
        if self.data.len() - self.end < min && self.start > 0 {
            self.data.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.data.len() - self.end < min {
            self.data.resize(self.end + min, 0);
        }
        &mut self.data[self.end..]
    }

    pub(crate) fn commit(&mut self, n: usize) {
        self.end += n;
    }

    /// Gives memory back once an idle client's buffer has grown large (Redis's
    /// `clientsCronResizeQueryBuffer`).
    pub fn shrink_if_idle(&mut self) {
        if self.is_empty() && self.data.len() > 4 * READ_CHUNK {
            self.data = BytesMut::new();
            self.start = 0;
            self.end = 0;
        }
    }
}

impl Server {
    /// Reads what the socket has, then runs every complete command. With edge-triggered
    /// readiness we must drain the socket; a read that returns less than asked for proves it is
    /// empty, which saves the extra read that would only return `WouldBlock`.
    pub(super) fn read_from_client(&mut self, key: usize) {
        loop {
            let Some(c) = self.clients.get_mut(key) else {
                return;
            };
            // A big argument gets room for all of it in few steps, but never more than about
            // twice what the client has really sent: the buffer is zero-filled when it grows, so
            // trusting an announced `$536870912` would let any client make us touch 512 MB.
            let want = match c.parser_need_hint() {
                Some(need) if need >= BIG_ARG => need.min(c.query_buf.len().max(BIG_ARG)),
                _ => READ_CHUNK,
            };
            let spare = c.query_buf.spare(want);
            let asked = spare.len();
            match c.socket.read(spare) {
                Ok(0) => {
                    // Orderly close by the peer. Redis frees the client at once (replies that
                    // could not be delivered are dropped with it).
                    return self.close_client(key);
                }
                Ok(n) => {
                    c.query_buf.commit(n);
                    c.last_interaction = unix_ms();
                    self.state.stats.total_net_input_bytes += n as u64;
                    let limit = self.state.config.client_query_buffer_limit;
                    if c.query_buf.len() > limit {
                        warn!(
                            "Closing client that reached max query buffer length: id={} addr={} (qbuf={})",
                            c.id, c.addr, c.query_buf.len()
                        );
                        self.state.stats.client_query_buffer_limit_disconnections += 1;
                        return self.close_client(key);
                    }
                    self.process_input_buffer(key);
                    if n < asked {
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return self.close_client(key),
            }
        }
    }

    /// Parses and runs every complete command in the client's query buffer (Redis:
    /// `processInputBuffer`). Stops early if the client blocks (BLPOP) or is to be closed.
    pub(crate) fn process_input_buffer(&mut self, key: usize) {
        let now = unix_ms();
        let Some(c) = self.clients.get_mut(key) else {
            return;
        };
        // Move the buffers out of the client so commands can borrow the client slab freely.
        let query = std::mem::take(&mut c.query_buf);
        let mut parser = std::mem::take(&mut c.parser);
        let mut out = std::mem::take(&mut c.reply);
        let limits = ParseLimits {
            max_bulk_len: self.state.config.proto_max_bulk_len,
            authenticated: c.authenticated,
        };
        let mut db = c.db;
        let mut consumed = 0;
        let data = query.unread();
        // Reused for every multibulk command of this batch: borrows `data`, never the parser.
        let mut argv: Vec<&[u8]> = Vec::with_capacity(8);
        while let Some(c) = self.clients.get(key) {
            if c.blocked.is_some() || c.close_after_reply || c.close_asap {
                break;
            }
            let rest = &data[consumed..];
            if rest.is_empty() {
                break;
            }
            match parser.parse(rest, &limits) {
                Ok(ParseOutcome::Complete { consumed: n }) => {
                    let mut ctx = self.ctx(key, db, &mut out, now);
                    if parser.is_inline() {
                        let inline: Vec<&[u8]> =
                            parser.inline_args.iter().map(|a| a.as_slice()).collect();
                        if !inline.is_empty() {
                            command::execute(&mut ctx, &inline);
                        }
                    } else if !parser.spans.is_empty() {
                        argv.clear();
                        argv.extend(parser.spans.iter().map(|&(s, e)| &rest[s..e]));
                        command::execute(&mut ctx, &argv);
                    }
                    db = ctx.db;
                    consumed += n;
                    parser.reset();
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
}

impl super::client::Client {
    /// How many more bytes the request being parsed needs, when it announced a big bulk.
    fn parser_need_hint(&self) -> Option<usize> {
        let need = self.parser.need_hint();
        (need > self.query_buf.len()).then(|| need - self.query_buf.len())
    }
}
