//! Sorted set commands (Redis: `t_zset.c`, the command half).
//!
//! The data structure lives in [`crate::types::zset`]; this file parses arguments, looks keys
//! up, and shapes replies. Range commands all funnel into two generic functions, as in Redis:
//! [`zrange_generic`] (ZRANGE, its five older spellings and ZRANGESTORE) and
//! [`zremrange_generic`] (ZREMRANGEBYRANK/SCORE/LEX). Rank and score ranges first become an
//! interval of *ranks*, which the skip list answers in O(log n); everything after that is
//! walking ranks forwards (and emitting them backwards for REV). Lex ranges instead repeat
//! Redis's own walk step for step (see [`LexRange`]), because on mixed scores its answer is
//! not an interval of anything.
//!
//! Reply shapes follow Redis 7.0: scores are doubles (bulk strings in RESP2, `,` doubles in
//! RESP3); WITHSCORES is a flat `member, score, ...` array in RESP2 and an array of
//! `[member, score]` pairs in RESP3, because a map would lose the order.
//!
//! BZPOPMIN / BZPOPMAX / BZMPOP share [`zpop_generic`] and the reply writers below with their
//! non-blocking siblings. Their rows are in [`BLOCKING_COMMANDS`], registered beside
//! [`COMMANDS`]. When every key is empty the client blocks (`BlockedOp::ZSet`), unless it cannot
//! block (inside MULTI or a script), which gets its empty answer at once, as in Redis.

use super::args;
use super::blocked::{self as blocking, BlockedOp};
use super::error::{CommandError, CommandResult};
use super::keyspace::{delete_if_empty, parse_scan_cursor, reply_scan, ScanOptions};
use super::keyspec::{key_flags::*, GetKeys, KeySpec};
use super::notify::{NOTIFY_GENERIC, NOTIFY_ZSET};
use super::propagate;
use super::table::{flags::*, CommandSpec};
use super::{notify, signal_key_as_ready, signal_modified_key, Ctx};
use crate::db::value::Value;
use crate::db::{Db, Ms};
use crate::resp::reply::ReplyBuffer;
use crate::types::sds::Sds;
use crate::types::set::Set;
use crate::types::zset::{Limits, ZSet};
use crate::util::{format_double, parse_f64, parse_i64, string2d};
use rand::Rng;
use std::cmp::Ordering;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("zadd", zadd_command, -4, WRITE | DENYOOM | FAST, "sorted-set")
        .key_specs(&[KeySpec::at(1, RW | UPDATE)])
        .doc("Add one or more members to a sorted set, or update its score if it already exists", "1.2.0"),
    CommandSpec::new("zincrby", zincrby_command, 4, WRITE | DENYOOM | FAST, "sorted-set")
        .key_specs(&[KeySpec::at(1, RW | ACCESS | UPDATE)])
        .doc("Increment the score of a member in a sorted set", "1.2.0"),
    CommandSpec::new("zrem", zrem_command, -3, WRITE | FAST, "sorted-set")
        .key_specs(&[KeySpec::at(1, RW | DELETE)])
        .doc("Remove one or more members from a sorted set", "1.2.0"),
    CommandSpec::new("zcard", zcard_command, 2, READONLY | FAST, "sorted-set")
        .key_specs(&[KeySpec::at(1, RO)])
        .doc("Get the number of members in a sorted set", "1.2.0"),
    CommandSpec::new("zscore", zscore_command, 3, READONLY | FAST, "sorted-set")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .doc("Get the score associated with the given member in a sorted set", "1.2.0"),
    CommandSpec::new("zmscore", zmscore_command, -3, READONLY | FAST, "sorted-set")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .doc("Get the score associated with the given members in a sorted set", "6.2.0"),
    CommandSpec::new("zrank", zrank_command, 3, READONLY | FAST, "sorted-set")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .doc("Determine the index of a member in a sorted set", "2.0.0"),
    CommandSpec::new("zrevrank", zrevrank_command, 3, READONLY | FAST, "sorted-set")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .doc("Determine the index of a member in a sorted set, with scores ordered from high to low", "2.0.0"),
    CommandSpec::new("zcount", zcount_command, 4, READONLY | FAST, "sorted-set")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .doc("Count the members in a sorted set with scores within the given values", "2.0.0"),
    CommandSpec::new("zlexcount", zlexcount_command, 4, READONLY | FAST, "sorted-set")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .doc("Count the number of members in a sorted set between a given lexicographical range", "2.8.9"),
    CommandSpec::new("zrange", zrange_command, -4, READONLY, "sorted-set")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .doc("Return a range of members in a sorted set", "1.2.0"),
    CommandSpec::new("zrangestore", zrangestore_command, -5, WRITE | DENYOOM, "sorted-set")
        .key_specs(&[KeySpec::at(1, OW | UPDATE), KeySpec::at(2, RO | ACCESS)])
        .doc("Store a range of members from sorted set into another key", "6.2.0"),
    CommandSpec::new("zrevrange", zrevrange_command, -4, READONLY, "sorted-set")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .doc("Return a range of members in a sorted set, by index, with scores ordered from high to low", "1.2.0"),
    CommandSpec::new("zrangebyscore", zrangebyscore_command, -4, READONLY, "sorted-set")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .doc("Return a range of members in a sorted set, by score", "1.0.5"),
    CommandSpec::new("zrevrangebyscore", zrevrangebyscore_command, -4, READONLY, "sorted-set")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .doc("Return a range of members in a sorted set, by score, with scores ordered from high to low", "2.2.0"),
    CommandSpec::new("zrangebylex", zrangebylex_command, -4, READONLY, "sorted-set")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .doc("Return a range of members in a sorted set, by lexicographical range", "2.8.9"),
    CommandSpec::new("zrevrangebylex", zrevrangebylex_command, -4, READONLY, "sorted-set")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .doc("Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.", "2.8.9"),
    CommandSpec::new("zremrangebyrank", zremrangebyrank_command, 4, WRITE, "sorted-set")
        .key_specs(&[KeySpec::at(1, RW | DELETE)])
        .doc("Remove all members in a sorted set within the given indexes", "2.0.0"),
    CommandSpec::new("zremrangebyscore", zremrangebyscore_command, 4, WRITE, "sorted-set")
        .key_specs(&[KeySpec::at(1, RW | DELETE)])
        .doc("Remove all members in a sorted set within the given scores", "1.2.0"),
    CommandSpec::new("zremrangebylex", zremrangebylex_command, 4, WRITE, "sorted-set")
        .key_specs(&[KeySpec::at(1, RW | DELETE)])
        .doc("Remove all members in a sorted set between the given lexicographical range", "2.8.9"),
    CommandSpec::new("zpopmin", zpopmin_command, -2, WRITE | FAST, "sorted-set")
        .key_specs(&[KeySpec::at(1, RW | ACCESS | DELETE)])
        .doc("Remove and return members with the lowest scores in a sorted set", "5.0.0"),
    CommandSpec::new("zpopmax", zpopmax_command, -2, WRITE | FAST, "sorted-set")
        .key_specs(&[KeySpec::at(1, RW | ACCESS | DELETE)])
        .doc("Remove and return members with the highest scores in a sorted set", "5.0.0"),
    CommandSpec::new("zmpop", zmpop_command, -4, WRITE | MOVABLE_KEYS, "sorted-set")
        .key_specs(&[KeySpec::at(1, RW | ACCESS | DELETE).keynum(0, 1, 1)])
        .getkeys(GetKeys::NUMKEYS_AT_1)
        .doc("Remove and return members with scores in a sorted set", "7.0.0"),
    CommandSpec::new("zrandmember", zrandmember_command, -2, READONLY, "sorted-set")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .tips(&["nondeterministic_output"])
        .doc("Get one or multiple random elements from a sorted set", "6.2.0"),
    CommandSpec::new("zunion", zunion_command, -3, READONLY | MOVABLE_KEYS, "sorted-set")
        .key_specs(&[KeySpec::at(1, RO | ACCESS).keynum(0, 1, 1)])
        .getkeys(GetKeys::NUMKEYS_AT_1)
        .doc("Add multiple sorted sets", "6.2.0"),
    CommandSpec::new("zinter", zinter_command, -3, READONLY | MOVABLE_KEYS, "sorted-set")
        .key_specs(&[KeySpec::at(1, RO | ACCESS).keynum(0, 1, 1)])
        .getkeys(GetKeys::NUMKEYS_AT_1)
        .doc("Intersect multiple sorted sets", "6.2.0"),
    CommandSpec::new("zdiff", zdiff_command, -3, READONLY | MOVABLE_KEYS, "sorted-set")
        .key_specs(&[KeySpec::at(1, RO | ACCESS).keynum(0, 1, 1)])
        .getkeys(GetKeys::NUMKEYS_AT_1)
        .doc("Subtract multiple sorted sets", "6.2.0"),
    CommandSpec::new("zunionstore", zunionstore_command, -4, WRITE | DENYOOM | MOVABLE_KEYS, "sorted-set")
        .key_specs(&[KeySpec::at(1, OW | UPDATE), KeySpec::at(2, RO | ACCESS).keynum(0, 1, 1)])
        .getkeys(GetKeys::STORE_NUMKEYS)
        .doc("Add multiple sorted sets and store the resulting sorted set in a new key", "2.0.0"),
    CommandSpec::new("zinterstore", zinterstore_command, -4, WRITE | DENYOOM | MOVABLE_KEYS, "sorted-set")
        .key_specs(&[KeySpec::at(1, OW | UPDATE), KeySpec::at(2, RO | ACCESS).keynum(0, 1, 1)])
        .getkeys(GetKeys::STORE_NUMKEYS)
        .doc("Intersect multiple sorted sets and store the resulting sorted set in a new key", "2.0.0"),
    CommandSpec::new("zdiffstore", zdiffstore_command, -4, WRITE | DENYOOM | MOVABLE_KEYS, "sorted-set")
        .key_specs(&[KeySpec::at(1, OW | UPDATE), KeySpec::at(2, RO | ACCESS).keynum(0, 1, 1)])
        .getkeys(GetKeys::STORE_NUMKEYS)
        .doc("Subtract multiple sorted sets and store the resulting sorted set in a new key", "6.2.0"),
    CommandSpec::new("zintercard", zintercard_command, -3, READONLY | MOVABLE_KEYS, "sorted-set")
        .key_specs(&[KeySpec::at(1, RO | ACCESS).keynum(0, 1, 1)])
        .getkeys(GetKeys::NUMKEYS_AT_1)
        .doc("Intersect multiple sorted sets and return the cardinality of the result", "7.0.0"),
    CommandSpec::new("zscan", zscan_command, -3, READONLY, "sorted-set")
        .key_specs(&[KeySpec::at(1, RO | ACCESS)])
        .tips(&["nondeterministic_output"])
        .doc("Incrementally iterate sorted sets elements and associated scores", "2.8.0"),
];

