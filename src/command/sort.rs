//! SORT and SORT_RO (Redis: `sort.c`).
//!
//! SORT is a small query language over a list, set or sorted set:
//!
//! ```text
//! SORT key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]]
//!          [ASC | DESC] [ALPHA] [STORE destination]
//! ```
//!
//! How it runs, as in Redis's `sortCommandGeneric`:
//!
//! 1. Parse the options (a bad one is a syntax error before the key is even looked up).
//! 2. Load the elements into a vector. Lists keep their order, sets their iteration order,
//!    sorted sets their score order.
//! 3. Compute each element's *sort key*: the element itself, or the value found by substituting
//!    it for the first `*` of the BY pattern (`weight_*` -> the string at `weight_<elem>`, and
//!    `h_*->field` -> that field of the hash at `h_<elem>`). Numeric sorting parses sort keys
//!    as doubles (a value that does not parse fails the whole command with
//!    `One or more scores can't be converted into double`); ALPHA compares bytes. Equal
//!    numeric keys are ordered by the elements' bytes, so the output is deterministic.
//!    A BY pattern without `*` means "don't sort" (`BY nosort`): the native order is kept.
//! 4. Apply LIMIT, then for each element emit it, or with GET the values its patterns point
//!    to (`#` is the element itself; a missing value is null).
//! 5. With STORE, the output becomes a list at `destination` (deleted if the output is empty),
//!    and the reply is its length.
//!
//! One Redis subtlety kept: a *set* sorted with `BY nosort` and STORE, or from a script, is
//! sorted ALPHA anyway, because a set's iteration order is not something a stored result or a
//! replicated script should depend on.
//!
//! Bounded work: a list or sorted set that is not sorted (`BY nosort`) is read only over the
//! LIMIT range, as Redis does, through `List::iter_from` and `ZSet::range`; anything sorted is
//! loaded whole, since every element takes part in the sort.

use super::args;
use super::error::{CommandError, CommandResult};
use super::keyspec::{key_flags::*, GetKeys, KeySpec};
use super::notify::{NOTIFY_GENERIC, NOTIFY_LIST};
use super::table::{flags::*, CommandSpec};
use super::{notify, signal_key_as_ready, signal_modified_key, Ctx};
use crate::db::value::Value;
use crate::db::{Db, Ms};
use crate::types::list::{End, List};
use crate::types::sds::Sds;
use std::cmp::Ordering;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new(
        "sort",
        sort_command,
        -2,
        WRITE | DENYOOM | MOVABLE_KEYS,
        "generic",
    )
    .key_specs(&[
        KeySpec::at(1, RO | ACCESS),
        KeySpec::unknown(RO | ACCESS)
            .notes("For the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of the key we sort"),
        KeySpec::unknown(OW | UPDATE)
            .notes("For the optional STORE keyword. It is marked 'unknown' because the keyword can appear anywhere in the argument array"),
    ])
    .getkeys(GetKeys::Sort)
    .acl(&["@dangerous", "@list", "@set", "@sortedset"])
    .doc(
        "Sorts the elements in a list, a set, or a sorted set, optionally storing the result.",
        "1.0.0",
    ),
    CommandSpec::new(
        "sort_ro",
        sort_ro_command,
        -2,
        READONLY | MOVABLE_KEYS,
        "generic",
    )
    .key_specs(&[
        KeySpec::at(1, RO | ACCESS),
        KeySpec::unknown(RO | ACCESS)
            .notes("For the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of the key we sort"),
    ])
    .getkeys(GetKeys::SortRo)
    .acl(&["@dangerous", "@list", "@set", "@sortedset"])
    .doc(
        "Returns the sorted elements of a list, a set, or a sorted set.",
        "7.0.0",
    ),
];

/// SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC | DESC] [ALPHA]
/// [STORE destination] — the sorted elements (or GET values), or with STORE the number of
/// elements stored.
fn sort_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    sort_generic(ctx, argv, false)
}

/// SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC | DESC] [ALPHA]
/// — SORT without STORE, so it can run on replicas and be flagged read-only.
fn sort_ro_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    sort_generic(ctx, argv, true)
}

/// The parsed options of one SORT call.
struct SortOptions<'a> {
    desc: bool,
    alpha: bool,
    /// LIMIT offset count, as given (a negative count means "to the end").
    limit: Option<(i64, i64)>,
    by: Option<&'a [u8]>,
    /// BY pattern without `*`: keep the native order.
    dont_sort: bool,
    gets: Vec<&'a [u8]>,
    store: Option<&'a [u8]>,
}

