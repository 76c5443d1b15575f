//! Generic keyspace commands through the real binary: deletion, inspection, SCAN, renaming,
//! copying and moving keys, flushing, the EXPIRE family with lazy and active expiry, OBJECT and
//! MEMORY; then a differential run against a real redis-server when one is installed.

mod common;
use common::{
    assert_replies_match_redis, parse_resp, require_redis_server, RealRedis, Resp, TestServer,
};
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// The integer in a `:n` reply.
fn int(reply: &str) -> i64 {
    reply
        .strip_prefix(':')
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| panic!("not an integer reply: {reply:?}"))
}

/// The keys of a `*n` reply of bulk strings (KEYS, the second half of SCAN).
fn bulk_items(reply: &str) -> Vec<String> {
    reply
        .split("\r\n")
        .skip(1)
        .collect::<Vec<_>>()
        .chunks(2)
        .filter(|p| p.len() == 2 && p[0].starts_with('$'))
        .map(|p| p[1].to_string())
        .collect()
}

#[test]
fn del_unlink_and_the_delete_alias_count_removed_keys() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    c.cmd_str("MSET a 1 b 2 c 3 d 4");
    assert_eq!(c.cmd_str("DEL a b missing a"), ":2\r\n");
    assert_eq!(c.cmd_str("UNLINK c missing"), ":1\r\n");
    assert_eq!(c.cmd_str("DELETE d"), ":1\r\n");
    assert_eq!(c.cmd_str("DBSIZE"), ":0\r\n");
    assert_eq!(
        c.cmd_str("UNLINK"),
        "-ERR wrong number of arguments for 'unlink' command\r\n"
    );
}

#[test]
fn exists_type_and_touch() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    c.cmd_str("MSET a 1 b 2");
    assert_eq!(c.cmd_str("EXISTS a b missing a"), ":3\r\n");
    assert_eq!(c.cmd_str("TYPE a"), "+string\r\n");
    assert_eq!(c.cmd_str("TYPE missing"), "+none\r\n");
    assert_eq!(c.cmd_str("TOUCH a b missing"), ":2\r\n");
    if c.cmd_str("RPUSH l x") == ":1\r\n" {
        assert_eq!(c.cmd_str("TYPE l"), "+list\r\n");
    }
}

#[test]
fn keys_matches_glob_patterns() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    c.cmd_str("MSET hello 1 hallo 2 hxllo 3 heeeello 4 other 5");
    let set = |reply: String| bulk_items(&reply).into_iter().collect::<HashSet<_>>();
    let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<HashSet<_>>();
    assert_eq!(
        set(c.cmd_str("KEYS h?llo")),
        words(&["hello", "hallo", "hxllo"])
    );
    assert_eq!(
        set(c.cmd_str("KEYS h*llo")),
        words(&["hello", "hallo", "hxllo", "heeeello"])
    );
    assert_eq!(set(c.cmd_str("KEYS h[ae]llo")), words(&["hello", "hallo"]));
    assert_eq!(set(c.cmd_str("KEYS *")).len(), 5);
    assert_eq!(c.cmd_str("KEYS nomatch*"), "*0\r\n");
}

#[test]
fn scan_visits_every_key_once_the_cursor_returns_to_zero() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    let mut args: Vec<Vec<u8>> = vec![b"MSET".to_vec()];
    for i in 0..1000 {
        args.push(format!("key:{i}").into_bytes());
        args.push(b"v".to_vec());
    }
    assert_eq!(c.cmd_owned(&args), b"+OK\r\n");
    let mut seen = HashSet::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let reply = c.cmd_str(&format!("SCAN {cursor} COUNT 100"));
        let mut lines = reply.split("\r\n");
        assert_eq!(lines.next(), Some("*2"));
        lines.next();
        cursor = lines.next().unwrap().to_string();
        let rest: Vec<&str> = lines.collect();
        let keys = bulk_items(&rest.join("\r\n"));
        assert!(keys.len() <= 100);
        seen.extend(keys);
        calls += 1;
        if cursor == "0" {
            break;
        }
        assert!(calls < 100, "SCAN does not terminate");
    }
    assert_eq!(seen.len(), 1000);
}

