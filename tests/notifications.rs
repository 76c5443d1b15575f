//! Keyspace notifications (`notify-keyspace-events`) through the real binary.

mod common;
use common::{bulk, pmessage, RawConn, TestServer};
use std::time::Duration;

/// A connection subscribed to every keyspace and keyevent channel.
fn listener(server: &TestServer) -> RawConn {
    let mut c = server.raw();
    c.send_cmd(&[b"PSUBSCRIBE", b"__key*__:*"]);
    c.read_reply();
    c
}

/// Reads the pair of messages one event produces with `KE` enabled: the keyspace message (the
/// event on the key's channel), then the keyevent message (the key on the event's channel).
fn assert_event_pair(l: &mut RawConn, key: &str, event: &str) {
    assert_eq!(
        l.reply_str(),
        pmessage("__key*__:*", &format!("__keyspace@0__:{key}"), event)
    );
    assert_eq!(
        l.reply_str(),
        pmessage("__key*__:*", &format!("__keyevent@0__:{event}"), key)
    );
}

#[test]
fn writes_publish_keyspace_and_keyevent_messages() {
    let server = TestServer::start(&["--notify-keyspace-events", "KEA"]);
    let mut l = listener(&server);
    let mut c = server.raw();
    c.cmd_str("SET k v");
    assert_event_pair(&mut l, "k", "set");
    c.cmd_str("DEL k nokey");
    assert_event_pair(&mut l, "k", "del");
    // SET with a TTL is a `set` and then an `expire`.
    c.cmd_str("SET t v EX 100");
    assert_event_pair(&mut l, "t", "set");
    assert_event_pair(&mut l, "t", "expire");
}

#[test]
fn events_name_the_database_they_happened_in() {
    let server = TestServer::start(&["--notify-keyspace-events", "E$"]);
    let mut l = server.raw();
    l.send_cmd(&[b"SUBSCRIBE", b"__keyevent@5__:set"]);
    l.read_reply();
    let mut c = server.raw();
    c.cmd_str("SET in-db-0 v");
    c.cmd_str("SELECT 5");
    c.cmd_str("SET in-db-5 v");
    assert_eq!(
        l.reply_str(),
        format!(
            "*3\r\n{}{}{}",
            bulk("message"),
            bulk("__keyevent@5__:set"),
            bulk("in-db-5")
        )
    );
}

#[test]
fn k_and_e_choose_the_channel_families_and_classes_filter_events() {
    // Keyspace channel only, generic class only: DEL is heard, SET is not.
    let server = TestServer::start(&["--notify-keyspace-events", "Kg"]);
    let mut l = listener(&server);
    let mut c = server.raw();
    c.cmd_str("SET k v");
    c.cmd_str("DEL k");
    assert_eq!(
        l.reply_str(),
        pmessage("__key*__:*", "__keyspace@0__:k", "del")
    );
    // The next message proves nothing else was queued in between.
    c.cmd_str("SET k2 v");
    c.cmd_str("DEL k2");
    assert_eq!(
        l.reply_str(),
        pmessage("__key*__:*", "__keyspace@0__:k2", "del")
    );
}

#[test]
fn notifications_are_off_by_default() {
    let server = TestServer::start(&[]);
    let mut l = listener(&server);
    l.send_cmd(&[b"SUBSCRIBE", b"marker"]);
    l.read_reply();
    let mut c = server.raw();
    c.cmd_str("SET k v");
    c.cmd_str("DEL k");
    assert_eq!(c.cmd_str("PUBLISH marker end"), ":1\r\n");
    assert_eq!(
        l.reply_str(),
        format!("*3\r\n{}{}{}", bulk("message"), bulk("marker"), bulk("end"))
    );
}

#[test]
fn a_class_letter_without_k_or_e_publishes_nothing() {
    let server = TestServer::start(&["--notify-keyspace-events", "A"]);
    let mut l = listener(&server);
    l.send_cmd(&[b"SUBSCRIBE", b"marker"]);
    l.read_reply();
    let mut c = server.raw();
    c.cmd_str("SET k v");
    c.cmd_str("PUBLISH marker end");
    assert_eq!(
        l.reply_str(),
        format!("*3\r\n{}{}{}", bulk("message"), bulk("marker"), bulk("end"))
    );
}

#[test]
fn expired_events_fire_for_lazy_and_active_expiry() {
    let server = TestServer::start(&["--notify-keyspace-events", "Ex"]);
    let mut l = server.raw();
    l.send_cmd(&[b"SUBSCRIBE", b"__keyevent@0__:expired"]);
    l.read_reply();
    let expired = |key: &str| {
        format!(
            "*3\r\n{}{}{}",
            bulk("message"),
            bulk("__keyevent@0__:expired"),
            bulk(key)
        )
    };
    let mut c = server.raw();
    // Lazy: the key is read after its TTL passed (likely before the active cycle finds it).
    c.cmd_str("SET lazy v PX 1");
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(c.cmd_str("GET lazy"), "$-1\r\n");
    assert_eq!(l.reply_str(), expired("lazy"));
    // Active: nobody touches the key; the background cycle removes it and fires the event.
    c.cmd_str("SET active v PX 50");
    l.stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    assert_eq!(l.reply_str(), expired("active"));
}
