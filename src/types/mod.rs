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
pub mod geohash;
pub mod hash;
pub mod hll;
pub mod list;
pub mod sds;
pub mod set;
pub mod stream;
pub mod zset;

/// The total of `len` element sizes, estimated from the first `samples` of them (Redis's
/// `objectComputeSize`: MEMORY USAGE costs O(samples), not O(elements)).
pub(crate) fn sampled_total(
    sizes: impl Iterator<Item = usize>,
    len: usize,
    samples: usize,
) -> usize {
    let (taken, sum) = sizes
        .take(samples)
        .fold((0usize, 0usize), |(n, total), size| (n + 1, total + size));
    if taken == 0 || taken >= len {
        sum
    } else {
        (sum as f64 / taken as f64 * len as f64) as usize
    }
}
