//! Pub/Sub through the real binary: SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE, PUBLISH ordering,
//! subscriber mode, PUBSUB introspection, output-buffer limits. Exact RESP bytes throughout.

mod common;
use common::{bulk, pmessage, require_redis_server, RawConn, RealRedis, TestServer};
use std::time::{Duration, Instant};

/// `[kind, name, count]` as a RESP2 subscriber sees a (un)subscribe confirmation.
fn confirmation(kind: &str, name: &str, count: i64) -> Vec<u8> {
    format!("*3\r\n{}{}:{count}\r\n", bulk(kind), bulk(name)).into_bytes()
}

fn message(word: &str, channel: &str, payload: &str) -> Vec<u8> {
    format!("*3\r\n{}{}{}", bulk(word), bulk(channel), bulk(payload)).into_bytes()
}

/// Sends a command and reads `n` replies (a SUBSCRIBE of n channels answers n times).
fn cmd_n(c: &mut RawConn, line: &str, n: usize) -> Vec<u8> {
    c.send_str(line);
    (0..n).flat_map(|_| c.read_reply()).collect()
}

#[test]
fn subscribe_confirms_each_channel_with_a_running_count() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    let mut expected = confirmation("subscribe", "a", 1);
    expected.extend(confirmation("subscribe", "b", 2));
    // Subscribing twice to a channel confirms again but does not count it twice.
    expected.extend(confirmation("subscribe", "a", 2));
    assert_eq!(cmd_n(&mut c, "SUBSCRIBE a b a", 3), expected);
    // Patterns count together with channels.
    assert_eq!(
        cmd_n(&mut c, "PSUBSCRIBE p*", 1),
        confirmation("psubscribe", "p*", 3)
    );
}

#[test]
fn every_subscriber_receives_messages_in_publish_order() {
    let server = TestServer::start(&[]);
    let mut s1 = server.raw();
    let mut s2 = server.raw();
    cmd_n(&mut s1, "SUBSCRIBE news", 1);
    cmd_n(&mut s2, "SUBSCRIBE news other", 2);
    let mut publisher = server.raw();
    for i in 0..50 {
        assert_eq!(publisher.cmd_str(&format!("PUBLISH news m{i}")), ":2\r\n");
    }
    assert_eq!(publisher.cmd_str("PUBLISH nobody-listens x"), ":0\r\n");
    for s in [&mut s1, &mut s2] {
        for i in 0..50 {
            assert_eq!(s.read_reply(), message("message", "news", &format!("m{i}")));
        }
    }
}

#[test]
fn a_client_matching_by_channel_and_patterns_gets_one_copy_each_channel_first() {
    let server = TestServer::start(&[]);
    let mut s = server.raw();
    cmd_n(&mut s, "PSUBSCRIBE n* *s", 2);
    cmd_n(&mut s, "SUBSCRIBE news", 1);
    let mut other = server.raw();
    cmd_n(&mut other, "PSUBSCRIBE n*", 1);
    let mut publisher = server.raw();
    // s: channel + two patterns; other: one pattern.
    assert_eq!(publisher.cmd_str("PUBLISH news hi"), ":4\r\n");
    assert_eq!(s.read_reply(), message("message", "news", "hi"));
    assert_eq!(s.read_reply(), pmessage("n*", "news", "hi").into_bytes());
    assert_eq!(s.read_reply(), pmessage("*s", "news", "hi").into_bytes());
    assert_eq!(
        other.read_reply(),
        pmessage("n*", "news", "hi").into_bytes()
    );
    // Pattern matching is glob matching.
    assert_eq!(publisher.cmd_str("PUBLISH nope x"), ":2\r\n");
    assert_eq!(publisher.cmd_str("PUBLISH xyz x"), ":0\r\n");
}

