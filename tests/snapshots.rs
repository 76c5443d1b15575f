//! Background snapshots against the real binary: BGSAVE in a forked child, save points,
//! FLUSHALL and SHUTDOWN stopping a running child, `-MISCONF` after a failed save, and the
//! dataset digest (DEBUG DIGEST / DIGEST-VALUE) computed as redis-server computes it.

mod common;

use common::{require_redis_server, RawConn, RealRedis, TestServer};
use std::time::{Duration, Instant};

fn info_field(c: &mut RawConn, field: &str) -> String {
    let info = c.cmd_str("INFO everything");
    info.split("\r\n")
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("INFO has no {field}"))
        .to_string()
}

/// Waits until INFO `field` is `value` (a background save ending, a save point firing).
fn wait_for_info(c: &mut RawConn, field: &str, value: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while info_field(c, field) != value {
        assert!(Instant::now() < deadline, "{field} never became {value}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The pid of the server's BGSAVE child, from /proc (the child of `parent`).
fn child_of(parent: u32) -> u32 {
    let children = std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children"))
        .expect("read /proc children");
    children
        .split_whitespace()
        .next()
        .and_then(|p| p.parse().ok())
        .expect("the server has a child")
}

#[test]
fn bgsave_writes_the_snapshot_in_a_child_and_resets_the_change_counter() {
    let server = TestServer::start(&["--save", "", "--enable-debug-command", "yes"]);
    let mut c = server.raw();
    assert_eq!(c.cmd_str("MSET a 1 b 2 c 3"), "+OK\r\n");
    assert_eq!(info_field(&mut c, "rdb_changes_since_last_save"), "3");
    let before = c.cmd_str("LASTSAVE");
    assert_eq!(c.cmd_str("BGSAVE"), "+Background saving started\r\n");
    wait_for_info(&mut c, "rdb_bgsave_in_progress", "0");
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "ok");
    assert_eq!(info_field(&mut c, "rdb_changes_since_last_save"), "0");
    assert_eq!(info_field(&mut c, "total_forks"), "1");
    assert_ne!(info_field(&mut c, "rdb_last_bgsave_time_sec"), "-1");
    assert!(c.cmd_str("LASTSAVE") >= before);
    assert!(server.dir.join("dump.rdb").exists());
    // The file holds the data: reload it and compare the digest.
    let digest = c.cmd_str("DEBUG DIGEST");
    assert_eq!(c.cmd_str("DEBUG RELOAD NOSAVE"), "+OK\r\n");
    assert_eq!(c.cmd_str("DEBUG DIGEST"), digest);
    assert_eq!(
        c.cmd_str("BGSAVE SCHEDULE"),
        "+Background saving started\r\n"
    );
    wait_for_info(&mut c, "rdb_bgsave_in_progress", "0");
    assert_eq!(
        c.cmd_str("BGSAVE NOW"),
        "-ERR syntax error\r\n",
        "only SCHEDULE is an option"
    );
}

#[test]
fn a_second_bgsave_is_refused_and_one_inside_exec_is_scheduled() {
    let server = TestServer::start(&["--save", "", "--enable-debug-command", "yes"]);
    let mut c = server.raw();
    assert_eq!(c.cmd_str("DEBUG POPULATE 100"), "+OK\r\n");
    // 100 keys x 20 ms: the child is still at work for the next commands.
    assert_eq!(c.cmd_str("CONFIG SET rdb-key-save-delay 20000"), "+OK\r\n");
    assert_eq!(c.cmd_str("BGSAVE"), "+Background saving started\r\n");
    assert_eq!(info_field(&mut c, "rdb_bgsave_in_progress"), "1");
    assert_eq!(
        c.cmd_str("BGSAVE"),
        "-ERR Background save already in progress\r\n"
    );
    assert_eq!(
        c.cmd_str("SAVE"),
        "-ERR Background save already in progress\r\n"
    );
    // FLUSHALL stops the child: its snapshot is stale (Redis: killRDBChild).
    assert_eq!(c.cmd_str("FLUSHALL"), "+OK\r\n");
    assert_eq!(info_field(&mut c, "rdb_bgsave_in_progress"), "0");
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "ok");
    assert!(!server.dir.join("dump.rdb").exists());
    // Inside a transaction the save waits for the next cron turn.
    assert_eq!(c.cmd_str("CONFIG SET rdb-key-save-delay 0"), "+OK\r\n");
    assert_eq!(c.cmd_str("MULTI"), "+OK\r\n");
    assert_eq!(c.cmd_str("BGSAVE"), "+QUEUED\r\n");
    assert_eq!(c.cmd_str("EXEC"), "*1\r\n+Background saving scheduled\r\n");
    wait_for_info(&mut c, "total_forks", "2");
    wait_for_info(&mut c, "rdb_bgsave_in_progress", "0");
    assert!(server.dir.join("dump.rdb").exists());
}

#[test]
fn a_failed_bgsave_stops_writes_until_a_save_succeeds() {
    let server = TestServer::start(&["--save", "3600 1", "--enable-debug-command", "yes"]);
    let mut c = server.raw();
    assert_eq!(c.cmd_str("DEBUG POPULATE 100"), "+OK\r\n");
    assert_eq!(c.cmd_str("SET x x"), "+OK\r\n");
    assert_eq!(
        c.cmd_str("CONFIG SET rdb-key-save-delay 1000000"),
        "+OK\r\n"
    );
    assert_eq!(c.cmd_str("BGSAVE"), "+Background saving started\r\n");
    let child = child_of(server.pid());
    std::process::Command::new("kill")
        .args(["-9", &child.to_string()])
        .status()
        .expect("kill the child");
    wait_for_info(&mut c, "rdb_bgsave_in_progress", "0");
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "err");
    let misconf = "-MISCONF Redis is configured to save RDB snapshots, but it's currently unable \
                   to persist to disk. Commands that may modify the data set are disabled, \
                   because this instance is configured to report errors during writes if RDB \
                   snapshotting fails (stop-writes-on-bgsave-error option). Please check the \
                   Redis logs for details about the RDB error.\r\n";
    assert_eq!(c.cmd_str("GET x"), "$1\r\nx\r\n");
    assert_eq!(c.cmd_str("SET x y"), misconf);
    assert_eq!(c.cmd_str("PING"), misconf);
    // From a script, Redis's script error suffix follows (checked against redis-server).
    assert_eq!(
        c.cmd_args(&["EVAL", "return redis.call('set','x',1)", "1", "x"]),
        misconf.replace(
            ".\r\n",
            ". script: 4cb91861d207e5689edc816618ab68f9d6de3b44, on @user_script:1.\r\n"
        )
    );
    // So is a write queued in a transaction, which then aborts.
    assert_eq!(c.cmd_str("MULTI"), "+OK\r\n");
    assert_eq!(c.cmd_str("SET x 1"), misconf);
    assert_eq!(
        c.cmd_str("EXEC"),
        "-EXECABORT Transaction discarded because of previous errors.\r\n"
    );
    // A script with flags but not `no-writes` is a write command: refused before it starts,
    // with the same text (checked against redis-server 7.0.15).
    assert_eq!(
        c.cmd_args(&["EVAL", "#!lua\nreturn redis.call('set','x',1)", "1", "x"]),
        misconf
    );
    assert_eq!(
        c.cmd_args(&[
            "EVAL",
            "#!lua flags=no-writes\nreturn redis.call('get','x')",
            "1",
            "x"
        ]),
        "$1\r\nx\r\n"
    );
    // A transaction with a write is refused at EXEC; one of reads runs.
    assert_eq!(c.cmd_str("MULTI"), "+OK\r\n");
    assert_eq!(c.cmd_str("GET x"), "+QUEUED\r\n");
    assert_eq!(c.cmd_str("EXEC"), "*1\r\n$1\r\nx\r\n");
    // Without save points, or with the option off, writes are allowed.
    assert_eq!(
        c.cmd_str("CONFIG SET stop-writes-on-bgsave-error no"),
        "+OK\r\n"
    );
    assert_eq!(c.cmd_str("SET x y"), "+OK\r\n");
    assert_eq!(
        c.cmd_str("CONFIG SET stop-writes-on-bgsave-error yes"),
        "+OK\r\n"
    );
    assert_eq!(c.cmd_str("SET x y"), misconf);
    // A successful save lifts the refusal.
    assert_eq!(c.cmd_str("CONFIG SET rdb-key-save-delay 0"), "+OK\r\n");
    assert_eq!(c.cmd_str("BGSAVE"), "+Background saving started\r\n");
    wait_for_info(&mut c, "rdb_bgsave_in_progress", "0");
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "ok");
    assert_eq!(c.cmd_str("SET x z"), "+OK\r\n");
}

