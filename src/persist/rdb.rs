//! The RDB snapshot format of Redis 7.0 (RDB version 10): [`save`] writes the databases into
//! one, [`load`] reads one back. Redis: `rdb.c` (`rdbSaveRio` / `rdbSaveObject` /
//! `rdbLoadRioWithLoadingCtx` / `rdbLoadObject`), `rdb.h` for the numbers.
//!
//! # The format
//!
//! An RDB file is a byte stream with no index: it must be read front to back.
//!
//! ```text
//!   "REDIS" <version: 4 ASCII digits, "0010">
//!   (OP_AUX <name: string> <value: string>)*          redis-ver, redis-bits, ctime, ...
//!   (OP_FUNCTION2 <library code: string>)*            Redis functions (7.0)
//!   ( OP_SELECTDB <db: length>
//!     OP_RESIZEDB <keys: length> <keys with a TTL: length>
//!     ( [OP_EXPIRETIME_MS <unix ms: i64 LE>] [OP_IDLE <seconds: length> | OP_FREQ <u8>]
//!       <type: u8> <key: string> <value: depends on type> )*
//!   )*
//!   OP_EOF <CRC64 of everything before it: u64 LE, 0 if not computed>
//! ```
//!
//! An opcode and a value type share the same byte position: bytes 0..=19 are value types,
//! 245..=255 opcodes.
//!
//! **Lengths** (element counts, string sizes, db numbers) are variable-length: the top two bits
//! of the first byte say `00` six bits follow in that byte, `01` fourteen bits (this byte and the
//! next, big-endian), `10` a full big-endian u32 (`0x80`) or u64 (`0x81`) follows. `11` marks a
//! *special string encoding* instead of a length, in the low six bits: 0/1/2 an 8/16/32-bit
//! little-endian integer that stands for its decimal text, 3 an LZF-compressed string
//! (`<compressed length> <original length> <bytes>`, see [`super::lzf`]).
//!
//! **Strings** (keys, string values, members, and the packed blobs below) are saved as Redis's
//! `rdbSaveRawString` does: a string of at most 11 bytes that is an integer written canonically
//! and fits 32 bits becomes the integer encoding; else, when `rdbcompression` is on and the
//! string is longer than 20 bytes, it is LZF-compressed if that saves at least 4 bytes
//! (compression to at most `len - 4` bytes, else stored plain); else it is `<length> <bytes>`.
//!
//! **Values** by type byte (those 7.0.15 writes in bold):
//!
//! | type | value |
//! |---|---|
//! | **0 string** | a string |
//! | 1 list | count, then each element as a string (before 3.2) |
//! | **2 set** | count, then each member as a string |
//! | 3 zset | count, then member strings and scores as text (`<len u8>` + ASCII; 253 nan, 254 inf, 255 -inf) |
//! | **4 hash** | count of pairs, then field, value strings |
//! | **5 zset_2** | count, then member strings and scores as binary doubles (8 bytes LE), highest score first |
//! | 9 hash zipmap, 10 list ziplist, 12 zset ziplist, 13 hash ziplist | one string holding the blob |
//! | **11 set intset** | one string holding an intset |
//! | 14 list quicklist | count of nodes, then each node as a ziplist string |
//! | **16 hash listpack, 17 zset listpack** | one string holding a listpack (field, value, ... / member, score, ...) |
//! | **18 list quicklist 2** | count of nodes, then per node a container kind (1 plain: one element; 2 packed: a listpack) and a string |
//! | 15 stream, **19 stream 2** | nodes as listpacks, counters, consumer groups and PELs (see `rdb/stream.rs`) |
//! | 6, 7 module | not supported by ferrodis: loading stops with an error naming the key |
//!
//! The blob layouts are described in [`super::blobs`].
//!
//! # Choices
//!
//! ferrodis writes what Redis 7.0.15 writes for the same data: small hashes and sorted sets as
//! listpacks and large ones in full, intsets for integer sets, every list as quicklist 2 with
//! packed nodes of about 8 KB (Redis's default `list-max-listpack-size -2`; node boundaries are
//! ferrodis's own and carry no meaning), the same AUX fields in the same order. Loading rebuilds
//! each value through the types' own insert paths with the configured encoding limits, so a
//! loaded value ends up in the encoding Redis 7.0 would give it, whatever encoding the file used.
//!
//! Loading is a parser over untrusted bytes: every length is checked against what is left of
//! the file before anything is read or allocated for it, every embedded blob is validated whole,
//! duplicates (keys, fields, members) are refused as Redis refuses them, and the first problem
//! ends the load with a [`LoadError`] giving the byte offset and what was expected there. The
//! databases are replaced only when the whole file has been read: a bad file loads nothing.

mod stream;

use super::blobs::{self, Entry, ListpackWriter};
use super::lzf;
use crate::db::value::{Object, Value};
use crate::db::{lru_clock, Db, Ms};
use crate::types::hash::{self, Hash};
use crate::types::list::{Elem, End, List};
use crate::types::sds::Sds;
use crate::types::set::{Member, Set};
use crate::types::zset::{self, ZSet};
use crate::util::{format_double, parse_f64, parse_i64, write_i64, I64_BUF};
use crc::{Crc, Digest, Table, CRC_64_REDIS};
use std::fmt;
use std::io::{self, Read, Write};

/// The RDB version ferrodis writes, and the newest it reads.
pub const RDB_VERSION: u32 = 10;
/// What the `redis-ver` AUX field says: the Redis version whose format and behaviour we follow.
pub const REDIS_VERSION: &str = "7.0.15";

// Opcodes (Redis: `RDB_OPCODE_*`).
const OP_FUNCTION2: u8 = 245;
const OP_FUNCTION_PRE_GA: u8 = 246;
const OP_MODULE_AUX: u8 = 247;
const OP_IDLE: u8 = 248;
const OP_FREQ: u8 = 249;
const OP_AUX: u8 = 250;
const OP_RESIZEDB: u8 = 251;
const OP_EXPIRETIME_MS: u8 = 252;
const OP_EXPIRETIME: u8 = 253;
const OP_SELECTDB: u8 = 254;
const OP_EOF: u8 = 255;

// Value types (Redis: `RDB_TYPE_*`).
const TYPE_STRING: u8 = 0;
const TYPE_LIST: u8 = 1;
const TYPE_SET: u8 = 2;
const TYPE_ZSET: u8 = 3;
const TYPE_HASH: u8 = 4;
const TYPE_ZSET_2: u8 = 5;
const TYPE_MODULE: u8 = 6;
const TYPE_MODULE_2: u8 = 7;
const TYPE_HASH_ZIPMAP: u8 = 9;
const TYPE_LIST_ZIPLIST: u8 = 10;
const TYPE_SET_INTSET: u8 = 11;
const TYPE_ZSET_ZIPLIST: u8 = 12;
const TYPE_HASH_ZIPLIST: u8 = 13;
const TYPE_LIST_QUICKLIST: u8 = 14;
const TYPE_STREAM_LISTPACKS: u8 = 15;
const TYPE_HASH_LISTPACK: u8 = 16;
const TYPE_ZSET_LISTPACK: u8 = 17;
const TYPE_LIST_QUICKLIST_2: u8 = 18;
const TYPE_STREAM_LISTPACKS_2: u8 = 19;

// Length encodings (Redis: `RDB_6BITLEN` ... `RDB_ENC_LZF`).
const LEN_32BIT: u8 = 0x80;
const LEN_64BIT: u8 = 0x81;
const ENC_INT8: u8 = 0;
const ENC_INT16: u8 = 1;
const ENC_INT32: u8 = 2;
const ENC_LZF: u8 = 3;

