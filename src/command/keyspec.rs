//! Key specifications: where a command's key arguments are and how it uses each key (Redis 7.0:
//! `keySpec` in `server.h`, filled from `src/commands/*.json`; the search is
//! `getKeysUsingKeySpecs` / `getKeysFromCommandWithSpecs` and the `*GetKeys` helpers in `db.c`).
//!
//! Every row of the command table ([`super::table::CommandSpec`]) declares its key specs once.
//! A spec is two steps over `argv`:
//!
//! ```text
//!   begin_search: where to start   index N             (argv[N])
//!                                  keyword K from S    (the argument after the first K found
//!                                                       scanning from S; backwards if S < 0)
//!   find_keys:    which keys then  range L, step, limit (up to L arguments further; L < 0
//!                                                       counts from the end; limit splits
//!                                                       the rest)
//!                                  keynum I, first, step (argv[start+I] says how many keys,
//!                                                       the first at start+first)
//! ```
//!
//! plus flags saying how the key is used (RO / RW / OW / RM, access / update / insert / delete,
//! and `incomplete` / `variable_flags` when the spec alone cannot know). A command whose specs
//! cannot find every key (SORT's STORE, EVAL's numkeys when it is 0) also names a [`GetKeys`]
//! helper, as Redis's `getkeys_proc`. [`get_keys`] combines both exactly as Redis does, and is
//! what COMMAND GETKEYS / GETKEYSANDFLAGS answer; the same function serves any later caller that
//! needs a command's keys (ACL key patterns, cluster routing). COMMAND INFO reports the specs
//! themselves and the legacy (first, last, step) triple derived from them ([`legacy_range`]).

/// Key-spec flags, with the names COMMAND INFO and GETKEYSANDFLAGS report.
pub mod key_flags {
    pub const RO: u32 = 1 << 0;
    pub const RW: u32 = 1 << 1;
    pub const OW: u32 = 1 << 2;
    pub const RM: u32 = 1 << 3;
    pub const ACCESS: u32 = 1 << 4;
    pub const UPDATE: u32 = 1 << 5;
    pub const INSERT: u32 = 1 << 6;
    pub const DELETE: u32 = 1 << 7;
    pub const NOT_KEY: u32 = 1 << 8;
    pub const INCOMPLETE: u32 = 1 << 9;
    pub const VARIABLE_FLAGS: u32 = 1 << 10;

    pub const NAMES: &[(u32, &str)] = &[
        (RO, "RO"),
        (RW, "RW"),
        (OW, "OW"),
        (RM, "RM"),
        (ACCESS, "access"),
        (UPDATE, "update"),
        (INSERT, "insert"),
        (DELETE, "delete"),
        (NOT_KEY, "not_key"),
        (INCOMPLETE, "incomplete"),
        (VARIABLE_FLAGS, "variable_flags"),
    ];
}

use key_flags::*;

/// Where the search for a spec's keys begins.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BeginSearch {
    /// At this argument index.
    Index(i32),
    /// After the first argument equal (case-insensitively) to `keyword`, scanning from
    /// `startfrom` (a negative value counts from the end and scans backwards).
    Keyword {
        keyword: &'static str,
        startfrom: i32,
    },
    /// Only the command's [`GetKeys`] helper knows.
    Unknown,
}

/// Which keys follow the beginning.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FindKeys {
    /// Keys from the beginning to `lastkey` arguments further (negative: counted from the end of
    /// argv, or with `limit` > 0, `1/limit` of the remaining arguments), every `keystep`.
    Range {
        lastkey: i32,
        keystep: i32,
        limit: i32,
    },
    /// The argument `keynumidx` after the beginning gives the number of keys; the first is at
    /// `firstkey` after the beginning, then every `keystep`.
    Keynum {
        keynumidx: i32,
        firstkey: i32,
        keystep: i32,
    },
    Unknown,
}

/// One key specification (Redis: `keySpec`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KeySpec {
    pub notes: &'static str,
    pub flags: u32,
    pub begin: BeginSearch,
    pub find: FindKeys,
}

impl KeySpec {
    /// One key at argument `pos`. Chain `.range(..)` or `.keynum(..)` for more.
    pub const fn at(pos: i32, flags: u32) -> KeySpec {
        KeySpec {
            notes: "",
            flags,
            begin: BeginSearch::Index(pos),
            find: FindKeys::Range {
                lastkey: 0,
                keystep: 1,
                limit: 0,
            },
        }
    }

