//! A client's byte stream: plain TCP, TLS over TCP, or a Unix domain socket (Redis:
//! `connection.c` `CT_Socket` — which serves both TCP and `unixsocket` clients — and `tls.c`
//! `CT_TLS`, the connection types behind `connRead` / `connWrite`).
//!
//! The loop (`server/input.rs`, `server/output.rs`) reads requests from and writes replies to a
//! [`Connection`] without knowing which kind it is. A TLS connection is a [`rustls`] state
//! machine fed by the same non-blocking socket: there is no thread per connection and no
//! blocking handshake. The handshake simply happens inside the first reads and writes:
//!
//! ```text
//!  read(buf):  loop { decrypted bytes waiting?  -> copy them into buf
//!                     buf full                  -> return (the loop reads again next turn)
//!                     read_tls(socket)          -> WouldBlock: return what we have (or
//!                                                  WouldBlock when nothing)
//!                     process_new_packets       -> decrypts records, advances the
//!                                                  handshake; its answers are flushed at once }
//!  write(buf): encrypt into rustls's outgoing buffer, write_tls(socket) until it is empty or
//!              the socket would block; what is left is flushed on the next writable event
//!              ([`Connection::wants_write`] keeps the writable interest registered).
//! ```
//!
//! The rule that keeps edge-triggered polling correct (mio, like Redis's epoll loop, only wakes
//! for *new* bytes): a read returns fewer bytes than asked only when the socket itself said
//! WouldBlock or EOF. So either the caller's buffer was filled (and it comes back next turn, as
//! for plain TCP), or everything the kernel had was consumed.
//!
//! A TLS connection is either side of the handshake: a client accepted on `tls-port` holds a
//! rustls server session, a replica's link to its master (`tls-replication yes`) a client
//! session ([`Connection::tls_client`]). Everything past construction is the same code: the
//! client session writes its ClientHello on the first writable event, and a request written
//! before the handshake ends (the replica's first PING) waits in rustls until it can be sent.

pub mod connect;
pub mod listen;
pub mod tls;

use mio::net::{TcpStream, UnixStream};
use mio::{event, Interest, Registry, Token};
use std::fmt;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};

/// One accepted connection's transport.
pub enum Connection {
    Tcp(TcpStream),
    /// TLS, server side (a client of `tls-port`) or client side (a replica's master link).
    Tls(Box<TlsStream>),
    /// A client of the `unixsocket` listener.
    Unix(UnixStream),
}

/// Where a client is, as CLIENT LIST, CLIENT KILL ADDR, the slow log and the logs name it
/// (Redis: `genClientAddrString`): `ip:port` (`[ip]:port` for IPv6) for TCP, `path:0` for a
/// Unix socket client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerAddr {
    Tcp(SocketAddr),
    /// The `unixsocket` path. It is immutable for the life of the process, so it is leaked
    /// once at startup and every client shares the `&'static str` (the address stays `Copy`).
    Unix(&'static str),
}

impl PeerAddr {
    /// The host part alone (INFO's `slave0:ip=`): a Unix socket peer is `/unixsocket`, as
    /// Redis's `anetFdToString` names any `AF_UNIX` address.
    pub fn ip(&self) -> String {
        match self {
            PeerAddr::Tcp(addr) => addr.ip().to_string(),
            PeerAddr::Unix(_) => "/unixsocket".to_string(),
        }
    }

    /// Is this the local machine, as Redis decides it for protected mode (`connIsLocal`):
    /// exactly 127.0.0.1 or ::1, or any Unix socket client.
    pub fn is_local(&self) -> bool {
        match self {
            PeerAddr::Tcp(addr) => match addr.ip() {
                std::net::IpAddr::V4(ip) => ip == std::net::Ipv4Addr::LOCALHOST,
                std::net::IpAddr::V6(ip) => ip == std::net::Ipv6Addr::LOCALHOST,
            },
            PeerAddr::Unix(_) => true,
        }
    }
}

impl From<SocketAddr> for PeerAddr {
    fn from(addr: SocketAddr) -> PeerAddr {
        PeerAddr::Tcp(addr)
    }
}

impl fmt::Display for PeerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeerAddr::Tcp(addr) => addr.fmt(f),
            PeerAddr::Unix(path) => write!(f, "{path}:0"),
        }
    }
}

/// A TCP socket with a rustls session, server or client side, on top.
pub struct TlsStream {
    tcp: TcpStream,
    session: rustls::Connection,
}

impl From<TcpStream> for Connection {
    fn from(tcp: TcpStream) -> Connection {
        Connection::Tcp(tcp)
    }
}

impl From<UnixStream> for Connection {
    fn from(unix: UnixStream) -> Connection {
        Connection::Unix(unix)
    }
}

impl Connection {
    /// Wraps an accepted socket in a server-side TLS session.
    pub fn tls(tcp: TcpStream, config: std::sync::Arc<rustls::ServerConfig>) -> io::Result<Self> {
        let session = rustls::ServerConnection::new(config).map_err(io::Error::other)?;
        let session = rustls::Connection::Server(session);
        Ok(Connection::Tls(Box::new(TlsStream { tcp, session })))
    }

    /// Wraps an outgoing socket (connecting or connected) in a client-side TLS session. The
    /// master is named by its address: rustls sends no SNI for an IP address, and the
    /// verifier (`tls::client_config`) does not match names anyway, as Redis does not.
    pub fn tls_client(
        tcp: TcpStream,
        config: std::sync::Arc<rustls::ClientConfig>,
        peer: SocketAddr,
    ) -> io::Result<Self> {
        let name = rustls::pki_types::ServerName::IpAddress(peer.ip().into());
        let session = rustls::ClientConnection::new(config, name).map_err(io::Error::other)?;
        let session = rustls::Connection::Client(session);
        Ok(Connection::Tls(Box::new(TlsStream { tcp, session })))
    }

