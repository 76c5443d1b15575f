//! Round trips through the RDB format for every type and encoding, and the loader's
//! resistance to damaged files.

use super::rdb::{self, Checksum, Limits, LoadOptions, SaveOptions};
use crate::db::value::Value;
use crate::db::Db;
use crate::types::hash::Hash;
use crate::types::list::{End, List};
use crate::types::sds::Sds;
use crate::types::set::Set;
use crate::types::zset::ZSet;

const NOW: i64 = 1_700_000_000_000;

fn save_opts(compression: bool, checksum: bool) -> SaveOptions {
    SaveOptions {
        compression,
        checksum,
        now_ms: NOW,
        used_mem: 12345,
        save_idle: false,
        key_save_delay_us: 0,
        aof_base: false,
        repl: None,
        functions: Vec::new(),
    }
}

fn load_opts() -> LoadOptions {
    LoadOptions {
        verify_checksum: true,
        now_ms: NOW,
        limits: Limits::default(),
        collect_expired: false,
    }
}

fn dbs(n: usize) -> Vec<Db> {
    (0..n).map(Db::new).collect()
}

/// A normalised, comparable dump of one database: key -> (type, encoding, sorted contents, ttl).
/// (key, type/encoding, contents, TTL).
type KeyDescription = (Vec<u8>, String, Vec<Vec<u8>>, Option<i64>);

fn describe(db: &Db) -> Vec<KeyDescription> {
    let mut out: Vec<_> = db
        .dict
        .iter()
        .map(|(k, obj)| {
            let v = &obj.value;
            let mut items: Vec<Vec<u8>> = match v {
                Value::Str(s) => vec![s.to_vec()],
                // Order matters for lists: keep it, prefix with the index.
                Value::List(l) => l
                    .iter()
                    .enumerate()
                    .map(|(i, e)| [format!("{i:08}:").into_bytes(), e.to_vec()].concat())
                    .collect(),
                Value::Hash(h) => h.iter().map(|(f, v)| [f, b"=", v].concat()).collect(),
                Value::Set(s) => s.iter().map(|m| m.to_sds().to_vec()).collect(),
                Value::ZSet(z) => z
                    .iter()
                    .map(|(m, s)| [m, b"@", s.to_bits().to_string().as_bytes()].concat())
                    .collect(),
                // Nodes, counters, groups and PELs, all in one canonical form.
                Value::Stream(_) => vec![super::rdb::dump_payload(v, false)],
            };
            if !matches!(v, Value::List(_)) {
                items.sort();
            }
            let kind = format!("{}/{}", v.type_name(), v.encoding_name());
            (k.to_vec(), kind, items, db.get_expire(k))
        })
        .collect();
    out.sort();
    out
}

fn round_trip(source: &[Db], compression: bool, checksum: bool) -> Vec<Db> {
    let bytes = rdb::save_to_vec(source, &save_opts(compression, checksum));
    let mut target = dbs(source.len());
    let loaded = rdb::load(&bytes, &mut target, &load_opts()).expect("own file loads");
    assert_eq!(loaded.version, 10);
    assert_eq!(
        loaded.aux(b"redis-ver".as_slice().escape_ascii().to_string().as_str()),
        Some(&b"7.0.15"[..])
    );
    assert_eq!(
        loaded.checksum,
        if checksum {
            Checksum::Verified
        } else {
            Checksum::NotComputed
        }
    );
    for (a, b) in source.iter().zip(&target) {
        assert_eq!(describe(a), describe(b), "db {}", a.id);
    }
    target
}

fn put(db: &mut Db, key: &str, value: Value) {
    db.add(key.as_bytes(), value, NOW);
}

fn list_of(items: impl IntoIterator<Item = Vec<u8>>) -> Value {
    let mut l = List::new();
    for i in items {
        l.push(&i, End::Tail, -2);
    }
    Value::List(l)
}

fn hash_of(pairs: impl IntoIterator<Item = (Vec<u8>, Vec<u8>)>) -> Value {
    let mut h = Hash::new();
    for (f, v) in pairs {
        h.set(&f, &v, Limits::default().hash);
    }
    Value::Hash(h)
}

