//! The `unixsocket` listener: clients over a Unix domain socket, through redis-cli `-s`, the
//! `redis` crate's `redis+unix://` URLs and raw pipelined RESP, and what CLIENT LIST, MONITOR
//! and protected mode make of them, compared with a real redis-server.

mod common;

use common::{require_redis_server, RealRedis, TestServer};
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A socket path of its own for each server of this test process.
fn socket_path(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("ferrodis-unix-{}-{tag}.sock", std::process::id()))
}

fn start_with_socket(tag: &str, extra: &[&str]) -> (TestServer, PathBuf) {
    let path = socket_path(tag);
    let path_text = path.to_str().expect("utf-8 temp path");
    let mut args = vec!["--unixsocket", path_text];
    args.extend_from_slice(extra);
    (TestServer::start(&args), path)
}

fn real_with_socket(tag: &str) -> (RealRedis, PathBuf) {
    let path = socket_path(tag);
    let path_text = path.to_str().expect("utf-8 temp path");
    (RealRedis::start(&["--unixsocket", path_text]), path)
}

fn redis_cli(socket: &Path, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .arg("-s")
        .arg(socket)
        .args(args)
        .output()
        .expect("run redis-cli");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Sends `request` on a new Unix socket connection and reads until `expected_len` bytes came.
fn unix_exchange(socket: &Path, request: &[u8], expected_len: usize) -> Vec<u8> {
    let mut conn = UnixStream::connect(socket).expect("connect to the unix socket");
    conn.set_read_timeout(Some(Duration::from_secs(10))).ok();
    conn.write_all(request).expect("write");
    let mut reply = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    while reply.len() < expected_len {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => reply.extend_from_slice(&buf[..n]),
        }
    }
    reply
}

/// The `addr=`, `laddr=` and `flags=` fields of a CLIENT LIST line, with the socket path
/// replaced by `SOCK` so that two servers' lines compare.
fn addr_fields(line: &str, socket: &Path) -> String {
    let path = socket.to_str().unwrap_or_default();
    line.split(' ')
        .filter(|f| f.starts_with("addr=") || f.starts_with("laddr=") || f.starts_with("flags="))
        .collect::<Vec<_>>()
        .join(" ")
        .replace(path, "SOCK")
}

#[test]
fn redis_cli_talks_over_the_unix_socket() {
    let (_server, sock) = start_with_socket("cli", &[]);
    assert_eq!(redis_cli(&sock, &["SET", "greeting", "hello"]), "OK\n");
    assert_eq!(redis_cli(&sock, &["GET", "greeting"]), "hello\n");
    assert_eq!(redis_cli(&sock, &["PING"]), "PONG\n");
}

#[test]
fn tcp_and_unix_clients_share_the_keyspace() {
    let (server, sock) = start_with_socket("shared", &[]);
    let mut tcp = server.raw();
    assert_eq!(tcp.cmd_str("SET k from-tcp"), "+OK\r\n");
    assert_eq!(redis_cli(&sock, &["GET", "k"]), "from-tcp\n");
}

#[test]
fn redis_crate_connects_with_a_redis_unix_url() {
    let (_server, sock) = start_with_socket("crate", &[]);
    let url = format!("redis+unix://{}", sock.display());
    let mut con = redis::Client::open(url)
        .and_then(|c| c.get_connection())
        .expect("connect with redis+unix://");
    let _: () = redis::cmd("SET")
        .arg("n")
        .arg(41)
        .query(&mut con)
        .expect("SET");
    let n: i64 = redis::cmd("INCR").arg("n").query(&mut con).expect("INCR");
    assert_eq!(n, 42);
    let mut pipe = redis::pipe();
    pipe.cmd("INCR").arg("n").cmd("GET").arg("n");
    let (a, b): (i64, String) = pipe.query(&mut con).expect("pipeline");
    assert_eq!((a, b.as_str()), (43, "43"));
}

#[test]
fn a_pipeline_of_ten_thousand_commands_gets_every_reply_in_order() {
    let (_server, sock) = start_with_socket("pipeline", &[]);
    let count = 10_000;
    let request = "INCR counter\r\n".repeat(count);
    let expected: String = (1..=count).map(|i| format!(":{i}\r\n")).collect();
    let reply = unix_exchange(&sock, request.as_bytes(), expected.len());
    assert_eq!(String::from_utf8_lossy(&reply), expected);
}

