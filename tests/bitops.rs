//! Bitmap commands (SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO) against a
//! real redis-server: replies, errors, limits, keyspace events and WATCH, byte for byte.

mod common;
use common::{
    assert_events_match_redis, assert_replies_match_redis, assert_watch_matches_redis,
    require_redis_server, RealRedis, TestServer,
};

#[test]
fn setbit_and_getbit_match_redis() {
    assert_replies_match_redis(
        &[],
        &[
            "SETBIT k 7 1",
            "GET k",
            "SETBIT k 7 1",
            "SETBIT k 7 0",
            "SETBIT k 100 1",
            "STRLEN k",
            "GETBIT k 100",
            "GETBIT k 99",
            "GETBIT k 1000000",
            "GETBIT nokey 5",
            "SETBIT k -1 1",
            "SETBIT k 4294967296 1",
            "SETBIT k abc 1",
            "SETBIT k 1 2",
            "SETBIT k 1 -1",
            "SETBIT k 1 a",
            "GETBIT k -1",
            "GETBIT k 4294967296",
            "GETBIT k 4294967295",
            "SET n 12345",
            "SETBIT n 0 1",
            "GET n",
            "GETBIT n 2",
            "LPUSH l a",
            "GETBIT l 0",
            "SETBIT l 0 1",
            "SETBIT l x 1",
            "TYPE l",
        ],
    );
}

#[test]
fn offsets_are_limited_by_proto_max_bulk_len() {
    assert_replies_match_redis(
        &["--proto-max-bulk-len", "1mb"],
        &[
            "SETBIT k 8388607 1",
            "STRLEN k",
            "SETBIT k 8388608 1",
            "GETBIT k 8388608",
            "BITFIELD k SET u8 #1048575 255",
            "BITFIELD k SET u8 #1048576 255",
            "BITFIELD k GET i64 8388600",
            "CONFIG SET proto-max-bulk-len 2mb",
            "SETBIT k 8388608 1",
            "STRLEN k",
        ],
    );
}

#[test]
fn bitcount_matches_redis() {
    assert_replies_match_redis(
        &[],
        &[
            "SET s foobar",
            "BITCOUNT s",
            "BITCOUNT s 0 0",
            "BITCOUNT s 1 1",
            "BITCOUNT s 1 1 BYTE",
            "BITCOUNT s 5 30 BIT",
            "BITCOUNT s 5 30 bit",
            "BITCOUNT s -5 -2 BIT",
            "BITCOUNT s -2 -5",
            "BITCOUNT s 0 -1 BIT",
            "BITCOUNT s 0",
            "BITCOUNT s 0 1 FOO",
            "BITCOUNT s 0 1 BIT x",
            "BITCOUNT s a b",
            "BITCOUNT s 0 b",
            "BITCOUNT nokey a b",
            "BITCOUNT nokey",
            "BITCOUNT s 100 200",
            "BITCOUNT s -100 -50",
            "BITCOUNT s -100 100",
            "BITCOUNT s 3 1 BIT",
            "BITCOUNT s 9 9 BIT",
            "BITCOUNT s 7 7 BIT",
            "BITCOUNT s 0 47 BIT",
            "BITCOUNT s -9223372036854775808 9223372036854775807 BIT",
            "SET e \"\"",
            "BITCOUNT e",
            "LPUSH l a",
            "BITCOUNT l",
            "BITCOUNT l a b",
        ],
    );
}

