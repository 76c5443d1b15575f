//! Numbers as Redis reads and writes them.
//!
//! Redis is stricter than `str::parse`: an integer argument must be exactly what `%lld` would
//! print (no `+`, no leading zeros, no spaces, no overflow), and scores and floats are printed
//! with C's `%.17g` (ZSCORE 1.1 -> `1.1000000000000001`).

/// Parses a signed 64-bit integer with Redis's `string2ll` rules.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s {
        [] => return None,
        [b'-', rest @ ..] => (true, rest),
        _ => (false, s),
    };
    match digits {
        [] => return None,
        [b'0'] => return if neg { None } else { Some(0) },
        [b'0', ..] => return None,
        _ => {}
    }
    if digits.len() > 19 {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if neg {
        if v > i64::MAX as u64 + 1 {
            None
        } else {
            Some((v as i64).wrapping_neg())
        }
    } else if v > i64::MAX as u64 {
        None
    } else {
        Some(v as i64)
    }
}

/// Parses a whole string as a double the way C's `strtod` reads it when Redis checks that
/// nothing is left over: an optional sign, then a decimal number with optional exponent, a
/// `0x` hexadecimal number with optional binary `p` exponent, or `inf` / `infinity`. No
/// leading space (Redis refuses it before calling `strtod`), no NaN, no length limit.
/// Out-of-range values come back as `strtod` returns them (±inf, or 0 for an underflow); use
/// [`string2d`] where Redis refuses those. Used as `zslParseRange` and Lua read numbers.
pub fn parse_f64(s: &[u8]) -> Option<f64> {
    strtod_whole(s).map(|(v, _)| v)
}

/// Redis's `string2d` (`getDoubleFromObject`: ZADD scores, WEIGHTS): [`parse_f64`], and also
/// refused when `strtod` reports ERANGE with an infinite or zero result (`1e400`, `1e-400`);
/// a subnormal result is accepted.
pub fn string2d(s: &[u8]) -> Option<f64> {
    match strtod_whole(s)? {
        (v, true) if v.is_infinite() || v == 0.0 => None,
        (v, _) => Some(v),
    }
}

/// `strtod` over the whole of `s`: the value and whether it was out of range (ERANGE).
/// `None` when `s` is not entirely one number, or is NaN.
pub fn strtod_whole(s: &[u8]) -> Option<(f64, bool)> {
    let (negative, body) = match s.first()? {
        c if c.is_ascii_whitespace() => return None,
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (magnitude, out_of_range) = match body {
        [b'0', x, hex @ ..] if x.eq_ignore_ascii_case(&b'x') && !hex.is_empty() => {
            parse_hex_float(hex)?
        }
        _ if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") => {
            (f64::INFINITY, false)
        }
        [first, ..] if first.is_ascii_digit() || *first == b'.' => {
            // Rust's decimal grammar is C's (Rust alone also reads "inf"/"nan", excluded above
            // and by the first-byte test); it reads any number of digits in linear time.
            if !body
                .iter()
                .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
            {
                return None;
            }
            let v: f64 = std::str::from_utf8(body).ok()?.parse().ok()?;
            let mantissa = body.split(|c| c.eq_ignore_ascii_case(&b'e')).next();
            let nonzero = mantissa.is_some_and(|m| m.iter().any(|c| (b'1'..=b'9').contains(c)));
            (v, v.is_infinite() || (nonzero && v == 0.0))
        }
        _ => return None,
    };
    Some((if negative { -magnitude } else { magnitude }, out_of_range))
}

