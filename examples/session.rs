//! A web-session store with sliding expiry — the second use of Redis the seed names.
//!
//! A session is a hash (`HSET session:<id> user alice ...`) with a TTL. Every request that uses
//! the session pushes its expiry forward (`EXPIRE`), in the same MULTI/EXEC as the read, so an
//! active user stays logged in and an idle session disappears by itself.
//!
//! Run against a server: `cargo run --example session -- redis://127.0.0.1:6379/`

use redis::RedisResult;
use std::collections::HashMap;
use std::time::Duration;

pub struct SessionStore {
    con: redis::Connection,
    ttl_ms: u64,
}

impl SessionStore {
    pub fn new(con: redis::Connection, ttl_ms: u64) -> SessionStore {
        SessionStore { con, ttl_ms }
    }

    fn key(id: &str) -> String {
        format!("session:{id}")
    }

    /// Creates a session holding `fields`.
    pub fn create(&mut self, id: &str, fields: &[(&str, &str)]) -> RedisResult<()> {
        let key = Self::key(id);
        redis::pipe()
            .atomic()
            .cmd("DEL")
            .arg(&key)
            .ignore()
            .cmd("HSET")
            .arg(&key)
            .arg(fields)
            .ignore()
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(self.ttl_ms)
            .ignore()
            .query(&mut self.con)
    }

    /// Reads a session and slides its expiry forward; None if it expired.
    pub fn touch(&mut self, id: &str) -> RedisResult<Option<HashMap<String, String>>> {
        let key = Self::key(id);
        let (fields, _renewed): (HashMap<String, String>, i64) = redis::pipe()
            .atomic()
            .cmd("HGETALL")
            .arg(&key)
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(self.ttl_ms)
            .query(&mut self.con)?;
        Ok((!fields.is_empty()).then_some(fields))
    }

    pub fn destroy(&mut self, id: &str) -> RedisResult<()> {
        redis::cmd("DEL").arg(Self::key(id)).query(&mut self.con)
    }
}

pub fn run(url: &str) -> RedisResult<()> {
    let con = redis::Client::open(url)?.get_connection()?;
    let mut store = SessionStore::new(con, 300);
    store.create("abc", &[("user", "alice"), ("role", "admin")])?;

    // Active use: touched every 100 ms for well over one TTL, the session survives.
    for _ in 0..8 {
        std::thread::sleep(Duration::from_millis(100));
        let s = store.touch("abc")?.expect("active session stays alive");
        assert_eq!(s.get("user").map(String::as_str), Some("alice"));
    }

    // Idle: after more than one TTL without a touch, it is gone.
    std::thread::sleep(Duration::from_millis(450));
    assert_eq!(store.touch("abc")?, None, "idle session expired");

    store.create("xyz", &[("user", "bob")])?;
    store.destroy("xyz")?;
    assert_eq!(store.touch("xyz")?, None, "logout removes the session");
    println!("session example: ok");
    Ok(())
}

#[allow(dead_code)]
fn main() -> RedisResult<()> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "redis://127.0.0.1:6379/".into());
    run(&url)
}
