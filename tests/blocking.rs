//! Blocking list commands through the real binary: timeouts, FIFO service, multi-key waits,
//! disconnects, chains (BLMOVE feeding a BLPOP), CLIENT UNBLOCK, and the order in which a
//! served client's reply and the pusher's reply are produced.

mod common;
use common::{RawConn, TestServer, WRONGTYPE};
use std::io::Read;
use std::time::{Duration, Instant};

/// Sends a blocking command on `c` and makes sure the server has registered it before
/// returning: one round trip on another connection (the loop handles readable sockets in the
/// order they became ready), then a short grace period.
fn block(c: &mut RawConn, ctrl: &mut RawConn, line: &str) {
    c.send_str(line);
    assert_eq!(ctrl.cmd_str("PING"), "+PONG\r\n");
    std::thread::sleep(Duration::from_millis(20));
}

/// Asserts that nothing is waiting to be read on `c` (it is still blocked).
fn assert_still_blocked(c: &mut RawConn) {
    c.stream.set_nonblocking(true).unwrap();
    let mut byte = [0u8; 1];
    let r = c.stream.read(&mut byte);
    c.stream.set_nonblocking(false).unwrap();
    match r {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("expected no reply yet, got {other:?}"),
    }
}

#[test]
fn blpop_times_out_with_a_null_array_after_the_timeout() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    let started = Instant::now();
    assert_eq!(c.cmd_str("BLPOP q 0.1"), "*-1\r\n");
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(95), "returned after {took:?}");
    assert!(took < Duration::from_secs(2), "returned after {took:?}");
    assert_eq!(c.cmd_str("BRPOPLPUSH q d 0.05"), "*-1\r\n");
    assert_eq!(c.cmd_str("BLMOVE q d LEFT LEFT 0.05"), "*-1\r\n");
    assert_eq!(c.cmd_str("BLMPOP 0.05 1 q LEFT"), "*-1\r\n");
}

#[test]
fn a_tiny_float_timeout_is_not_forever() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    let started = Instant::now();
    assert_eq!(c.cmd_str("BRPOP q 0.001"), "*-1\r\n");
    assert_eq!(c.cmd_str("BRPOP q 0.0001"), "*-1\r\n");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(c.cmd_str("BLPOP q -1"), "-ERR timeout is negative\r\n");
    assert_eq!(
        c.cmd_str("BLPOP q soon"),
        "-ERR timeout is not a float or out of range\r\n"
    );
}

#[test]
fn a_push_serves_a_blocked_client_with_key_and_element() {
    let server = TestServer::start(&[]);
    let (mut c, mut ctrl) = (server.raw(), server.raw());
    block(&mut c, &mut ctrl, "BLPOP q 0");
    assert_still_blocked(&mut c);
    assert_eq!(ctrl.cmd_str("RPUSH q job"), ":1\r\n");
    assert_eq!(c.reply_str(), "*2\r\n$1\r\nq\r\n$3\r\njob\r\n");
    // The element went to the blocked client: the list is gone.
    assert_eq!(ctrl.cmd_str("LLEN q"), ":0\r\n");
}

#[test]
fn blocked_clients_are_served_first_come_first_served() {
    let server = TestServer::start(&[]);
    let mut ctrl = server.raw();
    let mut waiters: Vec<RawConn> = (0..3).map(|_| server.raw()).collect();
    for w in waiters.iter_mut() {
        block(w, &mut ctrl, "BRPOP q 0");
    }
    assert_eq!(ctrl.cmd_str("LPUSH q 1 2"), ":2\r\n");
    assert_eq!(waiters[0].reply_str(), "*2\r\n$1\r\nq\r\n$1\r\n1\r\n");
    assert_eq!(waiters[1].reply_str(), "*2\r\n$1\r\nq\r\n$1\r\n2\r\n");
    assert_still_blocked(&mut waiters[2]);
    assert_eq!(ctrl.cmd_str("LPUSH q 3"), ":1\r\n");
    assert_eq!(waiters[2].reply_str(), "*2\r\n$1\r\nq\r\n$1\r\n3\r\n");
}