impl<'a> SortOptions<'a> {
    /// `full_key_access`: the caller may read every key, which BY and GET patterns need.
    fn parse(
        argv: &[&'a [u8]],
        readonly: bool,
        full_key_access: bool,
    ) -> Result<SortOptions<'a>, CommandError> {
        let mut o = SortOptions {
            desc: false,
            alpha: false,
            limit: None,
            by: None,
            dont_sort: false,
            gets: Vec::new(),
            store: None,
        };
        let mut j = 2;
        while j < argv.len() {
            let left = argv.len() - j - 1;
            let opt = argv[j];
            if args::is(opt, "ASC") {
                o.desc = false;
            } else if args::is(opt, "DESC") {
                o.desc = true;
            } else if args::is(opt, "ALPHA") {
                o.alpha = true;
            } else if args::is(opt, "LIMIT") && left >= 2 {
                o.limit = Some((args::int(argv[j + 1])?, args::int(argv[j + 2])?));
                j += 2;
            } else if !readonly && args::is(opt, "STORE") && left >= 1 {
                o.store = Some(argv[j + 1]);
                j += 1;
            } else if args::is(opt, "BY") && left >= 1 {
                o.by = Some(argv[j + 1]);
                o.dont_sort = !argv[j + 1].contains(&b'*');
                if !o.dont_sort && !full_key_access {
                    return Err(CommandError::Err(
                        "BY option of SORT denied due to insufficient ACL permissions.",
                    ));
                }
                j += 1;
            } else if args::is(opt, "GET") && left >= 1 {
                if !full_key_access {
                    return Err(CommandError::Err(
                        "GET option of SORT denied due to insufficient ACL permissions.",
                    ));
                }
                o.gets.push(argv[j + 1]);
                j += 1;
            } else {
                return Err(CommandError::Syntax);
            }
            j += 1;
        }
        Ok(o)
    }
}

/// What kind of collection is being sorted (decides native order and `nosort` handling).
#[derive(Clone, Copy, PartialEq)]
enum Source {
    List,
    Set,
    ZSet,
}

/// One element being sorted, with its precomputed sort key.
struct Item {
    elem: Sds,
    score: f64,
    /// ALPHA with BY: the looked-up value (None sorts first).
    cmp: Option<Sds>,
}

