//! Hash commands through the real binary: exact replies and errors, encodings and their
//! conversion thresholds, RESP3 shapes, and a byte-for-byte comparison with a real Redis.

mod common;
use common::{assert_replies_match_redis, TestServer, WRONGTYPE};

#[test]
fn hset_hget_and_hmget_round_trip_fields() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd_str("HSET h a 1 b 2"), ":2\r\n");
    assert_eq!(c.cmd_str("HSET h a 10 c 3"), ":1\r\n");
    assert_eq!(c.cmd_str("HGET h a"), "$2\r\n10\r\n");
    assert_eq!(c.cmd_str("HGET h zz"), "$-1\r\n");
    assert_eq!(c.cmd_str("HGET nokey a"), "$-1\r\n");
    assert_eq!(
        c.cmd_str("HMGET h a zz c"),
        "*3\r\n$2\r\n10\r\n$-1\r\n$1\r\n3\r\n"
    );
    assert_eq!(c.cmd_str("HMGET nokey a"), "*1\r\n$-1\r\n");
    assert_eq!(c.cmd_str("HMSET h d 4"), "+OK\r\n");
    assert_eq!(c.cmd_str("HLEN h"), ":4\r\n");
    assert_eq!(c.cmd_str("HLEN nokey"), ":0\r\n");
}

#[test]
fn hset_with_an_odd_number_of_arguments_is_an_arity_error() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(
        c.cmd_str("HSET h a 1 b"),
        "-ERR wrong number of arguments for 'hset' command\r\n"
    );
    assert_eq!(
        c.cmd_str("HMSET h a"),
        "-ERR wrong number of arguments for 'hmset' command\r\n"
    );
    assert_eq!(c.cmd_str("EXISTS h"), ":0\r\n");
}

#[test]
fn hsetnx_only_sets_missing_fields() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd_str("HSETNX h a 1"), ":1\r\n");
    assert_eq!(c.cmd_str("HSETNX h a 2"), ":0\r\n");
    assert_eq!(c.cmd_str("HGET h a"), "$1\r\n1\r\n");
}

#[test]
fn hdel_removes_fields_and_deletes_the_emptied_key() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd_str("HSET h a 1 b 2 c 3");
    assert_eq!(c.cmd_str("HDEL h a zz b"), ":2\r\n");
    assert_eq!(c.cmd_str("HDEL nokey a"), ":0\r\n");
    assert_eq!(c.cmd_str("EXISTS h"), ":1\r\n");
    assert_eq!(c.cmd_str("HDEL h c"), ":1\r\n");
    assert_eq!(c.cmd_str("EXISTS h"), ":0\r\n");
}

#[test]
fn hstrlen_and_hexists_report_on_single_fields() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd_str("HSET h a hello");
    assert_eq!(c.cmd_str("HSTRLEN h a"), ":5\r\n");
    assert_eq!(c.cmd_str("HSTRLEN h zz"), ":0\r\n");
    assert_eq!(c.cmd_str("HSTRLEN nokey a"), ":0\r\n");
    assert_eq!(c.cmd_str("HEXISTS h a"), ":1\r\n");
    assert_eq!(c.cmd_str("HEXISTS h zz"), ":0\r\n");
    assert_eq!(c.cmd_str("HEXISTS nokey a"), ":0\r\n");
}

#[test]
fn small_hashes_list_fields_in_insertion_order() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd_str("HSET h b 1 a 2 c 3");
    c.cmd_str("HSET h b 9");
    assert_eq!(
        c.cmd_str("HKEYS h"),
        "*3\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\nc\r\n"
    );
    assert_eq!(
        c.cmd_str("HVALS h"),
        "*3\r\n$1\r\n9\r\n$1\r\n2\r\n$1\r\n3\r\n"
    );
    assert_eq!(
        c.cmd_str("HGETALL h"),
        "*6\r\n$1\r\nb\r\n$1\r\n9\r\n$1\r\na\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n"
    );
    assert_eq!(c.cmd_str("HGETALL nokey"), "*0\r\n");
    assert_eq!(c.cmd_str("HKEYS nokey"), "*0\r\n");
}

#[test]
fn hincrby_adds_checks_integers_and_overflow() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd_str("HINCRBY h n 5"), ":5\r\n");
    assert_eq!(c.cmd_str("HINCRBY h n -7"), ":-2\r\n");
    assert_eq!(c.cmd_str("HGET h n"), "$2\r\n-2\r\n");
    assert_eq!(
        c.cmd_str("HINCRBY h n x"),
        "-ERR value is not an integer or out of range\r\n"
    );
    c.cmd_str("HSET h s abc");
    assert_eq!(
        c.cmd_str("HINCRBY h s 1"),
        "-ERR hash value is not an integer\r\n"
    );
    c.cmd_str("HSET h big 9223372036854775807");
    assert_eq!(
        c.cmd_str("HINCRBY h big 1"),
        "-ERR increment or decrement would overflow\r\n"
    );
}

