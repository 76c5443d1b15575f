//! The replication buffer: one copy of the recent replication stream, shared by the backlog
//! and by every replica's output (Redis 7.0: `replication.c` — `feedReplicationBuffer`,
//! `incrementalTrimReplicationBacklog`, `addReplyReplicationBacklog`,
//! `rebaseReplicationBuffer`; `networking.c` — the replica half of `_writeToClient`,
//! `clientHasPendingReplies` and `getClientOutputBufferMemoryUsage`).
//!
//! # One buffer, many readers
//!
//! The stream is appended once, to a list of blocks of at least 16 KB ([`BLOCK_BYTES`]). Each
//! block knows the stream offset of its first byte, so the list as a whole is the history from
//! `first_offset` to the newest byte: the backlog *is* the list. A replica does not get a copy
//! of the stream in its output buffer; it holds a cursor, the offset of the next byte it is to
//! be sent (`ReplicaLink::stream_offset`), and the writer (`server/output.rs`) sends it
//! [`ReplicationBacklog::chunk_at`] its cursor, a slice of one block, moving the cursor by what
//! the socket took. Ten replicas cost ten cursors, not ten copies; a replica whose full sync
//! takes minutes holds a cursor at its snapshot's fork, not a private copy of everything
//! written since.
//!
//! ```text
//!   blocks:  [ 16 KB | 16 KB | 16 KB | 16 KB | 9 KB of 16 KB ]  <- appended here
//!              ^first_offset   ^replica B      ^replica A (caught up to here)
//!              (backlog start, kept while B needs it)
//! ```
//!
//! # Trimming
//!
//! The backlog wants only the last `repl-backlog-size` bytes, but a block is dropped only when
//! no replica's cursor is still inside or before it. So a slow replica (one being fully
//! synchronized, one whose socket is stalled) keeps the history from its cursor on, and
//! `repl_backlog_histlen` grows past `repl-backlog-size` meanwhile — which is useful: a
//! replica that lost its link may continue from anywhere in that longer history. When the
//! slow reader goes, the old blocks go, a bounded number per call ([`TRIM_BLOCKS_PER_CALL`]
//! when a block is added, a replica is closed or `repl-backlog-size` is set, ten times that
//! before the loop sleeps), so that freeing hundreds of
//! megabytes never stalls the loop (Redis: `incrementalTrimReplicationBacklog`). The head
//! block is dropped only if what stays still holds more than `repl-backlog-size` bytes.
//!
//! Redis counts references on the block each reader points to; here the trimmer asks the
//! replicas for the smallest cursor instead ([`super::replication::trim_backlog_of`]): with one
//! or a few replicas the scan costs nothing, and no count can be left wrong by one of the many
//! ways a client goes away.
//!
//! # Block size
//!
//! A new block is sized for what is appended, at least [`BLOCK_BYTES`] so that small commands
//! fill it, and at most `repl-backlog-size / 16` (but not below [`BLOCK_BYTES`]): a 100 MB
//! value becomes many blocks, so that once a replica has read most of it, it no longer pins
//! all of it (Redis 7.0.9's fix for big keys, #11666 / #11905).
//!
//! # Memory
//!
//! [`ReplicationBacklog::mem`] (INFO `mem_total_replication_buffers`) counts the blocks'
//! allocations plus a per-block overhead. A replica's output, for
//! `client-output-buffer-limit replica` and CLIENT LIST `omem`, is what it keeps alive: the
//! blocks from the one holding its cursor to the newest ([`ReplicationBacklog::held_from`]).

use std::collections::VecDeque;

/// The smallest block (Redis: `PROTO_REPLY_CHUNK_BYTES`).
pub const BLOCK_BYTES: usize = 16 * 1024;

/// Blocks dropped at most per trim after an append (Redis: `REPL_BACKLOG_TRIM_BLOCKS_PER_CALL`).
pub const TRIM_BLOCKS_PER_CALL: usize = 64;

/// The bookkeeping counted per block besides its bytes (Redis: a list node and the block
/// header).
pub const BLOCK_OVERHEAD: usize = std::mem::size_of::<Block>() + 16;

/// A piece of the stream: `data` starts at stream offset `offset`; its capacity is its size,
/// and only the newest block is not full.
struct Block {
    offset: i64,
    data: Vec<u8>,
}

impl Block {
    /// The offset one past its last byte.
    fn end(&self) -> i64 {
        self.offset + self.data.len() as i64
    }
}

