//! ACL against the real binary: users, rules, GETUSER / LIST / DRYRUN / CAT, the NOPERM texts
//! at the top level, in MULTI, at EXEC and from scripts, the ACL LOG, AUTH with users, and
//! what happens to the clients of a deleted user — compared with redis-server wherever the
//! reply does not depend on Redis's per-process hash order (several single-command rules) or
//! on the connection (client info).

mod common;

use common::{assert_replies_match_redis, require_redis_server, RawConn, RealRedis, TestServer};

/// Rules whose descriptions are deterministic: categories and at most one single command.
const SETUP: &[&str] = &[
    "ACL SETUSER alice on >pw ~obj:* &chan* +@hash +@pubsub -hset",
    "ACL SETUSER bob on nopass %R~r* %W~w* %RW~rw* +@all -@dangerous (~sel* +@string)",
    "ACL SETUSER carol",
];

#[test]
fn setuser_getuser_list_and_users_match_redis() {
    let mut lines = SETUP.to_vec();
    lines.extend([
        "ACL GETUSER alice",
        "ACL GETUSER bob",
        "ACL GETUSER carol",
        "ACL GETUSER default",
        "ACL GETUSER nobody",
        "ACL LIST",
        "ACL USERS",
        "ACL WHOAMI",
        // Rules change in place, and a failed SETUSER changes nothing.
        "ACL SETUSER alice <pw #5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8",
        "ACL SETUSER alice resetkeys %R~a* %W~a* resetchannels",
        "ACL SETUSER alice allkeys +get nosuch",
        "ACL GETUSER alice",
        "ACL SETUSER bob clearselectors reset",
        "ACL GETUSER bob",
        "ACL SETUSER dave on nopass +@all -@keyspace +del ~* &*",
        "ACL LIST",
        // Errors, with Redis's words.
        "ACL SETUSER x +nosuchcommand",
        "ACL SETUSER x +@nosuchcategory",
        "ACL SETUSER x #abc",
        "ACL SETUSER x <notapassword",
        "ACL SETUSER x allkeys ~more",
        "ACL SETUSER x allchannels &more",
        "ACL SETUSER x +client|kill|x",
        "ACL SETUSER x +select|",
        "ACL SETUSER x -select|0",
        "ACL SETUSER x (~a +get",
        "ACL SETUSER x %X~a",
        "ACL SETUSER x bogus",
        "ACL GETUSER x",
        "ACL DELUSER default",
        "ACL DELUSER carol nobody",
        "ACL USERS",
    ]);
    assert_replies_match_redis(&[], &lines);
}

#[test]
fn dryrun_cat_genpass_and_help_match_redis() {
    let mut lines = SETUP.to_vec();
    lines.extend([
        "ACL DRYRUN alice hget obj:1 f",
        "ACL DRYRUN alice hget x f",
        "ACL DRYRUN alice hset obj:1 f v",
        "ACL DRYRUN alice publish chan1 m",
        "ACL DRYRUN alice publish other m",
        "ACL DRYRUN alice subscribe chan1 other",
        "ACL DRYRUN alice psubscribe chan*",
        "ACL DRYRUN alice psubscribe chan1*",
        "ACL DRYRUN bob get r1",
        "ACL DRYRUN bob set r1 v",
        "ACL DRYRUN bob set w1 v",
        "ACL DRYRUN bob getset rw1 v",
        "ACL DRYRUN bob get sel1",
        "ACL DRYRUN bob set sel1 v",
        "ACL DRYRUN bob lpush sel1 v",
        "ACL DRYRUN bob flushall",
        "ACL DRYRUN bob client kill id 1",
        "ACL DRYRUN bob client id",
        "ACL DRYRUN carol get x",
        "ACL DRYRUN nobody get x",
        "ACL DRYRUN alice nosuchcommand",
        "ACL DRYRUN alice hget x",
        "ACL CAT",
        "ACL CAT nosuchcategory",
        "ACL CAT read extra",
        "ACL GENPASS 0",
        "ACL GENPASS 4097",
        "ACL GENPASS notanumber",
        "ACL LOG notanumber",
        "ACL HELP",
        "ACL NOSUCH",
        "ACL LOAD",
        "ACL SAVE",
    ]);
    assert_replies_match_redis(&[], &lines);
}

