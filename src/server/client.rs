//! One connected client (Redis: `client` in `server.h`, buffers in `networking.c`).
//!
//! A client owns its socket, its query buffer (bytes read but not yet executed), its reply
//! buffer (bytes produced but not yet written), and the per-connection state commands consult:
//! selected database, protocol version, name, transaction, subscriptions, blocking.
//!
//! Buffer ownership: the event loop reads into `query_buf` and the parser reads spans of it; the
//! buffer is only compacted after the parsed commands have run. `reply` is appended to by
//! commands (through `Ctx::out` or `Ctx::reply_to`) and drained by `server::write_to_client`.

use crate::command::multi::MultiState;
use crate::command::pubsub::SubscriberState;
use crate::db::Ms;
use crate::resp::parse::RequestParser;
use crate::resp::reply::ReplyBuffer;
use crate::server::blocking::BlockedState;
use crate::server::input::QueryBuffer;
use mio::net::TcpStream;
use std::net::SocketAddr;

/// CLIENT REPLY mode.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ReplyMode {
    On,
    Off,
    /// Suppress only the reply of the next command.
    SkipNext,
    /// Set by the command after SKIP: suppress this one, then go back to On.
    Skipping,
}

pub struct Client {
    /// CLIENT ID: unique and increasing for the life of the server (slab keys are reused).
    pub id: u64,
    pub socket: TcpStream,
    pub addr: SocketAddr,
    pub local_addr: Option<SocketAddr>,
    pub query_buf: QueryBuffer,
    pub parser: RequestParser,
    pub reply: ReplyBuffer,
    /// Set while the client sits in `clients_pending_write` (avoids queueing it twice).
    pub pending_write: bool,
    /// Writable interest is registered only while a write came up short.
    pub writable_registered: bool,
    pub db: usize,
    pub authenticated: bool,
    pub name: Option<Vec<u8>>,
    pub lib_name: Option<Vec<u8>>,
    pub lib_ver: Option<Vec<u8>>,
    pub reply_mode: ReplyMode,
    pub no_evict: bool,
    pub no_touch: bool,
    /// Close once the pending reply is written (QUIT, protocol errors).
    pub close_after_reply: bool,
    /// Close at the next opportunity without writing more (CLIENT KILL, output limits).
    pub close_asap: bool,
    pub created_at: Ms,
    pub last_interaction: Ms,
    pub last_command: &'static str,
    pub multi: MultiState,
    pub subscriptions: SubscriberState,
    pub blocked: Option<BlockedState>,
    /// Blocking commands must not block (Redis: `CLIENT_DENY_BLOCKING`); set while EXEC or a
    /// script runs commands for this client. MULTI itself is checked through `multi.active`.
    pub deny_blocking: bool,
    /// When the reply buffer first exceeded the soft output limit (for its grace period).
    pub soft_limit_reached_at: Option<Ms>,
}

impl Client {
    pub fn new(
        id: u64,
        socket: TcpStream,
        addr: SocketAddr,
        now: Ms,
        authenticated: bool,
    ) -> Client {
        let local_addr = socket.local_addr().ok();
        Client {
            id,
            socket,
            addr,
            local_addr,
            query_buf: QueryBuffer::default(),
            parser: RequestParser::default(),
            reply: ReplyBuffer::new(),
            pending_write: false,
            writable_registered: false,
            db: 0,
            authenticated,
            name: None,
            lib_name: None,
            lib_ver: None,
            reply_mode: ReplyMode::On,
            no_evict: false,
            no_touch: false,
            close_after_reply: false,
            close_asap: false,
            created_at: now,
            last_interaction: now,
            last_command: "NULL",
            multi: MultiState::default(),
            subscriptions: SubscriberState::default(),
            blocked: None,
            deny_blocking: false,
            soft_limit_reached_at: None,
        }
    }

    /// Should the reply of the command that just ran be dropped (CLIENT REPLY OFF / SKIP)?
    /// Advances the SKIP state machine.
    pub fn take_reply_suppression(&mut self) -> bool {
        match self.reply_mode {
            ReplyMode::On => false,
            ReplyMode::Off => true,
            ReplyMode::SkipNext => {
                // The CLIENT REPLY SKIP command itself gets no reply either.
                self.reply_mode = ReplyMode::Skipping;
                true
            }
            ReplyMode::Skipping => {
                self.reply_mode = ReplyMode::On;
                true
            }
        }
    }

    /// Flags as CLIENT LIST prints them, in Redis's order (`N` = nothing special).
    /// (Redis: `catClientInfoString`.)
    pub fn flags_string(&self) -> String {
        let mut f = String::new();
        for (on, c) in [
            (self.subscriptions.count() > 0, 'P'),
            (self.multi.active, 'x'),
            (self.blocked.is_some(), 'b'),
            // A watched key changed: EXEC will fail.
            (self.multi.dirty_cas(), 'd'),
            (self.close_after_reply, 'c'),
            (self.close_asap, 'A'),
            (self.no_evict, 'e'),
            (self.no_touch, 'T'),
        ] {
            if on {
                f.push(c);
            }
        }
        if f.is_empty() {
            f.push('N');
        }
        f
    }
}
