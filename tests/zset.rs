//! Sorted set commands through the real binary: exact replies, exact errors, encodings, and a
//! differential run against a real redis-server when one is installed.

mod common;
use common::{assert_replies_match_redis, require_redis_server, RealRedis, TestServer, WRONGTYPE};

#[test]
fn zadd_counts_new_members_and_scores_print_like_redis() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd_str("ZADD z 1 a 2.5 b 1.1 c"), ":3\r\n");
    assert_eq!(c.cmd_str("ZADD z 1 a"), ":0\r\n");
    assert_eq!(c.cmd_str("ZSCORE z c"), "$18\r\n1.1000000000000001\r\n");
    assert_eq!(c.cmd_str("ZADD z 1e300 big -inf lo +inf hi"), ":3\r\n");
    assert_eq!(
        c.cmd_str("ZSCORE z big"),
        "$23\r\n1.0000000000000001e+300\r\n"
    );
    assert_eq!(c.cmd_str("ZSCORE z lo"), "$4\r\n-inf\r\n");
    assert_eq!(c.cmd_str("ZSCORE z hi"), "$3\r\ninf\r\n");
    assert_eq!(c.cmd_str("ZSCORE z nope"), "$-1\r\n");
    assert_eq!(c.cmd_str("ZSCORE nokey a"), "$-1\r\n");
    assert_eq!(c.cmd_str("ZCARD z"), ":6\r\n");
    assert_eq!(c.cmd_str("ZCARD nokey"), ":0\r\n");
    assert_eq!(
        c.cmd_str("ZRANGE z 0 -1"),
        "*6\r\n$2\r\nlo\r\n$1\r\na\r\n$1\r\nc\r\n$1\r\nb\r\n$3\r\nbig\r\n$2\r\nhi\r\n"
    );
}

#[test]
fn zadd_options_follow_redis_rules_and_errors() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd_str("ZADD z 1 a 2 b");
    assert_eq!(c.cmd_str("ZADD z NX 5 a 3 c"), ":1\r\n");
    assert_eq!(c.cmd_str("ZSCORE z a"), "$1\r\n1\r\n");
    assert_eq!(c.cmd_str("ZADD z XX CH 5 a 4 d"), ":1\r\n");
    assert_eq!(c.cmd_str("ZSCORE z d"), "$-1\r\n");
    assert_eq!(c.cmd_str("ZADD z GT CH 1 a 10 b 7 e"), ":2\r\n");
    assert_eq!(c.cmd_str("ZSCORE z a"), "$1\r\n5\r\n");
    assert_eq!(c.cmd_str("ZADD z LT CH 100 a 0 b"), ":1\r\n");
    assert_eq!(c.cmd_str("ZADD z INCR 2.5 a"), "$3\r\n7.5\r\n");
    assert_eq!(c.cmd_str("ZADD z INCR GT -1 a"), "$-1\r\n");
    assert_eq!(c.cmd_str("ZADD z XX INCR 1 nope"), "$-1\r\n");
    assert_eq!(c.cmd_str("ZADD z NX INCR 1 a"), "$-1\r\n");
    assert_eq!(c.cmd_str("ZADD nokey XX 1 a"), ":0\r\n");
    assert_eq!(c.cmd_str("EXISTS nokey"), ":0\r\n");
    assert_eq!(
        c.cmd_str("ZADD z NX XX 1 a"),
        "-ERR XX and NX options at the same time are not compatible\r\n"
    );
    for bad in ["ZADD z GT LT 1 a", "ZADD z NX GT 1 a", "ZADD z NX LT 1 a"] {
        assert_eq!(
            c.cmd_str(bad),
            "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n"
        );
    }
    assert_eq!(
        c.cmd_str("ZADD z INCR 1 a 2 b"),
        "-ERR INCR option supports a single increment-element pair\r\n"
    );
    assert_eq!(c.cmd_str("ZADD z 1 a 2"), "-ERR syntax error\r\n");
    assert_eq!(c.cmd_str("ZADD z NX 1"), "-ERR syntax error\r\n");
    assert_eq!(
        c.cmd_str("ZADD z nan a"),
        "-ERR value is not a valid float\r\n"
    );
    assert_eq!(
        c.cmd_str("ZADD z 1"),
        "-ERR wrong number of arguments for 'zadd' command\r\n"
    );
    // A bad score anywhere leaves the set untouched.
    assert_eq!(
        c.cmd_str("ZADD z 9 new x bad"),
        "-ERR value is not a valid float\r\n"
    );
    assert_eq!(c.cmd_str("ZSCORE z new"), "$-1\r\n");
}

#[test]
fn incr_to_nan_is_refused() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd_str("ZADD z +inf m");
    assert_eq!(
        c.cmd_str("ZINCRBY z -inf m"),
        "-ERR resulting score is not a number (NaN)\r\n"
    );
    assert_eq!(
        c.cmd_str("ZADD z INCR -inf m"),
        "-ERR resulting score is not a number (NaN)\r\n"
    );
    assert_eq!(c.cmd_str("ZSCORE z m"), "$3\r\ninf\r\n");
    assert_eq!(c.cmd_str("ZINCRBY z 1.5 x"), "$3\r\n1.5\r\n");
    assert_eq!(
        c.cmd_str("ZINCRBY z x x"),
        "-ERR value is not a valid float\r\n"
    );
}

#[test]
fn zrem_deletes_the_key_when_emptied() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd_str("ZADD z 1 a 2 b");
    assert_eq!(c.cmd_str("ZREM z a nope"), ":1\r\n");
    assert_eq!(c.cmd_str("ZREM nokey a"), ":0\r\n");
    assert_eq!(c.cmd_str("ZREM z b"), ":1\r\n");
    assert_eq!(c.cmd_str("EXISTS z"), ":0\r\n");
}

