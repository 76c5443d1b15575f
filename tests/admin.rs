//! Server administration commands through the real binary: INFO, CONFIG, COMMAND, TIME,
//! LASTSAVE, ROLE, DEBUG and SHUTDOWN, with exact replies (and, where a real redis-server is
//! installed, byte-for-byte comparisons with it).

mod common;
use common::{
    assert_replies_match_redis, bulk_body, require_redis_server, RawConn, RealRedis, TestServer,
};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `field:value` from an INFO text.
fn info_field(info: &str, field: &str) -> Option<String> {
    info.split("\r\n")
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .map(|v| v.to_string())
}

fn section_titles(info: &str) -> Vec<&str> {
    info.split("\r\n").filter(|l| l.starts_with("# ")).collect()
}

#[test]
fn info_default_has_redis_sections_in_order() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    let reply = c.cmd_str("INFO");
    assert!(reply.starts_with('$'));
    let info = bulk_body(&reply);
    assert_eq!(
        section_titles(info),
        [
            "# Server",
            "# Clients",
            "# Memory",
            "# Persistence",
            "# Stats",
            "# Replication",
            "# CPU",
            "# Modules",
            "# Errorstats",
            "# Cluster",
            "# Keyspace"
        ]
    );
    // Sections are separated by one empty line, and every line ends in CRLF.
    assert!(
        info.contains("io_threads_active:0\r\n\r\n# Clients\r\n"),
        "{info}"
    );
    assert!(info.ends_with("# Keyspace\r\n"), "{info}");
    let default = c.cmd_str("INFO default");
    assert_eq!(section_titles(bulk_body(&default)), section_titles(info));
}

#[test]
fn info_server_reports_versions_process_and_port() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    let reply = c.cmd_str("INFO server");
    let info = bulk_body(&reply);
    assert_eq!(section_titles(info), ["# Server"]);
    assert_eq!(info_field(info, "redis_version").as_deref(), Some("7.0.15"));
    assert_eq!(
        info_field(info, "ferrodis_version").as_deref(),
        Some(env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(
        info_field(info, "redis_mode").as_deref(),
        Some("standalone")
    );
    assert_eq!(
        info_field(info, "multiplexing_api").as_deref(),
        Some("epoll")
    );
    assert_eq!(info_field(info, "arch_bits").as_deref(), Some("64"));
    assert_eq!(
        info_field(info, "process_id"),
        Some(server.pid().to_string())
    );
    assert_eq!(info_field(info, "tcp_port"), Some(server.port.to_string()));
    assert_eq!(info_field(info, "run_id").map(|r| r.len()), Some(40));
    assert_eq!(info_field(info, "hz").as_deref(), Some("10"));
    assert!(info_field(info, "executable")
        .unwrap()
        .contains("ferrodis-server"));
    assert!(info_field(info, "os").unwrap().starts_with("Linux "));
    for field in [
        "uptime_in_seconds",
        "uptime_in_days",
        "lru_clock",
        "configured_hz",
    ] {
        assert!(info_field(info, field).is_some(), "{field} missing");
    }
}

#[test]
fn info_sections_track_clients_memory_stats_and_keyspace() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    let _other = server.raw();
    for cmd in [
        "SET a 1",
        "SET b 2",
        "SELECT 2",
        "SET c 3",
        "GET c",
        "GET nosuch",
    ] {
        c.cmd_str(cmd);
    }
    c.cmd_str("NOSUCHCOMMAND");
    let reply = c.cmd_str("INFO clients memory stats keyspace persistence replication");
    let info = bulk_body(&reply);
    assert_eq!(
        section_titles(info),
        [
            "# Clients",
            "# Memory",
            "# Persistence",
            "# Stats",
            "# Replication",
            "# Keyspace"
        ]
    );
    assert_eq!(info_field(info, "connected_clients").as_deref(), Some("2"));
    assert_eq!(info_field(info, "maxclients").as_deref(), Some("10000"));
    assert_eq!(info_field(info, "blocked_clients").as_deref(), Some("0"));
    let used: u64 = info_field(info, "used_memory").unwrap().parse().unwrap();
    assert!(used > 0);
    assert_eq!(
        info_field(info, "maxmemory_policy").as_deref(),
        Some("noeviction")
    );
    assert_eq!(info_field(info, "mem_allocator").as_deref(), Some("libc"));
    assert_eq!(info_field(info, "loading").as_deref(), Some("0"));
    assert_eq!(
        info_field(info, "rdb_changes_since_last_save").as_deref(),
        Some("3")
    );
    assert_eq!(
        info_field(info, "total_error_replies").as_deref(),
        Some("1")
    );
    assert_eq!(info_field(info, "role").as_deref(), Some("master"));
    assert_eq!(info_field(info, "connected_slaves").as_deref(), Some("0"));
    assert!(
        info.contains("\r\ndb0:keys=2,expires=0,avg_ttl=0\r\ndb2:keys=1,expires=0,avg_ttl=0\r\n")
    );
    let processed: u64 = info_field(info, "total_commands_processed")
        .unwrap()
        .parse()
        .unwrap();
    assert!(processed >= 6, "{processed}");
}