fn set_of(members: impl IntoIterator<Item = Vec<u8>>) -> Value {
    let mut s = Set::new_intset();
    for m in members {
        s.add(&m, 512);
    }
    Value::Set(s)
}

fn zset_of(pairs: impl IntoIterator<Item = (Vec<u8>, f64)>) -> Value {
    let mut z = ZSet::new();
    for (m, s) in pairs {
        z.insert(&m, s, Limits::default().zset);
    }
    Value::ZSet(z)
}

fn b(s: impl ToString) -> Vec<u8> {
    s.to_string().into_bytes()
}

/// Every type in every encoding, with TTLs, over three databases.
fn sample_dataset() -> Vec<Db> {
    let mut d = dbs(16);
    let db = &mut d[0];
    for s in [
        "",
        "0",
        "-1",
        "127",
        "128",
        "-129",
        "32767",
        "40000",
        "2147483647",
        "2147483648",
        "-2147483648",
        "9223372036854775807",
        "007",
        "+5",
        "1.5",
        "short string",
    ] {
        put(db, &format!("str:{s}"), Value::Str(Sds::new(s.as_bytes())));
    }
    put(
        db,
        "str:long",
        Value::Str(Sds::new("abcabcabc".repeat(100).as_bytes())),
    );
    put(
        db,
        "str:random",
        Value::Str(Sds::from_vec(
            (0..500u32).map(|i| (i * 7919 % 256) as u8).collect(),
        )),
    );
    put(db, "str:binary\0key", Value::Str(Sds::new(b"\x00\xff\r\n")));
    put(db, "12345", Value::Str(Sds::new(b"int key")));
    put(
        db,
        "list:small",
        list_of(["a", "1", "-5000", "hello", "70000", "9999999999"].map(b)),
    );
    put(
        db,
        "list:big",
        list_of((0..20_000).map(|i| b(format!("element-{i}")))),
    );
    put(
        db,
        "list:huge-elem",
        list_of([vec![b'x'; 100_000], b("after")]),
    );
    put(
        db,
        "hash:small",
        hash_of((0..10).map(|i| (b(format!("f{i}")), b(i)))),
    );
    put(
        db,
        "hash:big",
        hash_of((0..1000).map(|i| (b(format!("field{i}")), b(format!("value{i}"))))),
    );
    put(db, "hash:longval", hash_of([(b("f"), vec![b'v'; 100])]));
    put(
        db,
        "set:ints",
        set_of((0..100).map(|i| b(i * 1000 - 50_000))),
    );
    put(
        db,
        "set:wide-ints",
        set_of([b(i64::MIN), b(0), b(i64::MAX)]),
    );
    put(db, "set:strs", set_of((0..50).map(|i| b(format!("m{i}")))));
    put(db, "set:bigints", set_of((0..1000).map(b)));
    put(
        db,
        "zset:small",
        zset_of([
            (b("a"), 1.0),
            (b("b"), 2.5),
            (b("c"), -3.25),
            (b("d"), f64::INFINITY),
            (b("e"), f64::NEG_INFINITY),
            (b("f"), 0.1),
            (b("g"), 1e300),
        ]),
    );
    put(
        db,
        "zset:big",
        zset_of((0..1000).map(|i| (b(format!("member{i}")), f64::from(i) / 7.0))),
    );
    put(db, "zset:longmember", zset_of([(vec![b'm'; 100], 1.0)]));
    db.set_expire(b"str:0", NOW + 100_000);
    db.set_expire(b"list:big", NOW + 1);
    db.set_expire(b"zset:big", i64::MAX / 2);
    let db1 = &mut d[1];
    put(db1, "k", Value::Str(Sds::new(b"in db 1")));
    let db15 = &mut d[15];
    put(db15, "k", Value::Str(Sds::new(b"in db 15")));
    put(db15, "l", list_of([b("x")]));
    db15.set_expire(b"k", NOW + 5);
    d
}