#[test]
fn rank_mscore_count_and_lexcount() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd_str("ZADD z 1 a 2 b 3 c 3 d");
    assert_eq!(c.cmd_str("ZRANK z c"), ":2\r\n");
    assert_eq!(c.cmd_str("ZREVRANK z c"), ":1\r\n");
    assert_eq!(c.cmd_str("ZRANK z nope"), "$-1\r\n");
    assert_eq!(c.cmd_str("ZRANK nokey a"), "$-1\r\n");
    assert_eq!(
        c.cmd_str("ZMSCORE z a nope d"),
        "*3\r\n$1\r\n1\r\n$-1\r\n$1\r\n3\r\n"
    );
    assert_eq!(c.cmd_str("ZMSCORE nokey a"), "*1\r\n$-1\r\n");
    assert_eq!(c.cmd_str("ZCOUNT z -inf +inf"), ":4\r\n");
    assert_eq!(c.cmd_str("ZCOUNT z (1 3"), ":3\r\n");
    assert_eq!(c.cmd_str("ZCOUNT z (1 (3"), ":1\r\n");
    assert_eq!(c.cmd_str("ZCOUNT z 3 1"), ":0\r\n");
    assert_eq!(c.cmd_str("ZCOUNT z ( 5"), ":4\r\n");
    assert_eq!(
        c.cmd_str("ZCOUNT z (a 5"),
        "-ERR min or max is not a float\r\n"
    );
    c.cmd_str("ZADD l 0 a 0 b 0 c 0 d 0 e");
    assert_eq!(c.cmd_str("ZLEXCOUNT l - +"), ":5\r\n");
    assert_eq!(c.cmd_str("ZLEXCOUNT l (a [c"), ":2\r\n");
    assert_eq!(c.cmd_str("ZLEXCOUNT l + -"), ":0\r\n");
    assert_eq!(
        c.cmd_str("ZLEXCOUNT l a +"),
        "-ERR min or max not valid string range item\r\n"
    );
    assert_eq!(
        c.cmd_str("ZLEXCOUNT l [a +b"),
        "-ERR min or max not valid string range item\r\n"
    );
}

#[test]
fn zrange_by_rank_score_and_lex_with_rev_and_limit() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd_str("ZADD z 1 a 2 b 3 c 4 d");
    assert_eq!(c.cmd_str("ZRANGE z -2 -1"), "*2\r\n$1\r\nc\r\n$1\r\nd\r\n");
    assert_eq!(c.cmd_str("ZRANGE z 3 1"), "*0\r\n");
    assert_eq!(c.cmd_str("ZRANGE z 0 0 REV"), "*1\r\n$1\r\nd\r\n");
    assert_eq!(
        c.cmd_str("ZRANGE z 0 1 WITHSCORES"),
        "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n"
    );
    assert_eq!(
        c.cmd_str("ZRANGE z (1 +inf BYSCORE LIMIT 1 2"),
        "*2\r\n$1\r\nc\r\n$1\r\nd\r\n"
    );
    assert_eq!(
        c.cmd_str("ZRANGE z +inf (1 BYSCORE REV LIMIT 1 1"),
        "*1\r\n$1\r\nc\r\n"
    );
    assert_eq!(c.cmd_str("ZRANGE z -inf +inf BYSCORE LIMIT -1 2"), "*0\r\n");
    assert_eq!(
        c.cmd_str("ZRANGEBYSCORE z 2 3"),
        "*2\r\n$1\r\nb\r\n$1\r\nc\r\n"
    );
    assert_eq!(
        c.cmd_str("ZREVRANGEBYSCORE z 3 2 WITHSCORES"),
        "*4\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nb\r\n$1\r\n2\r\n"
    );
    assert_eq!(c.cmd_str("ZREVRANGE z 0 1"), "*2\r\n$1\r\nd\r\n$1\r\nc\r\n");
    c.cmd_str("ZADD l 0 a 0 b 0 c 0 d 0 e");
    assert_eq!(
        c.cmd_str("ZRANGEBYLEX l [b (d"),
        "*2\r\n$1\r\nb\r\n$1\r\nc\r\n"
    );
    assert_eq!(
        c.cmd_str("ZREVRANGEBYLEX l + - LIMIT 1 2"),
        "*2\r\n$1\r\nd\r\n$1\r\nc\r\n"
    );
    assert_eq!(
        c.cmd_str("ZRANGE l [e (b BYLEX REV"),
        "*3\r\n$1\r\ne\r\n$1\r\nd\r\n$1\r\nc\r\n"
    );
    assert_eq!(c.cmd_str("ZRANGE nokey 0 -1"), "*0\r\n");
    // Redis only rejects LIMIT on a rank range when the count is not -1.
    assert_eq!(c.cmd_str("ZRANGE z 0 0 LIMIT 0 -1"), "*1\r\n$1\r\na\r\n");
}