#[test]
fn bitpos_matches_redis() {
    let mut lines = vec![
        // 0xff 0xf0 0x00, built bit by bit.
        "SETBIT b 23 0".to_string(),
    ];
    for bit in 0..12 {
        lines.push(format!("SETBIT b {bit} 1"));
    }
    for bit in 0..24 {
        lines.push(format!("SETBIT ones {bit} 1"));
    }
    lines.push("SETBIT zeros 23 0".into());
    for key in ["b", "ones", "zeros", "nokey", "e"] {
        for query in [
            "0",
            "1",
            "1 0",
            "0 1",
            "0 2",
            "0 -1",
            "1 2 -1 BYTE",
            "1 7 15 BIT",
            "0 7 15 BIT",
            "0 0 11 BIT",
            "0 0 12 BIT",
            "1 1 7 BIT",
            "0 0 -1",
            "0 0 -1 BIT",
            "1 12 BIT",
            "0 3 5 BIT",
            "1 3 5 BIT",
            "0 12 23 BIT",
            "0 -1 -1 BIT",
            "1 30 100",
            "0 30 100",
            "0 9 BIT",
            "1 -9223372036854775808 9223372036854775807 BIT",
            "2",
            "a",
            "0 a",
            "0 0 a",
            "0 0 1 FOO",
            "0 0 1 BIT x",
        ] {
            lines.push(format!("BITPOS {key} {query}"));
        }
    }
    lines.push("LPUSH l a".into());
    lines.push("BITPOS l 0".into());
    lines.push("BITPOS l 2".into());
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    assert_replies_match_redis(&[], &lines);
}

#[test]
fn bitop_matches_redis() {
    assert_replies_match_redis(
        &[],
        &[
            "SET a foobar",
            "SET c abcdef",
            "SET short ab",
            "BITOP AND dest a c",
            "GET dest",
            "BITOP OR dest a c",
            "GET dest",
            "BITOP XOR dest a c",
            "GET dest",
            "BITOP NOT dest short",
            "STRLEN dest",
            "BITCOUNT dest",
            "BITOP NOT dest a c",
            "BITOP FOO dest a c",
            "BITOP and dest a",
            "GET dest",
            "BITOP AND dest a short",
            "GET dest",
            "BITOP OR dest a short",
            "GET dest",
            "BITOP XOR dest short a c",
            "GET dest",
            "BITOP AND dest a short missing",
            "GET dest",
            "BITOP AND dest missing1 missing2",
            "EXISTS dest",
            "BITOP OR dest2 a missing1 nokey",
            "GET dest2",
            "EXPIRE dest2 100",
            "BITOP OR dest2 a",
            "TTL dest2",
            "LPUSH list x",
            "BITOP AND dest4 a list",
            "EXISTS dest4",
            "BITOP AND list a",
            "TYPE list",
            "BITOP AND dest5 a a a a a a a a a a a a a a a a a a",
            "GET dest5",
        ],
    );
}

