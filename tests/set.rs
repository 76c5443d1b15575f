//! Set commands through the real binary: exact replies and errors, the multi-key algebra,
//! encodings and their conversion thresholds, RESP3 shapes, and a byte-for-byte comparison with
//! a real Redis (integer sets reply in sorted order there, so they can be compared exactly;
//! hash-table replies are compared after sorting).

mod common;
use common::{assert_replies_match_redis, TestServer, WRONGTYPE};

/// The bulk strings of a flat reply, sorted (for replies whose order is unspecified).
fn sorted_members(reply: &str) -> Vec<String> {
    let lines: Vec<&str> = reply.split("\r\n").collect();
    let mut out: Vec<String> = lines
        .windows(2)
        .filter(|w| w[0].starts_with('$'))
        .map(|w| w[1].to_string())
        .collect();
    out.sort();
    out
}

#[test]
fn sadd_srem_scard_and_membership() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmd_str("SADD s 3 1 2"), ":3\r\n");
    assert_eq!(c.cmd_str("SADD s 2 5"), ":1\r\n");
    assert_eq!(c.cmd_str("SCARD s"), ":4\r\n");
    assert_eq!(c.cmd_str("SCARD nokey"), ":0\r\n");
    assert_eq!(c.cmd_str("SISMEMBER s 1"), ":1\r\n");
    assert_eq!(c.cmd_str("SISMEMBER s 9"), ":0\r\n");
    assert_eq!(c.cmd_str("SISMEMBER nokey 9"), ":0\r\n");
    assert_eq!(
        c.cmd_str("SMISMEMBER s 1 9 abc"),
        "*3\r\n:1\r\n:0\r\n:0\r\n"
    );
    assert_eq!(c.cmd_str("SMISMEMBER nokey a"), "*1\r\n:0\r\n");
    assert_eq!(c.cmd_str("SREM s 1 9"), ":1\r\n");
    assert_eq!(c.cmd_str("SREM nokey 1"), ":0\r\n");
    assert_eq!(
        c.cmd_str("SADD s"),
        "-ERR wrong number of arguments for 'sadd' command\r\n"
    );
}

#[test]
fn integer_sets_list_members_sorted() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd_str("SADD s 10 -7 3 70000 9223372036854775807 -9223372036854775808");
    assert_eq!(
        c.cmd_str("SMEMBERS s"),
        "*6\r\n$20\r\n-9223372036854775808\r\n$2\r\n-7\r\n$1\r\n3\r\n$2\r\n10\r\n\
         $5\r\n70000\r\n$19\r\n9223372036854775807\r\n"
    );
    assert_eq!(c.cmd_str("SMEMBERS nokey"), "*0\r\n");
}

#[test]
fn srem_and_spop_delete_the_emptied_key() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd_str("SADD a 1 2");
    assert_eq!(c.cmd_str("SREM a 1 2 3"), ":2\r\n");
    assert_eq!(c.cmd_str("EXISTS a"), ":0\r\n");
    c.cmd_str("SADD b x");
    assert_eq!(c.cmd_str("SPOP b"), "$1\r\nx\r\n");
    assert_eq!(c.cmd_str("EXISTS b"), ":0\r\n");
    c.cmd_str("SADD d 3 1 2");
    assert_eq!(
        c.cmd_str("SPOP d 10"),
        "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n"
    );
    assert_eq!(c.cmd_str("EXISTS d"), ":0\r\n");
}

