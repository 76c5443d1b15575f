//! `Value` and `Object`: what a key maps to (Redis: `robj` in `object.c`).
//!
//! A Redis object is a type tag, an encoding and a pointer. Here the type is the enum variant,
//! strings are stored inline in the variant (an [`Sds`]), and every slot of the keyspace has the
//! same small size (24 bytes for the value) whatever the key holds. Lists, hashes, sets and sorted
//! sets are built to be two words wide themselves (an exact-size listpack or intset buffer, or a
//! boxed table or quicklist), so they sit in the variant with no box of their own and a small
//! collection costs one allocation; only a stream, whose header is several words, is boxed. Each
//! collection type chooses its own encodings (listpack, intset, hashtable, ...) inside its own
//! module under `src/types/`. [`ValueType`] maps each variant to its type, for typed lookups.

use crate::types::sds::Sds;
use crate::types::{hash::Hash, list::List, set::Set, stream::Stream, zset::ZSet};

/// `Clone` is a deep copy (COPY duplicates a value the way Redis's `dupStringObject`,
/// `listTypeDup`, ... do), so every collection type must implement `Clone`.
#[derive(Clone)]
pub enum Value {
    Str(Sds),
    /// Not boxed: a `List` is two words (see `types::list`), so a short list is one allocation.
    List(List),
    /// Not boxed: a `Hash` is two words (see `types::hash`), so a small hash is one allocation.
    Hash(Hash),
    /// Not boxed: a `Set` is two words (see `types::set`), so an intset is one allocation.
    Set(Set),
    /// Not boxed either: a `ZSet` is two words too (see `types::zset`).
    ZSet(ZSet),
    /// Boxed: a stream's header (IDs, counters, node map) is several words.
    Stream(Box<Stream>),
}

impl Value {
    /// The name TYPE replies with.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::Stream(_) => "stream",
        }
    }

    /// The name OBJECT ENCODING replies with, as Redis 7.0 names it.
    pub fn encoding_name(&self) -> &'static str {
        match self {
            Value::Str(s) => string_encoding(s),
            Value::List(l) => l.encoding_name(),
            Value::Hash(h) => h.encoding_name(),
            Value::Set(s) => s.encoding_name(),
            Value::ZSet(z) => z.encoding_name(),
            Value::Stream(_) => "stream",
        }
    }

    /// Approximate bytes owned by this value, for MEMORY USAGE and lazy-free decisions.
    pub fn heap_size(&self) -> usize {
        match self {
            Value::Str(s) => s.heap_size(),
            Value::List(l) => l.heap_size(),
            Value::Hash(h) => h.heap_size(),
            Value::Set(s) => s.heap_size(),
            Value::ZSet(z) => z.heap_size(),
            Value::Stream(s) => s.heap_size(),
        }
    }

    /// A list, hash, set or sorted set with no element left. Redis never keeps one in the
    /// keyspace: the command that removed the last element deletes the key.
    pub fn is_empty_collection(&self) -> bool {
        match self {
            Value::Str(_) => false,
            Value::List(l) => l.is_empty(),
            Value::Hash(h) => h.is_empty(),
            Value::Set(s) => s.is_empty(),
            Value::ZSet(z) => z.is_empty(),
            // An empty stream is a legitimate value (XADD NOMKSTREAM, XGROUP ... MKSTREAM).
            Value::Stream(_) => false,
        }
    }

    /// [`Value::heap_size`] with big collections' elements estimated from `samples` of them
    /// (0: all): MEMORY USAGE's `SAMPLES`, so it costs O(samples) as in Redis.
    pub fn heap_size_sampled(&self, samples: usize) -> usize {
        match self {
            Value::Str(s) => s.heap_size(),
            Value::List(l) => l.heap_size_sampled(samples),
            Value::Hash(h) => h.heap_size_sampled(samples),
            Value::Set(s) => s.heap_size_sampled(samples),
            Value::ZSet(z) => z.heap_size_sampled(samples),
            Value::Stream(s) => s.heap_size(),
        }
    }

    /// Number of elements (1 for a string); Redis frees values above 64 elements in the
    /// background on UNLINK / FLUSH ASYNC.
    pub fn element_count(&self) -> usize {
        match self {
            Value::Str(_) => 1,
            Value::List(l) => l.len(),
            Value::Hash(h) => h.len(),
            Value::Set(s) => s.len(),
            Value::ZSet(z) => z.len(),
            // Redis's free effort for a stream: its nodes and its groups' PELs.
            Value::Stream(s) => s.free_effort(),
        }
    }
}

/// The Rust type behind each kind of value, so that one typed lookup
/// ([`super::Db::lookup_read_as`]) serves every family: the `checkType` that follows Redis's
/// `lookupKeyRead` / `lookupKeyWrite`.
pub trait ValueType {
    fn of(value: &Value) -> Option<&Self>;
    fn of_mut(value: &mut Value) -> Option<&mut Self>;
}

macro_rules! value_type {
    ($type:ty, $variant:ident) => {
        impl ValueType for $type {
            fn of(value: &Value) -> Option<&$type> {
                match value {
                    Value::$variant(v) => {
                        let v: &$type = v;
                        Some(v)
                    }
                    _ => None,
                }
            }

            fn of_mut(value: &mut Value) -> Option<&mut $type> {
                match value {
                    Value::$variant(v) => {
                        let v: &mut $type = v;
                        Some(v)
                    }
                    _ => None,
                }
            }
        }
    };
}

value_type!(Sds, Str);
value_type!(List, List);
value_type!(Hash, Hash);
value_type!(Set, Set);
value_type!(ZSet, ZSet);
value_type!(Stream, Stream);

/// Redis keeps integers that fit a `long` as `int`, strings up to 44 bytes as `embstr`, longer
/// ones as `raw`. We store all three the same way and derive the name the user expects.
pub fn string_encoding(s: &[u8]) -> &'static str {
    if s.len() <= 20 && crate::util::parse_i64(s).is_some() {
        "int"
    } else if s.len() <= 44 {
        "embstr"
    } else {
        "raw"
    }
}

/// A keyspace slot's value: the data plus the access clock OBJECT IDLETIME reports
/// (Redis: the 24-bit `robj.lru` field).
#[derive(Clone)]
pub struct Object {
    pub value: Value,
    /// Unix time in seconds of the last access ([`crate::db::lru_clock`]).
    pub lru: u32,
    /// A string changed in place (APPEND, SETRANGE, SETBIT, PFADD ...), which Redis turns
    /// into a `raw` string whatever its length or content (`dbUnshareStringValue`); OBJECT
    /// ENCODING then says `raw` until the value is replaced. Fits in the struct's padding.
    pub raw: bool,
}

impl Object {
    pub fn new(value: Value, lru: u32) -> Object {
        Object {
            value,
            lru,
            raw: false,
        }
    }

    /// The name OBJECT ENCODING and DEBUG OBJECT report.
    pub fn encoding_name(&self) -> &'static str {
        match self.value {
            Value::Str(_) if self.raw => "raw",
            ref value => value.encoding_name(),
        }
    }

    /// Seconds since the last access (OBJECT IDLETIME, DEBUG OBJECT `lru_seconds_idle`;
    /// Redis: `estimateObjectIdleTime`).
    pub fn idle_seconds(&self, now: super::Ms) -> u64 {
        super::evict::idle_ms(self, now) / 1000
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_three_words() {
        assert_eq!(std::mem::size_of::<Value>(), 24);
        assert!(std::mem::size_of::<Object>() <= 32);
    }
}
