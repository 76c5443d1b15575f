//! HyperLogLog commands against a real redis-server: the same replies and the same bytes in
//! the stored strings (sparse and dense, through promotion), sketches moved between the two
//! servers with GET/SET counting the same, corrupt values refused alike, events and WATCH.

mod common;
use common::{
    assert_events_match_redis, assert_replies_match_redis, assert_watch_matches_redis,
    require_redis_server, RawConn, RealRedis, TestServer,
};

/// A ferrodis and a redis-server started alike, and a connection to each.
struct Pair {
    _ours: TestServer,
    _real: RealRedis,
    a: RawConn,
    b: RawConn,
}

impl Pair {
    fn start(extra: &[&str]) -> Pair {
        let ours = TestServer::start(extra);
        let real = RealRedis::start(extra);
        let (a, b) = (ours.raw(), real.raw());
        Pair {
            _ours: ours,
            _real: real,
            a,
            b,
        }
    }

    /// Runs a command on both; asserts the raw replies are the same bytes; returns ours.
    fn both(&mut self, args: &[&[u8]]) -> Vec<u8> {
        let (ours, theirs) = (self.a.cmd(args), self.b.cmd(args));
        assert_eq!(
            ours,
            theirs,
            "reply to {:?} differs from redis-server",
            args.iter()
                .take(4)
                .map(|a| String::from_utf8_lossy(a))
                .collect::<Vec<_>>()
        );
        ours
    }

    fn both_str(&mut self, line: &str) -> Vec<u8> {
        let words: Vec<&[u8]> = line.split_whitespace().map(str::as_bytes).collect();
        self.both(&words)
    }
}

/// A deterministic stream of element names (xorshift), some repeated.
fn elements(seed: u64, n: usize, range: u64) -> Vec<String> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            format!("e{}", x % range)
        })
        .collect()
}

/// The body of a RESP bulk reply.
fn bulk_payload(reply: &[u8]) -> Vec<u8> {
    let start = reply.iter().position(|&b| b == b'\n').expect("bulk header") + 1;
    reply[start..reply.len() - 2].to_vec()
}

#[test]
fn replies_match_redis() {
    assert_replies_match_redis(
        &[],
        &[
            "PFADD h a b c d e f g",
            "PFCOUNT h",
            "PFADD h a",
            "PFADD h",
            "PFADD new",
            "PFCOUNT new",
            "STRLEN new",
            "PFADD h2 x y z a",
            "PFCOUNT h h2",
            "PFCOUNT h h2 nokey",
            "PFCOUNT nokey",
            "PFMERGE m h h2",
            "PFCOUNT m",
            "PFMERGE m2",
            "STRLEN m2",
            "PFMERGE h h2",
            "PFCOUNT h",
            "PFDEBUG ENCODING h",
            "PFDEBUG DECODE h",
            "PFDEBUG TODENSE h",
            "PFDEBUG ENCODING h",
            "PFDEBUG TODENSE h",
            "PFDEBUG DECODE h",
            "PFCOUNT h",
            "STRLEN h",
            "PFDEBUG GETREG nokey",
            "PFDEBUG FOO h",
            "PFDEBUG FOO nokey",
            "PFDEBUG ENCODING",
            "PFSELFTEST x",
            "SET s foo",
            "PFADD s a",
            "PFCOUNT s",
            "PFCOUNT s h",
            "PFMERGE s h",
            "PFMERGE h s",
            "PFDEBUG ENCODING s",
            "LPUSH l a",
            "PFADD l a",
            "PFCOUNT l",
            "PFCOUNT h l",
            "PFMERGE l h",
            "PFMERGE h l",
            "PFDEBUG ENCODING l",
            "SET fake HYLL",
            "PFADD fake a",
            "SET fake2 HYLLxxxxxxxxxxxxxxxxxxxxx",
            "PFADD fake2 a",
            "PFCOUNT fake2",
            "SET n 12345678901234567",
            "PFCOUNT n",
            "PFADD dense a",
            "PFDEBUG TODENSE dense",
            "PFMERGE sparse2 h2",
            "PFMERGE sparse2 dense",
            "PFDEBUG ENCODING sparse2",
            "PFADD newkey",
            "PFMERGE newkey2 h2",
            "PFDEBUG ENCODING newkey2",
        ],
    );
}

