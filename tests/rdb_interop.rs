//! RDB files exchanged with a real redis-server 7.0, both ways.
//!
//! redis-server builds a dataset with every type and encoding (integer strings, long
//! compressible strings, small and big lists/hashes/sets/sorted sets, TTLs, several
//! databases) and SAVEs it; ferrodis's loader reads that file and must hold exactly what Redis
//! reports key by key (value, encoding, absolute expiry). Then ferrodis writes the loaded data
//! to a file of its own: `redis-check-rdb` must accept it, and a second redis-server started on
//! it must report the same keys, values, encodings and expiries as the first.

mod common;

use common::{require_redis_server, RealRedis};
use ferrodis::db::value::Value;
use ferrodis::db::Db;
use ferrodis::persist::rdb::{self, Checksum, Limits, LoadOptions, SaveOptions};
use ferrodis::util::format_double;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// (db, key) -> (type, encoding, contents, absolute expiry in ms or -1).
type Dataset = BTreeMap<(usize, Vec<u8>), (String, String, Vec<Vec<u8>>, i64)>;

const DATABASES: usize = 16;
/// Far enough ahead not to expire during the test, exact in ms.
const EXPIRE_AT: i64 = 4_102_444_800_123;

/// A function library saved into RDB files (Redis 7.0's `OP_FUNCTION2` record).
const LIBRARY: &[u8] =
    b"#!lua name=interop\nredis.register_function('interop_answer', function() return 42 end)";

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ferrodis-rdb-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A redis-server on `dir/file`, with deep validation of every loaded payload (Redis's
/// `sanitize-dump-payload yes`), so that a listpack or intset it would not have written itself
/// is refused.
fn start_redis(dir: &Path, file: &str) -> (RealRedis, redis::Connection) {
    let dir = dir.to_str().expect("utf-8 temp dir");
    let server = RealRedis::start(&[
        "--dir",
        dir,
        "--dbfilename",
        file,
        "--sanitize-dump-payload",
        "yes",
    ]);
    let client = redis::Client::open(format!("redis://127.0.0.1:{}/", server.port)).expect("url");
    let mut con = client.get_connection().expect("connect to redis-server");
    // Connections are accepted while the file loads: wait until it is done.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let info: String = redis::cmd("INFO")
            .arg("persistence")
            .query(&mut con)
            .unwrap_or_default();
        if info.contains("loading:0") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "redis-server never finished loading"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    (server, con)
}

fn q(con: &mut redis::Connection, args: &[&[u8]]) {
    let mut c = redis::cmd(std::str::from_utf8(args[0]).expect("command name"));
    for a in &args[1..] {
        c.arg(*a);
    }
    let _: redis::Value = c.query(con).expect("command to redis-server");
}

fn b(s: impl ToString) -> Vec<u8> {
    s.to_string().into_bytes()
}

/// Fills redis-server with every type and encoding.
fn populate(con: &mut redis::Connection) {
    let mut cmd = |args: Vec<Vec<u8>>| {
        let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        q(con, &refs);
    };
    cmd(vec![b("SELECT"), b(0)]);
    for (i, v) in [
        "",
        "0",
        "-1",
        "127",
        "128",
        "-129",
        "32767",
        "40000",
        "2147483647",
        "2147483648",
        "-2147483648",
        "9223372036854775807",
        "007",
        "+5",
        "1.5",
        "short string",
    ]
    .iter()
    .enumerate()
    {
        cmd(vec![b("SET"), b(format!("str:{i}")), b(v)]);
    }
    cmd(vec![b("SET"), b("str:long"), b("abcabcabc".repeat(200))]);
    cmd(vec![
        b("SET"),
        b("str:noise"),
        (0..600u32).map(|i| (i * 7919 % 251) as u8).collect(),
    ]);
    cmd(vec![
        b("SET"),
        b"bin\0key\xff".to_vec(),
        b"\x00\r\n\xff".to_vec(),
    ]);
    cmd(vec![b("SET"), b("12345"), b("integer key")]);
    cmd(vec![
        b("SET"),
        b("k".repeat(300)),
        b("long key, compressible"),
    ]);
    cmd(vec![b("INCR"), b("counter")]);
    let mut push = vec![b("RPUSH"), b("list:small")];
    push.extend(["a", "1", "-5000", "hello", "70000", "9999999999", ""].map(b));
    cmd(push);
    let mut push = vec![b("RPUSH"), b("list:big")];
    push.extend((0..20_000).map(|i| b(format!("element-{i}"))));
    cmd(push);
    // Entries of 16383 bytes (header 5 + 16378) get Redis's 3-byte backlen.
    cmd(vec![
        b("RPUSH"),
        b("list:bigelem"),
        vec![b'x'; 30_000],
        b("after"),
        vec![b'y'; 16_378],
        vec![b'z'; 16_377],
    ]);
    let mut push = vec![b("LPUSH"), b("list:ints")];
    push.extend((0..3000).map(|i| b(i * 37 - 50_000)));
    cmd(push);
    let mut h = vec![b("HSET"), b("hash:small")];
    h.extend((0..10).flat_map(|i| [b(format!("f{i}")), b(i)]));
    cmd(h);
    let mut h = vec![b("HSET"), b("hash:big")];
    h.extend((0..1000).flat_map(|i| [b(format!("field{i}")), b(format!("value{i}"))]));
    cmd(h);
    cmd(vec![b("HSET"), b("hash:longval"), b("f"), vec![b'v'; 100]]);
    let mut s = vec![b("SADD"), b("set:ints")];
    s.extend((0..100).map(|i| b(i * 1000 - 50_000)));
    cmd(s);
    cmd(vec![
        b("SADD"),
        b("set:wide"),
        b(i64::MIN),
        b(0),
        b(i64::MAX),
    ]);
    cmd(vec![b("SADD"), b("set:i32"), b(-70_000), b(5)]);
    let mut s = vec![b("SADD"), b("set:strs")];
    s.extend((0..50).map(|i| b(format!("m{i}"))));
    cmd(s);
    let mut s = vec![b("SADD"), b("set:bigints")];
    s.extend((0..1000).map(b));
    cmd(s);
    let mut z = vec![b("ZADD"), b("zset:small")];
    for (score, m) in [
        ("1", "a"),
        ("2.5", "b"),
        ("-3.25", "c"),
        ("inf", "d"),
        ("-inf", "e"),
        ("0.1", "f"),
        ("1e300", "g"),
        ("123456789012", "h"),
    ] {
        z.extend([b(score), b(m)]);
    }
    cmd(z);
    let mut z = vec![b("ZADD"), b("zset:big")];
    z.extend((0..1000).flat_map(|i| {
        [
            b(format!("{}", f64::from(i) / 7.0)),
            b(format!("member{i}")),
        ]
    }));
    cmd(z);
    cmd(vec![b("ZADD"), b("zset:longmember"), b(1), vec![b'm'; 100]]);
    for key in [
        "str:1",
        "str:long",
        "list:big",
        "hash:small",
        "set:strs",
        "zset:big",
        "12345",
    ] {
        cmd(vec![b("PEXPIREAT"), b(key), b(EXPIRE_AT)]);
    }
    // Streams: several nodes (one with other fields, deleted entries), groups with PELs.
    for i in 1..=250 {
        let mut add = vec![b("XADD"), b("stream:big"), b(format!("{i}-{}", i % 3))];
        if i % 7 == 0 {
            add.extend([b("other"), b(i), b("x"), b("y")]);
        } else {
            add.extend([b("f"), b(i), b("g"), b("text")]);
        }
        cmd(add);
    }
    cmd(vec![
        b("XDEL"),
        b("stream:big"),
        b("14-2"),
        b("100-1"),
        b("1-1"),
    ]);
    cmd(vec![
        b("XGROUP"),
        b("CREATE"),
        b("stream:big"),
        b("g1"),
        b("0"),
    ]);
    cmd(vec![
        b("XGROUP"),
        b("CREATE"),
        b("stream:big"),
        b("g2"),
        b("$"),
    ]);
    cmd(vec![
        b("XREADGROUP"),
        b("GROUP"),
        b("g1"),
        b("alice"),
        b("COUNT"),
        b(5),
        b("STREAMS"),
        b("stream:big"),
        b(">"),
    ]);
    cmd(vec![
        b("XREADGROUP"),
        b("GROUP"),
        b("g1"),
        b("bob"),
        b("COUNT"),
        b(3),
        b("STREAMS"),
        b("stream:big"),
        b(">"),
    ]);
    cmd(vec![b("XACK"), b("stream:big"), b("g1"), b("2-2")]);
    cmd(vec![
        b("XGROUP"),
        b("CREATECONSUMER"),
        b("stream:big"),
        b("g2"),
        b("carol"),
    ]);
    cmd(vec![b("XADD"), b("stream:empty"), b("1-1"), b("a"), b("b")]);
    cmd(vec![b("XDEL"), b("stream:empty"), b("1-1")]);
    cmd(vec![b("SELECT"), b(1)]);
    cmd(vec![b("SET"), b("k"), b("in db 1")]);
    cmd(vec![b("HSET"), b("h"), b("a"), b("b")]);
    cmd(vec![b("SELECT"), b(15)]);
    cmd(vec![b("SET"), b("k"), b("in db 15")]);
    cmd(vec![b("PEXPIREAT"), b("k"), b(EXPIRE_AT + 1)]);
    cmd(vec![b("RPUSH"), b("l"), b("x")]);
    cmd(vec![b("SELECT"), b(0)]);
}

fn query<T: redis::FromRedisValue>(con: &mut redis::Connection, args: &[&[u8]]) -> T {
    let mut c = redis::cmd(std::str::from_utf8(args[0]).expect("command name"));
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query(con).expect("query redis-server")
}

/// One key of a redis-server's selected database: (type, encoding, contents).
fn describe_redis_key(con: &mut redis::Connection, k: &[u8]) -> (String, String, Vec<Vec<u8>>) {
    let kind: String = query(con, &[b"TYPE", k]);
    let encoding: String = query(con, &[b"OBJECT", b"ENCODING", k]);
    let mut items: Vec<Vec<u8>> = match kind.as_str() {
        "string" => vec![query(con, &[b"GET", k])],
        "list" => query(con, &[b"LRANGE", k, b"0", b"-1"]),
        "hash" => {
            let flat: Vec<Vec<u8>> = query(con, &[b"HGETALL", k]);
            flat.chunks(2)
                .map(|p| [&p[0][..], b"=", &p[1][..]].concat())
                .collect()
        }
        "set" => query(con, &[b"SMEMBERS", k]),
        "zset" => {
            let flat: Vec<Vec<u8>> = query(con, &[b"ZRANGE", k, b"0", b"-1", b"WITHSCORES"]);
            flat.chunks(2)
                .map(|p| [&p[0][..], b"@", &p[1][..]].concat())
                .collect()
        }
        "stream" => {
            // Entries as `id f=v ...`, then per group `group name pending last-id`.
            let entries: Vec<(String, Vec<Vec<u8>>)> = query(con, &[b"XRANGE", k, b"-", b"+"]);
            let mut items: Vec<Vec<u8>> = entries
                .into_iter()
                .map(|(id, fv)| {
                    let mut line = id.into_bytes();
                    for pair in fv.chunks(2) {
                        line.extend_from_slice(b" ");
                        line.extend_from_slice(&[&pair[0][..], b"=", &pair[1][..]].concat());
                    }
                    line
                })
                .collect();
            let groups: Vec<Vec<redis::Value>> = query(con, &[b"XINFO", b"GROUPS", k]);
            for g in groups {
                let text = |v: &redis::Value| match v {
                    redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                    redis::Value::Int(n) => n.to_string(),
                    other => format!("{other:?}"),
                };
                items.push(
                    format!("group {} {} {}", text(&g[1]), text(&g[5]), text(&g[7])).into_bytes(),
                );
            }
            items
        }
        other => panic!("unexpected type {other}"),
    };
    if kind != "list" {
        items.sort();
    }
    (kind, encoding, items)
}

/// Every key of a redis-server, as [`Dataset`].
fn describe_redis(con: &mut redis::Connection) -> Dataset {
    let mut out = Dataset::new();
    for db in 0..DATABASES {
        let _: () = query(con, &[b"SELECT", db.to_string().as_bytes()]);
        let keys: Vec<Vec<u8>> = query(con, &[b"KEYS", b"*"]);
        for key in keys {
            let (kind, encoding, items) = describe_redis_key(con, &key);
            let expire: i64 = query(con, &[b"PEXPIRETIME", &key]);
            out.insert((db, key), (kind, encoding, items, expire));
        }
    }
    let _: () = query(con, &[b"SELECT", b"0"]);
    out
}

/// Every key of ferrodis's databases, as [`Dataset`].
fn describe_dbs(dbs: &[Db]) -> Dataset {
    let mut out = Dataset::new();
    for db in dbs {
        for (key, obj) in db.dict.iter() {
            let v = &obj.value;
            let mut items: Vec<Vec<u8>> = match v {
                Value::Str(s) => vec![s.to_vec()],
                Value::List(l) => l.iter().map(|e| e.to_vec()).collect(),
                Value::Hash(h) => h.iter().map(|(f, v)| [f, b"=", v].concat()).collect(),
                Value::Set(s) => s.iter().map(|m| m.to_sds().to_vec()).collect(),
                Value::ZSet(z) => z
                    .iter()
                    .map(|(m, s)| [m, b"@", format_double(s).as_bytes()].concat())
                    .collect(),
                Value::Stream(s) => describe_stream(s),
            };
            if !matches!(v, Value::List(_)) {
                items.sort();
            }
            out.insert(
                (db.id, key.to_vec()),
                (
                    v.type_name().to_string(),
                    v.encoding_name().to_string(),
                    items,
                    db.get_expire(key).unwrap_or(-1),
                ),
            );
        }
    }
    out
}

/// A stream as `describe_redis_key` shows one.
fn describe_stream(s: &ferrodis::types::stream::Stream) -> Vec<Vec<u8>> {
    use ferrodis::types::stream::StreamId;
    let mut items = Vec::new();
    s.range(StreamId::MIN, StreamId::MAX, false, |e| {
        let mut line = e.id.to_text().into_bytes();
        for (f, v) in e.pairs() {
            line.extend_from_slice(b" ");
            line.extend_from_slice(&[f, b"=", &v].concat());
        }
        items.push(line);
        true
    });
    for (name, g) in s.groups.iter().flat_map(|g| g.iter()) {
        items.push(
            format!(
                "group {} {} {}",
                String::from_utf8_lossy(name),
                g.pel.len(),
                g.last_id.to_text()
            )
            .into_bytes(),
        );
    }
    items
}

fn assert_same(expected: &Dataset, got: &Dataset, what: &str) {
    assert_eq!(
        expected.keys().collect::<Vec<_>>(),
        got.keys().collect::<Vec<_>>(),
        "{what}: key sets differ"
    );
    for (k, v) in expected {
        assert_eq!(
            Some(v),
            got.get(k),
            "{what}: key {:?} in db {} differs",
            String::from_utf8_lossy(&k.1),
            k.0
        );
    }
}

fn load_opts() -> LoadOptions {
    LoadOptions {
        verify_checksum: true,
        now_ms: now_ms(),
        limits: Limits::default(),
        collect_expired: false,
    }
}

#[test]
fn files_move_both_ways_between_redis_and_ferrodis() {
    if !require_redis_server() {
        return;
    }
    // Redis writes.
    let dir = temp_dir("from-redis");
    let (source, mut con) = start_redis(&dir, "dump.rdb");
    populate(&mut con);
    let expected = describe_redis(&mut con);
    assert!(expected.len() > 40);
    let _: () = query(&mut con, &[b"SAVE"]);
    drop(source);
    let redis_file = std::fs::read(dir.join("dump.rdb")).expect("redis wrote dump.rdb");

    // ferrodis reads.
    let mut dbs: Vec<Db> = (0..DATABASES).map(Db::new).collect();
    let loaded =
        rdb::load(&redis_file, &mut dbs, &load_opts()).expect("ferrodis loads Redis's file");
    assert_eq!(loaded.version, 10);
    assert_eq!(loaded.aux("redis-ver"), Some(&b"7.0.15"[..]));
    assert_eq!(loaded.checksum, Checksum::Verified);
    assert_eq!(loaded.keys_loaded, expected.len());
    assert_same(
        &expected,
        &describe_dbs(&dbs),
        "ferrodis after loading Redis's file",
    );
    // Damage to Redis's own file (at ~150 places, checksum off so it reaches the parsers): the
    // loader returns, never panics, and loads nothing on error.
    let mut no_crc = load_opts();
    no_crc.verify_checksum = false;
    let step = (redis_file.len() / 150).max(1);
    for pos in (0..redis_file.len()).step_by(step) {
        let mut scratch: Vec<Db> = (0..DATABASES).map(Db::new).collect();
        assert!(rdb::load(&redis_file[..pos], &mut scratch, &no_crc).is_err());
        let mut bad = redis_file.clone();
        bad[pos] ^= 0xa5;
        if rdb::load(&bad, &mut scratch, &no_crc).is_err() {
            assert!(scratch.iter().all(Db::is_empty));
        }
    }

    // ferrodis writes; redis-check-rdb and redis-server read.
    for (compression, checksum) in [(true, true), (false, false)] {
        let out_dir = temp_dir(&format!("from-ferrodis-{compression}-{checksum}"));
        let path = out_dir.join("ours.rdb");
        let opts = SaveOptions {
            compression,
            checksum,
            now_ms: now_ms(),
            used_mem: 1 << 20,
            save_idle: true,
            key_save_delay_us: 0,
            aof_base: false,
            repl: None,
            functions: vec![LIBRARY.to_vec()],
        };
        let file = std::fs::File::create(&path).expect("create ours.rdb");
        rdb::save(&dbs, &opts, std::io::BufWriter::new(file)).expect("write ours.rdb");
        let check = Command::new("redis-check-rdb")
            .arg(&path)
            .output()
            .expect("run redis-check-rdb");
        let report = String::from_utf8_lossy(&check.stdout);
        assert!(
            check.status.success() && report.contains("RDB looks OK"),
            "redis-check-rdb refused ferrodis's file:\n{report}"
        );
        let (_reader, mut con) = start_redis(&out_dir, "ours.rdb");
        assert_same(
            &expected,
            &describe_redis(&mut con),
            "redis-server after loading ferrodis's file",
        );
        // The function library came along (OP_FUNCTION2) and runs there.
        let answer: i64 = query(&mut con, &[b"FCALL", b"interop_answer", b"0"]);
        assert_eq!(answer, 42);
        let _ = std::fs::remove_dir_all(&out_dir);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Sends SHUTDOWN: the server closes the connection instead of replying.
fn shutdown(con: &mut redis::Connection, args: &[&[u8]]) {
    let mut c = redis::cmd("SHUTDOWN");
    for a in &args[1..] {
        c.arg(*a);
    }
    let reply: redis::RedisResult<redis::Value> = c.query(con);
    assert!(reply.is_err(), "SHUTDOWN replied {reply:?}");
}

fn info_field(con: &mut redis::Connection, field: &str) -> String {
    let info: String = query(con, &[b"INFO", b"persistence"]);
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")).map(str::to_string))
        .unwrap_or_else(|| panic!("INFO has no {field}"))
}

/// Startup loads `dir/dbfilename`; SAVE, DEBUG RELOAD and SHUTDOWN write it where
/// redis-server reads it.
#[test]
fn ferrodis_loads_at_startup_and_saves_with_save_debug_reload_and_shutdown() {
    if !require_redis_server() {
        return;
    }
    let dir = temp_dir("startup");
    let (source, mut con) = start_redis(&dir, "dump.rdb");
    populate(&mut con);
    let mut expected = describe_redis(&mut con);
    let _: () = query(&mut con, &[b"SAVE"]);
    drop(source);

    let dir_str = dir.to_str().expect("utf-8 dir");
    let mut ours = common::TestServer::start(&[
        "--dir",
        dir_str,
        "--dbfilename",
        "dump.rdb",
        "--enable-debug-command",
        "yes",
    ]);
    let mut con = ours.client();
    assert_same(
        &expected,
        &describe_redis(&mut con),
        "ferrodis after loading at startup",
    );
    assert_eq!(
        info_field(&mut con, "rdb_last_load_keys_loaded"),
        expected.len().to_string()
    );

    // SAVE: a new key makes a change, SAVE clears the count and moves LASTSAVE.
    let _: () = query(&mut con, &[b"SET", b"added", b"after load"]);
    assert_eq!(info_field(&mut con, "rdb_changes_since_last_save"), "1");
    std::thread::sleep(Duration::from_millis(1100));
    let before: i64 = query(&mut con, &[b"LASTSAVE"]);
    let ok: String = query(&mut con, &[b"SAVE"]);
    assert_eq!(ok, "OK");
    let after: i64 = query(&mut con, &[b"LASTSAVE"]);
    assert!(after > before, "LASTSAVE {before} -> {after}");
    assert_eq!(info_field(&mut con, "rdb_changes_since_last_save"), "0");
    assert_eq!(info_field(&mut con, "rdb_saves"), "1");
    assert!(!dir.join(format!("temp-{}.rdb", ours.pid())).exists());
    expected.insert(
        (0, b("added")),
        ("string".into(), "embstr".into(), vec![b("after load")], -1),
    );

    // DEBUG RELOAD: save, empty, load: same data.
    let ok: String = query(&mut con, &[b"DEBUG", b"RELOAD"]);
    assert_eq!(ok, "OK");
    assert_same(
        &expected,
        &describe_redis(&mut con),
        "ferrodis after DEBUG RELOAD",
    );

    // SHUTDOWN SAVE writes the file; redis-server reads what ferrodis had.
    let _: () = query(&mut con, &[b"SET", b"last", b"before shutdown"]);
    expected.insert(
        (0, b("last")),
        (
            "string".into(),
            "embstr".into(),
            vec![b("before shutdown")],
            -1,
        ),
    );
    shutdown(&mut con, &[b"SHUTDOWN", b"SAVE"]);
    assert!(
        ours.wait_exit(Duration::from_secs(10)).is_some(),
        "ferrodis did not exit"
    );
    let (_reader, mut con) = start_redis(&dir, "dump.rdb");
    assert_same(
        &expected,
        &describe_redis(&mut con),
        "redis-server after ferrodis's SHUTDOWN SAVE",
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A damaged file stops startup with the offset in the log, as Redis stops.
#[test]
fn a_corrupt_file_stops_startup() {
    let dir = temp_dir("corrupt");
    let mut dbs: Vec<Db> = (0..DATABASES).map(Db::new).collect();
    dbs[0].add(b"key", Value::Str(b"value".as_slice().into()), now_ms());
    let opts = SaveOptions {
        compression: true,
        checksum: true,
        now_ms: now_ms(),
        used_mem: 0,
        save_idle: false,
        key_save_delay_us: 0,
        aof_base: false,
        repl: None,
        functions: Vec::new(),
    };
    let good = rdb::save_to_vec(&dbs, &opts);
    for (name, bytes) in [
        ("truncated", good[..good.len() - 12].to_vec()),
        ("bad checksum", {
            let mut b = good.clone();
            let n = b.len();
            b[n - 1] ^= 0x55;
            b
        }),
    ] {
        std::fs::write(dir.join("dump.rdb"), &bytes).expect("write file");
        let out = Command::new(env!("CARGO_BIN_EXE_ferrodis-server"))
            .args([
                "--port",
                "0",
                "--dir",
                dir.to_str().expect("utf-8"),
                "--dbfilename",
                "dump.rdb",
            ])
            .output()
            .expect("run ferrodis-server");
        let log = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name}: startup went on:\n{log}");
        assert!(
            log.contains("Internal error in RDB reading offset")
                && log.contains("Terminating server"),
            "{name}: log says:\n{log}"
        );
        assert!(!log.contains("Ready to accept connections"), "{name}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// With save points configured, SIGTERM and a plain SHUTDOWN save first; the next start loads it.
#[test]
fn sigterm_and_shutdown_save_when_save_points_exist() {
    let dir = temp_dir("sigterm");
    let args = ["--dir", dir.to_str().expect("utf-8"), "--save", "3600 1"];
    let server = common::TestServer::start(&args);
    let mut con = server.client();
    let _: () = query(&mut con, &[b"SET", b"k", b"saved by SIGTERM"]);
    let status = Command::new("kill")
        .args(["-TERM", &server.pid().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let mut server = server;
    assert!(
        server.wait_exit(Duration::from_secs(10)).is_some(),
        "no exit on SIGTERM"
    );
    assert!(dir.join("dump.rdb").exists());

    let mut server = common::TestServer::start(&args);
    let mut con = server.client();
    let v: String = query(&mut con, &[b"GET", b"k"]);
    assert_eq!(v, "saved by SIGTERM");
    let _: () = query(&mut con, &[b"SET", b"k2", b"saved by SHUTDOWN"]);
    shutdown(&mut con, &[b"SHUTDOWN"]);
    assert!(
        server.wait_exit(Duration::from_secs(10)).is_some(),
        "no exit on SHUTDOWN"
    );

    let server = common::TestServer::start(&args);
    let mut con = server.client();
    let v: Vec<String> = query(&mut con, &[b"MGET", b"k", b"k2"]);
    assert_eq!(v, ["saved by SIGTERM", "saved by SHUTDOWN"]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// What else Redis 7.0 may put in a file: function libraries, LRU idle times and LFU counters
/// (with an LRU / LFU maxmemory-policy) load; a stream stops the load naming the key.
#[test]
fn redis_files_with_functions_lru_lfu_and_a_stream() {
    if !require_redis_server() {
        return;
    }
    let dir = temp_dir("extras");
    let (_source, mut con) = start_redis(&dir, "dump.rdb");
    let _: () = query(&mut con, &[b"SET", b"a", b"1"]);
    let _: () = query(&mut con, &[b"RPUSH", b"l", b"x", b"y"]);
    let _: String = query(
        &mut con,
        &[
            b"FUNCTION",
            b"LOAD",
            b"#!lua name=mylib\nredis.register_function('f', function() return 1 end)",
        ],
    );
    let load = |policy: &[u8], con: &mut redis::Connection| {
        let _: () = query(con, &[b"CONFIG", b"SET", b"maxmemory-policy", policy]);
        let _: () = query(con, &[b"SAVE"]);
        let bytes = std::fs::read(dir.join("dump.rdb")).expect("dump.rdb");
        let mut dbs: Vec<Db> = (0..DATABASES).map(Db::new).collect();
        (rdb::load(&bytes, &mut dbs, &load_opts()), bytes, dbs)
    };
    for (policy, opcode) in [(&b"allkeys-lru"[..], 0xf8u8), (b"allkeys-lfu", 0xf9)] {
        let (loaded, bytes, dbs) = load(policy, &mut con);
        let loaded = loaded.expect("loads");
        assert_eq!(loaded.keys_loaded, 2);
        assert_eq!(loaded.functions.len(), 1);
        assert!(loaded.functions[0].starts_with(b"#!lua name=mylib"));
        assert!(
            bytes.contains(&opcode),
            "no opcode {opcode:#x} with {policy:?}"
        );
        assert!(dbs[0].dict.contains_key(b"l".as_slice()));
    }
    let _: String = query(&mut con, &[b"XADD", b"events", b"*", b"f", b"v"]);
    let (loaded, _, dbs) = load(b"noeviction", &mut con);
    assert_eq!(loaded.expect("a stream loads").keys_loaded, 3);
    assert!(dbs[0].dict.contains_key(b"events".as_slice()));
    let _ = std::fs::remove_dir_all(&dir);
}

/// DUMP payloads: every payload redis-server makes restores in ferrodis to the same value, and
/// redis-server RESTOREs every payload ferrodis makes. Without compression (LZF output is not
/// unique: liblzf's depends even on its uninitialised hash table), ferrodis's payload is byte for
/// byte Redis's wherever the encoding fixes the order (strings, intsets, listpacks,
/// single-node lists).
#[test]
fn dump_payloads_match_redis() {
    if !require_redis_server() {
        return;
    }
    let dir = temp_dir("dump");
    let (_server, mut con) = start_redis(&dir, "dump.rdb");
    populate(&mut con);
    let expected = describe_redis(&mut con);
    for compression in [false, true] {
        let setting: &[u8] = if compression { b"yes" } else { b"no" };
        let _: () = query(&mut con, &[b"CONFIG", b"SET", b"rdbcompression", setting]);
        compare_dump_payloads(&mut con, &expected, compression);
    }
    // Damaged payloads are refused.
    let _: () = query(&mut con, &[b"SELECT", b"0"]);
    let good: Vec<u8> = query(&mut con, &[b"DUMP", b"list:small"]);
    for cut in 0..good.len() {
        assert!(rdb::restore_payload(&good[..cut], true, &Limits::default()).is_err());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn compare_dump_payloads(con: &mut redis::Connection, expected: &Dataset, compression: bool) {
    let mut byte_exact = 0;
    for ((db, key), (kind, encoding, items, _)) in expected {
        let _: () = query(con, &[b"SELECT", db.to_string().as_bytes()]);
        let theirs: Vec<u8> = query(con, &[b"DUMP", key]);
        let value = rdb::restore_payload(&theirs, true, &Limits::default())
            .unwrap_or_else(|e| panic!("Redis's payload for {key:?}: {e}"));
        let mut one = vec![Db::new(0)];
        one[0].add(key, value, now_ms());
        let ours_desc = describe_dbs(&one).into_values().next().expect("one key");
        assert_eq!(
            (&ours_desc.0, &ours_desc.1, &ours_desc.2),
            (kind, encoding, items),
            "{key:?}"
        );
        let value = &one[0].dict.get(key.as_slice()).expect("key").value;
        let ours = rdb::dump_payload(value, compression);
        let total: usize = items.iter().map(Vec::len).sum();
        let fixed_order = matches!(
            encoding.as_str(),
            "int" | "embstr" | "raw" | "intset" | "listpack"
        ) || (encoding == "quicklist" && total < 4000);
        if fixed_order && !compression {
            assert_eq!(
                ours,
                theirs,
                "payload of {:?}",
                String::from_utf8_lossy(key)
            );
            byte_exact += 1;
        }
        let copy = [b"copy:".as_slice(), key].concat();
        let _: () = query(con, &[b"RESTORE", &copy, b"0", &ours, b"REPLACE"]);
        assert_eq!(
            describe_redis_key(con, &copy),
            (kind.clone(), encoding.clone(), items.clone()),
            "Redis restoring ferrodis's payload of {key:?}"
        );
    }
    if !compression {
        assert!(
            byte_exact > 30,
            "only {byte_exact} payloads compared byte for byte"
        );
    }
}
