//! The command table against the oracle: for every command and subcommand ferrodis declares
//! that a real redis-server also knows, COMMAND INFO must agree on arity, key positions and the
//! flags ferrodis models. One failure lists every mismatch, so a table mistake in any family
//! shows up here with its fix.

mod common;
use common::{parse_resp, require_redis_server, RawConn, RealRedis, Resp, TestServer};

fn command_rows(conn: &mut RawConn, args: &[&[u8]]) -> Vec<Resp> {
    let reply = conn.cmd(args);
    let mut pos = 0;
    match parse_resp(&reply, &mut pos) {
        Resp::List(rows) => rows,
        other => panic!("COMMAND reply is not an array: {other:?}"),
    }
}

/// Flattens rows and their subcommand rows.
fn flatten(rows: &[Resp], out: &mut Vec<Resp>) {
    for row in rows {
        out.push(row.clone());
        if let Some(subs) = row.as_list().get(9) {
            flatten(subs.as_list(), out);
        }
    }
}

/// The flags ferrodis's table models (`table::flags::NAMES`); Redis's others (may_replicate,
/// no_async_loading, no_mandatory_keys, ...) are not compared.
const MODELLED_FLAGS: &[&str] = &[
    "write",
    "readonly",
    "denyoom",
    "admin",
    "pubsub",
    "noscript",
    "blocking",
    "loading",
    "stale",
    "skip_slowlog",
    "fast",
    "no_auth",
    "no_multi",
    "allow_busy",
    "movablekeys",
];

fn modelled_flags(row: &Resp) -> Vec<String> {
    let mut flags: Vec<String> = row.as_list()[2]
        .as_list()
        .iter()
        .map(|f| f.as_str().to_string())
        .filter(|f| MODELLED_FLAGS.contains(&f.as_str()))
        .collect();
    flags.sort();
    flags
}

#[test]
fn every_declared_command_matches_real_redis_command_info() {
    if !require_redis_server() {
        return;
    }
    let server = TestServer::start(&[]);
    let redis = RealRedis::start(&[]);
    let mut ours = server.raw();
    let mut theirs = redis.raw();

    let mut rows = Vec::new();
    flatten(&command_rows(&mut ours, &[b"COMMAND"]), &mut rows);
    assert!(!rows.is_empty(), "COMMAND returned no rows");

    let mut mismatches = Vec::new();
    let mut compared = 0;
    for row in &rows {
        let fields = row.as_list();
        let name = fields[0].as_str().to_string();
        let real = command_rows(&mut theirs, &[b"COMMAND", b"INFO", name.as_bytes()]);
        let Some(real) = real.first().filter(|r| **r != Resp::Null) else {
            continue; // A command real Redis 7.0 does not have (e.g. CLIENT SETINFO, 7.2).
        };
        compared += 1;
        let real_fields = real.as_list();
        for (i, what) in [(1, "arity"), (3, "first key"), (4, "last key"), (5, "step")] {
            let (a, b) = (fields[i].as_int(), real_fields[i].as_int());
            if a != b {
                mismatches.push(format!("{name}: {what} is {a}, Redis says {b}"));
            }
        }
        let (a, b) = (modelled_flags(row), modelled_flags(real));
        if a != b {
            mismatches.push(format!("{name}: flags are {a:?}, Redis says {b:?}"));
        }
    }
    assert!(compared > 0, "no command could be compared");
    assert!(
        mismatches.is_empty(),
        "{} command table mismatches with redis-server:\n  {}",
        mismatches.len(),
        mismatches.join("\n  ")
    );
}

#[test]
fn command_count_counts_top_level_rows_and_list_includes_subcommands() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    let top = command_rows(&mut c, &[b"COMMAND"]);
    let count = c.cmd(&[b"COMMAND", b"COUNT"]);
    assert_eq!(count, format!(":{}\r\n", top.len()).into_bytes());
    let mut all = Vec::new();
    flatten(&top, &mut all);
    let list = command_rows(&mut c, &[b"COMMAND", b"LIST"]);
    assert_eq!(list.len(), all.len());
    assert!(list.contains(&Resp::Str("config|get".into())));
    assert!(list.contains(&Resp::Str("client|list".into())));
}
