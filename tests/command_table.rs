//! The command table against the oracle: for every command and subcommand ferrodis declares,
//! COMMAND INFO must be byte for byte what a real redis-server 7.0 answers (arity, flags, key
//! positions, ACL categories, tips, key specs), and COMMAND GETKEYS / GETKEYSANDFLAGS must find
//! the same keys with the same flags in example command lines built from each command's key
//! specs. One failure lists every mismatch, so a table mistake in any family shows up here.

mod common;
use common::{parse_resp, reply_len, require_redis_server, RawConn, RealRedis, Resp, TestServer};

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

/// Commands ferrodis has and Redis 7.0 does not (COMMAND INFO answers null for them there).
const NOT_IN_REDIS_7_0: &[&str] = &["delete", "flush", "client|setinfo", "client|no-touch"];

/// Every command and subcommand name ferrodis declares.
fn all_names(conn: &mut RawConn) -> Vec<String> {
    let mut rows = Vec::new();
    flatten(&command_rows(conn, &[b"COMMAND"]), &mut rows);
    rows.iter()
        .map(|r| r.as_list()[0].as_str().to_string())
        .collect()
}

/// A one-row COMMAND INFO reply up to its subcommands (the 10th field). Redis lists a
/// container's subcommands in the order of a hash table seeded at random on each start, so
/// that field is not comparable as bytes; each subcommand's own row is compared instead.
fn without_subcommands(reply: &[u8]) -> &[u8] {
    let header = b"*1\r\n*10\r\n";
    if !reply.starts_with(header) {
        return reply;
    }
    let mut at = header.len();
    for _ in 0..9 {
        at += reply_len(reply, at).expect("a complete COMMAND INFO row");
    }
    &reply[..at]
}

#[test]
fn command_info_of_every_command_is_byte_for_byte_redis() {
    if !require_redis_server() {
        return;
    }
    let server = TestServer::start(&[]);
    let redis = RealRedis::start(&[]);
    let (mut ours, mut theirs) = (server.raw(), redis.raw());
    let mut mismatches = Vec::new();
    let mut absent = Vec::new();
    let names = all_names(&mut ours);
    for name in &names {
        let args: [&[u8]; 3] = [b"COMMAND", b"INFO", name.as_bytes()];
        let (a, b) = (ours.cmd(&args), theirs.cmd(&args));
        if b == b"*1\r\n$-1\r\n" {
            absent.push(name.as_str());
        } else if without_subcommands(&a) != without_subcommands(&b) {
            mismatches.push(format!(
                "{name}:\n    ferrodis {:?}\n    redis    {:?}",
                String::from_utf8_lossy(&a),
                String::from_utf8_lossy(&b)
            ));
        }
    }
    absent.sort();
    let mut expected_absent = NOT_IN_REDIS_7_0.to_vec();
    expected_absent.sort();
    assert_eq!(
        absent, expected_absent,
        "commands redis-server does not know"
    );
    assert!(names.len() > 150, "only {} commands compared", names.len());
    assert!(
        mismatches.is_empty(),
        "{} COMMAND INFO rows differ from redis-server:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

/// The key specs of one COMMAND INFO row, as (begin kind, begin args, find kind, find args).
struct SpecShape {
    begin: String,
    index: i64,
    keyword: String,
    find: String,
    lastkey: i64,
    keystep: i64,
    keynumidx: i64,
    firstkey: i64,
}

/// Reads a flat RESP2 map (`[k1, v1, k2, v2 ...]`) entry.
fn field<'r>(map: &'r Resp, name: &str) -> &'r Resp {
    let items = map.as_list();
    items
        .chunks(2)
        .find(|kv| kv[0].as_str() == name)
        .map(|kv| &kv[1])
        .unwrap_or(&Resp::Null)
}

fn spec_shapes(row: &Resp) -> Vec<SpecShape> {
    row.as_list()[8]
        .as_list()
        .iter()
        .map(|spec| {
            let begin = field(spec, "begin_search");
            let find = field(spec, "find_keys");
            let (bspec, fspec) = (field(begin, "spec"), field(find, "spec"));
            SpecShape {
                begin: field(begin, "type").as_str().to_string(),
                index: field(bspec, "index").as_int(),
                keyword: field(bspec, "keyword").as_str().to_string(),
                find: field(find, "type").as_str().to_string(),
                lastkey: field(fspec, "lastkey").as_int(),
                keystep: field(fspec, "keystep").as_int(),
                keynumidx: field(fspec, "keynumidx").as_int(),
                firstkey: field(fspec, "firstkey").as_int(),
            }
        })
        .collect()
}

