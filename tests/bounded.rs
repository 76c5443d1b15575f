//! Bounded work per command: inputs a client controls that could make one command run for
//! seconds or allocate gigabytes. Each case is sent to ferrodis and to redis-server; the replies
//! must be the same bytes, and ferrodis must answer at once.

mod common;

use common::{require_redis_server, RawConn, RealRedis, TestServer};
use std::time::{Duration, Instant};

/// A ferrodis and a redis-server side by side.
struct Pair {
    _ours: TestServer,
    _real: RealRedis,
    ours: RawConn,
    real: RawConn,
}

impl Pair {
    fn start() -> Option<Pair> {
        if !require_redis_server() {
            return None;
        }
        let ours = TestServer::start(&[]);
        let real = RealRedis::start(&[]);
        Some(Pair {
            ours: ours.raw(),
            real: real.raw(),
            _ours: ours,
            _real: real,
        })
    }

    /// Sends `args` to both; asserts the same reply, and that ferrodis took under a second
    /// (unbounded, each case would take seconds or gigabytes; the slack is for a debug build on
    /// a loaded 2-core machine).
    /// Returns the reply.
    fn same<A: AsRef<[u8]>>(&mut self, args: &[A]) -> String {
        let started = Instant::now();
        let ours = self.ours.cmd_owned(args);
        let took = started.elapsed();
        let real = self.real.cmd_owned(args);
        let shown: Vec<String> = args
            .iter()
            .take(8)
            .map(|a| {
                String::from_utf8_lossy(a.as_ref())
                    .chars()
                    .take(80)
                    .collect()
            })
            .collect();
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&real),
            "{shown:?}"
        );
        assert!(took < Duration::from_secs(1), "{shown:?} took {took:?}");
        String::from_utf8_lossy(&ours).into_owned()
    }

    /// Sends `args` to both and asserts the same reply, without timing (to fill data).
    fn fill<A: AsRef<[u8]>>(&mut self, args: &[A]) {
        assert_eq!(self.ours.cmd_owned(args), self.real.cmd_owned(args));
    }

    /// Runs a Lua script (no keys) on both, as `same` does.
    fn eval(&mut self, script: &str) -> String {
        self.same(&["EVAL", script, "0"])
    }
}

/// `pcall(cmsgpack.unpack, <n nested containers around a tail>)`: "ok" or the error text.
fn unpack_nested(unit: &str, n: usize, tail: &str) -> String {
    format!(
        "local ok, e = pcall(cmsgpack.unpack, string.rep('{unit}', {n}) .. '{tail}') \
         if ok then return 'ok' else return e end"
    )
}

/// Redis's cmsgpack decodes onto the Lua stack, whose 8,000 slots a C function may use bound
/// the nesting: 3,999 arrays decode, 4,000 fail, with the message of the check that trips.
#[test]
fn cmsgpack_unpack_nesting_is_bounded_where_redis_bounds_it() {
    let Some(mut p) = Pair::start() else { return };
    let overflow_array = "$51\r\nstack overflow (in function mp_decode_to_lua_array)\r\n";
    let overflow_values = "$88\r\nstack overflow (too many return values at once; \
                           use unpack_one or unpack_limit instead.)\r\n";
    // Arrays of one element, ending in nil or an empty array.
    assert_eq!(
        p.eval(&unpack_nested("\\145", 3999, "\\192")),
        "$2\r\nok\r\n"
    );
    assert_eq!(
        p.eval(&unpack_nested("\\145", 4000, "\\192")),
        overflow_array
    );
    assert_eq!(
        p.eval(&unpack_nested("\\145", 3999, "\\144")),
        overflow_array
    );
    assert_eq!(
        p.eval(&unpack_nested("\\145", 100_000, "\\192")),
        overflow_array
    );
    // Maps of one pair {1 = ...}: the pending key takes the place of an array's index.
    assert_eq!(
        p.eval(&unpack_nested("\\129\\1", 3999, "\\192")),
        "$2\r\nok\r\n"
    );
    assert_eq!(
        p.eval(&unpack_nested("\\129\\1", 4000, "\\192")),
        overflow_values
    );
    assert_eq!(
        p.eval(&unpack_nested("\\129\\1", 3999, "\\144")),
        overflow_array
    );
    // Extra arguments stay on the stack too.
    for n in [3996, 3997, 3998] {
        p.eval(&format!(
            "local ok, e = pcall(cmsgpack.unpack, string.rep('\\145', {n}) .. '\\144', 1, 2, 3) \
             if ok then return 'ok' else return e end"
        ));
    }
    // Many top-level values are returned, as far as mlua's own stack allows.
    p.eval("return select('#', cmsgpack.unpack(string.rep('\\192', 7000)))");
    p.eval(
        "local ok, e = pcall(function() return select('#', \
         cmsgpack.unpack(string.rep('\\192', 8000))) end) return ok",
    );
}

