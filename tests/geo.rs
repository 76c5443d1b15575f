//! Geo commands through the real binary. The expected bytes were read from redis-server
//! 7.0.15; the tests at the end also replay scenarios on both servers and compare (ties broken
//! by Redis's partial quicksort, keyspace events, hostile arguments).

mod common;
use common::{assert_events_match_redis, assert_replies_match_redis, RawConn, TestServer};

/// A server with Redis's documentation example loaded: Palermo, Catania and Agrigento.
fn sicily() -> (TestServer, RawConn) {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert_eq!(
        c.cmd_str("GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania"),
        ":2\r\n"
    );
    assert_eq!(
        c.cmd_str("GEOADD Sicily CH NX 13.361389 38.115556 Palermo 13.583333 37.316667 Agrigento"),
        ":1\r\n"
    );
    (server, c)
}

const PALERMO_POS: &str = "*2\r\n$20\r\n13.36138933897018433\r\n$20\r\n38.11555639549629859\r\n";

#[test]
fn geoadd_stores_the_52_bit_geohash_as_score() {
    let (_s, mut c) = sicily();
    assert_eq!(
        c.cmd_str("ZSCORE Sicily Palermo"),
        "$16\r\n3479099956230698\r\n"
    );
    // XX refuses the new member; CH counts nothing since the score did not change.
    assert_eq!(
        c.cmd_str("GEOADD Sicily XX CH 13.361390 38.115556 Palermo 1 1 New"),
        ":0\r\n"
    );
    assert_eq!(c.cmd_str("ZCARD Sicily"), ":3\r\n");
    assert_eq!(c.cmd_str("OBJECT ENCODING Sicily"), "$8\r\nlistpack\r\n");
}

#[test]
fn geopos_geohash_and_geodist_decode_the_scores() {
    let (_s, mut c) = sicily();
    assert_eq!(
        c.cmd_str("GEOPOS Sicily Palermo NonExisting"),
        format!("*2\r\n{PALERMO_POS}*-1\r\n")
    );
    assert_eq!(
        c.cmd_str("GEOHASH Sicily Palermo Catania"),
        "*2\r\n$11\r\nsqc8b49rny0\r\n$11\r\nsqdtr74hyu0\r\n"
    );
    assert_eq!(
        c.cmd_str("GEODIST Sicily Palermo Catania"),
        "$11\r\n166274.1516\r\n"
    );
    assert_eq!(
        c.cmd_str("GEODIST Sicily Palermo Catania km"),
        "$8\r\n166.2742\r\n"
    );
    assert_eq!(
        c.cmd_str("GEODIST Sicily Palermo Catania ft"),
        "$11\r\n545518.8700\r\n"
    );
    assert_eq!(c.cmd_str("GEODIST Sicily Palermo Nowhere"), "$-1\r\n");
    assert_eq!(c.cmd_str("GEODIST NoKey a b"), "$-1\r\n");
    assert_eq!(
        c.cmd_str("GEODIST Sicily a b km extra"),
        "-ERR syntax error\r\n"
    );
}

#[test]
fn georadius_replies_with_distance_hash_and_coordinates() {
    let (_s, mut c) = sicily();
    assert_eq!(
        c.cmd_str("GEORADIUS Sicily 15 37 200 km WITHDIST WITHCOORD WITHHASH"),
        "*3\r\n\
         *4\r\n$9\r\nAgrigento\r\n$8\r\n130.4235\r\n:3479030013248308\r\n\
         *2\r\n$19\r\n13.5833314061164856\r\n$20\r\n37.31666804993816555\r\n\
         *4\r\n$7\r\nPalermo\r\n$8\r\n190.4424\r\n:3479099956230698\r\n\
         *2\r\n$20\r\n13.36138933897018433\r\n$20\r\n38.11555639549629859\r\n\
         *4\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n:3479447370796909\r\n\
         *2\r\n$20\r\n15.08726745843887329\r\n$20\r\n37.50266842333162032\r\n"
    );
    assert_eq!(
        c.cmd_str("GEORADIUSBYMEMBER Sicily Agrigento 100 km WITHDIST"),
        "*2\r\n*2\r\n$9\r\nAgrigento\r\n$6\r\n0.0000\r\n*2\r\n$7\r\nPalermo\r\n$7\r\n90.9778\r\n"
    );
}