#[test]
fn unixsocketperm_sets_the_socket_file_mode() {
    let (_server, sock) = start_with_socket("perm", &["--unixsocketperm", "700"]);
    let mode = std::fs::metadata(&sock)
        .expect("socket file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
    assert_eq!(
        redis_cli(&sock, &["CONFIG", "GET", "unixsocketperm"]),
        "unixsocketperm\n700\n"
    );
}

#[test]
fn a_stale_socket_file_is_replaced_at_startup_and_removed_at_shutdown() {
    let path = socket_path("stale");
    std::fs::write(&path, b"left over by an earlier run").expect("write stale file");
    let path_text = path.to_str().expect("utf-8 temp path");
    let mut server = TestServer::start(&["--unixsocket", path_text]);
    assert_eq!(redis_cli(&path, &["PING"]), "PONG\n");
    redis_cli(&path, &["SHUTDOWN", "NOSAVE"]);
    assert!(server.wait_exit(Duration::from_secs(10)).is_some());
    assert!(!path.exists(), "the socket file outlived the server");
}

#[test]
fn client_list_shows_the_socket_path_like_redis() {
    if !require_redis_server() {
        return;
    }
    let (_ours, our_sock) = start_with_socket("list", &[]);
    let (_real, real_sock) = real_with_socket("list-real");
    let ours = redis_cli(&our_sock, &["CLIENT", "LIST"]);
    let real = redis_cli(&real_sock, &["CLIENT", "LIST"]);
    assert_eq!(
        addr_fields(ours.trim(), &our_sock),
        "addr=SOCK:0 laddr=SOCK:0 flags=U"
    );
    assert_eq!(
        addr_fields(ours.trim(), &our_sock),
        addr_fields(real.trim(), &real_sock)
    );
}

#[test]
fn client_kill_addr_takes_the_socket_path() {
    let (server, sock) = start_with_socket("kill", &[]);
    let mut victim = UnixStream::connect(&sock).expect("connect");
    victim.write_all(b"PING\r\n").expect("write");
    let mut pong = [0u8; 7];
    victim.read_exact(&mut pong).expect("PONG");
    let mut tcp = server.raw();
    let addr = format!("{}:0", sock.display());
    assert_eq!(tcp.cmd_args(&["CLIENT", "KILL", "ADDR", &addr]), ":1\r\n");
    victim.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let mut rest = Vec::new();
    assert_eq!(victim.read_to_end(&mut rest).ok(), Some(0));
}

#[test]
fn monitor_names_a_unix_client_like_redis() {
    let (_server, sock) = start_with_socket("monitor", &[]);
    let mut monitor = UnixStream::connect(&sock).expect("connect");
    monitor.set_read_timeout(Some(Duration::from_secs(5))).ok();
    monitor.write_all(b"MONITOR\r\n").expect("write");
    let mut ok = [0u8; 5];
    monitor.read_exact(&mut ok).expect("+OK");
    assert_eq!(redis_cli(&sock, &["SET", "a", "b"]), "OK\n");
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\r\n") && monitor.read_exact(&mut byte).is_ok() {
        line.push(byte[0]);
    }
    let line = String::from_utf8_lossy(&line);
    let expected = format!(" [0 unix:{}] \"SET\" \"a\" \"b\"\r\n", sock.display());
    assert!(line.ends_with(&expected), "{line:?}");
}

#[test]
fn unix_clients_count_as_local_for_protected_configs() {
    // `enable-protected-configs local`: only local clients may change `dir`; a Unix socket
    // client is local (Redis: `islocalClient`).
    let (server, sock) = start_with_socket("local", &["--enable-protected-configs", "local"]);
    let dir = server.dir.to_str().expect("utf-8 dir");
    assert_eq!(redis_cli(&sock, &["CONFIG", "SET", "dir", dir]), "OK\n");
}

#[test]
fn unixsocket_is_immutable_and_unixsocketperm_octal_like_redis() {
    common::assert_replies_match_redis(
        &["--unixsocketperm", "755"],
        &[
            "CONFIG GET unixsocketperm",
            "CONFIG GET unixsocket",
            "CONFIG SET unixsocket /tmp/elsewhere.sock",
            "CONFIG SET unixsocketperm 700",
        ],
    );
}

#[test]
fn a_unix_client_is_served_while_a_script_is_busy() {
    let (server, sock) = start_with_socket("busy", &["--busy-reply-threshold", "100"]);
    let mut runner = server.raw();
    runner.send_cmd(&[b"EVAL", b"while true do end", b"0"]);
    std::thread::sleep(Duration::from_millis(300));
    // Accepted by the restricted loop turn the script runs, which answers -BUSY ...
    let busy = unix_exchange(&sock, b"PING\r\n", 5);
    assert!(busy.starts_with(b"-BUSY "), "{busy:?}");
    // ... and lets SCRIPT KILL through.
    assert_eq!(unix_exchange(&sock, b"SCRIPT KILL\r\n", 5), b"+OK\r\n");
    let killed = runner.reply_str();
    assert!(
        killed.starts_with("-ERR Script killed by user with SCRIPT KILL"),
        "{killed}"
    );
}
