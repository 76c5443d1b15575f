//! A read-through cache with TTLs — the first use of Redis the seed names.
//!
//! `get_user` looks in the cache first (`GET cache:user:<id>`); on a miss it loads the record from
//! the slow "database" and stores it with `SET ... EX <ttl>`, so stale entries disappear on their
//! own. Writes invalidate the cached copy with `DEL`.
//!
//! Run against a server: `cargo run --example cache -- redis://127.0.0.1:6379/`

use redis::{Commands, RedisResult};
use std::collections::HashMap;
use std::time::Duration;

/// Stands in for a slow SQL database; counts how often it is queried.
pub struct SlowDatabase {
    users: HashMap<u32, String>,
    pub queries: u32,
}

impl Default for SlowDatabase {
    fn default() -> SlowDatabase {
        let users = (1..=3).map(|id| (id, format!("user-{id}"))).collect();
        SlowDatabase { users, queries: 0 }
    }
}

impl SlowDatabase {
    fn load_user(&mut self, id: u32) -> Option<String> {
        self.queries += 1;
        std::thread::sleep(Duration::from_millis(5)); // a "slow" query
        self.users.get(&id).cloned()
    }

    fn rename_user(&mut self, id: u32, name: &str) {
        self.users.insert(id, name.to_string());
    }
}

/// Read-through: cache hit, or load and cache for `ttl_ms`.
pub fn get_user(
    con: &mut redis::Connection,
    db: &mut SlowDatabase,
    id: u32,
    ttl_ms: u64,
) -> RedisResult<Option<String>> {
    let key = format!("cache:user:{id}");
    if let Some(hit) = con.get::<_, Option<String>>(&key)? {
        return Ok(Some(hit));
    }
    let loaded = db.load_user(id);
    if let Some(name) = &loaded {
        // PX keeps the example fast; a real cache would use EX with minutes.
        redis::cmd("SET")
            .arg(&key)
            .arg(name)
            .arg("PX")
            .arg(ttl_ms)
            .query::<()>(con)?;
    }
    Ok(loaded)
}

/// Write-through invalidation: update the database, drop the cached copy.
pub fn rename_user(
    con: &mut redis::Connection,
    db: &mut SlowDatabase,
    id: u32,
    name: &str,
) -> RedisResult<()> {
    db.rename_user(id, name);
    con.del::<_, ()>(format!("cache:user:{id}"))
}

/// The whole scenario, asserting what a reader should observe.
pub fn run(url: &str) -> RedisResult<()> {
    let mut con = redis::Client::open(url)?.get_connection()?;
    let mut db = SlowDatabase::default();
    let _: () = redis::cmd("DEL")
        .arg("cache:user:1")
        .arg("cache:user:2")
        .query(&mut con)?;

    assert_eq!(
        get_user(&mut con, &mut db, 1, 60_000)?.as_deref(),
        Some("user-1")
    );
    assert_eq!(db.queries, 1, "first read is a miss");
    assert_eq!(
        get_user(&mut con, &mut db, 1, 60_000)?.as_deref(),
        Some("user-1")
    );
    assert_eq!(db.queries, 1, "second read is served from the cache");
    let ttl: i64 = con.pttl("cache:user:1")?;
    assert!(
        ttl > 0 && ttl <= 60_000,
        "cached entries carry a TTL, got {ttl}"
    );

    rename_user(&mut con, &mut db, 1, "renamed")?;
    assert_eq!(
        get_user(&mut con, &mut db, 1, 60_000)?.as_deref(),
        Some("renamed")
    );
    assert_eq!(db.queries, 2, "invalidation forces a reload");

    // A short TTL: the entry expires by itself and the next read goes to the database again.
    get_user(&mut con, &mut db, 2, 100)?;
    std::thread::sleep(Duration::from_millis(200));
    let cached: Option<String> = con.get("cache:user:2")?;
    assert_eq!(cached, None, "expired entries are gone");
    get_user(&mut con, &mut db, 2, 100)?;
    assert_eq!(db.queries, 4);

    assert_eq!(
        get_user(&mut con, &mut db, 99, 60_000)?,
        None,
        "missing rows are not cached"
    );
    println!("cache example: ok ({} database queries)", db.queries);
    Ok(())
}

#[allow(dead_code)]
fn main() -> RedisResult<()> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "redis://127.0.0.1:6379/".into());
    run(&url)
}