#[test]
fn a_client_blocked_on_several_keys_is_served_by_the_first_with_data() {
    let server = TestServer::start(&[]);
    let (mut c, mut ctrl) = (server.raw(), server.raw());
    block(&mut c, &mut ctrl, "BLPOP a b c 0");
    assert_eq!(ctrl.cmd_str("RPUSH c x"), ":1\r\n");
    assert_eq!(c.reply_str(), "*2\r\n$1\r\nc\r\n$1\r\nx\r\n");
    // Served once: a later push to another of its keys stays in the list.
    assert_eq!(ctrl.cmd_str("RPUSH a y"), ":1\r\n");
    assert_eq!(ctrl.cmd_str("LLEN a"), ":1\r\n");
}

#[test]
fn a_key_named_twice_serves_the_client_once() {
    let server = TestServer::start(&[]);
    let (mut c, mut ctrl) = (server.raw(), server.raw());
    block(&mut c, &mut ctrl, "BLPOP q q 0");
    assert_eq!(ctrl.cmd_str("RPUSH q x y"), ":2\r\n");
    assert_eq!(c.reply_str(), "*2\r\n$1\r\nq\r\n$1\r\nx\r\n");
    assert_eq!(ctrl.cmd_str("LRANGE q 0 -1"), "*1\r\n$1\r\ny\r\n");
}