#[test]
fn info_commandstats_and_errorstats_use_redis_line_format() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    c.cmd_str("SET a 1");
    c.cmd_str("SET a 2");
    c.cmd_str("CONFIG GET hz");
    c.cmd_str("GET a b");
    c.cmd_str("CONFIG SET hz x");
    let reply = c.cmd_str("INFO commandstats errorstats");
    let info = bulk_body(&reply);
    assert_eq!(section_titles(info), ["# Commandstats", "# Errorstats"]);
    let set_line = info
        .split("\r\n")
        .find(|l| l.starts_with("cmdstat_set:"))
        .expect("cmdstat_set");
    assert!(
        set_line.starts_with("cmdstat_set:calls=2,usec="),
        "{set_line}"
    );
    assert!(set_line.contains(",usec_per_call="), "{set_line}");
    assert!(
        set_line.ends_with(",rejected_calls=0,failed_calls=0"),
        "{set_line}"
    );
    assert!(info.contains("\r\ncmdstat_config|get:calls=1,"), "{info}");
    assert!(info.contains("failed_calls=1\r\n"), "{info}");
    // Refused before running (wrong arity): counted as rejected, not as a call.
    assert!(
        info.contains(
            "\r\ncmdstat_get:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0\r\n"
        ),
        "{info}"
    );
    assert!(
        info.ends_with("# Errorstats\r\nerrorstat_ERR:count=2\r\n"),
        "{info}"
    );
    // `all` adds commandstats to the default sections.
    let all = c.cmd_str("INFO all");
    assert!(section_titles(bulk_body(&all)).contains(&"# Commandstats"));
    assert!(!section_titles(bulk_body(&c.cmd_str("INFO"))).contains(&"# Commandstats"));
}

#[test]
fn info_is_verbatim_in_resp3_and_empty_for_unknown_sections() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert_eq!(c.cmd_str("INFO nosuch"), "$0\r\n\r\n");
    assert_eq!(
        c.cmd_str("INFO cluster"),
        "$30\r\n# Cluster\r\ncluster_enabled:0\r\n\r\n"
    );
    c.cmd_str("HELLO 3");
    assert_eq!(
        c.cmd_str("INFO cluster"),
        "=34\r\ntxt:# Cluster\r\ncluster_enabled:0\r\n\r\n"
    );
}