/// Elements added in batches: after each batch the stored string (GET), the count, the union
/// count and the encoding are the same bytes as Redis's, through the promotion to dense (which
/// a small `hll-sparse-max-bytes` brings early).
#[test]
fn stored_sketches_are_redis_bytes_sparse_and_dense() {
    if !require_redis_server() {
        return;
    }
    for max_bytes in ["3000", "200"] {
        let mut p = Pair::start(&["--hll-sparse-max-bytes", max_bytes]);
        for (round, batch) in [1usize, 5, 30, 100, 400, 1500, 4000]
            .into_iter()
            .enumerate()
        {
            for (k, key) in ["h1", "h2", "h3"].into_iter().enumerate() {
                let range = [100, 10_000, 1_000_000][k];
                let els = elements((round * 3 + k) as u64 + 7, batch, range);
                let mut args: Vec<&[u8]> = vec![b"PFADD", key.as_bytes()];
                args.extend(els.iter().map(|e| e.as_bytes()));
                p.both(&args);
                p.both(&[b"GET", key.as_bytes()]);
                p.both(&[b"PFCOUNT", key.as_bytes()]);
                p.both(&[b"GET", key.as_bytes()]);
                p.both(&[b"PFDEBUG", b"ENCODING", key.as_bytes()]);
            }
            p.both_str("PFCOUNT h1 h2 h3");
            p.both_str("PFMERGE m h1 h3");
            p.both_str("GET m");
            p.both_str("PFCOUNT m");
            p.both_str("PFDEBUG DECODE h1");
        }
        p.both_str("PFDEBUG GETREG h3");
        p.both_str("PFDEBUG GETREG h1");
        p.both_str("GET h1");
    }
}

/// A sketch written by one server is read by the other: GET on one, SET on the other, and
/// the count, further additions and merges agree.
#[test]
fn sketches_move_between_servers_with_get_and_set() {
    if !require_redis_server() {
        return;
    }
    let real = RealRedis::start(&[]);
    let ours = TestServer::start(&[]);
    let mut servers = [real.raw(), ours.raw()];
    for (from, to) in [(0, 1), (1, 0)] {
        for (key, n) in [("small", 50usize), ("big", 20_000)] {
            let els = elements(n as u64, n, 1 << 40);
            let mut args: Vec<&[u8]> = vec![b"PFADD", key.as_bytes()];
            args.extend(els.iter().map(|e| e.as_bytes()));
            servers[from].cmd(&args);
            let value = bulk_payload(&servers[from].cmd(&[b"GET", key.as_bytes()]));
            assert_eq!(
                servers[to].cmd(&[b"SET", key.as_bytes(), &value]),
                b"+OK\r\n"
            );
            for line in [
                format!("PFCOUNT {key}"),
                format!("PFDEBUG ENCODING {key}"),
                format!("PFADD {key} extra1 extra2 extra3"),
                format!("PFCOUNT {key}"),
                format!("GET {key}"),
                "PFMERGE merged small big".to_string(),
                "PFCOUNT merged".to_string(),
                "GET merged".to_string(),
                "PFCOUNT small big".to_string(),
            ] {
                let replies: Vec<Vec<u8>> = servers
                    .iter_mut()
                    .map(|c| c.cmd_owned(&line.split_whitespace().collect::<Vec<_>>()))
                    .collect();
                assert_eq!(replies[0], replies[1], "`{line}` after moving {key}");
            }
        }
        for c in &mut servers {
            c.cmd(&[b"FLUSHALL"]);
        }
    }
}