// ---------------------------------------------------------------------------------------------
// Lookups and shared helpers
// ---------------------------------------------------------------------------------------------

/// The listpack limits from the configuration.
pub(super) fn limits(ctx: &Ctx) -> Limits {
    Limits {
        max_entries: ctx.srv.config.zset_max_listpack_entries,
        max_value: ctx.srv.config.zset_max_listpack_value,
    }
}

/// The sorted set at `key` for reading; `WRONGTYPE` if the key holds something else.
fn zset_read<'d>(db: &'d mut Db, key: &[u8], now: Ms) -> Result<Option<&'d ZSet>, CommandError> {
    Ok(db.lookup_read_as(key, now)?)
}

/// The sorted set at `key` for writing; `WRONGTYPE` if the key holds something else.
fn zset_write<'d>(
    db: &'d mut Db,
    key: &[u8],
    now: Ms,
) -> Result<Option<&'d mut ZSet>, CommandError> {
    Ok(db.lookup_write_as(key, now)?)
}

/// Writes one element of a member list: the member, and with scores its score (in RESP3 the
/// pair is its own two-element array).
fn reply_element(out: &mut ReplyBuffer, member: &[u8], score: f64, withscores: bool) {
    if withscores && out.is_resp3() {
        out.array_len(2);
    }
    out.bulk(member);
    if withscores {
        out.double(score);
    }
}

/// The header of a list of `n` elements (doubled in RESP2 when scores are interleaved).
fn reply_elements_len(out: &mut ReplyBuffer, n: usize, withscores: bool) {
    if withscores && !out.is_resp3() {
        out.array_len(2 * n);
    } else {
        out.array_len(n);
    }
}

/// A score bound as `zslParseRange` reads it: strtod's rules, so `(` alone means "exclusive 0"
/// and an empty string is 0.
fn parse_score_bound(arg: &[u8]) -> Option<(f64, bool)> {
    let (text, exclusive) = match arg.split_first() {
        Some((b'(', rest)) => (rest, true),
        _ => (arg, false),
    };
    let text = match text.iter().position(|c| !c.is_ascii_whitespace()) {
        Some(start) => &text[start..],
        None if text.is_empty() => return Some((0.0, exclusive)),
        None => return None,
    };
    parse_f64(text).map(|v| (v, exclusive))
}

/// A parsed score or lex range: both resolve to the half-open rank interval `[lo, hi)` they
/// cover, found with one O(log n) descent per bound.
trait RankRange {
    fn ranks(&self, z: &ZSet) -> (usize, usize);
}

/// `min max` for score ranges (ZRANGEBYSCORE, ZCOUNT, ...). Redis: `zrangespec`.
#[derive(Clone, Copy, Debug)]
pub struct ScoreRange {
    min: f64,
    max: f64,
    minex: bool,
    maxex: bool,
}

impl ScoreRange {
    fn parse(min: &[u8], max: &[u8]) -> Result<ScoreRange, CommandError> {
        let bad = || CommandError::Err("min or max is not a float");
        let (min, minex) = parse_score_bound(min).ok_or_else(bad)?;
        let (max, maxex) = parse_score_bound(max).ok_or_else(bad)?;
        Ok(ScoreRange {
            min,
            max,
            minex,
            maxex,
        })
    }
}

impl RankRange for ScoreRange {
    /// Ranks `[lo, hi)` of the elements in range.
    fn ranks(&self, z: &ZSet) -> (usize, usize) {
        let lo = z.count_before(|s, _| {
            if self.minex {
                s <= self.min
            } else {
                s < self.min
            }
        });
        let hi = z.count_before(|s, _| {
            if self.maxex {
                s < self.max
            } else {
                s <= self.max
            }
        });
        (lo, hi.max(lo))
    }
}

/// One end of a lex range. Redis: `zlexrangespec`, where `-` and `+` are the shared
/// `minstring` / `maxstring` and count as exclusive bounds.
#[derive(Clone, Debug)]
enum LexBound {
    NegInf,
    PosInf,
    Incl(Vec<u8>),
    Excl(Vec<u8>),
}

impl LexBound {
    fn parse(arg: &[u8]) -> Option<LexBound> {
        match arg {
            b"+" => Some(LexBound::PosInf),
            b"-" => Some(LexBound::NegInf),
            [b'(', rest @ ..] => Some(LexBound::Excl(rest.to_vec())),
            [b'[', rest @ ..] => Some(LexBound::Incl(rest.to_vec())),
            _ => None,
        }
    }

    fn is_exclusive(&self) -> bool {
        !matches!(self, LexBound::Incl(_))
    }

    /// How a member compares with this bound (Redis: `sdscmplex(value, bound)`).
    fn cmp_member(&self, member: &[u8]) -> Ordering {
        match self {
            LexBound::NegInf => Ordering::Greater,
            LexBound::PosInf => Ordering::Less,
            LexBound::Incl(x) | LexBound::Excl(x) => member.cmp(x.as_slice()),
        }
    }

    /// How two bounds compare (Redis: `sdscmplex(min, max)`; the same infinity is equal).
    fn cmp_bound(&self, other: &LexBound) -> Ordering {
        use LexBound::*;
        match (self, other) {
            (NegInf, NegInf) | (PosInf, PosInf) => Ordering::Equal,
            (NegInf, _) | (_, PosInf) => Ordering::Less,
            (PosInf, _) | (_, NegInf) => Ordering::Greater,
            (Incl(a) | Excl(a), Incl(b) | Excl(b)) => a.cmp(b),
        }
    }
}

/// `min max` for lex ranges (ZRANGEBYLEX, ZLEXCOUNT, ZREMRANGEBYLEX, ZRANGE BYLEX).
///
/// Redis documents lex ranges for sets whose scores are all equal, and implements them by
/// walking the *score* order with two predicates, "member >= min" and "member <= max". On a
/// set with mixed scores those predicates are not monotonic along the order, so the answer
/// depends on exactly how the walk runs. Ferrodis therefore walks the same way Redis does,
/// step for step, for each encoding (see `lex_first`, `lex_last` and their callers):
///
/// * a listpack is scanned linearly: the first element satisfying "member >= min" from the
///   front (`zzlFirstInLexRange`), or "member <= max" from the back (`zzlLastInLexRange`);
/// * a skip list is searched by a descent that moves right while "member < min"
///   (`zslFirstInLexRange`) or while "member <= max" (`zslLastInLexRange`) — which is what
///   [`ZSet::count_before`] does;
/// * both first give up when the whole set is out of range (`zslIsInLexRange`): when the range
///   is empty by itself, the last element is below min, or the first element above max.
///
/// On equal scores all of this reduces to the plain lex interval.
#[derive(Clone, Debug)]
pub struct LexRange {
    min: LexBound,
    max: LexBound,
}

impl LexRange {
    fn parse(min: &[u8], max: &[u8]) -> Result<LexRange, CommandError> {
        let bad = || CommandError::Err("min or max not valid string range item");
        Ok(LexRange {
            min: LexBound::parse(min).ok_or_else(bad)?,
            max: LexBound::parse(max).ok_or_else(bad)?,
        })
    }

    /// Redis: `zslLexValueGteMin`.
    fn gte_min(&self, member: &[u8]) -> bool {
        let cmp = self.min.cmp_member(member);
        if self.min.is_exclusive() {
            cmp == Ordering::Greater
        } else {
            cmp != Ordering::Less
        }
    }

    /// Redis: `zslLexValueLteMax`.
    fn lte_max(&self, member: &[u8]) -> bool {
        let cmp = self.max.cmp_member(member);
        if self.max.is_exclusive() {
            cmp == Ordering::Less
        } else {
            cmp != Ordering::Greater
        }
    }