#[test]
fn zrange_option_errors_match_redis() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd_str("ZADD z 1 a");
    let limit_err =
        "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n";
    assert_eq!(c.cmd_str("ZRANGE z 0 -1 LIMIT 0 1"), limit_err);
    assert_eq!(c.cmd_str("ZREVRANGE z 0 -1 LIMIT 0 1"), limit_err);
    let lex_err = "-ERR syntax error, WITHSCORES not supported in combination with BYLEX\r\n";
    assert_eq!(c.cmd_str("ZRANGE z - + BYLEX WITHSCORES"), lex_err);
    assert_eq!(c.cmd_str("ZRANGEBYLEX z - + WITHSCORES"), lex_err);
    for bad in [
        "ZRANGE z 0 -1 REV REV",
        "ZRANGE z 0 -1 BYSCORE BYLEX",
        "ZRANGEBYSCORE z 0 1 REV",
        "ZRANGESTORE d z 0 -1 WITHSCORES",
        "ZRANGE z 0 -1 LIMIT 0",
    ] {
        assert_eq!(c.cmd_str(bad), "-ERR syntax error\r\n", "{bad}");
    }
    assert_eq!(
        c.cmd_str("ZRANGE z a 1"),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        c.cmd_str("ZRANGE z 0 1 BYSCORE LIMIT x 1"),
        "-ERR value is not an integer or out of range\r\n"
    );
}

#[test]
fn zrangestore_stores_or_deletes_the_destination() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd_str("ZADD z 1 a 2 b 3 c");
    assert_eq!(c.cmd_str("ZRANGESTORE d z 1 -1"), ":2\r\n");
    assert_eq!(
        c.cmd_str("ZRANGE d 0 -1 WITHSCORES"),
        "*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n"
    );
    assert_eq!(
        c.cmd_str("ZRANGESTORE d z +inf (1 BYSCORE REV LIMIT 0 1"),
        ":1\r\n"
    );
    assert_eq!(c.cmd_str("ZRANGE d 0 -1"), "*1\r\n$1\r\nc\r\n");
    assert_eq!(c.cmd_str("ZRANGESTORE d z 10 20"), ":0\r\n");
    assert_eq!(c.cmd_str("EXISTS d"), ":0\r\n");
    c.cmd_str("SET str x");
    assert_eq!(c.cmd_str("ZRANGESTORE d str 0 -1"), WRONGTYPE);
    // The destination is overwritten whatever it held.
    assert_eq!(c.cmd_str("ZRANGESTORE str z 0 0"), ":1\r\n");
    assert_eq!(c.cmd_str("ZCARD str"), ":1\r\n");
}

#[test]
fn zremrange_by_rank_score_and_lex() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd_str("ZADD z 1 a 2 b 3 c 4 d 5 e");
    assert_eq!(c.cmd_str("ZREMRANGEBYRANK z 0 0"), ":1\r\n");
    assert_eq!(c.cmd_str("ZREMRANGEBYRANK z -1 -1"), ":1\r\n");
    assert_eq!(c.cmd_str("ZREMRANGEBYRANK z 5 10"), ":0\r\n");
    assert_eq!(c.cmd_str("ZREMRANGEBYSCORE z (2 3"), ":1\r\n");
    assert_eq!(c.cmd_str("ZRANGE z 0 -1"), "*2\r\n$1\r\nb\r\n$1\r\nd\r\n");
    assert_eq!(c.cmd_str("ZREMRANGEBYSCORE z -inf +inf"), ":2\r\n");
    assert_eq!(c.cmd_str("EXISTS z"), ":0\r\n");
    c.cmd_str("ZADD l 0 a 0 b 0 c");
    assert_eq!(c.cmd_str("ZREMRANGEBYLEX l [a (c"), ":2\r\n");
    assert_eq!(c.cmd_str("ZREMRANGEBYLEX l - +"), ":1\r\n");
    assert_eq!(c.cmd_str("EXISTS l"), ":0\r\n");
    assert_eq!(
        c.cmd_str("ZREMRANGEBYRANK z a 1"),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        c.cmd_str("ZREMRANGEBYSCORE z x 1"),
        "-ERR min or max is not a float\r\n"
    );
    assert_eq!(
        c.cmd_str("ZREMRANGEBYLEX z a b"),
        "-ERR min or max not valid string range item\r\n"
    );
}

#[test]
fn zpopmin_zpopmax_and_zmpop() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd_str("ZADD z 1 a 2 b 3 c 4 d");
    assert_eq!(c.cmd_str("ZPOPMIN z"), "*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    assert_eq!(
        c.cmd_str("ZPOPMAX z 2"),
        "*4\r\n$1\r\nd\r\n$1\r\n4\r\n$1\r\nc\r\n$1\r\n3\r\n"
    );
    assert_eq!(c.cmd_str("ZPOPMIN z 0"), "*0\r\n");
    assert_eq!(c.cmd_str("ZPOPMIN nokey"), "*0\r\n");
    assert_eq!(
        c.cmd_str("ZPOPMIN z -1"),
        "-ERR value is out of range, must be positive\r\n"
    );
    assert_eq!(
        c.cmd_str("ZPOPMIN z x"),
        "-ERR value is out of range, must be positive\r\n"
    );
    assert_eq!(c.cmd_str("ZPOPMIN z 1 2"), "-ERR syntax error\r\n");
    assert_eq!(c.cmd_str("ZPOPMIN z 10"), "*2\r\n$1\r\nb\r\n$1\r\n2\r\n");
    assert_eq!(c.cmd_str("EXISTS z"), ":0\r\n");

    c.cmd_str("ZADD z 1 a 2 b 3 c");
    assert_eq!(
        c.cmd_str("ZMPOP 2 nokey z MAX COUNT 2"),
        "*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n"
    );
    assert_eq!(
        c.cmd_str("ZMPOP 1 z MIN"),
        "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"
    );
    assert_eq!(c.cmd_str("ZMPOP 1 z MIN"), "*-1\r\n");
    for (bad, err) in [
        ("ZMPOP 0 z MIN", "-ERR numkeys should be greater than 0\r\n"),
        ("ZMPOP x z MIN", "-ERR numkeys should be greater than 0\r\n"),
        ("ZMPOP 2 z MIN", "-ERR syntax error\r\n"),
        ("ZMPOP 1 z MID", "-ERR syntax error\r\n"),
        (
            "ZMPOP 1 z MIN COUNT 0",
            "-ERR count should be greater than 0\r\n",
        ),
        ("ZMPOP 1 z MIN COUNT 1 COUNT 1", "-ERR syntax error\r\n"),
    ] {
        assert_eq!(c.cmd_str(bad), err, "{bad}");
    }
    c.cmd_str("SET str x");
    assert_eq!(c.cmd_str("ZMPOP 2 nokey str MIN"), WRONGTYPE);
}

