//! Redis's glob-style pattern matching (Redis: `util.c`, `stringmatchlen`), used by KEYS, SCAN /
//! HSCAN / SSCAN / ZSCAN MATCH, PSUBSCRIBE and PUBLISH, PUBSUB CHANNELS, CONFIG GET,
//! COMMAND LIST FILTERBY PATTERN and FUNCTION LIST LIBRARYNAME.
//!
//! # The pattern language, exactly as Redis 7.0 reads it
//! A pattern is a sequence of *tokens*; every token but `*` matches exactly one byte:
//! - `*` any run of bytes (consecutive stars are one star);
//! - `?` any byte;
//! - `\x` the byte `x` (a `\` that ends the pattern is a literal backslash);
//! - `[...]` one byte of a class: `[^...]` negates; inside, `\x` is the byte `x` (compared
//!   case-sensitively even in nocase mode), `a-z` a range (the ends may be reversed, and the
//!   end may be `]`, which then does not close the class), anything else is itself. A class
//!   with no closing `]` runs to the end of the pattern; `[` alone at the end matches nothing
//!   and `[^` alone matches any byte;
//! - any other byte is itself (ASCII case folded in nocase mode).
//!
//! Two quirks of Redis's C code are part of the behaviour: an empty subject matches only the
//! empty pattern (Redis's loop never starts, so even `*` fails; KEYS and SCAN special-case the
//! pattern `*` before calling it), and range ends compare as C `char`, which is signed on the
//! x86-64 builds we mirror, with glibc's `tolower` in nocase mode (see [`range_contains`]).
//!
//! # Why this matcher is O(pattern × subject)
//! Redis once backtracked exponentially on `*a*a*a...b` (CVE-2022-36021) and now stops as soon
//! as the rest of a pattern after some `*` has failed at every position, because no earlier
//! star can then help. This matcher reaches the same answers without recursion: since every
//! token other than `*` consumes exactly one byte, a failure after the most recent star can
//! only be repaired by letting *that* star swallow one more byte; earlier stars never need to
//! be revisited (whatever an earlier star could absorb, the latest star can absorb too). So it
//! keeps one backtrack point — the latest star and how far it reaches — and each byte of the
//! subject is retried at most once per pattern position: O(|pattern| × |subject|) steps, no
//! allocation, no recursion, whatever the number of stars.

/// Does `subject` match `pattern`? Works on bytes (keys are binary). `nocase` folds ASCII case
/// as Redis's `stringmatchlen(..., nocase=1)` does (CONFIG GET, COMMAND LIST, FUNCTION LIST).
pub fn glob_match(pattern: &[u8], subject: &[u8], nocase: bool) -> bool {
    // Redis's matching loop runs while both pattern and subject remain, then requires both to
    // be used up: with an empty subject that loop never starts, so only "" matches "".
    if subject.is_empty() {
        return pattern.is_empty();
    }
    let mut p = 0; // next pattern token
    let mut s = 0; // next subject byte
                   // The latest star seen: the pattern position after it, and the subject position where
                   // what follows it is being tried. Retrying means that star swallows one more byte.
    let mut retry: Option<(usize, usize)> = None;
    while let Some(&byte) = subject.get(s) {
        if pattern.get(p) == Some(&b'*') {
            p += 1;
            retry = Some((p, s));
            continue;
        }
        if let Some((true, next)) = match_token(pattern, p, byte, nocase) {
            p = next;
            s += 1;
            continue;
        }
        match retry {
            Some((after_star, tried_at)) => {
                retry = Some((after_star, tried_at + 1));
                p = after_star;
                s = tried_at + 1;
            }
            None => return false,
        }
    }
    // The subject is used up: what is left of the pattern must be stars only.
    debug_assert!(p <= pattern.len());
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|&b| b == b'*'))
}

/// Matches the one-byte token at pattern position `p` (anything but `*`) against `byte`.
/// Returns whether it matched and where the next token starts, or `None` at the pattern's end.
fn match_token(pattern: &[u8], p: usize, byte: u8, nocase: bool) -> Option<(bool, usize)> {
    let token = pattern.get(p..)?;
    Some(match token {
        [] => return None,
        [b'?', ..] => (true, p + 1),
        [b'[', ..] => match_class(pattern, p + 1, byte, nocase),
        [b'\\', escaped, ..] => (literal_eq(*escaped, byte, nocase), p + 2),
        [literal, ..] => (literal_eq(*literal, byte, nocase), p + 1),
    })
}