#[test]
fn geosearch_sorts_counts_and_searches_boxes() {
    let (_s, mut c) = sicily();
    assert_eq!(
        c.cmd_str("GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 400 400 km DESC WITHDIST"),
        "*3\r\n*2\r\n$7\r\nPalermo\r\n$8\r\n190.4424\r\n*2\r\n$9\r\nAgrigento\r\n$8\r\n\
         130.4235\r\n*2\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n"
    );
    // COUNT alone means "the nearest".
    assert_eq!(
        c.cmd_str("GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km COUNT 1"),
        "*1\r\n$7\r\nCatania\r\n"
    );
    assert_eq!(
        c.cmd_str("GEOSEARCH Sicily FROMLONLAT 0 0 BYRADIUS 1 km"),
        "*0\r\n"
    );
    assert_eq!(
        c.cmd_str("GEOSEARCH NoKey FROMMEMBER nobody BYRADIUS 1 km"),
        "*0\r\n"
    );
}

#[test]
fn geosearchstore_stores_distances_or_hashes() {
    let (_s, mut c) = sicily();
    assert_eq!(
        c.cmd_str("GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST"),
        ":3\r\n"
    );
    assert_eq!(
        c.cmd_str("ZRANGE dst 0 -1 WITHSCORES"),
        "*6\r\n$7\r\nCatania\r\n$18\r\n56.441257870158204\r\n$9\r\nAgrigento\r\n$18\r\n\
         130.42348706714702\r\n$7\r\nPalermo\r\n$18\r\n190.44242984775784\r\n"
    );
    assert_eq!(
        c.cmd_str("GEORADIUS Sicily 15 37 200 km COUNT 1 STORE dst2"),
        ":1\r\n"
    );
    assert_eq!(
        c.cmd_str("ZRANGE dst2 0 -1 WITHSCORES"),
        "*2\r\n$7\r\nCatania\r\n$16\r\n3479447370796909\r\n"
    );
    // An empty result deletes the destination.
    assert_eq!(
        c.cmd_str("GEOSEARCHSTORE dst Sicily FROMLONLAT 0 0 BYRADIUS 1 km"),
        ":0\r\n"
    );
    assert_eq!(c.cmd_str("EXISTS dst"), ":0\r\n");
    assert_eq!(
        c.cmd_str("GEORADIUSBYMEMBER NoKey x 1 km STORE dst2"),
        ":0\r\n"
    );
    assert_eq!(c.cmd_str("EXISTS dst2"), ":0\r\n");
}

#[test]
fn resp3_coordinates_are_doubles() {
    let (_s, mut c) = sicily();
    c.hello3();
    assert_eq!(
        c.cmd_str("GEOPOS Sicily Palermo nosuch"),
        "*2\r\n*2\r\n,13.36138933897018433\r\n,38.11555639549629859\r\n_\r\n"
    );
    assert_eq!(
        c.cmd_str("GEORADIUS Sicily 15 37 200 km WITHDIST WITHCOORD COUNT 1"),
        "*1\r\n*3\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n*2\r\n,15.08726745843887329\r\n\
         ,37.50266842333162032\r\n"
    );
}

#[test]
fn bad_arguments_get_redis_error_texts() {
    let (_s, mut c) = sicily();
    for (line, reply) in [
        (
            "GEOADD Sicily 200 100 x",
            "-ERR invalid longitude,latitude pair 200.000000,100.000000\r\n",
        ),
        (
            "GEOADD Sicily 1e400 1 x",
            "-ERR value is not a valid float\r\n",
        ),
        ("GEOADD Sicily NX XX 1 1 x", "-ERR syntax error\r\n"),
        (
            "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS -1 km",
            "-ERR radius cannot be negative\r\n",
        ),
        (
            "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1 parsec",
            "-ERR unsupported unit provided. please use M, KM, FT, MI\r\n",
        ),
        (
            "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1 km COUNT 0",
            "-ERR COUNT must be > 0\r\n",
        ),
        (
            "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1 km ANY",
            "-ERR the ANY argument requires COUNT argument\r\n",
        ),
        (
            "GEOSEARCH Sicily FROMLONLAT 15 37 COUNT 1",
            "-ERR exactly one of BYRADIUS and BYBOX can be specified for GEOSEARCH\r\n",
        ),
        (
            "GEORADIUS Sicily 15 37 200 km STORE dst WITHDIST",
            "-ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and \
             WITHCOORD options\r\n",
        ),
        (
            "GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km WITHCOORD",
            "-ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD \
             options\r\n",
        ),
        (
            "GEORADIUSBYMEMBER Sicily nosuch 100 km",
            "-ERR could not decode requested zset member\r\n",
        ),
        (
            "GEOSEARCH Sicily FROMLONLAT 0 0 BYBOX 1 x km",
            "-ERR need numeric height\r\n",
        ),
        (
            "GEOSEARCH Sicily FROMLONLAT 0 0 BYBOX 1 1 km STORE x",
            "-ERR syntax error\r\n",
        ),
        (
            "GEORADIUS_RO Sicily 0 0 1 km STORE x",
            "-ERR syntax error\r\n",
        ),
    ] {
        assert_eq!(c.cmd_str(line), reply, "{line}");
    }
}