    /// One key right after `keyword`, searched from `startfrom`.
    pub const fn keyword(keyword: &'static str, startfrom: i32, flags: u32) -> KeySpec {
        KeySpec {
            begin: BeginSearch::Keyword { keyword, startfrom },
            ..KeySpec::at(0, flags)
        }
    }

    /// Keys only a [`GetKeys`] helper can find.
    pub const fn unknown(flags: u32) -> KeySpec {
        KeySpec {
            notes: "",
            flags,
            begin: BeginSearch::Unknown,
            find: FindKeys::Unknown,
        }
    }

    pub const fn range(mut self, lastkey: i32, keystep: i32, limit: i32) -> KeySpec {
        self.find = FindKeys::Range {
            lastkey,
            keystep,
            limit,
        };
        self
    }

    pub const fn keynum(mut self, keynumidx: i32, firstkey: i32, keystep: i32) -> KeySpec {
        self.find = FindKeys::Keynum {
            keynumidx,
            firstkey,
            keystep,
        };
        self
    }

    pub const fn notes(mut self, notes: &'static str) -> KeySpec {
        self.notes = notes;
        self
    }
}

/// A key found in an argv: its index and the flags of the spec that found it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyRef {
    pub pos: usize,
    pub flags: u32,
}

/// A command's own key finder, for what its specs cannot express (Redis: `getkeys_proc`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum GetKeys {
    /// `[store] numkeys key [key ...]` (Redis: `genericGetKeys`): the key count at `count`,
    /// the keys from `first` every `step`, then the destination at `store` (0 = none). The
    /// keys carry no flags, as in Redis.
    Numkeys {
        store: usize,
        count: usize,
        first: usize,
        step: usize,
    },
    /// SORT key ... [STORE dst] (Redis: `sortGetKeys`).
    Sort,
    /// SORT_RO key ... (Redis: `sortROGetKeys`).
    SortRo,
    /// SET key value ... \[GET\] (Redis: `setGetKeys`): RW with GET, else OW.
    Set,
    /// BITFIELD key ... (Redis: `bitfieldGetKeys`): RO when only GETs, else RW.
    Bitfield,
    /// XREAD / XREADGROUP ... STREAMS key [key ...] id [id ...] (Redis: `xreadGetKeys`).
    Xread,
    /// MIGRATE host port key|"" db timeout [COPY] [REPLACE] [AUTH pw | AUTH2 user pw]
    /// [KEYS key ...] (Redis: `migrateGetKeys`).
    Migrate,
}

impl GetKeys {
    /// ZUNION / ZINTER / ZDIFF / ZINTERCARD / LMPOP / ZMPOP (`zunionInterDiffGetKeys`, ...).
    pub const NUMKEYS_AT_1: GetKeys = GetKeys::Numkeys {
        store: 0,
        count: 1,
        first: 2,
        step: 1,
    };
    /// EVAL / FCALL / BLMPOP / BZMPOP (`evalGetKeys`, `functionGetKeys`, `blmpopGetKeys`).
    pub const NUMKEYS_AT_2: GetKeys = GetKeys::Numkeys {
        store: 0,
        count: 2,
        first: 3,
        step: 1,
    };
    /// ZUNIONSTORE / ZINTERSTORE / ZDIFFSTORE (`zunionInterDiffStoreGetKeys`).
    pub const STORE_NUMKEYS: GetKeys = GetKeys::Numkeys {
        store: 1,
        count: 2,
        first: 3,
        step: 1,
    };

    fn run(self, argv: &[&[u8]]) -> Vec<KeyRef> {
        match self {
            GetKeys::Numkeys {
                store,
                count,
                first,
                step,
            } => numkeys_get_keys(argv, store, count, first, step),
            GetKeys::Sort => sort_get_keys(argv),
            GetKeys::SortRo => vec![KeyRef {
                pos: 1,
                flags: RO | ACCESS,
            }],
            GetKeys::Set => {
                let get = argv.iter().skip(3).any(|a| a.eq_ignore_ascii_case(b"get"));
                let flags = if get {
                    RW | ACCESS | UPDATE
                } else {
                    OW | UPDATE
                };
                vec![KeyRef { pos: 1, flags }]
            }
            GetKeys::Bitfield => vec![KeyRef {
                pos: 1,
                flags: bitfield_key_flags(argv),
            }],
            GetKeys::Xread => xread_get_keys(argv),
            GetKeys::Migrate => migrate_get_keys(argv),
        }
    }
}