#[test]
fn spop_and_srandmember_validate_counts() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd_str("SADD s 1 2 3");
    assert_eq!(c.cmd_str("SPOP nokey"), "$-1\r\n");
    assert_eq!(c.cmd_str("SPOP nokey 3"), "*0\r\n");
    assert_eq!(c.cmd_str("SPOP s 0"), "*0\r\n");
    assert_eq!(
        c.cmd_str("SPOP s -1"),
        "-ERR value is out of range, must be positive\r\n"
    );
    assert_eq!(
        c.cmd_str("SPOP s x"),
        "-ERR value is out of range, must be positive\r\n"
    );
    assert_eq!(c.cmd_str("SPOP s 1 2"), "-ERR syntax error\r\n");
    assert_eq!(c.cmd_str("SRANDMEMBER s 1 2"), "-ERR syntax error\r\n");
    assert_eq!(
        c.cmd_str("SRANDMEMBER s -9223372036854775808"),
        "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"
    );
    assert_eq!(c.cmd_str("SRANDMEMBER nokey"), "$-1\r\n");
    assert_eq!(c.cmd_str("SRANDMEMBER nokey 2"), "*0\r\n");
    assert_eq!(c.cmd_str("SRANDMEMBER s 0"), "*0\r\n");
    assert_eq!(
        c.cmd_str("SRANDMEMBER s 5"),
        "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n"
    );
    assert!(c.cmd_str("SRANDMEMBER s -8").starts_with("*8\r\n"));
    for _ in 0..20 {
        let m = sorted_members(&c.cmd_str("SRANDMEMBER s 2"));
        assert_eq!(m.len(), 2);
        assert_ne!(m[0], m[1]);
    }
    let popped = sorted_members(&c.cmd_str("SPOP s 2"));
    assert_eq!(popped.len(), 2);
    assert_eq!(c.cmd_str("SCARD s"), ":1\r\n");
}

#[test]
fn spop_and_srandmember_on_hashtable_sets_return_members() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd_str("SADD s a b c d e f");
    let all = vec!["a", "b", "c", "d", "e", "f"];
    assert_eq!(sorted_members(&c.cmd_str("SRANDMEMBER s 100")), all);
    let three = sorted_members(&c.cmd_str("SRANDMEMBER s 3"));
    assert_eq!(three.len(), 3);
    let mut popped = sorted_members(&c.cmd_str("SPOP s 4"));
    popped.extend(sorted_members(&c.cmd_str("SMEMBERS s")));
    popped.sort();
    assert_eq!(popped, all);
}

#[test]
fn smove_moves_members_between_sets() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd_str("SET str x");
    c.cmd_str("SADD src 1 2");
    assert_eq!(c.cmd_str("SMOVE src dst 1"), ":1\r\n");
    assert_eq!(c.cmd_str("SMOVE src dst 9"), ":0\r\n");
    assert_eq!(c.cmd_str("SMEMBERS dst"), "*1\r\n$1\r\n1\r\n");
    assert_eq!(c.cmd_str("SMOVE src src 2"), ":1\r\n");
    assert_eq!(c.cmd_str("SMOVE src src 9"), ":0\r\n");
    // A missing source answers 0 even when the destination has the wrong type.
    assert_eq!(c.cmd_str("SMOVE nokey str 1"), ":0\r\n");
    assert_eq!(c.cmd_str("SMOVE src str 2"), WRONGTYPE);
    assert_eq!(c.cmd_str("SMOVE src dst 2"), ":1\r\n");
    assert_eq!(c.cmd_str("EXISTS src"), ":0\r\n");
    assert_eq!(c.cmd_str("SMEMBERS dst"), "*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
}

#[test]
fn sinter_sunion_sdiff_and_their_store_variants() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd_str("SADD a 1 2 3 4");
    c.cmd_str("SADD b 3 4 5");
    assert_eq!(c.cmd_str("SINTER a b"), "*2\r\n$1\r\n3\r\n$1\r\n4\r\n");
    assert_eq!(c.cmd_str("SINTER a nokey"), "*0\r\n");
    assert_eq!(
        c.cmd_str("SUNION a b nokey"),
        "*5\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5\r\n"
    );
    assert_eq!(c.cmd_str("SDIFF a b"), "*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    assert_eq!(c.cmd_str("SDIFF a a"), "*0\r\n");
    assert_eq!(c.cmd_str("SDIFF nokey a"), "*0\r\n");
    assert_eq!(c.cmd_str("SINTERSTORE d a b"), ":2\r\n");
    assert_eq!(c.cmd_str("SMEMBERS d"), "*2\r\n$1\r\n3\r\n$1\r\n4\r\n");
    assert_eq!(c.cmd_str("SUNIONSTORE d a b"), ":5\r\n");
    assert_eq!(c.cmd_str("SDIFFSTORE d b a"), ":1\r\n");
    assert_eq!(c.cmd_str("SMEMBERS d"), "*1\r\n$1\r\n5\r\n");
    // An empty result deletes the destination.
    assert_eq!(c.cmd_str("SINTERSTORE d a nokey"), ":0\r\n");
    assert_eq!(c.cmd_str("EXISTS d"), ":0\r\n");
    c.cmd_str("SADD x p q r");
    c.cmd_str("SADD y q r s");
    assert_eq!(sorted_members(&c.cmd_str("SINTER x y")), vec!["q", "r"]);
    assert_eq!(
        sorted_members(&c.cmd_str("SUNION x y")),
        vec!["p", "q", "r", "s"]
    );
    assert_eq!(sorted_members(&c.cmd_str("SDIFF x y")), vec!["p"]);
}