#[test]
fn genpass_gives_hex_of_the_requested_length() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    for (bits, chars) in [(256, 64), (1, 1), (5, 2), (4096, 1024)] {
        let reply = c.cmd_str(&format!("ACL GENPASS {bits}"));
        let body = common::bulk_body(&reply);
        assert_eq!(body.len(), chars, "{reply}");
        assert!(body.bytes().all(|b| b.is_ascii_hexdigit()), "{reply}");
    }
}

/// Every category lists the same commands as Redis's, among the commands ferrodis has (the
/// table's ACL categories are checked row by row in tests/command_table.rs through COMMAND
/// INFO; this checks ACL CAT reads them, subcommands included). Redis lists in hash order.
#[test]
fn acl_cat_of_every_category_matches_redis() {
    if !require_redis_server() {
        return;
    }
    let ours = TestServer::start(&[]);
    let real = RealRedis::start(&[]);
    let (mut a, mut b) = (ours.raw(), real.raw());
    let names = |c: &mut RawConn, line: &str| -> Vec<String> {
        let reply = c.cmd_str(line);
        let mut pos = 0;
        let mut list: Vec<String> = common::parse_resp(reply.as_bytes(), &mut pos)
            .as_list()
            .iter()
            .map(|n| n.as_str().to_string())
            .collect();
        list.sort();
        list
    };
    let categories = names(&mut b, "ACL CAT");
    assert_eq!(names(&mut a, "ACL CAT"), categories);
    let all_ours: Vec<String> = categories
        .iter()
        .flat_map(|cat| names(&mut a, &format!("ACL CAT {cat}")))
        .collect();
    // DELETE and FLUSH are ferrodis's aliases of DEL and FLUSHDB; CLIENT NO-TOUCH and
    // SETINFO come from Redis 7.2.
    let extra = ["delete", "flush", "client|no-touch", "client|setinfo"];
    for cat in &categories {
        let line = format!("ACL CAT {cat}");
        let ours: Vec<String> = names(&mut a, &line)
            .into_iter()
            .filter(|n| !extra.contains(&n.as_str()))
            .collect();
        let theirs: Vec<String> = names(&mut b, &line)
            .into_iter()
            .filter(|n| all_ours.contains(n))
            .collect();
        assert_eq!(ours, theirs, "ACL CAT {cat}");
    }
}

#[test]
fn noperm_texts_and_auth_errors_match_redis() {
    let mut lines = SETUP.to_vec();
    lines.extend([
        "ACL SETUSER alice +multi +exec +discard",
        "AUTH x",
        "AUTH alice wrong",
        "AUTH nobody pw",
        "AUTH carol anything",
        "AUTH a b c",
        "HELLO 2 AUTH alice wrong",
        "AUTH alice pw",
        "ACL WHOAMI",
        "HGET x f",
        "HGET obj:1 f",
        "SET obj:1 v",
        "HSET obj:1 f v",
        "PUBLISH other m",
        "PUBLISH chan1 m",
        "CLIENT KILL ID 1",
        "MULTI",
        "HGET x f",
        "HGET obj:1 f",
        "EXEC",
        "MULTI",
        "HGET obj:1 f",
        "EXEC",
        "AUTH bob x",
        "SET w1 v",
        "GET w1",
        "GET r1",
        "SET r1 v",
        "SET sel1 v",
        "LPUSH sel1 v",
        "SORT r1",
        "SORT rw1 BY rw*",
        "SORT rw1 GET #",
        "SORT rw1 BY nosort",
        "FLUSHALL",
        "AUTH default anything",
        "ACL WHOAMI",
    ]);
    assert_replies_match_redis(&[], &lines);
}

