//! LIST commands through the real binary: exact replies and errors, and a differential run of
//! the whole family against a real redis-server when one is installed.

mod common;
use common::{assert_replies_match_redis, TestServer, WRONGTYPE};

#[test]
fn push_and_range_return_lengths_and_elements() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert_eq!(c.cmd_str("RPUSH l a b c"), ":3\r\n");
    assert_eq!(c.cmd_str("LPUSH l z y"), ":5\r\n");
    assert_eq!(
        c.cmd_str("LRANGE l 0 -1"),
        "*5\r\n$1\r\ny\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"
    );
    assert_eq!(c.cmd_str("LRANGE l -2 100"), "*2\r\n$1\r\nb\r\n$1\r\nc\r\n");
    assert_eq!(c.cmd_str("LRANGE l 3 1"), "*0\r\n");
    assert_eq!(c.cmd_str("LRANGE nokey 0 -1"), "*0\r\n");
    assert_eq!(c.cmd_str("LLEN l"), ":5\r\n");
    assert_eq!(c.cmd_str("LLEN nokey"), ":0\r\n");
    assert_eq!(
        c.cmd_str("LRANGE l a 1"),
        "-ERR value is not an integer or out of range\r\n"
    );
}

#[test]
fn pushx_only_pushes_onto_existing_lists() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert_eq!(c.cmd_str("LPUSHX l a"), ":0\r\n");
    assert_eq!(c.cmd_str("RPUSHX l a"), ":0\r\n");
    assert_eq!(c.cmd_str("GET l"), "$-1\r\n");
    c.cmd_str("RPUSH l x");
    assert_eq!(c.cmd_str("LPUSHX l a b"), ":3\r\n");
    assert_eq!(c.cmd_str("RPUSHX l c"), ":4\r\n");
}

#[test]
fn pop_replies_follow_redis_7_shapes() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert_eq!(c.cmd_str("LPOP nokey"), "$-1\r\n");
    assert_eq!(c.cmd_str("LPOP nokey 2"), "*-1\r\n");
    c.cmd_str("RPUSH l a b c d");
    assert_eq!(c.cmd_str("LPOP l"), "$1\r\na\r\n");
    assert_eq!(c.cmd_str("RPOP l"), "$1\r\nd\r\n");
    assert_eq!(c.cmd_str("LPOP l 0"), "*0\r\n");
    assert_eq!(
        c.cmd_str("LPOP l -1"),
        "-ERR value is out of range, must be positive\r\n"
    );
    assert_eq!(
        c.cmd_str("LPOP l 1 2"),
        "-ERR wrong number of arguments for 'lpop' command\r\n"
    );
    assert_eq!(c.cmd_str("RPOP l 5"), "*2\r\n$1\r\nc\r\n$1\r\nb\r\n");
    // The list emptied: the key is gone.
    assert_eq!(c.cmd_str("GET l"), "$-1\r\n");
    assert_eq!(c.cmd_str("LPUSHX l a"), ":0\r\n");
}

#[test]
fn integers_come_back_as_the_bytes_that_were_pushed() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    c.cmd_str("RPUSH l 0 -1 127 128 4095 -4096 65536 9223372036854775807 007 +5 -0");
    assert_eq!(
        c.cmd_str("LRANGE l 0 -1"),
        "*11\r\n$1\r\n0\r\n$2\r\n-1\r\n$3\r\n127\r\n$3\r\n128\r\n$4\r\n4095\r\n$5\r\n-4096\r\n\
         $5\r\n65536\r\n$19\r\n9223372036854775807\r\n$3\r\n007\r\n$2\r\n+5\r\n$2\r\n-0\r\n"
    );
    assert_eq!(c.cmd_str("LREM l 0 007"), ":1\r\n");
    assert_eq!(c.cmd_str("LPOS l 128"), ":3\r\n");
}