/// The HELP replies ferrodis shares word for word with Redis 7.0 all come from one helper
/// (`ReplyBuffer::help`, Redis's `addReplyHelp`): header with the command name in capitals
/// whatever case it was sent in, the lines, the shared `HELP` footer, as status replies in
/// RESP2 and RESP3. (CLIENT, COMMAND and DEBUG HELP list only what ferrodis implements.)
#[test]
fn help_replies_match_real_redis_in_resp2_and_resp3() {
    if !require_redis_server() {
        return;
    }
    let ours = TestServer::start(&[]);
    let real = RealRedis::start(&[]);
    for resp3 in [false, true] {
        let (mut a, mut b) = (ours.raw(), real.raw());
        if resp3 {
            a.cmd_str("HELLO 3");
            b.cmd_str("HELLO 3");
        }
        for help in [
            "CONFIG HELP",
            "config help",
            "OBJECT HELP",
            "MEMORY HELP",
            "SCRIPT HELP",
            "FUNCTION HELP",
            "PUBSUB HELP",
        ] {
            let reply = a.cmd_str(help);
            assert!(
                reply.ends_with("+HELP\r\n+    Prints this help.\r\n"),
                "{help}: {reply}"
            );
            assert_eq!(reply, b.cmd_str(help), "`{help}` (RESP3: {resp3})");
        }
    }
}

#[test]
fn config_get_matches_globs_and_replies_with_a_map() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert_eq!(
        c.cmd_str("CONFIG GET timeout"),
        "*2\r\n$7\r\ntimeout\r\n$1\r\n0\r\n"
    );
    // A name without glob characters is echoed in the client's spelling, as Redis does.
    assert_eq!(
        c.cmd_str("CONFIG GET maxclients TIMEOUT maxclients"),
        "*4\r\n$10\r\nmaxclients\r\n$5\r\n10000\r\n$7\r\nTIMEOUT\r\n$1\r\n0\r\n"
    );
    assert_eq!(c.cmd_str("CONFIG GET nosuch*"), "*0\r\n");
    let many = c.cmd_str("CONFIG GET *max-*-entries");
    assert!(
        many.contains("$25\r\nhash-max-listpack-entries\r\n$3\r\n512\r\n"),
        "{many}"
    );
    assert!(
        many.contains("$24\r\nhash-max-ziplist-entries\r\n"),
        "{many}"
    );
    c.cmd_str("HELLO 3");
    assert_eq!(c.cmd_str("CONFIG GET hz"), "%1\r\n$2\r\nhz\r\n$2\r\n10\r\n");
    assert_eq!(
        c.cmd_str("CONFIG GET"),
        "-ERR wrong number of arguments for 'config|get' command\r\n"
    );
}

#[test]
fn config_set_applies_pairs_atomically_with_redis_errors() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert_eq!(c.cmd_str("CONFIG SET hz 20 timeout 30"), "+OK\r\n");
    assert_eq!(
        c.cmd_str("CONFIG GET hz timeout"),
        "*4\r\n$2\r\nhz\r\n$2\r\n20\r\n$7\r\ntimeout\r\n$2\r\n30\r\n"
    );
    // One bad pair and nothing changes.
    assert_eq!(
        c.cmd_str("CONFIG SET hz 15 timeout -1"),
        "-ERR CONFIG SET failed (possibly related to argument 'timeout') - argument must be \
         between 0 and 2147483647 inclusive\r\n"
    );
    assert_eq!(c.cmd_str("CONFIG GET hz"), "*2\r\n$2\r\nhz\r\n$2\r\n20\r\n");
    assert_eq!(
        c.cmd_str("CONFIG SET nosuch 1"),
        "-ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'\r\n"
    );
    assert_eq!(
        c.cmd_str("CONFIG SET hz 10 hz 11"),
        "-ERR CONFIG SET failed (possibly related to argument 'hz') - duplicate parameter\r\n"
    );
    assert_eq!(c.cmd_str("CONFIG SET hz 10 foo"), "-ERR syntax error\r\n");
    assert_eq!(
        c.cmd_str("CONFIG SET databases 3"),
        "-ERR CONFIG SET failed (possibly related to argument 'databases') - can't set \
         immutable config\r\n"
    );
    assert_eq!(
        c.cmd_str("CONFIG SET hz abc"),
        "-ERR CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be \
         parsed into an integer\r\n"
    );
    // hz is clamped to 500, as in Redis.
    assert_eq!(c.cmd_str("CONFIG SET hz 1000"), "+OK\r\n");
    assert_eq!(
        c.cmd_str("CONFIG GET hz"),
        "*2\r\n$2\r\nhz\r\n$3\r\n500\r\n"
    );
    let info = c.cmd_str("INFO server");
    assert_eq!(info_field(bulk_body(&info), "hz").as_deref(), Some("500"));
}