    /// The TCP socket under a TCP or TLS connection (`None` for a Unix socket).
    fn tcp(&self) -> Option<&TcpStream> {
        match self {
            Connection::Tcp(tcp) => Some(tcp),
            Connection::Tls(tls) => Some(&tls.tcp),
            Connection::Unix(_) => None,
        }
    }

    pub fn is_tls(&self) -> bool {
        matches!(self, Connection::Tls(_))
    }

    /// The TCP address this connection came in on (`None` for a Unix socket client).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.tcp().and_then(|tcp| tcp.local_addr().ok())
    }

    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        match self.tcp() {
            Some(tcp) => tcp.peer_addr(),
            None => Err(io::ErrorKind::Unsupported.into()),
        }
    }

    /// The socket's pending error (`SO_ERROR`): how a non-blocking connect ended.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        match self {
            Connection::Unix(unix) => unix.take_error(),
            _ => self.tcp().map_or(Ok(None), TcpStream::take_error),
        }
    }

    /// Encrypted bytes are waiting for the socket to take them (a TLS write, or a handshake
    /// message, came up short): the loop must keep writable interest.
    pub fn wants_write(&self) -> bool {
        match self {
            Connection::Tcp(_) | Connection::Unix(_) => false,
            Connection::Tls(tls) => tls.session.wants_write(),
        }
    }

    /// Writes out encrypted bytes left from an earlier short write. `WouldBlock` when the
    /// socket still cannot take them all.
    pub fn flush_pending(&mut self) -> io::Result<()> {
        match self {
            Connection::Tcp(_) | Connection::Unix(_) => Ok(()),
            Connection::Tls(tls) => tls.flush_tls(),
        }
    }
}

impl AsRawFd for Connection {
    fn as_raw_fd(&self) -> RawFd {
        match self {
            Connection::Tcp(tcp) => tcp.as_raw_fd(),
            Connection::Tls(tls) => tls.tcp.as_raw_fd(),
            Connection::Unix(unix) => unix.as_raw_fd(),
        }
    }
}

impl Read for Connection {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Connection::Tcp(tcp) => tcp.read(buf),
            Connection::Tls(tls) => tls.read(buf),
            Connection::Unix(unix) => unix.read(buf),
        }
    }
}

impl Write for Connection {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Connection::Tcp(tcp) => tcp.write(buf),
            Connection::Tls(tls) => tls.write(buf),
            Connection::Unix(unix) => unix.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_pending()
    }
}

impl TlsStream {
    /// Moves rustls's outgoing records to the socket until none are left (`Ok`) or the socket
    /// is full (`WouldBlock`).
    fn flush_tls(&mut self) -> io::Result<()> {
        while self.session.wants_write() {
            match self.session.write_tls(&mut self.tcp) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Flushes what the handshake (or an alert) produced; a full socket is not an error here,
    /// the bytes wait in the session and `wants_write` tells the loop.
    fn flush_tls_best_effort(&mut self) -> io::Result<()> {
        match self.flush_tls() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            other => other,
        }
    }

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut filled = 0;
        loop {
            // Decrypted bytes first.
            while filled < buf.len() {
                match self.session.reader().read(&mut buf[filled..]) {
                    Ok(0) => return Ok(filled), // close_notify: EOF after what we have
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    // The error (a peer gone without close_notify) comes back next read.
                    Err(_) if filled > 0 => return Ok(filled),
                    Err(e) => return Err(e),
                }
            }
            if filled == buf.len() {
                return Ok(filled);
            }
            match self.session.read_tls(&mut self.tcp) {
                Ok(0) => return Ok(filled), // TCP EOF (sticky: the next read sees it again)
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && filled > 0 => return Ok(filled),
                Err(e) => return Err(e),
            }
            if let Err(error) = self.session.process_new_packets() {
                // rustls queued an alert for the peer: send it, then fail the connection —
                // unless the bytes were no TLS at all (a plain-text client on the TLS port),
                // which, like OpenSSL's server, just sees the connection closed.
                if !matches!(error, rustls::Error::InvalidMessage(_)) {
                    let _ = self.flush_tls_best_effort();
                }
                return Err(io::Error::new(io::ErrorKind::InvalidData, error));
            }
            self.flush_tls_best_effort()?;
        }
    }

    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let accepted = self.session.writer().write(buf)?;
            let flushed = self.flush_tls();
            match flushed {
                Ok(()) if accepted == 0 => continue, // room again: encrypt the rest
                Ok(()) => return Ok(accepted),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && accepted > 0 => {
                    return Ok(accepted)
                }
                Err(e) => return Err(e),
            }
        }
    }
}

impl event::Source for Connection {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        match self {
            Connection::Tcp(tcp) => tcp.register(registry, token, interest),
            Connection::Tls(tls) => tls.tcp.register(registry, token, interest),
            Connection::Unix(unix) => unix.register(registry, token, interest),
        }
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        match self {
            Connection::Tcp(tcp) => tcp.reregister(registry, token, interest),
            Connection::Tls(tls) => tls.tcp.reregister(registry, token, interest),
            Connection::Unix(unix) => unix.reregister(registry, token, interest),
        }
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        match self {
            Connection::Tcp(tcp) => tcp.deregister(registry),
            Connection::Tls(tls) => tls.tcp.deregister(registry),
            Connection::Unix(unix) => unix.deregister(registry),
        }
    }
}
