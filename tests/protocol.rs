//! Protocol robustness through the real binary: pipelining, requests split at every byte,
//! many connections, binary data, huge values, inline commands and malformed input.
//!
//! Every expectation is written down as exact bytes. Where a real `redis-server` is on PATH the
//! same bytes are also sent to it, so the expected table is checked against Redis 7.0 itself.

mod common;
use common::{encode_command, exchange, redis_server_available, RawConn, RealRedis, TestServer};
use std::io::Write;
use std::time::Duration;

/// How long a connection must stay silent to count as "waiting for more input".
const QUIET: Duration = Duration::from_millis(300);

/// Reads exactly `len` bytes of replies (however many RESP values that is).
fn read_exact_replies(conn: &mut RawConn, len: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while out.len() < len {
        out.extend_from_slice(&conn.read_reply());
    }
    out
}

/// A key written before the abuse starts, checked afterwards from a separate connection.
fn plant_sentinel(port: u16) {
    let mut c = RawConn::connect(port);
    assert_eq!(c.cmd(&[b"SET", b"sentinel", b"intact"]), b"+OK\r\n");
}

fn assert_sentinel_intact(port: u16) {
    let mut c = RawConn::connect(port);
    assert_eq!(c.cmd(&[b"PING"]), b"+PONG\r\n", "server must still answer");
    assert_eq!(c.cmd(&[b"GET", b"sentinel"]), b"$6\r\nintact\r\n");
}

#[test]
fn ten_thousand_pipelined_commands_in_one_write_get_ten_thousand_exact_replies() {
    let server = TestServer::start(&[]);
    let mut request = Vec::new();
    let mut expected = Vec::new();
    for i in 0..10_000 {
        let key = format!("key:{i}");
        let value = format!("value-{i}");
        match i % 4 {
            0 => {
                request.extend(encode_command(&[b"SET", key.as_bytes(), value.as_bytes()]));
                expected.extend_from_slice(b"+OK\r\n");
            }
            1 => {
                // The SET two commands earlier (i - 1) wrote key:{i-1}.
                let prev = format!("value-{}", i - 1);
                let prev_key = format!("key:{}", i - 1);
                request.extend(encode_command(&[b"GET", prev_key.as_bytes()]));
                expected.extend(format!("${}\r\n{prev}\r\n", prev.len()).into_bytes());
            }
            2 => {
                request.extend(encode_command(&[b"ECHO", value.as_bytes()]));
                expected.extend(format!("${}\r\n{value}\r\n", value.len()).into_bytes());
            }
            _ => {
                request.extend(encode_command(&[b"EXISTS", key.as_bytes()]));
                expected.extend_from_slice(b":0\r\n");
            }
        }
    }
    let mut conn = server.raw();
    // Write from another thread so that neither side can block the other on full buffers.
    let mut writer = conn.stream.try_clone().expect("clone stream");
    let sender = std::thread::spawn(move || writer.write_all(&request).expect("write pipeline"));
    let got = read_exact_replies(&mut conn, expected.len());
    sender.join().expect("writer thread");
    assert_eq!(got.len(), expected.len());
    if got != expected {
        let at = got
            .iter()
            .zip(&expected)
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        panic!(
            "pipelined replies differ at byte {at}: got {:?}, expected {:?}",
            String::from_utf8_lossy(&got[at.saturating_sub(20)..(at + 40).min(got.len())]),
            String::from_utf8_lossy(
                &expected[at.saturating_sub(20)..(at + 40).min(expected.len())]
            )
        );
    }
    assert_eq!(conn.cmd(&[b"DBSIZE"]), b":2500\r\n");
}

/// Multibulk and inline requests (binary values, quotes, a bare `\n` line end) and their exact
/// replies. The stream deletes what it creates, so it can be replayed on one server.
fn split_stream() -> (Vec<u8>, Vec<u8>) {
    let mut req = Vec::new();
    req.extend(encode_command(&[b"SET", b"bin\r\nkey", b"v\0\r\n\x01"]));
    req.extend(encode_command(&[b"GET", b"bin\r\nkey"]));
    req.extend_from_slice(b"SET ik \"hello world\"\r\n");
    req.extend_from_slice(b"GET ik\n");
    req.extend(encode_command(&[b"ECHO", b""]));
    req.extend_from_slice(b"ECHO \"\\x41\\x42\" \r\n");
    req.extend(encode_command(&[b"PING"]));
    req.extend_from_slice(b"  PING  \r\n");
    req.extend(encode_command(&[b"DEL", b"bin\r\nkey", b"ik", b"nokey"]));
    req.extend_from_slice(b"EXISTS ik 'bin\r\n");
    let expected: &[u8] = b"+OK\r\n$5\r\nv\0\r\n\x01\r\n+OK\r\n$11\r\nhello world\r\n$0\r\n\r\n\
        $2\r\nAB\r\n+PONG\r\n+PONG\r\n:2\r\n";
    (req, expected.to_vec())
}