/// The hexadecimal float after `0x` (`1.8p3` is 12), correctly rounded to nearest-even as
/// glibc's `strtod` does, with whether it overflowed or underflowed to zero.
fn parse_hex_float(hex: &[u8]) -> Option<(f64, bool)> {
    // Up to 16 significant hex digits (64 bits) are kept; later non-zero digits only mark
    // the value as inexact (a sticky bit), which is all rounding needs.
    let (mut mantissa, mut exponent, mut sticky) = (0u64, 0i64, false);
    let (mut any_digit, mut seen_point, mut i) = (false, false, 0);
    while let Some(&c) = hex.get(i) {
        if c == b'.' && !seen_point {
            seen_point = true;
        } else if let Some(d) = (c as char).to_digit(16) {
            any_digit = true;
            if mantissa >> 60 == 0 {
                mantissa = mantissa << 4 | u64::from(d);
                if seen_point {
                    exponent -= 4;
                }
            } else {
                sticky |= d != 0;
                if !seen_point {
                    exponent += 4;
                }
            }
        } else {
            break;
        }
        i += 1;
    }
    if !any_digit {
        return None;
    }
    if let Some(rest) = hex.get(i..).filter(|r| !r.is_empty()) {
        // Only a complete binary exponent may follow: `p`, an optional sign, digits.
        let (negative, digits) = match rest {
            [p, b'-', d @ ..] if p.eq_ignore_ascii_case(&b'p') => (true, d),
            [p, b'+', d @ ..] | [p, d @ ..] if p.eq_ignore_ascii_case(&b'p') => (false, d),
            _ => return None,
        };
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        // Saturating: far past the double range either way.
        let e = digits
            .iter()
            .fold(0i64, |e, d| (e * 10 + i64::from(d - b'0')).min(1 << 20));
        exponent += if negative { -e } else { e };
    }
    if mantissa == 0 {
        return Some((0.0, false));
    }
    if sticky {
        mantissa |= 1;
    }
    // Normalise to 64 significant bits: the value is mantissa * 2^exponent, in
    // [2^top, 2^(top+1)).
    let zeros = mantissa.leading_zeros();
    mantissa <<= zeros;
    exponent -= i64::from(zeros);
    let top = exponent + 63;
    if top > 1023 {
        return Some((f64::INFINITY, true));
    }
    // Bits dropped to fit 53 (normal) or fewer (subnormal) significant bits.
    let dropped = if top >= -1022 { 11 } else { 11 + (-1022 - top) };
    if dropped > 64 {
        return Some((0.0, true));
    }
    let (kept, rest) = if dropped == 64 {
        (0, mantissa)
    } else {
        (mantissa >> dropped, mantissa << (64 - dropped))
    };
    let half = 1u64 << 63;
    let kept = kept + u64::from(rest > half || (rest == half && kept & 1 == 1));
    let scale = if top >= -1022 { top - 52 } else { -1074 };
    // `kept` < 2^54 and the scale is a power of two: the product is exact (or infinite).
    let v = kept as f64 * pow2(scale);
    Some((v, v.is_infinite() || v == 0.0))
}

/// 2^e as a double, for -1074 <= e <= 1023 (built from its bits: `powi` loses the
/// subnormal range).
fn pow2(e: i64) -> f64 {
    if e >= -1022 {
        f64::from_bits(((e + 1023) as u64) << 52)
    } else {
        f64::from_bits(1u64 << (e + 1074))
    }
}

/// Enough bytes for any i64 (`-9223372036854775808`) or u64 (`18446744073709551615`) in
/// decimal.
pub const I64_BUF: usize = 20;

/// Writes `v` in decimal into `buf`, returning the used tail (no allocation; hot path).
pub fn write_i64(v: i64, buf: &mut [u8; I64_BUF]) -> &[u8] {
    // |i64::MIN| has 19 digits, so there is always room for the sign in front.
    let start = I64_BUF - write_u64(v.unsigned_abs(), buf).len();
    if v < 0 {
        buf[start - 1] = b'-';
        &buf[start - 1..]
    } else {
        &buf[start..]
    }
}