#[test]
fn sintercard_counts_with_an_optional_limit() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd_str("SADD a 1 2 3 4");
    c.cmd_str("SADD b 2 3 4 5");
    assert_eq!(c.cmd_str("SINTERCARD 2 a b"), ":3\r\n");
    assert_eq!(c.cmd_str("SINTERCARD 2 a b LIMIT 2"), ":2\r\n");
    assert_eq!(c.cmd_str("SINTERCARD 2 a b LIMIT 0"), ":3\r\n");
    assert_eq!(c.cmd_str("SINTERCARD 2 a nokey"), ":0\r\n");
    assert_eq!(
        c.cmd_str("SINTERCARD 0 a"),
        "-ERR numkeys should be greater than 0\r\n"
    );
    assert_eq!(
        c.cmd_str("SINTERCARD x a"),
        "-ERR numkeys should be greater than 0\r\n"
    );
    assert_eq!(
        c.cmd_str("SINTERCARD 3 a b"),
        "-ERR Number of keys can't be greater than number of args\r\n"
    );
    assert_eq!(
        c.cmd_str("SINTERCARD 1 a LIMIT -1"),
        "-ERR LIMIT can't be negative\r\n"
    );
    assert_eq!(c.cmd_str("SINTERCARD 1 a LIMIT"), "-ERR syntax error\r\n");
    assert_eq!(c.cmd_str("SINTERCARD 1 a foo"), "-ERR syntax error\r\n");
}

#[test]
fn set_commands_against_a_string_key_are_wrongtype() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd_str("SET str x");
    c.cmd_str("SADD s 1");
    for line in [
        "SADD str a",
        "SREM str a",
        "SMEMBERS str",
        "SISMEMBER str a",
        "SMISMEMBER str a",
        "SCARD str",
        "SPOP str",
        "SPOP str 2",
        "SRANDMEMBER str",
        "SRANDMEMBER str 2",
        "SINTER s str",
        "SINTER s nokey str",
        "SINTERCARD 2 s str",
        "SINTERSTORE d s str",
        "SUNION s str",
        "SUNIONSTORE d s str",
        "SDIFF s str",
        "SDIFFSTORE d s str",
        "SSCAN str 0",
    ] {
        assert_eq!(c.cmd_str(line), WRONGTYPE, "{line}");
    }
}

#[test]
fn sscan_returns_an_intset_whole_and_walks_a_table() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd_str("SADD s 3 1 12");
    assert_eq!(
        c.cmd_str("SSCAN s 0"),
        "*2\r\n$1\r\n0\r\n*3\r\n$1\r\n1\r\n$1\r\n3\r\n$2\r\n12\r\n"
    );
    assert_eq!(
        c.cmd_str("SSCAN s 0 MATCH 1*"),
        "*2\r\n$1\r\n0\r\n*2\r\n$1\r\n1\r\n$2\r\n12\r\n"
    );
    assert_eq!(c.cmd_str("SSCAN s x"), "-ERR invalid cursor\r\n");
    assert_eq!(c.cmd_str("SSCAN s 0 COUNT 0"), "-ERR syntax error\r\n");
    let mut args: Vec<String> = vec!["SADD".into(), "big".into()];
    args.extend((0..200).map(|i| format!("m{i}")));
    assert_eq!(c.cmd_owned(&args), b":200\r\n");
    let mut seen = std::collections::HashSet::new();
    let mut cursor = "0".to_string();
    loop {
        let r = c.cmd_str(&format!("SSCAN big {cursor} COUNT 30"));
        let lines: Vec<&str> = r.split("\r\n").collect();
        cursor = lines[2].to_string();
        seen.extend(
            lines[4..]
                .iter()
                .filter(|l| l.starts_with('m'))
                .map(|l| l.to_string()),
        );
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 200);
}

