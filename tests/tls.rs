//! TLS (`tls-port`): Debian's `redis-cli --tls` against ferrodis and against redis-server with
//! the same certificates, client-certificate checks (`tls-auth-clients`), pipelining and big
//! transfers through the non-blocking TLS path, and refused settings. The certificates are made
//! for the run with `openssl` (a CA, a server/client certificate it signs, and a client
//! certificate of another CA that must be refused). Replication over TLS (`tls-replication`)
//! is checked between two ferrodis servers and against redis-server on either side.

mod common;

use common::{free_port, require_redis_server, RawConn, RealRedis, TestServer};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// The test certificates, made once per test binary.
fn certs() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("ferrodis-tls-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("cert dir");
        let script = r#"
set -e
ext() { printf "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n"; }
for ca in ca other-ca; do
  openssl genrsa -out $ca.key 2048
  openssl req -x509 -new -nodes -sha256 -key $ca.key -days 30 -subj "/O=ferrodis test/CN=$ca" -out $ca.crt
done
sign() { # name ca
  openssl genrsa -out $1.key 2048
  openssl req -new -sha256 -subj "/O=ferrodis test/CN=localhost" -key $1.key -out $1.csr
  ext > $1.ext
  openssl x509 -req -sha256 -in $1.csr -CA $2.crt -CAkey $2.key -CAcreateserial -days 30 -extfile $1.ext -out $1.crt
}
sign redis ca
sign stranger other-ca
# Signed by the trusted CA but naming nobody (no subjectAltName, another CN): Redis's replica
# checks a master's chain, not its names.
openssl genrsa -out nameless.key 2048
openssl req -new -sha256 -subj "/O=ferrodis test/CN=somewhere-else" -key nameless.key -out nameless.csr
printf "extendedKeyUsage=serverAuth,clientAuth\n" > nameless.ext
openssl x509 -req -sha256 -in nameless.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -extfile nameless.ext -out nameless.crt
"#;
        let out = Command::new("sh")
            .arg("-c")
            .arg(script)
            .current_dir(&dir)
            .output()
            .expect("run openssl (Debian package openssl)");
        assert!(
            out.status.success(),
            "making test certificates failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
}

fn cert(name: &str) -> String {
    certs().join(name).display().to_string()
}

/// The directives that serve TLS on `tls_port` with the test certificates.
fn tls_args(tls_port: u16) -> Vec<String> {
    vec![
        "--tls-port".into(),
        tls_port.to_string(),
        "--tls-cert-file".into(),
        cert("redis.crt"),
        "--tls-key-file".into(),
        cert("redis.key"),
        "--tls-ca-cert-file".into(),
        cert("ca.crt"),
    ]
}

fn start_ferrodis(extra: &[&str]) -> (TestServer, u16) {
    // A plain-text port of its own too (`port 0` with a TLS port means "TLS only", as Redis).
    let port = free_port();
    let mut args = tls_args(port);
    args.extend(["--port".to_string(), free_port().to_string()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    (TestServer::start(&refs), port)
}

/// Which certificate `redis-cli` presents.
#[derive(Clone, Copy)]
enum ClientCert {
    Trusted,
    Stranger,
    None,
}

/// Runs `redis-cli --tls` with `args` (and `stdin`), returning stdout and stderr together.
fn cli(port: u16, who: ClientCert, args: &[&str], stdin: Option<&[u8]>) -> String {
    // A stalled TLS stream must fail the test, not hang it.
    let mut cmd = Command::new("timeout");
    cmd.args(["60", "redis-cli", "-p", &port.to_string()]);
    cmd.args(["--tls", "--cacert", &cert("ca.crt")]);
    match who {
        ClientCert::Trusted => {
            cmd.args(["--cert", &cert("redis.crt"), "--key", &cert("redis.key")])
        }
        ClientCert::Stranger => cmd.args([
            "--cert",
            &cert("stranger.crt"),
            "--key",
            &cert("stranger.key"),
        ]),
        ClientCert::None => &mut cmd,
    };
    cmd.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run redis-cli");
    if let Some(input) = stdin {
        use std::io::Write;
        let mut pipe = child.stdin.take().expect("stdin");
        pipe.write_all(input).expect("feed redis-cli");
    }
    let out = child.wait_with_output().expect("redis-cli output");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn redis_cli_over_tls_gets_the_replies_redis_server_gives() {
    if !require_redis_server() {
        return;
    }
    let (_ferrodis, ferrodis_port) = start_ferrodis(&[]);
    let redis_port = free_port();
    let args = tls_args(redis_port);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let _redis = RealRedis::start(&refs);
    let script = "PING\nSET greeting hello\nGET greeting\nINCR n\nINCRBY n 41\n\
                  RPUSH l a b c\nLRANGE l 0 -1\nHSET h f v\nHGETALL h\nDEL greeting\n\
                  GET greeting\nCONFIG GET tls-auth-clients\nCONFIG GET tls-protocols\n\
                  CONFIG GET tls-session-caching\nCONFIG GET tls-session-cache-size\n\
                  CONFIG SET tls-auth-clients maybe\n";
    let ours = cli(
        ferrodis_port,
        ClientCert::Trusted,
        &[],
        Some(script.as_bytes()),
    );
    let theirs = cli(
        redis_port,
        ClientCert::Trusted,
        &[],
        Some(script.as_bytes()),
    );
    assert!(
        ours.contains("PONG\nOK\nhello\n1\n42\n3\na\nb\nc\n"),
        "{ours}"
    );
    assert_eq!(ours, theirs);
}

#[test]
fn client_certificates_are_checked_as_tls_auth_clients_says() {
    let (_server, port) = start_ferrodis(&[]);
    let ping = |who| cli(port, who, &["PING"], None);
    // yes (the default): a certificate signed by tls-ca-cert-file is required.
    assert_eq!(ping(ClientCert::Trusted), "PONG\n");
    assert!(!ping(ClientCert::None).contains("PONG"));
    assert!(!ping(ClientCert::Stranger).contains("PONG"));
    // no: nobody is asked for one.
    let set = |mode: &str| {
        cli(
            port,
            ClientCert::Trusted,
            &["CONFIG", "SET", "tls-auth-clients", mode],
            None,
        )
    };
    assert_eq!(set("no"), "OK\n");
    assert_eq!(ping(ClientCert::None), "PONG\n");
    // optional: none is fine, a bad one is not.
    assert_eq!(set("optional"), "OK\n");
    assert_eq!(ping(ClientCert::None), "PONG\n");
    assert_eq!(ping(ClientCert::Trusted), "PONG\n");
    assert!(!ping(ClientCert::Stranger).contains("PONG"));
    assert_eq!(set("yes"), "OK\n");
    assert!(!ping(ClientCert::None).contains("PONG"));
}

#[test]
fn pipelines_and_big_values_cross_the_tls_path_whole() {
    let (server, port) = start_ferrodis(&[]);
    // 20,000 pipelined commands, written and answered through rustls's buffers.
    let mut pipe = String::new();
    for i in 0..20_000 {
        pipe.push_str(&format!("SET key:{i} value:{i}\n"));
    }
    let out = cli(
        port,
        ClientCert::Trusted,
        &["--pipe"],
        Some(pipe.as_bytes()),
    );
    assert!(out.contains("errors: 0, replies: 20000"), "{out}");
    assert_eq!(
        cli(port, ClientCert::Trusted, &["GET", "key:19999"], None),
        "value:19999\n"
    );
    // A 6 MB value: many TLS records each way, more than one loop turn's write share.
    let big: String = (0..6_000_000u32)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    assert_eq!(
        cli(
            port,
            ClientCert::Trusted,
            &["-x", "SET", "big"],
            Some(big.as_bytes())
        ),
        "OK\n"
    );
    let back = cli(port, ClientCert::Trusted, &["GET", "big"], None);
    assert_eq!(back.trim_end_matches('\n'), big);
    // The plain-text port of the same server sees the same data.
    let mut plain = server.raw();
    assert_eq!(plain.cmd_str("STRLEN big"), ":6000000\r\n");
    assert_eq!(plain.cmd_str("DBSIZE"), ":20001\r\n");
}

#[test]
fn plain_text_on_the_tls_port_gets_no_reply() {
    let (server, port) = start_ferrodis(&[]);
    let mut raw = RawConn::connect(port);
    raw.send(b"PING\r\n");
    let (reply, _) = raw.read_until_quiet(Duration::from_millis(300));
    assert!(!String::from_utf8_lossy(&reply).contains("PONG"));
    // The server is unharmed.
    assert_eq!(server.raw().cmd_str("PING"), "+PONG\r\n");
    assert_eq!(cli(port, ClientCert::Trusted, &["PING"], None), "PONG\n");
}

#[test]
fn bad_tls_settings_are_refused_and_tls_keeps_serving() {
    let (_server, port) = start_ferrodis(&[]);
    let set = |args: &[&str]| {
        let mut all = vec!["CONFIG", "SET"];
        all.extend_from_slice(args);
        cli(port, ClientCert::Trusted, &all, None)
    };
    assert_eq!(
        set(&["tls-cert-file", "/nonexistent/redis.crt"]),
        "ERR CONFIG SET failed (possibly related to argument 'tls-cert-file') - Unable to \
         update TLS configuration. Check server logs.\n\n"
    );
    assert_eq!(
        set(&["tls-protocols", "TLSv1.5"]),
        "ERR CONFIG SET failed (possibly related to argument 'tls-protocols') - Unable to \
         update TLS configuration. Check server logs.\n\n"
    );
    assert_eq!(
        cli(
            port,
            ClientCert::Trusted,
            &["CONFIG", "GET", "tls-cert-file"],
            None
        ),
        format!("tls-cert-file\n{}\n", cert("redis.crt"))
    );
    assert_eq!(cli(port, ClientCert::Trusted, &["PING"], None), "PONG\n");
    // Only TLS 1.3 from now on: the TLS 1.2 suites are then not offered, and clients still
    // connect (redis-cli negotiates 1.3).
    assert_eq!(set(&["tls-protocols", "TLSv1.3"]), "OK\n");
    assert_eq!(cli(port, ClientCert::Trusted, &["PING"], None), "PONG\n");
}

#[test]
fn a_missing_key_file_stops_startup_with_the_reason() {
    let port = free_port();
    let out = Command::new(env!("CARGO_BIN_EXE_ferrodis-server"))
        .args(["--port", "0", "--save", ""])
        .args(["--tls-port", &port.to_string()])
        .args(["--tls-cert-file", &cert("redis.crt")])
        .args(["--tls-key-file", "/nonexistent/redis.key"])
        .args(["--tls-ca-cert-file", &cert("ca.crt")])
        .output()
        .expect("run ferrodis-server");
    assert!(!out.status.success());
    let log =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("Failed to load private key: /nonexistent/redis.key"),
        "{log}"
    );
}

#[test]
fn config_set_port_and_bind_keep_tls_serving() {
    let (server, tls_port) = start_ferrodis(&["--bind", "127.0.0.1"]);
    let mut plain = server.raw();
    // A new plain port leaves the TLS listener alone ...
    let new_port = free_port();
    assert_eq!(
        plain.cmd_args(&["CONFIG", "SET", "port", &new_port.to_string()]),
        "+OK\r\n"
    );
    assert_eq!(
        cli(tls_port, ClientCert::Trusted, &["PING"], None),
        "PONG\n"
    );
    assert_eq!(RawConn::connect(new_port).cmd_str("PING"), "+PONG\r\n");
    // ... and new bind addresses rebind both, on the same ports.
    assert_eq!(
        plain.cmd_args(&["CONFIG", "SET", "bind", "127.0.0.1 -::1"]),
        "+OK\r\n"
    );
    assert_eq!(
        cli(tls_port, ClientCert::Trusted, &["PING"], None),
        "PONG\n"
    );
    assert_eq!(RawConn::connect(new_port).cmd_str("PING"), "+PONG\r\n");
    assert_eq!(plain.cmd_str("PING"), "+PONG\r\n");
    // Where the machine has IPv6 loopback, both ports now listen there too.
    if std::net::TcpListener::bind("[::1]:0").is_ok() {
        assert!(std::net::TcpStream::connect(("::1", tls_port)).is_ok());
        assert!(std::net::TcpStream::connect(("::1", new_port)).is_ok());
    }
}

/// Waits up to 10 s for the replica on plain `port` to report its master link up.
fn wait_link_up(port: u16) -> bool {
    for _ in 0..100 {
        let info = RawConn::connect(port).cmd_str("INFO replication");
        if info.contains("master_link_status:up") {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// Waits up to 10 s for `GET key` on plain `port` to answer `expected` (a RESP reply).
fn wait_value(port: u16, key: &str, expected: &str) -> String {
    let mut last = String::new();
    for _ in 0..100 {
        last = RawConn::connect(port).cmd_args(&["GET", key]);
        if last == expected {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    last
}

/// A ferrodis replica of `master_port` with `tls-replication yes`, serving plain text only
/// (its own TLS settings are those of its outgoing link), plus `extra` directives.
fn start_tls_replica(master_port: u16, extra: &[&str]) -> TestServer {
    let mut args = tls_args(0);
    args.drain(0..2); // no tls-port of its own
    args.extend(["--port".to_string(), free_port().to_string()]);
    args.extend(["--tls-replication", "yes", "--replicaof", "127.0.0.1"].map(String::from));
    args.push(master_port.to_string());
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    TestServer::start(&refs)
}

#[test]
fn a_replica_with_tls_replication_syncs_from_a_tls_only_master() {
    // The master listens on its TLS port alone: a plain-text link could not even PING it.
    let tls_port = free_port();
    let mut args = tls_args(tls_port);
    args.extend(["--port", "0"].map(String::from));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let _master = TestServer::start(&refs);
    let set = |args: &[&str]| cli(tls_port, ClientCert::Trusted, args, None);
    assert_eq!(set(&["SET", "before", "sync"]), "OK\n");
    let replica = start_tls_replica(tls_port, &[]);
    assert!(wait_link_up(replica.port));
    assert_eq!(
        wait_value(replica.port, "before", "$4\r\nsync\r\n"),
        "$4\r\nsync\r\n"
    );
    // The command stream flows through the TLS link too.
    assert_eq!(set(&["RPUSH", "list", "a", "b", "c"]), "3\n");
    assert_eq!(set(&["SET", "after", "stream"]), "OK\n");
    assert_eq!(
        wait_value(replica.port, "after", "$6\r\nstream\r\n"),
        "$6\r\nstream\r\n"
    );
    let mut raw = replica.raw();
    assert_eq!(
        raw.cmd_str("LRANGE list 0 -1"),
        "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"
    );
    assert_eq!(
        raw.cmd_str("CONFIG GET tls-replication"),
        "*2\r\n$15\r\ntls-replication\r\n$3\r\nyes\r\n"
    );
    // The master sees its replica as a TLS client of the TLS port.
    let info = set(&["INFO", "replication"]);
    assert!(info.contains("connected_slaves:1"), "{info}");
    assert!(info.contains("state=online"), "{info}");
}

#[test]
fn the_masters_chain_is_checked_but_not_its_name() {
    // A certificate from the trusted CA that names neither 127.0.0.1 nor localhost: accepted,
    // as redis-server's replica accepts it.
    let tls_port = free_port();
    let mut args = tls_args(tls_port);
    args[3] = cert("nameless.crt");
    args[5] = cert("nameless.key");
    args.extend(["--port".to_string(), free_port().to_string()]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let master = TestServer::start(&refs);
    assert_eq!(master.raw().cmd_str("SET k named-nothing"), "+OK\r\n");
    let replica = start_tls_replica(tls_port, &[]);
    assert!(wait_link_up(replica.port));
    assert_eq!(
        wait_value(replica.port, "k", "$13\r\nnamed-nothing\r\n"),
        "$13\r\nnamed-nothing\r\n"
    );
    // A replica that trusts another CA refuses the same master: the link never comes up.
    let doubting = start_tls_replica(tls_port, &["--tls-ca-cert-file", &cert("other-ca.crt")]);
    std::thread::sleep(Duration::from_millis(1500));
    let info = doubting.raw().cmd_str("INFO replication");
    assert!(info.contains("master_link_status:down"), "{info}");
    assert_eq!(doubting.raw().cmd_str("GET k"), "$-1\r\n");
}

#[test]
fn the_client_certificate_is_tls_client_cert_file_when_set() {
    let (master, tls_port) = start_ferrodis(&[]);
    assert_eq!(master.raw().cmd_str("SET k v"), "+OK\r\n");
    // A client certificate the master's CA did not sign: the master refuses the link.
    let refused = start_tls_replica(
        tls_port,
        &[
            "--tls-client-cert-file",
            &cert("stranger.crt"),
            "--tls-client-key-file",
            &cert("stranger.key"),
        ],
    );
    std::thread::sleep(Duration::from_millis(1500));
    let info = refused.raw().cmd_str("INFO replication");
    assert!(info.contains("master_link_status:down"), "{info}");
    // With `tls-auth-clients no` on the master, the same replica is let in.
    assert_eq!(
        master.raw().cmd_str("CONFIG SET tls-auth-clients no"),
        "+OK\r\n"
    );
    assert!(wait_link_up(refused.port));
    assert_eq!(wait_value(refused.port, "k", "$1\r\nv\r\n"), "$1\r\nv\r\n");
}

#[test]
fn a_ferrodis_replica_syncs_over_tls_from_redis_server() {
    if !require_redis_server() {
        return;
    }
    let tls_port = free_port();
    let args = tls_args(tls_port);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let master = RealRedis::start(&refs);
    assert_eq!(master.raw().cmd_str("SET k from-redis"), "+OK\r\n");
    let replica = start_tls_replica(tls_port, &[]);
    assert!(wait_link_up(replica.port));
    assert_eq!(
        wait_value(replica.port, "k", "$10\r\nfrom-redis\r\n"),
        "$10\r\nfrom-redis\r\n"
    );
    assert_eq!(master.raw().cmd_str("INCRBY n 7"), ":7\r\n");
    assert_eq!(wait_value(replica.port, "n", "$1\r\n7\r\n"), "$1\r\n7\r\n");
}

#[test]
fn a_redis_server_replica_syncs_over_tls_from_ferrodis() {
    if !require_redis_server() {
        return;
    }
    let (master, tls_port) = start_ferrodis(&[]);
    assert_eq!(master.raw().cmd_str("SET k from-ferrodis"), "+OK\r\n");
    let mut args = tls_args(free_port());
    args.extend(["--tls-replication", "yes", "--replicaof", "127.0.0.1"].map(String::from));
    args.push(tls_port.to_string());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let replica = RealRedis::start(&refs);
    assert!(wait_link_up(replica.port));
    assert_eq!(
        wait_value(replica.port, "k", "$13\r\nfrom-ferrodis\r\n"),
        "$13\r\nfrom-ferrodis\r\n"
    );
    assert_eq!(master.raw().cmd_str("SADD s x"), ":1\r\n");
    let mut members = String::new();
    for _ in 0..100 {
        members = RawConn::connect(replica.port).cmd_str("SMEMBERS s");
        if members != "*0\r\n" {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(members, "*1\r\n$1\r\nx\r\n");
}

/// `openssl rsa -aes256` (OpenSSL 3) writes the key as PKCS#8 "ENCRYPTED PRIVATE KEY",
/// as unit/tls's "Working with an encrypted keyfile" makes it.
fn encrypted_key(pass: &str) -> String {
    let path = certs().join(format!("redis.{pass}.key"));
    let out = Command::new("openssl")
        .args(["rsa", "-in", &cert("redis.key"), "-aes256"])
        .arg("-out")
        .arg(&path)
        .arg("-passout")
        .arg(format!("pass:{pass}"))
        .output()
        .expect("run openssl");
    assert!(out.status.success());
    let text = std::fs::read_to_string(&path).expect("encrypted key");
    assert!(text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    path.display().to_string()
}

#[test]
fn an_encrypted_key_file_needs_tls_key_file_pass() {
    let key = encrypted_key("1234");
    let (server, port) = start_ferrodis(&[]);
    let mut plain = server.raw();
    let refused = "-ERR CONFIG SET failed (possibly related to argument 'tls-key-file') - Unable \
                   to update TLS configuration. Check server logs.\r\n";
    assert_eq!(
        plain.cmd_args(&["CONFIG", "SET", "tls-key-file", &key]),
        refused
    );
    assert_eq!(
        plain.cmd_args(&["CONFIG", "SET", "tls-key-file-pass", "wrong"]),
        "+OK\r\n"
    );
    assert_eq!(
        plain.cmd_args(&["CONFIG", "SET", "tls-key-file", &key]),
        refused
    );
    assert_eq!(
        plain.cmd_args(&["CONFIG", "SET", "tls-key-file-pass", "1234"]),
        "+OK\r\n"
    );
    assert_eq!(
        plain.cmd_args(&["CONFIG", "SET", "tls-key-file", &key]),
        "+OK\r\n"
    );
    assert_eq!(cli(port, ClientCert::Trusted, &["PING"], None), "PONG\n");
    // The replica side: an encrypted client key with tls-client-key-file-pass.
    assert_eq!(plain.cmd_str("SET k v"), "+OK\r\n");
    let client_key = encrypted_key("secret");
    let replica = start_tls_replica(
        port,
        &[
            "--tls-client-cert-file",
            &cert("redis.crt"),
            "--tls-client-key-file",
            &client_key,
            "--tls-client-key-file-pass",
            "secret",
        ],
    );
    assert!(wait_link_up(replica.port));
    assert_eq!(wait_value(replica.port, "k", "$1\r\nv\r\n"), "$1\r\nv\r\n");
}

#[test]
fn a_missing_key_passphrase_stops_startup_with_the_reason() {
    let key = encrypted_key("startup");
    let out = Command::new(env!("CARGO_BIN_EXE_ferrodis-server"))
        .args(["--port", "0", "--save", ""])
        .args(["--tls-port", &free_port().to_string()])
        .args(["--tls-cert-file", &cert("redis.crt")])
        .args(["--tls-key-file", &key])
        .args(["--tls-ca-cert-file", &cert("ca.crt")])
        .output()
        .expect("run ferrodis-server");
    assert!(!out.status.success());
    let log = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        log.contains("the key is encrypted and no passphrase (tls-key-file-pass) is set"),
        "{log}"
    );
}