#[test]
fn scan_filters_by_match_and_type_and_rejects_bad_arguments() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    c.cmd_str("MSET user:1 a user:2 b other c");
    let reply = c.cmd_str("SCAN 0 MATCH user:* COUNT 1000");
    assert!(reply.starts_with("*2\r\n$1\r\n0\r\n*2\r\n"), "{reply}");
    let keys: HashSet<String> = bulk_items(&reply[reply.find("\r\n*2\r\n").unwrap() + 2..])
        .into_iter()
        .filter(|k| k.starts_with("user:"))
        .collect();
    assert_eq!(keys.len(), 2);
    assert_eq!(
        c.cmd_str("SCAN 0 TYPE list COUNT 1000"),
        "*2\r\n$1\r\n0\r\n*0\r\n"
    );
    assert_eq!(
        c.cmd_str("SCAN 0 TYPE STRING COUNT 1000")
            .matches("$6\r\nuser:")
            .count(),
        2
    );
    assert_eq!(c.cmd_str("SCAN abc"), "-ERR invalid cursor\r\n");
    assert_eq!(c.cmd_str("SCAN 0 COUNT 0"), "-ERR syntax error\r\n");
    assert_eq!(
        c.cmd_str("SCAN 0 COUNT x"),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(c.cmd_str("SCAN 0 MATCH"), "-ERR syntax error\r\n");
    assert_eq!(c.cmd_str("SCAN 0 FOO bar"), "-ERR syntax error\r\n");
}

#[test]
fn randomkey_returns_a_key_or_null() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert_eq!(c.cmd_str("RANDOMKEY"), "$-1\r\n");
    c.cmd_str("SET only v");
    assert_eq!(c.cmd_str("RANDOMKEY"), "$4\r\nonly\r\n");
}

#[test]
fn rename_moves_the_value_and_its_ttl() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert_eq!(c.cmd_str("RENAME missing x"), "-ERR no such key\r\n");
    assert_eq!(c.cmd_str("RENAMENX missing x"), "-ERR no such key\r\n");
    c.cmd_str("SET a 1");
    assert_eq!(c.cmd_str("RENAME a a"), "+OK\r\n");
    assert_eq!(c.cmd_str("RENAMENX a a"), ":0\r\n");
    c.cmd_str("EXPIRE a 100");
    c.cmd_str("SET b 2");
    assert_eq!(c.cmd_str("RENAME a b"), "+OK\r\n");
    assert_eq!(c.cmd_str("GET b"), "$1\r\n1\r\n");
    c.assert_ttl("b", 100);
    assert_eq!(c.cmd_str("EXISTS a"), ":0\r\n");
    c.cmd_str("SET c 3");
    assert_eq!(c.cmd_str("RENAMENX b c"), ":0\r\n");
    assert_eq!(c.cmd_str("RENAMENX b d"), ":1\r\n");
    assert_eq!(c.cmd_str("MGET b d"), "*2\r\n$-1\r\n$1\r\n1\r\n");
}