#[test]
fn every_type_round_trips_with_and_without_compression_and_checksum() {
    let d = sample_dataset();
    let loaded = round_trip(&d, true, true);
    // The encodings Redis would pick came back.
    let enc = |k: &str| {
        loaded[0]
            .dict
            .get(k.as_bytes())
            .map(|o| o.value.encoding_name())
    };
    assert_eq!(enc("hash:small"), Some("listpack"));
    assert_eq!(enc("hash:big"), Some("hashtable"));
    assert_eq!(enc("hash:longval"), Some("hashtable"));
    assert_eq!(enc("set:ints"), Some("intset"));
    assert_eq!(enc("set:strs"), Some("hashtable"));
    assert_eq!(enc("set:bigints"), Some("hashtable"));
    assert_eq!(enc("zset:small"), Some("listpack"));
    assert_eq!(enc("zset:big"), Some("skiplist"));
    round_trip(&d, false, true);
    round_trip(&d, true, false);
}

#[test]
fn compression_shrinks_repetitive_strings() {
    let d = sample_dataset();
    let plain = rdb::save_to_vec(&d, &save_opts(false, true));
    let packed = rdb::save_to_vec(&d, &save_opts(true, true));
    assert!(
        packed.len() + 500 < plain.len(),
        "{} vs {}",
        packed.len(),
        plain.len()
    );
}

#[test]
fn header_aux_and_footer_are_redis_7s() {
    let mut d = dbs(16);
    put(&mut d[0], "a", Value::Str(Sds::new(b"1")));
    let bytes = rdb::save_to_vec(&d, &save_opts(true, true));
    assert!(bytes.starts_with(b"REDIS0010\xfa\x09redis-ver\x067.0.15\xfa\x0aredis-bits\xc0\x40"));
    // ctime (1700000000 fits 32 bits), used-mem 12345 (16 bits), aof-base 0.
    let ctime = [
        &[0xfa, 0x05][..],
        b"ctime",
        &[0xc2],
        &1_700_000_000i32.to_le_bytes(),
    ]
    .concat();
    assert!(bytes.windows(ctime.len()).any(|w| w == ctime));
    let tail = [
        &[0xfa, 0x08][..],
        b"aof-base",
        &[0xc0, 0x00],
        &[0xfe, 0x00, 0xfb, 0x01, 0x00],
        &[0x00, 0x01, b'a', 0xc0, 0x01, 0xff],
    ]
    .concat();
    let at = bytes.len() - 8 - tail.len();
    assert_eq!(&bytes[at..bytes.len() - 8], &tail[..]);
    let crc = super::rdb::CRC64.checksum(&bytes[..bytes.len() - 8]);
    assert_eq!(&bytes[bytes.len() - 8..], &crc.to_le_bytes());
    // Redis's own test vector for its crc64.
    assert_eq!(super::rdb::CRC64.checksum(b"123456789"), 0xe9c6d914c4b8d9ca);
}

#[test]
fn expired_keys_are_skipped_on_load_and_empty_dbs_are_not_written() {
    let mut d = dbs(4);
    put(&mut d[2], "gone", Value::Str(Sds::new(b"x")));
    put(&mut d[2], "stays", Value::Str(Sds::new(b"y")));
    d[2].set_expire(b"gone", NOW - 1);
    d[2].set_expire(b"stays", NOW + 1);
    let bytes = rdb::save_to_vec(&d, &save_opts(true, true));
    let mut target = dbs(4);
    let loaded = rdb::load(&bytes, &mut target, &load_opts()).unwrap();
    assert_eq!((loaded.keys_loaded, loaded.expired_skipped), (1, 1));
    assert_eq!(target[2].get_expire(b"stays"), Some(NOW + 1));
    assert!(!bytes.windows(2).any(|w| w == [0xfe, 0x00]));
}

