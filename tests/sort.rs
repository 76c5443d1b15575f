//! SORT and SORT_RO through the real binary: numeric and ALPHA order, BY (string keys, hash
//! fields, nosort), GET (including `#`), LIMIT, STORE, errors, and a byte-for-byte comparison
//! with a real Redis. Lists and sorted sets too.

mod common;
use common::{assert_replies_match_redis, require_redis_server, RealRedis, TestServer, WRONGTYPE};

/// A flat array of bulk strings, for readable expectations: `bulks(&["1", "2"])`.
fn bulks(items: &[&str]) -> String {
    let mut out = format!("*{}\r\n", items.len());
    for i in items {
        if *i == "(nil)" {
            out.push_str("$-1\r\n");
        } else {
            out.push_str(&format!("${}\r\n{}\r\n", i.len(), i));
        }
    }
    out
}

#[test]
fn sort_orders_numbers_and_strings() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd_str("SADD s 3 1 2 10");
    assert_eq!(c.cmd_str("SORT s"), bulks(&["1", "2", "3", "10"]));
    assert_eq!(c.cmd_str("SORT s DESC"), bulks(&["10", "3", "2", "1"]));
    assert_eq!(c.cmd_str("SORT s ALPHA"), bulks(&["1", "10", "2", "3"]));
    assert_eq!(
        c.cmd_str("SORT_RO s ALPHA DESC"),
        bulks(&["3", "2", "10", "1"])
    );
    c.cmd_str("SADD t b c a");
    assert_eq!(c.cmd_str("SORT t ALPHA"), bulks(&["a", "b", "c"]));
    assert_eq!(
        c.cmd_str("SORT t"),
        "-ERR One or more scores can't be converted into double\r\n"
    );
    c.cmd_str("SADD e 1.5 -3 0x10 inf");
    assert_eq!(c.cmd_str("SORT e"), bulks(&["-3", "1.5", "0x10", "inf"]));
    assert_eq!(c.cmd_str("SORT nokey"), "*0\r\n");
}

#[test]
fn sort_limit_selects_a_window() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd_str("SADD s 5 4 3 2 1");
    assert_eq!(c.cmd_str("SORT s LIMIT 1 2"), bulks(&["2", "3"]));
    assert_eq!(c.cmd_str("SORT s LIMIT 3 -1"), bulks(&["4", "5"]));
    assert_eq!(c.cmd_str("SORT s LIMIT -5 2"), bulks(&["1", "2"]));
    assert_eq!(c.cmd_str("SORT s LIMIT 10 2"), "*0\r\n");
    assert_eq!(c.cmd_str("SORT s LIMIT 0 0"), "*0\r\n");
    assert_eq!(c.cmd_str("SORT s DESC LIMIT 0 2"), bulks(&["5", "4"]));
}

#[test]
fn sort_by_and_get_follow_patterns() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd_str("SADD s 1 2 3");
    for (k, v) in [("w_1", "30"), ("w_2", "10"), ("w_3", "20")] {
        c.cmd_str(&format!("SET {k} {v}"));
    }
    assert_eq!(c.cmd_str("SORT s BY w_*"), bulks(&["2", "3", "1"]));
    assert_eq!(c.cmd_str("SORT s BY w_* DESC"), bulks(&["1", "3", "2"]));
    assert_eq!(
        c.cmd_str("SORT s BY w_* GET # GET w_*"),
        bulks(&["2", "10", "3", "20", "1", "30"])
    );
    assert_eq!(
        c.cmd_str("SORT s GET nokey_*"),
        bulks(&["(nil)", "(nil)", "(nil)"])
    );
    // A pattern without '*' names no key at all.
    assert_eq!(
        c.cmd_str("SORT s GET fixed"),
        bulks(&["(nil)", "(nil)", "(nil)"])
    );
    // Hash fields with `->`.
    c.cmd_str("HSET h_1 f 5 g b");
    c.cmd_str("HSET h_2 f 1 g c");
    c.cmd_str("HSET h_3 f 3 g a");
    assert_eq!(c.cmd_str("SORT s BY h_*->f"), bulks(&["2", "3", "1"]));
    assert_eq!(c.cmd_str("SORT s BY h_*->g ALPHA"), bulks(&["3", "1", "2"]));
    assert_eq!(
        c.cmd_str("SORT s BY h_*->f GET h_*->g"),
        bulks(&["c", "a", "b"])
    );
    // A missing BY value sorts as 0 (numeric) / first (ALPHA).
    c.cmd_str("SADD s 4");
    assert_eq!(c.cmd_str("SORT s BY w_*"), bulks(&["4", "2", "3", "1"]));
    assert_eq!(
        c.cmd_str("SORT s BY w_* ALPHA"),
        bulks(&["4", "2", "3", "1"])
    );
    c.cmd_str("SET w_4 x");
    assert_eq!(
        c.cmd_str("SORT s BY w_*"),
        "-ERR One or more scores can't be converted into double\r\n"
    );
}