/// The shared replication buffer and the backlog's view of it (Redis: `server.repl_backlog`
/// and `server.repl_buffer_blocks`).
///
/// A replica that lost its link asks `PSYNC <replid> <offset>`; if the offset lies in
/// `first_offset ..= first_offset + histlen` the master continues from there (`+CONTINUE`).
pub struct ReplicationBacklog {
    blocks: VecDeque<Block>,
    /// `repl-backlog-size`: the history kept when no replica needs more.
    size: usize,
    /// Bytes held (every block's length).
    histlen: usize,
    /// Stream offset of the oldest byte held; with nothing held, of the next byte to come.
    first_offset: i64,
    /// Bytes allocated for the blocks, with their overhead.
    mem: usize,
}

impl ReplicationBacklog {
    pub fn new(size: usize, first_offset: i64) -> ReplicationBacklog {
        ReplicationBacklog {
            blocks: VecDeque::new(),
            size: size.max(1),
            histlen: 0,
            first_offset,
            mem: 0,
        }
    }

    /// The offset the next appended byte gets.
    pub fn next_offset(&self) -> i64 {
        self.first_offset + self.histlen as i64
    }

    /// Appends stream bytes, filling the newest block, then adding blocks (Redis:
    /// `feedReplicationBuffer`). Returns whether a block was added: the caller then trims
    /// and checks the replicas' output limits, as Redis does only then.
    pub fn append(&mut self, mut bytes: &[u8]) -> bool {
        let mut added = false;
        if let Some(tail) = self.blocks.back_mut() {
            let room = tail.data.capacity() - tail.data.len();
            let take = room.min(bytes.len());
            tail.data.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            self.histlen += take;
        }
        let limit = (self.size / 16).max(BLOCK_BYTES);
        while !bytes.is_empty() {
            let cap = bytes.len().clamp(BLOCK_BYTES, limit);
            let take = cap.min(bytes.len());
            let mut data = Vec::with_capacity(cap);
            data.extend_from_slice(&bytes[..take]);
            self.mem += data.capacity() + BLOCK_OVERHEAD;
            self.blocks.push_back(Block {
                offset: self.next_offset(),
                data,
            });
            self.histlen += take;
            bytes = &bytes[take..];
            added = true;
        }
        added
    }

    /// Drops up to `max_blocks` of the oldest blocks that no reader needs (every cursor is at
    /// or past `keep_from`) while the history stays longer than `size` without them (Redis:
    /// `incrementalTrimReplicationBacklog`). The newest block always stays.
    pub fn trim(&mut self, keep_from: i64, max_blocks: usize) {
        for _ in 0..max_blocks {
            if !self.over_size() {
                return;
            }
            let Some(head) = self.blocks.front() else {
                return;
            };
            if head.end() > keep_from {
                return;
            }
            self.histlen -= head.data.len();
            self.mem -= head.data.capacity() + BLOCK_OVERHEAD;
            self.first_offset = head.end();
            self.blocks.pop_front();
        }
    }

    /// Would a trim drop the oldest block if no reader held it back? (False in the steady
    /// state, where the history is `size` plus less than one block: the trimmer then need not
    /// look for the readers' cursors.)
    pub fn over_size(&self) -> bool {
        self.blocks.len() > 1
            && self
                .blocks
                .front()
                .is_some_and(|head| self.histlen - head.data.len() > self.size)
    }

    /// Moves the history `delta` bytes further along the stream: the bytes held stay, their
    /// offsets change (Redis: `rebaseReplicationBuffer`, when a restarted master continues
    /// the offset saved in its RDB file).
    pub fn rebase(&mut self, delta: i64) {
        self.first_offset += delta;
        for block in &mut self.blocks {
            block.offset += delta;
        }
    }

    /// Stream offset of the oldest byte held (`repl_backlog_first_byte_offset`).
    pub fn first_offset(&self) -> i64 {
        self.first_offset
    }

    /// Bytes of history held (`repl_backlog_histlen`); more than `size` while a replica needs
    /// older bytes.
    pub fn histlen(&self) -> usize {
        self.histlen
    }

    /// `repl-backlog-size`.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Memory of the buffer (`mem_total_replication_buffers`).
    pub fn mem(&self) -> usize {
        self.mem
    }

    /// Can a reader start at `offset`: is it held, or the next byte to come?
    pub fn holds(&self, offset: i64) -> bool {
        (self.first_offset..=self.next_offset()).contains(&offset)
    }

    /// The index of the block holding `offset` (the newest block for the next offset to
    /// come), if any.
    fn block_index(&self, offset: i64) -> Option<usize> {
        if !self.holds(offset) {
            return None;
        }
        self.blocks
            .partition_point(|b| b.offset <= offset)
            .checked_sub(1)
    }

