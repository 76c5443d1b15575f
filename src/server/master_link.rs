//! The socket of a replica's link to its master (Redis: `connectWithMaster` and the
//! connection half of `syncWithMaster`).
//!
//! The loop owns the socket; the protocol is the command layer's (`command::replica`). The
//! interface between the two is narrow:
//!
//! ```text
//!  replica::MasterLink::take_connect() ──> connect_to_master(): non-blocking connect (from
//!        `bind-source-addr` when set: `net::connect`; wrapped in a rustls client session
//!        with `tls-replication yes`: `net::tls::client_config`), the
//!        socket becomes a client of the slab (flagged is_master) ──> replica::connect_started
//!  writable event while connecting ──> replica::connection_established (sends PING)
//!  readable: read_query_from_client ──> handshaking? replica::handshake_input
//!                                      connected?  commands, through process_command
//!  close_client(link) ──> replica::link_closed
//! ```

use super::{unix_ms, Net};
use crate::command::client::Client;
use crate::command::replica;
use crate::net::Connection;
use crate::resp::reply::ReplyBuffer;
use log::warn;
use mio::{Interest, Token};
use std::net::{SocketAddr, ToSocketAddrs};

impl Net<'_> {
    /// Opens the link if the replica role wants one (REPLICAOF just ran, or the cron retries).
    pub fn connect_to_master_if_needed(&mut self) {
        let Some((host, port)) = self.state.master.take_connect() else {
            return;
        };
        let now = unix_ms();
        let mut scratch = ReplyBuffer::new();
        let addr: Option<SocketAddr> = (host.as_str(), port)
            .to_socket_addrs()
            .ok()
            .and_then(|mut addrs| addrs.next());
        // `bind-source-addr`: the link starts from that address, if it can be bound.
        let source = self.state.config.bind_source_addr.as_deref().and_then(|a| {
            match a.parse::<std::net::IpAddr>() {
                Ok(ip) => Some(ip),
                Err(_) => {
                    warn!("bind-source-addr '{a}' is not an IP address: not used");
                    None
                }
            }
        });
        let connected = addr
            .ok_or_else(|| format!("cannot resolve '{host}'"))
            .and_then(|addr| {
                crate::net::connect::connect_from(addr, source)
                    .map(|socket| (socket, addr))
                    .map_err(|e| e.to_string())
            });
        // `tls-replication yes`: the same socket under a client TLS session (Redis:
        // `connCreateTLS` for the master link). The TLS handshake then runs inside the link's
        // first reads and writes, after the TCP connect completes.
        let connected = connected.and_then(|(socket, addr)| {
            if !self.state.config.tls_replication {
                return Ok((Connection::from(socket), addr));
            }
            let config = crate::net::tls::client_config(&self.state.config)?;
            Connection::tls_client(socket, config, addr)
                .map(|socket| (socket, addr))
                .map_err(|e| e.to_string())
        });
        let (mut socket, addr) = match connected {
            Ok(pair) => pair,
            Err(e) => {
                let mut ctx = self.ctx(crate::command::NO_CLIENT, 0, &mut scratch, now);
                return replica::connect_failed(&mut ctx, &e);
            }
        };
        let Some(io) = self.state.io.as_ref() else {
            return;
        };
        let entry = self.clients.vacant_entry();
        let key = entry.key();
        if let Err(e) = io.registry.register(
            &mut socket,
            Token(key),
            Interest::READABLE | Interest::WRITABLE,
        ) {
            let mut ctx = self.ctx(crate::command::NO_CLIENT, 0, &mut scratch, now);
            return replica::connect_failed(&mut ctx, &e.to_string());
        }
        let id = self.state.next_client_id;
        self.state.next_client_id += 1;
        let mut client = Client::new(id, socket, addr, now, true);
        client.is_master = true;
        client.writable_registered = true;
        entry.insert(client);
        let mut ctx = self.ctx(key, 0, &mut scratch, now);
        replica::connect_started(&mut ctx, key);
    }

    /// An event on the link while its connect is under way: done (or failed).
    pub fn master_link_connect_event(&mut self, key: usize) {
        let Some(c) = self.clients.get_mut(key) else {
            return;
        };
        let Some(socket) = c.socket.as_ref() else {
            return;
        };
        let failed = match socket.take_error() {
            Ok(Some(e)) | Err(e) => Some(e.to_string()),
            Ok(None) => socket.peer_addr().err().map(|e| e.to_string()),
        };
        if let Some(e) = failed {
            if e.contains("not connected") {
                // Spurious: the connect is still under way.
                return;
            }
            warn!("Error condition on socket for SYNC: {e}");
            self.close_client(key);
            return;
        }
        let mut out = std::mem::take(&mut c.reply);
        let mut ctx = self.ctx(key, 0, &mut out, unix_ms());
        replica::connection_established(&mut ctx);
        if let Some(c) = self.clients.get_mut(key) {
            c.reply = out;
        }
        self.queue_write(key);
    }
}