#[test]
fn zrandmember_shapes() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd_str("ZRANDMEMBER nokey"), "$-1\r\n");
    assert_eq!(c.cmd_str("ZRANDMEMBER nokey 3"), "*0\r\n");
    c.cmd_str("ZADD z 1 a 2 b 3 c");
    assert!(c.cmd_str("ZRANDMEMBER z").starts_with("$1\r\n"));
    assert_eq!(c.cmd_str("ZRANDMEMBER z 0"), "*0\r\n");
    // A count covering the whole set returns it, highest first, like Redis 7.0.
    assert_eq!(
        c.cmd_str("ZRANDMEMBER z 5 WITHSCORES"),
        "*6\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\na\r\n$1\r\n1\r\n"
    );
    assert!(c.cmd_str("ZRANDMEMBER z -7").starts_with("*7\r\n"));
    assert!(c
        .cmd_str("ZRANDMEMBER z 2 WITHSCORES")
        .starts_with("*4\r\n"));
    assert_eq!(
        c.cmd_str("ZRANDMEMBER z 1 WITHSCORES x"),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        c.cmd_str("ZRANDMEMBER z -9223372036854775808"),
        "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"
    );
    assert_eq!(
        c.cmd_str("ZRANDMEMBER z 9223372036854775807 WITHSCORES"),
        "-ERR value is out of range\r\n"
    );
}

#[test]
fn union_inter_diff_with_weights_and_aggregates() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd_str("ZADD a 1 x 2 y 3 z");
    c.cmd_str("ZADD b 10 y 20 z 30 w");
    assert_eq!(
        c.cmd_str("ZUNION 2 a b WEIGHTS 2 0.5 WITHSCORES"),
        "*8\r\n$1\r\nx\r\n$1\r\n2\r\n$1\r\ny\r\n$1\r\n9\r\n$1\r\nw\r\n$2\r\n15\r\n$1\r\nz\r\n$2\r\n16\r\n"
    );
    assert_eq!(
        c.cmd_str("ZINTER 2 a b AGGREGATE MAX WITHSCORES"),
        "*4\r\n$1\r\ny\r\n$2\r\n10\r\n$1\r\nz\r\n$2\r\n20\r\n"
    );
    assert_eq!(c.cmd_str("ZDIFF 2 a b"), "*1\r\n$1\r\nx\r\n");
    assert_eq!(c.cmd_str("ZINTER 2 a nokey"), "*0\r\n");
    assert_eq!(c.cmd_str("ZUNIONSTORE out 2 a b AGGREGATE MIN"), ":4\r\n");
    assert_eq!(
        c.cmd_str("ZRANGE out 0 -1 WITHSCORES"),
        "*8\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$1\r\n2\r\n$1\r\nz\r\n$1\r\n3\r\n$1\r\nw\r\n$2\r\n30\r\n"
    );
    assert_eq!(c.cmd_str("ZINTERSTORE out 2 a b"), ":2\r\n");
    assert_eq!(c.cmd_str("ZDIFFSTORE out 2 a b"), ":1\r\n");
    assert_eq!(c.cmd_str("ZINTERSTORE out 2 a nokey"), ":0\r\n");
    assert_eq!(c.cmd_str("EXISTS out"), ":0\r\n");
    assert_eq!(c.cmd_str("ZINTERCARD 2 a b"), ":2\r\n");
    assert_eq!(c.cmd_str("ZINTERCARD 2 a b LIMIT 1"), ":1\r\n");
    // inf + -inf aggregates to 0 rather than NaN.
    c.cmd_str("ZADD pinf +inf m");
    c.cmd_str("ZADD ninf -inf m");
    assert_eq!(
        c.cmd_str("ZUNION 2 pinf ninf WITHSCORES"),
        "*2\r\n$1\r\nm\r\n$1\r\n0\r\n"
    );
    for (bad, err) in [
        (
            "ZUNION 0 a",
            "-ERR at least 1 input key is needed for 'zunion' command\r\n",
        ),
        (
            "ZINTERCARD 0 a",
            "-ERR at least 1 input key is needed for 'zintercard' command\r\n",
        ),
        ("ZUNIONSTORE out 3 a b", "-ERR syntax error\r\n"),
        (
            "ZUNION 1 a WEIGHTS x",
            "-ERR weight value is not a float\r\n",
        ),
        ("ZUNION 1 a AGGREGATE foo", "-ERR syntax error\r\n"),
        ("ZDIFF 1 a WEIGHTS 2", "-ERR syntax error\r\n"),
        ("ZUNIONSTORE out 1 a WITHSCORES", "-ERR syntax error\r\n"),
        (
            "ZINTERCARD 1 a LIMIT -1",
            "-ERR LIMIT can't be negative\r\n",
        ),
        (
            "ZUNION x a",
            "-ERR value is not an integer or out of range\r\n",
        ),
    ] {
        assert_eq!(c.cmd_str(bad), err, "{bad}");
    }
    c.cmd_str("SET str x");
    assert_eq!(c.cmd_str("ZUNION 2 a str"), WRONGTYPE);
}

