//! Active expiry (Redis 7.0: `expire.c`, `activeExpireCycle`).
//!
//! Lazy expiry alone would leave keys that are never read again in memory forever, so the
//! server also hunts for expired keys in the background, without ever stalling the loop.
//! Redis 6+ does this with a *cursor sweep* of each database's `expires` table rather than with
//! random samples: random sampling finds the last few expired keys of a big table only by luck
//! (a key has a 20/N chance per round), while a sweep visits every key with a TTL in bounded
//! time, so each expired key is reclaimed within one sweep.
//!
//! ```text
//!   cron (hz/s): SLOW cycle, budget 25% (+2% per effort step) of the cron period
//!   before_sleep: FAST cycle, 1 ms (+25% per effort step), only when the last cycle ran out of
//!                 time or the stale estimate is above the acceptable percentage, and at most
//!                 once per two fast-cycle durations
//!
//!   for each database, round robin from where the previous cycle stopped:
//!     repeat:
//!       visit the next `keys_per_loop` keys of `expires` from the db's cursor (looking at no
//!       more than 20 slots per key, so a sparse region cannot make one step long);
//!       delete the expired ones, average the TTL of the others into the db's `avg_ttl`
//!     while more than `acceptable_stale` % of the visited keys were expired
//!     (every 16 rounds: stop everything once the time budget is used, and remember it)
//!   stale estimate = 5% of this cycle's expired/visited + 95% of the previous estimate
//! ```
//!
//! `active-expire-effort` (1-10; Redis rescales it to 0-9) scales the parameters: keys per
//! loop `20 + 5*e`, fast cycle `1000 + 250*e` µs, slow CPU share `25 + 2*e` %, acceptable stale
//! keys `10 - e` %. A cycle that ends on its time limit makes the next one visit every
//! database and allows the fast cycle to run in between cron ticks.
//!
//! The cursor is [`Dict::scan`](crate::types::dict::Dict::scan)'s slot cursor, one per database,
//! kept here. Deleting entries behind or under the cursor never makes the sweep miss a key (see
//! the `Dict` module comment). Redis also skips a table under 1% full (its buckets would be
//! mostly empty); `Dict` compacts itself below 25%, so that case does not arise.
//!
//! Deleted keys go to the database's `expired_pending`; the caller hands them to the command
//! layer (`command::key_expired`) for events, WATCH and propagation.

use super::{Db, Ms};
use std::time::{Duration, Instant};

const KEYS_PER_LOOP: u64 = 20;
const FAST_DURATION_US: u64 = 1000;
const SLOW_TIME_PERC: u64 = 25;
const ACCEPTABLE_STALE: u64 = 10;
/// Slots looked at per key wanted in one loop (Redis: `max_buckets = num*20`).
const SLOTS_PER_KEY: u64 = 20;
/// Databases visited per cycle unless the previous one ran out of time (Redis:
/// `CRON_DBS_PER_CALL`).
const DBS_PER_CALL: usize = 16;

/// Which of the two cycles runs: from cron, or the short one from `before_sleep`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CycleKind {
    Slow,
    Fast,
}

/// What persists between cycles (Redis keeps these in `static` locals and `server.stat_*`).
#[derive(Default)]
pub struct ExpireCycleState {
    /// The next database to visit.
    next_db: usize,
    /// The previous cycle stopped on its time limit.
    timelimit_exit: bool,
    /// When the last fast cycle started.
    last_fast_cycle: Option<Instant>,
    /// Each database's sweep cursor over its `expires` table (a [`Dict::scan`] cursor).
    ///
    /// [`Dict::scan`]: crate::types::dict::Dict::scan
    cursors: Vec<u64>,
    /// Estimated share (0-1) of keys with a TTL that are expired but not yet removed
    /// (INFO `expired_stale_perc`).
    pub stale_perc: f64,
    /// Cycles that ended on their time limit (INFO `expired_time_cap_reached_count`).
    pub time_cap_reached_count: u64,
    /// Time spent in cycles (INFO `expire_cycle_cpu_milliseconds`).
    pub time_used: Duration,
}

impl ExpireCycleState {
    /// CONFIG RESETSTAT (Redis: `resetServerStats`).
    pub fn reset_stats(&mut self) {
        self.stale_perc = 0.0;
        self.time_cap_reached_count = 0;
        self.time_used = Duration::ZERO;
    }
}

/// The parameters `active-expire-effort` (1-10) selects.
struct Effort {
    keys_per_loop: u64,
    fast_duration: Duration,
    slow_time_perc: u64,
    acceptable_stale: u64,
}

impl Effort {
    fn new(effort: u32) -> Effort {
        let e = u64::from(effort.clamp(1, 10) - 1);
        Effort {
            keys_per_loop: KEYS_PER_LOOP + KEYS_PER_LOOP / 4 * e,
            fast_duration: Duration::from_micros(FAST_DURATION_US + FAST_DURATION_US / 4 * e),
            slow_time_perc: SLOW_TIME_PERC + 2 * e,
            acceptable_stale: ACCEPTABLE_STALE - e,
        }
    }
}

