//! DUMP, RESTORE and MIGRATE against a real redis-server: payloads are byte-identical, each
//! server restores the other's, and MIGRATE moves keys both ways.

mod common;

use common::{require_redis_server, RawConn, RealRedis, TestServer};

/// A dataset with every type and encoding, the same commands for both servers.
const DATASET: &[&[&str]] = &[
    &["SET", "int", "12345"],
    &["SET", "str", "hello hello hello hello hello hello"],
    &["RPUSH", "list", "a", "7", "", "-3"],
    &["HSET", "hash", "f", "v", "n", "1"],
    &["SADD", "intset", "3", "1", "2"],
    &["SADD", "set", "x", "yy"],
    &["ZADD", "zset", "1.5", "a", "-inf", "b", "2", "c"],
    &["SET", "ttl", "v", "PX", "100000000"],
];

fn load(c: &mut RawConn) {
    for cmd in DATASET {
        let reply = c.cmd_args(cmd);
        assert!(!reply.starts_with('-'), "{cmd:?}: {reply}");
    }
    // Big encodings too: a hash table, a skip list, a hash-table set, a many-node list.
    for kind in ["bighash", "bigzset", "bigset", "biglist"] {
        for i in 0..300 {
            let (m, n) = (format!("member-{i}"), i.to_string());
            let cmd: Vec<&str> = match kind {
                "bighash" => vec!["HSET", kind, &m, &n],
                "bigzset" => vec!["ZADD", kind, &n, &m],
                "bigset" => vec!["SADD", kind, &m],
                _ => vec!["RPUSH", kind, &m],
            };
            c.cmd_args(&cmd);
        }
    }
}

/// The body of a RESP bulk string reply (binary-safe).
fn bulk_bytes(reply: &[u8]) -> &[u8] {
    let header_end = reply.iter().position(|&b| b == b'\n').expect("bulk header") + 1;
    let len: usize = std::str::from_utf8(&reply[1..header_end - 2])
        .ok()
        .and_then(|n| n.parse().ok())
        .expect("bulk length");
    &reply[header_end..header_end + len]
}

const KEYS: &[&str] = &[
    "int", "str", "list", "hash", "intset", "set", "zset", "bighash", "bigzset", "bigset",
    "biglist",
];

#[test]
fn dump_payloads_are_redis_s_and_restore_both_ways() {
    if !require_redis_server() {
        return;
    }
    let ours = TestServer::start(&["--enable-debug-command", "yes"]);
    let real = RealRedis::start(&["--enable-debug-command", "yes"]);
    let (mut a, mut b) = (ours.raw(), real.raw());
    load(&mut a);
    load(&mut b);
    // Uncompressed, the payloads are the same bytes, but for hash-table encodings, whose
    // iteration order is each server's own. (Compressed, they may differ: LZF leaves the
    // choice of matches to the compressor; both decode either.)
    for c in [&mut a, &mut b] {
        assert_eq!(c.cmd_str("CONFIG SET rdbcompression no"), "+OK\r\n");
    }
    let hash_tables = ["set", "bighash", "bigset"];
    for key in KEYS.iter().filter(|k| !hash_tables.contains(k)) {
        let dump = [b"DUMP".as_slice(), key.as_bytes()];
        assert_eq!(a.cmd(&dump), b.cmd(&dump), "DUMP {key}");
    }
    for c in [&mut a, &mut b] {
        assert_eq!(c.cmd_str("CONFIG SET rdbcompression yes"), "+OK\r\n");
    }
    for key in KEYS {
        let (pa, pb) = (
            a.cmd(&[b"DUMP", key.as_bytes()]),
            b.cmd(&[b"DUMP", key.as_bytes()]),
        );
        // Each server restores the other's (compressed) payload into the same value.
        let (pa, pb) = (bulk_bytes(&pa), bulk_bytes(&pb));
        let copy = format!("{key}-copy");
        assert_eq!(
            a.cmd(&[b"RESTORE", copy.as_bytes(), b"0", pb]),
            b"+OK\r\n",
            "{key}"
        );
        assert_eq!(
            b.cmd(&[b"RESTORE", copy.as_bytes(), b"0", pa]),
            b"+OK\r\n",
            "{key}"
        );
        let digest = format!("DEBUG DIGEST-VALUE {key} {copy}");
        let (da, db) = (a.cmd_str(&digest), b.cmd_str(&digest));
        assert_eq!(da, db, "{key}");
        let lines: Vec<&str> = da.split("\r\n").collect();
        assert_eq!(lines[1], lines[2], "{key}: the copy is the original");
    }
    assert_eq!(a.cmd_str("DEBUG DIGEST"), b.cmd_str("DEBUG DIGEST"));
    assert_eq!(a.cmd_str("DUMP nosuchkey"), "$-1\r\n");
}