#[test]
fn copy_duplicates_within_and_across_databases() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    c.cmd_str("SET src v");
    c.cmd_str("EXPIRE src 100");
    assert_eq!(c.cmd_str("COPY src dst"), ":1\r\n");
    assert_eq!(c.cmd_str("GET dst"), "$1\r\nv\r\n");
    c.assert_ttl("dst", 100);
    c.cmd_str("SET src w");
    assert_eq!(c.cmd_str("COPY src dst"), ":0\r\n");
    assert_eq!(c.cmd_str("COPY src dst REPLACE"), ":1\r\n");
    assert_eq!(c.cmd_str("GET dst"), "$1\r\nw\r\n");
    assert_eq!(c.cmd_str("TTL dst"), ":-1\r\n");
    assert_eq!(c.cmd_str("COPY missing x"), ":0\r\n");
    assert_eq!(c.cmd_str("COPY src src DB 1"), ":1\r\n");
    assert_eq!(
        c.cmd_str("COPY src src"),
        "-ERR source and destination objects are the same\r\n"
    );
    assert_eq!(
        c.cmd_str("COPY src x DB 99"),
        "-ERR DB index is out of range\r\n"
    );
    assert_eq!(
        c.cmd_str("COPY src x DB abc"),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(c.cmd_str("COPY src x DB"), "-ERR syntax error\r\n");
    assert_eq!(c.cmd_str("COPY src x FOO"), "-ERR syntax error\r\n");
    c.cmd_str("SELECT 1");
    assert_eq!(c.cmd_str("GET src"), "$1\r\nw\r\n");
    if c.cmd_str("RPUSH l a") == ":1\r\n" {
        // A collection is copied deeply: changing the copy leaves the original alone.
        assert_eq!(c.cmd_str("COPY l l2"), ":1\r\n");
        c.cmd_str("RPUSH l2 b");
        assert_eq!(c.cmd_str("LLEN l"), ":1\r\n");
        assert_eq!(c.cmd_str("LLEN l2"), ":2\r\n");
    }
}

#[test]
fn move_transfers_a_key_to_another_database() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    c.cmd_str("SET k v");
    c.cmd_str("EXPIRE k 100");
    assert_eq!(
        c.cmd_str("MOVE k 0"),
        "-ERR source and destination objects are the same\r\n"
    );
    assert_eq!(c.cmd_str("MOVE k 99"), "-ERR DB index is out of range\r\n");
    assert_eq!(
        c.cmd_str("MOVE k x"),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(c.cmd_str("MOVE missing 1"), ":0\r\n");
    assert_eq!(c.cmd_str("MOVE k 1"), ":1\r\n");
    assert_eq!(c.cmd_str("EXISTS k"), ":0\r\n");
    c.cmd_str("SET k again");
    assert_eq!(c.cmd_str("MOVE k 1"), ":0\r\n");
    c.cmd_str("SELECT 1");
    assert_eq!(c.cmd_str("GET k"), "$1\r\nv\r\n");
    c.assert_ttl("k", 100);
}

#[test]
fn swapdb_exchanges_two_databases_for_every_client() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    let mut other = server.raw();
    c.cmd_str("SET in0 a");
    other.cmd_str("SELECT 1");
    other.cmd_str("MSET in1 b in1b c");
    assert_eq!(c.cmd_str("SWAPDB 0 1"), "+OK\r\n");
    assert_eq!(c.cmd_str("DBSIZE"), ":2\r\n");
    assert_eq!(c.cmd_str("GET in1"), "$1\r\nb\r\n");
    assert_eq!(other.cmd_str("GET in0"), "$1\r\na\r\n");
    assert_eq!(c.cmd_str("SWAPDB 0 0"), "+OK\r\n");
    assert_eq!(c.cmd_str("SWAPDB x 0"), "-ERR invalid first DB index\r\n");
    assert_eq!(c.cmd_str("SWAPDB 0 x"), "-ERR invalid second DB index\r\n");
    assert_eq!(
        c.cmd_str("SWAPDB 0 99"),
        "-ERR DB index is out of range\r\n"
    );
    assert_eq!(
        c.cmd_str("SWAPDB -1 0"),
        "-ERR DB index is out of range\r\n"
    );
}

