//! Stream commands through the real binary: exact replies, consumer groups, blocking reads,
//! and a byte-for-byte comparison with a real Redis (IDs are explicit: `*` reads the clock).

mod common;
use common::{assert_replies_match_redis, TestServer, WRONGTYPE};

#[test]
fn xadd_and_xrange_round_trip_entries() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd_str("XADD s 1-1 a 1 b 2"), "$3\r\n1-1\r\n");
    assert_eq!(c.cmd_str("XADD s 1-* c 3"), "$3\r\n1-2\r\n");
    assert_eq!(
        c.cmd_str("XADD s 1-1 a 1"),
        "-ERR The ID specified in XADD is equal or smaller than the target stream top item\r\n"
    );
    assert_eq!(
        c.cmd_str("XRANGE s - +"),
        "*2\r\n*2\r\n$3\r\n1-1\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n\
         *2\r\n$3\r\n1-2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n"
    );
    assert_eq!(c.cmd_str("XLEN s"), ":2\r\n");
    assert_eq!(c.cmd_str("TYPE s"), "+stream\r\n");
    assert_eq!(c.cmd_str("OBJECT ENCODING s"), "$6\r\nstream\r\n");
    assert_eq!(c.cmd_str("SET str x"), "+OK\r\n");
    assert_eq!(c.cmd_str("XADD str 1-1 a b"), WRONGTYPE);
}

#[test]
fn a_blocked_xread_is_woken_by_xadd() {
    let s = TestServer::start(&[]);
    let mut waiter = s.raw();
    let mut c = s.raw();
    waiter.send(
        b"*6\r\n$5\r\nXREAD\r\n$5\r\nBLOCK\r\n$1\r\n0\r\n$7\r\nSTREAMS\r\n$1\r\ns\r\n$1\r\n$\r\n",
    );
    // Wait until the server has parked the waiter.
    while c.cmd_str("INFO clients").contains("blocked_clients:0") {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(c.cmd_str("XADD s 5-0 f v"), "$3\r\n5-0\r\n");
    assert_eq!(
        waiter.read_reply(),
        b"*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n5-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n".to_vec()
    );
}

#[test]
fn a_blocked_xreadgroup_gets_nogroup_when_its_group_is_destroyed() {
    let s = TestServer::start(&[]);
    let mut waiter = s.raw();
    let mut c = s.raw();
    assert_eq!(c.cmd_str("XGROUP CREATE s g $ MKSTREAM"), "+OK\r\n");
    waiter.send(
        b"*9\r\n$10\r\nXREADGROUP\r\n$5\r\nGROUP\r\n$1\r\ng\r\n$5\r\nalice\r\n$5\r\nBLOCK\r\n\
          $1\r\n0\r\n$7\r\nSTREAMS\r\n$1\r\ns\r\n$1\r\n>\r\n",
    );
    while c.cmd_str("INFO clients").contains("blocked_clients:0") {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(c.cmd_str("XGROUP DESTROY s g"), ":1\r\n");
    assert_eq!(
        waiter.read_reply(),
        b"-NOGROUP the consumer group this client was blocked on no longer exists\r\n".to_vec()
    );
}

#[test]
fn stream_commands_match_redis() {
    assert_replies_match_redis(
        &[],
        &[
            "XADD s 1-1 a 1 b 2",
            "XADD s 1-2 a 3 b 4",
            "XADD s 2-* c 5",
            "XADD s 0-0 x y",
            "XADD s MAXLEN ~ 1 3-0 a 1 b 2",
            "XADD s MINID 1 LIMIT 5 4-0 a 1",
            "XADD nokey NOMKSTREAM 5-0 a b",
            "XADD s 5-x a b",
            "XRANGE s (1-1 + COUNT 2",
            "XREVRANGE s + - COUNT 2",
            "XRANGE s - + COUNT 0",
            "XRANGE s - (0-0",
            "XDEL s 1-2 9-9",
            "XTRIM s MAXLEN 3",
            "XTRIM s LIMIT 1",
            "XREAD COUNT 1 STREAMS s 0",
            "XREAD STREAMS s $",
            "XGROUP CREATE s g 0",
            "XGROUP CREATE s g 0",
            "XGROUP CREATE nokey g 0",
            "XREADGROUP GROUP g alice COUNT 1 STREAMS s >",
            "XREADGROUP GROUP g bob STREAMS s >",
            "XREADGROUP GROUP g alice STREAMS s 0",
            "XPENDING s g",
            "XPENDING s nog",
            "XACK s g 3-0",
            "XCLAIM s g carol 0 4-0 JUSTID",
            "XAUTOCLAIM s g dave 0 0 COUNT 1 JUSTID",
            "XINFO GROUPS s",
            "XINFO STREAM s",
            "XINFO HELP",
            "XGROUP HELP",
            "XGROUP CREATECONSUMER s g eve",
            "XGROUP DELCONSUMER s g carol",
            "XGROUP SETID s g 0 ENTRIESREAD 1",
            "XINFO GROUPS s",
            "XGROUP DESTROY s g",
            "XSETID s 1-0",
            "XSETID s 100-0 ENTRIESADDED 3",
            "XSETID nokey 1-1",
            "XREADGROUP GROUP g alice STREAMS s $",
            "XREAD GROUP g a STREAMS s 0",
            "XINFO STREAM s FULL",
        ],
    );
}

#[test]
fn nodes_split_and_approximate_trimming_match_redis() {
    let mut lines: Vec<String> = (1..=350)
        .map(|i| format!("XADD s {i}-0 field {i} other value{i}"))
        .collect();
    lines.push("XINFO STREAM s".into());
    lines.push("XTRIM s MAXLEN ~ 120".into());
    lines.push("XTRIM s MINID ~ 300".into());
    lines.push("XLEN s".into());
    lines.push("MEMORY USAGE s".into());
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    // MEMORY USAGE differs by design (ferrodis's nodes are smaller): compare all but it.
    assert_replies_match_redis(&[], &refs[..refs.len() - 1]);
}