#[test]
fn a_client_that_disconnects_while_blocked_is_forgotten() {
    let server = TestServer::start(&[]);
    let mut ctrl = server.raw();
    {
        let mut c = server.raw();
        block(&mut c, &mut ctrl, "BLPOP q 0");
    }
    // The server notices the hang-up on its next loop turn; wait for that (a loaded machine
    // can take longer than any fixed sleep).
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ctrl
        .cmd_str("INFO clients")
        .contains("blocked_clients:0\r\n")
    {
        assert!(
            Instant::now() < deadline,
            "the closed client is still blocked"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(ctrl.cmd_str("RPUSH q x"), ":1\r\n");
    assert_eq!(ctrl.cmd_str("LLEN q"), ":1\r\n");
}

#[test]
fn lmove_into_a_list_wakes_its_waiter() {
    let server = TestServer::start(&[]);
    let (mut c, mut ctrl) = (server.raw(), server.raw());
    ctrl.cmd_str("RPUSH src x");
    block(&mut c, &mut ctrl, "BLPOP dst 0");
    assert_eq!(ctrl.cmd_str("LMOVE src dst LEFT RIGHT"), "$1\r\nx\r\n");
    assert_eq!(c.reply_str(), "*2\r\n$3\r\ndst\r\n$1\r\nx\r\n");
    assert_eq!(ctrl.cmd_str("LLEN dst"), ":0\r\n");
}

#[test]
fn blmove_served_by_a_push_feeds_the_next_waiter() {
    let server = TestServer::start(&[]);
    let mut ctrl = server.raw();
    let (mut mover, mut popper) = (server.raw(), server.raw());
    block(&mut mover, &mut ctrl, "BLMOVE a b RIGHT LEFT 0");
    block(&mut popper, &mut ctrl, "BRPOPLPUSH b c 0");
    let mut last = server.raw();
    block(&mut last, &mut ctrl, "BLPOP c 0");
    assert_eq!(ctrl.cmd_str("RPUSH a job"), ":1\r\n");
    assert_eq!(mover.reply_str(), "$3\r\njob\r\n");
    assert_eq!(popper.reply_str(), "$3\r\njob\r\n");
    assert_eq!(last.reply_str(), "*2\r\n$1\r\nc\r\n$3\r\njob\r\n");
    for key in ["a", "b", "c"] {
        assert_eq!(ctrl.cmd_str(&format!("LLEN {key}")), ":0\r\n");
    }
}

#[test]
fn blmpop_served_by_a_push_pops_up_to_count() {
    let server = TestServer::start(&[]);
    let (mut c, mut ctrl) = (server.raw(), server.raw());
    block(&mut c, &mut ctrl, "BLMPOP 0 2 a b RIGHT COUNT 2");
    assert_eq!(ctrl.cmd_str("RPUSH b 1 2 3"), ":3\r\n");
    assert_eq!(
        c.reply_str(),
        "*2\r\n$1\r\nb\r\n*2\r\n$1\r\n3\r\n$1\r\n2\r\n"
    );
    assert_eq!(ctrl.cmd_str("LLEN b"), ":1\r\n");
}

#[test]
fn the_waiter_is_served_before_the_pushers_next_command_runs() {
    let server = TestServer::start(&[]);
    let (mut c, mut ctrl) = (server.raw(), server.raw());
    block(&mut c, &mut ctrl, "BLPOP q 0");
    // One write, two commands: by the time LLEN runs the waiter already took the element, and
    // RPUSH itself still reports the length it produced.
    let mut pipeline = common::encode_command(&[b"RPUSH", b"q", b"x"]);
    pipeline.extend(common::encode_command(&[b"LLEN", b"q"]));
    ctrl.send(&pipeline);
    assert_eq!(ctrl.reply_str(), ":1\r\n");
    assert_eq!(ctrl.reply_str(), ":0\r\n");
    assert_eq!(c.reply_str(), "*2\r\n$1\r\nq\r\n$1\r\nx\r\n");
}

#[test]
fn a_served_client_resumes_its_pipelined_commands() {
    let server = TestServer::start(&[]);
    let (mut c, mut ctrl) = (server.raw(), server.raw());
    let mut pipeline = common::encode_command(&[b"BLPOP", b"q", b"0"]);
    pipeline.extend(common::encode_command(&[b"RPUSH", b"after", b"1"]));
    pipeline.extend(common::encode_command(&[b"PING"]));
    c.send(&pipeline);
    assert_eq!(ctrl.cmd_str("PING"), "+PONG\r\n");
    std::thread::sleep(Duration::from_millis(20));
    // The commands after BLPOP wait with it.
    assert_eq!(ctrl.cmd_str("LLEN after"), ":0\r\n");
    assert_eq!(ctrl.cmd_str("RPUSH q x"), ":1\r\n");
    assert_eq!(c.reply_str(), "*2\r\n$1\r\nq\r\n$1\r\nx\r\n");
    assert_eq!(c.reply_str(), ":1\r\n");
    assert_eq!(c.reply_str(), "+PONG\r\n");
}

#[test]
fn a_timed_out_client_resumes_its_pipelined_commands() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    let mut pipeline = common::encode_command(&[b"BLPOP", b"q", b"0.05"]);
    pipeline.extend(common::encode_command(&[b"PING"]));
    c.send(&pipeline);
    assert_eq!(c.reply_str(), "*-1\r\n");
    assert_eq!(c.reply_str(), "+PONG\r\n");
}

#[test]
fn a_key_of_another_type_does_not_serve_list_waiters() {
    let server = TestServer::start(&[]);
    let (mut c, mut ctrl) = (server.raw(), server.raw());
    block(&mut c, &mut ctrl, "BLPOP q 0");
    assert_eq!(ctrl.cmd_str("SET q notalist"), "+OK\r\n");
    assert_eq!(ctrl.cmd_str("DEL q"), ":1\r\n");
    assert_still_blocked(&mut c);
    assert_eq!(ctrl.cmd_str("RPUSH q x"), ":1\r\n");
    assert_eq!(c.reply_str(), "*2\r\n$1\r\nq\r\n$1\r\nx\r\n");
}

#[test]
fn blmove_to_a_key_of_another_type_unblocks_with_wrongtype_and_keeps_the_element() {
    let server = TestServer::start(&[]);
    let (mut c, mut ctrl) = (server.raw(), server.raw());
    block(&mut c, &mut ctrl, "BLMOVE src dst LEFT LEFT 0");
    ctrl.cmd_str("SET dst x");
    assert_eq!(ctrl.cmd_str("RPUSH src e"), ":1\r\n");
    assert_eq!(c.reply_str(), WRONGTYPE);
    assert_eq!(ctrl.cmd_str("LLEN src"), ":1\r\n");
}

#[test]
fn blocking_commands_inside_multi_do_not_block() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert_eq!(c.cmd_str("MULTI"), "+OK\r\n");
    assert_eq!(c.cmd_str("BLPOP q 0"), "+QUEUED\r\n");
    assert_eq!(c.cmd_str("BLMOVE q d LEFT LEFT 0"), "+QUEUED\r\n");
    assert_eq!(c.cmd_str("BZPOPMIN z 0"), "+QUEUED\r\n");
    assert_eq!(c.cmd_str("EXEC"), "*3\r\n*-1\r\n$-1\r\n*-1\r\n");
}