#[test]
fn flushdb_and_flushall_empty_databases() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    c.cmd_str("SET a 1");
    c.cmd_str("SELECT 1");
    c.cmd_str("SET b 2");
    assert_eq!(c.cmd_str("FLUSHDB"), "+OK\r\n");
    assert_eq!(c.cmd_str("DBSIZE"), ":0\r\n");
    c.cmd_str("SELECT 0");
    assert_eq!(c.cmd_str("DBSIZE"), ":1\r\n");
    assert_eq!(c.cmd_str("FLUSHDB foo"), "-ERR syntax error\r\n");
    assert_eq!(c.cmd_str("FLUSHDB SYNC extra"), "-ERR syntax error\r\n");
    assert_eq!(c.cmd_str("FLUSH async"), "+OK\r\n");
    assert_eq!(c.cmd_str("DBSIZE"), ":0\r\n");
    c.cmd_str("SET a 1");
    c.cmd_str("SELECT 2");
    c.cmd_str("SET c 1");
    assert_eq!(c.cmd_str("FLUSHALL ASYNC"), "+OK\r\n");
    assert_eq!(c.cmd_str("DBSIZE"), ":0\r\n");
    c.cmd_str("SELECT 0");
    assert_eq!(c.cmd_str("DBSIZE"), ":0\r\n");
    assert_eq!(c.cmd_str("FLUSHALL SYNC"), "+OK\r\n");
    assert_eq!(c.cmd_str("FLUSHALL x"), "-ERR syntax error\r\n");
}

#[test]
fn expire_options_and_errors_match_redis() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    c.cmd_str("SET k v");
    assert_eq!(
        c.cmd_str("EXPIRE k 10 NX XX"),
        "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n"
    );
    assert_eq!(
        c.cmd_str("EXPIRE k 10 GT LT"),
        "-ERR GT and LT options at the same time are not compatible\r\n"
    );
    assert_eq!(
        c.cmd_str("EXPIRE k 10 foo"),
        "-ERR Unsupported option foo\r\n"
    );
    assert_eq!(
        c.cmd_str("EXPIRE k 99999999999999999"),
        "-ERR invalid expire time in 'expire' command\r\n"
    );
    assert_eq!(
        c.cmd_str("PEXPIRE k 9223372036854775807"),
        "-ERR invalid expire time in 'pexpire' command\r\n"
    );
    assert_eq!(
        c.cmd_str("EXPIREAT k 9223372036854775807"),
        "-ERR invalid expire time in 'expireat' command\r\n"
    );
    assert_eq!(
        c.cmd_str("EXPIRE k abc"),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(c.cmd_str("EXPIRE missing 10"), ":0\r\n");
    // XX and GT need an existing TTL; NX needs none; LT passes against "no TTL" (infinity).
    assert_eq!(c.cmd_str("EXPIRE k 100 XX"), ":0\r\n");
    assert_eq!(c.cmd_str("EXPIRE k 100 GT"), ":0\r\n");
    assert_eq!(c.cmd_str("EXPIRE k 100 NX"), ":1\r\n");
    assert_eq!(c.cmd_str("EXPIRE k 200 NX"), ":0\r\n");
    assert_eq!(c.cmd_str("EXPIRE k 50 GT"), ":0\r\n");
    assert_eq!(c.cmd_str("EXPIRE k 500 GT"), ":1\r\n");
    assert_eq!(c.cmd_str("EXPIRE k 600 LT"), ":0\r\n");
    assert_eq!(c.cmd_str("EXPIRE k 50 LT"), ":1\r\n");
    c.assert_ttl("k", 50);
    assert_eq!(c.cmd_str("PERSIST k"), ":1\r\n");
    assert_eq!(c.cmd_str("EXPIRE k 70 LT"), ":1\r\n");
    c.assert_ttl("k", 70);
    assert_eq!(c.cmd_str("EXPIRE k 80 XX"), ":1\r\n");
    c.assert_ttl("k", 80);
}