#[test]
fn zscan_returns_members_and_scores() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd_str("ZADD z 1 a 1.1 b 2 c");
    assert_eq!(
        c.cmd_str("ZSCAN z 0"),
        "*2\r\n$1\r\n0\r\n*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$18\r\n1.1000000000000001\r\n$1\r\nc\r\n$1\r\n2\r\n"
    );
    assert_eq!(
        c.cmd_str("ZSCAN z 0 MATCH c*"),
        "*2\r\n$1\r\n0\r\n*2\r\n$1\r\nc\r\n$1\r\n2\r\n"
    );
    assert_eq!(c.cmd_str("ZSCAN nokey 0"), "*2\r\n$1\r\n0\r\n*0\r\n");
    assert_eq!(c.cmd_str("ZSCAN z x"), "-ERR invalid cursor\r\n");
    assert_eq!(c.cmd_str("ZSCAN z 0 COUNT 0"), "-ERR syntax error\r\n");
    assert_eq!(c.cmd_str("ZSCAN z 0 TYPE string"), "-ERR syntax error\r\n");
}

#[test]
fn zscan_of_a_skiplist_visits_every_member_once_overall() {
    let s = TestServer::start(&["--zset-max-listpack-entries", "0"]);
    let mut c = s.raw();
    for i in 0..300 {
        c.cmd_str(&format!("ZADD z {i} m{i}"));
    }
    let mut seen = std::collections::HashSet::new();
    let mut cursor = "0".to_string();
    loop {
        let reply = c.cmd_str(&format!("ZSCAN z {cursor} COUNT 7"));
        let lines: Vec<&str> = reply.split("\r\n").collect();
        cursor = lines[2].to_string();
        for (i, l) in lines.iter().enumerate() {
            if l.starts_with('m') && lines[i - 1].starts_with('$') {
                seen.insert(l.to_string());
            }
        }
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 300);
}

#[test]
fn every_command_refuses_a_key_of_another_type() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd_str("SET str x");
    for cmd in [
        "ZADD str 1 a",
        "ZINCRBY str 1 a",
        "ZREM str a",
        "ZCARD str",
        "ZSCORE str a",
        "ZMSCORE str a",
        "ZRANK str a",
        "ZREVRANK str a",
        "ZCOUNT str 0 1",
        "ZLEXCOUNT str - +",
        "ZRANGE str 0 -1",
        "ZREVRANGE str 0 -1",
        "ZRANGEBYSCORE str 0 1",
        "ZREVRANGEBYSCORE str 1 0",
        "ZRANGEBYLEX str - +",
        "ZREVRANGEBYLEX str + -",
        "ZREMRANGEBYRANK str 0 1",
        "ZREMRANGEBYSCORE str 0 1",
        "ZREMRANGEBYLEX str - +",
        "ZPOPMIN str",
        "ZPOPMAX str",
        "ZMPOP 1 str MIN",
        "ZRANDMEMBER str",
        "ZRANDMEMBER str 2",
        "ZUNION 1 str",
        "ZINTER 1 str",
        "ZDIFF 1 str",
        "ZINTERCARD 1 str",
        "ZSCAN str 0",
    ] {
        assert_eq!(c.cmd_str(cmd), WRONGTYPE, "{cmd}");
    }
}

#[test]
fn large_sets_switch_to_a_skiplist_at_the_configured_threshold() {
    let s = TestServer::start(&["--zset-max-listpack-entries", "4"]);
    let mut c = s.raw();
    c.cmd_str("ZADD z 1 a 2 b 3 c 4 d");
    assert_eq!(c.encoding("z"), "listpack");
    c.cmd_str("ZADD z 5 e");
    assert_eq!(c.encoding("z"), "skiplist");
    // The order survives the conversion, and both encodings answer alike.
    assert_eq!(c.cmd_str("ZRANK z e"), ":4\r\n");
    assert_eq!(
        c.cmd_str("ZRANGE z 4 (1 BYSCORE REV"),
        "*3\r\n$1\r\nd\r\n$1\r\nc\r\n$1\r\nb\r\n"
    );
    // A long member converts at once.
    let long = "x".repeat(65);
    c.cmd_str(&format!("ZADD long 1 {long}"));
    assert_eq!(c.encoding("long"), "skiplist");
    // Store results that fit are listpacks again.
    c.cmd_str("ZRANGESTORE small z 0 1");
    assert_eq!(c.encoding("small"), "listpack");
}

#[test]
fn resp3_scores_are_doubles_and_withscores_pairs_are_nested() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.hello3();
    c.cmd_str("ZADD z 1 a 1.5 b");
    assert_eq!(c.cmd_str("ZSCORE z b"), ",1.5\r\n");
    assert_eq!(c.cmd_str("ZSCORE z nope"), "_\r\n");
    assert_eq!(c.cmd_str("ZMSCORE z a nope"), "*2\r\n,1\r\n_\r\n");
    assert_eq!(c.cmd_str("ZINCRBY z 1 a"), ",2\r\n");
    assert_eq!(
        c.cmd_str("ZRANGE z 0 -1 WITHSCORES"),
        "*2\r\n*2\r\n$1\r\nb\r\n,1.5\r\n*2\r\n$1\r\na\r\n,2\r\n"
    );
    assert_eq!(c.cmd_str("ZPOPMIN z"), "*2\r\n$1\r\nb\r\n,1.5\r\n");
    c.cmd_str("ZADD z 1.5 b");
    assert_eq!(c.cmd_str("ZPOPMIN z 1"), "*1\r\n*2\r\n$1\r\nb\r\n,1.5\r\n");
    assert_eq!(
        c.cmd_str("ZMPOP 1 z MIN"),
        "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\na\r\n,2\r\n"
    );
    assert_eq!(c.cmd_str("ZMPOP 1 z MIN"), "_\r\n");
    assert_eq!(c.cmd_str("ZRANK z a"), "_\r\n");
}