// Quicklist 2 node containers (Redis: `QUICKLIST_NODE_CONTAINER_*`).
const CONTAINER_PLAIN: u64 = 1;
const CONTAINER_PACKED: u64 = 2;

/// Packed list nodes are closed once they reach this many bytes (Redis's default
/// `list-max-listpack-size -2` is 8 KB per node).
const LIST_NODE_BYTES: usize = 8 * 1024;

/// Redis's checksum: CRC-64/Jones as `crc64.c` computes it (reflected, polynomial
/// 0xad93d23594c935a9, no final xor), `CRC_64_REDIS` in the CRC catalogue. Slice-by-16
/// tables (Redis: `crcspeed`), several times faster than the byte-at-a-time default.
pub static CRC64: Crc<u64, Table<16>> = Crc::<u64, Table<16>>::new(&CRC_64_REDIS);

// =============================================================================================
// Saving.
// =============================================================================================

/// What a save needs beyond the keys.
#[derive(Clone, Debug)]
pub struct SaveOptions {
    /// `rdbcompression`: LZF-compress strings longer than 20 bytes.
    pub compression: bool,
    /// `rdbchecksum`: write the CRC64 (else eight zero bytes, meaning "not computed").
    pub checksum: bool,
    /// Unix time of the save, in ms (the `ctime` AUX field is its seconds).
    pub now_ms: Ms,
    /// Memory in use, for the `used-mem` AUX field.
    pub used_mem: u64,
    /// Write each key's idle time (OP_IDLE), as Redis does under an LRU `maxmemory-policy`, so
    /// that OBJECT IDLETIME survives a restart.
    pub save_idle: bool,
    /// `rdb-key-save-delay`, a testing knob: sleep this many microseconds after each key
    /// (negative -n: one microsecond after every n-th key), so tests can catch a save midway.
    pub key_save_delay_us: i64,
    /// The image is an AOF base file (the `aof-base` AUX field is 1).
    pub aof_base: bool,
    /// Where this server's replication stream stands, saved as the `repl-stream-db`,
    /// `repl-id` and `repl-offset` AUX fields so that a restart (or a replica loading a full
    /// sync) can continue the stream partially; `None` outside any replication chain.
    pub repl: Option<ReplSaveInfo>,
    /// The code of every function library, saved before the keys (Redis: `rdbSaveFunctions`).
    pub functions: Vec<Vec<u8>>,
}

/// The replication position an image carries (Redis: `rdbSaveInfo`, filled by
/// `rdbPopulateSaveInfo`): the database the stream has selected, the stream's id and its
/// offset at the instant of the image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplSaveInfo {
    pub stream_db: usize,
    pub replid: String,
    pub offset: i64,
}

/// Writes the RDB bytes and keeps the running checksum.
struct Writer<W: Write> {
    out: W,
    digest: Option<Digest<'static, u64, Table<16>>>,
    compression: bool,
}

impl<W: Write> Writer<W> {
    fn bytes(&mut self, b: &[u8]) -> io::Result<()> {
        if let Some(d) = &mut self.digest {
            d.update(b);
        }
        self.out.write_all(b)
    }

    fn byte(&mut self, b: u8) -> io::Result<()> {
        self.bytes(&[b])
    }

    /// A length (Redis: `rdbSaveLen`).
    fn len(&mut self, n: u64) -> io::Result<()> {
        if n < 1 << 6 {
            self.byte(n as u8)
        } else if n < 1 << 14 {
            self.bytes(&[0x40 | (n >> 8) as u8, (n & 0xff) as u8])
        } else if n <= u64::from(u32::MAX) {
            self.byte(LEN_32BIT)?;
            self.bytes(&(n as u32).to_be_bytes())
        } else {
            self.byte(LEN_64BIT)?;
            self.bytes(&n.to_be_bytes())
        }
    }

    /// A string, integer-encoded or compressed when Redis would (Redis: `rdbSaveRawString`).
    fn string(&mut self, s: &[u8]) -> io::Result<()> {
        if s.len() <= 11 {
            if let Some(encoded) = int_encoding(s) {
                return self.bytes(&encoded);
            }
        }
        // LZF needs at least a 4-byte gain to be worth it (`rdbSaveLzfStringObject`).
        if self.compression && s.len() > 20 {
            if let Some(compressed) = lzf::compress(s, s.len() - 4) {
                self.byte(0xC0 | ENC_LZF)?;
                self.len(compressed.len() as u64)?;
                self.len(s.len() as u64)?;
                return self.bytes(&compressed);
            }
        }
        self.len(s.len() as u64)?;
        self.bytes(s)
    }

    fn binary_double(&mut self, d: f64) -> io::Result<()> {
        self.bytes(&d.to_le_bytes())
    }
}

/// The special encoding of a canonical integer that fits 32 bits (Redis:
/// `rdbTryIntegerEncoding` + `rdbEncodeInteger`).
fn int_encoding(s: &[u8]) -> Option<Vec<u8>> {
    let n = parse_i64(s)?;
    let mut buf = [0u8; I64_BUF];
    if write_i64(n, &mut buf) != s {
        return None;
    }
    if let Ok(v) = i8::try_from(n) {
        Some(vec![0xC0 | ENC_INT8, v as u8])
    } else if let Ok(v) = i16::try_from(n) {
        let b = v.to_le_bytes();
        Some(vec![0xC0 | ENC_INT16, b[0], b[1]])
    } else if let Ok(v) = i32::try_from(n) {
        let b = v.to_le_bytes();
        Some(vec![0xC0 | ENC_INT32, b[0], b[1], b[2], b[3]])
    } else {
        None
    }
}

/// Writes the whole dataset as an RDB file into `out` (Redis: `rdbSaveRio`). Empty databases
/// are skipped, as Redis skips them.
pub fn save<W: Write>(dbs: &[Db], opts: &SaveOptions, out: W) -> io::Result<()> {
    let mut w = Writer {
        out,
        digest: opts.checksum.then(|| CRC64.digest()),
        compression: opts.compression,
    };
    w.bytes(format!("REDIS{RDB_VERSION:04}").as_bytes())?;
    let bits = (usize::BITS).to_string();
    let ctime = (opts.now_ms / 1000).to_string();
    let used_mem = opts.used_mem.to_string();
    let aof_base = if opts.aof_base { "1" } else { "0" };
    let mut aux: Vec<(&str, String)> = vec![
        ("redis-ver", REDIS_VERSION.to_string()),
        ("redis-bits", bits),
        ("ctime", ctime),
        ("used-mem", used_mem),
    ];
    if let Some(repl) = &opts.repl {
        aux.push(("repl-stream-db", repl.stream_db.to_string()));
        aux.push(("repl-id", repl.replid.clone()));
        aux.push(("repl-offset", repl.offset.to_string()));
    }
    aux.push(("aof-base", aof_base.to_string()));
    for (name, value) in aux {
        w.byte(OP_AUX)?;
        w.string(name.as_bytes())?;
        w.string(value.as_bytes())?;
    }
    for code in &opts.functions {
        w.byte(OP_FUNCTION2)?;
        w.string(code)?;
    }
    let mut saved: u64 = 0;
    for db in dbs.iter().filter(|db| !db.is_empty()) {
        w.byte(OP_SELECTDB)?;
        w.len(db.id as u64)?;
        w.byte(OP_RESIZEDB)?;
        w.len(db.dict.len() as u64)?;
        w.len(db.expires.len() as u64)?;
        for (key, obj) in db.dict.iter() {
            if let Some(when) = db.get_expire(key) {
                w.byte(OP_EXPIRETIME_MS)?;
                w.bytes(&when.to_le_bytes())?;
            }
            if opts.save_idle {
                w.byte(OP_IDLE)?;
                w.len(obj.idle_seconds(opts.now_ms))?;
            }
            save_key_value(&mut w, key, &obj.value)?;
            saved += 1;
            key_save_delay(opts.key_save_delay_us, saved);
        }
    }
    w.byte(OP_EOF)?;
    let checksum: u64 = w.digest.take().map_or(0, |d| d.finalize());
    w.bytes(&checksum.to_le_bytes())?;
    w.out.flush()
}

