//! Small shared routines with Redis's exact semantics: strict number parsing and printing
//! (Redis: `util.c`, `string2ll`, `d2string`), `long double` arithmetic for INCRBYFLOAT
//! (`string2ld`, `ld2string`), glob matching (`stringmatchlen`) and the keyspace-event class
//! letters (`notify_flags`), `sdscatrepr` quoting (`repr`), and forked children for snapshots (`process`).

mod glob;
pub mod hdr_histogram;
mod long_double;
pub mod notify_flags;
mod number;
pub mod process;
mod repr;

pub use glob::glob_match;
pub use long_double::{LongDouble, MAX_LONG_DOUBLE_CHARS};
pub use number::{
    format_double, parse_f64, parse_i64, string2d, strtod_whole, write_i64, write_u64, I64_BUF,
};
pub use repr::cat_repr;

/// Is this server a replica? Only the log reads it: Redis's log lines name the role of the
/// process that wrote them (`pid:M` a master, `pid:S` a replica, `pid:C` a forked child), and
/// the logger cannot reach the loop's state. Written by the loop when the role changes.
pub static LOG_ROLE_REPLICA: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);