#[test]
fn too_few_databases_and_bad_checksums_are_errors() {
    let d = sample_dataset();
    let bytes = rdb::save_to_vec(&d, &save_opts(true, true));
    let mut few = dbs(2);
    let err = rdb::load(&bytes, &mut few, &load_opts()).unwrap_err();
    assert!(err.message.contains("database 15"), "{err}");
    let mut bad = bytes.clone();
    let n = bad.len();
    bad[n - 1] ^= 1;
    let mut target = dbs(16);
    let err = rdb::load(&bad, &mut target, &load_opts()).unwrap_err();
    assert!(err.message.contains("checksum"), "{err}");
    assert_eq!(err.offset, n - 8);
    assert!(target.iter().all(Db::is_empty), "nothing half-loaded");
    // With verification off, the same file loads.
    let mut opts = load_opts();
    opts.verify_checksum = false;
    assert!(rdb::load(&bad, &mut target, &opts).is_ok());
}

#[test]
fn load_replaces_what_was_there() {
    let d = sample_dataset();
    let bytes = rdb::save_to_vec(&d, &save_opts(true, true));
    let mut target = dbs(16);
    put(&mut target[3], "old", Value::Str(Sds::new(b"x")));
    rdb::load(&bytes, &mut target, &load_opts()).unwrap();
    assert!(target[3].is_empty());
    assert_eq!(target[0].len(), d[0].len());
}

/// A small hand-built file in the old encodings (Redis 2.x-6.x): zipmap hash, ziplist list,
/// quicklist of ziplists, ziplist zset and hash, text-score zset, plain list, seconds expiry.
#[test]
fn old_encodings_load() {
    fn ziplist(items: &[&[u8]]) -> Vec<u8> {
        let mut body = Vec::new();
        let mut prev = 0usize;
        let mut last = 10;
        for it in items {
            last = 10 + body.len();
            let mut e = vec![prev as u8];
            let canonical = std::str::from_utf8(it)
                .ok()
                .and_then(|t| t.parse::<i16>().ok())
                .filter(|n| n.to_string().as_bytes() == *it);
            match canonical {
                Some(n) => {
                    e.push(0xC0);
                    e.extend_from_slice(&n.to_le_bytes());
                }
                None => {
                    e.push(it.len() as u8);
                    e.extend_from_slice(it);
                }
            }
            prev = e.len();
            body.extend_from_slice(&e);
        }
        let mut z = Vec::new();
        z.extend_from_slice(&((11 + body.len()) as u32).to_le_bytes());
        z.extend_from_slice(&(last as u32).to_le_bytes());
        z.extend_from_slice(&(items.len() as u16).to_le_bytes());
        z.extend_from_slice(&body);
        z.push(0xFF);
        z
    }
    fn s(out: &mut Vec<u8>, x: &[u8]) {
        out.push(x.len() as u8);
        out.extend_from_slice(x);
    }
    let mut f = b"REDIS0006".to_vec();
    f.extend_from_slice(&[0xFE, 0x00]);
    // zipmap hash {f1: v1, f2: vv2}
    f.push(9);
    s(&mut f, b"zm");
    let zm = [
        &[2u8][..],
        &[2],
        b"f1",
        &[2, 0],
        b"v1",
        &[2],
        b"f2",
        &[3, 1],
        b"vv2",
        &[0],
        &[0xFF],
    ]
    .concat();
    s(&mut f, &zm);
    // ziplist list [a, 12, bc]
    f.push(10);
    s(&mut f, b"zl");
    s(&mut f, &ziplist(&[b"a", b"12", b"bc"]));
    // quicklist (v1) of two ziplists
    f.push(14);
    s(&mut f, b"ql");
    f.push(2);
    s(&mut f, &ziplist(&[b"x", b"y"]));
    s(&mut f, &ziplist(&[b"z"]));
    // ziplist zset {m1: 1, m2: 2.5}
    f.push(12);
    s(&mut f, b"zz");
    s(&mut f, &ziplist(&[b"m1", b"1", b"m2", b"2.5"]));
    // ziplist hash {a: 1}
    f.push(13);
    s(&mut f, b"zh");
    s(&mut f, &ziplist(&[b"a", b"1"]));
    // old zset with text scores {p: 1.5, q: inf}
    f.push(3);
    s(&mut f, b"oz");
    f.push(2);
    s(&mut f, b"p");
    s(&mut f, b"1.5");
    s(&mut f, b"q");
    f.push(254);
    // plain list with an expiry in seconds, far in the future
    f.push(0xFD);
    f.extend_from_slice(&2_000_000_000i32.to_le_bytes());
    f.push(1);
    s(&mut f, b"pl");
    f.push(2);
    s(&mut f, b"one");
    s(&mut f, b"two");
    f.push(0xFF);
    f.extend_from_slice(&[0; 8]);
    let mut target = dbs(16);
    let loaded = rdb::load(&f, &mut target, &load_opts()).unwrap();
    assert_eq!(loaded.keys_loaded, 7);
    let db = &target[0];
    let text: Vec<_> = describe(db)
        .into_iter()
        .map(|(k, t, items, ttl)| {
            let items: Vec<String> = items
                .iter()
                .map(|i| String::from_utf8_lossy(i).into_owned())
                .collect();
            format!("{} {t} {items:?} {ttl:?}", String::from_utf8_lossy(&k))
        })
        .collect();
    let one = 1.0f64.to_bits();
    let two5 = 2.5f64.to_bits();
    let one5 = 1.5f64.to_bits();
    let inf = f64::INFINITY.to_bits();
    assert_eq!(
        text,
        vec![
            r#"ol"#.replace("ol", "oz")
                + &format!(" zset/listpack [\"p@{one5}\", \"q@{inf}\"] None"),
            "pl list/quicklist [\"00000000:one\", \"00000001:two\"] Some(2000000000000)"
                .to_string(),
            "ql list/quicklist [\"00000000:x\", \"00000001:y\", \"00000002:z\"] None".to_string(),
            "zh hash/listpack [\"a=1\"] None".to_string(),
            "zl list/quicklist [\"00000000:a\", \"00000001:12\", \"00000002:bc\"] None".to_string(),
            "zm hash/listpack [\"f1=v1\", \"f2=vv2\"] None".to_string(),
            format!("zz zset/listpack [\"m1@{one}\", \"m2@{two5}\"] None"),
        ]
    );
}

