//! The seed's client flow and the basics, through the real binary.

mod common;
use common::TestServer;

#[test]
fn ping_set_get_over_raw_resp() {
    let server = TestServer::start(&[]);
    let mut c = server.raw();
    assert_eq!(c.cmd(&[b"PING"]), b"+PONG\r\n");
    assert_eq!(c.cmd(&[b"SET", b"k", b"v"]), b"+OK\r\n");
    assert_eq!(c.cmd(&[b"GET", b"k"]), b"$1\r\nv\r\n");
    assert_eq!(c.cmd(&[b"GET", b"missing"]), b"$-1\r\n");
    assert_eq!(
        c.cmd(&[b"GET"]),
        b"-ERR wrong number of arguments for 'get' command\r\n"
    );
}

#[test]
fn redis_crate_client_round_trips_binary_values() {
    let server = TestServer::start(&[]);
    let mut con = server.client();
    let value: Vec<u8> = vec![0, b'\r', b'\n', 255, 1];
    redis::cmd("SET")
        .arg(b"bin\0key")
        .arg(&value)
        .query::<()>(&mut con)
        .unwrap();
    let got: Vec<u8> = redis::cmd("GET").arg(b"bin\0key").query(&mut con).unwrap();
    assert_eq!(got, value);
}
