//! MULTI / EXEC / DISCARD / WATCH / UNWATCH through the real binary, with exact RESP bytes.

mod common;
use common::{require_redis_server, RawConn, RealRedis, TestServer};
use std::time::Duration;

#[test]
fn exec_runs_the_queued_commands_in_order_and_returns_every_reply() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert_eq!(
        c.cmd_strs(&["MULTI", "SET a 1", "GET a", "DEL a", "GET a"]),
        [
            "+OK\r\n",
            "+QUEUED\r\n",
            "+QUEUED\r\n",
            "+QUEUED\r\n",
            "+QUEUED\r\n"
        ]
    );
    assert_eq!(c.cmd_str("EXEC"), "*4\r\n+OK\r\n$1\r\n1\r\n:1\r\n$-1\r\n");
    // An empty transaction is an empty array.
    c.cmd_str("MULTI");
    assert_eq!(c.cmd_str("EXEC"), "*0\r\n");
}

#[test]
fn queued_commands_are_not_visible_to_others_until_exec() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    let mut other = server.raw();
    c.cmd_strs(&["MULTI", "SET k v"]);
    assert_eq!(other.cmd_str("GET k"), "$-1\r\n");
    c.cmd_str("EXEC");
    assert_eq!(other.cmd_str("GET k"), "$1\r\nv\r\n");
}

#[test]
fn misuse_of_the_transaction_commands_gets_redis_errors() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert_eq!(c.cmd_str("EXEC"), "-ERR EXEC without MULTI\r\n");
    assert_eq!(c.cmd_str("DISCARD"), "-ERR DISCARD without MULTI\r\n");
    c.cmd_str("MULTI");
    assert_eq!(c.cmd_str("MULTI"), "-ERR MULTI calls can not be nested\r\n");
    assert_eq!(
        c.cmd_str("WATCH k"),
        "-ERR WATCH inside MULTI is not allowed\r\n"
    );
    c.cmd_str("SET k v");
    // Those errors came from the commands themselves: the transaction still runs.
    assert_eq!(c.cmd_str("EXEC"), "*1\r\n+OK\r\n");
}

#[test]
fn a_command_refused_while_queueing_aborts_the_whole_transaction() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert_eq!(
        c.cmd_strs(&["MULTI", "SET a 1", "SET b", "NOSUCH x", "SET c 3"]),
        [
            "+OK\r\n",
            "+QUEUED\r\n",
            "-ERR wrong number of arguments for 'set' command\r\n",
            "-ERR unknown command 'NOSUCH', with args beginning with: 'x' \r\n",
            "+QUEUED\r\n"
        ]
    );
    assert_eq!(
        c.cmd_str("EXEC"),
        "-EXECABORT Transaction discarded because of previous errors.\r\n"
    );
    assert_eq!(c.cmd_str("GET a"), "$-1\r\n");
    // The transaction is over.
    assert_eq!(c.cmd_str("EXEC"), "-ERR EXEC without MULTI\r\n");
}

#[test]
fn commands_flagged_no_multi_are_refused_inside_a_transaction() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    c.cmd_str("MULTI");
    assert_eq!(
        c.cmd_str("SHUTDOWN"),
        "-ERR Command not allowed inside a transaction\r\n"
    );
    assert_eq!(
        c.cmd_str("EXEC"),
        "-EXECABORT Transaction discarded because of previous errors.\r\n"
    );
}

#[test]
fn exec_with_arguments_discards_the_transaction_and_says_why() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    c.cmd_strs(&["MULTI", "SET a 1"]);
    assert_eq!(
        c.cmd_str("EXEC now"),
        "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n"
    );
    assert_eq!(c.cmd_str("GET a"), "$-1\r\n");
}

#[test]
fn runtime_errors_inside_exec_are_returned_in_place_and_the_rest_still_runs() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    c.cmd_strs(&[
        "MULTI",
        "SET a 1",
        "SET b 2 EX notanumber",
        "SET b 2 PX 0",
        "GET a",
    ]);
    assert_eq!(
        c.cmd_str("EXEC"),
        "*4\r\n+OK\r\n-ERR value is not an integer or out of range\r\n\
         -ERR invalid expire time in 'set' command\r\n$1\r\n1\r\n"
    );
}

#[test]
fn discard_drops_the_queue_and_the_watches() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    let mut other = server.raw();
    assert_eq!(
        c.cmd_strs(&["WATCH k", "MULTI", "SET a 1", "DISCARD"]),
        ["+OK\r\n", "+OK\r\n", "+QUEUED\r\n", "+OK\r\n"]
    );
    assert_eq!(c.cmd_str("GET a"), "$-1\r\n");
    other.cmd_str("SET k changed");
    c.cmd_strs(&["MULTI", "SET a 1"]);
    assert_eq!(c.cmd_str("EXEC"), "*1\r\n+OK\r\n");
}