#[test]
fn client_unblock_ends_a_wait_with_a_timeout_or_an_error() {
    let server = TestServer::start(&[]);
    let mut ctrl = server.raw();
    assert_eq!(ctrl.cmd_str("CLIENT UNBLOCK 999999"), ":0\r\n");
    let mut c = server.raw();
    let id = c.cmd_str("CLIENT ID");
    let id = id.trim_start_matches(':').trim();
    block(&mut c, &mut ctrl, "BLPOP q 0");
    assert_eq!(ctrl.cmd_str(&format!("CLIENT UNBLOCK {id}")), ":1\r\n");
    assert_eq!(c.reply_str(), "*-1\r\n");
    assert_eq!(ctrl.cmd_str(&format!("CLIENT UNBLOCK {id}")), ":0\r\n");
    block(&mut c, &mut ctrl, "BLPOP q 0");
    assert_eq!(
        ctrl.cmd_str(&format!("CLIENT UNBLOCK {id} ERROR")),
        ":1\r\n"
    );
    assert_eq!(
        c.reply_str(),
        "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
    );
    assert_eq!(
        ctrl.cmd_str(&format!("CLIENT UNBLOCK {id} LATER")),
        "-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n"
    );
    assert_eq!(
        ctrl.cmd_str("CLIENT UNBLOCK x"),
        "-ERR value is not an integer or out of range\r\n"
    );
    // Unblocked, the client is forgotten: a push stays in the list.
    assert_eq!(ctrl.cmd_str("RPUSH q x"), ":1\r\n");
    assert_eq!(ctrl.cmd_str("LLEN q"), ":1\r\n");
}

#[test]
fn bzpopmin_blocks_until_zadd_and_replies_key_member_score() {
    let server = TestServer::start(&[]);
    let mut ctrl = server.raw();
    let mut c = server.raw();
    block(&mut c, &mut ctrl, "BZPOPMIN z1 z2 0");
    assert_still_blocked(&mut c);
    assert_eq!(ctrl.cmd_str("ZADD z2 2 b 1 a"), ":2\r\n");
    assert_eq!(c.reply_str(), "*3\r\n$2\r\nz2\r\n$1\r\na\r\n$1\r\n1\r\n");
    assert_eq!(ctrl.cmd_str("ZRANGE z2 0 -1"), "*1\r\n$1\r\nb\r\n");
}

#[test]
fn bzpopmax_and_bzmpop_time_out_with_a_null_array() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    let started = Instant::now();
    assert_eq!(c.cmd_str("BZPOPMAX z 0.05"), "*-1\r\n");
    assert_eq!(c.cmd_str("BZMPOP 0.05 2 a b MIN COUNT 2"), "*-1\r\n");
    assert!(started.elapsed() >= Duration::from_millis(95));
}