#[test]
fn ttl_family_reports_missing_persistent_and_volatile_keys() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    for cmd in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
        assert_eq!(c.cmd_str(&format!("{cmd} missing")), ":-2\r\n");
    }
    c.cmd_str("SET k v");
    for cmd in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
        assert_eq!(c.cmd_str(&format!("{cmd} k")), ":-1\r\n");
    }
    assert_eq!(c.cmd_str("EXPIREAT k 9999999999"), ":1\r\n");
    assert_eq!(c.cmd_str("EXPIRETIME k"), ":9999999999\r\n");
    assert_eq!(c.cmd_str("PEXPIRETIME k"), ":9999999999000\r\n");
    assert_eq!(c.cmd_str("PEXPIREAT k 9999999999123"), ":1\r\n");
    assert_eq!(c.cmd_str("PEXPIRETIME k"), ":9999999999123\r\n");
    assert_eq!(c.cmd_str("EXPIRETIME k"), ":9999999999\r\n");
    assert_eq!(c.cmd_str("PEXPIRE k 100000"), ":1\r\n");
    let pttl = int(&c.cmd_str("PTTL k"));
    assert!((99_000..=100_000).contains(&pttl), "{pttl}");
    c.assert_ttl("k", 100);
    assert_eq!(c.cmd_str("PERSIST k"), ":1\r\n");
    assert_eq!(c.cmd_str("PERSIST k"), ":0\r\n");
    assert_eq!(c.cmd_str("PERSIST missing"), ":0\r\n");
    assert_eq!(c.cmd_str("TTL k"), ":-1\r\n");
}

#[test]
fn an_expire_time_in_the_past_deletes_the_key_and_replies_one() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    for cmd in [
        "EXPIRE k -1",
        "PEXPIRE k 0",
        "EXPIREAT k 1",
        "PEXPIREAT k 1",
    ] {
        c.cmd_str("SET k v");
        assert_eq!(c.cmd_str(cmd), ":1\r\n", "{cmd}");
        assert_eq!(c.cmd_str("EXISTS k"), ":0\r\n", "{cmd}");
    }
}

#[test]
fn expired_keys_are_removed_lazily_on_access() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    c.cmd_str("SET k v PX 50");
    c.cmd_str("SET k2 v PX 50");
    assert_eq!(c.cmd_str("EXISTS k"), ":1\r\n");
    std::thread::sleep(Duration::from_millis(120));
    assert_eq!(c.cmd_str("GET k"), "$-1\r\n");
    assert_eq!(c.cmd_str("EXISTS k2"), ":0\r\n");
    assert_eq!(c.cmd_str("TTL k2"), ":-2\r\n");
    assert_eq!(c.cmd_str("KEYS *"), "*0\r\n");
}

#[test]
fn expired_keys_are_removed_actively_without_being_touched() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    for i in 0..200 {
        assert_eq!(c.cmd_str(&format!("SET key:{i} v PX 50")), "+OK\r\n");
    }
    c.cmd_str("SET survivor v");
    // DBSIZE does not look keys up, so only the background cycle (10 times a second) can
    // bring the count down.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let n = int(&c.cmd_str("DBSIZE"));
        if n == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "{n} keys left after 5s");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(c.cmd_str("GET survivor"), "$1\r\nv\r\n");
}

#[test]
fn object_reports_encoding_refcount_and_idle_time() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    c.cmd_str("SET num 123");
    c.cmd_str("SET big 12345");
    c.cmd_str("SET short hello");
    c.cmd_str("SET long aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    assert_eq!(c.cmd_str("OBJECT ENCODING num"), "$3\r\nint\r\n");
    assert_eq!(c.cmd_str("OBJECT ENCODING short"), "$6\r\nembstr\r\n");
    assert_eq!(c.cmd_str("OBJECT ENCODING long"), "$3\r\nraw\r\n");
    assert_eq!(c.cmd_str("OBJECT ENCODING missing"), "$-1\r\n");
    assert_eq!(c.cmd_str("object encoding num"), "$3\r\nint\r\n");
    assert_eq!(c.cmd_str("OBJECT REFCOUNT num"), ":2147483647\r\n");
    assert_eq!(c.cmd_str("OBJECT REFCOUNT big"), ":1\r\n");
    assert_eq!(c.cmd_str("OBJECT REFCOUNT missing"), "$-1\r\n");
    assert_eq!(c.cmd_str("OBJECT IDLETIME num"), ":0\r\n");
    assert_eq!(
        c.cmd_str("OBJECT FREQ num"),
        "-ERR An LFU maxmemory policy is not selected, access frequency not tracked. \
         Please note that when switching between policies at runtime LRU and LFU data \
         will take some time to adjust.\r\n"
    );
    assert_eq!(
        c.cmd_str("OBJECT FOO num"),
        "-ERR unknown subcommand 'FOO'. Try OBJECT HELP.\r\n"
    );
    assert_eq!(
        c.cmd_str("OBJECT"),
        "-ERR wrong number of arguments for 'object' command\r\n"
    );
    assert_eq!(
        c.cmd_str("OBJECT ENCODING"),
        "-ERR wrong number of arguments for 'object|encoding' command\r\n"
    );
    let help = c.cmd_str("OBJECT HELP");
    assert!(help.starts_with(
        "*15\r\n+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"
    ));
    assert!(help.ends_with("+HELP\r\n+    Prints this help.\r\n"));
}

