//! Choosing keys to evict, and the access clock each object carries (Redis: `evict.c`, the
//! LRU/LFU half of `object.c`).
//!
//! # Why sampling works
//!
//! A true LRU cache keeps every key on a linked list ordered by last access: two pointers per
//! key and a list update on every read. Redis, and ferrodis after it, keeps only a clock in
//! each object (`Object::lru`, in the padding of the struct, so it costs nothing) and
//! *approximates* LRU: to evict, it samples `maxmemory-samples` keys at random and evicts the
//! one idle for longest. With 5 samples that is already close to LRU on real access patterns;
//! the approximation is made much better by the **eviction pool**:
//!
//! ```text
//!   pool (16 entries, ascending score; score = idle ms | 255 - LFU counter | MAX - expiry)
//!   [ k9:120 ][ k3:800 ][ k7:4000 ] ... [ k1:91000 ]   <- best candidate on the right
//!
//!   each eviction:  every non-empty db: sample N keys (all keys or only those with a TTL,
//!                   by policy), insert each whose score beats the pool's worst (or while
//!                   the pool has room), dropping the worst when full;
//!                   then take candidates from the right until one still exists (a key
//!                   deleted since it entered the pool is a "ghost" and is skipped)
//! ```
//!
//! Good candidates found in earlier rounds stay in the pool, so each eviction effectively
//! chooses among far more than N keys, across all databases.
//!
//! # The two clocks in one field
//!
//! * **LRU** (`*-lru`, `noeviction`, ...): Unix seconds of the last access. (Redis keeps a
//!   24-bit clock that wraps every 194 days; the field here has room for the full value.)
//! * **LFU** (`*-lfu`): `minutes (16 bits) << 8 | counter (8 bits)`. The counter is a
//!   logarithmic access count (Morris counter): an access increments it with probability
//!   `1 / ((counter - 5) * lfu-log-factor + 1)`, so 255 means about a million accesses with
//!   the default factor 10; new keys start at 5 so they are not evicted before they had a
//!   chance to be read. It decays by one per `lfu-decay-time` minutes since the stored minute,
//!   applied lazily when the key is read or sampled.
//!
//! Which one an object holds depends on the policy at the time it was touched, as in Redis
//! (switching policies mixes the two for a while). The policy's clock parameters are needed on
//! every key access, deep below the command layer, so they live in a thread-local set from the
//! configuration ([`set_object_clock`]) rather than being threaded through every lookup — the
//! one piece of configuration the data layer reads, as Redis reads `server.maxmemory_policy`.

use super::value::Object;
use super::{lru_clock, Db, Ms};
use crate::types::sds::Sds;
use rand::Rng;
use std::cell::Cell;

/// Candidates kept between evictions (Redis: `EVPOOL_SIZE`).
pub const EVPOOL_SIZE: usize = 16;
/// The LFU counter a new object starts with (Redis: `LFU_INIT_VAL`).
pub const LFU_INIT_VAL: u8 = 5;

/// `maxmemory-policy`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Policy {
    NoEviction,
    AllKeysLru,
    AllKeysLfu,
    AllKeysRandom,
    VolatileLru,
    VolatileLfu,
    VolatileRandom,
    VolatileTtl,
}

impl Policy {
    /// The policy named by a (validated, lowercase) `maxmemory-policy` value.
    pub fn parse(name: &str) -> Policy {
        match name {
            "allkeys-lru" => Policy::AllKeysLru,
            "allkeys-lfu" => Policy::AllKeysLfu,
            "allkeys-random" => Policy::AllKeysRandom,
            "volatile-lru" => Policy::VolatileLru,
            "volatile-lfu" => Policy::VolatileLfu,
            "volatile-random" => Policy::VolatileRandom,
            "volatile-ttl" => Policy::VolatileTtl,
            _ => Policy::NoEviction,
        }
    }

    /// Evicts from every key, not only from keys with a TTL.
    pub fn all_keys(self) -> bool {
        matches!(
            self,
            Policy::AllKeysLru | Policy::AllKeysLfu | Policy::AllKeysRandom
        )
    }

    pub fn is_lfu(self) -> bool {
        matches!(self, Policy::AllKeysLfu | Policy::VolatileLfu)
    }

    fn is_lru(self) -> bool {
        matches!(self, Policy::AllKeysLru | Policy::VolatileLru)
    }

    fn is_random(self) -> bool {
        matches!(self, Policy::AllKeysRandom | Policy::VolatileRandom)
    }
}

