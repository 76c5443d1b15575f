//! Shared test harness: start the real `ferrodis-server` binary (and, for differential tests,
//! a real `redis-server`) on a free port, and talk to it over TCP.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running server process, killed when dropped.
pub struct TestServer {
    child: Child,
    pub port: u16,
    /// The server's own `dir` (a fresh temp dir, removed on drop), so that no test reads or
    /// writes an RDB file in the working directory. A test's `--dir` overrides it.
    pub dir: std::path::PathBuf,
}

/// A fresh empty directory for one test server.
fn fresh_server_dir() -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("ferrodis-test-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create server dir");
    dir
}

impl TestServer {
    /// Starts ferrodis on an ephemeral port with extra `--directive value` arguments.
    pub fn start(extra: &[&str]) -> TestServer {
        let dir = fresh_server_dir();
        let mut child = Command::new(env!("CARGO_BIN_EXE_ferrodis-server"))
            .args(["--port", "0", "--loglevel", "notice"])
            // A replica's full sync starts at once (Redis's default waits 5 s for others to
            // join a diskless one; the tests that need the wait set it).
            .args(["--repl-diskless-sync-delay", "0"])
            .arg("--dir")
            .arg(&dir)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ferrodis-server");
        // The startup log line (on stdout, like redis-server's log) names the port bound.
        let stdout = child.stdout.take().expect("stdout");
        let mut reader = BufReader::new(stdout);
        let mut port = 0;
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap_or(0) > 0 {
            if let Some(p) = line.split("port=").nth(1) {
                port = p
                    .trim()
                    .trim_end_matches(|c: char| !c.is_ascii_digit())
                    .parse()
                    .unwrap_or(0);
                break;
            }
            line.clear();
        }
        assert!(port != 0, "server did not report its port: {line}");
        // Keep draining the log so the server never blocks on a full pipe; a crash report is
        // passed on to the test's own output, so a server crash shows up as such in a test.
        std::thread::spawn(move || {
            let mut sink = String::new();
            let mut crashing = false;
            while reader.read_line(&mut sink).unwrap_or(0) > 0 {
                crashing |= sink.contains("BUG REPORT START");
                if crashing {
                    eprint!("ferrodis-server: {sink}");
                }
                sink.clear();
            }
        });
        wait_for_port(port);
        TestServer { child, port, dir }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// A synchronous `redis` crate connection.
    pub fn client(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .and_then(|c| c.get_connection())
            .expect("connect with redis crate")
    }

    /// A raw TCP connection for protocol-level tests.
    pub fn raw(&self) -> RawConn {
        RawConn::connect(self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Has the process exited (e.g. after SHUTDOWN)?
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Waits until `port` is served by `child` itself (its `INFO server` names the child's pid);
/// false if the child exits first or another process answers there.
fn serves_as(child: &mut Child, port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    let pid_line = format!("process_id:{}\r\n", child.id());
    while Instant::now() < deadline {
        if !matches!(child.try_wait(), Ok(None)) {
            return false;
        }
        if let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) {
            let mut conn = RawConn {
                stream,
                buf: Vec::new(),
            };
            let _ = conn.stream.set_read_timeout(Some(Duration::from_secs(5)));
            return conn.cmd_str("INFO server").contains(&pid_line);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("port {port} never opened");
}

/// Is a real `redis-server` on PATH (for differential tests)?
pub fn redis_server_available() -> bool {
    Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// The error every command gives for a key holding another type, exactly as Redis words it.
pub const WRONGTYPE: &str =
    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

/// Should a differential test go on? True when `redis-server` is installed. Without it the
/// test is skipped with a note, except under CI (`CI` set), where a missing oracle is a failure.
pub fn require_redis_server() -> bool {
    if redis_server_available() {
        return true;
    }
    assert!(
        std::env::var("CI").is_err(),
        "CI must have redis-server installed"
    );
    eprintln!("redis-server not installed: differential test skipped");
    false
}

/// Runs `lines` (space-separated commands) in order on a fresh ferrodis and a fresh real
/// Redis, both started with `extra`, and asserts that every reply is the same byte for byte.
/// Skipped as `require_redis_server` says when no redis-server is installed.
pub fn assert_replies_match_redis(extra: &[&str], lines: &[&str]) {
    if !require_redis_server() {
        return;
    }
    let ours = TestServer::start(extra);
    let real = RealRedis::start(extra);
    let (mut a, mut b) = (ours.raw(), real.raw());
    for line in lines {
        assert_eq!(
            a.cmd_str(line),
            b.cmd_str(line),
            "reply to `{line}` differs from redis-server"
        );
    }
}

/// A RESP2 bulk string: `bulk("ab")` is `"$2\r\nab\r\n"`.
pub fn bulk(s: &str) -> String {
    format!("${}\r\n{s}\r\n", s.len())
}

/// The text of a bulk or verbatim string reply (INFO, CLIENT LIST ...): the payload without its
/// `$n` header and final CRLF, and without the `txt:` format of a RESP3 verbatim string.
pub fn bulk_body(reply: &str) -> &str {
    let rest = reply.split_once("\r\n").map(|(_, b)| b).unwrap_or("");
    let rest = rest.strip_suffix("\r\n").unwrap_or(rest);
    rest.strip_prefix("txt:").unwrap_or(rest)
}

/// A RESP2 `pmessage` push, as a pattern subscriber receives it: the pattern that matched, the
/// channel, the payload.
pub fn pmessage(pattern: &str, channel: &str, payload: &str) -> String {
    format!(
        "*4\r\n{}{}{}{}",
        bulk("pmessage"),
        bulk(pattern),
        bulk(channel),
        bulk(payload)
    )
}

/// Sends `bytes` on a fresh connection to `port`, then reads until the server closes the
/// connection or is quiet for `quiet`. Returns (reply bytes, closed?).
pub fn exchange(port: u16, bytes: &[u8], quiet: Duration) -> (Vec<u8>, bool) {
    let mut conn = RawConn::connect(port);
    // The peer may close before taking everything (a protocol error mid-request): not a failure.
    let _ = conn.stream.write_all(bytes);
    conn.read_until_quiet(quiet)
}

/// A real redis-server on a free port, with persistence off, killed when dropped.
pub struct RealRedis {
    child: Child,
    pub port: u16,
    /// Its own empty `dir` (removed on drop), so that no `dump.rdb` left in the working
    /// directory (by a benchmark, a crash) is loaded into it. A test's `--dir` overrides it.
    dir: std::path::PathBuf,
}

impl RealRedis {
    /// Starts redis-server on a port that was free a moment ago. Another process (a ferrodis
    /// on an ephemeral port, in a parallel test) can take that port first: then redis-server
    /// fails to bind, or the port answers with a server that is not ours. Both are detected by
    /// asking the port for its `process_id`, and the start is retried on another port.
    pub fn start(extra: &[&str]) -> RealRedis {
        let dir = fresh_server_dir();
        for _ in 0..5 {
            let port = free_port();
            let mut child = Command::new("redis-server")
                .args([
                    "--port",
                    &port.to_string(),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ])
                .args(["--bind", "127.0.0.1", "--daemonize", "no"])
                .arg("--dir")
                .arg(&dir)
                .args(extra)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start redis-server");
            if serves_as(&mut child, port) {
                return RealRedis { child, port, dir };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("redis-server could not be started on a free port");
    }

    pub fn raw(&self) -> RawConn {
        RawConn::connect(self.port)
    }
}

impl Drop for RealRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A raw RESP connection: send bytes, read whole replies as raw bytes.
pub struct RawConn {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl RawConn {
    pub fn connect(port: u16) -> RawConn {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(30))).ok();
        stream.set_nodelay(true).ok();
        RawConn {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Sends one command as a multibulk request.
    pub fn send_cmd(&mut self, args: &[&[u8]]) {
        self.send(&encode_command(args));
    }

    /// Sends a command and returns its raw reply bytes.
    pub fn cmd(&mut self, args: &[&[u8]]) -> Vec<u8> {
        self.send_cmd(args);
        self.read_reply()
    }

    /// Sends a command built at run time (`String`s or byte vectors) and returns its raw reply.
    pub fn cmd_owned<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Vec<u8> {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_ref()).collect();
        self.cmd(&args)
    }

    /// Sends a command given as space-separated words, without reading its reply.
    pub fn send_str(&mut self, line: &str) {
        let words: Vec<&[u8]> = line.split_whitespace().map(|w| w.as_bytes()).collect();
        self.send_cmd(&words);
    }

    /// Convenience: a command given as space-separated words.
    pub fn cmd_str(&mut self, line: &str) -> String {
        self.send_str(line);
        self.reply_str()
    }

    /// A command given as separate arguments (which may contain spaces); the raw reply as text.
    pub fn cmd_args(&mut self, args: &[&str]) -> String {
        String::from_utf8_lossy(&self.cmd_owned(args)).into_owned()
    }

    /// Runs each space-separated command in turn; their raw replies as text.
    pub fn cmd_strs(&mut self, lines: &[&str]) -> Vec<String> {
        lines.iter().map(|l| self.cmd_str(l)).collect()
    }

    /// The next reply (already requested, or pushed by the server) as text.
    pub fn reply_str(&mut self) -> String {
        String::from_utf8_lossy(&self.read_reply()).into_owned()
    }

    /// OBJECT ENCODING of `key`: the name alone (the reply must be a bulk string).
    pub fn encoding(&mut self, key: &str) -> String {
        let r = self.cmd_str(&format!("OBJECT ENCODING {key}"));
        assert!(r.starts_with('$'), "OBJECT ENCODING {key} replied {r:?}");
        r.lines().nth(1).unwrap_or("").to_string()
    }

    /// Switches the connection to RESP3 (HELLO 3 must answer with a map).
    pub fn hello3(&mut self) {
        let r = self.cmd_str("HELLO 3");
        assert!(r.starts_with('%'), "HELLO 3 replied {r:?}");
    }

    /// Asserts a TTL just set to `secs` seconds: one second of slack for a slow machine.
    pub fn assert_ttl(&mut self, key: &str, secs: i64) {
        let reply = self.cmd_str(&format!("TTL {key}"));
        let ttl: i64 = reply[1..].trim().parse().unwrap_or(i64::MIN);
        assert!(
            ttl == secs || ttl == secs - 1,
            "TTL {key}: {reply:?}, expected {secs}"
        );
    }

    /// Reads exactly one complete RESP reply (RESP2 or RESP3) and returns its bytes.
    pub fn read_reply(&mut self) -> Vec<u8> {
        loop {
            if let Some(n) = reply_len(&self.buf, 0) {
                return self.buf.drain(..n).collect();
            }
            let mut chunk = [0u8; 65536];
            let n = match self.stream.read(&mut chunk) {
                // A signal delivered to the test process is no answer: read again.
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                result => result.expect("read reply"),
            };
            assert!(
                n > 0,
                "connection closed while waiting for a reply; got so far: {:?}",
                String::from_utf8_lossy(&self.buf)
            );
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Reads whatever arrives until the server closes the connection or stays quiet for
    /// `quiet`; returns the bytes (including any already buffered) and whether it closed.
    pub fn read_until_quiet(&mut self, quiet: Duration) -> (Vec<u8>, bool) {
        let mut out = std::mem::take(&mut self.buf);
        let mut chunk = [0u8; 65536];
        self.stream.set_read_timeout(Some(quiet)).ok();
        let closed = loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => break true,
                Ok(n) => out.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut =>
                {
                    break false
                }
                // A reset after an error reply counts as closed too.
                Err(_) => break true,
            }
        };
        self.stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .ok();
        (out, closed)
    }

    /// Reads until the server closes the connection; returns everything received.
    pub fn read_to_close(&mut self) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.buf);
        let mut chunk = [0u8; 65536];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return out,
                Ok(n) => out.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => return out,
            }
        }
    }
}

pub fn encode_command(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Length of the complete RESP value starting at `at`, or None if incomplete.
pub fn reply_len(buf: &[u8], at: usize) -> Option<usize> {
    let line_end = buf[at..].windows(2).position(|w| w == b"\r\n")? + at;
    let header = &buf[at + 1..line_end];
    let after = line_end + 2;
    let num = || std::str::from_utf8(header).ok()?.parse::<i64>().ok();
    match buf.get(at)? {
        b'+' | b'-' | b':' | b',' | b'#' | b'_' | b'(' => Some(after - at),
        b'$' | b'=' | b'!' => {
            let n = num()?;
            if n < 0 {
                return Some(after - at);
            }
            let end = after + n as usize + 2;
            (buf.len() >= end).then_some(end - at)
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let n = num()?;
            if n < 0 {
                return Some(after - at);
            }
            let items = if matches!(buf[at], b'%' | b'|') {
                2 * n
            } else {
                n
            };
            let mut pos = after;
            for _ in 0..items {
                pos += reply_len(buf, pos)?;
            }
            Some(pos - at)
        }
        _ => None,
    }
}

/// A parsed RESP value, for tests that read into a reply (COMMAND INFO rows). Bulk, simple,
/// error and verbatim strings are all `Str`; maps and sets become flat lists.
#[derive(Debug, Clone, PartialEq)]
pub enum Resp {
    Str(String),
    Int(i64),
    Null,
    List(Vec<Resp>),
}

impl Resp {
    /// The items of a list; empty for anything else.
    pub fn as_list(&self) -> &[Resp] {
        match self {
            Resp::List(v) => v,
            _ => &[],
        }
    }

    /// The value of an integer; `i64::MIN` for anything else.
    pub fn as_int(&self) -> i64 {
        match self {
            Resp::Int(n) => *n,
            _ => i64::MIN,
        }
    }

    /// The text of a string; empty for anything else.
    pub fn as_str(&self) -> &str {
        match self {
            Resp::Str(s) => s,
            _ => "",
        }
    }
}

/// Parses one complete RESP2/RESP3 value at `*pos` and moves `*pos` past it (maps become flat
/// lists). Panics on a malformed or incomplete reply: the input is a test's own reply.
pub fn parse_resp(buf: &[u8], pos: &mut usize) -> Resp {
    let end = buf[*pos..]
        .windows(2)
        .position(|w| w == b"\r\n")
        .expect("complete reply")
        + *pos;
    let kind = buf[*pos];
    let header = String::from_utf8_lossy(&buf[*pos + 1..end]).into_owned();
    *pos = end + 2;
    match kind {
        b'+' | b'-' => Resp::Str(header),
        b':' => Resp::Int(header.parse().expect("integer")),
        b'_' => Resp::Null,
        b'$' | b'=' => {
            let n: i64 = header.parse().expect("length");
            if n < 0 {
                return Resp::Null;
            }
            let s = String::from_utf8_lossy(&buf[*pos..*pos + n as usize]).into_owned();
            *pos += n as usize + 2;
            Resp::Str(s)
        }
        b'*' | b'~' | b'%' => {
            let n: i64 = header.parse().expect("length");
            if n < 0 {
                return Resp::Null;
            }
            let items = if kind == b'%' { 2 * n } else { n };
            Resp::List((0..items).map(|_| parse_resp(buf, pos)).collect())
        }
        other => panic!("unexpected RESP type {:?}", other as char),
    }
}

/// One blocking scenario run against one server: `setup` on a control connection, then each
/// waiter `(db, command)` sent on its own connection (a blocking command with a short timeout,
/// so a waiter nobody wakes answers with its timeout reply), then `trigger` on the control
/// connection, then `check`. Returns every reply in a fixed order (setup, trigger, the
/// waiters' replies in the order they were listed, check), to compare two servers.
pub fn blocking_transcript(
    port: u16,
    setup: &[&str],
    waiters: &[(usize, &str)],
    trigger: &[&str],
    check: &[&str],
) -> Vec<String> {
    let mut ctrl = RawConn::connect(port);
    let mut out = ctrl.cmd_strs(setup);
    let mut blocked = Vec::new();
    for &(db, line) in waiters {
        let mut c = RawConn::connect(port);
        assert_eq!(c.cmd_str(&format!("SELECT {db}")), "+OK\r\n");
        c.send_str(line);
        blocked.push(c);
    }
    // The server handles readable sockets in turn: one round trip on the control connection
    // and a short grace period make sure every waiter is registered before the trigger.
    assert_eq!(ctrl.cmd_str("PING"), "+PONG\r\n");
    std::thread::sleep(Duration::from_millis(50));
    out.extend(ctrl.cmd_strs(trigger));
    for (c, (_, line)) in blocked.iter_mut().zip(waiters) {
        out.push(format!("{line} -> {}", c.reply_str()));
    }
    out.extend(ctrl.cmd_strs(check));
    out
}

/// Runs [`blocking_transcript`] on a fresh ferrodis and a fresh redis-server and asserts the
/// two transcripts are identical.
pub fn assert_wakeups_match_redis(
    setup: &[&str],
    waiters: &[(usize, &str)],
    trigger: &[&str],
    check: &[&str],
) {
    if !require_redis_server() {
        return;
    }
    let ours = TestServer::start(&[]);
    let real = RealRedis::start(&[]);
    let a = blocking_transcript(ours.port, setup, waiters, trigger, check);
    let b = blocking_transcript(real.port, setup, waiters, trigger, check);
    assert_eq!(
        a, b,
        "blocked clients: ferrodis (left) differs from redis-server (right)"
    );
}

/// Runs `lines` on a server started with `notify-keyspace-events KEA` while another
/// connection listens on `__key*__:*`; returns the replies followed by every event message
/// the listener received, in order.
pub fn events_transcript(port: u16, lines: &[&str]) -> Vec<String> {
    let mut listener = RawConn::connect(port);
    listener.send_str("PSUBSCRIBE __key*__:*");
    listener.read_reply();
    let mut c = RawConn::connect(port);
    let mut out = c.cmd_strs(lines);
    // A round trip after the last command: every event it caused has been written by now.
    c.cmd_str("PING");
    let (events, _) = listener.read_until_quiet(Duration::from_millis(100));
    out.push(String::from_utf8_lossy(&events).into_owned());
    out
}

/// Asserts that `lines` produce the same replies and the same keyspace event stream on
/// ferrodis and redis-server (both with `notify-keyspace-events KEA`).
pub fn assert_events_match_redis(lines: &[&str]) {
    if !require_redis_server() {
        return;
    }
    let conf = ["--notify-keyspace-events", "KEA"];
    let ours = TestServer::start(&conf);
    let real = RealRedis::start(&conf);
    let a = events_transcript(ours.port, lines);
    let b = events_transcript(real.port, lines);
    assert_eq!(
        a, b,
        "events: ferrodis (left) differs from redis-server (right)"
    );
}

/// Runs `setup`, then WATCHes `watched` on one connection, runs `lines` on another, and
/// returns the replies and what the watcher's `MULTI` / `PING` / `EXEC` answered (a null
/// array when one of the lines touched the watched key).
pub fn watch_transcript(port: u16, setup: &[&str], watched: &str, lines: &[&str]) -> Vec<String> {
    let mut c = RawConn::connect(port);
    let mut out = c.cmd_strs(setup);
    let mut w = RawConn::connect(port);
    out.push(w.cmd_str(&format!("WATCH {watched}")));
    out.extend(c.cmd_strs(lines));
    out.extend(w.cmd_strs(&["MULTI", "PING", "EXEC"]));
    out
}

/// Asserts that, for each key in `watched`, the same `lines` invalidate (or not) a WATCH on it
/// on ferrodis as on redis-server.
pub fn assert_watch_matches_redis(setup: &[&str], watched: &[&str], lines: &[&str]) {
    if !require_redis_server() {
        return;
    }
    for key in watched {
        let ours = TestServer::start(&[]);
        let real = RealRedis::start(&[]);
        let a = watch_transcript(ours.port, setup, key, lines);
        let b = watch_transcript(real.port, setup, key, lines);
        assert_eq!(
            a, b,
            "WATCH {key}: ferrodis (left) differs from redis-server (right)"
        );
    }
}
