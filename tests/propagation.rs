//! The replication stream: what ferrodis propagates for each write, read as a replica reads it
//! (`SYNC`, skip the RDB image, then RESP commands).
//!
//! * Exact-byte tests, one per rewrite Redis 7.0 makes (`SET .. EX` -> `SET .. PXAT`, `EXPIRE`
//!   -> `PEXPIREAT`, `INCRBYFLOAT` -> `SET .. KEEPTTL`, `SPOP` -> `SREM`/`DEL`, blocking pops ->
//!   their plain form, expired keys -> `DEL`, MULTI/EXEC and scripts wrapped, SELECT...).
//! * A differential run: the same seeded random commands go to ferrodis and to a real
//!   `redis-server`, each with a `SYNC` reader attached, and the two streams must agree
//!   command by command (absolute expiry times within a tolerance: the two servers run a
//!   relative EXPIRE a moment apart). Active expiry is off on both (`DEBUG SET-ACTIVE-EXPIRE
//!   0`), so a key expires exactly when a command meets it; short TTLs are 1 ms and followed by
//!   a short sleep, so both servers agree that the key is gone.

mod common;
use common::{encode_command, reply_len, require_redis_server, RawConn, RealRedis, TestServer};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A connection that sent SYNC: reads the RDB image, then the stream's commands.
struct ReplicaStream {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl ReplicaStream {
    /// Connects, sends `request` (SYNC or PSYNC ...), and consumes everything up to and
    /// including the RDB image. Returns the stream and the `+FULLRESYNC` line, if any.
    fn attach(port: u16, request: &str) -> (ReplicaStream, Option<String>) {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(10))).ok();
        let mut r = ReplicaStream {
            stream,
            buf: Vec::new(),
        };
        r.stream
            .write_all(format!("{request}\r\n").as_bytes())
            .expect("send");
        let mut fullresync = None;
        let len = loop {
            let line = r.line();
            if line.is_empty() {
                continue; // Redis may send newlines while it prepares the image.
            }
            if let Some(rest) = line.strip_prefix('+') {
                fullresync = Some(rest.to_string());
                continue;
            }
            let len = line.strip_prefix('$').and_then(|n| n.parse::<usize>().ok());
            break len.unwrap_or_else(|| panic!("expected the RDB length, got {line:?}"));
        };
        let image = r.take(len);
        assert!(image.starts_with(b"REDIS0010"), "not an RDB image");
        (r, fullresync)
    }

    fn fill(&mut self) {
        let mut chunk = [0u8; 65536];
        let n = self.stream.read(&mut chunk).expect("read the stream");
        assert!(n > 0, "the master closed the replication stream");
        self.buf.extend_from_slice(&chunk[..n]);
    }

    fn line(&mut self) -> String {
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=i).collect();
                let line = String::from_utf8_lossy(&line);
                return line.trim_end_matches(['\r', '\n']).to_string();
            }
            self.fill();
        }
    }

    fn take(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() < n {
            self.fill();
        }
        self.buf.drain(..n).collect()
    }

    /// The next command of the stream, as raw RESP bytes.
    fn next_raw(&mut self) -> Vec<u8> {
        loop {
            if !self.buf.is_empty() {
                if let Some(n) = reply_len(&self.buf, 0) {
                    return self.buf.drain(..n).collect();
                }
            }
            self.fill();
        }
    }

    /// The next command of the stream, its arguments, skipping the master's keep-alive PINGs.
    fn next(&mut self) -> Vec<Vec<u8>> {
        loop {
            let raw = self.next_raw();
            let argv = parse_command(&raw);
            if argv.len() == 1 && argv[0].eq_ignore_ascii_case(b"ping") {
                continue;
            }
            return argv;
        }
    }

    /// Every command up to and including `SET __marker__ <marker>` (which the caller wrote
    /// after its commands, so that the stream's end is known).
    fn until_marker(&mut self, marker: &str) -> Vec<Vec<Vec<u8>>> {
        let mut commands = Vec::new();
        loop {
            let argv = self.next();
            let done = argv.len() == 3 && argv[1] == b"__marker__" && argv[2] == marker.as_bytes();
            commands.push(argv);
            if done {
                return commands;
            }
        }
    }

    /// Nothing more arrives within `quiet`.
    fn assert_quiet(&mut self, quiet: Duration) {
        self.stream.set_read_timeout(Some(quiet)).ok();
        let mut chunk = [0u8; 4096];
        // A timeout is the quiet we hope for.
        let more: usize = self.stream.read(&mut chunk).unwrap_or_default();
        self.stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .ok();
        assert!(
            self.buf.is_empty() && more == 0,
            "unexpected stream bytes: {:?}",
            String::from_utf8_lossy(&chunk[..more])
        );
    }
}

/// Splits one RESP array of bulk strings into its arguments.
fn parse_command(raw: &[u8]) -> Vec<Vec<u8>> {
    let text_end = |at: usize| raw[at..].windows(2).position(|w| w == b"\r\n").unwrap() + at;
    assert_eq!(raw[0], b'*', "a stream command is an array: {raw:?}");
    let end = text_end(0);
    let n: usize = std::str::from_utf8(&raw[1..end]).unwrap().parse().unwrap();
    let mut pos = end + 2;
    let mut argv = Vec::with_capacity(n);
    for _ in 0..n {
        let end = text_end(pos);
        let len: usize = std::str::from_utf8(&raw[pos + 1..end])
            .unwrap()
            .parse()
            .unwrap();
        argv.push(raw[end + 2..end + 2 + len].to_vec());
        pos = end + 2 + len + 2;
    }
    argv
}

/// The stream bytes of `commands` (space-separated words each).
fn stream_bytes(commands: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for c in commands {
        let words: Vec<&[u8]> = c.split(' ').map(str::as_bytes).collect();
        out.extend_from_slice(&encode_command(&words));
    }
    out
}