/// Redis: `migrateGetKeys`. The key at 3, or with KEYS (and an empty key there) the rest of
/// the arguments; AUTH and AUTH2 values are skipped while looking for KEYS. KEYS after a
/// non-empty key is an error: no keys.
fn migrate_get_keys(argv: &[&[u8]]) -> Vec<KeyRef> {
    let (mut first, mut num) = (3, 1);
    let mut i = 6;
    while i < argv.len() {
        let arg = argv[i];
        if arg.eq_ignore_ascii_case(b"keys") {
            if !argv[3].is_empty() {
                return Vec::new();
            }
            first = i + 1;
            num = argv.len() - first;
            break;
        }
        if arg.eq_ignore_ascii_case(b"auth") {
            i += 1;
        } else if arg.eq_ignore_ascii_case(b"auth2") {
            i += 2;
        }
        i += 1;
    }
    (first..first + num)
        .filter(|&pos| pos < argv.len())
        .map(|pos| KeyRef {
            pos,
            flags: RW | ACCESS | DELETE,
        })
        .collect()
}

/// Redis: `bitfieldGetKeys`. Read-only while the sub-commands seen are GETs and OVERFLOWs; a
/// SET, an INCRBY or anything unparsable (an error to come) makes the key RW.
fn bitfield_key_flags(argv: &[&[u8]]) -> u32 {
    let mut i = 2;
    while i < argv.len() {
        let remaining = argv.len() - i - 1;
        let arg = argv[i];
        if arg.eq_ignore_ascii_case(b"get") && remaining >= 2 {
            i += 2;
        } else if arg.eq_ignore_ascii_case(b"overflow") && remaining >= 1 {
            i += 1;
        } else {
            return RW | ACCESS | UPDATE;
        }
        i += 1;
    }
    RO | ACCESS
}

/// Redis: `xreadGetKeys`. The first half of the arguments after the first STREAMS that is
/// not an option's value; nothing when that list is empty or odd (the command will fail).
fn xread_get_keys(argv: &[&[u8]]) -> Vec<KeyRef> {
    let mut streams = None;
    let mut i = 1;
    while i < argv.len() {
        let arg = argv[i];
        if arg.eq_ignore_ascii_case(b"block") || arg.eq_ignore_ascii_case(b"count") {
            i += 1;
        } else if arg.eq_ignore_ascii_case(b"group") {
            i += 2;
        } else if arg.eq_ignore_ascii_case(b"noack") {
        } else if arg.eq_ignore_ascii_case(b"streams") {
            streams = Some(i);
            break;
        } else {
            break;
        }
        i += 1;
    }
    let Some(pos) = streams else {
        return Vec::new();
    };
    let num = argv.len() - pos - 1;
    if num == 0 || !num.is_multiple_of(2) {
        return Vec::new();
    }
    (pos + 1..pos + 1 + num / 2)
        .map(|pos| KeyRef { pos, flags: 0 })
        .collect()
}

/// C's `atoi`: optional blanks and sign, then digits up to the first non-digit (0 if none).
fn atoi(s: &[u8]) -> i64 {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
        i += 1;
    }
    let negative = s.get(i) == Some(&b'-');
    if matches!(s.get(i), Some(b'-' | b'+')) {
        i += 1;
    }
    let mut n: i64 = 0;
    for &c in s.iter().skip(i).take_while(|c| c.is_ascii_digit()) {
        n = n.saturating_mul(10).saturating_add((c - b'0') as i64);
    }
    if negative {
        -n
    } else {
        n
    }
}

/// Redis: `genericGetKeys`. No keys when the count is below 1 or more than the arguments hold
/// (the command will answer with an error).
fn numkeys_get_keys(
    argv: &[&[u8]],
    store: usize,
    count: usize,
    first: usize,
    step: usize,
) -> Vec<KeyRef> {
    let num = argv.get(count).map_or(0, |a| atoi(a));
    let room = (argv.len() as i64 - first as i64) / step as i64;
    if num < 1 || num > room {
        return Vec::new();
    }
    let mut keys: Vec<KeyRef> = (0..num as usize)
        .map(|i| KeyRef {
            pos: first + i * step,
            flags: 0,
        })
        .collect();
    if store > 0 {
        keys.push(KeyRef {
            pos: store,
            flags: 0,
        });
    }
    keys
}

