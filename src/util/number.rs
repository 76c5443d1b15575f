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

/// Parses an unsigned integer with the same strictness (SCAN cursors).
pub fn parse_u64(s: &[u8]) -> Option<u64> {
    match s {
        [] => None,
        [b'0'] => Some(0),
        [b'0', ..] => None,
        _ if s.len() > 20 => None,
        _ => {
            let mut v: u64 = 0;
            for &c in s {
                if !c.is_ascii_digit() {
                    return None;
                }
                v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
            }
            Some(v)
        }
    }
}

/// Parses a double as Redis's `string2d`/`strtod`: no leading space, no trailing garbage, no
/// NaN. Accepts `inf`, `+inf`, `-inf`, exponents.
pub fn parse_f64(s: &[u8]) -> Option<f64> {
    if s.is_empty() || s[0].is_ascii_whitespace() || s.len() > 5000 {
        return None;
    }
    let text = std::str::from_utf8(s).ok()?;
    let v: f64 = match text.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        t => {
            if t.contains("inf") || t.contains("nan") {
                return None;
            }
            t.parse().ok()?
        }
    };
    if v.is_nan() {
        None
    } else {
        Some(v)
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
}