/// Runs the same deterministic script against ferrodis and a real redis-server and compares
/// every reply byte for byte.
#[test]
fn replies_match_real_redis_byte_for_byte() {
    let script = [
        "ZADD z 1 a 2.5 b 1.1 c 1e300 big -inf ninf +inf pinf",
        "ZADD z 5e-5 tiny 123456789012345678 huge 0.1 tenth",
        "ZRANGE z 0 -1 WITHSCORES",
        "ZRANGE z 0 -1 REV WITHSCORES",
        "ZRANGE z (1 +inf BYSCORE",
        "ZRANGE z +inf (1 BYSCORE REV WITHSCORES LIMIT 1 3",
        "ZRANGEBYSCORE z ( 5",
        "ZRANGEBYSCORE z -inf +inf LIMIT 2 -1",
        "ZREVRANGEBYSCORE z 2.5 1 LIMIT 0 1 WITHSCORES",
        "ZCOUNT z (1 2.5",
        "ZRANK z c",
        "ZREVRANK z c",
        "ZINCRBY z 1.5 a",
        "ZADD z GT CH 100 a 0 b 7 zz",
        "ZADD z LT CH 100 a 0 b",
        "ZADD z 1 a 1 a 2 a",
        "ZREM z a b nope",
        "ZADD l 0 a 0 b 0 c 0 d 0 e 0 f",
        "ZRANGEBYLEX l (b [e LIMIT 1 1",
        "ZREVRANGEBYLEX l [e (b",
        "ZREMRANGEBYLEX l [a (c",
        "ZREMRANGEBYRANK l -1 -1",
        "ZRANGE l 0 -1",
        "ZADD s 1 a 2 b 3 c 4 d",
        "ZPOPMAX s 2",
        "ZMPOP 2 nokey s MAX COUNT 10",
        "ZADD a 1 x 2 y 3 z",
        "ZADD b 10 y 20 z 30 w",
        "ZUNION 2 a b WITHSCORES",
        "ZUNION 2 a b WEIGHTS 2 0.5 AGGREGATE MAX WITHSCORES",
        "ZINTER 2 a b AGGREGATE MIN WEIGHTS 1 -1 WITHSCORES",
        "ZDIFF 2 b a WITHSCORES",
        "ZUNIONSTORE out 2 a b",
        "ZRANGE out 0 -1 WITHSCORES",
        "ZRANGESTORE d2 z 1 3",
        "ZRANGE d2 0 -1 WITHSCORES",
        "ZADD n -0 c 1 a",
        "ZSCORE n c",
        "ZRANDMEMBER a 10 WITHSCORES",
        "ZSCAN a 0",
    ];
    assert_replies_match_redis(&[], &script);
}