    /// Can no member at all be in range (min above max, or equal with an exclusive end)?
    fn is_always_empty(&self) -> bool {
        match self.min.cmp_bound(&self.max) {
            Ordering::Greater => true,
            Ordering::Equal => self.min.is_exclusive() || self.max.is_exclusive(),
            Ordering::Less => false,
        }
    }
}

/// The member at `rank` (0-based), if any.
fn member_at(z: &ZSet, rank: usize) -> Option<&[u8]> {
    z.range(rank, rank).next().map(|(m, _)| m)
}

/// Is part of the set possibly in range? Redis: `zslIsInLexRange` / `zzlIsInLexRange`.
fn lex_range_may_overlap(z: &ZSet, r: &LexRange) -> bool {
    if r.is_always_empty() || z.is_empty() {
        return false;
    }
    let last_ok = member_at(z, z.len() - 1).is_some_and(|m| r.gte_min(m));
    let first_ok = member_at(z, 0).is_some_and(|m| r.lte_max(m));
    last_ok && first_ok
}

/// Where Redis's search for the first member >= min stops: the linear scan of a listpack, or
/// the skip-list descent (moving right while "member < min"). Both are `count_before`.
fn lex_min_boundary(z: &ZSet, r: &LexRange) -> usize {
    z.count_before(|_, m| !r.gte_min(m))
}

/// The rank of the first element in range. Redis: `zzlFirstInLexRange` / `zslFirstInLexRange`.
fn lex_first(z: &ZSet, r: &LexRange) -> Option<usize> {
    if !lex_range_may_overlap(z, r) {
        return None;
    }
    let rank = lex_min_boundary(z, r);
    member_at(z, rank)
        .is_some_and(|m| r.lte_max(m))
        .then_some(rank)
}

/// The rank of the last element in range. Redis: `zzlLastInLexRange` (a listpack scanned from
/// the back for the first member <= max) / `zslLastInLexRange` (a descent moving right while
/// "member <= max").
fn lex_last(z: &ZSet, r: &LexRange) -> Option<usize> {
    if !lex_range_may_overlap(z, r) {
        return None;
    }
    let rank = match z {
        ZSet::Listpack(_) => {
            let members: Vec<&[u8]> = z.iter().map(|(m, _)| m).collect();
            members.iter().rposition(|m| r.lte_max(m))?
        }
        ZSet::Skiplist(_) => z.count_before(|_, m| r.lte_max(m)).checked_sub(1)?,
    };
    member_at(z, rank)
        .is_some_and(|m| r.gte_min(m))
        .then_some(rank)
}

/// The elements ZRANGEBYLEX / ZRANGE BYLEX [REV] [LIMIT] selects, in reply order (Redis:
/// `genericZrangebylexCommand`): from the first (or, reversed, last) element in range, skip
/// `offset` elements without looking at them, then take elements while they stay on the near
/// side of the far bound, at most `limit` of them (a negative limit means all; a negative
/// offset walks off the end and selects nothing).
fn lex_range_elements<'z>(
    z: &'z ZSet,
    r: &LexRange,
    offset: i64,
    limit: i64,
    reverse: bool,
) -> Vec<(&'z [u8], f64)> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let Ok(offset) = usize::try_from(offset) else {
        return Vec::new();
    };
    if !reverse {
        let Some(first) = lex_first(z, r) else {
            return Vec::new();
        };
        return z
            .range(first.saturating_add(offset), usize::MAX)
            .take_while(|(m, _)| r.lte_max(m))
            .take(limit)
            .collect();
    }
    let Some(top) = lex_last(z, r).and_then(|last| last.checked_sub(offset)) else {
        return Vec::new();
    };
    // Walk down from `top` in chunks (the ranks are walked forwards, so take them in blocks).
    const CHUNK: usize = 64;
    let mut out = Vec::new();
    let mut hi = top + 1;
    while hi > 0 && out.len() < limit {
        let lo = hi.saturating_sub(CHUNK);
        let block: Vec<(&[u8], f64)> = z.range(lo, hi - 1).collect();
        for &(m, score) in block.iter().rev() {
            if out.len() >= limit || !r.gte_min(m) {
                return out;
            }
            out.push((m, score));
        }
        hi = lo;
    }
    out
}

/// ZLEXCOUNT's count (Redis: `zlexcountCommand`). A listpack counts from the first element
/// in range while members stay <= max; a skip list subtracts the ranks of the first and last
/// elements in range, which on mixed scores can even come out zero or negative (Redis computes
/// it in an unsigned long and replies with it as a signed one).
fn lex_count(z: &ZSet, r: &LexRange) -> i64 {
    let Some(first) = lex_first(z, r) else {
        return 0;
    };
    match z {
        ZSet::Listpack(_) => z
            .range(first, usize::MAX)
            .take_while(|(m, _)| r.lte_max(m))
            .count() as i64,
        ZSet::Skiplist(_) => {
            let len = z.len() as i64;
            let mut count = len - first as i64;
            if let Some(last) = lex_last(z, r) {
                count -= len - (last as i64 + 1);
            }
            count
        }
    }
}

/// The ranks ZREMRANGEBYLEX removes, as (start, count) (Redis: `zzlDeleteRangeByLex`, which
/// starts at `zzlFirstInLexRange`, and `zslDeleteRangeByLex`, which starts where the descent
/// for min stops, without the "whole set out of range" test); both then take elements while
/// they are <= max.
fn lex_delete_span(z: &ZSet, r: &LexRange) -> (usize, usize) {
    let start = match z {
        ZSet::Listpack(_) => match lex_first(z, r) {
            Some(first) => first,
            None => return (0, 0),
        },
        ZSet::Skiplist(_) => lex_min_boundary(z, r),
    };
    let count = z
        .range(start, usize::MAX)
        .take_while(|(m, _)| r.lte_max(m))
        .count();
    (start, count)
}

/// Redis's start/end index rules (negative counts from the end) as a forward rank interval
/// `[start, end]`, or None when empty.
fn rank_interval(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 {
        (len + start).max(0)
    } else {
        start
    };
    let end = if end < 0 { len + end } else { end };
    if start > end || start >= len {
        return None;
    }
    Some((start as usize, end.min(len - 1) as usize))
}

// ---------------------------------------------------------------------------------------------
// ZADD, ZINCRBY, ZREM, and the simple readers
// ---------------------------------------------------------------------------------------------

#[derive(Default, Clone, Copy)]
pub(super) struct ZaddFlags {
    pub(super) nx: bool,
    pub(super) xx: bool,
    gt: bool,
    lt: bool,
    pub(super) ch: bool,
    incr: bool,
}

/// ZADD key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...]
/// — the number of members added (with CH: added or changed); with INCR the new score, or
/// null if a condition stopped it.
fn zadd_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let mut f = ZaddFlags::default();
    let mut i = 2;
    while i < argv.len() {
        let opt = argv[i];
        if args::is(opt, "NX") {
            f.nx = true;
        } else if args::is(opt, "XX") {
            f.xx = true;
        } else if args::is(opt, "CH") {
            f.ch = true;
        } else if args::is(opt, "INCR") {
            f.incr = true;
        } else if args::is(opt, "GT") {
            f.gt = true;
        } else if args::is(opt, "LT") {
            f.lt = true;
        } else {
            break;
        }
        i += 1;
    }
    zadd_generic(ctx, argv[1], &argv[i..], f)
}

/// ZINCRBY key increment member — the member's new score.
fn zincrby_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let f = ZaddFlags {
        incr: true,
        ..Default::default()
    };
    zadd_generic(ctx, argv[1], &argv[2..], f)
}