/// `lua_settable` refuses nil and NaN keys, so Redis's cmsgpack fails on such map keys.
#[test]
fn cmsgpack_unpack_refuses_nil_and_nan_map_keys_like_redis() {
    let Some(mut p) = Pair::start() else { return };
    for data in [
        "\\129\\192\\1",
        "\\129\\203\\127\\248\\0\\0\\0\\0\\0\\0\\1",
        "\\130\\1\\1\\192\\1",
        "\\129\\192",
        "\\129\\1\\1",
    ] {
        p.eval(&format!(
            "local ok, e = pcall(cmsgpack.unpack, '{data}') \
             return {{tostring(ok), type(e) == 'string' and e or type(e)}}"
        ));
    }
}

/// lua-cjson's `encode_max_depth` is 1000 tables; scalars inside the 1000th do not count.
#[test]
fn cjson_encode_nesting_limit_counts_tables_like_redis() {
    let Some(mut p) = Pair::start() else { return };
    for (tables, inner) in [
        (999, ""),
        (1000, ""),
        (999, "c[1] = 5"),
        (1000, "c[1] = 5"),
        (1000, "c.x = 'y'"),
        (5000, ""),
    ] {
        p.eval(&format!(
            "local t = {{}} local c = t for i = 2, {tables} do c[1] = {{}} c = c[1] end {inner} \
             local ok, e = pcall(cjson.encode, t) if ok then return #e else return e end"
        ));
    }
    p.eval("local t = {} t[1] = t local ok, e = pcall(cjson.encode, t) return e");
    for depth in [1000, 1001, 100_000] {
        p.eval(&format!(
            "local ok, e = pcall(cjson.decode, string.rep('[', {depth}) .. string.rep(']', {depth})) \
             if ok then return 'ok' else return e end"
        ));
    }
}

