//! A distributed lock with safe release — the fourth use of Redis the seed names.
//!
//! Acquire: `SET lock:<name> <random token> NX PX <lease>` succeeds for exactly one client; the
//! lease frees the lock if its holder dies. Release must only delete the lock *if we still hold
//! it* (our lease may have expired and someone else may hold it now), so it is a compare-and-delete
//! done atomically in Lua:
//!
//! ```lua
//! if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end
//! ```
//!
//! The demo: several workers increment a shared counter with a deliberately non-atomic
//! read-modify-write (GET, then SET), protected by the lock. Without the lock updates would be
//! lost; with it the final count is exact.
//!
//! Run against a server: `cargo run --example lock -- redis://127.0.0.1:6379/`

use redis::RedisResult;
use std::thread;
use std::time::Duration;

const RELEASE: &str =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

pub struct Lock {
    key: String,
    token: String,
}

impl Lock {
    /// Tries until acquired. `token` must be unique per holder.
    pub fn acquire(
        con: &mut redis::Connection,
        name: &str,
        token: String,
        lease_ms: u64,
    ) -> RedisResult<Lock> {
        let key = format!("lock:{name}");
        loop {
            let ok: Option<String> = redis::cmd("SET")
                .arg(&key)
                .arg(&token)
                .arg("NX")
                .arg("PX")
                .arg(lease_ms)
                .query(con)?;
            if ok.is_some() {
                return Ok(Lock { key, token });
            }
            thread::sleep(Duration::from_millis(1));
        }
    }

    /// Releases only if still ours; returns whether it was.
    pub fn release(self, con: &mut redis::Connection) -> RedisResult<bool> {
        let deleted: i64 = redis::Script::new(RELEASE)
            .key(&self.key)
            .arg(&self.token)
            .invoke(con)?;
        Ok(deleted == 1)
    }
}

pub fn run(url: &str) -> RedisResult<()> {
    let client = redis::Client::open(url)?;
    let mut con = client.get_connection()?;
    redis::cmd("DEL")
        .arg("counter")
        .arg("lock:counter")
        .query::<()>(&mut con)?;

    const WORKERS: usize = 4;
    const INCREMENTS: usize = 50;
    let mut handles = Vec::new();
    for w in 0..WORKERS {
        let mut wcon = client.get_connection()?;
        handles.push(thread::spawn(move || -> RedisResult<()> {
            for i in 0..INCREMENTS {
                let lock = Lock::acquire(&mut wcon, "counter", format!("worker-{w}-{i}"), 5_000)?;
                // Non-atomic on purpose: only the lock makes this safe.
                let n: i64 = redis::cmd("GET")
                    .arg("counter")
                    .query::<Option<i64>>(&mut wcon)?
                    .unwrap_or(0);
                redis::cmd("SET")
                    .arg("counter")
                    .arg(n + 1)
                    .query::<()>(&mut wcon)?;
                assert!(lock.release(&mut wcon)?, "we still held the lock");
            }
            Ok(())
        }));
    }
    for h in handles {
        h.join().expect("worker thread")?;
    }
    let total: i64 = redis::cmd("GET").arg("counter").query(&mut con)?;
    assert_eq!(total, (WORKERS * INCREMENTS) as i64, "no update was lost");

    // Safe release: a holder whose lease expired must not delete the new holder's lock.
    let stale = Lock::acquire(&mut con, "job", "old-holder".into(), 50)?;
    thread::sleep(Duration::from_millis(100));
    let current = Lock::acquire(&mut con, "job", "new-holder".into(), 5_000)?;
    assert!(!stale.release(&mut con)?, "a stale token does not release");
    let holder: String = redis::cmd("GET").arg("lock:job").query(&mut con)?;
    assert_eq!(holder, "new-holder");
    assert!(current.release(&mut con)?);
    println!("lock example: ok (counter = {total})");
    Ok(())
}

#[allow(dead_code)]
fn main() -> RedisResult<()> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "redis://127.0.0.1:6379/".into());
    run(&url)
}
