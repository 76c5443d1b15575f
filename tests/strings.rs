//! String commands through the real binary: exact replies and error strings, then a
//! differential run against a real redis-server when one is installed.

mod common;
use common::{assert_replies_match_redis, RawConn, TestServer, WRONGTYPE};

/// Creates a one-element list at `key` (for the WRONGTYPE checks).
fn make_list(c: &mut RawConn, key: &str) {
    assert_eq!(c.cmd_str(&format!("RPUSH {key} x")), ":1\r\n");
}

#[test]
fn setnx_only_sets_a_missing_key() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert_eq!(c.cmd_str("SETNX k v1"), ":1\r\n");
    assert_eq!(c.cmd_str("SETNX k v2"), ":0\r\n");
    assert_eq!(c.cmd_str("GET k"), "$2\r\nv1\r\n");
    assert_eq!(
        c.cmd_str("SETNX k"),
        "-ERR wrong number of arguments for 'setnx' command\r\n"
    );
}

#[test]
fn setex_and_psetex_set_a_ttl_and_refuse_non_positive_times() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert_eq!(c.cmd_str("SETEX k 100 v"), "+OK\r\n");
    c.assert_ttl("k", 100);
    assert_eq!(c.cmd_str("PSETEX p 100000 v"), "+OK\r\n");
    let pttl: i64 = c.cmd_str("PTTL p")[1..].trim().parse().unwrap();
    assert!((99_000..=100_000).contains(&pttl), "{pttl}");
    assert_eq!(
        c.cmd_str("SETEX k 0 v"),
        "-ERR invalid expire time in 'setex' command\r\n"
    );
    assert_eq!(
        c.cmd_str("PSETEX k -1 v"),
        "-ERR invalid expire time in 'psetex' command\r\n"
    );
    assert_eq!(
        c.cmd_str("SETEX k abc v"),
        "-ERR value is not an integer or out of range\r\n"
    );
    // The failed calls left the key as it was.
    assert_eq!(c.cmd_str("GET k"), "$1\r\nv\r\n");
}

#[test]
fn set_options_follow_redis_conflict_rules() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    // Repeating the same option is allowed; the last expire argument wins.
    assert_eq!(c.cmd_str("SET k v EX abc EX 100"), "+OK\r\n");
    c.assert_ttl("k", 100);
    assert_eq!(c.cmd_str("SET k v NX NX"), "$-1\r\n");
    assert_eq!(c.cmd_str("SET k v EX 10 PX 20"), "-ERR syntax error\r\n");
    assert_eq!(c.cmd_str("SET k v NX XX"), "-ERR syntax error\r\n");
    assert_eq!(c.cmd_str("SET k v KEEPTTL EX 10"), "-ERR syntax error\r\n");
    assert_eq!(c.cmd_str("SET k v EX"), "-ERR syntax error\r\n");
    assert_eq!(
        c.cmd_str("SET k v EX 0"),
        "-ERR invalid expire time in 'set' command\r\n"
    );
    assert_eq!(c.cmd_str("SET k v2 KEEPTTL GET"), "$1\r\nv\r\n");
    c.assert_ttl("k", 100);
    assert_eq!(c.cmd_str("SET k v3 XX"), "+OK\r\n");
    assert_eq!(c.cmd_str("TTL k"), ":-1\r\n");
    assert_eq!(c.cmd_str("SET missing v XX GET"), "$-1\r\n");
    assert_eq!(c.cmd_str("EXISTS missing"), ":0\r\n");
}

#[test]
fn getset_returns_the_old_value_and_clears_the_ttl() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert_eq!(c.cmd_str("GETSET k a"), "$-1\r\n");
    assert_eq!(c.cmd_str("EXPIRE k 100"), ":1\r\n");
    assert_eq!(c.cmd_str("GETSET k b"), "$1\r\na\r\n");
    assert_eq!(c.cmd_str("GET k"), "$1\r\nb\r\n");
    assert_eq!(c.cmd_str("TTL k"), ":-1\r\n");
    make_list(&mut c, "l");
    assert_eq!(c.cmd_str("GETSET l x"), WRONGTYPE);
}

