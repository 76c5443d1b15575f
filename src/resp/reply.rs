//! Reply encoding (Redis: `networking.c`, the `addReply*` family).
//!
//! A [`ReplyBuffer`] is a client's output buffer. Command handlers append replies to it through
//! methods that name the reply's *meaning* (`map_len`, `double`, `null`); the buffer renders each
//! in the protocol the connection negotiated with HELLO:
//!
//! | meaning        | RESP2               | RESP3              |
//! |----------------|---------------------|--------------------|
//! | null           | `$-1`               | `_`                |
//! | null array     | `*-1`               | `_`                |
//! | map of n pairs | `*2n` (flat array)  | `%n`               |
//! | set            | `*n`                | `~n`               |
//! | double         | bulk `"1.5"`        | `,1.5`             |
//! | boolean        | `:1` / `:0`         | `#t` / `#f`        |
//! | push message   | `*n`                | `>n`               |
//!
//! Nothing here writes to a socket: the event loop flushes the buffer once per loop iteration
//! (`src/server/output.rs`), so a pipeline of 16 commands costs one `write` syscall.

use crate::util::{format_double, write_i64, write_u64, I64_BUF};

/// Capacity a reply buffer keeps once everything in it was written; more is freed.
const KEPT_REPLY_CAPACITY: usize = 4 * 1024;

#[derive(Default)]
pub struct ReplyBuffer {
    buf: Vec<u8>,
    /// Bytes at the front of `buf` already written to the socket (a short write leaves some).
    sent: usize,
    resp3: bool,
}

impl ReplyBuffer {
    pub fn new() -> ReplyBuffer {
        ReplyBuffer::default()
    }

    pub fn is_resp3(&self) -> bool {
        self.resp3
    }

    pub fn set_resp3(&mut self, on: bool) {
        self.resp3 = on;
    }