#[test]
fn bitfield_matches_redis() {
    assert_replies_match_redis(
        &[],
        &[
            "BITFIELD bf SET i8 0 100",
            "BITFIELD bf GET i8 0",
            "BITFIELD bf INCRBY i8 0 100",
            "BITFIELD bf OVERFLOW SAT INCRBY i8 0 100",
            "BITFIELD bf OVERFLOW FAIL INCRBY i8 0 100",
            "BITFIELD bf OVERFLOW WRAP INCRBY i8 0 100",
            "BITFIELD bf GET u4 0 GET u4 4 GET i4 0 GET i64 0 GET u63 1",
            "BITFIELD bf SET u8 #1 255 GET u8 #1 GET u16 #0",
            "BITFIELD bf SET u8 #1 256 SET u8 #2 -1",
            "BITFIELD bf OVERFLOW SAT SET u8 #1 256 SET u8 #2 -1 SET i8 #3 200 SET i8 #4 -200",
            "BITFIELD bf OVERFLOW FAIL SET u8 #1 256 SET u8 #2 -1 SET i8 #3 200 SET i8 #4 -200 SET i8 #5 -1",
            "GET bf",
            "BITFIELD bf INCRBY i64 0 9223372036854775807 INCRBY i64 0 9223372036854775807",
            "BITFIELD bf OVERFLOW SAT INCRBY i64 64 -9223372036854775808 INCRBY i64 64 -9223372036854775808 INCRBY i64 64 -5",
            "BITFIELD bf OVERFLOW FAIL INCRBY i64 64 -9223372036854775808 INCRBY i64 64 1",
            "BITFIELD bf OVERFLOW SAT INCRBY u63 0 9223372036854775807 INCRBY u63 0 5",
            "BITFIELD bf OVERFLOW WRAP INCRBY u63 0 9223372036854775807 INCRBY u63 0 5 INCRBY u63 0 -9223372036854775808",
            "BITFIELD bf OVERFLOW SAT INCRBY u8 200 -300 INCRBY u8 200 300 INCRBY u1 0 1 INCRBY i1 0 1 INCRBY i1 0 -1",
            "BITFIELD bf OVERFLOW WRAP INCRBY u8 200 -300 INCRBY i3 3 100 INCRBY i3 3 -100",
            "BITFIELD bf GET u8 #0 GET i8 #0 OVERFLOW SAT GET u8 0",
            "BITFIELD bf GET u64 0",
            "BITFIELD bf GET i65 0",
            "BITFIELD bf GET u0 0",
            "BITFIELD bf GET x8 0",
            "BITFIELD bf GET i 0",
            "BITFIELD bf GET i8 -1",
            "BITFIELD bf GET i8 #-1",
            "BITFIELD bf GET i8 #a",
            "BITFIELD bf GET i8 #",
            "BITFIELD bf GET i8 1#",
            "BITFIELD bf GET",
            "BITFIELD bf FOO",
            "BITFIELD bf OVERFLOW",
            "BITFIELD bf OVERFLOW BAR",
            "BITFIELD bf OVERFLOW SAT",
            "BITFIELD bf SET i8 0",
            "BITFIELD bf SET i8 0 a",
            "BITFIELD bf SET i8 0 99999999999999999999",
            "BITFIELD bf GET i8 0 SET u8 0 1 FOO",
            "BITFIELD bf",
            "BITFIELD bf GET i8 4294967295",
            "BITFIELD bf GET i8 4294967296",
            "BITFIELD bf GET i8 #536870911",
            "BITFIELD bf GET i8 #536870912",
            "BITFIELD bf GET i64 #1152921504606846976",
            "BITFIELD bf GET i64 #1152921504606846975",
            "BITFIELD bf GET i9 #1152921504606846976",
            "BITFIELD_RO bf GET i8 0 GET u3 3",
            "BITFIELD_RO bf SET i8 0 1",
            "BITFIELD_RO bf INCRBY i8 0 1",
            "BITFIELD_RO bf",
            "BITFIELD_RO nokey GET i8 0",
            "BITFIELD nokey GET i8 0",
            "EXISTS nokey",
            "LPUSH list x",
            "BITFIELD list GET i8 0",
            "BITFIELD list SET i8 0 1",
            "BITFIELD_RO list GET i8 0",
            "BITFIELD new SET u4 100 3 GET u8 96 GET u8 2000",
            "GET new",
            "BITFIELD new OVERFLOW FAIL INCRBY u2 0 7",
            "GET new",
            "BITFIELD new2 OVERFLOW FAIL INCRBY u2 0 7",
            "GET new2",
            "EXISTS new2",
        ],
    );
}

#[test]
fn bit_writes_fire_events_only_when_something_changed() {
    assert_events_match_redis(&[
        "SETBIT k 7 1",
        "SETBIT k 7 1",
        "SETBIT k 7 0",
        "SETBIT k 20 0",
        "SETBIT k 3 0",
        "BITFIELD k SET u8 0 0",
        "BITFIELD k SET u8 0 1 SET u8 8 0",
        "BITFIELD k SET u8 100 0",
        "BITFIELD k OVERFLOW FAIL INCRBY u8 0 255",
        "BITFIELD k GET u8 0",
        "SET a foo",
        "BITOP NOT dest a",
        "BITOP AND dest missing",
        "BITOP AND dest missing",
        "BITOP OR k a",
    ]);
}

