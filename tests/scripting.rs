//! Lua scripting through the real binary: EVAL / EVALSHA / SCRIPT, the redis.* API, the
//! conversion rules both ways, the sandbox, the embedded libraries, atomicity and busy scripts.

mod common;
use common::{require_redis_server, RawConn, RealRedis, TestServer};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

fn eval(c: &mut RawConn, script: &str) -> Vec<u8> {
    c.cmd(&[b"EVAL", script.as_bytes(), b"0"])
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Scripts whose replies must be byte-identical to Redis 7.0's (uses only the commands every
/// branch has: GET SET DEL EXISTS SELECT PING ECHO).
const DIFFERENTIAL: &[&str] = &[
    "return foo",
    "foo=1",
    "string.x=1",
    "rawset(_G,'x',1)",
    "return _G.foo",
    "return os",
    "return type(loadstring)",
    "return loadstring('y = 1')()",
    "return {1,2,3.99,'x',true,false,nil,4}",
    "return {1,{2,{3}}}",
    "return {ok='fine'}",
    "return {err='bad thing'}",
    "return {err=5}",
    "return 3.99",
    "return -3.99",
    "return redis.error_reply('x y')",
    "return redis.error_reply('boom')",
    "return redis.error_reply()",
    "return redis.status_reply('yo')",
    "error('boom')",
    "error({err='tbl'})",
    "local f = function() error('deep') end f()",
    "return redis.call('select','99')",
    "return redis.pcall('select','99')",
    "local ok,e = pcall(redis.call,'select','99') return e",
    "return pcall(redis.call,'select','99')",
    "return redis.call('set','a','b','EX','x')",
    "return redis.call('nosuch')",
    "return redis.pcall('nosuch')",
    "return redis.call('get')",
    "return redis.call('eval','return 1','0')",
    "return redis.call()",
    "return redis.call({})",
    "return redis.call('set','x',3.5)",
    "return redis.call('echo',0.1)",
    "return type(redis.call('get','nokey'))",
    "return redis.call('ping')",
    "return redis.call('select','1')",
    "return redis.sha1hex('')",
    "return redis.sha1hex()",
    "return redis.REDIS_VERSION",
    "return redis.REDIS_VERSION_NUM",
    "return tostring(math.random())",
    "return {math.random(10), math.random(5,9)}",
    "return redis.setresp(4)",
    "return redis.setresp()",
    "redis.setresp(3) return redis.call('ping')",
    "redis.setresp(3) return redis.call('get','nokey')",
    "redis.setresp(3) return {true,false}",
    "return {double=1.5}",
    "return {map={a=1}}",
    "return {set={a=true}}",
    "return redis.log(redis.LOG_WARNING,'hi')",
    "return redis.log(99, 'x')",
    "return redis.log(1)",
    "return redis.set_repl(redis.REPL_ALL)",
    "return {pcall(function() return x end)}",
    "return pcall(function() foo = 1 end)",
    "local ok, e = pcall(error, {err='X y'}) return e",
    "return cjson.encode({1,2,'a/b',{x=1}})",
    "return cjson.encode({x=1.5, y='z'})",
    "return cjson.decode('[1,2,3]')",
    "return cjson.decode('x')",
    "local ok, e = pcall(cjson.decode, 'x') return e",
    "return cjson.encode(cjson.decode('{\"a\":1.25e3}'))",
    "return cjson.decode('{\"a\":[1,2,null]}').a[3] == cjson.null",
    "return {bit.band(5,3), bit.bor(1,2), bit.bxor(7,1), bit.bnot(0), bit.lshift(1,4), \
     bit.rshift(-1,28), bit.arshift(-16,2), bit.rol(1,33), bit.ror(1,1), bit.tobit(2^32+5)}",
    "return {bit.tohex(255), bit.tohex(-1,-4), bit.tohex(65535, 2)}",
    "return struct.pack('>I2',258)",
    "return {struct.unpack('<i4h', struct.pack('<i4h', -2, 7))}",
    "return struct.size('>iIhB')",
    "return cmsgpack.pack({1,2})",
    "return cmsgpack.pack({a=1}, 'hello', 300, -5, 1.5, true)",
    "return {cmsgpack.unpack(cmsgpack.pack({1,2,{3}}, 'x', 70000))}",
    "return 1 +",
    "#!lua\nreturn 1",
    "#!lua flags=no-writes\nreturn redis.call('set','a','b')",
    "#!lua flags=no-writes,allow-stale\nreturn 2",
    "#!lua flags=bad\nreturn 2",
    "#!js\nreturn 2",
    "#!lua name=x\nreturn 2",
    "#!lua\nreturn foo",
    "getmetatable('').__index = {upper=function() return 'hacked' end} return 1",
    "return ('x'):upper()",
    "getmetatable('').__foo = 1 return 1",
    "return type(getmetatable(string))",
    "return type(getmetatable(''))",
    "local n = 0 for k, v in pairs(string) do n = n + 1 end return n",
    "local t = {} for k in pairs(redis) do t[#t+1] = k end table.sort(t) return t",
    "local t = {} for k in pairs(bit) do t[#t+1] = k end table.sort(t) return t",
    "return rawget(string, 'rep') == string.rep",
    "return next({}) == nil",
    "return redis.acl_check_cmd('get','a')",
    "return redis.acl_check_cmd('nosuch')",
    "return redis.acl_check_cmd()",
    "return redis.acl_check_cmd('script', 'nosuch')",
    "return redis.acl_check_cmd({})",
    "return cjson.decode('[1,2')",
    "return cjson.decode('123abc')",
    "return cjson.decode('x')",
    "return cjson.decode('')",
    "return cjson.decode('  ')",
    "return cjson.decode('{\"a\" 1}')",
    "return cjson.decode('{\"a\":1,}')",
    "return cjson.decode('{1:2}')",
    "return cjson.decode('[1,]')",
    "return cjson.decode('[1 2]')",
    "return cjson.decode('\"abc')",
    "return cjson.decode('\"a\\\\qb\"')",
    "return cjson.decode('\"\\\\u12\"')",
    "return cjson.decode('\"\\\\ud800\"')",
    "return cjson.decode('\"\\\\ud83d\\\\ude00\"')",
    "return cjson.decode('\"\\\\u00e9\\\\n\\\\t\\\\/\"')",
    "return cjson.decode('+1')",
    "return cjson.decode('0x10')",
    "return tostring(cjson.decode('nan'))",
    "return tostring(cjson.decode('-inf'))",
    "return cjson.decode('012')",
    "return cjson.decode('-')",
    "return cjson.decode('1.5e3')",
    "return cjson.decode('.5')",
    "return cjson.decode('tru')",
    "return cjson.decode('nul')",
    "return cjson.decode('[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]')",
    "return cjson.decode(string.rep('[', 1001))",
    "return cjson.decode('{\"a\":{\"b\":[true,false,null]}}').a.b",
    "return cjson.decode('[1,2,3] ')",
    "return cjson.decode(' \\t\\n[1]')",
    "return cjson.decode('\"a\\0b\"')",
    "return cjson.decode('[1]\\0 garbage')",
    "return cjson.decode()",
    "return cjson.encode(cjson.decode('{\"k\":\"v\"}'))",
    "return cjson.encode({1,nil,3})",
    "return cjson.encode({[2]=1})",
    "return cjson.encode({a={}})",
    "return cjson.encode(function() end)",
    "return cjson.encode({[true]=1})",
    "return cjson.decode({})",
    "return cjson.encode()",
    "return 1e20",
    "return -1e20",
    "return 0/0",
    "return 1/0",
    "local function f() f() end f()",
    "return redis.call('select', 1.5)",
    "return redis.call('echo', 1e20)",
    "return redis.call('echo', -0.0)",
    "return redis.call('echo', 1/0)",
    "return redis.call('echo', 100)",
    "return {1, 2, {err='inner'}, {ok='st'}}",
    "return redis.pcall('get')",
    "return redis.call('GET', 'k')",
    "return redis.call('Ping')",
    "return redis.status_reply('a\\r\\nb')",
    "return {ok='a\\nb'}",
    "return redis.error_reply('a\\nb c')",
    "return string.format('%d', 3)",
    "return tostring(1e15)",
    "return tostring(0.1)",
    "return #KEYS",
    "return coroutine.wrap(function() coroutine.yield(5) end)()",
    "return select('#', unpack({1,2,3}))",
    "return cjson.encode({[1]=1,[3]=3})",
    "return cjson.encode({[1]=1,[20]=3})",
    "return cjson.encode({})",
    "return cjson.encode('\\0\\1\"é')",
    "return cjson.encode(0.1)",
    "return cjson.encode(1e100)",
    "return cjson.encode(-0)",
    "return cjson.encode({true, false, cjson.null})",
    "return cjson.decode('\"\\\\u00e9\"')",
    "return cjson.decode('{\"a\":1}').a",
    "return cmsgpack.pack(0.1)",
    "return cmsgpack.pack(-1, -33, -200, 2^40, -2^40)",
    "return cmsgpack.pack(string.rep('x', 40))",
    "return bit.tobit(0xffffffff)",
    "return bit.tobit(2.5)",
    "return bit.tobit(3.5)",
    "return bit.band()",
    "return struct.pack('b', 300)",
    "return struct.pack('<d', 1.5)",
    "return struct.unpack('s', 'abc')",
    "return struct.pack('s', 'ab')",
    "return math.random(0)",
    "return math.random(1,2,3)",
    "return redis.sha1hex(123)",
    "return getmetatable('').__index == string",
    "return next({})",
    "return string.rep('a', 3)",
    "return ('x'):upper()",
    "return redis.call('set', 'k', 'v', 'get')",
    "return redis.call('get', KEYS)",
];

#[test]
fn script_replies_match_real_redis_byte_for_byte() {
    if !require_redis_server() {
        return;
    }
    let real = RealRedis::start(&[]);
    let ours = TestServer::start(&[]);
    let (mut r, mut o) = (real.raw(), ours.raw());
    let mut diffs = Vec::new();
    for script in DIFFERENTIAL {
        let want = eval(&mut r, script);
        let got = eval(&mut o, script);
        if want != got {
            diffs.push(format!(
                "{script}\n  redis:    {:?}\n  ferrodis: {:?}",
                text(want),
                text(got)
            ));
        }
    }
    assert!(diffs.is_empty(), "differences:\n{}", diffs.join("\n"));
}

#[test]
fn lua_values_convert_to_resp_by_redis_rules() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert_eq!(eval(&mut c, "return 3.99"), b":3\r\n");
    assert_eq!(eval(&mut c, "return 'hi'"), b"$2\r\nhi\r\n");
    assert_eq!(eval(&mut c, "return true"), b":1\r\n");
    assert_eq!(eval(&mut c, "return false"), b"$-1\r\n");
    assert_eq!(eval(&mut c, "return nil"), b"$-1\r\n");
    assert_eq!(
        eval(&mut c, "return {1, 'a', nil, 'never'}"),
        b"*2\r\n:1\r\n$1\r\na\r\n"
    );
    assert_eq!(eval(&mut c, "return {ok='FINE'}"), b"+FINE\r\n");
    assert_eq!(eval(&mut c, "return {err='MY bad'}"), b"-MY bad\r\n");
    assert_eq!(eval(&mut c, "return redis.status_reply('X')"), b"+X\r\n");
    assert_eq!(
        eval(&mut c, "return redis.error_reply('CODE text')"),
        b"-CODE text\r\n"
    );
}

