//! Connection commands through the real binary: PING, ECHO, QUIT, SELECT, RESET, AUTH, HELLO,
//! the CLIENT container, maxclients and the idle timeout. Replies are compared byte for byte
//! with what Redis 7.0.15 sends.

mod common;
use common::{
    assert_replies_match_redis, bulk_body, require_redis_server, RawConn, RealRedis, TestServer,
};
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const NO_PASSWORD_ERR: &str = "-ERR AUTH <password> called without any password configured for \
the default user. Are you sure your configuration is correct?\r\n";
const WRONGPASS: &str = "-WRONGPASS invalid username-password pair or user is disabled.\r\n";
const HELLO_NOAUTH: &str = "-NOAUTH HELLO must be called with the client already \
authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the \
client and select the RESP protocol version at the same time\r\n";

fn client_id(c: &mut RawConn) -> i64 {
    let reply = c.cmd_str("CLIENT ID");
    reply
        .trim_start_matches(':')
        .trim()
        .parse()
        .expect("CLIENT ID reply")
}

fn hello_reply(resp3: bool, id: i64) -> String {
    let body = format!(
        "$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:{}\r\n\
         $2\r\nid\r\n:{id}\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n\
         $7\r\nmodules\r\n*0\r\n",
        if resp3 { 3 } else { 2 }
    );
    if resp3 {
        format!("%7\r\n{body}")
    } else {
        format!("*14\r\n{body}")
    }
}

/// Polls until the server closes `c` (a read returns 0) or the deadline passes.
fn closed_within(c: &mut RawConn, limit: Duration) -> bool {
    c.stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .ok();
    let deadline = Instant::now() + limit;
    let mut buf = [0u8; 1024];
    while Instant::now() < deadline {
        match c.stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                continue
            }
            Err(_) => return true,
        }
    }
    false
}

#[test]
fn ping_echo_and_quit_reply_like_redis() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert_eq!(c.cmd_str("PING"), "+PONG\r\n");
    assert_eq!(c.cmd_str("PING hi"), "$2\r\nhi\r\n");
    assert_eq!(
        c.cmd_str("PING a b"),
        "-ERR wrong number of arguments for 'ping' command\r\n"
    );
    assert_eq!(c.cmd(&[b"ECHO", b"a\r\nb"]), b"$4\r\na\r\nb\r\n");
    assert_eq!(c.cmd_str("SELECT 16"), "-ERR DB index is out of range\r\n");
    assert_eq!(c.cmd_str("QUIT"), "+OK\r\n");
    assert!(closed_within(&mut c, Duration::from_secs(2)));
}

#[test]
fn auth_without_a_configured_password_uses_redis_wording() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert_eq!(c.cmd_str("AUTH x"), NO_PASSWORD_ERR);
    // The default user is `nopass`: naming it accepts any password.
    assert_eq!(c.cmd_str("AUTH default x"), "+OK\r\n");
    assert_eq!(c.cmd_str("AUTH alice x"), WRONGPASS);
    assert_eq!(c.cmd_str("AUTH a b c"), "-ERR syntax error\r\n");
}

#[test]
fn requirepass_gates_commands_until_auth() {
    let server = TestServer::start(&["--requirepass", "secret"]);
    let mut c = server.raw();
    assert_eq!(c.cmd_str("PING"), "-NOAUTH Authentication required.\r\n");
    assert_eq!(c.cmd_str("HELLO 3"), HELLO_NOAUTH);
    assert_eq!(c.cmd_str("AUTH wrong"), WRONGPASS);
    assert_eq!(c.cmd_str("AUTH default wrong"), WRONGPASS);
    assert_eq!(c.cmd_str("AUTH secret"), "+OK\r\n");
    assert_eq!(c.cmd_str("PING"), "+PONG\r\n");
    let mut d = server.raw();
    assert_eq!(c.cmd_str("QUIT"), "+OK\r\n");
    assert_eq!(d.cmd_str("AUTH default secret"), "+OK\r\n");
    assert_eq!(d.cmd_str("PING"), "+PONG\r\n");
}