fn sort_generic(ctx: &mut Ctx, argv: &[&[u8]], readonly: bool) -> CommandResult {
    let full_key_access = super::acl::caller_may_read_every_key(ctx, argv);
    let mut o = SortOptions::parse(argv, readonly, full_key_access)?;
    let now = ctx.now;
    let in_script = ctx.srv.scripts.is_running();
    let db = &mut ctx.dbs[ctx.db];
    let value = db.lookup_read(argv[1], now, true).map(|obj| &mut obj.value);
    let (source, len) = match &value {
        None => (Source::List, 0),
        Some(Value::Set(s)) => (Source::Set, s.len()),
        Some(Value::List(l)) => (Source::List, l.len()),
        Some(Value::ZSet(z)) => (Source::ZSet, z.len()),
        Some(_) => return Err(CommandError::WrongType),
    };

    // A stored result, or a script's, must not depend on a set's iteration order.
    if o.dont_sort && source == Source::Set && (o.store.is_some() || in_script) {
        o.dont_sort = false;
        o.alpha = true;
        o.by = None;
    }

    // LIMIT, clamped as Redis does: [start, end] inclusive, possibly empty.
    let len = len as i64;
    let (offset, count) = o.limit.unwrap_or((0, -1));
    let mut start = offset.max(0);
    let mut end = if count < 0 {
        len - 1
    } else {
        start.saturating_add(count) - 1
    };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    end = end.min(len - 1);

    // Load the elements. A list or sorted set that is not sorted is read only over the LIMIT
    // range, in the requested direction, so `SORT big BY nosort LIMIT 0 10` costs ten
    // elements, not the whole collection (Redis does the same).
    let direct = o.dont_sort && source != Source::Set;
    let elems = match value {
        Some(Value::Set(s)) => s.iter().map(|m| m.to_sds()).collect(),
        Some(Value::List(l)) if direct => list_range(l, start, end, o.desc),
        Some(Value::List(l)) => list_range(l, 0, len - 1, false),
        Some(Value::ZSet(z)) => {
            // Redis converts a sorted set to its skip list encoding for SORT, for good.
            z.convert_to_skiplist();
            if direct {
                zset_range(z, start, end, o.desc)
            } else {
                zset_range(z, 0, len - 1, false)
            }
        }
        _ => Vec::new(),
    };
    if direct {
        (start, end) = (0, end - start);
    }

    let mut items: Vec<Item> = elems
        .into_iter()
        .map(|elem| Item {
            elem,
            score: 0.0,
            cmp: None,
        })
        .collect();

    if o.dont_sort {
        // Native order, already loaded in the requested direction (a set has no order to
        // reverse, and Redis leaves it as iterated).
    } else {
        let mut conversion_error = false;
        for item in items.iter_mut() {
            let by_value: Option<Sds> = match o.by {
                Some(pattern) => match lookup_by_pattern(db, pattern, &item.elem, now) {
                    Some(v) => Some(v),
                    None => continue,
                },
                None => None,
            };
            if o.alpha {
                if o.by.is_some() {
                    item.cmp = by_value;
                }
            } else {
                let bytes = by_value.as_deref().unwrap_or(&item.elem);
                match strtod(bytes) {
                    Some(score) => item.score = score,
                    None => conversion_error = true,
                }
            }
        }
        if conversion_error {
            return Err(CommandError::Err(
                "One or more scores can't be converted into double",
            ));
        }
        let (alpha, by_pattern, desc) = (o.alpha, o.by.is_some(), o.desc);
        items.sort_by(|a, b| {
            let cmp = compare(a, b, alpha, by_pattern);
            if desc {
                cmp.reverse()
            } else {
                cmp
            }
        });
    }

    let range: &[Item] = if end >= start {
        &items[start as usize..=end as usize]
    } else {
        &[]
    };

    // Produce the output: the elements themselves, or what each GET pattern finds.
    let mut output: Vec<Option<Sds>> = Vec::new();
    for item in range {
        if o.gets.is_empty() {
            output.push(Some(item.elem.clone()));
        }
        for pattern in &o.gets {
            output.push(lookup_by_pattern(db, pattern, &item.elem, now));
        }
    }

    match o.store {
        None => {
            ctx.out.array_len(output.len());
            for v in &output {
                match v {
                    Some(v) => ctx.out.bulk(v),
                    None => ctx.out.null(),
                }
            }
        }
        Some(dst) => {
            let n = output.len();
            if n > 0 {
                // A missing GET value is stored as an empty string.
                let fill = ctx.srv.config.list_max_listpack_size;
                let mut list = List::new();
                for item in output {
                    list.push(&item.unwrap_or_default(), End::Tail, fill);
                }
                // As Redis's `setKey`: only a key that did not exist is "added" (`dbAdd`) and
                // wakes clients blocked on it; overwriting an existing key wakes nobody.
                let created = !db.exists(dst, now);
                db.set(dst, Value::List(list), now, false);
                if created {
                    signal_key_as_ready(ctx, dst);
                }
                signal_modified_key(ctx, dst);
                notify(ctx, NOTIFY_LIST, "sortstore", dst);
                ctx.srv.dirty += n as u64;
            } else if db.remove(dst).is_some() {
                signal_modified_key(ctx, dst);
                notify(ctx, NOTIFY_GENERIC, "del", dst);
                ctx.srv.dirty += 1;
            }
            ctx.out.integer(n as i64);
        }
    }
    Ok(())
}

/// A list's elements at indices `start..=end` (none when `end < start`), head to tail, or
/// with `from_tail` the same count taken from the tail end: indices `len-1-start` down to
/// `len-1-end`.
fn list_range(l: &List, start: i64, end: i64, from_tail: bool) -> Vec<Sds> {
    if end < start {
        return Vec::new();
    }
    let count = (end - start + 1) as usize;
    let first = if from_tail {
        l.len() as i64 - 1 - end
    } else {
        start
    };
    let mut elems: Vec<Sds> = l
        .iter_from(first.max(0) as usize)
        .take(count)
        .map(|e| Sds::from_vec(e.to_vec()))
        .collect();
    if from_tail {
        elems.reverse();
    }
    elems
}