#[test]
fn a_save_point_starts_a_background_save() {
    // "1 2": due once two changes exist and more than a second has passed since the last save.
    let server = TestServer::start(&["--save", "1 2"]);
    let mut c = server.raw();
    assert_eq!(c.cmd_str("SET a 1"), "+OK\r\n");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        info_field(&mut c, "total_forks"),
        "0",
        "one change is not enough"
    );
    assert_eq!(c.cmd_str("SET b 2"), "+OK\r\n");
    wait_for_info(&mut c, "total_forks", "1");
    wait_for_info(&mut c, "rdb_changes_since_last_save", "0");
    assert!(server.dir.join("dump.rdb").exists());
}

#[test]
fn shutdown_stops_a_running_bgsave_and_saves_in_the_foreground() {
    let mut server = TestServer::start(&["--save", "", "--enable-debug-command", "yes"]);
    let mut c = server.raw();
    assert_eq!(c.cmd_str("DEBUG POPULATE 50"), "+OK\r\n");
    assert_eq!(c.cmd_str("CONFIG SET rdb-key-save-delay 100000"), "+OK\r\n");
    assert_eq!(c.cmd_str("BGSAVE"), "+Background saving started\r\n");
    let child = child_of(server.pid());
    assert_eq!(c.cmd_str("CONFIG SET rdb-key-save-delay 0"), "+OK\r\n");
    c.send_str("SHUTDOWN SAVE");
    assert!(server.wait_exit(Duration::from_secs(10)).is_some());
    assert!(
        !std::path::Path::new(&format!("/proc/{child}")).exists(),
        "the child was stopped and reaped"
    );
    assert!(server.dir.join("dump.rdb").exists());
    assert!(!server.dir.join(format!("temp-{child}.rdb")).exists());
}