#[test]
fn hello_switches_protocol_and_describes_the_server() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    let id = client_id(&mut c);
    assert_eq!(c.cmd_str("HELLO"), hello_reply(false, id));
    assert_eq!(c.cmd_str("HELLO 3"), hello_reply(true, id));
    // Now in RESP3: a null is `_`.
    assert_eq!(c.cmd_str("CLIENT GETNAME"), "_\r\n");
    assert_eq!(c.cmd_str("HELLO 2"), hello_reply(false, id));
    assert_eq!(c.cmd_str("CLIENT GETNAME"), "$-1\r\n");
}

#[test]
fn hello_rejects_bad_versions_and_options_with_redis_errors() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert_eq!(
        c.cmd_str("HELLO 4"),
        "-NOPROTO unsupported protocol version\r\n"
    );
    assert_eq!(
        c.cmd_str("HELLO 1"),
        "-NOPROTO unsupported protocol version\r\n"
    );
    assert_eq!(
        c.cmd_str("HELLO x"),
        "-ERR Protocol version is not an integer or out of range\r\n"
    );
    assert_eq!(
        c.cmd_str("HELLO 3 AUTH default"),
        "-ERR Syntax error in HELLO option 'AUTH'\r\n"
    );
    assert_eq!(
        c.cmd_str("HELLO 2 SETNAME a b"),
        "-ERR Syntax error in HELLO option 'b'\r\n"
    );
    assert_eq!(c.cmd_str("HELLO 3 AUTH alice x"), WRONGPASS);
    // Errors leave the protocol alone.
    assert_eq!(c.cmd_str("CLIENT GETNAME"), "$-1\r\n");
}

#[test]
fn hello_auth_authenticates_and_setname_names_the_connection() {
    let server = TestServer::start(&["--requirepass", "secret"]);
    let mut c = server.raw();
    assert_eq!(c.cmd_str("HELLO 3 AUTH default wrong"), WRONGPASS);
    let reply = c.cmd_str("HELLO 3 AUTH default secret SETNAME conn1");
    assert!(reply.starts_with("%7\r\n"), "{reply}");
    assert_eq!(c.cmd_str("CLIENT GETNAME"), "$5\r\nconn1\r\n");
    assert_eq!(c.cmd_str("PING"), "+PONG\r\n");
}

#[test]
fn reset_returns_the_connection_to_a_fresh_state() {
    let server = TestServer::start(&["--requirepass", "secret"]);
    let mut c = server.raw();
    assert_eq!(c.cmd_str("AUTH secret"), "+OK\r\n");
    assert_eq!(c.cmd_str("SELECT 3"), "+OK\r\n");
    assert_eq!(c.cmd_str("SET k v"), "+OK\r\n");
    assert_eq!(c.cmd_str("CLIENT SETNAME named"), "+OK\r\n");
    c.cmd_str("HELLO 3");
    assert_eq!(c.cmd_str("RESET"), "+RESET\r\n");
    assert_eq!(c.cmd_str("PING"), "-NOAUTH Authentication required.\r\n");
    assert_eq!(c.cmd_str("AUTH secret"), "+OK\r\n");
    assert_eq!(c.cmd_str("CLIENT GETNAME"), "$-1\r\n"); // RESP2 again, no name
    assert_eq!(c.cmd_str("GET k"), "$-1\r\n"); // back in db 0
    let info = c.cmd_str("CLIENT INFO");
    assert!(
        info.contains(" db=0 ") && info.contains(" resp=2"),
        "{info}"
    );
}

#[test]
fn client_setname_getname_and_validation() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert_eq!(c.cmd_str("CLIENT GETNAME"), "$-1\r\n");
    assert_eq!(c.cmd_str("CLIENT SETNAME worker-1"), "+OK\r\n");
    assert_eq!(c.cmd_str("CLIENT GETNAME"), "$8\r\nworker-1\r\n");
    assert_eq!(
        c.cmd(&[b"CLIENT", b"SETNAME", b"has space"]),
        b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n"
    );
    assert_eq!(c.cmd(&[b"CLIENT", b"SETNAME", b""]), b"+OK\r\n");
    assert_eq!(c.cmd_str("CLIENT GETNAME"), "$-1\r\n");
    assert_eq!(
        c.cmd_str("CLIENT SETNAME"),
        "-ERR wrong number of arguments for 'client|setname' command\r\n"
    );
    assert_eq!(
        c.cmd_str("CLIENT FOO"),
        "-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n"
    );
    assert_eq!(c.cmd_str("CLIENT GETREDIR"), ":-1\r\n");
    assert_eq!(
        c.cmd_str("CLIENT TRACKINGINFO"),
        "*6\r\n$5\r\nflags\r\n*1\r\n$3\r\noff\r\n$8\r\nredirect\r\n:-1\r\n$8\r\nprefixes\r\n*0\r\n"
    );
}