/// A ferrodis with a replica attached, active expiry off.
struct Master {
    _server: TestServer,
    client: RawConn,
    replica: ReplicaStream,
}

impl Master {
    fn start() -> Master {
        let server = TestServer::start(&["--enable-debug-command", "yes"]);
        let mut client = server.raw();
        assert_eq!(client.cmd_str("DEBUG SET-ACTIVE-EXPIRE 0"), "+OK\r\n");
        let (replica, _) = ReplicaStream::attach(server.port, "SYNC");
        Master {
            _server: server,
            client,
            replica,
        }
    }

    /// Runs `commands`, then asserts that the stream is exactly `expected` (then nothing).
    fn assert_stream(&mut self, commands: &[&str], expected: &[&str]) {
        for c in commands {
            self.client.cmd_str(c);
        }
        self.expect(expected);
        self.replica.assert_quiet(Duration::from_millis(100));
    }

    /// The next bytes of the stream are exactly `expected`.
    fn expect(&mut self, expected: &[&str]) {
        let want = stream_bytes(expected);
        let got = self.replica.take(want.len());
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want)
        );
    }
}

#[test]
fn writes_are_streamed_as_sent_after_a_select() {
    let mut m = Master::start();
    m.assert_stream(
        &["set foo bar", "GET foo", "DEL nosuchkey", "RPUSH l a b"],
        &["SELECT 0", "set foo bar", "RPUSH l a b"],
    );
    // A database change is announced once per change.
    m.assert_stream(
        &["SELECT 5", "SET a 1", "SET b 2", "SELECT 0", "SET c 3"],
        &["SELECT 5", "SET a 1", "SET b 2", "SELECT 0", "SET c 3"],
    );
}

#[test]
fn relative_and_absolute_ttls_become_absolute_milliseconds() {
    let mut m = Master::start();
    for c in [
        "SET k v EXAT 4102444800",
        "SET k v PXAT 4102444800123",
        "SETEX k2 100 v",
        "EXPIREAT k 4102444801",
        "PEXPIREAT k 4102444802000 GT",
        "GETEX k EXAT 4102444803",
    ] {
        m.client.cmd_str(c);
    }
    m.expect(&[
        "SELECT 0",
        "SET k v PXAT 4102444800000",
        "SET k v PXAT 4102444800123",
    ]);
    // SETEX's time is relative: check its shape and that it is about now + 100 s.
    let setex = m.replica.next();
    assert_eq!(&setex[..4], &[&b"SET"[..], b"k2", b"v", b"PXAT"]);
    let when: i64 = String::from_utf8_lossy(&setex[4]).parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert!((when - now - 100_000).abs() < 5_000, "SETEX became {when}");
    m.expect(&[
        "PEXPIREAT k 4102444801000",
        "PEXPIREAT k 4102444802000 GT",
        "PEXPIREAT k 4102444803000",
    ]);
    m.replica.assert_quiet(Duration::from_millis(100));
}

#[test]
fn expire_keeps_its_flags_and_a_past_time_is_a_del() {
    let mut m = Master::start();
    m.client.cmd_str("SET k v");
    m.client.cmd_str("EXPIRE k 100 NX");
    let _ = m.replica.next(); // SELECT
    let _ = m.replica.next(); // SET
    let e = m.replica.next();
    assert_eq!(e.len(), 4);
    assert_eq!(
        (&e[0][..], &e[1][..], &e[3][..]),
        (&b"PEXPIREAT"[..], &b"k"[..], &b"NX"[..])
    );
    m.assert_stream(
        &["EXPIRE k -1", "EXPIRE k 10", "SET j v", "PEXPIREAT j 1"],
        &["DEL k", "SET j v", "DEL j"],
    );
}

#[test]
fn getex_persist_getdel_getset_and_set_get() {
    let mut m = Master::start();
    m.assert_stream(
        &[
            "SET k v EXAT 4102444800",
            "GETEX k",
            "GETEX k PERSIST",
            "GETEX k PERSIST",
            "GETEX k PXAT 1",
            "SET k v",
            "GETDEL k",
            "GETDEL k",
            "GETSET g 1",
            "SET g 2 GET",
            "SET g 3 GET KEEPTTL get",
            "SET g 4 NX GET",
        ],
        &[
            "SELECT 0",
            "SET k v PXAT 4102444800000",
            "PERSIST k",
            "DEL k",
            "SET k v",
            "DEL k",
            "SET g 1",
            "SET g 2",
            "SET g 3 KEEPTTL",
        ],
    );
}

#[test]
fn float_increments_propagate_their_result() {
    let mut m = Master::start();
    m.assert_stream(
        &[
            "INCRBYFLOAT f 10.5",
            "INCRBYFLOAT f 0.1",
            "HINCRBYFLOAT h x 1.25",
        ],
        &[
            "SELECT 0",
            "SET f 10.5 KEEPTTL",
            "SET f 10.6 KEEPTTL",
            "HSET h x 1.25",
        ],
    );
}

#[test]
fn spop_becomes_srem_or_del() {
    let mut m = Master::start();
    m.assert_stream(
        &[
            "SADD one a",
            "SPOP one",
            "SADD all a b c",
            "SPOP all 10",
            "SPOP none 2",
        ],
        &[
            "SELECT 0",
            "SADD one a",
            "SREM one a",
            "SADD all a b c",
            "DEL all",
        ],
    );
    // Several SREMs from one SPOP are one transaction; members vary, the shape does not.
    m.client.cmd_str("SADD s a b c d");
    let _ = m.replica.next();
    m.client.cmd_str("SPOP s 2");
    let got: Vec<Vec<Vec<u8>>> = (0..4).map(|_| m.replica.next()).collect();
    assert_eq!(got[0], vec![b"MULTI".to_vec()]);
    assert_eq!(got[3], vec![b"EXEC".to_vec()]);
    for srem in &got[1..3] {
        assert_eq!(&srem[..2], &[b"SREM".to_vec(), b"s".to_vec()]);
    }
    assert_ne!(got[1][2], got[2][2]);
}