#[test]
fn hincrbyfloat_adds_and_formats_like_incrbyfloat() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd_str("HINCRBYFLOAT h f 10.5"), "$4\r\n10.5\r\n");
    assert_eq!(c.cmd_str("HINCRBYFLOAT h f 0.5"), "$2\r\n11\r\n");
    assert_eq!(c.cmd_str("HINCRBYFLOAT h f 5.0e3"), "$4\r\n5011\r\n");
    assert_eq!(c.cmd_str("HGET h f"), "$4\r\n5011\r\n");
    assert_eq!(
        c.cmd_str("HINCRBYFLOAT h f abc"),
        "-ERR value is not a valid float\r\n"
    );
    assert_eq!(
        c.cmd_str("HINCRBYFLOAT h f inf"),
        "-ERR value is NaN or Infinity\r\n"
    );
    c.cmd_str("HSET h s abc");
    assert_eq!(
        c.cmd_str("HINCRBYFLOAT h s 1"),
        "-ERR hash value is not a float\r\n"
    );
}

#[test]
fn hash_commands_against_a_string_key_are_wrongtype() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd_str("SET str x");
    for line in [
        "HSET str a 1",
        "HSETNX str a 1",
        "HGET str a",
        "HMGET str a",
        "HMSET str a 1",
        "HDEL str a",
        "HLEN str",
        "HSTRLEN str a",
        "HEXISTS str a",
        "HKEYS str",
        "HVALS str",
        "HGETALL str",
        "HINCRBY str a 1",
        "HINCRBYFLOAT str a 1",
        "HRANDFIELD str",
        "HRANDFIELD str 2",
        "HSCAN str 0",
    ] {
        assert_eq!(c.cmd_str(line), WRONGTYPE, "{line}");
    }
}

#[test]
fn hrandfield_returns_distinct_or_repeated_fields_by_count_sign() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd_str("HRANDFIELD nokey"), "$-1\r\n");
    assert_eq!(c.cmd_str("HRANDFIELD nokey 3"), "*0\r\n");
    c.cmd_str("HSET h a 1 b 2 c 3");
    let one = c.cmd_str("HRANDFIELD h");
    assert!(["$1\r\na\r\n", "$1\r\nb\r\n", "$1\r\nc\r\n"].contains(&one.as_str()));
    // A count at least the size returns the whole hash, in its order.
    assert_eq!(
        c.cmd_str("HRANDFIELD h 10"),
        "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"
    );
    assert_eq!(
        c.cmd_str("HRANDFIELD h 3 WITHVALUES"),
        "*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n"
    );
    assert_eq!(c.cmd_str("HRANDFIELD h 0"), "*0\r\n");
    // Two distinct fields.
    for _ in 0..20 {
        let r = c.cmd_str("HRANDFIELD h 2");
        let fields: Vec<&str> = r.split("\r\n").filter(|l| l.len() == 1).collect();
        assert_eq!(fields.len(), 2, "{r}");
        assert_ne!(fields[0], fields[1], "{r}");
    }
    // A negative count may repeat and always returns exactly -count fields.
    let r = c.cmd_str("HRANDFIELD h -7");
    assert!(r.starts_with("*7\r\n"), "{r}");
    let r = c.cmd_str("HRANDFIELD h -2 WITHVALUES");
    assert!(r.starts_with("*4\r\n"), "{r}");
}

#[test]
fn hrandfield_rejects_bad_counts_and_options() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd_str("HSET h a 1");
    assert_eq!(c.cmd_str("HRANDFIELD h 1 x"), "-ERR syntax error\r\n");
    assert_eq!(
        c.cmd_str("HRANDFIELD h 1 WITHVALUES x"),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        c.cmd_str("HRANDFIELD h x"),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        c.cmd_str("HRANDFIELD h -9223372036854775808"),
        "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"
    );
    assert_eq!(
        c.cmd_str("HRANDFIELD h -5000000000000000000 WITHVALUES"),
        "-ERR value is out of range\r\n"
    );
}

#[test]
fn hscan_returns_a_listpack_whole_and_walks_a_table() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd_str("HSET h a 1 b 2 ab 3");
    assert_eq!(
        c.cmd_str("HSCAN h 0"),
        "*2\r\n$1\r\n0\r\n*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$2\r\nab\r\n$1\r\n3\r\n"
    );
    assert_eq!(
        c.cmd_str("HSCAN h 0 MATCH a*"),
        "*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$2\r\nab\r\n$1\r\n3\r\n"
    );
    assert_eq!(c.cmd_str("HSCAN h x"), "-ERR invalid cursor\r\n");
    assert_eq!(c.cmd_str("HSCAN h 0 COUNT 0"), "-ERR syntax error\r\n");
    assert_eq!(c.cmd_str("HSCAN h 0 TYPE string"), "-ERR syntax error\r\n");
    assert_eq!(c.cmd_str("HSCAN h 0 MATCH"), "-ERR syntax error\r\n");
    assert_eq!(c.cmd_str("HSCAN nokey 0"), "*2\r\n$1\r\n0\r\n*0\r\n");

    // A hash table is walked in steps until the cursor comes back to 0.
    let mut args: Vec<String> = vec!["HSET".into(), "big".into()];
    for i in 0..600 {
        args.push(format!("f{i}"));
        args.push(format!("{i}"));
    }
    assert_eq!(c.cmd_owned(&args), b":600\r\n");
    let mut seen = std::collections::HashSet::new();
    let mut cursor = "0".to_string();
    let mut rounds = 0;
    loop {
        let r = c.cmd_str(&format!("HSCAN big {cursor} COUNT 50"));
        let lines: Vec<&str> = r.split("\r\n").collect();
        cursor = lines[2].to_string();
        for pair in lines[4..].chunks(4) {
            if pair.len() == 4 {
                seen.insert(pair[1].to_string());
            }
        }
        rounds += 1;
        if cursor == "0" {
            break;
        }
        assert!(rounds < 100);
    }
    assert!(rounds > 1);
    assert_eq!(seen.len(), 600);
}