#[test]
fn client_setinfo_is_accepted_as_redis_7_2_does() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert_eq!(c.cmd_str("CLIENT SETINFO LIB-NAME redis-py"), "+OK\r\n");
    assert_eq!(c.cmd_str("CLIENT SETINFO lib-ver 5.0.1"), "+OK\r\n");
    assert_eq!(
        c.cmd_str("CLIENT SETINFO color blue"),
        "-ERR Unrecognized option 'color'\r\n"
    );
}

/// Field names of a CLIENT LIST / CLIENT INFO line, in order.
fn field_names(line: &str) -> Vec<String> {
    line.split_whitespace()
        .map(|f| f.split('=').next().unwrap_or("").to_string())
        .collect()
}

const CLIENT_FIELDS: &[&str] = &[
    "id",
    "addr",
    "laddr",
    "fd",
    "name",
    "age",
    "idle",
    "flags",
    "db",
    "sub",
    "psub",
    "ssub",
    "multi",
    "qbuf",
    "qbuf-free",
    "argv-mem",
    "multi-mem",
    "rbs",
    "rbp",
    "obl",
    "oll",
    "omem",
    "tot-mem",
    "events",
    "cmd",
    "user",
    "redir",
    "resp",
];

#[test]
fn client_info_prints_every_redis_field_in_order() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    let id = client_id(&mut c);
    c.cmd_str("CLIENT SETNAME me");
    let info = c.cmd_str("CLIENT INFO");
    let line = bulk_body(&info);
    assert!(info.ends_with("\n\r\n"), "{info:?}");
    assert_eq!(field_names(line), CLIENT_FIELDS);
    let port = server.port;
    for expected in [
        format!("id={id} "),
        format!("laddr=127.0.0.1:{port} "),
        " name=me ".to_string(),
        " flags=N ".to_string(),
        " db=0 ".to_string(),
        " multi=-1 ".to_string(),
        " argv-mem=10 ".to_string(),
        " cmd=client|info ".to_string(),
        " user=default redir=-1 resp=2\n".to_string(),
    ] {
        assert!(line.contains(&expected), "{expected:?} not in {line:?}");
    }
    if !require_redis_server() {
        return;
    }
    let redis = RealRedis::start(&[]);
    let theirs = redis.raw().cmd_str("CLIENT INFO");
    assert_eq!(field_names(bulk_body(&theirs)), field_names(line));
}

#[test]
fn client_list_filters_by_type_and_id() {
    let server = TestServer::start(&[]);
    let mut a = server.raw();
    let mut b = server.raw();
    let (ida, idb) = (client_id(&mut a), client_id(&mut b));
    let all = a.cmd_str("CLIENT LIST");
    let lines: Vec<&str> = bulk_body(&all).lines().collect();
    assert_eq!(lines.len(), 2, "{all}");
    assert!(lines[0].starts_with(&format!("id={ida} ")));
    assert!(lines[1].starts_with(&format!("id={idb} ")));
    assert!(lines[1].contains(" cmd=client|id "), "{}", lines[1]);
    let only_b = a.cmd_str(&format!("CLIENT LIST ID {idb} 9999"));
    assert_eq!(bulk_body(&only_b).lines().count(), 1);
    assert!(bulk_body(&only_b).starts_with(&format!("id={idb} ")));
    assert_eq!(a.cmd_str("CLIENT LIST TYPE pubsub"), "$0\r\n\r\n");
    assert_eq!(
        bulk_body(&a.cmd_str("CLIENT LIST TYPE normal"))
            .lines()
            .count(),
        2
    );
    assert_eq!(
        a.cmd_str("CLIENT LIST TYPE foo"),
        "-ERR Unknown client type 'foo'\r\n"
    );
    assert_eq!(
        a.cmd_str("CLIENT LIST ID abc"),
        "-ERR Invalid client ID\r\n"
    );
    assert_eq!(a.cmd_str("CLIENT LIST foo"), "-ERR syntax error\r\n");
    // RESP3: a verbatim string.
    a.cmd_str("HELLO 3");
    assert!(a.cmd_str("CLIENT INFO").starts_with('='));
}