#[test]
fn blocking_pops_served_at_once_propagate_their_plain_form() {
    let mut m = Master::start();
    m.assert_stream(
        &[
            "RPUSH l a b c d e",
            "BLPOP l 0",
            "BRPOP l 0",
            "BLMPOP 0 1 l LEFT COUNT 10",
            "RPUSH l a b",
            "LMPOP 1 l RIGHT",
            "BLMOVE l d left right 0",
            "RPUSH l x",
            "BRPOPLPUSH l d 0",
            "ZADD z 1 a 2 b 3 c",
            "BZPOPMIN z 0",
            "BZPOPMAX z 0",
            "BZMPOP 0 1 z MIN COUNT 5",
            "ZADD z 1 a",
            "ZMPOP 1 z MAX",
        ],
        &[
            "SELECT 0",
            "RPUSH l a b c d e",
            "LPOP l",
            "RPOP l",
            "LPOP l 3",
            "RPUSH l a b",
            "RPOP l 1",
            "LMOVE l d left right",
            "RPUSH l x",
            "RPOPLPUSH l d",
            "ZADD z 1 a 2 b 3 c",
            "ZPOPMIN z",
            "ZPOPMAX z",
            "ZPOPMIN z 1",
            "ZADD z 1 a",
            "ZPOPMAX z 1",
        ],
    );
}