/// SORT of a list or sorted set that is not sorted (`BY nosort`) reads only the LIMIT range,
/// in the requested direction, as Redis does: the same replies, and a big collection costs
/// nothing when a few elements are asked for.
#[test]
fn sort_by_nosort_reads_only_the_limit_range_like_redis() {
    let Some(mut p) = Pair::start() else { return };
    p.same(&["RPUSH", "l", "5", "3", "9", "1", "7", "2", "8"]);
    p.same(&[
        "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e", "6", "f",
    ]);
    p.same(&["SET", "w_1", "10"]);
    p.same(&["SET", "w_5", "3"]);
    let limits: &[&[&str]] = &[
        &[],
        &["LIMIT", "0", "3"],
        &["LIMIT", "2", "2"],
        &["LIMIT", "5", "100"],
        &["LIMIT", "-3", "2"],
        &["LIMIT", "100", "5"],
        &["LIMIT", "0", "0"],
        &["LIMIT", "1", "-1"],
        &["LIMIT", "6", "1"],
        &["LIMIT", "9223372036854775807", "9223372036854775807"],
        &["LIMIT", "-9223372036854775808", "-9223372036854775808"],
    ];
    for key in ["l", "z", "missing"] {
        let bys: &[&[&str]] = if key == "l" {
            &[&[], &["BY", "nosort"], &["BY", "w_*"]]
        } else {
            &[&[], &["BY", "nosort"]]
        };
        for by in bys {
            for limit in limits {
                for desc in [&[][..], &["DESC"]] {
                    for get in [&[][..], &["GET", "#", "GET", "w_*"]] {
                        let mut cmd = vec!["SORT", key];
                        for part in [*by, *limit, desc, get] {
                            cmd.extend_from_slice(part);
                        }
                        if key == "z" && by.is_empty() {
                            cmd.push("ALPHA");
                        }
                        p.same(&cmd);
                        cmd.extend(["STORE", "dst"]);
                        p.same(&cmd);
                        p.same(&["LRANGE", "dst", "0", "-1"]);
                    }
                }
            }
        }
    }
    // SORT converts a sorted set to its skip list encoding, for good.
    assert_eq!(p.same(&["OBJECT", "ENCODING", "z"]), "$8\r\nskiplist\r\n");
    // A set is sorted ALPHA even with BY nosort when a script asks (as with STORE).
    p.same(&["SADD", "s", "c", "a", "b"]);
    assert_eq!(
        p.eval("return redis.call('sort', 's', 'by', 'nosort')"),
        "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"
    );
    p.eval("return redis.call('sort_ro', 's', 'by', 'nosort', 'desc', 'limit', '1', '5')");

    // 200,000 elements; 60 SORTs of a few of them must not each walk the whole collection.
    for batch in 0..20 {
        let members: Vec<String> = (0..10_000)
            .map(|i| (batch * 10_000 + i).to_string())
            .collect();
        let mut rpush = vec!["RPUSH".to_string(), "big".to_string()];
        rpush.extend(members.iter().cloned());
        p.fill(&rpush);
        let mut zadd = vec!["ZADD".to_string(), "zbig".to_string()];
        for m in &members {
            zadd.extend([m.clone(), m.clone()]);
        }
        p.fill(&zadd);
    }
    let started = Instant::now();
    for i in 0..10 {
        let offset = (i * 19_999).to_string();
        for key in ["big", "zbig"] {
            p.same(&["SORT", key, "BY", "nosort", "LIMIT", &offset, "2"]);
            p.same(&["SORT", key, "BY", "nosort", "LIMIT", &offset, "2", "DESC"]);
            p.same(&[
                "SORT_RO", key, "BY", "nosort", "LIMIT", &offset, "1", "GET", "#",
            ]);
        }
    }
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "60 small SORTs took {took:?}"
    );
}

/// lua-struct (Redis's deps/lua/src/lua_struct.c): sizes come from the format and are bounded
/// (C ints, integers up to 32 bytes), `c`/`s` fields are checked against the string given, so
/// nothing allocates beyond the arguments; the same formats fail with the same messages.
#[test]
fn struct_sizes_alignment_and_errors_match_redis() {
    let Some(mut p) = Pair::start() else { return };
    for expr in [
        "struct.pack('i17', 1)",
        "struct.pack('>i32', -2)",
        "struct.pack('i33', 1)",
        "struct.pack('I9', 2^63)",
        "struct.pack('c2147483647', 'a')",
        "struct.pack('c2147483648', 'a')",
        "struct.pack('!2147483647i', 1)",
        "struct.pack('!3i', 1)",
        "struct.pack('!4bi', 1, 2)",
        "struct.pack('!8bd', 1, 2)",
        "struct.pack('!8bi3', 1, 2)",
        "struct.pack('!8bi6', 1, 2)",
        "struct.pack('bi3', 1, 2)",
        "struct.pack('<I8', 2^64)",
        "struct.pack('<I8', 2^63 + 4096)",
        "struct.pack('<I8', -2^64)",
        "struct.pack('<I8', 0/0)",
        "struct.pack('B', -1.9)",
        "struct.pack('b', 'x')",
        "struct.pack('b')",
        "struct.pack('bb', 1)",
        "struct.pack('c3', 1.5)",
        "struct.pack('c0s', 'abc', 'de')",
        "struct.pack('=b', 1)",
        "struct.pack('s5', 'a')",
        "struct.pack('b\\0b', 1, 2)",
        "struct.size('c9999999999999999999')",
        "struct.size('!bhilTfdxc5')",
        "struct.size('s')",
        "struct.size('c0')",
        "struct.size('z')",
        "struct.size('b=')",
        "struct.unpack('c0', 'a')",
        "{struct.unpack('bc0', '\\2abc')}",
        "{struct.unpack('c1c0', '2abc')}",
        "{struct.unpack('i4c0', struct.pack('i4', 2147483647) .. 'ab')}",
        "{struct.unpack('ss', 'ab\\0c\\0')}",
        "{struct.unpack('s', 'abc')}",
        "{struct.unpack('i4', 'abcd', 0)}",
        "{struct.unpack('i4', 'abcd', -1)}",
        "{struct.unpack('<', 'abcd', 5)}",
        "{struct.unpack('<', 'abcd', 6)}",
        "{struct.unpack('b', 'abcd', 0/0)}",
        "{struct.unpack('>i9', string.rep('\\255', 9))}",
        "{struct.unpack('<i9', '\\1\\2\\3\\4\\5\\6\\7\\8\\255')}",
        "{struct.unpack('<I16', string.rep('\\255', 16))}",
        "{struct.unpack('<i3', '\\255\\255\\127')}",
        "{struct.unpack('!4bi', struct.pack('!4bi', 1, 2))}",
        "{struct.unpack('<f>d', struct.pack('<f>d', 1.5, -2.25))}",
    ] {
        p.eval(&format!("return {expr}"));
    }
}