/// Redis: `sortGetKeys`. The sorted key, then the argument after the *last* STORE (options
/// LIMIT, GET and BY skip their arguments so that `GET store` is not mistaken for STORE).
fn sort_get_keys(argv: &[&[u8]]) -> Vec<KeyRef> {
    let mut keys = vec![KeyRef {
        pos: 1,
        flags: RO | ACCESS,
    }];
    let mut store = None;
    let mut i = 2;
    while i < argv.len() {
        let arg = argv[i];
        if arg.eq_ignore_ascii_case(b"limit") {
            i += 2;
        } else if arg.eq_ignore_ascii_case(b"get") || arg.eq_ignore_ascii_case(b"by") {
            i += 1;
        } else if arg.eq_ignore_ascii_case(b"store") && i + 1 < argv.len() {
            store = Some(i + 1);
        }
        i += 1;
    }
    if let Some(pos) = store {
        keys.push(KeyRef {
            pos,
            flags: OW | UPDATE,
        });
    }
    keys
}

/// Finds the keys of `argv` (`argv[0]` is the command name) with the specs alone
/// (Redis: `getKeysUsingKeySpecs` without `GET_KEYSPEC_RETURN_PARTIAL`). None when a spec
/// cannot be applied (unknown, bad numkeys, out of bounds, incomplete).
pub fn keys_from_specs(specs: &[KeySpec], argv: &[&[u8]]) -> Option<Vec<KeyRef>> {
    let argc = argv.len() as i64;
    let mut keys = Vec::new();
    for spec in specs {
        if spec.flags & NOT_KEY != 0 {
            continue;
        }
        let mut first: i64 = match spec.begin {
            BeginSearch::Index(pos) => pos as i64,
            BeginSearch::Keyword { keyword, startfrom } => {
                // Redis scans from `startfrom` towards the far end, which it never reaches: the
                // last argument (forwards) or argv[1] (backwards) is not examined.
                let startfrom = startfrom as i64;
                let is_keyword =
                    |i: &i64| argv[*i as usize].eq_ignore_ascii_case(keyword.as_bytes());
                let found = if startfrom > 0 {
                    (startfrom..argc - 1).find(is_keyword)
                } else {
                    (2..=argc + startfrom).rev().find(is_keyword)
                };
                match found {
                    Some(i) => i + 1,
                    None => continue,
                }
            }
            BeginSearch::Unknown => return None,
        };
        let (last, step) = match spec.find {
            FindKeys::Range {
                lastkey,
                keystep,
                limit,
            } => {
                let last = if lastkey >= 0 {
                    first + lastkey as i64
                } else if limit == 0 {
                    argc + lastkey as i64
                } else {
                    first + ((argc - first) / limit as i64 + lastkey as i64)
                };
                (last, keystep as i64)
            }
            FindKeys::Keynum {
                keynumidx,
                firstkey,
                keystep,
            } => {
                if keynumidx as i64 >= argc {
                    return None;
                }
                let at = usize::try_from(first + keynumidx as i64).ok()?;
                let numkeys = crate::util::parse_i64(argv.get(at)?).filter(|&n| n >= 0)?;
                first += firstkey as i64;
                (first + numkeys - 1, keystep as i64)
            }
            FindKeys::Unknown => return None,
        };
        if last >= argc || last < first || first >= argc {
            return None;
        }
        let mut i = first;
        while i <= last {
            keys.push(KeyRef {
                pos: i as usize,
                flags: spec.flags,
            });
            i += step.max(1);
        }
        if spec.flags & INCOMPLETE != 0 {
            return None;
        }
    }
    Some(keys)
}

/// The keys of `argv` for a command with these specs and helper, as COMMAND GETKEYS reports
/// them (Redis: `getKeysFromCommandWithSpecs`): the specs when they are reliable (at least one
/// real key spec, none with variable flags) and succeed, else the helper, else none.
pub fn get_keys(specs: &[KeySpec], helper: Option<GetKeys>, argv: &[&[u8]]) -> Vec<KeyRef> {
    let has_real_key = specs.iter().any(|s| s.flags & NOT_KEY == 0);
    let variable = specs.iter().any(|s| s.flags & VARIABLE_FLAGS != 0);
    if has_real_key && !variable {
        if let Some(keys) = keys_from_specs(specs, argv) {
            return keys;
        }
    }
    helper.map_or_else(Vec::new, |h| h.run(argv))
}