#[test]
fn corrupt_streams_and_unknown_types_are_clear_errors() {
    // A stream of no nodes that claims 5 entries.
    let mut f = b"REDIS0010\xfe\x00\x13\x05mykey\x00\x05".to_vec();
    f.extend_from_slice(&[0; 20]);
    let err = rdb::load(&f, &mut dbs(16), &load_opts()).unwrap_err();
    assert!(err.message.contains("Stream length inconsistent"), "{err}");
    let f = b"REDIS0010\xfe\x00\x42\x01k\x01v\xff";
    let err = rdb::load(f, &mut dbs(16), &load_opts()).unwrap_err();
    assert!(
        err.message.contains("unknown RDB encoding type 66"),
        "{err}"
    );
    let err = rdb::load(b"REDIS0011\xff", &mut dbs(16), &load_opts()).unwrap_err();
    assert!(err.message.contains("version"), "{err}");
    let err = rdb::load(b"RADIS0010\xff", &mut dbs(16), &load_opts()).unwrap_err();
    assert!(err.message.contains("signature"), "{err}");
}

#[test]
fn duplicates_are_refused() {
    // Two keys "k" in db 0.
    let f = b"REDIS0010\xfe\x00\x00\x01k\x01a\x00\x01k\x01b\xff\0\0\0\0\0\0\0\0";
    let err = rdb::load(f, &mut dbs(16), &load_opts()).unwrap_err();
    assert!(err.message.contains("duplicated key 'k'"), "{err}");
    // A set with a member twice.
    let f = b"REDIS0010\xfe\x00\x02\x01s\x02\x01a\x01a\xff\0\0\0\0\0\0\0\0";
    let err = rdb::load(f, &mut dbs(16), &load_opts()).unwrap_err();
    assert!(err.message.contains("Duplicate set members"), "{err}");
}