#[test]
fn lindex_and_lset_address_elements_from_either_end() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    c.cmd_str("RPUSH l a b c");
    assert_eq!(c.cmd_str("LINDEX l 0"), "$1\r\na\r\n");
    assert_eq!(c.cmd_str("LINDEX l -1"), "$1\r\nc\r\n");
    assert_eq!(c.cmd_str("LINDEX l 3"), "$-1\r\n");
    assert_eq!(c.cmd_str("LINDEX nokey 0"), "$-1\r\n");
    assert_eq!(c.cmd_str("LSET l -2 B"), "+OK\r\n");
    assert_eq!(c.cmd_str("LINDEX l 1"), "$1\r\nB\r\n");
    assert_eq!(c.cmd_str("LSET nokey 0 x"), "-ERR no such key\r\n");
    assert_eq!(c.cmd_str("LSET l 3 x"), "-ERR index out of range\r\n");
    assert_eq!(
        c.cmd_str("LSET l x x"),
        "-ERR value is not an integer or out of range\r\n"
    );
}

#[test]
fn linsert_lrem_and_ltrim_edit_in_place() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    c.cmd_str("RPUSH l a b a c a");
    assert_eq!(c.cmd_str("LINSERT l BEFORE c x"), ":6\r\n");
    assert_eq!(c.cmd_str("LINSERT l after c y"), ":7\r\n");
    assert_eq!(c.cmd_str("LINSERT l BEFORE zz x"), ":-1\r\n");
    assert_eq!(c.cmd_str("LINSERT nokey BEFORE a x"), ":0\r\n");
    assert_eq!(c.cmd_str("LINSERT l middle a x"), "-ERR syntax error\r\n");
    assert_eq!(c.cmd_str("LREM l -1 a"), ":1\r\n");
    assert_eq!(
        c.cmd_str("LRANGE l 0 -1"),
        "*6\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\nx\r\n$1\r\nc\r\n$1\r\ny\r\n"
    );
    assert_eq!(c.cmd_str("LREM l 0 a"), ":2\r\n");
    assert_eq!(c.cmd_str("LREM nokey 0 a"), ":0\r\n");
    assert_eq!(c.cmd_str("LTRIM l 1 -2"), "+OK\r\n");
    assert_eq!(c.cmd_str("LRANGE l 0 -1"), "*2\r\n$1\r\nx\r\n$1\r\nc\r\n");
    assert_eq!(c.cmd_str("LTRIM l 5 10"), "+OK\r\n");
    assert_eq!(c.cmd_str("GET l"), "$-1\r\n");
    assert_eq!(c.cmd_str("LTRIM nokey 0 1"), "+OK\r\n");
}

#[test]
fn lpos_supports_rank_count_and_maxlen_with_redis_errors() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    c.cmd_str("RPUSH l a b c 1 2 3 c c");
    assert_eq!(c.cmd_str("LPOS l c"), ":2\r\n");
    assert_eq!(c.cmd_str("LPOS l c RANK 2"), ":6\r\n");
    assert_eq!(c.cmd_str("LPOS l c RANK -1"), ":7\r\n");
    assert_eq!(c.cmd_str("LPOS l c COUNT 0"), "*3\r\n:2\r\n:6\r\n:7\r\n");
    assert_eq!(c.cmd_str("LPOS l c COUNT 2 RANK -1"), "*2\r\n:7\r\n:6\r\n");
    assert_eq!(c.cmd_str("LPOS l c COUNT 0 MAXLEN 3"), "*1\r\n:2\r\n");
    assert_eq!(c.cmd_str("LPOS l zz"), "$-1\r\n");
    assert_eq!(c.cmd_str("LPOS l zz COUNT 1"), "*0\r\n");
    assert_eq!(c.cmd_str("LPOS nokey a"), "$-1\r\n");
    assert_eq!(c.cmd_str("LPOS nokey a COUNT 1"), "*0\r\n");
    assert_eq!(
        c.cmd_str("LPOS l c RANK 0"),
        "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... \
         or use negative to start from the end of the list\r\n"
    );
    assert_eq!(
        c.cmd_str("LPOS l c COUNT -1"),
        "-ERR COUNT can't be negative\r\n"
    );
    assert_eq!(
        c.cmd_str("LPOS l c MAXLEN -1"),
        "-ERR MAXLEN can't be negative\r\n"
    );
    assert_eq!(c.cmd_str("LPOS l c RANK"), "-ERR syntax error\r\n");
    assert_eq!(c.cmd_str("LPOS l c FOO 1"), "-ERR syntax error\r\n");
}

