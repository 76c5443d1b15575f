//! The memory limit and the background reclaiming of memory: active expiry (Redis 7.0's
//! cursor sweep), `maxmemory` with every eviction policy, OOM refusals, INFO / MEMORY fields.
//! Checked against redis-server where the two can be compared exactly.

mod common;
use common::{RawConn, RealRedis, TestServer};
use std::time::{Duration, Instant};

/// Fills a server with 1,800 keys: 400 living an hour (2 in every 9) and 1,400 expiring within
/// the next second (spread over it), then polls DBSIZE until only the long ones are left.
/// Returns the time from the last expiry to a clean DBSIZE, or None if that took more than
/// `limit`.
fn seconds_to_reclaim(conn: &mut RawConn, limit: Duration) -> Option<f64> {
    let (long, short) = (400, 1400);
    let mut pipeline = Vec::new();
    for i in 0..long + short {
        let key = format!("key:{i}");
        // Interleave the two kinds, as sessions and short-lived entries would be.
        let args: Vec<String> = if i % 9 < 2 {
            vec!["SET".into(), key, "v".into(), "EX".into(), "3600".into()]
        } else {
            let ms = 100 + (i * 7919) % 900;
            vec!["SET".into(), key, "v".into(), "PX".into(), ms.to_string()]
        };
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        pipeline.extend(common::encode_command(&refs));
    }
    conn.send(&pipeline);
    for _ in 0..long + short {
        assert_eq!(conn.read_reply(), b"+OK\r\n");
    }
    let long_left = |conn: &mut RawConn| {
        // DBSIZE counts keys still held, logically expired or not (it expires nothing).
        conn.cmd_str("DBSIZE")
    };
    let all_expired_at = Instant::now() + Duration::from_millis(1000);
    std::thread::sleep(Duration::from_millis(1000));
    let kept = long_left(conn);
    let deadline = all_expired_at + limit;
    let mut last = kept;
    while Instant::now() < deadline {
        let size: usize = last.trim_start_matches(':').trim().parse().expect("DBSIZE");
        if size <= long {
            assert_eq!(size, long, "a long-lived key was removed");
            return Some(all_expired_at.elapsed().as_secs_f64());
        }
        std::thread::sleep(Duration::from_millis(50));
        last = long_left(conn);
    }
    None
}