fn literal_eq(pattern_byte: u8, byte: u8, nocase: bool) -> bool {
    if nocase {
        pattern_byte.eq_ignore_ascii_case(&byte)
    } else {
        pattern_byte == byte
    }
}

/// Matches `byte` against the `[...]` class whose body starts at pattern position `body`.
/// Returns whether it matched and the position after the class (after its `]`, or the end of
/// the pattern when it is unterminated). The order of the tests is Redis's: an escape first,
/// then `]`, then a range, then a literal — so `[\]]` holds `]`, `[]` is empty, and in `[a-]`
/// the `]` is the end of the range.
fn match_class(pattern: &[u8], body: usize, byte: u8, nocase: bool) -> (bool, usize) {
    let mut q = body;
    let negate = pattern.get(q) == Some(&b'^');
    if negate {
        q += 1;
    }
    let mut matched = false;
    loop {
        match pattern.get(q..).unwrap_or_default() {
            [b'\\', escaped, ..] => {
                matched |= *escaped == byte;
                q += 2;
            }
            [b']', ..] => {
                q += 1;
                break;
            }
            [] => break,
            [start, b'-', end, ..] => {
                matched |= range_contains(*start, *end, byte, nocase);
                q += 3;
            }
            [literal, ..] => {
                matched |= literal_eq(*literal, byte, nocase);
                q += 1;
            }
        }
    }
    (matched != negate, q)
}

/// Is `byte` within the class range `start-end`? Redis compares C `char`s, signed on x86-64,
/// so `[a-\xff]` is the range -1..=97 (bytes 0xff and 0x00..=0x61). Reversed ends are swapped
/// first; in nocase mode all three are then passed through glibc's C-locale `tolower`.
fn range_contains(start: u8, end: u8, byte: u8, nocase: bool) -> bool {
    let (mut lo, mut hi, mut c) = (start as i8 as i32, end as i8 as i32, byte as i8 as i32);
    if lo > hi {
        std::mem::swap(&mut lo, &mut hi);
    }
    if nocase {
        (lo, hi, c) = (c_tolower(lo), c_tolower(hi), c_tolower(c));
    }
    lo <= c && c <= hi
}