#[test]
fn bit_writes_invalidate_watch_only_when_something_changed() {
    assert_watch_matches_redis(&["SETBIT k 7 1"], &["k"], &["SETBIT k 7 1"]);
    assert_watch_matches_redis(&["SETBIT k 7 1"], &["k"], &["SETBIT k 6 1"]);
    assert_watch_matches_redis(&["SETBIT k 7 1"], &["k"], &["BITFIELD k SET u1 7 1"]);
    assert_watch_matches_redis(&["SETBIT k 7 1"], &["k"], &["BITFIELD k INCRBY u8 0 1"]);
    assert_watch_matches_redis(&["SET a x"], &["d", "a"], &["BITOP NOT d a"]);
    assert_watch_matches_redis(&["SET d x"], &["d"], &["BITOP AND d missing"]);
    assert_watch_matches_redis(&[], &["d"], &["BITOP AND d missing"]);
}

/// SETBIT at a large offset zero-fills the string at once; setting bits one after the other
/// grows it byte by byte; both end with the bytes Redis has.
#[test]
fn growing_bitmaps_hold_the_same_bytes_as_redis() {
    if !require_redis_server() {
        return;
    }
    let ours = TestServer::start(&[]);
    let real = RealRedis::start(&[]);
    for port in [ours.port, real.port] {
        let mut c = common::RawConn::connect(port);
        // Pipelined: 4000 SETBITs growing the string 500 times, then one far away.
        let mut batch = Vec::new();
        for bit in (0..4000u32).step_by(3) {
            batch.extend(common::encode_command(&[
                b"SETBIT",
                b"grow",
                bit.to_string().as_bytes(),
                b"1",
            ]));
        }
        c.send(&batch);
        for _ in (0..4000u32).step_by(3) {
            assert_eq!(c.read_reply(), b":0\r\n");
        }
        assert_eq!(c.cmd_str("SETBIT far 80000000 1"), ":0\r\n");
        assert_eq!(c.cmd_str("STRLEN far"), ":10000001\r\n");
        assert_eq!(c.cmd_str("BITCOUNT far"), ":1\r\n");
        assert_eq!(c.cmd_str("BITPOS far 1"), ":80000000\r\n");
    }
    let get = |port| common::RawConn::connect(port).cmd(&[b"GET", b"grow"]);
    assert_eq!(get(ours.port), get(real.port));
}

/// A string changed in place by a bit command (or APPEND, SETRANGE, PFADD ...) is `raw` for
/// OBJECT ENCODING whatever it holds, until it is replaced, as in Redis.
#[test]
fn strings_changed_in_place_are_raw() {
    assert_replies_match_redis(
        &[],
        &[
            "SET n 12345",
            "SETBIT n 0 0",
            "OBJECT ENCODING n",
            "SET n 12345",
            "GETBIT n 0",
            "BITCOUNT n",
            "OBJECT ENCODING n",
            "SETBIT fresh 3 1",
            "OBJECT ENCODING fresh",
            "SET n 1",
            "BITFIELD n GET u8 0",
            "OBJECT ENCODING n",
            "BITFIELD n SET u8 0 49",
            "OBJECT ENCODING n",
            "OBJECT REFCOUNT n",
            "INCR n",
            "OBJECT ENCODING n",
            "SET a foo",
            "APPEND a bar",
            "OBJECT ENCODING a",
            "APPEND newa 12",
            "OBJECT ENCODING newa",
            "SETRANGE b 0 12",
            "OBJECT ENCODING b",
            "SET c 12",
            "SETRANGE c 0 3",
            "OBJECT ENCODING c",
            "OBJECT REFCOUNT c",
            "INCRBYFLOAT c 1",
            "BITOP NOT d a",
            "OBJECT ENCODING d",
            "PFADD h a",
            "OBJECT ENCODING h",
            "SET h2 HYLL",
            "PFADD h2 a",
            "OBJECT ENCODING h2",
            "PFCOUNT h",
            "OBJECT ENCODING h",
            "RENAME a a2",
            "OBJECT ENCODING a2",
            "COPY a2 a3",
            "OBJECT ENCODING a3",
            "SET a2 x",
            "OBJECT ENCODING a2",
        ],
    );
}