#[test]
fn resp_replies_convert_to_lua_values() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert_eq!(
        eval(&mut c, "return redis.call('set','k','v').ok"),
        b"$2\r\nOK\r\n"
    );
    assert_eq!(
        eval(&mut c, "return type(redis.call('exists','k'))"),
        b"$6\r\nnumber\r\n"
    );
    assert_eq!(
        eval(&mut c, "return redis.call('get','missing') == false"),
        b":1\r\n"
    );
    assert_eq!(
        eval(&mut c, "return redis.pcall('get','a','b').err"),
        b"$58\r\nERR Wrong number of args calling Redis command from script\r\n"
    );
    assert_eq!(
        eval(
            &mut c,
            "redis.setresp(3) return redis.call('get','missing') == nil"
        ),
        b":1\r\n"
    );
}

#[test]
fn redis_call_raises_and_redis_pcall_returns_errors() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    let raised = text(eval(&mut c, "return redis.call('select','99')"));
    assert!(raised.starts_with("-ERR DB index is out of range script: "));
    assert!(raised.ends_with(", on @user_script:1.\r\n"));
    assert_eq!(
        eval(&mut c, "return redis.pcall('select','99')"),
        b"-ERR DB index is out of range\r\n"
    );
    assert_eq!(
        eval(
            &mut c,
            "local ok, e = pcall(redis.call, 'select', '99') return {tostring(ok), e}"
        ),
        b"*2\r\n$5\r\nfalse\r\n$28\r\nERR DB index is out of range\r\n"
    );
}