/// Example command lines for one command, built from its arity and key specs: the shortest
/// valid line with distinct placeholder arguments, numkeys arguments set to cover two keys,
/// keyword-introduced keys appended, extra pairs for open-ended ranges; plus variants with a
/// bad, zero and too large key count, and one argument short.
fn example_lines(name: &str, arity: i64, shapes: &[SpecShape]) -> Vec<Vec<String>> {
    let mut words: Vec<String> = name.split('|').map(|w| w.to_string()).collect();
    let prefix = words.len();
    let min = arity.unsigned_abs() as usize;
    while words.len() < min {
        words.push(format!("a{}", words.len()));
    }
    let mut numkeys_at = Vec::new();
    for s in shapes {
        if s.begin == "index" && s.find == "keynum" {
            let at = (s.index + s.keynumidx) as usize;
            let first = (s.index + s.firstkey) as usize;
            while words.len() < first + 2 * s.keystep as usize {
                words.push(format!("a{}", words.len()));
            }
            if let Some(w) = words.get_mut(at) {
                *w = "2".into();
            }
            numkeys_at.push(at);
        } else if s.begin == "index" && s.find == "range" && s.lastkey < 0 && arity < 0 {
            for _ in 0..2 * s.keystep.max(1) {
                words.push(format!("a{}", words.len()));
            }
        } else if s.begin == "keyword" {
            words.push(s.keyword.clone());
            words.push(format!("a{}", words.len()));
        }
    }
    let mut lines = vec![words.clone()];
    for &at in &numkeys_at {
        for count in ["x", "0", "-1", "99"] {
            let mut line = words.clone();
            line[at] = count.into();
            lines.push(line);
        }
    }
    if words.len() > prefix {
        lines.push(words[..words.len() - 1].to_vec());
    }
    lines
}

#[test]
fn command_getkeys_and_getkeysandflags_match_redis_for_every_command() {
    if !require_redis_server() {
        return;
    }
    let server = TestServer::start(&[]);
    let redis = RealRedis::start(&[]);
    let (mut ours, mut theirs) = (server.raw(), redis.raw());
    let mut rows = Vec::new();
    flatten(&command_rows(&mut ours, &[b"COMMAND"]), &mut rows);
    let mut lines: Vec<Vec<String>> = Vec::new();
    for row in &rows {
        let fields = row.as_list();
        let name = fields[0].as_str();
        if NOT_IN_REDIS_7_0.contains(&name) {
            continue;
        }
        lines.extend(example_lines(name, fields[1].as_int(), &spec_shapes(row)));
    }
    // Hand-picked lines for the commands whose keys move with their options.
    for line in [
        "ZUNIONSTORE d 2 a b",
        "ZUNIONSTORE d 2 a b WEIGHTS 1 2",
        "ZINTER 3 a b c AGGREGATE MAX",
        "ZDIFFSTORE d 1 a",
        "SORT a STORE b",
        "SORT a BY w GET x STORE b LIMIT 0 1 STORE c",
        "SORT a GET store",
        "SORT a STORE",
        "SORT_RO a BY w GET x",
        "EVAL s 0 k1 k2",
        "EVAL s 2 k1 k2 arg",
        "EVAL s 3 k1 k2",
        "EVALSHA_RO s 1 k",
        "FCALL f 0",
        "FCALL_RO f 1 k a",
        "SET k v",
        "SET k v GET",
        "SET k v EX 10 get",
        "SET k v XX",
        "MSET a 1 b 2 c 3",
        "MSET a 1 b",
        "LMPOP 2 a b LEFT COUNT 1",
        "BLMPOP 0 1 a RIGHT",
        "ZMPOP 1 a MIN",
        "BZMPOP 1.5 2 a b MAX",
        "SINTERCARD 2 a b LIMIT 1",
        "ZINTERCARD 1 a",
        "BLPOP a b c 0",
        "BLMOVE a b LEFT RIGHT 0",
        "RENAME a b",
        "COPY a b DB 1 REPLACE",
        "OBJECT ENCODING k",
        "OBJECT HELP",
        "MEMORY USAGE k SAMPLES 5",
        "CLIENT LIST",
        "CONFIG",
        "PING",
        "NOSUCHCOMMAND a b",
        "GET",
        "GET a b",
        "PUBLISH ch msg",
        "WATCH a b",
    ] {
        lines.push(line.split(' ').map(|w| w.to_string()).collect());
    }
    let mut mismatches = Vec::new();
    for line in &lines {
        for sub in ["GETKEYS", "GETKEYSANDFLAGS"] {
            let mut args: Vec<&[u8]> = vec![b"COMMAND", sub.as_bytes()];
            args.extend(line.iter().map(|w| w.as_bytes()));
            let (a, b) = (ours.cmd(&args), theirs.cmd(&args));
            if a != b {
                mismatches.push(format!(
                    "COMMAND {sub} {}:\n    ferrodis {:?}\n    redis    {:?}",
                    line.join(" "),
                    String::from_utf8_lossy(&a),
                    String::from_utf8_lossy(&b)
                ));
            }
        }
    }
    assert!(lines.len() > 200, "only {} lines tried", lines.len());
    assert!(
        mismatches.is_empty(),
        "{} COMMAND GETKEYS replies differ from redis-server:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