/// The body of ZADD and ZINCRBY (Redis: `zaddGenericCommand`). `pairs` is `score member ...`.
pub(super) fn zadd_generic(
    ctx: &mut Ctx,
    key: &[u8],
    pairs: &[&[u8]],
    f: ZaddFlags,
) -> CommandResult {
    if pairs.is_empty() || !pairs.len().is_multiple_of(2) {
        return Err(CommandError::Syntax);
    }
    if f.nx && f.xx {
        return Err(CommandError::Err(
            "XX and NX options at the same time are not compatible",
        ));
    }
    if (f.nx && (f.gt || f.lt)) || (f.gt && f.lt) {
        return Err(CommandError::Err(
            "GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if f.incr && pairs.len() > 2 {
        return Err(CommandError::Err(
            "INCR option supports a single increment-element pair",
        ));
    }
    let scores = pairs
        .chunks(2)
        .map(|p| args::float(p[0]))
        .collect::<Result<Vec<f64>, _>>()?;
    let limits = limits(ctx);
    let now = ctx.now;
    let db = &mut ctx.dbs[ctx.db];
    let exists = zset_write(db, key, now)?.is_some();
    if !exists && f.xx {
        if f.incr {
            ctx.out.null();
        } else {
            ctx.out.integer(0);
        }
        return Ok(());
    }
    if !exists {
        // Redis 7.0 picks the encoding from the first member alone; later members convert
        // the set as they are added.
        let z = ZSet::for_size(1, pairs[1].len(), limits);
        db.add(key, Value::ZSet(z), now);
    }
    let Some(z) = zset_write(db, key, now)? else {
        return Ok(());
    };
    let (mut added, mut updated, mut processed) = (0i64, 0i64, 0i64);
    let mut last_score = 0.0;
    let mut nan = false;
    for (pair, &score) in pairs.chunks(2).zip(&scores) {
        let member = pair[1];
        match z.score(member) {
            Some(cur) => {
                if f.nx {
                    continue;
                }
                let new = if f.incr { cur + score } else { score };
                if new.is_nan() {
                    nan = true;
                    break;
                }
                if (f.lt && new >= cur) || (f.gt && new <= cur) {
                    continue;
                }
                if new != cur {
                    z.insert(member, new, limits);
                    updated += 1;
                }
                last_score = new;
                processed += 1;
            }
            None => {
                if f.xx {
                    continue;
                }
                z.insert(member, score, limits);
                added += 1;
                last_score = score;
                processed += 1;
            }
        }
    }
    if !nan {
        if f.incr {
            if processed > 0 {
                ctx.out.double(last_score);
            } else {
                ctx.out.null();
            }
        } else {
            ctx.out.integer(if f.ch { added + updated } else { added });
        }
    }
    if added > 0 || updated > 0 {
        ctx.srv.dirty += (added + updated) as u64;
        signal_modified_key(ctx, key);
        notify(ctx, NOTIFY_ZSET, if f.incr { "zincr" } else { "zadd" }, key);
        if added > 0 {
            signal_key_as_ready(ctx, key);
        }
    } else {
        // A key created for nothing (every member refused) must not linger empty.
        let db = &mut ctx.dbs[ctx.db];
        if matches!(db.dict.get(key).map(|o| &o.value), Some(Value::ZSet(z)) if z.is_empty()) {
            db.remove(key);
        }
    }
    if nan {
        return Err(CommandError::Err("resulting score is not a number (NaN)"));
    }
    Ok(())
}

/// ZREM key member [member ...] — the number of members removed.
fn zrem_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let key = argv[1];
    let db = &mut ctx.dbs[ctx.db];
    let Some(z) = zset_write(db, key, ctx.now)? else {
        ctx.out.integer(0);
        return Ok(());
    };
    let mut removed = 0;
    for member in &argv[2..] {
        if z.remove(member) {
            removed += 1;
            if z.is_empty() {
                break;
            }
        }
    }
    if removed > 0 {
        notify(ctx, NOTIFY_ZSET, "zrem", key);
        delete_if_empty(ctx, key);
        signal_modified_key(ctx, key);
        ctx.srv.dirty += removed as u64;
    }
    ctx.out.integer(removed);
    Ok(())
}

/// ZCARD key — the number of members (0 for a missing key).
fn zcard_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let db = &mut ctx.dbs[ctx.db];
    let n = zset_read(db, argv[1], ctx.now)?.map_or(0, |z| z.len());
    ctx.out.integer(n as i64);
    Ok(())
}

/// ZSCORE key member — the score as a double, or null.
fn zscore_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let db = &mut ctx.dbs[ctx.db];
    match zset_read(db, argv[1], ctx.now)?.and_then(|z| z.score(argv[2])) {
        Some(score) => ctx.out.double(score),
        None => ctx.out.null(),
    }
    Ok(())
}

/// ZMSCORE key member [member ...] — an array of scores (null for missing members).
fn zmscore_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let db = &mut ctx.dbs[ctx.db];
    let z = zset_read(db, argv[1], ctx.now)?;
    ctx.out.array_len(argv.len() - 2);
    for member in &argv[2..] {
        match z.and_then(|z| z.score(member)) {
            Some(score) => ctx.out.double(score),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

/// ZRANK key member — the 0-based rank by ascending score, or null.
fn zrank_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    zrank_generic(ctx, argv, false)
}

/// ZREVRANK key member — the 0-based rank by descending score, or null.
fn zrevrank_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    zrank_generic(ctx, argv, true)
}

fn zrank_generic(ctx: &mut Ctx, argv: &[&[u8]], reverse: bool) -> CommandResult {
    let db = &mut ctx.dbs[ctx.db];
    let z = zset_read(db, argv[1], ctx.now)?;
    match z.and_then(|z| z.rank(argv[2]).map(|r| (r, z.len()))) {
        Some((rank, len)) => ctx
            .out
            .integer(if reverse { len - 1 - rank } else { rank } as i64),
        None => ctx.out.null(),
    }
    Ok(())
}

/// ZCOUNT key min max — the number of members with a score in the range.
fn zcount_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let range = ScoreRange::parse(argv[2], argv[3])?;
    count_in_range(ctx, argv[1], &range)
}

/// ZLEXCOUNT key min max — the number of members in the lex range.
fn zlexcount_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let range = LexRange::parse(argv[2], argv[3])?;
    let db = &mut ctx.dbs[ctx.db];
    let n = zset_read(db, argv[1], ctx.now)?.map_or(0, |z| lex_count(z, &range));
    ctx.out.integer(n);
    Ok(())
}

/// ZCOUNT: one O(log n) descent per bound, no iteration over the members.
fn count_in_range(ctx: &mut Ctx, key: &[u8], range: &impl RankRange) -> CommandResult {
    let db = &mut ctx.dbs[ctx.db];
    let n = zset_read(db, key, ctx.now)?.map_or(0, |z| {
        let (lo, hi) = range.ranks(z);
        hi - lo
    });
    ctx.out.integer(n as i64);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// ZRANGE and friends
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum RangeType {
    Rank,
    Score,
    Lex,
}

/// ZRANGE key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count] [WITHSCORES]
/// — the members in the range (with scores: see the module docs for the shape).
fn zrange_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    zrange_generic(ctx, argv, 1, None, None, None)
}

/// ZRANGESTORE dst src min max [BYSCORE | BYLEX] [REV] [LIMIT offset count]
/// — the number of members stored in dst.
fn zrangestore_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    zrange_generic(ctx, argv, 2, Some(argv[1]), None, None)
}

/// ZREVRANGE key start stop [WITHSCORES]
fn zrevrange_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    zrange_generic(ctx, argv, 1, None, Some(RangeType::Rank), Some(true))
}

/// ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]
fn zrangebyscore_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    zrange_generic(ctx, argv, 1, None, Some(RangeType::Score), Some(false))
}

/// ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]
fn zrevrangebyscore_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    zrange_generic(ctx, argv, 1, None, Some(RangeType::Score), Some(true))
}

/// ZRANGEBYLEX key min max [LIMIT offset count]
fn zrangebylex_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    zrange_generic(ctx, argv, 1, None, Some(RangeType::Lex), Some(false))
}

/// ZREVRANGEBYLEX key max min [LIMIT offset count]
fn zrevrangebylex_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    zrange_generic(ctx, argv, 1, None, Some(RangeType::Lex), Some(true))
}

