//! C `long double` arithmetic exactly as Redis does it for INCRBYFLOAT and HINCRBYFLOAT.
//!
//! Redis: `util.c` (`string2ld`, `ld2string` in `LD_STR_HUMAN` mode), `t_string.c`
//! (`incrbyfloatCommand`), `t_hash.c` (`hincrbyfloatCommand`).
//!
//! # Why not `f64`
//!
//! Redis reads the stored value and the increment with `strtold`, adds them as `long double`
//! and stores the sum printed with `"%.17Lf"`, trailing zeros removed. On x86-64 a `long double`
//! is the x87 80-bit *extended* format: a 64-bit significand (with an explicit integer bit) and
//! a 15-bit exponent, so it holds about 19.3 significant decimal digits and reaches 1.19e4932.
//! Done in `f64` instead, `10.5 + 0.1 - 5 + 1e3` prints `1005.6` where Redis prints
//! `1005.59999999999999998`, and `1e308 + 1e308` overflows where Redis prints 309 digits. The
//! stored text is the only state (the next INCRBYFLOAT parses it again), so matching Redis
//! means matching three steps bit for bit: the parse, the addition and the printing.
//!
//! # How each step is reproduced
//!
//! * **Parsing** (`string2ld`). glibc's `strtold` rounds correctly (to nearest, ties to even)
//!   from any number of digits. Redis then refuses: an empty string or one of
//!   [`MAX_LONG_DOUBLE_CHARS`] bytes or more, a leading space, anything `strtold` does not
//!   consume (trailing garbage, an embedded NUL), NaN, and a range error whose result is
//!   infinite (overflow) or zero (a non-zero number too small even for a subnormal); a subnormal
//!   result is accepted. The grammar check below is ours (`strtold`'s C-locale syntax: sign,
//!   `inf`/`infinity`, decimal with optional `e` exponent, `0x` hexadecimal with optional `p`
//!   exponent); the rounding is `rustc_apfloat`'s `X87DoubleExtended`, a port of LLVM's
//!   APFloat whose decimal conversion is exact big-number arithmetic, so it agrees with glibc.
//! * **Addition**. The x87 unit rounds a sum to its 64-bit significand (the default precision
//!   control on x86-64 Linux) with the same exponent range as the stored format, so one
//!   correctly rounded IEEE-style addition in the 80-bit format is what Redis computes.
//!   APFloat's `add` is exactly that, subnormals included.
//! * **Printing** (`%.17Lf`). Every finite binary number has a finite decimal expansion, so
//!   [`LongDouble::to_human_string`] prints it exactly: a value `m * 2^e` with `e >= 0` is an
//!   integer (at most 4933 digits, done with a tiny base-10^9 bignum); with `e < 0` the value
//!   is below 2^64 and `m * 10^17 / 2^-e` fits in a `u128`, rounded to nearest with ties to
//!   even as glibc's `printf` does in the default rounding mode. Then Redis's trimming:
//!   trailing zeros and a trailing `.` go, and `-0` becomes `0`.

use rustc_apfloat::ieee::X87DoubleExtended;
use rustc_apfloat::{Float, Round, Status};

/// Redis's `MAX_LONG_DOUBLE_CHARS`: `string2ld` copies into a buffer this big (with its NUL),
/// so it refuses input of this length or more.
pub const MAX_LONG_DOUBLE_CHARS: usize = 5 * 1024;

/// A C `long double` (x87 80-bit extended precision), as Redis's INCRBYFLOAT uses it.
#[derive(Clone, Copy, Debug)]
pub struct LongDouble(X87DoubleExtended);

/// Decimal exponents are clamped to this magnitude before conversion. With fewer than
/// [`MAX_LONG_DOUBLE_CHARS`] digits a non-zero number with a bigger exponent is already far
/// beyond 1.2e4932 or below the smallest subnormal (3.6e-4951), so the clamp changes no
/// result; it only keeps absurd exponents (`1e99999999999`) out of the big-number code.
const DECIMAL_EXPONENT_LIMIT: u32 = 99_999;