// The last inline request above has an unbalanced quote: it ends the stream with a protocol
// error, so the connection is closed after the replies.
const SPLIT_STREAM_ERROR: &[u8] = b"-ERR Protocol error: unbalanced quotes in request\r\n";

fn run_split_stream_byte_by_byte(port: u16) -> (Vec<u8>, bool) {
    let (req, _) = split_stream();
    let mut conn = RawConn::connect(port);
    for b in &req {
        conn.send(std::slice::from_ref(b));
        conn.stream.flush().ok();
        // Long enough for the server to read each byte on its own.
        std::thread::sleep(Duration::from_micros(300));
    }
    conn.read_until_quiet(QUIET)
}

#[test]
fn requests_sent_one_byte_at_a_time_get_the_same_replies() {
    let server = TestServer::start(&[]);
    let (_, expected) = split_stream();
    let mut full = expected.clone();
    full.extend_from_slice(SPLIT_STREAM_ERROR);
    let (got, closed) = run_split_stream_byte_by_byte(server.port);
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&full)
    );
    assert!(closed, "unbalanced quotes close the connection");
    if redis_server_available() {
        let redis = RealRedis::start(&[]);
        assert_eq!(run_split_stream_byte_by_byte(redis.port), (full, true));
    }
}

#[test]
fn requests_split_at_every_byte_boundary_get_the_same_replies() {
    let server = TestServer::start(&[]);
    let (req, expected) = split_stream();
    // Without the final (unbalanced) request, so each run leaves the connection usable.
    let cut = req.len() - b"EXISTS ik 'bin\r\n".len();
    let (req, expected) = (&req[..cut], &expected[..]);
    for split in 1..req.len() {
        let mut conn = server.raw();
        conn.send(&req[..split]);
        conn.stream.flush().ok();
        std::thread::sleep(Duration::from_millis(1));
        conn.send(&req[split..]);
        let got = read_exact_replies(&mut conn, expected.len());
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(expected),
            "split at byte {split}"
        );
    }
}

/// Makes sure this process (and, by inheritance or `prlimit`, the server) may open `want` files.
fn ensure_fd_limit(want: u64, server_pid: u32) -> bool {
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
            line.split_whitespace().nth(3)?.parse::<u64>().ok()
        })
        .unwrap_or(0);
    if soft >= want {
        return true;
    }
    // No libc here: util-linux's prlimit can raise another process's limit, including ours.
    let ok = |pid: u32| {
        std::process::Command::new("prlimit")
            .args([
                "--pid",
                &pid.to_string(),
                &format!("--nofile={want}:{want}"),
            ])
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    ok(std::process::id()) && ok(server_pid)
}

#[test]
fn a_thousand_concurrent_connections_each_set_and_get_their_own_key() {
    let server = TestServer::start(&[]);
    if !ensure_fd_limit(2200, server.pid()) {
        eprintln!("note: cannot raise the open-files limit to 2200; skipping");
        return;
    }
    let mut conns: Vec<RawConn> = (0..1000).map(|_| server.raw()).collect();
    // All requests go out before any reply is read: the server really holds 1000 clients with
    // work pending at once.
    for (i, c) in conns.iter_mut().enumerate() {
        c.send_cmd(&[
            b"SET",
            format!("conn:{i}").as_bytes(),
            format!("v{i}").as_bytes(),
        ]);
    }
    for c in conns.iter_mut() {
        assert_eq!(c.read_reply(), b"+OK\r\n");
    }
    for (i, c) in conns.iter_mut().enumerate().rev() {
        c.send_cmd(&[b"GET", format!("conn:{i}").as_bytes()]);
    }
    for (i, c) in conns.iter_mut().enumerate() {
        let v = format!("v{i}");
        assert_eq!(
            c.read_reply(),
            format!("${}\r\n{v}\r\n", v.len()).into_bytes()
        );
    }
    assert_eq!(conns[0].cmd(&[b"DBSIZE"]), b":1000\r\n");
}

