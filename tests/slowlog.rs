//! SLOWLOG against the real binary: what is logged, trimmed, redacted and skipped, compared
//! with redis-server where the reply does not depend on timing.

mod common;

use common::{require_redis_server, RawConn, RealRedis, TestServer};

/// The argument lists of the entries SLOWLOG GET returns, newest first (fields 4 of each).
fn logged_commands(c: &mut RawConn) -> Vec<Vec<String>> {
    let reply = c.cmd_str("SLOWLOG GET -1");
    let mut pos = 0;
    let parsed = common::parse_resp(reply.as_bytes(), &mut pos);
    parsed
        .as_list()
        .iter()
        .map(|entry| {
            entry.as_list()[3]
                .as_list()
                .iter()
                .map(|a| a.as_str().to_string())
                .collect()
        })
        .collect()
}

#[test]
fn slowlog_logs_trims_redacts_and_skips_as_redis() {
    if !require_redis_server() {
        return;
    }
    let ours = TestServer::start(&[]);
    let real = RealRedis::start(&[]);
    let long = "x".repeat(200);
    let many: Vec<String> = (0..40).map(|i| i.to_string()).collect();
    for c in [&mut ours.raw(), &mut real.raw()] {
        assert_eq!(c.cmd_str("CONFIG SET slowlog-log-slower-than 0"), "+OK\r\n");
        assert_eq!(c.cmd_str("SLOWLOG RESET"), "+OK\r\n");
    }
    let mut transcripts = Vec::new();
    for mut c in [ours.raw(), real.raw()] {
        c.cmd_str("CLIENT SETNAME logger");
        c.cmd_args(&["SET", "k", &long]);
        let mut sadd = vec!["SADD", "s"];
        sadd.extend(many.iter().map(String::as_str));
        c.cmd_args(&sadd);
        c.cmd_str("CONFIG SET requirepass secret");
        c.cmd_str("AUTH secret");
        c.cmd_args(&["CONFIG", "SET", "requirepass", ""]);
        c.cmd_str("MIGRATE 127.0.0.1 1 nokey 0 10 AUTH2 user pw");
        c.cmd_str("MULTI");
        c.cmd_str("INCR n");
        c.cmd_str("EXEC");
        c.cmd_str("CONFIG SET slowlog-log-slower-than -1");
        transcripts.push((
            logged_commands(&mut c),
            c.cmd_str("SLOWLOG LEN"),
            c.cmd_str("SLOWLOG GET -2"),
            c.cmd_str("SLOWLOG HELP"),
        ));
    }
    assert_eq!(transcripts[0], transcripts[1]);
    let (log, ..) = &transcripts[0];
    // The newest entry: the transaction's command; EXEC itself is not logged, nor the CONFIG
    // SET that turned the log off.
    assert_eq!(log[0], ["INCR", "n"]);
    assert_eq!(log[1], ["MULTI"]);
    assert!(log.contains(&vec!["AUTH".to_string(), "(redacted)".into()]));
    assert!(log.contains(&vec![
        "MIGRATE".to_string(),
        "127.0.0.1".into(),
        "1".into(),
        "nokey".into(),
        "0".into(),
        "10".into(),
        "AUTH2".into(),
        "(redacted)".into(),
        "(redacted)".into()
    ]));
    assert!(log.contains(&vec![
        "CONFIG".to_string(),
        "SET".into(),
        "requirepass".into(),
        "(redacted)".into()
    ]));
    let sadd = log.iter().find(|e| e[0] == "SADD").unwrap();
    assert_eq!(sadd.len(), 32);
    assert_eq!(sadd[31], "... (11 more arguments)");
    let set = log.iter().find(|e| e[0] == "SET").unwrap();
    assert_eq!(set[2], format!("{}... (72 more bytes)", "x".repeat(128)));
    // The peer and name fields: this client's address and name.
    let mut c = ours.raw();
    assert_eq!(c.cmd_str("CONFIG SET slowlog-log-slower-than 0"), "+OK\r\n");
    c.cmd_str("CLIENT SETNAME named");
    c.cmd_str("PING");
    let reply = c.cmd_str("SLOWLOG GET 1");
    assert!(reply.contains("\r\n$5\r\nnamed\r\n"), "{reply}");
    assert!(reply.contains("127.0.0.1:"), "{reply}");
    // Lowering slowlog-max-len drops the oldest entries.
    assert_eq!(c.cmd_str("CONFIG SET slowlog-max-len 2"), "+OK\r\n");
    assert_eq!(c.cmd_str("SLOWLOG LEN"), ":2\r\n");
}