/// The same bound for the binary exponent of hexadecimal input (5119 hex digits shift the
/// value by at most 20476 bits; the format spans 2^-16445 .. 2^16384).
const BINARY_EXPONENT_LIMIT: u32 = 999_999;

impl LongDouble {
    /// Positive zero: a missing key or field counts as this.
    pub const ZERO: LongDouble = LongDouble(X87DoubleExtended::ZERO);

    /// Parses `s` with Redis's `string2ld` rules (see the module doc): `None` where Redis
    /// replies "value is not a valid float". `inf`, `-Infinity` and subnormals are accepted.
    pub fn parse(s: &[u8]) -> Option<LongDouble> {
        if s.is_empty() || s.len() >= MAX_LONG_DOUBLE_CHARS {
            return None;
        }
        let (negative, body) = match s {
            [b'-', rest @ ..] => (true, rest),
            [b'+', rest @ ..] => (false, rest),
            _ => (false, s),
        };
        let magnitude =
            if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
                X87DoubleExtended::INFINITY
            } else {
                // NaN in any spelling, spaces and garbage all fail the grammar here.
                let text = canonical_number(body)?;
                let parsed = X87DoubleExtended::from_str_r(&text, Round::NearestTiesToEven).ok()?;
                // strtold's ERANGE: Redis refuses overflow to infinity and underflow to zero.
                if parsed.status.contains(Status::OVERFLOW)
                    || (parsed.status.contains(Status::UNDERFLOW) && parsed.value.is_zero())
                {
                    return None;
                }
                parsed.value
            };
        Some(LongDouble(if negative { -magnitude } else { magnitude }))
    }

    /// Neither infinite nor NaN (Redis: `!isnan(v) && !isinf(v)`).
    pub fn is_finite(self) -> bool {
        self.0.is_finite()
    }

    /// The value as Redis's `ld2string(..., LD_STR_HUMAN)` prints it: `%.17Lf`, then trailing
    /// zeros and a trailing `.` removed, and `-0` turned into `0`. Infinities print as `inf` /
    /// `-inf` (as `ld2string` does) and NaN as glibc's `nan` / `-nan`, though INCRBYFLOAT never
    /// stores either.
    pub fn to_human_string(self) -> String {
        let x = self.0;
        let negative = x.is_negative();
        if x.is_nan() {
            return if negative { "-nan" } else { "nan" }.to_string();
        }
        if x.is_infinite() {
            return if negative { "-inf" } else { "inf" }.to_string();
        }
        let (mantissa, exponent) = decompose(x);
        let digits = if exponent >= 0 {
            shifted_integer_decimal(mantissa, exponent.unsigned_abs())
        } else {
            fixed_17(mantissa, exponent.unsigned_abs())
        };
        if digits == "0" || !negative {
            digits
        } else {
            format!("-{digits}")
        }
    }
}

/// `a + b`, rounded to nearest-even in the 80-bit format, as the x87 FPU adds.
impl std::ops::Add for LongDouble {
    type Output = LongDouble;

    fn add(self, other: LongDouble) -> LongDouble {
        LongDouble(self.0.add_r(other.0, Round::NearestTiesToEven).value)
    }
}