#[test]
fn bzmpop_served_by_zadd_pops_up_to_count() {
    let server = TestServer::start(&[]);
    let mut ctrl = server.raw();
    let mut c = server.raw();
    block(&mut c, &mut ctrl, "BZMPOP 0 1 z MAX COUNT 2");
    assert_eq!(ctrl.cmd_str("ZADD z 1 a 2 b 3 c"), ":3\r\n");
    assert_eq!(
        c.reply_str(),
        "*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n"
    );
    assert_eq!(ctrl.cmd_str("ZCARD z"), ":1\r\n");
}

#[test]
fn a_list_push_does_not_serve_a_sorted_set_waiter() {
    let server = TestServer::start(&[]);
    let mut ctrl = server.raw();
    let mut c = server.raw();
    block(&mut c, &mut ctrl, "BZPOPMIN k 0");
    assert_eq!(ctrl.cmd_str("RPUSH k x"), ":1\r\n");
    assert_still_blocked(&mut c);
    assert_eq!(ctrl.cmd_str("DEL k"), ":1\r\n");
    assert_eq!(ctrl.cmd_str("ZADD k 5 m"), ":1\r\n");
    assert_eq!(c.reply_str(), "*3\r\n$1\r\nk\r\n$1\r\nm\r\n$1\r\n5\r\n");
}

// ---------------------------------------------------------------------------------------------
// Keys that appear by other means than a push (SWAPDB, SORT STORE, MOVE, RENAME, COPY, *STORE):
// compared with redis-server, which wakes waiters exactly when `dbAdd` adds the key.
// ---------------------------------------------------------------------------------------------

#[test]
fn swapdb_wakes_clients_blocked_on_keys_it_brings_in_as_redis_does() {
    common::assert_wakeups_match_redis(
        &[
            "SELECT 1",
            "RPUSH l a b",
            "ZADD z 1 m 2 n",
            "SET s v",
            "RPUSH src x",
            "SELECT 0",
            "RPUSH back y",
        ],
        &[
            (0, "BLPOP l 1"),
            (0, "BZPOPMIN z 1"),
            (0, "BLPOP s 1"),
            (0, "BLMOVE src dst LEFT RIGHT 1"),
            (0, "BLMPOP 1 1 z MAX"),
            (1, "BRPOP back 1"),
            (0, "BLPOP z 1"),
        ],
        &["SWAPDB 0 1"],
        &[
            "LRANGE l 0 -1",
            "LRANGE dst 0 -1",
            "ZRANGE z 0 -1 WITHSCORES",
            "DBSIZE",
        ],
    );
}

#[test]
fn sort_store_wakes_clients_blocked_on_a_new_destination_as_redis_does() {
    common::assert_wakeups_match_redis(
        &["RPUSH src 3 1 2"],
        &[(0, "BLPOP d 1"), (0, "BLMPOP 1 1 d RIGHT COUNT 2")],
        &["SORT src STORE d"],
        &["LRANGE d 0 -1"],
    );
}

#[test]
fn stores_that_overwrite_an_existing_key_wake_nobody_as_in_redis() {
    // The waiter's key first gets a value of the other type (the waiter stays blocked), then a
    // store overwrites it with the right type: Redis's `setKey` overwrites without signalling.
    common::assert_wakeups_match_redis(
        &["RPUSH src 3 1 2", "ZADD zs 1 a"],
        &[(0, "BLPOP k 1"), (0, "BZPOPMIN w 1")],
        &[
            "ZADD k 1 m",
            "SORT src STORE k",
            "RPUSH w x",
            "ZUNIONSTORE w 1 zs",
        ],
        &["LRANGE k 0 -1", "ZRANGE w 0 -1"],
    );
}

#[test]
fn zset_stores_wake_clients_blocked_on_a_new_destination_as_redis_does() {
    common::assert_wakeups_match_redis(
        &["ZADD a 1 x 2 y", "ZADD b 3 y"],
        &[
            (0, "BZPOPMAX u 1"),
            (0, "BZPOPMIN i 1"),
            (0, "BZMPOP 1 1 r MIN"),
            (0, "BZPOPMIN df 1"),
        ],
        &[
            "ZUNIONSTORE u 2 a b",
            "ZINTERSTORE i 2 a b",
            "ZRANGESTORE r a 0 -1",
            "ZDIFFSTORE df 2 a b",
        ],
        &["ZRANGE u 0 -1", "ZRANGE r 0 -1"],
    );
}

