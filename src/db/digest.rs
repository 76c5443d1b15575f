//! The dataset digest of `DEBUG DIGEST` and `DEBUG DIGEST-VALUE` (Redis: `debug.c`,
//! `xorDigest`, `mixDigest`, `xorObjectDigest`, `computeDatasetDigest`).
//!
//! Computed exactly as Redis computes it, so that the same data gives the same 40 hex digits
//! on both servers: this is how Redis's own tests (and ferrodis's interop tests) prove that a
//! reload, a replica or a file written by the other server holds identical data.
//!
//! Two ways of adding bytes to a 20-byte digest `d`:
//!
//! ```text
//!   xor(d, data):  d ^= SHA1(data)             order-free: xor(a) then xor(b) == xor(b) then xor(a)
//!   mix(d, data):  d = SHA1(d ^ SHA1(data))    ordered: feeds the digest back in
//! ```
//!
//! Unordered collections (the keyspace itself, sets, hashes, sorted sets) xor their elements'
//! digests; ordered ones (a list, the bytes of a string) mix. A key's digest starts from zero:
//! mix the key, mix its Redis object type as a big-endian u32, then its value; a key with a
//! TTL xors in the string `!!expire!!` (the time itself is left out, so two servers that loaded
//! the same data at different moments agree). Each database mixes its index into the final
//! digest before the xor of its keys. Encodings never matter: a listpack hash and a hash
//! table with the same pairs digest the same.

use super::value::Value;
use super::Db;
use crate::types::list::Elem;
use crate::types::stream::StreamId;
use crate::util::{format_double, write_i64, I64_BUF};

/// A SHA1-sized digest.
pub type Digest = [u8; 20];

fn sha1(data: &[u8]) -> Digest {
    sha1_smol::Sha1::from(data).digest().bytes()
}

/// `d ^= SHA1(data)` (Redis: `xorDigest`).
fn xor_digest(d: &mut Digest, data: &[u8]) {
    for (byte, h) in d.iter_mut().zip(sha1(data)) {
        *byte ^= h;
    }
}

/// `d = SHA1(d ^ SHA1(data))` (Redis: `mixDigest`).
fn mix_digest(d: &mut Digest, data: &[u8]) {
    xor_digest(d, data);
    *d = sha1(d);
}

/// The object type number Redis hashes (`OBJ_STRING` ... `OBJ_HASH`).
fn object_type(value: &Value) -> u32 {
    match value {
        Value::Str(_) => 0,
        Value::List(_) => 1,
        Value::Set(_) => 2,
        Value::ZSet(_) => 3,
        Value::Hash(_) => 4,
        Value::Stream(_) => 6,
    }
}

/// Adds one value to `d` (Redis: `xorObjectDigest`).
fn mix_value(d: &mut Digest, value: &Value, has_expire: bool) {
    mix_digest(d, &object_type(value).to_be_bytes());
    match value {
        Value::Str(s) => mix_digest(d, s),
        Value::List(list) => {
            for elem in list.iter() {
                match elem {
                    Elem::Str(s) => mix_digest(d, s),
                    Elem::Int(n) => mix_digest(d, write_i64(n, &mut [0u8; I64_BUF])),
                }
            }
        }
        Value::Set(set) => {
            for member in set.iter() {
                member.with_bytes(|b| xor_digest(d, b));
            }
        }
        Value::ZSet(zset) => {
            for (member, score) in zset.iter() {
                let mut element = [0u8; 20];
                mix_digest(&mut element, member);
                mix_digest(&mut element, format_double(score).as_bytes());
                xor_digest(d, &element);
            }
        }
        Value::Hash(hash) => {
            for (field, value) in hash.iter() {
                let mut element = [0u8; 20];
                mix_digest(&mut element, field);
                mix_digest(&mut element, value);
                xor_digest(d, &element);
            }
        }
        // Entries in order: the ID as `<ms>.<seq>`, then each field and value (consumer
        // groups are not part of the digest, as in Redis).
        Value::Stream(stream) => {
            stream.range(StreamId::MIN, StreamId::MAX, false, |entry| {
                let id = format!("{}.{}", entry.id.ms, entry.id.seq);
                mix_digest(d, id.as_bytes());
                for (field, value) in entry.pairs() {
                    mix_digest(d, field);
                    mix_digest(d, &value);
                }
                true
            });
        }
    }
    if has_expire {
        xor_digest(d, b"!!expire!!");
    }
}

/// `DEBUG DIGEST-VALUE key`: the digest of one key's value (zero when the key is missing).
/// Logically expired keys still count, as in Redis (a debugging command sees what is stored).
pub fn key_value_digest(db: &Db, key: &[u8]) -> Digest {
    let mut d = [0u8; 20];
    if let Some(obj) = db.dict.get(key) {
        mix_value(&mut d, &obj.value, db.get_expire(key).is_some());
    }
    d
}

/// `DEBUG DIGEST`: the digest of every database (zero when all are empty).
pub fn dataset_digest(dbs: &[Db]) -> Digest {
    let mut digest = [0u8; 20];
    for (index, db) in dbs.iter().enumerate().filter(|(_, db)| !db.is_empty()) {
        mix_digest(&mut digest, &(index as u32).to_be_bytes());
        for (key, obj) in db.dict.iter() {
            let mut d = [0u8; 20];
            mix_digest(&mut d, key);
            mix_value(&mut d, &obj.value, db.get_expire(key).is_some());
            xor_digest(&mut digest, &d);
        }
    }
    digest
}

/// The 40 lowercase hex digits Redis replies with.
pub fn to_hex(d: &Digest) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}