/// The one implementation of every range read (Redis: `zrangeGenericCommand`). `first` is the
/// index of the source key in `argv`; `fixed_type` / `fixed_rev` are set by the old commands
/// (ZREVRANGE, ZRANGEBYSCORE, ...), which then refuse BYSCORE/BYLEX/REV as options.
fn zrange_generic(
    ctx: &mut Ctx,
    argv: &[&[u8]],
    first: usize,
    store: Option<&[u8]>,
    fixed_type: Option<RangeType>,
    fixed_rev: Option<bool>,
) -> CommandResult {
    let key = argv[first];
    let (mut min_arg, mut max_arg) = (argv[first + 1], argv[first + 2]);
    let mut withscores = false;
    let (mut offset, mut limit) = (0i64, -1i64);
    let mut rtype = fixed_type;
    let mut reverse = fixed_rev;
    let mut j = first + 3;
    while j < argv.len() {
        let opt = argv[j];
        let left = argv.len() - j - 1;
        if store.is_none() && args::is(opt, "WITHSCORES") {
            withscores = true;
        } else if args::is(opt, "LIMIT") && left >= 2 {
            offset = args::int(argv[j + 1])?;
            limit = args::int(argv[j + 2])?;
            j += 2;
        } else if reverse.is_none() && args::is(opt, "REV") {
            reverse = Some(true);
        } else if rtype.is_none() && args::is(opt, "BYLEX") {
            rtype = Some(RangeType::Lex);
        } else if rtype.is_none() && args::is(opt, "BYSCORE") {
            rtype = Some(RangeType::Score);
        } else {
            return Err(CommandError::Syntax);
        }
        j += 1;
    }
    let reverse = reverse.unwrap_or(false);
    let rtype = rtype.unwrap_or(RangeType::Rank);
    // Redis tests `limit != -1`, so `LIMIT 0 -1` is tolerated on a rank range.
    if limit != -1 && rtype == RangeType::Rank {
        return Err(CommandError::Err(
            "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && rtype == RangeType::Lex {
        return Err(CommandError::Err(
            "syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    if reverse && rtype != RangeType::Rank {
        // Reverse score and lex ranges are written `max min`.
        std::mem::swap(&mut min_arg, &mut max_arg);
    }
    enum Parsed {
        Rank(i64, i64),
        Score(ScoreRange),
        Lex(LexRange),
    }
    let parsed = match rtype {
        RangeType::Rank => Parsed::Rank(args::int(min_arg)?, args::int(max_arg)?),
        RangeType::Score => Parsed::Score(ScoreRange::parse(min_arg, max_arg)?),
        RangeType::Lex => Parsed::Lex(LexRange::parse(min_arg, max_arg)?),
    };

    let now = ctx.now;
    let limits = limits(ctx);
    let db = &mut ctx.dbs[ctx.db];
    let z = zset_read(db, key, now)?;
    // The selected elements as a forward rank interval [start, start + count).
    let (start, count) = match (z, &parsed) {
        (None, _) | (Some(_), Parsed::Lex(_)) => (0, 0),
        (Some(z), Parsed::Rank(s, e)) => match rank_interval(*s, *e, z.len()) {
            None => (0, 0),
            Some((s, e)) if reverse => (z.len() - 1 - e, e - s + 1),
            Some((s, e)) => (s, e - s + 1),
        },
        (Some(z), Parsed::Score(r)) => {
            let (lo, hi) = r.ranks(z);
            limit_ranks(lo, hi, offset, limit, reverse)
        }
    };
    let elements: Vec<(&[u8], f64)> = match (z, &parsed) {
        // Lex ranges walk the set as Redis does (see `LexRange`), already in reply order.
        (Some(z), Parsed::Lex(r)) => lex_range_elements(z, r, offset, limit, reverse),
        (Some(z), _) if count > 0 => {
            let mut v: Vec<_> = z.range(start, start + count - 1).collect();
            if reverse {
                v.reverse();
            }
            v
        }
        _ => Vec::new(),
    };
    match store {
        None => {
            reply_elements_len(ctx.out, elements.len(), withscores);
            for (m, s) in &elements {
                reply_element(ctx.out, m, *s, withscores);
            }
            Ok(())
        }
        Some(dst) => {
            // Redis sizes the destination by count only; a long member converts it while the
            // elements go in (so a -0 inserted before that reads back as 0, as in Redis).
            let mut result = ZSet::for_size(elements.len(), 0, limits);
            for (m, s) in &elements {
                result.insert(m, *s, limits);
            }
            store_result(ctx, dst, result, "zrangestore");
            Ok(())
        }
    }
}

/// Applies LIMIT offset count to the rank interval `[lo, hi)`: offset is counted from the low
/// end, or from the high end for REV. A negative offset selects nothing and a negative count
/// means "all", as in Redis. Returns the forward interval as (start, count).
fn limit_ranks(lo: usize, hi: usize, offset: i64, limit: i64, reverse: bool) -> (usize, usize) {
    if offset < 0 {
        return (0, 0);
    }
    let total = hi - lo;
    let skip = (offset as u64).min(total as u64) as usize;
    let avail = total - skip;
    let take = if limit < 0 {
        avail
    } else {
        (limit as u64).min(avail as u64) as usize
    };
    if reverse {
        (hi - skip - take, take)
    } else {
        (lo + skip, take)
    }
}

/// Stores a computed sorted set at `dst` (replacing whatever was there) and replies with its
/// size; an empty result deletes `dst` instead (Redis: `zrangeResultFinalizeStore` and the end
/// of `zunionInterDiffGenericCommand`).
pub(super) fn store_result(ctx: &mut Ctx, dst: &[u8], result: ZSet, event: &str) {
    let n = result.len();
    let now = ctx.now;
    let db = &mut ctx.dbs[ctx.db];
    if n > 0 {
        // As Redis's `setKey`: only a key that did not exist is "added" (`dbAdd`) and wakes
        // clients blocked on it; overwriting an existing key wakes nobody.
        let created = !db.exists(dst, now);
        db.set(dst, Value::ZSet(result), now, false);
        if created {
            signal_key_as_ready(ctx, dst);
        }
        ctx.out.integer(n as i64);
        signal_modified_key(ctx, dst);
        notify(ctx, NOTIFY_ZSET, event, dst);
        ctx.srv.dirty += 1;
    } else {
        ctx.out.integer(0);
        // As Redis's `dbDelete`: no expiry check first, so a key whose TTL passed (but still
        // stored) counts as deleted here, and the command itself is propagated.
        if db.remove(dst).is_some() {
            signal_modified_key(ctx, dst);
            notify(ctx, NOTIFY_GENERIC, "del", dst);
            ctx.srv.dirty += 1;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// ZREMRANGEBY*
// ---------------------------------------------------------------------------------------------

/// ZREMRANGEBYRANK key start stop — the number of members removed.
fn zremrangebyrank_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    zremrange_generic(ctx, argv, RangeType::Rank)
}

/// ZREMRANGEBYSCORE key min max — the number of members removed.
fn zremrangebyscore_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    zremrange_generic(ctx, argv, RangeType::Score)
}

/// ZREMRANGEBYLEX key min max — the number of members removed.
fn zremrangebylex_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    zremrange_generic(ctx, argv, RangeType::Lex)
}

/// Redis: `zremrangeGenericCommand`. Parses the range, removes its rank interval.
fn zremrange_generic(ctx: &mut Ctx, argv: &[&[u8]], rtype: RangeType) -> CommandResult {
    let key = argv[1];
    let (min, max) = (argv[2], argv[3]);
    let (rank, score, lex) = match rtype {
        RangeType::Rank => (Some((args::int(min)?, args::int(max)?)), None, None),
        RangeType::Score => (None, Some(ScoreRange::parse(min, max)?), None),
        RangeType::Lex => (None, None, Some(LexRange::parse(min, max)?)),
    };
    let db = &mut ctx.dbs[ctx.db];
    let Some(z) = zset_write(db, key, ctx.now)? else {
        ctx.out.integer(0);
        return Ok(());
    };
    let interval = if let Some((s, e)) = rank {
        rank_interval(s, e, z.len())
    } else {
        let (lo, hi) = match (&score, &lex) {
            (Some(r), _) => r.ranks(z),
            (_, Some(r)) => {
                let (start, count) = lex_delete_span(z, r);
                (start, start + count)
            }
            _ => (0, 0),
        };
        (hi > lo).then(|| (lo, hi - 1))
    };
    let removed = match interval {
        Some((s, e)) => z.remove_range(s, e),
        None => 0,
    };
    if removed > 0 {
        let event = match rtype {
            RangeType::Rank => "zremrangebyrank",
            RangeType::Score => "zremrangebyscore",
            RangeType::Lex => "zremrangebylex",
        };
        notify(ctx, NOTIFY_ZSET, event, key);
        delete_if_empty(ctx, key);
        signal_modified_key(ctx, key);
        ctx.srv.dirty += removed as u64;
    }
    ctx.out.integer(removed as i64);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// ZPOPMIN, ZPOPMAX, ZMPOP (and the shared logic of their blocking forms)
// ---------------------------------------------------------------------------------------------

/// Which end a pop takes from.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PopEnd {
    Min,
    Max,
}

/// The first of `keys` holding a sorted set (Redis checks keys in order and stops at the first
/// existing one: a WRONGTYPE there is an error even if a later key is a sorted set).
pub fn first_nonempty_zset(ctx: &mut Ctx, keys: &[&[u8]]) -> Result<Option<usize>, CommandError> {
    let now = ctx.now;
    let db = &mut ctx.dbs[ctx.db];
    for (i, key) in keys.iter().enumerate() {
        if zset_write(db, key, now)?.is_some() {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

/// Pops up to `count` members from the sorted set at `key` (which must exist), from the low or
/// high end, firing `zpopmin`/`zpopmax` (and `del` if it empties). Returns the popped pairs in
/// pop order. Used by ZPOPMIN/ZPOPMAX/ZMPOP now and by the blocking forms when a blocked client
/// is served. Redis: the body of `genericZpopCommand`.
pub fn zpop_generic(ctx: &mut Ctx, key: &[u8], end: PopEnd, count: usize) -> Vec<(Sds, f64)> {
    let now = ctx.now;
    let db = &mut ctx.dbs[ctx.db];
    let Ok(Some(z)) = zset_write(db, key, now) else {
        return Vec::new();
    };
    let n = count.min(z.len());
    if n == 0 {
        return Vec::new();
    }
    let (start, stop) = match end {
        PopEnd::Min => (0, n - 1),
        PopEnd::Max => (z.len() - n, z.len() - 1),
    };
    let mut popped: Vec<(Sds, f64)> = z
        .range(start, stop)
        .map(|(m, s)| (Sds::new(m), s))
        .collect();
    z.remove_range(start, stop);
    if end == PopEnd::Max {
        popped.reverse();
    }
    let event = match end {
        PopEnd::Min => "zpopmin",
        PopEnd::Max => "zpopmax",
    };
    notify(ctx, NOTIFY_ZSET, event, key);
    delete_if_empty(ctx, key);
    signal_modified_key(ctx, key);
    ctx.srv.dirty += popped.len() as u64;
    popped
}

/// ZMPOP / BZMPOP reply: `[key, [[member, score], ...]]` in both protocols.
/// Replicas see a ZMPOP, or a blocking pop that was served, as the plain pop that happened:
/// `ZPOPMIN|ZPOPMAX key`, with the count actually popped when the command took a count.
fn propagate_as_zpop(ctx: &mut Ctx, key: &[u8], end: PopEnd, popped: Option<usize>) {
    propagate::rewrite(ctx, || {
        let name: &[u8] = match end {
            PopEnd::Min => b"ZPOPMIN",
            PopEnd::Max => b"ZPOPMAX",
        };
        let mut pop = vec![name.to_vec(), key.to_vec()];
        if let Some(n) = popped {
            pop.push(n.to_string().into_bytes());
        }
        pop
    });
}

pub fn reply_mpop(out: &mut ReplyBuffer, key: &[u8], popped: &[(Sds, f64)]) {
    out.array_len(2);
    out.bulk(key);
    out.array_len(popped.len());
    for (m, s) in popped {
        out.array_len(2);
        out.bulk(m);
        out.double(*s);
    }
}

/// BZPOPMIN / BZPOPMAX reply: the flat triple `[key, member, score]`.
pub fn reply_bzpop(out: &mut ReplyBuffer, key: &[u8], popped: &[(Sds, f64)]) {
    out.array_len(popped.len() * 2 + 1);
    out.bulk(key);
    for (m, s) in popped {
        out.bulk(m);
        out.double(*s);
    }
}

/// ZPOPMIN key [count]
fn zpopmin_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    zpop_command(ctx, argv, PopEnd::Min)
}

/// ZPOPMAX key [count]
fn zpopmax_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    zpop_command(ctx, argv, PopEnd::Max)
}

/// ZPOPMIN/ZPOPMAX — `member, score` pairs: flat in RESP2 (and in RESP3 without a count),
/// nested pairs in RESP3 with a count.
fn zpop_command(ctx: &mut Ctx, argv: &[&[u8]], end: PopEnd) -> CommandResult {
    if argv.len() > 3 {
        return Err(CommandError::Syntax);
    }
    let count = match argv.get(2) {
        // Redis gives the same message for a non-integer here.
        Some(arg) => match parse_i64(arg) {
            Some(n) if n >= 0 => Some(n as usize),
            _ => return Err(CommandError::Err("value is out of range, must be positive")),
        },
        None => None,
    };
    let key = argv[1];
    if first_nonempty_zset(ctx, &[key])?.is_none() || count == Some(0) {
        ctx.out.empty_array();
        return Ok(());
    }
    let nested = ctx.out.is_resp3() && count.is_some();
    let popped = zpop_generic(ctx, key, end, count.unwrap_or(1));
    // Flat unless nested pairs were asked for (RESP3 with a count), whatever the protocol.
    ctx.out.array_len(if nested {
        popped.len()
    } else {
        2 * popped.len()
    });
    for (m, s) in &popped {
        if nested {
            ctx.out.array_len(2);
        }
        ctx.out.bulk(m);
        ctx.out.double(*s);
    }
    Ok(())
}

/// Parsed `numkeys key [key ...] MIN|MAX [COUNT count]` of ZMPOP and BZMPOP (starting at
/// `numkeys`). Returns the keys' range in argv, the end, and the count.
pub fn parse_mpop_args(
    argv: &[&[u8]],
    numkeys_at: usize,
) -> Result<(std::ops::Range<usize>, PopEnd, usize), CommandError> {
    let numkeys_err = CommandError::Err("numkeys should be greater than 0");
    let numkeys = parse_i64(argv[numkeys_at]).ok_or(numkeys_err.clone())?;
    if numkeys < 1 {
        return Err(numkeys_err);
    }
    let where_at = (numkeys as u64)
        .checked_add(numkeys_at as u64 + 1)
        .filter(|&w| w < argv.len() as u64)
        .ok_or(CommandError::Syntax)? as usize;
    let end = if args::is(argv[where_at], "MIN") {
        PopEnd::Min
    } else if args::is(argv[where_at], "MAX") {
        PopEnd::Max
    } else {
        return Err(CommandError::Syntax);
    };
    let mut count = None;
    let mut j = where_at + 1;
    while j < argv.len() {
        if count.is_none() && args::is(argv[j], "COUNT") && j + 1 < argv.len() {
            let bad = CommandError::Err("count should be greater than 0");
            let n = parse_i64(argv[j + 1]).ok_or(bad.clone())?;
            if n < 1 {
                return Err(bad);
            }
            count = Some(n as usize);
            j += 2;
        } else {
            return Err(CommandError::Syntax);
        }
    }
    Ok((numkeys_at + 1..where_at, end, count.unwrap_or(1)))
}

/// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]
/// — `[key, [[member, score], ...]]` from the first non-empty key, or a null array.
fn zmpop_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let (keys, end, count) = parse_mpop_args(argv, 1)?;
    let keys = &argv[keys];
    match first_nonempty_zset(ctx, keys)? {
        None => ctx.out.null_array(),
        Some(i) => {
            let popped = zpop_generic(ctx, keys[i], end, count);
            propagate_as_zpop(ctx, keys[i], end, Some(popped.len()));
            reply_mpop(ctx.out, keys[i], &popped);
        }
    }
    Ok(())
}

/// The non-blocking half of BZPOPMIN / BZPOPMAX key [key ...] timeout: if one of the keys holds
/// a sorted set, pops one member and replies `[key, member, score]`; returns false when every
/// key is empty (the caller then blocks the client).
pub fn bzpop_try(ctx: &mut Ctx, argv: &[&[u8]], end: PopEnd) -> Result<bool, CommandError> {
    args::timeout_ms(argv[argv.len() - 1])?;
    let keys = &argv[1..argv.len() - 1];
    match first_nonempty_zset(ctx, keys)? {
        None => Ok(false),
        Some(i) => {
            let popped = zpop_generic(ctx, keys[i], end, 1);
            propagate_as_zpop(ctx, keys[i], end, None);
            reply_bzpop(ctx.out, keys[i], &popped);
            Ok(true)
        }
    }
}

/// The non-blocking half of BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]; false
/// when every key is empty (the caller then blocks the client).
pub fn bzmpop_try(ctx: &mut Ctx, argv: &[&[u8]]) -> Result<bool, CommandError> {
    args::timeout_ms(argv[1])?;
    let (keys, end, count) = parse_mpop_args(argv, 2)?;
    let keys = &argv[keys];
    match first_nonempty_zset(ctx, keys)? {
        None => Ok(false),
        Some(i) => {
            let popped = zpop_generic(ctx, keys[i], end, count);
            propagate_as_zpop(ctx, keys[i], end, Some(popped.len()));
            reply_mpop(ctx.out, keys[i], &popped);
            Ok(true)
        }
    }
}

/// The blocking pops' rows (Redis's arity, flags and key specs), registered in the command table
/// beside [`COMMANDS`]. When every key is empty the client blocks (see `command::blocked`).
pub const BLOCKING_COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("bzpopmin", bzpopmin_command, -3, WRITE | NOSCRIPT | BLOCKING | FAST, "sorted-set")
        .key_specs(&[KeySpec::at(1, RW | ACCESS | DELETE).range(-2, 1, 0)])
        .doc("Remove and return the member with the lowest score from one or more sorted sets, or block until one is available", "5.0.0"),
    CommandSpec::new("bzpopmax", bzpopmax_command, -3, WRITE | NOSCRIPT | BLOCKING | FAST, "sorted-set")
        .key_specs(&[KeySpec::at(1, RW | ACCESS | DELETE).range(-2, 1, 0)])
        .doc("Remove and return the member with the highest score from one or more sorted sets, or block until one is available", "5.0.0"),
    CommandSpec::new("bzmpop", bzmpop_command, -5, WRITE | BLOCKING | MOVABLE_KEYS, "sorted-set")
        .key_specs(&[KeySpec::at(2, RW | ACCESS | DELETE).keynum(0, 1, 1)])
        .getkeys(GetKeys::NUMKEYS_AT_2)
        .doc("Remove and return members with scores in a sorted set or block until one is available", "7.0.0"),
];

/// What a client blocked in BZPOPMIN / BZPOPMAX / BZMPOP does once a key has members.
pub struct ZSetWait {
    end: PopEnd,
    /// `None`: BZPOP's `[key, member, score]` reply; `Some(n)`: BZMPOP's, popping up to n.
    count: Option<usize>,
}

/// Blocks the caller on `keys`, or — inside MULTI or a script, where nothing may block —
/// replies the timeout reply at once.
fn block_or_give_up(
    ctx: &mut Ctx,
    keys: &[&[u8]],
    timeout: &[u8],
    wait: ZSetWait,
) -> CommandResult {
    let timeout = args::timeout_ms(timeout)?;
    if blocking::may_block(ctx) {
        blocking::block_for_keys(ctx, keys, timeout, BlockedOp::ZSet(wait));
    } else {
        ctx.out.null_array();
    }
    Ok(())
}

/// Serves a blocked client once `key` may hold members: false (nothing changed) if it holds no
/// sorted set. Called by `command::blocked` with the waiter's own reply buffer in `ctx.out`.
pub fn serve_blocked(ctx: &mut Ctx, key: &[u8], wait: &ZSetWait) -> bool {
    if !matches!(first_nonempty_zset(ctx, &[key]), Ok(Some(_))) {
        return false;
    }
    let popped = zpop_generic(ctx, key, wait.end, wait.count.unwrap_or(1));
    propagate_as_zpop(ctx, key, wait.end, wait.count.map(|_| popped.len()));
    match wait.count {
        None => reply_bzpop(ctx.out, key, &popped),
        Some(_) => reply_mpop(ctx.out, key, &popped),
    }
    true
}

/// BZPOPMIN key [key ...] timeout — `[key, member, score]`, or a null array on timeout.
fn bzpopmin_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    bzpop_generic(ctx, argv, PopEnd::Min)
}

/// BZPOPMAX key [key ...] timeout — `[key, member, score]`, or a null array on timeout.
fn bzpopmax_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    bzpop_generic(ctx, argv, PopEnd::Max)
}

fn bzpop_generic(ctx: &mut Ctx, argv: &[&[u8]], end: PopEnd) -> CommandResult {
    if bzpop_try(ctx, argv, end)? {
        return Ok(());
    }
    let keys = &argv[1..argv.len() - 1];
    block_or_give_up(
        ctx,
        keys,
        argv[argv.len() - 1],
        ZSetWait { end, count: None },
    )
}

/// BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]
/// — `[key, [[member, score], ...]]`, or a null array on timeout.
fn bzmpop_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    if bzmpop_try(ctx, argv)? {
        return Ok(());
    }
    let (keys, end, count) = parse_mpop_args(argv, 2)?;
    let wait = ZSetWait {
        end,
        count: Some(count),
    };
    block_or_give_up(ctx, &argv[keys], argv[1], wait)
}

