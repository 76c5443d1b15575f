//! Operator tools against the real binary: MONITOR's lines (compared with redis-server with
//! the timestamp and client port masked) and CLIENT PAUSE's ordering.

mod common;

use common::{require_redis_server, RawConn, RealRedis, TestServer};
use std::time::Duration;

/// A MONITOR line with its timestamp and client port masked: `+T [0 127.0.0.1:P] "get" "k"`.
fn masked_monitor_line(line: &str) -> String {
    let rest = line.strip_prefix('+').expect("a simple string");
    let (stamp, rest) = rest.split_once(' ').expect("a timestamp");
    let (secs, micros) = stamp.split_once('.').expect("secs.micros");
    assert!(secs.parse::<u64>().is_ok() && micros.len() == 6, "{line:?}");
    let rest = match rest.split_once("127.0.0.1:") {
        Some((head, tail)) => {
            let (_, after_port) = tail.split_once(']').expect("closing bracket");
            format!("{head}127.0.0.1:P]{after_port}")
        }
        None => rest.to_string(),
    };
    format!("+T {rest}")
}

/// What a monitor sees while another client runs `lines` (each a list of arguments).
fn monitor_transcript(port: u16, lines: &[&[&str]]) -> Vec<String> {
    let mut monitor = RawConn::connect(port);
    assert_eq!(monitor.cmd_str("MONITOR"), "+OK\r\n");
    let mut c = RawConn::connect(port);
    for args in lines {
        c.cmd_args(args);
    }
    // A marker that is certainly the last line.
    c.cmd_str("ECHO done");
    let mut seen = Vec::new();
    loop {
        let line = monitor.reply_str();
        let done = line.contains("\"ECHO\" \"done\"");
        seen.push(masked_monitor_line(line.trim_end()));
        if done {
            return seen;
        }
    }
}

#[test]
fn monitor_lines_match_redis_with_scripts_redaction_and_transactions() {
    if !require_redis_server() {
        return;
    }
    let ours = TestServer::start(&[]);
    let real = RealRedis::start(&[]);
    let lines: &[&[&str]] = &[
        &["SET", "k", "a \"quoted\"\\ \n\t\x01 value"],
        &["get", "k"],
        &["SELECT", "3"],
        &[
            "EVAL",
            "redis.call('set', KEYS[1], ARGV[1]) return 1",
            "1",
            "sk",
            "sv",
        ],
        &["AUTH", "nobody-uses-this"],
        &["HELLO", "2", "AUTH", "user", "secret"],
        &["CONFIG", "GET", "port"],
        &["DEBUG", "SLEEP", "0"],
        &["MULTI"],
        &["INCR", "n"],
        &["EXEC"],
        &["NOSUCHCOMMAND"],
        &["GET"],
    ];
    let expected = monitor_transcript(real.port, lines);
    assert_eq!(monitor_transcript(ours.port, lines), expected);
    // Spelled out, so the expectation reads without the oracle.
    assert_eq!(
        expected[..4],
        [
            "+T [0 127.0.0.1:P] \"SET\" \"k\" \"a \\\"quoted\\\"\\\\ \\n\\t\\x01 value\"",
            "+T [0 127.0.0.1:P] \"get\" \"k\"",
            // Shown after it ran: in the database it selected.
            "+T [3 127.0.0.1:P] \"SELECT\" \"3\"",
            "+T [3 127.0.0.1:P] \"EVAL\" \"redis.call('set', KEYS[1], ARGV[1]) return 1\" \"1\" \"sk\" \"sv\"",
        ]
    );
    assert_eq!(expected[4], "+T [3 lua] \"set\" \"sk\" \"sv\"");
    assert_eq!(expected[5], "+T [3 127.0.0.1:P] \"AUTH\" \"(redacted)\"");
}

#[test]
fn monitor_client_is_refused_keyspace_commands_and_reset_ends_monitoring() {
    if !require_redis_server() {
        return;
    }
    let ours = TestServer::start(&[]);
    let real = RealRedis::start(&[]);
    let mut transcripts = Vec::new();
    for port in [ours.port, real.port] {
        let mut m = RawConn::connect(port);
        let mut replies = vec![m.cmd_str("MONITOR")];
        // A second MONITOR is ignored without a reply; GET is refused.
        m.send_str("MONITOR");
        replies.push(m.cmd_str("GET k"));
        replies.push(m.cmd_str("RESET"));
        replies.push(m.cmd_str("GET k"));
        let (rest, _) = m.read_until_quiet(Duration::from_millis(100));
        replies.push(String::from_utf8_lossy(&rest).into_owned());
        transcripts.push(replies);
    }
    assert_eq!(transcripts[0], transcripts[1]);
    assert_eq!(
        transcripts[0],
        [
            "+OK\r\n",
            "-ERR Replica can't interact with the keyspace\r\n",
            "+RESET\r\n",
            "$-1\r\n",
            "",
        ]
    );
}