#[test]
fn restore_options_and_errors_match_redis() {
    common::assert_replies_match_redis(
        &[],
        &[
            "SET k v",
            "RESTORE k 0 junk",
            "RESTORE k2 0 junk",
            "RESTORE k2 -1 junk",
            "RESTORE k2 abc junk",
            "RESTORE k 0 junk REPLACE IDLETIME -1",
            "RESTORE k 0 junk REPLACE FREQ 256",
            "RESTORE k 0 junk REPLACE IDLETIME 10 FREQ 1",
            "RESTORE k 0 junk REPLACE BOGUS",
            "MIGRATE 127.0.0.1 1 k 0 100 KEYS a",
            "MIGRATE 127.0.0.1 1 nokey 0 100",
            "MIGRATE 127.0.0.1 1 k 0 100 AUTH",
            "MIGRATE 127.0.0.1 1 k 0 100 BOGUS",
        ],
    );
}

#[test]
fn restore_sets_ttl_idle_time_and_replaces() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert_eq!(c.cmd_str("SET k v"), "+OK\r\n");
    let reply = c.cmd(&[b"DUMP", b"k"]);
    let payload = bulk_bytes(&reply);
    assert_eq!(
        c.cmd(&[b"RESTORE", b"k", b"0", payload]),
        b"-BUSYKEY Target key name already exists.\r\n"
    );
    assert_eq!(
        c.cmd(&[
            b"RESTORE",
            b"k",
            b"5000",
            payload,
            b"REPLACE",
            b"IDLETIME",
            b"1000"
        ]),
        b"+OK\r\n"
    );
    let pttl: i64 = c.cmd_str("PTTL k")[1..].trim().parse().unwrap();
    assert!((4000..=5000).contains(&pttl), "{pttl}");
    let idle: i64 = c.cmd_str("OBJECT IDLETIME k")[1..].trim().parse().unwrap();
    assert!((1000..1003).contains(&idle), "{idle}");
    // An absolute TTL in the past: REPLACE deletes the old key and creates nothing.
    assert_eq!(
        c.cmd(&[b"RESTORE", b"k", b"1", payload, b"REPLACE", b"ABSTTL"]),
        b"+OK\r\n"
    );
    assert_eq!(c.cmd_str("EXISTS k"), ":0\r\n");
    // A corrupt payload (one byte of the value changed) is refused by its CRC.
    let mut bad = payload.to_vec();
    bad[2] ^= 1;
    assert_eq!(
        c.cmd(&[b"RESTORE", b"k", b"0", &bad]),
        b"-ERR DUMP payload version or checksum are wrong\r\n"
    );
}