/// What the access clock of objects means, from the configuration.
#[derive(Clone, Copy, Debug)]
pub struct ObjectClock {
    /// An LFU policy is selected: objects hold `minutes << 8 | counter`.
    pub lfu: bool,
    pub lfu_log_factor: u32,
    pub lfu_decay_time: u32,
}

impl Default for ObjectClock {
    fn default() -> Self {
        ObjectClock {
            lfu: false,
            lfu_log_factor: 10,
            lfu_decay_time: 1,
        }
    }
}

thread_local! {
    static CLOCK: Cell<ObjectClock> = Cell::new(ObjectClock::default());
    /// xorshift64 state for the LFU counter's coin flips (cheap, and no borrow of the
    /// server's RNG from deep inside a lookup).
    static COIN: Cell<u64> = const { Cell::new(0x9E37_79B9_7F4A_7C15) };
}

thread_local! {
    static MAXMEMORY: Cell<u64> = const { Cell::new(0) };
}

/// Installs `maxmemory` for [`table_may_grow`] (at startup and after CONFIG SET).
pub fn set_maxmemory(bytes: u64) {
    MAXMEMORY.with(|m| m.set(bytes));
}

/// May a keyspace table allocate `more` bytes for its growth? Not when that alone would push
/// used memory over `maxmemory`: growing the table of a full cache would evict many keys to
/// make room for an array that is mostly empty (Redis: `dictExpandAllowed`). The table then
/// grows by a small step instead.
pub fn table_may_grow(more: usize) -> bool {
    let max = MAXMEMORY.with(|m| m.get());
    max == 0 || (crate::alloc::used_memory() as u64).saturating_add(more as u64) <= max
}

/// Installs the clock parameters (at startup and after CONFIG SET).
pub fn set_object_clock(clock: ObjectClock) {
    CLOCK.with(|c| c.set(clock));
}

pub fn object_clock() -> ObjectClock {
    CLOCK.with(|c| c.get())
}

/// LFU's minute clock, 16 bits, wrapping (Redis: `LFUGetTimeInMinutes`).
fn lfu_minutes(now: Ms) -> u32 {
    ((now / 60_000) & 0xffff) as u32
}

/// The clock a new object starts with.
pub fn initial_clock(now: Ms) -> u32 {
    if object_clock().lfu {
        (lfu_minutes(now) << 8) | u32::from(LFU_INIT_VAL)
    } else {
        lru_clock(now)
    }
}

/// Records an access to `obj` (Redis: the `updateLFU` / `LRU_CLOCK()` in `lookupKey`).
pub fn touch(obj: &mut Object, now: Ms) {
    let clock = object_clock();
    if clock.lfu {
        let counter = lfu_log_incr(lfu_decr_and_return(obj.lru, now, &clock), &clock);
        obj.lru = (lfu_minutes(now) << 8) | u32::from(counter);
    } else {
        obj.lru = lru_clock(now);
    }
}

/// Sets an object's LFU counter as of now (RESTORE ... FREQ; Redis: `objectSetLRUOrLFU`).
pub fn set_lfu_counter(obj: &mut Object, counter: u8, now: Ms) {
    obj.lru = (lfu_minutes(now) << 8) | u32::from(counter);
}

/// The LFU counter after the decay due since its last access (OBJECT FREQ; Redis:
/// `LFUDecrAndReturn`). Does not store the decayed value.
pub fn lfu_counter(lru: u32, now: Ms) -> u8 {
    lfu_decr_and_return(lru, now, &object_clock())
}

fn lfu_decr_and_return(lru: u32, now: Ms, clock: &ObjectClock) -> u8 {
    let stored_minutes = lru >> 8;
    let counter = lru & 0xff;
    let now_minutes = lfu_minutes(now);
    let elapsed = if now_minutes >= stored_minutes {
        now_minutes - stored_minutes
    } else {
        0xffff - stored_minutes + now_minutes
    };
    let periods = elapsed.checked_div(clock.lfu_decay_time).unwrap_or(0);
    counter.saturating_sub(periods) as u8
}

/// One logarithmic increment (Redis: `LFULogIncr`).
fn lfu_log_incr(counter: u8, clock: &ObjectClock) -> u8 {
    if counter == 255 {
        return 255;
    }
    let r = COIN.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        (x >> 11) as f64 / (1u64 << 53) as f64
    });
    let base = f64::from(counter.saturating_sub(LFU_INIT_VAL));
    let p = 1.0 / (base * f64::from(clock.lfu_log_factor) + 1.0);
    if r < p {
        counter + 1
    } else {
        counter
    }
}