/// A sorted set's members of ranks `start..=end` (none when `end < start`) in ascending
/// score order, or with `from_top` the same count from the highest score down.
fn zset_range(z: &crate::types::zset::ZSet, start: i64, end: i64, from_top: bool) -> Vec<Sds> {
    if end < start {
        return Vec::new();
    }
    let (first, last) = if from_top {
        (z.len() as i64 - 1 - end, z.len() as i64 - 1 - start)
    } else {
        (start, end)
    };
    let mut elems: Vec<Sds> = z
        .range(first.max(0) as usize, last.max(0) as usize)
        .map(|(m, _score)| Sds::new(m))
        .collect();
    if from_top {
        elems.reverse();
    }
    elems
}

/// Redis's `sortCompare`: numeric by score with ties broken by the elements' bytes; ALPHA by
/// the BY values (a missing one first) or by the elements' bytes.
fn compare(a: &Item, b: &Item, alpha: bool, by_pattern: bool) -> Ordering {
    if !alpha {
        a.score
            .partial_cmp(&b.score)
            .unwrap_or(Ordering::Equal)
            .then_with(|| a.elem.cmp(&b.elem))
    } else if by_pattern {
        match (&a.cmp, &b.cmp) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(x), Some(y)) => x.cmp(y),
        }
    } else {
        a.elem.cmp(&b.elem)
    }
}

/// The value a BY / GET pattern points to for element `subst` (Redis: `lookupKeyByPattern`):
/// `#` is the element itself; otherwise the first `*` is replaced by the element, and a
/// `->field` suffix after it reads that hash field instead of a string. None if the pattern has
/// no `*`, the key is missing, or it holds the wrong type.
fn lookup_by_pattern(db: &mut Db, pattern: &[u8], subst: &[u8], now: Ms) -> Option<Sds> {
    if pattern == b"#" {
        return Some(Sds::new(subst));
    }
    let star = pattern.iter().position(|&c| c == b'*')?;
    let after_star = &pattern[star + 1..];
    // `->` after the star, followed by a non-empty field name, means a hash field.
    let (postfix, field) = match find(after_star, b"->") {
        Some(at) if at + 2 < after_star.len() => (&after_star[..at], Some(&after_star[at + 2..])),
        _ => (after_star, None),
    };
    let mut key = Vec::with_capacity(star + subst.len() + postfix.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(subst);
    key.extend_from_slice(postfix);
    match (&db.lookup_read(&key, now, true)?.value, field) {
        (Value::Str(s), None) => Some(s.clone()),
        (Value::Hash(h), Some(field)) => h.get(field).map(Sds::new),
        _ => None,
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Parses a sort key the way SORT's `strtod` call accepts it: leading whitespace allowed, the
/// whole rest must be a number (decimal, exponent, `inf`, or a `0x` hex integer), no NaN, no
/// overflow or underflow. An empty string is 0, as `strtod` leaves nothing unparsed.
fn strtod(s: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(s).ok()?;
    if text.is_empty() {
        return Some(0.0);
    }
    let t = text.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let lower = body.to_ascii_lowercase();
    let value = if let Some(hex) = lower.strip_prefix("0x") {
        if hex.is_empty() || !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        hex.bytes().fold(0.0f64, |acc, c| {
            acc * 16.0 + (c as char).to_digit(16).unwrap_or(0) as f64
        })
    } else if lower == "inf" || lower == "infinity" {
        f64::INFINITY
    } else {
        // Rust's parser also accepts "nan" and "infinity" spellings; NaN is refused below.
        if !lower
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'-' | b'+'))
        {
            return None;
        }
        let v: f64 = lower.parse().ok()?;
        // Overflow (ERANGE): a finite spelling that became infinite.
        if v.is_infinite() {
            return None;
        }
        // Underflow (ERANGE): non-zero digits that became zero or subnormal.
        let mantissa = lower.split('e').next().unwrap_or("");
        if (v == 0.0 && mantissa.bytes().any(|c| (b'1'..=b'9').contains(&c))) || v.is_subnormal() {
            return None;
        }
        v
    };
    if value.is_nan() {
        return None;
    }
    Some(if neg { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtod_accepts_what_c_strtod_accepts_fully() {
        assert_eq!(strtod(b"1.5"), Some(1.5));
        assert_eq!(strtod(b"  -2"), Some(-2.0));
        assert_eq!(strtod(b""), Some(0.0));
        assert_eq!(strtod(b"0x10"), Some(16.0));
        assert_eq!(strtod(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(strtod(b"1e5"), Some(100000.0));
        for bad in [
            &b"abc"[..],
            b"1 ",
            b"nan",
            b"1e400",
            b"1e-400",
            b"   ",
            b"1x",
        ] {
            assert_eq!(strtod(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