#[test]
fn object_idletime_grows_and_object_does_not_reset_it() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    c.cmd_str("SET k v");
    std::thread::sleep(Duration::from_millis(1100));
    // OBJECT itself must not count as an access.
    assert!(int(&c.cmd_str("OBJECT IDLETIME k")) >= 1);
    assert!(int(&c.cmd_str("OBJECT IDLETIME k")) >= 1);
    c.cmd_str("GET k");
    assert_eq!(c.cmd_str("OBJECT IDLETIME k"), ":0\r\n");
}

#[test]
fn object_freq_works_under_an_lfu_policy() {
    let server = TestServer::start(&["--maxmemory-policy", "allkeys-lfu"]);
    let mut c = server.raw();
    c.cmd_str("SET k v");
    assert!(c.cmd_str("OBJECT FREQ k").starts_with(':'));
    assert!(c
        .cmd_str("OBJECT IDLETIME k")
        .starts_with("-ERR An LFU maxmemory policy is selected"));
}

#[test]
fn memory_usage_and_friends() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    c.cmd_str("SET k v");
    assert!(int(&c.cmd_str("MEMORY USAGE k")) > 0);
    assert!(int(&c.cmd_str("MEMORY USAGE k SAMPLES 0")) > 0);
    assert_eq!(c.cmd_str("MEMORY USAGE missing"), "$-1\r\n");
    assert_eq!(
        c.cmd_str("MEMORY USAGE k SAMPLES -1"),
        "-ERR syntax error\r\n"
    );
    assert_eq!(c.cmd_str("MEMORY USAGE k SAMPLES"), "-ERR syntax error\r\n");
    assert_eq!(c.cmd_str("MEMORY USAGE k FOO"), "-ERR syntax error\r\n");
    assert_eq!(
        c.cmd_str("MEMORY USAGE k SAMPLES x"),
        "-ERR value is not an integer or out of range\r\n"
    );
    let big = "x".repeat(10_000);
    c.cmd(&[b"SET", b"big", big.as_bytes()]);
    assert!(int(&c.cmd_str("MEMORY USAGE big")) >= 10_000);
    assert!(c.cmd_str("MEMORY DOCTOR").starts_with("$"));
    assert!(c
        .cmd_str("MEMORY STATS")
        .contains("$10\r\nkeys.count\r\n:2\r\n"));
    assert_eq!(c.cmd_str("MEMORY PURGE"), "+OK\r\n");
    assert!(c.cmd_str("MEMORY HELP").starts_with(
        "*14\r\n+MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"
    ));
    assert_eq!(
        c.cmd_str("MEMORY FOO"),
        "-ERR unknown subcommand 'FOO'. Try MEMORY HELP.\r\n"
    );
}