/// The pause of `rdb-key-save-delay` after the `saved`-th key (Redis: `debugDelay`, which
/// makes a negative value a one-in-n chance of a 1 µs sleep; here every n-th key).
fn key_save_delay(us: i64, saved: u64) {
    let pause = match us {
        0 => return,
        1.. => us.unsigned_abs(),
        _ if saved.is_multiple_of(us.unsigned_abs()) => 1,
        _ => return,
    };
    std::thread::sleep(std::time::Duration::from_micros(pause));
}

/// The whole dataset as RDB bytes in memory.
pub fn save_to_vec(dbs: &[Db], opts: &SaveOptions) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = save(dbs, opts, &mut out);
    out
}

/// Type byte, key, value (Redis: `rdbSaveKeyValuePair` without the expiry).
fn save_key_value<W: Write>(w: &mut Writer<W>, key: &[u8], value: &Value) -> io::Result<()> {
    w.byte(value_type(value))?;
    w.string(key)?;
    save_value(w, value)
}

/// The type byte a value is saved under: its encoding decides (Redis: `rdbSaveObjectType`).
fn value_type(value: &Value) -> u8 {
    match value {
        Value::Str(_) => TYPE_STRING,
        Value::List(_) => TYPE_LIST_QUICKLIST_2,
        Value::Hash(h) if h.encoding_name() == "listpack" => TYPE_HASH_LISTPACK,
        Value::Hash(_) => TYPE_HASH,
        Value::Set(s) if s.encoding_name() == "intset" => TYPE_SET_INTSET,
        Value::Set(_) => TYPE_SET,
        Value::ZSet(ZSet::Listpack(_)) => TYPE_ZSET_LISTPACK,
        Value::ZSet(_) => TYPE_ZSET_2,
        Value::Stream(_) => TYPE_STREAM_LISTPACKS_2,
    }
}

/// The value's body in the format its [`value_type`] names (Redis: `rdbSaveObject`).
fn save_value<W: Write>(w: &mut Writer<W>, value: &Value) -> io::Result<()> {
    match value {
        Value::Str(s) => w.string(s),
        Value::List(list) => save_list(w, list),
        Value::Hash(h) => save_hash(w, h, value_type(value) == TYPE_HASH_LISTPACK),
        Value::Set(set) => save_set(w, set, value_type(value) == TYPE_SET_INTSET),
        Value::ZSet(z) => save_zset(w, z, value_type(value) == TYPE_ZSET_LISTPACK),
        Value::Stream(s) => stream::save_stream(w, s),
    }
}

/// The payload DUMP returns for `value` (Redis: `createDumpPayload`): type byte, value, the
/// RDB version as u16 LE, and the CRC64 of all that as u64 LE.
pub fn dump_payload(value: &Value, compression: bool) -> Vec<u8> {
    let mut w = Writer {
        out: Vec::new(),
        digest: None,
        compression,
    };
    // Writing into a Vec cannot fail.
    let _ = w
        .byte(value_type(value))
        .and_then(|()| save_value(&mut w, value));
    with_payload_footer(w.out)
}

/// The payload FUNCTION DUMP returns (Redis: `functionDumpCommand`): each library's code as
/// an `OP_FUNCTION2` record, as in an RDB file, then DUMP's footer.
pub fn functions_payload(libraries: &[Vec<u8>], compression: bool) -> Vec<u8> {
    let mut w = Writer {
        out: Vec::new(),
        digest: None,
        compression,
    };
    for code in libraries {
        // Writing into a Vec cannot fail.
        let _ = w.byte(OP_FUNCTION2).and_then(|()| w.string(code));
    }
    with_payload_footer(w.out)
}