#[test]
fn latency_monitor_records_spikes_of_slow_commands() {
    let server = TestServer::start(&["--enable-debug-command", "yes"]);
    let mut c = server.raw();
    // Off by default: a slow command leaves nothing.
    assert_eq!(c.cmd_str("DEBUG SLEEP 0.05"), "+OK\r\n");
    assert_eq!(c.cmd_str("LATENCY LATEST"), "*0\r\n");
    assert!(c
        .cmd_str("LATENCY DOCTOR")
        .contains("no latency spike was observed"));
    assert_eq!(
        c.cmd_str("CONFIG SET latency-monitor-threshold 40"),
        "+OK\r\n"
    );
    assert_eq!(c.cmd_str("DEBUG SLEEP 0.06"), "+OK\r\n");
    assert_eq!(c.cmd_str("GET fast"), "$-1\r\n");
    let latest = c.cmd_str("LATENCY LATEST");
    let mut pos = 0;
    let parsed = common::parse_resp(latest.as_bytes(), &mut pos);
    let events = parsed.as_list();
    assert_eq!(events.len(), 1, "{latest}");
    let event = events[0].as_list();
    assert_eq!(event[0].as_str(), "command");
    assert!((60..200).contains(&event[2].as_int()), "{latest}");
    assert_eq!(
        event[2].as_int(),
        event[3].as_int(),
        "the only spike is the max"
    );
    let history = c.cmd_str("LATENCY HISTORY command");
    assert!(history.starts_with("*1\r\n*2\r\n:"), "{history}");
    assert_eq!(c.cmd_str("LATENCY HISTORY nosuchevent"), "*0\r\n");
    assert!(c
        .cmd_str("LATENCY DOCTOR")
        .contains("command: 1 latency spikes"));
    assert_eq!(c.cmd_str("LATENCY RESET nosuchevent"), ":0\r\n");
    assert_eq!(c.cmd_str("LATENCY RESET"), ":1\r\n");
    assert_eq!(c.cmd_str("LATENCY LATEST"), "*0\r\n");
}

/// LATENCY GRAPH draws the same sparkline as Redis's for the same spikes: two `command`
/// spikes a second apart (the second one much longer), read as RESP3 verbatim text. Digits are
/// blanked before comparing, since the measured milliseconds and the ages differ by a little
/// between the two servers; the drawing itself (which bar is tallest, the fill characters, the
/// label rows) does not.
#[test]
fn latency_graph_draws_as_redis() {
    if !require_redis_server() {
        return;
    }
    let ferrodis = TestServer::start(&["--enable-debug-command", "yes"]);
    let redis = RealRedis::start(&["--enable-debug-command", "yes"]);
    let mut conns = [ferrodis.raw(), redis.raw()];
    for c in &mut conns {
        c.hello3();
        assert_eq!(
            c.cmd_str("LATENCY GRAPH command"),
            "-ERR No samples available for event 'command'\r\n"
        );
        assert_eq!(
            c.cmd_str("CONFIG SET latency-monitor-threshold 10"),
            "+OK\r\n"
        );
        assert_eq!(c.cmd_str("DEBUG SLEEP 0.02"), "+OK\r\n");
    }
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let graphs: Vec<String> = conns
        .iter_mut()
        .map(|c| {
            assert_eq!(c.cmd_str("DEBUG SLEEP 0.2"), "+OK\r\n");
            c.cmd_str("LATENCY GRAPH command")
                .chars()
                .filter(|ch| !ch.is_ascii_digit())
                .collect()
        })
        .collect();
    assert!(
        graphs[1].contains("command - high  ms, low  ms (all time high  ms)\n"),
        "{}",
        graphs[1]
    );
    assert!(graphs[1].contains("|\n"), "{}", graphs[1]);
    assert_eq!(graphs[0], graphs[1]);
}