#[test]
fn getdel_returns_the_value_and_deletes_the_key() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    c.cmd_str("SET k v");
    assert_eq!(c.cmd_str("GETDEL k"), "$1\r\nv\r\n");
    assert_eq!(c.cmd_str("EXISTS k"), ":0\r\n");
    assert_eq!(c.cmd_str("GETDEL k"), "$-1\r\n");
    make_list(&mut c, "l");
    assert_eq!(c.cmd_str("GETDEL l"), WRONGTYPE);
    assert_eq!(c.cmd_str("EXISTS l"), ":1\r\n");
}

#[test]
fn getex_changes_or_removes_the_ttl() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    c.cmd_str("SET k v");
    assert_eq!(c.cmd_str("GETEX k"), "$1\r\nv\r\n");
    assert_eq!(c.cmd_str("TTL k"), ":-1\r\n");
    assert_eq!(c.cmd_str("GETEX k EX 100"), "$1\r\nv\r\n");
    c.assert_ttl("k", 100);
    assert_eq!(c.cmd_str("GETEX k PERSIST"), "$1\r\nv\r\n");
    assert_eq!(c.cmd_str("TTL k"), ":-1\r\n");
    assert_eq!(c.cmd_str("GETEX k PX 100000"), "$1\r\nv\r\n");
    assert_eq!(c.cmd_str("GETEX k EXAT 99999999999"), "$1\r\nv\r\n");
    assert_eq!(c.cmd_str("EXPIRETIME k"), ":99999999999\r\n");
    assert_eq!(c.cmd_str("GETEX k PXAT 99999999999000"), "$1\r\nv\r\n");
    assert_eq!(c.cmd_str("EXPIRETIME k"), ":99999999999\r\n");
    // An absolute time in the past deletes the key after replying with it.
    assert_eq!(c.cmd_str("GETEX k PXAT 1"), "$1\r\nv\r\n");
    assert_eq!(c.cmd_str("EXISTS k"), ":0\r\n");
    assert_eq!(c.cmd_str("GETEX k EX 10"), "$-1\r\n");
    c.cmd_str("SET k v");
    assert_eq!(c.cmd_str("GETEX k PERSIST EX 10"), "-ERR syntax error\r\n");
    assert_eq!(c.cmd_str("GETEX k EX 10 PERSIST"), "-ERR syntax error\r\n");
    assert_eq!(c.cmd_str("GETEX k KEEPTTL"), "-ERR syntax error\r\n");
    assert_eq!(c.cmd_str("GETEX k NX"), "-ERR syntax error\r\n");
    assert_eq!(
        c.cmd_str("GETEX k EX 0"),
        "-ERR invalid expire time in 'getex' command\r\n"
    );
    assert_eq!(
        c.cmd_str("GETEX k EX 9223372036854775807"),
        "-ERR invalid expire time in 'getex' command\r\n"
    );
    assert_eq!(c.cmd_str("TTL k"), ":-1\r\n");
}

#[test]
fn mget_mset_and_msetnx() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert_eq!(c.cmd_str("MSET a 1 b 2 a 3"), "+OK\r\n");
    assert_eq!(
        c.cmd_str("MGET a b missing"),
        "*3\r\n$1\r\n3\r\n$1\r\n2\r\n$-1\r\n"
    );
    assert_eq!(
        c.cmd_str("MSET a 1 b"),
        "-ERR wrong number of arguments for 'mset' command\r\n"
    );
    assert_eq!(
        c.cmd_str("MSETNX a 1 b"),
        "-ERR wrong number of arguments for 'msetnx' command\r\n"
    );
    assert_eq!(c.cmd_str("MSETNX a x new y"), ":0\r\n");
    assert_eq!(c.cmd_str("EXISTS new"), ":0\r\n");
    assert_eq!(c.cmd_str("MSETNX new1 x new2 y"), ":1\r\n");
    assert_eq!(c.cmd_str("MGET new1 new2"), "*2\r\n$1\r\nx\r\n$1\r\ny\r\n");
    make_list(&mut c, "l");
    // MGET never fails: a key of another type reads as null.
    assert_eq!(c.cmd_str("MGET l a"), "*2\r\n$-1\r\n$1\r\n3\r\n");
}

