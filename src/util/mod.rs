//! Small shared routines with Redis's exact semantics: strict number parsing and printing
//! (Redis: `util.c`, `string2ll`, `d2string`, `ld2string`) and glob matching (`stringmatchlen`).

mod glob;
mod number;

pub use glob::glob_match;
pub use number::{
    format_double, format_human_double, parse_f64, parse_i64, parse_u64, write_i64, I64_BUF,
};