#[test]
fn error_messages_name_the_script_and_line() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    let script = "local a = 1\nreturn foo";
    let sha = {
        let reply = c.cmd(&[b"SCRIPT", b"LOAD", script.as_bytes()]);
        text(reply)[5..45].to_string()
    };
    assert_eq!(
        text(eval(&mut c, script)),
        format!(
            "-ERR user_script:2: Script attempted to access nonexistent global variable 'foo' \
             script: {sha}, on @user_script:2.\r\n"
        )
    );
    assert_eq!(
        eval(&mut c, "return 1 +"),
        b"-ERR Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'\r\n"
    );
}

#[test]
fn numkeys_is_validated() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert_eq!(
        c.cmd(&[b"EVAL", b"return 1", b"-1"]),
        b"-ERR Number of keys can't be negative\r\n"
    );
    assert_eq!(
        c.cmd(&[b"EVAL", b"return 1", b"2", b"a"]),
        b"-ERR Number of keys can't be greater than number of args\r\n"
    );
    assert_eq!(
        c.cmd(&[b"EVAL", b"return 1", b"x"]),
        b"-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        c.cmd(&[b"EVAL", b"return 1"]),
        b"-ERR wrong number of arguments for 'eval' command\r\n"
    );
}

#[test]
fn keys_and_argv_are_passed_to_the_script() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert_eq!(
        c.cmd(&[
            b"EVAL",
            b"return {KEYS[1], KEYS[2], ARGV[1], #ARGV}",
            b"2",
            b"k1",
            b"k2",
            b"a1",
            b"a2"
        ]),
        b"*4\r\n$2\r\nk1\r\n$2\r\nk2\r\n$2\r\na1\r\n:2\r\n"
    );
    assert_eq!(
        c.cmd(&[b"EVAL", b"KEYS[1] = 'changed' return KEYS[1]", b"1", b"k"]),
        b"$7\r\nchanged\r\n"
    );
}

#[test]
fn evalsha_runs_a_loaded_script_and_noscript_otherwise() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    let missing = b"ffffffffffffffffffffffffffffffffffffffff";
    assert_eq!(
        c.cmd(&[b"EVALSHA", missing, b"0"]),
        b"-NOSCRIPT No matching script. Please use EVAL.\r\n"
    );
    assert_eq!(
        c.cmd(&[b"EVALSHA", b"short", b"0"]),
        b"-NOSCRIPT No matching script. Please use EVAL.\r\n"
    );
    let body = b"return ARGV[1]";
    let loaded = c.cmd(&[b"SCRIPT", b"LOAD", body]);
    assert_eq!(
        loaded,
        b"$40\r\n098e0f0d1448c0a81dafe820f66d460eb09263da\r\n"
    );
    let sha = &loaded[5..45];
    assert_eq!(c.cmd(&[b"EVALSHA", sha, b"0", b"hi"]), b"$2\r\nhi\r\n");
    let upper = sha.to_ascii_uppercase();
    assert_eq!(c.cmd(&[b"EVALSHA", &upper, b"0", b"x"]), b"$1\r\nx\r\n");
    assert_eq!(
        c.cmd(&[b"SCRIPT", b"EXISTS", sha, missing]),
        b"*2\r\n:1\r\n:0\r\n"
    );
    assert_eq!(c.cmd(&[b"SCRIPT", b"FLUSH"]), b"+OK\r\n");
    assert_eq!(c.cmd(&[b"SCRIPT", b"EXISTS", sha]), b"*1\r\n:0\r\n");
    assert_eq!(
        c.cmd(&[b"EVALSHA", sha, b"0"]),
        b"-NOSCRIPT No matching script. Please use EVAL.\r\n"
    );
    // EVAL caches the script too.
    c.cmd(&[b"EVAL", body, b"0", b"y"]);
    assert_eq!(c.cmd(&[b"SCRIPT", b"EXISTS", sha]), b"*1\r\n:1\r\n");
    assert_eq!(
        c.cmd(&[b"SCRIPT", b"FLUSH", b"LATER"]),
        b"-ERR SCRIPT FLUSH only support SYNC|ASYNC option\r\n"
    );
    assert_eq!(
        c.cmd(&[b"SCRIPT", b"KILL"]),
        b"-NOTBUSY No scripts in execution right now.\r\n"
    );
    assert_eq!(
        c.cmd(&[b"SCRIPT", b"NOPE"]),
        b"-ERR unknown subcommand 'NOPE'. Try SCRIPT HELP.\r\n"
    );
}