// ---------------------------------------------------------------------------------------------
// ZRANDMEMBER
// ---------------------------------------------------------------------------------------------

/// ZRANDMEMBER key [count [WITHSCORES]] — one random member (or null); with a count, up to
/// `count` distinct members, or with a negative count exactly `-count` members that may repeat.
fn zrandmember_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    if argv.len() < 3 {
        let db = &mut ctx.dbs[ctx.db];
        // (Stored sets are never empty; the filter keeps `random_range` away from 0..0.)
        match zset_read(db, argv[1], ctx.now)?.filter(|z| !z.is_empty()) {
            None => ctx.out.null(),
            Some(z) => {
                let i = ctx.srv.rng.random_range(0..z.len());
                if let Some((m, _)) = z.range(i, i).next() {
                    ctx.out.bulk(m);
                }
            }
        }
        return Ok(());
    }
    let count = args::int(argv[2])?;
    if count == i64::MIN {
        return Err(CommandError::err(format!(
            "value is out of range, value must between {} and {}",
            -i64::MAX,
            i64::MAX
        )));
    }
    if argv.len() > 4 || (argv.len() == 4 && !args::is(argv[3], "WITHSCORES")) {
        return Err(CommandError::Syntax);
    }
    let withscores = argv.len() == 4;
    if withscores && !(-i64::MAX / 2..=i64::MAX / 2).contains(&count) {
        return Err(CommandError::Err("value is out of range"));
    }
    let db = &mut ctx.dbs[ctx.db];
    let Some(z) = zset_read(db, argv[1], ctx.now)?.filter(|z| !z.is_empty()) else {
        ctx.out.empty_array();
        return Ok(());
    };
    if count == 0 {
        ctx.out.empty_array();
        return Ok(());
    }
    let rng = &mut ctx.srv.rng;
    let len = z.len();
    // A listpack is scanned once into a Vec; a skip list answers rank lookups in O(log n).
    let small: Option<Vec<(&[u8], f64)>> = (len <= 256).then(|| z.iter().collect());
    let nth = |i: usize| match &small {
        Some(v) => v.get(i).copied(),
        None => z.range(i, i).next(),
    };
    let out = &mut *ctx.out;
    if count < 0 || count == 1 {
        // Repetitions allowed: sample the whole set every time.
        let n = count.unsigned_abs() as usize;
        reply_elements_len(out, n, withscores);
        for _ in 0..n {
            if let Some((m, s)) = nth(rng.random_range(0..len)) {
                reply_element(out, m, s, withscores);
            }
        }
        return Ok(());
    }
    let count = count as usize;
    if count >= len {
        // The whole set, highest first (Redis walks it from the tail).
        let all: Vec<_> = z.iter().collect();
        reply_elements_len(out, len, withscores);
        for &(m, s) in all.iter().rev() {
            reply_element(out, m, s, withscores);
        }
        return Ok(());
    }
    // Distinct ranks: a partial Fisher-Yates shuffle of 0..len when the request is a large
    // share of the set, otherwise draw and reject duplicates (Redis's cases 3 and 4).
    let ranks: Vec<usize> = if count * 3 > len {
        let mut all: Vec<usize> = (0..len).collect();
        for i in 0..count {
            let j = rng.random_range(i..len);
            all.swap(i, j);
        }
        all.truncate(count);
        all
    } else {
        let mut seen = hashbrown::HashSet::with_capacity(count);
        let mut picked = Vec::with_capacity(count);
        while picked.len() < count {
            let r = rng.random_range(0..len);
            if seen.insert(r) {
                picked.push(r);
            }
        }
        picked
    };
    reply_elements_len(out, count, withscores);
    for r in ranks {
        if let Some((m, s)) = nth(r) {
            reply_element(out, m, s, withscores);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// ZUNION, ZINTER, ZDIFF (+STORE), ZINTERCARD
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

/// One input of a set operation: a sorted set, or a plain set whose members all score 1.
enum Input<'a> {
    Missing,
    Z(&'a ZSet),
    S(&'a Set),
}

impl Input<'_> {
    fn len(&self) -> usize {
        match self {
            Input::Missing => 0,
            Input::Z(z) => z.len(),
            Input::S(s) => s.len(),
        }
    }

    fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            Input::Missing => None,
            Input::Z(z) => z.score(member),
            Input::S(s) => s.contains(member).then_some(1.0),
        }
    }

    fn for_each(&self, mut f: impl FnMut(&[u8], f64)) {
        match self {
            Input::Missing => {}
            Input::Z(z) => z.iter().for_each(|(m, s)| f(m, s)),
            Input::S(s) => s.iter().for_each(|m| m.with_bytes(|b| f(b, 1.0))),
        }
    }
}