#[test]
fn append_and_strlen() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert_eq!(c.cmd_str("APPEND k Hello"), ":5\r\n");
    assert_eq!(
        c.cmd_str("APPEND k ,World-and-a-long-tail-past-the-inline-size"),
        ":48\r\n"
    );
    assert_eq!(
        c.cmd_str("GET k"),
        "$48\r\nHello,World-and-a-long-tail-past-the-inline-size\r\n"
    );
    assert_eq!(c.cmd_str("STRLEN k"), ":48\r\n");
    assert_eq!(c.cmd_str("STRLEN missing"), ":0\r\n");
    // APPEND keeps the TTL.
    c.cmd_str("EXPIRE k 100");
    c.cmd_str("APPEND k !");
    c.assert_ttl("k", 100);
    make_list(&mut c, "l");
    assert_eq!(c.cmd_str("APPEND l x"), WRONGTYPE);
    assert_eq!(c.cmd_str("STRLEN l"), WRONGTYPE);
}

#[test]
fn incr_family_counts_and_refuses_non_integers_and_overflow() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert_eq!(c.cmd_str("INCR n"), ":1\r\n");
    assert_eq!(c.cmd_str("INCRBY n 10"), ":11\r\n");
    assert_eq!(c.cmd_str("DECR n"), ":10\r\n");
    assert_eq!(c.cmd_str("DECRBY n 20"), ":-10\r\n");
    assert_eq!(c.cmd_str("INCRBY n -5"), ":-15\r\n");
    assert_eq!(c.cmd_str("GET n"), "$3\r\n-15\r\n");
    assert_eq!(c.cmd_str("DECR fresh"), ":-1\r\n");
    let not_int = "-ERR value is not an integer or out of range\r\n";
    assert_eq!(c.cmd_str("INCRBY n abc"), not_int);
    assert_eq!(c.cmd_str("INCRBY n 1.5"), not_int);
    assert_eq!(c.cmd_str("INCRBY n 9223372036854775808"), not_int);
    c.cmd_str("SET s abc");
    assert_eq!(c.cmd_str("INCR s"), not_int);
    c.cmd_str("SET s 01");
    assert_eq!(c.cmd_str("INCR s"), not_int);
    c.cmd_str("SET big 9223372036854775807");
    assert_eq!(
        c.cmd_str("INCR big"),
        "-ERR increment or decrement would overflow\r\n"
    );
    c.cmd_str("SET small -9223372036854775808");
    assert_eq!(
        c.cmd_str("DECR small"),
        "-ERR increment or decrement would overflow\r\n"
    );
    assert_eq!(
        c.cmd_str("DECRBY n -9223372036854775808"),
        "-ERR decrement would overflow\r\n"
    );
    // The TTL survives an increment.
    c.cmd_str("EXPIRE n 100");
    c.cmd_str("INCR n");
    c.assert_ttl("n", 100);
    make_list(&mut c, "l");
    assert_eq!(c.cmd_str("INCR l"), WRONGTYPE);
}

#[test]
fn incrbyfloat_prints_human_doubles_and_refuses_infinity() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    c.cmd_str("SET f 10.50");
    assert_eq!(c.cmd_str("INCRBYFLOAT f 0.1"), "$4\r\n10.6\r\n");
    assert_eq!(c.cmd_str("INCRBYFLOAT f -5"), "$3\r\n5.6\r\n");
    c.cmd_str("SET f 5.0e3");
    assert_eq!(c.cmd_str("INCRBYFLOAT f 2.0e2"), "$4\r\n5200\r\n");
    assert_eq!(c.cmd_str("INCRBYFLOAT new 3"), "$1\r\n3\r\n");
    assert_eq!(
        c.cmd_str("INCRBYFLOAT f abc"),
        "-ERR value is not a valid float\r\n"
    );
    c.cmd_str("SET s abc");
    assert_eq!(
        c.cmd_str("INCRBYFLOAT s 1"),
        "-ERR value is not a valid float\r\n"
    );
    // Redis adds in `long double`, which only overflows past 1.19e4932.
    c.cmd_str("SET huge 1.1e4932");
    assert_eq!(
        c.cmd_str("INCRBYFLOAT huge 1.1e4932"),
        "-ERR increment would produce NaN or Infinity\r\n"
    );
    assert_eq!(c.cmd_str("GET huge"), "$8\r\n1.1e4932\r\n");
}

