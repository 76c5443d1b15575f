//! Glob patterns (Redis: `util.c`, `stringmatchlen`) through every command that takes one:
//! the same matches as redis-server on generated and hand-picked patterns, and pathological
//! patterns (`a*a*a*...b`, CVE-2022-36021) answered at once while other clients are served.

mod common;

use common::{require_redis_server, RawConn, RealRedis, TestServer};
use std::time::{Duration, Instant};

/// A tiny deterministic generator, so a failure names a reproducible pattern.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }

    /// A string of up to `max_len` bytes drawn from the first `alphabet_len` bytes of `alphabet`.
    fn string(&mut self, alphabet: &[u8], max_len: usize) -> Vec<u8> {
        let len = self.below(max_len + 1);
        let letters = 1 + self.below(alphabet.len());
        (0..len).map(|_| alphabet[self.below(letters)]).collect()
    }
}

/// Bytes that mean something to the matcher, plus letters, a NUL and high bytes (which Redis
/// compares as signed `char`s in ranges).
const ALPHABET: &[u8] = b"ab*?[]^-\\A\xff\xc8\x80c\x00";

/// Hand-picked patterns for the corners of Redis's parser: trailing backslash, unterminated
/// and empty classes, `]` as a range end, reversed and high-byte ranges, escapes in classes.
const CORNER_PATTERNS: &[&[u8]] = &[
    b"*",
    b"",
    b"?",
    b"a*",
    b"*a*a*b",
    b"a\\",
    b"\\",
    b"[",
    b"[^",
    b"[ab",
    b"[]",
    b"[]a]",
    b"[^]",
    b"[\\]]",
    b"[\\]",
    b"[a\\",
    b"[a-]",
    b"[a-]b",
    b"[b-a]*",
    b"[a-\xff]",
    b"[\x80-\xfe]*",
    b"[\\a-c]",
    b"a?c",
    b"\\*",
    b"*\\",
];

/// The keys a KEYS reply lists, sorted (KEYS order is hash order, which differs).
fn sorted_items(reply: &[u8]) -> Vec<Vec<u8>> {
    let mut pos = 0;
    let mut items: Vec<Vec<u8>> = common::parse_resp(reply, &mut pos)
        .as_list()
        .iter()
        .map(|item| item.as_str().as_bytes().to_vec())
        .collect();
    items.sort();
    items
}

#[test]
fn keys_selects_the_same_keys_as_redis() {
    if !require_redis_server() {
        return;
    }
    let ours = TestServer::start(&[]);
    let real = RealRedis::start(&[]);
    let (mut a, mut b) = (ours.raw(), real.raw());
    let mut rng = Lcg(7);
    let mut subjects: Vec<Vec<u8>> = (0..80).map(|_| rng.string(ALPHABET, 6)).collect();
    subjects.extend([b"".to_vec(), b"]".to_vec(), b"a]".to_vec(), b"\\".to_vec()]);
    for subject in &subjects {
        let set: &[&[u8]] = &[b"SET", subject, b"1"];
        assert_eq!(a.cmd(set), b.cmd(set));
    }
    let mut patterns: Vec<Vec<u8>> = CORNER_PATTERNS.iter().map(|p| p.to_vec()).collect();
    patterns.extend((0..400).map(|_| rng.string(ALPHABET, 8)));
    for pattern in &patterns {
        let keys: &[&[u8]] = &[b"KEYS", pattern];
        assert_eq!(
            sorted_items(&a.cmd(keys)),
            sorted_items(&b.cmd(keys)),
            "KEYS {:?}",
            String::from_utf8_lossy(pattern)
        );
    }
}

#[test]
fn publish_reaches_the_same_pattern_subscribers_as_redis() {
    if !require_redis_server() {
        return;
    }
    let ours = TestServer::start(&[]);
    let real = RealRedis::start(&[]);
    let mut rng = Lcg(11);
    let mut patterns: Vec<Vec<u8>> = CORNER_PATTERNS.iter().map(|p| p.to_vec()).collect();
    patterns.extend((0..60).map(|_| rng.string(ALPHABET, 6)));
    // One subscriber per pattern on each server: PUBLISH counts the patterns that matched.
    let mut subscribers = Vec::new();
    for pattern in &patterns {
        for port in [ours.port, real.port] {
            let mut sub = RawConn::connect(port);
            sub.cmd(&[b"PSUBSCRIBE", pattern]);
            subscribers.push(sub);
        }
    }
    let (mut a, mut b) = (ours.raw(), real.raw());
    let mut channels: Vec<Vec<u8>> = (0..120).map(|_| rng.string(ALPHABET, 6)).collect();
    // The empty channel: Redis's matcher refuses it even for `*`.
    channels.extend([b"".to_vec(), b"a".to_vec(), b"]".to_vec()]);
    for channel in &channels {
        let publish: &[&[u8]] = &[b"PUBLISH", channel, b"m"];
        assert_eq!(
            String::from_utf8_lossy(&a.cmd(publish)),
            String::from_utf8_lossy(&b.cmd(publish)),
            "PUBLISH {:?}",
            String::from_utf8_lossy(channel)
        );
    }
}