#[test]
fn blocked_clients_served_by_a_push_propagate_after_the_push() {
    let mut m = Master::start();
    let port = m._server.port;
    let waiters: Vec<(RawConn, &str)> = [
        "BLPOP l1 0",
        "BLMPOP 0 1 l2 RIGHT COUNT 5",
        "BLMOVE l3 d RIGHT LEFT 0",
        "BRPOPLPUSH l4 d 0",
        "BZPOPMAX z1 0",
        "BZMPOP 0 1 z2 MIN COUNT 5",
    ]
    .into_iter()
    .map(|c| {
        let mut conn = RawConn::connect(port);
        conn.send_str(c);
        (conn, c)
    })
    .collect();
    // Wait until all of them are blocked.
    for _ in 0..100 {
        if m.client
            .cmd_str("INFO clients")
            .contains("blocked_clients:6")
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    m.assert_stream(
        &[
            "RPUSH l1 a b",
            "RPUSH l2 a b",
            "MULTI",
            "RPUSH l3 x",
            "RPUSH l4 y",
            "EXEC",
            "ZADD z1 1 a 2 b",
            "ZADD z2 1 a",
        ],
        &[
            "SELECT 0",
            "RPUSH l1 a b",
            "LPOP l1",
            "RPUSH l2 a b",
            "RPOP l2 2",
            "MULTI",
            "RPUSH l3 x",
            "RPUSH l4 y",
            "EXEC",
            "LMOVE l3 d right left",
            "RPOPLPUSH l4 d",
            "ZADD z1 1 a 2 b",
            "ZPOPMAX z1",
            "ZADD z2 1 a",
            "ZPOPMIN z2 1",
        ],
    );
    drop(waiters);
}

#[test]
fn transactions_and_scripts_are_wrapped_unless_single_or_read_only() {
    let mut m = Master::start();
    m.assert_stream(
        &[
            "MULTI",
            "SET a 1",
            "EXEC",
            "MULTI",
            "GET a",
            "EXEC",
            "MULTI",
            "EXEC",
            "MULTI",
            "DEL nosuchkey",
            "EXEC",
            "MULTI",
            "SET a 2",
            "SELECT 1",
            "SET b 3",
            "SELECT 0",
            "EXEC",
        ],
        &[
            "SELECT 0", "SET a 1", "MULTI", "SET a 2", "SELECT 1", "SET b 3", "EXEC",
        ],
    );
    m.client.cmd_args(&[
        "EVAL",
        "redis.call('set', KEYS[1], 'x'); redis.call('incr', 'n'); return 1",
        "1",
        "q",
    ]);
    m.client
        .cmd_args(&["EVAL", "return redis.call('get', KEYS[1])", "1", "q"]);
    m.client
        .cmd_args(&["EVAL", "return redis.call('set', KEYS[1], 'y')", "1", "q"]);
    m.assert_stream(
        &[],
        &["SELECT 0", "MULTI", "set q x", "incr n", "EXEC", "set q y"],
    );
}

#[test]
fn set_repl_keeps_a_script_command_from_replicas() {
    let mut m = Master::start();
    m.client.cmd_args(&[
        "EVAL",
        "redis.call('set','a','1'); redis.set_repl(redis.REPL_NONE); redis.call('set','b','2'); \
         redis.set_repl(redis.REPL_AOF); redis.call('set','c','3'); \
         redis.set_repl(redis.REPL_ALL); redis.call('set','d','4')",
        "0",
    ]);
    m.assert_stream(&[], &["SELECT 0", "MULTI", "set a 1", "set d 4", "EXEC"]);
    // The next script starts with REPL_ALL again. A command for the AOF only (there is none)
    // is no op at all: the script's one replicated command is not wrapped.
    m.client.cmd_args(&[
        "EVAL",
        "redis.call('set','e','5'); redis.set_repl(redis.REPL_AOF); redis.call('set','f','6')",
        "0",
    ]);
    m.assert_stream(&[], &["set e 5"]);
}

#[test]
fn expired_keys_are_deleted_on_the_stream() {
    let mut m = Master::start();
    m.client.cmd_str("SET a 1 PX 1");
    m.client.cmd_str("SET b 1 PX 1");
    m.client.cmd_str("SET c 1 PX 1");
    std::thread::sleep(Duration::from_millis(5));
    for _ in 0..4 {
        m.replica.next(); // SELECT and the three SETs
    }
    // Met by a read: DEL alone. Met by a write: DEL then the write, one transaction.
    // Met by SCAN: DELs, never wrapped.
    m.assert_stream(
        &["GET a", "SET b 2", "SCAN 0"],
        &["DEL a", "MULTI", "DEL b", "SET b 2", "EXEC", "DEL c"],
    );
    // The active cycle deletes on its own, one DEL each; with lazyfree-lazy-expire, UNLINK.
    m.client.cmd_str("CONFIG SET lazyfree-lazy-expire yes");
    m.client.cmd_str("SET d 1 PX 1");
    m.client.cmd_str("DEBUG SET-ACTIVE-EXPIRE 1");
    m.replica.next();
    assert_eq!(m.replica.next(), vec![b"UNLINK".to_vec(), b"d".to_vec()]);
}

#[test]
fn flushes_and_publish_are_forced_even_without_a_change() {
    let mut m = Master::start();
    m.assert_stream(
        &["FLUSHALL", "FLUSHDB", "PUBLISH ch hello"],
        &["SELECT 0", "FLUSHALL", "FLUSHDB", "PUBLISH ch hello"],
    );
}

#[test]
fn psync_answers_fullresync_and_info_lists_the_replica() {
    let server = TestServer::start(&[]);
    let mut client = server.raw();
    let before = client.cmd_str("INFO replication");
    assert!(before.contains("connected_slaves:0\r\n"), "{before}");
    assert!(before.contains("master_repl_offset:0\r\n"), "{before}");
    let mut conn = RawConn::connect(server.port);
    assert_eq!(conn.cmd_str("REPLCONF listening-port 6380"), "+OK\r\n");
    assert_eq!(conn.cmd_str("REPLCONF capa eof capa psync2"), "+OK\r\n");
    drop(conn);
    let (mut replica, fullresync) = ReplicaStream::attach(server.port, "PSYNC ? -1");
    let fullresync = fullresync.expect("+FULLRESYNC line");
    let words: Vec<&str> = fullresync.split(' ').collect();
    assert_eq!(words[0], "FULLRESYNC");
    assert_eq!(words[1].len(), 40);
    assert_eq!(words[2], "0");
    // ACK replies nothing and keeps the link.
    replica.stream.write_all(b"REPLCONF ACK 0\r\n").unwrap();
    client.cmd_str("SET k v");
    assert_eq!(replica.next(), vec![b"SELECT".to_vec(), b"0".to_vec()]);
    assert_eq!(
        replica.next(),
        vec![b"SET".to_vec(), b"k".to_vec(), b"v".to_vec()]
    );
    let info = client.cmd_str("INFO replication");
    let offset = stream_bytes(&["SELECT 0", "SET k v"]).len();
    assert!(info.contains("connected_slaves:1\r\n"), "{info}");
    assert!(
        info.contains("slave0:ip=127.0.0.1,port=0,state=online,offset=0,lag="),
        "{info}"
    );
    assert!(
        info.contains(&format!("master_replid:{}\r\n", words[1])),
        "{info}"
    );
    assert!(
        info.contains(&format!("master_repl_offset:{offset}\r\n")),
        "{info}"
    );
    assert!(info.contains("repl_backlog_active:1\r\n"), "{info}");
    assert!(
        info.contains(&format!("repl_backlog_histlen:{offset}\r\n")),
        "{info}"
    );
    // The replica is not a client in INFO clients, and CLIENT LIST flags it S.
    assert!(client
        .cmd_str("INFO clients")
        .contains("connected_clients:1\r\n"));
    assert!(client.cmd_str("CLIENT LIST").contains("flags=S"));
}

#[test]
fn a_replica_that_gets_a_reply_is_disconnected() {
    let server = TestServer::start(&[]);
    let (mut replica, _) = ReplicaStream::attach(server.port, "SYNC");
    replica.stream.write_all(b"PING\r\n").unwrap();
    let mut chunk = [0u8; 64];
    let n = replica.stream.read(&mut chunk).unwrap_or(0);
    assert_eq!(n, 0, "the reply must not be sent: {:?}", &chunk[..n]);
    let mut client = server.raw();
    assert!(client
        .cmd_str("INFO replication")
        .contains("connected_slaves:0\r\n"));
}

#[test]
fn the_stream_matches_redis_stream_for_the_same_scripted_scenario() {
    if !require_redis_server() {
        return;
    }
    let mut d = Differ::start();
    let scenario = [
        "SET a 1 EX 100",
        "EXPIRE a 50 LT",
        "SETEX b 10 x",
        "INCRBYFLOAT c 0.1",
        "INCRBYFLOAT c 1e3",
        "GETEX a PERSIST",
        "SET e 1 PX 1",
        "SLEEP",
        "GET e",
        "SET e 1 PX 1",
        "SLEEP",
        "RPUSH e x",
        "SADD s a",
        "SPOP s",
        "SADD s a b c",
        "SPOP s 3",
        "MULTI",
        "SET a 1",
        "GET a",
        "SELECT 2",
        "INCR a",
        "EXEC",
        "GETDEL a",
    ];
    for c in scenario {
        d.run(&c.split(' ').map(String::from).collect::<Vec<_>>());
    }
    d.compare_streams("scripted");
    assert!(d.compared >= 20, "only {} compared", d.compared);
}

/// Streams: IDs generated by `*` / `ms-*`, `~` trims made exact, and consumer-group reads and
/// claims turned into XCLAIM / XGROUP SETID / XGROUP CREATECONSUMER, as redis-server does
/// (IDs are `ms-*` here, so that both servers generate the same ones).
#[test]
fn the_stream_matches_redis_stream_for_stream_commands() {
    if !require_redis_server() {
        return;
    }
    let mut d = Differ::start();
    let scenario = [
        "CONFIG SET stream-node-max-entries 2",
        "XADD st 1-* a 1",
        "XADD st 1-* b 2",
        "XADD st 2-5 c 3",
        "XADD st MAXLEN ~ 1 3-* d 4",
        "XADD st MINID ~ 2-0 4-* e 5",
        "XADD st MAXLEN 4 5-* f 6",
        "XADD st MAXLEN ~ 0 LIMIT 2 6-* g 7",
        "XADD st NOMKSTREAM MINID ~ 9 LIMIT 100 7-* h 8",
        "XTRIM st MAXLEN ~ 100",
        "XTRIM st MAXLEN ~ 1",
        "XADD st2 MAXLEN = 1 1-1 a 1",
        "XTRIM st2 MINID ~ 9",
        "XADD st 8-* a 1",
        "XADD st 8-* b 2",
        "XADD st 9-* c 3",
        "XADD st 9-* d 4",
        "XGROUP CREATE st g 0",
        "XGROUP CREATE st h $",
        "XREADGROUP GROUP g alice COUNT 2 STREAMS st >",
        "XREADGROUP GROUP g bob NOACK COUNT 1 STREAMS st >",
        "XREADGROUP GROUP g bob NOACK COUNT 1 STREAMS st >",
        "XREADGROUP GROUP g alice STREAMS st 0",
        "XREADGROUP GROUP g alice STREAMS st >",
        "XREADGROUP GROUP g carl NOACK STREAMS st >",
        "XREADGROUP GROUP g dora STREAMS st >",
        "XCLAIM st g carol 0 8-0",
        "XCLAIM st g carol 0 8-1 JUSTID",
        "XDEL st 9-0",
        "XCLAIM st g carol 0 9-0 9-1 RETRYCOUNT 5 IDLE 10",
        "XCLAIM st g carol 0 1-0 LASTID 9-9",
        "XCLAIM st g carol 0 9-1 LASTID 10-0 JUSTID",
        "XSETID st 12-0",
        "XCLAIM st g carol 0 9-1 LASTID 11-0 FORCE",
        "XADD st 12-* x 1",
        "XADD st 12-* y 2",
        "XREADGROUP GROUP g erin STREAMS st >",
        "XDEL st 12-0",
        "XAUTOCLAIM st g frank 0 0-0 COUNT 2",
        "XAUTOCLAIM st g frank 0 0-0 JUSTID",
        "XACK st g 12-1",
        "XGROUP CREATECONSUMER st g gus",
        "XGROUP DELCONSUMER st g gus",
        "XGROUP SETID st h 0 ENTRIESREAD 0",
        "XGROUP DESTROY st h",
        "XREADGROUP GROUP g alice STREAMS st >",
    ];
    for c in scenario {
        d.run(&c.split(' ').map(String::from).collect::<Vec<_>>());
    }
    d.compare_streams("stream commands");
    // Blocked readers served by an XADD: with PEL entries, and with NOACK.
    d.run(&["SELECT".into(), "0".into()]);
    d.blocked_served_by(
        "XREADGROUP GROUP g hank BLOCK 5000 STREAMS st >",
        "XADD st 13-* z 1",
    );
    d.blocked_served_by(
        "XREADGROUP GROUP g ivy NOACK BLOCK 5000 STREAMS st >",
        "XADD st MAXLEN ~ 1 14-* z 2",
    );
    d.blocked_served_by("XREAD BLOCK 5000 STREAMS st $", "XADD st 15-* z 3");
    d.compare_streams("blocked stream readers");
    assert!(d.compared >= 40, "only {} compared", d.compared);
}

/// XADD `*` and `ms-*` are propagated with the ID they generated.
#[test]
fn xadd_propagates_the_id_it_generated() {
    let mut m = Master::start();
    m.client.cmd_str("SELECT 0");
    let reply = m.client.cmd_str("XADD s * f v");
    let id = reply.lines().nth(1).unwrap_or_default().to_string();
    assert!(id.contains('-'), "{reply:?}");
    let next = m.client.cmd_str("XADD s 99999999999999-* f v");
    assert_eq!(next, "$16\r\n99999999999999-0\r\n");
    m.expect(&[
        "SELECT 0",
        &format!("XADD s {id} f v"),
        "XADD s 99999999999999-0 f v",
    ]);
    m.assert_stream(
        &["XADD s 99999999999999-* f v"],
        &["XADD s 99999999999999-1 f v"],
    );
}

#[test]
fn the_stream_matches_redis_stream_on_seeded_random_commands() {
    if !require_redis_server() {
        return;
    }
    let seeds: Vec<u64> = std::env::var("FERRODIS_PROPAGATION_SEEDS")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 2, 3]);
    let commands: usize = std::env::var("FERRODIS_PROPAGATION_COMMANDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    for seed in seeds {
        let mut d = Differ::start();
        let mut rng = SmallRng::seed_from_u64(seed);
        for i in 0..commands {
            if rng.random_ratio(1, 100) {
                d.blocked_pop_served_by_push(&mut rng);
                continue;
            }
            match random_command(&mut rng) {
                cmd if cmd.is_empty() => d.run_transaction(&mut rng),
                cmd => d.run(&cmd),
            }
            if i % 500 == 499 {
                d.compare_streams(&format!("seed {seed}, command {i}"));
            }
        }
        d.compare_streams(&format!("seed {seed}, end"));
        // Most commands write: the streams compared were thousands of commands long.
        assert!(
            d.compared > commands / 3,
            "seed {seed}: only {} compared",
            d.compared
        );
    }
}