/// Random commands (both encodings: the listpack limit is 4) against ferrodis and a real
/// redis-server, comparing every reply byte for byte. Lex ranges only touch keys whose scores
/// are all equal, as Redis documents them; ZRANDMEMBER and ZSCAN are left out (random order).
#[test]
fn random_commands_match_real_redis_byte_for_byte() {
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};
    if !require_redis_server() {
        return;
    }
    let real = RealRedis::start(&["--zset-max-listpack-entries", "4"]);
    let ours = TestServer::start(&["--zset-max-listpack-entries", "4"]);
    let (mut r, mut o) = (real.raw(), ours.raw());
    let mut rng = SmallRng::seed_from_u64(20240607);
    let long = "x".repeat(70);
    let members = ["a", "b", "c", "d", "e", "f", "aa", "ab", "", long.as_str()];
    let scores = [
        "1", "2", "-1", "0", "-0", "1.5", "1.1", "+inf", "-inf", "1e300", "5e-5", "7", "x",
    ];
    let bounds = ["-inf", "+inf", "0", "1", "(1", "2", "(2", "1.5", "(", "x"];
    let lexes = ["-", "+", "[a", "(a", "[c", "(d", "[", "(", "a", "[aa"];
    let ranks = ["0", "1", "2", "-1", "-2", "5", "100", "-100"];
    let keys = ["k1", "k2", "k3", "str"];
    let lkeys = ["l1", "l2"];
    let pick = |rng: &mut SmallRng, xs: &[&str]| xs[rng.random_range(0..xs.len())].to_string();
    assert_eq!(o.cmd_str("SET str x"), r.cmd_str("SET str x"));
    for _ in 0..1500 {
        let k = pick(&mut rng, &keys);
        let k2 = pick(&mut rng, &keys);
        let lk = pick(&mut rng, &lkeys);
        let mut args: Vec<String> = Vec::new();
        let mut push = |v: &[String]| args.extend_from_slice(v);
        match rng.random_range(0..16) {
            0..=2 => {
                push(&["ZADD".into(), k.clone()]);
                for opt in ["NX", "XX", "GT", "LT", "CH", "INCR"] {
                    if rng.random_range(0..8) == 0 {
                        push(&[opt.into()]);
                    }
                }
                for _ in 0..rng.random_range(1..4) {
                    push(&[pick(&mut rng, &scores), pick(&mut rng, &members)]);
                }
            }
            3 => {
                push(&["ZADD".into(), lk.clone()]);
                for _ in 0..rng.random_range(1..4) {
                    push(&["0".into(), pick(&mut rng, &members)]);
                }
            }
            4 => push(&[
                pick(&mut rng, &["ZINCRBY"]),
                k.clone(),
                pick(&mut rng, &scores),
                pick(&mut rng, &members),
            ]),
            5 => push(&[
                pick(
                    &mut rng,
                    &["ZREM", "ZRANK", "ZREVRANK", "ZSCORE", "ZMSCORE"],
                ),
                pick(&mut rng, &[k.as_str(), lk.as_str()]),
                pick(&mut rng, &members),
            ]),
            6 => {
                let kind = rng.random_range(0..3);
                match kind {
                    0 => push(&[
                        "ZRANGE".into(),
                        k.clone(),
                        pick(&mut rng, &ranks),
                        pick(&mut rng, &ranks),
                    ]),
                    1 => push(&[
                        "ZRANGE".into(),
                        k.clone(),
                        pick(&mut rng, &bounds),
                        pick(&mut rng, &bounds),
                        "BYSCORE".into(),
                    ]),
                    _ => push(&[
                        "ZRANGE".into(),
                        lk.clone(),
                        pick(&mut rng, &lexes),
                        pick(&mut rng, &lexes),
                        "BYLEX".into(),
                    ]),
                }
                for opt in ["REV", "WITHSCORES"] {
                    if rng.random_range(0..3) == 0 {
                        push(&[opt.into()]);
                    }
                }
                if rng.random_range(0..3) == 0 {
                    push(&[
                        "LIMIT".into(),
                        pick(&mut rng, &ranks),
                        pick(&mut rng, &ranks),
                    ]);
                }
            }
            7 => push(&[
                pick(
                    &mut rng,
                    &[
                        "ZCOUNT",
                        "ZREMRANGEBYSCORE",
                        "ZRANGEBYSCORE",
                        "ZREVRANGEBYSCORE",
                    ],
                ),
                k.clone(),
                pick(&mut rng, &bounds),
                pick(&mut rng, &bounds),
            ]),
            8 => push(&[
                pick(
                    &mut rng,
                    &[
                        "ZLEXCOUNT",
                        "ZREMRANGEBYLEX",
                        "ZRANGEBYLEX",
                        "ZREVRANGEBYLEX",
                    ],
                ),
                lk.clone(),
                pick(&mut rng, &lexes),
                pick(&mut rng, &lexes),
            ]),
            9 => push(&[
                pick(&mut rng, &["ZREMRANGEBYRANK", "ZREVRANGE"]),
                k.clone(),
                pick(&mut rng, &ranks),
                pick(&mut rng, &ranks),
            ]),
            10 => {
                push(&[pick(&mut rng, &["ZPOPMIN", "ZPOPMAX"]), k.clone()]);
                if rng.random_range(0..2) == 0 {
                    push(&[pick(&mut rng, &["0", "1", "3", "-1"])]);
                }
            }
            11 => push(&[
                "ZMPOP".into(),
                "2".into(),
                k.clone(),
                k2.clone(),
                pick(&mut rng, &["MIN", "MAX"]),
                "COUNT".into(),
                pick(&mut rng, &["1", "3"]),
            ]),
            12 => {
                push(&[
                    pick(&mut rng, &["ZUNION", "ZINTER", "ZDIFF"]),
                    "2".into(),
                    k.clone(),
                    k2.clone(),
                ]);
                if rng.random_range(0..3) == 0 {
                    push(&["WEIGHTS".into(), pick(&mut rng, &scores), "2".into()]);
                }
                if rng.random_range(0..3) == 0 {
                    push(&["AGGREGATE".into(), pick(&mut rng, &["SUM", "MIN", "MAX"])]);
                }
                if rng.random_range(0..2) == 0 {
                    push(&["WITHSCORES".into()]);
                }
            }
            13 => push(&[
                pick(&mut rng, &["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"]),
                pick(&mut rng, &keys),
                "2".into(),
                k.clone(),
                k2.clone(),
            ]),
            14 => push(&[
                "ZRANGESTORE".into(),
                pick(&mut rng, &keys),
                k.clone(),
                pick(&mut rng, &ranks),
                pick(&mut rng, &ranks),
            ]),
            _ => push(&["ZINTERCARD".into(), "2".into(), k.clone(), k2.clone()]),
        }
        assert_eq!(
            String::from_utf8_lossy(&o.cmd_owned(&args)),
            String::from_utf8_lossy(&r.cmd_owned(&args)),
            "{args:?}"
        );
    }
}