/// Redis's matcher fails on an empty subject whatever the pattern (its loop never starts), so
/// `*` neither lists nor reaches the empty channel, while no pattern at all lists it.
#[test]
fn star_does_not_match_the_empty_channel_as_in_redis() {
    if !require_redis_server() {
        return;
    }
    let ours = TestServer::start(&[]);
    let real = RealRedis::start(&[]);
    for port in [ours.port, real.port] {
        let mut channel_subscriber = RawConn::connect(port);
        channel_subscriber.cmd(&[b"SUBSCRIBE", b""]);
        let mut pattern_subscriber = RawConn::connect(port);
        pattern_subscriber.cmd(&[b"PSUBSCRIBE", b"*"]);
        let mut c = RawConn::connect(port);
        assert_eq!(c.cmd(&[b"PUBSUB", b"CHANNELS", b"*"]), b"*0\r\n");
        assert_eq!(c.cmd(&[b"PUBSUB", b"CHANNELS"]), b"*1\r\n$0\r\n\r\n");
        assert_eq!(c.cmd(&[b"PUBLISH", b"", b"m"]), b":1\r\n");
        assert_eq!(c.cmd(&[b"PUBLISH", b"x", b"m"]), b":1\r\n");
    }
}

#[test]
fn nocase_patterns_match_like_redis() {
    if !require_redis_server() {
        return;
    }
    let ours = TestServer::start(&[]);
    let real = RealRedis::start(&[]);
    let (mut a, mut b) = (ours.raw(), real.raw());
    let mut compare = |args: &[&[u8]]| {
        assert_eq!(
            String::from_utf8_lossy(&a.cmd(args)),
            String::from_utf8_lossy(&b.cmd(args)),
            "{:?}",
            args.iter()
                .map(|x| String::from_utf8_lossy(x))
                .collect::<Vec<_>>()
        );
    };
    // CONFIG GET folds case, and its range ends go through C's tolower after the swap.
    for pattern in [
        &b"APPENDONL?"[..],
        b"[\xff-A]ppendonly",
        b"[A-\xff]ppendonly",
        b"[a-\xc8]ppendonly",
        b"[\\A]ppendonly",
        b"[\\a]PPENDONLY",
        b"\\APPENDONLY",
    ] {
        compare(&[b"CONFIG", b"GET", pattern]);
    }
    for pattern in [&b"G[\xff-E]T"[..], b"[^g]et", b"G\\E?"] {
        compare(&[b"COMMAND", b"LIST", b"FILTERBY", b"PATTERN", pattern]);
    }
    // FUNCTION LIST LIBRARYNAME folds case too.
    for name in ["libb", "LIBB", "Lib_9"] {
        compare(&[b"FUNCTION", b"FLUSH"]);
        let code =
            format!("#!lua name={name}\nredis.register_function('f', function() return 1 end)");
        compare(&[b"FUNCTION", b"LOAD", code.as_bytes()]);
        for pattern in [
            &b"LIB[A-C]"[..],
            b"lib[\\B]",
            b"lib[\\b]",
            b"\\L*",
            b"[^L]ib*",
            b"*_?",
        ] {
            compare(&[b"FUNCTION", b"LIST", b"LIBRARYNAME", pattern]);
        }
    }
}

/// A subject of 40 `a`s and the pattern `a*a*...a*b` with 20 stars, which made a backtracking
/// matcher try every way of splitting the subject (minutes at 100 % CPU).
fn pathological() -> (Vec<u8>, Vec<u8>) {
    let subject = vec![b'a'; 40];
    let mut pattern = b"a*".repeat(20);
    pattern.push(b'b');
    (subject, pattern)
}

/// `*?*?...*?!`: no `!` in any name, and every way of spreading the `?`s over a name is tried
/// by a backtracking matcher. For CONFIG GET and COMMAND LIST, whose names we do not choose.
fn pathological_for_any_name() -> Vec<u8> {
    let mut pattern = b"*?".repeat(14);
    pattern.push(b'!');
    pattern
}