/// A small set of strings (kept packed inside, as Redis 7.2's listpack) behaves as Redis 7.0's
/// hash table: it says `hashtable`, SSCAN pages it by COUNT with a cursor, members removed
/// during the scan cost none of the others, and it survives DEBUG RELOAD and the growth into a
/// real table mid-scan.
#[test]
fn small_string_sets_page_like_tables_across_removals_reloads_and_growth() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let mut args: Vec<String> = vec!["SADD".into(), "s".into()];
    args.extend((0..40).map(|i| format!("m{i}")));
    assert_eq!(c.cmd_owned(&args), b":40\r\n");
    assert_eq!(c.encoding("s"), "hashtable");
    let mut seen = std::collections::HashSet::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let r = c.cmd_str(&format!("SSCAN s {cursor} COUNT 10"));
        let lines: Vec<&str> = r.split("\r\n").collect();
        cursor = lines[2].to_string();
        let page: Vec<String> = lines[4..]
            .iter()
            .filter(|l| l.starts_with('m'))
            .map(|l| l.to_string())
            .collect();
        assert!(page.len() <= 10, "{page:?}");
        seen.extend(page);
        calls += 1;
        match calls {
            // Remove one member already returned and one not yet returned...
            1 => assert_eq!(c.cmd_str("SREM s m39 m5"), ":2\r\n"),
            // ...then grow past 128 members: the set becomes a real table mid-scan.
            2 => {
                let mut args: Vec<String> = vec!["SADD".into(), "s".into()];
                args.extend((100..300).map(|i| format!("m{i}")));
                assert_eq!(c.cmd_owned(&args), b":200\r\n");
            }
            _ => {}
        }
        if cursor == "0" {
            break;
        }
    }
    // 40 members by 10: four pages, the growth into a table notwithstanding.
    assert_eq!(calls, 4);
    for i in (0..40).filter(|&i| i != 5) {
        assert!(seen.contains(&format!("m{i}")), "m{i} missed");
    }
    assert_eq!(c.cmd_str("SCARD s"), ":238\r\n");
    c.cmd_str("SADD t a b c");
    c.cmd_str("DEBUG RELOAD");
    assert_eq!(c.encoding("t"), "hashtable");
    assert_eq!(sorted_members(&c.cmd_str("SMEMBERS t")), ["a", "b", "c"]);
    assert_eq!(c.cmd_str("SISMEMBER t b"), ":1\r\n");
}

#[test]
fn sets_are_intsets_until_a_string_or_too_many_members() {
    let s = TestServer::start(&["--set-max-intset-entries", "3"]);
    let mut c = s.raw();
    c.cmd_str("SADD s 1 2 3");
    assert_eq!(c.encoding("s"), "intset");
    c.cmd_str("SADD s 4");
    assert_eq!(c.encoding("s"), "hashtable");
    c.cmd_str("SADD t 1");
    c.cmd_str("SADD t 01");
    assert_eq!(c.encoding("t"), "hashtable");
    c.cmd_str("SADD u x");
    assert_eq!(c.encoding("u"), "hashtable");
    // A result built from hash-table sets that holds only integers is an intset, as in Redis.
    c.cmd_str("SADD v 1 2 x");
    c.cmd_str("SADD w 1 2 y");
    c.cmd_str("SINTERSTORE r v w");
    assert_eq!(c.encoding("r"), "intset");
}

