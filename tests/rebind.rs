//! CONFIG SET `bind` and `port` at run time: the server listens where the new value says,
//! connected clients keep their connections, and a value that cannot be bound is refused with
//! Redis's text while the old listeners keep serving. And `bind-source-addr`, the local address
//! a replica's link to its master starts from.

mod common;

use common::{free_port, RawConn, TestServer};
use std::net::TcpStream;
use std::path::PathBuf;

fn refused(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_err()
}

fn socket_path(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("ferrodis-rebind-{}-{tag}.sock", std::process::id()))
}

#[test]
fn config_set_port_moves_the_listener_and_keeps_connected_clients() {
    let server = TestServer::start(&[]);
    let mut old = server.raw();
    let new_port = free_port();
    assert_eq!(
        old.cmd_args(&["CONFIG", "SET", "port", &new_port.to_string()]),
        "+OK\r\n"
    );
    let mut fresh = RawConn::connect(new_port);
    assert_eq!(fresh.cmd_str("PING"), "+PONG\r\n");
    assert_eq!(
        fresh.cmd_str("CONFIG GET port"),
        format!(
            "*2\r\n$4\r\nport\r\n${}\r\n{new_port}\r\n",
            new_port.to_string().len()
        )
    );
    let info = fresh.cmd_str("INFO server");
    assert!(info.contains(&format!("tcp_port:{new_port}\r\n")), "{info}");
    // The connection made before the change is still served; the old port is closed.
    assert_eq!(old.cmd_str("PING"), "+PONG\r\n");
    assert!(refused(server.port));
}

#[test]
fn config_set_port_already_in_use_is_refused_and_the_old_port_still_serves() {
    let server = TestServer::start(&["--maxmemory", "0"]);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port");
    let taken_port = taken.local_addr().expect("addr").port();
    let mut conn = server.raw();
    // All or nothing: maxmemory, set in the same call, is not changed either.
    assert_eq!(
        conn.cmd_args(&[
            "CONFIG",
            "SET",
            "maxmemory",
            "10000001",
            "port",
            &taken_port.to_string()
        ]),
        "-ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on \
         this port. Check server logs.\r\n"
    );
    assert_eq!(
        conn.cmd_str("CONFIG GET maxmemory"),
        "*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n"
    );
    assert_eq!(RawConn::connect(server.port).cmd_str("PING"), "+PONG\r\n");
}

#[test]
fn config_set_bind_to_an_impossible_address_is_refused_like_redis() {
    common::assert_replies_match_redis(
        &["--bind", "127.0.0.1"],
        &["CONFIG SET bind 999.999.999.999", "CONFIG GET bind", "PING"],
    );
}

#[test]
fn config_set_bind_to_the_same_port_on_fewer_addresses_rebinds() {
    // `* -::*` holds the port on every interface, so `127.0.0.1` on the same port can only be
    // bound once the old sockets are closed.
    let server = TestServer::start(&["--bind", "* -::*"]);
    let mut conn = server.raw();
    assert_eq!(conn.cmd_str("CONFIG SET bind 127.0.0.1"), "+OK\r\n");
    assert_eq!(RawConn::connect(server.port).cmd_str("PING"), "+PONG\r\n");
    assert_eq!(
        conn.cmd_str("CONFIG GET bind"),
        "*2\r\n$4\r\nbind\r\n$9\r\n127.0.0.1\r\n"
    );
    assert!(TcpStream::connect(("::1", server.port)).is_err());
}

#[test]
fn an_empty_bind_closes_tcp_and_the_unix_socket_can_open_it_again() {
    let sock = socket_path("empty");
    let server = TestServer::start(&["--unixsocket", sock.to_str().expect("utf-8 path")]);
    let mut tcp = server.raw();
    assert_eq!(tcp.cmd_args(&["CONFIG", "SET", "bind", ""]), "+OK\r\n");
    assert!(refused(server.port));
    assert_eq!(
        tcp.cmd_str("CONFIG GET bind"),
        "*2\r\n$4\r\nbind\r\n$0\r\n\r\n"
    );
    let out = std::process::Command::new("redis-cli")
        .arg("-s")
        .arg(&sock)
        .args(["CONFIG", "SET", "bind", "127.0.0.1"])
        .output()
        .expect("run redis-cli");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "OK\n");
    assert_eq!(RawConn::connect(server.port).cmd_str("PING"), "+PONG\r\n");
}

#[test]
fn a_replica_connects_to_its_master_from_bind_source_addr() {
    let master = TestServer::start(&["--protected-mode", "no"]);
    let replica = TestServer::start(&[]);
    let mut r = replica.raw();
    assert_eq!(
        r.cmd_str("CONFIG SET bind-source-addr 127.0.0.2"),
        "+OK\r\n"
    );
    assert_eq!(
        r.cmd_str("CONFIG GET bind-source-addr"),
        "*2\r\n$16\r\nbind-source-addr\r\n$9\r\n127.0.0.2\r\n"
    );
    assert_eq!(
        r.cmd_args(&["REPLICAOF", "127.0.0.1", &master.port.to_string()]),
        "+OK\r\n"
    );
    let mut m = master.raw();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let info = m.cmd_str("INFO replication");
        if info.contains("slave0:ip=127.0.0.2,") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{info}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