#[test]
fn hashes_convert_to_hashtable_past_the_entry_limit() {
    let s = TestServer::start(&["--hash-max-listpack-entries", "4"]);
    let mut c = s.raw();
    c.cmd_str("HSET h a 1 b 2 c 3 d 4");
    assert_eq!(c.encoding("h"), "listpack");
    c.cmd_str("HSET h e 5");
    assert_eq!(c.encoding("h"), "hashtable");
    // Never converts back.
    c.cmd_str("HDEL h a b c d");
    assert_eq!(c.encoding("h"), "hashtable");
}

#[test]
fn hashes_convert_to_hashtable_on_a_long_value() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd_str(&format!("HSET h a {}", "x".repeat(64)));
    assert_eq!(c.encoding("h"), "listpack");
    c.cmd_str(&format!("HSET h b {}", "x".repeat(65)));
    assert_eq!(c.encoding("h"), "hashtable");
    c.cmd_str(&format!("HSET h2 {} v", "k".repeat(65)));
    assert_eq!(c.encoding("h2"), "hashtable");
    // 512 fields fit a listpack by default (redis-server without a config file), 513 do not.
    let mut args: Vec<String> = vec!["HSET".into(), "h3".into()];
    for i in 0..512 {
        args.push(format!("f{i}"));
        args.push("v".into());
    }
    c.cmd_owned(&args);
    assert_eq!(c.encoding("h3"), "listpack");
    c.cmd_str("HSET h3 one-more v");
    assert_eq!(c.encoding("h3"), "hashtable");
}

#[test]
fn a_converted_hash_keeps_every_field() {
    let s = TestServer::start(&["--hash-max-listpack-entries", "2"]);
    let mut c = s.raw();
    c.cmd_str("HSET h a 1 b 2 c 3");
    assert_eq!(c.cmd_str("HLEN h"), ":3\r\n");
    for (f, v) in [("a", "1"), ("b", "2"), ("c", "3")] {
        assert_eq!(c.cmd_str(&format!("HGET h {f}")), format!("$1\r\n{v}\r\n"));
    }
    assert_eq!(c.cmd_str("HDEL h a b c"), ":3\r\n");
    assert_eq!(c.cmd_str("EXISTS h"), ":0\r\n");
}

#[test]
fn resp3_replies_use_maps_and_pairs() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.hello3();
    c.cmd_str("HSET h a 1 b 2");
    assert_eq!(
        c.cmd_str("HGETALL h"),
        "%2\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n"
    );
    assert_eq!(c.cmd_str("HGETALL nokey"), "%0\r\n");
    assert_eq!(c.cmd_str("HGET h zz"), "_\r\n");
    assert_eq!(c.cmd_str("HMGET h zz"), "*1\r\n_\r\n");
    assert_eq!(c.cmd_str("HRANDFIELD nokey"), "_\r\n");
    assert_eq!(
        c.cmd_str("HRANDFIELD h 5 WITHVALUES"),
        "*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n"
    );
}

#[test]
fn small_hash_replies_match_real_redis_byte_for_byte() {
    assert_replies_match_redis(
        &["--hash-max-listpack-entries", "8"],
        &[
            "HSET h z 1 y 2 x 3",
            "HSET h y 20 w 4",
            "HGETALL h",
            "HKEYS h",
            "HVALS h",
            "HMGET h w zz z",
            "HDEL h x zz",
            "HGETALL h",
            "HINCRBY h z 41",
            "HINCRBY h q -1",
            "HINCRBYFLOAT h z 0.25",
            "HINCRBYFLOAT h z 1e2",
            "HSTRLEN h z",
            "HSETNX h z 0",
            "HSCAN h 0",
            "HSCAN h 0 MATCH y*",
            "HRANDFIELD h 100",
            "HRANDFIELD h 100 WITHVALUES",
            "HLEN h",
            "HDEL h z y w q",
            "EXISTS h",
            "HSCAN h 0 COUNT 0",
            "HINCRBY h f 9223372036854775807",
            "HINCRBY h f 1",
        ],
    );
}