#[test]
fn client_kill_by_id_closes_the_other_connection() {
    let server = TestServer::start(&[]);
    let mut a = server.raw();
    let mut b = server.raw();
    let idb = client_id(&mut b);
    assert_eq!(a.cmd_str(&format!("CLIENT KILL ID {idb}")), ":1\r\n");
    assert!(closed_within(&mut b, Duration::from_secs(2)));
    assert_eq!(a.cmd_str(&format!("CLIENT KILL ID {idb}")), ":0\r\n");
    assert_eq!(
        a.cmd_str("CLIENT KILL ID abc"),
        "-ERR client-id should be greater than 0\r\n"
    );
    assert_eq!(
        a.cmd_str("CLIENT KILL ID 1 SKIPME maybe"),
        "-ERR syntax error\r\n"
    );
    assert_eq!(a.cmd_str("CLIENT KILL foo bar"), "-ERR syntax error\r\n");
    assert_eq!(
        a.cmd_str("CLIENT KILL USER bob"),
        "-ERR No such user 'bob'\r\n"
    );
}

#[test]
fn client_kill_by_address_in_old_and_new_forms() {
    let server = TestServer::start(&[]);
    let mut a = server.raw();
    let mut b = server.raw();
    let addr_b = b.stream.local_addr().unwrap().to_string();
    assert_eq!(
        a.cmd_str("CLIENT KILL 1.2.3.4:5"),
        "-ERR No such client\r\n"
    );
    assert_eq!(a.cmd_str(&format!("CLIENT KILL {addr_b}")), "+OK\r\n");
    assert!(closed_within(&mut b, Duration::from_secs(2)));
    let mut c = server.raw();
    let addr_c = c.stream.local_addr().unwrap().to_string();
    assert_eq!(a.cmd_str(&format!("CLIENT KILL ADDR {addr_c}")), ":1\r\n");
    assert!(closed_within(&mut c, Duration::from_secs(2)));
}

#[test]
fn client_kill_skipme_no_closes_the_caller_after_its_reply() {
    let server = TestServer::start(&[]);
    let mut a = server.raw();
    let ida = client_id(&mut a);
    // SKIPME defaults to yes.
    assert_eq!(a.cmd_str(&format!("CLIENT KILL ID {ida}")), ":0\r\n");
    assert_eq!(
        a.cmd_str(&format!("CLIENT KILL ID {ida} SKIPME no")),
        ":1\r\n"
    );
    assert!(closed_within(&mut a, Duration::from_secs(2)));
}

#[test]
fn client_reply_off_skip_and_on_control_replies() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    // OFF: no reply to it or to anything after it, until ON (which replies OK).
    c.send(&common::encode_command(&[b"CLIENT", b"REPLY", b"OFF"]));
    c.send(&common::encode_command(&[b"SET", b"a", b"1"]));
    c.send(&common::encode_command(&[b"GET", b"nosuchcmd", b"x"]));
    assert_eq!(c.cmd_str("CLIENT REPLY ON"), "+OK\r\n");
    // SKIP: no reply to it or to the next command only.
    c.send(&common::encode_command(&[b"CLIENT", b"REPLY", b"SKIP"]));
    c.send(&common::encode_command(&[b"GET", b"a"]));
    assert_eq!(c.cmd_str("GET a"), "$1\r\n1\r\n");
    assert_eq!(c.cmd_str("CLIENT REPLY maybe"), "-ERR syntax error\r\n");
}

#[test]
fn client_no_evict_and_no_touch_show_as_flags() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert_eq!(c.cmd_str("CLIENT NO-EVICT on"), "+OK\r\n");
    assert_eq!(c.cmd_str("CLIENT NO-TOUCH on"), "+OK\r\n");
    assert!(c.cmd_str("CLIENT INFO").contains(" flags=eT "));
    assert_eq!(c.cmd_str("CLIENT NO-EVICT maybe"), "-ERR syntax error\r\n");
    assert_eq!(c.cmd_str("CLIENT NO-EVICT off"), "+OK\r\n");
    assert_eq!(c.cmd_str("CLIENT NO-TOUCH off"), "+OK\r\n");
    assert!(c.cmd_str("CLIENT INFO").contains(" flags=N "));
}

