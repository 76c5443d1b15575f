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