/// Appends the RDB version (u16 LE) and the CRC64 of everything (u64 LE).
fn with_payload_footer(mut out: Vec<u8>) -> Vec<u8> {
    out.extend_from_slice(&(RDB_VERSION as u16).to_le_bytes());
    let crc = CRC64.checksum(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// The body of a DUMP-style payload, its footer checked (Redis: `verifyDumpPayload`): refused
/// if shorter than the footer, of a newer RDB version, or with a wrong CRC64 (when
/// `verify_checksum`).
fn payload_body(payload: &[u8], verify_checksum: bool) -> LoadResult<&[u8]> {
    let bad = || LoadError {
        offset: 0,
        message: "payload version or checksum are wrong".to_string(),
    };
    let body_len = payload.len().checked_sub(10).ok_or_else(bad)?;
    let footer = &payload[body_len..];
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    if u32::from(version) > RDB_VERSION {
        return Err(bad());
    }
    if verify_checksum {
        let stored = u64::from_le_bytes([
            footer[2], footer[3], footer[4], footer[5], footer[6], footer[7], footer[8], footer[9],
        ]);
        if CRC64.checksum(&payload[..body_len + 2]) != stored {
            return Err(bad());
        }
    }
    Ok(&payload[..body_len])
}

/// The library codes of a FUNCTION DUMP payload, for FUNCTION RESTORE. `Err` carries Redis's
/// reply text: the footer's, "given type is not a function" for a record of another kind,
/// "Pre-GA function format not supported" for 7.0-rc records.
pub fn restore_functions_payload(
    payload: &[u8],
    verify_checksum: bool,
) -> Result<Vec<Vec<u8>>, String> {
    let body = payload_body(payload, verify_checksum).map_err(|e| format!("DUMP {}", e.message))?;
    let mut r = Reader::new(body, body.len(), false);
    let mut libraries = Vec::new();
    while r.remaining() > 0 {
        match r.u8("a function record") {
            Ok(OP_FUNCTION2) => {}
            Ok(OP_FUNCTION_PRE_GA) => return Err("Pre-GA function format not supported".into()),
            Ok(_) => return Err("given type is not a function".into()),
            Err(_) => return Err("can not read data type".into()),
        }
        let code = r
            .string("a function library")
            .map_err(|_| "Failed loading library payload".to_string())?;
        libraries.push(code);
    }
    Ok(libraries)
}

/// The value of a DUMP payload (Redis: `verifyDumpPayload` + `rdbLoadObject`, for RESTORE):
/// refused if its footer is wrong (see [`payload_body`]) or with anything left over after
/// the value.
pub fn restore_payload(
    payload: &[u8],
    verify_checksum: bool,
    limits: &Limits,
) -> LoadResult<Value> {
    let bad = |message: &str| LoadError {
        offset: 0,
        message: message.to_string(),
    };
    let body = payload_body(payload, verify_checksum)?;
    let mut r = Reader::new(body, body.len(), false);
    let kind = r.u8("the value type")?;
    let value = load_value(&mut r, kind, b"", limits)?;
    if r.remaining() != 0 {
        return r.fail(r.pos, "bad data format: bytes left after the value");
    }
    value.ok_or_else(|| bad("bad data format: empty collection"))
}

/// Quicklist 2: the elements regrouped into packed nodes of about [`LIST_NODE_BYTES`].
fn save_list<W: Write>(w: &mut Writer<W>, list: &List) -> io::Result<()> {
    let mut nodes = Vec::new();
    let mut node = ListpackWriter::new();
    for elem in list.iter() {
        match elem {
            Elem::Int(n) => node.push_int(n),
            Elem::Str(s) => node.push_bytes(s),
        }
        if node.bytes() >= LIST_NODE_BYTES || node.count() >= usize::from(u16::MAX) - 1 {
            nodes.push(std::mem::take(&mut node).finish());
        }
    }
    if node.count() > 0 {
        nodes.push(node.finish());
    }
    w.len(nodes.len() as u64)?;
    for blob in nodes {
        w.len(CONTAINER_PACKED)?;
        w.string(&blob)?;
    }
    Ok(())
}

fn save_hash<W: Write>(w: &mut Writer<W>, h: &Hash, packed: bool) -> io::Result<()> {
    if packed {
        let mut lp = ListpackWriter::new();
        for (field, value) in h.iter() {
            lp.push_bytes(field);
            lp.push_bytes(value);
        }
        return w.string(&lp.finish());
    }
    w.len(h.len() as u64)?;
    for (field, value) in h.iter() {
        w.string(field)?;
        w.string(value)?;
    }
    Ok(())
}

fn save_set<W: Write>(w: &mut Writer<W>, set: &Set, ints: bool) -> io::Result<()> {
    if ints {
        let mut members: Vec<i64> = set
            .iter()
            .filter_map(|m| match m {
                Member::Int(n) => Some(n),
                Member::Str(s) => parse_i64(s),
            })
            .collect();
        members.sort_unstable();
        return w.string(&blobs::intset_blob(&members));
    }
    w.len(set.len() as u64)?;
    for member in set.iter() {
        member.with_bytes(|b| w.string(b))?;
    }
    Ok(())
}

fn save_zset<W: Write>(w: &mut Writer<W>, z: &ZSet, packed: bool) -> io::Result<()> {
    if packed {
        // Scores are text in a listpack, as Redis's `zzlInsertAt` writes them (`d2string`,
        // then stored as an integer entry when the text is one).
        let mut lp = ListpackWriter::new();
        for (member, score) in z.iter() {
            lp.push_bytes(member);
            lp.push_bytes(format_double(score).as_bytes());
        }
        return w.string(&lp.finish());
    }
    // Highest score first, as Redis walks its skip list from the tail.
    let all: Vec<(&[u8], f64)> = z.iter().collect();
    w.len(all.len() as u64)?;
    for (member, score) in all.into_iter().rev() {
        w.string(member)?;
        w.binary_double(score)?;
    }
    Ok(())
}

// =============================================================================================
// Loading.
// =============================================================================================

/// The encoding limits loaded values are built with (the server's config).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// `list-max-listpack-size`.
    pub list_fill: i64,
    pub hash: hash::Limits,
    /// `set-max-intset-entries`.
    pub set_max_intset: usize,
    pub zset: zset::Limits,
}

impl Default for Limits {
    /// Redis 7.0's defaults.
    fn default() -> Self {
        Limits {
            list_fill: -2,
            hash: hash::Limits {
                max_entries: 128,
                max_value: 64,
            },
            set_max_intset: 512,
            zset: zset::Limits {
                max_entries: 128,
                max_value: 64,
            },
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct LoadOptions {
    /// `rdbchecksum`: verify the CRC64 at the end (a stored zero means "not computed").
    pub verify_checksum: bool,
    /// Keys whose expiry time is before this are dropped, as a Redis master drops them.
    pub now_ms: Ms,
    pub limits: Limits,
    /// Name the keys dropped as expired in [`Loaded::expired_keys`]: a master that restarts
    /// propagates their deletion to the replicas that continue its stream.
    pub collect_expired: bool,
}

/// What the checksum at the end of the file said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checksum {
    /// Present and correct.
    Verified,
    /// Zero in the file: the writer had `rdbchecksum no`.
    NotComputed,
    /// Not checked (`rdbchecksum no` here, or a version before 5 that has none).
    NotChecked,
}

/// Empty keys named in the log, as Redis names the first ten it skips.
pub const EMPTY_KEYS_NAMED: usize = 10;

/// A successful load's summary, for the log and INFO.
#[derive(Debug)]
pub struct Loaded {
    pub version: u32,
    /// AUX fields in file order.
    pub aux: Vec<(Vec<u8>, Vec<u8>)>,
    pub keys_loaded: usize,
    /// Keys skipped because their TTL had already passed.
    pub expired_skipped: usize,
    /// Those keys, with their database, in file order (only with
    /// [`LoadOptions::collect_expired`]).
    pub expired_keys: Vec<(usize, Vec<u8>)>,
    /// Collections stored with no element, skipped as Redis skips them.
    pub empty_skipped: usize,
    /// The names of the first [`EMPTY_KEYS_NAMED`] of them, for the log.
    pub empty_keys: Vec<Vec<u8>>,
    /// Function library sources (`OP_FUNCTION2`), in file order, for the caller to load.
    pub functions: Vec<Vec<u8>>,
    pub checksum: Checksum,
}

impl Loaded {
    fn new(version: u32) -> Loaded {
        Loaded {
            version,
            aux: Vec::new(),
            keys_loaded: 0,
            expired_skipped: 0,
            expired_keys: Vec::new(),
            empty_skipped: 0,
            empty_keys: Vec::new(),
            functions: Vec::new(),
            checksum: Checksum::NotChecked,
        }
    }

    /// An AUX field's value by name (`redis-ver`, `ctime`, ...).
    pub fn aux(&self, name: &str) -> Option<&[u8]> {
        self.aux
            .iter()
            .find(|(k, _)| k == name.as_bytes())
            .map(|(_, v)| v.as_slice())
    }

    /// The replication position saved with the image, if all of it is there and valid (Redis:
    /// the `repl-*` AUX fields and the check of `loadDataFromDisk`): a 40-character id, an
    /// offset, and a database (-1 there was written by old versions that had none).
    pub fn repl_info(&self) -> Option<ReplSaveInfo> {
        let replid = self.aux("repl-id").filter(|id| id.len() == 40)?;
        let offset = self.aux("repl-offset").and_then(parse_i64)?;
        let stream_db = self
            .aux("repl-stream-db")
            .map_or(0, |db| parse_i64(db).unwrap_or(0));
        if offset == -1 || stream_db < 0 {
            return None;
        }
        Some(ReplSaveInfo {
            stream_db: usize::try_from(stream_db).unwrap_or(0),
            replid: String::from_utf8_lossy(replid).into_owned(),
            offset,
        })
    }
}

/// Why a file could not be loaded: the byte offset where reading failed and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Bad RDB data at offset {}: {}",
            self.offset, self.message
        )
    }
}

impl std::error::Error for LoadError {}

type LoadResult<T> = Result<T, LoadError>;

/// A length or a special string encoding (`11xxxxxx`).
enum Len {
    Plain(u64),
    Special(u8),
}

/// A cursor over the file's bytes, read as a stream (the file is never held whole in memory).
/// Every read is checked against the file's known length first, so a length field can never
/// make it allocate more than the file holds; the CRC64 is kept over every byte read.
struct Reader<R: Read> {
    src: R,
    /// Bytes read so far (the offset errors report).
    pos: usize,
    /// Total bytes in the source.
    len: usize,
    digest: Option<Digest<'static, u64, Table<16>>>,
    /// A read asked for more than is left: on a payload still arriving, the error that
    /// followed means "not enough bytes yet" (see [`StreamLoad`]).
    short: bool,
}

impl<R: Read> Reader<R> {
    fn new(src: R, len: usize, checksum: bool) -> Reader<R> {
        Reader {
            src,
            pos: 0,
            len,
            digest: checksum.then(|| CRC64.digest()),
            short: false,
        }
    }

    fn fail<T>(&self, at: usize, message: impl Into<String>) -> LoadResult<T> {
        Err(LoadError {
            offset: at,
            message: message.into(),
        })
    }