#[test]
fn unsubscribe_without_arguments_leaves_every_channel_oldest_first() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    cmd_n(&mut c, "SUBSCRIBE c b a", 3);
    cmd_n(&mut c, "PSUBSCRIBE p", 1);
    let mut expected = confirmation("unsubscribe", "c", 3);
    expected.extend(confirmation("unsubscribe", "b", 2));
    expected.extend(confirmation("unsubscribe", "a", 1));
    assert_eq!(cmd_n(&mut c, "UNSUBSCRIBE", 3), expected);
    // Unsubscribing from a channel never subscribed still confirms.
    assert_eq!(
        cmd_n(&mut c, "UNSUBSCRIBE zz", 1),
        confirmation("unsubscribe", "zz", 1)
    );
    assert_eq!(
        cmd_n(&mut c, "PUNSUBSCRIBE", 1),
        confirmation("punsubscribe", "p", 0)
    );
    // Nothing left: a null name.
    assert_eq!(
        cmd_n(&mut c, "UNSUBSCRIBE", 1),
        b"*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n"
    );
    assert_eq!(
        cmd_n(&mut c, "PUNSUBSCRIBE", 1),
        b"*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:0\r\n"
    );
}

#[test]
fn a_resp2_subscriber_may_only_run_subscription_commands_and_ping() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    cmd_n(&mut c, "SUBSCRIBE ch", 1);
    assert_eq!(
        c.cmd_str("GET k"),
        "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"
    );
    // Subcommands are named in full.
    assert_eq!(
        c.cmd_str("PUBSUB NUMPAT"),
        "-ERR Can't execute 'pubsub|numpat': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"
    );
    // PING answers in a form a message reader can tell from a status reply.
    assert_eq!(c.cmd_str("PING"), "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    assert_eq!(c.cmd_str("PING hi"), "*2\r\n$4\r\npong\r\n$2\r\nhi\r\n");
    cmd_n(&mut c, "UNSUBSCRIBE", 1);
    assert_eq!(c.cmd_str("GET k"), "$-1\r\n");
    assert_eq!(c.cmd_str("PING"), "+PONG\r\n");
}

#[test]
fn shard_channels_are_a_separate_namespace_without_patterns() {
    let server = TestServer::start(&[]);
    let mut s = server.raw();
    let mut expected = confirmation("ssubscribe", "orders", 1);
    expected.extend(confirmation("ssubscribe", "audit", 2));
    assert_eq!(cmd_n(&mut s, "SSUBSCRIBE orders audit", 2), expected);
    let mut p = server.raw();
    cmd_n(&mut p, "PSUBSCRIBE *", 1);
    let mut publisher = server.raw();
    assert_eq!(publisher.cmd_str("SPUBLISH orders o1"), ":1\r\n");
    assert_eq!(s.read_reply(), message("smessage", "orders", "o1"));
    // PUBLISH does not reach shard subscribers; SPUBLISH does not reach patterns.
    assert_eq!(publisher.cmd_str("PUBLISH orders o2"), ":1\r\n");
    assert_eq!(p.read_reply(), pmessage("*", "orders", "o2").into_bytes());
    assert_eq!(
        publisher.cmd_str("PUBSUB SHARDNUMSUB orders nothing"),
        "*4\r\n$6\r\norders\r\n:1\r\n$7\r\nnothing\r\n:0\r\n"
    );
    assert_eq!(
        publisher.cmd_str("PUBSUB SHARDCHANNELS ord*"),
        "*1\r\n$6\r\norders\r\n"
    );
    // Shard subscriptions count on their own, and keep the client in subscriber mode.
    cmd_n(&mut s, "SUBSCRIBE plain", 1);
    assert_eq!(
        cmd_n(&mut s, "UNSUBSCRIBE", 1),
        confirmation("unsubscribe", "plain", 0)
    );
    assert!(s.cmd_str("GET k").starts_with("-ERR Can't execute 'get'"));
    let mut expected = confirmation("sunsubscribe", "orders", 1);
    expected.extend(confirmation("sunsubscribe", "audit", 0));
    assert_eq!(cmd_n(&mut s, "SUNSUBSCRIBE", 2), expected);
    assert_eq!(s.cmd_str("GET k"), "$-1\r\n");
}