/// Lex ranges on sets whose scores differ: Redis walks the score order with its lex-range
/// algorithm, and so must we. A listpack (linear scans) is compared exhaustively over many
/// bounds; for a skip list Redis's descent depends on its random levels unless the predicates
/// are monotonic along the score order, so the big set is laid out so that the queries below
/// have one answer (three blocks a*, c*, b* in score order).
#[test]
fn lex_ranges_on_mixed_scores_follow_redis_walk_in_both_encodings() {
    let mut script: Vec<String> = vec![
        "ZADD z0 5 a 3 m 1 z 2 b 4 c 0 q".into(),
        "ZADD z1 1 z 2 a 3 c 4 m".into(),
        "ZADD z2 9 a 1 b 5 c 3 d 7 e".into(),
    ];
    let bounds = [
        "-", "+", "(a", "[a", "[b", "(c", "[c", "[m", "(m", "[q", "[z", "(z", "[zz", "[",
    ];
    for key in ["z0", "z1", "z2"] {
        for min in bounds {
            for max in bounds {
                script.push(format!("ZRANGEBYLEX {key} {min} {max}"));
                script.push(format!("ZREVRANGEBYLEX {key} {max} {min}"));
                script.push(format!("ZLEXCOUNT {key} {min} {max}"));
                script.push(format!("ZRANGE {key} {max} {min} BYLEX REV LIMIT 1 2"));
                script.push(format!("ZRANGEBYLEX {key} {min} {max} LIMIT 1 -1"));
            }
        }
    }
    for (min, max) in [("(a", "[m"), ("-", "[c"), ("[b", "+"), ("[c", "[z")] {
        script.push("DEL t".into());
        script.push("ZRANGESTORE t z2 0 -1".into());
        script.push(format!("ZREMRANGEBYLEX t {min} {max}"));
        script.push("ZRANGE t 0 -1 WITHSCORES".into());
        script.push(format!("ZRANGESTORE s z0 {min} {max} BYLEX"));
        script.push(format!("ZRANGESTORE s z0 {max} {min} BYLEX REV"));
        script.push("ZRANGE s 0 -1 WITHSCORES".into());
    }
    // The skip list: a000..a099 (scores 0..99), c000..c099 (100..199), b000..b099 (200..299).
    let mut zadd = String::from("ZADD big");
    for (block, prefix) in ["a", "c", "b"].iter().enumerate() {
        for i in 0..100 {
            zadd.push_str(&format!(" {} {prefix}{i:03}", block * 100 + i));
        }
    }
    script.push(zadd);
    script.push("OBJECT ENCODING big".into());
    for line in [
        "ZRANGEBYLEX big [a050 [b050",
        "ZRANGEBYLEX big (a050 + LIMIT 10 5",
        "ZRANGEBYLEX big [a090 [c005",
        "ZRANGEBYLEX big (a a",
        "ZRANGEBYLEX big [z +",
        "ZRANGEBYLEX big - [0",
        "ZREVRANGEBYLEX big [a070 [a050",
        "ZREVRANGEBYLEX big [a070 - LIMIT 3 4",
        "ZRANGE big [a070 (a060 BYLEX REV",
        "ZLEXCOUNT big [a050 [a070",
        "ZLEXCOUNT big - [a070",
        "ZLEXCOUNT big [b +",
        "ZLEXCOUNT big - +",
        "ZRANGESTORE dst big [a095 [b001 BYLEX",
        "ZRANGE dst 0 -1",
        "ZREMRANGEBYLEX big (a050 [b050",
        "ZCARD big",
        "ZREMRANGEBYLEX big [z +",
        "ZREMRANGEBYLEX big - [a010",
        "ZCARD big",
        "ZRANGE big 0 3",
    ] {
        script.push(line.into());
    }
    let script: Vec<&str> = script.iter().map(|s| s.as_str()).collect();
    assert_replies_match_redis(&[], &script);
}

/// `inf + -inf` is NaN, which ZUNION / ZINTER (and their STORE forms) turn into 0 — and since
/// Redis accumulates the inputs from the smallest to the largest, the order of the keys on the
/// command line does not matter, their sizes do. WEIGHTS and AGGREGATE MIN/MAX too.
#[test]
fn union_and_inter_of_infinite_scores_match_redis() {
    let mut lines = vec![
        "ZADD foo +inf e1 1 a",
        "ZADD bar -inf e1",
        "ZADD big +inf e1 1 a 2 b",
        "ZADD pinf +inf e1",
        "ZADD ninf -inf e1",
        "SADD set e1 a",
        "ZUNIONSTORE baz 3 foo bar foo",
        "ZRANGE baz 0 -1 WITHSCORES",
        "ZINTERSTORE baz 3 foo bar foo",
        "ZRANGE baz 0 -1 WITHSCORES",
        "ZINTERSTORE baz 2 foo bar WEIGHTS 1 -1",
        "ZRANGE baz 0 -1 WITHSCORES",
    ];
    let inputs = [
        "2 foo bar",
        "3 foo foo bar",
        "3 bar foo foo",
        "3 big foo bar",
        "3 foo big bar",
        "3 pinf ninf pinf",
        "4 ninf pinf ninf pinf",
        "3 set foo bar",
    ];
    let options = [
        "",
        " WEIGHTS 1 -1 1 1",
        " WEIGHTS 0 inf -inf 1",
        " AGGREGATE MIN",
        " AGGREGATE MAX",
        " WEIGHTS -inf inf 1 1 AGGREGATE MAX",
    ];
    let mut generated = Vec::new();
    for input in inputs {
        let n: usize = input[..1].parse().unwrap();
        for option in options {
            // WEIGHTS must give exactly one weight per key.
            let option = match option.strip_prefix(" WEIGHTS ") {
                Some(rest) => {
                    let mut words: Vec<&str> = rest.split(' ').collect();
                    let weights: Vec<&str> = words.drain(..4).take(n).collect();
                    format!(" WEIGHTS {} {}", weights.join(" "), words.join(" "))
                }
                None => option.to_string(),
            };
            for cmd in ["ZUNION", "ZINTER"] {
                generated.push(format!("{cmd} {input}{option} WITHSCORES"));
            }
            generated.push(format!("ZUNIONSTORE dst {input}{option}"));
            generated.push("ZRANGE dst 0 -1 WITHSCORES".to_string());
        }
    }
    lines.extend(generated.iter().map(String::as_str));
    assert_replies_match_redis(&[], &lines);
}