#[test]
fn config_errors_match_real_redis_byte_for_byte() {
    assert_replies_match_redis(
        &[],
        &[
            "CONFIG SET foo 1",
            "CONFIG SET hz abc",
            "CONFIG SET hz -1",
            "CONFIG SET maxclients 0",
            "CONFIG SET timeout -1",
            "CONFIG SET hz 10 hz 11",
            "CONFIG SET hz 10 foo",
            "CONFIG SET maxmemory abc",
            "CONFIG SET appendonly maybe",
            "CONFIG SET databases 3",
            "CONFIG GET nosuch",
            "CONFIG GET timeout",
            "CONFIG REWRITE",
            "CONFIG HELP",
            "CONFIG",
            "CONFIG FOO",
            "COMMAND GETKEYS get a",
            "COMMAND GETKEYS nosuch a",
            "COMMAND GETKEYS set a",
            "COMMAND GETKEYS ping a",
            "COMMAND LIST FILTERBY x y",
            "COMMAND LIST FILTERBY module x",
            "COMMAND DOCS nosuch",
            "ROLE",
            "SHUTDOWN ABORT",
            "SHUTDOWN NOSAVE SAVE",
            "SHUTDOWN ABORT NOW",
            "SHUTDOWN FOO",
        ],
    );
}

#[test]
fn requirepass_set_at_runtime_applies_to_new_connections() {
    let server = TestServer::start(&[]);
    let mut admin = server.raw();
    assert_eq!(admin.cmd_str("CONFIG SET requirepass secret"), "+OK\r\n");
    // The connection that set it stays authenticated, as in Redis.
    assert_eq!(admin.cmd_str("PING"), "+PONG\r\n");
    let mut fresh = server.raw();
    assert_eq!(
        fresh.cmd_str("PING"),
        "-NOAUTH Authentication required.\r\n"
    );
    assert_eq!(fresh.cmd_str("AUTH secret"), "+OK\r\n");
    let mut waiting = server.raw();
    assert_eq!(
        waiting.cmd_str("PING"),
        "-NOAUTH Authentication required.\r\n"
    );
    // Clearing it lets everyone in at once.
    assert_eq!(
        admin.cmd(&[b"CONFIG", b"SET", b"requirepass", b""]),
        b"+OK\r\n"
    );
    assert_eq!(waiting.cmd_str("PING"), "+PONG\r\n");
}

#[test]
fn config_resetstat_zeroes_the_counters() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    c.cmd_str("SET a 1");
    c.cmd_str("GET a");
    c.cmd_str("GET b c");
    assert_eq!(c.cmd_str("CONFIG RESETSTAT"), "+OK\r\n");
    let reply = c.cmd_str("INFO stats commandstats errorstats");
    let info = bulk_body(&reply);
    assert_eq!(
        info_field(info, "total_error_replies").as_deref(),
        Some("0")
    );
    assert_eq!(info_field(info, "keyspace_hits").as_deref(), Some("0"));
    assert_eq!(
        info_field(info, "total_commands_processed").as_deref(),
        Some("1")
    );
    assert!(!info.contains("cmdstat_set"), "{info}");
    assert!(info.contains("cmdstat_config|resetstat:calls=1,"), "{info}");
    assert!(info.ends_with("# Errorstats\r\n"), "{info}");
}

#[test]
fn config_rewrite_refuses_honestly() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert_eq!(
        c.cmd_str("CONFIG REWRITE"),
        "-ERR The server is running without a config file\r\n"
    );
}