#[test]
fn sort_by_nosort_keeps_native_order() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd_str("SADD s 3 1 2");
    assert_eq!(c.cmd_str("SORT s BY nosort"), bulks(&["1", "2", "3"]));
    assert_eq!(c.cmd_str("SORT s BY nosort LIMIT 1 1"), bulks(&["2"]));
    c.cmd_str("SADD t c a b");
    // Sorting a set BY nosort into a STORE sorts ALPHA anyway (a stored result must not depend
    // on a set's iteration order).
    assert_eq!(c.cmd_str("SORT t BY nosort STORE dst"), ":3\r\n");
}

#[test]
fn sort_store_writes_a_list_and_replies_its_length() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd_str("SADD s 3 1 2");
    c.cmd_str("SET w_1 x");
    assert_eq!(c.cmd_str("SORT s STORE dst"), ":3\r\n");
    assert_eq!(c.cmd_str("EXISTS dst"), ":1\r\n");
    assert_eq!(c.cmd_str("SORT s GET w_* GET # STORE dst"), ":6\r\n");
    // A missing GET value is stored as an empty string.
    assert_eq!(
        c.cmd_str("LRANGE dst 0 -1"),
        bulks(&["x", "1", "", "2", "", "3"])
    );
    // An empty result deletes the destination.
    assert_eq!(c.cmd_str("SORT s LIMIT 10 2 STORE dst"), ":0\r\n");
    assert_eq!(c.cmd_str("EXISTS dst"), ":0\r\n");
    assert_eq!(c.cmd_str("SORT nokey STORE dst"), ":0\r\n");
}

#[test]
fn sort_rejects_bad_options_and_types() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd_str("SADD s 1");
    c.cmd_str("SET str x");
    c.cmd_str("HSET h a 1");
    assert_eq!(c.cmd_str("SORT s foo"), "-ERR syntax error\r\n");
    assert_eq!(c.cmd_str("SORT s LIMIT 1"), "-ERR syntax error\r\n");
    assert_eq!(c.cmd_str("SORT s STORE"), "-ERR syntax error\r\n");
    assert_eq!(c.cmd_str("SORT_RO s STORE dst"), "-ERR syntax error\r\n");
    assert_eq!(
        c.cmd_str("SORT s LIMIT x 1"),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(c.cmd_str("SORT str"), WRONGTYPE);
    assert_eq!(c.cmd_str("SORT h"), WRONGTYPE);
    // Options are checked before the key.
    assert_eq!(c.cmd_str("SORT str foo"), "-ERR syntax error\r\n");
}

#[test]
fn sort_reads_lists_and_sorted_sets() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd_str("RPUSH l 3 1 2"), ":3\r\n");
    assert_eq!(c.cmd_str("SORT l"), bulks(&["1", "2", "3"]));
    assert_eq!(c.cmd_str("SORT l BY nosort"), bulks(&["3", "1", "2"]));
    assert_eq!(c.cmd_str("SORT l BY nosort DESC"), bulks(&["2", "1", "3"]));
    assert_eq!(
        c.cmd_str("SORT l BY nosort DESC LIMIT 1 2"),
        bulks(&["1", "3"])
    );
    assert_eq!(c.cmd_str("SORT l STORE l2"), ":3\r\n");
    assert_eq!(c.cmd_str("LRANGE l2 0 -1"), bulks(&["1", "2", "3"]));
    assert_eq!(c.cmd_str("ZADD z 3 a 1 b 2 c"), ":3\r\n");
    assert_eq!(c.cmd_str("SORT z ALPHA"), bulks(&["a", "b", "c"]));
    assert_eq!(c.cmd_str("SORT z BY nosort"), bulks(&["b", "c", "a"]));
    assert_eq!(c.cmd_str("SORT z BY nosort DESC"), bulks(&["a", "c", "b"]));
    assert_eq!(c.cmd_str("SORT z BY nosort LIMIT 1 5"), bulks(&["c", "a"]));
}