#[test]
fn lmove_and_rpoplpush_move_one_element() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    c.cmd_str("RPUSH src a b c");
    assert_eq!(c.cmd_str("LMOVE src dst LEFT RIGHT"), "$1\r\na\r\n");
    assert_eq!(c.cmd_str("RPOPLPUSH src dst"), "$1\r\nc\r\n");
    assert_eq!(c.cmd_str("LRANGE dst 0 -1"), "*2\r\n$1\r\nc\r\n$1\r\na\r\n");
    assert_eq!(c.cmd_str("LMOVE src src RIGHT LEFT"), "$1\r\nb\r\n");
    assert_eq!(c.cmd_str("LLEN src"), ":1\r\n");
    assert_eq!(c.cmd_str("LMOVE nokey dst LEFT LEFT"), "$-1\r\n");
    assert_eq!(c.cmd_str("LMOVE src dst UP LEFT"), "-ERR syntax error\r\n");
    c.cmd_str("SET str x");
    assert_eq!(c.cmd_str("LMOVE src str LEFT LEFT"), WRONGTYPE);
    // The failed move left the source alone.
    assert_eq!(c.cmd_str("LLEN src"), ":1\r\n");
    assert_eq!(c.cmd_str("LMOVE src dst LEFT LEFT"), "$1\r\nb\r\n");
    assert_eq!(c.cmd_str("GET src"), "$-1\r\n");
}

#[test]
fn lmpop_pops_from_the_first_non_empty_list() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    c.cmd_str("RPUSH l2 a b c");
    assert_eq!(
        c.cmd_str("LMPOP 2 l1 l2 RIGHT COUNT 2"),
        "*2\r\n$2\r\nl2\r\n*2\r\n$1\r\nc\r\n$1\r\nb\r\n"
    );
    assert_eq!(
        c.cmd_str("LMPOP 2 l1 l2 LEFT"),
        "*2\r\n$2\r\nl2\r\n*1\r\n$1\r\na\r\n"
    );
    assert_eq!(c.cmd_str("LMPOP 2 l1 l2 LEFT"), "*-1\r\n");
    assert_eq!(
        c.cmd_str("LMPOP 0 l LEFT"),
        "-ERR numkeys should be greater than 0\r\n"
    );
    assert_eq!(
        c.cmd_str("LMPOP x l LEFT"),
        "-ERR numkeys should be greater than 0\r\n"
    );
    assert_eq!(c.cmd_str("LMPOP 1 l MIDDLE"), "-ERR syntax error\r\n");
    assert_eq!(c.cmd_str("LMPOP 5 l LEFT"), "-ERR syntax error\r\n");
    assert_eq!(
        c.cmd_str("LMPOP 1 l LEFT COUNT 0"),
        "-ERR count should be greater than 0\r\n"
    );
    assert_eq!(
        c.cmd_str("LMPOP 1 l LEFT COUNT 1 COUNT 1"),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        c.cmd_str("LMPOP 1 l"),
        "-ERR wrong number of arguments for 'lmpop' command\r\n"
    );
}

#[test]
fn every_list_command_refuses_other_types() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    c.cmd_str("SET s x");
    for line in [
        "LPUSH s a",
        "RPUSHX s a",
        "LPOP s",
        "RPOP s 2",
        "LLEN s",
        "LRANGE s 0 -1",
        "LINDEX s 0",
        "LSET s 0 a",
        "LINSERT s BEFORE a b",
        "LREM s 0 a",
        "LTRIM s 0 1",
        "LPOS s a",
        "LMOVE s d LEFT LEFT",
        "RPOPLPUSH s d",
        "LMPOP 1 s LEFT",
        "BLPOP s 0",
        "BRPOP s 0",
        "BLMOVE s d LEFT LEFT 0",
        "BLMPOP 0 1 s LEFT",
    ] {
        assert_eq!(c.cmd_str(line), WRONGTYPE, "{line}");
    }
}