/// Sends `command` on one connection and PING on another; both must be answered within
/// 500 ms (the second proves the server was not stuck), and the reply must be `expected`.
fn assert_answered_at_once(port: u16, command: &[&[u8]], expected: &[u8]) {
    let mut busy = RawConn::connect(port);
    let mut other = RawConn::connect(port);
    let started = Instant::now();
    busy.send_cmd(command);
    assert_eq!(other.cmd(&[b"PING"]), b"+PONG\r\n");
    let other_answered = started.elapsed();
    let reply = busy.read_reply();
    let answered = started.elapsed();
    let name = String::from_utf8_lossy(command[0]);
    assert_eq!(
        String::from_utf8_lossy(&reply),
        String::from_utf8_lossy(expected),
        "{name}"
    );
    let limit = Duration::from_millis(500);
    assert!(answered < limit, "{name} took {answered:?}");
    assert!(other_answered < limit, "PING waited {other_answered:?}");
}

/// Every command that matches a glob, with the pathological pattern, against ferrodis and
/// redis-server: the same reply, at once, on both.
#[test]
fn pathological_patterns_are_answered_at_once_by_every_command() {
    let have_redis = require_redis_server();
    let ours = TestServer::start(&[]);
    let real = have_redis.then(|| RealRedis::start(&[]));
    let (subject, pattern) = pathological();
    let any_name = pathological_for_any_name();
    let library = format!(
        "#!lua name={}\nredis.register_function('f', function() return 1 end)",
        String::from_utf8_lossy(&subject)
    );
    let empty_scan: &[u8] = b"*2\r\n$1\r\n0\r\n*0\r\n";
    let mut ports = vec![ours.port];
    ports.extend(real.as_ref().map(|r| r.port));
    for port in ports {
        let mut setup = RawConn::connect(port);
        for cmd in [
            &[&b"SET"[..], &subject, b"1"][..],
            &[b"HSET", b"h", &subject, b"1"],
            &[b"SADD", b"s", &subject],
            &[b"ZADD", b"z", b"1", &subject],
            &[b"FUNCTION", b"LOAD", library.as_bytes()],
        ] {
            let reply = setup.cmd(cmd);
            assert!(
                !reply.starts_with(b"-"),
                "{:?}",
                String::from_utf8_lossy(&reply)
            );
        }
        let mut channel_subscriber = RawConn::connect(port);
        channel_subscriber.cmd(&[b"SUBSCRIBE", &subject]);
        channel_subscriber.cmd(&[b"SSUBSCRIBE", &subject]);
        let mut pattern_subscriber = RawConn::connect(port);
        pattern_subscriber.cmd(&[b"PSUBSCRIBE", &pattern]);

        assert_answered_at_once(port, &[b"KEYS", &pattern], b"*0\r\n");
        let mut star_pattern = b"a*".repeat(20);
        star_pattern.push(b'a');
        let found = format!("*1\r\n$40\r\n{}\r\n", String::from_utf8_lossy(&subject));
        assert_answered_at_once(port, &[b"KEYS", &star_pattern], found.as_bytes());
        assert_answered_at_once(
            port,
            &[b"SCAN", b"0", b"MATCH", &pattern, b"COUNT", b"100"],
            empty_scan,
        );
        assert_answered_at_once(
            port,
            &[b"HSCAN", b"h", b"0", b"MATCH", &pattern],
            empty_scan,
        );
        assert_answered_at_once(
            port,
            &[b"SSCAN", b"s", b"0", b"MATCH", &pattern],
            empty_scan,
        );
        assert_answered_at_once(
            port,
            &[b"ZSCAN", b"z", b"0", b"MATCH", &pattern],
            empty_scan,
        );
        // PUBLISH reaches the channel subscriber only; the pattern subscriber is not matched.
        assert_answered_at_once(port, &[b"PUBLISH", &subject, b"m"], b":1\r\n");
        assert_answered_at_once(port, &[b"PUBSUB", b"CHANNELS", &pattern], b"*0\r\n");
        assert_answered_at_once(port, &[b"PUBSUB", b"SHARDCHANNELS", &pattern], b"*0\r\n");
        assert_answered_at_once(port, &[b"CONFIG", b"GET", &any_name], b"*0\r\n");
        assert_answered_at_once(
            port,
            &[b"COMMAND", b"LIST", b"FILTERBY", b"PATTERN", &any_name],
            b"*0\r\n",
        );
        assert_answered_at_once(
            port,
            &[b"FUNCTION", b"LIST", b"LIBRARYNAME", &pattern],
            b"*0\r\n",
        );
    }
}