/// Runs one active expiry cycle of `kind` over `dbs` (`effort` is `active-expire-effort`,
/// `hz` the cron frequency). Returns the number of keys removed; each is appended to its
/// database's `expired_pending`.
pub fn active_expire_cycle(
    dbs: &mut [Db],
    state: &mut ExpireCycleState,
    kind: CycleKind,
    effort: u32,
    hz: u32,
    now: Ms,
) -> usize {
    if dbs.is_empty() {
        return 0;
    }
    let cfg = Effort::new(effort);
    // A fast cycle only when there is work the slow one could not finish (tested before
    // reading the clock: this runs every loop turn), and never more often than once per two
    // of its own durations.
    if kind == CycleKind::Fast
        && !state.timelimit_exit
        && state.stale_perc * 100.0 < cfg.acceptable_stale as f64
    {
        return 0;
    }
    let start = Instant::now();
    if kind == CycleKind::Fast {
        if let Some(last) = state.last_fast_cycle {
            if start < last + cfg.fast_duration * 2 {
                return 0;
            }
        }
        state.last_fast_cycle = Some(start);
    }
    let dbs_per_call = if state.timelimit_exit {
        dbs.len()
    } else {
        DBS_PER_CALL.min(dbs.len())
    };
    let timelimit = match kind {
        CycleKind::Fast => cfg.fast_duration,
        CycleKind::Slow => Duration::from_micros(
            (cfg.slow_time_perc * 1_000_000 / u64::from(hz.max(1)) / 100).max(1),
        ),
    };
    state.timelimit_exit = false;
    state.cursors.resize(dbs.len(), 0);

    let (mut total_sampled, mut total_expired) = (0u64, 0u64);
    let mut iteration = 0u64;
    for _ in 0..dbs_per_call {
        if state.timelimit_exit {
            break;
        }
        let idx = state.next_db % dbs.len();
        state.next_db = state.next_db.wrapping_add(1);
        let db = &mut dbs[idx];
        loop {
            iteration += 1;
            if db.expires.is_empty() {
                db.stats.avg_ttl = 0;
                break;
            }
            let step = sweep_step(db, &mut state.cursors[idx], cfg.keys_per_loop, now);
            total_sampled += step.sampled;
            total_expired += step.expired;
            if step.ttl_samples > 0 {
                // Running average: the new sample weighs 2% (Redis does the same).
                let avg = step.ttl_sum / step.ttl_samples;
                if db.stats.avg_ttl == 0 {
                    db.stats.avg_ttl = avg;
                }
                db.stats.avg_ttl = (db.stats.avg_ttl / 50) * 49 + avg / 50;
            }
            // Looking at the clock costs too; every 16 rounds is enough.
            if iteration & 0xf == 0 && start.elapsed() > timelimit {
                state.timelimit_exit = true;
                state.time_cap_reached_count += 1;
                break;
            }
            if step.sampled != 0 && step.expired * 100 / step.sampled <= cfg.acceptable_stale {
                break;
            }
        }
    }
    state.time_used += start.elapsed();
    let current = if total_sampled == 0 {
        0.0
    } else {
        total_expired as f64 / total_sampled as f64
    };
    state.stale_perc = current * 0.05 + state.stale_perc * 0.95;
    total_expired as usize
}

/// A replica does not run the cycle above: its master sends a DEL for every key that
/// expires there. But a *writable* replica's own clients can give keys a TTL the master never
/// heard of; those keys (remembered by [`Db::set_expire`]) are expired here, from cron, by
/// drawing them at random: each draw deletes the key if its TTL passed, or forgets it if it
/// has no TTL any more (or is gone). A cron call stops after finding 4 keys of a database
/// that are not due yet, or after 1 ms. Returns the number of keys removed (appended to
/// `expired_pending`). Redis: `expireSlaveKeys`.
pub fn expire_replica_keys(dbs: &mut [Db], rng: &mut impl rand::Rng, now: Ms) -> usize {
    let start = Instant::now();
    let mut removed = 0;
    let mut cycles = 0u64;
    'dbs: for db in dbs.iter_mut() {
        let mut not_due = 0;
        while let Some(i) = db.replica_keys_with_expire.random_index(rng) {
            let Some((key, _)) = db.replica_keys_with_expire.get_index(i) else {
                break;
            };
            match db.expires.get(key) {
                Some(&when) if when < now => {
                    let key = key.clone();
                    db.replica_keys_with_expire.remove_index(i);
                    db.delete_expired(&key);
                    removed += 1;
                }
                Some(_) => not_due += 1,
                None => {
                    db.replica_keys_with_expire.remove_index(i);
                }
            }
            cycles += 1;
            if cycles.is_multiple_of(64) && start.elapsed() > Duration::from_millis(1) {
                break 'dbs;
            }
            if not_due > 3 {
                break;
            }
        }
    }
    removed
}

