//! Startup configuration against redis-server: the directives of Redis's own `redis.conf` and
//! of its test suite's `default.conf` load; a value that needs a feature ferrodis lacks stops
//! startup with Redis's "FATAL CONFIG FILE ERROR" text naming the line; `logfile`, `pidfile`,
//! `dir` and `always-show-logo` behave as in Redis; CONFIG GET knows every Redis 7.0 parameter.

mod common;

use common::{require_redis_server, RawConn, RealRedis, TestServer};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The test suite's `tests/assets/default.conf` of Redis 7.0.15, as the harness writes it
/// (with the `unixsocket` line it adds to every server).
const SUITE_DEFAULT_CONF: &str = "\
always-show-logo yes
notify-keyspace-events KEA
daemonize no
pidfile PIDFILE
port 0
timeout 0
bind 127.0.0.1
loglevel verbose
logfile LOGFILE
databases 16
latency-monitor-threshold 1
repl-diskless-sync-delay 0
save 900 1
rdbcompression yes
dbfilename dump.rdb
dir DIR
slave-serve-stale-data yes
appendonly no
appendfsync everysec
no-appendfsync-on-rewrite no
activerehashing yes
enable-protected-configs yes
enable-debug-command yes
enable-module-command yes
propagation-error-behavior panic
unixsocket DIR/socket
";

/// A fresh directory under the system temp dir, unique to this test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ferrodis-config-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    std::fs::canonicalize(&dir).expect("canonical temp dir")
}