/// Combines two scores (Redis: `zunionInterAggregate`); `inf + -inf` is 0, not NaN.
fn aggregate(agg: Aggregate, acc: f64, val: f64) -> f64 {
    match agg {
        Aggregate::Sum => {
            let sum = acc + val;
            if sum.is_nan() {
                0.0
            } else {
                sum
            }
        }
        // Written as C's comparisons, so a NaN operand keeps `acc` and -0 vs 0 picks as Redis.
        Aggregate::Min => {
            if val < acc {
                val
            } else {
                acc
            }
        }
        Aggregate::Max => {
            if val > acc {
                val
            } else {
                acc
            }
        }
    }
}

/// A weight times a score, with Redis's NaN-to-0 rule (`0 * inf`).
fn weighted(weight: f64, score: f64) -> f64 {
    let v = weight * score;
    if v.is_nan() {
        0.0
    } else {
        v
    }
}

/// ZUNION numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]
fn zunion_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    zsetop_generic(ctx, argv, None, 1, SetOp::Union, false)
}

/// ZINTER numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]
fn zinter_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    zsetop_generic(ctx, argv, None, 1, SetOp::Inter, false)
}

/// ZDIFF numkeys key [key ...] [WITHSCORES]
fn zdiff_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    zsetop_generic(ctx, argv, None, 1, SetOp::Diff, false)
}

/// ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX]
fn zunionstore_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    zsetop_generic(ctx, argv, Some(argv[1]), 2, SetOp::Union, false)
}

/// ZINTERSTORE destination numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX]
fn zinterstore_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    zsetop_generic(ctx, argv, Some(argv[1]), 2, SetOp::Inter, false)
}

/// ZDIFFSTORE destination numkeys key [key ...]
fn zdiffstore_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    zsetop_generic(ctx, argv, Some(argv[1]), 2, SetOp::Diff, false)
}

/// ZINTERCARD numkeys key [key ...] [LIMIT limit] — the size of the intersection (stopping
/// at `limit` if non-zero).
fn zintercard_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    zsetop_generic(ctx, argv, None, 1, SetOp::Inter, true)
}