#[test]
fn pubsub_introspection_reports_channels_and_counts() {
    let server = TestServer::start(&[]);
    let mut a = server.raw();
    let mut b = server.raw();
    cmd_n(&mut a, "SUBSCRIBE news.tech news.art weather", 3);
    cmd_n(&mut b, "SUBSCRIBE news.tech", 1);
    cmd_n(&mut a, "PSUBSCRIBE n* w*", 2);
    cmd_n(&mut b, "PSUBSCRIBE n*", 1);
    let mut c = server.raw();
    assert_eq!(
        c.cmd_str("PUBSUB NUMSUB news.tech weather none"),
        "*6\r\n$9\r\nnews.tech\r\n:2\r\n$7\r\nweather\r\n:1\r\n$4\r\nnone\r\n:0\r\n"
    );
    assert_eq!(c.cmd_str("PUBSUB NUMSUB"), "*0\r\n");
    // Distinct patterns, not pattern subscriptions.
    assert_eq!(c.cmd_str("PUBSUB NUMPAT"), ":2\r\n");
    let mut channels = parse_bulk_array(&c.cmd(&[b"PUBSUB", b"CHANNELS", b"news.*"]));
    channels.sort();
    assert_eq!(channels, vec!["news.art", "news.tech"]);
    assert_eq!(parse_bulk_array(&c.cmd(&[b"PUBSUB", b"CHANNELS"])).len(), 3);
    assert_eq!(
        c.cmd_str("PUBSUB CHANNELS a b"),
        "-ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP.\r\n"
    );
    assert_eq!(
        c.cmd_str("PUBSUB NUMPAT x"),
        "-ERR wrong number of arguments for 'pubsub|numpat' command\r\n"
    );
    assert_eq!(
        c.cmd_str("PUBSUB NOPE"),
        "-ERR unknown subcommand 'NOPE'. Try PUBSUB HELP.\r\n"
    );
    let help = c.cmd_str("PUBSUB HELP");
    assert!(help.starts_with(
        "*14\r\n+PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"
    ));
}

fn parse_bulk_array(reply: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(reply);
    let mut lines = text.split("\r\n");
    let n: usize = lines
        .next()
        .and_then(|h| h.strip_prefix('*'))
        .and_then(|n| n.parse().ok())
        .expect("array header");
    let mut out = Vec::new();
    for _ in 0..n {
        lines.next();
        out.push(lines.next().unwrap_or_default().to_string());
    }
    out
}

/// Polls `cmd` until it returns `want` or the deadline passes.
fn eventually(c: &mut RawConn, line: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let got = c.cmd_str(line);
        if got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{line}: still {got:?}, wanted {want:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_closed_subscriber_no_longer_counts() {
    let server = TestServer::start(&[]);
    let mut s = server.raw();
    cmd_n(&mut s, "SUBSCRIBE ch", 1);
    cmd_n(&mut s, "PSUBSCRIBE p*", 1);
    let mut c = server.raw();
    assert_eq!(c.cmd_str("PUBLISH ch x"), ":1\r\n");
    drop(s);
    eventually(&mut c, "PUBSUB NUMSUB ch", "*2\r\n$2\r\nch\r\n:0\r\n");
    assert_eq!(c.cmd_str("PUBSUB NUMPAT"), ":0\r\n");
    assert_eq!(c.cmd_str("PUBLISH ch x"), ":0\r\n");
}

#[test]
fn subscribe_inside_multi_enters_subscriber_mode_after_exec() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert_eq!(c.cmd_str("MULTI"), "+OK\r\n");
    assert_eq!(c.cmd_str("SUBSCRIBE ch"), "+QUEUED\r\n");
    assert_eq!(c.cmd_str("GET k"), "+QUEUED\r\n");
    // Inside EXEC the remaining commands still run.
    let mut expected = b"*2\r\n".to_vec();
    expected.extend(confirmation("subscribe", "ch", 1));
    expected.extend(b"$-1\r\n");
    assert_eq!(c.cmd_str("EXEC").into_bytes(), expected);
    assert!(c.cmd_str("GET k").starts_with("-ERR Can't execute 'get'"));
    cmd_n(&mut c, "UNSUBSCRIBE", 1);
    // SSUBSCRIBE is refused inside EXEC, as Redis denies it to non-blocking contexts.
    c.cmd_str("MULTI");
    c.cmd_str("SSUBSCRIBE q");
    assert_eq!(
        c.cmd_str("EXEC"),
        "*1\r\n-ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client\r\n"
    );
}

#[test]
fn a_subscriber_that_stops_reading_is_disconnected_and_the_server_stays_healthy() {
    let server = TestServer::start(&["--client-output-buffer-limit", "pubsub 1mb 256kb 1"]);
    let mut sub = server.raw();
    cmd_n(&mut sub, "SUBSCRIBE flood", 1);
    let mut publisher = server.raw();
    let payload = vec![b'x'; 4096];
    let mut batch = Vec::new();
    for _ in 0..64 {
        batch.extend(common::encode_command(&[b"PUBLISH", b"flood", &payload]));
    }
    // The subscriber never reads: kernel buffers absorb a few MB, then its output buffer
    // grows past the 1 MB hard limit and the server drops it.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        publisher.send(&batch);
        for _ in 0..64 {
            let reply = publisher.read_reply();
            assert!(reply.starts_with(b":"), "{reply:?}");
        }
        if publisher.cmd_str("PUBSUB NUMSUB flood") == "*2\r\n$5\r\nflood\r\n:0\r\n" {
            break;
        }
        assert!(Instant::now() < deadline, "subscriber never disconnected");
    }
    assert_eq!(publisher.cmd_str("PING"), "+PONG\r\n");
    assert_eq!(publisher.cmd_str("PUBLISH flood x"), ":0\r\n");
    // What the subscriber did get ends early: the connection was closed.
    sub.stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let received = sub.read_to_close();
    assert!(received.len() < 64 * 1024 * 1024);
}