/// What one round of the sweep saw.
struct SweepStep {
    sampled: u64,
    expired: u64,
    ttl_sum: i64,
    ttl_samples: i64,
}

/// Visits up to `keys` entries of `db.expires` from `cursor` on (wrapping to the top at the
/// end), looking at no more than `keys * 20` slots; deletes the expired ones.
fn sweep_step(db: &mut Db, cursor: &mut u64, keys: u64, now: Ms) -> SweepStep {
    let mut step = SweepStep {
        sampled: 0,
        expired: 0,
        ttl_sum: 0,
        ttl_samples: 0,
    };
    let max_slots = keys * SLOTS_PER_KEY;
    let mut checked_slots = 0u64;
    let mut expired_keys = Vec::new();
    while step.sampled < keys && checked_slots < max_slots {
        let slots = db.expires.slot_count() as u64;
        let from = if *cursor == 0 || *cursor > slots {
            slots
        } else {
            *cursor
        };
        let want = (keys - step.sampled) as usize;
        *cursor = db.expires.scan(*cursor, want, |key, &when| {
            step.sampled += 1;
            if when < now {
                expired_keys.push(key.clone());
            } else {
                step.ttl_sum += when - now;
                step.ttl_samples += 1;
            }
        });
        // A step that reached slot 0 returns cursor 0; the next one starts from the top.
        checked_slots += (from - *cursor).max(1);
    }
    step.expired = expired_keys.len() as u64;
    for key in expired_keys {
        db.delete_expired(&key);
    }
    step
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::value::Value;
    use crate::types::sds::Sds;

    fn db_with(keys: usize, expiry: impl Fn(usize) -> Ms) -> Vec<Db> {
        let mut dbs = vec![Db::new(0)];
        let db = &mut dbs[0];
        for i in 0..keys {
            let key = format!("k{i}");
            db.set(key.as_bytes(), Value::Str(Sds::new(b"v")), 0, false);
            db.set_expire(key.as_bytes(), expiry(i));
        }
        dbs
    }

    #[test]
    fn slow_cycle_removes_expired_keys_and_keeps_live_ones() {
        // Half expire at t=100, half at t=10_000.
        let mut dbs = db_with(1000, |i| if i % 2 == 0 { 100 } else { 10_000 });
        let mut state = ExpireCycleState::default();
        let removed = active_expire_cycle(&mut dbs, &mut state, CycleKind::Slow, 1, 1, 200);
        // Half of every round is stale, so the sweep goes on through the whole table.
        assert_eq!(removed, 500);
        assert_eq!(dbs[0].len(), 500);
        assert_eq!(dbs[0].expired_pending.len(), 500);
        for i in (1..1000).step_by(2) {
            assert!(dbs[0].dict.contains_key(format!("k{i}").as_bytes()));
        }
        assert!(dbs[0].stats.avg_ttl > 0);
        assert!(
            (state.stale_perc - 0.025).abs() < 0.01,
            "{}",
            state.stale_perc
        );
    }

    #[test]
    fn the_sweep_finds_every_straggler_within_one_pass() {
        // 1 key in 50 expired: under the acceptable 10%, so each cycle does one round of 20
        // keys, yet a pass of ceil(1000/20) cycles visits (and reclaims) all of them.
        let mut dbs = db_with(1000, |i| if i % 50 == 0 { 100 } else { 10_000 });
        let mut state = ExpireCycleState::default();
        let mut removed = 0;
        for _ in 0..50 {
            removed += active_expire_cycle(&mut dbs, &mut state, CycleKind::Slow, 1, 10, 200);
        }
        assert_eq!(removed, 20);
        assert_eq!(dbs[0].expires.len(), 980);
    }

    #[test]
    fn fast_cycle_runs_only_when_keys_are_stale() {
        let mut dbs = db_with(100, |_| 100);
        let mut state = ExpireCycleState::default();
        assert_eq!(
            active_expire_cycle(&mut dbs, &mut state, CycleKind::Fast, 1, 10, 200),
            0
        );
        state.stale_perc = 0.5;
        assert_eq!(
            active_expire_cycle(&mut dbs, &mut state, CycleKind::Fast, 1, 10, 200),
            100
        );
    }

    #[test]
    fn effort_scales_the_parameters() {
        let e1 = Effort::new(1);
        assert_eq!(
            (e1.keys_per_loop, e1.slow_time_perc, e1.acceptable_stale),
            (20, 25, 10)
        );
        assert_eq!(e1.fast_duration, Duration::from_micros(1000));
        let e10 = Effort::new(10);
        assert_eq!(
            (e10.keys_per_loop, e10.slow_time_perc, e10.acceptable_stale),
            (65, 43, 1)
        );
        assert_eq!(e10.fast_duration, Duration::from_micros(3250));
    }
}