/// Commands whose replies are deterministic, run against both servers byte for byte.
const DIFFERENTIAL_SCRIPT: &[&str] = &[
    "MSET a 1 b 2 c 3 hello x hallo y",
    "EXISTS a b nokey a",
    "TOUCH a b nokey",
    "UNLINK a nokey",
    "TYPE b",
    "TYPE nokey",
    "RENAME nokey x",
    "RENAMENX c c",
    "RENAME c d",
    "RENAMENX d hello",
    "SET t v EX 100",
    "RENAME t t2",
    "TTL t2",
    "COPY t2 t2",
    "COPY t2 t3",
    "TTL t3",
    "COPY t2 t3 REPLACE",
    "COPY t2 t4 DB 1",
    "COPY t2 t4 DB 99",
    "COPY t2 t2 DB 1",
    "MOVE t2 0",
    "MOVE t2 1",
    "MOVE t2 1",
    "SWAPDB 0 1",
    "DBSIZE",
    "SWAPDB 0 1",
    "SET e v",
    "EXPIRE e 100 XX",
    "EXPIRE e 100 NX",
    "EXPIRE e 50 GT",
    "EXPIRE e 500 GT",
    "EXPIRE e 50 LT",
    "TTL e",
    "EXPIRE e 10 lt gt",
    "EXPIRE e 10 nx gt",
    "PEXPIREAT e -9223372036854775808",
    "EXISTS e",
    "EXPIRETIME hello",
    "OBJECT ENCODING hello",
    "OBJECT REFCOUNT b",
    "OBJECT FREQ b",
    "OBJECT HELP",
    "MEMORY HELP",
    "MEMORY USAGE nokey",
    "SCAN 0 TYPE foo",
    "FLUSHDB ASYNC",
    "DBSIZE",
    "FLUSHALL",
    "RANDOMKEY",
];

#[test]
fn keyspace_replies_match_real_redis_byte_for_byte() {
    assert_replies_match_redis(&[], DIFFERENTIAL_SCRIPT);
}

/// SCAN, HSCAN, SSCAN and ZSCAN share one cursor parser (Redis's `strtoul`: a sign, leading
/// zeros and a wrapping `-1` are accepted) and one option parser (TYPE for SCAN only), and a
/// missing key answers an empty scan before its options are read, as in Redis.
#[test]
fn scan_family_cursors_and_options_match_real_redis() {
    assert_replies_match_redis(
        &[],
        &[
            "SCAN +0",
            "SCAN 007",
            "SCAN -1",
            "SCAN 18446744073709551615",
            "SCAN 18446744073709551616",
            "SCAN 1x",
            "ZADD z 1 a",
            "HSET h f v",
            "SADD s m",
            "SET k v",
            "SCAN +0 TYPE zset",
            "SCAN 0 TYPE",
            "SCAN 0 COUNT 0",
            "ZSCAN z +0",
            "ZSCAN z -1",
            "ZSCAN z 007",
            "ZSCAN z +x",
            "ZSCAN nokey 0 COUNT 0",
            "ZSCAN nokey 0 BAD",
            "ZSCAN z 0 COUNT 0",
            "ZSCAN k 0",
            "HSCAN h 0 TYPE hash",
            "SSCAN s 0 TYPE set",
            "ZSCAN z 0 TYPE zset",
        ],
    );
}

#[test]
fn resp3_replies_use_nulls_and_verbatim_text() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert!(c.cmd_str("HELLO 3").starts_with('%'));
    assert_eq!(c.cmd_str("RANDOMKEY"), "_\r\n");
    assert_eq!(c.cmd_str("OBJECT ENCODING missing"), "_\r\n");
    assert_eq!(c.cmd_str("MEMORY USAGE missing"), "_\r\n");
    assert!(c.cmd_str("MEMORY DOCTOR").starts_with("="));
    assert!(c.cmd_str("MEMORY STATS").starts_with("%"));
}