/// Checks that `body` (the text after an optional sign) is a whole number in `strtold`'s
/// C-locale grammar and returns it in the form APFloat reads: the significand as written, an
/// explicit exponent (APFloat insists on one for hexadecimal), clamped to a harmless size.
///
/// ```text
/// decimal:      digits [ "." [digits] ] | "." digits,   then optionally  [eE] [+-] digits
/// hexadecimal:  "0" [xX] hexdigits with at most one ".", then optionally  [pP] [+-] digits
/// ```
///
/// Anything else left over means `strtold` would stop early and Redis refuses the string.
fn canonical_number(body: &[u8]) -> Option<String> {
    let (hex, significand_and_exponent) = match body {
        [b'0', b'x' | b'X', rest @ ..] => (true, rest),
        _ => (false, body),
    };
    let is_digit: fn(&u8) -> bool = if hex {
        u8::is_ascii_hexdigit
    } else {
        u8::is_ascii_digit
    };
    let significand_len = scan_significand(significand_and_exponent, is_digit)?;
    let (significand, exponent_part) = significand_and_exponent.split_at(significand_len);
    let (marker, limit) = if hex {
        ('p', BINARY_EXPONENT_LIMIT)
    } else {
        ('e', DECIMAL_EXPONENT_LIMIT)
    };
    let exponent = match exponent_part {
        [] => 0,
        [m, rest @ ..] if m.to_ascii_lowercase() == marker as u8 => scan_exponent(rest, limit)?,
        _ => return None,
    };
    // Only ASCII digits, '.', 'x' survive the checks above, so this is valid UTF-8.
    let significand = std::str::from_utf8(significand).ok()?;
    let prefix = if hex { "0x" } else { "" };
    Some(format!("{prefix}{significand}{marker}{exponent}"))
}

/// The length of a significand at the start of `s`: digits with at most one `.`, and at
/// least one digit. `None` if there is no digit.
fn scan_significand(s: &[u8], is_digit: fn(&u8) -> bool) -> Option<usize> {
    let mut seen_dot = false;
    let mut seen_digit = false;
    let mut len = 0;
    for c in s {
        if is_digit(c) {
            seen_digit = true;
        } else if *c == b'.' && !seen_dot {
            seen_dot = true;
        } else {
            break;
        }
        len += 1;
    }
    seen_digit.then_some(len)
}

/// An exponent that must make up all of `s`: optional sign, then one or more decimal digits.
/// Its magnitude is clamped to `limit`.
fn scan_exponent(s: &[u8], limit: u32) -> Option<i64> {
    let (negative, digits) = match s {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let magnitude = digits.iter().fold(0u32, |acc, d| {
        acc.saturating_mul(10)
            .saturating_add(u32::from(d - b'0'))
            .min(limit)
    });
    let magnitude = i64::from(magnitude);
    Some(if negative { -magnitude } else { magnitude })
}

/// The exponent bias of the 80-bit format.
const BIAS: i32 = 16383;

/// A finite value's magnitude as `mantissa * 2^exponent`, read from the 80-bit encoding:
/// bit 79 sign, bits 64..79 the biased exponent, bits 0..64 the significand with its explicit
/// integer bit. A biased exponent of 0 means a subnormal (or zero) with the exponent of the
/// smallest normal.
fn decompose(x: X87DoubleExtended) -> (u64, i32) {
    let bits = x.to_bits();
    let mantissa = bits as u64;
    let biased = ((bits >> 64) & 0x7fff) as i32;
    let exponent = biased.max(1) - BIAS - 63;
    (mantissa, exponent)
}

/// `%.17Lf` of `mantissa / 2^shift` (shift >= 1), trimmed. The value is below 2^64, and
/// `mantissa * 10^17 < 2^121`, so the scaled quotient and the rounding fit in a `u128`.
fn fixed_17(mantissa: u64, shift: u32) -> String {
    const SCALE: u128 = 100_000_000_000_000_000; // 10^17
    let scaled = u128::from(mantissa) * SCALE;
    let rounded = if shift >= 128 {
        // The value is below 2^-64, far under half a unit of the 17th decimal.
        0
    } else {
        let quotient = scaled >> shift;
        let remainder = scaled & ((1u128 << shift) - 1);
        let half = 1u128 << (shift - 1);
        // Round half to even, as glibc's printf does in the default rounding mode.
        if remainder > half || (remainder == half && quotient % 2 == 1) {
            quotient + 1
        } else {
            quotient
        }
    };
    let integer = rounded / SCALE;
    let fraction = format!("{:017}", rounded % SCALE);
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        integer.to_string()
    } else {
        format!("{integer}.{fraction}")
    }
}