#[test]
fn georadius_store_keys_are_found_by_command_getkeys() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(
        c.cmd_str("COMMAND GETKEYS GEORADIUS src 0 0 1 km STORE a STOREDIST b"),
        "*3\r\n$3\r\nsrc\r\n$1\r\na\r\n$1\r\nb\r\n"
    );
    assert_eq!(
        c.cmd_str("COMMAND GETKEYS GEOSEARCHSTORE dst src FROMMEMBER m BYRADIUS 1 km"),
        "*2\r\n$3\r\ndst\r\n$3\r\nsrc\r\n"
    );
}

#[test]
fn hostile_arguments_are_cheap_and_match_redis() {
    let mut lines = vec!["GEOADD k 0 0 a 179.9 85 b -179.9 -85 c 10 10 d".to_string()];
    for q in [
        "GEOSEARCH k FROMLONLAT 0 0 BYRADIUS inf m WITHDIST",
        "GEOSEARCH k FROMLONLAT 0 0 BYRADIUS 1e308 km COUNT 9223372036854775807",
        "GEOSEARCH k FROMLONLAT 0 0 BYBOX inf inf km COUNT 1 ANY",
        "GEOSEARCH k FROMLONLAT 0 0 BYRADIUS 1 km COUNT 99999999999999999999",
        "GEOSEARCH k FROMLONLAT nan 0 BYRADIUS 1 km",
        "GEOSEARCH k FROMLONLAT inf 0 BYRADIUS 1 km",
        "GEORADIUS k 0 0 50000 km WITHCOORD",
        "GEORADIUS k 0 85.05112878 1 m",
        "GEOSEARCH k FROMLONLAT 180 -85.05112878 BYBOX 40000 40000 km ASC",
        "ZADD weird -5 m1 1e300 m2 9007199254740993 m3",
        "GEOPOS weird m1 m2 m3",
        "GEOHASH weird m1 m2 m3",
        "GEOSEARCH weird FROMLONLAT 0 0 BYRADIUS 50000 km WITHHASH WITHCOORD",
    ] {
        lines.push(q.to_string());
    }
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    assert_replies_match_redis(&[], &lines);
}

#[test]
fn equal_distances_with_count_keep_redis_partial_sort_order() {
    // 120 points on 6 spots: many ties, which Redis's pqsort leaves in its own order.
    let mut lines = Vec::new();
    for i in 0..120 {
        lines.push(format!(
            "GEOADD t {} {} m{i}",
            (i % 3) as f64 * 0.001,
            (i % 2) as f64 * 0.001
        ));
    }
    for count in [1, 5, 7, 8, 10, 41, 60, 119] {
        lines.push(format!(
            "GEOSEARCH t FROMLONLAT 0 0 BYRADIUS 10 km COUNT {count} ASC"
        ));
        lines.push(format!(
            "GEOSEARCH t FROMLONLAT 0 0 BYRADIUS 10 km COUNT {count} DESC WITHDIST"
        ));
        lines.push(format!("GEORADIUS t 0.001 0 10 km COUNT {count}"));
    }
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    assert_replies_match_redis(&[], &lines);
}

#[test]
fn store_commands_fire_redis_keyspace_events() {
    assert_events_match_redis(&[
        "GEOADD src 13.361389 38.115556 Palermo 15.087269 37.502669 Catania",
        "GEOSEARCHSTORE dst src FROMLONLAT 15 37 BYRADIUS 200 km",
        "GEORADIUS src 15 37 200 km STORE dst2",
        "GEORADIUSBYMEMBER src Palermo 1 km STOREDIST dst2",
        "GEOSEARCHSTORE dst src FROMLONLAT 0 0 BYRADIUS 1 km",
        "GEOSEARCHSTORE dst nokey FROMLONLAT 0 0 BYRADIUS 1 km",
        "GEORADIUS nokey 0 0 1 km STORE dst",
    ]);
}