/// Milliseconds since the last access under LRU (Redis: `estimateObjectIdleTime`). Computed
/// on Redis's 24-bit clock, wrapping as it does: the same figure for real LRU clocks, and the
/// same (meaningless) one as Redis for a clock still in LFU form after a policy switch.
pub fn idle_ms(obj: &Object, now: Ms) -> u64 {
    const LRU_CLOCK_MAX: u64 = (1 << 24) - 1;
    let clock = u64::from(lru_clock(now)) & LRU_CLOCK_MAX;
    let lru = u64::from(obj.lru) & LRU_CLOCK_MAX;
    let seconds = if clock >= lru {
        clock - lru
    } else {
        clock + (LRU_CLOCK_MAX - lru)
    };
    seconds * 1000
}

struct PoolEntry {
    /// Higher is a better candidate.
    score: u64,
    key: Sds,
    db: usize,
}

/// The candidates kept across evictions, ascending by score (Redis: `EvictionPoolLRU`).
#[derive(Default)]
pub struct EvictionPool {
    entries: Vec<PoolEntry>,
    /// Where random eviction looks first, so every database gets its turn.
    next_db: usize,
}

impl EvictionPool {
    /// Samples `samples` keys of database `db_index` and files the good ones (Redis:
    /// `evictionPoolPopulate`).
    fn populate(
        &mut self,
        db_index: usize,
        db: &Db,
        policy: Policy,
        samples: usize,
        now: Ms,
        rng: &mut impl Rng,
    ) {
        let table_len = |all: bool| if all { db.dict.len() } else { db.expires.len() };
        if table_len(policy.all_keys()) == 0 {
            return;
        }
        let picks = if policy.all_keys() {
            db.dict.sample_indices(rng, samples)
        } else {
            db.expires.sample_indices(rng, samples)
        };
        for slot in picks {
            let (key, score) = if policy.all_keys() {
                let Some((key, obj)) = db.dict.get_index(slot) else {
                    continue;
                };
                (key, object_score(obj, policy, now))
            } else {
                let Some((key, &when)) = db.expires.get_index(slot) else {
                    continue;
                };
                let score = if policy == Policy::VolatileTtl {
                    u64::MAX - when.max(0) as u64
                } else {
                    match db.dict.get(key) {
                        Some(obj) => object_score(obj, policy, now),
                        None => continue,
                    }
                };
                (key, score)
            };
            self.insert(score, key, db_index);
        }
    }

    /// Files one candidate, keeping at most [`EVPOOL_SIZE`], ascending.
    fn insert(&mut self, score: u64, key: &Sds, db: usize) {
        let k = self.entries.partition_point(|e| e.score < score);
        if self.entries.len() == EVPOOL_SIZE {
            if k == 0 {
                // Worse than everything in a full pool.
                return;
            }
            // Drop the worst candidate to make room; the new one goes just below `k`.
            self.entries.remove(0);
            self.entries.insert(
                k - 1,
                PoolEntry {
                    score,
                    key: key.clone(),
                    db,
                },
            );
        } else {
            self.entries.insert(
                k,
                PoolEntry {
                    score,
                    key: key.clone(),
                    db,
                },
            );
        }
    }
}

/// The eviction score of an object: idle milliseconds under LRU, inverse frequency under LFU.
fn object_score(obj: &Object, policy: Policy, now: Ms) -> u64 {
    if policy.is_lfu() {
        255 - u64::from(lfu_counter(obj.lru, now))
    } else {
        idle_ms(obj, now)
    }
}