    /// The held bytes from `offset` to the end of its block: what a reader whose cursor is
    /// `offset` is sent next. Empty when it has everything; `None` if `offset` is not held
    /// (trimmed away, or beyond the stream).
    pub fn chunk_at(&self, offset: i64) -> Option<&[u8]> {
        if offset == self.next_offset() {
            return Some(&[]);
        }
        let block = &self.blocks[self.block_index(offset)?];
        let skip = usize::try_from(offset - block.offset).ok()?;
        block.data.get(skip..)
    }

    /// The held bytes from `offset` to the end (tests, logs).
    pub fn since(&self, offset: i64) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        let mut at = offset;
        loop {
            let chunk = self.chunk_at(at)?;
            if chunk.is_empty() {
                return Some(out);
            }
            out.extend_from_slice(chunk);
            at += chunk.len() as i64;
        }
    }

    /// The last `n` bytes of history at most (Redis: `showLatestBacklog`).
    pub fn latest(&self, n: usize) -> Vec<u8> {
        let from = self.next_offset() - n.min(self.histlen) as i64;
        self.since(from).unwrap_or_default()
    }

    /// The memory a reader at `offset` keeps alive: the blocks from the one holding it to the
    /// newest, sizes and overheads (Redis: `getClientOutputBufferMemoryUsage` for a replica).
    pub fn held_from(&self, offset: i64) -> usize {
        let (Some(first), Some(tail)) = (self.block_index(offset), self.blocks.back()) else {
            return 0;
        };
        // Every block but the newest is full, so the bytes are an offset difference (checked
        // on every write to a replica: no walk over the blocks).
        let bytes = tail.offset + tail.data.capacity() as i64 - self.blocks[first].offset;
        bytes as usize + (self.blocks.len() - first) * BLOCK_OVERHEAD
    }

    /// A new `repl-backlog-size`; the history shrinks by trimming (Redis:
    /// `resizeReplicationBacklog`).
    pub fn resize(&mut self, size: usize) {
        self.size = size.max(1);
    }
}

#[cfg(test)]
mod tests {
    use super::{ReplicationBacklog, BLOCK_BYTES};

    #[test]
    fn backlog_serves_any_offset_it_holds_across_blocks() {
        let mut b = ReplicationBacklog::new(1, 1);
        assert!(!b.append(b""));
        assert!(b.append(b"abcde"));
        assert!(!b.append(b"fgh"));
        assert_eq!(b.since(1).as_deref(), Some(&b"abcdefgh"[..]));
        assert_eq!(b.since(9).as_deref(), Some(&b""[..]));
        assert_eq!(b.since(10), None);
        assert_eq!(b.since(0), None);
        let big = vec![b'x'; BLOCK_BYTES * 2];
        assert!(b.append(&big));
        assert_eq!(b.since(4).map(|v| v.len()), Some(BLOCK_BYTES * 2 + 5));
        assert_eq!(b.chunk_at(1).map(<[u8]>::len), Some(BLOCK_BYTES));
        assert_eq!(b.latest(3), b"xxx");
    }

    #[test]
    fn trim_keeps_what_a_reader_needs_and_at_least_size() {
        let mut b = ReplicationBacklog::new(BLOCK_BYTES, 1);
        let block = vec![b'a'; BLOCK_BYTES];
        for _ in 0..4 {
            b.append(&block);
        }
        // A reader still at offset 1 holds everything.
        b.trim(1, 100);
        assert_eq!(b.histlen(), 4 * BLOCK_BYTES);
        // Once it moved into the third block, the first two go; the rest is kept as size.
        b.trim(1 + 2 * BLOCK_BYTES as i64 + 5, 100);
        assert_eq!(b.first_offset(), 1 + 2 * BLOCK_BYTES as i64);
        assert_eq!(b.held_from(b.first_offset()), b.mem());
        // Without readers, what stays must still be more than `size`.
        b.trim(i64::MAX, 100);
        assert_eq!(b.histlen(), 2 * BLOCK_BYTES);
        b.rebase(10);
        assert_eq!(b.first_offset(), 11 + 2 * BLOCK_BYTES as i64);
        assert_eq!(
            b.since(b.first_offset()).map(|v| v.len()),
            Some(2 * BLOCK_BYTES)
        );
    }

    #[test]
    fn a_big_append_is_cut_into_blocks_of_a_sixteenth_of_the_size() {
        let mut b = ReplicationBacklog::new(64 * BLOCK_BYTES, 1);
        b.append(&vec![b'v'; 10 * BLOCK_BYTES]);
        assert_eq!(b.chunk_at(1).map(<[u8]>::len), Some(4 * BLOCK_BYTES));
        assert_eq!(
            b.held_from(1 + 9 * BLOCK_BYTES as i64),
            2 * BLOCK_BYTES + super::BLOCK_OVERHEAD
        );
    }
}