/// DEBUG DIGEST and DIGEST-VALUE agree with redis-server's on the same data, for every type
/// and encoding, TTLs and several databases.
#[test]
fn dataset_digest_matches_redis() {
    if !require_redis_server() {
        return;
    }
    let ours = TestServer::start(&["--enable-debug-command", "yes"]);
    let real = RealRedis::start(&["--enable-debug-command", "yes"]);
    let (mut a, mut b) = (ours.raw(), real.raw());
    let big: Vec<String> = (0..300).map(|i| format!("m{i}")).collect();
    let mut script: Vec<Vec<String>> = vec![
        vec!["SET".into(), "s".into(), "hello".into()],
        vec!["SET".into(), "n".into(), "-12345".into()],
        vec![
            "SET".into(),
            "e".into(),
            "v".into(),
            "EX".into(),
            "1000".into(),
        ],
        vec![
            "RPUSH".into(),
            "l".into(),
            "a".into(),
            "7".into(),
            "".into(),
        ],
        vec![
            "SADD".into(),
            "si".into(),
            "3".into(),
            "1".into(),
            "2".into(),
        ],
        vec!["SADD".into(), "ss".into(), "x".into(), "yy".into()],
        vec![
            "HSET".into(),
            "h".into(),
            "f".into(),
            "v".into(),
            "g".into(),
            "12".into(),
        ],
        vec![
            "ZADD".into(),
            "z".into(),
            "1.5".into(),
            "a".into(),
            "-inf".into(),
            "b".into(),
        ],
        vec![
            "ZADD".into(),
            "z".into(),
            "0.1".into(),
            "c".into(),
            "3e20".into(),
            "d".into(),
        ],
        vec!["SELECT".into(), "5".into()],
        vec!["SET".into(), "k".into(), "in db 5".into()],
        vec![
            "DEBUG".into(),
            "POPULATE".into(),
            "200".into(),
            "p".into(),
            "30".into(),
        ],
    ];
    for (kind, cmd) in [
        ("bl", "RPUSH"),
        ("bs", "SADD"),
        ("bh", "HSET"),
        ("bz", "ZADD"),
    ] {
        let mut args = vec![cmd.to_string(), kind.to_string()];
        for (i, m) in big.iter().enumerate() {
            if cmd == "HSET" || cmd == "ZADD" {
                args.push(if cmd == "ZADD" {
                    i.to_string()
                } else {
                    m.clone()
                });
            }
            args.push(m.clone());
        }
        script.push(args);
    }
    for args in &script {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_eq!(a.cmd_args(&args), b.cmd_args(&args), "{args:?}");
    }
    assert_eq!(a.cmd_str("DEBUG DIGEST"), b.cmd_str("DEBUG DIGEST"));
    assert_eq!(a.cmd_str("SELECT 0"), b.cmd_str("SELECT 0"));
    let values = "DEBUG DIGEST-VALUE s n e l si ss h z bl bs bh bz missing";
    let (ours_values, theirs_values) = (a.cmd_str(values), b.cmd_str(values));
    assert_eq!(ours_values, theirs_values);
    assert!(ours_values.starts_with("*13\r\n+"), "{ours_values}");
    assert_eq!(a.cmd_str("FLUSHALL"), "+OK\r\n");
    assert_eq!(
        a.cmd_str("DEBUG DIGEST"),
        "+0000000000000000000000000000000000000000\r\n"
    );
}