#[test]
fn keys_and_values_may_contain_crlf_and_nul_bytes() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    let key: &[u8] = b"k\r\n\0\r\n*1\r\n$4\r\nPING\r\n";
    let value: &[u8] = b"\0\0\r\n+OK\r\n\xff";
    assert_eq!(c.cmd(&[b"SET", key, value]), b"+OK\r\n");
    let mut expected = format!("${}\r\n", value.len()).into_bytes();
    expected.extend_from_slice(value);
    expected.extend_from_slice(b"\r\n");
    assert_eq!(c.cmd(&[b"GET", key]), expected);
    assert_eq!(c.cmd(&[b"EXISTS", key, b"k"]), b":1\r\n");
    assert_eq!(c.cmd(&[b"SET", b"", b""]), b"+OK\r\n");
    assert_eq!(c.cmd(&[b"GET", b""]), b"$0\r\n\r\n");
    assert_eq!(c.cmd(&[b"DEL", key, b""]), b":2\r\n");
}

#[test]
fn a_hundred_megabyte_value_round_trips_intact() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    const LEN: usize = 100 * 1024 * 1024;
    let value: Vec<u8> = (0..LEN).map(|i| (i % 251) as u8).collect();
    let mut writer = c.stream.try_clone().expect("clone");
    let request = encode_command(&[b"SET", b"big", &value]);
    let sender = std::thread::spawn(move || writer.write_all(&request).expect("write"));
    assert_eq!(c.read_reply(), b"+OK\r\n");
    sender.join().expect("writer");
    let reply = c.cmd(&[b"GET", b"big"]);
    let header = format!("${LEN}\r\n").into_bytes();
    assert_eq!(&reply[..header.len()], header.as_slice());
    assert!(
        reply[header.len()..header.len() + LEN] == value[..],
        "value differs"
    );
    assert_eq!(&reply[header.len() + LEN..], b"\r\n");
    let strlen = c.cmd(&[b"STRLEN", b"big"]);
    if strlen.starts_with(b"-ERR unknown command") {
        eprintln!("note: STRLEN not implemented yet; skipped");
    } else {
        assert_eq!(strlen, format!(":{LEN}\r\n").into_bytes());
    }
    assert_eq!(c.cmd(&[b"DEL", b"big"]), b":1\r\n");
}

#[test]
fn inline_commands_split_on_spaces_and_understand_quotes_and_escapes() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    let mut inline = |line: &[u8]| {
        c.send(line);
        c.read_reply()
    };
    assert_eq!(inline(b"SET k \"a b\"\r\n"), b"+OK\r\n");
    assert_eq!(inline(b"GET k\r\n"), b"$3\r\na b\r\n");
    assert_eq!(inline(b"SET k2 'it\\'s \"x\"'\r\n"), b"+OK\r\n");
    assert_eq!(inline(b"GET k2\r\n"), b"$8\r\nit's \"x\"\r\n");
    assert_eq!(inline(b"ECHO \"\\x41\\x4a\\x4\"\r\n"), b"$4\r\nAJx4\r\n");
    assert_eq!(
        inline(b"ECHO \"t\\tn\\nq\\\"\"\r\n"),
        b"$6\r\nt\tn\nq\"\r\n"
    );
    assert_eq!(inline(b"ECHO ''\n"), b"$0\r\n\r\n");
    assert_eq!(inline(b"\t ECHO   x  \r\n"), b"$1\r\nx\r\n");
    // Blank lines are skipped without a reply.
    assert_eq!(inline(b"\r\n\n   \r\nPING\r\n"), b"+PONG\r\n");
    c.send(b"SET k \"unterminated\r\n");
    assert_eq!(
        c.read_until_quiet(QUIET),
        (
            b"-ERR Protocol error: unbalanced quotes in request\r\n".to_vec(),
            true
        )
    );
}

/// A malformed (or odd) request, the exact bytes Redis 7.0 answers, and whether it then
/// closes the connection.
struct Case {
    input: Vec<u8>,
    reply: &'static [u8],
    closed: bool,
}

