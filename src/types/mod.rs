//! The data structures behind Redis's collection types, one file per type (Redis: `t_list.c`,
//! `t_hash.c`, `t_set.c`, `t_zset.c`, plus `listpack.c`, `intset.c`, `quicklist.c`).
//!
//! These modules know nothing about clients or RESP: they hold elements and answer questions in
//! plain Rust types. The two building blocks every type shares live here too: [`sds::Sds`], the
//! binary-safe string, and [`dict::Dict`], the hash table with O(1) random sampling (Redis:
//! `sds.c`, `dict.c`); the keyspace (`src/db/`) is built on them, so `types` sits below `db` and
//! imports nothing from it. The command layer (`src/command/`) parses arguments, calls them, and writes
//! replies.

pub mod dict;
pub mod hash;
pub mod list;
pub mod sds;
pub mod set;
pub mod zset;