#[test]
fn huge_claimed_lengths_do_not_allocate() {
    // A string claiming 2^64-1 bytes, a list claiming 2^32-1 elements, an LZF string claiming 4 GB.
    for body in [
        &b"\x00\x01k\x81\xff\xff\xff\xff\xff\xff\xff\xff"[..],
        &b"\x01\x01k\x80\xff\xff\xff\xff\x01a"[..],
        &b"\x00\x01k\xc3\x02\x80\xff\xff\xff\xff\x00a"[..],
    ] {
        let f = [&b"REDIS0010\xfe\x00"[..], body].concat();
        let err = rdb::load(&f, &mut dbs(16), &load_opts()).unwrap_err();
        assert!(err.offset >= 11, "{err}");
    }
}

/// Truncate a valid file at every length and flip bits at every position: the loader must
/// return (Ok or Err), never panic, and leave the databases untouched on Err.
#[test]
fn damaged_files_never_panic() {
    let mut d = dbs(16);
    put(&mut d[0], "s", Value::Str(Sds::new(b"hello")));
    put(&mut d[0], "n", Value::Str(Sds::new(b"12345")));
    put(
        &mut d[0],
        "lz",
        Value::Str(Sds::new("xyzxyzxyz".repeat(10).as_bytes())),
    );
    put(
        &mut d[0],
        "l",
        list_of(["a", "1", "-5000", "hello", "70000"].map(b)),
    );
    put(&mut d[0], "h", hash_of([(b("f"), b("v")), (b("g"), b(10))]));
    put(&mut d[0], "hb", hash_of((0..130).map(|i| (b(i), b(i)))));
    put(&mut d[1], "si", set_of([b(1), b(70000)]));
    put(&mut d[1], "ss", set_of([b("a"), b("b")]));
    put(&mut d[1], "z", zset_of([(b("a"), 1.5), (b("b"), 2.0)]));
    put(
        &mut d[1],
        "zb",
        zset_of((0..130).map(|i| (b(i), f64::from(i)))),
    );
    d[1].set_expire(b"z", NOW + 1000);
    // Without the checksum, so that damage reaches the parsers instead of stopping at the CRC.
    let good = rdb::save_to_vec(&d, &save_opts(true, false));
    let opts = load_opts();
    for cut in 0..good.len() {
        let mut target = dbs(16);
        let _ = rdb::load(&good[..cut], &mut target, &opts);
    }
    for pos in 0..good.len() {
        for flip in [0x01u8, 0x80, 0xff, 0x40, 0x10] {
            let mut bad = good.clone();
            bad[pos] ^= flip;
            let mut target = dbs(16);
            if rdb::load(&bad, &mut target, &opts).is_err() {
                assert!(target.iter().all(Db::is_empty));
            }
        }
    }
}

/// DUMP payloads round-trip every value, and damaged ones (checksum off, so the damage reaches
/// the parser) never panic.
#[test]
fn dump_payloads_round_trip_and_resist_damage() {
    let d = sample_dataset();
    let limits = Limits::default();
    for (key, obj) in d[0].dict.iter() {
        for compression in [false, true] {
            let payload = rdb::dump_payload(&obj.value, compression);
            let back = rdb::restore_payload(&payload, true, &limits).expect("own payload");
            let mut a = dbs(1);
            let mut b = dbs(1);
            a[0].add(key, obj.value.clone(), NOW);
            b[0].add(key, back, NOW);
            assert_eq!(describe(&a[0]), describe(&b[0]));
        }
        let payload = rdb::dump_payload(&obj.value, true);
        if payload.len() > 300 {
            continue;
        }
        for pos in 0..payload.len() {
            let mut bad = payload.clone();
            bad[pos] ^= 0x21;
            let _ = rdb::restore_payload(&bad, false, &limits);
            assert!(rdb::restore_payload(&bad, true, &limits).is_err());
        }
    }
}