#[test]
fn getrange_and_substr_clamp_like_redis() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    c.cmd_str("SET k This-is-a-string");
    assert_eq!(c.cmd_str("GETRANGE k 0 3"), "$4\r\nThis\r\n");
    assert_eq!(c.cmd_str("GETRANGE k -3 -1"), "$3\r\ning\r\n");
    assert_eq!(c.cmd_str("GETRANGE k 0 -1"), "$16\r\nThis-is-a-string\r\n");
    assert_eq!(c.cmd_str("GETRANGE k 10 100"), "$6\r\nstring\r\n");
    assert_eq!(c.cmd_str("GETRANGE k -1 -5"), "$0\r\n\r\n");
    assert_eq!(c.cmd_str("GETRANGE k 5 3"), "$0\r\n\r\n");
    assert_eq!(c.cmd_str("GETRANGE missing 0 -1"), "$0\r\n\r\n");
    assert_eq!(c.cmd_str("SUBSTR k 5 6"), "$2\r\nis\r\n");
    assert_eq!(
        c.cmd_str("GETRANGE k 0 x"),
        "-ERR value is not an integer or out of range\r\n"
    );
}

#[test]
fn setrange_pads_with_zeros_and_enforces_the_size_limit() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    c.cmd_str("SET k Hello-World");
    assert_eq!(c.cmd_str("SETRANGE k 6 Redis"), ":11\r\n");
    assert_eq!(c.cmd_str("GET k"), "$11\r\nHello-Redis\r\n");
    assert_eq!(c.cmd_str("SETRANGE pad 3 ab"), ":5\r\n");
    assert_eq!(c.cmd(&[b"GET", b"pad"]), b"$5\r\n\0\0\0ab\r\n");
    // An empty value creates nothing and changes nothing.
    assert_eq!(c.cmd(&[b"SETRANGE", b"none", b"5", b""]), b":0\r\n");
    assert_eq!(c.cmd_str("EXISTS none"), ":0\r\n");
    assert_eq!(c.cmd(&[b"SETRANGE", b"k", b"100", b""]), b":11\r\n");
    assert_eq!(
        c.cmd_str("SETRANGE k -1 x"),
        "-ERR offset is out of range\r\n"
    );
    assert_eq!(
        c.cmd_str("SETRANGE k 536870912 x"),
        "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"
    );
    assert_eq!(
        c.cmd_str("SETRANGE k 536870911 xy"),
        "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"
    );
    make_list(&mut c, "l");
    assert_eq!(c.cmd_str("SETRANGE l 0 x"), WRONGTYPE);
}

#[test]
fn lcs_reports_string_length_and_match_ranges() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    c.cmd_str("MSET a ohmytext b mynewtext");
    assert_eq!(c.cmd_str("LCS a b"), "$6\r\nmytext\r\n");
    assert_eq!(c.cmd_str("LCS a b LEN"), ":6\r\n");
    assert_eq!(
        c.cmd_str("LCS a b IDX"),
        "*4\r\n$7\r\nmatches\r\n*2\r\n\
         *2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n\
         *2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n\
         $3\r\nlen\r\n:6\r\n"
    );
    assert_eq!(
        c.cmd_str("LCS a b IDX MINMATCHLEN 4 WITHMATCHLEN"),
        "*4\r\n$7\r\nmatches\r\n*1\r\n\
         *3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n\
         $3\r\nlen\r\n:6\r\n"
    );
    assert_eq!(c.cmd_str("LCS a missing"), "$0\r\n\r\n");
    assert_eq!(
        c.cmd_str("LCS a b LEN IDX"),
        "-ERR If you want both the length and indexes, please just use IDX.\r\n"
    );
    assert_eq!(c.cmd_str("LCS a b FOO"), "-ERR syntax error\r\n");
    assert_eq!(
        c.cmd_str("LCS a b MINMATCHLEN x"),
        "-ERR value is not an integer or out of range\r\n"
    );
    make_list(&mut c, "l");
    assert_eq!(
        c.cmd_str("LCS a l"),
        "-ERR The specified keys must contain string values\r\n"
    );
}