/// Permissions are checked again at EXEC, and from scripts, with their own texts.
#[test]
fn exec_and_script_permission_errors_match_redis() {
    if !require_redis_server() {
        return;
    }
    let ours = TestServer::start(&[]);
    let real = RealRedis::start(&[]);
    let transcript = |port: u16| -> Vec<String> {
        let mut admin = RawConn::connect(port);
        let mut user = RawConn::connect(port);
        vec![
            admin.cmd_str("ACL SETUSER eve on nopass ~* &* +@all"),
            user.cmd_str("AUTH eve x"),
            user.cmd_str("MULTI"),
            user.cmd_str("SET k v"),
            user.cmd_str("PUBLISH ch m"),
            user.cmd_str("GET k"),
            admin.cmd_str("ACL SETUSER eve -set resetchannels"),
            user.cmd_str("EXEC"),
            admin.cmd_str("ACL SETUSER eve resetkeys ~other"),
            user.cmd_args(&["EVAL", "return redis.pcall('get', 'k')", "0"]),
            user.cmd_args(&["EVAL", "return redis.pcall('set', 'other', 'v')", "0"]),
            user.cmd_args(&["EVAL", "return redis.pcall('publish', 'ch', 'm')", "0"]),
            user.cmd_args(&["EVAL", "return redis.call('get', 'k')", "0"]),
            user.cmd_args(&["EVAL", "return redis.call('get', 'other')", "0"]),
        ]
    };
    assert_eq!(transcript(ours.port), transcript(real.port));
}

/// The ACL LOG fields that do not depend on the connection, newest first.
fn log_fields(c: &mut RawConn) -> Vec<Vec<String>> {
    let reply = c.cmd_str("ACL LOG");
    let mut pos = 0;
    common::parse_resp(reply.as_bytes(), &mut pos)
        .as_list()
        .iter()
        .map(|entry| {
            let fields = entry.as_list();
            let mut kept = Vec::new();
            for pair in fields.chunks(2) {
                let name = pair[0].as_str();
                if ["count", "reason", "context", "object", "username"].contains(&name) {
                    let value = match &pair[1] {
                        common::Resp::Int(n) => n.to_string(),
                        other => other.as_str().to_string(),
                    };
                    kept.push(format!("{name}={value}"));
                }
            }
            kept
        })
        .collect()
}

#[test]
fn acl_log_entries_match_redis() {
    if !require_redis_server() {
        return;
    }
    let ours = TestServer::start(&[]);
    let real = RealRedis::start(&[]);
    let transcript = |port: u16| -> Vec<Vec<String>> {
        let mut admin = RawConn::connect(port);
        let mut user = RawConn::connect(port);
        admin.cmd_str(
            "ACL SETUSER frank on >pw ~key:* resetchannels +get +publish +multi +exec +eval",
        );
        user.cmd_str("AUTH frank wrong");
        user.cmd_str("AUTH frank wrong");
        user.cmd_str("AUTH nobody x");
        user.cmd_str("AUTH frank pw");
        user.cmd_str("SET key:1 v");
        user.cmd_str("GET other");
        user.cmd_str("GET other");
        user.cmd_str("PUBLISH ch m");
        user.cmd_str("MULTI");
        user.cmd_str("GET nokey");
        user.cmd_str("EXEC");
        user.cmd_args(&["EVAL", "return redis.pcall('get', 'luakey')", "0"]);
        let mut entries = log_fields(&mut admin);
        entries.push(vec![admin
            .cmd_str("ACL LOG 2")
            .matches("count")
            .count()
            .to_string()]);
        entries.push(vec![admin.cmd_str("ACL LOG RESET")]);
        entries.push(vec![admin.cmd_str("ACL LOG")]);
        entries
    };
    let ours_log = transcript(ours.port);
    assert_eq!(ours_log, transcript(real.port));
    // Not vacuous: seven distinct denials, two of them twice.
    assert_eq!(ours_log.len(), 7 + 3, "{ours_log:?}");
}

#[test]
fn clients_of_a_deleted_user_are_disconnected() {
    let server = TestServer::start(&[]);
    let mut admin = server.raw();
    let mut user = server.raw();
    assert_eq!(
        admin.cmd_str("ACL SETUSER gone on nopass +@all ~*"),
        "+OK\r\n"
    );
    assert_eq!(user.cmd_str("AUTH gone x"), "+OK\r\n");
    assert!(user.cmd_str("CLIENT INFO").contains(" user=gone "));
    // Changing the user keeps its clients.
    assert_eq!(admin.cmd_str("ACL SETUSER gone -get"), "+OK\r\n");
    assert_eq!(
        user.cmd_str("GET k"),
        "-NOPERM this user has no permissions to run the 'get' command\r\n"
    );
    assert_eq!(admin.cmd_str("ACL DELUSER gone"), ":1\r\n");
    assert_eq!(user.read_to_close(), b"");
    // A client deleting its own user gets the reply, then is closed.
    assert_eq!(
        admin.cmd_str("ACL SETUSER self on nopass +@all ~*"),
        "+OK\r\n"
    );
    assert_eq!(admin.cmd_str("AUTH self x"), "+OK\r\n");
    admin.send_str("ACL DELUSER self");
    assert_eq!(admin.read_to_close(), b":1\r\n");
}

