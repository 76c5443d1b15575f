//! The keyspace: one `Db` per logical database (Redis: `db.c`, `redisDb`).
//!
//! A `Db` is two tables, exactly like Redis's `redisDb`:
//!
//! * `dict`: every key -> its [`Object`] (value + LRU clock);
//! * `expires`: only the keys that have a TTL -> absolute expiry time in Unix milliseconds.
//!
//! Keeping TTLs in their own table means a key without a TTL pays nothing for the feature, and
//! the active expiry cycle ([`expire`]) can sample *only* keys that may expire.
//!
//! **When is a key expired?** A key whose expiry time is `< now` is logically gone (Redis's
//! `keyIsExpired`: `now > when`, so a key lives through its own expiry millisecond); it is physically removed either lazily, the next time a command looks it
//! up ([`Db::expire_if_needed`], Redis's `expireIfNeeded`), or actively by the background cycle.
//! Both paths append the key to `expired_pending`, which the command layer drains after every
//! command to fire `expired` keyspace events and invalidate WATCHes.
//!
//! Time is a parameter: nothing here reads the clock. Commands capture `now` once and pass it in,
//! so a whole command (or a whole Lua script) sees one instant.

pub mod digest;
pub mod evict;
pub mod expire;
pub mod lazyfree;
pub mod value;

use crate::types::dict::Dict;
use crate::types::sds::Sds;
use value::{Object, Value, ValueType};

/// Unix time in milliseconds.
pub type Ms = i64;

/// The key holds another type than the command works on (the command layer answers
/// `WRONGTYPE`).
#[derive(Debug)]
pub struct WrongType;

pub struct Db {
    pub id: usize,
    pub dict: Dict<Object>,
    pub expires: Dict<Ms>,
    /// Keys removed by expiry since the command layer last looked (see module docs).
    pub expired_pending: Vec<Sds>,
    pub stats: DbStats,
    /// While clients are paused (CLIENT PAUSE), until this Unix ms: an expired key reads as
    /// missing but is not deleted, so the dataset stays still. 0: not paused.
    pub expire_paused_until: Ms,
    /// What lookups do with a key whose TTL passed: delete it (a master), or, on a replica,
    /// hide it without deleting (the master sends the DEL), or keep it visible while the
    /// master's own commands run.
    pub expiry_mode: ExpiryMode,
    /// On a writable replica: the keys its own clients gave a TTL. The master never sends
    /// DELs for them, so the replica expires them itself ([`expire::expire_replica_keys`]).
    /// Redis: `slaveKeysWithExpire` (one dict with a bitmap of databases per key).
    pub replica_keys_with_expire: Dict<()>,
}

/// How lazy expiry treats a key whose TTL passed (Redis: the `masterhost` and
/// `current_client == master` cases of `expireIfNeeded`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ExpiryMode {
    /// A master: the key is deleted (and the deletion propagated by the command layer).
    #[default]
    Delete,
    /// A replica serving its clients: the key reads as missing but stays until the master's
    /// DEL arrives, so the replica never diverges from its master. A TTL set in this mode
    /// (by a client of a writable replica) is remembered in `replica_keys_with_expire`.
    Hide,
    /// A replica applying its master's stream: the key is there for the master's commands.
    Keep,
}

/// Counters INFO sums over all databases.
#[derive(Default, Clone, Copy)]
pub struct DbStats {
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub expired_keys: u64,
    /// Sampled average TTL of volatile keys, kept by the active expiry cycle (INFO keyspace).
    pub avg_ttl: i64,
}