/// Under an LRU policy each key's idle time is saved (OP_IDLE) and restored into its clock.
#[test]
fn idle_times_survive_a_round_trip() {
    let mut d = dbs(1);
    put(&mut d[0], "fresh", Value::Str(Sds::new(b"x")));
    put(&mut d[0], "old", Value::Str(Sds::new(b"y")));
    if let Some(obj) = d[0].dict.get_mut(b"old".as_slice()) {
        obj.lru -= 3600;
    }
    let mut opts = save_opts(true, true);
    opts.save_idle = true;
    let bytes = rdb::save_to_vec(&d, &opts);
    let mut target = dbs(1);
    rdb::load(&bytes, &mut target, &load_opts()).unwrap();
    let idle = |k: &str| {
        target[0]
            .dict
            .get(k.as_bytes())
            .map(|o| o.idle_seconds(NOW))
    };
    assert_eq!((idle("fresh"), idle("old")), (Some(0), Some(3600)));
}

/// The message of a RESTORE payload's refusal (CRC not checked, as after Redis's
/// `DEBUG SET-SKIP-CHECKSUM-VALIDATION 1`).
fn restore_error(payload: &[u8]) -> String {
    match rdb::restore_payload(payload, false, &Limits::default()) {
        Ok(_) => panic!("payload accepted"),
        Err(e) => e.message,
    }
}

/// Payloads from Redis's integration/corrupt-dump: refused, with the words of Redis's log line
/// (the Tcl test greps the log for them).
#[test]
fn corrupt_dump_payloads_are_refused_with_redis_s_reasons() {
    // A quicklist node of zero bytes ("quicklist encoded_len is 0").
    let empty_node = b"\x12\x01\x01\x00\x0a\x00\x8f\xc6\xc0\x57\x1c\x0a\xb3\x3c";
    assert!(restore_error(empty_node).contains("Quicklist integrity check failed"));
    // An empty zipmap ("hash empty zipmap").
    let empty_zipmap = b"\x09\x02\x00\xFF\x09\x00\xC0\xF1\xB8\x67\x4C\x16\xAC\xE3";
    assert!(restore_error(empty_zipmap).contains("Zipmap integrity check failed"));
    // A hash ziplist holding field "a" twice ("valid zipped hash header, dup records").
    let dup_ziplist = b"\x0D\x1B\x1B\x00\x00\x00\x16\x00\x00\x00\x04\x00\x00\x02\x61\x00\x04\x02\x62\x00\x04\x02\x61\x00\x04\x02\x64\x00\xFF\x09\x00\xA1\x98\x36\x78\xCC\x8E\x93\x2E";
    assert!(restore_error(dup_ziplist).contains("Hash ziplist integrity check failed"));
    // The same as a listpack ("hash listpack with duplicate records").
    let dup_listpack = b"\x10\x17\x17\x00\x00\x00\x04\x00\x82\x61\x00\x03\x82\x62\x00\x03\x82\x61\x00\x03\x82\x64\x00\x03\xff\x0a\x00\xc0\xcf\xa6\x87\xe5\xa7\xc5\xbe";
    assert!(restore_error(dup_listpack).contains("listpack with dup elements"));
}

/// The first ten empty collections of a file are named for the log, as Redis names them.
#[test]
fn empty_keys_are_counted_and_the_first_ten_named() {
    let mut w = Vec::new();
    w.extend_from_slice(b"REDIS0010");
    w.push(0xFE); // SELECTDB 0
    w.push(0);
    for i in 0..12u8 {
        w.push(2); // a set, stored as a plain table
        let key = format!("empty{i:02}");
        w.push(key.len() as u8);
        w.extend_from_slice(key.as_bytes());
        w.push(0); // of no members
    }
    w.push(0xFF);
    w.extend_from_slice(&[0; 8]); // checksum not computed
    let mut d = dbs(16);
    let loaded = rdb::load(&w, &mut d, &load_opts()).expect("empty keys are skipped");
    assert_eq!(loaded.empty_skipped, 12);
    assert_eq!(loaded.keys_loaded, 0);
    let named: Vec<&[u8]> = loaded.empty_keys.iter().map(Vec::as_slice).collect();
    assert_eq!(named.len(), rdb::EMPTY_KEYS_NAMED);
    assert_eq!(named[0], b"empty00");
    assert_eq!(named[9], b"empty09");
}