#[test]
fn integer_lookalikes_are_strings_never_intset_members() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmd_str("SADD ints 1 2 -3");
    // "01", "+1" and "-0" are not how 1 or 0 print, so they are other members, not 1 or 0.
    assert_eq!(
        c.cmd_str("SMISMEMBER ints 1 01 +1 -0 0"),
        "*5\r\n:1\r\n:0\r\n:0\r\n:0\r\n:0\r\n"
    );
    assert_eq!(c.cmd_str("SREM ints 01 +1 -0"), ":0\r\n");
    assert_eq!(c.cmd_str("SCARD ints"), ":3\r\n");
    assert_eq!(c.encoding("ints"), "intset");

    assert_eq!(c.cmd_str("SADD strs 01 +1 -0"), ":3\r\n");
    assert_eq!(c.encoding("strs"), "hashtable");
    // Moving one into the intset turns it into a table holding both "1" and "01".
    assert_eq!(c.cmd_str("SMOVE strs ints 01"), ":1\r\n");
    assert_eq!(c.encoding("ints"), "hashtable");
    assert_eq!(
        sorted_members(&c.cmd_str("SMEMBERS ints")),
        ["-3", "01", "1", "2"]
    );
    assert_eq!(c.cmd_str("SINTERSTORE both ints strs"), ":0\r\n");
    assert_eq!(c.cmd_str("SUNIONSTORE all ints strs"), ":6\r\n");
    assert_eq!(c.cmd_str("SDIFFSTORE rest all ints"), ":2\r\n");
    assert_eq!(sorted_members(&c.cmd_str("SMEMBERS rest")), ["+1", "-0"]);

    // The i64 edges fit an intset; one past them is a string.
    c.cmd_str("SADD edges 9223372036854775807 -9223372036854775808");
    assert_eq!(c.encoding("edges"), "intset");
    assert_eq!(c.cmd_str("SISMEMBER edges 9223372036854775808"), ":0\r\n");
    c.cmd_str("SADD edges 9223372036854775808");
    assert_eq!(c.encoding("edges"), "hashtable");
    assert_eq!(c.cmd_str("SCARD edges"), ":3\r\n");
}

#[test]
fn resp3_set_replies_are_sets() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.hello3();
    c.cmd_str("SADD s 2 1");
    assert_eq!(c.cmd_str("SMEMBERS s"), "~2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    assert_eq!(c.cmd_str("SINTER s s"), "~2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    assert_eq!(c.cmd_str("SMEMBERS nokey"), "~0\r\n");
    assert_eq!(c.cmd_str("SPOP nokey 1"), "~0\r\n");
    assert_eq!(c.cmd_str("SPOP nokey"), "_\r\n");
    assert_eq!(c.cmd_str("SRANDMEMBER s 5"), "*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    assert_eq!(c.cmd_str("SMISMEMBER s 1 3"), "*2\r\n:1\r\n:0\r\n");
}

#[test]
fn integer_set_replies_match_real_redis_byte_for_byte() {
    assert_replies_match_redis(
        &[],
        &[
            "SADD a 5 -3 100 7 70000",
            "SADD b 7 100 8 -3",
            "SMEMBERS a",
            "SINTER a b",
            "SUNION a b",
            "SDIFF a b",
            "SDIFF b a",
            "SINTERSTORE i a b",
            "SMEMBERS i",
            "SUNIONSTORE u a b nokey",
            "SMEMBERS u",
            "SDIFFSTORE d a b",
            "SMEMBERS d",
            "SINTERCARD 2 a b",
            "SINTERCARD 2 a b LIMIT 1",
            "SMOVE a b 5",
            "SMEMBERS b",
            "SRANDMEMBER a 10",
            "SSCAN a 0",
            "SREM a 70000 -3 100 7",
            "EXISTS a",
            "SPOP u 100",
            "EXISTS u",
        ],
    );
}

#[test]
fn smove_events_match_redis_in_every_case() {
    common::assert_events_match_redis(&[
        "SADD src a b c",
        "SADD dst b",
        // Member already in the destination: only the source changes.
        "SMOVE src dst b",
        // A new member for an existing destination.
        "SMOVE src dst a",
        // Source and destination are the same key: nothing happens.
        "SMOVE dst dst a",
        "SMOVE dst dst zz",
        // Missing member, missing source.
        "SMOVE src dst zz",
        "SMOVE nosrc dst a",
        // The last member leaves the source (deleted) for a new destination.
        "SMOVE src fresh c",
        "SADD one x",
        "SADD two x",
        "SMOVE one two x",
    ]);
}

#[test]
fn smove_invalidates_watches_as_redis_does() {
    // Member already in the destination: Redis touches only the source.
    common::assert_watch_matches_redis(
        &["SADD src a b", "SADD dst a"],
        &["src", "dst"],
        &["SMOVE src dst a"],
    );
    // Same key on both sides: nothing is touched.
    common::assert_watch_matches_redis(&["SADD s a"], &["s"], &["SMOVE s s a"]);
    // A real move touches both.
    common::assert_watch_matches_redis(
        &["SADD src a b", "SADD dst c"],
        &["src", "dst"],
        &["SMOVE src dst a"],
    );
}