#[test]
fn command_info_and_docs_describe_rows() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    let get_row = "*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n\
                   *3\r\n+@read\r\n+@string\r\n+@fast\r\n*0\r\n*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n\
                   +RO\r\n+access\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n\
                   *2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n\
                   $4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n\
                   :0\r\n*0\r\n";
    assert_eq!(
        c.cmd_str("COMMAND INFO get nosuch"),
        format!("*2\r\n{get_row}$-1\r\n")
    );
    let config = c.cmd_str("COMMAND INFO config|get");
    assert!(
        config.starts_with("*1\r\n*10\r\n$10\r\nconfig|get\r\n:-3\r\n*4\r\n+admin\r\n+noscript\r\n+loading\r\n+stale\r\n"),
        "{config}"
    );
    assert_eq!(
        c.cmd_str("COMMAND DOCS echo"),
        "*2\r\n$4\r\necho\r\n*6\r\n$7\r\nsummary\r\n$25\r\nReturns the given string.\r\n\
         $5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n"
    );
    let docs = c.cmd_str("COMMAND DOCS config");
    assert!(
        docs.contains("$11\r\nsubcommands\r\n*10\r\n$11\r\nconfig|help\r\n"),
        "{docs}"
    );
    assert_eq!(
        c.cmd_str("COMMAND LIST FILTERBY pattern config|g*"),
        "*1\r\n$10\r\nconfig|get\r\n"
    );
    let connection = c.cmd_str("COMMAND LIST FILTERBY aclcat connection");
    assert!(connection.contains("$5\r\nhello\r\n"), "{connection}");
    assert_eq!(
        c.cmd_str("COMMAND GETKEYS del a b c"),
        "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"
    );
}

#[test]
fn time_lastsave_and_role() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let time = c.cmd_str("TIME");
    let parts: Vec<&str> = time.split("\r\n").collect();
    assert_eq!(parts[0], "*2");
    let secs: u64 = parts[2].parse().unwrap();
    let micros: u64 = parts[4].parse().unwrap();
    assert!(secs.abs_diff(now) <= 2);
    assert!(micros < 1_000_000);
    let lastsave: u64 = c.cmd_str("LASTSAVE")[1..].trim().parse().unwrap();
    assert!(lastsave <= secs && secs - lastsave < 60);
    assert_eq!(c.cmd_str("ROLE"), "*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n");
}

#[test]
fn debug_is_refused_unless_enable_debug_command_allows_it() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert_eq!(
        c.cmd_str("DEBUG SLEEP 0"),
        "-ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", \
         you can run it from a local connection, otherwise you need to set this option in the \
         configuration file, and then restart the server.\r\n"
    );
    assert_eq!(
        c.cmd_str("CONFIG SET enable-debug-command yes"),
        "-ERR CONFIG SET failed (possibly related to argument 'enable-debug-command') - can't set immutable config\r\n"
    );
    let local = TestServer::start(&["--enable-debug-command", "local"]);
    assert_eq!(local.raw().cmd_str("DEBUG SLEEP 0"), "+OK\r\n");
}

#[test]
fn debug_object_sleep_and_active_expire() {
    let server = TestServer::start(&["--enable-debug-command", "yes"]);
    let mut c = server.raw();
    assert_eq!(c.cmd_str("DEBUG OBJECT k"), "-ERR no such key\r\n");
    c.cmd_str("SET k hello");
    let obj = c.cmd_str("DEBUG OBJECT k");
    assert!(obj.starts_with("+Value at:0x"), "{obj}");
    assert!(
        obj.contains(" refcount:1 encoding:embstr serializedlength:"),
        "{obj}"
    );
    assert!(obj.contains(" lru_seconds_idle:"), "{obj}");
    let started = std::time::Instant::now();
    assert_eq!(c.cmd_str("DEBUG SLEEP 0.2"), "+OK\r\n");
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(c.cmd_str("DEBUG SLEEP 0"), "+OK\r\n");
    // With active expiry off, an expired key stays in the keyspace until touched.
    assert_eq!(c.cmd_str("DEBUG SET-ACTIVE-EXPIRE 0"), "+OK\r\n");
    c.cmd_str("SET v 1 PX 1");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(c.cmd_str("DBSIZE"), ":2\r\n");
    assert_eq!(c.cmd_str("DEBUG SET-ACTIVE-EXPIRE 1"), "+OK\r\n");
    assert!(c
        .cmd_str("DEBUG HELP")
        .starts_with("*17\r\n+DEBUG <subcommand>"));
    assert_eq!(
        c.cmd_str("DEBUG NOPE"),
        "-ERR unknown subcommand or wrong number of arguments for 'NOPE'. Try DEBUG HELP.\r\n"
    );
}