/// glibc's `tolower` in the C locale for a `char` promoted to `int`: ASCII letters fold,
/// negative values other than EOF (-1) come back as their unsigned byte value.
fn c_tolower(c: i32) -> i32 {
    match c {
        -128..=-2 => c + 256,
        0x41..=0x5a => c + 0x20,
        _ => c,
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match;
    use std::time::{Duration, Instant};

    /// (pattern, subject, does Redis 7.0.15 match it?) — case-sensitive. Every row was checked
    /// against redis-server with `SET subject` + `KEYS pattern` (and `PSUBSCRIBE`/`PUBLISH` for
    /// the empty subject); `tests/keyspace.rs` replays them against redis-server.
    pub(crate) const CASES: &[(&[u8], &[u8], bool)] = &[
        (b"*", b"anything", true),
        (b"*", b"", false),
        (b"", b"", true),
        (b"", b"a", false),
        (b"a*", b"a", true),
        (b"a**", b"a", true),
        (b"a*?", b"a", false),
        (b"**a", b"a", true),
        (b"h?llo", b"hello", true),
        (b"h?llo", b"hllo", false),
        (b"h*llo", b"heeeello", true),
        (b"h*llo", b"hllo", true),
        (b"a*b*c", b"aXbYbZc", true),
        (b"a*b*c", b"aXbYbZ", false),
        (b"*a*a*b", b"aaaaab", true),
        (b"*a*a*b", b"aaaaaa", false),
        (b"a*b", b"acd", false),
        (b"h[ae]llo", b"hallo", true),
        (b"h[ae]llo", b"hillo", false),
        (b"h[^e]llo", b"hallo", true),
        (b"h[^e]llo", b"hello", false),
        (b"h[a-b]llo", b"hbllo", true),
        (b"h[b-a]llo", b"hbllo", true),
        (b"h[b-a]llo", b"hcllo", false),
        (b"[^a-c]", b"d", true),
        (b"[^a-c]", b"b", false),
        (b"h\\*llo", b"h*llo", true),
        (b"h\\*llo", b"hello", false),
        (b"a\\", b"a\\", true),
        (b"a\\", b"a", false),
        (b"\\", b"\\", true),
        (b"[", b"[", false),
        (b"[", b"a", false),
        (b"a[", b"a", false),
        (b"[^", b"x", true),
        (b"[^", b"^", true),
        (b"[abc", b"b", true),
        (b"[abc", b"[", false),
        (b"[abc", b"bc", false),
        (b"[]", b"]", false),
        (b"[]a]", b"a]", false),
        (b"[]a]", b"]", false),
        (b"[^]", b"x", true),
        (b"[\\]]", b"]", true),
        (b"[\\]", b"]", true),
        (b"[\\]", b"\\", false),
        (b"[a\\", b"\\", true),
        (b"[a-]", b"]", true),
        (b"[a-]", b"^", true),
        (b"[a-]", b"-", false),
        (b"[a-]b", b"b", true),
        (b"[a-]]", b"]]", false),
        (b"[a-]]", b"]", true),
        (b"[-a]", b"-", true),
        (b"[a-", b"-", true),
        (b"[\\a-z]", b"-", true),
        (b"[\\a-z]", b"m", false),
        (b"[a-\xff]", b"\xff", true),
        (b"[a-\xff]", b"A", true),
        (b"[a-\xff]", b"b", false),
        (b"[a-\xff]", b"\x80", false),
        (b"[\x80-\xfe]", b"\x90", true),
        (b"[\x80-\xfe]", b"a", false),
        (b"a?c", b"a\x00c", true),
        (b"a\x00*", b"a\x00z", true),
        (b"user:*", b"user:42", true),
        (b"HELLO", b"hello", false),
    ];

    #[test]
    fn globs_match_like_redis() {
        for &(pattern, subject, expected) in CASES {
            assert_eq!(
                glob_match(pattern, subject, false),
                expected,
                "pattern {:?} subject {:?}",
                String::from_utf8_lossy(pattern),
                String::from_utf8_lossy(subject)
            );
        }
    }

    /// (pattern, subject, expected) with nocase, as CONFIG GET / COMMAND LIST / FUNCTION LIST
    /// see them (checked against redis-server's `FUNCTION LIST LIBRARYNAME` and `CONFIG GET`).
    const NOCASE_CASES: &[(&[u8], &[u8], bool)] = &[
        (b"MAXMEM*", b"maxmemory", true),
        (b"maxmem*", b"MAXMEMORY", true),
        (b"LIB[A-C]", b"libb", true),
        (b"lib[a-c]", b"LIBB", true),
        (b"lib[\\B]", b"libb", false),
        (b"lib[\\b]", b"libb", true),
        (b"\\L*", b"lib", true),
        (b"[^L]ib", b"lib", false),
        // Reversed and then lowered: `[a-\xc8]` is -56..=97, lowered to 200..=97: empty.
        (b"[a-\xc8]ppendonly", b"appendonly", false),
        (b"[a-\xc8]", b"\xd0", false),
        // `\xff` is -1, which glibc's tolower keeps as -1 (EOF); `A` is lowered to 97.
        (b"[\xff-A]ppendonly", b"appendonly", true),
        (b"[A-\xff]ppendonly", b"appendonly", true),
        (b"[\xff-a]", b"\xff", true),
    ];

    #[test]
    fn nocase_globs_fold_like_redis() {
        for &(pattern, subject, expected) in NOCASE_CASES {
            assert_eq!(
                glob_match(pattern, subject, true),
                expected,
                "pattern {:?} subject {:?}",
                String::from_utf8_lossy(pattern),
                String::from_utf8_lossy(subject)
            );
        }
    }

    #[test]
    fn many_stars_fail_in_polynomial_time() {
        let subject = vec![b'a'; 10_000];
        let mut pattern = b"a*".repeat(2_000);
        pattern.push(b'b');
        let started = Instant::now();
        assert!(!glob_match(&pattern, &subject, false));
        assert!(glob_match(&pattern[..pattern.len() - 1], &subject, false));
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn many_stars_need_no_recursion_limit() {
        // Redis 7.0.15 has no nesting limit: 5,000 stars still match.
        let pattern = b"?*".repeat(5_000);
        assert!(glob_match(&pattern, &[b'x'; 5_000], false));
        assert!(!glob_match(&pattern, &[b'x'; 4_999], false));
    }
}