    fn remaining(&self) -> usize {
        self.len.saturating_sub(self.pos)
    }

    /// Fills `buf` from the source, after checking the file has that many bytes left.
    fn read_into(&mut self, buf: &mut [u8], what: &str) -> LoadResult<()> {
        let n = buf.len();
        if n > self.remaining() {
            self.short = true;
            return self.fail(
                self.pos,
                format!(
                    "unexpected end of file reading {what} ({n} bytes wanted, {} left)",
                    self.remaining()
                ),
            );
        }
        if let Err(e) = self.src.read_exact(buf) {
            return self.fail(self.pos, format!("read error reading {what}: {e}"));
        }
        if let Some(d) = &mut self.digest {
            d.update(buf);
        }
        self.pos += n;
        Ok(())
    }

    fn take(&mut self, n: usize, what: &str) -> LoadResult<Vec<u8>> {
        if n > self.remaining() {
            // Refused before allocating for it.
            self.short = true;
            return self.fail(
                self.pos,
                format!(
                    "unexpected end of file reading {what} ({n} bytes wanted, {} left)",
                    self.remaining()
                ),
            );
        }
        let mut v = vec![0u8; n];
        self.read_into(&mut v, what)?;
        Ok(v)
    }

    fn u8(&mut self, what: &str) -> LoadResult<u8> {
        Ok(self.array::<1>(what)?[0])
    }

    fn array<const N: usize>(&mut self, what: &str) -> LoadResult<[u8; N]> {
        let mut a = [0u8; N];
        self.read_into(&mut a, what)?;
        Ok(a)
    }

    /// Redis: `rdbLoadLenByRef`.
    fn len_or_special(&mut self, what: &str) -> LoadResult<Len> {
        let at = self.pos;
        let first = self.u8(what)?;
        Ok(match first >> 6 {
            0 => Len::Plain(u64::from(first & 0x3f)),
            1 => Len::Plain((u64::from(first & 0x3f) << 8) | u64::from(self.u8(what)?)),
            3 => Len::Special(first & 0x3f),
            _ => match first {
                LEN_32BIT => Len::Plain(u64::from(u32::from_be_bytes(self.array(what)?))),
                LEN_64BIT => Len::Plain(u64::from_be_bytes(self.array(what)?)),
                _ => {
                    return self.fail(
                        at,
                        format!("unknown length encoding {first:#04x} in {what}"),
                    )
                }
            },
        })
    }

    fn len(&mut self, what: &str) -> LoadResult<u64> {
        let at = self.pos;
        match self.len_or_special(what)? {
            Len::Plain(n) => Ok(n),
            Len::Special(_) => self.fail(
                at,
                format!("expected a length for {what}, found a string encoding"),
            ),
        }
    }

    /// An element count: each element takes at least `min_bytes`, so a count the rest of the
    /// file cannot hold is corrupt (and never reaches an allocation).
    fn count(&mut self, what: &str, min_bytes: usize) -> LoadResult<usize> {
        let at = self.pos;
        let n = self.len(what)?;
        match usize::try_from(n) {
            Ok(n) if n.saturating_mul(min_bytes) <= self.remaining() => Ok(n),
            _ => {
                self.short = true;
                self.fail(
                    at,
                    format!(
                        "{what} of {n} does not fit in the {} bytes left",
                        self.remaining()
                    ),
                )
            }
        }
    }

    /// A string in any of its encodings (Redis: `rdbGenericLoadStringObject`).
    fn string(&mut self, what: &str) -> LoadResult<Vec<u8>> {
        let at = self.pos;
        match self.len_or_special(what)? {
            Len::Plain(n) => {
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                self.take(n, what)
            }
            Len::Special(ENC_INT8) => Ok(int_text(i64::from(self.u8(what)? as i8))),
            Len::Special(ENC_INT16) => {
                Ok(int_text(i64::from(i16::from_le_bytes(self.array(what)?))))
            }
            Len::Special(ENC_INT32) => {
                Ok(int_text(i64::from(i32::from_le_bytes(self.array(what)?))))
            }
            Len::Special(ENC_LZF) => {
                let clen = self.len(what)?;
                let len = self.len(what)?;
                let data = self.take(usize::try_from(clen).unwrap_or(usize::MAX), what)?;
                let len = usize::try_from(len).unwrap_or(usize::MAX);
                match lzf::decompress(&data, len) {
                    Some(bytes) => Ok(bytes),
                    None => self.fail(at, format!("invalid LZF compressed string in {what}")),
                }
            }
            Len::Special(other) => self.fail(
                at,
                format!("unknown string encoding type {other} in {what}"),
            ),
        }
    }

    /// A score written as text (type 3): `<len>` + ASCII, or 253/254/255 for nan/inf/-inf.
    fn text_double(&mut self, what: &str) -> LoadResult<f64> {
        let at = self.pos;
        match self.u8(what)? {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            n => {
                let text = self.take(usize::from(n), what)?;
                match parse_f64(&text) {
                    Some(d) => Ok(d),
                    None => self.fail(at, format!("{what} is not a number")),
                }
            }
        }
    }

    fn binary_double(&mut self, what: &str) -> LoadResult<f64> {
        Ok(f64::from_le_bytes(self.array(what)?))
    }
}

fn int_text(n: i64) -> Vec<u8> {
    let mut buf = [0u8; I64_BUF];
    write_i64(n, &mut buf).to_vec()
}

/// Reads an RDB file and, if all of it is valid, replaces the contents of `dbs` with it (Redis:
/// `rdbLoad`). On error `dbs` is untouched.
pub fn load(bytes: &[u8], dbs: &mut [Db], opts: &LoadOptions) -> LoadResult<Loaded> {
    load_from(bytes, bytes.len(), dbs, opts)
}

/// [`load`] from a stream of `len` bytes (a file: it is read once, front to back, and never
/// held whole in memory).
pub fn load_from<R: Read>(
    src: R,
    len: usize,
    dbs: &mut [Db],
    opts: &LoadOptions,
) -> LoadResult<Loaded> {
    let (loaded, mut fresh) = load_fresh(src, len, dbs.len(), opts, &mut |_| {})?;
    for (db, new) in dbs.iter_mut().zip(fresh.iter_mut()) {
        db.swap_contents(new);
    }
    Ok(loaded)
}

/// Reads an RDB stream of `len` bytes into `databases` new databases, which the caller swaps
/// in once all of it is valid. `progress` is called after every key with the bytes read so
/// far: the loader's caller serves clients from there (`-LOADING`, INFO) while a big file
/// loads, as Redis's `rdbLoadProgressCallback` / `processEventsWhileBlocked` do. It may not
/// touch the databases being built, and cannot: they are not reachable from outside.
pub fn load_fresh<R: Read>(
    src: R,
    len: usize,
    databases: usize,
    opts: &LoadOptions,
    progress: &mut dyn FnMut(usize),
) -> LoadResult<(Loaded, Vec<Db>)> {
    let mut fresh: Vec<Db> = (0..databases).map(Db::new).collect();
    let mut r = Reader::new(src, len, opts.verify_checksum);
    let loaded = load_into(&mut r, &mut fresh, opts, progress)?;
    Ok((loaded, fresh))
}