#[test]
fn quit_inside_multi_runs_at_once() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    c.cmd_strs(&["MULTI", "SET a 1"]);
    assert_eq!(c.cmd_str("QUIT"), "+OK\r\n");
    assert!(c.read_to_close().is_empty());
    assert_eq!(server.raw().cmd_str("GET a"), "$-1\r\n");
}

#[test]
fn exec_fails_when_another_client_changes_a_watched_key() {
    let server = TestServer::start(&[]);
    let mut a = server.raw();
    let mut b = server.raw();
    a.cmd_str("SET balance 10");
    assert_eq!(a.cmd_str("WATCH balance"), "+OK\r\n");
    let seen = a.cmd_str("GET balance");
    assert_eq!(seen, "$2\r\n10\r\n");
    // Between the read and the transaction, someone else writes.
    b.cmd_str("SET balance 20");
    a.cmd_strs(&["MULTI", "SET balance 11"]);
    assert_eq!(a.cmd_str("EXEC"), "*-1\r\n");
    assert_eq!(a.cmd_str("GET balance"), "$2\r\n20\r\n");
    // Retry without interference: it goes through, and EXEC unwatched everything.
    a.cmd_str("WATCH balance");
    a.cmd_strs(&["MULTI", "SET balance 21"]);
    assert_eq!(a.cmd_str("EXEC"), "*1\r\n+OK\r\n");
    b.cmd_str("SET balance 99");
    a.cmd_strs(&["MULTI", "GET balance"]);
    assert_eq!(a.cmd_str("EXEC"), "*1\r\n$2\r\n99\r\n");
}

#[test]
fn any_write_to_a_watched_key_counts_even_the_same_value_or_the_watchers_own() {
    let server = TestServer::start(&[]);
    let mut a = server.raw();
    let mut b = server.raw();
    a.cmd_str("SET k v");
    a.cmd_str("WATCH k");
    b.cmd_str("SET k v");
    a.cmd_strs(&["MULTI", "PING"]);
    assert_eq!(a.cmd_str("EXEC"), "*-1\r\n");
    a.cmd_str("WATCH k");
    a.cmd_str("SET k mine");
    a.cmd_strs(&["MULTI", "PING"]);
    assert_eq!(a.cmd_str("EXEC"), "*-1\r\n");
}

#[test]
fn a_watched_key_deleted_and_recreated_aborts_exec() {
    let server = TestServer::start(&[]);
    let mut a = server.raw();
    let mut b = server.raw();
    a.cmd_str("SET k v");
    a.cmd_str("WATCH k");
    b.cmd_str("DEL k");
    b.cmd_str("SET k v");
    a.cmd_strs(&["MULTI", "PING"]);
    assert_eq!(a.cmd_str("EXEC"), "*-1\r\n");
}

#[test]
fn watching_a_missing_key_that_stays_missing_does_not_abort() {
    let server = TestServer::start(&[]);
    let mut a = server.raw();
    let mut b = server.raw();
    a.cmd_str("WATCH nokey");
    // Deleting what does not exist is not a write.
    assert_eq!(b.cmd_str("DEL nokey"), ":0\r\n");
    b.cmd_str("SET other x");
    a.cmd_strs(&["MULTI", "PING"]);
    assert_eq!(a.cmd_str("EXEC"), "*1\r\n+PONG\r\n");
}

#[test]
fn unwatch_forgets_the_watches_and_a_pending_failure() {
    let server = TestServer::start(&[]);
    let mut a = server.raw();
    let mut b = server.raw();
    a.cmd_str("WATCH k");
    b.cmd_str("SET k 1");
    assert_eq!(a.cmd_str("UNWATCH"), "+OK\r\n");
    a.cmd_strs(&["MULTI", "PING"]);
    assert_eq!(a.cmd_str("EXEC"), "*1\r\n+PONG\r\n");
    // UNWATCH inside MULTI is queued like any other command.
    a.cmd_str("WATCH k");
    assert_eq!(
        a.cmd_strs(&["MULTI", "UNWATCH"]),
        ["+OK\r\n", "+QUEUED\r\n"]
    );
    assert_eq!(a.cmd_str("EXEC"), "*1\r\n+OK\r\n");
}

#[test]
fn watches_belong_to_the_database_they_were_made_in() {
    let server = TestServer::start(&[]);
    let mut a = server.raw();
    let mut b = server.raw();
    a.cmd_strs(&["SELECT 1", "WATCH k"]);
    b.cmd_str("SET k in-db-0");
    a.cmd_strs(&["MULTI", "PING"]);
    assert_eq!(a.cmd_str("EXEC"), "*1\r\n+PONG\r\n");
    a.cmd_str("WATCH k");
    b.cmd_strs(&["SELECT 1", "SET k in-db-1"]);
    a.cmd_strs(&["MULTI", "PING"]);
    assert_eq!(a.cmd_str("EXEC"), "*-1\r\n");
}

