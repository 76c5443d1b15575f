//! The data structures behind Redis's collection types, one file per type (Redis: `t_list.c`,
//! `t_hash.c`, `t_set.c`, `t_zset.c`, plus `listpack.c`, `intset.c`, `quicklist.c`).
//!
//! These modules know nothing about clients or RESP: they hold elements and answer questions in
//! plain Rust types. The command layer (`src/command/`) parses arguments, calls them, and writes
//! replies.

pub mod hash;
pub mod list;
pub mod set;
pub mod zset;