#[test]
fn requirepass_is_the_default_users_password() {
    let server = TestServer::start(&["--requirepass", "s3cret"]);
    let mut c = server.raw();
    assert_eq!(
        c.cmd_str("ACL WHOAMI"),
        "-NOAUTH Authentication required.\r\n"
    );
    assert_eq!(c.cmd_str("AUTH default s3cret"), "+OK\r\n");
    assert_eq!(
        c.cmd_str("ACL LIST"),
        "*1\r\n$93\r\nuser default on \
         #1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0 ~* &* +@all\r\n"
    );
    assert_eq!(c.cmd_args(&["CONFIG", "SET", "requirepass", ""]), "+OK\r\n");
    let mut fresh = server.raw();
    assert_eq!(fresh.cmd_str("ACL WHOAMI"), bulk("default"));
}

fn bulk(s: &str) -> String {
    common::bulk(s)
}

#[test]
fn aclfile_is_loaded_at_startup_saved_and_loaded_again() {
    let dir = std::env::temp_dir().join(format!("ferrodis-acl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("users.acl");
    std::fs::write(
        &path,
        "user default on nopass ~* &* +@all\nuser reader on >pw ~* resetchannels -@all +get\n",
    )
    .unwrap();
    let server = TestServer::start(&["--aclfile", path.to_str().unwrap()]);
    let mut c = server.raw();
    assert_eq!(
        c.cmd_str("ACL USERS"),
        "*2\r\n$7\r\ndefault\r\n$6\r\nreader\r\n"
    );
    let mut reader = server.raw();
    assert_eq!(reader.cmd_str("AUTH reader pw"), "+OK\r\n");
    assert_eq!(
        c.cmd_str("ACL SETUSER writer on nopass +set ~w*"),
        "+OK\r\n"
    );
    assert_eq!(c.cmd_str("ACL SAVE"), "+OK\r\n");
    let saved = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        saved,
        "user default on nopass ~* &* +@all\n\
         user reader on #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 ~* resetchannels -@all +get\n\
         user writer on nopass ~w* resetchannels -@all +set\n"
    );
    // A bad file changes nothing; a good one replaces every user and disconnects the
    // clients of the users it replaced.
    std::fs::write(
        &path,
        "user default on nopass ~* &* +@all\nuser broken +nosuch\n",
    )
    .unwrap();
    let err = c.cmd_str("ACL LOAD");
    assert!(
        err.starts_with("-ERR ") && err.contains("Error in applying operation '+nosuch'"),
        "{err}"
    );
    assert_eq!(
        c.cmd_str("ACL USERS"),
        "*3\r\n$7\r\ndefault\r\n$6\r\nreader\r\n$6\r\nwriter\r\n"
    );
    std::fs::write(&path, saved).unwrap();
    assert_eq!(c.cmd_str("ACL LOAD"), "+OK\r\n");
    assert_eq!(reader.read_to_close(), b"");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn user_directives_define_users_at_startup() {
    let server = TestServer::start(&[
        "--user", "admin", "on", ">adminpw", "~*", "&*", "+@all", "--user", "default", "on",
        "nopass", "~*", "+@all", "-flushdb",
    ]);
    let mut c = server.raw();
    assert_eq!(
        c.cmd_str("FLUSHDB"),
        "-NOPERM this user has no permissions to run the 'flushdb' command\r\n"
    );
    assert_eq!(c.cmd_str("AUTH admin adminpw"), "+OK\r\n");
    assert_eq!(c.cmd_str("FLUSHDB"), "+OK\r\n");
}