fn case(input: &[u8], reply: &'static [u8], closed: bool) -> Case {
    Case {
        input: input.to_vec(),
        reply,
        closed,
    }
}

fn malformed_cases() -> Vec<Case> {
    let long_line = |prefix: &[u8]| {
        let mut v = prefix.to_vec();
        v.resize(70 * 1024, b'1');
        v
    };
    vec![
        case(
            b"garbage\r\n",
            b"-ERR unknown command 'garbage', with args beginning with: \r\n",
            false,
        ),
        case(
            b"*abc\r\n",
            b"-ERR Protocol error: invalid multibulk length\r\n",
            true,
        ),
        case(
            b"*\r\n",
            b"-ERR Protocol error: invalid multibulk length\r\n",
            true,
        ),
        case(
            b"*+1\r\n$4\r\nPING\r\n",
            b"-ERR Protocol error: invalid multibulk length\r\n",
            true,
        ),
        case(
            b"*01\r\n$4\r\nPING\r\n",
            b"-ERR Protocol error: invalid multibulk length\r\n",
            true,
        ),
        case(
            b"*1 \r\n$4\r\nPING\r\n",
            b"-ERR Protocol error: invalid multibulk length\r\n",
            true,
        ),
        case(
            b"*2147483648\r\n",
            b"-ERR Protocol error: invalid multibulk length\r\n",
            true,
        ),
        case(
            b"*3000000000\r\n",
            b"-ERR Protocol error: invalid multibulk length\r\n",
            true,
        ),
        case(
            b"*1\r\n$-5\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
            true,
        ),
        case(
            b"*1\r\n$-1\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
            true,
        ),
        case(
            b"*1\r\n$99999999999\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
            true,
        ),
        case(
            b"*1\r\n$536870913\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
            true,
        ),
        case(
            b"*1\r\n$abc\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
            true,
        ),
        case(
            b"*1\r\n$\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
            true,
        ),
        case(
            b"*1\r\n$04\r\nPING\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
            true,
        ),
        case(
            b"*1\r\n$+4\r\nPING\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
            true,
        ),
        case(
            b"*1\r\n$ 4\r\nPING\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
            true,
        ),
        // The length line runs to the next '\r', so "4\nPING" is the (invalid) length.
        case(
            b"*1\r\n$4\nPING\r\n",
            b"-ERR Protocol error: invalid bulk length\r\n",
            true,
        ),
        case(
            b"*1\r\n+foo\r\n",
            b"-ERR Protocol error: expected '$', got '+'\r\n",
            true,
        ),
        // The '\r' is printed, and error replies turn it into a space.
        case(
            b"*1\r\n\r\n",
            b"-ERR Protocol error: expected '$', got ' '\r\n",
            true,
        ),
        case(
            b"SET k \"a b\r\n",
            b"-ERR Protocol error: unbalanced quotes in request\r\n",
            true,
        ),
        case(
            b"SET k 'a\r\n",
            b"-ERR Protocol error: unbalanced quotes in request\r\n",
            true,
        ),
        case(
            b"SET k \"a\"b\r\n",
            b"-ERR Protocol error: unbalanced quotes in request\r\n",
            true,
        ),
        case(
            &long_line(b"x"),
            b"-ERR Protocol error: too big inline request\r\n",
            true,
        ),
        case(
            &long_line(b"*"),
            b"-ERR Protocol error: too big mbulk count string\r\n",
            true,
        ),
        case(
            &long_line(b"*1\r\n$"),
            b"-ERR Protocol error: too big bulk count string\r\n",
            true,
        ),
        // Empty and negative counts are skipped silently.
        case(b"*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n", b"+PONG\r\n", false),
        // Huge announced counts or bulks just wait for data that never comes.
        case(b"*2147483647\r\n", b"", false),
        case(b"*1048577\r\n$4\r\nPING\r\n", b"", false),
        case(b"*1\r\n$536870912\r\nabc", b"", false),
        // The two bytes after a bulk are skipped, whatever they are.
        case(
            b"*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\rX",
            b"+PONG\r\n+PONG\r\n",
            false,
        ),
        case(
            b"*1\r\n$4\r\nPIN\r\n\r\n",
            b"-ERR unknown command 'PIN ', with args beginning with: \r\n",
            false,
        ),
        case(
            b"*1\r\n$0\r\n\r\n",
            b"-ERR unknown command '', with args beginning with: \r\n",
            false,
        ),
        case(b"*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", b"$0\r\n\r\n", false),
        // Inline: '\r' separates arguments; a NUL before the newline means "no line yet".
        case(
            b"ECHO a\rb\r\n",
            b"-ERR wrong number of arguments for 'echo' command\r\n",
            false,
        ),
        case(b"\0\x01\x02\r\nPING\r\n", b"", false),
        case(b"ECHO a\0b\r\n", b"", false),
        case(b"\r\n   \r\nPING\n", b"+PONG\r\n", false),
        // Truncated frames: the server waits (the connection is then dropped by the client).
        case(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nval", b"", false),
        case(b"*3\r\n$3\r\nSET\r\n$1", b"", false),
        case(b"*1\r\n+", b"", false),
        case(b"*1\r\n$4\r\nPI", b"", false),
        case(b"SET k v", b"", false),
    ]
}

/// Sends every case on its own connection, all at once, and returns (reply, closed) per case.
fn run_cases(port: u16, cases: &[Case]) -> Vec<(Vec<u8>, bool)> {
    let handles: Vec<_> = cases
        .iter()
        .map(|c| {
            let input = c.input.clone();
            std::thread::spawn(move || exchange(port, &input, QUIET))
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("case thread"))
        .collect()
}

fn check_cases(server_name: &str, port: u16, cases: &[Case]) {
    let results = run_cases(port, cases);
    let mut failures = Vec::new();
    for (c, (reply, closed)) in cases.iter().zip(results) {
        if reply != c.reply || closed != c.closed {
            failures.push(format!(
                "{server_name}: input {:?}\n   expected {:?} closed={}\n   got      {:?} closed={}",
                String::from_utf8_lossy(&c.input[..c.input.len().min(40)]),
                String::from_utf8_lossy(c.reply),
                c.closed,
                String::from_utf8_lossy(&reply),
                closed
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn malformed_requests_get_redis_exact_replies_and_leave_other_clients_alone() {
    let cases = malformed_cases();
    let server = TestServer::start(&[]);
    plant_sentinel(server.port);
    check_cases("ferrodis", server.port, &cases);
    assert_sentinel_intact(server.port);
    // The same bytes one at a time, so each case also runs with the server otherwise idle.
    for c in &cases {
        let (reply, closed) = exchange(server.port, &c.input, Duration::from_millis(50));
        // What arrived within the short wait must be the start of the expected reply, and a
        // connection that was closed must be one that should be.
        assert!(
            c.reply.starts_with(&reply) && (!closed || c.closed),
            "{:?}",
            String::from_utf8_lossy(&c.input)
        );
        assert_sentinel_intact(server.port);
    }
    if redis_server_available() {
        let redis = RealRedis::start(&[]);
        check_cases("redis-server", redis.port, &cases);
    } else {
        eprintln!("note: redis-server not on PATH; expected replies not re-checked against it");
    }
}

#[test]
fn a_client_that_vanishes_mid_reply_does_not_hurt_the_server() {
    let server = TestServer::start(&[]);
    plant_sentinel(server.port);
    let mut c = server.raw();
    let value = vec![b'x'; 8 * 1024 * 1024];
    assert_eq!(c.cmd(&[b"SET", b"big", &value]), b"+OK\r\n");
    for _ in 0..3 {
        // 20 GETs of 8 MB: 160 MB of reply that nobody will read.
        let mut greedy = server.raw();
        let mut pipeline = Vec::new();
        for _ in 0..20 {
            pipeline.extend(encode_command(&[b"GET", b"big"]));
        }
        greedy.send(&pipeline);
        // Take a little of the reply, then vanish.
        let mut first = [0u8; 1024];
        let _ = std::io::Read::read(&mut greedy.stream, &mut first);
        drop(greedy);
        assert_sentinel_intact(server.port);
    }
    // Requests that are cut off by a disconnect leave nothing behind either.
    for partial in [
        &b"*3\r\n$3\r\nSET\r\n$8\r\nsentinel\r\n$5\r\nbro"[..],
        b"SET sentinel broken",
    ] {
        let mut gone = server.raw();
        gone.send(partial);
        drop(gone);
    }
    assert_sentinel_intact(server.port);
    assert_eq!(c.cmd(&[b"DBSIZE"]), b":2\r\n");
}