#[test]
fn scripts_cannot_create_globals_or_touch_libraries() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    for script in ["x = 1", "string.rep = nil", "_G.y = 2", "redis.call = nil"] {
        let reply = text(eval(&mut c, script));
        assert!(
            reply.contains("Attempt to modify a readonly table"),
            "{script}: {reply}"
        );
    }
    assert!(text(eval(&mut c, "return rawset(_G, 'z', 1)")).contains("readonly"));
    for name in [
        "os", "io", "require", "dofile", "loadfile", "setfenv", "getfenv",
    ] {
        let reply = text(eval(&mut c, &format!("return {name}")));
        assert!(
            reply.contains("nonexistent global variable"),
            "{name}: {reply}"
        );
    }
    // Nothing leaked into the next script.
    assert!(text(eval(&mut c, "return x")).contains("nonexistent global variable 'x'"));
    assert_eq!(eval(&mut c, "local t = {} t.a = 1 return t.a"), b":1\r\n");
}

#[test]
fn read_only_scripts_refuse_writes() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    c.cmd(&[b"SET", b"k", b"v"]);
    assert_eq!(
        c.cmd(&[b"EVAL_RO", b"return redis.call('get', KEYS[1])", b"1", b"k"]),
        b"$1\r\nv\r\n"
    );
    let reply = text(c.cmd(&[b"EVAL_RO", b"return redis.call('set','k','x')", b"0"]));
    assert!(
        reply.starts_with("-ERR Write commands are not allowed from read-only scripts. script: "),
        "{reply}"
    );
    let sha = &c.cmd(&[b"SCRIPT", b"LOAD", b"return redis.call('del','k')"])[5..45];
    let reply = text(c.cmd(&[b"EVALSHA_RO", sha, b"0"]));
    assert!(reply.contains("Write commands are not allowed"), "{reply}");
    assert_eq!(c.cmd(&[b"GET", b"k"]), b"$1\r\nv\r\n");
}

#[test]
fn select_inside_a_script_does_not_change_the_callers_database() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert_eq!(
        eval(
            &mut c,
            "redis.call('select','3') redis.call('set','k','in3') return 1"
        ),
        b":1\r\n"
    );
    assert_eq!(c.cmd(&[b"GET", b"k"]), b"$-1\r\n");
    c.cmd(&[b"SELECT", b"3"]);
    assert_eq!(c.cmd(&[b"GET", b"k"]), b"$3\r\nin3\r\n");
}

#[test]
fn embedded_libraries_work() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert_eq!(
        eval(&mut c, "return cjson.encode({a={1,2,3}})"),
        b"$13\r\n{\"a\":[1,2,3]}\r\n"
    );
    assert_eq!(
        eval(
            &mut c,
            "return cjson.decode('{\"a\":{\"b\":[10,\"x\"]}}').a.b[2]"
        ),
        b"$1\r\nx\r\n"
    );
    assert_eq!(eval(&mut c, "return bit.band(0xff, 0x0f)"), b":15\r\n");
    assert_eq!(
        eval(&mut c, "return bit.tohex(bit.lshift(1, 31))"),
        b"$8\r\n80000000\r\n"
    );
    assert_eq!(
        eval(
            &mut c,
            "return {struct.unpack('>HB', struct.pack('>HB', 513, 7))}"
        ),
        b"*3\r\n:513\r\n:7\r\n:4\r\n"
    );
    assert_eq!(
        eval(&mut c, "return cmsgpack.unpack(cmsgpack.pack({x='y'})).x"),
        b"$1\r\ny\r\n"
    );
}

#[test]
fn compare_and_delete_lock_releases_only_the_owners_lock() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    let unlock = b"if redis.call('get', KEYS[1]) == ARGV[1] then \
                   return redis.call('del', KEYS[1]) else return 0 end";
    assert_eq!(
        c.cmd(&[b"SET", b"lock", b"token-a", b"NX", b"PX", b"30000"]),
        b"+OK\r\n"
    );
    assert_eq!(
        c.cmd(&[b"EVAL", unlock, b"1", b"lock", b"token-b"]),
        b":0\r\n"
    );
    assert_eq!(c.cmd(&[b"GET", b"lock"]), b"$7\r\ntoken-a\r\n");
    assert_eq!(
        c.cmd(&[b"EVAL", unlock, b"1", b"lock", b"token-a"]),
        b":1\r\n"
    );
    assert_eq!(c.cmd(&[b"EXISTS", b"lock"]), b":0\r\n");
}

#[test]
fn no_other_clients_command_lands_inside_a_script() {
    let server = TestServer::start(&[]);
    let mut a = server.raw();
    let mut b = server.raw();
    // Sets k, spins for a while (well under the busy threshold), then reads k back.
    let script = b"redis.call('set','k','script') local i = 0 \
                   while i < 30000000 do i = i + 1 end return redis.call('get','k')";
    a.send_cmd(&[b"EVAL", script, b"0"]);
    std::thread::sleep(Duration::from_millis(50));
    b.send_cmd(&[b"SET", b"k", b"other"]);
    assert_eq!(a.read_reply(), b"$6\r\nscript\r\n");
    assert_eq!(b.read_reply(), b"+OK\r\n");
    assert_eq!(b.cmd(&[b"GET", b"k"]), b"$5\r\nother\r\n");
}

