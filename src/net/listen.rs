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
//!
//! # Rebinding at run time
//!
//! CONFIG SET `bind` or `port` replaces the TCP listeners (Redis: `changeBindAddr`,
//! `changeListenPort`); connected clients keep their sockets. [`change_listeners`] first binds
//! the new set beside the old one, so that a port change leaves no moment without a listener;
//! only when that collides with the old sockets themselves (`*` to `127.0.0.1` on the same
//! port) are the old ones closed first, as Redis always does, and if the new set still cannot
//! be bound the old one is bound again and the change is refused.

use log::warn;
use mio::net::{TcpListener, UnixListener};
use mio::{Interest, Registry, Token};
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

/// The token of TCP listener `index` (listeners count down from here; client tokens are slab
/// keys counting up from 0, and the signal, Unix listener and diskless-sync pipe tokens sit
/// just above).
const FIRST_LISTENER_TOKEN: usize = usize::MAX - 4;
/// Tokens reserved for TCP listeners: far more than `bind` addresses on `port` and `tls-port`.
const LISTENER_TOKENS: usize = 1 << 16;

pub fn listener_token(index: usize) -> Token {
    Token(FIRST_LISTENER_TOKEN - index)
}

/// Which TCP listener a token names, if it is a listener token at all. After a rebinding, an
/// index past the current listeners may still come from a stale event: the caller ignores it.
pub fn listener_index(token: Token) -> Option<usize> {
    let Token(t) = token;
    (t <= FIRST_LISTENER_TOKEN && t > FIRST_LISTENER_TOKEN - LISTENER_TOKENS)
        .then(|| FIRST_LISTENER_TOKEN - t)
}

/// Where the TCP listeners should be: the `bind` addresses, the plain port (0: none) and the
/// TLS port (0: none).
#[derive(Clone, Copy)]
pub struct ListenSpec<'a> {
    pub bind: &'a [String],
    pub port: u16,
    pub tls_port: u16,
}

/// The listening sockets of one [`ListenSpec`]: the plain ones, then the TLS ones.
struct Opened {
    plain: Vec<TcpListener>,
    tls: Vec<TcpListener>,
}

fn open(spec: ListenSpec, backlog: i32, with_tls: bool) -> io::Result<Opened> {
    let plain = match spec.port {
        0 => Vec::new(),
        port => listen_to_port(spec.bind, port, backlog)?,
    };
    let tls = match spec.tls_port {
        port if port != 0 && with_tls => listen_to_port(spec.bind, port, backlog)?,
        _ => Vec::new(),
    };
    Ok(Opened { plain, tls })
}

/// Replaces the TCP listeners `listeners` (plain ones, then from index `*tls_from` the TLS
/// ones), bound as `old` says, by listeners bound as `new` says; the TLS ones only when
/// `with_tls` (a `bind` change), otherwise they stay as they are. On failure the listeners are
/// as before (or, if even the old set cannot be bound again, as many of them as could be) and
/// the error is the new set's.
pub fn change_listeners(
    registry: &Registry,
    listeners: &mut Vec<TcpListener>,
    tls_from: &mut usize,
    old: ListenSpec,
    new: ListenSpec,
    with_tls: bool,
    backlog: i32,
) -> io::Result<()> {
    match open(new, backlog, with_tls) {
        Ok(opened) => {
            install(registry, listeners, tls_from, opened, with_tls);
            return Ok(());
        }
        // A word that is no address: nothing to retry, and nothing was touched.
        Err(e) if e.kind() == io::ErrorKind::InvalidInput => return Err(e),
        Err(_) => {}
    }
    // Perhaps the new addresses collide with the old sockets: close those and try again.
    let kept_tls = close(registry, listeners, tls_from, with_tls);
    let retry = open(new, backlog, with_tls);
    let (opened, result) = match retry {
        Ok(opened) => (opened, Ok(())),
        Err(e) => {
            warn!("Failed to bind: {e}");
            let restored = open(old, backlog, with_tls).unwrap_or_else(|restore_error| {
                warn!("Could not listen again on the previous addresses: {restore_error}");
                Opened {
                    plain: Vec::new(),
                    tls: Vec::new(),
                }
            });
            (restored, Err(e))
        }
    };
    let opened = match kept_tls {
        Some(tls) => Opened { tls, ..opened },
        None => opened,
    };
    install(registry, listeners, tls_from, opened, true);
    result
}

/// Closes the plain listeners (and the TLS ones if `with_tls`); returns the TLS ones kept.
fn close(
    registry: &Registry,
    listeners: &mut Vec<TcpListener>,
    tls_from: &mut usize,
    with_tls: bool,
) -> Option<Vec<TcpListener>> {
    let mut tls = listeners.split_off((*tls_from).min(listeners.len()));
    for listener in listeners.iter_mut() {
        let _ = registry.deregister(listener);
    }
    listeners.clear();
    *tls_from = 0;
    if with_tls {
        for listener in tls.iter_mut() {
            let _ = registry.deregister(listener);
        }
        return None;
    }
    Some(tls)
}

/// Makes `opened` the listeners (keeping the current TLS ones unless `replace_tls`), each
/// registered under the token of its index; the ones replaced are closed.
fn install(
    registry: &Registry,
    listeners: &mut Vec<TcpListener>,
    tls_from: &mut usize,
    opened: Opened,
    replace_tls: bool,
) {
    let old_tls = listeners.split_off((*tls_from).min(listeners.len()));
    let old_plain = std::mem::take(listeners);
    let mut new_tls = opened.tls;
    let mut dropped = old_plain;
    if replace_tls {
        dropped.extend(old_tls);
    } else {
        new_tls = old_tls;
    }
    for listener in dropped.iter_mut() {
        let _ = registry.deregister(listener);
    }
    *tls_from = opened.plain.len();
    listeners.extend(opened.plain);
    listeners.extend(new_tls);
    for (i, listener) in listeners.iter_mut().enumerate() {
        // Kept listeners move to their new index's token.
        let result = registry
            .reregister(listener, listener_token(i), Interest::READABLE)
            .or_else(|_| registry.register(listener, listener_token(i), Interest::READABLE));
        if let Err(e) = result {
            warn!("Registering a listening socket: {e}");
        }
    }
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