#[test]
fn client_help_lists_the_subcommands() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    let help = c.cmd_str("CLIENT HELP");
    assert!(help.starts_with(
        "*52\r\n+CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"
    ));
    assert!(help.contains("+REPLY (ON|OFF|SKIP)\r\n"));
}

#[test]
fn connection_errors_match_real_redis_byte_for_byte() {
    assert_replies_match_redis(
        &[],
        &[
            "AUTH x",
            "AUTH a b",
            "HELLO 4",
            "HELLO x",
            "HELLO 3 SETNAME",
            "HELLO 2 FOO",
            "CLIENT SETNAME a b",
            "CLIENT NO-EVICT x",
            "CLIENT REPLY x",
            "CLIENT KILL 1.2.3.4:5",
            "CLIENT KILL ID abc",
            "CLIENT KILL ID 999",
            "CLIENT KILL TYPE foo",
            "CLIENT LIST TYPE foo",
            "CLIENT LIST ID 0",
            "CLIENT GETREDIR",
            "CLIENT",
            "SELECT -1",
            "SELECT x",
            "ECHO",
        ],
    );
}

#[test]
fn maxclients_refuses_extra_connections_with_redis_error() {
    let server = TestServer::start(&["--maxclients", "2"]);
    let mut a = server.raw();
    // The harness's readiness probe may still hold a slot: wait until `a` is alone.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !a
        .cmd_str("INFO clients")
        .contains("connected_clients:1\r\n")
    {
        assert!(Instant::now() < deadline, "probe connection never closed");
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut b = server.raw();
    assert_eq!(a.cmd_str("PING"), "+PONG\r\n");
    assert_eq!(b.cmd_str("PING"), "+PONG\r\n");
    let mut c = RawConn::connect(server.port);
    let got = c.read_to_close();
    assert_eq!(got, b"-ERR max number of clients reached\r\n");
    // Raising the limit at runtime takes effect for the next connection.
    assert_eq!(a.cmd_str("CONFIG SET maxclients 3"), "+OK\r\n");
    let mut d = server.raw();
    assert_eq!(d.cmd_str("PING"), "+PONG\r\n");
    let info = a.cmd_str("INFO stats");
    assert!(info.contains("rejected_connections:1\r\n"), "{info}");
}

#[test]
fn idle_clients_are_closed_after_timeout() {
    let server = TestServer::start(&["--timeout", "1"]);
    let mut idle = server.raw();
    assert_eq!(idle.cmd_str("PING"), "+PONG\r\n");
    assert!(closed_within(&mut idle, Duration::from_secs(5)));
}

#[test]
fn timeout_set_at_runtime_takes_effect() {
    let server = TestServer::start(&[]);
    let mut admin = server.raw();
    let mut idle = server.raw();
    assert_eq!(idle.cmd_str("PING"), "+PONG\r\n");
    assert_eq!(admin.cmd_str("CONFIG SET timeout 1"), "+OK\r\n");
    assert!(closed_within(&mut idle, Duration::from_secs(5)));
}

fn redis_cli_available() -> bool {
    Command::new("redis-cli")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

#[test]
fn redis_cli_can_ping_and_pipe() {
    if !redis_cli_available() {
        assert!(
            std::env::var("CI").is_err(),
            "CI must have redis-cli installed"
        );
        eprintln!("redis-cli not installed: test skipped");
        return;
    }
    let server = TestServer::start(&[]);
    let port = server.port.to_string();
    let out = Command::new("redis-cli")
        .args(["-p", &port, "ping"])
        .output()
        .expect("run redis-cli");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "PONG\n");

    let mut child = Command::new("redis-cli")
        .args(["-p", &port, "--pipe"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run redis-cli --pipe");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        for i in 0..100 {
            let key = format!("key:{i}");
            stdin
                .write_all(&common::encode_command(&[b"SET", key.as_bytes(), b"v"]))
                .unwrap();
        }
    }
    let out = child.wait_with_output().expect("redis-cli --pipe");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("errors: 0, replies: 100"), "{text}");
    assert_eq!(server.raw().cmd_str("DBSIZE"), ":100\r\n");

    // redis-cli fetches COMMAND DOCS at startup for its hints; it must parse ours.
    let out = Command::new("redis-cli")
        .args(["-p", &port, "COMMAND", "DOCS", "get"])
        .output()
        .expect("run redis-cli");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("summary"), "{text}");
}
