//! Protected mode and `bind`, seen from a real non-loopback address: the test makes a network
//! namespace and a veth pair into it (`ip netns add`, root only), connects from inside, and
//! compares what ferrodis and redis-server answer. Where the kernel or the user may not make
//! namespaces, the test says so and is skipped.

mod common;

use common::{require_redis_server, RealRedis, TestServer};
use std::process::Command;

/// A network namespace joined to the host by a veth pair: the host side has `HOST_IP`, the
/// namespace side `NS_IP`. Removed on drop.
struct Namespace {
    name: String,
    host_link: String,
}

const HOST_IP: &str = "10.213.7.1";
const NS_IP: &str = "10.213.7.2";

fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

impl Namespace {
    fn create() -> Option<Namespace> {
        let id = std::process::id() % 100_000;
        let ns = Namespace {
            name: format!("ferrodis-pm-{id}"),
            host_link: format!("fdpm{id}a"),
        };
        let peer = format!("fdpm{id}b");
        if !ip(&["netns", "add", &ns.name]) {
            eprintln!(
                "protected-mode test skipped: `ip netns add` refused (needs root and a kernel \
                 that allows network namespaces)"
            );
            return None;
        }
        let host_cidr = format!("{HOST_IP}/30");
        let ns_cidr = format!("{NS_IP}/30");
        let steps: [&[&str]; 7] = [
            &[
                "link",
                "add",
                &ns.host_link,
                "type",
                "veth",
                "peer",
                "name",
                &peer,
            ],
            &["link", "set", &peer, "netns", &ns.name],
            &["addr", "add", &host_cidr, "dev", &ns.host_link],
            &["link", "set", &ns.host_link, "up"],
            &[
                "netns", "exec", &ns.name, "ip", "addr", "add", &ns_cidr, "dev", &peer,
            ],
            &["netns", "exec", &ns.name, "ip", "link", "set", &peer, "up"],
            &["netns", "exec", &ns.name, "ip", "link", "set", "lo", "up"],
        ];
        for step in steps {
            assert!(ip(step), "ip {step:?} failed");
        }
        Some(ns)
    }

    /// Connects from inside the namespace to `HOST_IP:port`, sends `request` and returns all
    /// it reads until the server closes or is quiet for a second.
    fn exchange(&self, port: u16, request: &str) -> String {
        // Read first: a denied connection is answered and closed at once, and a request
        // sent into it would turn the close into a reset.
        let script = format!(
            "import socket,sys\n\
             s=socket.create_connection(('{HOST_IP}',{port}),timeout=5)\n\
             def drain(t):\n  \
               s.settimeout(t)\n  \
               got=b''\n  \
               try:\n    \
                 while True:\n      \
                   b=s.recv(65536)\n      \
                   if not b: return got,True\n      \
                   got+=b\n  \
               except socket.timeout:\n    \
                 return got,False\n\
             out,closed=drain(0.5)\n\
             if not closed:\n  \
               s.sendall({request:?}.encode())\n  \
               more,closed=drain(1)\n  \
               out+=more\n\
             sys.stdout.write(out.decode()+('' if closed else '<open>'))\n"
        );
        let out = Command::new("ip")
            .args(["netns", "exec", &self.name, "python3", "-c", &script])
            .output()
            .expect("run python3 in the namespace");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        ip(&["link", "del", &self.host_link]);
        ip(&["netns", "del", &self.name]);
    }
}

/// What a remote client sees, in order: with no password (DENIED and closed), with
/// protected mode off, and with a password set.
fn remote_transcript(ns: &Namespace, port: u16, local: &mut common::RawConn) -> Vec<String> {
    let ping = "PING\r\n";
    let mut seen = vec![ns.exchange(port, ping)];
    assert_eq!(local.cmd_str("CONFIG SET protected-mode no"), "+OK\r\n");
    seen.push(ns.exchange(port, ping));
    assert_eq!(local.cmd_str("CONFIG SET protected-mode yes"), "+OK\r\n");
    assert_eq!(local.cmd_str("CONFIG SET requirepass pw"), "+OK\r\n");
    seen.push(ns.exchange(port, ping));
    seen.push(ns.exchange(port, "AUTH pw\r\nPING\r\n"));
    seen
}

#[test]
fn non_loopback_clients_are_denied_in_protected_mode_like_redis() {
    if !require_redis_server() {
        return;
    }
    let Some(ns) = Namespace::create() else {
        return;
    };
    let ours = TestServer::start(&["--bind", "*"]);
    let real = RealRedis::start(&["--bind", "*"]);
    let ours_seen = remote_transcript(&ns, ours.port, &mut ours.raw());
    let real_seen = remote_transcript(&ns, real.port, &mut real.raw());
    assert_eq!(ours_seen, real_seen);
    assert!(
        ours_seen[0].starts_with("-DENIED Redis is running in protected mode")
            && !ours_seen[0].ends_with("<open>"),
        "{ours_seen:?}"
    );
    assert_eq!(ours_seen[1], "+PONG\r\n<open>");
    assert_eq!(ours_seen[2], "-NOAUTH Authentication required.\r\n<open>");
    let mut local = ours.raw();
    assert_eq!(local.cmd_str("AUTH pw"), "+OK\r\n");
    let stats = local.cmd_str("INFO stats");
    assert!(stats.contains("rejected_connections:1\r\n"), "{stats}");
}

#[test]
fn bind_takes_several_addresses_and_skips_missing_optional_ones() {
    // 192.0.2.1 (TEST-NET-1) is on no interface: optional, it is skipped.
    let server = TestServer::start(&["--bind", "127.0.0.1", "-192.0.2.1", "-::1"]);
    let mut c = server.raw();
    assert_eq!(c.cmd_str("PING"), "+PONG\r\n");
    assert_eq!(
        c.cmd_str("CONFIG GET bind"),
        "*2\r\n$4\r\nbind\r\n$25\r\n127.0.0.1 -192.0.2.1 -::1\r\n"
    );
    // Over IPv6 loopback, where the machine has it: a local client.
    if let Ok(mut s) = std::net::TcpStream::connect(("::1", server.port)) {
        use std::io::{Read, Write};
        s.write_all(b"PING\r\n").unwrap();
        let mut buf = [0u8; 7];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"+PONG\r\n");
    } else {
        eprintln!("no IPv6 loopback here: the ::1 part is skipped");
    }
}