impl Db {
    pub fn new(id: usize) -> Db {
        Db {
            id,
            dict: Dict::new(),
            expires: Dict::new(),
            expired_pending: Vec::new(),
            stats: DbStats::default(),
            expire_paused_until: 0,
            expiry_mode: ExpiryMode::Delete,
            replica_keys_with_expire: Dict::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.dict.len()
    }

    pub fn is_empty(&self) -> bool {
        self.dict.is_empty()
    }

    /// Deletes `key` if its TTL has passed. Returns true if the key is (now) expired: gone, or
    /// to be treated as missing though it stays — on a replica ([`ExpiryMode::Hide`]), or while
    /// clients are paused (Redis: `expireIfNeeded`).
    pub fn expire_if_needed(&mut self, key: &[u8], now: Ms) -> bool {
        if self.expires.is_empty() {
            return false;
        }
        match self.expires.get(key) {
            Some(&when) if when < now => match self.expiry_mode {
                ExpiryMode::Delete => {
                    if now > self.expire_paused_until {
                        self.delete_expired(key);
                    }
                    true
                }
                ExpiryMode::Hide => true,
                ExpiryMode::Keep => false,
            },
            _ => false,
        }
    }

    /// Removes a key whose TTL passed and records it for notifications.
    pub(crate) fn delete_expired(&mut self, key: &[u8]) {
        self.expires.remove(key);
        if let Some((k, _)) = self.dict.remove(key) {
            self.stats.expired_keys += 1;
            self.expired_pending.push(k);
        }
    }

    /// Looks a key up for reading: expires it if needed, counts a hit or miss, and refreshes its
    /// LRU clock unless `touch` is false (OBJECT, CLIENT NO-TOUCH). Redis: `lookupKeyRead`.
    pub fn lookup_read(&mut self, key: &[u8], now: Ms, touch: bool) -> Option<&mut Object> {
        let expired = self.expire_if_needed(key, now);
        match self.dict.get_mut(key).filter(|_| !expired) {
            Some(obj) => {
                self.stats.keyspace_hits += 1;
                if touch {
                    evict::touch(obj, now);
                }
                Some(obj)
            }
            None => {
                self.stats.keyspace_misses += 1;
                None
            }
        }
    }

    /// Looks a key up for writing: expires it if needed, no hit/miss accounting.
    /// Redis: `lookupKeyWrite`.
    pub fn lookup_write(&mut self, key: &[u8], now: Ms) -> Option<&mut Object> {
        // A write on a (writable) replica deletes the expired key it finds, as Redis 7.0's
        // `EXPIRE_FORCE_DELETE_EXPIRED`: the new value must not be added beside the old one.
        let mode = self.expiry_mode;
        if mode == ExpiryMode::Hide {
            self.expiry_mode = ExpiryMode::Delete;
        }
        let expired = self.expire_if_needed(key, now);
        self.expiry_mode = mode;
        match self.dict.get_mut(key).filter(|_| !expired) {
            Some(obj) => {
                evict::touch(obj, now);
                Some(obj)
            }
            None => None,
        }
    }

    /// [`Db::lookup_read`] (touching the LRU clock), as a `T`: `Ok(None)` for a missing key,
    /// [`WrongType`] for a key of another type. Redis: `lookupKeyRead` + `checkType`.
    pub fn lookup_read_as<T: ValueType>(
        &mut self,
        key: &[u8],
        now: Ms,
    ) -> Result<Option<&T>, WrongType> {
        match self.lookup_read(key, now, true) {
            None => Ok(None),
            Some(obj) => T::of(&obj.value).map(Some).ok_or(WrongType),
        }
    }

    /// [`Db::lookup_write`] as a `T`: `Ok(None)` for a missing key, [`WrongType`] for a key of
    /// another type. Redis: `lookupKeyWrite` + `checkType`.
    pub fn lookup_write_as<T: ValueType>(
        &mut self,
        key: &[u8],
        now: Ms,
    ) -> Result<Option<&mut T>, WrongType> {
        match self.lookup_write(key, now) {
            None => Ok(None),
            Some(obj) => T::of_mut(&mut obj.value).map(Some).ok_or(WrongType),
        }
    }

    /// [`Db::lookup_write_as`], adding `create()` first when the key is missing (Redis:
    /// `hashTypeLookupWriteOrCreate` and the push/add paths of the other types).
    pub fn lookup_write_or_create<T: ValueType>(
        &mut self,
        key: &[u8],
        now: Ms,
        create: impl FnOnce() -> Value,
    ) -> Result<&mut T, WrongType> {
        // Two lookups, because a borrow returned from the first cannot coexist with `add`;
        // the second is a plain probe.
        if self.lookup_write_as::<T>(key, now)?.is_none() {
            self.add(key, create(), now);
        }
        self.dict
            .get_mut(key)
            .and_then(|obj| T::of_mut(&mut obj.value))
            .ok_or(WrongType)
    }

    /// Marks the string at `key` as changed in place: OBJECT ENCODING says `raw` from now on
    /// (see [`Object::raw`]). Redis: `dbUnshareStringValue`.
    pub fn mark_raw(&mut self, key: &[u8]) {
        if let Some(obj) = self.dict.get_mut(key) {
            obj.raw = true;
        }
    }

    /// Does the key exist (after lazy expiry)? Does not count hits or touch the LRU clock.
    pub fn exists(&mut self, key: &[u8], now: Ms) -> bool {
        !self.expire_if_needed(key, now) && self.dict.contains_key(key)
    }

    /// Stores `value` under `key`, replacing any old value. The TTL is cleared unless
    /// `keep_ttl` (SET KEEPTTL). Like Redis's `setKey` (which looks the key up for writing), an
    /// old value whose TTL passed is expired first: it is a deletion of its own (event, stream).
    /// Under an LFU policy an overwritten key keeps its access counter (Redis: `dbSetValue`).
    pub fn set(&mut self, key: &[u8], value: Value, now: Ms, keep_ttl: bool) {
        self.expire_if_needed(key, now);
        let mut obj = Object::new(value, evict::initial_clock(now));
        if let Some(old) = self.dict.get_mut(key) {
            if evict::object_clock().lfu {
                obj.lru = old.lru;
            }
            *old = obj;
            if !keep_ttl && !self.expires.is_empty() {
                self.expires.remove(key);
            }
        } else {
            make_room(&mut self.dict);
            self.dict.insert_new(Sds::new(key), obj);
        }
    }

    /// Adds a key the caller has just checked is absent. Redis: `dbAdd`.
    pub fn add(&mut self, key: &[u8], value: Value, now: Ms) -> &mut Object {
        make_room(&mut self.dict);
        self.dict
            .insert_new(Sds::new(key), Object::new(value, evict::initial_clock(now)))
    }

    /// Removes a key and its TTL, returning the value. Redis: `dbDelete`.
    pub fn remove(&mut self, key: &[u8]) -> Option<Value> {
        let (_, obj) = self.dict.remove(key)?;
        if !self.expires.is_empty() {
            self.expires.remove(key);
        }
        Some(obj.value)
    }

    /// Removes a key and hands back its object and TTL untouched (RENAME and MOVE re-add them
    /// elsewhere, keeping the LRU clock, as Redis moves the same `robj`).
    pub fn take(&mut self, key: &[u8]) -> Option<(Object, Option<Ms>)> {
        let (_, obj) = self.dict.remove(key)?;
        let ttl = if self.expires.is_empty() {
            None
        } else {
            self.expires.remove(key).map(|(_, when)| when)
        };
        Some((obj, ttl))
    }

    /// Adds an object, with an optional TTL, under a key the caller has checked is absent.
    pub fn add_object(&mut self, key: &[u8], obj: Object, expire: Option<Ms>) {
        self.dict.insert_new(Sds::new(key), obj);
        if let Some(when) = expire {
            self.set_expire(key, when);
        }
    }

    /// Exchanges the keys (and TTLs) of two databases; their ids stay put (SWAPDB).
    /// Redis: `dbSwapDatabases`. The replica's own TTL keys of both are forgotten, as
    /// Redis's SWAPDB flushes that list.
    pub fn swap_contents(&mut self, other: &mut Db) {
        self.replica_keys_with_expire.clear();
        other.replica_keys_with_expire.clear();
        std::mem::swap(&mut self.dict, &mut other.dict);
        std::mem::swap(&mut self.expires, &mut other.expires);
        std::mem::swap(&mut self.stats.avg_ttl, &mut other.stats.avg_ttl);
    }

    /// Bytes of the keyspace tables that hold no entry and will be reused by the next keys
    /// added (see [`Dict::spare_bytes`]).
    pub fn spare_table_bytes(&self) -> usize {
        self.dict.spare_bytes() + self.expires.spare_bytes()
    }

    /// Sets an absolute expiry time on an existing key. On a replica, a TTL its own client
    /// set is remembered for [`expire::expire_replica_keys`] (Redis: `setExpire`, which calls
    /// `rememberSlaveKeyWithExpire` for a writable replica's non-master client; a read-only
    /// replica's clients cannot write, and the master's stream and RDB run in another mode).
    pub fn set_expire(&mut self, key: &[u8], when: Ms) {
        debug_assert!(self.dict.contains_key(key));
        match self.expires.get_mut(key) {
            Some(t) => *t = when,
            None => {
                make_room(&mut self.expires);
                self.expires.insert_new(Sds::new(key), when);
            }
        }
        if self.expiry_mode == ExpiryMode::Hide && !self.replica_keys_with_expire.contains_key(key)
        {
            self.replica_keys_with_expire.insert_new(Sds::new(key), ());
        }
    }

    /// Removes a key's TTL; true if it had one (PERSIST).
    pub fn remove_expire(&mut self, key: &[u8]) -> bool {
        self.expires.remove(key).is_some()
    }

    pub fn get_expire(&self, key: &[u8]) -> Option<Ms> {
        if self.expires.is_empty() {
            return None;
        }
        self.expires.get(key).copied()
    }

    /// A uniformly random live key. Redis: `dbRandomKey` (which also retries on expired keys).
    pub fn random_key(&mut self, now: Ms, rng: &mut impl rand::Rng) -> Option<Sds> {
        // As Redis's `dbRandomKey` on a master: draw until the key drawn is alive. Every draw
        // that finds an expired key deletes it, so this ends, after at most one draw per
        // expired key (the work lazy expiry would do anyway); giving up earlier would answer
        // nil while live keys remain.
        // On a replica nothing is deleted: after 100 expired draws the last one is returned,
        // as Redis does when every key may be logically expired.
        let mut tries = 100;
        loop {
            if self.dict.is_empty() {
                return None;
            }
            let i = self.dict.random_index(rng)?;
            let key = self.dict.get_index(i).map(|(k, _)| k.clone())?;
            if !self.expire_if_needed(&key, now) {
                return Some(key);
            }
            if self.expiry_mode != ExpiryMode::Delete {
                tries -= 1;
                if tries == 0 {
                    return Some(key);
                }
            }
        }
    }

    /// Empties the database, returning the old contents so the caller may free them lazily.
    pub fn flush(&mut self) -> Vec<(Sds, Object)> {
        self.expires.clear();
        self.replica_keys_with_expire.clear();
        self.dict.take_all()
    }
}

/// Before adding a key: when growing `table` by its usual step would pass `maxmemory`, grows
/// it by 1/64 instead (see [`evict::table_may_grow`]).
fn make_room<V>(table: &mut Dict<V>) {
    let more = table.growth_bytes();
    if more != 0 && !evict::table_may_grow(more) {
        table.reserve_slots((table.len() / 64).max(16));
    }
}

/// The LRU clock stored in each object: Unix seconds in a u32 (enough until 2106). Redis
/// keeps a 24-bit clock that wraps every 194 days (`getLRUClock`); ferrodis has room for
/// the full value, so idle times never need the wrap-around correction of `estimateObjectIdleTime`.
pub fn lru_clock(now: Ms) -> u32 {
    (now / 1000) as u32
}