/// Chooses the next key to evict under `policy`, from every database: `(db index, key)`, or
/// None when no key qualifies (no keys at all, or no key with a TTL for `volatile-*`).
/// The caller deletes it (Redis: the selection half of `performEvictions`).
pub fn select_victim(
    dbs: &[Db],
    pool: &mut EvictionPool,
    policy: Policy,
    samples: usize,
    now: Ms,
    rng: &mut impl Rng,
) -> Option<(usize, Sds)> {
    if policy == Policy::NoEviction || dbs.is_empty() {
        return None;
    }
    let table = |db: &Db| {
        if policy.all_keys() {
            db.dict.len()
        } else {
            db.expires.len()
        }
    };
    if policy.is_random() {
        for _ in 0..dbs.len() {
            pool.next_db = pool.next_db.wrapping_add(1);
            let j = pool.next_db % dbs.len();
            let db = &dbs[j];
            if table(db) == 0 {
                continue;
            }
            let key = if policy.all_keys() {
                db.dict
                    .random_index(rng)
                    .and_then(|i| db.dict.get_index(i))?
                    .0
            } else {
                db.expires
                    .random_index(rng)
                    .and_then(|i| db.expires.get_index(i))?
                    .0
            };
            return Some((j, key.clone()));
        }
        return None;
    }
    debug_assert!(policy.is_lru() || policy.is_lfu() || policy == Policy::VolatileTtl);
    loop {
        let mut total = 0;
        for (i, db) in dbs.iter().enumerate() {
            let n = table(db);
            if n != 0 {
                pool.populate(i, db, policy, samples, now, rng);
                total += n;
            }
        }
        if total == 0 {
            return None;
        }
        // Best candidates first; ghosts (deleted since they were filed) are dropped.
        while let Some(entry) = pool.entries.pop() {
            let db = &dbs[entry.db];
            let exists = if policy.all_keys() {
                db.dict.contains_key(&entry.key)
            } else {
                db.expires.contains_key(&entry.key)
            };
            if exists {
                return Some((entry.db, entry.key));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::value::Value;
    use rand::SeedableRng;

    fn string(v: &str) -> Value {
        Value::Str(Sds::new(v.as_bytes()))
    }

    #[test]
    fn lru_evicts_the_longest_idle_key_once_the_pool_has_seen_it() {
        let mut dbs = vec![Db::new(0)];
        for i in 0..100 {
            // key i was last touched at second i: k0 is the oldest.
            dbs[0].set(format!("k{i}").as_bytes(), string("v"), i * 1000, false);
        }
        let mut pool = EvictionPool::default();
        let mut rng = rand::rngs::SmallRng::seed_from_u64(3);
        let mut evicted = Vec::new();
        for _ in 0..50 {
            let (db, key) =
                select_victim(&dbs, &mut pool, Policy::AllKeysLru, 5, 200_000, &mut rng)
                    .expect("a victim");
            dbs[db].remove(&key);
            evicted.push(String::from_utf8_lossy(&key).into_owned());
        }
        // Approximate LRU: the evicted half is mostly the older half.
        let old = evicted
            .iter()
            .filter(|k| k[1..].parse::<usize>().is_ok_and(|i| i < 50))
            .count();
        assert!(
            old >= 40,
            "only {old} of 50 evicted keys were old: {evicted:?}"
        );
    }

    #[test]
    fn volatile_policies_never_pick_a_key_without_ttl() {
        let mut dbs = vec![Db::new(0), Db::new(1)];
        for i in 0..20 {
            dbs[0].set(format!("p{i}").as_bytes(), string("v"), 0, false);
        }
        dbs[1].set(b"t1", string("v"), 0, false);
        dbs[1].set_expire(b"t1", 50_000);
        dbs[1].set(b"t2", string("v"), 0, false);
        dbs[1].set_expire(b"t2", 10_000);
        let mut rng = rand::rngs::SmallRng::seed_from_u64(1);
        for policy in [
            Policy::VolatileLru,
            Policy::VolatileLfu,
            Policy::VolatileRandom,
        ] {
            let mut pool = EvictionPool::default();
            let (db, key) = select_victim(&dbs, &mut pool, policy, 5, 1000, &mut rng).unwrap();
            assert_eq!(db, 1);
            assert!(key.as_bytes().starts_with(b"t"));
        }
        let mut pool = EvictionPool::default();
        let (_, key) =
            select_victim(&dbs, &mut pool, Policy::VolatileTtl, 5, 1000, &mut rng).unwrap();
        assert_eq!(key.as_bytes(), b"t2", "the nearest expiry goes first");
        dbs[1].remove(b"t1");
        dbs[1].remove(b"t2");
        assert!(select_victim(&dbs, &mut pool, Policy::VolatileTtl, 5, 1000, &mut rng).is_none());
        assert!(select_victim(&dbs, &mut pool, Policy::NoEviction, 5, 1000, &mut rng).is_none());
    }

    #[test]
    fn lfu_counter_grows_logarithmically_and_decays_per_minute() {
        let clock = ObjectClock {
            lfu: true,
            ..Default::default()
        };
        set_object_clock(clock);
        let mut obj = Object::new(string("v"), initial_clock(0));
        assert_eq!(lfu_counter(obj.lru, 0), LFU_INIT_VAL);
        for _ in 0..1000 {
            touch(&mut obj, 0);
        }
        let hot = lfu_counter(obj.lru, 0);
        // ~1000 hits with factor 10 land well above 5 and far below 255.
        assert!((15..40).contains(&hot), "counter {hot}");
        assert_eq!(lfu_counter(obj.lru, 3 * 60_000), hot - 3);
        set_object_clock(ObjectClock::default());
    }
}