#[test]
fn move_rename_and_copy_wake_clients_blocked_on_the_new_key_as_redis_does() {
    common::assert_wakeups_match_redis(
        &[
            "SELECT 1",
            "RPUSH m a",
            "SELECT 0",
            "RPUSH r1 a",
            "ZADD r2 1 a",
            "RPUSH over old",
            "RPUSH c1 a b",
            "ZADD c2 5 z",
        ],
        &[
            (0, "BLPOP m 1"),
            (0, "BLPOP renamed 1"),
            (0, "BZPOPMIN renamednx 1"),
            (0, "BLPOP copied 1"),
            (1, "BZPOPMAX copied2 1"),
            (0, "BLPOP rep 1"),
            (0, "BLPOP wrongtype 1"),
        ],
        &[
            "SELECT 1",
            "MOVE m 0",
            "SELECT 0",
            "RENAME r1 renamed",
            "RENAMENX r2 renamednx",
            "COPY c1 copied",
            "COPY c2 copied2 DB 1",
            "SET rep str",
            "COPY c1 rep REPLACE",
            "SET wrongtype str",
        ],
        &["LRANGE copied 0 -1", "LRANGE rep 0 -1", "DBSIZE"],
    );
}

/// CLIENT UNBLOCK on clients blocked in BLPOP and in WAIT (no replica: WAIT 1 0 blocks for
/// ever), with TIMEOUT and with ERROR: the replies each gets, and what INFO counts.
fn client_unblock_transcript(port: u16) -> Vec<String> {
    let mut ctrl = RawConn::connect(port);
    let mut out = Vec::new();
    for (command, how) in [
        ("BLPOP l 0", "TIMEOUT"),
        ("BLPOP l 0", "ERROR"),
        ("WAIT 1 0", "TIMEOUT"),
        ("WAIT 1 0", "ERROR"),
    ] {
        let mut waiter = RawConn::connect(port);
        let id = waiter.cmd_str("CLIENT ID");
        let id = id.trim_start_matches(':').trim_end().to_string();
        waiter.send_str(command);
        assert_eq!(ctrl.cmd_str("PING"), "+PONG\r\n");
        std::thread::sleep(Duration::from_millis(50));
        out.push(ctrl.cmd_str(&format!("CLIENT UNBLOCK {id} {how}")));
        out.push(format!("{command} {how} -> {}", waiter.reply_str()));
    }
    let errorstats = ctrl.cmd_str("INFO errorstats");
    out.extend(
        errorstats
            .lines()
            .filter(|l| l.starts_with("errorstat_"))
            .map(String::from),
    );
    let stats = ctrl.cmd_str("INFO commandstats");
    for line in stats
        .lines()
        .filter(|l| l.starts_with("cmdstat_blpop") || l.starts_with("cmdstat_wait"))
    {
        // calls, rejected_calls and failed_calls; the times differ.
        let (name, fields) = line.split_once(':').unwrap_or((line, ""));
        let counts: Vec<&str> = fields
            .split(',')
            .filter(|f| f.starts_with("calls=") || f.contains("_calls="))
            .collect();
        out.push(format!("{name}:{}", counts.join(",")));
    }
    // INFO lists commands in its dictionary's order, which is not ferrodis's.
    out[9..].sort();
    out
}

#[test]
fn client_unblock_answers_and_counts_as_redis_does() {
    if !common::require_redis_server() {
        return;
    }
    let ours = TestServer::start(&[]);
    let real = common::RealRedis::start(&[]);
    let transcript = client_unblock_transcript(real.port);
    assert_eq!(transcript.len(), 11, "{transcript:?}");
    assert_eq!(client_unblock_transcript(ours.port), transcript);
}