/// The decimal digits of the integer `mantissa * 2^shift` (`%.17Lf` prints them exactly and
/// a zero fraction, which the trimming removes). `shift` is at most 16384 - 64, so the number
/// has at most 4933 digits.
///
/// The bignum is little-endian base-2^32 limbs; it is turned into base-10^9 chunks by repeated
/// short division, the classic schoolbook conversion (quadratic, a few hundred microseconds
/// for the largest value).
fn shifted_integer_decimal(mantissa: u64, shift: u32) -> String {
    let word = (shift / 32) as usize;
    let bit = shift % 32;
    let wide = u128::from(mantissa) << bit; // at most 64 + 31 bits
    let mut limbs = vec![0u32; word];
    limbs.extend([wide as u32, (wide >> 32) as u32, (wide >> 64) as u32]);

    const CHUNK: u64 = 1_000_000_000;
    let mut chunks: Vec<u32> = Vec::new();
    while limbs.last() == Some(&0) {
        limbs.pop();
    }
    while !limbs.is_empty() {
        let mut remainder: u64 = 0;
        for limb in limbs.iter_mut().rev() {
            let current = (remainder << 32) | u64::from(*limb);
            *limb = (current / CHUNK) as u32;
            remainder = current % CHUNK;
        }
        chunks.push(remainder as u32);
        while limbs.last() == Some(&0) {
            limbs.pop();
        }
    }
    let mut out = match chunks.pop() {
        Some(most_significant) => most_significant.to_string(),
        None => return "0".to_string(),
    };
    for chunk in chunks.iter().rev() {
        out.push_str(&format!("{chunk:09}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Option<LongDouble> {
        LongDouble::parse(s.as_bytes())
    }

    fn human(s: &str) -> String {
        parse(s).expect("valid").to_human_string()
    }

    /// INCRBYFLOAT of `increments` on a missing key, as the stored text after each step.
    fn incr_sequence(increments: &[&str]) -> Vec<String> {
        let mut stored: Option<String> = None;
        let mut out = Vec::new();
        for by in increments {
            let current = stored.as_deref().map_or(LongDouble::ZERO, |s| {
                LongDouble::parse(s.as_bytes()).expect("stored")
            });
            let text = (current + parse(by).expect("increment")).to_human_string();
            out.push(text.clone());
            stored = Some(text);
        }
        out
    }

    #[test]
    fn extended_precision_shows_where_f64_would_hide_it() {
        // Replies of Redis 7.0.15 on x86-64.
        assert_eq!(
            incr_sequence(&["10.5", "0.1", "-5", "1e3"]),
            ["10.5", "10.6", "5.6", "1005.59999999999999998"]
        );
    }

    #[test]
    fn sums_beyond_f64_range_print_every_integer_digit() {
        let sum = incr_sequence(&["1e308", "1e308"]).pop().unwrap_or_default();
        assert_eq!(sum.len(), 309);
        assert!(sum.starts_with("199999999999999999993371759311691291321120199694831134"));
        let max = human("1.18973149535723176502e4932");
        assert_eq!(max.len(), 4933);
        assert!(max.starts_with("118973149535723176502126385303"));
    }

    #[test]
    fn ties_in_the_seventeenth_decimal_round_to_even() {
        // 2^-18 and 3 * 2^-18 end exactly on a 5 in the 18th decimal.
        assert_eq!(human("12345.000003814697265625"), "12345.00000381469726562");
        assert_eq!(human("0.000011444091796875"), "0.00001144409179688");
        assert_eq!(
            human("35184372088832.000003814697265625"),
            "35184372088832.00000381469726562"
        );
    }

    #[test]
    fn human_format_trims_zeros_dot_and_negative_zero() {
        assert_eq!(human("3.0"), "3");
        assert_eq!(human("-0"), "0");
        assert_eq!(human("-1e-20"), "0");
        assert_eq!(human("1e-17"), "0.00000000000000001");
        assert_eq!(human("-2.5"), "-2.5");
        assert_eq!(human("5e3"), "5000");
        assert_eq!(human("0x1p3"), "8");
        assert_eq!(human("0x10"), "16");
        assert_eq!(human("0x.8"), "0.5");
        assert_eq!(human("1e-4940"), "0");
        assert_eq!(human("18446744073709551615"), "18446744073709551615");
        assert_eq!(human("9223372036854775807"), "9223372036854775807");
        assert_eq!(human("0.1"), "0.1");
        assert_eq!(LongDouble::ZERO.to_human_string(), "0");
        assert_eq!(human("inf"), "inf");
        assert_eq!(human("-Infinity"), "-inf");
    }

    #[test]
    fn parse_accepts_what_strtold_consumes_whole() {
        for ok in [
            "1",
            "-1",
            "+1",
            ".5",
            "5.",
            "-.5",
            "1e5",
            "1E+5",
            "1e-5",
            "0x1p-2",
            "0X1.8P1",
            "0x1e3",
            "inf",
            "+INF",
            "-infinity",
            "iNfInItY",
            "0e-99999",
            "1e-4940",
            "1.1897314953572317650e4932",
            "0x1p16383",
            "00012",
            "1e0000000000000000001",
        ] {
            assert!(parse(ok).is_some(), "{ok:?} should parse");
        }
    }

    #[test]
    fn parse_refuses_what_string2ld_refuses() {
        for bad in [
            "",
            " 1",
            "1 ",
            "\t1",
            "1\0",
            "abc",
            "nan",
            "-nan",
            "NaN(123)",
            "1e",
            "1e+",
            "1e-",
            "1.2.3",
            ".",
            "-",
            "+",
            "+-1",
            "--1",
            "0x",
            "0x.",
            "0xp1",
            "0x1p",
            "infin",
            "infinityy",
            "1e5.5",
            "1,5",
            "1.2e4932",
            "-1.2e4932",
            "1e-5000",
            "0x1p16384",
            "0x1p-16446",
            "1e99999999999999999999",
            "٣",
            "1_000",
        ] {
            assert!(parse(bad).is_none(), "{bad:?} should be refused");
        }
        assert!(parse(&"1".repeat(MAX_LONG_DOUBLE_CHARS - 1)).is_none()); // overflows
        let long_ok = format!("0.{}", "1".repeat(MAX_LONG_DOUBLE_CHARS - 3));
        assert_eq!(long_ok.len(), MAX_LONG_DOUBLE_CHARS - 1);
        assert!(parse(&long_ok).is_some());
        let too_long = format!("0.{}", "1".repeat(MAX_LONG_DOUBLE_CHARS - 2));
        assert!(parse(&too_long).is_none());
    }

    #[test]
    fn infinities_and_overflow_are_not_finite() {
        let max = parse("1.18973149535723176502e4932").expect("max");
        assert!(max.is_finite());
        assert!(!(max + max).is_finite());
        let inf = parse("inf").expect("inf");
        assert!(!inf.is_finite());
        let minus_inf = parse("-inf").expect("-inf");
        assert!(!(inf + minus_inf).is_finite()); // NaN
    }

    #[test]
    fn absurd_inputs_do_not_panic() {
        let inputs = [
            "0x1p2147483647".to_string(),
            "0x1p-2147483648".to_string(),
            "0x1p99999999999999999999".to_string(),
            "1e-99999999999999999999".to_string(),
            format!("0.{}1e99999", "0".repeat(5000)),
            format!("{}e-99999", "9".repeat(5000)),
            format!("0x{}p-999999", "f".repeat(5000)),
            format!("0x.{}1p20000", "0".repeat(5000)),
            "4".repeat(4932),
            format!("-{}", "9".repeat(4933)),
        ];
        for s in &inputs {
            if let Some(v) = parse(s) {
                let _ = (v + v).to_human_string();
            }
        }
        // The smallest subnormal survives a round trip through its hexadecimal form.
        let tiny = parse("0x1p-16445").expect("smallest subnormal");
        assert_eq!(tiny.to_human_string(), "0");
        assert!(tiny.is_finite());
    }
}