/// Polls `c` with PING until the server answers BUSY (the script passed the threshold).
fn wait_until_busy(c: &mut RawConn) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let reply = c.cmd(&[b"PING"]);
        if reply.starts_with(b"-BUSY") {
            assert_eq!(
                reply,
                b"-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n"
                    .to_vec()
            );
            return;
        }
        assert!(Instant::now() < deadline, "server never became busy");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn busy_script_answers_busy_and_can_be_killed() {
    let server = TestServer::start(&["--busy-reply-threshold", "100"]);
    let mut a = server.raw();
    let mut b = server.raw();
    a.send_cmd(&[b"EVAL", b"while true do end", b"0"]);
    wait_until_busy(&mut b);
    assert!(b.cmd(&[b"GET", b"k"]).starts_with(b"-BUSY"));
    // A connection opened while the script runs is served too (redis-cli SCRIPT KILL).
    let mut late = server.raw();
    assert_eq!(late.cmd(&[b"SCRIPT", b"KILL"]), b"+OK\r\n");
    assert_eq!(
        a.read_reply(),
        b"-ERR Script killed by user with SCRIPT KILL... script: \
          694a5fe1ddb97a4c6a1bf299d9537c7d3d0f84e7, on @user_script:1.\r\n"
            .to_vec()
    );
    assert_eq!(b.cmd(&[b"PING"]), b"+PONG\r\n");
    assert_eq!(a.cmd(&[b"PING"]), b"+PONG\r\n");
}

/// While a script is busy, a client inside MULTI that sends a command gets -BUSY *and* its
/// transaction is flagged; its EXEC, refused while busy, discards the transaction with an
/// EXECABORT naming BUSY (Redis: `rejectCommand` -> `flagTransaction`, `execCommandAbort`),
/// so nothing of it runs after SCRIPT KILL. The same conversation runs on redis-server.
#[test]
fn a_command_refused_busy_inside_multi_aborts_the_transaction() {
    fn conversation(port: u16) -> Vec<Vec<u8>> {
        let mut a = RawConn::connect(port);
        let mut b = RawConn::connect(port);
        let mut c = RawConn::connect(port);
        let mut replies = vec![b.cmd(&[b"MULTI"]), b.cmd(&[b"SET", b"k", b"v"])];
        a.send_cmd(&[b"EVAL", b"while true do end", b"0"]);
        wait_until_busy(&mut c);
        replies.push(b.cmd(&[b"SET", b"k2", b"v"]));
        replies.push(b.cmd(&[b"EXEC"]));
        replies.push(c.cmd(&[b"SCRIPT", b"KILL"]));
        assert!(a.read_reply().starts_with(b"-ERR Script killed by user"));
        replies.push(b.cmd(&[b"EXEC"]));
        replies.push(b.cmd(&[b"EXISTS", b"k", b"k2"]));
        replies
    }
    let server = TestServer::start(&["--busy-reply-threshold", "100"]);
    let ours = conversation(server.port);
    let busy =
        "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
    assert_eq!(
        ours.iter().map(|r| text(r.clone())).collect::<Vec<_>>(),
        vec![
            "+OK\r\n".to_string(),
            "+QUEUED\r\n".to_string(),
            format!("-{busy}\r\n"),
            format!("-EXECABORT Transaction discarded because of: {busy}\r\n"),
            "+OK\r\n".to_string(),
            "-ERR EXEC without MULTI\r\n".to_string(),
            ":0\r\n".to_string(),
        ]
    );
    if require_redis_server() {
        let redis = RealRedis::start(&["--busy-reply-threshold", "100"]);
        assert_eq!(conversation(redis.port), ours);
    }
}

