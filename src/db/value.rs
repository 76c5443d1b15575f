//! `Value` and `Object`: what a key maps to (Redis: `robj` in `object.c`).
//!
//! A Redis object is a type tag, an encoding and a pointer. Here the type is the enum variant,
//! strings are stored inline in the variant (an [`Sds`]), and each collection sits behind a `Box`
//! so that every slot of the keyspace has the same small size (24 bytes for the value) whatever the
//! key holds — except hashes and sorted sets, which are built to be two words wide themselves (a
//! boxed listpack buffer or a boxed table) and so need no box of their own. Each collection type chooses its own encodings (listpack, intset, hashtable, ...)
//! inside its own module under `src/types/`.

use crate::types::sds::Sds;
use crate::types::{hash::Hash, list::List, set::Set, zset::ZSet};

/// `Clone` is a deep copy (COPY duplicates a value the way Redis's `dupStringObject`,
/// `listTypeDup`, ... do), so every collection type must implement `Clone`.
#[derive(Clone)]
pub enum Value {
    Str(Sds),
    List(Box<List>),
    /// Not boxed: a `Hash` is two words (see `types::hash`), so a small hash is one allocation.
    Hash(Hash),
    Set(Box<Set>),
    /// Not boxed either: a `ZSet` is two words too (see `types::zset`).
    ZSet(ZSet),
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
        }
    }
}

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

/// A keyspace slot's value: the data plus the access clock OBJECT IDLETIME / FREQ report
/// (Redis keeps the same 24 bits in `robj.lru`).
#[derive(Clone)]
pub struct Object {
    pub value: Value,
    /// Seconds since server start of the last access (LRU clock).
    pub lru: u32,
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