/// MIGRATE from each server to the other: keys move (or are copied), TTLs and values survive,
/// AUTH and REPLACE work, missing keys give NOKEY, a refusal is the target's error.
#[test]
fn migrate_moves_keys_between_ferrodis_and_redis_server() {
    if !require_redis_server() {
        return;
    }
    let ours = TestServer::start(&["--enable-debug-command", "yes", "--requirepass", "pw"]);
    let real = RealRedis::start(&["--enable-debug-command", "yes"]);
    let (mut a, mut b) = (ours.raw(), real.raw());
    assert_eq!(a.cmd_str("AUTH pw"), "+OK\r\n");
    load(&mut a);
    let digest_before = a.cmd_str(&format!("DEBUG DIGEST-VALUE {}", KEYS.join(" ")));
    // ferrodis -> redis-server, all keys at once, into db 3.
    let mut cmd: Vec<String> = [
        "MIGRATE",
        "127.0.0.1",
        &real.port.to_string(),
        "",
        "3",
        "5000",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    cmd.push("KEYS".into());
    cmd.extend(KEYS.iter().map(|k| k.to_string()));
    cmd.push("ttl".into());
    cmd.push("missing".into());
    let args: Vec<&str> = cmd.iter().map(String::as_str).collect();
    assert_eq!(a.cmd_args(&args), "+OK\r\n");
    assert_eq!(a.cmd_str("DBSIZE"), ":0\r\n", "moved keys are deleted here");
    assert_eq!(b.cmd_str("SELECT 3"), "+OK\r\n");
    assert_eq!(
        b.cmd_str(&format!("DEBUG DIGEST-VALUE {}", KEYS.join(" "))),
        digest_before
    );
    let pttl: i64 = b.cmd_str("PTTL ttl")[1..].trim().parse().unwrap();
    assert!(pttl > 99_000_000, "the TTL went along: {pttl}");
    assert!(a.cmd_str("INFO stats").contains("migrate_cached_sockets:1"));
    // Nothing left to move.
    assert_eq!(
        a.cmd_args(&[
            "MIGRATE",
            "127.0.0.1",
            &real.port.to_string(),
            "int",
            "3",
            "5000"
        ]),
        "+NOKEY\r\n"
    );
    // redis-server -> ferrodis (with AUTH), COPY keeps the source.
    let port = ours.port.to_string();
    assert_eq!(
        b.cmd_args(&[
            "MIGRATE",
            "127.0.0.1",
            &port,
            "list",
            "0",
            "5000",
            "COPY",
            "AUTH",
            "pw"
        ]),
        "+OK\r\n"
    );
    assert_eq!(b.cmd_str("EXISTS list"), ":1\r\n");
    assert_eq!(a.cmd_str("LRANGE list 0 -1"), b.cmd_str("LRANGE list 0 -1"));
    // The key exists now on the target: without REPLACE the target refuses.
    assert_eq!(
        b.cmd_args(&[
            "MIGRATE",
            "127.0.0.1",
            &port,
            "list",
            "0",
            "5000",
            "AUTH",
            "pw"
        ]),
        "-ERR Target instance replied with error: BUSYKEY Target key name already exists.\r\n"
    );
    assert_eq!(
        b.cmd_args(&[
            "MIGRATE",
            "127.0.0.1",
            &port,
            "list",
            "0",
            "5000",
            "REPLACE",
            "AUTH",
            "pw"
        ]),
        "+OK\r\n"
    );
    assert_eq!(b.cmd_str("EXISTS list"), ":0\r\n");
    // Wrong password: the target's error, and the key stays.
    assert_eq!(
        b.cmd_args(&[
            "MIGRATE",
            "127.0.0.1",
            &port,
            "int",
            "0",
            "5000",
            "AUTH",
            "bad"
        ]),
        "-ERR Target instance replied with error: WRONGPASS invalid username-password pair \
         or user is disabled.\r\n"
    );
    assert_eq!(b.cmd_str("EXISTS int"), ":1\r\n");
    // Nobody listens: an I/O error, and the key stays.
    let closed = common::free_port().to_string();
    assert_eq!(
        a.cmd_args(&["MIGRATE", "127.0.0.1", &closed, "list", "0", "500"]),
        "-IOERR error or timeout connecting to the client\r\n"
    );
    assert_eq!(a.cmd_str("EXISTS list"), ":1\r\n");
}

#[test]
fn skip_checksum_validation_lets_a_bad_crc_through_but_not_bad_data() {
    if !require_redis_server() {
        return;
    }
    let debug = ["--enable-debug-command", "yes"];
    let ours = TestServer::start(&debug);
    let real = RealRedis::start(&debug);
    for mut c in [ours.raw(), real.raw()] {
        let restore = |c: &mut RawConn, key: &[u8], payload: &[u8]| -> Vec<u8> {
            c.cmd(&[b"RESTORE".as_slice(), key, b"0", payload])
        };
        // "v" as a string payload, its CRC64 zeroed.
        let bad_crc = b"\x00\x01v\x0a\x00\x00\x00\x00\x00\x00\x00\x00\x00";
        // Redis's corrupt-dump test "quicklist encoded_len is 0": a plain node of no bytes.
        let empty_node = b"\x12\x01\x01\x00\x0a\x00\x8f\xc6\xc0\x57\x1c\x0a\xb3\x3c";
        assert_eq!(
            restore(&mut c, b"a", bad_crc),
            b"-ERR DUMP payload version or checksum are wrong\r\n"
        );
        assert_eq!(c.cmd_str("DEBUG SET-SKIP-CHECKSUM-VALIDATION 1"), "+OK\r\n");
        assert_eq!(restore(&mut c, b"a", bad_crc), b"+OK\r\n");
        assert_eq!(c.cmd_str("GET a"), "$1\r\nv\r\n");
        assert_eq!(
            restore(&mut c, b"list", empty_node),
            b"-ERR Bad data format\r\n"
        );
        assert_eq!(c.cmd_str("EXISTS list"), ":0\r\n");
        assert_eq!(c.cmd_str("DEBUG SET-SKIP-CHECKSUM-VALIDATION 0"), "+OK\r\n");
        assert_eq!(
            restore(&mut c, b"b", bad_crc),
            b"-ERR DUMP payload version or checksum are wrong\r\n"
        );
    }
}
