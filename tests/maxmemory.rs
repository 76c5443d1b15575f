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