/// Writes `n` in decimal at the end of `buf`, returning the used tail (SCAN cursors are
/// unsigned and may exceed `i64::MAX`).
pub fn write_u64(mut n: u64, buf: &mut [u8; I64_BUF]) -> &[u8] {
    let mut i = I64_BUF;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

/// Formats a double like C's `printf("%.17g")`, which Redis 7.0 uses for scores and doubles.
pub fn format_double(d: f64) -> String {
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if d.is_nan() {
        return "nan".into();
    }
    if d == 0.0 {
        return if d.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // Fast path for integral values (most scores): below 1e17 every such double is an integer
    // of at most 17 digits, which %.17g prints exactly as its decimal digits.
    if d.fract() == 0.0 && d.abs() < 1e17 {
        return (d as i64).to_string();
    }
    // Round to 17 significant digits first; the exponent of the *rounded* value decides between
    // fixed and scientific notation, exactly as %g does.
    let sci = format!("{:.16e}", d);
    let (mantissa, exp) = match sci.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (sci.as_str(), 0),
    };
    if !(-4..17).contains(&exp) {
        let m = trim_fraction_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{}{:02}", m, sign, exp.abs())
    } else {
        let fixed = format!("{:.*}", (16 - exp) as usize, d);
        trim_fraction_zeros(&fixed).to_string()
    }
}

fn trim_fraction_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_i64_is_strict_like_string2ll() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-1"), Some(-1));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"+1",
            b"01",
            b" 1",
            b"1 ",
            b"-0",
            b"9223372036854775808",
            b"1a",
        ] {
            assert_eq!(parse_i64(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn format_double_matches_printf_17g() {
        assert_eq!(format_double(1.1), "1.1000000000000001");
        assert_eq!(format_double(1.0), "1");
        assert_eq!(format_double(1e300), "1.0000000000000001e+300");
        assert_eq!(format_double(0.0001), "0.0001");
        assert_eq!(format_double(0.00001), "1.0000000000000001e-05");
        assert_eq!(format_double(-2.5), "-2.5");
        assert_eq!(format_double(1e16), "10000000000000000");
        assert_eq!(format_double(1e17), "1e+17");
        assert_eq!(format_double(f64::INFINITY), "inf");
    }

    #[test]
    fn write_i64_round_trips() {
        let mut buf = [0u8; I64_BUF];
        for v in [0, 1, -1, 42, i64::MAX, i64::MIN] {
            assert_eq!(write_i64(v, &mut buf), v.to_string().as_bytes());
        }
        for v in [0, 9, 10, i64::MAX as u64 + 1, u64::MAX] {
            assert_eq!(write_u64(v, &mut buf), v.to_string().as_bytes());
        }
    }

    #[test]
    fn doubles_read_as_strtod_reads_a_whole_string() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"-.5e1"), Some(-5.0));
        assert_eq!(parse_f64(b"+inf"), Some(f64::INFINITY));
        assert_eq!(parse_f64(b"-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b"0x10"), Some(16.0));
        assert_eq!(parse_f64(b"0X1.8p1"), Some(3.0));
        assert_eq!(parse_f64(b"-0x.8"), Some(-0.5));
        assert_eq!(parse_f64(b"0x1p-1074"), Some(f64::from_bits(1)));
        assert_eq!(parse_f64(b"0x1.fffffffffffff8p1023"), Some(f64::INFINITY));
        assert_eq!(parse_f64(b"0x1.fffffffffffff7p1023"), Some(f64::MAX));
        assert_eq!(parse_f64(b"0x1.00000000000008p0"), Some(1.0)); // tie, to even
        assert_eq!(
            parse_f64(b"0x1.00000000000018p0"),
            Some(1.0 + 2.0 * f64::EPSILON)
        );
        assert_eq!(
            parse_f64(b"0x1.000000000000080000001p0"),
            Some(1.0 + f64::EPSILON)
        );
        assert_eq!(parse_f64(b"1e400"), Some(f64::INFINITY));
        assert_eq!(parse_f64(b"1e-400"), Some(0.0));
        let long = format!("1.{}", "3".repeat(100_000));
        assert_eq!(parse_f64(long.as_bytes()), Some(1.3333333333333333));
        for bad in [
            &b""[..],
            b" 1",
            b"1 ",
            b"nan",
            b"-nan",
            b"0x",
            b"0x.",
            b"0x1p",
            b"0x1p+",
            b"1e",
            b"--1",
            b"+-1",
            b"1x",
            b"inf1",
            b"1\x00",
        ] {
            assert_eq!(parse_f64(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn string2d_refuses_what_strtod_flags_out_of_range() {
        assert_eq!(string2d(b"1e400"), None);
        assert_eq!(string2d(b"-1e400"), None);
        assert_eq!(string2d(b"1e-400"), None);
        assert_eq!(string2d(b"0x1p-1080"), None);
        assert_eq!(string2d(b"0x1p1024"), None);
        assert_eq!(string2d(b"inf"), Some(f64::INFINITY));
        assert_eq!(string2d(b"0e500"), Some(0.0));
        assert_eq!(string2d(b"4.9e-324"), Some(f64::from_bits(1)));
        assert_eq!(string2d(b"1e-310"), Some(1e-310));
    }
}