/// RANDOMKEY draws until it finds a live key, deleting the expired ones it draws (Redis's
/// `dbRandomKey` on a master): with 500 expired keys and one live one, it answers the live
/// one, never nil.
#[test]
fn randomkey_finds_the_live_key_among_many_expired_ones_like_redis() {
    if !require_redis_server() {
        return;
    }
    let config = ["--enable-debug-command", "yes"];
    let ours = TestServer::start(&config);
    let real = RealRedis::start(&config);
    for mut c in [ours.raw(), real.raw()] {
        assert_eq!(c.cmd_str("DEBUG SET-ACTIVE-EXPIRE 0"), "+OK\r\n");
        for i in 0..500 {
            assert_eq!(c.cmd_str(&format!("SET gone:{i} v PX 1")), "+OK\r\n");
        }
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(c.cmd_str("SET live v"), "+OK\r\n");
        for _ in 0..3 {
            assert_eq!(c.cmd_str("RANDOMKEY"), "$4\r\nlive\r\n");
        }
    }
}

/// Scores and weights are read as Redis's `string2d` (strtod over the whole argument): any
/// length (a 6,000-digit score is fine), hexadecimal floats, and out-of-range values refused;
/// score ranges as `zslParseRange` (out of range is ±inf or 0); timeouts as `string2ld`.
#[test]
fn float_arguments_parse_like_redis_at_any_length() {
    let Some(mut p) = Pair::start() else { return };
    let long_digits = format!("1.{}", "3".repeat(6000));
    let long_zero = format!("0.{}1", "0".repeat(6000));
    let long_int = format!("1{}", "0".repeat(400));
    let values = [
        "1e400",
        "-1e400",
        "1e-400",
        "1e-310",
        "0x10",
        "0X1p4",
        "-0x1.8p1",
        "0x1p-1080",
        "0x1p1024",
        " 1",
        "1 ",
        "inf",
        "-infinity",
        "nan",
        "4.9e-324",
        &long_digits,
        &long_zero,
        &long_int,
        "+5",
        ".5",
        "5.",
        "0x",
        "1e",
        "--1",
        "",
    ];
    for value in values {
        p.fill(&["DEL", "z", "d"]);
        p.fill(&["ZADD", "z", "1", "a", "2", "b"]);
        p.same(&["ZADD", "z", value, "m"]);
        p.same(&["ZSCORE", "z", "m"]);
        p.same(&["ZADD", "z", "INCR", value, "a"]);
        p.same(&["ZINCRBY", "z", value, "b"]);
        p.same(&["ZUNIONSTORE", "d", "1", "z", "WEIGHTS", value]);
        p.same(&["ZRANGE", "d", "0", "-1", "WITHSCORES"]);
        p.same(&["ZCOUNT", "z", value, "+inf"]);
        p.same(&["ZCOUNT", "z", &format!("({value}"), "+inf"]);
    }
    let long_timeout = "1".repeat(6000);
    for timeout in ["1e400", "1e-400", "0x0.01", " 1", "nan", &long_timeout] {
        p.same(&["BLPOP", "nolist", timeout]);
    }
}