#[test]
fn corrupt_sketches_are_refused_as_redis_does() {
    if !require_redis_server() {
        return;
    }
    let mut p = Pair::start(&[]);
    let header = |encoding: u8, cache_valid: bool| {
        let mut h = b"HYLL".to_vec();
        h.push(encoding);
        h.extend_from_slice(&[0; 10]);
        h.push(if cache_valid { 0 } else { 0x80 });
        h
    };
    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
    // Sparse bodies covering too few registers, too many, a truncated XZERO, no body.
    cases.push(("short", [header(1, false), vec![0x7f, 0xfe]].concat()));
    cases.push(("long", [header(1, false), vec![0x7f, 0xff, 0x00]].concat()));
    cases.push(("cut", [header(1, false), vec![0x7f, 0xff, 0x40]].concat()));
    cases.push(("empty", header(1, false)));
    cases.push(("vals", [header(1, false), vec![0xff; 5000]].concat()));
    cases.push(("vals_exact", [header(1, false), vec![0xff; 4096]].concat()));
    // A VAL run crossing the last register; XZERO runs adding up far past it.
    cases.push((
        "crossing",
        [header(1, false), vec![0x7f, 0xfe, 0x93]].concat(),
    ));
    cases.push((
        "xzeros",
        [header(1, false), [0x7f, 0xff].repeat(100_000)].concat(),
    ));
    // A valid cached count is believed without looking at the body.
    cases.push(("cached", [header(1, true), vec![0x7f, 0xfe]].concat()));
    // Dense: wrong size, unknown encoding, registers beyond the estimator's range.
    cases.push((
        "dense_short",
        [header(0, false), vec![0xff; 12287]].concat(),
    ));
    cases.push(("dense_full", [header(0, false), vec![0xff; 12288]].concat()));
    cases.push(("encoding2", [header(2, false), vec![0xff; 12288]].concat()));
    cases.push(("magic", [b"HYLX".to_vec(), vec![1; 14]].concat()));
    for (key, value) in &cases {
        let key = key.as_bytes();
        p.both(&[b"SET", key, value]);
        p.both(&[b"PFCOUNT", key]);
        p.both(&[b"PFCOUNT", key, b"nokey"]);
        p.both(&[b"PFDEBUG", b"DECODE", key]);
        p.both(&[b"PFDEBUG", b"ENCODING", key]);
        p.both(&[b"PFADD", key, b"a", b"b", b"c"]);
        p.both(&[b"GET", key]);
        p.both(&[b"PFMERGE", b"dest", key]);
        p.both(&[b"PFMERGE", key]);
        p.both(&[b"PFDEBUG", b"TODENSE", key]);
        p.both(&[b"PFDEBUG", b"GETREG", key]);
        p.both(&[b"GET", key]);
        p.both(&[b"DEL", b"dest"]);
    }
}

#[test]
fn hll_writes_fire_events_as_redis() {
    assert_events_match_redis(&[
        "PFADD h a b c",
        "PFADD h a",
        "PFADD h",
        "PFCOUNT h",
        "PFCOUNT h",
        "PFMERGE m h",
        "PFMERGE m",
        "PFDEBUG TODENSE h",
        "PFADD h2",
    ]);
}

#[test]
fn hll_writes_invalidate_watch_as_redis() {
    assert_watch_matches_redis(&["PFADD h a b c"], &["h"], &["PFADD h a"]);
    assert_watch_matches_redis(&["PFADD h a b c"], &["h"], &["PFADD h zzz"]);
    // The first PFCOUNT after a change rewrites the cached count: a modification.
    assert_watch_matches_redis(&["PFADD h a b c"], &["h"], &["PFCOUNT h"]);
    assert_watch_matches_redis(&["PFADD h a b c", "PFCOUNT h"], &["h"], &["PFCOUNT h"]);
    assert_watch_matches_redis(&["PFADD h a b c"], &["h", "m"], &["PFMERGE m h"]);
}

#[test]
fn pfselftest_passes() {
    if !require_redis_server() {
        return;
    }
    let mut p = Pair::start(&[]);
    p.both_str("PFSELFTEST");
}