fn wait_closed(c: &mut RawConn) -> Vec<u8> {
    c.read_to_close()
}

#[test]
fn shutdown_exits_without_a_reply() {
    let mut server = TestServer::start(&[]);
    let mut c = server.raw();
    c.send_cmd(&[b"SHUTDOWN"]);
    assert_eq!(wait_closed(&mut c), b"");
    let status = server
        .wait_exit(Duration::from_secs(5))
        .expect("server exited");
    assert!(status.success(), "{status:?}");
}

/// SHUTDOWN SAVE whose save fails (here: its `dir` is gone) keeps the server up, as in Redis,
/// unless FORCE is given.
#[test]
fn shutdown_save_fails_when_the_save_fails_unless_forced() {
    let mut server = TestServer::start(&[]);
    let mut c = server.raw();
    std::fs::remove_dir_all(&server.dir).expect("remove the server's dir");
    assert_eq!(
        c.cmd_str("SHUTDOWN SAVE"),
        "-ERR Errors trying to SHUTDOWN. Check logs.\r\n"
    );
    assert_eq!(
        c.cmd_str("SHUTDOWN ABORT"),
        "-ERR No shutdown in progress.\r\n"
    );
    assert_eq!(c.cmd_str("PING"), "+PONG\r\n");
    c.send_cmd(&[b"SHUTDOWN", b"SAVE", b"FORCE"]);
    assert_eq!(wait_closed(&mut c), b"");
    assert!(server.wait_exit(Duration::from_secs(5)).is_some());
}

/// Runs the server binary with `args` expecting it to refuse to start; returns its stderr.
fn startup_failure(args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ferrodis-server"))
        .args(args)
        .output()
        .expect("run ferrodis-server");
    assert!(!out.status.success(), "server started with {args:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn temp_config(name: &str, text: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("ferrodis-{}-{name}.conf", std::process::id()));
    std::fs::write(&path, text).expect("write config file");
    path
}

#[test]
fn config_file_errors_stop_startup_naming_the_line() {
    let path = temp_config("bad", "# comment\nport 0\nfrobnicate yes\n");
    let err = startup_failure(&[path.to_str().unwrap()]);
    assert!(err.contains("line 3"), "{err}");
    assert!(err.contains("frobnicate"), "{err}");
    let path2 = temp_config("badvalue", "timeout -5\n");
    let err = startup_failure(&[path2.to_str().unwrap()]);
    assert!(err.contains("line 1") && err.contains("timeout"), "{err}");
    let err = startup_failure(&["--hz", "fast"]);
    assert!(err.contains("hz"), "{err}");
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_file(path2);
}

#[test]
fn config_file_values_are_applied_and_reported() {
    use std::io::{BufRead, BufReader};
    let path = temp_config(
        "good",
        "port 0\nhz 25\ntimeout 100\nrequirepass \"s3 cret\"\n",
    );
    // The config file must come first, so start the binary by hand and read the port it logs.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ferrodis-server"))
        .arg(&path)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start ferrodis-server");
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut port = 0u16;
    let mut line = String::new();
    while port == 0 && reader.read_line(&mut line).unwrap_or(0) > 0 {
        if let Some(p) = line.split("port=").nth(1) {
            port = p.trim().parse().unwrap_or(0);
        }
        line.clear();
    }
    assert!(port != 0, "no port in the startup log");
    let mut c = RawConn::connect(port);
    assert_eq!(c.cmd(&[b"AUTH", b"s3 cret"]), b"+OK\r\n");
    assert_eq!(
        c.cmd_str("CONFIG GET hz timeout"),
        "*4\r\n$2\r\nhz\r\n$2\r\n25\r\n$7\r\ntimeout\r\n$3\r\n100\r\n"
    );
    let info = c.cmd_str("INFO server");
    let file = info_field(bulk_body(&info), "config_file").unwrap();
    assert!(file.ends_with("-good.conf"), "{file}");
    // CONFIG REWRITE puts the live values back into that file.
    assert_eq!(c.cmd_str("CONFIG SET hz 40 maxclients 77"), "+OK\r\n");
    assert_eq!(c.cmd_str("CONFIG REWRITE"), "+OK\r\n");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "port 0\nhz 40\ntimeout 100\nrequirepass \"s3 cret\"\n\
         # Generated by CONFIG REWRITE\nmaxclients 77\n\
         user default on #4b94167406ff7fd009a1b85f53f3426bd704a204fde72886253ef678ca4f097a ~* &* +@all\n"
    );
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_file(path);
}