/// Reads the 9-byte header (`REDIS` and the version) and returns the version.
fn read_header<R: Read>(r: &mut Reader<R>) -> LoadResult<u32> {
    let magic: [u8; 9] = r.array("the RDB header")?;
    if &magic[..5] != b"REDIS" {
        return r.fail(0, "wrong signature trying to load DB from file");
    }
    let version = std::str::from_utf8(&magic[5..])
        .ok()
        .filter(|v| v.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(0);
    if !(1..=RDB_VERSION).contains(&version) {
        return r.fail(
            5,
            format!(
                "can't handle RDB format version {:?}",
                String::from_utf8_lossy(&magic[5..])
            ),
        );
    }
    Ok(version)
}

/// What the loader carries from one top-level entry to the next: the selected database and
/// the attributes the opcodes before a key set for it (Redis: the locals of
/// `rdbLoadRioWithLoadingCtx`).
struct Cursor {
    db_index: usize,
    expire: Option<Ms>,
    idle: Option<u64>,
    now_lru: u32,
}

impl Cursor {
    fn new(opts: &LoadOptions) -> Cursor {
        Cursor {
            db_index: 0,
            expire: None,
            idle: None,
            now_lru: lru_clock(opts.now_ms),
        }
    }
}

/// What one top-level entry was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EntryKind {
    /// An opcode and its arguments (AUX, SELECTDB, an expire time, a function...).
    Opcode,
    /// A key and its value (loaded, or skipped as empty or expired).
    Key,
    /// The EOF opcode: the checksum follows.
    Eof,
}

/// Reads one top-level entry and applies it to `cursor`, `loaded` and `dbs`. Nothing is
/// changed unless the whole entry was read: a resumable load ([`StreamLoad`]) calls it again
/// from the same place once more bytes have come.
fn read_entry<R: Read>(
    r: &mut Reader<R>,
    cursor: &mut Cursor,
    loaded: &mut Loaded,
    dbs: &mut [Db],
    opts: &LoadOptions,
) -> LoadResult<EntryKind> {
    let op_at = r.pos;
    let op = r.u8("an opcode or value type")?;
    match op {
        OP_EXPIRETIME => {
            cursor.expire = Some(i64::from(i32::from_le_bytes(r.array("an expire time")?)) * 1000);
            return Ok(EntryKind::Opcode);
        }
        OP_EXPIRETIME_MS => {
            cursor.expire = Some(i64::from_le_bytes(r.array("an expire time")?));
            return Ok(EntryKind::Opcode);
        }
        OP_FREQ => {
            r.u8("an LFU frequency")?;
            return Ok(EntryKind::Opcode);
        }
        OP_IDLE => {
            cursor.idle = Some(r.len("an LRU idle time")?);
            return Ok(EntryKind::Opcode);
        }
        OP_EOF => return Ok(EntryKind::Eof),
        OP_SELECTDB => {
            let n = r.len("a database number")?;
            return match usize::try_from(n) {
                Ok(n) if n < dbs.len() => {
                    cursor.db_index = n;
                    Ok(EntryKind::Opcode)
                }
                _ => r.fail(
                    op_at,
                    format!(
                        "the file uses database {n}, this server has {} (databases)",
                        dbs.len()
                    ),
                ),
            };
        }
        OP_RESIZEDB => {
            r.len("the database size")?;
            r.len("the expires size")?;
            return Ok(EntryKind::Opcode);
        }
        OP_AUX => {
            let name = r.string("an AUX field name")?;
            let value = r.string("an AUX field value")?;
            loaded.aux.push((name, value));
            return Ok(EntryKind::Opcode);
        }
        OP_FUNCTION2 => {
            let code = r.string("a function library")?;
            loaded.functions.push(code);
            return Ok(EntryKind::Opcode);
        }
        OP_FUNCTION_PRE_GA => return r.fail(op_at, "pre-release function format not supported"),
        OP_MODULE_AUX => {
            return r.fail(
                op_at,
                "module auxiliary data found, but no module is loaded",
            )
        }
        _ => {}
    }
    // A key-value pair of type `op`.
    let key_at = r.pos;
    let key = r.string("a key")?;
    let value = load_value(r, op, &key, &opts.limits)?;
    let (when, idle_secs) = (cursor.expire.take(), cursor.idle.take());
    let Some(value) = value else {
        if loaded.empty_skipped < EMPTY_KEYS_NAMED {
            loaded.empty_keys.push(key);
        }
        loaded.empty_skipped += 1;
        return Ok(EntryKind::Key);
    };
    if when.is_some_and(|t| t < opts.now_ms) {
        loaded.expired_skipped += 1;
        if opts.collect_expired {
            loaded.expired_keys.push((cursor.db_index, key));
        }
        return Ok(EntryKind::Key);
    }
    let Some(db) = dbs.get_mut(cursor.db_index) else {
        return r.fail(op_at, "no database selected");
    };
    if db.dict.contains_key(&key) {
        return r.fail(
            key_at,
            format!(
                "duplicated key '{}' found in the file",
                String::from_utf8_lossy(&key)
            ),
        );
    }
    let lru = match idle_secs {
        Some(s) => cursor
            .now_lru
            .saturating_sub(u32::try_from(s).unwrap_or(u32::MAX)),
        None => cursor.now_lru,
    };
    db.add_object(&key, Object::new(value, lru), when);
    loaded.keys_loaded += 1;
    Ok(EntryKind::Key)
}

/// Compares the checksum stored after OP_EOF with the one computed over everything before it.
fn check_checksum(
    digest: Option<Digest<'static, u64, Table<16>>>,
    stored: u64,
    at: usize,
) -> LoadResult<Checksum> {
    Ok(match digest {
        None => Checksum::NotChecked,
        Some(_) if stored == 0 => Checksum::NotComputed,
        Some(digest) => {
            let expected = digest.finalize();
            if expected != stored {
                return Err(LoadError {
                    offset: at,
                    // Redis's words, which its tests look for in the log.
                    message: format!(
                        "RDB CRC error: wrong RDB checksum expected: ({expected:x}) got: \
                         ({stored:x})"
                    ),
                });
            }
            Checksum::Verified
        }
    })
}

fn load_into<R: Read>(
    r: &mut Reader<R>,
    dbs: &mut [Db],
    opts: &LoadOptions,
    progress: &mut dyn FnMut(usize),
) -> LoadResult<Loaded> {
    let version = read_header(r)?;
    let mut loaded = Loaded::new(version);
    let mut cursor = Cursor::new(opts);
    loop {
        match read_entry(r, &mut cursor, &mut loaded, dbs, opts)? {
            EntryKind::Opcode => {}
            EntryKind::Key => progress(r.pos),
            EntryKind::Eof => break,
        }
    }
    if version >= 5 {
        let end = r.pos;
        // The checksum covers everything before it.
        let digest = r.digest.take();
        let stored = u64::from_le_bytes(r.array("the checksum")?);
        loaded.checksum = check_checksum(digest, stored, end)?;
    }
    Ok(loaded)
}

// =============================================================================================
// Resumable loading, for a replica's full sync.
// =============================================================================================

/// A load that takes the image as it arrives, one top-level entry at a time, so that the
/// loop can serve clients between entries (Redis: `rdbLoadRioWithLoadingCtx` reading from the
/// master's socket, which calls `processEventsWhileBlocked` every
/// `loading-process-events-interval-bytes`; ferrodis instead returns to the loop).
///
/// # Resuming without re-reading
///
/// The RDB format has no framing: the only way to know an entry is complete is to parse it.
/// [`StreamLoad::step`] parses the next entry from the front of the bytes buffered so far. If
/// they end before the entry does, that is a normal outcome, [`Step::NeedMore`], and nothing
/// is changed: the entry is parsed again from its start when more bytes are there (the
/// reader never keeps half an entry). An entry that was parsed whole is applied at once (the
/// key goes into the databases being built, an AUX field into [`Loaded::aux`]), its bytes are
/// added to the checksum and the caller drops them. A big value (a 100 MB string) would be
/// parsed again at every arrival of 16 KB, which is quadratic: the caller retries only once
/// the buffered bytes have doubled since the last incomplete attempt (or the payload ended),
/// so the bytes parsed for one entry stay under twice its size plus the doublings' sum,
/// linear in its size.
///
/// "Not enough bytes" is told apart from corruption by the reader itself: every read checks
/// what is left before reading, and remembers when that check failed ([`Reader::short`]).
/// An error after such a check means "maybe incomplete" while the payload has not ended, and
/// the real short read it is once it has.
pub struct StreamLoad {
    opts: LoadOptions,
    /// `None` until the header was read.
    loaded: Option<Loaded>,
    cursor: Cursor,
    /// CRC64 of every byte committed so far (`None` with `rdbchecksum no`).
    digest: Option<Digest<'static, u64, Table<16>>>,
    /// Bytes of the image committed so far (the offset errors report).
    offset: usize,
    done: bool,
}

