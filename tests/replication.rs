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
fn a_replica_connects_to_its_master_from_bind_source_addr() {
    // 127.0.0.2 is not the local address protected mode lets in without a password.
    let master = TestServer::start(&["--protected-mode", "no"]);
    let replica = TestServer::start(&[]);
    let mut r = replica.conn();
    assert_eq!(
        r.cmd_args(&["CONFIG", "SET", "bind-source-addr", "127.0.0.2"]),
        "+OK\r\n"
    );
    make_replica(&replica, &master);
    wait_link_up(&replica);
    let slave0 = info_field(&mut master.conn(), "replication", "slave0");
    assert!(slave0.starts_with("ip=127.0.0.2,"), "{slave0}");
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