#[test]
fn client_pause_write_holds_writes_in_order_and_lets_reads_through() {
    let server = TestServer::start(&[]);
    let mut admin = server.raw();
    let mut writer = server.raw();
    let mut reader = server.raw();
    assert_eq!(admin.cmd_str("CLIENT PAUSE 60000 WRITE"), "+OK\r\n");
    // A pipeline: the SET waits, and the GET behind it waits with it.
    writer.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
    assert_eq!(
        writer.read_until_quiet(Duration::from_millis(200)),
        (Vec::new(), false)
    );
    assert_eq!(reader.cmd_str("GET k"), "$-1\r\n");
    // PFCOUNT may rewrite its key: held like a write.
    reader.send_str("PFCOUNT h");
    assert_eq!(
        reader.read_until_quiet(Duration::from_millis(100)),
        (Vec::new(), false)
    );
    let info = admin.cmd_str("INFO clients");
    assert!(info.contains("blocked_clients:2\r\n"), "{info}");
    assert_eq!(admin.cmd_str("CLIENT UNPAUSE"), "+OK\r\n");
    assert_eq!(writer.reply_str(), "+OK\r\n");
    assert_eq!(writer.reply_str(), "$1\r\nv\r\n");
    assert_eq!(reader.reply_str(), ":0\r\n");
}

#[test]
fn client_pause_all_holds_every_command_until_its_deadline() {
    let server = TestServer::start(&[]);
    let mut admin = server.raw();
    let mut other = server.raw();
    assert_eq!(admin.cmd_str("CLIENT PAUSE 300 ALL"), "+OK\r\n");
    let started = std::time::Instant::now();
    assert_eq!(other.cmd_str("PING"), "+PONG\r\n");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(250),
        "PING came back after {waited:?}"
    );
    assert_eq!(
        admin.cmd_str("CLIENT PAUSE 100 NOPE"),
        "-ERR CLIENT PAUSE mode must be WRITE or ALL\r\n"
    );
    assert_eq!(
        admin.cmd_str("CLIENT PAUSE -1"),
        "-ERR timeout is negative\r\n"
    );
    assert_eq!(
        admin.cmd_str("CLIENT PAUSE x"),
        "-ERR timeout is not an integer or out of range\r\n"
    );
}

#[test]
fn expired_keys_stay_stored_while_clients_are_paused() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert_eq!(c.cmd_str("SET k v PX 20"), "+OK\r\n");
    assert_eq!(c.cmd_str("CLIENT PAUSE 60000 WRITE"), "+OK\r\n");
    std::thread::sleep(Duration::from_millis(150));
    assert_eq!(c.cmd_str("GET k"), "$-1\r\n");
    assert_eq!(c.cmd_str("EXISTS k"), ":0\r\n");
    assert_eq!(c.cmd_str("DBSIZE"), ":1\r\n");
    assert_eq!(c.cmd_str("CLIENT UNPAUSE"), "+OK\r\n");
    assert_eq!(c.cmd_str("GET k"), "$-1\r\n");
    assert_eq!(c.cmd_str("DBSIZE"), ":0\r\n");
}

#[test]
fn latency_tracking_fills_info_latencystats_and_latency_histogram() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert_eq!(
        c.cmd_args(&[
            "CONFIG",
            "SET",
            "latency-tracking-info-percentiles",
            "0.0 50 99.90"
        ]),
        "+OK\r\n"
    );
    assert_eq!(
        c.cmd_str("CONFIG GET latency-tracking-info-percentiles"),
        "*2\r\n$33\r\nlatency-tracking-info-percentiles\r\n$9\r\n0 50 99.9\r\n"
    );
    assert!(c
        .cmd_args(&[
            "CONFIG",
            "SET",
            "latency-tracking-info-percentiles",
            "50 101"
        ])
        .starts_with("-ERR CONFIG SET failed"));
    assert_eq!(c.cmd_str("CONFIG RESETSTAT"), "+OK\r\n");
    assert_eq!(c.cmd_str("SET k v"), "+OK\r\n");
    let info = c.cmd_str("INFO latencystats");
    let line = info
        .lines()
        .find(|l| l.starts_with("latency_percentiles_usec_set:"))
        .unwrap_or_else(|| panic!("no set line in {info:?}"));
    let fields: Vec<&str> = line["latency_percentiles_usec_set:".len()..]
        .split(',')
        .map(|f| f.split('=').next().unwrap_or(""))
        .collect();
    assert_eq!(fields, ["p0", "p50", "p99.9"]);
    // RESP2: maps are flat arrays; one call, so one bucket holding it.
    let reply = c.cmd_str("LATENCY HISTOGRAM set nosuchcommand");
    assert!(
        reply.starts_with(
            "*2\r\n$3\r\nset\r\n*4\r\n$5\r\ncalls\r\n:1\r\n$14\r\nhistogram_usec\r\n*2\r\n:"
        ),
        "{reply:?}"
    );
    assert!(reply.ends_with("\r\n:1\r\n"), "{reply:?}");
    c.hello3();
    assert_eq!(c.cmd_str("LATENCY HISTOGRAM nosuchcommand"), "%0\r\n");
    // A container names its subcommands: only CONFIG RESETSTAT ran since the reset.
    let reply = c.cmd_str("LATENCY HISTOGRAM config");
    assert!(
        reply.starts_with(
            "%1\r\n$16\r\nconfig|resetstat\r\n%2\r\n$5\r\ncalls\r\n:1\r\n$14\r\nhistogram_usec\r\n%1\r\n:"
        ),
        "{reply:?}"
    );
    assert_eq!(c.cmd_str("CONFIG SET latency-tracking no"), "+OK\r\n");
    assert_eq!(
        c.cmd_str("INFO latencystats"),
        "=20\r\ntxt:# Latencystats\r\n\r\n"
    );
}

