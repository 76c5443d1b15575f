//! Outgoing TCP connections that may start from a chosen local address (Redis:
//! `anetTcpNonBlockBestEffortBindConnect`, used for the replica's link to its master with
//! `bind-source-addr`).
//!
//! mio's `TcpStream::connect` cannot bind first, so the socket is made by hand: a non-blocking
//! socket, `bind(source, port 0)`, then `connect`, which answers `EINPROGRESS` and completes
//! in the loop like any mio connect. "Best effort" as in Redis: if the source address cannot
//! be bound (not on this machine, wrong family), the connection is made without it.

use log::warn;
use mio::net::TcpStream;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::FromRawFd;

/// Starts a non-blocking connect to `addr`, from `source` when it is given and can be bound.
pub fn connect_from(addr: SocketAddr, source: Option<IpAddr>) -> io::Result<TcpStream> {
    let Some(source) = source else {
        return TcpStream::connect(addr);
    };
    if source.is_ipv4() != addr.is_ipv4() {
        warn!("bind-source-addr {source} is not of the master's address family: not used");
        return TcpStream::connect(addr);
    }
    let family = if addr.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    let fd = cvt(unsafe {
        libc::socket(
            family,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    })?;
    // SAFETY: `fd` is a socket we just created and own; from here it closes on drop.
    let socket = unsafe { std::net::TcpStream::from_raw_fd(fd) };
    let (storage, len) = sockaddr(SocketAddr::new(source, 0));
    if let Err(e) = cvt(unsafe { libc::bind(fd, storage.as_ptr(), len) }) {
        warn!("Could not bind to bind-source-addr {source}: {e}; connecting without it");
        return TcpStream::connect(addr);
    }
    let (storage, len) = sockaddr(addr);
    match cvt(unsafe { libc::connect(fd, storage.as_ptr(), len) }) {
        Ok(_) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    Ok(TcpStream::from_std(socket))
}

/// A C socket address for `addr`, as bytes big enough for either family, and its length.
struct SockAddr(libc::sockaddr_storage);

impl SockAddr {
    fn as_ptr(&self) -> *const libc::sockaddr {
        &self.0 as *const libc::sockaddr_storage as *const libc::sockaddr
    }
}

fn sockaddr(addr: SocketAddr) -> (SockAddr, libc::socklen_t) {
    // SAFETY: all-zero bytes are a valid `sockaddr_storage` (an unspecified address).
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(v4) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: v4.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from(*v4.ip()).to_be(),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: `sockaddr_storage` is larger than and aligned for `sockaddr_in`.
            unsafe {
                std::ptr::write(
                    &mut storage as *mut libc::sockaddr_storage as *mut libc::sockaddr_in,
                    sin,
                )
            };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(v6) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: v6.port().to_be(),
                sin6_flowinfo: v6.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: v6.ip().octets(),
                },
                sin6_scope_id: v6.scope_id(),
            };
            // SAFETY: `sockaddr_storage` is larger than and aligned for `sockaddr_in6`.
            unsafe {
                std::ptr::write(
                    &mut storage as *mut libc::sockaddr_storage as *mut libc::sockaddr_in6,
                    sin6,
                )
            };
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    (SockAddr(storage), len as libc::socklen_t)
}

fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}