/// Checks one table row (and its subcommands) against `COMMAND INFO`'s entry for it.
fn check_row(spec: &ferrodis::command::table::CommandSpec, info: &Resp) {
    use ferrodis::command::table::flags::NAMES;
    let Resp::List(fields) = info else {
        panic!("{}: not in redis's COMMAND INFO", spec.name)
    };
    let int = |i: usize| match &fields[i] {
        Resp::Int(n) => *n,
        other => panic!("{other:?}"),
    };
    assert_eq!(int(1), spec.arity as i64, "arity of {}", spec.name);
    let ((first, last, step), _) = ferrodis::command::keyspec::legacy_range(spec.key_specs);
    assert_eq!(
        (int(3), int(4), int(5)),
        (first as i64, last as i64, step as i64),
        "key positions of {}",
        spec.name
    );
    let Resp::List(flags) = &fields[2] else {
        panic!()
    };
    let theirs: HashSet<String> = flags
        .iter()
        .filter_map(|f| match f {
            Resp::Str(s) => Some(s.clone()),
            _ => None,
        })
        // Flags ferrodis does not model.
        .filter(|f| NAMES.iter().any(|(_, name)| name == f))
        .collect();
    let ours: HashSet<String> = NAMES
        .iter()
        .filter(|(bit, _)| spec.has(*bit))
        .map(|(_, name)| name.to_string())
        .collect();
    assert_eq!(ours, theirs, "flags of {}", spec.name);
    if !spec.subcommands.is_empty() {
        let Resp::List(subs) = &fields[9] else {
            panic!("{}: no subcommands in redis", spec.name)
        };
        for sub in spec.subcommands {
            let theirs = subs
                .iter()
                .find(|s| matches!(s, Resp::List(f) if matches!(&f[0], Resp::Str(n) if n == sub.name)))
                .unwrap_or_else(|| panic!("{} unknown to redis", sub.name));
            check_row(sub, theirs);
        }
    }
}

#[test]
fn command_rows_match_redis_command_info() {
    if !require_redis_server() {
        return;
    }
    let real = RealRedis::start(&[]);
    let mut c = real.raw();
    let rows = ferrodis::command::string::COMMANDS
        .iter()
        .chain(ferrodis::command::keyspace::COMMANDS);
    for spec in rows {
        // The seed's aliases are not Redis commands.
        if spec.name == "delete" || spec.name == "flush" {
            continue;
        }
        let reply = c.cmd(&[b"COMMAND", b"INFO", spec.name.as_bytes()]);
        let Resp::List(entries) = parse_resp(&reply, &mut 0) else {
            panic!()
        };
        check_row(spec, &entries[0]);
    }
}

#[test]
fn unlink_and_flushall_async_free_big_values_in_the_background() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    // A collection big enough to be freed lazily (more than 64 elements).
    let mut args: Vec<Vec<u8>> = vec![b"RPUSH".to_vec(), b"big".to_vec()];
    args.extend((0..1000).map(|i| format!("e{i}").into_bytes()));
    assert_eq!(c.cmd_owned(&args), b":1000\r\n");
    assert_eq!(c.cmd_str("UNLINK big missing"), ":1\r\n");
    assert_eq!(c.cmd_str("EXISTS big"), ":0\r\n");
    for i in 0..5000 {
        c.send_cmd(&[b"SET", format!("k{i}").as_bytes(), b"v"]);
    }
    for _ in 0..5000 {
        assert_eq!(c.read_reply(), b"+OK\r\n");
    }
    assert_eq!(c.cmd_str("FLUSHALL ASYNC"), "+OK\r\n");
    assert_eq!(c.cmd_str("DBSIZE"), ":0\r\n");
    // The loop finishes the job within a few turns; INFO reports it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let info = c.cmd_str("INFO memory");
        if info.contains("lazyfree_pending_objects:0\r\n") {
            assert!(info.contains("lazyfreed_objects:5001\r\n"), "{info}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "lazy free never finished: {info}"
        );
    }
    assert_eq!(c.cmd_str("FLUSHALL SYNC"), "+OK\r\n");
    assert_eq!(c.cmd_str("FLUSHDB LAZY"), "-ERR syntax error\r\n");
}