/// What tracking clients receive in one scenario: RESP3 pushes (own changes after the reply,
/// flushes as null), a RESP2 BCAST client redirected to a `__redis__:invalidate` subscriber
/// with NOLOOP, OPTIN, and the option errors. Client ids are masked as `ID`.
fn tracking_transcript(port: u16) -> Vec<String> {
    let quiet = Duration::from_millis(150);
    let mut seen = Vec::new();
    let mut read = |c: &mut RawConn| {
        let (bytes, _) = c.read_until_quiet(quiet);
        seen.push(String::from_utf8_lossy(&bytes).into_owned());
    };
    let mut a = RawConn::connect(port);
    let mut b = RawConn::connect(port);
    a.hello3();
    for line in [
        "CLIENT TRACKING on",
        "GET k1",
        "MGET k2 k3",
        "CLIENT TRACKINGINFO",
    ] {
        a.send_str(line);
    }
    read(&mut a);
    b.cmd_str("SET k1 x");
    b.cmd_str("MSET k2 y k3 z");
    read(&mut a);
    for line in ["SET k2 w", "GET k2", "SET k2 v", "FLUSHALL"] {
        a.send_str(line);
    }
    read(&mut a);
    let mut sub = RawConn::connect(port);
    let id = sub.cmd_str("CLIENT ID");
    let id = id.trim_start_matches(':').trim_end().to_string();
    sub.cmd_str("SUBSCRIBE __redis__:invalidate");
    let mut c = RawConn::connect(port);
    c.send_str(&format!(
        "CLIENT TRACKING on REDIRECT {id} BCAST PREFIX user: NOLOOP"
    ));
    c.send_str("CLIENT GETREDIR");
    read(&mut c);
    b.cmd_str("SET user:1 a");
    b.cmd_str("SET other b");
    c.cmd_str("SET user:2 q");
    read(&mut sub);
    let mut d = RawConn::connect(port);
    for line in [
        "CLIENT TRACKING on OPTIN",
        "GET o1",
        "CLIENT CACHING yes",
        "GET o2",
        "CLIENT CACHING no",
        "CLIENT TRACKING on BCAST",
        "CLIENT TRACKING on PREFIX a",
        "CLIENT TRACKING off",
        "CLIENT TRACKING on BCAST PREFIX ab PREFIX a",
    ] {
        d.send_str(line);
    }
    read(&mut d);
    b.cmd_str("SET o1 1");
    b.cmd_str("SET o2 1");
    read(&mut d);
    seen.iter()
        .map(|s| s.replace(&format!(":{id}\r\n"), ":ID\r\n"))
        .collect()
}

#[test]
fn tracking_invalidations_match_redis() {
    if !require_redis_server() {
        return;
    }
    let ours = TestServer::start(&[]);
    let real = RealRedis::start(&[]);
    let expected = tracking_transcript(real.port);
    assert_eq!(tracking_transcript(ours.port), expected);
    // Spelled out: another client's change is pushed; the caller's own comes after its reply;
    // FLUSHALL sends a null.
    assert_eq!(
        expected[1],
        ">2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nk1\r\n\
         >2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nk2\r\n\
         >2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nk3\r\n"
    );
    assert_eq!(
        expected[2],
        "+OK\r\n$1\r\nw\r\n+OK\r\n>2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nk2\r\n\
         +OK\r\n>2\r\n$10\r\ninvalidate\r\n_\r\n"
    );
    // RESP2 redirect: a Pub/Sub message; NOLOOP hides the client's own user:2.
    assert_eq!(
        expected[4],
        "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$6\r\nuser:1\r\n"
    );
}