/// Redis: `zunionInterDiffGenericCommand`. Inputs are checked for type before the options are
/// parsed, as Redis does.
fn zsetop_generic(
    ctx: &mut Ctx,
    argv: &[&[u8]],
    dst: Option<&[u8]>,
    numkeys_at: usize,
    op: SetOp,
    card_only: bool,
) -> CommandResult {
    let numkeys = args::int(argv[numkeys_at])?;
    if numkeys < 1 {
        let name = args::text(argv[0]).to_ascii_lowercase();
        return Err(CommandError::err(format!(
            "at least 1 input key is needed for '{name}' command"
        )));
    }
    if numkeys as u64 > (argv.len() - numkeys_at - 1) as u64 {
        return Err(CommandError::Syntax);
    }
    let numkeys = numkeys as usize;
    let keys = &argv[numkeys_at + 1..numkeys_at + 1 + numkeys];
    let now = ctx.now;
    let db = &mut ctx.dbs[ctx.db];
    // First pass: lazy expiry and the type check; second pass (below) borrows the values.
    for key in keys {
        let found = if dst.is_some() {
            db.lookup_write(key, now)
        } else {
            db.lookup_read(key, now, true)
        };
        if let Some(obj) = found {
            if !matches!(obj.value, Value::ZSet(_) | Value::Set(_)) {
                return Err(CommandError::WrongType);
            }
        }
    }
    let mut weights = vec![1.0f64; numkeys];
    let mut agg = Aggregate::Sum;
    let mut withscores = false;
    let mut card_limit = 0usize;
    let mut j = numkeys_at + 1 + numkeys;
    while j < argv.len() {
        let left = argv.len() - j;
        let opt = argv[j];
        if op != SetOp::Diff && !card_only && left > numkeys && args::is(opt, "WEIGHTS") {
            for (w, arg) in weights.iter_mut().zip(&argv[j + 1..]) {
                *w = string2d(arg).ok_or(CommandError::Err("weight value is not a float"))?;
            }
            j += 1 + numkeys;
        } else if op != SetOp::Diff && !card_only && left >= 2 && args::is(opt, "AGGREGATE") {
            let a = argv[j + 1];
            agg = if args::is(a, "SUM") {
                Aggregate::Sum
            } else if args::is(a, "MIN") {
                Aggregate::Min
            } else if args::is(a, "MAX") {
                Aggregate::Max
            } else {
                return Err(CommandError::Syntax);
            };
            j += 2;
        } else if dst.is_none() && !card_only && args::is(opt, "WITHSCORES") {
            withscores = true;
            j += 1;
        } else if card_only && left >= 2 && args::is(opt, "LIMIT") {
            let n =
                args::int(argv[j + 1]).map_err(|_| CommandError::Err("LIMIT can't be negative"))?;
            if n < 0 {
                return Err(CommandError::Err("LIMIT can't be negative"));
            }
            card_limit = n as usize;
            j += 2;
        } else {
            return Err(CommandError::Syntax);
        }
    }

    let inputs: Vec<Input> = keys
        .iter()
        .map(|k| match db.dict.get(k).map(|o| &o.value) {
            Some(Value::ZSet(z)) => Input::Z(z),
            Some(Value::Set(s)) => Input::S(s),
            _ => Input::Missing,
        })
        .collect();

    if card_only {
        let mut order: Vec<usize> = (0..numkeys).collect();
        order.sort_by_key(|&i| inputs[i].len());
        let mut n = 0usize;
        if let Some((&first, rest)) = order.split_first() {
            let mut done = false;
            inputs[first].for_each(|m, _| {
                if done || rest.iter().any(|&i| inputs[i].score(m).is_none()) {
                    return;
                }
                n += 1;
                if card_limit != 0 && n >= card_limit {
                    done = true;
                }
            });
        }
        ctx.out.integer(n as i64);
        return Ok(());
    }

    // The result as (member, score) pairs, then sorted like a sorted set.
    let mut result: Vec<(Sds, f64)> = Vec::new();
    match op {
        SetOp::Union => {
            let mut acc: hashbrown::HashMap<Sds, f64> = hashbrown::HashMap::new();
            // Inputs are accumulated from the smallest to the largest (a stable sort, like
            // Redis's `qsort` by `zuiCompareByCardinality`): with infinite scores the order
            // decides the result (`inf + inf + -inf` is NaN, hence 0, but `-inf + inf + inf`
            // is `0 + inf`).
            let mut order: Vec<usize> = (0..numkeys).collect();
            order.sort_by_key(|&i| inputs[i].len());
            for &i in &order {
                let (input, w) = (&inputs[i], weights[i]);
                input.for_each(|m, s| {
                    let v = weighted(w, s);
                    match acc.get_mut(m) {
                        Some(a) => *a = aggregate(agg, *a, v),
                        None => {
                            acc.insert(Sds::new(m), v);
                        }
                    }
                });
            }
            result.extend(acc);
        }
        SetOp::Inter => {
            // Walk the smallest input and probe the others.
            let mut order: Vec<usize> = (0..numkeys).collect();
            order.sort_by_key(|&i| inputs[i].len());
            if let Some((&first, rest)) = order.split_first() {
                inputs[first].for_each(|m, s| {
                    let mut score = weighted(weights[first], s);
                    for &i in rest {
                        match inputs[i].score(m) {
                            // Only the first input's product is NaN-corrected, as in Redis;
                            // SUM then turns a NaN total into 0.
                            Some(other) => score = aggregate(agg, score, weights[i] * other),
                            None => return,
                        }
                    }
                    result.push((Sds::new(m), score));
                });
            }
        }
        SetOp::Diff => {
            if let Some((first, rest)) = inputs.split_first() {
                first.for_each(|m, s| {
                    if rest.iter().all(|other| other.score(m).is_none()) {
                        result.push((Sds::new(m), s));
                    }
                });
            }
        }
    }
    result.sort_by(|a, b| {
        a.1.partial_cmp(&b.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.0.cmp(&b.0))
    });

    match dst {
        None => {
            reply_elements_len(ctx.out, result.len(), withscores);
            for (m, s) in &result {
                reply_element(ctx.out, m, *s, withscores);
            }
        }
        Some(dst) => {
            let limits = limits(ctx);
            let max_len = result.iter().map(|(m, _)| m.len()).max().unwrap_or(0);
            let mut z = ZSet::for_size(result.len(), max_len, limits);
            for (m, s) in &result {
                z.insert(m, *s, limits);
            }
            let event = match op {
                SetOp::Union => "zunionstore",
                SetOp::Inter => "zinterstore",
                SetOp::Diff => "zdiffstore",
            };
            store_result(ctx, dst, z, event);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// ZSCAN
// ---------------------------------------------------------------------------------------------

/// ZSCAN key cursor [MATCH pattern] [COUNT count] — `[next cursor, [member, score, ...]]`,
/// scores as bulk strings in both protocols (as Redis's SCAN family sends them).
fn zscan_command(ctx: &mut Ctx, argv: &[&[u8]]) -> CommandResult {
    let cursor = parse_scan_cursor(argv[2])?;
    let Some(z) = zset_read(&mut ctx.dbs[ctx.db], argv[1], ctx.now)? else {
        reply_scan(ctx.out, 0, &[]);
        return Ok(());
    };
    let opts = ScanOptions::parse(argv, 3, false)?;
    let mut items: Vec<(Sds, f64)> = Vec::new();
    let next = z.scan(cursor, opts.count, |m, s| {
        if opts.matches(m) {
            items.push((Sds::new(m), s));
        }
    });
    let out = &mut *ctx.out;
    out.array_len(2);
    out.bulk_u64(next);
    out.array_len(items.len() * 2);
    for (m, s) in &items {
        out.bulk(m);
        out.bulk(format_double(*s).as_bytes());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_bounds_follow_strtod() {
        assert_eq!(parse_score_bound(b"(1.5"), Some((1.5, true)));
        assert_eq!(parse_score_bound(b"("), Some((0.0, true)));
        assert_eq!(parse_score_bound(b"-inf"), Some((f64::NEG_INFINITY, false)));
        assert_eq!(parse_score_bound(b" 2"), Some((2.0, false)));
        assert_eq!(parse_score_bound(b"(a"), None);
        assert_eq!(parse_score_bound(b"nan"), None);
    }

    #[test]
    fn rank_intervals_clamp_like_redis() {
        assert_eq!(rank_interval(0, -1, 5), Some((0, 4)));
        assert_eq!(rank_interval(-100, 1, 5), Some((0, 1)));
        assert_eq!(rank_interval(3, 100, 5), Some((3, 4)));
        assert_eq!(rank_interval(5, 10, 5), None);
        assert_eq!(rank_interval(3, 1, 5), None);
        assert_eq!(rank_interval(0, -1, 0), None);
    }

    #[test]
    fn limit_counts_offsets_from_the_end_it_reads_from() {
        // Ranks 2..7 hold the range; LIMIT 1 2 forwards is ranks 3, 4; reversed 5, 4.
        assert_eq!(limit_ranks(2, 7, 1, 2, false), (3, 2));
        assert_eq!(limit_ranks(2, 7, 1, 2, true), (4, 2));
        assert_eq!(limit_ranks(2, 7, 0, -1, false), (2, 5));
        assert_eq!(limit_ranks(2, 7, 9, 1, true), (2, 0));
        assert_eq!(limit_ranks(2, 7, -1, 1, false), (0, 0));
    }

    #[test]
    fn pairs_are_nested_in_resp3_and_flat_in_resp2() {
        let mut r2 = ReplyBuffer::new();
        let mut r3 = ReplyBuffer::new();
        r3.set_resp3(true);
        for r in [&mut r2, &mut r3] {
            reply_elements_len(r, 1, true);
            reply_element(r, b"m", 1.5, true);
        }
        assert_eq!(r2.as_bytes(), b"*2\r\n$1\r\nm\r\n$3\r\n1.5\r\n");
        assert_eq!(r3.as_bytes(), b"*1\r\n*2\r\n$1\r\nm\r\n,1.5\r\n");
        let mut r3 = ReplyBuffer::new();
        r3.set_resp3(true);
        reply_bzpop(&mut r3, b"k", &[(Sds::new(b"m"), 2.0)]);
        assert_eq!(r3.as_bytes(), b"*3\r\n$1\r\nk\r\n$1\r\nm\r\n,2\r\n");
    }
}