#[test]
fn active_expiry_reclaims_every_expired_key_within_seconds() {
    let server = TestServer::start(&[]);
    let mut conn = server.raw();
    let ours = seconds_to_reclaim(&mut conn, Duration::from_secs(5));
    if common::require_redis_server() {
        let real = RealRedis::start(&[]);
        let theirs = seconds_to_reclaim(&mut real.raw(), Duration::from_secs(15));
        eprintln!("reclaimed after: ferrodis {ours:?} s, redis-server {theirs:?} s");
    }
    let secs = ours.expect("expired keys still counted 5 s after the last expiry");
    assert!(secs < 5.0);
    let info = conn.cmd_str("INFO stats");
    let expired: usize = info
        .lines()
        .find_map(|l| l.strip_prefix("expired_keys:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("expired_keys");
    assert_eq!(expired, 1400);
    assert!(info.contains("expired_stale_perc:"));
    assert!(info.contains("expired_time_cap_reached_count:"));
}

#[test]
fn avg_ttl_is_zero_without_volatile_keys_and_estimated_with_them() {
    let server = TestServer::start(&["--hz", "100"]);
    let mut conn = server.raw();
    conn.cmd_str("SET plain v");
    std::thread::sleep(Duration::from_millis(100));
    assert!(conn
        .cmd_str("INFO keyspace")
        .contains("db0:keys=1,expires=0,avg_ttl=0\r\n"));
    for i in 0..50 {
        conn.cmd_str(&format!("SET k{i} v EX 1000"));
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let info = conn.cmd_str("INFO keyspace");
        let avg: i64 = info
            .split("avg_ttl=")
            .nth(1)
            .and_then(|v| v.trim().parse().ok())
            .expect("avg_ttl");
        if avg > 900_000 {
            assert!(avg <= 1_000_000, "avg_ttl {avg}");
            break;
        }
        assert!(Instant::now() < deadline, "avg_ttl stayed at {avg}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn active_expire_effort_is_a_bounded_directive() {
    common::assert_replies_match_redis(
        &[],
        &[
            "CONFIG GET active-expire-effort",
            "CONFIG SET active-expire-effort 10",
            "CONFIG GET active-expire-effort",
            "CONFIG SET active-expire-effort 0",
            "CONFIG SET active-expire-effort 11",
        ],
    );
}

/// An INFO field as a number.
fn info_field(conn: &mut RawConn, section: &str, field: &str) -> i64 {
    let info = conn.cmd_str(&format!("INFO {section}"));
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in INFO {section}"))
}

#[test]
fn noeviction_refuses_writes_that_may_grow_memory_and_serves_reads_and_deletes() {
    common::assert_replies_match_redis(
        &[],
        &[
            "SET a 1",
            "SET b 2",
            "RPUSH list x",
            "CONFIG SET maxmemory 1",
            "SET c 3",
            "INCR a",
            "LPUSH list y",
            "GET a",
            "LRANGE list 0 -1",
            "DEL b",
            "EXISTS b",
            "LPOP list",
            "EXPIRE a 100",
            "MULTI",
            "SET x 1",
            "GET a",
            "EXEC",
            "MULTI",
            "GET a",
            "EXEC",
            "EVAL \"return redis.call('get','a')\" 0",
            "EVAL \"return redis.pcall('set','a','2')\" 0",
            "EVAL \"#!lua flags=allow-oom\nreturn redis.call('set','a','2')\" 0",
            "EVAL \"#!lua\nreturn 1\" 0",
            "EVAL \"#!lua flags=no-writes\nreturn redis.call('get','a')\" 0",
            "CONFIG SET maxmemory 0",
            "SET c 3",
        ],
    );
}

#[test]
fn oom_refusals_are_counted_as_redis_counts_them() {
    let server = TestServer::start(&["--maxmemory", "1"]);
    let mut conn = server.raw();
    assert_eq!(
        conn.cmd_str("SET k v"),
        "-OOM command not allowed when used memory > 'maxmemory'.\r\n"
    );
    assert!(conn
        .cmd_str("INFO errorstats")
        .contains("errorstat_OOM:count=1\r\n"));
    assert!(conn
        .cmd_str("INFO commandstats")
        .contains("cmdstat_set:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0"));
    assert!(info_field(&mut conn, "stats", "total_eviction_exceeded_time") >= 0);
}

#[test]
fn object_freq_counts_accesses_under_lfu_as_redis() {
    // After a switch from LFU to LRU, OBJECT IDLETIME reads the LFU bits as an LRU clock: a
    // large number that moves with the clock's seconds, so the two servers, asked a moment
    // apart, may differ by one.
    if common::require_redis_server() {
        let (ours, real) = (TestServer::start(&[]), RealRedis::start(&[]));
        let idle = |mut c: RawConn| -> i64 {
            c.cmd_str("CONFIG SET maxmemory-policy allkeys-lfu");
            c.cmd_str("SET n v");
            c.cmd_str("CONFIG SET maxmemory-policy allkeys-lru");
            let reply = c.cmd_str("OBJECT IDLETIME n");
            reply
                .trim_start_matches(':')
                .trim_end()
                .parse()
                .unwrap_or(-1)
        };
        let (a, b) = (idle(ours.raw()), idle(real.raw()));
        assert!(
            b > 1000 && (a - b).abs() <= 1,
            "ferrodis {a}, redis-server {b}"
        );
    }
    common::assert_replies_match_redis(
        &[],
        &[
            "SET k v",
            "OBJECT FREQ k",
            "CONFIG SET maxmemory-policy allkeys-lfu",
            "SET n v",
            "OBJECT FREQ n",
            "GET n",
            "OBJECT FREQ n",
            "OBJECT IDLETIME n",
            "CONFIG SET maxmemory-policy allkeys-lru",
            "CONFIG GET lfu-log-factor",
            "CONFIG SET lfu-log-factor 20",
            "CONFIG GET lfu-decay-time",
            "CONFIG SET lfu-decay-time -1",
            "CONFIG GET maxmemory-eviction-tenacity",
            "CONFIG SET maxmemory-eviction-tenacity 101",
        ],
    );
}

/// Writes `count` keys `prefix:i` of `size` bytes, with `EX ttl(i)` when it gives one,
/// pipelined in batches; after each batch used_memory must be within the limit.
fn fill(
    conn: &mut RawConn,
    prefix: &str,
    count: usize,
    size: usize,
    ttl: impl Fn(usize) -> Option<u64>,
    limit: i64,
) {
    let value = "x".repeat(size);
    for batch in (0..count).collect::<Vec<_>>().chunks(100) {
        let mut pipeline = Vec::new();
        for &i in batch {
            let key = format!("{prefix}:{i}");
            let mut args = vec!["SET".to_string(), key, value.clone()];
            if let Some(t) = ttl(i) {
                args.extend(["EX".to_string(), t.to_string()]);
            }
            let refs: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
            pipeline.extend(common::encode_command(&refs));
        }
        conn.send(&pipeline);
        for _ in batch {
            assert_eq!(conn.read_reply(), b"+OK\r\n");
        }
        let used = info_field(conn, "memory", "used_memory");
        // A few KB of slack: the batch's own replies and query buffer, as Redis's own test.
        assert!(
            used < limit + 64 * 1024,
            "used_memory {used} over limit {limit}"
        );
    }
}

fn exists(conn: &mut RawConn, key: &str) -> bool {
    conn.cmd_str(&format!("EXISTS {key}")) == ":1\r\n"
}

const LIMIT: i64 = 2 * 1024 * 1024;

fn server_with_policy(policy: &str) -> TestServer {
    TestServer::start(&[
        "--maxmemory",
        &LIMIT.to_string(),
        "--maxmemory-policy",
        policy,
    ])
}

#[test]
fn volatile_policies_evict_only_keys_with_a_ttl() {
    for policy in [
        "volatile-lru",
        "volatile-lfu",
        "volatile-random",
        "volatile-ttl",
    ] {
        let server = server_with_policy(policy);
        let mut conn = server.raw();
        // 300 KB of keys without TTL, then 6 MB of keys with one.
        fill(&mut conn, "keep", 300, 1000, |_| None, LIMIT);
        fill(&mut conn, "tmp", 6000, 1000, |_| Some(1000), LIMIT);
        for i in 0..300 {
            assert!(
                exists(&mut conn, &format!("keep:{i}")),
                "{policy} evicted keep:{i}"
            );
        }
        let evicted = info_field(&mut conn, "stats", "evicted_keys");
        assert!(evicted > 3000, "{policy}: only {evicted} evicted");
        // With no volatile key left to evict, writes are refused.
        conn.cmd_str("FLUSHALL");
        fill(&mut conn, "keep", 100, 1000, |_| None, LIMIT);
        conn.cmd_str("CONFIG SET maxmemory 1");
        assert_eq!(
            conn.cmd_str("SET more x"),
            "-OOM command not allowed when used memory > 'maxmemory'.\r\n",
            "{policy}"
        );
        assert_eq!(conn.cmd_str("DBSIZE"), ":100\r\n");
    }
}

#[test]
fn volatile_ttl_evicts_the_nearest_expiry_first() {
    let server = server_with_policy("volatile-ttl");
    let mut conn = server.raw();
    // TTLs grow with the key number: the early keys must be the ones to go.
    fill(
        &mut conn,
        "k",
        4000,
        1000,
        |i| Some(10_000 + i as u64),
        LIMIT,
    );
    let survivors: Vec<usize> = (0..4000)
        .filter(|i| exists(&mut conn, &format!("k:{i}")))
        .collect();
    let early = survivors.iter().filter(|&&i| i < 2000).count();
    assert!(
        early * 10 < survivors.len(),
        "{early} of {} survivors are from the first half",
        survivors.len()
    );
}

/// With `policy`, writes 100 hot keys, then four rounds of: wait a second (the LRU clock
/// counts seconds, in Redis too), read every hot key, write 1,000 cold keys (1 MB, half the
/// limit). Returns how many hot keys survived.
fn hot_keys_kept(conn: &mut RawConn) -> usize {
    fill(conn, "hot", 100, 1000, |_| None, LIMIT);
    for round in 0..4 {
        std::thread::sleep(Duration::from_millis(1100));
        for i in 0..100 {
            conn.send_cmd(&[b"GET", format!("hot:{i}").as_bytes()]);
        }
        for _ in 0..100 {
            conn.read_reply();
        }
        fill(conn, &format!("cold{round}"), 1000, 1000, |_| None, LIMIT);
    }
    assert!(info_field(conn, "stats", "evicted_keys") > 2000);
    (0..100)
        .filter(|i| exists(conn, &format!("hot:{i}")))
        .count()
}

fn assert_hot_set_kept(policy: &str) {
    let server = server_with_policy(policy);
    let ours = std::thread::spawn(move || hot_keys_kept(&mut server.raw()));
    if common::require_redis_server() {
        let real = RealRedis::start(&[
            "--maxmemory",
            &LIMIT.to_string(),
            "--maxmemory-policy",
            policy,
        ]);
        let theirs = hot_keys_kept(&mut real.raw());
        eprintln!("{policy}: redis-server kept {theirs} of 100 hot keys");
    }
    let kept = ours.join().expect("ferrodis run");
    assert!(kept >= 95, "{policy}: ferrodis kept {kept} of 100 hot keys");
}

#[test]
fn allkeys_lru_keeps_the_hot_set() {
    assert_hot_set_kept("allkeys-lru");
}

#[test]
fn allkeys_lfu_keeps_the_hot_set() {
    assert_hot_set_kept("allkeys-lfu");
}

#[test]
fn allkeys_random_stays_under_the_limit() {
    let server = server_with_policy("allkeys-random");
    let mut conn = server.raw();
    fill(&mut conn, "k", 6000, 1000, |_| None, LIMIT);
    let size: i64 = conn.cmd_str("DBSIZE")[1..].trim().parse().expect("DBSIZE");
    assert!((1000..2100).contains(&size), "{size} keys left");
}

#[test]
fn an_evicted_key_fires_its_event_and_invalidates_watch() {
    let server = server_with_policy("allkeys-random");
    let mut conn = server.raw();
    conn.cmd_str("CONFIG SET notify-keyspace-events Ee");
    let mut sub = server.raw();
    assert!(sub
        .cmd_str("SUBSCRIBE __keyevent@0__:evicted")
        .contains("subscribe"));
    let mut watcher = server.raw();
    conn.cmd_str("SET watched v");
    watcher.cmd_str("WATCH watched");
    watcher.cmd_str("MULTI");
    watcher.cmd_str("PING");
    // Lowering the limit far below use evicts everything at once.
    assert_eq!(conn.cmd_str("CONFIG SET maxmemory 1"), "+OK\r\n");
    assert_eq!(conn.cmd_str("DBSIZE"), ":0\r\n");
    assert_eq!(watcher.cmd_str("EXEC"), "*-1\r\n");
    let message = sub.reply_str();
    assert_eq!(
        message,
        "*3\r\n$7\r\nmessage\r\n$22\r\n__keyevent@0__:evicted\r\n$7\r\nwatched\r\n"
    );
    assert_eq!(info_field(&mut conn, "stats", "evicted_keys"), 1);
    let memory = conn.cmd_str("INFO memory");
    for field in [
        "maxmemory:1\r\n",
        "maxmemory_human:1B\r\n",
        "maxmemory_policy:allkeys-random\r\n",
        "mem_not_counted_for_evict:0\r\n",
    ] {
        assert!(memory.contains(field), "{field} missing from {memory}");
    }
}

/// The field names of an INFO section, in order.
fn info_field_names(conn: &mut RawConn, section: &str) -> Vec<String> {
    let body = conn.cmd_str(&format!("INFO {section}"));
    body.lines()
        .filter(|l| l.contains(':'))
        .map(|l| l.split(':').next().unwrap_or("").to_string())
        .collect()
}

/// The keys of MEMORY STATS (RESP3 map, nested maps flattened with their parent's name).
fn memory_stats_names(conn: &mut RawConn) -> Vec<String> {
    let reply = conn.cmd(&[b"MEMORY", b"STATS"]);
    let mut pos = 0;
    let parsed = common::parse_resp(&reply, &mut pos);
    parsed
        .as_list()
        .chunks(2)
        .map(|pair| pair[0].as_str().to_string())
        .collect()
}

#[test]
fn info_memory_and_memory_stats_have_redis_fields_in_redis_order() {
    if !common::require_redis_server() {
        return;
    }
    let ours = TestServer::start(&[]);
    let real = RealRedis::start(&[]);
    let (mut a, mut b) = (ours.raw(), real.raw());
    for conn in [&mut a, &mut b] {
        conn.cmd_str("SET k v");
    }
    assert_eq!(
        info_field_names(&mut a, "memory"),
        info_field_names(&mut b, "memory")
    );
    assert_eq!(memory_stats_names(&mut a), memory_stats_names(&mut b));
    // Below 5 MB both doctors refuse to diagnose, in the same words.
    assert_eq!(a.cmd_str("MEMORY DOCTOR"), b.cmd_str("MEMORY DOCTOR"));
    assert_eq!(a.cmd_str("MEMORY PURGE"), "+OK\r\n");
    assert!(a.cmd_str("MEMORY MALLOC-STATS").contains("mallinfo2"));
    let stats = a.cmd_str("INFO memory");
    let used = info_field(&mut a, "memory", "used_memory");
    let startup = info_field(&mut a, "memory", "used_memory_startup");
    assert!(
        0 < startup && startup < used,
        "startup {startup}, used {used}: {stats}"
    );
}

#[test]
fn maxmemory_clients_accepts_bytes_and_percentages_as_redis() {
    common::assert_replies_match_redis(
        &[],
        &[
            "CONFIG GET maxmemory-clients",
            "CONFIG SET maxmemory-clients 10%",
            "CONFIG GET maxmemory-clients",
            "CONFIG SET maxmemory-clients 3mb",
            "CONFIG GET maxmemory-clients",
            "CONFIG SET maxmemory-clients 101%",
            "CONFIG SET maxmemory-clients abc",
            "CONFIG SET maxmemory-clients -5",
            "CONFIG SET maxmemory-clients 0",
            "CLIENT NO-EVICT on",
            "CLIENT NO-EVICT maybe",
        ],
    );
}

#[test]
fn client_eviction_closes_the_biggest_client_but_not_a_no_evict_one() {
    let server = TestServer::start(&["--maxmemory-clients", "200kb"]);
    let mut admin = server.raw();
    assert_eq!(admin.cmd_str("CLIENT NO-EVICT on"), "+OK\r\n");
    // A client that sends most of a 300 KB argument and stops: its query buffer holds it.
    let mut hog = server.raw();
    let mut partial = b"*2\r\n$4\r\nECHO\r\n$300000\r\n".to_vec();
    partial.extend(std::iter::repeat_n(b'x', 250_000));
    hog.send(&partial);
    // Eviction runs before each command and before the loop sleeps.
    let deadline = Instant::now() + Duration::from_secs(5);
    while info_field(&mut admin, "stats", "evicted_clients") == 0 {
        assert!(Instant::now() < deadline, "the hog was not evicted");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(hog.read_to_close(), b"");
    assert_eq!(admin.cmd_str("PING"), "+PONG\r\n");
    assert_eq!(info_field(&mut admin, "stats", "evicted_keys"), 0);
}

#[test]
fn activedefrag_is_refused_as_redis_refuses_it_without_its_jemalloc() {
    // Debian's redis-server links the system jemalloc, without the defrag hint: the same
    // refusal as every ferrodis build.
    common::assert_replies_match_redis(
        &[],
        &[
            "CONFIG GET activedefrag",
            "CONFIG SET activedefrag yes",
            "CONFIG SET activedefrag maybe",
            "CONFIG SET activedefrag no",
            "CONFIG GET activedefrag",
            "CONFIG SET lazyfree-lazy-eviction yes",
            "CONFIG GET lazyfree-lazy-eviction",
            "CONFIG SET lazyfree-lazy-eviction maybe",
        ],
    );
}

#[test]
fn lazy_eviction_hands_big_values_to_the_lazy_free_queue() {
    let server = TestServer::start(&[
        "--maxmemory-policy",
        "allkeys-random",
        "--lazyfree-lazy-eviction",
        "yes",
    ]);
    let mut conn = server.raw();
    // Ten lists of 1,000 elements: each is past the lazy-free threshold of 64.
    for i in 0..10 {
        let mut args = vec!["RPUSH".to_string(), format!("list:{i}")];
        args.extend((0..1000).map(|n| format!("element-{n}")));
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        conn.send(&common::encode_command(&refs));
        assert_eq!(conn.read_reply(), b":1000\r\n");
    }
    conn.cmd_str("SET small v");
    let before = info_field(&mut conn, "memory", "lazyfreed_objects");
    assert_eq!(conn.cmd_str("CONFIG SET maxmemory 1"), "+OK\r\n");
    assert_eq!(conn.cmd_str("DBSIZE"), ":0\r\n");
    assert_eq!(info_field(&mut conn, "stats", "evicted_keys"), 11);
    // The ten lists went through the queue (freed by the loop since); the string did not.
    conn.cmd_str("CONFIG SET maxmemory 0");
    let deadline = Instant::now() + Duration::from_secs(5);
    while info_field(&mut conn, "memory", "lazyfreed_objects") < before + 10 {
        assert!(Instant::now() < deadline, "lists not freed lazily");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        info_field(&mut conn, "memory", "lazyfreed_objects"),
        before + 10
    );
}