/// ferrodis and redis-server side by side, each with a client and a SYNC reader.
struct Differ {
    _ferrodis: TestServer,
    _redis: RealRedis,
    /// redis-server's `dir`, removed on drop.
    redis_dir: std::path::PathBuf,
    clients: [RawConn; 2],
    replicas: [ReplicaStream; 2],
    ports: [u16; 2],
    markers: usize,
    /// Stream commands compared so far (the run must not be vacuous).
    compared: usize,
    /// The last commands run, for a mismatch report.
    recent: Vec<String>,
}

impl Differ {
    fn start() -> Differ {
        let ferrodis = TestServer::start(&["--enable-debug-command", "yes"]);
        // redis-server writes the image for SYNC to a file in its `dir`: a fresh one.
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let redis_dir =
            std::env::temp_dir().join(format!("ferrodis-propagation-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&redis_dir).expect("create redis-server dir");
        let dir = redis_dir.display().to_string();
        let redis = RealRedis::start(&["--enable-debug-command", "yes", "--dir", &dir]);
        let ports = [ferrodis.port, redis.port];
        let mut clients = [ferrodis.raw(), redis.raw()];
        for c in &mut clients {
            assert_eq!(c.cmd_str("DEBUG SET-ACTIVE-EXPIRE 0"), "+OK\r\n");
            c.cmd_str("CONFIG SET repl-ping-replica-period 3600");
        }
        let replicas = ports.map(|p| ReplicaStream::attach(p, "SYNC").0);
        Differ {
            _ferrodis: ferrodis,
            _redis: redis,
            redis_dir,
            clients,
            replicas,
            ports,
            markers: 0,
            compared: 0,
            recent: Vec::new(),
        }
    }

    /// Runs one command on both servers; the replies must agree (SPOP with a count: as sets).
    fn run(&mut self, argv: &[String]) {
        if argv[0] == "SLEEP" {
            std::thread::sleep(Duration::from_millis(4));
            return;
        }
        self.recent.push(argv.join(" "));
        if self.recent.len() > 600 {
            self.recent.remove(0);
        }
        let replies = [0, 1].map(|i| self.clients[i].cmd_owned(argv));
        let unordered = argv[0] == "SPOP" && argv.len() == 3;
        let (f, r) = if unordered {
            (sorted_lines(&replies[0]), sorted_lines(&replies[1]))
        } else {
            (
                String::from_utf8_lossy(&replies[0]).into_owned(),
                String::from_utf8_lossy(&replies[1]).into_owned(),
            )
        };
        assert_eq!(
            f,
            r,
            "reply to {argv:?} differs; recent:\n{}",
            self.recent.join("\n")
        );
        if has_short_relative_ttl(argv) {
            // A 1-2 ms TTL: make sure it has passed on both before the next command.
            std::thread::sleep(Duration::from_millis(4));
        }
    }

    /// A second connection blocks on an empty key, then a push serves it: the served pop
    /// must be propagated the same way.
    fn blocked_pop_served_by_push(&mut self, rng: &mut SmallRng) {
        let key = format!("bk{}", rng.random_range(0..3));
        let waits = [
            format!("BLPOP {key} 5"),
            format!("BRPOP {key} 5"),
            format!("BLMPOP 5 1 {key} LEFT COUNT 2"),
            format!("BLMOVE {key} k1 LEFT RIGHT 5"),
            format!("BRPOPLPUSH {key} k2 5"),
        ];
        let zwaits = [
            format!("BZPOPMIN {key} 5"),
            format!("BZMPOP 5 1 {key} MAX COUNT 3"),
        ];
        let zset = rng.random_bool(0.3);
        let wait = if zset {
            zwaits[rng.random_range(0..zwaits.len())].clone()
        } else {
            waits[rng.random_range(0..waits.len())].clone()
        };
        let push = if zset {
            format!("ZADD {key} 1 a 2 b")
        } else {
            format!("RPUSH {key} a b c")
        };
        // The waiters are in database 0: so is the pusher.
        self.run(&["SELECT".into(), "0".into()]);
        self.run(&["DEL".into(), key.clone()]);
        self.blocked_served_by(&wait, &push);
    }

    /// A second connection per server sends `wait` (in database 0) and blocks; `write` serves
    /// it; both waiters must get the same reply.
    fn blocked_served_by(&mut self, wait: &str, write: &str) {
        let mut waiters: Vec<RawConn> = self.ports.iter().map(|&p| RawConn::connect(p)).collect();
        for (i, w) in waiters.iter_mut().enumerate() {
            w.send_str(wait);
            for _ in 0..200 {
                let info = self.clients[i].cmd_str("INFO clients");
                if info.contains("blocked_clients:1\r\n") {
                    break;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        self.recent.push(format!("(blocked) {wait}"));
        self.run(&write.split(' ').map(String::from).collect::<Vec<_>>());
        let replies: Vec<Vec<u8>> = waiters.iter_mut().map(|w| w.read_reply()).collect();
        assert_eq!(
            String::from_utf8_lossy(&replies[0]),
            String::from_utf8_lossy(&replies[1]),
            "served {wait}"
        );
    }

    /// Writes a marker on both, reads both streams up to it, and compares them.
    fn compare_streams(&mut self, context: &str) {
        self.markers += 1;
        let marker = self.markers.to_string();
        let set = ["SET".to_string(), "__marker__".into(), marker.clone()];
        for c in &mut self.clients {
            c.cmd_owned(&set);
        }
        let streams = [0, 1].map(|i| self.replicas[i].until_marker(&marker));
        let show = |cmds: &[Vec<Vec<u8>>]| -> String {
            cmds.iter()
                .map(|c| {
                    c.iter()
                        .map(|a| String::from_utf8_lossy(a).into_owned())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        for (i, (f, r)) in streams[0].iter().zip(&streams[1]).enumerate() {
            assert!(
                same_command(f, r),
                "{context}: stream command {i} differs:\nferrodis: {}\nredis:    {}\n\
                 ferrodis stream:\n{}\nredis stream:\n{}\nlast commands run:\n{}",
                show(std::slice::from_ref(f)),
                show(std::slice::from_ref(r)),
                show(&streams[0]),
                show(&streams[1]),
                self.recent.join("\n")
            );
        }
        assert_eq!(
            streams[0].len(),
            streams[1].len(),
            "{context}: stream lengths differ:\nferrodis:\n{}\nredis:\n{}",
            show(&streams[0]),
            show(&streams[1])
        );
        self.compared += streams[0].len();
    }
}

impl Drop for Differ {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.redis_dir);
    }
}

/// Two propagated commands agree: the same arguments, except absolute expiry times, which may
/// differ by the moment between the two servers running a relative EXPIRE / SET EX, and the
/// delivery times (`TIME <ms>`) of the XCLAIMs that stream reads and claims become.
fn same_command(a: &[Vec<u8>], b: &[Vec<u8>]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let is_time = |i: usize| {
        (i == 2 && a[0].eq_ignore_ascii_case(b"PEXPIREAT"))
            || (i > 0 && a[i - 1].eq_ignore_ascii_case(b"PXAT"))
            || (i > 0 && a[0] == b"XCLAIM" && a[i - 1] == b"TIME")
    };
    a.iter().zip(b).enumerate().all(|(i, (x, y))| {
        if x == y {
            return true;
        }
        let num = |v: &[u8]| String::from_utf8_lossy(v).parse::<i64>().ok();
        is_time(i) && matches!((num(x), num(y)), (Some(x), Some(y)) if (x - y).abs() <= 2_000)
    })
}

fn sorted_lines(reply: &[u8]) -> String {
    let text = String::from_utf8_lossy(reply);
    let mut lines: Vec<&str> = text.split("\r\n").collect();
    lines.sort_unstable();
    lines.join("\n")
}

/// One random command over a few keys, databases and values: writes of every kind that is
/// rewritten or wrapped, reads that meet expired keys, transactions and scripts.
fn random_command(rng: &mut SmallRng) -> Vec<String> {
    let key = |rng: &mut SmallRng| format!("k{}", rng.random_range(0..6));
    let val =
        |rng: &mut SmallRng| ["a", "b", "1", "2", "3.5", "-7"][rng.random_range(0..6)].to_string();
    let ttl = |rng: &mut SmallRng| -> Vec<String> {
        match rng.random_range(0..6) {
            0 => vec!["PX".into(), "1".into()],
            1 => vec!["PXAT".into(), "1".into()],
            2 => vec!["EX".into(), rng.random_range(100..1000).to_string()],
            3 => vec![
                "PX".into(),
                rng.random_range(100_000..1_000_000).to_string(),
            ],
            4 => vec!["EXAT".into(), "4102444800".into()],
            _ => vec!["KEEPTTL".into()],
        }
    };
    let k = key(rng);
    let v = val(rng);
    let words = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
    let cmd: Vec<String> = match rng.random_range(0..69) {
        0..=3 => {
            let mut c = vec!["SET".into(), k, v];
            if rng.random_bool(0.6) {
                c.extend(ttl(rng));
            }
            if rng.random_bool(0.2) {
                c.push(["NX", "XX", "GET"][rng.random_range(0..3)].into());
            }
            c
        }
        4 => vec![
            "SETEX".into(),
            k,
            rng.random_range(100..1000).to_string(),
            v,
        ],
        5 => vec!["PSETEX".into(), k, "1".into(), v],
        6 => vec!["GETSET".into(), k, v],
        7 => vec!["GETDEL".into(), k],
        8 => {
            let mut c = vec!["GETEX".into(), k];
            match rng.random_range(0..4) {
                0 => c.push("PERSIST".into()),
                1 => c.extend(["EX".into(), "500".into()]),
                2 => c.extend(["PXAT".into(), "1".into()]),
                _ => {}
            }
            c
        }
        9 => vec![
            "INCRBYFLOAT".into(),
            k,
            ["1.5", "0.1", "-2", "1e2"][rng.random_range(0..4)].into(),
        ],
        10 => vec!["INCR".into(), k],
        11 => vec!["APPEND".into(), k, v],
        12 | 13 => vec!["GET".into(), k],
        14 => vec!["EXISTS".into(), k, key(rng)],
        15 => vec!["DEL".into(), k, key(rng)],
        16 => {
            let mut c = vec!["EXPIRE".into(), k, rng.random_range(-5..1000).to_string()];
            if rng.random_bool(0.3) {
                c.push(["NX", "XX", "GT", "LT"][rng.random_range(0..4)].into());
            }
            c
        }
        // 2 ms: with 1, Redis itself races (it reads the clock twice, and may see the time
        // already passed and propagate a DEL).
        17 => vec!["PEXPIRE".into(), k, "2".into()],
        18 => vec![
            "EXPIREAT".into(),
            k,
            ["1", "4102444800"][rng.random_range(0..2)].into(),
        ],
        19 => vec!["PERSIST".into(), k],
        20 | 21 => vec![
            ["RPUSH", "LPUSH"][rng.random_range(0..2)].into(),
            k,
            v,
            val(rng),
        ],
        22 => vec![["LPOP", "RPOP"][rng.random_range(0..2)].into(), k],
        23 => vec!["RPOP".into(), k, rng.random_range(1..4).to_string()],
        24 => words(&format!("LMPOP 2 {k} {} LEFT COUNT 2", key(rng))),
        25 => words(&format!("LMOVE {k} {} RIGHT LEFT", key(rng))),
        26 => words(&format!("BLPOP {k} {} 0.01", key(rng))),
        27 => words(&format!("BLMOVE {k} {} left right 0.01", key(rng))),
        28 => words(&format!("SADD {k} {v} {}", val(rng))),
        29 => words(&format!("SREM {k} {v}")),
        30 => words(&format!("SPOP {k} 100")),
        31 => words(&format!("ZADD {k} {} {v}", rng.random_range(0..5))),
        32 => words(&format!("ZPOPMIN {k}")),
        33 => words(&format!("ZMPOP 1 {k} MAX COUNT 2")),
        34 => words(&format!("BZPOPMAX {k} 0.01")),
        35 => words(&format!("HSET {k} f {v}")),
        36 => words(&format!("HINCRBYFLOAT {k} f 0.5")),
        37 => words(&format!("SELECT {}", rng.random_range(0..3))),
        38 => words(&format!("RENAME {k} {}", key(rng))),
        39 => words(&format!("COPY {k} {} REPLACE", key(rng))),
        40 => words(&format!("MOVE {k} {}", rng.random_range(0..3))),
        41 => vec![
            "EVAL".into(),
            "redis.call('set', KEYS[1], ARGV[1]); return redis.pcall('incr', KEYS[2])".into(),
            "2".into(),
            k,
            key(rng),
            v,
        ],
        42 => vec![
            "EVAL".into(),
            "return redis.call('get', KEYS[1])".into(),
            "1".into(),
            k,
        ],
        43 => vec![
            "EVAL".into(),
            "redis.call('select', ARGV[1]); redis.call('rpush', KEYS[1], 'x'); return 1".into(),
            "1".into(),
            k,
            rng.random_range(0..3).to_string(),
        ],
        // A transaction (see Differ::run_transaction).
        44 => Vec::new(),
        46 => words(&format!("SETNX {k} {v}")),
        47 => words(&format!("MSET {k} {v} {} {}", key(rng), val(rng))),
        48 => words(&format!("SETRANGE {k} {} {v}", rng.random_range(0..4))),
        49 => words(&format!("HDEL {k} f g")),
        50 => words(&format!("ZINCRBY {k} 1.5 {v}")),
        51 => words(&format!("ZREM {k} {v} a")),
        52 => words(&format!("LREM {k} 0 {v}")),
        53 => words(&format!("LTRIM {k} 1 -1")),
        54 => words(&format!("SINTERSTORE {k} {} {}", key(rng), key(rng))),
        55 => words(&format!("SMOVE {k} {} {v}", key(rng))),
        56 => words(&format!("SORT {k} ALPHA STORE {}", key(rng))),
        57 => words(&format!("PFADD {k} {v} {}", val(rng))),
        58 => words(&format!("PFCOUNT {k}")),
        59 => words(&format!("SWAPDB 0 {}", rng.random_range(1..3))),
        60 if rng.random_ratio(1, 10) => words("FLUSHDB"),
        61 => words(&format!("GETEX {k} PXAT 4102444800000")),
        62 => words(&format!("UNLINK {k}")),
        63 => words(&format!("ZUNIONSTORE {k} 2 {} {}", key(rng), key(rng))),
        64 => words(&format!("HSETNX {k} g {v}")),
        65 => words(&format!("RPUSHX {k} {v}")),
        66 => words(&format!("SETBIT {k} {} 1", rng.random_range(0..16))),
        67 => words(&format!("BITOP OR {k} {} {}", key(rng), key(rng))),
        // (Not SCAN: its order, and so the order of the keys it expires, is each server's own.)
        _ => words(&format!("TYPE {k}")),
    };
    cmd
}

/// A TTL of 1 or 2 ms: fine alone (the harness sleeps after it), but inside a transaction the key may
/// expire between two queued commands on one server and not on the other.
fn has_short_relative_ttl(cmd: &[String]) -> bool {
    cmd[0] == "PSETEX" || cmd[0] == "PEXPIRE" || cmd.windows(2).any(|w| w[0] == "PX" && w[1] == "1")
}

impl Differ {
    /// Runs a transaction of a few random commands (writes, reads, SELECT), or discards it.
    fn run_transaction(&mut self, rng: &mut SmallRng) {
        self.run(&["MULTI".into()]);
        for _ in 0..rng.random_range(0..5) {
            let mut c = random_command(rng);
            while c.is_empty() || has_short_relative_ttl(&c) {
                c = random_command(rng);
            }
            self.run(&c);
        }
        let end = if rng.random_bool(0.9) {
            "EXEC"
        } else {
            "DISCARD"
        };
        self.run(&[end.into()]);
    }
}

/// RESTORE with a relative TTL reaches replicas with the absolute time and ABSTTL; a RESTORE
/// REPLACE whose TTL is already past is a DEL of the old key; MIGRATE is a DEL of the keys the
/// target acknowledged (Redis: `restoreCommand`, `migrateCommand`).
#[test]
fn restore_and_migrate_propagate_their_effect() {
    let mut m = Master::start();
    let target = TestServer::start(&[]);
    assert_eq!(m.client.cmd_str("SET src v"), "+OK\r\n");
    m.expect(&["SELECT 0", "SET src v"]);
    let reply = m.client.cmd(&[b"DUMP", b"src"]);
    let start = reply.iter().position(|&b| b == b'\n').unwrap() + 1;
    let payload = reply[start..reply.len() - 2].to_vec();
    let before = now_ms();
    assert_eq!(
        m.client.cmd(&[b"RESTORE", b"r", b"5000", &payload]),
        b"+OK\r\n"
    );
    let cmd = m.replica.next();
    assert_eq!(cmd.len(), 5, "{cmd:?}");
    assert_eq!((&cmd[0][..], &cmd[1][..]), (&b"RESTORE"[..], &b"r"[..]));
    let when: i64 = String::from_utf8_lossy(&cmd[2]).parse().unwrap();
    assert!((before + 5000..=now_ms() + 5000).contains(&when), "{when}");
    assert_eq!((&cmd[3], &cmd[4][..]), (&payload, &b"ABSTTL"[..]));
    assert_eq!(
        m.client
            .cmd(&[b"RESTORE", b"r", b"1", &payload, b"REPLACE", b"ABSTTL"]),
        b"+OK\r\n"
    );
    m.expect(&["DEL r"]);
    let port = target.port.to_string();
    let migrate = [
        "MIGRATE",
        "127.0.0.1",
        &port,
        "",
        "0",
        "5000",
        "KEYS",
        "src",
        "nosuchkey",
    ];
    assert_eq!(m.client.cmd_args(&migrate), "+OK\r\n");
    m.expect(&["DEL src"]);
    m.replica.assert_quiet(Duration::from_millis(100));
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
