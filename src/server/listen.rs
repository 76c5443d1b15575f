//! The listening sockets of `bind` and `unixsocket` (Redis: `listenToPort`, `anetTcpServer`
//! and `anetUnixServer` in `anet.c`).
//!
//! Each `bind` word is an address to listen on: `*` is every IPv4 interface, `::*` every IPv6
//! one, and a leading `-` makes the address optional — if the machine does not have it (or has
//! no IPv6), it is skipped with a warning instead of stopping the server. Redis 7.0's default
//! is `* -::*`; an empty `bind` listens on no TCP address at all (the Unix socket, if any, still
//! serves). IPv6 sockets are `IPV6_V6ONLY`, so `*` and `::*` can share a port, as in Redis.
//!
//! `unixsocket` is a path: a stale socket file left there by an earlier run is removed first
//! (as Redis does, without asking whether another server still uses it), and `unixsocketperm`,
//! when not 0, sets the new file's permission bits.

use log::warn;
use mio::net::{TcpListener, UnixListener};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;

/// One `bind` word: the address and whether it may be missing.
pub fn parse_bind_address(word: &str) -> Option<(IpAddr, bool)> {
    let (optional, host) = match word.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, word),
    };
    let ip = match host {
        "*" => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        "::*" => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        _ => host.parse().ok()?,
    };
    Some((ip, optional))
}

/// Binds every address of `bind` on `port` (0: the first gets a free port, the others the
/// same one). An optional address the machine lacks is skipped; an empty `bind` gives no
/// listener.
pub fn listen_to_port(bind: &[String], port: u16, backlog: i32) -> io::Result<Vec<TcpListener>> {
    let mut listeners = Vec::new();
    let mut port = port;
    for word in bind {
        let (ip, optional) = parse_bind_address(word).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("bad bind address '{word}'"),
            )
        })?;
        match listen_tcp(SocketAddr::new(ip, port), backlog) {
            Ok(listener) => {
                if port == 0 {
                    port = listener.local_addr()?.port();
                }
                listeners.push(listener);
            }
            Err(e) if optional && address_unavailable(&e) => {
                warn!("Skipping optional bind address {word}: {e}");
            }
            Err(e) => return Err(e),
        }
    }
    Ok(listeners)
}

/// Listens on the Unix socket at `path` (Redis: `anetUnixServer`), replacing a stale socket
/// file; `perm` (e.g. 0o700), when not 0, becomes the file's mode.
pub fn listen_unix(path: &str, perm: u32, backlog: i32) -> io::Result<UnixListener> {
    // Like Redis's `unlink(server.unixsocket)`: whatever is there goes (a missing file is fine).
    let _ = std::fs::remove_file(path);
    let listener = std::os::unix::net::UnixListener::bind(path)?;
    // std listens with its own backlog; calling listen(2) again on a listening socket just
    // changes the backlog, here to `tcp-backlog` as Redis uses for this socket too.
    cvt(unsafe { libc::listen(listener.as_raw_fd(), backlog) })?;
    listener.set_nonblocking(true)?;
    if perm != 0 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(perm))?;
    }
    Ok(UnixListener::from_std(listener))
}

/// Errors meaning "this machine has no such address or protocol" (Redis skips an optional
/// address on `EADDRNOTAVAIL`, `EAFNOSUPPORT`, `EPROTONOSUPPORT`, ...).
fn address_unavailable(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(
            libc::EADDRNOTAVAIL
                | libc::EAFNOSUPPORT
                | libc::EPROTONOSUPPORT
                | libc::ESOCKTNOSUPPORT
                | libc::EOPNOTSUPP
        )
    )
}

/// A non-blocking listening socket with `SO_REUSEADDR`, and `IPV6_V6ONLY` for IPv6.
fn listen_tcp(addr: SocketAddr, backlog: i32) -> io::Result<TcpListener> {
    if addr.is_ipv4() {
        return TcpListener::bind(addr);
    }
    // mio binds IPv6 dual-stack; Redis's sockets are v6-only, so that `*` and `::*` coexist.
    let fd = cvt(unsafe {
        libc::socket(
            libc::AF_INET6,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    })?;
    // SAFETY: `fd` is a socket we just created and own; from here it closes on drop.
    let listener = unsafe {
        use std::os::fd::FromRawFd;
        std::net::TcpListener::from_raw_fd(fd)
    };
    let one: libc::c_int = 1;
    for (level, name) in [
        (libc::SOL_SOCKET, libc::SO_REUSEADDR),
        (libc::IPPROTO_IPV6, libc::IPV6_V6ONLY),
    ] {
        cvt(unsafe {
            libc::setsockopt(
                fd,
                level,
                name,
                &one as *const libc::c_int as *const libc::c_void,
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        })?;
    }
    let SocketAddr::V6(v6) = addr else {
        unreachable!("IPv4 handled above")
    };
    let sockaddr = libc::sockaddr_in6 {
        sin6_family: libc::AF_INET6 as libc::sa_family_t,
        sin6_port: v6.port().to_be(),
        sin6_flowinfo: v6.flowinfo(),
        sin6_addr: libc::in6_addr {
            s6_addr: v6.ip().octets(),
        },
        sin6_scope_id: v6.scope_id(),
    };
    cvt(unsafe {
        libc::bind(
            fd,
            &sockaddr as *const libc::sockaddr_in6 as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
        )
    })?;
    cvt(unsafe { libc::listen(fd, backlog) })?;
    Ok(TcpListener::from_std(listener))
}

fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_words_are_parsed_like_redis() {
        assert_eq!(
            parse_bind_address("*"),
            Some((IpAddr::V4(Ipv4Addr::UNSPECIFIED), false))
        );
        assert_eq!(
            parse_bind_address("-::*"),
            Some((IpAddr::V6(Ipv6Addr::UNSPECIFIED), true))
        );
        assert_eq!(
            parse_bind_address("-::1"),
            Some((IpAddr::V6(Ipv6Addr::LOCALHOST), true))
        );
        assert_eq!(parse_bind_address("nonsense"), None);
    }
}
