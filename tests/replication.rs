//! Replication with real programs: redis-server master -> ferrodis replica, ferrodis master ->
//! redis-server replica, ferrodis -> ferrodis (and a chained sub-replica), under a seeded
//! random write load of every type (TTLs, MULTI, scripts, expiries) during and after the full
//! sync. Each ends with both sides at the same `master_repl_offset` and the same
//! `DEBUG DIGEST`. Partial resynchronization: the replica's link is killed under load and
//! must come back with `+CONTINUE` (`sync_partial_ok` grows). WAIT counts acknowledgements.

mod common;

use common::{require_redis_server, RawConn, RealRedis, TestServer};
use std::time::{Duration, Instant};

/// A server of either kind, by port.
trait Node {
    fn port(&self) -> u16;
    fn conn(&self) -> RawConn {
        RawConn::connect(self.port())
    }
}

impl Node for TestServer {
    fn port(&self) -> u16 {
        self.port
    }
}

impl Node for RealRedis {
    fn port(&self) -> u16 {
        self.port
    }
}

const DEBUG: [&str; 2] = ["--enable-debug-command", "yes"];

/// One field of INFO `section`.
fn info_field(conn: &mut RawConn, section: &str, field: &str) -> String {
    let reply = conn.cmd_args(&["INFO", section]);
    let prefix = format!("{field}:");
    reply
        .lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .unwrap_or("")
        .to_string()
}

fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

fn make_replica(replica: &dyn Node, master: &dyn Node) {
    let port = master.port().to_string();
    assert_eq!(
        replica.conn().cmd_args(&["REPLICAOF", "127.0.0.1", &port]),
        "+OK\r\n"
    );
}

fn wait_link_up(replica: &dyn Node) {
    let mut c = replica.conn();
    wait_for("the link to come up", Duration::from_secs(20), || {
        info_field(&mut c, "replication", "master_link_status") == "up"
    });
}

/// A small xorshift generator: the load is the same for a seed, whatever runs it.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// `count` random writes of every type on `conn` (pipelined in batches), in databases 0 and
/// 9: strings with and without TTLs (some expire during the run), counters, lists, hashes,
/// sets (SPOP), sorted sets, streams, EXPIRE/PERSIST/DEL, MULTI/EXEC blocks and EVAL scripts.
fn write_load(conn: &mut RawConn, seed: u64, count: usize) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut sent = 0;
    let mut pending = 0;
    while sent < count {
        let k = format!("k{}", rng.below(40));
        let v = format!("v{}", rng.below(1000));
        let n = rng.below(100).to_string();
        let line: Vec<String> = match rng.below(19) {
            0 => vec!["SET".into(), k, v],
            1 => vec![
                "SET".into(),
                k,
                v,
                "PX".into(),
                (50 + rng.below(400)).to_string(),
            ],
            2 => vec!["SET".into(), k, v, "EX".into(), "1000".into()],
            3 => vec!["INCRBY".into(), format!("n{}", rng.below(5)), n],
            4 => vec!["LPUSH".into(), format!("l{}", rng.below(5)), v.clone(), v],
            5 => vec!["RPOP".into(), format!("l{}", rng.below(5))],
            6 => vec!["HSET".into(), format!("h{}", rng.below(5)), k, v],
            7 => vec!["SADD".into(), format!("s{}", rng.below(5)), v],
            8 => vec!["SPOP".into(), format!("s{}", rng.below(5))],
            9 => vec!["ZADD".into(), format!("z{}", rng.below(5)), n, v],
            10 => vec![
                "ZINCRBY".into(),
                format!("z{}", rng.below(5)),
                "1.5".into(),
                v,
            ],
            11 => vec![
                "XADD".into(),
                format!("x{}", rng.below(3)),
                "*".into(),
                k,
                v,
            ],
            12 => vec!["PEXPIRE".into(), k, (10 + rng.below(300)).to_string()],
            13 => vec!["DEL".into(), k],
            14 => vec![
                "INCRBYFLOAT".into(),
                format!("f{}", rng.below(3)),
                "0.25".into(),
            ],
            15 => vec![
                "SELECT".into(),
                if rng.below(2) == 0 { "0" } else { "9" }.into(),
            ],
            16 => {
                let script = "redis.call('set', KEYS[1], ARGV[1]); \
                              return redis.call('incr', KEYS[2])";
                vec![
                    "EVAL".into(),
                    script.into(),
                    "2".into(),
                    k,
                    format!("e{}", rng.below(3)),
                    v,
                ]
            }
            17 => {
                // A transaction, sent as four commands.
                for cmd in [
                    vec!["MULTI".to_string()],
                    vec!["RPUSH".into(), format!("l{}", rng.below(5)), v.clone()],
                    vec!["EXPIRE".into(), k.clone(), "500".into()],
                ] {
                    let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_bytes()).collect();
                    conn.send_cmd(&args);
                    pending += 1;
                }
                vec!["EXEC".into()]
            }
            _ => vec!["PERSIST".into(), k],
        };
        let args: Vec<&[u8]> = line.iter().map(|a| a.as_bytes()).collect();
        conn.send_cmd(&args);
        pending += 1;
        sent += 1;
        if pending >= 64 {
            for _ in 0..pending {
                conn.read_reply();
            }
            pending = 0;
        }
    }
    for _ in 0..pending {
        conn.read_reply();
    }
}