#[test]
fn a_watched_key_that_expires_before_exec_aborts_it() {
    let server = TestServer::start(&[]);
    let mut a = server.raw();
    a.cmd_str("SET k v PX 100");
    a.cmd_str("WATCH k");
    a.cmd_strs(&["MULTI", "PING"]);
    // Whether the key is still stored (lazy expiry) or already removed by the active cycle,
    // it changed from "v" to nothing.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(a.cmd_str("EXEC"), "*-1\r\n");
}

#[test]
fn a_key_already_expired_when_watched_only_counts_if_it_gets_a_new_value() {
    let server = TestServer::start(&[]);
    let mut a = server.raw();
    let mut b = server.raw();
    a.cmd_str("SET k v PX 1");
    std::thread::sleep(Duration::from_millis(20));
    a.cmd_str("WATCH k");
    // Another client's read removes the expired key: nothing changed for the watcher.
    assert_eq!(b.cmd_str("GET k"), "$-1\r\n");
    a.cmd_strs(&["MULTI", "PING"]);
    assert_eq!(a.cmd_str("EXEC"), "*1\r\n+PONG\r\n");

    a.cmd_str("SET k v PX 1");
    std::thread::sleep(Duration::from_millis(20));
    a.cmd_str("WATCH k");
    b.cmd_str("SET k fresh");
    a.cmd_strs(&["MULTI", "PING"]);
    assert_eq!(a.cmd_str("EXEC"), "*-1\r\n");
}

#[test]
fn two_clients_incrementing_with_watch_never_lose_an_update() {
    let server = TestServer::start(&[]);
    let port = server.port;
    let worker = move || {
        let mut c = RawConn::connect(port);
        let mut done = 0;
        while done < 100 {
            c.cmd_str("WATCH counter");
            let reply = c.cmd_str("GET counter");
            let current: i64 = reply
                .split("\r\n")
                .nth(1)
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            c.cmd_str("MULTI");
            c.cmd_str(&format!("SET counter {}", current + 1));
            if c.cmd_str("EXEC") == "*1\r\n+OK\r\n" {
                done += 1;
            }
        }
    };
    let t1 = std::thread::spawn(worker);
    let t2 = std::thread::spawn(worker);
    t1.join().unwrap();
    t2.join().unwrap();
    assert_eq!(server.raw().cmd_str("GET counter"), "$3\r\n200\r\n");
}

#[test]
fn an_aborted_exec_is_a_resp3_null() {
    let server = TestServer::start(&[]);
    let mut a = server.raw();
    let mut b = server.raw();
    assert!(a.cmd_str("HELLO 3").starts_with('%'));
    assert_eq!(a.cmd_str("WATCH k"), "+OK\r\n");
    b.cmd_str("SET k 1");
    assert_eq!(a.cmd_strs(&["MULTI", "PING"]), ["+OK\r\n", "+QUEUED\r\n"]);
    assert_eq!(a.cmd_str("EXEC"), "_\r\n");
}

#[test]
fn transaction_replies_match_real_redis_byte_for_byte() {
    if !require_redis_server() {
        return;
    }
    let real = RealRedis::start(&[]);
    let ours = TestServer::start(&[]);
    let script: &[(usize, &str)] = &[
        (0, "EXEC"),
        (0, "DISCARD"),
        (0, "UNWATCH"),
        (0, "MULTI"),
        (0, "MULTI"),
        (0, "WATCH x"),
        (0, "SET a 1"),
        (0, "SET b 2 XX NX"),
        (0, "GET a"),
        (0, "EXEC"),
        (0, "MULTI"),
        (0, "GET"),
        (0, "EXEC"),
        (0, "WATCH a b"),
        (1, "DEL b"),
        (1, "DEL a"),
        (0, "MULTI"),
        (0, "SET a 2"),
        (0, "EXEC"),
        (0, "MULTI"),
        (0, "EXEC extra"),
        (0, "EXEC"),
        (0, "SUBSCRIBE ch"),
        (0, "EXEC"),
        (0, "MULTI"),
    ];
    let run_script = |conns: &mut [RawConn]| -> Vec<String> {
        script
            .iter()
            .map(|&(who, line)| conns[who].cmd_str(line))
            .collect()
    };
    let theirs = run_script(&mut [real.raw(), real.raw()]);
    let mine = run_script(&mut [ours.raw(), ours.raw()]);
    for ((step, t), m) in script.iter().zip(&theirs).zip(&mine) {
        assert_eq!(m, t, "step {step:?}");
    }
}