/// What [`StreamLoad::step`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The bytes end inside the next entry: call again with more (from the same place).
    NeedMore,
    /// One entry was read and applied; the caller drops `consumed` bytes.
    Entry { consumed: usize, key: bool },
    /// The end of the image (and its checksum) was read: `consumed` bytes.
    Done { consumed: usize },
}

impl StreamLoad {
    pub fn new(opts: LoadOptions) -> StreamLoad {
        StreamLoad {
            cursor: Cursor::new(&opts),
            digest: opts.verify_checksum.then(|| CRC64.digest()),
            opts,
            loaded: None,
            offset: 0,
            done: false,
        }
    }

    /// Bytes of the image read so far.
    pub fn offset(&self) -> usize {
        self.offset
    }

    pub fn is_done(&self) -> bool {
        self.done
    }

    /// What was read so far (AUX fields, functions, counts); `None` before the header.
    pub fn loaded(&self) -> Option<&Loaded> {
        self.loaded.as_ref()
    }

    pub fn into_loaded(self) -> Option<Loaded> {
        self.loaded
    }

    /// Reads the next top-level entry from the front of `bytes` (the image's bytes from
    /// [`Self::offset`] on, as many as arrived) into `dbs`. `ended`: no more bytes will come,
    /// so an entry cut short is an error instead of [`Step::NeedMore`].
    pub fn step(&mut self, bytes: &[u8], ended: bool, dbs: &mut [Db]) -> LoadResult<Step> {
        if self.done {
            return Ok(Step::Done { consumed: 0 });
        }
        let mut r = Reader::new(bytes, bytes.len(), false);
        let result = self.read_step(bytes, &mut r, dbs);
        match result {
            Ok(step) => {
                let consumed = match step {
                    Step::Entry { consumed, .. } | Step::Done { consumed } => consumed,
                    Step::NeedMore => 0,
                };
                self.offset += consumed;
                Ok(step)
            }
            Err(_) if r.short && !ended => Ok(Step::NeedMore),
            Err(mut e) => {
                e.offset += self.offset;
                Err(e)
            }
        }
    }

    fn read_step(
        &mut self,
        bytes: &[u8],
        r: &mut Reader<&[u8]>,
        dbs: &mut [Db],
    ) -> LoadResult<Step> {
        let Some(loaded) = self.loaded.as_mut() else {
            let version = read_header(r)?;
            self.commit_digest(&bytes[..r.pos]);
            self.loaded = Some(Loaded::new(version));
            return Ok(Step::Entry {
                consumed: r.pos,
                key: false,
            });
        };
        match read_entry(r, &mut self.cursor, loaded, dbs, &self.opts)? {
            EntryKind::Eof => {
                let eof_end = r.pos;
                if loaded.version >= 5 {
                    let stored = u64::from_le_bytes(r.array("the checksum")?);
                    let mut digest = self.digest.take();
                    if let Some(d) = &mut digest {
                        d.update(&bytes[..eof_end]);
                    }
                    // Relative, as every error of a step: `step` adds the offset.
                    loaded.checksum = check_checksum(digest, stored, eof_end)?;
                }
                self.done = true;
                Ok(Step::Done { consumed: r.pos })
            }
            kind => {
                self.commit_digest(&bytes[..r.pos]);
                Ok(Step::Entry {
                    consumed: r.pos,
                    key: kind == EntryKind::Key,
                })
            }
        }
    }

    fn commit_digest(&mut self, bytes: &[u8]) {
        if let Some(d) = &mut self.digest {
            d.update(bytes);
        }
    }
}

/// One value of type `kind` (Redis: `rdbLoadObject`); `None` for an empty collection.
fn load_value<R: Read>(
    r: &mut Reader<R>,
    kind: u8,
    key: &[u8],
    limits: &Limits,
) -> LoadResult<Option<Value>> {
    let at = r.pos;
    let key_name = || String::from_utf8_lossy(key).into_owned();
    let value = match kind {
        TYPE_STRING => Some(Value::Str(Sds::from_vec(r.string("a string value")?))),
        TYPE_LIST | TYPE_LIST_ZIPLIST | TYPE_LIST_QUICKLIST | TYPE_LIST_QUICKLIST_2 => {
            load_list(r, kind, limits)?.map(Value::List)
        }
        TYPE_SET | TYPE_SET_INTSET => load_set(r, kind, limits)?.map(Value::Set),
        TYPE_ZSET | TYPE_ZSET_2 | TYPE_ZSET_ZIPLIST | TYPE_ZSET_LISTPACK => {
            load_zset(r, kind, limits)?.map(Value::ZSet)
        }
        TYPE_HASH | TYPE_HASH_ZIPMAP | TYPE_HASH_ZIPLIST | TYPE_HASH_LISTPACK => {
            load_hash(r, kind, limits)?.map(Value::Hash)
        }
        TYPE_STREAM_LISTPACKS | TYPE_STREAM_LISTPACKS_2 => {
            Some(Value::Stream(Box::new(stream::load_stream(r, kind)?)))
        }
        TYPE_MODULE | TYPE_MODULE_2 => {
            return r.fail(
                at,
                format!(
                    "key '{}' holds a module type, which ferrodis cannot load",
                    key_name()
                ),
            )
        }
        other => {
            return r.fail(
                at.saturating_sub(1),
                format!("unknown RDB encoding type {other}"),
            )
        }
    };
    Ok(value)
}

/// Reads a string holding a blob and parses it with `parse`, turning its error into a
/// [`LoadError`] at the blob's offset.
fn with_blob<T, R: Read>(
    r: &mut Reader<R>,
    what: &str,
    parse: impl FnOnce(&[u8]) -> blobs::BlobResult<T>,
) -> LoadResult<T> {
    let at = r.pos;
    let blob = r.string(what)?;
    match parse(&blob) {
        Ok(v) => Ok(v),
        Err(e) => r.fail(at, format!("{what} integrity check failed: {e}")),
    }
}

fn push_entry(list: &mut List, e: Entry, fill: i64) {
    match e {
        Entry::Str(s) => list.push(s, End::Tail, fill),
        Entry::Int(n) => {
            let mut buf = [0u8; I64_BUF];
            list.push(write_i64(n, &mut buf), End::Tail, fill);
        }
    }
}