/// The turn that serves clients while a script is busy is the loop's own networking code, so
/// the query-buffer limit applies there too: a client sending a 5 MB argument with
/// `client-query-buffer-limit 1mb` is disconnected, on ferrodis as on redis-server.
#[test]
fn the_query_buffer_limit_applies_while_a_script_is_busy() {
    fn closed_while_busy(port: u16) -> bool {
        let mut a = RawConn::connect(port);
        let mut c = RawConn::connect(port);
        a.send_cmd(&[b"EVAL", b"while true do end", b"0"]);
        wait_until_busy(&mut c);
        let mut b = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        b.set_write_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        let _ = b.write_all(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5000000\r\n");
        let chunk = vec![b'x'; 64 * 1024];
        for _ in 0..40 {
            if b.write_all(&chunk).is_err() {
                break;
            }
        }
        b.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut buf = [0u8; 256];
        let closed = match b.read(&mut buf) {
            Ok(0) => true,
            Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
            Ok(_) => false,
        };
        assert_eq!(c.cmd(&[b"SCRIPT", b"KILL"]), b"+OK\r\n");
        assert!(a.read_reply().starts_with(b"-ERR Script killed by user"));
        closed
    }
    let args = [
        "--busy-reply-threshold",
        "100",
        "--client-query-buffer-limit",
        "1mb",
    ];
    let server = TestServer::start(&args);
    assert!(closed_while_busy(server.port), "ferrodis kept the client");
    if require_redis_server() {
        let redis = RealRedis::start(&args);
        assert!(
            closed_while_busy(redis.port),
            "redis-server kept the client"
        );
    }
}

#[test]
fn pcall_cannot_swallow_script_kill() {
    let server = TestServer::start(&["--busy-reply-threshold", "100"]);
    let mut a = server.raw();
    let mut b = server.raw();
    a.send_cmd(&[
        b"EVAL",
        b"while true do pcall(function() while true do end end) end",
        b"0",
    ]);
    wait_until_busy(&mut b);
    assert_eq!(b.cmd(&[b"SCRIPT", b"KILL"]), b"+OK\r\n");
    assert!(text(a.read_reply()).starts_with("-ERR Script killed by user with SCRIPT KILL..."));
}

#[test]
fn a_script_that_wrote_is_unkillable_but_shutdown_nosave_stops_the_server() {
    let mut server = TestServer::start(&["--busy-reply-threshold", "100"]);
    let mut a = server.raw();
    let mut b = server.raw();
    a.send_cmd(&[
        b"EVAL",
        b"redis.call('set','x','1') while true do end",
        b"0",
    ]);
    wait_until_busy(&mut b);
    assert_eq!(
        text(b.cmd(&[b"SCRIPT", b"KILL"])),
        "-UNKILLABLE Sorry the script already executed write commands against the dataset. \
         You can either wait the script termination or kill the server in a hard way using \
         the SHUTDOWN NOSAVE command.\r\n"
    );
    assert!(b.cmd(&[b"SHUTDOWN"]).starts_with(b"-BUSY"));
    b.send_cmd(&[b"SHUTDOWN", b"NOSAVE"]);
    assert!(server.wait_exit(Duration::from_secs(10)).is_some());
}

const LIBRARY: &str = "#!lua name=mylib\n\
    redis.register_function('getkey', function(keys, args) return redis.call('get', keys[1]) end)\n\
    redis.register_function{function_name='echo_arg', callback=function(keys, args) return args[1] end, \
    flags={'no-writes'}, description='echoes'}\n\
    redis.register_function('fails', function(keys, args) return foo end)";

#[test]
fn functions_load_list_call_and_delete() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert_eq!(
        c.cmd(&[b"FUNCTION", b"LOAD", LIBRARY.as_bytes()]),
        b"$5\r\nmylib\r\n"
    );
    assert_eq!(
        c.cmd(&[b"FUNCTION", b"LOAD", LIBRARY.as_bytes()]),
        b"-ERR Library 'mylib' already exists\r\n"
    );
    assert_eq!(
        c.cmd(&[b"FUNCTION", b"LOAD", b"REPLACE", LIBRARY.as_bytes()]),
        b"$5\r\nmylib\r\n"
    );
    c.cmd(&[b"SET", b"k", b"v"]);
    assert_eq!(c.cmd(&[b"FCALL", b"getkey", b"1", b"k"]), b"$1\r\nv\r\n");
    assert_eq!(
        c.cmd(&[b"FCALL_RO", b"echo_arg", b"0", b"hi"]),
        b"$2\r\nhi\r\n"
    );
    assert_eq!(
        c.cmd(&[b"FCALL_RO", b"getkey", b"1", b"k"]),
        b"-ERR Can not execute a script with write flag using *_ro command.\r\n"
    );
    assert_eq!(
        text(c.cmd(&[b"FCALL", b"fails", b"0"])),
        "-ERR user_function:4: Script attempted to access nonexistent global variable 'foo' \
         script: fails, on @user_function:4.\r\n"
    );
    assert_eq!(
        c.cmd(&[b"FCALL", b"nope", b"0"]),
        b"-ERR Function not found\r\n"
    );
    assert_eq!(
        c.cmd(&[b"FCALL", b"getkey", b"2", b"k"]),
        b"-ERR Number of keys can't be greater than number of args\r\n"
    );
    let list = text(c.cmd(&[b"FUNCTION", b"LIST", b"LIBRARYNAME", b"my*", b"WITHCODE"]));
    assert!(list.starts_with(
        "*1\r\n*8\r\n$12\r\nlibrary_name\r\n$5\r\nmylib\r\n$6\r\nengine\r\n$3\r\nLUA\r\n"
    ));
    assert!(list.contains("$4\r\nname\r\n$8\r\necho_arg\r\n$11\r\ndescription\r\n$6\r\nechoes\r\n$5\r\nflags\r\n*1\r\n+no-writes\r\n"));
    assert!(list.contains("library_code"));
    assert_eq!(
        c.cmd(&[b"FUNCTION", b"LIST", b"LIBRARYNAME", b"zz*"]),
        b"*0\r\n"
    );
    assert_eq!(c.cmd(&[b"FUNCTION", b"DELETE", b"mylib"]), b"+OK\r\n");
    assert_eq!(
        c.cmd(&[b"FUNCTION", b"DELETE", b"mylib"]),
        b"-ERR Library not found\r\n"
    );
    assert_eq!(
        c.cmd(&[b"FCALL", b"getkey", b"1", b"k"]),
        b"-ERR Function not found\r\n"
    );
}

#[test]
fn function_load_errors_match_real_redis() {
    if !require_redis_server() {
        return;
    }
    let real = RealRedis::start(&[]);
    let ours = TestServer::start(&[]);
    let (mut r, mut o) = (real.raw(), ours.raw());
    let bodies = [
        "return 1",
        "#!lua\nreturn 1",
        "#!js name=a\nreturn 1",
        "#!lua name=a-b\nreturn 1",
        "#!lua name=empty\nlocal x = 1",
        "#!lua name=bad\nredis.call('ping')",
        "#!lua name=bad2\nreturn foo",
        "#!lua name=bad3\nredis.register_function('f-x', function() end)",
        "#!lua name=bad4\nredis.register_function('fx', 5)",
        "#!lua name=bad5\nredis.register_function{function_name='fy', callback=function() end, flags={'zzz'}}",
        "#!lua name=bad6\nerror('x')",
        "#!lua name=bad7\nreturn 1 +",
        "#!lua name=x foo=bar\nreturn 1",
        "#!lua name=x name=y\nreturn 1",
        "#!lua name=dup\nredis.register_function('a', function() end) redis.register_function('a', function() end)",
        "#!lua name=t1\nredis.register_function{function_name='a', callback=function() end, foo=1}",
        "#!lua name=t2\nredis.register_function{callback=function() end}",
        "#!lua name=t3\nredis.register_function{function_name='zz'}",
        "#!lua name=t4\nredis.register_function('a')",
        "#!lua name=t6\nwhile true do end",
        "#!lua name=lib1\nredis.register_function('shared', function() return 1 end)",
        "#!lua name=lib2\nredis.register_function('shared', function() return 2 end)",
    ];
    for body in bodies {
        let args: [&[u8]; 3] = [b"FUNCTION", b"LOAD", body.as_bytes()];
        assert_eq!(text(o.cmd(&args)), text(r.cmd(&args)), "{body}");
    }
    for args in [
        &[&b"FUNCTION"[..], b"LIST", b"foo"][..],
        &[b"FUNCTION", b"LIST", b"LIBRARYNAME"],
        &[b"FUNCTION", b"FLUSH", b"bad"],
        &[b"FUNCTION", b"KILL"],
        &[b"FUNCTION", b"HELP"],
        &[b"FCALL", b"shared", b"x"],
        &[b"FCALL", b"shared", b"-1"],
        &[b"EVAL_RO", b"#!lua\nreturn 1", b"0"],
        &[
            b"EVAL",
            b"redis.register_function('x', function() end)",
            b"0",
        ],
        &[b"FUNCTION", b"FLUSH"],
        &[b"FUNCTION", b"STATS"],
    ] {
        assert_eq!(text(o.cmd(args)), text(r.cmd(args)), "{args:?}");
    }
}