/// MEMORY USAGE estimates a big collection from SAMPLES elements (default 5) and MEMORY STATS
/// derives the dataset from the allocator's total, as Redis does, instead of walking every
/// element: 200,000-element values answer at once, and the estimate is close to the exact
/// walk that `SAMPLES 0` asks for.
#[test]
fn memory_usage_and_stats_do_not_walk_every_element() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    for batch in 0..20 {
        let members: Vec<String> = (0..10_000)
            .map(|i| format!("member:{:08}", batch * 10_000 + i))
            .collect();
        let mut sadd = vec!["SADD".to_string(), "s".to_string()];
        let mut hset = vec!["HSET".to_string(), "h".to_string()];
        let mut zadd = vec!["ZADD".to_string(), "z".to_string()];
        for m in &members {
            sadd.push(m.clone());
            hset.extend([m.clone(), m.clone()]);
            zadd.extend(["1".to_string(), m.clone()]);
        }
        for cmd in [&sadd, &hset, &zadd] {
            assert!(c.cmd_owned(cmd).starts_with(b":"));
        }
    }
    let usage = |c: &mut RawConn, args: &[&str]| -> i64 {
        let reply = c.cmd_args(args);
        reply
            .trim_start_matches(':')
            .trim_end()
            .parse()
            .unwrap_or_else(|_| panic!("{args:?}: {reply:?}"))
    };
    for key in ["s", "h", "z"] {
        let exact = usage(&mut c, &["MEMORY", "USAGE", key, "SAMPLES", "0"]);
        let estimate = usage(&mut c, &["MEMORY", "USAGE", key]);
        let off = (exact - estimate).abs() as f64 / exact as f64;
        assert!(off < 0.1, "{key}: estimate {estimate}, exact {exact}");
    }
    let started = Instant::now();
    for _ in 0..50 {
        for key in ["s", "h", "z"] {
            usage(&mut c, &["MEMORY", "USAGE", key]);
            usage(&mut c, &["MEMORY", "USAGE", key, "SAMPLES", "100"]);
        }
        assert!(c.cmd_str("MEMORY STATS").starts_with("*"));
    }
    let took = started.elapsed();
    assert!(took < Duration::from_millis(1500), "took {took:?}");
}

/// SCAN, HSCAN, SSCAN and ZSCAN read their cursor with one parser, as Redis's `strtoul` call
/// does: signs, leading zeros, an empty cursor (0) and a NUL ending the C string are accepted;
/// spaces, lone signs, hex and overflow are not.
#[test]
fn scan_cursors_are_read_like_strtoul_by_every_scan_command() {
    let Some(mut p) = Pair::start() else { return };
    p.same(&["HSET", "h", "f", "v"]);
    // Small encodings (listpack, intset): every cursor returns everything, in Redis too.
    p.same(&["SADD", "s", "1"]);
    p.same(&["ZADD", "z", "1", "m"]);
    for cursor in [
        "",
        "+",
        "-",
        "007",
        "+0",
        "-0",
        " 1",
        "1 ",
        "0x1",
        "18446744073709551616",
        "-18446744073709551616",
        "0\0x",
    ] {
        p.same(&["HSCAN", "h", cursor]);
        p.same(&["SSCAN", "s", cursor]);
        p.same(&["ZSCAN", "z", cursor]);
        // SCAN's keys come in hash order: compare the cursor check, on an empty database.
        p.same(&["SELECT", "1"]);
        p.same(&["SCAN", cursor]);
        p.same(&["SELECT", "0"]);
    }
}