    /// Bytes not yet written to the socket.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[self.sent..]
    }

    /// A position in the buffer: everything appended later can be dropped with
    /// [`truncate`](Self::truncate) or counted by comparing positions.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Bytes waiting to be written (what output-buffer limits and CLIENT LIST `omem` measure).
    pub fn pending_len(&self) -> usize {
        self.buf.len() - self.sent
    }

    pub fn is_empty(&self) -> bool {
        self.buf.len() == self.sent
    }

    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Marks `n` more bytes as written to the socket.
    pub fn consume(&mut self, n: usize) {
        self.sent += n;
        if self.sent >= self.buf.len() {
            self.buf.clear();
            self.sent = 0;
            // A client that once read a big reply should not keep the memory: it counts in
            // used_memory, and so against maxmemory (Redis frees its reply list nodes once
            // written and keeps only a small buffer per client).
            if self.buf.capacity() > KEPT_REPLY_CAPACITY {
                self.buf = Vec::new();
            }
        } else if self.sent > 1024 * 1024 && self.sent > self.buf.len() / 2 {
            // Compact rarely, so a slow reader of a big reply costs O(n), not O(n^2).
            self.buf.drain(..self.sent);
            self.sent = 0;
        }
    }

    /// Removes everything appended after `len` (used to drop a reply, e.g. CLIENT REPLY OFF).
    /// What was appended since position `pos` (see [`len`](Self::len)).
    pub fn since(&self, pos: usize) -> &[u8] {
        self.buf.get(pos..).unwrap_or_default()
    }

    pub fn truncate(&mut self, len: usize) {
        self.buf.truncate(len);
    }

    /// Appends pre-encoded protocol bytes verbatim.
    pub fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Moves another buffer's bytes to the end of this one.
    pub fn append(&mut self, other: &mut ReplyBuffer) {
        if self.buf.is_empty() && other.sent == 0 {
            std::mem::swap(&mut self.buf, &mut other.buf);
        } else {
            self.buf.extend_from_slice(other.as_bytes());
            other.buf.clear();
            other.sent = 0;
        }
    }

    fn line(&mut self, prefix: u8, n: i64) {
        let mut tmp = [0u8; I64_BUF];
        let digits = write_i64(n, &mut tmp);
        self.buf.push(prefix);
        self.buf.extend_from_slice(digits);
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    /// `+<s>`: a status reply. `s` must not contain CR or LF.
    /// A container command's HELP reply (Redis: `addReplyHelp`): the header naming `command`,
    /// the command's own `lines`, then the `HELP` entry they all share, each a status reply.
    pub fn help(&mut self, command: &str, lines: &[&str]) {
        self.array_len(lines.len() + 3);
        self.simple(&format!(
            "{command} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
        ));
        for line in lines {
            self.simple(line);
        }
        self.simple("HELP");
        self.simple("    Prints this help.");
    }

    pub fn simple(&mut self, s: &str) {
        self.buf.push(b'+');
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    /// `-<msg>`: `msg` starts with the error code (`ERR ...`, `WRONGTYPE ...`). Newlines in the
    /// message are replaced by spaces, as Redis does, so the reply stays one line.
    pub fn error(&mut self, msg: &str) {
        self.buf.push(b'-');
        for &b in msg.as_bytes() {
            self.buf
                .push(if b == b'\r' || b == b'\n' { b' ' } else { b });
        }
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn integer(&mut self, n: i64) {
        match n {
            0 => self.buf.extend_from_slice(b":0\r\n"),
            1 => self.buf.extend_from_slice(b":1\r\n"),
            _ => self.line(b':', n),
        }
    }

    pub fn bulk(&mut self, data: &[u8]) {
        self.line(b'$', data.len() as i64);
        self.buf.extend_from_slice(data);
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn bulk_str(&mut self, s: &str) {
        self.bulk(s.as_bytes())
    }

    /// An integer sent as a bulk string (e.g. INCRBYFLOAT-like replies, CONFIG GET values).
    pub fn bulk_i64(&mut self, n: i64) {
        let mut tmp = [0u8; I64_BUF];
        let digits = write_i64(n, &mut tmp);
        self.bulk(digits);
    }

    /// An unsigned integer sent as a bulk string (the cursor of SCAN and its siblings).
    pub fn bulk_u64(&mut self, n: u64) {
        let mut tmp = [0u8; I64_BUF];
        let digits = write_u64(n, &mut tmp);
        self.bulk(digits);
    }

    /// The null bulk string (`$-1` / `_`).
    pub fn null(&mut self) {
        if self.resp3 {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"$-1\r\n");
        }
    }

    /// The null array (`*-1` / `_`), e.g. BLPOP timing out, EXEC aborted by WATCH.
    pub fn null_array(&mut self) {
        if self.resp3 {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"*-1\r\n");
        }
    }

    pub fn array_len(&mut self, n: usize) {
        self.line(b'*', n as i64);
    }

    pub fn empty_array(&mut self) {
        self.buf.extend_from_slice(b"*0\r\n");
    }

    /// A map header of `n` key/value pairs.
    pub fn map_len(&mut self, n: usize) {
        if self.resp3 {
            self.line(b'%', n as i64);
        } else {
            self.line(b'*', 2 * n as i64);
        }
    }

    pub fn set_len(&mut self, n: usize) {
        if self.resp3 {
            self.line(b'~', n as i64);
        } else {
            self.line(b'*', n as i64);
        }
    }

    /// Header of an out-of-band push message (pub/sub, invalidation).
    pub fn push_len(&mut self, n: usize) {
        if self.resp3 {
            self.line(b'>', n as i64);
        } else {
            self.line(b'*', n as i64);
        }
    }

    pub fn double(&mut self, d: f64) {
        let text = format_double(d);
        if self.resp3 {
            self.buf.push(b',');
            self.buf.extend_from_slice(text.as_bytes());
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text.as_bytes());
        }
    }

    pub fn boolean(&mut self, b: bool) {
        match (self.resp3, b) {
            (true, true) => self.buf.extend_from_slice(b"#t\r\n"),
            (true, false) => self.buf.extend_from_slice(b"#f\r\n"),
            (false, b) => self.integer(b as i64),
        }
    }

    /// Verbatim text (INFO, CLIENT LIST in RESP3): `=<len>\r\ntxt:<text>` / a bulk string.
    pub fn verbatim(&mut self, text: &[u8]) {
        if self.resp3 {
            self.line(b'=', text.len() as i64 + 4);
            self.buf.extend_from_slice(b"txt:");
            self.buf.extend_from_slice(text);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text);
        }
    }

    /// Starts an aggregate whose length is not known yet; finish with [`set_deferred_len`].
    /// (Redis: `addReplyDeferredLen`.)
    pub fn deferred_len(&mut self) -> usize {
        self.buf.len()
    }

    /// Writes the header of an aggregate begun with [`deferred_len`] at `at`. `kind` is the
    /// RESP type byte (`*`, `%`, `~`); maps count pairs.
    pub fn set_deferred_len(&mut self, at: usize, kind: u8, n: usize) {
        let (prefix, count) = match (kind, self.resp3) {
            (b'%', false) => (b'*', 2 * n),
            (b'~', false) => (b'*', n),
            (k, _) => (k, n),
        };
        let mut tmp = [0u8; I64_BUF];
        let digits = write_i64(count as i64, &mut tmp);
        let mut header = Vec::with_capacity(digits.len() + 3);
        header.push(prefix);
        header.extend_from_slice(digits);
        header.extend_from_slice(b"\r\n");
        self.buf.splice(at..at, header);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_meaning_renders_per_protocol() {
        let mut r2 = ReplyBuffer::new();
        let mut r3 = ReplyBuffer::new();
        r3.set_resp3(true);
        for r in [&mut r2, &mut r3] {
            r.map_len(1);
            r.bulk(b"k");
            r.double(1.5);
            r.null();
            r.boolean(true);
        }
        assert_eq!(
            r2.as_bytes(),
            b"*2\r\n$1\r\nk\r\n$3\r\n1.5\r\n$-1\r\n:1\r\n"
        );
        assert_eq!(r3.as_bytes(), b"%1\r\n$1\r\nk\r\n,1.5\r\n_\r\n#t\r\n");
    }

    #[test]
    fn deferred_length_is_inserted_before_the_elements() {
        let mut r = ReplyBuffer::new();
        r.ok();
        let at = r.deferred_len();
        r.bulk(b"a");
        r.bulk(b"b");
        r.set_deferred_len(at, b'*', 2);
        assert_eq!(r.as_bytes(), b"+OK\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    }
}