#[test]
fn sort_replies_match_real_redis_byte_for_byte() {
    assert_replies_match_redis(
        &[],
        &[
            "SADD s 3 1 2 10 -4",
            "SET w_1 40",
            "SET w_2 30",
            "SET w_3 20",
            "SET w_10 1.5",
            "HSET h_1 f 5 g a",
            "HSET h_2 f 1 g c",
            "HSET h_3 f 3 g b",
            "SORT s",
            "SORT s DESC ALPHA",
            "SORT s LIMIT 1 3",
            "SORT s BY w_*",
            "SORT s BY w_* GET # GET w_* GET h_*->g",
            "SORT s BY h_*->f DESC",
            "SORT s BY h_*->g ALPHA",
            "SORT s BY nosort",
            "SORT s BY nosort GET w_*",
            "SORT s BY w_* STORE out",
            "SORT s BY nosort STORE out",
            "SORT_RO s LIMIT -1 2",
            "SORT s LIMIT 0 0 STORE out",
            "EXISTS out",
            "SORT s BY h_*-> ",
            "SORT s foo",
            "SORT_RO s STORE x",
        ],
    );
}

/// Inside a script, SORT / SORT_RO of a *set* with `BY nosort` sorts the members ALPHA, so the
/// script's result does not depend on the set's iteration order (Redis: `CLIENT_SCRIPT` in
/// `sortCommandGeneric`). Lists and sorted sets keep their order.
#[test]
fn sort_by_nosort_of_a_set_inside_a_script_sorts_alpha_like_redis() {
    if !require_redis_server() {
        return;
    }
    let script = |args: &str| format!("return redis.call({args})");
    let commands: Vec<Vec<String>> = [
        vec!["SADD", "ints", "10", "9", "1", "-2"],
        vec![
            "SADD", "words", "pear", "apple", "fig", "banana", "cherry", "date", "kiwi",
        ],
        vec!["RPUSH", "list", "3", "1", "2"],
        vec!["ZADD", "zs", "3", "a", "1", "b", "2", "c"],
        vec!["SET", "w_fig", "1"],
    ]
    .into_iter()
    .map(|c| c.into_iter().map(String::from).collect())
    .chain(
        [
            ("'SORT',KEYS[1],'BY','nosort'", "ints"),
            ("'SORT_RO',KEYS[1],'BY','nosort'", "ints"),
            ("'SORT',KEYS[1],'BY','nosort','DESC'", "ints"),
            ("'SORT',KEYS[1],'BY','nosort'", "words"),
            ("'SORT',KEYS[1],'BY','nosort','LIMIT','1','3'", "words"),
            (
                "'SORT_RO',KEYS[1],'BY','nosort','GET','w_*','GET','#'",
                "words",
            ),
            ("'SORT',KEYS[1],'BY','nosort','STORE','dst'", "words"),
            ("'LRANGE','dst','0','-1'", "words"),
            ("'SORT',KEYS[1],'BY','nosort'", "list"),
            ("'SORT',KEYS[1],'BY','nosort','DESC'", "zs"),
        ]
        .into_iter()
        .map(|(args, key)| vec!["EVAL".into(), script(args), "1".into(), key.into()]),
    )
    .chain([
        vec!["SORT".into(), "ints".into(), "BY".into(), "nosort".into()],
        vec![
            "FUNCTION".into(),
            "LOAD".into(),
            "#!lua name=s\nredis.register_function('s', function(k) \
             return redis.call('SORT_RO', k[1], 'BY', 'nosort') end)"
                .into(),
        ],
        vec!["FCALL".into(), "s".into(), "1".into(), "words".into()],
    ])
    .collect();
    let ours = TestServer::start(&[]);
    let real = RealRedis::start(&[]);
    let (mut a, mut b) = (ours.raw(), real.raw());
    for command in &commands {
        let args: Vec<&str> = command.iter().map(String::as_str).collect();
        let reply = b.cmd_args(&args);
        assert_eq!(a.cmd_args(&args), reply, "reply to {command:?} differs");
        assert!(!reply.starts_with('-'), "{command:?} failed: {reply}");
    }
    // The words come back sorted, not in the set's iteration order.
    let words = b.cmd_args(&[
        "EVAL",
        &script("'SORT',KEYS[1],'BY','nosort'"),
        "1",
        "words",
    ]);
    assert!(
        words.starts_with("*7\r\n$5\r\napple\r\n$6\r\nbanana\r\n"),
        "{words}"
    );
}

/// SORT and SORT_RO turn a listpack sorted set into a skiplist for good, as Redis does
/// (`zsetConvert` in `sortCommandGeneric`); OBJECT ENCODING shows it.
#[test]
fn sort_converts_a_small_sorted_set_to_a_skiplist_like_redis() {
    assert_replies_match_redis(
        &[],
        &[
            "ZADD z 2 a 1 b",
            "OBJECT ENCODING z",
            "SORT_RO z BY nosort",
            "OBJECT ENCODING z",
            "ZADD y 2 a 1 b",
            "SORT y ALPHA STORE dst",
            "OBJECT ENCODING y",
            "ZADD x 1 a",
            "SORT x BY nosort LIMIT 0 0",
            "OBJECT ENCODING x",
        ],
    );
}