#[test]
fn busy_function_needs_function_kill() {
    let server = TestServer::start(&["--busy-reply-threshold", "100"]);
    let mut a = server.raw();
    let mut b = server.raw();
    let lib = b"#!lua name=spin\nredis.register_function('spin', function() while true do end end)";
    assert_eq!(b.cmd(&[b"FUNCTION", b"LOAD", lib]), b"$4\r\nspin\r\n");
    a.send_cmd(&[b"FCALL", b"spin", b"0"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let reply = b.cmd(&[b"PING"]);
        if reply.starts_with(b"-BUSY") {
            assert_eq!(
                text(reply),
                "-BUSY Redis is busy running a script. You can only call FUNCTION KILL or \
                 SHUTDOWN NOSAVE.\r\n"
            );
            break;
        }
        assert!(Instant::now() < deadline, "server never became busy");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(text(b.cmd(&[b"FUNCTION", b"STATS"])).contains(
        "$4\r\nname\r\n$4\r\nspin\r\n$7\r\ncommand\r\n*3\r\n$5\r\nFCALL\r\n$4\r\nspin\r\n$1\r\n0\r\n"
    ));
    assert!(b.cmd(&[b"SCRIPT", b"KILL"]).starts_with(b"-BUSY"));
    assert_eq!(b.cmd(&[b"FUNCTION", b"KILL"]), b"+OK\r\n");
    assert_eq!(
        text(a.read_reply()),
        "-ERR Script killed by user with SCRIPT KILL... script: spin, on @user_function:2.\r\n"
    );
}

#[test]
fn deeply_nested_results_stop_at_the_lua_stack_limit_like_redis() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    // Read the raw bytes directly: the common reply parser recurses per nesting level.
    c.send_cmd(&[b"EVAL", b"local t = {} t[1] = t return t", b"0"]);
    let mut reply = Vec::new();
    let mut chunk = [0u8; 65536];
    while !reply.ends_with(b"limit\r\n") {
        let n = std::io::Read::read(&mut c.stream, &mut chunk).expect("read");
        assert!(n > 0, "connection closed");
        reply.extend_from_slice(&chunk[..n]);
    }
    let arrays = reply.windows(4).filter(|w| w == b"*1\r\n").count();
    assert_eq!(arrays, 7995);
    assert!(reply.ends_with(b"-ERR reached lua stack limit\r\n"));
    assert_eq!(eval(&mut c, "return 1e20"), b":-9223372036854775808\r\n");
}

#[test]
fn hostile_library_inputs_fail_cleanly() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    // Nesting is capped (the decoder keeps one Lua reference per open level).
    let deep = text(eval(
        &mut c,
        "return cmsgpack.unpack(string.rep('\\145', 100000))",
    ));
    assert!(
        deep.starts_with("-ERR user_script:1: stack overflow (in function mp_decode_to_lua_array)"),
        "{deep}"
    );
    assert_eq!(
        eval(
            &mut c,
            "return #cmsgpack.unpack(string.rep('\\145', 1000) .. '\\1')"
        ),
        b":1\r\n"
    );
    let short = text(eval(&mut c, "return cmsgpack.unpack('\\146\\1')"));
    assert!(
        short.starts_with("-ERR user_script:1: Missing bytes in input."),
        "{short}"
    );
    // lua-struct reads sizes as C ints (and checks `c` fields against the string given).
    let huge = text(eval(&mut c, "return struct.pack('c99999999999', 'x')"));
    assert!(huge.contains("integral size overflow"), "{huge}");
    let nested = text(eval(&mut c, "local t = {} t[1] = t return cjson.encode(t)"));
    assert!(
        nested.contains("Cannot serialise, excessive nesting (1001)"),
        "{nested}"
    );
    assert_eq!(
        c.cmd(&[
            b"FUNCTION",
            "LOAD".as_bytes(),
            "#!lua nam\u{e9}=x\nreturn 1".as_bytes()
        ]),
        b"-ERR Invalid metadata value given: nam\xc3\xa9=x\r\n"
    );
    assert_eq!(c.cmd(&[b"PING"]), b"+PONG\r\n");
}

#[test]
fn a_busy_loop_inside_a_coroutine_can_still_be_killed() {
    let server = TestServer::start(&["--busy-reply-threshold", "100"]);
    let mut a = server.raw();
    let mut b = server.raw();
    a.send_cmd(&[
        b"EVAL",
        b"local co = coroutine.wrap(function() while true do end end) co() return 1",
        b"0",
    ]);
    wait_until_busy(&mut b);
    assert_eq!(b.cmd(&[b"SCRIPT", b"KILL"]), b"+OK\r\n");
    assert!(text(a.read_reply()).starts_with("-ERR Script killed by user with SCRIPT KILL..."));
}

/// Sends every command (given as its arguments, so Lua code may hold spaces and newlines) to a
/// fresh ferrodis and a fresh redis-server and asserts byte-identical replies.
fn assert_commands_match_redis(commands: &[&[&str]]) {
    if !require_redis_server() {
        return;
    }
    let ours = TestServer::start(&[]);
    let real = RealRedis::start(&[]);
    let (mut a, mut b) = (ours.raw(), real.raw());
    for command in commands {
        assert_eq!(
            a.cmd_args(command),
            b.cmd_args(command),
            "reply to {command:?} differs from redis-server"
        );
    }
}