fn load_list<R: Read>(r: &mut Reader<R>, kind: u8, limits: &Limits) -> LoadResult<Option<List>> {
    let fill = limits.list_fill;
    let mut list = List::new();
    match kind {
        TYPE_LIST => {
            let n = r.count("list length", 1)?;
            for _ in 0..n {
                list.push(&r.string("a list element")?, End::Tail, fill);
            }
        }
        TYPE_LIST_ZIPLIST => {
            let blob = r.string("a list ziplist")?;
            let at = r.pos;
            let entries = blobs::ziplist_entries(&blob)
                .or_else(|e| r.fail(at, format!("List ziplist integrity check failed: {e}")))?;
            entries
                .into_iter()
                .for_each(|e| push_entry(&mut list, e, fill));
        }
        TYPE_LIST_QUICKLIST => {
            let n = r.count("quicklist node count", 1)?;
            for _ in 0..n {
                let at = r.pos;
                let blob = r.string("a quicklist ziplist node")?;
                let entries = blobs::ziplist_entries(&blob)
                    .or_else(|e| r.fail(at, format!("Ziplist integrity check failed: {e}")))?;
                entries
                    .into_iter()
                    .for_each(|e| push_entry(&mut list, e, fill));
            }
        }
        _ => {
            let n = r.count("quicklist node count", 2)?;
            for _ in 0..n {
                let at = r.pos;
                match r.len("a quicklist container")? {
                    CONTAINER_PLAIN => {
                        let node = r.string("a plain list node")?;
                        // Redis refuses a node of zero bytes, plain or packed.
                        if node.is_empty() {
                            return r.fail(at, "Quicklist integrity check failed: empty node");
                        }
                        list.push(&node, End::Tail, fill)
                    }
                    CONTAINER_PACKED => {
                        let at = r.pos;
                        let blob = r.string("a quicklist listpack node")?;
                        let entries = blobs::listpack_entries(&blob).or_else(|e| {
                            r.fail(at, format!("Listpack integrity check failed: {e}"))
                        })?;
                        entries
                            .into_iter()
                            .for_each(|e| push_entry(&mut list, e, fill));
                    }
                    other => {
                        return r.fail(
                            at,
                            format!("Quicklist integrity check failed: container {other}"),
                        )
                    }
                }
            }
        }
    }
    Ok((!list.is_empty()).then_some(list))
}

fn load_set<R: Read>(r: &mut Reader<R>, kind: u8, limits: &Limits) -> LoadResult<Option<Set>> {
    let max = limits.set_max_intset;
    if kind == TYPE_SET_INTSET {
        let members = with_blob(r, "Intset", blobs::intset_members)?;
        let mut set = Set::new_intset();
        for n in members {
            set.add_member(Member::Int(n), max);
        }
        return Ok((!set.is_empty()).then_some(set));
    }
    let n = r.count("set size", 1)?;
    let mut set = if n > max {
        Set::new_table()
    } else {
        Set::new_intset()
    };
    for _ in 0..n {
        let at = r.pos;
        let member = r.string("a set member")?;
        if !set.add(&member, max) {
            return r.fail(at, "Duplicate set members detected");
        }
    }
    Ok((!set.is_empty()).then_some(set))
}

/// Member/score pairs from a ziplist or listpack's entries.
fn packed_pairs(entries: Vec<Entry>, what: &str) -> blobs::BlobResult<Vec<(Vec<u8>, f64)>> {
    if !entries.len().is_multiple_of(2) {
        return Err(format!("{what} has an odd number of entries"));
    }
    entries
        .chunks_exact(2)
        .map(|pair| {
            let score = match pair[1] {
                Entry::Int(n) => n as f64,
                Entry::Str(s) => parse_f64(s)
                    .ok_or_else(|| format!("{what} has a score that is not a number"))?,
            };
            Ok((pair[0].to_vec(), score))
        })
        .collect()
}

fn load_zset<R: Read>(r: &mut Reader<R>, kind: u8, limits: &Limits) -> LoadResult<Option<ZSet>> {
    let at = r.pos;
    let pairs: Vec<(Vec<u8>, f64)> = match kind {
        TYPE_ZSET | TYPE_ZSET_2 => {
            let n = r.count("zset size", 2)?;
            let mut pairs = Vec::with_capacity(n.min(4096));
            for _ in 0..n {
                let member = r.string("a zset member")?;
                let score = if kind == TYPE_ZSET {
                    r.text_double("a zset score")?
                } else {
                    r.binary_double("a zset score")?
                };
                pairs.push((member, score));
            }
            pairs
        }
        TYPE_ZSET_ZIPLIST => with_blob(r, "Zset ziplist", |b| {
            packed_pairs(blobs::ziplist_entries(b)?, "zset ziplist")
        })?,
        _ => with_blob(r, "Zset listpack", |b| {
            packed_pairs(blobs::listpack_entries(b)?, "zset listpack")
        })?,
    };
    if pairs.iter().any(|(_, s)| s.is_nan()) {
        return r.fail(at, "zset with NAN score detected");
    }
    let longest = pairs.iter().map(|(m, _)| m.len()).max().unwrap_or(0);
    let mut z = ZSet::for_size(pairs.len(), longest, limits.zset);
    for (member, score) in &pairs {
        if !z.insert(member, *score, limits.zset) {
            return r.fail(at, "Duplicate zset fields detected");
        }
    }
    Ok((!z.is_empty()).then_some(z))
}

fn load_hash<R: Read>(r: &mut Reader<R>, kind: u8, limits: &Limits) -> LoadResult<Option<Hash>> {
    let at = r.pos;
    // A hash known to be too big for a listpack starts as a table: filling a listpack first
    // would cost a linear duplicate check per field.
    let for_count = |n: usize| {
        if n > limits.hash.max_entries {
            Hash::new_table()
        } else {
            Hash::new()
        }
    };
    let mut h: Hash;
    let add = |h: &mut Hash, field: &[u8], value: &[u8]| h.set(field, value, limits.hash);
    match kind {
        TYPE_HASH => {
            let n = r.count("hash size", 2)?;
            h = for_count(n);
            for _ in 0..n {
                let at = r.pos;
                let field = r.string("a hash field")?;
                let value = r.string("a hash value")?;
                if !add(&mut h, &field, &value) {
                    return r.fail(at, "Duplicate hash fields detected");
                }
            }
        }
        TYPE_HASH_ZIPMAP => {
            let blob = r.string("a zipmap")?;
            let pairs = blobs::zipmap_pairs(&blob)
                .or_else(|e| r.fail(at, format!("Zipmap integrity check failed: {e}")))?;
            if pairs.is_empty() {
                // Redis's zipmap check refuses an empty one (other empty types are skipped).
                return r.fail(at, "Zipmap integrity check failed: empty zipmap");
            }
            h = for_count(pairs.len());
            for (field, value) in pairs {
                if !add(&mut h, field, value) {
                    return r.fail(at, "Hash zipmap with dup elements");
                }
            }
        }
        _ => {
            let name = if kind == TYPE_HASH_ZIPLIST {
                "Hash ziplist"
            } else {
                "Hash listpack"
            };
            let blob = r.string("a hash listpack or ziplist")?;
            let entries = if kind == TYPE_HASH_ZIPLIST {
                blobs::ziplist_entries(&blob)
            } else {
                blobs::listpack_entries(&blob)
            }
            .and_then(|e| {
                if e.len().is_multiple_of(2) {
                    Ok(e)
                } else {
                    Err("odd number of entries".into())
                }
            })
            .or_else(|e| r.fail(at, format!("{name} integrity check failed: {e}")))?;
            h = for_count(entries.len() / 2);
            for pair in entries.chunks_exact(2) {
                if !add(&mut h, &pair[0].to_vec(), &pair[1].to_vec()) {
                    // Redis finds a ziplist's duplicates in its integrity check, and a
                    // listpack's when converting it ("listpack with dup elements").
                    return r.fail(
                        at,
                        if kind == TYPE_HASH_ZIPLIST {
                            "Hash ziplist integrity check failed: dup elements"
                        } else {
                            "Hash listpack with dup elements"
                        },
                    );
                }
            }
        }
    }
    Ok((!h.is_empty()).then_some(h))
}