#[test]
fn resp3_subscribers_get_push_frames_and_may_run_any_command() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert!(c.cmd_str("HELLO 3").starts_with('%'));
    assert_eq!(
        c.cmd_str("SUBSCRIBE ch"),
        ">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"
    );
    assert_eq!(c.cmd_str("GET k"), "_\r\n");
    assert_eq!(c.cmd_str("PING"), "+PONG\r\n");
    // Publishing to itself: the push frame comes before the PUBLISH reply, as in Redis 7.0.
    c.send_cmd(&[b"PUBLISH", b"ch", b"me"]);
    assert_eq!(
        c.read_reply(),
        b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nme\r\n"
    );
    assert_eq!(c.read_reply(), b":1\r\n");
    assert_eq!(
        c.cmd_str("PUNSUBSCRIBE"),
        ">3\r\n$12\r\npunsubscribe\r\n_\r\n:1\r\n"
    );
}

/// The same script against real Redis and ferrodis must produce the same bytes.
#[test]
fn subscription_replies_match_real_redis_byte_for_byte() {
    if !require_redis_server() {
        return;
    }
    let real = RealRedis::start(&[]);
    let ours = TestServer::start(&[]);
    let script: &[(usize, &str, usize)] = &[
        (0, "SUBSCRIBE a b a", 3),
        (0, "PSUBSCRIBE a* b?", 2),
        (1, "PUBLISH a one", 1),
        (0, "", 2),
        (0, "PING", 1),
        (0, "PING x", 1),
        (0, "SET k v", 1),
        (0, "UNSUBSCRIBE b", 1),
        (0, "UNSUBSCRIBE nope", 1),
        (0, "PUNSUBSCRIBE b?", 1),
        (1, "PUBSUB NUMSUB a b", 1),
        (1, "PUBSUB NUMPAT", 1),
        (1, "PUBSUB SHARDNUMSUB a", 1),
        (1, "PUBSUB HELP", 1),
        (1, "PUBSUB CHANNELS x y", 1),
        (1, "SPUBLISH a x", 1),
        (0, "SSUBSCRIBE s", 1),
        (1, "SPUBLISH s x", 1),
        (0, "", 1),
        (0, "SUNSUBSCRIBE", 1),
        (0, "SUNSUBSCRIBE", 1),
    ];
    let run = |conns: &mut [RawConn]| -> Vec<Vec<u8>> {
        script
            .iter()
            .map(|&(who, line, replies)| {
                let c = &mut conns[who];
                if line.is_empty() {
                    (0..replies).flat_map(|_| c.read_reply()).collect()
                } else {
                    cmd_n(c, line, replies)
                }
            })
            .collect()
    };
    let theirs = run(&mut [real.raw(), real.raw()]);
    let mine = run(&mut [ours.raw(), ours.raw()]);
    for ((step, t), m) in script.iter().zip(&theirs).zip(&mine) {
        assert_eq!(
            String::from_utf8_lossy(m),
            String::from_utf8_lossy(t),
            "step {step:?}"
        );
    }
}