/// Waits until the replica applied everything the master wrote (same `master_repl_offset`)
/// and both hold the same data (`DEBUG DIGEST`).
fn assert_converged(master: &dyn Node, replica: &dyn Node) {
    let (mut m, mut r) = (master.conn(), replica.conn());
    let mut last = (String::new(), String::new());
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let mo = info_field(&mut m, "replication", "master_repl_offset");
        let ro = info_field(&mut r, "replication", "master_repl_offset");
        let md = m.cmd_args(&["DEBUG", "DIGEST"]);
        let rd = r.cmd_args(&["DEBUG", "DIGEST"]);
        if mo == ro && md == rd && mo == info_field(&mut m, "replication", "master_repl_offset") {
            assert!(mo.parse::<i64>().is_ok(), "no offset in INFO: {mo:?}");
            return;
        }
        last = (
            format!("offsets {mo} / {ro}"),
            format!("digests {md:?} / {rd:?}"),
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!(
        "replica did not converge: {} {}; {:?} {:?} keys that differ: {:?}",
        last.0,
        last.1,
        m.cmd_args(&["INFO", "keyspace"]),
        r.cmd_args(&["INFO", "keyspace"]),
        differing_keys(&mut m, &mut r)
    );
}

/// The keys whose `DEBUG DIGEST-VALUE` (or TTL) differ, in databases 0 and 9.
fn differing_keys(m: &mut RawConn, r: &mut RawConn) -> Vec<String> {
    let mut out = Vec::new();
    for db in ["0", "9"] {
        m.cmd_args(&["SELECT", db]);
        r.cmd_args(&["SELECT", db]);
        let mut keys: Vec<String> = Vec::new();
        for conn in [&mut *m, &mut *r] {
            let reply = conn.cmd_args(&["KEYS", "*"]);
            keys.extend(
                reply
                    .split("\r\n")
                    .filter(|l| !l.starts_with('$') && !l.starts_with('*') && !l.is_empty())
                    .map(String::from),
            );
        }
        keys.sort();
        keys.dedup();
        for key in keys {
            let a = m.cmd_args(&["DEBUG", "DIGEST-VALUE", &key]);
            let b = r.cmd_args(&["DEBUG", "DIGEST-VALUE", &key]);
            let ta = m.cmd_args(&["PEXPIRETIME", &key]);
            let tb = r.cmd_args(&["PEXPIRETIME", &key]);
            if a != b || ta != tb {
                let t = m.cmd_args(&["OBJECT", "ENCODING", &key]);
                out.push(format!("db{db} {key} {t:?}: {a:?}/{b:?} {ta:?}/{tb:?}"));
            }
        }
    }
    out
}

/// The load runs on a thread while the replica connects and syncs, then more after.
fn load_during_and_after_sync(master: &dyn Node, replica: &dyn Node, seed: u64) {
    let mut before = master.conn();
    write_load(&mut before, seed, 2000);
    let port = master.port();
    let during =
        std::thread::spawn(move || write_load(&mut RawConn::connect(port), seed + 1, 3000));
    make_replica(replica, master);
    during.join().expect("load thread");
    wait_link_up(replica);
    write_load(&mut before, seed + 2, 2000);
    assert_converged(master, replica);
}

#[test]
fn redis_master_streams_to_a_ferrodis_replica_diskless() {
    if !require_redis_server() {
        return;
    }
    let master = RealRedis::start(&[
        "--enable-debug-command",
        "yes",
        "--repl-diskless-sync-delay",
        "0",
    ]);
    let replica = TestServer::start(&DEBUG);
    load_during_and_after_sync(&master, &replica, 11);
    // A replica refuses writes from its clients, and says what it is.
    let mut r = replica.conn();
    assert_eq!(
        r.cmd_args(&["SET", "x", "1"]),
        "-READONLY You can't write against a read only replica.\r\n"
    );
    assert!(r
        .cmd_args(&["ROLE"])
        .starts_with("*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n"));
    assert_eq!(info_field(&mut r, "replication", "role"), "slave");
}

#[test]
fn redis_master_streams_to_a_ferrodis_replica_from_disk() {
    if !require_redis_server() {
        return;
    }
    let master = RealRedis::start(&[
        "--enable-debug-command",
        "yes",
        "--repl-diskless-sync",
        "no",
    ]);
    let replica = TestServer::start(&DEBUG);
    load_during_and_after_sync(&master, &replica, 23);
}

#[test]
fn ferrodis_master_streams_to_a_redis_replica() {
    if !require_redis_server() {
        return;
    }
    let master = TestServer::start(&DEBUG);
    let replica = RealRedis::start(&["--enable-debug-command", "yes"]);
    load_during_and_after_sync(&master, &replica, 37);
    let mut m = master.conn();
    assert_eq!(info_field(&mut m, "replication", "connected_slaves"), "1");
    // WAIT: the one replica acknowledges the last write.
    m.cmd_args(&["SET", "w", "1"]);
    assert_eq!(m.cmd_args(&["WAIT", "1", "5000"]), ":1\r\n");
    // Asking for more replicas than there are times out with the count that acknowledged.
    let started = Instant::now();
    assert_eq!(m.cmd_args(&["WAIT", "2", "300"]), ":1\r\n");
    assert!(started.elapsed() >= Duration::from_millis(250));
}

#[test]
fn ferrodis_replicates_to_ferrodis_and_a_chained_replica() {
    let master = TestServer::start(&DEBUG);
    let replica = TestServer::start(&DEBUG);
    let sub = TestServer::start(&DEBUG);
    load_during_and_after_sync(&master, &replica, 53);
    // The sub-replica syncs from the replica, which proxies the master's stream verbatim.
    make_replica(&sub, &replica);
    wait_link_up(&sub);
    write_load(&mut master.conn(), 54, 2000);
    assert_converged(&master, &replica);
    assert_converged(&master, &sub);
}

/// The full sync is made by a forked child while the master goes on serving: with the child
/// slowed down (`rdb-key-save-delay`), writes of every type are answered while it still runs
/// (`rdb_bgsave_in_progress:1` after them), INFO shows the replica waiting for it, and the
/// replica ends up with the snapshot plus every write made meanwhile. With `second`, another
/// replica asks while the child runs: a disk-based save is shared (one fork), a diskless one
/// makes the second wait for the next child.
fn sync_in_a_child_while_serving(master: &dyn Node, replica: &dyn Node, second: Option<&dyn Node>) {
    let mut m = master.conn();
    assert_eq!(m.cmd_args(&["DEBUG", "POPULATE", "20000"]), "+OK\r\n");
    // About 100 µs or more per key: the child runs for two seconds at least.
    m.cmd_args(&["CONFIG", "SET", "rdb-key-save-delay", "100"]);
    let forks = |m: &mut RawConn| -> u64 {
        info_field(m, "stats", "total_forks")
            .parse()
            .expect("total_forks")
    };
    let forks_before = forks(&mut m);
    make_replica(replica, master);
    wait_for("the snapshot child", Duration::from_secs(5), || {
        info_field(&mut m, "persistence", "rdb_bgsave_in_progress") == "1"
    });
    let slave0 = info_field(&mut m, "replication", "slave0");
    assert!(slave0.contains(",state=wait_bgsave,"), "{slave0}");
    // ROLE lists only synchronized replicas.
    assert_eq!(
        m.cmd_args(&["ROLE"]).split("\r\n").nth(4),
        Some("*0"),
        "{:?}",
        m.cmd_args(&["ROLE"])
    );
    if let Some(second) = second {
        make_replica(second, master);
    }
    write_load(&mut m, 71, 1000);
    assert_eq!(m.cmd_args(&["SET", "written-during-sync", "1"]), "+OK\r\n");
    assert_eq!(
        info_field(&mut m, "persistence", "rdb_bgsave_in_progress"),
        "1",
        "the writes were served while the child ran"
    );
    wait_link_up(replica);
    m.cmd_args(&["CONFIG", "SET", "rdb-key-save-delay", "0"]);
    if let Some(second) = second {
        wait_link_up(second);
    }
    write_load(&mut m, 72, 1000);
    assert_converged(master, replica);
    let slave0 = info_field(&mut m, "replication", "slave0");
    assert!(slave0.contains(",state=online,"), "{slave0}");
    assert_eq!(
        replica.conn().cmd_args(&["GET", "written-during-sync"]),
        "$1\r\n1\r\n"
    );
    if let Some(second) = second {
        assert_converged(master, second);
    }
    let disk = m
        .cmd_args(&["CONFIG", "GET", "repl-diskless-sync"])
        .contains("\r\nno\r\n");
    let expected = match (second, disk) {
        (Some(_), false) => 2,
        _ => 1,
    };
    assert_eq!(forks(&mut m), forks_before + expected);
}

#[test]
fn ferrodis_master_syncs_two_replicas_from_one_disk_snapshot_while_serving() {
    let master = TestServer::start(&[
        "--enable-debug-command",
        "yes",
        "--repl-diskless-sync",
        "no",
    ]);
    let (a, b) = (TestServer::start(&DEBUG), TestServer::start(&DEBUG));
    sync_in_a_child_while_serving(&master, &a, Some(&b));
}

#[test]
fn ferrodis_master_streams_a_diskless_snapshot_to_a_redis_replica_while_serving() {
    if !require_redis_server() {
        return;
    }
    let master = TestServer::start(&DEBUG);
    let replica = RealRedis::start(&["--enable-debug-command", "yes"]);
    let second = TestServer::start(&DEBUG);
    sync_in_a_child_while_serving(&master, &replica, Some(&second));
}

/// A diskless sync waits `repl-diskless-sync-delay` for more replicas, unless
/// `repl-diskless-sync-max-replicas` of them are waiting: then one child feeds them all.
#[test]
fn diskless_sync_waits_for_more_replicas_and_feeds_them_from_one_child() {
    let master = TestServer::start(&[
        "--enable-debug-command",
        "yes",
        "--repl-diskless-sync-delay",
        "60",
        "--repl-diskless-sync-max-replicas",
        "2",
    ]);
    let mut m = master.conn();
    write_load(&mut m, 81, 2000);
    let (a, b) = (TestServer::start(&DEBUG), TestServer::start(&DEBUG));
    make_replica(&a, &master);
    std::thread::sleep(Duration::from_millis(1500));
    // Waiting for the second replica: no child yet.
    let slave0 = info_field(&mut m, "replication", "slave0");
    assert!(slave0.contains(",state=wait_bgsave,"), "{slave0}");
    assert_eq!(
        info_field(&mut m, "persistence", "rdb_bgsave_in_progress"),
        "0"
    );
    assert_eq!(info_field(&mut m, "stats", "total_forks"), "0");
    make_replica(&b, &master);
    // Far sooner than the 60 s delay.
    wait_link_up(&a);
    wait_link_up(&b);
    assert_eq!(info_field(&mut m, "stats", "total_forks"), "1");
    write_load(&mut m, 82, 1000);
    assert_converged(&master, &a);
    assert_converged(&master, &b);
}

/// Kills the replica's link (CLIENT KILL TYPE master) under load: it reconnects with a partial
/// resynchronization, and the data converge.
fn partial_resync_after_link_kill(master: &dyn Node, replica: &dyn Node, seed: u64) {
    make_replica(replica, master);
    wait_link_up(replica);
    write_load(&mut master.conn(), seed, 1000);
    let mut m = master.conn();
    let partial_before: i64 = info_field(&mut m, "stats", "sync_partial_ok")
        .parse()
        .unwrap_or(-1);
    let full_before = info_field(&mut m, "stats", "sync_full");
    let port = master.port();
    let load = std::thread::spawn(move || write_load(&mut RawConn::connect(port), seed + 1, 4000));
    std::thread::sleep(Duration::from_millis(30));
    assert_eq!(
        replica
            .conn()
            .cmd_args(&["CLIENT", "KILL", "TYPE", "master"]),
        ":1\r\n"
    );
    load.join().expect("load thread");
    wait_link_up(replica);
    assert_converged(master, replica);
    let partial_after: i64 = info_field(&mut m, "stats", "sync_partial_ok")
        .parse()
        .unwrap_or(-1);
    assert_eq!(partial_after, partial_before + 1, "no partial resync");
    assert_eq!(info_field(&mut m, "stats", "sync_full"), full_before);
}

#[test]
fn ferrodis_replica_continues_partially_after_its_link_to_redis_is_killed() {
    if !require_redis_server() {
        return;
    }
    let master = RealRedis::start(&[
        "--enable-debug-command",
        "yes",
        "--repl-diskless-sync-delay",
        "0",
    ]);
    let replica = TestServer::start(&DEBUG);
    partial_resync_after_link_kill(&master, &replica, 71);
}

#[test]
fn redis_replica_continues_partially_after_its_link_to_ferrodis_is_killed() {
    if !require_redis_server() {
        return;
    }
    let master = TestServer::start(&DEBUG);
    let replica = RealRedis::start(&["--enable-debug-command", "yes"]);
    partial_resync_after_link_kill(&master, &replica, 83);
}

#[test]
fn ferrodis_replica_of_ferrodis_continues_partially_and_a_promoted_replica_keeps_the_history() {
    let master = TestServer::start(&DEBUG);
    let replica = TestServer::start(&DEBUG);
    let sibling = TestServer::start(&DEBUG);
    partial_resync_after_link_kill(&master, &replica, 97);
    make_replica(&sibling, &master);
    wait_link_up(&sibling);
    assert_converged(&master, &sibling);
    // Promote the replica; the sibling follows it and continues partially (PSYNC2: the
    // promoted replica's replid2 is the old master's id).
    let mut r = replica.conn();
    assert_eq!(r.cmd_args(&["REPLICAOF", "NO", "ONE"]), "+OK\r\n");
    let old_id = info_field(&mut master.conn(), "replication", "master_replid");
    assert_eq!(info_field(&mut r, "replication", "master_replid2"), old_id);
    drop(master);
    make_replica(&sibling, &replica);
    wait_link_up(&sibling);
    write_load(&mut r, 98, 500);
    assert_converged(&replica, &sibling);
    assert_eq!(info_field(&mut r, "stats", "sync_partial_ok"), "1");
}

#[test]
fn wait_counts_the_replicas_that_acknowledged() {
    let master = TestServer::start(&[]);
    let mut m = master.conn();
    // No replica: WAIT 0 answers at once, WAIT 1 after its timeout.
    assert_eq!(m.cmd_args(&["WAIT", "0", "0"]), ":0\r\n");
    assert_eq!(m.cmd_args(&["WAIT", "1", "100"]), ":0\r\n");
    assert_eq!(
        m.cmd_args(&["WAIT", "1", "-1"]),
        "-ERR timeout is negative\r\n"
    );
    let a = TestServer::start(&[]);
    let b = TestServer::start(&[]);
    make_replica(&a, &master);
    make_replica(&b, &master);
    wait_link_up(&a);
    wait_link_up(&b);
    m.cmd_args(&["SET", "k", "v"]);
    assert_eq!(m.cmd_args(&["WAIT", "2", "0"]), ":2\r\n");
    // A replica refuses WAIT.
    assert!(a
        .conn()
        .cmd_args(&["WAIT", "1", "0"])
        .starts_with("-ERR WAIT cannot be used with replica instances."));
    // min-replicas-to-write: writes need that many replicas with a recent ACK.
    assert_eq!(
        m.cmd_args(&["CONFIG", "SET", "min-replicas-to-write", "3"]),
        "+OK\r\n"
    );
    assert_eq!(
        m.cmd_args(&["SET", "k", "v"]),
        "-NOREPLICAS Not enough good replicas to write.\r\n"
    );
    assert_eq!(
        m.cmd_args(&["CONFIG", "SET", "min-replicas-to-write", "2"]),
        "+OK\r\n"
    );
    assert_eq!(m.cmd_args(&["SET", "k", "v"]), "+OK\r\n");
}

#[test]
fn a_replica_hides_expired_keys_until_its_master_deletes_them() {
    let master = TestServer::start(&["--enable-debug-command", "yes"]);
    let replica = TestServer::start(&[]);
    make_replica(&replica, &master);
    wait_link_up(&replica);
    let mut m = master.conn();
    // The master stops expiring keys, so only its DEL can remove one from the replica.
    assert_eq!(m.cmd_args(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), "+OK\r\n");
    m.cmd_args(&["SET", "gone", "x", "PX", "100"]);
    let mut r = replica.conn();
    wait_for("the key on the replica", Duration::from_secs(5), || {
        r.cmd_args(&["DBSIZE"]) == ":1\r\n"
    });
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(r.cmd_args(&["GET", "gone"]), "$-1\r\n");
    assert_eq!(r.cmd_args(&["EXISTS", "gone"]), ":0\r\n");
    // Still there: logically expired, not deleted.
    assert_eq!(r.cmd_args(&["DBSIZE"]), ":1\r\n");
    // The master's lookup deletes it and sends the DEL.
    assert_eq!(m.cmd_args(&["GET", "gone"]), "$-1\r\n");
    wait_for("the DEL on the replica", Duration::from_secs(5), || {
        r.cmd_args(&["DBSIZE"]) == ":0\r\n"
    });
}

/// ROLE as its lines, e.g. `["slave", "127.0.0.1", "6380", "connected", "42"]` or
/// `["master", "42", "127.0.0.1", "6381", "42"]`.
fn role(node: &dyn Node) -> Vec<String> {
    node.conn()
        .cmd_args(&["ROLE"])
        .split("\r\n")
        .filter(|l| !l.is_empty() && !l.starts_with('*') && !l.starts_with('$'))
        .map(|l| l.trim_start_matches([':', '+']).to_string())
        .collect()
}

fn failover_state(node: &dyn Node) -> String {
    info_field(&mut node.conn(), "replication", "master_failover_state")
}

fn wait_failover_done(node: &dyn Node) {
    wait_for("the failover to end", Duration::from_secs(20), || {
        failover_state(node) == "no-failover"
    });
}

/// FAILOVER's refusals, its states and ABORT, on one server of either kind: every reply in
/// order. A raw connection that announces port 1234 and sends SYNC, then never reads nor
/// acknowledges, is the replica: a failover to it waits for a sync that never comes.
fn failover_transcript(node: &dyn Node) -> Vec<String> {
    let mut c = node.conn();
    let mut out = Vec::new();
    let run = |out: &mut Vec<String>, c: &mut RawConn, args: &[&str]| {
        let reply = c.cmd_args(args);
        out.push(format!("{args:?} -> {reply}"));
    };
    for args in [
        &["FAILOVER", "ABORT"][..],
        &["FAILOVER", "TO"],
        &["FAILOVER", "TO", "h"],
        &["FAILOVER", "TO", "h", "notaport"],
        &["FAILOVER", "TIMEOUT"],
        &["FAILOVER", "TIMEOUT", "0"],
        &["FAILOVER", "TIMEOUT", "-5"],
        &["FAILOVER", "TIMEOUT", "x"],
        &["FAILOVER", "TIMEOUT", "10", "TIMEOUT", "10"],
        &["FAILOVER", "TO", "h", "1", "TO", "h", "2"],
        &["FAILOVER", "FORCE", "FORCE"],
        &["FAILOVER", "ABORT", "ABORT"],
        &["FAILOVER", "bogus"],
        &["FAILOVER"],
        &["FAILOVER", "FORCE", "TIMEOUT", "100"],
        &["PSYNC", "?", "-1", "FAILOVER"],
    ] {
        run(&mut out, &mut c, args);
    }
    let mut fake = node.conn();
    assert_eq!(
        fake.cmd_args(&["REPLCONF", "listening-port", "1234"]),
        "+OK\r\n"
    );
    fake.send_str("SYNC");
    wait_for("the fake replica online", Duration::from_secs(20), || {
        info_field(&mut node.conn(), "replication", "slave0").contains("state=online")
    });
    run(&mut out, &mut c, &["SET", "k", "v"]);
    for args in [
        &["FAILOVER", "TO", "127.0.0.1", "1"][..],
        &["FAILOVER", "TO", "127.0.0.1", "1234", "FORCE"],
        &["FAILOVER", "FORCE", "TIMEOUT", "100"],
        &["FAILOVER", "TO", "127.0.0.1", "1234", "TIMEOUT", "60000"],
        &["FAILOVER"],
        &["FAILOVER", "TO", "127.0.0.1", "1234"],
        &["REPLICAOF", "127.0.0.1", "1"],
        &["PSYNC", "?", "-1"],
        &["GET", "k"],
    ] {
        run(&mut out, &mut c, args);
    }
    out.push(failover_state(node));
    // Writes wait for the failover to end; ABORT lets them run.
    let mut writer = node.conn();
    writer.send_str("SET k v2");
    let (early, _) = writer.read_until_quiet(Duration::from_millis(300));
    out.push(format!(
        "while paused: {:?}",
        String::from_utf8_lossy(&early)
    ));
    // CLIENT UNPAUSE ends a CLIENT PAUSE, not the failover's pause.
    run(&mut out, &mut c, &["CLIENT", "UNPAUSE"]);
    let (still, _) = writer.read_until_quiet(Duration::from_millis(300));
    out.push(format!(
        "after unpause: {:?}",
        String::from_utf8_lossy(&still)
    ));
    run(&mut out, &mut c, &["FAILOVER", "ABORT"]);
    out.push(format!("after abort: {}", writer.reply_str()));
    out.push(failover_state(node));
    // A timeout without FORCE aborts.
    run(
        &mut out,
        &mut c,
        &["FAILOVER", "TO", "127.0.0.1", "1234", "TIMEOUT", "100"],
    );
    wait_failover_done(node);
    out.push(role(node)[0].clone());
    run(&mut out, &mut c, &["GET", "k"]);
    // The replica side: FAILOVER is refused, PSYNC FAILOVER needs our replid.
    run(&mut out, &mut c, &["REPLICAOF", "127.0.0.1", "1"]);
    run(&mut out, &mut c, &["FAILOVER"]);
    run(&mut out, &mut c, &["FAILOVER", "ABORT"]);
    run(
        &mut out,
        &mut c,
        &[
            "PSYNC",
            "0123456789012345678901234567890123456789",
            "1",
            "FAILOVER",
        ],
    );
    // With our own replid, the replica becomes a master and serves the PSYNC.
    let replid = info_field(&mut c, "replication", "master_replid");
    let mut psync = node.conn();
    psync.send_str(&format!("PSYNC {replid} 1 FAILOVER"));
    let line = psync.reply_str();
    out.push(line.split(' ').next().unwrap_or("").to_string());
    out.push(role(node)[0].clone());
    out
}

#[test]
fn failover_replies_and_states_match_redis() {
    if !require_redis_server() {
        return;
    }
    let ours = TestServer::start(&[]);
    let redis = RealRedis::start(&["--repl-diskless-sync", "no"]);
    let expected = failover_transcript(&redis);
    assert_eq!(failover_transcript(&ours), expected);
    // The transcript is not empty of meaning: a few of its lines, spelled out.
    assert!(expected
        .contains(&"[\"FAILOVER\"] -> -ERR FAILOVER requires connected replicas.\r\n".to_string()));
    assert!(expected.contains(&"waiting-for-sync".to_string()));
    assert!(expected.contains(&"after abort: +OK\r\n".to_string()));
}

/// A master, two replicas, some data; every replica linked and caught up.
fn three_nodes(master: &dyn Node, a: &dyn Node, b: &dyn Node) {
    make_replica(a, master);
    make_replica(b, master);
    wait_link_up(a);
    wait_link_up(b);
    write_load(&mut master.conn(), 131, 500);
    master.conn().cmd_args(&["SET", "before-failover", "yes"]);
    assert_converged(master, a);
    assert_converged(master, b);
}

/// After a failover from `old` to `new`: `new` is the master, `old` its replica, `other` still
/// follows `old` (Redis moves only the two), and everyone has the same data.
fn assert_failed_over(old: &dyn Node, new: &dyn Node, other: &dyn Node) {
    let (old_port, new_port) = (old.port().to_string(), new.port().to_string());
    wait_for("the roles to settle", Duration::from_secs(20), || {
        let (o, n, x) = (role(old), role(new), role(other));
        o.len() == 5
            && o[0] == "slave"
            && o[2] == new_port
            && o[3] == "connected"
            && n[0] == "master"
            && x.len() == 5
            && x[2] == old_port
            && x[3] == "connected"
    });
    let mut n = new.conn();
    assert_eq!(n.cmd_args(&["GET", "before-failover"]), "$3\r\nyes\r\n");
    // The old master continued the new one's history partially: no full sync.
    assert_eq!(info_field(&mut n, "stats", "sync_full"), "0");
    assert_eq!(info_field(&mut n, "stats", "sync_partial_ok"), "1");
    assert_eq!(
        old.conn().cmd_args(&["SET", "k", "v"]),
        "-READONLY You can't write against a read only replica.\r\n"
    );
    n.cmd_args(&["SET", "after-failover", "yes"]);
    write_load(&mut n, 137, 300);
    assert_converged(new, old);
    assert_converged(old, other);
    assert_eq!(
        other.conn().cmd_args(&["GET", "after-failover"]),
        "$3\r\nyes\r\n"
    );
}

#[test]
fn failover_to_any_replica_promotes_a_caught_up_one() {
    let master = TestServer::start(&DEBUG);
    let a = TestServer::start(&DEBUG);
    let b = TestServer::start(&DEBUG);
    three_nodes(&master, &a, &b);
    assert_eq!(master.conn().cmd_args(&["FAILOVER"]), "+OK\r\n");
    wait_failover_done(&master);
    let promoted = role(&master)[2].clone();
    let (new, other): (&dyn Node, &dyn Node) = if promoted == a.port().to_string() {
        (&a, &b)
    } else {
        (&b, &a)
    };
    assert_failed_over(&master, new, other);
}

#[test]
fn failover_to_a_named_replica_and_force_after_a_timeout() {
    let master = TestServer::start(&DEBUG);
    let a = TestServer::start(&DEBUG);
    let b = TestServer::start(&DEBUG);
    three_nodes(&master, &a, &b);
    let port = b.port().to_string();
    assert_eq!(
        master
            .conn()
            .cmd_args(&["FAILOVER", "TO", "127.0.0.1", &port, "TIMEOUT", "5000"]),
        "+OK\r\n"
    );
    wait_failover_done(&master);
    assert_failed_over(&master, &b, &a);
    // Back to the old master, which is stopped: it never acknowledges the last write, so
    // only FORCE fails over to it, once the timeout passed.
    let stop = |pid: u32, sig: &str| {
        let status = std::process::Command::new("kill")
            .args([sig, &pid.to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    };
    stop(master.pid(), "-STOP");
    let mut nb = b.conn();
    nb.cmd_args(&["SET", "case", "2"]);
    let old = master.port().to_string();
    assert_eq!(
        nb.cmd_args(&[
            "FAILOVER",
            "TO",
            "127.0.0.1",
            &old,
            "TIMEOUT",
            "100",
            "FORCE"
        ]),
        "+OK\r\n"
    );
    wait_for("the forced failover", Duration::from_secs(10), || {
        failover_state(&b) == "failover-in-progress"
    });
    // Never two masters: b already follows the stopped one.
    assert_eq!(role(&b)[0], "slave");
    stop(master.pid(), "-CONT");
    wait_failover_done(&b);
    wait_for(
        "the old master back in charge",
        Duration::from_secs(20),
        || role(&master)[0] == "master" && role(&b)[3] == "connected",
    );
    assert_eq!(master.conn().cmd_args(&["GET", "case"]), "$1\r\n2\r\n");
}

#[test]
fn redis_master_fails_over_to_a_ferrodis_replica_and_back() {
    if !require_redis_server() {
        return;
    }
    let redis = RealRedis::start(&[
        "--repl-diskless-sync-delay",
        "0",
        "--enable-debug-command",
        "yes",
    ]);
    let ours = TestServer::start(&DEBUG);
    let other = TestServer::start(&DEBUG);
    three_nodes(&redis, &ours, &other);
    // redis-server sends `PSYNC <replid> <offset> FAILOVER` to ferrodis.
    let port = ours.port().to_string();
    assert_eq!(
        redis
            .conn()
            .cmd_args(&["FAILOVER", "TO", "127.0.0.1", &port]),
        "+OK\r\n"
    );
    wait_failover_done(&redis);
    assert_failed_over(&redis, &ours, &other);
    // And back: ferrodis sends it to redis-server, which becomes the master again.
    let full_syncs = info_field(&mut redis.conn(), "stats", "sync_full");
    assert_eq!(ours.conn().cmd_args(&["FAILOVER"]), "+OK\r\n");
    wait_failover_done(&ours);
    wait_for(
        "redis-server back in charge",
        Duration::from_secs(20),
        || role(&redis)[0] == "master" && role(&ours)[3] == "connected",
    );
    let mut r = redis.conn();
    assert_eq!(r.cmd_args(&["GET", "after-failover"]), "$3\r\nyes\r\n");
    assert_eq!(info_field(&mut r, "stats", "sync_full"), full_syncs);
    write_load(&mut r, 139, 300);
    assert_converged(&redis, &ours);
    assert_converged(&ours, &other);
}

#[test]
fn a_paused_replica_reads_the_stream_but_applies_it_after_the_pause() {
    let master = TestServer::start(&DEBUG);
    let replica = TestServer::start(&DEBUG);
    let chained = TestServer::start(&DEBUG);
    make_replica(&replica, &master);
    make_replica(&chained, &replica);
    wait_link_up(&replica);
    wait_link_up(&chained);
    let mut m = master.conn();
    m.cmd_args(&["SET", "foo", "bar"]);
    assert_converged(&master, &replica);
    let applied = info_field(&mut m, "replication", "master_repl_offset");
    let mut r = replica.conn();
    assert_eq!(
        r.cmd_args(&["CLIENT", "PAUSE", "100000", "WRITE"]),
        "+OK\r\n"
    );
    m.cmd_args(&["SET", "foo2", "bar2"]);
    let read = info_field(&mut m, "replication", "master_repl_offset");
    wait_for(
        "the replica to read the write",
        Duration::from_secs(10),
        || info_field(&mut r, "replication", "slave_read_repl_offset") == read,
    );
    // Held by the pause: not applied, not counted, not passed on.
    assert_eq!(
        info_field(&mut r, "replication", "slave_repl_offset"),
        applied
    );
    assert_eq!(r.cmd_args(&["GET", "foo2"]), "$-1\r\n");
    assert_eq!(r.cmd_args(&["CLIENT", "UNPAUSE"]), "+OK\r\n");
    // Applied once: the offsets of the whole chain meet the master's.
    assert_converged(&master, &replica);
    assert_converged(&master, &chained);
    assert_eq!(chained.conn().cmd_args(&["GET", "foo2"]), "$4\r\nbar2\r\n");
}

#[test]
fn a_writable_replica_expires_the_keys_its_own_clients_gave_a_ttl() {
    let master = TestServer::start(&DEBUG);
    let replica = TestServer::start(&[]);
    make_replica(&replica, &master);
    wait_link_up(&replica);
    let mut m = master.conn();
    let mut r = replica.conn();
    // A key with a TTL from the master: the replica leaves it to the master's DEL.
    assert_eq!(m.cmd_args(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), "+OK\r\n");
    m.cmd_args(&["SET", "masters", "x", "PX", "100"]);
    wait_for(
        "the master's key on the replica",
        Duration::from_secs(5),
        || r.cmd_args(&["DBSIZE"]) == ":1\r\n",
    );
    assert_eq!(
        r.cmd_args(&["CONFIG", "SET", "replica-read-only", "no"]),
        "+OK\r\n"
    );
    assert_eq!(r.cmd_args(&["SET", "own", "y", "PX", "1"]), "+OK\r\n");
    // The replica's cron removes its own key (counted in expired_keys), never the master's.
    wait_for(
        "the replica's own key to expire",
        Duration::from_secs(5),
        || info_field(&mut r, "stats", "expired_keys") == "1",
    );
    assert_eq!(r.cmd_args(&["DBSIZE"]), ":1\r\n");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(r.cmd_args(&["DBSIZE"]), ":1\r\n");
    assert_eq!(r.cmd_args(&["EXISTS", "masters"]), ":0\r\n");
}

#[test]
fn a_command_of_the_stream_that_fails_on_the_replica_is_counted_as_unexpected() {
    let master = TestServer::start(&DEBUG);
    let replica = TestServer::start(&DEBUG);
    make_replica(&replica, &master);
    wait_link_up(&replica);
    let mut m = master.conn();
    let mut r = replica.conn();
    assert_eq!(
        m.cmd_args(&["DEBUG", "REPLICATE", "fake-command-1"]),
        "+OK\r\n"
    );
    assert_eq!(m.cmd_args(&["SET", "after", "1"]), "+OK\r\n");
    wait_for("the stream on the replica", Duration::from_secs(5), || {
        r.cmd_args(&["EXISTS", "after"]) == ":1\r\n"
    });
    assert_eq!(info_field(&mut r, "stats", "unexpected_error_replies"), "1");
    // A key past its TTL on a replica: hidden from reads, still there for DEBUG OBJECT.
    assert_eq!(m.cmd_args(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), "+OK\r\n");
    m.cmd_args(&["SET", "k", "v", "PX", "50"]);
    wait_for("the key on the replica", Duration::from_secs(5), || {
        r.cmd_args(&["DBSIZE"]) == ":2\r\n"
    });
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(r.cmd_args(&["EXISTS", "k"]), ":0\r\n");
    assert!(r
        .cmd_args(&["DEBUG", "OBJECT", "k"])
        .starts_with("+Value at:"));
}

/// A connection that became a replica (PSYNC, `+FULLRESYNC` read) then asks something with
/// an answer. Returns INFO `connected_slaves` once the server closed the link (or the read
/// timed out) and `unexpected_error_replies`.
fn replica_link_that_asks(node: &dyn Node, request: &[&str]) -> (String, String) {
    let mut link = node.conn();
    link.send_cmd(&[b"PSYNC", b"?", b"-1"]);
    let fullresync = link.reply_str();
    assert!(fullresync.starts_with("+FULLRESYNC "), "{fullresync:?}");
    link.send_cmd(&request.iter().map(|a| a.as_bytes()).collect::<Vec<_>>());
    link.read_to_close();
    let mut other = node.conn();
    assert_eq!(other.cmd_args(&["PING"]), "+PONG\r\n");
    (
        info_field(&mut other, "replication", "connected_slaves"),
        info_field(&mut other, "stats", "unexpected_error_replies"),
    )
}

#[test]
fn a_replica_link_that_asks_for_an_answer_is_closed_as_redis_does() {
    if !require_redis_server() {
        return;
    }
    let redis = RealRedis::start(&["--repl-diskless-sync-delay", "0"]);
    let ferrodis = TestServer::start(&[]);
    // A read of the keyspace is refused (an error to a replica is counted as unexpected),
    // PING runs; either answer closes the link.
    for request in [&["GET", "foo"][..], &["PING"], &["SLOWLOG", "GET"]] {
        let expected = replica_link_that_asks(&redis, request);
        assert_eq!(
            replica_link_that_asks(&ferrodis, request),
            expected,
            "{request:?}"
        );
    }
    let after = ("0".to_string(), "1".to_string());
    assert_eq!(replica_link_that_asks(&ferrodis, &["PING"]), after);
}

/// Sends `signal` (e.g. "STOP", "CONT") to process `pid`.
fn signal(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{signal} {pid}");
}

/// A master whose replica is stopped (SIGSTOP) after a synced `SET k 1`, then `INCR k` on the
/// master: the replica has not acknowledged the master's offset.
fn master_with_a_lagging_replica(timeout_secs: &str) -> (TestServer, TestServer) {
    let master = TestServer::start(&["--shutdown-timeout", timeout_secs]);
    let replica = TestServer::start(&[]);
    make_replica(&replica, &master);
    wait_link_up(&replica);
    let mut m = master.conn();
    assert_eq!(m.cmd_args(&["SET", "k", "1"]), "+OK\r\n");
    assert_converged(&master, &replica);
    signal(replica.pid(), "STOP");
    assert_eq!(m.cmd_args(&["INCR", "k"]), ":2\r\n");
    (master, replica)
}

fn wait_shutdown_initiated(master: &TestServer) {
    let mut m = master.conn();
    wait_for("the shutdown to wait", Duration::from_secs(5), || {
        info_field(&mut m, "server", "shutdown_in_milliseconds")
            .parse::<i64>()
            .is_ok_and(|ms| ms > 0)
    });
}

#[test]
fn shutdown_waits_for_a_lagging_replica_and_exits_once_it_caught_up() {
    let (mut master, replica) = master_with_a_lagging_replica("300");
    let mut caller = master.conn();
    caller.send_cmd(&[b"SHUTDOWN"]);
    wait_shutdown_initiated(&master);
    // While it waits the master serves reads and holds writes.
    let mut m = master.conn();
    assert_eq!(m.cmd_args(&["GET", "k"]), "$1\r\n2\r\n");
    assert_eq!(info_field(&mut m, "clients", "blocked_clients"), "1");
    assert!(master.wait_exit(Duration::from_millis(300)).is_none());
    signal(replica.pid(), "CONT");
    let exited = master.wait_exit(Duration::from_secs(10));
    assert!(exited.is_some_and(|s| s.success()), "{exited:?}");
    // No reply: the connection just closes.
    assert_eq!(caller.read_to_close(), b"");
    assert_eq!(replica.conn().cmd_args(&["GET", "k"]), "$1\r\n2\r\n");
}

#[test]
fn shutdown_abort_cancels_the_wait_and_shutdown_timeout_ends_it() {
    let (mut master, replica) = master_with_a_lagging_replica("1");
    let mut m = master.conn();
    assert_eq!(
        m.cmd_args(&["SHUTDOWN", "ABORT"]),
        "-ERR No shutdown in progress.\r\n"
    );
    let mut caller = master.conn();
    assert_eq!(
        m.cmd_args(&["CONFIG", "SET", "shutdown-timeout", "300"]),
        "+OK\r\n"
    );
    caller.send_cmd(&[b"SHUTDOWN"]);
    wait_shutdown_initiated(&master);
    assert_eq!(m.cmd_args(&["SHUTDOWN", "ABORT"]), "+OK\r\n");
    assert_eq!(
        caller.reply_str(),
        "-ERR Errors trying to SHUTDOWN. Check logs.\r\n"
    );
    // Writes run again.
    assert_eq!(m.cmd_args(&["INCR", "k"]), ":3\r\n");
    // With the replica still stopped, a 1 s timeout lets the shutdown go ahead without it.
    assert_eq!(
        m.cmd_args(&["CONFIG", "SET", "shutdown-timeout", "1"]),
        "+OK\r\n"
    );
    let started = Instant::now();
    caller.send_cmd(&[b"SHUTDOWN"]);
    let exited = master.wait_exit(Duration::from_secs(10));
    signal(replica.pid(), "CONT");
    assert!(exited.is_some_and(|s| s.success()), "{exited:?}");
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert_eq!(caller.read_to_close(), b"");
}

/// A directory that outlives the servers started on it (removed at the end of the test).
struct KeptDir(std::path::PathBuf);

impl KeptDir {
    fn new(name: &str) -> KeptDir {
        let path =
            std::env::temp_dir().join(format!("ferrodis-repl-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create dir");
        KeptDir(path)
    }

    fn arg(&self) -> &str {
        self.0.to_str().expect("utf-8 temp path")
    }
}

impl Drop for KeptDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// SHUTDOWN NOW (which saves, without first asking lagging replicas for an ACK: that GETACK
/// would move the offset) and wait for the process to exit.
fn shutdown(mut server: TestServer) {
    server.raw().send_cmd(&[b"SHUTDOWN", b"NOW"]);
    assert!(
        server.wait_exit(Duration::from_secs(10)).is_some(),
        "no exit"
    );
}

fn stat(node: &dyn Node, field: &str) -> i64 {
    info_field(&mut node.conn(), "stats", field)
        .parse()
        .unwrap_or(-1)
}

/// A master restarted from its RDB file continues its history (the `repl-id` / `repl-offset`
/// AUX fields): its replicas, a redis-server and a ferrodis, continue partially, and the keys
/// that expired while it was down reach them as DELs through the backlog. Then a ferrodis
/// replica restarted from its own RDB file continues partially too.
#[test]
fn restarts_continue_the_replication_history_saved_in_the_rdb_file() {
    if !require_redis_server() {
        return;
    }
    let dir = KeptDir::new("master");
    let port = common::free_port().to_string();
    let master_args = [
        "--enable-debug-command",
        "yes",
        "--port",
        &port,
        "--dir",
        dir.arg(),
        "--save",
        "3600 1",
    ];
    let master = TestServer::start(&master_args);
    let redis_replica = RealRedis::start(&["--enable-debug-command", "yes"]);
    let replica_dir = KeptDir::new("replica");
    let replica_args = [
        "--enable-debug-command",
        "yes",
        "--dir",
        replica_dir.arg(),
        "--save",
        "3600 1",
        "--replicaof",
        "127.0.0.1",
        &port,
    ];
    let replica = TestServer::start(&replica_args);
    make_replica(&redis_replica, &master);
    wait_link_up(&redis_replica);
    wait_link_up(&replica);
    write_load(&mut master.conn(), 131, 2000);
    let mut m = master.conn();
    assert_eq!(m.cmd_args(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), "+OK\r\n");
    for i in 0..100 {
        let db = (i % 3).to_string();
        let key = format!("short{i}");
        m.cmd_args(&["SELECT", &db]);
        assert_eq!(m.cmd_args(&["SET", &key, "v", "PX", "10"]), "+OK\r\n");
    }
    assert_converged(&master, &redis_replica);
    assert_converged(&master, &replica);
    let offset: i64 = info_field(&mut m, "replication", "master_repl_offset")
        .parse()
        .expect("offset");
    let replid = info_field(&mut m, "replication", "master_replid");
    std::thread::sleep(Duration::from_millis(20));

    // SHUTDOWN saves (with the replication position), the restart loads it.
    shutdown(master);
    let master = TestServer::start(&master_args);
    let mut m = master.conn();
    wait_link_up(&redis_replica);
    wait_link_up(&replica);
    assert_eq!(info_field(&mut m, "replication", "master_replid2"), replid);
    assert_ne!(info_field(&mut m, "replication", "master_replid"), replid);
    assert_eq!(
        info_field(&mut m, "replication", "second_repl_offset"),
        (offset + 1).to_string()
    );
    // The 100 short keys, and some of the load's that had a TTL.
    let expired: i64 = info_field(&mut m, "persistence", "rdb_last_load_keys_expired")
        .parse()
        .expect("keys expired");
    assert!(expired >= 100, "{expired} keys expired at load");
    // Their DELs (and the SELECTs between databases) are the backlog's whole history.
    let histlen: i64 = info_field(&mut m, "replication", "repl_backlog_histlen")
        .parse()
        .expect("histlen");
    assert!(histlen > expired * 20, "histlen {histlen}");
    assert_eq!(
        info_field(&mut m, "replication", "master_repl_offset"),
        (offset + histlen).to_string()
    );
    assert_converged(&master, &redis_replica);
    assert_converged(&master, &replica);
    assert_eq!(stat(&master, "sync_partial_ok"), 2);
    assert_eq!(stat(&master, "sync_full"), 0);

    // The ferrodis replica restarts: its RDB file holds the master's id and its offset.
    write_load(&mut m, 137, 500);
    assert_converged(&master, &replica);
    shutdown(replica);
    write_load(&mut m, 139, 500);
    let replica = TestServer::start(&replica_args);
    wait_link_up(&replica);
    assert_converged(&master, &replica);
    assert_eq!(stat(&master, "sync_partial_ok"), 3);
    assert_eq!(stat(&master, "sync_full"), 0);
    // The stream is counted as replication traffic, apart from the clients' bytes.
    assert!(stat(&master, "total_net_repl_output_bytes") > 0);
    assert!(stat(&replica, "total_net_repl_input_bytes") > 0);
    assert_eq!(stat(&replica, "total_net_repl_output_bytes"), 0);
}

/// `repl-diskless-load swapdb` continuing the same history (`async_loading`): while the
/// image loads slowly (`key-load-delay`), the replica goes on answering reads from its old
/// dataset and refuses only `no-async-loading` commands; once loaded, the new dataset is
/// swapped in.
#[test]
fn a_swapdb_replica_serves_its_old_dataset_while_it_loads_the_next_one() {
    let master = TestServer::start(&[
        "--enable-debug-command",
        "yes",
        "--repl-diskless-sync-delay",
        "0",
    ]);
    let replica = TestServer::start(&[
        "--enable-debug-command",
        "yes",
        "--repl-diskless-load",
        "swapdb",
        "--replica-read-only",
        "no",
    ]);
    // A first sync gives the replica the master's history: the next full sync continues it.
    make_replica(&replica, &master);
    wait_link_up(&replica);
    let mut m = master.conn();
    let mut r = replica.conn();
    assert_eq!(
        m.cmd_args(&["DEBUG", "POPULATE", "2000", "new", "100"]),
        "+OK\r\n"
    );
    assert_eq!(r.cmd_args(&["SET", "mykey", "old"]), "+OK\r\n");
    assert_eq!(
        r.cmd_args(&["CONFIG", "SET", "key-load-delay", "1000"]),
        "+OK\r\n"
    );
    // ...and the loop serves clients after every kilobyte of image.
    assert_eq!(
        r.cmd_args(&[
            "CONFIG",
            "SET",
            "loading-process-events-interval-bytes",
            "1024"
        ]),
        "+OK\r\n"
    );
    // Drop the replica and overwrite a small backlog: it must sync fully again.
    let big = "A".repeat(16384);
    let mut tx = vec![
        "MULTI",
        "CLIENT KILL TYPE replica",
        "CONFIG SET repl-backlog-size 16384",
    ];
    let sets: Vec<String> = (0..10).map(|i| format!("SET k{i} {big}")).collect();
    tx.extend(sets.iter().map(String::as_str));
    tx.push("EXEC");
    m.cmd_strs(&tx);
    wait_for("async_loading", Duration::from_secs(10), || {
        info_field(&mut r, "persistence", "async_loading") == "1"
    });
    // The old dataset is served meanwhile, without -LOADING.
    assert_eq!(info_field(&mut r, "persistence", "loading"), "0");
    assert_eq!(r.cmd_args(&["GET", "mykey"]), "$3\r\nold\r\n");
    assert_eq!(r.cmd_args(&["DBSIZE"]), ":1\r\n");
    assert_eq!(
        r.cmd_args(&["REPLICAOF", "NO", "ONE"]),
        "-LOADING Redis is loading the dataset in memory\r\n"
    );
    assert_eq!(info_field(&mut r, "persistence", "async_loading"), "1");
    // Then the new one.
    assert_eq!(
        r.cmd_args(&["CONFIG", "SET", "key-load-delay", "0"]),
        "+OK\r\n"
    );
    wait_for("the load to finish", Duration::from_secs(20), || {
        info_field(&mut r, "persistence", "async_loading") == "0"
            && info_field(&mut r, "replication", "master_link_status") == "up"
    });
    assert_eq!(r.cmd_args(&["GET", "mykey"]), "$-1\r\n");
    assert_eq!(r.cmd_args(&["DBSIZE"]), ":2010\r\n");
    assert_converged(&master, &replica);
}

/// Two stopped replicas keep the stream written meanwhile alive in the master's one shared
/// replication buffer: the history outgrows `repl-backlog-size` while they need it, memory
/// holds one copy of it (not one per replica plus the backlog's), and once they have read it
/// the backlog is trimmed back to about its size.
#[test]
fn stopped_replicas_share_one_replication_buffer_that_shrinks_once_they_read_it() {
    let master = TestServer::start(&[
        "--repl-backlog-size",
        "16384",
        "--client-output-buffer-limit",
        "replica 0 0 0",
    ]);
    let replicas = [TestServer::start(&[]), TestServer::start(&[])];
    for r in &replicas {
        make_replica(r, &master);
        wait_link_up(r);
    }
    let mut m = master.conn();
    for r in &replicas {
        assert_converged(&master, r);
        signal(r.pid(), "STOP");
    }
    // Far more than the kernel's socket buffers take from a stopped reader.
    let value = "v".repeat(20_000);
    for i in 0..1000 {
        assert_eq!(m.cmd_args(&["SET", &format!("k{i}"), &value]), "+OK\r\n");
    }
    let field = |m: &mut RawConn, section: &str, name: &str| -> usize {
        info_field(m, section, name).parse().unwrap_or(0)
    };
    let written = 1000 * 20_000;
    assert!(field(&mut m, "replication", "repl_backlog_histlen") > written);
    let buffers = field(&mut m, "memory", "mem_total_replication_buffers");
    assert!(
        (written..written * 3 / 2).contains(&buffers),
        "one copy of {written} bytes, not {buffers}"
    );
    for r in &replicas {
        signal(r.pid(), "CONT");
    }
    for r in &replicas {
        assert_converged(&master, r);
    }
    wait_for("the backlog to be trimmed", Duration::from_secs(5), || {
        field(&mut m, "replication", "repl_backlog_histlen") < 64 * 1024
    });
    assert_eq!(field(&mut m, "replication", "connected_slaves"), 2);
}