/// Runs a server binary with `args` expecting it to refuse to start; returns its stderr.
fn refused_start(binary: &str, args: &[&str]) -> String {
    let out = Command::new(binary)
        .args(args)
        .output()
        .expect("run server binary");
    assert!(!out.status.success(), "{binary} started with {args:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn ferrodis() -> &'static str {
    env!("CARGO_BIN_EXE_ferrodis-server")
}

/// Waits until `path` holds a line containing `needle`; returns the file's text.
fn wait_for_log(path: &Path, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.contains(needle) {
            return text;
        }
        assert!(Instant::now() < deadline, "no {needle:?} in log:\n{text}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn suite_default_conf_starts_logs_to_file_and_writes_pidfile() {
    let dir = temp_dir("suite");
    let (log, pidfile) = (dir.join("stdout"), dir.join("redis.pid"));
    let conf = SUITE_DEFAULT_CONF
        .replace("PIDFILE", pidfile.to_str().unwrap())
        .replace("LOGFILE", log.to_str().unwrap())
        .replace("DIR", dir.to_str().unwrap());
    let conf_path = dir.join("redis.conf");
    std::fs::write(&conf_path, conf).unwrap();
    // A line from an earlier run: the log is appended to, never truncated.
    std::fs::write(&log, "earlier line\n").unwrap();
    let mut child = Command::new(ferrodis())
        .arg(&conf_path)
        .current_dir(std::env::temp_dir())
        .stdout(Stdio::null())
        .spawn()
        .expect("start ferrodis-server");
    let pid = child.id();
    let text = wait_for_log(&log, "Ready to accept connections");
    assert!(text.starts_with("earlier line\n"), "{text}");
    // The lines Redis's harness waits for, in Redis's log format.
    assert!(text.contains(&format!(" PID: {pid}\n")), "{text}");
    let initialized = format!("{pid}:M ");
    assert!(
        text.lines()
            .any(|l| l.starts_with(&initialized) && l.ends_with(" # Server initialized")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with(&initialized) && l.ends_with(" * Ready to accept connections")),
        "{text}"
    );
    let port: u16 = text
        .split("port=")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|p| p.parse().ok())
        .expect("port in log");
    assert_eq!(
        std::fs::read_to_string(&pidfile).unwrap(),
        format!("{pid}\n")
    );

    let mut c = RawConn::connect(port);
    // `dir` is the working directory, reported absolute.
    assert_eq!(
        c.cmd_str("CONFIG GET dir"),
        format!(
            "*2\r\n$3\r\ndir\r\n${}\r\n{}\r\n",
            dir.to_str().unwrap().len(),
            dir.to_str().unwrap()
        )
    );
    assert_eq!(
        c.cmd_str("CONFIG GET always-show-logo"),
        "*2\r\n$16\r\nalways-show-logo\r\n$3\r\nyes\r\n"
    );
    assert_eq!(
        c.cmd_str("CONFIG GET latency-monitor-threshold"),
        "*2\r\n$25\r\nlatency-monitor-threshold\r\n$1\r\n1\r\n"
    );
    // The TLS port is opened at startup only (Redis can rebind it at run time).
    assert_eq!(
        c.cmd_str("CONFIG SET tls-port 6380"),
        "-ERR CONFIG SET failed (possibly related to argument 'tls-port') - can't set \
         immutable config\r\n"
    );
    assert_eq!(
        c.cmd_str("CONFIG SET cluster-enabled yes"),
        "-ERR CONFIG SET failed (possibly related to argument 'cluster-enabled') - can't set \
         immutable config\r\n"
    );
    assert_eq!(c.cmd_str("CONFIG SET repl-backlog-size 2mb"), "+OK\r\n");
    assert_eq!(
        c.cmd_str("CONFIG GET repl-backlog-size"),
        "*2\r\n$17\r\nrepl-backlog-size\r\n$7\r\n2097152\r\n"
    );
    assert_eq!(c.cmd_str("CONFIG SET min-replicas-to-write 1"), "+OK\r\n");
    assert_eq!(
        c.cmd_str("SET k v"),
        "-NOREPLICAS Not enough good replicas to write.\r\n"
    );
    assert_eq!(c.cmd_str("CONFIG SET min-replicas-to-write 0"), "+OK\r\n");
    // Hidden debugging parameters answer to their exact name only.
    assert_eq!(
        c.cmd_str("CONFIG GET key-load-delay"),
        "*2\r\n$14\r\nkey-load-delay\r\n$1\r\n0\r\n"
    );
    assert_eq!(c.cmd_str("CONFIG GET key-load-*"), "*0\r\n");

    c.send_str("SHUTDOWN NOSAVE");
    let status = child.wait().expect("wait for exit");
    assert!(status.success(), "{status:?}");
    assert!(!pidfile.exists(), "the pid file outlived the server");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("bye bye"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn config_file_errors_read_like_redis() {
    if !require_redis_server() {
        return;
    }
    let dir = temp_dir("errors");
    // Unknown directive, bad value, unbalanced quotes: byte for byte what redis-server prints.
    for (name, text) in [
        ("unknown", "# comment\nport 0\nfrobnicate yes\n"),
        ("badvalue", "port 0\ntimeout -5\n"),
        ("quotes", "port 0\nrequirepass \"abc\n"),
        ("empty", "port\n"),
        ("replicaport", "port 0\nreplicaof 127.0.0.1 abc\n"),
        ("replicaargs", "replicaof 127.0.0.1\n"),
        ("sigint", "shutdown-on-sigint sometimes\n"),
        ("protected", "enable-protected-configs maybe\n"),
    ] {
        let path = dir.join(format!("{name}.conf"));
        std::fs::write(&path, text).unwrap();
        let path = path.to_str().unwrap();
        assert_eq!(
            refused_start(ferrodis(), &[path]),
            refused_start("redis-server", &[path]),
            "{name}"
        );
    }
    // Command-line options are lines after the file's, as redis-server numbers them.
    assert_eq!(
        refused_start(ferrodis(), &["--port", "0", "--hz", "fast"]),
        refused_start("redis-server", &["--port", "0", "--hz", "fast"]),
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn values_needing_a_missing_feature_stop_startup_naming_the_line() {
    let dir = temp_dir("refused");
    for (line, reason) in [
        (
            "daemonize yes",
            "'daemonize yes' needs forking into the background, which ferrodis does not \
             implement yet",
        ),
        (
            "cluster-enabled yes",
            "'cluster-enabled yes' needs cluster mode, which ferrodis does not implement yet",
        ),
    ] {
        let log = dir.join("log");
        let path = dir.join("refused.conf");
        std::fs::write(
            &path,
            format!(
                "port 0\nlogfile {}\nappendonly no\n{line}\n",
                log.to_str().unwrap()
            ),
        )
        .unwrap();
        let expected = format!(
            "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n\
             Reading the configuration file, at line 4\n>>> '{line}'\n{reason}\n"
        );
        assert_eq!(
            refused_start(ferrodis(), &[path.to_str().unwrap()]),
            expected
        );
        // The refusal is in the log file too.
        let logged = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(logged.ends_with(&expected), "{line}: log has {logged:?}");
        let _ = std::fs::remove_file(&log);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_redis_conf_directive_loads() {
    if !require_redis_server() {
        return;
    }
    // Every directive redis-server knows, written back as a config file with Redis's own
    // defaults (the ones that name a place or a port adjusted), must load into ferrodis.
    let redis = RealRedis::start(&[]);
    let mut r = redis.raw();
    let reply = r.cmd_str("CONFIG GET *");
    let mut lines = reply.split("\r\n").filter(|l| !l.starts_with(['*', '$']));
    let mut conf = String::new();
    let mut names = Vec::new();
    // The server's own empty directory: a `dump.rdb` left in the shared temp directory by
    // another program must not be loaded.
    let dir = temp_dir("allconf");
    while let (Some(name), Some(value)) = (lines.next(), lines.next()) {
        names.push(name.to_string());
        if (name == "replicaof" || name == "slaveof") && value.is_empty() {
            continue; // `replicaof ""` is refused by redis-server too
        }
        let value = match name {
            "port" => "0".to_string(),
            "dir" => dir.display().to_string(),
            "daemonize" => "no".to_string(),
            "logfile" | "pidfile" | "unixsocket" => String::new(),
            "bind" => "127.0.0.1".to_string(),
            _ => value.to_string(),
        };
        conf.push_str(&format!("{name} \"{value}\"\n"));
    }
    assert!(names.len() > 150, "{reply}");
    let path = dir.join("all.conf");
    std::fs::write(&path, &conf).unwrap();
    let mut child = Command::new(ferrodis())
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ferrodis-server");
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut port = 0u16;
    let mut line = String::new();
    while port == 0 && reader.read_line(&mut line).unwrap_or(0) > 0 {
        if let Some(p) = line.split("port=").nth(1) {
            port = p.trim().trim_end_matches('.').parse().unwrap_or(0);
        }
        line.clear();
    }
    if port == 0 {
        let mut err = String::new();
        let _ = std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err);
        panic!("ferrodis refused Redis's own configuration:\n{err}");
    }
    // CONFIG GET * names every parameter redis-server has.
    let mut c = RawConn::connect(port);
    let ours = c.cmd_str("CONFIG GET *");
    for name in &names {
        assert!(
            ours.contains(&format!("\r\n{name}\r\n")),
            "CONFIG GET * lacks {name}"
        );
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn text_directives_report_redis_defaults() {
    if !require_redis_server() {
        return;
    }
    let redis = RealRedis::start(&[]);
    let mut r = redis.raw();
    // TestServer sets repl-diskless-sync-delay 0: both must show Redis's default here.
    let server = TestServer::start(&["--repl-diskless-sync-delay", "5"]);
    let mut c = server.raw();
    for u in ferrodis::config::TEXT_DIRECTIVES {
        let ours = c.cmd_args(&["CONFIG", "GET", u.name]);
        let theirs = r.cmd_args(&["CONFIG", "GET", u.name]);
        assert_eq!(ours, theirs, "{}", u.name);
    }
    // Setting a knob back to Redis's default is always accepted.
    for u in ferrodis::config::TEXT_DIRECTIVES
        .iter()
        .filter(|u| u.mutable)
    {
        assert_eq!(
            c.cmd_args(&["CONFIG", "SET", u.name, u.default]),
            "+OK\r\n",
            "{}",
            u.name
        );
    }
}

#[test]
fn command_line_options_follow_redis_server_rules() {
    // `--save` right before another option, or last, means `save ""`; an argument holding
    // the name and the value is one line; a name alone takes the next argument as its value.
    let server = TestServer::start(&[
        "--save",
        "--maxmemory 700mb",
        "--proc-title-template",
        "--my--title--template",
        "--loglevel",
        "verbose",
        "--shutdown-on-sigint",
        "force now nosave",
    ]);
    let mut c = server.raw();
    assert_eq!(
        c.cmd_str("CONFIG GET save"),
        "*2\r\n$4\r\nsave\r\n$0\r\n\r\n"
    );
    assert_eq!(
        c.cmd_str("CONFIG GET maxmemory"),
        "*2\r\n$9\r\nmaxmemory\r\n$9\r\n734003200\r\n"
    );
    assert_eq!(
        c.cmd_str("CONFIG GET proc-title-template"),
        "*2\r\n$19\r\nproc-title-template\r\n$21\r\n--my--title--template\r\n"
    );
    // Flags come back in Redis's table order.
    assert_eq!(
        c.cmd_str("CONFIG GET shutdown-on-sigint"),
        "*2\r\n$18\r\nshutdown-on-sigint\r\n$16\r\nnosave now force\r\n"
    );
    assert_eq!(
        c.cmd_str("CONFIG GET loglevel"),
        "*2\r\n$8\r\nloglevel\r\n$7\r\nverbose\r\n"
    );
}

#[test]
fn protected_configs_follow_enable_protected_configs() {
    let server = TestServer::start(&["--enable-protected-configs", "no"]);
    let mut c = server.raw();
    assert_eq!(
        c.cmd_str("CONFIG SET dir /tmp"),
        "-ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected \
         config\r\n"
    );
    assert_eq!(
        c.cmd_str("CONFIG SET dbfilename x.rdb"),
        "-ERR CONFIG SET failed (possibly related to argument 'dbfilename') - can't set \
         protected config\r\n"
    );
    let server = TestServer::start(&["--enable-protected-configs", "yes"]);
    let mut c = server.raw();
    assert_eq!(c.cmd_str("CONFIG SET dbfilename x.rdb"), "+OK\r\n");
}

#[test]
fn old_names_share_their_value_and_rewrite_keeps_unimplemented_parameters() {
    let dir = temp_dir("rewrite");
    let path = dir.join("rewrite.conf");
    std::fs::write(&path, "port 0\nslave-serve-stale-data yes\n").unwrap();
    let mut child = Command::new(ferrodis())
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start ferrodis-server");
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut port = 0u16;
    let mut line = String::new();
    while port == 0 && reader.read_line(&mut line).unwrap_or(0) > 0 {
        if let Some(p) = line.split("port=").nth(1) {
            port = p.trim().trim_end_matches('.').parse().unwrap_or(0);
        }
        line.clear();
    }
    let mut c = RawConn::connect(port);
    assert_eq!(
        c.cmd_str("CONFIG SET replica-serve-stale-data no"),
        "+OK\r\n"
    );
    assert_eq!(
        c.cmd_str("CONFIG GET slave-serve-stale-data"),
        "*2\r\n$22\r\nslave-serve-stale-data\r\n$2\r\nno\r\n"
    );
    assert_eq!(
        c.cmd_args(&["CONFIG", "SET", "shutdown-on-sigterm", "now nosave"]),
        "+OK\r\n"
    );
    assert_eq!(c.cmd_str("CONFIG REWRITE"), "+OK\r\n");
    let text = std::fs::read_to_string(&path).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        text,
        "port 0\nslave-serve-stale-data no\n# Generated by CONFIG REWRITE\n\
         shutdown-on-sigterm nosave now\nuser default on nopass ~* &* +@all\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn config_set_loglevel_changes_what_is_logged() {
    let dir = temp_dir("loglevel");
    let log = dir.join("log");
    let mut child = Command::new(ferrodis())
        .args(["--port", "0", "--logfile", log.to_str().unwrap()])
        .arg("--dir")
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start ferrodis-server");
    let text = wait_for_log(&log, "Ready to accept connections");
    let port: u16 = text
        .split("port=")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|p| p.parse().ok())
        .expect("port in log");
    let mut c = RawConn::connect(port);
    assert_eq!(c.cmd_str("CONFIG SET loglevel warning"), "+OK\r\n");
    c.send_str("SHUTDOWN SAVE");
    let _ = child.wait();
    let text = std::fs::read_to_string(&log).unwrap();
    // Warnings are still written ("bye bye" is one in Redis 7.0); notices no longer are.
    assert!(text.contains(" # User requested shutdown..."), "{text}");
    assert!(text.contains("ready to exit, bye bye"), "{text}");
    assert!(!text.contains("Saving the final RDB snapshot"), "{text}");
    assert!(dir.join("dump.rdb").exists(), "the save itself happened");
    let _ = std::fs::remove_dir_all(&dir);
}
