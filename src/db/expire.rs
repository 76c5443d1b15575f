//! Active expiry (Redis: `expire.c`, `activeExpireCycle`).
//!
//! Lazy expiry alone would leave keys that are never read again in memory forever, so the
//! server also hunts for expired keys in the background, without ever stalling the loop:
//!
//! 1. Every cron tick (`hz` times a second) each database is visited in turn.
//! 2. From a database's `expires` table, `KEYS_PER_LOOP` keys are sampled uniformly at random
//!    (O(1) each, see [`Dict`](crate::types::dict::Dict)) and the expired ones are deleted.
//! 3. If more than `ACCEPTABLE_STALE_PERCENT` of the sample was expired, the database probably
//!    holds many more, so sampling repeats at once; otherwise the cycle moves on.
//! 4. The whole cycle stops when its time budget (a quarter of the cron period, as Redis's
//!    `ACTIVE_EXPIRE_CYCLE_SLOW_TIME_PERC`) is used, and resumes from the next database next tick.
//!
//! The effect is adaptive: a keyspace with few expired keys costs a couple of samples per tick,
//! one with millions expiring at once gets up to 25% of the CPU until the backlog is gone, and in
//! any case memory held by expired keys stays below ~10% of the volatile keys.

use super::{Db, Ms};
use rand::Rng;
use std::time::{Duration, Instant};

const KEYS_PER_LOOP: usize = 20;
const ACCEPTABLE_STALE_PERCENT: usize = 10;

/// Where the previous cycle stopped, so that every database gets its turn.
#[derive(Default)]
pub struct ExpireCycleState {
    next_db: usize,
}

/// Runs one active expiry cycle over `dbs` within `budget`. Returns the number of keys removed.
/// Expired keys are appended to each db's `expired_pending` for the notifications layer.
pub fn active_expire_cycle(
    dbs: &mut [Db],
    state: &mut ExpireCycleState,
    now: Ms,
    budget: Duration,
    rng: &mut impl Rng,
) -> usize {
    let started = Instant::now();
    let mut removed = 0;
    for _ in 0..dbs.len() {
        let idx = state.next_db % dbs.len();
        state.next_db = state.next_db.wrapping_add(1);
        let db = &mut dbs[idx];
        loop {
            if db.expires.is_empty() {
                break;
            }
            let (expired, sampled) = sample_and_expire(db, now, rng);
            removed += expired;
            if started.elapsed() >= budget {
                return removed;
            }
            if expired * 100 <= sampled * ACCEPTABLE_STALE_PERCENT {
                break;
            }
        }
    }
    removed
}

/// Samples up to KEYS_PER_LOOP volatile keys, deletes the expired ones, and updates the db's
/// average-TTL estimate. Returns (expired, sampled).
fn sample_and_expire(db: &mut Db, now: Ms, rng: &mut impl Rng) -> (usize, usize) {
    let sampled = KEYS_PER_LOOP.min(db.expires.len());
    let mut expired = 0;
    let mut ttl_sum: i64 = 0;
    let mut ttl_samples: i64 = 0;
    for _ in 0..sampled {
        if db.expires.is_empty() {
            break;
        }
        let Some(i) = db.expires.random_index(rng) else {
            break;
        };
        let (key, when) = match db.expires.get_index(i) {
            Some((k, &w)) => (k.clone(), w),
            None => break,
        };
        if when <= now {
            db.delete_expired(&key);
            expired += 1;
        } else {
            ttl_sum += when - now;
            ttl_samples += 1;
        }
    }
    if ttl_samples > 0 {
        // Running average with the same weighting Redis uses (2% of the new sample per loop).
        let avg = ttl_sum / ttl_samples;
        db.stats.avg_ttl = if db.stats.avg_ttl == 0 {
            avg
        } else {
            (db.stats.avg_ttl / 50) * 49 + avg / 50
        };
    }
    (expired, sampled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::value::Value;
    use crate::types::sds::Sds;
    use rand::SeedableRng;

    #[test]
    fn active_cycle_removes_expired_keys_and_keeps_live_ones() {
        let mut dbs = vec![Db::new(0)];
        let db = &mut dbs[0];
        for i in 0..1000 {
            let key = format!("k{i}");
            db.set(key.as_bytes(), Value::Str(Sds::new(b"v")), 0, false);
            // Half expire at t=100, half at t=10_000.
            db.set_expire(key.as_bytes(), if i % 2 == 0 { 100 } else { 10_000 });
        }
        let mut rng = rand::rngs::SmallRng::seed_from_u64(1);
        let mut state = ExpireCycleState::default();
        let mut total = 0;
        for _ in 0..50 {
            total +=
                active_expire_cycle(&mut dbs, &mut state, 200, Duration::from_secs(1), &mut rng);
        }
        // The cycle stops once fewer than 10% of samples are stale, so most (not necessarily all)
        // of the 500 expired keys are gone, and no live key was touched.
        assert!(total >= 400, "removed {total}");
        assert_eq!(dbs[0].len(), 1000 - total);
        assert_eq!(dbs[0].expired_pending.len(), total);
        for i in (1..1000).step_by(2) {
            assert!(dbs[0].dict.contains_key(format!("k{i}").as_bytes()));
        }
    }
}