/// Feeds `bytes` to a [`rdb::StreamLoad`] as a socket would, `chunk` bytes at a time, with
/// the caller's doubling rule; returns the databases, the summary and how many attempts were
/// incomplete.
fn stream_load(bytes: &[u8], chunk: usize, databases: usize) -> (Vec<Db>, rdb::Loaded, usize) {
    let mut target = dbs(databases);
    let mut load = rdb::StreamLoad::new(load_opts());
    let (mut start, mut arrived, mut retry_at, mut incomplete) = (0, 0, 0, 0);
    while !load.is_done() {
        arrived = (arrived + chunk).min(bytes.len());
        let ended = arrived == bytes.len();
        while arrived - start >= retry_at || ended {
            match load.step(&bytes[start..arrived], ended, &mut target) {
                Ok(rdb::Step::NeedMore) => {
                    incomplete += 1;
                    retry_at = (arrived - start) * 2;
                    break;
                }
                Ok(rdb::Step::Entry { consumed, .. }) => {
                    start += consumed;
                    retry_at = 0;
                }
                Ok(rdb::Step::Done { consumed }) => {
                    start += consumed;
                    break;
                }
                Err(e) => panic!("stream load failed: {e}"),
            }
        }
    }
    assert_eq!(start, bytes.len(), "the whole image was consumed");
    assert_eq!(load.offset(), bytes.len());
    let loaded = load.into_loaded().expect("header read");
    (target, loaded, incomplete)
}

#[test]
fn a_stream_load_fed_in_pieces_loads_what_a_whole_load_does() {
    let d = sample_dataset();
    for (compression, checksum) in [(true, true), (false, false)] {
        let bytes = rdb::save_to_vec(&d, &save_opts(compression, checksum));
        for chunk in [1, 7, 1000, bytes.len()] {
            let (target, loaded, _) = stream_load(&bytes, chunk, d.len());
            for (a, b) in d.iter().zip(&target) {
                assert_eq!(describe(a), describe(b), "db {} chunk {chunk}", a.id);
            }
            let expected = if checksum {
                Checksum::Verified
            } else {
                Checksum::NotComputed
            };
            assert_eq!(loaded.checksum, expected);
            assert_eq!(loaded.aux("redis-ver"), Some(&b"7.0.15"[..]));
        }
    }
}

#[test]
fn a_big_value_arriving_byte_by_byte_is_parsed_a_logarithmic_number_of_times() {
    let mut d = dbs(1);
    put(&mut d[0], "big", Value::Str(Sds::from(vec![b'x'; 1 << 20])));
    let bytes = rdb::save_to_vec(&d, &save_opts(false, true));
    let (target, _, incomplete) = stream_load(&bytes, 1, 1);
    assert_eq!(describe(&target[0]), describe(&d[0]));
    // 1 MB one byte at a time: about log2(1M) = 20 incomplete attempts, not a million.
    assert!(incomplete < 64, "{incomplete} incomplete attempts");
}

#[test]
fn a_stream_load_tells_a_short_payload_from_a_corrupt_one() {
    let d = sample_dataset();
    let bytes = rdb::save_to_vec(&d, &save_opts(true, true));
    let mut target = dbs(d.len());
    let mut load = rdb::StreamLoad::new(load_opts());
    // Cut inside the header: more may come, or (ended) it is a short read.
    assert_eq!(
        load.step(&bytes[..5], false, &mut target),
        Ok(rdb::Step::NeedMore)
    );
    assert!(load.step(&bytes[..5], true, &mut target).is_err());
    // A wrong checksum is an error as soon as it is read.
    let mut bad = bytes.clone();
    let n = bad.len();
    bad[n - 1] ^= 1;
    let mut load = rdb::StreamLoad::new(load_opts());
    let mut start = 0;
    let err = loop {
        match load.step(&bad[start..], false, &mut target) {
            Ok(rdb::Step::Entry { consumed, .. }) => start += consumed,
            Ok(other) => panic!("unexpected {other:?}"),
            Err(e) => break e,
        }
    };
    assert!(err.message.contains("checksum"), "{err}");
    assert_eq!(err.offset, n - 8);
}