#[test]
fn function_options_and_flags_match_in_any_case_like_redis() {
    let lib = "#!lua name=lib\nredis.register_function('f', function() return 1 end)";
    let flagged = "#!LUA NAME=lib\nredis.register_function{function_name='f', \
                   callback=function() return 2 end, flags={'NO-WRITES', 'Allow-Stale'}}";
    assert_commands_match_redis(&[
        &["FUNCTION", "LOAD", lib],
        &["FUNCTION", "LOAD", "replace", lib],
        &["FUNCTION", "LOAD", "rEpLaCe", flagged],
        &["FUNCTION", "LOAD", "replaced", lib],
        &["FUNCTION", "LIST", "withcode", "libraryname", "l*"],
        &["FUNCTION", "LIST", "LibraryName", "lib"],
        &["fcall_ro", "f", "0"],
        &["FUNCTION", "FLUSH", "sync"],
        &["FUNCTION", "FLUSH", "Async"],
    ]);
}

#[test]
fn function_list_gives_flags_in_redis_fixed_order() {
    let lib = "#!lua name=lib\nredis.register_function{function_name='f', \
               callback=function() return 1 end, flags={'allow-cross-slot-keys', 'no-cluster', \
               'allow-stale', 'allow-oom', 'no-writes'}}";
    // One function per library: Redis lists a library's functions in the order of a dict
    // hashed with a per-process random seed.
    let repeated = "#!lua name=lib2\nredis.register_function{function_name='g', \
                    callback=function() return 1 end, flags={'allow-stale', 'no-writes', \
                    'allow-stale'}}";
    assert_commands_match_redis(&[
        &["FUNCTION", "LOAD", lib],
        &["FUNCTION", "LOAD", repeated],
        &["FUNCTION", "LIST", "LIBRARYNAME", "lib"],
        &["FUNCTION", "LIST", "LIBRARYNAME", "lib2"],
    ]);
}

#[test]
fn function_flush_checks_the_argument_count_first_like_redis() {
    assert_commands_match_redis(&[
        &["FUNCTION", "FLUSH", "SYNC", "EXTRA"],
        &["function", "flush", "a", "b", "c"],
        &["FUNCTION", "FLUSH", "NOW"],
        &["FUNCTION", "FLUSH"],
    ]);
}

#[test]
fn functions_run_in_a_read_only_sandbox_of_their_own_like_redis() {
    let lib = "#!lua name=lib\n\
        redis.register_function('set_global', function() g = 1 return 1 end)\n\
        redis.register_function('get_keys', function() return KEYS end)\n\
        redis.register_function('get_argv', function() return ARGV end)\n\
        redis.register_function('nested', function() \
            redis.register_function('x', function() return 1 end) return 1 end)\n\
        redis.register_function('visible', function() return {type(string), type(table), \
            type(cjson), type(pcall), type(redis), type(bit), type(cmsgpack), type(math)} end)\n\
        redis.register_function('via_g', function() _G.y = 1 return 1 end)\n\
        redis.register_function('lib_table', function() local s = string; s.x = 1 end)\n\
        redis.register_function('caught', function() return {pcall(function() g = 2 end)} end)\n\
        redis.register_function('raw', function() local r = rawset(_G, 'x', 1) return r end)\n\
        redis.register_function('meta', function() setmetatable(_G, nil) return 1 end)\n\
        redis.register_function('args', function(keys, args) return {keys[1], args[1]} end)\n\
        local upvalue = {n = 0}\n\
        redis.register_function('counter', function() upvalue.n = upvalue.n + 1 \
            return upvalue.n end)";
    assert_commands_match_redis(&[
        &["FUNCTION", "LOAD", lib],
        &["FCALL", "set_global", "0"],
        &["FCALL", "get_keys", "0"],
        // An EVAL sets KEYS and ARGV as globals of *its* Lua state; functions never see them.
        &["EVAL", "return {KEYS[1], ARGV[1]}", "1", "k", "a"],
        &["FCALL", "get_keys", "0"],
        &["FCALL", "get_argv", "0"],
        &["FCALL", "nested", "0"],
        &["FCALL", "visible", "0"],
        &["FCALL", "via_g", "0"],
        &["FCALL", "lib_table", "0"],
        &["FCALL", "caught", "0"],
        &["FCALL", "raw", "0"],
        &["FCALL", "meta", "0"],
        &["FCALL", "args", "1", "k", "v"],
        &["FCALL", "counter", "0"],
        &["FCALL", "counter", "0"],
        &["EVAL", "setmetatable(_G, nil)", "0"],
        &[
            "EVAL",
            "local t = setmetatable({}, {__metatable = 1}) setmetatable(t, {})",
            "0",
        ],
        &["EVAL", "setmetatable({}, 5)", "0"],
        // While the library loads, globals are read-only too and only the load API is there.
        &[
            "FUNCTION",
            "LOAD",
            "#!lua name=lib2\ng = 1\nredis.register_function('a', function() end)",
        ],
        &[
            "FUNCTION",
            "LOAD",
            "#!lua name=lib2\nlocal s = string.format('%d', 1)",
        ],
        &["FUNCTION", "LOAD", "#!lua name=lib2\nredis.call('ping')"],
    ]);
}

#[test]
fn function_load_options_and_library_patterns_parse_like_redis() {
    let lib = "#!lua name=MyLib\nredis.register_function('f', function() return 1 end)";
    assert_commands_match_redis(&[
        &["FUNCTION", "LOAD", "REPLACE", "replace", lib],
        &["FUNCTION", "LOAD", "REPLACE", "bogus\nword", lib],
        &["FUNCTION", "LOAD", "nul\0byte", "REPLACE", lib],
        &["FUNCTION", "LOAD", lib, "REPLACE"],
        &["FUNCTION", "LIST", "LIBRARYNAME", "mylib"],
        &["FUNCTION", "LIST", "LIBRARYNAME", "MY*"],
        &["FUNCTION", "LIST", "LIBRARYNAME", "other"],
    ]);
}