/// The legacy (first, last, step) triple COMMAND INFO shows, derived from the specs, and
/// whether the specs make the keys "movable" (Redis: `populateCommandLegacyRangeSpec`): one
/// index/range spec is used as is; otherwise consecutive step-1 range specs are merged, and
/// any other spec makes the keys movable.
pub fn legacy_range(specs: &[KeySpec]) -> ((i32, i32, i32), bool) {
    if let [KeySpec {
        flags,
        begin: BeginSearch::Index(pos),
        find: FindKeys::Range {
            lastkey, keystep, ..
        },
        ..
    }] = specs
    {
        let last = if *lastkey >= 0 {
            pos + lastkey
        } else {
            *lastkey
        };
        return ((*pos, last, *keystep), flags & INCOMPLETE != 0);
    }
    let mut movable = false;
    let (mut firstkey, mut lastkey) = (i32::MAX, 0i32);
    let mut prev_lastkey = 0;
    for spec in specs {
        let (
            BeginSearch::Index(pos),
            FindKeys::Range {
                lastkey: last,
                keystep,
                ..
            },
        ) = (spec.begin, spec.find)
        else {
            movable = true;
            continue;
        };
        if keystep != 1 || (prev_lastkey != 0 && prev_lastkey != pos - 1) {
            movable = true;
            continue;
        }
        if spec.flags & INCOMPLETE != 0 {
            movable = true;
        }
        firstkey = firstkey.min(pos);
        let abs_last = if last >= 0 { last + pos } else { last };
        // Redis compares as unsigned, so a negative (relative to the end) last key wins.
        lastkey = if (lastkey as u32) >= (abs_last as u32) {
            lastkey
        } else {
            abs_last
        };
        prev_lastkey = lastkey;
    }
    if firstkey == i32::MAX {
        return ((0, 0, 0), !specs.is_empty() || movable);
    }
    ((firstkey, lastkey, 1), movable)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn positions(keys: &[KeyRef]) -> Vec<usize> {
        keys.iter().map(|k| k.pos).collect()
    }

    #[test]
    fn numkeys_specs_and_helpers_find_the_keys_redis_finds() {
        let zunionstore = [
            KeySpec::at(1, OW | UPDATE),
            KeySpec::at(2, RO | ACCESS).keynum(0, 1, 1),
        ];
        let argv: [&[u8]; 5] = [b"zunionstore", b"d", b"2", b"a", b"b"];
        let keys = get_keys(&zunionstore, Some(GetKeys::STORE_NUMKEYS), &argv);
        assert_eq!(positions(&keys), [1, 3, 4]);
        // A bad count: the spec fails, the helper finds nothing.
        let argv: [&[u8]; 5] = [b"zunionstore", b"d", b"x", b"a", b"b"];
        assert!(get_keys(&zunionstore, Some(GetKeys::STORE_NUMKEYS), &argv).is_empty());
        let eval = [KeySpec::at(2, RW | ACCESS | UPDATE).keynum(0, 1, 1).notes(
            "We cannot tell how the keys will be used so we assume the worst, RW and UPDATE",
        )];
        let argv: [&[u8]; 5] = [b"eval", b"s", b"0", b"k1", b"k2"];
        assert!(get_keys(&eval, Some(GetKeys::NUMKEYS_AT_2), &argv).is_empty());
    }

    #[test]
    fn sort_finds_the_last_store_and_skips_option_arguments() {
        let argv: [&[u8]; 8] = [
            b"sort", b"a", b"GET", b"store", b"STORE", b"x", b"STORE", b"y",
        ];
        let keys = GetKeys::Sort.run(&argv);
        assert_eq!(positions(&keys), [1, 7]);
        assert_eq!(keys[1].flags, OW | UPDATE);
    }

    #[test]
    fn legacy_range_merges_consecutive_specs() {
        let smove = [
            KeySpec::at(1, RW | ACCESS | DELETE),
            KeySpec::at(2, RW | INSERT),
        ];
        assert_eq!(legacy_range(&smove), ((1, 2, 1), false));
        let mset = [KeySpec::at(1, OW | UPDATE).range(-1, 2, 0)];
        assert_eq!(legacy_range(&mset), ((1, -1, 2), false));
        assert_eq!(legacy_range(&[]), ((0, 0, 0), false));
    }

    #[test]
    fn atoi_stops_at_the_first_non_digit() {
        assert_eq!(atoi(b" 12x"), 12);
        assert_eq!(atoi(b"-3"), -3);
        assert_eq!(atoi(b"x"), 0);
    }
}