#[test]
fn config_set_validation_matches_real_redis_for_every_shared_directive() {
    if !require_redis_server() {
        return;
    }
    // Redis is started with `save ""` too (RealRedis), so both defaults are compared alike.
    let server = TestServer::start(&["--save", ""]);
    let redis = RealRedis::start(&[]);
    let (mut ours, mut theirs) = (server.raw(), redis.raw());
    let directives = [
        "hz",
        "loglevel",
        "proto-max-bulk-len",
        "client-query-buffer-limit",
        "list-max-listpack-size",
        "list-max-ziplist-size",
        "list-compress-depth",
        "hash-max-listpack-entries",
        "hash-max-listpack-value",
        "set-max-intset-entries",
        "zset-max-listpack-entries",
        "zset-max-listpack-value",
        "notify-keyspace-events",
        "busy-reply-threshold",
        "maxmemory",
        "maxmemory-policy",
        "maxmemory-samples",
        "lazyfree-lazy-user-del",
        "save",
        "appendonly",
        "tcp-keepalive",
        "slowlog-log-slower-than",
        "slowlog-max-len",
        "client-output-buffer-limit",
    ];
    let mut mismatches = Vec::new();
    for name in directives {
        let get = format!("CONFIG GET {name}");
        let (ours_default, theirs_default) = (ours.cmd_str(&get), theirs.cmd_str(&get));
        if ours_default != theirs_default {
            mismatches.push(format!(
                "{name} default: {ours_default:?} vs {theirs_default:?}"
            ));
        }
        for value in ["abc", "-1", "0", "2147483648", "-2147483649"] {
            let set = format!("CONFIG SET {name} {value}");
            let (a, b) = (ours.cmd_str(&set), theirs.cmd_str(&set));
            if a != b {
                mismatches.push(format!("{set}: {a:?} vs Redis {b:?}"));
            }
        }
        // Put both back (values were read in RESP2: *2, $name, $value).
        for (conn, reply) in [(&mut ours, &ours_default), (&mut theirs, &theirs_default)] {
            if let Some(value) = reply.split("\r\n").nth(4) {
                conn.cmd(&[b"CONFIG", b"SET", name.as_bytes(), value.as_bytes()]);
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn sigterm_and_sigint_shut_the_server_down_cleanly() {
    for signal in ["-TERM", "-INT"] {
        let mut server = TestServer::start(&[]);
        let mut c = server.raw();
        assert_eq!(c.cmd_str("SET k v"), "+OK\r\n");
        let sent = std::process::Command::new("kill")
            .arg(signal)
            .arg(server.pid().to_string())
            .status()
            .expect("run kill");
        assert!(sent.success());
        let exit = server
            .wait_exit(std::time::Duration::from_secs(10))
            .expect("the server exits after the signal");
        assert!(exit.success(), "{signal}: exit status {exit:?}");
        // The client sees the connection closed, not a hang.
        assert!(c.read_to_close().is_empty());
    }
}