#[test]
fn a_key_set_with_px_is_gone_once_the_time_passes() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert_eq!(c.cmd_str("SET k v PX 50"), "+OK\r\n");
    assert_eq!(c.cmd_str("GET k"), "$1\r\nv\r\n");
    std::thread::sleep(std::time::Duration::from_millis(120));
    assert_eq!(c.cmd_str("GET k"), "$-1\r\n");
    assert_eq!(c.cmd_str("EXISTS k"), ":0\r\n");
    assert_eq!(c.cmd_str("SET k2 v PXAT 1"), "+OK\r\n");
    assert_eq!(c.cmd_str("EXISTS k2"), ":0\r\n");
}

#[test]
fn redis_crate_client_sees_the_same_values() {
    let server = TestServer::start(&[]);
    let mut con = server.client();
    let n: i64 = redis::cmd("INCRBY")
        .arg("n")
        .arg(41)
        .query(&mut con)
        .unwrap();
    assert_eq!(n, 41);
    let f: String = redis::cmd("INCRBYFLOAT")
        .arg("f")
        .arg(1.5)
        .query(&mut con)
        .unwrap();
    assert_eq!(f, "1.5");
    let vals: Vec<Option<String>> = redis::cmd("MGET")
        .arg("n")
        .arg("x")
        .query(&mut con)
        .unwrap();
    assert_eq!(vals, vec![Some("41".to_string()), None]);
}

/// Commands whose replies are deterministic, run against both servers byte for byte.
const DIFFERENTIAL_SCRIPT: &[&str] = &[
    "SET a ohmytext",
    "SET b mynewtext",
    "LCS a b IDX WITHMATCHLEN",
    "SET c AGGTAB",
    "SET d GXTXAYB",
    "LCS c d IDX WITHMATCHLEN",
    "LCS d c IDX",
    "LCS c d",
    "SET n 10",
    "INCRBY n 9223372036854775807",
    "DECRBY n 3",
    "SET f 10.5",
    "INCRBYFLOAT f 0.1",
    "INCRBYFLOAT f 1.5",
    "GETEX a EX 10 EX 20",
    "GETEX a EX abc EX 20",
    "TTL a",
    "SET a b EX 10 EX 20",
    "SET a b KEEPTTL GET",
    "GETSET a c",
    "MSETNX k1 x k9 y",
    "MGET k1 k9 nokey",
    "APPEND k1 -more",
    "GETRANGE k1 -3 -1",
    "GETRANGE k1 -100 100",
    "SETRANGE k1 10 XY",
    "GET k1",
    "STRLEN k1",
    "SETNX k1 x",
    "GETDEL k1",
    "GETDEL k1",
    "OBJECT ENCODING n",
    "SET i 123",
    "OBJECT ENCODING i",
];

#[test]
fn string_replies_match_real_redis_byte_for_byte() {
    assert_replies_match_redis(&[], DIFFERENTIAL_SCRIPT);
}

#[test]
fn resp3_replies_use_nulls_and_maps() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert!(c.cmd_str("HELLO 3").starts_with('%'));
    c.cmd_str("MSET a ohmytext b mynewtext");
    assert_eq!(c.cmd_str("GET missing"), "_\r\n");
    assert_eq!(c.cmd_str("MGET a missing"), "*2\r\n$8\r\nohmytext\r\n_\r\n");
    assert_eq!(c.cmd_str("GETEX missing"), "_\r\n");
    assert_eq!(
        c.cmd_str("LCS a b IDX MINMATCHLEN 10"),
        "%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:6\r\n"
    );
}