#[test]
fn big_lists_keep_order_across_many_nodes() {
    let server = TestServer::start(&["--list-max-listpack-size", "4"]);
    let mut c = server.raw();
    for i in 0..200 {
        c.cmd(&[b"RPUSH", b"l", format!("v{i}").as_bytes()]);
    }
    assert_eq!(c.cmd_str("LINDEX l 150"), "$4\r\nv150\r\n");
    assert_eq!(c.cmd_str("LINSERT l AFTER v10 new"), ":201\r\n");
    assert_eq!(c.cmd_str("LINDEX l 11"), "$3\r\nnew\r\n");
    assert_eq!(c.cmd_str("LTRIM l 100 -51"), "+OK\r\n");
    assert_eq!(c.cmd_str("LLEN l"), ":51\r\n");
    assert_eq!(c.cmd_str("LINDEX l 0"), "$3\r\nv99\r\n");
    assert_eq!(c.cmd_str("LINDEX l -1"), "$4\r\nv149\r\n");
}

/// Runs the same script on ferrodis and on redis-server and compares every reply byte for byte.
#[test]
fn the_list_family_matches_redis_byte_for_byte() {
    let script: &[&str] = &[
        "RPUSH l a b c 1 2 3 -5 100000 a",
        "LPUSH l x y",
        "LRANGE l 0 -1",
        "LRANGE l -3 -1",
        "LRANGE l -100 100",
        "LRANGE l 5 2",
        "LINDEX l -1",
        "LINDEX l 100",
        "LINDEX l abc",
        "LSET l 0 first",
        "LSET l 100 x",
        "LSET missing 0 x",
        "LINSERT l BEFORE a before-a",
        "LINSERT l AFTER a after-a",
        "LINSERT l AFTER nothing x",
        "LINSERT l SIDEWAYS a x",
        "LREM l 1 a",
        "LREM l -1 a",
        "LREM l 0 nothing",
        "LPOS l 1",
        "LPOS l a RANK -1 COUNT 0",
        "LPOS l a RANK 0",
        "LPOS l a RANK -9223372036854775808",
        "LPOS l a COUNT 0 MAXLEN 2",
        "LPOS l a MAXLEN -3",
        "LPOP l",
        "RPOP l 3",
        "LPOP l 0",
        "LPOP missing",
        "LPOP missing 3",
        "RPOP l -2",
        "LTRIM l 1 -2",
        "LRANGE l 0 -1",
        "LMOVE l l2 RIGHT LEFT",
        "LMOVE l l2 LEFT RIGHT",
        "RPOPLPUSH l2 l",
        "LMOVE l l LEFT RIGHT",
        "LMOVE missing l LEFT RIGHT",
        "LMOVE l l2 DOWN LEFT",
        "LRANGE l2 0 -1",
        "LMPOP 3 missing l2 l LEFT COUNT 10",
        "LMPOP 1 missing RIGHT",
        "LMPOP 1 l RIGHT COUNT -1",
        "LMPOP -1 l RIGHT",
        "LMPOP 1 l SOMEWHERE",
        "BLPOP missing l 0",
        "BLPOP l -1",
        "BLPOP l abc",
        "BLMPOP 0 1 l LEFT COUNT 0",
        "BLMPOP -1 1 l LEFT",
        "BLMOVE l l2 UP DOWN 0",
        "BLMOVE l l2 LEFT RIGHT -1",
        "BRPOPLPUSH l l2 nope",
        "RPUSH big 1",
        "LTRIM big 1 0",
        "LLEN big",
        "LPUSHX big a",
        "RPUSHX l z",
        "LLEN l",
        "LPUSH",
        "LRANGE l 0",
        "LINSERT l BEFORE a",
        "BLPOP l",
        "BLMOVE l l2 LEFT RIGHT",
        "LPOS l",
    ];
    assert_replies_match_redis(&[], script);
}
