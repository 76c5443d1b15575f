//! The socket of a replica's link to its master (Redis: `connectWithMaster` and the
//! connection half of `syncWithMaster`).
//!
//! The loop owns the socket; the protocol is the command layer's (`command::replica`). The
//! interface between the two is narrow:
//!
//! ```text
//!  replica::MasterLink::wants_connect() ──> connect_to_master(): non-blocking connect, the
//!        socket becomes a client of the slab (flagged is_master) ──> replica::connect_started
//!  writable event while connecting ──> replica::connection_established (sends PING)
//!  readable: read_query_from_client ──> handshaking? replica::handshake_input
//!                                      connected?  commands, through process_command
//!  close_client(link) ──> replica::link_closed
//! ```

use super::{unix_ms, Net};
use crate::command::client::Client;
use crate::command::replica;
use crate::resp::reply::ReplyBuffer;
use log::warn;
use mio::net::TcpStream;
use mio::{Interest, Token};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::os::fd::FromRawFd;

impl Net<'_> {
    /// Opens the link if the replica role wants one (REPLICAOF just ran, or the cron retries).
    pub fn connect_to_master_if_needed(&mut self) {
        let Some((host, port)) = self.state.master.wants_connect() else {
            return;
        };
        let now = unix_ms();
        let mut scratch = ReplyBuffer::new();
        let addr: Option<SocketAddr> = (host.as_str(), port)
            .to_socket_addrs()
            .ok()
            .and_then(|mut addrs| addrs.next());
        // `bind-source-addr`: the address the link leaves from (best effort, as Redis's
        // `anetTcpNonBlockBestEffortBindConnect`: if it cannot be bound, any address will do).
        let source: Option<IpAddr> = self
            .state
            .config
            .unimplemented
            .get("bind-source-addr")
            .and_then(|a| a.parse().ok());
        let connected = addr
            .ok_or_else(|| format!("cannot resolve '{host}'"))
            .and_then(|addr| {
                source
                    .and_then(|source| connect_from(addr, source).ok())
                    .map_or_else(|| TcpStream::connect(addr), Ok)
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

/// A non-blocking connect to `addr` from the local address `source` (any port): a socket bound
/// before its connect, which neither std nor mio offers (Redis: `anetTcpGenericConnect` with a
/// source address). The connect completes in the loop, as `TcpStream::connect`'s does.
fn connect_from(addr: SocketAddr, source: IpAddr) -> std::io::Result<TcpStream> {
    use std::io::Error;
    let family = if addr.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    // SAFETY: plain system calls on a descriptor this function owns; it is closed on every
    // error path (by the `OwnedFd`) or handed to the returned stream.
    unsafe {
        let fd = libc::socket(
            family,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        );
        if fd < 0 {
            return Err(Error::last_os_error());
        }
        let owned = std::os::fd::OwnedFd::from_raw_fd(fd);
        let (local, local_len) = sockaddr(SocketAddr::new(source, 0));
        if libc::bind(fd, &local as *const _ as *const libc::sockaddr, local_len) < 0 {
            return Err(Error::last_os_error());
        }
        let (remote, remote_len) = sockaddr(addr);
        if libc::connect(fd, &remote as *const _ as *const libc::sockaddr, remote_len) < 0 {
            let err = Error::last_os_error();
            if err.raw_os_error() != Some(libc::EINPROGRESS) {
                return Err(err);
            }
        }
        Ok(TcpStream::from_std(std::net::TcpStream::from(owned)))
    }
}

/// `addr` as a C socket address (`sockaddr_in` or `sockaddr_in6` in a `sockaddr_storage`).
fn sockaddr(addr: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: an all-zero sockaddr_storage is a valid value; the casts below write a smaller
    // sockaddr type into its (larger, suitably aligned) storage.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            unsafe { std::ptr::write(&mut storage as *mut _ as *mut libc::sockaddr_in, sin) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            unsafe { std::ptr::write(&mut storage as *mut _ as *mut libc::sockaddr_in6, sin6) };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}