#[test]
fn a_subscriber_over_the_soft_limit_for_too_long_is_disconnected() {
    // No hard limit: only staying above 64 KB for more than a second gets the client dropped.
    let server = TestServer::start(&["--client-output-buffer-limit", "pubsub 0 64kb 1"]);
    let mut sub = server.raw();
    cmd_n(&mut sub, "SUBSCRIBE slow", 1);
    let mut publisher = server.raw();
    let payload = vec![b'x'; 16 * 1024];
    let started = Instant::now();
    loop {
        publisher.cmd(&[b"PUBLISH", b"slow", &payload]);
        if publisher.cmd_str("PUBSUB NUMSUB slow") == "*2\r\n$4\r\nslow\r\n:0\r\n" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "never disconnected"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // Dropped only after the grace period (kernel buffers absorb the first megabytes, so the
    // soft limit is reached some time after the first message).
    assert!(started.elapsed() > Duration::from_secs(1));
    assert_eq!(publisher.cmd_str("PING"), "+PONG\r\n");
}

/// Runs a subscriber script with CLIENT REPLY OFF / SKIP against one server: `setup` on the
/// subscriber connection, `publish` on a second connection, then `after` on the subscriber;
/// returns everything the subscriber received.
fn silenced_subscriber_transcript(
    port: u16,
    setup: &[&str],
    publish: &[&str],
    after: &[&str],
) -> String {
    let mut sub = common::RawConn::connect(port);
    let mut publisher = common::RawConn::connect(port);
    for line in setup {
        if *line == "HELLO 3" {
            // Its reply names the connection id, which differs between the servers.
            sub.hello3();
        } else {
            sub.send_str(line);
        }
    }
    // The publisher's round trip comes after the subscriber's commands have run.
    std::thread::sleep(Duration::from_millis(100));
    for line in publish {
        publisher.cmd_str(line);
    }
    for line in after {
        sub.send_str(line);
    }
    let (bytes, _) = sub.read_until_quiet(Duration::from_millis(300));
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Redis 7.0 delivers pub/sub pushes (subscription confirmations, messages, keyspace events,
/// messages a client publishes to itself) to a client that turned its replies off, in RESP3
/// and RESP2: only the ordinary replies are silenced.
#[test]
fn client_reply_off_and_skip_still_deliver_pubsub_pushes_as_redis_does() {
    if !common::require_redis_server() {
        return;
    }
    let conf = ["--notify-keyspace-events", "KEA"];
    let ours = TestServer::start(&conf);
    let real = common::RealRedis::start(&conf);
    let scenarios: &[(&[&str], &[&str], &[&str])] = &[
        (
            &[
                "HELLO 3",
                "CLIENT REPLY OFF",
                "SUBSCRIBE ch",
                "PSUBSCRIBE c* __key*__:*",
            ],
            &["PUBLISH ch hi", "SET k v"],
            &[
                "PING",
                "PUBLISH ch self",
                "SET mine v",
                "UNSUBSCRIBE ch nosuch",
                "PUNSUBSCRIBE",
                "UNSUBSCRIBE",
                "CLIENT REPLY ON",
                "PING",
            ],
        ),
        (
            &["HELLO 3", "CLIENT REPLY SKIP", "SUBSCRIBE a", "SUBSCRIBE b"],
            &["PUBLISH a 1", "PUBLISH b 2"],
            &["CLIENT REPLY SKIP", "PUBLISH a self", "ECHO shown"],
        ),
        (
            &["CLIENT REPLY OFF", "SUBSCRIBE ch", "PSUBSCRIBE x*"],
            &["PUBLISH ch hi", "PUBLISH xy there"],
            &["PING", "UNSUBSCRIBE", "PUNSUBSCRIBE x*", "PING"],
        ),
    ];
    for (setup, publish, after) in scenarios {
        let a = silenced_subscriber_transcript(ours.port, setup, publish, after);
        let b = silenced_subscriber_transcript(real.port, setup, publish, after);
        assert_eq!(
            a, b,
            "subscriber {setup:?}: ferrodis (left) vs redis-server (right)"
        );
    }
}
